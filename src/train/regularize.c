/*
 * regularize.c — penalties that push a network toward a readable structure,
 * and the measures that show they did.
 *
 * The layers are found in the graph itself, so the penalties apply to any
 * model, not only to those built from a spec: a layer is a Gemm (transA 0)
 * whose B is a rank-2 float initializer, or a Conv whose W is a rank-4 float
 * initializer. Its units are the Gemm's output features (or the Conv's
 * output channels); its incoming weights for unit j are row j of W as
 * PyTorch lays it out ([out, in]; a Gemm with transB 0 keeps W as [in, out]
 * and the row is a column) or filter j of a Conv ([IC, K, K]). The last
 * layer in graph order is the output layer; every other layer is hidden.
 * A layer's input is hidden when it reaches back, through unit-preserving
 * ops only (activations, dropout's Mul, Identity, Dropout, BatchNorm, and
 * for a Conv also pooling), to the output of another layer with as many
 * units as this layer has inputs (channels).
 *
 * Penalties (lambda each; the trainer adds their (sub)gradients to the
 * data gradient before the optimiser step, so Adam rescales them too):
 *
 *   l1           lambda * sum |w| over every layer's weights (biases excluded);
 *                subgradient lambda * sign(w), 0 at w = 0.
 *   group lasso  lambda * sum over the units j of every hidden layer of
 *                ||incoming weights of j||_2; gradient lambda * w / ||w||
 *                (0 for a row that is exactly 0). Whole units die together.
 *   modular K    for every hidden layer whose input is hidden too, the n
 *                units of each side are split into K contiguous groups,
 *                unit u of n in group floor(u * K / n) (so groups differ in
 *                size by at most one); penalty lambda * sum |w_ji| over the
 *                weights whose unit j and input i lie in different groups
 *                (for a Conv, summed over the kernel's positions). Without
 *                modular_io the first and the last layer are not penalised:
 *                the network's input features and outputs have no group.
 *                With modular_io they are split into K contiguous groups
 *                too (input features in their flattened order), so that a
 *                network whose inputs and outputs come in K blocks (two
 *                tasks side by side) can split into K separate paths.
 *
 * L1 on activations is applied by the trainer, which seeds the hidden
 * activations' cotangents (see trainer.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../exec/ops.h"
#include "train.h"

typedef struct reg_layer {
	int w;           /* value index of the weight */
	int param;       /* its index among the model's initializers */
	int conv;        /* 1: Conv W (OC, IC, K, K); 0: Gemm */
	int trans_b;     /* Gemm: W is (out, in) when 1, (in, out) when 0 */
	int64_t out, in; /* units, inputs (channels) */
	int64_t inner;   /* conv: K*K weights per (unit, input) pair; 1 for Gemm */
	int prev;        /* layer whose units are this layer's inputs, or -1 */
	int from_input;  /* its inputs are the network's input features (maybe flattened) */
	int hidden;      /* not the output layer */
} reg_layer;

struct gb_reg {
	double l1, group_lasso, modular;
	int k, io;
	int n;
	reg_layer *layers; /* (n) */
};

/* Offset of weight (unit j, input i, kernel position p) in W. */
static inline int64_t w_at(const reg_layer *l, int64_t j, int64_t i, int64_t p)
{
	if (l->conv)
		return (j * l->in + i) * l->inner + p;
	return l->trans_b ? j * l->in + i : i * l->out + j;
}

static int is_init_f32(const gb_model *m, int v, int ndim)
{
	return v >= 0 && m->values[v].init && m->values[v].init->dtype == GB_DTYPE_F32 &&
	       m->values[v].init->ndim == ndim;
}

static int param_index(const gb_model *m, int v)
{
	for (int i = 0; i < m->n_params; i++)
		if (m->params[i] == v)
			return i;
	return -1;
}

static int passes_units(const char *op, int conv)
{
	static const char *const elementwise[] = {"Relu", "LeakyRelu", "Tanh", "Sigmoid", "Mul", "Identity",
	                                          "Dropout", "BatchNormalization"};
	for (size_t i = 0; i < sizeof elementwise / sizeof elementwise[0]; i++)
		if (strcmp(op, elementwise[i]) == 0)
			return 1;
	return conv && (strcmp(op, "MaxPool") == 0 || strcmp(op, "AveragePool") == 0);
}

/* Finds the layers; *layers is malloc'ed (caller frees), NULL when none. */
static gb_status find_layers(const gb_model *m, reg_layer **layers, int *n, gb_error *err)
{
	*layers = NULL;
	*n = 0;
	int *layer_of_node = malloc((size_t)(m->n_nodes ? m->n_nodes : 1) * sizeof(int));
	reg_layer *ls = malloc((size_t)(m->n_nodes ? m->n_nodes : 1) * sizeof *ls);
	if (!layer_of_node || !ls) {
		free(layer_of_node);
		free(ls);
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	}
	int count = 0;
	for (int ni = 0; ni < m->n_nodes; ni++) {
		const gb_node *node = &m->nodes[ni];
		layer_of_node[ni] = -1;
		reg_layer l = {.prev = -1, .inner = 1, .trans_b = 1};
		if (strcmp(node->op_type, "Gemm") == 0 && node->n_inputs >= 2 && is_init_f32(m, node->inputs[1], 2)) {
			int64_t ta = 0, tb = 0;
			if (gb_attr_int(m, node, "transA", 0, &ta, NULL) != GB_OK || ta != 0 ||
			    gb_attr_int(m, node, "transB", 0, &tb, NULL) != GB_OK)
				continue;
			const gb_tensor *w = m->values[node->inputs[1]].init;
			l.trans_b = tb != 0;
			l.out = l.trans_b ? w->dims[0] : w->dims[1];
			l.in = l.trans_b ? w->dims[1] : w->dims[0];
		} else if (strcmp(node->op_type, "Conv") == 0 && node->n_inputs >= 2 &&
		           is_init_f32(m, node->inputs[1], 4)) {
			int64_t group = 1;
			if (gb_attr_int(m, node, "group", 1, &group, NULL) != GB_OK || group != 1)
				continue;
			const gb_tensor *w = m->values[node->inputs[1]].init;
			l.conv = 1;
			l.out = w->dims[0];
			l.in = w->dims[1];
			l.inner = w->dims[2] * w->dims[3];
		} else {
			continue;
		}
		l.w = node->inputs[1];
		l.param = param_index(m, l.w);
		/* Walk back from the data input through unit-preserving ops (and,
		 * to reach the network's input, Flatten). */
		int v = node->inputs[0], flattened = 0;
		while (v >= 0 && m->values[v].producer >= 0) {
			int p = m->values[v].producer;
			if (layer_of_node[p] >= 0) {
				if (ls[layer_of_node[p]].out == l.in && !flattened)
					l.prev = layer_of_node[p];
				break;
			}
			if (strcmp(m->nodes[p].op_type, "Flatten") == 0 && !l.conv)
				flattened = 1;
			else if (!passes_units(m->nodes[p].op_type, l.conv) || m->nodes[p].n_inputs < 1)
				break;
			v = m->nodes[p].inputs[0];
		}
		l.from_input = v >= 0 && m->values[v].is_input && !m->values[v].init;
		layer_of_node[ni] = count;
		ls[count++] = l;
	}
	for (int i = 0; i < count; i++)
		ls[i].hidden = i < count - 1;
	free(layer_of_node);
	if (count == 0) {
		free(ls);
		return GB_OK;
	}
	*layers = ls;
	*n = count;
	return GB_OK;
}

/* Group of unit u among n split into k contiguous groups. */
static inline int64_t group_of(int64_t u, int64_t n, int k)
{
	return u * k / n;
}

/* Whether the modular penalty splits both sides of layer l: hidden units
 * always, the network's inputs and outputs only with io. */
static int is_modular(const reg_layer *l, int io)
{
	return (l->prev >= 0 || (io && l->from_input)) && (l->hidden || io);
}

gb_status gb_reg_new(const gb_model *m, const gb_train_config *c, gb_reg **out, gb_error *err)
{
	*out = NULL;
	gb_reg *r = calloc(1, sizeof *r);
	if (!r)
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	r->l1 = c->l1;
	r->group_lasso = c->group_lasso;
	r->modular = c->modular;
	r->k = c->modular_k;
	r->io = c->modular_io;
	gb_status st = find_layers(m, &r->layers, &r->n, err);
	if (st != GB_OK)
		goto fail;
	int any = r->l1 > 0 || r->group_lasso > 0 || r->modular > 0;
	if (any && r->n == 0) {
		st = gb_fail(err, GB_STATUS_USAGE, "%s: weight penalties need dense (Gemm) or conv layers; there are none",
		             m->label);
		goto fail;
	}
	if (r->group_lasso > 0 && r->n < 2) {
		st = gb_fail(err, GB_STATUS_USAGE, "%s: --group-lasso acts on hidden units; the model has no hidden layer",
		             m->label);
		goto fail;
	}
	if (r->modular > 0) {
		int pairs = 0;
		if (r->k < 2) {
			st = gb_fail(err, GB_STATUS_USAGE, "--modular needs at least 2 groups, not %d", r->k);
			goto fail;
		}
		for (int i = 0; i < r->n; i++) {
			const reg_layer *l = &r->layers[i];
			if (!is_modular(l, r->io))
				continue;
			pairs++;
			if (l->out < r->k || l->in < r->k) {
				st = gb_fail(err, GB_STATUS_USAGE, "--modular %d: a layer side of %lld units cannot form %d groups",
				             r->k, (long long)(l->out < l->in ? l->out : l->in), r->k);
				goto fail;
			}
		}
		if (!pairs) {
			st = gb_fail(err, GB_STATUS_USAGE,
			             "%s: --modular penalises weights between two hidden layers; the model has no two "
			             "consecutive hidden layers (--modular-io also splits the input and output layers)",
			             m->label);
			goto fail;
		}
	}
	*out = r;
	return GB_OK;
fail:
	gb_reg_free(r);
	return st;
}

void gb_reg_free(gb_reg *r)
{
	if (!r)
		return;
	free(r->layers);
	free(r);
}

int gb_reg_active(const gb_reg *r)
{
	return r->l1 > 0 || r->group_lasso > 0 || r->modular > 0;
}

static inline float sign(float x)
{
	return (float)((x > 0.0f) - (x < 0.0f));
}

double gb_reg_apply(const gb_reg *r, const gb_model *m, float *const *grads)
{
	double penalty = 0.0;
	for (int li = 0; li < r->n; li++) {
		const reg_layer *l = &r->layers[li];
		const gb_tensor *wt = m->values[l->w].init;
		const float *w = wt->data;
		float *g = l->param >= 0 ? grads[l->param] : NULL;
		if (!g)
			continue;
		int64_t n = gb_tensor_numel(wt);
		if (r->l1 > 0) {
			const float lam = (float)r->l1;
			double sum = 0.0;
			for (int64_t i = 0; i < n; i++) {
				sum += fabsf(w[i]);
				g[i] += lam * sign(w[i]);
			}
			penalty += r->l1 * sum;
		}
		if (r->group_lasso > 0 && l->hidden) {
			for (int64_t j = 0; j < l->out; j++) {
				double sq = 0.0;
				for (int64_t i = 0; i < l->in; i++)
					for (int64_t p = 0; p < l->inner; p++) {
						float v = w[w_at(l, j, i, p)];
						sq += (double)v * v;
					}
				double norm = sqrt(sq);
				penalty += r->group_lasso * norm;
				if (norm == 0.0)
					continue;
				const float scale = (float)(r->group_lasso / norm);
				for (int64_t i = 0; i < l->in; i++)
					for (int64_t p = 0; p < l->inner; p++) {
						int64_t at = w_at(l, j, i, p);
						g[at] += scale * w[at];
					}
			}
		}
		if (r->modular > 0 && is_modular(l, r->io)) {
			const float lam = (float)r->modular;
			double sum = 0.0;
			for (int64_t j = 0; j < l->out; j++) {
				int64_t gj = group_of(j, l->out, r->k);
				for (int64_t i = 0; i < l->in; i++) {
					if (group_of(i, l->in, r->k) == gj)
						continue;
					for (int64_t p = 0; p < l->inner; p++) {
						int64_t at = w_at(l, j, i, p);
						sum += fabsf(w[at]);
						g[at] += lam * sign(w[at]);
					}
				}
			}
			penalty += r->modular * sum;
		}
	}
	return penalty;
}

/* ---- measures ------------------------------------------------------------------ */

double gb_reg_sparsity(const gb_model *m, double tol)
{
	reg_layer *ls;
	int n;
	if (find_layers(m, &ls, &n, NULL) != GB_OK || n == 0)
		return 0.0;
	int64_t small = 0, total = 0;
	for (int li = 0; li < n; li++) {
		const gb_tensor *wt = m->values[ls[li].w].init;
		const float *w = wt->data;
		int64_t count = gb_tensor_numel(wt);
		for (int64_t i = 0; i < count; i++)
			small += fabs((double)w[i]) <= tol;
		total += count;
	}
	free(ls);
	return total ? (double)small / (double)total : 0.0;
}

double gb_reg_cross_group(const gb_model *m, int k, int io)
{
	reg_layer *ls;
	int n;
	if (k < 1 || find_layers(m, &ls, &n, NULL) != GB_OK || n == 0)
		return -1.0;
	double cross = 0.0, total = 0.0;
	int pairs = 0;
	for (int li = 0; li < n; li++) {
		const reg_layer *l = &ls[li];
		if (!is_modular(l, io))
			continue;
		pairs++;
		const float *w = m->values[l->w].init->data;
		for (int64_t j = 0; j < l->out; j++)
			for (int64_t i = 0; i < l->in; i++)
				for (int64_t p = 0; p < l->inner; p++) {
					double a = fabs((double)w[w_at(l, j, i, p)]);
					total += a;
					if (group_of(j, l->out, k) != group_of(i, l->in, k))
						cross += a;
				}
	}
	free(ls);
	if (!pairs)
		return -1.0;
	return total > 0.0 ? cross / total : 0.0;
}
