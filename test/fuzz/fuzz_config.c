/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Configuration values: config_load with a lookup fed from the input.  The
 * input is byte 0 (bit 0: root; bits 1-7 and byte 1: which variables are
 * unset), then the variables' values in the order of names[], separated by
 * NUL bytes.
 */
#include "fuzz.h"

#include <limits.h>

#include "config.h"

static const char *const names[] = {
    "STICKYSYNC_POLICY",
    "STICKYSYNC_STATE",
    "STICKYSYNC_STATE_CAPACITY",
    "STICKYSYNC_LOG",
    "STICKYSYNC_INJECT",
    "STICKYSYNC_INJECT_MEMORY",
    "STICKYSYNC_INJECT_REPORT",
    "TMPDIR",
    "HOME",
    "XDG_STATE_HOME",
    "STICKYSYNC_XATTR",
};
#define NVARS (int)(sizeof(names) / sizeof(names[0]))

static char *values[NVARS];

static const char *lookup(const char *name)
{
	for (int i = 0; i < NVARS; i++)
		if (strcmp(name, names[i]) == 0)
			return values[i];
	FUZZ_CHECK(0, "config_load asked for %s, which it does not document", name);
	return NULL;
}

static bool absolute_in(const char *s, size_t size)
{
	return fuzz_terminated(s, size) && s[0] == '/';
}

/* What config_load promises: every setting valid, or the safe default and
 * a message naming the variable. */
static void check_options(const struct options *o)
{
	unsigned cap = o->state_capacity;

	FUZZ_CHECK(o->policy <= POLICY_OBSERVE, "policy %d", (int)o->policy);
	FUZZ_CHECK(o->state_mode <= STATE_OFF, "state mode %d", (int)o->state_mode);
	FUZZ_CHECK(o->state_mode != STATE_DIR || absolute_in(o->state_dir, sizeof(o->state_dir)),
		   "state folder %.64s", o->state_dir);
	FUZZ_CHECK(cap >= 16 && cap <= (1u << 22) && (cap & (cap - 1)) == 0, "capacity %u", cap);
	FUZZ_CHECK(o->log_mode <= LOG_OFF, "log mode %d", (int)o->log_mode);
	FUZZ_CHECK(o->log_mode != LOG_FILE || absolute_in(o->log_path, sizeof(o->log_path)),
		   "log file %.64s", o->log_path);
	FUZZ_CHECK(fuzz_terminated(o->inject, sizeof(o->inject)), "inject");
	FUZZ_CHECK(absolute_in(o->tmpdir, sizeof(o->tmpdir)), "tmpdir %.64s", o->tmpdir);
	FUZZ_CHECK(!o->inject_report[0] || absolute_in(o->inject_report, sizeof(o->inject_report)),
		   "inject report %.64s", o->inject_report);
	FUZZ_CHECK(o->nmsg >= 0 && o->nmsg <= CONFIG_MSG_MAX, "%d messages", o->nmsg);
	for (int i = 0; i < o->nmsg; i++) {
		FUZZ_CHECK(fuzz_terminated(o->msg[i], CONFIG_MSG_LEN) && o->msg[i][0], "message %d",
			   i);
		FUZZ_CHECK(strstr(o->msg[i], "STICKYSYNC_") || strstr(o->msg[i], "HOME"),
			   "message names no variable: %s", o->msg[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct options o;
	char *fields[NVARS];
	unsigned unset = size > 1 ? (unsigned)data[0] >> 1 | (unsigned)data[1] << 7 : 0;
	bool is_root = size > 0 && (data[0] & 1);
	int skip = size > 2 ? 2 : (int)size;
	int n = fuzz_split(data + skip, size - (size_t)skip, fields, NVARS);

	for (int i = 0; i < NVARS; i++)
		values[i] = i < n && !(unset >> i & 1) ? fields[i] : NULL;
	config_load(&o, lookup, is_root);
	check_options(&o);
	fuzz_free_fields(fields, n);
	return 0;
}
