/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Which boot is running: latches record it next to their monotonic time
 * (latchtab.h), which means nothing in another boot.
 */
#ifndef STICKYSYNC_BOOT_H
#define STICKYSYNC_BOOT_H

#include <stdint.h>

#include "sys.h"

/*
 * A tag for the running boot (latchtab.h's latch_boot), from the kernel's
 * boot id; 0 when it cannot be read (no /proc): time-stamped fds then count
 * as older than every loss, which fails safe.
 */
static inline uint64_t boot_tag(void)
{
	char id[64];
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	ssize_t n;
	int fd = sys_openat(AT_FDCWD, "/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	n = sys_read(fd, id, sizeof(id));
	sys_close(fd);
	if (n < 32)
		return 0;
	for (ssize_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)id[i]) * 1099511628211ull;
	return h ? h : 1;
}

#endif
