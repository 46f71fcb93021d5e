/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#include "inflight.h"

#define MASK (INFLIGHT_SLOTS - 1)
/* Past this many, entries that may never complete are dropped first. */
#define LIMIT (INFLIGHT_SLOTS * 3 / 4)

#define home inflight_home

/* Remove slot i, shifting back the entries of its probe sequence so that
 * no lookup stops early at the hole. */
static void delete_at(struct inflight_table *t, uint32_t i)
{
	uint32_t j = i, k;

	if (!--t->n)
		t->filter = 0;
	for (;;) {
		t->slot[i].used = false;
		for (;;) {
			j = (j + 1) & MASK;
			if (!t->slot[j].used)
				return;
			k = home(t->slot[j].tag);
			/* j stays when its home k lies cyclically in (i, j] */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		t->slot[i] = t->slot[j];
		i = j;
	}
}

/* A sync with IOSQE_CQE_SKIP_SUCCESS that succeeded never completes. */
static void drop_skipping(struct inflight_table *t)
{
	for (uint32_t i = 0; i < INFLIGHT_SLOTS; i++)
		while (t->slot[i].used && t->slot[i].skip_success)
			delete_at(t, i);
}

bool inflight_add(struct inflight_table *t, const struct inflight *p)
{
	uint32_t i;

	if (t->n >= LIMIT)
		drop_skipping(t);
	if (t->n >= LIMIT)
		return false;
	for (i = home(p->tag); t->slot[i].used; i = (i + 1) & MASK)
		;
	t->slot[i] = *p;
	t->slot[i].used = true;
	t->n++;
	t->filter |= 1ull << (home(p->tag) & 63);
	return true;
}

bool inflight_take(struct inflight_table *t, uint64_t tag, struct inflight *out)
{
	if (!inflight_may_hold(t, tag))
		return false;
	for (uint32_t i = home(tag), n = 0; n < INFLIGHT_SLOTS && t->slot[i].used;
	     i = (i + 1) & MASK, n++) {
		if (t->slot[i].tag == tag) {
			*out = t->slot[i];
			delete_at(t, i);
			return true;
		}
	}
	return false;
}
