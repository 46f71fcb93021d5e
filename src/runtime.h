/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The runtime: the process-wide options and latch tables, set up once by
 * latch_init (from the environment) and read by everything above it.  It
 * owns rt, io_gate and the init protocol (latch_init_state); setting up the
 * options also sets up the fault injector and its undo store, which the
 * gate uses.
 */
#ifndef STICKYSYNC_RUNTIME_H
#define STICKYSYNC_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "latchtab.h"

/* The process-wide runtime, set up once by latch_init. */
struct runtime {
	struct options opt;
	struct latchtab shared; /* hdr NULL when there is none */
	struct latchtab local;	/* in-process latches: STICKYSYNC_STATE=off, or overflow */
};

/* Hidden, as their definitions are (-fvisibility=hidden): the other files
 * of the library then reach them directly, not through the GOT. */
#define RUNTIME_HIDDEN __attribute__((visibility("hidden")))

extern struct runtime rt RUNTIME_HIDDEN;
/* Non-zero when calls must pass through the gate (gate.h: failstop, the
 * fault injector); read on the hot path. */
extern int io_gate RUNTIME_HIDDEN;

/* Idempotent; safe to call from any wrapper, also before the constructor. */
void latch_init(void);
/* Set up from explicit options instead of the environment (unit tests). */
void latch_init_with(const struct options *o);

/* The table that numbers fds and latches: the shared one, unless this
 * process may not write it; then its own, numbered from above the shared
 * one's sequence number (see setup_shared). */
static inline struct latchtab *latch_seq_table(void)
{
	return rt.shared.hdr && !rt.shared.readonly ? &rt.shared : &rt.local;
}

/* The sequence number to stamp on an fd about to be opened. */
static inline uint64_t latch_seq_now(void)
{
	const struct latchtab *t = latch_seq_table();

	return t->hdr ? latchtab_seq(t) : 0;
}

/* 0: not started; LATCH_INIT_DONE; else the tid of the thread running it. */
extern int latch_init_state RUNTIME_HIDDEN;
#define LATCH_INIT_DONE (-1)

/* Is anything latched?  Initialises first if need be: a sync from another
 * library's constructor must see the shared table too. */
static inline bool latch_anything(void)
{
	if (__builtin_expect(
		__atomic_load_n(&latch_init_state, __ATOMIC_ACQUIRE) != LATCH_INIT_DONE, 0))
		latch_init();
	return latchtab_any_live(&rt.shared) || latchtab_any_live(&rt.local);
}

#endif
