/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* close, dup and fcntl: keep the fd table in step with the kernel's. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <unistd.h>

#include "wrap.h"

EXPORT int close(int fd)
{
	WRAP_CLOSE(close, OP_CLOSE, fd, false, (fd));
}

EXPORT int fclose(FILE *fp)
{
	int fd = fileno(fp);

	if (fd < 0)
		return REAL(fclose)(fp);
	/* stdio's own writes bypass the write wrappers: any stream open for
	 * writing may have written, and may lose it at close. */
	WRAP_CLOSE(fclose, OP_FCLOSE, fd, __fwritable(fp), (fp));
}

/* The directory stream's fd is closed inside libc. */
EXPORT int closedir(DIR *dir)
{
	int fd = dirfd(dir);

	if (fd >= 0)
		fd_release(fd, latch_release_stamp());
	return REAL(closedir)(dir);
}

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	/* only a call that will close: one the kernel refuses (unknown flags,
	 * first above last) leaves the fds as they were */
	if (!(flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) &&
	    !(flags & CLOSE_RANGE_CLOEXEC) && first <= last)
		fd_release_range(first, last, latch_release_stamp());
	return REAL(close_range)(first, last, flags);
}

EXPORT void closefrom(int lowfd)
{
	if (lowfd >= 0)
		fd_release_range((unsigned)lowfd, ~0u, latch_release_stamp());
	REAL(closefrom)(lowfd);
}

EXPORT int dup(int oldfd)
{
	WRAP_DUP(dup, oldfd, true, false, (oldfd));
}

EXPORT int dup2(int oldfd, int newfd)
{
	/* newfd is never free during the call: its old description is
	 * replaced atomically, so the entry moves to the new one after it, and
	 * a call that fails leaves it as it was. */
	WRAP_DUP(dup2, oldfd, true, true, (oldfd, newfd));
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	WRAP_DUP(dup3, oldfd, true, true, (oldfd, newfd, flags));
}

/*
 * The third argument is passed on as a pointer-sized value whatever cmd is,
 * as libc itself does: on the supported ABIs an int and a pointer travel in
 * the same register.
 */
#define FCNTL_ARG(cmd, arg)               \
	do {                              \
		va_list ap;               \
		va_start(ap, cmd);        \
		arg = va_arg(ap, void *); \
		va_end(ap);               \
	} while (0)

EXPORT int fcntl(int fd, int cmd, ...)
{
	void *arg;

	FCNTL_ARG(cmd, arg);
	WRAP_DUP(fcntl, fd, fd_fcntl_dups(cmd), false, (fd, cmd, arg));
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	void *arg;

	FCNTL_ARG(cmd, arg);
	WRAP_DUP(fcntl64, fd, fd_fcntl_dups(cmd), false, (fd, cmd, arg));
}
