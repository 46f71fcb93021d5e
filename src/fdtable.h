/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * What the shim knows about each fd of this process.
 *
 * The table is a fixed array in .bss, indexed by fd: usable before any
 * initialisation, copied into the child by fork (which inherits the fds), and
 * only touched pages cost memory.  fds at or above FDTAB_SIZE are not tracked
 * and are treated like fds opened outside the shim.
 *
 * Locking protocol: none.  An entry is written by the thread that just
 * created or closed that fd (open, dup, close wrappers), which the kernel
 * makes unique for a given fd number while it is open; other threads only
 * read it, through relaxed atomics.
 *
 * The file's identity is cached at the first sync that needs it, so later
 * syncs need no system call to know their file.  That trusts the table to
 * see every close of a tracked fd: close, close_range, closefrom, dup2/dup3
 * over it, fclose, freopen and closedir are all wrapped.  A tracked fd closed
 * by a raw system call and its number reused for another file would be
 * judged as the old file until closed again; whenever a sync does read the
 * identity from the kernel (a failure, an untracked fd), fd_validate resets
 * an entry that turns out to describe another file.
 */
#ifndef STICKYSYNC_FDTABLE_H
#define STICKYSYNC_FDTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define FDTAB_SIZE 65536

enum fd_flag {
	FD_HAVE_KEY = 1u << 1,	     /* key holds the fd's identity */
	FD_REPORTED = 1u << 2,	     /* a refused sync on this fd was reported */
	FD_INJECT_CHECKED = 1u << 3, /* injector rules were matched against the path */
	FD_INJECT = 1u << 4,	     /* some injector rule names this file */
};

enum fd_wstate {
	W_WRITTEN = 1, /* written since its last successful sync: may lose data at close */
	W_DSYNC = 2,   /* opened O_SYNC or O_DSYNC: each write is a sync */
};

struct fd_entry {
	/* Table sequence number read just before the fd was opened; 0 when the
	 * fd was not opened through the shim (the open time is unknown). */
	uint64_t open_seq;
	/* The table's sequence number when a sync on this fd was last judged
	 * clean: while it has not moved (no latch or acknowledgment anywhere),
	 * the verdict stands and needs no lookup. */
	uint64_t clean_seq;
	uint32_t flags;
	int32_t latch_error; /* non-zero: this open file description saw a loss */
	/* W_* bits: what the write path must know, in a byte of its own so the
	 * hot path tests it with one compare and updates it with plain stores
	 * instead of locked read-modify-writes. */
	uint8_t wstate;
	struct file_key key;
};

extern struct fd_entry fdtab[FDTAB_SIZE];
extern int fdtab_high; /* one past the highest fd ever recorded */

static inline struct fd_entry *fd_entry(int fd)
{
	return (unsigned)fd < FDTAB_SIZE ? &fdtab[fd] : 0;
}

/* A fd was opened by the shim's wrappers with these open flags, and the
 * sequence number read before the call. */
void fd_opened(int fd, uint64_t seq, int oflags);
/* newfd now refers to the same open file description as oldfd. */
void fd_duplicated(int oldfd, int newfd);
void fd_closed(int fd);
void fd_closed_range(unsigned first, unsigned last);

static inline void fd_mark_synced(int fd)
{
	uint8_t st;

	if ((unsigned)fd < FDTAB_SIZE &&
	    ((st = __atomic_load_n(&fdtab[fd].wstate, __ATOMIC_RELAXED)) & W_WRITTEN))
		__atomic_store_n(&fdtab[fd].wstate, st & ~W_WRITTEN, __ATOMIC_RELAXED);
}

/* Hot path: did this fd already see a loss? */
static inline bool fd_latched(int fd)
{
	return (unsigned)fd < FDTAB_SIZE &&
	       __atomic_load_n(&fdtab[fd].latch_error, __ATOMIC_RELAXED) != 0;
}

/*
 * Reconcile the entry with the fd's identity as just read from the kernel:
 * if the entry holds a different file, the fd number was reused behind the
 * shim's back and the entry is reset to "opened outside the shim".
 */
void fd_validate(int fd, const struct file_key *key);
/* The entry holds state: make sure closefrom and close_range reach it. */
void fd_note_used(int fd);

/* "/proc/self/fd/N" into buf (at least 32 bytes). */
void fd_proc_name(int fd, char *buf);
/* The path fd refers to now, "" if unknown.  One system call. */
void fd_path(int fd, char *buf, size_t size);

#endif
