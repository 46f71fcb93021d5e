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

#include "export.h"
#include "gate.h"
#include "latch.h"
#include "real.h"

#define GATED(call) __builtin_expect(io_gate, 0) && (call)

/*
 * Each write spelling is a hot wrapper and a cold one.  The hot one only
 * keeps fd alive across the real call; the cold one, reached by a tail call,
 * resolves the real function on first use and applies the gate when
 * failstop or the injector is on.  Keeping both out of the hot path spares
 * it the register spills they would need.
 */
#define WRITE_WRAPPER_R(name, op, params, args, gate, result)                                 \
	static __attribute__((noinline, cold)) ssize_t slow_##name params                     \
	{                                                                                     \
		ssize_t ret_;                                                                 \
		if (io_gate && (gate))                                                        \
			return ret_;                                                          \
		ret_ = REAL(name) args;                                                       \
		return result;                                                                \
	}                                                                                     \
	EXPORT ssize_t name params                                                            \
	{                                                                                     \
		__typeof__(real_##name) fn = __atomic_load_n(&real_##name, __ATOMIC_RELAXED); \
		ssize_t ret_;                                                                 \
		if (__builtin_expect(io_gate || !fn, 0))                                      \
			return slow_##name args;                                              \
		ret_ = fn args;                                                               \
		return result;                                                                \
	}

#define WRITE_WRAPPER(name, op, params, args, gate) \
	WRITE_WRAPPER_R(name, op, params, args, gate, latch_write_result(fd, op, ret_))

/* pwritev2 with RWF_DSYNC or RWF_SYNC is a sync of what it writes. */
static inline ssize_t pwritev2_result(int fd, int flags, ssize_t ret)
{
	if (__builtin_expect(flags & (RWF_DSYNC | RWF_SYNC), 0))
		return latch_sync_write_result(fd, OP_PWRITEV, ret);
	return latch_write_result(fd, OP_PWRITEV, ret);
}

WRITE_WRAPPER(write, OP_WRITE, (int fd, const void *buf, size_t n), (fd, buf, n),
	      gate_write1(fd, OP_WRITE, buf, n, -1, &ret_))
WRITE_WRAPPER(pwrite, OP_PWRITE, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off),
	      gate_write1(fd, OP_PWRITE, buf, n, off, &ret_))
WRITE_WRAPPER(pwrite64, OP_PWRITE, (int fd, const void *buf, size_t n, off64_t off),
	      (fd, buf, n, off), gate_write1(fd, OP_PWRITE, buf, n, off, &ret_))
WRITE_WRAPPER(writev, OP_WRITEV, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt),
	      gate_write(fd, OP_WRITEV, iov, cnt, -1, &ret_))
WRITE_WRAPPER(pwritev, OP_PWRITEV, (int fd, const struct iovec *iov, int cnt, off_t off),
	      (fd, iov, cnt, off), gate_write(fd, OP_PWRITEV, iov, cnt, off, &ret_))
WRITE_WRAPPER(pwritev64, OP_PWRITEV, (int fd, const struct iovec *iov, int cnt, off64_t off),
	      (fd, iov, cnt, off), gate_write(fd, OP_PWRITEV, iov, cnt, off, &ret_))
/* pwritev2 with offset -1 writes at the file position, like writev. */
WRITE_WRAPPER_R(pwritev2, OP_PWRITEV,
		(int fd, const struct iovec *iov, int cnt, off_t off, int flags),
		(fd, iov, cnt, off, flags), gate_write(fd, OP_PWRITEV, iov, cnt, off, &ret_),
		pwritev2_result(fd, flags, ret_))
WRITE_WRAPPER_R(pwritev64v2, OP_PWRITEV,
		(int fd, const struct iovec *iov, int cnt, off64_t off, int flags),
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
#define READ_GATE(fd)                     \
	do {                              \
		if (GATED(gate_read(fd))) \
			return -1;        \
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
