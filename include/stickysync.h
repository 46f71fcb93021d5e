/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * stickysync public API.
 *
 * A program may include this header and call these functions whether or not
 * libstickysync.so is preloaded.  Without the library the calls find no
 * implementation and fail with ENOSYS; nothing needs to be linked.
 */
#ifndef STICKYSYNC_H
#define STICKYSYNC_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STICKYSYNC_PATH_MAX 256
#define STICKYSYNC_PROG_MAX 32

struct stickysync_status {
	int fd_latched;	  /* this fd (its open file description) witnessed a loss */
	int file_latched; /* the file has an unacknowledged loss */
	int acknowledged; /* the file had a loss that has since been acknowledged */
	int error;	  /* first errno seen for the file (or the fd), 0 if none */
	char op[16];	  /* the call that failed: "fsync", "close", ... */
	int64_t when_ns;  /* CLOCK_REALTIME of the failure, in nanoseconds */
	pid_t pid;	  /* process that saw the failure */
	char prog[STICKYSYNC_PROG_MAX];
	char path[STICKYSYNC_PATH_MAX];
};

#if defined(STICKYSYNC_BUILDING_LIBRARY)

int stickysync_acknowledge(int fd);
int stickysync_status(int fd, struct stickysync_status *st);

#else

#include <dlfcn.h>
#include <errno.h>

/*
 * The calls resolve the library's exported functions at run time, so that a
 * program built against this header runs unchanged without the shim.
 */
static inline void *stickysync__lookup(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
}

/*
 * Declare the loss on fd's file acknowledged.  fd must have been opened after
 * the loss: an fd that witnessed it stays latched and the call fails with
 * EBUSY.  A latch recorded on the file itself (the user.stickysync
 * attribute) is acknowledged there first.  Returns 0 on success (also when
 * nothing was latched), -1 with errno EBUSY, EROFS (the latch is in a state
 * folder this process may only read, or the file is on a read-only
 * filesystem), EACCES or EPERM (the file cannot take the acknowledgment:
 * nothing was acknowledged), EBADF, or ENOSYS (library not preloaded).
 */
static inline int stickysync_acknowledge(int fd)
{
	int (*fn)(int) = (int (*)(int))stickysync__lookup("stickysync_acknowledge");

	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	return fn(fd);
}

/* Fill *st with the latch state of fd and its file.  -1 with errno EBADF,
 * EFAULT or ENOSYS on failure. */
static inline int stickysync_status(int fd, struct stickysync_status *st)
{
	int (*fn)(int, struct stickysync_status *) =
	    (int (*)(int, struct stickysync_status *))stickysync__lookup("stickysync_status");

	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	return fn(fd, st);
}

#endif

#ifdef __cplusplus
}
#endif

#endif
