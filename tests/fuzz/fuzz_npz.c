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
#define FUZZ_NAME "fuzz_npz"
#define FUZZ_OUT_EXT ".npz"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_write_input(data, size);
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
