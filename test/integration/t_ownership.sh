#!/usr/bin/env bash
# Who owns an fd table entry: fd numbers reused across threads, vfork
# children, fds the shim did not see opened, and fd 2 reused for data.
. test/integration/lib.sh

FDCHECK="$TOP/$BUILD/test/fdcheck"

# Syncs on tmpfs cost nothing, so the race gets many tries.
fast_dir() {
	if [ -d /dev/shm ] && [ -w /dev/shm ]; then
		D=$(mktemp -d /dev/shm/stickysync-test.XXXXXX)
	else
		D="$T"
	fi
}

test_fd_numbers_reused_across_threads_never_fail_a_sync() {
	fast_dir
	out=$(shim FAULT_OPS=fsync FAULT_PATH=reuse- FAULT_COUNT=3 STICKYSYNC_LOG=off \
		timeout 60 "$FDCHECK" reuse "$D" 3) || true
	[ "$D" = "$T" ] || rm -rf "$D"
	expect_grep "$out" "^reuse ok: [0-9]+ fsyncs, 0 spurious EIO$"
}

test_vfork_child_leaves_the_parents_verdicts_alone() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=vfork-file FAULT_COUNT=1 STICKYSYNC_LOG=off \
		timeout 60 "$FDCHECK" vfork "$T") || true
	expect_grep "$out" "^vfork ok"
}

test_directory_streams_after_acknowledgment_sync() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=/dsub FAULT_COUNT=1 STICKYSYNC_LOG=off \
		timeout 60 "$FDCHECK" opendir "$T") || true
	expect_grep "$out" "^opendir ok"
}

test_raw_fd_on_a_released_number_is_judged_by_facts() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=rawreuse-file FAULT_COUNT=1 STICKYSYNC_LOG=off \
		timeout 60 "$FDCHECK" rawreuse "$T") || true
	expect_grep "$out" "^rawreuse ok"
}

test_reports_never_land_in_a_data_file_on_fd_2() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=stderr-data FAULT_COUNT=1 \
		timeout 60 "$FDCHECK" stderrfile "$T") || true
	expect_grep "$out" "^stderrfile ok"
}

test_vfork_child_never_frees_the_parents_witness_fd() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=vwit-file FAULT_COUNT=1 STICKYSYNC_LOG=off \
		timeout 60 "$FDCHECK" vforkwitness "$T") || true
	expect_grep "$out" "^vforkwitness ok"
}

test_fork_child_of_a_thread_that_vforked_keeps_its_fd_table() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=fav-file FAULT_COUNT=1 STICKYSYNC_LOG=off \
		timeout 60 "$FDCHECK" forkaftervfork "$T") || true
	expect_grep "$out" "^forkaftervfork ok"
}

test_duplicates_of_an_old_unseen_fd_stay_latched() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=dupunseen-file FAULT_COUNT=1 STICKYSYNC_LOG=off \
		timeout 60 "$FDCHECK" dupunseen "$T") || true
	expect_grep "$out" "^dupunseen ok"
}

test_failed_dup2_leaves_the_target_latched() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=dup2fail-file FAULT_COUNT=1 STICKYSYNC_LOG=off \
		timeout 60 "$FDCHECK" dup2fail "$T") || true
	expect_grep "$out" "^dup2fail ok"
}

test_reports_never_land_in_a_data_file_dup_put_on_fd_2() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=dupstderr-data FAULT_COUNT=1 \
		timeout 60 "$FDCHECK" dupstderr "$T") || true
	expect_grep "$out" "^dupstderr ok"
}

test_reports_to_a_broken_pipe_on_fd_2_never_kill_the_program() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=pipe-file FAULT_COUNT=1 \
		timeout 60 "$FDCHECK" pipestderr "$T") || true
	expect_grep "$out" "^pipestderr ok"
}

test_reports_never_land_in_a_data_file_after_close_range_from_0() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=stderr-tmp FAULT_COUNT=1 \
		timeout 60 "$FDCHECK" closefromstderr "$T") || true
	expect_grep "$out" "^closefromstderr ok"
}

# /etc/ld.so.preload naming the installed library and LD_PRELOAD a build of
# it: two copies, each wrapping the other.
test_library_loaded_twice_never_relatches_on_its_own_refusal() {
	cp "$LIB" "$T/libstickysync-copy.so"
	out=$(env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB $T/libstickysync-copy.so $FAULTLIB" \
		FAULT_OPS=fsync FAULT_PATH=wref-file FAULT_COUNT=1 STICKYSYNC_LOG=off \
		timeout 60 "$FDCHECK" witnessrefusal "$T") || true
	expect_grep "$out" "^witnessrefusal ok"
}

test_fd_replaced_by_dup2_while_another_thread_syncs_never_fails() {
	fast_dir
	out=$(shim FAULT_OPS=fsync FAULT_PATH=swap-file FAULT_COUNT=1 STICKYSYNC_LOG=off \
		timeout 60 "$FDCHECK" swap "$D" 2) || true
	[ "$D" = "$T" ] || rm -rf "$D"
	expect_grep "$out" "^swap ok: [0-9]+ fsyncs, 0 spurious EIO$"
}

test_fds_above_the_table_sync_after_acknowledgment() {
	out=$(shim FAULT_OPS=fsync FAULT_PATH=highfd-file FAULT_COUNT=1 STICKYSYNC_LOG=off \
		timeout 60 "$FDCHECK" highfd "$T") || true
	if grep -q "^highfd SKIP" <<<"$out"; then
		skip "$(sed -n 's/^highfd SKIP: //p' <<<"$out")"
		return
	fi
	expect_grep "$out" "^highfd ok"
}

run_tests
