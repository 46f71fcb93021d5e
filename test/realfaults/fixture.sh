# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# Thin-provisioned filesystem fixtures for the real-fault tests.
#
# A fixture is a filesystem on a loop device whose backing file is a sparse
# 512 MiB image on a *small* tmpfs.  The filesystem believes it has room, the
# page cache accepts writes, and only writeback discovers that the backing
# store is full: the "thinly provisioned backing store" of the 2016
# qemu-block thread, reproduced without device-mapper.
#
# Usage (source this file from bash):
#
#     . test/realfaults/fixture.sh
#     mnt=$(fixture_create ext4 24) || exit   # prints "SKIP: ..." on stderr, returns 77
#     ... use "$mnt" ...
#     fixture_heal "$mnt" 600                  # the operator adds space
#     fixture_destroy "$mnt"                   # or let the EXIT trap do it
#
# Every resource a fixture holds is discoverable from the file system alone
# (a folder per fixture under FIXTURE_ROOT; the loop device is found with
# `losetup -j` on the image), so teardown works even when fixture_create ran in
# a $(...) subshell or was interrupted half-way.  Sourcing installs EXIT, INT,
# TERM and HUP traps that tear down every fixture; a caller that sets its own
# traps must call fixture_destroy_all from them.

# All fixtures of this shell live under one private folder, made now (not on
# first use) so that fixtures created in $(...) subshells land where this
# shell's traps look.
FIXTURE_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/realfaults.XXXXXX") || return 1
# Size of the sparse image: far larger than any tmpfs we put it on, so that the
# filesystem never runs out of space before the backing store does.
FIXTURE_IMAGE_MB=${FIXTURE_IMAGE_MB:-512}

# fixture_unavailable FS: print why FS fixtures cannot be built here, or
# nothing (and return 1) when they can.
fixture_unavailable() {
	local fs=$1 tool
	if [ "$(id -u)" != 0 ]; then
		echo "not root (loop devices and mounts need root)"
		return 0
	fi
	if [ ! -c /dev/loop-control ]; then
		echo "no /dev/loop-control"
		return 0
	fi
	for tool in losetup mount umount mountpoint truncate "mkfs.$fs"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "$tool not installed"
			return 0
		fi
	done
	if ! grep -qw "$fs" /proc/filesystems && ! modprobe -q "$fs" 2>/dev/null; then
		echo "kernel has no $fs support"
		return 0
	fi
	return 1
}

fixture__mkfs() {
	local fs=$1 dev=$2
	case $fs in
	ext4) mkfs.ext4 -q -F "$dev" ;;
	xfs) mkfs.xfs -q -f "$dev" ;;
	btrfs) mkfs.btrfs -q -f "$dev" ;;
	*) "mkfs.$fs" "$dev" ;;
	esac
}

# ext4 zeroes its inode tables lazily, from a kernel thread, a few seconds
# after mounting: on a thin pool that fills the backing store by itself and
# makes every result depend on timing.  noinit_itable keeps that thread away.
fixture__mount_opts() {
	case $1 in
	ext4) echo noinit_itable ;;
	*) echo defaults ;;
	esac
}

# fixture_create FS SIZE_MB: build a thin FS fixture whose backing store holds
# SIZE_MB MiB; print its mount point.  Returns 77 after printing
# "SKIP: <reason>" on stderr when the machine cannot do it, 1 on failure.
fixture_create() {
	local fs=$1 size_mb=$2 reason dir loop
	if reason=$(fixture_unavailable "$fs"); then
		echo "SKIP: $fs fixture: $reason" >&2
		return 77
	fi
	dir=$(mktemp -d "$FIXTURE_ROOT/$fs.XXXXXX") || return 1
	mkdir "$dir/backing" "$dir/mnt" || { fixture_destroy "$dir/mnt"; return 1; }
	echo "$fs" >"$dir/fstype"
	if ! mount -t tmpfs -o "size=${size_mb}m,mode=0700" tmpfs "$dir/backing" ||
		! truncate -s "${FIXTURE_IMAGE_MB}M" "$dir/backing/img" ||
		! loop=$(losetup -f --show "$dir/backing/img") ||
		! fixture__mkfs "$fs" "$loop" >"$dir/mkfs.log" 2>&1 ||
		! mount -t "$fs" -o "$(fixture__mount_opts "$fs")" "$loop" "$dir/mnt"; then
		echo "fixture_create $fs: setup failed (see above; mkfs log: $(cat "$dir/mkfs.log" 2>/dev/null))" >&2
		fixture_destroy "$dir/mnt"
		return 1
	fi
	printf '%s\n' "$dir/mnt"
}

# fixture_backing MNT: the tmpfs folder holding the image (to measure or grow).
fixture_backing() {
	printf '%s\n' "${1%/mnt}/backing"
}

# fixture_heal MNT SIZE_MB: give the backing store SIZE_MB MiB, as an operator
# extending a thin pool would.  Writes after this succeed again.
fixture_heal() {
	mount -o "remount,size=${2}m" "$(fixture_backing "$1")"
}

# fixture_provision_metadata MNT: give the filesystem's fixed metadata areas
# real backing store now.  mkfs.ext4 leaves most of them unwritten (inode
# tables, the bitmaps of unused groups, backup superblocks); when the journal
# later writes one back into a full pool, ext4 aborts the journal and goes
# read-only, and a scenario about a program's data becomes a scenario about
# the filesystem dying.  (Blocks the filesystem allocates later, such as
# extent tree blocks, cannot be provisioned in advance.)  Nothing to do for
# other filesystems.  The pool is grown to the image's size first: shrink it
# afterwards with fixture_set_free.
fixture_provision_metadata() {
	local dir=${1%/mnt} loop bs first last
	[ "$(cat "$dir/fstype")" = ext4 ] || return 0
	fixture_heal "$1" "$FIXTURE_IMAGE_MB" || return 1
	loop=$(losetup -n -O NAME -j "$dir/backing/img" | head -n 1)
	bs=$(dumpe2fs -h "$loop" 2>/dev/null | sed -n 's/^Block size: *//p')
	[ -n "$bs" ] || { echo "fixture_provision_metadata: dumpe2fs $loop failed" >&2; return 1; }
	# "Inode table at 73-584", "Block bitmap at 65 (+65)", ...: block ranges.
	dumpe2fs "$loop" 2>/dev/null |
		grep -oE '(superblock|descriptors|GDT blocks|bitmap|table) at [0-9]+(-[0-9]+)?' |
		sed 's/.* at //' | while IFS=- read -r first last; do
		fallocate -o $((first * bs)) -l $(((${last:-$first} - first + 1) * bs)) \
			"$dir/backing/img" || return 1
	done
}

# fixture_set_free MNT MB: make the backing store exactly MB MiB larger than
# what the image uses now: the room the filesystem really has, whatever mkfs
# and fixture_provision_metadata took.
fixture_set_free() {
	local backing=${1%/mnt}/backing used_kb
	used_kb=$(du -k "$backing/img" | cut -f1)
	mount -o "remount,size=$((used_kb / 1024 + 1 + $2))m" "$backing"
}

# fixture_scratch MNT SIZE_MB: a tmpfs of SIZE_MB next to the fixture, for what
# a scenario keeps on normal storage (a database's log, say): never full,
# and its content is not cache, so drop_caches leaves it alone.  Prints its
# path; fixture_destroy removes it.
fixture_scratch() {
	local dir=${1%/mnt}
	mkdir -p "$dir/scratch" &&
		mount -t tmpfs -o "size=${2}m,mode=0755" tmpfs "$dir/scratch" &&
		printf '%s\n' "$dir/scratch"
}

# fixture_destroy MNT: tear down one fixture, whatever state it is in.  Every
# step is attempted even if an earlier one failed; returns 1 if something could
# not be released (and says what).
fixture_destroy() {
	local dir=${1%/mnt} loop rc=0
	[ -d "$dir" ] || return 0
	if mountpoint -q "$dir/mnt"; then
		# A process that escaped its timeout may still hold the mount: detach
		# lazily rather than leak the loop device and tmpfs.
		umount "$dir/mnt" 2>/dev/null || umount -l "$dir/mnt" || rc=1
	fi
	if [ -e "$dir/backing/img" ]; then
		for loop in $(losetup -n -O NAME -j "$dir/backing/img" 2>/dev/null); do
			losetup -d "$loop" || rc=1
		done
	fi
	if mountpoint -q "$dir/backing"; then
		umount "$dir/backing" 2>/dev/null || umount -l "$dir/backing" || rc=1
	fi
	if mountpoint -q "$dir/scratch"; then
		umount "$dir/scratch" 2>/dev/null || umount -l "$dir/scratch" || rc=1
	fi
	if [ $rc != 0 ]; then
		echo "fixture_destroy: could not fully release $dir" >&2
		return 1
	fi
	# --one-file-system: never reach into a mount that refused to go away.
	rm -rf --one-file-system "$dir"
}

# fixture_destroy_all: tear down every fixture of this shell and the root.
fixture_destroy_all() {
	local dir rc=0
	[ -n "$FIXTURE_ROOT" ] && [ -d "$FIXTURE_ROOT" ] || return 0
	for dir in "$FIXTURE_ROOT"/*/; do
		[ -e "$dir/fstype" ] || [ -d "$dir/mnt" ] || continue
		fixture_destroy "${dir%/}/mnt" || rc=1
	done
	[ $rc = 0 ] && rm -rf --one-file-system "$FIXTURE_ROOT"
	return $rc
}

fixture__on_signal() {
	trap - EXIT INT TERM HUP
	fixture_destroy_all
	exit "$1"
}

trap 'fixture_destroy_all' EXIT
trap 'fixture__on_signal 130' INT
trap 'fixture__on_signal 143' TERM
trap 'fixture__on_signal 129' HUP
