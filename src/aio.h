/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * libaio: syncs submitted with io_submit (IOCB_CMD_FSYNC, IOCB_CMD_FDSYNC,
 * and writes with RWF_DSYNC/RWF_SYNC or on an O_DSYNC fd), judged when
 * io_getevents returns their completions.  libaio has nothing like a NOP
 * with a chosen result: the real sync always runs, and only the result the
 * program reads is changed.  A failed one latches its file; a successful
 * one of a latched file is reported as -EIO, as for a libc sync.
 *
 * Programs that read the completion ring themselves (QEMU does) never call
 * io_getevents: their completions are not seen, and their syncs are not
 * sticky.
 *
 * The iocbs in flight are found by address, in one table behind a spin
 * lock held only while the table is read or written.
 */
#ifndef STICKYSYNC_AIO_H
#define STICKYSYNC_AIO_H

#include <linux/aio_abi.h>

/* Before the real io_submit of iocbs[0..nr). */
void aio_submitting(struct iocb **iocbs, long nr);
/* After it: ret is its result (the number submitted, or -errno). */
void aio_submitted(struct iocb **iocbs, long nr, int ret);
/* io_getevents returned these n completions; their results may change. */
void aio_reaped(struct io_event *events, long n);

#endif
