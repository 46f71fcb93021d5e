/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Judging a call on a file: is it latched, and did this fd witness the
 * loss?  Inside the latch layer (the acknowledgment and status API judge
 * too); the entry points are in latch.h.
 */
#ifndef STICKYSYNC_JUDGE_H
#define STICKYSYNC_JUDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "attr.h"
#include "latchtab.h"
#include "record.h"

struct verdict {
	bool latched;		/* the call must not report success */
	bool witness;		/* this fd existed when the latch happened */
	int fd_error;		/* the fd's own latch, when no record says more */
	struct latch_view view; /* the record to report, when found */
	bool on_file;		/* latched by the file's attribute (attr.h) */
	struct latch_attr attr; /* what the attribute says, when on_file */
};

/* Judge key through fd (-1: no fd) in its lifetime gen. */
void judge_verdict(int fd, uint32_t gen, struct file_key *key, struct verdict *v);
/* The newer of key's records in the shared and local tables. */
void judge_lookup(const struct file_key *key, struct latch_view *v);
/* What to say about the latch behind a verdict. */
void judge_verdict_record(const struct verdict *v, struct latch_record *rec);
/* fd's identity from the kernel, checked against (and cached in) its
 * entry; *gen follows the entry. */
int judge_fd_key(int fd, uint32_t *gen, struct file_key *key);

#endif
