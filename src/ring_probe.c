/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Can this kernel make a NOP complete with a chosen result?  Asked once, on
 * a private two-entry ring set up with raw system calls (never through
 * liburing, whose functions this library interposes).  A kernel that
 * ignores the flag completes the NOP with 0, one that does not know it with
 * -EINVAL: only -EIO back means yes.
 */
#define _GNU_SOURCE
#include "ring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys.h"

struct probe_ring {
	int fd;
	void *sq, *cq;
	size_t sq_size, cq_size;
	struct io_uring_sqe *sqes;
	size_t sqes_size;
};

static void probe_close(struct probe_ring *r)
{
	if (r->sqes)
		munmap(r->sqes, r->sqes_size);
	if (r->cq && r->cq != r->sq)
		munmap(r->cq, r->cq_size);
	if (r->sq)
		munmap(r->sq, r->sq_size);
	sys_close(r->fd);
}

static void *map_ring(int fd, size_t size, off_t off)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static int probe_open(struct probe_ring *r, struct io_uring_params *p)
{
	memset(r, 0, sizeof(*r));
	memset(p, 0, sizeof(*p));
	r->fd = (int)syscall(SYS_io_uring_setup, 2, p);
	if (r->fd < 0)
		return -1;
	r->sq_size = p->sq_off.array + p->sq_entries * sizeof(unsigned);
	r->cq_size = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
	if (p->features & IORING_FEAT_SINGLE_MMAP)
		r->sq_size = r->cq_size = r->sq_size > r->cq_size ? r->sq_size : r->cq_size;
	r->sq = map_ring(r->fd, r->sq_size, IORING_OFF_SQ_RING);
	r->cq = (p->features & IORING_FEAT_SINGLE_MMAP)
		    ? r->sq
		    : map_ring(r->fd, r->cq_size, IORING_OFF_CQ_RING);
	r->sqes_size = p->sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = map_ring(r->fd, r->sqes_size, IORING_OFF_SQES);
	return r->sq && r->cq && r->sqes ? 0 : -1;
}

#define AT(base, off) ((unsigned *)((char *)(base) + (off)))

bool ring_probe_nop_inject(void)
{
	int saved = errno;
	struct io_uring_params p;
	struct probe_ring r;
	struct io_uring_cqe *cqe;
	bool ok = false;

	if (probe_open(&r, &p) == 0) {
		memset(&r.sqes[0], 0, sizeof(r.sqes[0]));
		r.sqes[0].opcode = IORING_OP_NOP;
		r.sqes[0].rw_flags = IORING_NOP_INJECT_RESULT;
		r.sqes[0].len = (uint32_t)-EIO;
		AT(r.sq, p.sq_off.array)[0] = 0;
		__atomic_store_n(AT(r.sq, p.sq_off.tail), 1, __ATOMIC_RELEASE);
		if (syscall(SYS_io_uring_enter, r.fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) == 1 &&
		    __atomic_load_n(AT(r.cq, p.cq_off.tail), __ATOMIC_ACQUIRE) == 1) {
			cqe = (struct io_uring_cqe *)((char *)r.cq + p.cq_off.cqes);
			ok = cqe->res == -EIO;
		}
	}
	if (r.fd >= 0)
		probe_close(&r);
	errno = saved;
	return ok;
}
