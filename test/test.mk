# Tests: Check unit tests, integration tests under LD_PRELOAD, and an
# ASan+UBSan build of both.  Included by the top Makefile.

TEST_BUILD   := $(BUILD)/test
PROBE_SRC    := test/helpers/ssprobe.c
PROBES       := $(TEST_BUILD)/ssprobe $(TEST_BUILD)/ssprobe-lfs $(TEST_BUILD)/ssprobe-fortify \
                $(TEST_BUILD)/ssprobe-lfs-fortify
TEST_HELPERS := $(PROBES) $(TEST_BUILD)/libfault.so $(TEST_BUILD)/wrapcheck $(TEST_BUILD)/fdcheck \
                $(TEST_BUILD)/realcheck $(TEST_BUILD)/forkcheck $(TEST_BUILD)/attachcheck \
                $(TEST_BUILD)/ctorprobe $(TEST_BUILD)/libctor.so $(BUILD)/ack_example \
                $(BUILD)/losedata $(TEST_BUILD)/uringprobe $(TEST_BUILD)/aioprobe $(TEST_BUILD)/syncseq
UNIT_SRCS    := $(wildcard test/unit/*.c)
HELPER_CFLAGS := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Iinclude -g

.PHONY: check-deps test-helpers
check-deps:
	$(Q)scripts/need-packages $(CHECK_PKGS)

$(TEST_BUILD)/ssprobe: $(PROBE_SRC) include/stickysync.h
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(HELPER_CFLAGS) -O0 -o $@ $<
$(TEST_BUILD)/ssprobe-lfs: $(PROBE_SRC) include/stickysync.h
	$(Q)$(CC) $(HELPER_CFLAGS) -O0 -D_FILE_OFFSET_BITS=64 -o $@ $<
$(TEST_BUILD)/ssprobe-fortify: $(PROBE_SRC) include/stickysync.h
	$(Q)$(CC) $(HELPER_CFLAGS) -O2 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 -o $@ $<
$(TEST_BUILD)/ssprobe-lfs-fortify: $(PROBE_SRC) include/stickysync.h
	$(Q)$(CC) $(HELPER_CFLAGS) -O2 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 -D_FILE_OFFSET_BITS=64 -o $@ $<
$(TEST_BUILD)/libfault.so: test/helpers/faultlib.c
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(HELPER_CFLAGS) -shared -fPIC -o $@ $< -ldl
$(TEST_BUILD)/wrapcheck: test/helpers/wrapcheck.c include/stickysync.h
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(HELPER_CFLAGS) -O1 -o $@ $< -lpthread
$(TEST_BUILD)/fdcheck: test/helpers/fdcheck.c include/stickysync.h
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(HELPER_CFLAGS) -O1 -o $@ $< -lpthread
$(TEST_BUILD)/realcheck: test/helpers/realcheck.c src/real.c src/fallback.c src/real.h src/symbols.def
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(HELPER_CFLAGS) -U_FILE_OFFSET_BITS -Isrc -o $@ $< src/real.c src/fallback.c -ldl
$(TEST_BUILD)/attachcheck: test/helpers/attachcheck.c
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(HELPER_CFLAGS) -O1 -o $@ $< -lpthread
$(TEST_BUILD)/forkcheck: test/helpers/forkcheck.c
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(HELPER_CFLAGS) -O1 -o $@ $< -lpthread
# The io_uring and libaio programs need liburing-dev and libaio-dev (in
# CHECK_PKGS); without them the tests that run them say SKIP.
$(TEST_BUILD)/uringprobe: test/helpers/uringprobe.c | check-deps
	$(Q)mkdir -p $(dir $@)
	$(Q)if printf '#include <liburing.h>\n' | $(CC) -E -x c - >/dev/null 2>&1; then \
		$(CC) $(HELPER_CFLAGS) -O1 -o $@ $< -luring && \
		$(CC) $(HELPER_CFLAGS) -O1 -o $@-static $< -Wl,-Bstatic -luring -Wl,-Bdynamic; \
	else echo "test: liburing.h not found (liburing-dev): the io_uring tests will be skipped"; fi
$(TEST_BUILD)/aioprobe: test/helpers/aioprobe.c | check-deps
	$(Q)mkdir -p $(dir $@)
	$(Q)if printf '#include <libaio.h>\n' | $(CC) -E -x c - >/dev/null 2>&1; then \
		$(CC) $(HELPER_CFLAGS) -O1 -o $@ $< -laio; \
	else echo "test: libaio.h not found (libaio-dev): the libaio tests will be skipped"; fi
# Statically linked: a program the library cannot reach (the supervisor's).
$(TEST_BUILD)/syncseq: test/helpers/syncseq.c
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(HELPER_CFLAGS) -O1 -static -o $@ $<
$(BUILD)/ack_example: examples/ack_example.c include/stickysync.h
	$(Q)$(CC) $(HELPER_CFLAGS) -o $@ $<
$(TEST_BUILD)/libctor.so: test/helpers/ctorlib.c
	$(Q)$(CC) $(HELPER_CFLAGS) -shared -fPIC -o $@ $<
$(TEST_BUILD)/ctorprobe: test/helpers/ctorprobe.c $(TEST_BUILD)/libctor.so
	$(Q)$(CC) $(HELPER_CFLAGS) -o $@ $< -L$(TEST_BUILD) -lctor -Wl,-rpath,'$$ORIGIN'

$(TEST_BUILD)/unit_tests: $(UNIT_SRCS) $(CORE_SRCS) $(wildcard src/*.h) | check-deps
	$(call say,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 -U_FILE_OFFSET_BITS -Iinclude -Isrc -o $@ $(UNIT_SRCS) \
		$(CORE_SRCS) $$(pkg-config --cflags --libs check) -lpthread

check-unit: $(TEST_BUILD)/unit_tests
	$(Q)CK_FORK=yes CK_VERBOSITY=verbose $(TEST_BUILD)/unit_tests

# The helpers alone, for the integration tests of the installed packages
# (TEST_INSTALLED=1, see test/integration/lib.sh).
test-helpers: $(TEST_HELPERS)

check-integration: all $(TEST_HELPERS)
	$(Q)BUILD=$(BUILD) bash test/integration/run.sh

# The same tests against a library and unit tests built with AddressSanitizer
# and UndefinedBehaviorSanitizer.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
check-asan: check-deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan OPT="$(ASAN_FLAGS)" \
		LDFLAGS="-fsanitize=address,undefined" asan-run

asan-run: all $(TEST_BUILD)/unit_tests $(TEST_HELPERS)
	$(Q)echo "== unit tests under ASan+UBSan"
	$(Q)CK_FORK=yes ASAN_OPTIONS=detect_leaks=1 $(TEST_BUILD)/unit_tests
	$(Q)echo "== integration tests under ASan+UBSan"
	$(Q)BUILD=$(BUILD) ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
		SANITIZER_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
		bash test/integration/run.sh

# make check: every part, in two lanes side by side (test/check.sh prints
# each part as it runs, then one line over all of them); CHECK_JOBS=1 runs
# the parts one after another.  What any part needs is installed first, so
# that the lanes never run the package manager at the same time.
#
# The parts that start thousands of processes share one lane.  On virtual
# machines that shadow the guest's page tables, as the ones this project is
# tested on do, two CPUs creating processes at once slow each other down
# more than they gain: here, two copies of a loop of 3,000 fork+exit took
# 6.6 s each where one took 2.0 s.  Beside them run the parts that mostly
# compute in one process (fuzz, one target at a time), mostly wait (the
# GlusterFS servers) or count instructions one program at a time (counts);
# with CHECK_JOBS=1 those take both CPUs.  The real-fault parts take turns
# whatever the lanes (test/realfaults/turn.sh).
CHECK_LANE1 ?= unit integration asan torture tsan realfaults
CHECK_LANE2 ?= gluster fuzz counts
# t_supervise builds a Go program and runs etcd under the supervisor.
SUPERVISE_PKGS := golang-go etcd-server
CHECK_ALL_PKGS = $(BUILD_PKGS) $(CHECK_PKGS) $(RF_PKGS) $(GLUSTER_PKGS) $(BENCH_PKGS) $(TSAN_PKGS) \
                 $(FUZZ_PKGS) $(SUPERVISE_PKGS)

.PHONY: check check-quick check-integration-core check-all-deps
check-all-deps:
	$(Q)scripts/need-packages $(CHECK_ALL_PKGS) || \
		echo "check: packages missing; the parts that need them will say so"

check: check-all-deps all
	$(Q)BUILD=$(BUILD) MAKE="$(MAKE)" $(if $(filter 1,$(CHECK_JOBS)),,FUZZ_JOBS=1 BENCH_JOBS=1) \
		bash test/check.sh $(CHECK_LANE1) + $(CHECK_LANE2)

# For the edit-compile-test loop: the unit tests and the core integration
# tests, in well under a minute.
CORE_INTEGRATION := t_core t_ownership t_policy t_inject t_hygiene
check-quick: check-deps all
	$(Q)BUILD=$(BUILD) MAKE="$(MAKE)" bash test/check.sh unit integration-core

check-integration-core: all $(TEST_HELPERS)
	$(Q)BUILD=$(BUILD) TESTS="$(CORE_INTEGRATION)" bash test/integration/run.sh
