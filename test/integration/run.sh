#!/usr/bin/env bash
# Run every test/integration/t_*.sh and print one summary line.
set -u
total_pass=0 total_fail=0 total_skip=0
for t in test/integration/t_*.sh; do
	echo "== $t"
	out=$(bash "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v '^RESULT '
	res=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -n 1)
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
