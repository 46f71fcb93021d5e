/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The write and read families: the hot path.  With nothing to gate, a wrapper
 * is the real call plus a few instructions of bookkeeping, no system call,
 * no lock, no allocation.  Built with -U_FILE_OFFSET_BITS.
 */
#define _GNU_SOURCE
#include <sys/uio.h>
#include <unistd.h>

#include "export.h"
#include "gate.h"
#include "latch.h"
#include "real.h"

#define GATED(call) __builtin_expect(io_gate, 0) && (call)

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	ssize_t ret;

	if (GATED(gate_write1(fd, OP_WRITE, buf, n, -1, &ret)))
		return ret;
	return latch_write_result(fd, OP_WRITE, REAL(write)(fd, buf, n));
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	ssize_t ret;

	if (GATED(gate_write1(fd, OP_PWRITE, buf, n, off, &ret)))
		return ret;
	return latch_write_result(fd, OP_PWRITE, REAL(pwrite)(fd, buf, n, off));
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	ssize_t ret;

	if (GATED(gate_write1(fd, OP_PWRITE, buf, n, off, &ret)))
		return ret;
	return latch_write_result(fd, OP_PWRITE, REAL(pwrite64)(fd, buf, n, off));
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	ssize_t ret;

	if (GATED(gate_write(fd, OP_WRITEV, iov, cnt, -1, &ret)))
		return ret;
	return latch_write_result(fd, OP_WRITEV, REAL(writev)(fd, iov, cnt));
}

EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ssize_t ret;

	if (GATED(gate_write(fd, OP_PWRITEV, iov, cnt, off, &ret)))
		return ret;
	return latch_write_result(fd, OP_PWRITEV, REAL(pwritev)(fd, iov, cnt, off));
}

EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	ssize_t ret;

	if (GATED(gate_write(fd, OP_PWRITEV, iov, cnt, off, &ret)))
		return ret;
	return latch_write_result(fd, OP_PWRITEV, REAL(pwritev64)(fd, iov, cnt, off));
}

/* pwritev2 with offset -1 writes at the file position, like writev. */
EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	ssize_t ret;

	if (GATED(gate_write(fd, OP_PWRITEV, iov, cnt, off, &ret)))
		return ret;
	return latch_write_result(fd, OP_PWRITEV, REAL(pwritev2)(fd, iov, cnt, off, flags));
}

EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	ssize_t ret;

	if (GATED(gate_write(fd, OP_PWRITEV, iov, cnt, off, &ret)))
		return ret;
	return latch_write_result(fd, OP_PWRITEV, REAL(pwritev64v2)(fd, iov, cnt, off, flags));
}

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
#define READ_GATE(fd)                                                               \
	do {                                                                        \
		if (GATED(gate_read(fd)))                                           \
			return -1;                                                  \
	} while (0)

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	READ_GATE(fd);
	return REAL(read)(fd, buf, n);
}

EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	READ_GATE(fd);
	return REAL(pread)(fd, buf, n, off);
}

EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	READ_GATE(fd);
	return REAL(pread64)(fd, buf, n, off);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	READ_GATE(fd);
	return REAL(readv)(fd, iov, cnt);
}

EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	READ_GATE(fd);
	return REAL(preadv)(fd, iov, cnt, off);
}

EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	READ_GATE(fd);
	return REAL(preadv64)(fd, iov, cnt, off);
}

EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	READ_GATE(fd);
	return REAL(preadv2)(fd, iov, cnt, off, flags);
}

EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	READ_GATE(fd);
	return REAL(preadv64v2)(fd, iov, cnt, off, flags);
}
