#!/usr/bin/env bash
# The supervisor: stickysync run covers programs the library cannot reach
# (statically linked, Go) by trapping their syncs with seccomp.  Faults come
# from the injector (--inject); test/realfaults has the real ones.
. test/integration/lib.sh
. test/integration/cli_lib.sh

# The state table's SIGBUS guard needs the signal (the sanitizer runtime
# takes it otherwise).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_sigbus=0"

SEQ="$TOP/$BUILD/test/syncseq"
GOSYNC="$TOP/$BUILD/test/gosync"

# The kernel must offer seccomp user notification and pidfd_getfd (5.6).
# (Asked of the kernel, not of the command: a command without the
# supervisor must fail these tests, not skip them.)
supervisor_works() {
	local v
	[ -x "$SEQ" ] || skip "no $SEQ (make test-helpers)"
	grep -qw user_notif /proc/sys/kernel/seccomp/actions_avail 2>/dev/null ||
		skip "this kernel has no seccomp user notification"
	v=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
	[ "$v" -ge 5006 ] || skip "pidfd_getfd needs Linux 5.6 (this is $(uname -r))"
}

# The Go program, built once per build folder with Debian's golang-go.
need_go() {
	local why rc=0
	why=$(test/helpers/gosync/build.sh "$GOSYNC") || rc=$?
	[ $rc = 0 ] || skip "${why:-go build failed}"
}

failed_line() { # PROG OP FD FILE ERRNO
	echo "stickysync: $1\[[0-9]+\]: $2\(fd $3, $4\) failed: $5 "
}

# What syncseq seq prints when its first fsync fails: every later sync of
# the file fails too, in every spelling, on a new fd and in a child.
SEQ_ALL_EIO="fsync EIO
fsync-again EIO
fdatasync EIO
sync_file_range EIO
msync EIO
new-fd-fsync EIO
child-fsync EIO"

# ---- static C -----------------------------------------------------------------

test_static_program_is_supervised_and_every_later_sync_fails() {
	supervisor_works
	runc cli run --inject "op=fsync,path=$T/data,nth=1" -- "$SEQ" seq "$T/data" 0
	expect_eq "$rc" 0
	expect_eq "$out" "$SEQ_ALL_EIO"
	expect_no_grep "$err" "statically linked"
	expect_grep "$err" "$(failed_line syncseq fsync 3 "$T/data" EIO)"
	# as the library reports: once for the fd that saw it, once for a new fd
	expect_grep "$err" "fsync\(fd 3, $T/data\) returns EIO: .*this fd saw the loss and stays latched until closed"
	expect_grep "$err" "fsync\(fd 4, $T/data\) returns EIO: .*acknowledge on a fresh fd or with \`stickysync ack\`"
	expect_count "$err" 'failed:' 1 "one failure reported"
}

# msync(MS_SYNC) is judged on the mapped file: an injected failure latches it.
test_msync_failure_latches_the_mapped_file() {
	supervisor_works
	runc cli run --inject "op=msync,path=$T/data" -- "$SEQ" seq "$T/data" 0
	expect_eq "$out" "fsync ok
fsync-again ok
fdatasync ok
sync_file_range ok
msync EIO
new-fd-fsync EIO
child-fsync EIO"
	expect_grep "$err" "syncseq\[[0-9]+\]: msync\($T/data\) failed: EIO"
}

# The control: without the supervisor, the static program is not covered
# at all (the injector is never reached either).
test_no_supervise_leaves_a_static_program_uncovered() {
	[ -x "$SEQ" ] || skip "no $SEQ"
	runc cli run --no-supervise --inject "op=fsync,path=$T/data,nth=1" -- "$SEQ" seq "$T/data" 0
	expect_grep "$out" "^fsync-again ok$"
	expect_grep "$err" "warning: $SEQ is statically linked"
}

test_status_lists_the_latch_and_ack_frees_a_fresh_fd() {
	supervisor_works
	cli run --log off --inject "op=fsync,path=$T/data,nth=1" -- "$SEQ" seq "$T/data" 0 >/dev/null
	runc cli status
	expect_grep "$out" "^latched +EIO +fsync .* syncseq +$T/data$"
	runc cli run --log off -- "$SEQ" one "$T/data"
	expect_eq "$out" "fsync EIO" "a fresh fd before the ack"
	cli ack "$T/data" >/dev/null
	runc cli run -- "$SEQ" one "$T/data"
	expect_eq "$out" "fsync ok" "a fresh fd after the ack"
	expect_eq "$err" ""
}

# Which fds an acknowledgment frees, by the library and by the supervisor:
# the same program, dynamically linked under the library and static under
# the supervisor, gives the same answers.  An fd open at the loss (never
# synced) and the failing fd stay latched; an fd opened after the loss and a
# fresh one sync.
test_acknowledgment_frees_the_same_fds_as_the_library() {
	supervisor_works
	local want="fsync EIO
late-fd-before-ack EIO
ack ok
old-fd-after-ack EIO
failed-fd-after-ack EIO
late-fd-after-ack ok
fresh-fd-after-ack ok"
	build_c "$T/syncseq-dyn" "$(cat test/helpers/syncseq.c)" || skip "cc failed"
	runc cli run --no-supervise --log off --inject "op=fsync,path=$T/lib" -- \
		"$T/syncseq-dyn" ackseq "$T/lib" "$CLI"
	expect_eq "$out" "$want" "under the library"
	runc cli run --log off --inject "op=fsync,path=$T/sup" -- "$SEQ" ackseq "$T/sup" "$CLI"
	expect_eq "$out" "$want" "under the supervisor"
}

# A latch made under the supervisor holds for programs under the library,
# and the other way round: one table.
test_the_library_and_the_supervisor_share_the_table() {
	supervisor_works
	cli run --log off --inject "op=fsync,path=$T/a,nth=1" -- "$SEQ" one "$T/a" >/dev/null
	runc shim_only "$PROBE" open h1 "$T/a" rw fsync h1
	expect_grep "$out" "fsync h1 = -1 EIO"
	latch "$T/b"
	runc cli run -- "$SEQ" one "$T/b"
	expect_eq "$out" "fsync EIO"
}

# A table truncated under the supervisor (another process's doing) would
# raise SIGBUS at its next store, killing it and with it the tree: it goes
# on with a private copy, as the library does.
test_a_table_truncated_under_the_supervisor() {
	supervisor_works
	runc cli run --supervise --inject "op=fsync,path=$T/data" -- \
		sh -c "truncate -s 4096 '$STICKYSYNC_STATE/latches'; '$SEQ' one '$T/data'; '$SEQ' one '$T/data'"
	expect_eq "$rc" 0
	expect_eq "$out" "fsync EIO
fsync EIO"
	expect_grep "$err" "^stickysync: state file $STICKYSYNC_STATE/latches shrank or ran out of space under this process: .*; new latches stay in the supervisor$"
}

# The library preloaded into stickysync itself (/etc/ld.so.preload, or an
# inherited LD_PRELOAD) must not judge, or inject into, the supervisor's own
# syncs and closes of the targets' files.
test_the_library_in_stickysync_itself_changes_nothing() {
	supervisor_works
	runc env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB" "$CLI" run \
		--inject "op=fsync,path=$T/data,nth=1" --inject "op=close,path=$T/data" -- \
		"$SEQ" seq "$T/data" 0
	expect_eq "$out" "$SEQ_ALL_EIO"
	expect_count "$err" 'failed:' 1 "one failure"
	expect_no_grep "$err" "^stickysync: stickysync\["
}

# ---- Go -------------------------------------------------------------------------

test_go_program_is_supervised_goroutines_children_and_reopens_fail() {
	supervisor_works
	need_go
	runc cli run --inject "op=fsync,path=$T/data,nth=1" -- "$GOSYNC" seq "$T/data" 0
	expect_eq "$rc" 0
	expect_eq "$out" "sync EIO
sync-again EIO
goroutines 8/8 EIO
reopened-sync EIO
child-sync EIO"
	expect_no_grep "$err" "is a Go program"
	expect_grep "$err" "$(failed_line gosync fsync 3 "$T/data" EIO)"
	runc cli status
	expect_grep "$out" "^latched +EIO +fsync .* gosync +$T/data$"
	cli ack "$T/data" >/dev/null
	runc cli run -- "$GOSYNC" one "$T/data"
	expect_eq "$out" "sync ok" "a fresh fd after the ack"
}

# A dynamically linked Go program loads the library too (as Debian's etcd
# does); its runtime's own system calls are still the supervisor's to judge.
test_dynamic_go_program_with_the_library_loaded_is_supervised() {
	supervisor_works
	local why rc=0
	why=$(test/helpers/gosync/build.sh "$GOSYNC-dynamic" dynamic) || rc=$?
	[ $rc = 0 ] || skip "${why:-go build failed}"
	STICKYSYNC_SUPERVISE_STATS=1 runc cli run --inject "op=fsync,path=$T/data,nth=1" -- \
		"$GOSYNC-dynamic" seq "$T/data" 0
	expect_eq "$out" "sync EIO
sync-again EIO
goroutines 8/8 EIO
reopened-sync EIO
child-sync EIO"
	expect_grep "$err" "supervisor: [0-9]+ notifications, 1 latched, [0-9]+ refused, 0 judged by the library"
}

test_go_program_without_supervisor_retries_to_success() {
	need_go
	runc cli run --no-supervise --inject "op=fsync,path=$T/data,nth=1" -- "$GOSYNC" one "$T/data"
	expect_eq "$out" "sync ok" "the injector never reaches Go through the library"
	expect_grep "$err" "is a Go program"
}

# ---- policies, log, --fail-on-latch ----------------------------------------------

test_observe_policy_changes_no_result() {
	supervisor_works
	runc cli run --policy observe --inject "op=fsync,path=$T/data,nth=1" -- "$SEQ" seq "$T/data" 0
	expect_grep "$out" "^fsync EIO$"
	expect_grep "$out" "^fsync-again ok$"
	expect_grep "$out" "^new-fd-fsync ok$"
	expect_grep "$err" "new-fd|fsync\(fd 4, $T/data\) succeeded after an earlier failure"
}

test_abort_policy_aborts_the_target() {
	supervisor_works
	runc cli run --policy abort --inject "op=fsync,path=$T/data,nth=1" -- "$SEQ" seq "$T/data" 0
	expect_eq "$rc" 134 "killed by SIGABRT"
	expect_grep "$err" "failed: EIO .*; aborting"
}

# failstop: syncs are refused as under sticky; reads and writes, which are
# not trapped, go through, and the command says so before CMD starts.
test_failstop_policy_refuses_syncs_and_says_what_it_cannot() {
	supervisor_works
	runc cli run --policy failstop --inject "op=fsync,path=$T/data,nth=1" -- "$SEQ" seq "$T/data" 0
	expect_grep "$out" "^fsync-again EIO$"
	expect_grep "$out" "^new-fd-fsync EIO$"
	expect_line "$err" "stickysync: warning: policy failstop: supervised programs get EIO from syncs of latched files, but their reads and writes are not trapped and go through"
	expect_grep "$err" "failed: EIO .*; later reads, writes and syncs of this file fail with EIO until it is reopened and the loss acknowledged \(syncs only, for supervised programs\)$"
}

test_log_file_gets_the_reports() {
	supervisor_works
	runc cli run --log "$T/log" --inject "op=fsync,path=$T/data,nth=1" -- "$SEQ" seq "$T/data" 0
	expect_eq "$err" ""
	expect_grep "$(cat "$T/log")" "$(failed_line syncseq fsync 3 "$T/data" EIO)"
}

test_fail_on_latch_sees_supervised_latches() {
	supervisor_works
	runc cli run --fail-on-latch --state off --inject "op=fsync,path=$T/data,nth=1" -- \
		"$SEQ" one "$T/data"
	expect_eq "$rc" 74
	expect_grep "$err" "1 file latched while $SEQ ran"
}

test_an_injector_rule_that_never_fires_is_named() {
	supervisor_works
	runc cli run --inject "op=fdatasync,path=$T/data" -- "$SEQ" one "$T/data"
	expect_eq "$out" "fsync ok"
	expect_grep "$err" "rule 1 \(op=fdatasync,path=$T/data\) never fired; matching paths saw fsync x1"
}

# lose= from the copy the last successful sync left: the same content as
# under the library, which records the writes instead.
test_lose_old_and_zero_lose_what_the_library_loses() {
	supervisor_works
	local lose
	build_c "$T/syncseq-dyn" "$(cat test/helpers/syncseq.c)" || skip "cc failed"
	for lose in old zero keep; do
		runc cli run --no-supervise --log off --inject "op=fsync,path=$T/lib-$lose,nth=2,lose=$lose" -- \
			"$T/syncseq-dyn" loseseq "$T/lib-$lose"
		local want=$out
		runc cli run --log off --inject "op=fsync,path=$T/sup-$lose,nth=2,lose=$lose" -- \
			"$SEQ" loseseq "$T/sup-$lose"
		expect_eq "$out" "$want" "lose=$lose"
	done
	expect_eq "$want" "fsync ok
fsync-after-B EIO
content A B size 8192" "keep"
	# and what the old content is (the library's answer above, not ours)
	runc cli run --log off --inject "op=fsync,path=$T/o,nth=2,lose=old" -- "$SEQ" loseseq "$T/o"
	expect_line "$out" "content A A size 8192"
	runc cli run --log off --inject "op=fsync,path=$T/z,nth=2,lose=zero" -- "$SEQ" loseseq "$T/z"
	expect_line "$out" "content A 0 size 8192"
}

# Before any successful sync the supervisor has no copy: the error only.
test_lose_without_an_earlier_sync_keeps_the_content_and_says_so() {
	supervisor_works
	runc cli run --inject "op=fsync,path=$T/data,lose=old" -- "$SEQ" loseseq "$T/data"
	expect_line "$out" "content A B size 8192"
	expect_line "$err" "stickysync: supervisor: STICKYSYNC_INJECT lose= on $T/data: no earlier sync of it was seen by the supervisor; the error is injected, the content kept"
}

# ---- the tree ----------------------------------------------------------------------

# CMD's exit status, shell style, and a command that cannot run.
test_exit_status_and_a_missing_command() {
	supervisor_works
	runc cli run --supervise -- sh -c 'exit 7'
	expect_eq "$rc" 7
	runc cli run --supervise -- sh -c 'kill -TERM $$'
	expect_eq "$rc" 143
	runc cli run --supervise -- "$T/missing"
	expect_eq "$rc" 127
	expect_line "$err" "stickysync: $T/missing: command not found"
}

# CMD gets the fds it would get without the supervisor: no listener, no
# socket or pipe of the supervisor's.
test_no_fd_of_the_supervisor_leaks_into_cmd() {
	supervisor_works
	runc cli run --no-supervise -- sh -c 'ls /proc/$$/fd'
	local plain=$out
	runc cli run --supervise -- sh -c 'ls /proc/$$/fd'
	expect_eq "$rc" 0
	expect_line "$out" 2
	expect_eq "$out" "$plain"
}

# A link named after the program runs it as run would: supervised.
test_link_named_after_a_static_program() {
	supervisor_works
	mkdir "$T/bin"
	ln -s "$CLI" "$T/bin/syncseq"
	PATH="$T/bin:$(dirname "$SEQ"):$PATH" STICKYSYNC_INJECT="op=fsync,path=$T/data" \
		runc syncseq one "$T/data"
	expect_eq "$out" "fsync EIO"
	expect_grep "$err" "syncseq\[[0-9]+\]: fsync\(fd 3, $T/data\) failed: EIO"
}

# A dynamic shell starting the static program, on a latched file: the
# probe's syncs are judged by the library (let through by the supervisor),
# the static program's by the supervisor, and no call by both: a call judged
# twice would be refused twice, or its EIO taken for a new failure.
test_mixed_tree_each_call_judged_once() {
	supervisor_works
	latch "$T/data"
	STICKYSYNC_SUPERVISE_STATS=1 runc cli run --supervise -- \
		sh -c "'$PROBE' open h1 '$T/data' rw fsync h1 fsync h1 close h1; '$SEQ' one '$T/data'"
	expect_grep "$out" "fsync h1 = -1 EIO"
	expect_grep "$out" "^fsync EIO$"
	expect_no_grep "$err" "failed:"
	expect_count "$err" "ssprobe\[[0-9]*\]: fsync\(fd 3, $T/data\) returns EIO" 1
	expect_count "$err" "syncseq\[[0-9]*\]: fsync\(fd 3, $T/data\) returns EIO" 1
	expect_grep "$err" "supervisor: [0-9]+ notifications, 0 latched, 1 refused, 2 judged by the library"
}

test_nested_supervise_is_a_clear_error() {
	supervisor_works
	runc cli run --supervise -- "${cli_argv[@]}" run --supervise -- "$SEQ" one "$T/data"
	expect_eq "$rc" 126
	expect_grep "$err" "cannot be supervised: it already runs under the stickysync supervisor of pid [0-9]+"
	# a static program inside a supervised tree is covered by the outer one
	runc cli run --supervise --inject "op=fsync,path=$T/data,nth=1" -- "${cli_argv[@]}" run -- "$SEQ" one "$T/data"
	expect_eq "$rc" 0
	expect_eq "$out" "fsync EIO"
	# a listener that is not ours: the generic message
	runc cli run --supervise -- env -u STICKYSYNC_SUPERVISOR "${cli_argv[@]}" run --supervise -- "$SEQ" one "$T/data"
	expect_eq "$rc" 126
	expect_grep "$err" "this process tree already has a seccomp listener"
}

test_supervisor_killed_ends_the_tree() {
	supervisor_works
	# the loop runs as a grandchild in a session of its own: no signal to
	# the group reaches it, only the keeper can end it
	# (with a rule, so that the run has a tally file for the keeper to remove)
	mkdir "$T/tmp"
	TMPDIR="$T/tmp" "${cli_argv[@]}" run --supervise --inject "op=fsync,path=$T/none" -- \
		sh -c "setsid '$SEQ' loop '$T/loopfile' >'$T/loop.out' 2>&1 & wait" 2>"$T/run.err" &
	local sv=$! loop
	wait_for grep -q "fsync ok" "$T/loop.out" || { kill -KILL "$sv"; return 1; }
	loop=$(pgrep -f "syncseq loop $T/loopfile")
	[ -n "$loop" ] || { kill -KILL "$sv"; return 1; }
	kill -KILL "$sv"
	wait "$sv" || true
	if ! wait_for eval "! kill -0 $loop 2>/dev/null"; then
		kill -KILL "$loop"
		return 1
	fi
	expect_no_grep "$(cat "$T/loop.out")" "ENOSYS"
	wait_for grep -q "died: its tree" "$T/run.err"
	expect_grep "$(cat "$T/run.err")" "the supervisor of sh \(pid $sv\) died: its tree \([0-9]+ process(es)?\) was killed"
	expect_eq "$(ls "$T/tmp")" ""
}

# The keeper killed: the supervisor ends the tree the same way.
test_keeper_killed_ends_the_tree() {
	supervisor_works
	"${cli_argv[@]}" run --supervise -- "$SEQ" loop "$T/loopfile" >"$T/loop.out" 2>"$T/run.err" &
	local sv=$! keeper loop rc=0
	wait_for grep -q "fsync ok" "$T/loop.out" || { kill -KILL "$sv"; return 1; }
	keeper=$(pgrep -P "$sv")
	loop=$(pgrep -P "$keeper")
	[ -n "$loop" ] || { kill -KILL "$sv"; return 1; }
	kill -KILL "$keeper"
	wait "$sv" || rc=$?
	expect_eq "$rc" 137
	kill -0 "$loop" 2>/dev/null && { kill -KILL "$loop"; return 1; }
	expect_grep "$(cat "$T/run.err")" "keeper process died: the rest of $SEQ's tree \(1 process\) was killed"
	expect_no_grep "$(cat "$T/loop.out")" "ENOSYS"
}

test_signals_during_trapped_syncs() {
	supervisor_works
	runc cli run --supervise -- "$SEQ" signals "$T/data" 2000 restart
	expect_eq "$out" "eintr 0 failed 0" "SA_RESTART: every call completes"
	# Without SA_RESTART a signal that arrives before the supervisor took the
	# call interrupts it (EINTR, nothing done); after, the wait is killable
	# only: no other error, never a double sync.
	runc cli run --supervise -- "$SEQ" signals "$T/data" 2000
	expect_grep "$out" "^eintr [0-9]+ failed 0$"
	echo "    (without SA_RESTART: $out of 2000)"
}

test_setuid_program_in_the_tree_is_reported() {
	supervisor_works
	[ "$(id -u)" = 0 ] || skip "a set-user-ID program of another user, run as nobody, needs root to set up"
	command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
	local d
	d=$(mktemp -d /tmp/stickysync-suid.XXXXXX)
	chmod 755 "$d"
	cp /bin/true "$d/suid-true"
	chmod 4755 "$d/suid-true"
	runc setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$CLI" run --supervise --state off -- sh -c "'$d/suid-true'; '$SEQ' fexec '$d/suid-true'"
	rm -rf "$d"
	expect_grep "$err" "warning: sh\[[0-9]+\] runs $d/suid-true, which is set-user-ID: under no_new_privs it runs without its privileges"
	# also through an fd (fexecve: execveat with an empty path)
	expect_grep "$err" "warning: syncseq\[[0-9]+\] runs $d/suid-true, which is set-user-ID"
}

# A target that made itself non-dumpable is out of reach of a supervisor
# without CAP_SYS_PTRACE: its syncs run unjudged, and that is said.
test_a_non_dumpable_target_is_reported_unjudged() {
	supervisor_works
	[ "$(id -u)" = 0 ] || skip "the supervisor must run as another user than root: needs root to switch"
	command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
	chmod 0777 "$T"
	runc setpriv --reuid=nobody --regid=nogroup --clear-groups "$CLI" run --supervise --state off \
		--inject "op=fsync,path=$T/data" -- "$SEQ" undumpable "$T/data"
	expect_eq "$out" "fsync ok" "not injected: out of reach"
	expect_grep "$err" "warning: cannot reach the fds of syncseq\[[0-9]+\] \(Operation not permitted\): its syncs run unjudged"
	# root reaches it (CAP_SYS_PTRACE)
	runc cli run --supervise --state off --inject "op=fsync,path=$T/data" -- "$SEQ" undumpable "$T/data"
	expect_eq "$out" "fsync EIO"
}

test_deny_io_uring() {
	supervisor_works
	runc cli run --supervise --deny-io-uring -- "$SEQ" uring
	expect_eq "$out" "io_uring_setup ENOSYS"
	runc cli run --supervise -- "$SEQ" uring
	expect_eq "$out" "io_uring_setup ok"
	expect_grep "$err" "warning: syncseq\[[0-9]+\] sets up io_uring: syncs it submits there are not seen by the supervisor"
	runc cli run --no-supervise --deny-io-uring -- "$SEQ" uring
	expect_eq "$rc" 2
}

# ---- transparency: a real Go database ------------------------------------------------

# etcd_kv PORT put N | get N: N keys through etcd's JSON gateway, from one
# process; get prints how many of key1..keyN read back with their value.
etcd_kv() {
	python3 - "$@" <<'PY'
import base64, json, sys, urllib.request
port, what, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
b64 = lambda s: base64.b64encode(s.encode()).decode()
def call(path, body):
    req = urllib.request.Request("http://127.0.0.1:%s/v3/kv/%s" % (port, path),
                                 data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.load(r)
if what == "put":
    for i in range(1, n + 1):
        call("put", {"key": b64("key%d" % i), "value": b64("value%d" % i)})
    print("put", n)
else:
    got = call("range", {"key": b64("key"), "range_end": b64("kez")})
    kv = {base64.b64decode(k["key"]).decode(): base64.b64decode(k["value"]).decode()
          for k in got.get("kvs", [])}
    print("read", sum(kv.get("key%d" % i) == "value%d" % i for i in range(1, n + 1)))
PY
}

# etcd_start PORT: etcd under the supervisor, in the background ($ETCD_PID:
# the stickysync process), once it answers.
etcd_start() {
	local peer=$(($1 + 1))
	STICKYSYNC_SUPERVISE_STATS=1 "${cli_argv[@]}" run -- etcd --name t --data-dir "$T/etcd" \
		--listen-client-urls "http://127.0.0.1:$1" --advertise-client-urls "http://127.0.0.1:$1" \
		--listen-peer-urls "http://127.0.0.1:$peer" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "t=http://127.0.0.1:$peer" >>"$T/etcd.log" 2>&1 &
	ETCD_PID=$!
	wait_for python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$1/health', timeout=1)" \
		2>/dev/null || { kill -TERM "$ETCD_PID"; wait "$ETCD_PID"; return 1; }
}

etcd_stop() {
	kill -TERM "$ETCD_PID"
	reap "$ETCD_PID"
}

# etcd (Go, Debian's etcd-server) on normal storage: its WAL and database
# syncs go through the supervisor, and nothing changes: 200 keys put, etcd
# restarted, all read back, no latch.
test_etcd_runs_transparently_under_the_supervisor() {
	supervisor_works
	command -v etcd >/dev/null || skip "no etcd (etcd-server)"
	local port=$((23000 + RANDOM % 2000 * 2)) ETCD_PID
	etcd_start "$port"
	runc etcd_kv "$port" put 200 || { etcd_stop; return 1; }
	etcd_stop
	expect_eq "$out" "put 200"
	etcd_start "$port"
	runc etcd_kv "$port" get 200
	etcd_stop
	expect_eq "$out" "read 200"
	expect_no_grep "$(cat "$T/etcd.log")" "stickysync: etcd"
	# judged here, not let through to the library etcd also loads
	expect_grep "$(cat "$T/etcd.log")" "stickysync: supervisor: [0-9]+ notifications, 0 latched, 0 refused, 0 judged by the library"
	runc cli status
	expect_grep "$out" "^no latched files"
	# it was supervised: its syncs were trapped
	local n
	n=$(sed -n 's/.*supervisor: \([0-9]*\) notifications.*/\1/p' "$T/etcd.log" | head -1)
	[ "${n:-0}" -ge 200 ] || { echo "    only ${n:-0} trapped calls for 200 puts" >&2; return 1; }
}

run_tests
