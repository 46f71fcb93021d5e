/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * Can a preloaded library reach the program at all?  Only the dynamic loader
 * reads LD_PRELOAD, so a statically linked program never loads it; a Go
 * program makes its system calls itself, past libc; and a program that gains
 * privileges runs in secure-execution mode, where the loader ignores
 * LD_PRELOAD entries with a slash.  Each is a one-line warning, not an error:
 * the program still runs, uncovered, and the operator decides.
 */
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli.h"

#define NOTE_MAX (64 * 1024) /* PT_NOTE segments are small; bound the read */
#define NT_GO_BUILDID 4	     /* Go's linker: note "Go\0\0", type 4 */
#if __BYTE_ORDER == __LITTLE_ENDIAN
#define NATIVE_ELFDATA ELFDATA2LSB
#else
#define NATIVE_ELFDATA ELFDATA2MSB
#endif

/* The ELF header fields we need, for either class. */
struct elf_view {
	int fd;
	bool is64;
	uint64_t phoff, shoff;
	unsigned phnum, phentsize, shnum, shentsize, shstrndx;
};

static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	return pread(fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* false when the file is not an ELF file of this machine's byte order. */
static bool elf_open(struct elf_view *e, int fd)
{
	union {
		unsigned char ident[EI_NIDENT];
		Elf64_Ehdr h64;
		Elf32_Ehdr h32;
	} h;

	if (!read_at(fd, &h, sizeof(h.h64), 0) && !read_at(fd, &h, sizeof(h.h32), 0))
		return false;
	/* Another byte order cannot run here anyway. */
	if (memcmp(h.ident, ELFMAG, SELFMAG) != 0 || h.ident[EI_DATA] != NATIVE_ELFDATA)
		return false;
	if (h.ident[EI_CLASS] == ELFCLASS64) {
		*e = (struct elf_view){.fd = fd,
				       .is64 = true,
				       .phoff = h.h64.e_phoff,
				       .shoff = h.h64.e_shoff,
				       .phnum = h.h64.e_phnum,
				       .phentsize = h.h64.e_phentsize,
				       .shnum = h.h64.e_shnum,
				       .shentsize = h.h64.e_shentsize,
				       .shstrndx = h.h64.e_shstrndx};
		return e->phentsize >= sizeof(Elf64_Phdr);
	}
	if (h.ident[EI_CLASS] != ELFCLASS32)
		return false;
	*e = (struct elf_view){.fd = fd,
			       .is64 = false,
			       .phoff = h.h32.e_phoff,
			       .shoff = h.h32.e_shoff,
			       .phnum = h.h32.e_phnum,
			       .phentsize = h.h32.e_phentsize,
			       .shnum = h.h32.e_shnum,
			       .shentsize = h.h32.e_shentsize,
			       .shstrndx = h.h32.e_shstrndx};
	return e->phentsize >= sizeof(Elf32_Phdr);
}

/* Program header i as (type, offset, size); false if unreadable. */
static bool elf_phdr(const struct elf_view *e, unsigned i, uint32_t *type, uint64_t *off,
		     uint64_t *size)
{
	uint64_t at = e->phoff + (uint64_t)i * e->phentsize;
	Elf64_Phdr p64;
	Elf32_Phdr p32;

	if (e->is64) {
		if (!read_at(e->fd, &p64, sizeof(p64), at))
			return false;
		*type = p64.p_type, *off = p64.p_offset, *size = p64.p_filesz;
		return true;
	}
	if (!read_at(e->fd, &p32, sizeof(p32), at))
		return false;
	*type = p32.p_type, *off = p32.p_offset, *size = p32.p_filesz;
	return true;
}

/* Section header i as (name offset, file offset, size). */
static bool elf_shdr(const struct elf_view *e, unsigned i, uint32_t *name, uint64_t *off,
		     uint64_t *size)
{
	uint64_t at = e->shoff + (uint64_t)i * e->shentsize;
	Elf64_Shdr s64;
	Elf32_Shdr s32;

	if (e->is64) {
		if (e->shentsize < sizeof(s64) || !read_at(e->fd, &s64, sizeof(s64), at))
			return false;
		*name = s64.sh_name, *off = s64.sh_offset, *size = s64.sh_size;
		return true;
	}
	if (e->shentsize < sizeof(s32) || !read_at(e->fd, &s32, sizeof(s32), at))
		return false;
	*name = s32.sh_name, *off = s32.sh_offset, *size = s32.sh_size;
	return true;
}

/* Does a note segment hold Go's build ID note? */
static bool notes_have_go(const unsigned char *p, size_t len)
{
	size_t at = 0;

	while (at + 12 <= len) {
		uint32_t namesz, descsz, type;

		memcpy(&namesz, p + at, 4);
		memcpy(&descsz, p + at + 4, 4);
		memcpy(&type, p + at + 8, 4);
		at += 12;
		if (namesz == 4 && type == NT_GO_BUILDID && at + 4 <= len &&
		    memcmp(p + at, "Go\0\0", 4) == 0)
			return true;
		at += ((size_t)namesz + 3) / 4 * 4 + ((size_t)descsz + 3) / 4 * 4;
	}
	return false;
}

static bool segment_has_go_note(const struct elf_view *e, uint64_t off, uint64_t size)
{
	unsigned char *buf;
	bool found;

	if (size == 0 || size > NOTE_MAX || !(buf = malloc(size)))
		return false;
	found = read_at(e->fd, buf, size, off) && notes_have_go(buf, size);
	free(buf);
	return found;
}

/* Is there a section named .go.buildinfo?  (It survives stripping, unlike
 * the symbol table.) */
static bool has_go_buildinfo(const struct elf_view *e)
{
	static const char want[] = ".go.buildinfo";
	uint64_t stroff, strsize, off, size;
	uint32_t name;
	char buf[sizeof(want)];

	if (e->shoff == 0 || e->shstrndx >= e->shnum ||
	    !elf_shdr(e, e->shstrndx, &name, &stroff, &strsize))
		return false;
	for (unsigned i = 0; i < e->shnum; i++) {
		if (!elf_shdr(e, i, &name, &off, &size) || name + sizeof(want) > strsize)
			continue;
		if (read_at(e->fd, buf, sizeof(buf), stroff + name) &&
		    memcmp(buf, want, sizeof(want)) == 0)
			return true;
	}
	return false;
}

static enum elf_kind elf_classify(const struct elf_view *e)
{
	bool interp = false, go = false;

	for (unsigned i = 0; i < e->phnum; i++) {
		uint64_t off, size;
		uint32_t type;

		if (!elf_phdr(e, i, &type, &off, &size))
			return ELF_OTHER;
		if (type == PT_INTERP)
			interp = true;
		else if (type == PT_NOTE && !go)
			go = segment_has_go_note(e, off, size);
	}
	if (go || has_go_buildinfo(e))
		return ELF_GO;
	return interp ? ELF_DYNAMIC : ELF_STATIC;
}

enum elf_kind coverage_elf_kind(const char *path)
{
	struct elf_view e;
	enum elf_kind kind = ELF_OTHER;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ELF_OTHER;
	if (elf_open(&e, fd))
		kind = elf_classify(&e);
	close(fd);
	return kind;
}

/* label names the program in the warning ("CMD" or "CMD's interpreter X"). */
static void check_binary(const char *path, const char *label)
{
	enum elf_kind kind = coverage_elf_kind(path);

	if (kind == ELF_GO)
		cli_warn("%s is a Go program: Go makes its system calls itself, past libc and "
			 "libstickysync.so, so its syncs are not covered",
			 label);
	else if (kind == ELF_STATIC)
		cli_warn(
		    "%s is statically linked: no dynamic loader reads LD_PRELOAD, so its syncs "
		    "are not covered",
		    label);
}

bool script_interpreter(const char *path, char *out, size_t size)
{
	char buf[256], *p;
	ssize_t n;
	size_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 3 || buf[0] != '#' || buf[1] != '!')
		return false;
	buf[n] = '\0';
	p = buf + 2 + strspn(buf + 2, " \t");
	len = strcspn(p, " \t\n");
	if (p[0] != '/' || len >= size)
		return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

/* Secure-execution mode: the program gains a user, a group or capabilities. */
static void check_privileges(const char *path, const char *label)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return;
	if ((st.st_mode & S_ISUID) && st.st_uid != getuid()) {
		struct passwd *pw = getpwuid(st.st_uid);

		cli_warn("%s is setuid %s: the dynamic loader ignores LD_PRELOAD when a program "
			 "changes user, so it is not covered",
			 label, pw ? pw->pw_name : "(another user)");
	} else if ((st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
		   st.st_gid != getgid()) {
		struct group *gr = getgrgid(st.st_gid);

		cli_warn("%s is setgid %s: the dynamic loader ignores LD_PRELOAD when a program "
			 "changes group, so it is not covered",
			 label, gr ? gr->gr_name : "(another group)");
	} else if (getxattr(path, "security.capability", NULL, 0) > 0) {
		cli_warn("%s has file capabilities: the dynamic loader ignores LD_PRELOAD for it, "
			 "so it is not covered",
			 label);
	}
}

void coverage_check(const char *cmd)
{
	char interp[PATH_MAX], label[PATH_MAX + 64];

	check_privileges(cmd, cmd);
	if (script_interpreter(cmd, interp, sizeof(interp))) {
		snprintf(label, sizeof(label), "%s's interpreter %s", cmd, interp);
		check_binary(interp, label);
		return;
	}
	check_binary(cmd, cmd);
}

enum elf_kind coverage_program_kind(const char *path)
{
	char interp[PATH_MAX];

	if (script_interpreter(path, interp, sizeof(interp)))
		return coverage_elf_kind(interp);
	return coverage_elf_kind(path);
}

static bool is_executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

bool coverage_resolve(const char *cmd, char *out, size_t size)
{
	const char *path = getenv("PATH"), *p;
	bool seen = false;

	if (strchr(cmd, '/')) {
		if ((size_t)snprintf(out, size, "%s", cmd) >= size)
			return errno = ENAMETOOLONG, false;
		return access(cmd, F_OK) == 0;
	}
	if (!path)
		path = "/bin:/usr/bin"; /* what execvp searches without PATH */
	for (p = path;; p++) {
		size_t len = strcspn(p, ":");
		int n = snprintf(out, size, "%.*s%s%s", (int)len, len ? p : ".", "/", cmd);

		if (n > 0 && (size_t)n < size) {
			if (is_executable_file(out))
				return true;
			seen |= access(out, F_OK) == 0;
		}
		p += len;
		if (!*p)
			break;
	}
	errno = seen ? EACCES : ENOENT;
	return false;
}
