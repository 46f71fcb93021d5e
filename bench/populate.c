/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Fills a shared stickysync state with latched inodes, or checks that it is.
 *
 *   populate create DIR N   write and fsync DIR/pop-00000 .. pop-(N-1) once
 *   populate verify DIR N   ask the shim whether the first and last are latched
 *
 * "create" runs under the shim with a failure injected on those paths
 * (STICKYSYNC_INJECT or failfsync.so), so every fsync fails and the shim
 * latches the inode.  The files are kept: deleting them would free inode
 * numbers for the benchmark's own files to reuse, which would then look
 * latched.  "verify" runs in a new process, proving the latches are shared
 * through the state folder and not just held in the populating process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stickysync.h"

static int create(const char *dir, long n)
{
	char path[4096];
	long i, failed = 0;

	for (i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/pop-%05ld", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			fprintf(stderr, "populate: %s: %s\n", path, strerror(errno));
			return 2;
		}
		if (write(fd, "x", 1) != 1)
			return 2;
		failed += fsync(fd) != 0;
		close(fd);
	}
	printf("populate: %ld files, %ld fsyncs failed\n", n, failed);
	return failed == n ? 0 : 1;
}

static int latched(const char *dir, long i)
{
	struct stickysync_status st;
	char path[4096];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/pop-%05ld", dir, i);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ok = stickysync_status(fd, &st);
	close(fd);
	return ok == 0 ? st.file_latched : -1;
}

static int verify(const char *dir, long n)
{
	int first = latched(dir, 0), last = latched(dir, n - 1);

	printf("populate: pop-%05d latched=%d, pop-%05ld latched=%d\n", 0, first, n - 1, last);
	return first == 1 && last == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
	long n = argc > 3 ? atol(argv[3]) : 0;

	if (argc != 4 || n <= 0) {
		fprintf(stderr, "usage: populate create|verify DIR N\n");
		return 2;
	}
	if (strcmp(argv[1], "create") == 0)
		return create(argv[2], n);
	if (strcmp(argv[1], "verify") == 0)
		return verify(argv[2], n);
	fprintf(stderr, "populate: unknown mode %s\n", argv[1]);
	return 2;
}
