/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * The command's ELF and #! reader (src/cli/coverage.c): the input is the
 * content of an executable file, read through a path as `stickysync run`
 * reads CMD.  The file is a memfd, named by /proc/self/fd/N: nothing on disk.
 */
#include "fuzz.h"

#include <sys/mman.h>

#include "cli.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fd = memfd_create("fuzz-executable", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0, "memfd_create failed");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

/* The interpreter is an absolute path, one word, cut to nothing. */
static void check_interpreter(void)
{
	static const size_t sizes[] = {1, 2, 8, 4096};
	char whole[4096];
	bool found = script_interpreter(path, whole, sizeof(whole));

	FUZZ_CHECK(!found || (whole[0] == '/' && fuzz_terminated(whole, sizeof(whole)) &&
			      !strpbrk(whole, " \t\n")),
		   "interpreter \"%.64s\"", whole);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *out = malloc(sizes[i]);
		bool fits;

		FUZZ_CHECK(out, "out of memory");
		fits = script_interpreter(path, out, sizes[i]);
		FUZZ_CHECK(!fits || (found && strcmp(out, whole) == 0), "\"%s\" in %zu bytes", out,
			   sizes[i]);
		FUZZ_CHECK(fits == (found && strlen(whole) < sizes[i]), "%s in %zu bytes",
			   fits ? "fits" : "does not fit", sizes[i]);
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum elf_kind kind;

	FUZZ_CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size,
		   "cannot write the memfd");
	kind = coverage_elf_kind(path);
	FUZZ_CHECK(kind <= ELF_GO, "kind %d", (int)kind);
	FUZZ_CHECK(kind == ELF_OTHER || (size >= 4 && memcmp(data, "\177ELF", 4) == 0),
		   "kind %d for a file that is not ELF", (int)kind);
	check_interpreter();
	return 0;
}
