#!/usr/bin/env bash
# libaio: IOCB_CMD_FSYNC/FDSYNC through io_submit latch from io_getevents
# results, and later ones of a latched file report -EIO.
. test/integration/lib.sh

AIO="$TOP/$BUILD/test/aioprobe"

# aio [VAR=value...] -- OP...: aioprobe on $T/f under the shim.
aio() {
	local vars=()
	while [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	timeout 60 env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB" "${vars[@]}" "$AIO" "$T/f" "$@"
}

need_aio() {
	[ -x "$AIO" ] || skip "no aioprobe (libaio-dev was not installed when the helpers were built)"
}

test_failed_aio_fsync_latches_later_ones_eio() {
	need_aio
	out=$(aio STICKYSYNC_INJECT='op=fsync,errno=ENOSPC' -- write fsync fsync fdatasync dsyncwrite write 2>&1)
	expect_eq "$(grep -v '^stickysync' <<<"$out" | tr '\n' ' ')" \
		"write = 4096 fsync = -28 ENOSPC fsync = -5 EIO fdatasync = -5 EIO dsyncwrite = -5 EIO write = 4096 "
	expect_grep "$out" "^stickysync: aioprobe\[[0-9]+\]: fsync\(fd [0-9]+, $T/f\) failed: ENOSPC"
}

test_observe_leaves_aio_results_alone() {
	need_aio
	out=$(aio STICKYSYNC_LOG=off STICKYSYNC_POLICY=observe STICKYSYNC_INJECT='op=fdatasync' -- fdatasync fdatasync)
	expect_eq "$(tr '\n' ' ' <<<"$out")" "fdatasync = -5 EIO fdatasync = 0 "
}

# Shared with libc syncs in other processes, both ways, until acknowledged.
test_aio_latch_is_shared_and_acknowledged() {
	need_aio
	aio STICKYSYNC_LOG=off STICKYSYNC_INJECT='op=fsync' -- fsync >/dev/null
	out=$(shim_only STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rw fsync h1)
	expect_line "$out" "fsync h1 = -1 EIO"
	"$CLI" ack --state "$STICKYSYNC_STATE" "$T/f" >/dev/null
	out=$(aio STICKYSYNC_LOG=off -- fsync)
	expect_line "$out" "fsync = 0"
	shim FAULT_PATH=f "$PROBE" open h1 "$T/f" rw fsync h1 >/dev/null 2>&1
	out=$(aio STICKYSYNC_LOG=off -- fdatasync)
	expect_line "$out" "fdatasync = -5 EIO"
}

run_tests
