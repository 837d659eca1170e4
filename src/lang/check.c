/*
 * check.c — the primitive table and the static checker (lang.h describes
 * what it checks; docs/language.md is the rule book it follows).
 *
 * The checker walks the program the way the compiler will: top to bottom,
 * loops unrolled with their variable's value known, each def body checked
 * at a call with the argument types bound (memoised per argument
 * signature). Values are abstract: a type (f32 / bool with a shape, a
 * compile-time int with its value, or a def's tuple of results), plus the
 * facts later checks need (the ints of an int list, the value of a constant
 * scalar). Names live in a binding stack: a def call opens a frame that sees
 * its own bindings and the top-level params only.
 *
 * Arrays declared without a value (output y: T, h: T) carry a mask of
 * defined elements; every index is a compile-time int, so reading an
 * undefined element is found here.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the primitive table ------------------------------------------------------- */

static const gb_prim prims[GB_PRIM_COUNT] = {
	{GB_PRIM_RELU, "relu", {"x"}, 1, false, {0}},
	{GB_PRIM_ABS, "abs", {"x"}, 1, false, {0}},
	{GB_PRIM_SIGMOID, "sigmoid", {"x"}, 1, false, {0}},
	{GB_PRIM_TANH, "tanh", {"x"}, 1, false, {0}},
	{GB_PRIM_GELU, "gelu", {"x"}, 1, false, {0}},
	{GB_PRIM_CLAMP, "clamp", {"x", "lo", "hi"}, 3, false, {0}},
	{GB_PRIM_STEP, "step", {"x", "threshold"}, 1, false, {"width"}},
	{GB_PRIM_FLOAT, "float", {"x"}, 1, false, {0}},
	{GB_PRIM_MAX, "max", {"x"}, 1, true, {"axis"}},
	{GB_PRIM_MIN, "min", {"x"}, 1, true, {"axis"}},
	{GB_PRIM_SORT, "sort", {"x"}, 1, false, {"descending"}},
	{GB_PRIM_ARGMAX, "argmax", {"x"}, 1, false, {"axis"}},
	{GB_PRIM_XOR, "xor", {"a", "b"}, 2, true, {0}},
	{GB_PRIM_MAJORITY, "majority", {"a", "b", "c"}, 3, true, {0}},
	{GB_PRIM_WHERE, "where", {"cond", "a", "b"}, 3, false, {0}},
	{GB_PRIM_DENSE, "dense", {"x", "weight", "bias"}, 2, false, {0}},
	{GB_PRIM_MATMUL, "matmul", {"a", "b"}, 2, false, {0}},
	{GB_PRIM_TRANSPOSE, "transpose", {"x", "perm"}, 1, false, {0}},
	{GB_PRIM_SUM, "sum", {"x"}, 1, false, {"axis"}},
	{GB_PRIM_MEAN, "mean", {"x"}, 1, false, {"axis"}},
	{GB_PRIM_SOFTMAX, "softmax", {"x"}, 1, false, {"axis"}},
	{GB_PRIM_LOG_SOFTMAX, "log_softmax", {"x"}, 1, false, {"axis"}},
	{GB_PRIM_CONV2D, "conv2d", {"x", "kernel", "bias", "stride", "padding", "dilation", "groups"}, 2, false, {0}},
	{GB_PRIM_MAXPOOL2D, "maxpool2d", {"x", "size", "stride", "padding"}, 2, false, {0}},
	{GB_PRIM_AVGPOOL2D, "avgpool2d", {"x", "size", "stride", "padding"}, 2, false, {0}},
	{GB_PRIM_FLATTEN, "flatten", {"x"}, 1, false, {0}},
	{GB_PRIM_RESHAPE, "reshape", {"x", "shape"}, 2, false, {0}},
	{GB_PRIM_CONCAT, "concat", {"a", "b"}, 2, true, {"axis"}},
};

const gb_prim *gb_prim_find(const char *name)
{
	for (int i = 0; i < GB_PRIM_COUNT; i++)
		if (strcmp(prims[i].name, name) == 0)
			return &prims[i];
	return NULL;
}

const gb_prim *gb_prim_get(gb_prim_id id)
{
	return (int)id >= 0 && id < GB_PRIM_COUNT ? &prims[id] : NULL;
}

/* ---- abstract values ------------------------------------------------------------- */

typedef enum tkind {
	T_INT = 0, /* compile-time integer, value known */
	T_F32,
	T_BOOL,
	T_TUPLE /* the results of a def with several */
} tkind;

typedef struct ty ty;
struct ty {
	tkind kind;
	int ndim;
	int64_t dims[GB_MAX_DIMS];
	int64_t ival;        /* T_INT */
	bool is_list;        /* T_F32 of rank 1 written as a list of at most 8 ints ... */
	int64_t lv[GB_MAX_DIMS]; /* ... whose values these are (shapes, strides, perm) */
	bool has_fval;       /* a constant f32 scalar (literal, -literal, scalar param) */
	float fval;
	ty *items; /* T_TUPLE */
	int n_items;
};

typedef enum bkind {
	B_INPUT = 0,
	B_PARAM,
	B_OUTPUT,
	B_VAR,
	B_LOOP,  /* loop or comprehension variable (T_INT) */
	B_SHAPE, /* a def's shape variable (T_INT) */
} bkind;

typedef struct binding {
	const char *name; /* NULL once out of scope */
	bkind kind;
	ty type;
	bool typed;        /* declared type: whole assignments must match it */
	bool none_defined; /* declared without a value, no element assigned yet */
	uint8_t *defined;  /* per-element mask while partly defined (malloc'ed), else NULL */
	int64_t n_defined; /* elements set in the mask */
	gb_ast_pos pos;
} binding;

typedef struct memo {
	int def_index;
	ty *args;
	int n_args;
	ty result;
} memo;

typedef struct checker {
	const char *file;
	gb_error *err;
	gb_arena arena;
	bool failed;
	gb_status status;

	binding *binds;
	int n_binds, cap_binds;
	int frame_start; /* first binding of the current def frame (0 at top level) */
	int top_end;     /* bindings [0, top_end) are the top level, seen by def frames for params */
	int call_depth;

	const gb_ast_stmt **defs; /* every def, in file order */
	int n_defs;
	int visible_defs; /* defs [0, visible_defs) may be called from the current code */

	memo *memos;
	int n_memos, cap_memos;

	long budget;          /* statement executions and array items left */
	int64_t elem_budget;  /* element visits of definedness masks left */
	int64_t mask_bytes;   /* bytes held by all masks */
	const gb_ast_stmt *weights_stmt;
	ty ret; /* the return statement's value while checking a def body */
	gb_lang_env env; /* for eval_common.c: reports through fail_at */
} checker;

/* Definedness masks: one array's, all arrays' together, element visits. */
#define MASK_LIMIT ((int64_t)1 << 24)
#define MASK_TOTAL ((int64_t)1 << 26)
#define MASK_VISITS ((int64_t)100000000)

static bool fail_at(checker *c, gb_ast_pos pos, const char *fmt, ...) GB_PRINTF(3, 4);

static bool fail_at(checker *c, gb_ast_pos pos, const char *fmt, ...)
{
	if (c->failed)
		return false;
	char msg[GB_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	gb_fail(c->err, GB_STATUS_BAD_FILE, "%s:%d:%d: %s", c->file, pos.line, pos.col, msg);
	c->failed = true;
	c->status = GB_STATUS_BAD_FILE;
	return false;
}

static bool nomem(checker *c)
{
	if (!c->failed) {
		gb_fail(c->err, GB_STATUS_NOMEM, "%s: out of memory while checking the program", c->file);
		c->failed = true;
		c->status = GB_STATUS_NOMEM;
	}
	return false;
}

/* How eval_common.c reports (gb_lang_env): through fail_at, so the first error wins. */
static bool env_fail(void *self, gb_ast_pos pos, const char *msg)
{
	return fail_at(self, pos, "%s", msg);
}

/* "f32[2, 3]", "bool", "int 3", "2 results" */
static const char *ty_str(const ty *t, char *buf, size_t size)
{
	if (t->kind == T_INT) {
		snprintf(buf, size, "int %lld", (long long)t->ival);
		return buf;
	}
	if (t->kind == T_TUPLE) {
		snprintf(buf, size, "%d results", t->n_items);
		return buf;
	}
	size_t n = (size_t)snprintf(buf, size, "%s", t->kind == T_BOOL ? "bool" : "f32");
	for (int i = 0; i < t->ndim && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? ", " : "[", (long long)t->dims[i]);
	if (t->ndim && n < size)
		snprintf(buf + n, size - n, "]");
	return buf;
}

#define TS(t) ty_str((t), (char[96]){0}, 96)

static ty scalar(tkind kind)
{
	ty t;
	memset(&t, 0, sizeof t);
	t.kind = kind;
	return t;
}

static int64_t numel(const ty *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->ndim; i++)
		n *= t->dims[i]; /* bounded: every shape is checked against GB_LANG_MAX_ELEMENTS */
	return n;
}

static bool same_shape(const ty *a, const ty *b)
{
	if (a->ndim != b->ndim)
		return false;
	for (int i = 0; i < a->ndim; i++)
		if (a->dims[i] != b->dims[i])
			return false;
	return true;
}

static bool same_type(const ty *a, const ty *b)
{
	return a->kind == b->kind && same_shape(a, b);
}

/* Checks a shape against the element bound. */
static bool check_size(checker *c, const ty *t, gb_ast_pos pos)
{
	int64_t n = 1;
	for (int i = 0; i < t->ndim; i++)
		if (!gb_mul_i64(n, t->dims[i], &n) || n > GB_LANG_MAX_ELEMENTS)
			return fail_at(c, pos, "%s has more than %lld elements", TS(t), (long long)GB_LANG_MAX_ELEMENTS);
	return true;
}

/* An int used as a value is an f32 scalar; everything else is itself. */
static ty as_value(const ty *t)
{
	if (t->kind != T_INT)
		return *t;
	ty v = scalar(T_F32);
	v.has_fval = true;
	v.fval = (float)t->ival;
	return v;
}

static bool want_array(checker *c, const ty *t, gb_ast_pos pos, const char *what)
{
	if (t->kind == T_TUPLE)
		return fail_at(c, pos, "%s is a def's %d results; take them apart with an assignment", what, t->n_items);
	return true;
}

static bool want_f32(checker *c, ty *t, gb_ast_pos pos, const char *what)
{
	if (!want_array(c, t, pos, what))
		return false;
	*t = as_value(t);
	if (t->kind != T_F32)
		return fail_at(c, pos, "%s must be f32, not %s", what, TS(t));
	return true;
}

static bool want_int(checker *c, const ty *t, gb_ast_pos pos, const char *what)
{
	if (t->kind != T_INT)
		return fail_at(c, pos, "%s must be a compile-time integer, not %s", what, TS(t));
	return true;
}

static bool broadcast(checker *c, const ty *a, const ty *b, ty *out, gb_ast_pos pos, const char *op)
{
	int n = a->ndim > b->ndim ? a->ndim : b->ndim;
	ty r = scalar(a->kind);
	r.ndim = n;
	for (int i = 0; i < n; i++) {
		int ia = i - (n - a->ndim), ib = i - (n - b->ndim);
		int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
		if (da != db && da != 1 && db != 1)
			return fail_at(c, pos, "%s: shapes %s and %s do not broadcast", op, TS(a), TS(b));
		r.dims[i] = da > db ? da : db;
	}
	*out = r;
	return true;
}

static ty drop_axis(const ty *t, int axis)
{
	ty r = scalar(t->kind);
	for (int i = 0; i < t->ndim; i++)
		if (i != axis)
			r.dims[r.ndim++] = t->dims[i];
	return r;
}

/* ---- bindings ----------------------------------------------------------------------- */

static binding *lookup(checker *c, const char *name)
{
	for (int i = c->n_binds - 1; i >= c->frame_start; i--)
		if (c->binds[i].name && strcmp(c->binds[i].name, name) == 0)
			return &c->binds[i];
	if (c->call_depth > 0) /* a def sees the top-level params */
		for (int i = c->top_end - 1; i >= 0; i--)
			if (c->binds[i].name && c->binds[i].kind == B_PARAM && strcmp(c->binds[i].name, name) == 0)
				return &c->binds[i];
	return NULL;
}

static const gb_ast_stmt *find_def(const checker *c, const char *name, int *index)
{
	for (int i = c->visible_defs - 1; i >= 0; i--)
		if (strcmp(c->defs[i]->u.def.name, name) == 0) {
			*index = i;
			return c->defs[i];
		}
	return NULL;
}

static bool is_reserved(const char *name)
{
	return gb_prim_find(name) || strcmp(name, "f32") == 0 || strcmp(name, "bool") == 0 ||
	       strcmp(name, "range") == 0;
}

static binding *push_binding(checker *c, const char *name, bkind kind, const ty *t, gb_ast_pos pos)
{
	if (c->n_binds == c->cap_binds) {
		int cap = c->cap_binds ? c->cap_binds * 2 : 64;
		binding *grown = realloc(c->binds, sizeof *grown * (size_t)cap);
		if (!grown)
			return nomem(c), NULL;
		c->binds = grown;
		c->cap_binds = cap;
	}
	binding *b = &c->binds[c->n_binds++];
	memset(b, 0, sizeof *b);
	b->name = name;
	b->kind = kind;
	b->type = *t;
	b->pos = pos;
	return b;
}

static void drop_mask(checker *c, binding *b)
{
	if (b->defined)
		c->mask_bytes -= numel(&b->type);
	free(b->defined);
	b->defined = NULL;
	b->n_defined = 0;
}

static void pop_bindings(checker *c, int to)
{
	while (c->n_binds > to) {
		drop_mask(c, &c->binds[c->n_binds - 1]);
		c->n_binds--;
	}
}

static const char *bkind_str(bkind k)
{
	switch (k) {
	case B_INPUT: return "input";
	case B_PARAM: return "param";
	case B_OUTPUT: return "output";
	case B_VAR: return "variable";
	case B_LOOP: return "loop variable";
	case B_SHAPE: return "shape variable";
	}
	return "name";
}

/* A new name for a declaration or a value: not a primitive, def or builtin word. */
static bool check_new_name(checker *c, const char *name, gb_ast_pos pos)
{
	int index;
	if (is_reserved(name))
		return fail_at(c, pos, "'%s' is a predefined name and cannot be bound", name);
	if (find_def(c, name, &index))
		return fail_at(c, pos, "'%s' is a def and cannot be bound", name);
	return true;
}

/* ---- regions (indexing) -------------------------------------------------------------- */

typedef struct axis_sel {
	int64_t start, step, count;
	bool keep; /* a slice keeps the axis, an index drops it */
} axis_sel;

typedef struct region {
	int n; /* axes of the base */
	axis_sel ax[GB_MAX_DIMS];
} region;

static bool eval_int(checker *c, const gb_ast_expr *e, int64_t *out, const char *what);

/* Python's slice rules on an axis of size n (PySlice_AdjustIndices). */
static bool slice_axis(checker *c, const gb_ast_subscript *s, int64_t n, axis_sel *sel)
{
	int64_t step = 1, start, stop;
	if (s->step && !eval_int(c, s->step, &step, "a slice step"))
		return false;
	if (step == 0)
		return fail_at(c, s->step->pos, "slice step cannot be zero");
	if (step > n)
		step = n; /* same selection, no overflow below */
	if (step < -n)
		step = -n;
	if (s->start) {
		if (!eval_int(c, s->start, &start, "a slice bound"))
			return false;
		if (start < 0)
			start = start < -n ? (step < 0 ? -1 : 0) : start + n;
		else if (start >= n)
			start = step < 0 ? n - 1 : n;
	} else {
		start = step < 0 ? n - 1 : 0;
	}
	if (s->stop) {
		if (!eval_int(c, s->stop, &stop, "a slice bound"))
			return false;
		if (stop < 0)
			stop = stop < -n ? (step < 0 ? -1 : 0) : stop + n;
		else if (stop >= n)
			stop = step < 0 ? n - 1 : n;
	} else {
		stop = step < 0 ? -1 : n;
	}
	int64_t count = 0;
	if (step > 0 && stop > start)
		count = (stop - start - 1) / step + 1;
	else if (step < 0 && start > stop)
		count = (start - stop - 1) / (-step) + 1;
	if (count == 0)
		return fail_at(c, s->pos, "the slice selects nothing from an axis of size %lld (there are no empty arrays)",
		               (long long)n);
	sel->start = start;
	sel->step = step;
	sel->count = count;
	sel->keep = true;
	return true;
}

static bool make_region(checker *c, const ty *base, const gb_ast_subscript *subs, int n_subs, region *r,
                        ty *result, gb_ast_pos pos)
{
	if (base->kind == T_INT || base->kind == T_TUPLE)
		return fail_at(c, pos, "only arrays can be indexed, not %s", TS(base));
	if (n_subs > base->ndim)
		return fail_at(c, pos, "%d subscripts for %s, which has %d ax%s", n_subs, TS(base), base->ndim,
		               base->ndim == 1 ? "is" : "es");
	r->n = base->ndim;
	ty out = scalar(base->kind);
	for (int k = 0; k < base->ndim; k++) {
		axis_sel *sel = &r->ax[k];
		int64_t n = base->dims[k];
		if (k >= n_subs) {
			*sel = (axis_sel){0, 1, n, true};
		} else if (subs[k].is_slice) {
			if (!slice_axis(c, &subs[k], n, sel))
				return false;
		} else {
			int64_t i;
			if (!eval_int(c, subs[k].index, &i, "an index"))
				return false;
			if (i < -n || i >= n)
				return fail_at(c, subs[k].pos, "index %lld is out of range for axis %d of size %lld", (long long)i, k,
				               (long long)n);
			*sel = (axis_sel){i < 0 ? i + n : i, 1, 1, false};
		}
		if (sel->keep)
			out.dims[out.ndim++] = sel->count;
	}
	*result = out;
	return true;
}

/* Calls visit(offset) for every element of the region, row-major; stops
 * when visit returns false. */
static bool region_each(const ty *base, const region *r, bool (*visit)(void *, int64_t), void *ctx)
{
	int64_t idx[GB_MAX_DIMS] = {0};
	for (;;) {
		int64_t off = 0;
		for (int k = 0; k < r->n; k++)
			off = off * base->dims[k] + r->ax[k].start + idx[k] * r->ax[k].step;
		if (!visit(ctx, off))
			return false;
		int k = r->n - 1;
		for (; k >= 0; k--) {
			if (++idx[k] < r->ax[k].count)
				break;
			idx[k] = 0;
		}
		if (k < 0)
			return true;
	}
}

static bool visit_is_defined(void *ctx, int64_t off)
{
	return ((const binding *)ctx)->defined[off] != 0;
}

static bool visit_define(void *ctx, int64_t off)
{
	binding *b = ctx;
	b->n_defined += !b->defined[off];
	b->defined[off] = 1;
	return true;
}

/* Charges a walk over a region of a mask against the visit budget. */
static bool spend_visits(checker *c, const region *r, gb_ast_pos pos)
{
	int64_t n = 1;
	for (int k = 0; k < r->n; k++)
		n *= r->ax[k].count; /* at most the array's size */
	c->elem_budget -= n;
	if (c->elem_budget < 0)
		return fail_at(c, pos, "element-by-element definitions make more than %lld element visits to check",
		               (long long)MASK_VISITS);
	return true;
}

static bool fully_defined(const binding *b)
{
	return !b->none_defined && !b->defined;
}

/* The region (or all of b when r is NULL) may be read. */
static bool check_defined(checker *c, const binding *b, const region *r, gb_ast_pos pos)
{
	if (fully_defined(b))
		return true;
	if (r && b->defined && !spend_visits(c, r, pos))
		return false;
	bool ok = !b->none_defined && r && region_each(&b->type, r, visit_is_defined, (void *)b);
	if (!ok)
		return fail_at(c, pos, "%s '%s' is read before %s defined", bkind_str(b->kind), b->name,
		               r ? "these elements are" : "all its elements are");
	return true;
}

/* ---- expressions ----------------------------------------------------------------------- */

static bool check_expr(checker *c, const gb_ast_expr *e, ty *out);
static bool call_def(checker *c, const gb_ast_expr *call, int def_index, ty *out);
static bool check_block(checker *c, const gb_ast_block *blk);

static bool eval_int(checker *c, const gb_ast_expr *e, int64_t *out, const char *what)
{
	ty t;
	if (!check_expr(c, e, &t) || !want_int(c, &t, e->pos, what))
		return false;
	*out = t.ival;
	return true;
}

static bool spend(checker *c, gb_ast_pos pos)
{
	if (--c->budget < 0)
		return fail_at(c, pos, "the program unrolls to more than %d statements and array items",
		               GB_LANG_MAX_UNROLLED);
	return true;
}

/* Evaluates range(...) into start, step, count. */
static bool eval_range(checker *c, const gb_ast_range *r, int64_t *start, int64_t *step, int64_t *count)
{
	int64_t stop;
	*start = 0;
	*step = 1;
	if (r->start && !eval_int(c, r->start, start, "a range bound"))
		return false;
	if (!eval_int(c, r->stop, &stop, "a range bound"))
		return false;
	if (r->step && !eval_int(c, r->step, step, "a range step"))
		return false;
	if (*step == 0)
		return fail_at(c, r->step->pos, "range step cannot be zero");
	/* Counts computed in unsigned arithmetic: the bounds may span all of int64. */
	uint64_t n = 0;
	if (*step > 0 && stop > *start)
		n = ((uint64_t)stop - (uint64_t)*start - 1) / (uint64_t)*step + 1;
	else if (*step < 0 && *start > stop)
		n = ((uint64_t)*start - (uint64_t)stop - 1) / (0 - (uint64_t)*step) + 1;
	if (n > (uint64_t)GB_LANG_MAX_UNROLLED)
		return fail_at(c, r->pos, "range of %llu values: the program would unroll to more than %d statements",
		               (unsigned long long)n, GB_LANG_MAX_UNROLLED);
	*count = (int64_t)n;
	return true;
}

static bool int_arith(checker *c, gb_ast_op op, int64_t a, int64_t b, int64_t *out, gb_ast_pos pos)
{
	GB_ASSERT(op == GB_AST_ADD || op == GB_AST_SUB || op == GB_AST_MUL || op == GB_AST_FLOORDIV || op == GB_AST_MOD);
	if ((op == GB_AST_FLOORDIV || op == GB_AST_MOD) && b == 0)
		return fail_at(c, pos, "integer division by zero");
	if (!gb_lang_int_arith(op, a, b, out))
		return fail_at(c, pos, "integer overflow in '%s'", gb_ast_op_str(op));
	return true;
}

static bool matmul_shape(checker *c, const ty *a0, const ty *b0, ty *out, gb_ast_pos pos)
{
	ty a = *a0, b = *b0;
	if (a.ndim == 0 || b.ndim == 0)
		return fail_at(c, pos, "matmul needs arrays of rank 1 or more, not %s and %s", TS(a0), TS(b0));
	bool a_vec = a.ndim == 1, b_vec = b.ndim == 1;
	if (a_vec) { /* [K] -> [1, K] */
		a.dims[1] = a.dims[0];
		a.dims[0] = 1;
		a.ndim = 2;
	}
	if (b_vec) { /* [K] -> [K, 1] */
		b.dims[1] = 1;
		b.ndim = 2;
	}
	if (a.dims[a.ndim - 1] != b.dims[b.ndim - 2])
		return fail_at(c, pos, "matmul of %s and %s: inner sizes %lld and %lld differ", TS(a0), TS(b0),
		               (long long)a.dims[a.ndim - 1], (long long)b.dims[b.ndim - 2]);
	ty ab = scalar(T_F32), bb = scalar(T_F32), batch;
	ab.ndim = a.ndim - 2;
	memcpy(ab.dims, a.dims, sizeof(int64_t) * (size_t)ab.ndim);
	bb.ndim = b.ndim - 2;
	memcpy(bb.dims, b.dims, sizeof(int64_t) * (size_t)bb.ndim);
	if (!broadcast(c, &ab, &bb, &batch, pos, "matmul batch axes"))
		return false;
	ty r = batch;
	if (r.ndim + 2 > GB_MAX_DIMS)
		return fail_at(c, pos, "matmul result has more than %d axes", GB_MAX_DIMS);
	if (!a_vec)
		r.dims[r.ndim++] = a.dims[a.ndim - 2];
	if (!b_vec)
		r.dims[r.ndim++] = b.dims[b.ndim - 1];
	*out = r;
	return true;
}

static bool check_binary(checker *c, const gb_ast_expr *e, ty *out)
{
	gb_ast_op op = e->u.binary.op;
	ty a, b;
	if (!check_expr(c, e->u.binary.lhs, &a) || !check_expr(c, e->u.binary.rhs, &b))
		return false;
	const char *sym = gb_ast_op_str(op);
	char what[64];
	snprintf(what, sizeof what, "an operand of '%s'", sym);
	if (!want_array(c, &a, e->u.binary.lhs->pos, what) || !want_array(c, &b, e->u.binary.rhs->pos, what))
		return false;
	bool ints = a.kind == T_INT && b.kind == T_INT;
	switch (op) {
	case GB_AST_ADD:
	case GB_AST_SUB:
	case GB_AST_MUL:
	case GB_AST_DIV:
		if (ints && op != GB_AST_DIV) {
			*out = scalar(T_INT);
			return int_arith(c, op, a.ival, b.ival, &out->ival, e->pos);
		}
		if (!want_f32(c, &a, e->u.binary.lhs->pos, what) || !want_f32(c, &b, e->u.binary.rhs->pos, what))
			return false;
		if (!broadcast(c, &a, &b, out, e->pos, sym))
			return false;
		if (ints) { /* int / int is a constant */
			out->has_fval = true;
			out->fval = (float)((double)a.fval / (double)b.fval);
		}
		return true;
	case GB_AST_FLOORDIV:
	case GB_AST_MOD:
		if (!want_int(c, &a, e->u.binary.lhs->pos, what) || !want_int(c, &b, e->u.binary.rhs->pos, what))
			return false;
		*out = scalar(T_INT);
		return int_arith(c, op, a.ival, b.ival, &out->ival, e->pos);
	case GB_AST_MATMUL:
		if (!want_f32(c, &a, e->u.binary.lhs->pos, what) || !want_f32(c, &b, e->u.binary.rhs->pos, what))
			return false;
		return matmul_shape(c, &a, &b, out, e->pos);
	case GB_AST_LT:
	case GB_AST_LE:
	case GB_AST_GT:
	case GB_AST_GE:
	case GB_AST_EQ:
	case GB_AST_NE:
		a = as_value(&a);
		b = as_value(&b);
		if (a.kind != b.kind || (a.kind == T_BOOL && op != GB_AST_EQ && op != GB_AST_NE))
			return fail_at(c, e->pos, "'%s' compares f32 with f32%s, not %s with %s", sym,
			               op == GB_AST_EQ || op == GB_AST_NE ? " or bool with bool" : "", TS(&a), TS(&b));
		if (!broadcast(c, &a, &b, out, e->pos, sym))
			return false;
		out->kind = T_BOOL;
		return true;
	case GB_AST_AND:
	case GB_AST_OR:
		a = as_value(&a);
		b = as_value(&b);
		if (a.kind != b.kind)
			return fail_at(c, e->pos, "'%s' needs operands of one element type, not %s and %s", sym, TS(&a), TS(&b));
		return broadcast(c, &a, &b, out, e->pos, sym);
	default: GB_ASSERT(0);
	}
	return false;
}

/* Stacks items of one type along a new leading axis (array literals and
 * comprehensions). */
static bool stack_items(checker *c, ty *acc, const ty *item, int64_t index, gb_ast_pos pos)
{
	ty v = as_value(item);
	if (index == 0) {
		*acc = v;
		return true;
	}
	if (acc->kind != v.kind && !(item->kind == T_INT && acc->kind == T_F32))
		return fail_at(c, pos, "array item %lld is %s but the first is %s", (long long)index, TS(&v), TS(acc));
	if (!same_shape(acc, &v))
		return fail_at(c, pos, "array item %lld has shape %s but the first has %s", (long long)index, TS(&v), TS(acc));
	return true;
}

static bool finish_stack(checker *c, ty *acc, int64_t n, gb_ast_pos pos)
{
	if (acc->ndim == GB_MAX_DIMS)
		return fail_at(c, pos, "array literal has more than %d axes", GB_MAX_DIMS);
	memmove(acc->dims + 1, acc->dims, sizeof(int64_t) * (size_t)acc->ndim);
	acc->dims[0] = n;
	acc->ndim++;
	acc->has_fval = false;
	acc->is_list = false;
	return check_size(c, acc, pos);
}

static bool check_array(checker *c, const gb_ast_expr *e, ty *out)
{
	int n = e->u.array.n_items;
	ty acc = scalar(T_F32);
	bool all_ints = n <= GB_MAX_DIMS;
	int64_t ints[GB_MAX_DIMS];
	for (int i = 0; i < n; i++) {
		ty item;
		const gb_ast_expr *x = e->u.array.items[i];
		if (!spend(c, x->pos) || !check_expr(c, x, &item) || !want_array(c, &item, x->pos, "an array item"))
			return false;
		if (item.kind == T_INT && all_ints)
			ints[i] = item.ival;
		else
			all_ints = false;
		if (!stack_items(c, &acc, &item, i, x->pos))
			return false;
	}
	if (!finish_stack(c, &acc, n, e->pos))
		return false;
	if (all_ints) {
		acc.is_list = true;
		memcpy(acc.lv, ints, sizeof(int64_t) * (size_t)n);
	}
	*out = acc;
	return true;
}

static bool check_comprehension(checker *c, const gb_ast_expr *e, ty *out)
{
	int64_t start, step, count;
	if (!eval_range(c, &e->u.comp.range, &start, &step, &count))
		return false;
	if (count == 0)
		return fail_at(c, e->u.comp.range.pos, "the range is empty (there are no empty arrays)");
	if (!check_new_name(c, e->u.comp.var, e->pos))
		return false;
	ty var = scalar(T_INT);
	int mark = c->n_binds;
	if (!push_binding(c, e->u.comp.var, B_LOOP, &var, e->pos))
		return false;
	ty acc = scalar(T_F32);
	for (int64_t k = 0; k < count; k++) {
		c->binds[mark].type.ival = start + k * step;
		ty item;
		if (!spend(c, e->pos) || !check_expr(c, e->u.comp.body, &item) ||
		    !want_array(c, &item, e->u.comp.body->pos, "a comprehension item") ||
		    !stack_items(c, &acc, &item, k, e->u.comp.body->pos))
			return false;
	}
	pop_bindings(c, mark);
	if (!finish_stack(c, &acc, count, e->pos))
		return false;
	*out = acc;
	return true;
}

/* ---- calls of primitives -------------------------------------------------------------- */

static bool arg_f32(checker *c, const gb_ast_expr *x, ty *t, const char *what)
{
	return check_expr(c, x, t) && want_f32(c, t, x->pos, what);
}

static bool arg_int(checker *c, const gb_ast_expr *x, int64_t *v, const char *what)
{
	return eval_int(c, x, v, what);
}

/* An int or a list [h, w] of ints; each at least lo. */
static bool arg_pair(checker *c, const gb_ast_expr *x, int64_t def, int64_t lo, int64_t out[2], const char *what)
{
	if (!x) {
		out[0] = out[1] = def;
		return true;
	}
	ty t;
	if (!check_expr(c, x, &t))
		return false;
	if (t.kind == T_INT) {
		out[0] = out[1] = t.ival;
	} else if (t.kind == T_F32 && t.is_list && t.dims[0] == 2) {
		out[0] = t.lv[0];
		out[1] = t.lv[1];
	} else {
		return fail_at(c, x->pos, "%s must be an integer or a list [h, w] of integers, not %s", what, TS(&t));
	}
	if (out[0] < lo || out[1] < lo)
		return fail_at(c, x->pos, "%s must be at least %lld", what, (long long)lo);
	return true;
}

/* The optional axis keyword: *has is false when absent. */
static bool arg_axis(checker *c, const gb_ast_expr *x, int rank, int *axis, bool *has)
{
	*has = x != NULL;
	if (!x)
		return true;
	int64_t v;
	return arg_int(c, x, &v, "axis") && gb_lang_axis(&c->env, v, rank, axis, x->pos);
}

static bool arg_const_scalar(checker *c, const gb_ast_expr *x, float *v, const char *what)
{
	ty t;
	if (!check_expr(c, x, &t) || !want_f32(c, &t, x->pos, what))
		return false;
	if (t.ndim != 0 || !t.has_fval)
		return fail_at(c, x->pos, "%s must be a constant scalar (a number or a scalar param), not %s", what, TS(&t));
	*v = t.fval;
	return true;
}

/* Arguments of one element type (f32, ints converting, or bool), broadcast. */
static bool logic_args(checker *c, const char *name, const gb_ast_expr *const *xs, int n, ty *out)
{
	ty acc;
	for (int i = 0; i < n; i++) {
		ty t;
		if (!check_expr(c, xs[i], &t) || !want_array(c, &t, xs[i]->pos, "an argument"))
			return false;
		t = as_value(&t);
		if (i == 0) {
			acc = t;
			continue;
		}
		if (t.kind != acc.kind)
			return fail_at(c, xs[i]->pos, "%s needs arguments of one element type, not %s and %s", name, TS(&acc),
			               TS(&t));
		if (!broadcast(c, &acc, &t, &acc, xs[i]->pos, name))
			return false;
	}
	acc.has_fval = false;
	acc.is_list = false;
	*out = acc;
	return true;
}

static bool pool_shape(checker *c, const gb_ast_expr *e, const gb_prim_args *ba, const char *name, ty *out)
{
	ty x;
	int64_t size[2], stride[2], pad[2];
	if (!arg_f32(c, ba->param[0], &x, "the image") || !arg_pair(c, ba->param[1], 1, 1, size, "size"))
		return false;
	if (!arg_pair(c, ba->param[2], 0, 1, stride, "stride") || !arg_pair(c, ba->param[3], 0, 0, pad, "padding"))
		return false;
	if (!ba->param[2]) {
		stride[0] = size[0];
		stride[1] = size[1];
	}
	if (x.ndim != 3)
		return fail_at(c, ba->param[0]->pos, "%s takes an image f32[C, H, W], not %s", name, TS(&x));
	ty r = x;
	for (int k = 0; k < 2; k++) {
		if (pad[k] >= size[k])
			return fail_at(c, ba->param[3]->pos, "%s: padding %lld must be smaller than the window %lld", name,
			               (long long)pad[k], (long long)size[k]);
		if (size[k] > INT64_MAX / 4 || x.dims[1 + k] + 2 * pad[k] < size[k])
			return fail_at(c, e->pos, "%s: the %lld-wide window does not fit in %s", name, (long long)size[k], TS(&x));
		int64_t span = x.dims[1 + k] + 2 * pad[k] - size[k];
		r.dims[1 + k] = span / stride[k] + 1;
	}
	*out = r;
	return true;
}

static bool check_prim(checker *c, const gb_ast_expr *e, const gb_prim *p, ty *out)
{
	gb_prim_args ba;
	if (!gb_prim_bind(&c->env, e, p, true, &ba))
		return false;
	const gb_ast_expr *const *args = (const gb_ast_expr *const *)e->u.call.args;
	int n_args = e->u.call.n_args;
	ty x, y;
	int axis = 0;
	bool has_axis;
	switch (p->id) {
	case GB_PRIM_RELU:
	case GB_PRIM_ABS:
	case GB_PRIM_SIGMOID:
	case GB_PRIM_TANH:
	case GB_PRIM_GELU:
		if (!arg_f32(c, ba.param[0], &x, "the argument"))
			return false;
		x.has_fval = false;
		x.is_list = false;
		*out = x;
		return true;
	case GB_PRIM_FLOAT:
		if (!check_expr(c, ba.param[0], &x) || !want_array(c, &x, ba.param[0]->pos, "the argument"))
			return false;
		if (x.kind != T_BOOL)
			return fail_at(c, ba.param[0]->pos, "float converts bool, not %s", TS(&x));
		x.kind = T_F32;
		*out = x;
		return true;
	case GB_PRIM_CLAMP: {
		float lo, hi;
		if (!arg_f32(c, ba.param[0], &x, "the argument") || !arg_const_scalar(c, ba.param[1], &lo, "lo") ||
		    !arg_const_scalar(c, ba.param[2], &hi, "hi"))
			return false;
		if (!(lo <= hi))
			return fail_at(c, e->pos, "clamp needs lo <= hi, not %g > %g", (double)lo, (double)hi);
		x.has_fval = false;
		x.is_list = false;
		*out = x;
		return true;
	}
	case GB_PRIM_STEP: {
		if (!arg_f32(c, ba.param[0], &x, "the argument"))
			return false;
		if (ba.param[1]) {
			if (!arg_f32(c, ba.param[1], &y, "threshold") || !broadcast(c, &x, &y, &x, e->pos, "step"))
				return false;
		}
		if (ba.kw[0]) {
			float width;
			if (!arg_const_scalar(c, ba.kw[0], &width, "width"))
				return false;
			if (!(width > 0))
				return fail_at(c, ba.kw[0]->pos, "width must be positive, not %g", (double)width);
		}
		x.has_fval = false;
		x.is_list = false;
		*out = x;
		return true;
	}
	case GB_PRIM_MAX:
	case GB_PRIM_MIN:
		if (n_args >= 2) {
			if (ba.kw[0])
				return fail_at(c, ba.kw[0]->pos, "%s of several arrays is elementwise and takes no axis", p->name);
			for (int i = 0; i < n_args; i++) {
				if (!arg_f32(c, args[i], &y, "an argument"))
					return false;
				if (i == 0)
					x = y;
				else if (!broadcast(c, &x, &y, &x, args[i]->pos, p->name))
					return false;
			}
			x.has_fval = false;
			x.is_list = false;
			*out = x;
			return true;
		}
		/* One argument: a reduction, like sum. */
		/* fall through */
	case GB_PRIM_SUM:
	case GB_PRIM_MEAN:
	case GB_PRIM_ARGMAX:
		if (!arg_f32(c, ba.param[0], &x, "the argument") || !arg_axis(c, ba.kw[0], x.ndim, &axis, &has_axis))
			return false;
		if (p->id == GB_PRIM_ARGMAX && x.ndim == 0)
			return fail_at(c, ba.param[0]->pos, "argmax needs an array, not a scalar");
		*out = has_axis ? drop_axis(&x, axis) : scalar(T_F32);
		return true;
	case GB_PRIM_SOFTMAX:
	case GB_PRIM_LOG_SOFTMAX:
		if (!arg_f32(c, ba.param[0], &x, "the argument"))
			return false;
		if (x.ndim == 0)
			return fail_at(c, ba.param[0]->pos, "%s needs an array, not a scalar", p->name);
		if (!arg_axis(c, ba.kw[0], x.ndim, &axis, &has_axis))
			return false;
		x.is_list = false;
		*out = x;
		return true;
	case GB_PRIM_SORT:
		if (!arg_f32(c, ba.param[0], &x, "the argument"))
			return false;
		if (x.ndim == 0)
			return fail_at(c, ba.param[0]->pos, "sort needs an array, not a scalar");
		if (ba.kw[0] && ba.kw[0]->kind != GB_AST_BOOL_LIT)
			return fail_at(c, ba.kw[0]->pos, "descending must be True or False");
		x.is_list = false;
		*out = x;
		return true;
	case GB_PRIM_XOR:
	case GB_PRIM_MAJORITY:
		if (p->id == GB_PRIM_MAJORITY && n_args % 2 == 0)
			return fail_at(c, e->pos, "majority takes an odd number of arguments, got %d", n_args);
		if (n_args != p->n_required + ba.n_more)
			return fail_at(c, e->pos, "%s takes positional arguments only", p->name);
		return logic_args(c, p->name, args, n_args, out);
	case GB_PRIM_WHERE: {
		ty cond;
		if (!check_expr(c, ba.param[0], &cond) || !want_array(c, &cond, ba.param[0]->pos, "the condition"))
			return false;
		if (cond.kind != T_BOOL)
			return fail_at(c, ba.param[0]->pos, "the condition of where must be bool, not %s", TS(&cond));
		const gb_ast_expr *ab[2] = {ba.param[1], ba.param[2]};
		if (!logic_args(c, "where", ab, 2, &x))
			return false;
		return broadcast(c, &x, &cond, out, e->pos, "where");
	}
	case GB_PRIM_DENSE: {
		ty w;
		if (!arg_f32(c, ba.param[0], &x, "the input") || !arg_f32(c, ba.param[1], &w, "the weight"))
			return false;
		if (x.ndim != 1 && x.ndim != 2)
			return fail_at(c, ba.param[0]->pos, "dense takes f32[K] or f32[M, K], not %s", TS(&x));
		if (w.ndim != 2)
			return fail_at(c, ba.param[1]->pos, "dense takes a weight f32[N, K], not %s", TS(&w));
		if (w.dims[1] != x.dims[x.ndim - 1])
			return fail_at(c, ba.param[1]->pos, "dense: the weight %s does not take %lld inputs (%s)", TS(&w),
			               (long long)x.dims[x.ndim - 1], TS(&x));
		ty r = x;
		r.is_list = false;
		r.has_fval = false;
		r.dims[r.ndim - 1] = w.dims[0];
		if (ba.param[2]) {
			if (!arg_f32(c, ba.param[2], &y, "the bias"))
				return false;
			if (y.ndim != 1 || y.dims[0] != w.dims[0])
				return fail_at(c, ba.param[2]->pos, "dense: the bias must be f32[%lld], not %s", (long long)w.dims[0],
				               TS(&y));
		}
		*out = r;
		return true;
	}
	case GB_PRIM_MATMUL:
		if (!arg_f32(c, ba.param[0], &x, "the first argument") || !arg_f32(c, ba.param[1], &y, "the second argument"))
			return false;
		return matmul_shape(c, &x, &y, out, e->pos);
	case GB_PRIM_TRANSPOSE: {
		if (!check_expr(c, ba.param[0], &x) || !want_array(c, &x, ba.param[0]->pos, "the argument"))
			return false;
		x = as_value(&x);
		ty r = scalar(x.kind);
		r.ndim = x.ndim;
		if (!ba.param[1]) {
			for (int i = 0; i < x.ndim; i++)
				r.dims[i] = x.dims[x.ndim - 1 - i];
		} else {
			if (!check_expr(c, ba.param[1], &y))
				return false;
			if (!(y.kind == T_F32 && y.is_list && y.dims[0] == x.ndim))
				return fail_at(c, ba.param[1]->pos, "perm must be a list of %d integers, not %s", x.ndim, TS(&y));
			bool seen[GB_MAX_DIMS] = {false};
			for (int i = 0; i < x.ndim; i++) {
				int64_t a = y.lv[i];
				if (a < 0 || a >= x.ndim || seen[a])
					return fail_at(c, ba.param[1]->pos, "perm must be a permutation of 0..%d", x.ndim - 1);
				seen[a] = true;
				r.dims[i] = x.dims[a];
			}
		}
		*out = r;
		return true;
	}
	case GB_PRIM_CONV2D: {
		ty k;
		int64_t stride[2], pad[2], dil[2], groups = 1;
		if (!arg_f32(c, ba.param[0], &x, "the image") || !arg_f32(c, ba.param[1], &k, "the kernel"))
			return false;
		if (!arg_pair(c, ba.param[3], 1, 1, stride, "stride") || !arg_pair(c, ba.param[4], 0, 0, pad, "padding") ||
		    !arg_pair(c, ba.param[5], 1, 1, dil, "dilation"))
			return false;
		if (ba.param[6] && !arg_int(c, ba.param[6], &groups, "groups"))
			return false;
		if (x.ndim != 3)
			return fail_at(c, ba.param[0]->pos, "conv2d takes an image f32[C, H, W], not %s", TS(&x));
		if (k.ndim != 4)
			return fail_at(c, ba.param[1]->pos, "conv2d takes a kernel f32[O, C/groups, KH, KW], not %s", TS(&k));
		if (groups < 1 || x.dims[0] % groups || k.dims[0] % groups)
			return fail_at(c, ba.param[6] ? ba.param[6]->pos : e->pos,
			               "groups %lld must divide the %lld input and %lld output channels", (long long)groups,
			               (long long)x.dims[0], (long long)k.dims[0]);
		if (k.dims[1] != x.dims[0] / groups)
			return fail_at(c, ba.param[1]->pos, "conv2d: the kernel %s takes %lld channels per group, the image %s has %lld",
			               TS(&k), (long long)k.dims[1], TS(&x), (long long)(x.dims[0] / groups));
		ty r = scalar(T_F32);
		r.ndim = 3;
		r.dims[0] = k.dims[0];
		for (int a = 0; a < 2; a++) {
			int64_t in = x.dims[1 + a], kk = k.dims[2 + a];
			if (pad[a] > INT64_MAX / 4 || dil[a] > INT64_MAX / 4 / kk)
				return fail_at(c, e->pos, "conv2d: padding or dilation too large");
			int64_t span = in + 2 * pad[a] - dil[a] * (kk - 1) - 1;
			if (span < 0)
				return fail_at(c, e->pos, "conv2d: the kernel %s does not fit in the image %s", TS(&k), TS(&x));
			r.dims[1 + a] = span / stride[a] + 1;
		}
		if (ba.param[2]) {
			if (!arg_f32(c, ba.param[2], &y, "the bias"))
				return false;
			if (y.ndim != 1 || y.dims[0] != k.dims[0])
				return fail_at(c, ba.param[2]->pos, "conv2d: the bias must be f32[%lld], not %s", (long long)k.dims[0],
				               TS(&y));
		}
		*out = r;
		return true;
	}
	case GB_PRIM_MAXPOOL2D:
	case GB_PRIM_AVGPOOL2D: return pool_shape(c, e, &ba, p->name, out);
	case GB_PRIM_FLATTEN:
		if (!check_expr(c, ba.param[0], &x) || !want_array(c, &x, ba.param[0]->pos, "the argument"))
			return false;
		x = as_value(&x);
		*out = scalar(x.kind);
		out->ndim = 1;
		out->dims[0] = numel(&x);
		return true;
	case GB_PRIM_RESHAPE: {
		if (!check_expr(c, ba.param[0], &x) || !want_array(c, &x, ba.param[0]->pos, "the argument") ||
		    !check_expr(c, ba.param[1], &y))
			return false;
		x = as_value(&x);
		if (!(y.kind == T_F32 && y.is_list))
			return fail_at(c, ba.param[1]->pos, "the shape must be a list of integers, not %s", TS(&y));
		if (y.dims[0] > GB_MAX_DIMS)
			return fail_at(c, ba.param[1]->pos, "the shape has more than %d axes", GB_MAX_DIMS);
		ty r = scalar(x.kind);
		r.ndim = (int)y.dims[0];
		int infer = -1;
		int64_t known = 1;
		for (int i = 0; i < r.ndim; i++) {
			int64_t d = y.lv[i];
			if (d == -1 && infer < 0) {
				infer = i;
				continue;
			}
			if (d < 1)
				return fail_at(c, ba.param[1]->pos, "shape entries are positive (one may be -1), not %lld", (long long)d);
			if (!gb_mul_i64(known, d, &known) || known > numel(&x))
				return fail_at(c, ba.param[1]->pos, "cannot reshape %s (%lld elements) to this shape", TS(&x),
				               (long long)numel(&x));
			r.dims[i] = d;
		}
		if (infer >= 0)
			r.dims[infer] = numel(&x) / known;
		if (numel(&x) % known || (infer < 0 && known != numel(&x)))
			return fail_at(c, ba.param[1]->pos, "cannot reshape %s (%lld elements) to this shape", TS(&x),
			               (long long)numel(&x));
		*out = r;
		return true;
	}
	case GB_PRIM_CONCAT: {
		int64_t ax = 0;
		if (ba.kw[0] && !arg_int(c, ba.kw[0], &ax, "axis"))
			return false;
		for (int i = 0; i < n_args; i++) {
			if (!check_expr(c, args[i], &y) || !want_array(c, &y, args[i]->pos, "an argument"))
				return false;
			y = as_value(&y);
			if (i == 0) {
				x = y;
				if (x.ndim == 0)
					return fail_at(c, args[i]->pos, "concat joins arrays, not scalars");
				if (!gb_lang_axis(&c->env, ax, x.ndim, &axis, ba.kw[0] ? ba.kw[0]->pos : e->pos))
					return false;
				continue;
			}
			bool ok = y.kind == x.kind && y.ndim == x.ndim;
			for (int k = 0; ok && k < x.ndim; k++)
				ok = k == axis || y.dims[k] == x.dims[k];
			if (!ok)
				return fail_at(c, args[i]->pos, "concat along axis %d: %s does not fit %s", axis, TS(&y), TS(&x));
			x.dims[axis] += y.dims[axis];
		}
		x.is_list = false;
		x.has_fval = false;
		*out = x;
		return check_size(c, out, e->pos);
	}
	case GB_PRIM_COUNT: break;
	}
	GB_ASSERT(0);
	return false;
}

static bool check_call(checker *c, const gb_ast_expr *e, ty *out)
{
	const char *name = e->u.call.callee;
	int index;
	if (find_def(c, name, &index))
		return call_def(c, e, index, out);
	const gb_prim *p = gb_prim_find(name);
	if (!p) {
		for (int i = 0; i < c->n_defs; i++)
			if (strcmp(c->defs[i]->u.def.name, name) == 0)
				return fail_at(c, e->pos, "def %s is not visible here (a def calls only defs above it)", name);
		return fail_at(c, e->pos, "unknown function '%s'", name);
	}
	return check_prim(c, e, p, out);
}

static bool check_name(checker *c, const gb_ast_expr *e, ty *out)
{
	binding *b = lookup(c, e->u.name);
	if (!b) {
		if (c->call_depth > 0) {
			for (int i = 0; i < c->top_end; i++)
				if (c->binds[i].name && strcmp(c->binds[i].name, e->u.name) == 0)
					return fail_at(c, e->pos, "'%s' is not visible in a def (a def sees its parameters and the params)",
					               e->u.name);
		}
		if (is_reserved(e->u.name))
			return fail_at(c, e->pos, "'%s' is predefined and not a value", e->u.name);
		return fail_at(c, e->pos, "unknown name '%s'", e->u.name);
	}
	if (!check_defined(c, b, NULL, e->pos))
		return false;
	*out = b->type;
	return true;
}

static bool check_index(checker *c, const gb_ast_expr *e, ty *out)
{
	const gb_ast_expr *base = e->u.index.base;
	ty t;
	binding *b = NULL;
	if (base->kind == GB_AST_NAME) { /* partly defined arrays may be read by element */
		b = lookup(c, base->u.name);
		if (!b)
			return check_name(c, base, &t);
		t = b->type;
	} else if (!check_expr(c, base, &t)) {
		return false;
	}
	t = as_value(&t);
	region r;
	if (!make_region(c, &t, e->u.index.subs, e->u.index.n_subs, &r, out, e->pos))
		return false;
	if (b && !check_defined(c, b, &r, e->pos))
		return false;
	if (t.is_list && out->ndim == 0) { /* an element of an int list is that int */
		int64_t v = t.lv[r.ax[0].start];
		*out = scalar(T_INT);
		out->ival = v;
	}
	return true;
}

static bool check_expr_kind(checker *c, const gb_ast_expr *e, ty *out);

/* Every array value stays within GB_LANG_MAX_ELEMENTS (broadcasting and
 * matmul can multiply sizes). */
static bool check_expr(checker *c, const gb_ast_expr *e, ty *out)
{
	if (!check_expr_kind(c, e, out))
		return false;
	return out->kind == T_INT || out->kind == T_TUPLE || check_size(c, out, e->pos);
}

static bool check_expr_kind(checker *c, const gb_ast_expr *e, ty *out)
{
	switch (e->kind) {
	case GB_AST_NAME: return check_name(c, e, out);
	case GB_AST_INT:
		*out = scalar(T_INT);
		out->ival = e->u.ival;
		return true;
	case GB_AST_FLOAT:
		*out = scalar(T_F32);
		out->has_fval = true;
		out->fval = e->u.fval;
		return true;
	case GB_AST_BOOL_LIT: *out = scalar(T_BOOL); return true;
	case GB_AST_UNARY: {
		ty t;
		if (!check_expr(c, e->u.unary.operand, &t) || !want_array(c, &t, e->u.unary.operand->pos, "the operand"))
			return false;
		if (e->u.unary.op == GB_AST_NOT) {
			*out = as_value(&t);
			out->has_fval = false;
			out->is_list = false;
			return true;
		}
		if (t.kind == T_INT) {
			if (t.ival == INT64_MIN)
				return fail_at(c, e->pos, "integer overflow in '-'");
			*out = t;
			out->ival = -t.ival;
			return true;
		}
		if (!want_f32(c, &t, e->u.unary.operand->pos, "the operand of '-'"))
			return false;
		*out = t;
		out->is_list = false;
		out->fval = -t.fval;
		return true;
	}
	case GB_AST_BINARY: return check_binary(c, e, out);
	case GB_AST_CALL: return check_call(c, e, out);
	case GB_AST_INDEX: return check_index(c, e, out);
	case GB_AST_ARRAY: return check_array(c, e, out);
	case GB_AST_COMPREHENSION: return check_comprehension(c, e, out);
	case GB_AST_WEIGHTS: return fail_at(c, e->pos, "weights[...] may only be the whole value of a param");
	}
	return false;
}

/* ---- types written in the program ------------------------------------------------------ */

/* Resolves a declared type; shape variables are looked up among the
 * current def's bindings. */
static bool resolve_type(checker *c, const gb_ast_type *at, ty *out)
{
	ty t = scalar(at->elem == GB_AST_BOOL ? T_BOOL : T_F32);
	t.ndim = at->ndim;
	for (int i = 0; i < at->ndim; i++) {
		if (!at->dims[i].name) {
			t.dims[i] = at->dims[i].size;
			continue;
		}
		binding *b = lookup(c, at->dims[i].name);
		if (!b || b->kind != B_SHAPE)
			return fail_at(c, at->dims[i].pos, "'%s' is not a shape variable of this def", at->dims[i].name);
		t.dims[i] = b->type.ival;
	}
	*out = t;
	return check_size(c, &t, at->pos);
}

/* A value of type v where declared type d is expected (ints convert). */
static bool fits(const ty *v, const ty *d)
{
	ty x = as_value(v);
	return same_type(&x, d);
}

/* ---- def calls ------------------------------------------------------------------------ */

static bool same_args(const ty *a, const ty *b, int n)
{
	for (int i = 0; i < n; i++)
		if (!same_type(&a[i], &b[i]))
			return false;
	return true;
}

static bool call_def(checker *c, const gb_ast_expr *call, int def_index, ty *out)
{
	const gb_ast_stmt *d = c->defs[def_index];
	int n = d->u.def.n_params;
	if (call->u.call.n_kwargs)
		return fail_at(c, call->u.call.kwargs[0].pos, "def %s takes positional arguments only", d->u.def.name);
	if (call->u.call.n_args != n)
		return fail_at(c, call->pos, "def %s takes %d argument%s, got %d", d->u.def.name, n, n == 1 ? "" : "s",
		               call->u.call.n_args);
	ty small[8];
	ty *args = n <= 8 ? small : malloc(sizeof *args * (size_t)n);
	if (!args)
		return nomem(c);
	bool ok = true;
	for (int i = 0; ok && i < n; i++) {
		const gb_ast_expr *a = call->u.call.args[i];
		ok = check_expr(c, a, &args[i]) && want_array(c, &args[i], a->pos, "an argument");
		args[i] = as_value(&args[i]);
		args[i].is_list = false;
		args[i].has_fval = false;
	}
	for (int m = 0; ok && m < c->n_memos; m++)
		if (c->memos[m].def_index == def_index && same_args(c->memos[m].args, args, n)) {
			*out = c->memos[m].result;
			if (args != small)
				free(args);
			return true;
		}
	if (ok && c->call_depth >= GB_LANG_MAX_CALL_DEPTH)
		ok = fail_at(c, call->pos, "def calls nest deeper than %d", GB_LANG_MAX_CALL_DEPTH);
	if (!ok) {
		if (args != small)
			free(args);
		return false;
	}

	/* A new frame: parameters and shape variables, then the body. */
	int saved_start = c->frame_start, saved_visible = c->visible_defs, saved_top = c->top_end;
	if (c->call_depth == 0)
		c->top_end = c->n_binds;
	c->frame_start = c->n_binds;
	c->visible_defs = def_index;
	c->call_depth++;
	for (int i = 0; ok && i < n; i++) {
		const gb_ast_param_decl *pd = &d->u.def.params[i];
		const gb_ast_type *at = &pd->type;
		ty want = scalar(at->elem == GB_AST_BOOL ? T_BOOL : T_F32);
		want.ndim = at->ndim;
		bool shape_ok = args[i].kind == want.kind && args[i].ndim == at->ndim;
		for (int k = 0; shape_ok && k < at->ndim; k++) {
			int64_t have = args[i].dims[k];
			want.dims[k] = have;
			if (!at->dims[k].name) {
				want.dims[k] = at->dims[k].size;
				shape_ok = have == at->dims[k].size;
				continue;
			}
			binding *sv = lookup(c, at->dims[k].name);
			if (sv && sv->kind == B_SHAPE && c->binds + c->frame_start <= sv) {
				shape_ok = sv->type.ival == have;
			} else {
				ty v = scalar(T_INT);
				v.ival = have;
				ok = check_new_name(c, at->dims[k].name, at->dims[k].pos) &&
				     push_binding(c, at->dims[k].name, B_SHAPE, &v, at->dims[k].pos);
			}
		}
		if (ok && !shape_ok) {
			char decl[96];
			size_t len = (size_t)snprintf(decl, sizeof decl, "%s", at->elem == GB_AST_BOOL ? "bool" : "f32");
			for (int k = 0; k < at->ndim && len < sizeof decl; k++) {
				if (at->dims[k].name)
					len += (size_t)snprintf(decl + len, sizeof decl - len, "%s%s", k ? ", " : "[", at->dims[k].name);
				else
					len += (size_t)snprintf(decl + len, sizeof decl - len, "%s%lld", k ? ", " : "[",
					                        (long long)at->dims[k].size);
			}
			if (at->ndim && len < sizeof decl)
				snprintf(decl + len, sizeof decl - len, "]");
			ok = fail_at(c, call->u.call.args[i]->pos, "def %s: argument '%s' is %s, the parameter is %s",
			             d->u.def.name, pd->name, TS(&args[i]), decl);
		}
		if (ok) {
			ok = check_new_name(c, pd->name, pd->pos);
			binding *pb = ok ? push_binding(c, pd->name, B_VAR, &args[i], pd->pos) : NULL;
			ok = pb != NULL;
		}
	}
	ty result = scalar(T_F32);
	const gb_ast_block *body = &d->u.def.body;
	if (ok && (body->n_stmts == 0 || body->stmts[body->n_stmts - 1]->kind != GB_AST_RETURN))
		ok = fail_at(c, d->pos, "def %s does not end with a return statement", d->u.def.name);
	if (ok)
		ok = check_block(c, body);
	if (ok) { /* the return statement left its value in c->ret */
		const gb_ast_stmt *ret = body->stmts[body->n_stmts - 1];
		int k = d->u.def.n_returns;
		ty *got = c->ret.kind == T_TUPLE ? c->ret.items : &c->ret;
		int n_got = c->ret.kind == T_TUPLE ? c->ret.n_items : 1;
		if (n_got != k)
			ok = fail_at(c, ret->pos, "def %s returns %d value%s, its type says %d", d->u.def.name, n_got,
			             n_got == 1 ? "" : "s", k);
		ty *want = k > 1 ? gb_arena_alloc(&c->arena, sizeof *want * (size_t)k) : &result;
		if (!want)
			ok = nomem(c);
		for (int i = 0; ok && i < k; i++) {
			ok = resolve_type(c, &d->u.def.returns[i], &want[i]);
			if (ok && !fits(&got[i], &want[i]))
				ok = fail_at(c, ret->u.ret.values[i]->pos, "def %s returns %s where its type says %s", d->u.def.name,
				             TS(&got[i]), TS(&want[i]));
		}
		if (ok && k > 1) {
			result = scalar(T_TUPLE);
			result.items = want;
			result.n_items = k;
		}
	}
	pop_bindings(c, c->frame_start);
	c->call_depth--;
	c->frame_start = saved_start;
	c->visible_defs = saved_visible;
	c->top_end = saved_top;
	ty *kept = ok ? gb_arena_alloc(&c->arena, sizeof *kept * (size_t)(n ? n : 1)) : NULL;
	if (ok && !kept)
		ok = nomem(c);
	if (ok)
		memcpy(kept, args, sizeof *kept * (size_t)n);
	if (args != small)
		free(args);
	if (!ok)
		return false;
	if (c->n_memos == c->cap_memos) {
		int cap = c->cap_memos ? c->cap_memos * 2 : 16;
		memo *grown = realloc(c->memos, sizeof *grown * (size_t)cap);
		if (!grown)
			return nomem(c);
		c->memos = grown;
		c->cap_memos = cap;
	}
	c->memos[c->n_memos++] = (memo){def_index, kept, n, result};
	*out = result;
	return true;
}

/* ---- statements ------------------------------------------------------------------------- */

/* A param's value: literals, -literals, nested lists of them, weights["k"]. */
static bool is_constant(const gb_ast_expr *e)
{
	switch (e->kind) {
	case GB_AST_INT:
	case GB_AST_FLOAT:
	case GB_AST_BOOL_LIT: return true;
	case GB_AST_UNARY: return e->u.unary.op == GB_AST_NEG && is_constant(e->u.unary.operand);
	case GB_AST_ARRAY:
		for (int i = 0; i < e->u.array.n_items; i++)
			if (!is_constant(e->u.array.items[i]))
				return false;
		return true;
	default: return false;
	}
}

static bool check_declared_name(checker *c, const char *name, gb_ast_pos pos)
{
	binding *b = lookup(c, name);
	if (b)
		return fail_at(c, pos, "'%s' is already bound (%s at %d:%d)", name, bkind_str(b->kind), b->pos.line,
		               b->pos.col);
	return check_new_name(c, name, pos);
}

static bool check_decl(checker *c, const gb_ast_stmt *s)
{
	const char *name = s->u.decl.name;
	gb_ast_pos pos = s->u.decl.name_pos;
	if (!check_declared_name(c, name, pos))
		return false;
	ty decl = scalar(T_F32), value = scalar(T_F32);
	if (s->u.decl.type && !resolve_type(c, s->u.decl.type, &decl))
		return false;
	bkind kind = s->kind == GB_AST_INPUT ? B_INPUT : s->kind == GB_AST_PARAM ? B_PARAM : B_OUTPUT;
	const gb_ast_expr *v = s->u.decl.value;
	if (kind == B_PARAM) {
		if (v->kind == GB_AST_WEIGHTS) {
			if (!c->weights_stmt)
				return fail_at(c, v->pos, "weights[\"%s\"] needs a weights \"FILE\" line above it", v->u.weights_key);
			value = decl;
		} else {
			if (!is_constant(v))
				return fail_at(c, v->pos, "a param's value is a constant: numbers, lists of numbers or weights[\"name\"]");
			if (!check_expr(c, v, &value))
				return false;
		}
	} else if (v && !check_expr(c, v, &value)) {
		return false;
	}
	if (v && !want_array(c, &value, v->pos, "the value"))
		return false;
	if (v && s->u.decl.type && !fits(&value, &decl))
		return fail_at(c, v->pos, "%s '%s' is declared %s but its value is %s", bkind_str(kind), name, TS(&decl),
		               TS(&value));
	ty t = s->u.decl.type ? decl : as_value(&value);
	if (kind != B_PARAM || t.ndim != 0) {
		t.has_fval = false;
		t.is_list = false;
	} else if (v->kind != GB_AST_WEIGHTS) {
		ty val = as_value(&value);
		t.has_fval = val.has_fval; /* a scalar param is a constant for clamp and step */
		t.fval = val.fval;
	}
	binding *b = push_binding(c, name, kind, &t, pos);
	if (!b)
		return false;
	b->typed = true;
	b->none_defined = kind == B_OUTPUT && !v;
	return true;
}

/* Replaces the region of a binding by a value (y[...] = v). */
static bool assign_region(checker *c, const gb_ast_target *tg, const ty *v, gb_ast_pos value_pos)
{
	binding *b = lookup(c, tg->name);
	if (!b)
		return fail_at(c, tg->pos, "unknown name '%s' (assign the whole array, or declare it, first)", tg->name);
	if (b->kind != B_VAR && b->kind != B_OUTPUT)
		return fail_at(c, tg->pos, "cannot assign to %s '%s'", bkind_str(b->kind), tg->name);
	region r;
	ty sel;
	if (!make_region(c, &b->type, tg->subs, tg->n_subs, &r, &sel, tg->pos))
		return false;
	ty val = as_value(v);
	if (val.kind != sel.kind)
		return fail_at(c, value_pos, "cannot store %s into %s elements of '%s'", TS(&val), TS(&sel), tg->name);
	bool fit = val.ndim <= sel.ndim; /* val broadcasts to the region's shape */
	for (int k = 0; fit && k < val.ndim; k++) {
		int64_t d = val.dims[val.ndim - 1 - k];
		fit = d == 1 || d == sel.dims[sel.ndim - 1 - k];
	}
	if (!fit)
		return fail_at(c, value_pos, "a value of shape %s does not fit the region %s of '%s'", TS(&val), TS(&sel),
		               tg->name);
	b->type.is_list = false;
	b->type.has_fval = false;
	if (fully_defined(b))
		return true;
	int64_t n = numel(&b->type);
	if (!b->defined) {
		if (n > MASK_LIMIT)
			return fail_at(c, tg->pos,
			               "'%s' has %lld elements: assign it whole (element-wise definition is checked up to %lld)",
			               tg->name, (long long)n, (long long)MASK_LIMIT);
		if (c->mask_bytes + n > MASK_TOTAL)
			return fail_at(c, tg->pos, "too many arrays are being defined element by element at once (%lld elements)",
			               (long long)(c->mask_bytes + n));
		b->defined = calloc((size_t)n, 1);
		if (!b->defined)
			return nomem(c);
		c->mask_bytes += n;
		b->n_defined = 0;
		b->none_defined = false;
	}
	if (!spend_visits(c, &r, tg->pos))
		return false;
	region_each(&b->type, &r, visit_define, b);
	if (b->n_defined == n)
		drop_mask(c, b);
	return true;
}

/* name = v, or name: T = v, or name: T (declared == true, v NULL). */
static bool assign_whole(checker *c, const char *name, gb_ast_pos pos, const ty *v, const gb_ast_type *annot)
{
	binding *b = lookup(c, name); /* in a def: its own bindings, or a top-level param */
	if (b && b->kind != B_VAR && b->kind != B_OUTPUT)
		return fail_at(c, pos, "cannot assign to %s '%s'", bkind_str(b->kind), name);
	if (!b && !check_new_name(c, name, pos))
		return false;
	ty decl;
	if (annot && !resolve_type(c, annot, &decl))
		return false;
	if (b && b->kind == B_OUTPUT && annot)
		return fail_at(c, pos, "output '%s' already has its type", name);
	if (v) {
		if (v->kind == T_TUPLE)
			return fail_at(c, pos, "the call returns %d results; assign them to %d names", v->n_items, v->n_items);
		const ty *want = annot ? &decl : (b && b->typed ? &b->type : NULL);
		if (want && !fits(v, want))
			return fail_at(c, pos, "'%s' is %s, not %s", name, TS(want), TS(v));
	}
	if (!b || (b->kind == B_VAR && (annot || !b->typed))) {
		ty t = annot ? decl : *v;
		if (b && b >= c->binds + c->frame_start) { /* rebind in place */
			drop_mask(c, b);
			b->type = t;
		} else if (!(b = push_binding(c, name, B_VAR, &t, pos))) {
			return false;
		}
		b->typed = annot != NULL;
	}
	drop_mask(c, b);
	b->none_defined = v == NULL;
	return true;
}

static bool check_stmt(checker *c, const gb_ast_stmt *s)
{
	if (!spend(c, s->pos))
		return false;
	switch (s->kind) {
	case GB_AST_WEIGHTS_FILE:
		if (c->weights_stmt)
			return fail_at(c, s->pos, "a second weights line (the first is at %d:%d)", c->weights_stmt->pos.line,
			               c->weights_stmt->pos.col);
		c->weights_stmt = s;
		return true;
	case GB_AST_INPUT:
	case GB_AST_OUTPUT:
	case GB_AST_PARAM: return check_decl(c, s);
	case GB_AST_ASSIGN: {
		int n = s->u.assign.n_targets;
		const gb_ast_target *tg = s->u.assign.targets;
		if (!s->u.assign.value)
			return assign_whole(c, tg[0].name, tg[0].pos, NULL, s->u.assign.type);
		ty v;
		if (!check_expr(c, s->u.assign.value, &v))
			return false;
		if (n > 1) {
			if (v.kind != T_TUPLE || v.n_items != n)
				return fail_at(c, s->u.assign.value->pos, "%d names need a def call with %d results, not %s", n, n,
				               TS(&v));
			/* Each target takes its item, left to right. */
			ty *items = v.items;
			for (int i = 0; i < n; i++) {
				bool ok = tg[i].n_subs ? assign_region(c, &tg[i], &items[i], s->u.assign.value->pos)
				                       : assign_whole(c, tg[i].name, tg[i].pos, &items[i], NULL);
				if (!ok)
					return false;
			}
			return true;
		}
		if (tg[0].n_subs) {
			if (!want_array(c, &v, s->u.assign.value->pos, "the value"))
				return false;
			return assign_region(c, &tg[0], &v, s->u.assign.value->pos);
		}
		return assign_whole(c, tg[0].name, tg[0].pos, &v, s->u.assign.type);
	}
	case GB_AST_FOR: {
		int64_t start, step, count;
		if (!eval_range(c, &s->u.loop.range, &start, &step, &count))
			return false;
		if (!check_new_name(c, s->u.loop.var, s->u.loop.var_pos))
			return false;
		if (lookup(c, s->u.loop.var))
			return fail_at(c, s->u.loop.var_pos, "loop variable '%s' is already bound", s->u.loop.var);
		ty var = scalar(T_INT);
		if (!push_binding(c, s->u.loop.var, B_LOOP, &var, s->u.loop.var_pos))
			return false;
		int index = c->n_binds - 1; /* bindings may move (realloc); keep the index */
		for (int64_t k = 0; k < count; k++) {
			c->binds[index].type.ival = start + k * step;
			if (!check_block(c, &s->u.loop.body))
				return false;
		}
		c->binds[index].name = NULL; /* the variable ends with the loop */
		while (c->n_binds > c->frame_start && !c->binds[c->n_binds - 1].name)
			pop_bindings(c, c->n_binds - 1);
		return true;
	}
	case GB_AST_DEF: {
		const char *name = s->u.def.name;
		int index;
		if (is_reserved(name))
			return fail_at(c, s->u.def.name_pos, "'%s' is a predefined name and cannot be a def", name);
		if (find_def(c, name, &index))
			return fail_at(c, s->u.def.name_pos, "def %s is already defined at %d:%d", name, c->defs[index]->pos.line,
			               c->defs[index]->pos.col);
		if (lookup(c, name))
			return fail_at(c, s->u.def.name_pos, "'%s' is already bound as a value", name);
		for (int i = 0; i < s->u.def.n_params; i++)
			for (int j = 0; j < i; j++)
				if (strcmp(s->u.def.params[i].name, s->u.def.params[j].name) == 0)
					return fail_at(c, s->u.def.params[i].pos, "def %s has two parameters named '%s'", name,
					               s->u.def.params[i].name);
		/* Shape variables in the result come from the parameters. */
		for (int r = 0; r < s->u.def.n_returns; r++)
			for (int k = 0; k < s->u.def.returns[r].ndim; k++) {
				const gb_ast_dim *dim = &s->u.def.returns[r].dims[k];
				bool found = !dim->name;
				for (int i = 0; i < s->u.def.n_params && !found; i++)
					for (int j = 0; j < s->u.def.params[i].type.ndim && !found; j++)
						found = s->u.def.params[i].type.dims[j].name &&
						        strcmp(s->u.def.params[i].type.dims[j].name, dim->name) == 0;
				if (!found)
					return fail_at(c, dim->pos, "shape variable '%s' does not occur in the parameters", dim->name);
			}
		c->defs[c->n_defs++] = s;
		c->visible_defs = c->n_defs;
		return true;
	}
	case GB_AST_RETURN: {
		int n = s->u.ret.n_values;
		ty *vals = gb_arena_alloc(&c->arena, sizeof *vals * (size_t)n);
		if (!vals)
			return nomem(c);
		for (int i = 0; i < n; i++) {
			if (!check_expr(c, s->u.ret.values[i], &vals[i]) ||
			    !want_array(c, &vals[i], s->u.ret.values[i]->pos, "a returned value"))
				return false;
			vals[i] = as_value(&vals[i]);
		}
		if (n == 1) {
			c->ret = vals[0];
		} else {
			c->ret = scalar(T_TUPLE);
			c->ret.items = vals;
			c->ret.n_items = n;
		}
		return true;
	}
	}
	return false;
}

static bool check_block(checker *c, const gb_ast_block *blk)
{
	for (int i = 0; i < blk->n_stmts; i++)
		if (!check_stmt(c, blk->stmts[i]))
			return false;
	return true;
}

static int count_defs(const gb_ast_block *blk)
{
	int n = 0;
	for (int i = 0; i < blk->n_stmts; i++)
		n += blk->stmts[i]->kind == GB_AST_DEF;
	return n;
}

gb_status gb_ast_check(const gb_ast *ast, gb_error *err)
{
	checker c;
	memset(&c, 0, sizeof c);
	c.file = ast->file;
	c.err = err;
	c.env = (gb_lang_env){&c, env_fail, NULL, NULL};
	c.budget = GB_LANG_MAX_UNROLLED;
	c.elem_budget = MASK_VISITS;
	gb_arena_init(&c.arena, (size_t)64 << 10);
	c.defs = malloc(sizeof *c.defs * (size_t)(count_defs(&ast->body) + 1));
	if (!c.defs) {
		nomem(&c);
		goto done;
	}
	if (!check_block(&c, &ast->body))
		goto done;
	/* Every output is fully defined at the end. */
	for (int i = 0; i < c.n_binds; i++) {
		const binding *b = &c.binds[i];
		if (b->kind == B_OUTPUT && !fully_defined(b)) {
			fail_at(&c, b->pos, "output '%s' is not fully defined by the end of the program", b->name);
			break;
		}
	}
done:
	pop_bindings(&c, 0);
	free(c.binds);
	free(c.memos);
	free(c.defs);
	gb_arena_release(&c.arena);
	return c.failed ? c.status : GB_OK;
}
