/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The supervisor's process tree.
 *
 *   stickysync (supervisor: worker threads answer the notifications)
 *     └─ keeper (reaps the tree; ends it if the supervisor dies)
 *          └─ CMD (installs the filter, hands the listener up, execs)
 *               └─ ... every descendant inherits the filter
 *
 * Both stickysync and the keeper are child subreapers, so orphans of the
 * tree come back to the keeper, never to init.  When the listener closes
 * (the supervisor died), every trapped call of the tree would fail with
 * ENOSYS for the rest of its life, and a program may take ENOSYS for "not
 * supported" and carry on unsynced: the keeper therefore kills the whole
 * tree as soon as the supervisor is gone, and the supervisor does the same
 * if the keeper is gone.  The keeper holds no listener and no filter.
 */
#include "supervise.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define SV_WORKERS 2 /* threads answering notifications; the syncs run there */

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#if defined(__x86_64__)
#define SV_NATIVE_ARCH AUDIT_ARCH_X86_64
#define SV_X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define SV_NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define SV_NATIVE_ARCH AUDIT_ARCH_I386
#else
#error "the supervisor knows the system calls of x86_64, i386 and aarch64 only"
#endif

/* ---- the filter ------------------------------------------------------------ */

struct filter_buf {
	struct sock_filter f[64];
	unsigned n;
	/* jumps to patch: index of the instruction, and which label */
	unsigned fix_at[32], fix_to[32], nfix;
};

enum { LABEL_NOTIFY, LABEL_URING, LABEL_ALLOW, LABELS };

static void emit(struct filter_buf *b, unsigned short code, unsigned k)
{
	b->f[b->n++] = (struct sock_filter)BPF_STMT(code, k);
}

/* if (A == nr) goto label */
static void emit_jump_if(struct filter_buf *b, unsigned nr, unsigned label)
{
	b->fix_at[b->nfix] = b->n;
	b->fix_to[b->nfix++] = label;
	b->f[b->n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 0);
}

/* The system calls handed to the supervisor, in one architecture's numbers;
 * uring is io_uring_setup's. */
struct trapped {
	unsigned arch;
	const unsigned *nr;
	unsigned count, uring;
};

static const unsigned native_nrs[] = {
    __NR_fsync, __NR_fdatasync, __NR_sync_file_range, __NR_syncfs,
    __NR_msync, __NR_execve,	__NR_execveat,
};

#ifdef __x86_64__
/* i386 programs on x86_64: their sync_file_range splits its 64-bit
 * arguments and their msync is left alone: both run unjudged. */
static const unsigned i386_nrs[] = {118 /* fsync */, 148 /* fdatasync */, 344 /* syncfs */,
				    11 /* execve */, 358 /* execveat */};
#endif

static void emit_arch(struct filter_buf *b, const struct trapped *t)
{
	unsigned skip_at = b->n;

	b->f[b->n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, t->arch, 0, 0);
	emit(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#ifdef SV_X32_BIT
	/* x32 calls are x86_64's numbers with a bit set: the same calls */
	if (t->arch == AUDIT_ARCH_X86_64)
		emit(b, BPF_ALU | BPF_AND | BPF_K, ~SV_X32_BIT);
#endif
	for (unsigned i = 0; i < t->count; i++)
		emit_jump_if(b, t->nr[i], LABEL_NOTIFY);
	emit_jump_if(b, t->uring, LABEL_URING);
	emit(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* another architecture: on to the next block */
	b->f[skip_at].jf = (unsigned char)(b->n - skip_at - 1);
}

static void build_filter(struct filter_buf *b, bool deny_io_uring)
{
	static const struct trapped native = {SV_NATIVE_ARCH, native_nrs,
					      sizeof(native_nrs) / sizeof(native_nrs[0]),
					      __NR_io_uring_setup};
	unsigned label_at[LABELS];

	memset(b, 0, sizeof(*b));
	emit(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	emit_arch(b, &native);
#ifdef __x86_64__
	static const struct trapped compat = {AUDIT_ARCH_I386, i386_nrs,
					      sizeof(i386_nrs) / sizeof(i386_nrs[0]), 425};
	emit_arch(b, &compat);
#endif
	label_at[LABEL_ALLOW] = b->n;
	emit(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	label_at[LABEL_NOTIFY] = b->n;
	emit(b, BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	label_at[LABEL_URING] = b->n;
	/* Refused, a program falls back to ordinary calls; allowed, the
	 * supervisor is told, to warn that its io_uring syncs are unseen. */
	emit(b, BPF_RET | BPF_K,
	     deny_io_uring ? SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)
			   : SECCOMP_RET_USER_NOTIF);
	for (unsigned i = 0; i < b->nfix; i++)
		b->f[b->fix_at[i]].jt = (unsigned char)(label_at[b->fix_to[i]] - b->fix_at[i] - 1);
}

/* The filter, with a listener; -1 with errno.  The killable wait (5.19)
 * keeps a signal from interrupting a sync the supervisor already runs. */
static int install_filter(bool deny_io_uring)
{
	static struct filter_buf b;
	struct sock_fprog prog;
	int fd;

	build_filter(&b, deny_io_uring);
	prog.len = (unsigned short)b.n;
	prog.filter = b.f;
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
			  &prog);
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				  SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	return fd;
}

/* ---- handing the listener up ------------------------------------------------ */

/* What CMD's process sends up: its pid, and the listener or why not. */
struct hello {
	pid_t pid;
	int error; /* 0: the listener is attached */
};

static void send_hello(int sock, const struct hello *h, int listener)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = (void *)h, .iov_len = sizeof(*h)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	if (listener >= 0) {
		memset(control, 0, sizeof(control));
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &listener, sizeof(int));
	}
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* The hello and the listener (-1 if none came); false if CMD's process
 * died before saying anything. */
static bool receive_hello(int sock, struct hello *h, int *listener)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = h, .iov_len = sizeof(*h)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control,
			     .msg_controllen = sizeof(control)};
	struct cmsghdr *c;
	ssize_t n;

	*listener = -1;
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(*h))
		return false;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(listener, CMSG_DATA(c), sizeof(int));
	return true;
}

/* ---- CMD's process ----------------------------------------------------------- */

/* In CMD's process, before exec: the filter, the listener handed up, then
 * wait for the supervisor to be ready. */
static void __attribute__((noreturn))
start_command(const struct supervise_launch *l, int sock, int keeper_sock)
{
	struct hello h = {.pid = getpid()};
	char go;
	int listener;

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* the keeper, our parent, is gone: so are we */
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(l->blocked, sig))
			signal(sig, SIG_DFL);
	/* Under no_new_privs a filter needs no privilege; root keeps set-user-ID
	 * programs working by not setting it. */
	if (geteuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		h.error = errno;
		send_hello(sock, &h, -1);
		_exit(EXIT_NOEXEC);
	}
	listener = install_filter(l->deny_io_uring);
	h.error = listener < 0 ? errno : 0;
	send_hello(sock, &h, listener);
	if (listener < 0)
		_exit(EXIT_NOEXEC);
	send_hello(keeper_sock, &h, listener);
	close(keeper_sock);
	close(listener);
	if (read(sock, &go, 1) != 1)
		_exit(EXIT_NOEXEC); /* the supervisor is gone */
	close(sock);
	sigprocmask(SIG_UNBLOCK, l->blocked, NULL);
	l->exec(l->path, l->cmd);
}

/* ---- ending a tree ------------------------------------------------------------- */

/* Kill every child of this process (orphans of the tree come here). */
static void kill_children(void)
{
	pid_t self = getpid();
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		pid_t pid = atoi(e->d_name);

		if (pid > 0 && sv_status_field(pid, "PPid") == self)
			kill(pid, SIGKILL);
	}
	if (d)
		closedir(d);
}

/* Kill and reap until no child is left; returns how many were reaped. */
static int end_tree(void)
{
	int n = 0;

	for (;;) {
		kill_children();
		if (waitpid(-1, NULL, 0) < 0) {
			if (errno == ECHILD)
				return n;
			continue;
		}
		n++;
	}
}

/* ---- the keeper ----------------------------------------------------------------- */

static volatile sig_atomic_t supervisor_gone;
static int kept_listener = -1; /* the keeper's copy, held and never read */

static void note_supervisor_gone(int sig)
{
	(void)sig;
	supervisor_gone = 1;
}

static void note_child(int sig)
{
	(void)sig; /* only wakes sigsuspend */
}

/* The supervisor's death arrives as SIGRTMIN (and a child's end as SIGCHLD),
 * both blocked outside sigsuspend; *wait_mask unblocks them there. */
static void watch_supervisor(pid_t supervisor, const sigset_t *forwarded, sigset_t *wait_mask)
{
	struct sigaction sa;
	sigset_t both;

	sigemptyset(&both);
	sigaddset(&both, SIGRTMIN);
	sigaddset(&both, SIGCHLD);
	sigprocmask(SIG_BLOCK, &both, wait_mask);
	sigdelset(wait_mask, SIGRTMIN);
	sigdelset(wait_mask, SIGCHLD);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = note_supervisor_gone;
	sigaction(SIGRTMIN, &sa, NULL);
	sa.sa_handler = note_child;
	sigaction(SIGCHLD, &sa, NULL);
	/* Signals meant for CMD reach it through the supervisor; a terminal's
	 * to the whole group must not end the keeper. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(forwarded, sig)) {
			signal(sig, SIG_IGN);
			sigdelset(wait_mask, sig);
		}
	prctl(PR_SET_PDEATHSIG, SIGRTMIN);
	if (getppid() != supervisor)
		supervisor_gone = 1;
}

static void __attribute__((noreturn))
keeper_end_tree(const struct supervise_launch *l, pid_t supervisor)
{
	const char *cmd = l->cmd[0];
	int n = end_tree();

	if (l->own_file)
		unlink(l->own_file);
	cli_error("the supervisor of %s (pid %d) died: its tree (%d process%s) was killed, since "
		  "it would have run unsupervised",
		  cmd, (int)supervisor, n, n == 1 ? "" : "es");
	_exit(EXIT_FAILED);
}

/*
 * The keeper: start CMD, reap it and every orphan of its tree, and report
 * CMD's wait status to the supervisor once no process is left.
 */
static void __attribute__((noreturn))
keeper(const struct supervise_launch *l, pid_t supervisor, int sock, int status_fd)
{
	int status = -1, st, ksock[2], listener;
	struct hello h;
	sigset_t wait_mask;
	pid_t cmd, pid;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ksock) != 0)
		_exit(EXIT_NOEXEC);
	cmd = fork();
	if (cmd == 0) {
		close(status_fd);
		close(ksock[0]);
		start_command(l, sock, ksock[1]);
	}
	close(sock);
	close(ksock[1]);
	if (cmd < 0)
		_exit(EXIT_NOEXEC);
	/* A second holder of the listener: if the supervisor dies, the tree's
	 * trapped calls wait (killable) instead of failing with ENOSYS, until
	 * the keeper has ended the tree. */
	if (receive_hello(ksock[0], &h, &listener) && listener >= 0)
		kept_listener = listener;
	close(ksock[0]);
	watch_supervisor(supervisor, l->blocked, &wait_mask);
	for (;;) {
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			if (pid == cmd)
				status = st;
		if (pid < 0 && errno == ECHILD)
			break;
		if (supervisor_gone)
			keeper_end_tree(l, supervisor);
		sigsuspend(&wait_mask);
	}
	if (write(status_fd, &status, sizeof(status)) != (ssize_t)sizeof(status))
		_exit(EXIT_FAILED);
	_exit(0);
}

/* ---- the supervisor ------------------------------------------------------------- */

static struct seccomp_notif_sizes sizes;

/*
 * A receive found nothing: its caller was interrupted, or no process uses
 * the filter any more, and then every receive returns at once.  Told apart
 * by poll (POLLHUP, 5.8), only after an empty receive, so that a
 * notification costs one blocking receive and no poll.
 */
static bool tree_gone(int listener)
{
	struct pollfd p = {.fd = listener, .events = POLLIN};

	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return true;
	return p.revents & (POLLHUP | POLLERR | POLLNVAL);
}

static void *worker(void *arg)
{
	int listener = (int)(intptr_t)arg;
	struct seccomp_notif *req = calloc(1, sizes.seccomp_notif);
	struct seccomp_notif_resp *resp = calloc(1, sizes.seccomp_notif_resp);

	if (!req || !resp)
		return NULL;
	for (;;) {
		memset(req, 0, sizes.seccomp_notif); /* RECV refuses a dirty buffer */
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
			if (errno == EINTR)
				continue;
			if (errno != ENOENT || tree_gone(listener))
				return NULL;
			sv_note_empty_receive();
			continue;
		}
		memset(resp, 0, sizes.seccomp_notif_resp);
		resp->id = req->id;
		/* ENOENT: the caller died or was interrupted meanwhile; a failure
		 * was latched before the reply, so a restarted call sees it. */
		if (sv_handle(listener, req, resp))
			ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
	}
}

static bool start_workers(int listener)
{
	pthread_attr_t attr;
	pthread_t th;
	int started = 0;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < SV_WORKERS; i++)
		started += pthread_create(&th, &attr, worker, (void *)(intptr_t)listener) == 0;
	pthread_attr_destroy(&attr);
	return started > 0;
}

/* The supervisor of the tree this one runs in, or 0 (before ours is
 * announced in the environment). */
static pid_t outer_supervisor;

static void explain_no_listener(const char *cmd, int err)
{
	pid_t outer = outer_supervisor;

	if (err == EBUSY && outer > 0)
		cli_error(
		    "%s cannot be supervised: it already runs under the stickysync supervisor "
		    "of pid %d, and a process tree has one seccomp listener at most",
		    cmd, (int)outer);
	else if (err == EBUSY)
		cli_error(
		    "%s cannot be supervised: this process tree already has a seccomp listener "
		    "(a container runtime's, or another supervisor's), and it can have one at "
		    "most; run it with --no-supervise",
		    cmd);
	else if (err == EACCES || err == EPERM)
		cli_error("%s cannot be supervised: installing a seccomp filter was refused (%s)",
			  cmd, strerror(err));
	else if (err == ENOSYS || err == EINVAL)
		cli_error("%s cannot be supervised: this kernel has no seccomp user notification "
			  "(Linux 5.6 or later is needed): %s",
			  cmd, strerror(err));
	else
		cli_error("%s cannot be supervised: %s", cmd, strerror(err));
}

/* The supervisor holds pidfds, witnesses and copies (hundreds of fds): its
 * soft limit goes up to the hard one.  The tree, forked already, keeps
 * its own. */
static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

/* The keeper's report of CMD's status; false if the keeper died first. */
static bool read_status(int fd, int *status)
{
	ssize_t n;

	while ((n = read(fd, status, sizeof(*status))) < 0 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(*status) && *status != -1;
}

/* Once the listener is ready: CMD's pid, the workers, the go byte. */
static int supervise_tree(const struct supervise_launch *l, int sock, int status_fd, char *how,
			  size_t size)
{
	struct hello h = {0};
	int listener, status;

	if (!receive_hello(sock, &h, &listener) || h.error || listener < 0) {
		explain_no_listener(l->cmd[0], h.error ? h.error : EPROTO);
		end_tree();
		snprintf(how, size, "could not be supervised");
		return EXIT_NOEXEC;
	}
	*l->cmd_pid = h.pid;
	sigprocmask(SIG_UNBLOCK, l->blocked, NULL);
	raise_fd_limit();
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0 ||
	    !start_workers(listener)) {
		cli_error("%s cannot be supervised: %s", l->cmd[0], strerror(errno));
		end_tree();
		snprintf(how, size, "could not be supervised");
		return EXIT_NOEXEC;
	}
	/* If CMD's process is gone already, the keeper reports how it ended. */
	(void)!write(sock, "g", 1);
	close(sock);
	if (!read_status(status_fd, &status)) {
		int n = end_tree();

		cli_error("the supervisor's keeper process died: the rest of %s's tree (%d "
			  "process%s) was killed, since it would have run unsupervised",
			  l->cmd[0], n > 0 ? n - 1 : 0, n == 2 ? "" : "es");
		snprintf(how, size, "was killed with its keeper");
		return 128 + SIGKILL;
	}
	end_tree(); /* the keeper */
	return command_status(status, how, size);
}

static const char *env_lookup(const char *name)
{
	return getenv(name);
}

int supervise_run(const struct supervise_launch *l, char *how, size_t size)
{
	static struct options opt; /* large: paths and the inject spec */
	int sock[2], status[2], ret;
	pid_t self = getpid(), keeper_pid;
	char self_str[16];

	how[0] = '\0';
	if (!supervise_already(&outer_supervisor))
		outer_supervisor = 0;
	config_load(&opt, env_lookup, geteuid() == 0);
	if (!sv_setup(&opt))
		return EXIT_USAGE;
	sv_set_no_new_privs(geteuid() != 0);
	snprintf(self_str, sizeof(self_str), "%d", (int)self);
	setenv(SUPERVISOR_ENV, self_str, 1);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) != 0 ||
	    pipe2(status, O_CLOEXEC) != 0) {
		cli_error("cannot start the supervisor: %s", strerror(errno));
		return EXIT_NOEXEC;
	}
	fflush(NULL);
	keeper_pid = fork();
	if (keeper_pid == 0) {
		close(sock[0]);
		close(status[0]);
		keeper(l, self, sock[1], status[1]);
	}
	close(sock[1]);
	close(status[1]);
	sv_set_tree(keeper_pid);
	if (keeper_pid < 0) {
		cli_error("cannot start %s: %s", l->cmd[0], strerror(errno));
		return EXIT_NOEXEC;
	}
	ret = supervise_tree(l, sock[0], status[0], how, size);
	sv_finish();
	return ret;
}

bool supervise_already(pid_t *supervisor)
{
	const char *env = getenv(SUPERVISOR_ENV);
	char line[256];
	bool filtered = false;
	FILE *f;

	if (!env || !*env)
		return false;
	/* The variable alone may be inherited by a process that left the tree
	 * (it cannot shed the filter, so the filter decides). */
	if (!(f = fopen("/proc/self/status", "re")))
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Seccomp:", 8) == 0)
			filtered = atoi(line + 8) == SECCOMP_MODE_FILTER;
	fclose(f);
	*supervisor = (pid_t)atoi(env);
	return filtered;
}
