/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The state folder: where the latch table shared between processes lives,
 * as the file DIR/latches mapped into every process that uses it.  Used by
 * the library and by the stickysync command alike.
 */
#ifndef STICKYSYNC_STATE_H
#define STICKYSYNC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "latchtab.h"

#define STATE_FILE "latches"
#define STATE_MSG_MAX 512

struct state {
	struct latchtab tab;
	void *map;
	size_t len;
};

/*
 * Map DIR/latches, creating the folder (0700) and the table (with capacity
 * records) when create is set.  A folder or file owned by another user,
 * writable by group or others, or reached through a symbolic link is refused:
 * -1 with a one-line reason in msg.
 */
int state_open(struct state *s, const char *dir, bool create, uint32_t capacity, char *msg,
	       size_t msglen);
void state_close(struct state *s);

/* Remove records whose file no longer exists at its recorded path with the
 * same identity; ACTIVE ones only if also_active.  Returns how many. */
int state_prune_gone(struct latchtab *t, bool also_active);

#endif
