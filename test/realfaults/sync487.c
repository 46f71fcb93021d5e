/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * xfstests generic/487 shape: data is written, then sync(2) (the `sync`
 * command) writes it back and fails, and nobody is told.  A program that opens
 * the file afterwards and fsyncs it must learn of the loss (the kernel tells
 * the first such opener once, since 4.17); every later one must too
 * (stickysync only).
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
	char path[4096];
	int fd, holder, rc;

	rf_set_fs(argv[arg]);

	snprintf(path, sizeof(path), "%s/sync487", argv[arg]);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		rf_check("open", 0, "open %s: %s", path, strerror(errno));
		return 1;
	}
	/* Keeps the inode, and with it the kernel's error record, in memory
	 * after the writer closes; it never syncs until the end. */
	holder = open(path, O_RDONLY);

	rc = rf_write_pattern(fd, 0, 1 * MiB, PAT_A, NULL);
	if (rc == 0)
		rc = fsync(fd);
	rf_expect("fsync-A", rc, errno, "ok", "ok");
	rc = rf_write_pattern(fd, 0, 64 * MiB, PAT_B, NULL);
	rf_expect("write-B", rc, errno, "ok", "ok");
	rc = close(fd);
	rf_expect("close", rc, errno, "any", "any");

	sync();

	fd = open(path, O_RDONLY);
	rc = fd < 0 ? -1 : fsync(fd);
	rf_expect("open1.fsync", rc, errno, "any", "fail");
	rc = fd < 0 ? -1 : fsync(fd);
	rf_expect("open1.fsync-again", rc, errno, "any", "EIO");
	if (fd >= 0)
		close(fd);

	fd = open(path, O_RDONLY);
	rc = fd < 0 ? -1 : fsync(fd);
	rf_expect("open2.fsync", rc, errno, "any", "EIO");
	if (fd >= 0)
		close(fd);

	rc = fsync(holder);
	rf_expect("holder.fsync", rc, errno, "any", "fail");
	rc = fsync(holder);
	rf_expect("holder.fsync-again", rc, errno, "any", "EIO");
	return rf_finish();
}
