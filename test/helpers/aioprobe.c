/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * aioprobe: submits syncs of one file through libaio, reaps each with
 * io_getevents and prints its result, for the integration and real-fault
 * tests.
 *
 *   aioprobe FILE OP...        OP: fsync, fdatasync, dsyncwrite, write
 *   fsync = -5 EIO
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static char buf[4096];

static void die(const char *what, int err)
{
	fprintf(stderr, "aioprobe: %s: %s\n", what, strerror(err));
	exit(2);
}

static void prep(struct iocb *cb, const char *op, int fd)
{
	if (!strcmp(op, "fsync"))
		io_prep_fsync(cb, fd);
	else if (!strcmp(op, "fdatasync"))
		io_prep_fdsync(cb, fd);
	else if (!strcmp(op, "write") || !strcmp(op, "dsyncwrite")) {
		io_prep_pwrite(cb, fd, buf, sizeof(buf), 0);
		if (!strcmp(op, "dsyncwrite"))
			cb->aio_rw_flags = RWF_DSYNC;
	} else {
		fprintf(stderr, "aioprobe: unknown op %s\n", op);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	io_context_t ctx = 0;
	struct iocb cb, *cbs[1] = {&cb};
	struct io_event ev;
	int fd, ret;

	if (argc < 3) {
		fprintf(stderr, "usage: aioprobe FILE OP...\n");
		return 2;
	}
	memset(buf, 'a', sizeof(buf));
	if ((fd = open(argv[1], O_RDWR | O_CREAT, 0600)) < 0)
		die(argv[1], errno);
	if ((ret = io_setup(4, &ctx)) < 0)
		die("io_setup", -ret);
	for (int i = 2; i < argc; i++) {
		prep(&cb, argv[i], fd);
		if ((ret = io_submit(ctx, 1, cbs)) != 1)
			die("io_submit", ret < 0 ? -ret : EAGAIN);
		if ((ret = io_getevents(ctx, 1, 1, &ev, NULL)) != 1)
			die("io_getevents", ret < 0 ? -ret : EAGAIN);
		if ((long)ev.res < 0)
			printf("%s = %ld %s\n", argv[i], (long)ev.res,
			       strerrorname_np((int)-(long)ev.res));
		else
			printf("%s = %ld\n", argv[i], (long)ev.res);
		fflush(stdout);
	}
	io_destroy(ctx);
	close(fd);
	return 0;
}
