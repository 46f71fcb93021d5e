#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# The qemu-guest scenario's guest: a Debian kernel and a minimal initramfs
# holding the static init (init.c) and the virtio block modules.
#
#   make-guest.sh OUT INIT     OUT/vmlinuz, OUT/initrd.gz, OUT/mods (the
#                              modules' load order, for the command line)
#
# The kernel comes from GUEST_KERNEL_DEB (a linux-image-*.deb), else from
# `apt-get download` of the package linux-image-cloud-amd64 depends on:
# it is unpacked, never installed.  On failure the last line says why, and
# the exit status is 77 (the scenario is skipped).
set -u
OUT=$1 INIT=$2
MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk"

fail() { echo "make-guest: $*"; exit 77; }

[ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.gz" ] && [ -s "$OUT/mods" ] && exit 0
mkdir -p "$OUT/pkg" "$OUT/root/dev" "$OUT/root/proc" "$OUT/root/lib" || fail "cannot create $OUT"
deb=${GUEST_KERNEL_DEB:-}
if [ -z "$deb" ]; then
	command -v apt-get >/dev/null || fail "no GUEST_KERNEL_DEB and no apt-get to fetch a kernel"
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || fail "no linux-image-cloud-amd64 in the package lists"
	(cd "$OUT/pkg" && apt-get download "$pkg" >/dev/null 2>&1) || fail "apt-get download $pkg failed"
	deb=$(find "$OUT/pkg" -maxdepth 1 -name 'linux-image-*.deb' | head -1)
fi
[ -f "$deb" ] || fail "no kernel package ($deb)"
dpkg-deb -x "$deb" "$OUT/pkg/x" || fail "cannot unpack $deb"
cp "$OUT"/pkg/x/boot/vmlinuz-* "$OUT/vmlinuz" || fail "no vmlinuz in $deb"
for m in $MODS; do
	ko=$(find "$OUT/pkg/x/lib/modules" -name "$m.ko" | head -1)
	[ -n "$ko" ] || fail "no $m.ko in $deb"
	cp "$ko" "$OUT/root/lib/"
done
cp "$INIT" "$OUT/root/init" || fail "no $INIT"
command -v busybox >/dev/null || fail "busybox not installed (busybox-static): no cpio to pack the initramfs"
(cd "$OUT/root" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip >"$OUT/initrd.gz" ||
	fail "cannot pack the initramfs"
echo "$MODS" | tr ' ' ',' >"$OUT/mods"
rm -rf "$OUT/pkg"
