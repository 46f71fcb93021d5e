#!/usr/bin/env bash
# stickysync run: the preload, option passing, validation before CMD starts,
# exit statuses, --fail-on-latch.
. test/integration/lib.sh
. test/integration/cli_lib.sh

test_short_options_and_version_command() {
	runc cli -h
	expect_eq "$rc" 0
	expect_grep "$out" '^ +stickysync -h \| --help \| -V \| --version \| version$'
	for v in -V --version version; do
		runc cli "$v"
		expect_eq "$rc" 0 "$v"
		expect_grep "$out" '^stickysync [0-9]+\.[0-9]+\.[0-9]+$'
	done
}

test_help_and_version() {
	runc cli --help
	expect_eq "$rc" 0
	expect_grep "$out" '^Usage: stickysync run \[OPTION\]\.\.\. \[--\] CMD \[ARG\]\.\.\.$'
	expect_grep "$out" 'fail-on-latch'
	for sub in run status ack prune; do
		runc cli "$sub" --help
		expect_eq "$rc" 0 "$sub --help"
		expect_grep "$out" '^Usage: '
	done
	runc cli --version
	expect_eq "$rc" 0
	want=$(sed -n 's/^VERSION *:= *//p' Makefile)
	expect_line "$out" "stickysync $want"
}

test_bad_arguments() {
	runc cli
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: missing command: run, status, ack or prune (see stickysync --help)"
	runc cli frobnicate
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: unknown command frobnicate: expected run, status, ack or prune (see stickysync --help)"
	runc cli --frob
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: unknown option --frob (see stickysync --help)"
	runc cli run
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: run: missing CMD (see stickysync --help)"
	runc cli run --frob true
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: run: unknown option --frob (see stickysync --help)"
	runc cli run -x true
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: run: unknown option -x (see stickysync --help)"
	runc cli run true --policy
	expect_eq "$rc" 0 "options after CMD are CMD's"
	runc cli run --policy
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: run: --policy needs a value (see stickysync --help)"
	# every error is one line
	expect_eq "$(wc -l <<<"$err")" 1
}

test_prepends_to_ld_preload() {
	build_c "$T/empty.so" 'int stickysync_test_empty;' -shared -fPIC
	san=$(sanitizer_prefix)
	LD_PRELOAD="$T/empty.so" runc cli run sh -c 'printf "%s\n" "$LD_PRELOAD"'
	expect_eq "$rc" 0
	expect_line "$out" "$san$LIB:$T/empty.so"
	# colons and spaces both separate entries; a second copy of the shim is dropped
	LD_PRELOAD="$LIB $T/empty.so:$LIB" runc cli run sh -c 'printf "%s\n" "$LD_PRELOAD"'
	expect_line "$out" "$san$LIB:$T/empty.so"
	# nothing before: just the shim
	(
		unset LD_PRELOAD
		runc cli run sh -c 'printf "%s\n" "$LD_PRELOAD"'
		expect_line "$out" "$san$LIB"
	)
}

test_sanitizer_runtimes_stay_first() {
	[ -n "${SANITIZER_PRELOAD:-}" ] && skip "the sanitizer build preloads the real runtimes"
	build_c "$T/empty.so" 'int x;' -shared -fPIC
	mkdir "$T/san" && cp "$T/empty.so" "$T/san/libasan.so.8"
	LD_PRELOAD="$T/empty.so $T/san/libasan.so.8" runc "$CLI" run --log off \
		sh -c 'printf "%s\n" "$LD_PRELOAD"'
	expect_line "$out" "$T/san/libasan.so.8:$LIB:$T/empty.so"
}

test_library_next_to_the_command() {
	[ -n "${SANITIZER_PRELOAD:-}" ] && skip "a copied sanitizer build needs its runtimes preloaded"
	mkdir "$T/bin"
	cp "$CLI" "$LIB" "$T/bin/"
	(
		unset LD_PRELOAD
		runc "$T/bin/stickysync" run sh -c 'printf "%s\n" "$LD_PRELOAD"'
		expect_eq "$rc" 0
		expect_line "$out" "$T/bin/libstickysync.so"
	)
	rm "$T/bin/libstickysync.so"
	runc env -u STICKYSYNC_LIBRARY "$T/bin/stickysync" run true
	[ "$rc" = 0 ] && skip "a libstickysync.so is installed where the command looks"
	expect_eq "$rc" 2
	expect_grep "$err" '^stickysync: cannot find libstickysync.so next to this program, in /[^ ]+( or in /[^ ]+)?; give --library or set STICKYSYNC_LIBRARY$'
}

test_options_become_variables() {
	runc cli run --policy observe --log "$T/log" --state "$T/st" \
		--inject 'op=fsync,path=*/a' --inject 'op=close,path=*/b,errno=ENOSPC' \
		sh -c 'env | grep ^STICKYSYNC_ | sort'
	expect_eq "$rc" 0
	expect_line "$out" "STICKYSYNC_POLICY=observe"
	expect_line "$out" "STICKYSYNC_LOG=$T/log"
	expect_line "$out" "STICKYSYNC_STATE=$T/st"
	expect_line "$out" "STICKYSYNC_INJECT=op=fsync,path=*/a;op=close,path=*/b,errno=ENOSPC"
	# relative paths are made absolute: CMD may change folder
	cd "$T"
	runc cli run --log rel.log --state relstate sh -c 'env | grep ^STICKYSYNC_ | sort'
	cd "$TOP"
	expect_line "$out" "STICKYSYNC_LOG=$T/rel.log"
	expect_line "$out" "STICKYSYNC_STATE=$T/relstate"
	# options override inherited variables; unset ones stay inherited
	STICKYSYNC_POLICY=failstop STICKYSYNC_LOG=off runc cli run --policy abort \
		sh -c 'env | grep ^STICKYSYNC_ | sort'
	expect_line "$out" "STICKYSYNC_POLICY=abort"
	expect_line "$out" "STICKYSYNC_LOG=off"
}

# The library really gets them: the default policy makes a retry fail,
# observe lets it succeed as plain Linux does.
test_policy_reaches_the_library() {
	f="$T/db"
	runc cli run --inject "op=fsync,path=$f" "$PROBE" open h1 "$f" rwc write h1 a fsync h1 fsync h1
	expect_eq "$rc" 0
	expect_count "$out" '^fsync h1 = -1 EIO$' 2 "sticky: the retry fails"
	runc cli run --policy observe --state off --inject "op=fsync,path=$f" "$PROBE" \
		open h1 "$f" rw write h1 a fsync h1 fsync h1
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_line "$out" "fsync h1 = 0"
	expect_grep "$err" 'observe policy'
	runc cli run --policy failstop --state off --inject "op=fsync,path=$f" "$PROBE" \
		open h1 "$f" rw fsync h1 write h1 b
	expect_line "$out" "write h1 = -1 EIO"
}

test_log_reaches_the_library() {
	f="$T/db"
	runc cli run --log "$T/log" --inject "op=fsync,path=$f" "$PROBE" open h1 "$f" rwc fsync h1
	expect_eq "$err" "" "nothing on stderr with --log FILE"
	expect_grep "$(cat "$T/log")" "^stickysync: ssprobe\[[0-9]+\]: fsync\(fd [0-9]+, $f\) failed: EIO"
	runc cli run --log off --inject "op=fsync,path=$f" "$PROBE" open h1 "$f" rwc fsync h1
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_eq "$err" "" "--log off"
}

test_state_reaches_the_library() {
	latch "$T/x"
	[ -e "$STICKYSYNC_STATE/latches" ] || { echo "no table in STICKYSYNC_STATE" >&2; return 1; }
	runc cli run --state "$T/other" --log off --inject "op=fsync,path=*/y" "$PROBE" \
		open h1 "$T/y" rwc fsync h1
	[ -e "$T/other/latches" ]
	runc cli status --state "$T/other"
	expect_grep "$out" "$T/y\$"
	expect_no_grep "$out" "$T/x\$"
}

# Nothing runs when a setting is wrong: CMD would leave this file.
not_started() {
	if [ -e "$T/started" ]; then
		echo "    CMD was started" >&2
		return 1
	fi
}

test_bad_settings_stop_before_cmd() {
	started=(sh -c ": > '$T/started'")
	runc cli run --policy nope "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" 'stickysync: run: --policy expects sticky, failstop, abort or observe, not "nope" (see stickysync --help)'
	runc cli run --log "" "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" 'stickysync: run: --log expects stderr, syslog, off or a file, not "" (see stickysync --help)'
	runc cli run --state "" "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" 'stickysync: run: --state expects a folder or off, not "" (see stickysync --help)'
	# inherited variables are checked as the library would read them
	STICKYSYNC_POLICY=typo runc cli run "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" 'stickysync: STICKYSYNC_POLICY="typo" is not one of sticky, failstop, abort, observe'
	STICKYSYNC_STATE_CAPACITY=1000 runc cli run "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" 'stickysync: STICKYSYNC_STATE_CAPACITY="1000" is not a power of two from 16 to 4194304'
	STICKYSYNC_LOG=relative runc cli run "${started[@]}"
	expect_eq "$rc" 2
	expect_grep "$err" '^stickysync: STICKYSYNC_LOG="relative" is not stderr, syslog, off or an absolute file path$'
	not_started
}

test_bad_inject_rule_shows_position() {
	started=(sh -c ": > '$T/started'")
	runc cli run --inject 'op=fsync,nth=x' "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" 'stickysync: --inject "op=fsync,nth=x": rule 1, at character 14 ("x"): expected a whole number of at least 1'
	runc cli run --inject 'op=fsync' --inject 'op=fsync;op=fsink' "${started[@]}"
	expect_eq "$rc" 2
	expect_grep "$err" '^stickysync: --inject "op=fsync;op=fsink": rule 2, at character 13 \("fsink"\): op expects '
	runc cli run --inject 'path=*.db' "${started[@]}"
	expect_eq "$rc" 2
	expect_grep "$err" 'rule 1, at character 1 .*the rule has no op='
	runc cli run --inject 'op=fsync,colour=red' "${started[@]}"
	expect_eq "$rc" 2
	expect_grep "$err" 'at character 10 \("colour"\): unknown key'
	STICKYSYNC_INJECT='op=fsync,errno=EWHAT' runc cli run "${started[@]}"
	expect_eq "$rc" 2
	expect_grep "$err" '^stickysync: STICKYSYNC_INJECT: rule 1, at character 16 \("EWHAT"\): errno expects'
	# the rules of all --inject options together: at most 16
	args=()
	for i in $(seq 17); do args+=(--inject "op=fsync,path=/r$i"); done
	runc cli run "${args[@]}" "${started[@]}"
	expect_eq "$rc" 2
	expect_grep "$err" 'rule 17, .*too many rules'
	# the whole of --inject must fit in STICKYSYNC_INJECT
	args=()
	for i in $(seq 16); do args+=(--inject "op=fsync,path=/$(printf %0250d "$i")"); done
	runc cli run "${args[@]}" "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: --inject: the rules together are longer than the 4095 bytes STICKYSYNC_INJECT may hold"
	not_started
	expect_eq "$(wc -l <"$T/.err")" 1 "one line"
}

test_refused_state_folder_stops_before_cmd() {
	mkdir -m 0777 "$T/open"
	chmod 0777 "$T/open"
	runc cli run --state "$T/open" sh -c ": > '$T/started'"
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: state folder $T/open is writable by group or others; refused (expected a folder of yours, mode 0700)"
	runc cli run --fail-on-latch --state "$T/open" sh -c ": > '$T/started'"
	expect_eq "$rc" 2
	not_started
}

test_exit_status_is_cmds() {
	for mode in "" --fail-on-latch; do
		runc cli run $mode sh -c 'exit 7'
		expect_eq "$rc" 7 "exit 7 $mode"
		runc cli run $mode sh -c 'kill -KILL $$'
		expect_eq "$rc" 137 "killed $mode"
		runc cli run $mode stickysync-no-such-command
		expect_eq "$rc" 127 "not found $mode"
		expect_line "$err" "stickysync: stickysync-no-such-command: command not found"
		printf 'x\n' >"$T/noexec"
		chmod 0644 "$T/noexec"
		runc cli run $mode "$T/noexec"
		expect_eq "$rc" 126 "not executable $mode"
		expect_line "$err" "stickysync: $T/noexec: cannot run: Permission denied"
		# as execvp: a script without #! runs with sh, PATH unset means the
		# default path (never the current folder)
		printf 'echo ran-by-sh\n' >"$T/noshebang" && chmod +x "$T/noshebang"
		runc env PATH="$T:$PATH" "$CLI" run $mode noshebang
		expect_line "$out" "ran-by-sh"
		runc env -i LD_PRELOAD="${SANITIZER_PRELOAD:-}" ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
			"$CLI" run --state off $mode -- ls -d /
		expect_line "$out" "/"
		runc cli run $mode -- sh -c 'echo "$@"' sh --policy x
		expect_eq "$rc" 0
		expect_line "$out" "--policy x"
	done
}

test_fail_on_latch_status_and_table() {
	f="$T/data.db"
	runc cli run --log off --fail-on-latch --inject "op=fsync,path=*.db" "$PROBE" \
		open h1 "$f" rwc write h1 a fsync h1 close h1
	expect_eq "$rc" 74
	expect_line "$out" "fsync h1 = -1 EIO"
	expect_line "$err" "stickysync: 1 file latched while $PROBE ran (it exited with status 0); exit status 74:"
	expect_grep "$err" '^  STATE +ERROR +OP +WHEN +PID +PROGRAM +PATH$'
	expect_grep "$err" "^  latched +EIO +fsync +[0-9T:+-]+ +[0-9]+ ssprobe +$f\$"
	# CMD's own failure is named, the latch wins
	runc cli run --log off --fail-on-latch --inject "op=fdatasync,path=*.db,errno=ENOSPC" \
		sh -c "\"$PROBE\" open h1 '$T/b.db' rwc fdatasync h1; exit 5"
	expect_eq "$rc" 74
	expect_grep "$err" 'latched while sh ran \(it exited with status 5\)'
	expect_grep "$err" "^  latched +ENOSPC +fdatasync .* $T/b.db\$"
}

test_fail_on_latch_without_latch() {
	runc cli run --fail-on-latch --inject "op=fsync,path=*/never" "$PROBE" \
		open h1 "$T/f" rwc fsync h1
	expect_eq "$rc" 0
	# nothing latched: the one line names the rule that never fired
	expect_eq "$err" "stickysync: warning: STICKYSYNC_INJECT rule 1 (op=fsync,path=*/never) never fired; no file its path matches was synced, written or closed"
	runc cli run --fail-on-latch sh -c 'exit 3'
	expect_eq "$rc" 3
}

# Only latches of this run count; one acknowledged earlier and latched again
# does.
test_fail_on_latch_counts_this_run_only() {
	latch "$T/old"
	runc cli run --fail-on-latch --log off "$PROBE" open h1 "$T/new" rwc fsync h1
	expect_eq "$rc" 0
	expect_line "$err" "stickysync: warning: 1 file was already latched before this run (stickysync status); another failure of it is not counted by --fail-on-latch"
	cli ack "$T/old" >/dev/null
	runc cli run --fail-on-latch --log off --inject "op=fsync,path=$T/old" "$PROBE" \
		open h1 "$T/old" rw fsync h1
	expect_eq "$rc" 74
	expect_grep "$err" "latched +EIO +fsync .* $T/old\$"
}

test_fail_on_latch_with_state_off_uses_a_private_folder() {
	mkdir "$T/tmp"
	TMPDIR="$T/tmp" runc cli run --state off --fail-on-latch --log off \
		--inject "op=fsync,path=*/x" sh -c "echo \"\$STICKYSYNC_STATE\"; ls -ld \"\$STICKYSYNC_STATE\"; \"$PROBE\" open h1 '$T/x' rwc fsync h1"
	expect_eq "$rc" 74
	expect_grep "$out" "^$T/tmp/stickysync-run\.[A-Za-z0-9]{6}\$"
	expect_grep "$out" '^drwx------ '
	expect_grep "$err" "latched +EIO +fsync .* $T/x\$"
	expect_eq "$(ls -A "$T/tmp")" "" "the private folder is removed"
	[ ! -e "$STICKYSYNC_STATE" ] || { echo "    the configured state was used" >&2; return 1; }
}

test_fail_on_latch_forwards_signals() {
	# exec: $! must be the command itself, not a subshell around it
	(exec "${cli_argv[@]}" run --fail-on-latch sh -c \
		"trap 'exit 9' TERM; : > '$T/ready'; while :; do sleep 0.05; done") >/dev/null 2>&1 &
	pid=$!
	wait_for test -e "$T/ready"
	kill -TERM "$pid"
	reap "$pid"
	expect_eq "$rc" 9 "CMD got SIGTERM and exited 9"
	# a SIGINT from another process is passed on too (a terminal's reaches CMD itself);
	# env: a command started with & by a shell without job control ignores SIGINT
	rm "$T/ready"
	(exec env --default-signal=INT "${cli_argv[@]}" run --fail-on-latch sh -c \
		"trap 'exit 8' INT; : > '$T/ready'; while :; do sleep 0.05; done") >/dev/null 2>&1 &
	pid=$!
	wait_for test -e "$T/ready"
	kill -INT "$pid"
	reap "$pid"
	expect_eq "$rc" 8 "CMD got SIGINT and exited 8"
}

# Waiting for CMD must not change what CMD inherits: ignored signals stay so.
test_fail_on_latch_keeps_ignored_signals() {
	show='grep ^SigIgn: /proc/$$/status'
	runc sh -c 'trap "" INT HUP; exec "$@"' sh "${cli_argv[@]}" run sh -c "$show"
	direct=$out
	runc sh -c 'trap "" INT HUP; exec "$@"' sh "${cli_argv[@]}" run --fail-on-latch sh -c "$show"
	expect_eq "$out" "$direct"
	mask=$((16#$(awk '{print $2}' <<<"$out")))
	expect_eq "$((mask & 3))" 3 "SIGHUP (1) and SIGINT (2) ignored"
}

test_valgrind_clean() {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	[ -n "${SANITIZER_PRELOAD:-}" ] && skip "the sanitizer build checks memory itself"
	latch "$T/v"
	for args in "status" "status --all --json" "ack $T/v" "ack --all" "prune --active" \
		"run --fail-on-latch --inject op=fsync,path=*/w $PROBE open h1 $T/w rwc fsync h1"; do
		# shellcheck disable=SC2086
		runc valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
			--error-exitcode=99 "$CLI" $args
		[ "$rc" != 99 ] || { echo "    valgrind: $args" >&2; echo "$err" >&2; return 1; }
	done
}

run_tests
