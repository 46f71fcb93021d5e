#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# The 2016 setup itself: a GlusterFS volume whose one brick is a thin ext4
# filesystem, mounted twice through FUSE, the two mounts standing for two
# hosts, each with a state folder of its own.  Every scenario runs once
# without the shim ("linux") and once with it ("sticky"), each on a fresh
# volume, and prints the rows of docs/REALFAULTS.md.
#
#   gluster.sh --bin build/realfaults --lib build/libstickysync.so --cli build/stickysync
#
# glusterd runs in a network namespace made for the run, whose only
# interface is its loopback: the brick's address is 127.0.0.2 (the command
# refuses 127.0.0.1), and nothing it resolves can leave the machine.  The
# FUSE mounts are made with nsenter --net, which keeps the mount namespace
# (ip netns exec would make a private one).  Only one glusterd can run on a
# machine (its socket and several folders are fixed): the run says SKIP
# when another one answers, and removes afterwards exactly what glusterd
# added under /run, /var/log/glusterfs and /var/lib/glusterd.
#
# Needs root, /dev/fuse, loop devices and the Debian packages
# glusterfs-server glusterfs-client attr (qemu-utils for the qemu
# scenario); otherwise every scenario says SKIP.  The last line is always
# "gluster: N passed, N failed, N skipped"; the exit status is 1 if any
# check failed.
set -u
# shellcheck source-path=SCRIPTDIR source=turn.sh
. "$(dirname "$0")/turn.sh"

BIN=build/realfaults LIB=build/libstickysync.so CLI=build/stickysync
while [ $# -gt 0 ]; do
	case $1 in
	--bin) BIN=$2; shift 2 ;;
	--lib) LIB=$2; shift 2 ;;
	--cli) CLI=$2; shift 2 ;;
	-h | --help) sed -n '3,26p' "$0"; exit 0 ;;
	*) echo "gluster.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
BIN=$(realpath -m "$BIN") LIB=$(realpath -m "$LIB") CLI=$(realpath -m "$CLI")

PASSED=0 FAILED=0 SKIPPED=0
ROWS=() # "scenario|step|mode|value"
BRICK_ADDR=127.0.0.2
VOL=stickysync
POOL_MB=48 # the brick's backing store: far less than the 64 MiB written
# glusterd's files outside its working folder (research: they are fixed)
GLUSTER_FIXED="/run/gluster /run/glusterd.socket /var/log/glusterfs /var/lib/glusterd"

# ---- why it cannot run here ---------------------------------------------------

unavailable() {
	local t
	[ "$(id -u)" = 0 ] || { echo "not root"; return 0; }
	[ -c /dev/fuse ] || { echo "no /dev/fuse"; return 0; }
	[ -c /dev/loop-control ] || { echo "no /dev/loop-control"; return 0; }
	for t in glusterd gluster mount.glusterfs getfattr nsenter ip losetup mkfs.ext4; do
		command -v "$t" >/dev/null 2>&1 ||
			{ echo "$t not installed (Debian: glusterfs-server glusterfs-client attr)"; return 0; }
	done
	if pgrep -x glusterd >/dev/null || pgrep -x glusterfsd >/dev/null; then
		echo "another glusterd runs on this machine (one per machine)"
		return 0
	fi
	[ -f "$LIB" ] || { echo "$LIB not built"; return 0; }
	return 1
}

# ---- the volume ---------------------------------------------------------------

R='' NS='' M1='' M2=''
GL() { timeout 60 gluster --mode=script "$@"; }

# What glusterd adds outside R is removed by teardown: the listing before.
snapshot_fixed() {
	local p
	for p in $GLUSTER_FIXED; do
		[ -e "$p" ] && find "$p" -mindepth 0 2>/dev/null
	done | sort >"$R/fixed.before"
}

# volume_up OPTION=VALUE...: a fresh volume, mounted at M1 and M2.
volume_up() {
	local loop opt i
	R=$(mktemp -d /tmp/stickysync-gluster.XXXXXX) || return 1
	NS=stickysync-gl-$$
	M1=$R/m1 M2=$R/m2
	snapshot_fixed
	mkdir -p "$R/lib" "$R/log" "$R/backing" "$R/brickfs" "$M1" "$M2" || return 1
	ip netns add "$NS" && ip -n "$NS" link set lo up || return 1
	mount -t tmpfs -o "size=${POOL_MB}m,mode=0700" tmpfs "$R/backing" || return 1
	truncate -s 512M "$R/backing/img"
	loop=$(losetup -f --show "$R/backing/img") || return 1
	# The journal written now, not in the pool later: a sparse journal that
	# cannot be written back aborts ext4 and the brick goes read-only.
	mkfs.ext4 -q -F -E lazy_journal_init=0,nodiscard "$loop" || return 1
	mount -o noinit_itable "$loop" "$R/brickfs" && mkdir "$R/brickfs/brick" || return 1
	sed "s#/var/lib/glusterd#$R/lib#" /etc/glusterfs/glusterd.vol >"$R/glusterd.vol"
	nsenter --net="/run/netns/$NS" glusterd -f "$R/glusterd.vol" -p "$R/glusterd.pid" \
		-l "$R/log/glusterd.log" || return 1
	for ((i = 0; i < 300; i++)); do
		GL pool list >/dev/null 2>&1 && break
		sleep 0.1
	done
	GL volume create "$VOL" "$BRICK_ADDR:$R/brickfs/brick" force >/dev/null || return 1
	for opt in "$@"; do
		GL volume set "$VOL" "${opt%%=*}" "${opt#*=}" >/dev/null || return 1
	done
	GL volume start "$VOL" >/dev/null || return 1
	for i in 1 2; do
		nsenter --net="/run/netns/$NS" mount -t glusterfs \
			-o "log-file=$R/log/m$i.log" "$BRICK_ADDR:/$VOL" "$R/m$i" || return 1
	done
}

# The processes of this run (their command lines name R), by pid.
our_pids() {
	local p
	for p in $(pgrep -f "$R/"); do
		[ "$p" != $$ ] && echo "$p"
	done
}

volume_down() {
	local m loop p i
	[ -n "$R" ] && [ -d "$R" ] || return 0
	for m in "$M1" "$M2"; do
		mountpoint -q "$m" && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	GL volume stop "$VOL" force >/dev/null 2>&1
	for p in $(our_pids); do kill -TERM "$p" 2>/dev/null; done
	for ((i = 0; i < 50; i++)); do
		[ -z "$(our_pids)" ] && break
		sleep 0.1
	done
	for p in $(our_pids); do kill -KILL "$p" 2>/dev/null; done
	mountpoint -q "$R/brickfs" && { umount "$R/brickfs" 2>/dev/null || umount -l "$R/brickfs"; }
	for loop in $(losetup -n -O NAME -j "$R/backing/img" 2>/dev/null); do losetup -d "$loop"; done
	mountpoint -q "$R/backing" && umount "$R/backing"
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	# exactly what glusterd added outside R, deepest first
	for p in $GLUSTER_FIXED; do
		[ -e "$p" ] && find "$p" -mindepth 0 2>/dev/null
	done | sort | comm -13 "$R/fixed.before" - | sort -r | while IFS= read -r p; do
		if [ -d "$p" ] && [ ! -L "$p" ]; then rmdir "$p" 2>/dev/null; else rm -f "$p"; fi
	done
	rm -rf --one-file-system "$R"
	R=''
}
trap 'volume_down' EXIT
trap 'volume_down; exit 130' INT TERM HUP

# ---- checks and rows (the lines of rf.h) -------------------------------------

SCENARIO='' MODE='' STATE_A='' STATE_B=''
is_sticky() { [ "$MODE" = sticky ]; }
obs() { printf 'obs %s %s\n' "$1" "$2"; }
check() {
	local key=$1 ok=$2
	shift 2
	if [ "$ok" = 0 ]; then printf 'check %s pass %s\n' "$key" "$*"; else
		printf 'check %s fail %s\n' "$key" "$*"; fi
}

# host A|B CMD...: CMD as a process of host A (state A) or B, in this mode.
host() {
	local state=$STATE_A
	[ "$1" = B ] && state=$STATE_B
	shift
	if is_sticky; then
		env LD_PRELOAD="$LIB" STICKYSYNC_STATE="$state" STICKYSYNC_LOG=stderr "$@"
	else
		env -u LD_PRELOAD -u STICKYSYNC_STATE -u STICKYSYNC_INJECT "$@"
	fi
}
op() { local h=$1; shift; host "$h" timeout 120 "$BIN/rf_op" "$MODE" "$@"; }
cli() { timeout 30 env -u LD_PRELOAD "$CLI" "$@"; }
grow_pool() { mount -o remount,size=600m "$R/backing"; }

# The seed's story through mount 1 (host A): A durable, 64 MiB of B, two
# fsyncs, caches dropped, B gone.  Then a fresh fd through mount 2 (host B,
# which never saw the failure) and a restarted process on host A; the
# operator on B grows the pool and acknowledges: both sync again.
scenario_seed() {
	local f1=$M1/seed f2=$M2/seed value
	host A timeout 180 "$BIN/seed" "$MODE" "$M1" | grep -v -e '^obs pid ' -e '^obs path '
	op B fsync hostB.fresh-fd.fsync "$f2" any EIO
	op A fsync hostA.restart.fsync "$f1" any EIO
	value=$(getfattr --only-values -n user.stickysync "$f2" 2>/dev/null)
	obs m2.attribute "$(printf '%s' "${value:-none}" | cut -d' ' -f2,3)"
	grow_pool
	if is_sticky; then
		cli ack --state "$STATE_B" "$f2" >&2
		check operator.hostB.ack $? "stickysync ack through mount 2"
	fi
	op B fsync hostB.after-ack.fsync "$f2" ok ok
	op A fsync hostA.after-ack.fsync "$f1" ok ok
}

# QEMU's raw driver on the FUSE mount, cache=writeback, each step a
# process of its own, as a VM restarted (or migrated) after the error.
scenario_qemu() {
	local img1=$M1/disk.raw img2=$M2/disk.raw rc
	qio() { local h=$1; shift; host "$h" timeout 120 qemu-io -f raw -t writeback "$@" 2>&1; }
	host A timeout 30 qemu-img create -q -f raw "$img1" 128M
	check create $? "qemu-img create"
	qio A -c "write -q -P 0x41 0 1M" -c flush "$img1" >&2
	rc=$?; obs write-A+flush "$rc"; check write-A+flush "$rc" "exit $rc"
	qio A -c "write -q -P 0x42 0 64M" -c flush "$img1" >&2
	rc=$?; obs write-B+flush "$rc"
	check write-B+flush "$([ "$rc" != 0 ]; echo $?)" "the flush after 64 MiB of B fails (exit $rc)"
	qio A -c "write -q -P 0x43 0 4k" -c flush "$img1" >&2
	rc=$?; obs hostA.restart.write+flush "$rc"
	is_sticky && check hostA.restart.write+flush "$([ "$rc" != 0 ]; echo $?)" "exit $rc"
	qio B -c "write -q -P 0x44 4k 4k" -c flush "$img2" >&2
	rc=$?; obs hostB.migrated.write+flush "$rc"
	is_sticky && check hostB.migrated.write+flush "$([ "$rc" != 0 ]; echo $?)" "exit $rc"
	echo 3 >/proc/sys/vm/drop_caches
	qio B -c "read -q -P 0x42 32M 1M" "$img2" >/dev/null
	rc=$?; obs B-at-32M-after-drop "$([ "$rc" = 0 ] && echo intact || echo lost)"
	check B-lost "$([ "$rc" != 0 ]; echo $?)" "B at 32 MiB is not on the brick"
}

# ---- running ------------------------------------------------------------------

skip_all() {
	local sc
	for sc in "$@"; do
		echo "  SKIP $sc: $REASON"
		SKIPPED=$((SKIPPED + 1))
		ROWS+=("$sc|-|both|SKIP")
	done
}

record() { # OUTPUT
	local line key rest verdict
	while IFS= read -r line; do
		case $line in
		"obs "*)
			rest=${line#obs }
			ROWS+=("$SCENARIO|${rest%% *}|$MODE|${rest#* }")
			;;
		"check "*)
			rest=${line#check }
			key=${rest%% *}
			rest=${rest#* }
			verdict=${rest%% *}
			case $verdict in
			pass) PASSED=$((PASSED + 1)) ;;
			skip) SKIPPED=$((SKIPPED + 1)); echo "  SKIP $SCENARIO/$MODE: $key: ${rest#* }" ;;
			*) FAILED=$((FAILED + 1)); echo "  FAIL $SCENARIO/$MODE: $key: ${rest#* }" ;;
			esac
			;;
		esac
	done <"$1"
}

LOGS=$BIN/logs
run_one() { # SCENARIO MODE OPTION=VALUE...
	local log
	SCENARIO=$1 MODE=$2
	shift 2
	log=$LOGS/gluster.$SCENARIO.$MODE
	mkdir -p "$LOGS"
	if ! volume_up "$@" >"$log.setup" 2>&1; then
		FAILED=$((FAILED + 1))
		echo "  FAIL $SCENARIO/$MODE: volume setup (log: $log.setup)"
		cp "$R/log/glusterd.log" "$log.glusterd" 2>/dev/null
		volume_down
		return
	fi
	STATE_A=$R/state-a STATE_B=$R/state-b
	mkdir -m 0700 "$STATE_A" "$STATE_B"
	("scenario_$SCENARIO") >"$log.out" 2>"$log.err" </dev/null
	record "$log.out"
	cp "$R/log/m1.log" "$log.m1" 2>/dev/null
	volume_down
}

table() {
	local row sc step mode value key
	declare -A cell seen
	local order=()
	for row in "${ROWS[@]}"; do
		IFS='|' read -r sc step mode value <<<"$row"
		key="$sc|$step"
		[ -n "${seen[$key]:-}" ] || { seen[$key]=1; order+=("$key"); }
		cell[$key|$mode]=$value
	done
	echo "| scenario | step | glusterfs (ext4 brick) |"
	echo "|---|---|---|"
	for key in "${order[@]}"; do
		if [ -n "${cell[$key|both]:-}" ]; then
			echo "| gluster-${key%%|*} | ${key#*|} | ${cell[$key|both]} |"
		else
			echo "| gluster-${key%%|*} | ${key#*|} | ${cell[$key|linux]:-–} → ${cell[$key|sticky]:-–} |"
		fi
	done
}

echo "gluster: two FUSE mounts of one volume on a thin ext4 brick"
if REASON=$(unavailable); then
	skip_all seed qemu
else
	# open-behind defers the brick's open: a fresh fd through the other
	# mount would then never reach the brick fd that saw the error
	for mode in linux sticky; do
		run_one seed "$mode" performance.open-behind=off
	done
	if command -v qemu-io >/dev/null && command -v qemu-img >/dev/null; then
		for mode in linux sticky; do
			run_one qemu "$mode" performance.open-behind=off
		done
	else
		REASON="qemu-img/qemu-io not installed (qemu-utils)"
		skip_all qemu
	fi
fi
echo
table
echo "gluster: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" = 0 ]
