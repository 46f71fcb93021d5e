/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "real.h"

#include <dlfcn.h>
#include <stdbool.h>

#define SYM(name, ret, params, fallback, class) ret(*real_##name) params;

#include "symbols.def"
#undef SYM

/* The bounds of this library's image, from symbols the linker defines in
 * every object it links (hidden, so never another object's). */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _end[] __attribute__((visibility("hidden")));

/* Is fn inside this library? */
static bool is_ours(const void *fn)
{
	return (const char *)fn >= __ehdr_start && (const char *)fn < _end;
}

bool real_is_ours(const void *addr)
{
	return is_ours(addr);
}

/*
 * Several threads may race to resolve the same symbol: each gets the same
 * answer, so the relaxed store is benign.
 */
void *real_resolve(const char *name, void **slot, void *fallback)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn || is_ours(fn))
		fn = fallback;
	__atomic_store_n(slot, fn, __ATOMIC_RELAXED);
	return fn;
}

bool real_first_copy(void)
{
	const void *first = dlsym(RTLD_DEFAULT, "stickysync_acknowledge");

	return !first || is_ours(first);
}
