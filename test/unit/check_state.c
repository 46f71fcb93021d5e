/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state.h"
#include "suites.h"

static char dir[PATH_MAX], sub[PATH_MAX + 16], file_[PATH_MAX + 32], msg[STATE_MSG_MAX];
static struct state st_;

static void setup(void)
{
	make_tmpdir(dir, sizeof(dir));
	snprintf(sub, sizeof(sub), "%s/a/b/state", dir);
	msg[0] = '\0';
}

static void teardown(void)
{
	state_close(&st_);
	rm_tree(dir);
}

START_TEST(creates_private_folders_and_table)
{
	struct stat st;
	char file[PATH_MAX + 32];

	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	snprintf(file, sizeof(file), "%s/latches", sub);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* allocated, not sparse: a store into a hole can kill with SIGBUS */
	ck_assert_int_ge((long long)st.st_blocks * 512, (long long)st.st_size);
	ck_assert_uint_eq(st_.tab.hdr->capacity, 64);
	ck_assert(!st_.tab.readonly);
	ck_assert_str_eq(msg, "");
}
END_TEST

START_TEST(without_create_nothing_is_made)
{
	struct stat st;

	ck_assert_int_eq(state_open(&st_, sub, false, 64, msg, sizeof(msg)), 1);
	ck_assert_str_eq(msg, "");
	ck_assert_int_eq(stat(sub, &st), -1);
	/* a folder without a table */
	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	state_close(&st_);
	snprintf(file_, sizeof(file_), "%s/latches", sub);
	ck_assert_int_eq(unlink(file_), 0);
	ck_assert_int_eq(state_open(&st_, sub, false, 64, msg, sizeof(msg)), 1);
	ck_assert_ptr_null(st_.tab.hdr);
}
END_TEST

START_TEST(two_openers_share_one_table)
{
	struct state other;
	struct latch_event ev = {.error = 5, .op = "fsync", .path = "/p", .prog = "t", .pid = 1};
	struct latch_view v;

	ev.key.kind = KEY_FILE;
	ev.key.ino = 77;
	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	ck_assert_int_eq(state_open(&other, sub, true, 1024, msg, sizeof(msg)), 0);
	/* the existing table wins over the capacity asked for */
	ck_assert_uint_eq(other.tab.hdr->capacity, 64);
	latchtab_latch(&st_.tab, &ev, latchtab_next_seq(&st_.tab));
	latchtab_lookup(&other.tab, &ev.key, &v);
	ck_assert(v.active);
	state_close(&other);
}
END_TEST

START_TEST(concurrent_creators_agree)
{
	pid_t kids[4];

	for (int i = 0; i < 4; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			struct state c;

			_exit(state_open(&c, sub, true, 64, msg, sizeof(msg)) == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < 4; i++) {
		int status;

		waitpid(kids[i], &status, 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_int_eq(state_open(&st_, sub, false, 64, msg, sizeof(msg)), 0);
}
END_TEST

START_TEST(group_writable_folder_refused)
{
	char open_dir[PATH_MAX + 8];

	snprintf(open_dir, sizeof(open_dir), "%s/o", dir);
	mkdir(open_dir, 0700);
	chmod(open_dir, 0770);
	ck_assert_int_eq(state_open(&st_, open_dir, true, 64, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "is writable by group or others; refused"));
	ck_assert_ptr_null(strchr(msg, '\n'));
}
END_TEST

START_TEST(symlinked_folder_refused)
{
	char real[PATH_MAX + 8], link[PATH_MAX + 8];

	snprintf(real, sizeof(real), "%s/r", dir);
	snprintf(link, sizeof(link), "%s/l", dir);
	mkdir(real, 0700);
	ck_assert_int_eq(symlink(real, link), 0);
	ck_assert_int_eq(state_open(&st_, link, true, 64, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "symbolic link"));
}
END_TEST

START_TEST(writable_or_foreign_file_refused)
{
	char file[PATH_MAX + 32];

	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	state_close(&st_);
	snprintf(file, sizeof(file), "%s/latches", sub);
	chmod(file, 0666);
	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "writable by group or others"));
	chmod(file, 0600);
	ck_assert_int_eq(truncate(file, 10), 0);
	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "is truncated (10 of at least "));
}
END_TEST

/* A table of 64 records with one latch, closed again; file_ names it. */
static void make_table(void)
{
	struct latch_event ev = {.error = 5, .op = "fsync", .path = "/p", .prog = "t", .pid = 1};

	ev.key.kind = KEY_FILE;
	ev.key.ino = 77;
	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	ck_assert_int_eq(latchtab_latch(&st_.tab, &ev, latchtab_next_seq(&st_.tab)), 1);
	state_close(&st_);
	snprintf(file_, sizeof(file_), "%s/latches", sub);
}

static void patch(off_t off, const void *bytes, size_t n)
{
	int fd = open(file_, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

/* state_open refuses the table, with a message containing what. */
static void refused_with(const char *what)
{
	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), -1);
	ck_assert_msg(strstr(msg, what) && strstr(msg, file_), "message: %s", msg);
	ck_assert_ptr_null(strchr(msg, '\n'));
}

START_TEST(damaged_tables_are_named)
{
	uint32_t v;
	char b[64];

	make_table();
	ck_assert_int_eq(truncate(file_, (off_t)latchtab_bytes(64) - 1), 0);
	snprintf(b, sizeof(b), "is truncated (%zu of %zu bytes); refused", latchtab_bytes(64) - 1,
		 latchtab_bytes(64));
	refused_with(b);
	ck_assert_int_eq(truncate(file_, 100), 0);
	refused_with("is truncated (100 of at least ");
	ck_assert_int_eq(truncate(file_, 0), 0);
	refused_with("is truncated (0 of at least ");
	ck_assert_int_eq(unlink(file_), 0);
	make_table();
	v = 2;
	patch(offsetof(struct latch_header, version), &v, sizeof(v));
	snprintf(b, sizeof(b), "is a latch table of version 2, not %u; refused", LATCHTAB_VERSION);
	refused_with(b);
	v = LATCHTAB_VERSION;
	patch(offsetof(struct latch_header, version), &v, sizeof(v));
	v = 48; /* not a power of two */
	patch(offsetof(struct latch_header, capacity), &v, sizeof(v));
	refused_with("is a damaged latch table; refused");
	patch(0, "STKYSYN2", 8);
	refused_with("is not a stickysync latch table; refused");
}
END_TEST

static bool allocated(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (long long)st.st_blocks * 512 >= (long long)st.st_size;
}

/* A table whose pages are holes, as a sparse copy leaves it. */
static void make_sparse(void)
{
	char copy[PATH_MAX + 48], head[4096];
	int from = open(file_, O_RDONLY), to;

	snprintf(copy, sizeof(copy), "%s.sparse", file_);
	to = open(copy, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(from, 0);
	ck_assert_int_ge(to, 0);
	ck_assert_int_eq(pread(from, head, sizeof(head), 0), (ssize_t)sizeof(head));
	ck_assert_int_eq(pwrite(to, head, sizeof(head), 0), (ssize_t)sizeof(head));
	ck_assert_int_eq(ftruncate(to, (off_t)latchtab_bytes(64)), 0);
	close(from);
	close(to);
	ck_assert_int_eq(rename(copy, file_), 0);
}

START_TEST(sparse_table_is_allocated_before_use)
{
	struct latch_event ev = {.error = 5, .op = "fsync", .path = "/q", .prog = "t", .pid = 1};

	make_table();
	make_sparse();
	if (allocated(file_))
		return; /* this filesystem keeps no holes: nothing to show */
	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "");
	ck_assert(!st_.tab.readonly);
	ck_assert(allocated(file_));
	ev.key.kind = KEY_FILE;
	ev.key.ino = 78;
	ck_assert_int_eq(latchtab_latch(&st_.tab, &ev, latchtab_next_seq(&st_.tab)), 1);
}
END_TEST

/* Every writing function of a table attached read-only returns without a
 * store: its mapping is read-only, so one would kill the test. */
static void check_read_only_attach(void)
{
	struct latch_event ev = {.error = 5, .op = "fsync", .path = "/r", .prog = "t", .pid = 1};
	struct latch_view v;
	uint64_t seq;

	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	ck_assert(st_.tab.readonly);
	ck_assert_msg(strstr(msg, "latches is read-only ("), "message: %s", msg);
	ev.key.kind = KEY_FILE;
	ev.key.ino = 77;
	latchtab_lookup(&st_.tab, &ev.key, &v);
	ck_assert(v.active);
	seq = latchtab_seq(&st_.tab);
	ck_assert_uint_eq(latchtab_next_seq(&st_.tab), seq);
	latchtab_seq_above(&st_.tab, seq + 100);
	ck_assert_uint_eq(latchtab_seq(&st_.tab), seq);
	ck_assert_int_eq(latchtab_acknowledge(&st_.tab, &ev.key, UINT64_MAX, seq, 1, NULL), 0);
	ev.key.ino = 79;
	ck_assert_int_eq(latchtab_latch(&st_.tab, &ev, seq), -1);
	ck_assert_int_eq(state_prune_gone(&st_.tab, true), 0);
	ev.key.ino = 77;
	latchtab_lookup(&st_.tab, &ev.key, &v);
	ck_assert(v.active);
}

/* Root writes any file: a read-only bind mount, in a mount namespace of a
 * child of its own. */
static int read_only_as_root(void)
{
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount(sub, sub, NULL, MS_BIND, NULL) != 0 ||
	    mount(NULL, sub, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
		return 77;
	check_read_only_attach();
	return 0;
}

START_TEST(read_only_table_is_enforced_not_written)
{
	pid_t kid;
	int status;

	make_table();
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(file_, 0400), 0);
		check_read_only_attach();
		return;
	}
	kid = fork();
	if (kid == 0)
		_exit(read_only_as_root());
	ck_assert_int_eq(waitpid(kid, &status, 0), kid);
	ck_assert_msg(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 77),
		      "status %x", status);
}
END_TEST

/* Whatever a record's text fields hold, a copy of it has them terminated. */
static int check_bounded(const struct latch_record *rec, void *arg)
{
	(void)arg;
	ck_assert_uint_eq(strnlen(rec->op, sizeof(rec->op)), sizeof(rec->op) - 1);
	ck_assert_uint_eq(strnlen(rec->prog, sizeof(rec->prog)), sizeof(rec->prog) - 1);
	ck_assert_uint_eq(strnlen(rec->path, sizeof(rec->path)), sizeof(rec->path) - 1);
	return 1;
}

START_TEST(copies_of_records_have_bounded_text)
{
	struct latch_view v;
	struct latch_record copy, *r;
	struct file_key key = {.kind = KEY_FILE, .ino = 77};

	make_table();
	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	latchtab_lookup(&st_.tab, &key, &v);
	ck_assert(v.found);
	r = &st_.tab.rec[v.slot];
	memset(r->op, 'o', sizeof(r->op));
	memset(r->prog, 'p', sizeof(r->prog));
	memset(r->path, 'q', sizeof(r->path));
	ck_assert_int_eq(latchtab_each(&st_.tab, check_bounded, NULL), 1);
	ck_assert(latchtab_view_record(&v, &copy));
	check_bounded(&copy, NULL);
}
END_TEST

/* ---- the fault guard ------------------------------------------------------ */

static int reports;
static char report_line[STATE_MSG_MAX];

static void count_report(const char *line)
{
	reports++;
	snprintf(report_line, sizeof(report_line), "%s", line);
}

static void open_guarded(uint32_t capacity)
{
	reports = 0;
	/* the sanitizers' own SIGBUS handler would keep ours out */
	signal(SIGBUS, SIG_DFL);
	ck_assert_int_eq(state_open(&st_, sub, true, capacity, msg, sizeof(msg)), 0);
	snprintf(file_, sizeof(file_), "%s/latches", sub);
	ck_assert(state_guard(&st_, sub, count_report));
}

static struct latch_event event(uint64_t ino)
{
	struct latch_event ev = {.error = 5, .op = "fsync", .path = "/g", .prog = "t", .pid = 1};

	ev.key.kind = KEY_FILE;
	ev.key.ino = ino;
	return ev;
}

static bool active(uint64_t ino)
{
	struct latch_event ev = event(ino);
	struct latch_view v;

	latchtab_lookup(&st_.tab, &ev.key, &v);
	return v.active;
}

START_TEST(guard_survives_a_table_truncated_to_nothing)
{
	struct latch_event a = event(1), b = event(2);
	uint64_t seq;

	open_guarded(64);
	ck_assert_int_eq(latchtab_latch(&st_.tab, &a, latchtab_next_seq(&st_.tab)), 1);
	ck_assert(!state_salvaged(&st_));
	seq = latchtab_seq(&st_.tab);
	ck_assert_int_eq(truncate(file_, 0), 0);
	/* the first access faults; the process goes on with a private table */
	ck_assert_int_eq(latchtab_latch(&st_.tab, &b, latchtab_next_seq(&st_.tab)), 1);
	ck_assert(active(2));
	ck_assert_int_eq(reports, 1);
	ck_assert_msg(strstr(report_line, file_) && strstr(report_line, "private copy"), "%s",
		      report_line);
	ck_assert(state_salvaged(&st_));
	/* fds numbered before count as opened before every later latch */
	ck_assert_uint_gt(latchtab_seq(&st_.tab), seq);
	ck_assert_uint_ge(latchtab_seq(&st_.tab), LATCHTAB_SALVAGE_GAP);
	/* the file is no longer written */
	ck_assert_int_eq(truncate(file_, 0), 0);
	ck_assert_int_eq(latchtab_latch(&st_.tab, &a, latchtab_next_seq(&st_.tab)), 1);
	ck_assert_int_eq(reports, 1);
}
END_TEST

START_TEST(guard_keeps_what_can_still_be_read)
{
	uint32_t capacity = 1024, half = capacity / 2;
	size_t keep = sizeof(struct latch_header) + half * sizeof(struct latch_record);
	struct latch_event ev;
	struct latch_view v;
	uint64_t ino = 1;

	open_guarded(capacity);
	/* a latch whose record lies in the first half of the records */
	do {
		ev = event(++ino);
		latchtab_latch(&st_.tab, &ev, latchtab_next_seq(&st_.tab));
		latchtab_lookup(&st_.tab, &ev.key, &v);
	} while (v.slot >= half - 16);
	ck_assert_int_eq(truncate(file_, (off_t)keep), 0);
	/* a read beyond the end faults */
	ck_assert_uint_eq(__atomic_load_n(&st_.tab.rec[capacity - 1].state, __ATOMIC_ACQUIRE), 0);
	ck_assert_int_eq(reports, 1);
	ck_assert(active(ino));
}
END_TEST

static int latched_so_far;

/* Latch 300 keys of its own, looking each up, as fast as it can. */
static void *latch_many(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg * 1000;

	for (uint64_t i = 0; i < 300; i++) {
		struct latch_event ev = event(base + i);

		latchtab_latch(&st_.tab, &ev, latchtab_next_seq(&st_.tab));
		active(base + i);
		__atomic_add_fetch(&latched_so_far, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

START_TEST(guard_survives_truncation_under_threads)
{
	pthread_t threads[4];
	struct latch_event a;

	open_guarded(4096);
	for (uintptr_t i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, latch_many, (void *)(i + 1)), 0);
	while (__atomic_load_n(&latched_so_far, __ATOMIC_RELAXED) < 200)
		sched_yield();
	ck_assert_int_eq(truncate(file_, 0), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	a = event(99);
	ck_assert_int_eq(latchtab_latch(&st_.tab, &a, latchtab_next_seq(&st_.tab)), 1);
	ck_assert(active(99));
	ck_assert_int_eq(reports, 1);
}
END_TEST

/* How a child doing what to a guarded table ended. */
static int child_status(void (*what)(void))
{
	pid_t kid = fork();
	int status;

	if (kid == 0) {
		open_guarded(64);
		what();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(kid, &status, 0), kid);
	return status;
}

static void raise_sigbus(void)
{
	raise(SIGBUS);
}

/* A fault in another mapping: a file truncated under it. */
static void fault_elsewhere(void)
{
	char path[PATH_MAX + 16];
	volatile char *p;
	int fd;

	snprintf(path, sizeof(path), "%s/other", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, 4096) != 0)
		_exit(2);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || ftruncate(fd, 0) != 0)
		_exit(2);
	(void)p[0];
}

START_TEST(guard_leaves_other_sigbus_alone)
{
	int status = child_status(raise_sigbus);

	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS, "status %x", status);
	status = child_status(fault_elsewhere);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS, "status %x", status);
}
END_TEST

static void programs_handler(int sig)
{
	(void)sig;
}

START_TEST(guard_leaves_the_programs_handler_alone)
{
	struct sigaction sa;

	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	signal(SIGBUS, programs_handler);
	ck_assert(!state_guard(&st_, sub, count_report));
	ck_assert_int_eq(sigaction(SIGBUS, NULL, &sa), 0);
	ck_assert_ptr_eq(sa.sa_handler, programs_handler);
}
END_TEST

START_TEST(prune_gone_keeps_live_files)
{
	char live[PATH_MAX + 8], dead[PATH_MAX + 8];
	struct latch_event ev = {.error = 5, .op = "fsync", .prog = "t", .pid = 1};
	int fd;

	ck_assert_int_eq(state_open(&st_, sub, true, 64, msg, sizeof(msg)), 0);
	snprintf(live, sizeof(live), "%s/live", dir);
	snprintf(dead, sizeof(dead), "%s/dead", dir);
	fd = open(live, O_CREAT | O_RDWR, 0600);
	key_from_fd(fd, &ev.key);
	ev.path = live;
	latchtab_latch(&st_.tab, &ev, 1);
	close(fd);
	fd = open(dead, O_CREAT | O_RDWR, 0600);
	key_from_fd(fd, &ev.key);
	ev.path = dead;
	latchtab_latch(&st_.tab, &ev, 2);
	close(fd);
	unlink(dead);
	/* active records are kept unless asked */
	ck_assert_int_eq(state_prune_gone(&st_.tab, false), 0);
	ck_assert_int_eq(state_prune_gone(&st_.tab, true), 1);
	ck_assert_uint_eq(st_.tab.hdr->active, 1);
}
END_TEST

Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, creates_private_folders_and_table);
	tcase_add_test(tc, without_create_nothing_is_made);
	tcase_add_test(tc, two_openers_share_one_table);
	tcase_add_test(tc, concurrent_creators_agree);
	tcase_add_test(tc, group_writable_folder_refused);
	tcase_add_test(tc, symlinked_folder_refused);
	tcase_add_test(tc, writable_or_foreign_file_refused);
	tcase_add_test(tc, prune_gone_keeps_live_files);
	tcase_add_test(tc, damaged_tables_are_named);
	tcase_add_test(tc, sparse_table_is_allocated_before_use);
	tcase_add_test(tc, read_only_table_is_enforced_not_written);
	tcase_add_test(tc, copies_of_records_have_bounded_text);
	tcase_add_test(tc, guard_survives_a_table_truncated_to_nothing);
	tcase_add_test(tc, guard_keeps_what_can_still_be_read);
	tcase_add_test(tc, guard_survives_truncation_under_threads);
	tcase_add_test(tc, guard_leaves_other_sigbus_alone);
	tcase_add_test(tc, guard_leaves_the_programs_handler_alone);
	suite_add_tcase(s, tc);
	return s;
}
