/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * vfork: the child borrows the parent's memory until it execs or exits, so
 * whatever the child's close, dup2 or close_range wrappers wrote would land
 * in the parent's fd table.  The wrapper marks the calling thread with the
 * parent's pid before the real vfork; the fd table compares it with the
 * current pid before any write (fdtable.h).
 *
 * The wrapper must leave the stack exactly as the program's call made it:
 * the child returns through it before the parent does.  So on x86_64 it is
 * a frameless stub that jumps to the real vfork.  Elsewhere vfork is fork,
 * which POSIX allows, and whose child has memory of its own.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "export.h"
#include "fdtable.h"
#include "real.h"

#if defined(__x86_64__)

/*
 * The parent clears its mark only when it next writes the fd table, so a
 * thread that vforked may still carry it when it forks.  A child of fork
 * has memory of its own: it must not take itself for a child of vfork.
 * Registered by the first vfork, before any thread has a mark.
 */
static void forget_vfork_mark(void)
{
	fd_vfork_parent = 0;
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* The real vfork, resolved at the first call (before the stub's jump, on
 * a stack the child never returns through).  Without one, fork, whose
 * child has memory of its own and so no vfork mark. */
void *vfork_resolve(void);
__attribute__((used)) void *vfork_resolve(void)
{
	static bool registered;
	void *fn;

	/* before the real vfork is published: a thread that finds it
	 * resolved and vforks, then forks, must find the handler there */
	if (!__atomic_exchange_n(&registered, true, __ATOMIC_ACQ_REL))
		pthread_atfork(NULL, NULL, forget_vfork_mark);
	fn = (void *)REAL(vfork);
	if (fn == (void *)fb_vfork)
		fd_vfork_parent = 0;
	return fn;
}

/*
 * getpid into the thread's mark (only if unset: a vfork child that vforks
 * again keeps its parent's mark, so neither it nor its child writes the
 * table), then a tail jump to the real vfork; the first call resolves it
 * first (the call keeps the stack aligned, and returns before the jump).
 */
EXPORT __attribute__((naked)) pid_t vfork(void)
{
	__asm__("mov $" STR(SYS_getpid) ", %eax\n\t"
					"syscall\n\t"
					"mov fd_vfork_parent@gottpoff(%rip), %rcx\n\t"
					"cmpl $0, %fs:(%rcx)\n\t"
					"jne 1f\n\t"
					"mov %eax, %fs:(%rcx)\n"
					"1:\n\t"
					"mov real_vfork(%rip), %rax\n\t"
					"test %rax, %rax\n\t"
					"jnz 2f\n\t"
					"sub $8, %rsp\n\t"
					"call vfork_resolve\n\t"
					"add $8, %rsp\n"
					"2:\n\t"
					"jmp *%rax\n\t");
}

#else

EXPORT pid_t vfork(void)
{
	return fb_vfork();
}

#endif
