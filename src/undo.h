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
 * Locking protocol.  One lock word guards everything in the store (the file
 * table, the entries, the spill files, the memory they come from):
 *
 *   owner   0 when free, else (pid << 32 | tid) of the thread holding it,
 *           taken with compare-and-swap (acquire), released with a store
 *           (release).
 *   holding a thread-local flag, set while this thread holds the store.
 *
 * Only the holder reads or writes the rest, except the count of files with
 * records, which anyone may read without the lock: while it is 0 a sync
 * has nothing to forget and takes nothing.
 *
 * A thread that finds the store held decides from what it can prove, and
 * never waits for a thread that cannot finish:
 *
 *   - its own `holding` is set: a signal handler interrupted this thread's
 *     own store operation, which will finish when the handler returns (a
 *     vfork child, running on the parent thread's stack and thread-local
 *     storage, or a child forked from such a handler, is in the same case).
 *     It skips the call, and the first such skip in a process is reported
 *     once.
 *   - the owner is in this process: another thread; wait (unless the kernel
 *     says that thread no longer exists: then take the store over).
 *   - the owner is in another process and this memory is a fork copy (see
 *     below): the owner's half-done update was copied and will never finish
 *     here.  Take the store over and start it empty.
 *   - the owner is in another process that shares this memory (this is a
 *     vfork child, or its parent): wait for it, at most 2 s; then skip calls
 *     while that owner holds it, reported once.
 *
 * "Fork copy" is told by a page marked MADV_WIPEONFORK that holds the pid of
 * the store's home process: fork, _Fork and clone without CLONE_VM zero it;
 * vfork and posix_spawn children, sharing the memory, see the parent's pid.
 * (Should a vfork child of a copy that has not adopted the store yet find it
 * held, kcmp tells whether the holder shares its memory.)  pthread_atfork is
 * not used: it does not run for _Fork or vfork children.  Without
 * MADV_WIPEONFORK (Linux before 4.14) every process but the one that set the
 * store up counts as a guest.  An owner that no longer exists (a thread, or
 * a vfork child killed inside the store) is taken over as well.
 *
 * What each kind of process may do, holding the store:
 *   home    everything.
 *   copy    (a forked child) adopts the store on its first call: it becomes
 *           home, keeps what it inherited (readable, never written: its parent
 *           still appends to the same spill file) and spills to its own file.
 *   guest   (a vfork child) records and forgets in memory, and uses spill fds
 *           only after checking that they are the same file in its own fd
 *           table; it never opens or closes one, since the home process would
 *           not have or would lose it.
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
