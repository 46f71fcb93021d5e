/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The monotonic clock that dates fds and latches (fdtable.h, latchtab.h).
 * It is read through the kernel's vDSO directly, not through the symbol
 * table: another preloaded library (libfaketime) must not shift it, or an
 * fd would be dated against a loss by two clocks that disagree.  Where
 * there is no vDSO, a system call.
 */
#ifndef STICKYSYNC_CLOCK_H
#define STICKYSYNC_CLOCK_H

#include <stdint.h>
#include <time.h>

/* The clock id (CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE) in nanoseconds, 0
 * if it cannot be read; errno is kept; async-signal-safe. */
int64_t clock_ns(clockid_t id);

static inline int64_t clock_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

#endif
