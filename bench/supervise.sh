#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# The supervisor's cost (stickysync run --supervise), as a markdown section
# on stdout; bench.sh report appends it.
#
#   CLI=build/stickysync SEQ=build/test/syncseq bench/supervise.sh
#
# - A trapped sync: write 1 byte + fsync of a tmpfs file, SV_ITERS times, in
#   the statically linked syncseq, natively and supervised, ROUNDS rounds
#   alternating; wall ns per pair measured inside the program (start-up
#   excluded), and total CPU of the whole run (bash's `time`: the command,
#   the supervisor's threads and every process it reaped).
# - An untrapped call: one-byte writes to /dev/null, the same way: the
#   filter decides them by number alone, so the kernel's action cache lets
#   them through without running it.
# - The supervisor's own system calls per trapped fsync, strace attached to
#   its worker threads alone (not to the target, nor to the main thread,
#   whose work is once per run): the RECV and SEND of the notification, the
#   fsync itself (the target's, run here), and the extra ones, with an empty
#   table and with an unrelated file latched (which adds the file's
#   identity).  Target: at most 3 extra.
set -u
CLI=${CLI:-build/stickysync}
SEQ=${SEQ:-build/test/syncseq}
ROUNDS=${ROUNDS:-5}
SV_ITERS=${SV_ITERS:-20000}
WRITE_ITERS=${WRITE_ITERS:-500000}
COUNT_ITERS=${COUNT_ITERS:-100000} # long enough for strace to attach
WORK=$(mktemp -d /dev/shm/stickysync-svbench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export STICKYSYNC_STATE="$WORK/state"

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { tr ' ' '\n' | sed -n "/^$1\$/{n;p}"; }

# run MODE OUTFILE CPUFILE ARGS...: native or supervised, ns per call and
# total CPU ms.
run() {
	local mode=$1 out=$2 cpu=$3 t
	shift 3
	local TIMEFORMAT='%3U %3S'
	if [ "$mode" = native ]; then
		t=$( { time "$SEQ" "$@" >"$WORK/o" 2>/dev/null; } 2>&1)
	else
		t=$( { time "$CLI" run --supervise --log off -- "$SEQ" "$@" >"$WORK/o" 2>/dev/null; } 2>&1)
	fi
	field ns_per_call <"$WORK/o" >>"$out"
	awk '{ printf "%.1f\n", ($1 + $2) * 1000 }' <<<"$t" >>"$cpu"
}

# syscalls_per_fsync: the supervisor's system calls per trapped fsync, by
# name, from strace -c attached to the supervisor alone.
syscalls_per_fsync() {
	local pid
	"$CLI" run --supervise --log off -- "$SEQ" many "$WORK/count" "$COUNT_ITERS" >/dev/null 2>&1 &
	pid=$!
	sleep 0.3
	# its worker threads: the main thread only waits, and ends the tree
	timeout 20 strace -c $(ls "/proc/$pid/task" | grep -vx "$pid" | sed 's/^/-p /') \
		-o "$WORK/strace" >/dev/null 2>&1
	wait "$pid"
	awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { c[$NF] = $4 }
	END {
		f = c["fsync"]; if (!f) { print "-"; exit }
		for (s in c) if (s != "fsync" && s != "ioctl") extra += c[s]
		printf "%.2f|%.2f|%.2f|", c["ioctl"] / f, extra / f, f
		for (s in c) if (s != "fsync" && s != "ioctl" && c[s] / f >= 0.005) printf "%s %.2f, ", s, c[s] / f
	}' "$WORK/strace"
}

for r in $(seq "$ROUNDS"); do
	run native "$WORK/fsync.native" "$WORK/cpu.native" many "$WORK/f" "$SV_ITERS"
	run supervised "$WORK/fsync.sv" "$WORK/cpu.sv" many "$WORK/f" "$SV_ITERS"
	run native "$WORK/write.native" "$WORK/wcpu.native" writes "$WRITE_ITERS"
	run supervised "$WORK/write.sv" "$WORK/wcpu.sv" writes "$WRITE_ITERS"
done
fn=$(median <"$WORK/fsync.native")
fs=$(median <"$WORK/fsync.sv")
wn=$(median <"$WORK/write.native")
ws=$(median <"$WORK/write.sv")
cn=$(median <"$WORK/cpu.native")
cs=$(median <"$WORK/cpu.sv")

have_strace=$(command -v strace)
if [ -n "$have_strace" ]; then
	empty=$(syscalls_per_fsync)
	"$CLI" run --log off --inject "op=fsync,path=$WORK/other" -- "$SEQ" one "$WORK/other" >/dev/null 2>&1
	latched=$(syscalls_per_fsync)
fi

echo "## The supervisor (stickysync run --supervise)"
echo
echo "The statically linked test program $SEQ (bench/supervise.sh): $SV_ITERS pairs of a one-byte write and an fsync of a tmpfs file, and $WRITE_ITERS one-byte writes to /dev/null, natively and under the supervisor; medians of $ROUNDS alternating rounds. Wall time per call is measured inside the program; CPU is the whole run's (the supervisor's threads included)."
echo
echo "| | native | supervised | added | ratio |"
echo "|---|---|---|---|---|"
awk -v n="$fn" -v s="$fs" 'BEGIN { printf "| write+fsync, wall µs per pair | %.1f | %.1f | %+.1f | %.1f |\n", n / 1000, s / 1000, (s - n) / 1000, s / n }'
awk -v n="$cn" -v s="$cs" -v i="$SV_ITERS" 'BEGIN { printf "| write+fsync, CPU µs per pair (all processes) | %.1f | %.1f | %+.1f | %.1f |\n", n * 1000 / i, s * 1000 / i, (s - n) * 1000 / i, s / n }'
awk -v n="$wn" -v s="$ws" 'BEGIN { printf "| untrapped write, wall ns per call | %.0f | %.0f | %+.0f | %.2f |\n", n, s, s - n, s / n }'
echo
if [ -n "$have_strace" ]; then
	echo "System calls of the supervisor per trapped fsync (strace -c attached to its worker threads alone; the fsync itself is the target's, run on its own open file description; target: at most 3 extra):"
	echo
	echo "| table | notification ioctls (RECV, SEND) | extra | which |"
	echo "|---|---|---|---|"
	IFS='|' read -r io ex _ which <<<"$empty"
	echo "| nothing latched | $io | $ex | ${which%, } |"
	IFS='|' read -r io ex _ which <<<"$latched"
	echo "| another file latched | $io | $ex | ${which%, } |"
fi
