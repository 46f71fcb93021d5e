#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# build.sh OUT [dynamic]: build gosync (main.go, next to this script) into
# OUT with Debian's golang-go, unless OUT is newer than the source: static
# (CGO_ENABLED=0), or dynamically linked with libc (cgo's external linker),
# as Debian builds Go programs such as etcd, which a preload then does load.  The Go cache goes
# next to OUT.  Exits 77 without a Go compiler; prints go's first complaint
# and exits 1 if the build fails.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$1
mode=${2:-static}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
command -v go >/dev/null 2>&1 || { echo "no Go compiler (golang-go)"; exit 77; }
[ -x "$out" ] && [ "$out" -nt "$here/main.go" ] && exit 0
cache=$(dirname "$out")/gocache
mkdir -p "$cache"
cd "$here"
# Either way, its system calls never pass through libc.
if [ "$mode" = dynamic ]; then
	set -- CGO_ENABLED=1 go build -ldflags=-linkmode=external
else
	set -- CGO_ENABLED=0 go build
fi
if ! env HOME="$cache" GOCACHE="$cache" GOPATH="$cache/path" GO111MODULE=off "$@" \
	-o "$out" main.go >"$cache/build.log" 2>&1; then
	head -n 1 "$cache/build.log"
	exit 1
fi
