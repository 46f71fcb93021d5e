/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The user.stickysync attribute's value (attr_parse): whatever a file
 * holds, from any host or any user who may write it.  Any value is a latch
 * or an acknowledgment, with every field terminated and filled; what
 * attr_format writes reads back the same.
 */
#include "fuzz.h"

#include <errno.h>

#include "attr.h"

static void check_fields(const struct latch_attr *a)
{
	FUZZ_CHECK(fuzz_terminated(a->op, sizeof(a->op)) && a->op[0], "op");
	FUZZ_CHECK(fuzz_terminated(a->host, sizeof(a->host)) && a->host[0], "host");
	FUZZ_CHECK(fuzz_terminated(a->prog, sizeof(a->prog)) && a->prog[0], "prog");
	FUZZ_CHECK(a->acked ? a->error == 0 : a->error > 0, "error %d acked %d", a->error,
		   a->acked);
	FUZZ_CHECK(a->pid >= 0, "pid %d", a->pid);
	FUZZ_CHECK(a->when_sec >= 0 && a->when_sec <= INT64_MAX / 1000000000, "when %lld",
		   (long long)a->when_sec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct latch_attr a, b;
	char buf[ATTR_VALUE_MAX];
	size_t n;

	/* the value as fgetxattr gives it: bytes, not a string */
	attr_parse((const char *)data, size, &a);
	check_fields(&a);
	n = attr_format(&a, buf, sizeof(buf));
	FUZZ_CHECK(n < sizeof(buf) && strlen(buf) == n, "format length %zu", n);
	attr_parse(buf, n, &b);
	check_fields(&b);
	FUZZ_CHECK(b.acked == a.acked && b.pid == a.pid && b.when_sec == a.when_sec,
		   "round trip of the numbers");
	FUZZ_CHECK(b.error == a.error || (!strerrorname_np(a.error) && b.error == EIO),
		   "round trip of error %d -> %d", a.error, b.error);
	return 0;
}
