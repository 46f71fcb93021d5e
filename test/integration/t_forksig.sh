#!/usr/bin/env bash
# The shim never hangs its host: a signal handler that writes and syncs
# while the interrupted thread is inside the wrappers, and children forked
# (fork, _Fork, vfork) from threads inside the wrappers, each syncing once,
# with and without STICKYSYNC_INJECT rules.  A hang is a failure, not a
# stuck suite: every run is under timeout.

# fsync on tmpfs costs next to nothing, so the loops go round often enough
# for the signals and forks to land inside the shim's bookkeeping.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	export TMPDIR=/dev/shm
fi
. test/integration/lib.sh

FORKCHECK="$TOP/$BUILD/test/forkcheck"
ATTACHCHECK="$TOP/$BUILD/test/attachcheck"

# The shared table is attached at a process's first sync, with the
# program's signal handlers in place: a handler that syncs meanwhile must
# find the table, and one that jumps out must not leave it half attached.
test_handler_sync_while_the_table_is_attached() {
	echo m >"$T/m"
	echo h >"$T/h"
	out=$(timeout -s KILL 60 env LD_PRELOAD="$LIB $FAULTLIB" FAULT_PATH="$T/h" STICKYSYNC_LOG=off \
		"$ATTACHCHECK" signal "$T/state" "$T/m" "$T/h")
	expect_line "$out" "main fsync = 0; handler fsync = -1 EIO"
	out=$(shim_only STICKYSYNC_LOG=off "$PROBE" open h1 "$T/h" rw fsync h1)
	expect_line "$out" "fsync h1 = -1 EIO"
}

test_handler_jumps_out_of_the_first_sync() {
	echo f >"$T/f"
	out=$(timeout -s KILL 20 env LD_PRELOAD="$LIB" STICKYSYNC_LOG=off \
		"$ATTACHCHECK" jump "$T/state" "$T/f") || true
	expect_line "$out" "other thread: fsync = 0"
}

# forkcheck_with RULES ARGS...: forkcheck under the shim with these rules.
forkcheck_with() {
	local rules=$1
	shift
	timeout -s KILL 60 env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB" \
		STICKYSYNC_LOG="$T/log" STICKYSYNC_INJECT="$rules" "$FORKCHECK" "$@"
}

# forkcheck_ok RULES ARGS...: forkcheck must finish, and say ok.
forkcheck_ok() {
	local out rc=0
	out=$(forkcheck_with "$@") || rc=$?
	echo "$out"
	[ $rc -ne 137 ] || { echo "    forkcheck $2 hung: killed by the timeout"; return 1; }
	[ $rc -eq 0 ] || { echo "    forkcheck $2 exited $rc"; return 1; }
	grep -qE "^$2 ok: " <<<"$out"
}

# 1,000 forks from two threads: fork, _Fork and vfork.  The sanitizer pass
# looks for memory errors, which the first rounds show, and hangs are the
# plain pass's to find: there, a third as many (forks of a sanitized
# process cost several times as much).
thousand_forks_with() {
	local d=1
	[ -z "${SANITIZER_PRELOAD:-}" ] || d=3
	forkcheck_ok "$1" fork "$T" $((350 / d)) 2 fork
	forkcheck_ok "$1" fork "$T" $((350 / d)) 2 _Fork
	forkcheck_ok "$1" fork "$T" $((300 / d)) 2 vfork
}

# Rules that name the files but never fire: the injector is on for them.
NEVER='nth=1000000000'

test_signal_handler_syncs_without_rules() {
	forkcheck_ok "" signal "$T" 1
}

test_signal_handler_syncs_with_rules() {
	forkcheck_ok "op=fsync,path=*/sig-*,$NEVER;op=close,path=*/elsewhere" signal "$T" 1
}

# The interrupted thread records for lose=; the handler's file is not named.
test_signal_handler_syncs_while_its_thread_records_for_lose() {
	forkcheck_ok "op=fsync,path=*/sig-main,$NEVER,lose=old" signal "$T" 1
}

# Both files are named: a handler that interrupts a recording skips its own
# and says so, at most once.
test_signal_handler_records_while_its_thread_records_for_lose() {
	forkcheck_ok "op=fsync,path=*/sig-*,$NEVER,lose=zero" signal "$T" 1
	# each reason for a skipped recording is said once, however often it happens
	dup=$(grep -o 'lose=: .*' "$T/log" 2>/dev/null | sort | uniq -d)
	[ -z "$dup" ] || { echo "    a skipped recording reported more than once: $dup"; return 1; }
}

# Deterministic: a thread stopped for good inside the undo store.  The main
# thread syncs a file no lose= rule names; fork, _Fork and vfork children sync
# both files.
test_nothing_waits_for_a_thread_stopped_inside_the_undo_store() {
	local out rc=0
	out=$(forkcheck_with "op=fsync,path=*/lose-me,$NEVER,lose=old;op=fsync,path=*/other,$NEVER" \
		stuck "$T") || rc=$?
	echo "$out"
	[ $rc -ne 77 ] || skip "$(sed -n 's/^stuck SKIP: //p' <<<"$out")"
	[ $rc -ne 137 ] || { echo "    forkcheck stuck hung: killed by the timeout"; return 1; }
	[ $rc -eq 0 ] || { echo "    forkcheck stuck exited $rc"; return 1; }
	expect_line "$out" "stuck ok"
}

test_thousand_forks_from_threads_without_rules() {
	thousand_forks_with ""
}

test_thousand_forks_from_threads_with_rules() {
	thousand_forks_with "op=fsync,path=*/w*,$NEVER;op=write,path=*/elsewhere"
}

test_thousand_forks_from_threads_with_a_lose_rule() {
	thousand_forks_with "op=fsync,path=*/w*,$NEVER,lose=old"
}

run_tests
