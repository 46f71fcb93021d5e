/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Recovering from a latch: the loss is acknowledged through a descriptor
 * opened after it (by someone who knows the file must be rebuilt), never
 * through one that witnessed it.  Witnesses keep failing, so a program that
 * still trusts its pre-failure state cannot carry on as if nothing happened.
 *
 * The operator also grows the thin pool (fixture heal) so that the recovered
 * writer can make new data durable, and that durability is verified.
 */
#define _GNU_SOURCE
#include "rf.h"
#include "stickysync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int arg = rf_init(argc, argv, 2, "MOUNTPOINT BACKING_DIR");
	char path[4096], text[256];
	int old, old_dup, fresh, fresh2, rc, writable;
	struct stickysync_status st = {0};

	rf_set_fs(argv[arg]);

	snprintf(path, sizeof(path), "%s/ack", argv[arg]);
	old = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (old < 0) {
		rf_check("open", 0, "open %s: %s", path, strerror(errno));
		return 1;
	}
	rc = rf_write_pattern(old, 0, 1 * MiB, PAT_A, NULL);
	if (rc == 0)
		rc = fsync(old);
	rf_expect("fsync-A", rc, errno, "ok", "ok");
	rc = rf_write_pattern(old, 0, 64 * MiB, PAT_B, NULL);
	rf_expect("write-B", rc, errno, "ok", "ok");
	rc = fsync(old);
	rf_expect("old.fsync", rc, errno, "fail", "fail");
	rc = fsync(old);
	rf_expect("old.fsync-again", rc, errno, "any", "EIO");

	/* Without the shim the API reports ENOSYS: nothing to acknowledge. */
	rc = stickysync_acknowledge(old);
	rf_expect("old.ack", rc, errno, "ENOSYS", "EBUSY");
	old_dup = dup(old);
	rc = stickysync_acknowledge(old_dup);
	rf_expect("old-dup.ack", rc, errno, "ENOSYS", "EBUSY");

	rc = rf_heal(argv[arg + 1], 600);
	rf_expect("heal", rc, errno, "ok", "ok");

	/* btrfs went read-only on this failure: no writer can come back.  The
	 * latch it recorded on the file (user.stickysync, written before the
	 * filesystem turned read-only) cannot be replaced by an acknowledgment
	 * there, so the loss stays latched, for every host, until the
	 * filesystem is writable again: the acknowledgment fails with EROFS
	 * and changes nothing. */
	fresh = open(path, O_RDWR);
	writable = fresh >= 0;
	if (!writable)
		fresh = open(path, O_RDONLY);
	if (fresh < 0) {
		rf_check("fresh.open", 0, "cannot reopen %s: %s", path, strerror(errno));
		return rf_finish();
	}
	if (writable) {
		rc = fsync(fresh);
		rf_expect("fresh.fsync-before-ack", rc, errno, "any", "EIO");
	} else {
		/* Every fsync on a read-only filesystem fails (EROFS), and a failed
		 * sync makes its fd a witness that can no longer acknowledge. */
		rf_skip("fresh.fsync-before-ack",
			"read-only filesystem: an fsync would fail with EROFS");
	}
	rc = stickysync_acknowledge(fresh);
	if (!writable && rf_mode == RF_STICKY) {
		rf_expect("fresh.ack", rc, errno, "ENOSYS", "EROFS");
		rc = stickysync_status(fresh, &st);
		rf_check("fresh.status", rc == 0 && !st.fd_latched && st.file_latched,
			 "the read-only file keeps its latch: rc %d fd_latched %d file_latched %d",
			 rc, st.fd_latched, st.file_latched);
	} else {
		rf_expect("fresh.ack", rc, errno, "ENOSYS", "ok");
	}
	if (rf_mode == RF_STICKY && writable) {
		rc = stickysync_status(fresh, &st);
		rf_check("fresh.status",
			 rc == 0 && !st.fd_latched && !st.file_latched && st.acknowledged,
			 "rc %d fd_latched %d file_latched %d acknowledged %d", rc, st.fd_latched,
			 st.file_latched, st.acknowledged);
		rc = stickysync_status(old, &st);
		rf_check("old.status", rc == 0 && st.fd_latched,
			 "rc %d fd_latched %d error %d op %s", rc, st.fd_latched, st.error, st.op);
	}

	rc = fsync(fresh);
	rf_expect("fresh.fsync", rc, errno, "ok", "ok");
	rc = fsync(old);
	rf_expect("old.fsync-after-ack", rc, errno, "any", "EIO");
	rc = fsync(old_dup);
	rf_expect("old-dup.fsync-after-ack", rc, errno, "any", "EIO");

	if (!writable) {
		rf_skip("fresh.write-C", "the filesystem went read-only: nothing can be rebuilt");
		return rf_finish();
	}

	/* The recovered writer rebuilds the file on the healed storage. */
	rc = rf_write_pattern(fresh, 0, 1 * MiB, PAT_C, NULL);
	if (rc == 0)
		rc = ftruncate(fresh, 1 * MiB);
	rf_expect("fresh.write-C", rc, errno, "ok", "ok");
	rc = fsync(fresh);
	rf_expect("fresh.fsync-C", rc, errno, "ok", "ok");
	rc = fsync(old);
	rf_expect("old.fsync-after-C", rc, errno, "any", "EIO");

	fresh2 = open(path, O_RDONLY);
	rc = fresh2 < 0 ? -1 : fsync(fresh2);
	rf_expect("fresh2.fsync", rc, errno, "ok", "ok");
	rc = rf_run_helper(
	    "rf_op", (char *[]){argv[1], "fsync", "process-later.fsync", path, "ok", "ok", NULL});
	rf_check("process-later.exit", rc == 0 || rc == 1, "helper exit status %d", rc);

	if (rf_drop_caches() == 0) {
		rf_describe(fresh, 0, 1 * MiB, text, sizeof(text));
		rf_obs("read-after-drop", "%s", text);
		rf_check("C-durable", rf_all_pattern(fresh, 0, 1 * MiB, PAT_C),
			 "C survives eviction: %s", text);
	}
	return rf_finish();
}
