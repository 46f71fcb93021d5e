/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * A latch's time, for fds dated by the clock (fdtable.h): kept in a
 * published record's claim_ns word (latchtab.h), as the host's
 * CLOCK_MONOTONIC in microseconds (rounded up: never earlier than the
 * loss), with the boot it was read in, and LATCH_TIME_MARK, which no
 * CLOCK_REALTIME claim time has.  11 bits of boot: two boots that share
 * them make a latch of the earlier one look recent, which fails safe.
 *
 * boot is the running boot's tag (0: unknown), offset how far this
 * process's monotonic clock is ahead of the host's (time namespaces).
 */
#ifndef STICKYSYNC_LATCHTIME_H
#define STICKYSYNC_LATCHTIME_H

#include <stdint.h>

/* Raise *word to now; a time of another boot, or unknown, is replaced. */
void latchtime_raise(int64_t *word, uint64_t boot, int64_t offset);

/* The time in word, in this process's monotonic clock: INT64_MIN for a
 * latch of an earlier boot (before every fd of this one), INT64_MAX when
 * unknown (after every fd). */
int64_t latchtime_read(int64_t word, uint64_t boot, int64_t offset);

#endif
