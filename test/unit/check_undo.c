/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	return s;
}
