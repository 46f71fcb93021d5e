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
	uint64_t calls; /* matching calls seen */
	uint64_t fired; /* failures injected */
	uint64_t rng;	/* PRNG state for prob= */
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
