/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The shapes of the interposed wrappers, one per class of symbols.def.  Each
 * makes the real call and hands its result to one function of the layer
 * below (the latch layer, or the fd table), which keeps the real call's
 * errno unless it changes the result; before the call, the gate may decide
 * the result (failstop, an injected failure).  A wrapper holds no policy:
 * what a result means is decided below it.
 *
 * Each macro checks, at compile time, that symbols.def gives its symbol the
 * class of the macro.  Used only by the wrap_*.c files.
 */
#ifndef STICKYSYNC_WRAP_H
#define STICKYSYNC_WRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "export.h"
#include "fdtable.h"
#include "gate.h"
#include "latch.h"
#include "real.h"
#include "ring.h"

enum wrap_class {
	WRAP_OPEN,
	WRAP_CLOSE,
	WRAP_DUP,
	WRAP_WRITE,
	WRAP_READ,
	WRAP_SYNC,
	WRAP_RING,
	WRAP_RING_SETUP,
	WRAP_AIO,
	WRAP_OTHER
};

#define SYM(name, ret, params, fallback, class) enum { wrap_class_##name = WRAP_##class };
#include "symbols.def"
#undef SYM

#define WRAP_CLASS(name, class)                                     \
	_Static_assert((int)wrap_class_##name == (int)WRAP_##class, \
		       #name ": not a " #class " wrapper")

/* OPEN: the gate sees a truncating open before it destroys what lose=old
 * would put back; the fd is stamped with the sequence number read before
 * the call. */
#define WRAP_OPEN(name, dirfd, path, flags, args)                    \
	do {                                                         \
		WRAP_CLASS(name, OPEN);                              \
		uint64_t seq_ = latch_seq_now();                     \
		if (__builtin_expect(io_gate, 0))                    \
			gate_open(dirfd, path, flags);               \
		return latch_opened(REAL(name) args, (flags), seq_); \
	} while (0)

/* CLOSE: what a failed close needs is learnt while the fd number is still
 * ours; the gate may fail the close (an injected failure). */
#define WRAP_CLOSE(name, op, fd, writing, args)                              \
	do {                                                                 \
		WRAP_CLASS(name, CLOSE);                                     \
		struct close_ctx c_;                                         \
		latch_close_prepare(fd, writing, gate_close_error(fd), &c_); \
		return latch_close_result(fd, op, &c_, REAL(name) args);     \
	} while (0)

/* DUP: the new fd (when dups says the call made one) shares oldfd's entry;
 * chosen: the caller named the new number. */
#define WRAP_DUP(name, oldfd, dups, chosen, args)                           \
	do {                                                                \
		WRAP_CLASS(name, DUP);                                      \
		return fd_dup_result(oldfd, REAL(name) args, dups, chosen); \
	} while (0)

/* READ: only ever refused (failstop); nothing is recorded. */
#define WRAP_READ(name, fd, args)                                  \
	do {                                                       \
		WRAP_CLASS(name, READ);                            \
		if (__builtin_expect(io_gate, 0) && gate_read(fd)) \
			return -1;                                 \
		return REAL(name) args;                            \
	} while (0)

/* SYNC: an injected failure skips the real call, as the kernel's own
 * failure would leave nothing more to write back; durable (latch.h) says
 * whether a success covers the fd's writes so far. */
#define WRAP_SYNC(name, fd, op, durable_, args)                                \
	do {                                                                   \
		WRAP_CLASS(name, SYNC);                                        \
		uint32_t gen_ = fd_gen(fd);                                    \
		bool durable = (durable_);                                     \
		int ret_;                                                      \
		if (__builtin_expect(io_gate, 0) && gate_sync(fd, op, &ret_))  \
			return latch_sync_result(fd, gen_, op, durable, ret_); \
		ret_ = REAL(name) args;                                        \
		if (__builtin_expect(io_gate, 0) && ret_ == 0 && durable)      \
			gate_synced(fd);                                       \
		return latch_sync_result(fd, gen_, op, durable, ret_);         \
	} while (0)

/* RING: a liburing call on ring (ring.h): completions are read before and
 * after it, and the SQEs it may publish (publishes) before it.  liburing's
 * calls of its own exported functions pass straight through. */
#define WRAP_RING(name, ring, publishes, args)                  \
	do {                                                    \
		WRAP_CLASS(name, RING);                         \
		struct ring_call c_;                            \
		__typeof__(REAL(name) args) ret_;               \
		if (!ring_call_begin(&c_, (ring), (publishes))) \
			return REAL(name) args;                 \
		ret_ = REAL(name) args;                         \
		ring_call_end(&c_);                             \
		return ret_;                                    \
	} while (0)

/*
 * WRITE: the hot path, as two functions.  The hot one only keeps fd alive
 * across the real call; the cold one, reached by a tail call, resolves the
 * real function on first use and applies the gate when failstop or the
 * injector is on.  Keeping both out of the hot path spares it the register
 * spills they would need.  result is the latch's function of ret_.
 */
#define WRAP_WRITE_R(name, params, args, gate, result)                                        \
	static __attribute__((noinline, cold)) ssize_t slow_##name params                     \
	{                                                                                     \
		ssize_t ret_;                                                                 \
		if (io_gate && (gate))                                                        \
			return ret_;                                                          \
		ret_ = REAL(name) args;                                                       \
		return result;                                                                \
	}                                                                                     \
	EXPORT ssize_t name params                                                            \
	{                                                                                     \
		WRAP_CLASS(name, WRITE);                                                      \
		__typeof__(real_##name) fn = __atomic_load_n(&real_##name, __ATOMIC_RELAXED); \
		ssize_t ret_;                                                                 \
		if (__builtin_expect(io_gate || !fn, 0))                                      \
			return slow_##name args;                                              \
		ret_ = fn args;                                                               \
		return result;                                                                \
	}

#define WRAP_WRITE(name, op, params, args, gate) \
	WRAP_WRITE_R(name, params, args, gate, latch_write_result(fd, op, ret_))

#endif
