/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "arena.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

void *arena_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static struct block *carve_block(struct arena *a, size_t size)
{
	struct block *b;

	if (a->carve_left < size) {
		struct chunk *c = arena_map(CHUNK_SIZE);

		if (!c)
			return NULL;
		c->next = a->chunks;
		a->chunks = c;
		a->carve = (char *)(c + 1);
		a->carve_left = CHUNK_SIZE - sizeof(*c);
	}
	b = (struct block *)a->carve;
	a->carve += size;
	a->carve_left -= size;
	return b;
}

void *arena_alloc(struct arena *a, size_t n)
{
	size_t need = n + sizeof(struct block);
	struct block *b;
	size_t k = 0;

	if (n > SIZE_MAX / 2)
		return NULL;
	while (k < NCLASS && ((size_t)1 << (k + CLASS_MIN_SHIFT)) < need)
		k++;
	if (k == NCLASS) {
		size_t len = (need + 4095) & ~(size_t)4095;

		b = arena_map(len);
		if (!b)
			return NULL;
		b->size = len;
	} else if (a->free_list[k]) {
		b = a->free_list[k];
		a->free_list[k] = *(struct block **)(b + 1);
	} else {
		b = carve_block(a, (size_t)1 << (k + CLASS_MIN_SHIFT));
		if (!b)
			return NULL;
	}
	b->klass = k;
	return b + 1;
}

void arena_free(struct arena *a, void *p)
{
	struct block *b;

	if (!p)
		return;
	b = (struct block *)p - 1;
	if (b->klass == OWN_MAPPING) {
		munmap(b, b->size);
		return;
	}
	*(struct block **)p = a->free_list[b->klass];
	a->free_list[b->klass] = b;
}

/* Every block is free: give the chunks back. */
void arena_release_all(struct arena *a)
{
	while (a->chunks) {
		struct chunk *c = a->chunks;

		a->chunks = c->next;
		munmap(c, CHUNK_SIZE);
	}
	memset(a, 0, sizeof(*a));
}
