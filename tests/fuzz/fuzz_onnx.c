/*
 * fuzz_onnx.c — libFuzzer target for the ONNX importer: any input either
 * loads into a model whose getters all work, or fails with a status, no
 * model and a message naming the source. Never a crash, leak or sanitizer
 * report.
 *
 *   make fuzz && build-fuzz/fuzz_onnx tests/fuzz/corpus/fuzz_onnx
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox.h"

#define LABEL "fuzz.onnx"

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_onnx: property broken: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gb_model *m = NULL;
	gb_error err = {0};
	gb_status st = gb_model_load_buffer(data, size, LABEL, &m, &err);
	if (st != GB_OK) {
		check(m == NULL, "a failed load returns no model");
		check(strstr(err.msg, LABEL) != NULL, "the message names the source");
		return 0;
	}
	/* Walk everything the model exposes. */
	gb_value_info info;
	for (int i = 0; i < gb_model_n_inputs(m); i++) {
		gb_model_input(m, i, &info);
		check(info.name != NULL && gb_model_find_input(m, info.name) >= 0, "inputs are named and findable");
	}
	for (int i = 0; i < gb_model_n_outputs(m); i++)
		gb_model_output(m, i, &info);
	for (int i = 0; i < gb_model_n_nodes(m); i++) {
		check(gb_model_node_op(m, i) != NULL, "nodes have ops");
		for (int k = 0; gb_model_node_output(m, i, k); k++)
			;
	}
	for (int i = 0; i < gb_model_n_params(m); i++) {
		const gb_tensor *t = gb_model_param(m, i);
		check(t != NULL && gb_model_param_name(m, i) != NULL, "params are named tensors");
		check(gb_tensor_numel(t) >= 0, "params have a size");
	}
	(void)gb_model_param_count(m);
	(void)gb_model_opset(m);
	gb_model_free(m);
	return 0;
}
