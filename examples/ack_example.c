/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * How a program handles a latched file: when a sync fails, the data written
 * since the last good sync is gone, whatever a retry says.  The program
 * rebuilds the file from what it still holds, through a fresh fd, and
 * acknowledges the loss only once the new content is durable.
 *
 * Build: cc -Iinclude -o ack_example examples/ack_example.c
 * Run:   LD_PRELOAD=build/libstickysync.so ./ack_example /tmp/ledger
 * Works without the shim too: stickysync_acknowledge then says ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stickysync.h"

static const char ledger[] = "balance 100\n";

/* Write the whole content through a new fd and make it durable. */
static int rewrite(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -1;
	if (write(fd, ledger, sizeof(ledger) - 1) != (ssize_t)sizeof(ledger) - 1)
		goto fail;
	/* Still latched from the earlier loss: the sync fails until the loss is
	 * acknowledged, which this fresh fd may do. */
	if (fsync(fd) != 0 && errno == EIO) {
		if (stickysync_acknowledge(fd) != 0 && errno != ENOSYS)
			goto fail;
		if (fsync(fd) != 0)
			goto fail;
	}
	return close(fd);
fail:
	close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "ledger";
	struct stickysync_status st;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (fd < 0 || write(fd, ledger, sizeof(ledger) - 1) < 0) {
		perror(path);
		return 1;
	}
	if (fsync(fd) == 0) {
		puts("synced");
		return close(fd) == 0 ? 0 : 1;
	}
	/* The loss is real: never retry the sync and trust it.  This fd saw the
	 * loss and stays latched; let it go. */
	fprintf(stderr, "sync of %s failed: %s; rebuilding it\n", path, strerror(errno));
	if (stickysync_status(fd, &st) == 0)
		fprintf(stderr, "first failure: %s in %s by pid %d\n", strerrorname_np(st.error),
			st.op, (int)st.pid);
	close(fd);
	if (rewrite(path) != 0) {
		perror("rebuilding failed");
		return 1;
	}
	puts("rebuilt and acknowledged");
	return 0;
}
