/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * LMDB on a thin fixture, one process per run, as an application restarted
 * after an error would be:
 *
 *   lmdb MODE write DIR FIRST LAST BIG    commit kFIRST..kLAST, one key per
 *                                         transaction; kBIG is 16 MiB (0: none)
 *   lmdb MODE read DIR FIRST LAST BIG     which of those keys are stored intact
 *
 * The environment is opened with the default flags: no MDB_NOSYNC, so every
 * commit fdatasyncs the data pages before writing the meta page through
 * LMDB's O_DSYNC descriptor.  write prints "committed N" or "failed N ERROR"
 * for each key and keeps going after a failure (the retries); read prints
 * "stored N", "corrupt N" or "missing N", or "open-failed ERROR".  run.sh
 * draws the conclusions.
 */
#define _GNU_SOURCE
#include "rf.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_LEN 1000
#define BIG_LEN (16 * MiB)

/* LMDB returns errno values, or its own negative codes. */
static const char *error_name(int rc)
{
	static char buf[32];

	if (rc > 0)
		return rf_outcome(-1, rc);
	if (rc == MDB_PANIC)
		return "MDB_PANIC";
	snprintf(buf, sizeof(buf), "MDB_%d", rc);
	return buf;
}

/* Key n's value: "value n " then the letter of n, VALUE_LEN bytes in all;
 * the big key's is BIG_LEN bytes of B. */
static size_t value_of(int n, int big, char *buf)
{
	size_t len = n == big ? BIG_LEN : VALUE_LEN;
	int head;

	memset(buf, n == big ? PAT_B : 'a' + n % 26, len);
	if (n != big) {
		head = snprintf(buf, len, "value %d ", n);
		buf[head] = ' ';
	}
	return len;
}

static int open_env(MDB_env **env, const char *dir, unsigned int flags)
{
	int rc = mdb_env_create(env);

	if (rc == 0)
		rc = mdb_env_set_mapsize(*env, 256 * MiB);
	if (rc == 0)
		rc = mdb_env_open(*env, dir, flags, 0600);
	if (rc != 0)
		printf("open-failed %s\n", error_name(rc));
	return rc;
}

static int commit_one(MDB_env *env, int n, int big, char *buf)
{
	char key[16];
	MDB_val k = {.mv_data = key}, v = {.mv_data = buf};
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;

	k.mv_size = (size_t)snprintf(key, sizeof(key), "k%03d", n);
	v.mv_size = value_of(n, big, buf);
	rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc != 0)
		return rc;
	rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc == 0)
		rc = mdb_put(txn, dbi, &k, &v, 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

static int writer(MDB_env *env, int first, int last, int big, char *buf)
{
	int n, rc;

	for (n = first; n <= last; n++) {
		rc = commit_one(env, n, big, buf);
		if (rc == 0)
			printf("committed %d\n", n);
		else
			printf("failed %d %s\n", n, error_name(rc));
	}
	return 0;
}

static const char *stored_state(MDB_txn *txn, MDB_dbi dbi, int n, int big, char *buf)
{
	char key[16];
	MDB_val k = {.mv_data = key}, v;
	size_t len = value_of(n, big, buf);

	k.mv_size = (size_t)snprintf(key, sizeof(key), "k%03d", n);
	if (mdb_get(txn, dbi, &k, &v) != 0)
		return "missing";
	if (v.mv_size != len || memcmp(v.mv_data, buf, len) != 0)
		return "corrupt";
	return "stored";
}

static int reader(MDB_env *env, int first, int last, int big, char *buf)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	int n, rc;

	rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, NULL, 0, &dbi);
	if (rc != 0) {
		printf("open-failed %s\n", error_name(rc));
		return 0;
	}
	for (n = first; n <= last; n++)
		printf("%s %d\n", stored_state(txn, dbi, n, big, buf), n);
	mdb_txn_abort(txn);
	return 0;
}

int main(int argc, char **argv)
{
	int arg = rf_init(argc, argv, 5, "write|read DIR FIRST LAST BIG");
	const char *op = argv[arg], *dir = argv[arg + 1];
	int first = atoi(argv[arg + 2]), last = atoi(argv[arg + 3]), big = atoi(argv[arg + 4]);
	int reading = strcmp(op, "read") == 0;
	char *buf = malloc(BIG_LEN);
	MDB_env *env;
	int rc;

	if (!buf || (!reading && strcmp(op, "write") != 0)) {
		fprintf(stderr, "lmdb: %s\n", buf ? "unknown operation" : "out of memory");
		return 2;
	}
	rf_set_fs(dir);
	if (open_env(&env, dir, reading ? MDB_RDONLY : 0) != 0)
		return 0;
	rc = reading ? reader(env, first, last, big, buf) : writer(env, first, last, big, buf);
	mdb_env_close(env);
	free(buf);
	return rc;
}
