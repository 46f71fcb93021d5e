#!/usr/bin/env bash
# Latches that travel with the file (the user.stickysync attribute): two
# state folders on one filesystem stand for two hosts sharing a volume.
. test/integration/lib.sh
. test/integration/cli_lib.sh

# on_host A|B [VAR=value...] CMD...: CMD under host A's or B's state folder.
on_host() {
	local host=$1
	shift
	[ -d "$T/$host" ] || mkdir -m 0700 "$T/$host"
	STICKYSYNC_STATE="$T/$host" shim_only env "$@"
}

# latch_on_a FILE: a process under A latches FILE (injected ENOSPC).
latch_on_a() {
	on_host A STICKYSYNC_INJECT="op=fsync,path=$1,errno=ENOSPC" "$PROBE" \
		open h1 "$1" rwc write h1 data fsync h1 close h1 2>"$T/a.err"
}

# attr FILE: the attribute's value, or "none".
attr() {
	python3 -c 'import os, sys
try: print(os.getxattr(sys.argv[1], "user.stickysync").decode())
except OSError: print("none")' "$1"
}

need_user_xattrs() {
	python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.probe", b"1")' "$T" 2>/dev/null ||
		skip "no user.* extended attributes on $T"
}

test_a_latch_is_recorded_on_the_file() {
	need_user_xattrs
	out=$(latch_on_a "$T/f")
	expect_line "$out" "fsync h1 = -1 ENOSPC"
	expect_grep "$(attr "$T/f")" "^1 ENOSPC fsync [0-9]+ [0-9]+ [^ ]{1,10} ssprobe\$"
	expect_no_grep "$(cat "$T/a.err")" "local only"
}

test_another_host_refuses_then_its_ack_clears_both() {
	need_user_xattrs
	latch_on_a "$T/f" >/dev/null
	# B never saw the failure: its fresh fd is refused, by the file's word
	out=$(on_host B "$PROBE" open h1 "$T/f" rw write h1 x fsync h1 status h1 2>"$T/b.err")
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_grep "$out" "^status h1 = fd_latched=0 file_latched=1 acknowledged=0 error=ENOSPC op=fsync"
	expect_grep "$(cat "$T/b.err")" "returns EIO: the file lost data \(fsync failed with ENOSPC in pid [0-9]+ on .*, recorded on the file\)"
	# a restarted process under A: its own table says so
	expect_line "$(on_host A "$PROBE" open h1 "$T/f" rw fsync h1 2>/dev/null)" "fsync h1 = -1 EIO"
	# the operator on B acknowledges
	runc cli ack --state "$T/B" "$T/f"
	expect_eq "$rc" 0
	expect_grep "$out" "^acknowledged $T/f: ENOSPC in fsync by ssprobe@.*\[[0-9]+\] at .* \(recorded on the file\)\$"
	expect_grep "$(attr "$T/f")" "^1 acked ack-[0-9a-f]{6} [0-9]+ [0-9]+ .* stickysync\$"
	expect_line "$(on_host B "$PROBE" open h1 "$T/f" rw write h1 x fsync h1 2>/dev/null)" "fsync h1 = 0"
	# and A, whose table still held the latch, follows
	out=$(on_host A "$PROBE" open h1 "$T/f" rw write h1 x fsync h1 2>"$T/a2.err")
	expect_line "$out" "fsync h1 = 0"
	expect_grep "$(cat "$T/a2.err")" "loss on $T/f acknowledged on .* by stickysync \(recorded on the file\)"
	runc cli status --state "$T/A"
	expect_line "$out" "no latched files (state folder $T/A)"
}

test_status_path_shows_what_only_the_file_knows() {
	need_user_xattrs
	latch_on_a "$T/f" >/dev/null
	mkdir -m 0700 "$T/B"
	runc cli status --state "$T/B"
	expect_line "$out" "no latched files (state folder $T/B)"
	runc cli status --state "$T/B" "$T/f" "$T/nothing"
	expect_eq "$rc" 0
	expect_grep "$out" '^STATE +ERROR +OP +WHEN +PID +PROGRAM +PATH$'
	expect_grep "$out" "^on-file +ENOSPC +fsync +[-0-9T:+]+ +[0-9]+ ssprobe@[^ ]+ +$T/f\$"
	expect_eq "$(wc -l <<<"$out")" 2
	# under A: the table's record and the file's
	runc cli status --state "$T/A" "$T/f"
	expect_grep "$out" "^latched +ENOSPC +fsync .* ssprobe +$T/f\$"
	expect_grep "$out" "^on-file +ENOSPC"
	cli status --state "$T/B" --json "$T/f" >"$T/status.json"
	python3 - "$T/f" "$T/status.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[2]))
assert doc["latches"] == [], doc
[a] = doc["on_file"]
assert a["path"] == sys.argv[1] and a["acknowledged"] is False, a
assert a["error"] == "ENOSPC" and a["errno"] == 28 and a["op"] == "fsync", a
assert a["program"] == "ssprobe" and a["host"] and a["pid"] > 0, a
PY
	cli ack --state "$T/B" "$T/f" >/dev/null
	runc cli status --state "$T/B" "$T/f"
	expect_line "$out" "no latched files for $T/f (state folder $T/B, and on the file)"
	runc cli status --state "$T/B" --all "$T/f"
	expect_grep "$out" "^file-ack +- +ack .* stickysync@[^ ]+ +$T/f\$"
	runc cli ack --state "$T/B" "$T/f"
	expect_eq "$rc" 0
	expect_line "$out" "$T/f: already acknowledged"
	runc cli ack --state "$T/B" "$T/nothing"
	expect_eq "$rc" 1
	expect_line "$err" "stickysync: $T/nothing: no latch recorded in $T/B or on the file"
}

test_ack_fails_when_the_file_cannot_take_it() {
	need_user_xattrs
	[ "$(id -u)" = 0 ] || skip "chattr +i needs root"
	latch_on_a "$T/f" >/dev/null
	chattr +i "$T/f" 2>/dev/null || skip "no immutable files on $T"
	runc cli ack --state "$T/A" "$T/f"
	rc_path=$rc err_path=$err
	runc cli ack --state "$T/A" --all
	chattr -i "$T/f"
	expect_eq "$rc_path" 1
	expect_line "$err_path" "stickysync: $T/f: the latch recorded on the file (user.stickysync) cannot be acknowledged: Operation not permitted; nothing was acknowledged"
	expect_eq "$rc" 1 "ack --all"
	expect_no_grep "$out" "^acknowledged"
	runc cli status --state "$T/A"
	expect_grep "$out" "^latched +ENOSPC"
}

test_xattr_off_records_and_honours_nothing() {
	need_user_xattrs
	on_host A STICKYSYNC_XATTR=off STICKYSYNC_INJECT="op=fsync,path=$T/f" "$PROBE" \
		open h1 "$T/f" rwc write h1 data fsync h1 >/dev/null 2>&1
	expect_eq "$(attr "$T/f")" none
	# a latch written by a host where it is on is ignored where it is off
	latch_on_a "$T/g" >/dev/null
	expect_line "$(on_host B STICKYSYNC_XATTR=off "$PROBE" open h1 "$T/g" rw fsync h1)" "fsync h1 = 0"
	expect_line "$(on_host B "$PROBE" open h1 "$T/g" rw fsync h1 2>/dev/null)" "fsync h1 = -1 EIO"
}

# The file cannot take the attribute: the latch holds on this host, and the
# report says it is local only.
test_local_only_when_the_file_refuses_the_attribute() {
	need_user_xattrs
	[ "$(id -u)" = 0 ] || skip "needs root to run as another user"
	command -v setpriv >/dev/null || skip "setpriv not installed"
	printf 'data' >"$T/f"
	chmod 0644 "$T/f"
	chmod 0755 "$T"
	# nobody may read the file, not write it: nor its user.* attributes
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB" \
		STICKYSYNC_STATE=off STICKYSYNC_INJECT="op=fsync,path=$T/f" \
		"$PROBE" open h1 "$T/f" r fsync h1 fsync h1 2>"$T/err")
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_count "$out" 'fsync h1 = -1 EIO' 2
	expect_grep "$(cat "$T/err")" "; the latch is local only \(user.stickysync not written: EACCES\)\$"
	expect_eq "$(attr "$T/f")" none
}

test_a_recreated_file_has_no_latch() {
	need_user_xattrs
	latch_on_a "$T/f" >/dev/null
	rm "$T/f"
	expect_line "$(on_host B "$PROBE" open h1 "$T/f" rwc write h1 x fsync h1 2>/dev/null)" "fsync h1 = 0"
	expect_line "$(on_host A "$PROBE" open h1 "$T/f" rw write h1 x fsync h1 2>/dev/null)" "fsync h1 = 0"
}

# A copy that keeps extended attributes keeps the latch, as it keeps the
# damaged bytes; a copy without them is a new file, made on purpose.
test_copies_that_keep_attributes_keep_the_latch() {
	need_user_xattrs
	latch_on_a "$T/f" >/dev/null
	mkdir "$T/tar" "$T/tarx"
	cp -a "$T/f" "$T/cp-a"
	cp "$T/f" "$T/cp"
	tar --xattrs -C "$T" -cf "$T/x.tar" f && tar --xattrs --xattrs-include='user.*' -C "$T/tarx" -xf "$T/x.tar"
	tar -C "$T" -cf "$T/p.tar" f && tar -C "$T/tar" -xf "$T/p.tar"
	for copy in cp-a tarx/f; do
		expect_line "$(on_host B "$PROBE" open h1 "$T/$copy" rw fsync h1 2>/dev/null)" "fsync h1 = -1 EIO"
	done
	for copy in cp tar/f; do
		expect_line "$(on_host B "$PROBE" open h1 "$T/$copy" rw fsync h1 2>/dev/null)" "fsync h1 = 0"
	done
	if command -v rsync >/dev/null; then
		rsync -X "$T/f" "$T/rsync-X"
		rsync "$T/f" "$T/rsync"
		expect_line "$(on_host B "$PROBE" open h1 "$T/rsync-X" rw fsync h1 2>/dev/null)" "fsync h1 = -1 EIO"
		expect_line "$(on_host B "$PROBE" open h1 "$T/rsync" rw fsync h1 2>/dev/null)" "fsync h1 = 0"
	else
		echo "    (rsync not installed: rsync -X not checked)" >&2
	fi
	# the copy is acknowledged on its own
	cli ack --state "$T/A" "$T/cp-a" >/dev/null
	expect_line "$(on_host B "$PROBE" open h1 "$T/cp-a" rw fsync h1 2>/dev/null)" "fsync h1 = 0"
	expect_line "$(on_host B "$PROBE" open h1 "$T/f" rw fsync h1 2>/dev/null)" "fsync h1 = -1 EIO"
}

# Whatever the value, it is a latch; the report says EIO.
test_a_foreign_value_still_latches() {
	need_user_xattrs
	printf 'x' >"$T/f"
	python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.stickysync", b"\xff garbage")' "$T/f"
	out=$(on_host B "$PROBE" open h1 "$T/f" rw fsync h1 2>"$T/err")
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_grep "$(cat "$T/err")" "sync failed with EIO on \?, recorded on the file"
	runc cli status --state "$T/B" "$T/f"
	expect_grep "$out" "^on-file +EIO +sync "
}

# The attribute is read once per fd while the file holds none, and never
# when nothing is latched and it is off.
test_one_getxattr_per_fd() {
	need_user_xattrs
	command -v strace >/dev/null || skip "strace not installed"
	printf 'x' >"$T/f"
	mkdir -m 0700 "$T/A"
	STICKYSYNC_STATE="$T/A" strace -f -qq -e trace=fgetxattr -o "$T/trace" \
		env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB" "$PROBE" open h1 "$T/f" rw write h1 a fsync h1 write h1 b \
		fsync h1 fdatasync h1 dup h2 h1 fsync h2 open h3 "$T/f" r fsync h3 >/dev/null
	expect_eq "$(grep -c 'fgetxattr(.*"user.stickysync"' "$T/trace")" 2 "one per open file description"
	STICKYSYNC_STATE="$T/A" STICKYSYNC_XATTR=off strace -f -qq -e trace=fgetxattr \
		-o "$T/trace" env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB" "$PROBE" open h1 "$T/f" rw fsync h1 >/dev/null
	expect_eq "$(grep -c fgetxattr "$T/trace")" 0 "STICKYSYNC_XATTR=off"
}

run_tests
