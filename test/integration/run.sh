#!/usr/bin/env bash
# Run test/integration/t_*.sh (or those named in TESTS, e.g. "t_core t_policy"),
# printing each test as it finishes, then one summary line.
set -u
# Descriptors inherited from whatever started the tests (an editor, a CI
# runner, time -o) would shift the fd numbers the tests expect.
for fd in /proc/"$$"/fd/*; do
	fd=${fd##*/}
	if [ "$fd" -gt 2 ] && [ "$fd" -lt 255 ]; then eval "exec $fd>&-"; fi
done
total_pass=0 total_fail=0 total_skip=0
log=$(mktemp "${TMPDIR:-/tmp}/stickysync-integration.XXXXXX")
trap 'rm -f "$log"' EXIT
if [ -n "${TESTS:-}" ]; then
	files=$(for t in $TESTS; do echo "test/integration/$t.sh"; done)
else
	files=$(ls test/integration/t_*.sh)
fi
for t in $files; do
	echo "== $t"
	bash "$t" 2>&1 | tee "$log" | grep --line-buffered -v '^RESULT '
	rc=${PIPESTATUS[0]}
	res=$(grep '^RESULT ' "$log" | tail -n 1)
	if [ -z "$res" ]; then
		echo "FAIL $t: did not finish (exit $rc)"
		total_fail=$((total_fail + 1))
		continue
	fi
	read -r _ p f s <<<"$res"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
done
echo "integration: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
