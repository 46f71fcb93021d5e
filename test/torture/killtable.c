/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Kill-mid-update torture of the shared latch table.
 *
 *   killtable [-w WORKERS] [-a ALIVE] [-n OPS] [-k KEYS] [-s SEED] [-t HANG]
 *             [-T TIMEOUT] [-c STICKYSYNC] DIR
 *
 * Starts WORKERS processes, ALIVE at a time, each a fresh exec of this
 * program that opens DIR/state (the first ones race to create the table)
 * and latches, acknowledges, relatches, looks up and prunes keys chosen among KEYS,
 * through src/state.c and src/latchtab.c as the library does.  A random half
 * of them is SIGKILLed at a random moment of its life.
 *
 * Before and after each operation a worker appends a record to its own log
 * with one write(2), so a kill leaves at most its last operation in doubt.
 * Afterwards the logs are replayed against the table (see "The model"
 * below): no latch may be lost, none invented, every lookup made during the
 * run must have seen a state some order of the operations allows, lookups
 * of the final table must agree with a raw scan of its records, the header's
 * counters must not under-count, and `stickysync status --json --all` must
 * list exactly the records of the raw scan.  A worker alive after HANG
 * seconds (default 10) is a hang, and so is a run longer than TIMEOUT
 * (default 120); a worker that dies of anything but our SIGKILL is a crash.
 * Exit status 0 when every check passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "latchtab.h"
#include "state.h"

#define CAPACITY 512u
/* Keys are chosen so that their probe sequences all start in the first
 * CLUSTER slots: inserts, acknowledgments and lookups of different keys
 * walk over each other's records. */
#define CLUSTER 32u
#define MAX_KEYS 256
#define LOG_MAGIC 0x4b4c4f47u
#define NONE INT64_MIN

enum kind { OP_LATCH, OP_ACK, OP_LOOKUP, OP_PRUNE, OP_KINDS };
static const char *const kind_name[OP_KINDS] = {"latch", "ack", "lookup", "prune"};
enum { REC_BEGIN = 1, REC_END = 2 };

/* One log record: 24 bytes, written whole by one write(2). */
struct logrec {
	uint32_t magic;
	uint8_t rec;  /* REC_BEGIN or REC_END */
	uint8_t kind; /* enum kind */
	uint16_t key;
	int32_t result; /* latch: latchtab_latch's; ack, prune: records changed; lookup: active */
	uint32_t index;
	int64_t t_ns; /* CLOCK_MONOTONIC */
};

struct opts {
	int workers, alive, ops, keys, timeout, global_timeout;
	unsigned long seed;
	const char *cli, *dir;
};

static struct file_key keys[MAX_KEYS];

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("killtable: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* The same keys in every process: the first n inodes >= 1000 whose probe
 * sequence starts in the cluster. */
static void make_keys(int n)
{
	uint64_t ino = 1000;

	for (int i = 0; i < n; ino++) {
		struct file_key k = {.dev = makedev(7, 77),
				     .ino = ino,
				     .btime_sec = 1700000000,
				     .btime_nsec = (uint32_t)ino,
				     .kind = KEY_FILE,
				     .flags = KEYF_BTIME};

		if ((key_hash(&k) & (CAPACITY - 1)) < CLUSTER)
			keys[i++] = k;
	}
}

static int key_index(const struct file_key *k, int n)
{
	for (int i = 0; i < n; i++)
		if (key_equal(&keys[i], k))
			return i;
	return -1;
}

/* ---- the worker ---------------------------------------------------------- */

static void log_rec(int fd, int rec, int kind, int key, int result, uint32_t index)
{
	struct logrec r = {.magic = LOG_MAGIC,
			   .rec = (uint8_t)rec,
			   .kind = (uint8_t)kind,
			   .key = (uint16_t)key,
			   .result = result,
			   .index = index,
			   .t_ns = mono_ns()};

	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		die("log write: %s", strerror(errno));
}

/* Pruning forgets acknowledged records of one key, as the library does when
 * the table is full, so that later latches of it insert new records. */
static bool acked_of_key(const struct latch_record *rec, void *arg)
{
	return (rec->state & 0xff) == SLOT_ACKED && key_equal(&rec->key, arg);
}

static int do_op(struct latchtab *t, int kind, int k)
{
	char path[64];
	struct timespec now;
	struct latch_event ev = {.key = keys[k], .error = EIO, .op = "fsync", .prog = "killtable"};
	struct latch_view view;

	clock_gettime(CLOCK_REALTIME, &now);
	switch (kind) {
	case OP_LATCH:
		snprintf(path, sizeof(path), "/torture/key-%03d", k);
		ev.path = path;
		ev.pid = getpid();
		ev.when_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
		return latchtab_latch(t, &ev, latchtab_next_seq(t));
	case OP_ACK:
		/* an operator who knows of every loss so far */
		return latchtab_acknowledge(t, &keys[k], UINT64_MAX, latchtab_next_seq(t),
					    (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, NULL);
	case OP_PRUNE:
		return latchtab_prune(t, acked_of_key, &keys[k]);
	default:
		latchtab_lookup(t, &keys[k], &view);
		return view.active;
	}
}

static int worker(const char *dir, int id, unsigned long seed, int ops, int nkeys)
{
	char path[PATH_MAX], msg[STATE_MSG_MAX];
	struct state st;
	uint64_t rng = seed * 0x9e3779b97f4a7c15ULL + (uint64_t)id + 1;
	int fd;

	make_keys(nkeys);
	snprintf(path, sizeof(path), "%s/log.%d", dir, id);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/state", dir);
	if (state_open(&st, path, true, CAPACITY, msg, sizeof(msg)) != 0)
		die("worker %d: %s", id, msg);
	for (int i = 0; i < ops; i++) {
		uint64_t r = rng_next(&rng);
		int k = (int)(r % (uint64_t)nkeys), roll = (int)((r >> 32) % 100);
		int kind = roll < 40   ? OP_LATCH
			   : roll < 65 ? OP_ACK
			   : roll < 85 ? OP_LOOKUP
				       : OP_PRUNE;
		int result;

		log_rec(fd, REC_BEGIN, kind, k, 0, (uint32_t)i);
		result = do_op(&st.tab, kind, k);
		log_rec(fd, REC_END, kind, k, result, (uint32_t)i);
		if (kind == OP_LATCH && result < 0)
			die("worker %d: latch table full (capacity %u)", id, CAPACITY);
	}
	return 0;
}

/* ---- the run: start, kill, reap ------------------------------------------ */

struct worker {
	pid_t pid;
	int64_t start_ns, kill_at, reap_ns; /* kill_at 0: no kill (left) to deliver */
	int status;
	bool reaped, hung;
};

struct run {
	const struct opts *o;
	struct worker *w;
	int started, alive;
	int64_t life_ns; /* running estimate of an unkilled worker's life */
	uint64_t rng;
};

static void start_worker(struct run *r)
{
	struct worker *w = &r->w[r->started];
	char id[16], seed[32], ops[16], nkeys[16];
	int64_t now = mono_ns();

	snprintf(id, sizeof(id), "%d", r->started);
	snprintf(seed, sizeof(seed), "%lu", r->o->seed);
	snprintf(ops, sizeof(ops), "%d", r->o->ops);
	snprintf(nkeys, sizeof(nkeys), "%d", r->o->keys);
	w->start_ns = now;
	w->kill_at = rng_next(&r->rng) % 2
			 ? now + 1 + (int64_t)(rng_next(&r->rng) % (uint64_t)r->life_ns)
			 : 0;
	w->pid = fork();
	if (w->pid < 0)
		die("fork: %s", strerror(errno));
	if (w->pid == 0) {
		execl("/proc/self/exe", "killtable", "--worker", r->o->dir, id, seed, ops, nkeys,
		      (char *)NULL);
		_exit(127);
	}
	r->started++;
	r->alive++;
}

static struct worker *find_worker(struct run *r, pid_t pid)
{
	for (int i = 0; i < r->started; i++)
		if (r->w[i].pid == pid && !r->w[i].reaped)
			return &r->w[i];
	return NULL;
}

static void reap(struct run *r)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct worker *w = find_worker(r, pid);

		if (!w)
			continue;
		w->reaped = true;
		w->status = status;
		w->reap_ns = mono_ns();
		r->alive--;
		/* Kill moments spread over what a whole life takes here. */
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			r->life_ns = (r->life_ns * 7 + (w->reap_ns - w->start_ns)) / 8;
	}
}

/* Deliver due kills; a worker alive past the timeout is hung. */
static void police(struct run *r, int64_t hang_ns)
{
	int64_t now = mono_ns();

	for (int i = 0; i < r->started; i++) {
		struct worker *w = &r->w[i];

		if (w->reaped)
			continue;
		if (w->kill_at && now >= w->kill_at) {
			kill(w->pid, SIGKILL);
			w->kill_at = 0;
		}
		if (!w->hung && now - w->start_ns > hang_ns) {
			fprintf(stderr, "killtable: worker %d (pid %d) hung for %llds: killed\n", i,
				w->pid, (long long)(hang_ns / 1000000000));
			w->hung = true;
			kill(w->pid, SIGKILL);
		}
	}
}

static void run_workers(struct run *r)
{
	const struct opts *o = r->o;
	struct timespec pause = {0, 100000};

	r->life_ns = 20000000;
	r->rng = o->seed * 2654435761u + 1;
	while (r->started < o->workers || r->alive > 0) {
		while (r->alive < o->alive && r->started < o->workers)
			start_worker(r);
		police(r, (int64_t)o->timeout * 1000000000);
		reap(r);
		nanosleep(&pause, NULL);
	}
}

/* ---- the model ------------------------------------------------------------
 *
 * An operation takes effect at one instant between its BEGIN and END
 * records; one in doubt (BEGIN, then its worker was killed) took effect at
 * most when its worker was reaped, or never.  A latch leaves its key ACTIVE,
 * an acknowledgment leaves it not ACTIVE, pruning (acknowledged records
 * only) changes neither.  A lookup over [a, b] may answer
 * "active" only if some latch X may have taken effect before b with no
 * acknowledgment certainly between X and a:
 *
 *     exists latch X: X.begin < b and X.end >= max{Y.begin : certain ack Y, Y.end < a}
 *
 * and "not active" only if no certain latch ended before a, or some
 * acknowledgment Y may come after the latest of them:
 *
 *     exists ack Y: Y.begin < b and Y.end >= max{X.begin : certain latch X, X.end < a}
 *
 * (X.end, Y.end: the worker's reap time when in doubt).  These are necessary
 * conditions of every order the operations could have run in, so a
 * violation is a real defect, never an artefact of timing.  The final table
 * is a lookup with a = b = +infinity.
 */

struct span {
	int64_t begin, end;
};

/* Spans sorted by one end, with the running maximum of the other. */
struct index {
	struct span *v;
	int64_t *max;
	size_t n, cap;
};

struct key_hist {
	struct index all_latch, all_ack;   /* by begin, max of end */
	struct index sure_latch, sure_ack; /* by end, max of begin */
	struct span *lookups;		   /* certain lookups */
	uint8_t *lookup_active;
	size_t nlookups, cap_lookups;
};

static void index_add(struct index *x, int64_t begin, int64_t end)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 256;
		x->v = realloc(x->v, x->cap * sizeof(*x->v));
		if (!x->v)
			die("out of memory");
	}
	x->v[x->n++] = (struct span){begin, end};
}

static int by_begin(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return (x->begin > y->begin) - (x->begin < y->begin);
}

static int by_end(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return (x->end > y->end) - (x->end < y->end);
}

/* Sort by the key end; max[i] = the largest other end among v[0..i]. */
static void index_build(struct index *x, bool key_is_begin)
{
	int64_t m = NONE;

	qsort(x->v, x->n, sizeof(*x->v), key_is_begin ? by_begin : by_end);
	x->max = malloc((x->n + 1) * sizeof(*x->max));
	if (!x->max)
		die("out of memory");
	for (size_t i = 0; i < x->n; i++) {
		int64_t other = key_is_begin ? x->v[i].end : x->v[i].begin;

		m = other > m ? other : m;
		x->max[i] = m;
	}
}

/* The running maximum over the spans whose key end is < limit; NONE if none. */
static int64_t index_max_before(const struct index *x, bool key_is_begin, int64_t limit)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int64_t k = key_is_begin ? x->v[mid].begin : x->v[mid].end;

		if (k < limit)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? x->max[lo - 1] : NONE;
}

static bool active_possible(const struct key_hist *h, int64_t a, int64_t b)
{
	int64_t latest_end = index_max_before(&h->all_latch, true, b);
	int64_t acked_from = index_max_before(&h->sure_ack, false, a);

	return latest_end != NONE && (acked_from == NONE || latest_end >= acked_from);
}

static bool inactive_possible(const struct key_hist *h, int64_t a, int64_t b)
{
	int64_t latched_from = index_max_before(&h->sure_latch, false, a);
	int64_t latest_end = index_max_before(&h->all_ack, true, b);

	return latched_from == NONE || (latest_end != NONE && latest_end >= latched_from);
}

/* ---- reading the logs ---------------------------------------------------- */

struct tally {
	long ops[OP_KINDS], doubt[OP_KINDS], torn, unfinished;
};

static void add_op(struct key_hist *h, const struct logrec *b, const struct logrec *e, int64_t end)
{
	bool sure = e != NULL;

	if (b->kind == OP_LATCH && (!sure || e->result >= 0)) {
		index_add(&h->all_latch, b->t_ns, end);
		if (sure)
			index_add(&h->sure_latch, b->t_ns, end);
	} else if (b->kind == OP_ACK) {
		index_add(&h->all_ack, b->t_ns, end);
		if (sure)
			index_add(&h->sure_ack, b->t_ns, end);
	} else if (b->kind == OP_LOOKUP && sure) {
		if (h->nlookups == h->cap_lookups) {
			h->cap_lookups = h->cap_lookups ? h->cap_lookups * 2 : 256;
			h->lookups = realloc(h->lookups, h->cap_lookups * sizeof(*h->lookups));
			h->lookup_active = realloc(h->lookup_active, h->cap_lookups);
			if (!h->lookups || !h->lookup_active)
				die("out of memory");
		}
		h->lookups[h->nlookups] = (struct span){b->t_ns, end};
		h->lookup_active[h->nlookups++] = (uint8_t)(e->result != 0);
	}
}

/* Replay one worker's log into the histories of the keys. */
static void read_log(const char *dir, int id, const struct worker *w, int nkeys, struct key_hist *h,
		     struct tally *t)
{
	char path[PATH_MAX];
	struct logrec r, b = {0};
	bool open_op = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/log.%d", dir, id);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* killed before its log existed */
	while ((n = read(fd, &r, sizeof(r))) == (ssize_t)sizeof(r)) {
		if (r.magic != LOG_MAGIC || r.key >= nkeys || r.kind >= OP_KINDS)
			die("%s: corrupt record", path);
		if (r.rec == REC_BEGIN) {
			b = r;
			open_op = true;
			continue;
		}
		if (!open_op || r.kind != b.kind || r.key != b.key || r.index != b.index)
			die("%s: END without its BEGIN", path);
		add_op(&h[r.key], &b, &r, r.t_ns);
		t->ops[r.kind]++;
		open_op = false;
	}
	if (n > 0)
		t->torn++; /* a kill in the middle of a log write: that op never began */
	if (open_op) {
		add_op(&h[b.key], &b, NULL, w->reap_ns);
		t->ops[b.kind]++;
		t->doubt[b.kind]++;
		if (!(WIFSIGNALED(w->status) && WTERMSIG(w->status) == SIGKILL))
			t->unfinished++;
	}
	close(fd);
}

/* ---- the final table ----------------------------------------------------- */

struct census {
	int active[MAX_KEYS], acked[MAX_KEYS]; /* records per key, raw scan */
	int status_active[MAX_KEYS], status_acked[MAX_KEYS];
	int unknown, status_unknown, busy, dead;
	int n_active, n_live;
};

static int count_record(const struct latch_record *rec, void *arg)
{
	struct census *c = arg;
	int k = key_index(&rec->key, MAX_KEYS);
	bool acked = (rec->state & 0xff) == SLOT_ACKED;

	if (k < 0 || keys[k].ino == 0) {
		c->unknown++;
		return 0;
	}
	(acked ? c->acked : c->active)[k]++;
	c->n_active += !acked;
	c->n_live++;
	return 0;
}

static void raw_scan(const struct latchtab *t, struct census *c)
{
	latchtab_each(t, count_record, c);
	for (uint32_t i = 0; i <= t->mask; i++) {
		unsigned s = (unsigned)(__atomic_load_n(&t->rec[i].state, __ATOMIC_ACQUIRE) & 0xff);

		c->busy += s == SLOT_BUSY;
		c->dead += s == SLOT_DEAD;
	}
}

/* `stickysync status --json --all`: per key, its records and whether each
 * is acknowledged.  false if the command failed. */
static bool status_scan(const char *cli, const char *state_dir, struct census *c)
{
	char cmd[PATH_MAX * 2 + 64], line[4096];
	FILE *f;
	int k = -1, status;

	snprintf(cmd, sizeof(cmd), "'%s' status --json --all --state '%s'", cli, state_dir);
	f = popen(cmd, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if ((p = strstr(line, "\"ino\": "))) {
			unsigned long long ino = strtoull(p + 7, NULL, 10);

			k = -1;
			for (int i = 0; i < MAX_KEYS && keys[i].ino; i++)
				if (keys[i].ino == ino)
					k = i;
		}
		if ((p = strstr(line, "\"acknowledged\": "))) {
			bool acked = strncmp(p + 16, "true", 4) == 0;

			if (k < 0)
				c->status_unknown++;
			else
				(acked ? c->status_acked : c->status_active)[k]++;
			k = -1;
		}
	}
	status = pclose(f);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- the verdict --------------------------------------------------------- */

struct verdict {
	long lost, invented, must, mustnt, either, lookups, lookup_lost, lookup_invented, disagree,
	    status_diff, failures;
};

static void check_keys(const struct opts *o, struct key_hist *h, const struct latchtab *t,
		       const struct census *c, struct verdict *v)
{
	for (int k = 0; k < o->keys; k++) {
		struct latch_view view;
		bool can_on = active_possible(&h[k], INT64_MAX, INT64_MAX);
		bool can_off = inactive_possible(&h[k], INT64_MAX, INT64_MAX);
		bool raw_on = c->active[k] > 0;

		latchtab_lookup(t, &keys[k], &view);
		v->must += can_on && !can_off;
		v->mustnt += can_off && !can_on;
		v->either += can_on && can_off;
		if (view.active != raw_on) {
			v->disagree++;
			printf("  key %d: lookup says %s, the raw scan has %d ACTIVE records\n", k,
			       view.active ? "active" : "not active", c->active[k]);
		}
		if (!view.active && !can_off) {
			v->lost++;
			printf("  LOST: key %d was latched and is not ACTIVE\n", k);
		}
		if (view.active && !can_on) {
			v->invented++;
			printf("  INVENTED: key %d is ACTIVE but no latch can explain it\n", k);
		}
		if (c->status_active[k] != c->active[k] || c->status_acked[k] != c->acked[k]) {
			v->status_diff++;
			printf("  key %d: status lists %d active + %d acked records, the raw scan "
			       "%d + %d\n",
			       k, c->status_active[k], c->status_acked[k], c->active[k],
			       c->acked[k]);
		}
		for (size_t i = 0; i < h[k].nlookups; i++) {
			const struct span *s = &h[k].lookups[i];
			bool on = h[k].lookup_active[i];

			v->lookups++;
			if (!on && !inactive_possible(&h[k], s->begin, s->end))
				v->lookup_lost++;
			if (on && !active_possible(&h[k], s->begin, s->end))
				v->lookup_invented++;
		}
	}
}

static int fail_if(struct verdict *v, bool bad, const char *what)
{
	printf("  %-4s %s\n", bad ? "FAIL" : "ok", what);
	v->failures += bad;
	return bad;
}

static int analyse(const struct opts *o, const struct worker *w)
{
	char state_dir[PATH_MAX], msg[STATE_MSG_MAX], line[256];
	struct key_hist *h = calloc((size_t)o->keys, sizeof(*h));
	struct census *c = calloc(1, sizeof(*c));
	struct tally t = {0};
	struct verdict v = {0};
	struct state st;
	int killed = 0, finished = 0, crashed = 0, hung = 0;
	bool status_ok;

	if (!h || !c)
		die("out of memory");
	for (int i = 0; i < o->workers; i++) {
		int s = w[i].status;

		hung += w[i].hung;
		if (WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL)
			killed += !w[i].hung;
		else if (WIFEXITED(s) && WEXITSTATUS(s) == 0)
			finished++;
		else {
			crashed++;
			printf("  worker %d (pid %d) ended badly: %s %d\n", i, w[i].pid,
			       WIFSIGNALED(s) ? "signal" : "exit status",
			       WIFSIGNALED(s) ? WTERMSIG(s) : WEXITSTATUS(s));
		}
		read_log(o->dir, i, &w[i], o->keys, h, &t);
	}
	for (int k = 0; k < o->keys; k++) {
		index_build(&h[k].all_latch, true);
		index_build(&h[k].all_ack, true);
		index_build(&h[k].sure_latch, false);
		index_build(&h[k].sure_ack, false);
	}
	printf("killtable: execs %d, killed %d, finished %d, crashed %d, hung %d\n", o->workers,
	       killed, finished, crashed, hung);
	printf("killtable: operations");
	for (int k = 0; k < OP_KINDS; k++)
		printf(" %s %ld (%ld in doubt)", kind_name[k], t.ops[k], t.doubt[k]);
	printf("; torn log records %ld\n", t.torn);
	snprintf(state_dir, sizeof(state_dir), "%s/state", o->dir);
	if (state_open(&st, state_dir, false, 0, msg, sizeof(msg)) != 0) {
		printf("  FAIL the table cannot be opened: %s\n", msg);
		return 1;
	}
	raw_scan(&st.tab, c);
	status_ok = status_scan(o->cli, state_dir, c);
	check_keys(o, h, &st.tab, c, &v);
	printf("killtable: records %d ACTIVE, %d ACKED, %d BUSY left by kills, %d unknown; "
	       "header counts active %d, live %d\n",
	       c->n_active, c->n_live - c->n_active, c->busy, c->unknown,
	       (int32_t)st.tab.hdr->active, (int32_t)st.tab.hdr->live);
	printf("killtable: keys that must be latched %ld, must not be %ld, either %ld\n", v.must,
	       v.mustnt, v.either);
	printf("killtable: lost %ld, invented %ld; lookups during the run %ld: %ld missed a "
	       "latch, %ld saw one that cannot be\n",
	       v.lost, v.invented, v.lookups, v.lookup_lost, v.lookup_invented);
	fail_if(&v, crashed > 0, "no worker crashed or failed");
	fail_if(&v, hung > 0, "no worker hung");
	fail_if(&v, t.unfinished > 0, "every worker that was not killed logged all its operations");
	fail_if(&v, v.lost > 0, "no latch lost");
	fail_if(&v, v.invented > 0 || c->unknown > 0, "no latch invented");
	fail_if(&v, v.lookup_lost + v.lookup_invented > 0, "every lookup during the run was right");
	fail_if(&v, v.disagree > 0, "lookups of the final table agree with a raw scan");
	/* Read as signed: an under-count below zero wraps around. */
	fail_if(&v,
		(int32_t)st.tab.hdr->active < c->n_active || (int32_t)st.tab.hdr->live < c->n_live,
		"the header's counters do not under-count");
	snprintf(line, sizeof(line),
		 "stickysync status --json --all agrees with the raw scan (%d "
		 "records)",
		 c->n_live);
	fail_if(&v, !status_ok || v.status_diff > 0 || c->status_unknown != c->unknown, line);
	state_close(&st);
	return v.failures ? 1 : 0;
}

/* ---- main ---------------------------------------------------------------- */

static struct run *the_run;

/* The whole run took too long (SIGALRM: something hangs that the per-worker
 * limit did not catch, the run itself or the analysis), or the caller's
 * bound did (SIGTERM): no worker may outlive the run. */
static void on_timeout(int sig)
{
	static const char msg[] = "killtable: FAIL global timeout: the run hangs\n";

	(void)sig;
	for (int i = 0; i < the_run->started; i++)
		if (!the_run->w[i].reaped)
			kill(the_run->w[i].pid, SIGKILL);
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(3);
}

static void usage(void)
{
	die("usage: killtable [-w WORKERS] [-a ALIVE] [-n OPS] [-k KEYS] [-s SEED] [-t HANG] "
	    "[-T TIMEOUT] [-c STICKYSYNC] DIR");
}

static void parse(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){.workers = 300,
			   .alive = 24,
			   .ops = 2000,
			   .keys = 64,
			   .timeout = 10,
			   .global_timeout = 120,
			   .seed = (unsigned long)time(NULL),
			   .cli = "build/stickysync"};
	while ((c = getopt(argc, argv, "w:a:n:k:s:t:T:c:")) != -1) {
		switch (c) {
		case 'w':
			o->workers = atoi(optarg);
			break;
		case 'a':
			o->alive = atoi(optarg);
			break;
		case 'n':
			o->ops = atoi(optarg);
			break;
		case 'k':
			o->keys = atoi(optarg);
			break;
		case 's':
			o->seed = strtoul(optarg, NULL, 0);
			break;
		case 't':
			o->timeout = atoi(optarg);
			break;
		case 'T':
			o->global_timeout = atoi(optarg);
			break;
		case 'c':
			o->cli = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || o->workers < 1 || o->alive < 1 || o->ops < 1 || o->keys < 1 ||
	    o->keys > MAX_KEYS || o->timeout < 1 || o->global_timeout < 1)
		usage();
	o->dir = argv[optind];
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run r = {0};
	int ret;

	if (argc == 7 && strcmp(argv[1], "--worker") == 0)
		return worker(argv[2], atoi(argv[3]), strtoul(argv[4], NULL, 10), atoi(argv[5]),
			      atoi(argv[6]));
	parse(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	make_keys(o.keys);
	r.o = &o;
	r.w = calloc((size_t)o.workers, sizeof(*r.w));
	if (!r.w)
		die("out of memory");
	printf("killtable: %d workers, %d at a time, %d operations each on %d keys (table of %u "
	       "records), half SIGKILLed at random; seed %lu\n",
	       o.workers, o.alive, o.ops, o.keys, CAPACITY, o.seed);
	the_run = &r;
	signal(SIGALRM, on_timeout);
	signal(SIGTERM, on_timeout);
	alarm((unsigned)o.global_timeout);
	run_workers(&r);
	ret = analyse(&o, r.w);
	alarm(0);
	printf("killtable: %s\n", ret ? "FAIL" : "PASS");
	return ret;
}
