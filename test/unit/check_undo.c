/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "suites.h"
#include "undo.h"

static char dir[PATH_MAX], path[PATH_MAX + 8];
static int fd;

static void setup(void)
{
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(pwrite(fd, "AAAAAAAA", 8, 0), 8);
	undo_setup(1 << 20, dir);
}

static void teardown(void)
{
	undo_forget_all();
	close(fd);
	rm_tree(dir);
}

static void write_at(const char *s, off_t off)
{
	undo_record_write(fd, off, strlen(s));
	ck_assert_int_eq(pwrite(fd, s, strlen(s), off), (ssize_t)strlen(s));
}

static void expect_content(const char *want, size_t len)
{
	char buf[64];
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)len);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), (ssize_t)len);
	ck_assert_mem_eq(buf, want, len);
}

START_TEST(lose_old_restores_the_last_synced_content)
{
	write_at("BBBB", 2);
	write_at("CCCC", 8);
	undo_record_truncate(fd, 5);
	ck_assert_int_eq(ftruncate(fd, 5), 0);
	write_at("DD", 0);
	undo_apply(fd, LOSE_OLD);
	expect_content("AAAAAAAA", 8);
}
END_TEST

START_TEST(lose_zero_zeroes_written_ranges)
{
	write_at("BBBB", 2);
	undo_apply(fd, LOSE_ZERO);
	expect_content("AA\0\0\0\0AA", 8);
}
END_TEST

START_TEST(keep_changes_nothing)
{
	write_at("BBBB", 2);
	undo_apply(fd, LOSE_KEEP);
	expect_content("AABBBBAA", 8);
}
END_TEST

START_TEST(a_sync_sets_a_new_baseline)
{
	write_at("BBBB", 2);
	undo_forget(fd);
	write_at("CC", 0);
	undo_apply(fd, LOSE_OLD);
	expect_content("AABBBBAA", 8);
}
END_TEST

START_TEST(writes_at_the_file_position_and_appends)
{
	int afd = open(path, O_WRONLY | O_APPEND);

	undo_record_write(afd, -1, 3);
	ck_assert_int_eq(write(afd, "EEE", 3), 3);
	lseek(fd, 1, SEEK_SET);
	undo_record_write(fd, -1, 1);
	ck_assert_int_eq(write(fd, "F", 1), 1);
	undo_apply(fd, LOSE_OLD);
	expect_content("AAAAAAAA", 8);
	close(afd);
}
END_TEST

START_TEST(bytes_past_the_limit_spill_to_a_file)
{
	size_t mem, spilled;

	undo_setup(2, dir);
	write_at("BBBB", 2);
	write_at("C", 0);
	undo_usage(&mem, &spilled);
	ck_assert_uint_eq(mem, 1);
	ck_assert_uint_eq(spilled, 4);
	undo_apply(fd, LOSE_OLD);
	expect_content("AAAAAAAA", 8);
	undo_usage(&mem, &spilled);
	ck_assert_uint_eq(mem, 0);
}
END_TEST

/* ---- fork and re-entry ---------------------------------------------------- */

/* A child forked after its parent spilled must not write over the parent's
 * spilled bytes: parent and child append to what was one spill file. */
START_TEST(a_forked_child_does_not_overwrite_the_parents_spilled_bytes)
{
	int go[2], status;
	char c;
	pid_t pid;

	undo_setup(0, dir);
	write_at("BB", 0);
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* after the parent's second record: same spill offsets */
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		undo_record_write(fd, 0, 2);
		_exit(pwrite(fd, "CC", 2, 0) == 2 ? 0 : 1);
	}
	write_at("DD", 4);
	ck_assert_int_eq(write(go[1], "x", 1), 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	undo_apply(fd, LOSE_OLD);
	expect_content("AAAAAAAA", 8);
	close(go[0]);
	close(go[1]);
}
END_TEST

/* A forked child keeps what its parent recorded, in memory and spilled. */
START_TEST(a_forked_child_can_undo_what_its_parent_recorded)
{
	int status;
	pid_t pid;

	undo_setup(2, dir);
	write_at("B", 0);
	write_at("CCCC", 3);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char buf[8];

		write_at("D", 1);
		undo_apply(fd, LOSE_OLD);
		_exit(pread(fd, buf, 8, 0) == 8 && memcmp(buf, "AAAAAAAA", 8) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/*
 * Interrupting the store at a known point: a seccomp filter turns the
 * store's own pread of TRAP_LEN bytes into SIGSYS, delivered on the thread
 * that holds the store, in the middle of recording.  (The trapped pread is
 * not executed; what the store reads then does not matter here.)
 */
#define TRAP_LEN 7777

static void trap_preads_of_trap_len(void)
{
	struct sock_filter prog[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pread64, 0, 3),
	    /* the low half of the count */
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		     offsetof(struct seccomp_data, args[2]) +
			 (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TRAP_LEN, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = {.len = sizeof(prog) / sizeof(prog[0]), .filter = prog};
	const char *fork_mode = getenv("CK_FORK");

	/* The filter stays with the process: only in a test's own process. */
	ck_assert_msg(!fork_mode || strcmp(fork_mode, "no") != 0, "needs CK_FORK=yes");
	ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog), 0);
}

static int trap_fd = -1;

/* Record a write of TRAP_LEN bytes to a file of its own: traps mid-way. */
static void record_trapped_write(void)
{
	char name[PATH_MAX + 16];

	snprintf(name, sizeof(name), "%s/trapped", dir);
	trap_fd = open(name, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(trap_fd, 0);
	ck_assert_int_eq(ftruncate(trap_fd, 2 * TRAP_LEN), 0);
	undo_record_write(trap_fd, 0, TRAP_LEN);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait up to 3 s for pid; a child still running then is killed: -1. */
static int wait_briefly(pid_t pid)
{
	long long end = now_ms() + 3000;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static volatile sig_atomic_t handler_done;

static void reenter_store(int sig)
{
	(void)sig;
	/* each of these would wait for this very thread */
	undo_record_write(fd, 0, 2);
	undo_record_truncate(fd, 0);
	undo_forget(fd);
	undo_apply(fd, LOSE_OLD);
	undo_forget_all();
	handler_done = 1;
}

static int count_lines(const char *file, const char *needle)
{
	char buf[4096];
	int lfd = open(file, O_RDONLY), n = 0;
	ssize_t got = lfd >= 0 ? read(lfd, buf, sizeof(buf) - 1) : -1;

	if (lfd >= 0)
		close(lfd);
	buf[got > 0 ? got : 0] = '\0';
	for (char *p = buf; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

START_TEST(a_signal_handler_on_the_holding_thread_skips_instead_of_waiting)
{
	char log[PATH_MAX + 8];

	snprintf(log, sizeof(log), "%s/log", dir);
	log_setup(LOG_FILE, log, "unit");
	write_at("BB", 2);
	signal(SIGSYS, reenter_store);
	trap_preads_of_trap_len();
	alarm(5); /* a deadlock fails the test instead of hanging it */
	record_trapped_write();
	record_trapped_write();
	alarm(0);
	ck_assert(handler_done);
	/* said once, however often it happened */
	ck_assert_int_eq(count_lines(log, "lose="), 1);
	/* the interrupted thread's record and the earlier ones are intact */
	undo_forget(trap_fd);
	undo_apply(fd, LOSE_OLD);
	expect_content("AAAAAAAA", 8);
	close(trap_fd);
}
END_TEST

/* SIGSYS on the recording thread: hand control to the test, wait for it. */
static int inside[2], release[2];
static enum { FORK_PLAIN, FORK_RAW } fork_kind;

static void hold_store_until_released(int sig)
{
	char c;

	(void)sig;
	if (write(inside[1], "i", 1) != 1 || read(release[0], &c, 1) != 1)
		abort();
}

static void *recording_thread(void *arg)
{
	(void)arg;
	record_trapped_write();
	return NULL;
}

/* In the child: record, write, lose: the store must work. */
static int child_uses_the_store(void)
{
	char buf[8];

	undo_record_write(fd, 0, 2);
	if (pwrite(fd, "CC", 2, 0) != 2)
		return 1;
	undo_apply(fd, LOSE_OLD);
	if (pread(fd, buf, 8, 0) != 8 || memcmp(buf, "AAAAAAAA", 8) != 0)
		return 2;
	undo_forget(fd);
	return 0;
}

/* Fork while another thread is stopped inside the store. */
static void fork_while_another_thread_holds_the_store(void)
{
	pthread_t t;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(inside), 0);
	ck_assert_int_eq(pipe(release), 0);
	signal(SIGSYS, hold_store_until_released);
	trap_preads_of_trap_len();
	alarm(10);
	pthread_create(&t, NULL, recording_thread, NULL);
	ck_assert_int_eq(read(inside[0], &c, 1), 1);
	pid = fork_kind == FORK_RAW ? _Fork() : fork();
	if (pid == 0)
		_exit(child_uses_the_store());
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(wait_briefly(pid), 0);
	ck_assert_int_eq(write(release[1], "r", 1), 1);
	pthread_join(t, NULL);
	alarm(0);
	/* the parent's store is as the thread left it */
	undo_forget(trap_fd);
	write_at("BB", 0);
	undo_apply(fd, LOSE_OLD);
	expect_content("AAAAAAAA", 8);
}

START_TEST(a_forked_child_takes_over_a_store_another_thread_held)
{
	fork_kind = FORK_PLAIN;
	fork_while_another_thread_holds_the_store();
}
END_TEST

START_TEST(a_child_of_raw_fork_takes_over_a_store_another_thread_held)
{
	fork_kind = FORK_RAW;
	fork_while_another_thread_holds_the_store();
}
END_TEST

/* A vfork child of the holding thread runs on that thread's stack while the
 * thread is suspended: waiting for the store would never end. */
static volatile sig_atomic_t vfork_status = -1;

static void vfork_from_inside_the_store(int sig)
{
	pid_t pid;
	int status;

	(void)sig;
	pid = vfork();
	if (pid == 0) {
		alarm(3); /* the child's own timer: a hung child dies */
		undo_forget(fd);
		undo_record_write(fd, 0, 2);
		_exit(0);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		vfork_status = WEXITSTATUS(status);
}

START_TEST(a_vfork_child_of_the_holding_thread_does_not_wait_for_it)
{
	signal(SIGSYS, vfork_from_inside_the_store);
	trap_preads_of_trap_len();
	alarm(5);
	record_trapped_write();
	alarm(0);
	ck_assert_int_eq(vfork_status, 0);
	undo_forget(trap_fd);
	write_at("BB", 0);
	undo_apply(fd, LOSE_OLD);
	expect_content("AAAAAAAA", 8);
}
END_TEST

Suite *undo_suite(void)
{
	Suite *s = suite_create("undo");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lose_old_restores_the_last_synced_content);
	tcase_add_test(tc, lose_zero_zeroes_written_ranges);
	tcase_add_test(tc, keep_changes_nothing);
	tcase_add_test(tc, a_sync_sets_a_new_baseline);
	tcase_add_test(tc, writes_at_the_file_position_and_appends);
	tcase_add_test(tc, bytes_past_the_limit_spill_to_a_file);
	suite_add_tcase(s, tc);
	tc = tcase_create("fork and re-entry");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 15);
	tcase_add_test(tc, a_forked_child_does_not_overwrite_the_parents_spilled_bytes);
	tcase_add_test(tc, a_forked_child_can_undo_what_its_parent_recorded);
	tcase_add_test(tc, a_signal_handler_on_the_holding_thread_skips_instead_of_waiting);
	tcase_add_test(tc, a_forked_child_takes_over_a_store_another_thread_held);
	tcase_add_test(tc, a_child_of_raw_fork_takes_over_a_store_another_thread_held);
	tcase_add_test(tc, a_vfork_child_of_the_holding_thread_does_not_wait_for_it);
	suite_add_tcase(s, tc);
	return s;
}
