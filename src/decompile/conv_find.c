/*
 * conv_find.c — a convolution recognised in a dense layer: filters, kernel size,
 * stride and padding recovered from rows in any order (conv_find.h says how).
 *
 * Shapes: a row of W is (C, H, Wd) flattened; a kernel is (C, kh, kw); an
 * output (i, j) of a filter has its window's top-left corner at
 * (t, u) = (i*sh - ph, j*sw - pw), and row (ch, y, x) holds
 * kernel[ch, y - t, x - u] inside the window, 0 outside.
 */
#include "conv_find.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The search is bounded: past these it gives up (false, never wrong). */
#define CONV_MAX_AXIS_CANDS (1 << 16)
#define CONV_MAX_PAIRS (1 << 18)
#define CONV_WORK_BUDGET 200000000LL /* elements compared, over all candidates */

/* The support box of a row: rows h0..h1 and columns w0..w1 (inclusive) of
 * the entries above the tolerance, over all channels. */
typedef struct conv_box {
	int64_t h0, h1, w0, w1;
} conv_box;

typedef struct boxed_row {
	conv_box box;
	int64_t row;
} boxed_row;

typedef struct sized_row {
	int64_t area, row;
} sized_row;

/* One axis of a geometry: kernel size k, stride s, padding p, output size o,
 * and a, where the first filter's support starts inside its kernel. */
typedef struct axis_cand {
	int64_t k, s, p, a, o;
} axis_cand;

typedef struct geom_pair {
	int64_t params;    /* filters * kh * kw: the smallest description first */
	int64_t area;      /* kh * kw */
	int32_t pads, strides; /* ph + pw, sh + sw */
	int32_t hi, wi;    /* indices into the two axes' candidates */
} geom_pair;

typedef struct finder {
	const double *W, *b;
	int64_t rows, C, H, Wd, n;
	double eps, eps_b;    /* equal within: weights, biases */
	conv_box *box;        /* (rows) */
	boxed_row *by_box;    /* (rows) sorted by box */
	sized_row *by_area;   /* (rows) largest box first */
	bool *used;           /* (rows) */
	int64_t *unit;        /* (rows) unit[(f * oh + i) * ow + j] = row */
	/* the geometry being tried and the filters found so far */
	int64_t kh, kw, sh, sw, ph, pw, oh, ow, nf, kn; /* kn = C * kh * kw */
	double *kern;         /* (nf, C, kh, kw) each filter's template; cap_kern doubles */
	double *kbias;        /* (nf); cap_bias */
	int64_t cap_kern, cap_bias;
	int64_t work;
} finder;

/* ---- boxes ------------------------------------------------------------------------------ */

static int box_cmp(const conv_box *x, const conv_box *y)
{
	const int64_t a[4] = {x->h0, x->h1, x->w0, x->w1}, b[4] = {y->h0, y->h1, y->w0, y->w1};
	for (int k = 0; k < 4; k++)
		if (a[k] != b[k])
			return a[k] < b[k] ? -1 : 1;
	return 0;
}

static int boxed_row_cmp(const void *pa, const void *pb)
{
	const boxed_row *x = pa, *y = pb;
	int c = box_cmp(&x->box, &y->box);
	if (c)
		return c;
	return x->row < y->row ? -1 : x->row > y->row;
}

static int sized_row_cmp(const void *pa, const void *pb)
{
	const sized_row *x = pa, *y = pb;
	if (x->area != y->area)
		return x->area > y->area ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* Support box of row w (C, H, Wd); false when every entry is within eps of 0. */
static bool row_box(const double *w, int64_t C, int64_t H, int64_t Wd, double eps, conv_box *out)
{
	conv_box bx = {H, -1, Wd, -1};
	for (int64_t ch = 0; ch < C; ch++)
		for (int64_t y = 0; y < H; y++) {
			const double *line = w + (ch * H + y) * Wd;
			for (int64_t x = 0; x < Wd; x++)
				if (fabs(line[x]) > eps) {
					if (y < bx.h0)
						bx.h0 = y;
					if (y > bx.h1)
						bx.h1 = y;
					if (x < bx.w0)
						bx.w0 = x;
					if (x > bx.w1)
						bx.w1 = x;
				}
		}
	*out = bx;
	return bx.h1 >= 0;
}

/* Index in by_box of the first row with this box, or -1. */
static int64_t box_lookup(const finder *F, const conv_box *key)
{
	int64_t lo = 0, hi = F->rows;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (box_cmp(&F->by_box[mid].box, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < F->rows && box_cmp(&F->by_box[lo].box, key) == 0 ? lo : -1;
}

/* ---- one filter under one geometry ------------------------------------------------------ */

/* Finds an unused row equal to kernel K (C, kh, kw) with bias kb placed at
 * window corner (t, u), cut by the border; marks it used. */
static bool match_output(finder *F, const double *K, double kb, int64_t t, int64_t u, int64_t *row_out)
{
	const int64_t y0 = t > 0 ? t : 0, y1 = t + F->kh < F->H ? t + F->kh : F->H;
	const int64_t x0 = u > 0 ? u : 0, x1 = u + F->kw < F->Wd ? u + F->kw : F->Wd;
	conv_box bx = {F->H, -1, F->Wd, -1};
	for (int64_t ch = 0; ch < F->C; ch++)
		for (int64_t y = y0; y < y1; y++) {
			const double *kline = K + (ch * F->kh + (y - t)) * F->kw;
			for (int64_t x = x0; x < x1; x++)
				if (fabs(kline[x - u]) > F->eps) {
					if (y < bx.h0)
						bx.h0 = y;
					if (y > bx.h1)
						bx.h1 = y;
					if (x < bx.w0)
						bx.w0 = x;
					if (x > bx.w1)
						bx.w1 = x;
				}
		}
	F->work += F->C * (y1 - y0) * (x1 - x0);
	if (bx.h1 < 0) /* the border cuts the whole support: a zero row, and no row is zero */
		return false;
	const double tol_w = 2 * F->eps, tol_b = 2 * F->eps_b; /* both sides within eps of the truth */
	for (int64_t at = box_lookup(F, &bx); at >= 0 && at < F->rows && box_cmp(&F->by_box[at].box, &bx) == 0;
	     at++) {
		int64_t r = F->by_box[at].row;
		if (F->used[r] || fabs(F->b[r] - kb) > tol_b)
			continue;
		const double *w = F->W + r * F->n;
		bool same = true;
		for (int64_t ch = 0; ch < F->C && same; ch++)
			for (int64_t y = bx.h0; y <= bx.h1 && same; y++) {
				const double *line = w + (ch * F->H + y) * F->Wd;
				const double *kline = K + (ch * F->kh + (y - t)) * F->kw;
				for (int64_t x = bx.w0; x <= bx.w1; x++)
					if (fabs(line[x] - kline[x - u]) > tol_w) {
						same = false;
						break;
					}
			}
		F->work += F->C * (bx.h1 - bx.h0 + 1) * (bx.w1 - bx.w0 + 1);
		if (same) {
			F->used[r] = true;
			*row_out = r;
			return true;
		}
	}
	return false;
}

/* Makes row r, its support placed at (a, c) inside the kernel, filter nf,
 * and finds every one of its outputs among the unused rows. On failure
 * every row it took is given back. */
static bool try_filter(finder *F, int64_t r, int64_t a, int64_t c)
{
	const conv_box *bx = &F->box[r];
	const int64_t bh = bx->h1 - bx->h0 + 1, bw = bx->w1 - bx->w0 + 1;
	if (a < 0 || c < 0 || a + bh > F->kh || c + bw > F->kw)
		return false;
	/* row r must itself be an output: its window corner on the stride grid */
	const int64_t t = bx->h0 - a, u = bx->w0 - c;
	if ((t + F->ph) % F->sh != 0 || (u + F->pw) % F->sw != 0)
		return false;
	if (t + F->ph < 0 || (t + F->ph) / F->sh >= F->oh || u + F->pw < 0 || (u + F->pw) / F->sw >= F->ow)
		return false;
	if ((F->nf + 1) * F->kn > F->cap_kern) { /* the kernel size changes between geometries */
		int64_t cap = 2 * (F->nf + 1) * F->kn;
		double *kern = realloc(F->kern, (size_t)cap * sizeof *kern);
		if (!kern)
			return false;
		F->kern = kern;
		F->cap_kern = cap;
	}
	if (F->nf == F->cap_bias) {
		int64_t cap = F->cap_bias ? 2 * F->cap_bias : 8;
		double *kbias = realloc(F->kbias, (size_t)cap * sizeof *kbias);
		if (!kbias)
			return false;
		F->kbias = kbias;
		F->cap_bias = cap;
	}
	double *K = F->kern + F->nf * F->kn; /* (C, kh, kw) */
	memset(K, 0, (size_t)F->kn * sizeof *K);
	for (int64_t ch = 0; ch < F->C; ch++)
		for (int64_t y = bx->h0; y <= bx->h1; y++)
			memcpy(K + (ch * F->kh + a + (y - bx->h0)) * F->kw + c, F->W + r * F->n + (ch * F->H + y) * F->Wd + bx->w0,
			       (size_t)bw * sizeof *K);
	F->kbias[F->nf] = F->b[r];

	int64_t *unit = F->unit + F->nf * F->oh * F->ow, got = 0;
	bool ok = true;
	for (int64_t i = 0; i < F->oh && ok; i++)
		for (int64_t j = 0; j < F->ow && ok; j++) {
			ok = F->work < CONV_WORK_BUDGET &&
			     match_output(F, K, F->kbias[F->nf], i * F->sh - F->ph, j * F->sw - F->pw, &unit[i * F->ow + j]);
			got += ok;
		}
	if (!ok) {
		for (int64_t k = 0; k < got; k++)
			F->used[unit[k]] = false;
		return false;
	}
	F->nf++;
	return true;
}

/* Every row explained under one geometry: the first filter from row r0 at
 * the offset the candidates carry, the others from the largest row left. */
static bool try_geometry(finder *F, const axis_cand *hc, const axis_cand *wc, int64_t r0)
{
	F->kh = hc->k, F->sh = hc->s, F->ph = hc->p, F->oh = hc->o;
	F->kw = wc->k, F->sw = wc->s, F->pw = wc->p, F->ow = wc->o;
	F->kn = F->C * F->kh * F->kw;
	F->nf = 0;
	memset(F->used, 0, (size_t)F->rows * sizeof *F->used);
	const int64_t per_filter = F->oh * F->ow, filters = F->rows / per_filter;
	if (!try_filter(F, r0, hc->a, wc->a))
		return false;
	int64_t next = 0; /* into by_area: rows before it are used */
	while (F->nf < filters) {
		while (F->used[F->by_area[next].row])
			next++;
		const int64_t r = F->by_area[next].row;
		const conv_box *bx = &F->box[r];
		bool found = false;
		for (int64_t a = 0; a + (bx->h1 - bx->h0) < F->kh && !found; a++)
			for (int64_t c = 0; c + (bx->w1 - bx->w0) < F->kw && !found; c++)
				found = F->work < CONV_WORK_BUDGET && try_filter(F, r, a, c);
		if (!found)
			return false;
	}
	return true;
}

/* ---- the answer ------------------------------------------------------------------------- */

/* Kernels as the mean of all their copies, biases as the mean of their
 * rows', then every entry of W compared with the convolution. Fills out
 * and returns true when all are within tolerance. */
static bool finish(finder *F, gb_conv_found *out)
{
	const int64_t per_filter = F->oh * F->ow;
	double *sum = calloc((size_t)(F->nf * F->kn), sizeof *sum); /* (nf, C, kh, kw) */
	int64_t *cnt_h = calloc((size_t)F->kh, sizeof *cnt_h), *cnt_w = calloc((size_t)F->kw, sizeof *cnt_w);
	float *kernel = malloc((size_t)(F->nf * F->kn) * sizeof *kernel);
	float *bias = malloc((size_t)F->nf * sizeof *bias);
	int64_t *unit = malloc((size_t)F->rows * sizeof *unit);
	bool ok = false;
	if (!sum || !cnt_h || !cnt_w || !kernel || !bias || !unit)
		goto fail;
	for (int64_t i = 0; i < F->oh; i++)
		for (int64_t p = 0; p < F->kh; p++)
			cnt_h[p] += i * F->sh - F->ph + p >= 0 && i * F->sh - F->ph + p < F->H;
	for (int64_t j = 0; j < F->ow; j++)
		for (int64_t q = 0; q < F->kw; q++)
			cnt_w[q] += j * F->sw - F->pw + q >= 0 && j * F->sw - F->pw + q < F->Wd;

	double werr = 0, berr = 0;
	for (int pass = 0; pass < 2; pass++) /* 0: sum the copies; 1: compare with the mean */
		for (int64_t f = 0; f < F->nf; f++) {
			double *S = sum + f * F->kn;
			double bmean = 0;
			for (int64_t k = 0; k < per_filter; k++)
				bmean += F->b[F->unit[f * per_filter + k]];
			bmean /= (double)per_filter;
			for (int64_t k = 0; k < per_filter; k++) {
				const int64_t r = F->unit[f * per_filter + k];
				const int64_t t = (k / F->ow) * F->sh - F->ph, u = (k % F->ow) * F->sw - F->pw;
				const double *w = F->W + r * F->n;
				if (pass == 1 && fabs(F->b[r] - bmean) > berr)
					berr = fabs(F->b[r] - bmean);
				for (int64_t ch = 0; ch < F->C; ch++)
					for (int64_t y = 0; y < F->H; y++) {
						const double *line = w + (ch * F->H + y) * F->Wd;
						const int64_t p = y - t;
						const bool in_h = p >= 0 && p < F->kh;
						double *srow = in_h ? S + (ch * F->kh + p) * F->kw : NULL; /* (kw) */
						for (int64_t x = 0; x < F->Wd; x++) {
							const bool in = in_h && x - u >= 0 && x - u < F->kw;
							if (pass == 0) {
								if (in)
									srow[x - u] += line[x];
							} else {
								double e = fabs(line[x] - (in ? srow[x - u] : 0.0));
								if (e > werr)
									werr = e;
							}
						}
					}
			}
			if (pass == 0) {
				for (int64_t ch = 0; ch < F->C; ch++)
					for (int64_t p = 0; p < F->kh; p++)
						for (int64_t q = 0; q < F->kw; q++) {
							double *s = &S[(ch * F->kh + p) * F->kw + q];
							int64_t cnt = cnt_h[p] * cnt_w[q];
							*s = cnt ? *s / (double)cnt : 0.0;
						}
				bias[f] = (float)bmean;
			}
		}
	if (werr > F->eps || berr > F->eps_b)
		goto fail;
	for (int64_t k = 0; k < F->nf * F->kn; k++)
		kernel[k] = (float)sum[k];
	memcpy(unit, F->unit, (size_t)F->rows * sizeof *unit);
	*out = (gb_conv_found){.filters = F->nf,
	                       .channels = F->C,
	                       .kh = F->kh,
	                       .kw = F->kw,
	                       .stride_h = F->sh,
	                       .stride_w = F->sw,
	                       .pad_h = F->ph,
	                       .pad_w = F->pw,
	                       .out_h = F->oh,
	                       .out_w = F->ow,
	                       .kernel = kernel,
	                       .bias = bias,
	                       .unit = unit,
	                       .max_error = werr > berr ? werr : berr};
	kernel = NULL, bias = NULL, unit = NULL;
	ok = true;
fail:
	free(sum);
	free(cnt_h);
	free(cnt_w);
	free(kernel);
	free(bias);
	free(unit);
	return ok;
}

/* ---- geometry candidates ---------------------------------------------------------------- */

/* The geometries of one axis of length N under which a support of extent
 * b, placed at a inside a kernel of size k (kmin <= k <= N, p < k), lies
 * wholly inside the image exactly at positions Y[0..ny) (ascending, an
 * arithmetic progression). Ordered by k, p, s. Returns the count, or -1
 * (out of memory or too many). */
static int64_t axis_candidates(int64_t N, int64_t kmin, int64_t b, const int64_t *Y, int64_t ny, axis_cand **out)
{
	int64_t step = 0;
	if (ny >= 2) {
		step = Y[1] - Y[0];
		for (int64_t k = 2; k < ny; k++)
			if (Y[k] - Y[k - 1] != step)
				return 0;
	}
	int64_t count = 0, cap = 64;
	axis_cand *c = malloc((size_t)cap * sizeof *c);
	if (!c)
		return -1;
	for (int64_t k = kmin > b ? kmin : b; k <= N; k++)
		for (int64_t p = 0; p < k; p++) {
			/* stride: the progression's step, or (one whole position) any up
			 * to span + 1, the smallest that leaves a single output */
			const int64_t span = N + 2 * p - k;
			const int64_t s_lo = ny >= 2 ? step : 1, s_hi = ny >= 2 ? step : span + 1;
			for (int64_t s = s_lo; s <= s_hi; s++) {
				const int64_t o = span / s + 1;
				/* the first whole position is Y[0] = i_lo*s - p + a with i_lo the
				 * smallest i >= 0 there: a = Y[0] + p - m*s for m >= 0 */
				for (int64_t a = Y[0] + p; a >= 0; a -= s) {
					if (a + b > k)
						continue;
					const int64_t lo_num = p - a, hi_num = N - b + p - a;
					const int64_t i_lo = lo_num <= 0 ? 0 : (lo_num + s - 1) / s;
					if (hi_num < 0 || i_lo * s - p + a != Y[0])
						continue;
					const int64_t i_hi = hi_num / s < o - 1 ? hi_num / s : o - 1;
					if (i_hi - i_lo + 1 != ny)
						continue;
					if (count == CONV_MAX_AXIS_CANDS) {
						free(c);
						return -1;
					}
					if (count == cap) {
						axis_cand *grown = realloc(c, (size_t)(cap *= 2) * sizeof *c);
						if (!grown) {
							free(c);
							return -1;
						}
						c = grown;
					}
					c[count++] = (axis_cand){k, s, p, a, o};
				}
			}
		}
	*out = c;
	return count;
}

static int geom_pair_cmp(const void *pa, const void *pb)
{
	const geom_pair *x = pa, *y = pb;
	if (x->params != y->params)
		return x->params < y->params ? -1 : 1;
	if (x->area != y->area)
		return x->area < y->area ? -1 : 1;
	if (x->pads != y->pads)
		return x->pads < y->pads ? -1 : 1;
	if (x->strides != y->strides)
		return x->strides < y->strides ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return x->wi < y->wi ? -1 : x->wi > y->wi;
}

static int i64_cmp(const void *pa, const void *pb)
{
	const int64_t x = *(const int64_t *)pa, y = *(const int64_t *)pb;
	return x < y ? -1 : x > y;
}

/* Sorted distinct values of v[0..n) in place; returns their count. */
static int64_t distinct(int64_t *v, int64_t n)
{
	qsort(v, (size_t)n, sizeof *v, i64_cmp);
	int64_t m = 0;
	for (int64_t k = 0; k < n; k++)
		if (m == 0 || v[m - 1] != v[k])
			v[m++] = v[k];
	return m;
}

/* ---- entry ------------------------------------------------------------------------------ */

bool gb_conv_find(const double *W, const double *b, int64_t rows, int64_t C, int64_t H, int64_t Wd, double tol,
                  gb_conv_found *out)
{
	finder F = {.W = W, .b = b, .rows = rows, .C = C, .H = H, .Wd = Wd};
	int64_t *Y = NULL, *X = NULL;
	axis_cand *hc = NULL, *wc = NULL;
	geom_pair *pairs = NULL;
	bool ok = false;
	if (!W || !b || !out || rows < 2 || C < 1 || H < 1 || Wd < 1 || !(tol >= 0) || rows > INT32_MAX ||
	    H > INT32_MAX / 4 || Wd > INT32_MAX / 4)
		return false;
	int64_t total;
	if (__builtin_mul_overflow(C, H, &F.n) || __builtin_mul_overflow(F.n, Wd, &F.n) ||
	    __builtin_mul_overflow(F.n, rows, &total) || (uint64_t)total > SIZE_MAX / sizeof(double))
		return false;

	double wmax = 0, bmax = 0;
	for (int64_t k = 0; k < total; k++) {
		if (!isfinite(W[k]))
			return false;
		if (fabs(W[k]) > wmax)
			wmax = fabs(W[k]);
	}
	for (int64_t r = 0; r < rows; r++) {
		if (!isfinite(b[r]))
			return false;
		if (fabs(b[r]) > bmax)
			bmax = fabs(b[r]);
	}
	if (wmax == 0)
		return false;
	F.eps = tol * wmax;
	F.eps_b = tol * (wmax > bmax ? wmax : bmax);

	F.box = malloc((size_t)rows * sizeof *F.box);
	F.by_box = malloc((size_t)rows * sizeof *F.by_box);
	F.by_area = malloc((size_t)rows * sizeof *F.by_area);
	F.used = malloc((size_t)rows * sizeof *F.used);
	F.unit = malloc((size_t)rows * sizeof *F.unit);
	Y = malloc((size_t)rows * sizeof *Y);
	X = malloc((size_t)rows * sizeof *X);
	if (!F.box || !F.by_box || !F.by_area || !F.used || !F.unit || !Y || !X)
		goto fail;

	/* supports; the largest extents bound the kernel from below */
	int64_t kmin_h = 0, kmin_w = 0;
	for (int64_t r = 0; r < rows; r++) {
		if (!row_box(W + r * F.n, C, H, Wd, F.eps, &F.box[r]))
			goto fail; /* a zero row */
		const conv_box *bx = &F.box[r];
		if (bx->h1 - bx->h0 + 1 > kmin_h)
			kmin_h = bx->h1 - bx->h0 + 1;
		if (bx->w1 - bx->w0 + 1 > kmin_w)
			kmin_w = bx->w1 - bx->w0 + 1;
		F.by_box[r] = (boxed_row){*bx, r};
		F.by_area[r] = (sized_row){(bx->h1 - bx->h0 + 1) * (bx->w1 - bx->w0 + 1), r};
	}
	qsort(F.by_box, (size_t)rows, sizeof *F.by_box, boxed_row_cmp);
	qsort(F.by_area, (size_t)rows, sizeof *F.by_area, sized_row_cmp);

	/* the largest row is a whole copy of its filter; where its copies sit */
	const int64_t r0 = F.by_area[0].row;
	const conv_box *b0 = &F.box[r0];
	const int64_t bh = b0->h1 - b0->h0 + 1, bw = b0->w1 - b0->w0 + 1;
	int64_t copies = 0;
	for (int64_t r = 0; r < rows; r++) {
		const conv_box *bx = &F.box[r];
		if (bx->h1 - bx->h0 + 1 != bh || bx->w1 - bx->w0 + 1 != bw || fabs(b[r] - b[r0]) > 2 * F.eps_b)
			continue;
		bool same = true;
		for (int64_t ch = 0; ch < C && same; ch++)
			for (int64_t y = 0; y < bh && same; y++) {
				const double *p = W + r * F.n + (ch * H + bx->h0 + y) * Wd + bx->w0;
				const double *q = W + r0 * F.n + (ch * H + b0->h0 + y) * Wd + b0->w0;
				for (int64_t x = 0; x < bw; x++)
					if (fabs(p[x] - q[x]) > 2 * F.eps) {
						same = false;
						break;
					}
			}
		if (same) {
			Y[copies] = bx->h0;
			X[copies] = bx->w0;
			copies++;
		}
	}
	const int64_t ny = distinct(Y, copies), nx = distinct(X, copies);

	const int64_t nh = axis_candidates(H, kmin_h, bh, Y, ny, &hc);
	const int64_t nw = axis_candidates(Wd, kmin_w, bw, X, nx, &wc);
	if (nh <= 0 || nw <= 0)
		goto fail;
	int64_t npairs = 0, cap = 64;
	pairs = malloc((size_t)cap * sizeof *pairs);
	if (!pairs)
		goto fail;
	for (int64_t i = 0; i < nh; i++)
		for (int64_t j = 0; j < nw; j++) {
			const int64_t per_filter = hc[i].o * wc[j].o;
			/* every filter used twice or more, every row an output */
			if (per_filter < 2 || rows % per_filter != 0)
				continue;
			if (npairs == CONV_MAX_PAIRS)
				goto fail;
			if (npairs == cap) {
				geom_pair *grown = realloc(pairs, (size_t)(cap *= 2) * sizeof *pairs);
				if (!grown)
					goto fail;
				pairs = grown;
			}
			/* no overflow: filters * kh * kw <= rows * H * Wd, checked above */
			pairs[npairs++] = (geom_pair){rows / per_filter * hc[i].k * wc[j].k, hc[i].k * wc[j].k,
			                              (int32_t)(hc[i].p + wc[j].p),
			                              (int32_t)(hc[i].s + wc[j].s), (int32_t)i, (int32_t)j};
		}
	qsort(pairs, (size_t)npairs, sizeof *pairs, geom_pair_cmp);
	for (int64_t k = 0; k < npairs && !ok && F.work < CONV_WORK_BUDGET; k++)
		ok = try_geometry(&F, &hc[pairs[k].hi], &wc[pairs[k].wi], r0) && finish(&F, out);

fail:
	free(F.box);
	free(F.by_box);
	free(F.by_area);
	free(F.used);
	free(F.unit);
	free(F.kern);
	free(F.kbias);
	free(Y);
	free(X);
	free(hc);
	free(wc);
	free(pairs);
	return ok;
}

void gb_conv_found_free(gb_conv_found *f)
{
	if (!f)
		return;
	free(f->kernel);
	free(f->bias);
	free(f->unit);
	memset(f, 0, sizeof *f);
}
