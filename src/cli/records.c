/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* Reading the latch table's records, and printing them for people and for
 * programs. */
#include <limits.h>
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

/* The length of the well-formed UTF-8 sequence at s, of at most left bytes,
 * or 0 (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t left)
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
	if (n > left)
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

/* U+0080..U+009F: terminals act on them as on ASCII control bytes. */
static bool c1_control(const unsigned char *s, size_t n)
{
	return n == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

const char *record_text(const char *field, size_t size, char *buf, size_t bufsize)
{
	const unsigned char *s = (const unsigned char *)field;
	size_t len = strnlen(field, size), i = 0, o = 0;

	while (i < len && o + 1 < bufsize) {
		size_t n = s[i] < 0x80 ? 1 : utf8_len(s + i, len - i);

		if (n == 0 || (n == 1 && (s[i] < 0x20 || s[i] == 0x7f)) || c1_control(s + i, n) ||
		    o + n >= bufsize) {
			buf[o++] = '?';
			i += n ? n : 1;
			continue;
		}
		memcpy(buf + o, s + i, n);
		o += n;
		i += n;
	}
	buf[o] = '\0';
	return buf;
}

void record_subject(const struct latch_record *r, char *buf, size_t size)
{
	char text[REC_PATH_MAX];
	const char *path =
	    r->path[0] ? record_text(r->path, sizeof(r->path), text, sizeof(text)) : "?";

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

#define ROW_FORMAT "%s%-8s %-8s %-15s %-25s %7d %-15s %s\n"

void records_print_heading(FILE *f, const char *indent)
{
	fprintf(f, "%s%-8s %-8s %-15s %-25s %7s %-15s %s\n", indent, "STATE", "ERROR", "OP", "WHEN",
		"PID", "PROGRAM", "PATH");
}

void records_print_rows(FILE *f, const struct rec_list *l, const char *indent)
{
	char when[48], subject[REC_PATH_MAX + 64], num[16], op[REC_OP_MAX], prog[REC_PROG_MAX];

	for (size_t i = 0; i < l->n; i++) {
		const struct latch_record *r = &l->v[i];

		format_when(r->when_ns, when, sizeof(when));
		record_subject(r, subject, sizeof(subject));
		fprintf(f, ROW_FORMAT, indent, record_acked(r) ? "acked" : "latched",
			error_name(r->error, num, sizeof(num)),
			record_text(r->op, sizeof(r->op), op, sizeof(op)), when, r->pid,
			r->prog[0] ? record_text(r->prog, sizeof(r->prog), prog, sizeof(prog))
				   : "?",
			subject);
	}
}

void records_print_table(FILE *f, const struct rec_list *l, const char *indent)
{
	records_print_heading(f, indent);
	records_print_rows(f, l, indent);
}

/* "PROG@HOST", as people read them. */
static const char *attr_who(const struct latch_attr *a, char *buf, size_t size)
{
	char prog[ATTR_FIELD_MAX], host[ATTR_FIELD_MAX];

	snprintf(buf, size, "%s@%s", record_text(a->prog, sizeof(a->prog), prog, sizeof(prog)),
		 record_text(a->host, sizeof(a->host), host, sizeof(host)));
	return buf;
}

void attr_print_row(FILE *f, const struct latch_attr *a, const char *path, const char *indent)
{
	char when[48], num[16], op[sizeof(a->op)], who[2 * ATTR_FIELD_MAX + 2], text[PATH_MAX];

	format_when(a->when_sec * 1000000000, when, sizeof(when));
	fprintf(f, ROW_FORMAT, indent, a->acked ? "file-ack" : "on-file",
		a->acked ? "-" : error_name(a->error, num, sizeof(num)),
		record_text(a->op, sizeof(a->op), op, sizeof(op)), when, a->pid,
		attr_who(a, who, sizeof(who)),
		record_text(path, strlen(path) + 1, text, sizeof(text)));
}

/* A JSON string of the text in the size bytes of field (up to a zero
 * byte).  File names are bytes, JSON text is Unicode: a byte that is not
 * part of valid UTF-8 becomes U+FFFD; control characters are escaped. */
static void json_string(FILE *f, const char *field, size_t size)
{
	const unsigned char *s = (const unsigned char *)field;
	size_t len = strnlen(field, size), i = 0;

	fputc('"', f);
	while (i < len) {
		size_t n;

		if (s[i] == '"' || s[i] == '\\')
			fprintf(f, "\\%c", s[i++]);
		else if (s[i] < 0x20 || s[i] == 0x7f)
			fprintf(f, "\\u%04x", s[i++]);
		else if (s[i] < 0x80)
			fputc(s[i++], f);
		else if ((n = utf8_len(s + i, len - i)) > 0) {
			fwrite(s + i, 1, n, f);
			i += n;
		} else {
			fputs("\\ufffd", f);
			i++;
		}
	}
	fputc('"', f);
}

static void json_record(FILE *f, const struct latch_record *r)
{
	char when[48], num[16];

	format_when(r->when_ns, when, sizeof(when));
	fputs("    {\"path\": ", f);
	json_string(f, r->path, sizeof(r->path));
	fprintf(f, ", \"kind\": \"%s\", \"dev\": \"%u:%u\", \"ino\": %llu,\n",
		r->key.kind == KEY_FS ? "filesystem" : "file", major(r->key.dev), minor(r->key.dev),
		r->key.kind == KEY_FS ? 0ull : (unsigned long long)r->key.ino);
	fprintf(f, "     \"error\": \"%s\", \"errno\": %d, \"op\": ",
		error_name(r->error, num, sizeof(num)), r->error);
	json_string(f, r->op, sizeof(r->op));
	fprintf(f, ", \"when\": \"%s\", \"when_ns\": %lld,\n", when, (long long)r->when_ns);
	fprintf(f, "     \"pid\": %d, \"program\": ", r->pid);
	json_string(f, r->prog, sizeof(r->prog));
	fprintf(f, ", \"acknowledged\": %s", record_acked(r) ? "true" : "false");
	if (record_acked(r)) {
		format_when(r->ack_ns, when, sizeof(when));
		fprintf(f, ", \"acknowledged_when\": \"%s\"", when);
	}
	fputs("}", f);
}

static void json_attr(FILE *f, const struct attr_found *af)
{
	const struct latch_attr *a = &af->attr;
	char when[48], num[16];

	format_when(a->when_sec * 1000000000, when, sizeof(when));
	fputs("    {\"path\": ", f);
	json_string(f, af->path, strlen(af->path) + 1);
	fprintf(f, ", \"acknowledged\": %s,\n", a->acked ? "true" : "false");
	if (!a->acked)
		fprintf(f, "     \"error\": \"%s\", \"errno\": %d,",
			error_name(a->error, num, sizeof(num)), a->error);
	fputs(" \"op\": ", f);
	json_string(f, a->op, sizeof(a->op));
	fprintf(f, ", \"when\": \"%s\", \"pid\": %d,\n     \"host\": ", when, a->pid);
	json_string(f, a->host, sizeof(a->host));
	fputs(", \"program\": ", f);
	json_string(f, a->prog, sizeof(a->prog));
	fputs("}", f);
}

void records_print_json_paths(FILE *f, const struct rec_list *l, const struct attr_found *af,
			      size_t naf, const char *state_dir)
{
	fputs("{\n  \"state\": ", f);
	json_string(f, state_dir, strlen(state_dir));
	fputs(",\n  \"latches\": [", f);
	for (size_t i = 0; i < l->n; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_record(f, &l->v[i]);
	}
	fputs(l->n ? "\n  ],\n  \"on_file\": [" : "],\n  \"on_file\": [", f);
	for (size_t i = 0; i < naf; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_attr(f, &af[i]);
	}
	fputs(naf ? "\n  ]\n}\n" : "]\n}\n", f);
}

void records_print_json(FILE *f, const struct rec_list *l, const char *state_dir)
{
	fputs("{\n  \"state\": ", f);
	json_string(f, state_dir, strlen(state_dir));
	fputs(",\n  \"latches\": [", f);
	for (size_t i = 0; i < l->n; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_record(f, &l->v[i]);
	}
	fputs(l->n ? "\n  ]\n}\n" : "]\n}\n", f);
}
