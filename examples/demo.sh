#!/bin/sh
# make demo: the loss Linux hides, and stickysync catching it.
#
# As root with loop devices: a real thin-provisioned ext4 (loop device over a
# 24 MiB tmpfs) runs out of space during writeback.  Otherwise the shim's
# fault injector makes the same failure and loses the data the same way.
set -eu
BUILD=${1:-build}
LIB=$(readlink -f "$BUILD/libstickysync.so")
CLI=$(readlink -f "$BUILD/stickysync")
PROG=$(readlink -f "$BUILD/losedata")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/stickysync-demo.XXXXXX")
LOOPS=
cleanup() {
	for n in 1 2; do
		umount "$WORK/mnt$n" 2>/dev/null || true
	done
	for l in $LOOPS; do
		losetup -d "$l" 2>/dev/null || true
	done
	for n in 1 2; do
		umount "$WORK/backing$n" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# What reads back from the file: KiB of A, B and zeros, and whether the
# read failed part way.
content() {
	od -An -v -tx1 "$1" 2>"$WORK/od.err" | tr -s ' ' '\n' | awk '
		$1 == "41" { a++ } $1 == "42" { b++ } $1 == "00" { z++ }
		END { printf "%d KiB of A, %d KiB of B, %d KiB of zeros", a/1024, b/1024, z/1024 }'
	if [ -s "$WORK/od.err" ]; then
		printf ', then a read error'
	fi
}

# A fresh thin-provisioned ext4 for run N; prints its mount point.
thin_fs() {
	mkdir -p "$WORK/backing$1" "$WORK/mnt$1"
	mount -t tmpfs -o size=24m tmpfs "$WORK/backing$1"
	truncate -s 512M "$WORK/backing$1/img"
	loop=$(losetup -f --show "$WORK/backing$1/img")
	LOOPS="$LOOPS $loop"
	mkfs.ext4 -q "$loop"
	mount -o errors=continue "$loop" "$WORK/mnt$1"
}

real_storage() {
	[ "${STICKYSYNC_DEMO:-}" != inject ] &&
	[ "$(id -u)" = 0 ] && [ -e /dev/loop-control ] && command -v mkfs.ext4 >/dev/null
}

if real_storage; then
	thin_fs 1
	thin_fs 2
	echo "A thin-provisioned ext4 (loop device, 512 MiB on a 24 MiB tmpfs) runs out of space in writeback."
	run_plain() { "$PROG" "$1" 64; }
	run_shim() { STICKYSYNC_STATE="$WORK/state" STICKYSYNC_LOG="$WORK/log" LD_PRELOAD="$LIB" "$PROG" "$1" 64; }
	settle() { sync; echo 3 >/proc/sys/vm/drop_caches; }
else
	mkdir "$WORK/mnt1" "$WORK/mnt2"
	echo "Not root (or no loop device): the shim's injector fails the second fsync and zeroes the"
	echo "unsynced writes, as thin ext4 does. Run 'sudo make demo' to see the real kernel do it."
	# observe: results untouched, i.e. plain Linux semantics plus the loss
	run_plain() { "$CLI" run --policy observe --log off --state "$WORK/state0" \
		--inject 'op=fsync,nth=2,errno=ENOSPC,lose=zero' -- "$PROG" "$1" 4; }
	run_shim() { "$CLI" run --log "$WORK/log" --state "$WORK/state" \
		--inject 'op=fsync,nth=2,errno=ENOSPC,lose=zero' -- "$PROG" "$1" 4; }
	settle() { :; }
fi

echo
echo "Plain Linux:"
run_plain "$WORK/mnt1/file"
settle
echo "  reading it back: $(content "$WORK/mnt1/file")"
echo "  => the retry reported success, yet the data is gone."
echo
echo "With stickysync:"
run_shim "$WORK/mnt2/file" || true
echo "  the retry fails: the program learns its data is gone; the report says why:"
sed 's/^/  | /' "$WORK/log"
