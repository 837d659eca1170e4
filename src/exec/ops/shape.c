/*
 * shape.c — ops that move data without doing arithmetic on it:
 *
 *   Identity, Dropout (inference), Flatten, Reshape, Squeeze, Unsqueeze
 *       a copy of the input under a new shape;
 *   Transpose, Slice, Expand, Pad
 *       one "axis map" each (see below): output index i on axis a reads the
 *       input at offset off[a][i], so the four share one copy loop forward
 *       and one scatter-add backward;
 *   Concat, Split, Gather
 *       contiguous block copies, outer × block × inner;
 *   Shape
 *       the input's dims as int64.
 *
 * They work by element size on float32, int64 and bool data, so the shape
 * arithmetic of exported models (Shape → Gather → Concat → Reshape) runs
 * through them as well as activations; backward only concerns float32.
 *
 * Operands that ONNX moved from attributes to inputs over the opsets (axes,
 * starts/ends, pads, split sizes) are read at forward time, because a graph
 * may compute them. prepare only records which form the node's opset uses;
 * backward rebuilds the forward plan from the same inputs, which stay valid
 * through the backward pass.
 */
#include <limits.h>
#include <string.h>

#include "../ops.h"

/* A graph built in memory without an opset import gets today's semantics. */
#define NEWEST_OPSET 25

static int64_t opset_of(const gb_model *m)
{
	return m->opset > 0 ? m->opset : NEWEST_OPSET;
}

#define SHAPE_STR(ndim, dims) gb_shape_str((ndim), (dims), (char[160]){0}, 160)

/* ==== common helpers ========================================================= */

static void *params_new(gb_model *m, const gb_node *node, size_t size, gb_error *err)
{
	void *p = gb_arena_calloc(&m->arena, 1, size);
	if (!p)
		gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory");
	return p;
}

/* gb_out with a status: its message lands in err, and err may be NULL. */
static gb_status new_out(gb_exec *x, const gb_node *node, int k, gb_dtype dtype, int ndim, const int64_t *dims,
                         gb_tensor **out, gb_error *err)
{
	gb_error local = {0};
	gb_error *e = err ? err : &local;
	*out = gb_out(x, node, k, dtype, ndim, dims, e);
	return *out ? GB_OK : e->status;
}

static void *scratch(gb_exec *x, const gb_node *node, int64_t count, size_t size, gb_error *err)
{
	size_t bytes;
	void *p = NULL;
	if (count >= 0 && gb_mul_size((size_t)(count ? count : 1), size, &bytes))
		p = gb_scratch(x, bytes);
	if (!p)
		gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "out of memory for %lld scratch elements",
		              (long long)count);
	return p;
}

static gb_status check_data(gb_exec *x, const gb_node *node, const gb_tensor *t, gb_error *err)
{
	if (t->dtype == GB_DTYPE_F32 || t->dtype == GB_DTYPE_I64 || t->dtype == GB_DTYPE_BOOL)
		return GB_OK;
	return gb_dtype_unsupported(x, node, t, err);
}

/* Input 0: the data every op here moves. */
static gb_status data_input(gb_exec *x, const gb_node *node, const gb_tensor **t, gb_error *err)
{
	*t = gb_in(x, node, 0);
	if (!*t)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE, "input 0 (the data) is missing");
	return check_data(x, node, *t, err);
}

/* Integer operand k (int64, or int32 where a producer made one; rank 0 or
 * 1) as int64 values: *vals points into the input or into scratch, valid
 * through this pass. *n = -1 when the input is omitted. */
static gb_status int_operand(gb_exec *x, const gb_node *node, int k, const char *what, const int64_t **vals,
                             int64_t *n, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const gb_tensor *t = gb_in(x, node, k);
	*vals = NULL;
	*n = -1;
	if (!t)
		return GB_OK;
	if (t->dtype != GB_DTYPE_I64 && t->dtype != GB_DTYPE_I32)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input '%s' should be int64, it is %s", what,
		                     gb_dtype_name(t->dtype));
	if (t->ndim > 1)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input '%s' should be 1-D, it has shape %s", what,
		                     SHAPE_STR(t->ndim, t->dims));
	int64_t count = gb_numel(t);
	if (t->dtype == GB_DTYPE_I64) {
		*vals = t->data;
	} else {
		int64_t *v = scratch(x, node, count, sizeof *v, err);
		if (!v)
			return GB_STATUS_NOMEM;
		for (int64_t i = 0; i < count; i++)
			v[i] = ((const int32_t *)t->data)[i];
		*vals = v;
	}
	*n = count;
	return GB_OK;
}

static gb_status check_rank(const gb_model *m, const gb_node *node, int64_t rank, gb_error *err)
{
	if (rank > GB_MAX_DIMS)
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
		                     "the output would have rank %lld; glassbox handles at most %d dimensions",
		                     (long long)rank, GB_MAX_DIMS);
	return GB_OK;
}

/* Row-major strides of t, in elements. */
static void strides_of(const gb_tensor *t, int64_t *stride)
{
	int64_t s = 1;
	for (int a = t->ndim - 1; a >= 0; a--) {
		stride[a] = s;
		s *= t->dims[a];
	}
}

static int64_t prod(const int64_t *dims, int from, int to)
{
	int64_t n = 1;
	for (int a = from; a < to; a++)
		n *= dims[a];
	return n;
}

/* Normalises a list of axes against rank into out[], refusing values out
 * of range and repeats (what names the operand in messages). */
static gb_status norm_axes(const gb_model *m, const gb_node *node, const char *what, const int64_t *axes, int64_t n,
                           int rank, int *out, gb_error *err)
{
	unsigned seen = 0;
	for (int64_t i = 0; i < n; i++) {
		int a = gb_axis(axes[i], rank);
		if (a < 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "%s %lld is out of range for rank %d", what,
			                     (long long)axes[i], rank);
		if (seen & (1u << a))
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "%s names axis %d twice", what, a);
		seen |= 1u << a;
		out[i] = a;
	}
	return GB_OK;
}

/* ==== copies under a new shape: Identity, Dropout, Flatten, Reshape, Squeeze,
 *      Unsqueeze ============================================================== */

/* Output 0 := the data of in under shape dims (same element count). */
static gb_status copy_as(gb_exec *x, const gb_node *node, const gb_tensor *in, int ndim, const int64_t *dims,
                         gb_error *err)
{
	gb_tensor *out;
	gb_status st = new_out(x, node, 0, in->dtype, ndim, dims, &out, err);
	if (st != GB_OK)
		return st;
	GB_ASSERT(gb_numel(out) == gb_numel(in));
	memcpy(out->data, in->data, (size_t)gb_numel(in) * gb_dtype_size(in->dtype));
	return GB_OK;
}

/* Backward of every op whose output 0 is its input 0 reshaped. */
static gb_status copy_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *gy = gb_gout(x, node, 0);
	gb_tensor *gx = gb_gin(x, node, 0);
	if (!gy || !gx)
		return GB_OK;
	const float *dy = gy->data;
	float *dx = gx->data;
	int64_t n = gb_numel(gx);
	for (int64_t i = 0; i < n; i++)
		dx[i] += dy[i];
	return GB_OK;
}

static gb_status identity_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *in;
	gb_status st = data_input(x, node, &in, err);
	if (st != GB_OK)
		return st;
	return copy_as(x, node, in, in->ndim, in->dims, err);
}

/* ---- Dropout: inference semantics, output = input, mask all true ---------------- */

typedef struct dropout_params {
	int mask_like_input; /* before opset 10 the mask has the input's dtype */
	int mode_input;      /* from opset 12: inputs ratio and training_mode */
} dropout_params;

static gb_status dropout_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	dropout_params *p = params_new(m, node, sizeof *p, err);
	if (!p)
		return GB_STATUS_NOMEM;
	int64_t opset = opset_of(m), is_test;
	float ratio;
	gb_status st = gb_attr_float(m, node, "ratio", 0.5f, &ratio, err);
	if (st == GB_OK)
		st = gb_attr_int(m, node, "is_test", 0, &is_test, err);
	if (st != GB_OK)
		return st;
	/* Before opset 7 the op ran in training mode unless is_test was set. */
	if (opset < 7 && !is_test)
		return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
		                     "training-mode Dropout (is_test = 0 before opset 7) is not supported: glassbox runs "
		                     "inference semantics");
	if (opset < 12 && node->n_inputs > 1)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "takes one input before opset 12, it has %d",
		                     node->n_inputs);
	p->mask_like_input = opset < 10;
	p->mode_input = opset >= 12;
	node->params = p;
	return GB_OK;
}

static gb_status dropout_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const dropout_params *p = node->params;
	const gb_tensor *in;
	gb_status st = data_input(x, node, &in, err);
	if (st != GB_OK)
		return st;
	const gb_tensor *ratio = gb_in(x, node, 1), *mode = gb_in(x, node, 2);
	if (ratio && (ratio->dtype != GB_DTYPE_F32 || gb_numel(ratio) != 1))
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input 'ratio' should be one float, it is %s %s",
		                     gb_dtype_name(ratio->dtype), SHAPE_STR(ratio->ndim, ratio->dims));
	if (p->mode_input && mode) {
		if (mode->dtype != GB_DTYPE_BOOL || gb_numel(mode) != 1)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "input 'training_mode' should be one bool, it is %s %s", gb_dtype_name(mode->dtype),
			                     SHAPE_STR(mode->ndim, mode->dims));
		if (*(const unsigned char *)mode->data)
			return gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED,
			                     "training_mode is true: glassbox runs inference semantics only");
	}
	st = copy_as(x, node, in, in->ndim, in->dims, err);
	if (st != GB_OK || node->n_outputs < 2)
		return st;
	gb_tensor *mask;
	gb_dtype dt = p->mask_like_input ? in->dtype : GB_DTYPE_BOOL;
	st = new_out(x, node, 1, dt, in->ndim, in->dims, &mask, err);
	if (st != GB_OK)
		return st;
	int64_t n = gb_numel(in);
	switch (dt) {
	case GB_DTYPE_F32:
		for (int64_t i = 0; i < n; i++)
			((float *)mask->data)[i] = 1.0f;
		break;
	case GB_DTYPE_I64:
		for (int64_t i = 0; i < n; i++)
			((int64_t *)mask->data)[i] = 1;
		break;
	default:
		memset(mask->data, 1, (size_t)n);
		break;
	}
	return GB_OK;
}

/* ---- Flatten ----------------------------------------------------------------- */

typedef struct flatten_params {
	int64_t axis;
} flatten_params;

static gb_status flatten_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	flatten_params *p = params_new(m, node, sizeof *p, err);
	if (!p)
		return GB_STATUS_NOMEM;
	node->params = p;
	return gb_attr_int(m, node, "axis", 1, &p->axis, err);
}

static gb_status flatten_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const flatten_params *p = node->params;
	const gb_tensor *in;
	gb_status st = data_input(x, node, &in, err);
	if (st != GB_OK)
		return st;
	int64_t r = in->ndim, axis = p->axis < 0 ? p->axis + r : p->axis;
	if (axis < 0 || axis > r)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE, "axis %lld is out of range for rank %d",
		                     (long long)p->axis, in->ndim);
	int64_t dims[2] = {prod(in->dims, 0, (int)axis), prod(in->dims, (int)axis, in->ndim)};
	return copy_as(x, node, in, 2, dims, err);
}

/* ---- Reshape ------------------------------------------------------------------ */

typedef struct reshape_params {
	int allowzero;
	const int64_t *shape; /* before opset 5 the shape is an attribute */
	int64_t n_shape;
} reshape_params;

static gb_status reshape_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	reshape_params *p = params_new(m, node, sizeof *p, err);
	if (!p)
		return GB_STATUS_NOMEM;
	int64_t allowzero;
	gb_status st = gb_attr_int(m, node, "allowzero", 0, &allowzero, err);
	if (st != GB_OK)
		return st;
	if (allowzero != 0 && allowzero != 1)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "allowzero is %lld, not 0 or 1", (long long)allowzero);
	p->allowzero = (int)allowzero;
	if (opset_of(m) < 5) {
		st = gb_attr_ints(m, node, "shape", &p->shape, &p->n_shape, err);
		if (st != GB_OK)
			return st;
		if (p->n_shape < 0 || node->n_inputs != 1)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "before opset 5 Reshape takes one input and a 'shape' attribute");
	} else if (node->n_inputs != 2) {
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "needs inputs data and shape");
	}
	node->params = p;
	return GB_OK;
}

static gb_status reshape_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const reshape_params *p = node->params;
	const gb_tensor *in;
	gb_status st = data_input(x, node, &in, err);
	if (st != GB_OK)
		return st;
	const int64_t *shape = p->shape;
	int64_t n = p->n_shape;
	if (!shape) {
		st = int_operand(x, node, 1, "shape", &shape, &n, err);
		if (st != GB_OK)
			return st;
		if (n < 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input 'shape' is missing");
	}
	st = check_rank(m, node, n, err);
	if (st != GB_OK)
		return st;
	int64_t dims[GB_MAX_DIMS], known = 1, numel = gb_numel(in);
	int infer = -1;
	for (int i = 0; i < (int)n; i++) {
		int64_t d = shape[i];
		if (d == -1) {
			if (infer >= 0)
				return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "shape %s has more than one -1",
				                     SHAPE_STR((int)n, shape));
			infer = i;
			dims[i] = 1;
			continue;
		}
		if (d == 0 && !p->allowzero) {
			if (i >= in->ndim)
				return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
				                     "shape[%d] = 0 copies input dimension %d, but the input %s has rank %d", i, i,
				                     SHAPE_STR(in->ndim, in->dims), in->ndim);
			d = in->dims[i];
		}
		if (d < 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "shape[%d] = %lld is negative", i, (long long)d);
		dims[i] = d;
		if (!gb_mul_i64(known, d, &known))
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "shape %s has more elements than can be addressed",
			                     SHAPE_STR((int)n, shape));
	}
	if (infer >= 0) {
		if (known == 0 || numel % known != 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "cannot infer the -1 in shape %s for an input of %lld elements (shape %s)",
			                     SHAPE_STR((int)n, shape), (long long)numel, SHAPE_STR(in->ndim, in->dims));
		dims[infer] = numel / known;
	} else if (known != numel) {
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
		                     "cannot reshape %s (%lld elements) to %s (%lld elements)", SHAPE_STR(in->ndim, in->dims),
		                     (long long)numel, SHAPE_STR((int)n, dims), (long long)known);
	}
	return copy_as(x, node, in, (int)n, dims, err);
}

/* ---- Squeeze and Unsqueeze ------------------------------------------------------- */

typedef struct axes_params {
	int from_input;      /* from opset 13 the axes are input 1 */
	const int64_t *axes; /* attribute form */
	int64_t n_axes;      /* -1 when absent */
} axes_params;

static gb_status axes_prepare(gb_model *m, gb_node *node, int required, gb_error *err)
{
	axes_params *p = params_new(m, node, sizeof *p, err);
	if (!p)
		return GB_STATUS_NOMEM;
	gb_status st = gb_attr_ints(m, node, "axes", &p->axes, &p->n_axes, err);
	if (st != GB_OK)
		return st;
	if (opset_of(m) >= 13) {
		if (p->n_axes >= 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "from opset 13 the axes are an input, not an attribute");
		if (required && (node->n_inputs < 2 || node->inputs[1] < 0))
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input 'axes' is missing");
		p->from_input = 1;
	} else {
		if (node->n_inputs > 1)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "takes one input before opset 13 (the axes are an attribute)");
		if (required && p->n_axes < 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute 'axes' is missing");
	}
	node->params = p;
	return GB_OK;
}

static gb_status squeeze_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	return axes_prepare(m, node, 0, err);
}

static gb_status unsqueeze_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	return axes_prepare(m, node, 1, err);
}

static gb_status axes_of(gb_exec *x, const gb_node *node, const int64_t **axes, int64_t *n, gb_error *err)
{
	const axes_params *p = node->params;
	if (p->from_input)
		return int_operand(x, node, 1, "axes", axes, n, err);
	*axes = p->axes;
	*n = p->n_axes;
	return GB_OK;
}

static gb_status squeeze_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const gb_tensor *in;
	const int64_t *axes;
	int64_t n;
	gb_status st = data_input(x, node, &in, err);
	if (st == GB_OK)
		st = axes_of(x, node, &axes, &n, err);
	if (st != GB_OK)
		return st;
	int drop[GB_MAX_DIMS] = {0};
	if (n > 0) {
		int ax[GB_MAX_DIMS];
		if (n > in->ndim)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "has %lld axes for an input of rank %d",
			                     (long long)n, in->ndim);
		st = norm_axes(m, node, "axis", axes, n, in->ndim, ax, err);
		if (st != GB_OK)
			return st;
		for (int i = 0; i < (int)n; i++) {
			if (in->dims[ax[i]] != 1)
				return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "cannot squeeze axis %d of size %lld in %s",
				                     ax[i], (long long)in->dims[ax[i]], SHAPE_STR(in->ndim, in->dims));
			drop[ax[i]] = 1;
		}
	} else {
		/* No axes (or an empty list, as onnxruntime reads it): every axis of size 1. */
		for (int a = 0; a < in->ndim; a++)
			drop[a] = in->dims[a] == 1;
	}
	int64_t dims[GB_MAX_DIMS];
	int r = 0;
	for (int a = 0; a < in->ndim; a++)
		if (!drop[a])
			dims[r++] = in->dims[a];
	return copy_as(x, node, in, r, dims, err);
}

static gb_status unsqueeze_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const gb_tensor *in;
	const int64_t *axes;
	int64_t n;
	gb_status st = data_input(x, node, &in, err);
	if (st == GB_OK)
		st = axes_of(x, node, &axes, &n, err);
	if (st != GB_OK)
		return st;
	if (n < 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "the axes are missing");
	st = check_rank(m, node, in->ndim + n, err);
	if (st != GB_OK)
		return st;
	int r = in->ndim + (int)n, ax[GB_MAX_DIMS], insert[GB_MAX_DIMS] = {0};
	st = norm_axes(m, node, "axis", axes, n, r, ax, err);
	if (st != GB_OK)
		return st;
	for (int i = 0; i < (int)n; i++)
		insert[ax[i]] = 1;
	int64_t dims[GB_MAX_DIMS];
	for (int a = 0, j = 0; a < r; a++)
		dims[a] = insert[a] ? 1 : in->dims[j++];
	return copy_as(x, node, in, r, dims, err);
}

/* ==== axis maps: Transpose, Slice, Expand, Pad ===================================
 *
 * Each output axis a reads one input axis (or none, for axes Expand adds).
 * Output index i stands for j = i - before; for 0 <= j < n it reads input
 * index start + step*j along an input axis whose stride is `stride`
 * elements. Outside [0, n) — only Pad's borders — the fill mode decides:
 * the constant, or an index folded back into [0, n).
 *
 *   Transpose  stride = input stride of axis perm[a], step 1
 *   Slice      start and step from the operands, n = the slice length
 *   Expand     step 0 (stride 0 on new axes) where the input broadcasts
 *   Pad        before = the leading pad, start = what a negative pad crops
 *
 * map_build tabulates off[a][i] = input offset (or -1 for the constant)
 * once per axis, so the copy loop is a table lookup per element; backward
 * walks the same tables and adds, which sums Expand's broadcast copies and
 * Pad's reflected or replicated positions. */

typedef enum fill_mode { FILL_CONSTANT, FILL_EDGE, FILL_REFLECT, FILL_WRAP } fill_mode;

typedef struct axis_read {
	int64_t before, n, start, step, stride;
} axis_read;

typedef struct axis_map {
	int ndim;
	int64_t dims[GB_MAX_DIMS]; /* output dims */
	axis_read ax[GB_MAX_DIMS];
	fill_mode fill;
	unsigned char value[8];    /* the constant, one element of the data's dtype */
	int64_t *off[GB_MAX_DIMS]; /* map_build: (dims[a]) input offsets, -1 = constant */
} axis_map;

/* Where out-of-range index j of an axis of length n reads; -1 = constant. */
static int64_t fill_index(fill_mode mode, int64_t j, int64_t n)
{
	switch (mode) {
	case FILL_CONSTANT:
		return -1;
	case FILL_EDGE:
		return j < 0 ? 0 : n - 1;
	case FILL_REFLECT: {
		/* numpy's 'reflect': period 2(n-1), the edge element not repeated. */
		if (n == 1)
			return 0;
		int64_t period = 2 * (n - 1), k = j % period;
		if (k < 0)
			k += period;
		return k < n ? k : period - k;
	}
	case FILL_WRAP: {
		int64_t k = j % n;
		return k < 0 ? k + n : k;
	}
	}
	return -1;
}

/* Fills p->off; call only for an output with elements. */
static gb_status map_build(gb_exec *x, const gb_node *node, axis_map *p, gb_error *err)
{
	for (int a = 0; a < p->ndim; a++) {
		const axis_read *r = &p->ax[a];
		int64_t *off = scratch(x, node, p->dims[a], sizeof *off, err);
		if (!off)
			return GB_STATUS_NOMEM;
		for (int64_t i = 0; i < p->dims[a]; i++) {
			int64_t j = i - r->before;
			if (j < 0 || j >= r->n)
				j = fill_index(p->fill, j, r->n);
			off[i] = j < 0 ? -1 : (r->start + r->step * j) * r->stride;
		}
		p->off[a] = off;
	}
	return GB_OK;
}

/* The copy loop for one element size: rows over all axes but the last,
 * a table lookup per element along it. */
#define DEFINE_MAP_COPY(T)                                                                                       \
	static void map_copy_##T(const axis_map *p, const T *src, T *dst)                                            \
	{                                                                                                            \
		T value;                                                                                                 \
		memcpy(&value, p->value, sizeof value);                                                                  \
		if (p->ndim == 0) {                                                                                      \
			dst[0] = src[0];                                                                                     \
			return;                                                                                              \
		}                                                                                                        \
		int last = p->ndim - 1;                                                                                  \
		int64_t inner = p->dims[last], rows = prod(p->dims, 0, last), idx[GB_MAX_DIMS] = {0};                  \
		const int64_t *off = p->off[last];                                                                       \
		for (int64_t row = 0; row < rows; row++, dst += inner) {                                                 \
			int64_t base = 0;                                                                                    \
			int outside = 0;                                                                                     \
			for (int a = 0; a < last; a++) {                                                                     \
				outside |= p->off[a][idx[a]] < 0;                                                                \
				base += p->off[a][idx[a]];                                                                       \
			}                                                                                                    \
			if (outside)                                                                                         \
				for (int64_t i = 0; i < inner; i++)                                                              \
					dst[i] = value;                                                                              \
			else                                                                                                 \
				for (int64_t i = 0; i < inner; i++)                                                              \
					dst[i] = off[i] < 0 ? value : src[base + off[i]];                                            \
			for (int a = last - 1; a >= 0 && ++idx[a] == p->dims[a]; a--)                                        \
				idx[a] = 0;                                                                                      \
		}                                                                                                        \
	}

DEFINE_MAP_COPY(uint8_t)
DEFINE_MAP_COPY(uint32_t)
DEFINE_MAP_COPY(uint64_t)

/* gin[off] += gout wherever the output reads the input (gin may be NULL);
 * returns the sum of gout over constant positions (Pad's value gradient). */
static double map_scatter(const axis_map *p, const float *gout, float *gin)
{
	if (p->ndim == 0) {
		if (gin)
			gin[0] += gout[0];
		return 0.0;
	}
	int last = p->ndim - 1;
	int64_t inner = p->dims[last], rows = prod(p->dims, 0, last), idx[GB_MAX_DIMS] = {0};
	const int64_t *off = p->off[last];
	double constant = 0.0;
	for (int64_t row = 0; row < rows; row++, gout += inner) {
		int64_t base = 0;
		int outside = 0;
		for (int a = 0; a < last; a++) {
			outside |= p->off[a][idx[a]] < 0;
			base += p->off[a][idx[a]];
		}
		for (int64_t i = 0; i < inner; i++) {
			if (outside || off[i] < 0)
				constant += gout[i];
			else if (gin)
				gin[base + off[i]] += gout[i];
		}
		for (int a = last - 1; a >= 0 && ++idx[a] == p->dims[a]; a--)
			idx[a] = 0;
	}
	return constant;
}

/* Checks the operands of the op and describes its output as an axis map
 * (dims and ax[], fill and value); in is the data input. */
typedef gb_status (*map_plan)(gb_exec *x, const gb_node *node, const gb_tensor *in, axis_map *p, gb_error *err);

static gb_status map_forward(gb_exec *x, const gb_node *node, map_plan plan, gb_error *err)
{
	const gb_tensor *in;
	gb_status st = data_input(x, node, &in, err);
	if (st != GB_OK)
		return st;
	axis_map p = {0};
	st = plan(x, node, in, &p, err);
	if (st != GB_OK)
		return st;
	gb_tensor *out;
	st = new_out(x, node, 0, in->dtype, p.ndim, p.dims, &out, err);
	if (st != GB_OK || gb_numel(out) == 0)
		return st;
	st = map_build(x, node, &p, err);
	if (st != GB_OK)
		return st;
	switch (gb_dtype_size(in->dtype)) {
	case 1: map_copy_uint8_t(&p, in->data, out->data); break;
	case 4: map_copy_uint32_t(&p, in->data, out->data); break;
	case 8: map_copy_uint64_t(&p, in->data, out->data); break;
	default: GB_ASSERT(0);
	}
	return GB_OK;
}

/* Adds the output gradient back through the map; *constant_grad (when not
 * NULL) receives the gradient of the fill constant. */
static gb_status map_backward(gb_exec *x, const gb_node *node, map_plan plan, double *constant_grad, gb_error *err)
{
	const gb_tensor *gy = gb_gout(x, node, 0);
	const gb_tensor *in = gb_in(x, node, 0);
	gb_tensor *gx = gb_gin(x, node, 0);
	if (constant_grad)
		*constant_grad = 0.0;
	if (!gy || !in || (!gx && !constant_grad) || gb_numel(gy) == 0)
		return GB_OK;
	axis_map p = {0};
	gb_status st = plan(x, node, in, &p, err);
	if (st == GB_OK)
		st = map_build(x, node, &p, err);
	if (st != GB_OK)
		return st;
	double c = map_scatter(&p, gy->data, gx ? gx->data : NULL);
	if (constant_grad)
		*constant_grad = c;
	return GB_OK;
}

/* ---- Transpose ------------------------------------------------------------------- */

typedef struct transpose_params {
	const int64_t *perm;
	int64_t n_perm; /* -1: reverse the axes */
} transpose_params;

static gb_status transpose_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	transpose_params *p = params_new(m, node, sizeof *p, err);
	if (!p)
		return GB_STATUS_NOMEM;
	node->params = p;
	return gb_attr_ints(m, node, "perm", &p->perm, &p->n_perm, err);
}

static gb_status transpose_plan(gb_exec *x, const gb_node *node, const gb_tensor *in, axis_map *p, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const transpose_params *tp = node->params;
	int r = in->ndim, perm[GB_MAX_DIMS];
	if (tp->n_perm >= 0) {
		if (tp->n_perm != r)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "perm has %lld entries for an input of rank %d",
			                     (long long)tp->n_perm, r);
		for (int a = 0; a < r; a++)
			if (tp->perm[a] < 0)
				return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "perm entry %lld is negative",
				                     (long long)tp->perm[a]);
		gb_status st = norm_axes(m, node, "perm entry", tp->perm, r, r, perm, err);
		if (st != GB_OK)
			return st;
	} else {
		for (int a = 0; a < r; a++)
			perm[a] = r - 1 - a;
	}
	int64_t stride[GB_MAX_DIMS];
	strides_of(in, stride);
	p->ndim = r;
	for (int a = 0; a < r; a++) {
		p->dims[a] = in->dims[perm[a]];
		p->ax[a] = (axis_read){0, p->dims[a], 0, 1, stride[perm[a]]};
	}
	return GB_OK;
}

static gb_status transpose_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	return map_forward(x, node, transpose_plan, err);
}

static gb_status transpose_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	return map_backward(x, node, transpose_plan, NULL, err);
}

/* ---- Slice ----------------------------------------------------------------------- */

typedef struct slice_params {
	int from_attrs; /* before opset 10: starts, ends, axes are attributes */
	const int64_t *starts, *ends, *axes;
	int64_t n_starts, n_ends, n_axes;
} slice_params;

static gb_status slice_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	slice_params *p = params_new(m, node, sizeof *p, err);
	if (!p)
		return GB_STATUS_NOMEM;
	gb_status st = gb_attr_ints(m, node, "starts", &p->starts, &p->n_starts, err);
	if (st == GB_OK)
		st = gb_attr_ints(m, node, "ends", &p->ends, &p->n_ends, err);
	if (st == GB_OK)
		st = gb_attr_ints(m, node, "axes", &p->axes, &p->n_axes, err);
	if (st != GB_OK)
		return st;
	if (opset_of(m) < 10) {
		if (p->n_starts < 0 || p->n_ends < 0 || node->n_inputs != 1)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "before opset 10 Slice takes one input and attributes 'starts' and 'ends'");
		p->from_attrs = 1;
	} else {
		if (p->n_starts >= 0 || p->n_ends >= 0 || p->n_axes >= 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "from opset 10 starts, ends and axes are inputs, not attributes");
		if (node->n_inputs < 3)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "needs inputs data, starts and ends");
	}
	node->params = p;
	return GB_OK;
}

static gb_status slice_plan(gb_exec *x, const gb_node *node, const gb_tensor *in, axis_map *p, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const slice_params *sp = node->params;
	const int64_t *starts = sp->starts, *ends = sp->ends, *axes = sp->axes, *steps = NULL;
	int64_t n_starts = sp->n_starts, n_ends = sp->n_ends, n_axes = sp->n_axes, n_steps = -1;
	if (!sp->from_attrs) {
		gb_status st = int_operand(x, node, 1, "starts", &starts, &n_starts, err);
		if (st == GB_OK)
			st = int_operand(x, node, 2, "ends", &ends, &n_ends, err);
		if (st == GB_OK)
			st = int_operand(x, node, 3, "axes", &axes, &n_axes, err);
		if (st == GB_OK)
			st = int_operand(x, node, 4, "steps", &steps, &n_steps, err);
		if (st != GB_OK)
			return st;
		if (n_starts < 0 || n_ends < 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input 'starts' or 'ends' is missing");
	}
	if (n_ends != n_starts || (n_axes >= 0 && n_axes != n_starts) || (n_steps >= 0 && n_steps != n_starts))
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
		                     "starts, ends, axes and steps have different lengths (%lld, %lld, %lld, %lld)",
		                     (long long)n_starts, (long long)n_ends, (long long)n_axes, (long long)n_steps);
	int r = in->ndim, ax[GB_MAX_DIMS];
	if (n_starts > r)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "slices %lld axes of an input of rank %d",
		                     (long long)n_starts, r);
	if (n_axes >= 0) {
		gb_status st = norm_axes(m, node, "axis", axes, n_starts, r, ax, err);
		if (st != GB_OK)
			return st;
	} else {
		for (int i = 0; i < (int)n_starts; i++)
			ax[i] = i;
	}
	int64_t stride[GB_MAX_DIMS];
	strides_of(in, stride);
	p->ndim = r;
	for (int a = 0; a < r; a++) {
		p->dims[a] = in->dims[a];
		p->ax[a] = (axis_read){0, in->dims[a], 0, 1, stride[a]};
	}
	for (int i = 0; i < (int)n_starts; i++) {
		int a = ax[i];
		int64_t dim = in->dims[a], step = steps ? steps[i] : 1, s = starts[i], e = ends[i], count;
		if (step == 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "step %d is 0", i);
		/* Negative starts and ends count from the end; then, per the
		 * spec, a forward slice clamps both to [0, dim], a backward one
		 * clamps start to [0, dim-1] and end to [-1, dim-1]. */
		if (s < 0)
			s += dim;
		if (e < 0)
			e += dim;
		if (dim == 0) {
			s = 0;
			count = 0;
		} else if (step > 0) {
			s = s < 0 ? 0 : s > dim ? dim : s;
			e = e < 0 ? 0 : e > dim ? dim : e;
			count = e > s ? 1 + (e - s - 1) / step : 0;
		} else {
			s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
			e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
			uint64_t back = (uint64_t)0 - (uint64_t)step; /* |step|, also for INT64_MIN */
			count = s > e ? 1 + (int64_t)((uint64_t)(s - e - 1) / back) : 0;
		}
		p->dims[a] = count;
		p->ax[a] = (axis_read){0, count, s, step, stride[a]};
	}
	return GB_OK;
}

static gb_status slice_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	return map_forward(x, node, slice_plan, err);
}

static gb_status slice_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	return map_backward(x, node, slice_plan, NULL, err);
}

/* ---- Expand ------------------------------------------------------------------------ */

static gb_status expand_plan(gb_exec *x, const gb_node *node, const gb_tensor *in, axis_map *p, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const int64_t *shape;
	int64_t n;
	gb_status st = int_operand(x, node, 1, "shape", &shape, &n, err);
	if (st != GB_OK)
		return st;
	if (n < 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input 'shape' is missing");
	int r = in->ndim;
	st = check_rank(m, node, n > r ? n : r, err);
	if (st != GB_OK)
		return st;
	int R = n > r ? (int)n : r;
	int64_t stride[GB_MAX_DIMS];
	strides_of(in, stride);
	p->ndim = R;
	for (int a = 0; a < R; a++) {
		int j = a - (R - r), k = a - (R - (int)n);
		int64_t have = j >= 0 ? in->dims[j] : 1, want = k >= 0 ? shape[k] : 1, d;
		if (want < 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "shape[%d] = %lld is negative", k, (long long)want);
		if (have == want || want == 1)
			d = have;
		else if (have == 1)
			d = want;
		else
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "cannot broadcast input %s to shape %s",
			                     SHAPE_STR(r, in->dims), SHAPE_STR((int)n, shape));
		p->dims[a] = d;
		p->ax[a] = (axis_read){0, d, 0, j >= 0 && have == d ? 1 : 0, j >= 0 ? stride[j] : 0};
	}
	return GB_OK;
}

static gb_status expand_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	return map_forward(x, node, expand_plan, err);
}

static gb_status expand_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	return map_backward(x, node, expand_plan, NULL, err);
}

/* ---- Pad --------------------------------------------------------------------------- */

typedef struct pad_params {
	fill_mode mode;
	int from_attrs;      /* before opset 11: pads and value are attributes */
	int axes_input;      /* from opset 18: input 3 names the padded axes */
	const int64_t *pads; /* attribute form */
	int64_t n_pads;
	float value;         /* attribute form */
} pad_params;

static gb_status pad_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	pad_params *p = params_new(m, node, sizeof *p, err);
	if (!p)
		return GB_STATUS_NOMEM;
	int64_t opset = opset_of(m);
	const char *mode;
	gb_status st = gb_attr_string(m, node, "mode", "constant", &mode, err);
	if (st != GB_OK)
		return st;
	if (strcmp(mode, "constant") == 0)
		p->mode = FILL_CONSTANT;
	else if (strcmp(mode, "reflect") == 0)
		p->mode = FILL_REFLECT;
	else if (strcmp(mode, "edge") == 0)
		p->mode = FILL_EDGE;
	else if (strcmp(mode, "wrap") == 0 && opset >= 19)
		p->mode = FILL_WRAP;
	else
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "mode '%s' is not a Pad mode at opset %lld", mode,
		                     (long long)opset);
	if (opset < 11) {
		st = gb_attr_ints(m, node, "pads", &p->pads, &p->n_pads, err);
		if (st == GB_OK)
			st = gb_attr_float(m, node, "value", 0.0f, &p->value, err);
		if (st != GB_OK)
			return st;
		if (p->n_pads < 0 || node->n_inputs != 1)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "before opset 11 Pad takes one input and a 'pads' attribute");
		p->from_attrs = 1;
	} else {
		if (gb_node_attr(node, "pads") || gb_node_attr(node, "value"))
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "from opset 11 pads and the constant are inputs, not attributes");
		if (node->n_inputs < 2)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "needs inputs data and pads");
		if (opset < 18 && node->n_inputs > 3)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input 'axes' exists from opset 18");
		p->axes_input = opset >= 18;
	}
	node->params = p;
	return GB_OK;
}

static gb_status pad_plan(gb_exec *x, const gb_node *node, const gb_tensor *in, axis_map *p, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const pad_params *pp = node->params;
	const int64_t *pads = pp->pads, *axes = NULL;
	int64_t n_pads = pp->n_pads, n_axes = -1;
	int r = in->ndim;
	size_t es = gb_dtype_size(in->dtype);
	memset(p->value, 0, sizeof p->value);
	if (pp->from_attrs) {
		if (in->dtype != GB_DTYPE_F32)
			return gb_dtype_unsupported(x, node, in, err);
		memcpy(p->value, &pp->value, sizeof pp->value);
	} else {
		gb_status st = int_operand(x, node, 1, "pads", &pads, &n_pads, err);
		if (st == GB_OK && pp->axes_input)
			st = int_operand(x, node, 3, "axes", &axes, &n_axes, err);
		if (st != GB_OK)
			return st;
		if (n_pads < 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input 'pads' is missing");
		const gb_tensor *c = gb_in(x, node, 2);
		if (c) {
			if (c->dtype != in->dtype || gb_numel(c) != 1)
				return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
				                     "constant_value should be one %s, it is %s %s", gb_dtype_name(in->dtype),
				                     gb_dtype_name(c->dtype), SHAPE_STR(c->ndim, c->dims));
			memcpy(p->value, c->data, es);
		}
	}
	int64_t n_ax = n_axes >= 0 ? n_axes : r;
	int ax[GB_MAX_DIMS];
	if (n_ax > r || n_pads != 2 * n_ax)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "has %lld pads for %lld axes of an input of rank %d",
		                     (long long)n_pads, (long long)n_ax, r);
	if (n_axes >= 0) {
		gb_status st = norm_axes(m, node, "axis", axes, n_ax, r, ax, err);
		if (st != GB_OK)
			return st;
	} else {
		for (int i = 0; i < r; i++)
			ax[i] = i;
	}
	int64_t begin[GB_MAX_DIMS] = {0}, end[GB_MAX_DIMS] = {0}, stride[GB_MAX_DIMS];
	for (int i = 0; i < (int)n_ax; i++) {
		begin[ax[i]] = pads[i];
		end[ax[i]] = pads[i + n_ax];
	}
	strides_of(in, stride);
	p->ndim = r;
	p->fill = pp->mode;
	for (int a = 0; a < r; a++) {
		int64_t n = in->dims[a], b = begin[a], e = end[a], out;
		/* Negative pads crop first; the mode then pads what is left. */
		if (b < -n || e < -n || n + (b < 0 ? b : 0) + (e < 0 ? e : 0) < 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "pads %lld and %lld crop more than axis %d of size %lld holds", (long long)b,
			                     (long long)e, a, (long long)n);
		int64_t keep = n + (b < 0 ? b : 0) + (e < 0 ? e : 0);
		if (__builtin_add_overflow(keep, b > 0 ? b : 0, &out) || __builtin_add_overflow(out, e > 0 ? e : 0, &out))
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "pads %lld and %lld on axis %d are too large",
			                     (long long)b, (long long)e, a);
		if (pp->mode != FILL_CONSTANT && keep == 0 && out > 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "cannot pad the empty axis %d in mode %s", a,
			                     pp->mode == FILL_EDGE ? "edge" : pp->mode == FILL_WRAP ? "wrap" : "reflect");
		p->dims[a] = out;
		p->ax[a] = (axis_read){b > 0 ? b : 0, keep, b < 0 ? -b : 0, 1, stride[a]};
	}
	return GB_OK;
}

static gb_status pad_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	return map_forward(x, node, pad_plan, err);
}

static gb_status pad_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const pad_params *pp = node->params;
	gb_tensor *gc = pp->mode == FILL_CONSTANT && !pp->from_attrs ? gb_gin(x, node, 2) : NULL;
	double c;
	gb_status st = map_backward(x, node, pad_plan, gc ? &c : NULL, err);
	if (st == GB_OK && gc)
		((float *)gc->data)[0] += (float)c;
	return st;
}

/* ==== block copies: Concat, Split, Gather =========================================== */

/* ---- Concat ------------------------------------------------------------------------ */

typedef struct axis_params {
	int64_t axis;
} axis_params;

static gb_status concat_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	axis_params *p = params_new(m, node, sizeof *p, err);
	if (!p)
		return GB_STATUS_NOMEM;
	if (!gb_node_attr(node, "axis"))
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute 'axis' is missing");
	node->params = p;
	return gb_attr_int(m, node, "axis", 0, &p->axis, err);
}

/* Checks that the inputs fit together; *axis and *total describe the output. */
static gb_status concat_check(gb_exec *x, const gb_node *node, int *axis, int64_t *total, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const axis_params *p = node->params;
	const gb_tensor *first;
	gb_status st = data_input(x, node, &first, err);
	if (st != GB_OK)
		return st;
	int ax = gb_axis(p->axis, first->ndim);
	if (ax < 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "axis %lld is out of range for rank %d",
		                     (long long)p->axis, first->ndim);
	*axis = ax;
	*total = 0;
	for (int k = 0; k < node->n_inputs; k++) {
		const gb_tensor *t = gb_in(x, node, k);
		if (!t)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input %d is missing", k);
		if (t->dtype != first->dtype)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input %d is %s, input 0 is %s", k,
			                     gb_dtype_name(t->dtype), gb_dtype_name(first->dtype));
		int fits = t->ndim == first->ndim;
		for (int a = 0; fits && a < t->ndim; a++)
			fits = a == ax || t->dims[a] == first->dims[a];
		if (!fits)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "input %d has shape %s, which does not fit input 0 %s along axis %d", k,
			                     SHAPE_STR(t->ndim, t->dims), SHAPE_STR(first->ndim, first->dims), ax);
		if (__builtin_add_overflow(*total, t->dims[ax], total))
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "the concatenated axis is too long");
	}
	return GB_OK;
}

static gb_status concat_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	int ax;
	int64_t total;
	gb_status st = concat_check(x, node, &ax, &total, err);
	if (st != GB_OK)
		return st;
	const gb_tensor *first = gb_in(x, node, 0);
	int64_t dims[GB_MAX_DIMS];
	memcpy(dims, first->dims, sizeof dims);
	dims[ax] = total;
	gb_tensor *out;
	st = new_out(x, node, 0, first->dtype, first->ndim, dims, &out, err);
	if (st != GB_OK || gb_numel(out) == 0)
		return st;
	size_t es = gb_dtype_size(first->dtype);
	int64_t outer = prod(dims, 0, ax), inner = prod(dims, ax + 1, first->ndim);
	unsigned char *dst = out->data;
	for (int64_t o = 0; o < outer; o++)
		for (int k = 0; k < node->n_inputs; k++) {
			const gb_tensor *t = gb_in(x, node, k);
			size_t block = (size_t)(t->dims[ax] * inner) * es;
			memcpy(dst, (const unsigned char *)t->data + (size_t)o * block, block);
			dst += block;
		}
	return GB_OK;
}

static gb_status concat_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *gy = gb_gout(x, node, 0);
	if (!gy)
		return GB_OK;
	int ax;
	int64_t total;
	gb_status st = concat_check(x, node, &ax, &total, err);
	if (st != GB_OK)
		return st;
	int64_t outer = prod(gy->dims, 0, ax), inner = prod(gy->dims, ax + 1, gy->ndim);
	const float *dy = gy->data;
	for (int64_t o = 0; o < outer; o++)
		for (int k = 0; k < node->n_inputs; k++) {
			int64_t block = gb_in(x, node, k)->dims[ax] * inner;
			gb_tensor *gx = gb_gin(x, node, k);
			if (gx) {
				float *dx = (float *)gx->data + o * block;
				for (int64_t i = 0; i < block; i++)
					dx[i] += dy[i];
			}
			dy += block;
		}
	return GB_OK;
}

/* ---- Split ------------------------------------------------------------------------- */

typedef struct split_params {
	int64_t axis;
	int sizes_input;      /* from opset 13: input 1 holds the sizes */
	const int64_t *split; /* attribute form */
	int64_t n_split;      /* -1 when absent */
	int ceil_chunks;      /* opset 18 num_outputs: chunks of ceil(dim/n), the last smaller */
} split_params;

static gb_status split_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	split_params *p = params_new(m, node, sizeof *p, err);
	if (!p)
		return GB_STATUS_NOMEM;
	int64_t opset = opset_of(m), num_outputs;
	gb_status st = gb_attr_int(m, node, "axis", 0, &p->axis, err);
	if (st == GB_OK)
		st = gb_attr_ints(m, node, "split", &p->split, &p->n_split, err);
	if (st == GB_OK)
		st = gb_attr_int(m, node, "num_outputs", 0, &num_outputs, err);
	if (st != GB_OK)
		return st;
	int has_input = node->n_inputs > 1 && node->inputs[1] >= 0;
	if (opset < 13) {
		if (node->n_inputs > 1)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "takes one input before opset 13 (the sizes are an attribute)");
	} else {
		if (p->n_split >= 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "from opset 13 the split sizes are an input, not an attribute");
		p->sizes_input = 1;
	}
	if (opset >= 18 && gb_node_attr(node, "num_outputs")) {
		if (has_input)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "has both input 'split' and num_outputs");
		if (num_outputs != node->n_outputs)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "num_outputs is %lld but the node has %d outputs",
			                     (long long)num_outputs, node->n_outputs);
		p->ceil_chunks = 1;
	}
	node->params = p;
	return GB_OK;
}

/* The sizes of the outputs along the split axis (scratch, n_outputs of them). */
static gb_status split_sizes(gb_exec *x, const gb_node *node, const gb_tensor *in, int ax, int64_t **sizes,
                             gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const split_params *p = node->params;
	int n_out = node->n_outputs;
	int64_t dim = in->dims[ax];
	const int64_t *given = p->split;
	int64_t n_given = p->n_split;
	if (p->sizes_input) {
		gb_status st = int_operand(x, node, 1, "split", &given, &n_given, err);
		if (st != GB_OK)
			return st;
	}
	int64_t *sz = scratch(x, node, n_out, sizeof *sz, err);
	if (!sz)
		return GB_STATUS_NOMEM;
	if (n_given >= 0) {
		if (n_given != n_out)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "has %lld split sizes for %d outputs",
			                     (long long)n_given, n_out);
		int64_t sum = 0;
		for (int k = 0; k < n_out; k++) {
			if (given[k] < 0 || __builtin_add_overflow(sum, given[k], &sum))
				return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "split size %d (%lld) is invalid", k,
				                     (long long)given[k]);
			sz[k] = given[k];
		}
		if (sum != dim)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "split sizes add up to %lld, but axis %d has size %lld", (long long)sum, ax,
			                     (long long)dim);
	} else if (p->ceil_chunks) {
		int64_t chunk = dim / n_out + (dim % n_out != 0), last = dim - chunk * (n_out - 1);
		if (last < 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
			                     "cannot split axis %d of size %lld into %d chunks of %lld", ax, (long long)dim, n_out,
			                     (long long)chunk);
		for (int k = 0; k < n_out; k++)
			sz[k] = k < n_out - 1 ? chunk : last;
	} else {
		if (dim % n_out != 0)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "cannot split axis %d of size %lld into %d equal parts",
			                     ax, (long long)dim, n_out);
		for (int k = 0; k < n_out; k++)
			sz[k] = dim / n_out;
	}
	*sizes = sz;
	return GB_OK;
}

/* Checks the input and finds the split axis and sizes. */
static gb_status split_check(gb_exec *x, const gb_node *node, const gb_tensor **in, int *ax, int64_t **sizes,
                             gb_error *err)
{
	const split_params *p = node->params;
	gb_status st = data_input(x, node, in, err);
	if (st != GB_OK)
		return st;
	*ax = gb_axis(p->axis, (*in)->ndim);
	if (*ax < 0)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE, "axis %lld is out of range for rank %d",
		                     (long long)p->axis, (*in)->ndim);
	return split_sizes(x, node, *in, *ax, sizes, err);
}

static gb_status split_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *in;
	int ax;
	int64_t *sizes;
	gb_status st = split_check(x, node, &in, &ax, &sizes, err);
	if (st != GB_OK)
		return st;
	size_t es = gb_dtype_size(in->dtype);
	int64_t outer = prod(in->dims, 0, ax), inner = prod(in->dims, ax + 1, in->ndim), start = 0;
	size_t row = (size_t)(in->dims[ax] * inner) * es;
	for (int k = 0; k < node->n_outputs; k++) {
		int64_t dims[GB_MAX_DIMS];
		memcpy(dims, in->dims, sizeof dims);
		dims[ax] = sizes[k];
		gb_tensor *out;
		st = new_out(x, node, k, in->dtype, in->ndim, dims, &out, err);
		if (st != GB_OK)
			return st;
		size_t block = (size_t)(sizes[k] * inner) * es;
		const unsigned char *src = (const unsigned char *)in->data + (size_t)(start * inner) * es;
		for (int64_t o = 0; o < outer && block; o++)
			memcpy((unsigned char *)out->data + (size_t)o * block, src + (size_t)o * row, block);
		start += sizes[k];
	}
	return GB_OK;
}

static gb_status split_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	gb_tensor *gx = gb_gin(x, node, 0);
	if (!gx)
		return GB_OK;
	const gb_tensor *in;
	int ax;
	int64_t *sizes;
	gb_status st = split_check(x, node, &in, &ax, &sizes, err);
	if (st != GB_OK)
		return st;
	int64_t outer = prod(in->dims, 0, ax), inner = prod(in->dims, ax + 1, in->ndim), row = in->dims[ax] * inner;
	int64_t start = 0;
	for (int k = 0; k < node->n_outputs; k++) {
		const gb_tensor *gy = gb_gout(x, node, k);
		int64_t block = sizes[k] * inner;
		for (int64_t o = 0; gy && o < outer; o++) {
			float *dx = (float *)gx->data + o * row + start * inner;
			const float *dy = (const float *)gy->data + o * block;
			for (int64_t i = 0; i < block; i++)
				dx[i] += dy[i];
		}
		start += sizes[k];
	}
	return GB_OK;
}

/* ---- Gather ------------------------------------------------------------------------ */

static gb_status gather_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	axis_params *p = params_new(m, node, sizeof *p, err);
	if (!p)
		return GB_STATUS_NOMEM;
	node->params = p;
	return gb_attr_int(m, node, "axis", 0, &p->axis, err);
}

/* Checks data and indices; *idx receives the indices made non-negative
 * (scratch), *ax the axis. */
static gb_status gather_check(gb_exec *x, const gb_node *node, const gb_tensor **data, const gb_tensor **indices,
                              int *ax, int64_t **idx, gb_error *err)
{
	const gb_model *m = gb_exec_model(x);
	const axis_params *p = node->params;
	gb_status st = data_input(x, node, data, err);
	if (st != GB_OK)
		return st;
	const gb_tensor *ind = gb_in(x, node, 1);
	if (!ind)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "input 'indices' is missing");
	if (ind->dtype != GB_DTYPE_I64 && ind->dtype != GB_DTYPE_I32)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "indices should be int64 or int32, they are %s",
		                     gb_dtype_name(ind->dtype));
	*ax = gb_axis(p->axis, (*data)->ndim);
	if (*ax < 0)
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "axis %lld is out of range for rank %d",
		                     (long long)p->axis, (*data)->ndim);
	st = check_rank(m, node, (*data)->ndim - 1 + ind->ndim, err);
	if (st != GB_OK)
		return st;
	int64_t n = (*data)->dims[*ax], count = gb_numel(ind);
	int64_t *v = scratch(x, node, count, sizeof *v, err);
	if (!v)
		return GB_STATUS_NOMEM;
	for (int64_t j = 0; j < count; j++) {
		int64_t i = ind->dtype == GB_DTYPE_I64 ? ((const int64_t *)ind->data)[j] : ((const int32_t *)ind->data)[j];
		if (i < -n || i >= n)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "index %lld is out of range for axis %d of size %lld",
			                     (long long)i, *ax, (long long)n);
		v[j] = i < 0 ? i + n : i;
	}
	*indices = ind;
	*idx = v;
	return GB_OK;
}

static gb_status gather_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *data, *ind;
	int ax;
	int64_t *idx;
	gb_status st = gather_check(x, node, &data, &ind, &ax, &idx, err);
	if (st != GB_OK)
		return st;
	int64_t dims[GB_MAX_DIMS];
	int r = 0;
	for (int a = 0; a < ax; a++)
		dims[r++] = data->dims[a];
	for (int a = 0; a < ind->ndim; a++)
		dims[r++] = ind->dims[a];
	for (int a = ax + 1; a < data->ndim; a++)
		dims[r++] = data->dims[a];
	gb_tensor *out;
	st = new_out(x, node, 0, data->dtype, r, dims, &out, err);
	if (st != GB_OK || gb_numel(out) == 0)
		return st;
	size_t es = gb_dtype_size(data->dtype);
	int64_t outer = prod(data->dims, 0, ax), n = data->dims[ax], inner = prod(data->dims, ax + 1, data->ndim);
	int64_t count = gb_numel(ind);
	size_t block = (size_t)inner * es;
	const unsigned char *src = data->data;
	unsigned char *dst = out->data;
	for (int64_t o = 0; o < outer; o++)
		for (int64_t j = 0; j < count; j++, dst += block)
			memcpy(dst, src + (size_t)(o * n + idx[j]) * block, block);
	return GB_OK;
}

static gb_status gather_backward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const gb_tensor *gy = gb_gout(x, node, 0);
	gb_tensor *gx = gb_gin(x, node, 0);
	if (!gy || !gx)
		return GB_OK;
	const gb_tensor *data, *ind;
	int ax;
	int64_t *idx;
	gb_status st = gather_check(x, node, &data, &ind, &ax, &idx, err);
	if (st != GB_OK)
		return st;
	int64_t outer = prod(data->dims, 0, ax), n = data->dims[ax], inner = prod(data->dims, ax + 1, data->ndim);
	int64_t count = gb_numel(ind);
	const float *dy = gy->data;
	for (int64_t o = 0; o < outer; o++)
		for (int64_t j = 0; j < count; j++, dy += inner) {
			float *dx = (float *)gx->data + (o * n + idx[j]) * inner;
			for (int64_t i = 0; i < inner; i++)
				dx[i] += dy[i];
		}
	return GB_OK;
}

/* ==== Shape ========================================================================= */

typedef struct shape_params {
	int64_t start, end;
	int has_end;
} shape_params;

static gb_status shape_prepare(gb_model *m, gb_node *node, gb_error *err)
{
	shape_params *p = params_new(m, node, sizeof *p, err);
	if (!p)
		return GB_STATUS_NOMEM;
	node->params = p;
	p->has_end = gb_node_attr(node, "end") != NULL;
	gb_status st = gb_attr_int(m, node, "start", 0, &p->start, err);
	if (st == GB_OK)
		st = gb_attr_int(m, node, "end", 0, &p->end, err);
	if (st == GB_OK && opset_of(m) < 15 && (p->has_end || gb_node_attr(node, "start")))
		return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attributes start and end exist from opset 15");
	return st;
}

static gb_status shape_forward(gb_exec *x, const gb_node *node, gb_error *err)
{
	const shape_params *p = node->params;
	const gb_tensor *in = gb_in(x, node, 0);
	if (!in)
		return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_BAD_FILE, "input 0 is missing");
	int64_t r = in->ndim, s = p->start, e = p->has_end ? p->end : r;
	/* Negative ends count from the back; both clamp to [0, rank]. */
	if (s < 0)
		s += r;
	if (e < 0)
		e += r;
	s = s < 0 ? 0 : s > r ? r : s;
	e = e < 0 ? 0 : e > r ? r : e;
	int64_t len = e > s ? e - s : 0;
	gb_tensor *out;
	gb_status st = new_out(x, node, 0, GB_DTYPE_I64, 1, &len, &out, err);
	if (st != GB_OK)
		return st;
	for (int64_t i = 0; i < len; i++)
		((int64_t *)out->data)[i] = in->dims[s + i];
	return GB_OK;
}

/* ==== the table ====================================================================== */

const gb_op_def gb_ops_shape[] = {
	{"Identity", 1, 1, 1, 1, NULL, identity_forward, copy_backward},
	{"Dropout", 1, 3, 1, 2, dropout_prepare, dropout_forward, copy_backward},
	{"Flatten", 1, 1, 1, 1, flatten_prepare, flatten_forward, copy_backward},
	{"Reshape", 1, 2, 1, 1, reshape_prepare, reshape_forward, copy_backward},
	{"Squeeze", 1, 2, 1, 1, squeeze_prepare, squeeze_forward, copy_backward},
	{"Unsqueeze", 1, 2, 1, 1, unsqueeze_prepare, unsqueeze_forward, copy_backward},
	{"Transpose", 1, 1, 1, 1, transpose_prepare, transpose_forward, transpose_backward},
	{"Slice", 1, 5, 1, 1, slice_prepare, slice_forward, slice_backward},
	{"Expand", 2, 2, 1, 1, NULL, expand_forward, expand_backward},
	{"Pad", 1, 4, 1, 1, pad_prepare, pad_forward, pad_backward},
	{"Concat", 1, INT_MAX, 1, 1, concat_prepare, concat_forward, concat_backward},
	{"Split", 1, 2, 1, INT_MAX, split_prepare, split_forward, split_backward},
	{"Gather", 2, 2, 1, 1, gather_prepare, gather_forward, gather_backward},
	{"Shape", 1, 1, 1, 1, shape_prepare, shape_forward, NULL},
	{0},
};
