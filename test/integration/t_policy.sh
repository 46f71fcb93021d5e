#!/usr/bin/env bash
# STICKYSYNC_POLICY: sticky (the other tests), failstop, abort, observe.
. test/integration/lib.sh

test_failstop_refuses_reads_and_writes() {
	out=$(shim STICKYSYNC_POLICY=failstop "$PROBE" open h1 "$T/f" rwc write h1 A fsync h1 \
		write h1 B read h1 pwrite h1 C 0 ftruncate h1 0 open h2 "$T/g" rwc write h2 ok 2>&1)
	expect_line "$out" "write h1 = -1 EIO"
	expect_line "$out" "read h1 = -1 EIO"
	expect_line "$out" "pwrite h1 = -1 EIO"
	expect_line "$out" "ftruncate h1 = -1 EIO"
	expect_line "$out" "write h2 = 2"
	expect_grep "$out" "later reads, writes and syncs of this file fail with EIO"
	# the refused write never reached the file
	expect_eq "$(cat "$T/f")" "A"
}

test_abort_policy_aborts_after_reporting() {
	set +e
	out=$(shim STICKYSYNC_POLICY=abort "$PROBE" open h1 "$T/f" rwc fsync h1 write h1 never 2>&1)
	rc=$?
	set -e
	expect_eq "$rc" 134 "SIGABRT"
	expect_grep "$out" "fsync\(fd [0-9]+, $T/f\) failed: EIO .*; aborting"
	expect_no_grep "$out" "write h1"
	# A restarted process is aborted too while the file stays latched.
	set +e
	shim_only STICKYSYNC_POLICY=abort "$PROBE" open h1 "$T/f" rw fsync h1 >/dev/null 2>&1
	rc=$?
	set -e
	expect_eq "$rc" 134 "restart"
}

test_observe_changes_nothing_and_flags_the_retry() {
	out=$(shim STICKYSYNC_POLICY=observe "$PROBE" open h1 "$T/f" rwc write h1 A fsync h1 fsync h1 fsync h1 2>&1)
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_count "$out" '^fsync h1 = 0$' 2
	expect_grep "$out" "fsync\(fd [0-9]+, $T/f\) succeeded after an earlier failure \(fsync failed with EIO"
	# one report per fd, not one per call
	expect_count "$out" 'succeeded after' 1
}

test_malformed_policy_falls_back_to_sticky() {
	out=$(shim STICKYSYNC_POLICY=loose "$PROBE" open h1 "$T/f" rwc fsync h1 fsync h1 2>&1)
	expect_grep "$out" 'STICKYSYNC_POLICY="loose" is not one of sticky, failstop, abort, observe; using sticky'
	expect_count "$out" '^fsync h1 = -1 EIO$' 2
}

run_tests
