/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The slow lane of the I/O wrappers, entered only when io_gate is set: the
 * failstop policy refusing I/O on latched files, and the fault injector
 * failing calls and recording what writes overwrite.  Each gate_* returns
 * true when it decided the call's result (*ret, errno) and the real call
 * must be skipped.
 */
#ifndef STICKYSYNC_GATE_H
#define STICKYSYNC_GATE_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "latch.h"

bool gate_write(int fd, enum op op, const struct iovec *iov, int cnt, off_t off, ssize_t *ret);
bool gate_write1(int fd, enum op op, const void *buf, size_t n, off_t off, ssize_t *ret);
bool gate_truncate(int fd, off_t len, int *ret);
bool gate_read(int fd);
/* Before an open with flags: records what a truncation destroys. */
void gate_open(int dirfd, const char *path, int flags);
bool gate_sync(int fd, enum op op, int *ret);
bool gate_msync(void *addr, int *ret);
/* A sync of fd (-1: every file) succeeded. */
void gate_synced(int fd);
/* The errno an injected close failure must report, or 0; applies its loss. */
int gate_close(int fd);
/* The close wrapper's question, cheap when there is no gate. */
static inline int gate_close_error(int fd)
{
	return __builtin_expect(io_gate, 0) ? gate_close(fd) : 0;
}

/* The process is exiting: say which injector rules never fired. */
void gate_at_exit(void);

#endif
