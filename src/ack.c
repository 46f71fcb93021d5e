/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "latch.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "judge.h"
#include "log.h"
#include "record.h"
#include "stickysync.h"
#include "strcopy.h"

/* ---- acknowledgment ------------------------------------------------------ */

/*
 * Acknowledge key's latches (and its filesystem's, through its root) that
 * are not newer than upto.  Returns how many; -1 when a newer one was left
 * latched.
 */
static int acknowledge(int fd, const struct file_key *key, uint64_t upto)
{
	struct latchtab *tabs[2] = {rt.shared.hdr ? &rt.shared : NULL, &rt.local};
	uint64_t seq = latchtab_next_seq(latch_seq_table());
	int64_t now = record_now_ns();
	bool newer = false;
	struct file_key fs;
	int n = 0;

	key_fs_of_fd(fd, key, &fs);
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
	latch_ready();
	*gen = fd_gen(fd);
	if (judge_fd_key(fd, gen, key) != 0) {
		errno = EBADF;
		return -1;
	}
	judge_verdict(fd, *gen, key, v);
	return 0;
}

/*
 * Acknowledge the latch recorded on fd's file, where there is one: before
 * the tables, so that a file that cannot take the acknowledgment (EPERM,
 * EROFS) stays latched everywhere.  0, or -1 with errno.
 */
static int acknowledge_on_file(int fd)
{
	struct latch_attr a = {.pid = getpid(), .when_sec = record_now_ns() / 1000000000};
	int err;

	if (!rt.opt.xattr)
		return 0;
	attr_ack_op(a.op, sizeof(a.op), rt.shared.hdr && !rt.shared.readonly ? rt.shared.id : 0);
	str_copy(a.prog, sizeof(a.prog), log_prog());
	attr_host(a.host, sizeof(a.host));
	err = attr_acknowledge_fd(fd, &a);
	if (err == 0)
		return 0;
	errno = err;
	return -1;
}

int latch_acknowledge_fd(int fd)
{
	struct file_key key;
	struct verdict v;
	char path[REC_PATH_MAX];
	struct line l;
	uint64_t upto;
	uint32_t gen;
	int n;

	latch_ready();
	upto = latch_seq_now();
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
	if (acknowledge_on_file(fd) != 0)
		return -1;
	/* Only losses older than this fd: one that happens meanwhile was
	 * witnessed by it, and stays latched.  An fd stamped with a time was
	 * just judged no witness of any loss numbered up to upto. */
	if (!(fd_created_after(fd, gen) & FD_STAMP_TIME))
		upto = fd_created_after(fd, gen);
	n = acknowledge(fd, &key, upto);
	if (n < 0) {
		errno = EBUSY;
		return -1;
	}
	if (n == 0 && !v.on_file)
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
	judge_lookup(&key, &view);
	memset(st, 0, sizeof(*st));
	st->fd_latched = v.witness;
	st->file_latched = view.active || v.on_file;
	st->acknowledged = view.found && !view.active;
	if (!latchtab_view_record(&view, &rec)) {
		if (!v.latched)
			return 0;
		judge_verdict_record(&v, &rec);
	}
	st->error = rec.error;
	st->when_ns = rec.when_ns;
	st->pid = rec.pid;
	str_copy(st->op, sizeof(st->op), rec.op);
	str_copy(st->prog, sizeof(st->prog), rec.prog);
	str_copy(st->path, sizeof(st->path), rec.path);
	return 0;
}
