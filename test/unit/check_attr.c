/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The latch recorded on the file (attr.c), and the latch layer with it:
 * two state folders on one filesystem stand for two hosts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "attr.h"
#include "latchtab.h"
#include "latch.h"
#include "stickysync.h"
#include "suites.h"

START_TEST(value_round_trips)
{
	struct latch_attr a = {.error = ENOSPC, .pid = 4242, .when_sec = 1764482467}, b;
	char buf[ATTR_VALUE_MAX];
	size_t n;

	strcpy(a.op, "fsync");
	strcpy(a.host, "host1");
	strcpy(a.prog, "qemu-io");
	n = attr_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1 ENOSPC fsync 1764482467 4242 host1 qemu-io");
	ck_assert_uint_eq(n, strlen(buf));
	attr_parse(buf, n, &b);
	ck_assert(!b.acked);
	ck_assert_int_eq(b.error, ENOSPC);
	ck_assert_int_eq(b.pid, 4242);
	ck_assert_int_eq(b.when_sec, 1764482467);
	ck_assert_str_eq(b.op, "fsync");
	ck_assert_str_eq(b.host, "host1");
	ck_assert_str_eq(b.prog, "qemu-io");
}
END_TEST

/* An acknowledgment names the table it went through, and only that. */
START_TEST(acknowledgment_names_its_table)
{
	struct latch_attr a = {.acked = true, .pid = 7, .when_sec = 5}, b;
	char buf[ATTR_VALUE_MAX];

	attr_ack_op(a.op, sizeof(a.op), 0x3f09a1);
	strcpy(a.host, "h2");
	strcpy(a.prog, "stickysync");
	attr_parse(buf, attr_format(&a, buf, sizeof(buf)), &b);
	ck_assert_str_eq(buf, "1 acked ack-3f09a1 5 7 h2 stickysync");
	ck_assert_uint_eq(attr_ack_table(&b), 0x3f09a1);
	attr_ack_op(a.op, sizeof(a.op), 0);
	ck_assert_str_eq(a.op, "ack");
	ck_assert_uint_eq(attr_ack_table(&a), 0);
	strcpy(a.op, "ack-3f09a");
	ck_assert_uint_eq(attr_ack_table(&a), 0);
	strcpy(a.op, "ack-3f09a1x");
	ck_assert_uint_eq(attr_ack_table(&a), 0);
	strcpy(a.op, "ack-3F09A1");
	ck_assert_uint_eq(attr_ack_table(&a), 0);
	ck_assert_uint_eq(latchtab_id(8, 42) >> 24, 0);
	ck_assert_uint_ne(latchtab_id(8, 42), 0);
}
END_TEST

START_TEST(acknowledgment_round_trips)
{
	struct latch_attr a = {.acked = true, .pid = 7, .when_sec = 5}, b;
	char buf[ATTR_VALUE_MAX];

	strcpy(a.op, "ack");
	strcpy(a.host, "h2");
	strcpy(a.prog, "stickysync");
	attr_parse(buf, attr_format(&a, buf, sizeof(buf)), &b);
	ck_assert_str_eq(buf, "1 acked ack 5 7 h2 stickysync");
	ck_assert(b.acked);
	ck_assert_int_eq(b.error, 0);
}
END_TEST

/* Names with spaces or control bytes cannot split the line into more
 * fields; the whole value stays small enough for the inode. */
START_TEST(fields_cannot_break_the_line)
{
	struct latch_attr a = {.error = EIO, .pid = 1, .when_sec = 1}, b;
	char buf[ATTR_VALUE_MAX];

	strcpy(a.op, "fsync");
	memset(a.host, 'h', sizeof(a.host) - 1);
	a.host[sizeof(a.host) - 1] = '\0';
	strcpy(a.prog, "my prog\n");
	attr_parse(buf, attr_format(&a, buf, sizeof(buf)), &b);
	ck_assert_str_eq(b.prog, "my?prog?");
	ck_assert_uint_eq(strlen(b.host), ATTR_HOST_KEPT);
	/* within ext4's in-inode room with the commonest errors and calls */
	ck_assert_uint_le(strlen(buf), 60);
	strcpy(a.op, "fdatasync");
	strcpy(a.prog, "qemu-system-x86_64");
	a.error = ENOSPC;
	a.pid = 4194304;
	a.when_sec = 1796019163;
	ck_assert_uint_le(attr_format(&a, buf, sizeof(buf)), 60);
}
END_TEST

/* Anything at all on the file is a latch: what cannot be read is EIO. */
START_TEST(malformed_values_still_latch)
{
	static const char *const values[] = {
	    "", "garbage", "2 ENOSPC fsync 1 1 h p", "1 NOSUCHERR", "1 28 fsync x y", "1 ENOSPC"};
	struct latch_attr b;

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		attr_parse(values[i], strlen(values[i]), &b);
		ck_assert_msg(!b.acked, "%s", values[i]);
		ck_assert_msg(b.error != 0, "%s", values[i]);
		ck_assert(b.op[0] && b.host[0] && b.prog[0]);
	}
	attr_parse("1 NOSUCHERR", 11, &b);
	ck_assert_int_eq(b.error, EIO);
	attr_parse("1 EIO fsync 9223372036854775807 1 h p", 37, &b);
	ck_assert_int_eq(b.when_sec, 0); /* would overflow in nanoseconds */
	attr_parse("1 28 fsync x y", 14, &b);
	ck_assert_int_eq(b.error, 28);
	ck_assert_int_eq(b.pid, 0);
}
END_TEST

/* ---- the latch layer, two hosts --------------------------------------- */

static char dir[PATH_MAX - 64], path[PATH_MAX], logpath[PATH_MAX];

static bool have_user_xattrs(void)
{
	char p[PATH_MAX];
	int fd, ok;

	snprintf(p, sizeof(p), "%s/probe", dir);
	fd = open(p, O_RDWR | O_CREAT, 0600);
	ok = fd >= 0 && fsetxattr(fd, "user.probe", "1", 1, 0) == 0;
	if (fd >= 0)
		close(fd);
	unlink(p);
	return ok;
}

/* This process becomes a host whose state folder is DIR/STATE. */
static void become_host(const char *state, bool xattr)
{
	struct options o;

	memset(&o, 0, sizeof(o));
	o.policy = POLICY_STICKY;
	o.state_mode = STATE_DIR;
	snprintf(o.state_dir, sizeof(o.state_dir), "%s/%s", dir, state);
	o.state_capacity = 64;
	o.log_mode = LOG_FILE;
	o.xattr = xattr;
	snprintf(o.log_path, sizeof(o.log_path), "%s", logpath);
	latch_init_with(&o);
}

static void setup(void)
{
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
}

static void teardown(void)
{
	rm_tree(dir);
}

static int open_tracked(void)
{
	uint64_t seq = latch_seq_now();

	return latch_opened(open(path, O_RDWR | O_CREAT, 0600), O_RDWR, seq);
}

static int sync_with(int fd, int err)
{
	errno = err;
	return latch_sync_result(fd, fd_gen(fd), OP_FSYNC, true, err ? -1 : 0);
}

static bool log_has(const char *text)
{
	return file_has(logpath, text);
}

static int file_attr(struct latch_attr *a)
{
	return attr_read_path(path, a);
}

#define NEED_XATTRS()                                                               \
	do {                                                                        \
		if (!have_user_xattrs()) {                                          \
			fprintf(stderr, "SKIP: no user.* attributes in %s\n", dir); \
			return;                                                     \
		}                                                                   \
	} while (0)

START_TEST(a_latch_is_written_on_the_file)
{
	struct latch_attr a;
	int fd;

	NEED_XATTRS();
	become_host("A", true);
	fd = open_tracked();
	ck_assert_int_eq(sync_with(fd, ENOSPC), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(file_attr(&a), 1);
	ck_assert(!a.acked);
	ck_assert_int_eq(a.error, ENOSPC);
	ck_assert_str_eq(a.op, "fsync");
	ck_assert_int_eq(a.pid, getpid());
	ck_assert(!log_has("local only"));
}
END_TEST

START_TEST(another_host_refuses_then_acknowledges_for_both)
{
	struct stickysync_status st;
	struct latch_attr a;
	int fd_a, fd_b, fd_b2, fd_a2;

	NEED_XATTRS();
	become_host("A", true);
	fd_a = open_tracked();
	ck_assert_int_eq(sync_with(fd_a, EIO), -1);

	become_host("B", true); /* knows nothing of A's table */
	fd_b = open_tracked();
	errno = 0;
	ck_assert_int_eq(sync_with(fd_b, 0), -1);
	ck_assert_int_eq(errno, EIO);
	ck_assert(log_has("recorded on the file"));
	ck_assert_int_eq(latch_status_fd(fd_b, &st), 0);
	ck_assert(st.file_latched && !st.fd_latched);
	ck_assert_int_eq(st.error, EIO);
	/* acknowledged on B, through a fresh fd */
	ck_assert_int_eq(latch_acknowledge_fd(fd_b), 0);
	ck_assert_int_eq(file_attr(&a), 1);
	ck_assert(a.acked);
	fd_b2 = open_tracked();
	ck_assert_int_eq(sync_with(fd_b2, 0), 0);

	become_host("A", true); /* its table still says latched */
	fd_a2 = open_tracked();
	ck_assert_int_eq(sync_with(fd_a2, 0), 0);
	ck_assert(log_has("acknowledged on "));
	ck_assert_int_eq(latch_status_fd(fd_a2, &st), 0);
	ck_assert(!st.file_latched && st.acknowledged);
	/* the fd that saw the loss stays latched */
	ck_assert_int_eq(sync_with(fd_a, 0), -1);
}
END_TEST

/* An attribute that vanished (not an acknowledgment) drops no latch. */
START_TEST(a_vanished_attribute_is_not_an_acknowledgment)
{
	int fd;

	NEED_XATTRS();
	become_host("A", true);
	fd = open_tracked();
	ck_assert_int_eq(sync_with(fd, EIO), -1);
	ck_assert_int_eq(removexattr(path, ATTR_NAME), 0);
	become_host("A", true);
	fd = open_tracked();
	ck_assert_int_eq(sync_with(fd, 0), -1);
	ck_assert_int_eq(errno, EIO);
}
END_TEST

/* A relatch whose attribute could not be written is not acknowledged by
 * the acknowledgment of an earlier latch still on the file. */
START_TEST(old_acknowledgment_does_not_clear_a_local_only_relatch)
{
	int fd;

	NEED_XATTRS();
	become_host("A", true);
	fd = open_tracked();
	ck_assert_int_eq(sync_with(fd, EIO), -1);
	close(fd);
	fd = open_tracked();
	ck_assert_int_eq(latch_acknowledge_fd(fd), 0);
	become_host("A", false); /* this loss stays local */
	fd = open_tracked();
	ck_assert_int_eq(sync_with(fd, ENOSPC), -1);
	become_host("A", true);
	fd = open_tracked();
	ck_assert_int_eq(sync_with(fd, 0), -1);
	ck_assert_int_eq(errno, EIO);
}
END_TEST

START_TEST(xattr_off_writes_and_honours_nothing)
{
	struct latch_attr a;
	int fd;

	NEED_XATTRS();
	become_host("A", false);
	fd = open_tracked();
	ck_assert_int_eq(sync_with(fd, EIO), -1);
	ck_assert_int_eq(file_attr(&a), 0);
	ck_assert_int_eq(setxattr(path, ATTR_NAME, "1 EIO fsync 1 1 h p", 19, 0), 0);
	become_host("B", false);
	fd = open_tracked();
	ck_assert_int_eq(sync_with(fd, 0), 0);
}
END_TEST

/* The file cannot take the attribute: the latch holds here, and the
 * report says it is local only. */
START_TEST(a_file_that_cannot_take_it_is_local_only)
{
	int fd;

	become_host("A", true);
	fd = open_tracked();
	/* an fd the kernel refuses attributes on stands for such a file */
	ck_assert_int_eq(close(fd), 0);
	fd = latch_opened(open("/proc/self/status", O_RDONLY), O_RDONLY, latch_seq_now());
	ck_assert_int_eq(sync_with(fd, EIO), -1);
	ck_assert(log_has("the latch is local only (user.stickysync not written: "));
	ck_assert_int_eq(sync_with(fd, 0), -1);
}
END_TEST

Suite *attr_suite(void)
{
	Suite *s = suite_create("attr");
	TCase *tc = tcase_create("value");
	TCase *hosts = tcase_create("hosts");

	tcase_add_test(tc, value_round_trips);
	tcase_add_test(tc, acknowledgment_round_trips);
	tcase_add_test(tc, acknowledgment_names_its_table);
	tcase_add_test(tc, fields_cannot_break_the_line);
	tcase_add_test(tc, malformed_values_still_latch);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(hosts, setup, teardown);
	tcase_add_test(hosts, a_latch_is_written_on_the_file);
	tcase_add_test(hosts, another_host_refuses_then_acknowledges_for_both);
	tcase_add_test(hosts, a_vanished_attribute_is_not_an_acknowledgment);
	tcase_add_test(hosts, old_acknowledgment_does_not_clear_a_local_only_relatch);
	tcase_add_test(hosts, xattr_off_writes_and_honours_nothing);
	tcase_add_test(hosts, a_file_that_cannot_take_it_is_local_only);
	suite_add_tcase(s, hosts);
	return s;
}
