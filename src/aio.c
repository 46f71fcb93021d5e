/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "aio.h"

#include <errno.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gate.h"
#include "inflight.h"
#include "judge.h"
#include "latch.h"

enum aio_kind { AK_SYNC = 1, AK_SYNC_WRITE };

static struct inflight_table in_flight;
static int table_lock;

static void lock(void)
{
	while (__atomic_exchange_n(&table_lock, 1, __ATOMIC_ACQUIRE))
		syscall(SYS_sched_yield);
}

static void unlock(void)
{
	__atomic_store_n(&table_lock, 0, __ATOMIC_RELEASE);
}

/* The sync an iocb is, if any. */
static bool classify(const struct iocb *cb, struct inflight *p)
{
	int fd = (int)cb->aio_fildes;

	switch (cb->aio_lio_opcode) {
	case IOCB_CMD_FSYNC:
	case IOCB_CMD_FDSYNC:
		p->kind = AK_SYNC;
		p->op = cb->aio_lio_opcode == IOCB_CMD_FSYNC ? OP_FSYNC : OP_FDATASYNC;
		return true;
	case IOCB_CMD_PWRITE:
	case IOCB_CMD_PWRITEV:
		p->kind = AK_SYNC_WRITE;
		p->op = cb->aio_lio_opcode == IOCB_CMD_PWRITE ? OP_PWRITE : OP_PWRITEV;
		return (cb->aio_rw_flags & (RWF_DSYNC | RWF_SYNC)) ||
		       ((unsigned)fd < FDTAB_SIZE &&
			(__atomic_load_n(&fdtab[fd].wstate, __ATOMIC_RELAXED) & W_DSYNC));
	default:
		return false;
	}
}

/* The injector decides now; the result is changed when it is reaped. */
static void inject(struct inflight *p)
{
	int ret;

	if (io_gate && p->kind == AK_SYNC && gate_sync(p->fd, p->op, &ret))
		p->injected = errno;
}

static void track(struct iocb *cb)
{
	struct inflight p = {.tag = (uintptr_t)cb, .fd = (int)cb->aio_fildes, .slot = -1}, old;

	if (!classify(cb, &p))
		return;
	p.gen = fd_gen(p.fd);
	if (!fd_cached_key(p.fd, p.gen, &p.key) && judge_fd_key(p.fd, &p.gen, &p.key) != 0)
		return;
	inject(&p);
	lock();
	inflight_take(&in_flight, p.tag, &old); /* an iocb reused: the old one is done */
	inflight_add(&in_flight, &p);
	unlock();
}

void aio_submitting(struct iocb **iocbs, long nr)
{
	int saved = errno;

	for (long i = 0; iocbs && i < nr; i++)
		if (iocbs[i])
			track(iocbs[i]);
	errno = saved;
}

void aio_submitted(struct iocb **iocbs, long nr, int ret)
{
	struct inflight old;

	if (ret >= nr || !iocbs)
		return;
	lock();
	for (long i = ret < 0 ? 0 : ret; i < nr; i++)
		if (iocbs[i])
			inflight_take(&in_flight, (uintptr_t)iocbs[i], &old);
	unlock();
}

static bool says_nothing(int err)
{
	return record_not_applicable(err) || err == ECANCELED || err == EAGAIN;
}

/* The result the program must read for a sync that completed with res. */
static long judged(const struct inflight *p, long res)
{
	bool same_fd = fd_gen(p->fd) == p->gen;

	if (p->injected)
		res = -p->injected;
	if (res < 0) {
		if (says_nothing((int)-res) ||
		    (p->kind == AK_SYNC_WRITE && !record_error_latches((int)-res)))
			return res;
		latch_ready();
		record_failure(same_fd ? p->fd : -1, p->gen, &p->key, p->op, (int)-res,
			       same_fd ? NULL : "");
		return res;
	}
	if (same_fd ? latch_sync_result(p->fd, p->gen, p->op, false, 0) < 0
		    : latch_key_refused(&p->key, p->op))
		return -EIO;
	return res;
}

void aio_reaped(struct io_event *events, long n)
{
	int saved = errno;
	struct inflight p;

	if (!__atomic_load_n(&in_flight.n, __ATOMIC_RELAXED))
		return;
	for (long i = 0; i < n; i++) {
		lock();
		bool found = inflight_take(&in_flight, events[i].obj, &p);
		unlock();
		if (found)
			events[i].res = judged(&p, events[i].res);
	}
	errno = saved;
}
