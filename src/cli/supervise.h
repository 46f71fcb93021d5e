/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The supervisor: sticky syncs for programs a preload cannot reach
 * (statically linked, Go), enforced from outside the program.
 *
 * A seccomp filter installed in CMD traps only the sync calls (fsync,
 * fdatasync, sync_file_range, syncfs, msync) and execve, and hands them to
 * this process as user notifications.  The supervisor takes the target's
 * own open file description (pidfd_getfd: a reopen by path would be a new
 * description, with its own error cursor), runs the sync on it, judges the
 * result against the same shared latch table the library uses, and replies
 * with the result, or EIO for a latched file.  Every other system call runs
 * untouched: the filter depends only on the call's number, so the kernel
 * caches its verdict for them.
 *
 *   supervise.c       the process tree: filter, listener, keeper, end
 *   supervise_sync.c  one notification: the target, the sync, the verdict
 *   supervise_lose.c  lose= of the injector, from copies made at syncs
 *
 * Processes of the tree that have libstickysync.so loaded judge their own
 * syncs: the supervisor lets their calls through unjudged (CONTINUE), so no
 * call is ever judged twice.
 */
#ifndef STICKYSYNC_CLI_SUPERVISE_H
#define STICKYSYNC_CLI_SUPERVISE_H

#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "inject.h"

/* Set in CMD's environment: the pid of the supervisor of its tree. */
#define SUPERVISOR_ENV "STICKYSYNC_SUPERVISOR"

struct supervise_launch {
	const char *path; /* the file to run, or NULL: search PATH for cmd[0] */
	char **cmd;
	/* Runs CMD in the child (never returns). */
	void (*exec)(const char *path, char **cmd) __attribute__((noreturn));
	/* Signals the caller blocked and forwards: CMD gets their default
	 * actions back, unblocked. */
	const sigset_t *blocked;
	/* Where CMD's pid goes once known, for the forwarding handler. */
	volatile pid_t *cmd_pid;
	bool deny_io_uring; /* io_uring_setup fails with ENOSYS */
};

/*
 * Run CMD under the supervisor, with the settings of the environment (the
 * library's variables, as `run` exported them).  Returns CMD's exit status,
 * shell style, once CMD and every process left of its tree have ended; how
 * says how CMD ended.  The forwarded signals must be blocked on entry; they
 * are unblocked once CMD's pid is known.
 */
int supervise_run(const struct supervise_launch *l, char *how, size_t size);

/* Does this process already run under a stickysync supervisor?  Its tree
 * is covered by it, and no second listener can be installed. */
bool supervise_already(pid_t *supervisor);

/* ---- supervise_sync.c ------------------------------------------------------ */

/* Set up the tables, the log and the injector from o; false, with the
 * reason printed, when the supervisor cannot run. */
bool sv_setup(const struct options *o);
/* Whether a non-root supervisor set no_new_privs: set-user-ID programs of
 * the tree then run without their privileges, which execve reports. */
void sv_set_no_new_privs(bool set);
/* The keeper's pid: every process of the tree descends from it. */
void sv_set_tree(pid_t keeper);
/* Handle one notification; false when no reply must be sent (the target
 * is gone).  resp is zeroed and carries req's id. */
bool sv_handle(int listener, const struct seccomp_notif *req, struct seccomp_notif_resp *resp);
/* A receive found no notification (its caller was interrupted first). */
void sv_note_empty_receive(void);
/* At the end: the injector's counts, and statistics when asked for. */
void sv_finish(void);

/* ---- supervise_lose.c ------------------------------------------------------ */

/* A sync of dup's file, which a lose= rule names, succeeded: its content is
 * the baseline a later injected failure loses back to. */
void sv_lose_baseline(int dup);
/* An injected failure of a sync of dup's file: lose as the rule says. */
void sv_lose_apply(int dup, enum inject_lose lose, const char *path);

#endif
