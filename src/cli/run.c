/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * stickysync run: start CMD with the library preloaded.
 *
 * Every setting is checked before CMD starts, so a typo fails here, loudly,
 * instead of in the library, where a bad value falls back to a default and a
 * bad --inject rule injects nothing.  Without --fail-on-latch the command
 * replaces itself with CMD (exec), so CMD's exit status and signals are its
 * own with nothing in between; with it, stickysync waits for CMD to read the
 * latch table afterwards.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "inject.h"
#include "supervise.h"

#define LIB_NAME "libstickysync.so"

#ifndef LIBDIR
#define LIBDIR "/usr/local/lib"
#endif
#ifndef MULTIARCH_LIBDIR
#define MULTIARCH_LIBDIR "" /* none: the compiler did not name one */
#endif

extern char **environ;

/* What --fail-on-latch needs while CMD runs. */
struct latch_watch {
	struct state st;
	uint64_t start_seq;
	char tmp_dir[PATH_MAX]; /* a private state folder to remove, or "" */
};

/* ---- options ------------------------------------------------------------- */

/* inject_parse names the variable; here the rule came from an option. */
static int bad_inject(const char *what, const char *rule, const char *err)
{
	static const char prefix[] = "STICKYSYNC_INJECT: ";

	if (strncmp(err, prefix, sizeof(prefix) - 1) == 0)
		err += sizeof(prefix) - 1;
	cli_error("%s \"%s\": %s", what, rule, err);
	return EXIT_USAGE;
}

static int add_inject(struct run_opts *o, const char *rule)
{
	static struct inject_rules rules; /* ~5 KiB: keep it off the stack */
	char err[512];
	size_t have = o->inject ? strlen(o->inject) : 0, add = strlen(rule);
	char *joined;

	if (inject_parse(rule, &rules, err, sizeof(err)) != 0)
		return bad_inject("--inject", rule, err);
	if (have + add + 1 >= CONFIG_INJECT_MAX) {
		cli_error("--inject: the rules together are longer than the %d bytes "
			  "STICKYSYNC_INJECT may hold",
			  CONFIG_INJECT_MAX - 1);
		return EXIT_USAGE;
	}
	joined = realloc(o->inject, have + add + 2);
	if (!joined) {
		cli_error("out of memory");
		return EXIT_USAGE;
	}
	if (have)
		joined[have++] = ';';
	memcpy(joined + have, rule, add + 1);
	o->inject = joined;
	return 0;
}

enum {
	OPT_POLICY = 256,
	OPT_LOG,
	OPT_STATE,
	OPT_INJECT,
	OPT_FAIL_ON_LATCH,
	OPT_LIBRARY,
	OPT_DRY_RUN,
	OPT_SUPERVISE,
	OPT_NO_SUPERVISE,
	OPT_DENY_IO_URING
};

static const struct option run_options[] = {
    {"policy", required_argument, NULL, OPT_POLICY},
    {"log", required_argument, NULL, OPT_LOG},
    {"state", required_argument, NULL, OPT_STATE},
    {"inject", required_argument, NULL, OPT_INJECT},
    {"fail-on-latch", no_argument, NULL, OPT_FAIL_ON_LATCH},
    {"library", required_argument, NULL, OPT_LIBRARY},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"supervise", no_argument, NULL, OPT_SUPERVISE},
    {"no-supervise", no_argument, NULL, OPT_NO_SUPERVISE},
    {"deny-io-uring", no_argument, NULL, OPT_DENY_IO_URING},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* 0, -1 after --help, or EXIT_USAGE. */
int parse_run_args(int argc, char **argv, struct run_opts *o)
{
	int c, ret;

	opterr = 0; /* our messages, one line, with a pointer to --help */
	/* '+': stop at CMD, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+:h", run_options, NULL)) != -1) {
		switch (c) {
		case OPT_POLICY:
			o->policy = optarg;
			break;
		case OPT_LOG:
			o->log = optarg;
			break;
		case OPT_STATE:
			o->state = optarg;
			break;
		case OPT_FAIL_ON_LATCH:
			o->fail_on_latch = true;
			break;
		case OPT_LIBRARY:
			o->library = optarg;
			break;
		case OPT_DRY_RUN:
			o->dry_run = true;
			break;
		case OPT_SUPERVISE:
		case OPT_NO_SUPERVISE:
			if (o->supervise != SUPERVISE_AUTO &&
			    o->supervise != (c == OPT_SUPERVISE ? SUPERVISE_ON : SUPERVISE_OFF))
				return cli_usage("run: --supervise and --no-supervise exclude each "
						 "other");
			o->supervise = c == OPT_SUPERVISE ? SUPERVISE_ON : SUPERVISE_OFF;
			break;
		case OPT_DENY_IO_URING:
			o->deny_io_uring = true;
			break;
		case OPT_INJECT:
			if ((ret = add_inject(o, optarg)) != 0)
				return ret;
			break;
		case 'h':
			cli_help();
			return -1;
		case ':':
			return cli_usage("run: %s needs a value", argv[optind - 1]);
		default:
			return cli_bad_option("run", c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage("run: missing CMD");
	if (o->deny_io_uring && o->supervise == SUPERVISE_OFF)
		return cli_usage("run: --deny-io-uring works through the supervisor, which "
				 "--no-supervise turns off");
	o->cmd = argv + optind;
	return 0;
}

static bool valid_policy(const char *p)
{
	for (int i = POLICY_STICKY; i <= POLICY_OBSERVE; i++)
		if (strcmp(p, policy_name((enum policy)i)) == 0)
			return true;
	return false;
}

/* value made absolute into buf unless it is one of the keywords; the
 * library needs absolute paths, and CMD may change folder. */
static const char *path_or_keyword(const char *value, const char *const *keywords, char *buf,
				   size_t size)
{
	for (; *keywords; keywords++)
		if (strcmp(value, *keywords) == 0)
			return value;
	return *value && cli_absolute(value, buf, size) ? buf : NULL;
}

/* The options, as the library's variables; they override inherited ones. */
static int export_options(const struct run_opts *o)
{
	static const char *const log_words[] = {"stderr", "syslog", "off", NULL};
	static const char *const state_words[] = {"off", NULL};
	char log_abs[PATH_MAX], state_abs[PATH_MAX];
	const char *v;

	if (o->policy && !valid_policy(o->policy))
		return cli_usage(
		    "run: --policy expects sticky, failstop, abort or observe, not \"%s\"",
		    o->policy);
	if (o->log && !(v = path_or_keyword(o->log, log_words, log_abs, sizeof(log_abs))))
		return cli_usage("run: --log expects stderr, syslog, off or a file, not \"%s\"",
				 o->log);
	if (o->log)
		setenv("STICKYSYNC_LOG", v, 1);
	if (o->state && !(v = path_or_keyword(o->state, state_words, state_abs, sizeof(state_abs))))
		return cli_usage("run: --state expects a folder or off, not \"%s\"", o->state);
	if (o->state)
		setenv("STICKYSYNC_STATE", v, 1);
	if (o->policy)
		setenv("STICKYSYNC_POLICY", o->policy, 1);
	if (o->inject)
		setenv("STICKYSYNC_INJECT", o->inject, 1);
	return 0;
}

static const char *env_lookup(const char *name)
{
	return getenv(name);
}

/* What the library will make of the environment, checked as it would be,
 * including variables inherited rather than set by options. */
static int check_settings(struct options *opt)
{
	static struct inject_rules rules;
	char err[512];

	config_load(opt, env_lookup, geteuid() == 0);
	for (int i = 0; i < opt->nmsg; i++)
		cli_complaint(opt->msg[i]);
	if (opt->nmsg)
		return EXIT_USAGE;
	if (inject_parse(opt->inject, &rules, err, sizeof(err)) != 0) {
		cli_error("%s", err);
		return EXIT_USAGE;
	}
	return 0;
}

/* ---- the library and LD_PRELOAD ------------------------------------------ */

/* The library in the folder dir (len bytes of it), if it is there. */
static bool library_in(const char *dir, int len, char *out, size_t size)
{
	int n = snprintf(out, size, "%.*s/" LIB_NAME, len, dir);

	return n > 0 && (size_t)n < size && access(out, R_OK) == 0;
}

/* Does the file start like an ELF object?  A wrong file would only make the
 * loader skip it, with CMD running uncovered. */
static bool is_elf(const char *path)
{
	char magic[SELFMAG];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = fd >= 0 && read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
		  memcmp(magic, ELFMAG, SELFMAG) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* The library named by --library or STICKYSYNC_LIBRARY (how: "--library "
 * or "STICKYSYNC_LIBRARY="): a readable ELF file, made absolute since CMD
 * may change folder. */
static int chosen_library(const char *how, const char *value, char *out, size_t size)
{
	struct stat st;
	const char *why = NULL;

	if (!*value || !cli_absolute(value, out, size))
		why = "expected the path of " LIB_NAME;
	else if (stat(out, &st) != 0 || access(out, R_OK) != 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode) || !is_elf(out))
		why = "not an ELF shared object (expected the path of " LIB_NAME ")";
	if (!why)
		return 0;
	cli_error("%s\"%s\": %s", how, value, why);
	return EXIT_USAGE;
}

/* Next to this executable (the build tree)? */
static bool library_next_to_self(char *out, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return false;
	self[n] = '\0';
	slash = strrchr(self, '/');
	return slash && library_in(self, (int)(slash - self), out, size);
}

/*
 * The library to preload: --library, else STICKYSYNC_LIBRARY, else the one
 * next to this executable (the build tree), in the multiarch folder of the
 * prefix the command was built for, or in LIBDIR.
 */
static int find_library(const char *option, char *out, size_t size)
{
	const char *env = getenv("STICKYSYNC_LIBRARY");
	static const char multiarch[] = MULTIARCH_LIBDIR;
	bool two = multiarch[0] && strcmp(multiarch, LIBDIR) != 0;

	if (option)
		return chosen_library("--library ", option, out, size);
	if (env && *env)
		return chosen_library("STICKYSYNC_LIBRARY=", env, out, size);
	if (library_next_to_self(out, size) ||
	    (multiarch[0] && library_in(multiarch, (int)strlen(multiarch), out, size)) ||
	    library_in(LIBDIR, (int)strlen(LIBDIR), out, size))
		return 0;
	cli_error("cannot find " LIB_NAME " next to this program, in %s%s%s; give --library or "
		  "set STICKYSYNC_LIBRARY",
		  two ? multiarch : "", two ? " or in " : "", LIBDIR);
	return EXIT_USAGE;
}

/* Sanitizer runtimes must stay first in LD_PRELOAD, or they refuse to run. */
static bool is_sanitizer_runtime(const char *entry, size_t len)
{
	static const char *const names[] = {"libasan",	 "libubsan", "libtsan", "liblsan",
					    "libhwasan", "libmsan",  NULL};
	const char *base = entry;

	for (size_t i = 0; i < len; i++)
		if (entry[i] == '/')
			base = entry + i + 1;
	for (const char *const *n = names; *n; n++)
		if (strncmp(base, *n, strlen(*n)) == 0)
			return true;
	return false;
}

static bool is_stickysync(const char *entry, size_t len)
{
	size_t n = strlen(LIB_NAME);

	return len >= n && memcmp(entry + len - n, LIB_NAME, n) == 0 &&
	       (len == n || entry[len - n - 1] == '/');
}

/*
 * Append the entries of old (separated by spaces or colons, as the loader
 * reads them) that are sanitizer runtimes, or (sanitizers false) the others.  A second copy of the
 * library is dropped: only the first would interpose, with two latch tables.
 */
static void append_entries(char *out, const char *old, bool sanitizers)
{
	while (*old) {
		size_t len = strcspn(old, " :");

		if (len && !is_stickysync(old, len) &&
		    is_sanitizer_runtime(old, len) == sanitizers) {
			if (*out)
				strcat(out, ":");
			strncat(out, old, len);
		}
		old += len + strspn(old + len, " :");
	}
}

static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	size_t size = strlen(lib) + (old ? strlen(old) : 0) + 2;
	char *value;

	if (strpbrk(lib, " :")) {
		cli_error("the library path %s contains a space or colon, which LD_PRELOAD cannot "
			  "express",
			  lib);
		return EXIT_USAGE;
	}
	value = calloc(1, size);
	if (!value) {
		cli_error("out of memory");
		return EXIT_USAGE;
	}
	append_entries(value, old ? old : "", true);
	strcat(value, *value ? ":" : "");
	strcat(value, lib);
	append_entries(value, old ? old : "", false);
	setenv("LD_PRELOAD", value, 1);
	free(value);
	return 0;
}

/* ---- running CMD --------------------------------------------------------- */

/* Does a file named cmd exist in any folder of PATH (as execvp searches)? */
static bool in_path(const char *cmd)
{
	char def[256], buf[PATH_MAX];
	const char *path = getenv("PATH");

	if (!path) {
		confstr(_CS_PATH, def, sizeof(def));
		path = def;
	}
	for (;;) {
		size_t n = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)(n ? n : 1), n ? path : ".", cmd) <
			(int)sizeof(buf) &&
		    faccessat(AT_FDCWD, buf, F_OK, AT_EACCESS) == 0)
			return true;
		if (!path[n])
			return false;
		path += n + 1;
	}
}

/*
 * execvp (or execv of path, when the file is known), with the shell's
 * verdict on failure: execvp reports EACCES when any folder of PATH cannot
 * be searched, so a command found nowhere is still "not found" (127); one
 * found but not runnable is "cannot run" (126).
 */
static __attribute__((noreturn)) void exec_command(const char *path, char **cmd)
{
	int err;

	if (path)
		execv(path, cmd);
	else
		execvp(cmd[0], cmd);
	err = errno;
	if (!path &&
	    (err == ENOENT || (err == EACCES && !strchr(cmd[0], '/') && !in_path(cmd[0])))) {
		cli_error("%s: command not found", cmd[0]);
		_exit(EXIT_NOTFOUND);
	}
	cli_error("%s: cannot run: %s", path ? path : cmd[0], strerror(err));
	_exit(EXIT_NOEXEC);
}

static volatile pid_t child_pid;

/*
 * Pass signals on to CMD, so `kill` of stickysync reaches it.  A SIGINT or
 * SIGQUIT from the terminal (si_code > 0: sent by the kernel) already went to
 * the whole foreground process group, CMD included: not sent twice.
 */
static void forward_signal(int sig, siginfo_t *info, void *ctx)
{
	int saved = errno;

	(void)ctx;
	if (child_pid > 0 && !((sig == SIGINT || sig == SIGQUIT) && info->si_code > 0))
		kill(child_pid, sig);
	errno = saved;
}

static const int forwarded[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};

/* Handlers for the forwarded signals; *blocked gets them, blocked until CMD's
 * pid is known, so that none arriving in between is lost. */
static void forward_signals(sigset_t *blocked)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigemptyset(blocked);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) {
		struct sigaction old;

		/* An ignored signal stays ignored, and CMD inherits that (exec
		 * would reset a handler to the default instead). */
		if (sigaction(forwarded[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaddset(blocked, forwarded[i]);
		sigaction(forwarded[i], &sa, NULL);
	}
	sigprocmask(SIG_BLOCK, blocked, NULL);
}

int command_status(int status, char *how, size_t size)
{
	if (WIFSIGNALED(status)) {
		snprintf(how, size, "was killed by signal %d (SIG%s)", WTERMSIG(status),
			 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
		return 128 + WTERMSIG(status);
	}
	snprintf(how, size, "exited with status %d", WEXITSTATUS(status));
	return WEXITSTATUS(status);
}

/* CMD's exit status, shell style; fills how for messages. */
static int wait_command(pid_t pid, char *how, size_t size)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(how, size, "could not be waited for: %s", strerror(errno));
			return EXIT_FAILED;
		}
	return command_status(status, how, size);
}

/* CMD under the supervisor, with the signals forwarded as for a child. */
static int supervise_and_wait(const char *path, char **cmd, bool deny_io_uring,
			      const char *own_file, char *how, size_t size)
{
	sigset_t blocked;
	struct supervise_launch l = {.path = path,
				     .cmd = cmd,
				     .exec = exec_command,
				     .blocked = &blocked,
				     .cmd_pid = &child_pid,
				     .deny_io_uring = deny_io_uring,
				     .own_file = own_file};

	forward_signals(&blocked);
	return supervise_run(&l, how, size);
}

static int spawn_and_wait(const char *path, char **cmd, char *how, size_t size)
{
	sigset_t blocked;
	pid_t pid;

	how[0] = '\0';
	forward_signals(&blocked);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* CMD gets the default actions (what exec would give it) before
		 * the mask, which exec keeps, is lifted: nothing is swallowed. */
		for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
			if (sigismember(&blocked, forwarded[i]))
				signal(forwarded[i], SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &blocked, NULL);
		exec_command(path, cmd);
	}
	if (pid > 0)
		child_pid = pid;
	/* Signals that came meanwhile are delivered now, to a known CMD. */
	sigprocmask(SIG_UNBLOCK, &blocked, NULL);
	if (pid < 0) {
		cli_error("cannot start %s: %s", cmd[0], strerror(errno));
		return EXIT_NOEXEC;
	}
	return wait_command(pid, how, size);
}

/* ---- injector rules that never fired -------------------------------------- */

/*
 * With injector rules, every process of the run adds what each rule saw to
 * a file at exit (STICKYSYNC_INJECT_REPORT); once CMD is done, the rules
 * that never fired anywhere are named, with what the files their path
 * matches did see: a rule that names the wrong call must not pass quietly.
 */
static bool tally_start(char *path, size_t size, const struct options *opt)
{
	int n = snprintf(path, size, "%s/stickysync-inject.XXXXXX", opt->tmpdir), fd;

	if (n < 0 || (size_t)n >= size || (fd = mkstemp(path)) < 0) {
		path[0] = '\0';
		return false;
	}
	close(fd);
	setenv("STICKYSYNC_INJECT_REPORT", path, 1);
	return true;
}

static void tally_finish(const char *path)
{
	static struct inject_rule sum[INJECT_MAX_RULES];
	char line[1024], msg[INJECT_SPEC_MAX + 256];
	FILE *f = fopen(path, "r");
	int max = 0;

	memset(sum, 0, sizeof(sum));
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long fired, seen[IOP_KINDS];
		int no, used = 0;

		if (sscanf(line, "%d %llu %llu %llu %llu %llu %llu %llu %llu %n", &no, &fired,
			   &seen[0], &seen[1], &seen[2], &seen[3], &seen[4], &seen[5], &seen[6],
			   &used) < 9 ||
		    no < 1 || no > INJECT_MAX_RULES || used == 0)
			continue;
		sum[no - 1].fired += fired;
		for (int k = 0; k < IOP_KINDS; k++)
			sum[no - 1].seen[k] += seen[k];
		snprintf(sum[no - 1].spec, sizeof(sum[no - 1].spec), "%.*s",
			 (int)strcspn(line + used, "\n"), line + used);
		if (no > max)
			max = no;
	}
	if (f)
		fclose(f);
	unlink(path);
	for (int i = 0; i < max; i++) {
		if (!sum[i].spec[0])
			continue;
		inject_unfired_line(&sum[i], i, false, msg, sizeof(msg));
		if (msg[0])
			cli_warn("%s", msg);
	}
}

/* ---- --fail-on-latch ----------------------------------------------------- */

static void remove_private_state(const char *dir)
{
	char path[PATH_MAX + 16];

	/* The library creates only the table there (and, if killed while
	 * creating it, a .latches.PID.tmp, which this misses: rmdir then fails
	 * and the folder is reported). */
	snprintf(path, sizeof(path), "%s/" STATE_FILE, dir);
	unlink(path);
	if (rmdir(dir) != 0)
		cli_warn("private state folder %s not removed: %s", dir, strerror(errno));
}

/* With the state off there is no table to read afterwards: a private one,
 * for this run only. */
static int private_state(struct latch_watch *w, const struct options *opt)
{
	int n = snprintf(w->tmp_dir, sizeof(w->tmp_dir), "%s/stickysync-run.XXXXXX", opt->tmpdir);

	if (n < 0 || (size_t)n >= sizeof(w->tmp_dir) || !mkdtemp(w->tmp_dir)) {
		cli_error("--fail-on-latch: cannot make a private state folder in %s: %s",
			  opt->tmpdir, strerror(errno));
		w->tmp_dir[0] = '\0';
		return EXIT_USAGE;
	}
	setenv("STICKYSYNC_STATE", w->tmp_dir, 1);
	return 0;
}

static int count_active(const struct latch_record *rec, void *arg)
{
	*(int *)arg += !record_acked(rec);
	return 0;
}

static void note_old_latches(const struct latchtab *t)
{
	int n = 0;

	latchtab_each(t, count_active, &n);
	if (n)
		cli_warn("%d file%s already latched before this run (stickysync status); another "
			 "failure of %s is not counted by --fail-on-latch",
			 n, n == 1 ? " was" : "s were", n == 1 ? "it" : "them");
}

/*
 * Open the table the library will use and remember its sequence number: a
 * record latched during the run carries a larger one.  The sequence number,
 * unlike a time stamp, does not move with the clock.
 */
static int watch_start(struct latch_watch *w, const struct options *opt)
{
	const char *dir = opt->state_dir;
	char msg[STATE_MSG_MAX];
	int ret;

	memset(w, 0, sizeof(*w));
	if (opt->state_mode == STATE_OFF) {
		if ((ret = private_state(w, opt)) != 0)
			return ret;
		dir = w->tmp_dir;
	}
	if (state_open(&w->st, dir, true, opt->state_capacity, msg, sizeof(msg)) != 0 ||
	    w->st.tab.readonly) {
		/* read-only: CMD's latches would stay in its processes, unseen */
		cli_error("%s%s", msg,
			  w->st.tab.readonly ? "; --fail-on-latch cannot see latches" : "");
		state_close(&w->st);
		if (w->tmp_dir[0])
			remove_private_state(w->tmp_dir);
		return EXIT_USAGE;
	}
	w->start_seq = latchtab_seq(&w->st.tab);
	note_old_latches(&w->st.tab);
	return 0;
}

static bool latched_since(const struct latch_record *rec, void *arg)
{
	return rec->latch_seq > *(const uint64_t *)arg;
}

/* The exit status: EXIT_LATCHED, after the table, if anything latched. */
static int watch_finish(struct latch_watch *w, const char *cmd, int status, const char *how)
{
	struct rec_list l;

	if (records_collect(&w->st.tab, latched_since, &w->start_seq, &l) != 0) {
		cli_error("out of memory reading the latch table");
		status = EXIT_LATCHED; /* the safe answer: we cannot tell */
	} else if (l.n > 0) {
		cli_error("%zu file%s latched while %s ran (it %s); exit status %d:", l.n,
			  l.n == 1 ? "" : "s", cmd, how, EXIT_LATCHED);
		records_print_table(stderr, &l, "  ");
		status = EXIT_LATCHED;
	}
	records_free(&l);
	state_close(&w->st);
	if (w->tmp_dir[0])
		remove_private_state(w->tmp_dir);
	return status;
}

/* ---- the command --------------------------------------------------------- */

/* A refused state folder would leave every latch inside its process: say so
 * now rather than through a library message once CMD runs. */
static int check_state_folder(const struct options *opt)
{
	char msg[STATE_MSG_MAX];
	struct state st;

	if (state_open(&st, opt->state_dir, true, opt->state_capacity, msg, sizeof(msg)) != 0) {
		cli_error("%s", msg);
		return EXIT_USAGE;
	}
	state_close(&st);
	return 0;
}

/*
 * The supervisor runs CMD when asked to, or when CMD (after "#!") is a
 * program the library cannot reach: statically linked, or Go.  Inside a
 * supervised tree it is not needed (and could not start): the outer
 * supervisor covers CMD already.  Otherwise CMD runs under the library
 * alone, with the warnings of coverage_check.
 */
static void choose_supervision(struct run_opts *o, const char *file)
{
	enum elf_kind kind = file ? coverage_program_kind(file) : ELF_OTHER;
	pid_t outer;

	if (o->supervise == SUPERVISE_ON)
		o->supervised = true;
	else if (o->supervise == SUPERVISE_AUTO && (kind == ELF_STATIC || kind == ELF_GO))
		o->supervised = !supervise_already(&outer);
	if (o->supervised ||
	    (o->supervise == SUPERVISE_AUTO && (kind == ELF_STATIC || kind == ELF_GO)))
		return;
	if (file)
		coverage_check(file);
	if (o->deny_io_uring)
		cli_warn("--deny-io-uring: %s is not supervised (a dynamically linked program); "
			 "io_uring is not refused (give --supervise)",
			 o->cmd[0]);
}

/* Everything that must hold before CMD starts. */
static int prepare(struct run_opts *o, struct options *opt)
{
	char lib[PATH_MAX], path[PATH_MAX];
	int ret;

	if ((ret = export_options(o)) != 0 || (ret = check_settings(opt)) != 0)
		return ret;
	if ((ret = find_library(o->library, lib, sizeof(lib))) != 0 ||
	    (ret = set_preload(lib)) != 0)
		return ret;
	/* (--fail-on-latch opens it anyway, and may need a private one; a dry
	 * run creates nothing) */
	if (opt->state_mode == STATE_DIR && !o->fail_on_latch && !o->dry_run &&
	    (ret = check_state_folder(opt)) != 0)
		return ret;
	if (o->path)
		choose_supervision(o, o->path);
	else
		choose_supervision(o,
				   coverage_resolve(o->cmd[0], path, sizeof(path)) ? path : NULL);
	return 0;
}

/* s as one shell word: as is when safe, else in single quotes. */
static void print_shell_word(const char *s)
{
	static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789%+,-./:@_";

	if (*s && s[strspn(s, safe)] == '\0') {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", stdout); /* end the quote, a quoted ', reopen */
		else
			putchar(*s);
	putchar('\'');
}

static void print_assignment(const char *entry)
{
	const char *eq = strchr(entry, '=');

	printf("%.*s=", (int)(eq - entry), entry);
	print_shell_word(eq + 1);
	fputs(" \\\n", stdout);
}

/*
 * --dry-run: what would run, as a shell command: the variables the library
 * and the loader read (LD_PRELOAD, every STICKYSYNC_*), one a line, then
 * CMD.  Pasted into sh, it runs the same thing.
 */
static void print_dry_run(const struct run_opts *o, const struct options *opt)
{
	if (o->fail_on_latch)
		printf("# --fail-on-latch: stickysync waits for this and exits %d if a file "
		       "latched%s\n",
		       EXIT_LATCHED,
		       opt->state_mode == STATE_OFF
			   ? "; the state is a private folder made for the run"
			   : "");
	if (o->supervised)
		printf("# supervised: stickysync traps the syncs of CMD's tree (seccomp)%s\n",
		       o->deny_io_uring ? "; io_uring_setup fails with ENOSYS" : "");
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) == 0)
			print_assignment(*e);
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "STICKYSYNC_", 11) == 0 && strchr(*e, '='))
			print_assignment(*e);
	for (char **a = o->cmd; *a; a++) {
		print_shell_word(*a);
		putchar(a[1] ? ' ' : '\n');
	}
}

int cmd_run(int argc, char **argv)
{
	static struct options opt; /* large: paths and the inject spec */
	struct run_opts o = {0};
	struct latch_watch w;
	char how[128], report[PATH_MAX];
	bool tally;
	int ret = parse_run_args(argc, argv, &o);

	if (ret == 0)
		ret = prepare(&o, &opt);
	free(o.inject); /* exported to the environment by now */
	if (ret != 0)
		return ret < 0 ? 0 : ret;
	if (o.dry_run) {
		print_dry_run(&o, &opt);
		return fflush(stdout) == 0 ? 0 : EXIT_FAILED;
	}
	tally = opt.inject[0] != '\0';
	if (!o.fail_on_latch && !tally && !o.supervised)
		exec_command(NULL, o.cmd);
	if (tally)
		tally = tally_start(report, sizeof(report), &opt);
	if (o.fail_on_latch && (ret = watch_start(&w, &opt)) != 0) {
		if (tally)
			unlink(report);
		return ret;
	}
	if (o.supervised)
		ret = supervise_and_wait(NULL, o.cmd, o.deny_io_uring, tally ? report : NULL, how,
					 sizeof(how));
	else
		ret = spawn_and_wait(NULL, o.cmd, how, sizeof(how));
	if (tally)
		tally_finish(report);
	return o.fail_on_latch ? watch_finish(&w, o.cmd[0], ret, how) : ret;
}

/* ---- running as a link named after a program ------------------------------ */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * The first file called name in a folder of PATH that is executable and is
 * not this command (a link to it, symbolic or hard, would run it again).
 */
static bool find_program_past_self(const char *name, char *out, size_t size)
{
	char def[256];
	const char *path = getenv("PATH");
	struct stat self, st;

	if (stat("/proc/self/exe", &self) != 0)
		return false;
	if (!path) {
		confstr(_CS_PATH, def, sizeof(def));
		path = def;
	}
	for (;;) {
		size_t n = strcspn(path, ":");
		int len = snprintf(out, size, "%.*s/%s", (int)(n ? n : 1), n ? path : ".", name);

		if (len > 0 && (size_t)len < size && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    !same_file(&st, &self) && faccessat(AT_FDCWD, out, X_OK, AT_EACCESS) == 0)
			return true;
		if (!path[n])
			return false;
		path += n + 1;
	}
}

int cmd_run_link(int argc, char **argv)
{
	static struct options opt;
	struct run_opts o = {.cmd = argv};
	const char *slash = strrchr(argv[0], '/');
	const char *name = slash ? slash + 1 : argv[0];
	char path[PATH_MAX];
	int ret;

	(void)argc;
	if (!find_program_past_self(name, path, sizeof(path))) {
		cli_error("%s: no program of that name on PATH but links to stickysync (a link "
			  "named after a program runs that program: see stickysync(1))",
			  name);
		return EXIT_NOTFOUND;
	}
	o.path = path;
	if ((ret = prepare(&o, &opt)) != 0)
		return ret;
	if (o.supervised) {
		char how[128];

		return supervise_and_wait(o.path, o.cmd, false, NULL, how, sizeof(how));
	}
	exec_command(o.path, o.cmd);
}
