/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * One operation on a file, in a process of its own: what an unrelated program
 * (a PostgreSQL checkpointer, an operator's tool) would do later.
 *
 *   rf_op MODE fsync|fdatasync|syncfs|ack|read KEY PATH LINUX_EXPECT STICKY_EXPECT
 *   rf_op MODE write|write-AB|describe KEY PATH LINUX_EXPECT STICKY_EXPECT
 *
 * fsync/fdatasync/syncfs/ack/read open PATH afresh (read-only, so that it also works
 * on a filesystem that went read-only) and apply the call; read is a pread of
 * the first 4 KiB.  write opens PATH for writing (creating it) and overwrites
 * its first 4 KiB with C, without syncing.  The expectations are about that
 * call.  write-AB is a backend: writes and fsyncs 1 MiB of A, then writes 64
 * MiB of B and exits without syncing; the expectations are about the B writes,
 * which only reach the page cache.  describe records what the first 64 MiB
 * read back as ("B:7.6M,zero:56M"); its expectations must be "any".
 */
#define _GNU_SOURCE
#include "rf.h"
#include "stickysync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_ab(const char *key, const char *path, const char *lx, const char *sx)
{
	char k[128];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int rc;

	snprintf(k, sizeof(k), "%s.open", key);
	rf_expect(k, fd < 0 ? -1 : 0, errno, "ok", "ok");
	if (fd < 0)
		return rf_finish();
	rc = rf_write_pattern(fd, 0, 1 * MiB, PAT_A, NULL);
	if (rc == 0)
		rc = fsync(fd);
	snprintf(k, sizeof(k), "%s.fsync-A", key);
	rf_expect(k, rc, errno, "ok", "ok");
	rc = rf_write_pattern(fd, 0, 64 * MiB, PAT_B, NULL);
	rf_expect(key, rc, errno, lx, sx);
	close(fd);
	return rf_finish();
}

/* The pread of the first block: 0 when it returned a whole block. */
static int read_block(int fd)
{
	char blk[4096];
	ssize_t n = pread(fd, blk, sizeof(blk), 0);

	if (n < 0)
		return -1;
	return n == (ssize_t)sizeof(blk) ? 0 : 1;
}

static int write_c(const char *key, const char *path, const char *lx, const char *sx)
{
	char blk[4096];
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	ssize_t n;

	if (fd < 0) {
		rf_expect(key, -1, errno, lx, sx);
		return rf_finish();
	}
	memset(blk, PAT_C, sizeof(blk));
	n = pwrite(fd, blk, sizeof(blk), 0);
	rf_expect(key, n < 0 ? -1 : n == (ssize_t)sizeof(blk) ? 0 : 1, errno, lx, sx);
	close(fd);
	return rf_finish();
}

/* Records what the storage (or the cache) holds; there is nothing to expect. */
static void describe(const char *key, int fd)
{
	char text[512];

	rf_describe(fd, 0, 64 * MiB, text, sizeof(text));
	rf_obs(key, "%s", text);
}

int main(int argc, char **argv)
{
	int arg = rf_init(argc, argv, 5, "OP KEY PATH LINUX_EXPECT STICKY_EXPECT");
	const char *op = argv[arg], *key = argv[arg + 1], *path = argv[arg + 2];
	const char *lx = argv[arg + 3], *sx = argv[arg + 4];
	int fd, rc;

	rf_set_fs(path);
	if (strcmp(op, "write-AB") == 0)
		return write_ab(key, path, lx, sx);
	if (strcmp(op, "write") == 0)
		return write_c(key, path, lx, sx);

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		/* e.g. EROFS or EIO from a filesystem that shut down. */
		rf_expect(key, -1, errno, lx, sx);
		return rf_finish();
	}
	if (strcmp(op, "fsync") == 0)
		rc = fsync(fd);
	else if (strcmp(op, "fdatasync") == 0)
		rc = fdatasync(fd);
	else if (strcmp(op, "syncfs") == 0)
		rc = syncfs(fd);
	else if (strcmp(op, "ack") == 0)
		rc = stickysync_acknowledge(fd);
	else if (strcmp(op, "read") == 0)
		rc = read_block(fd);
	else if (strcmp(op, "describe") == 0) {
		describe(key, fd);
		close(fd);
		return rf_finish();
	} else {
		fprintf(stderr, "rf_op: unknown operation %s\n", op);
		return 2;
	}
	rf_expect(key, rc, errno, lx, sx);
	close(fd);
	return rf_finish();
}
