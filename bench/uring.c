/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Benchmark harness for io_uring through liburing: one ring, one file on
 * tmpfs, one operation in a loop, in bench_loop() so that callgrind counts
 * it alone (as bench/harness.c does).
 *
 *   uring OP ITERATIONS
 *
 * OP, per iteration, each SQE prepared with liburing's inline functions:
 *   ring_nop1    one NOP, io_uring_submit_and_wait for it, reaped inline
 *                (io_uring_wait_cqe finds it ready: no library call)
 *   ring_nop32   32 NOPs, the same
 *   ring_reap    one NOP, io_uring_submit, reaped with
 *                io_uring_peek_batch_cqe (a library call)
 *   ring_fsync1  one IORING_OP_FSYNC, the same as ring_nop1
 *   ring_w31f1   31 buffered 1-byte writes and an fsync, the same
 * Waiting inside the submit call keeps the count of calls into liburing,
 * and so the count of instructions, independent of how fast the kernel
 * completes.
 *
 * Output: one line of key=value pairs, like bench/harness.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop_mark.h"

enum op { NOP1, NOP32, REAP, FSYNC1, W31F1 };
static const char *const names[] = {"ring_nop1", "ring_nop32", "ring_reap", "ring_fsync1",
				    "ring_w31f1"};

static struct io_uring ring;
static int fd;
static char byte = 'x';

static void die(const char *what, int err)
{
	fprintf(stderr, "uring: %s: %s\n", what, strerror(err));
	exit(2);
}

/* n completions, reaped inline; the failures among them. */
static long reap_inline(int n)
{
	struct io_uring_cqe *cqe;
	long failures = 0;

	for (int i = 0; i < n; i++) {
		if (io_uring_wait_cqe(&ring, &cqe) != 0)
			return failures + 1;
		failures += cqe->res < 0;
		io_uring_cqe_seen(&ring, cqe);
	}
	return failures;
}

static long reap_batch(void)
{
	struct io_uring_cqe *cqe;
	unsigned n;

	while (!(n = io_uring_peek_batch_cqe(&ring, &cqe, 1)))
		;
	io_uring_cq_advance(&ring, n);
	return cqe->res < 0;
}

static long one(enum op op)
{
	int n = op == NOP32 || op == W31F1 ? 32 : 1;

	for (int i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		if (op == FSYNC1 || (op == W31F1 && i == n - 1))
			io_uring_prep_fsync(sqe, fd, 0);
		else if (op == W31F1)
			io_uring_prep_write(sqe, fd, &byte, 1, (uint64_t)i);
		else
			io_uring_prep_nop(sqe);
		/* as programs do: a completion names its request */
		io_uring_sqe_set_data64(sqe, (uint64_t)i + 1);
	}
	if ((op == REAP ? io_uring_submit(&ring) : io_uring_submit_and_wait(&ring, n)) != n)
		return 1;
	return op == REAP ? reap_batch() : reap_inline(n);
}

static inline __attribute__((always_inline)) long run_loop(enum op op, long iters)
{
	long failures = 0;

	for (long i = 0; i < iters; i++)
		failures += one(op);
	return failures;
}

/* The measured loop, counted alone by callgrind (--toggle-collect); noipa
 * keeps it apart from the warm-up, the preload's first look at the ring. */
__attribute__((noipa)) static long bench_loop(enum op op, long iters)
{
	return run_loop(op, iters);
}

__attribute__((noipa)) static long bench_warm(enum op op, long iters)
{
	return run_loop(op, iters);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("BENCH_DIR");
	char path[512];
	struct timespec t0, t1;
	long iters, failures;
	int op, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: uring OP ITERATIONS\n");
		return 2;
	}
	for (op = 0; op < (int)(sizeof(names) / sizeof(names[0])); op++)
		if (!strcmp(argv[1], names[op]))
			break;
	if (op == (int)(sizeof(names) / sizeof(names[0]))) {
		fprintf(stderr, "uring: unknown op %s\n", argv[1]);
		return 2;
	}
	iters = atol(argv[2]);
	snprintf(path, sizeof(path), "%s/uring-%d", dir && *dir ? dir : "/dev/shm", (int)getpid());
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		die(path, errno);
	if ((ret = io_uring_queue_init(64, &ring, 0)) < 0)
		die("io_uring_queue_init", -ret);
	failures = bench_warm((enum op)op, 64);
	loop_mark(LOOP_BEGIN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	failures += bench_loop((enum op)op, iters);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	loop_mark(LOOP_END);
	printf("op=%s iters=%ld ns_per_op=%.1f failures=%ld\n", argv[1], iters,
	       ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (double)iters,
	       failures);
	io_uring_queue_exit(&ring);
	close(fd);
	unlink(path);
	return failures != 0;
}
