/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * forkcheck MODE DIR ...: the shim must never hang the program it protects,
 * whatever STICKYSYNC_INJECT says.
 *
 *   signal DIR SECONDS
 *       The main thread writes and fsyncs DIR/sig-main; another thread
 *       interrupts it with SIGUSR1 every few tens of microseconds, and the
 *       handler writes and fsyncs DIR/sig-handler.  Every call must succeed.
 *   fork DIR N THREADS fork|_Fork|vfork
 *       THREADS threads each write and fsync their own file DIR/wK; N times,
 *       one of them is interrupted by SIGUSR2 while it runs the shim's code,
 *       and the handler forks there.  The child writes and fsyncs that
 *       thread's file (the fd it inherited, while its own thread and the
 *       others were inside the wrappers) and exits 0 if both succeeded.  A
 *       child that has not exited after 5 s is killed and counted as hung.
 *
 *   stuck DIR
 *       A thread writing DIR/lose-me (named by a lose= rule) is stopped for
 *       good inside the undo store: a seccomp filter turns the store's read
 *       of what the write overwrites into SIGSYS, whose handler never
 *       returns.  Then the main thread writes and fsyncs DIR/other, and a
 *       fork, a _Fork and a vfork child each write and fsync both files.
 *       Nothing may hang: the other file never needs the store; a forked
 *       child takes over the copy it got; a vfork child, sharing the memory
 *       of the stopped thread, waits for it only so long.
 *
 * Prints "MODE ok: ..." or "MODE FAIL: ..." (exit 1).  A hang of the whole
 * program (the main thread in the signal mode) is caught by the caller's
 * timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define MAX_THREADS 16
#define CHILD_DEADLINE_NS (5 * 1000000000LL)

static const char *dir;

static int open_in_dir(const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One small write at a moving offset, then fsync: 0 when both succeed. */
static int write_and_sync(int fd, unsigned *round)
{
	char c = (char)('a' + *round % 26);

	if (pwrite(fd, &c, 1, (off_t)(*round % 4096)) != 1)
		return -1;
	++*round;
	return fsync(fd);
}

/* ---- signal ---------------------------------------------------------------- */

static int handler_fd = -1;
static volatile sig_atomic_t handler_runs, handler_bad;
static volatile int stop_interrupting;

static void on_usr1(int sig)
{
	static unsigned round;
	int saved = errno;

	(void)sig;
	if (write_and_sync(handler_fd, &round) != 0)
		handler_bad = 1;
	handler_runs++;
	errno = saved;
}

static void *interrupter(void *arg)
{
	pthread_t target = *(pthread_t *)arg;
	struct timespec pause = {0, 20000};

	while (!__atomic_load_n(&stop_interrupting, __ATOMIC_RELAXED)) {
		pthread_kill(target, SIGUSR1);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static int check_signal(double seconds)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	long long end = now_ns() + (long long)(seconds * 1e9);
	pthread_t self = pthread_self(), t;
	unsigned round = 0, syncs = 0, bad = 0;
	sigset_t usr1;
	int fd = open_in_dir("sig-main");

	handler_fd = open_in_dir("sig-handler");
	if (fd < 0 || handler_fd < 0) {
		printf("signal FAIL: open: %s\n", strerror(errno));
		return 1;
	}
	sigaction(SIGUSR1, &sa, NULL);
	/* Only the main thread takes the signal. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	pthread_create(&t, NULL, interrupter, &self);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	while (now_ns() < end) {
		bad += write_and_sync(fd, &round) != 0;
		syncs++;
	}
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	__atomic_store_n(&stop_interrupting, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	bad += handler_bad;
	printf("signal %s: %u syncs, %d handler runs, %u failed\n",
	       bad || handler_runs == 0 ? "FAIL" : "ok", syncs, (int)handler_runs, bad);
	return bad || handler_runs == 0;
}

/* ---- fork ------------------------------------------------------------------ */

enum fork_kind { KIND_FORK, KIND__FORK, KIND_VFORK };

static enum fork_kind fork_kind;
static int forks_done, children_failed, children_hung, fork_errors, fork_armed, fork_misses;
static volatile int stop_writing;
static int workers_ready;
static __thread int worker_fd = -1;

/* The child's exit status: 0, or what failed and its errno. */
static int child_sync(int fd)
{
	char c = 'c';

	if (pwrite(fd, &c, 1, 4096) != 1)
		return 64 + (errno & 63);
	if (fsync(fd) != 0)
		return 128 + (errno & 127);
	return 0;
}

static pid_t fork_child(int fd)
{
	pid_t pid;

	switch (fork_kind) {
	case KIND__FORK:
		pid = _Fork();
		break;
	case KIND_VFORK:
		/* The child only calls the wrappers and _exit. */
		pid = vfork();
		break;
	default:
		pid = fork();
		break;
	}
	if (pid == 0)
		_exit(child_sync(fd));
	return pid;
}

/* Wait for pid for up to CHILD_DEADLINE_NS; kill it if it is still there.
 * Async-signal-safe: it runs in the handler. */
static int last_failure;

static void reap(pid_t pid)
{
	long long deadline = now_ns() + CHILD_DEADLINE_NS;
	struct timespec pause = {0, 50000};
	int status;

	for (;;) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		if (got == pid)
			break;
		if (got < 0 && errno != EINTR) {
			__atomic_add_fetch(&fork_errors, 1, __ATOMIC_RELAXED);
			return;
		}
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			__atomic_add_fetch(&children_hung, 1, __ATOMIC_RELAXED);
			return;
		}
		nanosleep(&pause, NULL);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		__atomic_add_fetch(&children_failed, 1, __ATOMIC_RELAXED);
		last_failure = WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
	}
}

/* The shim's code, from /proc/self/maps: [text_lo, text_hi). */
static uintptr_t text_lo, text_hi;

static void find_shim_text(void)
{
	char line[4096];
	FILE *maps = fopen("/proc/self/maps", "r");

	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8];

		if (strstr(line, "libstickysync") &&
		    sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[2] == 'x') {
			text_lo = lo;
			text_hi = hi;
		}
	}
	if (maps)
		fclose(maps);
}

/* Where the signal found the thread; 0 where this is not known. */
static uintptr_t interrupted_at(const ucontext_t *uc)
{
#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)uc->uc_mcontext.pc;
#else
	(void)uc;
	return 0;
#endif
}

/* Fork when the signal found the thread running the shim's own code: inside
 * a wrapper, its bookkeeping half done.  Otherwise the main thread signals
 * again; after 8 misses (a busy machine), the fork happens wherever. */
static void on_usr2(int sig, siginfo_t *si, void *context)
{
	uintptr_t at = interrupted_at(context);
	int saved = errno;
	pid_t pid;

	(void)sig;
	(void)si;
	if (text_hi && at && (at < text_lo || at >= text_hi) &&
	    __atomic_add_fetch(&fork_misses, 1, __ATOMIC_RELAXED) < 8)
		return;
	if (!__atomic_exchange_n(&fork_armed, 0, __ATOMIC_ACQ_REL))
		return; /* a signal left over from the previous fork */
	__atomic_store_n(&fork_misses, 0, __ATOMIC_RELAXED);
	pid = fork_child(worker_fd);
	if (pid < 0)
		__atomic_add_fetch(&fork_errors, 1, __ATOMIC_RELAXED);
	else
		reap(pid);
	__atomic_add_fetch(&forks_done, 1, __ATOMIC_RELEASE);
	errno = saved;
}

static void *fork_worker(void *arg)
{
	char name[16];
	unsigned round = 0;

	snprintf(name, sizeof(name), "w%ld", (long)arg);
	worker_fd = open_in_dir(name);
	if (worker_fd < 0)
		__atomic_add_fetch(&fork_errors, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&workers_ready, 1, __ATOMIC_RELEASE);
	if (worker_fd < 0)
		return NULL;
	while (!__atomic_load_n(&stop_writing, __ATOMIC_RELAXED)) {
		write_and_sync(worker_fd, &round);
		/* Mostly syncs: a successful one is followed by bookkeeping. */
		for (int i = 0; i < 4; i++)
			fsync(worker_fd);
	}
	return NULL;
}

/* Interrupt the workers in turn, one fork at a time. */
static int check_fork(int n, int threads, const char *kind)
{
	struct sigaction sa = {.sa_sigaction = on_usr2, .sa_flags = SA_RESTART | SA_SIGINFO};
	struct timespec pause = {0, 20000};
	pthread_t t[MAX_THREADS];
	long long start = now_ns();
	sigset_t usr2;
	int bad;

	if (strcmp(kind, "_Fork") == 0)
		fork_kind = KIND__FORK;
	else if (strcmp(kind, "vfork") == 0)
		fork_kind = KIND_VFORK;
	else if (strcmp(kind, "fork") == 0)
		fork_kind = KIND_FORK;
	else
		return 2;
	if (threads < 1 || threads > MAX_THREADS)
		threads = 4;
	find_shim_text();
	sigaction(SIGUSR2, &sa, NULL);
	for (long k = 0; k < threads; k++)
		pthread_create(&t[k], NULL, fork_worker, (void *)k);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	while (__atomic_load_n(&workers_ready, __ATOMIC_ACQUIRE) < threads)
		nanosleep(&pause, NULL);
	for (int i = 0; i < n && !fork_errors; i++) {
		__atomic_store_n(&fork_armed, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&forks_done, __ATOMIC_ACQUIRE) <= i) {
			pthread_kill(t[i % threads], SIGUSR2);
			nanosleep(&pause, NULL);
		}
	}
	__atomic_store_n(&stop_writing, 1, __ATOMIC_RELAXED);
	for (int k = 0; k < threads; k++)
		pthread_join(t[k], NULL);
	bad = children_hung || children_failed || fork_errors;
	printf("fork %s: %s, %d threads, %d children, %d hung, %d failed, %d errors, %.1f s\n",
	       bad ? "FAIL" : "ok", kind, threads, forks_done, children_hung, children_failed,
	       fork_errors, (double)(now_ns() - start) / 1e9);
	if (children_failed)
		printf("fork: the last failed child's status: %d\n", last_failure);
	return bad;
}

/* ---- stuck ----------------------------------------------------------------- */

/*
 * A seccomp filter turns a pread of STUCK_LEN bytes into SIGSYS: the undo
 * store's read of what a write of that size overwrites, made while it holds
 * the store.  The handler never returns, so the store stays held.
 */
#define STUCK_LEN 7777

static int trap_stuck_preads(void)
{
	struct sock_filter prog[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pread64, 0, 3),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		     offsetof(struct seccomp_data, args[2]) +
			 (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, STUCK_LEN, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = {.len = sizeof(prog) / sizeof(prog[0]), .filter = prog};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog);
}

static volatile int store_held;

static void stay_inside(int sig)
{
	(void)sig;
	store_held = 1;
	for (;;)
		pause();
}

static void *write_lose_file(void *arg)
{
	static char buf[STUCK_LEN];
	int fd = *(int *)arg;

	memset(buf, 'n', sizeof(buf));
	pwrite(fd, buf, sizeof(buf), 0);
	return NULL; /* not reached when the shim records this write */
}

/* Write and fsync both files; 0, or what failed. */
static int sync_both(int lose_fd, int other_fd)
{
	int r = child_sync(other_fd);

	return r ? r : child_sync(lose_fd);
}

static int fork_and_sync(enum fork_kind kind, int lose_fd, int other_fd)
{
	pid_t pid;

	fork_kind = kind;
	switch (kind) {
	case KIND__FORK:
		pid = _Fork();
		break;
	case KIND_VFORK:
		pid = vfork();
		break;
	default:
		pid = fork();
		break;
	}
	if (pid == 0)
		_exit(sync_both(lose_fd, other_fd));
	if (pid < 0)
		return -1;
	reap(pid);
	return 0;
}

static int check_stuck(void)
{
	static const char *const kinds[] = {"fork", "_Fork", "vfork"};
	int lose_fd = open_in_dir("lose-me"), other_fd = open_in_dir("other"), r;
	long long end = now_ns() + 2000000000LL;
	pthread_t t;

	if (lose_fd < 0 || other_fd < 0 || ftruncate(lose_fd, 2 * STUCK_LEN) != 0 ||
	    fsync(lose_fd) != 0) {
		printf("stuck FAIL: setup: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGSYS, stay_inside);
	if (trap_stuck_preads() != 0) {
		printf("stuck SKIP: no seccomp filter: %s\n", strerror(errno));
		return 77;
	}
	pthread_create(&t, NULL, write_lose_file, &lose_fd);
	while (!store_held && now_ns() < end)
		usleep(1000);
	if (!store_held) {
		printf(
		    "stuck FAIL: the write was not recorded (is a lose= rule naming lose-me?)\n");
		return 1;
	}
	r = child_sync(other_fd);
	printf("stuck: the main thread's sync of the other file: %d\n", r);
	for (int k = 0; k < 3; k++) {
		int failed = children_failed, hung = children_hung;

		if (fork_and_sync((enum fork_kind)k, lose_fd, other_fd) != 0)
			fork_errors++;
		printf("stuck: a %s child's syncs: %s\n", kinds[k],
		       children_hung > hung	  ? "hung"
		       : children_failed > failed ? "failed"
						  : "ok");
	}
	r = r || children_failed || children_hung || fork_errors;
	printf("stuck %s\n", r ? "FAIL" : "ok");
	fflush(stdout);
	_exit(r); /* the stuck thread never returns */
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc >= 4 && strcmp(argv[1], "signal") == 0) {
		dir = argv[2];
		return check_signal(atof(argv[3]));
	}
	if (argc >= 3 && strcmp(argv[1], "stuck") == 0) {
		dir = argv[2];
		return check_stuck();
	}
	if (argc >= 6 && strcmp(argv[1], "fork") == 0) {
		dir = argv[2];
		return check_fork(atoi(argv[3]), atoi(argv[4]), argv[5]);
	}
	fprintf(stderr, "usage: forkcheck signal DIR SECONDS | fork DIR N THREADS fork|_Fork|vfork"
			" | stuck DIR\n");
	return 2;
}
