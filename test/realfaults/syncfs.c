/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * syncfs(2) flushes every file of a filesystem and (since Linux 5.8) reports
 * a writeback error once per open file description.  A failed syncfs means
 * some file lost data; a later syncfs of that filesystem syncs the damaged
 * file again, so under stickysync it must fail too.  syncfs does not say
 * which file lost data, so stickysync latches every file of the filesystem
 * (README "Stickiness"): even a bystander's fsync fails.
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
	char path[4096], bystander[4096];
	int fd, other, after, rc;

	rf_set_fs(argv[arg]);

	snprintf(path, sizeof(path), "%s/syncfs", argv[arg]);
	snprintf(bystander, sizeof(bystander), "%s/bystander", argv[arg]);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	other = open(bystander, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || other < 0) {
		rf_check("open", 0, "open: %s", strerror(errno));
		return 1;
	}
	rc = rf_write_pattern(fd, 0, 1 * MiB, PAT_A, NULL);
	if (rc == 0)
		rc = syncfs(fd);
	rf_expect("syncfs-A", rc, errno, "ok", "ok");
	rc = rf_write_pattern(fd, 0, 64 * MiB, PAT_B, NULL);
	rf_expect("write-B", rc, errno, "ok", "ok");

	rc = syncfs(fd);
	rf_expect("syncfs", rc, errno, "any", "fail");
	rc = syncfs(fd);
	rf_expect("syncfs-again", rc, errno, "any", "EIO");
	/* The file's own error cursor has not been advanced by syncfs. */
	rc = fsync(fd);
	rf_expect("fd.fsync", rc, errno, "any", "fail");
	rc = fsync(fd);
	rf_expect("fd.fsync-again", rc, errno, "any", "EIO");
	/* Another file of the same filesystem, open since before the failure. */
	rc = syncfs(other);
	rf_expect("bystander.syncfs", rc, errno, "any", "fail");
	rc = syncfs(other);
	rf_expect("bystander.syncfs-again", rc, errno, "any", "EIO");
	rc = fsync(other);
	rf_expect("bystander.fsync", rc, errno, "ok", "EIO");
	after = open(path, O_RDONLY);
	rc = after < 0 ? -1 : fsync(after);
	rf_expect("open-after.fsync", rc, errno, "any", "EIO");
	return rf_finish();
}
