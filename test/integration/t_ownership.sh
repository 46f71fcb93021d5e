#!/usr/bin/env bash
# Who owns an fd table entry: fd numbers reused across threads, vfork
# children, fds the shim did not see opened, and fd 2 reused for data.
. test/integration/lib.sh

FDCHECK="$TOP/$BUILD/test/fdcheck"

# fdcheck MODE with the injector failing the first fsync of files whose path
# holds FAULT (reports off unless LOG is given); the mode must say "ok".
check_mode() {
	local mode=$1 fault=$2 dir=${3:-$T} log=${LOG-off}
	shift 3 2>/dev/null || shift $#
	out=$(shim FAULT_OPS=fsync FAULT_PATH="$fault" FAULT_COUNT="${COUNT:-1}" \
		${log:+STICKYSYNC_LOG=$log} timeout 60 "$FDCHECK" "$mode" "$dir" "$@") || true
	expect_grep "$out" "^$mode ok"
}

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
	check_mode vfork vfork-file
}

test_directory_streams_after_acknowledgment_sync() {
	check_mode opendir /dsub
}

test_raw_fd_on_a_released_number_is_judged_by_facts() {
	check_mode rawreuse rawreuse-file
}

test_reports_never_land_in_a_data_file_on_fd_2() {
	LOG= check_mode stderrfile stderr-data
}

test_vfork_child_never_frees_the_parents_witness_fd() {
	check_mode vforkwitness vwit-file
}

test_fork_child_of_a_thread_that_vforked_keeps_its_fd_table() {
	check_mode forkaftervfork fav-file
}

test_duplicates_of_an_old_unseen_fd_stay_latched() {
	check_mode dupunseen dupunseen-file
}

test_failed_dup2_leaves_the_target_latched() {
	check_mode dup2fail dup2fail-file
}

test_reports_never_land_in_a_data_file_dup_put_on_fd_2() {
	LOG= check_mode dupstderr dupstderr-data
}

test_reports_to_a_broken_pipe_on_fd_2_never_kill_the_program() {
	LOG= check_mode pipestderr pipe-file
}

test_reports_never_land_in_a_data_file_after_close_range_from_0() {
	LOG= check_mode closefromstderr stderr-tmp
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
