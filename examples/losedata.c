/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * losedata PATH MIB: the seed thread's sequence.  Write pattern A (1 MiB)
 * and fsync it, write MIB MiB of pattern B over and past it, fsync, and
 * fsync once more, as a program that retries would.  Prints what each call
 * returned.  Run it on storage that fails writeback (make demo does), with
 * and without libstickysync.so.
 *
 * losedata --read PATH MIB: read the file back and say what it holds, in
 * MiB of A, of B and of zeros, with a dot per 8 MiB read.
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

static double mib(long long bytes)
{
	return (double)bytes / (1 << 20);
}

/* What the file holds now; what was written was B over all of it. */
static int read_back(const char *path, size_t want_mib)
{
	static char buf[1 << 20];
	long long a = 0, b = 0, zero = 0, other = 0, total = 0;
	int fd = open(path, O_RDONLY), err = 0;
	ssize_t n;

	if (fd < 0) {
		perror(path);
		return 1;
	}
	printf("  reading %zu MiB back ", want_mib);
	fflush(stdout);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			err = errno;
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			a += buf[i] == 'A';
			b += buf[i] == 'B';
			zero += buf[i] == 0;
		}
		other += n;
		total += n;
		if (total % (8 << 20) == 0) {
			putchar('.');
			fflush(stdout);
		}
	}
	other -= a + b + zero;
	close(fd);
	printf(" %.0f MiB of B, %.0f MiB of A, %.0f MiB of zeros", mib(b), mib(a), mib(zero));
	if (other)
		printf(", %.1f MiB of other bytes", mib(other));
	if (err)
		printf(", then the read failed: %s", strerrorname_np(err));
	printf("\n");
	if (b == (long long)want_mib << 20)
		printf("  => B was written over A, and all of it is there.\n");
	else
		printf("  => B was written over A; %.0f MiB of it now read back as %s.\n",
		       mib(((long long)want_mib << 20) - b), zero ? "zeros" : "something else");
	return 0;
}

int main(int argc, char **argv)
{
	int fd;

	if (argc == 4 && strcmp(argv[1], "--read") == 0)
		return read_back(argv[2], (size_t)atoi(argv[3]));
	if (argc != 3) {
		fprintf(stderr, "usage: losedata PATH MIB | losedata --read PATH MIB\n");
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
