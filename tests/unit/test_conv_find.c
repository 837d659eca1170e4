/*
 * test_conv_find.c — a convolution recognised in a dense layer
 * (src/decompile/conv.c): dense matrices built from known convolutions,
 * rows shuffled, every field recovered; near-misses and plain dense layers
 * refused; the recovered convolution run (by a naive loop here and by the
 * engine's Conv) against W @ x.
 */
#include <criterion/criterion.h>

#include "decompile/conv_find.h"
#include "testutil.h"

/* A convolution and the dense layer it lowers to. */
typedef struct conv_case {
	int64_t F, C, H, Wd, kh, kw, sh, sw, ph, pw, oh, ow, rows, n;
	double *kernel; /* (F, C, kh, kw) */
	double *bias;   /* (F) */
	double *W;      /* (rows, n) shuffled: output (o, i, j) is row perm[(o * oh + i) * ow + j] */
	double *b;      /* (rows) */
	int64_t *perm;  /* (rows) */
} conv_case;

static double rnd(uint64_t *state)
{
	return 2.0 * tu_uniform(state) - 1.0;
}

/* Kernel values away from 0 (so the support is the whole kernel unless a
 * test zeroes a part) and from each other across filters. */
static double nonzero(uint64_t *state)
{
	double v = rnd(state);
	return v < 0 ? v - 0.1 : v + 0.1;
}

static void case_lower(conv_case *cc, uint64_t *state)
{
	cc->oh = (cc->H + 2 * cc->ph - cc->kh) / cc->sh + 1;
	cc->ow = (cc->Wd + 2 * cc->pw - cc->kw) / cc->sw + 1;
	cc->rows = cc->F * cc->oh * cc->ow;
	cc->n = cc->C * cc->H * cc->Wd;
	cc->W = calloc((size_t)(cc->rows * cc->n), sizeof *cc->W);
	cc->b = malloc((size_t)cc->rows * sizeof *cc->b);
	cc->perm = malloc((size_t)cc->rows * sizeof *cc->perm);
	cr_assert(cc->W && cc->b && cc->perm);
	for (int64_t r = 0; r < cc->rows; r++)
		cc->perm[r] = r;
	for (int64_t r = cc->rows - 1; r > 0; r--) { /* Fisher-Yates */
		int64_t k = (int64_t)(tu_uniform(state) * (double)(r + 1));
		int64_t t = cc->perm[r];
		cc->perm[r] = cc->perm[k];
		cc->perm[k] = t;
	}
	for (int64_t o = 0; o < cc->F; o++)
		for (int64_t i = 0; i < cc->oh; i++)
			for (int64_t j = 0; j < cc->ow; j++) {
				const int64_t r = cc->perm[(o * cc->oh + i) * cc->ow + j];
				double *w = cc->W + r * cc->n;
				cc->b[r] = cc->bias[o];
				for (int64_t c = 0; c < cc->C; c++)
					for (int64_t p = 0; p < cc->kh; p++)
						for (int64_t q = 0; q < cc->kw; q++) {
							const int64_t y = i * cc->sh - cc->ph + p, x = j * cc->sw - cc->pw + q;
							if (y >= 0 && y < cc->H && x >= 0 && x < cc->Wd)
								w[(c * cc->H + y) * cc->Wd + x] =
								    cc->kernel[((o * cc->C + c) * cc->kh + p) * cc->kw + q];
						}
			}
}

/* Random kernels and biases for the geometry already in cc, then lowered. */
static void case_make(conv_case *cc, uint64_t seed)
{
	uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 7;
	const int64_t kn = cc->F * cc->C * cc->kh * cc->kw;
	cc->kernel = malloc((size_t)kn * sizeof *cc->kernel);
	cc->bias = malloc((size_t)cc->F * sizeof *cc->bias);
	cr_assert(cc->kernel && cc->bias);
	for (int64_t k = 0; k < kn; k++)
		cc->kernel[k] = nonzero(&state);
	for (int64_t o = 0; o < cc->F; o++)
		cc->bias[o] = rnd(&state);
	case_lower(cc, &state);
}

static void case_free(conv_case *cc)
{
	free(cc->kernel);
	free(cc->bias);
	free(cc->W);
	free(cc->b);
	free(cc->perm);
}

static bool find(const conv_case *cc, double tol, gb_conv_found *f)
{
	return gb_conv_find(cc->W, cc->b, cc->rows, cc->C, cc->H, cc->Wd, tol, f);
}

/* y = W x + b over the rows, then read out as (o, i, j) through f->unit. */
static void dense_outputs(const conv_case *cc, const gb_conv_found *f, const double *x, double *y)
{
	for (int64_t k = 0; k < cc->rows; k++) {
		const int64_t r = f->unit[k];
		double s = cc->b[r];
		for (int64_t e = 0; e < cc->n; e++)
			s += cc->W[r * cc->n + e] * x[e];
		y[k] = s;
	}
}

/* The naive conv2d of docs/language.md §10.6 with the recovered fields. */
static void conv_naive(const gb_conv_found *f, int64_t H, int64_t Wd, const double *x, double *y)
{
	for (int64_t o = 0; o < f->filters; o++)
		for (int64_t i = 0; i < f->out_h; i++)
			for (int64_t j = 0; j < f->out_w; j++) {
				double s = f->bias[o];
				for (int64_t c = 0; c < f->channels; c++)
					for (int64_t p = 0; p < f->kh; p++)
						for (int64_t q = 0; q < f->kw; q++) {
							const int64_t yy = i * f->stride_h - f->pad_h + p, xx = j * f->stride_w - f->pad_w + q;
							if (yy >= 0 && yy < H && xx >= 0 && xx < Wd)
								s += f->kernel[((o * f->channels + c) * f->kh + p) * f->kw + q] *
								     x[(c * H + yy) * Wd + xx];
						}
				y[(o * f->out_h + i) * f->out_w + j] = s;
			}
}

/* The recovered convolution computes what the dense layer computes, for
 * random inputs. */
static void expect_same_function(const conv_case *cc, const gb_conv_found *f, uint64_t seed)
{
	uint64_t state = seed;
	double *x = malloc((size_t)cc->n * sizeof *x), *yd = malloc((size_t)cc->rows * sizeof *yd);
	double *yc = malloc((size_t)cc->rows * sizeof *yc);
	cr_assert(x && yd && yc);
	cr_assert_eq(f->filters * f->out_h * f->out_w, cc->rows);
	for (int trial = 0; trial < 3; trial++) {
		for (int64_t e = 0; e < cc->n; e++)
			x[e] = rnd(&state);
		dense_outputs(cc, f, x, yd);
		conv_naive(f, cc->H, cc->Wd, x, yc);
		for (int64_t k = 0; k < cc->rows; k++)
			cr_assert(fabs(yd[k] - yc[k]) <= 1e-5 * (1 + fabs(yd[k])), "output %ld: dense %g, conv %g", (long)k,
			          yd[k], yc[k]);
	}
	free(x);
	free(yd);
	free(yc);
}

/* Every field exact: the geometry, each recovered filter one of the true
 * ones (a bijection), and unit[(o', i, j)] the row the shuffle sent true
 * output (o, i, j) to. */
static void expect_recovered(const conv_case *cc, const gb_conv_found *f)
{
	cr_assert_eq(f->filters, cc->F);
	cr_assert_eq(f->channels, cc->C);
	cr_assert_eq(f->kh, cc->kh);
	cr_assert_eq(f->kw, cc->kw);
	cr_assert_eq(f->pad_h, cc->ph);
	cr_assert_eq(f->pad_w, cc->pw);
	cr_assert_eq(f->out_h, cc->oh);
	cr_assert_eq(f->out_w, cc->ow);
	if (cc->oh > 1)
		cr_assert_eq(f->stride_h, cc->sh);
	if (cc->ow > 1)
		cr_assert_eq(f->stride_w, cc->sw);
	cr_assert_lt(f->max_error, 1e-12);
	const int64_t kn = cc->C * cc->kh * cc->kw;
	bool taken[64] = {false};
	cr_assert_leq(cc->F, 64);
	for (int64_t o2 = 0; o2 < f->filters; o2++) {
		int64_t o = -1;
		for (int64_t t = 0; t < cc->F && o < 0; t++) {
			bool same = !taken[t] && fabs(f->bias[o2] - cc->bias[t]) < 1e-6;
			for (int64_t k = 0; k < kn && same; k++)
				same = fabs(f->kernel[o2 * kn + k] - cc->kernel[t * kn + k]) < 1e-6;
			if (same)
				o = t;
		}
		cr_assert_geq(o, 0, "recovered filter %ld is none of the true ones", (long)o2);
		taken[o] = true;
		for (int64_t k = 0; k < cc->oh * cc->ow; k++)
			cr_assert_eq(f->unit[o2 * cc->oh * cc->ow + k], cc->perm[o * cc->oh * cc->ow + k]);
	}
}

/* ---- recovery ----------------------------------------------------------------------------------- */

Test(conv_find, recovers_every_field_on_many_shapes)
{
	/* F, C, H, Wd, kh, kw, sh, sw, ph, pw */
	static const int64_t shapes[][10] = {
	    {2, 1, 5, 5, 3, 3, 1, 1, 0, 0},   {3, 1, 5, 5, 3, 3, 1, 1, 1, 1},   {2, 3, 6, 7, 3, 3, 2, 2, 1, 1},
	    {4, 1, 8, 8, 2, 2, 2, 2, 0, 0},   {2, 3, 9, 6, 2, 2, 1, 1, 1, 1},   {3, 1, 12, 10, 5, 5, 1, 1, 0, 0},
	    {2, 3, 11, 11, 5, 5, 2, 2, 1, 1}, {1, 1, 28, 28, 5, 5, 1, 1, 0, 0}, {2, 1, 28, 28, 3, 3, 2, 2, 1, 1},
	    {3, 3, 7, 9, 3, 2, 1, 2, 0, 1},   {2, 1, 5, 12, 3, 5, 2, 1, 1, 0},  {5, 3, 16, 16, 3, 3, 1, 1, 1, 1},
	    {2, 1, 6, 6, 2, 2, 1, 1, 1, 1},   {2, 3, 10, 10, 5, 5, 2, 2, 0, 0}, {3, 1, 24, 20, 5, 3, 2, 1, 1, 1},
	};
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		const int64_t *g = shapes[s];
		conv_case cc = {.F = g[0], .C = g[1], .H = g[2], .Wd = g[3], .kh = g[4], .kw = g[5], .sh = g[6],
		                .sw = g[7], .ph = g[8], .pw = g[9]};
		case_make(&cc, 100 + s);
		gb_conv_found f = {0};
		cr_assert(find(&cc, 1e-9, &f), "shape %zu: not recognised", s);
		expect_recovered(&cc, &f);
		expect_same_function(&cc, &f, 500 + s);
		gb_conv_found_free(&f);
		cr_assert_null(f.kernel);
		case_free(&cc);
	}
	gb_conv_found_free(NULL);
}

Test(conv_find, mnist_sized_layer)
{
	/* 16 filters 5x5 over 28x28: 16*24*24 = 9216 rows of 784 */
	conv_case cc = {.F = 16, .C = 1, .H = 28, .Wd = 28, .kh = 5, .kw = 5, .sh = 1, .sw = 1};
	case_make(&cc, 7);
	cr_assert_eq(cc.rows, 9216);
	gb_conv_found f = {0};
	cr_assert(find(&cc, 1e-6, &f));
	expect_recovered(&cc, &f);
	gb_conv_found_free(&f);
	case_free(&cc);
}

/* Kernels whose edge rows or columns are zero: the support is smaller than
 * the kernel, and the window is the largest support plus zero margins. */
Test(conv_find, zero_border_kernels)
{
	/* every filter's last row and last column zero, no padding */
	conv_case a = {.F = 3, .C = 1, .H = 7, .Wd = 6, .kh = 3, .kw = 3, .sh = 1, .sw = 1};
	case_make(&a, 11);
	for (int64_t o = 0; o < a.F; o++)
		for (int64_t k = 0; k < 3; k++)
			a.kernel[o * 9 + 2 * 3 + k] = a.kernel[o * 9 + k * 3 + 2] = 0;
	free(a.W), free(a.b), free(a.perm);
	uint64_t state = 99;
	case_lower(&a, &state);
	gb_conv_found f = {0};
	cr_assert(find(&a, 1e-9, &f));
	expect_recovered(&a, &f);
	expect_same_function(&a, &f, 1);
	gb_conv_found_free(&f);
	case_free(&a);

	/* one filter with its first row and first column zero, padding 1, 3 channels */
	conv_case b = {.F = 3, .C = 3, .H = 8, .Wd = 9, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1};
	case_make(&b, 12);
	for (int64_t c = 0; c < b.C; c++)
		for (int64_t k = 0; k < 3; k++)
			b.kernel[(1 * b.C + c) * 9 + 0 * 3 + k] = b.kernel[(1 * b.C + c) * 9 + k * 3 + 0] = 0;
	free(b.W), free(b.b), free(b.perm);
	state = 98;
	case_lower(&b, &state);
	cr_assert(find(&b, 1e-9, &f));
	expect_recovered(&b, &f);
	expect_same_function(&b, &f, 2);
	gb_conv_found_free(&f);
	case_free(&b);

	/* 5x5 kernels with a zero ring, padding 2: the same matrix as 3x3
	 * kernels with padding 1, and the smaller is what comes back */
	conv_case c5 = {.F = 2, .C = 1, .H = 9, .Wd = 9, .kh = 5, .kw = 5, .sh = 1, .sw = 1, .ph = 2, .pw = 2};
	case_make(&c5, 13);
	for (int64_t o = 0; o < c5.F; o++)
		for (int64_t p = 0; p < 5; p++)
			for (int64_t q = 0; q < 5; q++)
				if (p == 0 || p == 4 || q == 0 || q == 4)
					c5.kernel[o * 25 + p * 5 + q] = 0;
	free(c5.W), free(c5.b), free(c5.perm);
	state = 97;
	case_lower(&c5, &state);
	cr_assert(find(&c5, 1e-9, &f));
	cr_assert_eq(f.kh, 3);
	cr_assert_eq(f.kw, 3);
	cr_assert_eq(f.pad_h, 1);
	cr_assert_eq(f.pad_w, 1);
	cr_assert_eq(f.out_h, 9);
	cr_assert_eq(f.out_w, 9);
	cr_assert_lt(f.max_error, 1e-12);
	expect_same_function(&c5, &f, 3);
	gb_conv_found_free(&f);
	case_free(&c5);
}

Test(conv_find, noise_within_tolerance)
{
	conv_case cc = {.F = 2, .C = 3, .H = 8, .Wd = 8, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1};
	case_make(&cc, 21);
	uint64_t state = 5;
	for (int64_t k = 0; k < cc.rows * cc.n; k++)
		if (cc.W[k] != 0)
			cc.W[k] += 1e-8 * rnd(&state);
	gb_conv_found f = {0};
	cr_assert(find(&cc, 1e-6, &f));
	cr_assert_eq(f.filters, 2);
	cr_assert_eq(f.kh, 3);
	cr_assert_lt(f.max_error, 3e-8);
	cr_assert_gt(f.max_error, 0);
	gb_conv_found_free(&f);
	case_free(&cc);
}

/* ---- refusals ----------------------------------------------------------------------------------- */

Test(conv_find, refuses_dense_layers)
{
	static const int64_t shapes[][4] = {{32, 1, 6, 6}, {64, 3, 8, 8}, {9, 1, 5, 5}, {200, 1, 28, 28}};
	uint64_t state = 3;
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		const int64_t rows = shapes[s][0], n = shapes[s][1] * shapes[s][2] * shapes[s][3];
		double *W = malloc((size_t)(rows * n) * sizeof *W), *b = malloc((size_t)rows * sizeof *b);
		cr_assert(W && b);
		for (int64_t k = 0; k < rows * n; k++)
			W[k] = rnd(&state);
		for (int64_t r = 0; r < rows; r++)
			b[r] = rnd(&state);
		gb_conv_found f = {.filters = -7};
		cr_assert_not(gb_conv_find(W, b, rows, shapes[s][1], shapes[s][2], shapes[s][3], 1e-6, &f));
		cr_assert_eq(f.filters, -7, "out untouched");
		/* sparse random rows (a random 3x3 patch each, random values) */
		memset(W, 0, (size_t)(rows * n) * sizeof *W);
		for (int64_t r = 0; r < rows; r++) {
			int64_t y0 = (int64_t)(tu_uniform(&state) * (double)(shapes[s][2] - 2));
			int64_t x0 = (int64_t)(tu_uniform(&state) * (double)(shapes[s][3] - 2));
			for (int64_t p = 0; p < 3; p++)
				for (int64_t q = 0; q < 3; q++)
					W[r * n + (y0 + p) * shapes[s][3] + x0 + q] = nonzero(&state);
		}
		cr_assert_not(gb_conv_find(W, b, rows, shapes[s][1], shapes[s][2], shapes[s][3], 1e-6, &f));
		free(W);
		free(b);
	}
}

Test(conv_find, refuses_near_misses)
{
	conv_case cc = {.F = 3, .C = 3, .H = 8, .Wd = 7, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1};
	case_make(&cc, 31);
	gb_conv_found f = {0};
	cr_assert(find(&cc, 1e-6, &f), "the unperturbed layer is a conv");
	gb_conv_found_free(&f);

	/* one kernel entry in one row off by 1e-4 (relative), above the tolerance 1e-6 */
	const int64_t r = cc.perm[5]; /* the row of output (0, 0, 5) */
	int64_t nz = -1;
	for (int64_t k = 0; k < cc.n && nz < 0; k++)
		if (cc.W[r * cc.n + k] != 0)
			nz = k;
	cr_assert_geq(nz, 0);
	const double saved = cc.W[r * cc.n + nz];
	cc.W[r * cc.n + nz] += 1e-4;
	cr_assert_not(find(&cc, 1e-6, &f), "a perturbed weight");
	cc.W[r * cc.n + nz] = saved;

	/* an entry outside that row's window made nonzero (kernel entries are
	 * never 0 here, so the row's zeros are outside) */
	int64_t zero = -1;
	for (int64_t k = 0; k < cc.n && zero < 0; k++)
		if (cc.W[r * cc.n + k] == 0)
			zero = k;
	cr_assert_geq(zero, 0);
	cc.W[r * cc.n + zero] = 1e-4;
	cr_assert_not(find(&cc, 1e-6, &f), "a weight outside the window");
	cc.W[r * cc.n + zero] = 0;

	/* one bias off */
	cc.b[r] += 1e-3;
	cr_assert_not(find(&cc, 1e-6, &f), "a perturbed bias");
	cc.b[r] -= 1e-3;

	/* noise on every weight above the tolerance */
	uint64_t state = 8;
	double *noisy = malloc((size_t)(cc.rows * cc.n) * sizeof *noisy);
	cr_assert(noisy);
	for (int64_t k = 0; k < cc.rows * cc.n; k++)
		noisy[k] = cc.W[k] + (cc.W[k] != 0 ? 1e-4 * rnd(&state) : 0);
	cr_assert_not(gb_conv_find(noisy, cc.b, cc.rows, cc.C, cc.H, cc.Wd, 1e-6, &f));
	free(noisy);

	/* a zero row */
	memset(cc.W + r * cc.n, 0, (size_t)cc.n * sizeof *cc.W);
	cr_assert_not(find(&cc, 1e-6, &f), "a zero row");
	case_free(&cc);
}

/* Two filters, one at stride 1 and one at stride 2 (both 3x3 over 9x9, no
 * padding): no single convolution. */
Test(conv_find, refuses_mixed_strides)
{
	conv_case s1 = {.F = 1, .C = 1, .H = 9, .Wd = 9, .kh = 3, .kw = 3, .sh = 1, .sw = 1};
	conv_case s2 = {.F = 1, .C = 1, .H = 9, .Wd = 9, .kh = 3, .kw = 3, .sh = 2, .sw = 2};
	case_make(&s1, 41);
	case_make(&s2, 42);
	const int64_t rows = s1.rows + s2.rows, n = s1.n;
	double *W = malloc((size_t)(rows * n) * sizeof *W), *b = malloc((size_t)rows * sizeof *b);
	cr_assert(W && b);
	memcpy(W, s1.W, (size_t)(s1.rows * n) * sizeof *W);
	memcpy(W + s1.rows * n, s2.W, (size_t)(s2.rows * n) * sizeof *W);
	memcpy(b, s1.b, (size_t)s1.rows * sizeof *b);
	memcpy(b + s1.rows, s2.b, (size_t)s2.rows * sizeof *b);
	gb_conv_found f = {0};
	cr_assert(gb_conv_find(W, b, s1.rows, 1, 9, 9, 1e-9, &f), "the stride-1 part alone is a conv");
	gb_conv_found_free(&f);
	cr_assert_not(gb_conv_find(W, b, rows, 1, 9, 9, 1e-9, &f));
	/* the same kernel at both strides */
	memcpy(s2.kernel, s1.kernel, 9 * sizeof *s2.kernel);
	s2.bias[0] = s1.bias[0];
	free(s2.W), free(s2.b), free(s2.perm);
	uint64_t state = 4;
	case_lower(&s2, &state);
	memcpy(W + s1.rows * n, s2.W, (size_t)(s2.rows * n) * sizeof *W);
	memcpy(b + s1.rows, s2.b, (size_t)s2.rows * sizeof *b);
	cr_assert_not(gb_conv_find(W, b, rows, 1, 9, 9, 1e-9, &f));
	free(W);
	free(b);
	case_free(&s1);
	case_free(&s2);
}

Test(conv_find, refuses_bad_arguments)
{
	double W[4] = {1, 2, 3, 4}, b[2] = {0, 0};
	gb_conv_found f = {0};
	cr_assert_not(gb_conv_find(W, b, 2, 1, 1, 2, -1.0, &f));
	cr_assert_not(gb_conv_find(W, b, 0, 1, 1, 2, 1e-6, &f));
	cr_assert_not(gb_conv_find(W, b, 2, 0, 1, 2, 1e-6, &f));
	cr_assert_not(gb_conv_find(NULL, b, 2, 1, 1, 2, 1e-6, &f));
	cr_assert_not(gb_conv_find(W, b, 2, INT64_MAX, INT64_MAX, 2, 1e-6, &f));
	W[1] = NAN;
	cr_assert_not(gb_conv_find(W, b, 2, 1, 1, 2, 1e-6, &f));
	/* rows (1, 2) and (3, 4) over a 1x2 image: a 1x2 kernel has one output
	 * there (no sharing) and nothing smaller reproduces them */
	W[1] = 2;
	cr_assert_not(gb_conv_find(W, b, 2, 1, 1, 2, 1e-6, &f));
	/* diag(3, 3) over 1x2 pixels: a 1x1 kernel [3] at both */
	double D[4] = {3, 0, 0, 3};
	cr_assert(gb_conv_find(D, b, 2, 1, 1, 2, 1e-6, &f));
	cr_assert_eq(f.kh, 1);
	cr_assert_eq(f.kw, 1);
	cr_assert_eq(f.out_w, 2);
	cr_assert_float_eq(f.kernel[0], 3.0f, 0);
	gb_conv_found_free(&f);
}

/* ---- through the engine ------------------------------------------------------------------------- */

/* The recovered fields as an ONNX Conv run by the engine equal W @ x + b. */
Test(conv_find, engine_conv_matches_dense)
{
	conv_case cc = {.F = 4, .C = 3, .H = 10, .Wd = 9, .kh = 3, .kw = 2, .sh = 2, .sw = 1, .ph = 1, .pw = 1};
	case_make(&cc, 51);
	gb_conv_found f = {0};
	cr_assert(find(&cc, 1e-9, &f));
	expect_recovered(&cc, &f);

	int64_t xd[4] = {1, cc.C, cc.H, cc.Wd}, wd[4] = {f.filters, f.channels, f.kh, f.kw}, bd[1] = {f.filters};
	gb_tensor *x = tu_random(4, xd, -1, 1, 77);
	gb_tensor *w = tu_tensor(GB_DTYPE_F32, 4, wd, f.kernel), *bias = tu_tensor(GB_DTYPE_F32, 1, bd, f.bias);
	int64_t strides[2] = {f.stride_h, f.stride_w}, pads[4] = {f.pad_h, f.pad_w, f.pad_h, f.pad_w};
	gb_attr attrs[2] = {{.name = "strides", .type = GB_ATTR_INTS, .n = 2, .ints = strides},
	                    {.name = "pads", .type = GB_ATTR_INTS, .n = 4, .ints = pads}};
	const gb_tensor *ins[3] = {x, w, bias};
	int consts[3] = {0, 1, 1};
	gb_error err = {0};
	gb_model *m = tu_single("Conv", 3, ins, consts, 1, attrs, 2, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_tensor *y = NULL;
	cr_assert_eq(tu_run(m, 3, ins, consts, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_tensor_numel(y), cc.rows);

	double *xs = malloc((size_t)cc.n * sizeof *xs), *yd = malloc((size_t)cc.rows * sizeof *yd);
	cr_assert(xs && yd);
	for (int64_t e = 0; e < cc.n; e++)
		xs[e] = ((float *)x->data)[e];
	dense_outputs(&cc, &f, xs, yd);
	for (int64_t k = 0; k < cc.rows; k++)
		cr_assert(fabs(yd[k] - ((float *)y->data)[k]) <= 1e-4, "output %ld: dense %g, engine %g", (long)k, yd[k],
		          ((float *)y->data)[k]);
	free(xs);
	free(yd);
	gb_tensor_free(y);
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(w);
	gb_tensor_free(bias);
	gb_conv_found_free(&f);
	case_free(&cc);
}
