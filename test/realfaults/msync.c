/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * msync(MS_SYNC) of a shared mapping (LMDB with MDB_WRITEMAP): the data never
 * passes through write(), and msync takes an address, not an fd.  Its failure
 * must latch the mapped file like an fsync failure.
 */
#define _GNU_SOURCE
#include "rf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LEN (64 * MiB)

int main(int argc, char **argv)
{
	int arg = rf_init(argc, argv, 1, "MOUNTPOINT");
	char path[4096];
	int fd, after, rc;
	char *map;

	rf_set_fs(argv[arg]);

	snprintf(path, sizeof(path), "%s/msync", argv[arg]);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		rf_check("open", 0, "open %s: %s", path, strerror(errno));
		return 1;
	}
	rc = rf_write_pattern(fd, 0, 1 * MiB, PAT_A, NULL);
	if (rc == 0)
		rc = ftruncate(fd, LEN);
	if (rc == 0)
		rc = fsync(fd);
	rf_expect("fsync-A", rc, errno, "ok", "ok");

	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		rf_check("mmap", 0, "mmap: %s", strerror(errno));
		return 1;
	}
	memset(map, PAT_B, LEN);
	rc = msync(map, LEN, MS_SYNC);
	rf_expect("msync", rc, errno, "fail", "fail");
	rc = msync(map, LEN, MS_SYNC);
	rf_expect("msync-again", rc, errno, "any", "EIO");
	/* A sub-range of the mapping is still the same file. */
	rc = msync(map + 4096, 4096, MS_SYNC);
	rf_expect("msync-page", rc, errno, "any", "EIO");
	rc = fsync(fd);
	rf_expect("fd.fsync", rc, errno, "any", "EIO");
	after = open(path, O_RDONLY);
	rc = after < 0 ? -1 : fsync(after);
	rf_expect("open-after.fsync", rc, errno, "any", "EIO");
	munmap(map, LEN);
	return rf_finish();
}
