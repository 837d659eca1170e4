/*
 * norm.c — normalisations: BatchNormalization (inference form),
 * LayerNormalization, Softmax and LogSoftmax, forward and backward.
 *
 * BatchNormalization uses the running statistics it is given (Y = scale *
 * (X - mean) / sqrt(var + epsilon) + B per channel) and gives gradients for
 * all five inputs: mean and var are weights here like scale and B. Training
 * mode (training_mode = 1, the statistics outputs, is_test = 0 before opset 7)
 * is refused. Before opset 9, spatial = 0 means one statistic per (C, D1, …)
 * element rather than per channel; that is the same kernel with the channel
 * dim widened, so it is supported.
 *
 * LayerNormalization normalises over dims [axis, rank) with double-precision
 * statistics, and writes the optional Mean and InvStdDev outputs (the
 * backward takes gradients through all three outputs). Scale and B broadcast
 * to X's shape (usually they have the normalised shape; anything that would
 * enlarge Y is refused).
 *
 * Softmax / LogSoftmax: from opset 13 over one axis (default -1); before it
 * the input is viewed as 2-D at axis (default 1) and the softmax runs over
 * the flattened trailing block. Both are (outer, L, inner) problems: the
 * reduced extent L with stride inner; inner == 1 is the contiguous fast
 * path. The row maximum is subtracted before exp. Backward recomputes the
 * forward values rather than keeping them.
 *
 * m->opset 0 (a graph built in memory) means the newest semantics.
 */
#include <math.h>
#include <string.h>

#include "../ops.h"

static int opset_at_least(const gb_model *m, int64_t version)
{
	return m->opset <= 0 || m->opset >= version;
}

/* gb_out reports its failure in err; without an err slot say NOMEM. */
static gb_status out_failed(const gb_error *err)
{
	return err ? err->status : GB_STATUS_NOMEM;
}

static gb_status no_memory(gb_exec *x, const gb_node *node, gb_error *err)
{
	return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "out of memory");
}

static int output_bound(const gb_node *node, int k)
{
	return k < node->n_outputs && node->outputs[k] >= 0;
}

/* ---- double-precision sums ---------------------------------------------------------- */

/* Σ x in double, in four lanes so that the adds do not wait on each other. */
static double sum_d(const float *x, int64_t n)
{
	double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
	int64_t j = 0;
	for (; j + 4 <= n; j += 4) {
		a0 += x[j];
		a1 += x[j + 1];
		a2 += x[j + 2];
		a3 += x[j + 3];
	}
	for (; j < n; j++)
		a0 += x[j];
	return (a0 + a1) + (a2 + a3);
}

/* Σ g (x - mu) in double, four lanes. */
static double sum_prod_dev_d(const float *g, const float *x, double mu, int64_t n)
{
	double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
	int64_t j = 0;
	for (; j + 4 <= n; j += 4) {
		a0 += (double)g[j] * (x[j] - mu);
		a1 += (double)g[j + 1] * (x[j + 1] - mu);
		a2 += (double)g[j + 2] * (x[j + 2] - mu);
		a3 += (double)g[j + 3] * (x[j + 3] - mu);
	}
	for (; j < n; j++)
		a0 += (double)g[j] * (x[j] - mu);
	return (a0 + a1) + (a2 + a3);
}

/* ---- BatchNormalization ------------------------------------------------------------ */

typedef struct batchnorm_params {
	float epsilon;
	int spatial; /* 0: statistics per (C, D1, …) element (opset < 9) */
} batchnorm_params;

static gb_status batchnorm_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	batchnorm_params *p = gb_arena_calloc(&m->arena, 1, sizeof *p);
	if (!p)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	int64_t training, spatial, is_test;
	gb_status st;
	if ((st = gb_attr_float(m, node, "epsilon", 1e-5f, &p->epsilon, err)) != GB_OK ||
	    (st = gb_attr_int(m, node, "training_mode", 0, &training, err)) != GB_OK ||
	    (st = gb_attr_int(m, node, "spatial", 1, &spatial, err)) != GB_OK ||
	    (st = gb_attr_int(m, node, "is_test", opset_at_least(m, 7) ? 1 : 0, &is_test, err)) != GB_OK)
		return st;
	if (!(p->epsilon >= 0.0f))
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "epsilon is %g", (double)p->epsilon);
	if (training != 0 && training != 1)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "training_mode is %lld, not 0 or 1",
		                     (long long)training);
	if (training)
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
		                     "training mode (batch statistics) is not supported, only inference");
	if (!is_test && !opset_at_least(m, 7))
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
		                     "is_test = 0 (training mode, batch statistics) is not supported, only inference");
	for (int k = 1; k < node->n_outputs; k++)
		if (node->outputs[k] >= 0)
			return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
			                     "output %d (a training statistic) is not supported, only inference", k);
	if (spatial != 0 && spatial != 1)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "spatial is %lld, not 0 or 1", (long long)spatial);
	p->spatial = (int)spatial;
	node->params = p;
	return GB_OK;
}

/* X viewed as (N, C, inner); the statistics have C entries each. */
static gb_status batchnorm_shape(gb_exec *x, const gb_node *node, int64_t *N, int64_t *C, int64_t *inner,
                                 gb_error *err)
{
	const batchnorm_params *p = node->params;
	const gb_model *m = gb_exec_model(x);
	const gb_tensor *X = gb_in(x, node, 0);
	if (X->dtype != GB_DTYPE_F32)
		return gb_dtype_unsupported(x, node, X, err);
	if (X->ndim < 2)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input has rank %d; it needs (N, C, …)", X->ndim);
	*N = X->dims[0];
	*C = X->dims[1];
	*inner = 1;
	for (int i = 2; i < X->ndim; i++)
		*inner *= X->dims[i];
	if (!p->spatial) {
		*C *= *inner;
		*inner = 1;
	}
	static const char *const names[5] = {"X", "scale", "B", "mean", "var"};
	for (int k = 1; k < 5; k++) {
		const gb_tensor *t = gb_in(x, node, k);
		if (!t)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input '%s' is missing", names[k]);
		if (t->dtype != GB_DTYPE_F32)
			return gb_dtype_unsupported(x, node, t, err);
		if (gb_numel(t) != *C)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input '%s' has %lld values for %lld %s",
			                     names[k], (long long)gb_numel(t), (long long)*C,
			                     p->spatial ? "channels" : "elements per sample (spatial = 0)");
	}
	return GB_OK;
}

static gb_status batchnorm_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const batchnorm_params *p = node->params;
	int64_t N, C, inner;
	gb_status st = batchnorm_shape(x, node, &N, &C, &inner, err);
	if (st != GB_OK)
		return st;
	const gb_tensor *X = gb_in(x, node, 0);
	const float *scale = gb_in(x, node, 1)->data, *bias = gb_in(x, node, 2)->data; // (C)
	const float *mean = gb_in(x, node, 3)->data, *var = gb_in(x, node, 4)->data;   // (C)
	gb_tensor *Y = gb_out(x, node, 0, GB_DTYPE_F32, X->ndim, X->dims, err);
	if (!Y)
		return out_failed(err);
	/* Y = X * a + b with a = scale / sqrt(var + eps), b = B - mean * a. */
	float *ab = gb_scratch(x, (size_t)(C ? C : 1) * 2 * sizeof(float)); // (2, C)
	if (!ab)
		return no_memory(x, node, err);
	for (int64_t c = 0; c < C; c++) {
		double a = (double)scale[c] / sqrt((double)var[c] + (double)p->epsilon);
		ab[c] = (float)a;
		ab[C + c] = (float)((double)bias[c] - (double)mean[c] * a);
	}
	const float *xd = X->data; // (N, C, inner)
	float *yd = Y->data;       // (N, C, inner)
	for (int64_t n = 0; n < N; n++)
		for (int64_t c = 0; c < C; c++) {
			const float a = ab[c], b = ab[C + c];
			const float *xr = xd + (n * C + c) * inner;
			float *yr = yd + (n * C + c) * inner;
			for (int64_t i = 0; i < inner; i++)
				yr[i] = xr[i] * a + b;
		}
	return GB_OK;
}

static gb_status batchnorm_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const batchnorm_params *p = node->params;
	const gb_tensor *GY = gb_gout(x, node, 0);
	if (!GY)
		return GB_OK;
	int64_t N, C, inner;
	gb_status st = batchnorm_shape(x, node, &N, &C, &inner, err);
	if (st != GB_OK)
		return st;
	const float *xd = gb_in(x, node, 0)->data, *gy = GY->data; // (N, C, inner)
	const float *scale = gb_in(x, node, 1)->data;              // (C)
	const float *mean = gb_in(x, node, 3)->data, *var = gb_in(x, node, 4)->data;
	gb_tensor *gin[5];
	for (int k = 0; k < 5; k++)
		gin[k] = gb_gin(x, node, k);
	float *gx = gin[0] ? gin[0]->data : NULL;
	int want_stats = gin[1] || gin[2] || gin[3] || gin[4];
	for (int64_t c = 0; c < C; c++) {
		double r = 1.0 / sqrt((double)var[c] + (double)p->epsilon);
		float a = (float)((double)scale[c] * r), mu = mean[c];
		double sum_g = 0.0, sum_gxc = 0.0; /* Σ gy and Σ gy (x - mean) over the channel */
		for (int64_t n = 0; n < N; n++) {
			const float *xr = xd + (n * C + c) * inner, *gr = gy + (n * C + c) * inner;
			if (want_stats) {
				sum_g += sum_d(gr, inner);
				sum_gxc += sum_prod_dev_d(gr, xr, mu, inner);
			}
			if (gx) {
				float *gxr = gx + (n * C + c) * inner;
				for (int64_t i = 0; i < inner; i++)
					gxr[i] += gr[i] * a;
			}
		}
		if (gin[1])
			((float *)gin[1]->data)[c] += (float)(sum_gxc * r);
		if (gin[2])
			((float *)gin[2]->data)[c] += (float)sum_g;
		if (gin[3])
			((float *)gin[3]->data)[c] -= (float)(sum_g * (double)scale[c] * r);
		if (gin[4])
			((float *)gin[4]->data)[c] -= (float)(0.5 * sum_gxc * (double)scale[c] * r * r * r);
	}
	return GB_OK;
}

/* ---- LayerNormalization -------------------------------------------------------------- */

typedef struct layernorm_params {
	int64_t axis;
	float epsilon;
} layernorm_params;

static gb_status layernorm_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	layernorm_params *p = gb_arena_calloc(&m->arena, 1, sizeof *p);
	if (!p)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	int64_t stash;
	gb_status st;
	if ((st = gb_attr_int(m, node, "axis", -1, &p->axis, err)) != GB_OK ||
	    (st = gb_attr_float(m, node, "epsilon", 1e-5f, &p->epsilon, err)) != GB_OK ||
	    (st = gb_attr_int(m, node, "stash_type", 1, &stash, err)) != GB_OK)
		return st;
	if (!(p->epsilon >= 0.0f))
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "epsilon is %g", (double)p->epsilon);
	/* The statistics are computed in double: as exact as float (1) or double (11) stashing. */
	if (stash != 1 && stash != 11)
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
		                     "stash_type %lld is not supported (1 = float and 11 = double are)", (long long)stash);
	node->params = p;
	return GB_OK;
}

/* How Scale or B reaches element i = (row, j) of X seen as (outer, inner):
 * p[j], or p[map[i]] for a broadcast that varies along the outer dims. */
typedef struct bcast {
	const float *p;
	int64_t *map; /* (outer * inner), or NULL */
} bcast;

static inline int64_t bcast_at(const bcast *b, int64_t i, int64_t j)
{
	return b->map ? b->map[i] : j;
}

/* Sets b for input k; an absent input becomes inner copies of fill. */
static gb_status layernorm_bcast(gb_exec *x, const gb_node *node, int k, const gb_tensor *X, int axis,
                                 int64_t inner, float fill, bcast *b, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const gb_tensor *P = gb_in(x, node, k);
	b->map = NULL;
	if (!P) {
		float *c = gb_scratch(x, (size_t)(inner ? inner : 1) * sizeof *c); // (inner)
		if (!c)
			return no_memory(x, node, err);
		for (int64_t j = 0; j < inner; j++)
			c[j] = fill;
		b->p = c;
		return GB_OK;
	}
	if (P->dtype != GB_DTYPE_F32)
		return gb_dtype_unsupported(x, node, P, err);
	const char *name = k == 1 ? "Scale" : "B";
	for (int i = 0; i < P->ndim - X->ndim; i++)
		if (P->dims[i] != 1)
			return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
			                     "input '%s' has more dims than X and would broadcast Y to a larger shape", name);
	int64_t pstride[GB_MAX_DIMS]; /* P's stride along each of X's dims (right-aligned), 0 where broadcast */
	int only_normalised = 1;
	int64_t stride = 1;
	for (int d = X->ndim - 1; d >= 0; d--) {
		int pd = P->ndim - X->ndim + d;
		int64_t size = pd >= 0 ? P->dims[pd] : 1;
		if (size != X->dims[d] && size != 1)
			return gb_node_error(err, m, node, X->dims[d] == 1 ? GB_STATUS_UNSUPPORTED : GB_STATUS_BAD_FILE,
			                     "input '%s' (dim %d of size %lld) does not broadcast to X (size %lld)%s", name, d,
			                     (long long)size, (long long)X->dims[d],
			                     X->dims[d] == 1 ? " without enlarging Y" : "");
		pstride[d] = size == 1 ? 0 : stride;
		stride *= size;
		if ((d < axis && size != 1) || (d >= axis && size != X->dims[d]))
			only_normalised = 0;
	}
	b->p = P->data;
	if (only_normalised)
		return GB_OK;
	/* General broadcast: an offset per element of X. */
	int64_t n = gb_numel(X);
	b->map = gb_scratch(x, (size_t)(n ? n : 1) * sizeof *b->map);
	if (!b->map)
		return no_memory(x, node, err);
	int64_t idx[GB_MAX_DIMS] = {0}, off = 0;
	for (int64_t i = 0; i < n; i++) {
		b->map[i] = off;
		for (int d = X->ndim - 1; d >= 0; d--) {
			off += pstride[d];
			if (++idx[d] < X->dims[d])
				break;
			off -= pstride[d] * idx[d];
			idx[d] = 0;
		}
	}
	return GB_OK;
}

typedef struct layernorm_geom {
	int axis;
	int64_t outer, inner;
	int64_t stat_dims[GB_MAX_DIMS]; /* shape of Mean and InvStdDev */
	bcast scale, bias;
} layernorm_geom;

static gb_status layernorm_geometry(gb_exec *x, const gb_node *node, layernorm_geom *g, gb_error *err)
{
	const layernorm_params *p = node->params;
	const gb_tensor *X = gb_in(x, node, 0);
	if (X->dtype != GB_DTYPE_F32)
		return gb_dtype_unsupported(x, node, X, err);
	g->axis = gb_axis(p->axis, X->ndim);
	if (g->axis < 0)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE, "axis %lld is out of range for rank %d",
		                     (long long)p->axis, X->ndim);
	g->outer = g->inner = 1;
	for (int d = 0; d < X->ndim; d++) {
		if (d < g->axis)
			g->outer *= X->dims[d];
		else
			g->inner *= X->dims[d];
		g->stat_dims[d] = d < g->axis ? X->dims[d] : 1;
	}
	gb_status st = layernorm_bcast(x, node, 1, X, g->axis, g->inner, 1.0f, &g->scale, err);
	if (st == GB_OK)
		st = layernorm_bcast(x, node, 2, X, g->axis, g->inner, 0.0f, &g->bias, err);
	return st;
}

/* Mean and 1 / sqrt(var + eps) of one row, in one pass: Σx and Σx² in
 * double (x² of a float is exact there), var = E[x²] - mean², which loses
 * nothing that float output could show unless |mean| / std exceeds ~1e4. */
static void row_stats(const float *x, int64_t n, float epsilon, double *mean, double *inv_std)
{
	double s0 = 0.0, s1 = 0.0, q0 = 0.0, q1 = 0.0;
	int64_t j = 0;
	for (; j + 2 <= n; j += 2) {
		double a = x[j], b = x[j + 1];
		s0 += a;
		s1 += b;
		q0 += a * a;
		q1 += b * b;
	}
	for (; j < n; j++) {
		s0 += x[j];
		q0 += (double)x[j] * x[j];
	}
	double mu = n ? (s0 + s1) / (double)n : 0.0;
	double var = n ? (q0 + q1) / (double)n - mu * mu : 0.0;
	*mean = mu;
	*inv_std = 1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)epsilon);
}

static gb_status layernorm_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const layernorm_params *p = node->params;
	layernorm_geom g;
	gb_status st = layernorm_geometry(x, node, &g, err);
	if (st != GB_OK)
		return st;
	const gb_tensor *X = gb_in(x, node, 0);
	gb_tensor *Y = gb_out(x, node, 0, GB_DTYPE_F32, X->ndim, X->dims, err);
	if (!Y)
		return out_failed(err);
	float *mean_out = NULL, *inv_out = NULL; // (outer)
	if (output_bound(node, 1)) {
		gb_tensor *t = gb_out(x, node, 1, GB_DTYPE_F32, X->ndim, g.stat_dims, err);
		if (!t)
			return out_failed(err);
		mean_out = t->data;
	}
	if (output_bound(node, 2)) {
		gb_tensor *t = gb_out(x, node, 2, GB_DTYPE_F32, X->ndim, g.stat_dims, err);
		if (!t)
			return out_failed(err);
		inv_out = t->data;
	}
	const float *xd = X->data; // (outer, inner)
	float *yd = Y->data;       // (outer, inner)
	const float *sp = g.scale.p, *bp = g.bias.p;
	for (int64_t o = 0; o < g.outer; o++) {
		const float *xr = xd + o * g.inner;
		float *yr = yd + o * g.inner;
		double mu, r;
		row_stats(xr, g.inner, p->epsilon, &mu, &r);
		if (mean_out)
			mean_out[o] = (float)mu;
		if (inv_out)
			inv_out[o] = (float)r;
		const float fmu = (float)mu, fr = (float)r;
		if (!g.scale.map && !g.bias.map) {
			for (int64_t j = 0; j < g.inner; j++)
				yr[j] = (xr[j] - fmu) * fr * sp[j] + bp[j];
		} else {
			for (int64_t j = 0; j < g.inner; j++) {
				int64_t i = o * g.inner + j;
				yr[j] = (xr[j] - fmu) * fr * sp[bcast_at(&g.scale, i, j)] + bp[bcast_at(&g.bias, i, j)];
			}
		}
	}
	return GB_OK;
}

/*
 * With xhat = (x - mu) r, y = xhat s + b over a row of n:
 *   dx = r (gxhat - mean(gxhat) - xhat mean(gxhat xhat)),  gxhat = gy s
 * plus, from the Mean output, gmean / n, and from InvStdDev (dr/dx = -r^2 xhat / n),
 * -ginv r^2 xhat / n. So dx = r gxhat + c0 + c1 xhat per row.
 */
static gb_status layernorm_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const layernorm_params *p = node->params;
	layernorm_geom g;
	gb_status st = layernorm_geometry(x, node, &g, err);
	if (st != GB_OK)
		return st;
	const gb_tensor *GY = gb_gout(x, node, 0), *GM = gb_gout(x, node, 1), *GR = gb_gout(x, node, 2);
	gb_tensor *GX = gb_gin(x, node, 0), *GS = gb_gin(x, node, 1), *GBias = gb_gin(x, node, 2);
	const float *xd = gb_in(x, node, 0)->data; // (outer, inner)
	float *gs = GS ? GS->data : NULL, *gbias = GBias ? GBias->data : NULL;
	float *xhat = gb_scratch(x, (size_t)(g.inner ? g.inner : 1) * 2 * sizeof(float)); // (2, inner)
	if (!xhat)
		return no_memory(x, node, err);
	float *gxhat = xhat + g.inner;
	const int direct = !g.scale.map && !g.bias.map;
	const double n = (double)g.inner;
	for (int64_t o = 0; o < g.outer; o++) {
		const float *xr = xd + o * g.inner;
		const float *gy = GY ? (const float *)GY->data + o * g.inner : NULL;
		double mu, r;
		row_stats(xr, g.inner, p->epsilon, &mu, &r);
		const float fmu = (float)mu, fr = (float)r;
		double sum_gxhat = 0.0, sum_gxhat_xhat = 0.0;
		if (gy && direct) {
			/* One fused pass; two lanes per sum keep the double adds overlapping. */
			const float *sp = g.scale.p;
			double s0 = 0.0, s1 = 0.0, t0 = 0.0, t1 = 0.0;
			int64_t j = 0;
			for (; j + 2 <= g.inner; j += 2) {
				float h0 = (xr[j] - fmu) * fr, h1 = (xr[j + 1] - fmu) * fr;
				float e0 = gy[j] * sp[j], e1 = gy[j + 1] * sp[j + 1];
				xhat[j] = h0;
				xhat[j + 1] = h1;
				gxhat[j] = e0;
				gxhat[j + 1] = e1;
				s0 += e0;
				s1 += e1;
				t0 += (double)e0 * h0;
				t1 += (double)e1 * h1;
			}
			for (; j < g.inner; j++) {
				xhat[j] = (xr[j] - fmu) * fr;
				gxhat[j] = gy[j] * sp[j];
				s0 += gxhat[j];
				t0 += (double)gxhat[j] * xhat[j];
			}
			sum_gxhat = s0 + s1;
			sum_gxhat_xhat = t0 + t1;
			if (gs)
				for (j = 0; j < g.inner; j++)
					gs[j] += gy[j] * xhat[j];
			if (gbias)
				for (j = 0; j < g.inner; j++)
					gbias[j] += gy[j];
		} else {
			for (int64_t j = 0; j < g.inner; j++)
				xhat[j] = (xr[j] - fmu) * fr;
			for (int64_t j = 0; j < g.inner && gy; j++) {
				int64_t i = o * g.inner + j;
				gxhat[j] = gy[j] * g.scale.p[bcast_at(&g.scale, i, j)];
				sum_gxhat += gxhat[j];
				sum_gxhat_xhat += (double)gxhat[j] * xhat[j];
				if (gs)
					gs[bcast_at(&g.scale, i, j)] += gy[j] * xhat[j];
				if (gbias)
					gbias[bcast_at(&g.bias, i, j)] += gy[j];
			}
		}
		if (!GX)
			continue;
		double gmean = GM ? ((const float *)GM->data)[o] : 0.0, ginv = GR ? ((const float *)GR->data)[o] : 0.0;
		const float c0 = (float)(gmean / n - r * sum_gxhat / n);
		const float c1 = (float)(-r * sum_gxhat_xhat / n - ginv * r * r / n);
		float *gx = (float *)GX->data + o * g.inner;
		if (gy)
			for (int64_t j = 0; j < g.inner; j++)
				gx[j] += fr * gxhat[j] + c0 + c1 * xhat[j];
		else
			for (int64_t j = 0; j < g.inner; j++)
				gx[j] += c0 + c1 * xhat[j];
	}
	return GB_OK;
}

/* ---- Softmax / LogSoftmax ------------------------------------------------------------- */

typedef struct softmax_params {
	int64_t axis;
	int flatten; /* opset < 13: 2-D view at axis */
	int is_log;
} softmax_params;

static gb_status softmax_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	softmax_params *p = gb_arena_calloc(&m->arena, 1, sizeof *p);
	if (!p)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	p->flatten = !opset_at_least(m, 13);
	p->is_log = strcmp(node->op_type, "LogSoftmax") == 0;
	gb_status st = gb_attr_int(m, node, "axis", p->flatten ? 1 : -1, &p->axis, err);
	if (st != GB_OK)
		return st;
	node->params = p;
	return GB_OK;
}

/* X as (outer, L, inner): softmax over L. */
static gb_status softmax_geometry(gb_exec *x, const gb_node *node, const gb_tensor *X, int64_t *outer, int64_t *L,
                                  int64_t *inner, gb_error *err)
{
	const softmax_params *p = node->params;
	if (X->dtype != GB_DTYPE_F32)
		return gb_dtype_unsupported(x, node, X, err);
	int axis = gb_axis(p->axis, X->ndim);
	if (axis < 0)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE, "axis %lld is out of range for rank %d",
		                     (long long)p->axis, X->ndim);
	*outer = *L = *inner = 1;
	for (int d = 0; d < X->ndim; d++) {
		if (d < axis)
			*outer *= X->dims[d];
		else if (d == axis || p->flatten)
			*L *= X->dims[d];
		else
			*inner *= X->dims[d];
	}
	return GB_OK;
}

/* y = softmax or log-softmax of x over L. The sums of exponentials are kept
 * in double (log-softmax near 0 needs them to better than float's 1e-7), and
 * log-softmax subtracts the max and the log-sum separately. buf holds
 * inner floats and inner doubles. */
static void softmax_block(const float *x, float *y, int64_t L, int64_t inner, int is_log, void *buf)
{
	if (inner == 1) {
		float mx = -INFINITY;
		for (int64_t l = 0; l < L; l++)
			mx = x[l] > mx ? x[l] : mx;
		double sum = 0.0;
		if (is_log) {
			for (int64_t l = 0; l < L; l++)
				sum += expf(x[l] - mx);
			float logsum = (float)log(sum);
			for (int64_t l = 0; l < L; l++)
				y[l] = (x[l] - mx) - logsum;
		} else {
			for (int64_t l = 0; l < L; l++) {
				y[l] = expf(x[l] - mx);
				sum += y[l];
			}
			float inv = (float)(1.0 / sum);
			for (int64_t l = 0; l < L; l++)
				y[l] *= inv;
		}
		return;
	}
	double *sum = buf;                  // (inner)
	float *mx = (float *)(sum + inner); // (inner)
	for (int64_t i = 0; i < inner; i++) {
		mx[i] = -INFINITY;
		sum[i] = 0.0;
	}
	for (int64_t l = 0; l < L; l++)
		for (int64_t i = 0; i < inner; i++)
			mx[i] = x[l * inner + i] > mx[i] ? x[l * inner + i] : mx[i];
	if (is_log) {
		for (int64_t l = 0; l < L; l++)
			for (int64_t i = 0; i < inner; i++)
				sum[i] += expf(x[l * inner + i] - mx[i]);
		for (int64_t i = 0; i < inner; i++)
			sum[i] = log(sum[i]);
		for (int64_t l = 0; l < L; l++)
			for (int64_t i = 0; i < inner; i++)
				y[l * inner + i] = (x[l * inner + i] - mx[i]) - (float)sum[i];
	} else {
		for (int64_t l = 0; l < L; l++)
			for (int64_t i = 0; i < inner; i++) {
				y[l * inner + i] = expf(x[l * inner + i] - mx[i]);
				sum[i] += y[l * inner + i];
			}
		for (int64_t i = 0; i < inner; i++)
			sum[i] = 1.0 / sum[i];
		for (int64_t l = 0; l < L; l++)
			for (int64_t i = 0; i < inner; i++)
				y[l * inner + i] *= (float)sum[i];
	}
}

static gb_status softmax_run(gb_exec *x, const gb_node *node, const gb_tensor *X, float *y, int64_t outer,
                             int64_t L, int64_t inner, gb_error *err)
{
	const softmax_params *p = node->params;
	void *buf = gb_scratch(x, (size_t)(inner ? inner : 1) * (sizeof(double) + sizeof(float)));
	if (!buf)
		return no_memory(x, node, err);
	const float *xd = X->data; // (outer, L, inner)
	for (int64_t o = 0; o < outer; o++)
		softmax_block(xd + o * L * inner, y + o * L * inner, L, inner, p->is_log, buf);
	return GB_OK;
}

static gb_status softmax_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *X = gb_in(x, node, 0);
	int64_t outer, L, inner;
	gb_status st = softmax_geometry(x, node, X, &outer, &L, &inner, err);
	if (st != GB_OK)
		return st;
	gb_tensor *Y = gb_out(x, node, 0, GB_DTYPE_F32, X->ndim, X->dims, err);
	if (!Y)
		return out_failed(err);
	return softmax_run(x, node, X, Y->data, outer, L, inner, err);
}

/*
 * Softmax:    dx = y (g - Σ g y)
 * LogSoftmax: dx = g - exp(y) Σ g
 * (sums over L, per outer and inner position).
 */
static gb_status softmax_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const softmax_params *p = node->params;
	const gb_tensor *X = gb_in(x, node, 0), *GY = gb_gout(x, node, 0);
	gb_tensor *GX = gb_gin(x, node, 0);
	if (!GY || !GX)
		return GB_OK;
	int64_t outer, L, inner;
	gb_status st = softmax_geometry(x, node, X, &outer, &L, &inner, err);
	if (st != GB_OK)
		return st;
	int64_t n = gb_numel(X);
	float *y = gb_scratch(x, (size_t)(n ? n : 1) * sizeof(float));       // (outer, L, inner)
	double *dot = gb_scratch(x, (size_t)(inner ? inner : 1) * sizeof(double)); // (inner)
	if (!y || !dot)
		return no_memory(x, node, err);
	if ((st = softmax_run(x, node, X, y, outer, L, inner, err)) != GB_OK)
		return st;
	const float *gy = GY->data;
	float *gx = GX->data;
	for (int64_t o = 0; o < outer; o++) {
		const float *yb = y + o * L * inner, *gr = gy + o * L * inner;
		float *gxb = gx + o * L * inner;
		for (int64_t i = 0; i < inner; i++)
			dot[i] = 0.0;
		for (int64_t l = 0; l < L; l++)
			for (int64_t i = 0; i < inner; i++)
				dot[i] += p->is_log ? (double)gr[l * inner + i] : (double)gr[l * inner + i] * yb[l * inner + i];
		for (int64_t l = 0; l < L; l++)
			for (int64_t i = 0; i < inner; i++) {
				int64_t at = l * inner + i;
				if (p->is_log)
					gxb[at] += gr[at] - expf(yb[at]) * (float)dot[i];
				else
					gxb[at] += yb[at] * (gr[at] - (float)dot[i]);
			}
	}
	return GB_OK;
}

const gb_op_def gb_ops_norm[] = {
	{"BatchNormalization", 5, 5, 1, 5, batchnorm_prepare, batchnorm_forward, batchnorm_backward},
	{"LayerNormalization", 1, 3, 1, 3, layernorm_prepare, layernorm_forward, layernorm_backward},
	{"Softmax", 1, 1, 1, 1, softmax_prepare, softmax_forward, softmax_backward},
	{"LogSoftmax", 1, 1, 1, 1, softmax_prepare, softmax_forward, softmax_backward},
	{0},
};
