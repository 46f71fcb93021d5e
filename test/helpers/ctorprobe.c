/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
/* Prints what libctor's constructor saw (see ctorlib.c). */
#include <stdio.h>
#include <string.h>

extern int ctor_results[4];
extern int ctor_ran;

int main(void)
{
	static const char *const names[] = {"write", "fsync1", "fsync2", "close"};

	printf("ran = %d\n", ctor_ran);
	for (int i = 0; i < 4; i++)
		printf("%s = %s\n", names[i],
		       ctor_results[i] ? strerrorname_np(ctor_results[i]) : "0");
	return 0;
}
