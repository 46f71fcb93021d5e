/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Which file is mapped at an address, from /proc/self/maps: msync takes an
 * address, and the shim finds its file without interposing mmap.
 */
#ifndef STICKYSYNC_PROCMAPS_H
#define STICKYSYNC_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "identity.h"

/*
 * One line of /proc/PID/maps ("start-end perms offset maj:min inode path",
 * without its newline): if it maps addr, fill key (dev and inode only) and
 * path, and return true.  Any text is accepted; malformed lines match
 * nothing.
 */
bool procmaps_line_maps(const char *line, unsigned long addr, struct file_key *key, char *path,
			size_t size);

/*
 * The file mapped at addr in this process; -1 if none.  The key has a birth
 * time only when the mapped path still names the same inode.
 */
int procmaps_find(const void *addr, struct file_key *key, char *path, size_t size);

#endif
