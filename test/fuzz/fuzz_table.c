/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * A state file of arbitrary bytes.  The table is attached twice, as the
 * library and the command do: latchtab_attach on a heap buffer of exactly
 * the file's length (a read past it is a heap overflow), and state_open on
 * the same bytes written to DIR/latches in a private folder.  Each attached
 * table is then printed as `stickysync status` and `status --json` print it,
 * looked up, latched, acknowledged and pruned, checking on the way that no
 * latch is lost and none invented.
 *
 * Input, so that small inputs reach the records (a header alone is 64 KiB):
 *   byte 0   bits 0-2: capacity, 2^n records; bit 3: raw, the rest of the
 *            input is the file verbatim; bit 4: the header's fixed fields
 *            (magic to pad, 48 bytes) come from the input, else only its
 *            counters (seq, active, live, fs_live: 20 bytes) do; bit 5: an
 *            empty Bloom filter (else all set, so that every lookup probes);
 *            bit 6: the file is cut short by the next byte + 1; bit 7: prune
 *            unacknowledged latches too
 *   then     the header bytes, then the records, verbatim
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>

#include "cli.h"
#include "latchtab.h"
#include "state.h"

enum {
	CTL_RAW = 1 << 3,
	CTL_HEADER = 1 << 4,
	CTL_NO_BLOOM = 1 << 5,
	CTL_CUT = 1 << 6,
	CTL_PRUNE_ACTIVE = 1 << 7,
};

#define FIXED_HEADER offsetof(struct latch_header, bloom)
#define COUNTERS offsetof(struct latch_header, seq)
#define COUNTERS_LEN (offsetof(struct latch_header, pad) - COUNTERS)
#define NOW_NS 1700000000000000000LL

static char dir[PATH_MAX], file[PATH_MAX + 16];
static FILE *devnull;

static void remove_dir(void)
{
	unlink(file);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/stickysync-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(dir), "cannot make a folder in %s", dir);
	snprintf(file, sizeof(file), "%s/" STATE_FILE, dir);
	atexit(remove_dir);
	devnull = fopen("/dev/null", "w");
	FUZZ_CHECK(devnull, "cannot open /dev/null");
	return 0;
}

/* ---- the file ------------------------------------------------------------ */

/* Move up to room bytes of the input (*p, *n left) to dst. */
static void take(uint8_t *dst, size_t room, const uint8_t **p, size_t *n)
{
	size_t k = *n < room ? *n : room;

	if (k)
		memcpy(dst, *p, k);
	*p += k;
	*n -= k;
}

/* The table file the input describes, in a buffer of exactly its length. */
static uint8_t *table_file(const uint8_t *data, size_t size, size_t *len)
{
	uint8_t ctl = size ? data[0] : 0, *full, *cut;
	uint32_t cap = 1u << (ctl & 7);
	const uint8_t *p = data + (size ? 1 : 0);
	size_t n = size ? size - 1 : 0, short_by = 0;

	if (ctl & CTL_RAW) {
		*len = n;
		cut = malloc(n ? n : 1);
		FUZZ_CHECK(cut, "out of memory");
		take(cut, n, &p, &n);
		return cut;
	}
	*len = latchtab_bytes(cap);
	full = calloc(1, *len);
	FUZZ_CHECK(full, "out of memory");
	latchtab_format(full, cap);
	memset(full + FIXED_HEADER, ctl & CTL_NO_BLOOM ? 0 : 0xff, LATCHTAB_BLOOM_BITS / 8);
	if (ctl & CTL_CUT) {
		uint8_t by = 0;

		take(&by, 1, &p, &n);
		short_by = (size_t)by + 1;
	}
	if (ctl & CTL_HEADER)
		take(full, FIXED_HEADER, &p, &n);
	else
		take(full + COUNTERS, COUNTERS_LEN, &p, &n);
	take(full + sizeof(struct latch_header), *len - sizeof(struct latch_header), &p, &n);
	if (!short_by)
		return full;
	*len -= short_by;
	cut = malloc(*len);
	FUZZ_CHECK(cut, "out of memory");
	memcpy(cut, full, *len);
	free(full);
	return cut;
}

/* ---- JSON, checked independently of the printer -------------------------- */

struct json {
	const char *p, *end;
};

static void json_space(struct json *j)
{
	while (j->p < j->end && strchr(" \t\r\n", *j->p) && *j->p)
		j->p++;
}

static bool json_eat(struct json *j, char c)
{
	json_space(j);
	if (j->p >= j->end || *j->p != c)
		return false;
	j->p++;
	return true;
}

/* One UTF-8 encoded code point: decoded, then judged by its value (RFC 3629). */
static bool json_utf8(struct json *j)
{
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	unsigned char c = (unsigned char)*j->p;
	int n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
	uint32_t cp;

	if (n == 0 || c >= 0xf8 || j->end - j->p < n)
		return false;
	cp = c & (0x7f >> n);
	for (int i = 1; i < n; i++) {
		unsigned char b = (unsigned char)j->p[i];

		if ((b & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (b & 0x3f);
	}
	if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	j->p += n;
	return true;
}

/* A string; *bytes counts the bytes of the text it was made from: an escape
 * stands for one byte (\ufffd for one byte that is not UTF-8). */
static bool json_string(struct json *j, size_t *bytes)
{
	*bytes = 0;
	if (!json_eat(j, '"'))
		return false;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;
		const char *at = j->p;

		if (c == '"')
			return j->p++, true;
		if (c < 0x20)
			return false;
		if (c >= 0x80) {
			if (!json_utf8(j))
				return false;
			*bytes += (size_t)(j->p - at);
			continue;
		}
		j->p++;
		++*bytes;
		if (c != '\\')
			continue;
		if (j->p >= j->end)
			return false;
		if (*j->p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (j->p + i >= j->end ||
				    !strchr("0123456789abcdefABCDEF", j->p[i]) || !j->p[i])
					return false;
			j->p += 5;
		} else if (*j->p && strchr("\"\\/bfnrt", *j->p)) {
			j->p++;
		} else {
			return false;
		}
	}
	return false;
}

static bool json_digits(struct json *j)
{
	const char *start = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start;
}

static bool json_number(struct json *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!json_digits(j))
		return false;
	if (j->p < j->end && *j->p == '.' && (j->p++, !json_digits(j)))
		return false;
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		return json_digits(j);
	}
	return true;
}

static bool json_word(struct json *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool json_value(struct json *j, int depth);

/* The text fields of a record: never longer than the record holds. */
static const struct {
	const char *name;
	size_t max;
} text_fields[] = {
    {"\"op\"", REC_OP_MAX - 1},
    {"\"program\"", REC_PROG_MAX - 1},
    {"\"path\"", REC_PATH_MAX - 1},
};

/* "name": value, in an object at depth. */
static bool json_member(struct json *j, int depth)
{
	const char *name;
	size_t len;

	json_space(j);
	name = j->p;
	if (!json_string(j, &len) || !json_eat(j, ':'))
		return false;
	json_space(j);
	if (depth < 2 || j->p >= j->end || *j->p != '"')
		return json_value(j, depth + 1);
	/* a record's member */
	for (size_t i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++) {
		const char *field = text_fields[i].name;

		if ((size_t)(j->p - name) < strlen(field) ||
		    strncmp(name, field, strlen(field)) != 0)
			continue;
		if (!json_string(j, &len))
			return false;
		FUZZ_CHECK(len <= text_fields[i].max,
			   "status --json shows a %s of %zu bytes, more than a record holds", field,
			   len);
		return true;
	}
	return json_value(j, depth + 1);
}

static bool json_value(struct json *j, int depth)
{
	size_t len;

	json_space(j);
	if (j->p >= j->end || depth > 16)
		return false;
	switch (*j->p) {
	case '{':
		j->p++;
		if (json_eat(j, '}'))
			return true;
		do {
			if (!json_member(j, depth))
				return false;
		} while (json_eat(j, ','));
		return json_eat(j, '}');
	case '[':
		j->p++;
		if (json_eat(j, ']'))
			return true;
		do {
			if (!json_value(j, depth + 1))
				return false;
		} while (json_eat(j, ','));
		return json_eat(j, ']');
	case '"':
		return json_string(j, &len);
	case 't':
		return json_word(j, "true");
	case 'f':
		return json_word(j, "false");
	case 'n':
		return json_word(j, "null");
	default:
		return json_number(j);
	}
}

static void check_json(const char *text, size_t len)
{
	struct json j = {text, text + len};

	FUZZ_CHECK(json_value(&j, 0), "status --json printed invalid JSON at byte %td:\n%s",
		   j.p - text, text);
	json_space(&j);
	FUZZ_CHECK(j.p == j.end, "status --json printed more after the JSON value");
}

/* ---- the table ------------------------------------------------------------ */

static unsigned slot_state(const struct latch_record *r)
{
	return (unsigned)(r->state & 0xff);
}

static size_t live_records(const struct latchtab *t)
{
	size_t n = 0;

	for (uint32_t i = 0; i <= t->mask; i++)
		n += slot_state(&t->rec[i]) == SLOT_ACTIVE || slot_state(&t->rec[i]) == SLOT_ACKED;
	return n;
}

/* `status --all` and `status --all --json`: every live record, once. */
static void print_status(const struct latchtab *t)
{
	struct rec_list l;
	char *json = NULL;
	size_t len = 0;
	FILE *f;

	FUZZ_CHECK(records_collect(t, NULL, NULL, &l) == 0, "out of memory");
	FUZZ_CHECK(l.n == live_records(t), "status shows %zu records of %zu", l.n, live_records(t));
	records_print_table(devnull, &l, "");
	f = open_memstream(&json, &len);
	FUZZ_CHECK(f, "out of memory");
	records_print_json(f, &l, dir);
	FUZZ_CHECK(fclose(f) == 0, "out of memory");
	check_json(json, len);
	free(json);
	records_free(&l);
}

/* A lookup's verdict, with what it promises about the record it names. */
static void look_up(const struct latchtab *t, const struct file_key *key, struct latch_view *v)
{
	struct latch_record rec;

	latchtab_lookup(t, key, v);
	FUZZ_CHECK(!v->active || v->found, "active but not found");
	if (!v->found)
		return;
	FUZZ_CHECK(v->slot <= t->mask, "slot %u of %u", v->slot, t->mask + 1);
	FUZZ_CHECK(latchtab_view_record(v, &rec), "the record found has gone");
	FUZZ_CHECK(key_equal(key, &rec.key), "the record found is another file's");
}

/* Latch key, then acknowledge it: neither may be lost. */
static void latch_and_ack(struct latchtab *t, const struct file_key *key)
{
	struct latch_event ev = {.key = *key,
				 .error = EIO,
				 .op = "fsync",
				 .path = "/srv/db/latched",
				 .prog = "fuzz",
				 .pid = (int)getpid(),
				 .when_ns = NOW_NS};
	uint64_t seq = latchtab_next_seq(t);
	struct latch_view v;
	int ret = latchtab_latch(t, &ev, seq);

	FUZZ_CHECK(ret >= -1 && ret <= 1, "latch: %d", ret);
	if (ret < 0)
		return; /* the table is full: the library keeps the latch in-process */
	look_up(t, key, &v);
	FUZZ_CHECK(v.active, "a latch (%d) was lost", ret);
	FUZZ_CHECK(v.latch_seq >= seq, "latched at %llu, found at %llu", (unsigned long long)seq,
		   (unsigned long long)v.latch_seq);
	ret = latchtab_acknowledge(t, key, UINT64_MAX, latchtab_next_seq(t), NOW_NS, NULL);
	FUZZ_CHECK(ret >= 1, "acknowledged %d records of an active latch", ret);
	look_up(t, key, &v);
	FUZZ_CHECK(v.found && !v.active, "after acknowledging: found %d active %d", v.found,
		   v.active);
}

static bool gone_by_seq(const struct latch_record *rec, void *arg)
{
	return rec->latch_seq & 1;
}

/* state_prune_gone looks the path of every live record up in the file
 * system (and opens it when there is no birth time): only when those paths
 * are harmless to open, as root, from arbitrary bytes. */
static bool paths_harmless(const struct latchtab *t)
{
	for (uint32_t i = 0; i <= t->mask; i++) {
		const struct latch_record *r = &t->rec[i];
		unsigned s = slot_state(r);

		if ((s == SLOT_ACTIVE || s == SLOT_ACKED) &&
		    (!fuzz_terminated(r->path, REC_PATH_MAX) || strstr(r->path, "dev")))
			return false;
	}
	return true;
}

static void exercise(struct latchtab *t, uint8_t ctl)
{
	uint32_t records = t->mask + 1 < 16 ? t->mask + 1 : 16;
	struct file_key fresh = {.dev = 0x10305,
				 .ino = 0x5eed,
				 .btime_sec = 1700000000,
				 .btime_nsec = 1,
				 .kind = KEY_FILE,
				 .flags = KEYF_BTIME};
	struct latch_view v;

	print_status(t);
	for (uint32_t i = 0; i < records; i++) {
		struct file_key key = t->rec[i].key;

		look_up(t, &key, &v);
		if (latchtab_dev_active(t, key.dev, &v))
			FUZZ_CHECK(v.found && v.active && v.slot <= t->mask, "dev_active slot %u",
				   v.slot);
	}
	latch_and_ack(t, &fresh);
	for (uint32_t i = 0; i < records; i++) {
		struct file_key key = t->rec[i].key;

		latch_and_ack(t, &key);
	}
	latchtab_prune(t, gone_by_seq, NULL);
	if (paths_harmless(t))
		state_prune_gone(t, ctl & CTL_PRUNE_ACTIVE);
	print_status(t);
}

/* The table file, through state_open as the library and the command open
 * it.  Its verdict must be the buffer's. */
static void through_state_open(const uint8_t *bytes, size_t len, bool attached, uint8_t ctl)
{
	char msg[STATE_MSG_MAX];
	struct state s;
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FUZZ_CHECK(fd >= 0 && write(fd, bytes, len) == (ssize_t)len && close(fd) == 0,
		   "cannot write %s", file);
	msg[0] = '\0';
	if (state_open(&s, dir, false, 0, msg, sizeof(msg)) != 0) {
		FUZZ_CHECK(!attached, "state_open refused a table attach took: %s", msg);
		FUZZ_CHECK(msg[0] && fuzz_terminated(msg, sizeof(msg)) && !strchr(msg, '\n'),
			   "refused with \"%s\"", msg);
		return;
	}
	FUZZ_CHECK(attached, "state_open took a table attach refused");
	exercise(&s.tab, ctl);
	state_close(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ctl = size ? data[0] : 0;
	size_t len;
	uint8_t *bytes = table_file(data, size, &len), *copy = malloc(len ? len : 1);
	struct latchtab t;
	bool attached;

	FUZZ_CHECK(copy, "out of memory");
	if (len)
		memcpy(copy, bytes, len);
	attached = latchtab_attach(&t, bytes, len) == 0;
	FUZZ_CHECK(!attached || latchtab_bytes(t.mask + 1) <= len,
		   "attached %u records in %zu bytes", t.mask + 1, len);
	if (attached)
		exercise(&t, ctl);
	through_state_open(copy, len, attached, ctl);
	free(copy);
	free(bytes);
	return 0;
}
