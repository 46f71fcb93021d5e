/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * wrapcheck MODE DIR: checks of wrapper hygiene that a script cannot make.
 *
 *   errno    successful wrapped calls leave errno as it was
 *   threads  threads writing and syncing their own files, one of which fails:
 *            only that file latches, and nothing crashes or deadlocks
 *   signal   write and fsync from a signal handler interrupting writes
 *   fds      the shim leaves no fd behind, even after latching and logging
 *   dropcache acknowledging drops the file's cached pages (what reads return
 *            then is what the storage holds)
 *
 * Prints "MODE ok ..." on success, "MODE FAIL ..." and exits 1 otherwise.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "stickysync.h"

static const char *dir;

static char *path_in(const char *name)
{
	static __thread char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static int fails;

#define CHECK_ERRNO(call)                                                       \
	do {                                                                    \
		errno = 4242;                                                   \
		if ((call) < 0 || errno != 4242) {                              \
			printf("errno FAIL: %s left errno %d\n", #call, errno); \
			fails++;                                                \
		}                                                               \
	} while (0)

static int check_errno(void)
{
	struct iovec iov = {.iov_base = "v", .iov_len = 1};
	char c;
	int fd, fd2;

	errno = 4242;
	fd = open(path_in("errno"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || errno != 4242) {
		printf("errno FAIL: open left errno %d\n", errno);
		return 1;
	}
	CHECK_ERRNO(write(fd, "x", 1));
	CHECK_ERRNO(pwrite(fd, "y", 1, 1));
	CHECK_ERRNO(writev(fd, &iov, 1));
	CHECK_ERRNO(pwritev(fd, &iov, 1, 3));
	CHECK_ERRNO(fsync(fd));
	CHECK_ERRNO(fdatasync(fd));
	CHECK_ERRNO(pread(fd, &c, 1, 0));
	CHECK_ERRNO(fd2 = dup(fd));
	CHECK_ERRNO(close(fd2));
	CHECK_ERRNO(fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 10));
	CHECK_ERRNO(close(fd2));
	CHECK_ERRNO(ftruncate(fd, 2));
	CHECK_ERRNO(close(fd));
	/* A failing call must report its own errno, not one from bookkeeping. */
	errno = 0;
	if (fsync(-1) != -1 || errno != EBADF) {
		printf("errno FAIL: fsync(-1) gave errno %d\n", errno);
		fails++;
	}
	if (!fails)
		printf("errno ok\n");
	return fails != 0;
}

/* Thread i syncs file t<i>; the fault injector fails the first sync of t0. */
static void *sync_worker(void *arg)
{
	long i = (long)arg, bad = 0;
	char name[16];
	int fd;

	snprintf(name, sizeof(name), "t%ld-file", i);
	fd = open(path_in(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	for (int round = 0; round < 200; round++) {
		int ret;

		if (write(fd, name, strlen(name)) < 0)
			bad++;
		ret = fsync(fd);
		/* t0's first sync fails (injected), then every later one: EIO. */
		if (i == 0 && ret != -1)
			bad++;
		if (i == 0 && round > 0 && errno != EIO)
			bad++;
		if (i != 0 && ret != 0)
			bad++;
	}
	close(fd);
	return (void *)bad;
}

static int check_threads(int n)
{
	pthread_t t[16];
	long bad = 0;

	if (n > 16)
		n = 16;
	for (long i = 0; i < n; i++)
		pthread_create(&t[i], NULL, sync_worker, (void *)i);
	for (int i = 0; i < n; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad += (long)r;
	}
	printf("threads %s: %d threads, %ld unexpected results\n", bad ? "FAIL" : "ok", n, bad);
	return bad != 0;
}

static int sig_fd = -1;
static volatile sig_atomic_t sig_count, sig_bad;

static void on_alarm(int sig)
{
	int saved = errno;

	(void)sig;
	if (write(sig_fd, "s", 1) != 1 || fsync(sig_fd) != 0)
		sig_bad = 1;
	sig_count++;
	errno = saved;
}

static int check_signal(void)
{
	struct itimerval it = {{0, 2000}, {0, 2000}};
	int fd = open(path_in("sig-main"), O_RDWR | O_CREAT | O_TRUNC, 0644);

	sig_fd = open(path_in("sig-handler"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	signal(SIGALRM, on_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 20000 && sig_count < 50; i++) {
		if (write(fd, "m", 1) != 1)
			sig_bad = 1;
		if (i % 64 == 0)
			fsync(fd);
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	printf("signal %s: %d handler runs\n", sig_bad || sig_count == 0 ? "FAIL" : "ok",
	       (int)sig_count);
	return sig_bad || sig_count == 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int check_fds(void)
{
	int before = count_fds(), after, fd, fresh;

	/* The fault injector fails the first fsync of "leak": a latch, a report
	 * (to STICKYSYNC_LOG), state updates, then an acknowledgment. */
	fd = open(path_in("leak"), O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (write(fd, "x", 1) != 1)
		return 1;
	fsync(fd);
	fsync(fd);
	fresh = open(path_in("leak"), O_RDWR);
	stickysync_acknowledge(fresh);
	close(fresh);
	close(fd);
	after = count_fds();
	printf("fds %s: %d before, %d after\n", before == after ? "ok" : "FAIL", before, after);
	return before != after;
}

static int resident_pages(int fd, size_t len)
{
	unsigned char vec[64];
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	int n = 0;

	if (p == MAP_FAILED || mincore(p, len, vec) != 0)
		return -1;
	for (size_t i = 0; i < (len + 4095) / 4096; i++)
		n += vec[i] & 1;
	munmap(p, len);
	return n;
}

static int check_dropcache(void)
{
	static char buf[16 * 4096];
	int fd = open(path_in("cached"), O_RDWR | O_CREAT | O_TRUNC, 0644), fresh, before, after;

	memset(buf, 'c', sizeof(buf));
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return 1;
	fsync(fd); /* fails (the fault injector): latched */
	fresh = open(path_in("cached"), O_RDONLY);
	before = resident_pages(fresh, sizeof(buf));
	if (stickysync_acknowledge(fresh) != 0) {
		printf("dropcache FAIL: acknowledge: %s\n", strerror(errno));
		return 1;
	}
	after = resident_pages(fresh, sizeof(buf));
	printf("dropcache %s: %d pages cached before, %d after\n",
	       before > 0 && after == 0 ? "ok" : "FAIL", before, after);
	return !(before > 0 && after == 0);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: wrapcheck errno|threads|signal|fds DIR [N]\n");
		return 2;
	}
	dir = argv[2];
	if (strcmp(argv[1], "errno") == 0)
		return check_errno();
	if (strcmp(argv[1], "threads") == 0)
		return check_threads(argc > 3 ? atoi(argv[3]) : 4);
	if (strcmp(argv[1], "signal") == 0)
		return check_signal();
	if (strcmp(argv[1], "fds") == 0)
		return check_fds();
	if (strcmp(argv[1], "dropcache") == 0)
		return check_dropcache();
	return 2;
}
