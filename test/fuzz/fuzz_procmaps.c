/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (C) 2026 The stickysync authors */
/*
 * /proc/self/maps lines: procmaps_line_maps, for addresses in and around the
 * range the line names, into path buffers of several sizes.  The input is
 * one line, without its newline.
 */
#include "fuzz.h"

#include "procmaps.h"

/* The result must not depend on the size of the path buffer, which gets
 * the rest of the line cut to fit. */
static bool line_maps(const char *line, unsigned long addr, struct file_key *key, char *whole)
{
	static const size_t sizes[] = {1, 2, 16};
	bool maps = procmaps_line_maps(line, addr, key, whole, 4096);

	FUZZ_CHECK(!maps ||
		       (key->ino != 0 && key->kind == KEY_FILE && fuzz_terminated(whole, 4096)),
		   "ino %llu kind %u", (unsigned long long)key->ino, key->kind);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *path = malloc(sizes[i]);
		struct file_key k;

		FUZZ_CHECK(path, "out of memory");
		FUZZ_CHECK(procmaps_line_maps(line, addr, &k, path, sizes[i]) == maps,
			   "answer depends on the path buffer");
		FUZZ_CHECK(!maps ||
			       (k.dev == key->dev && k.ino == key->ino &&
				strncmp(path, whole, sizes[i] - 1) == 0 && strlen(path) < sizes[i]),
			   "path %s in %zu bytes", path, sizes[i]);
		free(path);
	}
	return maps;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_strdup(data, size), *end;
	char *whole = malloc(4096);
	unsigned long start = strtoul(line, &end, 16), stop = 0;
	struct file_key key;

	FUZZ_CHECK(whole, "out of memory");
	if (*end == '-')
		stop = strtoul(end + 1, NULL, 16);
	{
		const unsigned long addrs[] = {
		    0,	 start - 1, start, start + 1, stop - 1, stop, (start >> 1) + (stop >> 1),
		    ~0ul};

		for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
			line_maps(line, addrs[i], &key, whole);
	}
	free(whole);
	free(line);
	return 0;
}
