/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Processes that run under the library but hold io_uring rings it cannot
 * follow.  From outside a process the library's own list of rings cannot be
 * read, so the command says what /proc shows for certain: a process with
 * libstickysync.so mapped and io_uring fds, but without liburing's shared
 * library, drives its rings past the library (a static liburing, raw
 * system calls).  A process that loaded liburing.so is not named; its own
 * library says at exit which of its rings it did not follow.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Does /proc/PID/maps name both libraries? */
static void mapped(const char *pid, bool *shim, bool *uring)
{
	char path[300], line[4096];
	FILE *f;

	*shim = *uring = false;
	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		*shim |= strstr(line, "/libstickysync.so") != NULL;
		*uring |= strstr(line, "/liburing.so") != NULL;
	}
	fclose(f);
}

/* The io_uring fds of pid; polled: how many have an SQPOLL thread. */
static int ring_fds(const char *pid, int *polled)
{
	char path[300], link[64], info[600], buf[4096];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	*polled = 0;
	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	if (!(dir = opendir(path)))
		return 0;
	while ((d = readdir(dir))) {
		ssize_t len = readlinkat(dirfd(dir), d->d_name, link, sizeof(link) - 1);
		FILE *f;

		if (len < 0 || (link[len] = '\0', strcmp(link, "anon_inode:[io_uring]")))
			continue;
		n++;
		snprintf(info, sizeof(info), "/proc/%s/fdinfo/%s", pid, d->d_name);
		if ((f = fopen(info, "re"))) {
			while (fgets(buf, sizeof(buf), f))
				if (!strncmp(buf, "SqThread:", 9) && atoi(buf + 9) > 0)
					(*polled)++;
			fclose(f);
		}
	}
	closedir(dir);
	return n;
}

static void comm_of(const char *pid, char *buf, size_t size)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	buf[0] = '\0';
	if ((f = fopen(path, "re"))) {
		if (fgets(buf, (int)size, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

int rings_report_unseen(void)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	int found = 0;

	if (!proc)
		return 0;
	while ((d = readdir(proc))) {
		bool shim, uring;
		int n, polled;
		char comm[64];

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		mapped(d->d_name, &shim, &uring);
		if (!shim || uring || !(n = ring_fds(d->d_name, &polled)))
			continue;
		comm_of(d->d_name, comm, sizeof(comm));
		cli_warn("pid %s (%s) runs under libstickysync.so with %d io_uring ring%s (%d "
			 "polled by the kernel) and without liburing's shared library: syncs "
			 "submitted on %s are not sticky",
			 d->d_name, comm, n, n == 1 ? "" : "s", polled, n == 1 ? "it" : "them");
		found++;
	}
	closedir(proc);
	return found;
}
