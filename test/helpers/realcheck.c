/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * realcheck DIR: the resolution of real functions (src/real.c), linked in
 * directly.  A name with no next definition resolves to its fallback, which
 * does the system call, instead of a NULL pointer called later.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "real.h"

int main(int argc, char **argv)
{
	int (*slot)(int) = NULL, (*got)(int);
	char path[4096];
	int fd;

	if (argc < 2)
		return 2;
	snprintf(path, sizeof(path), "%s/f", argv[1]);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	got = (int (*)(int))real_resolve("stickysync_no_such_function", (void **)&slot,
					 (void *)fb_fsync);
	if (got != fb_fsync || slot != fb_fsync || got(fd) != 0) {
		printf("real FAIL: a missing symbol did not resolve to its working fallback\n");
		return 1;
	}
	if (REAL(fdatasync) == fb_fdatasync || REAL(fdatasync)(fd) != 0) {
		printf("real FAIL: fdatasync did not resolve to libc's\n");
		return 1;
	}
	errno = 0;
	if (fb_fopen(path, "r") != NULL || errno != ENOSYS) {
		printf("real FAIL: a fallback without a system call must fail with ENOSYS\n");
		return 1;
	}
	printf("real ok: missing symbols fall back to the system call or ENOSYS\n");
	return 0;
}
