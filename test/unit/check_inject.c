/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "inject.h"
#include "suites.h"

static struct inject_rules r;
static char err[320];

START_TEST(parse_the_documented_example)
{
	ck_assert_int_eq(
	    inject_parse("op=fsync,path=*.db-wal,nth=3,errno=EIO,lose=old", &r, err, sizeof(err)),
	    0);
	ck_assert_int_eq(r.n, 1);
	ck_assert_uint_eq(r.rule[0].ops, IOP_FSYNC);
	ck_assert_str_eq(r.rule[0].glob, "*.db-wal");
	ck_assert_int_eq(r.rule[0].when, WHEN_NTH);
	ck_assert_uint_eq(r.rule[0].n, 3);
	ck_assert_int_eq(r.rule[0].error, EIO);
	ck_assert_int_eq(r.rule[0].lose, LOSE_OLD);
	ck_assert_uint_eq(r.rule[0].count, 1);
}
END_TEST

START_TEST(parse_several_rules_and_defaults)
{
	ck_assert_int_eq(
	    inject_parse("op=sync;op=write,every=2,count=0,errno=28;op=close,prob=0.5,seed=9", &r,
			 err, sizeof(err)),
	    0);
	ck_assert_int_eq(r.n, 3);
	ck_assert_uint_eq(r.rule[0].ops, IOP_SYNC);
	ck_assert_int_eq(r.rule[0].error, EIO);
	ck_assert_int_eq(r.rule[1].when, WHEN_EVERY);
	ck_assert_uint_eq(r.rule[1].count, 0);
	ck_assert_int_eq(r.rule[1].error, ENOSPC);
	ck_assert_int_eq(r.rule[2].when, WHEN_PROB);
	ck_assert(r.rule[2].prob == 0.5);
	ck_assert_uint_eq(r.rule[2].seed, 9);
}
END_TEST

/* Each bad rule: the message names the rule, the position and what was
 * expected. */
START_TEST(errors_name_position_and_expectation)
{
	static const struct {
		const char *spec, *want;
	} cases[] = {
	    {"op=fsync,nht=3", "rule 1, at character 10 (\"nht\"): unknown key"},
	    {"op=fsync;op=flush", "rule 2, at character 13 (\"flush\"): op expects fsync"},
	    {"op=fsync,nth=0", "expected a whole number of at least 1"},
	    {"op=fsync,nth=2,every=3", "only one of nth, every, prob"},
	    {"op=fsync,prob=1.5", "prob expects a number from 0 to 1"},
	    {"op=fsync,errno=EWHAT", "errno expects a name such as EIO"},
	    {"op=fsync,lose=some", "lose expects keep, old or zero"},
	    {"path=*.db", "the rule has no op="},
	    {"op=fsync,count", "expected key=value"},
	    {"op=write,lose=old", "lose= applies to sync and close rules"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(inject_parse(cases[i].spec, &r, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, cases[i].want), "%s: got \"%s\"", cases[i].spec, err);
		ck_assert_ptr_nonnull(strstr(err, "STICKYSYNC_INJECT"));
	}
}
END_TEST

START_TEST(nth_with_count)
{
	enum inject_lose lose;
	int got[6];

	inject_parse("op=fsync,nth=3,count=2,errno=ENOSPC", &r, err, sizeof(err));
	for (int i = 0; i < 6; i++)
		got[i] = inject_decide(&r, IOP_FSYNC, "/f", &lose);
	ck_assert_int_eq(got[0], 0);
	ck_assert_int_eq(got[1], 0);
	ck_assert_int_eq(got[2], ENOSPC);
	ck_assert_int_eq(got[3], ENOSPC);
	ck_assert_int_eq(got[4], 0);
	ck_assert_int_eq(got[5], 0);
}
END_TEST

START_TEST(every_and_unlimited)
{
	enum inject_lose lose;
	int fired = 0;

	inject_parse("op=fdatasync,every=3,count=0", &r, err, sizeof(err));
	for (int i = 1; i <= 30; i++) {
		int e = inject_decide(&r, IOP_FDATASYNC, "/f", &lose);

		ck_assert_int_eq(e != 0, i % 3 == 0);
		fired += e != 0;
	}
	ck_assert_int_eq(fired, 10);
	/* other ops do not count */
	ck_assert_int_eq(inject_decide(&r, IOP_FSYNC, "/f", &lose), 0);
}
END_TEST

START_TEST(prob_is_deterministic_for_a_seed)
{
	struct inject_rules a, b;
	enum inject_lose lose;
	int fa = 0, same = 1;

	inject_parse("op=fsync,prob=0.3,seed=42,count=0", &a, err, sizeof(err));
	inject_parse("op=fsync,prob=0.3,seed=42,count=0", &b, err, sizeof(err));
	for (int i = 0; i < 1000; i++) {
		int x = inject_decide(&a, IOP_FSYNC, "/f", &lose);
		int y = inject_decide(&b, IOP_FSYNC, "/f", &lose);

		same &= x == y;
		fa += x != 0;
	}
	ck_assert(same);
	ck_assert_int_gt(fa, 200);
	ck_assert_int_lt(fa, 400);
}
END_TEST

START_TEST(path_globs_cross_slashes)
{
	enum inject_lose lose;

	inject_parse("op=sync,path=*.db-wal,count=0,lose=zero", &r, err, sizeof(err));
	ck_assert_int_eq(inject_decide(&r, IOP_FSYNC, "/var/db/x.db", &lose), 0);
	ck_assert_int_eq(inject_decide(&r, IOP_MSYNC, "/var/db/x.db-wal", &lose), EIO);
	ck_assert_int_eq(lose, LOSE_ZERO);
	ck_assert(inject_records(&r, "/a/b.db-wal"));
	ck_assert(!inject_records(&r, "/a/b.db"));
}
END_TEST

/* Only a lose=old|zero rule brings the undo store (and its lock) into play. */
START_TEST(only_lose_rules_use_the_undo_store)
{
	inject_setup("op=fsync;op=close,path=*.db,lose=keep");
	ck_assert(inject_active());
	ck_assert(!inject_loses());
	inject_setup("op=fsync;op=close,path=*.db,lose=zero");
	ck_assert(inject_loses());
	inject_setup("");
	ck_assert(!inject_active());
	ck_assert(!inject_loses());
}
END_TEST

Suite *inject_suite(void)
{
	Suite *s = suite_create("inject");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_the_documented_example);
	tcase_add_test(tc, parse_several_rules_and_defaults);
	tcase_add_test(tc, errors_name_position_and_expectation);
	tcase_add_test(tc, nth_with_count);
	tcase_add_test(tc, every_and_unlimited);
	tcase_add_test(tc, prob_is_deterministic_for_a_seed);
	tcase_add_test(tc, path_globs_cross_slashes);
	tcase_add_test(tc, only_lose_rules_use_the_undo_store);
	suite_add_tcase(s, tc);
	return s;
}
