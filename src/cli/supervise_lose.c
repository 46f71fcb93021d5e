/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * lose= under the supervisor.  The library records what each write
 * overwrites; the supervisor sees no writes, only syncs.  So for a file a
 * lose= rule names it keeps, instead, a copy of the whole file as each
 * successful sync left it (the baseline), and an injected failure puts the
 * loss in place from it: lose=old writes the baseline back (bytes and size),
 * lose=zero zeroes every 4 KiB block that differs from it, and what lies
 * beyond its end.  Before any successful sync of the file under the
 * supervisor there is no baseline: the failure is injected, the content
 * kept, and a line says so.  Copies cost a read of the file per sync and
 * its size in memory (memfd), for at most BASELINE_MAX files: meant for
 * tests, as the injector is.
 *
 * The file is read and written through new descriptions opened on the
 * target's (/proc/self/fd of the duplicate), whatever the target's access
 * mode; opening one does not consume the file's pending error.  Raw system
 * calls, as for the syncs (run_sync).
 */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "sys.h"

#define BASELINE_MAX 64
#define BLOCK 4096

static struct baseline {
	struct file_key key;
	int memfd; /* -1: free */
	off_t size;
} baselines[BASELINE_MAX];
static unsigned baseline_next;
static bool baselines_ready;
/* Held across a copy: a sync and an injected failure of one file must not
 * interleave theirs. */
static pthread_mutex_t baseline_lock = PTHREAD_MUTEX_INITIALIZER;

static struct baseline *baseline_find(const struct file_key *key)
{
	if (!baselines_ready) {
		for (int i = 0; i < BASELINE_MAX; i++)
			baselines[i].memfd = -1;
		baselines_ready = true;
	}
	for (int i = 0; i < BASELINE_MAX; i++)
		if (baselines[i].memfd >= 0 && key_equal(&baselines[i].key, key))
			return &baselines[i];
	return NULL;
}

/* A new description of dup's file, for reading or writing. */
static int reopen(int dup, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", dup);
	return sys_openat(AT_FDCWD, path, flags | O_CLOEXEC, 0);
}

/* Copy len bytes from in to out, both from offset 0; false on error. */
static bool copy(int in, int out, off_t len)
{
	static char buf[64 * 1024]; /* under baseline_lock */

	for (off_t at = 0; at < len;) {
		ssize_t n = sys_pread(in, buf, sizeof(buf), at);

		if (n <= 0 || sys_pwrite(out, buf, (size_t)n, at) != n)
			return false;
		at += n;
	}
	return true;
}

void sv_lose_baseline(int dup)
{
	struct file_key key;
	struct baseline *b;
	struct stat st;
	int in;

	if (key_from_fd(dup, &key) != 0 || fstat(dup, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (in = reopen(dup, O_RDONLY)) < 0)
		return;
	pthread_mutex_lock(&baseline_lock);
	if (!(b = baseline_find(&key))) {
		b = &baselines[baseline_next++ % BASELINE_MAX];
		if (b->memfd >= 0)
			sys_close(b->memfd);
		b->key = key;
		b->memfd = memfd_create("stickysync-baseline", MFD_CLOEXEC);
	}
	b->size = st.st_size;
	if (b->memfd < 0 || sys_ftruncate(b->memfd, 0) != 0 || !copy(in, b->memfd, st.st_size)) {
		if (b->memfd >= 0)
			sys_close(b->memfd);
		b->memfd = -1; /* no baseline rather than a wrong one */
	}
	pthread_mutex_unlock(&baseline_lock);
	sys_close(in);
}

/* lose=zero: the blocks that differ from the baseline, and everything past
 * its end, read as zeros; the size stays. */
static bool zero_changes(const struct baseline *b, int out, off_t size)
{
	static char now[BLOCK], then[BLOCK], zeros[BLOCK]; /* under baseline_lock */

	for (off_t at = 0; at < size; at += BLOCK) {
		size_t len = (size_t)(size - at < BLOCK ? size - at : BLOCK);
		ssize_t had = at < b->size ? sys_pread(b->memfd, then, len, at) : 0;

		if (sys_pread(out, now, len, at) != (ssize_t)len)
			return false;
		if (had == (ssize_t)len && memcmp(now, then, len) == 0)
			continue;
		if (sys_pwrite(out, zeros, len, at) != (ssize_t)len)
			return false;
	}
	return true;
}

static void say_kept(const char *path, const char *why)
{
	struct line l;

	line_init(&l);
	line_str(&l, "stickysync: supervisor: STICKYSYNC_INJECT lose= on ");
	line_str(&l, path);
	line_str(&l, ": ");
	line_str(&l, why);
	line_str(&l, "; the error is injected, the content kept");
	log_line(&l);
}

void sv_lose_apply(int dup, enum inject_lose lose, const char *path)
{
	struct file_key key;
	struct baseline *b;
	struct stat st;
	bool ok = false;
	int out;

	if (key_from_fd(dup, &key) != 0 || fstat(dup, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	if ((out = reopen(dup, O_RDWR)) < 0) {
		say_kept(path, "it cannot be opened for writing");
		return;
	}
	pthread_mutex_lock(&baseline_lock);
	if (!(b = baseline_find(&key)))
		say_kept(path, "no earlier sync of it was seen by the supervisor");
	else if (lose == LOSE_OLD)
		ok = sys_ftruncate(out, b->size) == 0 && copy(b->memfd, out, b->size);
	else
		ok = zero_changes(b, out, st.st_size);
	if (b && !ok)
		say_kept(path, strerror(errno));
	pthread_mutex_unlock(&baseline_lock);
	sys_close(out);
}
