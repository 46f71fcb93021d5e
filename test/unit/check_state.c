/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state.h"
#include "suites.h"

static char dir[PATH_MAX], sub[PATH_MAX + 16], msg[STATE_MSG_MAX];
static struct state st_;

static void setup(void)
{
	make_tmpdir(dir, sizeof(dir));
	snprintf(sub, sizeof(sub), "%s/a/b/state", dir);
	msg[0] = '\0';
}

static void teardown(void)
{
	state_close(&st_);
	rm_tree(dir);
}

START_TEST(creates_private_folders_and_table)
{
	struct stat st;
	char file[PATH_MAX + 32];

	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	snprintf(file, sizeof(file), "%s/latches", sub);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(st_.tab.hdr->capacity, 64);
}
END_TEST

START_TEST(without_create_a_missing_folder_is_an_error)
{
	ck_assert_int_eq(state_open(&st_, sub, false, 64, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "cannot be opened"));
}
END_TEST

START_TEST(two_openers_share_one_table)
{
	struct state other;
	struct latch_event ev = {.error = 5, .op = "fsync", .path = "/p", .prog = "t", .pid = 1};
	struct latch_view v;

	ev.key.kind = KEY_FILE;
	ev.key.ino = 77;
	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	ck_assert_int_eq(state_open(&other, sub, true, 1024, msg, sizeof(msg)), 0);
	/* the existing table wins over the capacity asked for */
	ck_assert_uint_eq(other.tab.hdr->capacity, 64);
	latchtab_latch(&st_.tab, &ev, latchtab_next_seq(&st_.tab));
	latchtab_lookup(&other.tab, &ev.key, &v);
	ck_assert(v.active);
	state_close(&other);
}
END_TEST

START_TEST(concurrent_creators_agree)
{
	pid_t kids[4];

	for (int i = 0; i < 4; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			struct state c;

			_exit(state_open(&c, sub, true, 64, msg, sizeof(msg)) == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < 4; i++) {
		int status;

		waitpid(kids[i], &status, 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_int_eq(state_open(&st_, sub, false, 64, msg, sizeof(msg)), 0);
}
END_TEST

START_TEST(group_writable_folder_refused)
{
	char open_dir[PATH_MAX + 8];

	snprintf(open_dir, sizeof(open_dir), "%s/o", dir);
	mkdir(open_dir, 0700);
	chmod(open_dir, 0770);
	ck_assert_int_eq(state_open(&st_, open_dir, true, 64, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "is writable by group or others; refused"));
	ck_assert_ptr_null(strchr(msg, '\n'));
}
END_TEST

START_TEST(symlinked_folder_refused)
{
	char real[PATH_MAX + 8], link[PATH_MAX + 8];

	snprintf(real, sizeof(real), "%s/r", dir);
	snprintf(link, sizeof(link), "%s/l", dir);
	mkdir(real, 0700);
	ck_assert_int_eq(symlink(real, link), 0);
	ck_assert_int_eq(state_open(&st_, link, true, 64, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "symbolic link"));
}
END_TEST

START_TEST(writable_or_foreign_file_refused)
{
	char file[PATH_MAX + 32];

	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	state_close(&st_);
	snprintf(file, sizeof(file), "%s/latches", sub);
	chmod(file, 0666);
	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "writable by group or others"));
	chmod(file, 0600);
	ck_assert_int_eq(truncate(file, 10), 0);
	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "is not a stickysync latch table"));
}
END_TEST

START_TEST(prune_gone_keeps_live_files)
{
	char live[PATH_MAX + 8], dead[PATH_MAX + 8];
	struct latch_event ev = {.error = 5, .op = "fsync", .prog = "t", .pid = 1};
	int fd;

	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	snprintf(live, sizeof(live), "%s/live", dir);
	snprintf(dead, sizeof(dead), "%s/dead", dir);
	fd = open(live, O_CREAT | O_RDWR, 0600);
	key_from_fd(fd, &ev.key);
	ev.path = live;
	latchtab_latch(&st_.tab, &ev, 1);
	close(fd);
	fd = open(dead, O_CREAT | O_RDWR, 0600);
	key_from_fd(fd, &ev.key);
	ev.path = dead;
	latchtab_latch(&st_.tab, &ev, 2);
	close(fd);
	unlink(dead);
	/* active records are kept unless asked */
	ck_assert_int_eq(state_prune_gone(&st_.tab, false), 0);
	ck_assert_int_eq(state_prune_gone(&st_.tab, true), 1);
	ck_assert_uint_eq(st_.tab.hdr->active, 1);
}
END_TEST

Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, creates_private_folders_and_table);
	tcase_add_test(tc, without_create_a_missing_folder_is_an_error);
	tcase_add_test(tc, two_openers_share_one_table);
	tcase_add_test(tc, concurrent_creators_agree);
	tcase_add_test(tc, group_writable_folder_refused);
	tcase_add_test(tc, symlinked_folder_refused);
	tcase_add_test(tc, writable_or_foreign_file_refused);
	tcase_add_test(tc, prune_gone_keeps_live_files);
	suite_add_tcase(s, tc);
	return s;
}
