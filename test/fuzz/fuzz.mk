# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# Fuzz targets (libFuzzer, Debian's clang) for every parser: STICKYSYNC_INJECT
# rules, configuration values, the state file, the command's ELF and #!
# reader and its options, /proc/self/maps lines, the latch attribute on
# files.  Included by the top Makefile, which defines BUILD, CORE_SRCS,
# CLI_SRCS, WARN, Q and say.
#
#   make fuzz FUZZ_S=N   each target N seconds (default 60), growing a corpus
#                        in $(BUILD)/fuzz/corpus/TARGET from the seeds in
#                        test/fuzz/corpus/TARGET
#   make check-fuzz      each target FUZZ_CHECK_S seconds, then the
#                        reproducers in test/fuzz/crashes/; for make check.
#                        Default 2: from the seeds alone, 2 s reach all but
#                        a few coverage points of 5 s (table 476 of 482,
#                        args 189 of 194, inject and coverage all), and the
#                        corpus in $(BUILD)/fuzz/corpus carries on from one
#                        run to the next; make fuzz is for going further
#
# FUZZ_JOBS targets run at a time (default 2); FUZZ_TARGETS picks some.  A
# crash, a sanitizer report, a leak, a timeout or a broken check fails, and
# the input is kept in $(BUILD)/fuzz/artifacts/.

FUZZ_CC      ?= clang
FUZZ_PKGS    := clang libclang-rt-dev llvm
FUZZ_S       ?= 60
FUZZ_CHECK_S ?= 2
FUZZ_JOBS    ?= 2
FUZZ_TARGETS ?= inject config table coverage args procmaps attr
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
# Every object is instrumented for coverage and built with the sanitizers;
# only the targets link libFuzzer's main.
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -std=gnu11 $(WARN) -Iinclude -Isrc -Isrc/cli \
                -MMD -MP -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fsanitize=fuzzer-no-link
FUZZ_CORE_OBJS := $(CORE_SRCS:src/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_CLI_OBJS  := $(CLI_SRCS:src/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_RUN = test/fuzz/run.sh --jobs $(FUZZ_JOBS)

.PHONY: fuzz check-fuzz fuzz-deps fuzz-build
fuzz-deps:
	$(Q)scripts/need-packages $(FUZZ_PKGS)

# The core modules as the library builds them.
$(FUZZ_BUILD)/obj/%.o: src/%.c | fuzz-deps
	$(call say,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -U_FILE_OFFSET_BITS -c -o $@ $<

# The command's files as the command builds them; its main gives way to
# libFuzzer's.
$(FUZZ_BUILD)/obj/cli/%.o: src/cli/%.c | fuzz-deps
	$(call say,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -D_GNU_SOURCE $(FUZZ_MAIN) -c -o $@ $<
$(FUZZ_BUILD)/obj/cli/stickysync.o: FUZZ_MAIN := -Dmain=stickysync_main -Wno-missing-prototypes

$(FUZZ_BUILD)/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_CORE_OBJS) $(FUZZ_CLI_OBJS)
	$(call say,LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -D_GNU_SOURCE -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_CORE_OBJS) $(FUZZ_CLI_OBJS) -lpthread

fuzz-build: $(FUZZ_CORE_OBJS) $(FUZZ_CLI_OBJS) $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)$(FUZZ_RUN) --seconds $(FUZZ_S) $(FUZZ_BUILD) $(FUZZ_TARGETS)

check-fuzz: fuzz-build
	$(Q)$(FUZZ_RUN) --seconds $(FUZZ_CHECK_S) --regressions $(FUZZ_BUILD) $(FUZZ_TARGETS)

-include $(wildcard $(FUZZ_BUILD)/*.d $(FUZZ_BUILD)/obj/*.d $(FUZZ_BUILD)/obj/*/*.d)
