/*
 * test_disguise.c — the disguise rewrite (src/graph/disguise.c):
 *
 *   function     without noise the disguised network matches the original
 *                within 1e-5 on 1000 random points of the box and at every
 *                corner: examples/max3.onnx, an in-memory MLP in MatMul + Add
 *                form, one in Gemm form (transB 0, alpha, beta, final Relu)
 *   structure    hidden widths grow by 4·strength, the weights change (shape
 *                and values; with strength 0 the values alone), at least
 *                `strength` units per hidden layer never fire on the box
 *   determinism  the same seed gives the same bytes, another seed others
 *   noise        weight differences have standard deviation σ, and output
 *                changes have the size the first-order expansion predicts
 *                (σ·|∂y/∂θ|, from the session's gradients)
 *   refusals     Sigmoid, Conv, a branch, two dense layers without a Relu,
 *                a weight that is an input, no hidden layer, bad options
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "graph/disguise.h"
#include "testutil.h"

#define N_POINTS 1000

/* ---- helpers --------------------------------------------------------------------- */

static gb_model *load(const char *path)
{
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_model_load(path, &m, &err), GB_OK, "%s", err.msg);
	return m;
}

static gb_model *disguise(const gb_model *src, uint64_t seed, int64_t strength, double noise, double lo,
                          double hi, gb_disguise_summary *summary)
{
	gb_disguise_options opt = {.seed = seed, .strength = strength, .noise = noise, .box_lo = lo, .box_hi = hi};
	gb_model *out = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_disguise(src, &opt, &out, summary, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_model_prepare(out, &err), GB_OK, "%s", err.msg);
	return out;
}

/* Random points of [lo, hi]^F followed by all 2^F corners: [N_POINTS + 2^F, F]. */
static gb_tensor *box_points(int64_t F, float lo, float hi, uint64_t seed)
{
	int64_t corners = (int64_t)1 << F;
	int64_t dims[2] = {N_POINTS + corners, F};
	gb_tensor *x = tu_random(2, dims, lo, hi, seed);
	float *d = x->data;
	for (int64_t c = 0; c < corners; c++)
		for (int64_t f = 0; f < F; f++)
			d[(N_POINTS + c) * F + f] = (c >> f) & 1 ? hi : lo;
	return x;
}

/* The first output on x, as a new tensor. */
static gb_tensor *run(const gb_model *m, const gb_tensor *x)
{
	gb_session *s = NULL;
	gb_error err = {0};
	gb_tensor *y = NULL;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_tensor_clone(gb_session_output(s, 0), &y, &err), GB_OK);
	gb_session_free(s);
	return y;
}

static double max_abs_diff(const gb_tensor *a, const gb_tensor *b)
{
	cr_assert_eq(gb_tensor_numel(a), gb_tensor_numel(b));
	const float *p = a->data, *q = b->data;
	double worst = 0;
	for (int64_t i = 0; i < gb_tensor_numel(a); i++)
		if (fabs((double)p[i] - q[i]) > worst)
			worst = fabs((double)p[i] - q[i]);
	return worst;
}

/* Asserts that disguised computes what original does on the box. */
static void check_same_function(const gb_model *original, const gb_model *disguised, int64_t F, float lo,
                                float hi)
{
	gb_tensor *x = box_points(F, lo, hi, 7);
	gb_tensor *y0 = run(original, x), *y1 = run(disguised, x);
	double worst = max_abs_diff(y0, y1);
	cr_expect_leq(worst, 1e-5, "disguised network differs by %g", worst);
	gb_tensor_free(x);
	gb_tensor_free(y0);
	gb_tensor_free(y1);
}

static const gb_tensor *param(const gb_model *m, const char *name)
{
	int v = gb_model_find_value(m, name);
	cr_assert(v >= 0 && m->values[v].init, "no initializer %s", name);
	return m->values[v].init;
}

/* Hidden units of value `name` that stay 0 on every point of x. */
static int never_active(const gb_model *m, const char *name, const gb_tensor *x)
{
	gb_session *s = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	const gb_tensor *h = gb_session_value(s, name);
	cr_assert(h && h->ndim == 2, "no value %s", name);
	int64_t B = h->dims[0], H = h->dims[1];
	const float *d = h->data;
	int dead = 0;
	for (int64_t u = 0; u < H; u++) {
		int fires = 0;
		for (int64_t b = 0; b < B && !fires; b++)
			fires = d[b * H + u] > 0;
		dead += !fires;
	}
	gb_session_free(s);
	return dead;
}

/* An MLP with widths w[0] → … → w[n-1]: Relu between layers; form 0 is
 * MatMul + Add (bias first in every other Add), form 1 is Gemm with transB 0,
 * alpha 0.5, beta 2 and a Relu after the last layer too. */
static gb_model *make_mlp(int form, int n, const int64_t *w, uint64_t seed)
{
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_model_new_empty("mlp", &m, &err), GB_OK);
	int64_t xdims[2] = {-1, w[0]};
	int cur = gb_model_add_value(m, "x", GB_DTYPE_F32, 2, xdims), input = cur;
	for (int l = 0; l + 1 < n; l++) {
		char name[32], wname[32], bname[32], rname[32], aname[32];
		snprintf(name, sizeof name, "fc%d", l);
		snprintf(wname, sizeof wname, "w%d", l);
		snprintf(bname, sizeof bname, "b%d", l);
		snprintf(rname, sizeof rname, "r%d", l);
		snprintf(aname, sizeof aname, "add%d", l);
		int64_t wd[2] = {w[l], w[l + 1]}; /* (in, out) */
		gb_tensor *wt = tu_random(2, wd, -1, 1, seed + 10 * (uint64_t)l);
		gb_tensor *bt = tu_random(1, &w[l + 1], -0.5f, 0.5f, seed + 10 * (uint64_t)l + 1);
		int wv = gb_model_add_value(m, wname, GB_DTYPE_F32, 2, wd);
		int bv = gb_model_add_value(m, bname, GB_DTYPE_F32, 1, &w[l + 1]);
		cr_assert_eq(gb_model_set_init(m, wv, wt, &err), GB_OK);
		cr_assert_eq(gb_model_set_init(m, bv, bt, &err), GB_OK);
		gb_tensor_free(wt);
		gb_tensor_free(bt);
		int last = l + 2 == n;
		int64_t hd[2] = {-1, w[l + 1]};
		int z = gb_model_add_value(m, name, GB_DTYPE_F32, 2, hd);
		if (form == 0) {
			int ins[2] = {cur, wv};
			gb_model_add_node(m, name, "MatMul", "", 2, ins, 1, &z);
			int s = gb_model_add_value(m, aname, GB_DTYPE_F32, 2, hd);
			int add_ins[2] = {l % 2 ? bv : z, l % 2 ? z : bv};
			gb_model_add_node(m, aname, "Add", "", 2, add_ins, 1, &s);
			z = s;
		} else {
			int ins[3] = {cur, wv, bv};
			int node = gb_model_add_node(m, name, "Gemm", "", 3, ins, 1, &z);
			gb_attr alpha = {.name = "alpha", .type = GB_ATTR_FLOAT, .f = 0.5f};
			gb_attr beta = {.name = "beta", .type = GB_ATTR_FLOAT, .f = 2.0f};
			gb_attr trans = {.name = "transB", .type = GB_ATTR_INT, .i = 0};
			cr_assert_eq(gb_node_add_attr(m, &m->nodes[node], &alpha, &err), GB_OK);
			cr_assert_eq(gb_node_add_attr(m, &m->nodes[node], &beta, &err), GB_OK);
			cr_assert_eq(gb_node_add_attr(m, &m->nodes[node], &trans, &err), GB_OK);
		}
		cur = z;
		if (!last || form == 1) {
			int r = gb_model_add_value(m, rname, GB_DTYPE_F32, 2, hd);
			gb_model_add_node(m, rname, "Relu", "", 1, &cur, 1, &r);
			cur = r;
		}
	}
	cr_assert_eq(gb_model_set_io(m, 1, &input, 1, &cur, &err), GB_OK);
	cr_assert_eq(gb_model_prepare(m, &err), GB_OK, "%s", err.msg);
	return m;
}

static size_t file_bytes(const char *path, unsigned char **data)
{
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*data = malloc((size_t)n);
	cr_assert(fread(*data, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	return (size_t)n;
}

/* ---- function and structure --------------------------------------------------------- */

Test(disguise, max3_same_function_more_units)
{
	gb_model *m = load("examples/max3.onnx");
	gb_disguise_summary sum;
	gb_model *d = disguise(m, 1, 3, 0, -1, 1, &sum);
	check_same_function(m, d, 3, -1, 1);
	cr_assert_eq(sum.n_layers, 3);
	cr_expect_eq(sum.width_before[0], 5);
	cr_expect_eq(sum.width_before[1], 3);
	cr_expect_eq(sum.width_after[0], 5 + 12);
	cr_expect_eq(sum.width_after[1], 3 + 12);
	cr_expect_eq(sum.width_after[2], 1);
	/* the saved shapes say the same */
	cr_expect_eq(param(d, "layer1.weight")->dims[0], 17);
	cr_expect_eq(param(d, "layer2.weight")->dims[0], 15);
	cr_expect_eq(param(d, "layer2.weight")->dims[1], 17);
	cr_expect_eq(param(d, "layer3.weight")->dims[1], 15);
	cr_expect_eq(gb_model_param_count(d), (3 * 17 + 17) + (17 * 15 + 15) + (15 + 1));
	cr_expect_eq(gb_model_opset(d), gb_model_opset(m));
	/* at least the 3 dead units of each layer never fire */
	gb_tensor *x = box_points(3, -1, 1, 11);
	cr_expect_geq(never_active(d, "relu1", x), 3);
	cr_expect_geq(never_active(d, "relu2", x), 3);
	gb_tensor_free(x);
	gb_model_free(d);
	gb_model_free(m);
}

Test(disguise, strength_zero_changes_values_not_shapes)
{
	gb_model *m = load("examples/max3.onnx");
	gb_model *d = disguise(m, 5, 0, 0, -1, 1, NULL);
	check_same_function(m, d, 3, -1, 1);
	const char *orig[] = {"fc1.weight", "fc2.weight", "fc3.weight"};
	const char *ours[] = {"layer1.weight", "layer2.weight", "layer3.weight"};
	for (int l = 0; l < 3; l++) {
		const gb_tensor *a = param(m, orig[l]), *b = param(d, ours[l]);
		cr_assert_eq(a->ndim, b->ndim);
		cr_expect_eq(a->dims[0], b->dims[0]);
		cr_expect_eq(a->dims[1], b->dims[1]);
		int changed = 0;
		for (int64_t i = 0; i < gb_tensor_numel(a); i++)
			changed += fabsf(((float *)a->data)[i] - ((float *)b->data)[i]) > 1e-3f;
		cr_expect_gt(changed, gb_tensor_numel(a) / 2, "%s: only %d of its weights changed", ours[l], changed);
	}
	gb_model_free(d);
	gb_model_free(m);
}

Test(disguise, matmul_add_mlp_on_a_shifted_box)
{
	int64_t w[4] = {6, 16, 12, 4};
	gb_model *m = make_mlp(0, 4, w, 3);
	gb_disguise_summary sum;
	gb_model *d = disguise(m, 42, 4, 0, -2, 3, &sum);
	check_same_function(m, d, 6, -2, 3);
	cr_expect_eq(sum.width_after[0], 16 + 16);
	cr_expect_eq(sum.width_after[1], 12 + 16);
	cr_expect_eq(sum.width_after[2], 4);
	gb_tensor *x = box_points(6, -2, 3, 12);
	cr_expect_geq(never_active(d, "relu1", x), 4);
	cr_expect_geq(never_active(d, "relu2", x), 4);
	gb_tensor_free(x);
	gb_model_free(d);
	gb_model_free(m);
}

Test(disguise, gemm_mlp_with_alpha_beta_and_final_relu)
{
	int64_t w[4] = {5, 9, 7, 3};
	gb_model *m = make_mlp(1, 4, w, 9);
	gb_disguise_summary sum;
	gb_model *d = disguise(m, 7, 2, 0, -1, 1, &sum);
	check_same_function(m, d, 5, -1, 1);
	cr_expect_eq(sum.width_after[0], 9 + 8);
	cr_expect_eq(sum.width_after[1], 7 + 8);
	cr_expect_eq(m->nodes[m->n_nodes - 1].op_type[0], 'R');
	cr_expect_eq(strcmp(d->nodes[d->n_nodes - 1].op_type, "Relu"), 0, "the final Relu is kept");
	gb_model_free(d);
	gb_model_free(m);
}

/* ---- determinism ----------------------------------------------------------------- */

Test(disguise, same_seed_same_bytes)
{
	char dir[] = "/tmp/gb_disguise_XXXXXX", a[64], b[64], c[64];
	cr_assert(mkdtemp(dir));
	snprintf(a, sizeof a, "%s/a.onnx", dir);
	snprintf(b, sizeof b, "%s/b.onnx", dir);
	snprintf(c, sizeof c, "%s/c.onnx", dir);
	gb_model *m = load("examples/max3.onnx");
	gb_error err = {0};
	gb_model *d1 = disguise(m, 3, 2, 0.01, -1, 1, NULL), *d2 = disguise(m, 3, 2, 0.01, -1, 1, NULL);
	gb_model *d3 = disguise(m, 4, 2, 0.01, -1, 1, NULL);
	cr_assert_eq(gb_model_save(d1, a, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_model_save(d2, b, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_model_save(d3, c, &err), GB_OK, "%s", err.msg);
	unsigned char *pa, *pb, *pc;
	size_t na = file_bytes(a, &pa), nb = file_bytes(b, &pb), nc = file_bytes(c, &pc);
	cr_expect(na == nb && memcmp(pa, pb, na) == 0, "same seed, different bytes");
	cr_expect(na != nc || memcmp(pa, pc, na) != 0, "another seed, same bytes");
	free(pa);
	free(pb);
	free(pc);
	unlink(a);
	unlink(b);
	unlink(c);
	rmdir(dir);
	gb_model_free(d1);
	gb_model_free(d2);
	gb_model_free(d3);
	gb_model_free(m);
}

/* ---- noise ----------------------------------------------------------------------- */

static const char *const weights[] = {"layer1.weight", "layer1.bias", "layer2.weight",
                                      "layer2.bias", "layer3.weight", "layer3.bias"};

/* Noise σ: the weights differ from the noise-free rewrite by N(0, σ²), and
 * the outputs by about σ·|∂y/∂θ| (first order; summed over 8 seeds and 40
 * points each, the ratio of squared sizes is near 1). */
Test(disguise, noise_has_the_expected_scale)
{
	const double sigma = 1e-3;
	gb_model *m = load("examples/max3.onnx");
	double sq_w = 0, sq_pred = 0, sq_out = 0;
	int64_t n_w = 0;
	gb_error err = {0};
	for (uint64_t seed = 1; seed <= 8; seed++) {
		gb_model *clean = disguise(m, seed, 2, 0, -1, 1, NULL), *noisy = disguise(m, seed, 2, sigma, -1, 1, NULL);
		for (int k = 0; k < 6; k++) {
			const gb_tensor *a = param(clean, weights[k]), *b = param(noisy, weights[k]);
			cr_assert_eq(gb_tensor_numel(a), gb_tensor_numel(b), "noise changes no shape");
			for (int64_t i = 0; i < gb_tensor_numel(a); i++) {
				double dw = (double)((float *)b->data)[i] - ((float *)a->data)[i];
				sq_w += dw * dw;
				n_w++;
			}
		}
		gb_session *s = NULL;
		cr_assert_eq(gb_session_new(clean, &s, &err), GB_OK, "%s", err.msg);
		int64_t one[2] = {1, 3};
		for (int p = 0; p < 40; p++) {
			gb_tensor *x = tu_random(2, one, -1, 1, seed * 100 + (uint64_t)p);
			cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK, "%s", err.msg);
			cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
			cr_assert_eq(gb_session_backward(s, NULL, &err), GB_OK, "%s", err.msg);
			for (int k = 0; k < 6; k++) {
				const gb_tensor *g = gb_session_grad(s, weights[k]);
				cr_assert(g, "no gradient for %s", weights[k]);
				for (int64_t i = 0; i < gb_tensor_numel(g); i++)
					sq_pred += sigma * sigma * (double)((float *)g->data)[i] * ((float *)g->data)[i];
			}
			gb_tensor *y0 = run(clean, x), *y1 = run(noisy, x);
			double dy = (double)((float *)y1->data)[0] - ((float *)y0->data)[0];
			sq_out += dy * dy;
			gb_tensor_free(x);
			gb_tensor_free(y0);
			gb_tensor_free(y1);
		}
		gb_session_free(s);
		gb_model_free(clean);
		gb_model_free(noisy);
	}
	double std_w = sqrt(sq_w / (double)n_w);
	cr_expect(std_w > 0.9 * sigma && std_w < 1.1 * sigma, "weight noise std %g, wanted %g", std_w, sigma);
	double ratio = sq_out / sq_pred;
	cr_expect(ratio > 0.4 && ratio < 2.5, "output change^2 / predicted = %g (%g / %g)", ratio, sq_out, sq_pred);
	gb_model_free(m);
}

/* ---- refusals ---------------------------------------------------------------------- */

static void expect_refused(const gb_model *m, gb_status status, const char *needle)
{
	gb_disguise_options opt = {.seed = 1, .strength = 2, .box_lo = -1, .box_hi = 1};
	gb_model *out = (gb_model *)1;
	gb_error err = {0};
	cr_expect_eq(gb_disguise(m, &opt, &out, NULL, &err), status, "wanted status %d: %s", status, err.msg);
	cr_expect_null(out);
	cr_expect(strstr(err.msg, needle), "message '%s' should name '%s'", err.msg, needle);
	cr_expect_null(strchr(err.msg, '\n'), "one line");
}

/* max3 with node k's op_type replaced (the chain check looks at op_type
 * before anything runs the model). */
Test(disguise, refuses_other_ops)
{
	gb_model *m = load("examples/max3.onnx");
	m->nodes[1].op_type = "Sigmoid";
	expect_refused(m, GB_STATUS_UNSUPPORTED, "node 'relu1' (Sigmoid)");
	m->nodes[1].op_type = "Relu";
	m->nodes[0].op_type = "Conv";
	expect_refused(m, GB_STATUS_UNSUPPORTED, "(Conv)");
	gb_model_free(m);
}

Test(disguise, refuses_graphs_that_are_not_chains)
{
	int64_t w[3] = {3, 4, 2};
	/* two dense layers with no Relu between them */
	gb_model *m = make_mlp(0, 3, w, 1);
	m->nodes[gb_model_find_node(m, "r0")].op_type = "Gemm";
	expect_refused(m, GB_STATUS_UNSUPPORTED, "node 'r0' (Gemm): a Gemm right after another dense layer");
	gb_model_free(m);

	/* a value read by two nodes */
	m = make_mlp(0, 3, w, 1);
	int fc1 = gb_model_find_node(m, "fc1");
	m->nodes[gb_model_find_node(m, "add1")].inputs[0] = m->nodes[fc1].inputs[0]; /* add1 reads r0 too */
	expect_refused(m, GB_STATUS_UNSUPPORTED, "feeds 2 nodes");
	gb_model_free(m);

	/* a weight that is not an initializer */
	m = make_mlp(0, 3, w, 1);
	m->values[gb_model_find_value(m, "w1")].init = NULL;
	expect_refused(m, GB_STATUS_UNSUPPORTED, "'w1' is not a 2-D float32 initializer");
	gb_model_free(m);

	/* one dense layer: nothing hidden */
	int64_t w1[2] = {3, 2};
	m = make_mlp(0, 2, w1, 1);
	expect_refused(m, GB_STATUS_UNSUPPORTED, "no hidden ReLU layer");
	gb_model_free(m);
}

Test(disguise, refuses_bad_options)
{
	gb_model *m = load("examples/max3.onnx");
	gb_model *out = NULL;
	gb_error err = {0};
	gb_disguise_options empty_box = {.seed = 1, .strength = 1, .box_lo = 1, .box_hi = 1};
	cr_expect_eq(gb_disguise(m, &empty_box, &out, NULL, &err), GB_STATUS_USAGE);
	gb_disguise_options negative = {.seed = 1, .strength = -1, .box_lo = -1, .box_hi = 1};
	cr_expect_eq(gb_disguise(m, &negative, &out, NULL, &err), GB_STATUS_USAGE);
	gb_disguise_options bad_noise = {.seed = 1, .strength = 1, .noise = NAN, .box_lo = -1, .box_hi = 1};
	cr_expect_eq(gb_disguise(m, &bad_noise, &out, NULL, &err), GB_STATUS_USAGE);
	cr_expect_null(out);
	gb_model_free(m);
}
