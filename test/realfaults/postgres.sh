# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# PostgreSQL scenarios of the real-fault driver (sourced by run.sh, whose
# helpers they use).  A tablespace lives on the thin filesystem; the cluster
# and its WAL on normal storage; data checksums are on.  The server runs as
# the postgres user (it refuses root), under the shim in the sticky run, with
# one state folder for all its processes.
#
#   postgres-retry   data_sync_retry = on: a failed checkpoint is retried
#   postgres-panic   data_sync_retry = off (the default): PANIC instead
#
# The life of the cluster:
#   rows     PG_ROWS rows of ~1 KB committed in 8 transactions; they stay in
#            shared buffers (the WAL has them)
#   CHECKPOINT, three times: the checkpointer writes the table into a pool
#            with PG_FREE_MB MiB of room and fsyncs it; each attempt stops at
#            the first file whose fsync fails
#   crash    immediate stop; the operator grows the pool; sync; caches dropped
#   restart  crash recovery replays the WAL from the last checkpoint that
#            succeeded (stickysync: refused until `stickysync ack`)
#   CHECKPOINT, immediate stop, caches dropped, start: every committed row
#            is read back from the storage
#
# A checkpoint that succeeds after a failed one on plain Linux moves the redo
# point past rows whose pages never reached the storage: recovery does not
# replay them, and the zero pages read back are valid empty pages (no
# checksum failure).

PG_USER=postgres
PG_ROWS=8000
PG_FREE_MB=3

# pg_bindir: the folder holding pg_ctl, initdb and psql, whichever version
# is installed (pg_config's answer first, else the newest Debian one).
pg_bindir() {
	local dir
	dir=$(pg_config --bindir 2>/dev/null)
	if [ -n "$dir" ] && [ -x "$dir/pg_ctl" ]; then
		echo "$dir"
		return 0
	fi
	for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
		[ -x "$dir/pg_ctl" ] && echo "$dir" && return 0
	done
	return 1
}

# pg_unavailable: why the scenarios cannot run here, or nothing (return 1).
pg_unavailable() {
	local tool
	if ! pg_bindir >/dev/null; then
		echo "PostgreSQL server not installed (no pg_ctl; Debian: postgresql)"
		return 0
	fi
	if ! id "$PG_USER" >/dev/null 2>&1; then
		echo "no $PG_USER user to run the server as"
		return 0
	fi
	for tool in runuser dumpe2fs fallocate; do
		command -v "$tool" >/dev/null 2>&1 || { echo "$tool not installed"; return 0; }
	done
	return 1
}

# The server's programs refuse root: they run as its user, without the shim
# (pg_as), or in the environment of the current mode (rf_env; RUN_AS is set).
# Clients run as root: psql and pg_controldata do not mind.
pg_as() { timeout 60 runuser -u "$PG_USER" -- env -u LD_PRELOAD "$@"; }
pg_sql() {
	local args=() sql
	for sql in "$@"; do args+=(-c "$sql"); done
	timeout 60 env -u LD_PRELOAD "$PG_BIN/psql" -h "$PG_DIR" -U rf -d postgres -Atq \
		-v ON_ERROR_STOP=1 "${args[@]}"
}

# The server, in the environment of the current mode (RUN_AS is the user).
pg_start() {
	rf_env timeout 60 "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
		-w -t 30 start >/dev/null 2>&1
}
# The crash: no shutdown checkpoint.
pg_stop() {
	[ -f "$PG_DIR/data/postmaster.pid" ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1
}

# pg_cluster RETRY: a fresh cluster for this run, copied from one initdb per
# driver run, in a folder of the server's user.  The state folder becomes
# theirs too, and the thin mount reachable.
pg_cluster() {
	local template=$WORK/pg.template
	# The shim opens every folder on the way to its state folder.
	chmod 0755 "$WORK" && chmod 0711 "${MNT%/mnt}" || return 1
	if [ ! -d "$template" ]; then
		mkdir "$template.tmp" && chown "$PG_USER" "$template.tmp" &&
			pg_as "$PG_BIN/initdb" -D "$template.tmp/data" -A trust -U rf \
				--data-checksums --no-sync >/dev/null &&
			mv "$template.tmp" "$template" || return 1
	fi
	cp -a "$template" "$PG_DIR" || return 1
	cat >>"$PG_DIR/data/postgresql.conf" <<-EOF
		listen_addresses = ''
		unix_socket_directories = '$PG_DIR'
		data_sync_retry = $1
		restart_after_crash = off
		autovacuum = off
		checkpoint_timeout = 1h
		max_wal_size = 1GB
		log_checkpoints = on
	EOF
	chown "$PG_USER" "$STATE" && mkdir "$MNT/ts" && chown "$PG_USER" "$MNT/ts"
}

# The checkpoint's REDO location, from pg_control (works with the server down).
pg_redo() {
	"$PG_BIN/pg_controldata" -D "$PG_DIR/data" | sed -n "s/^Latest checkpoint's REDO location: *//p"
}

# pg_checkpoint: CHECKPOINT, described as 0, "ENOSPC on fsm" (the errno of
# the fsync that failed and the relation fork it was for), "PANIC: ENOSPC on
# main", or "down" when there is no server to ask.
pg_checkpoint() {
	local log=$PG_DIR/server.log size out line err file
	size=$(stat -c %s "$log")
	out=$(pg_sql CHECKPOINT 2>&1) && { echo 0; return; }
	case $out in *"connection to server on socket"*) echo down; return ;; esac
	sleep 0.2 # the server's log line may trail the client's error
	line=$(tail -c +"$((size + 1))" "$log" | grep -m 1 -E '(ERROR|PANIC):  could not fsync file')
	[ -n "$line" ] || { echo failed; return; }
	file=${line#*could not fsync file \"}
	file=${file%%\"*}
	case $line in
	*"No space left on device") err=ENOSPC ;;
	*"Input/output error") err=EIO ;;
	*) err=${line##*: } ;;
	esac
	case $file in *_fsm) file=fsm ;; *_vm) file=vm ;; *) file=main ;; esac
	case $line in *"PANIC:  "*) echo "PANIC: $err on $file" ;; *) echo "$err on $file" ;; esac
}

# pg_start_obs KEY: start the server; record up or down (and why).
pg_start_obs() {
	local why
	if pg_start; then
		obs "$1" up
		return 0
	fi
	why=$(grep -E '(PANIC|FATAL):' "$PG_DIR/server.log" | tail -n 1 | sed 's/.*\(PANIC\|FATAL\):  //')
	obs "$1" "down ($why)"
	return 1
}

scenario_postgres() {
	local retry=$1 i per redo0 result results='' rows_ok=0 stored lost read restarted inserts=()
	# shellcheck disable=SC2034 # rf_exec and cli (run.sh) use it
	RUN_AS=(runuser -u "$PG_USER" --)
	PG_BIN=$(pg_bindir)
	# The cluster and its WAL on normal storage: a tmpfs, which is also
	# quicker than the shared disk for the fsyncs of crash recovery.
	PG_DIR=$(fixture_scratch "$MNT" 256)/pg
	trap 'pg_stop; cat "$PG_DIR/server.log" >&2' EXIT
	fixture_provision_metadata "$MNT" &&
		fixture_set_free "$MNT" "$PG_FREE_MB" && pg_cluster "$retry" && pg_start &&
		pg_sql "CREATE TABLESPACE thin LOCATION '$MNT/ts'" >/dev/null &&
		pg_sql "CREATE TABLE t(id int, v text) TABLESPACE thin" >/dev/null &&
		sync -f "$MNT" && pg_sql CHECKPOINT >/dev/null
	result=$?
	check setup $result "cluster with a tablespace on the thin filesystem, room for $PG_FREE_MB MiB"
	[ $result = 0 ] || return 1

	# Eight transactions, each committed before the next starts; without
	# ON_ERROR_STOP's exit, the rows visible afterwards are those committed.
	per=$((PG_ROWS / 8))
	for ((i = 0; i < 8; i++)); do
		inserts+=("INSERT INTO t SELECT g, repeat(md5(g::text), 30)
			FROM generate_series($((i * per + 1)), $(((i + 1) * per))) g")
	done
	pg_sql "${inserts[@]}" >/dev/null && rows_ok=$PG_ROWS ||
		rows_ok=$(pg_sql "SELECT count(*) FROM t")
	obs rows-committed "$rows_ok"
	check rows-committed "$([ "$rows_ok" = "$PG_ROWS" ]; echo $?)" "all $PG_ROWS rows committed"

	redo0=$(pg_redo)
	for i in 1 2 3; do
		result=$(pg_checkpoint)
		obs "checkpoint.$i" "$result"
		results="$results|$result"
		case $result in PANIC* | down) break ;; esac
	done
	obs redo-advanced "$([ "$(pg_redo)" = "$redo0" ] && echo no || echo yes)"
	case $results in "|0"*) false ;; esac
	check checkpoint.1 $? "the first checkpoint after the rows fails"

	pg_stop
	fixture_heal "$MNT" 700
	sync -f "$MNT"
	drop_caches
	restarted=up
	if ! pg_start_obs restart; then
		restarted=down
		if is_sticky; then
			# shellcheck disable=SC2046 # one argument per file
			ack_paths $(find "$MNT/ts" -type f)
			pg_start_obs restart-after-ack
		fi
	fi
	result=$(pg_checkpoint)
	obs checkpoint-after-restart "$result"
	pg_stop
	drop_caches
	pg_start
	# Every committed row, read from the storage: present and intact.
	read=$(pg_sql "SELECT count(*) FROM t WHERE id <= $rows_ok AND v = repeat(md5(id::text), 30)" \
		"SELECT sum(checksum_failures) FROM pg_stat_database" 2>&1)
	pg_stop
	case $read in
	*[!0-9$'\n']* | '')
		obs rows-stored "unreadable: $(echo "$read" | head -n 1)"
		stored=0
		;;
	*)
		stored=$(echo "$read" | head -n 1)
		obs rows-stored "$stored/$rows_ok"
		;;
	esac
	lost=$((rows_ok - stored))
	obs rows-lost "$lost"
	obs checksum-failures "$(echo "$read" | sed -n 2p)"
	report_check "$PG_DIR/server.log" report "postgres[" "fsync(" "$MNT/ts/" ENOSPC

	if [ "$retry" = off ]; then
		case $results in "|PANIC: "*) true ;; *) false ;; esac
		check panic $? "the failed checkpoint PANICs the server"
		[ "$lost" = 0 ]
		check no-loss $? "every committed row is stored (lost $lost)"
	elif is_sticky; then
		case $results in *"|0"*) false ;; esac
		check checkpoints-fail $? "no checkpoint succeeds before the acknowledgment"
		[ "$result" = 0 ]
		check checkpoint-after-ack $? "after the acknowledgment the checkpoint succeeds (got $result)"
		[ "$lost" = 0 ]
		check no-loss $? "every committed row is stored (lost $lost)"
	elif loss_expected; then
		case $results in *"|0"*) true ;; *) false ;; esac
		check retry-succeeds $? "a retried checkpoint succeeds"
		[ "$lost" -gt 0 ]
		check loss-real $? "committed rows are gone after the retried checkpoint (lost $lost)"
	fi
	if is_sticky; then
		[ "$restarted" != up ]
		check restart-refused $? "the server stays down until the loss is acknowledged"
	fi
}
scenario_postgres-retry() { scenario_postgres on; }
scenario_postgres-panic() { scenario_postgres off; }
