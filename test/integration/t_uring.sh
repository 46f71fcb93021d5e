#!/usr/bin/env bash
# io_uring through liburing: syncs submitted on a ring latch and are refused
# like libc syncs.  uringprobe submits them; the injector fails them.
. test/integration/lib.sh

URING="$TOP/$BUILD/test/uringprobe"

# ur [VAR=value...] -- [uringprobe options] FILE OP...: under the shim.
ur() {
	local vars=()
	while [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	timeout 60 env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB" "${vars[@]}" "$URING" "$@"
}

need_uring() {
	[ -x "$URING" ] || skip "no uringprobe (liburing-dev was not installed when the helpers were built)"
	[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ] ||
		skip "io_uring is disabled (kernel.io_uring_disabled)"
	"$URING" "$T/probe" nop >/dev/null 2>&1 || skip "io_uring_setup fails here"
}

FIRST_FAILS='op=fsync,nth=1,errno=ENOSPC'

test_each_sync_op_fails_then_eio() {
	need_uring
	local op inj
	for op in fsync fdatasync sfr; do
		inj="op=$op,errno=ENOSPC"
		[ $op = sfr ] && inj="op=sync_file_range,errno=ENOSPC"
		out=$(ur STICKYSYNC_INJECT="$inj" -- "$T/$op" $op $op fsync 2>&1)
		expect_grep "$out" "^$op = -28 ENOSPC$" || return 1
		expect_count "$out" ' = -5 EIO$' 2 "$op" || return 1
		expect_grep "$out" "^stickysync: uringprobe\[[0-9]+\]: ${op/sfr/sync_file_range}\(fd [0-9]+, $T/$op\) failed: ENOSPC" || return 1
	done
}

test_observe_shows_the_retry_succeeding() {
	need_uring
	out=$(ur STICKYSYNC_POLICY=observe STICKYSYNC_INJECT="$FIRST_FAILS" -- "$T/f" fsync fsync 2>&1)
	expect_line "$out" "fsync = -28 ENOSPC"
	expect_line "$out" "fsync = 0"
	expect_grep "$out" "fsync\(fd [0-9]+, $T/f\) succeeded after an earlier failure"
}

test_dsync_write_on_latched_file_fails() {
	need_uring
	out=$(ur STICKYSYNC_LOG=off STICKYSYNC_INJECT="$FIRST_FAILS" -- "$T/f" fsync dsyncwrite write)
	expect_line "$out" "dsyncwrite = -5 EIO"
	expect_line "$out" "write = 4096"
	# and a plain write on a file opened O_DSYNC is a sync too
	out=$(ur STICKYSYNC_LOG=off -- -D "$T/f" write)
	expect_line "$out" "write = -5 EIO"
}

test_registered_file() {
	need_uring
	out=$(ur STICKYSYNC_LOG=off STICKYSYNC_INJECT="$FIRST_FAILS" -- -F "$T/f" fsync fsync fdatasync)
	expect_line "$out" "fsync = -28 ENOSPC"
	expect_count "$out" ' = -5 EIO$' 2
}

test_linked_write_then_fsync() {
	need_uring
	out=$(ur STICKYSYNC_LOG=off STICKYSYNC_INJECT="$FIRST_FAILS" -- -L "$T/f" fsync fsync)
	expect_eq "$(tr '\n' ' ' <<<"$out")" "write = 4096 fsync = -28 ENOSPC write = 4096 fsync = -5 EIO "
}

test_sqpoll_ring() {
	need_uring
	out=$(ur STICKYSYNC_LOG=off STICKYSYNC_INJECT="$FIRST_FAILS" -- -S "$T/f" fsync fsync)
	expect_line "$out" "fsync = -28 ENOSPC"
	expect_line "$out" "fsync = -5 EIO"
}

# The failure completes after the submit returned and is consumed by
# liburing's inline peek, without any call the library sees: it is read
# back from the CQ ring at the next submit.
test_reaping_by_inline_peek() {
	need_uring
	local o
	for o in "" -F -S; do
		out=$(ur STICKYSYNC_INJECT="$FIRST_FAILS" -- -p -d $o "$T/f$o" fsync fsync 2>&1)
		expect_eq "$(sed 's/^stickysync: .* failed: ENOSPC.*/LATCHED/; s/^stickysync: .*returns EIO.*/REFUSED/' <<<"$out" | tr '\n' ' ')" \
			"delay = -62 ETIME fsync = -28 ENOSPC LATCHED REFUSED delay = -62 ETIME fsync = -5 EIO " "$o" || return 1
	done
}

# Four-entry rings driven around many times between the syncs.
test_completion_ring_wraps() {
	need_uring
	out=$(ur STICKYSYNC_LOG=off STICKYSYNC_INJECT='op=fsync,nth=3,errno=EIO' -- -p -e 4 -n 13 "$T/f" \
		fsync fsync fsync fsync fdatasync)
	expect_eq "$(tr '\n' ' ' <<<"$out")" "fsync = 0 fsync = 0 fsync = -5 EIO fsync = -5 EIO fdatasync = -5 EIO "
}

# The ring's latch is the libc one: another process's fsync fails until the
# loss is acknowledged, and then a new ring's fsync succeeds.
test_ring_latch_is_shared_and_acknowledged() {
	need_uring
	ur STICKYSYNC_LOG=off STICKYSYNC_INJECT="$FIRST_FAILS" -- "$T/f" fsync >/dev/null
	out=$(shim_only STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rw fsync h1)
	expect_line "$out" "fsync h1 = -1 EIO"
	out=$(ur STICKYSYNC_LOG=off -- "$T/f" fsync)
	expect_line "$out" "fsync = -5 EIO"
	"$CLI" ack --state "$STICKYSYNC_STATE" "$T/f" >/dev/null
	out=$(ur STICKYSYNC_LOG=off -- "$T/f" fsync fdatasync)
	expect_eq "$(tr '\n' ' ' <<<"$out")" "fsync = 0 fdatasync = 0 "
	# and a libc failure latches ring syncs
	out=$(shim FAULT_PATH=f "$PROBE" open h1 "$T/f" rw fsync h1 2>/dev/null)
	expect_line "$out" "fsync h1 = -1 EIO"
	out=$(ur STICKYSYNC_LOG=off -- -F "$T/f" fsync)
	expect_line "$out" "fsync = -5 EIO"
}

test_failstop_refuses_ring_reads_and_writes() {
	need_uring
	out=$(ur STICKYSYNC_LOG=off STICKYSYNC_POLICY=failstop STICKYSYNC_INJECT="$FIRST_FAILS" -- \
		"$T/f" write fsync read write)
	expect_eq "$(tr '\n' ' ' <<<"$out")" "write = 4096 fsync = -28 ENOSPC read = -5 EIO write = -5 EIO "
	out=$(ur STICKYSYNC_LOG=off STICKYSYNC_INJECT="$FIRST_FAILS" -- "$T/g" write fsync read write)
	expect_eq "$(tr '\n' ' ' <<<"$out")" "write = 4096 fsync = -28 ENOSPC read = 4096 write = 4096 "
}

test_other_files_are_untouched() {
	need_uring
	ur STICKYSYNC_LOG=off STICKYSYNC_INJECT="$FIRST_FAILS" -- "$T/f" fsync >/dev/null
	out=$(ur STICKYSYNC_LOG=off -- -F -S "$T/g" write fsync dsyncwrite sfr)
	expect_eq "$(tr '\n' ' ' <<<"$out")" "write = 4096 fsync = 0 dsyncwrite = 4096 sfr = 0 "
}

# Rings the library cannot follow are said once, by what set them up, or at
# exit if they are still open; rings set up by liburing's shared library
# are not.
test_rings_outside_liburing_are_reported() {
	need_uring
	out=$(ur -- "$T/f" rawsetup fsync rawsetup 2>&1)
	expect_count "$out" 'syscall\(SYS_io_uring_setup\) sets up a ring outside liburing' 1
	expect_grep "$out" "^stickysync: uringprobe\[[0-9]+\]: io_uring: ring fds [0-9]+, [0-9]+ were not set up through liburing's shared library"
	[ -x "$URING-static" ] || skip "no statically linked uringprobe (liburing.a)"
	out=$(ur -- -k "$T/f" fsync 2>&1)
	expect_no_grep "$out" "not set up through"
	# said at exit by a process that synced through the library (one that
	# never does is not scanned: every process would pay for it)
	out=$(timeout 60 env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB" "$URING-static" -k "$T/f" fsync 2>&1)
	expect_no_grep "$out" "not set up through"
	out=$(timeout 60 env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB" "$URING-static" -k "$T/f" fsync libcfsync 2>&1)
	expect_grep "$out" "^stickysync: uringprobe-static\[[0-9]+\]: io_uring: ring fd [0-9]+ was not set up through liburing's shared library \(raw system calls, or a statically linked liburing\): syncs submitted on it were not sticky$"
}

# stickysync status names a process under the library whose rings it
# cannot follow, and not one whose rings it follows.
test_status_names_processes_with_unseen_rings() {
	need_uring
	[ -x "$URING-static" ] || skip "no statically linked uringprobe (liburing.a)"
	local pid1 pid2
	timeout 60 env LD_PRELOAD="$LIB" STICKYSYNC_LOG=off "$URING-static" -S "$T/f" fsync sleep sleep >/dev/null &
	pid1=$!
	timeout 60 env LD_PRELOAD="$LIB" STICKYSYNC_LOG=off "$URING" "$T/g" fsync sleep sleep >/dev/null &
	pid2=$!
	sleep 1
	out=$("$CLI" status --state "$STICKYSYNC_STATE" 2>&1)
	wait $pid1 $pid2
	expect_grep "$out" "^stickysync: warning: pid [0-9]+ \(uringprobe-stat\) runs under libstickysync.so with 1 io_uring ring \(1 polled by the kernel\) and without liburing's shared library: syncs submitted on it are not sticky$"
	expect_no_grep "$out" "\(uringprobe\)"
}

run_tests
