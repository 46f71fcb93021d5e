/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The seed thread's Time 0-5 sequence (qemu-block, 2016-04-20), on a thin
 * fixture:
 *
 *   Time 0  pattern A written and fsynced: durable
 *   Time 1  pattern B written over it and beyond: reads see B
 *   Time 2  the backing store runs out of space (the fixture is thin)
 *   Time 3  fsync fails; the kernel marks the failed pages clean
 *   Time 4  memory pressure drops them (drop_caches)
 *   Time 5  read again: A, B, zeros, or an error?
 *
 * plus the question the thread left open: what does a *second* fsync return?
 * (Linux: 0 on ext4/xfs.  stickysync: EIO.)
 */
#define _GNU_SOURCE
#include "rf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define A_LEN (1 * MiB)
#define B_LEN (64 * MiB)

int main(int argc, char **argv)
{
	int arg = rf_init(argc, argv, 1, "MOUNTPOINT");
	char path[4096], text[512];
	int fd, rc;

	rf_set_fs(argv[arg]);

	snprintf(path, sizeof(path), "%s/seed", argv[arg]);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		rf_check("open", 0, "open %s: %s", path, strerror(errno));
		return 1;
	}
	rf_obs("pid", "%d", (int)getpid());
	rf_obs("path", "%s", path);

	rc = rf_write_pattern(fd, 0, A_LEN, PAT_A, NULL);
	rf_expect("t0.write-A", rc, errno, "ok", "ok");
	rc = fsync(fd);
	rf_expect("t0.fsync-A", rc, errno, "ok", "ok");

	/* The page cache accepts B although the backing store cannot hold it. */
	rc = rf_write_pattern(fd, 0, B_LEN, PAT_B, NULL);
	rf_expect("t1.write-B", rc, errno, "ok", "ok");
	rf_describe(fd, 0, B_LEN, text, sizeof(text));
	rf_obs("t1.read", "%s", text);
	rf_check("t1.read", rf_all_pattern(fd, 0, B_LEN, PAT_B), "reads see B before writeback: %s",
		 text);

	rc = fsync(fd);
	rf_expect("t3.fsync", rc, errno, "fail", "fail");
	rc = fsync(fd);
	rf_expect("t3.fsync-again", rc, errno, "any", "EIO");

	/* Still cached: a reader cannot tell anything went wrong. */
	rf_describe(fd, 0, B_LEN, text, sizeof(text));
	rf_obs("t4.read-cached", "%s", text);

	if (rf_drop_caches() != 0) {
		rf_skip("t5.read", "cannot write /proc/sys/vm/drop_caches: %s", strerror(errno));
		return rf_finish();
	}
	rf_describe(fd, 0, A_LEN, text, sizeof(text));
	rf_obs("t5.read-A-range", "%s", text);
	rf_describe(fd, 0, B_LEN, text, sizeof(text));
	rf_obs("t5.read", "%s", text);
	/* The shim makes the loss visible; it cannot undo it.  Both runs must
	 * show a real loss, or the fixture did not reproduce the problem. */
	rf_check("t5.B-lost", !rf_all_pattern(fd, 0, B_LEN, PAT_B),
		 "B is not what the storage holds: %s", text);

	rc = fsync(fd);
	rf_expect("t5.fsync", rc, errno, "any", "EIO");
	close(fd);
	return rf_finish();
}
