/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * open, creat and fopen in all their spellings.  Built with
 * -U_FILE_OFFSET_BITS so that open and open64 can both be defined here.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>

#include "wrap.h"

/* The _FORTIFY_SOURCE entry points; libc's headers do not declare them. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

/* open's mode exists only when the flags ask for a new file. */
#define TAKE_MODE(flags, mode)                                               \
	do {                                                                 \
		if (((flags)&O_CREAT) || ((flags)&O_TMPFILE) == O_TMPFILE) { \
			va_list ap;                                          \
			va_start(ap, flags);                                 \
			mode = va_arg(ap, mode_t);                           \
			va_end(ap);                                          \
		}                                                            \
	} while (0)

EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	TAKE_MODE(flags, mode);
	WRAP_OPEN(open, AT_FDCWD, path, flags, (path, flags, mode));
}

EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	TAKE_MODE(flags, mode);
	WRAP_OPEN(open64, AT_FDCWD, path, flags, (path, flags, mode));
}

EXPORT int __open_2(const char *path, int flags)
{
	WRAP_OPEN(__open_2, AT_FDCWD, path, flags, (path, flags));
}

EXPORT int __open64_2(const char *path, int flags)
{
	WRAP_OPEN(__open64_2, AT_FDCWD, path, flags, (path, flags));
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	TAKE_MODE(flags, mode);
	WRAP_OPEN(openat, dirfd, path, flags, (dirfd, path, flags, mode));
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	TAKE_MODE(flags, mode);
	WRAP_OPEN(openat64, dirfd, path, flags, (dirfd, path, flags, mode));
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	WRAP_OPEN(__openat_2, dirfd, path, flags, (dirfd, path, flags));
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	WRAP_OPEN(__openat64_2, dirfd, path, flags, (dirfd, path, flags));
}

EXPORT int creat(const char *path, mode_t mode)
{
	WRAP_OPEN(creat, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, (path, mode));
}

EXPORT int creat64(const char *path, mode_t mode)
{
	WRAP_OPEN(creat64, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, (path, mode));
}

/* fopen's "w" truncates. */
static int stream_flags(const char *mode)
{
	return mode && mode[0] == 'w' ? O_TRUNC : 0;
}

/* stdio opens its fd inside libc, past our open wrappers. */
static FILE *stream_opened(FILE *fp, uint64_t seq)
{
	int fd = fp ? fileno(fp) : -1;

	if (fd >= 0)
		fd_install_open(fd, seq, 0);
	return fp;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	uint64_t seq = latch_seq_now();

	if (__builtin_expect(io_gate, 0))
		gate_open(AT_FDCWD, path, stream_flags(mode));
	return stream_opened(REAL(fopen)(path, mode), seq);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	uint64_t seq = latch_seq_now();

	if (__builtin_expect(io_gate, 0))
		gate_open(AT_FDCWD, path, stream_flags(mode));
	return stream_opened(REAL(fopen64)(path, mode), seq);
}

/* freopen closes the stream's old fd inside libc before opening anew. */
static void stream_release(FILE *fp)
{
	int fd = fp ? fileno(fp) : -1;

	if (fd >= 0)
		fd_release(fd, latch_release_stamp());
}

EXPORT FILE *freopen(const char *path, const char *mode, FILE *fp)
{
	uint64_t seq = latch_seq_now();

	if (__builtin_expect(io_gate, 0) && path)
		gate_open(AT_FDCWD, path, stream_flags(mode));
	stream_release(fp);
	return stream_opened(REAL(freopen)(path, mode, fp), seq);
}

EXPORT FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
	uint64_t seq = latch_seq_now();

	if (__builtin_expect(io_gate, 0) && path)
		gate_open(AT_FDCWD, path, stream_flags(mode));
	stream_release(fp);
	return stream_opened(REAL(freopen64)(path, mode, fp), seq);
}

/* A directory stream opens its fd inside libc. */
EXPORT DIR *opendir(const char *path)
{
	uint64_t seq = latch_seq_now();
	DIR *dir = REAL(opendir)(path);
	int saved = errno, fd = dir ? dirfd(dir) : -1;

	if (fd >= 0)
		fd_install_open(fd, seq, O_RDONLY);
	errno = saved;
	return dir;
}
