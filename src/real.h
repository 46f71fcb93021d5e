/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Pointers to the next definition of each interposed symbol (normally libc's,
 * or another preloaded library's placed after this one).  They are resolved
 * lazily, so a wrapper works even when it is called from another library's
 * constructor before ours has run.
 */
#ifndef STICKYSYNC_REAL_H
#define STICKYSYNC_REAL_H

#include <dirent.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

#define SYM(name, ret, params) extern ret(*real_##name) params;
#include "symbols.def"
#undef SYM

/* Resolve one symbol into *slot; returns the pointer, or NULL if the next
 * object in the lookup order does not define it. */
void *real_resolve(const char *name, void **slot);
void real_resolve_all(void);

/*
 * REAL(fsync) evaluates to the real fsync, resolving it on first use.  The
 * common case is one load and a predicted branch.
 */
#define REAL(name)                                \
	(__builtin_expect(real_##name != NULL, 1) \
	     ? real_##name                        \
	     : (__typeof__(real_##name))real_resolve(#name, (void **)&real_##name))

#endif
