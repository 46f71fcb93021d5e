/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * A write on an O_DSYNC descriptor is a write plus a sync (LMDB makes its meta
 * page durable this way; dd oflag=dsync too).  When its writeback fails the
 * write() itself reports it, once.  stickysync must treat that as a failed
 * sync: later O_DSYNC writes and every later sync of the file fail.
 */
#define _GNU_SOURCE
#include "rf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int arg = rf_init(argc, argv, 1, "MOUNTPOINT");
	char path[4096], block[4096];
	int fd, other, after, rc;
	size_t done = 0;

	rf_set_fs(argv[arg]);

	snprintf(path, sizeof(path), "%s/dsync", argv[arg]);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DSYNC, 0600);
	if (fd < 0) {
		rf_check("open", 0, "open %s: %s", path, strerror(errno));
		return 1;
	}
	other = open(path, O_RDWR);

	rc = rf_write_pattern(fd, 0, 1 * MiB, PAT_A, NULL);
	rf_expect("write-A", rc, errno, "ok", "ok");
	/* Each 1 MiB write is synced; one of them meets the full backing store. */
	rc = rf_write_pattern(fd, 0, 64 * MiB, PAT_B, &done);
	rf_expect("write-B", rc, errno, "fail", "fail");
	rf_obs("write-B.failed-at", "%zuM", done / MiB);

	/* Rewrite a block that is already provisioned: the storage takes it. */
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = PAT_B;
	rc = pwrite(fd, block, sizeof(block), 0) == (ssize_t)sizeof(block) ? 0 : -1;
	rf_expect("write-again", rc, errno, "any", "EIO");
	rc = fsync(fd);
	rf_expect("dsync-fd.fsync", rc, errno, "any", "EIO");
	rc = fsync(other);
	rf_expect("before.fsync", rc, errno, "any", "fail");
	rc = fsync(other);
	rf_expect("before.fsync-again", rc, errno, "any", "EIO");
	after = open(path, O_RDONLY);
	rc = after < 0 ? -1 : fsync(after);
	rf_expect("open-after.fsync", rc, errno, "any", "EIO");
	return rf_finish();
}
