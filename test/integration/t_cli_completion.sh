#!/usr/bin/env bash
# The bash completion of stickysync (completion/stickysync.bash; installed,
# the file bash-completion loads for the command).
. test/integration/lib.sh

BASH_COMPLETION=/usr/share/bash-completion/bash_completion
if [ "${TEST_INSTALLED:-}" = 1 ]; then
	COMPLETION=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null ||
		echo /usr/share/bash-completion/completions)/stickysync
else
	COMPLETION=$TOP/completion/stickysync.bash
fi

# candidates WORD...: what completing the last WORD offers, one a line,
# sorted.  A trailing "" completes an empty word.
candidates() {
	[ -r "$BASH_COMPLETION" ] || skip "bash-completion is not installed"
	bash -c '
		. "$1" && . "$2" || exit 1
		shift 2
		COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMP_LINE="$*" COMP_POINT=${#COMP_LINE}
		_stickysync stickysync "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
		printf "%s\n" "${COMPREPLY[@]}"' bash "$BASH_COMPLETION" "$COMPLETION" stickysync "$@" |
		sort -u
}

test_subcommands() {
	expect_eq "$(candidates "" | xargs)" "--help --version ack prune run status"
	expect_eq "$(candidates st | xargs)" "status"
}

test_run_options_and_values() {
	out=$(candidates run --)
	for o in --policy --log --state --inject --fail-on-latch --library --dry-run --supervise \
		--no-supervise --deny-io-uring --help; do
		expect_line "$out" "$o"
	done
	expect_eq "$(candidates run --policy "" | xargs)" "abort failstop observe sticky"
	expect_eq "$(candidates run --policy=o | xargs)" "observe"
	expect_line "$(candidates run --log "")" "syslog"
	expect_line "$(candidates run --state o)" "off"
	expect_line "$(candidates run --inject op=fd)" "op=fdatasync"
	mkdir "$T/libs" && : >"$T/libs/libstickysync.so" && : >"$T/libs/notes.txt"
	expect_eq "$(candidates run --library "$T/libs/")" "$T/libs/libstickysync.so"
}

# After CMD, the words are CMD's: they complete as CMD's own (here: a
# function of this test standing in for a command's completion).
test_run_hands_over_to_the_command() {
	[ -r "$BASH_COMPLETION" ] || skip "bash-completion is not installed"
	out=$(bash -c '
		. "$1" && . "$2" || exit 1
		_mycmd() { COMPREPLY=("mycmd-word-$COMP_CWORD"); }
		complete -F _mycmd mycmd
		for line in "stickysync run mycmd x" "stickysync run --log off -- mycmd --policy x" \
			"stickysync run --policy=observe mycmd y"; do
			read -ra COMP_WORDS <<<"$line"
			COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line}
			COMPREPLY=()
			_stickysync stickysync "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
			echo "${COMPREPLY[*]}"
		done' bash "$BASH_COMPLETION" "$COMPLETION")
	expect_eq "$out" "mycmd-word-1
mycmd-word-2
mycmd-word-1"
	# the command name itself completes from PATH
	expect_line "$(candidates run --dry-run sh)" "sh"
}

test_admin_subcommands() {
	expect_eq "$(candidates status -- | xargs)" "--all --help --json --state"
	expect_eq "$(candidates prune -- | xargs)" "--active --help --state"
	: >"$T/disk.img"
	expect_eq "$(candidates ack "$T/di")" "$T/disk.img"
}

# Installed, bash-completion finds the file by the command's name.
test_installed_file_is_found_by_name() {
	[ "${TEST_INSTALLED:-}" = 1 ] || skip "tests the installed packages (TEST_INSTALLED=1)"
	[ -r "$BASH_COMPLETION" ] || skip "bash-completion is not installed"
	out=$(bash -c '. "$1"; _completion_loader stickysync; complete -p stickysync' bash "$BASH_COMPLETION")
	expect_line "$out" "complete -F _stickysync stickysync"
}

run_tests
