/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The latch layer's contract: what a sync, write or close result means,
 * given the policy and what is latched.  Wrappers (and the gate) hand every
 * result here and return what comes back; errno is the real call's unless
 * the result is changed.  judge.c judges syncs, writes, closes, failstop
 * I/O and msync; record.c records failures; ack.c acknowledges and answers
 * the status API; runtime.c sets up what they share.
 */
#ifndef STICKYSYNC_LATCH_H
#define STICKYSYNC_LATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fdtable.h"
#include "record.h"
#include "runtime.h"

/* A sync-family call on fd returned ret (errno set by it); gen is fd's
 * lifetime, sampled before the real call (fd_gen); durable: on success,
 * the fd's writes so far are on the storage (not so for a sync_file_range
 * that does not wait, or covers part of the file). */
int latch_sync_result(int fd, uint32_t gen, enum op op, bool durable, int ret);
/* Is a successful sync_file_range(fd, off, n, flags) a sync of the fd's
 * writes so far?  Only when it waits for the writeback of the whole file. */
#define LATCH_SFR_WAIT_AFTER 4u /* SYNC_FILE_RANGE_WAIT_AFTER, checked in judge.c */
static inline bool latch_range_durable(int64_t off, int64_t n, unsigned int flags)
{
	return (flags & LATCH_SFR_WAIT_AFTER) && off == 0 && n == 0;
}
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

/* A sync (or failstop I/O) of key, with no fd to judge (an io_uring
 * registered file): true when it must fail with EIO; reported as usual. */
bool latch_key_refused(const struct file_key *key, enum op op);
/* failstop: true (errno EIO) if I/O on fd must be refused. */
bool latch_io_refused(int fd, enum op op);

/* Close: what must be known before the fd goes away. */
struct close_ctx {
	bool have_key;
	int inject_error; /* the injector fails this close with it */
	struct file_key key;
	char path[REC_PATH_MAX];
};
/* inject_error: the errno the gate fails this close with, or 0. */
void latch_close_prepare(int fd, bool writing, int inject_error, struct close_ctx *c);
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
