/*
 * elementwise.c — the elementwise ONNX ops and their gradients:
 *
 *   binary      Add Sub Mul Div Pow PRelu; Equal Greater Less GreaterOrEqual
 *               LessOrEqual, And Or Xor (bool out)
 *   variadic    Sum Mean Max Min (1..N inputs)
 *   ternary     Where
 *   Clip        (attributes before opset 11, optional inputs from 11)
 *   unary       Sqrt Neg Abs Exp Log Erf Relu LeakyRelu Elu Selu Sigmoid
 *               Tanh Softplus Gelu; Not (bool)
 *   Cast        and CastLike, between float32, int64 and bool
 *
 * Every op broadcasts numpy-style through broadcast.h: the output is walked
 * in rows in which each input is contiguous or one constant, so same-shape,
 * scalar and bias-like operands run as tight loops. Each kernel is written
 * once as an expression and expanded by a macro into its row loops, so an
 * op's forward and its derivatives sit on neighbouring lines.
 *
 * dtypes: float32 everywhere; int64 for Add Sub Mul Div Neg Abs Max Min Sum
 * Clip and the comparisons (integer arithmetic wraps like two's complement;
 * Div truncates toward zero as in C, ONNX's reference and onnxruntime, and
 * division by zero is an error); Where selects float32, int64 or bool; Equal
 * also compares bool; And Or Xor Not take bool only. Pow takes a float32
 * base with a float32 or int64 exponent (|e| <= 2^24, exact in float32).
 * Cast converts float32 -> int64
 * by truncation toward zero (a NaN or out-of-range value is refused: ONNX
 * leaves it undefined), anything -> bool as "nonzero" (NaN is true),
 * int64 -> float32 to nearest; `to` is the TensorProto type number (a type
 * name in Cast-1). Anything else is GB_STATUS_UNSUPPORTED.
 *
 * Opset differences: before opset 7 Add/Sub/Mul/Div/Pow and the comparisons
 * broadcast only with broadcast=1 (B onto A, placed at `axis` or at the end)
 * and PRelu applies a 1-D slope of length C along axis 1; Clip reads min/max
 * attributes before opset 11 and optional scalar inputs from 11. Graphs
 * built in memory (opset 0) get the newest semantics.
 *
 * Gradients follow PyTorch at kinks: relu'(0) = 0, abs'(0) = 0,
 * leaky_relu'(0) = prelu'(0) = alpha (the x <= 0 branch), elu'(0) =
 * selu'(0)/gamma = alpha; Clip passes the gradient to x where
 * min <= x <= max, to min where x < min and to max where the result is max;
 * Max and Min split the gradient equally between all inputs that attain the
 * result (PyTorch's maximum/minimum do so for two; this is the same rule for
 * N); Pow gives the base 0 where the exponent is 0 and the exponent
 * y * log(base) where base > 0, 0 elsewhere (PyTorch gives NaN for a
 * negative base); Where gives its condition nothing; Cast passes the
 * gradient through float32 -> float32 only (other casts are piecewise
 * constant). A broadcast input receives the sum of the gradient over the
 * axes it was broadcast along, accumulated in float64.
 *
 * Backward recomputes what it needs from the inputs instead of reading the
 * stored output: an intervention may have changed that output, and the
 * node's local derivative is the derivative of the op, not of the edit.
 */
/* GCC's -O2 vectorizer uses the "very-cheap" cost model, which leaves scalar
 * every loop whose trip count is not a known multiple of the vector width:
 * all of the row loops here. The "cheap" model vectorizes them (with a
 * runtime alias check where a row is updated in place). Results are
 * bit-identical: float reductions are never reassociated without
 * -ffast-math. Clang vectorizes these at -O2 already. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=cheap")
#endif

#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "../ops.h"
#include "broadcast.h"

#define SQRT1_2 0.70710678118654752440f     /* 1/sqrt(2) */
#define TWO_OVER_SQRTPI 1.12837916709551257390f /* 2/sqrt(pi) */
#define INV_SQRT2PI 0.39894228040143267794f /* 1/sqrt(2 pi) */
#define SQRT_2_OVER_PI 0.79788456080286535588f /* sqrt(2/pi) */
#define GELU_TANH_C 0.044715f

/* ---- common helpers --------------------------------------------------------- */

/* gb_out and gb_scratch record their failure in err when there is one. */
static gb_status alloc_failed(gb_error *err)
{
	return err && err->status != GB_OK ? err->status : GB_STATUS_NOMEM;
}

static gb_status scratch_failed(gb_exec *x, const gb_node *node, gb_error *err)
{
	return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "out of memory for scratch space");
}

/* n elements of size elem from the pass's scratch arena; NULL on overflow/OOM. */
static void *scratch_array(gb_exec *x, int64_t n, size_t elem)
{
	size_t bytes;
	if (n < 0 || !gb_mul_size((size_t)n, elem, &bytes))
		return NULL;
	return gb_scratch(x, bytes ? bytes : 1);
}

static gb_status missing_input(gb_exec *x, const gb_node *node, int k, gb_error *err)
{
	return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE, "input %d is required but missing", k);
}

static gb_status dtype_mismatch(gb_exec *x, const gb_node *node, const gb_tensor *a, const gb_tensor *b,
                                gb_error *err)
{
	return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE, "inputs are %s and %s; they must match",
	                     gb_dtype_name(a->dtype), gb_dtype_name(b->dtype));
}

static int same_shape(const gb_tensor *a, const gb_tensor *b)
{
	if (a->ndim != b->ndim)
		return 0;
	for (int d = 0; d < a->ndim; d++)
		if (a->dims[d] != b->dims[d])
			return 0;
	return 1;
}

/* ---- broadcast shapes of an op's operands --------------------------------------- */

/* The shapes the broadcast walk sees: the output and up to three operands
 * (an operand's shape may differ from its tensor's under legacy broadcast). */
typedef struct operands {
	int n;
	int ndim;
	int64_t dims[GB_MAX_DIMS];
	int in_ndim[GB_BCAST_MAX_IN];
	int64_t in_dims[GB_BCAST_MAX_IN][GB_MAX_DIMS];
} operands;

static void operands_set(operands *o, int k, int ndim, const int64_t *dims)
{
	o->in_ndim[k] = ndim;
	memcpy(o->in_dims[k], dims, (size_t)ndim * sizeof *dims);
	if (k >= o->n)
		o->n = k + 1;
}

static gb_status broadcast_error(gb_exec *x, const gb_node *node, const operands *o, gb_error *err)
{
	char list[3 * 160] = "";
	for (int k = 0; k < o->n; k++) {
		char s[160];
		gb_shape_str(o->in_ndim[k], o->in_dims[k], s, sizeof s);
		size_t len = strlen(list);
		snprintf(list + len, sizeof list - len, "%s%s", k ? (k == o->n - 1 ? " and " : ", ") : "", s);
	}
	return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE, "input shapes %s do not broadcast",
	                     list);
}

/* Output shape = numpy broadcast of the operands. */
static gb_status operands_broadcast(gb_exec *x, const gb_node *node, operands *o, gb_error *err)
{
	o->ndim = o->in_ndim[0];
	memcpy(o->dims, o->in_dims[0], (size_t)o->ndim * sizeof o->dims[0]);
	for (int k = 1; k < o->n; k++)
		if (!gb_bcast_fold(&o->ndim, o->dims, o->in_ndim[k], o->in_dims[k]))
			return broadcast_error(x, node, o, err);
	return GB_OK;
}

static void operands_plan(const operands *o, gb_bcast *p)
{
	const int64_t *dims[GB_BCAST_MAX_IN];
	for (int k = 0; k < o->n; k++)
		dims[k] = o->in_dims[k];
	gb_bcast_plan(p, o->ndim, o->dims, o->n, o->in_ndim, dims);
}

/* ---- row kernels ------------------------------------------------------------------
 *
 * A forward row kernel computes y[i] = EXPR(u, v) for i < n with
 * u = a[i*sa], v = b[i*sb] (strides 0 or 1). A gradient row kernel adds
 * EXPR(gy, u, v, c) (gy = g[i], c an op constant) into the gradient of one
 * operand: _full for an operand of the output's size (elementwise, float),
 * _red for a broadcast one (into a float64 accumulator of stride st: 1, or
 * 0 to sum the whole row into one element).
 */

typedef void (*row_fn)(int64_t n, const void *a, int64_t sa, const void *b, int64_t sb, void *y);
typedef void (*grad_full_fn)(int64_t n, const float *g, const float *a, int64_t sa, const float *b, int64_t sb,
                             float c, float *gt);
typedef void (*grad_red_fn)(int64_t n, const float *g, const float *a, int64_t sa, const float *b, int64_t sb,
                            float c, double *acc, int64_t st);

#define ROW_KERNEL(name, TA, TY, EXPR)                                                                      \
	static void name(int64_t n, const void *pa, int64_t sa, const void *pb, int64_t sb, void *py)         \
	{                                                                                                      \
		const TA *a = pa, *b = pb;                                                                         \
		TY *y = py;                                                                                        \
		if (sa && sb) {                                                                                    \
			for (int64_t i = 0; i < n; i++) {                                                              \
				TA u = a[i], v = b[i];                                                                     \
				y[i] = (EXPR);                                                                             \
			}                                                                                              \
		} else if (sa) {                                                                                   \
			const TA v = b[0];                                                                             \
			for (int64_t i = 0; i < n; i++) {                                                              \
				TA u = a[i];                                                                               \
				y[i] = (EXPR);                                                                             \
			}                                                                                              \
		} else if (sb) {                                                                                   \
			const TA u = a[0];                                                                             \
			for (int64_t i = 0; i < n; i++) {                                                              \
				TA v = b[i];                                                                               \
				y[i] = (EXPR);                                                                             \
			}                                                                                              \
		} else {                                                                                           \
			const TA u = a[0], v = b[0];                                                                   \
			const TY r = (EXPR);                                                                           \
			for (int64_t i = 0; i < n; i++)                                                                \
				y[i] = r;                                                                                  \
		}                                                                                                  \
	}

#define GRAD_KERNELS(name, EXPR)                                                                            \
	static void name##_full(int64_t n, const float *g, const float *a, int64_t sa, const float *b, int64_t sb, \
	                        float c, float *gt)                                                            \
	{                                                                                                      \
		(void)c;                                                                                           \
		if (sa && sb) {                                                                                    \
			for (int64_t i = 0; i < n; i++) {                                                              \
				float gy = g[i], u = a[i], v = b[i];                                                       \
				(void)u, (void)v;                                                                          \
				gt[i] += (EXPR);                                                                           \
			}                                                                                              \
		} else {                                                                                           \
			for (int64_t i = 0; i < n; i++) {                                                              \
				float gy = g[i], u = a[i * sa], v = b[i * sb];                                             \
				(void)u, (void)v;                                                                      \
				gt[i] += (EXPR);                                                                           \
			}                                                                                              \
		}                                                                                                  \
	}                                                                                                      \
	static void name##_red(int64_t n, const float *g, const float *a, int64_t sa, const float *b, int64_t sb,  \
	                       float c, double *acc, int64_t st)                                               \
	{                                                                                                      \
		(void)c;                                                                                           \
		if (st) {                                                                                          \
			for (int64_t i = 0; i < n; i++) {                                                              \
				float gy = g[i], u = a[i * sa], v = b[i * sb];                                             \
				(void)u, (void)v;                                                                      \
				acc[i] += (double)(EXPR);                                                                  \
			}                                                                                              \
		} else {                                                                                           \
			double sum = 0.0;                                                                              \
			for (int64_t i = 0; i < n; i++) {                                                              \
				float gy = g[i], u = a[i * sa], v = b[i * sb];                                             \
				(void)u, (void)v;                                                                      \
				sum += (double)(EXPR);                                                                     \
			}                                                                                              \
			acc[0] += sum;                                                                                 \
		}                                                                                                  \
	}

/* int64 arithmetic wraps (two's complement) instead of overflowing. */
#define WRAP_ADD(u, v) ((int64_t)((uint64_t)(u) + (uint64_t)(v)))
#define WRAP_SUB(u, v) ((int64_t)((uint64_t)(u) - (uint64_t)(v)))
#define WRAP_MUL(u, v) ((int64_t)((uint64_t)(u) * (uint64_t)(v)))
#define WRAP_NEG(u) ((int64_t)(0 - (uint64_t)(u)))
/* Truncating division; the caller has ruled out v == 0. INT64_MIN / -1 wraps. */
#define TRUNC_DIV(u, v) ((v) == -1 ? WRAP_NEG(u) : (u) / (v))

/* Max/Min propagate NaN like numpy and PyTorch (fmaxf would drop it). */
#define MAX_F(u, v) (((u) > (v) || (u) != (u)) ? (u) : (v))
#define MIN_F(u, v) (((u) < (v) || (u) != (u)) ? (u) : (v))
#define MAX_I(u, v) ((u) > (v) ? (u) : (v))
#define MIN_I(u, v) ((u) < (v) ? (u) : (v))
/* u attains the result v of a Max/Min (NaN attains NaN). */
#define TIES(u, v) ((u) == (v) || ((u) != (u) && (v) != (v)))

ROW_KERNEL(add_f32, float, float, u + v)
ROW_KERNEL(sub_f32, float, float, u - v)
ROW_KERNEL(mul_f32, float, float, u * v)
ROW_KERNEL(div_f32, float, float, u / v)
ROW_KERNEL(pow_f32, float, float, powf(u, v))
ROW_KERNEL(prelu_f32, float, float, u < 0.0f ? v * u : u)
ROW_KERNEL(max_f32, float, float, MAX_F(u, v))
ROW_KERNEL(min_f32, float, float, MIN_F(u, v))
ROW_KERNEL(add_i64, int64_t, int64_t, WRAP_ADD(u, v))
ROW_KERNEL(sub_i64, int64_t, int64_t, WRAP_SUB(u, v))
ROW_KERNEL(mul_i64, int64_t, int64_t, WRAP_MUL(u, v))
ROW_KERNEL(div_i64, int64_t, int64_t, TRUNC_DIV(u, v))
ROW_KERNEL(max_i64, int64_t, int64_t, MAX_I(u, v))
ROW_KERNEL(min_i64, int64_t, int64_t, MIN_I(u, v))
ROW_KERNEL(equal_f32, float, uint8_t, u == v)
ROW_KERNEL(equal_i64, int64_t, uint8_t, u == v)
ROW_KERNEL(equal_b8, uint8_t, uint8_t, (u != 0) == (v != 0))
ROW_KERNEL(greater_f32, float, uint8_t, u > v)
ROW_KERNEL(greater_i64, int64_t, uint8_t, u > v)
ROW_KERNEL(less_f32, float, uint8_t, u < v)
ROW_KERNEL(less_i64, int64_t, uint8_t, u < v)
ROW_KERNEL(greater_equal_f32, float, uint8_t, u >= v)
ROW_KERNEL(greater_equal_i64, int64_t, uint8_t, u >= v)
ROW_KERNEL(less_equal_f32, float, uint8_t, u <= v)
ROW_KERNEL(less_equal_i64, int64_t, uint8_t, u <= v)
ROW_KERNEL(and_b8, uint8_t, uint8_t, (u != 0) & (v != 0))
ROW_KERNEL(or_b8, uint8_t, uint8_t, (u != 0) | (v != 0))
ROW_KERNEL(xor_b8, uint8_t, uint8_t, (u != 0) ^ (v != 0))

GRAD_KERNELS(pass_grad, gy)
GRAD_KERNELS(negate_grad, -gy)
GRAD_KERNELS(mul_ga, gy * v)
GRAD_KERNELS(mul_gb, gy * u)
GRAD_KERNELS(div_ga, gy / v)
GRAD_KERNELS(div_gb, -gy * u / (v * v))
GRAD_KERNELS(pow_ga, v == 0.0f ? 0.0f : gy * v * powf(u, v - 1.0f))
GRAD_KERNELS(pow_gb, u > 0.0f ? gy * powf(u, v) * logf(u) : 0.0f)
GRAD_KERNELS(prelu_ga, u > 0.0f ? gy : gy * v)
GRAD_KERNELS(prelu_gb, u > 0.0f ? 0.0f : gy * u)
GRAD_KERNELS(mean_grad, gy / c)
GRAD_KERNELS(tie_grad, TIES(u, v) ? gy : 0.0f) /* u = input, v = recomputed result, gy pre-divided by ties */

/* Runs a forward row kernel over the walk of p (operands a, b; dense y). */
static void run_rows(const gb_bcast *p, row_fn f, const void *a, size_t ea, const void *b, size_t eb, void *y,
                     size_t ey)
{
	gb_bcast_walk w = {0};
	int64_t sa = gb_bcast_inner_stride(p, 0), sb = gb_bcast_inner_stride(p, 1);
	const char *ca = a, *cb = b;
	char *cy = y;
	for (int64_t r = 0; r < p->rows; r++) {
		f(p->inner, ca + (size_t)w.off[0] * ea, sa, cb + (size_t)w.off[1] * eb, sb,
		  cy + (size_t)(r * p->inner) * ey);
		gb_bcast_next(p, &w);
	}
}

/* Adds the gradient of operand k (0 or 1) of a two-operand walk p into gt,
 * which has that operand's n_target elements. g is the output gradient. */
static gb_status run_grad(gb_exec *x, const gb_node *node, const gb_bcast *p, int k, grad_full_fn full,
                          grad_red_fn red, const float *g, const float *a, const float *b, float c,
                          int64_t n_target, float *gt, gb_error *err)
{
	gb_bcast_walk w = {0};
	int64_t sa = gb_bcast_inner_stride(p, 0), sb = gb_bcast_inner_stride(p, 1);
	if (n_target == p->rows * p->inner) { /* not broadcast: same layout as the output */
		for (int64_t r = 0; r < p->rows; r++) {
			full(p->inner, g + r * p->inner, a + w.off[0], sa, b + w.off[1], sb, c, gt + w.off[k]);
			gb_bcast_next(p, &w);
		}
		return GB_OK;
	}
	double *acc = scratch_array(x, n_target, sizeof *acc); /* (n_target) */
	if (!acc)
		return scratch_failed(x, node, err);
	memset(acc, 0, (size_t)n_target * sizeof *acc);
	int64_t st = gb_bcast_inner_stride(p, k);
	for (int64_t r = 0; r < p->rows; r++) {
		red(p->inner, g + r * p->inner, a + w.off[0], sa, b + w.off[1], sb, c, acc + w.off[k], st);
		gb_bcast_next(p, &w);
	}
	for (int64_t i = 0; i < n_target; i++)
		gt[i] += (float)acc[i];
	return GB_OK;
}

/* ---- binary ops: Add Sub Mul Div Pow PRelu, comparisons, And Or Xor ----------------- */

typedef struct binary_kind {
	const char *name;
	row_fn f32, i64, b8; /* forward by input dtype; NULL: unsupported */
	int logical;         /* the output is bool */
	int unidirectional;  /* B broadcasts to A's shape, never the reverse (PRelu) */
	grad_full_fn ga_full, gb_full; /* NULL: no gradient (comparisons) */
	grad_red_fn ga_red, gb_red;
} binary_kind;

#define GRADS(ga, gb) ga##_full, gb##_full, ga##_red, gb##_red

static const binary_kind binary_kinds[] = {
	{"Add", add_f32, add_i64, NULL, 0, 0, GRADS(pass_grad, pass_grad)},
	{"Sub", sub_f32, sub_i64, NULL, 0, 0, GRADS(pass_grad, negate_grad)},
	{"Mul", mul_f32, mul_i64, NULL, 0, 0, GRADS(mul_ga, mul_gb)},
	{"Div", div_f32, div_i64, NULL, 0, 0, GRADS(div_ga, div_gb)},
	{"Pow", pow_f32, NULL, NULL, 0, 0, GRADS(pow_ga, pow_gb)},
	{"PRelu", prelu_f32, NULL, NULL, 0, 1, GRADS(prelu_ga, prelu_gb)},
	{"Equal", equal_f32, equal_i64, equal_b8, 1, 0, NULL, NULL, NULL, NULL},
	{"Greater", greater_f32, greater_i64, NULL, 1, 0, NULL, NULL, NULL, NULL},
	{"Less", less_f32, less_i64, NULL, 1, 0, NULL, NULL, NULL, NULL},
	{"GreaterOrEqual", greater_equal_f32, greater_equal_i64, NULL, 1, 0, NULL, NULL, NULL, NULL},
	{"LessOrEqual", less_equal_f32, less_equal_i64, NULL, 1, 0, NULL, NULL, NULL, NULL},
	{"And", NULL, NULL, and_b8, 1, 0, NULL, NULL, NULL, NULL},
	{"Or", NULL, NULL, or_b8, 1, 0, NULL, NULL, NULL, NULL},
	{"Xor", NULL, NULL, xor_b8, 1, 0, NULL, NULL, NULL, NULL},
};

typedef struct binary_params {
	const binary_kind *kind;
	int legacy;         /* opset < 7: B broadcasts to A only when `broadcast` is set */
	int legacy_bcast;   /* the `broadcast` attribute */
	int has_axis;       /* legacy: B's dims start at A's axis `axis` (else suffix) */
	int64_t axis;
	int channel_slope;  /* PRelu before opset 7: a 1-D slope of length C runs along axis 1 */
} binary_params;

static gb_status binary_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	binary_params *bp = gb_arena_calloc(&m->arena, 1, sizeof *bp);
	if (!bp)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	for (size_t i = 0; i < sizeof binary_kinds / sizeof binary_kinds[0]; i++)
		if (strcmp(binary_kinds[i].name, node->op_type) == 0)
			bp->kind = &binary_kinds[i];
	GB_ASSERT(bp->kind != NULL);
	if (gb_opset_of(m) < 7 && bp->kind->unidirectional)
		bp->channel_slope = 1;
	if (gb_opset_of(m) < 7 && !bp->kind->unidirectional) {
		int64_t bcast;
		gb_status st = gb_attr_int(m, node, "broadcast", 0, &bcast, err);
		if (st != GB_OK)
			return st;
		bp->legacy = 1;
		bp->legacy_bcast = bcast != 0;
		bp->has_axis = gb_node_attr(node, "axis") != NULL;
		st = gb_attr_int(m, node, "axis", 0, &bp->axis, err);
		if (st != GB_OK)
			return st;
	}
	node->params = bp;
	return GB_OK;
}

/* Shapes for a binary op: numpy broadcasting, or B onto A (PRelu, legacy). */
static gb_status binary_operands(gb_exec *x, const gb_node *node, const binary_params *bp, const gb_tensor *a,
                                 const gb_tensor *b, operands *o, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	char sa[160], sb[160];
	o->n = 0;
	operands_set(o, 0, a->ndim, a->dims);
	operands_set(o, 1, b->ndim, b->dims);
	if (bp->legacy) {
		if (!bp->legacy_bcast) {
			if (!same_shape(a, b))
				return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
				                     "input shapes %s and %s differ and the node does not set broadcast",
				                     gb_shape_str(a->ndim, a->dims, sa, sizeof sa),
				                     gb_shape_str(b->ndim, b->dims, sb, sizeof sb));
		} else {
			/* B's dims placed at A's `axis` (or at the end), padded with 1s. */
			int start = a->ndim - b->ndim;
			if (bp->has_axis) {
				int ax = gb_axis(bp->axis, a->ndim);
				if (ax < 0 || ax > a->ndim - b->ndim)
					return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
					                     "axis %lld does not place shape %s inside %s", (long long)bp->axis,
					                     gb_shape_str(b->ndim, b->dims, sb, sizeof sb),
					                     gb_shape_str(a->ndim, a->dims, sa, sizeof sa));
				start = ax;
			}
			if (start < 0)
				return broadcast_error(x, node, o, err);
			int64_t dims[GB_MAX_DIMS];
			for (int d = 0; d < a->ndim; d++)
				dims[d] = d >= start && d < start + b->ndim ? b->dims[d - start] : 1;
			operands_set(o, 1, a->ndim, dims);
		}
	}
	if (bp->channel_slope && b->ndim == 1 && a->ndim >= 2 && b->dims[0] == a->dims[1]) {
		int64_t dims[GB_MAX_DIMS];
		for (int d = 0; d < a->ndim; d++)
			dims[d] = d == 1 ? b->dims[0] : 1;
		operands_set(o, 1, a->ndim, dims);
	}
	gb_status st = operands_broadcast(x, node, o, err);
	if (st != GB_OK)
		return st;
	int onto_a = o->ndim == a->ndim && !memcmp(o->dims, a->dims, (size_t)a->ndim * sizeof a->dims[0]);
	if ((bp->legacy || bp->kind->unidirectional) && !onto_a)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input %d of shape %s does not broadcast to %s", 1,
		                     gb_shape_str(b->ndim, b->dims, sb, sizeof sb),
		                     gb_shape_str(a->ndim, a->dims, sa, sizeof sa));
	return GB_OK;
}

/* Pow's int64 exponent as float32, exactly (|e| <= 2^24), or UNSUPPORTED. */
static gb_status exponent_as_float(gb_exec *x, const gb_node *node, const gb_tensor *e, float **out,
                                   gb_error *err)
{
	int64_t n = gb_numel(e);
	const int64_t *ed = e->data;
	float *f = scratch_array(x, n, sizeof *f); /* (n) */
	if (!f)
		return scratch_failed(x, node, err);
	for (int64_t i = 0; i < n; i++) {
		if (ed[i] > (1 << 24) || ed[i] < -(1 << 24))
			return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_UNSUPPORTED,
			                     "int64 exponent %lld is beyond 2^24 (not exact in float32)", (long long)ed[i]);
		f[i] = (float)ed[i];
	}
	*out = f;
	return GB_OK;
}

static gb_status binary_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const binary_params *bp = node->params;
	const binary_kind *kind = bp->kind;
	const gb_tensor *a = gb_in(x, node, 0), *b = gb_in(x, node, 1);
	if (!a || !b)
		return missing_input(x, node, a ? 1 : 0, err);
	const void *bdata = b->data;
	int pow_int_exponent = 0;
	if (kind->f32 == pow_f32) {
		/* Pow's exponent has its own type (T1, opset 12+): float32 base,
		 * float32 or int64 exponent. */
		if (a->dtype != GB_DTYPE_F32)
			return gb_dtype_unsupported(x, node, a, err);
		if (b->dtype != GB_DTYPE_F32 && b->dtype != GB_DTYPE_I64)
			return gb_dtype_unsupported(x, node, b, err);
		pow_int_exponent = b->dtype == GB_DTYPE_I64;
	} else if (a->dtype != b->dtype) {
		return dtype_mismatch(x, node, a, b, err);
	}
	row_fn f = NULL;
	size_t esize = 0;
	switch (a->dtype) {
	case GB_DTYPE_F32: f = kind->f32, esize = sizeof(float); break;
	case GB_DTYPE_I64: f = kind->i64, esize = sizeof(int64_t); break;
	case GB_DTYPE_BOOL: f = kind->b8, esize = 1; break;
	default: break;
	}
	if (!f)
		return gb_dtype_unsupported(x, node, a, err);
	operands o;
	gb_status st = binary_operands(x, node, bp, a, b, &o, err);
	if (st != GB_OK)
		return st;
	if (pow_int_exponent) {
		float *ef;
		st = exponent_as_float(x, node, b, &ef, err);
		if (st != GB_OK)
			return st;
		bdata = ef;
	}
	if (f == div_i64) {
		const int64_t *bd = b->data;
		for (int64_t i = 0; i < gb_numel(b); i++)
			if (bd[i] == 0)
				return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_FAILURE, "integer division by zero");
	}
	gb_dtype out_dtype = kind->logical ? GB_DTYPE_BOOL : a->dtype;
	gb_tensor *y = gb_out(x, node, 0, out_dtype, o.ndim, o.dims, err);
	if (!y)
		return alloc_failed(err);
	gb_bcast p;
	operands_plan(&o, &p);
	run_rows(&p, f, a->data, esize, bdata, esize, y->data, gb_dtype_size(out_dtype));
	return GB_OK;
}

static gb_status binary_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const binary_params *bp = node->params;
	const binary_kind *kind = bp->kind;
	const gb_tensor *a = gb_in(x, node, 0), *b = gb_in(x, node, 1);
	const gb_tensor *g = gb_gout(x, node, 0);
	if (!g || !a || !b || a->dtype != GB_DTYPE_F32 || !kind->ga_full)
		return GB_OK;
	operands o;
	gb_status st = binary_operands(x, node, bp, a, b, &o, err);
	if (st != GB_OK)
		return st;
	const float *bdata = b->data;
	if (b->dtype == GB_DTYPE_I64) { /* Pow with an int64 exponent */
		float *ef;
		st = exponent_as_float(x, node, b, &ef, err);
		if (st != GB_OK)
			return st;
		bdata = ef;
	}
	gb_bcast p;
	operands_plan(&o, &p);
	gb_tensor *ga = gb_gin(x, node, 0);
	if (ga)
		st = run_grad(x, node, &p, 0, kind->ga_full, kind->ga_red, g->data, a->data, bdata, 0.0f, gb_numel(a),
		              ga->data, err);
	gb_tensor *gbt = st == GB_OK && b->dtype == GB_DTYPE_F32 ? gb_gin(x, node, 1) : NULL;
	if (gbt)
		st = run_grad(x, node, &p, 1, kind->gb_full, kind->gb_red, g->data, a->data, bdata, 0.0f, gb_numel(b),
		              gbt->data, err);
	return st;
}

/* ---- variadic ops: Sum Mean Max Min ------------------------------------------------- */

typedef struct variadic_kind {
	const char *name;
	row_fn f32, i64;
	int mean; /* divide by the number of inputs */
	int ties; /* Max/Min: the gradient goes to the inputs attaining the result */
} variadic_kind;

static const variadic_kind variadic_kinds[] = {
	{"Sum", add_f32, add_i64, 0, 0},
	{"Mean", add_f32, NULL, 1, 0},
	{"Max", max_f32, max_i64, 0, 1},
	{"Min", min_f32, min_i64, 0, 1},
};

static gb_status variadic_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	(void)err;
	(void)m;
	for (size_t i = 0; i < sizeof variadic_kinds / sizeof variadic_kinds[0]; i++)
		if (strcmp(variadic_kinds[i].name, node->op_type) == 0)
			node->params = (void *)&variadic_kinds[i];
	GB_ASSERT(node->params != NULL);
	return GB_OK;
}

/* Checks the inputs (present, one dtype) and folds their broadcast shape. */
static gb_status variadic_shape(gb_exec *x, const gb_node *node, int *ndim, int64_t *dims, gb_error *err)
{
	const gb_tensor *first = gb_in(x, node, 0);
	if (!first)
		return missing_input(x, node, 0, err);
	*ndim = first->ndim;
	memcpy(dims, first->dims, (size_t)first->ndim * sizeof *dims);
	for (int k = 1; k < node->n_inputs; k++) {
		const gb_tensor *t = gb_in(x, node, k);
		if (!t)
			return missing_input(x, node, k, err);
		if (t->dtype != first->dtype)
			return dtype_mismatch(x, node, first, t, err);
		if (!gb_bcast_fold(ndim, dims, t->ndim, t->dims)) {
			operands o = {0};
			operands_set(&o, 0, *ndim, dims);
			operands_set(&o, 1, t->ndim, t->dims);
			return broadcast_error(x, node, &o, err);
		}
	}
	return GB_OK;
}

/* y (dense, shape ndim/dims) = op over all inputs: the first two in one
 * pass, then each further input folded into y in place. */
static void variadic_compute(gb_exec *x, const gb_node *node, row_fn f, size_t esize, int ndim,
                             const int64_t *dims, void *y)
{
	const gb_tensor *t0 = gb_in(x, node, 0);
	operands o = {0};
	gb_bcast p;
	if (node->n_inputs == 1) { /* the broadcast shape is the input's own */
		memcpy(y, t0->data, (size_t)gb_numel(t0) * esize);
		return;
	}
	const gb_tensor *t1 = gb_in(x, node, 1);
	operands_set(&o, 0, t0->ndim, t0->dims);
	operands_set(&o, 1, t1->ndim, t1->dims);
	o.ndim = ndim;
	memcpy(o.dims, dims, (size_t)ndim * sizeof *dims);
	operands_plan(&o, &p);
	run_rows(&p, f, t0->data, esize, t1->data, esize, y, esize);
	for (int k = 2; k < node->n_inputs; k++) {
		const gb_tensor *t = gb_in(x, node, k);
		operands_set(&o, 0, ndim, dims);
		operands_set(&o, 1, t->ndim, t->dims);
		operands_plan(&o, &p);
		run_rows(&p, f, y, esize, t->data, esize, y, esize);
	}
}

static gb_status variadic_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const variadic_kind *kind = node->params;
	int ndim;
	int64_t dims[GB_MAX_DIMS];
	gb_status st = variadic_shape(x, node, &ndim, dims, err);
	if (st != GB_OK)
		return st;
	const gb_tensor *t0 = gb_in(x, node, 0);
	row_fn f = t0->dtype == GB_DTYPE_F32 ? kind->f32 : t0->dtype == GB_DTYPE_I64 ? kind->i64 : NULL;
	if (!f)
		return gb_dtype_unsupported(x, node, t0, err);
	gb_tensor *y = gb_out(x, node, 0, t0->dtype, ndim, dims, err);
	if (!y)
		return alloc_failed(err);
	variadic_compute(x, node, f, gb_dtype_size(t0->dtype), ndim, dims, y->data);
	if (kind->mean) {
		float *yd = y->data, n = (float)node->n_inputs;
		for (int64_t i = 0; i < gb_numel(y); i++)
			yd[i] /= n;
	}
	return GB_OK;
}

/* cnt[i] += 1 where input t attains the result y[i]. */
static void count_ties(const gb_bcast *p, const float *t, const float *y, float *cnt)
{
	gb_bcast_walk w = {0};
	int64_t st = gb_bcast_inner_stride(p, 0);
	for (int64_t r = 0; r < p->rows; r++) {
		const float *tr = t + w.off[0], *yr = y + r * p->inner;
		float *cr = cnt + r * p->inner;
		for (int64_t i = 0; i < p->inner; i++)
			cr[i] += TIES(tr[i * st], yr[i]) ? 1.0f : 0.0f;
		gb_bcast_next(p, &w);
	}
}

static gb_status variadic_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const variadic_kind *kind = node->params;
	const gb_tensor *g = gb_gout(x, node, 0), *t0 = gb_in(x, node, 0);
	if (!g || !t0 || t0->dtype != GB_DTYPE_F32)
		return GB_OK;
	int ndim = g->ndim;
	const int64_t *dims = g->dims;
	int64_t n_out = gb_numel(g);
	const float *gd = g->data;
	const float *y = NULL;
	float c = (float)node->n_inputs;
	if (kind->ties) {
		/* Recompute the result, count the inputs attaining it, and hand each
		 * of them g / count. */
		float *yr = scratch_array(x, n_out, sizeof *yr), *share = scratch_array(x, n_out, sizeof *share);
		if (!yr || !share)
			return scratch_failed(x, node, err);
		variadic_compute(x, node, kind->f32, sizeof(float), ndim, dims, yr);
		memset(share, 0, (size_t)n_out * sizeof *share);
		for (int k = 0; k < node->n_inputs; k++) {
			const gb_tensor *t = gb_in(x, node, k);
			operands o = {0};
			gb_bcast p;
			operands_set(&o, 0, t->ndim, t->dims);
			operands_set(&o, 1, ndim, dims);
			o.ndim = ndim;
			memcpy(o.dims, dims, (size_t)ndim * sizeof *dims);
			operands_plan(&o, &p);
			count_ties(&p, t->data, yr, share);
		}
		for (int64_t i = 0; i < n_out; i++)
			share[i] = share[i] > 0.0f ? gd[i] / share[i] : 0.0f;
		y = yr;
		gd = share;
	}
	for (int k = 0; k < node->n_inputs; k++) {
		const gb_tensor *t = gb_in(x, node, k);
		gb_tensor *gt = gb_gin(x, node, k);
		if (!gt)
			continue;
		operands o = {0};
		gb_bcast p;
		operands_set(&o, 0, t->ndim, t->dims);
		operands_set(&o, 1, ndim, dims);
		o.ndim = ndim;
		memcpy(o.dims, dims, (size_t)ndim * sizeof *dims);
		operands_plan(&o, &p);
		gb_status st;
		if (kind->ties)
			st = run_grad(x, node, &p, 0, tie_grad_full, tie_grad_red, gd, t->data, y, c, gb_numel(t), gt->data,
			              err);
		else if (kind->mean)
			st = run_grad(x, node, &p, 0, mean_grad_full, mean_grad_red, gd, t->data, gd, c, gb_numel(t),
			              gt->data, err);
		else
			st = run_grad(x, node, &p, 0, pass_grad_full, pass_grad_red, gd, t->data, gd, c, gb_numel(t),
			              gt->data, err);
		if (st != GB_OK)
			return st;
	}
	return GB_OK;
}

/* ---- Where -------------------------------------------------------------------------- */

#define WHERE_ROWS(name, T)                                                                                 \
	static void name(const gb_bcast *p, const uint8_t *cond, const T *a, const T *b, T *y)                  \
	{                                                                                                      \
		gb_bcast_walk w = {0};                                                                             \
		int64_t sc = gb_bcast_inner_stride(p, 0), sa = gb_bcast_inner_stride(p, 1),                        \
		        sb = gb_bcast_inner_stride(p, 2);                                                          \
		for (int64_t r = 0; r < p->rows; r++) {                                                            \
			const uint8_t *cr = cond + w.off[0];                                                           \
			const T *ar = a + w.off[1], *br = b + w.off[2];                                                \
			T *yr = y + r * p->inner;                                                                      \
			if (sc && sa && sb)                                                                            \
				for (int64_t i = 0; i < p->inner; i++)                                                     \
					yr[i] = cr[i] ? ar[i] : br[i];                                                         \
			else                                                                                           \
				for (int64_t i = 0; i < p->inner; i++)                                                     \
					yr[i] = cr[i * sc] ? ar[i * sa] : br[i * sb];                                          \
			gb_bcast_next(p, &w);                                                                          \
		}                                                                                                  \
	}

WHERE_ROWS(where_f32, float)
WHERE_ROWS(where_i64, int64_t)
WHERE_ROWS(where_b8, uint8_t)

static gb_status where_operands(gb_exec *x, const gb_node *node, operands *o, gb_error *err)
{
	const gb_tensor *c = gb_in(x, node, 0), *a = gb_in(x, node, 1), *b = gb_in(x, node, 2);
	if (!c || !a || !b)
		return missing_input(x, node, !c ? 0 : !a ? 1 : 2, err);
	o->n = 0;
	operands_set(o, 0, c->ndim, c->dims);
	operands_set(o, 1, a->ndim, a->dims);
	operands_set(o, 2, b->ndim, b->dims);
	return operands_broadcast(x, node, o, err);
}

static gb_status where_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *c = gb_in(x, node, 0), *a = gb_in(x, node, 1), *b = gb_in(x, node, 2);
	operands o;
	gb_status st = where_operands(x, node, &o, err);
	if (st != GB_OK)
		return st;
	if (c->dtype != GB_DTYPE_BOOL)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE, "the condition is %s, not bool",
		                     gb_dtype_name(c->dtype));
	if (a->dtype != b->dtype)
		return dtype_mismatch(x, node, a, b, err);
	if (a->dtype != GB_DTYPE_F32 && a->dtype != GB_DTYPE_I64 && a->dtype != GB_DTYPE_BOOL)
		return gb_dtype_unsupported(x, node, a, err);
	gb_tensor *y = gb_out(x, node, 0, a->dtype, o.ndim, o.dims, err);
	if (!y)
		return alloc_failed(err);
	gb_bcast p;
	operands_plan(&o, &p);
	if (a->dtype == GB_DTYPE_F32)
		where_f32(&p, c->data, a->data, b->data, y->data);
	else if (a->dtype == GB_DTYPE_I64)
		where_i64(&p, c->data, a->data, b->data, y->data);
	else
		where_b8(&p, c->data, a->data, b->data, y->data);
	return GB_OK;
}

/* Adds g where the condition is `when` into the gradient of branch k (1 or 2). */
static gb_status where_grad(gb_exec *x, const gb_node *node, const gb_bcast *p, int k, const uint8_t *cond,
                            const float *g, int64_t n_target, float *gt, gb_error *err)
{
	const int when = k == 1;
	gb_bcast_walk w = {0};
	int64_t sc = gb_bcast_inner_stride(p, 0), st = gb_bcast_inner_stride(p, k);
	int full = n_target == p->rows * p->inner;
	double *acc = NULL; /* (n_target) */
	if (!full) {
		acc = scratch_array(x, n_target, sizeof *acc);
		if (!acc)
			return scratch_failed(x, node, err);
		memset(acc, 0, (size_t)n_target * sizeof *acc);
	}
	for (int64_t r = 0; r < p->rows; r++) {
		const uint8_t *cr = cond + w.off[0];
		const float *gr = g + r * p->inner;
		if (full) {
			float *tr = gt + w.off[k];
			for (int64_t i = 0; i < p->inner; i++)
				tr[i] += (cr[i * sc] != 0) == when ? gr[i] : 0.0f;
		} else if (st) {
			double *ar = acc + w.off[k];
			for (int64_t i = 0; i < p->inner; i++)
				ar[i] += (cr[i * sc] != 0) == when ? (double)gr[i] : 0.0;
		} else {
			double sum = 0.0;
			for (int64_t i = 0; i < p->inner; i++)
				sum += (cr[i * sc] != 0) == when ? (double)gr[i] : 0.0;
			acc[w.off[k]] += sum;
		}
		gb_bcast_next(p, &w);
	}
	for (int64_t i = 0; !full && i < n_target; i++)
		gt[i] += (float)acc[i];
	return GB_OK;
}

static gb_status where_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *g = gb_gout(x, node, 0), *c = gb_in(x, node, 0);
	if (!g)
		return GB_OK;
	operands o;
	gb_status st = where_operands(x, node, &o, err);
	if (st != GB_OK)
		return st;
	gb_bcast p;
	operands_plan(&o, &p);
	for (int k = 1; k <= 2 && st == GB_OK; k++) {
		const gb_tensor *t = gb_in(x, node, k);
		gb_tensor *gt = t->dtype == GB_DTYPE_F32 ? gb_gin(x, node, k) : NULL;
		if (gt)
			st = where_grad(x, node, &p, k, c->data, g->data, gb_numel(t), gt->data, err);
	}
	return st;
}

/* ---- Clip ----------------------------------------------------------------------------- */

typedef struct clip_params {
	int from_inputs; /* opset >= 11: bounds are optional inputs 1 and 2 */
	float lo, hi;    /* opset < 11: the min/max attributes */
} clip_params;

static gb_status clip_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	clip_params *cp = gb_arena_calloc(&m->arena, 1, sizeof *cp);
	if (!cp)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	if (gb_opset_of(m) >= 11) {
		cp->from_inputs = 1;
		if (gb_node_attr(node, "min") || gb_node_attr(node, "max"))
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "min/max attributes were replaced by inputs in opset 11 (the model is opset %lld)",
			                     (long long)m->opset);
	} else {
		if (node->n_inputs > 1)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "before opset 11 Clip takes one input and min/max attributes");
		/* ONNX's defaults: the lowest and highest finite float32. */
		gb_status st = gb_attr_float(m, node, "min", -FLT_MAX, &cp->lo, err);
		if (st == GB_OK)
			st = gb_attr_float(m, node, "max", FLT_MAX, &cp->hi, err);
		if (st != GB_OK)
			return st;
	}
	node->params = cp;
	return GB_OK;
}

/* Reads bound input k (a one-element tensor of x's dtype) if present. */
static gb_status clip_bound(gb_exec *x, const gb_node *node, int k, const gb_tensor *t, const gb_tensor **out,
                            gb_error *err)
{
	*out = gb_in(x, node, k);
	if (!*out)
		return GB_OK;
	if ((*out)->dtype != t->dtype)
		return dtype_mismatch(x, node, t, *out, err);
	if (gb_numel(*out) != 1) {
		char s[160];
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE,
		                     "the %s bound must be a scalar, it has shape %s", k == 1 ? "min" : "max",
		                     gb_shape_str((*out)->ndim, (*out)->dims, s, sizeof s));
	}
	return GB_OK;
}

/* The float bounds in effect (NULL bound inputs = unbounded). */
static void clip_float_bounds(const clip_params *cp, const gb_tensor *lo_t, const gb_tensor *hi_t, float *lo,
                              float *hi)
{
	*lo = cp->from_inputs ? -INFINITY : cp->lo;
	*hi = cp->from_inputs ? INFINITY : cp->hi;
	if (lo_t)
		*lo = *(const float *)lo_t->data;
	if (hi_t)
		*hi = *(const float *)hi_t->data;
}

static gb_status clip_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const clip_params *cp = node->params;
	const gb_tensor *t = gb_in(x, node, 0), *lo_t, *hi_t;
	if (!t)
		return missing_input(x, node, 0, err);
	if (t->dtype != GB_DTYPE_F32 && t->dtype != GB_DTYPE_I64)
		return gb_dtype_unsupported(x, node, t, err);
	gb_status st = clip_bound(x, node, 1, t, &lo_t, err);
	if (st == GB_OK)
		st = clip_bound(x, node, 2, t, &hi_t, err);
	if (st != GB_OK)
		return st;
	gb_tensor *y = gb_out(x, node, 0, t->dtype, t->ndim, t->dims, err);
	if (!y)
		return alloc_failed(err);
	int64_t n = gb_numel(t);
	/* max then min: a NaN stays NaN, and min > max gives max everywhere
	 * (the ONNX rule). */
	if (t->dtype == GB_DTYPE_F32) {
		float lo, hi;
		clip_float_bounds(cp, lo_t, hi_t, &lo, &hi);
		const float *xd = t->data;
		float *yd = y->data;
		for (int64_t i = 0; i < n; i++) {
			float v = xd[i] < lo ? lo : xd[i];
			yd[i] = v > hi ? hi : v;
		}
	} else {
		int64_t lo = lo_t ? *(const int64_t *)lo_t->data : INT64_MIN;
		int64_t hi = hi_t ? *(const int64_t *)hi_t->data : INT64_MAX;
		const int64_t *xd = t->data;
		int64_t *yd = y->data;
		for (int64_t i = 0; i < n; i++) {
			int64_t v = xd[i] < lo ? lo : xd[i];
			yd[i] = v > hi ? hi : v;
		}
	}
	return GB_OK;
}

static gb_status clip_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const clip_params *cp = node->params;
	const gb_tensor *t = gb_in(x, node, 0), *g = gb_gout(x, node, 0), *lo_t, *hi_t;
	if (!g || !t || t->dtype != GB_DTYPE_F32)
		return GB_OK;
	gb_status st = clip_bound(x, node, 1, t, &lo_t, err);
	if (st == GB_OK)
		st = clip_bound(x, node, 2, t, &hi_t, err);
	if (st != GB_OK)
		return st;
	float lo, hi;
	clip_float_bounds(cp, lo_t, hi_t, &lo, &hi);
	const float *xd = t->data, *gd = g->data;
	int64_t n = gb_numel(t);
	gb_tensor *gx = gb_gin(x, node, 0);
	if (gx) {
		float *gxd = gx->data;
		for (int64_t i = 0; i < n; i++)
			gxd[i] += xd[i] >= lo && xd[i] <= hi ? gd[i] : 0.0f;
	}
	/* The bound that was selected: lo where x < lo <= hi; hi where the
	 * result is hi (x > hi, or lo > hi where everything is hi). */
	gb_tensor *glo = lo_t ? gb_gin(x, node, 1) : NULL, *ghi = hi_t ? gb_gin(x, node, 2) : NULL;
	if (glo || ghi) {
		double sum_lo = 0.0, sum_hi = 0.0;
		for (int64_t i = 0; i < n; i++) {
			float v = xd[i] < lo ? lo : xd[i];
			if (v > hi)
				sum_hi += gd[i];
			else if (xd[i] < lo)
				sum_lo += gd[i];
		}
		if (glo)
			*(float *)glo->data += (float)sum_lo;
		if (ghi)
			*(float *)ghi->data += (float)sum_hi;
	}
	return GB_OK;
}

/* ---- unary ops ------------------------------------------------------------------------ */

typedef struct unary_params unary_params;
typedef void (*unary_fn)(int64_t n, const float *x, float *y, const unary_params *p);
typedef void (*unary_grad_fn)(int64_t n, const float *x, const float *g, float *gx, const unary_params *p);
typedef void (*unary_i64_fn)(int64_t n, const int64_t *x, int64_t *y);

struct unary_params {
	unary_fn fwd;
	unary_grad_fn bwd;
	unary_i64_fn fwd_i64; /* NULL: float32 only */
	float alpha, gamma;
};

/* FWD(u) and the derivative term BWD(u, gy) (what is added to gx), with the
 * node's parameters in p. */
#define UNARY(name, FWD, BWD)                                                                               \
	static void name##_fwd(int64_t n, const float *xs, float *ys, const unary_params *p)                   \
	{                                                                                                      \
		(void)p;                                                                                           \
		for (int64_t i = 0; i < n; i++) {                                                                  \
			float u = xs[i];                                                                               \
			ys[i] = (FWD);                                                                                 \
		}                                                                                                  \
	}                                                                                                      \
	static void name##_bwd(int64_t n, const float *xs, const float *g, float *gx, const unary_params *p)   \
	{                                                                                                      \
		(void)p;                                                                                           \
		for (int64_t i = 0; i < n; i++) {                                                                  \
			float u = xs[i], gy = g[i];                                                                    \
			(void)u;                                                                                       \
			gx[i] += (BWD);                                                                                \
		}                                                                                                  \
	}

static inline float sigmoid1(float u)
{
	if (u >= 0.0f)
		return 1.0f / (1.0f + expf(-u));
	float e = expf(u);
	return e / (1.0f + e);
}

/* log(1 + e^u) without overflow. */
static inline float softplus1(float u)
{
	return u > 0.0f ? u + log1pf(expf(-u)) : log1pf(expf(u));
}

static inline float gelu_tanh_inner(float u)
{
	return tanhf(SQRT_2_OVER_PI * (u + GELU_TANH_C * u * u * u));
}

/* Derivatives that reuse one transcendental value. */
static inline float sigmoid_d(float u)
{
	float s = sigmoid1(u);
	return s * (1.0f - s);
}

static inline float tanh_d(float u)
{
	float t = tanhf(u);
	return 1.0f - t * t;
}

static inline float gelu_erf_d(float u)
{
	return 0.5f * (1.0f + erff(u * SQRT1_2)) + u * INV_SQRT2PI * expf(-0.5f * u * u);
}

static inline float gelu_tanh_d(float u)
{
	float t = gelu_tanh_inner(u);
	return 0.5f * (1.0f + t) + 0.5f * u * (1.0f - t * t) * SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_TANH_C * u * u);
}

UNARY(sqrt, sqrtf(u), gy / (2.0f * sqrtf(u)))
UNARY(neg, -u, -gy)
UNARY(abs, fabsf(u), u > 0.0f ? gy : u < 0.0f ? -gy : 0.0f)
UNARY(exp, expf(u), gy * expf(u))
UNARY(log, logf(u), gy / u)
UNARY(erf, erff(u), gy * TWO_OVER_SQRTPI * expf(-u * u))
UNARY(relu, u < 0.0f ? 0.0f : u, u > 0.0f ? gy : 0.0f)
UNARY(leakyrelu, u < 0.0f ? p->alpha * u : u, u > 0.0f ? gy : p->alpha * gy)
UNARY(elu, u < 0.0f ? p->alpha * expm1f(u) : u, u > 0.0f ? gy : gy * p->alpha * expf(u))
UNARY(selu, u > 0.0f ? p->gamma * u : p->gamma * p->alpha * expm1f(u),
      u > 0.0f ? gy * p->gamma : gy * p->gamma * p->alpha * expf(u))
UNARY(sigmoid, sigmoid1(u), gy * sigmoid_d(u))
UNARY(tanh, tanhf(u), gy * tanh_d(u))
UNARY(softplus, softplus1(u), gy * sigmoid1(u))
UNARY(gelu_erf, 0.5f * u * (1.0f + erff(u * SQRT1_2)), gy * gelu_erf_d(u))
UNARY(gelu_tanh, 0.5f * u * (1.0f + gelu_tanh_inner(u)), gy * gelu_tanh_d(u))

static void neg_i64(int64_t n, const int64_t *xs, int64_t *ys)
{
	for (int64_t i = 0; i < n; i++)
		ys[i] = WRAP_NEG(xs[i]);
}

static void abs_i64(int64_t n, const int64_t *xs, int64_t *ys)
{
	for (int64_t i = 0; i < n; i++)
		ys[i] = xs[i] < 0 ? WRAP_NEG(xs[i]) : xs[i];
}

typedef struct unary_kind {
	const char *name;
	unary_fn fwd;
	unary_grad_fn bwd;
	unary_i64_fn fwd_i64;
} unary_kind;

#define UNARY_KIND(op, name) {op, name##_fwd, name##_bwd, NULL}

static const unary_kind unary_kinds[] = {
	UNARY_KIND("Sqrt", sqrt),
	{"Neg", neg_fwd, neg_bwd, neg_i64},
	{"Abs", abs_fwd, abs_bwd, abs_i64},
	UNARY_KIND("Exp", exp),
	UNARY_KIND("Log", log),
	UNARY_KIND("Erf", erf),
	UNARY_KIND("Relu", relu),
	UNARY_KIND("LeakyRelu", leakyrelu),
	UNARY_KIND("Elu", elu),
	UNARY_KIND("Selu", selu),
	UNARY_KIND("Sigmoid", sigmoid),
	UNARY_KIND("Tanh", tanh),
	UNARY_KIND("Softplus", softplus),
	UNARY_KIND("Gelu", gelu_erf), /* approximate="tanh" switches to gelu_tanh in prepare */
};

static gb_status unary_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	unary_params *up = gb_arena_calloc(&m->arena, 1, sizeof *up);
	if (!up)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	const unary_kind *kind = NULL;
	for (size_t i = 0; i < sizeof unary_kinds / sizeof unary_kinds[0]; i++)
		if (strcmp(unary_kinds[i].name, node->op_type) == 0)
			kind = &unary_kinds[i];
	GB_ASSERT(kind != NULL);
	up->fwd = kind->fwd;
	up->bwd = kind->bwd;
	up->fwd_i64 = kind->fwd_i64;
	gb_status st = GB_OK;
	if (strcmp(kind->name, "LeakyRelu") == 0) {
		st = gb_attr_float(m, node, "alpha", 0.01f, &up->alpha, err);
	} else if (strcmp(kind->name, "Elu") == 0) {
		st = gb_attr_float(m, node, "alpha", 1.0f, &up->alpha, err);
	} else if (strcmp(kind->name, "Selu") == 0) {
		st = gb_attr_float(m, node, "alpha", 1.67326319217681884765625f, &up->alpha, err);
		if (st == GB_OK)
			st = gb_attr_float(m, node, "gamma", 1.05070102214813232421875f, &up->gamma, err);
	} else if (strcmp(kind->name, "Gelu") == 0) {
		const char *approx;
		st = gb_attr_string(m, node, "approximate", "none", &approx, err);
		if (st != GB_OK)
			return st;
		if (strcmp(approx, "tanh") == 0) {
			up->fwd = gelu_tanh_fwd;
			up->bwd = gelu_tanh_bwd;
		} else if (strcmp(approx, "none") != 0) {
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "attribute approximate is '%s'; ONNX allows 'none' or 'tanh'", approx);
		}
	}
	if (st != GB_OK)
		return st;
	node->params = up;
	return GB_OK;
}

/* Unary kernels run in parallel over ranges of at least UNARY_GRAIN
 * elements: each element is independent, so the split changes nothing. */
#define UNARY_GRAIN ((int64_t)1 << 16)

typedef struct unary_job {
	const unary_params *up;
	const float *xs, *g; /* (n); g: the output's gradient (backward) */
	float *out;          /* (n): y forward, gx backward */
} unary_job;

static void unary_fwd_range(void *arg, int64_t lo, int64_t hi, int part)
{
	const unary_job *j = arg;
	j->up->fwd(hi - lo, j->xs + lo, j->out + lo, j->up);
}

static void unary_bwd_range(void *arg, int64_t lo, int64_t hi, int part)
{
	const unary_job *j = arg;
	j->up->bwd(hi - lo, j->xs + lo, j->g + lo, j->out + lo, j->up);
}

static gb_status unary_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const unary_params *up = node->params;
	const gb_tensor *t = gb_in(x, node, 0);
	if (!t)
		return missing_input(x, node, 0, err);
	if (t->dtype != GB_DTYPE_F32 && !(t->dtype == GB_DTYPE_I64 && up->fwd_i64))
		return gb_dtype_unsupported(x, node, t, err);
	gb_tensor *y = gb_out(x, node, 0, t->dtype, t->ndim, t->dims, err);
	if (!y)
		return alloc_failed(err);
	if (t->dtype == GB_DTYPE_F32) {
		unary_job job = {up, t->data, NULL, y->data};
		gb_parallel_for(gb_numel(t), UNARY_GRAIN, unary_fwd_range, &job);
	} else
		up->fwd_i64(gb_numel(t), t->data, y->data);
	return GB_OK;
}

static gb_status unary_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	(void)err;
	const unary_params *up = node->params;
	const gb_tensor *t = gb_in(x, node, 0), *g = gb_gout(x, node, 0);
	gb_tensor *gx = gb_gin(x, node, 0);
	if (!t || !g || !gx || t->dtype != GB_DTYPE_F32)
		return GB_OK;
	unary_job job = {up, t->data, g->data, gx->data};
	gb_parallel_for(gb_numel(t), UNARY_GRAIN, unary_bwd_range, &job);
	return GB_OK;
}

/* ---- Not, Cast, CastLike ---------------------------------------------------------------- */

static gb_status not_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *t = gb_in(x, node, 0);
	if (!t)
		return missing_input(x, node, 0, err);
	if (t->dtype != GB_DTYPE_BOOL)
		return gb_dtype_unsupported(x, node, t, err);
	gb_tensor *y = gb_out(x, node, 0, GB_DTYPE_BOOL, t->ndim, t->dims, err);
	if (!y)
		return alloc_failed(err);
	const uint8_t *xs = t->data; // (n)
	uint8_t *ys = y->data;       // (n)
	for (int64_t i = 0; i < gb_numel(t); i++)
		ys[i] = xs[i] == 0;
	return GB_OK;
}

/* ONNX TensorProto.DataType names, for messages and Cast-1's string `to`. */
static const char *const onnx_type_names[] = {
	"UNDEFINED", "FLOAT",  "UINT8",  "INT8",      "UINT16",     "INT16",        "INT32",
	"INT64",     "STRING", "BOOL",   "FLOAT16",   "DOUBLE",     "UINT32",       "UINT64",
	"COMPLEX64", "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ",
	"UINT4",     "INT4",
};
#define N_ONNX_TYPES ((int64_t)(sizeof onnx_type_names / sizeof onnx_type_names[0]))
#define ONNX_FLOAT 1
#define ONNX_INT64 7
#define ONNX_BOOL 9

typedef struct cast_params {
	int like;    /* CastLike: the target is input 1's dtype */
	gb_dtype to; /* Cast: the target */
} cast_params;

/* The dtypes Cast converts between. */
static int castable(gb_dtype d)
{
	return d == GB_DTYPE_F32 || d == GB_DTYPE_I64 || d == GB_DTYPE_BOOL;
}

static gb_status cast_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	cast_params *cp = gb_arena_calloc(&m->arena, 1, sizeof *cp);
	if (!cp)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	node->params = cp;
	if (strcmp(node->op_type, "CastLike") == 0) {
		cp->like = 1;
		return GB_OK;
	}
	const gb_attr *a = gb_node_attr(node, "to");
	if (!a)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute 'to' is required but missing");
	int64_t to = -1;
	if (a->type == GB_ATTR_INT) {
		to = a->i;
	} else if (a->type == GB_ATTR_STRING) { /* Cast-1 names the type */
		for (int64_t k = 0; k < N_ONNX_TYPES; k++)
			if (strcmp(a->s, onnx_type_names[k]) == 0)
				to = k;
		if (to < 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute 'to' is '%s', not an ONNX type name",
			                     a->s);
	} else {
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute 'to' is neither an int nor a string");
	}
	switch (to) {
	case ONNX_FLOAT: cp->to = GB_DTYPE_F32; break;
	case ONNX_INT64: cp->to = GB_DTYPE_I64; break;
	case ONNX_BOOL: cp->to = GB_DTYPE_BOOL; break;
	default:
		if (to <= 0 || to >= N_ONNX_TYPES)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute 'to' is %lld, not an ONNX type",
			                     (long long)to);
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
		                     "casts to %s (type %lld); glassbox casts only to FLOAT, INT64 and BOOL",
		                     onnx_type_names[to], (long long)to);
	}
	return GB_OK;
}

/* The dtype the node casts to; UNSUPPORTED for CastLike onto another dtype. */
static gb_status cast_target(gb_exec *x, const gb_node *node, gb_dtype *to, gb_error *err)
{
	const cast_params *cp = node->params;
	if (!cp->like) {
		*to = cp->to;
		return GB_OK;
	}
	const gb_tensor *like = gb_in(x, node, 1);
	if (!like)
		return missing_input(x, node, 1, err);
	if (!castable(like->dtype))
		return gb_dtype_unsupported(x, node, like, err);
	*to = like->dtype;
	return GB_OK;
}

/* float32 -> int64 truncates toward zero; a NaN or a value outside int64's
 * range has no defined result in ONNX, so it is refused. */
static gb_status cast_f32_i64(gb_exec *x, const gb_node *node, const float *xs, int64_t n, int64_t *ys,
                              gb_error *err)
{
	for (int64_t i = 0; i < n; i++) {
		float v = xs[i];
		if (!(v >= -9223372036854775808.0f && v < 9223372036854775808.0f))
			return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_UNSUPPORTED,
			                     "element %lld is %g, which has no int64 value (ONNX leaves the result undefined)",
			                     (long long)i, (double)v);
		ys[i] = (int64_t)v;
	}
	return GB_OK;
}

static gb_status cast_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *t = gb_in(x, node, 0);
	if (!t)
		return missing_input(x, node, 0, err);
	if (!castable(t->dtype))
		return gb_dtype_unsupported(x, node, t, err);
	gb_dtype to = GB_DTYPE_F32;
	gb_status st = cast_target(x, node, &to, err);
	if (st != GB_OK)
		return st;
	gb_tensor *y = gb_out(x, node, 0, to, t->ndim, t->dims, err);
	if (!y)
		return alloc_failed(err);
	int64_t n = gb_numel(t);
	if (t->dtype == to) {
		memcpy(y->data, t->data, (size_t)n * gb_dtype_size(to));
		return GB_OK;
	}
	const float *xf = t->data;
	const int64_t *xi = t->data;
	const uint8_t *xb = t->data;
	float *yf = y->data;
	int64_t *yi = y->data;
	uint8_t *yb = y->data;
	switch (t->dtype * GB_DTYPE_COUNT + to) {
	case GB_DTYPE_F32 * GB_DTYPE_COUNT + GB_DTYPE_I64: return cast_f32_i64(x, node, xf, n, yi, err);
	case GB_DTYPE_F32 * GB_DTYPE_COUNT + GB_DTYPE_BOOL: /* NaN is nonzero: true, as in numpy */
		for (int64_t i = 0; i < n; i++)
			yb[i] = xf[i] != 0.0f;
		break;
	case GB_DTYPE_I64 * GB_DTYPE_COUNT + GB_DTYPE_F32: /* rounds to nearest, ties to even */
		for (int64_t i = 0; i < n; i++)
			yf[i] = (float)xi[i];
		break;
	case GB_DTYPE_I64 * GB_DTYPE_COUNT + GB_DTYPE_BOOL:
		for (int64_t i = 0; i < n; i++)
			yb[i] = xi[i] != 0;
		break;
	case GB_DTYPE_BOOL * GB_DTYPE_COUNT + GB_DTYPE_F32:
		for (int64_t i = 0; i < n; i++)
			yf[i] = xb[i] ? 1.0f : 0.0f;
		break;
	case GB_DTYPE_BOOL * GB_DTYPE_COUNT + GB_DTYPE_I64:
		for (int64_t i = 0; i < n; i++)
			yi[i] = xb[i] ? 1 : 0;
		break;
	default: GB_ASSERT(!"unreachable cast");
	}
	return GB_OK;
}

/* Only float32 -> float32 (the identity) carries a gradient; a cast through
 * int64 or bool is piecewise constant. */
static gb_status cast_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *t = gb_in(x, node, 0), *g = gb_gout(x, node, 0);
	if (!t || !g || t->dtype != GB_DTYPE_F32)
		return GB_OK;
	gb_dtype to = GB_DTYPE_F32;
	gb_status st = cast_target(x, node, &to, err);
	if (st != GB_OK)
		return st;
	gb_tensor *gx = gb_gin(x, node, 0);
	if (to != GB_DTYPE_F32 || !gx)
		return GB_OK;
	const float *gy = g->data;
	float *gd = gx->data;
	for (int64_t i = 0; i < gb_numel(t); i++)
		gd[i] += gy[i];
	return GB_OK;
}

/* ---- the table --------------------------------------------------------------------------- */

#define BINARY_OP(name) {name, 2, 2, 1, 1, binary_prepare, binary_forward, binary_backward}
#define COMPARE_OP(name) {name, 2, 2, 1, 1, binary_prepare, binary_forward, NULL}
#define VARIADIC_OP(name) {name, 1, INT_MAX, 1, 1, variadic_prepare, variadic_forward, variadic_backward}
#define UNARY_OP(name) {name, 1, 1, 1, 1, unary_prepare, unary_forward, unary_backward}

const gb_op_def gb_ops_elementwise[] = {
	BINARY_OP("Add"),
	BINARY_OP("Sub"),
	BINARY_OP("Mul"),
	BINARY_OP("Div"),
	BINARY_OP("Pow"),
	BINARY_OP("PRelu"),
	COMPARE_OP("Equal"),
	COMPARE_OP("Greater"),
	COMPARE_OP("Less"),
	COMPARE_OP("GreaterOrEqual"),
	COMPARE_OP("LessOrEqual"),
	COMPARE_OP("And"),
	COMPARE_OP("Or"),
	COMPARE_OP("Xor"),
	{"Not", 1, 1, 1, 1, NULL, not_forward, NULL},
	{"Cast", 1, 1, 1, 1, cast_prepare, cast_forward, cast_backward},
	{"CastLike", 2, 2, 1, 1, cast_prepare, cast_forward, cast_backward},
	VARIADIC_OP("Sum"),
	VARIADIC_OP("Mean"),
	VARIADIC_OP("Max"),
	VARIADIC_OP("Min"),
	{"Where", 3, 3, 1, 1, NULL, where_forward, where_backward},
	{"Clip", 1, 3, 1, 1, clip_prepare, clip_forward, clip_backward},
	UNARY_OP("Sqrt"),
	UNARY_OP("Neg"),
	UNARY_OP("Abs"),
	UNARY_OP("Exp"),
	UNARY_OP("Log"),
	UNARY_OP("Erf"),
	UNARY_OP("Relu"),
	UNARY_OP("LeakyRelu"),
	UNARY_OP("Elu"),
	UNARY_OP("Selu"),
	UNARY_OP("Sigmoid"),
	UNARY_OP("Tanh"),
	UNARY_OP("Softplus"),
	UNARY_OP("Gelu"),
	{0},
};
