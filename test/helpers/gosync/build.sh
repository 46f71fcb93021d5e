#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# build.sh OUT: build gosync (main.go, next to this script) into OUT with
# Debian's golang-go, unless OUT is newer than the source.  The Go cache goes
# next to OUT.  Exits 77 without a Go compiler; prints go's first complaint
# and exits 1 if the build fails.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$1
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
command -v go >/dev/null 2>&1 || { echo "no Go compiler (golang-go)"; exit 77; }
[ -x "$out" ] && [ "$out" -nt "$here/main.go" ] && exit 0
cache=$(dirname "$out")/gocache
mkdir -p "$cache"
cd "$here"
# A static binary whose system calls never pass through libc.
if ! HOME=$cache GOCACHE=$cache GOPATH=$cache/path GO111MODULE=off CGO_ENABLED=0 \
	go build -o "$out" main.go >"$cache/build.log" 2>&1; then
	head -n 1 "$cache/build.log"
	exit 1
fi
