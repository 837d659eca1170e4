/*
 * match.c — each output on its own against the primitive vocabulary
 * (decompile.h, gb_dc_match_outputs).
 *
 * A network can compute unrelated things side by side: the parity of some
 * bits beside the largest of some reals. The whole-output matches of
 * decompile.c need every output to be one function of the whole input;
 * here every output element is matched alone, on the domain's points, to
 *
 *   a Boolean formula of the input features that are 0 or 1 (on a data
 *   domain: features whose every data value is 0 or 1), when the output
 *   is within the budget of 0 or 1 at every point and the same bit at
 *   every point with the same bits (the real features do not matter);
 *   the table goes to boolfn.c, a bit pattern no point has counting as 0;
 *
 *   max or min of two or more of the real-valued features, the smallest
 *   subset first, within the budget at every point.
 *
 * Only when every output element matches is there a program; it is then
 * checked like any other. The points are the data points on a data domain
 * (the domain is those points), else 2,000 uniform points of the box.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "boolfn.h"
#include "decompile.h"

#define MATCH_MAX_IN 32
#define MATCH_MAX_OUT 16
#define MATCH_MAX_BITS 12 /* Boolean features a table is made over */
#define MATCH_MAX_REALS 10
#define MATCH_BOX_POINTS 2000

/* The output values y[i * m + o] (n points) as a Boolean function of the
 * bit features: 1 when they are, with the table (2^nb bytes) filled. */
static bool boolean_table(const float *x, const double *y, int64_t n, int64_t n_in, int64_t m, int64_t o,
                          const int *bits, int nb, double budget, uint8_t *table, uint8_t *seen)
{
	size_t rows = (size_t)1 << nb;
	memset(table, 0, rows);
	memset(seen, 0, rows);
	for (int64_t i = 0; i < n; i++) {
		double a = y[i * m + o];
		int bit = a > 0.5;
		if (!(fabs(a - bit) <= budget))
			return false;
		size_t v = 0;
		for (int k = 0; k < nb; k++)
			v |= (size_t)(x[i * n_in + bits[k]] > 0.5f) << k;
		if (seen[v] && table[v] != bit)
			return false;
		seen[v] = 1;
		table[v] = (uint8_t)bit;
	}
	return true;
}

/* Whether output o is max (want_max) or min of the features in mask
 * (bits of reals[]) within budget at every point. */
static bool extreme_of(const float *x, const double *y, int64_t n, int64_t n_in, int64_t m, int64_t o,
                       const int *reals, int nr, unsigned mask, bool want_max, double budget)
{
	for (int64_t i = 0; i < n; i++) {
		double e = want_max ? -INFINITY : INFINITY;
		for (int k = 0; k < nr; k++)
			if (mask >> k & 1) {
				double v = x[i * n_in + reals[k]];
				e = want_max ? fmax(e, v) : fmin(e, v);
			}
		if (!(fabs(y[i * m + o] - e) <= fmax(budget, 1e-6 * fmax(1.0, fabs(e)))))
			return false;
	}
	return true;
}

static int popcount(unsigned v)
{
	int c = 0;
	for (; v; v &= v - 1)
		c++;
	return c;
}

gb_status gb_dc_match_outputs(const gb_pwl *p, const gb_decompile_options *opt, const double *lo, const double *hi,
                              double budget, char **body, gb_error *err)
{
	*body = NULL;
	int64_t n_in = p->n_in, m = p->n_out;
	const gb_tensor *d = opt->domain.data;
	if (p->n_inputs != 1 || p->n_outputs != 1 || p->inputs[0].ndim != 1 || p->outputs[0].ndim > 1 ||
	    p->outputs[0].softmax || opt->agreement > 0 || opt->domain.kind == GB_DOMAIN_BOOL || n_in < 2 ||
	    n_in > MATCH_MAX_IN || m < 1 || m > MATCH_MAX_OUT)
		return GB_OK;
	bool on_data = opt->domain.kind == GB_DOMAIN_DATA;
	if (on_data && (!d || d->dtype != GB_DTYPE_F32 || d->dims[0] < 1 || gb_tensor_numel(d) != d->dims[0] * n_in))
		return GB_OK;

	/* the features: 0/1 ones (data domains only) and real ones */
	int bits[MATCH_MAX_IN], reals[MATCH_MAX_IN], nb = 0, nr = 0;
	for (int64_t j = 0; j < n_in; j++) {
		bool binary = on_data;
		for (int64_t i = 0; binary && i < d->dims[0]; i++) {
			float v = ((const float *)d->data)[i * n_in + j];
			binary = v == 0.0f || v == 1.0f;
		}
		if (binary)
			bits[nb++] = (int)j;
		else
			reals[nr++] = (int)j;
	}
	if (nb > MATCH_MAX_BITS || nr > MATCH_MAX_REALS)
		return GB_OK;

	int64_t n = on_data ? d->dims[0] : MATCH_BOX_POINTS;
	float *x = malloc((size_t)(n * n_in) * sizeof *x);
	double *y = malloc((size_t)(n * m) * sizeof *y);
	uint8_t *table = malloc((size_t)1 << nb), *seen = malloc((size_t)1 << nb);
	char(*names)[80] = calloc((size_t)n_in, sizeof *names), (*outs)[80] = calloc((size_t)m, sizeof *outs);
	const char *bit_names[MATCH_MAX_BITS];
	gb_strbuf b = {0}, lines = {0};
	gb_status st = GB_OK;
	if (!x || !y || !table || !seen || !names || !outs) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	if (on_data) {
		memcpy(x, d->data, (size_t)(n * n_in) * sizeof *x);
	} else {
		gb_rng rng;
		gb_rng_seed(&rng, opt->seed, 0x6d61746368ULL); /* "match" */
		for (int64_t i = 0; i < n * n_in; i++) {
			int64_t j = i % n_in;
			x[i] = (float)(lo[j] + (hi[j] - lo[j]) * gb_rng_uniform(&rng));
		}
	}
	if ((st = gb_pwl_eval(p, n, x, y, NULL, false, err)) != GB_OK)
		goto done;

	char in[64][64], out[64][64];
	gb_dc_io_names(p, in, out);
	for (int64_t j = 0; j < n_in; j++)
		gb_dc_element_name(in[0], 1, p->inputs[0].dims, j, names[j], sizeof names[j]);
	for (int64_t o = 0; o < m; o++)
		gb_dc_element_name(out[0], p->outputs[0].ndim, p->outputs[0].dims, o, outs[o], sizeof outs[o]);
	for (int k = 0; k < nb; k++)
		bit_names[k] = names[bits[k]];

	for (int64_t o = 0; o < m; o++) {
		bool done_o = false;
		if (nb > 0 && boolean_table(x, y, n, n_in, m, o, bits, nb, budget, table, seen)) {
			char *f = NULL;
			gb_error e2 = {0};
			gb_status bs = gb_bool_formula(table, nb, bit_names, NULL, 0, &f, NULL, &e2);
			if (bs == GB_STATUS_NOMEM) {
				st = gb_fail(err, bs, "%s", e2.msg);
				goto done;
			}
			if (bs == GB_OK) {
				gb_strbuf_printf(&lines, "%s = %s\n", outs[o], f);
				done_o = true;
			}
			free(f);
		}
		/* max or min of a subset of the real features, the smallest first */
		for (int size = 2; size <= nr && !done_o; size++)
			for (unsigned mask = 1; mask < 1u << nr && !done_o; mask++) {
				if (popcount(mask) != size)
					continue;
				for (int w = 0; w < 2 && !done_o; w++) {
					if (!extreme_of(x, y, n, n_in, m, o, reals, nr, mask, w == 0, budget))
						continue;
					gb_strbuf_printf(&lines, "%s = %s(", outs[o], w == 0 ? "max" : "min");
					const char *sep = "";
					for (int k = 0; k < nr; k++)
						if (mask >> k & 1) {
							gb_strbuf_printf(&lines, "%s%s", sep, names[reals[k]]);
							sep = ", ";
						}
					gb_strbuf_printf(&lines, ")\n");
					done_o = true;
				}
			}
		if (!done_o)
			goto done; /* one output that matches nothing: no program from here */
	}
	gb_dc_declare_io(&b, p, in, out, true);
	gb_strbuf_printf(&b, "\n%s", lines.data ? lines.data : "");
	if (b.oom || lines.oom)
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	else
		*body = b.data, b.data = NULL;
done:
	free(b.data);
	free(lines.data);
	free(x);
	free(y);
	free(table);
	free(seen);
	free(names);
	free(outs);
	return st;
}

/* ---- classifiers of one-hot codes -------------------------------------------------------- */

#define ONEHOT_MAX_GROUPS 2
#define ONEHOT_MAX_K 64

/* The data's features as consecutive one-hot groups: every data row has
 * exactly one 1 (and 0s) in each. Returns the number of groups (0: not
 * such data); start[g], size[g]. */
static int onehot_groups(const float *x, int64_t n, int64_t n_in, int64_t *start, int64_t *size)
{
	for (int64_t i = 0; i < n * n_in; i++)
		if (x[i] != 0.0f && x[i] != 1.0f)
			return 0;
	int groups = 0;
	int64_t s = 0;
	while (s < n_in) {
		int64_t e = s + 1;
		for (; e <= n_in; e++) { /* the shortest run of features that is one-hot on every row */
			bool one = true;
			for (int64_t i = 0; i < n && one; i++) {
				float sum = 0;
				for (int64_t j = s; j < e; j++)
					sum += x[i * n_in + j];
				one = sum == 1.0f;
			}
			if (one)
				break;
		}
		if (e > n_in || groups == ONEHOT_MAX_GROUPS || e - s < 2 || e - s > ONEHOT_MAX_K)
			return 0;
		start[groups] = s;
		size[groups++] = e - s;
		s = e;
	}
	return groups;
}

static int64_t hot_index(const float *row, int64_t start, int64_t size)
{
	for (int64_t j = 0; j < size; j++)
		if (row[start + j] == 1.0f)
			return j;
	return -1;
}

gb_status gb_dc_match_onehot(const gb_pwl *p, const gb_decompile_options *opt, char **body, gb_error *err)
{
	*body = NULL;
	const gb_tensor *d = opt->domain.data;
	int64_t n_in = p->n_in, K = p->n_out;
	if (opt->domain.kind != GB_DOMAIN_DATA || opt->agreement <= 0 || !d || d->dtype != GB_DTYPE_F32 ||
	    p->n_inputs != 1 || p->inputs[0].ndim != 1 || p->n_outputs != 1 || p->outputs[0].ndim != 1 || K < 2 ||
	    K > ONEHOT_MAX_K || d->dims[0] < 1 || gb_tensor_numel(d) != d->dims[0] * n_in)
		return GB_OK;
	int64_t n = d->dims[0], start[ONEHOT_MAX_GROUPS], size[ONEHOT_MAX_GROUPS];
	const float *x = d->data;
	int groups = onehot_groups(x, n, n_in, start, size);
	if (groups < 1)
		return GB_OK;
	double *y = malloc((size_t)(n * K) * sizeof *y);
	int64_t *cls = malloc((size_t)n * sizeof *cls), *idx = malloc((size_t)(n * groups) * sizeof *idx);
	gb_strbuf b = {0};
	gb_status st = GB_OK;
	if (!y || !cls || !idx) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	if ((st = gb_pwl_eval(p, n, x, y, NULL, false, err)) != GB_OK)
		goto done;
	for (int64_t i = 0; i < n; i++) {
		cls[i] = gb_dc_argmax(y + i * K, K);
		for (int g = 0; g < groups; g++)
			idx[i * groups + g] = hot_index(x + i * n_in, start[g], size[g]);
	}
	/* class = (a * i + b * j + c) mod K for the smallest a, b, c that fit every row */
	int64_t fit[3] = {-1, -1, -1};
	for (int64_t a = 0; a < K && fit[0] < 0; a++)
		for (int64_t bb = 0; bb < (groups > 1 ? K : 1) && fit[0] < 0; bb++)
			for (int64_t c = 0; c < K && fit[0] < 0; c++) {
				bool ok = a > 0 || bb > 0;
				for (int64_t i = 0; i < n && ok; i++) {
					int64_t v = a * idx[i * groups] + (groups > 1 ? bb * idx[i * groups + 1] : 0) + c;
					ok = v % K == cls[i];
				}
				if (ok)
					fit[0] = a, fit[1] = bb, fit[2] = c;
			}
	if (fit[0] < 0)
		goto done; /* no modular form: the other forms take over */

	char in[64][64], out[64][64];
	gb_dc_io_names(p, in, out);
	gb_dc_declare_io(&b, p, in, out, true);
	/* the class as a number, summed over the one-hot pairs (or codes) */
	const char *label = strcmp(out[0], "label") == 0 ? "class_" : "label";
	char term[160];
	int len = 0;
	const char *iv[2] = {"i", "j"};
	for (int g = 0; g < groups; g++) {
		int64_t coef = fit[g];
		if (coef == 0)
			continue;
		if (coef == 1)
			len += snprintf(term + len, sizeof term - (size_t)len, "%s%s", len ? " + " : "", iv[g]);
		else
			len += snprintf(term + len, sizeof term - (size_t)len, "%s%lld * %s", len ? " + " : "", (long long)coef,
			                iv[g]);
	}
	if (fit[2])
		snprintf(term + len, sizeof term - (size_t)len, " + %lld", (long long)fit[2]);
	gb_strbuf_printf(&b, "\n%s = 0.0 * %s[0]\n", label, in[0]);
	gb_strbuf_printf(&b, "for i in range(%lld):\n", (long long)size[0]);
	if (groups == 2) {
		gb_strbuf_printf(&b, "    for j in range(%lld):\n", (long long)size[1]);
		char first[32];
		snprintf(first, sizeof first, start[0] ? "%lld + i" : "i", (long long)start[0]);
		gb_strbuf_printf(&b, "        %s = %s + ((%s) %% %lld) * (%s[%s] and %s[%lld + j])\n", label, label, term,
		                 (long long)K, in[0], first, in[0], (long long)start[1]);
	} else {
		gb_strbuf_printf(&b, "    %s = %s + ((%s) %% %lld) * %s[%lld + i]\n", label, label, term, (long long)K, in[0],
		                 (long long)start[0]);
	}
	/* the scores: the one-hot code of the class */
	gb_strbuf_printf(&b, "%s = [relu(1.0 - abs(%s - k)) for k in range(%lld)]\n", out[0], label, (long long)K);
	if (b.oom)
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	else
		*body = b.data, b.data = NULL;
done:
	free(b.data);
	free(y);
	free(cls);
	free(idx);
	return st;
}
