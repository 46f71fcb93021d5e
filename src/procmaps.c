/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "procmaps.h"
#include "strcopy.h"

#include <fcntl.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "latchtab.h"
#include "sys.h"

static unsigned long parse_hex(const char **p)
{
	unsigned long v = 0;

	for (;; (*p)++) {
		char c = **p;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			return v;
		v = v * 16 + (unsigned long)d;
	}
}

static unsigned long parse_dec(const char **p)
{
	unsigned long v = 0;

	for (; **p >= '0' && **p <= '9'; (*p)++)
		v = v * 10 + (unsigned long)(**p - '0');
	return v;
}

static void skip_field(const char **p)
{
	while (**p && **p != ' ')
		(*p)++;
	while (**p == ' ')
		(*p)++;
}

bool procmaps_line_maps(const char *p, unsigned long addr, struct file_key *key, char *path,
			size_t size)
{
	unsigned long start = parse_hex(&p), end, major, minor;

	if (*p++ != '-')
		return false;
	end = parse_hex(&p);
	if (addr < start || addr >= end)
		return false;
	skip_field(&p); /* to perms */
	skip_field(&p); /* to offset */
	skip_field(&p); /* to dev */
	major = parse_hex(&p);
	if (*p++ != ':')
		return false;
	minor = parse_hex(&p);
	skip_field(&p);
	memset(key, 0, sizeof(*key));
	key->kind = KEY_FILE;
	key->dev = makedev(major, minor);
	key->ino = parse_dec(&p);
	while (*p == ' ')
		p++;
	str_copy(path, size, p);
	return key->ino != 0;
}

int procmaps_find(const void *addr, struct file_key *key, char *path, size_t size)
{
	char buf[4096 + REC_PATH_MAX + 128];
	bool skip_rest = false;
	size_t have = 0;
	int fd = sys_openat(AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0), found = -1;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (found < 0 && (n = sys_read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		char *line = buf, *nl;

		have += (size_t)n;
		buf[have] = '\0';
		if (skip_rest) {
			nl = strchr(buf, '\n');
			if (!nl) {
				have = 0;
				continue;
			}
			line = nl + 1;
			skip_rest = false;
		}
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (procmaps_line_maps(line, (unsigned long)addr, key, path, size)) {
				found = 0;
				break;
			}
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1) {
			/* a line longer than the buffer (a path with many escapes):
			 * drop it, then the rest of it up to its newline */
			have = 0;
			skip_rest = true;
		}
	}
	sys_close(fd);
	if (found == 0) {
		struct file_key named;

		if (path[0] == '/' && key_from_path(path, &named) == 0 && named.ino == key->ino &&
		    named.dev == key->dev)
			*key = named;
	}
	return found;
}
