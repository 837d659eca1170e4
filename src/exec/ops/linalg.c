/*
 * linalg.c — matrix products: Gemm and MatMul, forward and backward.
 *
 * Both ops are thin layers over OpenBLAS's cblas_sgemm: every product, in
 * either direction, is one sgemm call (or one per batch item where numpy
 * broadcasting leaves no other choice). Gemm's bias is written into Y first
 * and sgemm accumulates onto it (beta = 1), so the forward pass touches Y
 * twice at most: once for the bias rows, once inside sgemm.
 *
 * Gradients (Y = alpha·op(A)·op(B) + beta·C):
 *   d op(A) = alpha · dY · op(B)ᵀ        d op(B) = alpha · op(A)ᵀ · dY
 *   dC      = beta · dY summed over the axes C was broadcast along.
 * MatMul is the same with alpha = 1, beta = 0, per batch item; broadcast
 * batch items accumulate into the same gradient block (sgemm beta = 1).
 */
#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "../ops.h"

/* ---- sgemm wrapper ------------------------------------------------------------
 * Row-major C (m×n) = alpha·op(A)·op(B) + beta·C with op(A) m×k, op(B) k×n.
 * Handles the degenerate sizes BLAS rejects or treats inconsistently
 * (k = 0: C = beta·C; leading dimensions of 0). Callers have checked that
 * every size fits a blasint (int). */
static void sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
	if (m == 0 || n == 0)
		return;
	if (k == 0 || alpha == 0.0f) {
		for (int64_t i = 0; i < m; i++) {
			float *row = c + i * ldc;
			if (beta == 0.0f)
				memset(row, 0, (size_t)n * sizeof *row);
			else if (beta != 1.0f)
				for (int64_t j = 0; j < n; j++)
					row[j] *= beta;
		}
		return;
	}
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
	            (int)k, alpha, a, (int)(lda > 0 ? lda : 1), b, (int)(ldb > 0 ? ldb : 1), beta, c,
	            (int)(ldc > 0 ? ldc : 1));
}

/* BLAS takes int sizes; leading dimensions are at most the largest size. */
static gb_status check_blas_sizes(gb_exec *x, const gb_node *node, int64_t m, int64_t n, int64_t k,
                                  gb_error *err)
{
	if (m > INT_MAX || n > INT_MAX || k > INT_MAX)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_UNSUPPORTED,
		                     "matrix product of %lld x %lld by %lld x %lld exceeds the BLAS int range",
		                     (long long)m, (long long)k, (long long)k, (long long)n);
	return GB_OK;
}

static gb_status check_f32(gb_exec *x, const gb_node *node, const gb_tensor *t, gb_error *err)
{
	return (t && t->dtype != GB_DTYPE_F32) ? gb_dtype_unsupported(x, node, t, err) : GB_OK;
}

/* ---- Gemm ----------------------------------------------------------------------- */

typedef struct gemm_params {
	float alpha, beta;
	int trans_a, trans_b;
	int strict_c; /* opset < 7 with broadcast = 0: C must be exactly (M, N) */
} gemm_params;

static gb_status gemm_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	gemm_params *p = gb_arena_calloc(&m->arena, 1, sizeof *p);
	if (!p)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	int64_t ta, tb, bc;
	gb_status st;
	if ((st = gb_attr_float(m, node, "alpha", 1.0f, &p->alpha, err)) != GB_OK ||
	    (st = gb_attr_float(m, node, "beta", 1.0f, &p->beta, err)) != GB_OK ||
	    (st = gb_attr_int(m, node, "transA", 0, &ta, err)) != GB_OK ||
	    (st = gb_attr_int(m, node, "transB", 0, &tb, err)) != GB_OK ||
	    (st = gb_attr_int(m, node, "broadcast", 0, &bc, err)) != GB_OK)
		return st;
	if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "transA and transB must be 0 or 1, not %lld and %lld",
		                     (long long)ta, (long long)tb);
	p->trans_a = (int)ta;
	p->trans_b = (int)tb;
	p->strict_c = m->opset > 0 && m->opset < 7 && bc == 0;
	if (m->opset > 0 && m->opset < 11 && node->n_inputs < 3)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "Gemm before opset 11 needs the input C");
	node->params = p;
	return GB_OK;
}

/* The shape of C seen as (cm, cn) against Y (M, N): unidirectional
 * broadcasting, right-aligned, each dim 1 or equal. */
static gb_status gemm_c_shape(gb_exec *x, const gb_node *node, const gb_tensor *c, int64_t M, int64_t N,
                              int strict, int64_t *cm, int64_t *cn, gb_error *err)
{
	*cm = c->ndim >= 2 ? c->dims[c->ndim - 2] : 1;
	*cn = c->ndim >= 1 ? c->dims[c->ndim - 1] : 1;
	int ok = c->ndim <= 2 && (*cm == 1 || *cm == M) && (*cn == 1 || *cn == N);
	if (strict)
		ok = c->ndim == 2 && *cm == M && *cn == N;
	if (!ok) {
		char buf[128];
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE,
		                     "C of shape %s does not broadcast to the output (%lld, %lld)",
		                     gb_shape_str(c->ndim, c->dims, buf, sizeof buf), (long long)M, (long long)N);
	}
	return GB_OK;
}

/* Reads A, B, C and works out M, N, K (shared by forward and backward). */
typedef struct gemm_dims {
	const gb_tensor *a, *b, *c;
	int64_t M, N, K, cm, cn;
} gemm_dims;

static gb_status gemm_dims_get(gb_exec *x, const gb_node *node, const gemm_params *p, gemm_dims *d,
                               gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	d->a = gb_in(x, node, 0);
	d->b = gb_in(x, node, 1);
	d->c = gb_in(x, node, 2);
	gb_status st;
	if ((st = check_f32(x, node, d->a, err)) != GB_OK || (st = check_f32(x, node, d->b, err)) != GB_OK ||
	    (st = check_f32(x, node, d->c, err)) != GB_OK)
		return st;
	if (d->a->ndim != 2 || d->b->ndim != 2) {
		char sa[128], sb[128];
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "A and B must be matrices, got %s and %s",
		                     gb_shape_str(d->a->ndim, d->a->dims, sa, sizeof sa),
		                     gb_shape_str(d->b->ndim, d->b->dims, sb, sizeof sb));
	}
	d->M = d->a->dims[p->trans_a ? 1 : 0];
	d->K = d->a->dims[p->trans_a ? 0 : 1];
	int64_t kb = d->b->dims[p->trans_b ? 1 : 0];
	d->N = d->b->dims[p->trans_b ? 0 : 1];
	if (kb != d->K)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
		                     "inner dimensions differ: op(A) is %lld x %lld, op(B) is %lld x %lld", (long long)d->M,
		                     (long long)d->K, (long long)kb, (long long)d->N);
	if ((st = check_blas_sizes(x, node, d->M, d->N, d->K, err)) != GB_OK)
		return st;
	d->cm = d->cn = 0;
	if (d->c && (st = gemm_c_shape(x, node, d->c, d->M, d->N, 0, &d->cm, &d->cn, err)) != GB_OK)
		return st;
	return GB_OK;
}

static gb_status gemm_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gemm_params *p = node->params;
	gemm_dims d;
	gb_status st = gemm_dims_get(x, node, p, &d, err);
	if (st != GB_OK)
		return st;
	if (d.c && p->strict_c && (st = gemm_c_shape(x, node, d.c, d.M, d.N, 1, &d.cm, &d.cn, err)) != GB_OK)
		return st;
	int64_t M = d.M, N = d.N, K = d.K;
	gb_tensor *y = gb_out(x, node, 0, GB_DTYPE_F32, 2, (int64_t[]){M, N}, err);
	if (!y)
		return GB_STATUS_NOMEM;
	float *yd = y->data;           /* (M, N) */
	float gemm_beta = 0.0f;
	if (d.c) {
		/* Y = beta·C broadcast row by row; sgemm then adds alpha·op(A)·op(B). */
		const float *cd = d.c->data; /* (cm, cn) */
		const float beta = p->beta;
		for (int64_t i = 0; i < M; i++) {
			const float *crow = cd + (d.cm == 1 ? 0 : i) * d.cn;
			float *yrow = yd + i * N;
			if (d.cn == N) {
				if (beta == 1.0f)
					memcpy(yrow, crow, (size_t)N * sizeof *yrow);
				else
					for (int64_t j = 0; j < N; j++)
						yrow[j] = beta * crow[j];
			} else {
				const float v = beta * crow[0];
				for (int64_t j = 0; j < N; j++)
					yrow[j] = v;
			}
		}
		gemm_beta = 1.0f;
	}
	sgemm(p->trans_a, p->trans_b, M, N, K, p->alpha, d.a->data, d.a->dims[1], d.b->data, d.b->dims[1], gemm_beta,
	      yd, N);
	return GB_OK;
}

static gb_status gemm_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gemm_params *p = node->params;
	const gb_tensor *gy = gb_gout(x, node, 0);
	if (!gy)
		return GB_OK;
	gemm_dims d;
	gb_status st = gemm_dims_get(x, node, p, &d, err);
	if (st != GB_OK)
		return st;
	int64_t M = d.M, N = d.N, K = d.K;
	const float *dy = gy->data; /* (M, N) */
	const int64_t lda = d.a->dims[1], ldb = d.b->dims[1];
	gb_tensor *ga = gb_gin(x, node, 0);
	if (ga) {
		if (!p->trans_a) /* dA (M, K) += alpha · dY · op(B)ᵀ */
			sgemm(0, !p->trans_b, M, K, N, p->alpha, dy, N, d.b->data, ldb, 1.0f, ga->data, K);
		else /* dA (K, M) += alpha · op(B) · dYᵀ */
			sgemm(p->trans_b, 1, K, M, N, p->alpha, d.b->data, ldb, dy, N, 1.0f, ga->data, M);
	}
	gb_tensor *gb = gb_gin(x, node, 1);
	if (gb) {
		if (!p->trans_b) /* dB (K, N) += alpha · op(A)ᵀ · dY */
			sgemm(!p->trans_a, 0, K, N, M, p->alpha, d.a->data, lda, dy, N, 1.0f, gb->data, N);
		else /* dB (N, K) += alpha · dYᵀ · op(A) */
			sgemm(1, p->trans_a, N, K, M, p->alpha, dy, N, d.a->data, lda, 1.0f, gb->data, K);
	}
	gb_tensor *gc = d.c ? gb_gin(x, node, 2) : NULL;
	if (gc) {
		float *dc = gc->data; /* (cm, cn) */
		const float beta = p->beta;
		for (int64_t i = 0; i < M; i++) {
			const float *dyrow = dy + i * N;
			float *dcrow = dc + (d.cm == 1 ? 0 : i) * d.cn;
			if (d.cn == N) {
				for (int64_t j = 0; j < N; j++)
					dcrow[j] += beta * dyrow[j];
			} else {
				float s = 0.0f;
				for (int64_t j = 0; j < N; j++)
					s += dyrow[j];
				dcrow[0] += beta * s;
			}
		}
	}
	return GB_OK;
}

/* ---- MatMul ------------------------------------------------------------------------
 * numpy.matmul: a 1-D left operand is a row (1, K) and a 1-D right operand
 * a column (K, 1), the added axis dropped from the result; leading (batch)
 * axes broadcast against each other. */

typedef struct matmul_dims {
	const gb_tensor *a, *b;
	int64_t M, N, K;
	int nb;                        /* batch rank of the output */
	int64_t batch[GB_MAX_DIMS];    /* output batch dims */
	int64_t a_step[GB_MAX_DIMS];   /* element offset per batch index step in A (0: broadcast) */
	int64_t b_step[GB_MAX_DIMS];
	int64_t n_batch;               /* product of batch */
	int a_batched, b_batched;      /* operand has a batch of more than one matrix */
	int y_ndim;
	int64_t y_dims[GB_MAX_DIMS];
} matmul_dims;

static gb_status matmul_dims_get(gb_exec *x, const gb_node *node, matmul_dims *d, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	d->a = gb_in(x, node, 0);
	d->b = gb_in(x, node, 1);
	gb_status st;
	if ((st = check_f32(x, node, d->a, err)) != GB_OK || (st = check_f32(x, node, d->b, err)) != GB_OK)
		return st;
	const gb_tensor *a = d->a, *b = d->b;
	char sa[128], sb[128];
	if (a->ndim < 1 || b->ndim < 1)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "operands must have rank 1 or more, got %s and %s",
		                     gb_shape_str(a->ndim, a->dims, sa, sizeof sa),
		                     gb_shape_str(b->ndim, b->dims, sb, sizeof sb));
	d->M = a->ndim == 1 ? 1 : a->dims[a->ndim - 2];
	d->K = a->dims[a->ndim - 1];
	int64_t kb = b->ndim == 1 ? b->dims[0] : b->dims[b->ndim - 2];
	d->N = b->ndim == 1 ? 1 : b->dims[b->ndim - 1];
	int na = a->ndim > 2 ? a->ndim - 2 : 0, nbb = b->ndim > 2 ? b->ndim - 2 : 0;
	d->nb = na > nbb ? na : nbb;
	if (kb != d->K)
		goto mismatch;
	/* Batch strides in elements of each operand, right-aligned. */
	int64_t sa_el = d->M * d->K, sb_el = d->K * d->N;
	d->n_batch = 1;
	d->a_batched = d->b_batched = 0;
	for (int i = d->nb - 1; i >= 0; i--) {
		int ia = i - (d->nb - na), ib = i - (d->nb - nbb);
		int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
		if (da != db && da != 1 && db != 1)
			goto mismatch;
		d->batch[i] = da > db ? da : db;
		if (da == 0 || db == 0)
			d->batch[i] = 0;
		d->a_step[i] = da == 1 ? 0 : sa_el;
		d->b_step[i] = db == 1 ? 0 : sb_el;
		if (da > 1)
			d->a_batched = 1;
		if (db > 1)
			d->b_batched = 1;
		sa_el *= da;
		sb_el *= db;
		d->n_batch *= d->batch[i];
	}
	d->y_ndim = 0;
	for (int i = 0; i < d->nb; i++)
		d->y_dims[d->y_ndim++] = d->batch[i];
	if (a->ndim > 1)
		d->y_dims[d->y_ndim++] = d->M;
	if (b->ndim > 1)
		d->y_dims[d->y_ndim++] = d->N;
	return check_blas_sizes(x, node, d->M, d->N, d->K, err);
mismatch:
	return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "shapes %s and %s do not fit matmul",
	                     gb_shape_str(a->ndim, a->dims, sa, sizeof sa), gb_shape_str(b->ndim, b->dims, sb, sizeof sb));
}

/* Calls fn for each output batch item with the element offsets of the A and
 * B matrices it reads (numpy broadcasting of the batch axes). */
typedef void (*matmul_item_fn)(const matmul_dims *d, int64_t item, int64_t a_off, int64_t b_off, void *ctx);

static void matmul_each(const matmul_dims *d, matmul_item_fn fn, void *ctx)
{
	int64_t idx[GB_MAX_DIMS] = {0};
	int64_t a_off = 0, b_off = 0;
	for (int64_t item = 0; item < d->n_batch; item++) {
		fn(d, item, a_off, b_off, ctx);
		for (int i = d->nb - 1; i >= 0; i--) { /* odometer increment */
			a_off += d->a_step[i];
			b_off += d->b_step[i];
			if (++idx[i] < d->batch[i])
				break;
			a_off -= d->a_step[i] * d->batch[i];
			b_off -= d->b_step[i] * d->batch[i];
			idx[i] = 0;
		}
	}
}

typedef struct matmul_ctx {
	const float *dy; /* (n_batch, M, N) */
	float *y, *ga, *gb;
} matmul_ctx;

static void matmul_item_forward(const matmul_dims *d, int64_t item, int64_t a_off, int64_t b_off, void *ctx)
{
	matmul_ctx *c = ctx;
	sgemm(0, 0, d->M, d->N, d->K, 1.0f, (const float *)d->a->data + a_off, d->K, (const float *)d->b->data + b_off,
	      d->N, 0.0f, c->y + item * d->M * d->N, d->N);
}

static void matmul_item_backward(const matmul_dims *d, int64_t item, int64_t a_off, int64_t b_off, void *ctx)
{
	matmul_ctx *c = ctx;
	const float *dy = c->dy + item * d->M * d->N; /* (M, N) */
	if (c->ga) /* dA (M, K) += dY · Bᵀ */
		sgemm(0, 1, d->M, d->K, d->N, 1.0f, dy, d->N, (const float *)d->b->data + b_off, d->N, 1.0f, c->ga + a_off,
		      d->K);
	if (c->gb) /* dB (K, N) += Aᵀ · dY */
		sgemm(1, 0, d->K, d->N, d->M, 1.0f, (const float *)d->a->data + a_off, d->K, dy, d->N, 1.0f, c->gb + b_off,
		      d->N);
}

static gb_status matmul_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	matmul_dims d;
	gb_status st = matmul_dims_get(x, node, &d, err);
	if (st != GB_OK)
		return st;
	gb_tensor *y = gb_out(x, node, 0, GB_DTYPE_F32, d.y_ndim, d.y_dims, err);
	if (!y)
		return GB_STATUS_NOMEM;
	if (!d.b_batched) {
		/* One matrix on the right: the batch folds into the rows of A. The
		 * output batch then has as many items as A (the rest are 1s). */
		int64_t rows = d.n_batch * d.M;
		if ((st = check_blas_sizes(x, node, rows, d.N, d.K, err)) != GB_OK)
			return st;
		sgemm(0, 0, rows, d.N, d.K, 1.0f, d.a->data, d.K, d.b->data, d.N, 0.0f, y->data, d.N);
		return GB_OK;
	}
	matmul_ctx c = {.y = y->data};
	matmul_each(&d, matmul_item_forward, &c);
	return GB_OK;
}

static gb_status matmul_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *gy = gb_gout(x, node, 0);
	if (!gy)
		return GB_OK;
	matmul_dims d;
	gb_status st = matmul_dims_get(x, node, &d, err);
	if (st != GB_OK)
		return st;
	gb_tensor *ga = gb_gin(x, node, 0), *gb = gb_gin(x, node, 1);
	matmul_ctx c = {.dy = gy->data, .ga = ga ? ga->data : NULL, .gb = gb ? gb->data : NULL};
	if (!d.b_batched) {
		int64_t rows = d.n_batch * d.M;
		if ((st = check_blas_sizes(x, node, rows, d.N, d.K, err)) != GB_OK)
			return st;
		if (c.ga) /* dA (rows, K) += dY · Bᵀ */
			sgemm(0, 1, rows, d.K, d.N, 1.0f, c.dy, d.N, d.b->data, d.N, 1.0f, c.ga, d.K);
		if (c.gb) /* dB (K, N) += Aᵀ · dY, summed over A's batch by the product itself */
			sgemm(1, 0, d.K, d.N, rows, 1.0f, d.a->data, d.K, c.dy, d.N, 1.0f, c.gb, d.N);
		return GB_OK;
	}
	matmul_each(&d, matmul_item_backward, &c);
	return GB_OK;
}

const gb_op_def gb_ops_linalg[] = {
	{"Gemm", 2, 3, 1, 1, gemm_prepare, gemm_forward, gemm_backward},
	{"MatMul", 2, 2, 1, 1, NULL, matmul_forward, matmul_backward},
	{0},
};
