/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "runtime.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtable.h"
#include "inject.h"
#include "log.h"
#include "state.h"
#include "sys.h"
#include "undo.h"

#define LOCAL_CAPACITY 1024u

struct runtime rt;
int io_gate;
/* ---- initialisation ------------------------------------------------------ */

/* The in-process table lives in .bss, formatted at init. */
static union {
	struct latch_header hdr;
	char bytes[sizeof(struct latch_header) + LOCAL_CAPACITY * sizeof(struct latch_record)];
} local_mem;

int latch_init_state;

/* A signal handler in the initialising thread may look at a table while
 * init sets it: the header, which says the table exists, is stored last,
 * after every other field. */
static void publish_table(struct latchtab *dst, const struct latchtab *src)
{
	struct latchtab body = *src;

	body.hdr = NULL;
	*dst = body;
	__atomic_store_n(&dst->hdr, src->hdr, __ATOMIC_RELEASE);
}

static void setup_local(void)
{
	struct latchtab t;

	latchtab_format(&local_mem, LOCAL_CAPACITY);
	latchtab_attach(&t, &local_mem, sizeof(local_mem));
	publish_table(&rt.local, &t);
}

static void report_state(const char *msg, const char *consequence)
{
	struct line l;

	line_init(&l);
	line_prefix(&l);
	line_str(&l, msg);
	line_str(&l, consequence);
	log_line(&l);
}

/* From the SIGBUS handler (state_guard): the log is async-signal-safe. */
static void report_state_fault(const char *line)
{
	report_state(line, "; new latches stay in this process");
}

static void setup_shared(const struct options *o)
{
	static struct state shared;
	char msg[STATE_MSG_MAX];

	if (o->state_mode != STATE_DIR)
		return;
	if (state_open(&shared, o->state_dir, true, o->state_capacity, msg, sizeof(msg)) != 0) {
		report_state(msg, "; latches are kept in this process only");
		return;
	}
	state_guard(&shared, o->state_dir, report_state_fault);
	if (shared.tab.readonly) {
		report_state(msg,
			     ": its latches are enforced, but new latches stay in this process");
		/* The local table numbers fds and latches from now on, from above
		 * every latch of the shared one: an fd opened from now on is not a
		 * witness of those (a process that can write the table, through
		 * another mount, may still number a later one below ours). */
		latchtab_seq_above(&rt.local, latchtab_seq(&shared.tab));
	}
	publish_table(&rt.shared, &shared.tab);
}

/*
 * Is another copy of the library loaded before this one?  Answered by the
 * wrapper layer (real.c), which can ask the loader; absent where the core
 * is linked without it (unit tests), where there is one copy.
 */
extern bool real_first_copy(void) __attribute__((weak));

/* A second copy changes no result, shares nothing, injects nothing and
 * reports nothing, or it would latch files again on the first copy's
 * refusals: decided before anything is attached or installed. */
static void make_passive(struct options *o)
{
	log_setup(o->log_mode, o->log_path, program_invocation_short_name);
	log_message("another copy of libstickysync.so is loaded before this one; this copy "
		    "stays passive");
	o->policy = POLICY_OBSERVE;
	o->state_mode = STATE_OFF;
	o->log_mode = LOG_OFF;
	o->inject[0] = '\0';
	o->xattr = false;
	o->nmsg = 0;
}

static void setup(const struct options *in)
{
	static struct options passive;
	const struct options *o = in;

	if (real_first_copy && !real_first_copy()) {
		passive = *in;
		make_passive(&passive);
		o = &passive;
	}
	rt.opt = *o;
	log_setup(o->log_mode, o->log_path, program_invocation_short_name);
	for (int i = 0; i < o->nmsg; i++)
		log_message(o->msg[i]);
	setup_local();
	setup_shared(o);
	inject_setup(o->inject);
	inject_set_report(o->inject_report);
	/* Only lose= rules record what writes overwrite. */
	if (inject_loses())
		undo_setup(o->inject_memory, o->tmpdir);
	io_gate = o->policy == POLICY_FAILSTOP || inject_active();
}

/* secure_getenv: in a setuid program (the library in /etc/ld.so.preload)
 * the caller's variables must not choose where root writes or what fails. */
static const char *env_lookup(const char *name)
{
	return secure_getenv(name);
}

/* Is thread tid of this process still there?  A child forked while
 * another thread ran init has no such thread. */
static bool thread_alive(pid_t tid)
{
	int saved = errno;
	bool alive = syscall(SYS_tgkill, (pid_t)syscall(SYS_getpid), tid, 0) == 0 || errno != ESRCH;

	errno = saved;
	return alive;
}

static void wait_for_init(int owner)
{
	struct timespec ms = {0, 1000000};

	syscall(SYS_futex, &latch_init_state, FUTEX_WAIT_PRIVATE, owner, &ms, NULL, 0);
}

/*
 * The caller runs init when it wins the state word.  Another thread running
 * it is waited for while it exists; one that is not in this process (a
 * child forked during init) is replaced.  This thread re-entering init (a
 * signal handler, or a wrapper called from init itself) does not wait, and
 * runs with what is set up so far.
 */
static bool claim_init(void)
{
	int self = (int)gettid();

	/* A child of vfork borrows its parent's memory, where a thread of the
	 * parent may be running init (and looks absent from here): it neither
	 * starts init nor waits, and runs with what is set up. */
	if (fd_in_vfork_child())
		return false;
	for (;;) {
		int state = 0;

		if (__atomic_compare_exchange_n(&latch_init_state, &state, self, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return true;
		if (state == LATCH_INIT_DONE || state == self)
			return false;
		if (!thread_alive(state))
			__atomic_compare_exchange_n(&latch_init_state, &state, 0, false,
						    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		else
			wait_for_init(state);
	}
}

static void init_done(void)
{
	__atomic_store_n(&latch_init_state, LATCH_INIT_DONE, __ATOMIC_RELEASE);
	syscall(SYS_futex, &latch_init_state, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

void latch_init(void)
{
	static struct options opt; /* too large for a small thread stack */

	int saved;

	if (__atomic_load_n(&latch_init_state, __ATOMIC_ACQUIRE) == LATCH_INIT_DONE)
		return;
	saved = errno; /* wrappers call this on their way to a success */
	if (claim_init()) {
		config_load(&opt, env_lookup, geteuid() == 0);
		setup(&opt);
		init_done();
	}
	errno = saved;
}

void latch_init_with(const struct options *o)
{
	memset(&rt, 0, sizeof(rt));
	memset(&local_mem, 0, sizeof(local_mem));
	setup(o);
	init_done();
}
