/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * stickysync: run a command with libstickysync.so preloaded, and inspect or
 * acknowledge the latches it recorded.  See stickysync(1).
 */
#include <limits.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"

#ifndef STICKYSYNC_VERSION
#define STICKYSYNC_VERSION "unknown"
#endif

static const char usage_text[] =
    "Usage: stickysync run [OPTION]... [--] CMD [ARG]...\n"
    "       stickysync status [--state DIR] [--json] [--all] [PATH...]\n"
    "       stickysync ack [--state DIR] PATH... | --all\n"
    "       stickysync prune [--state DIR] [--active]\n"
    "       stickysync -h | --help | -V | --version | version\n"
    "\n"
    "Make fsync errors sticky: once a sync of a file fails, later syncs of it fail\n"
    "too, until the loss is acknowledged.\n"
    "\n"
    "run: start CMD with libstickysync.so preloaded (added in front of LD_PRELOAD).\n"
    "  --policy P        sticky (default), failstop, abort or observe\n"
    "  --log DEST        stderr (default), syslog, off, or a file\n"
    "  --state DIR       the state folder holding the shared latch table, or off\n"
    "  --inject RULE     inject faults (repeatable), e.g. op=fsync,path=*.db,nth=2\n"
    "  --fail-on-latch   exit 74 when a file latched during the run, after a table\n"
    "  --library PATH    preload this library (default: STICKYSYNC_LIBRARY, else the\n"
    "                    one next to stickysync, else the installed one)\n"
    "  --dry-run         print the environment and command, run nothing\n"
    "  --supervise       trap CMD's syncs with seccomp (default for static and Go\n"
    "                    programs, which no preload reaches); --no-supervise: never\n"
    "  --deny-io-uring   supervised: io_uring_setup fails, so programs fall back\n"
    "status: list unacknowledged latches (--all: also acknowledged ones; --json);\n"
    "  with PATHs, theirs, and what the files themselves record (other hosts').\n"
    "ack: acknowledge the latches of PATH... (or --all) on the operator's behalf,\n"
    "  also those recorded on the files; fds opened before the loss stay latched.\n"
    "prune: forget acknowledged latches of files that no longer exist\n"
    "  (--active: unacknowledged ones too).\n"
    "\n"
    "Exit status: run: CMD's (128+N if killed by signal N, 127 not found, 126 not\n"
    "executable), 74 with --fail-on-latch when a file latched; 2 bad arguments;\n"
    "1 a failed status, ack or prune.  STICKYSYNC_STATE is honoured like --state.\n"
    "A link to stickysync named after a program (ln -s /usr/bin/stickysync\n"
    "~/bin/sqlite3) runs the next program of that name on PATH, as run would.\n"
    "See stickysync(1) and libstickysync(7).\n";

static void vmessage(const char *kind, const char *fmt, va_list ap)
{
	fputs("stickysync: ", stderr);
	fputs(kind, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
}

int cli_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("stickysync: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see stickysync --help)\n", stderr);
	return EXIT_USAGE;
}

int cli_bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];
	bool is_long = strncmp(arg, "--", 2) == 0;

	/* getopt_long says '?' for an unknown option, and for a long one given
	 * a value it does not take; optopt is only a letter for short ones. */
	if (c == '?' && !is_long && optopt)
		return cli_usage("%s: unknown option -%c", cmd, optopt);
	if (c == '?' && is_long && optopt)
		return cli_usage("%s: %.*s takes no value", cmd, (int)strcspn(arg, "="), arg);
	return cli_usage("%s: unknown option %s", cmd, arg);
}

bool cli_absolute(const char *path, char *out, size_t size)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(out, size, "%s", path);
	else if (!getcwd(cwd, sizeof(cwd)))
		return false;
	else
		n = snprintf(out, size, "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	return n >= 0 && (size_t)n < size;
}

/* config_load sees only the variables that choose the state folder, so a
 * malformed STICKYSYNC_POLICY does not stop `status`. */
static const char *state_override;

static const char *state_getenv(const char *name)
{
	if (strcmp(name, "STICKYSYNC_STATE") == 0)
		return state_override ? state_override : getenv(name);
	if (strcmp(name, "HOME") == 0 || strcmp(name, "XDG_STATE_HOME") == 0)
		return getenv(name);
	return NULL;
}

/* config's complaints end in "; what the library does instead", which is
 * not what the command does: it stops. */
void cli_complaint(const char *msg)
{
	const char *tail = strrchr(msg, ';');

	cli_error("%.*s", tail ? (int)(tail - msg) : (int)strlen(msg), msg);
}

bool cli_state_dir(const char *state_opt, char *dir, size_t size)
{
	static struct options opt; /* large: PATH_MAX strings and the inject spec */
	char abs[PATH_MAX];

	state_override = state_opt;
	if (state_opt && strcmp(state_opt, "off") != 0) {
		if (!*state_opt || !cli_absolute(state_opt, abs, sizeof(abs)))
			return cli_usage("--state expects a folder or off"), false;
		state_override = abs;
	}
	config_load(&opt, state_getenv, geteuid() == 0);
	state_override = NULL;
	if (opt.nmsg > 0) {
		cli_complaint(opt.msg[0]);
		return false;
	}
	if (opt.state_mode == STATE_OFF) {
		cli_error("the state is off: latches live inside each process only, with nothing "
			  "to read here; give --state DIR");
		return false;
	}
	if (strlen(opt.state_dir) >= size)
		return false;
	memcpy(dir, opt.state_dir, strlen(opt.state_dir) + 1);
	return true;
}

int cli_help(void)
{
	fputs(usage_text, stdout);
	return 0;
}

static int version(void)
{
	printf("stickysync %s\n", STICKYSYNC_VERSION);
	return 0;
}

/* A name not starting with "stickysync" is a link named after a program. */
static bool called_through_link(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');
	const char *name = slash ? slash + 1 : argv0;

	return *name && strncmp(name, "stickysync", strlen("stickysync")) != 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
	    {"run", cmd_run},
	    {"status", cmd_status},
	    {"ack", cmd_ack},
	    {"prune", cmd_prune},
	};
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (argc > 0 && called_through_link(argv[0]))
		return cmd_run_link(argc, argv);
	if (!cmd)
		return cli_usage("missing command: run, status, ack or prune");
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
		return cli_help();
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0)
		return version();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	if (cmd[0] == '-')
		return cli_usage("unknown option %s", cmd);
	return cli_usage("unknown command %s: expected run, status, ack or prune", cmd);
}
