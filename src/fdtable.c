/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "fdtable.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

struct fd_entry fdtab[FDTAB_SIZE];
int fd_dsync_seen;
struct fd_entry *fdtab_chunk[FDTAB_CHUNKS];
int fdtab_high;
__thread int fd_vfork_parent;

enum key_state {
	KEY_NONE = 0,
	KEY_WRITING = 1,
	KEY_READY = 2,
};

#define TAG(gen) ((uint64_t)(gen) << 32)
#define TAG_OF(w) ((uint32_t)((w) >> 32))
#define LOW(w) ((uint32_t)(w))

/*
 * The vfork wrapper stores the parent's pid in the calling thread's
 * fd_vfork_parent before the real vfork.  The child runs on that thread's
 * memory and sees its own pid differ; the parent, which resumes only once
 * the child has exec'd or exited, sees its own and clears the mark.
 */
bool fd_in_vfork_child(void)
{
	int parent = fd_vfork_parent;

	if (__builtin_expect(parent == 0, 1))
		return false;
	if ((int)syscall(SYS_getpid) != parent)
		return true;
	fd_vfork_parent = 0;
	return false;
}

/* The entry of a high fd, mapping its chunk if need be. */
static struct fd_entry *make_entry(int fd)
{
	struct fd_entry *e = fd_entry(fd), *chunk, *none = NULL;
	size_t len = FDTAB_SIZE * sizeof(struct fd_entry);
	unsigned c = (unsigned)fd / FDTAB_SIZE;
	int saved;

	if (e || (unsigned)fd >= FDTAB_MAX)
		return e;
	saved = errno; /* callers promise to keep it */
	chunk = (struct fd_entry *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	errno = saved;
	if (chunk == MAP_FAILED)
		return NULL;
	if (!__atomic_compare_exchange_n(&fdtab_chunk[c], &none, chunk, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		syscall(SYS_munmap, chunk, len); /* another thread mapped it first */
	errno = saved;
	return fd_entry(fd);
}

/* Only a thread of this process may write (not a child of vfork). */
static struct fd_entry *writable_entry(int fd)
{
	return fd_in_vfork_child() ? NULL : make_entry(fd);
}

static void raise_high(int fd)
{
	int high = __atomic_load_n(&fdtab_high, __ATOMIC_RELAXED);

	while (fd + 1 > high && !__atomic_compare_exchange_n(&fdtab_high, &high, fd + 1, true,
							     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Move gen to the next even (released) or odd (installed) value. */
static uint32_t next_gen(uint32_t gen, bool installed)
{
	return installed ? (gen + 1) | 1 : (gen | 1) + 1;
}

static uint32_t move_gen(struct fd_entry *e, bool installed)
{
	uint32_t gen = __atomic_load_n(&e->gen, __ATOMIC_RELAXED), next;

	do
		next = next_gen(gen, installed);
	while (!__atomic_compare_exchange_n(&e->gen, &gen, next, true, __ATOMIC_ACQ_REL,
					    __ATOMIC_RELAXED));
	return next;
}

/* Store a tagged word only while lifetime gen is current: a thread that
 * learnt something about an fd since closed must not write it. */
static bool tagged_store(struct fd_entry *e, uint64_t *word, uint32_t gen, uint64_t value)
{
	if (__atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) != gen)
		return false;
	__atomic_store_n(word, value, __ATOMIC_RELEASE);
	return true;
}

int fd_witness_error(int fd, uint32_t gen)
{
	struct fd_entry *e = fd_entry(fd);
	uint64_t w = e ? __atomic_load_n(&e->witness, __ATOMIC_ACQUIRE) : 0;

	return e && TAG_OF(w) == gen ? (int)LOW(w) : 0;
}

void fd_mark_witness(int fd, uint32_t gen, int err)
{
	struct fd_entry *e = writable_entry(fd);
	uint64_t w;

	if (!e || err == 0)
		return;
	w = __atomic_load_n(&e->witness, __ATOMIC_ACQUIRE);
	do {
		if (TAG_OF(w) == gen && LOW(w) != 0)
			return; /* the first loss is the one reported */
		if (__atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) != gen)
			return;
	} while (!__atomic_compare_exchange_n(&e->witness, &w, TAG(gen) | (uint32_t)err, true,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	raise_high(fd);
}

void fd_set_clean(int fd, uint32_t gen, uint64_t seq)
{
	struct fd_entry *e = writable_entry(fd);

	if (e)
		tagged_store(e, &e->clean, gen, fd_clean_word(gen, seq));
}

bool fd_cached_key(int fd, uint32_t gen, struct file_key *key)
{
	struct fd_entry *e = fd_entry(fd);
	uint64_t w, ready = TAG(gen) | KEY_READY;

	if (!e || (w = __atomic_load_n(&e->key_word, __ATOMIC_ACQUIRE)) != ready)
		return false;
	*key = e->key;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&e->key_word, __ATOMIC_RELAXED) == w &&
	       __atomic_load_n(&e->gen, __ATOMIC_RELAXED) == gen;
}

/* Cache key for lifetime gen, unless it has one or another thread is
 * writing one: the key bytes change only under a word in KEY_WRITING. */
static void cache_key(struct fd_entry *e, uint32_t gen, const struct file_key *key)
{
	uint64_t w = __atomic_load_n(&e->key_word, __ATOMIC_ACQUIRE);
	uint64_t writing = TAG(gen) | KEY_WRITING;

	if (LOW(w) == KEY_WRITING || (TAG_OF(w) == gen && LOW(w) == KEY_READY))
		return;
	if (__atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) != gen ||
	    !__atomic_compare_exchange_n(&e->key_word, &w, writing, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	e->key = *key;
	__atomic_compare_exchange_n(&e->key_word, &writing, TAG(gen) | KEY_READY, false,
				    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

uint32_t fd_validate(int fd, uint32_t gen, const struct file_key *key)
{
	struct fd_entry *e = writable_entry(fd);
	struct file_key cached;

	if (!e)
		return gen;
	if (fd_cached_key(fd, gen, &cached)) {
		if (key_equal(&cached, key))
			return gen;
		/* closed and reopened behind our back: a description we did
		 * not see opened, in a lifetime of its own */
		if (!__atomic_compare_exchange_n(&e->gen, &gen, next_gen(gen, false), false,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return gen; /* moved on already: gen holds its new value */
		gen = next_gen(gen, false);
	}
	cache_key(e, gen, key);
	raise_high(fd); /* so that closefrom and close_range release it */
	return gen;
}

uint32_t fd_flags(int fd, uint32_t gen)
{
	struct fd_entry *e = fd_entry(fd);
	uint64_t w = e ? __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) : 0;

	return e && TAG_OF(w) == gen ? LOW(w) : 0;
}

uint32_t fd_set_flags(int fd, uint32_t gen, uint32_t bits)
{
	struct fd_entry *e = writable_entry(fd);
	uint64_t w;
	uint32_t had;

	if (!e)
		return 0;
	w = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	do {
		had = TAG_OF(w) == gen ? LOW(w) : 0;
		if ((had & bits) == bits || __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE) != gen)
			return had & bits;
	} while (!__atomic_compare_exchange_n(&e->flags, &w, TAG(gen) | had | bits, true,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	raise_high(fd);
	return had & bits;
}

/* Reports go to fd 2 only while it holds the stderr the program was given,
 * or something the program deliberately put there with dup2 or dup3 (dup
 * and F_DUPFD take the lowest free number: nothing deliberate). */
static void note_stderr(struct fd_entry *e, bool given)
{
	if (e == &fdtab[2])
		log_stderr_given(given);
}

static void release(struct fd_entry *e, uint64_t seq)
{
	note_stderr(e, false);
	__atomic_store_n(&e->free_seq, seq, __ATOMIC_RELAXED);
	__atomic_store_n(&e->wstate, 0, __ATOMIC_RELAXED);
	move_gen(e, false);
}

void fd_release(int fd, uint64_t seq)
{
	struct fd_entry *e = writable_entry(fd);

	if (e)
		release(e, seq);
}

void fd_release_range(unsigned first, unsigned last, uint64_t seq)
{
	unsigned high = (unsigned)__atomic_load_n(&fdtab_high, __ATOMIC_RELAXED);

	if (fd_in_vfork_child())
		return;
	/* fd 2 matters even before anything was recorded on it */
	if (first <= 2 && last >= 2)
		note_stderr(&fdtab[2], false);
	for (unsigned fd = first; fd <= last && fd < high; fd++) {
		struct fd_entry *e = fd_entry((int)fd);

		if (e)
			release(e, seq);
	}
}

/* Fields first, then the gen that publishes them.  chosen: the caller
 * named the number (dup2, dup3). */
static void install(struct fd_entry *e, int fd, uint64_t open_seq, uint8_t wstate, bool chosen)
{
	__atomic_store_n(&e->open_seq, open_seq, __ATOMIC_RELAXED);
	__atomic_store_n(&e->wstate, wstate, __ATOMIC_RELAXED);
	move_gen(e, true);
	raise_high(fd);
	note_stderr(e, chosen);
}

void fd_install_open(int fd, uint64_t seq, int oflags)
{
	struct fd_entry *e = writable_entry(fd);

	/* O_SYNC includes O_DSYNC */
	if (e)
		install(e, fd, seq, W_NOTE | ((oflags & O_DSYNC) ? W_DSYNC : 0), false);
	if ((oflags & O_DSYNC) && !__atomic_load_n(&fd_dsync_seen, __ATOMIC_RELAXED))
		__atomic_store_n(&fd_dsync_seen, 1, __ATOMIC_RELAXED);
}

void fd_install_dup(int oldfd, int newfd, bool chosen)
{
	struct fd_entry *src = fd_entry(oldfd), *dst = writable_entry(newfd);
	uint32_t sgen, dgen, flags;
	struct file_key key;
	int err;

	if (!dst || oldfd == newfd)
		return;
	sgen = fd_gen(oldfd);
	/* An fd the shim did not see opened stays one when duplicated, and
	 * its description is as old as the source's, not the number's. */
	if (!src || !(sgen & 1)) {
		release(dst, fd_created_after(oldfd, sgen));
		raise_high(newfd);
		note_stderr(dst, chosen);
		return;
	}
	install(dst, newfd, __atomic_load_n(&src->open_seq, __ATOMIC_RELAXED),
		__atomic_load_n(&src->wstate, __ATOMIC_RELAXED), chosen);
	/* What was learnt about the description holds for its duplicate;
	 * reporting is per fd.  Most fds have learnt nothing yet. */
	dgen = fd_gen(newfd);
	if ((err = fd_witness_error(oldfd, sgen)) != 0)
		fd_mark_witness(newfd, dgen, err);
	if (__atomic_load_n(&src->key_word, __ATOMIC_RELAXED) == (TAG(sgen) | KEY_READY) &&
	    fd_cached_key(oldfd, sgen, &key))
		cache_key(dst, dgen, &key);
	flags =
	    fd_flags(oldfd, sgen) & (FD_INJECT_CHECKED | FD_INJECT | FD_INJECT_LOSE | FD_NO_ATTR);
	if (flags)
		fd_set_flags(newfd, dgen, flags);
}

uint64_t fd_stamp_time(bool coarse)
{
	int64_t ns = clock_ns(coarse ? CLOCK_MONOTONIC_COARSE : CLOCK_MONOTONIC);

	return ns > 0 ? FD_STAMP_TIME | (uint64_t)ns : 0; /* 0: unknown, counts as old */
}

uint64_t fd_created_after(int fd, uint32_t gen)
{
	struct fd_entry *e = fd_entry(fd);
	uint64_t open_seq, free_seq;

	if (!e)
		return 0;
	open_seq = __atomic_load_n(&e->open_seq, __ATOMIC_RELAXED);
	free_seq = __atomic_load_n(&e->free_seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&e->gen, __ATOMIC_RELAXED) != gen)
		return 0; /* closed while we looked: nothing is known */
	if ((gen & 1) && open_seq != 0)
		return open_seq;
	/* Not seen opened: created after its number was last released. */
	return free_seq;
}

void fd_proc_name(int fd, char *buf)
{
	static const char prefix[] = "/proc/self/fd/";
	char digits[12];
	int n = 0;
	unsigned u = (unsigned)fd;

	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	memcpy(buf, prefix, sizeof(prefix) - 1);
	buf += sizeof(prefix) - 1;
	while (n > 0)
		*buf++ = digits[--n];
	*buf = '\0';
}

void fd_path(int fd, char *buf, size_t size)
{
	char link[32];
	ssize_t n;

	fd_proc_name(fd, link);
	n = readlink(link, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
}

bool fd_fcntl_dups(int cmd)
{
	return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC;
}
