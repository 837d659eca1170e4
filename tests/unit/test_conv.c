/*
 * test_conv.c — Conv: forward against a naive direct convolution (float64)
 * over a table of geometries (strides, asymmetric pads, dilations, groups,
 * depthwise, auto_pad, 1-D/2-D/3-D, with and without bias, the pointwise
 * and image-batching paths), backward by finite differences for X, W and B,
 * and the errors for bad attributes, shapes and dtypes.
 */
#include <criterion/criterion.h>

#include "testutil.h"

#define ATOL 1e-4
#define RTOL 1e-4

typedef struct conv_case {
	const char *name;
	int D;
	int64_t N, C, M, group;
	int64_t in[3], k[3], stride[3], dil[3];
	int64_t pads[6];     /* attribute pads (begin..., end...), used when auto_pad is NULL */
	const char *auto_pad;
	int64_t ref_pads[6]; /* the pads the reference uses: by hand from the ONNX formulas */
	int bias;
	int consts;          /* W and B as initializers */
	int kernel_attr;     /* pass kernel_shape */
} conv_case;

/* Unused trailing spatial entries are ignored (only D of them count). */
static const conv_case cases[] = {
	{"basic 3x3 pad 1", 2, 2, 3, 4, 1, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, {1, 1, 1, 1}, 1, 1, 1},
	{"stride 2", 2, 2, 2, 3, 1, {7, 6}, {3, 3}, {2, 2}, {1, 1}, {0, 0, 0, 0}, NULL, {0, 0, 0, 0}, 1, 0, 0},
	{"asymmetric pads", 2, 1, 2, 3, 1, {5, 4}, {3, 2}, {1, 2}, {1, 1}, {1, 0, 2, 1}, NULL, {1, 0, 2, 1}, 1, 1, 1},
	{"dilation 2", 2, 2, 2, 2, 1, {7, 7}, {3, 3}, {1, 1}, {2, 2}, {2, 1, 2, 0}, NULL, {2, 1, 2, 0}, 1, 0, 1},
	{"stride 2 dilation 2", 2, 1, 2, 2, 1, {8, 9}, {2, 3}, {2, 3}, {2, 2}, {1, 1, 0, 2}, NULL, {1, 1, 0, 2}, 0, 1,
	 0},
	{"groups 2", 2, 2, 4, 6, 2, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, {1, 1, 1, 1}, 1, 1, 1},
	{"depthwise", 2, 2, 3, 3, 3, {6, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, {1, 1, 1, 1}, 1, 0, 1},
	{"depthwise multiplier 2 stride 2", 2, 1, 2, 4, 2, {6, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, NULL,
	 {1, 1, 1, 1}, 1, 1, 0},
	/* SAME: out = ceil(in/stride), total = (out-1)·stride + (k-1)·dil + 1 - in.
	 * h: in 5, k 4 → total 3; w: in 6, k 2 → total 1. UPPER puts the odd one at the end. */
	{"SAME_UPPER", 2, 2, 2, 3, 1, {5, 6}, {4, 2}, {1, 1}, {1, 1}, {0}, "SAME_UPPER", {1, 0, 2, 1}, 1, 0, 1},
	{"SAME_LOWER", 2, 2, 2, 3, 1, {5, 6}, {4, 2}, {1, 1}, {1, 1}, {0}, "SAME_LOWER", {2, 1, 1, 0}, 1, 0, 1},
	/* h: in 7, s 2 → out 4, total 6+3-7 = 2; w: in 6, s 2, dil 2, k 3 → out 3, total 4+5-6 = 3 */
	{"SAME_UPPER stride 2 dilation", 2, 1, 2, 2, 1, {7, 6}, {3, 3}, {2, 2}, {1, 2}, {0}, "SAME_UPPER",
	 {1, 1, 1, 2}, 1, 1, 0},
	{"VALID stride 2", 2, 2, 2, 3, 1, {7, 8}, {3, 3}, {2, 2}, {1, 1}, {0}, "VALID", {0, 0, 0, 0}, 1, 0, 1},
	{"1-D", 1, 2, 3, 2, 1, {10}, {3}, {2}, {1}, {1, 2}, NULL, {1, 2}, 1, 1, 1},
	/* in 9, k 4 → total 3: LOWER (2, 1) */
	{"1-D SAME_LOWER no bias", 1, 2, 2, 3, 1, {9}, {4}, {1}, {1}, {0}, "SAME_LOWER", {2, 1}, 0, 0, 0},
	{"no bias", 2, 2, 3, 2, 1, {4, 5}, {2, 2}, {1, 1}, {1, 1}, {0, 1, 1, 0}, NULL, {0, 1, 1, 0}, 0, 1, 1},
	{"pointwise one image", 2, 1, 3, 4, 1, {4, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, NULL, {0, 0, 0, 0}, 1, 1,
	 1},
	{"pointwise batch groups", 2, 3, 4, 2, 2, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, NULL, {0, 0, 0, 0}, 1,
	 0, 1},
	{"3-D", 3, 1, 2, 2, 1, {4, 3, 4}, {2, 3, 2}, {1, 2, 1}, {1, 1, 2}, {1, 0, 1, 0, 1, 0}, NULL, {1, 0, 1, 0, 1, 0},
	 1, 1, 1},
	{"kernel larger than input, padded", 2, 1, 1, 2, 1, {2, 2}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL,
	 {1, 1, 1, 1}, 1, 0, 1},
	/* Feature maps past CONV_TARGET_COLS: one image per sgemm, straight into Y. */
	{"large 1-D, per-image path", 1, 2, 2, 3, 1, {8300}, {3}, {1}, {1}, {1, 1}, NULL, {1, 1}, 1, 1, 1},
	/* 3000 columns an image: chunks of 3 images, then a remainder of 2. */
	{"1-D batch in chunks", 1, 5, 2, 3, 1, {3000}, {3}, {1}, {1}, {1, 1}, NULL, {1, 1}, 1, 1, 1},
	{"large pointwise, per-image direct path", 1, 2, 2, 3, 1, {8192}, {1}, {1}, {1}, {0, 0}, NULL, {0, 0}, 1, 1,
	 1},
};

#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* ---- the naive reference ---------------------------------------------------------------- */

/* Output spatial size along axis a. */
static int64_t ref_out(const conv_case *cc, int a)
{
	int64_t span = cc->in[a] + cc->ref_pads[a] + cc->ref_pads[cc->D + a];
	return (span - (cc->k[a] - 1) * cc->dil[a] - 1) / cc->stride[a] + 1;
}

/* Direct convolution: y[n, m, o...] = b[m] + Σ_c,k x[n, g·Cg + c, o·s - p + k·d] · w[m, c, k]. */
static void conv_ref(const conv_case *cc, const float *x, const float *w, const float *b, float *y)
{
	int D = cc->D;
	int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, out[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1},
	        p[3] = {0, 0, 0};
	for (int a = 0; a < D; a++) { /* right-align into 3 axes */
		int t = 3 - D + a;
		in[t] = cc->in[a], k[t] = cc->k[a], out[t] = ref_out(cc, a), s[t] = cc->stride[a], d[t] = cc->dil[a];
		p[t] = cc->ref_pads[a];
	}
	int64_t Cg = cc->C / cc->group, Mg = cc->M / cc->group;
	int64_t I = in[0] * in[1] * in[2], KK = k[0] * k[1] * k[2];
	for (int64_t n = 0; n < cc->N; n++)
		for (int64_t m = 0; m < cc->M; m++)
			for (int64_t o0 = 0; o0 < out[0]; o0++)
				for (int64_t o1 = 0; o1 < out[1]; o1++)
					for (int64_t o2 = 0; o2 < out[2]; o2++) {
						double acc = b ? b[m] : 0.0;
						int64_t grp = m / Mg;
						for (int64_t c = 0; c < Cg; c++)
							for (int64_t k0 = 0; k0 < k[0]; k0++)
								for (int64_t k1 = 0; k1 < k[1]; k1++)
									for (int64_t k2 = 0; k2 < k[2]; k2++) {
										int64_t i0 = o0 * s[0] - p[0] + k0 * d[0];
										int64_t i1 = o1 * s[1] - p[1] + k1 * d[1];
										int64_t i2 = o2 * s[2] - p[2] + k2 * d[2];
										if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2])
											continue;
										double xv = x[(n * cc->C + grp * Cg + c) * I + (i0 * in[1] + i1) * in[2] + i2];
										double wv = w[(m * Cg + c) * KK + (k0 * k[1] + k1) * k[2] + k2];
										acc += xv * wv;
									}
						*y++ = (float)acc;
					}
}

/* ---- building the one-node model --------------------------------------------------------- */

typedef struct conv_setup {
	gb_tensor *ins[3];
	int consts[3];
	gb_model *m;
} conv_setup;

static void conv_setup_make(conv_setup *cs, const conv_case *cc, uint64_t seed)
{
	int D = cc->D;
	int64_t xd[5] = {cc->N, cc->C}, wd[5] = {cc->M, cc->C / cc->group}, bd[1] = {cc->M};
	for (int a = 0; a < D; a++)
		xd[2 + a] = cc->in[a], wd[2 + a] = cc->k[a];
	cs->ins[0] = tu_random(D + 2, xd, -1, 1, seed);
	cs->ins[1] = tu_random(D + 2, wd, -1, 1, seed + 1);
	cs->ins[2] = cc->bias ? tu_random(1, bd, -1, 1, seed + 2) : NULL;
	cs->consts[0] = 0;
	cs->consts[1] = cs->consts[2] = cc->consts;
	gb_attr attrs[6];
	int n = 0;
	attrs[n++] = (gb_attr){.name = "strides", .type = GB_ATTR_INTS, .n = D, .ints = (int64_t *)cc->stride};
	attrs[n++] = (gb_attr){.name = "dilations", .type = GB_ATTR_INTS, .n = D, .ints = (int64_t *)cc->dil};
	attrs[n++] = (gb_attr){.name = "group", .type = GB_ATTR_INT, .i = cc->group};
	if (cc->auto_pad)
		attrs[n++] = (gb_attr){.name = "auto_pad", .type = GB_ATTR_STRING, .s = cc->auto_pad,
		                       .s_len = strlen(cc->auto_pad)};
	else
		attrs[n++] = (gb_attr){.name = "pads", .type = GB_ATTR_INTS, .n = 2 * D, .ints = (int64_t *)cc->pads};
	if (cc->kernel_attr)
		attrs[n++] = (gb_attr){.name = "kernel_shape", .type = GB_ATTR_INTS, .n = D, .ints = (int64_t *)cc->k};
	gb_error err = {0};
	cs->m = tu_single("Conv", cc->bias ? 3 : 2, (const gb_tensor *const *)cs->ins, cs->consts, 1, attrs, n, &err);
	cr_assert_not_null(cs->m, "%s: %s", cc->name, err.msg);
}

static void conv_setup_free(conv_setup *cs)
{
	for (int k = 0; k < 3; k++)
		gb_tensor_free(cs->ins[k]);
	gb_model_free(cs->m);
}

/* ---- tests ------------------------------------------------------------------------------------ */

Test(conv, forward_matches_reference)
{
	for (int ci = 0; ci < N_CASES; ci++) {
		const conv_case *cc = &cases[ci];
		conv_setup cs;
		conv_setup_make(&cs, cc, 10u + 7u * (uint64_t)ci);
		gb_tensor *y = NULL;
		gb_error err = {0};
		cr_assert_eq(tu_run(cs.m, 3, (const gb_tensor *const *)cs.ins, cs.consts, &y, &err), GB_OK, "%s: %s",
		             cc->name, err.msg);
		cr_assert_eq(y->ndim, cc->D + 2, "%s: rank", cc->name);
		cr_assert(y->dims[0] == cc->N && y->dims[1] == cc->M, "%s: N, M", cc->name);
		for (int a = 0; a < cc->D; a++)
			cr_assert_eq(y->dims[2 + a], ref_out(cc, a), "%s: spatial axis %d is %lld, want %lld", cc->name, a,
			             (long long)y->dims[2 + a], (long long)ref_out(cc, a));
		float *want = malloc((size_t)gb_tensor_numel(y) * sizeof *want);
		conv_ref(cc, cs.ins[0]->data, cs.ins[1]->data, cs.ins[2] ? cs.ins[2]->data : NULL, want);
		cr_expect_eq(tu_close(y->data, want, gb_tensor_numel(y), ATOL, RTOL), 0, "%s differs", cc->name);
		free(want);
		gb_tensor_free(y);
		conv_setup_free(&cs);
	}
}

Test(conv, gradcheck)
{
	for (int ci = 0; ci < N_CASES; ci++) {
		const conv_case *cc = &cases[ci];
		conv_setup cs;
		conv_setup_make(&cs, cc, 500u + 3u * (uint64_t)ci);
		if (gb_tensor_numel(cs.ins[0]) > 400) { /* finite differences on the small cases */
			conv_setup_free(&cs);
			continue;
		}
		int bad = tu_gradcheck(cs.m, 3, cs.ins, cs.consts, 1e-2, 1e-3, 1e-3);
		cr_expect_eq(bad, 0, "%s: %d gradient mismatches", cc->name, bad);
		conv_setup_free(&cs);
	}
}

static const conv_case *case_named(const char *name)
{
	for (int ci = 0; ci < N_CASES; ci++)
		if (strcmp(cases[ci].name, name) == 0)
			return &cases[ci];
	cr_assert_fail("no case '%s'", name);
	return NULL;
}

/* Backward of the cases too large for finite differences (one image per
 * sgemm; several images per sgemm with a remainder chunk), 1-D with k 3,
 * pads 1, stride 1, against closed forms for a seed of ones:
 *   dB[m] = N·O,  dW[m, c, k] = Σ_n Σ_o x[n, c, o + k - 1],  dX[n, c, i] = Σ_m Σ_k w[m, c, k] (o = i - k + 1 in range). */
static void check_large_backward(const conv_case *cc, uint64_t seed)
{
	conv_setup cs;
	conv_setup_make(&cs, cc, seed);
	gb_error err = {0};
	gb_session *s = NULL;
	cr_assert_eq(gb_session_new(cs.m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_set_input(s, 0, cs.ins[0], &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_backward(s, NULL, &err), GB_OK, "%s", err.msg);
	const gb_tensor *gw = gb_session_grad(s, "in1"), *gbias = gb_session_grad(s, "in2"), *gx = gb_session_input_grad(s, 0);
	cr_assert(gw && gbias && gx);
	int64_t L = cc->in[0], O = L;
	const float *x = cs.ins[0]->data, *w = cs.ins[1]->data;
	for (int64_t m = 0; m < cc->M; m++)
		cr_expect_float_eq(((float *)gbias->data)[m], (float)(cc->N * O), 1e-3, "%s: dB", cc->name);
	for (int64_t m = 0; m < cc->M; m++)
		for (int64_t c = 0; c < cc->C; c++)
			for (int64_t k = 0; k < 3; k++) {
				double want = 0.0;
				for (int64_t n = 0; n < cc->N; n++)
					for (int64_t o = 0; o < O; o++) {
						int64_t i = o + k - 1;
						if (i >= 0 && i < L)
							want += x[(n * cc->C + c) * L + i];
					}
				float got = ((float *)gw->data)[(m * cc->C + c) * 3 + k];
				cr_expect(fabs(got - want) <= 1e-3 + 1e-4 * fabs(want), "%s: dW[%lld,%lld,%lld] %g want %g", cc->name,
				          (long long)m, (long long)c, (long long)k, got, want);
			}
	for (int64_t n = 0; n < cc->N; n++)
		for (int64_t c = 0; c < cc->C; c++)
			for (int64_t i = 0; i < L; i++) {
				double want = 0.0;
				for (int64_t m = 0; m < cc->M; m++)
					for (int64_t k = 0; k < 3; k++) {
						int64_t o = i - k + 1;
						if (o >= 0 && o < O)
							want += w[(m * cc->C + c) * 3 + k];
					}
				float got = ((float *)gx->data)[(n * cc->C + c) * L + i];
				if (fabs(got - want) > 1e-4 + 1e-4 * fabs(want))
					cr_assert_fail("%s: dX[%lld,%lld,%lld] %g want %g", cc->name, (long long)n, (long long)c,
					               (long long)i, got, want);
			}
	gb_session_free(s);
	conv_setup_free(&cs);
}

Test(conv, large_backward)
{
	check_large_backward(case_named("large 1-D, per-image path"), 77);
	check_large_backward(case_named("1-D batch in chunks"), 79);
}

/* The pointwise per-image path: dX = Wᵀ·dY and dW = dY·Xᵀ with a seed of ones. */
Test(conv, large_pointwise_backward)
{
	const conv_case *cc = case_named("large pointwise, per-image direct path");
	conv_setup cs;
	conv_setup_make(&cs, cc, 78);
	gb_error err = {0};
	gb_session *s = NULL;
	cr_assert_eq(gb_session_new(cs.m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_set_input(s, 0, cs.ins[0], &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_backward(s, NULL, &err), GB_OK, "%s", err.msg);
	const gb_tensor *gw = gb_session_grad(s, "in1"), *gx = gb_session_input_grad(s, 0);
	cr_assert(gw && gx);
	int64_t L = cc->in[0];
	const float *x = cs.ins[0]->data, *w = cs.ins[1]->data;
	for (int64_t m = 0; m < cc->M; m++)
		for (int64_t c = 0; c < cc->C; c++) {
			double want = 0.0;
			for (int64_t n = 0; n < cc->N; n++)
				for (int64_t i = 0; i < L; i++)
					want += x[(n * cc->C + c) * L + i];
			float got = ((float *)gw->data)[m * cc->C + c];
			cr_expect(fabs(got - want) <= 1e-3 + 1e-4 * fabs(want), "dW[%lld,%lld] %g want %g", (long long)m,
			          (long long)c, got, want);
		}
	for (int64_t c = 0; c < cc->C; c++) {
		double want = 0.0;
		for (int64_t m = 0; m < cc->M; m++)
			want += w[m * cc->C + c];
		for (int64_t n = 0; n < cc->N; n++)
			cr_expect_float_eq(((float *)gx->data)[(n * cc->C + c) * L + L / 2], (float)want, 1e-5);
	}
	gb_session_free(s);
	conv_setup_free(&cs);
}

/* ---- errors ------------------------------------------------------------------------------------- */

/* Builds and runs a Conv on X and W with the given attributes; returns the
 * status of the first step that fails (prepare or forward). */
static gb_status conv_try(const gb_tensor *x, const gb_tensor *w, const gb_tensor *b, const gb_attr *attrs,
                          int n_attrs, gb_error *err)
{
	const gb_tensor *ins[3] = {x, w, b};
	gb_model *m = tu_single("Conv", b ? 3 : 2, ins, NULL, 1, attrs, n_attrs, err);
	if (!m)
		return err->status;
	gb_tensor *y = NULL;
	gb_status st = tu_run(m, b ? 3 : 2, ins, NULL, &y, err);
	gb_tensor_free(y);
	gb_model_free(m);
	return st;
}

Test(conv, errors)
{
	gb_error err = {0};
	int64_t xd[4] = {1, 3, 5, 5}, wd[4] = {2, 3, 3, 3}, w2d[4] = {2, 2, 3, 3}, bd[1] = {3}, x6d[6] = {1, 1, 2, 2, 2, 2},
	        w6d[6] = {1, 1, 1, 1, 1, 1}, wbig[4] = {2, 3, 7, 7};
	gb_tensor *x = tu_random(4, xd, -1, 1, 1), *w = tu_random(4, wd, -1, 1, 2), *w2 = tu_random(4, w2d, -1, 1, 3);
	gb_tensor *b_bad = tu_random(1, bd, -1, 1, 4), *x6 = tu_random(6, x6d, -1, 1, 5), *w6 = tu_random(6, w6d, -1, 1, 6);
	gb_tensor *wb = tu_random(4, wbig, -1, 1, 7);
	gb_tensor *xi = tu_tensor(GB_DTYPE_I64, 4, xd, NULL);
	int64_t ks_bad[2] = {3, 2}, strides3[3] = {1, 1, 1};

	cr_expect_eq(conv_try(x, w, NULL, NULL, 0, &err), GB_OK, "%s", err.msg);

	gb_attr ks = {.name = "kernel_shape", .type = GB_ATTR_INTS, .n = 2, .ints = ks_bad};
	cr_expect_eq(conv_try(x, w, NULL, &ks, 1, &err), GB_STATUS_BAD_FILE);
	cr_expect(strstr(err.msg, "kernel_shape") && strstr(err.msg, "node") && strstr(err.msg, "test"), "%s", err.msg);

	cr_expect_eq(conv_try(x, w2, NULL, NULL, 0, &err), GB_STATUS_BAD_FILE, "channel mismatch");
	cr_expect(strstr(err.msg, "channels") != NULL, "%s", err.msg);

	gb_attr g3 = {.name = "group", .type = GB_ATTR_INT, .i = 3};
	cr_expect_eq(conv_try(x, w2, NULL, &g3, 1, &err), GB_STATUS_BAD_FILE, "3 channels, group 3, W wants 2 each");

	cr_expect_eq(conv_try(x, w, b_bad, NULL, 0, &err), GB_STATUS_BAD_FILE, "bias of 3 for 2 outputs");

	cr_expect_eq(conv_try(xi, w, NULL, NULL, 0, &err), GB_STATUS_UNSUPPORTED);
	cr_expect(strstr(err.msg, "Conv") && strstr(err.msg, "int64"), "%s", err.msg);

	cr_expect_eq(conv_try(x6, w6, NULL, NULL, 0, &err), GB_STATUS_UNSUPPORTED, "4-D convolution");
	cr_expect(strstr(err.msg, "4-D") != NULL, "%s", err.msg);

	gb_attr st3 = {.name = "strides", .type = GB_ATTR_INTS, .n = 3, .ints = strides3};
	cr_expect_eq(conv_try(x, w, NULL, &st3, 1, &err), GB_STATUS_BAD_FILE, "3 strides for a 2-D conv");

	gb_attr ap = {.name = "auto_pad", .type = GB_ATTR_STRING, .s = "SAME", .s_len = 4};
	cr_expect_eq(conv_try(x, w, NULL, &ap, 1, &err), GB_STATUS_BAD_FILE, "unknown auto_pad");

	int64_t neg_pads[4] = {0, -1, 0, 0};
	gb_attr np = {.name = "pads", .type = GB_ATTR_INTS, .n = 4, .ints = neg_pads};
	cr_expect_eq(conv_try(x, w, NULL, &np, 1, &err), GB_STATUS_BAD_FILE, "negative pads");

	cr_expect_eq(conv_try(x, wb, NULL, NULL, 0, &err), GB_STATUS_BAD_FILE, "7x7 kernel on a 5x5 input");

	gb_tensor *ts[] = {x, w, w2, b_bad, x6, w6, wb, xi};
	for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
		gb_tensor_free(ts[i]);
}
