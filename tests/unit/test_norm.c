/*
 * test_norm.c — BatchNormalization, LayerNormalization, Softmax and
 * LogSoftmax against naive double-precision references (including the
 * pre-opset-13 softmax and pre-opset-9 spatial = 0 semantics), gradient
 * checks for every input and output, bad and unsupported attributes.
 */
#include <criterion/criterion.h>

#include "testutil.h"

static gb_attr attr_int(const char *name, int64_t v)
{
	return (gb_attr){.name = name, .type = GB_ATTR_INT, .i = v};
}

static gb_attr attr_float(const char *name, float v)
{
	return (gb_attr){.name = name, .type = GB_ATTR_FLOAT, .f = v};
}

/* Builds the model at opset, runs it and returns the status (outs filled on success). */
static gb_status run_at(int64_t opset, const char *op, int n_in, gb_tensor *const *ins, const int *consts,
                        int n_out, const gb_attr *attrs, int n_attrs, gb_tensor **outs, gb_error *err)
{
	gb_model *m = tu_single_opset(opset, op, n_in, (const gb_tensor *const *)ins, consts, n_out, attrs, n_attrs, err);
	if (!m)
		return err->status;
	gb_status st = tu_run(m, n_in, (const gb_tensor *const *)ins, consts, outs, err);
	gb_model_free(m);
	return st;
}

static int grad_at(int64_t opset, const char *op, int n_in, gb_tensor *const *ins, const int *consts, int n_out,
                   const gb_attr *attrs, int n_attrs)
{
	gb_error err = {0};
	gb_model *m = tu_single_opset(opset, op, n_in, (const gb_tensor *const *)ins, consts, n_out, attrs, n_attrs, &err);
	cr_assert_not_null(m, "%s", err.msg);
	int bad = tu_gradcheck(m, n_in, ins, consts, 1e-3, 1e-3, 1e-2);
	gb_model_free(m);
	return bad;
}

/* ---- BatchNormalization ------------------------------------------------------------- */

static void ref_batchnorm(const gb_tensor *x, const float *s, const float *b, const float *mean, const float *var,
                          double eps, int spatial, float *y)
{
	int64_t N = x->dims[0], C = x->dims[1], inner = 1;
	for (int d = 2; d < x->ndim; d++)
		inner *= x->dims[d];
	const float *xd = x->data;
	for (int64_t n = 0; n < N; n++)
		for (int64_t c = 0; c < C; c++)
			for (int64_t i = 0; i < inner; i++) {
				int64_t at = (n * C + c) * inner + i, p = spatial ? c : c * inner + i;
				y[at] = (float)((double)s[p] * ((double)xd[at] - mean[p]) / sqrt((double)var[p] + eps) + b[p]);
			}
}

static void batchnorm_case(int64_t opset, int ndim, const int64_t *dims, int spatial, float eps, uint64_t seed)
{
	int64_t C = spatial ? dims[1] : 1;
	for (int d = 1; !spatial && d < ndim; d++)
		C *= dims[d];
	int64_t pdims[1] = {C};
	gb_tensor *ins[5] = {
		tu_random(ndim, dims, -2.0f, 2.0f, seed),      tu_random(1, pdims, 0.5f, 1.5f, seed + 1),
		tu_random(1, pdims, -1.0f, 1.0f, seed + 2),    tu_random(1, pdims, -0.5f, 0.5f, seed + 3),
		tu_random(1, pdims, 0.5f, 1.5f, seed + 4),
	};
	int consts[5] = {0, 1, 1, 1, 1};
	gb_attr attrs[2] = {attr_float("epsilon", eps), attr_int("spatial", spatial)};
	int n_attrs = opset < 9 ? 2 : 1;
	gb_error err = {0};
	gb_tensor *outs[1] = {0};
	cr_assert_eq(run_at(opset, "BatchNormalization", 5, ins, consts, 1, attrs, n_attrs, outs, &err), GB_OK, "%s",
	             err.msg);
	int64_t n = gb_tensor_numel(ins[0]);
	float *want = malloc((size_t)n * sizeof *want);
	ref_batchnorm(ins[0], ins[1]->data, ins[2]->data, ins[3]->data, ins[4]->data, eps, spatial, want);
	cr_assert_eq(tu_close(outs[0]->data, want, n, 1e-5, 1e-5), 0, "opset %lld rank %d", (long long)opset, ndim);
	cr_assert_eq(grad_at(opset, "BatchNormalization", 5, ins, consts, 1, attrs, n_attrs), 0, "opset %lld rank %d",
	             (long long)opset, ndim);
	free(want);
	gb_tensor_free(outs[0]);
	for (int k = 0; k < 5; k++)
		gb_tensor_free(ins[k]);
}

Test(batchnorm, forward_and_gradients)
{
	batchnorm_case(15, 4, (int64_t[]){2, 3, 4, 5}, 1, 1e-5f, 1);
	batchnorm_case(15, 2, (int64_t[]){4, 3}, 1, 1e-2f, 2);
	batchnorm_case(9, 3, (int64_t[]){2, 3, 7}, 1, 1e-3f, 3);
	batchnorm_case(0, 5, (int64_t[]){1, 2, 2, 3, 2}, 1, 1e-5f, 4);
	batchnorm_case(7, 4, (int64_t[]){2, 3, 2, 2}, 0, 1e-5f, 5); /* spatial = 0: per-element statistics */
	batchnorm_case(7, 4, (int64_t[]){2, 3, 2, 2}, 1, 1e-5f, 6);
}

Test(batchnorm, large_tensor_matches_reference)
{
	int64_t dims[4] = {4, 16, 17, 19}, pdims[1] = {16};
	gb_tensor *ins[5] = {tu_random(4, dims, -3.0f, 3.0f, 11), tu_random(1, pdims, -2.0f, 2.0f, 12),
	                     tu_random(1, pdims, -1.0f, 1.0f, 13), tu_random(1, pdims, -0.5f, 0.5f, 14),
	                     tu_random(1, pdims, 0.1f, 3.0f, 15)};
	int consts[5] = {0, 1, 1, 1, 1};
	gb_error err = {0};
	gb_tensor *outs[1] = {0};
	cr_assert_eq(run_at(15, "BatchNormalization", 5, ins, consts, 1, NULL, 0, outs, &err), GB_OK, "%s", err.msg);
	int64_t n = gb_tensor_numel(ins[0]);
	float *want = malloc((size_t)n * sizeof *want);
	ref_batchnorm(ins[0], ins[1]->data, ins[2]->data, ins[3]->data, ins[4]->data, 1e-5, 1, want);
	cr_assert_eq(tu_close(outs[0]->data, want, n, 1e-5, 1e-5), 0);
	free(want);
	gb_tensor_free(outs[0]);
	for (int k = 0; k < 5; k++)
		gb_tensor_free(ins[k]);
}

Test(batchnorm, unsupported_and_bad)
{
	int64_t dims[4] = {2, 3, 2, 2}, pdims[1] = {3}, wrong[1] = {4};
	gb_tensor *ins[5] = {tu_random(4, dims, -1, 1, 1), tu_random(1, pdims, 0.5f, 1, 2), tu_random(1, pdims, 0, 1, 3),
	                     tu_random(1, pdims, 0, 1, 4), tu_random(1, pdims, 0.5f, 1, 5)};
	int consts[5] = {0, 1, 1, 1, 1};
	gb_error err = {0};
	gb_tensor *outs[3] = {0};
	gb_attr training = attr_int("training_mode", 1);
	cr_assert_eq(run_at(15, "BatchNormalization", 5, ins, consts, 1, &training, 1, outs, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "training") != NULL, "%s", err.msg);
	cr_assert_eq(run_at(15, "BatchNormalization", 5, ins, consts, 3, NULL, 0, outs, &err), GB_STATUS_UNSUPPORTED);
	cr_assert_eq(run_at(6, "BatchNormalization", 5, ins, consts, 1, NULL, 0, outs, &err), GB_STATUS_UNSUPPORTED);
	gb_attr is_test = attr_int("is_test", 1);
	cr_assert_eq(run_at(6, "BatchNormalization", 5, ins, consts, 1, &is_test, 1, outs, &err), GB_OK, "%s", err.msg);
	gb_tensor_free(outs[0]);
	gb_attr bad_spatial = attr_int("spatial", 2);
	cr_assert_eq(run_at(7, "BatchNormalization", 5, ins, consts, 1, &bad_spatial, 1, outs, &err), GB_STATUS_BAD_FILE);
	gb_attr bad_mode = attr_int("training_mode", 5);
	cr_assert_eq(run_at(15, "BatchNormalization", 5, ins, consts, 1, &bad_mode, 1, outs, &err), GB_STATUS_BAD_FILE);
	gb_attr bad_eps = attr_float("epsilon", -1.0f);
	cr_assert_eq(run_at(15, "BatchNormalization", 5, ins, consts, 1, &bad_eps, 1, outs, &err), GB_STATUS_BAD_FILE);
	/* spatial = 0 with per-channel statistics: the sizes do not fit. */
	gb_attr spatial0 = attr_int("spatial", 0);
	cr_assert_eq(run_at(7, "BatchNormalization", 5, ins, consts, 1, &spatial0, 1, outs, &err), GB_STATUS_BAD_FILE);
	gb_tensor *keep = ins[3];
	ins[3] = tu_random(1, wrong, 0, 1, 6);
	cr_assert_eq(run_at(15, "BatchNormalization", 5, ins, consts, 1, NULL, 0, outs, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "mean") != NULL, "%s", err.msg);
	gb_tensor_free(ins[3]);
	ins[3] = keep;
	gb_tensor *keep_x = ins[0];
	ins[0] = tu_tensor(GB_DTYPE_I64, 4, dims, NULL);
	cr_assert_eq(run_at(15, "BatchNormalization", 5, ins, consts, 1, NULL, 0, outs, &err), GB_STATUS_UNSUPPORTED);
	gb_tensor_free(ins[0]);
	ins[0] = keep_x;
	for (int k = 0; k < 5; k++)
		gb_tensor_free(ins[k]);
}

/* ---- LayerNormalization ------------------------------------------------------------- */

/* Reference with Scale/B given by explicit full-size expansions sx, bx (NULL = 1, 0). */
static void ref_layernorm(const gb_tensor *x, int axis, double eps, const float *sx, const float *bx, float *y,
                          float *mean, float *inv)
{
	int64_t outer = 1, inner = 1;
	for (int d = 0; d < x->ndim; d++)
		*(d < axis ? &outer : &inner) *= x->dims[d];
	const float *xd = x->data;
	for (int64_t o = 0; o < outer; o++) {
		double mu = 0.0, var = 0.0;
		for (int64_t j = 0; j < inner; j++)
			mu += xd[o * inner + j];
		mu /= (double)inner;
		for (int64_t j = 0; j < inner; j++)
			var += (xd[o * inner + j] - mu) * (xd[o * inner + j] - mu);
		var /= (double)inner;
		double r = 1.0 / sqrt(var + eps);
		mean[o] = (float)mu;
		inv[o] = (float)r;
		for (int64_t j = 0; j < inner; j++) {
			int64_t i = o * inner + j;
			y[i] = (float)((xd[i] - mu) * r * (sx ? sx[i] : 1.0) + (bx ? bx[i] : 0.0));
		}
	}
}

/* Expands P (broadcast, right-aligned) to x's shape. */
static float *expand(const gb_tensor *p, const gb_tensor *x)
{
	if (!p)
		return NULL;
	int64_t n = gb_tensor_numel(x);
	float *e = malloc((size_t)n * sizeof *e);
	for (int64_t i = 0; i < n; i++) {
		int64_t rem = i, off = 0, mul = 1;
		for (int d = x->ndim - 1; d >= 0; d--) {
			int64_t idx = rem % x->dims[d];
			rem /= x->dims[d];
			int pd = p->ndim - x->ndim + d;
			if (pd >= 0 && p->dims[pd] != 1) {
				off += idx * mul;
			}
			if (pd >= 0)
				mul *= p->dims[pd];
		}
		e[i] = ((const float *)p->data)[off];
	}
	return e;
}

typedef struct ln_case {
	int ndim;
	int64_t dims[4];
	int64_t axis;
	int s_ndim; /* -1: Scale omitted */
	int64_t s_dims[4];
	int b_ndim;
	int64_t b_dims[4];
	float eps;
} ln_case;

/* clang-format off */
static const ln_case ln_cases[] = {
	{2, {3, 4}, -1, 1, {4}, 1, {4}, 1e-5f},
	{2, {3, 4}, 0, 2, {3, 4}, 2, {3, 4}, 1e-5f},
	{2, {3, 4}, 1, 1, {4}, -1, {0}, 1e-5f},
	{3, {2, 3, 5}, -2, 2, {3, 5}, 2, {3, 5}, 1e-2f},
	{3, {2, 3, 5}, 1, 2, {1, 5}, 1, {1}, 1e-3f},       /* Scale broadcasts inside the normalised block */
	{3, {2, 3, 5}, -1, 2, {3, 1}, 3, {2, 1, 5}, 1e-5f}, /* varies along outer dims: general broadcast */
	{4, {2, 3, 2, 4}, 2, 3, {1, 2, 4}, 2, {2, 4}, 1e-5f},
	{4, {2, 3, 2, 4}, -4, 4, {2, 3, 2, 4}, 1, {4}, 1e-5f},
	{3, {2, 3, 5}, -1, -1, {0}, -1, {0}, 1e-5f},       /* neither Scale nor B */
};
/* clang-format on */

Test(layernorm, forward_and_gradients)
{
	for (int ci = 0; ci < (int)(sizeof ln_cases / sizeof ln_cases[0]); ci++) {
		const ln_case *c = &ln_cases[ci];
		gb_tensor *ins[3] = {tu_random(c->ndim, c->dims, -2.0f, 2.0f, (uint64_t)ci + 1),
		                     c->s_ndim >= 0 ? tu_random(c->s_ndim, c->s_dims, 0.5f, 1.5f, (uint64_t)ci + 50) : NULL,
		                     c->b_ndim >= 0 ? tu_random(c->b_ndim, c->b_dims, -1.0f, 1.0f, (uint64_t)ci + 99) : NULL};
		int consts[3] = {0, 1, 1};
		int n_in = ins[2] ? 3 : ins[1] ? 2 : 1;
		gb_attr attrs[2] = {attr_int("axis", c->axis), attr_float("epsilon", c->eps)};
		gb_error err = {0};
		gb_tensor *outs[3] = {0};
		cr_assert_eq(run_at(17, "LayerNormalization", n_in, ins, consts, 3, attrs, 2, outs, &err), GB_OK,
		             "case %d: %s", ci, err.msg);
		int axis = (int)(c->axis < 0 ? c->axis + c->ndim : c->axis);
		int64_t n = gb_tensor_numel(ins[0]), outer = 1;
		for (int d = 0; d < axis; d++)
			outer *= c->dims[d];
		float *sx = expand(ins[1], ins[0]), *bx = expand(ins[2], ins[0]);
		float *y = malloc((size_t)n * sizeof *y), *mean = malloc((size_t)outer * sizeof *mean),
		      *inv = malloc((size_t)outer * sizeof *inv);
		ref_layernorm(ins[0], axis, c->eps, sx, bx, y, mean, inv);
		cr_assert_eq(tu_close(outs[0]->data, y, n, 1e-5, 1e-5), 0, "case %d Y", ci);
		cr_assert_eq(tu_close(outs[1]->data, mean, outer, 1e-6, 1e-5), 0, "case %d Mean", ci);
		cr_assert_eq(tu_close(outs[2]->data, inv, outer, 1e-6, 1e-5), 0, "case %d InvStdDev", ci);
		cr_assert_eq(outs[1]->ndim, c->ndim);
		for (int d = 0; d < c->ndim; d++)
			cr_assert_eq(outs[1]->dims[d], d < axis ? c->dims[d] : 1, "case %d", ci);
		cr_assert_eq(grad_at(17, "LayerNormalization", n_in, ins, consts, 3, attrs, 2), 0, "case %d", ci);
		/* Only Y bound: the common single-output form. */
		cr_assert_eq(grad_at(17, "LayerNormalization", n_in, ins, consts, 1, attrs, 2), 0, "case %d Y only", ci);
		free(sx);
		free(bx);
		free(y);
		free(mean);
		free(inv);
		for (int k = 0; k < 3; k++) {
			gb_tensor_free(outs[k]);
			gb_tensor_free(ins[k]);
		}
	}
}

Test(layernorm, unsupported_and_bad)
{
	int64_t dims[2] = {3, 4}, sd[1] = {4}, bad_sd[1] = {3}, big_sd[3] = {2, 3, 4};
	gb_tensor *ins[2] = {tu_random(2, dims, -1, 1, 1), tu_random(1, sd, 0.5f, 1, 2)};
	int consts[2] = {0, 1};
	gb_error err = {0};
	gb_tensor *outs[1] = {0};
	gb_attr axis = attr_int("axis", 2);
	cr_assert_eq(run_at(17, "LayerNormalization", 2, ins, consts, 1, &axis, 1, outs, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "axis") != NULL, "%s", err.msg);
	gb_attr stash = attr_int("stash_type", 10);
	cr_assert_eq(run_at(17, "LayerNormalization", 2, ins, consts, 1, &stash, 1, outs, &err), GB_STATUS_UNSUPPORTED);
	gb_attr eps_type = attr_int("epsilon", 1);
	cr_assert_eq(run_at(17, "LayerNormalization", 2, ins, consts, 1, &eps_type, 1, outs, &err), GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	ins[1] = tu_random(1, bad_sd, 0.5f, 1, 3);
	cr_assert_eq(run_at(17, "LayerNormalization", 2, ins, consts, 1, NULL, 0, outs, &err), GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	ins[1] = tu_random(3, big_sd, 0.5f, 1, 4);
	cr_assert_eq(run_at(17, "LayerNormalization", 2, ins, consts, 1, NULL, 0, outs, &err), GB_STATUS_UNSUPPORTED);
	gb_tensor_free(ins[1]);
	gb_tensor_free(ins[0]);
}

/* ---- Softmax / LogSoftmax ----------------------------------------------------------- */

static void ref_softmax(const gb_tensor *x, int64_t opset, int64_t axis_attr, int is_log, float *y)
{
	int axis = (int)(axis_attr < 0 ? axis_attr + x->ndim : axis_attr);
	int64_t outer = 1, L = 1, inner = 1;
	for (int d = 0; d < x->ndim; d++) {
		if (d < axis)
			outer *= x->dims[d];
		else if (d == axis || opset < 13)
			L *= x->dims[d];
		else
			inner *= x->dims[d];
	}
	const float *xd = x->data;
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++) {
			double mx = -INFINITY, sum = 0.0;
			for (int64_t l = 0; l < L; l++)
				mx = fmax(mx, xd[(o * L + l) * inner + i]);
			for (int64_t l = 0; l < L; l++)
				sum += exp(xd[(o * L + l) * inner + i] - mx);
			for (int64_t l = 0; l < L; l++) {
				double v = xd[(o * L + l) * inner + i] - mx;
				y[(o * L + l) * inner + i] = (float)(is_log ? v - log(sum) : exp(v) / sum);
			}
		}
}

typedef struct sm_case {
	int64_t opset;
	int has_axis;
	int64_t axis;
	int ndim;
	int64_t dims[4];
} sm_case;

/* clang-format off */
static const sm_case sm_cases[] = {
	{13, 0, 0, 3, {2, 3, 4}},  /* default -1 */
	{13, 1, 0, 3, {2, 3, 4}},
	{13, 1, 1, 3, {2, 3, 4}},  /* middle axis: strided */
	{13, 1, -2, 3, {2, 3, 4}},
	{13, 1, -3, 4, {2, 2, 3, 2}},
	{0, 1, 1, 3, {2, 3, 4}},   /* opset 0 = newest */
	{11, 0, 0, 3, {2, 3, 4}},  /* default 1, flattened trailing block of 12 */
	{11, 1, 0, 3, {2, 3, 4}},  /* everything */
	{11, 1, -1, 3, {2, 3, 4}},
	{1, 1, 2, 4, {2, 2, 3, 2}},
	{13, 1, 0, 1, {7}},
	{11, 1, 0, 1, {7}},
};
/* clang-format on */

Test(softmax, forward_and_gradients)
{
	const char *ops[2] = {"Softmax", "LogSoftmax"};
	for (int oi = 0; oi < 2; oi++)
		for (int ci = 0; ci < (int)(sizeof sm_cases / sizeof sm_cases[0]); ci++) {
			const sm_case *c = &sm_cases[ci];
			gb_tensor *ins[1] = {tu_random(c->ndim, c->dims, -3.0f, 3.0f, (uint64_t)ci + 7)};
			gb_attr axis = attr_int("axis", c->axis);
			gb_error err = {0};
			gb_tensor *outs[1] = {0};
			cr_assert_eq(run_at(c->opset, ops[oi], 1, ins, NULL, 1, &axis, c->has_axis, outs, &err), GB_OK,
			             "%s case %d: %s", ops[oi], ci, err.msg);
			int64_t n = gb_tensor_numel(ins[0]);
			float *want = malloc((size_t)n * sizeof *want);
			int64_t eff_opset = c->opset == 0 ? 13 : c->opset;
			ref_softmax(ins[0], eff_opset, c->has_axis ? c->axis : (eff_opset < 13 ? 1 : -1), oi, want);
			cr_assert_eq(tu_close(outs[0]->data, want, n, 1e-6, 1e-5), 0, "%s case %d", ops[oi], ci);
			cr_assert_eq(grad_at(c->opset, ops[oi], 1, ins, NULL, 1, &axis, c->has_axis), 0, "%s case %d", ops[oi],
			             ci);
			free(want);
			gb_tensor_free(outs[0]);
			gb_tensor_free(ins[0]);
		}
}

Test(softmax, old_and_new_semantics_differ)
{
	int64_t dims[3] = {2, 3, 4};
	gb_tensor *ins[1] = {tu_random(3, dims, -1, 1, 3)};
	gb_attr axis = attr_int("axis", 1);
	gb_error err = {0};
	gb_tensor *old[1] = {0}, *now[1] = {0};
	cr_assert_eq(run_at(11, "Softmax", 1, ins, NULL, 1, &axis, 1, old, &err), GB_OK);
	cr_assert_eq(run_at(13, "Softmax", 1, ins, NULL, 1, &axis, 1, now, &err), GB_OK);
	/* Opset 11 sums to 1 over each sample's 12 values, opset 13 over each column of 3. */
	const float *o = old[0]->data, *n = now[0]->data;
	for (int s = 0; s < 2; s++) {
		double sum = 0.0;
		for (int i = 0; i < 12; i++)
			sum += o[s * 12 + i];
		cr_assert_float_eq(sum, 1.0, 1e-5);
		for (int col = 0; col < 4; col++)
			cr_assert_float_eq(n[s * 12 + col] + n[s * 12 + 4 + col] + n[s * 12 + 8 + col], 1.0f, 1e-5f);
	}
	gb_tensor_free(old[0]);
	gb_tensor_free(now[0]);
	gb_tensor_free(ins[0]);
}

Test(softmax, large_values_and_wide_batch)
{
	int64_t dims[2] = {10000, 10};
	gb_tensor *ins[1] = {tu_random(2, dims, -20.0f, 20.0f, 5)};
	float *xd = ins[0]->data;
	xd[0] = 1000.0f; /* exp would overflow without the max shift */
	xd[1] = 1001.0f;
	xd[13] = -1000.0f;
	const char *ops[2] = {"Softmax", "LogSoftmax"};
	for (int oi = 0; oi < 2; oi++) {
		gb_error err = {0};
		gb_tensor *outs[1] = {0};
		cr_assert_eq(run_at(13, ops[oi], 1, ins, NULL, 1, NULL, 0, outs, &err), GB_OK, "%s", err.msg);
		float *want = malloc(100000 * sizeof *want);
		ref_softmax(ins[0], 13, -1, oi, want);
		cr_assert_eq(tu_close(outs[0]->data, want, 100000, 1e-6, 1e-5), 0, "%s", ops[oi]);
		cr_assert(isfinite(((float *)outs[0]->data)[1]));
		free(want);
		gb_tensor_free(outs[0]);
	}
	gb_tensor_free(ins[0]);
}

Test(softmax, unsupported_and_bad)
{
	int64_t dims[2] = {2, 3};
	gb_tensor *ins[1] = {tu_random(2, dims, -1, 1, 1)};
	gb_error err = {0};
	gb_tensor *outs[1] = {0};
	gb_attr axis = attr_int("axis", 2);
	cr_assert_eq(run_at(13, "Softmax", 1, ins, NULL, 1, &axis, 1, outs, &err), GB_STATUS_BAD_FILE);
	cr_assert_eq(run_at(11, "LogSoftmax", 1, ins, NULL, 1, &axis, 1, outs, &err), GB_STATUS_BAD_FILE);
	gb_attr axis_f = attr_float("axis", 1.0f);
	cr_assert_eq(run_at(13, "Softmax", 1, ins, NULL, 1, &axis_f, 1, outs, &err), GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[0]);
	ins[0] = tu_tensor(GB_DTYPE_I64, 2, dims, NULL);
	cr_assert_eq(run_at(13, "Softmax", 1, ins, NULL, 1, NULL, 0, outs, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "int64") != NULL, "%s", err.msg);
	gb_tensor_free(ins[0]);
}
