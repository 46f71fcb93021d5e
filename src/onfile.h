/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The latch recorded on the file itself (attr.h), as the latch layer judges
 * it.  The attribute is read at most once per lifetime of an fd while the
 * file holds no latch ("no latch on the file" is cached in the fd table,
 * tagged with the lifetime: FD_NO_ATTR); a latch found there is read again
 * at every judging (a refusal is rare, and must see an acknowledgment made
 * since).  So an fd that was judged clean does not see a latch written on
 * its file later by another host; it does see one recorded in a state
 * folder it shares.  Nothing here runs when STICKYSYNC_XATTR is off.
 */
#ifndef STICKYSYNC_ONFILE_H
#define STICKYSYNC_ONFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "attr.h"
#include "latchtab.h"

/* Is there no latch on fd's file itself (lifetime gen)?  True also when
 * STICKYSYNC_XATTR is off. */
bool onfile_clear(int fd, uint32_t gen);

/* Does fd's file (lifetime gen) hold a latch?  *a gets what it says. */
bool onfile_latched(int fd, uint32_t gen, struct latch_attr *a);

/* view is an unacknowledged record of key, read through fd.  If that latch
 * was written on the file and the file now holds an acknowledgment (made on
 * another host, or under another state folder), acknowledge the record
 * here too, unless a newer loss came since, and clear view->active. */
void onfile_acked(int fd, const struct file_key *key, struct latch_view *view);

#endif
