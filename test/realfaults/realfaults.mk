# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# Real-fault tests: thin-provisioned loop filesystems, the real kernel, real
# programs (see docs/REALFAULTS.md).  Included by the top Makefile, which
# defines BUILD, CC, CFLAGS, LIB and CLI; the defaults below only serve
# `make -f test/realfaults/realfaults.mk`.
#
#   make realfaults         run everything, print the table, write docs/REALFAULTS.md
#   make check-realfaults   the same checks for `make check`; the table goes to
#                           $(BUILD)/realfaults/REALFAULTS.md and docs/ is left alone
#
# Needs root and loop devices; without them every scenario reports SKIP.
# RF_FS selects filesystems (default: ext4 xfs btrfs), RF_ONLY a comma
# separated list of scenarios (seed,fds,...,failstop,sqlite-wal,...,postgres-retry).

BUILD ?= build
CC ?= cc
CFLAGS ?= -O2 -g -Wall -Wextra
LIB ?= $(BUILD)/libstickysync.so
CLI ?= $(BUILD)/stickysync

# Debian packages providing the fixture's and the scenarios' tools.
RF_PKGS := util-linux procps e2fsprogs xfsprogs btrfs-progs attr qemu-utils sqlite3 redis-server \
	lmdb-utils liblmdb-dev python3-lmdb postgresql liburing-dev qemu-system-x86 busybox-static \
	golang-go

RF_SRC := test/realfaults
RF_OUT := $(BUILD)/realfaults
RF_PROGRAMS := seed fds sync487 dsync msync syncfs ack rf_op lmdb
RF_BINS := $(addprefix $(RF_OUT)/,$(RF_PROGRAMS)) $(RF_OUT)/uringprobe $(RF_OUT)/guest/init
# The programs reach the public API through include/stickysync.h, which
# resolves it with dlsym: nothing of the shim is linked in, so the same
# binaries run with and without it.
RF_CFLAGS := $(CFLAGS) -std=gnu11 -Iinclude -I$(RF_SRC)
RF_FS ?= ext4 xfs btrfs
RF_ONLY ?=
RF_Q := $(if $(V),,@)
rf_say = $(if $(V),@true,@printf '  %-6s %s\n' $(1) $(2))

RF_RUN = $(RF_SRC)/run.sh --bin $(RF_OUT) --lib $(LIB) --cli $(CLI) \
	--fs "$(RF_FS)" $(if $(RF_ONLY),--only $(RF_ONLY))

# GlusterFS: the 2016 setup itself (gluster.sh; one glusterd per machine,
# so never in parallel with another run of it).
GLUSTER_PKGS := glusterfs-server glusterfs-client attr qemu-utils

.PHONY: realfaults check-realfaults realfaults-programs realfaults-deps check-gluster

realfaults-programs: $(RF_BINS)

# Missing tools are not fatal: their scenarios say SKIP.
realfaults-deps:
	$(RF_Q)[ ! -x scripts/need-packages ] || scripts/need-packages $(RF_PKGS) || \
		echo "realfaults: packages missing; their scenarios will be skipped"

$(RF_OUT)/rf.o: $(RF_SRC)/rf.c $(RF_SRC)/rf.h
	$(call rf_say,CC,$<)
	$(RF_Q)mkdir -p $(RF_OUT)
	$(RF_Q)$(CC) $(RF_CFLAGS) -c -o $@ $<

$(RF_OUT)/%: $(RF_SRC)/%.c $(RF_OUT)/rf.o $(RF_SRC)/rf.h include/stickysync.h
	$(call rf_say,CC,$<)
	$(RF_Q)$(CC) $(RF_CFLAGS) -o $@ $< $(RF_OUT)/rf.o -ldl

# The LMDB writer needs liblmdb-dev, which is looked for when the rule runs
# (after realfaults-deps may have installed it).  Without it the program is
# not built and the lmdb scenario says SKIP.
$(RF_OUT)/lmdb: $(RF_SRC)/lmdb.c $(RF_OUT)/rf.o $(RF_SRC)/rf.h | realfaults-deps
	$(RF_Q)if printf '#include <lmdb.h>\n' | $(CC) -E -x c - >/dev/null 2>&1; then \
		$(if $(V),,printf '  %-6s %s\n' CC $<;) \
		$(CC) $(RF_CFLAGS) -o $@ $< $(RF_OUT)/rf.o -llmdb; \
	else \
		echo "realfaults: lmdb.h not found (liblmdb-dev): the lmdb scenario will be skipped"; \
	fi

# The io_uring program (test/helpers) needs liburing-dev, looked for as for
# LMDB: without it the uring scenario says SKIP.
$(RF_OUT)/uringprobe: test/helpers/uringprobe.c | realfaults-deps
	$(RF_Q)mkdir -p $(RF_OUT)
	$(RF_Q)if printf '#include <liburing.h>\n' | $(CC) -E -x c - >/dev/null 2>&1; then \
		$(if $(V),,printf '  %-6s %s\n' CC $<;) \
		$(CC) $(RF_CFLAGS) -o $@ $< -luring; \
	else \
		echo "realfaults: liburing.h not found (liburing-dev): the uring scenario will be skipped"; \
	fi

# The qemu-guest scenario's init (static: it is the guest's only program).
# Its kernel and initramfs are made when the scenario first runs
# (guest/make-guest.sh).
$(RF_OUT)/guest/init: $(RF_SRC)/guest/init.c
	$(call rf_say,CC,$<)
	$(RF_Q)mkdir -p $(dir $@)
	$(RF_Q)$(CC) $(CFLAGS) -std=gnu11 -static -o $@ $< || \
		echo "realfaults: no static libc: the qemu-guest scenario will be skipped"

# The supervised programs: syncseq (static C, test.mk) and gosync (Go, built
# by the scenario).
RF_SUPERVISED := $(BUILD)/test/syncseq

realfaults: realfaults-deps $(RF_BINS) $(LIB) $(CLI) $(RF_SUPERVISED)
	$(RF_Q)$(RF_RUN) --doc docs/REALFAULTS.md

check-realfaults: realfaults-deps $(RF_BINS) $(LIB) $(CLI) $(RF_SUPERVISED)
	$(RF_Q)$(RF_RUN) --doc $(RF_OUT)/REALFAULTS.md

check-gluster: $(RF_BINS) $(LIB) $(CLI)
	$(RF_Q)[ ! -x scripts/need-packages ] || scripts/need-packages $(GLUSTER_PKGS) || \
		echo "gluster: packages missing; its scenarios will be skipped"
	$(RF_Q)$(RF_SRC)/gluster.sh --bin $(RF_OUT) --lib $(LIB) --cli $(CLI)
