/*
 * cmd_decompile.c — glassbox decompile: a network in, a faithful readable
 * program out (with its side-car weights and a JSON summary), checked
 * against the network on the domain before anything is written.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/core.h"
#include "decompile/decompile.h"

const char cmd_decompile_usage[] =
	"usage: glassbox decompile MODEL.onnx --domain DOMAIN [--data X.npy]\n"
	"                          [--tolerance EPS] [-o PROGRAM.gbx] [--json SUMMARY.json]\n"
	"                          [--agreement A] [--compress on|off] [--figures DIR] [--samples N] [--seed S]\n"
	"                          [--retrain TRAIN.npz --test TEST.npz [--keep F] [--rounds R] [--epochs E]]\n"
	"\n"
	"Writes a program in the glassbox language (docs/language.md) that computes\n"
	"what MODEL computes on DOMAIN, and checks it: the program runs on the\n"
	"interpreter against the network on the engine, exhaustively on Boolean\n"
	"domains up to 2^20 points, else on N random points plus the box corners,\n"
	"points at every first-layer unit's kink and the --data points. Its first\n"
	"lines state the result. A program further than EPS from the network is\n"
	"not written: the command says so and exits 1. Weights are pruned and\n"
	"rounded while the program stays within half of EPS on the points (the\n"
	"final check uses fresh ones).\n"
	"\n"
	"MODEL may use linear operators (Gemm, MatMul, Conv, Add, pooling by\n"
	"averages, batch norm, shape operators, ...) and piecewise-linear ones\n"
	"(Relu, LeakyRelu, PRelu, Abs, Max, Min, Clip, MaxPool); others are refused.\n"
	"\n"
	"  --domain D       box:LO,HI (every input in [LO, HI]), bool (inputs 0 or 1)\n"
	"                   or data (the points of --data)\n"
	"  --data X.npy     points [N, ...input shape], float32\n"
	"  --tolerance EPS  largest |program - network| allowed (default 1e-4)\n"
	"  -o PROGRAM.gbx   where to write the program (default: standard output);\n"
	"                   weights too large to write inline go next to it, in\n"
	"                   PROGRAM.safetensors (then -o is required)\n"
	"  --agreement A    for classifiers: faithful means the argmax of the first\n"
	"                   output agrees with the network's on a fraction A of the\n"
	"                   points (e.g. 0.99 on --domain data), instead of EPS\n"
	"  --compress on|off  prune weights and round them to fewer bits while the\n"
	"                   program stays faithful (default on)\n"
	"  --json FILE      the summary: fidelity, sizes, primitives, structure\n"
	"  --retrain TRAIN.npz  for classifiers (x, y class labels): prune the network\n"
	"                   by magnitude to a fraction F of its weights (default 0.08)\n"
	"                   in R steps (default 5), fine-tuning E epochs after each\n"
	"                   (default 3) with pruned weights held at zero; then\n"
	"                   decompile the result, which is written next to the\n"
	"                   program as PROGRAM.onnx: the program is faithful to it.\n"
	"                   Needs -o and --test TEST.npz (accuracy before and after;\n"
	"                   its x is the domain for --domain data without --data)\n"
	"  --figures DIR    image models written as layers: every first-layer unit's\n"
	"                   input weights as a PNG in DIR (an existing folder),\n"
	"                   named in a comment beside the layer with the three\n"
	"                   --data points that drive the unit hardest\n"
	"  --samples N      random points for a sampled check (default 10000)\n"
	"  --seed S         seed of the random points (default 0)\n";

static int parse_num(const char *flag, const char *text, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (end == text || *end || errno || !isfinite(v) || v < lo || v > hi)
		return cli_usage("decompile", "%s wants a number from %g to %g, not '%s'", flag, lo, hi, text);
	*out = v;
	return EXIT_OK;
}

/* PROGRAM.gbx -> PROGRAM.safetensors (base name only, for the program's weights line). */
static char *sidecar_name(const char *program, char **full)
{
	const char *base = strrchr(program, '/') ? strrchr(program, '/') + 1 : program;
	size_t stem = strlen(base);
	if (stem > 4 && strcmp(base + stem - 4, ".gbx") == 0)
		stem -= 4;
	size_t dir = (size_t)(base - program);
	char *name = malloc(stem + 13);
	*full = malloc(dir + stem + 13);
	if (!name || !*full) {
		free(name);
		free(*full);
		*full = NULL;
		return NULL;
	}
	snprintf(name, stem + 13, "%.*s.safetensors", (int)stem, base);
	snprintf(*full, dir + stem + 13, "%.*s%s", (int)dir, program, name);
	return name;
}

/* x and y of a .npz data set (borrowed from *map, which the caller frees). */
static int load_xy(const char *path, gb_tensor_map **map, const gb_tensor **x, const gb_tensor **y)
{
	gb_error err = {0};
	if (gb_npz_load(path, map, &err) != GB_OK)
		return cli_fail(&err);
	*x = gb_tensor_map_get(*map, "x");
	*y = gb_tensor_map_get(*map, "y");
	if (!*x || !*y) {
		gb_fail(&err, GB_STATUS_BAD_FILE, "%s: a data set needs arrays x and y", path);
		return cli_fail(&err);
	}
	return EXIT_OK;
}

int cmd_decompile(int argc, char **argv)
{
	const char *model_path = NULL, *output = NULL, *json_path = NULL, *data_path = NULL, *domain = NULL;
	const char *train_path = NULL, *test_path = NULL;
	gb_decompile_options opt = {.tolerance = 1e-4, .samples = 10000};
	gb_retrain_options ro = {.keep = 0.08, .rounds = 5, .epochs = 3};
	for (int i = 1; i < argc; i++) {
		const char *flag = argv[i];
		if (flag[0] != '-') {
			if (model_path)
				return cli_usage("decompile", "unexpected argument '%s'", flag);
			model_path = flag;
			continue;
		}
		if (i + 1 >= argc)
			return cli_usage("decompile", "%s needs a value", flag);
		const char *v = argv[++i];
		double num = 0;
		int rc = EXIT_OK;
		if (strcmp(flag, "-o") == 0 || strcmp(flag, "--output") == 0)
			output = v;
		else if (strcmp(flag, "--json") == 0)
			json_path = v;
		else if (strcmp(flag, "--data") == 0)
			data_path = v;
		else if (strcmp(flag, "--domain") == 0)
			domain = v;
		else if (strcmp(flag, "--figures") == 0)
			opt.figures_dir = v;
		else if (strcmp(flag, "--retrain") == 0)
			train_path = v;
		else if (strcmp(flag, "--test") == 0)
			test_path = v;
		else if (strcmp(flag, "--keep") == 0)
			rc = parse_num(flag, v, 1e-6, 1, &ro.keep);
		else if (strcmp(flag, "--rounds") == 0) {
			if ((rc = parse_num(flag, v, 1, 100, &num)) == EXIT_OK)
				ro.rounds = (int)num;
		} else if (strcmp(flag, "--epochs") == 0) {
			if ((rc = parse_num(flag, v, 0, 1000, &num)) == EXIT_OK)
				ro.epochs = (int)num;
		} else if (strcmp(flag, "--agreement") == 0)
			rc = parse_num(flag, v, 1e-9, 1, &opt.agreement);
		else if (strcmp(flag, "--compress") == 0) {
			if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0)
				opt.no_compress = strcmp(v, "off") == 0;
			else
				return cli_usage("decompile", "--compress wants on or off, not '%s'", v);
		} else if (strcmp(flag, "--tolerance") == 0)
			rc = parse_num(flag, v, 0, 1e30, &opt.tolerance);
		else if (strcmp(flag, "--samples") == 0) {
			if ((rc = parse_num(flag, v, 1, 1e8, &num)) == EXIT_OK)
				opt.samples = (int64_t)num;
		} else if (strcmp(flag, "--seed") == 0) {
			if ((rc = parse_num(flag, v, 0, 9e15, &num)) == EXIT_OK)
				opt.seed = (uint64_t)num;
		} else
			return cli_usage("decompile", "unknown option '%s'", flag);
		if (rc != EXIT_OK)
			return rc;
	}
	if (!model_path)
		return cli_usage("decompile", "give the network to decompile (MODEL.onnx)");
	if (!domain)
		return cli_usage("decompile", "give the input domain with --domain box:LO,HI, bool or data");
	gb_error err = {0};
	if (gb_domain_parse(domain, &opt.domain, &err) != GB_OK)
		return cli_usage("decompile", "%s", err.msg);
	if (train_path && (!test_path || !output))
		return cli_usage("decompile", "--retrain needs --test TEST.npz and -o PROGRAM.gbx");
	if (opt.domain.kind == GB_DOMAIN_DATA && !data_path && !train_path)
		return cli_usage("decompile", "--domain data needs --data X.npy");

	gb_model *model = NULL, *retrained = NULL;
	gb_tensor *data = NULL;
	gb_tensor_map *train = NULL, *test = NULL;
	gb_decompile_result res = {0};
	gb_retrain_result rr = {0};
	char *json = NULL, *side_full = NULL, *side_name = NULL, *net_path = NULL;
	char note[512];
	int rc = cli_load_model(model_path, &model);
	if (rc != EXIT_OK)
		return rc;
	if (data_path && gb_npy_load(data_path, &data, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	opt.domain.data = data;
	opt.label = model_path;
	if (train_path) {
		if ((rc = load_xy(train_path, &train, &ro.train_x, &ro.train_y)) != EXIT_OK ||
		    (rc = load_xy(test_path, &test, &ro.test_x, &ro.test_y)) != EXIT_OK)
			goto done;
		ro.train_label = train_path;
		ro.test_label = test_path;
		ro.seed = opt.seed;
		if (gb_dc_retrain(model, &ro, &retrained, &rr, &err) != GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
		size_t len = strlen(output);
		net_path = malloc(len + 6);
		if (!net_path) {
			gb_fail(&err, GB_STATUS_NOMEM, "out of memory");
			rc = cli_fail(&err);
			goto done;
		}
		snprintf(net_path, len + 6, "%.*s.onnx",
		         (int)(len > 4 && strcmp(output + len - 4, ".gbx") == 0 ? len - 4 : len), output);
		struct stat a, b2;
		if (strcmp(net_path, model_path) == 0 ||
		    (stat(net_path, &a) == 0 && stat(model_path, &b2) == 0 && a.st_ino == b2.st_ino && a.st_dev == b2.st_dev)) {
			rc = cli_usage("decompile", "the retrained network would go to %s, over the network given; choose another -o",
			               net_path);
			goto done;
		}
		const char *net_base = strrchr(net_path, '/') ? strrchr(net_path, '/') + 1 : net_path;
		snprintf(note, sizeof note,
		         "retrained: %lld of %lld weights kept, test accuracy %.2f%% (the original's %.2f%%); "
		         "this program is faithful to %s",
		         (long long)rr.weights_after, (long long)rr.weights_before, 100.0 * rr.acc_after,
		         100.0 * rr.acc_before, net_base);
		opt.note = note;
		opt.retrain = &rr;
		opt.retrained_model = net_path;
		opt.label = net_path;
		if (!data_path)
			opt.domain.data = ro.test_x;
	}
	if (output) {
		side_name = sidecar_name(output, &side_full);
		if (!side_name) {
			gb_fail(&err, GB_STATUS_NOMEM, "out of memory");
			rc = cli_fail(&err);
			goto done;
		}
		opt.weights_file = side_name;
	}
	if (opt.figures_dir && output) { /* name the figures relative to the program's folder when inside it */
		const char *slash = strrchr(output, '/');
		size_t dl = slash ? (size_t)(slash - output) + 1 : 0;
		opt.figures_ref = opt.figures_dir;
		if (dl > 0 && strncmp(opt.figures_dir, output, dl) == 0)
			opt.figures_ref = opt.figures_dir + dl;
	}
	gb_status st = gb_decompile(retrained ? retrained : model, &opt, &res, &err);
	if (st != GB_OK) {
		if (data_path && st == GB_STATUS_BAD_FILE)
			rc = cli_fail_file(data_path, &err);
		else if (strstr(err.msg, model_path) == err.msg)
			rc = cli_fail(&err); /* the message names the model already */
		else
			rc = cli_fail_file(model_path, &err);
		goto done;
	}
	if (json_path && (gb_decompile_summary_json(&res, &opt, &json, &err) != GB_OK ||
	                  gb_file_write_text(json_path, json, &err) != GB_OK)) {
		rc = cli_fail(&err);
		goto done;
	}
	if (!res.faithful) {
		fprintf(stderr,
		        "glassbox: %s: NOT FAITHFUL: the program differs from the network by up to %g (tolerance %g), "
		        "argmax agreement %.4f, on %lld points; no program written\n",
		        model_path, res.fidelity.max_abs_error, opt.tolerance, res.fidelity.argmax_agreement,
		        (long long)res.fidelity.samples);
		rc = EXIT_FAIL;
		goto done;
	}
	if (!output && gb_tensor_map_count(res.weights) > 0) {
		rc = cli_usage("decompile", "the program keeps %d weight tensors in a side-car file; give -o PROGRAM.gbx to write both",
		               gb_tensor_map_count(res.weights));
		goto done;
	}
	if (output) {
		if (gb_tensor_map_count(res.weights) > 0 && gb_safetensors_save(side_full, res.weights, &err) != GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
		if (retrained && gb_model_save(retrained, net_path, &err) != GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
		if (gb_file_write_text(output, res.program, &err) != GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
		if (retrained)
			fprintf(stderr, "%s: retrained network, %lld of %lld weights, test accuracy %.2f%% (was %.2f%%)\n",
			        net_path, (long long)rr.weights_after, (long long)rr.weights_before, 100.0 * rr.acc_after,
			        100.0 * rr.acc_before);
		bool certified = strcmp(res.fidelity.method, "certified") == 0;
		fprintf(stderr, "%s -> %s: %s, %lld ops, faithful (max |error| %g over %lld %s points", model_path, output,
		        res.form, (long long)res.program_ops, res.fidelity.max_abs_error, (long long)res.fidelity.samples,
		        certified ? "checked" : res.fidelity.method);
		if (certified)
			fprintf(stderr, "; at most %g everywhere on the box, certified", res.fidelity.certified_bound);
		fputs(")\n", stderr);
	} else {
		fputs(res.program, stdout);
	}
done:
	free(json);
	free(side_full);
	free(side_name);
	free(net_path);
	gb_model_free(retrained);
	gb_tensor_map_free(train);
	gb_tensor_map_free(test);
	gb_decompile_result_free(&res);
	gb_tensor_free(data);
	gb_model_free(model);
	return rc;
}
