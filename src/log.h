/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Reports, one line per event.  Everything here is async-signal-safe: lines
 * are built in a caller's buffer without stdio or malloc and written with
 * plain system calls.
 */
#ifndef STICKYSYNC_LOG_H
#define STICKYSYNC_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct line {
	char buf[1024];
	size_t len;
};

void line_init(struct line *l);
void line_str(struct line *l, const char *s);
void line_int(struct line *l, long long v);
/* "ENOSPC (No space left on device)" */
void line_errno(struct line *l, int err);
/* "stickysync: PROG[PID]: " */
void line_prefix(struct line *l);

/* Where lines go; reads the options once at init. */
void log_setup(enum log_mode mode, const char *path, const char *prog);
/*
 * Whether fd 2 still holds the stderr the program was given (or something
 * it deliberately duplicated there).  A program that closed its stderr may
 * have a data file on fd 2: reports never go there, but to syslog.
 */
void log_stderr_given(bool given);
/* Emit l (a newline is added). */
void log_line(struct line *l);
/* Emit a ready-made message with the standard prefix. */
void log_message(const char *msg);

const char *log_prog(void);
const char *errno_name(int err);

/*
 * The words the library and the supervisor share.  What follows a failure
 * under the policy; syncs_only: said by the supervisor, which stops syncs
 * alone.
 */
const char *policy_next_step(enum policy policy, bool syncs_only);
/*
 * A refused call, after "CALL(fd N, PATH": how it ends and why, from the
 * failure recorded (its call, errno and pid, 0 if unknown), on another host
 * when recorded_on names it; witness: the fd saw the loss itself.
 */
void line_refusal(struct line *l, enum policy policy, const char *op, int error, long pid,
		  const char *recorded_on, bool witness);

#endif
