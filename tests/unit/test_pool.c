/*
 * test_pool.c — MaxPool (values and Indices), AveragePool, GlobalMaxPool and
 * GlobalAveragePool against a naive reference over a table of attribute
 * combinations; gradient checks; ONNX spec examples; bad and unsupported
 * attributes.
 */
#include <criterion/criterion.h>

#include "testutil.h"

/* ---- attribute builders --------------------------------------------------------- */

typedef struct attr_list {
	gb_attr a[12];
	int n;
} attr_list;

static void add_ints(attr_list *l, const char *name, int n, const int64_t *v)
{
	if (n <= 0)
		return;
	l->a[l->n++] = (gb_attr){.name = name, .type = GB_ATTR_INTS, .n = n, .ints = (int64_t *)v};
}

static void add_int(attr_list *l, const char *name, int64_t v)
{
	l->a[l->n++] = (gb_attr){.name = name, .type = GB_ATTR_INT, .i = v};
}

static void add_str(attr_list *l, const char *name, const char *s)
{
	l->a[l->n++] = (gb_attr){.name = name, .type = GB_ATTR_STRING, .s = s, .s_len = strlen(s)};
}

/* Distinct values (a shuffled ramp 0.01 apart, centred): no ties for max, and
 * finite differences of 1e-3 never reorder them. */
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

/* ---- naive reference -------------------------------------------------------------- */

typedef struct pool_case {
	const char *op; /* MaxPool or AveragePool */
	int k;
	int64_t in[5]; /* N, C, spatial… */
	int64_t kernel[3], strides[3], dilations[3], pads[6];
	int has_strides, has_dilations, has_pads;
	const char *auto_pad; /* NULL = attribute absent */
	int ceil_mode, count_include_pad, storage_order;
} pool_case;

typedef struct ref_dim {
	int64_t out, pb, pe;
} ref_dim;

/* Written from the ONNX spec text, in floating point, independently of pool.c. */
static ref_dim ref_geometry(const pool_case *c, int i)
{
	int64_t in = c->in[2 + i], k = c->kernel[i];
	int64_t s = c->has_strides ? c->strides[i] : 1, d = c->has_dilations ? c->dilations[i] : 1;
	int64_t dk = (k - 1) * d + 1;
	ref_dim r = {0, c->has_pads ? c->pads[i] : 0, c->has_pads ? c->pads[c->k + i] : 0};
	if (c->auto_pad && strncmp(c->auto_pad, "SAME", 4) == 0) {
		r.out = (int64_t)ceil((double)in / (double)s);
		int64_t total = (r.out - 1) * s + dk - in;
		if (total < 0)
			total = 0;
		r.pb = strcmp(c->auto_pad, "SAME_LOWER") == 0 ? (total + 1) / 2 : total / 2;
		r.pe = total - r.pb;
	} else if (c->auto_pad && strcmp(c->auto_pad, "VALID") == 0) {
		r.pb = r.pe = 0;
		r.out = (int64_t)ceil((double)(in - dk + 1) / (double)s);
	} else {
		double q = (double)(in + r.pb + r.pe - dk) / (double)s;
		r.out = (int64_t)(c->ceil_mode ? ceil(q) : floor(q)) + 1;
		if (c->ceil_mode && (r.out - 1) * s >= in + r.pb)
			r.out--;
	}
	return r;
}

/* y and (for MaxPool) flat ONNX indices of every output. */
static void ref_pool(const pool_case *c, const float *x, float *y, int64_t *ind, int64_t *out_dims)
{
	int k = c->k;
	ref_dim g[3];
	int64_t out_plane = 1, in_plane = 1;
	for (int i = 0; i < k; i++) {
		g[i] = ref_geometry(c, i);
		out_dims[2 + i] = g[i].out;
		out_plane *= g[i].out;
		in_plane *= c->in[2 + i];
	}
	out_dims[0] = c->in[0];
	out_dims[1] = c->in[1];
	int is_max = strcmp(c->op, "MaxPool") == 0;
	for (int64_t plane = 0; plane < c->in[0] * c->in[1]; plane++) {
		for (int64_t o = 0; o < out_plane; o++) {
			int64_t oi[3], rem = o;
			for (int i = k - 1; i >= 0; i--) {
				oi[i] = rem % g[i].out;
				rem /= g[i].out;
			}
			int64_t taps = 1;
			for (int i = 0; i < k; i++)
				taps *= c->kernel[i];
			double sum = 0.0;
			float best = 0.0f;
			int64_t best_at = -1, inside = 0, padded = 0;
			for (int64_t t = 0; t < taps; t++) {
				int64_t ti[3], trem = t, pos[3];
				for (int i = k - 1; i >= 0; i--) {
					ti[i] = trem % c->kernel[i];
					trem /= c->kernel[i];
				}
				int in_input = 1, in_padded = 1;
				for (int i = 0; i < k; i++) {
					int64_t s = c->has_strides ? c->strides[i] : 1, d = c->has_dilations ? c->dilations[i] : 1;
					pos[i] = oi[i] * s - g[i].pb + ti[i] * d;
					if (pos[i] < 0 || pos[i] >= c->in[2 + i])
						in_input = 0;
					if (pos[i] < -g[i].pb || pos[i] >= c->in[2 + i] + g[i].pe)
						in_padded = 0;
				}
				padded += in_padded;
				if (!in_input)
					continue;
				inside++;
				int64_t flat = 0, colmajor = 0, mul = 1;
				for (int i = 0; i < k; i++)
					flat = flat * c->in[2 + i] + pos[i];
				for (int i = 0; i < k; i++) {
					colmajor += pos[i] * mul;
					mul *= c->in[2 + i];
				}
				float v = x[plane * in_plane + flat];
				sum += v;
				if (best_at < 0 || v > best) {
					best = v;
					best_at = plane * in_plane + (c->storage_order ? colmajor : flat);
				}
			}
			if (is_max) {
				y[plane * out_plane + o] = best;
				ind[plane * out_plane + o] = best_at;
			} else {
				y[plane * out_plane + o] = (float)(sum / (double)(c->count_include_pad ? padded : inside));
			}
		}
	}
}

static gb_model *case_model(const pool_case *c, const gb_tensor *x, int n_out, gb_error *err)
{
	attr_list l = {0};
	add_ints(&l, "kernel_shape", c->k, c->kernel);
	if (c->has_strides)
		add_ints(&l, "strides", c->k, c->strides);
	if (c->has_dilations)
		add_ints(&l, "dilations", c->k, c->dilations);
	if (c->has_pads)
		add_ints(&l, "pads", 2 * c->k, c->pads);
	if (c->auto_pad)
		add_str(&l, "auto_pad", c->auto_pad);
	if (c->ceil_mode)
		add_int(&l, "ceil_mode", 1);
	if (c->count_include_pad)
		add_int(&l, "count_include_pad", 1);
	if (c->storage_order)
		add_int(&l, "storage_order", 1);
	const gb_tensor *ins[1] = {x};
	return tu_single(c->op, 1, ins, NULL, n_out, l.a, l.n, err);
}

/* clang-format off */
static const pool_case cases[] = {
	/* 2x2 stride 2, the common case */
	{"MaxPool", 2, {2, 3, 8, 8}, {2, 2}, {2, 2}, {0}, {0}, 1, 0, 0, NULL, 0, 0, 0},
	{"AveragePool", 2, {2, 3, 8, 8}, {2, 2}, {2, 2}, {0}, {0}, 1, 0, 0, NULL, 0, 0, 0},
	/* odd sizes, floor and ceil */
	{"MaxPool", 2, {1, 2, 7, 6}, {3, 2}, {2, 2}, {0}, {0}, 1, 0, 0, NULL, 0, 0, 0},
	{"MaxPool", 2, {1, 2, 7, 6}, {3, 2}, {2, 2}, {0}, {0}, 1, 0, 0, NULL, 1, 0, 0},
	{"AveragePool", 2, {1, 2, 7, 6}, {3, 3}, {2, 2}, {0}, {0}, 1, 0, 0, NULL, 1, 0, 0},
	{"AveragePool", 2, {1, 2, 7, 6}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, 1, 0, 1, NULL, 1, 1, 0},
	/* ceil mode where the last window would start in the end padding */
	{"AveragePool", 2, {1, 2, 2, 2}, {3, 3}, {3, 3}, {0}, {1, 1, 1, 1}, 1, 0, 1, NULL, 1, 1, 0},
	{"MaxPool", 2, {1, 1, 2, 2}, {1, 1}, {2, 2}, {0}, {0}, 1, 0, 0, NULL, 1, 0, 0},
	/* asymmetric pads, with and without count_include_pad */
	{"MaxPool", 2, {1, 2, 5, 6}, {3, 3}, {1, 2}, {0}, {0, 2, 1, 1}, 1, 0, 1, NULL, 0, 0, 0},
	{"AveragePool", 2, {1, 2, 5, 6}, {3, 3}, {1, 2}, {0}, {0, 2, 1, 1}, 1, 0, 1, NULL, 0, 0, 0},
	{"AveragePool", 2, {1, 2, 5, 6}, {3, 3}, {1, 2}, {0}, {0, 2, 1, 1}, 1, 0, 1, NULL, 0, 1, 0},
	{"AveragePool", 2, {1, 2, 5, 6}, {3, 3}, {2, 2}, {0}, {0, 2, 2, 1}, 1, 0, 1, NULL, 1, 1, 0},
	/* dilations */
	{"MaxPool", 2, {1, 2, 7, 7}, {2, 3}, {1, 2}, {2, 2}, {1, 0, 1, 2}, 1, 1, 1, NULL, 0, 0, 0},
	{"MaxPool", 2, {1, 1, 8, 8}, {3, 3}, {3, 3}, {2, 2}, {0}, 1, 1, 0, NULL, 1, 0, 0},
	{"AveragePool", 2, {1, 2, 7, 7}, {2, 3}, {1, 2}, {2, 2}, {1, 0, 1, 2}, 1, 1, 1, NULL, 0, 0, 0},
	{"AveragePool", 2, {1, 2, 7, 7}, {2, 3}, {2, 2}, {2, 2}, {1, 0, 1, 2}, 1, 1, 1, NULL, 1, 1, 0},
	/* auto_pad */
	{"MaxPool", 2, {1, 2, 5, 6}, {3, 2}, {2, 2}, {0}, {0}, 1, 0, 0, "SAME_UPPER", 0, 0, 0},
	{"MaxPool", 2, {1, 2, 5, 6}, {2, 2}, {1, 1}, {0}, {0}, 1, 0, 0, "SAME_LOWER", 0, 0, 0},
	{"AveragePool", 2, {1, 2, 5, 6}, {2, 2}, {1, 1}, {0}, {0}, 1, 0, 0, "SAME_LOWER", 0, 0, 0},
	{"AveragePool", 2, {1, 2, 5, 6}, {3, 3}, {2, 2}, {0}, {0}, 1, 0, 0, "SAME_UPPER", 0, 1, 0},
	{"AveragePool", 2, {1, 2, 5, 6}, {3, 2}, {2, 3}, {0}, {0}, 1, 0, 0, "VALID", 0, 0, 0},
	{"MaxPool", 2, {1, 2, 5, 6}, {3, 2}, {2, 3}, {0}, {0}, 1, 0, 0, "NOTSET", 0, 0, 0},
	/* storage_order = 1 */
	{"MaxPool", 2, {2, 2, 5, 4}, {2, 2}, {2, 1}, {0}, {1, 0, 0, 1}, 1, 0, 1, NULL, 0, 0, 1},
	/* 1-D */
	{"MaxPool", 1, {2, 3, 11}, {3}, {2}, {0}, {1, 0}, 1, 0, 1, NULL, 1, 0, 0},
	{"AveragePool", 1, {2, 3, 11}, {3}, {2}, {2}, {1, 2}, 1, 1, 1, NULL, 1, 1, 0},
	{"AveragePool", 1, {2, 3, 11}, {4}, {3}, {0}, {2, 1}, 1, 0, 1, NULL, 0, 0, 0},
	/* 3-D */
	{"MaxPool", 3, {1, 2, 4, 5, 4}, {2, 2, 2}, {2, 1, 2}, {1, 2, 1}, {0, 1, 0, 1, 0, 1}, 1, 1, 1, NULL, 1, 0, 1},
	{"AveragePool", 3, {1, 2, 4, 5, 4}, {2, 3, 2}, {1, 2, 2}, {0}, {1, 1, 0, 0, 1, 1}, 1, 0, 1, NULL, 1, 1, 0},
};
/* clang-format on */
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

Test(pool, forward_matches_reference)
{
	for (int ci = 0; ci < N_CASES; ci++) {
		const pool_case *c = &cases[ci];
		int is_max = strcmp(c->op, "MaxPool") == 0;
		gb_error err = {0};
		gb_tensor *x = distinct(c->k + 2, c->in, (uint64_t)ci + 1);
		gb_model *m = case_model(c, x, is_max ? 2 : 1, &err);
		cr_assert_not_null(m, "case %d: %s", ci, err.msg);
		gb_tensor *outs[2] = {0};
		const gb_tensor *ins[1] = {x};
		cr_assert_eq(tu_run(m, 1, ins, NULL, outs, &err), GB_OK, "case %d: %s", ci, err.msg);
		int64_t out_dims[5];
		int64_t n_out = gb_tensor_numel(outs[0]);
		float *want = calloc((size_t)n_out + 1, sizeof *want);
		int64_t *want_ind = calloc((size_t)n_out + 1, sizeof *want_ind);
		ref_pool(c, x->data, want, want_ind, out_dims);
		cr_assert_eq(outs[0]->ndim, c->k + 2, "case %d", ci);
		for (int i = 0; i < c->k + 2; i++)
			cr_assert_eq(outs[0]->dims[i], out_dims[i], "case %d dim %d: %lld vs %lld", ci, i,
			             (long long)outs[0]->dims[i], (long long)out_dims[i]);
		cr_assert_eq(tu_close(outs[0]->data, want, n_out, 1e-6, 1e-5), 0, "case %d (%s)", ci, c->op);
		if (is_max) {
			cr_assert_eq(outs[1]->dtype, GB_DTYPE_I64);
			const int64_t *ind = outs[1]->data;
			for (int64_t i = 0; i < n_out; i++)
				cr_assert_eq(ind[i], want_ind[i], "case %d index %lld: %lld vs %lld", ci, (long long)i,
				             (long long)ind[i], (long long)want_ind[i]);
		}
		free(want);
		free(want_ind);
		gb_tensor_free(outs[0]);
		gb_tensor_free(outs[1]);
		gb_tensor_free(x);
		gb_model_free(m);
	}
}

Test(pool, gradients)
{
	for (int ci = 0; ci < N_CASES; ci++) {
		const pool_case *c = &cases[ci];
		gb_error err = {0};
		gb_tensor *x = distinct(c->k + 2, c->in, (uint64_t)ci + 100);
		gb_model *m = case_model(c, x, 1, &err);
		cr_assert_not_null(m, "case %d: %s", ci, err.msg);
		gb_tensor *ins[1] = {x};
		cr_assert_eq(tu_gradcheck(m, 1, ins, NULL, 1e-3, 1e-3, 1e-2), 0, "case %d (%s)", ci, c->op);
		gb_tensor_free(x);
		gb_model_free(m);
	}
}

Test(pool, max_backward_takes_first_of_ties)
{
	int64_t dims[4] = {1, 1, 2, 4};
	gb_tensor *x = tu_tensor(GB_DTYPE_F32, 4, dims, (float[]){1, 5, 2, 2, 5, 0, 2, 2});
	int64_t kernel[2] = {2, 2}, strides[2] = {2, 2};
	attr_list l = {0};
	add_ints(&l, "kernel_shape", 2, kernel);
	add_ints(&l, "strides", 2, strides);
	gb_error err = {0};
	const gb_tensor *ins[1] = {x};
	gb_model *m = tu_single("MaxPool", 1, ins, NULL, 1, l.a, l.n, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_session *s = NULL;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK);
	int64_t ydims[4] = {1, 1, 1, 2};
	gb_tensor *seed = tu_tensor(GB_DTYPE_F32, 4, ydims, (float[]){3, 7});
	const gb_tensor *seeds[1] = {seed};
	cr_assert_eq(gb_session_backward(s, seeds, &err), GB_OK, "%s", err.msg);
	const float *g = gb_session_input_grad(s, 0)->data;
	float want[8] = {0, 3, 7, 0, 0, 0, 0, 0};
	cr_assert_eq(tu_close(g, want, 8, 0, 0), 0);
	gb_tensor_free(seed);
	gb_session_free(s);
	gb_tensor_free(x);
	gb_model_free(m);
}

/* ONNX spec example test_maxpool_with_argmax_2d_precomputed_strides. */
Test(pool, onnx_example_storage_order)
{
	int64_t dims[4] = {1, 1, 5, 5};
	float xv[25];
	for (int i = 0; i < 25; i++)
		xv[i] = (float)(i + 1);
	gb_tensor *x = tu_tensor(GB_DTYPE_F32, 4, dims, xv);
	int64_t kernel[2] = {2, 2}, strides[2] = {2, 2};
	attr_list l = {0};
	add_ints(&l, "kernel_shape", 2, kernel);
	add_ints(&l, "strides", 2, strides);
	add_int(&l, "storage_order", 1);
	gb_error err = {0};
	const gb_tensor *ins[1] = {x};
	gb_model *m = tu_single("MaxPool", 1, ins, NULL, 2, l.a, l.n, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_tensor *outs[2] = {0};
	cr_assert_eq(tu_run(m, 1, ins, NULL, outs, &err), GB_OK, "%s", err.msg);
	float want[4] = {7, 9, 17, 19};
	int64_t want_ind[4] = {6, 16, 8, 18};
	cr_assert_eq(tu_close(outs[0]->data, want, 4, 0, 0), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(((int64_t *)outs[1]->data)[i], want_ind[i]);
	gb_tensor_free(outs[0]);
	gb_tensor_free(outs[1]);
	gb_tensor_free(x);
	gb_model_free(m);
}

/* ONNX spec example test_averagepool_2d_precomputed_pads_count_include_pad (first row). */
Test(pool, onnx_example_count_include_pad)
{
	int64_t dims[4] = {1, 1, 5, 5};
	float xv[25];
	for (int i = 0; i < 25; i++)
		xv[i] = (float)(i + 1);
	gb_tensor *x = tu_tensor(GB_DTYPE_F32, 4, dims, xv);
	int64_t kernel[2] = {5, 5}, pads[4] = {2, 2, 2, 2};
	attr_list l = {0};
	add_ints(&l, "kernel_shape", 2, kernel);
	add_ints(&l, "pads", 4, pads);
	add_int(&l, "count_include_pad", 1);
	gb_error err = {0};
	const gb_tensor *ins[1] = {x};
	gb_model *m = tu_single("AveragePool", 1, ins, NULL, 1, l.a, l.n, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_tensor *outs[1] = {0};
	cr_assert_eq(tu_run(m, 1, ins, NULL, outs, &err), GB_OK, "%s", err.msg);
	float want[5] = {2.5200f, 3.6000f, 4.8000f, 4.0800f, 3.2400f};
	cr_assert_eq(tu_close(outs[0]->data, want, 5, 1e-4, 0), 0);
	gb_tensor_free(outs[0]);
	gb_tensor_free(x);
	gb_model_free(m);
}

Test(pool, global_forward_and_gradients)
{
	int64_t dims[4] = {2, 3, 4, 5};
	gb_tensor *x = distinct(4, dims, 9);
	const char *ops[2] = {"GlobalMaxPool", "GlobalAveragePool"};
	for (int oi = 0; oi < 2; oi++) {
		gb_error err = {0};
		const gb_tensor *ins[1] = {x};
		gb_model *m = tu_single(ops[oi], 1, ins, NULL, 1, NULL, 0, &err);
		cr_assert_not_null(m, "%s", err.msg);
		gb_tensor *outs[1] = {0};
		cr_assert_eq(tu_run(m, 1, ins, NULL, outs, &err), GB_OK, "%s", err.msg);
		cr_assert_eq(outs[0]->ndim, 4);
		cr_assert(outs[0]->dims[0] == 2 && outs[0]->dims[1] == 3 && outs[0]->dims[2] == 1 && outs[0]->dims[3] == 1);
		const float *xd = x->data;
		for (int c = 0; c < 6; c++) {
			double sum = 0.0;
			float best = xd[c * 20];
			for (int i = 0; i < 20; i++) {
				sum += xd[c * 20 + i];
				if (xd[c * 20 + i] > best)
					best = xd[c * 20 + i];
			}
			float want = oi == 0 ? best : (float)(sum / 20.0);
			cr_assert_float_eq(((float *)outs[0]->data)[c], want, 1e-6, "%s plane %d", ops[oi], c);
		}
		gb_tensor *gins[1] = {x};
		cr_assert_eq(tu_gradcheck(m, 1, gins, NULL, 1e-3, 1e-3, 1e-2), 0, "%s", ops[oi]);
		gb_tensor_free(outs[0]);
		gb_model_free(m);
	}
	gb_tensor_free(x);
}

Test(pool, nan_propagates_through_max)
{
	int64_t dims[4] = {1, 1, 2, 2};
	gb_tensor *x = tu_tensor(GB_DTYPE_F32, 4, dims, (float[]){1, NAN, 3, 2});
	int64_t kernel[2] = {2, 2};
	attr_list l = {0};
	add_ints(&l, "kernel_shape", 2, kernel);
	gb_error err = {0};
	const gb_tensor *ins[1] = {x};
	gb_model *m = tu_single("MaxPool", 1, ins, NULL, 1, l.a, l.n, &err);
	gb_tensor *outs[1] = {0};
	cr_assert_eq(tu_run(m, 1, ins, NULL, outs, &err), GB_OK, "%s", err.msg);
	cr_assert(isnan(((float *)outs[0]->data)[0]));
	gb_tensor_free(outs[0]);
	gb_tensor_free(x);
	gb_model_free(m);
}

/* ---- bad and unsupported attributes ---------------------------------------------------- */

static gb_status prepare_status(const char *op, const attr_list *l, gb_error *err)
{
	int64_t dims[4] = {1, 1, 4, 4};
	gb_tensor *x = tu_tensor(GB_DTYPE_F32, 4, dims, NULL);
	const gb_tensor *ins[1] = {x};
	gb_model *m = tu_single(op, 1, ins, NULL, 1, l->a, l->n, err);
	gb_status st = m ? GB_OK : err->status;
	gb_model_free(m);
	gb_tensor_free(x);
	return st;
}

static gb_status run_status(const char *op, const attr_list *l, gb_tensor *x, gb_error *err)
{
	const gb_tensor *ins[1] = {x};
	gb_model *m = tu_single(op, 1, ins, NULL, 1, l->a, l->n, err);
	cr_assert_not_null(m, "%s", err->msg);
	gb_tensor *outs[1] = {0};
	gb_status st = tu_run(m, 1, ins, NULL, outs, err);
	gb_tensor_free(outs[0]);
	gb_model_free(m);
	return st;
}

Test(pool, bad_attributes)
{
	gb_error err = {0};
	int64_t k2[2] = {2, 2}, k3[3] = {2, 2, 2}, k4[4] = {1, 1, 1, 1}, zero2[2] = {0, 1}, pads[4] = {1, 1, 1, 1};
	int64_t negpads[4] = {-1, 0, 0, 0};
	attr_list l = {0};
	cr_assert_eq(prepare_status("MaxPool", &l, &err), GB_STATUS_BAD_FILE); /* no kernel_shape */
	cr_assert(strstr(err.msg, "kernel_shape") != NULL, "%s", err.msg);
	l = (attr_list){0};
	add_ints(&l, "kernel_shape", 2, k2);
	add_ints(&l, "strides", 3, k3);
	cr_assert_eq(prepare_status("MaxPool", &l, &err), GB_STATUS_BAD_FILE);
	l = (attr_list){0};
	add_ints(&l, "kernel_shape", 2, zero2);
	cr_assert_eq(prepare_status("AveragePool", &l, &err), GB_STATUS_BAD_FILE);
	l = (attr_list){0};
	add_ints(&l, "kernel_shape", 2, k2);
	add_ints(&l, "pads", 4, negpads);
	cr_assert_eq(prepare_status("AveragePool", &l, &err), GB_STATUS_BAD_FILE);
	l = (attr_list){0};
	add_ints(&l, "kernel_shape", 2, k2);
	add_str(&l, "auto_pad", "SAME");
	cr_assert_eq(prepare_status("MaxPool", &l, &err), GB_STATUS_BAD_FILE);
	l = (attr_list){0};
	add_ints(&l, "kernel_shape", 2, k2);
	add_str(&l, "auto_pad", "SAME_UPPER");
	add_ints(&l, "pads", 4, pads);
	cr_assert_eq(prepare_status("MaxPool", &l, &err), GB_STATUS_BAD_FILE);
	l = (attr_list){0};
	add_ints(&l, "kernel_shape", 2, k2);
	add_int(&l, "ceil_mode", 2);
	cr_assert_eq(prepare_status("MaxPool", &l, &err), GB_STATUS_BAD_FILE);
	l = (attr_list){0};
	add_ints(&l, "kernel_shape", 2, k2);
	add_int(&l, "storage_order", 3);
	cr_assert_eq(prepare_status("MaxPool", &l, &err), GB_STATUS_BAD_FILE);
	l = (attr_list){0};
	add_int(&l, "kernel_shape", 2); /* wrong type */
	cr_assert_eq(prepare_status("MaxPool", &l, &err), GB_STATUS_BAD_FILE);
	l = (attr_list){0};
	add_ints(&l, "kernel_shape", 4, k4);
	cr_assert_eq(prepare_status("MaxPool", &l, &err), GB_STATUS_UNSUPPORTED);

	/* Forward-time checks: rank, window larger than the input, window in the padding, dtype. */
	int64_t dims3[3] = {1, 1, 4}, dims4[4] = {1, 1, 3, 3};
	gb_tensor *x3 = tu_tensor(GB_DTYPE_F32, 3, dims3, NULL);
	gb_tensor *x4 = tu_tensor(GB_DTYPE_F32, 4, dims4, NULL);
	gb_tensor *xi = tu_tensor(GB_DTYPE_I64, 4, dims4, NULL);
	l = (attr_list){0};
	add_ints(&l, "kernel_shape", 2, k2);
	cr_assert_eq(run_status("MaxPool", &l, x3, &err), GB_STATUS_BAD_FILE);
	cr_assert_eq(run_status("MaxPool", &l, xi, &err), GB_STATUS_UNSUPPORTED);
	cr_assert_eq(run_status("GlobalAveragePool", &l, xi, &err), GB_STATUS_UNSUPPORTED);
	int64_t k5[2] = {5, 5};
	l = (attr_list){0};
	add_ints(&l, "kernel_shape", 2, k5);
	cr_assert_eq(run_status("AveragePool", &l, x4, &err), GB_STATUS_BAD_FILE);
	int64_t bigpads[4] = {3, 0, 0, 0};
	l = (attr_list){0};
	add_ints(&l, "kernel_shape", 2, k2);
	add_ints(&l, "pads", 4, bigpads);
	cr_assert_eq(run_status("MaxPool", &l, x4, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "padding") != NULL, "%s", err.msg);
	cr_assert_eq(run_status("AveragePool", &l, x4, &err), GB_STATUS_UNSUPPORTED);
	add_int(&l, "count_include_pad", 1); /* then an all-padding window averages to 0 */
	cr_assert_eq(run_status("AveragePool", &l, x4, &err), GB_OK, "%s", err.msg);
	gb_tensor_free(x3);
	gb_tensor_free(x4);
	gb_tensor_free(xi);
}
