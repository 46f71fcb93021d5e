/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "undo.h"
#include "strcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uthash.h>
#include <unistd.h>

#include "fdtable.h"
#include "sys.h"

struct undo_entry {
	off_t off;
	size_t saved;	/* old bytes kept (the part of the range inside the file) */
	size_t written; /* the range the write covered; 0 for a truncation */
	char *mem;	/* the old bytes, or NULL when spilled */
	off_t spill_off;
};

/* Per file, keyed by identity so every fd of the file shares one log. */
struct undo_file {
	struct file_key key;
	off_t base_size; /* size at the last sync */
	struct undo_entry *e;
	size_t n, cap;
	UT_hash_handle hh;
};

/* Protects everything below. */
static pthread_mutex_t undo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct undo_file *files;
static size_t mem_limit = 16u << 20, mem_used, spill_used;
static int spill_fd = -1;
static char spill_dir[PATH_MAX] = "/tmp";

/* The lock must not be held across fork, or the child would deadlock on
 * its first recorded write. */
static void before_fork(void)
{
	pthread_mutex_lock(&undo_lock);
}

static void after_fork(void)
{
	pthread_mutex_unlock(&undo_lock);
}

void undo_setup(size_t bytes_in_memory, const char *tmpdir)
{
	static int registered;

	mem_limit = bytes_in_memory;
	str_copy(spill_dir, sizeof(spill_dir), tmpdir);
	if (!__atomic_exchange_n(&registered, 1, __ATOMIC_ACQ_REL))
		pthread_atfork(before_fork, after_fork, after_fork);
}

/* A second fd on the same file, readable or writable whatever fd's mode. */
static int reopen(int fd, int flags)
{
	char path[32];

	fd_proc_name(fd, path);
	return sys_openat(AT_FDCWD, path, flags | O_CLOEXEC, 0);
}

static struct undo_file *file_of(int fd, bool create)
{
	struct file_key key;
	struct undo_file *f;
	struct stat st;

	if (key_from_fd(fd, &key) != 0)
		return NULL;
	HASH_FIND(hh, files, &key, sizeof(key), f);
	if (f || !create || fstat(fd, &st) != 0)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = key;
	f->base_size = st.st_size;
	HASH_ADD(hh, files, key, sizeof(f->key), f);
	return f;
}

static bool keep_bytes(struct undo_entry *e, const char *buf, size_t len)
{
	if (mem_used + len <= mem_limit) {
		e->mem = malloc(len ? len : 1);
		if (e->mem) {
			memcpy(e->mem, buf, len);
			mem_used += len;
			return true;
		}
	}
	if (spill_fd < 0) {
		spill_fd = sys_openat(AT_FDCWD, spill_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (spill_fd < 0)
			return false;
	}
	e->mem = NULL;
	e->spill_off = (off_t)spill_used;
	if (sys_pwrite(spill_fd, buf, len, e->spill_off) != (ssize_t)len)
		return false;
	spill_used += len;
	return true;
}

/* Save the file's bytes in [off, off+len) as a new entry. */
static void save_range(struct undo_file *f, int rfd, off_t off, size_t len, size_t written)
{
	struct undo_entry *e;
	char *buf;
	ssize_t got;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct undo_entry *grown = realloc(f->e, cap * sizeof(*grown));

		if (!grown)
			return;
		f->e = grown;
		f->cap = cap;
	}
	buf = malloc(len ? len : 1);
	if (!buf)
		return;
	got = len ? sys_pread(rfd, buf, len, off) : 0;
	e = &f->e[f->n];
	e->off = off;
	e->saved = got > 0 ? (size_t)got : 0;
	e->written = written;
	if (keep_bytes(e, buf, e->saved))
		f->n++;
	free(buf);
}

/* Where a write will land: at the end for O_APPEND (whatever offset a
 * pwrite names: Linux ignores it), else at off, or the file position. */
static off_t write_offset(int fd, off_t off)
{
	int fl = sys_fcntl(fd, F_GETFL, 0);
	struct stat st;

	if (fl >= 0 && (fl & O_APPEND))
		return fstat(fd, &st) == 0 ? st.st_size : -1;
	return off >= 0 ? off : lseek(fd, 0, SEEK_CUR);
}

void undo_record_write(int fd, off_t off, size_t len)
{
	int saved = errno, rfd;
	struct undo_file *f;

	off = write_offset(fd, off);
	rfd = reopen(fd, O_RDONLY);
	pthread_mutex_lock(&undo_lock);
	f = file_of(fd, true);
	if (f && rfd >= 0 && off >= 0)
		save_range(f, rfd, off, len, len ? len : 0);
	pthread_mutex_unlock(&undo_lock);
	if (rfd >= 0)
		sys_close(rfd);
	errno = saved;
}

void undo_record_path_truncate(int dirfd, const char *path, int flags)
{
	int saved = errno, fd;

	/* O_EXCL: nothing to lose (the open fails if the file exists); the
	 * look opens the same file the real open will, and no terminal */
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		return;
	fd = sys_openat(dirfd, path,
			O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (flags & O_NOFOLLOW), 0);
	if (fd >= 0) {
		undo_record_truncate(fd, 0);
		sys_close(fd);
	}
	errno = saved;
}

void undo_record_truncate(int fd, off_t len)
{
	int saved = errno, rfd = reopen(fd, O_RDONLY);
	struct undo_file *f;
	struct stat st;

	pthread_mutex_lock(&undo_lock);
	f = file_of(fd, true);
	if (f && rfd >= 0 && fstat(fd, &st) == 0 && len < st.st_size)
		save_range(f, rfd, len, (size_t)(st.st_size - len), 0);
	pthread_mutex_unlock(&undo_lock);
	if (rfd >= 0)
		sys_close(rfd);
	errno = saved;
}

static void entry_free(struct undo_entry *e)
{
	if (e->mem) {
		mem_used -= e->saved;
		free(e->mem);
	}
}

static void file_drop(struct undo_file *f)
{
	for (size_t i = 0; i < f->n; i++)
		entry_free(&f->e[i]);
	HASH_DEL(files, f);
	free(f->e);
	free(f);
	if (!files && spill_fd >= 0) {
		sys_close(spill_fd);
		spill_fd = -1;
		spill_used = 0;
	}
}

static void put_back(int wfd, const struct undo_entry *e)
{
	char *buf = e->mem;

	if (!buf) {
		buf = malloc(e->saved ? e->saved : 1);
		if (!buf || sys_pread(spill_fd, buf, e->saved, e->spill_off) != (ssize_t)e->saved) {
			free(buf);
			return;
		}
	}
	sys_pwrite(wfd, buf, e->saved, e->off);
	if (buf != e->mem)
		free(buf);
}

static void zero_range(int wfd, off_t off, size_t len, off_t size)
{
	static const char zeros[4096];

	if (off >= size)
		return;
	if ((off_t)len > size - off)
		len = (size_t)(size - off);
	while (len > 0) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		if (sys_pwrite(wfd, zeros, n, off) <= 0)
			return;
		off += (off_t)n;
		len -= n;
	}
}

void undo_apply(int fd, enum inject_lose lose)
{
	int saved = errno, wfd;
	struct undo_file *f;
	struct stat st;

	if (lose == LOSE_KEEP)
		return;
	wfd = reopen(fd, O_WRONLY);
	pthread_mutex_lock(&undo_lock);
	f = file_of(fd, false);
	if (f && wfd >= 0 && fstat(wfd, &st) == 0) {
		/* Newest first, so each range gets the bytes of the last sync. */
		for (size_t i = f->n; i-- > 0;) {
			if (lose == LOSE_OLD)
				put_back(wfd, &f->e[i]);
			else if (f->e[i].written)
				zero_range(wfd, f->e[i].off, f->e[i].written, st.st_size);
		}
		if (lose == LOSE_OLD)
			sys_ftruncate(wfd, f->base_size);
		file_drop(f);
	}
	pthread_mutex_unlock(&undo_lock);
	if (wfd >= 0)
		sys_close(wfd);
	errno = saved;
}

void undo_forget(int fd)
{
	int saved = errno;
	struct undo_file *f;

	pthread_mutex_lock(&undo_lock);
	f = files ? file_of(fd, false) : NULL;
	if (f)
		file_drop(f);
	pthread_mutex_unlock(&undo_lock);
	errno = saved;
}

void undo_forget_all(void)
{
	struct undo_file *f, *tmp;

	pthread_mutex_lock(&undo_lock);
	HASH_ITER(hh, files, f, tmp)
	file_drop(f);
	pthread_mutex_unlock(&undo_lock);
}

void undo_usage(size_t *in_memory, size_t *spilled)
{
	pthread_mutex_lock(&undo_lock);
	*in_memory = mem_used;
	*spilled = spill_used;
	pthread_mutex_unlock(&undo_lock);
}
