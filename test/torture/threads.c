/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Threads torture: many threads open, dup, write, fsync, close and
 * acknowledge, on files of their own and on shared ones, while chosen files
 * fail; every fsync result is checked against what stickysync promises.
 *
 *   LD_PRELOAD=libstickysync.so threads [-t THREADS] [-c CHURNERS] [-r ROUNDS]
 *                       [-n ITERATIONS] [-a TRIALS] [-p PAIRS] [-s SEED] DIR
 *
 * DIR must be an empty private folder.  The program sets STICKYSYNC_STATE,
 * STICKYSYNC_LOG and STICKYSYNC_INJECT (the failures it plans) and runs
 * itself again with them.
 *
 * Each round r makes fail-r fail once (an injected ENOSPC on its first
 * fsync), in phases separated by barriers:
 *   open    every thread opens witnesses of fail-r (open, dup, dup2);
 *   fail    one thread fsyncs one of them: ENOSPC;
 *   latched every witness fsync fails, a fresh fd's fsync fails, and
 *           acknowledging through a witness is refused (EBUSY);
 *   ack     one thread acknowledges through a fresh fd;
 *   race    CHURNERS threads open a fresh fd of an acknowledged file, write,
 *           fsync, dup, fsync, close, as fast as they can, so that fd numbers
 *           pass between threads while the others fsync and dup witnesses
 *           and fsync files that never failed.
 * Then PAIRS pairs of threads race, TRIALS times, an acknowledgment against
 * a new failure of the same file (ackrace-P fails on every fsync): the
 * acknowledging fd was opened before that failure, so whichever wins (the
 * acknowledgment, or EBUSY), the file must still be latched afterwards.
 * Last, every witness is closed and every file must sync.
 *
 * The model: a file that failed must fail on every fd that existed then (a
 * success is LOST), and on every fd until it is acknowledged; a file that
 * never failed must never fail (FALSE); a fd opened after the
 * acknowledgment must succeed (SPURIOUS EIO).  Exit status 0 when all counts
 * are 0.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "stickysync.h"

#define MAX_THREADS 16
#define MAX_ROUNDS 15 /* one injection rule each, and one for ackrace */
#define SHARED_FILES 3
#define WITNESSES 3			   /* per thread and round: open, dup, dup2 */
#define PHASE_LIMIT_NS (20LL * 1000000000) /* a phase longer than this is cut short */
#define HANG_S 120			   /* the whole run longer than this is a hang */
#define STR_(x) #x
#define STR(x) STR_(x)

struct opts {
	int threads, churners, rounds, iterations, trials, pairs;
	unsigned long seed;
	const char *dir;
};

/* Every count is updated with atomics: threads share them. */
struct counts {
	long fsyncs, lost, false_fail, spurious, fresh_on_acked;
	long witness_fsyncs, ack_errors, witness_ack_accepted, injected_missing, bad_errno;
	long trials, trial_acked, trial_busy, trial_overlap, trial_lost, cut_short;
};

struct world {
	struct opts o;
	pthread_barrier_t bar;
	struct counts n;
};

struct pair {
	int arrived;
	int stop; /* the phase's time is up: no more trials */
	int64_t deadline;
	/* How long the acker waits before acknowledging: it follows the
	 * boundary between "acknowledged first" and "refused, the failure came
	 * first", where the two calls overlap. */
	unsigned delay;
	/* When each side's call ran, to count the trials where they overlapped. */
	int64_t ack_begin, ack_end, fail_begin, fail_end;
};

struct thread {
	struct world *w;
	int id;
	uint64_t rng;
	int witness[MAX_ROUNDS * WITNESSES];
	int nwitness;
	struct pair *pair;
	int pair_gen;
};

static char payload[256];

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("threads: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

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

static void count(long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static long get(const long *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static int open_file(const struct world *w, const char *name, int i)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s-%d", w->o.dir, name, i);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	return fd;
}

static void write_some(int fd)
{
	if (write(fd, payload, sizeof(payload)) != (ssize_t)sizeof(payload))
		die("write: %s", strerror(errno));
}

static int dup_fd(int fd)
{
	int d = dup(fd);

	if (d < 0)
		die("dup %d: %s", fd, strerror(errno));
	return d;
}

static void close_fd(int fd)
{
	if (close(fd) != 0)
		die("close %d: %s", fd, strerror(errno));
}

/* ---- the model: each fsync against what it must return -------------------- */

/* The file never failed: fsync must succeed. */
static void sync_clean(struct world *w, int fd)
{
	count(&w->n.fsyncs);
	if (fsync(fd) != 0 && __atomic_add_fetch(&w->n.false_fail, 1, __ATOMIC_RELAXED) <= 3)
		fprintf(stderr,
			"threads: FALSE failure: fsync(%d) of a file that never failed: %s\n", fd,
			strerror(errno));
}

/* The file is latched for this fd: fsync must fail with EIO. */
static void sync_latched(struct world *w, int fd)
{
	count(&w->n.fsyncs);
	if (fsync(fd) == 0) {
		count(&w->n.lost);
		return;
	}
	if (errno != EIO)
		count(&w->n.bad_errno);
}

/* A fresh fd of an acknowledged file: fsync must succeed. */
static void sync_fresh(struct world *w, int fd)
{
	count(&w->n.fsyncs);
	count(&w->n.fresh_on_acked);
	if (fsync(fd) != 0)
		count(&w->n.spurious);
}

/* Files that never fail, used by every phase between the checks. */
static void clean_work(struct thread *t)
{
	struct world *w = t->w;
	int own = open_file(w, "own", t->id);
	int shared = open_file(w, "shared", (int)(rng_next(&t->rng) % SHARED_FILES));
	int copy = dup_fd(shared);

	write_some(own);
	sync_clean(w, own);
	write_some(shared);
	sync_clean(w, copy);
	sync_clean(w, shared);
	close_fd(copy);
	close_fd(shared);
	close_fd(own);
}

/* ---- one round ------------------------------------------------------------ */

/* A number for dup2 that no other thread uses: counted down from the top
 * of the fd limit, far above the numbers open and dup hand out. */
static int private_fd_number(const struct thread *t, int round)
{
	struct rlimit lim;
	rlim_t top = getrlimit(RLIMIT_NOFILE, &lim) == 0 ? lim.rlim_cur : 1024;

	if (top > 4096)
		top = 4096;
	return (int)top - 1 - (t->id * MAX_ROUNDS + round);
}

static void open_witnesses(struct thread *t, int round)
{
	int fd = open_file(t->w, "fail", round);
	int high = private_fd_number(t, round);

	write_some(fd);
	t->witness[t->nwitness++] = fd;
	t->witness[t->nwitness++] = dup_fd(fd);
	if (dup2(fd, high) != high)
		die("dup2: %s", strerror(errno));
	t->witness[t->nwitness++] = high;
}

static void fail_once(struct thread *t, int round)
{
	struct world *w = t->w;
	int fd = t->witness[round * WITNESSES];

	count(&w->n.fsyncs);
	if (fsync(fd) == 0 || errno != ENOSPC) {
		count(&w->n.injected_missing);
		fprintf(stderr, "threads: the injected failure of fail-%d did not happen (%s)\n",
			round, strerror(errno));
	}
}

static void check_latched(struct thread *t, int round)
{
	struct world *w = t->w;
	int fresh = open_file(w, "fail", round);

	for (int i = 0; i < t->nwitness; i++) {
		count(&w->n.witness_fsyncs);
		sync_latched(w, t->witness[i]);
	}
	sync_latched(w, fresh); /* not acknowledged yet: every fd fails */
	if (stickysync_acknowledge(t->witness[round * WITNESSES + 1]) == 0 || errno != EBUSY)
		count(&w->n.witness_ack_accepted);
	close_fd(fresh);
}

static void acknowledge(struct thread *t, int round)
{
	struct world *w = t->w;
	int fd = open_file(w, "fail", round);

	write_some(fd);
	if (stickysync_acknowledge(fd) != 0) {
		count(&w->n.ack_errors);
		fprintf(stderr, "threads: acknowledging fail-%d through a fresh fd: %s\n", round,
			strerror(errno));
	}
	sync_fresh(w, fd);
	close_fd(fd);
}

/* A fresh fd of an acknowledged file, as fast as possible: its number was
 * probably another thread's a moment ago. */
static void churn(struct thread *t, int round)
{
	struct world *w = t->w;
	int fd = open_file(w, "fail", (int)(rng_next(&t->rng) % (uint64_t)(round + 1)));
	int d;

	write_some(fd);
	sync_fresh(w, fd);
	d = dup_fd(fd);
	sync_fresh(w, d);
	close_fd(d);
	close_fd(fd);
}

static void witness_work(struct thread *t)
{
	struct world *w = t->w;
	int fd = t->witness[rng_next(&t->rng) % (uint64_t)t->nwitness], d;

	count(&w->n.witness_fsyncs);
	sync_latched(w, fd);
	d = dup_fd(fd);
	count(&w->n.witness_fsyncs);
	sync_latched(w, d);
	close_fd(d);
}

static void race(struct thread *t, int round)
{
	struct world *w = t->w;
	int64_t deadline = mono_ns() + PHASE_LIMIT_NS;

	for (int i = 0; i < w->o.iterations; i++) {
		if (t->id < w->o.churners) {
			churn(t, round);
		} else {
			witness_work(t);
			clean_work(t);
		}
		if ((i & 255) == 0 && mono_ns() > deadline) {
			count(&w->n.cut_short);
			break;
		}
	}
}

static void round_of(struct thread *t, int r)
{
	struct world *w = t->w;

	open_witnesses(t, r);
	clean_work(t);
	pthread_barrier_wait(&w->bar);
	if (t->id == r % w->o.threads)
		fail_once(t, r);
	else
		clean_work(t);
	pthread_barrier_wait(&w->bar);
	check_latched(t, r);
	pthread_barrier_wait(&w->bar);
	if (t->id == (r + 1) % w->o.threads)
		acknowledge(t, r);
	pthread_barrier_wait(&w->bar);
	race(t, r);
	pthread_barrier_wait(&w->bar);
}

/* ---- an acknowledgment racing a failure ------------------------------------ */

/* Two threads meet; spinning keeps both on a core so the race is tight. */
static void pair_wait(struct thread *t)
{
	int target = 2 * ++t->pair_gen;

	__atomic_add_fetch(&t->pair->arrived, 1, __ATOMIC_ACQ_REL);
	for (int spins = 0; __atomic_load_n(&t->pair->arrived, __ATOMIC_ACQUIRE) < target;)
		if (++spins % 64 == 0)
			sched_yield();
}

static void spin(unsigned n)
{
	for (volatile unsigned i = n; i > 0; i--)
		;
}

static bool latched_now(struct world *w, int fd)
{
	struct stickysync_status st;

	if (stickysync_status(fd, &st) != 0)
		die("stickysync_status: %s", strerror(errno));
	return st.file_latched;
}

/* The acknowledging side: its fd is opened after the previous latch, and
 * before the failure it races. */
static void ackrace_acker(struct thread *t, int pair)
{
	struct world *w = t->w;
	int fa, fc, ret;

	pair_wait(t); /* the failer latched the file */
	fa = open_file(w, "ackrace", pair);
	pair_wait(t);
	spin(t->pair->delay + (unsigned)(rng_next(&t->rng) % (t->pair->delay / 4 + 200)));
	t->pair->ack_begin = mono_ns();
	ret = stickysync_acknowledge(fa);
	t->pair->ack_end = mono_ns();
	if (ret == 0) {
		count(&w->n.trial_acked);
		t->pair->delay += t->pair->delay / 8 + 20;
	} else if (errno == EBUSY) {
		count(&w->n.trial_busy);
		t->pair->delay -= t->pair->delay / 8;
	} else {
		count(&w->n.ack_errors);
	}
	pair_wait(t); /* the failer's new failure is done */
	if (t->pair->ack_begin < t->pair->fail_end && t->pair->fail_begin < t->pair->ack_end)
		count(&w->n.trial_overlap);
	fc = open_file(w, "ackrace", pair);
	count(&w->n.trials);
	if (!latched_now(w, fc))
		count(&w->n.trial_lost);
	if (stickysync_acknowledge(fc) != 0 || latched_now(w, fc))
		count(&w->n.ack_errors);
	close_fd(fc);
	close_fd(fa);
	if (mono_ns() > t->pair->deadline) {
		count(&w->n.cut_short);
		__atomic_store_n(&t->pair->stop, 1, __ATOMIC_RELEASE);
	}
	pair_wait(t);
}

static void ackrace_failer(struct thread *t, int fd)
{
	struct world *w = t->w;

	count(&w->n.fsyncs);
	if (fsync(fd) == 0 || errno != ENOSPC)
		count(&w->n.injected_missing);
	pair_wait(t);
	pair_wait(t);
	count(&w->n.fsyncs);
	t->pair->fail_begin = mono_ns();
	if (fsync(fd) == 0 || errno != ENOSPC)
		count(&w->n.injected_missing);
	t->pair->fail_end = mono_ns();
	pair_wait(t);
	pair_wait(t);
}

/* The two sides of a race on two different cores, when there are two: on
 * one core they would only take turns. */
static void pin_to_cpu(int i)
{
	cpu_set_t allowed, one;
	int seen = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) < 2)
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || seen++ != i)
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		sched_setaffinity(0, sizeof(one), &one);
		return;
	}
}

static void ackrace(struct thread *t, struct pair *pairs)
{
	struct world *w = t->w;
	int pair = t->id / 2, fd = -1;

	if (pair >= w->o.pairs)
		return; /* not racing: the pairs get the cores */
	t->pair = &pairs[pair];
	pin_to_cpu(t->id % 2);
	if (t->id % 2)
		fd = open_file(w, "ackrace", pair);
	else
		t->pair->deadline = mono_ns() + PHASE_LIMIT_NS; /* only the acker reads it */
	for (int i = 0; i < w->o.trials; i++) {
		if (t->id % 2)
			ackrace_failer(t, fd);
		else
			ackrace_acker(t, pair);
		/* set by the acker before the trial's last meeting */
		if (__atomic_load_n(&t->pair->stop, __ATOMIC_ACQUIRE))
			break;
	}
	if (fd >= 0)
		close_fd(fd);
}

/* ---- the run ---------------------------------------------------------------- */

static struct pair pairs[MAX_THREADS / 2];

static void *thread_main(void *arg)
{
	struct thread *t = arg;
	struct world *w = t->w;

	for (int r = 0; r < w->o.rounds; r++)
		round_of(t, r);
	ackrace(t, pairs);
	pthread_barrier_wait(&w->bar);
	for (int i = 0; i < t->nwitness; i++)
		close_fd(t->witness[i]);
	pthread_barrier_wait(&w->bar);
	/* Nothing is latched any more and no witness is left. */
	for (int r = 0; r < w->o.rounds; r++) {
		int fd = open_file(w, "fail", r);

		sync_fresh(w, fd);
		close_fd(fd);
	}
	return NULL;
}

static void usage(void)
{
	die("usage: LD_PRELOAD=libstickysync.so threads [-t THREADS] [-c CHURNERS] [-r ROUNDS] "
	    "[-n ITERATIONS] [-a TRIALS] [-p PAIRS] [-s SEED] DIR");
}

static void parse(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){.threads = 8,
			   .churners = 3,
			   .rounds = 3,
			   .iterations = 2000,
			   .trials = 1000,
			   .pairs = 1,
			   .seed = 1};
	while ((c = getopt(argc, argv, "t:c:r:n:a:p:s:")) != -1) {
		switch (c) {
		case 't':
			o->threads = atoi(optarg);
			break;
		case 'c':
			o->churners = atoi(optarg);
			break;
		case 'r':
			o->rounds = atoi(optarg);
			break;
		case 'n':
			o->iterations = atoi(optarg);
			break;
		case 'a':
			o->trials = atoi(optarg);
			break;
		case 'p':
			o->pairs = atoi(optarg);
			break;
		case 's':
			o->seed = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || o->threads < 2 || o->threads > MAX_THREADS || o->churners < 0 ||
	    o->churners >= o->threads || o->rounds < 1 || o->rounds > MAX_ROUNDS ||
	    o->iterations < 0 || o->trials < 0 || o->pairs < 0 || o->pairs > o->threads / 2)
		usage();
	o->dir = argv[optind];
}

static bool env_is(const char *name, const char *value)
{
	const char *v = getenv(name);

	return v && strcmp(v, value) == 0;
}

/* The library reads its settings once, before main: set them and start
 * again, unless this already is the second start. */
static void settle_environment(const struct opts *o, char **argv)
{
	char state[PATH_MAX], log[PATH_MAX], inject[MAX_ROUNDS * 64 + 64];
	size_t n = 0;

	snprintf(state, sizeof(state), "%s/state", o->dir);
	snprintf(log, sizeof(log), "%s/stickysync.log", o->dir);
	for (int r = 0; r < o->rounds; r++)
		n += (size_t)snprintf(inject + n, sizeof(inject) - n,
				      "op=fsync,path=*/fail-%d,nth=1,count=1,errno=ENOSPC;", r);
	snprintf(inject + n, sizeof(inject) - n, "op=fsync,path=*/ackrace-*,count=0,errno=ENOSPC");
	if (env_is("STICKYSYNC_STATE", state) && env_is("STICKYSYNC_LOG", log) &&
	    env_is("STICKYSYNC_INJECT", inject))
		return;
	if (setenv("STICKYSYNC_STATE", state, 1) || setenv("STICKYSYNC_LOG", log, 1) ||
	    setenv("STICKYSYNC_INJECT", inject, 1))
		die("setenv: %s", strerror(errno));
	execv("/proc/self/exe", argv);
	die("exec /proc/self/exe: %s", strerror(errno));
}

static void on_alarm(int sig)
{
	static const char msg[] =
	    "threads: FAIL the run hangs (still going after " STR(HANG_S) " s)\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(3);
}

static int check(const char *what, long bad)
{
	printf("  %-4s %s", bad ? "FAIL" : "ok", what);
	if (bad)
		printf(" (%ld)", bad);
	putchar('\n');
	return bad != 0;
}

static int report(const struct world *w)
{
	const struct counts *n = &w->n;
	int failures = 0;

	printf("threads: fsyncs %ld (%ld on witnesses, %ld on fresh fds of acknowledged files)\n",
	       get(&n->fsyncs), get(&n->witness_fsyncs), get(&n->fresh_on_acked));
	printf("threads: lost %ld, false %ld, spurious EIO %ld; acknowledgment errors %ld\n",
	       get(&n->lost), get(&n->false_fail), get(&n->spurious), get(&n->ack_errors));
	printf("threads: acknowledgment racing a failure: %ld trials (the calls overlapped in "
	       "%ld), %ld acknowledged, %ld refused (EBUSY), latch lost %ld\n",
	       get(&n->trials), get(&n->trial_overlap), get(&n->trial_acked), get(&n->trial_busy),
	       get(&n->trial_lost));
	failures += check("every injected failure happened", get(&n->injected_missing));
	failures += check("0 lost: a file that failed fails on every fd that existed then, and on "
			  "every fd until acknowledged",
			  get(&n->lost));
	failures += check("a refused fsync says EIO", get(&n->bad_errno));
	failures += check("0 false: a file that never failed never fails", get(&n->false_fail));
	failures += check("acknowledging through a witness is refused (EBUSY)",
			  get(&n->witness_ack_accepted));
	failures += check("acknowledging through a fresh fd works", get(&n->ack_errors));
	failures += check("0 spurious EIO: a fresh fd of an acknowledged file syncs "
			  "[issue 8 defect 2: fd-number reuse race]",
			  get(&n->spurious));
	failures += check("an acknowledgment never swallows a failure it races "
			  "[issue 8 defect 6]",
			  get(&n->trial_lost));
	if (get(&n->cut_short))
		printf("threads: note: %ld phases were cut short after %llds\n", get(&n->cut_short),
		       PHASE_LIMIT_NS / 1000000000);
	return failures;
}

int main(int argc, char **argv)
{
	static struct world w;
	static struct thread t[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	int failures;

	parse(argc, argv, &w.o);
	if (!dlsym(RTLD_DEFAULT, "stickysync_acknowledge"))
		die("libstickysync.so is not preloaded (LD_PRELOAD)");
	settle_environment(&w.o, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(payload, 'x', sizeof(payload));
	printf("threads: %d threads (%d churning fds), %d rounds of %d iterations, %d pair(s) x "
	       "%d acknowledgment races; seed %lu\n",
	       w.o.threads, w.o.churners, w.o.rounds, w.o.iterations, w.o.pairs, w.o.trials,
	       w.o.seed);
	signal(SIGALRM, on_alarm);
	alarm(HANG_S);
	pthread_barrier_init(&w.bar, NULL, (unsigned)w.o.threads);
	for (int i = 0; i < w.o.threads; i++) {
		t[i] = (struct thread){
		    .w = &w, .id = i, .rng = w.o.seed * 0x9e3779b97f4a7c15ULL + i + 1};
		if (pthread_create(&tid[i], NULL, thread_main, &t[i]) != 0)
			die("pthread_create failed");
	}
	for (int i = 0; i < w.o.threads; i++)
		pthread_join(tid[i], NULL);
	failures = report(&w);
	printf("threads: %s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
