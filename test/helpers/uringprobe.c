/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * uringprobe: submits syncs of one file through liburing and prints each
 * completion, for the integration and real-fault tests.
 *
 *   uringprobe [-F] [-S] [-p] [-L] [-d] [-D] [-k] [-e ENTRIES] [-n NOPS] FILE OP...
 *   fsync = -5 EIO
 *
 * OP is fsync, fdatasync, sfr (sync_file_range, waiting), dsyncwrite (a
 * 4 KiB write with RWF_DSYNC), write (4 KiB), read (4 KiB), sleep (1 s),
 * fill:MIB:C (MIB MiB of the byte C from offset 0, 1 MiB per SQE; prints
 * the MiB written, or the first failure), rawsetup (a second ring, set
 * up with syscall(SYS_io_uring_setup) and left open), or libcfsync (an
 * fsync through libc, not the ring).
 *   -F   the file is registered, SQEs use slot 0 (IOSQE_FIXED_FILE)
 *   -S   an SQPOLL ring
 *   -p   completions are reaped by liburing's inline peek alone: the
 *        program waits on the CQ tail itself, never calling into liburing
 *   -L   each sync is linked after a 4 KiB write (write -> sync)
 *   -d   each OP waits behind a 20 ms timeout (hard-linked): it completes
 *        well after the submit call returned
 *   -D   the file is opened O_DSYNC
 *   -e   ring entries (default 8)
 *   -k   the ring is left open at exit
 *   -n   before each OP, NOPS no-op SQEs, submitted and reaped one by one
 *        (drives the completion ring around)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct io_uring ring;
static int fd, fixed, peek_only, linked, delayed, keep_open;
static char buf[4096];

static void die(const char *what, int err)
{
	fprintf(stderr, "uringprobe: %s: %s\n", what, strerror(err));
	exit(2);
}

static struct io_uring_sqe *next_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe)
		die("no free SQE", EBUSY);
	return sqe;
}

/* The target of an SQE: the fd, or its slot. */
static void target(struct io_uring_sqe *sqe)
{
	if (fixed) {
		sqe->fd = 0;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

static void prep(const char *op, struct io_uring_sqe *sqe)
{
	if (!strcmp(op, "fsync"))
		io_uring_prep_fsync(sqe, fd, 0);
	else if (!strcmp(op, "fdatasync"))
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	else if (!strcmp(op, "sfr"))
		io_uring_prep_sync_file_range(sqe, fd, 0, 0, 0);
	else if (!strcmp(op, "dsyncwrite")) {
		io_uring_prep_write(sqe, fd, buf, sizeof(buf), 0);
		sqe->rw_flags = RWF_DSYNC;
	} else if (!strcmp(op, "write"))
		io_uring_prep_write(sqe, fd, buf, sizeof(buf), 0);
	else if (!strcmp(op, "read"))
		io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
	else if (!strcmp(op, "nop"))
		io_uring_prep_nop(sqe);
	else {
		fprintf(stderr, "uringprobe: unknown op %s\n", op);
		exit(2);
	}
	if (strcmp(op, "nop"))
		target(sqe);
	/* sync_file_range: wait before, write, wait after */
	if (!strcmp(op, "sfr"))
		sqe->sync_range_flags = 7;
}

/* One completion, by a wait into liburing, or (-p) by watching the tail
 * and peeking inline. */
static struct io_uring_cqe *reap(void)
{
	struct io_uring_cqe *cqe;
	int ret;

	if (peek_only) {
		while (!io_uring_cq_ready(&ring))
			usleep(1000);
		if (io_uring_peek_cqe(&ring, &cqe) != 0)
			die("peek", EAGAIN);
		return cqe;
	}
	if ((ret = io_uring_wait_cqe(&ring, &cqe)) < 0)
		die("wait", -ret);
	return cqe;
}

static void show(const char *name, int res)
{
	if (res < 0)
		printf("%s = %d %s\n", name, res, strerrorname_np(-res));
	else
		printf("%s = %d\n", name, res);
	fflush(stdout);
}

/* Submit what is prepared and print n completions, named by user_data. */
static void run(const char *const *names, int n)
{
	int ret = io_uring_submit(&ring);

	if (ret < 0)
		die("submit", -ret);
	for (int i = 0; i < n; i++) {
		struct io_uring_cqe *cqe = reap();

		if (names)
			show(names[cqe->user_data], cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
}

static void nops(int n)
{
	for (int i = 0; i < n; i++) {
		io_uring_prep_nop(next_sqe());
		run(NULL, 1);
	}
}

/* fill:MIB:C, buffered writes through the ring. */
static void fill(const char *spec)
{
	static char mib[1 << 20];
	int n = atoi(spec + 5), res = 0;
	long total = 0;
	const char *c = strchr(spec + 5, ':');

	memset(mib, c ? c[1] : 'F', sizeof(mib));
	for (int i = 0; i < n && res >= 0; i++) {
		struct io_uring_sqe *sqe = next_sqe();
		struct io_uring_cqe *cqe;

		io_uring_prep_write(sqe, fd, mib, sizeof(mib), (__u64)i << 20);
		target(sqe);
		io_uring_submit(&ring);
		cqe = reap();
		res = cqe->res;
		total += res > 0 ? res : 0;
		io_uring_cqe_seen(&ring, cqe);
	}
	show("fill", res < 0 ? res : (int)(total >> 20));
}

static void op(const char *name)
{
	static struct __kernel_timespec delay = {.tv_nsec = 20000000};
	const char *names[3] = {"write", name, "delay"};
	struct io_uring_sqe *sqe;

	if (!strcmp(name, "rawsetup")) {
		struct io_uring_params p = {0};

		show(name, (int)syscall(SYS_io_uring_setup, 2, &p) < 0 ? -errno : 0);
		return;
	}
	if (!strncmp(name, "fill:", 5)) {
		fill(name);
		return;
	}
	if (!strcmp(name, "sleep")) {
		sleep(1);
		return;
	}
	if (!strcmp(name, "libcfsync")) {
		show(name, fsync(fd) < 0 ? -errno : 0);
		return;
	}
	if (delayed) {
		sqe = next_sqe();
		io_uring_prep_timeout(sqe, &delay, 0, 0);
		sqe->flags |= IOSQE_IO_HARDLINK;
		sqe->user_data = 2;
	}
	if (linked) {
		sqe = next_sqe();
		prep("write", sqe);
		sqe->flags |= IOSQE_IO_LINK;
		sqe->user_data = 0;
	}
	sqe = next_sqe();
	prep(name, sqe);
	sqe->user_data = 1;
	run(names, 1 + linked + delayed);
}

static void setup(unsigned entries, unsigned flags, int oflags, const char *path)
{
	struct io_uring_params p = {.flags = flags, .sq_thread_idle = 2000};
	int ret;

	fd = open(path, O_RDWR | O_CREAT | oflags, 0600);
	if (fd < 0)
		die(path, errno);
	if ((ret = io_uring_queue_init_params(entries, &ring, &p)) < 0)
		die("io_uring_queue_init_params", -ret);
	if (fixed && (ret = io_uring_register_files(&ring, &fd, 1)) < 0)
		die("io_uring_register_files", -ret);
}

int main(int argc, char **argv)
{
	unsigned entries = 8, flags = 0;
	int c, n_nops = 0, oflags = 0;

	memset(buf, 'u', sizeof(buf));
	while ((c = getopt(argc, argv, "FSpLDdke:n:")) != -1) {
		switch (c) {
		case 'F':
			fixed = 1;
			break;
		case 'S':
			flags |= IORING_SETUP_SQPOLL;
			break;
		case 'p':
			peek_only = 1;
			break;
		case 'L':
			linked = 1;
			break;
		case 'd':
			delayed = 1;
			break;
		case 'k':
			keep_open = 1;
			break;
		case 'D':
			oflags |= O_DSYNC;
			break;
		case 'e':
			entries = (unsigned)atoi(optarg);
			break;
		case 'n':
			n_nops = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: uringprobe [-FSpLdDk] [-e N] [-n N] FILE OP...\n");
		return 2;
	}
	setup(entries, flags, oflags, argv[optind]);
	for (int i = optind + 1; i < argc; i++) {
		nops(n_nops);
		op(argv[i]);
	}
	if (!keep_open)
		io_uring_queue_exit(&ring);
	close(fd);
	return 0;
}
