/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* The stickysync_ API of include/stickysync.h, and the library's start-up. */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "stickysync.h"

#include <errno.h>
#include <string.h>

#include "export.h"
#include "latch.h"
#include "real.h"

EXPORT int stickysync_acknowledge(int fd)
{
	int saved = errno, ret = latch_acknowledge_fd(fd);

	if (ret == 0)
		errno = saved;
	return ret;
}

EXPORT int stickysync_status(int fd, struct stickysync_status *st)
{
	if (!st) {
		errno = EFAULT;
		return -1;
	}
	return latch_status_fd(fd, st);
}

/* Resolve everything and read the options before main, so the hot path
 * finds them ready; every wrapper also copes without this having run. */
__attribute__((constructor)) static void stickysync_start(void)
{
	int saved = errno;

	real_resolve_all();
	latch_init();
	errno = saved;
}
