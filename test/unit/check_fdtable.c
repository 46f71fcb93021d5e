/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>

#include "fdtable.h"
#include "suites.h"

static void clear(void)
{
	memset(fdtab, 0, sizeof(fdtab));
	fdtab_high = 0;
}

START_TEST(open_records_sequence_and_dsync)
{
	clear();
	fd_opened(5, 17, O_RDWR | O_DSYNC);
	ck_assert_uint_eq(fdtab[5].open_seq, 17);
	ck_assert_uint_eq(fdtab[5].wstate, W_DSYNC);
	fd_opened(6, 18, O_RDWR);
	ck_assert_uint_eq(fdtab[6].wstate, 0);
	ck_assert_int_eq(fdtab_high, 7);
}
END_TEST

START_TEST(dup_copies_description_state)
{
	clear();
	fd_opened(3, 9, O_WRONLY | O_SYNC);
	fdtab[3].latch_error = 5;
	fdtab[3].flags |= FD_REPORTED;
	fd_duplicated(3, 40);
	ck_assert_uint_eq(fdtab[40].open_seq, 9);
	ck_assert_int_eq(fdtab[40].latch_error, 5);
	ck_assert(fdtab[40].wstate & W_DSYNC);
	/* reporting is per fd number */
	ck_assert(!(fdtab[40].flags & FD_REPORTED));
	ck_assert(fd_latched(40));
}
END_TEST

START_TEST(sync_clears_written_only)
{
	clear();
	fd_opened(3, 1, O_WRONLY | O_DSYNC);
	fdtab[3].wstate |= W_WRITTEN;
	fd_mark_synced(3);
	ck_assert_uint_eq(fdtab[3].wstate, W_DSYNC);
	fd_mark_synced(FDTAB_SIZE + 1); /* out of range: ignored */
}
END_TEST

START_TEST(close_forgets)
{
	clear();
	fd_opened(3, 9, 0);
	fdtab[3].latch_error = 5;
	fd_closed(3);
	ck_assert_uint_eq(fdtab[3].open_seq, 0);
	ck_assert(!fd_latched(3));
}
END_TEST

START_TEST(close_range_is_bounded_by_high_water)
{
	clear();
	fd_opened(3, 1, 0);
	fd_opened(7, 2, 0);
	fd_opened(9, 3, 0);
	fd_closed_range(4, ~0u);
	ck_assert_uint_eq(fdtab[3].open_seq, 1);
	ck_assert_uint_eq(fdtab[7].open_seq, 0);
	ck_assert_uint_eq(fdtab[9].open_seq, 0);
}
END_TEST

START_TEST(out_of_range_fds_are_ignored)
{
	clear();
	fd_opened(FDTAB_SIZE, 1, 0);
	fd_opened(-1, 1, 0);
	fd_duplicated(3, FDTAB_SIZE + 5);
	ck_assert(!fd_latched(FDTAB_SIZE));
	ck_assert(!fd_latched(-3));
	ck_assert_ptr_null(fd_entry(FDTAB_SIZE));
}
END_TEST

START_TEST(validate_detects_reuse_behind_our_back)
{
	struct file_key a = {.kind = KEY_FILE, .ino = 1, .btime_sec = 1, .flags = KEYF_BTIME};
	struct file_key b = a;

	clear();
	b.ino = 2;
	fd_opened(4, 30, 0);
	fd_validate(4, &a); /* first sight: remembered */
	ck_assert_uint_eq(fdtab[4].open_seq, 30);
	fd_validate(4, &a);
	ck_assert_uint_eq(fdtab[4].open_seq, 30);
	fd_validate(4, &b); /* another file under the same number */
	ck_assert_uint_eq(fdtab[4].open_seq, 0);
	ck_assert(fdtab[4].flags & FD_HAVE_KEY);
}
END_TEST

START_TEST(proc_name_formats_numbers)
{
	char buf[32];

	fd_proc_name(0, buf);
	ck_assert_str_eq(buf, "/proc/self/fd/0");
	fd_proc_name(65535, buf);
	ck_assert_str_eq(buf, "/proc/self/fd/65535");
}
END_TEST

Suite *fdtable_suite(void)
{
	Suite *s = suite_create("fdtable");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, open_records_sequence_and_dsync);
	tcase_add_test(tc, dup_copies_description_state);
	tcase_add_test(tc, sync_clears_written_only);
	tcase_add_test(tc, close_forgets);
	tcase_add_test(tc, close_range_is_bounded_by_high_water);
	tcase_add_test(tc, out_of_range_fds_are_ignored);
	tcase_add_test(tc, validate_detects_reuse_behind_our_back);
	tcase_add_test(tc, proc_name_formats_numbers);
	suite_add_tcase(s, tc);
	return s;
}
