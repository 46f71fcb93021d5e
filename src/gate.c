/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "gate.h"
#include "strcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inject.h"
#include "latchtab.h"
#include "procmaps.h"
#include "undo.h"

/* Does any rule name fd's file (and does a lose= rule)?  Decided once per
 * fd lifetime, in its flags. */
static bool fd_injectable(int fd, char *path, size_t size)
{
	uint32_t gen = fd_gen(fd), flags = fd_flags(fd, gen);

	if (!inject_active())
		return false;
	if ((flags & FD_INJECT_CHECKED) && !(flags & FD_INJECT))
		return false;
	fd_path(fd, path, size);
	if (fd_entry(fd) && !(flags & FD_INJECT_CHECKED)) {
		bool any = false, lose = inject_records(&inject_rules, path);

		for (int i = 0; i < inject_rules.n; i++)
			any |= inject_rule_matches(&inject_rules.rule[i], path);
		fd_set_flags(fd, gen,
			     FD_INJECT_CHECKED | (any ? FD_INJECT : 0) |
				 (lose ? FD_INJECT_LOSE : 0));
		return any;
	}
	return true;
}

/*
 * Whether a lose= rule names fd's file.  Only such files may reach the undo
 * store: every other file's I/O stays free of its lock and its memory.
 */
static bool fd_records(int fd)
{
	uint32_t gen = fd_gen(fd), flags = fd_flags(fd, gen);
	char path[REC_PATH_MAX];

	if (!inject_loses())
		return false;
	if (flags & FD_INJECT_CHECKED)
		return flags & FD_INJECT_LOSE;
	return fd_injectable(fd, path, sizeof(path)) && inject_records(&inject_rules, path);
}

static size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t n = 0;

	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

bool gate_write(int fd, enum op op, const struct iovec *iov, int cnt, off_t off, ssize_t *ret)
{
	char path[REC_PATH_MAX];
	enum inject_lose lose;
	int err;

	if (latch_io_refused(fd, op)) {
		*ret = -1;
		return true;
	}
	if (!fd_injectable(fd, path, sizeof(path)))
		return false;
	err = inject_decide(&inject_rules, IOP_WRITE, path, &lose);
	if (err) {
		errno = err;
		*ret = latch_write_failed(fd, op, -1);
		return true;
	}
	if (fd_records(fd))
		undo_record_write(fd, off, iov_total(iov, cnt));
	return false;
}

bool gate_write1(int fd, enum op op, const void *buf, size_t n, off_t off, ssize_t *ret)
{
	struct iovec v = {.iov_base = (void *)buf, .iov_len = n};

	return gate_write(fd, op, &v, 1, off, ret);
}

bool gate_truncate(int fd, off_t len, int *ret)
{
	if (latch_io_refused(fd, OP_FTRUNCATE)) {
		*ret = -1;
		return true;
	}
	if (fd_records(fd))
		undo_record_truncate(fd, len);
	return false;
}

/* The absolute form of path (relative to dirfd), for matching globs. */
static void absolute_path(int dirfd, const char *path, char *buf, size_t size)
{
	char base[REC_PATH_MAX];

	if (path[0] == '/') {
		str_copy(buf, size, path);
		return;
	}
	if (dirfd == AT_FDCWD) {
		if (!getcwd(base, sizeof(base)))
			base[0] = '\0';
	} else {
		fd_path(dirfd, base, sizeof(base));
	}
	snprintf(buf, size, "%s/%s", base, path);
}

void gate_open(int dirfd, const char *path, int flags)
{
	char abs[REC_PATH_MAX];

	if (!(flags & O_TRUNC) || !inject_loses() || !path)
		return;
	absolute_path(dirfd, path, abs, sizeof(abs));
	if (inject_records(&inject_rules, abs))
		undo_record_path_truncate(dirfd, path, flags);
}

bool gate_read(int fd)
{
	return latch_io_refused(fd, OP_READ);
}

/* An injected failure: lose what the rule says, as the kernel would. */
static int inject_failure(int fd, enum op op)
{
	char path[REC_PATH_MAX];
	enum inject_lose lose;
	int err;

	if (!fd_injectable(fd, path, sizeof(path)))
		return 0;
	err = inject_decide(&inject_rules, op_inject_kind(op), path, &lose);
	if (err && lose != LOSE_KEEP)
		undo_apply(fd, lose);
	return err;
}

bool gate_sync(int fd, enum op op, int *ret)
{
	int err = inject_failure(fd, op);

	if (!err)
		return false;
	errno = err;
	*ret = -1;
	return true;
}

bool gate_msync(void *addr, int *ret)
{
	char path[REC_PATH_MAX];
	struct file_key key;
	enum inject_lose lose;
	int err;

	if (!inject_active() || procmaps_find(addr, &key, path, sizeof(path)) != 0)
		return false;
	err = inject_decide(&inject_rules, IOP_MSYNC, path, &lose);
	if (!err)
		return false;
	errno = err;
	*ret = -1;
	return true;
}

/* What a successful sync made durable is the new baseline for lose=. */
void gate_synced(int fd)
{
	if (!inject_loses())
		return;
	if (fd < 0)
		undo_forget_all();
	else if (fd_records(fd))
		undo_forget(fd);
}

int gate_close(int fd)
{
	return inject_active() ? inject_failure(fd, OP_CLOSE) : 0;
}

void gate_at_exit(void)
{
	inject_report_unfired();
}
