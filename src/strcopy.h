/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#ifndef STICKYSYNC_STRCOPY_H
#define STICKYSYNC_STRCOPY_H

#include <stddef.h>
#include <string.h>

/* Copy src into dst of size bytes, cut to fit and always terminated (NULL
 * copies as ""); async-signal-safe. */
static inline void str_copy(char *dst, size_t size, const char *src)
{
	size_t n = src ? strnlen(src, size - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

#endif
