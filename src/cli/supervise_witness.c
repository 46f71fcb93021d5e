/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The supervisor's witnesses: the open file descriptions that stay latched
 * after an acknowledgment (see supervise_sync.c), kept as duplicates and
 * told apart with kcmp; the snapshot of every description of a file open
 * in the tree at its loss; and which refusals were reported already.
 */
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "identity.h"
#include "strcopy.h"
#include "sys.h"

#define WITNESS_MAX 256

/* The keeper: every process of the tree descends from it. */
static pid_t tree_root;

void sv_set_tree(pid_t keeper)
{
	tree_root = keeper;
}

static struct witness {
	struct file_key key;
	int fd;	       /* a duplicate of the description; -1: free */
	bool reported; /* a refusal through it was reported */
} witnesses[WITNESS_MAX];
static int witness_count, witness_next;
static pthread_mutex_t witness_lock = PTHREAD_MUTEX_INITIALIZER;

/* The witness of key that dup's description is, or NULL.  Caller holds
 * the lock. */
static struct witness *witness_find(const struct file_key *key, int dup)
{
	pid_t self = getpid();

	for (int i = 0; i < WITNESS_MAX; i++)
		if (witnesses[i].fd >= 0 && key_equal(&witnesses[i].key, key) &&
		    syscall(SYS_kcmp, self, self, KCMP_FILE, witnesses[i].fd, dup) == 0)
			return &witnesses[i];
	return NULL;
}

bool sv_is_witness(const struct file_key *key, int dup)
{
	bool found;

	if (!__atomic_load_n(&witness_count, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&witness_lock);
	found = witness_find(key, dup) != NULL;
	pthread_mutex_unlock(&witness_lock);
	return found;
}

/*
 * Keep dup as a witness of key (the store owns it from now on).  refusing:
 * a refusal through it is to be reported, once per description, as the
 * library reports once per fd; returns whether this is the first.
 */
bool sv_witness_keep(const struct file_key *key, int dup, bool refusing)
{
	struct witness *w;
	bool first;

	pthread_mutex_lock(&witness_lock);
	if (witness_count == 0)
		for (int i = 0; i < WITNESS_MAX; i++)
			witnesses[i].fd = -1;
	if ((w = witness_find(key, dup))) {
		first = refusing && !w->reported;
		w->reported |= refusing;
		pthread_mutex_unlock(&witness_lock);
		sys_close(dup);
		return first;
	}
	w = &witnesses[witness_next];
	witness_next = (witness_next + 1) % WITNESS_MAX;
	if (w->fd >= 0)
		sys_close(w->fd); /* the oldest: judged as a new fd from now on */
	else
		__atomic_add_fetch(&witness_count, 1, __ATOMIC_RELAXED);
	w->key = *key;
	w->fd = dup;
	w->reported = refusing;
	pthread_mutex_unlock(&witness_lock);
	return refusing;
}

/* ---- the descriptions open at a loss ---------------------------------------------- */

/* The processes of the tree: the keeper's descendants.  Returns how many
 * pids were put in out (up to max). */
static int tree_pids(pid_t *out, int max)
{
	enum { PROCS = 4096 };
	static pid_t pid[PROCS], ppid[PROCS]; /* under snapshot_lock */
	int n = 0, found = 0;
	bool grew = true;
	struct dirent *e;
	DIR *d = opendir("/proc");

	while (d && n < PROCS && (e = readdir(d))) {
		pid_t p = atoi(e->d_name);
		long parent = p > 0 ? sv_status_field(p, "PPid") : -1;

		if (parent >= 0) {
			pid[n] = p;
			ppid[n++] = (pid_t)parent;
		}
	}
	if (d)
		closedir(d);
	/* grow the set from the keeper until it stops growing */
	out[found++] = tree_root;
	while (grew && found < max) {
		grew = false;
		for (int i = 0; i < n && found < max; i++) {
			bool in = false, parent_in = false;

			for (int j = 0; j < found; j++) {
				in |= out[j] == pid[i];
				parent_in |= out[j] == ppid[i];
			}
			if (!in && parent_in) {
				out[found++] = pid[i];
				grew = true;
			}
		}
	}
	return found;
}

/* Every open description of key's file in process pid becomes a witness. */
static void witness_process(const struct file_key *key, pid_t pid)
{
	char path[300];
	struct dirent *e;
	int pidfd = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		struct file_key k;
		struct stat st;
		int dup;

		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_ino != key->ino)
			continue;
		if (pidfd < 0 && (pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
			break;
		dup = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(e->d_name), 0);
		if (dup < 0)
			continue;
		if (key_from_fd(dup, &k) == 0) {
			if (key->flags & KEYF_GEN)
				key_add_generation(&k, dup);
			if (key_equal(&k, key)) {
				sv_witness_keep(key, dup, false);
				continue;
			}
		}
		sys_close(dup);
	}
	closedir(d);
	if (pidfd >= 0)
		sys_close(pidfd);
}

/*
 * The library keeps latched, after the acknowledgment, every fd that
 * existed at the loss.  The supervisor does not see opens, so it takes the
 * loss's snapshot: when it latches a file, every description of the file
 * open in the tree then becomes a witness; for a latch it did not make (the
 * library's, another run's), at the first refusal, which can only count more
 * descriptions as old, never fewer.  Once per latch.
 */
static pthread_mutex_t snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct file_key key;
	uint64_t latch_seq;
} snapshots[64];
static unsigned snapshot_next;

void sv_snapshot_once(const struct file_key *key, uint64_t latch_seq)
{
	static pid_t pids[4096];
	int n;

	if (key->kind != KEY_FILE || tree_root <= 0)
		return;
	pthread_mutex_lock(&snapshot_lock);
	for (unsigned i = 0; i < 64; i++)
		if (snapshots[i].latch_seq == latch_seq && key_equal(&snapshots[i].key, key)) {
			pthread_mutex_unlock(&snapshot_lock);
			return;
		}
	snapshots[snapshot_next % 64].key = *key;
	snapshots[snapshot_next++ % 64].latch_seq = latch_seq;
	n = tree_pids(pids, 4096);
	for (int i = 0; i < n; i++)
		witness_process(key, pids[i]);
	pthread_mutex_unlock(&snapshot_lock);
}

/* A refusal through an fd that is not a witness: reported once per fd
 * number and latch, as the library reports once per fd. */
bool sv_first_refusal(pid_t tgid, int fd, uint64_t latch_seq)
{
	static struct {
		pid_t tgid;
		int fd;
		uint64_t seq;
	} seen[64];
	static unsigned next;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	bool first = true;

	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < 64 && first; i++)
		first = !(seen[i].tgid == tgid && seen[i].fd == fd && seen[i].seq == latch_seq);
	if (first) {
		seen[next % 64].tgid = tgid;
		seen[next % 64].fd = fd;
		seen[next++ % 64].seq = latch_seq;
	}
	pthread_mutex_unlock(&lock);
	return first;
}

bool sv_any_witness(void)
{
	return __atomic_load_n(&witness_count, __ATOMIC_RELAXED) != 0;
}
