#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# test/check.sh PART...: run the parts of `make check` (each a make target
# check-PART), stream what each prints as it runs, and end with one line
# over all of them: "N passed, N failed, N skipped".
#
# Parts run in two lanes at once (CHECK_JOBS=2, the default; 1 runs them one
# after another): a lane is a list of parts separated by "+" among the
# arguments, e.g. `check.sh unit integration + realfaults counts`.  Lines of
# a part are prefixed with its name when lanes run side by side.
#
# A part's counts are read from the summary lines it prints:
#   "[NAME:] N passed, N failed[, N skipped]"   (ours)
#   "NN%: Checks: N, Failures: N, Errors: N"     (Check)
# A part that exits non-zero, or prints no summary, counts one failure more.
set -u

: "${BUILD:=build}"
: "${MAKE:=make}"
: "${CHECK_JOBS:=2}"
OUT=$BUILD/check
mkdir -p "$OUT"

# run_part NAME PREFIX: make check-NAME, streamed, logged to $OUT/NAME.log;
# writes "passed failed skipped" to $OUT/NAME.counts.
run_part() {
	local name=$1 prefix=$2 rc start end
	start=$(date +%s)
	if [ -n "$prefix" ]; then
		"$MAKE" --no-print-directory "check-$name" 2>&1 | tee "$OUT/$name.log" |
			sed -u "s/^/$name| /"
	else
		"$MAKE" --no-print-directory "check-$name" 2>&1 | tee "$OUT/$name.log"
	fi
	rc=${PIPESTATUS[0]}
	end=$(date +%s)
	awk -v rc="$rc" -v name="$name" -v secs=$((end - start)) '
	match($0, /[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?/) {
		n = split(substr($0, RSTART, RLENGTH), w, /[ ,]+/)
		p += w[1]; f += w[3]; if (n >= 6) s += w[5]; seen = 1
	}
	match($0, /Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/) {
		split(substr($0, RSTART, RLENGTH), w, /[^0-9]+/)
		p += w[2] - w[3] - w[4]; f += w[3] + w[4]; seen = 1
	}
	END {
		if (rc != 0 && f == 0 || !seen) {
			f++
			printf "FAIL %s: exited with status %d%s\n", name, rc,
				seen ? "" : " without a summary" > "/dev/stderr"
		}
		print p + 0, f + 0, s + 0, secs
	}' "$OUT/$name.log" >"$OUT/$name.counts"
}

run_lane() {
	local prefix=$1 part
	shift
	for part in "$@"; do
		run_part "$part" "$prefix"
	done
}

# Split the arguments into lanes.
lanes=() cur=()
for a in "$@"; do
	if [ "$a" = + ]; then
		lanes+=("${cur[*]}")
		cur=()
	else
		cur+=("$a")
	fi
done
[ ${#cur[@]} -gt 0 ] && lanes+=("${cur[*]}")
all_parts=$(printf '%s ' "${lanes[@]}")

if [ "$CHECK_JOBS" -gt 1 ] && [ ${#lanes[@]} -gt 1 ]; then
	pids=()
	for lane in "${lanes[@]}"; do
		# shellcheck disable=SC2086
		run_lane yes $lane &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
else
	# shellcheck disable=SC2086
	run_lane "" $all_parts
fi

echo
echo "== summary"
total_p=0 total_f=0 total_s=0
for part in $all_parts; do
	read -r p f s secs <"$OUT/$part.counts"
	printf '  %-18s %4d passed, %d failed, %d skipped  (%ss)\n' "$part" "$p" "$f" "$s" "$secs"
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
done
if [ "$total_s" -gt 0 ] && [ "$(id -u)" != 0 ]; then
	echo "  (tests that need root, loop devices or mounts were skipped: run 'sudo make check' for them)"
fi
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
