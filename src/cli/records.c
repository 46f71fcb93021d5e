/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* Reading the latch table's records, and printing them for people and for
 * programs. */
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "cli.h"

struct collect_ctx {
	bool (*keep)(const struct latch_record *rec, void *arg);
	void *arg;
	struct rec_list *out;
};

static int collect_one(const struct latch_record *rec, void *arg)
{
	struct collect_ctx *c = arg;
	struct rec_list *l = c->out;

	if (c->keep && !c->keep(rec, c->arg))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct latch_record *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *rec;
	return 0;
}

/* Oldest first: the order in which the losses happened. */
static int by_time(const void *a, const void *b)
{
	const struct latch_record *x = a, *y = b;

	if (x->when_ns != y->when_ns)
		return x->when_ns < y->when_ns ? -1 : 1;
	return x->latch_seq < y->latch_seq ? -1 : x->latch_seq > y->latch_seq;
}

int records_collect(const struct latchtab *t,
		    bool (*keep)(const struct latch_record *rec, void *arg), void *arg,
		    struct rec_list *out)
{
	struct collect_ctx c = {keep, arg, out};

	memset(out, 0, sizeof(*out));
	if (latchtab_each(t, collect_one, &c) != 0) {
		records_free(out);
		return -1;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(out->v[0]), by_time);
	return 0;
}

void records_free(struct rec_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

bool record_acked(const struct latch_record *r)
{
	return (r->state & 0xff) == SLOT_ACKED;
}

void format_when(int64_t ns, char *buf, size_t size)
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	long off;
	size_t n;

	if (!localtime_r(&sec, &tm) || (n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		snprintf(buf, size, "?");
		return;
	}
	/* ISO 8601 wants the offset as +hh:mm next to an extended-format time;
	 * strftime's %z gives +hhmm. */
	off = tm.tm_gmtoff / 60;
	snprintf(buf + n, size - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 60,
		 labs(off) % 60);
}

void record_subject(const struct latch_record *r, char *buf, size_t size)
{
	const char *path = r->path[0] ? r->path : "?";

	if (r->key.kind == KEY_FS)
		snprintf(buf, size, "filesystem %u:%u (synced through %s)", major(r->key.dev),
			 minor(r->key.dev), path);
	else
		snprintf(buf, size, "%s", path);
}

static const char *error_name(int err, char *buf, size_t size)
{
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, size, "%d", err);
	return buf;
}

void records_print_table(FILE *f, const struct rec_list *l, const char *indent)
{
	char when[48], subject[REC_PATH_MAX + 64], num[16];

	fprintf(f, "%s%-8s %-8s %-15s %-25s %7s %-15s %s\n", indent, "STATE", "ERROR", "OP", "WHEN",
		"PID", "PROGRAM", "PATH");
	for (size_t i = 0; i < l->n; i++) {
		const struct latch_record *r = &l->v[i];

		format_when(r->when_ns, when, sizeof(when));
		record_subject(r, subject, sizeof(subject));
		fprintf(f, "%s%-8s %-8s %-15s %-25s %7d %-15s %s\n", indent,
			record_acked(r) ? "acked" : "latched",
			error_name(r->error, num, sizeof(num)), r->op, when, r->pid,
			r->prog[0] ? r->prog : "?", subject);
	}
}

/* The length of the well-formed UTF-8 sequence at s, or 0 (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string.  File names are bytes, JSON text is Unicode: a byte that
 * is not part of valid UTF-8 becomes U+FFFD. */
static void json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		size_t n;

		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s++);
		else if (*s < 0x20)
			fprintf(f, "\\u%04x", *s++);
		else if (*s < 0x80)
			fputc(*s++, f);
		else if ((n = utf8_len(s)) > 0) {
			fwrite(s, 1, n, f);
			s += n;
		} else {
			fputs("\\ufffd", f);
			s++;
		}
	}
	fputc('"', f);
}

static void json_record(FILE *f, const struct latch_record *r)
{
	char when[48], num[16];

	format_when(r->when_ns, when, sizeof(when));
	fputs("    {\"path\": ", f);
	json_string(f, r->path);
	fprintf(f, ", \"kind\": \"%s\", \"dev\": \"%u:%u\", \"ino\": %llu,\n",
		r->key.kind == KEY_FS ? "filesystem" : "file", major(r->key.dev), minor(r->key.dev),
		r->key.kind == KEY_FS ? 0ull : (unsigned long long)r->key.ino);
	fprintf(f, "     \"error\": \"%s\", \"errno\": %d, \"op\": ",
		error_name(r->error, num, sizeof(num)), r->error);
	json_string(f, r->op);
	fprintf(f, ", \"when\": \"%s\", \"when_ns\": %lld,\n", when, (long long)r->when_ns);
	fprintf(f, "     \"pid\": %d, \"program\": ", r->pid);
	json_string(f, r->prog);
	fprintf(f, ", \"acknowledged\": %s", record_acked(r) ? "true" : "false");
	if (record_acked(r)) {
		format_when(r->ack_ns, when, sizeof(when));
		fprintf(f, ", \"acknowledged_when\": \"%s\"", when);
	}
	fputs("}", f);
}

void records_print_json(FILE *f, const struct rec_list *l, const char *state_dir)
{
	fputs("{\n  \"state\": ", f);
	json_string(f, state_dir);
	fputs(",\n  \"latches\": [", f);
	for (size_t i = 0; i < l->n; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_record(f, &l->v[i]);
	}
	fputs(l->n ? "\n  ]\n}\n" : "]\n}\n", f);
}
