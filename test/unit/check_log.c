/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "suites.h"

START_TEST(integers)
{
	struct line l;

	line_init(&l);
	line_int(&l, 0);
	line_str(&l, " ");
	line_int(&l, -42);
	line_str(&l, " ");
	line_int(&l, 9223372036854775807LL);
	ck_assert_str_eq(l.buf, "0 -42 9223372036854775807");
}
END_TEST

START_TEST(errno_names_and_text)
{
	struct line l;

	line_init(&l);
	line_errno(&l, ENOSPC);
	ck_assert_str_eq(l.buf, "ENOSPC (No space left on device)");
	line_init(&l);
	line_errno(&l, 4000);
	ck_assert_ptr_nonnull(strstr(l.buf, "4000"));
}
END_TEST

START_TEST(long_lines_are_cut_not_overrun)
{
	struct line l;
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	line_init(&l);
	line_str(&l, big);
	line_str(&l, big);
	ck_assert_uint_eq(l.len, sizeof(l.buf) - 1);
	ck_assert_uint_eq(strlen(l.buf), l.len);
}
END_TEST

START_TEST(file_destination_gets_one_line_per_event)
{
	char dir[PATH_MAX], path[PATH_MAX + 8], buf[512];
	int fd, n;

	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	log_setup(LOG_FILE, path, "prog");
	errno = 7;
	log_message("first");
	log_message("second");
	ck_assert_int_eq(errno, 7);
	fd = open(path, O_RDONLY);
	n = (int)read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	ck_assert_ptr_nonnull(strstr(buf, "stickysync: prog["));
	ck_assert_ptr_nonnull(strstr(buf, "]: first\n"));
	ck_assert_ptr_nonnull(strstr(buf, "]: second\n"));
	rm_tree(dir);
}
END_TEST

Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, integers);
	tcase_add_test(tc, errno_names_and_text);
	tcase_add_test(tc, long_lines_are_cut_not_overrun);
	tcase_add_test(tc, file_destination_gets_one_line_per_event);
	suite_add_tcase(s, tc);
	return s;
}
