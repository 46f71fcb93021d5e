/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Recording a failure: the latch it leaves in the shared table (else this
 * process's), the fd that witnessed it, and the one line of report.  Owns
 * the names of the operations as records and reports spell them.
 */
#ifndef STICKYSYNC_RECORD_H
#define STICKYSYNC_RECORD_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "identity.h"

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
/* The injector's kind of call (inject.h: IOP_*) for op; 0 when no rule can
 * name it. */
unsigned op_inject_kind(enum op op);

/* Record that a call op on key (through fd in its lifetime gen, or fd -1)
 * failed with err; path NULL: fd's.  Applies the abort policy. */
void record_failure(int fd, uint32_t gen, const struct file_key *key, enum op op, int err,
		    const char *path);
/* An error that says nothing about the file's data (EBADF, EINVAL, ...). */
static inline bool record_not_applicable(int err)
{
	return err == EBADF || err == EINVAL || err == EINTR || err == ENOSYS ||
	       err == EOPNOTSUPP || err == ENOTSUP;
}

/* A write or close error that means data was lost (EIO, ENOSPC, EDQUOT). */
static inline bool record_error_latches(int err)
{
	return err == EIO || err == ENOSPC || err == EDQUOT;
}
/* Wall-clock time, as records keep it. */
int64_t record_now_ns(void);

#endif
