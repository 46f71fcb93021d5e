/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* The sync family: every result goes through the latch. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wrap.h"

EXPORT int fsync(int fd)
{
	WRAP_SYNC(fsync, fd, OP_FSYNC, true, (fd));
}

EXPORT int fdatasync(int fd)
{
	WRAP_SYNC(fdatasync, fd, OP_FDATASYNC, true, (fd));
}

EXPORT int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
	WRAP_SYNC(sync_file_range, fd, OP_SYNC_FILE_RANGE, latch_range_durable(off, n, flags),
		  (fd, off, n, flags));
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
