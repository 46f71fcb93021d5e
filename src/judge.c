/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "judge.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "latch.h"
#include "log.h"
#include "onfile.h"
#include "procmaps.h"
#include "record.h"
#include "strcopy.h"
#include "sys.h"

/* ---- judging later calls ------------------------------------------------- */

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
	if (!into->found || v->latch_mono > into->latch_mono)
		into->latch_mono = v->latch_mono;
	into->found = true;
}

static void lookup_both(const struct file_key *key, struct latch_view *v)
{
	struct latch_view lv;

	v->found = false;
	v->active = false;
	v->latch_seq = 0;
	v->latch_mono = INT64_MIN;
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
	witness = fd >= 0 && fd_opened_before(fd, gen, view->latch_seq, view->latch_mono);
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
	v->on_file = false;
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
	if (view.active)
		onfile_acked(fd, key, &view);
	judge_view(fd, gen, &view, v);
	if (latchtab_any_fs(&rt.shared) || latchtab_any_fs(&rt.local)) {
		key_fs_of_fd(fd, key, &fs);
		lookup_both(&fs, &view);
		judge_view(fd, gen, &view, v);
	}
	/* The file's own latch, for an fd that no record latches already. */
	if (!v->latched && onfile_latched(fd, gen, &v->attr)) {
		v->latched = true;
		v->on_file = true;
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
	if (!v->on_file)
		return;
	rec->error = v->attr.error;
	rec->pid = v->attr.pid;
	rec->when_ns = v->attr.when_sec * 1000000000;
	str_copy(rec->op, sizeof(rec->op), v->attr.op);
	str_copy(rec->prog, sizeof(rec->prog), v->attr.prog);
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
	line_refusal(&l, rt.opt.policy, rec.op, rec.error, rec.pid,
		     v->on_file && !v->view.found ? v->attr.host : NULL, v->witness);
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

	if (ret == 0 && !fd_latched(fd) && !latch_anything() && onfile_clear(fd, gen)) {
		/* the common case: nothing latched anywhere */
		if (durable)
			fd_mark_synced(fd);
		errno = saved;
		return 0;
	}
	if (ret < 0 && record_not_applicable(saved))
		return ret;
	latch_ready();
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

_Static_assert(LATCH_SFR_WAIT_AFTER == SYNC_FILE_RANGE_WAIT_AFTER, "latch.h's copy of the flag");

int latch_syncfs_result(int fd, int ret)
{
	int saved = errno;
	struct file_key key, fs;
	struct verdict v = {0};

	if (ret == 0 && !latch_anything())
		return 0;
	if (ret < 0 && record_not_applicable(saved))
		return ret;
	latch_ready();
	if (key_from_fd(fd, &key) != 0) {
		errno = saved;
		return ret;
	}
	key_fs_of_fd(fd, &key, &fs);
	if (ret < 0) {
		record_failure(fd, fd_gen(fd), &fs, OP_SYNCFS, saved, NULL);
		errno = saved;
		return ret;
	}
	if (!latchtab_fs_active(&rt.shared, &fs, &v.view) &&
	    !latchtab_fs_active(&rt.local, &fs, &v.view)) {
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

	if (!record_error_latches(saved) || key_from_fd(fd, &key) != 0) {
		errno = saved;
		return ret;
	}
	latch_ready();
	gen = fd_validate(fd, gen, &key);
	record_failure(fd, gen, &key, op, saved, NULL);
	errno = saved;
	return ret;
}

ssize_t latch_write_failed(int fd, enum op op, ssize_t ret)
{
	int saved = errno, oflags;

	if (!record_error_latches(saved))
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

	if (!fd_latched(fd) && !latch_anything() && onfile_clear(fd, gen))
		return ret;
	latch_ready();
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
	if (!fd_latched(fd) && !latch_anything() && onfile_clear(fd, gen))
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

/* ---- close --------------------------------------------------------------- */

/*
 * Before the real close: learn what a failed close would need, then release
 * the fd's entry, while the number is still ours (after the real close it
 * belongs to whichever thread opens next).
 */
void latch_close_prepare(int fd, bool writing, int inject_error, struct close_ctx *c)
{
	struct fd_entry *e = fd_entry(fd);

	c->have_key = false;
	c->path[0] = '\0';
	c->inject_error = inject_error;
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
	fd_release(fd, latch_release_stamp()); /* makes no failing call: errno is kept */
}

int latch_close_result(int fd, enum op op, const struct close_ctx *c, int ret)
{
	int saved = errno;

	if (c->inject_error && ret == 0) {
		ret = -1;
		saved = c->inject_error;
	}
	if (ret == 0 || !record_error_latches(saved) || !c->have_key)
		return ret;
	latch_ready();
	record_failure(-1, 0, &c->key, op, saved, c->path);
	errno = saved;
	return ret;
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
	if (ret < 0 && (record_not_applicable(saved) || saved == ENOMEM))
		return ret;
	latch_ready();
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

/* ---- a file without an fd ------------------------------------------------ */

/* An io_uring registered file: no fd to judge, so, as for msync, only an
 * unacknowledged latch of the file refuses the call. */
bool latch_key_refused(const struct file_key *key, enum op op)
{
	int saved = errno;
	struct verdict v = {0};
	bool ret;

	if (!latch_anything())
		return false;
	lookup_both(key, &v.view);
	if (!v.view.active)
		return false;
	v.latched = true;
	ret = refuse(-1, 0, op, &v, 0, saved) < 0;
	errno = saved;
	return ret;
}

/* ---- for the rest of the latch layer (judge.h) ---------------------------- */

void judge_verdict(int fd, uint32_t gen, struct file_key *key, struct verdict *v)
{
	judge(fd, gen, key, v);
}

void judge_lookup(const struct file_key *key, struct latch_view *v)
{
	lookup_both(key, v);
}

void judge_verdict_record(const struct verdict *v, struct latch_record *rec)
{
	verdict_record(v, rec);
}

int judge_fd_key(int fd, uint32_t *gen, struct file_key *key)
{
	return fd_key_fresh(fd, gen, key);
}
