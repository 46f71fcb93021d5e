# shellcheck shell=bash
# shellcheck disable=SC2034 # out, err, rc, cli_argv: for the test files
# Helpers for the t_cli*.sh tests of the stickysync command (sourced after
# lib.sh).

# cli ARGS...: the command.  Under the sanitizer build its runtimes must come
# first in every preload list, which the command keeps in front of ours.
cli() {
	if [ -n "${SANITIZER_PRELOAD:-}" ]; then
		env LD_PRELOAD="$SANITIZER_PRELOAD${LD_PRELOAD:+ $LD_PRELOAD}" "$CLI" "$@"
	else
		"$CLI" "$@"
	fi
}

# cli_argv: the command as an argument list, for exec and for sh -c.
if [ -n "${SANITIZER_PRELOAD:-}" ]; then
	cli_argv=(env LD_PRELOAD="$SANITIZER_PRELOAD" "$CLI")
else
	cli_argv=("$CLI")
fi

# runc CMD...: run, keeping stdout in $out, stderr in $err, status in $rc.
runc() {
	rc=0
	"$@" >"$T/.out" 2>"$T/.err" || rc=$?
	slurp out "$T/.out"
	slurp err "$T/.err"
}

# The sanitizer runtimes as the command writes them: first, colon-separated.
sanitizer_prefix() {
	if [ -n "${SANITIZER_PRELOAD:-}" ]; then
		printf '%s:' "$(tr ' ' ':' <<<"$SANITIZER_PRELOAD")"
	fi
}

# latch FILE: make FILE latch (an injected fsync failure), through the command.
latch() {
	cli run --log off --inject "op=fsync,path=$1" "$PROBE" open h1 "$1" rwc write h1 data \
		fsync h1 close h1 >/dev/null
}

# A C program built for a test; skips the test when there is no compiler.
build_c() { # OUT SOURCE [CFLAGS...]
	local out=$1 src=$2
	shift 2
	command -v cc >/dev/null || skip "no C compiler"
	printf '%s\n' "$src" >"$out.c"
	cc -o "$out" "$out.c" "$@" 2>"$out.log" || return 1
}

# reap PID RC_VAR: wait up to 10 s for background PID to end and store its
# exit status; kill it and fail if it does not.
reap() {
	if ! wait_for eval "! kill -0 $1 2>/dev/null"; then
		kill -KILL "$1"
		wait "$1" || true
		return 1
	fi
	rc=0
	wait "$1" || rc=$?
}

# wait_for CMD...: retry CMD for up to 10 s.
wait_for() {
	local try
	for ((try = 0; try < 100; try++)); do
		"$@" && return 0
		sleep 0.1
	done
	echo "    timed out waiting for: $*" >&2
	return 1
}
