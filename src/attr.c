/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include "attr.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "strcopy.h"
#include "sys.h"

#define ATTR_VERSION '1'

/* ---- the value ------------------------------------------------------------ */

struct out {
	char *buf;
	size_t size, len;
};

static void put_char(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len++] = c;
}

/* A field of the line, of at most max bytes: no spaces or control bytes
 * inside it. */
static void put_field(struct out *o, const char *s, size_t max)
{
	if (!s || !*s)
		s = "?";
	for (; *s && max > 0; s++, max--)
		put_char(o, (unsigned char)*s <= ' ' || *s == 0x7f ? '?' : *s);
}

static void put_num(struct out *o, long long v)
{
	char digits[24];
	unsigned long long u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;
	int n = 0;

	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		put_char(o, '-');
	while (n > 0)
		put_char(o, digits[--n]);
}

size_t attr_format(const struct latch_attr *a, char *buf, size_t size)
{
	struct out o = {buf, size, 0};
	const char *name = strerrorname_np(a->error);

	put_char(&o, ATTR_VERSION);
	put_char(&o, ' ');
	if (a->acked)
		put_field(&o, "acked", SIZE_MAX);
	else if (name)
		put_field(&o, name, SIZE_MAX);
	else
		put_num(&o, a->error);
	put_char(&o, ' ');
	put_field(&o, a->op, sizeof(a->op));
	put_char(&o, ' ');
	put_num(&o, a->when_sec);
	put_char(&o, ' ');
	put_num(&o, a->pid);
	put_char(&o, ' ');
	put_field(&o, a->host, ATTR_HOST_KEPT);
	put_char(&o, ' ');
	put_field(&o, a->prog, ATTR_PROG_KEPT);
	buf[o.len] = '\0';
	return o.len;
}

/* The next space-separated field of [*p, end) into out. */
static void take_field(const char **p, const char *end, char *out, size_t size)
{
	size_t n = 0;

	while (*p < end && **p == ' ')
		(*p)++;
	while (*p < end && **p != ' ' && **p != '\0') {
		if (n + 1 < size)
			out[n++] = (unsigned char)**p < ' ' ? '?' : **p;
		(*p)++;
	}
	out[n] = '\0';
}

static bool parse_num(const char *s, long long *v)
{
	long long n = 0;
	bool neg = *s == '-';

	s += neg;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > (LLONG_MAX - 9) / 10)
			return false;
		n = n * 10 + (*s - '0');
	}
	*v = neg ? -n : n;
	return true;
}

static int errno_by_name(const char *name)
{
	long long n;

	if (parse_num(name, &n) && n > 0 && n < 4096)
		return (int)n;
	for (int err = 1; err < 256; err++) {
		const char *e = strerrorname_np(err);

		if (e && strcmp(e, name) == 0)
			return err;
	}
	return EIO;
}

void attr_parse(const char *buf, size_t len, struct latch_attr *a)
{
	const char *p = buf, *end = buf + len;
	char field[ATTR_FIELD_MAX];
	long long n;

	memset(a, 0, sizeof(*a));
	a->error = EIO;
	memcpy(a->op, "sync", 5);
	memcpy(a->host, "?", 2);
	memcpy(a->prog, "?", 2);
	take_field(&p, end, field, sizeof(field));
	if (strcmp(field, "1") != 0)
		return; /* not a version this library knows: a latch all the same */
	take_field(&p, end, field, sizeof(field));
	a->acked = strcmp(field, "acked") == 0;
	a->error = a->acked ? 0 : field[0] ? errno_by_name(field) : EIO;
	take_field(&p, end, a->op, sizeof(a->op));
	take_field(&p, end, field, sizeof(field));
	/* in nanoseconds it must fit the int64_t that reports use */
	if (parse_num(field, &n) && n >= 0 && n <= INT64_MAX / 1000000000)
		a->when_sec = n;
	take_field(&p, end, field, sizeof(field));
	if (parse_num(field, &n) && n >= 0 && n <= INT32_MAX)
		a->pid = (int)n;
	take_field(&p, end, a->host, sizeof(a->host));
	take_field(&p, end, a->prog, sizeof(a->prog));
	if (!a->op[0])
		memcpy(a->op, "sync", 5);
	if (!a->host[0])
		memcpy(a->host, "?", 2);
	if (!a->prog[0])
		memcpy(a->prog, "?", 2);
}

/* The host's short name (up to its first dot, as hostname -s). */
void attr_host(char *buf, size_t size)
{
	struct utsname u;
	char *dot;

	if (syscall(SYS_uname, &u) != 0 || !u.nodename[0])
		memcpy(u.nodename, "?", 2);
	if ((dot = strchr(u.nodename, '.')) != NULL && dot != u.nodename)
		*dot = '\0';
	str_copy(buf, size, u.nodename);
}

/* ---- the system calls ------------------------------------------------------ */

int attr_write_fd(int fd, const struct latch_attr *a)
{
	char value[ATTR_VALUE_MAX];
	size_t len = attr_format(a, value, sizeof(value));
	int saved = errno, err = 0;

	if (syscall(SYS_fsetxattr, fd, ATTR_NAME, value, len, 0) != 0)
		err = errno;
	errno = saved;
	return err;
}

/* A descriptor for the file at path, without becoming its controlling tty
 * or waiting on a FIFO; -1 with errno. */
static int open_for_attr(const char *path)
{
	return sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
}

int attr_write_path(const char *path, const struct file_key *key, const struct latch_attr *a)
{
	int saved = errno, fd = open_for_attr(path), err;
	struct file_key now;

	if (fd < 0) {
		err = errno;
		errno = saved;
		return err;
	}
	if (key_from_fd(fd, &now) != 0 || !key_equal(&now, key))
		err = ENOENT; /* replaced since: the latch is not this file's */
	else
		err = attr_write_fd(fd, a);
	sys_close(fd);
	errno = saved;
	return err;
}

/* 1, 0 or -1 for what fgetxattr or getxattr returned (n, errno). */
static int read_result(long n, const char *value, struct latch_attr *a)
{
	if (n >= 0) {
		if (a)
			attr_parse(value, (size_t)n, a);
		return 1;
	}
	if (errno == ERANGE) { /* longer than any value we write: still a latch */
		if (a)
			attr_parse("", 0, a);
		return 1;
	}
	return errno == ENODATA ? 0 : -1;
}

int attr_read_fd(int fd, struct latch_attr *a)
{
	char value[ATTR_VALUE_MAX];
	int saved = errno;
	int ret =
	    read_result(syscall(SYS_fgetxattr, fd, ATTR_NAME, value, sizeof(value)), value, a);

	errno = saved;
	return ret;
}

int attr_read_path(const char *path, struct latch_attr *a)
{
	char value[ATTR_VALUE_MAX];
	int saved = errno;
	int ret =
	    read_result(syscall(SYS_getxattr, path, ATTR_NAME, value, sizeof(value)), value, a);

	errno = saved;
	return ret;
}

static int write_result(long ret)
{
	return ret == 0 ? 0 : errno;
}

int attr_acknowledge_fd(int fd, struct latch_attr *a)
{
	char value[ATTR_VALUE_MAX];
	struct latch_attr now;
	int saved = errno, err = 0;
	size_t len;

	if (!attr_latched(fd, &now))
		return 0;
	a->acked = true;
	len = attr_format(a, value, sizeof(value));
	err = write_result(syscall(SYS_fsetxattr, fd, ATTR_NAME, value, len, XATTR_REPLACE));
	errno = saved;
	return err == ENODATA ? 0 : err;
}

int attr_acknowledge_path(const char *path, struct latch_attr *a)
{
	char value[ATTR_VALUE_MAX];
	struct latch_attr now;
	int saved = errno, err = 0;
	size_t len;

	if (attr_read_path(path, &now) != 1 || now.acked)
		return 0;
	a->acked = true;
	len = attr_format(a, value, sizeof(value));
	err = write_result(syscall(SYS_setxattr, path, ATTR_NAME, value, len, XATTR_REPLACE));
	errno = saved;
	return err == ENODATA ? 0 : err;
}

void attr_ack_op(char *op, size_t size, uint32_t table_id)
{
	static const char hex[] = "0123456789abcdef";
	char buf[16] = ATTR_ACK_OP "-";
	size_t n = sizeof(ATTR_ACK_OP);

	for (int shift = 20; shift >= 0; shift -= 4)
		buf[n++] = hex[(table_id >> shift) & 15];
	buf[n] = '\0';
	str_copy(op, size, table_id ? buf : ATTR_ACK_OP);
}

uint32_t attr_ack_table(const struct latch_attr *a)
{
	uint32_t id = 0;
	const char *p = a->op + sizeof(ATTR_ACK_OP);

	if (strncmp(a->op, ATTR_ACK_OP "-", sizeof(ATTR_ACK_OP)) != 0)
		return 0;
	for (int i = 0; i < 6; i++, p++) {
		int d = *p >= '0' && *p <= '9'	 ? *p - '0'
			: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
						 : -1;

		if (d < 0)
			return 0;
		id = id << 4 | (uint32_t)d;
	}
	return *p ? 0 : id;
}
