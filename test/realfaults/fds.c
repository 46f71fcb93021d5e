/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Who gets told about a writeback error?  The kernel keeps one error cursor
 * per open file description (errseq_t): each description hears about an error
 * at most once, dups and forked children share the description, and a file
 * opened after the error was seen hears nothing.  stickysync must fail every
 * later sync of the file, whichever fd or process issues it.
 *
 * Shapes: xfstests generic/441 (several fds opened before the failure), dup()
 * before and after, an fd opened after, a forked child, and a separate
 * process that opens the file later (the PostgreSQL checkpointer).
 */
#define _GNU_SOURCE
#include "rf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOTHERS 3

static void child(int writer, const char *path)
{
	int fd, rc;

	rc = fsync(writer);
	rf_expect("fork.child.inherited-fd", rc, errno, "any", "EIO");
	fd = open(path, O_RDONLY);
	rc = fd < 0 ? -1 : fsync(fd);
	rf_expect("fork.child.open-after", rc, errno, "any", "EIO");
	_exit(rf_finish());
}

int main(int argc, char **argv)
{
	int arg = rf_init(argc, argv, 1, "MOUNTPOINT");
	int writer, dup_before, dup_after, after, others[NOTHERS], i, rc, status;
	char path[4096], key[64];
	pid_t pid;

	rf_set_fs(argv[arg]);

	snprintf(path, sizeof(path), "%s/fds", argv[arg]);
	writer = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (writer < 0) {
		rf_check("open", 0, "open %s: %s", path, strerror(errno));
		return 1;
	}
	for (i = 0; i < NOTHERS; i++)
		others[i] = open(path, O_RDWR);
	dup_before = dup(writer);

	rc = rf_write_pattern(writer, 0, 1 * MiB, PAT_A, NULL);
	if (rc == 0)
		rc = fsync(writer);
	rf_expect("fsync-A", rc, errno, "ok", "ok");

	rc = rf_write_pattern(writer, 0, 64 * MiB, PAT_B, NULL);
	rf_expect("write-B", rc, errno, "ok", "ok");
	rc = fsync(writer);
	rf_expect("writer.fsync", rc, errno, "fail", "fail");
	rc = fsync(writer);
	rf_expect("writer.fsync-again", rc, errno, "any", "EIO");
	rc = fdatasync(writer);
	rf_expect("writer.fdatasync", rc, errno, "any", "EIO");
	rc = fsync(dup_before);
	rf_expect("dup-before.fsync", rc, errno, "any", "EIO");

	/* generic/441: every description opened before the failure. */
	for (i = 0; i < NOTHERS; i++) {
		snprintf(key, sizeof(key), "before%d.fsync", i + 1);
		rc = fsync(others[i]);
		rf_expect(key, rc, errno, "any", "fail");
		snprintf(key, sizeof(key), "before%d.fsync-again", i + 1);
		rc = fsync(others[i]);
		rf_expect(key, rc, errno, "any", "EIO");
	}

	dup_after = dup(others[0]);
	rc = fsync(dup_after);
	rf_expect("dup-after.fsync", rc, errno, "any", "EIO");

	/* Opened after the failure was reported: the kernel has nothing to say. */
	after = open(path, O_RDONLY);
	rc = after < 0 ? -1 : fsync(after);
	rf_expect("open-after.fsync", rc, errno, "any", "EIO");
	rc = after < 0 ? -1 : fdatasync(after);
	rf_expect("open-after.fdatasync", rc, errno, "any", "EIO");

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		child(writer, path);
	rc = pid < 0 ? -1 : waitpid(pid, &status, 0);
	rf_check("fork.child-exit", rc == pid && WIFEXITED(status) && WEXITSTATUS(status) < 2,
		 "child ended with status 0x%x", status);

	/* A separate program, as a checkpointer would be: only the shared
	 * STICKYSYNC_STATE folder can tell it about the loss. */
	rc = rf_run_helper(
	    "rf_op", (char *[]){argv[1], "fsync", "process-later.fsync", path, "any", "EIO", NULL});
	rf_check("process-later.exit", rc == 0 || rc == 1, "helper exit status %d", rc);

	return rf_finish();
}
