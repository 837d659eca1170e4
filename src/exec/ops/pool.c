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
	int64_t k_lo, k_hi;       /* taps inside the input for some output */
	int64_t *out_lo, *out_hi; /* (k_hi - k_lo) outputs [lo, hi) whose tap k_lo + i is inside */
} pool_dim;

typedef struct pool_geom {
	int64_t planes;                 /* N * C */
	int64_t in_plane, out_plane;    /* elements per (n, c) plane */
	pool_dim d[POOL_MAX_SPATIAL];   /* D, H, W; unused leading dims have size 1 */
} pool_geom;

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
	/* The transpose, by tap: bounded by the input size, not the kernel's. */
	d->k_lo = d->kernel;
	d->k_hi = 0;
	for (int64_t o = 0; o < d->out; o++) {
		if (d->tap_lo[o] < d->k_lo)
			d->k_lo = d->tap_lo[o];
		if (d->tap_hi[o] > d->k_hi)
			d->k_hi = d->tap_hi[o];
	}
	if (d->k_hi < d->k_lo)
		d->k_hi = d->k_lo;
	size_t kbytes = (size_t)(d->k_hi - d->k_lo + 1) * sizeof(int64_t);
	d->out_lo = gb_scratch(x, kbytes);
	d->out_hi = gb_scratch(x, kbytes);
	if (!d->out_lo || !d->out_hi)
		return 0;
	for (int64_t k = d->k_lo; k < d->k_hi; k++) {
		int64_t off = k * d->dilation - d->pad_begin; /* tap k of output o sits at o * stride + off */
		int64_t lo = off >= 0 ? 0 : (-off + d->stride - 1) / d->stride;
		int64_t hi = d->in - off > 0 ? (d->in - off + d->stride - 1) / d->stride : 0;
		lo = lo < d->out ? lo : d->out;
		hi = hi < d->out ? hi : d->out;
		d->out_lo[k - d->k_lo] = lo;
		d->out_hi[k - d->k_lo] = hi > lo ? hi : lo;
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

/* ---- kernels --------------------------------------------------------------------
 *
 * The fast kernels build each output row (od, oh) tap row by tap row: for a
 * tap (kd, kh) of the row's windows and a tap kw, the outputs whose tap kw is
 * inside the input form one range (pool_dim.out_lo/out_hi), so the innermost
 * loop runs over outputs with a fixed stride through the input row and tests
 * nothing. Each output still sees its taps in the window's row-major order,
 * so a strict > keeps the first maximum. Planes that hold a NaN go through
 * the per-window max_window_arg instead, which lets the NaN win and stay.
 */

static int has_nan(const float *x, int64_t n)
{
	int nan = 0;
	for (int64_t i = 0; i < n; i++)
		nan |= x[i] != x[i];
	return nan;
}

/* Input offset (in the plane) of the start of tap row (kd, kh) of output row (od, oh). */
static inline int64_t tap_row(const pool_geom *g, int64_t od, int64_t oh, int64_t kd, int64_t kh)
{
	const pool_dim *D = &g->d[0], *H = &g->d[1], *W = &g->d[2];
	int64_t pd = od * D->stride - D->pad_begin + kd * D->dilation;
	int64_t ph = oh * H->stride - H->pad_begin + kh * H->dilation;
	return (pd * H->in + ph) * W->in;
}

/* Max of each window of a NaN-free plane into y (out_plane); with arg
 * (out_plane), also the plane offset of the first maximum. */
static void max_rows(const pool_geom *g, const float *x, float *y, int64_t *arg)
{
	const pool_dim *D = &g->d[0], *H = &g->d[1], *W = &g->d[2];
	const int64_t s = W->stride;
	for (int64_t od = 0; od < D->out; od++)
		for (int64_t oh = 0; oh < H->out; oh++) {
			float *yr = y + (od * H->out + oh) * W->out;
			int64_t *ar = arg ? arg + (od * H->out + oh) * W->out : NULL;
			for (int64_t ow = 0; ow < W->out; ow++)
				yr[ow] = -INFINITY;
			/* Until a larger value comes, the maximum is the first tap (all -inf). */
			if (ar)
				for (int64_t ow = 0; ow < W->out; ow++)
					ar[ow] = tap_row(g, od, oh, D->tap_lo[od], H->tap_lo[oh]) + ow * s - W->pad_begin +
					         W->tap_lo[ow] * W->dilation;
			for (int64_t kd = D->tap_lo[od]; kd < D->tap_hi[od]; kd++)
				for (int64_t kh = H->tap_lo[oh]; kh < H->tap_hi[oh]; kh++) {
					const int64_t row = tap_row(g, od, oh, kd, kh);
					const float *xr = x + row;
					for (int64_t kw = W->k_lo; kw < W->k_hi; kw++) {
						const int64_t off = kw * W->dilation - W->pad_begin;
						const int64_t lo = W->out_lo[kw - W->k_lo], hi = W->out_hi[kw - W->k_lo];
						if (!ar) {
							for (int64_t ow = lo; ow < hi; ow++) {
								float v = xr[ow * s + off];
								yr[ow] = v > yr[ow] ? v : yr[ow];
							}
							continue;
						}
						for (int64_t ow = lo; ow < hi; ow++) {
							/* Branch-free: the comparison is a coin flip on real data. */
							float v = xr[ow * s + off], cur = yr[ow];
							int64_t take = -(int64_t)(v > cur);
							yr[ow] = v > cur ? v : cur;
							ar[ow] = (ar[ow] & ~take) | ((row + ow * s + off) & take);
						}
					}
				}
		}
}

/* Window by window (any plane, NaN included): the plane offset of the first
 * maximum of each window, a NaN counting as the maximum (arg: out_plane). */
static void max_window_arg(const pool_geom *g, const float *x, int64_t *arg)
{
	const pool_dim *D = &g->d[0], *H = &g->d[1], *W = &g->d[2];
	int64_t o = 0;
	for (int64_t od = 0; od < D->out; od++)
		for (int64_t oh = 0; oh < H->out; oh++)
			for (int64_t ow = 0; ow < W->out; ow++, o++) {
				int64_t w0 = ow * W->stride - W->pad_begin, at = -1;
				float best = -INFINITY;
				for (int64_t kd = D->tap_lo[od]; kd < D->tap_hi[od]; kd++)
					for (int64_t kh = H->tap_lo[oh]; kh < H->tap_hi[oh]; kh++) {
						int64_t row = tap_row(g, od, oh, kd, kh) + w0;
						for (int64_t kw = W->tap_lo[ow]; kw < W->tap_hi[ow]; kw++) {
							int64_t pos = row + kw * W->dilation;
							float v = x[pos];
							if (at < 0 || v > best || (v != v && best == best)) {
								best = v;
								at = pos;
							}
						}
					}
				arg[o] = at;
			}
}

/* Values (y) and first-maximum offsets (arg) of each window of one plane
 * (both out_plane). */
static void max_plane(const pool_geom *g, const float *x, float *y, int64_t *arg)
{
	if (!has_nan(x, g->in_plane)) {
		max_rows(g, x, y, arg);
		return;
	}
	max_window_arg(g, x, arg);
	for (int64_t o = 0; o < g->out_plane; o++)
		y[o] = x[arg[o]];
}

/* The common 2-D window: 2x2, stride 2, no padding or dilation, every
 * window inside the input. */
static int is_max2x2(const pool_geom *g)
{
	if (g->d[0].in != 1 || g->d[0].out != 1 || g->d[0].kernel != 1)
		return 0;
	for (int j = 1; j < POOL_MAX_SPATIAL; j++) {
		const pool_dim *d = &g->d[j];
		if (d->kernel != 2 || d->stride != 2 || d->dilation != 1 || d->pad_begin != 0 || 2 * d->out > d->in)
			return 0;
	}
	return 1;
}

/* max_rows without arg for the 2x2 window of a NaN-free plane: the taps in
 * row-major order with a strict >, so the same value. */
static void max2x2(const pool_geom *g, const float *x, float *y)
{
	const int64_t IW = g->d[2].in, OH = g->d[1].out, OW = g->d[2].out;
	for (int64_t oh = 0; oh < OH; oh++) {
		const float *r0 = x + 2 * oh * IW, *r1 = r0 + IW;
		float *yr = y + oh * OW;
		for (int64_t ow = 0; ow < OW; ow++) {
			float m = r0[2 * ow], v = r0[2 * ow + 1];
			m = v > m ? v : m;
			v = r1[2 * ow];
			m = v > m ? v : m;
			v = r1[2 * ow + 1];
			yr[ow] = v > m ? v : m;
		}
	}
}

/* gx (in_plane) += gy (out_plane) routed to the first maximum of each 2x2
 * window of a NaN-free plane x. Written as a cascade of selects (each tap
 * gets gy or 0, what is left passes on) so that the compiler vectorises it. */
static void max2x2_backward(const pool_geom *g, const float *restrict x, const float *restrict gy,
                            float *restrict gx)
{
	const int64_t IW = g->d[2].in, OH = g->d[1].out, OW = g->d[2].out;
	for (int64_t oh = 0; oh < OH; oh++) {
		const float *r0 = x + 2 * oh * IW, *r1 = r0 + IW;
		float *g0 = gx + 2 * oh * IW, *g1 = g0 + IW;
		const float *gr = gy + oh * OW;
		for (int64_t ow = 0; ow < OW; ow++) {
			const float a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
			float m = b > a ? b : a;
			m = c > m ? c : m;
			m = d > m ? d : m;
			const float v = gr[ow];
			const float va = a == m ? v : 0.0f, rest_b = a == m ? 0.0f : v;
			const float vb = b == m ? rest_b : 0.0f, rest_c = b == m ? 0.0f : rest_b;
			const float vc = c == m ? rest_c : 0.0f, vd = c == m ? 0.0f : rest_c;
			g0[2 * ow] += va;
			g0[2 * ow + 1] += vb;
			g1[2 * ow] += vc;
			g1[2 * ow + 1] += vd;
		}
	}
}

/* The divisor of each output of row (od, oh): inv (W->out) gets 1 / count. */
static void avg_inv_counts(const pool_geom *g, int include_pad, int64_t od, int64_t oh, float *inv)
{
	const pool_dim *D = &g->d[0], *H = &g->d[1], *W = &g->d[2];
	int64_t dh = include_pad ? D->padded[od] * H->padded[oh]
	                         : (D->tap_hi[od] - D->tap_lo[od]) * (H->tap_hi[oh] - H->tap_lo[oh]);
	for (int64_t ow = 0; ow < W->out; ow++) {
		int64_t w = include_pad ? W->padded[ow] : W->tap_hi[ow] - W->tap_lo[ow];
		inv[ow] = (float)(1.0 / (double)(dh * w));
	}
}

/* Average of each window of one plane into y (out_plane); inv: W->out floats. */
static void avg_rows(const pool_geom *g, int include_pad, const float *x, float *y, float *inv)
{
	const pool_dim *D = &g->d[0], *H = &g->d[1], *W = &g->d[2];
	const int64_t s = W->stride;
	for (int64_t od = 0; od < D->out; od++)
		for (int64_t oh = 0; oh < H->out; oh++) {
			float *yr = y + (od * H->out + oh) * W->out;
			for (int64_t ow = 0; ow < W->out; ow++)
				yr[ow] = 0.0f;
			for (int64_t kd = D->tap_lo[od]; kd < D->tap_hi[od]; kd++)
				for (int64_t kh = H->tap_lo[oh]; kh < H->tap_hi[oh]; kh++) {
					const float *xr = x + tap_row(g, od, oh, kd, kh);
					for (int64_t kw = W->k_lo; kw < W->k_hi; kw++) {
						const int64_t off = kw * W->dilation - W->pad_begin;
						const int64_t lo = W->out_lo[kw - W->k_lo], hi = W->out_hi[kw - W->k_lo];
						for (int64_t ow = lo; ow < hi; ow++)
							yr[ow] += xr[ow * s + off];
					}
				}
			avg_inv_counts(g, include_pad, od, oh, inv);
			for (int64_t ow = 0; ow < W->out; ow++)
				yr[ow] *= inv[ow];
		}
}

/* gx (in_plane) += each gy (out_plane) spread evenly over its window; share: W->out floats. */
static void avg_rows_backward(const pool_geom *g, int include_pad, const float *gy, float *gx, float *share)
{
	const pool_dim *D = &g->d[0], *H = &g->d[1], *W = &g->d[2];
	const int64_t s = W->stride;
	for (int64_t od = 0; od < D->out; od++)
		for (int64_t oh = 0; oh < H->out; oh++) {
			const float *gyr = gy + (od * H->out + oh) * W->out;
			avg_inv_counts(g, include_pad, od, oh, share);
			for (int64_t ow = 0; ow < W->out; ow++)
				share[ow] *= gyr[ow];
			for (int64_t kd = D->tap_lo[od]; kd < D->tap_hi[od]; kd++)
				for (int64_t kh = H->tap_lo[oh]; kh < H->tap_hi[oh]; kh++) {
					float *gxr = gx + tap_row(g, od, oh, kd, kh);
					for (int64_t kw = W->k_lo; kw < W->k_hi; kw++) {
						const int64_t off = kw * W->dilation - W->pad_begin;
						const int64_t lo = W->out_lo[kw - W->k_lo], hi = W->out_hi[kw - W->k_lo];
						for (int64_t ow = lo; ow < hi; ow++)
							gxr[ow * s + off] += share[ow];
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

/* MaxPool without Indices, forward and backward, runs over ranges of planes
 * in parallel (gb_parallel_for); each part has its own out_plane of scratch
 * for the planes that go through max_plane. */

/* Planes per parallel range: at least about 64k input elements. */
static int64_t pool_grain(const pool_geom *g)
{
	int64_t grain = g->in_plane > 0 ? ((int64_t)1 << 16) / g->in_plane : 1;
	return grain > 1 ? grain : 1;
}

typedef struct max_job {
	const pool_geom *g;
	const float *x, *gy; /* (planes, in_plane), (planes, out_plane) (backward) */
	float *y;            /* forward: (planes, out_plane); backward: (threads, out_plane) scratch */
	float *gx;           /* (planes, in_plane) (backward) */
	int64_t *arg;        /* (threads, out_plane) scratch */
	int fast;            /* the 2x2 stride-2 window */
} max_job;

static void max_forward_range(void *ctx, int64_t lo, int64_t hi, int part)
{
	const max_job *j = ctx;
	const pool_geom *g = j->g;
	int64_t *arg = j->arg + part * g->out_plane;
	for (int64_t c = lo; c < hi; c++) {
		const float *xc = j->x + c * g->in_plane;
		float *yc = j->y + c * g->out_plane;
		if (has_nan(xc, g->in_plane))
			max_plane(g, xc, yc, arg);
		else if (j->fast)
			max2x2(g, xc, yc);
		else
			max_rows(g, xc, yc, NULL);
	}
}

static void max_backward_range(void *ctx, int64_t lo, int64_t hi, int part)
{
	const max_job *j = ctx;
	const pool_geom *g = j->g;
	int64_t *arg = j->arg + part * g->out_plane;
	float *best = j->y + part * g->out_plane;
	for (int64_t c = lo; c < hi; c++) {
		const float *xc = j->x + c * g->in_plane, *gyc = j->gy + c * g->out_plane;
		float *gxc = j->gx + c * g->in_plane;
		if (j->fast && !has_nan(xc, g->in_plane)) {
			max2x2_backward(g, xc, gyc, gxc);
			continue;
		}
		max_plane(g, xc, best, arg);
		for (int64_t o = 0; o < g->out_plane; o++)
			gxc[arg[o]] += gyc[o];
	}
}

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
		return gb_out_failed(err);
	const float *xd = X->data; // (N*C, in_plane)
	float *yd = Y->data;       // (N*C, out_plane)
	if (!p->is_max) {
		float *inv = gb_scratch(x, (size_t)(g.d[2].out ? g.d[2].out : 1) * sizeof *inv); // (W out)
		if (!inv)
			return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "out of memory");
		for (int64_t c = 0; c < g.planes; c++)
			avg_rows(&g, p->count_include_pad, xd + c * g.in_plane, yd + c * g.out_plane, inv);
		return GB_OK;
	}
	int want_indices = node->n_outputs > 1 && node->outputs[1] >= 0;
	int64_t *idx; // (N*C, out_plane) with Indices, else (threads, out_plane) for NaN planes
	if (want_indices) {
		gb_tensor *I = gb_out(x, node, 1, GB_DTYPE_I64, X->ndim, out_dims, err);
		if (!I)
			return gb_out_failed(err);
		idx = I->data;
	} else {
		idx = gb_scratch(x, (size_t)gb_parallel_threads() * (size_t)(g.out_plane ? g.out_plane : 1) * sizeof *idx);
		if (!idx)
			return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "out of memory");
	}
	if (!want_indices) {
		max_job job = {&g, xd, NULL, yd, NULL, idx, is_max2x2(&g)};
		gb_parallel_for(g.planes, pool_grain(&g), max_forward_range, &job);
		return GB_OK;
	}
	for (int64_t c = 0; c < g.planes; c++) {
		const float *xc = xd + c * g.in_plane;
		float *yc = yd + c * g.out_plane;
		int64_t *arg = idx + c * g.out_plane;
		max_plane(&g, xc, yc, arg);
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
		float *share = gb_scratch(x, (size_t)(g.d[2].out ? g.d[2].out : 1) * sizeof *share); // (W out)
		if (!share)
			return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "out of memory");
		for (int64_t c = 0; c < g.planes; c++)
			avg_rows_backward(&g, p->count_include_pad, gy + c * g.out_plane, gx + c * g.in_plane, share);
		return GB_OK;
	}
	size_t n = (size_t)gb_parallel_threads() * (size_t)(g.out_plane ? g.out_plane : 1);
	int64_t *arg = gb_scratch(x, n * sizeof *arg); // (threads, out_plane)
	float *best = gb_scratch(x, n * sizeof *best);  // (threads, out_plane)
	if (!arg || !best)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "out of memory");
	max_job job = {&g, xd, gy, best, gx, arg, is_max2x2(&g)};
	gb_parallel_for(g.planes, pool_grain(&g), max_backward_range, &job);
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
		return gb_out_failed(err);
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
