/*
 * lower.c — a network into its ReLU DAG (pwl.h).
 *
 * The graph is evaluated symbolically for one example: every value on a
 * path from the inputs is an array of affine rows over the DAG's sources,
 * every other value is a constant. Nothing about an operator's semantics is
 * restated here; the engine itself is asked, on small one-node graphs:
 *
 *  - a first forward pass of the whole network on one example gives every
 *    value's shape and every constant (shape computations, indices, folded
 *    weights) exactly as the engine sees them;
 *  - data movement (Reshape, Transpose, Slice, Gather, Concat, Pad, ...) is
 *    run on element ids (input element k holds the float k + 1), so each
 *    output element names the input element it came from;
 *  - linear operators (Gemm, MatMul, Conv, Add, Mul by a constant, batch
 *    norm, average pooling, ...) are run on a batch with one copy per
 *    output element: a forward pass at zero gives the constant term and one
 *    backward pass with one-hot seeds gives the whole Jacobian, so row i of
 *    the output is f(0)_i + sum_j J[i, j] * row(input_j).
 *
 * Piecewise-linear operators become units: relu(z) is a unit, and the rest
 * are written with it (max(a, b) = a + relu(b - a), min(a, b) = a - relu(a - b),
 * |z| = relu(z) + relu(-z), clip, leaky relu, max pooling).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../exec/ops.h"
#include "pwl.h"

#define MAX_SOURCES ((int64_t)1 << 30)
#define MAX_IDS ((int64_t)1 << 24) /* element ids must be exact in float32 */

typedef enum sym_kind { SYM_NONE = 0, SYM_CONST, SYM_AFFINE } sym_kind;

typedef struct sym {
	sym_kind kind;
	int64_t n;    /* elements (one example) */
	gb_row *rows; /* SYM_AFFINE: n rows */
} sym;

typedef struct lower {
	gb_model *m;
	gb_session *run; /* the network on one example */
	gb_pwl *p;
	sym *syms; /* one per value */
	unsigned char *softmax; /* per value: GB_PWL_SOFTMAX / GB_PWL_LOG_SOFTMAX of its rows, for a graph output */
	gb_error *err;
} lower;

static gb_status nomem(lower *L)
{
	return gb_fail(L->err, GB_STATUS_NOMEM, "%s: decompile: out of memory", L->m->label);
}

static void sym_clear(sym *s)
{
	if (s->rows)
		for (int64_t i = 0; i < s->n; i++)
			gb_row_free(&s->rows[i]);
	free(s->rows);
	memset(s, 0, sizeof *s);
}

static gb_status sym_affine(lower *L, sym *s, int64_t n)
{
	s->kind = SYM_AFFINE;
	s->n = n;
	s->rows = calloc((size_t)(n ? n : 1), sizeof *s->rows);
	return s->rows ? GB_OK : nomem(L);
}

/* The value's data for the one-example run (constants and shapes). */
static const gb_tensor *concrete(lower *L, int v)
{
	if (v < 0)
		return NULL;
	if (L->m->values[v].init)
		return L->m->values[v].init;
	return gb_session_value(L->run, L->m->values[v].name);
}

static gb_status unsupported(lower *L, const gb_node *node, const char *why)
{
	return gb_node_error(L->err, L->m, node, GB_STATUS_UNSUPPORTED, "%s", why);
}

/* ---- one-node graphs ------------------------------------------------------------- */

/* A model holding only node's op with node's attributes. Input k is a graph
 * input of the given tensor's dtype and shape when feed[k] (batch axis
 * dynamic when rep), else an initializer holding consts[k]. */
static gb_status single_new(lower *L, const gb_node *node, const gb_tensor *const *ins, const bool *feed,
                            bool rep, gb_model **out)
{
	gb_model *m = NULL;
	gb_status st = gb_model_new_empty(L->m->label, &m, L->err);
	if (st != GB_OK)
		return st;
	m->opset = L->m->opset;
	int in_ids[64], out_ids[64], graph_in[64], n_graph_in = 0;
	if (node->n_inputs > 64 || node->n_outputs > 64) {
		gb_model_free(m);
		return unsupported(L, node, "more than 64 inputs or outputs");
	}
	for (int k = 0; k < node->n_inputs; k++) {
		in_ids[k] = -1;
		if (!ins[k])
			continue;
		char name[32];
		snprintf(name, sizeof name, "in%d", k);
		int64_t dims[GB_MAX_DIMS];
		memcpy(dims, ins[k]->dims, sizeof dims);
		if (feed[k] && rep && ins[k]->ndim > 0)
			dims[0] = -1;
		in_ids[k] = gb_model_add_value(m, name, ins[k]->dtype, ins[k]->ndim, dims);
		if (in_ids[k] < 0)
			goto nomem;
		if (feed[k])
			graph_in[n_graph_in++] = in_ids[k];
		else if ((st = gb_model_set_init(m, in_ids[k], ins[k], L->err)) != GB_OK)
			goto fail;
	}
	for (int k = 0; k < node->n_outputs; k++) {
		char name[32];
		snprintf(name, sizeof name, "out%d", k);
		out_ids[k] = gb_model_add_value(m, name, GB_DTYPE_F32, -1, NULL);
		if (out_ids[k] < 0)
			goto nomem;
	}
	int ni = gb_model_add_node(m, node->name, node->op_type, node->domain, node->n_inputs, in_ids, node->n_outputs,
	                           out_ids);
	if (ni < 0)
		goto nomem;
	for (int a = 0; a < node->n_attrs; a++)
		if ((st = gb_node_add_attr(m, &m->nodes[ni], &node->attrs[a], L->err)) != GB_OK)
			goto fail;
	if ((st = gb_model_set_io(m, n_graph_in, graph_in, node->n_outputs, out_ids, L->err)) != GB_OK)
		goto fail;
	if ((st = gb_model_prepare(m, L->err)) != GB_OK)
		goto fail;
	*out = m;
	return GB_OK;
nomem:
	st = nomem(L);
fail:
	gb_model_free(m);
	return st;
}

/* ---- element ids: data movement ------------------------------------------------------ */

/* Where an id came from: input k's element e, or (k = -1) a padding zero. */
typedef struct origin {
	int k;
	int64_t e;
} origin;

static bool is_float(const gb_tensor *t)
{
	return t && t->dtype == GB_DTYPE_F32;
}

/* Copies row src (or, for a constant input, the constant c) into dst. */
static bool set_from(gb_row *dst, const sym *src, const gb_tensor *c, int64_t e)
{
	if (src->kind == SYM_AFFINE)
		return gb_row_copy(dst, &src->rows[e]);
	dst->n = 0;
	dst->b = ((const float *)c->data)[e];
	return true;
}

static gb_status lower_select(lower *L, const gb_node *node)
{
	const gb_tensor *ins[64] = {0};
	gb_tensor *ids[64] = {0};
	bool feed[64] = {0};
	int64_t base[64] = {0};
	int64_t next_id = 1;
	gb_model *m = NULL;
	gb_session *s = NULL;
	gb_status st = GB_OK;
	for (int k = 0; k < node->n_inputs; k++) {
		ins[k] = concrete(L, node->inputs[k]);
		if (node->inputs[k] >= 0 && !ins[k])
			return unsupported(L, node, "an input has no value");
		if (!is_float(ins[k]))
			continue;
		/* Pad's constant_value (opset 11+) is data too: padding gets an id of its own */
		int64_t n = gb_tensor_numel(ins[k]);
		if (next_id + n > MAX_IDS)
			return unsupported(L, node, "more than 2^24 elements move through one operator");
		gb_status s2 = gb_tensor_new(GB_DTYPE_F32, ins[k]->ndim, ins[k]->dims, &ids[k], L->err);
		if (s2 != GB_OK) {
			st = s2;
			goto done;
		}
		float *d = ids[k]->data;
		for (int64_t e = 0; e < n; e++)
			d[e] = (float)(next_id + e);
		base[k] = next_id;
		next_id += n;
		feed[k] = true;
		ins[k] = ids[k];
	}
	if ((st = single_new(L, node, ins, feed, false, &m)) != GB_OK)
		goto done;
	if ((st = gb_session_new(m, &s, L->err)) != GB_OK)
		goto done;
	for (int k = 0, i = 0; k < node->n_inputs; k++)
		if (feed[k] && (st = gb_session_set_input(s, i++, ids[k], L->err)) != GB_OK)
			goto done;
	if ((st = gb_session_forward(s, L->err)) != GB_OK)
		goto done;
	for (int o = 0; o < node->n_outputs; o++) {
		int v = node->outputs[o];
		if (v < 0)
			continue;
		const gb_tensor *y = gb_session_output(s, o);
		if (!is_float(y)) /* an index or mask output: its value comes from the run */
			continue;
		sym *out = &L->syms[v];
		int64_t n = gb_tensor_numel(y);
		if ((st = sym_affine(L, out, n)) != GB_OK)
			goto done;
		const float *d = y->data;
		for (int64_t i = 0; i < n; i++) {
			int64_t id = (int64_t)d[i];
			if ((float)id != d[i] || id < 0 || id >= next_id) {
				st = unsupported(L, node, "the operator does not only move elements (an output is not a copy of an input element)");
				goto done;
			}
			if (id == 0) /* zero padding (Pad before opset 11) */
				continue;
			int k = 0;
			while (!(feed[k] && id >= base[k] && id < base[k] + gb_tensor_numel(ids[k])))
				k++;
			const gb_tensor *c = concrete(L, node->inputs[k]);
			if (!set_from(&out->rows[i], &L->syms[node->inputs[k]], c, id - base[k])) {
				st = nomem(L);
				goto done;
			}
		}
	}
done:
	gb_session_free(s);
	gb_model_free(m);
	for (int k = 0; k < node->n_inputs && k < 64; k++)
		gb_tensor_free(ids[k]);
	return st;
}

/* ---- Jacobians: linear operators ---------------------------------------------------- */

static gb_status lower_linear(lower *L, const gb_node *node)
{
	const gb_tensor *ins[64] = {0};
	gb_tensor *zeros[64] = {0};
	bool feed[64] = {0};
	gb_model *m = NULL;
	gb_session *s = NULL;
	gb_tensor *seed = NULL;
	gb_status st = GB_OK;
	int v_out = node->outputs[0];
	const gb_tensor *y1 = concrete(L, v_out);
	if (!is_float(y1) || y1->ndim < 1 || y1->dims[0] != 1)
		return unsupported(L, node, "its output has no leading batch axis of size 1 for one example");
	int64_t n_out = gb_tensor_numel(y1);
	for (int k = 0; k < node->n_inputs; k++) {
		int v = node->inputs[k];
		ins[k] = concrete(L, v);
		if (v < 0 || L->syms[v].kind != SYM_AFFINE)
			continue;
		if (ins[k]->ndim < 1 || ins[k]->dims[0] != 1)
			return unsupported(L, node, "an input that depends on the network input has no leading batch axis");
		int64_t dims[GB_MAX_DIMS];
		memcpy(dims, ins[k]->dims, sizeof dims);
		dims[0] = n_out;
		if ((st = gb_tensor_new(GB_DTYPE_F32, ins[k]->ndim, dims, &zeros[k], L->err)) != GB_OK)
			goto done;
		feed[k] = true;
		ins[k] = zeros[k];
	}
	if ((st = single_new(L, node, ins, feed, true, &m)) != GB_OK)
		goto done;
	if ((st = gb_session_new(m, &s, L->err)) != GB_OK)
		goto done;
	for (int k = 0, i = 0; k < node->n_inputs; k++)
		if (feed[k] && (st = gb_session_set_input(s, i++, zeros[k], L->err)) != GB_OK)
			goto done;
	if ((st = gb_session_forward(s, L->err)) != GB_OK)
		goto done;
	const gb_tensor *y = gb_session_output(s, 0);
	if (!is_float(y) || gb_tensor_numel(y) != n_out * n_out) {
		st = unsupported(L, node, "its output does not keep one row per example");
		goto done;
	}
	if ((st = gb_tensor_new(GB_DTYPE_F32, y->ndim, y->dims, &seed, L->err)) != GB_OK)
		goto done;
	for (int64_t i = 0; i < n_out; i++)
		((float *)seed->data)[i * n_out + i] = 1.0f;
	const gb_tensor *seeds[64] = {seed};
	if ((st = gb_session_backward(s, seeds, L->err)) != GB_OK)
		goto done;
	sym *out = &L->syms[v_out];
	if ((st = sym_affine(L, out, n_out)) != GB_OK)
		goto done;
	const float *f0 = y->data; /* example 0 at zero input: the constant term */
	for (int64_t i = 0; i < n_out; i++)
		out->rows[i].b = f0[i];
	for (int k = 0, gi = 0; k < node->n_inputs; k++) {
		if (!feed[k])
			continue;
		const gb_tensor *g = gb_session_input_grad(s, gi++);
		const sym *in = &L->syms[node->inputs[k]];
		if (!g)
			continue;
		const float *gd = g->data;
		for (int64_t i = 0; i < n_out; i++) {
			gb_row *r = &out->rows[i];
			for (int64_t j = 0; j < in->n; j++) {
				float w = gd[i * in->n + j];
				if (w == 0.0f)
					continue;
				const gb_row *src = &in->rows[j];
				for (int t = 0; t < src->n; t++)
					if (!gb_row_push(r, src->idx[t], (double)w * src->w[t])) {
						st = nomem(L);
						goto done;
					}
				r->b += (double)w * src->b;
			}
			gb_row_compact(r);
		}
	}
done:
	gb_tensor_free(seed);
	gb_session_free(s);
	gb_model_free(m);
	for (int k = 0; k < node->n_inputs && k < 64; k++)
		gb_tensor_free(zeros[k]);
	return st;
}

/* ---- piecewise-linear operators -------------------------------------------------------- */

/* dst = relu(src): a unit, unless the row is constant or already a
 * nonnegative multiple of one unit. */
static gb_status relu_row(lower *L, gb_row *dst, const gb_row *src)
{
	gb_row_free(dst);
	if (src->n == 0) {
		dst->b = src->b > 0 ? src->b : 0.0;
		return GB_OK;
	}
	if (src->n == 1 && src->b == 0.0 && src->idx[0] >= L->p->n_in) {
		if (src->w[0] > 0)
			return gb_row_copy(dst, src) ? GB_OK : nomem(L);
		return GB_OK; /* a negative multiple of a unit: never positive */
	}
	if (L->p->n_in + L->p->n_units >= MAX_SOURCES)
		return gb_fail(L->err, GB_STATUS_UNSUPPORTED, "%s: decompile: more than 2^30 units", L->m->label);
	gb_row pre = {0};
	if (!gb_row_copy(&pre, src))
		return nomem(L);
	int64_t j = gb_pwl_add_unit(L->p, &pre);
	if (j < 0) {
		gb_row_free(&pre);
		return nomem(L);
	}
	return gb_row_push(dst, (int)j, 1.0) ? GB_OK : nomem(L);
}

/* dst = a + s * relu(s * (b - a)): max (s = 1) or min (s = -1). */
static gb_status maxmin_row(lower *L, gb_row *dst, const gb_row *a, const gb_row *b, double s)
{
	gb_row diff = {0}, h = {0};
	gb_status st = GB_OK;
	if (!gb_row_copy(&diff, b) || !gb_row_axpy(&diff, -1.0, a))
		st = nomem(L);
	if (st == GB_OK) {
		gb_row_scale(&diff, s);
		st = relu_row(L, &h, &diff);
	}
	if (st == GB_OK && (!gb_row_copy(dst, a) || !gb_row_axpy(dst, s, &h)))
		st = nomem(L);
	gb_row_free(&diff);
	gb_row_free(&h);
	return st;
}

/* The rows of input k of node (a constant input becomes constant rows). */
static gb_status rows_of(lower *L, const gb_node *node, int k, sym *tmp, const sym **out)
{
	int v = node->inputs[k];
	if (L->syms[v].kind == SYM_AFFINE) {
		*out = &L->syms[v];
		return GB_OK;
	}
	const gb_tensor *c = concrete(L, v);
	if (!is_float(c))
		return unsupported(L, node, "an input is not float32");
	gb_status st = sym_affine(L, tmp, gb_tensor_numel(c));
	for (int64_t i = 0; st == GB_OK && i < tmp->n; i++)
		tmp->rows[i].b = ((const float *)c->data)[i];
	*out = tmp;
	return st;
}

/* Offset into a tensor of shape (nd, dims) broadcast to (ond, odims) for
 * the output element at flat index i. */
static int64_t bcast_index(int nd, const int64_t *dims, int ond, const int64_t *odims, int64_t i)
{
	int64_t off = 0, stride = 1;
	for (int a = ond - 1; a >= 0; a--) {
		int64_t coord = i % odims[a];
		i /= odims[a];
		int ia = a - (ond - nd);
		if (ia >= 0) {
			if (dims[ia] != 1)
				off += coord * stride;
			stride *= dims[ia];
		}
	}
	return off;
}

/* Relu, LeakyRelu, PRelu, Abs, Max, Min, Clip: elementwise, broadcast. */
static gb_status lower_elementwise(lower *L, const gb_node *node)
{
	const char *op = node->op_type;
	const gb_tensor *y1 = concrete(L, node->outputs[0]);
	sym *out = &L->syms[node->outputs[0]];
	gb_status st = sym_affine(L, out, gb_tensor_numel(y1));
	if (st != GB_OK)
		return st;
	sym tmp[3] = {{0}};
	const sym *x = NULL;
	if ((st = rows_of(L, node, 0, &tmp[0], &x)) != GB_OK)
		goto done;
	const gb_tensor *xc = concrete(L, node->inputs[0]);
	gb_row a = {0}, b = {0};
	if (strcmp(op, "Relu") == 0 || strcmp(op, "Abs") == 0 || strcmp(op, "LeakyRelu") == 0) {
		float alpha = 0.01f;
		if (strcmp(op, "LeakyRelu") == 0 && (st = gb_attr_float(L->m, node, "alpha", 0.01f, &alpha, L->err)) != GB_OK)
			goto done;
		for (int64_t i = 0; i < out->n && st == GB_OK; i++) {
			gb_row *r = &out->rows[i];
			if ((st = relu_row(L, r, &x->rows[i])) != GB_OK)
				break;
			if (strcmp(op, "Abs") == 0) { /* relu(z) + relu(-z) */
				gb_row neg = {0};
				if (!gb_row_copy(&neg, &x->rows[i]))
					st = nomem(L);
				gb_row_scale(&neg, -1.0);
				if (st == GB_OK)
					st = relu_row(L, &a, &neg);
				if (st == GB_OK && !gb_row_axpy(r, 1.0, &a))
					st = nomem(L);
				gb_row_free(&neg);
			} else if (strcmp(op, "LeakyRelu") == 0) { /* alpha z + (1 - alpha) relu(z) */
				gb_row_scale(r, 1.0 - (double)alpha);
				if (!gb_row_axpy(r, (double)alpha, &x->rows[i]))
					st = nomem(L);
			}
		}
	} else if (strcmp(op, "PRelu") == 0) {
		const gb_tensor *slope = concrete(L, node->inputs[1]);
		if (L->syms[node->inputs[1]].kind == SYM_AFFINE || !is_float(slope)) {
			st = unsupported(L, node, "the slope is not a float32 constant");
			goto done;
		}
		for (int64_t i = 0; i < out->n && st == GB_OK; i++) {
			double al = ((const float *)slope->data)[bcast_index(slope->ndim, slope->dims, y1->ndim, y1->dims, i)];
			const gb_row *z = &x->rows[bcast_index(xc->ndim, xc->dims, y1->ndim, y1->dims, i)];
			gb_row *r = &out->rows[i];
			if ((st = relu_row(L, r, z)) != GB_OK)
				break;
			gb_row_scale(r, 1.0 - al);
			if (!gb_row_axpy(r, al, z))
				st = nomem(L);
		}
	} else if (strcmp(op, "Clip") == 0) {
		float lo = -INFINITY, hi = INFINITY;
		if (L->m->opset > 0 && L->m->opset < 11) {
			if ((st = gb_attr_float(L->m, node, "min", -INFINITY, &lo, L->err)) != GB_OK ||
			    (st = gb_attr_float(L->m, node, "max", INFINITY, &hi, L->err)) != GB_OK)
				goto done;
		} else {
			for (int k = 1; k < 3 && k < node->n_inputs; k++) {
				int v = node->inputs[k];
				if (v < 0)
					continue;
				const gb_tensor *c = concrete(L, v);
				if (L->syms[v].kind == SYM_AFFINE || !is_float(c) || gb_tensor_numel(c) != 1) {
					st = unsupported(L, node, "the bounds are not float32 constant scalars");
					goto done;
				}
				*(k == 1 ? &lo : &hi) = *(const float *)c->data;
			}
		}
		for (int64_t i = 0; i < out->n && st == GB_OK; i++) {
			gb_row *r = &out->rows[i];
			if (!gb_row_copy(r, &x->rows[i])) {
				st = nomem(L);
				break;
			}
			if (isfinite(lo)) { /* max(z, lo) */
				gb_row_free(&a);
				a.b = lo;
				if (!gb_row_copy(&b, r) || (st = maxmin_row(L, r, &a, &b, 1.0)) != GB_OK)
					st = st != GB_OK ? st : nomem(L);
			}
			if (st == GB_OK && isfinite(hi)) { /* min(., hi) */
				gb_row_free(&a);
				a.b = hi;
				if (!gb_row_copy(&b, r) || (st = maxmin_row(L, r, &b, &a, -1.0)) != GB_OK)
					st = st != GB_OK ? st : nomem(L);
			}
		}
	} else { /* Max, Min: fold the inputs left to right */
		double s = strcmp(op, "Max") == 0 ? 1.0 : -1.0;
		for (int64_t i = 0; i < out->n && st == GB_OK; i++) {
			gb_row *r = &out->rows[i];
			if (!gb_row_copy(r, &x->rows[bcast_index(xc->ndim, xc->dims, y1->ndim, y1->dims, i)]))
				st = nomem(L);
		}
		for (int k = 1; k < node->n_inputs && st == GB_OK; k++) {
			const sym *xk = NULL;
			sym_clear(&tmp[1]);
			if ((st = rows_of(L, node, k, &tmp[1], &xk)) != GB_OK)
				break;
			const gb_tensor *ck = concrete(L, node->inputs[k]);
			for (int64_t i = 0; i < out->n && st == GB_OK; i++) {
				gb_row *r = &out->rows[i];
				if (!gb_row_copy(&a, r))
					st = nomem(L);
				else
					st = maxmin_row(L, r, &a, &xk->rows[bcast_index(ck->ndim, ck->dims, y1->ndim, y1->dims, i)], s);
			}
		}
	}
	gb_row_free(&a);
	gb_row_free(&b);
done:
	for (int k = 0; k < 3; k++)
		sym_clear(&tmp[k]);
	return st;
}

/* max over rows[idx[0..n)] as a balanced tree of the pairwise formula. */
static gb_status max_tree(lower *L, gb_row *dst, const gb_row *rows, const int64_t *idx, int64_t n)
{
	if (n == 1)
		return gb_row_copy(dst, &rows[idx[0]]) ? GB_OK : nomem(L);
	gb_row a = {0}, b = {0};
	gb_status st = max_tree(L, &a, rows, idx, n / 2);
	if (st == GB_OK)
		st = max_tree(L, &b, rows, idx + n / 2, n - n / 2);
	if (st == GB_OK)
		st = maxmin_row(L, dst, &a, &b, 1.0);
	gb_row_free(&a);
	gb_row_free(&b);
	return st;
}

/* MaxPool and GlobalMaxPool over [1, C, spatial...] (1 or 2 spatial axes). */
static gb_status lower_maxpool(lower *L, const gb_node *node)
{
	const gb_tensor *xc = concrete(L, node->inputs[0]), *yc = concrete(L, node->outputs[0]);
	int sp = xc->ndim - 2;
	if (sp < 1 || sp > 2 || yc->ndim != xc->ndim || xc->dims[0] != 1)
		return unsupported(L, node, "only 1-D and 2-D pooling of one example is lowered");
	int64_t kern[2] = {1, 1}, stride[2] = {1, 1}, pad[2] = {0, 0}, dil[2] = {1, 1};
	bool global = strcmp(node->op_type, "GlobalMaxPool") == 0;
	if (node->n_outputs > 1 && node->outputs[1] >= 0)
		return unsupported(L, node, "the Indices output is not lowered");
	if (global) {
		for (int a = 0; a < sp; a++)
			kern[a] = xc->dims[2 + a];
	} else {
		const int64_t *v;
		int64_t n;
		const char *pad_mode = "NOTSET";
		gb_status st = gb_attr_string(L->m, node, "auto_pad", "NOTSET", &pad_mode, L->err);
		if (st != GB_OK)
			return st;
		if (strcmp(pad_mode, "NOTSET") != 0)
			return unsupported(L, node, "auto_pad is not lowered; give pads explicitly");
		if ((st = gb_attr_ints(L->m, node, "kernel_shape", &v, &n, L->err)) != GB_OK)
			return st;
		for (int a = 0; a < sp && a < n; a++)
			kern[a] = v[a];
		if ((st = gb_attr_ints(L->m, node, "strides", &v, &n, L->err)) != GB_OK)
			return st;
		for (int a = 0; a < sp && a < n; a++)
			stride[a] = v[a];
		if ((st = gb_attr_ints(L->m, node, "dilations", &v, &n, L->err)) != GB_OK)
			return st;
		for (int a = 0; a < sp && a < n; a++)
			dil[a] = v[a];
		if ((st = gb_attr_ints(L->m, node, "pads", &v, &n, L->err)) != GB_OK)
			return st;
		for (int a = 0; a < sp && n == 2 * sp; a++)
			pad[a] = v[a];
	}
	const sym *x = NULL;
	sym tmp = {0};
	gb_status st = rows_of(L, node, 0, &tmp, &x);
	sym *out = &L->syms[node->outputs[0]];
	if (st == GB_OK)
		st = sym_affine(L, out, gb_tensor_numel(yc));
	int64_t C = xc->dims[1], H = xc->dims[2], W = sp == 2 ? xc->dims[3] : 1;
	int64_t OH = yc->dims[2], OW = sp == 2 ? yc->dims[3] : 1;
	int64_t *win = malloc((size_t)(kern[0] * kern[1]) * sizeof *win);
	if (!win && st == GB_OK)
		st = nomem(L);
	for (int64_t c = 0; c < C && st == GB_OK; c++)
		for (int64_t i = 0; i < OH && st == GB_OK; i++)
			for (int64_t j = 0; j < OW && st == GB_OK; j++) {
				int64_t n = 0;
				for (int64_t p = 0; p < kern[0]; p++)
					for (int64_t q = 0; q < kern[1]; q++) {
						int64_t r = i * stride[0] - pad[0] + p * dil[0];
						int64_t s = j * stride[1] - pad[1] + q * dil[1];
						if (r >= 0 && r < H && s >= 0 && s < W)
							win[n++] = (c * H + r) * W + s;
					}
				if (n == 0) {
					st = unsupported(L, node, "a pooling window lies wholly in the padding");
					break;
				}
				st = max_tree(L, &out->rows[(c * OH + i) * OW + j], x->rows, win, n);
			}
	free(win);
	sym_clear(&tmp);
	return st;
}

/* ---- the walk ---------------------------------------------------------------------------- */

static const char *const select_ops[] = {"Identity", "Dropout", "Flatten", "Reshape", "Squeeze", "Unsqueeze",
                                         "Transpose", "Concat", "Slice", "Gather", "Split", "Expand", "Pad",
                                         "Tile", NULL};
static const char *const linear_ops[] = {"Gemm", "MatMul", "Conv", "Add", "Sub", "Mul", "Div", "Neg", "Sum",
                                         "Mean", "BatchNormalization", "AveragePool", "GlobalAveragePool",
                                         "ReduceSum", "ReduceMean", NULL};
static const char *const pwl_ops[] = {"Relu", "LeakyRelu", "PRelu", "Abs", "Max", "Min", "Clip", NULL};

static bool in_list(const char *const *list, const char *op)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(list[i], op) == 0)
			return true;
	return false;
}

/* Linear operators are linear only in some inputs: the others must be
 * constants. */
static gb_status check_linear(lower *L, const gb_node *node)
{
	const char *op = node->op_type;
	int n_aff = 0, first = -1;
	for (int k = 0; k < node->n_inputs; k++)
		if (node->inputs[k] >= 0 && L->syms[node->inputs[k]].kind == SYM_AFFINE) {
			n_aff++;
			if (first < 0)
				first = k;
		}
	bool only_first = strcmp(op, "Gemm") == 0 || strcmp(op, "MatMul") == 0 || strcmp(op, "Conv") == 0 ||
	                  strcmp(op, "Div") == 0 || strcmp(op, "BatchNormalization") == 0 ||
	                  strcmp(op, "ReduceSum") == 0 || strcmp(op, "ReduceMean") == 0;
	if (only_first && (n_aff != 1 || first != 0))
		return unsupported(L, node, "it is linear only in its first input, and another input depends on the network input");
	if (strcmp(op, "Mul") == 0 && n_aff != 1)
		return unsupported(L, node, "it multiplies two values that both depend on the network input (not piecewise linear)");
	if (strcmp(op, "Gemm") == 0) {
		int64_t ta = 0;
		gb_status st = gb_attr_int(L->m, node, "transA", 0, &ta, L->err);
		if (st != GB_OK)
			return st;
		if (ta)
			return unsupported(L, node, "transA = 1 puts the batch axis second; only transA = 0 is lowered");
	}
	if (strcmp(op, "BatchNormalization") == 0 && node->n_outputs > 1)
		return unsupported(L, node, "training-mode batch normalization (running statistics outputs) is not lowered");
	if (strcmp(op, "ReduceSum") == 0 || strcmp(op, "ReduceMean") == 0) {
		const int64_t *axes = NULL;
		int64_t n = -1;
		gb_status st = gb_attr_ints(L->m, node, "axes", &axes, &n, L->err);
		if (st != GB_OK)
			return st;
		const gb_tensor *t = node->n_inputs > 1 ? concrete(L, node->inputs[1]) : NULL;
		if (t && t->dtype == GB_DTYPE_I64) {
			axes = t->data;
			n = gb_tensor_numel(t);
		}
		if (n < 0)
			return unsupported(L, node, "it reduces over every axis, the batch axis too");
		const gb_tensor *x = concrete(L, node->inputs[0]);
		for (int64_t i = 0; i < n; i++)
			if (axes[i] == 0 || axes[i] == -(int64_t)x->ndim)
				return unsupported(L, node, "it reduces over the batch axis");
	}
	return GB_OK;
}

/* Softmax or LogSoftmax over the last axis of a [1, k] value that is a
 * graph output and read by nothing else: the output keeps the logits' rows
 * and the kind. */
static gb_status lower_softmax(lower *L, const gb_node *node)
{
	const gb_model *m = L->m;
	int v = node->outputs[0], in = node->inputs[0];
	const gb_tensor *x = concrete(L, in);
	int64_t axis = -1;
	gb_status st = gb_attr_int(m, node, "axis", m->opset > 0 && m->opset < 13 ? 1 : -1, &axis, L->err);
	if (st != GB_OK)
		return st;
	bool output = false, read = false;
	for (int i = 0; i < m->n_outputs; i++)
		output = output || m->outputs[i] == v;
	for (int i = 0; i < m->n_nodes; i++)
		for (int k = 0; k < m->nodes[i].n_inputs; k++)
			read = read || m->nodes[i].inputs[k] == v;
	if (!output || read || x->ndim != 2 || !(axis == 1 || axis == -1)) {
		char why[256];
		snprintf(why, sizeof why, "%s is not piecewise linear; it is read only as the last step of a network "
		         "output [N, classes] (over the classes), which this is not", node->op_type);
		return unsupported(L, node, why);
	}
	sym *out = &L->syms[v];
	const sym *src = &L->syms[in];
	gb_status s2 = sym_affine(L, out, src->n);
	for (int64_t i = 0; s2 == GB_OK && i < src->n; i++)
		if (!gb_row_copy(&out->rows[i], &src->rows[i]))
			s2 = nomem(L);
	L->softmax[v] = strcmp(node->op_type, "LogSoftmax") == 0 ? GB_PWL_LOG_SOFTMAX : GB_PWL_SOFTMAX;
	return s2;
}

static gb_status lower_node(lower *L, const gb_node *node)
{
	const char *op = node->op_type;
	bool any = false;
	for (int k = 0; k < node->n_inputs; k++)
		if (node->inputs[k] >= 0 && L->syms[node->inputs[k]].kind == SYM_AFFINE)
			any = true;
	if (!any) { /* a constant: its value is what the run computed */
		for (int o = 0; o < node->n_outputs; o++)
			if (node->outputs[o] >= 0)
				L->syms[node->outputs[o]].kind = SYM_CONST;
		return GB_OK;
	}
	if (node->domain && node->domain[0] && strcmp(node->domain, "ai.onnx") != 0)
		return unsupported(L, node, "an operator outside the default ONNX domain");
	if (strcmp(op, "Shape") == 0 || strcmp(op, "Size") == 0) { /* shapes are fixed for one example */
		L->syms[node->outputs[0]].kind = SYM_CONST;
		return GB_OK;
	}
	if (in_list(select_ops, op))
		return lower_select(L, node);
	if (in_list(linear_ops, op)) {
		gb_status st = check_linear(L, node);
		return st != GB_OK ? st : lower_linear(L, node);
	}
	if (in_list(pwl_ops, op))
		return lower_elementwise(L, node);
	if (strcmp(op, "MaxPool") == 0 || strcmp(op, "GlobalMaxPool") == 0)
		return lower_maxpool(L, node);
	if (strcmp(op, "Softmax") == 0 || strcmp(op, "LogSoftmax") == 0)
		return lower_softmax(L, node);
	char why[256];
	snprintf(why, sizeof why,
	         "%s is not piecewise linear; the decompiler reads networks of linear layers and ReLU-family activations",
	         op);
	return unsupported(L, node, why);
}

static gb_status io_init(lower *L, gb_pwl_io *io, const gb_value *v, int64_t offset, const char *role)
{
	if (v->dtype != GB_DTYPE_F32)
		return gb_fail(L->err, GB_STATUS_UNSUPPORTED, "%s: the %s '%s' is %s; the decompiler reads float32 networks",
		               L->m->label, role, v->name, gb_dtype_name(v->dtype));
	const gb_tensor *t = gb_session_value(L->run, v->name);
	if (!t || t->ndim < 1 || t->dims[0] != 1)
		return gb_fail(L->err, GB_STATUS_UNSUPPORTED, "%s: the %s '%s' has no leading batch axis", L->m->label,
		               role, v->name);
	io->name = gb_strdup(v->name);
	if (!io->name)
		return nomem(L);
	io->ndim = t->ndim - 1;
	for (int a = 1; a < t->ndim; a++)
		io->dims[a - 1] = t->dims[a];
	io->offset = offset;
	io->size = gb_tensor_numel(t);
	return GB_OK;
}

/* The first pass: every input at zero, batch 1. */
static gb_status run_once(lower *L, gb_tensor **feeds)
{
	gb_status st = gb_session_new(L->m, &L->run, L->err);
	for (int i = 0; st == GB_OK && i < L->m->n_inputs; i++) {
		const gb_value *v = &L->m->values[L->m->inputs[i]];
		if (v->ndim < 1)
			return gb_fail(L->err, GB_STATUS_UNSUPPORTED, "%s: the input '%s' has no batch axis", L->m->label,
			               v->name);
		int64_t dims[GB_MAX_DIMS];
		for (int a = 0; a < v->ndim; a++) {
			dims[a] = a == 0 ? 1 : v->dims[a];
			if (dims[a] < 0)
				return gb_fail(L->err, GB_STATUS_UNSUPPORTED,
				               "%s: the input '%s' has a dynamic axis %d; only the batch axis may be dynamic",
				               L->m->label, v->name, a);
		}
		if (v->dims[0] > 1)
			return gb_fail(L->err, GB_STATUS_UNSUPPORTED, "%s: the input '%s' has a fixed batch of %lld",
			               L->m->label, v->name, (long long)v->dims[0]);
		if ((st = gb_tensor_new(v->dtype, v->ndim, dims, &feeds[i], L->err)) != GB_OK)
			return st;
		st = gb_session_set_input(L->run, i, feeds[i], L->err);
	}
	if (st == GB_OK)
		st = gb_session_forward(L->run, L->err);
	return st;
}

static gb_status lower_model(gb_model *m, bool io_only, gb_pwl **out, gb_error *err)
{
	*out = NULL;
	lower L = {.m = m, .err = err};
	gb_tensor *feeds[64] = {0};
	gb_status st;
	if (m->n_inputs > 64 || m->n_inputs < 1 || m->n_outputs < 1)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: the decompiler reads networks with 1 to 64 inputs and at least one output", m->label);
	L.p = calloc(1, sizeof *L.p);
	L.syms = calloc((size_t)(m->n_values ? m->n_values : 1), sizeof *L.syms);
	L.softmax = calloc((size_t)(m->n_values ? m->n_values : 1), 1);
	if (!L.p || !L.syms || !L.softmax) {
		st = nomem(&L);
		goto done;
	}
	if ((st = run_once(&L, feeds)) != GB_OK)
		goto done;
	L.p->inputs = calloc((size_t)m->n_inputs, sizeof *L.p->inputs);
	L.p->outputs = calloc((size_t)m->n_outputs, sizeof *L.p->outputs);
	if (!L.p->inputs || !L.p->outputs) {
		st = nomem(&L);
		goto done;
	}
	for (int i = 0; i < m->n_inputs; i++, L.p->n_inputs++) {
		if ((st = io_init(&L, &L.p->inputs[i], &m->values[m->inputs[i]], L.p->n_in, "input")) != GB_OK)
			goto done;
		L.p->n_in += L.p->inputs[i].size;
	}
	if (L.p->n_in >= MAX_SOURCES) {
		st = gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: more than 2^30 input features", m->label);
		goto done;
	}
	for (int i = 0; i < m->n_inputs; i++) {
		sym *s = &L.syms[m->inputs[i]];
		const gb_pwl_io *io = &L.p->inputs[i];
		if ((st = sym_affine(&L, s, io->size)) != GB_OK)
			goto done;
		for (int64_t e = 0; e < io->size; e++)
			if (!gb_row_push(&s->rows[e], (int)(io->offset + e), 1.0)) {
				st = nomem(&L);
				goto done;
			}
	}
	for (int v = 0; v < m->n_values; v++)
		if (m->values[v].init)
			L.syms[v].kind = SYM_CONST;
	for (int i = 0; i < m->n_nodes && !io_only; i++)
		if ((st = lower_node(&L, &m->nodes[i])) != GB_OK)
			goto done;
	for (int i = 0; i < m->n_outputs; i++, L.p->n_outputs++) {
		if ((st = io_init(&L, &L.p->outputs[i], &m->values[m->outputs[i]], L.p->n_out, "output")) != GB_OK)
			goto done;
		L.p->outputs[i].softmax = L.softmax[m->outputs[i]];
		L.p->n_out += L.p->outputs[i].size;
	}
	L.p->outs = calloc((size_t)(L.p->n_out ? L.p->n_out : 1), sizeof *L.p->outs);
	if (!L.p->outs) {
		st = nomem(&L);
		goto done;
	}
	for (int i = 0; i < m->n_outputs && !io_only; i++) {
		int v = m->outputs[i];
		const gb_pwl_io *io = &L.p->outputs[i];
		const sym *s = &L.syms[v];
		const gb_tensor *c = concrete(&L, v);
		for (int64_t e = 0; e < io->size; e++)
			if (!set_from(&L.p->outs[io->offset + e], s, c, e)) {
				st = nomem(&L);
				goto done;
			}
	}
done:
	if (L.syms)
		for (int v = 0; v < m->n_values; v++)
			sym_clear(&L.syms[v]);
	free(L.syms);
	free(L.softmax);
	gb_session_free(L.run);
	for (int i = 0; i < 64; i++)
		gb_tensor_free(feeds[i]);
	if (st != GB_OK) {
		gb_pwl_free(L.p);
		return st;
	}
	*out = L.p;
	return GB_OK;
}

gb_status gb_pwl_lower(gb_model *m, gb_pwl **out, gb_error *err)
{
	return lower_model(m, false, out, err);
}

gb_status gb_pwl_lower_io(gb_model *m, gb_pwl **out, gb_error *err)
{
	return lower_model(m, true, out, err);
}
