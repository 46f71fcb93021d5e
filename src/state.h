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
	struct latchtab tab; /* tab.readonly: see state_open */
	void *map;
	size_t len;
};

/*
 * Map DIR/latches, creating the folder (0700) and the table (with capacity
 * records, its space allocated before it is linked into place) when create
 * is set.
 *
 * 0: attached.  msg is "" when this process may write the table; otherwise
 * tab.readonly is set and msg says why, in one line naming the file: a table
 * on a read-only filesystem (or in a file we may not write) is mapped
 * read-only; a sparse table whose filesystem cannot allocate it is read into
 * a private copy, since a store into one of its holes would kill the process
 * with SIGBUS.  Its latches are still there to enforce.
 *
 * 1: create is not set and there is no table (or no folder) yet; nothing was
 * created.
 *
 * -1, with a one-line reason in msg: the table cannot be used.  A folder or
 * file owned by another user, writable by group or others, or reached
 * through a symbolic link; a file that is not a latch table of this version,
 * or is truncated; no room for a new table.
 */
int state_open(struct state *s, const char *dir, bool create, uint32_t capacity, char *msg,
	       size_t msglen);
void state_close(struct state *s);

/*
 * Keep the process alive when s's table file shrinks under it (another
 * process truncated it) or a page of it cannot be allocated (a sparse file
 * on a filesystem that filled up): either makes the next access to the
 * mapping raise SIGBUS, whose default action kills the process.
 *
 * Installs a SIGBUS handler if SIGBUS has its default action; false, and
 * nothing installed, if the program has its own.  On a fault inside the
 * table, the handler replaces the mapping, at the same address and in one
 * step, with a private copy of what can still be read (latchtab_salvage),
 * calls report once with a line naming the file ("state file DIR/latches
 * shrank or ran out of space under this process: it now works on a private
 * copy of what could be read"), and returns: the access
 * runs again, on the copy, which the process keeps as an in-process table.
 * Any other SIGBUS gets the default action, as if there were no handler.
 * One table per process is guarded, the last one given; report must be
 * async-signal-safe.
 */
bool state_guard(struct state *s, const char *dir, void (*report)(const char *line));

/* Whether the guard has put a private copy in place of s's table. */
bool state_salvaged(const struct state *s);

/* Remove records whose file no longer exists at its recorded path with the
 * same identity; ACTIVE ones only if also_active.  Returns how many. */
int state_prune_gone(struct latchtab *t, bool also_active);

#endif
