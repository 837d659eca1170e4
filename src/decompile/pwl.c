/*
 * pwl.c — affine rows and the ReLU DAG (pwl.h): construction, copying,
 * evaluation and interval bounds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pwl.h"

/* ---- rows ------------------------------------------------------------------------ */

void gb_row_free(gb_row *r)
{
	free(r->idx);
	free(r->w);
	memset(r, 0, sizeof *r);
}

static bool row_reserve(gb_row *r, int n)
{
	if (n <= r->cap)
		return true;
	int cap = r->cap ? r->cap : 4;
	while (cap < n) {
		if (cap > (1 << 29))
			return false;
		cap *= 2;
	}
	int *idx = realloc(r->idx, (size_t)cap * sizeof *idx);
	if (!idx)
		return false;
	r->idx = idx;
	double *w = realloc(r->w, (size_t)cap * sizeof *w);
	if (!w)
		return false;
	r->w = w;
	r->cap = cap;
	return true;
}

bool gb_row_push(gb_row *r, int j, double w)
{
	if (!row_reserve(r, r->n + 1))
		return false;
	r->idx[r->n] = j;
	r->w[r->n] = w;
	r->n++;
	return true;
}

bool gb_row_copy(gb_row *dst, const gb_row *src)
{
	dst->n = 0;
	if (!row_reserve(dst, src->n))
		return false;
	if (src->n) {
		memcpy(dst->idx, src->idx, (size_t)src->n * sizeof *src->idx);
		memcpy(dst->w, src->w, (size_t)src->n * sizeof *src->w);
	}
	dst->n = src->n;
	dst->b = src->b;
	return true;
}

typedef struct term {
	int j;
	double w;
} term;

static int term_cmp(const void *a, const void *b)
{
	int x = ((const term *)a)->j, y = ((const term *)b)->j;
	return (x > y) - (x < y);
}

void gb_row_compact(gb_row *r)
{
	if (r->n == 0)
		return;
	bool sorted = true;
	for (int k = 1; k < r->n && sorted; k++)
		sorted = r->idx[k - 1] < r->idx[k];
	if (!sorted) {
		term *t = malloc((size_t)r->n * sizeof *t);
		if (t) {
			for (int k = 0; k < r->n; k++)
				t[k] = (term){r->idx[k], r->w[k]};
			qsort(t, (size_t)r->n, sizeof *t, term_cmp);
			for (int k = 0; k < r->n; k++) {
				r->idx[k] = t[k].j;
				r->w[k] = t[k].w;
			}
			free(t);
		} else { /* insertion sort: slow but needs no memory */
			for (int k = 1; k < r->n; k++)
				for (int i = k; i > 0 && r->idx[i - 1] > r->idx[i]; i--) {
					int tj = r->idx[i];
					r->idx[i] = r->idx[i - 1];
					r->idx[i - 1] = tj;
					double tw = r->w[i];
					r->w[i] = r->w[i - 1];
					r->w[i - 1] = tw;
				}
		}
	}
	int out = 0;
	for (int k = 0; k < r->n; k++) {
		if (out > 0 && r->idx[out - 1] == r->idx[k]) {
			r->w[out - 1] += r->w[k];
			continue;
		}
		r->idx[out] = r->idx[k];
		r->w[out] = r->w[k];
		out++;
	}
	int keep = 0;
	for (int k = 0; k < out; k++)
		if (r->w[k] != 0.0) {
			r->idx[keep] = r->idx[k];
			r->w[keep] = r->w[k];
			keep++;
		}
	r->n = keep;
}

bool gb_row_axpy(gb_row *dst, double scale, const gb_row *src)
{
	if (!row_reserve(dst, dst->n + src->n))
		return false;
	for (int k = 0; k < src->n; k++) {
		dst->idx[dst->n] = src->idx[k];
		dst->w[dst->n] = scale * src->w[k];
		dst->n++;
	}
	dst->b += scale * src->b;
	gb_row_compact(dst);
	return true;
}

static int row_find(const gb_row *r, int j)
{
	int lo = 0, hi = r->n - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (r->idx[mid] == j)
			return mid;
		if (r->idx[mid] < j)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

double gb_row_coef(const gb_row *r, int j)
{
	int k = row_find(r, j);
	return k < 0 ? 0.0 : r->w[k];
}

double gb_row_take(gb_row *r, int j)
{
	int k = row_find(r, j);
	if (k < 0)
		return 0.0;
	double w = r->w[k];
	memmove(r->idx + k, r->idx + k + 1, (size_t)(r->n - k - 1) * sizeof *r->idx);
	memmove(r->w + k, r->w + k + 1, (size_t)(r->n - k - 1) * sizeof *r->w);
	r->n--;
	return w;
}

void gb_row_scale(gb_row *r, double s)
{
	for (int k = 0; k < r->n; k++)
		r->w[k] *= s;
	r->b *= s;
}

/* ---- the DAG -------------------------------------------------------------------------- */

static void io_free(gb_pwl_io *io, int n)
{
	for (int i = 0; i < n; i++)
		free(io[i].name);
	free(io);
}

void gb_pwl_free(gb_pwl *p)
{
	if (!p)
		return;
	io_free(p->inputs, p->n_inputs);
	io_free(p->outputs, p->n_outputs);
	for (int64_t u = 0; u < p->n_units; u++)
		gb_row_free(&p->units[u]);
	free(p->units);
	for (int64_t o = 0; o < p->n_out; o++)
		gb_row_free(&p->outs[o]);
	free(p->outs);
	free(p);
}

int64_t gb_pwl_add_unit(gb_pwl *p, gb_row *row)
{
	if (p->n_units == p->cap_units) {
		int64_t cap = p->cap_units ? 2 * p->cap_units : 64;
		if (cap > (int64_t)1 << 28)
			return -1;
		gb_row *u = realloc(p->units, (size_t)cap * sizeof *u);
		if (!u)
			return -1;
		p->units = u;
		p->cap_units = cap;
	}
	p->units[p->n_units] = *row;
	memset(row, 0, sizeof *row);
	return p->n_in + p->n_units++;
}

static gb_status io_clone(const gb_pwl_io *src, int n, gb_pwl_io **out)
{
	*out = calloc((size_t)(n ? n : 1), sizeof **out);
	if (!*out)
		return GB_STATUS_NOMEM;
	for (int i = 0; i < n; i++) {
		(*out)[i] = src[i];
		(*out)[i].name = gb_strdup(src[i].name);
		if (!(*out)[i].name)
			return GB_STATUS_NOMEM;
	}
	return GB_OK;
}

gb_status gb_pwl_clone(const gb_pwl *p, gb_pwl **out, gb_error *err)
{
	gb_pwl *c = calloc(1, sizeof *c);
	if (!c)
		return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	c->n_in = p->n_in;
	c->n_out = p->n_out;
	c->n_inputs = p->n_inputs;
	c->n_outputs = p->n_outputs;
	bool ok = io_clone(p->inputs, p->n_inputs, &c->inputs) == GB_OK &&
	          io_clone(p->outputs, p->n_outputs, &c->outputs) == GB_OK;
	c->units = calloc((size_t)(p->n_units ? p->n_units : 1), sizeof *c->units);
	c->outs = calloc((size_t)(p->n_out ? p->n_out : 1), sizeof *c->outs);
	ok = ok && c->units && c->outs;
	if (ok) {
		c->cap_units = p->n_units ? p->n_units : 1;
		for (int64_t u = 0; u < p->n_units && ok; u++, c->n_units++)
			ok = gb_row_copy(&c->units[u], &p->units[u]);
		for (int64_t o = 0; o < p->n_out && ok; o++)
			ok = gb_row_copy(&c->outs[o], &p->outs[o]);
	}
	if (!ok) {
		gb_pwl_free(c);
		return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	}
	*out = c;
	return GB_OK;
}

static double row_dot(const gb_row *r, const double *src)
{
	double s = r->b;
	for (int k = 0; k < r->n; k++)
		s += r->w[k] * src[r->idx[k]];
	return s;
}

gb_status gb_pwl_eval(const gb_pwl *p, int64_t n, const float *x, double *y, double *h, bool f32, gb_error *err)
{
	size_t width;
	if (!gb_add_size((size_t)p->n_in, (size_t)p->n_units, &width))
		return gb_fail(err, GB_STATUS_NOMEM, "decompile: network too large");
	double *src = malloc((width ? width : 1) * sizeof *src);
	if (!src)
		return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	for (int64_t e = 0; e < n; e++) {
		for (int64_t j = 0; j < p->n_in; j++)
			src[j] = x[e * p->n_in + j];
		for (int64_t u = 0; u < p->n_units; u++) {
			double z = row_dot(&p->units[u], src);
			double v = z > 0.0 ? z : 0.0;
			if (f32)
				v = (float)v;
			src[p->n_in + u] = v;
			if (h)
				h[e * p->n_units + u] = v;
		}
		for (int64_t o = 0; o < p->n_out; o++)
			y[e * p->n_out + o] = row_dot(&p->outs[o], src);
	}
	free(src);
	return GB_OK;
}

static void row_bounds(const gb_row *r, const double *lo, const double *hi, double *rlo, double *rhi)
{
	double a = r->b, b = r->b;
	for (int k = 0; k < r->n; k++) {
		double w = r->w[k], l = lo[r->idx[k]], u = hi[r->idx[k]];
		if (w >= 0) {
			a += w * l;
			b += w * u;
		} else {
			a += w * u;
			b += w * l;
		}
	}
	*rlo = a;
	*rhi = b;
}

void gb_pwl_bounds(const gb_pwl *p, const double *in_lo, const double *in_hi, double *lo, double *hi, double *olo,
                   double *ohi)
{
	int64_t width = p->n_in + p->n_units;
	double *slo = malloc((size_t)(width ? width : 1) * sizeof *slo);
	double *shi = malloc((size_t)(width ? width : 1) * sizeof *shi);
	if (!slo || !shi) { /* the bounds that always hold */
		for (int64_t u = 0; u < p->n_units; u++) {
			lo[u] = -INFINITY;
			hi[u] = INFINITY;
		}
		for (int64_t o = 0; olo && o < p->n_out; o++) {
			olo[o] = -INFINITY;
			ohi[o] = INFINITY;
		}
		free(slo);
		free(shi);
		return;
	}
	memcpy(slo, in_lo, (size_t)p->n_in * sizeof *slo);
	memcpy(shi, in_hi, (size_t)p->n_in * sizeof *shi);
	for (int64_t u = 0; u < p->n_units; u++) {
		row_bounds(&p->units[u], slo, shi, &lo[u], &hi[u]);
		slo[p->n_in + u] = lo[u] > 0 ? lo[u] : 0;
		shi[p->n_in + u] = hi[u] > 0 ? hi[u] : 0;
	}
	for (int64_t o = 0; olo && o < p->n_out; o++)
		row_bounds(&p->outs[o], slo, shi, &olo[o], &ohi[o]);
	free(slo);
	free(shi);
}

void gb_pwl_depths(const gb_pwl *p, int *depth)
{
	for (int64_t u = 0; u < p->n_units; u++) {
		int d = 0;
		const gb_row *r = &p->units[u];
		for (int k = 0; k < r->n; k++)
			if (r->idx[k] >= p->n_in && depth[r->idx[k] - p->n_in] > d)
				d = depth[r->idx[k] - p->n_in];
		depth[u] = d + 1;
	}
}
