/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* The undo store behind lose=: what is recorded, spilled and applied.  Its
 * lock, and how it survives fork, are in undo_lock.c (protocol: undo_store.h). */
#define _GNU_SOURCE
#include "undo.h"
#include "undo_store.h"
#include "strcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdtable.h"
#include "log.h"
#include "sys.h"

/* ---- the store ---------------------------------------------------------- */

/* The file table's memory too comes from the store's arena. */
#define uthash_malloc(sz) arena_alloc(&undo_store.arena, sz)
#define uthash_free(ptr, sz) arena_free(&undo_store.arena, ptr)
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

struct undo_entry {
	off_t off;
	size_t saved;	/* old bytes kept (the part of the range inside the file) */
	size_t written; /* the range the write covered; 0 for a truncation */
	char *mem;	/* the old bytes, or NULL when spilled */
	int spill;	/* with mem NULL: index in undo_store.spill */
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

static char scratch[64u << 10]; /* the holder's copy buffer */
static int said[SKIP_COUNT];

/* Once per process and reason: lose= is no longer exact. */
void undo_skipped(enum skip_reason why)
{
	static const char *const text[SKIP_COUNT] = {
	    [SKIP_REENTERED] = "a write or sync from a signal handler interrupted a recording "
			       "on its own thread and was not recorded",
	    [SKIP_OWNER_STUCK] = "the record of overwritten bytes stayed held by a process "
				 "sharing this memory; calls were not recorded",
	    [SKIP_NO_SPILL] = "overwritten bytes past STICKYSYNC_INJECT_MEMORY could not be "
			      "spilled to TMPDIR (or this is a vfork child) and were not kept",
	    [SKIP_UNREADABLE] = "bytes spilled by another process could not be read back",
	};
	struct line l;

	if (__atomic_exchange_n(&said[why], 1, __ATOMIC_RELAXED))
		return;
	line_init(&l);
	line_prefix(&l);
	line_str(&l, "lose=: ");
	line_str(&l, text[why]);
	line_str(&l, ", so an injected loss may differ from what Linux would lose");
	log_line(&l);
}

/* ---- spill files -------------------------------------------------------- */

/* Is s->fd, in this process, still the file s describes? */
static bool spill_here(const struct spill_file *s)
{
	struct stat st;

	return s->fd >= 0 && fstat(s->fd, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino;
}

/* Where the holder may append: only the home, and only to a file it opened
 * itself (a copy shares its inherited files with its parent; a guest could
 * not open one its home would have). */
static struct spill_file *spill_for_append(void)
{
	struct spill_file *s;
	struct stat st;
	int fd;

	if (undo_store.place != PLACE_HOME)
		return NULL;
	for (int i = undo_store.nspill; i-- > 0;)
		if (undo_store.spill[i].ours && spill_here(&undo_store.spill[i]))
			return &undo_store.spill[i];
	if (undo_store.nspill == MAX_SPILLS)
		return NULL;
	fd = sys_openat(AT_FDCWD, undo_store.spill_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		sys_close(fd);
		return NULL;
	}
	s = &undo_store.spill[undo_store.nspill++];
	*s = (struct spill_file){.fd = fd, .dev = st.st_dev, .ino = st.st_ino, .ours = true};
	return s;
}

/* The store emptied: the home closes its spill files (a guest's fd table
 * is not the home's, so a guest leaves them). */
static void spill_close_all(void)
{
	if (undo_store.place != PLACE_HOME)
		return;
	for (int i = 0; i < undo_store.nspill; i++)
		if (spill_here(&undo_store.spill[i]))
			sys_close(undo_store.spill[i].fd);
	undo_store.nspill = 0;
}

/* Copy len bytes at off of rfd to a spill file, for entry e. */
static bool spill_bytes(struct undo_entry *e, int rfd, off_t off, size_t len)
{
	struct spill_file *s = spill_for_append();
	size_t done = 0;

	if (!s)
		return false;
	e->spill = (int)(s - undo_store.spill);
	e->spill_off = s->used;
	while (done < len) {
		size_t n = len - done < sizeof(scratch) ? len - done : sizeof(scratch);
		ssize_t got = sys_pread(rfd, scratch, n, off + (off_t)done);

		if (got <= 0)
			break;
		if (sys_pwrite(s->fd, scratch, (size_t)got, e->spill_off + (off_t)done) != got)
			return false;
		done += (size_t)got;
	}
	e->saved = done;
	s->used += (off_t)done;
	return true;
}

/* Copy a spilled entry back into the file. */
static void unspill_bytes(int wfd, const struct undo_entry *e)
{
	const struct spill_file *s;
	size_t done = 0;

	if (e->spill < 0 || e->spill >= undo_store.nspill ||
	    !spill_here(&undo_store.spill[e->spill])) {
		undo_skipped(SKIP_UNREADABLE);
		return;
	}
	s = &undo_store.spill[e->spill];
	while (done < e->saved) {
		size_t n = e->saved - done < sizeof(scratch) ? e->saved - done : sizeof(scratch);
		ssize_t got = sys_pread(s->fd, scratch, n, e->spill_off + (off_t)done);

		if (got <= 0 || sys_pwrite(wfd, scratch, (size_t)got, e->off + (off_t)done) != got)
			return;
		done += (size_t)got;
	}
}

/* ---- takeover and adoption ---------------------------------------------- */

/* The previous holder stopped mid-update (it was copied into this process
 * by fork, or it died): nothing in the store can be trusted.  Start empty;
 * what it held is left behind: the mappings stay, the spill fds that are
 * this process's are closed (a guest's fd table is not its home's, so a
 * guest leaves the spill files to the home). */
void undo_store_reset(void)
{
	if (undo_store.place != PLACE_GUEST) {
		for (int i = 0; i < undo_store.nspill && i < MAX_SPILLS; i++)
			if (spill_here(&undo_store.spill[i]))
				sys_close(undo_store.spill[i].fd);
		undo_store.nspill = 0;
	}
	undo_store.files = NULL;
	__atomic_store_n(&undo_store.nfiles, 0, __ATOMIC_RELAXED);
	undo_store.mem_used = 0;
	memset(&undo_store.arena, 0, sizeof(undo_store.arena));
}

/* ---- files and entries -------------------------------------------------- */

static struct undo_file *file_find(const struct file_key *key)
{
	struct undo_file *f;

	HASH_FIND(hh, undo_store.files, key, sizeof(*key), f);
	return f;
}

static struct undo_file *file_add(const struct file_key *key, int fd)
{
	struct undo_file *f;
	struct stat st;

	if (fstat(fd, &st) != 0)
		return NULL;
	f = arena_alloc(&undo_store.arena, sizeof(*f));
	if (!f)
		return NULL;
	memset(f, 0, sizeof(*f));
	f->key = *key;
	f->base_size = st.st_size;
	HASH_ADD(hh, undo_store.files, key, sizeof(f->key), f);
	if (file_find(key) != f) { /* the table could not grow */
		arena_free(&undo_store.arena, f);
		return NULL;
	}
	__atomic_store_n(&undo_store.nfiles, undo_store.nfiles + 1, __ATOMIC_RELAXED);
	return f;
}

static void file_drop(struct undo_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->e[i].mem)
			undo_store.mem_used -= f->e[i].saved;
		arena_free(&undo_store.arena, f->e[i].mem);
	}
	HASH_DEL(undo_store.files, f);
	arena_free(&undo_store.arena, f->e);
	arena_free(&undo_store.arena, f);
	__atomic_store_n(&undo_store.nfiles, undo_store.nfiles - 1, __ATOMIC_RELAXED);
	if (undo_store.nfiles == 0) {
		arena_release_all(&undo_store.arena);
		spill_close_all();
		undo_store.mem_used = 0;
	}
}

static struct undo_entry *entry_new(struct undo_file *f)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct undo_entry *grown = arena_alloc(&undo_store.arena, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		if (f->n)
			memcpy(grown, f->e, f->n * sizeof(*grown));
		arena_free(&undo_store.arena, f->e);
		f->e = grown;
		f->cap = cap;
	}
	return &f->e[f->n];
}

/* Save what [off, off+len) of the file holds now, read through rfd; only
 * the part inside the file has bytes to keep. */
static void save_range(struct undo_file *f, int rfd, off_t off, size_t len, size_t written)
{
	struct undo_entry *e = entry_new(f);
	struct stat st;
	size_t keep = 0;
	ssize_t got;

	if (!e || fstat(rfd, &st) != 0)
		return;
	if (off < st.st_size)
		keep = (off_t)len < st.st_size - off ? len : (size_t)(st.st_size - off);
	*e = (struct undo_entry){.off = off, .written = written, .spill = -1};
	if (keep == 0) {
		f->n++;
		return;
	}
	if (undo_store.mem_used + keep <= undo_store.mem_limit &&
	    (e->mem = arena_alloc(&undo_store.arena, keep))) {
		got = sys_pread(rfd, e->mem, keep, off);
		e->saved = got > 0 ? (size_t)got : 0;
		undo_store.mem_used += e->saved;
		f->n++;
		return;
	}
	if (spill_bytes(e, rfd, off, keep))
		f->n++;
	else
		undo_skipped(SKIP_NO_SPILL);
}

/* ---- the calls ---------------------------------------------------------- */

/* A second fd on the same file, readable or writable whatever fd's mode. */
static int reopen(int fd, int flags)
{
	char path[32];

	fd_proc_name(fd, path);
	return sys_openat(AT_FDCWD, path, flags | O_CLOEXEC, 0);
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

/* Record [off, off+len) of fd's file before it changes. */
static void record(int fd, off_t off, size_t len, size_t written)
{
	struct file_key key;
	struct undo_file *f;
	int rfd;

	if (off < 0 || key_from_fd(fd, &key) != 0)
		return;
	rfd = reopen(fd, O_RDONLY);
	if (rfd < 0)
		return;
	if (undo_store_lock()) {
		f = file_find(&key);
		if (!f)
			f = file_add(&key, fd);
		if (f)
			save_range(f, rfd, off, len, written);
		undo_store_unlock();
	}
	sys_close(rfd);
}

void undo_record_write(int fd, off_t off, size_t len)
{
	int saved = errno;

	record(fd, write_offset(fd, off), len, len);
	errno = saved;
}

void undo_record_truncate(int fd, off_t len)
{
	int saved = errno;
	struct stat st;

	if (fstat(fd, &st) == 0 && len < st.st_size)
		record(fd, len, (size_t)(st.st_size - len), 0);
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

static void lose_file(struct undo_file *f, int wfd, enum inject_lose lose)
{
	struct stat st;

	if (fstat(wfd, &st) != 0)
		return;
	/* Newest first, so each range gets the bytes of the last sync. */
	for (size_t i = f->n; i-- > 0;) {
		const struct undo_entry *e = &f->e[i];

		if (lose == LOSE_ZERO && e->written)
			zero_range(wfd, e->off, e->written, st.st_size);
		else if (lose == LOSE_OLD && e->mem)
			sys_pwrite(wfd, e->mem, e->saved, e->off);
		else if (lose == LOSE_OLD && e->saved)
			unspill_bytes(wfd, e);
	}
	if (lose == LOSE_OLD)
		sys_ftruncate(wfd, f->base_size);
}

/* Lose what is recorded for key, through wfd. */
static void apply(const struct file_key *key, int wfd, enum inject_lose lose)
{
	struct undo_file *f;

	if (!undo_store_lock())
		return;
	f = file_find(key);
	if (f) {
		lose_file(f, wfd, lose);
		file_drop(f);
	}
	undo_store_unlock();
}

void undo_apply(int fd, enum inject_lose lose)
{
	int saved = errno, wfd;
	struct file_key key;

	if (lose != LOSE_KEEP && __atomic_load_n(&undo_store.nfiles, __ATOMIC_RELAXED) &&
	    key_from_fd(fd, &key) == 0 && (wfd = reopen(fd, O_WRONLY)) >= 0) {
		apply(&key, wfd, lose);
		sys_close(wfd);
	}
	errno = saved;
}

static void forget(const struct file_key *key)
{
	struct undo_file *f;

	if (!undo_store_lock())
		return;
	f = file_find(key);
	if (f)
		file_drop(f);
	undo_store_unlock();
}

/* Both forget calls cost one atomic load while nothing is recorded. */
void undo_forget(int fd)
{
	int saved = errno;
	struct file_key key;

	if (__atomic_load_n(&undo_store.nfiles, __ATOMIC_RELAXED) && key_from_fd(fd, &key) == 0)
		forget(&key);
	errno = saved;
}

void undo_forget_all(void)
{
	struct undo_file *f, *tmp;
	int saved = errno;

	if (__atomic_load_n(&undo_store.nfiles, __ATOMIC_RELAXED) && undo_store_lock()) {
		HASH_ITER(hh, undo_store.files, f, tmp)
		file_drop(f);
		undo_store_unlock();
	}
	errno = saved;
}

void undo_usage(size_t *in_memory, size_t *spilled)
{
	int saved = errno;

	*in_memory = *spilled = 0;
	if (undo_store_lock()) {
		*in_memory = undo_store.mem_used;
		for (int i = 0; i < undo_store.nspill; i++)
			*spilled += (size_t)undo_store.spill[i].used;
		undo_store_unlock();
	}
	errno = saved;
}
