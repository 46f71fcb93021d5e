/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The latch logic driven directly, as the wrappers would: each test is a
 * forked process (CK_FORK) with its own runtime.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "latch.h"
#include "suites.h"

static char dir[PATH_MAX - 64], path[PATH_MAX], logpath[PATH_MAX];

static void start(enum policy policy, bool shared)
{
	struct options o;

	memset(&o, 0, sizeof(o));
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	o.policy = policy;
	o.state_mode = shared ? STATE_DIR : STATE_OFF;
	snprintf(o.state_dir, sizeof(o.state_dir), "%s/state", dir);
	o.state_capacity = 64;
	o.log_mode = LOG_FILE;
	snprintf(o.log_path, sizeof(o.log_path), "%s", logpath);
	latch_init_with(&o);
}

static void setup(void)
{
	start(POLICY_STICKY, true);
}

static void teardown(void)
{
	rm_tree(dir);
}

/* open, as the wrapper records it */
static int open_tracked(int flags)
{
	uint64_t seq = latch_seq_now();

	return latch_opened(open(path, flags | O_CREAT, 0600), flags, seq);
}

/* a sync whose real call failed with err (0: succeeded) */
static int sync_with(int fd, int err)
{
	errno = err;
	return latch_sync_result(fd, fd_gen(fd), OP_FSYNC, true, err ? -1 : 0);
}

static void *report_tid(void *arg)
{
	*(pid_t *)arg = gettid();
	return NULL;
}

static bool log_has(const char *text)
{
	return file_has(logpath, text);
}

START_TEST(failure_keeps_its_errno_then_eio)
{
	int fd = open_tracked(O_RDWR);

	ck_assert_int_eq(sync_with(fd, ENOSPC), -1);
	ck_assert_int_eq(errno, ENOSPC);
	errno = 0;
	ck_assert_int_eq(sync_with(fd, 0), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert(log_has("fsync(fd "));
	ck_assert(
	    log_has("failed: ENOSPC (No space left on device); later syncs of this file fail"));
}
END_TEST

START_TEST(success_with_nothing_latched_is_untouched)
{
	int fd = open_tracked(O_RDWR);

	errno = 1234;
	ck_assert_int_eq(sync_with(fd, 0), 0);
	ck_assert_int_eq(errno, 0); /* sync_with set it; the latch kept it */
	ck_assert(!latch_anything());
}
END_TEST

START_TEST(not_applicable_errors_pass_through)
{
	int fd = open_tracked(O_RDWR);
	static const int errs[] = {EBADF, EINVAL, EINTR, ENOSYS, EOPNOTSUPP};

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		ck_assert_int_eq(sync_with(fd, errs[i]), -1);
		ck_assert_int_eq(errno, errs[i]);
	}
	ck_assert_int_eq(sync_with(fd, 0), 0);
}
END_TEST

START_TEST(old_fds_stay_latched_after_acknowledgment)
{
	int before = open_tracked(O_RDWR), failing = open_tracked(O_RDWR), fresh;

	sync_with(failing, EIO);
	fresh = open_tracked(O_RDWR);
	ck_assert_int_eq(sync_with(before, 0), -1);
	ck_assert_int_eq(sync_with(fresh, 0), -1); /* until acknowledged */
	ck_assert_int_eq(latch_acknowledge_fd(before), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_int_eq(latch_acknowledge_fd(failing), -1);
	ck_assert_int_eq(latch_acknowledge_fd(fresh), 0);
	ck_assert_int_eq(sync_with(fresh, 0), 0);
	ck_assert_int_eq(sync_with(before, 0), -1);
	ck_assert_int_eq(sync_with(failing, 0), -1);
	ck_assert(log_has("acknowledged through fd"));
}
END_TEST

/* An fd the shim did not see opened may be older than the loss, unless
 * its number was released through the shim after the loss. */
START_TEST(untracked_fd_is_judged_by_when_its_number_was_released)
{
	int failing = open_tracked(O_RDWR), stranger = open(path, O_RDWR), fresh, reused;

	sync_with(failing, EIO);
	ck_assert_int_eq(latch_acknowledge_fd(stranger), -1);
	ck_assert_int_eq(errno, EBUSY);
	fresh = open_tracked(O_RDWR);
	ck_assert_int_eq(latch_acknowledge_fd(fresh), 0);
	/* released through the shim after the loss, then reopened unseen */
	fd_release(fresh, latch_seq_now());
	close(fresh);
	reused = open(path, O_RDWR);
	ck_assert_int_eq(reused, fresh);
	ck_assert_int_eq(sync_with(reused, 0), 0);
	ck_assert_int_eq(sync_with(stranger, 0), -1);
}
END_TEST

/* A child forked while another thread ran init finds the initialising
 * thread gone, and initialises itself instead of waiting forever. */
START_TEST(init_left_by_a_vanished_thread_is_taken_over)
{
	pthread_t t;
	pid_t tid = 0;

	ck_assert_int_eq(pthread_create(&t, NULL, report_tid, &tid), 0);
	pthread_join(t, NULL);
	__atomic_store_n(&latch_init_state, (int)tid, __ATOMIC_RELEASE);
	latch_init();
	ck_assert_int_eq(__atomic_load_n(&latch_init_state, __ATOMIC_ACQUIRE), LATCH_INIT_DONE);
}
END_TEST

START_TEST(dsync_write_failure_latches_plain_does_not)
{
	int plain = open_tracked(O_RDWR), dsync;

	errno = EIO;
	ck_assert_int_eq(latch_write_result(plain, OP_WRITE, -1), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert_int_eq(sync_with(plain, 0), 0);
	dsync = open_tracked(O_RDWR | O_DSYNC);
	errno = ENOSPC;
	ck_assert_int_eq(latch_write_result(dsync, OP_PWRITE, -1), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(sync_with(plain, 0), -1);
	/* a later successful O_DSYNC write is a sync of a latched file */
	ck_assert_int_eq(latch_write_result(dsync, OP_PWRITE, 10), -1);
	ck_assert_int_eq(errno, EIO);
}
END_TEST

START_TEST(close_failure_latches_written_file)
{
	int fd = open_tracked(O_RDWR), again;
	struct close_ctx c;

	ck_assert_int_eq(latch_write_result(fd, OP_WRITE, 3), 3);
	latch_close_prepare(fd, false, 0, &c);
	ck_assert(c.have_key);
	close(fd);
	errno = EIO;
	ck_assert_int_eq(latch_close_result(fd, OP_CLOSE, &c, -1), -1);
	ck_assert_int_eq(errno, EIO);
	again = open_tracked(O_RDWR);
	ck_assert_int_eq(sync_with(again, 0), -1);
}
END_TEST

/* A verdict cached as clean does not survive a new latch of the file. */
START_TEST(clean_verdict_is_judged_again_after_a_latch)
{
	char other[PATH_MAX + 8];
	int fd_other, fd1, fd2;

	snprintf(other, sizeof(other), "%s/other", dir);
	fd_other = latch_opened(open(other, O_RDWR | O_CREAT, 0600), O_RDWR, latch_seq_now());
	sync_with(fd_other, EIO); /* something is latched: syncs are judged */
	fd1 = open_tracked(O_RDWR);
	ck_assert_int_eq(sync_with(fd1, 0), 0);
	ck_assert_int_eq(sync_with(fd1, 0), 0); /* the cached clean verdict */
	fd2 = open_tracked(O_RDWR);
	sync_with(fd2, EIO);
	ck_assert_int_eq(sync_with(fd1, 0), -1);
	ck_assert_int_eq(errno, EIO);
}
END_TEST

/* An fd closed and reused behind the table's back (a raw close) keeps a
 * stale entry; it must not make the new file's syncs fail. */
START_TEST(stale_entry_never_refuses_another_file)
{
	char other[PATH_MAX + 8];
	int fd = open_tracked(O_RDWR), reused;

	ck_assert_int_eq(sync_with(fd, EIO), -1);
	ck_assert_int_eq(sync_with(fd, 0), -1); /* caches the latched file's key */
	close(fd);
	snprintf(other, sizeof(other), "%s/other", dir);
	reused = open(other, O_RDWR | O_CREAT, 0600);
	ck_assert_int_eq(reused, fd);
	ck_assert_int_eq(sync_with(reused, 0), 0);
	ck_assert_int_eq(sync_with(reused, 0), 0);
}
END_TEST

START_TEST(observe_never_changes_a_result)
{
	int fd;

	teardown();
	start(POLICY_OBSERVE, false);
	fd = open_tracked(O_RDWR);
	ck_assert_int_eq(sync_with(fd, EIO), -1);
	ck_assert_int_eq(sync_with(fd, 0), 0);
	ck_assert(log_has("succeeded after an earlier failure"));
}
END_TEST

START_TEST(failstop_refuses_io)
{
	int fd, other;

	teardown();
	start(POLICY_FAILSTOP, false);
	fd = open_tracked(O_RDWR);
	other = open_tracked(O_RDWR);
	ck_assert(!latch_io_refused(fd, OP_WRITE));
	sync_with(fd, EIO);
	ck_assert(latch_io_refused(fd, OP_WRITE));
	ck_assert_int_eq(errno, EIO);
	ck_assert(latch_io_refused(other, OP_READ));
}
END_TEST

START_TEST(in_process_state_creates_no_folder)
{
	int fd;

	teardown();
	start(POLICY_STICKY, false);
	fd = open_tracked(O_RDWR);
	sync_with(fd, EIO);
	ck_assert_int_eq(sync_with(fd, 0), -1);
	ck_assert_int_eq(access(dir, F_OK), 0);
	char state[PATH_MAX + 8];
	snprintf(state, sizeof(state), "%s/state", dir);
	ck_assert_int_eq(access(state, F_OK), -1);
}
END_TEST

/*
 * A signal handler (or a wrapper called from init) that runs in the thread
 * initialising the library, before the in-process table is set up: its
 * failed sync must not crash the program.
 */
START_TEST(failure_while_this_thread_initialises_does_not_crash)
{
	int fd = open(path, O_RDWR | O_CREAT, 0600);

	memset(&rt, 0, sizeof(rt)); /* init has not reached the tables yet */
	__atomic_store_n(&latch_init_state, (int)gettid(), __ATOMIC_RELEASE);
	errno = EIO;
	ck_assert_int_eq(latch_sync_result(fd, fd_gen(fd), OP_FSYNC, true, -1), -1);
	ck_assert_int_eq(errno, EIO);
}
END_TEST

/*
 * A clean verdict is remembered per lifetime of an fd number.  After 2^23
 * close/open cycles of the number, with nothing latched or acknowledged
 * meanwhile, a new lifetime must not inherit the verdict of an old one:
 * here the new lifetime is an fd on a file whose loss is unacknowledged.
 */
START_TEST(clean_verdict_never_passes_to_a_much_later_lifetime)
{
	char other[PATH_MAX + 8];
	int latched = open_tracked(O_RDWR), fd, again;
	uint64_t seq;

	sync_with(latched, EIO); /* path is latched, unacknowledged */
	snprintf(other, sizeof(other), "%s/other", dir);
	seq = latch_seq_now();
	fd = latch_opened(open(other, O_RDWR | O_CREAT, 0600), O_RDWR, seq);
	ck_assert_int_eq(sync_with(fd, 0), 0); /* judged clean */
	fd_release(fd, seq);
	close(fd);
	/* the number is opened and closed again and again (sockets, pipes,
	 * files never synced), and nothing else is latched */
	for (uint32_t i = 0; i < (1u << 23) - 1; i++) {
		fd_install_open(fd, seq, O_RDWR);
		fd_release(fd, seq);
	}
	again = open_tracked(O_RDWR); /* the latched file, on the same number */
	ck_assert_int_eq(again, fd);
	ck_assert_int_eq(latch_seq_now(), seq);
	ck_assert_int_eq(sync_with(again, 0), -1);
	ck_assert_int_eq(errno, EIO);
}
END_TEST

Suite *latch_suite(void)
{
	Suite *s = suite_create("latch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, failure_keeps_its_errno_then_eio);
	tcase_add_test(tc, success_with_nothing_latched_is_untouched);
	tcase_add_test(tc, not_applicable_errors_pass_through);
	tcase_add_test(tc, old_fds_stay_latched_after_acknowledgment);
	tcase_add_test(tc, untracked_fd_is_judged_by_when_its_number_was_released);
	tcase_add_test(tc, init_left_by_a_vanished_thread_is_taken_over);
	tcase_add_test(tc, dsync_write_failure_latches_plain_does_not);
	tcase_add_test(tc, close_failure_latches_written_file);
	tcase_add_test(tc, stale_entry_never_refuses_another_file);
	tcase_add_test(tc, clean_verdict_is_judged_again_after_a_latch);
	tcase_add_test(tc, observe_never_changes_a_result);
	tcase_add_test(tc, failstop_refuses_io);
	tcase_add_test(tc, in_process_state_creates_no_folder);
	tcase_add_test(tc, failure_while_this_thread_initialises_does_not_crash);
	tcase_add_test(tc, clean_verdict_never_passes_to_a_much_later_lifetime);
	suite_add_tcase(s, tc);
	return s;
}
