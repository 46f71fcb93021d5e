#!/usr/bin/env bash
# Configuration, state folder safety, logging, and a full latch table.
. test/integration/lib.sh

test_log_to_file_and_off() {
	shim STICKYSYNC_LOG="$T/log" "$PROBE" open h1 "$T/f" rwc fsync h1 fsync h1 >/dev/null 2>"$T/err"
	expect_eq "$(wc -l <"$T/log")" 2 "lines in the log file"
	expect_grep "$(cat "$T/log")" "^stickysync: ssprobe\[[0-9]+\]: fsync\(fd [0-9]+, $T/f\) failed: EIO \(Input/output error\)"
	expect_eq "$(cat "$T/err")" ""
	shim STICKYSYNC_LOG=off "$PROBE" open h1 "$T/g" rwc fsync h1 >/dev/null 2>"$T/err2"
	expect_eq "$(cat "$T/err2")" ""
}

test_log_syslog_falls_back_to_stderr_without_a_socket() {
	[ -S /dev/log ] && skip "/dev/log exists here; fallback not observable"
	out=$(shim STICKYSYNC_LOG=syslog "$PROBE" open h1 "$T/f" rwc fsync h1 2>&1)
	expect_grep "$out" "failed: EIO"
}

# A private mount namespace with its own /dev, where a listener plays syslogd.
test_log_to_syslog() {
	[ "$(id -u)" = 0 ] || skip "needs root for a private /dev/log"
	command -v unshare >/dev/null || skip "no unshare"
	cat >"$T/syslogd.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1], "w").close()
s.settimeout(20)
print(s.recv(4096).decode(), flush=True)
PY
	out=$(timeout 60 unshare -m sh -c "mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3 &&
		{ python3 '$T/syslogd.py' '$T/ready' > '$T/got' & } &&
		for i in \$(seq 100); do [ -e '$T/ready' ] && break; sleep 0.05; done &&
		env LD_PRELOAD='$LIB $FAULTLIB' STICKYSYNC_LOG=syslog '$PROBE' open h1 '$T/f' rwc fsync h1 2>&1; wait")
	expect_grep "$(cat "$T/got")" "^<12>stickysync: ssprobe\[[0-9]+\]: fsync\(fd [0-9]+, $T/f\) failed: EIO"
	expect_no_grep "$out" "failed: EIO"
}

test_malformed_values_are_named() {
	out=$(shim STICKYSYNC_LOG=sideways STICKYSYNC_STATE=relative/dir STICKYSYNC_STATE_CAPACITY=1000 \
		"$PROBE" open h1 "$T/f" rwc fsync h1 fsync h1 2>&1)
	expect_grep "$out" 'STICKYSYNC_LOG="sideways" is not stderr, syslog, off or an absolute file path; logging to stderr'
	expect_grep "$out" 'STICKYSYNC_STATE="relative/dir" is not an absolute folder path or "off"; latches are kept in this process only'
	expect_grep "$out" 'STICKYSYNC_STATE_CAPACITY="1000" is not a power of two'
	expect_line "$out" "fsync h1 = -1 EIO"
	[ ! -e relative ]
}

# (The table is attached at a process's first sync.)
test_state_folder_is_created_private() {
	shim_only "$PROBE" open h1 "$T/f" rwc fsync h1 >/dev/null
	expect_eq "$(stat -c %a "$T/state")" 700
	expect_eq "$(stat -c %a "$T/state/latches")" 600
}

test_unsafe_state_folders_are_refused() {
	mkdir -m 777 "$T/open"
	out=$(shim STICKYSYNC_STATE="$T/open" "$PROBE" open h1 "$T/f" rwc fsync h1 fsync h1 2>&1)
	expect_grep "$out" "state folder $T/open is writable by group or others; refused .*; latches are kept in this process only"
	expect_line "$out" "fsync h1 = -1 EIO"
	mkdir -m 700 "$T/real" && ln -s "$T/real" "$T/link"
	out=$(shim STICKYSYNC_STATE="$T/link" "$PROBE" open h1 "$T/f2" rwc fsync h1 2>&1)
	expect_grep "$out" "state folder $T/link is reached through a symbolic link \(or is not a folder\); refused"
	# a link of our own on the way is followed; another user's is not
	mkdir -m 700 "$T/real/s"
	out=$(shim STICKYSYNC_STATE="$T/link/s" "$PROBE" open h1 "$T/f4" rwc fsync h1 2>&1)
	expect_no_grep "$out" "refused"
	if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
		ln -s "$T/real" "$T/their-link" && chown -h nobody "$T/their-link"
		out=$(shim STICKYSYNC_STATE="$T/their-link/s" "$PROBE" open h1 "$T/f5" rwc fsync h1 2>&1)
		expect_grep "$out" "state folder $T/their-link/s is reached through a symbolic link"
	fi
	if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
		mkdir -m 700 "$T/theirs" && chown nobody "$T/theirs"
		out=$(shim STICKYSYNC_STATE="$T/theirs" "$PROBE" open h1 "$T/f3" rwc fsync h1 2>&1)
		expect_grep "$out" "state folder $T/theirs is owned by another user; refused"
	fi
}

test_foreign_or_corrupt_state_file_is_refused() {
	mkdir -m 700 "$T/s1"
	head -c 4096 /dev/urandom >"$T/s1/latches" && chmod 600 "$T/s1/latches"
	out=$(shim STICKYSYNC_STATE="$T/s1" "$PROBE" open h1 "$T/f" rwc fsync h1 fsync h1 2>&1)
	expect_grep "$out" "state file $T/s1/latches is not a stickysync latch table; refused; latches are kept in this process only"
	expect_line "$out" "fsync h1 = -1 EIO"
	mkdir -m 700 "$T/s2" && ln -s /etc/passwd "$T/s2/latches"
	out=$(shim STICKYSYNC_STATE="$T/s2" "$PROBE" open h1 "$T/f2" rwc fsync h1 2>&1)
	expect_grep "$out" "state file $T/s2/latches is a symbolic link; refused"
}

test_full_table_keeps_latches_in_process_loudly() {
	local i args=() again=()
	for i in $(seq 1 20); do
		args+=(open h1 "$T/f$i" rwc fsync h1)
		again+=(open h2 "$T/f$i" rw fsync h2)
	done
	# 20 injected failures, then 20 syncs that the kernel would let pass
	out=$(shim STICKYSYNC_STATE_CAPACITY=16 FAULT_COUNT=20 "$PROBE" "${args[@]}" "${again[@]}" 2>&1)
	expect_grep "$out" "the shared latch table is full: latched in this process only"
	expect_count "$out" '^fsync h1 = -1 EIO$' 20
	expect_count "$out" '^fsync h2 = -1 EIO$' 20
}

fill_table() { # N: latch N new files in a 16-record table
	local i args=()
	for i in $(seq 1 "$1"); do
		args+=(open h1 "$T/k$i" rwc fsync h1)
	done
	shim STICKYSYNC_STATE_CAPACITY=16 FAULT_COUNT="$1" "$PROBE" "${args[@]}" 2>&1
}

test_full_table_prunes_acknowledged_records_of_deleted_files() {
	shim STICKYSYNC_STATE_CAPACITY=16 STICKYSYNC_LOG=off "$PROBE" open h1 "$T/gone" rwc fsync h1 \
		open h2 "$T/gone" rw ack h2 >/dev/null
	rm "$T/gone"
	out=$(fill_table 16)
	expect_no_grep "$out" "full"
	expect_count "$out" '^fsync h1 = -1 EIO$' 16
}

# A vanished path may be a rename (PostgreSQL recycles WAL segments so):
# an unacknowledged latch is never pruned to make room.
test_full_table_keeps_unacknowledged_latch_of_renamed_file() {
	shim STICKYSYNC_STATE_CAPACITY=16 STICKYSYNC_LOG=off "$PROBE" open h1 "$T/seg" rwc fsync h1 >/dev/null
	mv "$T/seg" "$T/seg.recycled"
	out=$(fill_table 16)
	expect_grep "$out" "the shared latch table is full"
	out=$(shim_only "$PROBE" open h1 "$T/seg.recycled" rw fsync h1)
	expect_line "$out" "fsync h1 = -1 EIO"
}

run_tests
