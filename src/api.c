/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* The stickysync_ API of include/stickysync.h, and the library's start-up. */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "stickysync.h"

#include <errno.h>
#include <string.h>

#include "export.h"
#include "gate.h"
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

/*
 * Read the options before main (the shared table is attached at the first
 * sync: runtime.h).  Real functions are resolved by each wrapper at its
 * first call, so a process pays only for what it uses.  Every wrapper also
 * copes without this having run.
 */
__attribute__((constructor)) static void stickysync_start(void)
{
	int saved = errno;

	latch_init();
	errno = saved;
}

/* exit() (not _exit or exec): rules that never fired usually name the wrong
 * call, and a test that passes for that reason should say so. */
__attribute__((destructor)) static void stickysync_stop(void)
{
	int saved = errno;

	gate_at_exit();
	errno = saved;
}
