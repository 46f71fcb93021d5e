/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "clock.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <sys/syscall.h>

#include "sys.h"

typedef int (*vdso_gettime_fn)(clockid_t, struct timespec *);

#if defined(__x86_64__)
#define VDSO_GETTIME "__vdso_clock_gettime"
#elif defined(__aarch64__)
#define VDSO_GETTIME "__kernel_clock_gettime"
#endif

/* NULL: not looked up yet; CLOCK_NO_VDSO: there is none (a system call). */
#define CLOCK_NO_VDSO ((vdso_gettime_fn)1)
static vdso_gettime_fn vdso_gettime;

#ifdef VDSO_GETTIME
/* The vDSO's own symbol table (it is a tiny ELF object the kernel maps into
 * every process); only memory is read, so this is async-signal-safe. */
static vdso_gettime_fn find_in_vdso(void)
{
	const char *base = (const char *)getauxval(AT_SYSINFO_EHDR);
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
	const ElfW(Phdr) * ph;
	const ElfW(Dyn) *dyn = NULL;
	const ElfW(Sym) *sym = NULL;
	const char *str = NULL;
	const Elf32_Word *hash = NULL;
	ElfW(Addr) load = 0;

	if (!base || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return NULL;
	ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !load)
			load = (ElfW(Addr))base + ph[i].p_offset - ph[i].p_vaddr;
		else if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(base + ph[i].p_offset);
	}
	if (!dyn || !load)
		return NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_SYMTAB)
			sym = (const ElfW(Sym) *)(load + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_STRTAB)
			str = (const char *)(load + dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_HASH)
			hash = (const Elf32_Word *)(load + dyn->d_un.d_ptr);
	}
	if (!sym || !str || !hash)
		return NULL;
	for (Elf32_Word i = 0; i < hash[1]; i++) /* hash[1]: the symbol count */
		if (sym[i].st_shndx != SHN_UNDEF && strcmp(str + sym[i].st_name, VDSO_GETTIME) == 0)
			return (vdso_gettime_fn)(load + sym[i].st_value);
	return NULL;
}
#else
static vdso_gettime_fn find_in_vdso(void)
{
	return NULL;
}
#endif

int64_t clock_ns(clockid_t id)
{
	vdso_gettime_fn fn = __atomic_load_n(&vdso_gettime, __ATOMIC_RELAXED);
	struct timespec ts;
	long ret;

	if (!fn) {
		fn = find_in_vdso();
		if (!fn)
			fn = CLOCK_NO_VDSO;
		__atomic_store_n(&vdso_gettime, fn, __ATOMIC_RELAXED);
	}
	if (fn != CLOCK_NO_VDSO)
		ret = fn(id, &ts);
	else
		ret = sys_call_raw(SYS_clock_gettime, id, (long)&ts, 0, 0);
	if (ret != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
