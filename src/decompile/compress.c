/*
 * compress.c — a smaller DAG within the tolerance (decompile.h,
 * gb_pwl_compress): prune terms, then round the weights that are left.
 *
 * Every candidate is judged on the same points against the network's own
 * outputs (computed by the engine), by the caller's criterion: the largest
 * |DAG - network| at most `budget`, or (for classifiers) the argmax of
 * output 0 agreeing with the network's on at least a fraction `agreement`
 * of the points.
 *
 *   merge   the canonical form again with a looser tolerance (1e-5 up to
 *           3e-2): units that are duplicates or cancelling up to weight
 *           noise merge or go; the loosest tolerance that meets the
 *           criterion (and removes units) is kept.
 *   prune   a term's importance is its share of its row: |w| times the
 *           mean |value| of its source on the points (inputs: the data;
 *           units: their activations) over the row's sum of these. The
 *           k least important terms go, for the largest k (binary search)
 *           that meets the criterion; units nothing reads any more go with
 *           the canonical form that follows. Rounds repeat while they gain.
 *   split   the weight graph's spectral cut (Fiedler vector): when dropping
 *           every term across it meets the criterion, the two sides become
 *           independent modules.
 *   round   every weight and bias to b significant bits, on a grid no
 *           finer than 2^-b of its row's largest weight (so noise-sized
 *           terms and biases become 0), for the fewest bits (binary
 *           search) that meet the criterion; then, where the judge is
 *           cheap, each row on its own to the fewest bits it needs.
 *
 * The judge evaluates a candidate with units ordered by depth, one float32
 * matrix product (OpenBLAS) per depth over the inputs and earlier units.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "decompile.h"

/* ---- the judge ---------------------------------------------------------------------- */

typedef struct judge {
	const gb_compress_options *o;
	int64_t n_out;
	float *src; /* [n, n_in + n_units]: inputs, then units in depth order */
	float *y;   /* [n, n_out] */
	float *w;
	int64_t *col; /* source index -> column of src */
	int *depth;
	const gb_row **rows;
	size_t cap_src, cap_y, cap_w, cap_col, cap_depth, cap_rows;
} judge;

static bool grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t bytes;
	if (!gb_mul_size(need, elem, &bytes))
		return false;
	void *b = realloc(*buf, bytes);
	if (!b)
		return false;
	*buf = b;
	*cap = need;
	return true;
}

static void judge_free(judge *j)
{
	free(j->src);
	free(j->y);
	free(j->w);
	free(j->col);
	free(j->depth);
	free(j->rows);
}

/* Evaluates p on the points: outputs to j->y, every source to j->src. */
static bool judge_eval(judge *j, const gb_pwl *p)
{
	int64_t n = j->o->n, width = p->n_in + p->n_units;
	if (!grow((void **)&j->src, &j->cap_src, (size_t)(n * width + 1), sizeof *j->src) ||
	    !grow((void **)&j->y, &j->cap_y, (size_t)(n * p->n_out + 1), sizeof *j->y) ||
	    !grow((void **)&j->col, &j->cap_col, (size_t)(width + 1), sizeof *j->col) ||
	    !grow((void **)&j->depth, &j->cap_depth, (size_t)(p->n_units + 1), sizeof *j->depth) ||
	    !grow((void **)&j->rows, &j->cap_rows, (size_t)(p->n_units + p->n_out + 1), sizeof *j->rows))
		return false;
	gb_pwl_depths(p, j->depth);
	int max_depth = 0;
	for (int64_t u = 0; u < p->n_units; u++)
		max_depth = j->depth[u] > max_depth ? j->depth[u] : max_depth;
	for (int64_t i = 0; i < p->n_in; i++)
		j->col[i] = i;
	int64_t next = p->n_in;
	for (int d = 1; d <= max_depth; d++)
		for (int64_t u = 0; u < p->n_units; u++)
			if (j->depth[u] == d)
				j->col[p->n_in + u] = next++;
	for (int64_t e = 0; e < n; e++)
		memcpy(j->src + e * width, j->o->x + e * p->n_in, (size_t)p->n_in * sizeof *j->src);
	int64_t first = p->n_in;
	for (int d = 1; d <= max_depth + 1; d++) {
		bool out = d > max_depth;
		int64_t rows = 0;
		if (out)
			for (int64_t o = 0; o < p->n_out; o++)
				j->rows[rows++] = &p->outs[o];
		else
			for (int64_t u = 0; u < p->n_units; u++)
				if (j->depth[u] == d)
					j->rows[rows++] = &p->units[u];
		int64_t k = first; /* the columns rows of this depth may read */
		if (!grow((void **)&j->w, &j->cap_w, (size_t)(rows * k + 1), sizeof *j->w))
			return false;
		memset(j->w, 0, (size_t)(rows * k) * sizeof *j->w);
		for (int64_t r = 0; r < rows; r++)
			for (int t = 0; t < j->rows[r]->n; t++)
				j->w[r * k + j->col[j->rows[r]->idx[t]]] = (float)j->rows[r]->w[t];
		float *dst = out ? j->y : j->src + first;
		int64_t ld = out ? p->n_out : width;
		for (int64_t e = 0; e < n; e++)
			for (int64_t r = 0; r < rows; r++)
				dst[e * ld + r] = (float)j->rows[r]->b;
		if (rows > 0 && n > 0 && k > 0)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)rows, (int)k, 1.0f, j->src,
			            (int)width, j->w, (int)k, 1.0f, dst, (int)ld);
		if (!out)
			for (int64_t e = 0; e < n; e++)
				for (int64_t r = 0; r < rows; r++)
					dst[e * ld + r] = dst[e * ld + r] > 0 ? dst[e * ld + r] : 0;
		first += rows;
	}
	return true;
}

/* Outputs the network passes through Softmax or LogSoftmax: the same on
 * j->y (the maximum subtracted, the sum in double, as the engine does). */
static void judge_softmax(const judge *j, const gb_pwl *p)
{
	for (int i = 0; i < p->n_outputs; i++) {
		const gb_pwl_io *io = &p->outputs[i];
		if (!io->softmax)
			continue;
		bool is_log = io->softmax == GB_PWL_LOG_SOFTMAX;
		for (int64_t e = 0; e < j->o->n; e++) {
			float *y = j->y + e * p->n_out + io->offset, big = y[0];
			double sum = 0;
			for (int64_t k = 1; k < io->size; k++)
				big = y[k] > big ? y[k] : big;
			for (int64_t k = 0; k < io->size; k++)
				sum += expf(y[k] - big);
			float logsum = (float)log(sum);
			for (int64_t k = 0; k < io->size; k++)
				y[k] = is_log ? (y[k] - big) - logsum : (float)(expf(y[k] - big) / sum);
		}
	}
}

/* Whether the last evaluation meets the criterion. */
static bool judge_ok(const judge *j, const gb_pwl *p)
{
	const gb_compress_options *o = j->o;
	int64_t n = o->n, m = p->n_out;
	judge_softmax(j, p);
	if (o->agreement > 0) {
		int64_t size = p->outputs[0].size, agree = 0;
		for (int64_t e = 0; e < n; e++) {
			int64_t a = 0, b = 0;
			for (int64_t k = 1; k < size; k++) {
				if (j->y[e * m + k] > j->y[e * m + a])
					a = k;
				if (o->ref[e * m + k] > o->ref[e * m + b])
					b = k;
			}
			agree += a == b;
		}
		return (double)agree >= o->agreement * (double)n;
	}
	for (int64_t i = 0; i < n * m; i++)
		if (!(fabs((double)j->y[i] - (double)o->ref[i]) <= o->budget))
			return false;
	return true;
}

/* ---- pruning ---------------------------------------------------------------------------- */

typedef struct term_ref {
	int64_t row; /* < n_units: unit row, else output row - n_units */
	int t;
	double score;
} term_ref;

static int by_score(const void *a, const void *b)
{
	double x = ((const term_ref *)a)->score, y = ((const term_ref *)b)->score;
	return (x > y) - (x < y);
}

static gb_row *row_at(gb_pwl *p, int64_t r)
{
	return r < p->n_units ? &p->units[r] : &p->outs[r - p->n_units];
}

/* A copy of p without the first k terms of list (marked by zero weights,
 * then compacted). */
static gb_status without_terms(const gb_pwl *p, const term_ref *list, int64_t k, gb_pwl **out, gb_error *err)
{
	gb_status st = gb_pwl_clone(p, out, err);
	if (st != GB_OK)
		return st;
	for (int64_t i = 0; i < k; i++)
		row_at(*out, list[i].row)->w[list[i].t] = 0.0;
	for (int64_t r = 0; r < p->n_units + p->n_out; r++)
		gb_row_compact(row_at(*out, r));
	return GB_OK;
}

/* One pruning round: returns the number of terms removed (p replaced). */
static gb_status prune_round(judge *j, gb_pwl **pp, int64_t *removed, gb_error *err)
{
	gb_pwl *p = *pp;
	*removed = 0;
	if (!judge_eval(j, p))
		return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
	int64_t width = p->n_in + p->n_units, n = j->o->n;
	double *mean = calloc((size_t)(width ? width : 1), sizeof *mean);
	int64_t total = 0;
	for (int64_t r = 0; r < p->n_units + p->n_out; r++)
		total += row_at(p, r)->n;
	term_ref *list = malloc((size_t)(total ? total : 1) * sizeof *list);
	if (!mean || !list) {
		free(mean);
		free(list);
		return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
	}
	for (int64_t e = 0; e < n; e++)
		for (int64_t s = 0; s < width; s++)
			mean[s] += fabs((double)j->src[e * width + j->col[s]]);
	for (int64_t s = 0; s < width; s++)
		mean[s] /= (double)(n ? n : 1);
	int64_t m = 0;
	for (int64_t r = 0; r < p->n_units + p->n_out; r++) {
		const gb_row *row = row_at(p, r);
		double sum = 0;
		for (int t = 0; t < row->n; t++)
			sum += fabs(row->w[t]) * mean[row->idx[t]];
		for (int t = 0; t < row->n; t++) /* its share of what the row sums */
			list[m++] = (term_ref){r, t, sum > 0 ? fabs(row->w[t]) * mean[row->idx[t]] / sum : 0.0};
	}
	qsort(list, (size_t)m, sizeof *list, by_score);
	int64_t lo = 0, hi = m;
	gb_status st = GB_OK;
	while (lo < hi && st == GB_OK) {
		int64_t mid = lo + (hi - lo + 1) / 2;
		gb_pwl *q = NULL;
		if ((st = without_terms(p, list, mid, &q, err)) != GB_OK)
			break;
		if (!judge_eval(j, q))
			st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
		else if (judge_ok(j, q))
			lo = mid;
		else
			hi = mid - 1;
		gb_pwl_free(q);
	}
	if (st == GB_OK && lo > 0) {
		gb_pwl *q = NULL;
		if ((st = without_terms(p, list, lo, &q, err)) == GB_OK) {
			gb_pwl_free(p);
			*pp = q;
			*removed = lo;
		}
	}
	free(mean);
	free(list);
	return st;
}

/* ---- near-independent parts: a spectral cut ------------------------------------------------ */

/* The sign pattern of the Fiedler vector of the DAG's weight graph (nodes:
 * inputs, units, outputs; edge weights |w| of the terms; the second
 * smallest eigenvector of the Laplacian, by power iteration on cI - L with
 * the constant vector projected out). side[v] is 0 or 1. */
static bool fiedler_cut(const gb_pwl *p, unsigned char *side)
{
	int64_t nv = p->n_in + p->n_units + p->n_out;
	double *deg = calloc((size_t)nv, sizeof *deg), *v = malloc((size_t)nv * sizeof *v);
	double *w = malloc((size_t)nv * sizeof *w);
	if (!deg || !v || !w) {
		free(deg);
		free(v);
		free(w);
		return false;
	}
	for (int64_t r = 0; r < p->n_units + p->n_out; r++) {
		const gb_row *row = r < p->n_units ? &p->units[r] : &p->outs[r - p->n_units];
		for (int t = 0; t < row->n; t++) {
			deg[p->n_in + r] += fabs(row->w[t]);
			deg[row->idx[t]] += fabs(row->w[t]);
		}
	}
	double c = 0;
	for (int64_t i = 0; i < nv; i++)
		c = fmax(c, 2 * deg[i]);
	for (int64_t i = 0; i < nv; i++)
		v[i] = sin(1.0 + (double)i * 0.7); /* a fixed start: the same answer every run */
	for (int it = 0; it < 500; it++) {
		double mean = 0, norm = 0;
		for (int64_t i = 0; i < nv; i++)
			mean += v[i];
		mean /= (double)nv;
		for (int64_t i = 0; i < nv; i++) {
			v[i] -= mean;
			w[i] = (c - deg[i]) * v[i]; /* (cI - D) v */
		}
		for (int64_t r = 0; r < p->n_units + p->n_out; r++) { /* + A v */
			const gb_row *row = r < p->n_units ? &p->units[r] : &p->outs[r - p->n_units];
			int64_t a = p->n_in + r;
			for (int t = 0; t < row->n; t++) {
				double e = fabs(row->w[t]);
				w[a] += e * v[row->idx[t]];
				w[row->idx[t]] += e * v[a];
			}
		}
		for (int64_t i = 0; i < nv; i++)
			norm += w[i] * w[i];
		norm = sqrt(norm);
		if (!(norm > 0))
			break;
		for (int64_t i = 0; i < nv; i++)
			v[i] = w[i] / norm;
	}
	int64_t ones = 0;
	for (int64_t i = 0; i < nv; i++)
		ones += side[i] = v[i] > 0;
	free(deg);
	free(v);
	free(w);
	return ones > 0 && ones < nv;
}

/* Cuts the DAG in two along its Fiedler vector when dropping every term
 * that crosses the cut meets the criterion (the parts then compute
 * separately: two modules). Returns whether it did. */
static gb_status try_split(judge *j, gb_pwl **pp, bool *split, gb_error *err)
{
	*split = false;
	gb_pwl *p = *pp, *q = NULL;
	int64_t nv = p->n_in + p->n_units + p->n_out;
	unsigned char *side = malloc((size_t)(nv ? nv : 1));
	if (!side)
		return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
	gb_status st = GB_OK;
	if (p->n_out >= 2 && fiedler_cut(p, side) && (st = gb_pwl_clone(p, &q, err)) == GB_OK) {
		int64_t cut = 0;
		for (int64_t r = 0; r < q->n_units + q->n_out; r++) {
			gb_row *row = row_at(q, r);
			for (int t = 0; t < row->n; t++)
				if (side[row->idx[t]] != side[q->n_in + r]) {
					row->w[t] = 0;
					cut++;
				}
			gb_row_compact(row);
		}
		if (cut > 0 && judge_eval(j, q) && judge_ok(j, q)) {
			gb_pwl_free(p);
			*pp = q;
			q = NULL;
			*split = true;
		}
		gb_pwl_free(q);
	}
	free(side);
	return st;
}

/* ---- rounding ------------------------------------------------------------------------------ */

/* v with `bits` significant bits, on a grid no finer than `grid`: a
 * float format whose exponent stops at the row's own scale, so that a term
 * or bias far below the row's largest weight (weight noise, a bias of 6e-5
 * beside weights of 1) rounds to 0 or to the grid instead of keeping its
 * noise in every bit */
static double round_bits(double v, int bits, double grid)
{
	if (v == 0.0 || !isfinite(v))
		return v;
	if (fabs(v) < grid * ldexp(1.0, bits))
		return nearbyint(v / grid) * grid;
	int ex;
	double m = frexp(v, &ex); /* v = m * 2^ex, 0.5 <= |m| < 1 */
	double scale = ldexp(1.0, bits);
	return ldexp(nearbyint(m * scale) / scale, ex);
}

static void round_row(gb_row *row, int bits)
{
	double big = 0.0; /* the row's scale: its largest weight, else its bias */
	for (int t = 0; t < row->n; t++)
		big = fmax(big, fabs(row->w[t]));
	if (big == 0.0)
		big = fabs(row->b);
	int ex;
	(void)frexp(big, &ex);
	double grid = big > 0.0 ? ldexp(1.0, ex - 1 - bits) : 0.0; /* 2^-bits of big's power of two */
	for (int t = 0; t < row->n; t++)
		row->w[t] = round_bits(row->w[t], bits, grid);
	row->b = round_bits(row->b, bits, grid);
	gb_row_compact(row);
}

static gb_status rounded(const gb_pwl *p, int bits, gb_pwl **out, gb_error *err)
{
	gb_status st = gb_pwl_clone(p, out, err);
	if (st != GB_OK)
		return st;
	for (int64_t r = 0; r < p->n_units + p->n_out; r++)
		round_row(row_at(*out, r), bits);
	return GB_OK;
}

static bool same_row(const gb_row *a, const gb_row *b)
{
	if (a->n != b->n || a->b != b->b)
		return false;
	for (int t = 0; t < a->n; t++)
		if (a->idx[t] != b->idx[t] || a->w[t] != b->w[t])
			return false;
	return true;
}

/* After every row has `bits`, each row on its own down to the fewest bits
 * that still meet the criterion (one row that needs 13 bits no longer
 * keeps 13 in all the others). Returns the largest bits any row kept. */
static gb_status round_rows(judge *j, gb_pwl *p, int bits, int *kept, gb_error *err)
{
	*kept = 1;
	for (int64_t r = 0; r < p->n_units + p->n_out; r++) {
		gb_row *row = row_at(p, r);
		int lo = 1, hi = bits;
		while (lo < hi) {
			int mid = (lo + hi) / 2;
			gb_row save = *row, trial = {0};
			if (!gb_row_copy(&trial, row))
				return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
			round_row(&trial, mid);
			bool ok = false;
			if (!same_row(&trial, row)) {
				*row = trial;
				if (!judge_eval(j, p)) {
					*row = save;
					gb_row_free(&trial);
					return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
				}
				ok = judge_ok(j, p);
				*row = save;
			} else {
				ok = true;
			}
			gb_row_free(&trial);
			if (ok)
				hi = mid;
			else
				lo = mid + 1;
		}
		round_row(row, lo);
		if (lo > *kept)
			*kept = lo;
	}
	return GB_OK;
}

/* ---- snapping to common values ---------------------------------------------------------- */

typedef struct value_count {
	double v;
	int64_t n;
} value_count;

static int by_value(const void *a, const void *b)
{
	double x = ((const value_count *)a)->v, y = ((const value_count *)b)->v;
	return (x > y) - (x < y);
}

/* The distinct nonzero weights and biases of p with how often each occurs,
 * sorted by value; NULL on out of memory. */
static value_count *value_counts(const gb_pwl *p, int64_t *n_out)
{
	int64_t total = 0, rows = p->n_units + p->n_out;
	for (int64_t r = 0; r < rows; r++)
		total += row_at((gb_pwl *)p, r)->n + 1;
	value_count *vc = malloc((size_t)(total ? total : 1) * sizeof *vc);
	if (!vc)
		return NULL;
	int64_t k = 0;
	for (int64_t r = 0; r < rows; r++) {
		const gb_row *row = row_at((gb_pwl *)p, r);
		for (int t = 0; t < row->n; t++)
			vc[k++] = (value_count){row->w[t], 1};
		if (row->b != 0.0)
			vc[k++] = (value_count){row->b, 1};
	}
	qsort(vc, (size_t)k, sizeof *vc, by_value);
	int64_t u = 0;
	for (int64_t i = 0; i < k; i++) {
		if (u > 0 && vc[u - 1].v == vc[i].v)
			vc[u - 1].n++;
		else
			vc[u++] = vc[i];
	}
	*n_out = u;
	return vc;
}

/* v replaced by the most frequent value within rel * |v| of it, when that
 * occurs more often than v itself. */
static double snap_value(double v, const value_count *vc, int64_t u, double rel)
{
	if (v == 0.0)
		return v;
	double reach = rel * fabs(v);
	int64_t a = 0, b = u; /* the first value >= v - reach */
	while (a < b) {
		int64_t mid = (a + b) / 2;
		if (vc[mid].v < v - reach)
			a = mid + 1;
		else
			b = mid;
	}
	double best = v;
	int64_t best_n = 0, own = 0;
	for (int64_t i = a; i < u && vc[i].v <= v + reach; i++) {
		if (vc[i].v == v)
			own = vc[i].n;
		if (vc[i].n > best_n || (vc[i].n == best_n && fabs(vc[i].v - v) < fabs(best - v))) {
			best = vc[i].v;
			best_n = vc[i].n;
		}
	}
	return best_n > own ? best : v;
}

/* Weight noise that rounding keeps (the row needs the bits elsewhere) but
 * that makes shared structure unequal — kernel copies of a convolution
 * off by 2^-12, one weight of a pair 1.001 — goes when every weight and
 * bias takes the most frequent value near it: the loosest reach (3% down
 * to 0.1% of the value) that meets the criterion wins. */
static gb_status snap_round(judge *j, gb_pwl **pp, gb_compress_stats *s, gb_error *err)
{
	static const double reach[] = {3e-2, 1e-2, 3e-3, 1e-3};
	int64_t u = 0;
	value_count *vc = value_counts(*pp, &u);
	if (!vc)
		return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
	gb_status st = GB_OK;
	for (size_t i = 0; i < sizeof reach / sizeof *reach && st == GB_OK; i++) {
		gb_pwl *q = NULL;
		if ((st = gb_pwl_clone(*pp, &q, err)) != GB_OK)
			break;
		bool changed = false;
		for (int64_t r = 0; r < q->n_units + q->n_out; r++) {
			gb_row *row = row_at(q, r);
			for (int t = 0; t < row->n; t++) {
				double v = snap_value(row->w[t], vc, u, reach[i]);
				changed = changed || v != row->w[t];
				row->w[t] = v;
			}
			double b = snap_value(row->b, vc, u, reach[i]);
			changed = changed || b != row->b;
			row->b = b;
		}
		if (!changed) {
			gb_pwl_free(q);
			break; /* a tighter reach changes nothing either */
		}
		if (!judge_eval(j, q)) {
			gb_pwl_free(q);
			st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
		} else if (judge_ok(j, q)) {
			gb_pwl_free(*pp);
			*pp = q;
			s->snapped = true;
			break;
		} else {
			gb_pwl_free(q);
		}
	}
	free(vc);
	return st;
}

gb_status gb_pwl_compress(gb_pwl **pp, const double *lo, const double *hi, const gb_compress_options *o,
                          gb_compress_stats *stats, gb_error *err)
{
	judge j = {.o = o};
	gb_compress_stats s = {0};
	gb_status st = GB_OK;
	for (int64_t r = 0; r < (*pp)->n_units + (*pp)->n_out; r++)
		s.terms_before += row_at(*pp, r)->n;
	s.units_before = (*pp)->n_units;
	/* the judge runs dozens of times: past about 4e9 multiply-adds a run
	 * (a convolution of 10^4 units written dense, say) it would take minutes,
	 * so compression is skipped and says so */
	double cost = (double)((*pp)->n_units + (*pp)->n_out) * (double)((*pp)->n_in + (*pp)->n_units) * (double)o->n;
	if (cost > 4e9) {
		s.skipped = s.too_large = true;
		goto done;
	}
	if (!judge_eval(&j, *pp)) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
		goto done;
	}
	if (!judge_ok(&j, *pp)) { /* the DAG itself misses: nothing to gain, leave it to the check */
		s.skipped = true;
		goto done;
	}
	/* a looser canonical form first: near-duplicate units merge, near-
	 * cancelling terms go (weight noise hides exact ones); the loosest
	 * tolerance that meets the criterion wins */
	static const double loose[] = {3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5};
	for (size_t i = 0; i < sizeof loose / sizeof *loose && st == GB_OK; i++) {
		gb_pwl *q = NULL;
		if ((st = gb_pwl_clone(*pp, &q, err)) != GB_OK)
			break;
		if ((st = gb_pwl_canonicalize(q, lo, hi, loose[i], NULL, err)) == GB_OK) {
			if (!judge_eval(&j, q))
				st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
			else if (q->n_units < (*pp)->n_units && judge_ok(&j, q)) {
				gb_pwl_free(*pp);
				*pp = q;
				s.merge_tol = loose[i];
				break;
			}
		}
		gb_pwl_free(q);
	}
	if (st == GB_OK) { /* near-independent parts become independent when the criterion allows */
		bool split = false;
		st = try_split(&j, pp, &split, err);
		if (st == GB_OK && split) {
			s.split = true;
			st = gb_pwl_canonicalize(*pp, lo, hi, 1e-6, NULL, err);
		}
	}
	for (int round = 0; round < 8 && st == GB_OK; round++) {
		int64_t removed = 0;
		if ((st = prune_round(&j, pp, &removed, err)) != GB_OK)
			break;
		s.terms_pruned += removed;
		if (removed == 0)
			break;
		if ((st = gb_pwl_canonicalize(*pp, lo, hi, 1e-6, NULL, err)) != GB_OK)
			break;
		/* the canonical form may move outputs by rounding: keep it only if it still passes */
		if (!judge_eval(&j, *pp))
			st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
	}
	if (st == GB_OK) {
		int blo = 1, bhi = 24; /* 24 bits: float32 itself */
		while (blo < bhi && st == GB_OK) {
			int mid = (blo + bhi) / 2;
			gb_pwl *q = NULL;
			if ((st = rounded(*pp, mid, &q, err)) != GB_OK)
				break;
			if (!judge_eval(&j, q))
				st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory while compressing");
			else if (judge_ok(&j, q))
				bhi = mid;
			else
				blo = mid + 1;
			gb_pwl_free(q);
		}
		s.bits = 24;
		if (st == GB_OK && blo < 24) {
			gb_pwl *q = NULL;
			if ((st = rounded(*pp, blo, &q, err)) == GB_OK) {
				bool changed = false; /* weights that already had few bits stay as they were */
				for (int64_t r = 0; r < q->n_units + q->n_out && !changed; r++) {
					const gb_row *a = row_at(*pp, r), *b = row_at(q, r);
					changed = a->n != b->n || a->b != b->b;
					for (int t = 0; t < a->n && !changed; t++)
						changed = a->w[t] != b->w[t];
				}
				if (changed) {
					gb_pwl_free(*pp);
					*pp = q;
					s.bits = blo;
				} else {
					gb_pwl_free(q);
				}
			}
		}
		/* then row by row, where the judge is cheap enough to run a few
		 * times per row */
		int64_t rows = (*pp)->n_units + (*pp)->n_out;
		double each = (double)rows * (double)((*pp)->n_in + (*pp)->n_units) * (double)o->n;
		if (st == GB_OK && s.bits > 1 && (double)rows * 5.0 * each <= 2e10) {
			int kept = s.bits;
			st = round_rows(&j, *pp, s.bits, &kept, err);
			s.bits = kept;
		}
		if (st == GB_OK)
			st = snap_round(&j, pp, &s, err);
		if (st == GB_OK)
			st = gb_pwl_canonicalize(*pp, lo, hi, 1e-6, NULL, err);
	}
done:
	if (st == GB_OK) {
		s.units_after = (*pp)->n_units;
		for (int64_t r = 0; r < (*pp)->n_units + (*pp)->n_out; r++)
			s.terms_after += row_at(*pp, r)->n;
		if (stats)
			*stats = s;
	}
	judge_free(&j);
	return st;
}
