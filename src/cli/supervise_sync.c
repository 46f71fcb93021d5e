/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The supervisor's answer to one trapped call (see supervise.h).
 *
 * A sync on an fd: the target thread's pidfd (cached per thread), a
 * duplicate of its open file description (pidfd_getfd), the real sync on
 * it, then the verdict.  A failure latches the file in the shared table,
 * with the target's pid and name, and is reported in the library's words;
 * a success on a latched file is refused with EIO.  On a table with no
 * record at all a success costs nothing more: the duplicate is closed and
 * the reply sent, three calls besides the sync itself (getfd, sync, close;
 * a new thread adds pidfd_open, its status and maps, and ID_VALID once).
 *
 * Witnesses.  The library knows when each fd was opened, and an fd opened
 * before a latch stays latched after its acknowledgment, until closed.  The
 * supervisor does not see opens.  When it latches a file it takes the
 * loss's snapshot instead: a duplicate of every description of the file
 * then open in the tree (every process descending from the keeper); a
 * latch it did not make (the library's, an earlier run's) it snapshots at
 * its first refusal, which can only count more descriptions as old.  Those
 * stay latched after the acknowledgment (kcmp tells a description apart);
 * every other is judged as a new fd.  Duplicates keep their files open
 * until the run ends (at most WITNESS_MAX, the oldest given up first).
 *
 * Locking: the worker threads share the tables (lock-free, latchtab.h),
 * the witnesses, the snapshots (taken under their lock, which is taken
 * before the witnesses'), the injector's counts (a mutex each), and the exec ring
 * (written under a mutex, read without: a reader that may have missed an
 * entry rechecks).  Each worker has its own pidfd cache.
 */
#include "supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli.h"
#include "identity.h"
#include "inject.h"
#include "log.h"
#include "record.h"
#include "state.h"
#include "strcopy.h"
#include "sys.h"

#define LOCAL_CAPACITY 1024u

/* ---- the latch tables ---------------------------------------------------------- */

static struct options opts;
static struct state shared_state;
static struct latchtab shared, local;
static union {
	struct latch_header hdr;
	char bytes[sizeof(struct latch_header) + LOCAL_CAPACITY * sizeof(struct latch_record)];
} local_mem;

static bool no_new_privs;

/* Counts for STICKYSYNC_SUPERVISE_STATS. */
static struct {
	unsigned long notified, latched, refused, library, continued, gone, empty;
} stats;

static void count(unsigned long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static struct latchtab *seq_table(void)
{
	return shared.hdr && !shared.readonly ? &shared : &local;
}

static bool any_record(void)
{
	return latchtab_any_live(&shared) || latchtab_any_live(&local);
}

/* The newer of key's records in both tables (as the library's lookup). */
static void lookup(const struct file_key *key, struct latch_view *v)
{
	struct latch_view lv;

	memset(v, 0, sizeof(*v));
	if (latchtab_any_live(&shared))
		latchtab_lookup(&shared, key, v);
	if (!latchtab_any_live(&local))
		return;
	latchtab_lookup(&local, key, &lv);
	if (!lv.found)
		return;
	v->active |= lv.active;
	if (!v->found || lv.latch_seq > v->latch_seq) {
		v->latch_seq = lv.latch_seq;
		v->tab = lv.tab;
		v->slot = lv.slot;
	}
	v->found = true;
}

/* Latch in the shared table (pruning it when full), else in the
 * supervisor's: 0/1 as latchtab_latch, 2 when only the local one had room,
 * -1 when none had. */
static int store_latch(const struct latch_event *ev)
{
	uint64_t seq = latchtab_next_seq(seq_table());
	int ret = -1;

	if (shared.hdr && !shared.readonly) {
		ret = latchtab_latch(&shared, ev, seq);
		if (ret < 0 && state_prune_gone(&shared, false) > 0)
			ret = latchtab_latch(&shared, ev, seq);
	}
	if (ret < 0) {
		ret = latchtab_latch(&local, ev, seq);
		if (ret >= 0 && shared.hdr && !shared.readonly)
			ret = 2;
	}
	/* as the library: a judgment between the two numbers judges again */
	latchtab_next_seq(seq_table());
	return ret;
}

/* From the SIGBUS handler (state_guard): one line, raw writes. */
static void report_state_fault(const char *text)
{
	struct line l;

	line_init(&l);
	line_str(&l, "stickysync: ");
	line_str(&l, text);
	line_str(&l, "; new latches stay in the supervisor");
	log_line(&l);
}

static bool setup_tables(const struct options *o)
{
	char msg[STATE_MSG_MAX];

	latchtab_format(&local_mem, LOCAL_CAPACITY);
	latchtab_attach(&local, &local_mem, sizeof(local_mem));
	if (o->state_mode != STATE_DIR)
		return true;
	if (state_open(&shared_state, o->state_dir, true, o->state_capacity, msg, sizeof(msg)) !=
	    0) {
		cli_error("%s", msg);
		return false;
	}
	if (shared_state.tab.readonly) {
		cli_warn("%s: its latches are enforced, but new latches stay in the supervisor",
			 msg);
		latchtab_seq_above(&local, latchtab_seq(&shared_state.tab));
	}
	/* a table truncated under us, or out of space, must not kill the
	 * supervisor (and with it the tree) */
	state_guard(&shared_state, o->state_dir, report_state_fault);
	shared = shared_state.tab;
	return true;
}

/* ---- the injector --------------------------------------------------------------- */

static pthread_mutex_t inject_lock = PTHREAD_MUTEX_INITIALIZER;

/* The errno a rule injects into this call, or 0.  Like the library, an
 * injected failure skips the real call. */
static int injected(enum op op, const char *path, enum inject_lose *lose)
{
	int err;

	*lose = LOSE_KEEP;
	if (!inject_active())
		return 0;
	pthread_mutex_lock(&inject_lock);
	err = inject_decide(&inject_rules, op_inject_kind(op), path, lose);
	pthread_mutex_unlock(&inject_lock);
	return err;
}

bool sv_setup(const struct options *o)
{
	opts = *o;
	log_setup(o->log_mode, o->log_path, "stickysync");
	for (int i = 0; i < o->nmsg; i++)
		cli_complaint(o->msg[i]);
	if (o->nmsg || !setup_tables(o))
		return false;
	inject_setup(o->inject);
	inject_set_report(o->inject_report);
	if (o->policy == POLICY_FAILSTOP)
		cli_warn("policy failstop: supervised programs get EIO from syncs of latched "
			 "files, but their reads and writes are not trapped and go through");
	return true;
}

void sv_set_no_new_privs(bool set)
{
	no_new_privs = set;
}

/* ---- reports --------------------------------------------------------------------- */

/* "stickysync: PROG[PID]: " for the target, as the library writes it. */
static void target_prefix(struct line *l, pid_t tgid)
{
	char prog[REC_PROG_MAX];

	sv_target_prog(tgid, prog, sizeof(prog));
	line_str(l, "stickysync: ");
	line_str(l, prog);
	line_str(l, "[");
	line_int(l, tgid);
	line_str(l, "]: ");
}

/* The call as the report names it: "fsync(fd 3, /path" */
static void call_str(struct line *l, const char *op, int fd, const char *path)
{
	line_str(l, op);
	line_str(l, "(");
	if (fd >= 0) {
		line_str(l, "fd ");
		line_int(l, fd);
		line_str(l, ", ");
	}
	line_str(l, path[0] ? path : "?");
}

static void report_failure(const struct latch_event *ev, int fd, int stored)
{
	struct line l;

	line_init(&l);
	target_prefix(&l, ev->pid);
	call_str(&l, ev->op, fd, ev->path);
	line_str(&l, ") failed: ");
	line_errno(&l, ev->error);
	line_str(&l, "; ");
	line_str(&l, policy_next_step(opts.policy, true));
	if (stored < 0)
		line_str(&l, "; LATCH TABLE FULL: only fds of this process that saw the error "
			     "stay latched");
	else if (stored == 2)
		line_str(&l, "; the shared latch table is full: latched in the supervisor only");
	log_line(&l);
}

static void report_refusal(pid_t tgid, enum op op, int fd, const char *path,
			   const struct latch_view *view, bool witness)
{
	struct latch_record rec;
	struct line l;

	if (!latchtab_view_record(view, &rec)) {
		memset(&rec, 0, sizeof(rec));
		rec.error = EIO;
		memcpy(rec.op, "sync", 5);
	}
	line_init(&l);
	target_prefix(&l, tgid);
	call_str(&l, op_name(op), fd, path);
	line_refusal(&l, opts.policy, rec.op, rec.error, rec.pid, NULL, witness);
	log_line(&l);
}

/* The abort policy: the target aborts, as the library's abort() would. */
static void abort_target(pid_t tgid, pid_t tid)
{
	if (opts.policy == POLICY_ABORT)
		syscall(SYS_tgkill, tgid, tid, SIGABRT);
}

/* ---- the calls ------------------------------------------------------------------- */

/* What a failed call on dup (the target's fd, or -1) latches; dup is the
 * store's from now on.  Returns the errno to reply. */
static int latch_failure(const struct sv_target *t, pid_t tid, enum op op, int fd, int dup, int err,
			 const char *path)
{
	struct latch_event ev = {.error = err, .op = op_name(op), .pid = t->tgid};
	char prog[REC_PROG_MAX];
	struct file_key key;
	int stored;

	if (key_from_fd(dup, &key) != 0) {
		sys_close(dup);
		return err;
	}
	if (op == OP_SYNCFS)
		key_fs_of(&key, &ev.key);
	else {
		key_add_generation(&key, dup);
		ev.key = key;
	}
	sv_target_prog(t->tgid, prog, sizeof(prog));
	ev.prog = prog;
	ev.path = path;
	ev.when_ns = record_now_ns();
	stored = store_latch(&ev);
	count(&stats.latched);
	if (op == OP_SYNCFS || fd < 0) {
		sys_close(dup);
	} else {
		struct latch_view view;

		sv_witness_keep(&key, dup, false);
		lookup(&key, &view);
		if (view.found)
			sv_snapshot_once(&key, view.latch_seq);
	}
	report_failure(&ev, fd, stored);
	abort_target(t->tgid, tid);
	return err;
}

/* A sync of dup succeeded: 0, or EIO when its file is latched.  dup is
 * closed or kept as a witness. */
static int judge_success(const struct sv_target *t, pid_t tid, enum op op, int fd, int dup)
{
	struct latch_view view, fsview;
	struct file_key key, fs;
	char path[REC_PATH_MAX];
	bool witness;

	if ((!any_record() && !sv_any_witness()) || key_from_fd(dup, &key) != 0) {
		sys_close(dup);
		return 0;
	}
	lookup(&key, &view);
	/* a match on birth time alone may be a file recreated within one tick */
	if (view.found && !(key.flags & KEYF_GEN)) {
		key_add_generation(&key, dup);
		if (key.flags & KEYF_GEN)
			lookup(&key, &view);
	}
	if (!view.active && (latchtab_any_fs(&shared) || latchtab_any_fs(&local))) {
		key_fs_of(&key, &fs);
		lookup(&fs, &fsview);
		if (fsview.active)
			view = fsview;
	}
	if (view.active)
		sv_snapshot_once(&key, view.latch_seq);
	witness = sv_is_witness(&key, dup);
	if (!view.active && !witness) {
		sys_close(dup);
		return 0;
	}
	sv_fd_path(dup, path, sizeof(path));
	count(&stats.refused);
	if (witness ? sv_witness_keep(&key, dup, true)
		    : (sys_close(dup), sv_first_refusal(t->tgid, fd, view.latch_seq)))
		report_refusal(t->tgid, op, fd, path, &view, witness);
	abort_target(t->tgid, tid);
	return opts.policy == POLICY_OBSERVE ? 0 : EIO;
}

/* syncfs succeeded: EIO while its filesystem is latched. */
static int judge_syncfs(const struct sv_target *t, pid_t tid, int fd, int dup)
{
	struct latch_view view = {0};
	char path[REC_PATH_MAX];
	struct file_key key;

	if (!any_record() || key_from_fd(dup, &key) != 0 ||
	    (!latchtab_dev_active(&shared, key.dev, &view) &&
	     !latchtab_dev_active(&local, key.dev, &view))) {
		sys_close(dup);
		return 0;
	}
	sv_fd_path(dup, path, sizeof(path));
	sys_close(dup);
	count(&stats.refused);
	report_refusal(t->tgid, OP_SYNCFS, fd, path, &view, false);
	abort_target(t->tgid, tid);
	return opts.policy == POLICY_OBSERVE ? 0 : EIO;
}

/* The sync itself, as a raw system call: were libstickysync.so preloaded
 * into stickysync (/etc/ld.so.preload), its wrappers must not judge, or
 * inject into, the supervisor's own calls on the targets' files (their
 * closes are raw too). */
static int run_sync(enum op op, int dup, const struct seccomp_data *d)
{
	switch (op) {
	case OP_FSYNC:
		return sys_fsync(dup);
	case OP_FDATASYNC:
		return (int)syscall(SYS_fdatasync, dup);
	case OP_SYNC_FILE_RANGE:
		return (int)syscall(SYS_sync_file_range, dup, (off_t)d->args[1], (off_t)d->args[2],
				    (unsigned)d->args[3]);
	case OP_SYNCFS:
		return (int)syscall(SYS_syncfs, dup);
	default:
		return errno = ENOSYS, -1;
	}
}

static bool reply_continue(struct seccomp_notif_resp *resp)
{
	count(&stats.continued);
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	return true;
}

/* The caller has libstickysync.so: its wrapper judges the result. */
static bool library_judges(struct seccomp_notif_resp *resp)
{
	count(&stats.library);
	resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	return true;
}

/* pidfd_getfd failed for another reason than a closed fd: the call runs
 * as the target made it, unjudged, and that is said once. */
static void warn_unreachable(const struct sv_target *t, int err)
{
	static int said;
	char prog[REC_PROG_MAX];

	if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		return;
	sv_target_prog(t->tgid, prog, sizeof(prog));
	cli_warn("cannot reach the fds of %s[%d] (%s): its syncs run unjudged", prog, (int)t->tgid,
		 strerror(err));
}

static bool handle_fd_sync(int listener, const struct seccomp_notif *req,
			   struct seccomp_notif_resp *resp, enum op op)
{
	int fd = (int)req->data.args[0], dup, err, ret;
	char path[REC_PATH_MAX] = "";
	enum inject_lose lose;
	struct sv_target *t = sv_target_get(listener, req);

	if (!t)
		return count(&stats.gone), false;
	if (sv_library_call(t, req) && sv_target_alive(t))
		return library_judges(resp);
	dup = sv_target_fd(listener, req, &t, fd);
	if (dup < 0) {
		if (errno == ESRCH)
			return count(&stats.gone), false;
		if (errno == EBADF) {
			resp->error = -EBADF; /* as the kernel: fd is not open */
			return true;
		}
		/* EPERM (a non-dumpable target, Yama), EMFILE, ENOMEM */
		warn_unreachable(t, errno);
		return reply_continue(resp);
	}
	if (sv_library_call(t, req)) { /* its id came back in another process */
		sys_close(dup);
		return library_judges(resp);
	}
	if (inject_active())
		sv_fd_path(dup, path, sizeof(path));
	err = injected(op, path, &lose);
	if (err && lose != LOSE_KEEP)
		sv_lose_apply(dup, lose, path);
	if (!err) {
		ret = run_sync(op, dup, &req->data);
		err = ret < 0 ? errno : 0;
		/* what this sync made durable is what lose= goes back to */
		if (!err && op != OP_SYNCFS && inject_loses() &&
		    inject_records(&inject_rules, path))
			sv_lose_baseline(dup);
	}
	if (err && record_not_applicable(err)) {
		sys_close(dup);
		resp->error = -err;
		return true;
	}
	if (err) {
		if (!path[0])
			sv_fd_path(dup, path, sizeof(path));
		resp->error = -latch_failure(t, (pid_t)req->pid, op, fd, dup, err, path);
		return true;
	}
	if (op == OP_SYNCFS)
		resp->error = -judge_syncfs(t, (pid_t)req->pid, fd, dup);
	else
		resp->error = -judge_success(t, (pid_t)req->pid, op, fd, dup);
	return true;
}

/* ---- msync ------------------------------------------------------------------------ */

/* The file mapped at addr in the thread's process, opened anew (a new
 * description: the mapping has none of its own); -1 if none. */
static int open_mapping(pid_t tid, unsigned long addr)
{
	char path[PATH_MAX + 64], *line = NULL;
	unsigned long lo, hi;
	size_t cap = 0;
	int fd = -1, at;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)tid);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fd < 0 && getline(&line, &cap, f) > 0) {
		at = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &at) < 2 || addr < lo ||
		    addr >= hi)
			continue;
		/* map_files needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE; the path
		 * is the fallback, racing renames */
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", (int)tid, lo, hi);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && at > 0 && line[at] == '/') {
			line[strcspn(line, "\n")] = '\0';
			fd = open(line + at, O_RDONLY | O_CLOEXEC);
		}
		break;
	}
	free(line);
	fclose(f);
	return fd;
}

/*
 * msync(MS_SYNC): the mapped file is synced on a new description; a failure
 * latches and is the reply, a latched file gets EIO, otherwise the call runs
 * as the target made it (its own flags, ENOMEM, MS_INVALIDATE stay native).
 * The new description misses an error another one already saw.
 */
static bool handle_msync(int listener, const struct seccomp_notif *req,
			 struct seccomp_notif_resp *resp)
{
	struct sv_target *t;
	char path[REC_PATH_MAX];
	struct latch_view view;
	enum inject_lose lose;
	struct file_key key;
	int fd, err;

	if (!((int)req->data.args[2] & MS_SYNC))
		return reply_continue(resp);
	if (!(t = sv_target_get(listener, req)))
		return count(&stats.gone), false;
	if (sv_library_call(t, req))
		return library_judges(resp);
	if ((fd = open_mapping(t->tid, (unsigned long)req->data.args[0])) < 0)
		return reply_continue(resp);
	sv_fd_path(fd, path, sizeof(path));
	if ((err = injected(OP_MSYNC, path, &lose)) != 0) {
		if (lose != LOSE_KEEP)
			sv_lose_apply(fd, lose, path);
	} else if (syscall(SYS_fdatasync, fd) != 0) {
		err = errno;
	}
	if (err && !record_not_applicable(err)) {
		resp->error = -latch_failure(t, (pid_t)req->pid, OP_MSYNC, -1, fd, err, path);
		return true;
	}
	/* no fd: only an unacknowledged latch refuses it */
	if (!any_record() || key_from_fd(fd, &key) != 0 || (lookup(&key, &view), !view.active)) {
		sys_close(fd);
		return reply_continue(resp);
	}
	sys_close(fd);
	count(&stats.refused);
	report_refusal(t->tgid, OP_MSYNC, -1, path, &view, false);
	abort_target(t->tgid, (pid_t)req->pid);
	if (opts.policy == POLICY_OBSERVE)
		return reply_continue(resp);
	resp->error = -EIO;
	return true;
}

/* ---- execve and io_uring_setup ---------------------------------------------------- */

/* A string of the target's memory, page by page (it may end before a
 * page that is not mapped). */
static bool read_target_string(pid_t tid, unsigned long addr, char *out, size_t size)
{
	size_t have = 0;

	while (have < size - 1) {
		size_t page = 4096 - (addr + have) % 4096, want = size - 1 - have;
		struct iovec mine = {.iov_base = out + have, .iov_len = want < page ? want : page};
		struct iovec theirs = {.iov_base = (void *)(addr + have), .iov_len = mine.iov_len};
		ssize_t n = process_vm_readv(tid, &mine, 1, &theirs, 1, 0);

		if (n <= 0)
			return false;
		if (memchr(out + have, '\0', (size_t)n))
			return true;
		have += (size_t)n;
	}
	return false;
}

/* What gains privileges at exec, in a sentence; NULL if nothing does. */
static const char *privilege_of(const char *path, const struct stat *st)
{
	if (st->st_mode & S_ISUID)
		return "set-user-ID";
	if ((st->st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		return "set-group-ID";
	if (getxattr(path, "security.capability", NULL, 0) > 0)
		return "given file capabilities";
	return NULL;
}

/*
 * Under no_new_privs (a supervisor not run by root) a set-user-ID or
 * file-capability program runs without its privileges, and usually fails:
 * said for every such exec in the tree.  The path is read as the target
 * sees it; racy (the file may change before the exec), which a warning
 * can afford.
 */
static void check_exec(const struct seccomp_notif *req, pid_t tgid)
{
	bool at = req->data.nr != (unsigned)__NR_execve && req->data.nr != 11u;
	unsigned long addr = (unsigned long)req->data.args[at ? 1 : 0];
	char file[PATH_MAX], path[PATH_MAX + 64], prog[REC_PROG_MAX];
	const char *what;
	struct stat st;

	if (!read_target_string((pid_t)req->pid, addr, file, sizeof(file)))
		return;
	if (file[0] == '/')
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)req->pid, file);
	else if (at && (int)req->data.args[0] != AT_FDCWD)
		/* "" with AT_EMPTY_PATH (fexecve): the fd itself */
		snprintf(path, sizeof(path), "/proc/%d/fd/%d%s%s", (int)req->pid,
			 (int)req->data.args[0], file[0] ? "/" : "", file);
	else
		snprintf(path, sizeof(path), "/proc/%d/cwd/%s", (int)req->pid, file);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !(what = privilege_of(path, &st)))
		return;
	if (!file[0]) { /* name the file the fd holds */
		ssize_t n = readlink(path, file, sizeof(file) - 1);

		file[n > 0 ? n : 0] = '\0';
	}
	sv_target_prog(tgid, prog, sizeof(prog));
	cli_warn("%s[%d] runs %s, which is %s: under no_new_privs it runs without its "
		 "privileges (the supervisor sets it unless run by root)",
		 prog, (int)tgid, file, what);
}

static bool handle_exec(int listener, const struct seccomp_notif *req,
			struct seccomp_notif_resp *resp)
{
	long tgid = sv_status_field((pid_t)req->pid, "Tgid");

	(void)listener;
	if (tgid > 0)
		sv_note_exec((pid_t)tgid);
	if (no_new_privs && tgid > 0)
		check_exec(req, (pid_t)tgid);
	return reply_continue(resp);
}

/* io_uring's syncs never pass through a system call: said once a process. */
static bool handle_uring(int listener, const struct seccomp_notif *req,
			 struct seccomp_notif_resp *resp)
{
	static pid_t last;
	struct sv_target *t = sv_target_get(listener, req);
	char prog[REC_PROG_MAX];

	if (!t || sv_library_call(t, req) ||
	    __atomic_exchange_n(&last, t->tgid, __ATOMIC_RELAXED) == t->tgid)
		return reply_continue(resp);
	sv_target_prog(t->tgid, prog, sizeof(prog));
	cli_warn("%s[%d] sets up io_uring: syncs it submits there are not seen by the supervisor "
		 "(--deny-io-uring makes io_uring_setup fail, and most programs fall back to "
		 "system calls)",
		 prog, (int)t->tgid);
	return reply_continue(resp);
}

/* ---- dispatch ---------------------------------------------------------------------- */

enum call {
	CALL_OTHER,
	CALL_FSYNC,
	CALL_FDATASYNC,
	CALL_SFR,
	CALL_SYNCFS,
	CALL_MSYNC,
	CALL_EXEC,
	CALL_URING
};

static enum call classify(const struct seccomp_data *d)
{
	unsigned nr = d->nr;

#ifdef __x86_64__
	if (d->arch == AUDIT_ARCH_I386) {
		switch (nr) {
		case 118:
			return CALL_FSYNC;
		case 148:
			return CALL_FDATASYNC;
		case 344:
			return CALL_SYNCFS;
		case 11:
		case 358:
			return CALL_EXEC;
		case 425:
			return CALL_URING;
		}
		return CALL_OTHER;
	}
	nr &= ~0x40000000u; /* x32 */
#endif
	switch (nr) {
	case __NR_fsync:
		return CALL_FSYNC;
	case __NR_fdatasync:
		return CALL_FDATASYNC;
	case __NR_sync_file_range:
		return CALL_SFR;
	case __NR_syncfs:
		return CALL_SYNCFS;
	case __NR_msync:
		return CALL_MSYNC;
	case __NR_execve:
	case __NR_execveat:
		return CALL_EXEC;
	case __NR_io_uring_setup:
		return CALL_URING;
	}
	return CALL_OTHER;
}

bool sv_handle(int listener, const struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
	count(&stats.notified);
	switch (classify(&req->data)) {
	case CALL_FSYNC:
		return handle_fd_sync(listener, req, resp, OP_FSYNC);
	case CALL_FDATASYNC:
		return handle_fd_sync(listener, req, resp, OP_FDATASYNC);
	case CALL_SFR:
		return handle_fd_sync(listener, req, resp, OP_SYNC_FILE_RANGE);
	case CALL_SYNCFS:
		return handle_fd_sync(listener, req, resp, OP_SYNCFS);
	case CALL_MSYNC:
		return handle_msync(listener, req, resp);
	case CALL_EXEC:
		return handle_exec(listener, req, resp);
	case CALL_URING:
		return handle_uring(listener, req, resp);
	case CALL_OTHER:
		break;
	}
	return reply_continue(resp);
}

void sv_note_empty_receive(void)
{
	count(&stats.empty);
}

void sv_finish(void)
{
	const char *want = getenv("STICKYSYNC_SUPERVISE_STATS");

	inject_report_unfired();
	if (!want || strcmp(want, "1") != 0)
		return;
	fprintf(
	    stderr,
	    "stickysync: supervisor: %lu notifications, %lu latched, %lu refused, "
	    "%lu judged by the library, %lu let through, %lu callers gone, %lu empty receives\n",
	    stats.notified, stats.latched, stats.refused, stats.library, stats.continued,
	    stats.gone, stats.empty);
}
