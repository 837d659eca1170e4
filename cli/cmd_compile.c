/*
 * cmd_compile.c — glassbox compile: turns a .gbx program into an ONNX
 * network (docs/language.md §11), with ReLU expansions of the
 * piecewise-linear primitives by default or ONNX's own operators with
 * --native.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lang/lang.h"

const char cmd_compile_usage[] =
	"usage: glassbox compile PROGRAM.gbx -o NET.onnx [--native]\n"
	"\n"
	"Compiles the program into one ONNX graph (opset 13): loops are unrolled,\n"
	"defs inlined, and constants (params, literals and what is computed from\n"
	"them alone) folded into initializers. NET's inputs and outputs are the\n"
	"program's, in declaration order and under their names, each with a\n"
	"leading batch axis N; params keep their names as initializers. A\n"
	"weights \"FILE\" line is read relative to the program's directory.\n"
	"\n"
	"By default every piecewise-linear primitive (abs, clamp, step with\n"
	"width=, max, min, sort, and/or/xor/majority on f32, maxpool2d) becomes\n"
	"its ReLU expansion, so the network uses only Gemm, MatMul, Conv, Add,\n"
	"Sub, Mul, Neg, Relu and shape operators there (the kind of network the\n"
	"decompiler reads); step without width= has no such expansion.\n"
	"\n"
	"  -o NET.onnx   where to write the network (written only when the whole\n"
	"                program compiled)\n"
	"  --native      use ONNX's Max, Min, Abs, Clip, MaxPool, TopK, ... instead\n";

int cmd_compile(int argc, char **argv)
{
	const char *input = NULL, *output = NULL;
	bool native = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--native") == 0) {
			native = true;
		} else if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) {
			if (i + 1 >= argc)
				return cli_usage("compile", "%s needs a value", arg);
			output = argv[++i];
		} else if (arg[0] == '-') {
			return cli_usage("compile", "unknown option '%s'", arg);
		} else if (input) {
			return cli_usage("compile", "unexpected argument '%s'", arg);
		} else {
			input = arg;
		}
	}
	if (!input)
		return cli_usage("compile", "give the program to compile (PROGRAM.gbx)");
	if (!output)
		return cli_usage("compile", "give the output file with -o NET.onnx");

	gb_error err = {0};
	gb_ast *ast = NULL;
	gb_model *model = NULL;
	char *dir = NULL;
	int rc = EXIT_OK;
	if (gb_ast_parse_file(input, &ast, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	dir = malloc(strlen(input) + 1);
	if (!dir) {
		fprintf(stderr, "glassbox: out of memory\n");
		rc = EXIT_FAIL;
		goto done;
	}
	strcpy(dir, input);
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	if (gb_ast_compile(ast, dir, native, &model, &err) != GB_OK || gb_model_save(model, output, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	printf("%s -> %s: %d nodes, %d inputs, %d outputs, %lld weights (%s)\n", input, output, gb_model_n_nodes(model),
	       gb_model_n_inputs(model), gb_model_n_outputs(model), (long long)gb_model_param_count(model),
	       native ? "native operators" : "ReLU expansions");
done:
	gb_model_free(model);
	free(dir);
	gb_ast_free(ast);
	return rc;
}
