/*
 * disguise.c — rewrites a chain of dense ReLU layers into a network that
 * computes the same function with its structure hidden: split, rescaled,
 * permuted units, cancelling pairs and dead units (see disguise.h for the
 * transformations and why each preserves the function).
 *
 * The work happens on double-precision copies of the weights. After a layer
 * is done its weights are rounded to float32, so the interval bounds that
 * the next layer's dead units rely on are computed from the weights the
 * saved model really holds.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/rng.h"
#include "disguise.h"

/* ---- random numbers (src/core/rng.h) -------------------------------------------- */

static void rng_seed(gb_rng *r, uint64_t seed)
{
	gb_rng_seed(r, seed, 0x6469736775697365ULL); /* stream "disguise" */
}

/* Standard normal (Box–Muller; one value per call keeps the stream simple). */
static double rng_normal(gb_rng *r)
{
	double u = 1.0 - gb_rng_uniform(r); /* (0, 1] */
	double v = gb_rng_uniform(r);
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* A normal draw times scale that is not zero. */
static double rng_nonzero(gb_rng *r, double scale)
{
	for (;;) {
		double x = (double)(float)(rng_normal(r) * scale);
		if (x != 0.0)
			return x;
	}
}

/* ---- the chain ------------------------------------------------------------------ */

/* One dense layer y = W x + b; W is (out, in) row-major. */
typedef struct dense {
	int64_t out, in;
	double *w; // (out, in)
	double *b; // (out)
} dense;

typedef struct chain {
	int n;                /* dense layers */
	dense layers[GB_DISGUISE_MAX_LAYERS];
	int final_relu;       /* a Relu after the last dense layer */
	int input, output;    /* value indices in the source model */
} chain;

static void chain_free(chain *c)
{
	for (int i = 0; i < c->n; i++) {
		free(c->layers[i].w);
		free(c->layers[i].b);
	}
	c->n = 0;
}

static const char chain_form[] =
	"disguise takes a chain of dense layers (Gemm, or MatMul + Add) with Relu between them";

static int is_default_domain(const gb_node *node)
{
	return !node->domain || !node->domain[0] || strcmp(node->domain, "ai.onnx") == 0;
}

/* The only node reading value v, or -1 with *count set (0 or several). */
static int sole_consumer(const gb_model *m, int v, int *count)
{
	int found = -1;
	*count = 0;
	for (int i = 0; i < m->n_nodes; i++)
		for (int k = 0; k < m->nodes[i].n_inputs; k++)
			if (m->nodes[i].inputs[k] == v) {
				if (found != i)
					(*count)++;
				found = i;
			}
	return *count == 1 ? found : -1;
}

static const char *value_name(const gb_model *m, int v)
{
	return v >= 0 ? m->values[v].name : "(omitted)";
}

/* A float32 initializer, or NULL. */
static const gb_tensor *weight_of(const gb_model *m, int v)
{
	if (v < 0 || !m->values[v].init || m->values[v].init->dtype != GB_DTYPE_F32)
		return NULL;
	return m->values[v].init;
}

/* A bias initializer that broadcasts along rows of an (N, out) result:
 * shape [], [1], [out] or [1, out]. Adds beta times it into b. */
static gb_status add_bias(const gb_model *m, const gb_node *node, int v, double beta, dense *d, gb_error *err)
{
	const gb_tensor *t = weight_of(m, v);
	if (!t)
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
		                     "the bias '%s' is not a float32 initializer; %s", value_name(m, v), chain_form);
	int64_t n = gb_tensor_numel(t);
	int fits = (t->ndim <= 1 && (n == 1 || n == d->out)) || (t->ndim == 2 && t->dims[0] == 1 && n == d->out);
	if (!fits) {
		char shape[128];
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "the bias '%s' has shape %s, not [%lld]",
		                     m->values[v].name, gb_shape_str(t->ndim, t->dims, shape, sizeof shape),
		                     (long long)d->out);
	}
	const float *src = t->data;
	for (int64_t o = 0; o < d->out; o++)
		d->b[o] += beta * src[n == 1 ? 0 : o];
	return GB_OK;
}

/* Appends a dense layer reading `width` features, from weight value wv
 * ((out, in) when trans, else (in, out)) scaled by alpha. */
static gb_status add_dense(const gb_model *m, const gb_node *node, chain *c, int64_t width, int wv, int trans,
                           double alpha, gb_error *err)
{
	const gb_tensor *t = weight_of(m, wv);
	if (!t || t->ndim != 2)
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
		                     "the weight '%s' is not a 2-D float32 initializer; %s", value_name(m, wv),
		                     chain_form);
	int64_t in = trans ? t->dims[1] : t->dims[0], out = trans ? t->dims[0] : t->dims[1];
	if (in != width) {
		char shape[128];
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "the weight '%s' of shape %s does not take %lld features",
		                     m->values[wv].name, gb_shape_str(t->ndim, t->dims, shape, sizeof shape),
		                     (long long)width);
	}
	if (out < 1)
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "a dense layer without units");
	if (c->n == GB_DISGUISE_MAX_LAYERS)
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "more than %d dense layers",
		                     GB_DISGUISE_MAX_LAYERS);
	dense *d = &c->layers[c->n];
	size_t n_w;
	if (!gb_mul_size((size_t)in, (size_t)out, &n_w))
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "the weight is too large");
	d->w = malloc(n_w * sizeof *d->w);
	d->b = calloc((size_t)out, sizeof *d->b);
	c->n++;
	if (!d->w || !d->b)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	d->in = in;
	d->out = out;
	const float *src = t->data;
	for (int64_t o = 0; o < out; o++)
		for (int64_t i = 0; i < in; i++)
			d->w[o * in + i] = alpha * (trans ? src[o * in + i] : src[i * out + o]);
	return GB_OK;
}

/* Reads src into c, or explains why it is not a dense ReLU chain; used
 * (n_nodes flags, zeroed) marks the nodes on the chain. */
static gb_status chain_read(const gb_model *m, chain *c, unsigned char *used, gb_error *err)
{
	gb_status st;
	for (int i = 0; i < m->n_nodes; i++) {
		const gb_node *node = &m->nodes[i];
		const char *op = node->op_type;
		if (!is_default_domain(node) || (strcmp(op, "Gemm") != 0 && strcmp(op, "MatMul") != 0 &&
		                                 strcmp(op, "Add") != 0 && strcmp(op, "Relu") != 0))
			return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "%s, not %s", chain_form, op);
	}
	if (m->n_inputs != 1 || m->n_outputs != 1)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: the network has %d inputs and %d outputs; %s, one input and one output",
		               m->label, m->n_inputs, m->n_outputs, chain_form);
	if (m->opset > 0 && m->opset < 7)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: opset %lld is older than 7, the first whose Gemm broadcasts its bias",
		               m->label, (long long)m->opset);
	c->input = m->inputs[0];
	c->output = m->outputs[0];
	const gb_value *x = &m->values[c->input];
	if (x->dtype != GB_DTYPE_F32 || x->ndim != 2 || x->dims[1] < 1)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: the input '%s' is not float32 [N, features]; %s", m->label,
		               x->name, chain_form);
	int64_t width = x->dims[1];
	int cur = c->input, after_relu = 1; /* after_relu: the next node may be a dense layer */
	while (cur != c->output) {
		int count;
		int ni = sole_consumer(m, cur, &count);
		if (ni < 0)
			return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: value '%s' feeds %d nodes; %s", m->label,
			               m->values[cur].name, count, chain_form);
		const gb_node *node = &m->nodes[ni];
		const char *op = node->op_type;
		if (node->n_outputs != 1)
			return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "%d outputs; %s", node->n_outputs, chain_form);
		used[ni] = 1;
		if (strcmp(op, "Relu") == 0) {
			if (after_relu)
				return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "a Relu that does not follow a dense layer; %s",
				                     chain_form);
			after_relu = 1;
			cur = node->outputs[0];
			continue;
		}
		if (!after_relu)
			return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
			                     "a %s right after another dense layer, without a Relu between them; %s", op,
			                     chain_form);
		if (node->n_inputs < 2 || node->inputs[0] != cur || node->inputs[1] == cur)
			return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "%s does not take the chain as its first input; %s",
			                     op, chain_form);
		dense *d = &c->layers[c->n];
		if (strcmp(op, "Gemm") == 0) {
			int64_t trans_a, trans_b;
			float alpha, beta;
			if ((st = gb_attr_int(m, node, "transA", 0, &trans_a, err)) != GB_OK ||
			    (st = gb_attr_int(m, node, "transB", 0, &trans_b, err)) != GB_OK ||
			    (st = gb_attr_float(m, node, "alpha", 1.0f, &alpha, err)) != GB_OK ||
			    (st = gb_attr_float(m, node, "beta", 1.0f, &beta, err)) != GB_OK)
				return st;
			if (trans_a != 0)
				return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "transA %lld; %s", (long long)trans_a,
				                     chain_form);
			if ((st = add_dense(m, node, c, width, node->inputs[1], trans_b != 0, alpha, err)) != GB_OK)
				return st;
			if (node->n_inputs > 2 && node->inputs[2] >= 0 &&
			    (st = add_bias(m, node, node->inputs[2], beta, d, err)) != GB_OK)
				return st;
			cur = node->outputs[0];
		} else if (strcmp(op, "MatMul") == 0) {
			if ((st = add_dense(m, node, c, width, node->inputs[1], 0, 1.0, err)) != GB_OK)
				return st;
			cur = node->outputs[0];
			int add = cur == c->output ? -1 : sole_consumer(m, cur, &count);
			if (add >= 0 && strcmp(m->nodes[add].op_type, "Add") == 0) {
				const gb_node *an = &m->nodes[add];
				if (an->n_inputs != 2 || an->inputs[0] == an->inputs[1])
					return gb_node_error(err, m, an, GB_STATUS_UNSUPPORTED, "an Add that is not matmul + bias; %s",
					                     chain_form);
				int bias = an->inputs[0] == cur ? an->inputs[1] : an->inputs[0];
				if ((st = add_bias(m, an, bias, 1.0, d, err)) != GB_OK)
					return st;
				used[add] = 1;
				cur = an->outputs[0];
			}
		} else {
			return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "an %s that does not add a bias to a MatMul; %s",
			                     op, chain_form);
		}
		width = d->out;
		after_relu = 0;
	}
	c->final_relu = after_relu && c->n > 0;
	for (int i = 0; i < m->n_nodes; i++)
		if (!used[i])
			return gb_node_error(err, m, &m->nodes[i], GB_STATUS_UNSUPPORTED,
			                     "a node off the chain from '%s' to '%s'; %s", x->name, m->values[c->output].name,
			                     chain_form);
	if (c->n < 2)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: the network has no hidden ReLU layer to disguise", m->label);
	return GB_OK;
}

/* ---- the rewrite ----------------------------------------------------------------- */

static double rms(const double *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i] * v[i];
	return n ? sqrt(s / (double)n) : 0.0;
}

static void round_to_float(double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (double)(float)v[i];
}

/* Bounds of relu(W x + b) for x in [lo, hi] componentwise (interval
 * arithmetic, in double on the float32-exact weights). */
static void relu_bounds(const dense *d, const double *lo, const double *hi, double *out_lo, double *out_hi)
{
	for (int64_t o = 0; o < d->out; o++) {
		const double *w = d->w + o * d->in;
		double zl = d->b[o], zh = d->b[o];
		for (int64_t i = 0; i < d->in; i++) {
			double a = w[i] * lo[i], b = w[i] * hi[i];
			zl += a < b ? a : b;
			zh += a < b ? b : a;
		}
		out_lo[o] = zl > 0 ? zl : 0;
		out_hi[o] = zh > 0 ? zh : 0;
	}
}

/* A bias that keeps w·x + bias <= 0 for x in [lo, hi], even in float32:
 * below minus the interval upper bound of w·x by 1% of sum |w_i|·max|x_i|
 * plus 1e-3. Float32 evaluation errs by at most about n·2^-24 times that
 * sum (n the fan-in), so the margin covers fan-ins far beyond 10^4 and the
 * rounding of earlier layers. Rounded towards minus infinity. */
static double dead_bias(const double *w, int64_t n, const double *lo, const double *hi)
{
	double upper = 0, mag = 0;
	for (int64_t i = 0; i < n; i++) {
		double a = w[i] * lo[i], b = w[i] * hi[i];
		upper += a > b ? a : b;
		mag += fabs(w[i]) * (fabs(lo[i]) > fabs(hi[i]) ? fabs(lo[i]) : fabs(hi[i]));
	}
	double bias = -(upper + 0.01 * mag + 1e-3);
	float f = (float)bias;
	if ((double)f > bias)
		f = nextafterf(f, -INFINITY);
	return (double)f;
}

/* Rewrites hidden layer l (the units of layers[l], the columns of
 * layers[l + 1]); lo/hi bound layer l's inputs. */
static gb_status disguise_layer(chain *c, int l, const gb_disguise_options *opt, gb_rng *r, const double *lo,
                                const double *hi, const char *label, gb_error *err)
{
	dense *d = &c->layers[l], *next = &c->layers[l + 1];
	int64_t H = d->out, in = d->in, O = next->out, N = opt->strength;
	int64_t Hn = H + 4 * N;
	double *rows = NULL, *bias = NULL, *outg = NULL, *new_next = NULL;
	int64_t *perm = NULL;
	size_t n_rows, n_outg;
	gb_status st = GB_OK;
	if (!gb_mul_size((size_t)Hn, (size_t)in, &n_rows) || !gb_mul_size((size_t)Hn, (size_t)O, &n_outg) ||
	    n_rows > SIZE_MAX / sizeof(double) || n_outg > SIZE_MAX / sizeof(double)) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: the disguised layer %d is too large", label, l + 1);
		goto fail;
	}
	rows = malloc(n_rows * sizeof *rows);    // (Hn, in)  incoming weights, unit-major
	bias = malloc((size_t)Hn * sizeof *bias); // (Hn)
	outg = malloc(n_outg * sizeof *outg);    // (Hn, O)   outgoing weights, unit-major
	new_next = malloc(n_outg * sizeof *new_next); // (O, Hn)
	perm = malloc((size_t)Hn * sizeof *perm);
	if (!rows || !bias || !outg || !new_next || !perm) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory disguising layer %d", label, l + 1);
		goto fail;
	}
	/* the new units' random weights have the scale of the layer's own */
	double sigma_in = rms(d->w, (size_t)(H * in)), sigma_b = rms(d->b, (size_t)H);
	double sigma_out = rms(next->w, (size_t)(O * H));
	if (sigma_in == 0)
		sigma_in = 1;
	if (sigma_b == 0)
		sigma_b = sigma_in;
	if (sigma_out == 0)
		sigma_out = 1;
	memcpy(rows, d->w, (size_t)(H * in) * sizeof *rows);
	memcpy(bias, d->b, (size_t)H * sizeof *bias);
	for (int64_t u = 0; u < H; u++)
		for (int64_t o = 0; o < O; o++)
			outg[u * O + o] = next->w[o * H + u];
	int64_t n = H;

	/* split: relu(z)·v = relu(z)·αv + relu(z)·(1−α)v */
	for (int64_t k = 0; k < N; k++, n++) {
		int64_t u = gb_rng_below(r, n);
		double alpha = 0.25 + 0.5 * gb_rng_uniform(r);
		memcpy(rows + n * in, rows + u * in, (size_t)in * sizeof *rows);
		bias[n] = bias[u];
		for (int64_t o = 0; o < O; o++) {
			outg[n * O + o] = (1.0 - alpha) * outg[u * O + o];
			outg[u * O + o] *= alpha;
		}
	}
	/* rescale: relu(s·z)·v/s = relu(z)·v for s > 0 */
	for (int64_t u = 0; u < n; u++) {
		double s = exp((2.0 * gb_rng_uniform(r) - 1.0) * log(3.0));
		for (int64_t i = 0; i < in; i++)
			rows[u * in + i] *= s;
		bias[u] *= s;
		for (int64_t o = 0; o < O; o++)
			outg[u * O + o] /= s;
	}
	/* cancelling pairs: relu(z)·v + relu(z)·(−v) = 0; both units get the
	 * same float32 weights, so they compute the same bits */
	for (int64_t k = 0; k < N; k++, n += 2) {
		for (int64_t i = 0; i < in; i++)
			rows[n * in + i] = rows[(n + 1) * in + i] = (double)(float)(rng_normal(r) * sigma_in);
		bias[n] = bias[n + 1] = (double)(float)(rng_normal(r) * sigma_b);
		for (int64_t o = 0; o < O; o++) {
			double v = rng_nonzero(r, sigma_out);
			outg[n * O + o] = v;
			outg[(n + 1) * O + o] = -v;
		}
	}
	/* dead units: pre-activation <= 0 on the whole box */
	for (int64_t k = 0; k < N; k++, n++) {
		for (int64_t i = 0; i < in; i++)
			rows[n * in + i] = (double)(float)(rng_normal(r) * sigma_in);
		bias[n] = dead_bias(rows + n * in, in, lo, hi);
		for (int64_t o = 0; o < O; o++)
			outg[n * O + o] = rng_nonzero(r, sigma_out);
	}
	GB_ASSERT(n == Hn);
	/* permute */
	for (int64_t u = 0; u < Hn; u++)
		perm[u] = u;
	for (int64_t u = Hn - 1; u > 0; u--) {
		int64_t j = gb_rng_below(r, u + 1), t = perm[u];
		perm[u] = perm[j];
		perm[j] = t;
	}
	double *w_new = malloc(n_rows * sizeof *w_new); // (Hn, in)
	double *b_new = malloc((size_t)Hn * sizeof *b_new);
	if (!w_new || !b_new) {
		free(w_new);
		free(b_new);
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory disguising layer %d", label, l + 1);
		goto fail;
	}
	for (int64_t u = 0; u < Hn; u++) {
		memcpy(w_new + u * in, rows + perm[u] * in, (size_t)in * sizeof *w_new);
		b_new[u] = bias[perm[u]];
		for (int64_t o = 0; o < O; o++)
			new_next[o * Hn + u] = outg[perm[u] * O + o];
	}
	free(d->w);
	free(d->b);
	free(next->w);
	d->w = w_new;
	d->b = b_new;
	d->out = Hn;
	next->w = new_next;
	next->in = Hn;
	new_next = NULL;
	round_to_float(d->w, n_rows);
	round_to_float(d->b, (size_t)Hn);
fail:
	free(rows);
	free(bias);
	free(outg);
	free(new_next);
	free(perm);
	return st;
}

/* ---- the output model ------------------------------------------------------------ */

static gb_status copy_dim_params(gb_model *dst, gb_value *to, const gb_value *from)
{
	for (int i = 0; i < from->ndim && i < GB_MAX_DIMS; i++)
		if (from->dim_param[i] && !(to->dim_param[i] = gb_arena_strdup(&dst->arena, from->dim_param[i])))
			return GB_STATUS_NOMEM;
	return GB_OK;
}

/* A copy of value `from` of src (name, type, shape) in dst, or -1. */
static int copy_value(gb_model *dst, const gb_model *src, int from)
{
	const gb_value *v = &src->values[from];
	int id = gb_model_add_value(dst, v->name, v->dtype, v->ndim, v->ndim > 0 ? v->dims : NULL);
	if (id >= 0 && copy_dim_params(dst, &dst->values[id], v) != GB_OK)
		return -1;
	return id;
}

static gb_status add_param(gb_model *m, const char *name, int ndim, const int64_t *dims, const double *data,
                           int *id, gb_error *err)
{
	gb_tensor *t = NULL;
	*id = gb_model_add_value(m, name, GB_DTYPE_F32, ndim, dims);
	if (*id < 0)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", m->label);
	gb_status st = gb_tensor_new(GB_DTYPE_F32, ndim, dims, &t, err);
	if (st != GB_OK)
		return st;
	float *w = t->data;
	for (int64_t i = 0; i < gb_tensor_numel(t); i++)
		w[i] = (float)data[i];
	st = gb_model_set_init(m, *id, t, err);
	gb_tensor_free(t);
	return st;
}

/* An intermediate [batch, width] value; batch as the input declares it. */
static int add_hidden(gb_model *m, const char *name, const gb_value *x, int64_t width)
{
	int64_t dims[2] = {x->dims[0], width};
	int id = gb_model_add_value(m, name, GB_DTYPE_F32, 2, dims);
	if (id >= 0 && x->dim_param[0] && !(m->values[id].dim_param[0] = gb_arena_strdup(&m->arena, x->dim_param[0])))
		return -1;
	return id;
}

static gb_status build_model(const gb_model *src, const chain *c, gb_model **out, gb_error *err)
{
	gb_model *m = NULL;
	gb_status st = gb_model_new_empty(src->label, &m, err);
	if (st != GB_OK)
		return st;
	m->opset = src->opset;
	m->ir_version = src->ir_version;
	m->graph_name = "network";
	m->producer_name = "glassbox";
	const gb_value *x = &src->values[c->input];
	const char *in_name = x->name, *out_name = src->values[c->output].name;
	int input = copy_value(m, src, c->input);
	if (input < 0)
		goto nomem;
	int cur = input;
	for (int l = 0; l < c->n; l++) {
		const dense *d = &c->layers[l];
		char name[48], wname[64], bname[64], rname[48];
		snprintf(name, sizeof name, "layer%d", l + 1);
		snprintf(wname, sizeof wname, "layer%d.weight", l + 1);
		snprintf(bname, sizeof bname, "layer%d.bias", l + 1);
		snprintf(rname, sizeof rname, "relu%d", l + 1);
		const char *ours[] = {name, wname, bname, rname};
		for (int k = 0; k < 4; k++)
			if (strcmp(ours[k], in_name) == 0 || strcmp(ours[k], out_name) == 0) {
				st = gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: the network's input or output is named '%s', a name "
				             "disguise gives its own values", src->label, ours[k]);
				goto fail;
			}
		int64_t wdims[2] = {d->out, d->in};
		int w, b;
		if ((st = add_param(m, wname, 2, wdims, d->w, &w, err)) != GB_OK ||
		    (st = add_param(m, bname, 1, &d->out, d->b, &b, err)) != GB_OK)
			goto fail;
		int last = l == c->n - 1, relu = !last || c->final_relu;
		int y = last && !relu ? copy_value(m, src, c->output) : add_hidden(m, name, x, d->out);
		if (y < 0)
			goto nomem;
		int ins[3] = {cur, w, b};
		int node = gb_model_add_node(m, name, "Gemm", "", 3, ins, 1, &y);
		if (node < 0)
			goto nomem;
		gb_attr trans_b = {.name = "transB", .type = GB_ATTR_INT, .i = 1};
		if ((st = gb_node_add_attr(m, &m->nodes[node], &trans_b, err)) != GB_OK)
			goto fail;
		cur = y;
		if (relu) {
			int r = last ? copy_value(m, src, c->output) : add_hidden(m, rname, x, d->out);
			if (r < 0 || gb_model_add_node(m, rname, "Relu", "", 1, &cur, 1, &r) < 0)
				goto nomem;
			cur = r;
		}
	}
	if ((st = gb_model_set_io(m, 1, &input, 1, &cur, err)) != GB_OK)
		goto fail;
	*out = m;
	return GB_OK;
nomem:
	st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory building the disguised network", src->label);
fail:
	gb_model_free(m);
	return st;
}

/* ---- entry point ----------------------------------------------------------------- */

gb_status gb_disguise(const gb_model *src, const gb_disguise_options *opt, gb_model **out,
                      gb_disguise_summary *summary, gb_error *err)
{
	*out = NULL;
	if (!(opt->box_lo < opt->box_hi) || !isfinite(opt->box_lo) || !isfinite(opt->box_hi))
		return gb_fail(err, GB_STATUS_USAGE, "the input box [%g, %g] is empty or not finite", opt->box_lo,
		               opt->box_hi);
	if (opt->strength < 0 || opt->strength > GB_DISGUISE_MAX_STRENGTH)
		return gb_fail(err, GB_STATUS_USAGE, "strength %lld is outside [0, %d]", (long long)opt->strength,
		               GB_DISGUISE_MAX_STRENGTH);
	if (!(opt->noise >= 0) || !isfinite(opt->noise))
		return gb_fail(err, GB_STATUS_USAGE, "noise %g is not a finite number >= 0", opt->noise);
	chain *c = calloc(1, sizeof *c);
	unsigned char *used = calloc((size_t)src->n_nodes + 1, 1);
	double *lo = NULL, *hi = NULL, *next_lo = NULL, *next_hi = NULL; /* bounds of a layer's inputs */
	gb_status st;
	if (!c || !used) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", src->label);
		goto fail;
	}
	if ((st = chain_read(src, c, used, err)) != GB_OK)
		goto fail;
	if (summary) {
		summary->n_layers = c->n;
		for (int l = 0; l < c->n; l++)
			summary->width_before[l] = c->layers[l].out;
	}
	gb_rng r;
	rng_seed(&r, opt->seed);
	int64_t widest = c->layers[0].in;
	for (int l = 0; l < c->n; l++)
		if (c->layers[l].out + 4 * opt->strength > widest)
			widest = c->layers[l].out + 4 * opt->strength;
	lo = malloc((size_t)widest * sizeof *lo);
	hi = malloc((size_t)widest * sizeof *hi);
	next_lo = malloc((size_t)widest * sizeof *next_lo);
	next_hi = malloc((size_t)widest * sizeof *next_hi);
	if (!lo || !hi || !next_lo || !next_hi) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", src->label);
		goto fail;
	}
	for (int64_t i = 0; i < c->layers[0].in; i++) {
		lo[i] = opt->box_lo;
		hi[i] = opt->box_hi;
	}
	for (int l = 0; l + 1 < c->n; l++) {
		if ((st = disguise_layer(c, l, opt, &r, lo, hi, src->label, err)) != GB_OK)
			goto fail;
		relu_bounds(&c->layers[l], lo, hi, next_lo, next_hi);
		double *swap = lo;
		lo = next_lo;
		next_lo = swap;
		swap = hi;
		hi = next_hi;
		next_hi = swap;
	}
	dense *last = &c->layers[c->n - 1];
	round_to_float(last->w, (size_t)(last->out * last->in));
	round_to_float(last->b, (size_t)last->out);
	if (opt->noise > 0) {
		gb_rng noise;
		rng_seed(&noise, opt->seed ^ 0x6E6F697365ULL); /* "noise": independent of the rewrite's draws */
		for (int l = 0; l < c->n; l++) {
			dense *d = &c->layers[l];
			for (int64_t i = 0; i < d->out * d->in; i++)
				d->w[i] += opt->noise * rng_normal(&noise);
			for (int64_t o = 0; o < d->out; o++)
				d->b[o] += opt->noise * rng_normal(&noise);
		}
	}
	if (summary)
		for (int l = 0; l < c->n; l++)
			summary->width_after[l] = c->layers[l].out;
	st = build_model(src, c, out, err);
fail:
	free(lo);
	free(hi);
	free(next_lo);
	free(next_hi);
	free(used);
	if (c)
		chain_free(c);
	free(c);
	return st;
}
