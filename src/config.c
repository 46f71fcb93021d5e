/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const char *const policy_names[] = {
    [POLICY_STICKY] = "sticky",
    [POLICY_FAILSTOP] = "failstop",
    [POLICY_ABORT] = "abort",
    [POLICY_OBSERVE] = "observe",
};

const char *policy_name(enum policy p)
{
	return (unsigned)p < sizeof(policy_names) / sizeof(policy_names[0]) ? policy_names[p] : "?";
}

static void complain(struct options *o, const char *fmt, ...)
{
	va_list ap;

	if (o->nmsg >= CONFIG_MSG_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(o->msg[o->nmsg++], CONFIG_MSG_LEN, fmt, ap);
	va_end(ap);
}

/*
 * Every process runs this at start, and the library binds libc's functions
 * at their first call (about 700 instructions each): the few string
 * functions here are the ones the rest of start-up binds anyway (strnlen,
 * memcpy), or a loop.
 */
static bool same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* Copy src into dst; false (dst untouched) if it does not fit. */
static bool copy_fits(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size);

	if (n >= size)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

static void load_policy(struct options *o, const char *v)
{
	o->policy = POLICY_STICKY;
	if (!v || !*v)
		return;
	for (unsigned i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++) {
		if (same(v, policy_names[i])) {
			o->policy = (enum policy)i;
			return;
		}
	}
	complain(o,
		 "STICKYSYNC_POLICY=\"%.64s\" is not one of sticky, failstop, abort, observe; "
		 "using sticky",
		 v);
}

/* dst = a followed by b; false if that does not fit. */
static bool join_fits(char *dst, size_t size, const char *a, const char *b)
{
	size_t na = strnlen(a, size), nb = strnlen(b, size);

	if (na + nb >= size)
		return false;
	memcpy(dst, a, na);
	memcpy(dst + na, b, nb + 1);
	return true;
}

static void default_state_dir(struct options *o, config_getenv_fn get, bool is_root)
{
	const char *xdg = get("XDG_STATE_HOME"), *home = get("HOME");
	char *dir = o->state_dir;
	bool ok = false;

	if (is_root)
		ok = join_fits(dir, sizeof(o->state_dir), "/var/lib/stickysync", "");
	else if (xdg && xdg[0] == '/')
		ok = join_fits(dir, sizeof(o->state_dir), xdg, "/stickysync");
	else if (home && home[0] == '/')
		ok = join_fits(dir, sizeof(o->state_dir), home, "/.local/state/stickysync");
	if (!ok) {
		complain(o, "no state folder: HOME is unset or not an absolute path, and so is "
			    "XDG_STATE_HOME; latches are kept in this process only");
		o->state_mode = STATE_OFF;
	}
}

static void load_state(struct options *o, const char *v, config_getenv_fn get, bool is_root)
{
	o->state_mode = STATE_DIR;
	if (!v || !*v) {
		default_state_dir(o, get, is_root);
		return;
	}
	if (same(v, "off")) {
		o->state_mode = STATE_OFF;
		return;
	}
	if (v[0] != '/' || !copy_fits(o->state_dir, sizeof(o->state_dir), v)) {
		complain(o,
			 "STICKYSYNC_STATE=\"%.64s\" is not an absolute folder path or \"off\"; "
			 "latches are kept in this process only",
			 v);
		o->state_mode = STATE_OFF;
	}
}

static void load_capacity(struct options *o, const char *v)
{
	unsigned long n;
	char *end;

	o->state_capacity = CONFIG_DEFAULT_CAPACITY;
	if (!v || !*v)
		return;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || v[0] == '-' || n < 16 || n > (1ul << 22) || (n & (n - 1))) {
		complain(o,
			 "STICKYSYNC_STATE_CAPACITY=\"%.32s\" is not a power of two from 16 to "
			 "4194304; using %u",
			 v, CONFIG_DEFAULT_CAPACITY);
		return;
	}
	o->state_capacity = (unsigned)n;
}

static void load_log(struct options *o, const char *v)
{
	o->log_mode = LOG_STDERR;
	if (!v || !*v || same(v, "stderr"))
		return;
	if (same(v, "syslog")) {
		o->log_mode = LOG_SYSLOG;
		return;
	}
	if (same(v, "off")) {
		o->log_mode = LOG_OFF;
		return;
	}
	if (v[0] == '/' && copy_fits(o->log_path, sizeof(o->log_path), v)) {
		o->log_mode = LOG_FILE;
		return;
	}
	complain(o,
		 "STICKYSYNC_LOG=\"%.64s\" is not stderr, syslog, off or an absolute file path; "
		 "logging to stderr",
		 v);
}

static void load_inject_memory(struct options *o, const char *v)
{
	unsigned long long n;
	char *end;

	o->inject_memory = CONFIG_DEFAULT_INJECT_MEMORY;
	if (!v || !*v)
		return;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || v[0] == '-') {
		complain(o, "STICKYSYNC_INJECT_MEMORY=\"%.32s\" is not a number of bytes; using %u",
			 v, CONFIG_DEFAULT_INJECT_MEMORY);
		return;
	}
	o->inject_memory = (size_t)n;
}

static void load_tmpdir(struct options *o, const char *v)
{
	if (!v || v[0] != '/' || !copy_fits(o->tmpdir, sizeof(o->tmpdir), v))
		memcpy(o->tmpdir, "/tmp", 5);
}

static void load_inject(struct options *o, const char *v)
{
	o->inject[0] = '\0';
	if (!v || !*v)
		return;
	if (!copy_fits(o->inject, sizeof(o->inject), v))
		complain(o, "STICKYSYNC_INJECT is longer than %d bytes; no faults are injected",
			 CONFIG_INJECT_MAX - 1);
}

static void load_inject_report(struct options *o, const char *v)
{
	o->inject_report[0] = '\0';
	if (!v || !*v)
		return;
	if (v[0] != '/' || !copy_fits(o->inject_report, sizeof(o->inject_report), v)) {
		o->inject_report[0] = '\0';
		complain(o, "STICKYSYNC_INJECT_REPORT is not an absolute path; rules that never "
			    "fire are reported here instead");
	}
}

/* Every field to its empty value.  Not a memset: the strings' buffers are
 * large and every process pays for start-up (a string is empty by its first
 * byte). */
static void reset(struct options *o)
{
	o->policy = POLICY_STICKY;
	o->state_mode = STATE_DIR;
	o->state_dir[0] = '\0';
	o->state_capacity = 0;
	o->log_mode = LOG_STDERR;
	o->log_path[0] = '\0';
	o->inject[0] = '\0';
	o->inject_memory = 0;
	o->tmpdir[0] = '\0';
	o->inject_report[0] = '\0';
	o->xattr = true;
	o->nmsg = 0;
}

static void load_xattr(struct options *o, const char *v)
{
	o->xattr = true;
	if (!v || !*v || same(v, "on"))
		return;
	if (same(v, "off")) {
		o->xattr = false;
		return;
	}
	complain(o,
		 "STICKYSYNC_XATTR=\"%.32s\" is not on or off; latches are recorded on the files "
		 "and honoured there (on)",
		 v);
}

void config_load(struct options *o, config_getenv_fn get, bool is_root)
{
	reset(o);
	load_policy(o, get("STICKYSYNC_POLICY"));
	load_state(o, get("STICKYSYNC_STATE"), get, is_root);
	load_capacity(o, get("STICKYSYNC_STATE_CAPACITY"));
	load_log(o, get("STICKYSYNC_LOG"));
	load_inject(o, get("STICKYSYNC_INJECT"));
	load_inject_memory(o, get("STICKYSYNC_INJECT_MEMORY"));
	load_tmpdir(o, get("TMPDIR"));
	load_inject_report(o, get("STICKYSYNC_INJECT_REPORT"));
	load_xattr(o, get("STICKYSYNC_XATTR"));
}
