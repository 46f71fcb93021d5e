#!/usr/bin/env bash
# The library's own fault injector, STICKYSYNC_INJECT: failures go through
# the same latch as real ones, and lose= makes the loss real.
. test/integration/lib.sh

inj() {
	shim_only STICKYSYNC_LOG=off "$@"
}

test_injected_failure_latches_like_a_real_one() {
	out=$(inj STICKYSYNC_INJECT='op=fsync,nth=2,errno=ENOSPC' "$PROBE" open h1 "$T/f" rwc \
		fsync h1 fsync h1 fsync h1 fdatasync h1)
	expect_line "$out" "fsync h1 = 0"
	expect_line "$out" "fsync h1 = -1 ENOSPC"
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_line "$out" "fdatasync h1 = -1 EIO"
}

test_observe_shows_what_linux_would_do() {
	out=$(inj STICKYSYNC_POLICY=observe STICKYSYNC_INJECT='op=fsync' "$PROBE" open h1 "$T/f" rwc \
		fsync h1 fsync h1)
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_line "$out" "fsync h1 = 0"
}

test_path_glob_and_op_select_the_call() {
	out=$(inj STICKYSYNC_INJECT='op=fdatasync,path=*.db-wal,count=0' "$PROBE" open h1 "$T/x.db" rwc \
		open h2 "$T/x.db-wal" rwc fdatasync h1 fsync h2 fdatasync h2)
	expect_line "$out" "fdatasync h1 = 0"
	expect_line "$out" "fsync h2 = 0"
	expect_line "$out" "fdatasync h2 = -1 EIO"
}

test_every_op_can_be_injected() {
	local op call
	for op in fdatasync sync_file_range syncfs; do
		call=$op
		[ $op = sync_file_range ] && call=sfr
		out=$(inj STICKYSYNC_INJECT="op=$op" "$PROBE" open h1 "$T/$op" rwc $call h1 fsync h1)
		expect_line "$out" "$call h1 = -1 EIO" || return 1
		expect_line "$out" "fsync h1 = -1 EIO" || return 1
	done
	out=$(inj STICKYSYNC_INJECT='op=msync' "$PROBE" open h1 "$T/m" rwc ftruncate h1 4096 msync h1 4096 fsync h1)
	expect_line "$out" "msync h1 = -1 EIO"
	expect_line "$out" "fsync h1 = -1 EIO"
	out=$(inj STICKYSYNC_INJECT='op=close' "$PROBE" open h1 "$T/c" rwc write h1 x close h1 \
		open h2 "$T/c" rw fsync h2)
	expect_line "$out" "close h1 = -1 EIO"
	expect_line "$out" "fsync h2 = -1 EIO"
	# op=sync: any sync call
	out=$(inj STICKYSYNC_INJECT='op=sync,every=1,count=3' "$PROBE" open h1 "$T/s" rwc fsync h1 \
		open h2 "$T/s2" rwc fdatasync h2 open h3 "$T/s3" rwc sfr h3)
	expect_count "$out" ' = -1 EIO$' 3
}

test_injected_write_failure_latches_only_dsync() {
	out=$(inj STICKYSYNC_INJECT='op=write,count=0,errno=EIO' "$PROBE" open h1 "$T/p" rwc write h1 x fsync h1 \
		open h2 "$T/d" rwcd pwrite h2 x 0)
	expect_line "$out" "write h1 = -1 EIO"
	expect_line "$out" "fsync h1 = 0"
	expect_line "$out" "pwrite h2 = -1 EIO"
	expect_eq "$(cat "$T/p")" "" "an injected write writes nothing"
	out=$(shim_only "$PROBE" open h2 "$T/d" rw fsync h2)
	expect_line "$out" "fsync h2 = -1 EIO"
}

test_lose_old_restores_the_last_synced_content() {
	inj STICKYSYNC_INJECT='op=fsync,nth=2,lose=old' "$PROBE" open h1 "$T/f" rwc write h1 AAAA fsync h1 \
		pwrite h1 BBBBBB 2 ftruncate h1 3 write h1 CC fsync h1 >/dev/null
	expect_eq "$(cat "$T/f")" "AAAA"
}

test_lose_zero_zeroes_the_unsynced_writes() {
	inj STICKYSYNC_INJECT='op=fsync,nth=2,lose=zero' "$PROBE" open h1 "$T/f" rwc write h1 AAAA fsync h1 \
		pwrite h1 BB 1 fsync h1 >/dev/null
	expect_eq "$(od -An -c "$T/f" | tr -s ' ')" " A \\0 \\0 A"
}

test_lose_keep_and_spilling() {
	inj STICKYSYNC_INJECT='op=fsync,nth=2,lose=keep' "$PROBE" open h1 "$T/k" rwc write h1 AAAA fsync h1 \
		pwrite h1 BB 1 fsync h1 >/dev/null
	expect_eq "$(cat "$T/k")" "ABBA"
	# nothing kept in memory: every recorded byte goes through the spill file
	inj STICKYSYNC_INJECT_MEMORY=0 STICKYSYNC_INJECT='op=fdatasync,nth=2,lose=old' "$PROBE" \
		open h1 "$T/s" rwc write h1 AAAA fdatasync h1 pwrite h1 BB 1 writev h1 CCCC fdatasync h1 >/dev/null
	expect_eq "$(cat "$T/s")" "AAAA"
}

test_lose_old_undoes_a_truncating_open() {
	printf OLDCONTENT >"$T/f"
	inj STICKYSYNC_INJECT='op=fsync,lose=old' "$PROBE" open h1 "$T/f" rwt write h1 new fsync h1 >/dev/null
	expect_eq "$(cat "$T/f")" "OLDCONTENT"
	printf OLDCONTENT >"$T/g"
	inj STICKYSYNC_INJECT='op=fsync,lose=old' "$PROBE" creat h1 "$T/g" w write h1 new fsync h1 >/dev/null
	expect_eq "$(cat "$T/g")" "OLDCONTENT"
}

test_lose_zero_of_an_append_write_zeroes_the_appended_bytes() {
	inj STICKYSYNC_INJECT='op=fsync,nth=2,lose=zero' "$PROBE" open h1 "$T/f" rwca write h1 AA fsync h1 \
		pwrite h1 BB 0 fsync h1 >/dev/null
	expect_eq "$(od -An -c "$T/f" | tr -s ' ')" " A A \\0 \\0"
}

test_injected_fclose_failure_latches_a_written_stream() {
	: >"$T/s"
	out=$(inj STICKYSYNC_INJECT='op=close,path=*/s' "$PROBE" fopen h1 "$T/s" rw fputs h1 data \
		fclose h1 open h2 "$T/s" rw fsync h2)
	expect_line "$out" "fclose h1 = -1 EIO"
	expect_line "$out" "fsync h2 = -1 EIO"
}

test_only_the_loss_since_the_last_good_sync() {
	inj STICKYSYNC_INJECT='op=fsync,nth=3,lose=old' "$PROBE" open h1 "$T/f" rwc write h1 AA fsync h1 \
		write h1 BB fsync h1 write h1 CC fsync h1 >/dev/null
	expect_eq "$(cat "$T/f")" "AABB"
}

test_prob_with_seed_is_repeatable() {
	local args=() i
	args=(open h1 "$T/f" rwc)
	for i in $(seq 1 40); do args+=(open h2 "$T/p$i" rwc fsync h2); done
	a=$(inj STICKYSYNC_INJECT='op=fsync,prob=0.4,seed=7,count=0' "$PROBE" "${args[@]}" | grep -n EIO)
	b=$(inj STICKYSYNC_INJECT='op=fsync,prob=0.4,seed=7,count=0' "$PROBE" "${args[@]}" | grep -n EIO)
	c=$(inj STICKYSYNC_INJECT='op=fsync,prob=0.4,seed=8,count=0' "$PROBE" "${args[@]}" | grep -n EIO)
	expect_eq "$a" "$b"
	[ "$a" != "$c" ]
	n=$(grep -c . <<<"$a")
	[ "$n" -gt 5 ] && [ "$n" -lt 30 ]
}

test_bad_rules_are_reported_once_and_ignored() {
	out=$(shim_only STICKYSYNC_INJECT='op=fsync;op=fsync,nht=2' "$PROBE" open h1 "$T/f" rwc fsync h1 fsync h1 2>&1)
	expect_grep "$out" 'STICKYSYNC_INJECT: rule 2, at character 19 \("nht"\): unknown key'
	expect_grep "$out" "STICKYSYNC_INJECT ignored: no faults are injected"
	expect_count "$out" '^fsync h1 = 0$' 2
}

# The probe makes one fdatasync: a rule for fsync never fires.
test_rule_that_never_fires_is_named_at_exit() {
	out=$(shim_only STICKYSYNC_INJECT='op=fsync,path=*.db-wal;op=sync,path=*.other' \
		"$PROBE" open h1 "$T/x.db-wal" rwc write h1 abc fdatasync h1 2>&1)
	expect_grep "$out" 'STICKYSYNC_INJECT rule 1 \(op=fsync,path=\*\.db-wal\) never fired; matching paths saw fdatasync x1, write x1$'
	# a rule whose path this process never touched says nothing here
	expect_no_grep "$out" "rule 2"
	# and a rule that fired says nothing either
	out=$(shim_only STICKYSYNC_INJECT='op=sync,path=*.db-wal' STICKYSYNC_LOG=stderr \
		"$PROBE" open h1 "$T/y.db-wal" rwc fdatasync h1 2>&1)
	expect_grep "$out" "fdatasync h1 = -1 EIO"
	expect_no_grep "$out" "never fired"
}

test_run_names_rules_that_never_fired_in_the_whole_run() {
	mkdir "$T/tmp"
	out=$(TMPDIR="$T/tmp" "$CLI" run --state "$T/state" --log off --inject 'op=fsync,path=*.db-wal' \
		--inject 'op=sync,path=*.fires' --inject 'op=close,path=*.nothing' -- \
		sh -c "'$PROBE' open h1 '$T/x.db-wal' rwc write h1 abc fdatasync h1 >/dev/null;
			'$PROBE' open h1 '$T/x.db-wal' rw fdatasync h1 open h2 '$T/a.fires' rwc \
				fsync h2 >/dev/null; true" 2>&1)
	# both processes' counts, added up
	expect_grep "$out" 'rule 1 \(op=fsync,path=\*\.db-wal\) never fired; matching paths saw fdatasync x2, write x1$'
	expect_no_grep "$out" "rule 2"
	expect_grep "$out" 'rule 3 \(op=close,path=\*\.nothing\) never fired; no file its path matches was synced, written or closed$'
	expect_eq "$(ls "$T/tmp")" ""
}

# A process that aborts on the failure (PostgreSQL's PANIC, --policy abort)
# never reaches its exit report: its firing is written when it happens.
test_run_counts_a_firing_in_a_process_that_aborts() {
	out=$("$CLI" run --state "$T/state" --log off --policy abort \
		--inject 'op=fsync,path=*.aborts' -- "$PROBE" open h1 "$T/x.aborts" rwc fsync h1 2>&1) || true
	expect_no_grep "$out" "never fired"
}

run_tests
