/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * io_uring rings (ring.h) on a fake ring in memory: SQE classification and
 * rewriting, the table of syncs in flight, and the two scans driven as the
 * liburing wrappers drive them, with the real latch behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if __has_include(<liburing.h>)
#include <liburing.h>
#define HAVE_LIBURING 1
#endif

#include "latch.h"
#include "ring.h"
#include "suites.h"

/* ---- the ABI read from the program's struct io_uring ---------------------- */

#ifdef HAVE_LIBURING
#define SAME(field) offsetof(struct io_uring, field) == offsetof(struct ring_abi, field)
_Static_assert(SAME(sq.khead) && SAME(sq.ktail) && SAME(sq.kring_mask) && SAME(sq.kring_entries) &&
		   SAME(sq.sqes) && SAME(sq.sqe_head) && SAME(sq.sqe_tail),
	       "struct io_uring_sq as liburing.h has it");
_Static_assert(SAME(cq.khead) && SAME(cq.ktail) && SAME(cq.kring_mask) && SAME(cq.kring_entries) &&
		   SAME(cq.cqes),
	       "struct io_uring_cq as liburing.h has it");
_Static_assert(SAME(flags) && SAME(ring_fd) && sizeof(struct io_uring) == sizeof(struct ring_abi),
	       "struct io_uring as liburing.h has it");
#endif

/* ---- a fake ring ---------------------------------------------------------- */

#define ENTRIES 8u

static struct fake {
	struct ring_abi abi;
	struct io_uring_sqe sqes[ENTRIES];
	struct io_uring_cqe cqes[ENTRIES * 2];
	unsigned sq_khead, sq_ktail, sq_mask, sq_entries;
	unsigned cq_khead, cq_ktail, cq_mask, cq_entries;
} fr;

static char dir[PATH_MAX - 64], path[PATH_MAX], path2[PATH_MAX], logpath[PATH_MAX];

static void fake_init(uint32_t cq_start)
{
	memset(&fr, 0, sizeof(fr));
	fr.sq_mask = ENTRIES - 1;
	fr.sq_entries = ENTRIES;
	fr.cq_mask = ENTRIES * 2 - 1;
	fr.cq_entries = ENTRIES * 2;
	fr.cq_khead = fr.cq_ktail = cq_start;
	fr.abi.sq.khead = &fr.sq_khead;
	fr.abi.sq.ktail = &fr.sq_ktail;
	fr.abi.sq.kring_mask = &fr.sq_mask;
	fr.abi.sq.kring_entries = &fr.sq_entries;
	fr.abi.sq.sqes = fr.sqes;
	fr.abi.cq.khead = &fr.cq_khead;
	fr.abi.cq.ktail = &fr.cq_ktail;
	fr.abi.cq.kring_mask = &fr.cq_mask;
	fr.abi.cq.kring_entries = &fr.cq_entries;
	fr.abi.cq.cqes = fr.cqes;
	fr.abi.ring_fd = 99;
}

/* liburing's inline get_sqe + prep: the SQE is prepared, not published. */
static struct io_uring_sqe *prep(uint8_t opcode, int fd, uint64_t user_data)
{
	struct io_uring_sqe *sqe = &fr.sqes[fr.abi.sq.sqe_tail++ & fr.sq_mask];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = opcode;
	sqe->fd = fd;
	sqe->user_data = user_data;
	return sqe;
}

/* An interposed submit: scans, then "publishes" as liburing does. */
static void submit(void)
{
	struct ring_call c;

	ck_assert(ring_call_begin(&c, &fr.abi, true));
	fr.abi.sq.sqe_head = fr.abi.sq.sqe_tail;
	ring_call_end(&c);
}

/* The kernel posts a completion. */
static void complete(uint64_t user_data, int res)
{
	struct io_uring_cqe *cqe = &fr.cqes[fr.cq_ktail & fr.cq_mask];

	cqe->user_data = user_data;
	cqe->res = res;
	__atomic_store_n(&fr.cq_ktail, fr.cq_ktail + 1, __ATOMIC_RELEASE);
}

/* The program consumes every completion inline (io_uring_cqe_seen). */
static void consume(void)
{
	fr.cq_khead = fr.cq_ktail;
}

static void start(enum policy policy)
{
	struct options o;

	memset(&o, 0, sizeof(o));
	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(path2, sizeof(path2), "%s/g", dir);
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	o.policy = policy;
	o.state_mode = STATE_OFF;
	o.state_capacity = 64;
	o.log_mode = LOG_FILE;
	snprintf(o.log_path, sizeof(o.log_path), "%s", logpath);
	latch_init_with(&o);
	ring_set_nop_inject(true);
	fake_init(0);
}

static void setup(void)
{
	start(POLICY_STICKY);
}

static void teardown(void)
{
	rm_tree(dir);
}

static int open_tracked(const char *p)
{
	uint64_t seq = latch_seq_now();

	return latch_opened(open(p, O_RDWR | O_CREAT, 0600), O_RDWR, seq);
}

static bool log_has(const char *text)
{
	return file_has(logpath, text);
}

static int log_count(const char *text)
{
	char buf[8192];
	FILE *f = fopen(logpath, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	int count = 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	for (char *at = buf; (at = strstr(at, text)); at++)
		count++;
	return count;
}

/* A libc fsync that succeeded on fd: does the latch refuse it? */
static bool latched(int fd)
{
	return latch_sync_result(fd, fd_gen(fd), OP_FSYNC, true, 0) < 0;
}

static bool is_eio_nop(const struct io_uring_sqe *sqe, uint64_t user_data)
{
	return sqe->opcode == IORING_OP_NOP && sqe->rw_flags == IORING_NOP_INJECT_RESULT &&
	       (int)sqe->len == -EIO && sqe->user_data == user_data;
}

/* ---- classification and rewriting ------------------------------------------ */

START_TEST(classify_sync_family)
{
	struct io_uring_sqe sqe = {0};
	struct ring_sqe_info in;

	sqe.opcode = IORING_OP_FSYNC;
	ck_assert_int_eq(ring_classify(&sqe, false, &in), RK_SYNC);
	ck_assert_int_eq(in.op, OP_FSYNC);
	sqe.fsync_flags = IORING_FSYNC_DATASYNC;
	ring_classify(&sqe, false, &in);
	ck_assert_int_eq(in.op, OP_FDATASYNC);
	sqe.opcode = IORING_OP_SYNC_FILE_RANGE;
	ck_assert_int_eq(ring_classify(&sqe, false, &in), RK_SYNC);
	ck_assert_int_eq(in.op, OP_SYNC_FILE_RANGE);
	sqe.rw_flags = 0;
	sqe.opcode = IORING_OP_WRITE;
	sqe.fd = -1;
	ck_assert_int_eq(ring_classify(&sqe, false, &in), RK_NONE);
	ck_assert_int_eq(ring_classify(&sqe, true, &in), RK_IO);
	sqe.rw_flags = RWF_DSYNC;
	ck_assert_int_eq(ring_classify(&sqe, false, &in), RK_SYNC_WRITE);
	sqe.opcode = IORING_OP_WRITEV;
	sqe.rw_flags = RWF_SYNC;
	ck_assert_int_eq(ring_classify(&sqe, false, &in), RK_SYNC_WRITE);
	ck_assert_int_eq(in.op, OP_PWRITEV);
	sqe.opcode = IORING_OP_READ;
	sqe.rw_flags = 0;
	ck_assert_int_eq(ring_classify(&sqe, false, &in), RK_NONE);
	ck_assert_int_eq(ring_classify(&sqe, true, &in), RK_IO);
	sqe.opcode = IORING_OP_NOP;
	ck_assert_int_eq(ring_classify(&sqe, true, &in), RK_NONE);
	sqe.opcode = IORING_OP_FSYNC;
	sqe.flags = IOSQE_FIXED_FILE;
	sqe.fd = 3;
	ring_classify(&sqe, false, &in);
	ck_assert(in.fixed);
	ck_assert_int_eq(in.fd, 3);
}
END_TEST

START_TEST(write_on_dsync_fd_is_a_sync)
{
	uint64_t seq = latch_seq_now();
	int fd = latch_opened(open(path, O_RDWR | O_CREAT | O_DSYNC, 0600), O_RDWR | O_DSYNC, seq);
	struct io_uring_sqe sqe = {.opcode = IORING_OP_WRITE, .fd = fd};
	struct ring_sqe_info in;

	ck_assert_int_eq(ring_classify(&sqe, false, &in), RK_SYNC_WRITE);
	sqe.flags = IOSQE_FIXED_FILE; /* a slot number, not this fd */
	ck_assert_int_eq(ring_classify(&sqe, false, &in), RK_NONE);
}
END_TEST

START_TEST(rewrite_keeps_user_data_and_links)
{
	struct io_uring_sqe sqe = {.opcode = IORING_OP_FSYNC,
				   .flags = IOSQE_FIXED_FILE | IOSQE_IO_LINK | IOSQE_BUFFER_SELECT,
				   .fd = 5,
				   .user_data = 0xfeedull,
				   .personality = 7};

	ring_rewrite(&sqe, EIO, true);
	ck_assert(is_eio_nop(&sqe, 0xfeed));
	ck_assert_int_eq(sqe.flags, IOSQE_IO_LINK);
	ck_assert_int_eq(sqe.personality, 7);
	ck_assert_int_eq(sqe.fd, 0);
	/* a kernel without result injection: an fsync of no file (EBADF) */
	sqe.flags = IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;
	ring_rewrite(&sqe, EIO, false);
	ck_assert_int_eq(sqe.opcode, IORING_OP_FSYNC);
	ck_assert_int_eq(sqe.fd, -1);
	ck_assert_int_eq(sqe.flags, IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS);
	ck_assert(sqe.user_data == 0xfeed);
}
END_TEST

START_TEST(probe_answers_on_this_kernel)
{
	/* Whatever the answer, it must come back, and twice the same. */
	bool a = ring_probe_nop_inject();

	ck_assert_int_eq(ring_probe_nop_inject(), a);
}
END_TEST

/* ---- syncs in flight ------------------------------------------------------- */

START_TEST(inflight_matches_oldest_first_and_survives_deletes)
{
	static struct inflight_table t;
	struct inflight p = {0}, out;
	int model[64] = {0};

	for (int i = 0; i < 3; i++) {
		p.tag = 7;
		p.fd = i;
		ck_assert(inflight_add(&t, &p));
	}
	ck_assert(inflight_take(&t, 7, &out));
	ck_assert_int_eq(out.fd, 0);
	ck_assert(inflight_take(&t, 7, &out));
	ck_assert_int_eq(out.fd, 1);
	ck_assert(inflight_take(&t, 7, &out));
	ck_assert(!inflight_take(&t, 7, &out));
	/* random adds and takes, against a count per tag */
	srand(1);
	for (int i = 0; i < 20000; i++) {
		uint64_t tag = (uint64_t)(rand() % 64) << 20;

		if (rand() % 2 && t.n < 150) {
			p.tag = tag;
			ck_assert(inflight_add(&t, &p));
			model[tag >> 20]++;
		} else {
			ck_assert_int_eq(inflight_take(&t, tag, &out), model[tag >> 20] > 0);
			if (model[tag >> 20])
				model[tag >> 20]--;
		}
	}
}
END_TEST

START_TEST(inflight_full_drops_skip_success_first)
{
	static struct inflight_table t;
	struct inflight p = {0}, out;
	int limit = INFLIGHT_SLOTS * 3 / 4;

	for (p.tag = 0; p.tag < (uint64_t)limit; p.tag++) {
		p.skip_success = p.tag >= 100;
		ck_assert(inflight_add(&t, &p));
	}
	p.skip_success = false;
	ck_assert(inflight_add(&t, &p)); /* room made by dropping the skipping ones */
	ck_assert_int_eq(t.n, 101);
	while (inflight_add(&t, &p))
		;
	ck_assert_int_eq(t.n, limit);
	ck_assert(inflight_take(&t, 99, &out));
	ck_assert(!inflight_take(&t, 100, &out));
}
END_TEST

/* ---- the scans ------------------------------------------------------------- */

START_TEST(failed_completion_latches_and_next_sync_becomes_eio_nop)
{
	int fd = open_tracked(path);

	prep(IORING_OP_FSYNC, fd, 41);
	submit();
	complete(41, -ENOSPC);
	consume(); /* the program saw it, inline */
	ck_assert(!latched(fd));
	prep(IORING_OP_FSYNC, fd, 42);
	submit(); /* reads the completion back first, then the new SQE */
	ck_assert(log_has("fsync(fd "));
	ck_assert(log_has("failed: ENOSPC"));
	ck_assert(is_eio_nop(&fr.sqes[1], 42));
	ck_assert(latched(fd));
}
END_TEST

START_TEST(successful_and_unrelated_completions_latch_nothing)
{
	int fd = open_tracked(path);

	prep(IORING_OP_FSYNC, fd, 1);
	prep(IORING_OP_NOP, -1, 2);
	prep(IORING_OP_FSYNC, fd, 3);
	submit();
	complete(2, -EIO); /* not a sync */
	complete(1, 0);
	complete(3, -ECANCELED); /* a broken link: says nothing of the data */
	prep(IORING_OP_FSYNC, fd, 4);
	submit();
	ck_assert_int_eq(fr.sqes[3].opcode, IORING_OP_FSYNC);
	ck_assert(!latched(fd));
}
END_TEST

START_TEST(registered_file_resolves_through_its_slot)
{
	int fd = open_tracked(path), other = open_tracked(path2), fds[2] = {other, fd};
	struct io_uring_sqe *sqe;

	ring_attach(&fr.abi);
	ring_files_update(&fr.abi, 0, fds, 2, true);
	close(fd); /* the slot keeps the file */
	sqe = prep(IORING_OP_FSYNC, 1, 9);
	sqe->flags = IOSQE_FIXED_FILE;
	submit();
	complete(9, -EIO);
	sqe = prep(IORING_OP_FSYNC, 1, 10);
	sqe->flags = IOSQE_FIXED_FILE | IOSQE_IO_LINK;
	submit();
	ck_assert(is_eio_nop(sqe, 10));
	ck_assert_int_eq(sqe->flags, IOSQE_IO_LINK);
	fd = open_tracked(path);
	ck_assert(latched(fd));
	/* slot 0 is another file */
	sqe = prep(IORING_OP_FSYNC, 0, 11);
	sqe->flags = IOSQE_FIXED_FILE;
	submit();
	ck_assert_int_eq(sqe->opcode, IORING_OP_FSYNC);
}
END_TEST

START_TEST(completion_counters_wrap)
{
	int fd = open_tracked(path);

	fake_init(UINT32_MAX - 2);
	for (uint64_t i = 0; i < 5; i++) {
		prep(IORING_OP_NOP, -1, 100 + i);
		submit();
		complete(100 + i, 0);
		consume();
	}
	prep(IORING_OP_FSYNC, fd, 7);
	submit();
	complete(7, -EIO);
	consume();
	ck_assert_uint_lt(fr.cq_ktail, 10); /* the counter went round */
	prep(IORING_OP_FSYNC, fd, 8);
	submit();
	ck_assert(is_eio_nop(&fr.sqes[6], 8));
}
END_TEST

START_TEST(overrun_is_reported_and_the_newest_are_read)
{
	int fd = open_tracked(path);

	prep(IORING_OP_FSYNC, fd, 5);
	submit();
	for (uint64_t i = 0; i < ENTRIES * 2 + 3; i++)
		complete(1000 + i, 0);
	complete(5, -EIO);
	consume();
	prep(IORING_OP_FSYNC, fd, 6);
	submit();
	ck_assert(log_has("more completions than the ring holds"));
	ck_assert(is_eio_nop(&fr.sqes[1], 6));
}
END_TEST

START_TEST(sqes_scanned_without_publishing_are_not_scanned_twice)
{
	int fd = open_tracked(path);
	struct ring_call c;

	prep(IORING_OP_FSYNC, fd, 1);
	ck_assert(ring_call_begin(&c, &fr.abi, true)); /* a wait that did not publish */
	ring_call_end(&c);
	submit();
	complete(1, -EIO);
	complete(1, -EIO); /* only one sync of that tag is in flight */
	submit();
	ck_assert(latched(fd));
	/* one latch: a second sync in flight would have been reported again */
	ck_assert_int_eq(log_count("failed: EIO"), 1);
}
END_TEST

START_TEST(inner_calls_pass_through)
{
	struct ring_call outer, inner;

	ck_assert(ring_call_begin(&outer, &fr.abi, true));
	ck_assert(!ring_call_begin(&inner, &fr.abi, true));
	ring_call_end(&outer);
	ck_assert_int_eq(ring_depth, 0);
}
END_TEST

START_TEST(injection_fallback_fails_with_ebadf_and_says_so)
{
	int fd = open_tracked(path), other = open_tracked(path2);

	ring_set_nop_inject(false);
	errno = EIO;
	latch_sync_result(other, fd_gen(other), OP_FSYNC, true, -1);
	prep(IORING_OP_FSYNC, other, 1);
	prep(IORING_OP_FSYNC, fd, 2);
	submit();
	ck_assert_int_eq(fr.sqes[0].opcode, IORING_OP_FSYNC);
	ck_assert_int_eq(fr.sqes[0].fd, -1);
	ck_assert_int_eq(fr.sqes[1].fd, fd);
	ck_assert(log_has("cannot set a NOP's result"));
}
END_TEST

START_TEST(observe_reports_and_changes_nothing)
{
	int fd;

	teardown();
	start(POLICY_OBSERVE);
	fd = open_tracked(path);
	prep(IORING_OP_FSYNC, fd, 1);
	submit();
	complete(1, -EIO);
	prep(IORING_OP_FSYNC, fd, 2);
	submit();
	ck_assert_int_eq(fr.sqes[1].opcode, IORING_OP_FSYNC);
	ck_assert(log_has("succeeded after an earlier failure"));
}
END_TEST

Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, classify_sync_family);
	tcase_add_test(tc, write_on_dsync_fd_is_a_sync);
	tcase_add_test(tc, rewrite_keeps_user_data_and_links);
	tcase_add_test(tc, probe_answers_on_this_kernel);
	tcase_add_test(tc, inflight_matches_oldest_first_and_survives_deletes);
	tcase_add_test(tc, inflight_full_drops_skip_success_first);
	tcase_add_test(tc, failed_completion_latches_and_next_sync_becomes_eio_nop);
	tcase_add_test(tc, successful_and_unrelated_completions_latch_nothing);
	tcase_add_test(tc, registered_file_resolves_through_its_slot);
	tcase_add_test(tc, completion_counters_wrap);
	tcase_add_test(tc, overrun_is_reported_and_the_newest_are_read);
	tcase_add_test(tc, sqes_scanned_without_publishing_are_not_scanned_twice);
	tcase_add_test(tc, inner_calls_pass_through);
	tcase_add_test(tc, injection_fallback_fails_with_ebadf_and_says_so);
	tcase_add_test(tc, observe_reports_and_changes_nothing);
	suite_add_tcase(s, tc);
	return s;
}
