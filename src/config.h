/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Options, read once from the environment into this table.  Strings are
 * copied: some programs (PostgreSQL) overwrite their environment block.
 */
#ifndef STICKYSYNC_CONFIG_H
#define STICKYSYNC_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum policy {
	POLICY_STICKY = 0, /* later syncs of a latched file fail with EIO */
	POLICY_FAILSTOP,   /* ... and so do reads and writes */
	POLICY_ABORT,	   /* report, then abort() */
	POLICY_OBSERVE,	   /* never change a result; report */
};

enum state_mode {
	STATE_DIR = 0, /* shared latch table in state_dir */
	STATE_OFF,     /* latches kept in the process only */
};

enum log_mode {
	LOG_STDERR = 0,
	LOG_SYSLOG,
	LOG_FILE,
	LOG_OFF,
};

#define CONFIG_MSG_MAX 8
#define CONFIG_MSG_LEN 320
#define CONFIG_INJECT_MAX 4096
#define CONFIG_DEFAULT_CAPACITY 16384u
#define CONFIG_DEFAULT_INJECT_MEMORY (16u << 20)

struct options {
	enum policy policy;
	enum state_mode state_mode;
	char state_dir[PATH_MAX];
	unsigned state_capacity; /* records in a newly created shared table */
	enum log_mode log_mode;
	char log_path[PATH_MAX];
	char inject[CONFIG_INJECT_MAX]; /* STICKYSYNC_INJECT, unparsed */
	size_t inject_memory;  /* STICKYSYNC_INJECT_MEMORY: recorded bytes kept in memory */
	char tmpdir[PATH_MAX]; /* where recorded bytes spill beyond that */
	/* STICKYSYNC_INJECT_REPORT: a file (absolute) where each process adds,
	 * at exit, what each rule saw; set by `stickysync run --inject`, which
	 * sums them up.  Empty: each process reports rules that never fired. */
	char inject_report[PATH_MAX];
	/* STICKYSYNC_XATTR: record latches on the files themselves (the
	 * user.stickysync attribute, see attr.h) and honour those found there. */
	bool xattr;
	/* Complaints about malformed values, reported once logging works.
	 * Each reads "what is wrong; what is done instead": the command keeps
	 * the part before the last ';' when it rejects the value itself. */
	int nmsg;
	char msg[CONFIG_MSG_MAX][CONFIG_MSG_LEN];
};

/* A getenv-like lookup, so tests can feed values without touching environ. */
typedef const char *(*config_getenv_fn)(const char *name);

/* Fill *o from the variables; never fails: a malformed value leaves the
 * safest setting and adds a one-line message naming the variable. */
void config_load(struct options *o, config_getenv_fn get, bool is_root);

const char *policy_name(enum policy p);

#endif
