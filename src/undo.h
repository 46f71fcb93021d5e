/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The undo log behind lose=: for each file an injector rule may fail, what
 * its writes overwrote since its last successful sync, so an injected failure
 * can make the loss real, as the kernel does when it marks failed dirty pages
 * clean.
 *
 * Only used when STICKYSYNC_INJECT has a lose=old|zero rule.  Unlike the rest
 * of the shim it allocates and takes a mutex, so a write of such a file from
 * a signal handler is not async-signal-safe; this is test tooling.  Recorded
 * bytes stay in memory up to a limit, then spill to an unlinked temporary
 * file.  mmap stores and stdio's internal writes are not seen.
 */
#ifndef STICKYSYNC_UNDO_H
#define STICKYSYNC_UNDO_H

#include <stddef.h>
#include <sys/types.h>

#include "identity.h"
#include "inject.h"

/* Once, before the first record: the in-memory limit, and fork safety. */
void undo_setup(size_t bytes_in_memory, const char *tmpdir);
/* Before a write of len bytes at off (off -1: at the fd's position). */
void undo_record_write(int fd, off_t off, size_t len);
/* Before ftruncate(fd, len). */
void undo_record_truncate(int fd, off_t len);
/* Before an open that truncates path (O_TRUNC, creat, fopen "w"). */
void undo_record_path_truncate(int dirfd, const char *path, int flags);
/* Lose what was recorded for fd's file, as lose says, and forget it. */
void undo_apply(int fd, enum inject_lose lose);
/* fd's file was synced: its current content is the new baseline. */
void undo_forget(int fd);
void undo_forget_all(void);
/* Bytes held in memory and spilled, for tests. */
void undo_usage(size_t *in_memory, size_t *spilled);

#endif
