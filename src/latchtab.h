/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The latch table: one record per latched file (or filesystem), in a region
 * of memory that is either a shared file mapping (the state folder) or
 * private to the process.
 *
 * Locking protocol: there are no locks.  Readers may run in signal handlers
 * and processes may die at any instruction, so every record moves between
 * states with compare-and-swap on its state word:
 *
 *   EMPTY/DEAD --claim--> BUSY(pid) --publish--> ACTIVE --acknowledge--> ACKED
 *                                                   ^                      |
 *                                                   +-------relatch--------+
 *   ACTIVE/ACKED --prune--> DEAD
 *
 * Only a new record passes through BUSY, while its owner writes the key
 * and body; readers skip BUSY records and keep probing (a record is never
 * moved).  Acknowledging and relatching are single compare-and-swaps, so a
 * latched key never vanishes from lookups.  A repeated failure of an ACTIVE
 * key raises its latch_seq, then moves the state word (a version bump); an
 * acknowledgment reads the state word, then latch_seq, and acknowledges
 * only a latch_seq its caller knew of, with a compare-and-swap of the word
 * it read: a failure that races it either shows in latch_seq, or makes the
 * compare-and-swap fail, or finds the record ACKED and relatches it.  No
 * failure is ever acknowledged unseen.  A reader that sees the state
 * word change while it reads a record reads it again.  A process killed
 * while holding a new record BUSY leaves it BUSY; pruning reclaims it once
 * that pid no longer exists and the claim, whose time is written before the
 * claiming compare-and-swap, is older than a minute (a pid can
 * look dead from another pid namespace: the age keeps a live owner from
 * losing its slot while it writes), and publishing is itself a
 * compare-and-swap.  The header's `active` count is raised before a record
 * becomes ACTIVE and lowered after it stops being ACTIVE, so a crash can
 * leave it too high (a wasted lookup) but never too low (a missed latch).
 * `live` counts ACTIVE and ACKED records by the same rule.  Nothing here
 * needs fork handling: there is no lock to hold.
 */
#ifndef STICKYSYNC_LATCHTAB_H
#define STICKYSYNC_LATCHTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define LATCHTAB_MAGIC "STKYSYN1"
/* Bumped whenever the layout of the header or a record changes. */
#define LATCHTAB_VERSION 3u

enum slot_state {
	SLOT_EMPTY = 0,
	SLOT_BUSY = 1,
	SLOT_ACTIVE = 2,
	SLOT_ACKED = 3,
	SLOT_DEAD = 4,
};

#define REC_OP_MAX 16
#define REC_PROG_MAX 32
#define REC_PATH_MAX 256

struct latch_record {
	uint64_t state; /* enum slot_state in the low byte, BUSY owner pid above */
	/* BUSY: CLOCK_REALTIME when the new record was claimed.  ACTIVE and
	 * ACKED: the time of its latest latch, for fds dated by the clock
	 * (fdtable.h), packed with the boot it was read in (latchtime.h); a
	 * value of another form (a record being published, or written by an
	 * older version) is unknown, which counts as later than every such
	 * fd. */
	int64_t claim_ns;
	struct file_key key;
	uint64_t latch_seq; /* table sequence number when it (last) latched */
	uint64_t ack_seq;
	int64_t when_ns; /* CLOCK_REALTIME of the failure */
	int64_t ack_ns;
	int32_t error;
	int32_t pid;
	char op[REC_OP_MAX];
	char prog[REC_PROG_MAX];
	char path[REC_PATH_MAX];
};

/*
 * A Bloom filter of every key ever latched in the table, so that a lookup of
 * a file that is not latched (the common case, even with thousands of other
 * latches) costs two bit tests instead of a probe through records.  Bits are
 * only ever set: acknowledged or pruned keys leave false positives, which cost
 * a probe, never a missed latch.
 */
#define LATCHTAB_BLOOM_BITS (1u << 19) /* 64 KiB */

struct latch_header {
	char magic[8];
	uint32_t version;
	uint32_t capacity; /* records; a power of two */
	uint32_t record_size;
	uint32_t header_size;
	uint64_t seq;	  /* last sequence number handed out */
	uint32_t active;  /* records in state ACTIVE (may over-count) */
	uint32_t live;	  /* records ACTIVE or ACKED (may over-count) */
	uint32_t fs_live; /* filesystem records ever made (syncfs failures) */
	uint32_t pad;
	uint64_t bloom[LATCHTAB_BLOOM_BITS / 64];
};

struct latchtab {
	struct latch_header *hdr;
	struct latch_record *rec;
	uint32_t mask;
	/* This process may read the table but not write it (mapped read-only,
	 * or a private copy standing in for a table it cannot write): every
	 * writing function returns at once, as if it had found nothing to do. */
	bool readonly;
	/* Names the running boot in records' latch times; 0 when unknown. */
	uint64_t boot;
	/* Names the table in acknowledgments recorded on files (attr.h): 24
	 * bits of its file's device and inode; 0 for a process's own table.
	 * Set by whoever attaches it (latchtab_attach leaves it). */
	uint32_t id;
	/* The monotonic clock of this process's time namespace, minus the
	 * host's (/proc/self/timens_offsets): records keep the host's. */
	int64_t mono_offset;
};

/* A failure to record. */
struct latch_event {
	struct file_key key;
	int error;
	const char *op;
	const char *path;
	const char *prog;
	int pid;
	int64_t when_ns;
};

/* The id of the table in the file dev:ino (never 0). */
static inline uint32_t latchtab_id(uint64_t dev, uint64_t ino)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ull) ^ (ino * 0xc2b2ae3d27d4eb4full);

	return (uint32_t)(h >> 40) | 1;
}

size_t latchtab_bytes(uint32_t capacity);
/* Lay out an empty table in zeroed memory of latchtab_bytes(capacity). */
void latchtab_format(void *mem, uint32_t capacity);

/* What the start of a region says about it, judged before mapping it. */
enum latchtab_verdict {
	LATCHTAB_OK,
	LATCHTAB_FOREIGN,	/* not our magic */
	LATCHTAB_OTHER_VERSION, /* our magic, another layout version */
	LATCHTAB_DAMAGED,	/* our magic and version, an impossible layout */
	LATCHTAB_TRUNCATED,	/* shorter than a header, or than its header says */
};

/* The bytes of a header latchtab_check reads. */
#define LATCHTAB_HEAD_BYTES 24

/*
 * Judge a table of len bytes whose first have (up to LATCHTAB_HEAD_BYTES)
 * bytes are head.  *version gets the version found (0 if none), *need the
 * bytes the table needs: its header's size when it is truncated short of
 * one, else the size its capacity gives.
 */
enum latchtab_verdict latchtab_check(const void *head, size_t have, size_t len, uint32_t *version,
				     size_t *need);

/* Attach to a formatted region, writable; -1 if its header is not one of
 * ours or does not fit in len bytes. */
int latchtab_attach(struct latchtab *t, void *mem, size_t len);

/*
 * Make mem, a private copy of a table of capacity records that may have
 * lost pages (zeros where they could not be read), a table this process
 * can go on with, failing safe: its sequence number jumps by
 * LATCHTAB_SALVAGE_GAP (so that fds numbered before the copy count as
 * opened before every latch made in it), its counts and Bloom filter say
 * "maybe" to every lookup.  Async-signal-safe.
 */
#define LATCHTAB_SALVAGE_GAP (1ull << 40)
void latchtab_salvage(void *mem, uint32_t capacity);

static inline bool latchtab_any_active(const struct latchtab *t)
{
	return t->hdr && __atomic_load_n(&t->hdr->active, __ATOMIC_ACQUIRE) != 0;
}

/* Any record at all: an fd that witnessed an acknowledged loss still fails. */
static inline bool latchtab_any_live(const struct latchtab *t)
{
	return t->hdr && __atomic_load_n(&t->hdr->live, __ATOMIC_ACQUIRE) != 0;
}

/* Any filesystem-wide latch, so lookups of a file's filesystem can be
 * skipped in the common case. */
static inline bool latchtab_any_fs(const struct latchtab *t)
{
	return t->hdr && __atomic_load_n(&t->hdr->fs_live, __ATOMIC_ACQUIRE) != 0;
}

static inline uint64_t latchtab_seq(const struct latchtab *t)
{
	return __atomic_load_n(&t->hdr->seq, __ATOMIC_ACQUIRE);
}

/* The next sequence number; the current one, unchanged, for a read-only
 * table. */
uint64_t latchtab_next_seq(struct latchtab *t);

/* Make t's sequence number at least seq: a table that takes over the
 * numbering from another continues above it. */
void latchtab_seq_above(struct latchtab *t, uint64_t seq);

/*
 * Latch ev->key.  Returns 1 when a new latch was published, 0 when the key
 * was already ACTIVE (the first error is kept), -1 when the table is full.
 * seq is the sequence number to record (from latchtab_next_seq of the table
 * that numbers this process's fds).
 */
int latchtab_latch(struct latchtab *t, const struct latch_event *ev, uint64_t seq);

/* What a lookup found for a key: enough to judge, without copying records. */
struct latch_view {
	bool found;	    /* a record exists, ACTIVE or ACKED */
	bool active;	    /* unacknowledged */
	uint64_t latch_seq; /* latest latch of the key */
	/* For fds stamped with a time: CLOCK_MONOTONIC of the latest loss in
	 * this boot, INT64_MIN when every loss is from an earlier boot,
	 * INT64_MAX when that is unknown (every such fd counts as older) */
	int64_t latch_mono;
	const struct latchtab *tab; /* where the record of that latch is */
	uint32_t slot;
};

static inline bool latchtab_bloom_has(const struct latchtab *t, uint64_t hash)
{
	uint32_t a = (uint32_t)hash & (LATCHTAB_BLOOM_BITS - 1);
	uint32_t b = (uint32_t)(hash >> 40) & (LATCHTAB_BLOOM_BITS - 1);

	return (__atomic_load_n(&t->hdr->bloom[a / 64], __ATOMIC_ACQUIRE) >> (a % 64) & 1) &&
	       (__atomic_load_n(&t->hdr->bloom[b / 64], __ATOMIC_ACQUIRE) >> (b % 64) & 1);
}

/* Find key; fills *view (found=false when there is no record). */
void latchtab_lookup(const struct latchtab *t, const struct file_key *key, struct latch_view *view);

/* A stable copy of the record a lookup found; false if it has gone. */
bool latchtab_view_record(const struct latch_view *view, struct latch_record *out);

/*
 * Acknowledge every ACTIVE record of key that latched at or before upto (the
 * latest loss the acknowledger knows of); returns how many.  A record that
 * latched after upto stays ACTIVE, and *newer (if not NULL) is set.  seq
 * and now_ns are recorded as the acknowledgment's.
 */
int latchtab_acknowledge(struct latchtab *t, const struct file_key *key, uint64_t upto,
			 uint64_t seq, int64_t now_ns, bool *newer);

/* True if any ACTIVE record is of filesystem fs (a KEY_FS key: by UUID
 * where both sides have one), or of a file on its device; view, if not
 * NULL, is set to one of them. */
bool latchtab_fs_active(const struct latchtab *t, const struct file_key *fs,
			struct latch_view *view);
/* The same for the filesystem on device dev, known by its number alone. */
bool latchtab_dev_active(const struct latchtab *t, uint64_t dev, struct latch_view *view);

/* Call fn for each ACTIVE or ACKED record (a stable copy, its text fields
 * terminated whatever the table holds); stops early when fn returns
 * non-zero. */
int latchtab_each(const struct latchtab *t, int (*fn)(const struct latch_record *rec, void *arg),
		  void *arg);

/*
 * Remove records for which gone(rec, arg) is true, and reclaim BUSY records
 * whose owner no longer exists.  Returns how many were removed.
 */
int latchtab_prune(struct latchtab *t, bool (*gone)(const struct latch_record *rec, void *arg),
		   void *arg);

#endif
