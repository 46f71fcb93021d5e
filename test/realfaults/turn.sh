# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# Sourced first thing by run.sh and gluster.sh, with their arguments.  Both
# drop the whole machine's page cache, and each one's scenarios rely on what
# is cached between two steps: they take turns, the script re-executed under
# flock(1) holding a lock on this folder (make check starts them in
# different lanes).  -o: the lock is flock's alone, no scenario inherits it.
if [ -z "${RF_TURN_HELD:-}" ] && [ "$(id -u)" = 0 ] && command -v flock >/dev/null 2>&1; then
	export RF_TURN_HELD=1
	if ! flock -n "$(dirname "${BASH_SOURCE[0]}")" true; then
		echo "$(basename "$0"): waiting for the other real-fault part (both drop the page cache)"
	fi
	exec flock -o "$(dirname "${BASH_SOURCE[0]}")" "$BASH" "$0" "$@"
fi
