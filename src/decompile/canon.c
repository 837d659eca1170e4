/*
 * canon.c — the canonical form of a ReLU DAG on an input box (pwl.h,
 * gb_pwl_canonicalize).
 *
 * One pass: scale every unit's row to max |w| = 1 (relu(s z) = s relu(z) for
 * s > 0, the factor moves to the readers); bound every pre-activation on the
 * box by interval arithmetic; then decide, unit by unit, what it is:
 *
 *   dead     never positive on the box            h = 0
 *   linear   never negative on the box            h = z
 *   merged   the same row as an earlier unit u    h = h_u
 *   paired   the negated row of an earlier u      h = relu(-z_u) = h_u - z_u
 *
 * and substitute in one sweep over the rows in order (a substitute only
 * reads earlier sources, which the sweep has already rewritten). Units no
 * row reads any more are dropped and the sources renumbered. Passes repeat
 * until one changes nothing: a substitution can make later rows equal, or
 * tighten bounds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pwl.h"

typedef enum fate { KEEP = 0, DEAD, LINEAR, MERGED, PAIRED } fate;

typedef struct subst {
	fate fate;
	int64_t other; /* MERGED, PAIRED: the unit it becomes */
} subst;

/* Drops coefficients that are negligible next to the row's largest one
 * (what cancelling terms leave behind in double rounding). */
static void drop_tiny(gb_row *r)
{
	double big = 0;
	for (int k = 0; k < r->n; k++)
		big = fmax(big, fabs(r->w[k]));
	int keep = 0;
	for (int k = 0; k < r->n; k++)
		if (fabs(r->w[k]) > 1e-12 * big) {
			r->idx[keep] = r->idx[k];
			r->w[keep] = r->w[k];
			keep++;
		}
	r->n = keep;
}

/* Whether rows a and s * b are equal within tol (rows compacted, max |w| = 1). */
static bool rows_match(const gb_row *a, const gb_row *b, double s, double tol)
{
	if (a->n != b->n || fabs(a->b - s * b->b) > tol * fmax(1.0, fabs(a->b)))
		return false;
	for (int k = 0; k < a->n; k++)
		if (a->idx[k] != b->idx[k] || fabs(a->w[k] - s * b->w[k]) > tol)
			return false;
	return true;
}

/* A hash of a row's sources and rounded signs: equal rows (and negated
 * rows, by the sign-free part) land together. */
static uint64_t row_key(const gb_row *r)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)r->n;
	for (int k = 0; k < r->n; k++) {
		h ^= (uint64_t)r->idx[k];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Scales unit rows to max |w| = 1; readers take the factor. */
static bool normalise(gb_pwl *p)
{
	bool changed = false;
	double *mult = malloc((size_t)(p->n_units ? p->n_units : 1) * sizeof *mult);
	if (!mult)
		return false;
	for (int64_t u = 0; u < p->n_units; u++) {
		gb_row *r = &p->units[u];
		for (int k = 0; k < r->n; k++)
			if (r->idx[k] >= p->n_in)
				r->w[k] *= mult[r->idx[k] - p->n_in];
		double s = 0;
		for (int k = 0; k < r->n; k++)
			s = fmax(s, fabs(r->w[k]));
		mult[u] = 1.0;
		if (s > 0 && s != 1.0) {
			gb_row_scale(r, 1.0 / s);
			mult[u] = s;
			changed = true;
		}
	}
	for (int64_t o = 0; o < p->n_out; o++) {
		gb_row *r = &p->outs[o];
		for (int k = 0; k < r->n; k++)
			if (r->idx[k] >= p->n_in)
				r->w[k] *= mult[r->idx[k] - p->n_in];
	}
	free(mult);
	return changed;
}

/* Rewrites row r with the substitutions (sources before r are final). */
static bool rewrite(gb_pwl *p, gb_row *r, const subst *sub)
{
	gb_row add = {0};
	bool ok = true, touched = false;
	for (int k = 0; k < r->n && ok; k++) {
		if (r->idx[k] < p->n_in)
			continue;
		int64_t u = r->idx[k] - p->n_in;
		double c = r->w[k];
		switch (sub[u].fate) {
		case KEEP:
			break;
		case DEAD:
			r->w[k] = 0;
			touched = true;
			break;
		case LINEAR:
			r->w[k] = 0;
			ok = gb_row_axpy(&add, c, &p->units[u]);
			touched = true;
			break;
		case MERGED:
			r->w[k] = 0;
			ok = gb_row_push(&add, (int)(p->n_in + sub[u].other), c);
			touched = true;
			break;
		case PAIRED:
			r->w[k] = 0;
			ok = gb_row_push(&add, (int)(p->n_in + sub[u].other), c) &&
			     gb_row_axpy(&add, -c, &p->units[sub[u].other]);
			touched = true;
			break;
		}
	}
	if (ok && touched) {
		ok = gb_row_axpy(r, 1.0, &add);
		drop_tiny(r);
	}
	gb_row_free(&add);
	return ok;
}

/* Drops the smallest terms whose contributions on the box, |w_k| times
 * max |source_k|, add up to at most rel_tol of the row's bound |b| + the sum
 * of all contributions: the float32 rounding residue of rescaled weights,
 * and never more than rel_tol of the row in all. Returns how many went. */
typedef struct contrib {
	double mag;
	int k;
} contrib;

static int by_mag(const void *a, const void *b)
{
	double x = ((const contrib *)a)->mag, y = ((const contrib *)b)->mag;
	return (x > y) - (x < y);
}

static int64_t drop_negligible(const gb_pwl *p, gb_row *r, const double *in_lo, const double *in_hi,
                               const double *hi, double rel_tol)
{
	if (r->n == 0)
		return 0;
	contrib *c = malloc((size_t)r->n * sizeof *c);
	if (!c)
		return 0; /* keeping every term is always right */
	double total = fabs(r->b);
	for (int k = 0; k < r->n; k++) {
		int64_t j = r->idx[k];
		double mag = j < p->n_in ? fmax(fabs(in_lo[j]), fabs(in_hi[j])) : fmax(hi[j - p->n_in], 0.0);
		c[k] = (contrib){fabs(r->w[k]) * mag, k};
		total += c[k].mag;
	}
	qsort(c, (size_t)r->n, sizeof *c, by_mag);
	double budget = rel_tol * total, used = 0;
	int64_t dropped = 0;
	for (int i = 0; i < r->n && used + c[i].mag <= budget; i++) {
		used += c[i].mag;
		r->w[c[i].k] = 0.0;
		dropped++;
	}
	free(c);
	if (dropped)
		gb_row_compact(r);
	return dropped;
}

typedef struct bucket {
	uint64_t key;
	int64_t unit;
} bucket;

static int bucket_cmp(const void *a, const void *b)
{
	const bucket *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->unit > y->unit) - (x->unit < y->unit);
}

/* Removes units nothing reads; renumbers sources. Returns the count. */
static int64_t drop_unused(gb_pwl *p, bool *ok)
{
	int64_t n = p->n_units, removed = 0;
	int64_t *readers = calloc((size_t)(n ? n : 1), sizeof *readers);
	int64_t *newidx = malloc((size_t)(n ? n : 1) * sizeof *newidx);
	if (!readers || !newidx) {
		free(readers);
		free(newidx);
		*ok = false;
		return 0;
	}
	for (int64_t o = 0; o < p->n_out; o++)
		for (int k = 0; k < p->outs[o].n; k++)
			if (p->outs[o].idx[k] >= p->n_in)
				readers[p->outs[o].idx[k] - p->n_in]++;
	/* backwards: a unit read only by dropped units is dropped too */
	for (int64_t u = n - 1; u >= 0; u--) {
		if (readers[u] > 0)
			for (int k = 0; k < p->units[u].n; k++)
				if (p->units[u].idx[k] >= p->n_in)
					readers[p->units[u].idx[k] - p->n_in]++;
	}
	int64_t next = 0;
	for (int64_t u = 0; u < n; u++) {
		if (readers[u] == 0) {
			newidx[u] = -1;
			gb_row_free(&p->units[u]);
			removed++;
			continue;
		}
		newidx[u] = next;
		p->units[next++] = p->units[u];
	}
	p->n_units = next;
	for (int64_t i = 0; i < p->n_units + p->n_out; i++) {
		gb_row *r = i < p->n_units ? &p->units[i] : &p->outs[i - p->n_units];
		for (int k = 0; k < r->n; k++)
			if (r->idx[k] >= p->n_in) {
				int64_t v = newidx[r->idx[k] - p->n_in];
				GB_ASSERT(v >= 0);
				r->idx[k] = (int)(p->n_in + v);
			}
	}
	free(readers);
	free(newidx);
	return removed;
}

gb_status gb_pwl_canonicalize(gb_pwl *p, const double *in_lo, const double *in_hi, double rel_tol,
                              gb_canon_stats *stats, gb_error *err)
{
	gb_canon_stats st = {.units_before = p->n_units};
	for (int pass = 0; pass < 100; pass++) {
		bool changed = normalise(p);
		int64_t n = p->n_units;
		double *lo = malloc((size_t)(n ? n : 1) * sizeof *lo);
		double *hi = malloc((size_t)(n ? n : 1) * sizeof *hi);
		subst *sub = calloc((size_t)(n ? n : 1), sizeof *sub);
		bucket *bk = malloc((size_t)(n ? n : 1) * sizeof *bk);
		bool ok = lo && hi && sub && bk;
		if (ok) {
			gb_pwl_bounds(p, in_lo, in_hi, lo, hi, NULL, NULL);
			int64_t dropped = 0;
			for (int64_t u = 0; u < n; u++)
				dropped += drop_negligible(p, &p->units[u], in_lo, in_hi, hi, rel_tol);
			for (int64_t o = 0; o < p->n_out; o++)
				dropped += drop_negligible(p, &p->outs[o], in_lo, in_hi, hi, rel_tol);
			if (dropped) { /* bounds first, then decide on the cleaned rows */
				st.negligible += dropped;
				changed = true;
				gb_pwl_bounds(p, in_lo, in_hi, lo, hi, NULL, NULL);
			}
			int64_t nb = 0;
			for (int64_t u = 0; u < n; u++) {
				if (hi[u] <= 0) {
					sub[u].fate = DEAD;
					st.dead++;
				} else if (lo[u] >= 0) {
					sub[u].fate = LINEAR;
					st.linear++;
				} else {
					bk[nb++] = (bucket){row_key(&p->units[u]), u};
				}
			}
			qsort(bk, (size_t)nb, sizeof *bk, bucket_cmp);
			for (int64_t i = 0; i < nb; i++) {
				int64_t v = bk[i].unit;
				for (int64_t j = i - 1; j >= 0 && bk[j].key == bk[i].key; j--) {
					int64_t u = bk[j].unit;
					if (sub[u].fate != KEEP)
						continue;
					if (rows_match(&p->units[v], &p->units[u], 1.0, rel_tol)) {
						sub[v] = (subst){MERGED, u};
						st.merged++;
						break;
					}
					if (rows_match(&p->units[v], &p->units[u], -1.0, rel_tol)) {
						sub[v] = (subst){PAIRED, u};
						st.paired++;
						break;
					}
				}
			}
			bool any = false;
			for (int64_t u = 0; u < n; u++)
				any = any || sub[u].fate != KEEP;
			for (int64_t u = 0; any && u < n && ok; u++)
				ok = rewrite(p, &p->units[u], sub);
			for (int64_t o = 0; any && o < p->n_out && ok; o++)
				ok = rewrite(p, &p->outs[o], sub);
			changed = changed || any;
		}
		free(lo);
		free(hi);
		free(sub);
		free(bk);
		if (!ok)
			return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		int64_t removed = drop_unused(p, &ok);
		if (!ok)
			return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		st.unused += removed;
		if (!changed && removed == 0)
			break;
	}
	st.unused -= st.dead + st.linear + st.merged + st.paired;
	if (st.unused < 0)
		st.unused = 0;
	st.units_after = p->n_units;
	if (stats)
		*stats = st;
	return GB_OK;
}
