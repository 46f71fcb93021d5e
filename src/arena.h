/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Memory for the undo store: from mmap, never malloc, so that a forked child
 * or a signal handler cannot meet a malloc lock held by another thread.
 * Only the undo store's holder calls these (see undo_store.h).
 */
#ifndef STICKYSYNC_ARENA_H
#define STICKYSYNC_ARENA_H

#include <stddef.h>

/*
 * Blocks of up to 64 KiB come from size classes (32 bytes, doubling) carved
 * out of 256 KiB chunks; bigger blocks are mappings of their own.  Only the
 * store's holder allocates.  When the store empties, the chunks go back.
 */
#define CLASS_MIN_SHIFT 5
#define NCLASS 12
#define OWN_MAPPING NCLASS
#define CHUNK_SIZE (256u << 10)

struct block {
	size_t size;  /* of the mapping, for OWN_MAPPING */
	size_t klass; /* size class, or OWN_MAPPING */
};

struct chunk {
	struct chunk *next;
	size_t pad; /* keeps blocks 16-byte aligned */
};

struct arena {
	struct block *free_list[NCLASS]; /* the next free block is in the payload */
	struct chunk *chunks;
	char *carve;
	size_t carve_left;
};

/* A private anonymous mapping of len bytes, or NULL. */
void *arena_map(size_t len);
void *arena_alloc(struct arena *a, size_t n);
void arena_free(struct arena *a, void *p);
/* Every chunk back to the kernel: the arena is empty. */
void arena_release_all(struct arena *a);

#endif
