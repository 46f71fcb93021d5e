/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "latch.h"
#include "strcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "gate.h"
#include "inject.h"
#include "log.h"
#include "procmaps.h"
#include "stickysync.h"
#include "state.h"
#include "sys.h"

#define LOCAL_CAPACITY 1024u

struct runtime rt;
int io_gate;

static const char *const op_names[OP_COUNT] = {
    [OP_FSYNC] = "fsync",
    [OP_FDATASYNC] = "fdatasync",
    [OP_SYNC_FILE_RANGE] = "sync_file_range",
    [OP_MSYNC] = "msync",
    [OP_SYNCFS] = "syncfs",
    [OP_SYNC] = "sync",
    [OP_WRITE] = "write",
    [OP_PWRITE] = "pwrite",
    [OP_WRITEV] = "writev",
    [OP_PWRITEV] = "pwritev",
    [OP_FTRUNCATE] = "ftruncate",
    [OP_READ] = "read",
    [OP_CLOSE] = "close",
    [OP_FCLOSE] = "fclose",
};

const char *op_name(enum op op)
{
	return (unsigned)op < OP_COUNT ? op_names[op] : "?";
}

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

static void setup(const struct options *o)
{
	rt.opt = *o;
	log_setup(o->log_mode, o->log_path, program_invocation_short_name);
	for (int i = 0; i < o->nmsg; i++)
		log_message(o->msg[i]);
	setup_local();
	setup_shared(o);
	inject_setup(o->inject, o->inject_memory, o->tmpdir);
	io_gate = o->policy == POLICY_FAILSTOP || inject_active();
}

void latch_make_passive(const char *why)
{
	log_message(why);
	rt.opt.policy = POLICY_OBSERVE;
	log_setup(LOG_OFF, "", program_invocation_short_name);
	__atomic_store_n(&rt.shared.hdr, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&io_gate, 0, __ATOMIC_RELEASE);
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

/* ---- recording failures -------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct latchtab *seq_table(void)
{
	return latch_seq_table();
}

static const char *next_step(void)
{
	switch (rt.opt.policy) {
	case POLICY_FAILSTOP:
		return "later reads, writes and syncs of this file fail with EIO until it is "
		       "reopened "
		       "and the loss acknowledged";
	case POLICY_ABORT:
		return "aborting";
	case POLICY_OBSERVE:
		return "observe policy: results are not changed, and a retried sync may report "
		       "success although the data is lost";
	case POLICY_STICKY:
		break;
	}
	return "later syncs of this file fail with EIO until it is reopened and the loss "
	       "acknowledged";
}

/* record_failure before init set up any table. */
#define LATCH_NO_TABLE_YET (-2)

static void report_failure(const struct latch_event *ev, int fd, int stored)
{
	struct line l;

	line_init(&l);
	line_prefix(&l);
	line_str(&l, ev->op);
	line_str(&l, "(");
	if (fd >= 0) {
		line_str(&l, "fd ");
		line_int(&l, fd);
		line_str(&l, ", ");
	}
	line_str(&l, ev->path[0] ? ev->path : "?");
	line_str(&l, ") failed: ");
	line_errno(&l, ev->error);
	line_str(&l, "; ");
	line_str(&l, next_step());
	if (stored == LATCH_NO_TABLE_YET)
		line_str(&l, "; the library was still starting: only this fd stays latched");
	else if (stored < 0)
		line_str(&l, "; LATCH TABLE FULL: only fds of this process that saw the error "
			     "stay latched");
	else if (stored == 2)
		line_str(&l, "; the shared latch table is full: latched in this process only");
	log_line(&l);
}

/*
 * Latch key in the shared table, pruning it when full, else in this
 * process's table.  Returns 0 or 1 (see latchtab_latch), 2 when only the
 * local table had room, -1 when no table had.
 */
static int store_latch(const struct latch_event *ev, uint64_t seq)
{
	int ret;

	if (rt.shared.hdr && !rt.shared.readonly) {
		ret = latchtab_latch(&rt.shared, ev, seq);
		/* Only acknowledged records of vanished files make room: an
		 * unacknowledged path may have been renamed, not deleted. */
		if (ret < 0 && state_prune_gone(&rt.shared, false) > 0)
			ret = latchtab_latch(&rt.shared, ev, seq);
		if (ret >= 0)
			return ret;
	}
	ret = latchtab_latch(&rt.local, ev, seq);
	if (ret >= 0 && rt.shared.hdr && !rt.shared.readonly)
		return 2;
	return ret;
}

/* Record that a sync of key (through fd in its lifetime gen, or fd -1)
 * failed with err. */
static void record_failure(int fd, uint32_t gen, const struct file_key *key, enum op op, int err,
			   const char *path)
{
	char buf[REC_PATH_MAX];
	struct latch_event ev = {
	    .key = *key,
	    .error = err,
	    .op = op_name(op),
	    .prog = log_prog(),
	    .pid = getpid(),
	    .when_ns = now_ns(),
	};
	int stored;

	if (fd >= 0 && ev.key.kind == KEY_FILE)
		key_add_generation(&ev.key, fd);
	if (!path) {
		fd_path(fd, buf, sizeof(buf));
		path = buf;
	}
	ev.path = path;
	if (__atomic_load_n(&rt.local.hdr, __ATOMIC_ACQUIRE)) {
		stored = store_latch(&ev, latchtab_next_seq(seq_table()));
		/* Move the sequence again now that the record is visible: a
		 * sync that judged its fd clean between the two numbers must
		 * judge again. */
		latchtab_next_seq(seq_table());
	} else {
		/* A signal handler (or a wrapper called from init) in the
		 * thread running init, before the tables exist. */
		stored = LATCH_NO_TABLE_YET;
	}
	fd_mark_witness(fd, gen, err);
	report_failure(&ev, fd, stored);
	if (rt.opt.policy == POLICY_ABORT)
		abort();
}

static bool not_applicable(int err)
{
	return err == EBADF || err == EINVAL || err == EINTR || err == ENOSYS ||
	       err == EOPNOTSUPP || err == ENOTSUP;
}

static bool write_error_latches(int err)
{
	return err == EIO || err == ENOSPC || err == EDQUOT;
}

/* ---- judging later calls ------------------------------------------------- */

struct verdict {
	bool latched;		/* the call must not report success */
	bool witness;		/* this fd existed when the latch happened */
	int fd_error;		/* the fd's own latch, when no record says more */
	struct latch_view view; /* the record to report, when found */
};

/* The newer of two lookups of one key in the shared and local tables. */
static void merge_view(struct latch_view *into, const struct latch_view *v)
{
	if (!v->found)
		return;
	into->active |= v->active;
	if (!into->found || v->latch_seq > into->latch_seq) {
		into->latch_seq = v->latch_seq;
		into->tab = v->tab;
		into->slot = v->slot;
	}
	into->found = true;
}

static void lookup_both(const struct file_key *key, struct latch_view *v)
{
	struct latch_view lv;

	v->found = false;
	v->active = false;
	v->latch_seq = 0;
	if (latchtab_any_live(&rt.shared))
		latchtab_lookup(&rt.shared, key, v);
	if (latchtab_any_live(&rt.local)) {
		latchtab_lookup(&rt.local, key, &lv);
		merge_view(v, &lv);
	}
}

static void judge_view(int fd, uint32_t gen, const struct latch_view *view, struct verdict *v)
{
	bool witness;

	if (!view->found)
		return;
	witness = fd >= 0 && fd_opened_before(fd, gen, view->latch_seq);
	if (!view->active && !witness)
		return;
	if (!v->view.found)
		v->view = *view;
	v->latched = true;
	v->witness |= witness;
}

static void judge(int fd, uint32_t gen, struct file_key *key, struct verdict *v)
{
	struct latch_view view;
	struct file_key fs;

	v->latched = false;
	v->witness = false;
	v->view.found = false;
	v->fd_error = fd_witness_error(fd, gen);
	if (v->fd_error) {
		v->latched = true;
		v->witness = true;
	}
	lookup_both(key, &view);
	/* A match on birth time alone may be a file recreated within one clock
	 * tick: the generation, where there is one, decides. */
	if (view.found && !(key->flags & KEYF_GEN) && fd >= 0) {
		key_add_generation(key, fd);
		if (key->flags & KEYF_GEN)
			lookup_both(key, &view);
	}
	judge_view(fd, gen, &view, v);
	if (latchtab_any_fs(&rt.shared) || latchtab_any_fs(&rt.local)) {
		key_fs_of(key, &fs);
		lookup_both(&fs, &view);
		judge_view(fd, gen, &view, v);
	}
	if (v->witness)
		fd_mark_witness(fd, gen, v->fd_error ? v->fd_error : EIO);
}

/* What to say about the latch behind a verdict. */
static void verdict_record(const struct verdict *v, struct latch_record *rec)
{
	if (latchtab_view_record(&v->view, rec))
		return;
	memset(rec, 0, sizeof(*rec));
	rec->error = v->fd_error ? v->fd_error : EIO;
	memcpy(rec->op, "sync", 5);
}

static void report_refusal(int fd, uint32_t gen, enum op op, const struct verdict *v)
{
	struct latch_record rec;
	char path[REC_PATH_MAX];
	struct line l;

	if (fd >= 0 && fd_set_flags(fd, gen, FD_REPORTED))
		return;
	verdict_record(v, &rec);
	line_init(&l);
	line_prefix(&l);
	line_str(&l, op_name(op));
	line_str(&l, "(");
	if (fd >= 0) {
		fd_path(fd, path, sizeof(path));
		line_str(&l, "fd ");
		line_int(&l, fd);
		line_str(&l, ", ");
		line_str(&l, path);
	} else {
		line_str(&l, rec.path);
	}
	if (rt.opt.policy == POLICY_OBSERVE)
		line_str(&l, ") succeeded after an earlier failure (");
	else
		line_str(&l, ") returns EIO: the file lost data (");
	line_str(&l, rec.op);
	line_str(&l, " failed with ");
	line_str(&l, errno_name(rec.error));
	if (rec.pid) {
		line_str(&l, " in pid ");
		line_int(&l, rec.pid);
	}
	if (rt.opt.policy == POLICY_OBSERVE)
		line_str(&l, "); on Linux a retried sync does not mean the data is on disk");
	else if (v->witness)
		line_str(&l, "); this fd saw the loss and stays latched until closed");
	else
		line_str(&l, "); acknowledge on a fresh fd or with `stickysync ack`");
	log_line(&l);
}

/* A call on a latched file reported success: apply the policy. */
static int refuse(int fd, uint32_t gen, enum op op, const struct verdict *v, int ok, int saved)
{
	report_refusal(fd, gen, op, v);
	switch (rt.opt.policy) {
	case POLICY_OBSERVE:
		errno = saved;
		return ok;
	case POLICY_ABORT:
		abort();
	case POLICY_STICKY:
	case POLICY_FAILSTOP:
		break;
	}
	errno = EIO;
	return -1;
}

/* ---- entry points -------------------------------------------------------- */

/* fd's identity, read from the kernel; the fd table entry is checked
 * against it and caches it.  *gen follows the entry if the number turns
 * out to have been reused behind the shim's back. */
static int fd_key_fresh(int fd, uint32_t *gen, struct file_key *key)
{
	if (key_from_fd(fd, key) != 0)
		return -1;
	*gen = fd_validate(fd, *gen, key);
	return 0;
}

/* fd's identity: cached in its entry, else read from the kernel.  Returns
 * 1 when it came from the cache, 0 when fresh, -1 on error. */
static int fd_key(int fd, uint32_t *gen, struct file_key *key)
{
	if (fd_cached_key(fd, *gen, key))
		return 1;
	return fd_key_fresh(fd, gen, key);
}

/*
 * Judge a call on fd by its cached identity, but never refuse it on the
 * cache's word alone: a refusal is confirmed against the kernel's identity,
 * so a stale entry cannot cause a wrong latch.
 */
static int judge_once(int fd, uint32_t *gen, struct file_key *key, struct verdict *v)
{
	int from_cache = fd_key(fd, gen, key);

	if (from_cache < 0)
		return -1;
	judge(fd, *gen, key, v);
	if (v->latched && from_cache == 1) {
		if (fd_key_fresh(fd, gen, key) != 0)
			return -1;
		judge(fd, *gen, key, v);
	}
	return 0;
}

/*
 * The fd may be replaced (dup2 onto it, a close and reopen) while the call
 * runs: judge the description it holds now, and again if it changes while
 * judging.  If it keeps changing, the call is judged for its file alone, as
 * for an fd nothing is known about except that it is not the old one: only
 * an unacknowledged latch refuses it.
 */
static int judge_fd(int fd, uint32_t *gen, struct file_key *key, struct verdict *v)
{
	for (int tries = 0; tries < 8; tries++) {
		*gen = fd_gen(fd);
		if (judge_once(fd, gen, key, v) != 0)
			return -1;
		if (fd_gen(fd) == *gen)
			return 0;
	}
	if (key_from_fd(fd, key) != 0)
		return -1;
	judge(-1, 0, key, v);
	return 0;
}

int latch_sync_result(int fd, uint32_t gen, enum op op, bool durable, int ret)
{
	int saved = errno;
	struct file_key key;
	struct verdict v;
	uint64_t now;

	if (ret == 0 && !fd_latched(fd) && !latch_anything()) {
		/* the common case: nothing latched anywhere */
		if (durable)
			fd_mark_synced(fd);
		return 0;
	}
	if (ret < 0 && not_applicable(saved))
		return ret;
	latch_init();
	if (ret < 0) {
		/* a failure is rare: ask the kernel, do not trust a cache */
		if (fd_key_fresh(fd, &gen, &key) == 0)
			record_failure(fd, gen, &key, op, saved, NULL);
		errno = saved;
		return ret;
	}
	now = latch_seq_now();
	if (!fd_latched(fd) && fd_clean_at(fd, gen, now))
		goto clean; /* nothing latched or acknowledged since it was judged clean */
	if (judge_fd(fd, &gen, &key, &v) != 0) {
		errno = saved;
		return ret;
	}
	if (v.latched)
		return refuse(fd, gen, op, &v, ret, saved);
	fd_set_clean(fd, gen, now);
clean:
	if (durable)
		fd_mark_synced(fd);
	errno = saved;
	return ret;
}

int latch_syncfs_result(int fd, int ret)
{
	int saved = errno;
	struct file_key key, fs;
	struct verdict v = {0};

	if (ret == 0 && !latch_anything())
		return 0;
	if (ret < 0 && not_applicable(saved))
		return ret;
	latch_init();
	if (key_from_fd(fd, &key) != 0) {
		errno = saved;
		return ret;
	}
	key_fs_of(&key, &fs);
	if (ret < 0) {
		record_failure(fd, fd_gen(fd), &fs, OP_SYNCFS, saved, NULL);
		errno = saved;
		return ret;
	}
	if (!latchtab_dev_active(&rt.shared, key.dev, &v.view) &&
	    !latchtab_dev_active(&rt.local, key.dev, &v.view)) {
		errno = saved;
		return ret;
	}
	v.latched = true;
	return refuse(fd, fd_gen(fd), OP_SYNCFS, &v, ret, saved);
}

/* A failed write that was a sync: latch its file. */
static ssize_t sync_write_failed(int fd, enum op op, ssize_t ret)
{
	int saved = errno;
	uint32_t gen = fd_gen(fd);
	struct file_key key;

	if (!write_error_latches(saved) || key_from_fd(fd, &key) != 0) {
		errno = saved;
		return ret;
	}
	latch_init();
	gen = fd_validate(fd, gen, &key);
	record_failure(fd, gen, &key, op, saved, NULL);
	errno = saved;
	return ret;
}

ssize_t latch_write_failed(int fd, enum op op, ssize_t ret)
{
	int saved = errno, oflags;

	if (!write_error_latches(saved))
		return ret;
	oflags = sys_fcntl(fd, F_GETFL, 0);
	errno = saved;
	if (oflags < 0 || !(oflags & O_DSYNC))
		return ret;
	return sync_write_failed(fd, op, ret);
}

/* A successful write to an O_SYNC/O_DSYNC fd is a sync of a latched file. */
static ssize_t dsync_write_done(int fd, enum op op, ssize_t ret)
{
	int saved = errno;
	uint32_t gen = fd_gen(fd);
	struct file_key key;
	struct verdict v;

	if (!fd_latched(fd) && !latch_anything())
		return ret;
	latch_init();
	if (judge_fd(fd, &gen, &key, &v) != 0) {
		errno = saved;
		return ret;
	}
	if (!v.latched) {
		errno = saved;
		return ret;
	}
	return refuse(fd, gen, op, &v, (int)ret, saved) < 0 ? -1 : ret;
}

/* Returns the fd's write state before. */
static uint8_t mark_written(int fd)
{
	uint8_t st;

	if ((unsigned)fd >= FDTAB_SIZE)
		return 0;
	st = __atomic_load_n(&fdtab[fd].wstate, __ATOMIC_RELAXED);
	if (st & W_NOTE)
		__atomic_store_n(&fdtab[fd].wstate, (st & ~W_NOTE) | W_WRITTEN, __ATOMIC_RELAXED);
	return st;
}

ssize_t latch_sync_write_result(int fd, enum op op, ssize_t ret)
{
	if (ret < 0)
		return sync_write_failed(fd, op, ret);
	mark_written(fd);
	return dsync_write_done(fd, op, ret);
}

ssize_t latch_write_noted(int fd, enum op op, ssize_t ret)
{
	return (mark_written(fd) & W_DSYNC) ? dsync_write_done(fd, op, ret) : ret;
}

bool latch_io_refused(int fd, enum op op)
{
	int saved = errno;
	uint32_t gen = fd_gen(fd);
	struct file_key key;
	struct verdict v;

	if (rt.opt.policy != POLICY_FAILSTOP)
		return false;
	if (!fd_latched(fd) && !latch_anything())
		return false;
	if (judge_fd(fd, &gen, &key, &v) != 0) {
		errno = saved;
		return false;
	}
	if (!v.latched) {
		errno = saved;
		return false;
	}
	refuse(fd, gen, op, &v, 0, saved);
	return true;
}

/*
 * Before the real close: learn what a failed close would need, then release
 * the fd's entry, while the number is still ours (after the real close it
 * belongs to whichever thread opens next).
 */
void latch_close_prepare(int fd, bool writing, struct close_ctx *c)
{
	struct fd_entry *e = fd_entry(fd);

	c->have_key = false;
	c->path[0] = '\0';
	c->inject_error = __builtin_expect(io_gate, 0) ? gate_close(fd) : 0;
	/* Only an fd with unsynced writes can lose data at close; only then is
	 * its identity worth a system call. */
	if (writing || (e && (__atomic_load_n(&e->wstate, __ATOMIC_RELAXED) & W_WRITTEN)) ||
	    c->inject_error) {
		int saved = errno;

		c->have_key = key_from_fd(fd, &c->key) == 0;
		if (c->have_key)
			fd_path(fd, c->path, sizeof(c->path));
		errno = saved;
	}
	fd_release(fd, latch_seq_now()); /* makes no failing call: errno is kept */
}

int latch_close_result(int fd, enum op op, const struct close_ctx *c, int ret)
{
	int saved = errno;

	if (c->inject_error && ret == 0) {
		ret = -1;
		saved = c->inject_error;
	}
	if (ret == 0 || !write_error_latches(saved) || !c->have_key)
		return ret;
	latch_init();
	record_failure(-1, 0, &c->key, op, saved, c->path);
	errno = saved;
	return ret;
}

/*
 * Acknowledge key's latches (and its filesystem's, through its root) that
 * are not newer than upto.  Returns how many; -1 when a newer one was left
 * latched.
 */
static int acknowledge(const struct file_key *key, uint64_t upto)
{
	struct latchtab *tabs[2] = {rt.shared.hdr ? &rt.shared : NULL, &rt.local};
	uint64_t seq = latchtab_next_seq(seq_table());
	int64_t now = now_ns();
	bool newer = false;
	struct file_key fs;
	int n = 0;

	key_fs_of(key, &fs);
	for (int i = 0; i < 2; i++) {
		if (!tabs[i])
			continue;
		n += latchtab_acknowledge(tabs[i], key, upto, seq, now, &newer);
		if (key_is_mount_root(key))
			n += latchtab_acknowledge(tabs[i], &fs, upto, seq, now, &newer);
	}
	return newer ? -1 : n;
}

/* An unacknowledged latch of key in a shared table this process may only
 * read: acknowledging it here would change nothing. */
static bool latched_read_only(const struct file_key *key)
{
	struct latch_view view;

	if (!rt.shared.readonly || !latchtab_any_active(&rt.shared))
		return false;
	latchtab_lookup(&rt.shared, key, &view);
	return view.active;
}

/* For the API: fd's verdict, by the kernel's identity; -1 with EBADF. */
static int api_judge(int fd, uint32_t *gen, struct file_key *key, struct verdict *v)
{
	latch_init();
	*gen = fd_gen(fd);
	if (fd_key_fresh(fd, gen, key) != 0) {
		errno = EBADF;
		return -1;
	}
	judge(fd, *gen, key, v);
	return 0;
}

int latch_acknowledge_fd(int fd)
{
	struct file_key key;
	struct verdict v;
	char path[REC_PATH_MAX];
	struct line l;
	uint32_t gen;
	int n;

	if (api_judge(fd, &gen, &key, &v) != 0)
		return -1;
	if (v.witness) {
		errno = EBUSY;
		return -1;
	}
	if (!v.latched)
		return 0;
	if (latched_read_only(&key)) {
		errno = EROFS;
		return -1;
	}
	/* Only losses older than this fd: one that happens meanwhile was
	 * witnessed by it, and stays latched. */
	n = acknowledge(&key, fd_created_after(fd, gen));
	if (n < 0) {
		errno = EBUSY;
		return -1;
	}
	if (n == 0)
		return 0;
	/* The page cache may still hold what never reached the disk, marked
	 * clean: drop it, so that reads after the acknowledgment show what
	 * the file really holds. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	fd_path(fd, path, sizeof(path));
	line_init(&l);
	line_prefix(&l);
	line_str(&l, "loss on ");
	line_str(&l, path);
	line_str(&l, " acknowledged through fd ");
	line_int(&l, fd);
	line_str(&l, "; fds opened before the loss stay latched");
	log_line(&l);
	return 0;
}

/* ---- msync --------------------------------------------------------------- */

int latch_msync_result(void *addr, size_t len, int flags, int ret)
{
	int saved = errno;
	char path[REC_PATH_MAX];
	struct file_key key;
	struct latch_view view;
	struct verdict v = {0};

	(void)len;
	if (!(flags & MS_SYNC) || (ret == 0 && !latch_anything()))
		return ret;
	if (ret < 0 && (not_applicable(saved) || saved == ENOMEM))
		return ret;
	latch_init();
	if (procmaps_find(addr, &key, path, sizeof(path)) != 0) {
		errno = saved;
		return ret;
	}
	if (ret < 0) {
		record_failure(-1, 0, &key, OP_MSYNC, saved, path);
		errno = saved;
		return ret;
	}
	/* No fd: only an unacknowledged latch of the file refuses the call. */
	lookup_both(&key, &view);
	if (!view.active) {
		errno = saved;
		return ret;
	}
	v.latched = true;
	v.view = view;
	return refuse(-1, 0, OP_MSYNC, &v, ret, saved);
}

/* ---- status -------------------------------------------------------------- */

int latch_status_fd(int fd, struct stickysync_status *st)
{
	struct latch_record rec;
	struct latch_view view;
	struct file_key key;
	struct verdict v;
	uint32_t gen;

	if (api_judge(fd, &gen, &key, &v) != 0)
		return -1;
	lookup_both(&key, &view);
	memset(st, 0, sizeof(*st));
	st->fd_latched = v.witness;
	st->file_latched = view.active;
	st->acknowledged = view.found && !view.active;
	if (!latchtab_view_record(&view, &rec)) {
		if (!v.latched)
			return 0;
		verdict_record(&v, &rec);
	}
	st->error = rec.error;
	st->when_ns = rec.when_ns;
	st->pid = rec.pid;
	str_copy(st->op, sizeof(st->op), rec.op);
	str_copy(st->prog, sizeof(st->prog), rec.prog);
	str_copy(st->path, sizeof(st->path), rec.path);
	return 0;
}
