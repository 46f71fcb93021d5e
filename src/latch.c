/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "latch.h"
#include "strcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
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

int latch_init_phase; /* 0: not started, 1: running, 2: done */
static pid_t init_tid;

static void setup_local(void)
{
	latchtab_format(&local_mem, LOCAL_CAPACITY);
	latchtab_attach(&rt.local, &local_mem, sizeof(local_mem));
}

static void setup_shared(const struct options *o)
{
	static struct state shared;
	char msg[STATE_MSG_MAX];
	struct line l;

	if (o->state_mode != STATE_DIR)
		return;
	if (state_open(&shared, o->state_dir, true, o->state_capacity, msg, sizeof(msg)) != 0) {
		line_init(&l);
		line_prefix(&l);
		line_str(&l, msg);
		line_str(&l, "; latches are kept in this process only");
		log_line(&l);
		return;
	}
	rt.shared = shared.tab;
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

/* secure_getenv: in a setuid program (the library in /etc/ld.so.preload)
 * the caller's variables must not choose where root writes or what fails. */
static const char *env_lookup(const char *name)
{
	return secure_getenv(name);
}

/*
 * Another thread running init is waited for, but not forever: a child forked
 * while another thread was in init would wait for a thread it does not have.
 * This thread re-entering init (a signal handler, or a wrapper called from
 * init itself) does not wait, and runs with what is set up so far.
 */
static bool claim_init(void)
{
	int phase = 0, spins = 0;
	pid_t self = gettid();

	if (__atomic_compare_exchange_n(&latch_init_phase, &phase, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		__atomic_store_n(&init_tid, self, __ATOMIC_RELAXED);
		return true;
	}
	while (phase == 1 && __atomic_load_n(&init_tid, __ATOMIC_RELAXED) != self &&
	       spins++ < 100000) {
		sched_yield();
		phase = __atomic_load_n(&latch_init_phase, __ATOMIC_ACQUIRE);
	}
	return false;
}

void latch_init(void)
{
	static struct options opt; /* too large for a small thread stack */

	if (__atomic_load_n(&latch_init_phase, __ATOMIC_ACQUIRE) == 2 || !claim_init())
		return;
	config_load(&opt, env_lookup, geteuid() == 0);
	setup(&opt);
	__atomic_store_n(&latch_init_phase, 2, __ATOMIC_RELEASE);
}

void latch_init_with(const struct options *o)
{
	memset(&rt, 0, sizeof(rt));
	memset(&local_mem, 0, sizeof(local_mem));
	setup(o);
	__atomic_store_n(&latch_init_phase, 2, __ATOMIC_RELEASE);
}

/* ---- recording failures -------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The table that numbers fds and latches: the shared one when there is one. */
static struct latchtab *seq_table(void)
{
	return rt.shared.hdr ? &rt.shared : &rt.local;
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
	if (stored < 0)
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

	if (rt.shared.hdr) {
		ret = latchtab_latch(&rt.shared, ev, seq);
		/* Only acknowledged records of vanished files make room: an
		 * unacknowledged path may have been renamed, not deleted. */
		if (ret < 0 && state_prune_gone(&rt.shared, false) > 0)
			ret = latchtab_latch(&rt.shared, ev, seq);
		if (ret >= 0)
			return ret;
	}
	ret = latchtab_latch(&rt.local, ev, seq);
	if (ret >= 0 && rt.shared.hdr)
		return 2;
	return ret;
}

static void mark_fd_witness(int fd, int err)
{
	struct fd_entry *e = fd_entry(fd);
	int none = 0;

	if (!e)
		return;
	__atomic_compare_exchange_n(&e->latch_error, &none, err, false, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
	fd_note_used(fd);
}

/* Record that a sync of key (through fd, or -1) failed with err. */
static void record_failure(int fd, const struct file_key *key, enum op op, int err,
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
	stored = store_latch(&ev, latchtab_next_seq(seq_table()));
	/* Move the sequence again now that the record is visible: a sync that
	 * judged its fd clean between the two numbers must judge again. */
	latchtab_next_seq(seq_table());
	mark_fd_witness(fd, err);
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

static bool opened_before(const struct fd_entry *e, uint64_t latch_seq)
{
	uint64_t open_seq = e ? __atomic_load_n(&e->open_seq, __ATOMIC_RELAXED) : 0;

	/* An fd the shim did not see opened may be older than any latch. */
	return open_seq == 0 || open_seq < latch_seq;
}

static void judge_view(const struct fd_entry *e, const struct latch_view *view, struct verdict *v)
{
	bool witness;

	if (!view->found)
		return;
	witness = opened_before(e, view->latch_seq);
	if (!view->active && !witness)
		return;
	if (!v->view.found)
		v->view = *view;
	v->latched = true;
	v->witness |= witness;
}

static void judge(int fd, struct file_key *key, struct verdict *v)
{
	struct fd_entry *e = fd_entry(fd);
	struct latch_view view;
	struct file_key fs;

	v->latched = false;
	v->witness = false;
	v->view.found = false;
	v->fd_error = e ? __atomic_load_n(&e->latch_error, __ATOMIC_RELAXED) : 0;
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
	judge_view(e, &view, v);
	if (latchtab_any_fs(&rt.shared) || latchtab_any_fs(&rt.local)) {
		key_fs_of(key, &fs);
		lookup_both(&fs, &view);
		judge_view(e, &view, v);
	}
	if (v->witness)
		mark_fd_witness(fd, v->fd_error ? v->fd_error : EIO);
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

static void report_refusal(int fd, enum op op, const struct verdict *v)
{
	struct fd_entry *e = fd_entry(fd);
	struct latch_record rec;
	char path[REC_PATH_MAX];
	struct line l;

	if (e && (__atomic_fetch_or(&e->flags, FD_REPORTED, __ATOMIC_RELAXED) & FD_REPORTED))
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
static int refuse(int fd, enum op op, const struct verdict *v, int ok, int saved)
{
	report_refusal(fd, op, v);
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
 * against it and caches it. */
static int fd_key_fresh(int fd, struct file_key *key)
{
	if (key_from_fd(fd, key) != 0)
		return -1;
	fd_validate(fd, key);
	return 0;
}

/* fd's identity: cached in its entry, else read from the kernel.  Returns
 * 1 when it came from the cache, 0 when fresh, -1 on error. */
static int fd_key(int fd, struct file_key *key)
{
	struct fd_entry *e = fd_entry(fd);

	if (e && (__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & FD_HAVE_KEY)) {
		*key = e->key;
		return 1;
	}
	return fd_key_fresh(fd, key);
}

/*
 * Judge a call on fd by its cached identity, but never refuse it on the
 * cache's word alone: a refusal is confirmed against the kernel's identity,
 * so a stale entry cannot cause a wrong latch.
 */
static int judge_fd(int fd, struct file_key *key, struct verdict *v)
{
	int from_cache = fd_key(fd, key);

	if (from_cache < 0)
		return -1;
	judge(fd, key, v);
	if (v->latched && from_cache == 1) {
		if (fd_key_fresh(fd, key) != 0)
			return -1;
		judge(fd, key, v);
	}
	return 0;
}

int latch_sync_result(int fd, enum op op, int ret)
{
	int saved = errno;
	struct fd_entry *e = fd_entry(fd);
	struct file_key key;
	struct verdict v;
	uint64_t now;

	if (ret == 0 && !fd_latched(fd) && !latch_anything()) {
		/* the common case: nothing latched anywhere */
		if (op != OP_SYNC_FILE_RANGE)
			fd_mark_synced(fd);
		return 0;
	}
	if (ret < 0 && not_applicable(saved))
		return ret;
	latch_init();
	if (ret < 0) {
		/* a failure is rare: ask the kernel, do not trust a cache */
		if (fd_key_fresh(fd, &key) == 0)
			record_failure(fd, &key, op, saved, NULL);
		errno = saved;
		return ret;
	}
	now = latch_seq_now();
	if (e && !fd_latched(fd) && __atomic_load_n(&e->clean_seq, __ATOMIC_RELAXED) == now)
		goto clean; /* nothing latched or acknowledged since it was judged clean */
	if (judge_fd(fd, &key, &v) != 0) {
		errno = saved;
		return ret;
	}
	if (v.latched)
		return refuse(fd, op, &v, ret, saved);
	if (e)
		__atomic_store_n(&e->clean_seq, now, __ATOMIC_RELAXED);
clean:
	if (op != OP_SYNC_FILE_RANGE)
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
		record_failure(fd, &fs, OP_SYNCFS, saved, NULL);
		errno = saved;
		return ret;
	}
	if (!latchtab_dev_active(&rt.shared, key.dev, &v.view) &&
	    !latchtab_dev_active(&rt.local, key.dev, &v.view)) {
		errno = saved;
		return ret;
	}
	v.latched = true;
	return refuse(fd, OP_SYNCFS, &v, ret, saved);
}

/* A failed write that was a sync: latch its file. */
static ssize_t sync_write_failed(int fd, enum op op, ssize_t ret)
{
	int saved = errno;
	struct file_key key;

	if (!write_error_latches(saved) || key_from_fd(fd, &key) != 0) {
		errno = saved;
		return ret;
	}
	latch_init();
	fd_validate(fd, &key);
	record_failure(fd, &key, op, saved, NULL);
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
	struct file_key key;
	struct verdict v;

	if (!fd_latched(fd) && !latch_anything())
		return ret;
	latch_init();
	if (judge_fd(fd, &key, &v) != 0) {
		errno = saved;
		return ret;
	}
	if (!v.latched) {
		errno = saved;
		return ret;
	}
	return refuse(fd, op, &v, (int)ret, saved) < 0 ? -1 : ret;
}

/* Returns the fd's write state before. */
static uint8_t mark_written(int fd)
{
	uint8_t st;

	if ((unsigned)fd >= FDTAB_SIZE)
		return 0;
	st = __atomic_load_n(&fdtab[fd].wstate, __ATOMIC_RELAXED);
	if (!(st & W_WRITTEN))
		__atomic_store_n(&fdtab[fd].wstate, st | W_WRITTEN, __ATOMIC_RELAXED);
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
	struct file_key key;
	struct verdict v;

	if (rt.opt.policy != POLICY_FAILSTOP)
		return false;
	if (!fd_latched(fd) && !latch_anything())
		return false;
	if (judge_fd(fd, &key, &v) != 0) {
		errno = saved;
		return false;
	}
	if (!v.latched) {
		errno = saved;
		return false;
	}
	refuse(fd, op, &v, 0, saved);
	return true;
}

void latch_close_prepare(int fd, bool writing, struct close_ctx *c)
{
	struct fd_entry *e = fd_entry(fd);
	int saved;

	c->have_key = false;
	c->path[0] = '\0';
	c->inject_error = __builtin_expect(io_gate, 0) ? gate_close(fd) : 0;
	/* Only an fd with unsynced writes can lose data at close; only then is
	 * its identity worth a system call. */
	if (!writing && !(e && (__atomic_load_n(&e->wstate, __ATOMIC_RELAXED) & W_WRITTEN)) &&
	    !c->inject_error)
		return;
	saved = errno;
	c->have_key = key_from_fd(fd, &c->key) == 0;
	if (c->have_key)
		fd_path(fd, c->path, sizeof(c->path));
	errno = saved;
}

int latch_close_result(int fd, enum op op, const struct close_ctx *c, int ret)
{
	int saved = errno;

	if (c->inject_error && ret == 0) {
		ret = -1;
		saved = c->inject_error;
	}
	/* Linux releases the fd whatever close returns, except for EBADF. */
	if (ret == 0 || saved != EBADF)
		fd_closed(fd);
	if (ret == 0 || !write_error_latches(saved) || !c->have_key)
		return ret;
	latch_init();
	record_failure(-1, &c->key, op, saved, c->path);
	errno = saved;
	return ret;
}

static int acknowledge(const struct file_key *key)
{
	uint64_t seq = latchtab_next_seq(seq_table());
	int64_t now = now_ns();
	struct file_key fs;
	int n = 0;

	key_fs_of(key, &fs);
	if (rt.shared.hdr) {
		n += latchtab_acknowledge(&rt.shared, key, seq, now);
		if (key_is_mount_root(key))
			n += latchtab_acknowledge(&rt.shared, &fs, seq, now);
	}
	n += latchtab_acknowledge(&rt.local, key, seq, now);
	if (key_is_mount_root(key))
		n += latchtab_acknowledge(&rt.local, &fs, seq, now);
	return n;
}

/* For the API: fd's verdict, by the kernel's identity; -1 with EBADF. */
static int api_judge(int fd, struct file_key *key, struct verdict *v)
{
	latch_init();
	if (fd_key_fresh(fd, key) != 0) {
		errno = EBADF;
		return -1;
	}
	judge(fd, key, v);
	return 0;
}

int latch_acknowledge_fd(int fd)
{
	struct file_key key;
	struct verdict v;
	char path[REC_PATH_MAX];
	struct line l;

	if (api_judge(fd, &key, &v) != 0)
		return -1;
	if (v.witness) {
		errno = EBUSY;
		return -1;
	}
	if (!v.latched || acknowledge(&key) == 0)
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
		record_failure(-1, &key, OP_MSYNC, saved, path);
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
	return refuse(-1, OP_MSYNC, &v, ret, saved);
}

/* ---- status -------------------------------------------------------------- */

int latch_status_fd(int fd, struct stickysync_status *st)
{
	struct latch_record rec;
	struct latch_view view;
	struct file_key key;
	struct verdict v;

	if (api_judge(fd, &key, &v) != 0)
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
