/*
 * testutil.h — helpers shared by the unit tests (header-only, static):
 *
 *   tu_tensor(dtype, ndim, dims, values)  a new tensor (values may be NULL)
 *   tu_random(ndim, dims, lo, hi, seed)   float32 uniform in [lo, hi)
 *   tu_single(op, n_in, ins, consts, n_out, attrs, n_attrs)
 *                                         a one-node model: ins[k] become graph
 *                                         inputs, or initializers where consts[k]
 *                                         is set; NULL ins[k] = omitted input
 *   tu_single_opset(opset, op, …)         the same with m->opset set before the
 *                                         ops' prepare runs (tu_single leaves 0)
 *   tu_run(m, ins, consts, outs)          forward; outs[k] borrowed from the session
 *   tu_gradcheck(m, ins, consts, eps, atol, rtol)
 *                                         checks backward against central finite
 *                                         differences of L = sum_k sum(R_k ⊙ Y_k)
 *                                         for random R_k, for every element of every
 *                                         float32 input and initializer; losses and
 *                                         differences are accumulated in float64.
 *                                         Returns the number of mismatches (0 = ok)
 *                                         and prints the first few.
 *   tu_close(a, b, n, atol, rtol)         elementwise |a-b| <= atol + rtol*|b|
 *
 * Memory: tensors from tu_tensor/tu_random are freed with gb_tensor_free;
 * models with gb_model_free.
 */
#ifndef GB_TESTUTIL_H
#define GB_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glassbox.h"
#include "exec/ops.h"

static inline gb_tensor *tu_tensor(gb_dtype dtype, int ndim, const int64_t *dims, const void *values)
{
	gb_tensor *t = NULL;
	gb_error err = {0};
	if (gb_tensor_new(dtype, ndim, dims, &t, &err) != GB_OK) {
		fprintf(stderr, "tu_tensor: %s\n", err.msg);
		abort();
	}
	if (values)
		memcpy(t->data, values, (size_t)gb_tensor_numel(t) * gb_dtype_size(dtype));
	return t;
}

/* xorshift64*: deterministic across platforms. */
static inline double tu_uniform(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static inline gb_tensor *tu_random(int ndim, const int64_t *dims, float lo, float hi, uint64_t seed)
{
	gb_tensor *t = tu_tensor(GB_DTYPE_F32, ndim, dims, NULL);
	uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
	float *d = t->data;
	for (int64_t i = 0; i < gb_tensor_numel(t); i++)
		d[i] = lo + (hi - lo) * (float)tu_uniform(&state);
	return t;
}

static inline gb_model *tu_single_opset(int64_t opset, const char *op, int n_in, const gb_tensor *const *ins,
                                        const int *consts, int n_out, const gb_attr *attrs, int n_attrs,
                                        gb_error *err)
{
	gb_model *m = NULL;
	if (gb_model_new_empty("test", &m, err) != GB_OK)
		return NULL;
	m->opset = opset;
	int in_ids[16], out_ids[16], graph_in[16], n_graph_in = 0;
	for (int k = 0; k < n_in; k++) {
		if (!ins[k]) {
			in_ids[k] = -1;
			continue;
		}
		char name[32];
		snprintf(name, sizeof name, "in%d", k);
		in_ids[k] = gb_model_add_value(m, name, ins[k]->dtype, ins[k]->ndim, ins[k]->dims);
		if (consts && consts[k]) {
			if (gb_model_set_init(m, in_ids[k], ins[k], err) != GB_OK)
				goto fail;
		} else {
			graph_in[n_graph_in++] = in_ids[k];
		}
	}
	for (int k = 0; k < n_out; k++) {
		char name[32];
		snprintf(name, sizeof name, "out%d", k);
		out_ids[k] = gb_model_add_value(m, name, GB_DTYPE_F32, -1, NULL);
	}
	int node = gb_model_add_node(m, "node", op, "", n_in, in_ids, n_out, out_ids);
	for (int a = 0; a < n_attrs; a++)
		if (gb_node_add_attr(m, &m->nodes[node], &attrs[a], err) != GB_OK)
			goto fail;
	if (gb_model_set_io(m, n_graph_in, graph_in, n_out, out_ids, err) != GB_OK)
		goto fail;
	if (gb_model_prepare(m, err) != GB_OK)
		goto fail;
	return m;
fail:
	gb_model_free(m);
	return NULL;
}

static inline gb_model *tu_single(const char *op, int n_in, const gb_tensor *const *ins, const int *consts,
                                  int n_out, const gb_attr *attrs, int n_attrs, gb_error *err)
{
	return tu_single_opset(0, op, n_in, ins, consts, n_out, attrs, n_attrs, err);
}

/* Sets the graph inputs (the non-const, non-NULL ins, in order). */
static inline gb_status tu_set_inputs(gb_session *s, int n_in, const gb_tensor *const *ins, const int *consts,
                                      gb_error *err)
{
	int i = 0;
	for (int k = 0; k < n_in; k++) {
		if (!ins[k] || (consts && consts[k]))
			continue;
		gb_status st = gb_session_set_input(s, i++, ins[k], err);
		if (st != GB_OK)
			return st;
	}
	return GB_OK;
}

/* One forward pass; copies of the outputs go to outs[k] (caller frees). */
static inline gb_status tu_run(const gb_model *m, int n_in, const gb_tensor *const *ins, const int *consts,
                               gb_tensor **outs, gb_error *err)
{
	gb_session *s = NULL;
	gb_status st = gb_session_new(m, &s, err);
	if (st == GB_OK)
		st = tu_set_inputs(s, n_in, ins, consts, err);
	if (st == GB_OK)
		st = gb_session_forward(s, err);
	for (int k = 0; st == GB_OK && k < gb_model_n_outputs(m); k++)
		st = gb_tensor_clone(gb_session_output(s, k), &outs[k], err);
	gb_session_free(s);
	return st;
}

static inline int tu_close(const float *a, const float *b, int64_t n, double atol, double rtol)
{
	int bad = 0;
	for (int64_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		if (!(d <= atol + rtol * fabs((double)b[i]))) {
			if (bad < 5)
				fprintf(stderr, "  mismatch at %lld: got %.8g want %.8g\n", (long long)i, (double)a[i],
				        (double)b[i]);
			bad++;
		}
	}
	return bad;
}

/* L = sum over float outputs of sum(R ⊙ Y), in float64. */
static inline double tu_loss(gb_session *s, int n_out, gb_tensor *const *seeds)
{
	double loss = 0.0;
	for (int k = 0; k < n_out; k++) {
		const gb_tensor *y = gb_session_output(s, k);
		if (!seeds[k] || y->dtype != GB_DTYPE_F32)
			continue;
		const float *yd = y->data, *rd = seeds[k]->data;
		for (int64_t i = 0; i < gb_tensor_numel(y); i++)
			loss += (double)yd[i] * (double)rd[i];
	}
	return loss;
}

static inline int tu_gradcheck(const gb_model *m, int n_in, gb_tensor *const *ins, const int *consts, double eps,
                               double atol, double rtol)
{
	gb_error err = {0};
	gb_session *s = NULL;
	int bad = 0, n_out = gb_model_n_outputs(m);
	gb_tensor *seeds[16] = {0};
	double *analytics[16] = {0};
	if (gb_session_new(m, &s, &err) != GB_OK || tu_set_inputs(s, n_in, (const gb_tensor *const *)ins, consts, &err) ||
	    gb_session_forward(s, &err) != GB_OK) {
		fprintf(stderr, "gradcheck: %s\n", err.msg);
		gb_session_free(s);
		return 1;
	}
	for (int k = 0; k < n_out; k++) {
		const gb_tensor *y = gb_session_output(s, k);
		if (y->dtype == GB_DTYPE_F32)
			seeds[k] = tu_random(y->ndim, y->dims, -1.0f, 1.0f, 1000u + (uint64_t)k);
	}
	if (gb_session_backward(s, (const gb_tensor *const *)seeds, &err) != GB_OK) {
		fprintf(stderr, "gradcheck: backward: %s\n", err.msg);
		bad = 1;
		goto done;
	}
	/* Copy all analytic gradients first: the forward passes below invalidate them. */
	for (int k = 0; k < n_in; k++) {
		if (!ins[k] || ins[k]->dtype != GB_DTYPE_F32)
			continue;
		/* Graph inputs go by their declared names (any model); initializers
		 * by tu_single's "in<k>". */
		int input_index = 0;
		for (int j = 0; j < k; j++)
			if (ins[j] && !(consts && consts[j]))
				input_index++;
		char name[64];
		if (consts && consts[k]) {
			snprintf(name, sizeof name, "in%d", k);
		} else {
			gb_value_info info;
			gb_model_input(m, input_index, &info);
			snprintf(name, sizeof name, "%s", info.name);
		}
		const gb_tensor *g = gb_session_grad(s, name);
		int64_t n = gb_tensor_numel(ins[k]);
		analytics[k] = calloc((size_t)(n ? n : 1), sizeof(double));
		for (int64_t i = 0; g && i < n; i++)
			analytics[k][i] = ((const float *)g->data)[i];
	}
	for (int k = 0; k < n_in; k++) {
		if (!ins[k] || ins[k]->dtype != GB_DTYPE_F32)
			continue;
		char name[32];
		snprintf(name, sizeof name, "in%d", k);
		int64_t n = gb_tensor_numel(ins[k]);
		double *analytic = analytics[k];
		int input_index = 0;
		for (int j = 0; j < k; j++)
			if (ins[j] && !(consts && consts[j]))
				input_index++;
		/* An initializer is perturbed in the model itself; an input through set_input. */
		float *x = (consts && consts[k]) ? (float *)m->values[gb_model_find_value(m, name)].init->data
		                                 : (float *)ins[k]->data;
		for (int64_t i = 0; i < n; i++) {
			float orig = x[i];
			double h = eps * (fabs((double)orig) > 1.0 ? fabs((double)orig) : 1.0);
			double lp, lm;
			x[i] = (float)((double)orig + h);
			double hp = (double)x[i] - (double)orig;
			if (!(consts && consts[k]))
				gb_session_set_input(s, input_index, ins[k], &err);
			gb_session_forward(s, &err);
			lp = tu_loss(s, n_out, seeds);
			x[i] = (float)((double)orig - h);
			double hm = (double)orig - (double)x[i];
			if (!(consts && consts[k]))
				gb_session_set_input(s, input_index, ins[k], &err);
			gb_session_forward(s, &err);
			lm = tu_loss(s, n_out, seeds);
			x[i] = orig;
			double numeric = (lp - lm) / (hp + hm);
			double d = fabs(numeric - analytic[i]);
			if (!(d <= atol + rtol * fmax(fabs(numeric), fabs(analytic[i])))) {
				if (bad < 5)
					fprintf(stderr, "  grad mismatch %s[%lld]: analytic %.6g numeric %.6g\n", name, (long long)i,
					        analytic[i], numeric);
				bad++;
			}
		}
		if (!(consts && consts[k]))
			gb_session_set_input(s, input_index, ins[k], &err);
	}
done:
	for (int k = 0; k < n_in; k++)
		free(analytics[k]);
	for (int k = 0; k < n_out; k++)
		gb_tensor_free(seeds[k]);
	gb_session_free(s);
	return bad;
}

#endif /* GB_TESTUTIL_H */
