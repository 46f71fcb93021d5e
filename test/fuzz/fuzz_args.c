/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The command's option parsers (parse_run_args, parse_admin_args), in
 * process: they return instead of exiting.  The input is byte 0 (the
 * command: run, status, ack or prune), then the arguments separated by NUL
 * bytes.  The help text goes to /dev/null; error messages are checked.
 */
#include "fuzz.h"

#include <getopt.h>

#include "cli.h"
#include "config.h"

#define MAX_ARGS 32

static const struct {
	const char *name;
	unsigned takes; /* 0: run */
} commands[] = {
    {"run", 0},
    {"status", TAKES_JSON | TAKES_ALL},
    {"ack", TAKES_ALL},
    {"prune", TAKES_ACTIVE},
};

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	devnull = fopen("/dev/null", "w");
	FUZZ_CHECK(devnull, "cannot open /dev/null");
	stdout = devnull;
	return 0;
}

/*
 * Start getopt afresh, as in a new process.  optind = 0 starts a new argv;
 * glibc also keeps optopt inside and copies it out after every call, and
 * only an unrecognised long option sets it back to 0, its value in a new
 * process.
 */
static void getopt_reset(void)
{
	static const struct option none[] = {{"known", no_argument, NULL, 1}, {NULL, 0, NULL, 0}};
	char *argv[] = {"reset", "--unrecognised", NULL};
	int saved = opterr;

	opterr = 0;
	optind = 0;
	FUZZ_CHECK(getopt_long(2, argv, "", none, NULL) == '?' && optopt == 0, "getopt reset");
	opterr = saved;
	optind = 0;
}

/* Is c an option letter given in args (in "-abc", not "--long")? */
static bool typed_short(char c, char *const *args, int n)
{
	for (int i = 0; i < n; i++)
		if (args[i][0] == '-' && args[i][1] != '-' && strchr(args[i] + 1, c))
			return true;
	return false;
}

/*
 * What the parser said on stderr: nothing when it accepted the arguments,
 * else a message of the command's; an option it calls unknown is one the
 * user gave, and not one it knows (-h).
 */
static void check_message(const char *msg, size_t len, int ret, char *const *args, int n)
{
	static const char tail[] = " (see stickysync --help)\n";
	const char *unknown = strstr(msg, "unknown option -");

	FUZZ_CHECK(ret == EXIT_USAGE || len == 0, "said \"%s\" and returned %d", msg, ret);
	if (ret != EXIT_USAGE)
		return;
	FUZZ_CHECK(strncmp(msg, "stickysync: ", 12) == 0 && msg[len - 1] == '\n', "message \"%s\"",
		   msg);
	if (unknown && unknown[16] != '-' && strcmp(unknown + 17, tail) == 0)
		FUZZ_CHECK(unknown[16] != 'h' && typed_short(unknown[16], args, n),
			   "calls -%c (%#x) unknown, which was not given: \"%s\"", unknown[16],
			   (unsigned char)unknown[16], msg);
}

/* Is p inside one of the argument strings? */
static bool in_args(const char *p, char *const *args, int n)
{
	for (int i = 0; i < n; i++)
		if (p >= args[i] && p <= args[i] + strlen(args[i]))
			return true;
	return false;
}

static int check_run(char **argv, int argc, char *const *args, int nargs)
{
	struct run_opts o = {0};
	int ret = parse_run_args(argc, argv, &o);

	FUZZ_CHECK(ret == 0 || ret == -1 || ret == EXIT_USAGE, "run: %d", ret);
	FUZZ_CHECK(!o.inject || strlen(o.inject) < CONFIG_INJECT_MAX, "run: --inject of %zu bytes",
		   strlen(o.inject));
	if (ret == 0) {
		FUZZ_CHECK(o.cmd > argv && o.cmd < argv + argc && *o.cmd &&
			       in_args(*o.cmd, args, nargs),
			   "run: CMD at %td of %d", o.cmd - argv, argc);
		FUZZ_CHECK((!o.policy || in_args(o.policy, args, nargs)) &&
			       (!o.log || in_args(o.log, args, nargs)) &&
			       (!o.state || in_args(o.state, args, nargs)),
			   "run: an option value from outside argv");
	}
	free(o.inject);
	return ret;
}

static int check_admin(const char *cmd, unsigned takes, char **argv, int argc, char *const *args,
		       int nargs)
{
	struct admin_opts o = {0};
	int ret = parse_admin_args(cmd, argc, argv, takes, &o);

	FUZZ_CHECK(ret == 0 || ret == -1 || ret == EXIT_USAGE, "%s: %d", cmd, ret);
	if (ret != 0)
		return ret;
	FUZZ_CHECK((!o.json || (takes & TAKES_JSON)) && (!o.all || (takes & TAKES_ALL)) &&
		       (!o.active || (takes & TAKES_ACTIVE)),
		   "%s: accepted an option it does not take", cmd);
	FUZZ_CHECK(o.npaths >= 0 && o.paths >= argv + 1 && o.paths + o.npaths == argv + argc &&
		       !o.paths[o.npaths],
		   "%s: %d paths at %td of %d", cmd, o.npaths, o.paths - argv, argc);
	for (int i = 0; i < o.npaths; i++)
		FUZZ_CHECK(in_args(o.paths[i], args, nargs), "%s: a path from outside argv", cmd);
	FUZZ_CHECK(!o.state || in_args(o.state, args, nargs), "%s: --state from outside argv", cmd);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *args[MAX_ARGS], *argv[MAX_ARGS + 2], *msg = NULL;
	size_t len = 0;
	int ret;
	size_t which = size ? data[0] % (sizeof(commands) / sizeof(commands[0])) : 0;
	int nargs = size > 1 ? fuzz_split(data + 1, size - 1, args, MAX_ARGS) : 0;

	argv[0] = (char *)commands[which].name;
	memcpy(argv + 1, args, (size_t)nargs * sizeof(args[0]));
	argv[nargs + 1] = NULL;
	/* libFuzzer and the sanitizers write to fd 2, not through stderr */
	stderr = open_memstream(&msg, &len);
	FUZZ_CHECK(stderr, "out of memory");
	getopt_reset();
	if (commands[which].takes == 0)
		ret = check_run(argv, nargs + 1, args, nargs);
	else
		ret = check_admin(commands[which].name, commands[which].takes, argv, nargs + 1,
				  args, nargs);
	FUZZ_CHECK(fclose(stderr) == 0, "out of memory");
	stderr = devnull;
	check_message(msg, len, ret, args, nargs);
	free(msg);
	fuzz_free_fields(args, nargs);
	return 0;
}
