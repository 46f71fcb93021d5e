/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Who made a trapped call: the calling thread's pidfd, cached per worker
 * and thread (a cached pidfd names its thread for good, so only a new one
 * needs the notification checked still valid), the process's name, and
 * whether libstickysync.so judges its libc calls (its maps, read again after
 * the process execs).
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

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9: a pidfd for one thread */
#endif
#define CACHE_SLOTS 256 /* pidfds per worker, by thread id */
#define EXEC_RING 64

static __thread struct sv_target cache[CACHE_SLOTS];
static __thread bool cache_ready;

/* execve calls seen, by tgid: a process that execs may load the library or
 * drop it. */
static pid_t exec_ring[EXEC_RING];
static uint64_t exec_seq;
static pthread_mutex_t exec_lock = PTHREAD_MUTEX_INITIALIZER;

void sv_note_exec(pid_t tgid)
{
	pthread_mutex_lock(&exec_lock);
	__atomic_store_n(&exec_ring[exec_seq % EXEC_RING], tgid, __ATOMIC_RELAXED);
	__atomic_store_n(&exec_seq, exec_seq + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&exec_lock);
}

/* Has t's process exec'd since its library was looked for? */
static bool exec_since(const struct sv_target *t)
{
	uint64_t now = __atomic_load_n(&exec_seq, __ATOMIC_ACQUIRE), i;
	bool seen = false;

	if (now == t->checked)
		return false;
	if (now - t->checked > EXEC_RING)
		return true;
	for (i = t->checked; i < now && !seen; i++)
		seen = __atomic_load_n(&exec_ring[i % EXEC_RING], __ATOMIC_RELAXED) == t->tgid;
	/* entries overwritten while we read: cannot tell */
	return seen || __atomic_load_n(&exec_seq, __ATOMIC_ACQUIRE) - t->checked > EXEC_RING;
}

/* A field of /proc/TID/status, or -1. */
long sv_status_field(pid_t tid, const char *name)
{
	char path[64], line[256];
	size_t len = strlen(name);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Is this maps line's file (after its last '/') named like name? */
static bool maps_file_is(const char *line, size_t len, const char *name, size_t name_len)
{
	const char *slash = memrchr(line, '/', len);

	return slash && (size_t)(line + len - slash - 1) >= name_len &&
	       memcmp(slash + 1, name, name_len) == 0;
}

/*
 * Does the library judge this process's syncs made through libc?  Where
 * libstickysync.so is mapped, every sync the program makes through libc
 * passes through its wrapper: those (made from libc's code) the supervisor
 * lets through; any other (a Go runtime's own system call instruction, in a
 * dynamically linked Go program the library was loaded into) it judges.
 * Sets t's libc code range.
 */
static void find_library(struct sv_target *t)
{
	char path[64], *line = NULL;
	unsigned long lo, hi;
	bool library = false;
	size_t cap = 0, len;
	ssize_t n;
	FILE *f;

	t->libc_lo = t->libc_hi = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->tid);
	if (!(f = fopen(path, "re")))
		return;
	while ((n = getline(&line, &cap, f)) > 0) {
		char perms[8];

		len = (size_t)n - (line[n - 1] == '\n');
		library |= maps_file_is(line, len, "libstickysync.so", 16) && line[len - 1] == 'o';
		if (maps_file_is(line, len, "libc.so", 7) &&
		    sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[2] == 'x') {
			t->libc_lo = lo;
			t->libc_hi = hi;
		}
	}
	free(line);
	fclose(f);
	if (!library)
		t->libc_lo = t->libc_hi = 0;
}

/* Was this call made by libc's code in a process with the library? */
bool sv_library_call(const struct sv_target *t, const struct seccomp_notif *req)
{
	uint64_t ip = req->data.instruction_pointer;

	return ip >= t->libc_lo && ip < t->libc_hi;
}

static void target_drop(struct sv_target *t)
{
	if (t->pidfd >= 0)
		sys_close(t->pidfd);
	t->pidfd = -1;
}

/*
 * A pidfd of the thread that made the call.  The thread id of a
 * notification may be reused once its thread is gone, so a new pidfd is
 * trusted only once the notification is found still valid: its thread is
 * then the caller.  A cached pidfd always names the thread it was opened
 * for: once that thread is gone, pidfd_getfd fails with ESRCH.
 */
static struct sv_target *target_open(int listener, const struct seccomp_notif *req)
{
	struct sv_target *t = &cache[req->pid % CACHE_SLOTS];
	pid_t tid = (pid_t)req->pid;
	uint64_t id = req->id;

	target_drop(t);
	t->tid = tid;
	t->checked = __atomic_load_n(&exec_seq, __ATOMIC_ACQUIRE);
	t->tgid = (pid_t)sv_status_field(tid, "Tgid");
	if (t->tgid <= 0)
		return NULL;
	t->pidfd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (t->pidfd < 0 && errno == EINVAL) /* before 6.9: the process's */
		t->pidfd = (int)syscall(SYS_pidfd_open, t->tgid, 0);
	if (t->pidfd < 0)
		return NULL;
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) {
		target_drop(t);
		return NULL;
	}
	find_library(t);
	return t;
}

struct sv_target *sv_target_get(int listener, const struct seccomp_notif *req)
{
	struct sv_target *t;

	if (!cache_ready) {
		for (int i = 0; i < CACHE_SLOTS; i++)
			cache[i].pidfd = -1;
		cache_ready = true;
	}
	t = &cache[req->pid % CACHE_SLOTS];
	if (t->pidfd < 0 || t->tid != (pid_t)req->pid)
		return target_open(listener, req);
	if (exec_since(t)) {
		t->checked = __atomic_load_n(&exec_seq, __ATOMIC_ACQUIRE);
		find_library(t);
	}
	return t;
}

/* The target's own open file description behind fd, in this process; -1
 * with errno (ESRCH: the thread is gone, even after a fresh pidfd). */
int sv_target_fd(int listener, const struct seccomp_notif *req, struct sv_target **tp, int fd)
{
	struct sv_target *t = *tp;
	int dup = (int)syscall(SYS_pidfd_getfd, t->pidfd, fd, 0);

	if (dup >= 0 || errno != ESRCH)
		return dup;
	/* a cached pidfd of a thread gone, whose id came back */
	target_drop(t);
	if (!(*tp = t = target_open(listener, req)))
		return errno = ESRCH, -1;
	return (int)syscall(SYS_pidfd_getfd, t->pidfd, fd, 0);
}

/* Is the thread behind a cached pidfd still there?  (Then the caller, whose
 * id it has, is that thread.) */
bool sv_target_alive(const struct sv_target *t)
{
	return syscall(SYS_pidfd_send_signal, t->pidfd, 0, NULL, 0) == 0;
}

/* argv[0]'s last component, as the library names its process. */
void sv_target_prog(pid_t tgid, char *out, size_t size)
{
	char path[64], buf[256];
	const char *slash;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)tgid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		sys_close(fd);
	}
	if (n <= 0) {
		str_copy(out, size, "?");
		return;
	}
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	str_copy(out, size, slash ? slash + 1 : buf);
}

void sv_fd_path(int fd, char *out, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	if (n <= 0)
		str_copy(out, size, "?");
}
