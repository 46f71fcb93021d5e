/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include "real.h"

#include <dlfcn.h>
#include <stdbool.h>

#define SYM(name, ret, params, fallback) \
	ret(*real_##name) params;        \
	ret(*const real_fallback_##name) params = fallback;
#include "symbols.def"
#undef SYM

/* Is fn inside this library? */
static bool is_ours(void *fn)
{
	Dl_info self, other;

	return dladdr((void *)real_resolve_all, &self) && dladdr(fn, &other) &&
	       self.dli_fbase == other.dli_fbase;
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

void real_resolve_all(void)
{
#define SYM(name, ret, params, fallback) \
	if (!real_##name)                \
		real_resolve(#name, (void **)&real_##name, (void *)fallback);
#include "symbols.def"
#undef SYM
}
