/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sys.h"

static void key_fill(struct file_key *key, const struct statx *stx)
{
	memset(key, 0, sizeof(*key));
	key->kind = KEY_FILE;
	key->dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	key->ino = stx->stx_ino;
	if ((stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx->stx_attributes & STATX_ATTR_MOUNT_ROOT))
		key->flags |= KEYF_MOUNT_ROOT;
	if ((stx->stx_mask & STATX_BTIME) &&
	    (stx->stx_btime.tv_sec != 0 || stx->stx_btime.tv_nsec != 0)) {
		key->btime_sec = stx->stx_btime.tv_sec;
		key->btime_nsec = stx->stx_btime.tv_nsec;
		key->flags |= KEYF_BTIME;
	}
}

void key_add_generation(struct file_key *key, int fd)
{
	unsigned int gen;

	if (key->flags & KEYF_GEN)
		return;
	if (ioctl(fd, FS_IOC_GETVERSION, &gen) == 0) {
		key->gen = gen;
		key->flags |= KEYF_GEN;
	}
}

int key_from_fd(int fd, struct file_key *key)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_BTIME, &stx) != 0)
		return -1;
	key_fill(key, &stx);
	if (!(key->flags & KEYF_BTIME))
		key_add_generation(key, fd);
	return 0;
}

int key_from_path(const char *path, struct file_key *key)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, 0, STATX_INO | STATX_BTIME, &stx) != 0)
		return -1;
	key_fill(key, &stx);
	if (!(key->flags & KEYF_BTIME)) {
		int fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);

		if (fd >= 0) {
			key_add_generation(key, fd);
			sys_close(fd);
		}
	}
	return 0;
}

void key_fs_of(const struct file_key *file, struct file_key *fs)
{
	memset(fs, 0, sizeof(*fs));
	fs->kind = KEY_FS;
	fs->dev = file->dev;
}

/* struct fsuuid2 and FS_IOC_GETFSUUID of <linux/fs.h> since Linux 6.5,
 * spelt out for older headers. */
struct fs_uuid {
	uint8_t len;
	uint8_t uuid[16];
};
#define KEY_FS_IOC_GETFSUUID _IOR(0x15, 0, struct fs_uuid)

void key_fs_of_fd(int fd, const struct file_key *file, struct file_key *fs)
{
	struct fs_uuid u = {.len = sizeof(u.uuid)};
	uint64_t half[2];
	int saved = errno, ret;

	key_fs_of(file, fs);
	if (fd < 0)
		return;
	ret = ioctl(fd, KEY_FS_IOC_GETFSUUID, &u);
	errno = saved;
	if (ret != 0 || u.len != sizeof(u.uuid))
		return;
	memcpy(half, u.uuid, sizeof(half));
	if (half[0] == 0 && half[1] == 0)
		return; /* a filesystem made without one */
	fs->ino = half[0];
	fs->btime_sec = (int64_t)half[1];
	fs->flags |= KEYF_FSUUID;
}
