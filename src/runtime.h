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
#include "fdtable.h"
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

/*
 * Two once-only steps, each idempotent and safe to call from any wrapper,
 * also before the constructor.  latch_init reads the options and sets up
 * the in-process table and the injector: what opening, writing and closing
 * need, run by the constructor.  latch_attach (which runs latch_init first)
 * attaches the shared table in the state folder: only the first call that
 * needs latches (a sync, a failure, the API) pays for it, so a process that
 * never syncs never opens the state folder.  Until then, fds are stamped
 * with the time instead of a table sequence number (latch_seq_now).
 */
void latch_init(void);
void latch_attach(void);
/* Set up from explicit options instead of the environment (unit tests). */
void latch_init_with(const struct options *o);

/* The table that numbers fds and latches: the shared one, unless this
 * process may not write it; then its own, numbered from above the shared
 * one's sequence number (see setup_shared). */
static inline struct latchtab *latch_seq_table(void)
{
	return rt.shared.hdr && !rt.shared.readonly ? &rt.shared : &rt.local;
}

/* Each: 0, not started; LATCH_INIT_DONE; else the tid of the thread running
 * it. */
extern int latch_init_state RUNTIME_HIDDEN;
extern int latch_attach_state RUNTIME_HIDDEN;
#define LATCH_INIT_DONE (-1)

/* The stamp (fdtable.h) for an fd about to be opened or released: the
 * sequence number of the table that numbers latches, or, before it is
 * attached, the time (coarse: see fd_stamp_time). */
static inline uint64_t latch_stamp(bool coarse)
{
	const struct latchtab *t;

	if (__builtin_expect(
		__atomic_load_n(&latch_attach_state, __ATOMIC_ACQUIRE) != LATCH_INIT_DONE, 0))
		return fd_stamp_time(coarse);
	t = latch_seq_table();
	return t->hdr ? latchtab_seq(t) : 0;
}

/* For an fd about to be opened, dated precisely. */
static inline uint64_t latch_seq_now(void)
{
	return latch_stamp(false);
}

/* For a number about to be released. */
static inline uint64_t latch_release_stamp(void)
{
	return latch_stamp(true);
}

/* Everything that reads or writes latches calls this first. */
static inline void latch_ready(void)
{
	if (__builtin_expect(
		__atomic_load_n(&latch_attach_state, __ATOMIC_ACQUIRE) != LATCH_INIT_DONE, 0))
		latch_attach();
}

/* Is anything latched?  Attaches first if need be: a sync from another
 * library's constructor must see the shared table too. */
static inline bool latch_anything(void)
{
	latch_ready();
	return latchtab_any_live(&rt.shared) || latchtab_any_live(&rt.local);
}

#endif
