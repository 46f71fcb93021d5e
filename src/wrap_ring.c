/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * liburing's exported functions (ring.h).  The submit and reap calls are
 * RING wrappers; setting up a ring and registering files are written out:
 * they only tell the ring table what the real call did.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include "wrap.h"

/* The ring may publish SQEs: only __io_uring_get_cqe's submit says. */
#define PUBLISHES true
#define REAPS false

EXPORT int io_uring_submit(struct io_uring *ring)
{
	WRAP_RING(io_uring_submit, ring, PUBLISHES, (ring));
}

EXPORT int io_uring_submit_and_wait(struct io_uring *ring, unsigned n)
{
	WRAP_RING(io_uring_submit_and_wait, ring, PUBLISHES, (ring, n));
}

EXPORT int io_uring_submit_and_wait_timeout(struct io_uring *ring, struct io_uring_cqe **cqe,
					    unsigned n, struct __kernel_timespec *ts, sigset_t *sig)
{
	WRAP_RING(io_uring_submit_and_wait_timeout, ring, PUBLISHES, (ring, cqe, n, ts, sig));
}

EXPORT int io_uring_submit_and_get_events(struct io_uring *ring)
{
	WRAP_RING(io_uring_submit_and_get_events, ring, PUBLISHES, (ring));
}

/* Reached by liburing's inline wait and peek when the ring is empty. */
EXPORT int __io_uring_get_cqe(struct io_uring *ring, struct io_uring_cqe **cqe, unsigned submit,
			      unsigned wait, sigset_t *sig)
{
	WRAP_RING(__io_uring_get_cqe, ring, submit != 0, (ring, cqe, submit, wait, sig));
}

/* On a kernel without IORING_FEAT_EXT_ARG, a wait with a timeout publishes
 * the program's SQEs together with its own timeout SQE. */
EXPORT int io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe, unsigned n,
			      struct __kernel_timespec *ts, sigset_t *sig)
{
	WRAP_RING(io_uring_wait_cqes, ring, PUBLISHES, (ring, cqe, n, ts, sig));
}

EXPORT int io_uring_wait_cqe_timeout(struct io_uring *ring, struct io_uring_cqe **cqe,
				     struct __kernel_timespec *ts)
{
	WRAP_RING(io_uring_wait_cqe_timeout, ring, PUBLISHES, (ring, cqe, ts));
}

EXPORT unsigned io_uring_peek_batch_cqe(struct io_uring *ring, struct io_uring_cqe **cqes,
					unsigned n)
{
	WRAP_RING(io_uring_peek_batch_cqe, ring, REAPS, (ring, cqes, n));
}

EXPORT int io_uring_get_events(struct io_uring *ring)
{
	WRAP_RING(io_uring_get_events, ring, REAPS, (ring));
}

/* ---- rings and registered files ------------------------------------------ */

/* A ring set up by the real call starts with a clean state.  latch_init
 * first: a ring's syncs are judged by the policy of the environment. */
static int ring_made(struct io_uring *ring, int ret)
{
	if (ret == 0 && !ring_depth) {
		latch_init();
		ring_attach((const struct ring_abi *)ring);
	}
	return ret;
}

EXPORT int io_uring_queue_init_params(unsigned entries, struct io_uring *ring,
				      struct io_uring_params *p)
{
	return ring_made(ring, REAL(io_uring_queue_init_params)(entries, ring, p));
}

EXPORT int io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags)
{
	return ring_made(ring, REAL(io_uring_queue_init)(entries, ring, flags));
}

EXPORT int io_uring_queue_mmap(int fd, struct io_uring_params *p, struct io_uring *ring)
{
	return ring_made(ring, REAL(io_uring_queue_mmap)(fd, p, ring));
}

EXPORT void io_uring_queue_exit(struct io_uring *ring)
{
	ring_detach((const struct ring_abi *)ring);
	REAL(io_uring_queue_exit)(ring);
}

/* Slots registered by the real call: off, fds, nr as its arguments. */
static int files_registered(struct io_uring *ring, int ret, unsigned off, const int *fds,
			    unsigned nr, bool reset)
{
	if (ret == 0)
		ring_files_update((const struct ring_abi *)ring, off, fds, nr, reset);
	return ret;
}

EXPORT int io_uring_register_files(struct io_uring *ring, const int *fds, unsigned nr)
{
	return files_registered(ring, REAL(io_uring_register_files)(ring, fds, nr), 0, fds, nr,
				true);
}

EXPORT int io_uring_register_files_tags(struct io_uring *ring, const int *fds,
					const unsigned long long *tags, unsigned nr)
{
	return files_registered(ring, REAL(io_uring_register_files_tags)(ring, fds, tags, nr), 0,
				fds, nr, true);
}

EXPORT int io_uring_register_files_sparse(struct io_uring *ring, unsigned nr)
{
	return files_registered(ring, REAL(io_uring_register_files_sparse)(ring, nr), 0, NULL, nr,
				true);
}

/* Returns the number of slots updated. */
EXPORT int io_uring_register_files_update(struct io_uring *ring, unsigned off, const int *fds,
					  unsigned nr)
{
	int ret = REAL(io_uring_register_files_update)(ring, off, fds, nr);

	files_registered(ring, ret < 0 ? ret : 0, off, fds, ret < 0 ? 0 : (unsigned)ret, false);
	return ret;
}

EXPORT int io_uring_register_files_update_tag(struct io_uring *ring, unsigned off, const int *fds,
					      const unsigned long long *tags, unsigned nr)
{
	int ret = REAL(io_uring_register_files_update_tag)(ring, off, fds, tags, nr);

	files_registered(ring, ret < 0 ? ret : 0, off, fds, ret < 0 ? 0 : (unsigned)ret, false);
	return ret;
}

EXPORT int io_uring_unregister_files(struct io_uring *ring)
{
	int ret = REAL(io_uring_unregister_files)(ring);

	if (ret == 0)
		ring_files_forget((const struct ring_abi *)ring);
	return ret;
}

/* ---- rings the library cannot follow --------------------------------------- */

/* liburing's raw wrapper (2.3 and later), which its queue functions never
 * call: a ring set up by the program itself. */
EXPORT int io_uring_setup(unsigned entries, struct io_uring_params *p)
{
	int ret = REAL(io_uring_setup)(entries, p);

	if (ret >= 0)
		ring_raw_setup("io_uring_setup()", p ? p->flags : 0);
	return ret;
}

/*
 * syscall(SYS_io_uring_setup, ...) from the program: a ring liburing's
 * queue functions never see.  Every other number, and this library's own
 * system calls (which bind here too), pass straight through.  Six
 * arguments are passed on whatever the number, as libc's syscall() reads
 * them.
 */
EXPORT long syscall(long nr, ...)
{
	va_list ap;
	long a[6], ret;
	int saved;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	ret = REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (__builtin_expect(nr == SYS_io_uring_setup, 0) && ret >= 0 &&
	    !real_is_ours(__builtin_return_address(0))) {
		saved = errno;
		ring_raw_setup("syscall(SYS_io_uring_setup)",
			       a[1] ? ((struct io_uring_params *)a[1])->flags : 0);
		errno = saved;
	}
	return ret;
}

/*
 * At exit: rings the library never saw set up (a static liburing, inline
 * system calls) are still open.  Only in a process that synced through the
 * library (it attached the latch table): the scan reads every fd's link,
 * and most processes, which never sync, must not pay for it at every exit.
 * stickysync status names running processes with such rings either way.
 */
__attribute__((destructor)) static void ring_at_exit(void)
{
	if (__atomic_load_n(&latch_attach_state, __ATOMIC_ACQUIRE) == LATCH_INIT_DONE)
		ring_report_unseen();
}
