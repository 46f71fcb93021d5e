/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
			"usage: fdcheck reuse|vfork|opendir|rawreuse|stderrfile DIR [SECONDS]\n");
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
	return 2;
}
