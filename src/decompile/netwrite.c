/*
 * netwrite.c — a network written as its own layers (decompile.h,
 * gb_dc_write_network).
 *
 * What the decompiler cannot lift stays a faithful block: a network whose
 * operators are not all piecewise linear (sigmoid, tanh, GELU), or a
 * convolutional one whose ReLU DAG, written out dense, would be far larger
 * than the network itself (every position of a feature map a unit of its
 * own), is written node by node in the language: Gemm and MatMul as
 * `dense`, Conv as `conv2d`, MaxPool and AveragePool as `maxpool2d` and
 * `avgpool2d`, Flatten and Reshape as `flatten` and `reshape`, activations
 * and Softmax/LogSoftmax as the primitives of the same name, Add, Sub and
 * Mul as operators. The weights are the network's, exactly. Nodes that
 * read no input (shape arithmetic, constants) are folded: their values are
 * what one run computes. Anything else is refused with its name, and the
 * caller keeps the form it had; the program is checked against the
 * network like any other.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decompile.h"

#define NAME_LEN 80

typedef struct nw {
	gb_model *m;
	char (*used)[NAME_LEN]; /* every name given so far */
	int n_used;
	gb_session *run; /* one example, all inputs zero: every value's shape */
	char (*names)[NAME_LEN];
	unsigned char *live;    /* values that depend on the input */
	unsigned char *written; /* graph outputs written as `output NAME = ...` */
	gb_dc_params par;
	gb_strbuf lines;
	gb_error *err;
} nw;

/* want, or want_2, want_3, ... : the first not given yet; into out. */
static void unique_name(nw *W, const char *want, char *out)
{
	char base[NAME_LEN];
	snprintf(base, sizeof base, "%.*s", NAME_LEN - 8, want);
	snprintf(out, NAME_LEN, "%s", base);
	for (int k = 2;; k++) {
		bool taken = false;
		for (int i = 0; i < W->n_used && !taken; i++)
			taken = strcmp(W->used[i], out) == 0;
		if (!taken)
			break;
		snprintf(out, NAME_LEN, "%s_%d", base, k);
	}
	snprintf(W->used[W->n_used++], NAME_LEN, "%s", out);
}

static gb_status refuse(nw *W, const gb_node *node, const char *why)
{
	return gb_fail(W->err, GB_STATUS_UNSUPPORTED, "%s: node '%s' (%s): %s", W->m->label, node->name,
	               node->op_type, why);
}

static const gb_tensor *value_of(const nw *W, int v)
{
	const gb_value *val = &W->m->values[v];
	return val->init ? val->init : gb_session_value(W->run, val->name);
}

/* The per-example shape of a live value (its batch axis dropped). */
static int example_shape(const nw *W, int v, int64_t *dims)
{
	const gb_tensor *t = value_of(W, v);
	if (!t || t->ndim < 1)
		return -1;
	for (int a = 1; a < t->ndim; a++)
		dims[a - 1] = t->dims[a];
	return t->ndim - 1;
}

/* A constant of the network as a param named after the node and its role
 * (conv1_kernel); its name in *out. */
static void const_param(nw *W, const gb_node *node, const char *role, const float *data, int ndim,
                        const int64_t *dims, char *out)
{
	char base[NAME_LEN], want[2 * NAME_LEN];
	gb_dc_identifier(node->name, "layer", base, sizeof base);
	snprintf(want, sizeof want, "%s_%s", base, role);
	unique_name(W, want, out);
	gb_dc_put_param(&W->par, out, data, ndim, dims);
}

static bool is_const(const nw *W, int v)
{
	return v >= 0 && !W->live[v];
}

/* A new name for a node's output and the start of its line. */
static void begin(nw *W, const gb_node *node)
{
	char want[NAME_LEN];
	gb_dc_identifier(W->m->values[node->outputs[0]].name, "h", want, sizeof want);
	unique_name(W, want, W->names[node->outputs[0]]);
	bool out = W->m->values[node->outputs[0]].is_output;
	W->written[node->outputs[0]] = out;
	gb_strbuf_printf(&W->lines, "%s%s = ", out ? "output " : "", W->names[node->outputs[0]]);
}

static void put_ints(gb_strbuf *b, const int64_t *v, int n)
{
	gb_strbuf_put(b, "[");
	for (int i = 0; i < n; i++)
		gb_strbuf_printf(b, "%s%lld", i ? ", " : "", (long long)v[i]);
	gb_strbuf_put(b, "]");
}

/* Gemm / MatMul of a live [K] by a constant: dense(x, weight [N, K], bias). */
static gb_status write_dense(nw *W, const gb_node *node)
{
	const gb_model *m = W->m;
	bool gemm = strcmp(node->op_type, "Gemm") == 0;
	int a = node->inputs[0], bv = node->inputs[1], cv = gemm && node->n_inputs > 2 ? node->inputs[2] : -1;
	int64_t ta = 0, tb = 0, dims[GB_MAX_DIMS];
	float alpha = 1, beta = 1;
	gb_status st = GB_OK;
	if (gemm && ((st = gb_attr_int(m, node, "transA", 0, &ta, W->err)) != GB_OK ||
	             (st = gb_attr_int(m, node, "transB", 0, &tb, W->err)) != GB_OK ||
	             (st = gb_attr_float(m, node, "alpha", 1, &alpha, W->err)) != GB_OK ||
	             (st = gb_attr_float(m, node, "beta", 1, &beta, W->err)) != GB_OK))
		return st;
	const gb_tensor *B = value_of(W, bv);
	if (ta || !W->live[a] || !is_const(W, bv) || (cv >= 0 && !is_const(W, cv)) || example_shape(W, a, dims) != 1 ||
	    !B || B->ndim != 2 || B->dtype != GB_DTYPE_F32)
		return refuse(W, node, "only a live vector times a constant matrix is written as dense");
	int64_t K = tb ? B->dims[1] : B->dims[0], N = tb ? B->dims[0] : B->dims[1];
	if (K != dims[0])
		return refuse(W, node, "the matrix does not fit the vector");
	float *w = malloc((size_t)(N * K) * sizeof *w), *bias = calloc((size_t)N, sizeof *bias);
	if (!w || !bias) {
		free(w);
		free(bias);
		return gb_fail(W->err, GB_STATUS_NOMEM, "decompile: out of memory");
	}
	const float *bd = B->data;
	for (int64_t n = 0; n < N; n++)
		for (int64_t k = 0; k < K; k++)
			w[n * K + k] = alpha * (tb ? bd[n * K + k] : bd[k * N + n]);
	bool has_bias = false;
	if (cv >= 0) {
		const gb_tensor *C = value_of(W, cv);
		int64_t nc = C ? gb_tensor_numel(C) : 0;
		if (!C || C->dtype != GB_DTYPE_F32 || !(nc == 1 || nc == N)) {
			free(w);
			free(bias);
			return refuse(W, node, "its bias is not one value per output");
		}
		for (int64_t n = 0; n < N; n++)
			bias[n] = beta * ((const float *)C->data)[nc == 1 ? 0 : n];
		has_bias = true;
	}
	char wn[NAME_LEN], bn[NAME_LEN];
	const_param(W, node, "weight", w, 2, (int64_t[]){N, K}, wn);
	if (has_bias)
		const_param(W, node, "bias", bias, 1, (int64_t[]){N}, bn);
	free(w);
	free(bias);
	begin(W, node);
	gb_strbuf_printf(&W->lines, "dense(%s, %s%s%s)\n", W->names[a], wn, has_bias ? ", " : "", has_bias ? bn : "");
	return GB_OK;
}

/* An attribute of two ints into out, left as it is when absent (refused
 * then if required); another length is refused. */
static gb_status pair_attr(nw *W, const gb_node *node, const char *name, bool required, int64_t *out)
{
	const int64_t *v = NULL;
	int64_t n = 0; /* -1: absent */
	gb_status st = gb_attr_ints(W->m, node, name, &v, &n, W->err);
	if (st != GB_OK)
		return st;
	if (n == 2) {
		out[0] = v[0];
		out[1] = v[1];
		return GB_OK;
	}
	return n > 0 || required ? refuse(W, node, "only two-dimensional windows are written") : GB_OK;
}

/* Two-dimensional window geometry: the pads must be the same at both ends.
 * A Conv's kernel size is its kernel's; a pool's must be given. */
static gb_status window_attrs(nw *W, const gb_node *node, int64_t *k, int64_t *s, int64_t *pad, int64_t *dil)
{
	const int64_t *v = NULL;
	int64_t n = 0; /* -1: absent */
	const char *autopad = NULL;
	gb_status st = gb_attr_string(W->m, node, "auto_pad", "NOTSET", &autopad, W->err);
	if (st != GB_OK)
		return st;
	if (strcmp(autopad, "NOTSET") != 0 && strcmp(autopad, "VALID") != 0)
		return refuse(W, node, "auto_pad SAME_* is not written (give explicit pads)");
	s[0] = s[1] = dil[0] = dil[1] = 1;
	pad[0] = pad[1] = 0;
	if ((st = pair_attr(W, node, "kernel_shape", strcmp(node->op_type, "Conv") != 0, k)) != GB_OK ||
	    (st = pair_attr(W, node, "strides", false, s)) != GB_OK ||
	    (st = pair_attr(W, node, "dilations", false, dil)) != GB_OK ||
	    (st = gb_attr_ints(W->m, node, "pads", &v, &n, W->err)) != GB_OK)
		return st;
	if (n == 4 && v[0] == v[2] && v[1] == v[3])
		pad[0] = v[0], pad[1] = v[1];
	else if (n > 0)
		return refuse(W, node, "pads that differ at the two ends of an axis are not written");
	return GB_OK;
}

static gb_status write_conv(nw *W, const gb_node *node)
{
	int x = node->inputs[0], wv = node->inputs[1], bv = node->n_inputs > 2 ? node->inputs[2] : -1;
	int64_t dims[GB_MAX_DIMS], k[2] = {0, 0}, s[2], pad[2], dil[2], group = 1;
	const gb_tensor *K = value_of(W, wv);
	if (!W->live[x] || !is_const(W, wv) || (bv >= 0 && !is_const(W, bv)) || example_shape(W, x, dims) != 3 || !K ||
	    K->ndim != 4 || K->dtype != GB_DTYPE_F32)
		return refuse(W, node, "only a live [C, H, W] image and a constant kernel are written as conv2d");
	gb_status st = window_attrs(W, node, k, s, pad, dil);
	if (st == GB_OK)
		st = gb_attr_int(W->m, node, "group", 1, &group, W->err);
	if (st != GB_OK)
		return st;
	char kn[NAME_LEN], bn[NAME_LEN];
	const_param(W, node, "kernel", K->data, 4, K->dims, kn);
	if (bv >= 0) {
		const gb_tensor *B = value_of(W, bv);
		if (!B || B->dtype != GB_DTYPE_F32 || gb_tensor_numel(B) != K->dims[0])
			return refuse(W, node, "its bias is not one value per filter");
		const_param(W, node, "bias", B->data, 1, (int64_t[]){K->dims[0]}, bn);
	}
	begin(W, node);
	gb_strbuf_printf(&W->lines, "conv2d(%s, %s", W->names[x], kn);
	if (bv >= 0)
		gb_strbuf_printf(&W->lines, ", bias=%s", bn);
	gb_strbuf_put(&W->lines, ", stride=");
	put_ints(&W->lines, s, 2);
	gb_strbuf_put(&W->lines, ", padding=");
	put_ints(&W->lines, pad, 2);
	if (dil[0] != 1 || dil[1] != 1) {
		gb_strbuf_put(&W->lines, ", dilation=");
		put_ints(&W->lines, dil, 2);
	}
	if (group != 1)
		gb_strbuf_printf(&W->lines, ", groups=%lld", (long long)group);
	gb_strbuf_put(&W->lines, ")\n");
	return GB_OK;
}

static gb_status write_pool(nw *W, const gb_node *node)
{
	const char *op = node->op_type;
	bool global = strncmp(op, "Global", 6) == 0, avg = strstr(op, "Average") != NULL;
	int x = node->inputs[0];
	int64_t dims[GB_MAX_DIMS], k[2] = {0, 0}, s[2] = {1, 1}, pad[2] = {0, 0}, dil[2] = {1, 1};
	if (example_shape(W, x, dims) != 3 || node->n_outputs > 1 + (node->n_outputs > 1 && node->outputs[1] < 0))
		return refuse(W, node, "only one pooled [C, H, W] image is written");
	if (global) {
		k[0] = s[0] = dims[1];
		k[1] = s[1] = dims[2];
	} else {
		gb_status st = window_attrs(W, node, k, s, pad, dil);
		int64_t ceil_mode = 0, include = 0;
		if (st == GB_OK)
			st = gb_attr_int(W->m, node, "ceil_mode", 0, &ceil_mode, W->err);
		if (st == GB_OK && avg)
			st = gb_attr_int(W->m, node, "count_include_pad", 0, &include, W->err);
		if (st != GB_OK)
			return st;
		if (ceil_mode || dil[0] != 1 || dil[1] != 1 || (include && (pad[0] || pad[1])))
			return refuse(W, node, "ceil_mode, dilations and padding counted in the mean are not written");
	}
	begin(W, node);
	gb_strbuf_printf(&W->lines, "%s(%s, ", avg ? "avgpool2d" : "maxpool2d", W->names[x]);
	put_ints(&W->lines, k, 2);
	gb_strbuf_put(&W->lines, ", stride=");
	put_ints(&W->lines, s, 2);
	if (pad[0] || pad[1]) {
		gb_strbuf_put(&W->lines, ", padding=");
		put_ints(&W->lines, pad, 2);
	}
	gb_strbuf_put(&W->lines, ")\n");
	return GB_OK;
}

/* Add, Sub, Mul: two live values of one shape, or a live value and a
 * constant of its per-example shape (or a single number). */
static gb_status write_binary(nw *W, const gb_node *node)
{
	char sym = node->op_type[0] == 'A' ? '+' : node->op_type[0] == 'S' ? '-' : '*';
	char text[2][NAME_LEN];
	int64_t want[GB_MAX_DIMS];
	int live = W->live[node->inputs[0]] ? 0 : 1, nd = example_shape(W, node->inputs[live], want);
	for (int k = 0; k < 2; k++) {
		int v = node->inputs[k];
		int64_t dims[GB_MAX_DIMS];
		if (W->live[v]) {
			if (example_shape(W, v, dims) != nd || memcmp(dims, want, (size_t)nd * sizeof *dims) != 0)
				return refuse(W, node, "operands of different shapes are not written");
			snprintf(text[k], NAME_LEN, "%s", W->names[v]);
			continue;
		}
		const gb_tensor *c = value_of(W, v);
		if (!c || c->dtype != GB_DTYPE_F32)
			return refuse(W, node, "a constant operand that is not float32");
		int64_t n = gb_tensor_numel(c), per = 1;
		for (int a = 0; a < nd; a++)
			per *= want[a];
		if (n == 1) {
			snprintf(text[k], NAME_LEN, "%.9g", (double)((const float *)c->data)[0]);
		} else if (n == per) {
			const_param(W, node, "const", c->data, nd, want, text[k]);
		} else {
			return refuse(W, node, "a constant that broadcasts is not written");
		}
	}
	begin(W, node);
	gb_strbuf_printf(&W->lines, "%s %c %s\n", text[0], sym, text[1]);
	return GB_OK;
}

/* Softmax / LogSoftmax over the last axis of a vector. */
static gb_status write_softmax(nw *W, const gb_node *node)
{
	int64_t dims[GB_MAX_DIMS], axis = -1;
	int nd = example_shape(W, node->inputs[0], dims);
	gb_status st = gb_attr_int(W->m, node, "axis", W->m->opset > 0 && W->m->opset < 13 ? 1 : -1, &axis, W->err);
	if (st != GB_OK)
		return st;
	if (nd != 1 || !(axis == -1 || axis == 1))
		return refuse(W, node, "only over the classes of a vector");
	begin(W, node);
	gb_strbuf_printf(&W->lines, "%s(%s)\n", node->op_type[0] == 'L' ? "log_softmax" : "softmax",
	                 W->names[node->inputs[0]]);
	return GB_OK;
}

static gb_status write_node(nw *W, const gb_node *node)
{
	const char *op = node->op_type;
	if (node->n_outputs < 1 || node->outputs[0] < 0)
		return refuse(W, node, "no output");
	int x = node->inputs[0];
	if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0) {
		memmove(W->names[node->outputs[0]], W->names[x], NAME_LEN);
		return GB_OK;
	}
	static const char *const unary[][2] = {{"Relu", "relu"}, {"Sigmoid", "sigmoid"}, {"Tanh", "tanh"},
	                                       {"Abs", "abs"}};
	for (size_t i = 0; i < sizeof unary / sizeof *unary; i++)
		if (strcmp(op, unary[i][0]) == 0) {
			begin(W, node);
			gb_strbuf_printf(&W->lines, "%s(%s)\n", unary[i][1], W->names[x]);
			return GB_OK;
		}
	if (strcmp(op, "Gelu") == 0) {
		const char *approx = NULL;
		gb_status st = gb_attr_string(W->m, node, "approximate", "none", &approx, W->err);
		if (st != GB_OK)
			return st;
		if (strcmp(approx, "none") != 0)
			return refuse(W, node, "the tanh approximation is not the language's gelu");
		begin(W, node);
		gb_strbuf_printf(&W->lines, "gelu(%s)\n", W->names[x]);
		return GB_OK;
	}
	if (strcmp(op, "Gemm") == 0 || strcmp(op, "MatMul") == 0)
		return write_dense(W, node);
	if (strcmp(op, "Conv") == 0)
		return write_conv(W, node);
	if (strstr(op, "Pool") != NULL)
		return write_pool(W, node);
	if (strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0)
		return write_binary(W, node);
	if (strcmp(op, "Softmax") == 0 || strcmp(op, "LogSoftmax") == 0)
		return write_softmax(W, node);
	if (strcmp(op, "Flatten") == 0 || strcmp(op, "Reshape") == 0) {
		int64_t dims[GB_MAX_DIMS], axis = 1;
		int nd = example_shape(W, node->outputs[0], dims);
		gb_status st = strcmp(op, "Flatten") == 0 ? gb_attr_int(W->m, node, "axis", 1, &axis, W->err) : GB_OK;
		if (st != GB_OK)
			return st;
		if (nd < 1 || axis != 1)
			return refuse(W, node, "the batch axis would move");
		begin(W, node);
		if (nd == 1 && strcmp(op, "Flatten") == 0) {
			gb_strbuf_printf(&W->lines, "flatten(%s)\n", W->names[x]);
		} else {
			gb_strbuf_printf(&W->lines, "reshape(%s, ", W->names[x]);
			put_ints(&W->lines, dims, nd);
			gb_strbuf_put(&W->lines, ")\n");
		}
		return GB_OK;
	}
	return refuse(W, node, "this operator is not written as a layer");
}

gb_status gb_dc_write_network(gb_model *m, int64_t inline_max, char **text, gb_tensor_map *weights,
                              const char *weights_file, int64_t *params, gb_error *err)
{
	*text = NULL;
	nw W = {.m = m, .err = err};
	gb_strbuf head = {0}, params_text = {0};
	gb_tensor *feed = NULL;
	gb_status st = GB_OK;
	if (m->n_inputs != 1 || m->n_outputs < 1)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: only a network of one input is written as its layers",
		               m->label);
	W.names = calloc((size_t)(m->n_values + 1), sizeof *W.names);
	W.live = calloc((size_t)(m->n_values + 1), 1);
	W.written = calloc((size_t)(m->n_values + 1), 1);
	W.used = calloc((size_t)(m->n_values + 3 * m->n_nodes + m->n_outputs + 1), sizeof *W.used);
	W.par = (gb_dc_params){&params_text, weights, inline_max, 0, err, GB_OK};
	if (!W.names || !W.live || !W.used || !W.written) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	/* one run at batch 1 gives every value's shape */
	const gb_value *in = &m->values[m->inputs[0]];
	int64_t dims[GB_MAX_DIMS];
	for (int a = 0; a < in->ndim; a++)
		dims[a] = a == 0 ? 1 : in->dims[a];
	if (in->ndim < 1 || in->dtype != GB_DTYPE_F32) {
		st = gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: the input is not a float32 batch", m->label);
		goto done;
	}
	if ((st = gb_tensor_new(GB_DTYPE_F32, in->ndim, dims, &feed, err)) != GB_OK ||
	    (st = gb_session_new(m, &W.run, err)) != GB_OK || (st = gb_session_set_input(W.run, 0, feed, err)) != GB_OK ||
	    (st = gb_session_forward(W.run, err)) != GB_OK)
		goto done;
	W.live[m->inputs[0]] = 1;
	char want[NAME_LEN];
	gb_dc_identifier(in->name, "x", want, sizeof want);
	unique_name(&W, want, W.names[m->inputs[0]]);
	for (int i = 0; i < m->n_nodes && st == GB_OK; i++) {
		const gb_node *node = &m->nodes[i];
		bool live = false;
		for (int k = 0; k < node->n_inputs; k++)
			live = live || (node->inputs[k] >= 0 && W.live[node->inputs[k]]);
		if (!live || strcmp(node->op_type, "Shape") == 0 || strcmp(node->op_type, "Size") == 0)
			continue; /* folded: one run computed it (an example's shape is fixed) */
		for (int o = 0; o < node->n_outputs; o++)
			if (node->outputs[o] >= 0)
				W.live[node->outputs[o]] = 1;
		st = write_node(&W, node);
	}
	if (st == GB_OK)
		st = W.par.st;
	if (st != GB_OK)
		goto done;
	/* the declarations, the params, the lines, then the outputs by name */
	int64_t in_dims[GB_MAX_DIMS];
	int nd = example_shape(&W, m->inputs[0], in_dims);
	if (gb_tensor_map_count(weights) > 0)
		gb_strbuf_printf(&head, "weights \"%s\"\n", weights_file ? weights_file : "weights.safetensors");
	gb_strbuf_printf(&head, "input %s: f32", W.names[m->inputs[0]]);
	put_ints(&head, in_dims, nd);
	gb_strbuf_printf(&head, "\n%s\n%s", params_text.data ? params_text.data : "", W.lines.data ? W.lines.data : "");
	for (int i = 0; i < m->n_outputs; i++) {
		int v = m->outputs[i];
		if (!W.live[v]) {
			st = gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: the output '%s' does not depend on the input", m->label,
			             m->values[v].name);
			goto done;
		}
		if (W.written[v])
			continue;
		char want_out[NAME_LEN], out[NAME_LEN]; /* an output that is another value's alias */
		gb_dc_identifier(m->values[v].name, "y", want_out, sizeof want_out);
		unique_name(&W, want_out, out);
		gb_strbuf_printf(&head, "output %s = %s\n", out, W.names[v]);
	}
	if (head.oom || params_text.oom || W.lines.oom) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	*text = head.data;
	head.data = NULL;
	*params = W.par.params;
done:
	free(head.data);
	free(params_text.data);
	free(W.lines.data);
	free(W.names);
	free(W.live);
	free(W.written);
	free(W.used);
	gb_session_free(W.run);
	gb_tensor_free(feed);
	return st;
}
