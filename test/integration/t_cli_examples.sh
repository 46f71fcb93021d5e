#!/usr/bin/env bash
# The stickysync command's examples (examples/*.sh, stickysync.conf) do what
# they say.  Each needs its program; without it the test is skipped.
. test/integration/lib.sh
. test/integration/cli_lib.sh

test_sqlite_example() {
	command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
	[ -z "${SANITIZER_PRELOAD:-}" ] || skip "sqlite3 is not built with the sanitizer runtimes"
	runc sh examples/sqlite.sh "$BUILD"
	expect_eq "$rc" 0 "$err"
	# observe: after the failed commit, the next ones report success
	expect_grep "$out" '^the session sees: 1,3,4$'
	# sticky: every commit after the failure fails, also in a new process
	expect_count "$out" 'disk I/O error' 5
	expect_grep "$out" '^  latched +EIO +fdatasync .*/app\.db-wal$'
	expect_grep "$out" '^  acknowledged .*/app\.db-wal: EIO in fdatasync'
	expect_grep "$out" '^  now: [0-9,]*5$'
}

test_qemu_example() {
	command -v qemu-io >/dev/null || skip "qemu-io is not installed"
	[ -z "${SANITIZER_PRELOAD:-}" ] || skip "qemu is not built with the sanitizer runtimes"
	runc sh examples/qemu.sh "$BUILD"
	expect_eq "$rc" 0 "$err"
	want='boot 1, the disk fails once:
   flush: FAILED (qemu-io: Failed to flush the L2 table cache: Input/output error)
 boot 2 (a new process):
   flush: ok'
	grep -qF "$want" <<<"$out" || { echo "    plain Linux: boot 2 should succeed" >&2; echo "$out" >&2; return 1; }
	expect_count "$out" 'flush: FAILED' 3 "1 under observe, 2 under sticky"
	expect_eq "$(tail -n 1 <<<"$out")" "   flush: ok" "boot 3, after the ack"
}

test_postgres_example() {
	[ -n "${PGBIN:-}" ] || [ -x "$(pg_config --bindir 2>/dev/null)/pg_ctl" ] ||
		compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null ||
		skip "PostgreSQL is not installed (set PGBIN)"
	[ -z "${SANITIZER_PRELOAD:-}" ] || skip "PostgreSQL is not built with the sanitizer runtimes"
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || skip "no user postgres to run the server as"
		runuser -u postgres -- test -x "$CLI" || skip "user postgres cannot run $CLI"
	fi
	runc sh examples/postgres.sh "$BUILD"
	expect_eq "$rc" 0 "$err"
	expect_grep "$out" 'PANIC: +could not fdatasync file "000000010000000000000002": Input/output error'
	expect_grep "$out" 'the server is down'
	expect_grep "$out" '^   rows: 1,2$'
}

test_test_under_faults_reports_an_ignored_failure() {
	command -v python3 >/dev/null || skip "python3 is not installed"
	[ -z "${SANITIZER_PRELOAD:-}" ] || skip "python3 is not built with the sanitizer runtimes"
	cat >"$T/careless.py" <<EOF
import os
fd = os.open("$T/careless.dat", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.write(fd, b"important")
try:
    os.fsync(fd)
except OSError:
    pass
EOF
	runc sh examples/test-under-faults.sh -b "$BUILD" -- python3 "$T/careless.py"
	expect_eq "$rc" 1
	expect_line "$out" "fault 1 (sync #1, EIO, lose=old): UNNOTICED: CMD exited 0 although a sync failed; latched: $T/careless.dat"
	expect_line "$out" "test-under-faults: 1 failure(s) injected, 1 unnoticed"
	# a program that reports the failure passes
	sed -i 's/    pass/    raise/' "$T/careless.py"
	runc sh examples/test-under-faults.sh -b "$BUILD" -- python3 "$T/careless.py"
	expect_eq "$rc" 0
	expect_line "$out" "fault 1 (sync #1, EIO, lose=old): noticed (CMD exited 1); latched: $T/careless.dat"
	# and a suite that fails without faults is not tested
	runc sh examples/test-under-faults.sh -b "$BUILD" -- false
	expect_eq "$rc" 2
	expect_grep "$err" 'CMD fails without injected faults \(status 1\)'
}

test_systemd_drop_in_parses() {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	mkdir -p "$T/units/demo.service.d"
	printf '[Service]\nExecStart=/bin/true\n' >"$T/units/demo.service"
	cp examples/stickysync.conf "$T/units/demo.service.d/"
	runc env SYSTEMD_UNIT_PATH="$T/units:" systemd-analyze verify "$T/units/demo.service"
	expect_no_grep "$out$err" 'stickysync.conf'
	# the check can fail: a bad key in the drop-in is reported
	echo 'Bogus=1' >>"$T/units/demo.service.d/stickysync.conf"
	runc env SYSTEMD_UNIT_PATH="$T/units:" systemd-analyze verify "$T/units/demo.service"
	expect_grep "$out$err" "stickysync.conf:[0-9]+: Unknown key 'Bogus'"
}

# The README's --inject example, on the program it names: it must fire.
test_readme_inject_example_fires_on_sqlite() {
	command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"
	[ -z "${SANITIZER_PRELOAD:-}" ] || skip "sqlite3 is not built with the sanitizer runtimes"
	rule=$(sed -n "s/^ *stickysync run --inject '\([^']*\)' -- .*/\1/p" README.md | head -n 1)
	[ -n "$rule" ]
	runc "$CLI" run --state "$T/state" --log "$T/log" --inject "$rule" -- sqlite3 "$T/t.db" \
		"PRAGMA journal_mode=WAL; CREATE TABLE t(x);
		 INSERT INTO t VALUES(1); INSERT INTO t VALUES(2); INSERT INTO t VALUES(3);"
	expect_no_grep "$err" "never fired"
	expect_grep "$(cat "$T/log")" "t.db-wal\) failed: EIO"
}

run_tests
