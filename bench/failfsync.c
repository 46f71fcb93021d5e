/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * A stand-in storage failure for populating the latch table when the shim's
 * own injector (STICKYSYNC_INJECT) is not available.  Preloaded *after* the
 * shim, so the shim reaches it through dlsym(RTLD_NEXT) as if it were libc:
 *
 *   LD_PRELOAD="libstickysync.so failfsync.so" BENCH_FAIL_PREFIX=/dir/pop- ...
 *
 * fsync and fdatasync on a file whose path starts with BENCH_FAIL_PREFIX
 * fail with EIO without syncing; everything else is passed on.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static int path_matches(int fd)
{
	const char *prefix = getenv("BENCH_FAIL_PREFIX");
	char link[64], path[4096];
	ssize_t n;

	if (!prefix || !*prefix)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return strncmp(path, prefix, strlen(prefix)) == 0;
}

#define FAILING_SYNC(name)                                            \
	EXPORT int name(int fd)                                       \
	{                                                             \
		static int (*real)(int);                              \
                                                                      \
		if (path_matches(fd)) {                               \
			errno = EIO;                                  \
			return -1;                                    \
		}                                                     \
		if (!real)                                            \
			real = (int (*)(int))dlsym(RTLD_NEXT, #name); \
		return real(fd);                                      \
	}

FAILING_SYNC(fsync)
FAILING_SYNC(fdatasync)
