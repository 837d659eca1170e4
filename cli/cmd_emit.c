/*
 * cmd_emit.c — glassbox emit: a model (or a compiled program) as one
 * standalone C file or one NumPy module that computes the same function.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/core.h"
#include "emit/emit.h"
#include "lang/lang.h"

const char cmd_emit_usage[] =
	"usage: glassbox emit MODEL.onnx|PROGRAM.gbx (--c | --numpy) [-o FILE] [--name FUNC]\n"
	"\n"
	"Translates the model's graph into source code with no dependency on\n"
	"glassbox (a .gbx program is first compiled with ONNX's native operators,\n"
	"as 'glassbox compile --native' does): --c writes one C11 file (the C\n"
	"standard library and <math.h> only) with the weights as static const\n"
	"arrays and one function\n"
	"\n"
	"    int FUNC(int64_t n, const float *in0, ..., float *out0, ...)\n"
	"\n"
	"(n is the batch size; the comment at the top of the file lists every\n"
	"parameter's name, dtype and shape); --numpy writes one Python module\n"
	"(NumPy only) with the weights embedded exactly and 'def FUNC(*inputs)'\n"
	"returning the outputs. Both compute in float32 with the engine's formulas.\n"
	"Every shape must be static except the leading (batch) axis of the inputs;\n"
	"shape arithmetic (Shape, Gather, Concat feeding a Reshape) and anything\n"
	"else that does not depend on the inputs is folded into constants. An op the\n"
	"emitters do not translate is an error naming the op and the node.\n"
	"\n"
	"  --c          emit C\n"
	"  --numpy      emit a NumPy module\n"
	"  -o FILE      write to FILE (atomically: nothing is written on error);\n"
	"               default: standard output\n"
	"  --name FUNC  the function's name (default: 'model')\n";

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Parses and compiles a .gbx program (native operators); 0 or an exit code. */
static int compile_program(const char *path, gb_model **model)
{
	gb_error err = {0};
	gb_ast *ast = NULL;
	int rc = EXIT_OK;
	char *dir = gb_strdup(path);
	if (!dir) {
		gb_fail(&err, GB_STATUS_NOMEM, "out of memory");
		return cli_fail(&err);
	}
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	if (gb_ast_parse_file(path, &ast, &err) != GB_OK || gb_ast_compile(ast, dir, true, model, &err) != GB_OK)
		rc = cli_fail(&err);
	gb_ast_free(ast);
	free(dir);
	return rc;
}

int cmd_emit(int argc, char **argv)
{
	const char *input = NULL, *output = NULL, *name = "model";
	int lang = 0; /* 'c' or 'n' */
	for (int i = 1; i < argc; i++) {
		const char *flag = argv[i];
		if (flag[0] != '-' || strcmp(flag, "-") == 0) {
			if (input)
				return cli_usage("emit", "unexpected argument '%s'", flag);
			input = flag;
			continue;
		}
		if (strcmp(flag, "--c") == 0 || strcmp(flag, "--numpy") == 0) {
			int want = flag[2] == 'c' ? 'c' : 'n';
			if (lang && lang != want)
				return cli_usage("emit", "give one of --c and --numpy");
			lang = want;
			continue;
		}
		if (strcmp(flag, "-o") != 0 && strcmp(flag, "--output") != 0 && strcmp(flag, "--name") != 0)
			return cli_usage("emit", "unknown option '%s'", flag);
		if (i + 1 >= argc)
			return cli_usage("emit", "%s needs a value", flag);
		if (strcmp(flag, "--name") == 0)
			name = argv[++i];
		else
			output = argv[++i];
	}
	if (!input)
		return cli_usage("emit", "give the model to emit (MODEL.onnx)");
	if (!lang)
		return cli_usage("emit", "give the language: --c or --numpy");
	int ident = name[0] != '\0' && !(name[0] >= '0' && name[0] <= '9');
	for (const char *c = name; *c && ident; c++)
		ident = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_';
	if (!ident)
		return cli_usage("emit", "--name wants an identifier (letters, digits, '_'), not '%s'", name);
	gb_model *model = NULL;
	gb_error err = {0};
	char *text = NULL;
	int rc = EXIT_OK;
	if (ends_with(input, ".gbx")) {
		rc = compile_program(input, &model);
	} else {
		rc = cli_load_model(input, &model);
	}
	if (rc != EXIT_OK)
		return rc;
	gb_status st = lang == 'c' ? gb_emit_c(model, name, &text, &err) : gb_emit_numpy(model, name, &text, &err);
	if (st != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	if (!output) {
		size_t len = strlen(text);
		if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
			gb_fail(&err, GB_STATUS_IO, "writing to standard output failed");
			rc = cli_fail(&err);
		}
		goto done;
	}
	if (gb_file_write_text(output, text, &err) != GB_OK)
		rc = cli_fail(&err);
done:
	free(text);
	gb_model_free(model);
	return rc;
}
