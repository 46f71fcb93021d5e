/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* The two scans of a ring (ring.h): SQEs before they are published,
 * completions after they are posted. */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "ring.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "gate.h"
#include "judge.h"
#include "latch.h"
#include "log.h"

/*
 * What the scan does with each opcode, by table (one load per SQE): LOOK
 * at it in full (syncs; under the gate, failstop or the injector, reads
 * and writes too), look at a WRITE only when it is a sync by its flags
 * (WRITE_FD: or may be by its fd's, once any fd was opened O_DSYNC), or
 * nothing.
 */
enum { SKIP = 0, LOOK, WRITE, WRITE_FD };
#define SYNC_OPS [IORING_OP_FSYNC] = LOOK, [IORING_OP_SYNC_FILE_RANGE] = LOOK
static const uint8_t scan_plain[256] = {
    SYNC_OPS,
    [IORING_OP_WRITEV] = WRITE,
    [IORING_OP_WRITE_FIXED] = WRITE,
    [IORING_OP_WRITE] = WRITE,
};
static const uint8_t scan_dsync_fds[256] = {
    SYNC_OPS,
    [IORING_OP_WRITEV] = WRITE_FD,
    [IORING_OP_WRITE_FIXED] = WRITE_FD,
    [IORING_OP_WRITE] = WRITE_FD,
};
static const uint8_t scan_gated[256] = {
    SYNC_OPS,
    [IORING_OP_WRITEV] = LOOK,
    [IORING_OP_WRITE_FIXED] = LOOK,
    [IORING_OP_WRITE] = LOOK,
    [IORING_OP_READV] = LOOK,
    [IORING_OP_READ_FIXED] = LOOK,
    [IORING_OP_READ] = LOOK,
};

static bool fd_opened_dsync(int fd)
{
	return (unsigned)fd < FDTAB_SIZE &&
	       (__atomic_load_n(&fdtab[fd].wstate, __ATOMIC_RELAXED) & W_DSYNC);
}

static enum ring_kind write_kind(const struct io_uring_sqe *sqe, bool fixed)
{
	if (sqe->rw_flags & (RWF_DSYNC | RWF_SYNC))
		return RK_SYNC_WRITE;
	return !fixed && fd_opened_dsync(sqe->fd) ? RK_SYNC_WRITE : RK_IO;
}

enum ring_kind ring_classify(const struct io_uring_sqe *sqe, bool failstop,
			     struct ring_sqe_info *in)
{
	in->fixed = sqe->flags & IOSQE_FIXED_FILE;
	in->fd = sqe->fd;
	switch (sqe->opcode) {
	case IORING_OP_FSYNC:
		in->kind = RK_SYNC;
		in->op = (sqe->fsync_flags & IORING_FSYNC_DATASYNC) ? OP_FDATASYNC : OP_FSYNC;
		break;
	case IORING_OP_SYNC_FILE_RANGE:
		in->kind = RK_SYNC;
		in->op = OP_SYNC_FILE_RANGE;
		break;
	case IORING_OP_WRITEV:
		in->kind = write_kind(sqe, in->fixed);
		in->op = OP_PWRITEV;
		break;
	case IORING_OP_WRITE:
	case IORING_OP_WRITE_FIXED:
		in->kind = write_kind(sqe, in->fixed);
		in->op = OP_PWRITE;
		break;
	case IORING_OP_READV:
	case IORING_OP_READ:
	case IORING_OP_READ_FIXED:
		in->kind = RK_IO;
		in->op = OP_READ;
		break;
	default:
		in->kind = RK_NONE;
	}
	if (in->kind == RK_IO && !failstop)
		in->kind = RK_NONE;
	return in->kind;
}

void ring_rewrite(struct io_uring_sqe *sqe, int err, bool inject)
{
	uint64_t user_data = sqe->user_data;
	uint16_t personality = sqe->personality;
	/* A fixed file or a selected buffer would make the NOP fail its own
	 * way; links, drain, async and skip-success keep their meaning. */
	uint8_t flags = sqe->flags & ~(IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT);

	memset(sqe, 0, sizeof(*sqe));
	sqe->flags = flags;
	sqe->user_data = user_data;
	sqe->personality = personality;
	if (inject) {
		sqe->opcode = IORING_OP_NOP;
		sqe->rw_flags = IORING_NOP_INJECT_RESULT;
		sqe->len = (uint32_t)-err;
	} else {
		sqe->opcode = IORING_OP_FSYNC;
		sqe->fd = -1;
	}
}

static void say_once(int *said, const char *msg)
{
	if (!__atomic_exchange_n(said, 1, __ATOMIC_RELAXED))
		log_message(msg);
}

static int said_full, said_overrun, said_slot, said_no_inject;

/* Takes the ring's lock.  A table that was empty starts reading
 * completions from now: none before can be this sync's, whose SQE is not
 * yet published. */
static void pending_add(struct ring_state *rs, const struct ring_abi *ring,
			const struct inflight *p)
{
	bool added;

	ring_lock(rs);
	if (!rs->pending.n)
		rs->cq_seen = __atomic_load_n(ring->cq.ktail, __ATOMIC_ACQUIRE);
	added = inflight_add(&rs->pending, p);
	ring_unlock(rs);
	if (!added)
		say_once(&said_full, "io_uring: more syncs in flight on one ring than can be "
				     "followed; a failure of the others will not latch");
}

/* ---- before publishing --------------------------------------------------- */

static int nop_inject = -1; /* -1: not probed yet */

void ring_set_nop_inject(bool supported)
{
	__atomic_store_n(&nop_inject, supported, __ATOMIC_RELAXED);
}

static bool can_inject(void)
{
	int inject = __atomic_load_n(&nop_inject, __ATOMIC_RELAXED);

	if (inject < 0) {
		inject = ring_probe_nop_inject();
		ring_set_nop_inject(inject);
	}
	return inject;
}

static void refuse_sqe(struct io_uring_sqe *sqe, int err)
{
	bool inject = can_inject();

	if (!inject)
		say_once(&said_no_inject,
			 "io_uring: this kernel cannot set a NOP's result "
			 "(IORING_NOP_INJECT_RESULT): io_uring syncs that must fail "
			 "complete with EBADF instead of EIO, and are not performed");
	ring_rewrite(sqe, err, inject);
}

/* The file behind a registered slot. */
static bool fixed_file(const struct ring_state *rs, int slot, struct inflight *p)
{
	const struct ring_fixed *f;

	if (slot < 0 || (unsigned)slot >= rs->nfixed || !rs->fixed[slot].known) {
		say_once(&said_slot, "io_uring: a sync on a registered file the library did "
				     "not see registered (filled by the kernel, or before "
				     "the library was loaded): it is not sticky");
		return false;
	}
	f = &rs->fixed[slot];
	p->key = f->key;
	p->fd = -1;
	p->slot = slot;
	return true;
}

/* The file behind an fd: its cached identity, else one system call. */
static bool fd_file(int fd, struct inflight *p)
{
	p->fd = fd;
	p->slot = -1;
	p->gen = fd_gen(fd);
	if (fd_cached_key(fd, p->gen, &p->key))
		return true;
	return judge_fd_key(fd, &p->gen, &p->key) == 0;
}

/* Is a sync (or failstop I/O) of p's file refused?  The usual report. */
static bool refused(const struct inflight *p, enum ring_kind kind)
{
	if (kind == RK_IO)
		return p->fd >= 0
			   ? latch_io_refused(p->fd, p->op)
			   : rt.opt.policy == POLICY_FAILSTOP && latch_key_refused(&p->key, p->op);
	if (p->fd >= 0)
		return latch_sync_result(p->fd, p->gen, p->op, false, 0) < 0;
	return latch_key_refused(&p->key, p->op);
}

/* Where a registered file was when it was registered. */
static const char *slot_path(const struct ring_state *rs, int slot)
{
	if (slot < 0 || (unsigned)slot >= rs->nfixed || !rs->fixed[slot].known)
		return "";
	return rs->fixed[slot].path;
}

/* The fd registered in slot, while it is still that description. */
static int slot_fd(const struct ring_state *rs, int slot)
{
	const struct ring_fixed *f;

	if (slot < 0 || (unsigned)slot >= rs->nfixed || !rs->fixed[slot].known)
		return -1;
	f = &rs->fixed[slot];
	return fd_gen(f->fd) == f->gen ? f->fd : -1;
}

/*
 * The injector fails this sync: the SQE completes with the error and, like
 * a real failure, latches the file when the completion is read.  Where the
 * kernel cannot set a NOP's result, the file latches now.
 */
static bool injected(struct ring_state *rs, const struct ring_abi *ring, struct io_uring_sqe *sqe,
		     const struct inflight *p)
{
	int ret, err, fd = p->fd >= 0 ? p->fd : slot_fd(rs, p->slot);

	if (!io_gate || p->kind != RK_SYNC || fd < 0 || !gate_sync(fd, p->op, &ret))
		return false;
	err = errno;
	if (can_inject()) {
		ring_rewrite(sqe, err, true);
		pending_add(rs, ring, p);
		return true;
	}
	if (p->fd >= 0)
		latch_sync_result(p->fd, p->gen, p->op, false, ret);
	else
		record_failure(-1, 0, &p->key, p->op, err, slot_path(rs, p->slot));
	refuse_sqe(sqe, err);
	return true;
}

static void scan_sqe(struct ring_state *rs, const struct ring_abi *ring, struct io_uring_sqe *sqe,
		     bool failstop)
{
	struct ring_sqe_info in;
	struct inflight p = {.tag = sqe->user_data};

	if (ring_classify(sqe, failstop, &in) == RK_NONE)
		return;
	p.op = (uint8_t)in.op;
	p.kind = (uint8_t)in.kind;
	p.skip_success = sqe->flags & IOSQE_CQE_SKIP_SUCCESS;
	if (!(in.fixed ? fixed_file(rs, in.fd, &p) : fd_file(in.fd, &p)))
		return;
	if (injected(rs, ring, sqe, &p))
		return;
	if (refused(&p, in.kind)) {
		refuse_sqe(sqe, EIO);
		return;
	}
	if (in.kind != RK_IO)
		pending_add(rs, ring, &p);
}

/* The interesting SQE at sqe: the slow path, which keeps errno. */
static __attribute__((noinline)) void
scan_sqe_kept(struct ring_state *rs, const struct ring_abi *ring, struct io_uring_sqe *sqe)
{
	int saved = errno;

	scan_sqe(rs, ring, sqe, io_gate && rt.opt.policy == POLICY_FAILSTOP);
	errno = saved;
}

void ring_scan_sq_slow(struct ring_state *rs, struct ring_abi *ring)
{
	uint32_t head = ring->sq.sqe_head, tail = ring->sq.sqe_tail, i = head;
	uint32_t mask = *ring->sq.kring_mask;
	size_t stride = (ring->flags & RING_SETUP_SQE128) ? 128 : 64;
	const uint8_t *scan = io_gate						  ? scan_gated
			      : __atomic_load_n(&fd_dsync_seen, __ATOMIC_RELAXED) ? scan_dsync_fds
										  : scan_plain;
	char *sqes = (char *)ring->sq.sqes;

	/* What an earlier call scanned without publishing (a wait on a kernel
	 * without EXT_ARG) is not scanned twice. */
	if (rs->sq_scanned - head <= tail - head)
		i = rs->sq_scanned;
	if (tail - head > *ring->sq.kring_entries)
		return; /* not a liburing ring as this library knows it */
	for (; i != tail; i++) {
		struct io_uring_sqe *sqe =
		    (struct io_uring_sqe *)(sqes + (size_t)(i & mask) * stride);
		uint8_t what = scan[sqe->opcode];

		if (__builtin_expect(what == SKIP, 1))
			continue;
		/* a plain write: two tests */
		if (__builtin_expect(what == WRITE && !(sqe->rw_flags & (RWF_DSYNC | RWF_SYNC)), 1))
			continue;
		if (what == WRITE_FD && !(sqe->rw_flags & (RWF_DSYNC | RWF_SYNC)) &&
		    ((sqe->flags & IOSQE_FIXED_FILE) || !fd_opened_dsync(sqe->fd)))
			continue;
		scan_sqe_kept(rs, ring, sqe);
	}
	rs->sq_scanned = tail;
}

/* ---- after completion ---------------------------------------------------- */

/* Results that say nothing about the file's data: the libc rule, and what
 * only a ring returns (a cancelled link, a timeout, no worker). */
static bool says_nothing(int err)
{
	return record_not_applicable(err) || err == ECANCELED || err == EAGAIN || err == ETIME;
}

static void completed(const struct ring_state *rs, const struct inflight *p, int res)
{
	int err = -res;

	if (res >= 0 || says_nothing(err))
		return;
	if (p->kind == RK_SYNC_WRITE && !record_error_latches(err))
		return;
	latch_ready();
	if (p->fd >= 0 && fd_gen(p->fd) == p->gen)
		record_failure(p->fd, p->gen, &p->key, p->op, err, NULL);
	else
		record_failure(-1, 0, &p->key, p->op, err, slot_path(rs, p->slot));
}

void ring_scan_cq_slow(struct ring_state *rs, const struct ring_abi *ring)
{
	int saved = errno;
	uint32_t tail, c, entries = *ring->cq.kring_entries, mask = *ring->cq.kring_mask;
	uint32_t shift = (ring->flags & RING_SETUP_CQE32) ? 1 : 0;
	struct inflight done[16];
	int failed[16], ndone = 0;

	ring_lock(rs);
	tail = __atomic_load_n(ring->cq.ktail, __ATOMIC_ACQUIRE);
	c = rs->cq_seen;
	if (tail - c > entries) {
		say_once(&said_overrun, "io_uring: more completions than the ring holds arrived "
					"between two calls into liburing; a failed sync among "
					"them may not latch");
		c = tail - entries;
	}
	for (; c != tail && rs->pending.n && ndone < 16; c++) {
		const struct io_uring_cqe *cqe = &ring->cq.cqes[(c & mask) << shift];
		uint64_t user_data = cqe->user_data;
		int res = cqe->res;

		if (!inflight_may_hold(&rs->pending, user_data))
			continue;
		/* The kernel may have reused the slot while it was read. */
		if (__atomic_load_n(ring->cq.ktail, __ATOMIC_ACQUIRE) - c > entries)
			continue;
		if (inflight_take(&rs->pending, user_data, &done[ndone]) && res < 0)
			failed[ndone++] = res;
	}
	rs->cq_seen = rs->pending.n ? c : tail;
	ring_unlock(rs);
	/* Latched outside the lock: recording writes a report. */
	for (int i = 0; i < ndone; i++)
		completed(rs, &done[i], failed[i]);
	errno = saved;
}
