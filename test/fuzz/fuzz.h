/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Shared by the libFuzzer targets (test/fuzz/fuzz_*.c).  Each target feeds
 * one parser arbitrary bytes; besides what the sanitizers catch, a target
 * checks what the parser promises, with FUZZ_CHECK.
 */
#ifndef STICKYSYNC_FUZZ_H
#define STICKYSYNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken promise is a crash: libFuzzer keeps the input that caused it.
 * The message goes straight to fd 2, which a target may have taken stdio's
 * stderr away from. */
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			dprintf(STDERR_FILENO, "fuzz check failed: %s (%s:%d): ", #cond, __FILE__, \
				__LINE__);                                                         \
			dprintf(STDERR_FILENO, __VA_ARGS__);                                       \
			dprintf(STDERR_FILENO, "\n");                                              \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* data[0, size) as a C string in a buffer of exactly size + 1 bytes, so that
 * a read past its terminator is a heap overflow; NUL bytes in data end the
 * string early, as they would in the environment or argv. */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Split data at NUL bytes into at most max fields, each a fuzz_strdup; the
 * count.  Fields beyond max are dropped. */
static inline int fuzz_split(const uint8_t *data, size_t size, char **fields, int max)
{
	int n = 0;
	size_t start = 0;

	while (n < max && start <= size) {
		const uint8_t *nul = start < size ? memchr(data + start, '\0', size - start) : NULL;
		size_t len = nul ? (size_t)(nul - (data + start)) : size - start;

		fields[n++] = fuzz_strdup(data + start, len);
		if (!nul)
			break;
		start += len + 1;
	}
	return n;
}

static inline void fuzz_free_fields(char **fields, int n)
{
	for (int i = 0; i < n; i++)
		free(fields[i]);
}

/* Is s terminated within size bytes? */
static inline int fuzz_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

#endif
