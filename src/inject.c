/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "inject.h"
#include "strcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sys.h"

struct inject_rules inject_rules;
static bool active, loses;

static const struct {
	const char *name;
	unsigned bits;
} op_table[] = {
    {"fsync", IOP_FSYNC}, {"fdatasync", IOP_FDATASYNC}, {"sync_file_range", IOP_SYNC_FILE_RANGE},
    {"msync", IOP_MSYNC}, {"syncfs", IOP_SYNCFS},	{"close", IOP_CLOSE},
    {"write", IOP_WRITE}, {"sync", IOP_SYNC},
};

/* Parser state: where we are, for messages. */
struct parser {
	const char *spec;
	int rule_no;
	char *err;
	size_t errlen;
};

static int fail(struct parser *p, const char *at, const char *what, size_t len)
{
	snprintf(p->err, p->errlen, "STICKYSYNC_INJECT: rule %d, at character %d (\"%.*s\"): %s",
		 p->rule_no, (int)(at - p->spec) + 1, (int)(len > 40 ? 40 : len), at, what);
	return -1;
}

static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	char buf[32], *end;

	if (len == 0 || len >= sizeof(buf) || s[0] == '-')
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtoull(buf, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool parse_prob(const char *s, size_t len, double *out)
{
	char buf[32], *end;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	return errno == 0 && *end == '\0' && *out >= 0.0 && *out <= 1.0;
}

static bool parse_errno(const char *s, size_t len, int *out)
{
	uint64_t n;

	if (parse_u64(s, len, &n))
		return n > 0 && n < 4096 && (*out = (int)n, true);
	for (int e = 1; e < 200; e++) {
		const char *name = strerrorname_np(e);

		if (name && strlen(name) == len && memcmp(name, s, len) == 0) {
			*out = e;
			return true;
		}
	}
	return false;
}

static bool parse_ops(const char *s, size_t len, unsigned *out)
{
	for (size_t i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++) {
		if (strlen(op_table[i].name) == len && memcmp(op_table[i].name, s, len) == 0) {
			*out = op_table[i].bits;
			return true;
		}
	}
	return false;
}

static bool parse_lose(const char *s, size_t len, enum inject_lose *out)
{
	static const char *const names[] = {"keep", "old", "zero"};

	for (int i = 0; i < 3; i++) {
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
			*out = (enum inject_lose)i;
			return true;
		}
	}
	return false;
}

static bool key_is(const char *k, size_t klen, const char *name)
{
	return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

/* One key=value pair of rule r; [s, s+len). */
static int parse_pair(struct parser *p, struct inject_rule *r, const char *s, size_t len,
		      unsigned *seen)
{
	const char *eq = memchr(s, '=', len);
	size_t klen, vlen;
	const char *v;

	if (!eq)
		return fail(p, s, "expected key=value", len);
	klen = (size_t)(eq - s);
	v = eq + 1;
	vlen = len - klen - 1;
	if (key_is(s, klen, "op"))
		return parse_ops(v, vlen, &r->ops)
			   ? 0
			   : fail(p, v,
				  "op expects fsync, fdatasync, sync_file_range, "
				  "msync, syncfs, close, write or sync",
				  vlen);
	if (key_is(s, klen, "path")) {
		if (vlen == 0 || vlen >= sizeof(r->glob))
			return fail(p, v, "path expects a glob of 1 to 255 characters", vlen);
		memcpy(r->glob, v, vlen);
		r->glob[vlen] = '\0';
		return 0;
	}
	if (key_is(s, klen, "nth") || key_is(s, klen, "every")) {
		if (*seen & 1)
			return fail(p, s, "only one of nth, every, prob may be given", len);
		*seen |= 1;
		r->when = key_is(s, klen, "nth") ? WHEN_NTH : WHEN_EVERY;
		return parse_u64(v, vlen, &r->n) && r->n > 0
			   ? 0
			   : fail(p, v, "expected a whole number of at least 1", vlen);
	}
	if (key_is(s, klen, "prob")) {
		if (*seen & 1)
			return fail(p, s, "only one of nth, every, prob may be given", len);
		*seen |= 1;
		r->when = WHEN_PROB;
		return parse_prob(v, vlen, &r->prob)
			   ? 0
			   : fail(p, v, "prob expects a number from 0 to 1", vlen);
	}
	if (key_is(s, klen, "seed"))
		return parse_u64(v, vlen, &r->seed)
			   ? 0
			   : fail(p, v, "seed expects a whole number", vlen);
	if (key_is(s, klen, "count"))
		return parse_u64(v, vlen, &r->count)
			   ? 0
			   : fail(p, v, "count expects a whole number (0: no limit)", vlen);
	if (key_is(s, klen, "errno"))
		return parse_errno(v, vlen, &r->error)
			   ? 0
			   : fail(p, v, "errno expects a name such as EIO or ENOSPC, or a number",
				  vlen);
	if (key_is(s, klen, "lose"))
		return parse_lose(v, vlen, &r->lose)
			   ? 0
			   : fail(p, v, "lose expects keep, old or zero", vlen);
	return fail(p, s,
		    "unknown key; expected op, path, nth, every, prob, seed, count, errno or lose",
		    klen);
}

static int parse_rule(struct parser *p, struct inject_rule *r, const char *s, size_t len)
{
	unsigned seen = 0;
	const char *end = s + len;

	memset(r, 0, sizeof(*r));
	snprintf(r->spec, sizeof(r->spec), "%.*s",
		 (int)(len < sizeof(r->spec) - 1 ? len : sizeof(r->spec) - 1), s);
	r->when = WHEN_NTH;
	r->n = 1;
	r->count = 1;
	r->seed = 1;
	r->error = EIO;
	while (s < end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		size_t plen = comma ? (size_t)(comma - s) : (size_t)(end - s);

		if (parse_pair(p, r, s, plen, &seen) != 0)
			return -1;
		s += plen + (comma ? 1 : 0);
	}
	if (!r->ops)
		return fail(p, end - len, "the rule has no op=", len);
	if (r->lose != LOSE_KEEP && (r->ops & IOP_WRITE))
		return fail(p, end - len, "lose= applies to sync and close rules, not op=write",
			    len);
	r->rng = r->seed * 0x9e3779b97f4a7c15ULL + 1;
	return 0;
}

int inject_parse(const char *spec, struct inject_rules *out, char *err, size_t errlen)
{
	struct parser p = {.spec = spec, .err = err, .errlen = errlen};
	const char *s = spec;

	memset(out, 0, sizeof(*out));
	while (*s) {
		const char *semi = strchr(s, ';');
		size_t len = semi ? (size_t)(semi - s) : strlen(s);

		p.rule_no++;
		if (len == 0) {
			s += semi ? 1 : 0;
			continue; /* allow "a;;b" and a trailing ';' */
		}
		if (out->n == INJECT_MAX_RULES)
			return fail(&p, s, "too many rules (at most 16)", len);
		if (parse_rule(&p, &out->rule[out->n], s, len) != 0)
			return -1;
		out->n++;
		s += len + (semi ? 1 : 0);
	}
	return 0;
}

bool inject_rule_matches(const struct inject_rule *r, const char *path)
{
	return r->glob[0] == '\0' || (path && fnmatch(r->glob, path, 0) == 0);
}

/* xorshift64*: deterministic for a given seed, lock-free across threads. */
static double next_uniform(uint64_t *state)
{
	uint64_t old = __atomic_load_n(state, __ATOMIC_RELAXED), x;

	do {
		x = old;
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
	} while (
	    !__atomic_compare_exchange_n(state, &old, x, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

static void note_first_firing(const struct inject_rule *r);

static bool rule_fires(struct inject_rule *r)
{
	uint64_t call = __atomic_add_fetch(&r->calls, 1, __ATOMIC_RELAXED), fired;
	bool due;

	switch (r->when) {
	case WHEN_NTH:
		due = call >= r->n;
		break;
	case WHEN_EVERY:
		due = call % r->n == 0;
		break;
	default:
		due = next_uniform(&r->rng) < r->prob;
		break;
	}
	if (!due)
		return false;
	fired = __atomic_add_fetch(&r->fired, 1, __ATOMIC_RELAXED);
	if (fired == 1)
		note_first_firing(r);
	return fired <= r->count || r->count == 0;
}

int inject_decide(struct inject_rules *rules, unsigned op, const char *path, enum inject_lose *lose)
{
	int error = 0;

	*lose = LOSE_KEEP;
	for (int i = 0; i < rules->n; i++) {
		struct inject_rule *r = &rules->rule[i];

		if (!inject_rule_matches(r, path))
			continue;
		if (op && (op & (op - 1)) == 0 && __builtin_ctz(op) < IOP_KINDS)
			__atomic_add_fetch(&r->seen[__builtin_ctz(op)], 1, __ATOMIC_RELAXED);
		if (!(r->ops & op) || !rule_fires(r) || error)
			continue;
		error = r->error;
		*lose = r->lose;
	}
	return error;
}

/* The name of the single op bit number i ("fsync", ...). */
static const char *inject_op_name(int i)
{
	return i >= 0 && i < IOP_KINDS ? op_table[i].name : "?";
}

void inject_unfired_line(const struct inject_rule *r, int i, bool only_if_seen, char *buf,
			 size_t size)
{
	size_t n = 0;
	bool any = false;

	buf[0] = '\0';
	if (__atomic_load_n(&r->fired, __ATOMIC_RELAXED) != 0)
		return;
	for (int k = 0; k < IOP_KINDS; k++)
		any |= __atomic_load_n(&r->seen[k], __ATOMIC_RELAXED) != 0;
	if (!any && only_if_seen)
		return;
	n = (size_t)snprintf(buf, size, "STICKYSYNC_INJECT rule %d (%s) never fired; ", i + 1,
			     r->spec);
	if (!any) {
		if (n < size)
			snprintf(buf + n, size - n,
				 "no file its path matches was synced, "
				 "written or closed");
		return;
	}
	if (n < size)
		n += (size_t)snprintf(buf + n, size - n, "matching paths saw");
	for (int k = 0; k < IOP_KINDS && n < size; k++) {
		uint64_t c = __atomic_load_n(&r->seen[k], __ATOMIC_RELAXED);

		if (c)
			n += (size_t)snprintf(buf + n, size - n, "%s %s x%llu", any ? "" : ",",
					      inject_op_name(k), (unsigned long long)c);
		any &= !c;
	}
}

static char report_path[PATH_MAX];
static bool atfork_registered;

void inject_set_report(const char *path)
{
	str_copy(report_path, sizeof(report_path), path);
}

/* One line per rule, for the command to add up: "N FIRED S0 ... S6 SPEC".
 * Built without stdio: the first firing is written at once, maybe from a
 * signal handler. */
static void append_rule(int i, uint64_t fired, const uint64_t *seen)
{
	int fd = sys_openat(AT_FDCWD, report_path,
			    O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0);
	struct line l;

	if (fd < 0)
		return;
	line_init(&l);
	line_int(&l, i + 1);
	line_str(&l, " ");
	line_int(&l, (long long)fired);
	for (int k = 0; k < IOP_KINDS; k++) {
		line_str(&l, " ");
		line_int(&l, seen ? (long long)seen[k] : 0);
	}
	line_str(&l, " ");
	line_str(&l, inject_rules.rule[i].spec);
	line_str(&l, "\n");
	sys_write_all(fd, l.buf, l.len);
	sys_close(fd);
}

/* A rule fired for the first time in this process: say so now, for a
 * process that ends by abort() or a signal never reaches its exit report. */
static void note_first_firing(const struct inject_rule *r)
{
	if (report_path[0])
		append_rule((int)(r - inject_rules.rule), 1, NULL);
}

static void append_counts(void)
{
	for (int i = 0; i < inject_rules.n; i++) {
		uint64_t seen[IOP_KINDS];

		for (int k = 0; k < IOP_KINDS; k++)
			seen[k] = __atomic_load_n(&inject_rules.rule[i].seen[k], __ATOMIC_RELAXED);
		append_rule(i, __atomic_load_n(&inject_rules.rule[i].fired, __ATOMIC_RELAXED),
			    seen);
	}
}

/* A forked child reports its own calls, not its parent's again. */
static void forget_counts_in_child(void)
{
	for (int i = 0; i < inject_rules.n; i++) {
		__atomic_store_n(&inject_rules.rule[i].fired, 0, __ATOMIC_RELAXED);
		for (int k = 0; k < IOP_KINDS; k++)
			__atomic_store_n(&inject_rules.rule[i].seen[k], 0, __ATOMIC_RELAXED);
	}
}

void inject_report_unfired(void)
{
	char line[INJECT_SPEC_MAX + 256];

	if (!active)
		return;
	if (report_path[0]) {
		append_counts();
		return;
	}
	for (int i = 0; i < inject_rules.n; i++) {
		inject_unfired_line(&inject_rules.rule[i], i, true, line, sizeof(line));
		if (line[0])
			log_message(line);
	}
}

bool inject_records(const struct inject_rules *rules, const char *path)
{
	for (int i = 0; i < rules->n; i++)
		if (rules->rule[i].lose != LOSE_KEEP && inject_rule_matches(&rules->rule[i], path))
			return true;
	return false;
}

void inject_setup(const char *spec)
{
	char err[320];

	active = loses = false;
	if (!spec || !*spec)
		return;
	if (inject_parse(spec, &inject_rules, err, sizeof(err)) != 0) {
		inject_rules.n = 0;
		log_message(err);
		log_message("STICKYSYNC_INJECT ignored: no faults are injected");
		return;
	}
	active = inject_rules.n > 0;
	if (active && !__atomic_exchange_n(&atfork_registered, true, __ATOMIC_ACQ_REL))
		pthread_atfork(NULL, NULL, forget_counts_in_child);
	for (int i = 0; i < inject_rules.n; i++)
		loses |= inject_rules.rule[i].lose != LOSE_KEEP;
}

bool inject_active(void)
{
	return active;
}

bool inject_loses(void)
{
	return loses;
}
