/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The undo store's state and its lock, shared by the two halves of the
 * store: undo_lock.c (the lock, fork and vfork, setup) and undo.c (what is
 * recorded, spilled and applied).  Nothing else includes this.
 */
#ifndef STICKYSYNC_UNDO_STORE_H
#define STICKYSYNC_UNDO_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arena.h"

/* An unlinked file holding recorded bytes past the memory limit.  Each use
 * checks that fd is still that file in this process's fd table: a vfork
 * child's table differs from its parent's, and a program may close fds it
 * did not open (closefrom). */
struct spill_file {
	int fd;
	dev_t dev;
	ino_t ino;
	off_t used;
	bool ours; /* opened by this memory's home: it may append; else inherited */
};

#define MAX_SPILLS 4

enum place {
	PLACE_HOME,  /* the process this memory belongs to */
	PLACE_COPY,  /* a forked child that has not adopted the store yet */
	PLACE_GUEST, /* a vfork child, running in its parent's memory */
};

enum skip_reason {
	SKIP_REENTERED,
	SKIP_OWNER_STUCK,
	SKIP_NO_SPILL,
	SKIP_UNREADABLE,
	SKIP_COUNT,
};

/*
 * The store: all of it belongs to the holder of `owner`.
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
 */
struct undo_store {
	uint64_t owner;
	enum place place; /* the holder's */
	struct undo_file *files;
	size_t nfiles; /* also read without the lock: 0 means nothing to forget */
	size_t mem_limit, mem_used;
	struct spill_file spill[MAX_SPILLS];
	int nspill;
	char spill_dir[PATH_MAX];
	struct arena arena;
	pid_t setup_pid;
	uint64_t given_up; /* an owner in another process not waited for again */
};

extern struct undo_store undo_store;

/* Take the store, or say why not (reported once).  On success the caller
 * must unlock. */
bool undo_store_lock(void);
void undo_store_unlock(void);
/* Start empty: the previous holder's update cannot be trusted (undo.c). */
void undo_store_reset(void);
/* Once per process and reason: lose= is no longer exact. */
void undo_skipped(enum skip_reason why);

#endif
