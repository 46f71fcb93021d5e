/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * A test-only fault injector, preloaded AFTER libstickysync.so so that the
 * shim's RTLD_NEXT reaches it instead of libc: it stands in for a kernel that
 * fails calls.  It makes the real call, then overrides the result, so data
 * handling stays real.
 *
 *   FAULT_OPS    comma list: fsync fdatasync sync_file_range msync syncfs
 *                write close (default fsync,fdatasync)
 *   FAULT_ERRNO  number (default 5, EIO)
 *   FAULT_PATH   substring the file's path must contain (default: any)
 *   FAULT_COUNT  failures to inject before behaving again (default 1)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

static int remaining = -1;

static int budget(void)
{
	if (remaining < 0) {
		const char *c = getenv("FAULT_COUNT");

		remaining = c ? atoi(c) : 1;
	}
	return remaining;
}

static int wanted(const char *op, int fd)
{
	const char *ops = getenv("FAULT_OPS"), *want = getenv("FAULT_PATH");
	char link[64], path[4096];
	ssize_t n;
	size_t len = strlen(op);
	const char *p;

	if (!ops)
		ops = "fsync,fdatasync";
	for (p = ops; (p = strstr(p, op)) != NULL; p += len)
		if ((p == ops || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			break;
	if (!p || budget() <= 0)
		return 0;
	if (want && *want) {
		if (fd < 0)
			return 0;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
		if (n <= 0)
			return 0;
		path[n] = '\0';
		if (!strstr(path, want))
			return 0;
	}
	remaining--;
	return 1;
}

static int fail(void)
{
	const char *e = getenv("FAULT_ERRNO");

	errno = e ? atoi(e) : EIO;
	return -1;
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int fsync(int fd)
{
	int ret = NEXT(fsync)(fd);

	return wanted("fsync", fd) ? fail() : ret;
}

int fdatasync(int fd)
{
	int ret = NEXT(fdatasync)(fd);

	return wanted("fdatasync", fd) ? fail() : ret;
}

int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
	int ret = NEXT(sync_file_range)(fd, off, n, flags);

	return wanted("sync_file_range", fd) ? fail() : ret;
}

int syncfs(int fd)
{
	int ret = NEXT(syncfs)(fd);

	return wanted("syncfs", fd) ? fail() : ret;
}

int msync(void *addr, size_t len, int flags)
{
	int ret = NEXT(msync)(addr, len, flags);

	return wanted("msync", -1) ? fail() : ret;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	if (fd > 2 && wanted("write", fd))
		return fail();
	return NEXT(write)(fd, buf, n);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	if (wanted("write", fd))
		return fail();
	return NEXT(pwrite64)(fd, buf, n, off);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (wanted("write", fd))
		return fail();
	return NEXT(pwrite)(fd, buf, n, off);
}

int close(int fd)
{
	int hit = fd > 2 && wanted("close", fd);
	int ret = NEXT(close)(fd);

	return hit ? fail() : ret;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (wanted("write", fd))
		return fail();
	return NEXT(writev)(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	if (wanted("write", fd))
		return fail();
	return NEXT(pwritev)(fd, iov, cnt, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	if (wanted("write", fd))
		return fail();
	return NEXT(pwritev64)(fd, iov, cnt, off);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	if (wanted("write", fd))
		return fail();
	return NEXT(pwritev2)(fd, iov, cnt, off, flags);
}

ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	if (wanted("write", fd))
		return fail();
	return NEXT(pwritev64v2)(fd, iov, cnt, off, flags);
}
