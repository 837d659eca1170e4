/*
 * arch.c — architecture specs ("784-256-256-10",
 * "conv8k3-relu-pool2-conv16k3-relu-pool2-dense10") parsed into a layer list
 * and built into a graph with the graph builders, weights initialised as
 * PyTorch initialises Linear and Conv2d. The grammar is documented in
 * train.h.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../exec/ops.h"
#include "train.h"

/* Bounds that keep every size far from overflow and catch typos. */
#define MAX_UNITS (1 << 24)
#define MAX_KERNEL 64

/* ---- parsing ------------------------------------------------------------------- */

/* Reads a decimal number of at most 9 digits at *p; -1 when there is none. */
static int64_t read_number(const char **p)
{
	const char *s = *p;
	int64_t v = 0;
	int digits = 0;
	while (isdigit((unsigned char)*s) && digits < 10) {
		v = v * 10 + (*s - '0');
		s++;
		digits++;
	}
	if (digits == 0 || digits > 9)
		return -1;
	*p = s;
	return v;
}

static int token_is(const char *tok, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(tok, word, len) == 0;
}

static gb_status spec_error(gb_error *err, const gb_arch *a, const char *tok, size_t len, int pos,
                            const char *what)
{
	return gb_fail(err, GB_STATUS_USAGE, "architecture spec '%s': %s '%.*s' at position %d", a->spec, what,
	               (int)(len > 40 ? 40 : len), tok, pos);
}

static const char layer_words[] = "expected convCkK, convCkKv, poolK, denseN, relu, tanh, sigmoid or flatten";

/* One layer-form token; GB_OK or a usage error. */
static gb_status parse_layer(gb_arch *a, const char *tok, size_t len, int pos, gb_layer *l, gb_error *err)
{
	memset(l, 0, sizeof *l);
	l->pos = pos;
	const char *end = tok + len, *p = tok;
	char what[128];
	if (token_is(tok, len, "relu") || token_is(tok, len, "tanh") || token_is(tok, len, "sigmoid") ||
	    token_is(tok, len, "flatten")) {
		l->kind = tok[0] == 'r' ? GB_LAYER_RELU
		          : tok[0] == 't' ? GB_LAYER_TANH
		          : tok[0] == 's' ? GB_LAYER_SIGMOID
		                          : GB_LAYER_FLATTEN;
		return GB_OK;
	}
	if (len > 4 && memcmp(tok, "conv", 4) == 0) {
		p += 4;
		l->kind = GB_LAYER_CONV;
		l->units = read_number(&p);
		if (l->units < 1 || l->units > MAX_UNITS || p >= end || *p != 'k')
			return spec_error(err, a, tok, len, pos, "bad convolution (write conv<channels>k<kernel>, e.g. conv8k3)");
		p++;
		int64_t k = read_number(&p);
		if (k < 1 || k > MAX_KERNEL)
			return spec_error(err, a, tok, len, pos, "bad kernel size (1 to 64) in");
		l->kernel = (int)k;
		if (p < end && *p == 'v') {
			l->valid = 1;
			p++;
		}
		if (p != end)
			return spec_error(err, a, tok, len, pos, "trailing characters in");
		return GB_OK;
	}
	if (len > 4 && memcmp(tok, "pool", 4) == 0) {
		p += 4;
		l->kind = GB_LAYER_POOL;
		int64_t k = read_number(&p);
		if (k < 1 || k > MAX_KERNEL || p != end)
			return spec_error(err, a, tok, len, pos, "bad pooling (write pool<window>, window 1 to 64)");
		l->kernel = (int)k;
		return GB_OK;
	}
	if (len > 5 && memcmp(tok, "dense", 5) == 0) {
		p += 5;
		l->kind = GB_LAYER_DENSE;
		l->units = read_number(&p);
		if (l->units < 1 || l->units > MAX_UNITS || p != end)
			return spec_error(err, a, tok, len, pos, "bad dense layer (write dense<units>, units 1 to 16777216)");
		return GB_OK;
	}
	snprintf(what, sizeof what, "%s, got", layer_words);
	return spec_error(err, a, tok, len, pos, what);
}

gb_status gb_arch_parse(const char *spec, gb_arch *a, gb_error *err)
{
	memset(a, 0, sizeof *a);
	snprintf(a->spec, sizeof a->spec, "%s", spec ? spec : "");
	if (!spec || !spec[0])
		return gb_fail(err, GB_STATUS_USAGE, "architecture spec is empty (e.g. 784-256-10 or conv8k3-relu-pool2-dense10)");
	int mlp = isdigit((unsigned char)spec[0]);
	int n_widths = 0;
	const char *tok = spec;
	for (;;) {
		const char *dash = strchr(tok, '-');
		size_t len = dash ? (size_t)(dash - tok) : strlen(tok);
		int pos = (int)(tok - spec) + 1;
		if (len == 0)
			return gb_fail(err, GB_STATUS_USAGE, "architecture spec '%s': empty layer at position %d", a->spec, pos);
		if (mlp) {
			const char *p = tok;
			int64_t w = read_number(&p);
			if (w < 1 || w > MAX_UNITS || p != tok + len)
				return spec_error(err, a, tok, len, pos,
				                  "expected a width from 1 to 16777216 (a spec starting with a number lists "
				                  "widths only), got");
			if (n_widths == 0) {
				a->in_features = w;
			} else {
				if (a->n_layers + 2 > GB_ARCH_MAX_LAYERS)
					return gb_fail(err, GB_STATUS_USAGE, "architecture spec '%s': more than %d layers", a->spec,
					               GB_ARCH_MAX_LAYERS / 2);
				if (n_widths > 1)
					a->layers[a->n_layers++] = (gb_layer){.kind = GB_LAYER_RELU, .pos = pos};
				a->layers[a->n_layers++] = (gb_layer){.kind = GB_LAYER_DENSE, .units = w, .pos = pos};
			}
			n_widths++;
		} else {
			if (a->n_layers == GB_ARCH_MAX_LAYERS)
				return gb_fail(err, GB_STATUS_USAGE, "architecture spec '%s': more than %d layers", a->spec,
				               GB_ARCH_MAX_LAYERS);
			gb_status st = parse_layer(a, tok, len, pos, &a->layers[a->n_layers], err);
			if (st != GB_OK)
				return st;
			a->n_layers++;
		}
		if (!dash)
			break;
		tok = dash + 1;
	}
	if (mlp && n_widths < 2)
		return gb_fail(err, GB_STATUS_USAGE,
		               "architecture spec '%s': an MLP spec needs an input and an output width (e.g. 2-1)", a->spec);
	int weighted = 0;
	for (int i = 0; i < a->n_layers; i++)
		weighted += a->layers[i].kind == GB_LAYER_DENSE || a->layers[i].kind == GB_LAYER_CONV;
	if (!weighted)
		return gb_fail(err, GB_STATUS_USAGE, "architecture spec '%s' has no dense or conv layer to train", a->spec);
	return GB_OK;
}

/* ---- building -------------------------------------------------------------------- */

typedef struct builder {
	const gb_arch *a;
	gb_model *m;
	gb_rng rng;
	int cur;                       /* value index of the current activation */
	int ndim;                      /* its rank without the batch axis */
	int64_t dims[GB_MAX_DIMS - 1]; /* its shape without the batch axis */
	int counts[8];                 /* per layer kind, for names */
	int n_in, inputs[GB_ARCH_MAX_LAYERS + 1];
	int n_out, outputs[GB_ARCH_MAX_LAYERS + 1];
} builder;

static char *shape_text(const builder *b, char *buf, size_t size)
{
	return gb_shape_str(b->ndim, b->dims, buf, size);
}

/* A new value of the current shape with a batch axis in front. */
static int add_batched(builder *b, const char *name)
{
	int64_t dims[GB_MAX_DIMS];
	dims[0] = -1;
	for (int d = 0; d < b->ndim; d++)
		dims[d + 1] = b->dims[d];
	return gb_model_add_value(b->m, name, GB_DTYPE_F32, b->ndim + 1, dims);
}

static gb_status oom(const builder *b, gb_error *err)
{
	return gb_fail(err, GB_STATUS_NOMEM, "architecture spec '%s': out of memory building the graph", b->a->spec);
}

static gb_status add_attr_int(builder *b, int node, const char *name, int64_t v, gb_error *err)
{
	gb_attr at = {.name = name, .type = GB_ATTR_INT, .i = v};
	return gb_node_add_attr(b->m, &b->m->nodes[node], &at, err);
}

static gb_status add_attr_ints(builder *b, int node, const char *name, const int64_t *v, int n, gb_error *err)
{
	gb_attr at = {.name = name, .type = GB_ATTR_INTS, .n = n, .ints = (int64_t *)v};
	return gb_node_add_attr(b->m, &b->m->nodes[node], &at, err);
}

/* Adds node NAME (op) reading inputs and writing one new value NAME of the
 * current shape (which the caller has already updated). */
static int add_simple(builder *b, const char *name, const char *op, int n_inputs, const int *inputs)
{
	int out = add_batched(b, name);
	if (out < 0)
		return -1;
	int node = gb_model_add_node(b->m, name, op, "", n_inputs, inputs, 1, &out);
	if (node < 0)
		return -1;
	b->cur = out;
	return node;
}

/* An initializer NAME of shape dims drawn from U(-bound, bound); *v its index. */
static gb_status add_param(builder *b, const char *name, int ndim, const int64_t *dims, double bound, int *v,
                           gb_error *err)
{
	gb_tensor *t = NULL;
	*v = gb_model_add_value(b->m, name, GB_DTYPE_F32, ndim, dims);
	if (*v < 0)
		return oom(b, err);
	gb_status st = gb_tensor_new(GB_DTYPE_F32, ndim, dims, &t, err);
	if (st != GB_OK)
		return st;
	float *w = t->data;
	int64_t n = gb_tensor_numel(t);
	for (int64_t i = 0; i < n; i++)
		w[i] = (float)((2.0 * gb_rng_uniform(&b->rng) - 1.0) * bound);
	st = gb_model_set_init(b->m, *v, t, err);
	gb_tensor_free(t);
	return st;
}

static gb_status build_flatten(builder *b, gb_error *err)
{
	if (b->ndim <= 1)
		return GB_OK;
	int64_t n = 1;
	for (int d = 0; d < b->ndim; d++)
		n *= b->dims[d];
	char name[32];
	snprintf(name, sizeof name, "flatten%d", ++b->counts[GB_LAYER_FLATTEN]);
	b->ndim = 1;
	b->dims[0] = n;
	int in = b->cur;
	int node = add_simple(b, name, "Flatten", 1, &in);
	if (node < 0)
		return oom(b, err);
	return add_attr_int(b, node, "axis", 1, err);
}

static gb_status build_dense(builder *b, const gb_layer *l, gb_error *err)
{
	gb_status st = build_flatten(b, err);
	if (st != GB_OK)
		return st;
	int64_t fan_in = b->dims[0];
	char name[32], wname[48], bname[48];
	snprintf(name, sizeof name, "fc%d", ++b->counts[GB_LAYER_DENSE]);
	snprintf(wname, sizeof wname, "%s.weight", name);
	snprintf(bname, sizeof bname, "%s.bias", name);
	double bound = 1.0 / sqrt((double)fan_in);
	int64_t wdims[2] = {l->units, fan_in};
	int w, bias;
	if ((st = add_param(b, wname, 2, wdims, bound, &w, err)) != GB_OK ||
	    (st = add_param(b, bname, 1, &l->units, bound, &bias, err)) != GB_OK)
		return st;
	b->dims[0] = l->units;
	int ins[3] = {b->cur, w, bias};
	int node = add_simple(b, name, "Gemm", 3, ins);
	if (node < 0)
		return oom(b, err);
	return add_attr_int(b, node, "transB", 1, err);
}

static gb_status need_image(const builder *b, const gb_layer *l, const char *what, gb_error *err)
{
	char shape[128];
	if (b->ndim != 3)
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "architecture spec '%s': %s at position %d needs [C,H,W] samples, it gets %s", b->a->spec,
		               what, l->pos, shape_text(b, shape, sizeof shape));
	return GB_OK;
}

static gb_status build_conv(builder *b, const gb_layer *l, gb_error *err)
{
	gb_status st = need_image(b, l, "a convolution", err);
	if (st != GB_OK)
		return st;
	int64_t k = l->kernel, ic = b->dims[0];
	int64_t pad_lo = l->valid ? 0 : (k - 1) / 2, pad_hi = l->valid ? 0 : k - 1 - pad_lo;
	int64_t oh = b->dims[1] + pad_lo + pad_hi - k + 1, ow = b->dims[2] + pad_lo + pad_hi - k + 1;
	if (oh < 1 || ow < 1) {
		char shape[128];
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "architecture spec '%s': the %lldx%lld kernel at position %d is larger than its input %s",
		               b->a->spec, (long long)k, (long long)k, l->pos, shape_text(b, shape, sizeof shape));
	}
	char name[32], wname[48], bname[48];
	snprintf(name, sizeof name, "conv%d", ++b->counts[GB_LAYER_CONV]);
	snprintf(wname, sizeof wname, "%s.weight", name);
	snprintf(bname, sizeof bname, "%s.bias", name);
	double bound = 1.0 / sqrt((double)(ic * k * k));
	int64_t wdims[4] = {l->units, ic, k, k};
	int w, bias;
	if ((st = add_param(b, wname, 4, wdims, bound, &w, err)) != GB_OK ||
	    (st = add_param(b, bname, 1, &l->units, bound, &bias, err)) != GB_OK)
		return st;
	b->dims[0] = l->units;
	b->dims[1] = oh;
	b->dims[2] = ow;
	int ins[3] = {b->cur, w, bias};
	int node = add_simple(b, name, "Conv", 3, ins);
	if (node < 0)
		return oom(b, err);
	int64_t kernel[2] = {k, k}, strides[2] = {1, 1}, pads[4] = {pad_lo, pad_lo, pad_hi, pad_hi};
	if ((st = add_attr_ints(b, node, "kernel_shape", kernel, 2, err)) != GB_OK ||
	    (st = add_attr_ints(b, node, "strides", strides, 2, err)) != GB_OK ||
	    (st = add_attr_ints(b, node, "pads", pads, 4, err)) != GB_OK)
		return st;
	return GB_OK;
}

static gb_status build_pool(builder *b, const gb_layer *l, gb_error *err)
{
	gb_status st = need_image(b, l, "pooling", err);
	if (st != GB_OK)
		return st;
	int64_t k = l->kernel;
	if (b->dims[1] < k || b->dims[2] < k) {
		char shape[128];
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "architecture spec '%s': the %lldx%lld pooling window at position %d is larger than its "
		               "input %s",
		               b->a->spec, (long long)k, (long long)k, l->pos, shape_text(b, shape, sizeof shape));
	}
	char name[32];
	snprintf(name, sizeof name, "pool%d", ++b->counts[GB_LAYER_POOL]);
	b->dims[1] /= k;
	b->dims[2] /= k;
	int in = b->cur;
	int node = add_simple(b, name, "MaxPool", 1, &in);
	if (node < 0)
		return oom(b, err);
	int64_t kernel[2] = {k, k};
	if ((st = add_attr_ints(b, node, "kernel_shape", kernel, 2, err)) != GB_OK ||
	    (st = add_attr_ints(b, node, "strides", kernel, 2, err)) != GB_OK)
		return st;
	return GB_OK;
}

/* An activation; when hidden, also the dropout mask and the extra output. */
static gb_status build_activation(builder *b, const gb_layer *l, int hidden, const gb_arch_options *o,
                                  gb_error *err)
{
	static const char *const ops[] = {[GB_LAYER_RELU] = "Relu", [GB_LAYER_TANH] = "Tanh",
	                                  [GB_LAYER_SIGMOID] = "Sigmoid"};
	static const char *const names[] = {[GB_LAYER_RELU] = "relu", [GB_LAYER_TANH] = "tanh",
	                                    [GB_LAYER_SIGMOID] = "sigmoid"};
	char name[32];
	snprintf(name, sizeof name, "%s%d", names[l->kind], ++b->counts[l->kind]);
	int in = b->cur;
	if (add_simple(b, name, ops[l->kind], 1, &in) < 0)
		return oom(b, err);
	if (!hidden)
		return GB_OK;
	if (o->act_outputs)
		b->outputs[b->n_out++] = b->cur;
	if (o->dropout) {
		char mask_name[40], drop_name[40];
		snprintf(mask_name, sizeof mask_name, "dropout_mask%d", b->n_in);
		snprintf(drop_name, sizeof drop_name, "dropout%d", b->n_in);
		int mask = add_batched(b, mask_name);
		if (mask < 0)
			return oom(b, err);
		b->inputs[b->n_in++] = mask;
		int ins[2] = {b->cur, mask};
		if (add_simple(b, drop_name, "Mul", 2, ins) < 0)
			return oom(b, err);
	}
	return GB_OK;
}

gb_status gb_arch_build(const gb_arch *a, int sample_ndim, const int64_t *sample_dims, const gb_arch_options *o,
                        gb_model **out, gb_error *err)
{
	*out = NULL;
	builder b = {.a = a};
	gb_status st;
	char shape[128];
	if (sample_ndim < 1 || sample_ndim > GB_MAX_DIMS - 1)
		return gb_fail(err, GB_STATUS_BAD_FILE, "architecture spec '%s': samples must have 1 to %d axes, not %d",
		               a->spec, GB_MAX_DIMS - 1, sample_ndim);
	b.ndim = sample_ndim;
	int64_t numel = 1;
	for (int d = 0; d < sample_ndim; d++) {
		if (sample_dims[d] < 1 || !gb_mul_i64(numel, sample_dims[d], &numel))
			return gb_fail(err, GB_STATUS_BAD_FILE, "architecture spec '%s': bad sample shape %s", a->spec,
			               gb_shape_str(sample_ndim, sample_dims, shape, sizeof shape));
		b.dims[d] = sample_dims[d];
	}
	if (a->in_features && numel != a->in_features)
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "architecture spec '%s' takes %lld input values, the data's samples have shape %s (%lld "
		               "values)",
		               a->spec, (long long)a->in_features, gb_shape_str(sample_ndim, sample_dims, shape, sizeof shape),
		               (long long)numel);
	int last_weighted = -1;
	for (int i = 0; i < a->n_layers; i++)
		if (a->layers[i].kind == GB_LAYER_DENSE || a->layers[i].kind == GB_LAYER_CONV)
			last_weighted = i;

	if ((st = gb_model_new_empty(a->spec, &b.m, err)) != GB_OK)
		return st;
	b.m->opset = 17;
	b.m->ir_version = 8;
	b.m->producer_name = "glassbox";
	b.m->graph_name = "glassbox_train";
	gb_rng_seed(&b.rng, o ? o->seed : 0, 1);
	gb_arch_options none = {0};
	if (!o)
		o = &none;

	int in = add_batched(&b, "input");
	if (in < 0) {
		st = oom(&b, err);
		goto fail;
	}
	b.cur = in;
	b.inputs[b.n_in++] = in;
	b.n_out = 1; /* outputs[0] is the last layer's output, set at the end */
	for (int i = 0; i < a->n_layers; i++) {
		const gb_layer *l = &a->layers[i];
		switch (l->kind) {
		case GB_LAYER_DENSE: st = build_dense(&b, l, err); break;
		case GB_LAYER_CONV: st = build_conv(&b, l, err); break;
		case GB_LAYER_POOL: st = build_pool(&b, l, err); break;
		case GB_LAYER_FLATTEN: st = build_flatten(&b, err); break;
		case GB_LAYER_RELU:
		case GB_LAYER_TANH:
		case GB_LAYER_SIGMOID: st = build_activation(&b, l, i < last_weighted, o, err); break;
		}
		if (st != GB_OK)
			goto fail;
	}
	b.outputs[0] = b.cur;
	if ((st = gb_model_set_io(b.m, b.n_in, b.inputs, b.n_out, b.outputs, err)) != GB_OK)
		goto fail;
	if ((st = gb_model_prepare(b.m, err)) != GB_OK)
		goto fail;
	*out = b.m;
	return GB_OK;
fail:
	gb_model_free(b.m);
	return st;
}

gb_status gb_model_copy_params(gb_model *dst, const gb_model *src, gb_error *err)
{
	for (int i = 0; i < dst->n_params; i++) {
		gb_value *dv = &dst->values[dst->params[i]];
		if (dv->init->dtype != GB_DTYPE_F32)
			continue;
		int sv = gb_model_find_value(src, dv->name);
		const gb_tensor *from = sv >= 0 ? src->values[sv].init : NULL;
		int same = from && from->dtype == GB_DTYPE_F32 && from->ndim == dv->init->ndim;
		for (int d = 0; same && d < from->ndim; d++)
			same = from->dims[d] == dv->init->dims[d];
		if (!same)
			return gb_fail(err, GB_STATUS_USAGE, "%s: no float32 weight '%s' of the same shape in %s", dst->label,
			               dv->name, src->label);
		memcpy(dv->init->data, from->data, (size_t)gb_tensor_numel(from) * sizeof(float));
	}
	return GB_OK;
}
