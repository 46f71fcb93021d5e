/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"

/* Put a one-line reason in msg; returns -1 for the caller to pass on. */
static int refuse(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The ownership and permission rule shared by the folder and the file. */
static const char *unsafe_reason(const struct stat *st)
{
	if (st->st_uid != geteuid())
		return "is owned by another user";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "is writable by group or others";
	return NULL;
}

/*
 * Open dir one component at a time, creating missing ones (0700) when asked.
 * A symbolic link on the way is followed only if it belongs to root or to
 * us (another user's link could redirect our state); the folder itself must
 * not be a link.  -1 with errno, ELOOP for a refused link.
 */
static int walk_to(const char *dir, bool create)
{
	char buf[PATH_MAX];
	size_t n = strlen(dir);
	char *comp = buf;
	int dfd;

	if (n >= sizeof(buf) || dir[0] != '/') {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, dir, n + 1);
	dfd = sys_openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	while (dfd >= 0) {
		int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, next;
		struct stat st;
		char *end;

		while (*comp == '/')
			comp++;
		if (!*comp)
			break;
		end = comp + strcspn(comp, "/");
		if (*end)
			*end++ = '\0';
		while (*end == '/')
			end++;
		/* Never follow a link unless it was just seen to be a link of root
		 * or of ours on the way (the folder itself must not be one). */
		next = sys_openat(dfd, comp, flags | O_NOFOLLOW, 0);
		if (next < 0 && (errno == ELOOP || errno == ENOTDIR) && *end &&
		    fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
		    (st.st_uid == 0 || st.st_uid == geteuid()))
			next = sys_openat(dfd, comp, flags, 0);
		/* another process may create it at the same moment: fine */
		if (next < 0 && errno == ENOENT && create &&
		    (mkdirat(dfd, comp, 0700) == 0 || errno == EEXIST))
			next = sys_openat(dfd, comp, flags | O_NOFOLLOW, 0);
		sys_close(dfd);
		dfd = next;
		comp = end;
	}
	return dfd;
}

static int open_dir(const char *dir, bool create, char *msg, size_t msglen)
{
	struct stat st;
	const char *why;
	int dfd = walk_to(dir, create);

	if (dfd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			return refuse(
			    msg, msglen,
			    "state folder %s is reached through a symbolic link (or is not a "
			    "folder); refused",
			    dir);
		return refuse(msg, msglen, "state folder %s cannot be opened: %s", dir,
			      strerror(errno));
	}
	why = fstat(dfd, &st) != 0 ? "cannot be examined" : unsafe_reason(&st);
	if (why) {
		sys_close(dfd);
		return refuse(msg, msglen,
			      "state folder %s %s; refused (expected a folder of yours, mode 0700)",
			      dir, why);
	}
	return dfd;
}

/*
 * Make a new table under a private name and link it into place, so that no
 * process ever maps a half-formatted table; if another process won the race,
 * its table is used.
 */
static int create_table(int dfd, uint32_t capacity)
{
	char tmp[64];
	size_t len = latchtab_bytes(capacity);
	struct timespec now;
	void *mem;
	int fd, ret = -1;

	/* pid and time: a name left by a crashed process with a recycled pid
	 * (common in containers) does not block creation forever */
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(tmp, sizeof(tmp), ".%s.%d.%ld%09ld.tmp", STATE_FILE, (int)getpid(),
		 (long)now.tv_sec, now.tv_nsec);
	fd = sys_openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (sys_ftruncate(fd, (off_t)len) == 0) {
		mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (mem != MAP_FAILED) {
			latchtab_format(mem, capacity);
			munmap(mem, len);
			if (linkat(dfd, tmp, dfd, STATE_FILE, 0) == 0 || errno == EEXIST)
				ret = 0;
		}
	}
	unlinkat(dfd, tmp, 0);
	sys_close(fd);
	return ret;
}

static int map_table(struct state *s, int fd, const char *dir, char *msg, size_t msglen)
{
	struct stat st;
	const char *why;

	if (fstat(fd, &st) != 0)
		return refuse(msg, msglen, "state file %s/" STATE_FILE " cannot be examined: %s",
			      dir, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return refuse(msg, msglen,
			      "state file %s/" STATE_FILE " is not a regular file; refused", dir);
	if ((why = unsafe_reason(&st)) != NULL)
		return refuse(msg, msglen, "state file %s/" STATE_FILE " %s; refused", dir, why);
	s->len = (size_t)st.st_size;
	s->map =
	    s->len ? mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		return refuse(msg, msglen, "state file %s/" STATE_FILE " cannot be mapped: %s", dir,
			      strerror(s->len ? errno : EINVAL));
	}
	if (latchtab_attach(&s->tab, s->map, s->len) != 0) {
		munmap(s->map, s->len);
		s->map = NULL;
		return refuse(msg, msglen,
			      "state file %s/" STATE_FILE
			      " is not a stickysync latch table of version %u (another version's, "
			      "or damaged); refused",
			      dir, LATCHTAB_VERSION);
	}
	return 0;
}

int state_open(struct state *s, const char *dir, bool create, uint32_t capacity, char *msg,
	       size_t msglen)
{
	int dfd, fd, ret;

	memset(s, 0, sizeof(*s));
	dfd = open_dir(dir, create, msg, msglen);
	if (dfd < 0)
		return -1;
	fd = sys_openat(dfd, STATE_FILE, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0 && errno == ENOENT && create && create_table(dfd, capacity) == 0)
		fd = sys_openat(dfd, STATE_FILE, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		int err = errno;

		sys_close(dfd);
		if (err == ELOOP)
			return refuse(msg, msglen,
				      "state file %s/" STATE_FILE " is a symbolic link; refused",
				      dir);
		return refuse(msg, msglen, "state file %s/" STATE_FILE " cannot be opened: %s", dir,
			      strerror(err));
	}
	ret = map_table(s, fd, dir, msg, msglen);
	sys_close(fd);
	sys_close(dfd);
	return ret;
}

void state_close(struct state *s)
{
	if (s->map)
		munmap(s->map, s->len);
	memset(s, 0, sizeof(*s));
}

static bool record_gone(const struct latch_record *rec, void *arg)
{
	bool also_active = *(bool *)arg;
	struct file_key now;

	if ((rec->state & 0xff) == SLOT_ACTIVE && !also_active)
		return false;
	if (rec->key.kind != KEY_FILE || rec->path[0] != '/')
		return false;
	if (key_from_path(rec->path, &now) != 0)
		return errno == ENOENT;
	return !key_equal(&now, &rec->key);
}

int state_prune_gone(struct latchtab *t, bool also_active)
{
	return latchtab_prune(t, record_gone, &also_active);
}
