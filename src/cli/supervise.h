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
 *   supervise.c          the process tree: filter, listener, keeper, end
 *   supervise_sync.c     one notification: the sync, the verdict, the report
 *   supervise_target.c   who made the call: pidfd cache, library, names
 *   supervise_witness.c  the descriptions that stay latched after an ack
 *   supervise_lose.c     lose= of the injector, from copies made at syncs
 *
 * In a process of the tree that has libstickysync.so loaded, a sync made
 * from libc's code passed through the library's wrapper, which judges it:
 * the supervisor lets it through (CONTINUE).  Any other (a Go runtime's own
 * system call, in a dynamically linked Go program) is the supervisor's.  No
 * call is judged twice.
 */
#ifndef STICKYSYNC_CLI_SUPERVISE_H
#define STICKYSYNC_CLI_SUPERVISE_H

#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "identity.h"
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
	/* A file of the run's own (the injector's tally), or NULL: the keeper
	 * removes it when it ends a tree whose supervisor died. */
	const char *own_file;
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

/* ---- between the supervisor's files ------------------------------------------ */

/* supervise_target.c: what a worker knows of a thread of the tree. */
struct sv_target {
	pid_t tid, tgid;
	int pidfd; /* -1: empty slot */
	/* libc's code, in a process with the library (else empty) */
	unsigned long libc_lo, libc_hi;
	uint64_t checked; /* exec_seq when the maps were read */
};

/* The caller's entry (pidfd, process, library); NULL if it is gone. */
struct sv_target *sv_target_get(int listener, const struct seccomp_notif *req);
/* The target's own open file description behind fd, here; -1 with errno
 * (ESRCH: the thread is gone).  *tp may be replaced by a fresh entry. */
int sv_target_fd(int listener, const struct seccomp_notif *req, struct sv_target **tp, int fd);
/* Is the thread behind a cached pidfd still there? */
bool sv_target_alive(const struct sv_target *t);
/* Was this call made by libc's code in a process with the library? */
bool sv_library_call(const struct sv_target *t, const struct seccomp_notif *req);
/* Process tgid is about to exec: its library may come or go. */
void sv_note_exec(pid_t tgid);
/* A field of /proc/TID/status, or -1. */
long sv_status_field(pid_t tid, const char *name);
/* argv[0]'s last component, as the library names its process. */
void sv_target_prog(pid_t tgid, char *out, size_t size);
/* The path of one of this process's fds ("?" if none). */
void sv_fd_path(int fd, char *out, size_t size);

/* supervise_witness.c */
bool sv_any_witness(void);
/* Is dup's description a witness of key? */
bool sv_is_witness(const struct file_key *key, int dup);
/* Keep dup (now the store's) as a witness of key; refusing: true the first
 * time a refusal through its description is to be reported. */
bool sv_witness_keep(const struct file_key *key, int dup, bool refusing);
/* Every description of key's file open in the tree becomes a witness, once
 * per latch. */
void sv_snapshot_once(const struct file_key *key, uint64_t latch_seq);
/* A refusal through fd (not a witness) is reported once per fd and latch. */
bool sv_first_refusal(pid_t tgid, int fd, uint64_t latch_seq);

/* ---- supervise_lose.c ------------------------------------------------------ */

/* A sync of dup's file, which a lose= rule names, succeeded: its content is
 * the baseline a later injected failure loses back to. */
void sv_lose_baseline(int dup);
/* An injected failure of a sync of dup's file: lose as the rule says. */
void sv_lose_apply(int dup, enum inject_lose lose, const char *path);

#endif
