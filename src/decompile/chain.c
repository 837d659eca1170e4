/*
 * chain.c — a ReLU DAG written as a plain chain of dense layers (pwl.h,
 * gb_pwl_to_chain), the form `glassbox disguise` rewrites and a trained MLP
 * has.
 *
 * Layer d holds the units of depth d and carries forward whatever a later
 * layer or the output reads from before it: a unit's value h >= 0 passes
 * through one more unit as relu(h) = h, an input feature x through the pair
 * relu(x), relu(-x) (x = relu(x) - relu(-x)). Every layer is a Gemm
 * (transB 1, bias) followed by a Relu; the last Gemm gives the outputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../exec/ops.h"
#include "pwl.h"

/* How a source is read in the current layer: node pos (and node neg for an
 * input feature, whose value is pos - neg); pos < 0: not available. */
typedef struct carrier {
	int64_t pos, neg;
} carrier;

typedef struct layer {
	int64_t n;      /* nodes */
	float *w;       /* [n, n_prev] */
	float *b;       /* [n] */
} layer;

static gb_status add_gemm(gb_model *m, int k, int in, int64_t n_prev, const layer *L, bool relu, const char *out_name,
                          int *out, gb_error *err)
{
	char name[64], wname[64], bname[64];
	snprintf(wname, sizeof wname, "layer%d.weight", k);
	snprintf(bname, sizeof bname, "layer%d.bias", k);
	int64_t wd[2] = {L->n, n_prev}, bd[1] = {L->n};
	int wv = gb_model_add_value(m, wname, GB_DTYPE_F32, 2, wd);
	int bv = gb_model_add_value(m, bname, GB_DTYPE_F32, 1, bd);
	if (wv < 0 || bv < 0)
		return gb_fail(err, GB_STATUS_NOMEM, "chain: out of memory");
	gb_tensor tw = {.dtype = GB_DTYPE_F32, .ndim = 2, .dims = {L->n, n_prev}, .data = L->w};
	gb_tensor tb = {.dtype = GB_DTYPE_F32, .ndim = 1, .dims = {L->n}, .data = L->b};
	gb_status st = gb_model_set_init(m, wv, &tw, err);
	if (st == GB_OK)
		st = gb_model_set_init(m, bv, &tb, err);
	if (st != GB_OK)
		return st;
	int64_t dims[2] = {-1, L->n};
	snprintf(name, sizeof name, "fc%d", k);
	int z = gb_model_add_value(m, relu || !out_name ? name : out_name, GB_DTYPE_F32, 2, dims);
	if (z < 0)
		return gb_fail(err, GB_STATUS_NOMEM, "chain: out of memory");
	int ins[3] = {in, wv, bv};
	int node = gb_model_add_node(m, name, "Gemm", "", 3, ins, 1, &z);
	if (node < 0)
		return gb_fail(err, GB_STATUS_NOMEM, "chain: out of memory");
	gb_attr tb1 = {.name = "transB", .type = GB_ATTR_INT, .i = 1};
	if ((st = gb_node_add_attr(m, &m->nodes[node], &tb1, err)) != GB_OK)
		return st;
	*out = z;
	if (!relu)
		return GB_OK;
	snprintf(name, sizeof name, "hidden%d", k);
	int h = gb_model_add_value(m, name, GB_DTYPE_F32, 2, dims);
	snprintf(name, sizeof name, "relu%d", k);
	if (h < 0 || gb_model_add_node(m, name, "Relu", "", 1, &z, 1, &h) < 0)
		return gb_fail(err, GB_STATUS_NOMEM, "chain: out of memory");
	*out = h;
	return GB_OK;
}

gb_status gb_pwl_to_chain(const gb_pwl *p, gb_model **out, gb_error *err)
{
	*out = NULL;
	int64_t width = p->n_in + p->n_units;
	int *depth = calloc((size_t)(p->n_units + 1), sizeof *depth);
	int *need = calloc((size_t)(width + 1), sizeof *need); /* the deepest layer (outputs: D + 1) reading a source */
	carrier *cur = malloc((size_t)(width + 1) * sizeof *cur), *next = malloc((size_t)(width + 1) * sizeof *next);
	layer L = {0};
	gb_model *m = NULL;
	gb_status st = GB_OK;
	if (!depth || !need || !cur || !next) {
		st = gb_fail(err, GB_STATUS_NOMEM, "chain: out of memory");
		goto done;
	}
	gb_pwl_depths(p, depth);
	int D = 0;
	for (int64_t u = 0; u < p->n_units; u++)
		D = depth[u] > D ? depth[u] : D;
	for (int64_t r = 0; r < p->n_units + p->n_out; r++) {
		const gb_row *row = r < p->n_units ? &p->units[r] : &p->outs[r - p->n_units];
		int d = r < p->n_units ? depth[r] : D + 1;
		for (int k = 0; k < row->n; k++)
			need[row->idx[k]] = need[row->idx[k]] > d ? need[row->idx[k]] : d;
	}
	if ((st = gb_model_new_empty("chain", &m, err)) != GB_OK)
		goto done;
	m->opset = 13;
	const char *in_name = p->n_inputs == 1 ? p->inputs[0].name : "x";
	const char *out_name = p->n_outputs == 1 ? p->outputs[0].name : "y";
	if (strcmp(out_name, in_name) == 0 || strncmp(out_name, "fc", 2) == 0 || strncmp(out_name, "hidden", 6) == 0 ||
	    strncmp(out_name, "layer", 5) == 0)
		out_name = strcmp(in_name, "y") == 0 ? "output" : "y";
	int64_t xd[2] = {-1, p->n_in}, yd[2] = {-1, p->n_out};
	int x = gb_model_add_value(m, in_name, GB_DTYPE_F32, 2, xd);
	if (x < 0) {
		st = gb_fail(err, GB_STATUS_NOMEM, "chain: out of memory");
		goto done;
	}
	m->values[x].dim_param[0] = "N";
	for (int64_t s = 0; s < width; s++)
		cur[s] = (carrier){s < p->n_in ? s : -1, -1}; /* layer 0: the input itself */
	int64_t n_prev = p->n_in;
	int prev = x;
	for (int d = 1; d <= D + 1 && st == GB_OK; d++) {
		bool last = d == D + 1;
		/* this layer's nodes */
		int64_t n = 0;
		if (last)
			n = p->n_out;
		else
			for (int64_t s = 0; s < width; s++) {
				bool unit_here = s >= p->n_in && depth[s - p->n_in] == d;
				bool carried = need[s] > d && cur[s].pos >= 0;
				next[s] = (carrier){-1, -1};
				if (unit_here || (carried && s >= p->n_in))
					next[s].pos = n++;
				else if (carried) {
					next[s].pos = n++;
					next[s].neg = n++;
				}
			}
		free(L.w);
		free(L.b);
		L.n = n;
		L.w = calloc((size_t)(n * n_prev + 1), sizeof *L.w);
		L.b = calloc((size_t)(n + 1), sizeof *L.b);
		if (!L.w || !L.b) {
			st = gb_fail(err, GB_STATUS_NOMEM, "chain: out of memory");
			break;
		}
		/* w[node, prev] += c * (value of source s in the previous layer) */
#define READ(node, s, c)                                                                     \
	do {                                                                                     \
		L.w[(node) * n_prev + cur[s].pos] += (float)(c);                                     \
		if (cur[s].neg >= 0)                                                                 \
			L.w[(node) * n_prev + cur[s].neg] -= (float)(c);                                 \
	} while (0)
		for (int64_t s = 0; s < width && !last; s++) {
			if (next[s].pos < 0)
				continue;
			if (s >= p->n_in && depth[s - p->n_in] == d) { /* a unit of this depth */
				const gb_row *row = &p->units[s - p->n_in];
				for (int k = 0; k < row->n; k++)
					READ(next[s].pos, row->idx[k], row->w[k]);
				L.b[next[s].pos] = (float)row->b;
			} else { /* carried: relu(v), and relu(-v) for an input */
				READ(next[s].pos, s, 1.0);
				if (next[s].neg >= 0)
					READ(next[s].neg, s, -1.0);
			}
		}
		for (int64_t o = 0; o < p->n_out && last; o++) {
			const gb_row *row = &p->outs[o];
			for (int k = 0; k < row->n; k++)
				READ(o, row->idx[k], row->w[k]);
			L.b[o] = (float)row->b;
		}
#undef READ
		int h = -1;
		st = add_gemm(m, d, prev, n_prev, &L, !last, last ? out_name : NULL, &h, err);
		prev = h;
		n_prev = n;
		if (!last)
			memcpy(cur, next, (size_t)width * sizeof *cur);
	}
	if (st == GB_OK) {
		m->values[prev].dims[1] = yd[1];
		m->values[prev].dim_param[0] = "N";
		st = gb_model_set_io(m, 1, &x, 1, &prev, err);
	}
	if (st == GB_OK)
		st = gb_model_prepare(m, err);
done:
	free(depth);
	free(need);
	free(cur);
	free(next);
	free(L.w);
	free(L.b);
	if (st != GB_OK) {
		gb_model_free(m);
		return st;
	}
	*out = m;
	return GB_OK;
}
