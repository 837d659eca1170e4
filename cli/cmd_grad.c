/*
 * cmd_grad.c — glassbox grad: a vector-Jacobian product through the model,
 * G = d(sum(R ⊙ Y)) / dX for the first output Y.
 */
#include <string.h>

#include "cli.h"

int cmd_grad(int argc, char **argv)
{
	const char *model_path = NULL, *input = NULL, *cotangent = NULL, *output = NULL, *wrt = NULL;
	cli_hooks hooks = {0};
	gb_model *m = NULL;
	gb_session *s = NULL;
	gb_tensor *r = NULL, *zeros = NULL;
	gb_error err = {0};
	int rc = EXIT_OK;

	for (int i = 1; i < argc; i++) {
		int hook = cli_hook_arg("grad", argc, argv, &i, &hooks);
		if (hook < 0) {
			rc = EXIT_USAGE;
			goto done;
		}
		if (hook)
			continue;
		const char **slot = NULL;
		if (strcmp(argv[i], "--input") == 0)
			slot = &input;
		else if (strcmp(argv[i], "--cotangent") == 0)
			slot = &cotangent;
		else if (strcmp(argv[i], "--output") == 0)
			slot = &output;
		else if (strcmp(argv[i], "--wrt") == 0)
			slot = &wrt;
		if (slot) {
			if (i + 1 >= argc) {
				rc = cli_usage("grad", "%s needs a value", argv[i]);
				goto done;
			}
			*slot = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			rc = cli_usage("grad", "unknown option '%s'", argv[i]);
			goto done;
		} else if (model_path) {
			rc = cli_usage("grad", "takes one model, got '%s' and '%s'", model_path, argv[i]);
			goto done;
		} else {
			model_path = argv[i];
		}
	}
	if (!model_path || !input || !cotangent || !output) {
		rc = cli_usage("grad", "needs MODEL, --input X.npy, --cotangent R.npy and --output G.npy");
		goto done;
	}
	if ((rc = cli_load_model(model_path, &m)) != EXIT_OK)
		goto done;
	if (gb_session_new(m, &s, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	if ((rc = cli_set_inputs(s, m, 1, (char **)&input)) != EXIT_OK)
		goto done;
	if ((rc = cli_hooks_apply(&hooks, s)) != EXIT_OK)
		goto done;
	if (gb_npy_load(cotangent, &r, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	if (gb_session_forward(s, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	/* Seed only the first output; the others contribute nothing. */
	const gb_tensor *seeds[64] = {r};
	if (gb_model_n_outputs(m) > 64) {
		fprintf(stderr, "glassbox: %s: more than 64 outputs\n", model_path);
		rc = EXIT_BADFILE;
		goto done;
	}
	if (gb_session_backward(s, seeds, &err) != GB_OK) {
		rc = err.status == GB_STATUS_BAD_FILE ? cli_fail_file(cotangent, &err) : cli_fail(&err);
		goto done;
	}
	const gb_tensor *g;
	const gb_tensor *like; /* the value the gradient is for */
	if (wrt) {
		g = gb_session_grad(s, wrt);
		like = gb_session_value(s, wrt); /* inputs, intermediates and weights alike */
		if (!like) {
			rc = cli_usage("grad", "--wrt '%s': no input, node, value or weight of that name in %s", wrt, model_path);
			goto done;
		}
	} else {
		g = gb_session_input_grad(s, 0);
		gb_value_info info;
		gb_model_input(m, 0, &info);
		like = gb_session_value(s, info.name);
	}
	if (!g) {
		/* No path from the value to the output: the gradient is exactly zero. */
		if (like->dtype != GB_DTYPE_F32) {
			fprintf(stderr, "glassbox: %s is %s; gradients exist only for float32 values\n", wrt ? wrt : "the input",
			        gb_dtype_name(like->dtype));
			rc = EXIT_USAGE;
			goto done;
		}
		if (gb_tensor_new(GB_DTYPE_F32, like->ndim, like->dims, &zeros, &err) != GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
		g = zeros;
	}
	if (gb_npy_save(output, g, &err) != GB_OK)
		rc = cli_fail(&err);
done:
	cli_hooks_free(&hooks);
	gb_tensor_free(r);
	gb_tensor_free(zeros);
	gb_session_free(s);
	gb_model_free(m);
	return rc;
}
