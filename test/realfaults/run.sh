#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# Real-fault driver: runs every scenario on thin-provisioned ext4, xfs and
# btrfs fixtures, once without the shim ("linux": what the kernel returned)
# and once with LD_PRELOAD=libstickysync.so ("sticky": stickysync's
# semantics asserted), then prints the filesystem x scenario table.
#
#   run.sh --bin build/realfaults --lib build/libstickysync.so [--cli build/stickysync]
#          [--fs "ext4 xfs btrfs"] [--only seed,sqlite-wal,...] [--doc FILE]
#
# Scenarios print "obs KEY VALUE" and "check KEY pass|fail|skip DETAIL" lines
# (see rf.h); this script collects them.  The last line of output is always
# "realfaults: N passed, N failed, N skipped"; the exit status is 1 if any
# check failed.  Needs root and loop devices; otherwise everything is SKIP.

set -u
# shellcheck source-path=SCRIPTDIR source=turn.sh
. "$(dirname "$0")/turn.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=fixture.sh
. "$HERE/fixture.sh"
# shellcheck source-path=SCRIPTDIR source=postgres.sh
. "$HERE/postgres.sh"

BIN=build/realfaults
LIB=build/libstickysync.so
CLI=build/stickysync
FS_LIST="ext4 xfs btrfs"
ONLY=
DOC=
KERNEL_SCENARIOS="seed fds sync487 dsync msync syncfs ack checkpointer"

while [ $# -gt 0 ]; do
	case $1 in
	--bin) BIN=$2; shift 2 ;;
	--lib) LIB=$2; shift 2 ;;
	--cli) CLI=$2; shift 2 ;;
	--fs) FS_LIST=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--doc) DOC=$2; shift 2 ;;
	-h | --help) sed -n '3,16p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
# Scenario processes get absolute paths only: they may run anywhere.
BIN=$(realpath -m "$BIN")
LIB=$(realpath -m "$LIB")
CLI=$(realpath -m "$CLI")

PASSED=0 FAILED=0 SKIPPED=0
WORK=$FIXTURE_ROOT
LOGS=$BIN/logs
mkdir -p "$LOGS"
RESULTS=$WORK/results.tsv   # fs scenario mode key value
VERDICTS=$WORK/verdicts.tsv # fs scenario mode key verdict
: >"$RESULTS"
: >"$VERDICTS"

# On a signal, stop what the running scenario started (by pid, children
# first: programs under timeout(1) are in process groups of their own), then
# release every fixture.  Replaces fixture.sh's traps, as it asks.
SCENARIO_PID=''
kill_tree() {
	local child
	for child in $(pgrep -P "$1"); do
		kill_tree "$child"
	done
	kill -TERM "$1" 2>/dev/null
}
on_signal() {
	trap - EXIT INT TERM HUP
	[ -n "$SCENARIO_PID" ] && kill_tree "$SCENARIO_PID" && sleep 1
	fixture_destroy_all
	echo "realfaults: interrupted"
	exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

# Per-run context, set by run_one for the scenario functions.
FS='' SCENARIO='' MODE='' MNT='' STATE=

# Backing store per filesystem: enough for mkfs and 1 MiB of A, far less than
# the 64 MiB of B (mkfs.xfs zeroes its log, hence the larger tmpfs).
fs_size() {
	case $1 in
	xfs) echo 80 ;;
	*) echo 24 ;;
	esac
}

wanted() {
	[ -z "$ONLY" ] && return 0
	case ",$ONLY," in *",$1,"*) return 0 ;; esac
	return 1
}

# ---------------------------------------------------------------------------
# Helpers for the scenario functions (they print the same lines as rf.h).

# A scenario running several stories on one fixture names their steps apart.
KEY_PREFIX=

obs() { printf 'obs %s%s %s\n' "$KEY_PREFIX" "$1" "$2"; }

# check KEY CONDITION-STATUS DETAIL: pass if the status is 0.
check() {
	local key=$KEY_PREFIX$1 ok=$2
	shift 2
	if [ "$ok" = 0 ]; then
		printf 'check %s pass %s\n' "$key" "$*"
	else
		printf 'check %s fail %s\n' "$key" "$*"
	fi
}

is_sticky() { [ "$MODE" = sticky ]; }

# btrfs turns read-only after the failure (and later fails even reads): steps
# that need a live filesystem cannot be judged there.
fs_readonly() { findmnt -no OPTIONS "$MNT" | tr ',' '\n' | grep -qx ro; }

# check_live KEY STATUS DETAIL: like check, but a failure on a filesystem
# that went read-only is a skip.
check_live() {
	local key=$1 ok=$2
	shift 2
	if [ "$ok" != 0 ] && fs_readonly; then
		printf 'check %s%s skip %s (the filesystem went read-only)\n' "$KEY_PREFIX" "$key" "$*"
	else
		check "$key" "$ok" "$@"
	fi
}

# rf_env CMD...: run CMD in the environment of the current mode.  The shim is
# configured explicitly so that the user's own settings cannot leak in, and
# its state folder is private to this run.  rf_exec replaces the calling
# (sub)shell, so that `rf_exec CMD &` leaves CMD's own pid in $!.  A scenario
# may set POLICY (the sticky run's STICKYSYNC_POLICY) and RUN_AS (a command
# prefix such as `runuser -u postgres --`, for programs that refuse root).
POLICY=sticky
RUN_AS=()
rf_env() { (rf_exec "$@"); }
rf_exec() {
	if is_sticky; then
		exec "${RUN_AS[@]}" env LD_PRELOAD="$LIB" STICKYSYNC_STATE="$STATE" \
			STICKYSYNC_POLICY="$POLICY" STICKYSYNC_LOG=stderr "$@"
	else
		exec "${RUN_AS[@]}" env -u LD_PRELOAD -u STICKYSYNC_STATE -u STICKYSYNC_POLICY \
			-u STICKYSYNC_LOG -u STICKYSYNC_INJECT "$@"
	fi
}

# cli ARGS...: the stickysync command, as RUN_AS (the state folder's owner).
cli() { timeout 30 "${RUN_AS[@]}" env -u LD_PRELOAD "$CLI" "$@"; }

# The seed's "memory pressure": clean pages are evicted, so reads show what
# the storage holds.  (No sync(1) first: that would be a sync of its own.)
drop_caches() { echo 3 >/proc/sys/vm/drop_caches; }

# ack_paths PATH...: the operator acknowledges the loss.  With the stickysync
# command: `status` lists what is latched (recorded), each latched PATH is
# acknowledged with `ack`, and afterwards nothing may be left latched.
# Without the command: stickysync_acknowledge() on a fresh fd of each PATH,
# through rf_op.  Without the shim there is nothing to acknowledge.
ack_paths() {
	local p rc latched=" " names=
	is_sticky || return 0
	if [ ! -x "$CLI" ]; then
		for p in "$@"; do
			[ -e "$p" ] && rf_env timeout 30 "$BIN/rf_op" "$MODE" ack operator.ack "$p" ENOSYS ok
		done
		return 0
	fi
	latched+=$(latched_paths | tr '\n' ' ')
	for p in "$@"; do
		case $latched in *" $p "*) ;; *) continue ;; esac
		names="$names,$(basename "$p")"
		cli ack --state "$STATE" "$p" >&2
		rc=$?
		check_live "operator.ack" "$rc" "stickysync ack $(basename "$p") exited $rc"
	done
	obs operator.acknowledged "${names#,}"
	[ -z "$(latched_paths)" ]
	check_live operator.status $? "stickysync status lists no latch after the acknowledgment (left: $(latched_paths | tr '\n' ' '))"
}

# The unacknowledged latches of this run's state folder, one path per line.
latched_paths() {
	cli status --state "$STATE" --json |
		sed -n 's/.*"path": "\([^"]*\)".*/\1/p'
}

# report_check ERRFILE KEY PATTERN...: the latch report on stderr is one line
# starting "stickysync: " and containing every PATTERN (fixed strings).
report_check() {
	local errfile=$1 key=$2 lines pat
	shift 2
	is_sticky || return 0
	lines=$(grep '^stickysync: ' "$errfile")
	for pat in "$@"; do
		lines=$(printf '%s\n' "$lines" | grep -F -- "$pat")
	done
	[ -n "$lines" ]
	check "$key" $? "a stderr line 'stickysync: ...' naming: $*"
}

# ---------------------------------------------------------------------------
# Kernel-semantics scenarios (C programs; see their headers).

scenario_c() {
	local prog=$1
	shift
	rf_env timeout 120 "$BIN/$prog" "$MODE" "$@"
}

scenario_seed() {
	local err=$WORK/seed.err rc pid path
	scenario_c seed "$MNT" >"$WORK/seed.out" 2>"$err"
	rc=$?
	cat "$WORK/seed.out"
	cat "$err" >&2
	pid=$(sed -n 's/^obs pid //p' "$WORK/seed.out")
	path=$(sed -n 's/^obs path //p' "$WORK/seed.out")
	report_check "$err" report "seed[$pid]" "fsync(fd " "$path" ENOSPC
	return "$rc"
}
scenario_fds() { scenario_c fds "$MNT"; }
scenario_sync487() { scenario_c sync487 "$MNT"; }
scenario_dsync() { scenario_c dsync "$MNT"; }
scenario_msync() { scenario_c msync "$MNT"; }
scenario_syncfs() { scenario_c syncfs "$MNT"; }
scenario_ack() { scenario_c ack "$MNT" "$(fixture_backing "$MNT")"; }

# PostgreSQL's shape: a backend writes and goes away without syncing; the
# checkpointer, a different process, opens the file later and fsyncs it.
# Every step is a separate program sharing only the STICKYSYNC_STATE folder.
scenario_checkpointer() {
	local f=$MNT/relation holder
	op() { rf_env timeout 60 "$BIN/rf_op" "$MODE" "$@"; }
	op write-AB backend.write-B "$f" ok ok
	# Keeps the inode (and the kernel's error record) cached between the
	# processes, as the postmaster's children keep their fds open.
	exec {holder}<"$f"
	op fsync checkpointer1.fsync "$f" any fail
	op fsync checkpointer2.fsync "$f" any EIO
	op fdatasync backend2.fdatasync "$f" any EIO
	ack_paths "$f"
	op fsync checkpointer3.fsync "$f" ok ok
	exec {holder}<&-
}

# Two hosts sharing the volume, each with a state folder of its own (two
# folders on one machine stand for them): a backend under host A writes
# and goes away; A's checkpointer fails its fsync and the latch is written
# on the file (user.stickysync).  Host B, which never saw the failure,
# opens the file afresh: its sync fails too, as does a process restarted
# on A.  The operator on B acknowledges; both hosts sync the file again.
scenario_xattr() {
	local f=$MNT/image holder state_b value
	state_b=$(mktemp -d "$WORK/state-b.XXXXXX")
	chmod 0700 "$state_b"
	op() { rf_env timeout 60 "$BIN/rf_op" "$MODE" "$@"; }
	op write-AB backend.write-B "$f" ok ok
	exec {holder}<"$f"
	op fsync hostA.fsync "$f" any fail
	STATE=$state_b op fsync hostB.fresh-fd.fsync "$f" any EIO
	op fsync hostA.restart.fsync "$f" any EIO
	value=$(getfattr --only-values -n user.stickysync "$f" 2>/dev/null)
	# the errno and the call (time, pid and host vary from run to run)
	obs attribute "$(printf '%s' "${value:-none}" | cut -d' ' -f2,3)"
	if is_sticky; then
		case $value in "1 ENOSPC fsync "*) ;; *) false ;; esac
		check_live attribute $? "the latch is on the file: user.stickysync=\"$value\""
	fi
	exec {holder}<&-
	fixture_heal "$MNT" 700
	if is_sticky; then
		cli ack --state "$state_b" "$f" >&2
		check_live operator.hostB.ack $? "stickysync ack on host B"
	fi
	STATE=$state_b op fsync hostB.after-ack.fsync "$f" ok ok
	op fsync hostA.after-ack.fsync "$f" ok ok
}

# remount_elsewhere MNT: unmount the fixture's filesystem and mount its
# image again through another loop device: the same filesystem under
# another device number, as after a reboot that probed disks in another
# order.
remount_elsewhere() {
	local dir=${1%/mnt} fs old new
	fs=$(cat "$dir/fstype")
	old=$(losetup -n -O NAME -j "$dir/backing/img" | head -n 1)
	umount "$1" || return 1
	new=$(losetup -f --show "$dir/backing/img") || return 1
	losetup -d "$old"
	mount -t "$fs" -o "$(fixture__mount_opts "$fs")" "$new" "$1"
}

# A failed syncfs latches the whole filesystem; a failed fsync its file.
# Both latches still hold when the filesystem comes back on another device
# number (file latches go by inode and birth time, the filesystem's by its
# UUID), until the operator acknowledges through the mount's root.
scenario_remount() {
	local f=$MNT/data g=$MNT/bystander holder dev_before dev_after
	op() { rf_env timeout 60 "$BIN/rf_op" "$MODE" "$@"; }
	op write bystander.write "$g" ok ok
	op write-AB backend.write-B "$f" ok ok
	exec {holder}<"$f"
	op syncfs syncfs "$f" any fail
	op fsync fsync "$f" any fail
	exec {holder}<&-
	fixture_heal "$MNT" 700
	dev_before=$(stat -c %D "$MNT")
	remount_elsewhere "$MNT"
	check remount $? "the image mounted again through another loop device"
	dev_after=$(stat -c %D "$MNT")
	[ "$dev_before" != "$dev_after" ]
	check renumbered $? "the device number changed ($dev_before -> $dev_after)"
	op fsync remounted.fsync "$f" ok EIO
	op syncfs remounted.syncfs "$f" ok EIO
	op fsync remounted.bystander.fsync "$g" ok EIO
	if is_sticky; then
		cli ack --state "$STATE" "$MNT" "$f" >&2
		check operator.ack $? "stickysync ack of the mount's root and the file"
	fi
	op syncfs after-ack.syncfs "$f" ok ok
	op fsync after-ack.fsync "$f" ok ok
	op fsync after-ack.bystander.fsync "$g" ok ok
}

# ---------------------------------------------------------------------------
# Programs the library cannot reach: statically linked C (syncseq) and Go
# (gosync, whose os.File.Sync makes the system call itself).  The sticky run
# starts them with `stickysync run`, which puts them under the supervisor.
# Each writes 64 MiB into the small pool and syncs it every way: again on
# the same fd, fdatasync, sync_file_range, msync (C), on a new fd, 8
# goroutines at once and a reopened file (Go), in a child process; then the
# operator heals the pool, `stickysync status` must list the file, `ack`
# clears it, and a fresh fd syncs.

SUPERVISED_BIN=$(dirname "$CLI")/test

# sv_run CMD...: CMD alone (linux), or under `stickysync run` (sticky).
sv_run() {
	if is_sticky; then
		timeout 120 env -u LD_PRELOAD STICKYSYNC_STATE="$STATE" STICKYSYNC_POLICY=sticky \
			STICKYSYNC_LOG=stderr "$CLI" run -- "$@"
	else
		timeout 120 env -u LD_PRELOAD -u STICKYSYNC_STATE "$@"
	fi
}

scenario_supervised() {
	local prog=$1 f=$MNT/data out=$WORK/$SCENARIO.out err=$WORK/$SCENARIO.err what result
	local first= later= bad=
	sv_run "$prog" seq "$f" 64 >"$out" 2>"$err"
	cat "$err" >&2
	while read -r what result; do
		case $result in ok) result=0 ;; "0/8 ok") result=0/8 ;; esac
		obs "$what" "$result"
		if [ -z "${first:-}" ]; then
			first=$result
		else
			later="$later $what=$result"
			case $result in EIO | "8/8 EIO") ;; *) bad="$bad $what=$result" ;; esac
		fi
	done <"$out"
	check first-sync "$(case ${first:-none} in ENOSPC | EIO) echo 0 ;; *) echo 1 ;; esac)" \
		"the first sync after 64 MiB fails (got ${first:-nothing})"
	is_sticky || return 0
	check later-syncs "$([ -n "$later" ] && [ -z "$bad" ]; echo $?)" \
		"every later sync fails with EIO (not:$bad)"
	report_check "$err" report "$(basename "$prog")[" "fsync(fd " "$f" "${first:-?}"
	case " $(latched_paths | tr '\n' ' ') " in *" $f "*) what=0 ;; *) what=1 ;; esac
	check status "$what" "stickysync status lists $f"
	fixture_heal "$MNT" 700
	ack_paths "$f"
	sv_run "$prog" one "$f" >"$out" 2>>"$err"
	result=$(sed -n '$s/^[^ ]* //p' "$out")
	[ "$result" = ok ] && result=0
	obs sync-after-ack "$result"
	check_live sync-after-ack "$([ "$result" = 0 ]; echo $?)" "a fresh fd syncs after the ack (got $result)"
}

scenario_static() { scenario_supervised "$SUPERVISED_BIN/syncseq"; }
scenario_go() {
	local why
	if ! why=$("$HERE/../helpers/gosync/build.sh" "$SUPERVISED_BIN/gosync"); then
		printf 'check build skip %s\n' "${why:-go build failed}"
		return 0
	fi
	scenario_supervised "$SUPERVISED_BIN/gosync"
}

# ---------------------------------------------------------------------------
# The other policies on real faults, one after the other on one filesystem
# (a fixture for each would cost more than the policies themselves).  The
# linux run is plain Linux; the sticky run sets STICKYSYNC_POLICY to
# failstop, then abort, then observe.  Each policy has files of its own and
# the checkpointer's story: the pool is given a few MiB of room; a bystander
# file is written and synced; a backend writes 1 MiB of A (synced) and 64 MiB
# of B (not synced) and exits; every later step is a process of its own,
# sharing only the state folder; at the end the operator heals the pool.
# Steps are named POLICY.step.

# pop OP KEY PATH LINUX_EXPECT POLICY_EXPECT [setup]: rf_op in a process of
# its own (see rf_op.c), its stderr kept for report_check.  POLICY_EXPECT
# "abort": the process must die of SIGABRT, before it can print anything
# itself.  A setup step is checked but left out of the table.
pop() {
	local key=$KEY_PREFIX$2 want_abort=false rc out=$WORK/$SCENARIO.pop
	if [ "$5" = abort ]; then
		is_sticky && want_abort=true
		set -- "$1" "$2" "$3" "$4" any "${6:-}"
	fi
	rf_env timeout 60 "$BIN/rf_op" "$MODE" "$1" "$key" "$3" "$4" "$5" \
		>"$out" 2>>"$WORK/$SCENARIO.err"
	rc=$?
	if [ "${6:-}" = setup ]; then grep -v '^obs ' "$out"; else cat "$out"; fi
	[ $rc = 134 ] && obs "$2" SIGABRT
	if $want_abort || [ $rc = 134 ]; then
		[ $rc = 134 ] && $want_abort
		check "$2" $? "expected $($want_abort && echo SIGABRT || echo 'no abort'), got exit status $rc"
	fi
	return 0
}

# policy_begin NAME FILE [BYSTANDER]: the setup above for policy NAME.  A
# holder keeps FILE's inode (and the kernel's error record) cached between
# the processes, as in the checkpointer scenario.
policy_begin() {
	POLICY=$1 KEY_PREFIX=$1.
	: >"$WORK/$SCENARIO.err"
	fixture_set_free "$MNT" 4
	if [ -n "${3:-}" ]; then
		pop write bystander.write "$3" ok ok setup
		pop fsync bystander.fsync "$3" ok ok setup
	fi
	pop write-AB backend.write-B "$2" ok ok setup
	exec {POLICY_HOLDER}<"$2"
}
policy_end() {
	exec {POLICY_HOLDER}<&-
	fixture_heal "$MNT" 700
	cat "$WORK/$SCENARIO.err" >&2
}

# failstop: once the file latched, its reads and writes fail too, in every
# process, until it is acknowledged; other files are untouched.
policy_failstop() {
	local f=$MNT/image g=$MNT/image.bystander
	policy_begin failstop "$f" "$g"
	pop fsync sync "$f" fail fail
	pop read read "$f" ok EIO
	pop write write "$f" ok EIO
	pop fsync sync-again "$f" ok EIO
	pop read bystander.read "$g" ok ok
	pop write bystander.write-again "$g" ok ok
	pop fsync bystander.sync "$g" ok ok
	fixture_heal "$MNT" 700
	ack_paths "$f"
	pop write write-after-ack "$f" ok ok
	pop fsync sync-after-ack "$f" ok ok
	pop read read-after-ack "$f" ok ok
	report_check "$WORK/$SCENARIO.err" report "fsync(" "$f" ENOSPC "later reads, writes and syncs"
	policy_end
}

# abort: the process whose sync fails aborts, and so does a restarted one at
# its first sync of the file; reads, and syncs of other files, go on.
policy_abort() {
	local f=$MNT/journal g=$MNT/journal.bystander
	policy_begin abort "$f" "$g"
	pop fsync sync "$f" fail abort
	pop fsync restart.sync "$f" ok abort
	pop read restart.read "$f" ok ok
	pop fsync bystander.sync "$g" ok ok
	fixture_heal "$MNT" 700
	ack_paths "$f"
	pop fsync sync-after-ack "$f" ok ok
	report_check "$WORK/$SCENARIO.err" report "fsync(" "$f" ENOSPC "; aborting"
	report_check "$WORK/$SCENARIO.err" restart.report "fsync(" "$f" "the file lost data"
	policy_end
}

# observe: every result is Linux's, and the retried sync that succeeds is
# reported; the storage shows what that success was worth.
policy_observe() {
	local f=$MNT/log
	policy_begin observe "$f"
	pop fsync sync "$f" fail fail
	pop fsync sync-again "$f" ok ok
	pop read read "$f" ok ok
	drop_caches
	pop describe read-after-drop "$f" any any
	report_check "$WORK/$SCENARIO.err" report "fsync(" "$f" ENOSPC "observe policy"
	report_check "$WORK/$SCENARIO.err" retry.report "fsync(" "$f" \
		"succeeded after an earlier failure" "does not mean the data is on disk"
	policy_end
}

scenario_policies() {
	ulimit -c 0 # abort() must not leave core files behind
	# ext4: this fixture fills up three times; its inode tables must not be
	# among what the journal cannot write back.
	fixture_provision_metadata "$MNT"
	check setup $? "metadata areas provisioned"
	policy_failstop
	policy_abort
	policy_observe
}

# ---------------------------------------------------------------------------
# Real programs.

# Where, without the shim, a commit reported after the first I/O error was
# measured to be lost every time (kernel 6.18; see docs/REALFAULTS.md).  The
# linux runs assert the loss there, to prove the problem is real; elsewhere
# they only record what happened, because the outcome depends on how the
# filesystem and the program react (SQLite's rollback journal refuses to go
# on, xfs kept Redis's data, btrfs goes read-only).
LOSS_EXPECTED="sqlite-wal:ext4 redis:ext4 postgres-retry:ext4"
loss_expected() {
	case " $LOSS_EXPECTED " in *" $SCENARIO:$FS "*) return 0 ;; esac
	return 1
}

# SQLite, synchronous=FULL, one autocommit INSERT per line so that stderr's
# "near line N" names exactly the rows whose commit failed.  The application
# runs as a sequence of processes, as a service restarted after an error
# would:
#   run 1  rows 1-5, row 6 of 64 MiB (fills the pool), rows 7-10
#   run 2  rows 11-15 (restarted)
#   heal   the operator grows the pool
#   run 3  rows 16-20
#   maintenance: caches dropped, loss acknowledged (stickysync only)
#   run 4  rows 21-25
# then caches are dropped and a fresh process reads what is really stored.
SQL_OK=''
SQL_BAD=''
sqlite_run() {
	local db=$1 first=$2 last=$3 big=${4:-0} i lines sz
	{
		echo ".bail off"
		echo "PRAGMA synchronous=FULL;"
		for ((i = first; i <= last; i++)); do
			sz=1000
			[ "$i" = "$big" ] && sz='64*1024*1024'
			echo "INSERT INTO t VALUES($i, randomblob($sz));"
		done
		echo ".print done"
	} >"$WORK/sqlite.sql"
	rf_env timeout 120 sqlite3 "$db" <"$WORK/sqlite.sql" 2>"$WORK/sqlite.err" >"$WORK/sqlite.out"
	cat "$WORK/sqlite.err" >&2
	lines=" $(sed -n 's/.*near line \([0-9]*\):.*/\1/p' "$WORK/sqlite.err" | tr '\n' ' ') "
	# A session that did not reach its end, or an error not tied to a line
	# (the database would not open), reports nothing as committed.
	if ! grep -qx "done" "$WORK/sqlite.out" ||
		grep -v -e 'near line [0-9]*:' -e '^stickysync: ' "$WORK/sqlite.err" | grep -q .; then
		lines=all
	fi
	for ((i = first; i <= last; i++)); do
		# Row i is on script line i - first + 3.
		case $lines in
		all | *" $((i - first + 3)) "*) SQL_BAD="$SQL_BAD $i" ;;
		*) SQL_OK="$SQL_OK $i" ;;
		esac
	done
}

# sqlite_integrity DB: ok, malformed, unopenable or error, from a fresh
# process reading the storage.
sqlite_integrity() {
	local out
	out=$(timeout 30 sqlite3 "$1" "PRAGMA integrity_check;" 2>&1)
	case $out in
	ok) echo ok ;;
	*malformed*) echo malformed ;;
	*"unable to open"*) echo unopenable ;;
	*) echo error ;;
	esac
}

# ids_in LIST LO HI: the ids of LIST within [LO, HI].
ids_in() {
	local i out=
	for i in $1; do
		[ "$i" -ge "$2" ] && [ "$i" -le "$3" ] && out="$out $i"
	done
	echo "$out"
}

# count LIST, first_of LIST: word count and first word of a space-separated list.
# shellcheck disable=SC2086 # splitting the list is the point
count() { set -- $1; echo $#; }
# shellcheck disable=SC2086
first_of() { set -- $1; echo "${1:-}"; }

scenario_sqlite() {
	local jm=$1 db=$MNT/app.db have lost=0 phantom=0 i first after before_ack
	SQL_OK='' SQL_BAD=''
	rf_env timeout 30 sqlite3 "$db" "PRAGMA journal_mode=$jm; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);" >/dev/null
	check setup $? "create the database in $jm mode"
	sqlite_run "$db" 1 10 6
	sqlite_run "$db" 11 15
	fixture_heal "$MNT" 700
	sqlite_run "$db" 16 20
	before_ack=$(ids_in "$SQL_OK" 7 20)
	drop_caches
	ack_paths "$db" "$db-wal" "$db-journal" "$db-shm" "$MNT"
	sqlite_run "$db" 21 25
	drop_caches
	have=" $(timeout 30 sqlite3 "$db" "SELECT group_concat(id, ' ') FROM t;" 2>&1) "
	first=$(first_of "$SQL_BAD")
	for i in $SQL_OK; do case $have in *" $i "*) ;; *) lost=$((lost + 1)) ;; esac; done
	for i in $SQL_BAD; do case $have in *" $i "*) phantom=$((phantom + 1)) ;; esac; done
	after=$(ids_in "$SQL_OK" "${first:-0}" 25)

	obs first-failed-row "${first:-none}"
	check first-failure "$([ "$first" = 6 ]; echo $?)" "the 64 MiB row 6 is the first commit to fail (got ${first:-none})"
	obs committed-after-failure "$(count "$before_ack")/14"
	obs committed-after-ack "$(count "$(ids_in "$SQL_OK" 21 25)")/5"
	obs reported-committed-lost "$lost"
	obs reported-failed-present "$phantom"
	obs integrity "$(sqlite_integrity "$db")"
	lost_after=0
	for i in $after; do case $have in *" $i "*) ;; *) lost_after=$((lost_after + 1)) ;; esac; done
	obs lost-after-failure "$lost_after"
	if is_sticky; then
		check committed-after-failure "$(count "$before_ack")" \
			"no commit succeeds between the failure and the acknowledgment (got:$before_ack)"
		check_live committed-after-ack "$([ "$(count "$(ids_in "$SQL_OK" 21 25)")" = 5 ]; echo $?)" \
			"after acknowledgment all 5 commits succeed"
		check_live no-loss "$lost" "every reported commit is stored (lost $lost)"
	elif loss_expected; then
		check loss-real "$([ "$lost_after" -gt 0 ]; echo $?)" \
			"a commit reported after the first failure is missing (lost $lost_after)"
	fi
}
scenario_sqlite-wal() { scenario_sqlite wal; }
scenario_sqlite-delete() { scenario_sqlite delete; }

# QEMU's raw driver on the thin filesystem, cache=writeback so that writes
# reach the page cache and flushes do the syncing.  Each step is a separate
# qemu-io process, as a VM restarted after an I/O error would be.
qio() { rf_env timeout 60 qemu-io -f raw -t writeback "$@"; }

scenario_qemu() {
	local img=$MNT/disk.raw err=$WORK/qemu.err rc
	rf_env timeout 30 qemu-img create -q -f raw "$img" 128M
	check create $? "qemu-img create"
	qio -c "write -q -P 0x41 0 1M" -c flush "$img" 2>>"$err"
	rc=$?; obs write-A+flush "$rc"; check write-A+flush "$rc" "exit $rc"
	qio -c "write -q -P 0x42 0 64M" -c flush "$img" 2>>"$err"
	rc=$?; obs write-B+flush "$rc"
	check write-B+flush "$([ "$rc" != 0 ]; echo $?)" "the flush after 64 MiB of B fails (exit $rc)"
	# A restarted VM writes a block that is already provisioned and flushes.
	# (A flush with nothing written since open is skipped by QEMU itself: no
	# fdatasync reaches the kernel or the shim.)
	qio -c "write -q -P 0x43 0 4k" -c flush "$img" 2>>"$err"
	rc=$?; obs restart.write+flush "$rc"
	is_sticky && check restart.write+flush "$([ "$rc" != 0 ]; echo $?)" "a later process's flush fails (exit $rc)"
	qio -c "write -q -P 0x44 4k 4k" -c flush -c flush "$img" 2>>"$err"
	rc=$?; obs restart2.write+flush "$rc"
	is_sticky && check restart2.write+flush "$([ "$rc" != 0 ]; echo $?)" "exit $rc"
	cat "$err" >&2
	report_check "$err" report "qemu-io" "$img" ENOSPC
	drop_caches
	qio -c "read -q -P 0x42 32M 1M" "$img" >/dev/null 2>&1
	rc=$?; obs B-at-32M-after-drop "$([ "$rc" = 0 ] && echo intact || echo lost)"
	check B-lost "$([ "$rc" != 0 ]; echo $?)" "B at 32 MiB is not on the storage"
}

# io_uring through liburing (uringprobe): 1 MiB of A synced, 64 MiB of B,
# then syncs submitted on the ring, retried in the same process; a libc
# fsync of the same file in another process; the operator heals and
# acknowledges; a new ring's fsync.  obs keys are STEP.N.OP.
declare -A RING_RESULT
ring_run() {
	local step=$1 f=$2 name eq res err n=0
	shift 2
	while read -r name eq res err; do
		[ "$eq" = = ] || continue
		n=$((n + 1))
		[ "$res" -lt 0 ] && res=$err
		RING_RESULT[$step.$n.$name]=$res
		obs "$step.$n.$name" "$res"
	done < <(rf_env timeout 120 "$BIN/uringprobe" "$f" "$@" 2>>"$WORK/uring.err")
}

scenario_uring() {
	local f=$MNT/ring.data holder
	: >"$WORK/uring.err"
	ring_run ring "$f" fill:1:A fsync fill:64:B fsync fsync fdatasync
	check ring.4.fsync "$([ "${RING_RESULT[ring.4.fsync]}" != 0 ]; echo $?)" "the first ring fsync after B fails"
	if is_sticky; then
		check ring.5.fsync "$([ "${RING_RESULT[ring.5.fsync]}" = EIO ]; echo $?)" "the retried ring fsync returns EIO"
		check ring.6.fdatasync "$([ "${RING_RESULT[ring.6.fdatasync]}" = EIO ]; echo $?)" "a ring fdatasync returns EIO"
	else
		check ring.5.fsync "$([ "${RING_RESULT[ring.5.fsync]}" = 0 ]; echo $?)" "Linux: the retried ring fsync succeeds"
	fi
	exec {holder}<"$f"
	rf_env timeout 60 "$BIN/rf_op" "$MODE" fsync other-process.fsync "$f" any EIO 2>>"$WORK/uring.err"
	fixture_heal "$MNT" 700
	ack_paths "$f"
	ring_run after-ack "$f" fsync
	is_sticky && check after-ack.1.fsync "$([ "${RING_RESULT[after-ack.1.fsync]}" = 0 ]; echo $?)" \
		"a ring fsync succeeds after the acknowledgment"
	exec {holder}<&-
	cat "$WORK/uring.err" >&2
	report_check "$WORK/uring.err" report "uringprobe[" "fsync(fd " "$f" ENOSPC
}

# qemu-io with aio=io_uring: QEMU submits its flushes as IORING_OP_FSYNC
# (its own latch after a failed flush covers only the thread-pool path).
# Flush results are read from QEMU's trace of the ring's completions.
errname() {
	case $1 in
	0) echo 0 ;; -5) echo EIO ;; -28) echo ENOSPC ;; -122) echo EDQUOT ;; *) echo "$1" ;;
	esac
}

scenario_qemu-uring() {
	local img=$MNT/disk.raw err=$WORK/qemu-uring.err n=0 ret rc
	declare -A flush
	rf_env timeout 30 qemu-img create -q -f raw "$img" 128M
	check create $? "qemu-img create"
	printf 'write -q -P 0x42 0 64M\nflush\nflush\nflush\n' |
		rf_env timeout 60 qemu-io -f raw -t writeback -i io_uring -T luring_process_completion "$img" \
			>/dev/null 2>"$err"
	rc=$?
	# The first completion is the write; then one per flush that reached
	# the kernel (QEMU skips a flush when nothing was written since one
	# that succeeded), and the flush at close.
	for ret in $(sed -n 's/.*luring_process_completion .* ret \(-\{0,1\}[0-9]*\)$/\1/p' "$err" | tail -n +2); do
		n=$((n + 1))
		flush[$n]=$(errname "$ret")
		obs "flush$n" "${flush[$n]}"
	done
	obs exit "$rc"
	if [ "$n" = 0 ]; then
		printf 'check flushes skip qemu-io printed no luring_process_completion trace (no io_uring or trace support)\n'
		return 0
	fi
	check flush1 "$([ "${flush[1]}" != 0 ]; echo $?)" "the first flush after 64 MiB of B fails"
	if is_sticky; then
		check flush2 "$([ "${flush[2]:-}" = EIO ]; echo $?)" "the second flush returns EIO"
	else
		check flush2 "$([ "${flush[2]:-}" = 0 ]; echo $?)" "Linux: the second flush succeeds"
	fi
	grep -v luring_ "$err" >&2
	report_check "$err" report "qemu-io[" "fdatasync(fd " "$img" ENOSPC
	drop_caches
	rf_env timeout 60 qemu-io -f raw -c "read -q -P 0x42 32M 1M" "$img" >/dev/null 2>&1
	rc=$?; obs B-at-32M-after-drop "$([ "$rc" = 0 ] && echo intact || echo lost)"
}

# A real guest: qemu-system-x86_64 (TCG) boots a Debian kernel and a
# minimal initramfs whose /init (guest/init.c) writes to the virtio disk, a
# raw image on the thin filesystem, and fsyncs: 1 MiB of A, 64 MiB of B
# (its flush fails: the pool is full), then 4 KiB of C twice.  werror=report
# hands the host's error to the guest instead of pausing the VM.  With
# aio=io_uring QEMU flushes through the ring; with aio=threads through
# fdatasync in its thread pool, where its own latch fails later flushes.
GUEST=$BIN/guest
guest_ready() {
	[ -x "$GUEST/init" ] || { echo "$GUEST/init not built (no static libc)"; return 1; }
	"$HERE/guest/make-guest.sh" "$GUEST" "$GUEST/init" | tail -1
	[ "${PIPESTATUS[0]}" = 0 ]
}

scenario_qemu_guest() {
	local aio=$1 img=$MNT/guest.raw out=$WORK/guest.out err=$WORK/guest.err step res
	declare -A got
	rf_env timeout 30 qemu-img create -q -f raw "$img" 128M
	check create $? "qemu-img create"
	rf_env timeout 600 qemu-system-x86_64 -machine pc,accel=tcg -m 256 -nographic -no-reboot \
		-net none -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet mods=$(cat "$GUEST/mods")" \
		-drive "file=$img,format=raw,if=virtio,cache=writeback,aio=$aio,werror=report,rerror=report" \
		</dev/null >"$out" 2>"$err"
	obs qemu-exit $?
	while read -r _ step res; do
		got[$step]=$res
		obs "$step" "$res"
	done < <(tr -d '\r' <"$out" | grep -o 'guest [a-zA-Z+-]* [A-Z0-9]*$')
	check booted "$(grep -q 'guest done' "$out"; echo $?)" "the guest ran its steps and powered off"
	check write-A+fsync "$([ "${got[write-A+fsync]:-}" = 0 ]; echo $?)" "the first fsync succeeds"
	check write-B+fsync "$([ "${got[write-B+fsync]:-0}" != 0 ]; echo $?)" "the guest's fsync after 64 MiB of B fails"
	if is_sticky || [ "$aio" = threads ]; then
		check write-C+fsync "$([ "${got[write-C+fsync]:-}" = EIO ]; echo $?)" "the guest's next fsync fails"
		check write-C+fsync-again "$([ "${got[write-C+fsync-again]:-}" = EIO ]; echo $?)" "and the one after"
	else
		check write-C+fsync "$([ "${got[write-C+fsync]:-}" = 0 ]; echo $?)" \
			"Linux, aio=io_uring: the guest is told its next write is safe"
	fi
	cat "$err" >&2
	report_check "$err" report "fdatasync(" "$img" ENOSPC
}
scenario_qemu-guest-uring() { scenario_qemu_guest io_uring; }
scenario_qemu-guest-threads() { scenario_qemu_guest threads; }

# With no fault the shim must be invisible: the same qemu-io and qemu-img
# session gives byte-identical output with and without it (timing figures
# removed).  Runs on a healthy fixture (backing store larger than the image).
scenario_qemu-nofault() {
	local img=$MNT/disk.raw out=$WORK/qemu-nofault.$MODE
	fixture_heal "$MNT" 700
	{
		rf_env timeout 30 qemu-img create -f raw "$img" 32M
		rf_env timeout 60 qemu-io -f raw -t writeback \
			-c "write -P 0x41 0 1M" -c flush -c "write -z 512k 64k" -c "aio_write -P 0x42 2M 64k" \
			-c aio_flush -c "writev -P 0x43 4M 4k 4k" -c flush -c "read -v 512k 32" \
			-c "read -P 0x43 4M 8k" -c "discard 8M 1M" -c "readv -v 2M 16 16" -c map "$img"
		rf_env timeout 30 qemu-io -f raw -c "read -P 0x41 0 512k" -c flush "$img"
		rf_env timeout 30 qemu-img info --output=json "$img" | grep -v -e actual-size -e dirty-flag
		rf_env timeout 30 qemu-img map --output=json "$img"
		echo "exit statuses ok"
	} 2>&1 | sed -e 's/ [0-9]*\.[0-9]* sec (.*)$/ <time>/' -e "s|$MNT|<mnt>|g" >"$out"
	obs output-lines "$(wc -l <"$out")"
	if is_sticky; then
		if [ -f "$WORK/qemu-nofault.linux" ]; then
			diff -u "$WORK/qemu-nofault.linux" "$out" >&2
			check identical $? "qemu-io/qemu-img output identical with and without the shim"
		else
			printf 'check identical skip the run without the shim did not happen\n'
		fi
	fi
}

# Redis, appendonly yes + appendfsync always: every write is fdatasync'ed
# before the client gets OK.  Started on a loopback port, always with a
# timeout; auto AOF rewrite off so that no background child rewrites the
# file at a time of its choosing.
REDIS_PID='' REDIS_PORT=
redis_start() {
	local i
	REDIS_PORT=$((20000 + RANDOM % 30000))
	# $! is timeout's pid: signalling it reaches redis-server too.
	rf_exec timeout 120 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
		--dir "$MNT" --appendonly yes --appendfsync always --save "" \
		--auto-aof-rewrite-percentage 0 --daemonize no --protected-mode no \
		--logfile "$WORK/redis.$MODE.log" 2>&1 &
	REDIS_PID=$!
	for ((i = 0; i < 50; i++)); do
		timeout 5 redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
		kill -0 "$REDIS_PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}
redis_stop() {
	timeout 10 redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 ||
		kill -TERM "$REDIS_PID" 2>/dev/null
	# Bounded: the server runs under timeout(1).
	wait "$REDIS_PID" 2>/dev/null
}
# redis_set N...: SET kN for each N; the reply decides which list N joins.
REDIS_OK='' REDIS_BAD=''
redis_set() {
	local n
	for n in "$@"; do
		if [ "$(timeout 30 redis-cli -p "$REDIS_PORT" set "k$n" "v$n" 2>&1)" = OK ]; then
			REDIS_OK="$REDIS_OK $n"
		else
			REDIS_BAD="$REDIS_BAD $n"
		fi
	done
}
# redis_set_file KEY FILE: SET KEY to FILE's content over the wire protocol
# (redis-cli -x takes 4 s to send 64 MiB here, this under 1 s); prints the
# reply as redis-cli would, nothing if the server went away.  A server that
# stops reading is bounded by its own timeout (redis_start).
redis_set_file() {
	(
		export LC_ALL=C # ${#1}: bytes
		exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" || exit 1
		{
			# shellcheck disable=SC2016 # $3 and $%d are Redis's protocol
			printf '*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n' "${#1}" "$1" "$(stat -c %s "$2")"
			cat "$2"
			printf '\r\n'
		} >&3 || exit 1
		IFS= read -r -t 60 reply <&3 || exit 1
		reply=${reply%$'\r'}
		echo "${reply#+}"
	) 2>/dev/null
}
redis_fix_aof() {
	# What an operator does when Redis refuses a damaged AOF; no shim: it is
	# repairing, not syncing.
	echo y | timeout 60 env -u LD_PRELOAD redis-check-aof --fix \
		"$MNT/appendonlydir/appendonly.aof.manifest" >&2
}

# The same life as the SQLite scenario: k1-5, a 64 MiB value (k6) that fills
# the pool, restart and k7-9, heal, restart and k10-12, maintenance (caches
# dropped, AOF repaired, loss acknowledged), restart and k13-15; then a cold
# start shows what is stored.
scenario_redis() {
	local big=$WORK/big.value have n lost=0 lost_after=0 phantom=0 rc
	REDIS_OK='' REDIS_BAD=''
	head -c $((64 * 1024 * 1024)) /dev/zero | tr '\0' B >"$big"
	redis_start
	check start $? "redis-server starts"
	redis_set 1 2 3 4 5
	# Redis exits on a failed fdatasync under appendfsync always.
	if [ "$(redis_set_file k6 "$big")" = OK ]; then
		REDIS_OK="$REDIS_OK 6"
	else
		REDIS_BAD="$REDIS_BAD 6"
	fi
	redis_stop
	redis_start
	rc=$?
	obs restart-after-failure "$([ $rc = 0 ] && echo up || echo down)"
	redis_set 7 8 9
	redis_stop
	fixture_heal "$MNT" 700
	redis_start
	redis_set 10 11 12
	redis_stop
	drop_caches
	redis_fix_aof
	ack_paths "$MNT"/appendonlydir/*
	redis_start
	redis_set 13 14 15
	redis_stop

	# What is really stored: a cold start, repairing the AOF if Redis refuses it.
	drop_caches
	if redis_start; then
		obs final-start clean
	else
		redis_stop
		redis_fix_aof
		if redis_start; then obs final-start after-aof-fix; else obs final-start down; fi
	fi
	have=" $(timeout 10 redis-cli -p "$REDIS_PORT" keys '*' 2>&1 | tr '\n' ' ') "
	redis_stop
	cat "$WORK/redis.$MODE.log" >&2; rm -f "$WORK/redis.$MODE.log"

	for n in $REDIS_OK; do
		case $have in *" k$n "*) continue ;; esac
		lost=$((lost + 1))
		[ "$n" -gt 6 ] && lost_after=$((lost_after + 1))
	done
	for n in $REDIS_BAD; do case $have in *" k$n "*) phantom=$((phantom + 1)) ;; esac; done
	obs first-failed-set "k$(first_of "$REDIS_BAD")"
	check first-failure "$([ "$(first_of "$REDIS_BAD")" = 6 ]; echo $?)" "the 64 MiB SET k6 is the first to fail"
	obs acked-after-failure "$(count "$(ids_in "$REDIS_OK" 7 12)")/6"
	obs acked-after-ack "$(count "$(ids_in "$REDIS_OK" 13 15)")/3"
	obs acked-lost "$lost"
	obs failed-present "$phantom"
	if is_sticky; then
		check acked-after-failure "$(count "$(ids_in "$REDIS_OK" 7 12)")" \
			"no SET is acknowledged between the failure and the operator's acknowledgment"
		check_live acked-after-ack "$([ "$(count "$(ids_in "$REDIS_OK" 13 15)")" = 3 ]; echo $?)" \
			"SETs succeed again after the acknowledgment"
		check_live no-loss "$lost" "every acknowledged SET is stored (lost $lost)"
	elif loss_expected; then
		check loss-real "$([ "$lost_after" -gt 0 ]; echo $?)" \
			"a SET acknowledged after the first failure is missing (lost $lost_after)"
	fi
}

# LMDB with its default flags (no MDB_NOSYNC): a commit fdatasyncs the data
# pages, then writes the meta page through an O_DSYNC descriptor.  One key per
# transaction, the writer living as the SQLite scenario's application does:
#   run 1  k1-5, k6 of 16 MiB (more than the pool has), k7-10 (retries, same process)
#   run 2  k11-13 (restarted)
#   heal   the operator grows the pool
#   run 3  k14-16
#   maintenance: caches dropped, loss acknowledged (stickysync only)
#   run 4  k17-19
# then the cache is dropped and a fresh process, without the shim, reads
# every key (and mdb_stat counts the entries).
LMDB_OK='' LMDB_BAD=''
declare -A LMDB_RESULT # key number -> 0 or what the commit returned
lmdb_run() {
	local first=$1 last=$2 out=$WORK/lmdb.out n err
	rf_env timeout 120 "$BIN/lmdb" "$MODE" write "$MNT/lmdb" "$first" "$last" "${3:-0}" \
		>"$out" 2>>"$WORK/lmdb.err"
	for ((n = first; n <= last; n++)); do
		if grep -qx "committed $n" "$out"; then
			LMDB_OK="$LMDB_OK $n"
			LMDB_RESULT[$n]=0
			continue
		fi
		LMDB_BAD="$LMDB_BAD $n"
		err=$(sed -n -e "s/^failed $n //p" -e 's/^open-failed /open:/p' "$out")
		LMDB_RESULT[$n]=${err:-crashed}
	done
}

scenario_lmdb() {
	local db=$MNT/lmdb have n lost=0 phantom=0
	LMDB_OK='' LMDB_BAD=''
	mkdir "$db"
	: >"$WORK/lmdb.err"
	lmdb_run 1 10 6
	lmdb_run 11 13
	fixture_heal "$MNT" 700
	lmdb_run 14 16
	drop_caches
	ack_paths "$db/data.mdb" "$db/lock.mdb"
	lmdb_run 17 19
	cat "$WORK/lmdb.err" >&2
	report_check "$WORK/lmdb.err" report "lmdb[" "$db/data.mdb" ENOSPC

	drop_caches
	timeout 60 env -u LD_PRELOAD "$BIN/lmdb" linux read "$db" 1 19 6 >"$WORK/lmdb.read" 2>&1
	have=" $(sed -n 's/^stored //p' "$WORK/lmdb.read" | tr '\n' ' ') "
	for n in $LMDB_OK; do case $have in *" $n "*) ;; *) lost=$((lost + 1)) ;; esac; done
	for n in $LMDB_BAD; do case $have in *" $n "*) phantom=$((phantom + 1)) ;; esac; done
	obs first-failed-key "k$(first_of "$LMDB_BAD")"
	check first-failure "$([ "$(first_of "$LMDB_BAD")" = 6 ]; echo $?)" "the 16 MiB k6 is the first commit to fail"
	obs k6.commit "${LMDB_RESULT[6]}"
	obs k7.retry "${LMDB_RESULT[7]}"
	obs k11.restart "${LMDB_RESULT[11]}"
	obs k14.after-heal "${LMDB_RESULT[14]}"
	obs k17.after-ack "${LMDB_RESULT[17]}"
	obs committed-after-failure "$(count "$(ids_in "$LMDB_OK" 7 16)")/10"
	obs committed-after-ack "$(count "$(ids_in "$LMDB_OK" 17 19)")/3"
	obs committed-lost "$lost"
	obs failed-present "$phantom"
	obs corrupt "$(grep -c '^corrupt ' "$WORK/lmdb.read")"
	obs mdb_stat.entries "$(timeout 30 mdb_stat "$db" 2>&1 | sed -n 's/^ *Entries: //p')"
	if is_sticky; then
		check committed-after-failure "$(count "$(ids_in "$LMDB_OK" 7 16)")" \
			"no commit succeeds between the failure and the acknowledgment"
		check_live committed-after-ack "$([ "$(count "$(ids_in "$LMDB_OK" 17 19)")" = 3 ]; echo $?)" \
			"after acknowledgment all 3 commits succeed"
		check_live no-loss "$lost" "every reported commit is stored (lost $lost)"
	fi
}

# ---------------------------------------------------------------------------
# Running and collecting.

record() {
	local out=$1 line key rest verdict detail
	while IFS= read -r line; do
		case $line in
		"obs "*)
			rest=${line#obs }
			key=${rest%% *}
			[ "$key" = pid ] || [ "$key" = path ] && continue
			printf '%s\t%s\t%s\t%s\t%s\n' "$FS" "$SCENARIO" "$MODE" "$key" "${rest#* }" >>"$RESULTS"
			;;
		"check "*)
			rest=${line#check }
			key=${rest%% *}
			rest=${rest#* }
			verdict=${rest%% *}
			detail=${rest#* }
			printf '%s\t%s\t%s\t%s\t%s\n' "$FS" "$SCENARIO" "$MODE" "$key" "$verdict" >>"$VERDICTS"
			case $verdict in
			pass) PASSED=$((PASSED + 1)) ;;
			skip)
				SKIPPED=$((SKIPPED + 1))
				echo "  SKIP $SCENARIO/$FS/$MODE: $key: $detail"
				;;
			*)
				FAILED=$((FAILED + 1))
				echo "  FAIL $SCENARIO/$FS/$MODE: $key: $detail"
				;;
			esac
			;;
		esac
	done <"$out"
}

skip() {
	SKIPPED=$((SKIPPED + 1))
	echo "  SKIP $SCENARIO/$FS/$MODE: $*"
	printf '%s\t%s\t%s\t%s\t%s\n' "$FS" "$SCENARIO" "$MODE" "-" "SKIP" >>"$RESULTS"
}

run_one() {
	local log=$LOGS/$SCENARIO.$FS.$MODE rc reason
	if [ "$MODE" = sticky ] && [ ! -f "$LIB" ]; then
		skip "shim $LIB not built"
		return
	fi
	MNT=$(fixture_create "$FS" "$(fs_size "$FS")" 2>"$log.fixture")
	rc=$?
	if [ $rc != 0 ]; then
		reason=$(sed -n 's/^SKIP: //p' "$log.fixture")
		if [ $rc = 77 ]; then skip "$reason"; else
			FAILED=$((FAILED + 1))
			echo "  FAIL $SCENARIO/$FS/$MODE: fixture: $(tail -1 "$log.fixture")"
		fi
		return
	fi
	STATE=$(mktemp -d "$WORK/state.XXXXXX")
	chmod 0700 "$STATE"
	# A subshell: a scenario cannot disturb the driver's variables or traps.
	# In the background, so that a signal is handled at once (see on_signal).
	("scenario_$SCENARIO") >"$log.out" 2>"$log.err" </dev/null &
	SCENARIO_PID=$!
	wait "$SCENARIO_PID"
	rc=$?
	SCENARIO_PID=
	record "$log.out"
	# 0: all checks passed, 1: a check failed (already counted); anything
	# else is a crash or a timeout, which the checks cannot have seen.
	if [ $rc -gt 1 ]; then
		FAILED=$((FAILED + 1))
		echo "  FAIL $SCENARIO/$FS/$MODE: exited with status $rc (log: $log.err)"
	fi
	fixture_destroy "$MNT" || {
		FAILED=$((FAILED + 1))
		echo "  FAIL $SCENARIO/$FS/$MODE: fixture teardown"
	}
	rm -rf "$STATE"
}

# Filesystems a scenario is limited to (default: every one of --fs); the
# reasons are in docs/REALFAULTS.md.
declare -A ONLY_ON=(
	[policies]="ext4 xfs" [remount]="ext4 xfs" [uring]="ext4 xfs" [qemu-uring]="ext4 xfs"
	[qemu-guest-uring]=ext4 [qemu-guest-threads]=ext4 [lmdb]=ext4 [postgres-retry]=ext4
	[postgres-panic]=ext4
	[static]="ext4 xfs" [go]="ext4 xfs"
)

run_scenario() {
	local start=$SECONDS
	SCENARIO=$1
	wanted "$SCENARIO" || return 0
	echo "realfaults: $SCENARIO"
	for FS in $FS_LIST; do
		case " ${ONLY_ON[$SCENARIO]:-$FS_LIST} " in *" $FS "*) ;; *) continue ;; esac
		for MODE in linux sticky; do
			run_one
		done
	done
	echo "  ($((SECONDS - start)) s)"
}

tool_missing() {
	local t
	for t in "$@"; do command -v "$t" >/dev/null 2>&1 || { echo "$t"; return 0; }; done
	return 1
}

skip_scenario() {
	SCENARIO=$1 FS=all MODE=both
	skip "$2"
}

run_program_scenario() {
	local sc=$1 missing
	shift
	wanted "$sc" || return 0
	if missing=$(tool_missing "$@"); then
		skip_scenario "$sc" "$missing not installed"
		return
	fi
	run_scenario "$sc"
}

# The table: one row per scenario step, one column per filesystem, each cell
# "what Linux returned -> what stickysync returned", "!" marking a failed check.
table() {
	awk -F'\t' -v fslist="$FS_LIST" '
	FILENAME == ARGV[1] { if ($5 == "fail") bad[$1 SUBSEP $2 SUBSEP $3 SUBSEP $4] = 1; next }
	{
		row = $2 SUBSEP $4
		if (!(row in seen)) { seen[row] = 1; order[++n] = row }
		cell[$1 SUBSEP row SUBSEP $3] = $5 ((($1 SUBSEP $2 SUBSEP $3 SUBSEP $4) in bad) ? " !" : "")
	}
	END {
		nfs = split(fslist, fs, " ")
		printf "| scenario | step |"
		for (i = 1; i <= nfs; i++) printf " %s |", fs[i]
		printf "\n|---|---|"
		for (i = 1; i <= nfs; i++) printf "---|"
		printf "\n"
		for (r = 1; r <= n; r++) {
			split(order[r], p, SUBSEP)
			printf "| %s | %s |", p[1], p[2]
			for (i = 1; i <= nfs; i++) {
				l = cell[fs[i] SUBSEP order[r] SUBSEP "linux"]
				s = cell[fs[i] SUBSEP order[r] SUBSEP "sticky"]
				a = cell["all" SUBSEP order[r] SUBSEP "both"]
				if (a != "") { printf " %s |", a; continue }
				if (l == "" && s == "") { printf " |"; continue }
				printf " %s → %s |", (l == "" ? "–" : l), (s == "" ? "–" : s)
			}
			printf "\n"
		}
	}' "$VERDICTS" "$RESULTS"
}

write_doc() {
	local tmp=$1.tmp
	{
		sed -n '1,/^@TABLE@$/p' "$HERE/REALFAULTS.md.in" | sed '$d'
		echo "Measured $(date -u +%Y-%m-%d) on Linux $(uname -r) ($(uname -m));"
		echo "$(mkfs.xfs -V 2>/dev/null | head -1), $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 | sed 's/^/SQLite /'),"
		echo "$(qemu-img --version 2>/dev/null | head -1 | cut -d' ' -f1-3), $(redis-server --version 2>/dev/null | cut -d' ' -f1-3),"
		echo "$(mdb_stat -V 2>/dev/null | cut -d: -f1), PostgreSQL $("$(pg_bindir)/postgres" --version 2>/dev/null | cut -d' ' -f3)."
		echo "Result: $PASSED checks passed, $FAILED failed, $SKIPPED skipped."
		echo
		table
		sed -n '/^@TABLE@$/,$p' "$HERE/REALFAULTS.md.in" | sed '1d'
	} >"$tmp" && mv "$tmp" "$1"
}

main() {
	local sc reason
	for sc in $KERNEL_SCENARIOS; do
		run_scenario "$sc"
	done
	run_scenario policies
	run_program_scenario xattr getfattr
	run_scenario remount
	if [ -x "$SUPERVISED_BIN/syncseq" ]; then
		run_scenario static
		run_scenario go
	else
		wanted static && skip_scenario static "$SUPERVISED_BIN/syncseq not built"
		wanted go && skip_scenario go "$SUPERVISED_BIN/syncseq not built"
	fi
	run_program_scenario sqlite-wal sqlite3
	run_program_scenario sqlite-delete sqlite3
	run_program_scenario qemu qemu-img qemu-io
	run_program_scenario qemu-nofault qemu-img qemu-io
	if [ -x "$BIN/uringprobe" ]; then
		run_scenario uring
	elif wanted uring; then
		skip_scenario uring "$BIN/uringprobe not built (liburing.h missing: liburing-dev)"
	fi
	run_program_scenario qemu-uring qemu-img qemu-io
	for sc in qemu-guest-uring qemu-guest-threads; do
		wanted "$sc" || continue
		if ! command -v qemu-system-x86_64 >/dev/null; then
			skip_scenario "$sc" "qemu-system-x86_64 not installed (qemu-system-x86)"
		elif ! reason=$(guest_ready); then
			skip_scenario "$sc" "$reason"
		else
			run_scenario "$sc"
		fi
	done
	run_program_scenario redis redis-server redis-cli redis-check-aof
	if [ -x "$BIN/lmdb" ]; then
		run_program_scenario lmdb mdb_stat
	elif wanted lmdb; then
		skip_scenario lmdb "$BIN/lmdb not built (lmdb.h missing: liblmdb-dev)"
	fi
	for sc in postgres-retry postgres-panic; do
		wanted "$sc" || continue
		if reason=$(pg_unavailable); then
			skip_scenario "$sc" "$reason"
		else
			run_scenario "$sc"
		fi
	done
	echo
	table
	[ -n "$DOC" ] && write_doc "$DOC" && echo "(written to $DOC; logs in $LOGS)"
	echo "realfaults: $PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" = 0 ]
}

main
