/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * A library whose constructor writes and syncs a file twice: with the
 * program linked against it, this runs before the preloaded shim's own
 * constructor, so the wrappers must work uninitialised.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int ctor_results[4];
int ctor_ran;

__attribute__((constructor)) static void write_early(void)
{
	const char *path = getenv("CTOR_FILE");
	int fd;

	if (!path)
		return;
	fd = open(path, O_RDWR | O_CREAT, 0644);
	ctor_results[0] = write(fd, "early", 5) == 5 ? 0 : errno;
	ctor_results[1] = fsync(fd) == 0 ? 0 : errno;
	ctor_results[2] = fsync(fd) == 0 ? 0 : errno;
	ctor_results[3] = close(fd) == 0 ? 0 : errno;
	ctor_ran = 1;
}
