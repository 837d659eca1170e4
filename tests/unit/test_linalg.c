/*
 * test_linalg.c — Gemm and MatMul: forward against naive triple-loop
 * references (in float64) over a table of shapes and attributes, backward by
 * finite differences, and the errors for bad shapes and dtypes.
 */
#include <criterion/criterion.h>

#include "testutil.h"

#define ATOL 1e-4
#define RTOL 1e-4

/* ---- naive references ------------------------------------------------------------ */

/* Y (M, N) = alpha·op(A)·op(B) + beta·C, C given as (cm, cn) broadcast to (M, N). */
static void gemm_ref(const float *a, const float *b, const float *c, int64_t cm, int64_t cn, int64_t M,
                     int64_t N, int64_t K, int ta, int tb, float alpha, float beta, float *y)
{
	for (int64_t i = 0; i < M; i++)
		for (int64_t j = 0; j < N; j++) {
			double s = 0.0;
			for (int64_t k = 0; k < K; k++) {
				double av = ta ? a[k * M + i] : a[i * K + k];
				double bv = tb ? b[j * K + k] : b[k * N + j];
				s += av * bv;
			}
			s *= alpha;
			if (c)
				s += (double)beta * c[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
			y[i * N + j] = (float)s;
		}
}

/* numpy.matmul on float32 arrays; writes the result shape and values. */
static void matmul_ref(const gb_tensor *a, const gb_tensor *b, int *y_ndim, int64_t *y_dims, float *y)
{
	int64_t M = a->ndim == 1 ? 1 : a->dims[a->ndim - 2], K = a->dims[a->ndim - 1];
	int64_t N = b->ndim == 1 ? 1 : b->dims[b->ndim - 1];
	int na = a->ndim > 2 ? a->ndim - 2 : 0, nb = b->ndim > 2 ? b->ndim - 2 : 0;
	int r = na > nb ? na : nb;
	int64_t bat[GB_MAX_DIMS], da[GB_MAX_DIMS], db[GB_MAX_DIMS];
	int64_t total = 1;
	for (int i = 0; i < r; i++) {
		da[i] = i - (r - na) >= 0 ? a->dims[i - (r - na)] : 1;
		db[i] = i - (r - nb) >= 0 ? b->dims[i - (r - nb)] : 1;
		bat[i] = da[i] == 1 ? db[i] : da[i]; /* numpy: a 1 takes the other side (even 0) */
		total *= bat[i];
	}
	*y_ndim = 0;
	for (int i = 0; i < r; i++)
		y_dims[(*y_ndim)++] = bat[i];
	if (a->ndim > 1)
		y_dims[(*y_ndim)++] = M;
	if (b->ndim > 1)
		y_dims[(*y_ndim)++] = N;
	const float *ad = a->data, *bd = b->data;
	for (int64_t t = 0; t < total; t++) {
		int64_t rem = t, ia = 0, ib = 0, sa = 1, sb = 1;
		for (int i = r - 1; i >= 0; i--) {
			int64_t idx = rem % bat[i];
			rem /= bat[i];
			ia += (da[i] == 1 ? 0 : idx) * sa;
			ib += (db[i] == 1 ? 0 : idx) * sb;
			sa *= da[i];
			sb *= db[i];
		}
		for (int64_t i = 0; i < M; i++)
			for (int64_t j = 0; j < N; j++) {
				double s = 0.0;
				for (int64_t k = 0; k < K; k++)
					s += (double)ad[(ia * M + i) * K + k] * (double)bd[(ib * K + k) * N + j];
				y[(t * M + i) * N + j] = (float)s;
			}
	}
}

/* ---- helpers --------------------------------------------------------------------------- */

static gb_attr attr_f(const char *name, float v)
{
	return (gb_attr){.name = name, .type = GB_ATTR_FLOAT, .f = v};
}

static gb_attr attr_i(const char *name, int64_t v)
{
	return (gb_attr){.name = name, .type = GB_ATTR_INT, .i = v};
}

typedef struct gemm_case {
	int64_t M, N, K;
	int ta, tb;
	float alpha, beta;
	int c_ndim; /* -1: no C */
	int64_t c_dims[2];
	int consts; /* B and C as initializers */
} gemm_case;

static const gemm_case gemm_cases[] = {
	{3, 4, 5, 0, 0, 1.0f, 1.0f, -1, {0}, 0},
	{3, 4, 5, 0, 0, 1.0f, 1.0f, 2, {3, 4}, 0},
	{3, 4, 5, 1, 0, 0.5f, 2.0f, 1, {4}, 1},
	{3, 4, 5, 0, 1, -1.5f, 0.25f, 2, {1, 4}, 1},
	{3, 4, 5, 1, 1, 2.0f, -1.0f, 2, {3, 1}, 0},
	{3, 4, 5, 0, 1, 1.0f, 3.0f, 0, {0}, 1},
	{3, 4, 5, 0, 0, 1.0f, 1.0f, 1, {1}, 0},
	{3, 4, 5, 1, 0, 1.0f, 0.5f, 2, {1, 1}, 0},
	{1, 1, 1, 0, 0, 1.0f, 1.0f, 1, {1}, 0},
	{17, 33, 9, 0, 1, 0.75f, 1.0f, 1, {33}, 1},
	{64, 10, 128, 0, 1, 1.0f, 1.0f, 1, {10}, 1},
	{5, 7, 3, 1, 1, 1.0f, 0.0f, 2, {5, 7}, 0},
	{4, 6, 1, 0, 0, 1.0f, 1.0f, 2, {4, 6}, 0},
	{3, 4, 0, 0, 1, 1.0f, 2.0f, 1, {4}, 0}, /* empty inner dimension: Y = beta·C */
	{0, 4, 3, 0, 0, 1.0f, 1.0f, 1, {4}, 0}, /* no rows */
};

#define N_GEMM_CASES ((int)(sizeof gemm_cases / sizeof gemm_cases[0]))

static gb_model *gemm_model(const gemm_case *gc, gb_tensor **ins, int *consts, uint64_t seed)
{
	int64_t ad[2] = {gc->ta ? gc->K : gc->M, gc->ta ? gc->M : gc->K};
	int64_t bd[2] = {gc->tb ? gc->N : gc->K, gc->tb ? gc->K : gc->N};
	ins[0] = tu_random(2, ad, -1.0f, 1.0f, seed);
	ins[1] = tu_random(2, bd, -1.0f, 1.0f, seed + 1);
	ins[2] = gc->c_ndim >= 0 ? tu_random(gc->c_ndim, gc->c_dims, -1.0f, 1.0f, seed + 2) : NULL;
	consts[0] = 0;
	consts[1] = consts[2] = gc->consts;
	gb_attr attrs[4] = {attr_f("alpha", gc->alpha), attr_f("beta", gc->beta), attr_i("transA", gc->ta),
	                    attr_i("transB", gc->tb)};
	gb_error err = {0};
	gb_model *m = tu_single("Gemm", gc->c_ndim >= 0 ? 3 : 2, (const gb_tensor *const *)ins, consts, 1, attrs, 4, &err);
	cr_assert_not_null(m, "%s", err.msg);
	return m;
}

/* ---- Gemm ---------------------------------------------------------------------------- */

Test(gemm, forward_matches_reference)
{
	for (int ci = 0; ci < N_GEMM_CASES; ci++) {
		const gemm_case *gc = &gemm_cases[ci];
		gb_tensor *ins[3];
		int consts[3];
		gb_model *m = gemm_model(gc, ins, consts, 10u + (uint64_t)ci);
		gb_tensor *y = NULL;
		gb_error err = {0};
		cr_assert_eq(tu_run(m, 3, (const gb_tensor *const *)ins, consts, &y, &err), GB_OK, "case %d: %s", ci, err.msg);
		cr_assert_eq(y->ndim, 2);
		cr_assert(y->dims[0] == gc->M && y->dims[1] == gc->N, "case %d: shape", ci);
		int64_t cm = 1, cn = 1;
		if (gc->c_ndim == 2)
			cm = gc->c_dims[0], cn = gc->c_dims[1];
		else if (gc->c_ndim == 1)
			cn = gc->c_dims[0];
		float *want = malloc((size_t)(gc->M * gc->N) * sizeof *want);
		gemm_ref(ins[0]->data, ins[1]->data, ins[2] ? ins[2]->data : NULL, cm, cn, gc->M, gc->N, gc->K, gc->ta, gc->tb,
		         gc->alpha, gc->beta, want);
		cr_expect_eq(tu_close(y->data, want, gc->M * gc->N, ATOL, RTOL), 0, "gemm case %d differs", ci);
		free(want);
		gb_tensor_free(y);
		for (int k = 0; k < 3; k++)
			gb_tensor_free(ins[k]);
		gb_model_free(m);
	}
}

Test(gemm, gradcheck)
{
	for (int ci = 0; ci < N_GEMM_CASES; ci++) {
		const gemm_case *gc = &gemm_cases[ci];
		if (gc->M * gc->N * gc->K > 1000)
			continue; /* finite differences on the small shapes only */
		gb_tensor *ins[3];
		int consts[3];
		gb_model *m = gemm_model(gc, ins, consts, 50u + (uint64_t)ci);
		int bad = tu_gradcheck(m, gc->c_ndim >= 0 ? 3 : 2, ins, consts, 1e-2, 1e-3, 1e-3);
		cr_expect_eq(bad, 0, "gemm gradcheck case %d: %d mismatches", ci, bad);
		for (int k = 0; k < 3; k++)
			gb_tensor_free(ins[k]);
		gb_model_free(m);
	}
}

/* Gradient reaching only C (A, B weights): checks the broadcast reduction alone. */
Test(gemm, bias_gradient_is_reduced_over_broadcast_axes)
{
	int64_t ad[2] = {4, 3}, bd[2] = {3, 2}, cd[1] = {2};
	gb_tensor *ins[3] = {tu_random(2, ad, -1, 1, 1), tu_random(2, bd, -1, 1, 2), tu_random(1, cd, -1, 1, 3)};
	int consts[3] = {1, 1, 0};
	gb_attr attrs[1] = {attr_f("beta", 2.0f)};
	gb_error err = {0};
	gb_model *m = tu_single("Gemm", 3, (const gb_tensor *const *)ins, consts, 1, attrs, 1, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_session *s = NULL;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_set_input(s, 0, ins[2], &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_backward(s, NULL, &err), GB_OK, "%s", err.msg); /* seed: ones */
	const gb_tensor *g = gb_session_input_grad(s, 0);
	cr_assert_not_null(g);
	cr_assert_float_eq(((float *)g->data)[0], 8.0f, 1e-6); /* beta · M rows */
	cr_assert_float_eq(((float *)g->data)[1], 8.0f, 1e-6);
	gb_session_free(s);
	gb_model_free(m);
	for (int k = 0; k < 3; k++)
		gb_tensor_free(ins[k]);
}

static gb_status gemm_try(const gb_tensor *a, const gb_tensor *b, const gb_tensor *c, gb_error *err)
{
	const gb_tensor *ins[3] = {a, b, c};
	gb_model *m = tu_single("Gemm", c ? 3 : 2, ins, NULL, 1, NULL, 0, err);
	if (!m)
		return err->status;
	gb_tensor *y = NULL;
	gb_status st = tu_run(m, c ? 3 : 2, ins, NULL, &y, err);
	gb_tensor_free(y);
	gb_model_free(m);
	return st;
}

Test(gemm, errors)
{
	gb_error err = {0};
	int64_t d23[2] = {2, 3}, d34[2] = {3, 4}, d44[2] = {4, 4}, d3[1] = {3}, d24[2] = {2, 4}, d234[3] = {2, 3, 4};
	gb_tensor *a = tu_random(2, d23, -1, 1, 1), *b = tu_random(2, d34, -1, 1, 2), *b_bad = tu_random(2, d44, -1, 1, 3);
	gb_tensor *c_bad = tu_random(1, d3, -1, 1, 4), *c_ok = tu_random(2, d24, -1, 1, 5);
	gb_tensor *a3 = tu_random(3, d234, -1, 1, 6);
	gb_tensor *ai = tu_tensor(GB_DTYPE_I64, 2, d23, NULL);
	cr_expect_eq(gemm_try(a, b, c_ok, &err), GB_OK, "%s", err.msg);
	cr_expect_eq(gemm_try(a, b_bad, NULL, &err), GB_STATUS_BAD_FILE);
	cr_expect(strstr(err.msg, "node") && strstr(err.msg, "test"), "message names node and file: %s", err.msg);
	cr_expect_eq(gemm_try(a, b, c_bad, &err), GB_STATUS_BAD_FILE);
	cr_expect_eq(gemm_try(a3, b, NULL, &err), GB_STATUS_BAD_FILE);
	cr_expect_eq(gemm_try(ai, b, NULL, &err), GB_STATUS_UNSUPPORTED);
	cr_expect(strstr(err.msg, "Gemm") && strstr(err.msg, "int64"), "%s", err.msg);
	gb_tensor *ts[] = {a, b, b_bad, c_bad, c_ok, a3, ai};
	for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
		gb_tensor_free(ts[i]);
}

Test(gemm, bad_trans_attribute)
{
	int64_t d22[2] = {2, 2};
	gb_tensor *a = tu_random(2, d22, -1, 1, 1);
	const gb_tensor *ins[2] = {a, a};
	gb_attr attrs[1] = {attr_i("transA", 2)};
	gb_error err = {0};
	gb_model *m = tu_single("Gemm", 2, ins, NULL, 1, attrs, 1, &err);
	cr_expect_null(m);
	cr_expect_eq(err.status, GB_STATUS_BAD_FILE);
	gb_tensor_free(a);
}

/* ---- MatMul ------------------------------------------------------------------------ */

typedef struct matmul_case {
	int a_ndim;
	int64_t a_dims[4];
	int b_ndim;
	int64_t b_dims[4];
	int b_const;
} matmul_case;

static const matmul_case matmul_cases[] = {
	{2, {3, 4}, 2, {4, 5}, 0},                 /* plain */
	{1, {4}, 2, {4, 5}, 0},                    /* vector · matrix */
	{2, {3, 4}, 1, {4}, 0},                    /* matrix · vector */
	{1, {4}, 1, {4}, 0},                       /* dot product */
	{3, {2, 3, 4}, 2, {4, 5}, 1},              /* batch folded into rows */
	{2, {3, 4}, 3, {2, 4, 5}, 0},              /* batch on the right only */
	{3, {2, 3, 4}, 3, {2, 4, 5}, 0},           /* same batch */
	{4, {2, 1, 3, 4}, 3, {3, 4, 2}, 0},        /* broadcast batch both ways */
	{3, {1, 3, 4}, 4, {2, 2, 4, 5}, 0},        /* A broadcast over two batch axes */
	{3, {2, 3, 4}, 1, {4}, 0},                 /* batched matrix · vector */
	{1, {4}, 3, {2, 4, 3}, 0},                 /* vector · batched matrix */
	{4, {2, 3, 3, 4}, 4, {1, 1, 4, 2}, 1},     /* B batch of ones: folds */
	{2, {40, 70}, 2, {70, 30}, 1},             /* larger */
	{2, {3, 0}, 2, {0, 4}, 0},                 /* empty inner dimension: zeros */
	{3, {0, 3, 4}, 2, {4, 5}, 0},              /* empty batch */
	{3, {1, 3, 4}, 3, {0, 4, 5}, 0},           /* batch 1 broadcasts to 0 */
};

#define N_MATMUL_CASES ((int)(sizeof matmul_cases / sizeof matmul_cases[0]))

Test(matmul, forward_matches_reference)
{
	for (int ci = 0; ci < N_MATMUL_CASES; ci++) {
		const matmul_case *mc = &matmul_cases[ci];
		gb_tensor *ins[2] = {tu_random(mc->a_ndim, mc->a_dims, -1, 1, 100u + (uint64_t)ci),
		                     tu_random(mc->b_ndim, mc->b_dims, -1, 1, 200u + (uint64_t)ci)};
		int consts[2] = {0, mc->b_const};
		gb_error err = {0};
		gb_model *m = tu_single("MatMul", 2, (const gb_tensor *const *)ins, consts, 1, NULL, 0, &err);
		cr_assert_not_null(m, "%s", err.msg);
		gb_tensor *y = NULL;
		cr_assert_eq(tu_run(m, 2, (const gb_tensor *const *)ins, consts, &y, &err), GB_OK, "case %d: %s", ci, err.msg);
		int want_ndim;
		int64_t want_dims[GB_MAX_DIMS];
		float *want = malloc(4096 * sizeof *want);
		matmul_ref(ins[0], ins[1], &want_ndim, want_dims, want);
		cr_assert_eq(y->ndim, want_ndim, "case %d: rank %d, want %d", ci, y->ndim, want_ndim);
		for (int d = 0; d < want_ndim; d++)
			cr_assert_eq(y->dims[d], want_dims[d], "case %d: dim %d", ci, d);
		cr_expect_eq(tu_close(y->data, want, gb_tensor_numel(y), ATOL, RTOL), 0, "matmul case %d differs", ci);
		free(want);
		gb_tensor_free(y);
		gb_tensor_free(ins[0]);
		gb_tensor_free(ins[1]);
		gb_model_free(m);
	}
}

Test(matmul, gradcheck)
{
	for (int ci = 0; ci < N_MATMUL_CASES; ci++) {
		const matmul_case *mc = &matmul_cases[ci];
		gb_tensor *ins[2] = {tu_random(mc->a_ndim, mc->a_dims, -1, 1, 300u + (uint64_t)ci),
		                     tu_random(mc->b_ndim, mc->b_dims, -1, 1, 400u + (uint64_t)ci)};
		if (gb_tensor_numel(ins[0]) + gb_tensor_numel(ins[1]) > 200) {
			gb_tensor_free(ins[0]);
			gb_tensor_free(ins[1]);
			continue;
		}
		int consts[2] = {0, mc->b_const};
		gb_error err = {0};
		gb_model *m = tu_single("MatMul", 2, (const gb_tensor *const *)ins, consts, 1, NULL, 0, &err);
		cr_assert_not_null(m, "%s", err.msg);
		int bad = tu_gradcheck(m, 2, ins, consts, 1e-2, 1e-3, 1e-3);
		cr_expect_eq(bad, 0, "matmul gradcheck case %d: %d mismatches", ci, bad);
		gb_tensor_free(ins[0]);
		gb_tensor_free(ins[1]);
		gb_model_free(m);
	}
}

static gb_status matmul_try(const gb_tensor *a, const gb_tensor *b, gb_error *err)
{
	const gb_tensor *ins[2] = {a, b};
	gb_model *m = tu_single("MatMul", 2, ins, NULL, 1, NULL, 0, err);
	if (!m)
		return err->status;
	gb_tensor *y = NULL;
	gb_status st = tu_run(m, 2, ins, NULL, &y, err);
	gb_tensor_free(y);
	gb_model_free(m);
	return st;
}

Test(matmul, errors)
{
	gb_error err = {0};
	int64_t d34[2] = {3, 4}, d54[2] = {5, 4}, d234[3] = {2, 3, 4}, d345[3] = {3, 4, 5};
	gb_tensor *a = tu_random(2, d34, -1, 1, 1), *b_bad = tu_random(2, d54, -1, 1, 2);
	gb_tensor *a3 = tu_random(3, d234, -1, 1, 3), *b3 = tu_random(3, d345, -1, 1, 4);
	gb_tensor *ai = tu_tensor(GB_DTYPE_I32, 2, d34, NULL);
	cr_expect_eq(matmul_try(a, b_bad, &err), GB_STATUS_BAD_FILE);
	cr_expect_eq(matmul_try(a3, b3, &err), GB_STATUS_BAD_FILE, "batch 2 vs 3 must not broadcast");
	cr_expect(strstr(err.msg, "[2, 3, 4]") != NULL, "%s", err.msg);
	int64_t d045[3] = {0, 4, 5};
	gb_tensor *b0 = tu_random(3, d045, -1, 1, 5);
	cr_expect_eq(matmul_try(a3, b0, &err), GB_STATUS_BAD_FILE, "batch 2 vs 0 must not broadcast");
	gb_tensor_free(b0);
	cr_expect_eq(matmul_try(ai, b_bad, &err), GB_STATUS_UNSUPPORTED);
	cr_expect(strstr(err.msg, "MatMul") && strstr(err.msg, "int32"), "%s", err.msg);
	gb_tensor *ts[] = {a, b_bad, a3, b3, ai};
	for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
		gb_tensor_free(ts[i]);
}
