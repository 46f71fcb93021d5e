#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# SQLite under stickysync: one failed fsync of the write-ahead log, first
# with Linux's own semantics (--policy observe), then with sticky errors.
#
#   examples/sqlite.sh [BUILD]      (BUILD: the build folder, default build;
#                                    else the stickysync on PATH)
#
# Needs sqlite3.  No root: the failure is injected (stickysync(1) --inject),
# and lose=old puts the log back to what it held at its last good sync, as
# the page cache does once it drops the failed pages.
set -eu
BUILD=${1:-build}
STICKYSYNC=${STICKYSYNC:-$BUILD/stickysync}
command -v sqlite3 >/dev/null || { echo "sqlite3 is not installed" >&2; exit 1; }
[ -x "$STICKYSYNC" ] || STICKYSYNC=$(command -v stickysync) ||
	{ echo "no $BUILD/stickysync and no stickysync on PATH: run make first" >&2; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/stickysync-sqlite.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
DB=$DIR/app.db
# A state folder of this example's own, so that its latches stay here.
export STICKYSYNC_STATE="$DIR/state"

# Four commits, one statement each; the third sync of the log fails.
session() { # POLICY STATE
	sqlite3 "$DB" 'PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t(x);' >/dev/null
	printf '%s\n' "INSERT INTO t VALUES(1);" "INSERT INTO t VALUES(2);" \
		"INSERT INTO t VALUES(3);" "INSERT INTO t VALUES(4);" \
		"SELECT 'the session sees: ' || group_concat(x) FROM t;" |
		"$STICKYSYNC" run --policy "$1" --state "$2" --log "$DIR/$1.log" \
			--inject 'op=fdatasync,path=*.db-wal,nth=3,lose=old' -- sqlite3 "$DB" 2>&1 || true
	sed 's/^stickysync: /  library: /' "$DIR/$1.log"
}

echo "== plain Linux semantics (--policy observe; latches kept in the process)"
session observe off
echo "   -> one commit failed; the next sync of the log and the next commits"
echo "      reported success."
rm -f "$DB" "$DB"-*

echo
echo "== stickysync (--policy sticky, the default)"
session sticky "$STICKYSYNC_STATE"
echo "   -> every commit after the failure fails: SQLite cannot carry on as if"
echo "      nothing happened.  The latch outlives the process:"
"$STICKYSYNC" status --state "$STICKYSYNC_STATE" | sed 's/^/  /'
echo
echo "== a new process writes to the same database"
"$STICKYSYNC" run --log off -- sqlite3 "$DB" "INSERT INTO t VALUES(5);" 2>&1 | sed 's/^/  /' || true
echo
echo "== the operator checks the data, then acknowledges the loss"
# After a failed sync the outcome of that commit is unknown: frames whose
# sync failed may still be in the log, so check what is there.
sqlite3 "$DB" "SELECT '  in the database: ' || group_concat(x) FROM t;"
"$STICKYSYNC" ack --all --state "$STICKYSYNC_STATE" | sed 's/^/  /'
"$STICKYSYNC" run --log off -- sqlite3 "$DB" "INSERT INTO t VALUES(5); SELECT '  now: ' || group_concat(x) FROM t;"
