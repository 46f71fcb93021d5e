#!/usr/bin/env bash
# What a wrapper owes the program: errno, threads, signals, fds, early calls,
# and an export list of nothing but the interposed names and the API.
. test/integration/lib.sh

WRAPCHECK="$TOP/$BUILD/test/wrapcheck"

test_errno_preserved() {
	out=$(shim_only "$WRAPCHECK" errno "$T")
	expect_line "$out" "errno ok"
}

test_threads_latch_only_their_file() {
	out=$(shim FAULT_PATH=t0- STICKYSYNC_LOG=off "$WRAPCHECK" threads "$T" 8)
	expect_line "$out" "threads ok: 8 threads, 0 unexpected results"
}

test_signal_handler_writes_and_syncs() {
	out=$(timeout 60 env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB" "$WRAPCHECK" signal "$T")
	expect_grep "$out" "^signal ok: [0-9]+ handler runs$"
}

test_no_fd_left_behind() {
	out=$(shim FAULT_PATH=leak STICKYSYNC_LOG="$T/log" "$WRAPCHECK" fds "$T")
	expect_grep "$out" "^fds ok"
	expect_grep "$(cat "$T/log")" "leak\) failed: EIO"
}

test_acknowledgment_drops_stale_cached_pages() {
	[ "$(stat -f -c %T "$T")" != tmpfs ] || skip "on tmpfs the page cache is the storage"
	out=$(shim FAULT_PATH=cached STICKYSYNC_LOG=off "$WRAPCHECK" dropcache "$T")
	expect_grep "$out" "^dropcache ok"
}

test_wrappers_work_before_the_shim_constructor() {
	out=$(CTOR_FILE="$T/early" shim STICKYSYNC_LOG=off "$TOP/$BUILD/test/ctorprobe")
	expect_line "$out" "ran = 1"
	expect_line "$out" "fsync1 = EIO"
	expect_line "$out" "fsync2 = EIO"
	# and without the shim the second sync "succeeds": the test can tell
	out=$(CTOR_FILE="$T/early2" env LD_PRELOAD="$FAULTLIB" "$TOP/$BUILD/test/ctorprobe")
	expect_line "$out" "fsync2 = 0"
}

test_exported_symbols_are_the_allowlist() {
	got=$(nm -D --defined-only "$LIB" | awk '{print $3}' | sort)
	want=$( (sed -n 's/^SYM(\([A-Za-z0-9_]*\),.*/\1/p' src/symbols.def; printf '%s\n' stickysync_acknowledge stickysync_status) | sort)
	expect_eq "$got" "$want"
	# unversioned, or programs' fsync@GLIBC_2.2.5 would not bind to them
	expect_no_grep "$(objdump -T "$LIB" | grep -w fsync)" "STICKYSYNC"
}

test_missing_real_function_falls_back() {
	out=$("$TOP/$BUILD/test/realcheck" "$T")
	expect_grep "$out" "^real ok"
}

test_real_programs_run_unchanged() {
	# the sanitizer runtime would judge coreutils' own allocations
	[ -z "${SANITIZER_PRELOAD:-}" ] || skip "system programs are not sanitizer-clean"
	printf 'line\n' >"$T/in"
	out=$(shim_only sh -c "cp '$T/in' '$T/out' && sync '$T/out' && cat '$T/out'; dd if='$T/in' of='$T/dd' oflag=dsync status=none && cat '$T/dd'")
	expect_eq "$out" "$(printf 'line\nline')"
}

test_modules_include_each_other_without_a_cycle() {
	source_check
	out=$("$TOP/scripts/module-graph" "$TOP/src" 2>&1)
	expect_line "$out" "module-graph: no cycle"
	# and it can tell: two headers that include each other are a cycle
	mkdir "$T/src"
	printf '#include "b.h"\n' >"$T/src/a.h"
	printf '#include "a.h"\n' >"$T/src/b.h"
	if out=$("$TOP/scripts/module-graph" "$T/src" 2>&1); then
		echo "    a cycle went unnoticed" >&2
		return 1
	fi
	expect_grep "$out" "^module-graph: cycle"
}

test_no_library_source_over_600_lines() {
	source_check
	long=$(wc -l "$TOP"/src/*.c "$TOP"/src/*.h | awk '$2 != "total" && $1 > 600')
	expect_eq "$long" ""
}

run_tests
