/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The stickysync command: shared pieces of its subcommands.
 *
 *   stickysync.c  entry point, help, messages, the state folder
 *   run.c         `run`: start a command with the library preloaded
 *   coverage.c    whether a program can be covered by a preload at all
 *   records.c     reading the latch table, and printing it as text or JSON
 *   status.c      `status`, `ack`, `prune`
 *   rings.c       processes whose io_uring rings the library cannot follow
 *   supervise*.c  the supervisor, for programs a preload cannot reach
 *
 * The command reads and writes the same latch table as the library, through
 * the same state and latchtab modules; it never parses the file itself.
 */
#ifndef STICKYSYNC_CLI_H
#define STICKYSYNC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "attr.h"
#include "latchtab.h"
#include "state.h"

/* Exit statuses of the command itself; `run` otherwise exits with CMD's. */
#define EXIT_FAILED 1	/* an operation failed (ack of a file with no latch, ...) */
#define EXIT_USAGE 2	/* bad arguments or settings: nothing was run */
#define EXIT_LATCHED 74 /* run --fail-on-latch: a file latched (EX_IOERR) */
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127

/* "stickysync: ..." on stderr, one line. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: the message, a pointer to --help; returns EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An option of argv that getopt_long refused (c is '?') or that cmd does not
 * take, named as the user typed it; returns EXIT_USAGE. */
int cli_bad_option(const char *cmd, int c, char **argv);
/* A complaint of config_load, as an error: the command stops where the
 * library would fall back. */
void cli_complaint(const char *msg);
/* The help text on stdout; returns 0. */
int cli_help(void);

/* path made absolute against the current folder (not resolved); false if it
 * does not fit. */
bool cli_absolute(const char *path, char *out, size_t size);

/* The state folder the library would use, honouring an explicit --state
 * (NULL: STICKYSYNC_STATE, else the default).  false, with an error printed,
 * when there is none (state off, or no usable default). */
bool cli_state_dir(const char *state_opt, char *dir, size_t size);

/* records.c: a snapshot of the table's live records. */
struct rec_list {
	struct latch_record *v;
	size_t n, cap;
};

/* Copy the records for which keep(rec, arg) is true (NULL: all live ones);
 * -1 when out of memory. */
int records_collect(const struct latchtab *t,
		    bool (*keep)(const struct latch_record *rec, void *arg), void *arg,
		    struct rec_list *out);
void records_free(struct rec_list *l);
bool record_acked(const struct latch_record *r);
/* "2024-05-01T12:00:00+02:00", local time. */
void format_when(int64_t ns, char *buf, size_t size);
/* The text of a record's field of size bytes, for people: up to its first
 * zero byte, with control characters and bytes that are not UTF-8 as '?'.
 * Returns buf. */
const char *record_text(const char *field, size_t size, char *buf, size_t bufsize);
/* What a record is about: its path, or "filesystem DEV (PATH)". */
void record_subject(const struct latch_record *r, char *buf, size_t size);
/* The table, one record a line, with a heading; indent prefixes each line. */
void records_print_table(FILE *f, const struct rec_list *l, const char *indent);
void records_print_heading(FILE *f, const char *indent);
void records_print_rows(FILE *f, const struct rec_list *l, const char *indent);
void records_print_json(FILE *f, const struct rec_list *l, const char *state_dir);
/* A latch (or acknowledgment) recorded on the file at path (attr.h), as a
 * row of the table: STATE "on-file" (or "file-ack"), PROGRAM "PROG@HOST". */
void attr_print_row(FILE *f, const struct latch_attr *a, const char *path, const char *indent);
/* What `status PATH...` found on the files themselves. */
struct attr_found {
	const char *path;
	struct latch_attr attr;
};
/* The records, then "on_file": what the files' attributes say. */
void records_print_json_paths(FILE *f, const struct rec_list *l, const struct attr_found *af,
			      size_t naf, const char *state_dir);

/* rings.c: warn about each process under the library whose io_uring rings
 * it cannot follow; their number. */
int rings_report_unseen(void);

/* coverage.c: warn (one line each) when a preload cannot reach CMD. */
void coverage_check(const char *cmd);
/* What an executable file is, for a preload. */
enum elf_kind { ELF_OTHER, ELF_DYNAMIC, ELF_STATIC, ELF_GO };
/* The kind of the file at path: ELF_OTHER when it is not an ELF file of this
 * machine or cannot be read. */
enum elf_kind coverage_elf_kind(const char *path);
/* For "#!INTERP ...", the interpreter: that is the program the kernel runs. */
bool script_interpreter(const char *path, char *out, size_t size);
/* The kind of program the kernel runs for the file at path: for a "#!"
 * script, its interpreter's. */
enum elf_kind coverage_program_kind(const char *path);
/* Find cmd as execvp would; false if not found (errno set). */
bool coverage_resolve(const char *cmd, char *out, size_t size);

/* What runs CMD's syncs past the library: chosen by the kind of program
 * (SUPERVISE_AUTO), or by --supervise / --no-supervise. */
enum supervise_mode { SUPERVISE_AUTO = 0, SUPERVISE_ON, SUPERVISE_OFF };

/* run.c: the options of `run`. */
struct run_opts {
	const char *policy, *log, *state, *library;
	char *inject; /* the --inject rules joined with ';', malloc'd */
	bool fail_on_latch, dry_run;
	enum supervise_mode supervise;
	bool deny_io_uring;
	bool supervised; /* decided by prepare: CMD runs under the supervisor */
	char **cmd;
	const char *path; /* the file to run, or NULL: search PATH for cmd[0] */
};

/* Parse argv into *o (which starts zeroed): 0, -1 after --help, or
 * EXIT_USAGE with the message printed; o->inject is the caller's to free in
 * every case.  Both parsers use getopt, whose state is global: set optind to
 * 0 before parsing another argv in the same process. */
int parse_run_args(int argc, char **argv, struct run_opts *o);

/* status.c: the options of `status`, `ack` and `prune`. */
struct admin_opts {
	const char *state;
	bool json, all, active;
	char **paths;
	int npaths;
};

/* Which options a command takes (--state and --help: all of them). */
enum { TAKES_JSON = 1, TAKES_ALL = 2, TAKES_ACTIVE = 4 };

/* Options shared by the three commands; 0, -1 after --help, or EXIT_USAGE. */
int parse_admin_args(const char *cmd, int argc, char **argv, unsigned takes, struct admin_opts *o);

int cmd_run(int argc, char **argv);
/* CMD's wait status as the shell gives it (128 + signal when killed);
 * fills how for messages ("exited with status 3"). */
int command_status(int status, char *how, size_t size);
/* Called through a link named after a program (argv[0]): run that program,
 * the next one of that name on PATH, as `run` would. */
int cmd_run_link(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_ack(int argc, char **argv);
int cmd_prune(int argc, char **argv);

#endif
