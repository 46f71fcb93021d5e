/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Rings the library cannot follow (ring.h): set up with raw system calls,
 * by a statically linked liburing, or by anything but liburing's shared
 * library.  They are found two ways: a raw io_uring_setup seen through
 * libc's syscall() or liburing's exported io_uring_setup, said at once;
 * and, at exit, the io_uring fds of /proc/self/fd that are no ring the
 * library knows.  Each is said once per process.
 */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "ring.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "log.h"
#include "sys.h"

static int said_raw, said_unseen;

void ring_raw_setup(const char *how, unsigned flags)
{
	struct line l;

	if (__atomic_exchange_n(&said_raw, 1, __ATOMIC_RELAXED))
		return;
	line_init(&l);
	line_prefix(&l);
	line_str(&l, "io_uring: ");
	line_str(&l, how);
	line_str(&l, (flags & IORING_SETUP_SQPOLL) ? " (an SQPOLL ring)" : "");
	line_str(&l, " sets up a ring outside liburing's queue functions: syncs submitted on "
		     "it are not sticky");
	log_line(&l);
}

/* Is fd one of the rings the library follows? */
static bool known_ring(int fd)
{
	for (int i = 0; i < RING_MAX; i++) {
		const void *at = __atomic_load_n(&ring_table[i].ring, __ATOMIC_ACQUIRE);

		if ((uintptr_t)at > 2 && ring_table[i].ring_fd == fd)
			return true;
	}
	return false;
}

static bool is_ring_fd(int dirfd, const char *name)
{
	static const char target[] = "anon_inode:[io_uring]";
	char link[sizeof(target) + 1];
	long n = syscall(SYS_readlinkat, dirfd, name, link, sizeof(link));

	return n == (long)sizeof(target) - 1 && !memcmp(link, target, sizeof(target) - 1);
}

/* Up to max unseen ring fds into fds; their number. */
int ring_unseen(int *fds, int max)
{
	char buf[4096];
	int dirfd = sys_openat(AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	int found = 0;
	long n;

	if (dirfd < 0)
		return 0;
	while ((n = syscall(SYS_getdents64, dirfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			int fd = 0;

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			for (const char *c = d->d_name; *c; c++)
				fd = fd * 10 + (*c - '0');
			if (fd != dirfd && is_ring_fd(dirfd, d->d_name) && !known_ring(fd) &&
			    found < max)
				fds[found++] = fd;
		}
	}
	sys_close(dirfd);
	return found;
}

void ring_report_unseen(void)
{
	int saved = errno, fds[8], n = ring_unseen(fds, 8);
	struct line l;

	if (n && !__atomic_exchange_n(&said_unseen, 1, __ATOMIC_RELAXED)) {
		line_init(&l);
		line_prefix(&l);
		line_str(&l, "io_uring: ");
		line_str(&l, n == 1 ? "ring fd " : "ring fds ");
		for (int i = 0; i < n; i++) {
			line_str(&l, i ? ", " : "");
			line_int(&l, fds[i]);
		}
		line_str(&l, n == 1 ? " was" : " were");
		line_str(&l, " not set up through liburing's shared library (raw system calls, or "
			     "a statically linked liburing): syncs submitted on ");
		line_str(&l, n == 1 ? "it were not sticky" : "them were not sticky");
		log_line(&l);
	}
	errno = saved;
}
