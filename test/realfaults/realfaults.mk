# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Real-fault tests: thin-provisioned loop filesystems, the real kernel, real
# programs.  Included by the top Makefile, which defines BUILD, CC, CFLAGS,
# LIB and CLI; the defaults below only serve `make -f test/realfaults/realfaults.mk`.
#
#   make realfaults         run everything, print the table, write docs/REALFAULTS.md
#   make check-realfaults   the same run for `make check`; the table goes to
#                           $(BUILD)/realfaults/REALFAULTS.md, docs/ is left alone
#
# Needs root and loop devices; without them every scenario reports SKIP.
# RF_FS selects filesystems (default: ext4 xfs btrfs), RF_ONLY a comma
# separated list of scenarios.

BUILD ?= build
CC ?= cc
CFLAGS ?= -O2 -g -Wall -Wextra
LIB ?= $(BUILD)/libstickysync.so
CLI ?= $(BUILD)/stickysync

RF_SRC := test/realfaults
RF_OUT := $(BUILD)/realfaults
RF_PROGRAMS := seed fds sync487 dsync msync syncfs ack rf_op
RF_BINS := $(addprefix $(RF_OUT)/,$(RF_PROGRAMS))
# The scenario programs call the public API through include/stickysync.h,
# which resolves it with dlsym: nothing of the shim is linked in.
RF_CFLAGS := $(CFLAGS) -Iinclude -I$(RF_SRC)
RF_FS ?= ext4 xfs btrfs
RF_ONLY ?=
RF_Q := $(if $(V),,@)

RF_RUN = $(RF_SRC)/run.sh --bin $(RF_OUT) --lib $(LIB) --cli $(CLI) \
	--fs "$(RF_FS)" $(if $(RF_ONLY),--only $(RF_ONLY))

.PHONY: realfaults check-realfaults realfaults-programs

realfaults-programs: $(RF_BINS)

$(RF_OUT):
	$(RF_Q)mkdir -p $@

$(RF_OUT)/rf.o: $(RF_SRC)/rf.c $(RF_SRC)/rf.h | $(RF_OUT)
	$(if $(V),,@echo "  CC      $@")
	$(RF_Q)$(CC) $(RF_CFLAGS) -c -o $@ $<

$(RF_OUT)/%: $(RF_SRC)/%.c $(RF_OUT)/rf.o $(RF_SRC)/rf.h include/stickysync.h | $(RF_OUT)
	$(if $(V),,@echo "  CCLD    $@")
	$(RF_Q)$(CC) $(RF_CFLAGS) -o $@ $< $(RF_OUT)/rf.o -ldl

realfaults: $(RF_BINS) $(LIB)
	$(RF_Q)$(RF_RUN) --doc docs/REALFAULTS.md

check-realfaults: $(RF_BINS) $(LIB)
	$(RF_Q)$(RF_RUN) --doc $(RF_OUT)/REALFAULTS.md
