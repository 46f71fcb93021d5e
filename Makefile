# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
# stickysync: make | make demo | make check | make bench | make fuzz | make install
# V=1 shows full commands.

VERSION   := 0.1.0
BUILD     ?= build
CC        ?= cc
PREFIX    ?= /usr/local
LIBDIR    ?= $(PREFIX)/lib
BINDIR    ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
MANDIR    ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# The command also looks for the library in the prefix's multiarch folder
# (PREFIX/lib/x86_64-linux-gnu), where distributions put preload libraries.
MULTIARCH ?= $(shell $(CC) -print-multiarch 2>/dev/null)
MULTIARCH_LIBDIR := $(if $(MULTIARCH),$(PREFIX)/lib/$(MULTIARCH))
# make install into the root filesystem (no DESTDIR), as root, refreshes the
# loader's cache, so that LD_PRELOAD=libstickysync.so works by bare name.
LDCONFIG  ?= ldconfig

OPT       ?= -O2 -g
WARN      := -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
             -Wmissing-prototypes -Wno-unused-parameter -Werror=implicit-function-declaration
CFLAGS    ?= $(OPT) $(WARN)
# CPPFLAGS, CFLAGS and LDFLAGS are the builder's (a distribution's hardening
# flags); what the code needs comes after them, so that it wins.
# Wrappers define open and open64 side by side: no _FILE_OFFSET_BITS here,
# and so no _TIME_BITS (glibc allows it only with _FILE_OFFSET_BITS=64).
LIB_CFLAGS := $(CPPFLAGS) $(CFLAGS) -std=gnu11 -fPIC -fvisibility=hidden -ftls-model=initial-exec \
              -U_FILE_OFFSET_BITS -U_TIME_BITS -Iinclude -Isrc -MMD -MP
LIB       := $(BUILD)/libstickysync.so
CLI       := $(BUILD)/stickysync

ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

# Core modules: no dlsym, no LD_PRELOAD assumptions; unit tests link them.
CORE_SRCS := src/identity.c src/clock.c src/latchtime.c src/attr.c src/latchtab.c src/fdtable.c src/config.c src/log.c \
             src/state.c src/runtime.c src/record.c src/judge.c src/onfile.c src/ack.c src/procmaps.c src/inject.c src/arena.c src/undo_lock.c src/undo.c src/gate.c \
             src/inflight.c src/ring.c src/ring_table.c src/ring_probe.c src/ring_unseen.c src/aio.c
WRAP_SRCS := src/real.c src/fallback.c src/wrap_open.c src/wrap_fd.c src/wrap_write.c src/wrap_sync.c \
             src/wrap_process.c src/wrap_ring.c src/wrap_aio.c \
             src/api.c
CLI_SRCS  := src/cli/stickysync.c src/cli/run.c src/cli/coverage.c src/cli/records.c src/cli/status.c \
             src/cli/rings.c \
             src/cli/supervise.c src/cli/supervise_sync.c src/cli/supervise_target.c \
             src/cli/supervise_witness.c src/cli/supervise_lose.c

CORE_OBJS := $(CORE_SRCS:src/%.c=$(BUILD)/obj/%.o)
WRAP_OBJS := $(WRAP_SRCS:src/%.c=$(BUILD)/obj/%.o)

BUILD_PKGS := gcc make libc6-dev uthash-dev
CHECK_PKGS := check pkg-config liburing-dev libaio-dev

.PHONY: FORCE all deps demo check check-unit check-integration check-asan bench install \
        uninstall clean format
all: deps $(LIB) $(CLI)

# As root, installs what is missing, for a developer; never with NO_DEPS=1
# or inside a package build (see the script).
deps:
	$(Q)scripts/need-packages $(BUILD_PKGS)

$(BUILD)/obj/%.o: src/%.c | deps
	$(call say,CC,$<)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LIB_CFLAGS) -c -o $@ $<

# The export list comes from the one list of interposed symbols.
$(BUILD)/exports.txt: src/symbols.def
	$(Q)mkdir -p $(BUILD)
	$(Q)sed -n 's/^SYM(\([A-Za-z0-9_]*\),.*/\1/p' $< > $@
	$(Q)printf '%s\n' stickysync_acknowledge stickysync_status >> $@

$(BUILD)/libstickysync.map: $(BUILD)/exports.txt
	$(Q){ echo '{ global:'; sed 's/.*/  &;/' $<; echo 'local: *; };'; } > $@

# The library binds its imports lazily (-z lazy wins over a builder's -z now):
# bound at load, its 60-odd imports cost every process that starts under it
# about 34,000 instructions, twice all the rest of its start-up, for no gain
# in protection: the pointers to the real functions it calls on every
# wrapped call must stay writable anyway (resolved at first use, real.h).
# The rest of RELRO stays.  The command keeps the builder's flags.
$(LIB): $(CORE_OBJS) $(WRAP_OBJS) $(BUILD)/libstickysync.map
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -shared -o $@ $(CORE_OBJS) $(WRAP_OBJS) \
		-Wl,--version-script=$(BUILD)/libstickysync.map -Wl,-z,lazy -Wl,-z,relro \
		-Wl,-soname,libstickysync.so -ldl -lpthread

# The command has the library's folders built in: rebuild it when they change.
$(BUILD)/libdir.stamp: FORCE
	$(Q)mkdir -p $(BUILD)
	$(Q)echo '$(MULTIARCH_LIBDIR) $(LIBDIR)' | cmp -s - $@ || echo '$(MULTIARCH_LIBDIR) $(LIBDIR)' > $@

$(CLI): $(CLI_SRCS) $(wildcard src/cli/*.h src/*.h) $(CORE_OBJS) $(BUILD)/libdir.stamp
	$(call say,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc \
		-DSTICKYSYNC_VERSION='"$(VERSION)"' -DLIBDIR='"$(LIBDIR)"' \
		-DMULTIARCH_LIBDIR='"$(MULTIARCH_LIBDIR)"' \
		$(LDFLAGS) -o $@ $(CLI_SRCS) $(CORE_OBJS) -lpthread

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/*/*.d)

include test/test.mk
include test/torture/torture.mk
include test/fuzz/fuzz.mk
-include test/realfaults/realfaults.mk
-include bench/bench.mk

$(BUILD)/losedata: examples/losedata.c
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

demo: all $(BUILD)/losedata
	$(Q)bash examples/demo.sh $(BUILD)

# The library is 0644: it is preloaded or dlopened, never run.  ldconfig runs
# for an install into the root filesystem, as root (not with DESTDIR, where
# a package manager's trigger does it on the target).
install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 $(LIB) $(DESTDIR)$(LIBDIR)/libstickysync.so
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/stickysync
	install -m 0644 include/stickysync.h $(DESTDIR)$(INCLUDEDIR)/stickysync.h
	install -m 0644 man/stickysync.1 $(DESTDIR)$(MANDIR)/man1/stickysync.1
	install -m 0644 man/libstickysync.7 $(DESTDIR)$(MANDIR)/man7/libstickysync.7
	install -m 0644 completion/stickysync.bash $(DESTDIR)$(BASHCOMPDIR)/stickysync
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' \
		stickysync.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/stickysync.pc
	$(Q)$(run-ldconfig)

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libstickysync.so $(DESTDIR)$(BINDIR)/stickysync \
		$(DESTDIR)$(INCLUDEDIR)/stickysync.h $(DESTDIR)$(MANDIR)/man1/stickysync.1 \
		$(DESTDIR)$(MANDIR)/man7/libstickysync.7 $(DESTDIR)$(PKGCONFIGDIR)/stickysync.pc \
		$(DESTDIR)$(BASHCOMPDIR)/stickysync
	$(Q)$(run-ldconfig)

define run-ldconfig
if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then echo '$(LDCONFIG)'; $(LDCONFIG); fi
endef

format:
	clang-format -i src/*.c src/*.h src/cli/*.c include/*.h test/unit/*.c test/helpers/*.c

clean:
	rm -rf $(BUILD)
