/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The fault injector: STICKYSYNC_INJECT rules that make chosen calls fail the
 * way Linux does, optionally losing the data as the page cache would.
 *
 *   rules := rule (';' rule)*
 *   rule  := key '=' value (',' key '=' value)*
 *   keys  : op path nth every prob seed count errno lose
 */
#ifndef STICKYSYNC_INJECT_H
#define STICKYSYNC_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INJECT_MAX_RULES 16
#define INJECT_GLOB_MAX 256

enum inject_op {
	IOP_FSYNC = 1u << 0,
	IOP_FDATASYNC = 1u << 1,
	IOP_SYNC_FILE_RANGE = 1u << 2,
	IOP_MSYNC = 1u << 3,
	IOP_SYNCFS = 1u << 4,
	IOP_CLOSE = 1u << 5,
	IOP_WRITE = 1u << 6,
	IOP_SYNC = IOP_FSYNC | IOP_FDATASYNC | IOP_SYNC_FILE_RANGE | IOP_MSYNC | IOP_SYNCFS,
};
#define IOP_KINDS 7 /* the single-call bits above */
#define INJECT_SPEC_MAX 160

enum inject_lose {
	LOSE_KEEP = 0, /* the error only; the content stays */
	LOSE_OLD,      /* put back what the file held at its last successful sync */
	LOSE_ZERO,     /* the ranges written since then read as zeros */
};

enum inject_when {
	WHEN_NTH = 0, /* the nth matching call, and the next ones until count */
	WHEN_EVERY,   /* every nth matching call */
	WHEN_PROB,    /* each matching call with probability prob */
};

struct inject_rule {
	char spec[INJECT_SPEC_MAX]; /* the rule as written, for reports */
	unsigned ops;		    /* enum inject_op bits */
	char glob[INJECT_GLOB_MAX]; /* empty: any path */
	enum inject_when when;
	uint64_t n; /* nth or every */
	double prob;
	uint64_t seed;
	uint64_t count; /* failures to inject; 0: no limit */
	int error;
	enum inject_lose lose;
	/* run time */
	uint64_t calls;		  /* matching calls seen */
	uint64_t fired;		  /* failures injected */
	uint64_t seen[IOP_KINDS]; /* calls on files its path matches, by op bit */
	uint64_t rng;		  /* PRNG state for prob= */
};

struct inject_rules {
	int n;
	struct inject_rule rule[INJECT_MAX_RULES];
};

/* Parse spec into *out.  On error returns -1 and puts a one-line message in
 * err naming the rule, the position and what was expected. */
int inject_parse(const char *spec, struct inject_rules *out, char *err, size_t errlen);

/* Decide for a call with op on path: the errno to inject, or 0.  Counts the
 * call against every rule it matches; *lose tells what to lose. */
int inject_decide(struct inject_rules *rules, unsigned op, const char *path,
		  enum inject_lose *lose);

/*
 * A rule that never fired usually names the wrong call: "rule 1
 * (op=fsync,path=*.db-wal) never fired; matching paths saw fdatasync x12".
 * Puts that line for rule i in buf, or "" when the rule fired, or when no
 * file its path matches was touched (only_if_seen).
 */
void inject_unfired_line(const struct inject_rule *r, int i, bool only_if_seen, char *buf,
			 size_t size);

/* Where inject_report_unfired writes, or "" (see STICKYSYNC_INJECT_REPORT). */
void inject_set_report(const char *path);
/* At exit: add this process's counts to the report file, or report each
 * rule that never fired although files its path matches were used. */
void inject_report_unfired(void);

/* Does the rule's path glob match path? */
bool inject_rule_matches(const struct inject_rule *r, const char *path);

/* Does any rule that loses data (lose=old|zero) match path? */
bool inject_records(const struct inject_rules *rules, const char *path);

/* The library's rule set (from STICKYSYNC_INJECT), set up at init. */
/* Parse STICKYSYNC_INJECT's spec into inject_rules.  The caller sets up
 * the undo store (undo.h) when inject_loses(). */
void inject_setup(const char *spec);
bool inject_active(void);
/* Is there a lose=old|zero rule?  Only then is the undo store used. */
bool inject_loses(void);
extern struct inject_rules inject_rules;

#endif
