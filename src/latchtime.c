/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#include "latchtime.h"

#include <stdbool.h>

#include "clock.h"

#define LATCH_TIME_MARK (1ull << 63)
#define LATCH_TIME_BOOT_SHIFT 52
#define LATCH_TIME_US_MASK ((1ull << LATCH_TIME_BOOT_SHIFT) - 1)

static uint64_t boot_bits(uint64_t boot)
{
	return (boot % 2047 + 1) << LATCH_TIME_BOOT_SHIFT; /* never 0 */
}

static uint64_t now_word(uint64_t boot, int64_t offset)
{
	int64_t ns = clock_mono_ns() - offset;

	if (!boot || ns <= 0)
		return 0; /* unknown */
	return LATCH_TIME_MARK | boot_bits(boot) |
	       (((uint64_t)ns + 999) / 1000 & LATCH_TIME_US_MASK);
}

void latchtime_raise(int64_t *word, uint64_t boot, int64_t offset)
{
	uint64_t now = now_word(boot, offset);
	int64_t cur = __atomic_load_n(word, __ATOMIC_RELAXED);

	if (!now) {
		__atomic_store_n(word, 0, __ATOMIC_RELAXED);
		return;
	}
	while (!(((uint64_t)cur & ~LATCH_TIME_US_MASK) == (now & ~LATCH_TIME_US_MASK) &&
		 (uint64_t)cur >= now) &&
	       !__atomic_compare_exchange_n(word, &cur, (int64_t)now, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
}

int64_t latchtime_read(int64_t word, uint64_t boot, int64_t offset)
{
	uint64_t v = (uint64_t)word;

	if (!(v & LATCH_TIME_MARK) || !boot)
		return INT64_MAX;
	if ((v & ~LATCH_TIME_MARK & ~LATCH_TIME_US_MASK) != boot_bits(boot))
		return INT64_MIN;
	return (int64_t)(v & LATCH_TIME_US_MASK) * 1000 + offset;
}
