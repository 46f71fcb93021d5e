/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "identity.h"
#include "suites.h"

static char dir[PATH_MAX], path[PATH_MAX + 8];

static void setup(void)
{
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
}

static void teardown(void)
{
	rm_tree(dir);
}

START_TEST(fd_and_path_agree)
{
	struct file_key a, b;
	int fd = open(path, O_RDWR | O_CREAT, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(key_from_fd(fd, &a), 0);
	ck_assert_int_eq(key_from_path(path, &b), 0);
	ck_assert(key_equal(&a, &b));
	ck_assert_uint_eq(key_hash(&a), key_hash(&b));
	close(fd);
}
END_TEST

START_TEST(recreated_file_differs)
{
	struct file_key a, b;
	int fd = open(path, O_RDWR | O_CREAT, 0600);

	ck_assert_int_eq(key_from_fd(fd, &a), 0);
	close(fd);
	unlink(path);
	usleep(20000); /* past the coarse clock's tick */
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ck_assert_int_eq(key_from_fd(fd, &b), 0);
	close(fd);
	/* where the inode number comes back, the birth time or generation
	 * still tells the two files apart */
	ck_assert(!key_equal(&a, &b));
	ck_assert(a.flags & (KEYF_BTIME | KEYF_GEN));
}
END_TEST

/* Within one clock tick only the generation can tell them apart. */
START_TEST(generation_separates_same_tick_recreation)
{
	struct file_key a, b;
	int fd = open(path, O_RDWR | O_CREAT, 0600);

	key_from_fd(fd, &a);
	key_add_generation(&a, fd);
	close(fd);
	if (!(a.flags & KEYF_GEN))
		return; /* tmpfs and others keep no generation: documented limit */
	b = a;
	b.gen++;
	ck_assert(!key_equal(&a, &b));
	/* a key without a generation still matches on the rest */
	b.flags &= ~KEYF_GEN;
	ck_assert(key_equal(&a, &b));
}
END_TEST

START_TEST(key_without_btime_matches_on_dev_and_ino)
{
	struct file_key full = {
	    .kind = KEY_FILE, .dev = 3, .ino = 9, .btime_sec = 5, .flags = KEYF_BTIME};
	struct file_key maps = {.kind = KEY_FILE, .dev = 3, .ino = 9};

	ck_assert(key_equal(&full, &maps));
	maps.dev = 4;
	ck_assert(!key_equal(&full, &maps));
	ck_assert_uint_eq(key_hash(&full), key_hash(&maps));
}
END_TEST

START_TEST(btime_keys_ignore_the_device_number)
{
	/* device numbers change across reboots; the birth time does not */
	struct file_key a = {
	    .kind = KEY_FILE, .dev = 1, .ino = 9, .btime_sec = 5, .flags = KEYF_BTIME};
	struct file_key b = a;

	b.dev = 2;
	ck_assert(key_equal(&a, &b));
	b.btime_nsec = 1;
	ck_assert(!key_equal(&a, &b));
}
END_TEST

START_TEST(filesystem_keys)
{
	struct file_key f = {.kind = KEY_FILE, .dev = 7, .ino = 9}, fs, fs2;

	key_fs_of(&f, &fs);
	ck_assert_int_eq(fs.kind, KEY_FS);
	ck_assert(!key_equal(&f, &fs));
	f.dev = 8;
	key_fs_of(&f, &fs2);
	ck_assert(!key_equal(&fs, &fs2));
}
END_TEST

/* A filesystem with a UUID is the same filesystem on another device
 * number; without one on either side, the device decides. */
START_TEST(filesystem_keys_by_uuid_survive_a_new_device)
{
	struct file_key f = {.kind = KEY_FILE, .dev = 7, .ino = 9}, a, b;

	key_fs_of(&f, &a);
	a.flags |= KEYF_FSUUID;
	a.ino = 0x1234;
	a.btime_sec = 0x5678;
	b = a;
	b.dev = 8;
	ck_assert(key_equal(&a, &b));
	ck_assert_uint_eq(key_hash(&a), key_hash(&b));
	b.btime_sec = 0x5679;
	ck_assert(!key_equal(&a, &b));
	b = a;
	b.flags &= ~KEYF_FSUUID;
	ck_assert(key_equal(&a, &b)); /* same device */
	ck_assert_uint_eq(key_hash(&a), key_hash(&b));
	b.dev = 8;
	ck_assert(!key_equal(&a, &b));
}
END_TEST

/* tmpfs reports a UUID of its own per mount (Linux 6.5 and later). */
START_TEST(filesystem_uuid_from_an_fd)
{
	struct file_key f, fs;
	int fd = open("/dev/shm", O_RDONLY | O_DIRECTORY);

	if (fd < 0) {
		fprintf(stderr, "SKIP: no /dev/shm\n");
		return;
	}
	ck_assert_int_eq(key_from_fd(fd, &f), 0);
	errno = 1234;
	key_fs_of_fd(fd, &f, &fs);
	ck_assert_int_eq(errno, 1234);
	ck_assert_int_eq(fs.kind, KEY_FS);
	ck_assert_uint_eq(fs.dev, f.dev);
	if (!(fs.flags & KEYF_FSUUID))
		fprintf(stderr, "SKIP: no FS_IOC_GETFSUUID (Linux < 6.5)\n");
	key_fs_of_fd(-1, &f, &fs);
	ck_assert(!(fs.flags & KEYF_FSUUID));
	close(fd);
}
END_TEST

START_TEST(bad_fd)
{
	struct file_key k;

	ck_assert_int_eq(key_from_fd(-1, &k), -1);
	ck_assert_int_eq(key_from_path("/nonexistent/x", &k), -1);
}
END_TEST

Suite *identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fd_and_path_agree);
	tcase_add_test(tc, recreated_file_differs);
	tcase_add_test(tc, generation_separates_same_tick_recreation);
	tcase_add_test(tc, key_without_btime_matches_on_dev_and_ino);
	tcase_add_test(tc, btime_keys_ignore_the_device_number);
	tcase_add_test(tc, filesystem_keys);
	tcase_add_test(tc, bad_fd);
	tcase_add_test(tc, filesystem_keys_by_uuid_survive_a_new_device);
	tcase_add_test(tc, filesystem_uuid_from_an_fd);
	suite_add_tcase(s, tc);
	return s;
}
