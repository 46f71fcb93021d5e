/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The write and read families: the hot path.  With nothing to gate, a wrapper
 * is the real call plus a few instructions of bookkeeping, no system call,
 * no lock, no allocation.  Built with -U_FILE_OFFSET_BITS.
 */
#define _GNU_SOURCE
#include <sys/uio.h>
#include <unistd.h>

#include "wrap.h"

#define GATED(call) __builtin_expect(io_gate, 0) && (call)

/* pwritev2 with RWF_DSYNC or RWF_SYNC is a sync of what it writes. */
static inline ssize_t pwritev2_result(int fd, int flags, ssize_t ret)
{
	if (__builtin_expect(flags & (RWF_DSYNC | RWF_SYNC), 0))
		return latch_sync_write_result(fd, OP_PWRITEV, ret);
	return latch_write_result(fd, OP_PWRITEV, ret);
}

WRAP_WRITE(write, OP_WRITE, (int fd, const void *buf, size_t n), (fd, buf, n),
	   gate_write1(fd, OP_WRITE, buf, n, -1, &ret_))
WRAP_WRITE(pwrite, OP_PWRITE, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off),
	   gate_write1(fd, OP_PWRITE, buf, n, off, &ret_))
WRAP_WRITE(pwrite64, OP_PWRITE, (int fd, const void *buf, size_t n, off64_t off), (fd, buf, n, off),
	   gate_write1(fd, OP_PWRITE, buf, n, off, &ret_))
WRAP_WRITE(writev, OP_WRITEV, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt),
	   gate_write(fd, OP_WRITEV, iov, cnt, -1, &ret_))
WRAP_WRITE(pwritev, OP_PWRITEV, (int fd, const struct iovec *iov, int cnt, off_t off),
	   (fd, iov, cnt, off), gate_write(fd, OP_PWRITEV, iov, cnt, off, &ret_))
WRAP_WRITE(pwritev64, OP_PWRITEV, (int fd, const struct iovec *iov, int cnt, off64_t off),
	   (fd, iov, cnt, off), gate_write(fd, OP_PWRITEV, iov, cnt, off, &ret_))
/* pwritev2 with offset -1 writes at the file position, like writev. */
WRAP_WRITE_R(pwritev2, (int fd, const struct iovec *iov, int cnt, off_t off, int flags),
	     (fd, iov, cnt, off, flags), gate_write(fd, OP_PWRITEV, iov, cnt, off, &ret_),
	     pwritev2_result(fd, flags, ret_))
WRAP_WRITE_R(pwritev64v2, (int fd, const struct iovec *iov, int cnt, off64_t off, int flags),
	     (fd, iov, cnt, off, flags), gate_write(fd, OP_PWRITEV, iov, cnt, off, &ret_),
	     pwritev2_result(fd, flags, ret_))

EXPORT int ftruncate(int fd, off_t len)
{
	int ret;

	if (GATED(gate_truncate(fd, len, &ret)))
		return ret;
	return REAL(ftruncate)(fd, len);
}

EXPORT int ftruncate64(int fd, off64_t len)
{
	int ret;

	if (GATED(gate_truncate(fd, len, &ret)))
		return ret;
	return REAL(ftruncate64)(fd, len);
}

/* Reads are only ever refused (failstop); nothing is recorded. */
EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	WRAP_READ(read, fd, (fd, buf, n));
}

EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	WRAP_READ(pread, fd, (fd, buf, n, off));
}

EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	WRAP_READ(pread64, fd, (fd, buf, n, off));
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	WRAP_READ(readv, fd, (fd, iov, cnt));
}

EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	WRAP_READ(preadv, fd, (fd, iov, cnt, off));
}

EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	WRAP_READ(preadv64, fd, (fd, iov, cnt, off));
}

EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	WRAP_READ(preadv2, fd, (fd, iov, cnt, off, flags));
}

EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	WRAP_READ(preadv64v2, fd, (fd, iov, cnt, off, flags));
}
