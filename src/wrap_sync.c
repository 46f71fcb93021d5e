/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* The sync family: every result goes through the latch. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "export.h"
#include "gate.h"
#include "latch.h"
#include "real.h"

/* An injected failure skips the real call, as the kernel's own failure would
 * leave nothing more to write back. */
#define SYNC_CALL(fd, op, call, durable_)                                      \
	do {                                                                   \
		uint32_t gen_ = fd_gen(fd);                                    \
		bool durable = (durable_);                                     \
		int ret_;                                                      \
		if (__builtin_expect(io_gate, 0) && gate_sync(fd, op, &ret_))  \
			return latch_sync_result(fd, gen_, op, durable, ret_); \
		ret_ = (call);                                                 \
		if (__builtin_expect(io_gate, 0) && ret_ == 0 && durable)      \
			gate_synced(fd);                                       \
		return latch_sync_result(fd, gen_, op, durable, ret_);         \
	} while (0)

EXPORT int fsync(int fd)
{
	SYNC_CALL(fd, OP_FSYNC, REAL(fsync)(fd), 1);
}

EXPORT int fdatasync(int fd)
{
	SYNC_CALL(fd, OP_FDATASYNC, REAL(fdatasync)(fd), 1);
}

EXPORT int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
	SYNC_CALL(fd, OP_SYNC_FILE_RANGE, REAL(sync_file_range)(fd, off, n, flags),
		  (flags & SYNC_FILE_RANGE_WAIT_AFTER) && off == 0 && n == 0);
}

EXPORT int syncfs(int fd)
{
	int ret;

	if (__builtin_expect(io_gate, 0) && gate_sync(fd, OP_SYNCFS, &ret))
		return latch_syncfs_result(fd, ret);
	ret = REAL(syncfs)(fd);
	if (__builtin_expect(io_gate, 0) && ret == 0)
		gate_synced(-1);
	return latch_syncfs_result(fd, ret);
}

EXPORT int msync(void *addr, size_t len, int flags)
{
	int ret;

	if (__builtin_expect(io_gate, 0) && (flags & MS_SYNC) && gate_msync(addr, &ret))
		return latch_msync_result(addr, len, flags, ret);
	ret = REAL(msync)(addr, len, flags);
	return latch_msync_result(addr, len, flags, ret);
}

/* sync() reports nothing, but what it wrote is the new baseline for lose=. */
EXPORT void sync(void)
{
	REAL(sync)();
	if (__builtin_expect(io_gate, 0))
		gate_synced(-1);
}
