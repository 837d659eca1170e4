/*
 * fuzzutil.h — what the file-format fuzz targets share (header-only). Define
 * FUZZ_NAME ("fuzz_npy") and FUZZ_OUT_EXT (".npy") before including it.
 *
 *   in_path, in_fd     a temporary input file made once, removed at exit
 *   out_path           where a target saves what it loaded, to read it back
 *   fuzz_write_input   replaces the input file's contents with the fuzz input
 *   check              aborts (libFuzzer reports a crash) when a property breaks
 *   same_tensor        dtype, shape and bytes equal
 */
#ifndef GB_FUZZUTIL_H
#define GB_FUZZUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

static char in_path[64] = "/tmp/gb_" FUZZ_NAME "_in_XXXXXX";
static char out_path[64];
static int in_fd = -1;

static void cleanup(void)
{
	unlink(in_path);
	unlink(out_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	in_fd = mkstemp(in_path);
	if (in_fd < 0)
		abort();
	snprintf(out_path, sizeof out_path, "%s.out" FUZZ_OUT_EXT, in_path);
	atexit(cleanup);
	return 0;
}

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, FUZZ_NAME ": property broken: %s\n", what);
		abort();
	}
}

static void fuzz_write_input(const uint8_t *data, size_t size)
{
	check(ftruncate(in_fd, 0) == 0, "truncate the input file");
	check(size == 0 || pwrite(in_fd, data, size, 0) == (ssize_t)size, "write the input file");
}

static int same_tensor(const gb_tensor *a, const gb_tensor *b)
{
	if (a->dtype != b->dtype || a->ndim != b->ndim)
		return 0;
	for (int i = 0; i < a->ndim; i++)
		if (a->dims[i] != b->dims[i])
			return 0;
	size_t bytes;
	check(gb_shape_bytes(a->dtype, a->ndim, a->dims, &bytes), "a loaded tensor has a valid size");
	return bytes == 0 || memcmp(a->data, b->data, bytes) == 0;
}

#endif /* GB_FUZZUTIL_H */
