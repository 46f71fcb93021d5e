/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * syncseq: the syncs of the supervisor's tests, in a program the library
 * cannot reach (built -static).  Each result is one line, "WHAT ok" or
 * "WHAT ERRNO-NAME".
 *
 *   syncseq seq FILE MIB     write MIB MiB (0: 4 KiB), then sync it every way:
 *                            fsync, fsync again, fdatasync, sync_file_range,
 *                            msync, fsync on a new fd, fsync in a forked child
 *   syncseq one FILE         open, write 4 KiB, fsync
 *   syncseq undumpable FILE  the same after prctl(PR_SET_DUMPABLE, 0)
 *   syncseq ackseq FILE CLI  the witnesses of an acknowledged loss: an fd
 *                            open at the loss, the failing fd, an fd opened
 *                            after it; `CLI ack FILE`; each fd syncs again
 *   syncseq loseseq FILE     8 KiB of A, fsync, 4 KiB of B at 4 KiB, fsync;
 *                            then what the file reads ("content A B size 8192":
 *                            the bytes at 0 and 4096, 0 for a zero byte)
 *   syncseq signals FILE N [restart]
 *                            N fsyncs under a 50 us SIGALRM timer, its handler
 *                            without SA_RESTART (or with): "eintr N failed N"
 *   syncseq loop FILE        fsync every 10 ms until killed ("fsync ok" each)
 *   syncseq uring            io_uring_setup: "io_uring_setup ok" or its errno
 *   syncseq fexec FILE       run FILE through fexecve (execveat of an fd)
 *   syncseq many FILE N      N times: write a byte, fsync
 *                            ("failed N ns_per_call T", the pair timed)
 *   syncseq writes N         N one-byte writes to /dev/null ("ns_per_call T")
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/io_uring.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char *what, int ret)
{
	printf("%s %s\n", what, ret == 0 ? "ok" : strerrorname_np(errno));
	fflush(stdout);
}

static int open_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT, 0644);

	if (fd < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

static void write_mib(int fd, long mib)
{
	static char buf[1 << 20];
	long n = mib > 0 ? mib : 1;

	memset(buf, 'B', sizeof(buf));
	for (long i = 0; i < n; i++)
		if (write(fd, buf, mib > 0 ? sizeof(buf) : 4096) < 0) {
			say("write", -1);
			return;
		}
}

static int seq(const char *path, long mib)
{
	int fd = open_file(path), fd2, status;
	char *map;
	pid_t pid;

	write_mib(fd, mib);
	say("fsync", fsync(fd));
	say("fsync-again", fsync(fd));
	say("fdatasync", fdatasync(fd));
	say("sync_file_range", sync_file_range(fd, 0, 0,
					       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
						   SYNC_FILE_RANGE_WAIT_AFTER));
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map != MAP_FAILED) {
		map[0] = 'M';
		say("msync", msync(map, 4096, MS_SYNC));
		munmap(map, 4096);
	}
	fd2 = open_file(path);
	say("new-fd-fsync", fsync(fd2));
	close(fd2);
	pid = fork();
	if (pid == 0) {
		say("child-fsync", fsync(fd));
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return 0;
}

static int one(const char *path)
{
	int fd = open_file(path);

	write_mib(fd, 0);
	say("fsync", fsync(fd));
	return 0;
}

static int run_ack(const char *cli, const char *path)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execl(cli, cli, "ack", path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return errno = EPROTO, -1;
	return 0;
}

static int ackseq(const char *path, const char *cli)
{
	int old = open_file(path), failing = open_file(path), late, fresh;

	write_mib(failing, 0);
	say("fsync", fsync(failing));
	late = open_file(path);
	say("late-fd-before-ack", fsync(late));
	say("ack", run_ack(cli, path));
	say("old-fd-after-ack", fsync(old));
	say("failed-fd-after-ack", fsync(failing));
	say("late-fd-after-ack", fsync(late));
	fresh = open_file(path);
	say("fresh-fd-after-ack", fsync(fresh));
	return 0;
}

static int loseseq(const char *path)
{
	static char a[8192], b[4096];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char at0 = 0, at4k = 0;
	struct stat st;

	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	if (fd < 0 || write(fd, a, sizeof(a)) != sizeof(a))
		return 2;
	say("fsync", fsync(fd));
	if (pwrite(fd, b, sizeof(b), 4096) != sizeof(b))
		return 2;
	say("fsync-after-B", fsync(fd));
	if (pread(fd, &at0, 1, 0) < 0 || pread(fd, &at4k, 1, 4096) < 0 || fstat(fd, &st) != 0)
		return 2;
	printf("content %c %c size %lld\n", at0 ? at0 : '0', at4k ? at4k : '0',
	       (long long)st.st_size);
	return 0;
}

static void tick(int sig)
{
	(void)sig;
}

static int signals(const char *path, long n, bool restart)
{
	struct sigaction sa = {.sa_handler = tick, .sa_flags = restart ? SA_RESTART : 0};
	struct itimerval it = {{0, 50}, {0, 50}};
	int fd = open_file(path);
	long eintr = 0, failed = 0;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (long i = 0; i < n; i++) {
		if (write(fd, "x", 1) < 0)
			continue;
		if (fsync(fd) == 0)
			continue;
		if (errno == EINTR)
			eintr++;
		else
			failed++;
	}
	printf("eintr %ld failed %ld\n", eintr, failed);
	return 0;
}

static __attribute__((noreturn)) void loop(const char *path)
{
	struct timespec ms10 = {0, 10000000};
	int fd = open_file(path);

	for (;;) {
		say("fsync", fsync(fd));
		nanosleep(&ms10, NULL);
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int many(const char *path, long n)
{
	int fd = open_file(path);
	long failed = 0;
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		if (write(fd, "x", 1) != 1 || fsync(fd) != 0)
			failed++;
	printf("failed %ld ns_per_call %.0f\n", failed, (now_ns() - t0) / n);
	return 0;
}

static int writes(long n)
{
	int fd = open("/dev/null", O_WRONLY);
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		if (write(fd, "x", 1) != 1)
			return 1;
	printf("ns_per_call %.1f\n", (now_ns() - t0) / n);
	return 0;
}

static int fexec(const char *path)
{
	char *args[] = {(char *)path, NULL};
	extern char **environ;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		fexecve(fd, args, environ);
	perror(path);
	return 127;
}

static int uring(void)
{
	struct io_uring_params p;
	int fd;

	memset(&p, 0, sizeof(p));
	fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	say("io_uring_setup", fd < 0 ? -1 : 0);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "seq") == 0)
		return seq(argv[2], atol(argv[3]));
	if (argc == 3 && strcmp(argv[1], "one") == 0)
		return one(argv[2]);
	if (argc == 3 && strcmp(argv[1], "undumpable") == 0)
		return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? one(argv[2]) : 2;
	if (argc == 3 && strcmp(argv[1], "loseseq") == 0)
		return loseseq(argv[2]);
	if (argc == 4 && strcmp(argv[1], "ackseq") == 0)
		return ackseq(argv[2], argv[3]);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "signals") == 0)
		return signals(argv[2], atol(argv[3]),
			       argc == 5 && strcmp(argv[4], "restart") == 0);
	if (argc == 4 && strcmp(argv[1], "many") == 0)
		return many(argv[2], atol(argv[3]));
	if (argc == 3 && strcmp(argv[1], "writes") == 0)
		return writes(atol(argv[2]));
	if (argc == 3 && strcmp(argv[1], "fexec") == 0)
		return fexec(argv[2]);
	if (argc == 2 && strcmp(argv[1], "uring") == 0)
		return uring();
	if (argc == 3 && strcmp(argv[1], "loop") == 0)
		loop(argv[2]);
	fprintf(stderr, "usage: syncseq seq FILE MIB | one FILE | undumpable FILE | ackseq FILE "
			"CLI | loseseq FILE | "
			"signals FILE N "
			"[restart] | loop FILE | "
			"uring | fexec FILE | many FILE N | writes N\n");
	return 2;
}
