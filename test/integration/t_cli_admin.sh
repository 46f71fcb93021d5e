#!/usr/bin/env bash
# stickysync status, ack and prune: the operator's side of the latch table.
. test/integration/lib.sh
. test/integration/cli_lib.sh

ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}'

test_status_empty_does_not_create_the_folder() {
	runc cli status
	expect_eq "$rc" 0
	expect_line "$out" "no latched files (state folder $STICKYSYNC_STATE)"
	[ ! -e "$STICKYSYNC_STATE" ] || { echo "    status created the state folder" >&2; return 1; }
	runc cli status --json
	expect_eq "$rc" 0
	python3 -m json.tool <<<"$out" >/dev/null
	expect_eq "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["latches"]))' <<<"$out")" 0
}

test_status_lists_latches() {
	latch "$T/a"
	pid_line=$(cli run --log off --inject "op=fdatasync,path=*/b,errno=ENOSPC" "$PROBE" \
		open h1 "$T/b" rwc fdatasync h1 status h1)
	expect_grep "$pid_line" 'file_latched=1'
	runc cli status
	expect_eq "$rc" 0
	expect_grep "$out" '^STATE +ERROR +OP +WHEN +PID +PROGRAM +PATH$'
	expect_grep "$out" "^latched +EIO +fsync +$ISO +[0-9]+ +ssprobe +$T/a\$"
	expect_grep "$out" "^latched +ENOSPC +fdatasync +$ISO +[0-9]+ +ssprobe +$T/b\$"
	expect_eq "$(wc -l <<<"$out")" 3
	# oldest first
	expect_grep "$(sed -n 2p <<<"$out")" "$T/a\$"
}

test_status_time_is_local_iso8601() {
	latch "$T/a"
	before=$(date +%s)
	out=$(TZ=XYZ-9 cli status)
	expect_grep "$out" "T[0-9:]{8}\+09:00 "
	out=$(TZ=XYZ+3:30 cli status)
	expect_grep "$out" "T[0-9:]{8}-03:30 "
	# the same instant: the hour in UTC+9 is that of `date` in UTC+9
	hour=$(TZ=XYZ-9 date -d "@$before" +%Y-%m-%dT%H)
	hour2=$(TZ=XYZ-9 date -d "@$((before + 3600))" +%Y-%m-%dT%H)
	if ! grep -qE "($hour|$hour2):" <<<"$(TZ=XYZ-9 cli status)"; then
		echo "    expected $hour in the status" >&2
		return 1
	fi
}

test_status_json() {
	latch "$T/a"
	latch "$T/we\"ird	name"
	cli ack "$T/a" >/dev/null
	runc cli status --json --all
	expect_eq "$rc" 0
	python3 -m json.tool <<<"$out" >/dev/null
	printf '%s\n' "$out" >"$T/status.json"
	python3 - "$T" "$STICKYSYNC_STATE" "$T/status.json" <<'EOF'
import json, re, sys, time
t, state = sys.argv[1], sys.argv[2]
doc = json.load(open(sys.argv[3]))
assert doc["state"] == state, doc["state"]
recs = {r["path"]: r for r in doc["latches"]}
a, w = recs[t + "/a"], recs[t + '/we"ird\tname']
for r in (a, w):
    assert r["error"] == "EIO" and r["errno"] == 5, r
    assert r["op"] == "fsync" and r["program"] == "ssprobe" and r["pid"] > 0, r
    assert r["kind"] == "file" and re.fullmatch(r"\d+:\d+", r["dev"]) and r["ino"] > 0, r
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", r["when"]), r
    assert abs(r["when_ns"] / 1e9 - time.time()) < 600, r
assert a["acknowledged"] is True and "acknowledged_when" in a, a
assert w["acknowledged"] is False and "acknowledged_when" not in w, w
EOF
	# without --all: the unacknowledged one only
	runc cli status --json
	expect_eq "$(python3 -c 'import json,sys; print([r["path"][-4:] for r in json.load(sys.stdin)["latches"]])' <<<"$out")" "['name']"
}

test_status_json_non_utf8_path() {
	latch "$T/bad$(printf '\377')name"
	runc cli status --json
	expect_eq "$rc" 0
	python3 -m json.tool <<<"$out" >/dev/null
	expect_grep "$out" 'bad\\ufffdname'
}

test_status_all_shows_acknowledged() {
	latch "$T/a"
	cli ack "$T/a" >/dev/null
	runc cli status
	expect_line "$out" "no latched files (state folder $STICKYSYNC_STATE)"
	runc cli status --all
	expect_grep "$out" "^acked +EIO +fsync .* $T/a\$"
}

test_state_option_and_variable() {
	latch "$T/a"
	runc env -u STICKYSYNC_STATE HOME="$T/home" XDG_STATE_HOME= "$CLI" status --state "$STICKYSYNC_STATE"
	expect_grep "$out" "$T/a\$"
	# STICKYSYNC_STATE is honoured like --state; --state wins over it
	runc env STICKYSYNC_STATE="$T/elsewhere" "$CLI" status
	expect_line "$out" "no latched files (state folder $T/elsewhere)"
	runc env STICKYSYNC_STATE="$T/elsewhere" "$CLI" status --state "$STICKYSYNC_STATE"
	expect_grep "$out" "$T/a\$"
	# the default, as the library computes it
	if [ "$(id -u)" = 0 ]; then
		want=/var/lib/stickysync
	else
		want="$T/xdg/stickysync"
	fi
	# (the folder's content is not this test's: it may even be refused)
	runc env -u STICKYSYNC_STATE XDG_STATE_HOME="$T/xdg" "$CLI" status --json
	expect_grep "$out$err" "(\"state\": \"$want\",|state (folder|file) ${want}[/ ])"
	runc env STICKYSYNC_STATE=off "$CLI" status
	expect_eq "$rc" 1
	expect_line "$err" "stickysync: the state is off: latches live inside each process only, with nothing to read here; give --state DIR"
	runc env STICKYSYNC_STATE=relative "$CLI" status
	expect_eq "$rc" 1
	expect_line "$err" 'stickysync: STICKYSYNC_STATE="relative" is not an absolute folder path or "off"'
	# a malformed variable the command does not need does not stop it
	runc env STICKYSYNC_POLICY=typo "$CLI" status --state "$STICKYSYNC_STATE"
	expect_eq "$rc" 0
}

test_status_refuses_unsafe_folder() {
	mkdir -m 0777 "$T/open"
	chmod 0777 "$T/open"
	: >"$T/open/latches"
	runc cli status --state "$T/open"
	expect_eq "$rc" 1
	expect_line "$err" "stickysync: state folder $T/open is writable by group or others; refused (expected a folder of yours, mode 0700)"
}

test_admin_bad_arguments() {
	runc cli status --json=x
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: status: --json takes no value (see stickysync --help)"
	runc cli status --active
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: status: unknown option --active (see stickysync --help)"
	runc cli status --state
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: status: --state needs a value (see stickysync --help)"
	runc cli ack
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: ack: expected PATH... or --all (see stickysync --help)"
	runc cli ack --all "$T/a"
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: ack: expected PATH... or --all (see stickysync --help)"
	runc cli ack --json "$T/a"
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: ack: unknown option --json (see stickysync --help)"
	runc cli prune --all
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: prune: unknown option --all (see stickysync --help)"
	runc cli prune x
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: prune: unexpected argument x (see stickysync --help)"
}

test_ack_by_path() {
	latch "$T/a"
	latch "$T/b"
	runc cli ack "$T/a"
	expect_eq "$rc" 0
	expect_grep "$out" "^acknowledged $T/a: EIO in fsync by ssprobe\[[0-9]+\] at $ISO\$"
	expect_grep "$out" '^note: fds opened before a loss stay latched'
	runc cli status
	expect_no_grep "$out" "$T/a\$"
	expect_grep "$out" "$T/b\$"
	# a relative path names the same file; acknowledging again is no error
	cd "$T"
	runc cli ack a
	cd "$TOP"
	expect_eq "$rc" 0
	expect_line "$out" "a: already acknowledged"
	# a fresh fd now syncs
	runc shim_only "$PROBE" open h1 "$T/a" rw fsync h1
	expect_line "$out" "fsync h1 = 0"
	runc shim_only "$PROBE" open h1 "$T/b" rw fsync h1
	expect_line "$out" "fsync h1 = -1 EIO"
}

test_ack_path_without_latch_fails() {
	latch "$T/a"
	: >"$T/clean"
	runc cli ack "$T/clean" "$T/a" "$T/missing"
	expect_eq "$rc" 1
	expect_line "$err" "stickysync: $T/clean: no latch recorded in $STICKYSYNC_STATE or on the file"
	expect_line "$err" "stickysync: $T/missing: no latch recorded in $STICKYSYNC_STATE or on the file"
	expect_grep "$out" "^acknowledged $T/a: "
	# no table at all yet
	mkdir -m 700 "$T/none"
	runc cli ack --state "$T/none" "$T/clean"
	expect_eq "$rc" 1
	expect_line "$err" "stickysync: $T/clean: no latch recorded in $T/none or on the file"
}

test_ack_gone_file_by_recorded_path() {
	latch "$T/gone"
	rm "$T/gone"
	runc cli ack "$T/gone"
	expect_eq "$rc" 0
	expect_grep "$out" "^acknowledged $T/gone: EIO in fsync"
	# replaced by a new file: the latch of the old one is found by its path
	latch "$T/re"
	rm "$T/re"
	: >"$T/re"
	runc cli ack "$T/re"
	expect_eq "$rc" 0
	expect_grep "$out" "^acknowledged $T/re: "
	runc cli status
	expect_line "$out" "no latched files (state folder $STICKYSYNC_STATE)"
}

test_ack_follows_renames_by_identity() {
	latch "$T/old-name"
	mv "$T/old-name" "$T/new-name"
	runc cli ack "$T/new-name"
	expect_eq "$rc" 0
	expect_grep "$out" "^acknowledged $T/old-name: "
}

test_ack_all() {
	latch "$T/a"
	latch "$T/b"
	runc cli ack --all
	expect_eq "$rc" 0
	expect_grep "$out" "^acknowledged $T/a: "
	expect_grep "$out" "^acknowledged $T/b: "
	runc cli status
	expect_line "$out" "no latched files (state folder $STICKYSYNC_STATE)"
	runc cli ack --all
	expect_eq "$rc" 0
	expect_line "$out" "nothing to acknowledge (state folder $STICKYSYNC_STATE)"
}

# The core rule, through the command: an fd opened before the loss saw it and
# stays latched after `stickysync ack`; one opened after the ack syncs.
test_ack_keeps_fds_opened_before_the_latch() {
	f="$T/f"
	mkfifo "$T/go"
	cli run --log off --inject "op=fsync,path=$f" "$PROBE" open h1 "$f" rwc write h1 x \
		fsync h1 open h3 "$T/go" r fsync h1 open h2 "$f" rw fsync h2 close h1 \
		>"$T/probe.out" 2>&1 &
	pid=$!
	latched_now() { cli status | grep -q "^latched .* $f\$"; }
	wait_for latched_now
	runc cli ack "$f"
	expect_eq "$rc" 0
	: >"$T/go" # let the probe go on
	reap "$pid"
	out=$(cat "$T/probe.out")
	expect_count "$out" '^fsync h1 = -1 EIO$' 2 "the old fd, before and after the ack"
	expect_line "$out" "fsync h2 = 0"
}

test_ack_filesystem_latch() {
	runc cli run --log off --inject "op=syncfs,path=$T/fs" "$PROBE" open h1 "$T/fs" rwc syncfs h1
	expect_line "$out" "syncfs h1 = -1 EIO"
	runc cli status
	expect_grep "$out" "^latched +EIO +syncfs .* filesystem [0-9]+:[0-9]+ \(synced through $T/fs\)\$"
	: >"$T/other"
	runc shim_only "$PROBE" open h1 "$T/other" rw fsync h1
	expect_line "$out" "fsync h1 = -1 EIO"
	# a file on it does not acknowledge the filesystem's loss; its root does
	runc cli ack "$T/other"
	expect_eq "$rc" 1
	runc shim_only "$PROBE" open h1 "$T/other" rw fsync h1
	expect_line "$out" "fsync h1 = -1 EIO"
	runc cli ack "$(stat -c %m "$T")"
	expect_eq "$rc" 0
	expect_grep "$out" "^acknowledged filesystem [0-9]+:[0-9]+ \(synced through $T/fs\): EIO in syncfs"
	runc shim_only "$PROBE" open h1 "$T/other" rw fsync h1
	expect_line "$out" "fsync h1 = 0"
}

test_prune() {
	latch "$T/kept"
	latch "$T/acked-gone"
	latch "$T/active-gone"
	cli ack "$T/kept" "$T/acked-gone" >/dev/null
	rm "$T/acked-gone" "$T/active-gone"
	runc cli prune
	expect_eq "$rc" 0
	expect_line "$out" "pruned $T/acked-gone (acknowledged)"
	expect_no_grep "$out" "kept|active-gone"
	runc cli status --all
	expect_grep "$out" "$T/kept\$"
	expect_grep "$out" "$T/active-gone\$"
	runc cli prune --active
	expect_line "$out" "pruned $T/active-gone (unacknowledged)"
	runc cli prune
	expect_line "$out" "nothing to prune (state folder $STICKYSYNC_STATE)"
	mkdir -m 700 "$T/none"
	runc cli prune --state "$T/none"
	expect_line "$out" "nothing to prune (state folder $T/none)"
	[ ! -e "$T/none/latches" ]
}

test_status_of_a_folder_that_does_not_exist_is_an_error() {
	runc cli status --state "$T/typo"
	expect_eq "$rc" 1
	expect_grep "$err" "state folder $T/typo does not exist"
	[ ! -e "$T/typo" ] # and looking created nothing
	mkdir -m 700 "$T/empty"
	runc cli status --state "$T/empty"
	expect_eq "$rc" 0
	expect_grep "$out" "^no latched files"
}

run_tests
