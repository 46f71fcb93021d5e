/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * fdcheck MODE DIR: who owns an fd table entry, checked through the real
 * library with the test fault injector preloaded after it
 * (FAULT_OPS=fsync, FAULT_PATH naming the files to fail, FAULT_COUNT).
 *
 *   reuse      three threads open, fsync and close files whose losses were
 *              acknowledged, so fd numbers pass between threads: no fsync
 *              may fail (FAULT_PATH=reuse-, FAULT_COUNT=3)
 *   vfork      a vfork child closing or duplicating onto an fd must not
 *              change the parent's verdicts (FAULT_PATH=vfork-file)
 *   opendir    directory streams opened after an acknowledged loss of the
 *              directory sync cleanly (FAULT_PATH=/dsub)
 *   rawreuse   an fd made by a raw system call on a number released
 *              through the shim after the loss is not a witness; one made
 *              before the loss is (FAULT_PATH=rawreuse-file)
 *   stderrfile a program that closed stderr and opened a data file onto fd
 *              2 never finds reports in it (FAULT_PATH=stderr-data)
 *   vforkwitness
 *              a vfork child closing or duplicating onto an fd that was open
 *              before the loss must not free the parent's fd from its
 *              latch (FAULT_PATH=vwit-file)
 *   forkaftervfork
 *              a child forked by a thread that vforked before keeps its own
 *              fd table: it acknowledges through a fresh fd and syncs
 *              (FAULT_PATH=fav-file)
 *   dupunseen  a duplicate of an fd the shim did not see opened, made
 *              before the loss, is the same description: it stays latched
 *              (FAULT_PATH=dupunseen-file)
 *   dup2fail   a dup2 that fails leaves the target fd, open before the
 *              loss, latched (FAULT_PATH=dup2fail-file)
 *   dupstderr  a data file duplicated onto a closed fd 2 by dup() never
 *              receives reports (FAULT_PATH=dupstderr-data)
 *   pipestderr a report written to a stderr that is a pipe nobody reads must
 *              not kill the program with SIGPIPE (FAULT_PATH=pipe-file)
 *   closefromstderr
 *              a program that closed everything with close_range before
 *              opening anything, then got a data file onto fd 2 from a
 *              call the shim does not see (mkstemp), never finds reports
 *              in it (FAULT_PATH=stderr-tmp)
 *   witnessrefusal
 *              an fd open before an acknowledged loss has its sync refused;
 *              the refusal is not a new loss: a fresh fd still syncs
 *              (FAULT_PATH=wref-file; run with the library loaded twice)
 *   swap       one thread fsyncs an fd while another keeps replacing its
 *              description with dup2 (log rotation's pattern); every
 *              description is a fresh fd of a file whose loss was
 *              acknowledged: no fsync may fail (FAULT_PATH=swap-file)
 *   highfd     an fd numbered 65536 or more (FDCHECK_HIGH_FD, default
 *              65600), made after the acknowledgment, syncs
 *              (FAULT_PATH=highfd-file; raises RLIMIT_NOFILE past it)
 *
 * Prints "MODE ok ..." on success, "MODE FAIL ..." and exits 1 otherwise.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stickysync.h"

static const char *dir;

static char *path_in(const char *name)
{
	static __thread char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* Write to name and fail its fsync (the injector does), then acknowledge
 * the loss through a fresh fd.  0 on success. */
static int latch_and_acknowledge(const char *name, int flags)
{
	int fd = open(path_in(name), (flags & O_DIRECTORY) ? flags : flags | O_CREAT, 0600), fresh;

	if (fd < 0 || (!(flags & O_DIRECTORY) && write(fd, "x", 1) != 1))
		return -1;
	if (fsync(fd) == 0) {
		fprintf(stderr, "%s: the injected failure did not happen\n", name);
		return -1;
	}
	close(fd);
	fresh = open(path_in(name), flags);
	if (fresh < 0 || stickysync_acknowledge(fresh) != 0) {
		fprintf(stderr, "%s: acknowledge: %s\n", name, strerror(errno));
		return -1;
	}
	close(fresh);
	return 0;
}

static volatile int stop;

struct worker {
	int id;
	long syncs, spurious;
};

static void *reuse_worker(void *arg)
{
	struct worker *w = arg;
	char name[32];

	snprintf(name, sizeof(name), "reuse-%d", w->id);
	while (!stop) {
		int fd = open(path_in(name), O_RDWR);

		if (fd < 0)
			continue;
		if (fsync(fd) != 0)
			w->spurious++;
		w->syncs++;
		close(fd);
	}
	return NULL;
}

static int check_reuse(double seconds)
{
	struct worker w[3];
	pthread_t t[3];
	struct timespec ts = {(time_t)seconds, (long)((seconds - (long)seconds) * 1e9)};
	long syncs = 0, spurious = 0;

	for (int i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "reuse-%d", i);
		if (latch_and_acknowledge(name, O_RDWR) != 0) {
			printf("reuse FAIL: setup\n");
			return 1;
		}
	}
	for (int i = 0; i < 3; i++) {
		w[i] = (struct worker){.id = i};
		pthread_create(&t[i], NULL, reuse_worker, &w[i]);
	}
	nanosleep(&ts, NULL);
	stop = 1;
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		syncs += w[i].syncs;
		spurious += w[i].spurious;
	}
	printf("reuse %s: %ld fsyncs, %ld spurious EIO\n", spurious ? "FAIL" : "ok", syncs,
	       spurious);
	return spurious != 0;
}

/* The child of vfork runs the wrappers in the parent's memory. */
static int vfork_child_does(int how, int fd)
{
	pid_t pid = vfork();
	int status;

	if (pid == 0) {
		if (how == 0)
			close(fd);
		else if (how == 1)
			close_range((unsigned)fd, (unsigned)fd, 0);
		else
			dup2(0, fd);
		_exit(0);
	}
	return pid < 0 || waitpid(pid, &status, 0) != pid ? -1 : 0;
}

static int check_vfork(void)
{
	static const char *const how[] = {"close", "close_range", "dup2"};
	int fd, bad = 0;

	if (latch_and_acknowledge("vfork-file", O_RDWR) != 0) {
		printf("vfork FAIL: setup\n");
		return 1;
	}
	fd = open(path_in("vfork-file"), O_RDWR);
	for (int i = 0; i < 3; i++) {
		if (vfork_child_does(i, fd) != 0 || fsync(fd) != 0) {
			printf("vfork FAIL: after the child's %s, fsync: %s\n", how[i],
			       strerror(errno));
			bad++;
		}
	}
	if (!bad)
		printf("vfork ok: the parent's fresh fd synced after the child's close, "
		       "close_range and dup2\n");
	return bad != 0;
}

static int check_opendir(void)
{
	int bad = 0;

	mkdir(path_in("dsub"), 0700);
	if (latch_and_acknowledge("dsub", O_RDONLY | O_DIRECTORY) != 0) {
		printf("opendir FAIL: setup\n");
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		DIR *d = opendir(path_in("dsub"));

		if (!d || fsync(dirfd(d)) != 0) {
			printf("opendir FAIL: stream %d: fsync: %s\n", i, strerror(errno));
			bad++;
		}
		if (d)
			closedir(d);
	}
	if (!bad)
		printf("opendir ok: 3 directory streams synced after the acknowledgment\n");
	return bad != 0;
}

static int raw_open(const char *name)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path_in(name), O_RDWR | O_CREAT, 0600);
}

static int check_rawreuse(void)
{
	int old = raw_open("rawreuse-file"), fd, raw, bad = 0;

	if (old < 0 || latch_and_acknowledge("rawreuse-file", O_RDWR) != 0) {
		printf("rawreuse FAIL: setup\n");
		return 1;
	}
	fd = open(path_in("rawreuse-file"), O_RDWR);
	close(fd);
	raw = raw_open("rawreuse-file");
	if (raw != fd)
		printf("rawreuse: note: the raw open got fd %d, not %d\n", raw, fd);
	if (fsync(raw) != 0) {
		printf("rawreuse FAIL: a raw fd made after the loss: fsync: %s\n", strerror(errno));
		bad++;
	}
	if (fsync(old) == 0) {
		printf("rawreuse FAIL: a raw fd made before the loss synced\n");
		bad++;
	}
	if (!bad)
		printf("rawreuse ok: the newer raw fd syncs, the older one stays latched\n");
	return bad != 0;
}

static int check_stderrfile(void)
{
	char buf[256];
	ssize_t n;
	int fd;

	close(2);
	fd = open(path_in("stderr-data"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd != 2) {
		printf("stderrfile FAIL: the data file got fd %d\n", fd);
		return 1;
	}
	if (write(fd, "DATA\n", 5) != 5 || fsync(fd) == 0) {
		printf("stderrfile FAIL: setup\n");
		return 1;
	}
	fsync(fd); /* refused, and reported */
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	if (strcmp(buf, "DATA\n") != 0) {
		printf("stderrfile FAIL: the data file holds: %s\n", buf);
		return 1;
	}
	printf("stderrfile ok: the data file on fd 2 holds only its data\n");
	return 0;
}

/* An fd open before the loss must stay latched whatever a vfork child
 * does with its number in its own fd table. */
static int check_vforkwitness(void)
{
	static const char *const how[] = {"close", "close_range", "dup2"};
	int old = open(path_in("vwit-file"), O_RDWR | O_CREAT, 0600), bad = 0;

	if (old < 0 || latch_and_acknowledge("vwit-file", O_RDWR) != 0 || fsync(old) == 0) {
		printf("vforkwitness FAIL: setup\n");
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		if (vfork_child_does(i, old) != 0) {
			printf("vforkwitness FAIL: vfork: %s\n", strerror(errno));
			return 1;
		}
		if (fsync(old) == 0) {
			printf("vforkwitness FAIL: after the child's %s, the parent's fd open "
			       "before the loss synced\n",
			       how[i]);
			bad++;
		}
	}
	if (!bad)
		printf("vforkwitness ok: the parent's old fd stayed latched after the child's "
		       "close, close_range and dup2\n");
	return bad != 0;
}

/* A thread that vforked, then forks: the fork child has memory of its own
 * and must keep its fd table up to date. */
static int check_forkaftervfork(void)
{
	pid_t pid = vfork();
	int status;

	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		printf("forkaftervfork FAIL: vfork\n");
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		int fd;

		if (latch_and_acknowledge("fav-file", O_RDWR) != 0) {
			printf("forkaftervfork FAIL: the fork child could not acknowledge "
			       "through a fresh fd\n");
			fflush(stdout);
			_exit(1);
		}
		fd = open(path_in("fav-file"), O_RDWR);
		if (fsync(fd) != 0) {
			printf("forkaftervfork FAIL: the fork child's fresh fd: fsync: %s\n",
			       strerror(errno));
			fflush(stdout);
			_exit(1);
		}
		printf("forkaftervfork ok: the fork child acknowledged and synced\n");
		fflush(stdout);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/* dup and dup2 of an fd made by a raw system call before the loss. */
static int check_dupunseen(void)
{
	int old = raw_open("dupunseen-file"), d1, d2, bad = 0;

	if (old < 0 || latch_and_acknowledge("dupunseen-file", O_RDWR) != 0 || fsync(old) == 0) {
		printf("dupunseen FAIL: setup\n");
		return 1;
	}
	d1 = dup(old);
	d2 = dup2(old, 50);
	if (fsync(d1) == 0) {
		printf("dupunseen FAIL: dup of an fd open before the loss synced\n");
		bad++;
	}
	if (fsync(d2) == 0) {
		printf("dupunseen FAIL: dup2 of an fd open before the loss synced\n");
		bad++;
	}
	if (!bad)
		printf("dupunseen ok: duplicates of an old unseen fd stay latched\n");
	return bad != 0;
}

static int check_dup2fail(void)
{
	int old = open(path_in("dup2fail-file"), O_RDWR | O_CREAT, 0600), closed;

	if (old < 0 || latch_and_acknowledge("dup2fail-file", O_RDWR) != 0 || fsync(old) == 0) {
		printf("dup2fail FAIL: setup\n");
		return 1;
	}
	closed = open("/dev/null", O_RDONLY);
	close(closed);
	if (dup2(closed, old) != -1 || errno != EBADF) {
		printf("dup2fail FAIL: dup2 from a closed fd did not fail with EBADF\n");
		return 1;
	}
	if (fsync(old) == 0) {
		printf("dup2fail FAIL: after a failed dup2 onto it, an fd open before the loss "
		       "synced\n");
		return 1;
	}
	printf("dup2fail ok: a failed dup2 left the old fd latched\n");
	return 0;
}

static int check_dupstderr(void)
{
	int data = open(path_in("dupstderr-data"), O_RDWR | O_CREAT | O_TRUNC, 0600), fd;
	char buf[256];
	ssize_t n;

	close(2);
	fd = dup(data);
	if (fd != 2) {
		printf("dupstderr FAIL: the duplicate got fd %d\n", fd);
		return 1;
	}
	close(data);
	if (write(fd, "DATA\n", 5) != 5 || fsync(fd) == 0) {
		printf("dupstderr FAIL: setup\n");
		return 1;
	}
	fsync(fd); /* refused, and reported */
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	if (strcmp(buf, "DATA\n") != 0) {
		printf("dupstderr FAIL: the data file holds: %s\n", buf);
		return 1;
	}
	printf("dupstderr ok: the data file on fd 2 holds only its data\n");
	return 0;
}

static int check_pipestderr(void)
{
	int pipefd[2], fd;

	if (pipe(pipefd) != 0) {
		printf("pipestderr FAIL: pipe: %s\n", strerror(errno));
		return 1;
	}
	close(pipefd[0]);
	dup2(pipefd[1], 2);
	close(pipefd[1]);
	fd = open(path_in("pipe-file"), O_RDWR | O_CREAT, 0600);
	if (fd < 0 || write(fd, "x", 1) != 1 || fsync(fd) == 0) {
		printf("pipestderr FAIL: setup\n");
		return 1;
	}
	fsync(fd); /* refused, and reported */
	printf("pipestderr ok: the reports to a broken pipe did not kill the program\n");
	return 0;
}

/* The first thing the program does is close every fd, before the shim
 * recorded any; stdout is kept on a number the shim does not see. */
static int check_closefromstderr(void)
{
	int out = (int)syscall(SYS_fcntl, 1, F_DUPFD_CLOEXEC, 200), fd;
	char buf[256], tmpl[4096];
	ssize_t n;

	close_range(0, 199, 0);
	open("/dev/null", O_RDONLY);
	open("/dev/null", O_WRONLY);
	snprintf(tmpl, sizeof(tmpl), "%s", path_in("stderr-tmp-XXXXXX"));
	fd = mkstemp(tmpl);
	if (fd != 2) {
		dprintf(out, "closefromstderr FAIL: the data file got fd %d\n", fd);
		return 1;
	}
	if (write(fd, "DATA\n", 5) != 5 || fsync(fd) == 0) {
		dprintf(out, "closefromstderr FAIL: setup\n");
		return 1;
	}
	fsync(fd); /* refused, and reported */
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	if (strcmp(buf, "DATA\n") != 0) {
		dprintf(out, "closefromstderr FAIL: the data file holds: %s\n", buf);
		return 1;
	}
	dprintf(out, "closefromstderr ok: the data file on fd 2 holds only its data\n");
	return 0;
}

static int check_witnessrefusal(void)
{
	int old = open(path_in("wref-file"), O_RDWR | O_CREAT, 0600), fresh;

	if (old < 0 || latch_and_acknowledge("wref-file", O_RDWR) != 0) {
		printf("witnessrefusal FAIL: setup\n");
		return 1;
	}
	if (fsync(old) == 0) {
		printf("witnessrefusal FAIL: the fd open before the loss synced\n");
		return 1;
	}
	fresh = open(path_in("wref-file"), O_RDWR);
	if (fsync(fresh) != 0) {
		printf("witnessrefusal FAIL: after a refused sync of an old fd, a fresh fd: "
		       "fsync: %s\n",
		       strerror(errno));
		return 1;
	}
	printf("witnessrefusal ok: the refusal did not latch the file again\n");
	return 0;
}

static int swap_fd;

static void *swap_worker(void *arg)
{
	(void)arg;
	while (!stop) {
		int fresh = open(path_in("swap-file"), O_RDWR);

		dup2(fresh, swap_fd);
		close(fresh);
	}
	return NULL;
}

static int check_swap(double seconds)
{
	struct timespec end, now;
	long syncs = 0, spurious = 0;
	pthread_t t;

	if (latch_and_acknowledge("swap-file", O_RDWR) != 0) {
		printf("swap FAIL: setup\n");
		return 1;
	}
	swap_fd = open(path_in("swap-file"), O_RDWR);
	pthread_create(&t, NULL, swap_worker, NULL);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)seconds;
	do {
		if (fsync(swap_fd) != 0)
			spurious++;
		syncs++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	stop = 1;
	pthread_join(t, NULL);
	printf("swap %s: %ld fsyncs, %ld spurious EIO\n", spurious ? "FAIL" : "ok", syncs,
	       spurious);
	return spurious != 0;
}

static int check_highfd(void)
{
	const char *at = getenv("FDCHECK_HIGH_FD");
	int want = at ? atoi(at) : 65600;
	struct rlimit rl = {(rlim_t)want + 100, (rlim_t)want + 100};
	int fresh, high;

	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		printf("highfd SKIP: cannot raise RLIMIT_NOFILE to %d: %s\n", want + 100,
		       strerror(errno));
		return 0;
	}
	if (latch_and_acknowledge("highfd-file", O_RDWR) != 0) {
		printf("highfd FAIL: setup\n");
		return 1;
	}
	fresh = open(path_in("highfd-file"), O_RDWR);
	high = fcntl(fresh, F_DUPFD, want);
	close(fresh);
	if (high < want) {
		printf("highfd FAIL: F_DUPFD gave %d\n", high);
		return 1;
	}
	if (fsync(high) != 0) {
		printf("highfd FAIL: fd %d, made after the acknowledgment: fsync: %s\n", high,
		       strerror(errno));
		return 1;
	}
	printf("highfd ok: fd %d made after the acknowledgment synced\n", high);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fdcheck MODE DIR [SECONDS]\n");
		return 2;
	}
	dir = argv[2];
	if (strcmp(argv[1], "reuse") == 0)
		return check_reuse(argc > 3 ? atof(argv[3]) : 2.0);
	if (strcmp(argv[1], "vfork") == 0)
		return check_vfork();
	if (strcmp(argv[1], "opendir") == 0)
		return check_opendir();
	if (strcmp(argv[1], "rawreuse") == 0)
		return check_rawreuse();
	if (strcmp(argv[1], "stderrfile") == 0)
		return check_stderrfile();
	if (strcmp(argv[1], "vforkwitness") == 0)
		return check_vforkwitness();
	if (strcmp(argv[1], "forkaftervfork") == 0)
		return check_forkaftervfork();
	if (strcmp(argv[1], "dupunseen") == 0)
		return check_dupunseen();
	if (strcmp(argv[1], "dup2fail") == 0)
		return check_dup2fail();
	if (strcmp(argv[1], "dupstderr") == 0)
		return check_dupstderr();
	if (strcmp(argv[1], "pipestderr") == 0)
		return check_pipestderr();
	if (strcmp(argv[1], "closefromstderr") == 0)
		return check_closefromstderr();
	if (strcmp(argv[1], "witnessrefusal") == 0)
		return check_witnessrefusal();
	if (strcmp(argv[1], "swap") == 0)
		return check_swap(argc > 3 ? atof(argv[3]) : 2.0);
	if (strcmp(argv[1], "highfd") == 0)
		return check_highfd();
	return 2;
}
