/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "real.h"

#include <dlfcn.h>

#define SYM(name, ret, params) ret(*real_##name) params;
#include "symbols.def"
#undef SYM

/*
 * Several threads may race to resolve the same symbol: each gets the same
 * answer from dlsym, so the relaxed store is benign.  A NULL answer is not
 * cached; the caller reports ENOSYS.
 */
void *real_resolve(const char *name, void **slot)
{
	void *fn = dlsym(RTLD_NEXT, name);

	__atomic_store_n(slot, fn, __ATOMIC_RELAXED);
	return fn;
}

void real_resolve_all(void)
{
#define SYM(name, ret, params) \
	if (!real_##name)      \
		real_resolve(#name, (void **)&real_##name);
#include "symbols.def"
#undef SYM
}
