/*
 * test_decompile.c — the decompiler's stages: lowering agrees with the
 * engine, canonicalisation undoes disguise and keeps the function, lifting
 * finds max/min/abs/clamp/step/relu, and the pipeline's check can fail.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "decompile/decompile.h"
#include "graph/disguise.h"
#include "testutil.h"

#define FIXTURES "tests/fixtures/torch/"

static gb_model *load(const char *path)
{
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_model_load(path, &m, &err), GB_OK, "%s", err.msg);
	return m;
}

/* Largest |pwl(x) - network(x)| over the rows of x (one input). */
static double lowering_error(gb_model *m, const gb_pwl *p, const gb_tensor *x)
{
	gb_error err = {0};
	gb_session *s = NULL;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	const gb_tensor *y = gb_session_output(s, 0);
	int64_t n = x->dims[0];
	double *py = malloc((size_t)(n * p->n_out) * sizeof *py);
	cr_assert_eq(gb_pwl_eval(p, n, x->data, py, NULL, false, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_tensor_numel(y), n * p->n_out);
	double worst = 0;
	for (int64_t i = 0; i < n * p->n_out; i++)
		worst = fmax(worst, fabs(py[i] - ((const float *)y->data)[i]) / fmax(1.0, fabs(py[i])));
	free(py);
	gb_session_free(s);
	return worst;
}

static gb_tensor *random_input(const gb_pwl *p, int64_t n, float lo, float hi, uint64_t seed)
{
	int64_t dims[GB_MAX_DIMS + 1] = {n};
	for (int a = 0; a < p->inputs[0].ndim; a++)
		dims[a + 1] = p->inputs[0].dims[a];
	return tu_random(p->inputs[0].ndim + 1, dims, lo, hi, seed);
}

Test(lower, agrees_with_the_engine_on_pytorch_networks)
{
	/* Conv, BatchNorm, Relu, MaxPool, Pad, AveragePool, Flatten, Gemm;
	 * Conv1d and GlobalAveragePool; Gemm/Relu chains */
	const char *cases[] = {FIXTURES "cnn/model.onnx", FIXTURES "cnn_folded/model.onnx", FIXTURES "conv1d/model.onnx",
	                       "examples/max3.onnx"};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		gb_model *m = load(cases[c]);
		gb_pwl *p = NULL;
		gb_error err = {0};
		cr_assert_eq(gb_pwl_lower(m, &p, &err), GB_OK, "%s: %s", cases[c], err.msg);
		cr_assert_gt(p->n_units, 0, "%s", cases[c]);
		gb_tensor *x = random_input(p, 16, -2.0f, 2.0f, 7 + c);
		double e = lowering_error(m, p, x);
		cr_expect_lt(e, 1e-5, "%s: lowered DAG differs from the engine by %g", cases[c], e);
		gb_tensor_free(x);
		gb_pwl_free(p);
		gb_model_free(m);
	}
}

Test(lower, refuses_what_is_not_piecewise_linear)
{
	const char *cases[][2] = {{FIXTURES "mlp_gelu_ln/model.onnx", "not piecewise linear"},
	                          {FIXTURES "attention/model.onnx", "depends on the network input"}};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		gb_model *m = load(cases[c][0]);
		gb_pwl *p = NULL;
		gb_error err = {0};
		cr_expect_eq(gb_pwl_lower(m, &p, &err), GB_STATUS_UNSUPPORTED, "%s", cases[c][0]);
		cr_expect_null(p);
		cr_expect(strstr(err.msg, cases[c][1]) != NULL, "%s: message '%s' should say '%s'", cases[c][0], err.msg,
		          cases[c][1]);
		cr_expect(strstr(err.msg, "node") != NULL, "the message names the node: %s", err.msg);
		gb_model_free(m);
	}
}

/* Max |a(x) - b(x)| over n points of the box. */
static double pwl_distance(const gb_pwl *a, const gb_pwl *b, double lo, double hi, uint64_t seed)
{
	int64_t n = 2000;
	gb_tensor *x = random_input(a, n, (float)lo, (float)hi, seed);
	double *ya = malloc((size_t)(n * a->n_out) * sizeof *ya), *yb = malloc((size_t)(n * a->n_out) * sizeof *yb);
	gb_error err = {0};
	cr_assert_eq(gb_pwl_eval(a, n, x->data, ya, NULL, false, &err), GB_OK);
	cr_assert_eq(gb_pwl_eval(b, n, x->data, yb, NULL, false, &err), GB_OK);
	double worst = 0;
	for (int64_t i = 0; i < n * a->n_out; i++)
		worst = fmax(worst, fabs(ya[i] - yb[i]));
	free(ya);
	free(yb);
	gb_tensor_free(x);
	return worst;
}

static gb_pwl *lower_canonical(gb_model *m, double lo, double hi, gb_pwl **before, gb_canon_stats *stats)
{
	gb_pwl *p = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_pwl_lower(m, &p, &err), GB_OK, "%s", err.msg);
	if (before)
		cr_assert_eq(gb_pwl_clone(p, before, &err), GB_OK);
	double *l = malloc((size_t)p->n_in * sizeof *l), *h = malloc((size_t)p->n_in * sizeof *h);
	for (int64_t j = 0; j < p->n_in; j++) {
		l[j] = lo;
		h[j] = hi;
	}
	cr_assert_eq(gb_pwl_canonicalize(p, l, h, 1e-6, stats, &err), GB_OK, "%s", err.msg);
	free(l);
	free(h);
	return p;
}

Test(canon, undoes_disguise_and_keeps_the_function)
{
	gb_model *m = load("examples/max3.onnx");
	for (uint64_t seed = 1; seed <= 6; seed++) {
		gb_disguise_options opt = {.seed = seed, .strength = (int64_t)seed, .box_lo = -1, .box_hi = 1};
		gb_model *d = NULL;
		gb_error err = {0};
		cr_assert_eq(gb_disguise(m, &opt, &d, NULL, &err), GB_OK, "%s", err.msg);
		cr_assert_eq(gb_model_prepare(d, &err), GB_OK, "%s", err.msg);
		gb_pwl *before = NULL;
		gb_canon_stats st;
		gb_pwl *p = lower_canonical(d, -1, 1, &before, &st);
		cr_expect_eq(p->n_units, 2, "seed %llu: %lld units left of %lld", (unsigned long long)seed,
		             (long long)p->n_units, (long long)before->n_units);
		cr_expect_gt(before->n_units, 8);
		cr_expect_gt(st.dead, 0, "the disguise's dead units are found dead");
		double e = pwl_distance(before, p, -1, 1, seed);
		cr_expect_lt(e, 1e-5, "seed %llu: canonical form differs by %g", (unsigned long long)seed, e);
		gb_pwl_free(before);
		gb_pwl_free(p);
		gb_model_free(d);
	}
	gb_model_free(m);
}

Test(canon, keeps_the_function_of_a_trained_cnn)
{
	gb_model *m = load(FIXTURES "cnn/model.onnx");
	gb_pwl *before = NULL;
	gb_pwl *p = lower_canonical(m, -1, 1, &before, NULL);
	double e = pwl_distance(before, p, -1, 1, 3);
	cr_expect_lt(e, 1e-4, "canonical form differs by %g", e);
	cr_expect_leq(p->n_units, before->n_units);
	gb_pwl_free(before);
	gb_pwl_free(p);
	gb_model_free(m);
}

/* ---- lifting: hand-made DAGs with one input vector ------------------------------------ */

static gb_pwl *dag(int64_t n_in)
{
	gb_pwl *p = calloc(1, sizeof *p);
	p->n_inputs = p->n_outputs = 1;
	p->inputs = calloc(1, sizeof *p->inputs);
	p->outputs = calloc(1, sizeof *p->outputs);
	p->inputs[0] = (gb_pwl_io){.name = strdup("x"), .ndim = 1, .dims = {n_in}, .size = n_in};
	p->outputs[0] = (gb_pwl_io){.name = strdup("y"), .ndim = 1, .dims = {1}, .size = 1};
	p->n_in = n_in;
	p->n_out = 1;
	p->outs = calloc(1, sizeof *p->outs);
	return p;
}

/* A unit b + w0 * s0 + w1 * s1 (s1 < 0: one term). */
static int unit(gb_pwl *p, double b, int s0, double w0, int s1, double w1)
{
	gb_row r = {0};
	r.b = b;
	gb_row_push(&r, s0, w0);
	if (s1 >= 0)
		gb_row_push(&r, s1, w1);
	gb_row_compact(&r);
	return (int)gb_pwl_add_unit(p, &r);
}

static char *formulas(gb_pwl *p)
{
	gb_lift lf;
	gb_error err = {0};
	cr_assert_eq(gb_lift_run(&lf, p, 1000, 1e-6, &err), GB_OK, "%s", err.msg);
	char *text = NULL;
	gb_dc_map maps[GB_DC_MAX_MAPS];
	int n_maps = 0;
	cr_assert_eq(gb_dc_write_formulas(p, &lf, NULL, 0, &text, maps, &n_maps, &err), GB_OK, "%s", err.msg);
	gb_lift_free(&lf);
	gb_pwl_free(p);
	return text;
}

static void expect_line(char *text, const char *line)
{
	cr_expect(strstr(text, line) != NULL, "expected the line\n  %s\nin\n%s", line, text);
	free(text);
}

Test(lift, finds_min_abs_clamp_step_and_relu)
{
	gb_pwl *p = dag(2); /* x0 - relu(x0 - x1) */
	int u = unit(p, 0, 0, 1, 1, -1);
	gb_row_push(&p->outs[0], 0, 1);
	gb_row_push(&p->outs[0], u, -1);
	expect_line(formulas(p), "y[0] = min(x[0], x[1])");

	p = dag(1); /* relu(x) + relu(-x) after canonical pairing: 2 relu(x) - x */
	u = unit(p, 0, 0, 1, -1, 0);
	gb_row_push(&p->outs[0], 0, -1);
	gb_row_push(&p->outs[0], u, 2);
	expect_line(formulas(p), "y[0] = abs(x[0])");

	p = dag(1); /* -1 + relu(x + 1) - relu(x - 2) = clamp(x, -1, 2) */
	int a = unit(p, 1, 0, 1, -1, 0), b = unit(p, -2, 0, 1, -1, 0);
	gb_row_push(&p->outs[0], a, 1);
	gb_row_push(&p->outs[0], b, -1);
	p->outs[0].b = -1;
	expect_line(formulas(p), "y[0] = clamp(x[0], -1.0, 2.0)");

	p = dag(1); /* 2 (relu(x) - relu(x - 0.5)) = step(x, 0, width=0.5) */
	a = unit(p, 0, 0, 1, -1, 0);
	b = unit(p, -0.5, 0, 1, -1, 0);
	gb_row_push(&p->outs[0], a, 2);
	gb_row_push(&p->outs[0], b, -2);
	expect_line(formulas(p), "y[0] = step(x[0], 0.0, width=0.5)");

	p = dag(2); /* 3 relu(x0 - x1) */
	u = unit(p, 0, 0, 1, 1, -1);
	gb_row_push(&p->outs[0], u, 3);
	expect_line(formulas(p), "y[0] = 3.0 * relu(x[0] - x[1])");
}

Test(lift, names_what_outputs_share)
{
	gb_pwl *p = dag(3); /* y0 = max(x0, x1) + x2, y1 = max(x0, x1) - x2 */
	free(p->outputs[0].name);
	p->outputs[0].dims[0] = 2;
	p->outputs[0].size = 2;
	p->n_out = 2;
	p->outs = realloc(p->outs, 2 * sizeof *p->outs);
	memset(&p->outs[1], 0, sizeof p->outs[1]);
	p->outputs[0].name = strdup("y");
	int u = unit(p, 0, 0, -1, 1, 1);
	for (int o = 0; o < 2; o++) {
		gb_row_push(&p->outs[o], 0, 1);
		gb_row_push(&p->outs[o], 2, o ? -1 : 1);
		gb_row_push(&p->outs[o], u, 1);
		gb_row_compact(&p->outs[o]);
	}
	char *text = formulas(p);
	cr_expect(strstr(text, "largest1 = max(x[0], x[1])") != NULL, "%s", text);
	cr_expect(strstr(text, "y[0] = largest1 + x[2]") != NULL || strstr(text, "y[0] = x[2] + largest1") != NULL, "%s",
	          text);
	free(text);
}

/* ---- the pipeline -------------------------------------------------------------------------- */

Test(decompile, recovers_max3_from_disguised_networks)
{
	gb_model *m = load("examples/max3.onnx");
	for (uint64_t seed = 1; seed <= 3; seed++) {
		gb_disguise_options dopt = {.seed = seed, .strength = 3, .box_lo = -1, .box_hi = 1};
		gb_model *d = NULL;
		gb_error err = {0};
		cr_assert_eq(gb_disguise(m, &dopt, &d, NULL, &err), GB_OK, "%s", err.msg);
		cr_assert_eq(gb_model_prepare(d, &err), GB_OK, "%s", err.msg);
		gb_decompile_options opt = {.domain = {.kind = GB_DOMAIN_BOX, .lo = -1, .hi = 1},
		                            .tolerance = 1e-5, .samples = 2000, .label = "max3_disguised.onnx"};
		gb_decompile_result r;
		cr_assert_eq(gb_decompile(d, &opt, &r, &err), GB_OK, "%s", err.msg);
		cr_expect(r.faithful);
		cr_expect_str_eq(r.form, "formulas");
		cr_expect(strstr(r.program, "y[0] = max(x[0], x[1], x[2])\n") != NULL, "%s", r.program);
		cr_expect_eq(r.program_ops, 1);
		cr_expect_eq(r.counts.prims[GB_PRIM_MAX], 1);
		cr_expect_leq(r.fidelity.max_abs_error, 1e-5);
		cr_expect_geq(r.fidelity.samples, 2000);
		gb_decompile_result_free(&r);
		gb_model_free(d);
	}
	gb_model_free(m);
}

Test(decompile, says_when_the_program_is_not_within_tolerance)
{
	/* a tolerance of 0 cannot hold through float32 rounding of a + relu(b - a) */
	gb_model *m = load("examples/max3.onnx");
	gb_decompile_options opt = {.domain = {.kind = GB_DOMAIN_BOX, .lo = -100, .hi = 100},
	                            .tolerance = 0, .samples = 5000};
	gb_decompile_result r;
	gb_error err = {0};
	cr_assert_eq(gb_decompile(m, &opt, &r, &err), GB_OK, "%s", err.msg);
	cr_expect_gt(r.fidelity.max_abs_error, 0);
	cr_expect_not(r.faithful);
	cr_expect(strstr(r.program, "NOT FAITHFUL") != NULL);
	gb_decompile_result_free(&r);
	gb_model_free(m);
}

Test(decompile, writes_a_cnn_as_layers_that_run)
{
	gb_model *m = load(FIXTURES "cnn_folded/model.onnx");
	gb_decompile_options opt = {.domain = {.kind = GB_DOMAIN_BOX, .lo = -1, .hi = 1},
	                            .tolerance = 1e-3, .samples = 300};
	gb_decompile_result r;
	gb_error err = {0};
	cr_assert_eq(gb_decompile(m, &opt, &r, &err), GB_OK, "%s", err.msg);
	cr_expect(r.faithful, "max error %g", r.fidelity.max_abs_error);
	cr_expect_str_eq(r.form, "layers");
	cr_expect_gt(r.program_params, 0);
	cr_expect(strstr(r.program, "relu(dense(") != NULL, "%s", r.program);
	gb_decompile_result_free(&r);
	gb_model_free(m);
}

Test(decompile, domains_parse_or_say_why_not)
{
	gb_domain d;
	gb_error err = {0};
	cr_expect_eq(gb_domain_parse("box:-1,2.5", &d, &err), GB_OK);
	cr_expect(d.kind == GB_DOMAIN_BOX && d.lo == -1 && d.hi == 2.5);
	cr_expect_eq(gb_domain_parse("bool", &d, &err), GB_OK);
	cr_expect_eq(d.kind, GB_DOMAIN_BOOL);
	const char *bad[] = {"box:1", "box:2,1", "box:a,b", "cube", "box:-1,1,2", ""};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		cr_expect_eq(gb_domain_parse(bad[i], &d, &err), GB_STATUS_USAGE, "'%s'", bad[i]);
		cr_expect(strstr(err.msg, "box:LO,HI") != NULL);
	}
}

/* ---- chains ------------------------------------------------------------------------------- */

Test(chain, keeps_the_function_and_is_a_chain)
{
	const char *cases[] = {"examples/max3.onnx", FIXTURES "cnn_folded/model.onnx", FIXTURES "conv1d/model.onnx"};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		gb_model *m = load(cases[c]), *chain = NULL;
		gb_pwl *p = NULL, *q = NULL;
		gb_error err = {0};
		cr_assert_eq(gb_pwl_lower(m, &p, &err), GB_OK, "%s", err.msg);
		cr_assert_eq(gb_pwl_to_chain(p, &chain, &err), GB_OK, "%s: %s", cases[c], err.msg);
		for (int i = 0; i < chain->n_nodes; i++)
			cr_expect(strcmp(chain->nodes[i].op_type, "Gemm") == 0 || strcmp(chain->nodes[i].op_type, "Relu") == 0);
		cr_assert_eq(gb_pwl_lower(chain, &q, &err), GB_OK, "%s", err.msg);
		cr_expect_eq(q->n_in, p->n_in);
		cr_expect_eq(q->n_out, p->n_out);
		/* the chain's flat input holds the same features: compare the DAGs */
		gb_tensor *x = random_input(p, 200, -1.0f, 1.0f, 11);
		double *ya = malloc((size_t)(200 * p->n_out) * sizeof *ya), *yb = malloc((size_t)(200 * p->n_out) * sizeof *yb);
		cr_assert_eq(gb_pwl_eval(p, 200, x->data, ya, NULL, false, &err), GB_OK);
		cr_assert_eq(gb_pwl_eval(q, 200, x->data, yb, NULL, false, &err), GB_OK);
		double worst = 0;
		for (int64_t i = 0; i < 200 * p->n_out; i++)
			worst = fmax(worst, fabs(ya[i] - yb[i]) / fmax(1.0, fabs(ya[i])));
		cr_expect_lt(worst, 1e-5, "%s: the chain differs by %g", cases[c], worst);
		free(ya);
		free(yb);
		gb_tensor_free(x);
		gb_pwl_free(p);
		gb_pwl_free(q);
		gb_model_free(chain);
		gb_model_free(m);
	}
}

/* ---- compression ------------------------------------------------------------------------- */

Test(compress, a_spectral_cut_separates_near_independent_parts)
{
	/* y0 = relu(x0 - x1) + 1e-3 relu(x2 + x3), y1 = relu(x2 + x3) + 1e-3 relu(x0 - x1):
	 * two parts joined by weights a tolerance of 1e-2 does not need */
	gb_pwl *p = dag(4);
	free(p->outputs[0].name);
	p->outputs[0] = (gb_pwl_io){.name = strdup("y"), .ndim = 1, .dims = {2}, .size = 2};
	p->n_out = 2;
	p->outs = realloc(p->outs, 2 * sizeof *p->outs);
	memset(p->outs, 0, 2 * sizeof *p->outs);
	int a = unit(p, 0, 0, 1, 1, -1), b = unit(p, 0, 2, 1, 3, 1);
	gb_row_push(&p->outs[0], a, 1);
	gb_row_push(&p->outs[0], b, 1e-3);
	gb_row_push(&p->outs[1], b, 1);
	gb_row_push(&p->outs[1], a, 1e-3);
	for (int o = 0; o < 2; o++)
		gb_row_compact(&p->outs[o]);
	int64_t n = 500;
	gb_tensor *x = random_input(p, n, -1.0f, 1.0f, 21);
	double *ref = malloc((size_t)(n * 2) * sizeof *ref);
	float *reff = malloc((size_t)(n * 2) * sizeof *reff);
	gb_error err = {0};
	cr_assert_eq(gb_pwl_eval(p, n, x->data, ref, NULL, false, &err), GB_OK);
	for (int64_t i = 0; i < n * 2; i++)
		reff[i] = (float)ref[i];
	gb_dc_module *mods = NULL;
	int n_mods = 0;
	cr_assert_eq(gb_dc_modules(p, &mods, &n_mods, &err), GB_OK);
	cr_expect_eq(n_mods, 1, "joined before");
	gb_dc_modules_free(mods, n_mods);
	double lo[4] = {-1, -1, -1, -1}, hi[4] = {1, 1, 1, 1};
	gb_compress_options co = {.x = x->data, .n = n, .ref = reff, .budget = 1e-2};
	gb_compress_stats cs;
	cr_assert_eq(gb_pwl_compress(&p, lo, hi, &co, &cs, &err), GB_OK, "%s", err.msg);
	cr_expect(cs.split, "the spectral cut was taken");
	cr_assert_eq(gb_dc_modules(p, &mods, &n_mods, &err), GB_OK);
	cr_expect_eq(n_mods, 2, "two modules after");
	if (n_mods == 2) {
		cr_expect(mods[0].n_inputs == 2 && mods[0].inputs[0] == 0 && mods[0].inputs[1] == 1);
		cr_expect(mods[1].n_inputs == 2 && mods[1].inputs[0] == 2 && mods[1].inputs[1] == 3);
	}
	gb_dc_modules_free(mods, n_mods);
	free(ref);
	free(reff);
	gb_tensor_free(x);
	gb_pwl_free(p);
}

Test(compress, rounding_clears_noise_row_by_row)
{
	/* y = 1.375 x0 + relu(1.0003 x1 - 0.9996 x0 + 6e-5) + 3e-5: weight noise
	 * on a unit that wants 1-bit weights and a zero bias, beside an output
	 * weight that needs 4 significant bits */
	gb_pwl *p = dag(2);
	int u = unit(p, 6e-5, 0, -0.9996, 1, 1.0003);
	gb_row_push(&p->outs[0], 0, 1.375);
	gb_row_push(&p->outs[0], u, 1.0);
	p->outs[0].b = 3e-5;
	gb_row_compact(&p->outs[0]);
	int64_t n = 2000;
	gb_tensor *x = random_input(p, n, -1.0f, 1.0f, 5);
	double *ref = malloc((size_t)n * sizeof *ref);
	float *reff = malloc((size_t)n * sizeof *reff);
	gb_error err = {0};
	cr_assert_eq(gb_pwl_eval(p, n, x->data, ref, NULL, false, &err), GB_OK);
	for (int64_t i = 0; i < n; i++)
		reff[i] = (float)ref[i];
	double lo[2] = {-1, -1}, hi[2] = {1, 1};
	gb_compress_options co = {.x = x->data, .n = n, .ref = reff, .budget = 2e-3};
	gb_compress_stats cs;
	cr_assert_eq(gb_pwl_compress(&p, lo, hi, &co, &cs, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(p->n_units, 1, "one unit left, not %lld", (long long)p->n_units);
	const gb_row *r = &p->units[0];
	cr_expect_eq(r->b, 0.0, "the unit's bias rounds to 0, not %g", r->b);
	cr_assert_eq(r->n, 2);
	cr_expect(fabs(r->w[0]) == fabs(r->w[1]) && r->w[0] == -r->w[1], "the unit's weights are equal and opposite: %g %g",
	          r->w[0], r->w[1]);
	const gb_row *o = &p->outs[0];
	cr_expect_eq(o->b, 0.0, "the output's bias rounds to 0, not %g", o->b);
	cr_expect_eq(gb_row_coef(o, 0), 1.375, "the 4-bit weight stays exact: %.17g", gb_row_coef(o, 0));
	cr_expect_eq(cs.bits, 4, "the widest row keeps 4 bits, not %d", cs.bits);
	free(ref);
	free(reff);
	gb_tensor_free(x);
	gb_pwl_free(p);
}

/* ---- a classifier that ends in LogSoftmax ---------------------------------------------------- */

Test(decompile, keeps_a_trailing_log_softmax)
{
	/* PyTorch's MLP (Gemm, Relu, Gemm, LogSoftmax) on its fixture inputs:
	 * the program ends in log_softmax and runs to the network's outputs */
	gb_model *m = load(FIXTURES "mlp/model.onnx");
	gb_tensor *x = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_npy_load(FIXTURES "mlp/x.npy", &x, &err), GB_OK, "%s", err.msg);
	gb_decompile_options opt = {.domain = {.kind = GB_DOMAIN_DATA, .data = x}, .tolerance = 1e-4, .samples = 1000,
	                            .label = "model.onnx"};
	gb_decompile_result r;
	cr_assert_eq(gb_decompile(m, &opt, &r, &err), GB_OK, "%s", err.msg);
	cr_expect(r.faithful, "max error %g", r.fidelity.max_abs_error);
	cr_expect(strstr(r.program, "log_softmax(") != NULL, "%s", r.program);
	cr_expect_eq(r.counts.prims[GB_PRIM_LOG_SOFTMAX], 1);
	cr_expect_eq(r.counts.prims[GB_PRIM_SOFTMAX], 0);
	/* the program, run by the interpreter, against the engine's network */
	gb_ast *ast = NULL;
	cr_assert_eq(gb_ast_parse(r.program, strlen(r.program), "mlp.gbx", &ast, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_ast_check(ast, &err), GB_OK, "%s", err.msg);
	gb_tensor_map *outs = NULL;
	cr_assert_eq(gb_tensor_map_new(&outs, &err), GB_OK);
	cr_assert_eq(gb_ast_run_weights(ast, r.weights, (const gb_tensor *const *)&x, 1, outs, &err), GB_OK, "%s",
	             err.msg);
	gb_session *s = NULL;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	const gb_tensor *want = gb_session_output(s, 0), *got = gb_tensor_map_get(outs, "y");
	cr_assert_not_null(got);
	cr_assert_eq(gb_tensor_numel(got), gb_tensor_numel(want));
	cr_assert_eq(gb_tensor_numel(want), x->dims[0] * 10);
	double worst = 0;
	bool all_negative = true; /* log-probabilities, not logits */
	for (int64_t i = 0; i < gb_tensor_numel(want); i++) {
		float g = ((const float *)got->data)[i];
		worst = fmax(worst, fabs((double)g - ((const float *)want->data)[i]));
		all_negative = all_negative && g < 0;
	}
	cr_expect_leq(worst, 1e-4, "program and network differ by %g", worst);
	cr_expect(all_negative);
	gb_session_free(s);
	gb_tensor_map_free(outs);
	gb_ast_free(ast);
	gb_decompile_result_free(&r);
	gb_tensor_free(x);
	gb_model_free(m);
}

/* ---- modules written as functions ---------------------------------------------------------- */

/* A DAG over x: f32[n_in] with outputs y: f32[n_out] and, when z, z: f32;
 * rows empty. */
static gb_pwl *dag_out(int64_t n_in, int64_t n_out, bool z)
{
	gb_pwl *p = dag(n_in);
	p->outputs[0].dims[0] = p->outputs[0].size = n_out;
	p->n_out = n_out + z;
	if (z) {
		p->n_outputs = 2;
		p->outputs = realloc(p->outputs, 2 * sizeof *p->outputs);
		p->outputs[1] = (gb_pwl_io){.name = strdup("z"), .ndim = 0, .offset = n_out, .size = 1};
	}
	p->outs = realloc(p->outs, (size_t)p->n_out * sizeof *p->outs);
	memset(p->outs, 0, (size_t)p->n_out * sizeof *p->outs);
	return p;
}

/* Output o gets w * source s. */
static void out_term(gb_pwl *p, int64_t o, int s, double w)
{
	gb_row_push(&p->outs[o], s, w);
	gb_row_compact(&p->outs[o]);
}

/* The program text parsed, checked and run by the interpreter on points of
 * [-1, 1]: its largest distance from p. Also counts it (*counts) and says
 * which modules it writes as defs. */
static double program_error(const char *text, const gb_pwl *p, gb_tensor_map *weights, gb_ast_counts *counts,
                            gb_dc_module *mods, int n_mods)
{
	gb_ast *ast = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_ast_parse(text, strlen(text), "(test)", &ast, &err), GB_OK, "%s\n%s", err.msg, text);
	cr_assert_eq(gb_ast_check(ast, &err), GB_OK, "%s\n%s", err.msg, text);
	int64_t n = 300;
	gb_tensor *x = random_input(p, n, -1.0f, 1.0f, 17);
	gb_tensor_map *outs = NULL;
	cr_assert_eq(gb_tensor_map_new(&outs, &err), GB_OK);
	const gb_tensor *inputs[1] = {x};
	cr_assert_eq(gb_ast_run_weights(ast, weights, inputs, 1, outs, &err), GB_OK, "%s\n%s", err.msg, text);
	double *ref = malloc((size_t)(n * p->n_out) * sizeof *ref);
	cr_assert_eq(gb_pwl_eval(p, n, x->data, ref, NULL, false, &err), GB_OK);
	double worst = 0;
	for (int i = 0; i < p->n_outputs; i++) {
		const gb_tensor *y = gb_tensor_map_at(outs, i);
		int64_t size = p->outputs[i].size;
		cr_assert(y && gb_tensor_numel(y) == n * size, "output %d", i);
		for (int64_t r = 0; r < n; r++)
			for (int64_t e = 0; e < size; e++)
				worst = fmax(worst, fabs(((const float *)y->data)[r * size + e] -
				                         ref[r * p->n_out + p->outputs[i].offset + e]));
	}
	gb_ast_count(ast, counts);
	gb_dc_modules_mark_defs(mods, n_mods, ast);
	free(ref);
	gb_tensor_map_free(outs);
	gb_tensor_free(x);
	gb_ast_free(ast);
	return worst;
}

/* A program written with p's modules, its size and the modules. */
typedef struct written {
	char *text;
	gb_ast_counts counts;
	gb_dc_module *mods;
	int n_mods;
} written;

static void written_free(written *w, gb_pwl *p)
{
	gb_dc_modules_free(w->mods, w->n_mods);
	free(w->text);
	gb_pwl_free(p);
}

/* p's formulas written with its modules; checked to run like p. */
static written module_formulas(gb_pwl *p)
{
	written w = {0};
	gb_lift lf;
	gb_error err = {0};
	cr_assert_eq(gb_dc_modules(p, &w.mods, &w.n_mods, &err), GB_OK);
	cr_assert_eq(gb_lift_run(&lf, p, 1000, 1e-6, &err), GB_OK, "%s", err.msg);
	gb_dc_map maps[GB_DC_MAX_MAPS];
	int n_maps = 0;
	cr_assert_eq(gb_dc_write_formulas(p, &lf, w.mods, w.n_mods, &w.text, maps, &n_maps, &err), GB_OK, "%s", err.msg);
	double e = program_error(w.text, p, NULL, &w.counts, w.mods, w.n_mods);
	cr_expect_lt(e, 1e-5, "the program is %g from the DAG:\n%s", e, w.text);
	gb_lift_free(&lf);
	return w;
}

static void expect_has(const char *text, const char *part)
{
	cr_expect(strstr(text, part) != NULL, "expected\n%s\nin\n%s", part, text);
}

Test(modules, two_parts_become_two_defs)
{
	/* y0 = min(x0, x1) = x0 - relu(x0 - x1), y1 = |x2 - x3| = 2 relu(x2 - x3) - x2 + x3 */
	gb_pwl *p = dag_out(4, 2, false);
	int a = unit(p, 0, 0, 1, 1, -1), b = unit(p, 0, 2, 1, 3, -1);
	out_term(p, 0, 0, 1);
	out_term(p, 0, a, -1);
	out_term(p, 1, b, 2);
	out_term(p, 1, 2, -1);
	out_term(p, 1, 3, 1);
	written w = module_formulas(p);
	expect_has(w.text, "# module1: x[0:2] -> y[0]\ndef module1(v: f32[2]) -> f32:\n    return min(v[0], v[1])\n");
	expect_has(w.text, "def module2(v: f32[2]) -> f32:\n    return abs(");
	expect_has(w.text, "\ny[0] = module1(x[0:2])\ny[1] = module2(x[2:4])\n");
	cr_expect_eq(w.counts.defs, 2);
	cr_expect_eq(w.counts.def_calls, 2);
	cr_expect_eq(w.counts.ops, 5, "min, abs, - and two calls: %lld", (long long)w.counts.ops);
	cr_assert_eq(w.n_mods, 2);
	cr_expect(w.mods[0].def && w.mods[1].def && strcmp(w.mods[1].name, "module2") == 0);
	written_free(&w, p);
}

Test(modules, shared_names_gathered_inputs_and_slices_of_the_output)
{
	/* module1 reads x0, x1, x3: y0 = max(x0, x1) + x3, y1 = max(x0, x1) - x3;
	 * module2 reads x2: y2 = relu(x2); module3 passes x4 on: y3 = 0.5 x4 */
	gb_pwl *p = dag_out(5, 4, false);
	int u = unit(p, 0, 0, -1, 1, 1), r = unit(p, 0, 2, 1, -1, 0);
	for (int o = 0; o < 2; o++) {
		out_term(p, o, 0, 1);
		out_term(p, o, u, 1);
		out_term(p, o, 3, o ? -1 : 1);
	}
	out_term(p, 2, r, 1);
	out_term(p, 3, 4, 0.5);
	written w = module_formulas(p);
	expect_has(w.text, "def module1(v: f32[3]) -> f32[2]:\n    largest1 = max(v[0], v[1])\n    return [");
	expect_has(w.text, "def module2(v: f32) -> f32:\n    return relu(v)\n");
	expect_has(w.text, "\ny[0:2] = module1([x[0], x[1], x[3]])\ny[2] = module2(x[2])\ny[3] = 0.5 * x[4]\n");
	cr_expect(strstr(w.text, "\nlargest1") == NULL, "the shared name stays inside its def:\n%s", w.text);
	cr_assert_eq(w.n_mods, 3);
	cr_expect(w.mods[0].def && w.mods[1].def && !w.mods[2].def, "module3 is a line, not a def");
	written_free(&w, p);
}

Test(modules, long_results_are_named_and_tuples_reach_two_outputs)
{
	/* module1 (x0, x1): y0 = clamp(x0, -1, 2) + x1, y1 = clamp(x1, -1, 2) + x0,
	 * z = clamp(x0 + x1, -1, 2); module2: y2 = relu(x2 - x3) */
	gb_pwl *p = dag_out(4, 3, true);
	int a0 = unit(p, 1, 0, 1, -1, 0), b0 = unit(p, -2, 0, 1, -1, 0);
	int a1 = unit(p, 1, 1, 1, -1, 0), b1 = unit(p, -2, 1, 1, -1, 0);
	int a2 = unit(p, 1, 0, 1, 1, 1), b2 = unit(p, -2, 0, 1, 1, 1);
	int pairs[3][3] = {{a0, b0, 1}, {a1, b1, 0}, {a2, b2, -1}};
	int64_t outs[3] = {0, 1, 3};
	for (int k = 0; k < 3; k++) {
		out_term(p, outs[k], pairs[k][0], 1);
		out_term(p, outs[k], pairs[k][1], -1);
		if (pairs[k][2] >= 0)
			out_term(p, outs[k], pairs[k][2], 1);
		p->outs[outs[k]].b = -1;
	}
	out_term(p, 2, unit(p, 0, 2, 1, 3, -1), 1);
	written w = module_formulas(p);
	expect_has(w.text, "def module1(v: f32[2]) -> (f32[2], f32):\n    y_0 = ");
	expect_has(w.text, "    return [y_0, y_1], z\n");
	expect_has(w.text, "\ny[0:2], z = module1(x[0:2])\ny[2] = module2(x[2:4])\n");
	written_free(&w, p);
}

Test(modules, parts_of_one_input_each_stay_lines)
{
	/* y0 = relu(x0), y1 = relu(x1 - 0.5): two modules with nothing to gather or name */
	gb_pwl *p = dag_out(2, 2, false);
	out_term(p, 0, unit(p, 0, 0, 1, -1, 0), 1);
	out_term(p, 1, unit(p, -0.5, 1, 1, -1, 0), 1);
	written w = module_formulas(p);
	expect_has(w.text, "\ny[0] = relu(x[0])\ny[1] = relu(x[1] - 0.5)\n");
	cr_expect(strstr(w.text, "def ") == NULL, "no def:\n%s", w.text);
	cr_expect(w.n_mods == 2 && !w.mods[0].def && !w.mods[1].def);
	written_free(&w, p);
}

Test(modules, layers_write_a_def_per_module)
{
	/* module1 (x0, x1): two layers to y0; module2 (x2, x3): one layer to y1 and z */
	gb_pwl *p = dag_out(4, 2, true);
	int a = unit(p, 0.1, 0, 1, 1, -1), b = unit(p, 0, 0, 1, 1, 1), c2 = unit(p, 0, a, 1, b, -1);
	int d = unit(p, 0, 2, 1, 3, 1);
	out_term(p, 0, c2, 1);
	out_term(p, 0, a, 0.5);
	out_term(p, 1, d, 1);
	out_term(p, 1, 3, -1);
	out_term(p, 2, d, -2);
	p->outs[2].b = 0.25;
	gb_error err = {0};
	gb_dc_module *mods = NULL;
	int n_mods = 0;
	cr_assert_eq(gb_dc_modules(p, &mods, &n_mods, &err), GB_OK);
	cr_assert_eq(n_mods, 2);
	gb_tensor_map *weights = NULL;
	cr_assert_eq(gb_tensor_map_new(&weights, &err), GB_OK);
	char *text = NULL;
	int64_t params = 0, ops = 0;
	gb_dc_conv conv;
	cr_assert_eq(gb_dc_write_layers(p, 64, &text, weights, "w.safetensors", &params, &ops, &conv, NULL, mods, n_mods,
	                                &err),
	             GB_OK, "%s", err.msg);
	expect_has(text, "output y: f32[2]\noutput z: f32\n");
	expect_has(text, "param module1_layer1_from_v: f32[2, 2] = ");
	expect_has(text, "# module1: x[0:2] -> y[0]\ndef module1(v: f32[2]) -> f32:\n"
	                 "    layer1 = relu(dense(v, module1_layer1_from_v, module1_layer1_bias))  # 2 units\n");
	expect_has(text, "def module2(v: f32[2]) -> (f32, f32):\n    hidden = relu(dense(v, module2_hidden_from_v))");
	expect_has(text, "    out = dense(v, module2_out_from_v, module2_out_bias) + dense(hidden, module2_out_from_hidden)"
	                 "\n    return out[0], out[1]\n");
	expect_has(text, "\ny[0] = module1(x[0:2])\ny[1], z = module2(x[2:4])\n");
	gb_ast_counts counts;
	double e = program_error(text, p, weights, &counts, mods, n_mods);
	cr_expect_lt(e, 1e-5, "the program is %g from the DAG:\n%s", e, text);
	cr_expect(mods[0].def && mods[1].def);
	gb_dc_modules_free(mods, n_mods);
	gb_tensor_map_free(weights);
	free(text);
	gb_pwl_free(p);
}

Test(modules, names_stay_clear_of_the_networks_own)
{
	gb_pwl *p = dag(2); /* an output called module1 */
	free(p->outputs[0].name);
	p->outputs[0].name = strdup("module1");
	out_term(p, 0, unit(p, 0, 0, 1, 1, -1), 1);
	gb_error err = {0};
	gb_dc_module *mods = NULL;
	int n_mods = 0;
	cr_assert_eq(gb_dc_modules(p, &mods, &n_mods, &err), GB_OK);
	cr_assert_eq(n_mods, 1);
	cr_expect_str_eq(mods[0].name, "module1_part");
	gb_dc_modules_free(mods, n_mods);
	gb_pwl_free(p);
}
