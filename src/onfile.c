/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#define STICKYSYNC_BUILDING_LIBRARY
#include "onfile.h"

#include "fdtable.h"
#include "log.h"
#include "record.h"
#include "runtime.h"

/*
 * An unacknowledged record of this file whose latch was also written on the
 * file, and the file now holds an acknowledgment: it was acknowledged on
 * another host (or under another state folder).  Acknowledge the record
 * here too, unless a newer loss came since.  The attribute is read afresh:
 * a cached "no latch on the file" may predate the record.
 */
void onfile_acked(int fd, const struct file_key *key, struct latch_view *view)
{
	struct latchtab *tabs[2] = {rt.shared.hdr ? &rt.shared : NULL, &rt.local};
	struct latch_record rec;
	struct latch_attr a;
	bool newer = false;
	struct line l;
	int n = 0;

	if (!rt.opt.xattr || fd < 0 || !latchtab_view_record(view, &rec) ||
	    !(rec.key.flags & KEYF_ATTR) || attr_read_fd(fd, &a) != 1 || !a.acked)
		return;
	/* A table the acknowledgment went through did its part itself: taking
	 * the file's word there could acknowledge a loss the acknowledger
	 * never saw (one that raced it, whose own word on the file it
	 * overwrote). */
	if (attr_ack_table(&a) && attr_ack_table(&a) == view->tab->id)
		return;
	for (int i = 0; i < 2; i++)
		if (tabs[i] && (!attr_ack_table(&a) || attr_ack_table(&a) != tabs[i]->id))
			n += latchtab_acknowledge(tabs[i], key, view->latch_seq,
						  latchtab_next_seq(latch_seq_table()),
						  record_now_ns(), &newer);
	if (newer)
		return;
	view->active = false;
	/* A table this process may only read stays as it is: the file's word
	 * is taken each time, and said once, by a process that can write it. */
	if (n == 0)
		return;
	line_init(&l);
	line_prefix(&l);
	line_str(&l, "loss on ");
	line_str(&l, rec.path);
	line_str(&l, " acknowledged on ");
	line_str(&l, a.host);
	line_str(&l, " by ");
	line_str(&l, a.prog);
	line_str(&l, " (recorded on the file); fds opened before the loss stay latched");
	log_line(&l);
}

bool onfile_clear(int fd, uint32_t gen)
{
	struct latch_attr a;

	if (!rt.opt.xattr || (fd_flags(fd, gen) & FD_NO_ATTR))
		return true;
	if (attr_latched(fd, &a))
		return false;
	fd_set_flags(fd, gen, FD_NO_ATTR);
	return true;
}

bool onfile_latched(int fd, uint32_t gen, struct latch_attr *a)
{
	if (!rt.opt.xattr || fd < 0 || (fd_flags(fd, gen) & FD_NO_ATTR))
		return false;
	if (attr_latched(fd, a))
		return true;
	fd_set_flags(fd, gen, FD_NO_ATTR);
	return false;
}
