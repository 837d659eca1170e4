/*
 * test_reduce.c — ReduceSum, ReduceMean, ReduceMax, ReduceMin (float32 and
 * int64) and ArgMax against a naive reference over a table of axes /
 * keepdims / opset combinations (axes as attribute and as input, negative,
 * non-adjacent, empty, noop_with_empty_axes); gradient checks; empty sets;
 * ties and NaN; bad and unsupported attributes. TopK against a naive
 * selection (ties, NaN, both K forms), its gradient and its errors.
 */
#include <criterion/criterion.h>

#include "testutil.h"

static gb_attr attr_int(const char *name, int64_t v)
{
	return (gb_attr){.name = name, .type = GB_ATTR_INT, .i = v};
}

static gb_attr attr_ints(const char *name, int64_t n, const int64_t *v)
{
	return (gb_attr){.name = name, .type = GB_ATTR_INTS, .n = n, .ints = (int64_t *)v};
}

/* Distinct values (a shuffled ramp 0.01 apart): no ties for max. */
static gb_tensor *distinct(int ndim, const int64_t *dims, uint64_t seed)
{
	gb_tensor *t = tu_tensor(GB_DTYPE_F32, ndim, dims, NULL);
	float *d = t->data;
	int64_t n = gb_tensor_numel(t);
	for (int64_t i = 0; i < n; i++)
		d[i] = 0.01f * (float)(i - n / 2);
	uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 7;
	for (int64_t i = n - 1; i > 0; i--) {
		int64_t j = (int64_t)(tu_uniform(&state) * (double)(i + 1));
		float tmp = d[i];
		d[i] = d[j];
		d[j] = tmp;
	}
	return t;
}

/* ---- reference --------------------------------------------------------------------- */

typedef struct red_case {
	const char *op;
	int64_t opset;
	int ndim;
	int64_t dims[5];
	int n_axes;          /* -1: no axes at all */
	int64_t axes[5];
	int axes_as_input;   /* 1: graph input, 2: initializer, 0: attribute */
	int keepdims;
	int noop;
} red_case;

/* Output shape and values by brute force: every input element is folded into
 * the output element whose coordinates match on the kept dims. */
static void ref_reduce(const red_case *c, const gb_tensor *x, double *y, int64_t *out_dims, int *out_ndim,
                       int64_t *out_n)
{
	int red[5] = {0};
	int all = c->n_axes <= 0;
	if (all && c->noop) {
		*out_ndim = c->ndim;
		*out_n = gb_tensor_numel(x);
		for (int d = 0; d < c->ndim; d++)
			out_dims[d] = c->dims[d];
		for (int64_t i = 0; i < *out_n; i++)
			y[i] = x->dtype == GB_DTYPE_F32 ? ((float *)x->data)[i] : (double)((int64_t *)x->data)[i];
		return;
	}
	for (int d = 0; d < c->ndim; d++)
		red[d] = all;
	for (int i = 0; i < c->n_axes; i++)
		red[c->axes[i] < 0 ? c->axes[i] + c->ndim : c->axes[i]] = 1;
	*out_ndim = 0;
	*out_n = 1;
	int64_t count = 1;
	for (int d = 0; d < c->ndim; d++) {
		if (!red[d])
			*out_n *= c->dims[d];
		else
			count *= c->dims[d];
		if (!red[d] || c->keepdims)
			out_dims[(*out_ndim)++] = red[d] ? 1 : c->dims[d];
	}
	int is_max = strcmp(c->op, "ReduceMax") == 0, is_min = strcmp(c->op, "ReduceMin") == 0;
	for (int64_t o = 0; o < *out_n; o++)
		y[o] = is_max ? -INFINITY : is_min ? INFINITY : 0.0;
	for (int64_t i = 0; i < gb_tensor_numel(x); i++) {
		int64_t rem = i, o = 0, mul = 1;
		for (int d = c->ndim - 1; d >= 0; d--) {
			int64_t idx = rem % c->dims[d];
			rem /= c->dims[d];
			if (!red[d]) {
				o += idx * mul;
				mul *= c->dims[d];
			}
		}
		double v = x->dtype == GB_DTYPE_F32 ? ((float *)x->data)[i] : (double)((int64_t *)x->data)[i];
		y[o] = is_max ? fmax(y[o], v) : is_min ? fmin(y[o], v) : y[o] + v;
	}
	if (strcmp(c->op, "ReduceMean") == 0)
		for (int64_t o = 0; o < *out_n; o++)
			y[o] /= (double)count;
}

static gb_model *case_model(const red_case *c, gb_tensor **ins, int *n_in, int *consts, gb_error *err)
{
	gb_attr attrs[3];
	int n_attrs = 0;
	attrs[n_attrs++] = attr_int("keepdims", c->keepdims);
	if (c->noop)
		attrs[n_attrs++] = attr_int("noop_with_empty_axes", 1);
	*n_in = 1;
	consts[0] = consts[1] = 0;
	ins[1] = NULL;
	if (c->n_axes >= 0 && !c->axes_as_input) {
		attrs[n_attrs++] = attr_ints("axes", c->n_axes, c->axes);
	} else if (c->n_axes >= 0) {
		int64_t adims[1] = {c->n_axes};
		ins[1] = tu_tensor(GB_DTYPE_I64, 1, adims, c->axes);
		consts[1] = c->axes_as_input == 2;
		*n_in = 2;
	}
	return tu_single_opset(c->opset, c->op, *n_in, (const gb_tensor *const *)ins, consts, 1, attrs, n_attrs, err);
}

/* clang-format off */
static const red_case cases[] = {
	{"ReduceSum", 11, 3, {2, 3, 4}, 1, {1}, 0, 1, 0},
	{"ReduceSum", 11, 3, {2, 3, 4}, 1, {-1}, 0, 0, 0},
	{"ReduceSum", 11, 3, {2, 3, 4}, 2, {0, 2}, 0, 1, 0},
	{"ReduceSum", 11, 3, {2, 3, 4}, -1, {0}, 0, 0, 0},     /* no axes: everything */
	{"ReduceSum", 13, 3, {2, 3, 4}, 2, {-3, 1}, 1, 0, 0},
	{"ReduceSum", 13, 3, {2, 3, 4}, 1, {2}, 2, 1, 0},
	{"ReduceSum", 13, 3, {2, 3, 4}, 0, {0}, 1, 1, 0},      /* empty axes input: everything */
	{"ReduceSum", 13, 3, {2, 3, 4}, 0, {0}, 1, 1, 1},      /* noop_with_empty_axes */
	{"ReduceSum", 13, 3, {2, 3, 4}, -1, {0}, 0, 0, 1},     /* no input at all: noop too */
	{"ReduceSum", 0, 4, {3, 1, 4, 5}, 2, {1, 3}, 1, 1, 0}, /* size-1 dims merge either way */
	{"ReduceSum", 13, 5, {2, 3, 2, 3, 2}, 3, {0, 2, 4}, 1, 0, 0},
	{"ReduceMean", 11, 3, {2, 3, 4}, 1, {1}, 0, 1, 0},
	{"ReduceMean", 13, 3, {2, 3, 4}, 2, {0, -1}, 0, 0, 0},
	{"ReduceMean", 18, 3, {2, 3, 4}, 1, {-2}, 1, 1, 0},
	{"ReduceMean", 18, 3, {2, 3, 4}, -1, {0}, 0, 1, 0},
	{"ReduceMean", 18, 3, {2, 3, 4}, 0, {0}, 2, 0, 1},
	{"ReduceMean", 18, 4, {5, 2, 3, 7}, 2, {1, 2}, 2, 1, 0},
	{"ReduceMax", 11, 3, {2, 3, 4}, 1, {0}, 0, 1, 0},
	{"ReduceMax", 13, 3, {2, 3, 4}, 1, {-1}, 0, 0, 0},
	{"ReduceMax", 18, 3, {2, 3, 4}, 2, {2, 0}, 1, 1, 0},
	{"ReduceMax", 18, 3, {2, 3, 4}, -1, {0}, 0, 0, 0},
	{"ReduceMax", 18, 4, {2, 3, 1, 4}, 2, {1, 3}, 2, 0, 0},
	{"ReduceMax", 18, 2, {3, 4}, 0, {0}, 1, 1, 1},
	{"ReduceMax", 20, 1, {9}, 1, {0}, 1, 0, 0},            /* to a scalar */
	{"ReduceMin", 11, 3, {2, 3, 4}, 1, {0}, 0, 1, 0},
	{"ReduceMin", 13, 3, {2, 3, 4}, 1, {-1}, 0, 0, 0},
	{"ReduceMin", 13, 3, {2, 3, 4}, -1, {0}, 0, 1, 0},     /* no axes: everything */
	{"ReduceMin", 18, 3, {2, 3, 4}, 2, {2, 0}, 1, 1, 0},
	{"ReduceMin", 18, 3, {2, 3, 4}, -1, {0}, 0, 0, 0},
	{"ReduceMin", 18, 4, {2, 3, 1, 4}, 2, {1, 3}, 2, 0, 0},
	{"ReduceMin", 18, 2, {3, 4}, 0, {0}, 1, 1, 1},
	{"ReduceMin", 18, 2, {3, 4}, 0, {0}, 1, 0, 0},        /* empty axes input: everything */
	{"ReduceMin", 0, 1, {9}, 1, {0}, 1, 0, 0},             /* to a scalar */
};
/* clang-format on */
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

static void check_case(int ci, gb_dtype dtype)
{
	const red_case *c = &cases[ci];
	gb_tensor *ins[2];
	if (dtype == GB_DTYPE_F32) {
		ins[0] = distinct(c->ndim, c->dims, (uint64_t)ci + 1);
	} else {
		ins[0] = tu_tensor(GB_DTYPE_I64, c->ndim, c->dims, NULL);
		int64_t *d = ins[0]->data;
		uint64_t state = (uint64_t)ci + 5;
		for (int64_t i = 0; i < gb_tensor_numel(ins[0]); i++)
			d[i] = (int64_t)(tu_uniform(&state) * 2000.0) - 1000;
	}
	int n_in, consts[2];
	gb_error err = {0};
	gb_model *m = case_model(c, ins, &n_in, consts, &err);
	cr_assert_not_null(m, "case %d: %s", ci, err.msg);
	gb_tensor *outs[1] = {0};
	cr_assert_eq(tu_run(m, n_in, (const gb_tensor *const *)ins, consts, outs, &err), GB_OK, "case %d: %s", ci,
	             err.msg);
	double want[256];
	int64_t want_dims[5], want_n;
	int want_ndim;
	ref_reduce(c, ins[0], want, want_dims, &want_ndim, &want_n);
	cr_assert_eq(outs[0]->dtype, dtype, "case %d", ci);
	cr_assert_eq(outs[0]->ndim, want_ndim, "case %d: rank %d, want %d", ci, outs[0]->ndim, want_ndim);
	for (int d = 0; d < want_ndim; d++)
		cr_assert_eq(outs[0]->dims[d], want_dims[d], "case %d dim %d", ci, d);
	for (int64_t o = 0; o < want_n; o++) {
		if (dtype == GB_DTYPE_F32)
			cr_assert_float_eq(((float *)outs[0]->data)[o], want[o], 1e-5 + 1e-5 * fabs(want[o]), "case %d [%lld]",
			                   ci, (long long)o);
		else
			cr_assert_eq(((int64_t *)outs[0]->data)[o], (int64_t)want[o], "case %d [%lld]", ci, (long long)o);
	}
	if (dtype == GB_DTYPE_F32)
		cr_assert_eq(tu_gradcheck(m, n_in, ins, consts, 1e-3, 1e-3, 1e-2), 0, "case %d (%s)", ci, c->op);
	gb_tensor_free(outs[0]);
	gb_tensor_free(ins[0]);
	gb_tensor_free(ins[1]);
	gb_model_free(m);
}

Test(reduce, float_forward_and_gradients)
{
	for (int ci = 0; ci < N_CASES; ci++)
		check_case(ci, GB_DTYPE_F32);
}

Test(reduce, int64_sum_max_and_min)
{
	for (int ci = 0; ci < N_CASES; ci++)
		if (strcmp(cases[ci].op, "ReduceMean") != 0)
			check_case(ci, GB_DTYPE_I64);
}

/* Gradient of op (ReduceMax/ReduceMin) over axis `axis` of x (2x3) seeded with seed_vals. */
static void extremum_tie_grad(const char *op, const float *xv, int64_t axis, const float *seed_vals,
                              const float *want)
{
	int64_t dims[2] = {2, 3};
	gb_tensor *ins[1] = {tu_tensor(GB_DTYPE_F32, 2, dims, xv)};
	int64_t axes[1] = {axis};
	gb_attr a[1] = {attr_ints("axes", 1, axes)};
	gb_error err = {0};
	gb_model *m = tu_single_opset(13, op, 1, (const gb_tensor *const *)ins, NULL, 1, a, 1, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_session *s = NULL;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_set_input(s, 0, ins[0], &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK);
	int64_t ydims[2] = {axis == 1 ? 2 : 1, axis == 1 ? 1 : 3};
	gb_tensor *seed = tu_tensor(GB_DTYPE_F32, 2, ydims, seed_vals);
	const gb_tensor *seeds[1] = {seed};
	cr_assert_eq(gb_session_backward(s, seeds, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(gb_session_input_grad(s, 0)->data, want, 6, 0, 0), 0, "%s axis %lld", op, (long long)axis);
	gb_tensor_free(seed);
	gb_session_free(s);
	gb_tensor_free(ins[0]);
	gb_model_free(m);
}

Test(reduce, max_backward_takes_first_of_ties)
{
	/* Reducing the innermost axis, then the outer one (a kept inner run). */
	extremum_tie_grad("ReduceMax", (float[]){1, 4, 4, 2, 2, 0}, 1, (float[]){3, 5}, (float[]){0, 3, 0, 5, 0, 0});
	extremum_tie_grad("ReduceMax", (float[]){1, 4, 7, 1, 4, 7}, 0, (float[]){3, 5, 6}, (float[]){3, 5, 6, 0, 0, 0});
}

Test(reduce, min_backward_takes_first_of_ties)
{
	extremum_tie_grad("ReduceMin", (float[]){5, 1, 1, 0, 2, 0}, 1, (float[]){3, 5}, (float[]){0, 3, 0, 5, 0, 0});
	extremum_tie_grad("ReduceMin", (float[]){1, 4, 7, 1, 4, 7}, 0, (float[]){3, 5, 6}, (float[]){3, 5, 6, 0, 0, 0});
	extremum_tie_grad("ReduceMin", (float[]){1, 4, 7, 0, 9, 7}, 0, (float[]){3, 5, 6}, (float[]){0, 5, 6, 3, 0, 0});
}

Test(reduce, empty_sets)
{
	int64_t dims[3] = {2, 0, 4}, axes[1] = {1};
	const char *ops[4] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"};
	for (int oi = 0; oi < 4; oi++) {
		gb_tensor *ins[1] = {tu_tensor(GB_DTYPE_F32, 3, dims, NULL)};
		gb_attr a[1] = {attr_ints("axes", 1, axes)};
		gb_error err = {0};
		gb_model *m = tu_single_opset(11, ops[oi], 1, (const gb_tensor *const *)ins, NULL, 1, a, 1, &err);
		gb_tensor *outs[1] = {0};
		cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_OK, "%s", err.msg);
		cr_assert(outs[0]->ndim == 3 && outs[0]->dims[0] == 2 && outs[0]->dims[1] == 1 && outs[0]->dims[2] == 4);
		for (int i = 0; i < 8; i++) {
			float v = ((float *)outs[0]->data)[i];
			if (oi == 0)
				cr_assert_eq(v, 0.0f);
			else if (oi == 1)
				cr_assert(isnan(v));
			else if (oi == 2)
				cr_assert(isinf(v) && v < 0);
			else
				cr_assert(isinf(v) && v > 0);
		}
		gb_tensor_free(outs[0]);
		gb_model_free(m);
		/* A zero-sized kept dim: the output is empty. */
		int64_t keep_axes[1] = {2};
		a[0] = attr_ints("axes", 1, keep_axes);
		m = tu_single_opset(11, ops[oi], 1, (const gb_tensor *const *)ins, NULL, 1, a, 1, &err);
		cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_OK, "%s", err.msg);
		cr_assert(outs[0]->ndim == 3 && outs[0]->dims[1] == 0 && outs[0]->dims[2] == 1);
		gb_tensor_free(outs[0]);
		gb_model_free(m);
		gb_tensor_free(ins[0]);
	}
}

Test(reduce, large_inner_and_outer_sums)
{
	int64_t dims[3] = {37, 129, 65};
	gb_tensor *ins[1] = {tu_random(3, dims, -1, 1, 3)};
	const int64_t axes_sets[3][2] = {{2, 0}, {0, 0}, {1, 0}};
	for (int k = 0; k < 3; k++) {
		red_case c = {"ReduceSum", 11, 3, {37, 129, 65}, 1, {axes_sets[k][0]}, 0, 1, 0};
		int n_in, consts[2];
		gb_error err = {0};
		gb_tensor *tins[2] = {ins[0], NULL};
		gb_model *m = case_model(&c, tins, &n_in, consts, &err);
		gb_tensor *outs[1] = {0};
		cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)tins, NULL, outs, &err), GB_OK, "%s", err.msg);
		double *want = malloc(37 * 129 * 65 * sizeof *want);
		int64_t od[5], on;
		int ond;
		ref_reduce(&c, ins[0], want, od, &ond, &on);
		for (int64_t o = 0; o < on; o++)
			cr_assert_float_eq(((float *)outs[0]->data)[o], want[o], 1e-4, "axis %lld [%lld]",
			                   (long long)axes_sets[k][0], (long long)o);
		free(want);
		gb_tensor_free(outs[0]);
		gb_model_free(m);
	}
	gb_tensor_free(ins[0]);
}

Test(reduce, bad_and_unsupported)
{
	int64_t dims[3] = {2, 3, 4};
	gb_tensor *ins[2] = {tu_random(3, dims, -1, 1, 1), NULL};
	gb_error err = {0};
	gb_tensor *outs[1] = {0};
	gb_model *m;
	int64_t out_of_range[1] = {3}, dup[2] = {1, -2}, one[1] = {1};
	gb_attr a = attr_ints("axes", 1, out_of_range);
	m = tu_single_opset(11, "ReduceSum", 1, (const gb_tensor *const *)ins, NULL, 1, &a, 1, &err);
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_STATUS_BAD_FILE);
	gb_model_free(m);
	a = attr_ints("axes", 2, dup);
	m = tu_single_opset(11, "ReduceMean", 1, (const gb_tensor *const *)ins, NULL, 1, &a, 1, &err);
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "twice") != NULL, "%s", err.msg);
	gb_model_free(m);
	gb_attr kd = attr_int("keepdims", 2);
	cr_assert_null(tu_single_opset(11, "ReduceMax", 1, (const gb_tensor *const *)ins, NULL, 1, &kd, 1, &err));
	cr_assert_eq(err.status, GB_STATUS_BAD_FILE);
	/* An axes input before the op takes one, or together with the attribute. */
	int64_t adims[1] = {1};
	ins[1] = tu_tensor(GB_DTYPE_I64, 1, adims, one);
	cr_assert_null(tu_single_opset(11, "ReduceSum", 2, (const gb_tensor *const *)ins, NULL, 1, NULL, 0, &err));
	cr_assert_eq(err.status, GB_STATUS_BAD_FILE);
	cr_assert_null(tu_single_opset(13, "ReduceMean", 2, (const gb_tensor *const *)ins, NULL, 1, NULL, 0, &err));
	cr_assert_eq(err.status, GB_STATUS_BAD_FILE);
	cr_assert_null(tu_single_opset(17, "ReduceMin", 2, (const gb_tensor *const *)ins, NULL, 1, NULL, 0, &err));
	cr_assert_eq(err.status, GB_STATUS_BAD_FILE);
	a = attr_ints("axes", 1, one);
	cr_assert_null(tu_single_opset(18, "ReduceMax", 2, (const gb_tensor *const *)ins, NULL, 1, &a, 1, &err));
	cr_assert_eq(err.status, GB_STATUS_BAD_FILE);
	cr_assert_null(tu_single_opset(18, "ReduceMin", 2, (const gb_tensor *const *)ins, NULL, 1, &a, 1, &err));
	cr_assert_eq(err.status, GB_STATUS_BAD_FILE);
	/* A float axes input. */
	gb_tensor_free(ins[1]);
	ins[1] = tu_tensor(GB_DTYPE_F32, 1, adims, (float[]){1});
	m = tu_single_opset(13, "ReduceSum", 2, (const gb_tensor *const *)ins, NULL, 1, NULL, 0, &err);
	cr_assert_not_null(m, "%s", err.msg);
	cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, NULL, outs, &err), GB_STATUS_BAD_FILE);
	gb_model_free(m);
	gb_tensor_free(ins[1]);
	ins[1] = NULL;
	/* ReduceMean on int64, anything on int32. */
	gb_tensor_free(ins[0]);
	ins[0] = tu_tensor(GB_DTYPE_I64, 3, dims, NULL);
	m = tu_single_opset(18, "ReduceMean", 1, (const gb_tensor *const *)ins, NULL, 1, NULL, 0, &err);
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_STATUS_UNSUPPORTED);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
	ins[0] = tu_tensor(GB_DTYPE_I32, 3, dims, NULL);
	m = tu_single_opset(18, "ReduceSum", 1, (const gb_tensor *const *)ins, NULL, 1, NULL, 0, &err);
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "int32") != NULL, "%s", err.msg);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
}

/* ---- ArgMax --------------------------------------------------------------------------- */

static void ref_argmax(const gb_tensor *x, int axis, int select_last, int64_t *out)
{
	int64_t outer = 1, L = x->dims[axis], inner = 1;
	for (int d = 0; d < x->ndim; d++) {
		if (d < axis)
			outer *= x->dims[d];
		if (d > axis)
			inner *= x->dims[d];
	}
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++) {
			int64_t at = 0;
			double best = -INFINITY;
			for (int64_t l = 0; l < L; l++) {
				double v = x->dtype == GB_DTYPE_F32 ? ((float *)x->data)[(o * L + l) * inner + i]
				                                    : (double)((int64_t *)x->data)[(o * L + l) * inner + i];
				if (l == 0 || v > best || (select_last && v == best)) {
					best = v;
					at = l;
				}
			}
			out[o * inner + i] = at;
		}
}

Test(argmax, forward_table)
{
	int64_t dims[3] = {3, 4, 5};
	struct {
		int has_axis;
		int64_t axis;
		int keepdims, select_last;
		gb_dtype dtype;
	} argcases[] = {
		{0, 0, 1, 0, GB_DTYPE_F32}, {1, 1, 1, 0, GB_DTYPE_F32}, {1, -1, 0, 0, GB_DTYPE_F32},
		{1, 2, 1, 1, GB_DTYPE_F32}, {1, -3, 0, 1, GB_DTYPE_F32}, {1, 1, 0, 1, GB_DTYPE_I64},
		{1, 2, 1, 0, GB_DTYPE_I64},
	};
	for (int ci = 0; ci < (int)(sizeof argcases / sizeof argcases[0]); ci++) {
		/* Few distinct values: many ties, which select_last_index resolves. */
		gb_tensor *ins[1] = {tu_tensor(argcases[ci].dtype, 3, dims, NULL)};
		uint64_t state = (uint64_t)ci + 1;
		for (int i = 0; i < 60; i++) {
			int v = (int)(tu_uniform(&state) * 4.0);
			if (argcases[ci].dtype == GB_DTYPE_F32)
				((float *)ins[0]->data)[i] = (float)v;
			else
				((int64_t *)ins[0]->data)[i] = v;
		}
		gb_attr a[3] = {attr_int("keepdims", argcases[ci].keepdims), attr_int("select_last_index", argcases[ci].select_last),
		                attr_int("axis", argcases[ci].axis)};
		gb_error err = {0};
		gb_model *m = tu_single_opset(13, "ArgMax", 1, (const gb_tensor *const *)ins, NULL, 1, a,
		                              2 + argcases[ci].has_axis, &err);
		cr_assert_not_null(m, "%s", err.msg);
		gb_tensor *outs[1] = {0};
		cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_OK, "%s", err.msg);
		int axis = (int)(argcases[ci].axis < 0 ? argcases[ci].axis + 3 : argcases[ci].axis);
		cr_assert_eq(outs[0]->dtype, GB_DTYPE_I64);
		cr_assert_eq(outs[0]->ndim, argcases[ci].keepdims ? 3 : 2, "case %d", ci);
		int od = 0;
		for (int d = 0; d < 3; d++)
			if (d != axis || argcases[ci].keepdims)
				cr_assert_eq(outs[0]->dims[od++], d == axis ? 1 : dims[d], "case %d", ci);
		int64_t want[60];
		ref_argmax(ins[0], axis, argcases[ci].select_last, want);
		for (int64_t i = 0; i < gb_tensor_numel(outs[0]); i++)
			cr_assert_eq(((int64_t *)outs[0]->data)[i], want[i], "case %d [%lld]", ci, (long long)i);
		gb_tensor_free(outs[0]);
		gb_tensor_free(ins[0]);
		gb_model_free(m);
	}
}

Test(argmax, onnx_example_and_nan)
{
	int64_t dims[2] = {2, 2};
	gb_tensor *ins[1] = {tu_tensor(GB_DTYPE_F32, 2, dims, (float[]){2, 2, 3, -10})};
	gb_attr a[2] = {attr_int("axis", 1), attr_int("select_last_index", 1)};
	gb_error err = {0};
	gb_tensor *outs[1] = {0};
	gb_model *m = tu_single_opset(13, "ArgMax", 1, (const gb_tensor *const *)ins, NULL, 1, a, 2, &err);
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_OK, "%s", err.msg);
	cr_assert(((int64_t *)outs[0]->data)[0] == 1 && ((int64_t *)outs[0]->data)[1] == 0);
	gb_tensor_free(outs[0]);
	gb_model_free(m);
	((float *)ins[0]->data)[3] = NAN;
	m = tu_single_opset(13, "ArgMax", 1, (const gb_tensor *const *)ins, NULL, 1, a, 1, &err);
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_OK, "%s", err.msg);
	cr_assert(((int64_t *)outs[0]->data)[0] == 0 && ((int64_t *)outs[0]->data)[1] == 1);
	gb_tensor_free(outs[0]);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
}

Test(argmax, bad_and_unsupported)
{
	int64_t dims[2] = {2, 3}, empty[2] = {2, 0};
	gb_tensor *ins[1] = {tu_random(2, dims, -1, 1, 1)};
	gb_error err = {0};
	gb_tensor *outs[1] = {0};
	gb_attr axis = attr_int("axis", 2);
	gb_model *m = tu_single_opset(13, "ArgMax", 1, (const gb_tensor *const *)ins, NULL, 1, &axis, 1, &err);
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_STATUS_BAD_FILE);
	gb_model_free(m);
	gb_attr sl = attr_int("select_last_index", 7);
	cr_assert_null(tu_single_opset(13, "ArgMax", 1, (const gb_tensor *const *)ins, NULL, 1, &sl, 1, &err));
	cr_assert_eq(err.status, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[0]);
	ins[0] = tu_tensor(GB_DTYPE_F32, 2, empty, NULL);
	axis = attr_int("axis", 1);
	m = tu_single_opset(13, "ArgMax", 1, (const gb_tensor *const *)ins, NULL, 1, &axis, 1, &err);
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_STATUS_BAD_FILE);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
	ins[0] = tu_tensor(GB_DTYPE_U8, 2, dims, NULL);
	m = tu_single_opset(13, "ArgMax", 1, (const gb_tensor *const *)ins, NULL, 1, NULL, 0, &err);
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_STATUS_UNSUPPORTED);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
}

Test(reduce, max_propagates_nan)
{
	int64_t dims[2] = {2, 3};
	gb_tensor *ins[1] = {tu_tensor(GB_DTYPE_F32, 2, dims, (float[]){1, NAN, 3, 4, 5, 6})};
	for (int64_t axis = 0; axis < 2; axis++) {
		int64_t axes[1] = {axis};
		gb_attr a[1] = {attr_ints("axes", 1, axes)};
		gb_error err = {0};
		gb_model *m = tu_single_opset(13, "ReduceMax", 1, (const gb_tensor *const *)ins, NULL, 1, a, 1, &err);
		gb_tensor *outs[1] = {0};
		cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_OK, "%s", err.msg);
		const float *y = outs[0]->data;
		if (axis == 0)
			cr_assert(y[0] == 4 && isnan(y[1]) && y[2] == 6);
		else
			cr_assert(isnan(y[0]) && y[1] == 6);
		gb_tensor_free(outs[0]);
		gb_model_free(m);
	}
	gb_tensor_free(ins[0]);
}

Test(reduce, min_propagates_nan_and_int64_extremes)
{
	int64_t dims[2] = {2, 3};
	gb_tensor *ins[1] = {tu_tensor(GB_DTYPE_F32, 2, dims, (float[]){1, NAN, 3, 4, -5, 6})};
	for (int64_t axis = 0; axis < 2; axis++) {
		int64_t axes[1] = {axis};
		gb_attr a[1] = {attr_ints("axes", 1, axes)};
		gb_error err = {0};
		gb_model *m = tu_single_opset(13, "ReduceMin", 1, (const gb_tensor *const *)ins, NULL, 1, a, 1, &err);
		gb_tensor *outs[1] = {0};
		cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_OK, "%s", err.msg);
		const float *y = outs[0]->data;
		if (axis == 0)
			cr_assert(y[0] == 1 && isnan(y[1]) && y[2] == 3);
		else
			cr_assert(isnan(y[0]) && y[1] == -5);
		gb_tensor_free(outs[0]);
		gb_model_free(m);
	}
	gb_tensor_free(ins[0]);
	/* int64 at the ends of the range, and an empty set (INT64_MAX). */
	ins[0] = tu_tensor(GB_DTYPE_I64, 2, dims, (int64_t[]){INT64_MAX, INT64_MIN, 0, 7, -7, INT64_MAX});
	int64_t axes[1] = {1};
	gb_attr a[2] = {attr_ints("axes", 1, axes), attr_int("keepdims", 0)};
	gb_error err = {0};
	gb_model *m = tu_single_opset(13, "ReduceMin", 1, (const gb_tensor *const *)ins, NULL, 1, a, 2, &err);
	gb_tensor *outs[1] = {0};
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_OK, "%s", err.msg);
	cr_assert(((int64_t *)outs[0]->data)[0] == INT64_MIN && ((int64_t *)outs[0]->data)[1] == -7);
	gb_tensor_free(outs[0]);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
	int64_t empty[2] = {2, 0};
	ins[0] = tu_tensor(GB_DTYPE_I64, 2, empty, NULL);
	m = tu_single_opset(13, "ReduceMin", 1, (const gb_tensor *const *)ins, NULL, 1, a, 2, &err);
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_OK, "%s", err.msg);
	cr_assert(outs[0]->ndim == 1 && outs[0]->dims[0] == 2);
	cr_assert(((int64_t *)outs[0]->data)[0] == INT64_MAX && ((int64_t *)outs[0]->data)[1] == INT64_MAX);
	gb_tensor_free(outs[0]);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
}

/* ---- TopK ------------------------------------------------------------------------------ */

/* Naive TopK of x (3-D float) along axis: K rounds of "the best not yet
 * taken", the lower index winning ties. */
static void ref_topk(const gb_tensor *x, int axis, int64_t K, int largest, float *vals, int64_t *idx)
{
	int64_t outer = 1, L = x->dims[axis], inner = 1;
	for (int d = 0; d < x->ndim; d++) {
		if (d < axis)
			outer *= x->dims[d];
		if (d > axis)
			inner *= x->dims[d];
	}
	const float *xd = x->data;
	int taken[64];
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++) {
			memset(taken, 0, sizeof taken);
			for (int64_t k = 0; k < K; k++) {
				int64_t at = -1;
				for (int64_t l = 0; l < L; l++) {
					float v = xd[(o * L + l) * inner + i];
					if (taken[l])
						continue;
					if (at < 0 || (largest ? v > xd[(o * L + at) * inner + i] : v < xd[(o * L + at) * inner + i]))
						at = l;
				}
				taken[at] = 1;
				idx[(o * K + k) * inner + i] = at;
				vals[(o * K + k) * inner + i] = xd[(o * L + at) * inner + i];
			}
		}
}

/* A TopK model at opset 11 with K as an initializer (k_const) or a graph input. */
static gb_model *topk_model(gb_tensor **ins, int64_t K, int k_const, const gb_attr *attrs, int n_attrs,
                            int *consts, gb_error *err)
{
	int64_t one[1] = {1};
	ins[1] = tu_tensor(GB_DTYPE_I64, 1, one, &K);
	consts[0] = 0;
	consts[1] = k_const;
	return tu_single_opset(11, "TopK", 2, (const gb_tensor *const *)ins, consts, 2, attrs, n_attrs, err);
}

Test(topk, forward_table_with_ties_and_gradients)
{
	int64_t dims[3] = {3, 4, 5};
	for (int axis = -1; axis < 3; axis++)
		for (int largest = 0; largest < 2; largest++)
			for (int64_t K = 0; K <= dims[axis < 0 ? 2 : axis]; K++) {
				int ax = axis < 0 ? axis + 3 : axis;
				/* Few distinct values: many ties. */
				gb_tensor *ins[2] = {tu_tensor(GB_DTYPE_F32, 3, dims, NULL), NULL};
				uint64_t state = (uint64_t)(ax * 31 + largest * 7 + K + 1);
				for (int i = 0; i < 60; i++)
					((float *)ins[0]->data)[i] = (float)(int)(tu_uniform(&state) * 4.0) - 1.5f;
				gb_attr a[2] = {attr_int("axis", axis), attr_int("largest", largest)};
				int consts[2];
				gb_error err = {0};
				gb_model *m = topk_model(ins, K, (int)(K & 1), a, 2, consts, &err);
				cr_assert_not_null(m, "%s", err.msg);
				gb_tensor *outs[2] = {0};
				cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, consts, outs, &err), GB_OK, "%s", err.msg);
				cr_assert(outs[0]->dtype == GB_DTYPE_F32 && outs[1]->dtype == GB_DTYPE_I64);
				for (int d = 0; d < 3; d++) {
					cr_assert_eq(outs[0]->dims[d], d == ax ? K : dims[d]);
					cr_assert_eq(outs[1]->dims[d], d == ax ? K : dims[d]);
				}
				float want_v[60];
				int64_t want_i[60];
				ref_topk(ins[0], ax, K, largest, want_v, want_i);
				for (int64_t i = 0; i < gb_tensor_numel(outs[0]); i++) {
					cr_assert_eq(((float *)outs[0]->data)[i], want_v[i], "axis %d largest %d K %lld [%lld]", axis,
					             largest, (long long)K, (long long)i);
					cr_assert_eq(((int64_t *)outs[1]->data)[i], want_i[i], "axis %d largest %d K %lld [%lld]", axis,
					             largest, (long long)K, (long long)i);
				}
				gb_tensor_free(outs[0]);
				gb_tensor_free(outs[1]);
				gb_model_free(m);
				/* The gradient, on distinct values (no ties to flip). */
				gb_tensor_free(ins[0]);
				ins[0] = distinct(3, dims, (uint64_t)K + 3);
				gb_tensor_free(ins[1]);
				m = topk_model(ins, K, (int)(K & 1), a, 2, consts, &err);
				cr_assert_eq(tu_gradcheck(m, 2, ins, consts, 1e-3, 1e-3, 1e-2), 0, "axis %d largest %d K %lld", axis,
				             largest, (long long)K);
				gb_model_free(m);
				gb_tensor_free(ins[0]);
				gb_tensor_free(ins[1]);
			}
}

Test(topk, onnx_examples_ties_and_nan)
{
	int64_t d34[2] = {3, 4}, d5[1] = {5}, d3[1] = {3};
	gb_tensor *ins[2] = {tu_tensor(GB_DTYPE_F32, 2, d34, (float[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), NULL};
	int consts[2];
	gb_error err = {0};
	gb_tensor *outs[2] = {0};
	/* ONNX's top_k example (largest, axis 1, K 3) and top_k_smallest. */
	gb_model *m = topk_model(ins, 3, 0, NULL, 0, consts, &err);
	cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, consts, outs, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(outs[0]->data, (float[]){3, 2, 1, 7, 6, 5, 11, 10, 9}, 9, 0, 0), 0);
	cr_assert_eq(memcmp(outs[1]->data, (int64_t[]){3, 2, 1, 3, 2, 1, 3, 2, 1}, 9 * sizeof(int64_t)), 0);
	gb_tensor_free(outs[0]);
	gb_tensor_free(outs[1]);
	gb_model_free(m);
	gb_tensor_free(ins[1]);
	gb_attr smallest[2] = {attr_int("largest", 0), attr_int("sorted", 1)};
	m = topk_model(ins, 3, 1, smallest, 2, consts, &err);
	cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, consts, outs, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(outs[0]->data, (float[]){0, 1, 2, 4, 5, 6, 8, 9, 10}, 9, 0, 0), 0);
	cr_assert_eq(memcmp(outs[1]->data, (int64_t[]){0, 1, 2, 0, 1, 2, 0, 1, 2}, 9 * sizeof(int64_t)), 0);
	gb_tensor_free(outs[0]);
	gb_tensor_free(outs[1]);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
	gb_tensor_free(ins[1]);
	/* Ties: the lower index first, both ways. */
	ins[0] = tu_tensor(GB_DTYPE_F32, 1, d5, (float[]){3, 1, 3, 2, 3});
	m = topk_model(ins, 4, 0, NULL, 0, consts, &err);
	cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, consts, outs, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(outs[0]->data, (float[]){3, 3, 3, 2}, 4, 0, 0), 0);
	cr_assert_eq(memcmp(outs[1]->data, (int64_t[]){0, 2, 4, 3}, 4 * sizeof(int64_t)), 0);
	gb_tensor_free(outs[0]);
	gb_tensor_free(outs[1]);
	gb_model_free(m);
	gb_tensor_free(ins[1]);
	m = topk_model(ins, 4, 0, smallest, 1, consts, &err);
	cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, consts, outs, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(outs[0]->data, (float[]){1, 2, 3, 3}, 4, 0, 0), 0);
	cr_assert_eq(memcmp(outs[1]->data, (int64_t[]){1, 3, 0, 2}, 4 * sizeof(int64_t)), 0);
	gb_tensor_free(outs[0]);
	gb_tensor_free(outs[1]);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
	gb_tensor_free(ins[1]);
	/* NaN ranks above every number. */
	ins[0] = tu_tensor(GB_DTYPE_F32, 1, d3, (float[]){1, NAN, 3});
	m = topk_model(ins, 2, 0, NULL, 0, consts, &err);
	cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, consts, outs, &err), GB_OK, "%s", err.msg);
	cr_assert(isnan(((float *)outs[0]->data)[0]) && ((float *)outs[0]->data)[1] == 3);
	cr_assert_eq(memcmp(outs[1]->data, (int64_t[]){1, 2}, 2 * sizeof(int64_t)), 0);
	gb_tensor_free(outs[0]);
	gb_tensor_free(outs[1]);
	gb_model_free(m);
	gb_tensor_free(ins[1]);
	m = topk_model(ins, 2, 0, smallest, 1, consts, &err);
	cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, consts, outs, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(outs[0]->data, (float[]){1, 3}, 2, 0, 0), 0);
	cr_assert_eq(memcmp(outs[1]->data, (int64_t[]){0, 2}, 2 * sizeof(int64_t)), 0);
	gb_tensor_free(outs[0]);
	gb_tensor_free(outs[1]);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
	gb_tensor_free(ins[1]);
}

Test(topk, backward_scatters_into_chosen_positions)
{
	int64_t d5[1] = {5}, d2[1] = {2};
	gb_tensor *ins[2] = {tu_tensor(GB_DTYPE_F32, 1, d5, (float[]){3, 1, 3, 2, 3}), NULL};
	int consts[2];
	gb_error err = {0};
	gb_model *m = topk_model(ins, 2, 1, NULL, 0, consts, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_session *s = NULL;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_set_input(s, 0, ins[0], &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	gb_tensor *seed = tu_tensor(GB_DTYPE_F32, 1, d2, (float[]){10, 20});
	const gb_tensor *seeds[2] = {seed, NULL};
	cr_assert_eq(gb_session_backward(s, seeds, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(gb_session_input_grad(s, 0)->data, (float[]){10, 0, 20, 0, 0}, 5, 0, 0), 0);
	gb_tensor_free(seed);
	gb_session_free(s);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
	gb_tensor_free(ins[1]);
}

Test(topk, opset1_k_attribute)
{
	int64_t d23[2] = {2, 3};
	gb_tensor *ins[1] = {tu_tensor(GB_DTYPE_F32, 2, d23, (float[]){5, 9, 7, 2, 0, 4})};
	gb_attr a[2] = {attr_int("k", 2), attr_int("axis", 1)};
	gb_error err = {0};
	gb_model *m = tu_single_opset(9, "TopK", 1, (const gb_tensor *const *)ins, NULL, 2, a, 2, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_tensor *outs[2] = {0};
	cr_assert_eq(tu_run(m, 1, (const gb_tensor *const *)ins, NULL, outs, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(outs[0]->data, (float[]){9, 7, 4, 2}, 4, 0, 0), 0);
	cr_assert_eq(memcmp(outs[1]->data, (int64_t[]){1, 2, 2, 0}, 4 * sizeof(int64_t)), 0);
	cr_assert_eq(tu_gradcheck(m, 1, ins, NULL, 1e-3, 1e-3, 1e-2), 0);
	gb_tensor_free(outs[0]);
	gb_tensor_free(outs[1]);
	gb_model_free(m);
	/* No k before opset 10. */
	cr_assert_null(tu_single_opset(9, "TopK", 1, (const gb_tensor *const *)ins, NULL, 2, a + 1, 1, &err));
	cr_assert_eq(err.status, GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "'k'") != NULL, "%s", err.msg);
	gb_tensor_free(ins[0]);
}

Test(topk, bad_and_unsupported)
{
	int64_t d23[2] = {2, 3}, one[1] = {1}, two[1] = {2};
	gb_tensor *ins[2] = {tu_random(2, d23, -1, 1, 1), NULL};
	int consts[2];
	gb_error err = {0};
	gb_tensor *outs[2] = {0};
	/* K beyond the axis, negative K. */
	int64_t bad_k[2] = {4, -1};
	for (int i = 0; i < 2; i++) {
		gb_model *m = topk_model(ins, bad_k[i], 0, NULL, 0, consts, &err);
		cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, consts, outs, &err), GB_STATUS_BAD_FILE);
		cr_assert(strstr(err.msg, "K is") != NULL, "%s", err.msg);
		gb_model_free(m);
		gb_tensor_free(ins[1]);
	}
	/* An axis out of range; largest not 0/1. */
	gb_attr ax = attr_int("axis", 2);
	gb_model *m = topk_model(ins, 1, 0, &ax, 1, consts, &err);
	cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, consts, outs, &err), GB_STATUS_BAD_FILE);
	gb_model_free(m);
	gb_tensor_free(ins[1]);
	gb_attr lg = attr_int("largest", 2);
	cr_assert_null(topk_model(ins, 1, 0, &lg, 1, consts, &err));
	cr_assert_eq(err.status, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	/* K with two values, K as float32. */
	ins[1] = tu_tensor(GB_DTYPE_I64, 1, two, (int64_t[]){1, 1});
	m = tu_single_opset(11, "TopK", 2, (const gb_tensor *const *)ins, NULL, 2, NULL, 0, &err);
	cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, NULL, outs, &err), GB_STATUS_BAD_FILE);
	gb_model_free(m);
	gb_tensor_free(ins[1]);
	ins[1] = tu_tensor(GB_DTYPE_F32, 1, one, (float[]){1});
	m = tu_single_opset(11, "TopK", 2, (const gb_tensor *const *)ins, NULL, 2, NULL, 0, &err);
	cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, NULL, outs, &err), GB_STATUS_BAD_FILE);
	gb_model_free(m);
	/* K as an input before opset 10; no K from opset 10 on. */
	cr_assert_null(tu_single_opset(9, "TopK", 2, (const gb_tensor *const *)ins, NULL, 2, NULL, 0, &err));
	cr_assert_eq(err.status, GB_STATUS_BAD_FILE);
	cr_assert_null(tu_single_opset(10, "TopK", 1, (const gb_tensor *const *)ins, NULL, 2, NULL, 0, &err));
	cr_assert_eq(err.status, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	/* int64 data. */
	gb_tensor_free(ins[0]);
	ins[0] = tu_tensor(GB_DTYPE_I64, 2, d23, (int64_t[]){1, 2, 3, 4, 5, 6});
	m = topk_model(ins, 1, 0, NULL, 0, consts, &err);
	cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, consts, outs, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "TopK") != NULL && strstr(err.msg, "int64") != NULL, "%s", err.msg);
	gb_model_free(m);
	gb_tensor_free(ins[0]);
	gb_tensor_free(ins[1]);
}
