/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * attachcheck MODE ...: a process attaches the shared latch table at its
 * first sync; what happens around that moment.
 *
 *   signal STATEDIR MAIN LOST
 *       A SIGALRM every 20 us; once STATEDIR exists (the first fsync, of
 *       MAIN, is attaching the table), the handler fsyncs LOST, which the
 *       caller makes fail.  Prints "main fsync = R; handler fsync = R E".
 *       The caller checks that the handler's failure reached the shared
 *       table.
 *   jump STATEDIR FILE
 *       The same timer; once STATEDIR exists, the handler siglongjmps out
 *       of the main thread's first fsync.  Then another thread fsyncs FILE:
 *       "other thread: fsync = R".  It must not wait for ever.
 *   rawopen A F
 *       Opens A, waits for a line on stdin, closes A, opens F on the same
 *       number with a raw system call (as libc's own opens, and io_uring's,
 *       are made), fsyncs it: "rawopen fsync = R E".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static const char *state_dir;
static volatile sig_atomic_t fired;
static int lost_fd, handler_ret, handler_err;
static sigjmp_buf out;

static void tick(bool on)
{
	struct itimerval it = {{0, on ? 20 : 0}, {0, on ? 20 : 0}};

	setitimer(ITIMER_REAL, &it, NULL);
}

static bool attaching(void)
{
	return access(state_dir, F_OK) == 0;
}

static void sync_lost(int sig)
{
	int saved = errno;

	(void)sig;
	if (!fired && attaching()) {
		fired = 1;
		handler_ret = fsync(lost_fd);
		handler_err = errno;
	}
	errno = saved;
}

static void jump_out(int sig)
{
	(void)sig;
	if (!fired && attaching()) {
		fired = 1;
		siglongjmp(out, 1);
	}
}

static int mode_signal(char **a)
{
	int main_fd = open(a[1], O_RDWR), ret;

	lost_fd = open(a[2], O_RDWR);
	if (main_fd < 0 || lost_fd < 0 || write(lost_fd, "x", 1) != 1)
		return 2;
	signal(SIGALRM, sync_lost);
	tick(true);
	ret = fsync(main_fd);
	while (!fired)
		;
	tick(false);
	printf("main fsync = %d; handler fsync = %d %s\n", ret, handler_ret,
	       handler_ret ? strerrorname_np(handler_err) : "");
	return 0;
}

static int file_fd;

static void *sync_other(void *arg)
{
	(void)arg;
	printf("other thread: fsync = %d\n", fsync(file_fd));
	return NULL;
}

static int mode_jump(char **a)
{
	pthread_t t;

	file_fd = open(a[1], O_RDWR);
	if (file_fd < 0)
		return 2;
	signal(SIGALRM, jump_out);
	if (sigsetjmp(out, 1) == 0) {
		tick(true);
		fsync(file_fd);
		while (!fired)
			;
	}
	tick(false);
	pthread_create(&t, NULL, sync_other, NULL);
	pthread_join(t, NULL);
	return 0;
}

static int mode_rawopen(char **a)
{
	char line[16];
	int first = open(a[0], O_RDWR), fd, ret;

	if (first < 0 || !fgets(line, sizeof(line), stdin))
		return 2;
	close(first);
	fd = (int)syscall(SYS_openat, AT_FDCWD, a[1], O_RDWR);
	if (fd != first)
		return 2;
	ret = fsync(fd);
	printf("rawopen fsync = %d %s\n", ret, ret ? strerrorname_np(errno) : "");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "signal") == 0) {
		state_dir = argv[2];
		return mode_signal(argv + 2);
	}
	if (argc == 4 && strcmp(argv[1], "jump") == 0) {
		state_dir = argv[2];
		return mode_jump(argv + 2);
	}
	if (argc == 4 && strcmp(argv[1], "rawopen") == 0)
		return mode_rawopen(argv + 2);
	fprintf(stderr, "usage: attachcheck signal STATEDIR MAIN LOST | jump STATEDIR FILE | "
			"rawopen A F\n");
	return 2;
}
