/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "record.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "fdtable.h"
#include "inject.h"
#include "runtime.h"
#include "log.h"
#include "state.h"
#include "strcopy.h"
#include "sys.h"

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

unsigned op_inject_kind(enum op op)
{
	switch (op) {
	case OP_FSYNC:
		return IOP_FSYNC;
	case OP_FDATASYNC:
		return IOP_FDATASYNC;
	case OP_SYNC_FILE_RANGE:
		return IOP_SYNC_FILE_RANGE;
	case OP_MSYNC:
		return IOP_MSYNC;
	case OP_SYNCFS:
		return IOP_SYNCFS;
	case OP_CLOSE:
	case OP_FCLOSE:
		return IOP_CLOSE;
	default:
		return 0;
	}
}

/* ---- recording failures -------------------------------------------------- */

int64_t record_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* record_failure before init set up any table. */
#define LATCH_NO_TABLE_YET (-2)

static void report_failure(const struct latch_event *ev, int fd, int stored, int attr_err)
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
	line_str(&l, policy_next_step(rt.opt.policy, false));
	if (stored == LATCH_NO_TABLE_YET)
		line_str(&l, "; the library was still starting: only this fd stays latched");
	else if (stored < 0)
		line_str(&l, "; LATCH TABLE FULL: only fds of this process that saw the error "
			     "stay latched");
	else if (stored == 2)
		line_str(&l, "; the shared latch table is full: latched in this process only");
	if (attr_err) {
		line_str(&l, "; the latch is local only (" ATTR_NAME " not written: ");
		line_str(&l, errno_name(attr_err));
		line_str(&l, ")");
	}
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

/*
 * Record the latch on the file itself (attr.h), before the table: a
 * record says whether the file carries it.  Returns 0, or the errno that
 * kept it local (the file cannot take the attribute: EPERM, EROFS, ENOSPC,
 * ENOTSUP, or it is gone).
 */
static int record_on_file(int fd, struct latch_event *ev)
{
	struct latch_attr a = {
	    .error = ev->error,
	    .pid = ev->pid,
	    .when_sec = ev->when_ns / 1000000000,
	};
	int err;

	if (!rt.opt.xattr || ev->key.kind != KEY_FILE)
		return 0;
	str_copy(a.op, sizeof(a.op), ev->op);
	str_copy(a.prog, sizeof(a.prog), ev->prog);
	attr_host(a.host, sizeof(a.host));
	if (fd >= 0)
		err = attr_write_fd(fd, &a);
	else if (ev->path[0])
		err = attr_write_path(ev->path, &ev->key, &a);
	else
		err = ENOENT;
	if (err == 0)
		ev->key.flags |= KEYF_ATTR;
	return err;
}

/* Record that a sync of key (through fd in its lifetime gen, or fd -1)
 * failed with err. */
void record_failure(int fd, uint32_t gen, const struct file_key *key, enum op op, int err,
		    const char *path)
{
	char buf[REC_PATH_MAX];
	struct latch_event ev = {
	    .key = *key,
	    .error = err,
	    .op = op_name(op),
	    .prog = log_prog(),
	    .pid = getpid(),
	    .when_ns = record_now_ns(),
	};
	int stored, attr_err = 0;

	if (fd >= 0 && ev.key.kind == KEY_FILE)
		key_add_generation(&ev.key, fd);
	if (!path) {
		fd_path(fd, buf, sizeof(buf));
		path = buf;
	}
	ev.path = path;
	if (__atomic_load_n(&rt.local.hdr, __ATOMIC_ACQUIRE)) {
		attr_err = record_on_file(fd, &ev);
		stored = store_latch(&ev, latchtab_next_seq(latch_seq_table()));
		/* Move the sequence again now that the record is visible: a
		 * sync that judged its fd clean between the two numbers must
		 * judge again. */
		latchtab_next_seq(latch_seq_table());
	} else {
		/* A signal handler (or a wrapper called from init) in the
		 * thread running init, before the tables exist. */
		stored = LATCH_NO_TABLE_YET;
	}
	fd_mark_witness(fd, gen, err);
	report_failure(&ev, fd, stored, attr_err);
	if (rt.opt.policy == POLICY_ABORT)
		abort();
}
