/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* The unit tests of the core modules, linked without LD_PRELOAD. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

void make_tmpdir(char *buf, size_t size)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, size, "%s/stickysync-unit.XXXXXX", base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(buf));
}

void rm_tree(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

bool file_has(const char *path, const char *text)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

int main(void)
{
	SRunner *sr = srunner_create(latchtab_suite());
	int failed;

	srunner_add_suite(sr, fdtable_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, identity_suite());
	srunner_add_suite(sr, inject_suite());
	srunner_add_suite(sr, undo_suite());
	srunner_add_suite(sr, state_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, latch_suite());
	srunner_add_suite(sr, attr_suite());
	srunner_add_suite(sr, ring_suite());
	srunner_add_suite(sr, aio_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
