/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The guest of the qemu-guest scenario: a static /init for a minimal
 * initramfs.  It loads the virtio block driver (the modules named on the
 * kernel command line as mods=a,b,..., found in /lib), then, on /dev/vda,
 * plays the seed's story through the guest's page cache:
 *
 *   1 MiB of A written and fsynced; 64 MiB of B written and fsynced (the
 *   host's thin storage fills up: this flush fails); 4 KiB of C written at
 *   offset 0 and fsynced, twice: the retries.
 *
 * Each step prints "guest STEP RESULT" on the console (0 or an errno name),
 * then the guest powers off.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char mib[1 << 20];

static void say(const char *step, int err)
{
	printf("guest %s %s\n", step, err ? strerrorname_np(err) : "0");
	fflush(stdout);
}

static void load_modules(const char *list)
{
	char name[64], path[128];

	while (list && *list) {
		size_t n = strcspn(list, ",");
		int fd;

		snprintf(name, sizeof(name), "%.*s", (int)n, list);
		snprintf(path, sizeof(path), "/lib/%s.ko", name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0)
			printf("guest: module %s: %s\n", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		list += n + (list[n] == ',');
	}
}

/* The disk appears once its driver has probed it. */
static int open_disk(void)
{
	for (int i = 0; i < 100; i++) {
		int fd = open("/dev/vda", O_RDWR | O_CLOEXEC);

		if (fd >= 0)
			return fd;
		usleep(100000);
	}
	return -1;
}

/* Write mib MiB of byte at offset off (MiB), then fsync: the errno, or 0. */
static int write_sync(int fd, int byte, off_t off, size_t len)
{
	memset(mib, byte, sizeof(mib));
	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof(mib) ? len - done : sizeof(mib);

		if (pwrite(fd, mib, n, off + (off_t)done) != (ssize_t)n)
			return errno;
		done += n;
	}
	return fsync(fd) ? errno : 0;
}

int main(void)
{
	int fd;

	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	printf("\n"); /* after whatever the firmware left on the console's line */
	load_modules(getenv("mods"));
	fd = open_disk();
	if (fd < 0) {
		printf("guest: no /dev/vda: %s\n", strerror(errno));
	} else {
		say("write-A+fsync", write_sync(fd, 'A', 0, 1 << 20));
		say("write-B+fsync", write_sync(fd, 'B', 0, 64 << 20));
		say("write-C+fsync", write_sync(fd, 'C', 0, 4096));
		say("write-C+fsync-again", write_sync(fd, 'C', 4096, 4096));
		close(fd);
	}
	printf("guest done\n");
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
