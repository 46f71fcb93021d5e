/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * STICKYSYNC_INJECT rules: inject_parse, then inject_decide and
 * inject_records on a few paths.  The input is the rules, optionally
 * followed by a NUL and one more path to decide on.
 */
#include "fuzz.h"

#include "inject.h"

#define ALL_OPS (IOP_SYNC | IOP_CLOSE | IOP_WRITE)

static const unsigned ops[] = {IOP_FSYNC, IOP_FDATASYNC, IOP_SYNC_FILE_RANGE, IOP_MSYNC, IOP_SYNCFS,
			       IOP_CLOSE, IOP_WRITE};

/* What inject_parse promises of the rules it accepts. */
static void check_rules(const struct inject_rules *r)
{
	FUZZ_CHECK(r->n >= 0 && r->n <= INJECT_MAX_RULES, "%d rules", r->n);
	for (int i = 0; i < r->n; i++) {
		const struct inject_rule *x = &r->rule[i];

		FUZZ_CHECK(x->ops != 0 && (x->ops & ~(unsigned)ALL_OPS) == 0, "rule %d ops %#x", i,
			   x->ops);
		FUZZ_CHECK(fuzz_terminated(x->glob, sizeof(x->glob)), "rule %d glob", i);
		FUZZ_CHECK(x->when <= WHEN_PROB, "rule %d when %d", i, (int)x->when);
		FUZZ_CHECK(x->n >= 1, "rule %d n 0", i);
		FUZZ_CHECK(x->prob >= 0.0 && x->prob <= 1.0, "rule %d prob %g", i, x->prob);
		FUZZ_CHECK(x->error > 0 && x->error < 4096, "rule %d errno %d", i, x->error);
		FUZZ_CHECK(x->lose <= LOSE_ZERO, "rule %d lose %d", i, (int)x->lose);
		FUZZ_CHECK(x->lose == LOSE_KEEP || !(x->ops & IOP_WRITE), "rule %d loses on write",
			   i);
		FUZZ_CHECK(x->calls == 0 && x->fired == 0, "rule %d starts used", i);
	}
}

/* A refusal is one message naming the variable, cut to the buffer. */
static void check_refusal(const char *spec)
{
	static struct inject_rules r;
	char *small = malloc(24);

	FUZZ_CHECK(small, "out of memory");
	FUZZ_CHECK(inject_parse(spec, &r, small, 24) == -1, "accepted with a small buffer");
	FUZZ_CHECK(fuzz_terminated(small, 24) && strncmp(small, "STICKYSYNC_INJECT: ", 19) == 0,
		   "message %.24s", small);
	free(small);
}

/* inject_decide answers 0 or the errno of a rule for op and path. */
static void decide(struct inject_rules *r, unsigned op, const char *path)
{
	enum inject_lose lose = (enum inject_lose)99;
	int err = inject_decide(r, op, path, &lose);
	bool records = inject_records(r, path), any_records = false, found = err == 0;

	FUZZ_CHECK(lose <= LOSE_ZERO, "lose %d", (int)lose);
	FUZZ_CHECK(err != 0 || lose == LOSE_KEEP, "lose %d without an error", (int)lose);
	for (int i = 0; i < r->n; i++) {
		const struct inject_rule *x = &r->rule[i];
		bool matches = inject_rule_matches(x, path);

		found |= (x->ops & op) && matches && x->error == err && x->lose == lose;
		any_records |= x->lose != LOSE_KEEP && matches;
		FUZZ_CHECK(x->count == 0 || x->fired <= x->calls, "rule %d fired %llu of %llu", i,
			   (unsigned long long)x->fired, (unsigned long long)x->calls);
	}
	FUZZ_CHECK(found, "errno %d lose %d from no rule for op %#x on %s", err, (int)lose, op,
		   path ? path : "(null)");
	FUZZ_CHECK(records == any_records, "inject_records %d for %s", records,
		   path ? path : "(null)");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct inject_rules rules;
	char *fields[2], err[320];
	int n = fuzz_split(data, size, fields, 2);
	const char *paths[] = {
	    "/srv/db/main.db",	       "/srv/db/main.db-wal", "relative/file", "", NULL,
	    n > 1 ? fields[1] : "/srv"};

	if (inject_parse(fields[0], &rules, err, sizeof(err)) != 0) {
		FUZZ_CHECK(fuzz_terminated(err, sizeof(err)) &&
			       strncmp(err, "STICKYSYNC_INJECT: rule ", 24) == 0,
			   "message %.320s", err);
		check_refusal(fields[0]);
		fuzz_free_fields(fields, n);
		return 0;
	}
	check_rules(&rules);
	for (int round = 0; round < 3; round++)
		for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
			for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
				decide(&rules, ops[o], paths[p]);
	fuzz_free_fields(fields, n);
	return 0;
}
