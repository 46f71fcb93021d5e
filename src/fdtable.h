/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * What the shim knows about each fd number of this process.
 *
 * The table is a fixed array in .bss, indexed by fd: usable before any
 * initialisation, copied into the child by fork (which inherits the fds), and
 * only touched pages cost memory.  Higher fds live in chunks (below).
 *
 * Ownership protocol.  An entry describes one lifetime of its fd number:
 * from the moment an open or dup wrapper installs a new open file
 * description on it, to the moment a close wrapper releases it.  `gen`
 * numbers the lifetimes:
 *
 *   - odd:  a description installed through the shim; open_seq
 *           and the write state describe it;
 *   - even: a description the shim did not see created (inherited across
 *           exec, made inside libc, received over a socket, made by a raw
 *           system call), or no description at all.
 *
 * Only two kinds of thread move gen, always with an atomic read-modify-write:
 * the thread that releases the number, *before* the real close (so that no
 * thread that reopens the number can have its fresh entry cleared after the
 * fact), and the thread that installs a description, *after* the real open
 * or dup and before the fd is returned to the program.  dup2 and dup3 never
 * free their target number (the kernel swaps the description in one step),
 * so only their installer moves it, and a call that fails changes nothing.  The installer writes
 * the plain fields first and publishes them with the release that moves gen;
 * readers load gen with acquire.
 *
 * Everything learnt about a lifetime later, by any thread that uses the fd
 * (its identity, a clean verdict, that it witnessed a loss, reporting and
 * injection flags), is stored in a word tagged with the gen it was learnt
 * under, and is valid only while gen still has that value.  Releasing the
 * number therefore forgets all of it at once, without clearing anything,
 * and a thread that learnt something about a description that has since
 * been closed, and whose number has been reused, writes a value no reader of
 * the new lifetime accepts.  The cached identity has a small state machine
 * (none -> writing -> ready, all tagged) so that a reader never sees a
 * half-written key: a key is written only by the thread that moved its word
 * to "writing", and a word in "writing" is never taken over.
 *
 * free_seq is the stamp at which the number was last released through the
 * shim: any description on it now was created after that, which tells, for
 * an fd the shim did not see opened, that it cannot have witnessed a loss
 * latched before then.
 *
 * Stamps (open_seq, free_seq) order an fd's creation against losses.  Once
 * the process has attached the latch table, a stamp is the table's sequence
 * number, read before the open or close: exact.  Before that (a process
 * attaches at its first sync, so most never do), reading it would cost the
 * state folder's system calls at every start, and the stamp is the
 * monotonic clock instead (clock.h: from the vDSO, no system call), with
 * FD_STAMP_TIME set, compared with the time a record keeps of its latest
 * latch, in the same boot and clock (latchtab.h).  The clock is read before
 * the open, the latch's time after the loss: an fd opened before a loss
 * always counts as its witness.  0 means nothing is known.
 *
 * The write state (wstate) is the hot path's: one byte, plain stores, not
 * tagged.  A write racing a close of the same fd may leave a stale bit on
 * the next lifetime, which costs at most an identity check at close.
 *
 * A child of vfork runs in its parent's memory: every function that writes
 * an entry (except the write state) does nothing in such a child.
 *
 * fds closed by a raw system call are not seen: their number keeps its
 * entry until the shim next reads the identity from the kernel (a failure,
 * a refusal, an fd without a cached identity), where fd_validate notices
 * the other file and forgets the entry.
 */
#ifndef STICKYSYNC_FDTABLE_H
#define STICKYSYNC_FDTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define FDTAB_SIZE 65536

/* Per-lifetime flags (fd_flags, fd_set_flags). */
enum fd_flag {
	FD_REPORTED = 1u << 0,	     /* a refused sync on this fd was reported */
	FD_INJECT_CHECKED = 1u << 1, /* injector rules were matched against the path */
	FD_INJECT = 1u << 2,	     /* some injector rule names this file */
	FD_INJECT_LOSE = 1u << 3,    /* some lose= rule names this file */
	FD_NO_ATTR = 1u << 4,	     /* the file had no latch attribute (attr.h) when judged */
};

/*
 * What the write path must know.  Only fds the shim saw opened get W_NOTE:
 * sockets, pipes and inherited fds are never marked, so closing them costs
 * nothing.  The hot path tests one mask (latch_write_result).
 */
enum fd_wstate {
	W_NOTE = 1,    /* a file, unwritten since its last sync: note the next write */
	W_WRITTEN = 2, /* written since its last successful sync: may lose data at close */
	W_DSYNC = 4,   /* opened O_SYNC or O_DSYNC: each write is a sync */
};

struct fd_entry {
	uint32_t gen;	     /* see above */
	uint8_t wstate;	     /* W_* bits: the write path's byte */
	uint64_t open_seq;   /* stamp read just before the open; odd gens */
	uint64_t free_seq;   /* stamp when the number was last released */
	uint64_t witness;    /* tag | errno of a loss this description saw */
	uint64_t clean;	     /* gen | low 32 bits of the sequence of a clean verdict */
	uint64_t flags;	     /* tag | enum fd_flag bits */
	uint64_t key_word;   /* tag | enum key_state */
	struct file_key key; /* the identity, when key_word says it is ready */
};

extern struct fd_entry fdtab[FDTAB_SIZE];
/* Set once an fd was opened O_SYNC/O_DSYNC through the shim: until then no
 * write of any fd is a sync by its flags (asked per io_uring write SQE). */
extern int fd_dsync_seen __attribute__((visibility("hidden")));
extern int fdtab_high; /* one past the highest fd ever recorded */

/*
 * fds from FDTAB_SIZE up to FDTAB_MAX (a process may raise its limit that
 * far) have entries in chunks of FDTAB_SIZE, mapped when an fd in them is
 * first opened or closed, and published with a compare-and-swap; chunks are
 * never unmapped.  fds beyond are judged like fds the shim did not see
 * opened.  The write path's close-error bookkeeping covers the first table
 * only.
 */
#define FDTAB_CHUNKS 256
#define FDTAB_MAX (FDTAB_SIZE * FDTAB_CHUNKS)
extern struct fd_entry *fdtab_chunk[FDTAB_CHUNKS]; /* [0] is unused: fdtab */

static inline struct fd_entry *fd_entry(int fd)
{
	struct fd_entry *chunk;

	if (__builtin_expect((unsigned)fd < FDTAB_SIZE, 1))
		return &fdtab[fd];
	if ((unsigned)fd >= FDTAB_MAX)
		return 0;
	chunk = __atomic_load_n(&fdtab_chunk[(unsigned)fd / FDTAB_SIZE], __ATOMIC_ACQUIRE);
	return chunk ? &chunk[(unsigned)fd % FDTAB_SIZE] : 0;
}

/* The lifetime a caller is acting in: sample it before the real call. */
static inline uint32_t fd_gen(int fd)
{
	struct fd_entry *e = fd_entry(fd);

	return e ? __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) : 0;
}

/* Hot path: did this lifetime of fd already see a loss? */
static inline bool fd_latched(int fd)
{
	struct fd_entry *e = fd_entry(fd);
	uint32_t gen;
	uint64_t w;

	if (!e)
		return false;
	gen = __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE);
	w = __atomic_load_n(&e->witness, __ATOMIC_ACQUIRE);
	return (uint32_t)(w >> 32) == gen && (uint32_t)w != 0;
}

/* The errno of the loss fd's lifetime gen witnessed, or 0. */
int fd_witness_error(int fd, uint32_t gen);
/* fd's lifetime gen witnessed a loss with err (the first one is kept). */
void fd_mark_witness(int fd, uint32_t gen, int err);

/*
 * A clean verdict is tagged with the whole gen, like every word learnt
 * about a lifetime: a number reopened 2^23 times while nothing was latched
 * must not meet an old verdict again.  The sequence keeps its low 32 bits:
 * it would take 2^32 latches and acknowledgments during one lifetime to
 * alias.
 */
static inline uint64_t fd_clean_word(uint32_t gen, uint64_t seq)
{
	return (uint64_t)gen << 32 | (uint32_t)seq;
}

/* Was a sync of fd's lifetime gen judged clean at table sequence seq? */
static inline bool fd_clean_at(int fd, uint32_t gen, uint64_t seq)
{
	struct fd_entry *e = fd_entry(fd);

	return e && __atomic_load_n(&e->clean, __ATOMIC_ACQUIRE) == fd_clean_word(gen, seq);
}
void fd_set_clean(int fd, uint32_t gen, uint64_t seq);

/* The cached identity of lifetime gen; false when there is none. */
bool fd_cached_key(int fd, uint32_t gen, struct file_key *key);
/*
 * key was just read from the kernel for fd.  If the entry holds a different
 * file, the number was reused behind the shim's back and the entry is
 * forgotten (its new lifetime is one the shim did not see opened).  Then
 * the key is cached for the entry's current lifetime, which is returned.
 */
uint32_t fd_validate(int fd, uint32_t gen, const struct file_key *key);

uint32_t fd_flags(int fd, uint32_t gen);
/* Set bits for lifetime gen; returns which of them were already set. */
uint32_t fd_set_flags(int fd, uint32_t gen, uint32_t bits);

/* The wrappers' side: before the real close of fd (or of each fd in
 * [first, last]); seq is the table's sequence now. */
void fd_release(int fd, uint64_t seq);
void fd_release_range(unsigned first, unsigned last, uint64_t seq);
/* After a real open made fd, with these open flags; seq was read before. */
void fd_install_open(int fd, uint64_t seq, int oflags);
/* After newfd became a duplicate of oldfd (newfd was released before);
 * chosen: the caller named newfd (dup2, dup3), rather than taking the
 * lowest free number (dup, F_DUPFD). */
void fd_install_dup(int oldfd, int newfd, bool chosen);
/* Does fcntl's cmd make a new fd (F_DUPFD, F_DUPFD_CLOEXEC)? */
bool fd_fcntl_dups(int cmd);

/* A dup-family call on oldfd returned ret; dups: it makes a new fd.  The
 * errno is untouched: the fd table makes no failing call. */
static inline int fd_dup_result(int oldfd, int ret, bool dups, bool chosen)
{
	if (dups && ret >= 0)
		fd_install_dup(oldfd, ret, chosen);
	return ret;
}

#define FD_STAMP_TIME (1ull << 63)

/*
 * A time stamp for now (see above); async-signal-safe, errno kept.  coarse:
 * the clock's last tick, a few milliseconds earlier at most and cheaper to
 * read (earlier is safe: see fd_stamp_before); for a released number, which
 * only dates fds the shim did not see opened.
 */
uint64_t fd_stamp_time(bool coarse);

/*
 * A stamp S such that the description on fd (lifetime gen) was created
 * after S: its open stamp when the shim saw it opened, else the stamp at
 * which its number was last released through the shim; 0 when nothing is
 * known.
 */
uint64_t fd_created_after(int fd, uint32_t gen);

/* Could a description created after stamp have existed before the loss
 * numbered latch_seq, at latch_mono (struct latch_view)? */
static inline bool fd_stamp_before(uint64_t stamp, uint64_t latch_seq, int64_t latch_mono)
{
	if (stamp & FD_STAMP_TIME)
		return (int64_t)(stamp & ~FD_STAMP_TIME) <= latch_mono;
	return stamp == 0 || stamp < latch_seq;
}

/* Could the description have existed before that loss?  fds the shim knows
 * nothing about count as old. */
static inline bool fd_opened_before(int fd, uint32_t gen, uint64_t latch_seq, int64_t latch_mono)
{
	return fd_stamp_before(fd_created_after(fd, gen), latch_seq, latch_mono);
}

/* fd's data reached the storage: nothing is left to lose at close. */
static inline void fd_mark_synced(int fd)
{
	uint8_t st;

	if ((unsigned)fd < FDTAB_SIZE &&
	    ((st = __atomic_load_n(&fdtab[fd].wstate, __ATOMIC_RELAXED)) & W_WRITTEN))
		__atomic_store_n(&fdtab[fd].wstate, (st & ~W_WRITTEN) | W_NOTE, __ATOMIC_RELAXED);
}

/* Is this thread a child of vfork, running in its parent's memory? */
bool fd_in_vfork_child(void);
/* Set by the vfork wrapper in the calling thread before the real vfork. */
extern __thread int fd_vfork_parent;

/* "/proc/self/fd/N" into buf (at least 32 bytes). */
void fd_proc_name(int fd, char *buf);
/* The path fd refers to now, "" if unknown.  One system call. */
void fd_path(int fd, char *buf, size_t size);

#endif
