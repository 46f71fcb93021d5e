# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# Benchmarks; included by the top Makefile, which provides BUILD, CC and LIB.
#
#   make bench          measure, print the tables, write docs/PERFORMANCE.md
#   make check-counts   instruction / system call / allocation counts against
#                       the design targets (deterministic; no timing)
#
# Knobs (environment or make variables): BENCH_ROUNDS, BENCH_TIME_ITERS,
# BENCH_JOBS (programs counted side by side; default one per CPU),
# BENCH_OUT (default docs/PERFORMANCE.md; empty to only print).

BUILD ?= build
CC ?= cc
LIB ?= $(BUILD)/libstickysync.so

BENCH_BUILD := $(BUILD)/bench
BENCH_OUT ?= docs/PERFORMANCE.md
BENCH_ROUNDS ?= 7
BENCH_TIME_ITERS ?= 100000

# The harness and helpers get fixed flags of their own rather than the
# library's CFLAGS: a sanitizer or -O0 debug build of the library must not
# change what the baseline loop costs.  -U_FILE_OFFSET_BITS lets the
# interposers define both open and open64.
BENCH_CFLAGS ?= -O2 -g -std=gnu11 -Wall -Wextra
BENCH_SO_CFLAGS = $(BENCH_CFLAGS) -fPIC -shared -fvisibility=hidden -U_FILE_OFFSET_BITS

BENCH_PROGS := $(BENCH_BUILD)/harness $(BENCH_BUILD)/populate \
	$(BENCH_BUILD)/floor.so $(BENCH_BUILD)/failfsync.so $(BENCH_BUILD)/uring

# Q and say (quiet unless V=1) come from the top Makefile; used alone,
# this file is simply verbose.
$(BENCH_BUILD)/harness: bench/harness.c bench/loop_mark.h | $(BENCH_BUILD)
	$(call say,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) -o $@ $< -pthread

# The io_uring loops need liburing-dev; without it they are left out.
$(BENCH_BUILD)/uring: bench/uring.c bench/loop_mark.h | $(BENCH_BUILD) bench-deps
	$(Q)if printf '#include <liburing.h>\n' | $(CC) -E -x c - >/dev/null 2>&1; then \
		$(CC) $(BENCH_CFLAGS) -o $@ $< -luring; \
	else echo "bench: liburing.h not found (liburing-dev): the io_uring loops are left out"; fi

$(BENCH_BUILD)/populate: bench/populate.c include/stickysync.h | $(BENCH_BUILD)
	$(call say,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) -Iinclude -o $@ $< -ldl

$(BENCH_BUILD)/%.so: bench/%.c | $(BENCH_BUILD)
	$(call say,CC,$@)
	$(Q)$(CC) $(BENCH_SO_CFLAGS) -o $@ $< -ldl

$(BENCH_BUILD):
	$(Q)mkdir -p $@

# Programs measured side by side by the counts (default: one per CPU).
BENCH_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
BENCH_ENV = BENCH_BIN=$(BENCH_BUILD) LIB=$(LIB) OUT=$(BENCH_OUT) JOBS=$(BENCH_JOBS) \
	ROUNDS=$(BENCH_ROUNDS) TIME_ITERS=$(BENCH_TIME_ITERS) \
	CLI=$(CLI) SEQ=$(TEST_BUILD)/syncseq

.PHONY: bench check-counts bench-progs bench-deps bench-supervise
bench-progs: $(BENCH_PROGS)

# valgrind and strace measure; fiu-utils is the reference.  As root they are
# installed; otherwise the apt-get line is printed and what cannot be
# measured says SKIP.
BENCH_PKGS := valgrind strace fiu-utils liburing-dev
bench-deps:
	@[ ! -x scripts/need-packages ] || scripts/need-packages $(BENCH_PKGS) || \
		echo "bench: packages missing; what needs them is skipped"

bench: bench-deps $(LIB) $(CLI) $(TEST_BUILD)/syncseq $(BENCH_PROGS)
	$(BENCH_ENV) bench/bench.sh report

# The supervisor's section alone (bench.sh report includes it).
bench-supervise: bench-deps $(CLI) $(TEST_BUILD)/syncseq
	$(Q)CLI=$(CLI) SEQ=$(TEST_BUILD)/syncseq ROUNDS=$(BENCH_ROUNDS) bench/supervise.sh

check-counts: bench-deps $(LIB) $(BENCH_PROGS)
	$(BENCH_ENV) bench/bench.sh check
