/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * io_uring rings driven through liburing: what the library knows about each
 * ring, and the two scans that make its syncs sticky.
 *
 * A program prepares SQEs with liburing's inline functions (invisible to a
 * preload) and publishes them to the kernel inside liburing's exported
 * submit functions, which the wrappers (wrap_ring.c) interpose.  Before the
 * real submit, the SQEs prepared since the last one (sq.sqe_head ..
 * sq.sqe_tail) are not yet visible to the kernel, not even to an SQPOLL
 * thread: ring_scan_sq reads them there, and rewrites a sync of a latched
 * file into a NOP that completes with -EIO under the program's own
 * user_data (a linked chain after it then sees -ECANCELED, as after a real
 * failure).  Syncs it lets through are remembered by user_data until their
 * completion; ring_scan_cq reads the completions posted since its last
 * scan, including those the program already consumed with liburing's
 * inline peek (a consumed slot keeps its content until the kernel's tail
 * has moved a whole ring further), and a failed sync latches its file in
 * the latch table as a failed fsync(2) would.
 *
 * The rings are keyed by the address of the program's struct io_uring,
 * whose layout (liburing 2.x) is an ABI this module reads: struct ring_abi
 * below, checked against liburing.h by the unit tests.
 *
 * Locking protocol.  liburing leaves a ring's serialisation to the program:
 * SQEs are prepared and submitted by one thread at a time, so the SQ side of
 * a ring's state (sq_scanned) needs no lock.  But a program may reap on
 * another thread: the syncs in flight and the completion cursor (pending,
 * cq_seen) are behind the ring's own spin lock, held only while a scan
 * touches them (never across the real call, which may wait for completions
 * another thread's submission would bring), and no lock is shared between
 * rings.  A submission with no sync in it, on a ring with no sync in flight,
 * takes no lock at all: the reading of pending.n without the lock is safe
 * because a sync is added before its SQE is published, so no completion of
 * it can be missed, and cq_seen is set afresh whenever the table goes from
 * empty to not empty.  The table of rings is claimed slot by slot with a
 * compare-and-swap and read without a lock.  A per-thread depth keeps
 * liburing's calls of its own exported functions (queue_init ->
 * queue_init_params, ...) from being scanned twice, and a signal handler
 * that uses a ring the interrupted code was scanning from deadlocking: an
 * inner call passes straight through.
 */
#ifndef STICKYSYNC_RING_H
#define STICKYSYNC_RING_H

#include <linux/io_uring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "inflight.h"
#include "latchtab.h"
#include "record.h"

/* liburing's struct io_uring_sq, io_uring_cq and io_uring (2.x). */
struct ring_sq_abi {
	unsigned *khead, *ktail, *kring_mask, *kring_entries, *kflags, *kdropped, *array;
	struct io_uring_sqe *sqes;
	unsigned sqe_head, sqe_tail;
	size_t ring_sz;
	void *ring_ptr;
	unsigned ring_mask, ring_entries, pad[2];
};

struct ring_cq_abi {
	unsigned *khead, *ktail, *kring_mask, *kring_entries, *kflags, *koverflow;
	struct io_uring_cqe *cqes;
	size_t ring_sz;
	void *ring_ptr;
	unsigned ring_mask, ring_entries, pad[2];
};

struct ring_abi {
	struct ring_sq_abi sq;
	struct ring_cq_abi cq;
	unsigned flags;
	int ring_fd;
	unsigned features;
	int enter_ring_fd;
	uint8_t int_flags, pad[3];
	unsigned pad2;
};

/* Newer than the kernel headers this may be built with. */
#ifndef IORING_NOP_INJECT_RESULT
#define IORING_NOP_INJECT_RESULT (1u << 0)
#endif
#define RING_SETUP_SQE128 (1u << 10)
#define RING_SETUP_CQE32 (1u << 11)

/* What an SQE is to the latch. */
enum ring_kind {
	RK_NONE,
	RK_SYNC,       /* fsync, fdatasync, sync_file_range */
	RK_SYNC_WRITE, /* a write with RWF_DSYNC/RWF_SYNC, or on an O_DSYNC fd */
	RK_IO,	       /* another read or write: refused only under failstop */
};

struct ring_sqe_info {
	enum ring_kind kind;
	enum op op;
	bool fixed; /* fd is a registered-file slot */
	int fd;
};

/* Classify sqe; failstop: plain reads and writes matter too. */
enum ring_kind ring_classify(const struct io_uring_sqe *sqe, bool failstop,
			     struct ring_sqe_info *in);
/* Make sqe a NOP completing with -err, keeping user_data and the flags a
 * chain depends on.  inject: the kernel can set a NOP's result; else the
 * SQE becomes an fsync of no file, which completes with -EBADF. */
void ring_rewrite(struct io_uring_sqe *sqe, int err, bool inject);

/* A registered file, by slot.  The ring holds the file itself, whatever
 * becomes of the fd registered: it is judged by its identity alone. */
struct ring_fixed {
	struct file_key key;
	int fd; /* the fd registered, for the injector while its lifetime is gen */
	uint32_t gen;
	bool known;
	char path[REC_PATH_MAX]; /* at registration, for reports */
};

#define RING_MAX 64

struct ring_state {
	const void *ring; /* the program's struct io_uring, the key */
	int ring_fd;	  /* with sqes, tells a reused struct from this ring */
	const void *sqes;
	int lock;
	uint32_t sq_scanned;	       /* SQEs up to here were scanned */
	uint32_t cq_seen;	       /* completions up to here were read */
	struct inflight_table pending; /* syncs let through, by user_data */
	struct ring_fixed *fixed;      /* mmap'd, nfixed slots */
	uint32_t nfixed;
};

/* The state of ring, made (or remade, when the struct now holds another
 * ring) if need be; NULL when the table is full. */
struct ring_state *ring_attach_slow(const struct ring_abi *ring);
/* Forget ring (io_uring_queue_exit). */
void ring_detach(const struct ring_abi *ring);

extern struct ring_state ring_table[RING_MAX];

static inline uint32_t ring_hash(const void *ring)
{
	return (uint32_t)((((uintptr_t)ring >> 4) * 0x9e3779b97f4a7c15ull) >> 58) % RING_MAX;
}

/* The common case inline: the ring sits in its home slot, unchanged. */
static inline struct ring_state *ring_attach(const struct ring_abi *ring)
{
	struct ring_state *rs = &ring_table[ring_hash(ring)];

	if (__builtin_expect(__atomic_load_n(&rs->ring, __ATOMIC_ACQUIRE) == ring &&
				 rs->ring_fd == ring->ring_fd && rs->sqes == ring->sq.sqes,
			     1))
		return rs;
	return ring_attach_slow(ring);
}

/* The SQEs prepared since the last scan (sq.sqe_head .. sq.sqe_tail). */
void ring_scan_sq_slow(struct ring_state *rs, struct ring_abi *ring);
static inline void ring_scan_sq(struct ring_state *rs, struct ring_abi *ring)
{
	if (ring->sq.sqe_head != ring->sq.sqe_tail)
		ring_scan_sq_slow(rs, ring);
}

/* The completions posted since the last scan: only while a sync is in
 * flight (see the locking protocol). */
void ring_scan_cq_slow(struct ring_state *rs, const struct ring_abi *ring);
static inline void ring_scan_cq(struct ring_state *rs, const struct ring_abi *ring)
{
	if (__builtin_expect(__atomic_load_n(&rs->pending.n, __ATOMIC_RELAXED) != 0, 0))
		ring_scan_cq_slow(rs, ring);
}

/* Per-thread depth of interposed calls (the re-entrancy guard). */
extern __thread int ring_depth;

/*
 * Around every interposed liburing call on ring: begin returns false in an
 * inner call (the call must pass straight through); else it reads new
 * completions and, when the call may publish SQEs (publishes), the SQEs
 * about to be published.  end reads completions again.  errno is kept.
 */
struct ring_call {
	struct ring_state *rs;
	struct ring_abi *ring;
};

static inline bool ring_call_begin(struct ring_call *c, void *ring, bool publishes)
{
	if (ring_depth || !ring)
		return false;
	ring_depth = 1;
	c->ring = ring;
	c->rs = ring_attach(c->ring);
	if (c->rs) {
		ring_scan_cq(c->rs, c->ring);
		if (publishes)
			ring_scan_sq(c->rs, c->ring);
	}
	return true;
}

static inline void ring_call_end(struct ring_call *c)
{
	if (c->rs)
		ring_scan_cq(c->rs, c->ring);
	ring_depth = 0;
}

/* Registered files: nr slots from off take fds (-1: empty, -2: unchanged);
 * reset: a new table of nr slots. */
void ring_files_update(const struct ring_abi *ring, unsigned off, const int *fds, unsigned nr,
		       bool reset);
void ring_files_forget(const struct ring_abi *ring);

/* Can this kernel set a NOP's result (IORING_NOP_INJECT_RESULT)?  Probed
 * once, on a private ring, with raw system calls. */
bool ring_probe_nop_inject(void);
/* For tests: pretend the probe answered this. */
void ring_set_nop_inject(bool supported);

/* Rings the library cannot follow (ring_unseen.c).  how: the call that set
 * one up with raw system calls, said once. */
void ring_raw_setup(const char *how, unsigned flags);
/* The io_uring fds of this process that are no ring the library follows:
 * up to max into fds, and their number. */
int ring_unseen(int *fds, int max);
/* Say, once, which those are (at exit). */
void ring_report_unseen(void);

/* The ring's spin lock (see the locking protocol). */
void ring_lock(struct ring_state *rs);
void ring_unlock(struct ring_state *rs);

#endif
