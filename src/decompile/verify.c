/*
 * verify.c — the program against the network on the domain (decompile.h,
 * gb_dc_verify).
 *
 * Points: on a Boolean domain every input vector when there are at most 2^20
 * of them (exhaustive), else random ones; on a box, `samples` uniform
 * points, the corners (all of them up to 2^12, else random ones) and points
 * on and just off the hyperplane of every first-layer unit (where a
 * misplaced kink would show); on data, every data point. Data points given
 * with another domain are checked too. The network runs on the engine, the
 * program on the interpreter, in batches; errors are measured in double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "certify.h"
#include "decompile.h"

#define BATCH 4096
#define MAX_EXHAUSTIVE_BITS 20
#define MAX_CORNER_BITS 12
#define CERTIFY_MAX_UNITS 512 /* of the network's DAG and the program's together */
#define CERTIFY_BOXES 6000
#define CERTIFY_WORK 200000000

typedef struct points {
	int64_t n, cap, dim;
	float *x;
} points;

static bool points_reserve(points *P, int64_t more)
{
	if (P->n + more <= P->cap)
		return true;
	int64_t cap = P->cap ? P->cap : 1024;
	while (cap < P->n + more)
		cap *= 2;
	size_t bytes;
	if (!gb_mul_size((size_t)cap, (size_t)P->dim * sizeof(float), &bytes))
		return false;
	float *x = realloc(P->x, bytes ? bytes : 1);
	if (!x)
		return false;
	P->x = x;
	P->cap = cap;
	return true;
}

static float *points_add(points *P)
{
	if (!points_reserve(P, 1))
		return NULL;
	return P->x + P->n++ * P->dim;
}

static gb_status fill_points(const gb_pwl *p, const gb_decompile_options *opt, uint64_t seed, points *P,
                             const char **method, gb_error *err)
{
	const gb_domain *d = &opt->domain;
	int64_t n = p->n_in;
	gb_rng rng;
	gb_rng_seed(&rng, seed, 0x766572696679ULL); /* "verify" */
	P->dim = n;
	*method = "sampled";
	if (d->kind == GB_DOMAIN_BOOL && n <= MAX_EXHAUSTIVE_BITS) {
		*method = "exhaustive";
		for (int64_t v = 0; v < ((int64_t)1 << n); v++) {
			float *x = points_add(P);
			if (!x)
				goto nomem;
			for (int64_t j = 0; j < n; j++)
				x[j] = (float)((v >> (n - 1 - j)) & 1);
		}
	} else if (d->kind == GB_DOMAIN_BOOL) {
		for (int64_t s = 0; s < opt->samples; s++) {
			float *x = points_add(P);
			if (!x)
				goto nomem;
			for (int64_t j = 0; j < n; j++)
				x[j] = (float)(gb_rng_next(&rng) >> 63);
		}
	} else if (d->kind == GB_DOMAIN_BOX) {
		float lo = (float)d->lo, hi = (float)d->hi;
		for (int64_t s = 0; s < opt->samples; s++) {
			float *x = points_add(P);
			if (!x)
				goto nomem;
			for (int64_t j = 0; j < n; j++)
				x[j] = lo + (hi - lo) * (float)gb_rng_uniform(&rng);
		}
		int64_t corners = n <= MAX_CORNER_BITS ? (int64_t)1 << n : 4096;
		for (int64_t v = 0; v < corners; v++) {
			float *x = points_add(P);
			if (!x)
				goto nomem;
			for (int64_t j = 0; j < n; j++) {
				bool bit = n <= MAX_CORNER_BITS ? (v >> j) & 1 : gb_rng_next(&rng) >> 63;
				x[j] = bit ? hi : lo;
			}
		}
		/* on and near the kink of every first-layer unit */
		for (int64_t u = 0; u < p->n_units && u < 2000; u++) {
			const gb_row *r = &p->units[u];
			bool first = true;
			double norm2 = 0;
			for (int k = 0; k < r->n; k++) {
				first = first && r->idx[k] < n;
				norm2 += r->w[k] * r->w[k];
			}
			if (!first || norm2 == 0)
				continue;
			for (int t = 0; t < 3; t++) {
				float *x = points_add(P);
				if (!x)
					goto nomem;
				for (int64_t j = 0; j < n; j++)
					x[j] = lo + (hi - lo) * (float)gb_rng_uniform(&rng);
				double z = r->b;
				for (int k = 0; k < r->n; k++)
					z += r->w[k] * x[r->idx[k]];
				double shift = (t - 1) * 1e-3 * sqrt(norm2); /* on, just below, just above */
				for (int k = 0; k < r->n; k++) {
					double v = x[r->idx[k]] - (z - shift) * r->w[k] / norm2;
					x[r->idx[k]] = (float)fmin(fmax(v, lo), hi);
				}
			}
		}
	}
	if (d->data) {
		int64_t per = d->data->ndim > 0 ? gb_tensor_numel(d->data) / (d->data->dims[0] ? d->data->dims[0] : 1) : 0;
		if (p->n_inputs != 1 || per != n || d->data->dtype != GB_DTYPE_F32)
			return gb_fail(err, GB_STATUS_BAD_FILE,
			               "decompile: the data is %s with %lld features per example; the network takes one float32 input of %lld",
			               gb_dtype_name(d->data->dtype), (long long)per, (long long)n);
		if (!points_reserve(P, d->data->dims[0]))
			goto nomem;
		memcpy(P->x + P->n * n, d->data->data, (size_t)(d->data->dims[0] * n) * sizeof(float));
		P->n += d->data->dims[0];
	}
	if (P->n == 0)
		return gb_fail(err, GB_STATUS_USAGE, "decompile: no points to check the program on");
	return GB_OK;
nomem:
	return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory for the check points");
}

/* Input i of a batch of points as a tensor [rows, ...shape]. */
static gb_status batch_input(const gb_pwl *p, int i, const float *x, int64_t rows, gb_tensor **out, gb_error *err)
{
	const gb_pwl_io *io = &p->inputs[i];
	int64_t dims[GB_MAX_DIMS + 1];
	dims[0] = rows;
	memcpy(dims + 1, io->dims, (size_t)io->ndim * sizeof *dims);
	gb_status st = gb_tensor_new(GB_DTYPE_F32, io->ndim + 1, dims, out, err);
	if (st != GB_OK)
		return st;
	float *d = (*out)->data;
	for (int64_t r = 0; r < rows; r++)
		memcpy(d + r * io->size, x + r * p->n_in + io->offset, (size_t)io->size * sizeof *d);
	return GB_OK;
}

gb_status gb_dc_points(const gb_pwl *p, const gb_decompile_options *opt, uint64_t seed, float **x, int64_t *n,
                       const char **method, gb_error *err)
{
	points P = {0};
	gb_status st = fill_points(p, opt, seed, &P, method, err);
	if (st != GB_OK) {
		free(P.x);
		return st;
	}
	*x = P.x;
	*n = P.n;
	return GB_OK;
}

gb_status gb_dc_network_outputs(gb_model *m, const gb_pwl *p, const float *x, int64_t n, float **y, gb_error *err)
{
	gb_session *s = NULL;
	gb_tensor *ins[64] = {0};
	*y = malloc((size_t)(n * p->n_out + 1) * sizeof **y);
	gb_status st = *y ? gb_session_new(m, &s, err) : gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	/* a network exported with a fixed batch of 1 (PyTorch's default without
	 * dynamic axes; lowering refuses larger fixed batches) runs row by row */
	int64_t batch = BATCH;
	for (int i = 0; i < m->n_inputs; i++) {
		const gb_value *v = &m->values[m->inputs[i]];
		if (v->ndim > 0 && v->dims[0] > 0)
			batch = v->dims[0];
	}
	for (int64_t start = 0; st == GB_OK && start < n; start += batch) {
		int64_t rows = n - start < batch ? n - start : batch;
		for (int i = 0; i < p->n_inputs && st == GB_OK; i++) {
			gb_tensor_free(ins[i]);
			ins[i] = NULL;
			st = batch_input(p, i, x + start * p->n_in, rows, &ins[i], err);
			if (st == GB_OK)
				st = gb_session_set_input(s, i, ins[i], err);
		}
		if (st == GB_OK)
			st = gb_session_forward(s, err);
		for (int i = 0; st == GB_OK && i < p->n_outputs; i++) {
			const gb_tensor *t = gb_session_output(s, i);
			const gb_pwl_io *io = &p->outputs[i];
			if (t->dtype != GB_DTYPE_F32 || gb_tensor_numel(t) != rows * io->size) {
				st = gb_fail(err, GB_STATUS_FAILURE, "decompile: the network's output %d has an unexpected shape", i);
				break;
			}
			for (int64_t r = 0; r < rows; r++)
				memcpy(*y + (start + r) * p->n_out + io->offset, (const float *)t->data + r * io->size,
				       (size_t)io->size * sizeof **y);
		}
	}
	for (int i = 0; i < 64; i++)
		gb_tensor_free(ins[i]);
	gb_session_free(s);
	if (st != GB_OK) {
		free(*y);
		*y = NULL;
	}
	return st;
}

/* The program and the network on the points P: fid's samples and errors. */
static gb_status measure(gb_model *m, const gb_pwl *p, const gb_ast *program, gb_tensor_map *weights, const points *P,
                         gb_fidelity *fid, gb_error *err)
{
	gb_tensor *ins[64] = {0};
	gb_tensor_map *outs = NULL;
	float *net = NULL;
	gb_status st = gb_dc_network_outputs(m, p, P->x, P->n, &net, err);
	double sum = 0, worst = 0;
	int64_t agree = 0, count = 0;
	for (int64_t start = 0; st == GB_OK && start < P->n; start += BATCH) {
		int64_t rows = P->n - start < BATCH ? P->n - start : BATCH;
		for (int i = 0; i < p->n_inputs && st == GB_OK; i++) {
			gb_tensor_free(ins[i]);
			ins[i] = NULL;
			st = batch_input(p, i, P->x + start * p->n_in, rows, &ins[i], err);
		}
		gb_tensor_map_free(outs);
		outs = NULL;
		if (st == GB_OK)
			st = gb_tensor_map_new(&outs, err);
		if (st == GB_OK)
			st = gb_ast_run_weights(program, weights, (const gb_tensor *const *)ins, p->n_inputs, outs, err);
		for (int i = 0; st == GB_OK && i < p->n_outputs; i++) {
			const gb_tensor *z = i < gb_tensor_map_count(outs) ? gb_tensor_map_at(outs, i) : NULL;
			int64_t size = p->outputs[i].size;
			if (!z || z->dtype != GB_DTYPE_F32 || gb_tensor_numel(z) != rows * size) {
				st = gb_fail(err, GB_STATUS_FAILURE, "decompile: the program's output %d does not have the network's shape", i);
				break;
			}
			const float *zd = z->data;
			for (int64_t r = 0; r < rows; r++) {
				const float *yd = net + (start + r) * p->n_out + p->outputs[i].offset;
				int64_t ay = 0, az = 0;
				for (int64_t e = 0; e < size; e++) {
					double a = yd[e], b = zd[r * size + e];
					double diff = fabs(a - b);
					if (!(diff == diff) || (isinf(a) && a != b))
						diff = INFINITY; /* a NaN or an infinity on one side only */
					else if (isinf(a))
						diff = 0;
					worst = diff > worst ? diff : worst;
					sum += diff;
					if (yd[e] > yd[ay])
						ay = e;
					if (zd[r * size + e] > zd[r * size + az])
						az = e;
				}
				if (i == 0)
					agree += ay == az;
			}
			count += rows * size;
		}
	}
	if (st == GB_OK) {
		fid->samples = P->n;
		fid->max_abs_error = worst;
		fid->mean_abs_error = count ? sum / (double)count : 0;
		fid->argmax_agreement = P->n ? (double)agree / (double)P->n : 1.0;
	}
	for (int i = 0; i < 64; i++)
		gb_tensor_free(ins[i]);
	gb_tensor_map_free(outs);
	free(net);
	return st;
}

gb_status gb_dc_verify(gb_model *m, const gb_pwl *p, const gb_ast *program, gb_tensor_map *weights,
                       const gb_decompile_options *opt, gb_fidelity *fid, gb_error *err)
{
	points P = {0};
	memset(fid, 0, sizeof *fid);
	fid->tolerance = opt->tolerance;
	gb_status st = fill_points(p, opt, opt->seed + 1, &P, &fid->method, err);
	if (st == GB_OK)
		st = measure(m, p, program, weights, &P, fid, err);
	free(P.x);
	return st;
}

/* ---- the proof on a box ------------------------------------------------------------------- */

gb_status gb_dc_certify(gb_model *m, const gb_ast *program, gb_tensor_map *weights, const gb_decompile_options *opt,
                        gb_fidelity *fid, gb_error *err)
{
	if (opt->domain.kind != GB_DOMAIN_BOX || opt->agreement > 0 || !(fid->max_abs_error <= opt->tolerance))
		return GB_OK;
	gb_pwl *a = NULL, *b = NULL;
	gb_model *net = NULL;
	double *lo = NULL, *bound = NULL;
	points P = {0};
	gb_error e2 = {0};
	fid->certify_tried = true;
	/* too many input features is known from the declared shapes: no lowering for that */
	int64_t features = 0; /* dynamic axes count 0: lowering judges those */
	for (int i = 0; i < m->n_inputs && features <= GB_DC_CERTIFY_MAX_INPUTS; i++) {
		const gb_value *v = &m->values[m->inputs[i]];
		int64_t per = 1;
		for (int k = 1; k < v->ndim && per > 0 && per <= GB_DC_CERTIFY_MAX_INPUTS; k++)
			per = v->dims[k] < 0 ? 0 : per * v->dims[k];
		features += per;
	}
	if (features > GB_DC_CERTIFY_MAX_INPUTS) {
		fid->certify_reason = "too_large";
		return GB_OK;
	}
	gb_status st = gb_pwl_lower(m, &a, &e2);
	if (st != GB_OK) { /* a network written as its own layers: nothing to propagate bounds through */
		if (st == GB_STATUS_NOMEM)
			st = gb_fail(err, st, "%s", e2.msg);
		else
			fid->certify_reason = "not_piecewise_linear", st = GB_OK;
		goto done;
	}
	bool softmax = false;
	for (int i = 0; i < a->n_outputs; i++)
		softmax = softmax || a->outputs[i].softmax;
	if (a->n_in > GB_DC_CERTIFY_MAX_INPUTS || a->n_units > CERTIFY_MAX_UNITS) {
		fid->certify_reason = "too_large";
		goto done;
	}
	if (softmax) { /* the rows are logits: a bound on them is not one on the probabilities */
		fid->certify_reason = "softmax";
		goto done;
	}
	gb_status cs = gb_ast_compile_weights(program, weights, false, &net, &e2);
	if (cs == GB_OK)
		cs = gb_pwl_lower(net, &b, &e2);
	if (cs == GB_STATUS_NOMEM) {
		st = gb_fail(err, cs, "%s", e2.msg);
		goto done;
	}
	if (cs != GB_OK || b->n_in != a->n_in || b->n_out != a->n_out) {
		fid->certify_reason = "no_roundtrip";
		goto done;
	}
	if (a->n_units + b->n_units > CERTIFY_MAX_UNITS) {
		fid->certify_reason = "too_large";
		goto done;
	}
	/* lo, hi: the box; ra, rb: float32 rounding of each DAG per output; bound: the proof's */
	int64_t n = a->n_in, n_out = a->n_out;
	lo = malloc((size_t)(2 * n + 3 * n_out + 1) * sizeof *lo);
	if (!lo) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	double *hi = lo + n, *ra = hi + n, *rb = ra + n_out;
	bound = rb + n_out;
	for (int64_t j = 0; j < n; j++) {
		lo[j] = opt->domain.lo;
		hi[j] = opt->domain.hi;
	}
	gb_pwl_rounding_f32(a, lo, hi, ra);
	gb_pwl_rounding_f32(b, lo, hi, rb);
	/* the proof is on the DAGs in exact arithmetic; the budget goes on
	 * tightening the bound to a hundredth of the tolerance */
	gb_certify_options co = {.target = opt->tolerance, .aim = 1e-2 * opt->tolerance,
	                         .max_boxes = CERTIFY_BOXES, .max_work = CERTIFY_WORK};
	gb_certify_result res;
	float *wx = fid->counterexample_x;
	if ((st = gb_pwl_certify(a, b, lo, hi, &co, &res, bound, wx, err)) != GB_OK)
		goto done;
	fid->certified_boxes = res.boxes;
	for (int64_t o = 0; o < n_out; o++)
		fid->certified_rounding = fmax(fid->certified_rounding, ra[o] + rb[o]);
	if (res.certified) {
		fid->method = "certified";
		fid->certified_bound = res.bound;
		goto done;
	}
	fid->certify_reason = res.reason;
	if (strcmp(res.reason, "counterexample") != 0)
		goto done;
	/* a point where the DAGs differ by more than the tolerance: does the
	 * program, run as the check runs it, differ there? */
	gb_fidelity there = {0};
	P.dim = n;
	float *x = points_add(&P);
	if (!x) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	memcpy(x, wx, (size_t)n * sizeof *x);
	if ((st = measure(m, a, program, weights, &P, &there, err)) != GB_OK)
		goto done;
	if (there.max_abs_error > opt->tolerance) {
		fid->counterexample = true;
		fid->counterexample_n = n;
		fid->counterexample_error = there.max_abs_error;
		/* one more point checked */
		fid->mean_abs_error = (fid->mean_abs_error * (double)fid->samples + there.mean_abs_error) /
		                      (double)(fid->samples + 1);
		fid->argmax_agreement = (fid->argmax_agreement * (double)fid->samples + there.argmax_agreement) /
		                        (double)(fid->samples + 1);
		fid->samples++;
		fid->max_abs_error = fmax(fid->max_abs_error, there.max_abs_error);
	} else {
		fid->certify_reason = "budget"; /* within it in float32 after all: not proven either way */
	}
done:
	free(P.x);
	free(lo);
	gb_model_free(net);
	gb_pwl_free(a);
	gb_pwl_free(b);
	return st;
}
