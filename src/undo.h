/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The undo store behind lose=: for each file a lose=old|zero rule names, what
 * its writes overwrote since its last successful sync, so an injected failure
 * can make the loss real, as the kernel does when it marks failed dirty pages
 * clean.  Recorded bytes stay in memory up to a limit, then spill to an
 * unlinked temporary file.  mmap stores and stdio's internal writes are not
 * seen.  Only files a lose= rule names may reach these functions (gate.c
 * decides that once per fd): every other file's I/O never touches the store.
 *
 * Its locking protocol, and how it survives fork and vfork, is written at
 * the store (undo_store.h).
 *
 * The store never calls malloc: its memory comes from mmap, so a forked child
 * or a signal handler cannot meet a malloc lock held by another thread.
 * Every call saves and restores errno.
 */
#ifndef STICKYSYNC_UNDO_H
#define STICKYSYNC_UNDO_H

#include <stddef.h>
#include <sys/types.h>

#include "identity.h"
#include "inject.h"

/* Before the first record: the in-memory limit, where to spill, and the page
 * that tells forked children from vfork children.  May be called again
 * (tests) to change the limit. */
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
