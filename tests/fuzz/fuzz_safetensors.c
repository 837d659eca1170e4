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
#define FUZZ_NAME "fuzz_safetensors"
#define FUZZ_OUT_EXT ".safetensors"
#include "fuzzutil.h"
#include "io/reader.h"

static int same_maps(const gb_tensor_map *a, const gb_tensor_map *b)
{
	if (gb_tensor_map_count(a) != gb_tensor_map_count(b))
		return 0;
	for (int i = 0; i < gb_tensor_map_count(a); i++)
		if (strcmp(gb_tensor_map_name(a, i), gb_tensor_map_name(b, i)) != 0 ||
		    !same_tensor(gb_tensor_map_at(a, i), gb_tensor_map_at(b, i)))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gb_error err_mem = {0}, err_file = {0};
	gb_tensor_map *from_mem = NULL, *from_file = NULL;
	gb_status st_mem = gb_safetensors_parse(data, size, in_path, &from_mem, &err_mem);

	fuzz_write_input(data, size);
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
