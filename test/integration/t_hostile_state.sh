#!/usr/bin/env bash
# Hostile state: a state folder or latch table that is foreign, unsafe,
# damaged, full, read-only, out of space, or that changes under a running
# program.  In every case: one clear line naming the folder or file, nothing
# crashes (the library under a real program, and the command's status, ack
# and prune), and no unacknowledged latch is lost.
. test/integration/lib.sh
. test/integration/cli_lib.sh

# The guard against a table vanishing under a process is a SIGBUS handler,
# installed only where SIGBUS has its default action: AddressSanitizer's
# must stay out of the way.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_sigbus=0"

# latch_probe FILE [VAR=value...]: a program that latches FILE (its first
# fsync fails, injected), then syncs it again on that fd and on a fresh one.
latch_probe() {
	local f=$1
	shift
	shim_only STICKYSYNC_INJECT="op=fsync,path=$f" "$@" "$PROBE" open h1 "$f" rwc write h1 x \
		fsync h1 fsync h1 open h2 "$f" rw fsync h2 2>&1
}

# expect_enforced OUT: the three syncs of latch_probe failed, the last two
# because of the latch.
expect_enforced() {
	expect_count "$1" '^fsync h[12] = -1 EIO$' 3 "syncs failing with EIO"
}

# one_state_line OUT REGEX: exactly one report about the state folder or
# file, and it matches REGEX.
one_state_line() {
	local lines
	matching_lines lines "$1" '^stickysync: [^ ]+\[[0-9]+\]: state (folder|file) '
	expect_count "$lines" . 1 "lines about the state in: $1"
	expect_grep "$lines" "$2"
}

# cli_refuses REGEX: status (text, JSON), ack and prune each fail with
# status 1 and one line matching REGEX, and print nothing else.
cli_refuses() {
	local a
	for a in status "status --json" "ack --all" prune; do
		# shellcheck disable=SC2086 # the words of $a are arguments
		runc cli $a
		expect_eq "$rc" 1 "exit status of stickysync $a"
		expect_count "$err" . 1 "lines on stderr of stickysync $a: $err"
		expect_grep "$err" "^stickysync: $1"
		expect_eq "$out" "" "stdout of stickysync $a"
	done
}

# cli_lists PATH: status and status --json both list PATH as latched.
cli_lists() {
	runc cli status
	expect_eq "$rc" 0 "exit status of stickysync status"
	expect_grep "$out" "^latched +EIO +fsync .* $1\$"
	runc cli status --json
	expect_eq "$rc" 0 "exit status of stickysync status --json"
	python3 -c 'import json, sys
doc = json.load(sys.stdin)
assert [r["path"] for r in doc["latches"]] == [sys.argv[1]], doc' "$1" <<<"$out"
}

# make_sparse FILE: FILE again, with holes where it holds zeros.
make_sparse() {
	cp --sparse=always "$1" "$1.sparse"
	mv "$1.sparse" "$1"
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root to $1"
	command -v unshare >/dev/null || skip "no unshare (util-linux)"
	unshare -m --propagation private true 2>/dev/null || skip "cannot make a mount namespace"
}

# in_ns FUNC: run FUNC in a private mount namespace (its mounts vanish with
# it), with this file's functions and the test's variables.
in_ns() {
	local vars="LIB FAULTLIB PROBE CLI T TOP cli_argv${SANITIZER_PRELOAD:+ SANITIZER_PRELOAD}"
	# shellcheck disable=SC2086 # a list of names
	unshare -m --propagation private bash -c "$(declare -f); $(declare -p $vars); set -e; $1"
}

# read_only DIR: DIR becomes read-only (in this mount namespace).
read_only() {
	mount --bind "$1" "$1"
	mount -o remount,bind,ro "$1"
}

# ---- foreign and unsafe ---------------------------------------------------

test_folder_of_another_user() {
	[ "$(id -u)" = 0 ] || skip "needs root to give a folder away"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	mkdir -m 700 "$STICKYSYNC_STATE" && chown nobody "$STICKYSYNC_STATE"
	out=$(latch_probe "$T/a")
	one_state_line "$out" "state folder $STICKYSYNC_STATE is owned by another user; refused"
	expect_enforced "$out"
	cli_refuses "state folder $STICKYSYNC_STATE is owned by another user; refused"
}

test_table_of_another_user() {
	[ "$(id -u)" = 0 ] || skip "needs root to give a file away"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	latch "$T/old"
	chown nobody "$STICKYSYNC_STATE/latches"
	out=$(latch_probe "$T/a")
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches is owned by another user; refused"
	expect_enforced "$out"
	cli_refuses "state file $STICKYSYNC_STATE/latches is owned by another user; refused"
}

test_folder_mode_0777() {
	mkdir -m 700 "$STICKYSYNC_STATE" && chmod 777 "$STICKYSYNC_STATE"
	out=$(latch_probe "$T/a")
	one_state_line "$out" "state folder $STICKYSYNC_STATE is writable by group or others; refused"
	expect_enforced "$out"
	cli_refuses "state folder $STICKYSYNC_STATE is writable by group or others; refused"
}

test_table_mode_0666() {
	latch "$T/old"
	chmod 666 "$STICKYSYNC_STATE/latches"
	out=$(latch_probe "$T/a")
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches is writable by group or others; refused"
	expect_enforced "$out"
	cli_refuses "state file $STICKYSYNC_STATE/latches is writable by group or others"
}

test_symlinked_folder() {
	mkdir -m 700 "$T/real"
	ln -s "$T/real" "$STICKYSYNC_STATE"
	out=$(latch_probe "$T/a")
	one_state_line "$out" "state folder $STICKYSYNC_STATE is reached through a symbolic link"
	expect_enforced "$out"
	cli_refuses "state folder $STICKYSYNC_STATE is reached through a symbolic link"
}

test_symlinked_table() {
	STICKYSYNC_STATE="$T/real" latch "$T/old"
	mkdir -m 700 "$STICKYSYNC_STATE"
	ln -s "$T/real/latches" "$STICKYSYNC_STATE/latches"
	out=$(latch_probe "$T/a")
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches is a symbolic link; refused"
	expect_enforced "$out"
	cli_refuses "state file $STICKYSYNC_STATE/latches is a symbolic link; refused"
}

# ---- damaged --------------------------------------------------------------

damaged_table_refused() { # BYTES-LEFT REGEX
	latch "$T/old"
	truncate -s "$1" "$STICKYSYNC_STATE/latches"
	out=$(latch_probe "$T/a")
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches $2; refused"
	expect_enforced "$out"
	cli_refuses "state file $STICKYSYNC_STATE/latches $2; refused"
}

test_table_truncated_to_0_bytes() {
	damaged_table_refused 0 "is truncated \(0 of at least [0-9]+ bytes\)"
}

test_table_truncated_to_1_byte() {
	damaged_table_refused 1 "is truncated \(1 of at least [0-9]+ bytes\)"
}

test_table_truncated_to_100_bytes() {
	damaged_table_refused 100 "is truncated \(100 of at least [0-9]+ bytes\)"
}

test_table_missing_its_last_records() {
	damaged_table_refused 200000 "is truncated \(200000 of [0-9]+ bytes\)"
}

test_garbage_table() {
	mkdir -m 700 "$STICKYSYNC_STATE"
	head -c 100000 /dev/urandom >"$STICKYSYNC_STATE/latches"
	chmod 600 "$STICKYSYNC_STATE/latches"
	out=$(latch_probe "$T/a")
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches is not a stickysync latch table; refused"
	expect_enforced "$out"
	cli_refuses "state file $STICKYSYNC_STATE/latches is not a stickysync latch table; refused"
}

test_table_of_another_version() {
	latch "$T/old"
	# the version follows the 8-byte magic
	printf '\002\000\000\000' | dd of="$STICKYSYNC_STATE/latches" bs=1 seek=8 conv=notrunc status=none
	out=$(latch_probe "$T/a")
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches is a latch table of version 2, not 3; refused"
	expect_enforced "$out"
	cli_refuses "state file $STICKYSYNC_STATE/latches is a latch table of version 2, not 3; refused"
}

# A record whose text fields have no terminating zero: the command prints
# each field within its bounds, in text and in JSON.
test_record_with_unterminated_text() {
	latch "$T/marker-file"
	python3 - "$STICKYSYNC_STATE/latches" "$T/marker-file" <<'EOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
path = sys.argv[2].encode() + b"\0"
at = data.find(path)
assert at > 0
# op[16], prog[32] and path[256] end a record, in that order
data[at - 48:at - 32] = b"O" * 16
data[at - 32:at] = b"P" * 32
data[at:at + 256] = b"Q\x01\xff\xc3" * 64
open(sys.argv[1], "r+b").write(data)
EOF
	runc cli status
	expect_eq "$rc" 0
	expect_grep "$out" "^latched +EIO +O{15} "
	expect_no_grep "$out" "O{16}|P{32}|Q.{255}"
	runc cli status --json
	expect_eq "$rc" 0
	python3 -c 'import json, sys
r = json.load(sys.stdin)["latches"][0]
assert r["op"] == "O" * 15, r["op"]
assert r["program"] == "P" * 31, r["program"]
assert r["path"] == ("Q\x01\ufffd\ufffd" * 64)[:255], repr(r["path"])' <<<"$out"
}

# ---- full -----------------------------------------------------------------

test_full_table() {
	local i args=() again=()
	for i in $(seq 1 20); do
		args+=(open h1 "$T/f$i" rwc write h1 x fsync h1 close h1)
		again+=(open h2 "$T/f$i" rw fsync h2)
	done
	# 20 injected failures, then 20 syncs that the kernel would let pass
	out=$(shim STICKYSYNC_STATE_CAPACITY=16 FAULT_COUNT=20 "$PROBE" "${args[@]}" "${again[@]}" 2>&1)
	expect_count "$out" 'the shared latch table is full: latched in this process only' 4
	expect_count "$out" '^fsync h[12] = -1 EIO$' 40
	runc cli status
	expect_eq "$rc" 0
	expect_count "$out" '^latched ' 16
	runc cli ack --all
	expect_eq "$rc" 0
	expect_count "$out" '^acknowledged ' 16
	runc cli prune
	expect_eq "$rc" 0
}

# ---- read-only ------------------------------------------------------------

test_read_only_filesystem_with_a_table() {
	need_root "mount a read-only folder"
	latch "$T/a"
	in_ns ro_table_body
}

ro_table_body() {
	read_only "$STICKYSYNC_STATE"
	# an unacknowledged latch of the table is enforced; a new one stays here
	out=$(shim_only STICKYSYNC_INJECT="op=fsync,path=*/b" "$PROBE" open h1 "$T/a" rw fsync h1 \
		open h2 "$T/b" rwc write h2 x fsync h2 fsync h2 open h3 "$T/b" rw fsync h3 2>&1)
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches is read-only \(Read-only file system\): its latches are enforced, but new latches stay in this process$"
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_count "$out" '^fsync h[23] = -1 EIO$' 3
	cli_lists "$T/a"
	for a in "ack --all" prune; do
		# shellcheck disable=SC2086 # the words of $a are arguments
		runc cli $a
		expect_eq "$rc" 1 "exit status of stickysync $a"
		expect_count "$err" . 1 "lines on stderr of stickysync $a: $err"
		expect_grep "$err" "^stickysync: state file $STICKYSYNC_STATE/latches is read-only \(Read-only file system\); nothing was (acknowledged|pruned)$"
	done
	# run --fail-on-latch could not see what latches
	runc cli run --fail-on-latch true
	expect_eq "$rc" 2 "exit status of stickysync run --fail-on-latch"
	expect_eq "$err" "stickysync: state file $STICKYSYNC_STATE/latches is read-only (Read-only file system); --fail-on-latch cannot see latches"
	# the library's own acknowledgment says why it cannot
	out=$(shim_only "$PROBE" open h1 "$T/a" rw ack h1 fsync h1 2>&1)
	expect_line "$out" "ack h1 = -1 EROFS"
	expect_line "$out" "fsync h1 = -1 EIO"
}

# A table file of ours that we may only read: the same, without a mount.
test_table_file_we_may_only_read() {
	[ "$(id -u)" != 0 ] || skip "root writes any file (the read-only filesystem test covers root)"
	latch "$T/a"
	chmod 400 "$STICKYSYNC_STATE/latches"
	out=$(shim_only "$PROBE" open h1 "$T/a" rw fsync h1 ack h1 2>&1)
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches is read-only \(Permission denied\): its latches are enforced, but new latches stay in this process$"
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_line "$out" "ack h1 = -1 EROFS"
	cli_lists "$T/a"
	runc cli ack --all
	expect_eq "$rc" 1
	expect_grep "$err" "is read-only \(Permission denied\); nothing was acknowledged$"
}

test_read_only_filesystem_without_a_table() {
	need_root "mount a read-only folder"
	mkdir -m 700 "$STICKYSYNC_STATE" "$T/ro"
	in_ns ro_empty_body
}

ro_empty_body() {
	read_only "$STICKYSYNC_STATE"
	out=$(latch_probe "$T/a")
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches cannot be created: Read-only file system; latches are kept in this process only"
	expect_enforced "$out"
	runc cli status
	expect_eq "$rc" 0
	expect_line "$out" "no latched files (state folder $STICKYSYNC_STATE)"
	# a folder that does not exist on a read-only filesystem
	read_only "$T/ro"
	out=$(STICKYSYNC_STATE="$T/ro/state" latch_probe "$T/c")
	one_state_line "$out" "state folder $T/ro/state cannot be opened: Read-only file system; latches are kept in this process only"
	expect_enforced "$out"
}

# ---- out of space ---------------------------------------------------------

# The state folder on a 16 KiB filesystem: no table fits.  Once the table
# was created sparse here, and the first store into it killed the program
# with SIGBUS.
test_state_on_a_full_filesystem() {
	need_root "mount a small tmpfs"
	mkdir -m 700 "$STICKYSYNC_STATE"
	in_ns enospc_body
}

enospc_body() {
	local i args=()
	mount -t tmpfs -o size=16k,mode=700 tmpfs "$STICKYSYNC_STATE"
	for i in $(seq 1 40); do
		args+=(open h1 "$T/bad$i" rwc write h1 x fsync h1 close h1)
	done
	rc=0
	out=$(shim_only STICKYSYNC_INJECT="op=fsync,path=*/bad*,count=0" "$PROBE" "${args[@]}" 2>&1) ||
		rc=$?
	expect_eq "$rc" 0 "exit status"
	expect_count "$out" '^fsync h1 = -1 EIO$' 40
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches cannot be created: No space left on device; latches are kept in this process only"
	out=$(latch_probe "$T/b")
	expect_enforced "$out"
	runc cli status
	expect_eq "$rc" 0
	expect_line "$out" "no latched files (state folder $STICKYSYNC_STATE)"
}

# A sparse table (made by a tool, or copied with holes) is allocated before
# it is written to.
test_sparse_table_is_allocated() {
	latch "$T/a"
	make_sparse "$STICKYSYNC_STATE/latches"
	read -r blocks size < <(stat -c '%b %s' "$STICKYSYNC_STATE/latches")
	[ $((blocks * 512)) -lt "$size" ] || skip "the filesystem left no holes"
	out=$(shim_only "$PROBE" open h1 "$T/a" rw fsync h1 2>&1)
	expect_line "$out" "fsync h1 = -1 EIO"
	read -r blocks size < <(stat -c '%b %s' "$STICKYSYNC_STATE/latches")
	[ $((blocks * 512)) -ge "$size" ] || {
		echo "    still sparse: $blocks blocks for $size bytes" >&2
		return 1
	}
}

# A sparse table on a full filesystem cannot be allocated: a private copy
# keeps its latches enforced, new latches stay in the process.
test_sparse_table_on_a_full_filesystem() {
	need_root "mount a small tmpfs"
	mkdir -m 700 "$STICKYSYNC_STATE"
	in_ns sparse_full_body
}

fill_up() { # FOLDER: fill its filesystem
	dd if=/dev/zero of="$1/fill" bs=4k status=none 2>/dev/null || true
}

sparse_full_body() {
	mount -t tmpfs -o size=2m,mode=700 tmpfs "$STICKYSYNC_STATE"
	STICKYSYNC_STATE_CAPACITY=1024 latch "$T/a"
	make_sparse "$STICKYSYNC_STATE/latches"
	fill_up "$STICKYSYNC_STATE"
	rc=0
	out=$(shim_only STICKYSYNC_INJECT="op=fsync,path=*/b" "$PROBE" open h1 "$T/a" rw fsync h1 \
		open h2 "$T/b" rwc write h2 x fsync h2 open h3 "$T/b" rw fsync h3 2>&1) || rc=$?
	expect_eq "$rc" 0 "exit status, in: $out"
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches is sparse and cannot be allocated \(No space left on device\): its latches are enforced, but new latches stay in this process$"
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_line "$out" "fsync h3 = -1 EIO"
	cli_lists "$T/a"
}

# ---- changes under a running program --------------------------------------

# latch_then_wait A: latch A, wait on the fifo $T/go, then sync A again
# (its fd saw the loss), latch B and sync B on a fresh fd.  Runs in the
# background; its output goes to $T/out.
latch_then_wait() {
	mkfifo "$T/go"
	shim_only STICKYSYNC_INJECT="op=fsync,path=*/a;op=fsync,path=*/b" "$@" "$PROBE" \
		open h1 "$T/a" rwc write h1 x fsync h1 open h9 "$T/go" r \
		fsync h1 open h2 "$T/b" rwc write h2 x fsync h2 open h3 "$T/b" rw fsync h3 \
		open h4 "$T/a" rw fsync h4 >"$T/out" 2>&1 &
	pid=$!
	wait_for grep -q '^fsync h1 = -1 EIO$' "$T/out"
}

resume() {
	timeout 10 sh -c "echo >'$T/go'"
	reap "$pid"
	out=$(cat "$T/out")
	expect_eq "$rc" 0 "exit status of the program, in: $out"
}

test_table_truncated_under_a_running_program() {
	latch_then_wait
	truncate -s 0 "$STICKYSYNC_STATE/latches"
	resume
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches shrank or ran out of space under this process: it now works on a private copy of what could be read; new latches stay in this process$"
	# the fd that saw the loss, and a latch made after the table vanished
	expect_count "$out" '^fsync h1 = -1 EIO$' 2
	expect_count "$out" '^fsync h[23] = -1 EIO$' 2
	cli_refuses "state file $STICKYSYNC_STATE/latches is truncated"
}

# With a second copy of the library loaded, the first keeps its guard: the
# second stays passive, attaching nothing and installing no handler.
test_table_truncated_under_a_program_with_two_copies_of_the_library() {
	[ -z "${SANITIZER_PRELOAD:-}" ] || skip "the sanitizer runtime has its own SIGBUS handler"
	cp "$LIB" "$T/copy.so"
	latch_then_wait LD_PRELOAD="$LIB $T/copy.so"
	truncate -s 0 "$STICKYSYNC_STATE/latches"
	resume
	expect_grep "$out" "shrank or ran out of space under this process"
	expect_count "$out" '^fsync h1 = -1 EIO$' 2
}

test_table_partly_truncated_under_a_running_program() {
	latch_then_wait STICKYSYNC_STATE_CAPACITY=1024
	truncate -s 70000 "$STICKYSYNC_STATE/latches"
	resume
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches shrank or ran out of space"
	expect_count "$out" '^fsync h[123] = -1 EIO$' 4
}

# The filesystem fills up and a page of the table is gone (a hole punched
# in it): the table can still be read, so nothing latched in it is lost.
test_filesystem_full_under_a_running_program() {
	need_root "mount a small tmpfs"
	mkdir -m 700 "$STICKYSYNC_STATE"
	in_ns full_under_program_body
}

full_under_program_body() {
	mount -t tmpfs -o size=2m,mode=700 tmpfs "$STICKYSYNC_STATE"
	latch_then_wait STICKYSYNC_STATE_CAPACITY=1024
	# the Bloom filter, written by every new latch
	fallocate --punch-hole --offset 4096 --length 61440 "$STICKYSYNC_STATE/latches"
	fill_up "$STICKYSYNC_STATE"
	resume
	one_state_line "$out" "state file $STICKYSYNC_STATE/latches shrank or ran out of space"
	expect_count "$out" '^fsync h[1234] = -1 EIO$' 5
}

run_tests
