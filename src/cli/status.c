/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/* stickysync status, ack and prune: the operator's side of the latch table. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum { OPT_STATE = 256, OPT_JSON, OPT_ALL, OPT_ACTIVE };
int parse_admin_args(const char *cmd, int argc, char **argv, unsigned takes, struct admin_opts *o)
{
	static const struct option options[] = {
	    {"state", required_argument, NULL, OPT_STATE},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"all", no_argument, NULL, OPT_ALL},
	    {"active", no_argument, NULL, OPT_ACTIVE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		bool taken = (c == OPT_JSON && (takes & TAKES_JSON)) ||
			     (c == OPT_ALL && (takes & TAKES_ALL)) ||
			     (c == OPT_ACTIVE && (takes & TAKES_ACTIVE)) || c == OPT_STATE ||
			     c == 'h';

		if (c == ':')
			return cli_usage("%s: %s needs a value", cmd, argv[optind - 1]);
		if (!taken)
			return cli_bad_option(cmd, c, argv);
		if (c == 'h')
			return cli_help(), -1;
		if (c == OPT_STATE)
			o->state = optarg;
		o->json |= c == OPT_JSON;
		o->all |= c == OPT_ALL;
		o->active |= c == OPT_ACTIVE;
	}
	o->paths = argv + optind;
	o->npaths = argc - optind;
	return 0;
}

/* From the SIGBUS handler (state_guard): write(2) only.  The command then
 * fails (see done_with_table): what it says comes from that copy. */
static void report_state_fault(const char *line)
{
	static const char prefix[] = "stickysync: ", tail[] = "; the command fails\n";

	if (write(STDERR_FILENO, prefix, sizeof(prefix) - 1) > 0 &&
	    write(STDERR_FILENO, line, strlen(line)) > 0)
		(void)!write(STDERR_FILENO, tail, sizeof(tail) - 1);
}

/* Close the table; ret, or EXIT_FAILED when it vanished while in use. */
static int done_with_table(struct state *st, int ret)
{
	if (state_salvaged(st))
		ret = EXIT_FAILED;
	state_close(st);
	return ret;
}

/*
 * Open the table of the state folder, never creating it: looking must not
 * leave a folder behind.  *st is left unmapped (hdr NULL) when there is no
 * table yet; false, with an error printed, when there is one we cannot use.
 * why_readonly gets why the table cannot be written ("" when it can).
 */
static bool open_table(const char *state_opt, char *dir, size_t size, struct state *st,
		       char *why_readonly, size_t why_size)
{
	memset(st, 0, sizeof(*st));
	why_readonly[0] = '\0';
	if (!cli_state_dir(state_opt, dir, size))
		return false;
	switch (state_open(st, dir, false, 0, why_readonly, why_size)) {
	case 0:
		/* a table truncated while we read it must not kill the command */
		state_guard(st, dir, report_state_fault);
		return true;
	case 1:
		/* a folder named on the command line that is not there is a
		 * typo, not a state without latches */
		if (state_opt && access(dir, F_OK) != 0) {
			cli_error("state folder %s does not exist (--state names the folder the "
				  "library was given with STICKYSYNC_STATE)",
				  dir);
			return false;
		}
		return true;
	default:
		cli_error("%s", why_readonly);
		why_readonly[0] = '\0';
		return false;
	}
}

/* ack and prune change the table: not one this process may only read. */
static bool open_table_to_change(const char *state_opt, char *dir, size_t size, struct state *st,
				 const char *nothing_done)
{
	char why[STATE_MSG_MAX];

	if (!open_table(state_opt, dir, size, st, why, sizeof(why)))
		return false;
	if (!st->tab.readonly)
		return true;
	cli_error("%s; nothing was %s", why, nothing_done);
	state_close(st);
	return false;
}

static int collect(const struct state *st, bool (*keep)(const struct latch_record *, void *),
		   void *arg, struct rec_list *l)
{
	memset(l, 0, sizeof(*l));
	if (!st->tab.hdr)
		return 0;
	if (records_collect(&st->tab, keep, arg, l) != 0) {
		cli_error("out of memory reading the latch table");
		return -1;
	}
	return 0;
}

static bool is_active(const struct latch_record *rec, void *arg)
{
	(void)arg;
	return !record_acked(rec);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- status -------------------------------------------------------------- */

static void print_status(const struct admin_opts *o, const struct rec_list *l, const char *dir)
{
	if (o->json)
		records_print_json(stdout, l, dir);
	else if (l->n)
		records_print_table(stdout, l, "");
	else
		printf("no %s (state folder %s)\n", o->all ? "latches recorded" : "latched files",
		       dir);
}

static int status_paths(const struct admin_opts *o, const struct state *st, const char *dir);
static int find_path_records(const struct state *st, const char *path, struct rec_list *l);

int cmd_status(int argc, char **argv)
{
	struct admin_opts o = {0};
	char dir[PATH_MAX], why[STATE_MSG_MAX];
	struct state st;
	struct rec_list l;
	int ret = parse_admin_args("status", argc, argv, TAKES_JSON | TAKES_ALL, &o);

	if (ret)
		return ret < 0 ? 0 : ret;
	/* a table this process may only read is read all the same */
	if (!open_table(o.state, dir, sizeof(dir), &st, why, sizeof(why)))
		return EXIT_FAILED;
	if (o.npaths)
		return done_with_table(&st, status_paths(&o, &st, dir));
	ret = collect(&st, o.all ? NULL : is_active, NULL, &l) == 0 ? 0 : EXIT_FAILED;
	if (ret == 0)
		print_status(&o, &l, dir);
	rings_report_unseen();
	records_free(&l);
	return done_with_table(&st, ret);
}

/* The records of PATH (by identity, else by its recorded path) that
 * status shows, added to l. */
static int path_records(const struct admin_opts *o, const struct state *st, const char *path,
			struct rec_list *l)
{
	struct rec_list found;

	if (find_path_records(st, path, &found) != 0)
		return -1;
	for (size_t i = 0; i < found.n; i++) {
		struct latch_record *v;

		if (!o->all && record_acked(&found.v[i]))
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 8;

			if (!(v = realloc(l->v, cap * sizeof(*v)))) {
				records_free(&found);
				cli_error("out of memory");
				return -1;
			}
			l->v = v;
			l->cap = cap;
		}
		l->v[l->n++] = found.v[i];
	}
	records_free(&found);
	return 0;
}

/* What PATH's own attribute says (*af), if status shows it: 1, else 0. */
static int path_attr(const struct admin_opts *o, const char *path, struct attr_found *af)
{
	af->path = path;
	if (attr_read_path(path, &af->attr) != 1)
		return 0;
	return !af->attr.acked || o->all;
}

/* `status PATH...`: what the table holds about each PATH, and what the
 * file itself records (a latch made on another host, or under another
 * state folder, is only there). */
static int status_paths(const struct admin_opts *o, const struct state *st, const char *dir)
{
	struct attr_found *af = calloc((size_t)o->npaths, sizeof(*af));
	struct rec_list l = {0};
	size_t naf = 0;
	int ret = 0;

	if (!af)
		return cli_error("out of memory"), EXIT_FAILED;
	for (int i = 0; i < o->npaths; i++) {
		if (access(o->paths[i], F_OK) != 0 && errno != ENOENT)
			cli_error("%s: %s", o->paths[i], strerror(errno)), ret = EXIT_FAILED;
		if (path_records(o, st, o->paths[i], &l) != 0)
			ret = EXIT_FAILED;
		naf += path_attr(o, o->paths[i], &af[naf]);
	}
	if (o->json)
		records_print_json_paths(stdout, &l, af, naf, dir);
	else if (l.n || naf) {
		records_print_heading(stdout, "");
		records_print_rows(stdout, &l, "");
		for (size_t i = 0; i < naf; i++)
			attr_print_row(stdout, &af[i].attr, af[i].path, "");
	} else
		printf("no %s for %s (state folder %s, and on the file%s)\n",
		       o->all ? "latches recorded" : "latched files",
		       o->npaths == 1 ? o->paths[0] : "these paths", dir,
		       o->npaths == 1 ? "" : "s");
	records_free(&l);
	free(af);
	return ret;
}

/* ---- ack ----------------------------------------------------------------- */

/* What an ack PATH looks for: the file's identity, else its recorded path. */
struct ack_target {
	bool have_key;
	struct file_key key, fs;
	char abs[PATH_MAX];
};

static bool by_key(const struct latch_record *rec, void *arg)
{
	const struct ack_target *t = arg;

	/* The filesystem's latch (a failed syncfs) only through its root, as
	 * acknowledging through an fd does: it lost data of unknown files. */
	return t->have_key && (key_equal(&rec->key, &t->key) ||
			       (key_is_mount_root(&t->key) && key_equal(&rec->key, &t->fs)));
}

/* The file is gone or was replaced: its latch is found by the path it had. */
static bool by_path(const struct latch_record *rec, void *arg)
{
	const struct ack_target *t = arg;

	return rec->key.kind == KEY_FILE && strcmp(rec->path, t->abs) == 0;
}

static void report_ack(const struct latch_record *r)
{
	char when[48], subject[REC_PATH_MAX + 64], op[REC_OP_MAX], prog[REC_PROG_MAX];
	const char *name = strerrorname_np(r->error);

	format_when(r->when_ns, when, sizeof(when));
	record_subject(r, subject, sizeof(subject));
	printf("acknowledged %s: %s in %s by %s[%d] at %s\n", subject, name ? name : "?",
	       record_text(r->op, sizeof(r->op), op, sizeof(op)),
	       r->prog[0] ? record_text(r->prog, sizeof(r->prog), prog, sizeof(prog)) : "?", r->pid,
	       when);
}

/*
 * Acknowledge the latch recorded on the file at path (attr.h), if it holds
 * one and, when key is not NULL, is still that file; say so when report is
 * set (else a record's line says it).  1 when acknowledged, 0 when there
 * was none, -1 (with an error printed) when the file could not take the
 * acknowledgment.
 */
static int ack_on_file(const char *path, const struct file_key *key, uint32_t table_id, bool report)
{
	struct latch_attr was, a = {.pid = getpid(), .when_sec = now_ns() / 1000000000};
	struct file_key now;
	char when[48], who[2 * ATTR_FIELD_MAX + 2], num[16], prog[ATTR_FIELD_MAX],
	    host[ATTR_FIELD_MAX], op[sizeof(was.op)];
	int err;

	if (attr_read_path(path, &was) != 1 || was.acked)
		return 0;
	if (key && (key_from_path(path, &now) != 0 || !key_equal(&now, key)))
		return 0;
	attr_ack_op(a.op, sizeof(a.op), table_id);
	memcpy(a.prog, "stickysync", 11);
	attr_host(a.host, sizeof(a.host));
	err = attr_acknowledge_path(path, &a);
	if (err) {
		cli_error("%s: the latch recorded on the file (%s) cannot be acknowledged: %s; "
			  "nothing was acknowledged",
			  path, ATTR_NAME, strerror(err));
		return -1;
	}
	if (!report)
		return 1;
	format_when(was.when_sec * 1000000000, when, sizeof(when));
	/* what a file says is anyone's text: printed as the table's is */
	snprintf(who, sizeof(who), "%s@%s",
		 record_text(was.prog, sizeof(was.prog), prog, sizeof(prog)),
		 record_text(was.host, sizeof(was.host), host, sizeof(host)));
	snprintf(num, sizeof(num), "%d", was.error);
	printf("acknowledged %s: %s in %s by %s[%d] at %s (recorded on the file)\n", path,
	       strerrorname_np(was.error) ? strerrorname_np(was.error) : num,
	       record_text(was.op, sizeof(was.op), op, sizeof(op)), who, was.pid, when);
	return 1;
}

/* Does the file at path hold an acknowledgment (attr.h)? */
static bool file_acked(const char *path)
{
	struct latch_attr a;

	return attr_read_path(path, &a) == 1 && a.acked;
}

/* Acknowledge the unacknowledged records of l; how many were.  A record
 * whose latch is also on its file acknowledges it there too, and stays
 * latched (*refused set) when the file refuses. */
static int acknowledge_list(struct latchtab *t, const struct rec_list *l, bool *refused)
{
	int n = 0;

	for (size_t i = 0; i < l->n; i++) {
		bool newer = false;

		if (record_acked(&l->v[i]))
			continue;
		if ((l->v[i].key.flags & KEYF_ATTR) && l->v[i].key.kind == KEY_FILE &&
		    ack_on_file(l->v[i].path, &l->v[i].key, t->id, false) < 0) {
			*refused = true;
			continue;
		}
		/* 0 when an earlier record of the same key already took it.
		 * Only the loss listed: one that happened since stays. */
		if (latchtab_acknowledge(t, &l->v[i].key, l->v[i].latch_seq, latchtab_next_seq(t),
					 now_ns(), &newer) > 0) {
			report_ack(&l->v[i]);
			n++;
		} else if (newer) {
			char subject[REC_PATH_MAX + 64];

			record_subject(&l->v[i], subject, sizeof(subject));
			cli_warn("%s: lost data again while being acknowledged; still latched "
				 "(run stickysync status)",
				 subject);
		}
	}
	return n;
}

static bool any_active(const struct rec_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (!record_acked(&l->v[i]))
			return true;
	return false;
}

/* The records PATH names: by identity, else (file gone or replaced) by the
 * recorded path.  -1 with an error printed. */
static int find_path_records(const struct state *st, const char *path, struct rec_list *l)
{
	struct ack_target t = {0};

	if (!cli_absolute(path, t.abs, sizeof(t.abs))) {
		cli_error("%s: path too long", path);
		return -1;
	}
	if (key_from_path(path, &t.key) == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

		t.have_key = true;
		key_fs_of_fd(fd, &t.key, &t.fs);
		if (fd >= 0)
			close(fd);
	} else if (errno != ENOENT) {
		cli_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (collect(st, by_key, &t, l) != 0)
		return -1;
	if (any_active(l))
		return 0;
	records_free(l);
	return collect(st, by_path, &t, l);
}

/* The page cache may still hold what never reached the disk, marked clean:
 * drop it, so that reads after the acknowledgment show what the file holds. */
static void drop_cached_pages(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/* 0 when PATH's latch was (or already had been) acknowledged; *acked
 * counts the latches acknowledged.  The latch on the file goes first: if
 * the file cannot take the acknowledgment, nothing is acknowledged. */
static int ack_path(struct state *st, const char *path, const char *dir, int *acked)
{
	struct rec_list l;
	int on_file, ret = 0;

	if (find_path_records(st, path, &l) != 0)
		return EXIT_FAILED;
	on_file = ack_on_file(path, NULL, st->tab.id, !any_active(&l));
	if (on_file < 0)
		ret = EXIT_FAILED;
	else if (any_active(&l) || on_file) {
		bool refused = false;

		*acked += acknowledge_list(&st->tab, &l, &refused) + on_file;
		if (refused)
			ret = EXIT_FAILED;
		drop_cached_pages(path);
	} else if (l.n || file_acked(path))
		printf("%s: already acknowledged\n", path);
	else {
		cli_error("%s: no latch recorded in %s or on the file", path, dir);
		ret = EXIT_FAILED;
	}
	records_free(&l);
	return ret;
}

static int ack_all(struct state *st, const char *dir, int *acked)
{
	struct rec_list l;
	bool refused = false;

	if (collect(st, is_active, NULL, &l) != 0)
		return EXIT_FAILED;
	*acked = acknowledge_list(&st->tab, &l, &refused);
	if (*acked == 0 && !refused)
		printf("nothing to acknowledge (state folder %s)\n", dir);
	records_free(&l);
	return refused ? EXIT_FAILED : 0;
}

int cmd_ack(int argc, char **argv)
{
	struct admin_opts o = {0};
	char dir[PATH_MAX];
	struct state st;
	int acked = 0, ret = parse_admin_args("ack", argc, argv, TAKES_ALL, &o);

	if (ret)
		return ret < 0 ? 0 : ret;
	if (o.all == (o.npaths > 0))
		return cli_usage("ack: expected PATH... or --all");
	if (!open_table_to_change(o.state, dir, sizeof(dir), &st, "acknowledged"))
		return EXIT_FAILED;
	if (o.all)
		ret = ack_all(&st, dir, &acked);
	for (int i = 0; i < o.npaths; i++)
		if (ack_path(&st, o.paths[i], dir, &acked) != 0)
			ret = EXIT_FAILED;
	/* What the operator most needs to know: a program that keeps its fds
	 * open (qemu) keeps failing its syncs of the file. */
	if (acked)
		printf(
		    "note: fds opened before a loss stay latched; a program must reopen the file "
		    "to sync it again\n");
	return done_with_table(&st, ret);
}

/* ---- prune --------------------------------------------------------------- */

static bool same_record(const struct latch_record *a, const struct latch_record *b)
{
	return key_equal(&a->key, &b->key) && a->latch_seq == b->latch_seq;
}

/* Name the records of before that are not in after. */
static void report_pruned(const struct rec_list *before, const struct rec_list *after)
{
	char subject[REC_PATH_MAX + 64];

	for (size_t i = 0; i < before->n; i++) {
		size_t j = 0;

		while (j < after->n && !same_record(&before->v[i], &after->v[j]))
			j++;
		if (j < after->n)
			continue;
		record_subject(&before->v[i], subject, sizeof(subject));
		printf("pruned %s (%s)\n", subject,
		       record_acked(&before->v[i]) ? "acknowledged" : "unacknowledged");
	}
}

int cmd_prune(int argc, char **argv)
{
	struct admin_opts o = {0};
	char dir[PATH_MAX];
	struct state st;
	struct rec_list before, after;
	int ret = parse_admin_args("prune", argc, argv, TAKES_ACTIVE, &o);

	if (ret)
		return ret < 0 ? 0 : ret;
	if (o.npaths)
		return cli_usage("prune: unexpected argument %s", o.paths[0]);
	if (!open_table_to_change(o.state, dir, sizeof(dir), &st, "pruned"))
		return EXIT_FAILED;
	if (!st.tab.hdr) {
		printf("nothing to prune (state folder %s)\n", dir);
		return 0;
	}
	if (collect(&st, NULL, NULL, &before) != 0)
		return state_close(&st), EXIT_FAILED;
	state_prune_gone(&st.tab, o.active);
	ret = collect(&st, NULL, NULL, &after) == 0 ? 0 : EXIT_FAILED;
	if (ret == 0)
		report_pruned(&before, &after);
	if (ret == 0 && before.n == after.n)
		printf("nothing to prune (state folder %s)\n", dir);
	records_free(&before);
	records_free(&after);
	return done_with_table(&st, ret);
}
