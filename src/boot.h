/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Which boot is running: latches record it next to their monotonic time
 * (latchtab.h), which means nothing in another boot.
 */
#ifndef STICKYSYNC_BOOT_H
#define STICKYSYNC_BOOT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sys.h"

/*
 * A tag for the running boot (latchtab.h: latch times), from the kernel's
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

/*
 * How far this process's monotonic clock is ahead of the host's: the
 * monotonic line of /proc/self/timens_offsets (time namespaces, Linux 5.6);
 * 0 without one.
 */
static inline int64_t mono_offset(void)
{
	char buf[256], *p;
	long long sec = 0, nsec = 0;
	bool neg = false;
	ssize_t n;
	int fd = sys_openat(AT_FDCWD, "/proc/self/timens_offsets", O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	n = sys_read(fd, buf, sizeof(buf) - 1);
	sys_close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "monotonic <sec> <nsec>" (the name, or the clock's number: 1) */
	for (p = buf; *p; p++) {
		if ((p == buf || p[-1] == '\n') &&
		    (strncmp(p, "monotonic ", 10) == 0 || strncmp(p, "1 ", 2) == 0))
			break;
	}
	if (!*p)
		return 0;
	while (*p && *p != ' ')
		p++;
	while (*p == ' ')
		p++;
	if (*p == '-')
		neg = true, p++;
	while (*p >= '0' && *p <= '9')
		sec = sec * 10 + (*p++ - '0');
	while (*p == ' ')
		p++;
	while (*p >= '0' && *p <= '9')
		nsec = nsec * 10 + (*p++ - '0');
	return (neg ? -sec : sec) * 1000000000ll + nsec;
}

#endif
