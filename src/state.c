/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "sys.h"

/* Put a one-line reason in msg; returns -1 for the caller to pass on. */
static int __attribute__((format(printf, 3, 4)))
refuse(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The same for a table attached read-only: why this process cannot write. */
#define note(...) ((void)refuse(__VA_ARGS__))

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

/* -1 with errno, and a reason in msg. */
static int open_dir(const char *dir, bool create, char *msg, size_t msglen)
{
	struct stat st;
	const char *why;
	int dfd = walk_to(dir, create), err = errno;

	if (dfd < 0) {
		if (err == ELOOP || err == ENOTDIR)
			refuse(msg, msglen,
			       "state folder %s is reached through a symbolic link (or is not a "
			       "folder); refused",
			       dir);
		else
			refuse(msg, msglen, "state folder %s cannot be opened: %s", dir,
			       strerror(err));
		errno = err;
		return -1;
	}
	why = fstat(dfd, &st) != 0 ? "cannot be examined" : unsafe_reason(&st);
	if (why) {
		sys_close(dfd);
		errno = EPERM;
		return refuse(msg, msglen,
			      "state folder %s %s; refused (expected a folder of yours, mode 0700)",
			      dir, why);
	}
	return dfd;
}

/*
 * Give a new file of ours its len bytes for real.  A shared mapping of a
 * sparse file kills the process with SIGBUS at the first store into a page
 * its filesystem cannot allocate (full, or over quota); ftruncate alone
 * makes exactly such a file.  Where fallocate is not supported, writing
 * zeros allocates as well.  -1 with errno (ENOSPC, EDQUOT...).
 */
static int allocate_new(int fd, size_t len)
{
	static char zeros[4096]; /* only read */
	size_t off = 0;

	if (sys_fallocate(fd, 0, 0, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -1;
	while (off < len) {
		size_t n = len - off < sizeof(zeros) ? len - off : sizeof(zeros);
		ssize_t done = sys_pwrite(fd, zeros, n, (off_t)off);

		if (done <= 0) {
			if (done == 0)
				errno = ENOSPC;
			return -1;
		}
		off += (size_t)done;
	}
	return 0;
}

static int format_new(int fd, uint32_t capacity)
{
	size_t len = latchtab_bytes(capacity);
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (mem == MAP_FAILED)
		return -1;
	latchtab_format(mem, capacity);
	munmap(mem, len);
	return 0;
}

/*
 * Make a new table under a private name, its space allocated, and link it
 * into place, so that no process ever maps a half-formatted or sparse
 * table; if another process won the race, its table is used.  -1 with
 * errno.
 */
static int create_table(int dfd, uint32_t capacity)
{
	char tmp[64];
	struct timespec now;
	int fd, ret = -1, err;

	/* pid and time: a name left by a crashed process with a recycled pid
	 * (common in containers) does not block creation forever */
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(tmp, sizeof(tmp), ".%s.%d.%ld%09ld.tmp", STATE_FILE, (int)getpid(),
		 (long)now.tv_sec, now.tv_nsec);
	fd = sys_openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (allocate_new(fd, latchtab_bytes(capacity)) == 0 && format_new(fd, capacity) == 0 &&
	    (linkat(dfd, tmp, dfd, STATE_FILE, 0) == 0 || errno == EEXIST))
		ret = 0;
	err = errno;
	unlinkat(dfd, tmp, 0);
	sys_close(fd);
	errno = err;
	return ret;
}

/* DIR/latches for reading and writing, else, where it cannot be written
 * (a read-only filesystem or file), for reading: *ro_err says why. */
static int open_file(int dfd, int *ro_err)
{
	int fd = sys_openat(dfd, STATE_FILE, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);

	*ro_err = 0;
	if (fd >= 0 || (errno != EROFS && errno != EACCES))
		return fd;
	*ro_err = errno;
	return sys_openat(dfd, STATE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
}

static int check_file(int fd, const char *dir, struct stat *st, char *msg, size_t msglen)
{
	const char *why;

	if (fstat(fd, st) != 0)
		return refuse(msg, msglen, "state file %s/" STATE_FILE " cannot be examined: %s",
			      dir, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return refuse(msg, msglen,
			      "state file %s/" STATE_FILE " is not a regular file; refused", dir);
	if ((why = unsafe_reason(st)) != NULL)
		return refuse(msg, msglen, "state file %s/" STATE_FILE " %s; refused", dir, why);
	return 0;
}

/* Judge the file by its size and header, read without mapping it; *need
 * gets the bytes to map. */
static int check_header(int fd, const struct stat *st, const char *dir, size_t *need, char *msg,
			size_t msglen)
{
	char head[LATCHTAB_HEAD_BYTES];
	size_t len = (size_t)st->st_size;
	ssize_t n = sys_pread(fd, head, sizeof(head), 0);
	uint32_t version;

	if (n < 0)
		return refuse(msg, msglen, "state file %s/" STATE_FILE " cannot be read: %s", dir,
			      strerror(errno));
	switch (latchtab_check(head, (size_t)n, len, &version, need)) {
	case LATCHTAB_OK:
		return 0;
	case LATCHTAB_FOREIGN:
		return refuse(
		    msg, msglen,
		    "state file %s/" STATE_FILE " is not a stickysync latch table; refused", dir);
	case LATCHTAB_OTHER_VERSION:
		return refuse(msg, msglen,
			      "state file %s/" STATE_FILE
			      " is a latch table of version %u, not %u; refused",
			      dir, version, LATCHTAB_VERSION);
	case LATCHTAB_DAMAGED:
		return refuse(msg, msglen,
			      "state file %s/" STATE_FILE " is a damaged latch table; refused",
			      dir);
	case LATCHTAB_TRUNCATED:
		break;
	}
	return refuse(msg, msglen,
		      "state file %s/" STATE_FILE " is truncated (%zu of %s%zu bytes); refused",
		      dir, len, *need == sizeof(struct latch_header) ? "at least " : "", *need);
}

static int attach_mapping(struct state *s, void *mem, size_t len, bool readonly, const char *dir,
			  char *msg, size_t msglen)
{
	/* the header was checked before mapping: only a writer racing us
	 * changes it */
	if (latchtab_attach(&s->tab, mem, len) != 0) {
		munmap(mem, len);
		return refuse(msg, msglen,
			      "state file %s/" STATE_FILE " changed while it was opened; refused",
			      dir);
	}
	s->tab.readonly = readonly;
	s->tab.boot = boot_tag();
	s->tab.mono_offset = mono_offset();
	s->map = mem;
	s->len = len;
	return 0;
}

static int map_shared(struct state *s, int fd, size_t len, bool readonly, const char *dir,
		      char *msg, size_t msglen)
{
	int prot = readonly ? PROT_READ : PROT_READ | PROT_WRITE;
	void *mem = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	if (mem == MAP_FAILED)
		return refuse(msg, msglen, "state file %s/" STATE_FILE " cannot be mapped: %s", dir,
			      strerror(errno));
	return attach_mapping(s, mem, len, readonly, dir, msg, msglen);
}

/* A private copy, read with pread, which never faults: holes read as
 * zeros without being allocated. */
static int map_copy(struct state *s, int fd, size_t len, const char *dir, char *msg, size_t msglen)
{
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t off = 0;

	if (mem == MAP_FAILED)
		return refuse(msg, msglen, "state file %s/" STATE_FILE " cannot be copied: %s", dir,
			      strerror(errno));
	while (off < len) {
		ssize_t n = sys_pread(fd, mem + off, len - off, (off_t)off);

		if (n <= 0) {
			munmap(mem, len);
			return refuse(msg, msglen,
				      "state file %s/" STATE_FILE " cannot be read: %s", dir,
				      n == 0 ? "it shrank" : strerror(errno));
		}
		off += (size_t)n;
	}
	return attach_mapping(s, mem, len, true, dir, msg, msglen);
}

/* Can the first len bytes all have a block behind them (512-byte units)? */
static bool allocated(const struct stat *st, size_t len)
{
	return (uint64_t)st->st_blocks * 512 >= len;
}

static int attach_table(struct state *s, int fd, const char *dir, int ro_err, char *msg,
			size_t msglen)
{
	struct stat st;
	size_t need;
	int err;

	if (check_file(fd, dir, &st, msg, msglen) != 0 ||
	    check_header(fd, &st, dir, &need, msg, msglen) != 0)
		return -1;
	s->tab.id = latchtab_id(st.st_dev, st.st_ino);
	if (ro_err) {
		if (map_shared(s, fd, need, true, dir, msg, msglen) != 0)
			return -1;
		note(msg, msglen, "state file %s/" STATE_FILE " is read-only (%s)", dir,
		     strerror(ro_err));
		return 0;
	}
	/* A sparse table (left by a tool, or a copy) is allocated before any
	 * store into it; fallocate keeps what it holds. */
	if (allocated(&st, need) || sys_fallocate(fd, 0, 0, (off_t)need) == 0)
		return map_shared(s, fd, need, false, dir, msg, msglen);
	err = errno;
	if (map_copy(s, fd, need, dir, msg, msglen) != 0)
		return -1;
	note(msg, msglen, "state file %s/" STATE_FILE " is sparse and cannot be allocated (%s)",
	     dir, strerror(err));
	return 0;
}

int state_open(struct state *s, const char *dir, bool create, uint32_t capacity, char *msg,
	       size_t msglen)
{
	int dfd, fd, ret, ro_err;

	memset(s, 0, sizeof(*s));
	msg[0] = '\0';
	dfd = open_dir(dir, create, msg, msglen);
	if (dfd < 0) {
		if (create || errno != ENOENT)
			return -1;
		msg[0] = '\0'; /* no folder yet: nothing to read */
		return 1;
	}
	fd = open_file(dfd, &ro_err);
	if (fd < 0 && errno == ENOENT) {
		if (!create) {
			sys_close(dfd);
			return 1;
		}
		if (create_table(dfd, capacity) != 0) {
			int err = errno;

			sys_close(dfd);
			return refuse(msg, msglen,
				      "state file %s/" STATE_FILE " cannot be created: %s", dir,
				      strerror(err));
		}
		fd = open_file(dfd, &ro_err);
	}
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
	ret = attach_table(s, fd, dir, ro_err, msg, msglen);
	sys_close(fd);
	sys_close(dfd);
	return ret;
}

/* ---- the fault guard ------------------------------------------------------ */

/*
 * What the SIGBUS handler knows.  Protocol: state_guard fills the fields
 * with start cleared, then publishes start (release); state_close clears it
 * first.  phase moves once from ARMED to SWITCHING, by compare-and-swap, in
 * the first thread that faults inside the table, then to SWITCHED or
 * FAILED; a thread that faults meanwhile waits for the outcome.
 */
enum { GUARD_ARMED, GUARD_SWITCHING, GUARD_SWITCHED, GUARD_FAILED };

static struct {
	char *start;
	size_t len, page;
	uint32_t capacity;
	int phase;
	unsigned late; /* faults in the range after the switch */
	void (*report)(const char *line);
	char line[STATE_MSG_MAX];
} guard;

/*
 * Copy what can be read of the table into dst.  process_vm_readv reports a
 * page it cannot read (beyond the end of the file, or not allocatable)
 * instead of raising SIGBUS; such a page stays zero in the copy.
 */
static void copy_readable(char *dst, const char *src, size_t len)
{
	struct iovec local, remote[64];
	pid_t self = getpid();
	size_t off = 0;

	while (off < len) {
		size_t n = 0;
		ssize_t got;
		int k;

		for (k = 0; k < 64 && off + n < len; k++) {
			remote[k].iov_base = (char *)src + off + n;
			remote[k].iov_len = len - off - n < guard.page ? len - off - n : guard.page;
			n += remote[k].iov_len;
		}
		local.iov_base = dst + off;
		local.iov_len = n;
		got = process_vm_readv(self, &local, 1, remote, (unsigned long)k, 0);
		if (got < 0 && errno != EFAULT)
			return; /* not allowed here (seccomp): zeros */
		off += got > 0 ? (size_t)got : 0;
		if (got < 0 || (size_t)got < n)
			off = (off / guard.page + 1) * guard.page; /* past the page that failed */
	}
}

/* Put a private copy of the table where its mapping was, in one step: no
 * thread ever finds the range unmapped. */
static bool switch_to_copy(void)
{
	char *copy =
	    mmap(NULL, guard.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (copy == MAP_FAILED)
		return false;
	copy_readable(copy, guard.start, guard.len);
	latchtab_salvage(copy, guard.capacity);
	if (mremap(copy, guard.len, guard.len, MREMAP_MAYMOVE | MREMAP_FIXED, guard.start) ==
	    MAP_FAILED) {
		munmap(copy, guard.len);
		return false;
	}
	return true;
}

static bool salvage_table(void)
{
	int phase = GUARD_ARMED;

	if (__atomic_compare_exchange_n(&guard.phase, &phase, GUARD_SWITCHING, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		phase = switch_to_copy() ? GUARD_SWITCHED : GUARD_FAILED;
		__atomic_store_n(&guard.phase, phase, __ATOMIC_RELEASE);
		if (phase == GUARD_SWITCHED && guard.report)
			guard.report(guard.line);
		return phase == GUARD_SWITCHED;
	}
	while (phase == GUARD_SWITCHING) {
		sched_yield();
		phase = __atomic_load_n(&guard.phase, __ATOMIC_ACQUIRE);
	}
	/* A thread that faulted before the switch retries on the copy; a copy
	 * that keeps faulting (a memory error) is not ours to fix. */
	return phase == GUARD_SWITCHED &&
	       __atomic_add_fetch(&guard.late, 1, __ATOMIC_RELAXED) < 1000;
}

static void default_action(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;
	char *start = __atomic_load_n(&guard.start, __ATOMIC_ACQUIRE);
	char *addr = si->si_addr;

	(void)ctx;
	if (si->si_code > 0 && start && addr >= start && addr < start + guard.len &&
	    salvage_table()) {
		errno = saved;
		return;
	}
	/* Not ours: the default action, as if there were no handler.  A fault
	 * happens again when the access is retried; a signal that was sent is
	 * sent again, and delivered when the handler returns. */
	default_action(sig);
	if (si->si_code <= 0)
		raise(sig);
	errno = saved;
}

static bool is_default_or_ours(const struct sigaction *sa)
{
	if (sa->sa_flags & SA_SIGINFO)
		return sa->sa_sigaction == on_sigbus;
	return sa->sa_handler == SIG_DFL;
}

bool state_guard(struct state *s, const char *dir, void (*report)(const char *line))
{
	struct sigaction sa, old;

	if (!s->map || sigaction(SIGBUS, NULL, &old) != 0 || !is_default_or_ours(&old))
		return false;
	__atomic_store_n(&guard.start, NULL, __ATOMIC_RELEASE);
	guard.len = s->len;
	guard.page = (size_t)sysconf(_SC_PAGESIZE);
	guard.capacity = s->tab.mask + 1;
	guard.report = report;
	guard.late = 0;
	snprintf(guard.line, sizeof(guard.line),
		 "state file %s/" STATE_FILE " shrank or ran out of space under this process: it "
		 "now works on a private copy of what could be read",
		 dir);
	__atomic_store_n(&guard.phase, GUARD_ARMED, __ATOMIC_RELAXED);
	__atomic_store_n(&guard.start, (char *)s->map, __ATOMIC_RELEASE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &old) == 0) {
		if (is_default_or_ours(&old))
			return true;
		/* the program installed its own meanwhile: leave it alone */
		sigaction(SIGBUS, &old, NULL);
	}
	__atomic_store_n(&guard.start, NULL, __ATOMIC_RELEASE);
	return false;
}

bool state_salvaged(const struct state *s)
{
	return s->map && __atomic_load_n(&guard.start, __ATOMIC_ACQUIRE) == s->map &&
	       __atomic_load_n(&guard.phase, __ATOMIC_ACQUIRE) == GUARD_SWITCHED;
}

void state_close(struct state *s)
{
	if (s->map && __atomic_load_n(&guard.start, __ATOMIC_ACQUIRE) == s->map)
		__atomic_store_n(&guard.start, NULL, __ATOMIC_RELEASE);
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
