#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# A qcow2 disk image under stickysync, with qemu-io standing in for a VM.
#
#   examples/qemu.sh [BUILD]        (BUILD: the build folder, default build;
#                                    else the stickysync on PATH)
#
# QEMU already makes every later flush of an image fail once one fdatasync
# failed -- but only for the life of the process.  Restart the VM (here: a
# new qemu-io) and, on plain Linux, its flushes succeed: the kernel reported
# the error once and forgot it.  stickysync keeps the latch in its state
# folder, so the restarted process fails too until the operator has checked
# the image and run `stickysync ack` -- the way to acknowledge for a program
# that cannot call the API.
#
# With aio=io_uring QEMU submits IORING_OP_FSYNC itself: no libc call, so no
# library can see it.  Use aio=threads (the default) or aio=native.
set -eu
BUILD=${1:-build}
STICKYSYNC=${STICKYSYNC:-$BUILD/stickysync}
for p in qemu-img qemu-io; do
	command -v $p >/dev/null || { echo "$p is not installed (apt-get install qemu-utils)" >&2; exit 1; }
done
[ -x "$STICKYSYNC" ] || STICKYSYNC=$(command -v stickysync) ||
	{ echo "no $BUILD/stickysync and no stickysync on PATH: run make first" >&2; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/stickysync-qemu.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
IMG=$DIR/disk.qcow2
export STICKYSYNC_STATE="$DIR/state"

# vm POLICY [stickysync run options]: one "boot" of the VM: write, flush.
vm() {
	policy=$1
	shift
	if "$STICKYSYNC" run --policy "$policy" --log "$DIR/log" "$@" -- \
		qemu-io -f qcow2 -c 'write -P 0xaa 0 64k' -c flush "$IMG" >"$DIR/out" 2>&1; then
		echo "   flush: ok"
	else
		echo "   flush: FAILED ($(grep -m1 -i 'error' "$DIR/out"))"
	fi
}

# The first fdatasync of the image fails (an injected EIO).
FAULT='op=fdatasync,path=*.qcow2,nth=1'

echo "== plain Linux semantics (--policy observe)"
qemu-img create -q -f qcow2 "$IMG" 64M
echo " boot 1, the disk fails once:"
vm observe --state off --inject "$FAULT"
echo " boot 2 (a new process):"
vm observe --state off
echo "   -> the restarted VM is told its data is safe."

echo
echo "== stickysync"
rm -f "$IMG"
qemu-img create -q -f qcow2 "$IMG" 64M
echo " boot 1, the disk fails once:"
vm sticky --inject "$FAULT"
echo " boot 2 (a new process):"
vm sticky
echo "   -> still failing: the loss is not forgotten."
"$STICKYSYNC" status | sed 's/^/   /'
echo
echo " the operator checks the image and acknowledges:"
qemu-img check -q "$IMG" && echo "   qemu-img check: no errors"
"$STICKYSYNC" ack "$IMG" | sed 's/^/   /'
echo " boot 3:"
vm sticky
