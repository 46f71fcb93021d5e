/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * libaio syncs (aio.h) driven as the io_submit and io_getevents wrappers
 * drive them, with fake completions and the real latch behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aio.h"
#include "latch.h"
#include "suites.h"

static char dir[PATH_MAX - 64], path[PATH_MAX], logpath[PATH_MAX];

static void setup(void)
{
	struct options o;

	memset(&o, 0, sizeof(o));
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	o.policy = POLICY_STICKY;
	o.state_mode = STATE_OFF;
	o.state_capacity = 64;
	o.log_mode = LOG_FILE;
	snprintf(o.log_path, sizeof(o.log_path), "%s", logpath);
	latch_init_with(&o);
}

static void teardown(void)
{
	rm_tree(dir);
}

static int open_tracked(int flags)
{
	uint64_t seq = latch_seq_now();

	return latch_opened(open(path, O_RDWR | O_CREAT | flags, 0600), flags, seq);
}

/* io_submit of one iocb, then io_getevents returning res for it. */
static long round_trip(struct iocb *cb, long res)
{
	struct iocb *cbs[1] = {cb};
	struct io_event ev = {.obj = (uintptr_t)cb, .res = res};

	aio_submitting(cbs, 1);
	aio_submitted(cbs, 1, 1);
	aio_reaped(&ev, 1);
	return ev.res;
}

static struct iocb sync_cb(int fd, int opcode)
{
	struct iocb cb = {.aio_lio_opcode = (uint16_t)opcode, .aio_fildes = (uint32_t)fd};

	return cb;
}

START_TEST(failed_fsync_latches_later_ones_report_eio)
{
	int fd = open_tracked(0);
	struct iocb a = sync_cb(fd, IOCB_CMD_FSYNC), b = sync_cb(fd, IOCB_CMD_FDSYNC);

	ck_assert_int_eq(round_trip(&a, 0), 0);
	ck_assert_int_eq(round_trip(&a, -ENOSPC), -ENOSPC);
	ck_assert_int_eq(round_trip(&b, 0), -EIO);
	ck_assert_int_eq(latch_sync_result(fd, fd_gen(fd), OP_FSYNC, true, 0), -1);
}
END_TEST

START_TEST(writes_count_only_with_dsync)
{
	int fd = open_tracked(0), dfd;
	struct iocb w = sync_cb(fd, IOCB_CMD_PWRITE), s = sync_cb(fd, IOCB_CMD_FSYNC);

	ck_assert_int_eq(round_trip(&w, -EIO), -EIO); /* plain write: no latch */
	ck_assert_int_eq(round_trip(&s, 0), 0);
	w.aio_rw_flags = RWF_DSYNC;
	ck_assert_int_eq(round_trip(&w, -EINVAL), -EINVAL); /* not applicable */
	ck_assert_int_eq(round_trip(&s, 0), 0);
	ck_assert_int_eq(round_trip(&w, -ENOSPC), -ENOSPC);
	ck_assert_int_eq(round_trip(&s, 0), -EIO);
	/* on an O_DSYNC fd any write is a sync */
	dfd = open_tracked(O_DSYNC);
	w = sync_cb(dfd, IOCB_CMD_PWRITE);
	ck_assert_int_eq(round_trip(&w, 4096), -EIO);
}
END_TEST

START_TEST(unsubmitted_and_unknown_events_are_left_alone)
{
	int fd = open_tracked(0);
	struct iocb a = sync_cb(fd, IOCB_CMD_FSYNC), *cbs[1] = {&a};
	struct io_event ev = {.obj = (uintptr_t)&a, .res = -EIO};

	aio_submitting(cbs, 1);
	aio_submitted(cbs, 1, -EAGAIN); /* nothing went in */
	aio_reaped(&ev, 1);
	ck_assert_int_eq(latch_sync_result(fd, fd_gen(fd), OP_FSYNC, true, 0), 0);
	ev.obj = 12345; /* not an iocb this library saw */
	aio_reaped(&ev, 1);
	ck_assert_int_eq(ev.res, -EIO);
	ck_assert_int_eq(latch_sync_result(fd, fd_gen(fd), OP_FSYNC, true, 0), 0);
}
END_TEST

Suite *aio_suite(void)
{
	Suite *s = suite_create("aio");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, failed_fsync_latches_later_ones_report_eio);
	tcase_add_test(tc, writes_count_only_with_dsync);
	tcase_add_test(tc, unsubmitted_and_unknown_events_are_left_alone);
	suite_add_tcase(s, tc);
	return s;
}
