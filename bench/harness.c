/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Benchmark harness: runs one interposed operation in a loop on tmpfs files.
 *
 *   harness OP ITERATIONS [THREADS]
 *
 * OP is one of write, pwrite, pwrite4k, writev, fsync, fdatasync, openclose,
 * openclose_early (before the process's first sync),
 * dupclose, pipeclose, sockclose, sfrclose (single-threaded loops), wfsync (write + fsync, THREADS
 * threads on one file each) or fds (open ITERATIONS descriptors, report the RSS cost). Files are
 * created in $BENCH_DIR (default /dev/shm) and removed at exit; the single-threaded loops cycle
 * through $BENCH_FILES of them (default 1024).
 *
 * Output is one line of key=value pairs on stdout, parsed by bench.sh.
 *
 * The measured loop lives in bench_loop() so that callgrind can count it
 * alone with --toggle-collect=bench_loop; process start-up, the preload's
 * constructor, the file setup and the warm-up (bench_warm) stay outside.
 * Files are opened with open(2) rather than mkstemp(3) because descriptors
 * opened inside libc bypass an LD_PRELOAD interposer, which is not the case
 * we want to measure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "loop_mark.h"

/* X(name): every operation, in the order of enum op. */
#define OPERATIONS(X) \
	X(write)      \
	X(pwrite)     \
	X(pwrite4k)   \
	X(writev)     \
	X(fsync)      \
	X(fdatasync)  \
	X(openclose)  \
	X(dupclose)   \
	X(openclose_early) \
	X(pipeclose)  \
	X(sockclose)  \
	X(sfrclose)   \
	X(wfsync)     \
	X(fds)

#define OP_ENUM(name) OP_##name,
#define OP_NAME(name) #name,
enum op { OPERATIONS(OP_ENUM) };
static const char *const op_names[] = {OPERATIONS(OP_NAME)};

#define MAX_FILES 1024

static char buf4k[4096];
static char bench_dir[256];
static int file_seq;

static void die(const char *what)
{
	fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A fresh file in bench_dir; its path is returned in path (for openclose). */
static int create_file(char *path, size_t size)
{
	int fd;

	snprintf(path, size, "%s/bench-%d-%d", bench_dir, (int)getpid(),
		 __atomic_fetch_add(&file_seq, 1, __ATOMIC_RELAXED));
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		die(path);
	return fd;
}

/*
 * The files an operation cycles through.  With latches in a shared hash
 * table, the cost of a sync depends on where the file's inode lands in it;
 * cycling through several files measures the average instead of one file's
 * luck, and the counts barely move with the inode numbers of a run.
 */
struct files {
	int n;
	int fd[MAX_FILES];
	char path[MAX_FILES][256];
};

/*
 * The loop, the same for the warm-up and the measured run; every call's
 * result is checked so that a failing shim cannot look fast.
 */
static inline __attribute__((always_inline)) long run_loop(enum op op, const struct files *files,
							   long iters)
{
	struct iovec iov[2] = {{buf4k, 1}, {buf4k + 1, 1}};
	long failures = 0;
	long i;
	int k = 0;

	for (i = 0; i < iters; i++) {
		int fd = files->fd[k];

		switch (op) {
		case OP_write:
			failures += write(fd, buf4k, 1) != 1;
			break;
		case OP_pwrite:
			failures += pwrite(fd, buf4k, 1, 0) != 1;
			break;
		case OP_pwrite4k:
			failures += pwrite(fd, buf4k, sizeof(buf4k), 0) != (ssize_t)sizeof(buf4k);
			break;
		case OP_writev:
			failures += writev(fd, iov, 2) != 2;
			break;
		case OP_fsync:
			failures += fsync(fd) != 0;
			break;
		case OP_fdatasync:
			failures += fdatasync(fd) != 0;
			break;
		case OP_openclose:
		case OP_openclose_early: {
			int f = open(files->path[k], O_RDWR);

			failures += f < 0 || close(f) != 0;
			break;
		}
		case OP_dupclose: {
			int f = dup(fd);

			failures += f < 0 || close(f) != 0;
			break;
		}
		case OP_pipeclose:
		case OP_sockclose: {
			int p[2];

			if (op == OP_pipeclose ? pipe2(p, 0) != 0
					       : socketpair(AF_UNIX, SOCK_STREAM, 0, p) != 0) {
				failures++;
				break;
			}
			failures += write(p[1], buf4k, 1) != 1;
			failures += close(p[1]) != 0 || close(p[0]) != 0;
			break;
		}
		case OP_sfrclose: {
			/* a write made durable by a waited range sync, as git's
			 * batch mode does: nothing is left to lose at close */
			int f = open(files->path[k], O_RDWR);

			failures +=
			    f < 0 || pwrite(f, buf4k, 1, 0) != 1 ||
			    sync_file_range(f, 0, 0,
					    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
						SYNC_FILE_RANGE_WAIT_AFTER) != 0 ||
			    close(f) != 0;
			break;
		}
		case OP_wfsync:
			failures += write(fd, buf4k, 1) != 1 || fsync(fd) != 0;
			break;
		case OP_fds:
			break;
		}
		if (++k == files->n)
			k = 0;
	}
	return failures;
}

/*
 * The measured loop, a symbol of its own that callgrind counts alone
 * (--toggle-collect=bench_loop); noipa keeps the compiler from merging it
 * with the warm-up, which is not counted.
 */
__attribute__((noipa)) static long bench_loop(enum op op, const struct files *files, long iters)
{
	return run_loop(op, files, iters);
}

__attribute__((noipa)) static long bench_warm(enum op op, const struct files *files, long iters)
{
	return run_loop(op, files, iters);
}

static void open_files(struct files *files, int n)
{
	files->n = n;
	for (int i = 0; i < n; i++)
		files->fd[i] = create_file(files->path[i], sizeof(files->path[i]));
}

static void close_files(struct files *files)
{
	for (int i = 0; i < files->n; i++) {
		close(files->fd[i]);
		unlink(files->path[i]);
	}
}

struct worker {
	pthread_barrier_t *start;
	long iters;
	long failures;
	int64_t t0, t1;
};

static void *wfsync_worker(void *arg)
{
	struct worker *w = arg;
	struct files *files = malloc(sizeof(*files));

	if (!files)
		die("malloc");
	/* Every thread has its own file: any slowdown is the shim's sharing. */
	open_files(files, 1);
	pthread_barrier_wait(w->start);
	w->t0 = now_ns();
	w->failures = bench_loop(OP_wfsync, files, w->iters);
	w->t1 = now_ns();
	close_files(files);
	free(files);
	return NULL;
}

/*
 * Total throughput of nthreads threads, each doing iters write+fsync.  The
 * workers time themselves: the main thread may not run again until they are
 * done when there are no more CPUs than workers.
 */
static int run_threads(long iters, int nthreads)
{
	pthread_t tid[64];
	struct worker w[64];
	pthread_barrier_t start;
	long failures = 0;
	int64_t t0 = INT64_MAX, t1 = 0;
	int i;

	if (nthreads < 1 || nthreads > 64) {
		fprintf(stderr, "harness: 1..64 threads\n");
		return 2;
	}
	pthread_barrier_init(&start, NULL, nthreads);
	for (i = 0; i < nthreads; i++) {
		w[i] = (struct worker){.start = &start, .iters = iters};
		if (pthread_create(&tid[i], NULL, wfsync_worker, &w[i]) != 0)
			die("pthread_create");
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		failures += w[i].failures;
		t0 = w[i].t0 < t0 ? w[i].t0 : t0;
		t1 = w[i].t1 > t1 ? w[i].t1 : t1;
	}
	printf("op=wfsync threads=%d iters=%ld ns=%lld ops_per_s=%.0f failures=%ld\n", nthreads,
	       iters, (long long)(t1 - t0), 1e9 * (double)iters * nthreads / (double)(t1 - t0),
	       failures);
	return failures != 0;
}

/* Many files are open at once; 1024 descriptors is a common soft limit. */
static long raise_fd_limit(void)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

/*
 * Resident set size in bytes, through an fd opened before measuring.
 * smaps_rollup walks the page tables, so it is exact; statm lags by up to
 * the kernel's per-CPU counter batch (64 KiB seen here).
 */
static long rss_bytes(int rollup_fd)
{
	char text[4096];
	const char *rss;
	ssize_t n = pread(rollup_fd, text, sizeof(text) - 1, 0);

	if (n <= 0)
		die("read /proc/self/smaps_rollup");
	text[n] = '\0';
	rss = strstr(text, "\nRss:");
	if (!rss) {
		fprintf(stderr, "harness: no Rss in smaps_rollup\n");
		exit(2);
	}
	return atol(rss + 5) * 1024;
}

/*
 * Memory per tracked descriptor: open n descriptors of one file (separate
 * open file descriptions, as a shim must track each) and divide the growth
 * of the resident set by n.  Kernel memory is not counted; that is the same
 * with or without a preload.
 */
static int run_fds(long n)
{
	long max_fds = raise_fd_limit();
	char path[512];
	int rollup_fd, fd;
	long rss0, rss1, i;

	if (n + 16 > max_fds)
		n = max_fds - 16;

	rollup_fd = open("/proc/self/smaps_rollup", O_RDONLY);
	if (rollup_fd < 0)
		die("/proc/self/smaps_rollup");
	fd = create_file(path, sizeof(path));
	/* Let the preload do any lazy first-use set-up before the baseline. */
	close(open(path, O_RDWR));
	rss0 = rss_bytes(rollup_fd);
	for (i = 0; i < n; i++)
		if (open(path, O_RDWR) < 0)
			die("open");
	rss1 = rss_bytes(rollup_fd);
	unlink(path);
	printf("op=fds iters=%ld rss_delta=%ld bytes_per_fd=%.1f\n", n, rss1 - rss0,
	       (double)(rss1 - rss0) / (double)n);
	(void)fd;
	return 0;
}

static int parse_op(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strcmp(name, op_names[i]) == 0)
			return (int)i;
	return -1;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("BENCH_DIR");
	const char *nfiles = getenv("BENCH_FILES");
	static struct files files;
	long iters, failures;
	int64_t t0, t1;
	int op, n;

	if (argc < 3 || (op = parse_op(argv[1])) < 0 || (iters = atol(argv[2])) <= 0) {
		fprintf(stderr,
			"usage: harness OP ITERATIONS [THREADS]\n"
			"  OP: write pwrite pwrite4k writev fsync fdatasync "
			"openclose dupclose openclose_early pipeclose sockclose sfrclose wfsync fds\n"
			"  environment: BENCH_DIR (default /dev/shm), "
			"BENCH_FILES (files to cycle through, default %d)\n",
			MAX_FILES);
		return 2;
	}
	snprintf(bench_dir, sizeof(bench_dir), "%s", dir ? dir : "/dev/shm");
	memset(buf4k, 'x', sizeof(buf4k));

	if (op == OP_wfsync)
		return run_threads(iters, argc > 3 ? atoi(argv[3]) : 1);
	if (op == OP_fds)
		return run_fds(iters);

	n = nfiles ? atoi(nfiles) : MAX_FILES;
	if (n < 1 || n > MAX_FILES) {
		fprintf(stderr, "harness: BENCH_FILES must be 1..%d\n", MAX_FILES);
		return 2;
	}
	if (n + 16 > raise_fd_limit()) {
		n = (int)raise_fd_limit() - 16;
		fprintf(stderr, "harness: descriptor limit: %d files only\n", n);
	}
	open_files(&files, n);
	/* A process that syncs has attached the latch table (the steady state);
	 * openclose_early measures one that has not yet: before its first
	 * sync, each open and close is dated by the clock. */
	if (op != OP_openclose_early && fsync(files.fd[0]) != 0)
		die("fsync");
	/* Warm-up, every file twice: lazy symbol resolution and first-use
	 * set-up in the preload are not part of the steady state we measure. */
	failures = bench_warm(op, &files, 2L * n);
	loop_mark(LOOP_BEGIN);
	t0 = now_ns();
	failures += bench_loop(op, &files, iters);
	t1 = now_ns();
	loop_mark(LOOP_END);
	close_files(&files);
	printf("op=%s iters=%ld files=%d ns=%lld ns_per_op=%.1f failures=%ld\n", op_names[op],
	       iters, n, (long long)(t1 - t0), (double)(t1 - t0) / (double)iters, failures);
	return failures != 0;
}
