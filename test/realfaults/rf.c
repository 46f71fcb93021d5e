/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* Shared helpers of the real-fault scenario programs; see rf.h. */
#define _GNU_SOURCE
#include "rf.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>
#include <sys/wait.h>
#include <unistd.h>

enum rf_mode rf_mode;
static int failures;
static const char *fs_path;

void rf_set_fs(const char *path)
{
	fs_path = path;
}

int rf_fs_readonly(void)
{
	struct statvfs sv;

	return fs_path && statvfs(fs_path, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

/* btrfs copies on write: once the pool is full even an overwrite has no room
 * and fails in the kernel, before any sync (and soon the filesystem goes
 * read-only). */
static int fs_is_btrfs(void)
{
	struct statfs sf;

	return fs_path && statfs(fs_path, &sf) == 0 && sf.f_type == BTRFS_SUPER_MAGIC;
}

int rf_shim_loaded(void)
{
	return dlsym(RTLD_DEFAULT, "stickysync_status") != NULL;
}

int rf_init(int argc, char **argv, int nargs, const char *usage)
{
	if (argc != nargs + 2 ||
	    (strcmp(argv[1], "linux") != 0 && strcmp(argv[1], "sticky") != 0)) {
		fprintf(stderr, "usage: %s linux|sticky %s\n", argv[0], usage);
		exit(2);
	}
	rf_mode = strcmp(argv[1], "sticky") == 0 ? RF_STICKY : RF_LINUX;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A sticky run without the shim (or a linux run with it) would pass or
	 * fail for the wrong reason: refuse to measure anything. */
	if (rf_shim_loaded() != (rf_mode == RF_STICKY)) {
		rf_check("shim-preloaded", 0, "mode %s but shim %s", argv[1],
			 rf_shim_loaded() ? "loaded" : "not loaded");
		exit(1);
	}
	return 2;
}

int rf_finish(void)
{
	return failures ? 1 : 0;
}

const char *rf_outcome(int rc, int err)
{
	const char *name;

	if (rc == 0)
		return "0";
	if (rc > 0)
		return "short";
	name = strerrorname_np(err);
	return name ? name : "E?";
}

void rf_obs(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("obs %s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void vcheck(const char *key, const char *verdict, const char *fmt, va_list ap)
{
	printf("check %s %s ", key, verdict);
	vprintf(fmt, ap);
	putchar('\n');
}

void rf_check(const char *key, int ok, const char *fmt, ...)
{
	va_list ap;

	if (!ok)
		failures++;
	va_start(ap, fmt);
	vcheck(key, ok ? "pass" : "fail", fmt, ap);
	va_end(ap);
}

void rf_skip(const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcheck(key, "skip", fmt, ap);
	va_end(ap);
}

static int matches(const char *expect, int rc, int err)
{
	if (strcmp(expect, "ok") == 0)
		return rc == 0;
	if (strcmp(expect, "fail") == 0)
		return rc == -1;
	return rc == -1 && strcmp(rf_outcome(rc, err), expect) == 0;
}

void rf_expect(const char *key, int rc, int err, const char *linux_expect,
	       const char *sticky_expect)
{
	const char *expect = rf_mode == RF_STICKY ? sticky_expect : linux_expect;
	const char *got = rf_outcome(rc, err);

	rf_obs(key, "%s", got);
	if (strcmp(expect, "any") == 0)
		return;
	if (matches(expect, rc, err)) {
		rf_check(key, 1, "expected %s, got %s", expect, got);
		return;
	}
	/*
	 * btrfs fails calls itself after the failure (ENOSPC, then EROFS once
	 * read-only); so does ext4 once it has found its own metadata lost and
	 * aborted its journal (EROFS, although statvfs may not say read-only:
	 * an emergency read-only state).  stickysync makes the real call first
	 * and passes its failure through, which is as good as EIO; a call that
	 * needs a live filesystem cannot be judged at all.
	 */
	if (rc == -1 &&
	    (err == EROFS || (err == ENOSPC && (rf_fs_readonly() || fs_is_btrfs())))) {
		if (strcmp(expect, "EIO") == 0)
			rf_check(key, 1, "expected EIO, got %s from the filesystem itself", got);
		else
			rf_skip(key, "expected %s, got %s: the filesystem failed the call itself",
				expect, got);
		return;
	}
	rf_check(key, 0, "expected %s, got %s", expect, got);
}

int rf_write_pattern(int fd, off_t off, size_t len, int pattern, size_t *done)
{
	static char buf[MiB];
	size_t pos = 0;

	memset(buf, pattern, sizeof(buf));
	while (pos < len) {
		size_t n = len - pos < sizeof(buf) ? len - pos : sizeof(buf);
		ssize_t w = pwrite(fd, buf, n, off + (off_t)pos);

		if (w < 0)
			break;
		pos += (size_t)w;
	}
	if (done)
		*done = pos;
	return pos == len ? 0 : -1;
}

/* One 4 KiB block's class: a pattern letter, "zero", "mixed", or an errno. */
static const char *classify(const char *blk, ssize_t n)
{
	static const char *const names[] = {['A'] = "A", ['B'] = "B", ['C'] = "C"};
	ssize_t i;

	for (i = 1; i < n && blk[i] == blk[0]; i++)
		;
	if (i < n)
		return "mixed";
	if (blk[0] == 0)
		return "zero";
	if ((unsigned char)blk[0] < sizeof(names) / sizeof(names[0]) &&
	    names[(unsigned char)blk[0]])
		return names[(unsigned char)blk[0]];
	return "other";
}

static void append_run(char *out, size_t outlen, const char *cls, size_t bytes)
{
	size_t used = strlen(out);
	double mib = (double)bytes / MiB;

	snprintf(out + used, outlen - used, "%s%s:%.*fM", used ? "," : "", cls,
		 mib < 10 && mib != (long)mib ? 1 : 0, mib);
}

void rf_describe(int fd, off_t off, size_t len, char *out, size_t outlen)
{
	char blk[4096];
	const char *run = NULL;
	size_t run_bytes = 0, pos;

	out[0] = '\0';
	for (pos = 0; pos < len; pos += sizeof(blk)) {
		ssize_t n = pread(fd, blk, sizeof(blk), off + (off_t)pos);
		const char *cls = n < 0 ? rf_outcome(-1, errno) : n == 0 ? "eof" : classify(blk, n);

		if (run && strcmp(run, cls) != 0) {
			append_run(out, outlen, run, run_bytes);
			run_bytes = 0;
		}
		run = cls;
		run_bytes += sizeof(blk);
		if (n == 0)
			break;
	}
	if (run)
		append_run(out, outlen, run, run_bytes);
}

int rf_all_pattern(int fd, off_t off, size_t len, int pattern)
{
	char blk[4096];
	size_t pos, i;

	for (pos = 0; pos < len; pos += sizeof(blk)) {
		ssize_t n = pread(fd, blk, sizeof(blk), off + (off_t)pos);

		if (n <= 0)
			return 0;
		for (i = 0; i < (size_t)n; i++)
			if (blk[i] != pattern)
				return 0;
	}
	return 1;
}

int rf_drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	int rc;

	if (fd < 0)
		return -1;
	rc = write(fd, "3\n", 2) == 2 ? 0 : -1;
	close(fd);
	return rc;
}

int rf_run_helper(const char *name, char *const args[])
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	char *argv[16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int i, status;
	pid_t pid;

	if (n < 0)
		return -1;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(path, sizeof(path), "%s/%s", self, name);
	argv[0] = path;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Share nothing with the parent but the environment, as an
		 * unrelated program would. */
		close_range(3, ~0U, 0);
		execv(path, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int rf_heal(const char *backing_dir, int size_mb)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "size=%dm", size_mb);
	return mount(NULL, backing_dir, NULL, MS_REMOUNT, opts);
}
