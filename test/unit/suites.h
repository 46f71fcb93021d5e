/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#ifndef STICKYSYNC_TEST_SUITES_H
#define STICKYSYNC_TEST_SUITES_H

#include <check.h>
#include <stdbool.h>

Suite *latchtab_suite(void);
Suite *fdtable_suite(void);
Suite *config_suite(void);
Suite *identity_suite(void);
Suite *inject_suite(void);
Suite *undo_suite(void);
Suite *state_suite(void);
Suite *log_suite(void);
Suite *latch_suite(void);
Suite *attr_suite(void);
Suite *ring_suite(void);
Suite *aio_suite(void);

/* A fresh private folder for a test; removed by the caller with rm_tree. */
void make_tmpdir(char *buf, size_t size);
void rm_tree(const char *dir);
/* Does the file at path (its first 8 KiB) hold text?  false if unreadable. */
bool file_has(const char *path, const char *text);

#endif
