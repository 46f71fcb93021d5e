#!/usr/bin/env bash
# The latch semantics through the ssprobe helper, with the test fault
# injector (placed after the shim) failing chosen calls.
. test/integration/lib.sh

# Without the shim, Linux-like: the retry after a failure reports success.
test_plain_linux_forgets() {
	out=$(env LD_PRELOAD="$FAULTLIB" "$PROBE" open h1 "$T/f" rwc write h1 A fsync h1 fsync h1)
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_line "$out" "fsync h1 = 0"
}

test_failed_sync_returns_real_errno_then_eio() {
	out=$(shim FAULT_ERRNO=28 "$PROBE" open h1 "$T/f" rwc write h1 A fsync h1 fsync h1 fdatasync h1 2>&1)
	expect_line "$out" "fsync h1 = -1 ENOSPC"
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_line "$out" "fdatasync h1 = -1 EIO"
	expect_grep "$out" "^stickysync: ssprobe\[[0-9]+\]: fsync\(fd [0-9]+, $T/f\) failed: ENOSPC \(No space left on device\); later syncs of this file fail with EIO"
}

# Every open spelling, from every build of the probe, records its fd.
test_every_open_spelling_and_build() {
	local p how n=0
	for p in ssprobe ssprobe-lfs ssprobe-fortify ssprobe-lfs-fortify; do
		for how in open open64 openat openat64 creat creat64 fopen fopen64; do
			n=$((n + 1))
			: >"$T/s$n"
			out=$(shim STICKYSYNC_LOG=off "$TOP/$BUILD/test/$p" open h2 "$T/s$n" rw \
				"$how" h1 "$T/s$n" rw write h1 A fsync h1 fsync h1 fsync h2 ack h1 ack h2 fsync h2)
			expect_line "$out" "fsync h1 = -1 EIO" || { echo "  ($p $how)"; return 1; }
			# h1 opened after h2: h2 predates the latch, h1 saw it.
			expect_line "$out" "ack h1 = -1 EBUSY" || { echo "  ($p $how)"; return 1; }
			expect_line "$out" "ack h2 = -1 EBUSY" || { echo "  ($p $how)"; return 1; }
		done
	done
}

# Each write spelling reaches the shim: on an O_DSYNC fd, its EIO latches.
test_every_write_spelling_on_dsync_latches() {
	local w
	for w in write pwrite pwrite64 writev pwritev pwritev64 pwritev2 pwritev64v2; do
		case $w in write | writev) args=($w h1 data) ;; *) args=($w h1 data 0) ;; esac
		out=$(shim FAULT_OPS=write STICKYSYNC_LOG=off "$PROBE" open h1 "$T/$w" rwcd "${args[@]}" fsync h1)
		expect_line "$out" "$w h1 = -1 EIO" || return 1
		expect_line "$out" "fsync h1 = -1 EIO" || { echo "  ($w did not latch)"; return 1; }
	done
	# Only the calls routed to the fault injector above failed: a good write
	# of each spelling returns its count.
	out=$(shim_only "$PROBE" open h1 "$T/ok" rwc write h1 abcd pwrite h1 abcd 4 writev h1 abcd \
		pwritev h1 abcd 8 pwritev2 h1 abcd 12 pwrite64 h1 abcd 0 pwritev64 h1 abcd 0 pwritev64v2 h1 abcd 0)
	expect_count "$out" ' = 4$' 8
}

test_pwritev2_with_rwf_dsync_is_a_sync() {
	out=$(shim FAULT_OPS=write STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rwc pwritev2d h1 data 0 fsync h1)
	expect_line "$out" "pwritev2d h1 = -1 EIO"
	expect_line "$out" "fsync h1 = -1 EIO"
	# and a good one on a latched file reports the loss
	out=$(shim_only STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rw pwritev2d h1 data 0)
	expect_line "$out" "pwritev2d h1 = -1 EIO"
}

test_failed_write_without_dsync_does_not_latch() {
	out=$(shim FAULT_OPS=write STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rwc write h1 A fsync h1)
	expect_line "$out" "write h1 = -1 EIO"
	expect_line "$out" "fsync h1 = 0"
}

test_not_applicable_errors_do_not_latch() {
	local e
	for e in 9 22 4 38 95; do # EBADF EINVAL EINTR ENOSYS EOPNOTSUPP
		out=$(shim FAULT_ERRNO=$e STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f$e" rwc fsync h1 fsync h1)
		expect_count "$out" '^fsync h1 = 0$' 1 "errno $e"
	done
}

test_dups_share_the_latch() {
	out=$(shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rwc dup h1 h2 dup2 h1 h3 dup3 h1 h4 \
		fdup h1 h5 write h1 A fsync h1 fsync h2 fsync h3 fsync h4 fsync h5 \
		open h6 "$T/f" rw ack h2 ack h3 ack h4 ack h5 ack h6 fsync h6 fsync h2 dup h2 h7 fsync h7)
	for h in h2 h3 h4 h5; do
		expect_line "$out" "fsync $h = -1 EIO"
		expect_line "$out" "ack $h = -1 EBUSY"
	done
	expect_line "$out" "ack h6 = 0"
	expect_line "$out" "fsync h6 = 0"
	expect_line "$out" "fsync h7 = -1 EIO"
}

# generic/441: several fds open before the failure; each must see it.
test_fds_opened_before_all_fail() {
	out=$(shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rwc open h2 "$T/f" rw open h3 "$T/f" rw \
		write h1 A write h2 B write h3 C fsync h1 fsync h2 fsync h3 fsync h2 open h4 "$T/f" rw fsync h4)
	expect_count "$out" ' = -1 E' 5
}

test_other_sync_calls_latch() {
	local op
	for op in fdatasync sfr syncfs; do
		fop=$op
		[ $op = sfr ] && fop=sync_file_range
		out=$(shim FAULT_OPS=$fop STICKYSYNC_LOG=off "$PROBE" open h1 "$T/$op" rwc write h1 A $op h1 $op h1 fsync h1)
		expect_line "$out" "$op h1 = -1 EIO"
		expect_count "$out" '= -1 EIO' 3 "$op"
	done
}

test_msync_failure_latches_the_mapped_file() {
	out=$(shim FAULT_OPS=msync STICKYSYNC_LOG=off "$PROBE" open h1 "$T/m" rwc ftruncate h1 8192 \
		msync h1 8192 msync h1 8192 fsync h1)
	expect_count "$out" '^msync h1 = -1 EIO$' 2
	expect_line "$out" "fsync h1 = -1 EIO"
}

test_syncfs_reports_a_latched_file_on_the_filesystem() {
	shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/a" rwc fsync h1 >/dev/null
	out=$(shim_only STICKYSYNC_LOG=off "$PROBE" open h1 "$T/b" rwc syncfs h1)
	expect_line "$out" "syncfs h1 = -1 EIO"
}

test_failed_syncfs_latches_the_whole_filesystem() {
	local root
	root=$(stat -c %m "$T")
	out=$(shim FAULT_OPS=syncfs STICKYSYNC_LOG=off "$PROBE" open h1 "$T/a" rwc syncfs h1 \
		open h2 "$T/other" rwc fsync h2 syncfs h2 open h3 "$T/a" rw ack h3 fsync h2 \
		open h4 "$root" r ack h4 fsync h2)
	expect_line "$out" "syncfs h1 = -1 EIO"
	expect_line "$out" "syncfs h2 = -1 EIO"
	# acknowledging one file does not acknowledge the filesystem's loss...
	expect_line "$out" "ack h3 = 0"
	expect_count "$out" '^fsync h2 = -1 EIO$' 2
	# ...its root does; h2 was opened after the loss, so it syncs again
	expect_line "$out" "ack h4 = 0"
	expect_line "$out" "fsync h2 = 0"
}

test_close_failure_latches() {
	out=$(shim FAULT_OPS=close STICKYSYNC_LOG=off "$PROBE" open h1 "$T/c" rwc write h1 A close h1 \
		open h2 "$T/c" rw fsync h2)
	expect_line "$out" "close h1 = -1 EIO"
	expect_line "$out" "fsync h2 = -1 EIO"
	out=$(shim FAULT_OPS=close FAULT_ERRNO=28 "$PROBE" fopen h1 "$T/c2" rw fclose h1 2>&1 >/dev/null || true)
	: # fclose of a stream with nothing pending loses nothing: no latch expected
	expect_no_grep "$out" "failed"
}

# close_range and closefrom forget the fds they close: a number reused by
# an fd the shim did not see opened must not inherit the old entry's state.
test_close_range_and_closefrom() {
	out=$(shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rwc fsync h1 close_range h1 fsync h1 \
		open h2 "$T/g" rwc open h3 "$T/h" rwc closefrom h2 fsync h2 fsync h3)
	expect_line "$out" "close_range h1 = 0"
	expect_line "$out" "fsync h1 = -1 EBADF"
	expect_line "$out" "fsync h2 = -1 EBADF"
	expect_line "$out" "fsync h3 = -1 EBADF"
}

test_fork_child_sees_the_latch() {
	out=$(shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rwc fsync h1 fork fsync h1 open h2 "$T/f" rw fsync h2 ack h1 ack h2)
	expect_line "$out" "child: fsync h1 = -1 EIO"
	expect_line "$out" "child: fsync h2 = -1 EIO"
	expect_line "$out" "child: ack h1 = -1 EBUSY"
	expect_line "$out" "child: ack h2 = 0"
}

test_exec_inherited_fd_counts_as_old() {
	out=$(shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rwc fsync h1 fd h1 exec adopt h1 3 fsync h1 ack h1 \
		open h2 "$T/f" rw ack h2 fsync h1 fsync h2)
	expect_line "$out" "fd h1 = 3"
	expect_line "$out" "ack h1 = -1 EBUSY"
	expect_line "$out" "ack h2 = 0"
	# the failure itself, then the inherited fd before and after the ack
	expect_count "$out" '^fsync h1 = -1 EIO$' 3
	expect_line "$out" "fsync h2 = 0"
}

# The PostgreSQL checkpointer pattern: another process opens the file later.
test_second_process_shares_the_latch() {
	shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rwc write h1 A fsync h1 >/dev/null
	out=$(shim_only STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rw fsync h1 status h1)
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_line "$out" "status h1 = fd_latched=0 file_latched=1 acknowledged=0 error=EIO op=fsync pid_ok=1"
}

# A process attaches the shared table at its first sync; the age of an fd it
# opened before that comes from the clock, and must still decide which fds
# saw a loss made meanwhile by another process.
test_fd_opened_before_the_first_sync_keeps_its_age() {
	local a
	mkfifo "$T/go"
	shim_only STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rwc pause fsync h1 status h1 \
		<"$T/go" >"$T/a.out" &
	a=$!
	exec 7>"$T/go"
	wait_for_line "$T/a.out" "open h1 = 0"
	shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rw write h1 B fsync h1 >/dev/null
	sleep 0.05 # the next open comes at least a clock tick after the loss
	out=$(shim_only STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rw ack h1 fsync h1)
	expect_line "$out" "ack h1 = 0"
	expect_line "$out" "fsync h1 = 0"
	echo go >&7
	exec 7>&-
	wait "$a"
	out=$(cat "$T/a.out")
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_line "$out" "status h1 = fd_latched=1 file_latched=0 acknowledged=1 error=EIO op=fsync pid_ok=1"
}

# The same, with the two processes in time namespaces whose monotonic
# clocks differ by hours: dates are compared in the host's clock.
test_early_fds_are_dated_across_time_namespaces() {
	local a ns
	unshare -T --monotonic=0 true 2>/dev/null || skip "no time namespaces here (needs root and Linux 5.6)"
	for ns in "--monotonic=-5000:" ":--monotonic=5000"; do
		rm -rf "$T/state" "$T/go"
		mkfifo "$T/go"
		unshare -T ${ns#*:} env LD_PRELOAD="$LIB" STICKYSYNC_LOG=off \
			"$PROBE" open h1 "$T/f" rwc pause fsync h1 <"$T/go" >"$T/a.out" &
		a=$!
		exec 7>"$T/go"
		wait_for_line "$T/a.out" "open h1 = 0"
		unshare -T ${ns%:*} env LD_PRELOAD="$LIB $FAULTLIB" STICKYSYNC_LOG=off \
			"$PROBE" open h1 "$T/f" rw write h1 B fsync h1 >/dev/null
		"$CLI" ack "$T/f" >/dev/null
		echo go >&7
		exec 7>&-
		wait "$a"
		expect_line "$(cat "$T/a.out")" "fsync h1 = -1 EIO"
	done
}

# An fd the shim did not see opened, on a number released after a loss,
# was made after it.
test_raw_open_on_a_released_number_is_fresh() {
	local a
	echo a >"$T/a"
	echo f >"$T/f"
	mkfifo "$T/go"
	shim_only STICKYSYNC_LOG=off "$TOP/$BUILD/test/attachcheck" rawopen "$T/a" "$T/f" \
		<"$T/go" >"$T/a.out" &
	a=$!
	exec 7>"$T/go"
	sleep 0.1
	shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rw write h1 B fsync h1 >/dev/null
	"$CLI" ack "$T/f" >/dev/null
	echo go >&7
	exec 7>&-
	wait "$a"
	expect_line "$(cat "$T/a.out")" "rawopen fsync = 0 "
}

# More of the library's variables than it gathers at start: none is lost.
test_many_stickysync_variables() {
	local i vars=()
	for i in $(seq 40); do vars+=("STICKYSYNC_UNUSED_$i=1"); done
	out=$(env "${vars[@]}" STICKYSYNC_POLICY=failstop STICKYSYNC_LOG=off LD_PRELOAD="$LIB $FAULTLIB" \
		"$PROBE" open h1 "$T/f" rwc write h1 A fsync h1 write h1 B)
	expect_line "$out" "write h1 = -1 EIO"
	[ -e "$T/state/latches" ] || { echo "    STICKYSYNC_STATE was not used" >&2; return 1; }
}

# A process that never syncs never touches the state folder.
test_process_that_never_syncs_leaves_the_state_alone() {
	shim_only STICKYSYNC_LOG=stderr "$PROBE" open h1 "$T/f" rwc write h1 A close h1 >/dev/null
	[ ! -e "$T/state" ] || { echo "    the state folder was made" >&2; return 1; }
	shim_only "$PROBE" open h1 "$T/f" rw fsync h1 >/dev/null
	[ -e "$T/state/latches" ] || { echo "    the first sync did not attach the table" >&2; return 1; }
}

# (The latch on the file itself, STICKYSYNC_XATTR, is t_xattr.sh's.)
test_state_off_keeps_latches_in_process() {
	shim STICKYSYNC_STATE=off STICKYSYNC_XATTR=off STICKYSYNC_LOG=off "$PROBE" \
		open h1 "$T/f" rwc fsync h1 >/dev/null
	out=$(shim_only STICKYSYNC_STATE=off STICKYSYNC_XATTR=off "$PROBE" open h1 "$T/f" rw fsync h1)
	expect_line "$out" "fsync h1 = 0"
	[ ! -e "$T/state" ]
}

test_acknowledgment_rules() {
	out=$(shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rwc open h9 "$T/unlatched" rwc ack h9 \
		fsync h1 open h2 "$T/f" rw fsync h2 ack h1 fsync h1 ack h2 fsync h2 fsync h1 status h1 status h2)
	expect_line "$out" "ack h9 = 0"
	expect_line "$out" "fsync h2 = -1 EIO"
	expect_line "$out" "ack h1 = -1 EBUSY"
	expect_line "$out" "ack h2 = 0"
	expect_line "$out" "fsync h2 = 0"
	expect_count "$out" '^fsync h1 = -1 EIO$' 3
	expect_line "$out" "status h1 = fd_latched=1 file_latched=0 acknowledged=1 error=EIO op=fsync pid_ok=1"
	expect_line "$out" "status h2 = fd_latched=0 file_latched=0 acknowledged=1 error=EIO op=fsync pid_ok=1"
	# A later process sees the acknowledgment, and a new failure latches anew.
	out=$(shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rw fsync h1 fsync h1)
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_count "$out" '= -1 EIO' 2
}

test_ack_bad_fd_and_without_shim() {
	out=$(shim_only "$PROBE" ack h5)
	expect_line "$out" "ack h5 = -1 EBADF"
	out=$("$PROBE" open h1 "$T/f" rwc ack h1 status h1)
	expect_line "$out" "ack h1 = -1 ENOSYS"
	expect_line "$out" "status h1 = -1 ENOSYS"
}

test_recreated_file_is_not_latched() {
	shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/f" rwc fsync h1 >/dev/null
	rm "$T/f"
	out=$(shim_only "$PROBE" open h1 "$T/f" rwc write h1 A fsync h1)
	expect_line "$out" "fsync h1 = 0"
}

run_tests
