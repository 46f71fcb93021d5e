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
/* Another copy of the library, loaded first, does the work: this one
 * changes no result, reports nothing and shares nothing, or it would latch
 * files again on the other copy's own refusals.  why is said once. */
void latch_make_passive(const char *why);
/* Set up from explicit options instead of the environment (unit tests). */
void latch_init_with(const struct options *o);

/* The table that numbers fds and latches: the shared one, unless this
 * process may not write it; then its own, numbered from above the shared
 * one's sequence number (see setup_shared). */
static inline struct latchtab *latch_seq_table(void)
{
	return rt.shared.hdr && !rt.shared.readonly ? &rt.shared : &rt.local;
}

/* The sequence number to stamp on an fd about to be opened. */
static inline uint64_t latch_seq_now(void)
{
	const struct latchtab *t = latch_seq_table();

	return t->hdr ? latchtab_seq(t) : 0;
}

/* 0: not started; LATCH_INIT_DONE; else the tid of the thread running it. */
extern int latch_init_state;
#define LATCH_INIT_DONE (-1)

/* Is anything latched?  Initialises first if need be: a sync from another
 * library's constructor must see the shared table too. */
static inline bool latch_anything(void)
{
	if (__builtin_expect(
		__atomic_load_n(&latch_init_state, __ATOMIC_ACQUIRE) != LATCH_INIT_DONE, 0))
		latch_init();
	return latchtab_any_live(&rt.shared) || latchtab_any_live(&rt.local);
}

/* A sync-family call on fd returned ret (errno set by it); gen is fd's
 * lifetime, sampled before the real call (fd_gen); durable: on success,
 * the fd's writes so far are on the storage (not so for a sync_file_range
 * that does not wait, or covers part of the file). */
int latch_sync_result(int fd, uint32_t gen, enum op op, bool durable, int ret);
int latch_syncfs_result(int fd, int ret);
int latch_msync_result(void *addr, size_t len, int flags, int ret);

/* Write-family bookkeeping after the real call. */
ssize_t latch_write_failed(int fd, enum op op, ssize_t ret);
/* A write that is a sync whatever the fd's flags (pwritev2 RWF_DSYNC). */
ssize_t latch_sync_write_result(int fd, enum op op, ssize_t ret);
/* A write succeeded on a file not written since its last sync, or opened
 * O_DSYNC. */
ssize_t latch_write_noted(int fd, enum op op, ssize_t ret);

/* The hot path: after the first write following a sync, one test. */
static inline ssize_t latch_write_result(int fd, enum op op, ssize_t ret)
{
	if (__builtin_expect(ret < 0, 0))
		return latch_write_failed(fd, op, ret);
	if (__builtin_expect(
		(unsigned)fd < FDTAB_SIZE &&
		    (__atomic_load_n(&fdtab[fd].wstate, __ATOMIC_RELAXED) & (W_NOTE | W_DSYNC)),
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
		fd_install_open(ret, seq, flags);
	return ret;
}

int latch_acknowledge_fd(int fd);
struct stickysync_status;
int latch_status_fd(int fd, struct stickysync_status *st);

#endif
