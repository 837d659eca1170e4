/*
 * test_certify.c — the proven bound on |A - B| (decompile/certify.h) and the
 * decompiler's use of it: equal functions written differently certify to
 * ~0, a narrow bump that random points miss is never bounded below its
 * height, the bound is never below a measured difference on random DAG
 * pairs, a spent budget says "not certified", the float32 rounding bound
 * holds against the engine, and the decompiler reports "certified" on max3
 * (plain and disguised) and refutes a program that misses a bump.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "decompile/certify.h"
#include "decompile/decompile.h"
#include "graph/disguise.h"
#include "testutil.h"

/* ---- building DAGs -------------------------------------------------------------------------- */

static gb_pwl *dag_new(int64_t n_in, int64_t n_out)
{
	gb_pwl *p = calloc(1, sizeof *p);
	cr_assert(p);
	p->n_in = n_in;
	p->n_out = n_out;
	p->outs = calloc((size_t)n_out, sizeof *p->outs);
	cr_assert(p->outs);
	return p;
}

static void row_set(gb_row *r, double b, int n, const int *idx, const double *w)
{
	r->b = b;
	for (int k = 0; k < n; k++)
		cr_assert(gb_row_push(r, idx[k], w[k]));
	gb_row_compact(r);
}

/* relu(b + sum w x[idx]): returns its source index. */
static int unit(gb_pwl *p, double b, int n, const int *idx, const double *w)
{
	gb_row r = {0};
	row_set(&r, b, n, idx, w);
	int64_t j = gb_pwl_add_unit(p, &r);
	cr_assert(j >= 0);
	return (int)j;
}

static void output(gb_pwl *p, int64_t o, double b, int n, const int *idx, const double *w)
{
	row_set(&p->outs[o], b, n, idx, w);
}

#define I(...) ((const int[]){__VA_ARGS__})
#define W(...) ((const double[]){__VA_ARGS__})

static void box(int64_t n, double lo, double hi, double *l, double *h)
{
	for (int64_t j = 0; j < n; j++) {
		l[j] = lo;
		h[j] = hi;
	}
}

static gb_certify_result certify(const gb_pwl *a, const gb_pwl *b, double lo, double hi, double target,
                                 int64_t boxes, float *witness_x)
{
	double l[16], h[16];
	box(a->n_in, lo, hi, l, h);
	gb_certify_options o = {.target = target, .max_boxes = boxes, .max_work = 400000000};
	gb_certify_result r;
	gb_error err = {0};
	cr_assert_eq(gb_pwl_certify(a, b, l, h, &o, &r, NULL, witness_x, &err), GB_OK, "%s", err.msg);
	return r;
}

/* max(x0, x1) as x0 + relu(x1 - x0), or (swap) x1 + relu(x0 - x1). */
static gb_pwl *max2(bool swap)
{
	gb_pwl *p = dag_new(2, 1);
	int a = swap ? 1 : 0, b = swap ? 0 : 1;
	int u = unit(p, 0, 2, I(a, b), W(-1, 1));
	output(p, 0, 0, 2, I(a, u), W(1, 1));
	return p;
}

/* max(x0, x1, x2) nested left, max(max(x0, x1), x2), or right, max(x0, max(x1, x2)). */
static gb_pwl *max3(bool right)
{
	gb_pwl *p = dag_new(3, 1);
	if (!right) {
		int u = unit(p, 0, 2, I(0, 1), W(-1, 1)); /* m = x0 + u */
		int v = unit(p, 0, 3, I(2, 0, u), W(1, -1, -1)); /* relu(x2 - m) */
		output(p, 0, 0, 3, I(0, u, v), W(1, 1, 1));
	} else {
		int u = unit(p, 0, 2, I(1, 2), W(-1, 1)); /* m = x1 + u */
		int v = unit(p, 0, 3, I(0, 1, u), W(-1, 1, 1)); /* relu(m - x0) */
		output(p, 0, 0, 2, I(0, v), W(1, 1));
	}
	return p;
}

/* ---- (a) equal functions written differently ------------------------------------------------- */

Test(certify, max_of_two_either_way)
{
	gb_pwl *a = max2(false), *b = max2(true);
	gb_certify_result r = certify(a, b, -1, 1, 1e-9, 0, NULL);
	cr_assert(r.certified, "bound %g after %lld boxes (%s)", r.bound, (long long)r.boxes, r.reason);
	cr_assert_leq(r.bound, 1e-9);
	cr_assert_null(r.reason);
	gb_pwl_free(a);
	gb_pwl_free(b);
}

Test(certify, max_of_three_nested_both_ways)
{
	gb_pwl *a = max3(false), *b = max3(true);
	gb_certify_result r = certify(a, b, -1, 1, 1e-9, 0, NULL);
	cr_assert(r.certified, "bound %g after %lld boxes", r.bound, (long long)r.boxes);
	cr_assert_leq(r.bound, 1e-9);
	cr_assert_gt(r.unit_splits, 0);
	gb_pwl_free(a);
	gb_pwl_free(b);
}

Test(certify, abs_split_two_ways)
{
	/* |x0 - 2 x1 + 0.5| as relu(z) + relu(-z), and as 2 relu(z) - z */
	gb_pwl *a = dag_new(2, 1), *b = dag_new(2, 1);
	int u = unit(a, 0.5, 2, I(0, 1), W(1, -2)), v = unit(a, -0.5, 2, I(0, 1), W(-1, 2));
	output(a, 0, 0, 2, I(u, v), W(1, 1));
	int t = unit(b, 0.5, 2, I(0, 1), W(1, -2));
	output(b, 0, -0.5, 3, I(t, 0, 1), W(2, -1, 2));
	gb_certify_result r = certify(a, b, -1, 1, 1e-9, 0, NULL);
	cr_assert(r.certified, "bound %g", r.bound);
	cr_assert_leq(r.bound, 1e-9);
	gb_pwl_free(a);
	gb_pwl_free(b);
}

Test(certify, duplicates_and_cancelling_pairs_merge)
{
	/* max(x0, x1), written with its unit split in two (0.25 and 0.75 of
	 * it), a rescaled copy (relu(4z)/4), and a cancelling pair on a
	 * hyperplane of its own, against the plain form */
	gb_pwl *a = dag_new(2, 1), *b = max2(true);
	int s1 = unit(a, 0, 2, I(0, 1), W(-1, 1)), s2 = unit(a, 0, 2, I(0, 1), W(-4, 4));
	int p1 = unit(a, 0.3, 2, I(0, 1), W(0.7, 0.2)), p2 = unit(a, 0.3, 2, I(0, 1), W(0.7, 0.2));
	output(a, 0, 0, 5, I(0, s1, s2, p1, p2), W(1, 0.25, 0.1875, 1.5, -1.5));
	gb_certify_result r = certify(a, b, -1, 1, 1e-9, 0, NULL);
	cr_assert(r.certified, "bound %g after %lld boxes", r.bound, (long long)r.boxes);
	cr_assert_leq(r.bound, 1e-9);
	gb_pwl_free(a);
	gb_pwl_free(b);
}

/* ---- (b) a narrow bump -------------------------------------------------------------------------- */

/* 0 against a tent of height h and half-width w around x0 = c (x1 ignored):
 * (h / w) (relu(x0 - c + w) - 2 relu(x0 - c) + relu(x0 - c - w)). */
static void bump_pair(double c, double w, double h, gb_pwl **zero, gb_pwl **tent)
{
	*zero = dag_new(2, 1);
	output(*zero, 0, 0, 0, NULL, NULL);
	gb_pwl *t = dag_new(2, 1);
	int u1 = unit(t, w - c, 1, I(0), W(1)), u2 = unit(t, -c, 1, I(0), W(1)), u3 = unit(t, -c - w, 1, I(0), W(1));
	double k = h / w;
	output(t, 0, 0, 3, I(u1, u2, u3), W(k, -2 * k, k));
	*tent = t;
}

Test(certify, a_narrow_bump_is_never_bounded_below_its_height)
{
	/* half-width 2^-20 at 0.25: 10,000 uniform points miss it with probability ~0.99 */
	double w = 0x1p-20, c = 0.25, k = 0.01 / w, height = k * w; /* exact: w is a power of two */
	gb_pwl *zero, *tent;
	bump_pair(c, w, 0.01, &zero, &tent);
	for (int swap = 0; swap < 2; swap++) {
		const gb_pwl *a = swap ? tent : zero, *b = swap ? zero : tent;
		/* asked to prove less than the height: refuted, with the peak as witness */
		float x[2];
		gb_certify_result r = certify(a, b, -1, 1, 1e-3, 0, x);
		cr_assert_not(r.certified);
		cr_assert_str_eq(r.reason, "counterexample");
		cr_assert_geq(r.bound, height, "bound %.17g below the bump's height %.17g", r.bound, height);
		cr_assert_gt(r.witness, 1e-3);
		cr_assert_leq(r.witness, height * (1 + 1e-12));
		cr_assert_lt(fabs(x[0] - c), w, "witness at x0 = %.9g", x[0]);
		/* asked to prove more than the height: proven, never below it */
		r = certify(a, b, -1, 1, 0.0125, 0, NULL);
		cr_assert(r.certified, "bound %g (%s)", r.bound, r.reason);
		cr_assert_geq(r.bound, height);
		/* a tiny budget: a bound still, never below the height */
		r = certify(a, b, -1, 1, 1e-6, 3, NULL);
		cr_assert_not(r.certified);
		cr_assert_geq(r.bound, height);
	}
	gb_pwl_free(zero);
	gb_pwl_free(tent);
}

/* ---- (c) random DAG pairs: the bound is never below a measured difference ---------------- */

/* A random DAG: layers of width units reading every earlier source with
 * probability 0.7; outputs read everything. */
static gb_pwl *random_dag(uint64_t *rng, int64_t n_in, int64_t n_out, int layers, int width)
{
	gb_pwl *p = dag_new(n_in, n_out);
	for (int l = 0; l < layers; l++) {
		int64_t sources = p->n_in + p->n_units;
		for (int u = 0; u < width; u++) {
			gb_row r = {0};
			r.b = 2 * tu_uniform(rng) - 1;
			for (int64_t j = 0; j < sources; j++)
				if (tu_uniform(rng) < 0.7)
					cr_assert(gb_row_push(&r, (int)j, 2 * tu_uniform(rng) - 1));
			gb_row_compact(&r);
			cr_assert(gb_pwl_add_unit(p, &r) >= 0);
		}
	}
	for (int64_t o = 0; o < n_out; o++) {
		p->outs[o].b = tu_uniform(rng) - 0.5;
		for (int64_t j = 0; j < p->n_in + p->n_units; j++)
			cr_assert(gb_row_push(&p->outs[o], (int)j, 2 * tu_uniform(rng) - 1));
		gb_row_compact(&p->outs[o]);
	}
	return p;
}

/* A copy of p with every weight moved by up to eps. */
static gb_pwl *perturbed(const gb_pwl *p, uint64_t *rng, double eps)
{
	gb_pwl *q = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_pwl_clone(p, &q, &err), GB_OK);
	for (int64_t u = 0; u < q->n_units + q->n_out; u++) {
		gb_row *r = u < q->n_units ? &q->units[u] : &q->outs[u - q->n_units];
		for (int k = 0; k < r->n; k++)
			r->w[k] += eps * (2 * tu_uniform(rng) - 1);
		r->b += eps * (2 * tu_uniform(rng) - 1);
	}
	return q;
}

/* max over outputs and over random points, the box's corners and the
 * witness of |a - b| (double evaluation), per output in worst. */
static void measured(const gb_pwl *a, const gb_pwl *b, uint64_t *rng, const float *extra, double *worst)
{
	int64_t n = a->n_in, corners = (int64_t)1 << n, pts = 2000 + corners + 1;
	float *x = malloc((size_t)(pts * n) * sizeof *x);
	double *ya = malloc((size_t)(pts * a->n_out) * sizeof *ya), *yb = malloc((size_t)(pts * a->n_out) * sizeof *yb);
	for (int64_t i = 0; i < pts; i++)
		for (int64_t j = 0; j < n; j++)
			x[i * n + j] = i < 2000 ? (float)(2 * tu_uniform(rng) - 1)
			               : i < 2000 + corners ? (((i - 2000) >> j) & 1 ? 1.0f : -1.0f) : extra[j];
	gb_error err = {0};
	cr_assert_eq(gb_pwl_eval(a, pts, x, ya, NULL, false, &err), GB_OK);
	cr_assert_eq(gb_pwl_eval(b, pts, x, yb, NULL, false, &err), GB_OK);
	for (int64_t o = 0; o < a->n_out; o++) {
		worst[o] = 0;
		for (int64_t i = 0; i < pts; i++)
			worst[o] = fmax(worst[o], fabs(ya[i * a->n_out + o] - yb[i * a->n_out + o]));
	}
	free(x);
	free(ya);
	free(yb);
}

Test(certify, the_bound_is_never_below_a_measured_difference)
{
	uint64_t rng = 12345;
	int certified = 0;
	for (int seed = 0; seed < 40; seed++) {
		int64_t n_in = 2 + seed % 4, n_out = 1 + seed % 2;
		gb_pwl *a = random_dag(&rng, n_in, n_out, 1 + seed % 3, 3 + seed % 4);
		/* near copies (small differences, often certified) and unrelated DAGs */
		gb_pwl *b = seed % 3 == 2 ? random_dag(&rng, n_in, n_out, 2, 4) : perturbed(a, &rng, seed % 3 ? 1e-3 : 1e-6);
		double l[16], h[16], per[2], worst[2];
		box(n_in, -1, 1, l, h);
		float x[16];
		gb_certify_options o = {.target = seed % 3 == 2 ? 0.5 : 0.05, .max_boxes = 300};
		gb_certify_result r;
		gb_error err = {0};
		cr_assert_eq(gb_pwl_certify(a, b, l, h, &o, &r, per, x, &err), GB_OK, "%s", err.msg);
		measured(a, b, &rng, x, worst);
		for (int64_t q = 0; q < n_out; q++) {
			cr_assert_geq(per[q], worst[q] * (1 - 1e-12), "seed %d output %lld: bound %.17g below measured %.17g",
			              seed, (long long)q, per[q], worst[q]);
			cr_assert_leq(per[q], r.bound);
		}
		cr_assert_geq(r.bound, r.witness * (1 - 1e-12));
		cr_assert_eq(r.certified, r.bound <= o.target);
		certified += r.certified;
		gb_pwl_free(a);
		gb_pwl_free(b);
	}
	cr_assert_gt(certified, 5, "only %d pairs certified", certified);
}

/* ---- (d) budgets ------------------------------------------------------------------------------------ */

Test(certify, a_spent_budget_is_not_certified)
{
	gb_pwl *a = max3(false), *b = max3(true);
	gb_certify_result r = certify(a, b, -1, 1, 1e-12, 3, NULL);
	cr_assert_not(r.certified);
	cr_assert_str_eq(r.reason, "budget");
	cr_assert_gt(r.bound, 1e-12);
	cr_assert_leq(r.boxes, 3);
	/* the same by the work count */
	double l[3], h[3];
	box(3, -1, 1, l, h);
	gb_certify_options o = {.target = 1e-12, .max_work = 10};
	gb_error err = {0};
	cr_assert_eq(gb_pwl_certify(a, b, l, h, &o, &r, NULL, NULL, &err), GB_OK);
	cr_assert_not(r.certified);
	cr_assert_str_eq(r.reason, "budget");
	/* and the same call twice gives the same answer */
	gb_certify_result r2;
	cr_assert_eq(gb_pwl_certify(a, b, l, h, &o, &r2, NULL, NULL, &err), GB_OK);
	cr_assert(r2.bound == r.bound && r2.boxes == r.boxes && r2.work == r.work);
	gb_pwl_free(a);
	gb_pwl_free(b);
}

Test(certify, mismatched_dags_are_a_usage_error)
{
	gb_pwl *a = max2(false), *b = max3(false);
	double l[3] = {-1, -1, -1}, h[3] = {1, 1, 1};
	gb_certify_options o = {.target = 1};
	gb_certify_result r;
	gb_error err = {0};
	cr_assert_eq(gb_pwl_certify(a, b, l, h, &o, &r, NULL, NULL, &err), GB_STATUS_USAGE);
	h[0] = NAN;
	cr_assert_eq(gb_pwl_certify(a, a, l, h, &o, &r, NULL, NULL, &err), GB_STATUS_USAGE);
	gb_pwl_free(a);
	gb_pwl_free(b);
}

/* ---- float32 rounding --------------------------------------------------------------------------- */

Test(certify, the_float32_rounding_bound_holds_on_the_engine)
{
	uint64_t rng = 777;
	for (int seed = 0; seed < 6; seed++) {
		gb_pwl *p = random_dag(&rng, 4, 2, 3, 8);
		/* float32 weights, as a network holds them */
		for (int64_t u = 0; u < p->n_units + p->n_out; u++) {
			gb_row *r = u < p->n_units ? &p->units[u] : &p->outs[u - p->n_units];
			for (int k = 0; k < r->n; k++)
				r->w[k] = (float)(2 * r->w[k]);
			r->b = (float)(3 * r->b);
		}
		gb_model *m = NULL;
		gb_error err = {0};
		cr_assert_eq(gb_pwl_to_chain(p, &m, &err), GB_OK, "%s", err.msg);
		double l[4], h[4], bound[2];
		box(4, -1, 1, l, h);
		gb_pwl_rounding_f32(p, l, h, bound);
		int64_t n = 4096, dims[2] = {n, 4};
		gb_tensor *x = tu_random(2, dims, -1, 1, 100 + (uint64_t)seed);
		gb_session *s = NULL;
		cr_assert_eq(gb_session_new(m, &s, &err), GB_OK, "%s", err.msg);
		cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK, "%s", err.msg);
		cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
		const float *y = gb_session_output(s, 0)->data;
		double *exact = malloc((size_t)(n * 2) * sizeof *exact), worst = 0;
		cr_assert_eq(gb_pwl_eval(p, n, x->data, exact, NULL, false, &err), GB_OK);
		for (int64_t i = 0; i < n; i++)
			for (int o = 0; o < 2; o++) {
				double e = fabs(y[i * 2 + o] - exact[i * 2 + o]);
				cr_assert_leq(e, bound[o], "seed %d: float32 error %g above the bound %g", seed, e, bound[o]);
				worst = fmax(worst, e);
			}
		cr_assert_gt(bound[0], 0);
		cr_assert_lt(bound[0], 1e-2, "a bound of %g says nothing (worst %g)", bound[0], worst);
		free(exact);
		gb_session_free(s);
		gb_tensor_free(x);
		gb_model_free(m);
		gb_pwl_free(p);
	}
}

/* ---- the decompiler ------------------------------------------------------------------------------------- */

static gb_model *load(const char *path)
{
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_model_load(path, &m, &err), GB_OK, "%s", err.msg);
	return m;
}

static void decompile(gb_model *m, const char *domain, gb_decompile_result *r)
{
	gb_decompile_options opt = {.tolerance = 1e-4, .samples = 10000, .seed = 1, .label = "test.onnx"};
	gb_error err = {0};
	cr_assert_eq(gb_domain_parse(domain, &opt.domain, &err), GB_OK);
	cr_assert_eq(gb_decompile(m, &opt, r, &err), GB_OK, "%s", err.msg);
}

Test(certify, max3_is_certified_plain_and_disguised)
{
	gb_model *m = load("examples/max3.onnx");
	for (int seed = 0; seed < 3; seed++) {
		gb_model *net = m;
		if (seed > 0) {
			gb_disguise_options dopt = {.seed = (uint64_t)seed, .strength = 4, .box_lo = -1, .box_hi = 1};
			gb_error err = {0};
			cr_assert_eq(gb_disguise(m, &dopt, &net, NULL, &err), GB_OK, "%s", err.msg);
			cr_assert_eq(gb_model_prepare(net, &err), GB_OK, "%s", err.msg);
		}
		gb_decompile_result r;
		decompile(net, "box:-1,1", &r);
		const gb_fidelity *f = &r.fidelity;
		cr_assert(r.faithful);
		cr_assert_str_eq(f->method, "certified", "seed %d: %s", seed, f->certify_reason);
		cr_assert(f->certify_tried);
		cr_assert_leq(f->certified_bound, 1e-5);
		cr_assert_gt(f->certified_boxes, 0);
		cr_assert_gt(f->certified_rounding, 0);
		cr_assert_not_null(strstr(r.program, "everywhere on the box in exact arithmetic (certified by bound propagation"));
		char *json = NULL;
		gb_decompile_options opt = {.tolerance = 1e-4};
		gb_error err = {0};
		cr_assert_eq(gb_domain_parse("box:-1,1", &opt.domain, &err), GB_OK);
		cr_assert_eq(gb_decompile_summary_json(&r, &opt, &json, &err), GB_OK);
		cr_assert_not_null(strstr(json, "\"method\":\t\"certified\""), "%s", json);
		cr_assert_not_null(strstr(json, "\"certified_bound\""));
		cr_assert_not_null(strstr(json, "\"certified_boxes\""));
		free(json);
		gb_decompile_result_free(&r);
		if (net != m)
			gb_model_free(net);
	}
	/* on a Boolean domain the check is exhaustive: no proof is tried */
	gb_decompile_result r;
	decompile(m, "bool", &r);
	cr_assert_str_eq(r.fidelity.method, "exhaustive");
	cr_assert_not(r.fidelity.certify_tried);
	gb_decompile_result_free(&r);
	gb_model_free(m);
}

Test(certify, a_bump_the_points_miss_is_found)
{
	/* max(x0, x1, x2) plus a pyramid of height 0.01 and radius 2e-6 around
	 * (0.3, -0.2) in (x0, x1): the check's points miss it (those on the kinks
	 * of its first-layer units have the other coordinate random), and the
	 * program compression writes leaves it out */
	gb_pwl *p = max3(false);
	double c0 = 0.3, c1 = -0.2, k = 5000, height = 0.01;
	int a0 = unit(p, -c0, 1, I(0), W(1)), b0 = unit(p, c0, 1, I(0), W(-1));
	int a1 = unit(p, -c1, 1, I(1), W(1)), b1 = unit(p, c1, 1, I(1), W(-1));
	int top = unit(p, height, 4, I(a0, b0, a1, b1), W(-k, -k, -k, -k));
	cr_assert(gb_row_push(&p->outs[0], top, 1));
	gb_row_compact(&p->outs[0]);
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_pwl_to_chain(p, &m, &err), GB_OK, "%s", err.msg);
	gb_decompile_result r;
	decompile(m, "box:-1,1", &r);
	const gb_fidelity *f = &r.fidelity;
	cr_assert(f->certify_tried);
	if (strstr(r.program, "max(x[0], x[1], x[2])") && !strstr(r.program, "relu")) {
		/* the program is max alone: the proof must refute it */
		cr_assert_not(r.faithful, "%s", r.program);
		cr_assert(f->counterexample, "%s", f->certify_reason ? f->certify_reason : "");
		cr_assert_str_eq(f->certify_reason, "counterexample");
		cr_assert_gt(f->counterexample_error, 1e-4);
		cr_assert_lt(fabs(f->counterexample_x[0] - c0), 3e-6);
		cr_assert_lt(fabs(f->counterexample_x[1] - c1), 3e-6);
		cr_assert_geq(f->max_abs_error, f->counterexample_error);
		cr_assert_not_null(strstr(r.program, "found a point the check missed"));
	} else {
		/* the program kept the bump: then it is certified */
		cr_assert_str_eq(f->method, "certified", "%s", r.program);
	}
	gb_decompile_result_free(&r);
	gb_model_free(m);
	gb_pwl_free(p);
}

Test(certify, compile_weights_reads_the_side_car_from_memory)
{
	const char *text = "input x: f32[2]\noutput y: f32[2]\nweights \"w.safetensors\"\n"
	                   "param A: f32[2, 2] = weights[\"A\"]\n\ny = dense(x, A)\n";
	gb_ast *ast = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_ast_parse(text, strlen(text), "t.gbx", &ast, &err), GB_OK, "%s", err.msg);
	gb_tensor_map *w = NULL;
	cr_assert_eq(gb_tensor_map_new(&w, &err), GB_OK);
	int64_t dims[2] = {2, 2};
	gb_tensor *A = tu_tensor(GB_DTYPE_F32, 2, dims, (const float[]){1, 2, 3, 4});
	cr_assert_eq(gb_tensor_map_put(w, "A", A, &err), GB_OK, "%s", err.msg);
	gb_tensor_free(A);
	gb_model *m = NULL;
	cr_assert_eq(gb_ast_compile_weights(ast, w, false, &m, &err), GB_OK, "%s", err.msg);
	gb_pwl *p = NULL;
	cr_assert_eq(gb_pwl_lower(m, &p, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(p->n_units, 0);
	cr_assert_float_eq(gb_row_coef(&p->outs[1], 0), 3.0, 1e-12);
	cr_assert_float_eq(gb_row_coef(&p->outs[1], 1), 4.0, 1e-12);
	gb_pwl_free(p);
	gb_model_free(m);
	/* the map is borrowed: still there */
	cr_assert_not_null(gb_tensor_map_get(w, "A"));
	gb_tensor_map_free(w);
	gb_ast_free(ast);
}
