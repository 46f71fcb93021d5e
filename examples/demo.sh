#!/usr/bin/env bash
# make demo: the loss Linux hides, and stickysync catching it.
#
# As root with loop devices: a real thin-provisioned ext4 (loop device over a
# 24 MiB tmpfs, the real-fault tests' fixture) runs out of space during
# writeback.  Otherwise the shim's fault injector makes the same failure and
# loses the data the same way.
set -eu
BUILD=${1:-build}
LIB=$(readlink -f "$BUILD/libstickysync.so")
CLI=$(readlink -f "$BUILD/stickysync")
[ -x "$CLI" ] || CLI=$(command -v stickysync) || CLI=$BUILD/stickysync
PROG=$(readlink -f "$BUILD/losedata")
# shellcheck source=test/realfaults/fixture.sh
. test/realfaults/fixture.sh
WORK=$(mktemp -d "${TMPDIR:-/tmp}/stickysync-demo.XXXXXX")
trap 'fixture_destroy_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

if [ "${STICKYSYNC_DEMO:-}" != inject ] && [ -z "$(fixture_unavailable ext4)" ]; then
	echo "A thin-provisioned ext4 (loop device, 512 MiB on a 24 MiB tmpfs) runs out of space in writeback."
	# a fresh filesystem for each run, made just before it
	MIB=64
	run_plain() { mnt=$(fixture_create ext4 24) && "$PROG" "$mnt/file" $MIB; }
	run_shim() {
		mnt=$(fixture_create ext4 24) &&
			STICKYSYNC_STATE="$WORK/state" STICKYSYNC_LOG="$WORK/log" LD_PRELOAD="$LIB" \
				"$PROG" "$mnt/file" $MIB
	}
	settle() { sync; echo 3 >/proc/sys/vm/drop_caches; }
else
	mkdir "$WORK/mnt"
	echo "Not root (or no loop device): the shim's injector fails the second fsync and zeroes the"
	echo "unsynced writes, as thin ext4 does. Run 'sudo make demo' to see the real kernel do it."
	mnt=$WORK/mnt
	MIB=4
	# observe: results untouched, i.e. plain Linux semantics plus the loss
	run_plain() { "$CLI" run --policy observe --log off --state "$WORK/state0" \
		--inject 'op=fsync,nth=2,errno=ENOSPC,lose=zero' -- "$PROG" "$mnt/plain" $MIB; }
	run_shim() { rm -f "$mnt"/*; "$CLI" run --log "$WORK/log" --state "$WORK/state" \
		--inject 'op=fsync,nth=2,errno=ENOSPC,lose=zero' -- "$PROG" "$mnt/shim" $MIB; }
	settle() { :; }
fi

echo
echo "Plain Linux:"
run_plain
settle
file=$(ls "$mnt"/* | head -n 1)
"$PROG" --read "$file" $MIB
echo "  => the retry reported success, yet the data is gone."
echo
echo "With stickysync:"
run_shim || true
settle
file=$(ls "$mnt"/* | head -n 1)
"$PROG" --read "$file" $MIB
echo "  => the same loss, but the retry failed: the program learns its data is gone."
echo "  The report says why:"
sed 's/^/  | /' "$WORK/log"
