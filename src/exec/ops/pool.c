/*
 * pool.c — pooling over the spatial dims of (N, C, D1, …, Dk) tensors, k = 1
 * to 3: MaxPool (with its optional Indices output), AveragePool,
 * GlobalMaxPool and GlobalAveragePool, forward and backward.
 *
 * Geometry follows the ONNX spec (and PyTorch, which it matches): with
 * explicit pads, out = floor-or-ceil((in + pb + pe - dk) / s) + 1 where
 * dk = (kernel - 1) * dilation + 1; in ceil mode a last window that would
 * start in the right padding is dropped. auto_pad SAME_* makes out =
 * ceil(in / s) and splits the padding it needs (the odd element at the end
 * for SAME_UPPER, at the start for SAME_LOWER); VALID pads nothing. ceil_mode
 * only applies to explicit pads.
 *
 * Every window is walked as "taps": tap t of output o along a dim sits at
 * o*s - pb + t*dilation. Per dim and output index the range of taps inside
 * the input is precomputed once, so the kernels' inner loops test nothing.
 * AveragePool divides by the taps inside the input (count_include_pad = 0)
 * or inside the padded input (count_include_pad = 1: taps past the end
 * padding in ceil mode do not count, as in PyTorch and the ONNX reference).
 *
 * Lower-rank pooling runs as 3-D pooling with leading spatial dims of size 1.
 * MaxPool takes the first maximum in row-major window order (a NaN wins and
 * stays); its backward routes each gradient there, AveragePool's spreads it
 * evenly over the taps that were averaged.
 */
#include <math.h>
#include <string.h>

#include "../ops.h"

#define POOL_MAX_SPATIAL 3
#define POOL_ATTR_MAX 2147483647 /* bound on kernel, stride, dilation, pad: keeps the geometry in int64 */

typedef enum pool_pad { POOL_PAD_NOTSET, POOL_PAD_VALID, POOL_PAD_SAME_UPPER, POOL_PAD_SAME_LOWER } pool_pad;

typedef struct pool_params {
	int is_max;
	int k; /* number of spatial dims */
	int64_t kernel[POOL_MAX_SPATIAL], stride[POOL_MAX_SPATIAL], dilation[POOL_MAX_SPATIAL];
	int64_t pad_begin[POOL_MAX_SPATIAL], pad_end[POOL_MAX_SPATIAL];
	pool_pad auto_pad;
	int ceil_mode;
	int count_include_pad;
	int storage_order; /* 1: Indices are column-major within a plane */
} pool_params;

/* One spatial dim of a concrete pooling problem. */
typedef struct pool_dim {
	int64_t in, out, kernel, stride, dilation, pad_begin, pad_end;
	int64_t *tap_lo, *tap_hi; /* (out) taps [lo, hi) lie inside the input */
	int64_t *padded;          /* (out) taps inside the padded input */
} pool_dim;

typedef struct pool_geom {
	int64_t planes;                 /* N * C */
	int64_t in_plane, out_plane;    /* elements per (n, c) plane */
	pool_dim d[POOL_MAX_SPATIAL];   /* D, H, W; unused leading dims have size 1 */
} pool_geom;

/* gb_out reports its failure in err; without an err slot say NOMEM. */
static gb_status out_failed(const gb_error *err)
{
	return err ? err->status : GB_STATUS_NOMEM;
}

/* ---- attributes ------------------------------------------------------------- */

static gb_status read_spatial(const gb_model *m, const gb_node *node, const char *name, int k, int64_t count,
                              int64_t def, int64_t lo, int64_t *out, gb_error *err)
{
	const int64_t *v;
	int64_t n;
	gb_status st = gb_attr_ints(m, node, name, &v, &n, err);
	if (st != GB_OK)
		return st;
	if (n < 0) {
		for (int64_t i = 0; i < count; i++)
			out[i] = def;
		return GB_OK;
	}
	if (n != count)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute '%s' has %lld values, the %d-D kernel needs %lld",
		                     name, (long long)n, k, (long long)count);
	for (int64_t i = 0; i < n; i++) {
		if (v[i] < lo || v[i] > POOL_ATTR_MAX)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute '%s' holds %lld, outside [%lld, %d]",
			                     name, (long long)v[i], (long long)lo, POOL_ATTR_MAX);
		out[i] = v[i];
	}
	return GB_OK;
}

static gb_status read_flag(const gb_model *m, const gb_node *node, const char *name, int *out, gb_error *err)
{
	int64_t v;
	gb_status st = gb_attr_int(m, node, name, 0, &v, err);
	if (st != GB_OK)
		return st;
	if (v != 0 && v != 1)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute '%s' is %lld, not 0 or 1", name,
		                     (long long)v);
	*out = (int)v;
	return GB_OK;
}

static gb_status pool_prepare(gb_model *m, gb_node *node, int is_max, gb_error *err)
{
	pool_params *p = gb_arena_calloc(&m->arena, 1, sizeof *p);
	if (!p)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	p->is_max = is_max;
	const int64_t *kernel;
	int64_t n;
	gb_status st = gb_attr_ints(m, node, "kernel_shape", &kernel, &n, err);
	if (st != GB_OK)
		return st;
	if (n < 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute 'kernel_shape' is missing");
	if (n == 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute 'kernel_shape' is empty");
	if (n > POOL_MAX_SPATIAL)
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "%lld-D pooling is not supported (1-D to 3-D are)",
		                     (long long)n);
	p->k = (int)n;
	int64_t pads[2 * POOL_MAX_SPATIAL];
	if ((st = read_spatial(m, node, "kernel_shape", p->k, n, 1, 1, p->kernel, err)) != GB_OK ||
	    (st = read_spatial(m, node, "strides", p->k, n, 1, 1, p->stride, err)) != GB_OK ||
	    (st = read_spatial(m, node, "dilations", p->k, n, 1, 1, p->dilation, err)) != GB_OK ||
	    (st = read_spatial(m, node, "pads", p->k, 2 * n, 0, 0, pads, err)) != GB_OK ||
	    (st = read_flag(m, node, "ceil_mode", &p->ceil_mode, err)) != GB_OK)
		return st;
	for (int i = 0; i < p->k; i++) {
		p->pad_begin[i] = pads[i];
		p->pad_end[i] = pads[p->k + i];
	}
	if (is_max) {
		if ((st = read_flag(m, node, "storage_order", &p->storage_order, err)) != GB_OK)
			return st;
	} else {
		if ((st = read_flag(m, node, "count_include_pad", &p->count_include_pad, err)) != GB_OK)
			return st;
	}
	const char *auto_pad;
	if ((st = gb_attr_string(m, node, "auto_pad", "NOTSET", &auto_pad, err)) != GB_OK)
		return st;
	if (strcmp(auto_pad, "NOTSET") == 0)
		p->auto_pad = POOL_PAD_NOTSET;
	else if (strcmp(auto_pad, "VALID") == 0)
		p->auto_pad = POOL_PAD_VALID;
	else if (strcmp(auto_pad, "SAME_UPPER") == 0)
		p->auto_pad = POOL_PAD_SAME_UPPER;
	else if (strcmp(auto_pad, "SAME_LOWER") == 0)
		p->auto_pad = POOL_PAD_SAME_LOWER;
	else
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute 'auto_pad' is '%s', not NOTSET, VALID, "
		                     "SAME_UPPER or SAME_LOWER", auto_pad);
	if (p->auto_pad != POOL_PAD_NOTSET)
		for (int i = 0; i < 2 * p->k; i++)
			if (pads[i] != 0)
				return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
				                     "attribute 'pads' is set together with auto_pad %s", auto_pad);
	node->params = p;
	return GB_OK;
}

static gb_status maxpool_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	return pool_prepare(m, node, 1, err);
}

static gb_status avgpool_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	return pool_prepare(m, node, 0, err);
}

/* ---- geometry ------------------------------------------------------------------ */

/* Output size and padding of one dim; BAD_FILE when the window does not fit. */
static gb_status dim_size(const gb_model *m, const gb_node *node, const pool_params *p, int i, pool_dim *d,
                          gb_error *err)
{
	int64_t dk = (d->kernel - 1) * d->dilation + 1;
	if (p->auto_pad == POOL_PAD_SAME_UPPER || p->auto_pad == POOL_PAD_SAME_LOWER) {
		d->out = (d->in + d->stride - 1) / d->stride;
		int64_t total = d->out > 0 ? (d->out - 1) * d->stride + dk - d->in : 0;
		if (total < 0)
			total = 0;
		d->pad_begin = p->auto_pad == POOL_PAD_SAME_UPPER ? total / 2 : total - total / 2;
		d->pad_end = total - d->pad_begin;
		return GB_OK;
	}
	if (p->auto_pad == POOL_PAD_VALID) {
		d->pad_begin = d->pad_end = 0;
	} else {
		d->pad_begin = p->pad_begin[i];
		d->pad_end = p->pad_end[i];
	}
	int64_t span = d->in + d->pad_begin + d->pad_end - dk;
	if (span < 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
		                     "spatial dim %d: the window (%lld wide with dilation) is larger than the padded input (%lld)",
		                     i, (long long)dk, (long long)(d->in + d->pad_begin + d->pad_end));
	if (p->ceil_mode && p->auto_pad == POOL_PAD_NOTSET) {
		d->out = (span + d->stride - 1) / d->stride + 1;
		if ((d->out - 1) * d->stride >= d->in + d->pad_begin)
			d->out--;
	} else {
		d->out = span / d->stride + 1;
	}
	return GB_OK;
}

/* Fills the per-output tap ranges of one dim (scratch arrays). */
static int dim_taps(gb_exec *x, pool_dim *d)
{
	size_t bytes = (size_t)(d->out ? d->out : 1) * sizeof(int64_t);
	d->tap_lo = gb_scratch(x, bytes);
	d->tap_hi = gb_scratch(x, bytes);
	d->padded = gb_scratch(x, bytes);
	if (!d->tap_lo || !d->tap_hi || !d->padded)
		return 0;
	for (int64_t o = 0; o < d->out; o++) {
		int64_t start = o * d->stride - d->pad_begin;
		int64_t lo = start >= 0 ? 0 : (-start + d->dilation - 1) / d->dilation;
		int64_t hi = start <= d->in - 1 ? (d->in - 1 - start) / d->dilation + 1 : 0;
		int64_t ph = (d->in + d->pad_end - start + d->dilation - 1) / d->dilation;
		d->tap_lo[o] = lo;
		d->tap_hi[o] = hi < d->kernel ? hi : d->kernel;
		d->padded[o] = ph < d->kernel ? ph : d->kernel;
	}
	return 1;
}

/* Builds the geometry for input X and writes the output dims. */
static gb_status pool_geometry(gb_exec *x, const gb_node *node, const pool_params *p, const gb_tensor *X,
                               pool_geom *g, int64_t *out_dims, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	if (X->ndim != p->k + 2)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input has rank %d; a %d-D kernel needs rank %d",
		                     X->ndim, p->k, p->k + 2);
	g->planes = X->dims[0] * X->dims[1];
	g->in_plane = g->out_plane = 1;
	out_dims[0] = X->dims[0];
	out_dims[1] = X->dims[1];
	int lead = POOL_MAX_SPATIAL - p->k;
	for (int j = 0; j < POOL_MAX_SPATIAL; j++) {
		pool_dim *d = &g->d[j];
		memset(d, 0, sizeof *d);
		int i = j - lead;
		if (i < 0) {
			d->in = d->out = d->kernel = d->stride = d->dilation = 1;
		} else {
			d->in = X->dims[2 + i];
			d->kernel = p->kernel[i];
			d->stride = p->stride[i];
			d->dilation = p->dilation[i];
			gb_status st = dim_size(m, node, p, i, d, err);
			if (st != GB_OK)
				return st;
			out_dims[2 + i] = d->out;
		}
		if (!dim_taps(x, d))
			return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
		g->in_plane *= d->in;
		g->out_plane *= d->out;
	}
	/* A window with no tap inside the input has no maximum and, without
	 * count_include_pad, no average. */
	if (p->is_max || !p->count_include_pad)
		for (int j = lead; j < POOL_MAX_SPATIAL; j++)
			for (int64_t o = 0; o < g->d[j].out; o++)
				if (g->d[j].tap_lo[o] >= g->d[j].tap_hi[o])
					return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
					                     "spatial dim %d: output %lld pools a window that lies entirely in the "
					                     "padding",
					                     j - lead, (long long)o);
	return GB_OK;
}

/* ---- kernels -------------------------------------------------------------------- */

/* Max over each window of one plane: y (out_plane) gets the values (may be
 * NULL), arg (out_plane) the row-major offset of the first maximum in the
 * plane. */
static void max_plane(const pool_geom *g, const float *x, float *y, int64_t *arg)
{
	const pool_dim *D = &g->d[0], *H = &g->d[1], *W = &g->d[2];
	int64_t o = 0;
	for (int64_t od = 0; od < D->out; od++) {
		int64_t d0 = od * D->stride - D->pad_begin;
		for (int64_t oh = 0; oh < H->out; oh++) {
			int64_t h0 = oh * H->stride - H->pad_begin;
			for (int64_t ow = 0; ow < W->out; ow++, o++) {
				int64_t w0 = ow * W->stride - W->pad_begin;
				float best = -INFINITY;
				int64_t at = -1;
				for (int64_t kd = D->tap_lo[od]; kd < D->tap_hi[od]; kd++) {
					int64_t pd = d0 + kd * D->dilation;
					for (int64_t kh = H->tap_lo[oh]; kh < H->tap_hi[oh]; kh++) {
						int64_t row = (pd * H->in + h0 + kh * H->dilation) * W->in;
						for (int64_t kw = W->tap_lo[ow]; kw < W->tap_hi[ow]; kw++) {
							int64_t pos = row + w0 + kw * W->dilation;
							float v = x[pos];
							if (v > best || at < 0 || (v != v && best == best)) {
								best = v;
								at = pos;
							}
						}
					}
				}
				if (y)
					y[o] = best;
				arg[o] = at;
			}
		}
	}
}

/* The divisor of output (od, oh, ow). */
static float avg_count(const pool_geom *g, int include_pad, int64_t od, int64_t oh, int64_t ow)
{
	const pool_dim *D = &g->d[0], *H = &g->d[1], *W = &g->d[2];
	if (include_pad)
		return (float)(D->padded[od] * H->padded[oh] * W->padded[ow]);
	return (float)((D->tap_hi[od] - D->tap_lo[od]) * (H->tap_hi[oh] - H->tap_lo[oh]) *
	               (W->tap_hi[ow] - W->tap_lo[ow]));
}

/* Average over each window of one plane (gy == NULL), or its backward:
 * gx += the spread of gy (y unused). */
static void avg_plane(const pool_geom *g, int include_pad, const float *x, float *y, const float *gy, float *gx)
{
	const pool_dim *D = &g->d[0], *H = &g->d[1], *W = &g->d[2];
	int64_t o = 0;
	for (int64_t od = 0; od < D->out; od++) {
		int64_t d0 = od * D->stride - D->pad_begin;
		for (int64_t oh = 0; oh < H->out; oh++) {
			int64_t h0 = oh * H->stride - H->pad_begin;
			for (int64_t ow = 0; ow < W->out; ow++, o++) {
				int64_t w0 = ow * W->stride - W->pad_begin;
				float count = avg_count(g, include_pad, od, oh, ow);
				float share = gy ? gy[o] / count : 0.0f;
				float sum = 0.0f;
				for (int64_t kd = D->tap_lo[od]; kd < D->tap_hi[od]; kd++) {
					int64_t pd = d0 + kd * D->dilation;
					for (int64_t kh = H->tap_lo[oh]; kh < H->tap_hi[oh]; kh++) {
						int64_t row = (pd * H->in + h0 + kh * H->dilation) * W->in + w0;
						int64_t lo = W->tap_lo[ow], hi = W->tap_hi[ow], dw = W->dilation;
						if (gy) {
							for (int64_t kw = lo; kw < hi; kw++)
								gx[row + kw * dw] += share;
						} else {
							for (int64_t kw = lo; kw < hi; kw++)
								sum += x[row + kw * dw];
						}
					}
				}
				if (!gy)
					y[o] = sum / count;
			}
		}
	}
}

/* Converts a row-major offset within a plane to the column-major one
 * (storage_order = 1). */
static int64_t column_major(const pool_geom *g, int64_t pos)
{
	int64_t w = pos % g->d[2].in, h = pos / g->d[2].in % g->d[1].in, d = pos / g->d[2].in / g->d[1].in;
	return d + g->d[0].in * (h + g->d[1].in * w);
}

/* ---- MaxPool / AveragePool --------------------------------------------------------- */

static gb_status pool_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const pool_params *p = node->params;
	const gb_tensor *X = gb_in(x, node, 0);
	if (X->dtype != GB_DTYPE_F32)
		return gb_dtype_unsupported(x, node, X, err);
	pool_geom g;
	int64_t out_dims[GB_MAX_DIMS];
	gb_status st = pool_geometry(x, node, p, X, &g, out_dims, err);
	if (st != GB_OK)
		return st;
	gb_tensor *Y = gb_out(x, node, 0, GB_DTYPE_F32, X->ndim, out_dims, err);
	if (!Y)
		return out_failed(err);
	const float *xd = X->data; // (N*C, in_plane)
	float *yd = Y->data;       // (N*C, out_plane)
	if (!p->is_max) {
		for (int64_t c = 0; c < g.planes; c++)
			avg_plane(&g, p->count_include_pad, xd + c * g.in_plane, yd + c * g.out_plane, NULL, NULL);
		return GB_OK;
	}
	int want_indices = node->n_outputs > 1 && node->outputs[1] >= 0;
	int64_t *idx = NULL; // (N*C, out_plane)
	if (want_indices) {
		gb_tensor *I = gb_out(x, node, 1, GB_DTYPE_I64, X->ndim, out_dims, err);
		if (!I)
			return out_failed(err);
		idx = I->data;
	} else {
		idx = gb_scratch(x, (size_t)(g.out_plane ? g.out_plane : 1) * sizeof *idx);
		if (!idx)
			return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "out of memory");
	}
	for (int64_t c = 0; c < g.planes; c++) {
		int64_t *arg = want_indices ? idx + c * g.out_plane : idx;
		max_plane(&g, xd + c * g.in_plane, yd + c * g.out_plane, arg);
		if (!want_indices)
			continue;
		/* ONNX Indices flatten the whole input tensor, planes included. */
		for (int64_t o = 0; o < g.out_plane; o++)
			arg[o] = c * g.in_plane + (p->storage_order ? column_major(&g, arg[o]) : arg[o]);
	}
	return GB_OK;
}

static gb_status pool_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const pool_params *p = node->params;
	const gb_tensor *X = gb_in(x, node, 0);
	const gb_tensor *GY = gb_gout(x, node, 0);
	gb_tensor *GX = gb_gin(x, node, 0);
	if (!GY || !GX)
		return GB_OK;
	pool_geom g;
	int64_t out_dims[GB_MAX_DIMS];
	gb_status st = pool_geometry(x, node, p, X, &g, out_dims, err);
	if (st != GB_OK)
		return st;
	const float *xd = X->data, *gy = GY->data; // (N*C, in_plane), (N*C, out_plane)
	float *gx = GX->data;                      // (N*C, in_plane)
	if (!p->is_max) {
		for (int64_t c = 0; c < g.planes; c++)
			avg_plane(&g, p->count_include_pad, NULL, NULL, gy + c * g.out_plane, gx + c * g.in_plane);
		return GB_OK;
	}
	int64_t *arg = gb_scratch(x, (size_t)(g.out_plane ? g.out_plane : 1) * sizeof *arg); // (out_plane)
	if (!arg)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "out of memory");
	for (int64_t c = 0; c < g.planes; c++) {
		max_plane(&g, xd + c * g.in_plane, NULL, arg);
		float *gxc = gx + c * g.in_plane;
		const float *gyc = gy + c * g.out_plane;
		for (int64_t o = 0; o < g.out_plane; o++)
			gxc[arg[o]] += gyc[o];
	}
	return GB_OK;
}

/* ---- GlobalMaxPool / GlobalAveragePool ------------------------------------------------ */

/* (N, C, spatial…) → (N, C, 1, …); the plane size is the product of the spatial dims. */
static gb_status global_shape(gb_exec *x, const gb_node *node, const gb_tensor *X, int64_t *out_dims,
                              int64_t *planes, int64_t *plane, gb_error *err)
{
	if (X->ndim < 2)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE,
		                     "input has rank %d; global pooling needs (N, C, …)", X->ndim);
	*planes = X->dims[0] * X->dims[1];
	*plane = 1;
	for (int i = 0; i < X->ndim; i++) {
		out_dims[i] = i < 2 ? X->dims[i] : 1;
		if (i >= 2)
			*plane *= X->dims[i];
	}
	if (*plane == 0 && *planes > 0 && strcmp(node->op_type, "GlobalMaxPool") == 0)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_UNSUPPORTED,
		                     "the maximum over an empty spatial extent is undefined");
	return GB_OK;
}

static int64_t argmax_run(const float *x, int64_t n)
{
	int64_t at = 0;
	float best = x[0];
	for (int64_t i = 1; i < n; i++)
		if (x[i] > best || (x[i] != x[i] && best == best)) {
			best = x[i];
			at = i;
		}
	return at;
}

static gb_status global_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *X = gb_in(x, node, 0);
	if (X->dtype != GB_DTYPE_F32)
		return gb_dtype_unsupported(x, node, X, err);
	int64_t out_dims[GB_MAX_DIMS], planes, plane;
	gb_status st = global_shape(x, node, X, out_dims, &planes, &plane, err);
	if (st != GB_OK)
		return st;
	gb_tensor *Y = gb_out(x, node, 0, GB_DTYPE_F32, X->ndim, out_dims, err);
	if (!Y)
		return out_failed(err);
	const float *xd = X->data; // (N*C, plane)
	float *yd = Y->data;       // (N*C)
	int is_max = strcmp(node->op_type, "GlobalMaxPool") == 0;
	for (int64_t c = 0; c < planes; c++) {
		const float *xc = xd + c * plane;
		if (is_max) {
			yd[c] = xc[argmax_run(xc, plane)];
		} else {
			double sum = 0.0;
			for (int64_t i = 0; i < plane; i++)
				sum += xc[i];
			yd[c] = (float)(sum / (double)plane);
		}
	}
	return GB_OK;
}

static gb_status global_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *X = gb_in(x, node, 0);
	const gb_tensor *GY = gb_gout(x, node, 0);
	gb_tensor *GX = gb_gin(x, node, 0);
	if (!GY || !GX)
		return GB_OK;
	int64_t out_dims[GB_MAX_DIMS], planes, plane;
	gb_status st = global_shape(x, node, X, out_dims, &planes, &plane, err);
	if (st != GB_OK)
		return st;
	const float *xd = X->data, *gy = GY->data; // (N*C, plane), (N*C)
	float *gx = GX->data;                      // (N*C, plane)
	int is_max = strcmp(node->op_type, "GlobalMaxPool") == 0;
	for (int64_t c = 0; c < planes; c++) {
		float *gxc = gx + c * plane;
		if (is_max) {
			gxc[argmax_run(xd + c * plane, plane)] += gy[c];
		} else {
			float share = gy[c] / (float)plane;
			for (int64_t i = 0; i < plane; i++)
				gxc[i] += share;
		}
	}
	return GB_OK;
}

const gb_op_def gb_ops_pool[] = {
	{"MaxPool", 1, 1, 1, 2, maxpool_prepare, pool_forward, pool_backward},
	{"AveragePool", 1, 1, 1, 1, avgpool_prepare, pool_forward, pool_backward},
	{"GlobalMaxPool", 1, 1, 1, 1, NULL, global_forward, global_backward},
	{"GlobalAveragePool", 1, 1, 1, 1, NULL, global_forward, global_backward},
	{0},
};
