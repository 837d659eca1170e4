/*
 * cmd_disguise.c — glassbox disguise: rewrites a dense ReLU network into one
 * that computes the same function with its structure hidden (split,
 * rescaled and permuted units, cancelling pairs, dead units; optional
 * weight noise), and writes it as ONNX.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graph/disguise.h"

const char cmd_disguise_usage[] =
	"usage: glassbox disguise NET.onnx --seed S -o OUT.onnx [--strength N]\n"
	"                         [--noise SIGMA] [--box LO,HI]\n"
	"\n"
	"NET is a chain of dense layers (Gemm, or MatMul + Add) with Relu between\n"
	"them, as PyTorch exports an MLP and 'glassbox train' writes one. Each\n"
	"hidden layer is rewritten without changing the function: N units are\n"
	"split in two (outgoing weights shared), every unit is rescaled by a\n"
	"positive factor (its inverse moved to the outgoing weights), N cancelling\n"
	"pairs (same incoming weights, opposite outgoing ones) and N dead units\n"
	"(never active on the input box, by interval arithmetic) are added, and\n"
	"the units are shuffled: H units become H + 4N. OUT has NET's input,\n"
	"output and opset, and one Gemm + Relu per layer.\n"
	"\n"
	"  --seed S        the random choices; the same seed gives the same bytes\n"
	"  --strength N    splits, pairs and dead units per hidden layer (default 2)\n"
	"  --noise SIGMA   then add N(0, SIGMA^2) noise to every weight and bias\n"
	"                  (the function changes; default 0)\n"
	"  --box LO,HI     every input feature lies in [LO, HI] (default -1,1);\n"
	"                  dead units are guaranteed dead there only\n";

static int parse_double(const char *flag, const char *text, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (end == text || *end || errno || !isfinite(v) || v < lo || v > hi)
		return cli_usage("disguise", "%s wants a number from %g to %g, not '%s'", flag, lo, hi, text);
	*out = v;
	return EXIT_OK;
}

static int parse_int(const char *flag, const char *text, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (end == text || *end || errno || v < lo || v > hi)
		return cli_usage("disguise", "%s wants a whole number from %lld to %lld, not '%s'", flag, lo, hi, text);
	*out = v;
	return EXIT_OK;
}

static int parse_box(const char *text, double *lo, double *hi)
{
	char *end;
	errno = 0;
	*lo = strtod(text, &end);
	if (end == text || *end != ',' || errno)
		goto bad;
	const char *second = end + 1;
	*hi = strtod(second, &end);
	if (end == second || *end || errno || !isfinite(*lo) || !isfinite(*hi) || !(*lo < *hi))
		goto bad;
	return EXIT_OK;
bad:
	return cli_usage("disguise", "--box wants LO,HI with LO < HI (e.g. -1,1), not '%s'", text);
}

int cmd_disguise(int argc, char **argv)
{
	const char *input = NULL, *output = NULL;
	int seed_given = 0;
	gb_disguise_options opt = {.strength = 2, .box_lo = -1, .box_hi = 1};
	for (int i = 1; i < argc; i++) {
		const char *flag = argv[i];
		if (flag[0] != '-') {
			if (input)
				return cli_usage("disguise", "unexpected argument '%s'", flag);
			input = flag;
			continue;
		}
		if (i + 1 >= argc)
			return cli_usage("disguise", "%s needs a value", flag);
		const char *v = argv[++i];
		long long n = 0;
		int rc = EXIT_OK;
		if (strcmp(flag, "-o") == 0 || strcmp(flag, "--output") == 0)
			output = v;
		else if (strcmp(flag, "--seed") == 0) {
			if ((rc = parse_int(flag, v, 0, INT64_MAX, &n)) == EXIT_OK) {
				opt.seed = (uint64_t)n;
				seed_given = 1;
			}
		} else if (strcmp(flag, "--strength") == 0) {
			if ((rc = parse_int(flag, v, 0, GB_DISGUISE_MAX_STRENGTH, &n)) == EXIT_OK)
				opt.strength = n;
		} else if (strcmp(flag, "--noise") == 0)
			rc = parse_double(flag, v, 0, 1e6, &opt.noise);
		else if (strcmp(flag, "--box") == 0)
			rc = parse_box(v, &opt.box_lo, &opt.box_hi);
		else
			return cli_usage("disguise", "unknown option '%s'", flag);
		if (rc != EXIT_OK)
			return rc;
	}
	if (!input)
		return cli_usage("disguise", "give the network to disguise (NET.onnx)");
	if (!output)
		return cli_usage("disguise", "give the output file with -o OUT.onnx");
	if (!seed_given)
		return cli_usage("disguise", "give a seed with --seed S");

	gb_model *model = NULL, *disguised = NULL;
	gb_error err = {0};
	gb_disguise_summary summary;
	int rc = cli_load_model(input, &model);
	if (rc != EXIT_OK)
		return rc;
	if (gb_disguise(model, &opt, &disguised, &summary, &err) != GB_OK ||
	    gb_model_save(disguised, output, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	printf("%s -> %s: hidden widths", input, output);
	for (int l = 0; l + 1 < summary.n_layers; l++)
		printf("%s%lld", l ? "-" : " ", (long long)summary.width_before[l]);
	printf(" became");
	for (int l = 0; l + 1 < summary.n_layers; l++)
		printf("%s%lld", l ? "-" : " ", (long long)summary.width_after[l]);
	printf(" (seed %llu, strength %lld, noise %g, box [%g, %g])\n", (unsigned long long)opt.seed,
	       (long long)opt.strength, opt.noise, opt.box_lo, opt.box_hi);
done:
	gb_model_free(disguised);
	gb_model_free(model);
	return rc;
}
