/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#include "fdtable.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

struct fd_entry fdtab[FDTAB_SIZE];
int fdtab_high;

static void raise_high(int fd)
{
	int high = __atomic_load_n(&fdtab_high, __ATOMIC_RELAXED);

	while (fd + 1 > high && !__atomic_compare_exchange_n(&fdtab_high, &high, fd + 1, true,
							     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void entry_clear(struct fd_entry *e)
{
	__atomic_store_n(&e->open_seq, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->clean_seq, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->latch_error, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->flags, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->wstate, 0, __ATOMIC_RELAXED);
}

void fd_opened(int fd, uint64_t seq, int oflags)
{
	struct fd_entry *e = fd_entry(fd);

	if (!e)
		return;
	entry_clear(e);
	__atomic_store_n(&e->open_seq, seq, __ATOMIC_RELAXED);
	if (oflags & O_DSYNC) /* O_SYNC includes O_DSYNC */
		__atomic_store_n(&e->wstate, W_DSYNC, __ATOMIC_RELAXED);
	raise_high(fd);
}

void fd_duplicated(int oldfd, int newfd)
{
	struct fd_entry *src = fd_entry(oldfd), *dst = fd_entry(newfd);

	if (!dst || oldfd == newfd)
		return;
	if (!src) {
		entry_clear(dst);
		return;
	}
	dst->key = src->key;
	__atomic_store_n(&dst->latch_error, __atomic_load_n(&src->latch_error, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&dst->open_seq, __atomic_load_n(&src->open_seq, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&dst->clean_seq, __atomic_load_n(&src->clean_seq, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&dst->wstate, __atomic_load_n(&src->wstate, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	/* Per-fd reporting and injection state is per fd number, not shared. */
	__atomic_store_n(&dst->flags,
			 __atomic_load_n(&src->flags, __ATOMIC_RELAXED) &
			     (FD_HAVE_KEY | FD_INJECT_CHECKED | FD_INJECT),
			 __ATOMIC_RELAXED);
	raise_high(newfd);
}

void fd_closed(int fd)
{
	struct fd_entry *e = fd_entry(fd);

	if (e)
		entry_clear(e);
}

void fd_closed_range(unsigned first, unsigned last)
{
	unsigned high = (unsigned)__atomic_load_n(&fdtab_high, __ATOMIC_RELAXED);

	if (last >= high)
		last = high ? high - 1 : 0;
	for (unsigned fd = first; fd <= last && fd < high; fd++)
		entry_clear(&fdtab[fd]);
}

void fd_validate(int fd, const struct file_key *key)
{
	struct fd_entry *e = fd_entry(fd);
	uint32_t flags;

	if (!e)
		return;
	flags = __atomic_load_n(&e->flags, __ATOMIC_RELAXED);
	if ((flags & FD_HAVE_KEY) && key_equal(&e->key, key))
		return;
	if (flags & FD_HAVE_KEY)
		entry_clear(e); /* reused for another file: open time unknown */
	e->key = *key;
	__atomic_or_fetch(&e->flags, FD_HAVE_KEY, __ATOMIC_RELAXED);
	raise_high(fd); /* so that closefrom and close_range clear it */
}

void fd_note_used(int fd)
{
	if ((unsigned)fd < FDTAB_SIZE)
		raise_high(fd);
}

void fd_proc_name(int fd, char *buf)
{
	static const char prefix[] = "/proc/self/fd/";
	char digits[12];
	int n = 0;
	unsigned u = (unsigned)fd;

	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	memcpy(buf, prefix, sizeof(prefix) - 1);
	buf += sizeof(prefix) - 1;
	while (n > 0)
		*buf++ = digits[--n];
	*buf = '\0';
}

void fd_path(int fd, char *buf, size_t size)
{
	char link[32];
	ssize_t n;

	fd_proc_name(fd, link);
	n = readlink(link, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
}
