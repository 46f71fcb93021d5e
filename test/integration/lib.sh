# shellcheck shell=bash
# Shared by the integration tests: each test file is a bash script that
# sources this, defines test_* functions, and calls run_tests at the end.
#
# Environment from test/test.mk: BUILD (build folder), LIB (the shim),
# FAULTLIB (the test fault injector preloaded after the shim).
# TEST_INSTALLED=1 tests the installed packages instead: LIB is the
# library the dynamic loader finds by its bare name, CLI the stickysync on
# PATH, and BUILD holds only the test helpers (make test-helpers).

set -u
# Debian's tools are what the tests run: the system folders come first, so
# that a version manager's shims (pyenv's python3 is a dozen processes per
# call) or other builds earlier on PATH are not what is tested.
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
: "${BUILD:=build}"
: "${LIB:=$BUILD/libstickysync.so}"
: "${FAULTLIB:=$BUILD/test/libfault.so}"
TOP=$(pwd)
LIB=$(readlink -f "$LIB")
FAULTLIB=$(readlink -f "$FAULTLIB")
PROBE="$TOP/$BUILD/test/ssprobe"
CLI="$TOP/$BUILD/stickysync"
if [ "${TEST_INSTALLED:-}" = 1 ]; then
	LIB=$(LD_PRELOAD=libstickysync.so ldd /bin/true 2>/dev/null | awk '$1 == "libstickysync.so" { print $3 }')
	CLI=$(command -v stickysync)
	[ -n "$LIB" ] && [ -n "$CLI" ] || { echo "no installed libstickysync.so or stickysync" >&2; exit 1; }
	LIB=$(readlink -f "$LIB")
fi

pass=0 fail=0 skip=0
failed_names=()

# A private folder per test, removed afterwards.
new_tmp() {
	local tries=0
	until T=${TMPDIR:-/tmp}/stickysync-test.$BASHPID.$RANDOM$RANDOM && mkdir -m 700 "$T" 2>/dev/null; do
		tries=$((tries + 1))
		[ $tries -lt 100 ] || { echo "cannot create a folder in ${TMPDIR:-/tmp}" >&2; exit 1; }
	done
	export STICKYSYNC_STATE="$T/state"
}

# shim [VAR=value...] CMD...: run CMD with the shim and the fault injector.
# Under the sanitizer build, SANITIZER_PRELOAD names the runtimes that must
# come first.
shim() {
	env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB $FAULTLIB" "$@"
}

# shim_only CMD...: the shim without the fault injector.
shim_only() {
	env LD_PRELOAD="${SANITIZER_PRELOAD:+$SANITIZER_PRELOAD }$LIB" "$@"
}

# wait_for_line FILE LINE: until FILE holds LINE (10 s at most).
wait_for_line() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -qxF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "    timed out waiting for '$2' in $1" >&2
	return 1
}

# The matching below is done by bash itself: a test checks hundreds of
# outputs, and a grep for each is a process each.

# has_line TEXT LINE: TEXT holds LINE as a whole line.
has_line() {
	[[ $'\n'$1$'\n' == *$'\n'"$2"$'\n'* ]]
}

# valid_ere ERE: bash compiles ERE (grep -E accepts a few that bash does
# not, such as a leading *); else says so and returns 2, so that no check
# passes because its pattern could not match anything.
valid_ere() {
	local rc=0
	[[ "" =~ $1 ]] || rc=$?
	[ $rc != 2 ] || { echo "    not a regular expression: $1" >&2; return 2; }
}

# has_match TEXT ERE: a line of TEXT matches the extended regular expression
# ERE (as grep -E would find it); 2 if ERE is not one.
has_match() {
	local - IFS=$'\n' line
	valid_ere "$2" || return 2
	set -f
	for line in $1; do
		[[ $line =~ $2 ]] && return 0
	done
	# Word splitting drops empty lines: try one, for an ERE that matches it.
	[[ $'\n'$1$'\n' == *$'\n\n'* || -z $1 ]] && [[ "" =~ $2 ]]
}

# matching_lines VAR TEXT ERE: VAR holds the lines of TEXT that match ERE
# (empty lines left out).
matching_lines() {
	local - IFS=$'\n' line found=
	valid_ere "$3" || return 2
	set -f
	for line in $2; do
		[[ $line =~ $3 ]] && found+=$line$'\n'
	done
	printf -v "$1" '%s' "${found%$'\n'}"
}

# expect_count TEXT ERE N [WHAT]: N lines of TEXT match ERE (empty lines
# are not counted).
expect_count() {
	local lines newlines n=0
	matching_lines lines "$1" "$2" || return 2
	if [ -n "$lines" ]; then
		newlines=${lines//[!$'\n']/}
		n=$((${#newlines} + 1))
	fi
	expect_eq "$n" "$3" "${4:-lines matching $2}"
}

# slurp VAR FILE: VAR holds FILE's text, as VAR=$(cat FILE) would.
slurp() {
	local _slurped=
	IFS= read -r -d '' _slurped <"$2" || :
	while [[ $_slurped == *$'\n' ]]; do _slurped=${_slurped%$'\n'}; done
	printf -v "$1" '%s' "$_slurped"
}

# expect_line OUTPUT LINE: OUTPUT must contain LINE as a whole line.
expect_line() {
	if ! has_line "$1" "$2"; then
		printf '    expected line: %s\n    in output:\n%s\n' "$2" "$(sed 's/^/      | /' <<<"$1")" >&2
		return 1
	fi
}

# expect_grep OUTPUT REGEX
expect_grep() {
	if ! has_match "$1" "$2"; then
		printf '    expected match: %s\n    in output:\n%s\n' "$2" "$(sed 's/^/      | /' <<<"$1")" >&2
		return 1
	fi
}

expect_no_grep() {
	local rc=0
	has_match "$1" "$2" || rc=$?
	[ $rc != 2 ] || return 2
	if [ $rc = 0 ]; then
		printf '    unexpected match: %s\n    in output:\n%s\n' "$2" "$(sed 's/^/      | /' <<<"$1")" >&2
		return 1
	fi
}

expect_eq() {
	if [ "$1" != "$2" ]; then
		printf '    expected [%s], got [%s]%s\n' "$2" "$1" "${3:+ ($3)}" >&2
		return 1
	fi
}

# skip REASON: inside a test, mark it skipped.
skip() {
	echo "SKIP_REASON: $*"
	return 77
}

# source_check: the test checks the source tree or the build and install
# rules, not a running program; the sanitizer pass would only repeat it.
source_check() {
	[ -z "${SANITIZER_PRELOAD:-}" ] || skip "checks the sources and build rules, not memory: the plain pass runs it"
	return 0
}

# A test that takes a second or more says how long, after its name.
run_tests() {
	local t rc out start took
	for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
		new_tmp
		start=${EPOCHREALTIME//[!0-9]/}
		out=$(set -e; "$t" 2>&1)
		rc=$?
		rm -rf "$T"
		took=$(((${EPOCHREALTIME//[!0-9]/} - start) / 1000000))
		if [ "$took" -ge 1 ]; then took=" (${took}s)"; else took=; fi
		if [ $rc -eq 0 ]; then
			pass=$((pass + 1))
			echo "PASS $t$took"
		elif [ $rc -eq 77 ]; then
			skip=$((skip + 1))
			echo "SKIP $t: $(grep '^SKIP_REASON:' <<<"$out" | sed 's/^SKIP_REASON: //')"
		else
			fail=$((fail + 1))
			echo "FAIL $t$took"
			sed 's/^/    /' <<<"$out"
		fi
	done
	echo "RESULT $pass $fail $skip"
}
