/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "log.h"
#include "strcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys.h"

/* The kernel's signal set, not libc's larger sigset_t. */
#define KERNEL_SIGSET (_NSIG / 8)

static enum log_mode log_mode = LOG_STDERR;
static char log_path[PATH_MAX];
static char prog[32] = "?";

void log_setup(enum log_mode mode, const char *path, const char *name)
{
	log_mode = mode;
	if (mode == LOG_FILE)
		str_copy(log_path, sizeof(log_path), path);
	if (name && *name)
		str_copy(prog, sizeof(prog), name);
}

const char *log_prog(void)
{
	return prog;
}

void line_init(struct line *l)
{
	l->len = 0;
	l->buf[0] = '\0';
}

void line_str(struct line *l, const char *s)
{
	size_t room = sizeof(l->buf) - 1 - l->len;
	size_t n = s ? strnlen(s, room) : 0;

	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

void line_int(struct line *l, long long v)
{
	char tmp[24];
	int i = sizeof(tmp) - 1;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	tmp[i] = '\0';
	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u && i > 1);
	if (v < 0)
		tmp[--i] = '-';
	line_str(l, tmp + i);
}

/* strerrorname_np and strerrordesc_np return constant strings: safe in a
 * signal handler, unlike strerror. */
const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "E?";
}

void line_errno(struct line *l, int err)
{
	const char *desc = strerrordesc_np(err);

	line_str(l, errno_name(err));
	if (!strerrorname_np(err)) {
		line_str(l, "(");
		line_int(l, err);
		line_str(l, ")");
	}
	if (desc) {
		line_str(l, " (");
		line_str(l, desc);
		line_str(l, ")");
	}
}

void line_prefix(struct line *l)
{
	line_str(l, "stickysync: ");
	line_str(l, prog);
	line_str(l, "[");
	line_int(l, getpid());
	line_str(l, "]: ");
}

/* A datagram to the local syslog socket, without libc's syslog (which takes
 * a lock and is not async-signal-safe). */
static int send_syslog(const char *text, size_t len)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
	static const char tag[] = "<12>"; /* LOG_USER | LOG_WARNING */
	char msg[sizeof(tag) - 1 + sizeof(((struct line *)0)->buf)];
	int fd, ret;

	if (len > sizeof(msg) - (sizeof(tag) - 1))
		len = sizeof(msg) - (sizeof(tag) - 1);
	memcpy(msg, tag, sizeof(tag) - 1);
	memcpy(msg + sizeof(tag) - 1, text, len);
	fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	ret = (int)syscall(SYS_sendto, fd, msg, sizeof(tag) - 1 + len, MSG_DONTWAIT,
			   (struct sockaddr *)&addr, sizeof(addr));
	sys_close(fd);
	return ret < 0 ? -1 : 0;
}

/* The file is opened for each line: the process may close or reuse any fd
 * number at any time, so the shim keeps none open. */
static int append_file(const char *text, size_t len)
{
	int fd = sys_openat(AT_FDCWD, log_path,
			    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	int ret;

	if (fd < 0)
		return -1;
	ret = sys_write_all(fd, text, len);
	sys_close(fd);
	return ret;
}

static int stderr_taken;

void log_stderr_given(bool given)
{
	__atomic_store_n(&stderr_taken, !given, __ATOMIC_RELAXED);
}

/*
 * fd 2 may be a pipe or a socket whose reader is gone: the write must fail
 * with EPIPE, not kill a program that never writes there itself.  SIGPIPE
 * is blocked around it, and the one the write raised is taken back unless
 * one was already pending.  Raw system calls: async-signal-safe.
 */
static int write_stderr_nosigpipe(const char *text, size_t len)
{
	static const struct timespec now = {0, 0};
	sigset_t pipe_only, old, pending;
	bool was_pending;
	int ret;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &pipe_only, &old, KERNEL_SIGSET) != 0)
		return sys_write_all(2, text, len);
	was_pending = syscall(SYS_rt_sigpending, &pending, KERNEL_SIGSET) == 0 &&
		      sigismember(&pending, SIGPIPE);
	ret = sys_write_all(2, text, len);
	if (ret != 0 && errno == EPIPE && !was_pending)
		syscall(SYS_rt_sigtimedwait, &pipe_only, NULL, &now, KERNEL_SIGSET);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, KERNEL_SIGSET);
	return ret;
}

static int write_stderr(const char *text, size_t len)
{
	if (__atomic_load_n(&stderr_taken, __ATOMIC_RELAXED))
		return send_syslog(text, len - 1); /* without the newline */
	return write_stderr_nosigpipe(text, len);
}

void log_line(struct line *l)
{
	int saved = errno, ret = 0;

	if (l->len >= sizeof(l->buf) - 1)
		l->len = sizeof(l->buf) - 2;
	l->buf[l->len] = '\n';
	switch (log_mode) {
	case LOG_OFF:
		break;
	case LOG_SYSLOG:
		ret = send_syslog(l->buf, l->len); /* without the newline */
		break;
	case LOG_FILE:
		ret = append_file(l->buf, l->len + 1);
		break;
	case LOG_STDERR:
		ret = -1;
		break;
	}
	/* stderr is the destination, and the fallback of the others */
	if (ret != 0 && log_mode != LOG_OFF)
		write_stderr(l->buf, l->len + 1);
	l->buf[l->len] = '\0';
	errno = saved;
}

void log_message(const char *msg)
{
	struct line l;

	line_init(&l);
	line_prefix(&l);
	line_str(&l, msg);
	log_line(&l);
}

#define FAILSTOP_STEP                                                                            \
	"later reads, writes and syncs of this file fail with EIO until it is reopened and the " \
	"loss acknowledged"

const char *policy_next_step(enum policy policy, bool syncs_only)
{
	switch (policy) {
	case POLICY_FAILSTOP:
		return syncs_only ? FAILSTOP_STEP " (syncs only, for supervised programs)"
				  : FAILSTOP_STEP;
	case POLICY_ABORT:
		return "aborting";
	case POLICY_OBSERVE:
		return "observe policy: results are not changed, and a retried sync may report "
		       "success although the data is lost";
	case POLICY_STICKY:
		break;
	}
	return "later syncs of this file fail with EIO until it is reopened and the loss "
	       "acknowledged";
}

void line_refusal(struct line *l, enum policy policy, const char *op, int error, long pid,
		  const char *recorded_on, bool witness)
{
	if (policy == POLICY_OBSERVE)
		line_str(l, ") succeeded after an earlier failure (");
	else
		line_str(l, ") returns EIO: the file lost data (");
	line_str(l, op);
	line_str(l, " failed with ");
	line_str(l, errno_name(error));
	if (pid) {
		line_str(l, " in pid ");
		line_int(l, pid);
	}
	if (recorded_on) {
		line_str(l, " on ");
		line_str(l, recorded_on);
		line_str(l, ", recorded on the file");
	}
	if (policy == POLICY_OBSERVE)
		line_str(l, "); on Linux a retried sync does not mean the data is on disk");
	else if (witness)
		line_str(l, "); this fd saw the loss and stays latched until closed");
	else
		line_str(l, "); acknowledge on a fresh fd or with `stickysync ack`");
}
