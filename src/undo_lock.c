/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
/* The undo store's lock, and how it survives fork and vfork (the protocol
 * is written at the store, in undo_store.h). */
#include "undo.h"
#include "undo_store.h"

#include <errno.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "strcopy.h"
#include "sys.h"

struct undo_store undo_store = {.mem_limit = 16u << 20, .spill_dir = "/tmp"};

/* The pid of the store's home, in a page fork wipes (see undo_store.h); NULL when
 * the kernel has no MADV_WIPEONFORK. */
static pid_t *home_page;

static __thread int holding;

void undo_setup(size_t bytes_in_memory, const char *tmpdir)
{
	undo_store.mem_limit = bytes_in_memory;
	str_copy(undo_store.spill_dir, sizeof(undo_store.spill_dir), tmpdir);
	if (home_page)
		return;
	undo_store.setup_pid = getpid();
	home_page = arena_map(4096);
	if (home_page && madvise(home_page, 4096, MADV_WIPEONFORK) != 0) {
		munmap(home_page, 4096);
		home_page = NULL;
	}
	if (home_page)
		*home_page = undo_store.setup_pid;
}

/* A forked child's first call: the store is its own now.  Its inherited
 * spill files are still its parent's to append to. */
static void undo_store_adopt(pid_t self)
{
	for (int i = 0; i < undo_store.nspill; i++)
		undo_store.spill[i].ours = false;
	__atomic_store_n(home_page, self, __ATOMIC_RELAXED);
	undo_store.place = PLACE_HOME;
}

/* ---- the lock ----------------------------------------------------------- */

static uint64_t owner_word(pid_t pid, pid_t tid)
{
	return (uint64_t)(uint32_t)pid << 32 | (uint32_t)tid;
}

static enum place place_of(pid_t self)
{
	pid_t home;

	if (!home_page)
		return self == undo_store.setup_pid ? PLACE_HOME : PLACE_GUEST;
	home = __atomic_load_n(home_page, __ATOMIC_RELAXED);
	if (home == self)
		return PLACE_HOME;
	/* wiped by fork, or its home died: nobody else lives in this memory */
	if (home == 0 || (kill(home, 0) != 0 && errno == ESRCH))
		return PLACE_COPY;
	return PLACE_GUEST;
}

static bool gone(pid_t pid, pid_t tid)
{
	long r = tid ? syscall(SYS_tgkill, pid, tid, 0) : kill(pid, 0);

	return r != 0 && errno == ESRCH;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Does the other process share this memory?  Asked only of a copy that has
 * not adopted the store and finds it held: a vfork child of such a copy sees
 * the wiped page too.  Where kcmp is refused (seccomp), a process sharing
 * the memory shows itself by adopting the page within 100 ms.
 */
static bool shares_memory(pid_t self, pid_t other, long long *asked)
{
	long r = syscall(SYS_kcmp, self, other, KCMP_VM, 0, 0);

	if (r >= 0)
		return r == 0;
	if (errno == ESRCH)
		return false;
	if (!*asked)
		*asked = now_ms();
	return now_ms() - *asked < 100;
}

enum verdict { V_WAIT, V_TAKE_OVER, V_SKIP };

static enum verdict judge_owner(uint64_t owner, pid_t pid, pid_t tid, long long *asked)
{
	pid_t opid = (pid_t)(owner >> 32), otid = (pid_t)(uint32_t)owner;

	if (owner == owner_word(pid, tid))
		return V_SKIP; /* this thread, between taking the word and `holding` */
	if (opid == pid)
		return gone(pid, otid) ? V_TAKE_OVER : V_WAIT;
	if (owner == __atomic_load_n(&undo_store.given_up, __ATOMIC_RELAXED))
		return V_SKIP;
	if (gone(opid, 0))
		return V_TAKE_OVER;
	if (place_of(pid) == PLACE_COPY && !shares_memory(pid, opid, asked))
		return V_TAKE_OVER;
	return V_WAIT; /* a process sharing this memory: a vfork child or parent */
}

/* Wait politely; after 2 s an owner in another process is given up on. */
static bool keep_waiting(unsigned spins, uint64_t owner, pid_t pid, long long *since)
{
	struct timespec pause = {0, 50000};

	if (spins < 64) {
		sched_yield();
		return true;
	}
	if (!*since)
		*since = now_ms();
	if ((pid_t)(owner >> 32) != pid && now_ms() - *since > 2000) {
		__atomic_store_n(&undo_store.given_up, owner, __ATOMIC_RELAXED);
		undo_skipped(SKIP_OWNER_STUCK);
		return false;
	}
	nanosleep(&pause, NULL);
	return true;
}

/* `holding` outlives the holding only when a vfork child was killed inside
 * the store (it shares this thread's thread-local storage): the word then
 * names a process that is gone, or nobody. */
static bool holding_is_stale(void)
{
	uint64_t owner = __atomic_load_n(&undo_store.owner, __ATOMIC_ACQUIRE);

	return owner == 0 || gone((pid_t)(owner >> 32), (pid_t)(uint32_t)owner);
}

/* Take the store, or say why not.  On success the caller must unlock. */
bool undo_store_lock(void)
{
	pid_t pid, tid;
	uint64_t me, cur;
	long long since = 0, asked = 0;

	if (holding && !holding_is_stale()) {
		undo_skipped(SKIP_REENTERED);
		return false;
	}
	holding = 0;
	pid = getpid();
	tid = gettid();
	me = owner_word(pid, tid);
	for (unsigned spins = 0;; spins++) {
		enum verdict v;

		cur = 0;
		if (__atomic_compare_exchange_n(&undo_store.owner, &cur, me, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		v = judge_owner(cur, pid, tid, &asked);
		if (v == V_SKIP) {
			undo_skipped(cur == me ? SKIP_REENTERED : SKIP_OWNER_STUCK);
			return false;
		}
		if (v == V_TAKE_OVER &&
		    __atomic_compare_exchange_n(&undo_store.owner, &cur, me, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			holding = 1;
			undo_store.place = place_of(pid);
			undo_store_reset();
			break;
		}
		if (v == V_WAIT && !keep_waiting(spins, cur, pid, &since))
			return false;
	}
	holding = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	undo_store.place = place_of(pid);
	if (undo_store.place == PLACE_COPY)
		undo_store_adopt(pid);
	return true;
}

void undo_store_unlock(void)
{
	__atomic_store_n(&undo_store.owner, 0, __ATOMIC_RELEASE);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	holding = 0;
}
