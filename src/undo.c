/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* The undo store behind lose=; its locking protocol is in undo.h. */
#define _GNU_SOURCE
#include "undo.h"
#include "strcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fdtable.h"
#include "log.h"
#include "sys.h"

/* ---- memory: from mmap, never malloc ------------------------------------ */

/*
 * Blocks of up to 64 KiB come from size classes (32 bytes, doubling) carved
 * out of 256 KiB chunks; bigger blocks are mappings of their own.  Only the
 * store's holder allocates.  When the store empties, the chunks go back.
 */
#define CLASS_MIN_SHIFT 5
#define NCLASS 12
#define OWN_MAPPING NCLASS
#define CHUNK_SIZE (256u << 10)

struct block {
	size_t size;  /* of the mapping, for OWN_MAPPING */
	size_t klass; /* size class, or OWN_MAPPING */
};

struct chunk {
	struct chunk *next;
	size_t pad; /* keeps blocks 16-byte aligned */
};

struct arena {
	struct block *free_list[NCLASS]; /* the next free block is in the payload */
	struct chunk *chunks;
	char *carve;
	size_t carve_left;
};

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static struct block *carve_block(struct arena *a, size_t size)
{
	struct block *b;

	if (a->carve_left < size) {
		struct chunk *c = map_anon(CHUNK_SIZE);

		if (!c)
			return NULL;
		c->next = a->chunks;
		a->chunks = c;
		a->carve = (char *)(c + 1);
		a->carve_left = CHUNK_SIZE - sizeof(*c);
	}
	b = (struct block *)a->carve;
	a->carve += size;
	a->carve_left -= size;
	return b;
}

static void *mem_alloc(struct arena *a, size_t n)
{
	size_t need = n + sizeof(struct block);
	struct block *b;
	size_t k = 0;

	if (n > SIZE_MAX / 2)
		return NULL;
	while (k < NCLASS && ((size_t)1 << (k + CLASS_MIN_SHIFT)) < need)
		k++;
	if (k == NCLASS) {
		size_t len = (need + 4095) & ~(size_t)4095;

		b = map_anon(len);
		if (!b)
			return NULL;
		b->size = len;
	} else if (a->free_list[k]) {
		b = a->free_list[k];
		a->free_list[k] = *(struct block **)(b + 1);
	} else {
		b = carve_block(a, (size_t)1 << (k + CLASS_MIN_SHIFT));
		if (!b)
			return NULL;
	}
	b->klass = k;
	return b + 1;
}

static void mem_free(struct arena *a, void *p)
{
	struct block *b;

	if (!p)
		return;
	b = (struct block *)p - 1;
	if (b->klass == OWN_MAPPING) {
		munmap(b, b->size);
		return;
	}
	*(struct block **)p = a->free_list[b->klass];
	a->free_list[b->klass] = b;
}

/* Every block is free: give the chunks back. */
static void mem_release_all(struct arena *a)
{
	while (a->chunks) {
		struct chunk *c = a->chunks;

		a->chunks = c->next;
		munmap(c, CHUNK_SIZE);
	}
	memset(a, 0, sizeof(*a));
}

/* ---- the store ---------------------------------------------------------- */

/* The file table's memory too comes from the store's arena. */
#define uthash_malloc(sz) mem_alloc(&store.arena, sz)
#define uthash_free(ptr, sz) mem_free(&store.arena, ptr)
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

struct undo_entry {
	off_t off;
	size_t saved;	/* old bytes kept (the part of the range inside the file) */
	size_t written; /* the range the write covered; 0 for a truncation */
	char *mem;	/* the old bytes, or NULL when spilled */
	int spill;	/* with mem NULL: index in store.spill */
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

/* An unlinked file holding recorded bytes past the memory limit.  Each use
 * checks that fd is still that file in this process's fd table: a vfork
 * child's table differs from its parent's, and a program may close fds it
 * did not open (closefrom). */
struct spill_file {
	int fd;
	dev_t dev;
	ino_t ino;
	off_t used;
	bool ours; /* opened by this memory's home: it may append; else inherited */
};

#define MAX_SPILLS 4

enum place {
	PLACE_HOME,  /* the process this memory belongs to */
	PLACE_COPY,  /* a forked child that has not adopted the store yet */
	PLACE_GUEST, /* a vfork child, running in its parent's memory */
};

enum skip_reason {
	SKIP_REENTERED,
	SKIP_OWNER_STUCK,
	SKIP_NO_SPILL,
	SKIP_UNREADABLE,
	SKIP_COUNT,
};

/* All of it belongs to the holder of `owner` (see undo.h). */
static struct {
	uint64_t owner;
	enum place place; /* the holder's */
	struct undo_file *files;
	size_t nfiles; /* also read without the lock: 0 means nothing to forget */
	size_t mem_limit, mem_used;
	struct spill_file spill[MAX_SPILLS];
	int nspill;
	char spill_dir[PATH_MAX];
	struct arena arena;
	pid_t setup_pid;
	uint64_t given_up; /* an owner in another process not waited for again */
} store = {.mem_limit = 16u << 20, .spill_dir = "/tmp"};

/* The pid of the store's home, in a page fork wipes (see undo.h); NULL when
 * the kernel has no MADV_WIPEONFORK. */
static pid_t *home_page;

static __thread int holding;
static char scratch[64u << 10]; /* the holder's copy buffer */
static int said[SKIP_COUNT];

/* Once per process and reason: lose= is no longer exact. */
static void skipped(enum skip_reason why)
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

void undo_setup(size_t bytes_in_memory, const char *tmpdir)
{
	store.mem_limit = bytes_in_memory;
	str_copy(store.spill_dir, sizeof(store.spill_dir), tmpdir);
	if (home_page)
		return;
	store.setup_pid = getpid();
	home_page = map_anon(4096);
	if (home_page && madvise(home_page, 4096, MADV_WIPEONFORK) != 0) {
		munmap(home_page, 4096);
		home_page = NULL;
	}
	if (home_page)
		*home_page = store.setup_pid;
}

/* ---- the lock ----------------------------------------------------------- */

static uint64_t owner_word(pid_t pid, pid_t tid)
{
	return (uint64_t)(uint32_t)pid << 32 | (uint32_t)tid;
}

static enum place place_of(pid_t self)
{
	pid_t home;

	if (!home_page)
		return self == store.setup_pid ? PLACE_HOME : PLACE_GUEST;
	home = __atomic_load_n(home_page, __ATOMIC_RELAXED);
	if (home == self)
		return PLACE_HOME;
	/* wiped by fork, or its home died: nobody else lives in this memory */
	if (home == 0 || (kill(home, 0) != 0 && errno == ESRCH))
		return PLACE_COPY;
	return PLACE_GUEST;
}

static bool gone(pid_t pid, pid_t tid)
{
	long r = tid ? syscall(SYS_tgkill, pid, tid, 0) : kill(pid, 0);

	return r != 0 && errno == ESRCH;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Does the other process share this memory?  Asked only of a copy that has
 * not adopted the store and finds it held: a vfork child of such a copy sees
 * the wiped page too.  Where kcmp is refused (seccomp), a process sharing
 * the memory shows itself by adopting the page within 100 ms.
 */
static bool shares_memory(pid_t self, pid_t other, long long *asked)
{
	long r = syscall(SYS_kcmp, self, other, KCMP_VM, 0, 0);

	if (r >= 0)
		return r == 0;
	if (errno == ESRCH)
		return false;
	if (!*asked)
		*asked = now_ms();
	return now_ms() - *asked < 100;
}

enum verdict { V_WAIT, V_TAKE_OVER, V_SKIP };

static enum verdict judge_owner(uint64_t owner, pid_t pid, pid_t tid, long long *asked)
{
	pid_t opid = (pid_t)(owner >> 32), otid = (pid_t)(uint32_t)owner;

	if (owner == owner_word(pid, tid))
		return V_SKIP; /* this thread, between taking the word and `holding` */
	if (opid == pid)
		return gone(pid, otid) ? V_TAKE_OVER : V_WAIT;
	if (owner == __atomic_load_n(&store.given_up, __ATOMIC_RELAXED))
		return V_SKIP;
	if (gone(opid, 0))
		return V_TAKE_OVER;
	if (place_of(pid) == PLACE_COPY && !shares_memory(pid, opid, asked))
		return V_TAKE_OVER;
	return V_WAIT; /* a process sharing this memory: a vfork child or parent */
}

/* Wait politely; after 2 s an owner in another process is given up on. */
static bool keep_waiting(unsigned spins, uint64_t owner, pid_t pid, long long *since)
{
	struct timespec pause = {0, 50000};

	if (spins < 64) {
		sched_yield();
		return true;
	}
	if (!*since)
		*since = now_ms();
	if ((pid_t)(owner >> 32) != pid && now_ms() - *since > 2000) {
		__atomic_store_n(&store.given_up, owner, __ATOMIC_RELAXED);
		skipped(SKIP_OWNER_STUCK);
		return false;
	}
	nanosleep(&pause, NULL);
	return true;
}

static void reset_store(void);
static void adopt(pid_t self);

/* `holding` outlives the holding only when a vfork child was killed inside
 * the store (it shares this thread's thread-local storage): the word then
 * names a process that is gone, or nobody. */
static bool holding_is_stale(void)
{
	uint64_t owner = __atomic_load_n(&store.owner, __ATOMIC_ACQUIRE);

	return owner == 0 || gone((pid_t)(owner >> 32), (pid_t)(uint32_t)owner);
}

/* Take the store, or say why not.  On success the caller must unlock. */
static bool store_lock(void)
{
	pid_t pid, tid;
	uint64_t me, cur;
	long long since = 0, asked = 0;

	if (holding && !holding_is_stale()) {
		skipped(SKIP_REENTERED);
		return false;
	}
	holding = 0;
	pid = getpid();
	tid = gettid();
	me = owner_word(pid, tid);
	for (unsigned spins = 0;; spins++) {
		enum verdict v;

		cur = 0;
		if (__atomic_compare_exchange_n(&store.owner, &cur, me, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
		v = judge_owner(cur, pid, tid, &asked);
		if (v == V_SKIP) {
			skipped(cur == me ? SKIP_REENTERED : SKIP_OWNER_STUCK);
			return false;
		}
		if (v == V_TAKE_OVER &&
		    __atomic_compare_exchange_n(&store.owner, &cur, me, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
			holding = 1;
			store.place = place_of(pid);
			reset_store();
			break;
		}
		if (v == V_WAIT && !keep_waiting(spins, cur, pid, &since))
			return false;
	}
	holding = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	store.place = place_of(pid);
	if (store.place == PLACE_COPY)
		adopt(pid);
	return true;
}

static void store_unlock(void)
{
	__atomic_store_n(&store.owner, 0, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	holding = 0;
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

	if (store.place != PLACE_HOME)
		return NULL;
	for (int i = store.nspill; i-- > 0;)
		if (store.spill[i].ours && spill_here(&store.spill[i]))
			return &store.spill[i];
	if (store.nspill == MAX_SPILLS)
		return NULL;
	fd = sys_openat(AT_FDCWD, store.spill_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		sys_close(fd);
		return NULL;
	}
	s = &store.spill[store.nspill++];
	*s = (struct spill_file){.fd = fd, .dev = st.st_dev, .ino = st.st_ino, .ours = true};
	return s;
}

/* The store emptied: the home closes its spill files (a guest's fd table
 * is not the home's, so a guest leaves them). */
static void spill_close_all(void)
{
	if (store.place != PLACE_HOME)
		return;
	for (int i = 0; i < store.nspill; i++)
		if (spill_here(&store.spill[i]))
			sys_close(store.spill[i].fd);
	store.nspill = 0;
}

/* Copy len bytes at off of rfd to a spill file, for entry e. */
static bool spill_bytes(struct undo_entry *e, int rfd, off_t off, size_t len)
{
	struct spill_file *s = spill_for_append();
	size_t done = 0;

	if (!s)
		return false;
	e->spill = (int)(s - store.spill);
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

	if (e->spill < 0 || e->spill >= store.nspill || !spill_here(&store.spill[e->spill])) {
		skipped(SKIP_UNREADABLE);
		return;
	}
	s = &store.spill[e->spill];
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
static void reset_store(void)
{
	if (store.place != PLACE_GUEST) {
		for (int i = 0; i < store.nspill && i < MAX_SPILLS; i++)
			if (spill_here(&store.spill[i]))
				sys_close(store.spill[i].fd);
		store.nspill = 0;
	}
	store.files = NULL;
	__atomic_store_n(&store.nfiles, 0, __ATOMIC_RELAXED);
	store.mem_used = 0;
	memset(&store.arena, 0, sizeof(store.arena));
}

/* A forked child's first call: the store is its own now.  Its inherited
 * spill files are still its parent's to append to. */
static void adopt(pid_t self)
{
	for (int i = 0; i < store.nspill; i++)
		store.spill[i].ours = false;
	__atomic_store_n(home_page, self, __ATOMIC_RELAXED);
	store.place = PLACE_HOME;
}

/* ---- files and entries -------------------------------------------------- */

static struct undo_file *file_find(const struct file_key *key)
{
	struct undo_file *f;

	HASH_FIND(hh, store.files, key, sizeof(*key), f);
	return f;
}

static struct undo_file *file_add(const struct file_key *key, int fd)
{
	struct undo_file *f;
	struct stat st;

	if (fstat(fd, &st) != 0)
		return NULL;
	f = mem_alloc(&store.arena, sizeof(*f));
	if (!f)
		return NULL;
	memset(f, 0, sizeof(*f));
	f->key = *key;
	f->base_size = st.st_size;
	HASH_ADD(hh, store.files, key, sizeof(f->key), f);
	if (file_find(key) != f) { /* the table could not grow */
		mem_free(&store.arena, f);
		return NULL;
	}
	__atomic_store_n(&store.nfiles, store.nfiles + 1, __ATOMIC_RELAXED);
	return f;
}

static void file_drop(struct undo_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->e[i].mem)
			store.mem_used -= f->e[i].saved;
		mem_free(&store.arena, f->e[i].mem);
	}
	HASH_DEL(store.files, f);
	mem_free(&store.arena, f->e);
	mem_free(&store.arena, f);
	__atomic_store_n(&store.nfiles, store.nfiles - 1, __ATOMIC_RELAXED);
	if (store.nfiles == 0) {
		mem_release_all(&store.arena);
		spill_close_all();
		store.mem_used = 0;
	}
}

static struct undo_entry *entry_new(struct undo_file *f)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct undo_entry *grown = mem_alloc(&store.arena, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		if (f->n)
			memcpy(grown, f->e, f->n * sizeof(*grown));
		mem_free(&store.arena, f->e);
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
	if (store.mem_used + keep <= store.mem_limit && (e->mem = mem_alloc(&store.arena, keep))) {
		got = sys_pread(rfd, e->mem, keep, off);
		e->saved = got > 0 ? (size_t)got : 0;
		store.mem_used += e->saved;
		f->n++;
		return;
	}
	if (spill_bytes(e, rfd, off, keep))
		f->n++;
	else
		skipped(SKIP_NO_SPILL);
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
	if (store_lock()) {
		f = file_find(&key);
		if (!f)
			f = file_add(&key, fd);
		if (f)
			save_range(f, rfd, off, len, written);
		store_unlock();
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

	if (!store_lock())
		return;
	f = file_find(key);
	if (f) {
		lose_file(f, wfd, lose);
		file_drop(f);
	}
	store_unlock();
}

void undo_apply(int fd, enum inject_lose lose)
{
	int saved = errno, wfd;
	struct file_key key;

	if (lose != LOSE_KEEP && __atomic_load_n(&store.nfiles, __ATOMIC_RELAXED) &&
	    key_from_fd(fd, &key) == 0 && (wfd = reopen(fd, O_WRONLY)) >= 0) {
		apply(&key, wfd, lose);
		sys_close(wfd);
	}
	errno = saved;
}

static void forget(const struct file_key *key)
{
	struct undo_file *f;

	if (!store_lock())
		return;
	f = file_find(key);
	if (f)
		file_drop(f);
	store_unlock();
}

/* Both forget calls cost one atomic load while nothing is recorded. */
void undo_forget(int fd)
{
	int saved = errno;
	struct file_key key;

	if (__atomic_load_n(&store.nfiles, __ATOMIC_RELAXED) && key_from_fd(fd, &key) == 0)
		forget(&key);
	errno = saved;
}

void undo_forget_all(void)
{
	struct undo_file *f, *tmp;
	int saved = errno;

	if (__atomic_load_n(&store.nfiles, __ATOMIC_RELAXED) && store_lock()) {
		HASH_ITER(hh, store.files, f, tmp)
		file_drop(f);
		store_unlock();
	}
	errno = saved;
}

void undo_usage(size_t *in_memory, size_t *spilled)
{
	int saved = errno;

	*in_memory = *spilled = 0;
	if (store_lock()) {
		*in_memory = store.mem_used;
		for (int i = 0; i < store.nspill; i++)
			*spilled += (size_t)store.spill[i].used;
		store_unlock();
	}
	errno = saved;
}
