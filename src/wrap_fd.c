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

#include "export.h"
#include "latch.h"
#include "real.h"

EXPORT int close(int fd)
{
	struct close_ctx c;

	latch_close_prepare(fd, false, &c);
	return latch_close_result(fd, OP_CLOSE, &c, REAL(close)(fd));
}

EXPORT int fclose(FILE *fp)
{
	int fd = fileno(fp);
	struct close_ctx c;
	int ret;

	if (fd < 0)
		return REAL(fclose)(fp);
	/* stdio's own writes bypass the write wrappers: any stream open for
	 * writing may have written, and may lose it at close. */
	latch_close_prepare(fd, __fwritable(fp), &c);
	ret = REAL(fclose)(fp);
	return latch_close_result(fd, OP_FCLOSE, &c, ret);
}

/* A directory stream over an fd the shim tracked (fdopendir) closes it
 * inside libc. */
EXPORT int closedir(DIR *dir)
{
	int fd = dirfd(dir), ret = REAL(closedir)(dir), saved = errno;

	if (ret == 0 && fd >= 0)
		fd_closed(fd);
	errno = saved;
	return ret;
}

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int ret = REAL(close_range)(first, last, flags);

	if (ret == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
		fd_closed_range(first, last);
	return ret;
}

EXPORT void closefrom(int lowfd)
{
	REAL(closefrom)(lowfd);
	if (lowfd >= 0)
		fd_closed_range((unsigned)lowfd, ~0u);
}

static int duplicated(int oldfd, int ret)
{
	if (ret >= 0)
		fd_duplicated(oldfd, ret);
	return ret;
}

EXPORT int dup(int oldfd)
{
	return duplicated(oldfd, REAL(dup)(oldfd));
}

EXPORT int dup2(int oldfd, int newfd)
{
	return duplicated(oldfd, REAL(dup2)(oldfd, newfd));
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return duplicated(oldfd, REAL(dup3)(oldfd, newfd, flags));
}

static int fcntl_result(int fd, int cmd, int ret)
{
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return duplicated(fd, ret);
	return ret;
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
	return fcntl_result(fd, cmd, REAL(fcntl)(fd, cmd, arg));
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	void *arg;

	FCNTL_ARG(cmd, arg);
	return fcntl_result(fd, cmd, REAL(fcntl64)(fd, cmd, arg));
}
