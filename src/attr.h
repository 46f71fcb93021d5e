/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The latch recorded on the file itself: the extended attribute
 * user.stickysync, so that a latch travels where the file goes (another
 * host mounting the same volume, a VM restarted elsewhere, a renumbered
 * device) and is seen by processes that share no state folder.
 *
 * The value is one short line of text, small enough to stay in the inode
 * on ext4 and xfs:
 *
 *     1 ENOSPC fsync 1764482467 4242 host1 qemu-io
 *
 * (format version, errno name, the call, the failure's time in seconds
 * since the epoch, pid, host name, program).  Host and program names are
 * cut to ATTR_HOST_KEPT and ATTR_PROG_KEPT bytes: ext4's default 256-byte
 * inodes have room for a value of 60 bytes, beyond which the attribute
 * takes a block of its own (a block to allocate on a filesystem that may
 * be out of space).  Any value at all counts as a
 * latch (one that does not parse is reported as an EIO of a sync),
 * except an acknowledgment, which replaces the latch's value:
 *
 *     1 acked ack-3f09a1 1764483012 977 host2 stickysync
 *
 * An acknowledgment is written rather than the attribute removed so that a
 * host whose own state folder holds the latch can tell "acknowledged
 * elsewhere" (it then acknowledges its record) from "the attribute is
 * gone" (a metadata update the storage lost, say), which must not drop a
 * latch.  The attribute belongs to the inode: a file recreated at
 * the same path has none; a copy that preserves extended attributes (cp -a,
 * rsync -X, tar --xattrs) carries it, as it carries the damaged bytes.
 *
 * Everything here is a raw system call on a caller's buffer, keeps errno,
 * and is async-signal-safe (except attr_parse's errno lookup, which only
 * reads glibc's tables).
 */
#ifndef STICKYSYNC_ATTR_H
#define STICKYSYNC_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define ATTR_NAME "user.stickysync"
#define ATTR_VALUE_MAX 160
#define ATTR_FIELD_MAX 32
#define ATTR_HOST_KEPT 10
#define ATTR_PROG_KEPT 10

/* A latch as the attribute records it. */
struct latch_attr {
	bool acked; /* an acknowledgment, not a latch */
	int error;
	int pid;
	int64_t when_sec; /* 0 to INT64_MAX / 10^9 */
	char op[16];
	char host[ATTR_FIELD_MAX];
	char prog[ATTR_FIELD_MAX];
};

/*
 * An acknowledgment made through a latch table names it (its id,
 * latchtab.h) in its call field, "ack-XXXXXX": that table acknowledged its
 * records itself, under its own protocol, which no failure racing the
 * acknowledgment gets past; only the other tables take the file's word
 * (onfile.c).  Plain "ack" names none.
 */
#define ATTR_ACK_OP "ack"
void attr_ack_op(char *op, size_t size, uint32_t table_id);
uint32_t attr_ack_table(const struct latch_attr *a);

/* The attribute's text for a; returns its length (always < size, size >=
 * ATTR_VALUE_MAX).  Spaces and control characters in the host and program
 * names become '?'; they are cut as said above. */
size_t attr_format(const struct latch_attr *a, char *buf, size_t size);
/* Parse len bytes of a value; what cannot be read is left as EIO, "sync",
 * "?". */
void attr_parse(const char *buf, size_t len, struct latch_attr *a);

/* This host's name into buf (at least ATTR_FIELD_MAX bytes), "?" if none. */
void attr_host(char *buf, size_t size);

/* Write the attribute on fd's file: 0, or the errno that prevented it. */
int attr_write_fd(int fd, const struct latch_attr *a);
/* The same on the file at path, only if it still has identity key (a
 * file closed by the time its failure is recorded). */
int attr_write_path(const char *path, const struct file_key *key, const struct latch_attr *a);

/* Read fd's attribute: 1 (a filled, if not NULL), 0 none, -1 could not be
 * read (no extended attributes there, a socket, ...), which counts as
 * none. */
int attr_read_fd(int fd, struct latch_attr *a);
/* The same for path (following symbolic links). */
int attr_read_path(const char *path, struct latch_attr *a);

/* Read fd's attribute: does it hold a latch (not an acknowledgment)? */
static inline bool attr_latched(int fd, struct latch_attr *a)
{
	return attr_read_fd(fd, a) == 1 && !a->acked;
}

/* Replace a latch on the file by an acknowledgment (a: who and when;
 * a->acked is set here): 0 when done or when the file holds no latch, else
 * the errno. */
int attr_acknowledge_fd(int fd, struct latch_attr *a);
int attr_acknowledge_path(const char *path, struct latch_attr *a);

#endif
