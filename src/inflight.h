/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Syncs in flight through an asynchronous interface (an io_uring ring, a
 * libaio context): submitted, not yet known to have completed.  Each is
 * found by the tag its completion carries (an SQE's user_data, an iocb's
 * address) and holds what a failure must latch: the file's identity,
 * taken at submission, when the fd certainly still named it.
 *
 * A fixed open-addressed table, no allocation; its owner serialises access
 * (ring.h, aio.h).  Tags need not be unique: a program that gives several
 * syncs in flight the same user_data has them matched oldest first.
 */
#ifndef STICKYSYNC_INFLIGHT_H
#define STICKYSYNC_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "identity.h"

struct inflight {
	uint64_t tag;
	struct file_key key;
	int fd;	      /* -1: none (a registered file, or unknown) */
	int slot;     /* the registered file's slot, or -1 */
	uint32_t gen; /* fd's lifetime at submission */
	int injected; /* an injected failure the completion reports instead (libaio) */
	uint8_t op;   /* enum op */
	uint8_t kind; /* the owner's classification */
	bool used;
	bool skip_success; /* completes only on failure (IOSQE_CQE_SKIP_SUCCESS) */
};

#define INFLIGHT_SLOTS 256 /* a power of two */

struct inflight_table {
	uint32_t n;
	uint64_t filter; /* a bit per tag's home slot mod 64, until the table empties */
	struct inflight slot[INFLIGHT_SLOTS];
};

static inline uint32_t inflight_home(uint64_t tag)
{
	return (uint32_t)((tag * 0x9e3779b97f4a7c15ull) >> 40) & (INFLIGHT_SLOTS - 1);
}

/* Can tag be in the table?  Two instructions for most completions that are
 * no sync's, while a sync is in flight. */
static inline bool inflight_may_hold(const struct inflight_table *t, uint64_t tag)
{
	return t->filter & (1ull << (inflight_home(tag) & 63));
}

/* Add *p; false when the table is full (after dropping the entries that
 * may never complete). */
bool inflight_add(struct inflight_table *t, const struct inflight *p);
/* Remove the oldest entry tagged tag into *out; false when there is none. */
bool inflight_take(struct inflight_table *t, uint64_t tag, struct inflight *out);

#endif
