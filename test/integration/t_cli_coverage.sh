#!/usr/bin/env bash
# stickysync run warns, one line, when a preload cannot reach CMD: setuid,
# setgid, file capabilities; and, with --no-supervise, statically linked and
# Go programs, which otherwise run under the supervisor (t_supervise).  CMD
# still runs, with its own exit status.
. test/integration/lib.sh
. test/integration/cli_lib.sh

MAIN='int main(void) { return 3; }'

# warnings OUTPUT: the lines that are warnings
warnings() { grep '^stickysync: warning: ' <<<"$1" || true; }

test_no_warning_for_a_dynamic_program() {
	build_c "$T/dyn" "$MAIN"
	runc cli run "$T/dyn"
	expect_eq "$rc" 3
	expect_eq "$(warnings "$err")" "" "no warning"
	runc cli run sh -c 'exit 0'
	expect_eq "$(warnings "$err")" "" "no warning for sh from PATH"
}

# Without --no-supervise, the supervisor runs it: no warning, and a dry run
# says so.
supervised_without_warning() { # PROGRAM
	runc cli run "$1"
	expect_eq "$rc" 3 "it runs, supervised"
	expect_eq "$(warnings "$err")" "" "no warning: supervised"
	runc cli run --dry-run "$1"
	expect_grep "$out" "^# supervised: "
}

test_static_program_warns() {
	build_c "$T/static" "$MAIN" -static || skip "no static libc (cc -static failed: $(head -n1 "$T/static.log"))"
	supervised_without_warning "$T/static"
	runc cli run --no-supervise "$T/static"
	expect_eq "$rc" 3 "it still runs"
	expect_line "$err" "stickysync: warning: $T/static is statically linked: no dynamic loader reads LD_PRELOAD, so its syncs are not covered"
	expect_eq "$(wc -l <<<"$err")" 1
	# found through PATH, and also with --fail-on-latch
	PATH="$T:$PATH" runc cli run --no-supervise --fail-on-latch static
	expect_eq "$rc" 3
	expect_line "$err" "stickysync: warning: $T/static is statically linked: no dynamic loader reads LD_PRELOAD, so its syncs are not covered"
}

test_static_pie_warns() {
	build_c "$T/spie" "$MAIN" -static-pie -fPIE || skip "no static-pie support: $(head -n1 "$T/spie.log")"
	supervised_without_warning "$T/spie"
	runc cli run --no-supervise "$T/spie"
	expect_eq "$rc" 3
	expect_grep "$err" "warning: $T/spie is statically linked"
}

test_script_with_static_interpreter_warns() {
	build_c "$T/static" "$MAIN" -static || skip "no static libc"
	printf '#!%s -x\n' "$T/static" >"$T/script"
	chmod +x "$T/script"
	supervised_without_warning "$T/script"
	runc cli run --no-supervise "$T/script"
	expect_eq "$rc" 3
	expect_line "$err" "stickysync: warning: $T/script's interpreter $T/static is statically linked: no dynamic loader reads LD_PRELOAD, so its syncs are not covered"
}

# A Go binary is recognised by its .go.buildinfo section...
test_go_buildinfo_section_warns() {
	build_c "$T/gobin" '__attribute__((used, section(".go.buildinfo"))) static const char bi[32] = "\xff Go buildinf:";
int main(void) { return 3; }'
	supervised_without_warning "$T/gobin"
	runc cli run --no-supervise "$T/gobin"
	expect_eq "$rc" 3
	expect_line "$err" "stickysync: warning: $T/gobin is a Go program: Go makes its system calls itself, past libc and libstickysync.so, so its syncs are not covered"
	# ...also when the symbol table is stripped
	command -v strip >/dev/null || return 0
	strip "$T/gobin"
	runc cli run --no-supervise "$T/gobin"
	expect_grep "$err" "warning: $T/gobin is a Go program"
}

# ...or by Go's build ID note (in a PT_NOTE segment), even without sections.
test_go_build_id_note_warns() {
	build_c "$T/gonote" '__asm__(".section .note.go.buildid,\"a\",@note\n.balign 4\n.long 4\n.long 8\n.long 4\n.asciz \"Go\"\n.balign 4\n.ascii \"abcdefgh\"\n.previous\n");
int main(void) { return 3; }'
	# wipe the section headers (e_shoff = 0, e_shnum = 0): only segments remain
	python3 - "$T/gonote" <<'EOF'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    h = bytearray(f.read(64))
    assert h[4] == 2, "64-bit ELF expected"
    struct.pack_into("<Q", h, 0x28, 0)       # e_shoff
    struct.pack_into("<HH", h, 0x3c, 0, 0)  # e_shnum, e_shstrndx
    f.seek(0)
    f.write(h)
EOF
	supervised_without_warning "$T/gonote"
	runc cli run --no-supervise "$T/gonote"
	expect_eq "$rc" 3
	expect_line "$err" "stickysync: warning: $T/gonote is a Go program: Go makes its system calls itself, past libc and libstickysync.so, so its syncs are not covered"
	# the same note under another name is not Go's
	build_c "$T/notgo" '__asm__(".section .note.other,\"a\",@note\n.balign 4\n.long 4\n.long 8\n.long 4\n.asciz \"Gx\"\n.balign 4\n.ascii \"abcdefgh\"\n.previous\n");
int main(void) { return 3; }'
	runc cli run "$T/notgo"
	expect_eq "$(warnings "$err")" ""
}

test_setuid_program_warns() {
	[ "$(id -u)" = 0 ] || skip "making a program setuid another user needs root"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	build_c "$T/suid" "$MAIN"
	chmod 0755 "$T"
	chown nobody "$T/suid"
	chmod 4755 "$T/suid"
	runc cli run "$T/suid"
	expect_eq "$rc" 3
	expect_line "$err" "stickysync: warning: $T/suid is setuid nobody: the dynamic loader ignores LD_PRELOAD when a program changes user, so it is not covered"
	# setuid to oneself changes nothing: no warning
	chown 0 "$T/suid"
	chmod 4755 "$T/suid"
	runc cli run "$T/suid"
	expect_eq "$(warnings "$err")" ""
}

test_setgid_program_warns() {
	[ "$(id -u)" = 0 ] || skip "making a program setgid another group needs root"
	group=$(getent group nogroup >/dev/null && echo nogroup || echo nobody)
	getent group "$group" >/dev/null || skip "no group nogroup or nobody"
	build_c "$T/sgid" "$MAIN"
	chmod 0755 "$T"
	chgrp "$group" "$T/sgid"
	chmod 2755 "$T/sgid"
	runc cli run "$T/sgid"
	expect_eq "$rc" 3
	expect_line "$err" "stickysync: warning: $T/sgid is setgid $group: the dynamic loader ignores LD_PRELOAD when a program changes group, so it is not covered"
}

test_file_capabilities_warn() {
	command -v setcap >/dev/null || skip "setcap is not installed"
	build_c "$T/cap" "$MAIN"
	setcap cap_net_bind_service+ep "$T/cap" 2>/dev/null || skip "cannot set file capabilities here"
	runc cli run "$T/cap"
	expect_line "$err" "stickysync: warning: $T/cap has file capabilities: the dynamic loader ignores LD_PRELOAD for it, so it is not covered"
}

run_tests
