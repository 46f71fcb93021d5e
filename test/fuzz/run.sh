#!/usr/bin/env bash
# Run libFuzzer targets for a while each and print one line per target and
# one summary line.
#
#   run.sh [--seconds N] [--jobs J] [--regressions] FUZZ_BUILD TARGET...
#
# FUZZ_BUILD/fuzz_TARGET fuzzes from the seeds in test/fuzz/corpus/TARGET
# (read, never written) and adds what it finds to FUZZ_BUILD/corpus/TARGET;
# a failing input is kept in FUZZ_BUILD/artifacts/.  With --regressions, each
# file in test/fuzz/crashes/TARGET/ then runs once and must pass: those are
# inputs that once failed.
set -u
cd "$(dirname "$0")/../.."

seconds=10 jobs=2 regressions=0
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--regressions) regressions=1; shift ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || { echo "usage: $0 [--seconds N] [--jobs J] [--regressions] FUZZ_BUILD TARGET..." >&2; exit 2; }
bin=$(cd "$1" && pwd)
shift
corpus=$bin/corpus artifacts=$bin/artifacts logs=$bin/logs
mkdir -p "$corpus" "$artifacts" "$logs"
# The table target makes its private state folders here: in memory when
# there is a tmpfs for it (it rewrites a 64 KiB file per input).
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	export TMPDIR=/dev/shm/stickysync-fuzz.$$
else
	export TMPDIR=$bin/tmp.$$
fi
rm -rf "$TMPDIR" && mkdir -m 700 "$TMPDIR"
# Stacks for UBSan too; leaks are libFuzzer's -detect_leaks (on by default).
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1

pass=0 fail=0 skip=0

# What a failing run left: the check or sanitizer report and its stack.
show_failure() {
	grep -E -A 60 '^(==[0-9]+==ERROR|fuzz check failed|.*runtime error:|==[0-9]+== ERROR: libFuzzer)' "$1" |
		grep -vE '^(MS:|[Bb]ase64:|0x[0-9a-f]+,|INFO:|stat::|NOTE:|artifact_prefix=| +Combine libFuzzer|Shadow)|in fuzzer::|in __libc_start|in _start |in main \(|in raise |in abort |__pthread_kill|__sanitizer_print_stack_trace|libc.so.6\+' |
		sed -n '/^  0x[0-9a-f]*:/q;p' | sed 's/ (BuildId: [0-9a-f]*)//; s/^/    /' | head -n 40
}

start() {
	local t=$1 dict=test/fuzz/$1.dict
	mkdir -p "$corpus/$t"
	"$bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
		$([ -f "$dict" ] && echo "-dict=$dict") \
		"$corpus/$t" "test/fuzz/corpus/$t" >"$logs/$t.log" 2>&1
}

finish() {
	local t=$1 rc=$2 log=$logs/$1.log runs cov corp artifact
	runs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log" | tail -n 1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		echo "PASS fuzz_$t: ${runs:-?} runs, ${cov:-?} coverage points, ${corp:-?} inputs in the corpus"
		return
	fi
	fail=$((fail + 1))
	artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	echo "FAIL fuzz_$t: exit $rc after ${runs:-?} runs; input ${artifact:-not saved}, log $log"
	show_failure "$log"
}

targets=("$@")
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
	pids=()
	for t in "${targets[@]:i:jobs}"; do
		echo "== fuzz_$t ($seconds s)"
		start "$t" &
		pids+=($!)
	done
	k=0
	for t in "${targets[@]:i:jobs}"; do
		wait "${pids[k]}"
		finish "$t" $?
		k=$((k + 1))
	done
done

if [ "$regressions" = 1 ]; then
	for t in "${targets[@]}"; do
		for f in test/fuzz/crashes/"$t"/*; do
			[ -f "$f" ] || continue
			[ "${f##*.}" = md ] && continue
			log=$logs/regression-$t-$(basename "$f").log
			if "$bin/fuzz_$t" -timeout=10 "$f" >"$log" 2>&1; then
				pass=$((pass + 1))
				echo "PASS regression $f"
			else
				fail=$((fail + 1))
				echo "FAIL regression $f (fuzz_$t; log $log)"
				show_failure "$log"
			fi
		done
	done
fi
rm -rf "$TMPDIR"
echo "fuzz: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
