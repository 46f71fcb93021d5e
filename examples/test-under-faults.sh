#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# Run a program's test suite under injected sync failures, one failure per
# run, and report every failure the suite did not notice.
#
#   examples/test-under-faults.sh [-o OPS] [-p GLOB] [-n MAX] [-e ERRNO]
#                                 [-l keep|old|zero] [-b BUILD] -- CMD [ARG]...
#
#   -o OPS    which calls fail: an op= of stickysync's injector (default sync:
#             fsync, fdatasync, sync_file_range, msync, syncfs)
#   -p GLOB   only on files whose path matches GLOB (default: any file)
#   -n MAX    at most MAX runs (default 20)
#   -e ERRNO  the error (default EIO)
#   -l LOSE   what happens to the data (default old: what the disk held at
#             the last good sync, as after the kernel drops the failed pages)
#   -b BUILD  the build folder holding stickysync (default: build, else PATH)
#
# CMD runs once without faults (it must pass), then run k fails the k-th
# matching call, with sticky errors (stickysync run --fail-on-latch): from
# then on syncs of that file fail too, as they should after a loss.  A run
# in which a file latched but CMD still exited 0 is reported as UNNOTICED:
# the suite passed although data it wrote was lost.  The runs stop at the
# first k with no such call.
#
# Exit status: 0 when every failure was noticed, 1 when one was not, 2 for
# bad arguments or when CMD fails without faults.
#
# Example, SQLite's command shell as the "suite":
#   examples/test-under-faults.sh -p '*.db*' -- sh -c \
#     'rm -f /tmp/t.db*; sqlite3 /tmp/t.db "PRAGMA journal_mode=WAL;
#      CREATE TABLE t(x); INSERT INTO t VALUES(1);" >/dev/null'
set -eu
OPS=sync GLOB='' MAX=20 ERRNO=EIO LOSE=old BUILD=build
usage() {
	echo "usage: test-under-faults.sh [-o OPS] [-p GLOB] [-n MAX] [-e ERRNO] [-l LOSE] [-b BUILD] -- CMD [ARG]..." >&2
	exit 2
}
while getopts o:p:n:e:l:b: opt; do
	case $opt in
	o) OPS=$OPTARG ;;
	p) GLOB=$OPTARG ;;
	n) MAX=$OPTARG ;;
	e) ERRNO=$OPTARG ;;
	l) LOSE=$OPTARG ;;
	b) BUILD=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage
STICKYSYNC=$BUILD/stickysync
[ -x "$STICKYSYNC" ] || STICKYSYNC=$(command -v stickysync) || {
	echo "test-under-faults: no stickysync in $BUILD or on PATH" >&2
	exit 2
}

# Each run is a world of its own, with its own state folder: a latch must
# not travel to the next run on the file itself.
STICKYSYNC_XATTR=off
export STICKYSYNC_XATTR

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stickysync-faults.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# run K: CMD with the K-th matching call failing (K=0: no fault).  Sets
# status (CMD's), latched (0/1) and leaves the latches in $WORK/state-K.
run() {
	n=$1
	shift
	rule="op=$OPS,nth=$n,errno=$ERRNO,lose=$LOSE${GLOB:+,path=$GLOB}"
	set +e
	if [ "$n" = 0 ]; then
		"$STICKYSYNC" run --state "$WORK/state-0" --log "$WORK/log-0" --fail-on-latch \
			-- "$@" >"$WORK/out-0" 2>&1
	else
		# sh keeps CMD's own status: stickysync's is 74 when a file latched
		"$STICKYSYNC" run --state "$WORK/state-$n" --log "$WORK/log-$n" --fail-on-latch \
			--inject "$rule" -- sh -c '"$@"; echo $? >"$0"' "$WORK/status-$n" "$@" \
			>"$WORK/out-$n" 2>&1
	fi
	status=$?
	set -e
	latched=0
	if [ "$status" = 74 ]; then
		latched=1
		status=$(cat "$WORK/status-$n" 2>/dev/null || echo "?")
	fi
}

run 0 "$@"
if [ "$status" != 0 ] || [ "$latched" = 1 ]; then
	echo "test-under-faults: CMD fails without injected faults (status $status); its output:" >&2
	sed 's/^/  | /' "$WORK/out-0" >&2
	exit 2
fi

unnoticed=0 tried=0
k=1
while [ "$k" -le "$MAX" ]; do
	run "$k" "$@"
	if [ "$latched" = 0 ]; then
		break # fewer than k matching calls: nothing failed
	fi
	tried=$((tried + 1))
	files=$("$STICKYSYNC" status --state "$WORK/state-$k" | awk 'NR > 1 { print $NF }' | sort -u | paste -sd " ")
	if [ "$status" = 0 ]; then
		unnoticed=$((unnoticed + 1))
		echo "fault $k ($OPS #$k, $ERRNO, lose=$LOSE): UNNOTICED: CMD exited 0 although a sync failed; latched: $files"
	else
		echo "fault $k ($OPS #$k, $ERRNO, lose=$LOSE): noticed (CMD exited $status); latched: $files"
	fi
	k=$((k + 1))
done
echo "test-under-faults: $tried failure(s) injected, $unnoticed unnoticed"
[ "$unnoticed" = 0 ]
