# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
#
# Torture suites (issue 8); included by the top Makefile, which provides
# BUILD, CC, CFLAGS, LDFLAGS, CORE_SRCS, Q and say.
#
#   make check-torture   kill-mid-update of the shared latch table (killtable),
#                        and 8 threads against the fsync model (threads)
#   make check-tsan      the library and the threads harness built with
#                        -fsanitize=thread, run together: 0 reports expected
#
# test/torture/run.sh prints what each suite does and which checks fail.

TORTURE_BUILD := $(BUILD)/test/torture
TSAN_PKGS     := gcc libtsan2
# gcc's TSan runtime must come first: the harness links it, and the
# instrumented library is preloaded into it (a library alone, preloaded into
# an uninstrumented program, crashes: its threads start outside the runtime).
TSAN_FLAGS    := -O1 -g -fsanitize=thread -fno-omit-frame-pointer

.PHONY: check-torture check-tsan tsan-run

# Links the core modules directly, as the unit tests do.
$(TORTURE_BUILD)/killtable: test/torture/killtable.c $(CORE_SRCS) $(wildcard src/*.h) | deps
	$(call say,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 -U_FILE_OFFSET_BITS -Iinclude -Isrc $(LDFLAGS) -o $@ \
		test/torture/killtable.c $(CORE_SRCS) -lpthread

# Reaches the library through include/stickysync.h: nothing of it is linked.
$(TORTURE_BUILD)/threads: test/torture/threads.c include/stickysync.h | deps
	$(call say,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 -Iinclude $(LDFLAGS) -o $@ $< -lpthread -ldl

check-torture: all $(TORTURE_BUILD)/killtable $(TORTURE_BUILD)/threads
	$(Q)BUILD=$(BUILD) bash test/torture/run.sh killtable threads

check-tsan:
	$(Q)scripts/need-packages $(TSAN_PKGS)
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan OPT="$(TSAN_FLAGS)" \
		LDFLAGS="-fsanitize=thread" tsan-run

tsan-run: $(LIB) $(TORTURE_BUILD)/threads
	$(Q)BUILD=$(BUILD) bash test/torture/run.sh tsan
