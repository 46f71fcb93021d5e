#!/usr/bin/env bash
# The examples do what they say.
. test/integration/lib.sh

test_ack_example_rebuilds_and_acknowledges() {
	out=$(shim FAULT_PATH=ledger STICKYSYNC_LOG=off "$TOP/$BUILD/ack_example" "$T/ledger" 2>&1)
	expect_grep "$out" "sync of $T/ledger failed: Input/output error; rebuilding it"
	expect_grep "$out" "first failure: EIO in fsync by pid [0-9]+"
	expect_line "$out" "rebuilt and acknowledged"
	# acknowledged: a later process syncs the file normally
	out=$(shim_only "$PROBE" open h1 "$T/ledger" rw fsync h1)
	expect_line "$out" "fsync h1 = 0"
}

test_ack_example_without_the_shim() {
	out=$("$TOP/$BUILD/ack_example" "$T/ledger")
	expect_line "$out" "synced"
}

test_demo_without_root_uses_the_injector() {
	[ -x "$CLI" ] || skip "the stickysync command is not built"
	out=$(STICKYSYNC_DEMO=inject bash examples/demo.sh "$BUILD" 2>&1)
	expect_grep "$out" "fsync again \(the retry\): +0 \(success\)"
	expect_grep "$out" "fsync again \(the retry\): +-1 EIO"
	# read back in both halves: the loss is the same, only the answer differs
	[ "$(grep -c "B was written over A; 4 MiB of it now read back as zeros" <<<"$out")" = 2 ]
	expect_grep "$out" "returns EIO: the file lost data"
}

run_tests
