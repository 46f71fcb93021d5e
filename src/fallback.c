/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * What a wrapper calls when the next definition of its symbol cannot be
 * found, or turns out to be the wrapper itself (real.c): the system call
 * where there is one, so the program keeps working, else -1 with ENOSYS.
 * Never reached in a normal process, where libc defines every symbol.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "real.h"

#define SYS(ret, ...) return (ret)syscall(__VA_ARGS__)

/* open's mode exists only when the flags ask for a new file. */
static mode_t mode_arg(int flags, va_list ap)
{
	return ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? va_arg(ap, mode_t) : 0;
}

int fb_open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	SYS(int, SYS_openat, AT_FDCWD, path, flags, mode);
}

int fb_openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	SYS(int, SYS_openat, dirfd, path, flags, mode);
}

int fb___open_2(const char *path, int flags)
{
	SYS(int, SYS_openat, AT_FDCWD, path, flags, 0);
}

int fb___openat_2(int dirfd, const char *path, int flags)
{
	SYS(int, SYS_openat, dirfd, path, flags, 0);
}

int fb_creat(const char *path, mode_t mode)
{
	SYS(int, SYS_openat, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

FILE *fb_fopen(const char *path, const char *mode)
{
	errno = ENOSYS;
	return NULL;
}

FILE *fb_freopen(const char *path, const char *mode, FILE *fp)
{
	errno = ENOSYS;
	return NULL;
}

DIR *fb_opendir(const char *path)
{
	errno = ENOSYS;
	return NULL;
}

int fb_close(int fd)
{
	SYS(int, SYS_close, fd);
}

int fb_close_range(unsigned first, unsigned last, int flags)
{
	SYS(int, SYS_close_range, first, last, flags);
}

void fb_closefrom(int lowfd)
{
	syscall(SYS_close_range, lowfd, ~0u, 0);
}

int fb_fclose(FILE *fp)
{
	errno = ENOSYS;
	return EOF;
}

int fb_closedir(DIR *dir)
{
	errno = ENOSYS;
	return -1;
}

int fb_dup(int fd)
{
	SYS(int, SYS_dup, fd);
}

int fb_dup2(int oldfd, int newfd)
{
	/* dup3 refuses equal fds; dup2 returns newfd if oldfd is valid */
	if (oldfd == newfd)
		return syscall(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : newfd;
	SYS(int, SYS_dup3, oldfd, newfd, 0);
}

int fb_dup3(int oldfd, int newfd, int flags)
{
	SYS(int, SYS_dup3, oldfd, newfd, flags);
}

int fb_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	SYS(int, SYS_fcntl, fd, cmd, arg);
}

ssize_t fb_write(int fd, const void *buf, size_t n)
{
	SYS(ssize_t, SYS_write, fd, buf, n);
}

ssize_t fb_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	SYS(ssize_t, SYS_pwrite64, fd, buf, n, off);
}

ssize_t fb_writev(int fd, const struct iovec *iov, int cnt)
{
	SYS(ssize_t, SYS_writev, fd, iov, cnt);
}

/* The p*v calls take the offset in two halves. */
ssize_t fb_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	SYS(ssize_t, SYS_pwritev, fd, iov, cnt, (unsigned long)off, 0);
}

ssize_t fb_pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	SYS(ssize_t, SYS_pwritev2, fd, iov, cnt, (unsigned long)off, 0, flags);
}

int fb_ftruncate(int fd, off_t len)
{
	SYS(int, SYS_ftruncate, fd, len);
}

ssize_t fb_read(int fd, void *buf, size_t n)
{
	SYS(ssize_t, SYS_read, fd, buf, n);
}

ssize_t fb_pread(int fd, void *buf, size_t n, off_t off)
{
	SYS(ssize_t, SYS_pread64, fd, buf, n, off);
}

ssize_t fb_readv(int fd, const struct iovec *iov, int cnt)
{
	SYS(ssize_t, SYS_readv, fd, iov, cnt);
}

ssize_t fb_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	SYS(ssize_t, SYS_preadv, fd, iov, cnt, (unsigned long)off, 0);
}

ssize_t fb_preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	SYS(ssize_t, SYS_preadv2, fd, iov, cnt, (unsigned long)off, 0, flags);
}

int fb_fsync(int fd)
{
	SYS(int, SYS_fsync, fd);
}

int fb_fdatasync(int fd)
{
	SYS(int, SYS_fdatasync, fd);
}

int fb_sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
	SYS(int, SYS_sync_file_range, fd, off, n, flags);
}

int fb_msync(void *addr, size_t len, int flags)
{
	SYS(int, SYS_msync, addr, len, flags);
}

int fb_syncfs(int fd)
{
	SYS(int, SYS_syncfs, fd);
}

void fb_sync(void)
{
	syscall(SYS_sync);
}

/* Only reached before the vfork wrapper's symbol is resolved: fork is a
 * correct vfork, and its child has memory of its own. */
pid_t fb_vfork(void)
{
	SYS(pid_t, SYS_fork);
}

/*
 * liburing and libaio: only reached when a program calls these names
 * without the library that defines them loaded (it looked them up in the
 * global scope and found this library's).  They fail as those libraries
 * do, with a negative errno; the libaio ones make the system call.
 */
#define NO_RING return -ENOSYS

int fb_io_uring_submit(struct io_uring *ring)
{
	NO_RING;
}

int fb_io_uring_submit_and_wait(struct io_uring *ring, unsigned n)
{
	NO_RING;
}

int fb_io_uring_submit_and_wait_timeout(struct io_uring *ring, struct io_uring_cqe **cqe,
					unsigned n, struct __kernel_timespec *ts, sigset_t *sig)
{
	NO_RING;
}

int fb___io_uring_get_cqe(struct io_uring *ring, struct io_uring_cqe **cqe, unsigned submit,
			  unsigned wait, sigset_t *sig)
{
	NO_RING;
}

int fb_io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe, unsigned n,
			  struct __kernel_timespec *ts, sigset_t *sig)
{
	NO_RING;
}

int fb_io_uring_wait_cqe_timeout(struct io_uring *ring, struct io_uring_cqe **cqe,
				 struct __kernel_timespec *ts)
{
	NO_RING;
}

unsigned fb_io_uring_peek_batch_cqe(struct io_uring *ring, struct io_uring_cqe **cqes, unsigned n)
{
	return 0;
}

int fb_io_uring_queue_init_params(unsigned entries, struct io_uring *ring,
				  struct io_uring_params *p)
{
	NO_RING;
}

int fb_io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags)
{
	NO_RING;
}

int fb_io_uring_queue_mmap(int fd, struct io_uring_params *p, struct io_uring *ring)
{
	NO_RING;
}

void fb_io_uring_queue_exit(struct io_uring *ring)
{
}

int fb_io_uring_register_files(struct io_uring *ring, const int *fds, unsigned n)
{
	NO_RING;
}

int fb_io_uring_register_files_tags(struct io_uring *ring, const int *fds,
				    const unsigned long long *tags, unsigned n)
{
	NO_RING;
}

int fb_io_uring_register_files_sparse(struct io_uring *ring, unsigned n)
{
	NO_RING;
}

int fb_io_uring_register_files_update(struct io_uring *ring, unsigned off, const int *fds,
				      unsigned n)
{
	NO_RING;
}

int fb_io_uring_register_files_update_tag(struct io_uring *ring, unsigned off, const int *fds,
					  const unsigned long long *tags, unsigned n)
{
	NO_RING;
}

int fb_io_uring_unregister_files(struct io_uring *ring)
{
	NO_RING;
}

static int aio_result(long ret)
{
	return ret < 0 ? -errno : (int)ret;
}

int fb_io_submit(struct io_context *ctx, long n, struct iocb **iocbs)
{
	return aio_result(syscall(SYS_io_submit, ctx, n, iocbs));
}

int fb_io_getevents(struct io_context *ctx, long min, long n, struct io_event *ev,
		    struct timespec *ts)
{
	return aio_result(syscall(SYS_io_getevents, ctx, min, n, ev, ts));
}

int fb_io_uring_setup(unsigned entries, struct io_uring_params *p)
{
	long ret = syscall(SYS_io_uring_setup, entries, p);

	return ret < 0 ? -errno : (int)ret;
}

/* libc always defines syscall(); there is nothing to fall back on. */
long fb_syscall(long nr, ...)
{
	errno = ENOSYS;
	return -1;
}
