#!/usr/bin/env bash
# make install and make uninstall, into a private prefix and a DESTDIR.
. test/integration/lib.sh

test_install_uninstall_prefix() {
	local p="$T/prefix"
	make -s BUILD="$T/b" PREFIX="$p" install >/dev/null
	for f in lib/libstickysync.so bin/stickysync include/stickysync.h share/man/man1/stickysync.1 \
		share/man/man7/libstickysync.7 lib/pkgconfig/stickysync.pc; do
		[ -f "$p/$f" ] || { echo "missing $f"; return 1; }
	done
	expect_eq "$(PKG_CONFIG_PATH="$p/lib/pkgconfig" pkg-config --cflags stickysync | xargs)" "-I$p/include"
	# the installed command finds the installed library
	out=$(env -u LD_PRELOAD "$p/bin/stickysync" run --state "$T/st" --log off -- sh -c 'echo "$LD_PRELOAD"')
	expect_eq "$out" "$p/lib/libstickysync.so"
	man -l "$p/share/man/man7/libstickysync.7" >/dev/null 2>&1 || [ ! -x "$(command -v man)" ]
	make -s BUILD="$T/b" PREFIX="$p" uninstall >/dev/null
	expect_eq "$(find "$p" -type f | wc -l)" 0
}

test_install_into_destdir() {
	make -s BUILD="$T/b" PREFIX=/usr DESTDIR="$T/root" install >/dev/null
	[ -x "$T/root/usr/bin/stickysync" ]
	[ -f "$T/root/usr/lib/libstickysync.so" ]
	expect_grep "$(cat "$T/root/usr/lib/pkgconfig/stickysync.pc")" "^libdir=/usr/lib$"
}

test_missing_packages_named_with_the_exact_command() {
	id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || skip "needs root to run as another user"
	set +e
	out=$(su nobody -s /bin/sh -c "scripts/need-packages dpkg no-such-package-stickysync" 2>&1)
	rc=$?
	set -e
	expect_eq "$rc" 1
	expect_line "$out" "stickysync: missing packages; run: sudo apt-get install -y no-such-package-stickysync"
	# installed ones pass silently
	out=$(su nobody -s /bin/sh -c "scripts/need-packages dpkg" 2>&1)
	expect_eq "$out" ""
}

run_tests
