#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# PostgreSQL under stickysync, started with pg_ctl.
#
#   examples/postgres.sh [BUILD]    (BUILD: the build folder, default build;
#                                    else the stickysync on PATH)
#
# PostgreSQL already PANICs when an fsync fails (since 11.2), and then
# replays its WAL in crash recovery.  The catch on Linux: recovery syncs the
# same files again, the kernel has forgotten the error, and the sync
# succeeds although the data never reached the disk.  Under stickysync the
# WAL segment stays latched, recovery fails too, and the server stays down
# until the operator has looked and run `stickysync ack`.
#
# PostgreSQL refuses to run as root: as root this script runs every
# PostgreSQL command (and stickysync, so that the state folder belongs to
# the server's user) as PGUSER_OS, default postgres, with runuser(1).  That
# user must be able to reach BUILD (the stickysync command and library).
#
#   PGBIN      PostgreSQL's programs (default: `pg_config --bindir`, else the
#              newest /usr/lib/postgresql/*/bin)
#   PGUSER_OS  the user to run as when root (default postgres)
set -eu
BUILD=${1:-build}
STICKYSYNC=$(readlink -f "${STICKYSYNC:-$BUILD/stickysync}")
if [ -z "${PGBIN:-}" ]; then
	PGBIN=$(pg_config --bindir 2>/dev/null) || PGBIN=
	[ -x "$PGBIN/pg_ctl" ] ||
		PGBIN=$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
[ -x "$PGBIN/pg_ctl" ] || { echo "no $PGBIN/pg_ctl: set PGBIN" >&2; exit 1; }
[ -x "$STICKYSYNC" ] || STICKYSYNC=$(command -v stickysync) ||
	{ echo "no $BUILD/stickysync and no stickysync on PATH: run make first" >&2; exit 1; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/stickysync-pg.XXXXXX")
as_user() { "$@"; }
if [ "$(id -u)" = 0 ]; then
	PGUSER_OS=${PGUSER_OS:-postgres}
	id "$PGUSER_OS" >/dev/null 2>&1 || { echo "no user $PGUSER_OS: set PGUSER_OS" >&2; exit 1; }
	chown "$PGUSER_OS" "$DIR"
	as_user() { runuser -u "$PGUSER_OS" -- "$@"; }
fi
DATA=$DIR/data
STATE=$DIR/state
# The segment the server switches to after the first commit (see below).
SEGMENT=$DATA/pg_wal/000000010000000000000002

pg_ctl() { as_user "$PGBIN/pg_ctl" -D "$DATA" "$@"; }
sql() { as_user "$PGBIN/psql" -h "$DIR" -U demo -d postgres -Atq -c "$1"; }
cleanup() {
	pg_ctl -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$DIR"
}
trap cleanup EXIT

# start [stickysync run options]
start() {
	as_user "$STICKYSYNC" run --state "$STATE" --log "$DIR/stickysync.log" "$@" -- \
		"$PGBIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 20 \
		-o "-k $DIR -c listen_addresses=''" start >/dev/null
}

as_user "$PGBIN/initdb" -D "$DATA" -A trust -U demo --no-sync >/dev/null

echo "== start PostgreSQL under stickysync; the first fdatasync of WAL segment 2 will fail"
start --inject "op=fdatasync,path=$SEGMENT,nth=1"
sql "CREATE TABLE t(x int); INSERT INTO t VALUES (1);"
sql "SELECT pg_switch_wal();" >/dev/null
echo "   committed 1; now committing 2 (its WAL goes to segment 2):"
sql "INSERT INTO t VALUES (2);" 2>&1 | sed 's/^/   psql: /' || true
# Crash recovery runs at once and syncs the data folder; give the server
# up to 20 s to come up or go down.
i=0
while [ $i -lt 40 ] && pg_ctl status >/dev/null 2>&1; do
	sql "SELECT 1" >/dev/null 2>&1 && break
	sleep 0.5
	i=$((i + 1))
done
echo
echo "== the server log"
grep -E 'PANIC|reinitializing|startup process failure|ready to accept' "$DIR/server.log" |
	sed 's/^.*UTC \[[0-9]*\] /   /' | tail -n +2
echo
echo "== stickysync's log"
sed 's/^/   /' "$DIR/stickysync.log"
echo
echo "== stickysync status"
as_user "$STICKYSYNC" status --state "$STATE" | sed 's/^/   /'
if pg_ctl status >/dev/null 2>&1; then
	echo "   (the server is running)"
else
	echo "   (the server is down: crash recovery could not sync the latched segment,"
	echo "    where on plain Linux the retried sync would have reported success)"
fi
echo
echo "== the operator checks the cluster, acknowledges, and starts it again"
as_user "$STICKYSYNC" ack --state "$STATE" --all | sed 's/^/   /'
pg_ctl -m immediate stop >/dev/null 2>&1 || true
start
sql "SELECT '   rows: ' || string_agg(x::text, ',' ORDER BY x) FROM t;"
echo "   (commit 2 is back because its WAL was still in the page cache: only the"
echo "    sync failed here; after a real disk failure, check against a backup)"
