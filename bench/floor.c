/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The floor: a pass-through LD_PRELOAD interposer for the calls the harness
 * makes.  Each wrapper looks the next definition up once with
 * dlsym(RTLD_NEXT) and calls it.  That indirection is the least any preload
 * library pays, so bench.sh reports stickysync's cost against it as well as
 * against no preload at all.
 *
 * Built with -U_FILE_OFFSET_BITS so that open and open64 can both be
 * defined; on x86_64 both spellings take the same arguments.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/*
 * Lazy, not in a constructor: another library's constructor may call us
 * first.  Two threads racing here store the same pointer, so relaxed atomics
 * (plain loads and stores on x86_64) are enough.  The first call goes through
 * a separate cold function so that the common path needs no stack frame:
 * load, test, jump.
 */
static void *resolve_next(void **slot, const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	__atomic_store_n(slot, fn, __ATOMIC_RELAXED);
	return fn;
}

#define NEXT(name) __atomic_load_n(&real_##name, __ATOMIC_RELAXED)

/* ret name(params) { return next_name(args); } */
#define PASS_THROUGH(ret, name, params, args)                          \
	static ret(*real_##name) params;                               \
	__attribute__((noinline, cold)) static ret first_##name params \
	{                                                              \
		resolve_next((void **)&real_##name, #name);            \
		return real_##name args;                               \
	}                                                              \
	EXPORT ret name params                                         \
	{                                                              \
		if (__builtin_expect(!NEXT(name), 0))                  \
			return first_##name args;                      \
		return NEXT(name) args;                                \
	}

PASS_THROUGH(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n))
PASS_THROUGH(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t off), (fd, buf, n, off))
PASS_THROUGH(ssize_t, pwrite64, (int fd, const void *buf, size_t n, off64_t off), (fd, buf, n, off))
PASS_THROUGH(ssize_t, writev, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt))
PASS_THROUGH(ssize_t, pwritev, (int fd, const struct iovec *iov, int cnt, off_t off),
	     (fd, iov, cnt, off))
PASS_THROUGH(ssize_t, pwritev64, (int fd, const struct iovec *iov, int cnt, off64_t off),
	     (fd, iov, cnt, off))
PASS_THROUGH(int, fsync, (int fd), (fd))
PASS_THROUGH(int, fdatasync, (int fd), (fd))
PASS_THROUGH(int, close, (int fd), (fd))
PASS_THROUGH(int, dup, (int fd), (fd))
PASS_THROUGH(int, dup2, (int fd, int fd2), (fd, fd2))
PASS_THROUGH(int, dup3, (int fd, int fd2, int flags), (fd, fd2, flags))
PASS_THROUGH(int, __open_2, (const char *path, int flags), (path, flags))
PASS_THROUGH(int, __open64_2, (const char *path, int flags), (path, flags))

/* The mode argument exists only when the flags ask for a new file. */
static mode_t open_mode(int flags, va_list ap)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return va_arg(ap, mode_t);
	return 0;
}

/* open and openat cannot forward "...", so they read the mode first. */
#define PASS_THROUGH_OPEN(name)                                     \
	EXPORT int name(const char *path, int flags, ...)           \
	{                                                           \
		static int (*real_##name)(const char *, int, ...);  \
		va_list ap;                                         \
		mode_t mode;                                        \
                                                                    \
		va_start(ap, flags);                                \
		mode = open_mode(flags, ap);                        \
		va_end(ap);                                         \
		if (__builtin_expect(!NEXT(name), 0))               \
			resolve_next((void **)&real_##name, #name); \
		return NEXT(name)(path, flags, mode);               \
	}

#define PASS_THROUGH_OPENAT(name)                                       \
	EXPORT int name(int dirfd, const char *path, int flags, ...)    \
	{                                                               \
		static int (*real_##name)(int, const char *, int, ...); \
		va_list ap;                                             \
		mode_t mode;                                            \
                                                                        \
		va_start(ap, flags);                                    \
		mode = open_mode(flags, ap);                            \
		va_end(ap);                                             \
		if (__builtin_expect(!NEXT(name), 0))                   \
			resolve_next((void **)&real_##name, #name);     \
		return NEXT(name)(dirfd, path, flags, mode);            \
	}

PASS_THROUGH_OPEN(open)
PASS_THROUGH_OPEN(open64)
PASS_THROUGH_OPENAT(openat)
PASS_THROUGH_OPENAT(openat64)
