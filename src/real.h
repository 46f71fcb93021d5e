/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Pointers to the next definition of each interposed symbol (normally libc's,
 * or another preloaded library's placed after this one).  Each is resolved
 * at its wrapper's first call: a wrapper works even when called from another
 * library's constructor before ours has run, and a process pays only for the
 * calls it makes.  dlsym takes the loader's lock, which is recursive, so a
 * first call from a signal handler is safe even if it interrupted the loader.
 */
#ifndef STICKYSYNC_REAL_H
#define STICKYSYNC_REAL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <signal.h>
#include <sys/uio.h>
#include <time.h>

/* The liburing and libaio types, by name only: this library reads their
 * layouts where it must (ring.h, aio.h), and includes neither header. */
struct io_uring;
struct io_uring_cqe;
struct io_uring_params;
struct __kernel_timespec;
struct io_context;
struct iocb;
struct io_event;

#define SYM(name, ret, params, fallback, class) \
	extern ret(*real_##name) params;        \
	ret fallback params;
#include "symbols.def"
#undef SYM

/* The interposed names of the libraries whose headers are not included. */
#define SYM_PROTO_RING(name, ret, params) ret name params;
#define SYM_PROTO_RING_SETUP SYM_PROTO_RING
#define SYM_PROTO_AIO SYM_PROTO_RING
#define SYM_PROTO_OPEN(name, ret, params)
#define SYM_PROTO_CLOSE SYM_PROTO_OPEN
#define SYM_PROTO_DUP SYM_PROTO_OPEN
#define SYM_PROTO_WRITE SYM_PROTO_OPEN
#define SYM_PROTO_READ SYM_PROTO_OPEN
#define SYM_PROTO_SYNC SYM_PROTO_OPEN
#define SYM_PROTO_OTHER SYM_PROTO_OPEN
#define SYM(name, ret, params, fallback, class) SYM_PROTO_##class(name, ret, params)
#include "symbols.def"
#undef SYM

/*
 * Resolve name into *slot: the next definition in the lookup order, or
 * fallback when there is none or it is this library's own wrapper (loaded
 * twice, or reached through an unusual lookup order), which would call
 * itself forever.  Returns what it stored.
 */
void *real_resolve(const char *name, void **slot, void *fallback);
/* Is this the first copy of the library in the lookup order (the one whose
 * wrappers the program calls first)?  Two copies are loaded when, say, one
 * is in /etc/ld.so.preload and another in LD_PRELOAD. */
bool real_first_copy(void);
/* Is addr (a return address, say) inside this library? */
bool real_is_ours(const void *addr);

/*
 * REAL(fsync) evaluates to the real fsync, resolving it on first use; never
 * NULL.  The common case is one load and a predicted branch.
 */
#define REAL(name) real_get_##name()

/* One relaxed atomic load each (several threads may resolve at once, and
 * each stores the same answer). */
#define SYM(name, ret, params, fallback, class)                                               \
	static inline __typeof__(real_##name) real_get_##name(void)                           \
	{                                                                                     \
		__typeof__(real_##name) fn = __atomic_load_n(&real_##name, __ATOMIC_RELAXED); \
		if (__builtin_expect(fn != NULL, 1))                                          \
			return fn;                                                            \
		return (__typeof__(real_##name))real_resolve(#name, (void **)&real_##name,    \
							     (void *)fallback);               \
	}
#include "symbols.def"
#undef SYM

#endif
