#!/usr/bin/env bash
# make install and make uninstall, into a private prefix and a DESTDIR; the
# build flags; the package check of make; and, with TEST_INSTALLED=1,
# the installed packages.
. test/integration/lib.sh

# An install from the source tree; with TEST_INSTALLED=1 the tests
# are about the packages instead.
from_source() {
	[ "${TEST_INSTALLED:-}" = 1 ] && skip "tests make install of the source tree, not the installed packages"
	source_check
}

# One build for the installs of this file (objects are shared; the command is
# relinked when the folders change).
IB="$TOP/$BUILD/t_install"

installed() {
	[ "${TEST_INSTALLED:-}" = 1 ] || skip "tests the installed packages (TEST_INSTALLED=1)"
}

# A stand-in for ldconfig that notes each call in $T/ldconfig.log.
fake_ldconfig() {
	mkdir -p "$T/fake"
	printf '#!/bin/sh\necho "ldconfig $*" >>"%s/ldconfig.log"\n' "$T" >"$T/fake/ldconfig"
	chmod +x "$T/fake/ldconfig"
	: >"$T/ldconfig.log"
}

test_install_uninstall_prefix() {
	from_source
	local p="$T/prefix"
	fake_ldconfig
	make -s BUILD="$IB" PREFIX="$p" MULTIARCH=test-triplet LDCONFIG="$T/fake/ldconfig" install >/dev/null
	for f in lib/libstickysync.so bin/stickysync include/stickysync.h share/man/man1/stickysync.1 \
		share/man/man7/libstickysync.7 lib/pkgconfig/stickysync.pc \
		share/bash-completion/completions/stickysync; do
		[ -f "$p/$f" ] || { echo "missing $f"; return 1; }
	done
	# the library is loaded, never run
	expect_eq "$(stat -c %a "$p/lib/libstickysync.so")" 644
	expect_eq "$(stat -c %a "$p/bin/stickysync")" 755
	expect_eq "$(PKG_CONFIG_PATH="$p/lib/pkgconfig" pkg-config --cflags stickysync | xargs)" "-I$p/include"
	# the installed command finds the installed library
	out=$(env -u LD_PRELOAD -u STICKYSYNC_LIBRARY "$p/bin/stickysync" run --state "$T/st" --log off -- sh -c 'echo "$LD_PRELOAD"')
	expect_eq "$out" "$p/lib/libstickysync.so"
	man -l "$p/share/man/man7/libstickysync.7" >/dev/null 2>&1 || [ ! -x "$(command -v man)" ]
	# an install into the root filesystem refreshes the loader's cache (as root)
	if [ "$(id -u)" = 0 ]; then
		expect_eq "$(cat "$T/ldconfig.log")" "ldconfig "
	else
		expect_eq "$(cat "$T/ldconfig.log")" "" "not root: no ldconfig"
	fi
	: >"$T/ldconfig.log"
	make -s BUILD="$IB" PREFIX="$p" MULTIARCH=test-triplet LDCONFIG="$T/fake/ldconfig" uninstall >/dev/null
	expect_eq "$(find "$p" -type f | wc -l)" 0
	[ "$(id -u)" != 0 ] || expect_eq "$(cat "$T/ldconfig.log")" "ldconfig "
}

# Next to itself, then PREFIX/lib/MULTIARCH, then LIBDIR.
test_command_looks_next_to_itself_then_multiarch_then_libdir() {
	from_source
	local p="$T/prefix"
	make -s BUILD="$IB" PREFIX="$p" MULTIARCH=test-triplet LDCONFIG=: install >/dev/null
	mkdir -p "$p/lib/test-triplet"
	show() { env -u LD_PRELOAD -u STICKYSYNC_LIBRARY "$@" run --dry-run true | head -n 1; }
	expect_eq "$(show "$p/bin/stickysync")" "LD_PRELOAD=$p/lib/libstickysync.so \\"
	cp "$p/lib/libstickysync.so" "$p/lib/test-triplet/"
	expect_eq "$(show "$p/bin/stickysync")" "LD_PRELOAD=$p/lib/test-triplet/libstickysync.so \\"
	cp "$p/lib/libstickysync.so" "$p/bin/"
	expect_eq "$(show "$p/bin/stickysync")" "LD_PRELOAD=$p/bin/libstickysync.so \\"
	# none: one line naming the folders
	rm "$p/bin/libstickysync.so" "$p/lib/test-triplet/libstickysync.so" "$p/lib/libstickysync.so"
	set +e
	err=$(env -u STICKYSYNC_LIBRARY "$p/bin/stickysync" run true 2>&1)
	rc=$?
	set -e
	expect_eq "$rc" 2
	expect_eq "$err" "stickysync: cannot find libstickysync.so next to this program, in $p/lib/test-triplet or in $p/lib; give --library or set STICKYSYNC_LIBRARY"
}

test_install_into_destdir() {
	from_source
	fake_ldconfig
	make -s BUILD="$IB" PREFIX=/usr LIBDIR=/usr/lib/test-triplet DESTDIR="$T/root" \
		LDCONFIG="$T/fake/ldconfig" install >/dev/null
	[ -x "$T/root/usr/bin/stickysync" ]
	expect_eq "$(stat -c %a "$T/root/usr/lib/test-triplet/libstickysync.so")" 644
	expect_grep "$(cat "$T/root/usr/lib/test-triplet/pkgconfig/stickysync.pc")" "^libdir=/usr/lib/test-triplet$"
	[ -f "$T/root/usr/share/bash-completion/completions/stickysync" ]
	# the package manager refreshes the target's cache, not make
	expect_eq "$(cat "$T/ldconfig.log")" "" "no ldconfig with DESTDIR"
	make -s BUILD="$IB" PREFIX=/usr LIBDIR=/usr/lib/test-triplet DESTDIR="$T/root" \
		LDCONFIG="$T/fake/ldconfig" uninstall >/dev/null
	expect_eq "$(find "$T/root" -type f | wc -l)" 0
	expect_eq "$(cat "$T/ldconfig.log")" ""
}

# The builder's CPPFLAGS, CFLAGS and LDFLAGS (a distribution's hardening)
# reach every compile and link, and the flags the library needs come after
# them.
test_build_honours_cppflags_cflags_ldflags() {
	source_check
	# (one line per command: continuation lines joined)
	out=$(make -n V=1 BUILD="$T/b" CPPFLAGS="-DSS_CPPFLAGS -D_FILE_OFFSET_BITS=64" \
		CFLAGS=-DSS_CFLAGS LDFLAGS=-Wl,--ss-ldflags all 2>&1 | sed -e ':a' -e '/\\$/N; s/\\\n\t*/ /; ta')
	objs=$(grep -E -- ' -c -o [^ ]+/obj/[a-z_]+\.o src/' <<<"$out")
	expect_eq "$(wc -l <<<"$objs")" "$(printf '%s\n' src/*.c | wc -l)" "one compile per library source"
	expect_eq "$(grep -c -- '-DSS_CPPFLAGS -D_FILE_OFFSET_BITS=64 -DSS_CFLAGS .* -U_FILE_OFFSET_BITS' <<<"$objs")" \
		"$(wc -l <<<"$objs")" "CPPFLAGS, CFLAGS, then -U_FILE_OFFSET_BITS"
	expect_grep "$out" "-Wl,--ss-ldflags -shared -o $T/b/libstickysync.so .*-Wl,-z,lazy -Wl,-z,relro"
	expect_grep "$out" "-DSS_CPPFLAGS -D_FILE_OFFSET_BITS=64 -DSS_CFLAGS .* -Wl,--ss-ldflags -o $T/b/stickysync "
}

# Stand-ins for dpkg-query (nothing is installed), apt-get (notes its
# arguments in $T/apt.log) and id (root), first on PATH.
fake_packaging() {
	mkdir -p "$T/fake"
	printf '#!/bin/sh\nexit 1\n' >"$T/fake/dpkg-query"
	printf '#!/bin/sh\necho "apt-get $*" >>"%s/apt.log"\n' "$T" >"$T/fake/apt-get"
	printf '#!/bin/sh\necho 0\n' >"$T/fake/id"
	chmod +x "$T/fake/"*
	: >"$T/apt.log"
}

test_no_package_installs_with_no_deps_or_in_a_package_build() {
	source_check
	fake_packaging
	need() { env -u NO_DEPS -u DEB_RULES_REQUIRES_ROOT PATH="$T/fake:$PATH" "$@" >/dev/null; }
	# the fakes work: a developer's build as root installs what is missing
	need scripts/need-packages pkg-a
	expect_line "$(cat "$T/apt.log")" "apt-get install -y -qq --no-install-recommends pkg-a"
	need make -s BUILD="$T/b" deps
	expect_eq "$(grep -c 'apt-get install' "$T/apt.log")" 2 "make deps installs"
	: >"$T/apt.log"
	need NO_DEPS=1 scripts/need-packages pkg-a
	need make -s BUILD="$T/b" NO_DEPS=1 deps
	need DEB_RULES_REQUIRES_ROOT=no scripts/need-packages pkg-a
	need DEB_RULES_REQUIRES_ROOT=no make -s BUILD="$T/b" deps
	expect_eq "$(cat "$T/apt.log")" "" "NO_DEPS=1 or a package build: nothing installed"
	# no dpkg-query (not Debian): nothing to check with, no failure
	mkdir "$T/nodpkg"
	ln -s "$T/fake/apt-get" "$T/fake/id" "$(command -v grep)" "$T/nodpkg/"
	env -u NO_DEPS PATH="$T/nodpkg" /bin/sh scripts/need-packages pkg-a
	expect_eq "$(cat "$T/apt.log")" ""
}

test_missing_packages_named_with_the_exact_command() {
	id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || skip "needs root to run as another user"
	set +e
	out=$(su nobody -s /bin/sh -c "env -u NO_DEPS -u DEB_RULES_REQUIRES_ROOT scripts/need-packages dpkg no-such-package-stickysync" 2>&1)
	rc=$?
	set -e
	expect_eq "$rc" 1
	expect_line "$out" "stickysync: missing packages; run: sudo apt-get install -y no-such-package-stickysync"
	# installed ones pass silently
	out=$(su nobody -s /bin/sh -c "scripts/need-packages dpkg" 2>&1)
	expect_eq "$out" ""
}

# ---- the installed packages ------------------------------------------------

# The multiarch folder, where the loader finds libstickysync.so by name.
multiarch_dir() {
	local triplet
	triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || cc -print-multiarch)
	readlink -f "/usr/lib/$triplet"
}

test_installed_library_preloads_by_bare_name() {
	installed
	expect_eq "$(dirname "$LIB")" "$(multiarch_dir)"
	expect_eq "$(stat -c %a "$LIB")" 644
	out=$(LD_PRELOAD=libstickysync.so STICKYSYNC_LOG=off STICKYSYNC_INJECT="op=fsync,path=$T/f" \
		"$PROBE" open h1 "$T/f" rwc fsync h1 fsync h1)
	expect_count "$out" '^fsync h1 = -1 EIO$' 2 "the retry fails: the library is loaded"
}

test_installed_command_finds_the_multiarch_library() {
	installed
	expect_eq "$(env -u LD_PRELOAD -u STICKYSYNC_LIBRARY stickysync run --dry-run true | head -n 1)" \
		"LD_PRELOAD=$(multiarch_dir)/libstickysync.so \\"
	# a copy elsewhere has no library next to it: the multiarch one
	mkdir "$T/bin" && cp "$CLI" "$T/bin/"
	out=$(env -u LD_PRELOAD -u STICKYSYNC_LIBRARY "$T/bin/stickysync" run --log off -- sh -c 'echo "$LD_PRELOAD"')
	expect_eq "$out" "$(multiarch_dir)/libstickysync.so"
}

# The -dev package: the header and pkg-config file build the API example,
# which works with the library preloaded by the name pkg-config gives.
test_installed_header_and_pkg_config() {
	installed
	command -v cc >/dev/null || skip "no C compiler"
	expect_eq "$(readlink -f "$(pkg-config --variable=preload stickysync)")" "$LIB"
	# shellcheck disable=SC2046
	cc -o "$T/ack_example" examples/ack_example.c $(pkg-config --cflags --libs stickysync)
	out=$(LD_PRELOAD="$(pkg-config --variable=preload stickysync) $FAULTLIB" FAULT_PATH=ledger \
		STICKYSYNC_LOG=off "$T/ack_example" "$T/ledger" 2>&1)
	expect_line "$out" "rebuilt and acknowledged"
}

test_installed_manual_pages() {
	installed
	command -v man >/dev/null || skip "man is not installed"
	man -w stickysync >/dev/null
	man -w 7 libstickysync >/dev/null
	expect_grep "$(MANWIDTH=80 man stickysync 2>/dev/null)" '--library'
}

run_tests
