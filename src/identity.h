/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * A file's identity, stable across restarts and reboots.
 *
 * (st_dev, st_ino) is not enough: device numbers change between boots (loop
 * devices, disk order) and inode numbers come back when a file is deleted and
 * recreated or a filesystem is made anew.  The inode's birth time, to the
 * nanosecond, tells those apart, so when the filesystem reports it the key is
 * (ino, birth time) and the device number is not compared.  Where there is no
 * birth time the key falls back to (dev, ino, inode generation).
 *
 * Birth times come from the kernel's coarse clock (a few milliseconds), so a
 * file deleted and recreated within one tick can get the same inode and birth
 * time.  Recorded latches therefore also carry the generation where the
 * filesystem has one, and a lookup that finds such a record fetches the
 * generation of the file at hand before trusting the match: the extra system
 * call is paid only by files that look latched.
 */
#ifndef STICKYSYNC_IDENTITY_H
#define STICKYSYNC_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

enum key_kind {
	KEY_FILE = 1,
	/* A whole filesystem, after a failed syncfs: its UUID where it has one
	 * (KEYF_FSUUID), which survives a renumbered device (a loop image
	 * attached elsewhere, disks probed in another order); else dev. */
	KEY_FS = 2,
};

struct file_key {
	uint64_t dev; /* st_dev of the filesystem, as makedev() */
	uint64_t ino; /* KEY_FS with KEYF_FSUUID: the UUID, in ino and btime_sec */
	int64_t btime_sec;
	uint32_t btime_nsec;
	uint32_t gen;	/* inode generation, when there is no birth time */
	uint32_t kind;	/* enum key_kind */
	uint32_t flags; /* KEYF_* */
};

#define KEYF_BTIME 1u	   /* btime_* are valid */
#define KEYF_GEN 2u	   /* gen is valid */
#define KEYF_MOUNT_ROOT 4u /* the file is the root of its filesystem's mount */
/* Recorded latches only: the latch was also written on the file (attr.h),
 * so that its attribute's removal elsewhere acknowledges it here too. */
#define KEYF_ATTR 8u
#define KEYF_FSUUID 16u /* KEY_FS: the filesystem's UUID is in ino and btime_sec */

/* Identity of an open fd; -1 with errno on failure.  One system call when the
 * filesystem reports birth times, two otherwise. */
int key_from_fd(int fd, struct file_key *key);
/* Identity of the file at path (following symlinks). */
int key_from_path(const char *path, struct file_key *key);
/* Add the inode generation, where the filesystem has one (an ioctl). */
void key_add_generation(struct file_key *key, int fd);
/* Does acknowledging this file acknowledge its whole filesystem too?  Only
 * its root does: a failed syncfs lost data of unknown files. */
static inline bool key_is_mount_root(const struct file_key *key)
{
	return key->flags & KEYF_MOUNT_ROOT;
}

/* Identity of the filesystem holding file, by its device number alone. */
void key_fs_of(const struct file_key *file, struct file_key *fs);
/* The same, with the filesystem's UUID where fd's filesystem reports one
 * (FS_IOC_GETFSUUID, Linux 6.5: ext4, xfs, btrfs, tmpfs...; one ioctl). */
void key_fs_of_fd(int fd, const struct file_key *file, struct file_key *fs);

static inline bool key_equal(const struct file_key *a, const struct file_key *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == KEY_FS) {
		if ((a->flags & KEYF_FSUUID) && (b->flags & KEYF_FSUUID))
			return a->ino == b->ino && a->btime_sec == b->btime_sec;
		return a->dev == b->dev; /* one side has no UUID: the device */
	}
	if (a->ino != b->ino)
		return false;
	if ((a->flags & KEYF_GEN) && (b->flags & KEYF_GEN) && a->gen != b->gen)
		return false;
	if ((a->flags & KEYF_BTIME) && (b->flags & KEYF_BTIME))
		return a->btime_sec == b->btime_sec && a->btime_nsec == b->btime_nsec;
	/* One side has no birth time (an msync key from /proc/self/maps, or a
	 * filesystem without btime): fall back to the device. */
	return a->dev == b->dev;
}

/* The hash covers only what every kind of key has in common, so that keys
 * compared by different rules land in the same probe sequence: the inode
 * number of a file; nothing of a filesystem (a filesystem compared by UUID
 * on one side and by device on the other), whose few records share one
 * sequence. */
static inline uint64_t key_hash(const struct file_key *key)
{
	uint64_t h = key->kind == KEY_FS ? 0 : key->ino;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

#endif
