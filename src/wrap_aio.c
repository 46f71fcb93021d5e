/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* libaio's io_submit and io_getevents (aio.h). */
#define _GNU_SOURCE
#include "aio.h"
#include "wrap.h"

EXPORT int io_submit(struct io_context *ctx, long nr, struct iocb **iocbs)
{
	int ret;

	aio_submitting(iocbs, nr);
	ret = REAL(io_submit)(ctx, nr, iocbs);
	aio_submitted(iocbs, nr, ret);
	return ret;
}

EXPORT int io_getevents(struct io_context *ctx, long min, long nr, struct io_event *events,
			struct timespec *timeout)
{
	int ret = REAL(io_getevents)(ctx, min, nr, events, timeout);

	if (ret > 0)
		aio_reaped(events, ret);
	return ret;
}
