#!/usr/bin/env bash
# stickysync run: which library it preloads (--library, STICKYSYNC_LIBRARY,
# next to itself), --dry-run, and running through a link named after a
# program.
. test/integration/lib.sh
. test/integration/cli_lib.sh

show_preload=(sh -c 'printf "%s\n" "$LD_PRELOAD"')

# A copy of the command with no library next to it, and a copy of the
# library elsewhere: which one is preloaded tells where it was looked for.
copies() {
	[ -n "${SANITIZER_PRELOAD:-}" ] && skip "a copied sanitizer build needs its runtimes preloaded"
	mkdir -p "$T/bin" "$T/lib"
	cp "$CLI" "$T/bin/stickysync"
	cp "$LIB" "$T/lib/libstickysync.so"
}

test_library_option_and_variable_win() {
	copies
	cp "$LIB" "$T/bin/libstickysync.so"
	cp "$LIB" "$T/lib/other.so"
	(
		unset LD_PRELOAD STICKYSYNC_LIBRARY
		runc "$T/bin/stickysync" run "${show_preload[@]}"
		expect_line "$out" "$T/bin/libstickysync.so"
		STICKYSYNC_LIBRARY="$T/lib/libstickysync.so" runc "$T/bin/stickysync" run "${show_preload[@]}"
		expect_eq "$rc" 0
		expect_line "$out" "$T/lib/libstickysync.so"
		# the option beats the variable; a relative path is made absolute
		cd "$T"
		STICKYSYNC_LIBRARY="$T/lib/libstickysync.so" runc "$T/bin/stickysync" run \
			--library lib/other.so "${show_preload[@]}"
		expect_line "$out" "$T/lib/other.so"
		# an empty variable is no choice
		STICKYSYNC_LIBRARY='' runc "$T/bin/stickysync" run "${show_preload[@]}"
		expect_line "$out" "$T/bin/libstickysync.so"
	)
}

# The chosen library is really preloaded: an injected failure makes the retry
# fail, as only the library does.
test_library_option_reaches_the_program() {
	copies
	runc "$T/bin/stickysync" run --library "$T/lib/libstickysync.so" --log off \
		--inject "op=fsync,path=$T/f" "$PROBE" open h1 "$T/f" rwc fsync h1 fsync h1
	expect_eq "$rc" 0
	expect_count "$out" '^fsync h1 = -1 EIO$' 2 "the retry fails"
}

test_bad_library_is_one_line_and_nothing_runs() {
	started=(sh -c ": > '$T/started'")
	runc cli run --library "$T/none.so" "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: --library \"$T/none.so\": No such file or directory"
	STICKYSYNC_LIBRARY="$T/none.so" runc cli run "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: STICKYSYNC_LIBRARY=\"$T/none.so\": No such file or directory"
	printf 'not a library\n' >"$T/text.so"
	runc cli run --library "$T/text.so" "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: --library \"$T/text.so\": not an ELF shared object (expected the path of libstickysync.so)"
	runc cli run --library "$T" "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" "stickysync: --library \"$T\": not an ELF shared object (expected the path of libstickysync.so)"
	runc cli run --library "" "${started[@]}"
	expect_eq "$rc" 2
	expect_line "$err" 'stickysync: --library "": expected the path of libstickysync.so'
	[ ! -e "$T/started" ] || { echo "    CMD was started" >&2; return 1; }
}

test_dry_run_prints_environment_and_command() {
	# only this test's variables (each test runs in a subshell of its own)
	for v in $(compgen -e | grep '^STICKYSYNC_'); do unset "$v"; done
	san=$(sanitizer_prefix)
	build_c "$T/other.so" 'int stickysync_test_other;' -shared -fPIC
	LD_PRELOAD="$T/other.so" STICKYSYNC_LOG=off runc cli run --dry-run --policy observe \
		--state "$T/st" --inject 'op=fsync,path=*.db' -- sh -c "echo it's; : > '$T/started'" a\ b
	expect_eq "$rc" 0
	expect_eq "$err" ""
	want="LD_PRELOAD=$san$LIB:$T/other.so \\
STICKYSYNC_LOG=off \\
STICKYSYNC_STATE=$T/st \\
STICKYSYNC_POLICY=observe \\
STICKYSYNC_INJECT='op=fsync,path=*.db' \\
sh -c 'echo it'\\''s; : > '\\''$T/started'\\''' 'a b'"
	# the order of the STICKYSYNC_ lines is the environment's
	expect_eq "$(sort <<<"$out")" "$(sort <<<"$want")"
	expect_eq "$(head -n 1 <<<"$out")" "LD_PRELOAD=$san$LIB:$T/other.so \\"
	expect_eq "$(tail -n 1 <<<"$out")" "$(tail -n 1 <<<"$want")"
	# nothing ran, nothing was created
	[ ! -e "$T/started" ] || { echo "    CMD was started" >&2; return 1; }
	[ ! -e "$T/st" ] || { echo "    the state folder was created" >&2; return 1; }
}

# What --dry-run prints, run by sh, does what the run does.
test_dry_run_output_runs_the_same() {
	[ -n "${SANITIZER_PRELOAD:-}" ] && skip "sh is not built with the sanitizer runtimes"
	cmd=(sh -c 'printf "%s|" "$LD_PRELOAD" "$STICKYSYNC_POLICY" "$STICKYSYNC_INJECT" "$@"' sh "a b" "c'd")
	runc cli run --policy failstop --inject 'op=fsync,path=/x y' -- "${cmd[@]}"
	direct=$out
	runc cli run --dry-run --policy failstop --inject 'op=fsync,path=/x y' -- "${cmd[@]}"
	runc env -u STICKYSYNC_POLICY sh -c "$out"
	expect_eq "$out" "$direct"
	expect_eq "$out" "$LIB|failstop|op=fsync,path=/x y|a b|c'd|"
}

test_dry_run_bad_settings_still_fail() {
	runc cli run --dry-run --policy nope true
	expect_eq "$rc" 2
	expect_eq "$out" ""
	runc cli run --dry-run --library "$T/none.so" true
	expect_eq "$rc" 2
	expect_eq "$out" ""
}

test_dry_run_with_fail_on_latch_says_so() {
	runc cli run --dry-run --fail-on-latch --state off true
	expect_eq "$rc" 0
	expect_line "$out" "# --fail-on-latch: stickysync waits for this and exits 74 if a file latched; the state is a private folder made for the run"
	expect_line "$out" "STICKYSYNC_STATE=off \\"
	expect_eq "$(tail -n 1 <<<"$out")" "true"
}

# ---- a link named after a program -------------------------------------------

# link NAME: $T/links/NAME, a symbolic link to the command.
link() {
	mkdir -p "$T/links"
	ln -sf "$CLI" "$T/links/$1"
}

# through_links CMD...: CMD with $T/links first on PATH (and, under the
# sanitizer build, the runtimes preloaded for the command).
through_links() {
	env PATH="$T/links:$PATH" LD_PRELOAD="${SANITIZER_PRELOAD:-}" "$@"
}

test_link_runs_the_program_of_its_name() {
	link sh
	san=$(sanitizer_prefix)
	runc through_links sh -c 'printf "%s\n" "$LD_PRELOAD" "$0" "$@"' zero "a b" c
	expect_eq "$rc" 0
	expect_eq "$out" "$san$LIB
zero
a b
c"
	# called by its path, too
	runc env LD_PRELOAD="${SANITIZER_PRELOAD:-}" "$T/links/sh" -c 'printf "%s\n" "$LD_PRELOAD"'
	expect_eq "$out" "$san$LIB"
}

# The library is active, with the settings of the environment: an injected
# failure makes the retry fail.
test_link_honours_the_variables() {
	mkdir -p "$T/links"
	ln -s "$CLI" "$T/links/ssprobe"
	runc env PATH="$T/links:$(dirname "$PROBE"):$PATH" LD_PRELOAD="${SANITIZER_PRELOAD:-}" \
		STICKYSYNC_LOG=off STICKYSYNC_INJECT="op=fsync,path=$T/f" \
		ssprobe open h1 "$T/f" rwc fsync h1 fsync h1
	expect_eq "$rc" 0
	expect_count "$out" '^fsync h1 = -1 EIO$' 2 "the retry fails"
	# a bad setting stops it, as it stops run
	runc env PATH="$T/links:$(dirname "$PROBE"):$PATH" LD_PRELOAD="${SANITIZER_PRELOAD:-}" \
		STICKYSYNC_POLICY=typo ssprobe open h1 "$T/f" rwc
	expect_eq "$rc" 2
	expect_line "$err" 'stickysync: STICKYSYNC_POLICY="typo" is not one of sticky, failstop, abort, observe'
	expect_eq "$out" ""
}

# Links to the command (symbolic or hard, in any folder of PATH) are passed
# over, or the command would run itself forever.
test_link_skips_links_to_itself() {
	[ -n "${SANITIZER_PRELOAD:-}" ] && skip "a copied sanitizer build needs its runtimes preloaded"
	mkdir -p "$T/links" "$T/more" "$T/prog"
	cp "$CLI" "$T/links/stickysync"
	cp "$LIB" "$T/links/libstickysync.so"
	ln -s stickysync "$T/links/tool"
	ln "$T/links/stickysync" "$T/more/tool"
	printf '#!/bin/sh\necho "real tool: $*"\n' >"$T/prog/tool"
	chmod +x "$T/prog/tool"
	runc env PATH="$T/links:$T/more:$T/prog:$PATH" tool x
	expect_eq "$rc" 0
	expect_eq "$out" "real tool: x"
	# nothing but links: not found, one line, nothing run
	rm "$T/prog/tool"
	runc env PATH="$T/links:$T/more:$T/prog:$PATH" tool x
	expect_eq "$rc" 127
	expect_line "$err" "stickysync: tool: no program of that name on PATH but links to stickysync (a link named after a program runs that program: see stickysync(1))"
	expect_eq "$(wc -l <<<"$err")" 1
}

# Names beginning with stickysync are the command itself.
test_stickysync_names_are_the_command() {
	mkdir -p "$T/bin"
	ln -s "$CLI" "$T/bin/stickysync-test"
	runc env LD_PRELOAD="${SANITIZER_PRELOAD:-}" "$T/bin/stickysync-test" --version
	expect_eq "$rc" 0
	expect_grep "$out" '^stickysync [0-9]'
}

test_valgrind_clean() {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	[ -n "${SANITIZER_PRELOAD:-}" ] && skip "the sanitizer build checks memory itself"
	vg=(valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99)
	runc "${vg[@]}" "$CLI" run --dry-run --library "$LIB" --inject 'op=fsync,path=*' true
	expect_eq "$rc" 0 "$err"
	link true
	runc env PATH="$T/links:$PATH" "${vg[@]}" "$T/links/true"
	expect_eq "$rc" 0 "$err"
}

run_tests
