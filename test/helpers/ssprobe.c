/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * ssprobe: runs a script of file operations given as arguments and prints
 * one line per call with its result, for the integration tests.
 *
 *   ssprobe open h1 PATH rwc  write h1 hello  fsync h1  fsync h1
 *   fsync h1 = -1 EIO
 *
 * Handles h0..h9 name fds.  Built plain, with -D_FILE_OFFSET_BITS=64 and
 * with -D_FORTIFY_SOURCE=2, so every spelling libc headers produce is hit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stickysync.h"

static int fds[10] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
static FILE *streams[10];
static const char *prefix = "";

static int handle(const char *h)
{
	if (h[0] != 'h' || h[1] < '0' || h[1] > '9' || h[2]) {
		fprintf(stderr, "ssprobe: bad handle %s\n", h);
		exit(2);
	}
	return h[1] - '0';
}

static void show(const char *op, const char *h, long ret, int err)
{
	if (ret < 0)
		printf("%s%s %s = %ld %s\n", prefix, op, h, ret, strerrorname_np(err));
	else
		printf("%s%s %s = %ld\n", prefix, op, h, ret);
	fflush(stdout);
}

static int open_flags(const char *mode)
{
	int flags = strchr(mode, 'w') ? (strchr(mode, 'r') ? O_RDWR : O_WRONLY) : O_RDONLY;

	if (strchr(mode, 'c'))
		flags |= O_CREAT;
	if (strchr(mode, 't'))
		flags |= O_TRUNC;
	if (strchr(mode, 'a'))
		flags |= O_APPEND;
	if (strchr(mode, 's'))
		flags |= O_SYNC;
	if (strchr(mode, 'd'))
		flags |= O_DSYNC;
	return flags;
}

/* HOW H PATH MODE, HOW being the function to call */
static int do_open(const char *how, char **a)
{
	int h = handle(a[0]), flags = open_flags(a[2]), fd;

	errno = 0;
	if (strcmp(how, "openat") == 0)
		fd = openat(AT_FDCWD, a[1], flags, 0644);
	else if (strcmp(how, "open64") == 0)
		fd = open64(a[1], flags, 0644);
	else if (strcmp(how, "openat64") == 0)
		fd = openat64(AT_FDCWD, a[1], flags, 0644);
	else if (strcmp(how, "creat") == 0)
		fd = creat(a[1], 0644);
	else if (strcmp(how, "creat64") == 0)
		fd = creat64(a[1], 0644);
	else if (strcmp(how, "fopen") == 0) {
		streams[h] = fopen(a[1], strchr(a[2], 'w') ? "r+" : "r");
		fd = streams[h] ? fileno(streams[h]) : -1;
	} else if (strcmp(how, "fopen64") == 0) {
		streams[h] = fopen64(a[1], strchr(a[2], 'w') ? "r+" : "r");
		fd = streams[h] ? fileno(streams[h]) : -1;
	} else if (flags & O_CREAT)
		fd = open(a[1], flags, 0644);
	else
		fd = open(a[1], flags); /* __open_2 under _FORTIFY_SOURCE */
	fds[h] = fd;
	show(how, a[0], fd < 0 ? -1 : 0, errno);
	return 4;
}

static void map_and_sync(const char *hname, int fd, size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int ret;

	if (p == MAP_FAILED) {
		show("mmap", hname, -1, errno);
		return;
	}
	memset(p, 'm', len);
	ret = msync(p, len, MS_SYNC);
	show("msync", hname, ret, errno);
	munmap(p, len);
}

static void print_status(const char *hname, int fd)
{
	struct stickysync_status st;
	int ret = stickysync_status(fd, &st);

	if (ret < 0) {
		show("status", hname, ret, errno);
		return;
	}
	printf("%sstatus %s = fd_latched=%d file_latched=%d acknowledged=%d error=%s op=%s "
	       "pid_ok=%d\n",
	       prefix, hname, st.fd_latched, st.file_latched, st.acknowledged,
	       st.error ? strerrorname_np(st.error) : "0", st.op, st.pid > 0);
	fflush(stdout);
}

static void run(char **a);

/* Ops that take no handle. */
static int step_global(char **a)
{
	const char *op = a[0];

	if (strcmp(op, "sync") == 0) {
		sync();
		show(op, "-", 0, 0);
		return 1;
	}
	/* pause: go on once a line arrives on stdin (another process's turn). */
	if (strcmp(op, "pause") == 0) {
		char line[16];
		bool got = fgets(line, sizeof(line), stdin) != NULL;

		show(op, "-", got ? 0 : -1, got ? 0 : EIO);
		return 1;
	}
	if (strcmp(op, "fork") == 0) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			prefix = "child: ";
			run(a + 1);
			exit(0);
		}
		waitpid(pid, &status, 0);
		exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
	}
	/* exec: the rest of the script runs in a new image of this program. */
	a[0] = "ssprobe";
	execv("/proc/self/exe", a);
	show(op, "-", -1, errno);
	exit(1);
}

/* Each op consumes its arguments and returns how many it took. */
static int step(char **a)
{
	const char *op = a[0];
	int h, fd, ret;
	struct iovec iov[2];

	errno = 0;
	if (strcmp(op, "fork") == 0 || strcmp(op, "exec") == 0 || strcmp(op, "sync") == 0 ||
	    strcmp(op, "pause") == 0)
		return step_global(a);
	if (!a[1]) {
		fprintf(stderr, "ssprobe: %s needs a handle\n", op);
		exit(2);
	}
	h = handle(a[1]);
	fd = fds[h];
	if (strncmp(op, "open", 4) == 0 || strncmp(op, "creat", 5) == 0 ||
	    strncmp(op, "fopen", 5) == 0)
		return do_open(op, a + 1);
	if (strcmp(op, "write") == 0) {
		ssize_t r = write(fd, a[2], strlen(a[2]));

		show(op, a[1], r, errno);
		return 3;
	}
	if (strcmp(op, "pwrite") == 0 || strcmp(op, "pwrite64") == 0) {
		off_t off = atol(a[3]);
		ssize_t r = op[6] ? pwrite64(fd, a[2], strlen(a[2]), off)
				  : pwrite(fd, a[2], strlen(a[2]), off);
		show(op, a[1], r, errno);
		return 4;
	}
	if (strncmp(op, "writev", 6) == 0 || strncmp(op, "pwritev", 7) == 0) {
		size_t half = strlen(a[2]) / 2;
		off_t off = op[0] == 'p' ? atol(a[3]) : 0;
		ssize_t r;

		iov[0] = (struct iovec){a[2], half};
		iov[1] = (struct iovec){a[2] + half, strlen(a[2]) - half};
		if (strcmp(op, "writev") == 0)
			r = writev(fd, iov, 2);
		else if (strcmp(op, "pwritev") == 0)
			r = pwritev(fd, iov, 2, off);
		else if (strcmp(op, "pwritev64") == 0)
			r = pwritev64(fd, iov, 2, off);
		else if (strcmp(op, "pwritev2") == 0)
			r = pwritev2(fd, iov, 2, off, 0);
		else if (strcmp(op, "pwritev2d") == 0) /* each write a sync */
			r = pwritev2(fd, iov, 2, off, RWF_DSYNC);
		else
			r = pwritev64v2(fd, iov, 2, off, 0);
		show(op, a[1], r, errno);
		return op[0] == 'p' ? 4 : 3;
	}
	if (strcmp(op, "fputs") == 0) { /* buffered: written at fflush/fclose */
		show(op, a[1], fputs(a[2], streams[h]) < 0 ? -1 : 0, errno);
		return 3;
	}
	if (strcmp(op, "read") == 0) {
		char buf[256];
		ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);

		show(op, a[1], r, errno);
		if (r >= 0)
			printf("%sdata %s = %.*s\n", prefix, a[1], (int)r, buf);
		return 2;
	}
	if (strcmp(op, "fsync") == 0)
		ret = fsync(fd);
	else if (strcmp(op, "fdatasync") == 0)
		ret = fdatasync(fd);
	else if (strcmp(op, "sfr") == 0)
		ret = sync_file_range(fd, 0, 0,
				      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
					  SYNC_FILE_RANGE_WAIT_AFTER);
	else if (strcmp(op, "syncfs") == 0)
		ret = syncfs(fd);
	else if (strcmp(op, "ftruncate") == 0) {
		ret = ftruncate(fd, atol(a[2]));
		show(op, a[1], ret, errno);
		return 3;
	} else if (strcmp(op, "msync") == 0) {
		map_and_sync(a[1], fd, (size_t)atol(a[2]));
		return 3;
	} else if (strcmp(op, "close") == 0) {
		ret = close(fd);
		fds[h] = -1;
	} else if (strcmp(op, "fclose") == 0) {
		ret = fclose(streams[h]);
		streams[h] = NULL;
		fds[h] = -1;
	} else if (strcmp(op, "close_range") == 0) {
		ret = close_range((unsigned)fd, (unsigned)fd, 0);
		fds[h] = -1;
	} else if (strcmp(op, "closefrom") == 0) {
		closefrom(fd);
		ret = 0;
	} else if (strcmp(op, "dup") == 0 || strcmp(op, "dup2") == 0 || strcmp(op, "dup3") == 0 ||
		   strcmp(op, "fdup") == 0) {
		int to = handle(a[2]), nfd;

		if (op[0] == 'f')
			nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		else if (op[3] == '\0')
			nfd = dup(fd);
		else if (op[3] == '2')
			nfd = dup2(fd, 20 + to);
		else
			nfd = dup3(fd, 20 + to, O_CLOEXEC);
		fds[to] = nfd;
		show(op, a[2], nfd < 0 ? -1 : 0, errno);
		return 3;
	} else if (strcmp(op, "ack") == 0)
		ret = stickysync_acknowledge(fd);
	else if (strcmp(op, "status") == 0) {
		print_status(a[1], fd);
		return 2;
	} else if (strcmp(op, "adopt") == 0) { /* adopt H FD: an inherited fd */
		fds[h] = atoi(a[2]);
		return 3;
	} else if (strcmp(op, "fd") == 0) {
		printf("%sfd %s = %d\n", prefix, a[1], fd);
		fflush(stdout);
		return 2;
	} else {
		fprintf(stderr, "ssprobe: unknown op %s\n", op);
		exit(2);
	}
	show(op, a[1], ret, errno);
	return 2;
}

static void run(char **a)
{
	while (*a)
		a += step(a);
}

int main(int argc, char **argv)
{
	(void)argc;
	run(argv + 1);
	return 0;
}
