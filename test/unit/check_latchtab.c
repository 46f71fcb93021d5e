/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "latchtab.h"
#include "suites.h"

static struct latchtab t;
static struct latch_record rec;
static void *mem;

static void setup(void)
{
	size_t len = latchtab_bytes(16);

	mem = calloc(1, len);
	latchtab_format(mem, 16);
	ck_assert_int_eq(latchtab_attach(&t, mem, len), 0);
}

static void teardown(void)
{
	free(mem);
}

static struct latch_event event(uint64_t ino, int err)
{
	struct latch_event ev = {
	    .error = err, .op = "fsync", .path = "/x", .prog = "t", .pid = getpid()};

	ev.key.kind = KEY_FILE;
	ev.key.ino = ino;
	ev.key.btime_sec = (int64_t)ino * 7;
	ev.key.flags = KEYF_BTIME;
	return ev;
}

START_TEST(latch_then_lookup)
{
	struct latch_event ev = event(42, 28);
	struct latch_view v;

	ck_assert(!latchtab_any_live(&t));
	ck_assert_int_eq(latchtab_latch(&t, &ev, 5), 1);
	ck_assert(latchtab_any_active(&t));
	latchtab_lookup(&t, &ev.key, &v);
	ck_assert(v.found && v.active);
	ck_assert_uint_eq(v.latch_seq, 5);
	ck_assert(latchtab_view_record(&v, &rec));
	ck_assert_int_eq(rec.error, 28);
	ck_assert_str_eq(rec.op, "fsync");
}
END_TEST

static int64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What a time-stamped fd is compared with: the monotonic time of the
 * latest latch in this boot; before every such fd if the latch is from
 * another boot; after every one if the boot is unknown. */
START_TEST(latch_time_is_read_in_its_boot)
{
	struct latch_event ev = event(42, 28);
	struct latch_view v;
	int64_t before, between, after;

	t.boot = 7;
	before = mono_now();
	ck_assert_int_eq(latchtab_latch(&t, &ev, 5), 1);
	between = mono_now();
	latchtab_lookup(&t, &ev.key, &v);
	ck_assert(v.latch_mono >= before && v.latch_mono <= between + 1000);
	ck_assert(latchtab_acknowledge(&t, &ev.key, 5, 6, 0, NULL) == 1);
	ck_assert_int_eq(latchtab_latch(&t, &ev, 7), 1); /* relatched later */
	after = mono_now();
	latchtab_lookup(&t, &ev.key, &v);
	ck_assert(v.latch_mono >= between && v.latch_mono <= after + 1000);
	t.boot = 8; /* the next boot reads it as older than anything */
	latchtab_lookup(&t, &ev.key, &v);
	ck_assert(v.found && v.latch_mono == INT64_MIN);
	ck_assert(latchtab_dev_active(&t, ev.key.dev, &v) && v.latch_mono == INT64_MIN);
	t.boot = 0; /* unknown: newer than anything */
	latchtab_lookup(&t, &ev.key, &v);
	ck_assert(v.latch_mono == INT64_MAX);
	t.boot = 8; /* a latch in the new boot restarts the time */
	ck_assert_int_eq(latchtab_latch(&t, &ev, 9), 0);
	latchtab_lookup(&t, &ev.key, &v);
	ck_assert(v.latch_mono >= after && v.latch_mono <= mono_now() + 1000);
}
END_TEST

START_TEST(second_latch_keeps_first_error)
{
	struct latch_event a = event(42, 28), b = event(42, 5);
	struct latch_view v;

	ck_assert_int_eq(latchtab_latch(&t, &a, 5), 1);
	ck_assert_int_eq(latchtab_latch(&t, &b, 6), 0);
	latchtab_lookup(&t, &a.key, &v);
	ck_assert(latchtab_view_record(&v, &rec));
	ck_assert_int_eq(rec.error, 28);
	/* the later loss counts for fds opened between the two */
	ck_assert_uint_eq(v.latch_seq, 6);
}
END_TEST

START_TEST(other_keys_do_not_match)
{
	struct latch_event a = event(42, 5), b = event(43, 5);
	struct latch_view v;

	latchtab_latch(&t, &a, 2);
	latchtab_lookup(&t, &b.key, &v);
	ck_assert(!v.found);
	/* same inode, other birth time: a recreated file */
	b = event(42, 5);
	b.key.btime_sec++;
	latchtab_lookup(&t, &b.key, &v);
	ck_assert(!v.found);
}
END_TEST

START_TEST(acknowledge_then_relatch)
{
	struct latch_event a = event(9, 5);
	struct latch_view v;

	latchtab_latch(&t, &a, 3);
	ck_assert_int_eq(latchtab_acknowledge(&t, &a.key, 3, 4, 100, NULL), 1);
	ck_assert(!latchtab_any_active(&t));
	ck_assert(latchtab_any_live(&t));
	latchtab_lookup(&t, &a.key, &v);
	ck_assert(v.found && !v.active);
	ck_assert(latchtab_view_record(&v, &rec));
	ck_assert_uint_eq(rec.ack_seq, 4);
	ck_assert_int_eq(latchtab_acknowledge(&t, &a.key, 3, 5, 100, NULL), 0);
	/* a new failure reuses the record with the later sequence number */
	ck_assert_int_eq(latchtab_latch(&t, &a, 7), 1);
	latchtab_lookup(&t, &a.key, &v);
	ck_assert(v.active);
	ck_assert_uint_eq(v.latch_seq, 7);
}
END_TEST

START_TEST(full_table_refuses)
{
	for (uint64_t i = 1; i <= 16; i++) {
		struct latch_event ev = event(i, 5);

		ck_assert_int_eq(latchtab_latch(&t, &ev, i), 1);
	}
	struct latch_event ev = event(99, 5);
	ck_assert_int_eq(latchtab_latch(&t, &ev, 99), -1);
	/* everything stored is still found */
	for (uint64_t i = 1; i <= 16; i++) {
		struct latch_event e = event(i, 5);
		struct latch_view v;

		latchtab_lookup(&t, &e.key, &v);
		ck_assert(v.active);
	}
}
END_TEST

static bool gone_odd(const struct latch_record *r, void *arg)
{
	(void)arg;
	return r->key.ino % 2 == 1;
}

START_TEST(prune_removes_and_frees_slots)
{
	for (uint64_t i = 1; i <= 16; i++) {
		struct latch_event ev = event(i, 5);

		latchtab_latch(&t, &ev, i);
	}
	ck_assert_int_eq(latchtab_prune(&t, gone_odd, NULL), 8);
	ck_assert_uint_eq(t.hdr->active, 8);
	ck_assert_uint_eq(t.hdr->live, 8);
	struct latch_event ev = event(100, 5);
	ck_assert_int_eq(latchtab_latch(&t, &ev, 100), 1);
	/* even keys probe past the dead slots */
	for (uint64_t i = 2; i <= 16; i += 2) {
		struct latch_event e = event(i, 5);
		struct latch_view v;

		latchtab_lookup(&t, &e.key, &v);
		ck_assert(v.active);
	}
}
END_TEST

/* A writer killed while it held a record BUSY leaves no corruption: readers
 * skip the record, and pruning reclaims it once the pid is gone. */
START_TEST(busy_record_of_dead_process_is_reclaimed)
{
	struct latch_event ev = event(5, 5);
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	ck_assert_int_gt(pid, 0);
	waitpid(pid, NULL, 0);
	/* as left by that pid, killed between claiming and publishing */
	t.rec[0].state = SLOT_BUSY | ((uint64_t)pid << 32);
	t.rec[0].key = ev.key;
	struct latch_view v;
	latchtab_lookup(&t, &ev.key, &v);
	ck_assert(!v.found);
	ck_assert_int_eq(latchtab_prune(&t, gone_odd, NULL), 1);
	ck_assert_uint_eq(t.rec[0].state & 0xff, SLOT_DEAD);
}
END_TEST

/* An owner that only looks dead (another pid namespace) and claimed its
 * record just now keeps it: it is still writing. */
START_TEST(recent_busy_record_is_not_reclaimed)
{
	struct timespec now;
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &now);
	t.rec[0].state = SLOT_BUSY | ((uint64_t)pid << 32);
	t.rec[0].claim_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	ck_assert_int_eq(latchtab_prune(&t, gone_odd, NULL), 0);
	ck_assert_uint_eq(t.rec[0].state & 0xff, SLOT_BUSY);
}
END_TEST

/* Lookups racing with acknowledgments and relatches never miss the key. */
static void *ack_relatch_loop(void *arg)
{
	struct latch_event ev = event(42, 5);

	(void)arg;
	for (uint64_t i = 0; i < 200000; i++) {
		latchtab_acknowledge(&t, &ev.key, UINT64_MAX, 2 * i + 10, 0, NULL);
		latchtab_latch(&t, &ev, 2 * i + 11);
	}
	return NULL;
}

START_TEST(lookups_never_miss_during_ack_and_relatch)
{
	struct latch_event ev = event(42, 5);
	pthread_t th;
	long missed = 0;

	latchtab_latch(&t, &ev, 1);
	pthread_create(&th, NULL, ack_relatch_loop, NULL);
	for (int i = 0; i < 400000; i++) {
		struct latch_view v;

		latchtab_lookup(&t, &ev.key, &v);
		missed += !v.found;
	}
	pthread_join(th, NULL);
	ck_assert_int_eq(missed, 0);
}
END_TEST

/* An acknowledgment covers only the losses its caller knew of. */
START_TEST(acknowledgment_leaves_a_newer_loss_latched)
{
	struct latch_event a = event(9, 5);
	struct latch_view v;
	bool newer = false;

	latchtab_latch(&t, &a, 3);
	ck_assert_int_eq(latchtab_acknowledge(&t, &a.key, 2, 4, 100, &newer), 0);
	ck_assert(newer);
	latchtab_lookup(&t, &a.key, &v);
	ck_assert(v.active);
	latchtab_latch(&t, &a, 6); /* a repeated failure raises the sequence */
	newer = false;
	ck_assert_int_eq(latchtab_acknowledge(&t, &a.key, 3, 7, 100, &newer), 0);
	ck_assert(newer);
	ck_assert_int_eq(latchtab_acknowledge(&t, &a.key, 6, 8, 100, &newer), 1);
}
END_TEST

/*
 * Failures racing acknowledgments: a loss is published to the acknowledger
 * only after it latched, so between the two the record must stay ACTIVE
 * whatever the acknowledger does.  Seeing it ACKED there is a loss
 * acknowledged unseen.
 */
static uint64_t published;
static volatile int racing;

static void *acknowledger(void *arg)
{
	struct latch_event ev = event(43, 5);

	(void)arg;
	while (racing)
		latchtab_acknowledge(&t, &ev.key, __atomic_load_n(&published, __ATOMIC_ACQUIRE), 0,
				     0, NULL);
	return NULL;
}

START_TEST(acknowledgment_never_swallows_a_racing_failure)
{
	struct latch_event ev = event(43, 5);
	long swallowed = 0;
	pthread_t th;

	racing = 1;
	pthread_create(&th, NULL, acknowledger, NULL);
	for (uint64_t s = 1; s <= 300000; s++) {
		struct latch_view v;

		latchtab_latch(&t, &ev, s);
		latchtab_lookup(&t, &ev.key, &v);
		swallowed += !v.active;
		__atomic_store_n(&published, s, __ATOMIC_RELEASE);
	}
	racing = 0;
	pthread_join(th, NULL);
	ck_assert_int_eq(swallowed, 0);
}
END_TEST

START_TEST(attach_rejects_foreign_memory)
{
	char junk[4096];
	struct latchtab other;

	memset(junk, 'x', sizeof(junk));
	ck_assert_int_eq(latchtab_attach(&other, junk, sizeof(junk)), -1);
	/* a valid header that claims more records than the region holds */
	ck_assert_int_eq(latchtab_attach(&other, mem, latchtab_bytes(16) - 1), -1);
}
END_TEST

START_TEST(dev_active_finds_files_and_filesystems)
{
	struct latch_event ev = event(5, 5);
	struct latch_view v;

	ev.key.dev = 77;
	latchtab_latch(&t, &ev, 1);
	ck_assert(latchtab_dev_active(&t, 77, &v));
	ck_assert(latchtab_view_record(&v, &rec));
	ck_assert_uint_eq(rec.key.ino, 5);
	ck_assert(!latchtab_dev_active(&t, 78, NULL));
	latchtab_acknowledge(&t, &ev.key, 1, 2, 0, NULL);
	ck_assert(!latchtab_dev_active(&t, 77, NULL));
}
END_TEST

/* A filesystem latch keyed by UUID is found on the filesystem's new
 * device number, and acknowledged through a key made there. */
START_TEST(filesystem_latch_follows_its_uuid)
{
	struct latch_event ev = event(5, 5);
	struct file_key moved;
	struct latch_view v;

	memset(&ev.key, 0, sizeof(ev.key));
	ev.key.kind = KEY_FS;
	ev.key.dev = 77;
	ev.key.ino = 0xabcdef;
	ev.key.btime_sec = 42;
	ev.key.flags = KEYF_FSUUID;
	ck_assert_int_eq(latchtab_latch(&t, &ev, 1), 1);
	moved = ev.key;
	moved.dev = 99;
	ck_assert(latchtab_fs_active(&t, &moved, &v));
	latchtab_lookup(&t, &moved, &v);
	ck_assert(v.found && v.active);
	moved.btime_sec = 43; /* another filesystem */
	ck_assert(!latchtab_fs_active(&t, &moved, NULL));
	moved.btime_sec = 42;
	ck_assert_int_eq(latchtab_acknowledge(&t, &moved, 1, 2, 0, NULL), 1);
	ck_assert(!latchtab_fs_active(&t, &ev.key, NULL));
}
END_TEST

Suite *latchtab_suite(void)
{
	Suite *s = suite_create("latchtab");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, latch_then_lookup);
	tcase_add_test(tc, latch_time_is_read_in_its_boot);
	tcase_add_test(tc, second_latch_keeps_first_error);
	tcase_add_test(tc, other_keys_do_not_match);
	tcase_add_test(tc, acknowledge_then_relatch);
	tcase_add_test(tc, full_table_refuses);
	tcase_add_test(tc, prune_removes_and_frees_slots);
	tcase_add_test(tc, busy_record_of_dead_process_is_reclaimed);
	tcase_add_test(tc, recent_busy_record_is_not_reclaimed);
	tcase_add_test(tc, lookups_never_miss_during_ack_and_relatch);
	tcase_add_test(tc, acknowledgment_leaves_a_newer_loss_latched);
	tcase_add_test(tc, acknowledgment_never_swallows_a_racing_failure);
	tcase_add_test(tc, attach_rejects_foreign_memory);
	tcase_add_test(tc, dev_active_finds_files_and_filesystems);
	tcase_add_test(tc, filesystem_latch_follows_its_uuid);
	suite_add_tcase(s, tc);
	return s;
}
