/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* The rings this process drives through liburing, and the calls around
 * each interposed liburing function (ring.h). */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "ring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtable.h"
#include "log.h"
#include "runtime.h"

__thread int ring_depth;

/* In .bss: usable before init, and a forked child gets its own copy, as it
 * gets its own copy of the program's struct io_uring. */
struct ring_state ring_table[RING_MAX];
#define rings ring_table

/* Slot markers besides a ring's address: never valid addresses. */
#define SLOT_GONE ((const void *)1)
#define SLOT_CLAIMED ((const void *)2)

static struct ring_state *ring_find(const void *ring)
{
	for (uint32_t i = ring_hash(ring), n = 0; n < RING_MAX; i = (i + 1) % RING_MAX, n++) {
		const void *at = __atomic_load_n(&rings[i].ring, __ATOMIC_ACQUIRE);

		if (at == ring)
			return &rings[i];
		if (!at)
			return NULL;
	}
	return NULL;
}

static void state_reset(struct ring_state *rs, const struct ring_abi *ring)
{
	if (rs->fixed)
		munmap(rs->fixed, (size_t)rs->nfixed * sizeof(*rs->fixed));
	rs->fixed = NULL;
	rs->nfixed = 0;
	rs->ring_fd = ring->ring_fd;
	rs->sqes = ring->sq.sqes;
	memset(&rs->pending, 0, sizeof(rs->pending));
	rs->sq_scanned = ring->sq.sqe_head;
}

static int said_table_full;

static struct ring_state *ring_claim(const struct ring_abi *ring)
{
	for (uint32_t i = ring_hash(ring), n = 0; n < RING_MAX; i = (i + 1) % RING_MAX, n++) {
		const void *at = __atomic_load_n(&rings[i].ring, __ATOMIC_ACQUIRE);

		if ((at == NULL || at == SLOT_GONE) &&
		    __atomic_compare_exchange_n(&rings[i].ring, &at, SLOT_CLAIMED, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			rings[i].lock = 0;
			state_reset(&rings[i], ring);
			__atomic_store_n(&rings[i].ring, (const void *)ring, __ATOMIC_RELEASE);
			return &rings[i];
		}
	}
	if (!__atomic_exchange_n(&said_table_full, 1, __ATOMIC_RELAXED))
		log_message("io_uring: more rings than the library can follow; syncs on the "
			    "others are not sticky");
	return NULL;
}

struct ring_state *ring_attach_slow(const struct ring_abi *ring)
{
	int saved = errno;
	struct ring_state *rs = ring_find(ring);

	if (!rs) {
		rs = ring_claim(ring);
	} else if (rs->ring_fd != ring->ring_fd || rs->sqes != ring->sq.sqes) {
		/* The program's struct now holds another ring (freed, reused). */
		ring_lock(rs);
		state_reset(rs, ring);
		ring_unlock(rs);
	}
	errno = saved;
	return rs;
}

void ring_detach(const struct ring_abi *ring)
{
	struct ring_state *rs = ring_find(ring);

	if (!rs)
		return;
	if (rs->fixed)
		munmap(rs->fixed, (size_t)rs->nfixed * sizeof(*rs->fixed));
	rs->fixed = NULL;
	rs->nfixed = 0;
	__atomic_store_n(&rs->ring, SLOT_GONE, __ATOMIC_RELEASE);
}

/* ---- the ring's lock ------------------------------------------------------ */

void ring_lock(struct ring_state *rs)
{
	while (__atomic_exchange_n(&rs->lock, 1, __ATOMIC_ACQUIRE))
		syscall(SYS_sched_yield);
}

void ring_unlock(struct ring_state *rs)
{
	__atomic_store_n(&rs->lock, 0, __ATOMIC_RELEASE);
}

/* ---- registered files ---------------------------------------------------- */

static bool files_resize(struct ring_state *rs, unsigned nr)
{
	size_t size = (size_t)nr * sizeof(*rs->fixed);
	void *p;

	if (rs->fixed)
		munmap(rs->fixed, (size_t)rs->nfixed * sizeof(*rs->fixed));
	rs->fixed = NULL;
	rs->nfixed = 0;
	if (!nr)
		return true;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	rs->fixed = p;
	rs->nfixed = nr;
	return true;
}

static void slot_set(struct ring_fixed *f, int fd)
{
	f->known = false;
	if (fd < 0)
		return;
	f->fd = fd;
	f->gen = fd_gen(fd);
	f->known = key_from_fd(fd, &f->key) == 0;
	if (f->known)
		fd_path(fd, f->path, sizeof(f->path));
}

/* -2 leaves a slot as it is (IORING_REGISTER_FILES_SKIP). */
#define FILES_SKIP (-2)

void ring_files_update(const struct ring_abi *ring, unsigned off, const int *fds, unsigned nr,
		       bool reset)
{
	struct ring_state *rs = ring_attach(ring);
	int saved = errno;

	if (!rs)
		return;
	ring_lock(rs);
	if (!reset || files_resize(rs, nr)) {
		for (unsigned i = 0; fds && i < nr && off + i < rs->nfixed; i++)
			if (fds[i] != FILES_SKIP)
				slot_set(&rs->fixed[off + i], fds[i]);
	}
	ring_unlock(rs);
	errno = saved;
}

void ring_files_forget(const struct ring_abi *ring)
{
	struct ring_state *rs = ring_find(ring);

	if (!rs)
		return;
	ring_lock(rs);
	files_resize(rs, 0);
	ring_unlock(rs);
}
