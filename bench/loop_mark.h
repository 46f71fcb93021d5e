/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The bounds of a measured loop, for counting its system calls alone:
 * bench.sh counts what strace shows between loop_mark(LOOP_BEGIN) and
 * loop_mark(LOOP_END).  A mark is a lookup of a path that does not exist,
 * made through syscall(2): one system call, which a preload passes on.
 */
#ifndef BENCH_LOOP_MARK_H
#define BENCH_LOOP_MARK_H

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOOP_BEGIN "/bench-loop-begin"
#define LOOP_END "/bench-loop-end"

static inline void loop_mark(const char *mark)
{
	syscall(SYS_faccessat, AT_FDCWD, mark, F_OK);
}

#endif
