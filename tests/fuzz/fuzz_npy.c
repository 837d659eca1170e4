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
#define FUZZ_NAME "fuzz_npy"
#define FUZZ_OUT_EXT ".npy"
#include "fuzzutil.h"
#include "io/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gb_error err_mem = {0}, err_file = {0};
	gb_tensor *from_mem = NULL, *from_file = NULL;
	gb_status st_mem = gb_npy_parse(data, size, in_path, &from_mem, &err_mem);

	fuzz_write_input(data, size);
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
