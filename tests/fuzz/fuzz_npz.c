/*
 * fuzz_npz.c — libFuzzer target for the .npz reader (gb_npz_load over
 * libzip, each member through the .npy parser).
 *
 * Each input is written to a file and loaded. A failure must return no map
 * and a message that starts with the file's name; a map that loads is saved
 * and read back and must come back identical (names, order, tensors). A
 * broken property aborts, which libFuzzer reports as a crash, like any
 * sanitizer finding.
 *
 *   make fuzz && build-fuzz/fuzz_npz tests/fuzz/corpus/fuzz_npz
 * (the seeds there are copies of tests/fixtures/npz files)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

static char in_path[64] = "/tmp/gb_fuzz_npz_in_XXXXXX";
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
	snprintf(out_path, sizeof out_path, "%s.out.npz", in_path);
	atexit(cleanup);
	return 0;
}

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_npz: property broken: %s\n", what);
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
	check(ftruncate(in_fd, 0) == 0, "truncate the input file");
	check(size == 0 || pwrite(in_fd, data, size, 0) == (ssize_t)size, "write the input file");
	gb_error err = {0};
	gb_tensor_map *map = NULL;
	if (gb_npz_load(in_path, &map, &err) != GB_OK) {
		check(map == NULL, "a failed load returns no map");
		check(strncmp(err.msg, in_path, strlen(in_path)) == 0, "the message names the file");
		return 0;
	}
	gb_tensor_map *again = NULL;
	check(gb_npz_save(out_path, map, NULL) == GB_OK, "a loaded map saves");
	check(gb_npz_load(out_path, &again, NULL) == GB_OK, "a saved map loads");
	check(gb_tensor_map_count(again) == gb_tensor_map_count(map), "save and load keep every member");
	for (int i = 0; i < gb_tensor_map_count(map); i++) {
		check(strcmp(gb_tensor_map_name(map, i), gb_tensor_map_name(again, i)) == 0, "names and order survive");
		check(same_tensor(gb_tensor_map_at(map, i), gb_tensor_map_at(again, i)), "tensors survive");
	}
	gb_tensor_map_free(again);
	gb_tensor_map_free(map);
	return 0;
}
