/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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
	fd_install_open(5, 17, O_RDWR | O_DSYNC);
	ck_assert_uint_eq(fd_created_after(5, fd_gen(5)), 17);
	ck_assert_uint_eq(fdtab[5].wstate, W_NOTE | W_DSYNC);
	ck_assert(fd_gen(5) & 1);
	fd_install_open(6, 18, O_RDWR);
	ck_assert_uint_eq(fdtab[6].wstate, W_NOTE);
	ck_assert_int_eq(fdtab_high, 7);
}
END_TEST

START_TEST(dup_copies_description_state)
{
	struct file_key a = {.kind = KEY_FILE, .ino = 1, .btime_sec = 1, .flags = KEYF_BTIME}, k;

	clear();
	fd_install_open(3, 9, O_WRONLY | O_SYNC);
	fd_mark_witness(3, fd_gen(3), 5);
	fd_set_flags(3, fd_gen(3), FD_REPORTED | FD_INJECT_CHECKED);
	fd_validate(3, fd_gen(3), &a);
	fd_install_dup(3, 40, false);
	ck_assert_uint_eq(fd_created_after(40, fd_gen(40)), 9);
	ck_assert_int_eq(fd_witness_error(40, fd_gen(40)), 5);
	ck_assert(fdtab[40].wstate & W_DSYNC);
	ck_assert(fd_cached_key(40, fd_gen(40), &k) && key_equal(&k, &a));
	/* reporting is per fd number */
	ck_assert_uint_eq(fd_flags(40, fd_gen(40)), FD_INJECT_CHECKED);
	ck_assert(fd_latched(40));
}
END_TEST

START_TEST(sync_clears_written_only)
{
	clear();
	fd_install_open(3, 1, O_WRONLY | O_DSYNC);
	fdtab[3].wstate = W_WRITTEN | W_DSYNC;
	fd_mark_synced(3);
	ck_assert_uint_eq(fdtab[3].wstate, W_NOTE | W_DSYNC);
	fd_mark_synced(FDTAB_SIZE + 1); /* out of range: ignored */
}
END_TEST

START_TEST(release_forgets_everything_learnt)
{
	struct file_key a = {.kind = KEY_FILE, .ino = 1, .btime_sec = 1, .flags = KEYF_BTIME}, k;
	uint32_t gen;

	clear();
	fd_install_open(3, 9, 0);
	gen = fd_gen(3);
	fd_mark_witness(3, gen, 5);
	fd_set_clean(3, gen, 12);
	fd_validate(3, gen, &a);
	fd_release(3, 20);
	ck_assert(!(fd_gen(3) & 1));
	ck_assert(!fd_latched(3));
	ck_assert(!fd_clean_at(3, fd_gen(3), 12));
	ck_assert(!fd_cached_key(3, fd_gen(3), &k));
	ck_assert_uint_eq(fd_created_after(3, fd_gen(3)), 20);
}
END_TEST

/*
 * The race of a close and a reopen in two threads: a thread still acting on
 * the old lifetime writes after the number was released and installed
 * again; nothing it writes may apply to the new file.
 */
START_TEST(stale_writer_never_touches_the_next_lifetime)
{
	struct file_key a = {.kind = KEY_FILE, .ino = 1, .btime_sec = 1, .flags = KEYF_BTIME}, k;
	uint32_t old, now;

	clear();
	fd_install_open(3, 9, 0);
	old = fd_gen(3);
	fd_release(3, 10);	   /* before the real close */
	fd_install_open(3, 11, 0); /* another thread's open got the number */
	now = fd_gen(3);
	ck_assert_uint_ne(old, now);
	fd_mark_witness(3, old, 5);
	fd_set_clean(3, old, 11);
	fd_validate(3, old, &a);
	fd_set_flags(3, old, FD_REPORTED);
	ck_assert(!fd_latched(3));
	ck_assert_int_eq(fd_witness_error(3, now), 0);
	ck_assert(!fd_clean_at(3, now, 11));
	ck_assert(!fd_cached_key(3, now, &k));
	ck_assert_uint_eq(fd_flags(3, now), 0);
	ck_assert_uint_eq(fd_created_after(3, now), 11);
	/* and the old lifetime's facts are not readable as the new one's */
	ck_assert_uint_eq(fd_created_after(3, old), 0);
}
END_TEST

START_TEST(release_range_is_bounded_by_high_water)
{
	clear();
	fd_install_open(3, 1, 0);
	fd_install_open(7, 2, 0);
	fd_install_open(9, 3, 0);
	fd_release_range(4, ~0u, 5);
	ck_assert_uint_eq(fd_created_after(3, fd_gen(3)), 1);
	ck_assert_uint_eq(fd_created_after(7, fd_gen(7)), 5);
	ck_assert_uint_eq(fd_created_after(9, fd_gen(9)), 5);
	ck_assert_uint_eq(fdtab[10].gen, 0);
}
END_TEST

START_TEST(out_of_range_fds_are_ignored)
{
	clear();
	fd_install_open(FDTAB_MAX, 1, 0);
	fd_install_open(-1, 1, 0);
	fd_install_dup(3, FDTAB_MAX + 5, false);
	fd_release(FDTAB_MAX + 2, 1);
	ck_assert(!fd_latched(FDTAB_MAX));
	ck_assert(!fd_latched(-3));
	ck_assert_ptr_null(fd_entry(FDTAB_MAX));
	ck_assert(fd_opened_before(FDTAB_MAX, 0, 1, INT64_MIN));
}
END_TEST

START_TEST(validate_detects_reuse_behind_our_back)
{
	struct file_key a = {.kind = KEY_FILE, .ino = 1, .btime_sec = 1, .flags = KEYF_BTIME}, k;
	struct file_key b = a;
	uint32_t gen, next;

	clear();
	b.ino = 2;
	fd_install_open(4, 30, 0);
	gen = fd_gen(4);
	ck_assert_uint_eq(fd_validate(4, gen, &a), gen); /* first sight: remembered */
	ck_assert_uint_eq(fd_validate(4, gen, &a), gen);
	ck_assert_uint_eq(fd_created_after(4, gen), 30);
	next = fd_validate(4, gen, &b); /* another file under the same number */
	ck_assert_uint_ne(next, gen);
	ck_assert(!(next & 1));
	ck_assert(fd_opened_before(4, next, 1, INT64_MIN));
	ck_assert(fd_cached_key(4, next, &k) && key_equal(&k, &b));
}
END_TEST

/* A fd made outside the shim on a number it saw released after a loss
 * cannot have witnessed that loss. */
START_TEST(unknown_fd_on_a_released_number_is_newer)
{
	clear();
	ck_assert(fd_opened_before(8, fd_gen(8), 5, INT64_MIN)); /* never seen: old */
	fd_install_open(8, 3, 0);
	fd_release(8, 7);
	/* a raw open reuses 8, unseen */
	ck_assert(fd_opened_before(8, fd_gen(8), 8, INT64_MIN));
	ck_assert(!fd_opened_before(8, fd_gen(8), 7, INT64_MIN));
	ck_assert(!fd_opened_before(8, fd_gen(8), 6, INT64_MIN));
}
END_TEST

/* fds above the first table get entries in chunks mapped on demand. */
START_TEST(high_fds_are_tracked)
{
	int high = FDTAB_SIZE + 70, top = FDTAB_MAX - 1;

	clear();
	ck_assert_ptr_null(fd_entry(high)); /* nothing mapped until needed */
	ck_assert(fd_opened_before(high, fd_gen(high), 5, INT64_MIN));
	fd_install_open(high, 3, 0);
	ck_assert_ptr_nonnull(fd_entry(high));
	ck_assert_uint_eq(fd_created_after(high, fd_gen(high)), 3);
	fd_mark_witness(high, fd_gen(high), 5);
	ck_assert(fd_latched(high));
	fd_release(high, 9);
	ck_assert(!fd_latched(high));
	ck_assert(!fd_opened_before(high, fd_gen(high), 9, INT64_MIN));
	fd_install_dup(high, top, false);
	ck_assert_uint_eq(fd_created_after(top, fd_gen(top)), 9);
	fd_install_open(FDTAB_MAX, 1, 0); /* beyond: ignored */
	ck_assert_ptr_null(fd_entry(FDTAB_MAX));
	fd_release_range(FDTAB_SIZE, ~0u, 11);
	ck_assert_uint_eq(fd_created_after(top, fd_gen(top)), 11);
}
END_TEST

/* In a child of vfork (its pid differs from the mark), nothing is written. */
START_TEST(vfork_child_writes_nothing)
{
	uint32_t gen;

	clear();
	fd_install_open(3, 9, 0);
	gen = fd_gen(3);
	fd_vfork_parent = getpid() + 1; /* we play the child */
	fd_release(3, 20);
	fd_release_range(0, ~0u, 20);
	fd_install_open(3, 21, 0);
	fd_mark_witness(3, gen, 5);
	ck_assert_uint_eq(fd_gen(3), gen);
	ck_assert_uint_eq(fd_created_after(3, gen), 9);
	ck_assert(!fd_latched(3));
	fd_vfork_parent = getpid(); /* now the parent, resumed */
	fd_release(3, 20);
	ck_assert_int_eq(fd_vfork_parent, 0);
	ck_assert_uint_ne(fd_gen(3), gen);
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
	tcase_add_test(tc, release_forgets_everything_learnt);
	tcase_add_test(tc, stale_writer_never_touches_the_next_lifetime);
	tcase_add_test(tc, release_range_is_bounded_by_high_water);
	tcase_add_test(tc, out_of_range_fds_are_ignored);
	tcase_add_test(tc, validate_detects_reuse_behind_our_back);
	tcase_add_test(tc, unknown_fd_on_a_released_number_is_newer);
	tcase_add_test(tc, vfork_child_writes_nothing);
	tcase_add_test(tc, high_fds_are_tracked);
	tcase_add_test(tc, proc_name_formats_numbers);
	suite_add_tcase(s, tc);
	return s;
}
