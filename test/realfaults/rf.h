/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Shared helpers of the real-fault scenario programs.
 *
 * Every scenario program is run twice by run.sh on a fresh thin fixture:
 * once without the shim ("linux": record what the kernel returns) and once
 * with LD_PRELOAD=libstickysync.so ("sticky": assert stickysync's semantics).
 * A program prints two kinds of lines on stdout, which run.sh collects:
 *
 *     obs KEY VALUE            what a call returned ("0", "ENOSPC", "B:8M,zero:56M")
 *     check KEY pass|fail|skip DETAIL
 *
 * Each step states one expectation per mode.  "any" means record only: the
 * kernel's behaviour is what it is, and only where a scenario needs the loss to
 * be real does the linux run assert it.
 */
#ifndef RF_H
#define RF_H

#include <stddef.h>
#include <sys/types.h>

#define MiB (1024L * 1024L)

/* The byte patterns of the seed thread's story: A (durable), B (lost), C
 * (written after the operator healed the storage). */
#define PAT_A 'A'
#define PAT_B 'B'
#define PAT_C 'C'

enum rf_mode { RF_LINUX, RF_STICKY };
extern enum rf_mode rf_mode;

/* Parse argv[1] (linux|sticky), check the shim's presence matches, and make
 * stdout line-buffered so that forked children interleave cleanly.  Returns
 * the index of the first scenario argument. */
int rf_init(int argc, char **argv, int nargs, const char *usage);

/* The filesystem under test (any path on it), for rf_fs_readonly(). */
void rf_set_fs(const char *path);

/* Has the filesystem gone read-only (btrfs does after the failure)?  Then an
 * expected EIO may be the kernel's own EROFS/ENOSPC, and an expected success
 * cannot be judged (skip). */
int rf_fs_readonly(void);

/* Exit status for main: 1 if any check failed. */
int rf_finish(void);

/* The value a call produced: "0" on success, the errno name on failure. */
const char *rf_outcome(int rc, int err);

/*
 * Record a call's outcome under KEY and check it against the expectation of
 * the current mode.  An expectation is "any" (record only), "ok" (returned
 * 0), "fail" (returned -1, any errno) or an errno name ("EIO").
 */
void rf_expect(const char *key, int rc, int err, const char *linux_expect,
	       const char *sticky_expect);

void rf_obs(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rf_check(const char *key, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void rf_skip(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write LEN bytes of PATTERN at OFF in 1 MiB pwrite()s; stop at the first
 * error.  Returns 0 or -1 with errno (and *done = bytes written). */
int rf_write_pattern(int fd, off_t off, size_t len, int pattern, size_t *done);

/* Summarise the content of [off, off+len) as runs of patterns, e.g.
 * "B:7.6M,zero:56.4M".  Unreadable blocks count as "EIO" etc. */
void rf_describe(int fd, off_t off, size_t len, char *out, size_t outlen);

/* 1 if every byte of [off, off+len) reads back as PATTERN. */
int rf_all_pattern(int fd, off_t off, size_t len, int pattern);

/* Evict clean pages (the seed's "memory pressure"): echo 3 > drop_caches. */
int rf_drop_caches(void);

/* Run a helper program from this program's folder as a separate process
 * (fork + exec, same environment) and wait for it; returns its exit status
 * or -1.  The helper prints its own obs/check lines. */
int rf_run_helper(const char *name, char *const args[]);

/* Grow the fixture's backing tmpfs to SIZE_MB (the operator adds space). */
int rf_heal(const char *backing_dir, int size_mb);

/* Did the shim's public API resolve (is libstickysync.so preloaded)? */
int rf_shim_loaded(void);

#endif
