/*
 * conv.c — Conv (opsets 1 and 11): 1-D, 2-D and 3-D convolution with
 * strides, pads, dilations, groups, auto_pad and an optional bias, forward
 * and backward.
 *
 * Method: im2col + sgemm. Every geometry is handled as 3-D, a 1-D or 2-D
 * convolution getting leading spatial axes of size 1, so one im2col and one
 * col2im serve all ranks. For a group g and a chunk of nb images:
 *
 *     col (Ckk, nb·O)   = im2col(X[n0 .. n0+nb), channels of g)
 *     Y_g (Mg, nb·O)    = W_g (Mg, Ckk) · col
 *
 * with Ckk = C/group · KD·KH·KW and O = OD·OH·OW. Images are batched along
 * the columns until a chunk has about CONV_TARGET_COLS columns so that each
 * sgemm is large even when the feature maps are small, within
 * CONV_CHUNK_BYTES of im2col scratch so that it stays in cache; the product is then
 * scattered into Y (N, M, O) with the bias added. A chunk of one image
 * writes straight into Y (bias first, sgemm with beta = 1), and a pointwise
 * convolution (1×1, stride 1, no padding) of one image reads X in place.
 *
 * The loops around the sgemms (im2col, the scatter into Y, col2im, the
 * bias gradient) run over a chunk's images, or dB's channels, on
 * gb_parallel_for; the sgemms use OpenBLAS's own threads.
 *
 * Backward, per group and chunk (dY_g gathered the same way):
 *     dW_g += dY_g · colᵀ        dcol = W_gᵀ · dY_g,  dX += col2im(dcol)
 *     dB[m] += Σ dY[:, m, ...]
 */
#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "../ops.h"

/* Columns per sgemm that make image batching worthwhile, and the most
 * im2col scratch a chunk of several images may take (cache-sized). */
#define CONV_TARGET_COLS 8192
#define CONV_CHUNK_BYTES ((int64_t)512 << 10)

/* Row-major C (m×n) = alpha·op(A)·op(B) + beta·C; k = 0 leaves beta·C. */
static void sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                  int64_t ldb, float beta, float *c, int64_t ldc)
{
	if (m == 0 || n == 0)
		return;
	if (k == 0) {
		for (int64_t i = 0; i < m; i++) {
			float *row = c + i * ldc;
			if (beta == 0.0f)
				memset(row, 0, (size_t)n * sizeof *row);
		}
		return;
	}
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
	            (int)k, 1.0f, a, (int)(lda > 0 ? lda : 1), b, (int)(ldb > 0 ? ldb : 1), beta, c,
	            (int)(ldc > 0 ? ldc : 1));
}

/* ---- attributes ------------------------------------------------------------------ */

typedef enum conv_pad_mode { PAD_NOTSET, PAD_VALID, PAD_SAME_UPPER, PAD_SAME_LOWER } conv_pad_mode;

typedef struct conv_params {
	conv_pad_mode auto_pad;
	int64_t group;
	const int64_t *kernel_shape, *strides, *pads, *dilations; /* borrowed from the node's attributes */
	int64_t n_kernel_shape, n_strides, n_pads, n_dilations;   /* -1 when absent */
} conv_params;

/* Largest stride, dilation or pad accepted: keeps the geometry arithmetic
 * far from int64 overflow. */
#define CONV_ATTR_MAX ((int64_t)1 << 30)

static gb_status check_ints(gb_model *m, gb_node *node, const char *name, const int64_t *v, int64_t n,
                            int64_t min, gb_error *err)
{
	for (int64_t i = 0; i < n; i++)
		if (v[i] < min || v[i] > CONV_ATTR_MAX)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "%s[%lld] = %lld is out of range", name,
			                     (long long)i, (long long)v[i]);
	return GB_OK;
}

static gb_status conv_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	conv_params *p = gb_arena_calloc(&m->arena, 1, sizeof *p);
	if (!p)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	const char *pad;
	gb_status st;
	if ((st = gb_attr_string(m, node, "auto_pad", "NOTSET", &pad, err)) != GB_OK ||
	    (st = gb_attr_int(m, node, "group", 1, &p->group, err)) != GB_OK ||
	    (st = gb_attr_ints(m, node, "kernel_shape", &p->kernel_shape, &p->n_kernel_shape, err)) != GB_OK ||
	    (st = gb_attr_ints(m, node, "strides", &p->strides, &p->n_strides, err)) != GB_OK ||
	    (st = gb_attr_ints(m, node, "pads", &p->pads, &p->n_pads, err)) != GB_OK ||
	    (st = gb_attr_ints(m, node, "dilations", &p->dilations, &p->n_dilations, err)) != GB_OK)
		return st;
	if (!pad || pad[0] == '\0' || strcmp(pad, "NOTSET") == 0)
		p->auto_pad = PAD_NOTSET;
	else if (strcmp(pad, "VALID") == 0)
		p->auto_pad = PAD_VALID;
	else if (strcmp(pad, "SAME_UPPER") == 0)
		p->auto_pad = PAD_SAME_UPPER;
	else if (strcmp(pad, "SAME_LOWER") == 0)
		p->auto_pad = PAD_SAME_LOWER;
	else
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "unknown auto_pad '%s'", pad);
	if (p->group < 1 || p->group > CONV_ATTR_MAX)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "group = %lld is out of range", (long long)p->group);
	if ((st = check_ints(m, node, "kernel_shape", p->kernel_shape, p->n_kernel_shape, 1, err)) != GB_OK ||
	    (st = check_ints(m, node, "strides", p->strides, p->n_strides, 1, err)) != GB_OK ||
	    (st = check_ints(m, node, "pads", p->pads, p->n_pads, 0, err)) != GB_OK ||
	    (st = check_ints(m, node, "dilations", p->dilations, p->n_dilations, 1, err)) != GB_OK)
		return st;
	if (p->n_pads > 0 && p->auto_pad != PAD_NOTSET)
		for (int64_t i = 0; i < p->n_pads; i++)
			if (p->pads[i] != 0)
				return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "pads and auto_pad '%s' are both set", pad);
	node->params = p;
	return GB_OK;
}

/* ---- geometry --------------------------------------------------------------------- */

/* Everything a kernel needs, spatial axes normalised to 3 (depth, height,
 * width; a lower-rank conv has leading axes of size 1). */
typedef struct conv_geom {
	const gb_tensor *x, *w, *b;
	int D;                         /* spatial rank of the file's conv: 1, 2 or 3 */
	int64_t N, C, M, G, Cg, Mg;    /* batch, in/out channels, groups, per group */
	int64_t in[3], k[3], out[3];   /* spatial input, kernel, output sizes */
	int64_t stride[3], dil[3], pad[3]; /* pad: before each axis */
	int64_t IN, O, KK, Ckk;        /* products: input/output spatial, kernel, Cg·KK */
	int pointwise;                 /* 1×1 kernel, stride 1, no padding: col = X */
	int y_ndim;
	int64_t y_dims[5];
} conv_geom;

static gb_status conv_geom_get(gb_exec *x, const gb_node *node, conv_geom *g, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const conv_params *p = node->params;
	char s1[128], s2[128];
	memset(g, 0, sizeof *g);
	g->x = gb_in(x, node, 0);
	g->w = gb_in(x, node, 1);
	g->b = gb_in(x, node, 2);
	if (g->x->dtype != GB_DTYPE_F32)
		return gb_dtype_unsupported(x, node, g->x, err);
	if (g->w->dtype != GB_DTYPE_F32)
		return gb_dtype_unsupported(x, node, g->w, err);
	if (g->b && g->b->dtype != GB_DTYPE_F32)
		return gb_dtype_unsupported(x, node, g->b, err);
	const gb_tensor *xt = g->x, *wt = g->w;
	if (xt->ndim < 3 || wt->ndim != xt->ndim)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
		                     "X %s and W %s must be (N, C, spatial...) and (M, C/group, kernel...) of one rank",
		                     gb_shape_str(xt->ndim, xt->dims, s1, sizeof s1),
		                     gb_shape_str(wt->ndim, wt->dims, s2, sizeof s2));
	int D = xt->ndim - 2;
	if (D > 3)
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "%d-D convolution is not supported (1-D to 3-D are)",
		                     D);
	g->D = D;
	g->N = xt->dims[0];
	g->C = xt->dims[1];
	g->M = wt->dims[0];
	g->G = p->group;
	g->Cg = wt->dims[1];
	int64_t c_want;
	if (!gb_mul_i64(g->Cg, g->G, &c_want) || c_want != g->C)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
		                     "X has %lld channels but W %s with group %lld expects %lld x %lld", (long long)g->C,
		                     gb_shape_str(wt->ndim, wt->dims, s2, sizeof s2), (long long)g->G, (long long)g->Cg,
		                     (long long)g->G);
	if (g->M % g->G != 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "%lld output channels do not split into %lld groups",
		                     (long long)g->M, (long long)g->G);
	g->Mg = g->M / g->G;
	if (g->b && (g->b->ndim != 1 || g->b->dims[0] != g->M))
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "bias B has shape %s, want [%lld]",
		                     gb_shape_str(g->b->ndim, g->b->dims, s1, sizeof s1), (long long)g->M);
	if (p->n_kernel_shape >= 0) {
		int same = p->n_kernel_shape == D;
		for (int i = 0; same && i < D; i++)
			same = p->kernel_shape[i] == wt->dims[2 + i];
		if (!same)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "kernel_shape %s does not match the weight W %s",
			                     gb_shape_str((int)(p->n_kernel_shape < GB_MAX_DIMS ? p->n_kernel_shape : GB_MAX_DIMS),
			                                  p->kernel_shape, s1, sizeof s1),
			                     gb_shape_str(wt->ndim, wt->dims, s2, sizeof s2));
	}
	if ((p->n_strides >= 0 && p->n_strides != D) || (p->n_dilations >= 0 && p->n_dilations != D) ||
	    (p->n_pads >= 0 && p->n_pads != 2 * D))
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
		                     "a %d-D convolution needs %d strides, %d dilations and %d pads, got %lld, %lld, %lld", D,
		                     D, D, 2 * D, (long long)p->n_strides, (long long)p->n_dilations, (long long)p->n_pads);

	g->y_ndim = xt->ndim;
	g->y_dims[0] = g->N;
	g->y_dims[1] = g->M;
	g->pointwise = 1;
	g->IN = g->O = g->KK = 1;
	for (int a = 0; a < 3; a++) {
		int i = a - (3 - D); /* axis in the file's spatial axes, < 0 for the added ones */
		if (i < 0) {
			g->in[a] = g->k[a] = g->out[a] = g->stride[a] = g->dil[a] = 1;
			g->pad[a] = 0;
			continue;
		}
		int64_t in = xt->dims[2 + i], k = wt->dims[2 + i];
		int64_t s = p->n_strides >= 0 ? p->strides[i] : 1;
		int64_t d = p->n_dilations >= 0 ? p->dilations[i] : 1;
		int64_t pb = p->n_pads >= 0 ? p->pads[i] : 0, pe = p->n_pads >= 0 ? p->pads[D + i] : 0;
		if (k < 1)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "weight W %s has an empty kernel axis",
			                     gb_shape_str(wt->ndim, wt->dims, s2, sizeof s2));
		int64_t dk; /* dilated kernel extent */
		if (!gb_mul_i64(k - 1, d, &dk) || dk > INT64_MAX / 2)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "dilated kernel is too large");
		dk += 1;
		if (p->auto_pad == PAD_VALID) {
			pb = pe = 0;
		} else if (p->auto_pad == PAD_SAME_UPPER || p->auto_pad == PAD_SAME_LOWER) {
			int64_t want = (in + s - 1) / s;
			int64_t total = (want - 1) * s + dk - in;
			if (total < 0)
				total = 0;
			pb = p->auto_pad == PAD_SAME_UPPER ? total / 2 : total - total / 2;
			pe = total - pb;
		}
		int64_t span = in + pb + pe;
		if (span < dk)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "spatial axis %d: input %lld (padded %lld) is smaller than the kernel extent %lld",
			                     i, (long long)in, (long long)span, (long long)dk);
		g->in[a] = in;
		g->k[a] = k;
		g->stride[a] = s;
		g->dil[a] = d;
		g->pad[a] = pb;
		g->out[a] = (span - dk) / s + 1;
		g->y_dims[2 + i] = g->out[a];
		if (k != 1 || s != 1 || pb != 0 || pe != 0)
			g->pointwise = 0;
		g->IN *= in;
		g->O *= g->out[a];
		g->KK *= k;
	}
	if (!gb_mul_i64(g->Cg, g->KK, &g->Ckk))
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "weight is too large");
	if (g->Mg > INT_MAX || g->Ckk > INT_MAX || g->O > INT_MAX)
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "convolution exceeds the BLAS int range");
	return GB_OK;
}

/* Images per chunk: enough columns for a large sgemm, but an im2col buffer
 * small enough to stay in a core's L2 cache between im2col and the sgemm
 * that reads it (a larger one went out to memory and back: 1.4x slower). */
static int64_t conv_chunk(const conv_geom *g)
{
	if (g->N <= 1 || g->O >= CONV_TARGET_COLS)
		return 1;
	int64_t nb = (CONV_TARGET_COLS + g->O - 1) / g->O;
	if (nb > g->N)
		nb = g->N;
	int64_t per_img = g->Ckk * g->O * (int64_t)sizeof(float); /* fits: both < 2^31 */
	int64_t cap = CONV_CHUNK_BYTES / (per_img > 0 ? per_img : 1);
	if (nb > cap)
		nb = cap > 1 ? cap : 1;
	if (nb * g->O > INT_MAX)
		nb = INT_MAX / g->O;
	return nb > 1 ? nb : 1;
}

/* ---- im2col / col2im ---------------------------------------------------------------- */

/* Output positions o in [0, n_out) with 0 <= o·stride + off < in: [*lo, *hi). */
static void valid_range(int64_t n_out, int64_t in, int64_t stride, int64_t off, int64_t *lo, int64_t *hi)
{
	int64_t l, h;
	if (stride == 1) { /* the common case, without two divisions per kernel tap */
		l = off >= 0 ? 0 : -off;
		h = in - off < 0 ? 0 : in - off;
	} else {
		l = off >= 0 ? 0 : (-off + stride - 1) / stride;
		h = in - 1 - off < 0 ? 0 : (in - 1 - off) / stride + 1;
	}
	if (h > n_out)
		h = n_out;
	if (l > h)
		l = h;
	*lo = l;
	*hi = h;
}

/* col (Ckk, ld), columns [0, O) of it: the receptive fields of one image's
 * group of channels x (Cg, ID, IH, IW). Padding reads as zero. The valid
 * output ranges of a kernel tap do not depend on the channel; each axis's
 * is found once per tap of that axis. */
static void im2col(const conv_geom *g, const float *x, float *col, int64_t ld)
{
	const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
	const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
	const int64_t sd = g->stride[0], sh = g->stride[1], sw = g->stride[2];
	int64_t r = 0;
	for (int64_t c = 0; c < g->Cg; c++) {
		const float *xc = x + c * ID * IH * IW; /* (ID, IH, IW) */
		for (int64_t kd = 0; kd < g->k[0]; kd++) {
			const int64_t offd = kd * g->dil[0] - g->pad[0];
			int64_t dlo, dhi;
			valid_range(OD, ID, sd, offd, &dlo, &dhi);
			for (int64_t kh = 0; kh < g->k[1]; kh++) {
				const int64_t offh = kh * g->dil[1] - g->pad[1];
				int64_t hlo, hhi;
				valid_range(OH, IH, sh, offh, &hlo, &hhi);
				for (int64_t kw = 0; kw < g->k[2]; kw++, r++) {
					float *row = col + r * ld; /* (OD, OH, OW) */
					const int64_t offw = kw * g->dil[2] - g->pad[2];
					int64_t wlo, whi;
					valid_range(OW, IW, sw, offw, &wlo, &whi);
					for (int64_t od = 0; od < OD; od++) {
						float *plane = row + od * OH * OW;
						if (od < dlo || od >= dhi) {
							memset(plane, 0, (size_t)(OH * OW) * sizeof *plane);
							continue;
						}
						const float *xd = xc + (od * sd + offd) * IH * IW; /* (IH, IW) */
						if (sw == 1 && wlo == 0 && whi == OW) {
							/* No padding along the row: a straight copy. */
							for (int64_t oh = 0; oh < hlo; oh++)
								for (int64_t ow = 0; ow < OW; ow++)
									plane[oh * OW + ow] = 0.0f;
							for (int64_t oh = hlo; oh < hhi; oh++) {
								const float *src = xd + (oh * sh + offh) * IW + offw;
								float *dst = plane + oh * OW;
								for (int64_t ow = 0; ow < OW; ow++)
									dst[ow] = src[ow];
							}
							for (int64_t oh = hhi; oh < OH; oh++)
								for (int64_t ow = 0; ow < OW; ow++)
									plane[oh * OW + ow] = 0.0f;
							continue;
						}
						for (int64_t oh = 0; oh < OH; oh++) {
							float *dst = plane + oh * OW;
							if (oh < hlo || oh >= hhi) {
								for (int64_t ow = 0; ow < OW; ow++)
									dst[ow] = 0.0f;
								continue;
							}
							const float *src = xd + (oh * sh + offh) * IW; /* (IW) */
							/* Rows are short (OW is often 8–32): plain loops, not
							 * three libc calls per row. */
							for (int64_t ow = 0; ow < wlo; ow++)
								dst[ow] = 0.0f;
							if (sw == 1) {
								const float *s1 = src + offw;
								for (int64_t ow = wlo; ow < whi; ow++)
									dst[ow] = s1[ow];
							} else {
								for (int64_t ow = wlo; ow < whi; ow++)
									dst[ow] = src[ow * sw + offw];
							}
							for (int64_t ow = whi; ow < OW; ow++)
								dst[ow] = 0.0f;
						}
					}
				}
			}
		}
	}
}

/* The adjoint of im2col: dx (Cg, ID, IH, IW) += the columns scattered back. */
static void col2im_add(const conv_geom *g, const float *col, int64_t ld, float *dx)
{
	const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
	const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
	const int64_t sd = g->stride[0], sh = g->stride[1], sw = g->stride[2];
	int64_t r = 0;
	for (int64_t c = 0; c < g->Cg; c++) {
		float *dxc = dx + c * ID * IH * IW;
		for (int64_t kd = 0; kd < g->k[0]; kd++) {
			const int64_t offd = kd * g->dil[0] - g->pad[0];
			int64_t dlo, dhi;
			valid_range(OD, ID, sd, offd, &dlo, &dhi);
			for (int64_t kh = 0; kh < g->k[1]; kh++) {
				const int64_t offh = kh * g->dil[1] - g->pad[1];
				int64_t hlo, hhi;
				valid_range(OH, IH, sh, offh, &hlo, &hhi);
				for (int64_t kw = 0; kw < g->k[2]; kw++, r++) {
					const float *row = col + r * ld;
					const int64_t offw = kw * g->dil[2] - g->pad[2];
					int64_t wlo, whi;
					valid_range(OW, IW, sw, offw, &wlo, &whi);
					for (int64_t od = dlo; od < dhi; od++) {
						const int64_t id = od * sd + offd;
						for (int64_t oh = hlo; oh < hhi; oh++) {
							const float *src = row + (od * OH + oh) * OW;
							float *dst = dxc + (id * IH + oh * sh + offh) * IW; /* (IW) */
							if (sw == 1) {
								float *d1 = dst + offw;
								for (int64_t ow = wlo; ow < whi; ow++)
									d1[ow] += src[ow];
							} else {
								for (int64_t ow = wlo; ow < whi; ow++)
									dst[ow * sw + offw] += src[ow];
							}
						}
					}
				}
			}
		}
	}
}

/* ---- per-image loops over a chunk, split over threads ----------------------------- */

/* The loops around the sgemms run over a chunk's images with
 * gb_parallel_for; each image reads and writes only its own columns of col
 * and its own slice of X, dX or Y. */
typedef struct conv_job {
	const conv_geom *g;
	int64_t n0, grp, cols; /* first image of the chunk, group, columns of col */
	const float *src;      /* X (im2col, scatter: prod) */
	float *col;            /* (Ckk, cols) */
	float *dst;            /* dX (col2im) or Y (scatter) */
	const float *bias;     /* (M) or NULL (scatter) */
} conv_job;

/* Images per range: at least about 32k floats of im2col. */
static int64_t conv_grain(const conv_geom *g)
{
	int64_t per_img = g->Ckk * g->O;
	return per_img >= 32768 ? 1 : 32768 / (per_img > 0 ? per_img : 1);
}

static void im2col_range(void *ctx, int64_t lo, int64_t hi, int part)
{
	const conv_job *j = ctx;
	const conv_geom *g = j->g;
	for (int64_t i = lo; i < hi; i++)
		im2col(g, j->src + ((j->n0 + i) * g->C + j->grp * g->Cg) * g->IN, j->col + i * g->O, j->cols);
}

static void col2im_range(void *ctx, int64_t lo, int64_t hi, int part)
{
	const conv_job *j = ctx;
	const conv_geom *g = j->g;
	for (int64_t i = lo; i < hi; i++)
		col2im_add(g, j->col + i * g->O, j->cols, j->dst + ((j->n0 + i) * g->C + j->grp * g->Cg) * g->IN);
}

/* Y[n0 + i, group's channels] = prod (Mg, cols) columns of image i + bias. */
static void scatter_range(void *ctx, int64_t lo, int64_t hi, int part)
{
	const conv_job *j = ctx;
	const conv_geom *g = j->g;
	const int64_t O = g->O;
	for (int64_t i = lo; i < hi; i++)
		for (int64_t m = 0; m < g->Mg; m++) {
			const float v = j->bias ? j->bias[j->grp * g->Mg + m] : 0.0f;
			const float *src = j->src + m * j->cols + i * O;
			float *dst = j->dst + ((j->n0 + i) * g->M + j->grp * g->Mg + m) * O;
			for (int64_t o = 0; o < O; o++)
				dst[o] = src[o] + v;
		}
}

/* ---- forward ------------------------------------------------------------------------ */

static gb_status conv_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	conv_geom g;
	gb_status st = conv_geom_get(x, node, &g, err);
	if (st != GB_OK)
		return st;
	gb_tensor *yt = gb_out(x, node, 0, GB_DTYPE_F32, g.y_ndim, g.y_dims, err);
	if (!yt)
		return GB_STATUS_NOMEM;
	const float *xd = g.x->data;                    /* (N, C, IN) */
	const float *wd = g.w->data;                    /* (M, Cg, KK) = (M, Ckk) */
	const float *bias = g.b ? g.b->data : NULL;     /* (M) */
	float *yd = yt->data;                           /* (N, M, O) */
	const int64_t nb_max = conv_chunk(&g), O = g.O, grain = conv_grain(&g);
	float *col = NULL; /* (Ckk, nb_max·O) */
	float *prod = NULL; /* (Mg, nb_max·O), chunks of several images */
	size_t col_n, prod_n, bytes;
	if (!(g.pointwise && nb_max == 1)) {
		if (!gb_mul_size((size_t)g.Ckk, (size_t)(nb_max * O), &col_n) || !gb_mul_size(col_n, sizeof *col, &bytes) ||
		    !(col = gb_scratch(x, bytes ? bytes : 1)))
			return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "cannot allocate im2col scratch");
	}
	if (nb_max > 1) {
		if (!gb_mul_size((size_t)g.Mg, (size_t)(nb_max * O), &prod_n) ||
		    !gb_mul_size(prod_n, sizeof *prod, &bytes) || !(prod = gb_scratch(x, bytes ? bytes : 1)))
			return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "cannot allocate conv scratch");
	}
	for (int64_t n0 = 0; n0 < g.N; n0 += nb_max) {
		const int64_t nb = g.N - n0 < nb_max ? g.N - n0 : nb_max, cols = nb * O;
		for (int64_t grp = 0; grp < g.G; grp++) {
			const float *wg = wd + grp * g.Mg * g.Ckk; /* (Mg, Ckk) */
			const float *cp = col;
			if (g.pointwise && nb == 1) {
				cp = xd + (n0 * g.C + grp * g.Cg) * g.IN; /* (Cg, O): X itself */
			} else {
				conv_job job = {&g, n0, grp, cols, xd, col, NULL, NULL};
				gb_parallel_for(nb, grain, im2col_range, &job);
			}
			if (nb == 1) {
				float *yg = yd + (n0 * g.M + grp * g.Mg) * O; /* (Mg, O) */
				if (bias)
					for (int64_t m = 0; m < g.Mg; m++) {
						const float v = bias[grp * g.Mg + m];
						float *yrow = yg + m * O;
						for (int64_t o = 0; o < O; o++)
							yrow[o] = v;
					}
				sgemm(0, 0, g.Mg, O, g.Ckk, wg, g.Ckk, cp, cols, bias ? 1.0f : 0.0f, yg, O);
				continue;
			}
			sgemm(0, 0, g.Mg, cols, g.Ckk, wg, g.Ckk, cp, cols, 0.0f, prod, cols);
			conv_job job = {&g, n0, grp, cols, prod, NULL, yd, bias};
			gb_parallel_for(nb, grain, scatter_range, &job);
		}
	}
	return GB_OK;
}

/* ---- backward ----------------------------------------------------------------------- */

/* Sum of x (n) in eight interleaved partial sums: vectorised, and not one
 * serial chain of additions. */
static float sum_f32(const float *x, int64_t n)
{
	float acc[8] = {0};
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			acc[j] += x[i + j];
	for (int j = 0; i < n; i++, j++)
		acc[j] += x[i];
	return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* ---- backward ----------------------------------------------------------------------- */

/* dB[m] += Σ dY[:, m, ...] for the channels m in [lo, hi). */
typedef struct bias_job {
	const conv_geom *g;
	const float *dy; /* (N, M, O) */
	float *db;       /* (M) */
} bias_job;

static void bias_grad_range(void *ctx, int64_t lo, int64_t hi, int part)
{
	const bias_job *j = ctx;
	const conv_geom *g = j->g;
	for (int64_t n = 0; n < g->N; n++)
		for (int64_t m = lo; m < hi; m++)
			j->db[m] += sum_f32(j->dy + (n * g->M + m) * g->O, g->O);
}

static gb_status conv_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *gy = gb_gout(x, node, 0);
	if (!gy)
		return GB_OK;
	conv_geom g;
	gb_status st = conv_geom_get(x, node, &g, err);
	if (st != GB_OK)
		return st;
	const float *dy = gy->data; /* (N, M, O) */
	const int64_t O = g.O;
	gb_tensor *gbt = g.b ? gb_gin(x, node, 2) : NULL;
	if (gbt) {
		float *db = gbt->data; /* (M) */
		bias_job job = {&g, dy, db};
		gb_parallel_for(g.M, g.N * O >= 32768 ? 1 : g.M, bias_grad_range, &job);
	}
	gb_tensor *gxt = gb_gin(x, node, 0), *gwt = gb_gin(x, node, 1);
	if (!gxt && !gwt)
		return GB_OK;
	const float *xd = g.x->data, *wd = g.w->data; /* (N, C, IN), (M, Ckk) */
	float *dx = gxt ? gxt->data : NULL;           /* (N, C, IN) */
	float *dw = gwt ? gwt->data : NULL;           /* (M, Ckk) */
	const int64_t nb_max = conv_chunk(&g), grain = conv_grain(&g);
	float *col = NULL; /* (Ckk, nb_max·O): im2col of X, then reused for dcol */
	float *dyg = NULL; /* (Mg, nb_max·O): dY of a group gathered over a chunk */
	size_t n_el, bytes;
	if (!(g.pointwise && nb_max == 1)) {
		if (!gb_mul_size((size_t)g.Ckk, (size_t)(nb_max * O), &n_el) || !gb_mul_size(n_el, sizeof *col, &bytes) ||
		    !(col = gb_scratch(x, bytes ? bytes : 1)))
			return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "cannot allocate im2col scratch");
	}
	if (nb_max > 1) {
		if (!gb_mul_size((size_t)g.Mg, (size_t)(nb_max * O), &n_el) || !gb_mul_size(n_el, sizeof *dyg, &bytes) ||
		    !(dyg = gb_scratch(x, bytes ? bytes : 1)))
			return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "cannot allocate conv scratch");
	}
	for (int64_t n0 = 0; n0 < g.N; n0 += nb_max) {
		const int64_t nb = g.N - n0 < nb_max ? g.N - n0 : nb_max, cols = nb * O;
		for (int64_t grp = 0; grp < g.G; grp++) {
			const float *wg = wd + grp * g.Mg * g.Ckk; /* (Mg, Ckk) */
			const float *dyp;                          /* (Mg, cols) */
			if (nb == 1) {
				dyp = dy + (n0 * g.M + grp * g.Mg) * O;
			} else {
				for (int64_t m = 0; m < g.Mg; m++)
					for (int64_t i = 0; i < nb; i++)
						memcpy(dyg + m * cols + i * O, dy + ((n0 + i) * g.M + grp * g.Mg + m) * O,
						       (size_t)O * sizeof *dyg);
				dyp = dyg;
			}
			const int direct = g.pointwise && nb == 1; /* col is X, col2im is an add */
			if (dw) {
				const float *cp = col;
				if (direct) {
					cp = xd + (n0 * g.C + grp * g.Cg) * g.IN;
				} else {
					conv_job job = {&g, n0, grp, cols, xd, col, NULL, NULL};
					gb_parallel_for(nb, grain, im2col_range, &job);
				}
				sgemm(0, 1, g.Mg, g.Ckk, cols, dyp, cols, cp, cols, 1.0f, dw + grp * g.Mg * g.Ckk, g.Ckk);
			}
			if (dx) {
				if (direct) {
					sgemm(1, 0, g.Ckk, O, g.Mg, wg, g.Ckk, dyp, O, 1.0f, dx + (n0 * g.C + grp * g.Cg) * g.IN, O);
					continue;
				}
				sgemm(1, 0, g.Ckk, cols, g.Mg, wg, g.Ckk, dyp, cols, 0.0f, col, cols);
				conv_job job = {&g, n0, grp, cols, NULL, col, dx, NULL};
				gb_parallel_for(nb, grain, col2im_range, &job);
			}
		}
	}
	return GB_OK;
}

const gb_op_def gb_ops_conv[] = {
	{"Conv", 2, 3, 1, 1, conv_prepare, conv_forward, conv_backward},
	{0},
};
