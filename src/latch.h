/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The latch: what a sync, write or close result means, given the policy and
 * what is latched.  Wrappers hand every result here and return what comes
 * back; errno is the real call's unless the result is changed.
 */
#ifndef STICKYSYNC_LATCH_H
#define STICKYSYNC_LATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "fdtable.h"
#include "latchtab.h"

enum op {
	OP_FSYNC,
	OP_FDATASYNC,
	OP_SYNC_FILE_RANGE,
	OP_MSYNC,
	OP_SYNCFS,
	OP_SYNC,
	OP_WRITE,
	OP_PWRITE,
	OP_WRITEV,
	OP_PWRITEV,
	OP_FTRUNCATE,
	OP_READ,
	OP_CLOSE,
	OP_FCLOSE,
	OP_COUNT,
};

const char *op_name(enum op op);

/* The process-wide runtime, set up once by latch_init. */
struct runtime {
	struct options opt;
	struct latchtab shared; /* hdr NULL when there is none */
	struct latchtab local;	/* in-process latches: STICKYSYNC_STATE=off, or overflow */
};

extern struct runtime rt;
/* Non-zero when reads and writes must pass through latch_io_gate (failstop)
 * or the fault injector; read on the hot path. */
extern int io_gate;

/* Idempotent; safe to call from any wrapper, also before the constructor. */
void latch_init(void);
/* Set up from explicit options instead of the environment (unit tests). */
void latch_init_with(const struct options *o);

/* The sequence number to stamp on an fd about to be opened. */
static inline uint64_t latch_seq_now(void)
{
	const struct latchtab *t = rt.shared.hdr ? &rt.shared : &rt.local;

	return t->hdr ? latchtab_seq(t) : 0;
}

extern int latch_init_phase;

/* Is anything latched?  Initialises first if need be: a sync from another
 * library's constructor must see the shared table too. */
static inline bool latch_anything(void)
{
	if (__builtin_expect(__atomic_load_n(&latch_init_phase, __ATOMIC_ACQUIRE) != 2, 0))
		latch_init();
	return latchtab_any_live(&rt.shared) || latchtab_any_live(&rt.local);
}

/* A sync-family call on fd returned ret (errno set by it). */
int latch_sync_result(int fd, enum op op, int ret);
int latch_syncfs_result(int fd, int ret);
int latch_msync_result(void *addr, size_t len, int flags, int ret);

/* Write-family bookkeeping after the real call. */
ssize_t latch_write_failed(int fd, enum op op, ssize_t ret);
/* A write that is a sync whatever the fd's flags (pwritev2 RWF_DSYNC). */
ssize_t latch_sync_write_result(int fd, enum op op, ssize_t ret);
/* A write succeeded on an fd not yet marked written, or opened O_DSYNC. */
ssize_t latch_write_noted(int fd, enum op op, ssize_t ret);

/* The hot path: after the first write following a sync, one compare. */
static inline ssize_t latch_write_result(int fd, enum op op, ssize_t ret)
{
	if (__builtin_expect(ret < 0, 0))
		return latch_write_failed(fd, op, ret);
	if (__builtin_expect((unsigned)fd < FDTAB_SIZE &&
				 __atomic_load_n(&fdtab[fd].wstate, __ATOMIC_RELAXED) != W_WRITTEN,
			     0))
		return latch_write_noted(fd, op, ret);
	return ret;
}

/* failstop: true (errno EIO) if I/O on fd must be refused. */
bool latch_io_refused(int fd, enum op op);

/* Close: what must be known before the fd goes away. */
struct close_ctx {
	bool have_key;
	int inject_error; /* the injector fails this close with it */
	struct file_key key;
	char path[REC_PATH_MAX];
};
void latch_close_prepare(int fd, bool writing, struct close_ctx *c);
int latch_close_result(int fd, enum op op, const struct close_ctx *c, int ret);

/* The opened fd (ret) with its flags; seq was read before the call. */
static inline int latch_opened(int ret, int flags, uint64_t seq)
{
	if (ret >= 0)
		fd_opened(ret, seq, flags);
	return ret;
}

int latch_acknowledge_fd(int fd);
struct stickysync_status;
int latch_status_fd(int fd, struct stickysync_status *st);

#endif
