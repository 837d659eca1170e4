/*
 * fuzz_npy.c — libFuzzer target for the .npy reader.
 *
 * Every input is read twice, from memory (gb_npy_parse) and from a file
 * (gb_npy_load, which streams and takes a different path through the
 * preamble); the two must agree on the status and the tensor. A tensor that
 * loads is saved and read back, and must come back identical. Any failure's
 * message must start with the file's name. A broken property aborts, which
 * libFuzzer reports as a crash, like any sanitizer finding.
 *
 *   make fuzz && build-fuzz/fuzz_npy tests/fuzz/corpus/fuzz_npy
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "io/reader.h"

static char in_path[64] = "/tmp/gb_fuzz_npy_in_XXXXXX";
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
	snprintf(out_path, sizeof out_path, "%s.out.npy", in_path);
	atexit(cleanup);
	return 0;
}

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_npy: property broken: %s\n", what);
		abort();
	}
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gb_error err_mem = {0}, err_file = {0};
	gb_tensor *from_mem = NULL, *from_file = NULL;
	gb_status st_mem = gb_npy_parse(data, size, in_path, &from_mem, &err_mem);

	check(ftruncate(in_fd, 0) == 0, "truncate the input file");
	check(size == 0 || pwrite(in_fd, data, size, 0) == (ssize_t)size, "write the input file");
	gb_status st_file = gb_npy_load(in_path, &from_file, &err_file);

	check(st_mem == st_file, "memory and file loads agree on the status");
	if (st_mem != GB_OK) {
		check(!from_mem && !from_file, "a failed load returns no tensor");
		check(strncmp(err_mem.msg, in_path, strlen(in_path)) == 0, "the parse message names the file");
		check(strncmp(err_file.msg, in_path, strlen(in_path)) == 0, "the load message names the file");
		return 0;
	}
	check(same_tensor(from_mem, from_file), "memory and file loads give the same tensor");

	gb_tensor *again = NULL;
	check(gb_npy_save(out_path, from_mem, NULL) == GB_OK, "a loaded tensor saves");
	check(gb_npy_load(out_path, &again, NULL) == GB_OK, "a saved tensor loads");
	check(same_tensor(from_mem, again), "save and load give the tensor back");
	gb_tensor_free(again);
	gb_tensor_free(from_mem);
	gb_tensor_free(from_file);
	return 0;
}
