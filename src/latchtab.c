/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "latchtab.h"
#include "strcopy.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "latchtime.h"

/*
 * The state word: the slot state in bits 0-7, a version bumped by every
 * transition in bits 8-31 (so a reader copying a record can tell it changed
 * under it), and the pid of a BUSY record's owner in bits 32-63.
 */
#define W_STATE(w) ((unsigned)((w)&0xff))
#define W_VERSION(w) (((w) >> 8) & 0xffffff)
#define W_PID(w) ((int)((w) >> 32))
#define W_MAKE(state, version, pid)                                  \
	((uint64_t)(state) | (((uint64_t)(version)&0xffffff) << 8) | \
	 ((uint64_t)(uint32_t)(pid) << 32))

static inline uint64_t word_load(const struct latch_record *r)
{
	return __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
}

static inline bool word_cas(struct latch_record *r, uint64_t old, unsigned state, int pid)
{
	uint64_t new = W_MAKE(state, W_VERSION(old) + 1, pid);

	return __atomic_compare_exchange_n(&r->state, &old, new, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

size_t latchtab_bytes(uint32_t capacity)
{
	return sizeof(struct latch_header) + (size_t)capacity * sizeof(struct latch_record);
}

void latchtab_format(void *mem, uint32_t capacity)
{
	struct latch_header *h = mem;

	memcpy(h->magic, LATCHTAB_MAGIC, sizeof(h->magic));
	h->version = LATCHTAB_VERSION;
	h->capacity = capacity;
	h->record_size = sizeof(struct latch_record);
	h->header_size = sizeof(struct latch_header);
	h->seq = 1;
	h->active = 0;
	h->live = 0;
	h->fs_live = 0;
}

_Static_assert(offsetof(struct latch_header, header_size) + sizeof(uint32_t) == LATCHTAB_HEAD_BYTES,
	       "latchtab_check reads the header up to header_size");

/* The header field at off in the first have bytes of head, or 0. */
static uint32_t head_u32(const void *head, size_t have, size_t off)
{
	uint32_t v = 0;

	if (off + sizeof(v) <= have)
		memcpy(&v, (const char *)head + off, sizeof(v));
	return v;
}

enum latchtab_verdict latchtab_check(const void *head, size_t have, size_t len, uint32_t *version,
				     size_t *need)
{
	uint32_t capacity;
	size_t magic_have;

	if (have > len)
		have = len;
	magic_have = have < sizeof(LATCHTAB_MAGIC) - 1 ? have : sizeof(LATCHTAB_MAGIC) - 1;
	*version = head_u32(head, have, offsetof(struct latch_header, version));
	*need = sizeof(struct latch_header);
	/* as much of the magic as there is must match */
	if (memcmp(head, LATCHTAB_MAGIC, magic_have) != 0)
		return LATCHTAB_FOREIGN;
	if (have >= LATCHTAB_HEAD_BYTES && *version != LATCHTAB_VERSION)
		return LATCHTAB_OTHER_VERSION;
	if (have < LATCHTAB_HEAD_BYTES || len < sizeof(struct latch_header))
		return LATCHTAB_TRUNCATED;
	capacity = head_u32(head, have, offsetof(struct latch_header, capacity));
	if (head_u32(head, have, offsetof(struct latch_header, record_size)) !=
		sizeof(struct latch_record) ||
	    head_u32(head, have, offsetof(struct latch_header, header_size)) !=
		sizeof(struct latch_header) ||
	    capacity == 0 || (capacity & (capacity - 1)) != 0)
		return LATCHTAB_DAMAGED;
	*need = latchtab_bytes(capacity);
	return *need > len ? LATCHTAB_TRUNCATED : LATCHTAB_OK;
}

int latchtab_attach(struct latchtab *t, void *mem, size_t len)
{
	struct latch_header *h = mem;
	uint32_t version;
	size_t need;

	if (len < LATCHTAB_HEAD_BYTES ||
	    latchtab_check(mem, LATCHTAB_HEAD_BYTES, len, &version, &need) != LATCHTAB_OK)
		return -1;
	t->hdr = h;
	t->rec = (struct latch_record *)((char *)mem + sizeof(*h));
	t->mask = h->capacity - 1;
	t->readonly = false;
	t->boot = 0;
	return 0;
}

/* Async-signal-safe: it runs in a SIGBUS handler (see state.c). */
void latchtab_salvage(void *mem, uint32_t capacity)
{
	struct latch_header *h = mem;
	uint64_t seq = h->seq; /* 0 if the header's page was lost */

	memcpy(h->magic, LATCHTAB_MAGIC, sizeof(h->magic));
	h->version = LATCHTAB_VERSION;
	h->capacity = capacity;
	h->record_size = sizeof(struct latch_record);
	h->header_size = sizeof(struct latch_header);
	h->seq = seq + LATCHTAB_SALVAGE_GAP;
	/* Counts raised by latches on their way when the table went, and their
	 * Bloom bits, may be missing from the copy: over-counting costs a
	 * lookup, under-counting would miss a latch. */
	h->active = h->live = h->fs_live = 1u << 30;
	for (size_t i = 0; i < sizeof(h->bloom) / sizeof(h->bloom[0]); i++)
		h->bloom[i] = ~0ull;
}

uint64_t latchtab_next_seq(struct latchtab *t)
{
	if (t->readonly)
		return latchtab_seq(t);
	return __atomic_add_fetch(&t->hdr->seq, 1, __ATOMIC_ACQ_REL);
}

static void fill_body(struct latch_record *r, const struct latch_event *ev, uint64_t seq)
{
	r->key = ev->key;
	r->latch_seq = seq;
	r->ack_seq = 0;
	r->when_ns = ev->when_ns;
	r->ack_ns = 0;
	r->error = ev->error;
	r->pid = ev->pid;
	str_copy(r->op, sizeof(r->op), ev->op);
	str_copy(r->prog, sizeof(r->prog), ev->prog);
	str_copy(r->path, sizeof(r->path), ev->path);
}

/* Set before the record is published, so no reader can see the record
 * without its bits. */
static void bloom_add(struct latchtab *t, uint64_t hash)
{
	uint32_t a = (uint32_t)hash & (LATCHTAB_BLOOM_BITS - 1);
	uint32_t b = (uint32_t)(hash >> 40) & (LATCHTAB_BLOOM_BITS - 1);

	__atomic_or_fetch(&t->hdr->bloom[a / 64], 1ULL << (a % 64), __ATOMIC_ACQ_REL);
	__atomic_or_fetch(&t->hdr->bloom[b / 64], 1ULL << (b % 64), __ATOMIC_ACQ_REL);
}

static int64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline bool live(unsigned state)
{
	return state == SLOT_ACTIVE || state == SLOT_ACKED;
}

static void active_add(struct latchtab *t, int delta)
{
	__atomic_add_fetch(&t->hdr->active, (uint32_t)delta, __ATOMIC_ACQ_REL);
}

static void live_add(struct latchtab *t, int delta)
{
	__atomic_add_fetch(&t->hdr->live, (uint32_t)delta, __ATOMIC_ACQ_REL);
}

/* Raise *p to at least v: the latest loss is the one that counts for
 * deciding which fds witnessed one. */
static void raise_seq(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (cur < v &&
	       !__atomic_compare_exchange_n(p, &cur, v, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

void latchtab_seq_above(struct latchtab *t, uint64_t seq)
{
	if (!t->readonly)
		raise_seq(&t->hdr->seq, seq);
}

/* The record's latch time (latchtime.h), raised to now: the latest loss is
 * the one that counts. */
static void raise_latch_time(const struct latchtab *t, struct latch_record *r)
{
	latchtime_raise(&r->claim_ns, t->boot, t->mono_offset);
}

static int64_t latch_time(const struct latchtab *t, const struct latch_record *r)
{
	return latchtime_read(__atomic_load_n(&r->claim_ns, __ATOMIC_ACQUIRE), t->boot,
			      t->mono_offset);
}

/*
 * Whether the record's latch is also on the file (KEYF_ATTR) follows the
 * latest loss.  Only that bit of the key changes, atomically, and lookups
 * never compare it.  Clearing it is safe at any time (the record is then
 * acknowledged only here); setting it only by the owner of a relatch.
 */
static void follow_attr_flag(struct latch_record *r, const struct latch_event *ev, bool may_set)
{
	if (!(ev->key.flags & KEYF_ATTR))
		__atomic_fetch_and(&r->key.flags, ~KEYF_ATTR, __ATOMIC_ACQ_REL);
	else if (may_set)
		__atomic_fetch_or(&r->key.flags, KEYF_ATTR, __ATOMIC_ACQ_REL);
}

/*
 * Turn an ACKED record of the key back into an ACTIVE one, in one
 * compare-and-swap: the record never disappears from lookups.  The body is
 * rewritten first; a status reader may see it half-written (it only reports
 * it), a lookup reads only the key, which does not change, and latch_seq.
 */
static bool relatch(struct latchtab *t, struct latch_record *r, uint64_t w,
		    const struct latch_event *ev, uint64_t seq)
{
	/* Raising the sequence before owning the record fails safe: at worst
	 * a reused slot's fds count as witnesses of a later loss. */
	raise_latch_time(t, r);
	raise_seq(&r->latch_seq, seq);
	follow_attr_flag(r, ev, false);
	active_add(t, 1);
	if (!word_cas(r, w, SLOT_ACTIVE, 0)) {
		active_add(t, -1);
		return false;
	}
	follow_attr_flag(r, ev, true);
	/* Only for reports: a status reader may see it half-written. */
	r->error = ev->error;
	r->when_ns = ev->when_ns;
	r->pid = ev->pid;
	str_copy(r->op, sizeof(r->op), ev->op);
	str_copy(r->prog, sizeof(r->prog), ev->prog);
	str_copy(r->path, sizeof(r->path), ev->path);
	return true;
}

/*
 * A new loss of a key that is ACTIVE: keep the first error, but raise
 * latch_seq (fds opened since witnessed this one), then move the state
 * word, so that an acknowledgment that read the old latch_seq fails its
 * compare-and-swap instead of acknowledging a loss it never saw.  If the
 * word moved first (an acknowledgment won), the caller retries and
 * relatches.
 */
static bool latch_again(const struct latchtab *t, struct latch_record *r,
			const struct latch_event *ev, uint64_t w, uint64_t seq)
{
	raise_latch_time(t, r);
	raise_seq(&r->latch_seq, seq);
	follow_attr_flag(r, ev, false);
	return word_cas(r, w, SLOT_ACTIVE, 0);
}

/* Claim a free slot, fill it and publish it; false if another process got
 * there first (or reclaimed it from us, thinking us dead). */
static bool insert(struct latchtab *t, struct latch_record *r, uint64_t w,
		   const struct latch_event *ev, uint64_t seq)
{
	uint64_t busy;

	/* The claim time is written before the claim, so that whoever sees
	 * the record BUSY also sees a claim time at least this recent (two
	 * racing claimers both write the present). */
	__atomic_store_n(&r->claim_ns, now_realtime_ns(), __ATOMIC_RELAXED);
	if (!word_cas(r, w, SLOT_BUSY, ev->pid))
		return false;
	busy = word_load(r);
	fill_body(r, ev, seq);
	if (ev->key.kind == KEY_FS)
		__atomic_add_fetch(&t->hdr->fs_live, 1, __ATOMIC_ACQ_REL);
	live_add(t, 1);
	active_add(t, 1);
	if (word_cas(r, busy, SLOT_ACTIVE, 0)) {
		/* claim_ns was the claim's time until now (pruning reads it of
		 * BUSY records); meanwhile readers find it unknown */
		raise_latch_time(t, r);
		return true;
	}
	active_add(t, -1);
	live_add(t, -1);
	return false;
}

int latchtab_latch(struct latchtab *t, const struct latch_event *ev, uint64_t seq)
{
	uint64_t hash = key_hash(&ev->key);
	uint32_t start = (uint32_t)hash & t->mask;

	if (t->readonly)
		return -1;
	bloom_add(t, hash);
	for (int attempt = 0; attempt < 8; attempt++) {
		struct latch_record *free_slot = NULL;
		uint64_t free_word = 0;

		for (uint32_t i = 0; i <= t->mask; i++) {
			struct latch_record *r = &t->rec[(start + i) & t->mask];
			uint64_t w = word_load(r);
			unsigned s = W_STATE(w);

			if (live(s) && key_equal(&r->key, &ev->key)) {
				if (s == SLOT_ACTIVE && latch_again(t, r, ev, w, seq))
					return 0;
				if (s == SLOT_ACKED && relatch(t, r, w, ev, seq))
					return 1;
				goto retry;
			}
			if ((s == SLOT_DEAD || s == SLOT_EMPTY) && !free_slot) {
				free_slot = r;
				free_word = w;
			}
			if (s == SLOT_EMPTY)
				break;
		}
		if (!free_slot)
			return -1;
		if (insert(t, free_slot, free_word, ev, seq))
			return 1;
	retry:;
	}
	return -1;
}

/* Copy a live record; false if it is not live or kept changing. */
static bool snapshot(const struct latch_record *r, struct latch_record *out)
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t before = word_load(r);

		if (!live(W_STATE(before)))
			return false;
		memcpy(out, r, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (word_load(r) == before) {
			out->state = before;
			/* The table is shared with anyone who can write the file:
			 * no reader of a copy may run past a field. */
			out->op[sizeof(out->op) - 1] = '\0';
			out->prog[sizeof(out->prog) - 1] = '\0';
			out->path[sizeof(out->path) - 1] = '\0';
			return true;
		}
	}
	return false;
}

/*
 * Probing reads only the state word, the key and the sequence number, and
 * re-reads the state word to know they were consistent: no record is copied
 * until the caller asks for one.
 */
void latchtab_lookup(const struct latchtab *t, const struct file_key *key, struct latch_view *view)
{
	uint64_t hash = key_hash(key);
	uint32_t start = (uint32_t)hash & t->mask;

	view->found = false;
	view->active = false;
	view->latch_seq = 0;
	view->latch_mono = INT64_MIN;
	view->tab = t;
	if (!latchtab_bloom_has(t, hash))
		return;
	for (uint32_t i = 0; i <= t->mask; i++) {
		uint32_t slot = (start + i) & t->mask;
		const struct latch_record *r = &t->rec[slot];
		uint64_t w, seq;
		int64_t when;
		int tries = 0;

	again:
		w = word_load(r);
		if (W_STATE(w) == SLOT_EMPTY)
			break;
		if (!live(W_STATE(w)) || !key_equal(&r->key, key))
			continue;
		seq = __atomic_load_n(&r->latch_seq, __ATOMIC_ACQUIRE);
		when = latch_time(t, r);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		/* changed under us (an ack or relatch): read it again */
		if (word_load(r) != w && ++tries < 64)
			goto again;
		if (W_STATE(w) == SLOT_ACTIVE)
			view->active = true;
		if (!view->found || seq > view->latch_seq) {
			view->latch_seq = seq;
			view->slot = slot;
		}
		if (when > view->latch_mono)
			view->latch_mono = when;
		view->found = true;
	}
}

bool latchtab_view_record(const struct latch_view *view, struct latch_record *out)
{
	return view->found && snapshot(&view->tab->rec[view->slot], out);
}

int latchtab_acknowledge(struct latchtab *t, const struct file_key *key, uint64_t upto,
			 uint64_t seq, int64_t now_ns, bool *newer)
{
	uint32_t start = (uint32_t)key_hash(key) & t->mask;
	int n = 0;

	if (t->readonly)
		return 0;
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct latch_record *r = &t->rec[(start + i) & t->mask];
		uint64_t w = word_load(r);

		if (W_STATE(w) == SLOT_EMPTY)
			break;
		if (W_STATE(w) != SLOT_ACTIVE || !key_equal(&r->key, key))
			continue;
		/* A loss numbered after upto is one the acknowledger may not
		 * know of: it stays latched.  A loss that raises latch_seq
		 * after this read also moves the state word (latch_again),
		 * so the compare-and-swap below fails and the record is read
		 * again. */
		if (__atomic_load_n(&r->latch_seq, __ATOMIC_ACQUIRE) > upto) {
			if (newer)
				*newer = true;
			continue;
		}
		if (!word_cas(r, w, SLOT_ACKED, 0)) {
			i--; /* changed under us: look at this record again */
			continue;
		}
		active_add(t, -1);
		/* only for reports: a status reader may see them half-written */
		r->ack_seq = seq;
		r->ack_ns = now_ns;
		n++;
	}
	return n;
}

/* Is r, ACTIVE, of filesystem fs (its own record, or a file's on its
 * device)?  A record's key may gain or lose KEYF_ATTR meanwhile; nothing
 * compared here. */
static bool of_fs(const struct latch_record *r, const struct file_key *fs)
{
	if (r->key.kind == KEY_FS)
		return key_equal(&r->key, fs);
	return r->key.dev == fs->dev;
}

bool latchtab_dev_active(const struct latchtab *t, uint64_t dev, struct latch_view *view)
{
	struct file_key fs = {.kind = KEY_FS, .dev = dev};

	return latchtab_fs_active(t, &fs, view);
}

bool latchtab_fs_active(const struct latchtab *t, const struct file_key *fs,
			struct latch_view *view)
{
	if (!latchtab_any_active(t))
		return false;
	for (uint32_t i = 0; i <= t->mask; i++) {
		const struct latch_record *r = &t->rec[i];

		if (W_STATE(word_load(r)) != SLOT_ACTIVE || !of_fs(r, fs))
			continue;
		if (view) {
			view->found = view->active = true;
			view->tab = t;
			view->slot = i;
			view->latch_seq = __atomic_load_n(&r->latch_seq, __ATOMIC_RELAXED);
			view->latch_mono = latch_time(t, r);
		}
		return true;
	}
	return false;
}

int latchtab_each(const struct latchtab *t, int (*fn)(const struct latch_record *rec, void *arg),
		  void *arg)
{
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct latch_record copy;
		int ret;

		if (!snapshot(&t->rec[i], &copy))
			continue;
		ret = fn(&copy, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* A BUSY record is abandoned when its owner is gone and it was claimed long
 * ago: a live owner in another pid namespace finishes within microseconds. */
static bool abandoned(const struct latch_record *r, int pid)
{
	int64_t claimed = __atomic_load_n(&r->claim_ns, __ATOMIC_RELAXED);
	int64_t now = now_realtime_ns(), minute = 60 * 1000000000LL;

	/* any claim time, even a damaged one, without overflow */
	return (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) && claimed < now - minute;
}

int latchtab_prune(struct latchtab *t, bool (*gone)(const struct latch_record *rec, void *arg),
		   void *arg)
{
	int saved = errno, n = 0;

	if (t->readonly)
		return 0;
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct latch_record *r = &t->rec[i];
		uint64_t w = word_load(r);
		unsigned s = W_STATE(w);
		struct latch_record copy;

		if (s == SLOT_BUSY && abandoned(r, W_PID(w))) {
			if (word_cas(r, w, SLOT_DEAD, 0))
				n++;
			continue;
		}
		if (!live(s) || !snapshot(r, &copy) || copy.state != w || !gone(&copy, arg))
			continue;
		if (word_cas(r, w, SLOT_DEAD, 0)) {
			if (s == SLOT_ACTIVE)
				active_add(t, -1);
			live_add(t, -1);
			n++;
		}
	}
	errno = saved;
	return n;
}
