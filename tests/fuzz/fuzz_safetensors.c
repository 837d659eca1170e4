/*
 * fuzz_safetensors.c — libFuzzer target for the safetensors reader.
 *
 * Every input is read from memory (gb_safetensors_parse) and from a file
 * (gb_safetensors_load, which streams tensor by tensor); the two must agree
 * on the status and the tensors. A file that loads is saved and read back,
 * and must come back identical. Any failure's message must start with the
 * file's name. A broken property aborts, which libFuzzer reports as a crash.
 *
 *   make fuzz && build-fuzz/fuzz_safetensors tests/fuzz/corpus/fuzz_safetensors
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "io/reader.h"

static char in_path[64] = "/tmp/gb_fuzz_st_in_XXXXXX";
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
	snprintf(out_path, sizeof out_path, "%s.out.safetensors", in_path);
	atexit(cleanup);
	return 0;
}

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_safetensors: property broken: %s\n", what);
		abort();
	}
}

static int same_maps(const gb_tensor_map *a, const gb_tensor_map *b)
{
	if (gb_tensor_map_count(a) != gb_tensor_map_count(b))
		return 0;
	for (int i = 0; i < gb_tensor_map_count(a); i++) {
		const gb_tensor *x = gb_tensor_map_at(a, i), *y = gb_tensor_map_at(b, i);
		if (strcmp(gb_tensor_map_name(a, i), gb_tensor_map_name(b, i)) != 0 || x->dtype != y->dtype ||
		    x->ndim != y->ndim)
			return 0;
		for (int d = 0; d < x->ndim; d++)
			if (x->dims[d] != y->dims[d])
				return 0;
		size_t bytes;
		check(gb_shape_bytes(x->dtype, x->ndim, x->dims, &bytes), "a loaded tensor has a valid size");
		if (bytes && memcmp(x->data, y->data, bytes) != 0)
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gb_error err_mem = {0}, err_file = {0};
	gb_tensor_map *from_mem = NULL, *from_file = NULL;
	gb_status st_mem = gb_safetensors_parse(data, size, in_path, &from_mem, &err_mem);

	check(ftruncate(in_fd, 0) == 0, "truncate the input file");
	check(size == 0 || pwrite(in_fd, data, size, 0) == (ssize_t)size, "write the input file");
	gb_status st_file = gb_safetensors_load(in_path, &from_file, &err_file);

	check(st_mem == st_file, "memory and file loads agree on the status");
	if (st_mem != GB_OK) {
		check(!from_mem && !from_file, "a failed load returns no map");
		check(strncmp(err_mem.msg, in_path, strlen(in_path)) == 0, "the parse message names the file");
		check(strncmp(err_file.msg, in_path, strlen(in_path)) == 0, "the load message names the file");
		return 0;
	}
	check(same_maps(from_mem, from_file), "memory and file loads give the same tensors");

	/* A name "__metadata__" cannot occur (the reader skips that key), so
	 * every map that loads can be saved. */
	gb_tensor_map *again = NULL;
	gb_error err = {0};
	check(gb_safetensors_save(out_path, from_mem, &err) == GB_OK, "a loaded map saves");
	check(gb_safetensors_load(out_path, &again, &err) == GB_OK, "a saved map loads");
	check(same_maps(from_mem, again), "save and load give the tensors back");
	gb_tensor_map_free(again);
	gb_tensor_map_free(from_mem);
	gb_tensor_map_free(from_file);
	return 0;
}
