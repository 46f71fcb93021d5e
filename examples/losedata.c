/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * losedata PATH MIB: the seed thread's sequence.  Write pattern A (1 MiB)
 * and fsync it, write MIB MiB of pattern B over and past it, fsync, and
 * fsync once more, as a program that retries would.  Prints what each call
 * returned.  Run it on storage that fails writeback (make demo does), with
 * and without libstickysync.so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void say(const char *what, int ret)
{
	if (ret == 0)
		printf("  %-28s 0 (success)\n", what);
	else
		printf("  %-28s -1 %s (%s)\n", what, strerrorname_np(errno), strerror(errno));
}

static int fill(int fd, char pattern, size_t mib)
{
	static char buf[1 << 20];

	memset(buf, pattern, sizeof(buf));
	for (size_t i = 0; i < mib; i++)
		if (write(fd, buf, sizeof(buf)) < 0)
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: losedata PATH MIB\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || fill(fd, 'A', 1) != 0) {
		perror(argv[1]);
		return 1;
	}
	say("fsync after writing A:", fsync(fd));
	lseek(fd, 0, SEEK_SET);
	if (fill(fd, 'B', (size_t)atoi(argv[2])) != 0)
		say("write of B:", -1);
	say("fsync after writing B:", fsync(fd));
	say("fsync again (the retry):", fsync(fd));
	close(fd);
	return 0;
}
