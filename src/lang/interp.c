/*
 * interp.c — the interpreter of checked .gbx programs (lang.h describes the
 * interface; docs/language.md §10 defines every primitive it computes).
 *
 * The program runs once per batch, vectorised: every array value is either
 * *constant* (it does not depend on the inputs: params, literals, and what is
 * computed from them alone; one copy) or *batched* (one copy per batch item,
 * stored as [N, ...shape] row-major). Each operator loops over the batch
 * itself, so the tree is walked once per batch, not once per example, and
 * loops and def calls are executed (not compiled) with their int variables
 * known, as the checker does.
 *
 * Values: compile-time ints (loop variables, shape variables, literals) and
 * f32 / bool arrays. Bools are stored as floats 0.0 / 1.0, so the shape
 * operators serve both element types and float(b) is a relabelling. Array
 * data lives in reference-counted buffers; a functional update (y[i] = e)
 * copies a shared buffer first.
 *
 * The checker (gb_ast_check) runs first, so names, shapes and arguments are
 * known to be right; the interpreter still checks what it relies on and
 * reports a FILE:LINE:COL message instead of crashing when something does
 * not hold. The side-car weights are opened here (the checker does not).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "internal.h"

/* ---- values ----------------------------------------------------------------------- */

typedef struct vbuf {
	int64_t refs;
	float d[];
} vbuf;

typedef enum vkind { V_INT = 0, V_F32, V_BOOL } vkind;

typedef struct val {
	vkind kind;
	int64_t ival; /* V_INT */
	int ndim;
	int64_t dims[GB_MAX_DIMS];
	bool batched; /* data is [N, dims...] instead of [dims...] */
	bool is_list; /* a constant literal of ints only: indexing it gives an int */
	vbuf *b;      /* V_F32 / V_BOOL */
} val;

typedef struct binding {
	const char *name; /* NULL: removed (a loop variable after its loop) */
	val v;
	int level;      /* 0: top level; k: inside the k-th nested def call */
	bool is_param;  /* top-level params are visible inside defs */
	bool has_type;  /* declared with a type: whole assignments keep it */
	vkind decl_kind;
} binding;

typedef struct interp {
	const gb_ast *ast;
	const char *file;
	const char *dir;
	int64_t N;
	gb_error *err;
	binding *binds;
	int n_binds, cap_binds;
	int frame; /* first binding of the current def call (0 at top level) */
	int level;
	const gb_ast_stmt *weights_stmt;
	gb_tensor_map *weights;
	const gb_ast_stmt **defs;
	int n_defs;
	const gb_ast_stmt *ret_stmt; /* set when a def body reaches its return */
	gb_lang_env env; /* for eval_common.c: this interpreter's messages and ints */
} interp;

static bool fail_at(interp *it, gb_ast_pos pos, const char *fmt, ...) GB_PRINTF(3, 4);

static bool fail_at(interp *it, gb_ast_pos pos, const char *fmt, ...)
{
	char msg[GB_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	gb_fail(it->err, GB_STATUS_BAD_FILE, "%s:%d:%d: %s", it->file, pos.line, pos.col, msg);
	return false;
}

static bool nomem_at(interp *it, gb_ast_pos pos)
{
	gb_fail(it->err, GB_STATUS_NOMEM, "%s:%d:%d: out of memory", it->file, pos.line, pos.col);
	return false;
}

static int64_t vnumel(const val *v)
{
	return gb_lang_numel(v->ndim, v->dims);
}

/* Copies in the data: N per batched value, 1 otherwise. */
static int64_t vcopies(const interp *it, const val *v)
{
	return v->batched ? it->N : 1;
}

static void val_drop(val *v)
{
	if (v->b && --v->b->refs == 0)
		free(v->b);
	v->b = NULL;
}

static val val_ref(const val *v)
{
	val r = *v;
	if (r.b)
		r.b->refs++;
	return r;
}

static val int_val(int64_t i)
{
	val v;
	memset(&v, 0, sizeof v);
	v.kind = V_INT;
	v.ival = i;
	return v;
}

/* A new array (data uninitialised); sizes are checked. */
static bool val_new(interp *it, vkind kind, int ndim, const int64_t *dims, bool batched, val *out, gb_ast_pos pos)
{
	memset(out, 0, sizeof *out);
	out->kind = kind;
	out->ndim = ndim;
	if (ndim)
		memcpy(out->dims, dims, sizeof(int64_t) * (size_t)ndim);
	out->batched = batched;
	int64_t n = 1;
	for (int i = 0; i < ndim; i++)
		if (dims[i] < 1 || !gb_mul_i64(n, dims[i], &n))
			return fail_at(it, pos, "array size out of range");
	if (batched && !gb_mul_i64(n, it->N, &n))
		return fail_at(it, pos, "array size out of range");
	if (n > (int64_t)((SIZE_MAX - sizeof(vbuf)) / sizeof(float)))
		return fail_at(it, pos, "array size out of range");
	out->b = malloc(sizeof(vbuf) + sizeof(float) * (size_t)n);
	if (!out->b)
		return nomem_at(it, pos);
	out->b->refs = 1;
	return true;
}

static bool val_zeros(interp *it, vkind kind, int ndim, const int64_t *dims, bool batched, val *out, gb_ast_pos pos)
{
	if (!val_new(it, kind, ndim, dims, batched, out, pos))
		return false;
	memset(out->b->d, 0, sizeof(float) * (size_t)(vnumel(out) * vcopies(it, out)));
	return true;
}

static bool scalar_f32(interp *it, float x, val *out, gb_ast_pos pos)
{
	if (!val_new(it, V_F32, 0, NULL, false, out, pos))
		return false;
	out->b->d[0] = x;
	return true;
}

/* ints convert to f32 scalars (exact up to 2^24); other values pass. */
static bool as_array(interp *it, val *v, gb_ast_pos pos)
{
	if (v->kind != V_INT)
		return true;
	return scalar_f32(it, (float)v->ival, v, pos);
}

static bool want_f32(interp *it, val *v, gb_ast_pos pos, const char *what)
{
	if (!as_array(it, v, pos))
		return false;
	if (v->kind != V_F32)
		return fail_at(it, pos, "%s must be f32", what);
	return true;
}

/* A private (unshared) copy of the data, for updates in place. */
static bool val_own(interp *it, val *v, gb_ast_pos pos)
{
	if (!v->b || v->b->refs == 1)
		return true;
	val c;
	if (!val_new(it, v->kind, v->ndim, v->dims, v->batched, &c, pos))
		return false;
	memcpy(c.b->d, v->b->d, sizeof(float) * (size_t)(vnumel(v) * vcopies(it, v)));
	val_drop(v);
	*v = c;
	return true;
}

/* A constant value copied once per batch item. */
static bool val_batch(interp *it, val *v, gb_ast_pos pos)
{
	if (v->batched || v->kind == V_INT)
		return true;
	val c;
	if (!val_new(it, v->kind, v->ndim, v->dims, true, &c, pos))
		return false;
	int64_t m = vnumel(v);
	for (int64_t n = 0; n < it->N; n++)
		memcpy(c.b->d + n * m, v->b->d, sizeof(float) * (size_t)m);
	val_drop(v);
	*v = c;
	return true;
}

/* ---- bindings ----------------------------------------------------------------------- */

static binding *lookup(interp *it, const char *name)
{
	for (int i = it->n_binds - 1; i >= it->frame; i--)
		if (it->binds[i].name && strcmp(it->binds[i].name, name) == 0)
			return &it->binds[i];
	if (it->level > 0)
		for (int i = 0; i < it->n_binds; i++)
			if (it->binds[i].name && it->binds[i].is_param && strcmp(it->binds[i].name, name) == 0)
				return &it->binds[i];
	return NULL;
}

/* Takes ownership of v. */
static binding *push_binding(interp *it, const char *name, val *v, gb_ast_pos pos)
{
	if (it->n_binds == it->cap_binds) {
		int cap = it->cap_binds ? it->cap_binds * 2 : 64;
		binding *grown = realloc(it->binds, sizeof *grown * (size_t)cap);
		if (!grown) {
			val_drop(v);
			nomem_at(it, pos);
			return NULL;
		}
		it->binds = grown;
		it->cap_binds = cap;
	}
	binding *b = &it->binds[it->n_binds++];
	memset(b, 0, sizeof *b);
	b->name = name;
	b->v = *v;
	b->level = it->level;
	memset(v, 0, sizeof *v);
	return b;
}

static void pop_bindings(interp *it, int to)
{
	while (it->n_binds > to)
		val_drop(&it->binds[--it->n_binds].v);
}

/* ---- broadcasting ------------------------------------------------------------------------ */

static bool bcast_shape(interp *it, const val *a, const val *b, int *ndim, int64_t *dims, gb_ast_pos pos)
{
	int n = a->ndim > b->ndim ? a->ndim : b->ndim;
	for (int k = 0; k < n; k++) {
		int ka = a->ndim - n + k, kb = b->ndim - n + k;
		int64_t da = ka >= 0 ? a->dims[ka] : 1, db = kb >= 0 ? b->dims[kb] : 1;
		if (da != db && da != 1 && db != 1)
			return fail_at(it, pos, "shapes do not broadcast");
		dims[k] = da == 1 ? db : da;
	}
	*ndim = n;
	return true;
}

typedef enum ew_op {
	EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_MAX, EW_MIN,
	EW_LT, EW_LE, EW_GT, EW_GE, EW_EQ, EW_NE,
	EW_BAND, EW_BOR, EW_BXOR, EW_FXOR, EW_STEP
} ew_op;

static float max2(float a, float b) { return b > a ? b : a; }
static float min2(float a, float b) { return b < a ? b : a; }

/* Elementwise binary operator with broadcasting (a, b arrays). */
static bool ew_binary(interp *it, ew_op op, const val *a, const val *b, val *out, gb_ast_pos pos)
{
	int ndim = 0;
	int64_t dims[GB_MAX_DIMS];
	if (!bcast_shape(it, a, b, &ndim, dims, pos))
		return false;
	vkind kind = op >= EW_LT && op <= EW_NE ? V_BOOL : a->kind;
	if (op == EW_BAND || op == EW_BOR || op == EW_BXOR)
		kind = V_BOOL;
	if (!val_new(it, kind, ndim, dims, a->batched || b->batched, out, pos))
		return false;
	int64_t m = vnumel(out), ma = vnumel(a), mb = vnumel(b);
	int64_t *ia = gb_lang_bcast_offsets(a->ndim, a->dims, ndim, dims, m);
	int64_t *ib = gb_lang_bcast_offsets(b->ndim, b->dims, ndim, dims, m);
	if (!ia || !ib) {
		free(ia);
		free(ib);
		val_drop(out);
		return nomem_at(it, pos);
	}
	int64_t copies = vcopies(it, out);
	for (int64_t n = 0; n < copies; n++) {
		const float *pa = a->b->d + (a->batched ? n * ma : 0);
		const float *pb = b->b->d + (b->batched ? n * mb : 0);
		float *po = out->b->d + n * m;
#define EW_LOOP(EXPR)                                 \
	for (int64_t i = 0; i < m; i++) {                 \
		float x = pa[ia[i]], y = pb[ib[i]];            \
		po[i] = (EXPR);                                \
	}                                                 \
	break
		switch (op) {
		case EW_ADD: EW_LOOP(x + y);
		case EW_SUB: EW_LOOP(x - y);
		case EW_MUL: EW_LOOP(x * y);
		case EW_DIV: EW_LOOP(x / y);
		case EW_MAX: EW_LOOP(max2(x, y));
		case EW_MIN: EW_LOOP(min2(x, y));
		case EW_LT: EW_LOOP(x < y ? 1.0f : 0.0f);
		case EW_LE: EW_LOOP(x <= y ? 1.0f : 0.0f);
		case EW_GT: EW_LOOP(x > y ? 1.0f : 0.0f);
		case EW_GE: EW_LOOP(x >= y ? 1.0f : 0.0f);
		case EW_EQ: EW_LOOP(x == y ? 1.0f : 0.0f);
		case EW_NE: EW_LOOP(x != y ? 1.0f : 0.0f);
		case EW_BAND: EW_LOOP((x != 0 && y != 0) ? 1.0f : 0.0f);
		case EW_BOR: EW_LOOP((x != 0 || y != 0) ? 1.0f : 0.0f);
		case EW_BXOR: EW_LOOP(((x != 0) != (y != 0)) ? 1.0f : 0.0f);
		case EW_FXOR: EW_LOOP(fabsf(x - y));
		case EW_STEP: EW_LOOP(x > y ? 1.0f : 0.0f);
		}
#undef EW_LOOP
	}
	free(ia);
	free(ib);
	return true;
}

/* Folds a binary operator in place: *acc = acc OP v. */
static bool ew_fold(interp *it, ew_op op, val *acc, const val *v, gb_ast_pos pos)
{
	val r;
	if (!ew_binary(it, op, acc, v, &r, pos))
		return false;
	val_drop(acc);
	*acc = r;
	return true;
}

typedef enum un_op { UN_NEG, UN_NOT_F, UN_NOT_B, UN_RELU, UN_ABS, UN_SIGMOID, UN_TANH, UN_GELU, UN_CLAMP, UN_RAMP } un_op;

/* Elementwise unary operator, in place on a private copy. p, q: clamp's
 * bounds. */
static bool ew_unary(interp *it, un_op op, val *v, float p, float q, gb_ast_pos pos)
{
	if (!val_own(it, v, pos))
		return false;
	float *d = v->b->d;
	int64_t m = vnumel(v) * vcopies(it, v);
#define UN_LOOP(EXPR)                     \
	for (int64_t i = 0; i < m; i++) {     \
		float x = d[i];                    \
		d[i] = (EXPR);                     \
	}                                     \
	break
	switch (op) {
	case UN_NEG: UN_LOOP(-x);
	case UN_NOT_F: UN_LOOP(1.0f - x);
	case UN_NOT_B: UN_LOOP(x != 0 ? 0.0f : 1.0f);
	case UN_RELU: UN_LOOP(x < 0 ? 0.0f : x);
	case UN_ABS: UN_LOOP(x >= 0 ? x : -x);
	case UN_SIGMOID: UN_LOOP(1.0f / (1.0f + expf(-x)));
	case UN_TANH: UN_LOOP(tanhf(x));
	case UN_GELU: UN_LOOP(0.5f * x * (1.0f + erff(x / 1.41421356237309505f)));
	case UN_CLAMP: UN_LOOP(min2(max2(x, p), q));
	case UN_RAMP: UN_LOOP(min2(max2(x, 0.0f), 1.0f));
	}
#undef UN_LOOP
	return true;
}

/* ---- regions: indexing, slicing and element assignment ----------------------------------- */

typedef gb_lang_region region;

/* Subscripts of base (eval_common.c does the slice arithmetic). */
static bool make_region(interp *it, const val *base, const gb_ast_subscript *subs, int n_subs, region *r,
                        gb_ast_pos pos)
{
	if (base->kind == V_INT)
		return fail_at(it, pos, "an integer cannot be indexed");
	return gb_lang_region_make(&it->env, base->ndim, base->dims, subs, n_subs, r, pos);
}

static bool gather(interp *it, const val *base, const region *r, val *out, gb_ast_pos pos)
{
	int64_t m;
	int64_t *off = gb_lang_region_offsets(base->ndim, base->dims, r, &m);
	if (!off)
		return nomem_at(it, pos);
	if (!val_new(it, base->kind, r->ndim, r->dims, base->batched, out, pos)) {
		free(off);
		return false;
	}
	int64_t mb = vnumel(base);
	for (int64_t n = 0; n < vcopies(it, out); n++) {
		const float *src = base->b->d + n * mb;
		float *dst = out->b->d + n * m;
		for (int64_t i = 0; i < m; i++)
			dst[i] = src[off[i]];
	}
	free(off);
	return true;
}

/* base[region] = v, v broadcast to the region's shape. */
static bool scatter(interp *it, val *base, const region *r, const val *v, gb_ast_pos pos)
{
	val probe = *v;
	probe.ndim = r->ndim;
	memcpy(probe.dims, r->dims, sizeof probe.dims);
	int ndim = 0;
	int64_t dims[GB_MAX_DIMS];
	if (!bcast_shape(it, v, &probe, &ndim, dims, pos))
		return false;
	if (ndim != r->ndim || gb_lang_numel(ndim, dims) != gb_lang_numel(r->ndim, r->dims))
		return fail_at(it, pos, "the value does not fit the region");
	if (v->batched && !val_batch(it, base, pos))
		return false;
	if (!val_own(it, base, pos))
		return false;
	int64_t m;
	int64_t *off = gb_lang_region_offsets(base->ndim, base->dims, r, &m);
	int64_t *voff = gb_lang_bcast_offsets(v->ndim, v->dims, r->ndim, r->dims, m);
	if (!off || !voff) {
		free(off);
		free(voff);
		return nomem_at(it, pos);
	}
	int64_t mb = vnumel(base), mv = vnumel(v);
	for (int64_t n = 0; n < vcopies(it, base); n++) {
		float *dst = base->b->d + n * mb;
		const float *src = v->b->d + (v->batched ? n * mv : 0);
		for (int64_t i = 0; i < m; i++)
			dst[off[i]] = src[voff[i]];
	}
	free(off);
	free(voff);
	return true;
}

/* ---- stacking, concatenation, transposition ---------------------------------------------- */

/* Stacks items (same kind and shape; ints already converted) along a new
 * leading axis. Consumes nothing. */
static bool stack(interp *it, val *items, int64_t n, val *out, gb_ast_pos pos)
{
	if (n < 1 || items[0].ndim >= GB_MAX_DIMS)
		return fail_at(it, pos, "cannot stack these values");
	bool batched = false;
	for (int64_t i = 0; i < n; i++) {
		if (items[i].kind != items[0].kind || items[i].ndim != items[0].ndim ||
		    memcmp(items[i].dims, items[0].dims, sizeof(int64_t) * (size_t)items[0].ndim) != 0)
			return fail_at(it, pos, "array items differ in type or shape");
		batched |= items[i].batched;
	}
	int64_t dims[GB_MAX_DIMS];
	dims[0] = n;
	memcpy(dims + 1, items[0].dims, sizeof(int64_t) * (size_t)items[0].ndim);
	if (!val_new(it, items[0].kind, items[0].ndim + 1, dims, batched, out, pos))
		return false;
	int64_t m = vnumel(&items[0]);
	for (int64_t c = 0; c < vcopies(it, out); c++)
		for (int64_t i = 0; i < n; i++)
			memcpy(out->b->d + (c * n + i) * m, items[i].b->d + (items[i].batched ? c * m : 0),
			       sizeof(float) * (size_t)m);
	return true;
}

static bool concat(interp *it, val *items, int n, int64_t axis, val *out, gb_ast_pos pos)
{
	const val *x = &items[0];
	if (axis < 0)
		axis += x->ndim;
	if (x->ndim == 0 || axis < 0 || axis >= x->ndim)
		return fail_at(it, pos, "concat: axis out of range");
	bool batched = false;
	int64_t dims[GB_MAX_DIMS];
	memcpy(dims, x->dims, sizeof dims);
	dims[axis] = 0;
	for (int i = 0; i < n; i++) {
		bool ok = items[i].kind == x->kind && items[i].ndim == x->ndim;
		for (int k = 0; ok && k < x->ndim; k++)
			ok = k == axis || items[i].dims[k] == x->dims[k];
		if (!ok)
			return fail_at(it, pos, "concat: the arrays do not fit together");
		dims[axis] += items[i].dims[axis];
		batched |= items[i].batched;
	}
	if (!val_new(it, x->kind, x->ndim, dims, batched, out, pos))
		return false;
	int64_t outer = gb_lang_numel((int)axis, x->dims);
	int64_t inner = gb_lang_numel(x->ndim - (int)axis - 1, x->dims + axis + 1);
	int64_t mo = vnumel(out);
	for (int64_t c = 0; c < vcopies(it, out); c++) {
		float *dst = out->b->d + c * mo;
		for (int64_t o = 0; o < outer; o++)
			for (int i = 0; i < n; i++) {
				int64_t chunk = items[i].dims[axis] * inner, mi = vnumel(&items[i]);
				const float *src = items[i].b->d + (items[i].batched ? c * mi : 0) + o * chunk;
				memcpy(dst, src, sizeof(float) * (size_t)chunk);
				dst += chunk;
			}
	}
	return true;
}

static bool transpose(interp *it, const val *x, const int64_t *perm, val *out, gb_ast_pos pos)
{
	int nd = x->ndim;
	int64_t dims[GB_MAX_DIMS], stride[GB_MAX_DIMS], pstride[GB_MAX_DIMS], s = 1;
	for (int k = nd - 1; k >= 0; k--) {
		stride[k] = s;
		s *= x->dims[k];
	}
	for (int k = 0; k < nd; k++) {
		dims[k] = x->dims[perm[k]];
		pstride[k] = stride[perm[k]];
	}
	if (!val_new(it, x->kind, nd, dims, x->batched, out, pos))
		return false;
	int64_t m = vnumel(x);
	for (int64_t c = 0; c < vcopies(it, x); c++) {
		const float *src = x->b->d + c * m;
		float *dst = out->b->d + c * m;
		int64_t idx[GB_MAX_DIMS] = {0}, cur = 0;
		for (int64_t i = 0; i < m; i++) {
			dst[i] = src[cur];
			for (int k = nd - 1; k >= 0; k--) {
				cur += pstride[k];
				if (++idx[k] < dims[k])
					break;
				cur -= pstride[k] * idx[k];
				idx[k] = 0;
			}
		}
	}
	return true;
}

/* ---- reductions and friends along one axis ----------------------------------------------- */

typedef enum red_op { RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_ARGMAX } red_op;

/* axis < 0: over all elements. */
static bool reduce(interp *it, red_op op, const val *x, int axis, val *out, gb_ast_pos pos)
{
	int64_t outer, len, inner;
	int ndim = 0;
	int64_t dims[GB_MAX_DIMS];
	if (axis < 0) {
		outer = 1;
		len = vnumel(x);
		inner = 1;
	} else {
		outer = gb_lang_numel(axis, x->dims);
		len = x->dims[axis];
		inner = gb_lang_numel(x->ndim - axis - 1, x->dims + axis + 1);
		for (int k = 0; k < x->ndim; k++)
			if (k != axis)
				dims[ndim++] = x->dims[k];
	}
	if (!val_new(it, V_F32, ndim, dims, x->batched, out, pos))
		return false;
	int64_t copies = vcopies(it, x);
	for (int64_t o = 0; o < copies * outer; o++) {
		const float *src = x->b->d + o * len * inner;
		float *dst = out->b->d + o * inner;
		for (int64_t j = 0; j < inner; j++) {
			float acc = src[j];
			int64_t best = 0;
			for (int64_t i = 1; i < len; i++) {
				float y = src[i * inner + j];
				switch (op) {
				case RED_SUM:
				case RED_MEAN: acc += y; break;
				case RED_MAX: acc = max2(acc, y); break;
				case RED_MIN: acc = min2(acc, y); break;
				case RED_ARGMAX:
					if (y > acc) {
						acc = y;
						best = i;
					}
					break;
				}
			}
			if (op == RED_MEAN)
				acc /= (float)len;
			if (op == RED_ARGMAX)
				acc = (float)best;
			dst[j] = acc;
		}
	}
	return true;
}

/* Softmax, or log-softmax when is_log, of x along axis, in place: the
 * maximum subtracted and the sum of exponentials kept in double, as the
 * engine does (log-softmax near 0 needs the sum to better than float's
 * 1e-7); log-softmax is (x - max) - log(sum), never log of a quotient. */
static bool softmax(interp *it, val *x, int axis, bool is_log, gb_ast_pos pos)
{
	if (!val_own(it, x, pos))
		return false;
	int64_t outer = gb_lang_numel(axis, x->dims) * vcopies(it, x), len = x->dims[axis];
	int64_t inner = gb_lang_numel(x->ndim - axis - 1, x->dims + axis + 1);
	for (int64_t o = 0; o < outer; o++) {
		float *p = x->b->d + o * len * inner;
		for (int64_t j = 0; j < inner; j++) {
			float mx = p[j];
			for (int64_t i = 1; i < len; i++)
				mx = max2(mx, p[i * inner + j]);
			double s = 0;
			for (int64_t i = 0; i < len; i++)
				s += expf(p[i * inner + j] - mx);
			float logsum = (float)log(s), inv = (float)(1.0 / s);
			for (int64_t i = 0; i < len; i++) {
				float d = p[i * inner + j] - mx;
				p[i * inner + j] = is_log ? d - logsum : expf(d) * inv;
			}
		}
	}
	return true;
}

static int cmp_up(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

static bool sort_last(interp *it, val *x, bool descending, gb_ast_pos pos)
{
	if (!val_own(it, x, pos))
		return false;
	int64_t len = x->dims[x->ndim - 1], rows = vnumel(x) * vcopies(it, x) / len;
	for (int64_t r = 0; r < rows; r++) {
		float *p = x->b->d + r * len;
		qsort(p, (size_t)len, sizeof(float), cmp_up);
		if (descending)
			for (int64_t i = 0, j = len - 1; i < j; i++, j--) {
				float t = p[i];
				p[i] = p[j];
				p[j] = t;
			}
	}
	return true;
}

/* The median of an odd number of broadcast arguments (f32 or bool). */
static bool median(interp *it, val *xs, int n, val *out, gb_ast_pos pos)
{
	int ndim = xs[0].ndim;
	int64_t dims[GB_MAX_DIMS];
	memcpy(dims, xs[0].dims, sizeof dims);
	bool batched = false;
	for (int i = 0; i < n; i++) {
		val probe = xs[i];
		probe.ndim = ndim;
		memcpy(probe.dims, dims, sizeof dims);
		if (!bcast_shape(it, &xs[i], &probe, &ndim, dims, pos))
			return false;
		batched |= xs[i].batched;
	}
	if (!val_new(it, xs[0].kind, ndim, dims, batched, out, pos))
		return false;
	int64_t m = vnumel(out);
	int64_t **offs = calloc((size_t)n, sizeof *offs);
	float *tmp = malloc(sizeof(float) * (size_t)n);
	bool ok = offs && tmp;
	for (int i = 0; ok && i < n; i++)
		ok = (offs[i] = gb_lang_bcast_offsets(xs[i].ndim, xs[i].dims, ndim, dims, m)) != NULL;
	if (ok)
		for (int64_t c = 0; c < vcopies(it, out); c++)
			for (int64_t j = 0; j < m; j++) {
				for (int i = 0; i < n; i++)
					tmp[i] = xs[i].b->d[(xs[i].batched ? c * vnumel(&xs[i]) : 0) + offs[i][j]];
				qsort(tmp, (size_t)n, sizeof(float), cmp_up);
				out->b->d[c * m + j] = tmp[n / 2];
			}
	for (int i = 0; offs && i < n; i++)
		free(offs[i]);
	free(offs);
	free(tmp);
	if (!ok) {
		val_drop(out);
		return nomem_at(it, pos);
	}
	return true;
}

static bool where3(interp *it, const val *cond, const val *a, const val *b, val *out, gb_ast_pos pos)
{
	int ndim = 0;
	int64_t dims[GB_MAX_DIMS];
	val ab;
	memset(&ab, 0, sizeof ab);
	if (!bcast_shape(it, a, b, &ndim, ab.dims, pos))
		return false;
	ab.ndim = ndim;
	if (!bcast_shape(it, &ab, cond, &ndim, dims, pos))
		return false;
	if (!val_new(it, a->kind, ndim, dims, cond->batched || a->batched || b->batched, out, pos))
		return false;
	int64_t m = vnumel(out);
	int64_t *ic = gb_lang_bcast_offsets(cond->ndim, cond->dims, ndim, dims, m);
	int64_t *ia = gb_lang_bcast_offsets(a->ndim, a->dims, ndim, dims, m);
	int64_t *ib = gb_lang_bcast_offsets(b->ndim, b->dims, ndim, dims, m);
	if (!ic || !ia || !ib) {
		free(ic);
		free(ia);
		free(ib);
		val_drop(out);
		return nomem_at(it, pos);
	}
	for (int64_t c = 0; c < vcopies(it, out); c++) {
		const float *pc = cond->b->d + (cond->batched ? c * vnumel(cond) : 0);
		const float *pa = a->b->d + (a->batched ? c * vnumel(a) : 0);
		const float *pb = b->b->d + (b->batched ? c * vnumel(b) : 0);
		float *po = out->b->d + c * m;
		for (int64_t i = 0; i < m; i++)
			po[i] = pc[ic[i]] != 0 ? pa[ia[i]] : pb[ib[i]];
	}
	free(ic);
	free(ia);
	free(ib);
	return true;
}

/* ---- matmul, dense, convolution, pooling ---------------------------------------------------- */

/* NumPy matmul. With b_t, b's last two axes are stored transposed (dense's
 * weight [N, K] used as [K, N]). */
static bool matmul(interp *it, const val *a, const val *b, bool b_t, val *out, gb_ast_pos pos)
{
	if (a->ndim < 1 || b->ndim < 1)
		return fail_at(it, pos, "matmul needs arrays of rank 1 or more");
	/* Promoted shapes. */
	int64_t ad[GB_MAX_DIMS + 1], bd[GB_MAX_DIMS + 1];
	int an = a->ndim, bn = b->ndim;
	if (an == 1) {
		ad[0] = 1;
		ad[1] = a->dims[0];
		an = 2;
	} else {
		memcpy(ad, a->dims, sizeof(int64_t) * (size_t)an);
	}
	if (bn == 1) {
		bd[0] = b->dims[0];
		bd[1] = 1;
		bn = 2;
	} else {
		memcpy(bd, b->dims, sizeof(int64_t) * (size_t)bn);
		if (b_t) {
			int64_t t = bd[bn - 1];
			bd[bn - 1] = bd[bn - 2];
			bd[bn - 2] = t;
		}
	}
	int64_t M = ad[an - 2], K = ad[an - 1], P = bd[bn - 1];
	if (bd[bn - 2] != K)
		return fail_at(it, pos, "matmul: the inner sizes differ");
	/* Batch axes, with the program's batch as an extra leading one. */
	int nb = (an > bn ? an : bn) - 2;
	int64_t obd[GB_MAX_DIMS + 1], sa[GB_MAX_DIMS + 1], sb[GB_MAX_DIMS + 1];
	obd[0] = (a->batched || b->batched) ? it->N : 1;
	sa[0] = a->batched ? M * K * gb_lang_numel(an - 2, ad) : 0;
	sb[0] = b->batched ? K * P * gb_lang_numel(bn - 2, bd) : 0;
	int64_t s_a = M * K, s_b = K * P;
	for (int k = nb - 1; k >= 0; k--) {
		int ka = an - 2 - nb + k, kb = bn - 2 - nb + k;
		int64_t da = ka >= 0 ? ad[ka] : 1, db = kb >= 0 ? bd[kb] : 1;
		if (da != db && da != 1 && db != 1)
			return fail_at(it, pos, "matmul: the batch axes do not broadcast");
		obd[k + 1] = da == 1 ? db : da;
		sa[k + 1] = da == 1 ? 0 : s_a;
		sb[k + 1] = db == 1 ? 0 : s_b;
		s_a *= da;
		s_b *= db;
	}
	/* Result shape without the promoted axes. */
	int64_t rd[GB_MAX_DIMS];
	int rn = 0;
	for (int k = 0; k < nb; k++)
		rd[rn++] = obd[k + 1];
	if (a->ndim > 1)
		rd[rn++] = M;
	if (b->ndim > 1)
		rd[rn++] = P;
	if (!val_new(it, V_F32, rn, rd, a->batched || b->batched, out, pos))
		return false;
	int64_t total = gb_lang_numel(nb + 1, obd);
	bool b_shared = true; /* one b for every product: fold a's batch into rows */
	for (int k = 0; k <= nb; k++)
		if (sb[k] != 0 && obd[k] != 1)
			b_shared = false;
	bool a_full = true; /* a is not broadcast along any batch axis */
	for (int k = 0; k <= nb; k++)
		if (sa[k] == 0 && obd[k] != 1)
			a_full = false;
	int ldb = b_t ? (int)K : (int)P;
	if (b_shared && a_full) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, b_t ? CblasTrans : CblasNoTrans, (int)(M * total), (int)P, (int)K,
		            1.0f, a->b->d, (int)K, b->b->d, ldb, 0.0f, out->b->d, (int)P);
		return true;
	}
	int64_t idx[GB_MAX_DIMS + 1] = {0};
	for (int64_t t = 0; t < total; t++) {
		int64_t oa = 0, ob = 0;
		for (int k = 0; k <= nb; k++) {
			oa += idx[k] * sa[k];
			ob += idx[k] * sb[k];
		}
		cblas_sgemm(CblasRowMajor, CblasNoTrans, b_t ? CblasTrans : CblasNoTrans, (int)M, (int)P, (int)K, 1.0f,
		            a->b->d + oa, (int)K, b->b->d + ob, ldb, 0.0f, out->b->d + t * M * P, (int)P);
		for (int k = nb; k >= 0; k--) {
			if (++idx[k] < obd[k])
				break;
			idx[k] = 0;
		}
	}
	return true;
}

static bool conv2d(interp *it, const val *x, const val *k, const val *bias, const int64_t *stride,
                   const int64_t *pad, const int64_t *dil, int64_t groups, val *out, gb_ast_pos pos)
{
	if (x->ndim != 3 || k->ndim != 4 || groups < 1 || x->dims[0] % groups || k->dims[0] % groups ||
	    k->dims[1] != x->dims[0] / groups || (bias && (bias->ndim != 1 || bias->dims[0] != k->dims[0])))
		return fail_at(it, pos, "conv2d: shapes do not fit");
	int64_t C = x->dims[0], H = x->dims[1], W = x->dims[2];
	int64_t O = k->dims[0], CG = k->dims[1], KH = k->dims[2], KW = k->dims[3];
	int64_t OH = (H + 2 * pad[0] - dil[0] * (KH - 1) - 1) / stride[0] + 1;
	int64_t OW = (W + 2 * pad[1] - dil[1] * (KW - 1) - 1) / stride[1] + 1;
	if (H + 2 * pad[0] - dil[0] * (KH - 1) - 1 < 0 || W + 2 * pad[1] - dil[1] * (KW - 1) - 1 < 0)
		return fail_at(it, pos, "conv2d: the kernel does not fit in the image");
	int64_t od[3] = {O, OH, OW};
	bool batched = x->batched || k->batched || (bias && bias->batched);
	if (!val_new(it, V_F32, 3, od, batched, out, pos))
		return false;
	int64_t OG = O / groups;
	for (int64_t n = 0; n < vcopies(it, out); n++) {
		const float *xs = x->b->d + (x->batched ? n * C * H * W : 0);
		const float *ks = k->b->d + (k->batched ? n * vnumel(k) : 0);
		const float *bs = bias ? bias->b->d + (bias->batched ? n * O : 0) : NULL;
		for (int64_t o = 0; o < O; o++) {
			float *y = out->b->d + (n * O + o) * OH * OW;
			for (int64_t i = 0; i < OH * OW; i++)
				y[i] = bs ? bs[o] : 0.0f;
			int64_t g = o / OG;
			for (int64_t c = 0; c < CG; c++) {
				const float *plane = xs + (g * CG + c) * H * W;
				for (int64_t p = 0; p < KH; p++)
					for (int64_t q = 0; q < KW; q++) {
						float w = ks[((o * CG + c) * KH + p) * KW + q];
						for (int64_t i = 0; i < OH; i++) {
							int64_t row = i * stride[0] + p * dil[0] - pad[0];
							if (row < 0 || row >= H)
								continue;
							for (int64_t j = 0; j < OW; j++) {
								int64_t col = j * stride[1] + q * dil[1] - pad[1];
								if (col >= 0 && col < W)
									y[i * OW + j] += w * plane[row * W + col];
							}
						}
					}
			}
		}
	}
	return true;
}

static bool pool2d(interp *it, bool is_max, const val *x, const int64_t *size, const int64_t *stride,
                   const int64_t *pad, val *out, gb_ast_pos pos)
{
	if (x->ndim != 3 || pad[0] >= size[0] || pad[1] >= size[1] || x->dims[1] + 2 * pad[0] < size[0] ||
	    x->dims[2] + 2 * pad[1] < size[1])
		return fail_at(it, pos, "pooling: shapes do not fit");
	int64_t C = x->dims[0], H = x->dims[1], W = x->dims[2];
	int64_t OH = (H + 2 * pad[0] - size[0]) / stride[0] + 1, OW = (W + 2 * pad[1] - size[1]) / stride[1] + 1;
	int64_t od[3] = {C, OH, OW};
	if (!val_new(it, V_F32, 3, od, x->batched, out, pos))
		return false;
	for (int64_t nc = 0; nc < vcopies(it, x) * C; nc++) {
		const float *plane = x->b->d + nc * H * W;
		float *y = out->b->d + nc * OH * OW;
		for (int64_t i = 0; i < OH; i++)
			for (int64_t j = 0; j < OW; j++) {
				int64_t r0 = i * stride[0] - pad[0], c0 = j * stride[1] - pad[1];
				float acc = 0;
				int64_t cnt = 0;
				for (int64_t r = r0 < 0 ? 0 : r0; r < r0 + size[0] && r < H; r++)
					for (int64_t c = c0 < 0 ? 0 : c0; c < c0 + size[1] && c < W; c++) {
						float v = plane[r * W + c];
						acc = cnt == 0 ? v : is_max ? max2(acc, v) : acc + v;
						cnt++;
					}
				/* Every window holds at least one element inside x (padding < window). */
				y[i * OW + j] = is_max || cnt == 0 ? acc : acc / (float)cnt;
			}
	}
	return true;
}

/* ---- expressions --------------------------------------------------------------------------- */

static bool eval(interp *it, const gb_ast_expr *e, val *out);

static bool eval_int(interp *it, const gb_ast_expr *e, int64_t *out)
{
	*out = 0;
	val v;
	if (!eval(it, e, &v))
		return false;
	if (v.kind != V_INT) {
		val_drop(&v);
		return fail_at(it, e->pos, "expected a compile-time integer");
	}
	*out = v.ival;
	return true;
}

static bool eval_f32(interp *it, const gb_ast_expr *e, val *out, const char *what)
{
	if (!eval(it, e, out))
		return false;
	if (!want_f32(it, out, e->pos, what)) {
		val_drop(out);
		return false;
	}
	return true;
}

/* Arrays of either element type (ints become f32). */
static bool eval_array(interp *it, const gb_ast_expr *e, val *out)
{
	if (!eval(it, e, out))
		return false;
	if (!as_array(it, out, e->pos)) {
		val_drop(out);
		return false;
	}
	return true;
}

/* An int, or a constant 1-D list of integers (int list). */
static bool eval_ints(interp *it, const gb_ast_expr *e, int64_t *xs, int max, int *n)
{
	val v;
	if (!eval(it, e, &v))
		return false;
	if (v.kind == V_INT) {
		xs[0] = v.ival;
		*n = 1;
		return true;
	}
	bool ok = v.kind == V_F32 && !v.batched && v.ndim == 1 && v.dims[0] <= max;
	for (int64_t i = 0; ok && i < v.dims[0]; i++) {
		float f = v.b->d[i];
		ok = f == floorf(f) && fabsf(f) < 16777216.0f;
		xs[i] = (int64_t)f;
	}
	if (ok)
		*n = (int)v.dims[0];
	val_drop(&v);
	if (!ok)
		return fail_at(it, e->pos, "expected a list of at most %d integers", max);
	return true;
}

/* What eval_common.c calls back (gb_lang_env). */
static bool env_fail(void *self, gb_ast_pos pos, const char *msg)
{
	return fail_at(self, pos, "%s", msg);
}

static bool env_eval_int(void *self, const gb_ast_expr *e, int64_t *out)
{
	return eval_int(self, e, out);
}

static bool env_eval_ints(void *self, const gb_ast_expr *e, int64_t *xs, int max, int *n)
{
	return eval_ints(self, e, xs, max, n);
}

static bool eval_scalar(interp *it, const gb_ast_expr *e, float *out)
{
	val v;
	if (!eval_f32(it, e, &v, "the argument"))
		return false;
	bool ok = v.ndim == 0 && !v.batched;
	if (ok)
		*out = v.b->d[0];
	val_drop(&v);
	if (!ok)
		return fail_at(it, e->pos, "expected a constant scalar");
	return true;
}

static bool eval_binary(interp *it, const gb_ast_expr *e, val *out)
{
	gb_ast_op op = e->u.binary.op;
	val a, b;
	memset(&b, 0, sizeof b);
	if (!eval(it, e->u.binary.lhs, &a))
		return false;
	if (!eval(it, e->u.binary.rhs, &b)) {
		val_drop(&a);
		return false;
	}
	bool ok = true;
	if (a.kind == V_INT && b.kind == V_INT && op != GB_AST_DIV && op != GB_AST_MATMUL &&
	    !(op >= GB_AST_LT && op <= GB_AST_NE) && op != GB_AST_AND && op != GB_AST_OR) {
		int64_t r = 0;
		if (!gb_lang_int_arith(op, a.ival, b.ival, &r))
			return fail_at(it, e->pos, "integer '%s' fails (overflow or division by zero)", gb_ast_op_str(op));
		*out = int_val(r);
		return true;
	}
	if (a.kind == V_INT && b.kind == V_INT && op == GB_AST_DIV) {
		if (!scalar_f32(it, (float)((double)a.ival / (double)b.ival), out, e->pos))
			return false;
		return true;
	}
	if (!as_array(it, &a, e->pos) || !as_array(it, &b, e->pos)) {
		val_drop(&a);
		val_drop(&b);
		return false;
	}
	bool bools = a.kind == V_BOOL;
	if (a.kind != b.kind) {
		ok = fail_at(it, e->pos, "'%s' needs operands of one element type", gb_ast_op_str(op));
	} else if (bools && op != GB_AST_EQ && op != GB_AST_NE && op != GB_AST_AND && op != GB_AST_OR) {
		ok = fail_at(it, e->pos, "'%s' does not take bool operands", gb_ast_op_str(op));
	} else {
		ew_op ew = EW_ADD;
		switch (op) {
		case GB_AST_ADD: ew = EW_ADD; break;
		case GB_AST_SUB: ew = EW_SUB; break;
		case GB_AST_MUL: ew = EW_MUL; break;
		case GB_AST_DIV: ew = EW_DIV; break;
		case GB_AST_LT: ew = EW_LT; break;
		case GB_AST_LE: ew = EW_LE; break;
		case GB_AST_GT: ew = EW_GT; break;
		case GB_AST_GE: ew = EW_GE; break;
		case GB_AST_EQ: ew = EW_EQ; break;
		case GB_AST_NE: ew = EW_NE; break;
		case GB_AST_AND: ew = bools ? EW_BAND : EW_MIN; break;
		case GB_AST_OR: ew = bools ? EW_BOR : EW_MAX; break;
		case GB_AST_MATMUL: break;
		default: ok = fail_at(it, e->pos, "'%s' takes integers", gb_ast_op_str(op));
		}
		if (ok)
			ok = op == GB_AST_MATMUL ? matmul(it, &a, &b, false, out, e->pos) : ew_binary(it, ew, &a, &b, out, e->pos);
	}
	val_drop(&a);
	val_drop(&b);
	return ok;
}

/* Evaluates items into a new array of values (ints converted to f32). */
static bool eval_list(interp *it, const gb_ast_expr *const *xs, int n, val **out)
{
	val *vs = calloc((size_t)(n ? n : 1), sizeof *vs);
	if (!vs)
		return nomem_at(it, xs[0]->pos);
	for (int i = 0; i < n; i++)
		if (!eval_array(it, xs[i], &vs[i])) {
			for (int j = 0; j < i; j++)
				val_drop(&vs[j]);
			free(vs);
			return false;
		}
	*out = vs;
	return true;
}

static void free_list(val *vs, int n)
{
	for (int i = 0; vs && i < n; i++)
		val_drop(&vs[i]);
	free(vs);
}

static bool eval_prim(interp *it, const gb_ast_expr *e, const gb_prim *p, val *out)
{
	gb_prim_args ba;
	if (!gb_prim_bind(&it->env, e, p, false, &ba))
		return false;
	const gb_ast_expr *const *args = (const gb_ast_expr *const *)e->u.call.args;
	int n_args = e->u.call.n_args;
	gb_ast_pos pos = e->pos;
	val x, y, z;
	memset(&x, 0, sizeof x);
	memset(&y, 0, sizeof y);
	memset(&z, 0, sizeof z);
	bool ok = true;
	switch (p->id) {
	case GB_PRIM_RELU:
	case GB_PRIM_ABS:
	case GB_PRIM_SIGMOID:
	case GB_PRIM_TANH:
	case GB_PRIM_GELU: {
		static const un_op ops[] = {[GB_PRIM_RELU] = UN_RELU, [GB_PRIM_ABS] = UN_ABS, [GB_PRIM_SIGMOID] = UN_SIGMOID,
		                            [GB_PRIM_TANH] = UN_TANH, [GB_PRIM_GELU] = UN_GELU};
		if (!eval_f32(it, ba.param[0], &x, "the argument"))
			return false;
		ok = ew_unary(it, ops[p->id], &x, 0, 0, pos);
		break;
	}
	case GB_PRIM_FLOAT:
		if (!eval(it, ba.param[0], &x))
			return false;
		if (x.kind != V_BOOL)
			ok = fail_at(it, ba.param[0]->pos, "float converts bool");
		x.kind = V_F32;
		break;
	case GB_PRIM_CLAMP: {
		float lo, hi;
		if (!eval_scalar(it, ba.param[1], &lo) || !eval_scalar(it, ba.param[2], &hi))
			return false;
		if (!(lo <= hi))
			return fail_at(it, pos, "clamp needs lo <= hi");
		if (!eval_f32(it, ba.param[0], &x, "the argument"))
			return false;
		ok = ew_unary(it, UN_CLAMP, &x, lo, hi, pos);
		break;
	}
	case GB_PRIM_STEP: {
		if (!eval_f32(it, ba.param[0], &x, "the argument"))
			return false;
		if (ba.param[1])
			ok = eval_f32(it, ba.param[1], &y, "threshold");
		else
			ok = scalar_f32(it, 0.0f, &y, pos);
		if (!ok)
			break;
		if (ba.kw[0]) {
			float width;
			ok = eval_scalar(it, ba.kw[0], &width) && (width > 0 || fail_at(it, ba.kw[0]->pos, "width must be positive"));
			ok = ok && ew_fold(it, EW_SUB, &x, &y, pos) && scalar_f32(it, width, &z, pos) &&
			     ew_fold(it, EW_DIV, &x, &z, pos) && ew_unary(it, UN_RAMP, &x, 0, 0, pos);
		} else {
			ok = ew_fold(it, EW_STEP, &x, &y, pos);
			x.kind = V_F32;
		}
		break;
	}
	case GB_PRIM_MAX:
	case GB_PRIM_MIN:
		if (n_args >= 2) {
			if (!eval_f32(it, args[0], &x, "an argument"))
				return false;
			for (int i = 1; ok && i < n_args; i++) {
				ok = eval_f32(it, args[i], &y, "an argument") &&
				     ew_fold(it, p->id == GB_PRIM_MAX ? EW_MAX : EW_MIN, &x, &y, args[i]->pos);
				val_drop(&y);
			}
			break;
		}
		/* one argument: a reduction, like sum */
		/* fall through */
	case GB_PRIM_SUM:
	case GB_PRIM_MEAN:
	case GB_PRIM_ARGMAX: {
		if (!eval_f32(it, ba.param[0], &y, "the argument"))
			return false;
		int axis = -1;
		int64_t a;
		if (ba.kw[0])
			ok = eval_int(it, ba.kw[0], &a) && gb_lang_axis(&it->env, a, y.ndim, &axis, ba.kw[0]->pos);
		if (ok && p->id == GB_PRIM_ARGMAX && y.ndim == 0)
			ok = fail_at(it, ba.param[0]->pos, "argmax needs an array, not a scalar");
		red_op r = p->id == GB_PRIM_MAX ? RED_MAX : p->id == GB_PRIM_MIN ? RED_MIN : p->id == GB_PRIM_SUM ? RED_SUM
		           : p->id == GB_PRIM_MEAN ? RED_MEAN : RED_ARGMAX;
		if (ok)
			ok = reduce(it, r, &y, axis, &x, pos);
		val_drop(&y);
		if (!ok)
			return false;
		break;
	}
	case GB_PRIM_SOFTMAX:
	case GB_PRIM_LOG_SOFTMAX: {
		if (!eval_f32(it, ba.param[0], &x, "the argument"))
			return false;
		int axis = 0;
		int64_t a = -1;
		if (x.ndim == 0)
			ok = fail_at(it, ba.param[0]->pos, "%s needs an array, not a scalar", p->name);
		ok = ok && (!ba.kw[0] || eval_int(it, ba.kw[0], &a)) && gb_lang_axis(&it->env, a, x.ndim, &axis, pos) &&
		     softmax(it, &x, axis, p->id == GB_PRIM_LOG_SOFTMAX, pos);
		break;
	}
	case GB_PRIM_SORT: {
		if (!eval_f32(it, ba.param[0], &x, "the argument"))
			return false;
		bool desc = ba.kw[0] && ba.kw[0]->kind == GB_AST_BOOL_LIT && ba.kw[0]->u.bval;
		if (ba.kw[0] && ba.kw[0]->kind != GB_AST_BOOL_LIT)
			ok = fail_at(it, ba.kw[0]->pos, "descending must be True or False");
		if (ok && x.ndim == 0)
			ok = fail_at(it, ba.param[0]->pos, "sort needs an array, not a scalar");
		ok = ok && sort_last(it, &x, desc, pos);
		break;
	}
	case GB_PRIM_XOR:
	case GB_PRIM_MAJORITY: {
		val *vs;
		if (!eval_list(it, args, n_args, &vs))
			return false;
		for (int i = 1; ok && i < n_args; i++)
			if (vs[i].kind != vs[0].kind)
				ok = fail_at(it, args[i]->pos, "%s needs arguments of one element type", p->name);
		if (ok && p->id == GB_PRIM_MAJORITY) {
			ok = n_args % 2 == 1 || fail_at(it, pos, "majority takes an odd number of arguments");
			ok = ok && median(it, vs, n_args, &x, pos);
		} else if (ok) {
			x = val_ref(&vs[0]);
			for (int i = 1; ok && i < n_args; i++)
				ok = ew_fold(it, vs[0].kind == V_BOOL ? EW_BXOR : EW_FXOR, &x, &vs[i], args[i]->pos);
			if (!ok)
				val_drop(&x);
		}
		free_list(vs, n_args);
		if (!ok)
			return false;
		break;
	}
	case GB_PRIM_WHERE: {
		val *vs;
		if (!eval_list(it, (const gb_ast_expr *const *)ba.param, 3, &vs))
			return false;
		if (vs[0].kind != V_BOOL)
			ok = fail_at(it, ba.param[0]->pos, "the condition of where must be bool");
		else if (vs[1].kind != vs[2].kind)
			ok = fail_at(it, pos, "where needs a and b of one element type");
		ok = ok && where3(it, &vs[0], &vs[1], &vs[2], &x, pos);
		free_list(vs, 3);
		if (!ok)
			return false;
		break;
	}
	case GB_PRIM_DENSE: {
		if (!eval_f32(it, ba.param[0], &y, "the input"))
			return false;
		if (!eval_f32(it, ba.param[1], &z, "the weight")) {
			val_drop(&y);
			return false;
		}
		if ((y.ndim != 1 && y.ndim != 2) || z.ndim != 2 || z.dims[1] != y.dims[y.ndim - 1])
			ok = fail_at(it, pos, "dense: the input and the weight do not fit");
		ok = ok && matmul(it, &y, &z, true, &x, pos);
		val_drop(&y);
		val_drop(&z);
		if (!ok)
			return false;
		if (ba.param[2]) {
			ok = eval_f32(it, ba.param[2], &y, "the bias");
			if (ok && (y.ndim != 1 || y.dims[0] != x.dims[x.ndim - 1]))
				ok = fail_at(it, ba.param[2]->pos, "dense: the bias does not fit");
			ok = ok && ew_fold(it, EW_ADD, &x, &y, pos);
		}
		break;
	}
	case GB_PRIM_MATMUL:
		if (!eval_f32(it, ba.param[0], &y, "the first argument"))
			return false;
		ok = eval_f32(it, ba.param[1], &z, "the second argument") && matmul(it, &y, &z, false, &x, pos);
		val_drop(&y);
		val_drop(&z);
		if (!ok)
			return false;
		break;
	case GB_PRIM_TRANSPOSE: {
		if (!eval_array(it, ba.param[0], &y))
			return false;
		int64_t perm[GB_MAX_DIMS];
		ok = gb_lang_perm(&it->env, ba.param[1], y.ndim, perm);
		ok = ok && transpose(it, &y, perm, &x, pos);
		val_drop(&y);
		if (!ok)
			return false;
		break;
	}
	case GB_PRIM_CONV2D: {
		int64_t stride[2], pad[2], dil[2], groups;
		if (!gb_lang_conv_args(&it->env, &ba, stride, pad, dil, &groups))
			return false;
		if (!eval_f32(it, ba.param[0], &y, "the image"))
			return false;
		val bias;
		memset(&bias, 0, sizeof bias);
		ok = eval_f32(it, ba.param[1], &z, "the kernel") &&
		     (!ba.param[2] || eval_f32(it, ba.param[2], &bias, "the bias")) &&
		     conv2d(it, &y, &z, ba.param[2] ? &bias : NULL, stride, pad, dil, groups, &x, pos);
		val_drop(&y);
		val_drop(&z);
		val_drop(&bias);
		if (!ok)
			return false;
		break;
	}
	case GB_PRIM_MAXPOOL2D:
	case GB_PRIM_AVGPOOL2D: {
		int64_t size[2], stride[2], pad[2];
		if (!gb_lang_pool_args(&it->env, &ba, size, stride, pad))
			return false;
		if (!eval_f32(it, ba.param[0], &y, "the image"))
			return false;
		ok = pool2d(it, p->id == GB_PRIM_MAXPOOL2D, &y, size, stride, pad, &x, pos);
		val_drop(&y);
		if (!ok)
			return false;
		break;
	}
	case GB_PRIM_FLATTEN:
		if (!eval_array(it, ba.param[0], &x))
			return false;
		x.dims[0] = vnumel(&x);
		x.ndim = 1;
		break;
	case GB_PRIM_RESHAPE: {
		int64_t shape[GB_MAX_DIMS];
		int n;
		if (!eval_ints(it, ba.param[1], shape, GB_MAX_DIMS, &n))
			return false;
		if (!eval_array(it, ba.param[0], &x))
			return false;
		int64_t total = vnumel(&x), known = 1;
		int infer = -1;
		for (int i = 0; ok && i < n; i++) {
			if (shape[i] == -1 && infer < 0)
				infer = i;
			else if (shape[i] < 1 || !gb_mul_i64(known, shape[i], &known) || known > total)
				ok = fail_at(it, ba.param[1]->pos, "cannot reshape %lld elements to this shape", (long long)total);
		}
		if (ok && infer >= 0)
			shape[infer] = total / known;
		if (ok && gb_lang_numel(n, shape) != total)
			ok = fail_at(it, ba.param[1]->pos, "cannot reshape %lld elements to this shape", (long long)total);
		if (ok) {
			x.ndim = n;
			memcpy(x.dims, shape, sizeof(int64_t) * (size_t)n);
		}
		break;
	}
	case GB_PRIM_CONCAT: {
		int64_t axis = 0;
		if (ba.kw[0] && !eval_int(it, ba.kw[0], &axis))
			return false;
		val *vs;
		if (!eval_list(it, args, n_args, &vs))
			return false;
		ok = concat(it, vs, n_args, axis, &x, pos);
		free_list(vs, n_args);
		if (!ok)
			return false;
		break;
	}
	case GB_PRIM_COUNT: return fail_at(it, pos, "%s is not supported by the interpreter", p->name);
	}
	val_drop(&y);
	val_drop(&z);
	if (!ok) {
		val_drop(&x);
		return false;
	}
	*out = x;
	return true;
}

static bool call_def(interp *it, const gb_ast_expr *call, const gb_ast_stmt *d, val *results, int n_results);

static const gb_ast_stmt *find_def(interp *it, const char *name)
{
	for (int i = 0; i < it->n_defs; i++)
		if (strcmp(it->defs[i]->u.def.name, name) == 0)
			return it->defs[i];
	return NULL;
}

static bool eval_call(interp *it, const gb_ast_expr *e, val *out)
{
	const gb_ast_stmt *d = find_def(it, e->u.call.callee);
	if (d) {
		if (d->u.def.n_returns != 1)
			return fail_at(it, e->pos, "def %s returns %d values; take them apart with a tuple assignment",
			               d->u.def.name, d->u.def.n_returns);
		return call_def(it, e, d, out, 1);
	}
	const gb_prim *p = gb_prim_find(e->u.call.callee);
	if (!p)
		return fail_at(it, e->pos, "unknown function '%s'", e->u.call.callee);
	return eval_prim(it, e, p, out);
}

static bool stack_ints_as_f32(interp *it, val *vs, int64_t n, gb_ast_pos pos)
{
	for (int64_t i = 0; i < n; i++)
		if (!as_array(it, &vs[i], pos))
			return false;
	return true;
}

static bool eval_comprehension(interp *it, const gb_ast_expr *e, val *out)
{
	int64_t start, step, count;
	if (!gb_lang_range(&it->env, &e->u.comp.range, &start, &step, &count))
		return false;
	if (count < 1)
		return fail_at(it, e->u.comp.range.pos, "the comprehension's range is empty");
	val *vs = calloc((size_t)count, sizeof *vs);
	if (!vs)
		return nomem_at(it, e->pos);
	bool ok = true;
	int64_t done = 0;
	for (; ok && done < count; done++) {
		val iv = int_val(start + done * step);
		int mark = it->n_binds;
		ok = push_binding(it, e->u.comp.var, &iv, e->pos) != NULL && eval(it, e->u.comp.body, &vs[done]);
		pop_bindings(it, mark);
		if (!ok)
			break;
	}
	ok = ok && stack_ints_as_f32(it, vs, count, e->pos) && stack(it, vs, count, out, e->pos);
	free_list(vs, (int)count); /* entries not reached are zeroed */
	return ok;
}

static bool eval_name(interp *it, const gb_ast_expr *e, val *out)
{
	binding *b = lookup(it, e->u.name);
	if (!b)
		return fail_at(it, e->pos, "unknown name '%s'", e->u.name);
	*out = val_ref(&b->v);
	return true;
}

static bool eval_kind(interp *it, const gb_ast_expr *e, val *out);

/* Only names and array literals carry the int-list mark. */
static bool eval(interp *it, const gb_ast_expr *e, val *out)
{
	if (!eval_kind(it, e, out))
		return false;
	if (e->kind != GB_AST_NAME && e->kind != GB_AST_ARRAY)
		out->is_list = false;
	return true;
}

static bool eval_kind(interp *it, const gb_ast_expr *e, val *out)
{
	memset(out, 0, sizeof *out);
	switch (e->kind) {
	case GB_AST_NAME: return eval_name(it, e, out);
	case GB_AST_INT: *out = int_val(e->u.ival); return true;
	case GB_AST_FLOAT: return scalar_f32(it, e->u.fval, out, e->pos);
	case GB_AST_BOOL_LIT:
		if (!scalar_f32(it, e->u.bval ? 1.0f : 0.0f, out, e->pos))
			return false;
		out->kind = V_BOOL;
		return true;
	case GB_AST_UNARY:
		if (!eval(it, e->u.unary.operand, out))
			return false;
		if (out->kind == V_INT && e->u.unary.op == GB_AST_NEG) {
			if (out->ival == INT64_MIN)
				return fail_at(it, e->pos, "integer overflow in '-'");
			out->ival = -out->ival;
			return true;
		}
		if (!as_array(it, out, e->pos))
			return false;
		if (e->u.unary.op == GB_AST_NOT) {
			if (!ew_unary(it, out->kind == V_BOOL ? UN_NOT_B : UN_NOT_F, out, 0, 0, e->pos)) {
				val_drop(out);
				return false;
			}
			return true;
		}
		if (out->kind != V_F32 || !ew_unary(it, UN_NEG, out, 0, 0, e->pos)) {
			val_drop(out);
			return it->err->msg[0] ? false : fail_at(it, e->pos, "'-' takes f32");
		}
		return true;
	case GB_AST_BINARY: return eval_binary(it, e, out);
	case GB_AST_CALL: return eval_call(it, e, out);
	case GB_AST_INDEX: {
		val base;
		if (!eval(it, e->u.index.base, &base))
			return false;
		region r;
		bool ok = make_region(it, &base, e->u.index.subs, e->u.index.n_subs, &r, e->pos) && gather(it, &base, &r, out, e->pos);
		if (ok && base.is_list && out->ndim == 0) { /* an element of an int list is that int */
			int64_t v = (int64_t)out->b->d[0];
			val_drop(out);
			*out = int_val(v);
		}
		val_drop(&base);
		return ok;
	}
	case GB_AST_ARRAY: {
		int n = e->u.array.n_items;
		val *vs = calloc((size_t)n, sizeof *vs);
		if (!vs)
			return nomem_at(it, e->pos);
		bool ok = true, ints = n <= GB_MAX_DIMS;
		for (int i = 0; ok && i < n; i++) {
			ok = eval(it, e->u.array.items[i], &vs[i]);
			ints = ints && vs[i].kind == V_INT;
		}
		ok = ok && stack_ints_as_f32(it, vs, n, e->pos) && stack(it, vs, n, out, e->pos);
		free_list(vs, n); /* entries not reached are zeroed */
		if (ok)
			out->is_list = ints;
		return ok;
	}
	case GB_AST_COMPREHENSION: return eval_comprehension(it, e, out);
	case GB_AST_WEIGHTS: return fail_at(it, e->pos, "weights[...] may only be the whole value of a param");
	}
	return fail_at(it, e->pos, "unknown expression");
}

/* ---- def calls ------------------------------------------------------------------------------ */

static bool exec_block(interp *it, const gb_ast_block *blk);

static bool call_def(interp *it, const gb_ast_expr *call, const gb_ast_stmt *d, val *results, int n_results)
{
	int n = d->u.def.n_params;
	if (!gb_lang_def_call_ok(&it->env, call, d, n_results, it->level))
		return false;
	val *args;
	if (n && !eval_list(it, (const gb_ast_expr *const *)call->u.call.args, n, &args))
		return false;
	int saved_frame = it->frame, saved_level = it->level;
	int mark = it->n_binds;
	it->frame = it->n_binds;
	it->level++;
	bool ok = true;
	for (int i = 0; ok && i < n; i++) {
		const gb_ast_param_decl *pd = &d->u.def.params[i];
		const gb_ast_type *at = &pd->type;
		vkind want = at->elem == GB_AST_BOOL ? V_BOOL : V_F32;
		ok = args[i].kind == want && args[i].ndim == at->ndim;
		for (int k = 0; ok && k < at->ndim; k++) {
			int64_t have = args[i].dims[k];
			if (!at->dims[k].name) {
				ok = have == at->dims[k].size;
				continue;
			}
			binding *sv = lookup(it, at->dims[k].name);
			if (sv && sv - it->binds >= it->frame) {
				ok = sv->v.kind == V_INT && sv->v.ival == have;
			} else {
				val iv = int_val(have);
				ok = push_binding(it, at->dims[k].name, &iv, at->dims[k].pos) != NULL;
				if (!ok)
					break;
			}
		}
		if (!ok) {
			if (!it->err->msg[0])
				fail_at(it, call->u.call.args[i]->pos, "def %s: argument '%s' does not have the parameter's type",
				        d->u.def.name, pd->name);
			break;
		}
		ok = push_binding(it, pd->name, &args[i], pd->pos) != NULL;
	}
	if (n)
		free_list(args, n);
	const gb_ast_block *body = &d->u.def.body;
	const gb_ast_stmt *ret = ok ? gb_lang_def_return(&it->env, d, n_results) : NULL;
	ok = ok && ret;
	for (int i = 0; ok && i < body->n_stmts - 1; i++) {
		gb_ast_block one = {(gb_ast_stmt **)&body->stmts[i], 1, NULL, 0};
		ok = exec_block(it, &one);
	}
	int got = 0;
	for (; ok && got < n_results; got++) {
		ok = eval(it, ret->u.ret.values[got], &results[got]);
		if (!ok)
			break;
		if (results[got].kind == V_INT && d->u.def.returns[got].elem == GB_AST_F32)
			ok = as_array(it, &results[got], ret->u.ret.values[got]->pos);
		if (!ok) {
			got++;
			break;
		}
	}
	if (!ok)
		for (int i = 0; i < got; i++)
			val_drop(&results[i]);
	pop_bindings(it, mark);
	it->frame = saved_frame;
	it->level = saved_level;
	return ok;
}

/* ---- statements ----------------------------------------------------------------------------- */

static bool resolve_dims(interp *it, const gb_ast_type *t, int64_t *dims)
{
	for (int k = 0; k < t->ndim; k++) {
		if (!t->dims[k].name) {
			dims[k] = t->dims[k].size;
			continue;
		}
		binding *b = lookup(it, t->dims[k].name);
		if (!b || b->v.kind != V_INT)
			return fail_at(it, t->dims[k].pos, "unknown shape variable '%s'", t->dims[k].name);
		dims[k] = b->v.ival;
	}
	return true;
}

static bool load_weight(interp *it, const gb_ast_stmt *s, val *out)
{
	const gb_ast_expr *e = s->u.decl.value;
	if (!it->weights_stmt)
		return fail_at(it, e->pos, "weights[\"%s\"] needs a weights \"FILE.safetensors\" line", e->u.weights_key);
	if (!it->weights) {
		const char *rel = it->weights_stmt->u.weights_path;
		size_t len = strlen(it->dir) + strlen(rel) + 2;
		char *path = malloc(len);
		if (!path)
			return nomem_at(it, e->pos);
		if (rel[0] == '/' || !it->dir[0])
			snprintf(path, len, "%s", rel);
		else
			snprintf(path, len, "%s/%s", it->dir, rel);
		gb_error e2 = {0};
		gb_status st = gb_safetensors_load(path, &it->weights, &e2);
		free(path);
		if (st != GB_OK) {
			gb_fail(it->err, st == GB_STATUS_NOMEM ? st : GB_STATUS_BAD_FILE, "%s:%d:%d: cannot read the weights: %s",
			        it->file, it->weights_stmt->pos.line, it->weights_stmt->pos.col, e2.msg);
			return false;
		}
	}
	const gb_tensor *t = gb_tensor_map_get(it->weights, e->u.weights_key);
	if (!t)
		return fail_at(it, e->pos, "the weights file \"%s\" has no tensor \"%s\"", it->weights_stmt->u.weights_path,
		               e->u.weights_key);
	const gb_ast_type *ty = s->u.decl.type;
	vkind kind = ty->elem == GB_AST_BOOL ? V_BOOL : V_F32;
	gb_dtype want = kind == V_BOOL ? GB_DTYPE_BOOL : GB_DTYPE_F32;
	int64_t dims[GB_MAX_DIMS];
	if (!resolve_dims(it, ty, dims))
		return false;
	bool same = t->ndim == ty->ndim;
	for (int k = 0; same && k < t->ndim; k++)
		same = t->dims[k] == dims[k];
	char have[128];
	if (t->dtype != want || !same)
		return fail_at(it, e->pos, "tensor \"%s\" is %s %s, the param is %s%s", e->u.weights_key,
		               gb_dtype_name(t->dtype), gb_shape_str(t->ndim, t->dims, have, sizeof have),
		               kind == V_BOOL ? "bool" : "f32", ty->ndim ? "" : " (a scalar)");
	if (!val_new(it, kind, ty->ndim, dims, false, out, e->pos))
		return false;
	int64_t m = vnumel(out);
	if (kind == V_F32) {
		memcpy(out->b->d, t->data, sizeof(float) * (size_t)m);
	} else {
		const uint8_t *src = t->data;
		for (int64_t i = 0; i < m; i++)
			out->b->d[i] = src[i] ? 1.0f : 0.0f;
	}
	return true;
}

/* Converts a whole value to the declared element type where §4 allows. */
static bool fit_kind(interp *it, val *v, vkind want, gb_ast_pos pos)
{
	if (v->kind == V_INT && want == V_F32)
		return as_array(it, v, pos);
	if (v->kind != want)
		return fail_at(it, pos, "the value's element type is not the declared one");
	return true;
}

static bool assign_target(interp *it, const gb_ast_target *t, val *v, const gb_ast_type *type, gb_ast_pos pos)
{
	binding *b = lookup(it, t->name);
	if (b && b - it->binds < it->frame)
		b = NULL; /* a def never assigns outside its frame */
	if (t->n_subs == 0) {
		if (type) {
			vkind want = type->elem == GB_AST_BOOL ? V_BOOL : V_F32;
			if (!fit_kind(it, v, want, pos))
				return false;
			if (b) {
				val_drop(&b->v);
				b->v = *v;
			} else if (!(b = push_binding(it, t->name, v, pos))) {
				return false;
			}
			b->has_type = true;
			b->decl_kind = want;
			memset(v, 0, sizeof *v);
			return true;
		}
		if (b && b->has_type && !fit_kind(it, v, b->decl_kind, pos))
			return false;
		if (b) {
			val_drop(&b->v);
			b->v = *v;
			memset(v, 0, sizeof *v);
			return true;
		}
		return push_binding(it, t->name, v, pos) != NULL;
	}
	if (!b)
		return fail_at(it, t->pos, "unknown name '%s'", t->name);
	if (!fit_kind(it, v, b->v.kind == V_INT ? V_F32 : b->v.kind, pos))
		return false;
	region r;
	bool ok = make_region(it, &b->v, t->subs, t->n_subs, &r, t->pos) && scatter(it, &b->v, &r, v, pos);
	val_drop(v);
	return ok;
}

static bool exec_stmt(interp *it, const gb_ast_stmt *s)
{
	switch (s->kind) {
	case GB_AST_WEIGHTS_FILE: it->weights_stmt = s; return true;
	case GB_AST_DEF:
	case GB_AST_INPUT: return true; /* inputs are bound before the program runs */
	case GB_AST_OUTPUT:
	case GB_AST_PARAM: {
		val v;
		const gb_ast_type *ty = s->u.decl.type;
		if (s->u.decl.value && s->u.decl.value->kind == GB_AST_WEIGHTS) {
			if (!load_weight(it, s, &v))
				return false;
		} else if (s->u.decl.value) {
			if (!eval(it, s->u.decl.value, &v))
				return false;
			if (ty && !fit_kind(it, &v, ty->elem == GB_AST_BOOL ? V_BOOL : V_F32, s->u.decl.value->pos)) {
				val_drop(&v);
				return false;
			}
			if (!ty && !as_array(it, &v, s->u.decl.value->pos))
				return false;
		} else {
			int64_t dims[GB_MAX_DIMS];
			if (!resolve_dims(it, ty, dims) ||
			    !val_zeros(it, ty->elem == GB_AST_BOOL ? V_BOOL : V_F32, ty->ndim, dims, false, &v, s->pos))
				return false;
		}
		binding *b = push_binding(it, s->u.decl.name, &v, s->pos);
		if (!b)
			return false;
		b->is_param = s->kind == GB_AST_PARAM;
		if (ty) {
			b->has_type = true;
			b->decl_kind = ty->elem == GB_AST_BOOL ? V_BOOL : V_F32;
		}
		return true;
	}
	case GB_AST_ASSIGN: {
		const gb_ast_target *ts = s->u.assign.targets;
		int nt = s->u.assign.n_targets;
		if (!s->u.assign.value) { /* x: T, elements undefined */
			const gb_ast_type *ty = s->u.assign.type;
			int64_t dims[GB_MAX_DIMS];
			val v;
			if (!ty || !resolve_dims(it, ty, dims) ||
			    !val_zeros(it, ty->elem == GB_AST_BOOL ? V_BOOL : V_F32, ty->ndim, dims, false, &v, s->pos))
				return it->err->msg[0] ? false : fail_at(it, s->pos, "a declaration needs a type");
			return assign_target(it, &ts[0], &v, ty, s->pos);
		}
		if (nt == 1) {
			val v;
			if (!eval(it, s->u.assign.value, &v))
				return false;
			bool ok = assign_target(it, &ts[0], &v, s->u.assign.type, s->u.assign.value->pos);
			val_drop(&v);
			return ok;
		}
		const gb_ast_expr *call = s->u.assign.value;
		const gb_ast_stmt *d = call->kind == GB_AST_CALL ? find_def(it, call->u.call.callee) : NULL;
		if (!d)
			return fail_at(it, call->pos, "%d targets need a call of a def with %d results", nt, nt);
		val *rs = calloc((size_t)nt, sizeof *rs);
		if (!rs)
			return nomem_at(it, s->pos);
		bool ok = call_def(it, call, d, rs, nt);
		for (int i = 0; ok && i < nt; i++)
			ok = assign_target(it, &ts[i], &rs[i], NULL, ts[i].pos);
		free_list(rs, nt); /* consumed or dropped entries are zeroed */
		return ok;
	}
	case GB_AST_FOR: {
		int64_t start, step, count;
		if (!gb_lang_range(&it->env, &s->u.loop.range, &start, &step, &count))
			return false;
		if (count == 0)
			return true;
		val iv = int_val(start);
		binding *b = push_binding(it, s->u.loop.var, &iv, s->u.loop.var_pos);
		if (!b)
			return false;
		int at = (int)(b - it->binds); /* the array may move: keep the index */
		bool ok = true;
		for (int64_t i = 0; ok && i < count; i++) {
			it->binds[at].v.ival = start + i * step;
			ok = exec_block(it, &s->u.loop.body);
		}
		it->binds[at].name = NULL; /* the loop variable ends with the body */
		return ok;
	}
	case GB_AST_RETURN: return fail_at(it, s->pos, "return outside a def");
	}
	return fail_at(it, s->pos, "unknown statement");
}

static bool exec_block(interp *it, const gb_ast_block *blk)
{
	for (int i = 0; i < blk->n_stmts; i++)
		if (!exec_stmt(it, blk->stmts[i]))
			return false;
	return true;
}

/* ---- the program ---------------------------------------------------------------------------- */

int gb_ast_input_count(const gb_ast *ast)
{
	int n = 0;
	for (int i = 0; i < ast->body.n_stmts; i++)
		n += ast->body.stmts[i]->kind == GB_AST_INPUT;
	return n;
}

const gb_ast_stmt *gb_ast_input(const gb_ast *ast, int index)
{
	for (int i = 0; i < ast->body.n_stmts; i++)
		if (ast->body.stmts[i]->kind == GB_AST_INPUT && index-- == 0)
			return ast->body.stmts[i];
	return NULL;
}

static gb_status to_tensor(interp *it, const val *v, const char *name, gb_tensor_map *out)
{
	int64_t dims[GB_MAX_DIMS + 1];
	dims[0] = it->N;
	memcpy(dims + 1, v->dims, sizeof(int64_t) * (size_t)v->ndim);
	if (v->ndim >= GB_MAX_DIMS)
		return gb_fail(it->err, GB_STATUS_UNSUPPORTED, "%s: '%s' has %d axes; with the batch axis that is more than %d",
		               it->file, name, v->ndim, GB_MAX_DIMS);
	gb_tensor *t = NULL;
	gb_status st = gb_tensor_new(v->kind == V_BOOL ? GB_DTYPE_BOOL : GB_DTYPE_F32, v->ndim + 1, dims, &t, it->err);
	if (st != GB_OK)
		return st;
	int64_t m = vnumel(v);
	for (int64_t n = 0; n < it->N; n++) {
		const float *src = v->b->d + (v->batched ? n * m : 0);
		if (v->kind == V_BOOL) {
			uint8_t *dst = (uint8_t *)t->data + n * m;
			for (int64_t i = 0; i < m; i++)
				dst[i] = src[i] != 0;
		} else {
			memcpy((float *)t->data + n * m, src, sizeof(float) * (size_t)m);
		}
	}
	st = gb_tensor_map_put(out, name, t, it->err);
	gb_tensor_free(t);
	return st;
}

static gb_status bind_inputs(interp *it, const gb_tensor *const *inputs, int n_inputs)
{
	int64_t N = -1;
	for (int i = 0; i < n_inputs; i++) {
		const gb_ast_stmt *s = gb_ast_input(it->ast, i);
		const gb_ast_type *ty = s->u.decl.type;
		const gb_tensor *t = inputs[i];
		char have[128];
		gb_dtype want = ty->elem == GB_AST_BOOL ? GB_DTYPE_BOOL : GB_DTYPE_F32;
		bool ok = t && t->dtype == want && t->ndim == ty->ndim + 1;
		for (int k = 0; ok && k < ty->ndim; k++)
			ok = t->dims[k + 1] == ty->dims[k].size;
		if (!ok) {
			char decl[200];
			size_t len = (size_t)snprintf(decl, sizeof decl, "%s [N", gb_dtype_name(want));
			for (int k = 0; k < ty->ndim && len < sizeof decl; k++)
				len += (size_t)snprintf(decl + len, sizeof decl - len, ", %lld", (long long)ty->dims[k].size);
			if (len < sizeof decl)
				snprintf(decl + len, sizeof decl - len, "]");
			return gb_fail(it->err, GB_STATUS_BAD_FILE,
			               "%s:%d:%d: input '%s' needs %s (a batch of examples), got %s %s", it->file, s->pos.line,
			               s->pos.col, s->u.decl.name, decl, t ? gb_dtype_name(t->dtype) : "nothing",
			               t ? gb_shape_str(t->ndim, t->dims, have, sizeof have) : "");
		}
		if (N >= 0 && t->dims[0] != N)
			return gb_fail(it->err, GB_STATUS_BAD_FILE, "%s:%d:%d: input '%s' has %lld examples, the first input %lld",
			               it->file, s->pos.line, s->pos.col, s->u.decl.name, (long long)t->dims[0], (long long)N);
		N = t->dims[0];
	}
	if (N < 1)
		return gb_fail(it->err, GB_STATUS_BAD_FILE, "%s: the inputs hold no examples", it->file);
	it->N = N;
	for (int i = 0; i < n_inputs; i++) {
		const gb_ast_stmt *s = gb_ast_input(it->ast, i);
		const gb_tensor *t = inputs[i];
		val v;
		if (!val_new(it, t->dtype == GB_DTYPE_BOOL ? V_BOOL : V_F32, t->ndim - 1, t->dims + 1, true, &v, s->pos))
			return it->err->status;
		int64_t m = vnumel(&v) * N;
		if (t->dtype == GB_DTYPE_BOOL) {
			const uint8_t *src = t->data;
			for (int64_t k = 0; k < m; k++)
				v.b->d[k] = src[k] ? 1.0f : 0.0f;
		} else {
			memcpy(v.b->d, t->data, sizeof(float) * (size_t)m);
		}
		if (!push_binding(it, s->u.decl.name, &v, s->pos))
			return it->err->status;
		it->binds[it->n_binds - 1].has_type = true;
		it->binds[it->n_binds - 1].decl_kind = t->dtype == GB_DTYPE_BOOL ? V_BOOL : V_F32;
	}
	return GB_OK;
}

static gb_status run_program(const gb_ast *ast, const char *dir, gb_tensor_map *weights,
                             const gb_tensor *const *inputs, int n_inputs, gb_tensor_map *outputs,
                             const char *const *captures, int n_captures, gb_tensor_map *captured, gb_error *err);

gb_status gb_ast_run(const gb_ast *ast, const char *dir, const gb_tensor *const *inputs, int n_inputs,
                     gb_tensor_map *outputs, const char *const *captures, int n_captures, gb_tensor_map *captured,
                     gb_error *err)
{
	return run_program(ast, dir, NULL, inputs, n_inputs, outputs, captures, n_captures, captured, err);
}

gb_status gb_ast_run_weights(const gb_ast *ast, gb_tensor_map *weights, const gb_tensor *const *inputs,
                             int n_inputs, gb_tensor_map *outputs, gb_error *err)
{
	return run_program(ast, NULL, weights, inputs, n_inputs, outputs, NULL, 0, NULL, err);
}

static gb_status run_program(const gb_ast *ast, const char *dir, gb_tensor_map *weights,
                             const gb_tensor *const *inputs, int n_inputs, gb_tensor_map *outputs,
                             const char *const *captures, int n_captures, gb_tensor_map *captured, gb_error *err)
{
	gb_status st = gb_ast_check(ast, err);
	if (st != GB_OK)
		return st;
	if (n_inputs != gb_ast_input_count(ast))
		return gb_fail(err, GB_STATUS_USAGE, "%s: the program has %d inputs, %d given", ast->file,
		               gb_ast_input_count(ast), n_inputs);
	interp it;
	memset(&it, 0, sizeof it);
	it.ast = ast;
	it.file = ast->file;
	it.dir = dir ? dir : "";
	it.err = err;
	it.env = (gb_lang_env){&it, env_fail, env_eval_int, env_eval_ints};
	it.weights = weights; /* borrowed when given: not freed below */
	err->msg[0] = '\0';
	it.defs = calloc((size_t)ast->body.n_stmts + 1, sizeof *it.defs);
	if (!it.defs)
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	for (int i = 0; i < ast->body.n_stmts; i++)
		if (ast->body.stmts[i]->kind == GB_AST_DEF)
			it.defs[it.n_defs++] = ast->body.stmts[i];
	st = bind_inputs(&it, inputs, n_inputs);
	if (st == GB_OK && !exec_block(&it, &ast->body))
		st = err->status != GB_OK ? err->status : GB_STATUS_FAILURE;
	/* Outputs in declaration order, then captures. */
	for (int i = 0; st == GB_OK && i < ast->body.n_stmts; i++) {
		const gb_ast_stmt *s = ast->body.stmts[i];
		if (s->kind != GB_AST_OUTPUT)
			continue;
		binding *b = lookup(&it, s->u.decl.name);
		if (!b || b->v.kind == V_INT) {
			st = gb_fail(err, GB_STATUS_BAD_FILE, "%s:%d:%d: output '%s' has no value", it.file, s->pos.line,
			             s->pos.col, s->u.decl.name);
			break;
		}
		st = to_tensor(&it, &b->v, s->u.decl.name, outputs);
	}
	for (int c = 0; st == GB_OK && c < n_captures; c++) {
		binding *b = lookup(&it, captures[c]);
		if (!b) {
			st = gb_fail(err, GB_STATUS_USAGE, "%s: no top-level name '%s' to capture", it.file, captures[c]);
			break;
		}
		val v = val_ref(&b->v);
		if (as_array(&it, &v, (gb_ast_pos){0, 0}))
			st = to_tensor(&it, &v, captures[c], captured);
		else
			st = err->status;
		val_drop(&v);
	}
	pop_bindings(&it, 0);
	free(it.binds);
	free(it.defs);
	if (!weights)
		gb_tensor_map_free(it.weights);
	return st;
}
