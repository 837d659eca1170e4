/*
 * cmd_run.c — glassbox run: one forward pass over a batch, with activation
 * captures and interventions. A .gbx program instead of a model runs in the
 * language's interpreter (run_program). Also holds the intervention flags
 * shared with grad (cli_hook_arg, cli_hooks_apply).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lang/lang.h"

/* ---- interventions on the command line ------------------------------------------ */

static const struct {
	const char *flag;
	gb_intervention kind;
	int takes_value; /* 0: none, 1: a number, 2: a file */
} hook_flags[] = {
	{"--ablate", GB_INTERVENE_ZERO, 0},
	{"--scale", GB_INTERVENE_SCALE, 1},
	{"--set", GB_INTERVENE_SET, 1},
	{"--patch", GB_INTERVENE_PATCH, 2},
};

int cli_hook_arg(const char *cmd, int argc, char **argv, int *i, cli_hooks *hooks)
{
	int f = -1;
	for (int j = 0; j < (int)(sizeof hook_flags / sizeof hook_flags[0]); j++)
		if (strcmp(argv[*i], hook_flags[j].flag) == 0)
			f = j;
	if (f < 0)
		return 0;
	const char *flag = hook_flags[f].flag;
	if (*i + 1 >= argc)
		return cli_usage(cmd, "%s needs NODE:UNITS%s", flag, hook_flags[f].takes_value ? "=VALUE" : ""), -1;
	if (hooks->n == (int)(sizeof hooks->items / sizeof hooks->items[0]))
		return cli_usage(cmd, "too many interventions"), -1;
	char *spec = argv[++*i];
	/* NODE:UNITS[=VALUE]; node names may contain ':' so split at the last one. */
	char *colon = strrchr(spec, ':');
	if (!colon || colon == spec)
		return cli_usage(cmd, "%s '%s': expected NODE:UNITS", flag, spec), -1;
	struct cli_hook *h = &hooks->items[hooks->n];
	memset(h, 0, sizeof *h);
	h->flag = flag;
	h->kind = hook_flags[f].kind;
	char *value = NULL;
	if (hook_flags[f].takes_value) {
		value = strchr(colon, '=');
		if (!value)
			return cli_usage(cmd, "%s '%s': expected NODE:UNITS=%s", flag, spec,
			                 hook_flags[f].takes_value == 2 ? "FILE.npy" : "NUMBER"), -1;
		*value++ = '\0';
		if (hook_flags[f].takes_value == 1) {
			char *end;
			errno = 0;
			h->amount = strtof(value, &end);
			if (end == value || *end || errno)
				return cli_usage(cmd, "%s: '%s' is not a number", flag, value), -1;
		} else {
			h->file = value;
		}
	}
	if (cli_parse_units(colon + 1, &h->units, &h->n_units) != 0)
		return cli_usage(cmd, "%s: bad unit list '%s' (use e.g. 3 or 0,5,7-9 or all)", flag, colon + 1), -1;
	size_t len = (size_t)(colon - spec);
	h->node = malloc(len + 1);
	if (!h->node) {
		free(h->units);
		fprintf(stderr, "glassbox: out of memory\n");
		return -1;
	}
	memcpy(h->node, spec, len);
	h->node[len] = '\0';
	hooks->n++;
	return 1;
}

int cli_hooks_apply(const cli_hooks *hooks, gb_session *s)
{
	gb_error err = {0};
	for (int i = 0; i < hooks->n; i++) {
		const struct cli_hook *h = &hooks->items[i];
		gb_tensor *source = NULL;
		if (h->file && gb_npy_load(h->file, &source, &err) != GB_OK)
			return cli_fail(&err);
		gb_status st =
			gb_session_intervene(s, h->node, h->kind, h->units, h->n_units, h->amount, source, &err);
		gb_tensor_free(source);
		if (st != GB_OK)
			return cli_fail(&err);
	}
	return EXIT_OK;
}

void cli_hooks_free(cli_hooks *hooks)
{
	for (int i = 0; i < hooks->n; i++) {
		free(hooks->items[i].node);
		free(hooks->items[i].units);
	}
	hooks->n = 0;
}

/* ---- run ------------------------------------------------------------------------------ */

#define MAX_ARGS 64

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A .gbx program: inputs as FILE (the first input) or NAME=FILE, the first
 * declared output to output, captures of top-level names as NAME=FILE. */
static int run_program(const char *path, int n_specs, char **specs, const char *output, int n_captures,
                       char **captures)
{
	gb_error err = {0};
	gb_ast *ast = NULL;
	gb_tensor *inputs[MAX_ARGS] = {0};
	gb_tensor_map *outs = NULL, *caps = NULL;
	const char *cap_names[MAX_ARGS];
	char *dir = NULL;
	int rc = EXIT_OK, n_split = 0;

	if (gb_ast_parse_file(path, &ast, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	int n_in = gb_ast_input_count(ast);
	if (n_in > MAX_ARGS) {
		rc = cli_usage("run", "the program has more than %d inputs", MAX_ARGS);
		goto done;
	}
	for (int i = 0; i < n_specs; i++) {
		char *eq = strchr(specs[i], '=');
		int index = 0;
		const char *file = specs[i];
		if (eq) {
			*eq = '\0';
			index = -1;
			for (int k = 0; k < n_in && index < 0; k++)
				if (strcmp(gb_ast_input(ast, k)->u.decl.name, specs[i]) == 0)
					index = k;
			if (index < 0) {
				rc = cli_usage("run", "the program has no input '%s'", specs[i]);
				*eq = '=';
				goto done;
			}
			*eq = '=';
			file = eq + 1;
		} else if (n_specs > 1) {
			rc = cli_usage("run", "with %d inputs given, name each one: --input NAME=FILE.npy", n_specs);
			goto done;
		}
		if (index >= n_in) {
			rc = cli_usage("run", "the program declares no input");
			goto done;
		}
		if (inputs[index]) {
			rc = cli_usage("run", "input '%s' is given twice", gb_ast_input(ast, index)->u.decl.name);
			goto done;
		}
		if (gb_npy_load(file, &inputs[index], &err) != GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
	}
	for (int k = 0; k < n_in; k++)
		if (!inputs[k]) {
			rc = cli_usage("run", "the program has %d inputs; give each with --input NAME=FILE.npy (missing '%s')",
			               n_in, gb_ast_input(ast, k)->u.decl.name);
			goto done;
		}
	for (int c = 0; c < n_captures; c++) {
		char *eq = strrchr(captures[c], '=');
		*eq = '\0';
		cap_names[c] = captures[c];
		n_split++;
	}
	dir = gb_strdup(path);
	if (!dir) {
		fprintf(stderr, "glassbox: out of memory\n");
		rc = EXIT_FAIL;
		goto done;
	}
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	if (gb_tensor_map_new(&outs, &err) != GB_OK || gb_tensor_map_new(&caps, &err) != GB_OK ||
	    gb_ast_run(ast, dir, (const gb_tensor *const *)inputs, n_in, outs, cap_names, n_captures, caps, &err) !=
	        GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	if (gb_tensor_map_count(outs) < 1) {
		fprintf(stderr, "glassbox: %s declares no output\n", path);
		rc = EXIT_BADFILE;
		goto done;
	}
	/* Everything computed: now write the files (each one atomically). */
	if (gb_npy_save(output, gb_tensor_map_at(outs, 0), &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	for (int c = 0; c < n_captures; c++)
		if (gb_npy_save(captures[c] + strlen(captures[c]) + 1, gb_tensor_map_get(caps, cap_names[c]), &err) !=
		    GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
done:
	for (int c = 0; c < n_split; c++) /* restore NAME=FILE */
		captures[c][strlen(captures[c])] = '=';
	for (int k = 0; k < MAX_ARGS; k++)
		gb_tensor_free(inputs[k]);
	gb_tensor_map_free(outs);
	gb_tensor_map_free(caps);
	free(dir);
	gb_ast_free(ast);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	const char *model_path = NULL, *output = NULL;
	char *inputs[MAX_ARGS], *captures[MAX_ARGS];
	int n_inputs = 0, n_captures = 0, rc = EXIT_OK;
	cli_hooks hooks = {0};
	gb_model *m = NULL;
	gb_session *s = NULL;
	gb_tensor_map *cache = NULL;
	gb_error err = {0};

	for (int i = 1; i < argc; i++) {
		int hook = cli_hook_arg("run", argc, argv, &i, &hooks);
		if (hook < 0) {
			rc = EXIT_USAGE;
			goto done;
		}
		if (hook)
			continue;
		if ((strcmp(argv[i], "--input") == 0 || strcmp(argv[i], "--capture") == 0 ||
		     strcmp(argv[i], "--output") == 0) && i + 1 >= argc) {
			rc = cli_usage("run", "%s needs a value", argv[i]);
			goto done;
		}
		if (strcmp(argv[i], "--input") == 0) {
			if (n_inputs == MAX_ARGS) {
				rc = cli_usage("run", "too many inputs");
				goto done;
			}
			inputs[n_inputs++] = argv[++i];
		} else if (strcmp(argv[i], "--capture") == 0) {
			if (n_captures == MAX_ARGS) {
				rc = cli_usage("run", "too many captures");
				goto done;
			}
			captures[n_captures] = argv[++i];
			if (!strchr(captures[n_captures], '=')) {
				rc = cli_usage("run", "--capture '%s': expected NODE=FILE.npy", captures[n_captures]);
				goto done;
			}
			n_captures++;
		} else if (strcmp(argv[i], "--output") == 0) {
			output = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			rc = cli_usage("run", "unknown option '%s'", argv[i]);
			goto done;
		} else if (model_path) {
			rc = cli_usage("run", "takes one model, got '%s' and '%s'", model_path, argv[i]);
			goto done;
		} else {
			model_path = argv[i];
		}
	}
	if (!model_path || !n_inputs || !output) {
		rc = cli_usage("run", "needs MODEL, --input X.npy and --output Y.npy");
		goto done;
	}
	if (ends_with(model_path, ".gbx")) {
		if (hooks.n) {
			rc = cli_usage("run", "%s: interventions apply to models, not to .gbx programs", hooks.items[0].flag);
			goto done;
		}
		rc = run_program(model_path, n_inputs, inputs, output, n_captures, captures);
		goto done;
	}
	if ((rc = cli_load_model(model_path, &m)) != EXIT_OK)
		goto done;
	if (gb_session_new(m, &s, &err) != GB_OK || gb_tensor_map_new(&cache, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	if ((rc = cli_set_inputs(s, m, n_inputs, inputs)) != EXIT_OK)
		goto done;
	if ((rc = cli_hooks_apply(&hooks, s)) != EXIT_OK)
		goto done;
	for (int c = 0; c < n_captures; c++) {
		char *eq = strrchr(captures[c], '=');
		*eq = '\0';
		gb_status st = gb_session_capture(s, captures[c], cache, &err);
		*eq = '=';
		if (st != GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
	}
	if (gb_session_forward(s, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	/* Everything computed: now write the files (each one atomically). */
	if (gb_npy_save(output, gb_session_output(s, 0), &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	for (int c = 0; c < n_captures; c++) {
		char *eq = strrchr(captures[c], '=');
		*eq = '\0';
		const char *name = gb_session_resolve(s, captures[c]);
		*eq = '=';
		if (gb_npy_save(eq + 1, gb_tensor_map_get(cache, name), &err) != GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
	}
done:
	cli_hooks_free(&hooks);
	gb_tensor_map_free(cache);
	gb_session_free(s);
	gb_model_free(m);
	return rc;
}
