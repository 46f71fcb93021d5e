#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# stickysync benchmark driver.
#
#   bench/bench.sh report   measure everything, print the tables and write
#                           them with a machine description to $OUT
#   bench/bench.sh check    deterministic counts only, compared with the
#                           design targets; ends with
#                           "bench-counts: N passed, N failed"
#   bench/bench.sh profile OP [CONFIG]
#                           where OP's instructions go, per call (callgrind),
#                           CONFIG one of none floor empty latched fiu
#
# Normally run through `make bench` / `make check-counts` (bench/bench.mk),
# which set BENCH_BIN (the built harness and helpers) and LIB.
#
# Method, and why:
# - User-space instructions come from callgrind, counting only the harness's
#   loop (--toggle-collect=bench_loop): N iterations, after a warm-up that
#   is not counted, divided by N; start-up and lazy initialisation stay
#   outside.  The counts are exact and do not drift with machine load,
#   which is why the checks use them.
# - Each operation cycles through 1024 files (harness.c, BENCH_FILES).  With
#   latches in the shared hash table, a sync's cost depends on where its
#   inode lands; the average over many inodes is what an application sees,
#   and it moves by a few per cent between runs (new inode numbers, new
#   table layout) where a single file's could move by a factor.  What still
#   moves between runs is any lookup made once per call for a key all files
#   share (such as their filesystem's): that is one draw from the table
#   layout, and the report says so rather than hide it.
# - System calls come from `strace -f`: those of the loop alone, between
#   the two marks the harness makes around it (bench/loop_mark.h), over SN
#   iterations (fewer than N: strace stops the program at each call, and
#   the figures are whole numbers), minus the same figure without a preload.
# - Heap allocations per call are the calls to malloc & co. in the same
#   callgrind profiles (mmap would show up in the system call count).
# - Wall-clock times are medians over ROUNDS rounds; each round runs every
#   configuration once, in turn, so slow drifts of the machine hit all alike.
set -u

MODE=${1:-report}
BENCH_BIN=${BENCH_BIN:-build/bench}
LIB=${LIB:-build/libstickysync.so}
OUT=${OUT-docs/PERFORMANCE.md}
N=${N:-10240}
# System calls are whole numbers per call: strace, which stops the program
# at each of them, needs far fewer iterations than callgrind's instructions.
SN=${SN:-1024}
ROUNDS=${ROUNDS:-7}
TIME_ITERS=${TIME_ITERS:-100000}
THREAD_ITERS=${THREAD_ITERS:-50000}
FUTEX_ITERS=${FUTEX_ITERS:-10000}
LATCHED=${LATCHED:-10000}
FDS=${FDS:-10000}
JOBS=${JOBS:-$(nproc)}

OPS=${OPS:-"write pwrite pwrite4k writev fsync fdatasync openclose dupclose openclose_early pipeclose sockclose sfrclose"}
# io_uring through liburing (bench/uring.c, built when liburing-dev is
# there): counted, not timed (a ring round trip is dominated by the kernel).
RING_OPS="ring_nop1 ring_nop32 ring_reap ring_fsync1 ring_w31f1"
[ -x "${BENCH_BIN:-build/bench}/uring" ] || RING_OPS=
COUNT_OPS="$OPS $RING_OPS"

# Design targets with nothing latched: added system calls and added user
# instructions per call, relative to no preload (open+close and dup+close are
# one call pair, in a process that has synced once, as every process that
# protects data has; openclose_early is the same before the first sync;
# pipeclose and sockclose make a pipe or a socket pair, write
# to it and close both ends; sfrclose opens a file, writes, syncs the range
# with sync_file_range and closes: none of them may cost a system call).
target_sys() {
	case $1 in
	ring_*) echo 0 ;; # a ring's sync SQE reuses the fd's cached identity
	fsync | fdatasync) echo 1 ;;
	# its range sync, judged like an fsync: the first sync of a fresh fd
	# reads the file's latch attribute (fgetxattr), and its identity
	# (statx) when other files are latched; the close adds none
	sfrclose) echo 2 ;;
	*) echo 0 ;;
	esac
}
# pipeclose and sockclose are a write and two closes (300 per close pair);
# sfrclose an open, a write, a range sync and a close (openclose + write +
# fsync, and the sync of a fresh fd is judged in full when others are
# latched).
# Rings: at most 150 per submit and 15 per SQE with nothing latched (1 or
# 32 SQEs); a reap call at most what a submit may cost; a sync SQE (noted,
# then found again among the completions) at most 600, and each other
# completion read while a sync is in flight at most 20.  How many are read
# so depends on when the kernel completes the fsync among the writes:
# ring_w31f1 moves by a few per cent between runs, and its budget counts
# them all.
target_ir() {
	case $1 in
	ring_nop1) echo 165 ;;
	ring_nop32) echo 630 ;;
	ring_reap) echo 315 ;;
	ring_fsync1) echo 765 ;;
	ring_w31f1) echo 1850 ;; # 150 + 32 x 15 + 600 + 31 x 20
	write | pwrite | pwrite4k | writev) echo 30 ;;
	fsync | fdatasync) echo 400 ;;
	pipeclose | sockclose) echo 450 ;;
	# Before a process's first sync (most never sync) the latch table is not
	# attached, and each open and close is dated by the monotonic clock
	# instead of the table's sequence number: about 50 instructions more
	# each here, where valgrind turns the vDSO read into a system call
	# (natively, a vDSO read of about 35 ns, and no system call).
	openclose_early) echo 400 ;;
	# ~170 of them read the latch recorded on the file, at the first sync
	# of each fresh fd (measured: 1069 latched, 598 empty; 431 empty with
	# STICKYSYNC_XATTR=off)
	sfrclose) echo 1200 ;;
	*) echo 300 ;;
	esac
}
# "Unchanged when 10,000 other inodes are latched": the same targets must
# hold with $LATCHED inodes of other files latched.

label() {
	case $1 in
	none) echo "no preload" ;;
	floor) echo "floor" ;;
	empty) echo "stickysync" ;;
	latched) echo "stickysync, $LATCHED latched" ;;
	noxattr) echo "stickysync, STICKYSYNC_XATTR=off" ;;
	fiu) echo "libfiu (fiu-run -x)" ;;
	esac
}

die() {
	echo "bench: $*" >&2
	exit 2
}

# ---------------------------------------------------------------- set-up

[ -x "$BENCH_BIN/harness" ] || die "$BENCH_BIN/harness missing (make bench builds it)"
HARNESS=$BENCH_BIN/harness

# The files live on tmpfs so that the device never dominates the figures.
WORK=$(mktemp -d /dev/shm/stickysync-bench.XXXXXX 2>/dev/null) ||
	WORK=$(mktemp -d) || die "cannot create a work folder"
trap 'rm -rf "$WORK"' EXIT
chmod 0700 "$WORK"
[ "$(stat -f -c %T "$WORK")" = tmpfs ] ||
	echo "bench: note: $WORK is not on tmpfs; times include the device" >&2
mkdir -p "$WORK/files" "$WORK/pop" "$WORK/res"
mkdir -m 0700 "$WORK/state-empty" "$WORK/state-latched" "$WORK/state-noxattr"
export BENCH_DIR=$WORK/files
R=$WORK/res

have() { command -v "$1" >/dev/null 2>&1; }

CONFIGS="none floor"
if [ -f "$LIB" ]; then
	CONFIGS="$CONFIGS empty latched"
else
	echo "bench: note: $LIB not built; stickysync columns skipped" >&2
fi
FIU_NOTE=
if [ "$MODE" = report ]; then
	if have fiu-run; then
		CONFIGS="$CONFIGS fiu"
		# Take fiu's environment from fiu-run itself (-f '' turns off its
		# control FIFO) so that strace can hand it to the tracee alone.
		FIU_ENV=$(fiu-run -x -f '' env | grep -E '^(LD_PRELOAD|FIU_[A-Z_]*)=')
	else
		FIU_NOTE="libfiu skipped: fiu-run not found (install fiu-utils)."
	fi
	# what reading the latch recorded on the file costs: the difference
	# from the stickysync column
	[ -f "$LIB" ] && CONFIGS="$CONFIGS noxattr"
else
	CONFIGS=$(echo "$CONFIGS" | sed 's/floor//')
fi

# The environment of a configuration, one VAR=value per line.
config_env() {
	case $1 in
	none) ;;
	floor) echo "LD_PRELOAD=$BENCH_BIN/floor.so" ;;
	empty) printf '%s\n' "LD_PRELOAD=$LIB" "STICKYSYNC_STATE=$WORK/state-empty" ;;
	latched) printf '%s\n' "LD_PRELOAD=$LIB" "STICKYSYNC_STATE=$WORK/state-latched" ;;
	noxattr) printf '%s\n' "LD_PRELOAD=$LIB" "STICKYSYNC_STATE=$WORK/state-noxattr" \
		"STICKYSYNC_XATTR=off" ;;
	fiu) echo "$FIU_ENV" ;;
	esac
}

# run_in CONFIG COMMAND...: COMMAND with the configuration's environment.
run_in() {
	local cfg=$1 envv
	shift
	mapfile -t envv < <(config_env "$cfg")
	env "${envv[@]}" "$@"
}

# Bounded parallelism for the count runs, which do not measure time.
run_job() {
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n
	done
	"$@" &
}

# ------------------------------------------------ latching 10,000 inodes

# Latch $LATCHED inodes of other files in state-latched: fsync each once
# while a failure is injected.  The shim's own injector is tried first; if
# it did not make every fsync fail, failfsync.so (preloaded after the shim,
# which reaches it through RTLD_NEXT) stands in for a failing device.
populate() {
	local state=$WORK/state-latched pop=$WORK/pop how
	local base=(LD_PRELOAD="$LIB" STICKYSYNC_STATE="$state" STICKYSYNC_LOG=off)

	how="STICKYSYNC_INJECT"
	if ! env "${base[@]}" \
		STICKYSYNC_INJECT="op=fsync,path=$pop/pop-*,every=1,count=$LATCHED,errno=EIO" \
		"$BENCH_BIN/populate" create "$pop" "$LATCHED" >"$R/populate.log" 2>&1; then
		rm -rf "$state" "$pop" && mkdir -m 0700 "$state" && mkdir "$pop"
		how="failfsync.so"
		env "${base[@]}" LD_PRELOAD="$LIB $BENCH_BIN/failfsync.so" \
			BENCH_FAIL_PREFIX="$pop/pop-" \
			"$BENCH_BIN/populate" create "$pop" "$LATCHED" >>"$R/populate.log" 2>&1 ||
			{ cat "$R/populate.log" >&2; die "could not latch $LATCHED inodes"; }
	fi
	# A new process must see the latches, or the configuration is not what
	# its name says.
	if ! env "${base[@]}" "$BENCH_BIN/populate" verify "$pop" "$LATCHED" \
		>>"$R/populate.log" 2>&1; then
		cat "$R/populate.log" >&2
		die "the $LATCHED latches are not visible to a new process"
	fi
	POPULATED_BY=$how
}

# ---------------------------------------------------------------- counts

# Calls into the heap allocator recorded in a callgrind profile.  Function
# names are compressed: "(id) name" the first time, "(id)" afterwards.
cg_allocs() {
	awk '
	/^c?fn=/ {
		s = $0; sub(/^c?fn=/, "", s)
		if (match(s, /^\([0-9]+\)/)) {
			id = substr(s, 2, RLENGTH - 2); rest = substr(s, RLENGTH + 2)
			if (rest != "") name[id] = rest
			s = name[id]
		}
		if ($0 ~ /^cfn=/) callee = s
		next
	}
	/^calls=/ && callee ~ /^(malloc|calloc|realloc|reallocarray|posix_memalign|aligned_alloc|memalign|valloc|pvalloc)$/ {
		split(substr($0, 7), a, " "); n += a[1]
	}
	END { print n + 0 }' "$1"
}

# strace_in CONFIG ARGS...: strace ARGS (its options, then the command),
# with -E giving the configuration's environment to the traced command only,
# not to strace itself.
strace_in() {
	local cfg=$1 envv e sargs=()
	shift
	mapfile -t envv < <(config_env "$cfg")
	for e in "${envv[@]}"; do sargs+=(-E "$e"); done
	strace "${sargs[@]}" "$@"
}

# strace_count CONFIG OUTFILE COMMAND...: system call summary of COMMAND.
strace_count() {
	strace_in "$1" -f -c -U name,calls -o "$2" "${@:3}"
}

# strace_loop CONFIG OUTFILE COMMAND...: the system calls COMMAND makes
# between its loop marks (bench/loop_mark.h), as "name calls" lines and a
# "total" line; nothing if the marks are missing.
strace_loop() {
	local out=$2
	strace_in "$1" -f -qq -o "$out.trace" "${@:3}" || { rm -f "$out.trace"; return 1; }
	awk '
	/^[0-9]+ +faccessat\(AT_FDCWD, "\/bench-loop-begin"/ { on = 1; began = 1; next }
	/^[0-9]+ +faccessat\(AT_FDCWD, "\/bench-loop-end"/ { on = 0; done = 1; next }
	on {
		sub(/^[0-9]+ +/, "")
		# a call resumed, a signal, an exit: not a call of its own
		if ($0 ~ /^(<\.\.\.|---|\+\+\+)/) next
		name = $0; sub(/\(.*/, "", name)
		n[name]++; total++
	}
	END { if (began && done) { for (k in n) print k, n[k]; print "total", total + 0 } }' "$out.trace" >"$out"
	rm -f "$out.trace"
}

# The program that runs an operation.
harness_for() {
	case $1 in
	ring_*) echo "$BENCH_BIN/uring" ;;
	*) echo "$HARNESS" ;;
	esac
}

# One configuration and operation: a callgrind profile of the loop, and
# the system calls of the loop under strace.
count_one() {
	local cfg=$1 op=$2 base=$R/$1.$2 prog
	prog=$(harness_for "$op")

	run_in "$cfg" valgrind --tool=callgrind --toggle-collect=bench_loop \
		--callgrind-out-file="$base.cg" "$prog" "$op" "$N" \
		>"$base.cg.stdout" 2>"$base.cg.stderr"
	awk '/^totals:/ { print $2 }' "$base.cg" >"$base.ir" 2>/dev/null
	cg_allocs "$base.cg" >"$base.alloc" 2>/dev/null
	grep -q 'failures=0' "$base.cg.stdout" || echo "harness failed under $cfg: see $base.*" >"$base.err"

	# The harness must have succeeded, and marked its loop, or the counts
	# mean nothing.
	strace_loop "$cfg" "$base.sys" "$prog" "$op" "$SN" >"$base.st.stdout" 2>"$base.st.stderr"
	grep -q 'failures=0' "$base.st.stdout" && [ -s "$base.sys" ] ||
		echo "harness failed under $cfg (or its loop was not marked): see $base.*" >"$base.err"
}

run_counts() {
	local cfg op e
	for cfg in $CONFIGS; do
		for op in $COUNT_OPS; do
			run_job count_one "$cfg" "$op"
		done
	done
	wait
	# A failing run is shown as ERR in the tables; say why here.
	for e in "$R"/*.err; do
		[ -e "$e" ] || continue
		cat "$e" >&2
		tail -n 5 "${e%.err}".*.stderr >&2
	done
}

# ------------------------------------------------------------- start-up

# A process that starts, syncs nothing and exits: $STARTUP_PROG, run with
# an empty environment (plus a HOME of its own) so that nothing but the
# preload differs.  "floor" is the pass-through preload: what loading any
# preload library costs (the loader opens and maps it: system calls no
# library can avoid).  "stickysync, variables set" is how `stickysync run`
# starts a program with options (two STICKYSYNC_* variables).
STARTUP_PROG=${STARTUP_PROG:-/bin/true}
STARTUP_CONFIGS="none floor lib libvars"

startup_env() {
	echo "HOME=$WORK/home"
	case $1 in
	floor) echo "LD_PRELOAD=$BENCH_BIN/floor.so" ;;
	lib) echo "LD_PRELOAD=$LIB" ;;
	libvars) printf '%s\n' "LD_PRELOAD=$LIB" "STICKYSYNC_STATE=$WORK/home/state" \
		"STICKYSYNC_POLICY=sticky" ;;
	esac
}

startup_label() {
	case $1 in
	none) echo "no preload" ;;
	floor) echo "floor (a pass-through preload)" ;;
	lib) echo "stickysync" ;;
	libvars) echo "stickysync, variables set" ;;
	esac
}

# Whole-process counts: instructions (callgrind, everything from the first
# instruction of the loader) and system calls (strace -f -c).
run_startup() {
	local cfg envv
	mkdir -p "$WORK/home"
	for cfg in $STARTUP_CONFIGS; do
		mapfile -t envv < <(startup_env "$cfg")
		env -i "${envv[@]}" valgrind --tool=callgrind \
			--callgrind-out-file="$R/startup.$cfg.cg" "$STARTUP_PROG" \
			>/dev/null 2>"$R/startup.$cfg.cg.stderr"
		awk '/^totals:/ { print $2 }' "$R/startup.$cfg.cg" >"$R/startup.$cfg.ir" 2>/dev/null
		env -i strace -f -c -U name,calls -o "$R/startup.$cfg.st" \
			$(printf -- '-E %s ' "${envv[@]}") "$STARTUP_PROG" >/dev/null 2>&1
		awk 'NF == 2 && $2 ~ /^[0-9]+$/ && $1 != "total" { n += $2 } END { print n + 0 }' \
			"$R/startup.$cfg.st" >"$R/startup.$cfg.sys"
	done
	# A process that never syncs must not have made the state folder.
	[ ! -e "$WORK/home/state" ] || echo "the state folder was made" >"$R/startup.err"
}

startup_value() { cat "$R/startup.$1.$2" 2>/dev/null || echo ERR; }
startup_added() { # startup_added CONFIG BASE ir|sys
	local a b
	a=$(startup_value "$1" "$3")
	b=$(startup_value "$2" "$3")
	[ "$a" = ERR ] || [ "$b" = ERR ] && { echo ERR; return; }
	echo $((a - b))
}

# The design targets: added instructions over no preload; added system
# calls over the floor (the loader's share of loading any preload library
# is not the library's to save).
STARTUP_TARGET_IR=30000
STARTUP_TARGET_SYS=6

check_startup() {
	local cfg ir sys v
	for cfg in lib libvars; do
		ir=$(startup_added "$cfg" none ir)
		le "$ir" "$STARTUP_TARGET_IR" && v=OK || v=FAIL
		verdict $v "start-up of $STARTUP_PROG ($(startup_label "$cfg")): +$ir instructions (target <= $STARTUP_TARGET_IR)"
		sys=$(startup_added "$cfg" floor sys)
		le "$sys" "$STARTUP_TARGET_SYS" && v=OK || v=FAIL
		verdict $v "start-up of $STARTUP_PROG ($(startup_label "$cfg")): +$sys system calls over the floor, +$(startup_added "$cfg" none sys) over no preload (target <= $STARTUP_TARGET_SYS over the floor)"
	done
	[ ! -e "$R/startup.err" ] && v=OK || v=FAIL
	verdict $v "start-up: a process that never syncs leaves the state folder alone"
}

startup_report() {
	local cfg
	echo "## Start-up: a process that syncs nothing"
	echo
	echo "\`$STARTUP_PROG\` run with an empty environment: instructions of the whole process (callgrind, from the loader's first instruction) and system calls (strace). The floor is a pass-through preload library: loading any preload costs the loader about as much. Targets: at most +$STARTUP_TARGET_IR instructions over no preload, at most +$STARTUP_TARGET_SYS system calls over the floor."
	echo
	echo "| configuration | instructions | added | system calls | added over no preload | added over the floor |"
	echo "|---|---|---|---|---|---|"
	for cfg in $STARTUP_CONFIGS; do
		echo "| $(startup_label "$cfg") | $(startup_value "$cfg" ir) | $(startup_added "$cfg" none ir) | $(startup_value "$cfg" sys) | $(startup_added "$cfg" none sys) | $(startup_added "$cfg" floor sys) |"
	done
}

# per_call A B D: (B - A) / D, one decimal.
per_call() {
	awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { printf "%.1f", (b - a) / d }'
}

ir_per_call() {
	[ -e "$R/$1.$2.err" ] && { echo ERR; return; }
	per_call 0 "$(cat "$R/$1.$2.ir")" "$N"
}

alloc_per_call() {
	per_call 0 "$(cat "$R/$1.$2.alloc")" "$N"
}

# System calls per call; with a third argument, only that system call.
sys_per_call() {
	[ -e "$R/$1.$2.err" ] && { echo ERR; return; }
	local sum='{ if (name == "" ? $1 == "total" : $1 == name) n += $2 } END { print n + 0 }'
	per_call 0 "$(awk -v name="${3:-}" "$sum" "$R/$1.$2.sys")" "$SN"
}

# Difference of two one-decimal figures (or ERR).
minus() {
	case "$1$2" in *ERR*) echo ERR ;; *) awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f", a - b }' ;; esac
}

# Which system calls a configuration adds per call, e.g. "newfstatat +1.0".
extra_syscalls() {
	local cfg=$1 op=$2 names name d out=
	names=$(cat "$R/$cfg.$op.sys" "$R/none.$op.sys" | awk '$1 != "total" { print $1 }' | sort -u)
	for name in $names; do
		d=$(minus "$(sys_per_call "$cfg" "$op" "$name")" "$(sys_per_call none "$op" "$name")")
		case $d in +0.0 | -0.0) ;; *) out="$out $name $d" ;; esac
	done
	echo "${out# }"
}

# ------------------------------------------------------------ wall clock

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# A markdown table row separator for N columns.
separator() { printf '|'; printf -- '---|%.0s' $(seq "$1"); echo; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

run_times() {
	local round op cfg t
	for round in $(seq "$ROUNDS"); do
		for op in $OPS; do
			for cfg in $CONFIGS; do
				run_in "$cfg" "$HARNESS" "$op" "$TIME_ITERS" |
					field ns_per_op >>"$R/time.$cfg.$op"
			done
		done
		for cfg in $CONFIGS; do
			for t in 1 2; do
				run_in "$cfg" "$HARNESS" wfsync "$THREAD_ITERS" "$t" |
					field ops_per_s >"$R/threads.now.$t"
				cat "$R/threads.now.$t" >>"$R/threads.$cfg.$t"
			done
			# The two runs are back to back: their ratio cancels slow
			# drifts of the machine better than a ratio of medians.
			ratio "$(cat "$R/threads.now.2")" "$(cat "$R/threads.now.1")" \
				>>"$R/threads.$cfg.scaling"
			echo >>"$R/threads.$cfg.scaling"
		done
	done
}

# paired_ratio A B OP: median over the rounds of time(A) / time(B), both
# from the same round, which cancels the machine's slow drifts.
paired_ratio() {
	paste "$R/time.$1.$3" "$R/time.$2.$3" | awk '$2 > 0 { print $1 / $2 }' | median |
		awk '{ printf "%.2f", $1 }'
}

# ---------------------------------------------------------------- report

machine() {
	echo "- CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), nproc $(nproc)"
	echo "- kernel: $(uname -sr)"
	echo "- glibc: $(getconf GNU_LIBC_VERSION 2>/dev/null || ldd --version | head -1)"
	echo "- tools: $(valgrind --version), $(strace -V | head -1 | sed 's/ -- version//')"
	echo "- work folder: $(stat -f -c %T "$WORK") ($(dirname "$WORK"))"
	echo "- library: $LIB ($(git rev-parse --short HEAD 2>/dev/null || echo 'no commit')$(git diff --quiet HEAD 2>/dev/null || echo ', uncommitted changes'))"
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
}

report() {
	local cfg op row ir sys base t1 t2 bpf extra

	echo "## Configurations"
	echo
	echo "- **no preload**: the harness alone."
	echo "- **floor**: bench/floor.c, a pass-through interposer (dlsym(RTLD_NEXT) and call): what any LD_PRELOAD library pays."
	echo "- **stickysync**: \`LD_PRELOAD=$LIB\`, \`STICKYSYNC_STATE\` a fresh 0700 folder."
	echo "- **stickysync, $LATCHED latched**: the same with $LATCHED inodes of other files latched in that shared state folder (latched via ${POPULATED_BY:-n/a})."
	echo "- **libfiu**: \`fiu-run -x -f ''\` (POSIX preload, no failure point enabled). ${FIU_NOTE}"
	echo "- **stickysync, STICKYSYNC_XATTR=off**: the stickysync configuration without the latch recorded on the files: the difference is what reading the file's user.stickysync attribute costs (one fgetxattr at the first sync of each fd, none after)."
	echo
	echo "## User-space instructions per call (callgrind)"
	echo
	echo "Instructions counted in the harness loop, Ir($N iterations after a warm-up) / $N; each operation cycles through ${BENCH_FILES:-1024} files, so that a latch table lookup is measured for many inode numbers, not one. With other inodes latched, a sync uses the file's identity cached in the fd table (no system call after the first sync of an fd) and the latch table's Bloom filter (two bit tests for a file that is not latched); what remains is the cost of judging the sync. The no-preload column is absolute (loop plus libc's system call wrapper); the others are the instructions added to it. Target: with nothing latched."
	echo
	row="| op | no preload |"
	for cfg in $CONFIGS; do [ "$cfg" = none ] || row="$row + $(label "$cfg") |"; done
	echo "$row target |"
	separator $(($(echo $CONFIGS | wc -w) + 2))
	for op in $COUNT_OPS; do
		base=$(ir_per_call none "$op")
		row="| $op | $base |"
		for cfg in $CONFIGS; do
			[ "$cfg" = none ] || row="$row $(minus "$(ir_per_call "$cfg" "$op")" "$base") |"
		done
		echo "$row ≤ $(target_ir "$op") |"
	done
	echo
	echo "## System calls added per call (strace -f)"
	echo
	echo "The calls of the loop alone (between two marks the harness makes around it), over $SN iterations, per iteration; minus the same without a preload."
	echo
	row="| op | no preload |"
	for cfg in $CONFIGS; do [ "$cfg" = none ] || row="$row + $(label "$cfg") |"; done
	echo "$row target | which (stickysync) |"
	separator $(($(echo $CONFIGS | wc -w) + 3))
	for op in $COUNT_OPS; do
		base=$(sys_per_call none "$op")
		row="| $op | $base |"
		for cfg in $CONFIGS; do
			[ "$cfg" = none ] || row="$row $(minus "$(sys_per_call "$cfg" "$op")" "$base") |"
		done
		sys=
		for cfg in empty latched; do
			case " $CONFIGS " in *" $cfg "*) ;; *) continue ;; esac
			extra=$(extra_syscalls "$cfg" "$op")
			[ -n "$extra" ] && sys="${sys:+$sys; }$extra ($cfg)"
		done
		echo "$row +$(target_sys "$op") | ${sys:--} |"
	done
	echo
	echo "## Wall clock (median of $ROUNDS alternating runs, $TIME_ITERS calls each)"
	echo
	echo "ns per call without a preload (median), then each configuration as a ratio to no preload / to the floor (median over the rounds of the ratio within a round). A single system call on tmpfs costs a few hundred ns here, so differences of a few per cent are within the noise of a shared virtual machine; the counts above are the precise figures."
	echo
	row="| op | no preload (ns) |"
	for cfg in $CONFIGS; do [ "$cfg" = none ] || row="$row $(label "$cfg") |"; done
	echo "$row"
	separator $(($(echo $CONFIGS | wc -w) + 1))
	for op in $OPS; do
		base=$(median <"$R/time.none.$op")
		row="| $op | $(printf '%.0f' "$base") |"
		for cfg in $CONFIGS; do
			[ "$cfg" = none ] && continue
			row="$row $(paired_ratio "$cfg" none "$op") / $(paired_ratio "$cfg" floor "$op") |"
		done
		echo "$row"
	done
	echo
	echo "## Two threads, each writing 1 byte and fsyncing its own file"
	echo
	echo "Median throughput over $ROUNDS rounds ($THREAD_ITERS write+fsync pairs per thread). Scaling is the median over the rounds of 2-thread / 1-thread throughput, the two runs back to back: close to the no-preload figure means the library does not serialize the threads (this machine has $(nproc) CPUs). The futex column counts lock waits in a separate run under strace, $FUTEX_ITERS pairs per thread (a handful come from thread start and join; a lock around fsync shared by the threads gives hundreds)."
	echo
	echo "| configuration | 1 thread (pairs/s) | 2 threads (pairs/s) | scaling | futex calls per 1000 pairs, 2 threads under strace |"
	echo "|---|---|---|---|---|"
	for cfg in $CONFIGS; do
		t1=$(median <"$R/threads.$cfg.1")
		t2=$(median <"$R/threads.$cfg.2")
		echo "| $(label "$cfg") | $(printf '%.0f' "$t1") | $(printf '%.0f' "$t2") | $(printf "%.2f" "$(median <"$R/threads.$cfg.scaling")") | $(cat "$R/futex.$cfg") |"
	done
	echo
	echo "## Memory"
	echo
	echo "Bytes per tracked descriptor: growth of the resident set while one process opens $FDS descriptors of one file (each its own open file description), divided by $FDS, minus the same without a preload. The shared state file is mapped by every process using the folder; only the pages it touches are resident. Heap allocations per call: calls to malloc, calloc, realloc and the aligned allocators inside the measured loop (callgrind), divided by its $N iterations; mmap would appear among the system calls above."
	echo
	row="| |"
	for cfg in $CONFIGS; do row="$row $(label "$cfg") |"; done
	echo "$row"
	separator $(($(echo $CONFIGS | wc -w) + 1))
	row="| bytes per fd (RSS) |"
	base=$(cat "$R/fds.none")
	for cfg in $CONFIGS; do
		bpf=$(cat "$R/fds.$cfg")
		[ "$cfg" = none ] && row="$row $bpf |" || row="$row +$(awk -v a="$bpf" -v b="$base" 'BEGIN { printf "%.1f", a - b }') |"
	done
	echo "$row"
	if [ -f "$LIB" ]; then
		echo "| shared state file (latches), bytes | - | - | $(stat -c %s "$WORK/state-empty/latches" 2>/dev/null || echo -) | $(stat -c %s "$WORK/state-latched/latches" 2>/dev/null || echo -) |$(case " $CONFIGS " in *" fiu "*) echo " - |" ;; esac)$(case " $CONFIGS " in *" noxattr "*) echo " $(stat -c %s "$WORK/state-noxattr/latches" 2>/dev/null || echo -) |" ;; esac)"
	fi
	for op in $COUNT_OPS; do
		row="| allocations per $op |"
		for cfg in $CONFIGS; do row="$row $(alloc_per_call "$cfg" "$op") |"; done
		echo "$row"
	done
}

# A lock shared by the two threads shows up as futex calls, most of all under
# strace, which stops each thread at every system call and so stretches the
# time a lock is held.  Not a timing, so less noisy than the throughput.
run_thread_futex() {
	local cfg
	for cfg in $CONFIGS; do
		strace_count "$cfg" "$R/futex.$cfg.st" "$HARNESS" wfsync "$FUTEX_ITERS" 2 >/dev/null 2>&1
		awk -v pairs=$((2 * FUTEX_ITERS)) '$1 == "futex" { n = $2 }
			END { printf "%.2f", 1000 * n / pairs }' "$R/futex.$cfg.st" >"$R/futex.$cfg"
	done
}

run_fds() {
	local cfg
	for cfg in $CONFIGS; do
		run_in "$cfg" "$HARNESS" fds "$FDS" | field bytes_per_fd >"$R/fds.$cfg"
	done
}

# ----------------------------------------------------------------- check

PASSED=0
FAILED=0
verdict() { # verdict OK|FAIL message
	if [ "$1" = OK ]; then
		PASSED=$((PASSED + 1))
		echo "PASS: $2"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL: $2"
	fi
}
# le A B: A <= B (A may be ERR, which fails)
le() { [ "$1" != ERR ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b + 1e-9) }'; }

check() {
	local cfg op ir sys alloc base_ir base_sys what v
	for op in $COUNT_OPS; do
		base_ir=$(ir_per_call none "$op")
		base_sys=$(sys_per_call none "$op")
		for cfg in empty latched; do
			what="$op ($(label "$cfg"))"
			ir=$(minus "$(ir_per_call "$cfg" "$op")" "$base_ir")
			sys=$(minus "$(sys_per_call "$cfg" "$op")" "$base_sys")
			alloc=$(alloc_per_call "$cfg" "$op")
			le "$ir" "$(target_ir "$op")" && v=OK || v=FAIL
			verdict $v "$what: $ir instructions per call (target <= $(target_ir "$op"))"
			le "$sys" "$(target_sys "$op")" && v=OK || v=FAIL
			verdict $v "$what: $sys system calls per call (target <= $(target_sys "$op"))$(
				[ $v = OK ] || echo ": $(extra_syscalls "$cfg" "$op")")"
			le "$alloc" 0 && v=OK || v=FAIL
			verdict $v "$what: $alloc heap allocations per call (target 0)"
		done
		# Not a target of its own ("unchanged" means the targets above
		# still hold), but the figure to watch.
		echo "info: $op: $(minus "$(ir_per_call latched "$op")" "$(ir_per_call empty "$op")") instructions per call with $LATCHED latched vs empty"
	done
	[ -n "$RING_OPS" ] && check_ring
}

# The ring's costs split up: per submit, per SQE, per reap call, per sync
# SQE, from the loops (each figure: added instructions, nothing latched).
ring_added() { minus "$(ir_per_call "${2:-empty}" "$1")" "$(ir_per_call none "$1")"; }
ring_split() {
	local nop1 nop32 reap fsync1 sqe
	nop1=$(ring_added ring_nop1 "$1")
	nop32=$(ring_added ring_nop32 "$1")
	reap=$(ring_added ring_reap "$1")
	fsync1=$(ring_added ring_fsync1 "$1")
	case "$nop1$nop32$reap$fsync1" in *ERR*) echo "ERR ERR ERR ERR"; return ;; esac
	sqe=$(awk -v a="$nop1" -v b="$nop32" 'BEGIN { printf "%.1f", (b - a) / 31 }')
	awk -v a="$nop1" -v q="$sqe" -v r="$reap" -v f="$fsync1" \
		'BEGIN { printf "%.1f %.1f %.1f %.1f\n", a - q, q, r - a, f - a }'
}

check_ring() {
	local cfg submit sqe reap sync v
	for cfg in empty latched; do
		read -r submit sqe reap sync <<<"$(ring_split "$cfg")"
		le "$submit" 150 && v=OK || v=FAIL
		verdict $v "io_uring ($(label "$cfg")): $submit instructions per submit (target <= 150)"
		le "$sqe" 15 && v=OK || v=FAIL
		verdict $v "io_uring ($(label "$cfg")): $sqe instructions per SQE (target <= 15)"
		le "$reap" 150 && v=OK || v=FAIL
		verdict $v "io_uring ($(label "$cfg")): $reap instructions per reap call (target <= 150)"
		le "$sync" 600 && v=OK || v=FAIL
		verdict $v "io_uring ($(label "$cfg")): $sync instructions per sync SQE (target <= 600)"
	done
}

ring_report() {
	local cfg submit sqe reap sync
	echo "## io_uring through liburing"
	echo
	echo "From the ring loops above (bench/uring.c): per submit and per SQE from 1 and 32 NOPs per submit (reaped inline, without a library call), per reap call from \`io_uring_peek_batch_cqe\`, per sync SQE from one \`IORING_OP_FSYNC\` per submit (noted at submission, found again among the completions; the fd's identity is cached, so no system call). Targets with nothing latched: ≤ 150 per submit, ≤ 15 per SQE, and no system call and no lock shared between rings on a submission without syncs; and ≤ 150 per reap call, ≤ 600 per sync SQE. The ring loops wait inside the submit call (\`io_uring_submit_and_wait\`), so that the number of calls into liburing, and the counts, do not depend on how fast the kernel completes."
	echo
	echo "| configuration | per submit | per SQE | per reap call | per sync SQE |"
	echo "|---|---|---|---|---|"
	for cfg in empty latched; do
		read -r submit sqe reap sync <<<"$(ring_split "$cfg")"
		echo "| $(label "$cfg") | $submit | $sqe | $reap | $sync |"
	done
}

# The design targets at a glance: the checks of `check`, as one table.
targets() {
	local op cfg v row missed what
	echo "## Design targets (added per call, relative to no preload)"
	echo
	echo "The same deterministic checks as \`make check-counts\`; \"latched\" has $LATCHED inodes of other files latched."
	echo
	echo "| op | instructions: target | stickysync | latched | system calls: target | stickysync | latched | heap allocations | verdict |"
	separator 9
	for op in $COUNT_OPS; do
		row="| $op |"
		missed=
		for what in instructions syscalls allocations; do
			case $what in
			instructions) row="$row ≤ $(target_ir "$op") |" ;;
			syscalls) row="$row ≤ $(target_sys "$op") |" ;;
			esac
			for cfg in empty latched; do
				case $what in
				instructions) v=$(minus "$(ir_per_call "$cfg" "$op")" "$(ir_per_call none "$op")")
					le "$v" "$(target_ir "$op")" ;;
				syscalls) v=$(minus "$(sys_per_call "$cfg" "$op")" "$(sys_per_call none "$op")")
					le "$v" "$(target_sys "$op")" ;;
				allocations) v=$(alloc_per_call "$cfg" "$op")
					le "$v" 0 ;;
				esac || missed="${missed:+$missed, }$what (${cfg/empty/stickysync})"
				# One allocations column: the larger of the two.
				[ "$what" = allocations ] && [ "$cfg" = empty ] && continue
				[ "$what" = allocations ] && v=$(printf '%s\n%s\n' "$v" "$(alloc_per_call empty "$op")" | sort -g | tail -1)
				row="$row $v |"
			done
		done
		echo "$row ${missed:+**missed**: }${missed:-met} |"
	done
}

# ------------------------------------------------------------------ main

# Where the instructions of one operation go, per call in the steady state:
# a callgrind profile of N iterations of the loop after the warm-up, each
# function's count divided by N.
profile() {
	local op=$1 cfg=$2 incl

	[ "$cfg" = latched ] && populate
	run_in "$cfg" valgrind --tool=callgrind --toggle-collect=bench_loop \
		--callgrind-out-file="$R/profile.cg" "$(harness_for "$op")" "$op" "$N" \
		>"$R/profile.out" 2>&1 || { cat "$R/profile.out" >&2; die "harness failed"; }
	for incl in yes no; do
		echo "== $op, $(label "$cfg"): instructions per call by function (inclusive=$incl)"
		callgrind_annotate --auto=no --show-percs=no --inclusive=$incl "$R/profile.cg" |
			awk -v n="$N" '
			/file:function/ { on = 1; next }
			on && $1 ~ /^[0-9,]+$/ {
				v = $1; gsub(",", "", v); sub(/^ *[0-9,]+ +/, "")
				f[$0] += v
			}
			END { for (k in f) if (f[k] / n >= 0.5) printf "%10.1f  %s\n", f[k] / n, k }' |
			sort -rn | head -25
	done
}

case $MODE in
profile)
	# bench.sh profile OP [none|floor|empty|latched|fiu]
	profile "${2:?usage: bench.sh profile OP [CONFIG]}" "${3:-empty}"
	;;
check)
	missing=
	for tool in valgrind strace; do have $tool || missing="$missing $tool"; done
	[ -f "$LIB" ] || missing="$missing $LIB"
	if [ -n "$missing" ]; then
		echo "SKIP: bench-counts needs$missing"
		echo "bench-counts: 0 passed, 0 failed"
		exit 0
	fi
	populate
	echo "info: $LATCHED other inodes latched through $POPULATED_BY"
	run_counts
	run_startup
	check
	check_startup
	echo "bench-counts: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	;;
report)
	have valgrind || die "valgrind is needed"
	have strace || die "strace is needed"
	case " $CONFIGS " in *" latched "*) populate ;; esac
	echo "bench: counting instructions and system calls ($CONFIGS)..." >&2
	run_counts
	[ -f "$LIB" ] && run_startup
	echo "bench: timing, $ROUNDS rounds..." >&2
	run_times
	run_thread_futex
	run_fds
	{
		echo "# stickysync performance"
		echo
		echo "Generated by \`make bench\` (bench/bench.sh report); reproduce with \`make bench\` at the top of the tree."
		echo
		machine
		echo
		if [ -f "$LIB" ]; then
			targets
			echo
			startup_report
			echo
		fi
		report
		if [ -n "$RING_OPS" ] && [ -f "$LIB" ]; then
			echo
			ring_report
		fi
		# The supervisor, for programs the library cannot reach.
		if [ -x "${CLI:-}" ] && [ -x "${SEQ:-}" ]; then
			echo
			CLI=$CLI SEQ=$SEQ ROUNDS=$ROUNDS "$(dirname "$0")/supervise.sh"
		fi
	} >"$R/report.md"
	cat "$R/report.md"
	if [ -n "$OUT" ]; then
		mkdir -p "$(dirname "$OUT")" && cp "$R/report.md" "$OUT"
		echo "bench: written to $OUT" >&2
	fi
	;;
*)
	die "usage: bench.sh report|check|profile OP [CONFIG]"
	;;
esac
