/*
 * reduce.c — reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin
 * (forward and backward), ArgMax (forward only: its output is int64) and
 * TopK (its Values output differentiated).
 *
 * Axes come from the 'axes' attribute (ReduceSum before opset 13,
 * ReduceMean/ReduceMax/ReduceMin before 18) or from the optional int64
 * second input (from those opsets on; a file that gives both is refused).
 * No axes, or an empty list, reduces everything, unless
 * noop_with_empty_axes = 1, which makes the op the identity. keepdims
 * (default 1) keeps reduced dims as 1s.
 *
 * The kernels view the input as groups of adjacent dims that are all reduced
 * or all kept (size-1 dims dropped), walk it once in memory order, and add
 * each contiguous run of the innermost group into the output: a reduced
 * innermost group folds into one output element, a kept one maps onto a
 * contiguous output row. Float sums accumulate in double. ReduceMax,
 * ReduceMin and ArgMax take the first extremum in memory order (ArgMax the
 * last with select_last_index); a NaN counts as the extremum. Reducing an
 * empty set gives 0 (Sum), NaN (Mean), -inf or INT64_MIN (Max), +inf or
 * INT64_MAX (Min), as in ONNX.
 *
 * ReduceSum, ReduceMax, ReduceMin and ArgMax also run on int64 (sums wrap
 * around, as two's complement does); ReduceMean takes float32 only.
 *
 * TopK (float32) takes K as an int64 input from opset 10 and as the
 * attribute k before; axis (default -1), largest (default 1). The output is
 * always sorted (sorted = 0 leaves the order to the implementation); equal
 * values come lower index first, as ONNX requires, and a NaN ranks above
 * every number (as in PyTorch). Backward adds the Values gradient at the
 * chosen positions; Indices carries none.
 *
 * m->opset 0 (a graph built in memory) means the newest semantics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ops.h"

static gb_status read_flag(const gb_model *m, const gb_node *node, const char *name, int def, int *out,
                           gb_error *err)
{
	int64_t v;
	gb_status st = gb_attr_int(m, node, name, def, &v, err);
	if (st != GB_OK)
		return st;
	if (v != 0 && v != 1)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute '%s' is %lld, not 0 or 1", name,
		                     (long long)v);
	*out = (int)v;
	return GB_OK;
}

/* ---- parameters ---------------------------------------------------------------------- */

typedef enum reduce_kind { REDUCE_SUM, REDUCE_MEAN, REDUCE_MAX, REDUCE_MIN } reduce_kind;

typedef struct reduce_params {
	reduce_kind kind;
	int keepdims;
	int noop_with_empty_axes;
	int64_t n_axes;      /* attribute; -1 when absent */
	const int64_t *axes; /* borrowed from the model */
} reduce_params;

static gb_status reduce_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	reduce_params *p = gb_arena_calloc(&m->arena, 1, sizeof *p);
	if (!p)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	p->kind = strcmp(node->op_type, "ReduceSum") == 0    ? REDUCE_SUM
	          : strcmp(node->op_type, "ReduceMean") == 0 ? REDUCE_MEAN
	          : strcmp(node->op_type, "ReduceMax") == 0  ? REDUCE_MAX
	                                                     : REDUCE_MIN;
	gb_status st;
	if ((st = read_flag(m, node, "keepdims", 1, &p->keepdims, err)) != GB_OK ||
	    (st = read_flag(m, node, "noop_with_empty_axes", 0, &p->noop_with_empty_axes, err)) != GB_OK ||
	    (st = gb_attr_ints(m, node, "axes", &p->axes, &p->n_axes, err)) != GB_OK)
		return st;
	int64_t input_from = p->kind == REDUCE_SUM ? 13 : 18;
	int has_input = node->n_inputs > 1 && node->inputs[1] >= 0;
	if (has_input && !gb_opset_at_least(m, input_from))
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
		                     "has an axes input, which the op takes from opset %lld (the model is opset %lld)",
		                     (long long)input_from, (long long)m->opset);
	if (has_input && p->n_axes >= 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "gives axes both as an attribute and as an input");
	node->params = p;
	return GB_OK;
}

/* ---- layout ------------------------------------------------------------------------ */

typedef struct reduce_layout {
	int noop;                          /* identity (noop_with_empty_axes) */
	int out_ndim;
	int64_t out_dims[GB_MAX_DIMS];
	int64_t numel, out_numel, count;   /* input and output elements; inputs per output */
	int groups;
	int64_t size[GB_MAX_DIMS];         /* merged groups, outermost first */
	int reduced[GB_MAX_DIMS];
	int64_t ostride[GB_MAX_DIMS];      /* output stride of each group; 0 for reduced ones */
} reduce_layout;

static gb_status reduce_layout_of(gb_exec *x, const gb_node *node, const gb_tensor *X, reduce_layout *L,
                                  gb_error *err)
{
	const reduce_params *p = node->params;
	const gb_model *m = gb_exec_model(x);
	const int64_t *axes = p->axes;
	int64_t n_axes = p->n_axes < 0 ? 0 : p->n_axes;
	const gb_tensor *A = gb_in(x, node, 1);
	if (A) {
		if (A->dtype != GB_DTYPE_I64)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "the axes input is %s, not int64",
			                     gb_dtype_name(A->dtype));
		if (A->ndim > 1)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "the axes input has rank %d, not 1", A->ndim);
		axes = A->data;
		n_axes = gb_numel(A);
	}
	int reduced[GB_MAX_DIMS] = {0};
	memset(L, 0, sizeof *L);
	L->numel = gb_numel(X);
	if (n_axes == 0 && p->noop_with_empty_axes) {
		L->noop = 1;
		L->out_ndim = X->ndim;
		memcpy(L->out_dims, X->dims, sizeof L->out_dims);
		L->out_numel = L->numel;
		L->count = 1;
		return GB_OK;
	}
	for (int64_t i = 0; i < n_axes; i++) {
		int a = gb_axis(axes[i], X->ndim);
		if (a < 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "axis %lld is out of range for rank %d",
			                     (long long)axes[i], X->ndim);
		if (reduced[a])
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "axis %lld is listed twice", (long long)axes[i]);
		reduced[a] = 1;
	}
	for (int d = 0; d < X->ndim; d++)
		if (n_axes == 0)
			reduced[d] = 1;
	L->out_numel = L->count = 1;
	for (int d = 0; d < X->ndim; d++) {
		if (reduced[d])
			L->count *= X->dims[d];
		else
			L->out_numel *= X->dims[d];
		if (!reduced[d] || p->keepdims)
			L->out_dims[L->out_ndim++] = reduced[d] ? 1 : X->dims[d];
	}
	/* Merge adjacent dims of the same kind; size-1 dims go either way. */
	for (int d = 0; d < X->ndim; d++) {
		if (X->dims[d] == 1)
			continue;
		if (L->groups > 0 && L->reduced[L->groups - 1] == reduced[d]) {
			L->size[L->groups - 1] *= X->dims[d];
		} else {
			L->size[L->groups] = X->dims[d];
			L->reduced[L->groups++] = reduced[d];
		}
	}
	if (L->groups == 0) {
		L->size[0] = 1;
		L->reduced[0] = 1;
		L->groups = 1;
	}
	int64_t stride = 1;
	for (int g = L->groups - 1; g >= 0; g--) {
		L->ostride[g] = L->reduced[g] ? 0 : stride;
		if (!L->reduced[g])
			stride *= L->size[g];
	}
	return GB_OK;
}

/* Moves the odometer over all groups but the innermost one step on, keeping
 * *o the output offset of the current position. */
static inline void reduce_advance(const reduce_layout *L, int64_t *idx, int64_t *o)
{
	for (int g = L->groups - 2; g >= 0; g--) {
		*o += L->ostride[g];
		if (++idx[g] < L->size[g])
			return;
		*o -= L->ostride[g] * idx[g];
		idx[g] = 0;
	}
}

/* ---- kernels ------------------------------------------------------------------------- */

/* acc (out_numel, zeroed) += the sums of x. */
static void sum_f32(const reduce_layout *L, const float *x, double *acc)
{
	int64_t run = L->size[L->groups - 1], idx[GB_MAX_DIMS] = {0}, o = 0;
	int last_reduced = L->reduced[L->groups - 1];
	for (int64_t base = 0; base < L->numel; base += run) {
		const float *xr = x + base;
		if (last_reduced) {
			double s = 0.0;
			for (int64_t j = 0; j < run; j++)
				s += xr[j];
			acc[o] += s;
		} else {
			double *ar = acc + o;
			for (int64_t j = 0; j < run; j++)
				ar[j] += xr[j];
		}
		reduce_advance(L, idx, &o);
	}
}

static void sum_i64(const reduce_layout *L, const int64_t *x, uint64_t *acc)
{
	int64_t run = L->size[L->groups - 1], idx[GB_MAX_DIMS] = {0}, o = 0;
	int last_reduced = L->reduced[L->groups - 1];
	for (int64_t base = 0; base < L->numel; base += run) {
		const int64_t *xr = x + base;
		if (last_reduced) {
			uint64_t s = 0;
			for (int64_t j = 0; j < run; j++)
				s += (uint64_t)xr[j];
			acc[o] += s;
		} else {
			uint64_t *ar = acc + o;
			for (int64_t j = 0; j < run; j++)
				ar[j] += (uint64_t)xr[j];
		}
		reduce_advance(L, idx, &o);
	}
}

static int has_nan(const float *x, int64_t n)
{
	int nan = 0;
	for (int64_t i = 0; i < n; i++)
		nan |= x[i] != x[i];
	return nan;
}

/* The kernels of ReduceMax (OP >) and ReduceMin (OP <):
 *
 *   NAME_values_f32  best (out_numel, -inf/+inf on entry) = the extrema of a
 *                    NaN-free x; plain compares that compile to maxps/minps.
 *   NAME_f32         best (out_numel) and arg (out_numel, -1 on entry): the
 *                    first extremum in memory order; a NaN wins.
 *   NAME_i64         best (out_numel, INT64_MIN/INT64_MAX on entry).
 */
#define EXTREMUM_KERNELS(NAME, OP)                                                                          \
	static void NAME##_values_f32(const reduce_layout *L, const float *x, float *best)                     \
	{                                                                                                      \
		int64_t run = L->size[L->groups - 1], idx[GB_MAX_DIMS] = {0}, o = 0;                               \
		int last_reduced = L->reduced[L->groups - 1];                                                      \
		for (int64_t base = 0; base < L->numel; base += run) {                                             \
			const float *xr = x + base;                                                                    \
			if (last_reduced) {                                                                            \
				float b = best[o];                                                                         \
				for (int64_t j = 0; j < run; j++)                                                          \
					b = xr[j] OP b ? xr[j] : b;                                                            \
				best[o] = b;                                                                               \
			} else {                                                                                       \
				float *br = best + o;                                                                      \
				for (int64_t j = 0; j < run; j++)                                                          \
					br[j] = xr[j] OP br[j] ? xr[j] : br[j];                                                \
			}                                                                                              \
			reduce_advance(L, idx, &o);                                                                    \
		}                                                                                                  \
	}                                                                                                      \
	static void NAME##_f32(const reduce_layout *L, const float *x, float *best, int64_t *arg)             \
	{                                                                                                      \
		int64_t run = L->size[L->groups - 1], idx[GB_MAX_DIMS] = {0}, o = 0;                               \
		int last_reduced = L->reduced[L->groups - 1];                                                      \
		for (int64_t base = 0; base < L->numel; base += run) {                                             \
			const float *xr = x + base;                                                                    \
			if (last_reduced) {                                                                            \
				float b = best[o];                                                                         \
				int64_t at = arg[o];                                                                       \
				for (int64_t j = 0; j < run; j++)                                                          \
					if (at < 0 || xr[j] OP b || (xr[j] != xr[j] && b == b)) {                              \
						b = xr[j];                                                                         \
						at = base + j;                                                                     \
					}                                                                                      \
				best[o] = b;                                                                               \
				arg[o] = at;                                                                               \
			} else {                                                                                       \
				float *br = best + o;                                                                      \
				int64_t *ar = arg + o;                                                                     \
				for (int64_t j = 0; j < run; j++)                                                          \
					if (ar[j] < 0 || xr[j] OP br[j] || (xr[j] != xr[j] && br[j] == br[j])) {               \
						br[j] = xr[j];                                                                     \
						ar[j] = base + j;                                                                  \
					}                                                                                      \
			}                                                                                              \
			reduce_advance(L, idx, &o);                                                                    \
		}                                                                                                  \
	}                                                                                                      \
	static void NAME##_i64(const reduce_layout *L, const int64_t *x, int64_t *best)                        \
	{                                                                                                      \
		int64_t run = L->size[L->groups - 1], idx[GB_MAX_DIMS] = {0}, o = 0;                               \
		int last_reduced = L->reduced[L->groups - 1];                                                      \
		for (int64_t base = 0; base < L->numel; base += run) {                                             \
			const int64_t *xr = x + base;                                                                  \
			if (last_reduced) {                                                                            \
				int64_t b = best[o];                                                                       \
				for (int64_t j = 0; j < run; j++)                                                          \
					b = xr[j] OP b ? xr[j] : b;                                                            \
				best[o] = b;                                                                               \
			} else {                                                                                       \
				int64_t *br = best + o;                                                                    \
				for (int64_t j = 0; j < run; j++)                                                          \
					br[j] = xr[j] OP br[j] ? xr[j] : br[j];                                                \
			}                                                                                              \
			reduce_advance(L, idx, &o);                                                                    \
		}                                                                                                  \
	}

EXTREMUM_KERNELS(max, >)
EXTREMUM_KERNELS(min, <)

/* gx += gy spread back over the reduced elements, times scale. */
static void spread_f32(const reduce_layout *L, const float *gy, float scale, float *gx)
{
	int64_t run = L->size[L->groups - 1], idx[GB_MAX_DIMS] = {0}, o = 0;
	int last_reduced = L->reduced[L->groups - 1];
	for (int64_t base = 0; base < L->numel; base += run) {
		float *gr = gx + base;
		if (last_reduced) {
			float g = gy[o] * scale;
			for (int64_t j = 0; j < run; j++)
				gr[j] += g;
		} else {
			const float *gyr = gy + o;
			for (int64_t j = 0; j < run; j++)
				gr[j] += gyr[j] * scale;
		}
		reduce_advance(L, idx, &o);
	}
}

/* ---- ReduceSum / ReduceMean / ReduceMax / ReduceMin ----------------------------------------------- */

static gb_status reduce_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const reduce_params *p = node->params;
	const gb_tensor *X = gb_in(x, node, 0);
	int is_int = X->dtype == GB_DTYPE_I64 && p->kind != REDUCE_MEAN;
	if (X->dtype != GB_DTYPE_F32 && !is_int)
		return gb_dtype_unsupported(x, node, X, err);
	reduce_layout L;
	gb_status st = reduce_layout_of(x, node, X, &L, err);
	if (st != GB_OK)
		return st;
	gb_tensor *Y = gb_out(x, node, 0, X->dtype, L.out_ndim, L.out_dims, err);
	if (!Y)
		return gb_out_failed(err);
	size_t esize = gb_dtype_size(X->dtype);
	if (L.noop) {
		memcpy(Y->data, X->data, (size_t)L.numel * esize);
		return GB_OK;
	}
	int64_t n_out = L.out_numel;
	if (is_int) {
		int64_t *yd = Y->data; // (out_numel)
		if (p->kind == REDUCE_SUM) {
			memset(yd, 0, (size_t)n_out * sizeof *yd);
			if (L.numel)
				sum_i64(&L, X->data, (uint64_t *)yd);
		} else {
			int is_max = p->kind == REDUCE_MAX;
			for (int64_t o = 0; o < n_out; o++)
				yd[o] = is_max ? INT64_MIN : INT64_MAX;
			if (L.numel)
				(is_max ? max_i64 : min_i64)(&L, X->data, yd);
		}
		return GB_OK;
	}
	float *yd = Y->data; // (out_numel)
	if (p->kind == REDUCE_MAX || p->kind == REDUCE_MIN) {
		int is_max = p->kind == REDUCE_MAX;
		int64_t *arg = gb_scratch(x, (size_t)(n_out ? n_out : 1) * sizeof *arg); // (out_numel)
		if (!arg)
			return gb_node_nomem(x, node, err);
		for (int64_t o = 0; o < n_out; o++) {
			yd[o] = is_max ? -INFINITY : INFINITY;
			arg[o] = -1;
		}
		if (L.numel && has_nan(X->data, L.numel))
			(is_max ? max_f32 : min_f32)(&L, X->data, yd, arg);
		else if (L.numel)
			(is_max ? max_values_f32 : min_values_f32)(&L, X->data, yd);
		return GB_OK;
	}
	double *acc = gb_scratch(x, (size_t)(n_out ? n_out : 1) * sizeof *acc); // (out_numel)
	if (!acc)
		return gb_node_nomem(x, node, err);
	memset(acc, 0, (size_t)n_out * sizeof *acc);
	if (L.numel)
		sum_f32(&L, X->data, acc);
	double div = p->kind == REDUCE_MEAN ? (double)L.count : 1.0;
	for (int64_t o = 0; o < n_out; o++)
		yd[o] = (float)(acc[o] / div); /* Mean of nothing: 0/0 = NaN */
	return GB_OK;
}

static gb_status reduce_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const reduce_params *p = node->params;
	const gb_tensor *X = gb_in(x, node, 0), *GY = gb_gout(x, node, 0);
	gb_tensor *GX = gb_gin(x, node, 0);
	if (!GY || !GX)
		return GB_OK;
	reduce_layout L;
	gb_status st = reduce_layout_of(x, node, X, &L, err);
	if (st != GB_OK)
		return st;
	const float *gy = GY->data; // (out_numel)
	float *gx = GX->data;       // (numel)
	if (L.noop) {
		for (int64_t i = 0; i < L.numel; i++)
			gx[i] += gy[i];
		return GB_OK;
	}
	if (L.numel == 0)
		return GB_OK;
	if (p->kind == REDUCE_SUM || p->kind == REDUCE_MEAN) {
		spread_f32(&L, gy, p->kind == REDUCE_MEAN ? (float)(1.0 / (double)L.count) : 1.0f, gx);
		return GB_OK;
	}
	int64_t n_out = L.out_numel;
	float *best = gb_scratch(x, (size_t)(n_out ? n_out : 1) * sizeof *best);  // (out_numel)
	int64_t *arg = gb_scratch(x, (size_t)(n_out ? n_out : 1) * sizeof *arg); // (out_numel)
	if (!best || !arg)
		return gb_node_nomem(x, node, err);
	int is_max = p->kind == REDUCE_MAX;
	for (int64_t o = 0; o < n_out; o++) {
		best[o] = is_max ? -INFINITY : INFINITY;
		arg[o] = -1;
	}
	(is_max ? max_f32 : min_f32)(&L, X->data, best, arg);
	for (int64_t o = 0; o < n_out; o++)
		gx[arg[o]] += gy[o];
	return GB_OK;
}

/* ---- ArgMax ------------------------------------------------------------------------------ */

typedef struct argmax_params {
	int64_t axis;
	int keepdims;
	int select_last;
} argmax_params;

static gb_status argmax_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	argmax_params *p = gb_arena_calloc(&m->arena, 1, sizeof *p);
	if (!p)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	gb_status st;
	if ((st = gb_attr_int(m, node, "axis", 0, &p->axis, err)) != GB_OK ||
	    (st = read_flag(m, node, "keepdims", 1, &p->keepdims, err)) != GB_OK ||
	    (st = read_flag(m, node, "select_last_index", 0, &p->select_last, err)) != GB_OK)
		return st;
	node->params = p;
	return GB_OK;
}

/* Index along L of the maximum of each of the inner columns of one (L, inner) block. */
static void argmax_f32(const float *x, int64_t L, int64_t inner, int select_last, float *best, int64_t *out)
{
	for (int64_t i = 0; i < inner; i++) {
		best[i] = x[i];
		out[i] = 0;
	}
	for (int64_t l = 1; l < L; l++) {
		const float *xr = x + l * inner;
		if (select_last) {
			for (int64_t i = 0; i < inner; i++)
				if (xr[i] >= best[i] || xr[i] != xr[i]) { /* a NaN maximum stays until the next NaN */
					best[i] = xr[i];
					out[i] = l;
				}
		} else {
			for (int64_t i = 0; i < inner; i++)
				if (xr[i] > best[i] || (xr[i] != xr[i] && best[i] == best[i])) {
					best[i] = xr[i];
					out[i] = l;
				}
		}
	}
}

static void argmax_i64(const int64_t *x, int64_t L, int64_t inner, int select_last, int64_t *best, int64_t *out)
{
	for (int64_t i = 0; i < inner; i++) {
		best[i] = x[i];
		out[i] = 0;
	}
	for (int64_t l = 1; l < L; l++) {
		const int64_t *xr = x + l * inner;
		for (int64_t i = 0; i < inner; i++)
			if (select_last ? xr[i] >= best[i] : xr[i] > best[i]) {
				best[i] = xr[i];
				out[i] = l;
			}
	}
}

static gb_status argmax_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const argmax_params *p = node->params;
	const gb_model *m = gb_exec_model(x);
	const gb_tensor *X = gb_in(x, node, 0);
	if (X->dtype != GB_DTYPE_F32 && X->dtype != GB_DTYPE_I64)
		return gb_dtype_unsupported(x, node, X, err);
	int axis = gb_axis(p->axis, X->ndim);
	if (axis < 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "axis %lld is out of range for rank %d",
		                     (long long)p->axis, X->ndim);
	int64_t outer = 1, L = X->dims[axis], inner = 1, out_dims[GB_MAX_DIMS];
	int out_ndim = 0;
	for (int d = 0; d < X->ndim; d++) {
		if (d < axis)
			outer *= X->dims[d];
		else if (d > axis)
			inner *= X->dims[d];
		if (d != axis || p->keepdims)
			out_dims[out_ndim++] = d == axis ? 1 : X->dims[d];
	}
	if (L == 0 && outer * inner > 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "takes the argmax over axis %d, which is empty", axis);
	gb_tensor *Y = gb_out(x, node, 0, GB_DTYPE_I64, out_ndim, out_dims, err);
	if (!Y)
		return gb_out_failed(err);
	void *best = gb_scratch(x, (size_t)(inner ? inner : 1) * 8); // (inner) float or int64
	if (!best)
		return gb_node_nomem(x, node, err);
	int64_t *yd = Y->data; // (outer, inner)
	for (int64_t o = 0; o < outer; o++) {
		if (X->dtype == GB_DTYPE_F32)
			argmax_f32((const float *)X->data + o * L * inner, L, inner, p->select_last, best, yd + o * inner);
		else
			argmax_i64((const int64_t *)X->data + o * L * inner, L, inner, p->select_last, best, yd + o * inner);
	}
	return GB_OK;
}

/* ---- TopK ------------------------------------------------------------------------------- */

typedef struct topk_params {
	int64_t axis;
	int largest;
	int k_attr; /* before opset 10 K is the attribute k, not an input */
	int64_t k;
} topk_params;

static gb_status topk_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	topk_params *p = gb_arena_calloc(&m->arena, 1, sizeof *p);
	if (!p)
		return gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	int sorted;
	gb_status st;
	if ((st = gb_attr_int(m, node, "axis", -1, &p->axis, err)) != GB_OK ||
	    (st = read_flag(m, node, "largest", 1, &p->largest, err)) != GB_OK ||
	    (st = read_flag(m, node, "sorted", 1, &sorted, err)) != GB_OK)
		return st;
	int has_input = node->n_inputs > 1 && node->inputs[1] >= 0;
	if (!gb_opset_at_least(m, 10)) {
		if (has_input)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "has a K input, which the op takes from opset 10 (the model is opset %lld)",
			                     (long long)m->opset);
		if (!gb_node_attr(node, "k"))
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute 'k' is required but missing");
		if ((st = gb_attr_int(m, node, "k", 0, &p->k, err)) != GB_OK)
			return st;
		p->k_attr = 1;
	} else if (!has_input) {
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input 1 (K) is required but missing");
	}
	node->params = p;
	return GB_OK;
}

typedef struct topk_entry {
	float v;
	int64_t at;
} topk_entry;

/* The order of TopK's output: a NaN ranks above every number (as in
 * PyTorch), equal values keep the lower index first (as ONNX requires). */
static int topk_cmp_largest(const void *pa, const void *pb)
{
	const topk_entry *a = pa, *b = pb;
	int an = a->v != a->v, bn = b->v != b->v;
	if (an != bn)
		return an ? -1 : 1;
	if (!an && a->v != b->v)
		return a->v > b->v ? -1 : 1;
	return (a->at > b->at) - (a->at < b->at);
}

static int topk_cmp_smallest(const void *pa, const void *pb)
{
	const topk_entry *a = pa, *b = pb;
	int an = a->v != a->v, bn = b->v != b->v;
	if (an != bn)
		return an ? 1 : -1;
	if (!an && a->v != b->v)
		return a->v < b->v ? -1 : 1;
	return (a->at > b->at) - (a->at < b->at);
}

/* The shape of one TopK: X viewed as (outer, L, inner), K of the L kept. */
typedef struct topk_shape {
	int axis;
	int64_t outer, L, inner, K;
} topk_shape;

static gb_status topk_shape_of(gb_exec *x, const gb_node *node, const gb_tensor *X, topk_shape *s, gb_error *err)
{
	const topk_params *p = node->params;
	const gb_model *m = gb_exec_model(x);
	s->axis = gb_axis(p->axis, X->ndim);
	if (s->axis < 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "axis %lld is out of range for rank %d",
		                     (long long)p->axis, X->ndim);
	s->K = p->k;
	if (!p->k_attr) {
		const gb_tensor *Kt = gb_in(x, node, 1);
		if (Kt->dtype != GB_DTYPE_I64)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "the K input is %s, not int64",
			                     gb_dtype_name(Kt->dtype));
		if (Kt->ndim > 1 || gb_numel(Kt) != 1)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "the K input holds %lld values, not one",
			                     (long long)gb_numel(Kt));
		s->K = *(const int64_t *)Kt->data;
	}
	s->outer = s->inner = 1;
	s->L = X->dims[s->axis];
	for (int d = 0; d < X->ndim; d++) {
		if (d < s->axis)
			s->outer *= X->dims[d];
		else if (d > s->axis)
			s->inner *= X->dims[d];
	}
	if (s->K < 0 || s->K > s->L)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "K is %lld; axis %d has %lld elements", (long long)s->K,
		                     s->axis, (long long)s->L);
	return GB_OK;
}

/* idx (outer, K, inner) = the positions along the axis of the K largest (or
 * smallest) of each (outer, :, inner) line of x; vals, when not NULL, their
 * values. */
static gb_status topk_select(gb_exec *x, const gb_node *node, const topk_shape *s, const float *xs, float *vals,
                             int64_t *idx, gb_error *err)
{
	const topk_params *p = node->params;
	size_t bytes;
	if (!gb_mul_size((size_t)(s->L ? s->L : 1), sizeof(topk_entry), &bytes))
		return gb_node_nomem(x, node, err);
	topk_entry *line = gb_scratch(x, bytes); // (L)
	if (!line)
		return gb_node_nomem(x, node, err);
	int (*cmp)(const void *, const void *) = p->largest ? topk_cmp_largest : topk_cmp_smallest;
	for (int64_t o = 0; o < s->outer; o++)
		for (int64_t i = 0; i < s->inner; i++) {
			const float *xl = xs + o * s->L * s->inner + i; // stride inner
			for (int64_t l = 0; l < s->L; l++)
				line[l] = (topk_entry){xl[l * s->inner], l};
			qsort(line, (size_t)s->L, sizeof *line, cmp);
			int64_t base = o * s->K * s->inner + i;
			for (int64_t k = 0; k < s->K; k++) {
				idx[base + k * s->inner] = line[k].at;
				if (vals)
					vals[base + k * s->inner] = line[k].v;
			}
		}
	return GB_OK;
}

static gb_status topk_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *X = gb_in(x, node, 0);
	if (X->dtype != GB_DTYPE_F32)
		return gb_dtype_unsupported(x, node, X, err);
	topk_shape s;
	gb_status st = topk_shape_of(x, node, X, &s, err);
	if (st != GB_OK)
		return st;
	int64_t dims[GB_MAX_DIMS];
	memcpy(dims, X->dims, (size_t)X->ndim * sizeof dims[0]);
	dims[s.axis] = s.K;
	gb_tensor *V = gb_out(x, node, 0, GB_DTYPE_F32, X->ndim, dims, err);
	if (!V)
		return gb_out_failed(err);
	gb_tensor *I = gb_out(x, node, 1, GB_DTYPE_I64, X->ndim, dims, err);
	if (!I)
		return gb_out_failed(err);
	return topk_select(x, node, &s, X->data, V->data, I->data, err);
}

/* gx += the Values gradient, scattered back to the chosen positions. The
 * positions are chosen again from the input: an intervention on Indices
 * does not move the op's own derivative. */
static gb_status topk_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *X = gb_in(x, node, 0), *GV = gb_gout(x, node, 0);
	gb_tensor *GX = gb_gin(x, node, 0);
	if (!GV || !GX)
		return GB_OK;
	topk_shape s;
	gb_status st = topk_shape_of(x, node, X, &s, err);
	if (st != GB_OK)
		return st;
	int64_t n_out = s.outer * s.K * s.inner;
	int64_t *idx = gb_scratch(x, (size_t)(n_out ? n_out : 1) * sizeof *idx); // (outer, K, inner)
	if (!idx)
		return gb_node_nomem(x, node, err);
	if ((st = topk_select(x, node, &s, X->data, NULL, idx, err)) != GB_OK)
		return st;
	const float *gv = GV->data; // (outer, K, inner)
	float *gx = GX->data;       // (outer, L, inner)
	for (int64_t o = 0; o < s.outer; o++)
		for (int64_t k = 0; k < s.K; k++)
			for (int64_t i = 0; i < s.inner; i++) {
				int64_t at = (o * s.K + k) * s.inner + i;
				gx[(o * s.L + idx[at]) * s.inner + i] += gv[at];
			}
	return GB_OK;
}

const gb_op_def gb_ops_reduce[] = {
	{"ReduceSum", 1, 2, 1, 1, reduce_prepare, reduce_forward, reduce_backward},
	{"ReduceMean", 1, 2, 1, 1, reduce_prepare, reduce_forward, reduce_backward},
	{"ReduceMax", 1, 2, 1, 1, reduce_prepare, reduce_forward, reduce_backward},
	{"ReduceMin", 1, 2, 1, 1, reduce_prepare, reduce_forward, reduce_backward},
	{"ArgMax", 1, 1, 1, 1, argmax_prepare, argmax_forward, NULL},
	{"TopK", 1, 2, 1, 2, topk_prepare, topk_forward, topk_backward},
	{0},
};
