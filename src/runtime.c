/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "runtime.h"

#include <errno.h>
#include <signal.h>
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
int latch_attach_state;

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
	struct latchtab t = {0};

	latchtab_format(&local_mem, LOCAL_CAPACITY);
	latchtab_attach(&t, &local_mem, sizeof(local_mem));
	t.boot = 1; /* every record in it is this process's */
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

/* Options, the local table and the injector: what open, write and close
 * need.  The shared table is attached later (latch_attach). */
static void setup(const struct options *in)
{
	const struct options *o = &rt.opt;

	if (in != &rt.opt)
		rt.opt = *in;
	if (real_first_copy && !real_first_copy())
		make_passive(&rt.opt);
	log_setup(o->log_mode, o->log_path, program_invocation_short_name);
	for (int i = 0; i < o->nmsg; i++)
		log_message(o->msg[i]);
	setup_local();
	inject_setup(o->inject);
	inject_set_report(o->inject_report);
	/* Only lose= rules record what writes overwrite. */
	if (inject_loses())
		undo_setup(o->inject_memory, o->tmpdir);
	io_gate = o->policy == POLICY_FAILSTOP || inject_active();
}

extern char **environ;

/* s past prefix, or NULL if it does not start with it. */
static const char *past(const char *s, const char *prefix)
{
	while (*prefix && *s == *prefix)
		s++, prefix++;
	return *prefix ? NULL : s;
}

/*
 * The library's own variables (STICKYSYNC_*), gathered in one pass over the
 * environment the first time one is asked for (init runs once, in one
 * thread): most processes set none or a few, and a lookup each would scan
 * the whole environment a dozen times at every start.
 */
#define ENV_OURS_MAX 32
static const char *env_ours[ENV_OURS_MAX];
static int env_nours = -1;

static bool env_overflow; /* more than fit: every lookup asks libc */

static void gather_ours(void)
{
	int n = 0;

	for (char **e = environ; e && *e; e++) {
		if (!past(*e, "STICKYSYNC_"))
			continue;
		if (n == ENV_OURS_MAX) {
			env_overflow = true;
			break;
		}
		env_ours[n++] = *e;
	}
	env_nours = n;
}

/* secure_getenv's answer: in a setuid program (the library in
 * /etc/ld.so.preload) the caller's variables must not choose where root
 * writes or what fails. */
static const char *env_lookup(const char *name)
{
	static int hidden = -1; /* libc hides them all, or none */
	const char *v;

	if (!past(name, "STICKYSYNC_"))
		return secure_getenv(name);
	if (env_nours < 0)
		gather_ours();
	if (env_overflow)
		return secure_getenv(name);
	for (int i = 0; i < env_nours; i++) {
		if (!(v = past(env_ours[i], name)) || *v != '=')
			continue;
		if (hidden < 0)
			hidden = secure_getenv(name) == NULL;
		return hidden ? NULL : v + 1;
	}
	return NULL;
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

/* Set by any thread that ever waited for a step (sequentially consistent
 * with the state words: a finishing owner either sees it, or the waiter's
 * futex sees the word already done).  The wait is bounded anyway. */
static int claim_waited;

static void wait_for_owner(int *word, int owner)
{
	struct timespec ms = {0, 1000000};

	__atomic_store_n(&claim_waited, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, owner, &ms, NULL, 0);
}

/*
 * The protocol of a once-only step (init, attach), on its state word: 0,
 * LATCH_INIT_DONE, or the tid of the thread running it.  The caller runs
 * the step when it wins the word.  Another thread running it is waited for
 * while it exists; one that is not in this process (a child forked during
 * the step) is replaced.  This thread re-entering the step (a signal
 * handler, or a wrapper called from the step itself) does not wait, and
 * runs with what is set up so far.
 */
static bool claim(int *word)
{
	int self = (int)sys_gettid();

	/* A child of vfork borrows its parent's memory, where a thread of the
	 * parent may be running init (and looks absent from here): it neither
	 * starts init nor waits, and runs with what is set up. */
	if (fd_in_vfork_child())
		return false;
	for (;;) {
		int state = 0;

		if (__atomic_compare_exchange_n(word, &state, self, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return true;
		if (state == LATCH_INIT_DONE || state == self)
			return false;
		if (!thread_alive(state))
			__atomic_compare_exchange_n(word, &state, 0, false, __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE);
		else
			wait_for_owner(word, state);
	}
}

/* The common case, nobody waiting, costs no system call. */
static void claim_done(int *word)
{
	__atomic_store_n(word, LATCH_INIT_DONE, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&claim_waited, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

void latch_init(void)
{
	int saved;

	if (__atomic_load_n(&latch_init_state, __ATOMIC_ACQUIRE) == LATCH_INIT_DONE)
		return;
	saved = errno; /* wrappers call this on their way to a success */
	if (claim(&latch_init_state)) {
		/* rt.opt is written here only, before the word says done */
		config_load(&rt.opt, env_lookup, sys_geteuid() == 0);
		setup(&rt.opt);
		claim_done(&latch_init_state);
	}
	errno = saved;
}

/* Signals a fault raises in the thread that caused it. */
static const int sync_signals[] = {SIGBUS, SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGSYS};

void latch_attach(void)
{
	int saved;

	latch_init();
	if (__atomic_load_n(&latch_attach_state, __ATOMIC_ACQUIRE) == LATCH_INIT_DONE)
		return;
	saved = errno;
	if (claim(&latch_attach_state)) {
		sigset_t all, old;

		/* A handler that syncs while this thread attaches would find
		 * the step its own and go on without the table (its latch would
		 * stay in this process), and one that jumps out of it would
		 * leave the step claimed for ever: asynchronous signals wait.
		 * Faults stay deliverable (the state guard catches SIGBUS). */
		sigfillset(&all);
		for (size_t i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
			sigdelset(&all, sync_signals[i]);
		sys_call(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, (long)&old, _NSIG / 8);
		setup_shared(&rt.opt);
		claim_done(&latch_attach_state);
		sys_call(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, _NSIG / 8);
	}
	errno = saved;
}

void latch_init_with(const struct options *o)
{
	memset(&rt, 0, sizeof(rt));
	memset(&local_mem, 0, sizeof(local_mem));
	setup(o);
	claim_done(&latch_init_state);
	__atomic_store_n(&latch_attach_state, 0, __ATOMIC_RELEASE);
	latch_attach();
}
