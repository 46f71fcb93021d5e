/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Raw system calls for the shim's own I/O.  Its state and log files must
 * never pass through the interposed wrappers (ours, or a fault injector placed
 * after us), and these are async-signal-safe.
 */
#ifndef STICKYSYNC_SYS_H
#define STICKYSYNC_SYS_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * The system call itself, inline where the instruction is known: libc's
 * syscall() is one more function to bind, and every process pays for
 * binding what the shim calls at start-up.  Returns the kernel's result as
 * it is (-errno on failure); errno is never touched.
 */
static inline long sys_call_raw(long nr, long a, long b, long c, long d)
{
#if defined(__x86_64__)
	long ret;
	register long r10 __asm__("r10") = d;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
#else
	int saved = errno;
	long ret = syscall(nr, a, b, c, d);

	if (ret < 0)
		ret = -errno;
	errno = saved;
	return ret;
#endif
}

/* The same, -1 with errno on failure, like syscall(). */
static inline long sys_call(long nr, long a, long b, long c, long d)
{
	long ret = sys_call_raw(nr, a, b, c, d);

	if ((unsigned long)ret > -4096ul) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

static inline int sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return (int)sys_call(SYS_openat, dirfd, (long)path, flags, mode);
}

static inline pid_t sys_gettid(void)
{
	return (pid_t)sys_call(SYS_gettid, 0, 0, 0, 0);
}

static inline uid_t sys_geteuid(void)
{
	return (uid_t)sys_call(SYS_geteuid, 0, 0, 0, 0);
}

static inline int sys_close(int fd)
{
	return (int)sys_call(SYS_close, fd, 0, 0, 0);
}

static inline ssize_t sys_write(int fd, const void *buf, size_t len)
{
	return sys_call(SYS_write, fd, (long)buf, (long)len, 0);
}

static inline ssize_t sys_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return sys_call(SYS_pwrite64, fd, (long)buf, (long)len, off);
}

static inline ssize_t sys_read(int fd, void *buf, size_t len)
{
	return sys_call(SYS_read, fd, (long)buf, (long)len, 0);
}

static inline ssize_t sys_pread(int fd, void *buf, size_t len, off_t off)
{
	return sys_call(SYS_pread64, fd, (long)buf, (long)len, off);
}

static inline int sys_fcntl(int fd, int cmd, long arg)
{
	return (int)sys_call(SYS_fcntl, fd, cmd, arg, 0);
}

static inline int sys_ftruncate(int fd, off_t len)
{
	return (int)sys_call(SYS_ftruncate, fd, len, 0, 0);
}

static inline int sys_fallocate(int fd, int mode, off_t off, off_t len)
{
	return (int)sys_call(SYS_fallocate, fd, mode, off, len);
}

static inline int sys_fsync(int fd)
{
	return (int)sys_call(SYS_fsync, fd, 0, 0, 0);
}

/* Write all of buf, retrying short writes; -1 on error. */
static inline int sys_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = sys_write(fd, buf, len);

		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
