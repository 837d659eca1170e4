/*
 * compile.c — the compiler from checked .gbx programs to networks (lang.h
 * describes the interface; docs/language.md §10 gives every primitive's
 * ReLU and native expansion, §11 the whole scheme).
 *
 * The compiler walks the program exactly as the interpreter (interp.c) runs
 * it: loops are unrolled with their int variables known, defs are inlined
 * at each call, and every value is one of
 *
 *   - a compile-time int (loop variables, shape variables, literals);
 *   - a *constant* array (params, literals, and what is computed from them
 *     alone): its data is kept here and becomes an initializer only when a
 *     node reads it, so `K = reshape([v, h, d], [3, 1, 3, 3])` is one
 *     initializer K, never a chain of nodes;
 *   - a *batched* array: a graph value of shape [N, ...shape] with a leading
 *     dynamic batch axis N.
 *
 * Every operator goes through emit(): when all its operands are constants
 * the one node is run at once by the engine on them (each operand given a
 * batch axis of 1, so a node's attributes read the same in both cases) and
 * the result is a new constant; otherwise the node is added to the graph.
 *
 * Selection is exact for every value, inf and NaN included: indexing is a
 * Gather with constant int64 indices, and an element assignment y[...] = e
 * a Gather from Concat([old, new]) (or from new alone where the rest of y is
 * still undefined) — nothing is ever selected by multiplying with a mask.
 *
 * Names: each statement's value is named after its binding ("hidden";
 * inside loops the loop variables' values follow: "odd_3"), the nodes that
 * compute it after the binding and the op ("hidden_gemm"); params keep
 * their names as initializers; inputs and outputs are the program's.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/ops.h"
#include "graph/graph.h"
#include "internal.h"

/* ---- values ----------------------------------------------------------------------- */

typedef enum vkind { V_INT = 0, V_F32, V_BOOL, V_I64 } vkind; /* V_I64: shapes and indices only */

/* Constant data, shared between the values that hold it. */
typedef struct cbuf {
	int64_t refs;
	gb_tensor *t;     /* the value's shape exactly; F32, BOOL or I64 */
	int init;         /* its initializer once a node reads it, else -1 */
	const char *name; /* the name it prefers (a param's, a binding's), or NULL */
	bool exact;       /* name is reserved for it (a param) */
	const char *tag;  /* without a name: what it is ("shape", "indices") */
} cbuf;

/* Which elements of a declared array are still undefined (1 = undefined). */
typedef struct ubuf {
	int64_t refs;
	uint8_t u[];
} ubuf;

typedef struct val {
	vkind kind;
	int64_t ival; /* V_INT */
	int ndim;
	int64_t dims[GB_MAX_DIMS];
	bool is_list; /* a constant literal of ints only: indexing it gives an int */
	cbuf *c;      /* constant data, or NULL for a batched value */
	int v;        /* batched: the graph value [N, dims...] */
	ubuf *undef;  /* NULL: every element defined */
} val;

typedef struct binding {
	const char *name;
	val v;
	int level;
	bool is_param;
	bool has_type;
	vkind decl_kind;
} binding;

typedef struct name_slot {
	const char *name; /* arena string, NULL: empty */
	int64_t next;     /* next numeric suffix to try */
} name_slot;

#define MAX_LOOPS 64

typedef struct comp {
	const gb_ast *ast;
	const char *file;
	const char *dir;
	bool native;
	gb_error *err;
	gb_model *m;
	binding *binds;
	int n_binds, cap_binds;
	int frame, level;
	const gb_ast_stmt *weights_stmt;
	gb_tensor_map *weights;
	const gb_ast_stmt **defs;
	int n_defs;
	gb_ast_pos pos;      /* where the current expression is (messages) */
	/* names */
	name_slot *names;
	size_t cap_names, n_names;
	const char *hint;    /* the binding being computed */
	int first_value;     /* values created since the current statement began */
	int64_t loops[MAX_LOOPS];
	int n_loops;
	/* graph pieces made once */
	int first_input;     /* the graph input N is read from */
	int batch_n;         /* int64 [1]: N, or -1 */
	int *flat;           /* per graph value: its [N, numel] flattening, or -1 */
	int cap_flat;
	cbuf **i64_cache;    /* small int64 constants, shared */
	int n_i64, cap_i64;
	gb_lang_env env;     /* for eval_common.c: this compiler's messages and ints */
} comp;

static bool fail_at(comp *c, gb_ast_pos pos, gb_status st, const char *fmt, ...) GB_PRINTF(4, 5);

static bool fail_at(comp *c, gb_ast_pos pos, gb_status st, const char *fmt, ...)
{
	char msg[GB_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	gb_fail(c->err, st, "%s:%d:%d: %s", c->file, pos.line, pos.col, msg);
	return false;
}

#define BAD(c, pos, ...) fail_at(c, pos, GB_STATUS_BAD_FILE, __VA_ARGS__)

static bool nomem(comp *c)
{
	return fail_at(c, c->pos, GB_STATUS_NOMEM, "out of memory while compiling");
}

static int64_t vnumel(const val *v)
{
	return gb_lang_numel(v->ndim, v->dims);
}

static bool is_const(const val *v)
{
	return v->kind == V_INT || v->c != NULL;
}

static gb_dtype dtype_of(vkind k)
{
	return k == V_BOOL ? GB_DTYPE_BOOL : k == V_I64 ? GB_DTYPE_I64 : GB_DTYPE_F32;
}

static void val_drop(val *v)
{
	if (v->c && --v->c->refs == 0) {
		gb_tensor_free(v->c->t);
		free(v->c);
	}
	if (v->undef && --v->undef->refs == 0)
		free(v->undef);
	v->c = NULL;
	v->undef = NULL;
}

static val val_ref(const val *v)
{
	val r = *v;
	if (r.c)
		r.c->refs++;
	if (r.undef)
		r.undef->refs++;
	return r;
}

static val int_val(int64_t i)
{
	val v;
	memset(&v, 0, sizeof v);
	v.kind = V_INT;
	v.ival = i;
	v.v = -1;
	return v;
}

/* A new constant of this kind and shape, zero-filled. */
static bool const_new(comp *c, vkind kind, int ndim, const int64_t *dims, val *out)
{
	memset(out, 0, sizeof *out);
	out->kind = kind;
	out->ndim = ndim;
	out->v = -1;
	if (ndim)
		memcpy(out->dims, dims, sizeof(int64_t) * (size_t)ndim);
	out->c = calloc(1, sizeof *out->c);
	if (!out->c)
		return nomem(c);
	out->c->refs = 1;
	out->c->init = -1;
	gb_error e = {0};
	if (gb_tensor_new(dtype_of(kind), ndim, dims, &out->c->t, &e) != GB_OK) {
		free(out->c);
		out->c = NULL;
		return fail_at(c, c->pos, e.status, "%s", e.msg);
	}
	return true;
}

static bool scalar_f32(comp *c, float x, val *out)
{
	if (!const_new(c, V_F32, 0, NULL, out))
		return false;
	*(float *)out->c->t->data = x;
	return true;
}

/* An int64 constant (shapes, axes, indices); small ones are shared. */
static bool ints_val(comp *c, const char *tag, int ndim, const int64_t *dims, const int64_t *xs, val *out)
{
	int64_t n = gb_lang_numel(ndim, dims);
	if (n <= 16)
		for (int i = 0; i < c->n_i64; i++) {
			const gb_tensor *t = c->i64_cache[i]->t;
			if (t->ndim == ndim && gb_lang_numel(ndim, t->dims) == n &&
			    memcmp(t->dims, dims, sizeof(int64_t) * (size_t)ndim) == 0 &&
			    memcmp(t->data, xs, sizeof(int64_t) * (size_t)n) == 0) {
				memset(out, 0, sizeof *out);
				out->kind = V_I64;
				out->ndim = ndim;
				memcpy(out->dims, dims, sizeof(int64_t) * (size_t)ndim);
				out->c = c->i64_cache[i];
				out->c->refs++;
				out->v = -1;
				return true;
			}
		}
	if (!const_new(c, V_I64, ndim, dims, out))
		return false;
	memcpy(out->c->t->data, xs, sizeof(int64_t) * (size_t)n);
	out->c->tag = tag;
	if (n <= 16) {
		if (c->n_i64 == c->cap_i64) {
			int cap = c->cap_i64 ? 2 * c->cap_i64 : 32;
			cbuf **grown = realloc(c->i64_cache, sizeof *grown * (size_t)cap);
			if (!grown)
				return nomem(c);
			c->i64_cache = grown;
			c->cap_i64 = cap;
		}
		c->i64_cache[c->n_i64++] = out->c;
		out->c->refs++;
	}
	return true;
}

static bool ints1(comp *c, const char *tag, int n, const int64_t *xs, val *out)
{
	int64_t d = n;
	return ints_val(c, tag, 1, &d, xs, out);
}

/* ints become f32 scalars (exact up to 2^24); other values pass. */
static bool as_array(comp *c, val *v)
{
	if (v->kind != V_INT)
		return true;
	return scalar_f32(c, (float)v->ival, v);
}

/* A constant with the same data under another shape (same element count). */
static bool const_reshape(comp *c, const val *x, int ndim, const int64_t *dims, val *out)
{
	if (!const_new(c, x->kind, ndim, dims, out))
		return false;
	memcpy(out->c->t->data, x->c->t->data, (size_t)vnumel(x) * gb_dtype_size(dtype_of(x->kind)));
	return true;
}

/* ---- names ------------------------------------------------------------------------ */

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static name_slot *name_find(comp *c, const char *name)
{
	size_t mask = c->cap_names - 1;
	for (size_t i = (size_t)name_hash(name) & mask;; i = (i + 1) & mask)
		if (!c->names[i].name || strcmp(c->names[i].name, name) == 0)
			return &c->names[i];
}

/* Records name (copied into the model's arena); NULL when out of memory. */
static const char *name_add(comp *c, const char *name)
{
	if (2 * (c->n_names + 1) > c->cap_names) {
		size_t cap = c->cap_names ? 2 * c->cap_names : 256;
		name_slot *old = c->names;
		size_t old_cap = c->cap_names;
		c->names = calloc(cap, sizeof *c->names);
		if (!c->names) {
			c->names = old;
			return NULL;
		}
		c->cap_names = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].name)
				*name_find(c, old[i].name) = old[i];
		free(old);
	}
	name_slot *s = name_find(c, name);
	if (!s->name) {
		s->name = gb_arena_strdup(&c->m->arena, name);
		if (!s->name)
			return NULL;
		s->next = 1;
		c->n_names++;
	}
	return s->name;
}

static bool name_used(comp *c, const char *name)
{
	return c->cap_names && name_find(c, name)->name;
}

/* A fresh name: base itself, or base_1, base_2, ... */
static const char *name_fresh(comp *c, const char *base)
{
	if (!name_used(c, base))
		return name_add(c, base);
	name_slot *s = name_find(c, base);
	char buf[300];
	for (int64_t k = s->next;; k++) {
		snprintf(buf, sizeof buf, "%s_%lld", base, (long long)k);
		if (!name_used(c, buf)) {
			name_find(c, base)->next = k + 1;
			return name_add(c, buf);
		}
	}
}

/* The current binding's name with the enclosing loops' values: "odd_3". */
static void hint_text(comp *c, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "%s", c->hint ? c->hint : "t");
	for (int i = 0; i < c->n_loops && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "_%lld", (long long)c->loops[i]);
}

static const char *name_for(comp *c, const char *tag)
{
	char buf[256];
	hint_text(c, buf, sizeof buf);
	if (tag) {
		size_t len = strlen(buf);
		snprintf(buf + len, sizeof buf - len, "_%s", tag);
	}
	return name_fresh(c, buf);
}

/* ---- the graph ---------------------------------------------------------------------- */

/* A new graph value [N, dims...] (batched) or [dims...]. */
static int new_value(comp *c, const char *name, vkind kind, int ndim, const int64_t *dims, bool batched)
{
	int64_t d[GB_MAX_DIMS];
	int nd = 0;
	if (batched)
		d[nd++] = -1;
	if (ndim + nd > GB_MAX_DIMS)
		return -1;
	for (int i = 0; i < ndim; i++)
		d[nd++] = dims[i];
	int v = gb_model_add_value(c->m, name, dtype_of(kind), nd, d);
	if (v >= 0 && batched) {
		c->m->values[v].dim_param[0] = gb_arena_strdup(&c->m->arena, "N");
		if (!c->m->values[v].dim_param[0])
			return -1;
	}
	return v;
}

static bool rank_ok(comp *c, int ndim)
{
	if (ndim + 1 > GB_MAX_DIMS)
		return fail_at(c, c->pos, GB_STATUS_UNSUPPORTED,
		               "an array of rank %d has, with the batch axis, more than %d axes", ndim, GB_MAX_DIMS);
	return true;
}

/* The initializer of a constant (made on first use). */
static int materialise(comp *c, const val *x)
{
	cbuf *b = x->c;
	if (b->init >= 0)
		return b->init;
	const char *name = b->exact ? b->name : b->name ? name_fresh(c, b->name) : name_for(c, b->tag ? b->tag : "const");
	if (!name)
		return -1;
	int v = gb_model_add_value(c->m, name, b->t->dtype, b->t->ndim, b->t->dims);
	gb_error e = {0};
	if (v < 0 || gb_model_set_init(c->m, v, b->t, &e) != GB_OK)
		return -1;
	b->init = v;
	return v;
}

/* The int64 [1] value holding the batch size, from the first input. */
static int batch_size(comp *c)
{
	if (c->batch_n >= 0)
		return c->batch_n;
	int in = c->first_input;
	int rank = c->m->values[in].ndim;
	int64_t d1 = rank, zero = 0, one = 1;
	int shape = gb_model_add_value(c->m, name_fresh(c, "batch_shape"), GB_DTYPE_I64, 1, &d1);
	int n = gb_model_add_value(c->m, name_fresh(c, "batch_size"), GB_DTYPE_I64, 1, &one);
	val idx;
	if (shape < 0 || n < 0 || !ints1(c, "first", 1, &zero, &idx))
		return -1;
	int iv = materialise(c, &idx);
	val_drop(&idx);
	if (iv < 0)
		return -1;
	int ins[2] = {shape, iv};
	if (gb_model_add_node(c->m, c->m->values[shape].name, "Shape", "", 1, &in, 1, &shape) < 0 ||
	    gb_model_add_node(c->m, c->m->values[n].name, "Gather", "", 2, ins, 1, &n) < 0)
		return -1;
	c->batch_n = n;
	return n;
}

typedef struct attrs {
	gb_attr a[8];
	int n;
} attrs;

static void attr_int(attrs *as, const char *name, int64_t v)
{
	as->a[as->n++] = (gb_attr){.name = name, .type = GB_ATTR_INT, .i = v};
}

static void attr_ints(attrs *as, const char *name, int n, const int64_t *v)
{
	as->a[as->n++] = (gb_attr){.name = name, .type = GB_ATTR_INTS, .n = n, .ints = (int64_t *)v};
}

static void attr_str(attrs *as, const char *name, const char *s)
{
	as->a[as->n++] = (gb_attr){.name = name, .type = GB_ATTR_STRING, .s = s, .s_len = strlen(s)};
}

/* Runs one node on constant operands with the engine. Operands that are not
 * aux get a leading batch axis of 1, which the result loses again. */
static bool fold(comp *c, const char *op, int n_in, const val *const *ins, uint32_t aux, const attrs *as, int n_out,
                 vkind kind, val *out)
{
	gb_model *m = NULL;
	gb_session *s = NULL;
	gb_error e = {0};
	bool ok = false;
	int *iv = calloc((size_t)n_in + 1, sizeof *iv), ov[2];
	if (!iv)
		return nomem(c);
	if (gb_model_new_empty("fold", &m, &e) != GB_OK)
		goto done;
	m->opset = 13;
	for (int k = 0; k < n_in; k++) {
		iv[k] = -1;
		if (!ins[k])
			continue;
		gb_tensor t = *ins[k]->c->t;
		if (!(aux >> k & 1)) {
			if (t.ndim + 1 > GB_MAX_DIMS) {
				gb_fail(&e, GB_STATUS_UNSUPPORTED, "rank %d is too high to fold", t.ndim);
				goto done;
			}
			memmove(t.dims + 1, t.dims, sizeof(int64_t) * (size_t)t.ndim);
			t.dims[0] = 1;
			t.ndim++;
		}
		char name[16];
		snprintf(name, sizeof name, "i%d", k);
		iv[k] = gb_model_add_value(m, name, t.dtype, t.ndim, t.dims);
		if (iv[k] < 0) {
			gb_fail(&e, GB_STATUS_NOMEM, "out of memory");
			goto done;
		}
		if (gb_model_set_init(m, iv[k], &t, &e) != GB_OK)
			goto done;
	}
	for (int k = 0; k < n_out; k++) {
		char name[16];
		snprintf(name, sizeof name, "o%d", k);
		ov[k] = gb_model_add_value(m, name, k ? GB_DTYPE_I64 : dtype_of(kind), -1, NULL);
	}
	int node = gb_model_add_node(m, op, op, "", n_in, iv, n_out, ov);
	if (node < 0 || ov[0] < 0 || (n_out > 1 && ov[1] < 0)) {
		gb_fail(&e, GB_STATUS_NOMEM, "out of memory");
		goto done;
	}
	for (int k = 0; as && k < as->n; k++)
		if (gb_node_add_attr(m, &m->nodes[node], &as->a[k], &e) != GB_OK)
			goto done;
	if (gb_model_set_io(m, 0, NULL, n_out, ov, &e) != GB_OK || gb_model_prepare(m, &e) != GB_OK ||
	    gb_session_new(m, &s, &e) != GB_OK || gb_session_forward(s, &e) != GB_OK)
		goto done;
	const gb_tensor *r = gb_session_output(s, 0);
	if (!r || r->ndim < 1 || r->dims[0] != 1 || r->dtype != dtype_of(kind)) {
		gb_fail(&e, GB_STATUS_FAILURE, "%s gave an unexpected result", op);
		goto done;
	}
	if (!const_new(c, kind, r->ndim - 1, r->dims + 1, out))
		goto done;
	memcpy(out->c->t->data, r->data, (size_t)gb_tensor_numel(r) * gb_dtype_size(r->dtype));
	ok = true;
done:
	if (!ok && !c->err->msg[0])
		fail_at(c, c->pos, e.status == GB_STATUS_NOMEM ? GB_STATUS_NOMEM : GB_STATUS_UNSUPPORTED,
		        "cannot compute %s on constants: %s", op, e.msg);
	gb_session_free(s);
	gb_model_free(m);
	free(iv);
	return ok;
}

/* Adds one operator. ins[k] NULL: an omitted optional input. Inputs whose bit
 * is set in aux are constants read as they are (weights, shapes, indices);
 * the others are data in batched form. The result has kind and (program)
 * shape ndim/dims; its value is named after the binding and tag. When every
 * data input is constant the node is folded into a constant instead. */
static bool emit_n(comp *c, const char *op, const char *tag, int n_in, const val *const *ins, uint32_t aux,
                   const attrs *as, int n_out, vkind kind, int ndim, const int64_t *dims, val *out)
{
	memset(out, 0, sizeof *out);
	bool all_const = true;
	for (int k = 0; k < n_in; k++)
		if (ins[k] && !(aux >> k & 1) && !is_const(ins[k]))
			all_const = false;
	if (all_const) {
		if (!fold(c, op, n_in, ins, aux, as, n_out, kind, out))
			return false;
		if (out->ndim != ndim || memcmp(out->dims, dims, sizeof(int64_t) * (size_t)ndim) != 0) {
			val_drop(out);
			return fail_at(c, c->pos, GB_STATUS_FAILURE, "%s on constants gave an unexpected shape", op);
		}
		return true;
	}
	if (!rank_ok(c, ndim))
		return false;
	int *iv = calloc((size_t)n_in + 1, sizeof *iv);
	if (!iv)
		return nomem(c);
	for (int k = 0; k < n_in; k++) {
		iv[k] = !ins[k] ? -1 : ins[k]->c ? materialise(c, ins[k]) : ins[k]->v;
		if (ins[k] && iv[k] < 0) {
			free(iv);
			return nomem(c);
		}
	}
	const char *name = name_for(c, tag);
	int ov[2];
	ov[0] = name ? new_value(c, name, kind, ndim, dims, true) : -1;
	if (n_out > 1) {
		const char *n2 = name_for(c, "indices");
		ov[1] = n2 ? new_value(c, n2, V_I64, ndim, dims, true) : -1;
	}
	int node = ov[0] >= 0 && (n_out < 2 || ov[1] >= 0) ? gb_model_add_node(c->m, name, op, "", n_in, iv, n_out, ov)
	                                                    : -1;
	free(iv);
	if (node < 0)
		return nomem(c);
	for (int k = 0; as && k < as->n; k++)
		if (gb_node_add_attr(c->m, &c->m->nodes[node], &as->a[k], c->err) != GB_OK)
			return false;
	out->kind = kind;
	out->ndim = ndim;
	if (ndim)
		memcpy(out->dims, dims, sizeof(int64_t) * (size_t)ndim);
	out->v = ov[0];
	return true;
}

static bool emit(comp *c, const char *op, const char *tag, int n_in, const val *const *ins, uint32_t aux,
                 const attrs *as, vkind kind, int ndim, const int64_t *dims, val *out)
{
	return emit_n(c, op, tag, n_in, ins, aux, as, 1, kind, ndim, dims, out);
}

static bool emit1(comp *c, const char *op, const char *tag, const val *x, const attrs *as, vkind kind, val *out)
{
	const val *ins[1] = {x};
	return emit(c, op, tag, 1, ins, 0, as, kind, x->ndim, x->dims, out);
}

/* ---- shape helpers -------------------------------------------------------------------- */

/* x (batched or constant) under another shape with the same element count. */
static bool reshape_to(comp *c, const val *x, int ndim, const int64_t *dims, val *out)
{
	if (x->ndim == ndim && memcmp(x->dims, dims, sizeof(int64_t) * (size_t)ndim) == 0) {
		*out = val_ref(x);
		return true;
	}
	if (x->c)
		return const_reshape(c, x, ndim, dims, out);
	int64_t shape[GB_MAX_DIMS + 1];
	shape[0] = -1;
	memcpy(shape + 1, dims, sizeof(int64_t) * (size_t)ndim);
	val sv;
	if (!ints1(c, "shape", ndim + 1, shape, &sv))
		return false;
	const val *ins[2] = {x, &sv};
	bool ok = emit(c, "Reshape", "reshape", 2, ins, 2, NULL, x->kind, ndim, dims, out);
	val_drop(&sv);
	return ok;
}

/* A constant copied along the batch axis: Expand to [N, dims...]. */
static bool expand_batch(comp *c, const val *x, val *out)
{
	if (!x->c) {
		*out = val_ref(x);
		return true;
	}
	if (!rank_ok(c, x->ndim))
		return false;
	int n = batch_size(c);
	int xv = materialise(c, x);
	if (n < 0 || xv < 0)
		return nomem(c);
	int shape = n;
	if (x->ndim) {
		val dv;
		if (!ints1(c, "dims", x->ndim, x->dims, &dv))
			return false;
		int dvv = materialise(c, &dv);
		val_drop(&dv);
		int64_t r1 = x->ndim + 1;
		const char *sname = name_for(c, "shape");
		shape = sname && dvv >= 0 ? gb_model_add_value(c->m, sname, GB_DTYPE_I64, 1, &r1) : -1;
		int ins[2] = {n, dvv};
		int node = shape >= 0 ? gb_model_add_node(c->m, sname, "Concat", "", 2, ins, 1, &shape) : -1;
		attrs as = {.n = 0};
		attr_int(&as, "axis", 0);
		if (node < 0)
			return nomem(c);
		if (gb_node_add_attr(c->m, &c->m->nodes[node], &as.a[0], c->err) != GB_OK)
			return false;
	}
	const char *name = name_for(c, "expand");
	int ov = name ? new_value(c, name, x->kind, x->ndim, x->dims, true) : -1;
	int ins[2] = {xv, shape};
	if (ov < 0 || gb_model_add_node(c->m, name, "Expand", "", 2, ins, 1, &ov) < 0)
		return nomem(c);
	memset(out, 0, sizeof *out);
	out->kind = x->kind;
	out->ndim = x->ndim;
	memcpy(out->dims, x->dims, sizeof out->dims);
	out->v = ov;
	return true;
}

/* A batched value with 1s inserted after the batch axis up to rank r (so
 * that ONNX's right-aligned broadcasting matches the program's). Constants
 * pass unchanged: they align from the right already. */
static bool lift_rank(comp *c, const val *x, int r, val *out)
{
	if (x->c || x->ndim >= r) {
		*out = val_ref(x);
		return true;
	}
	int64_t dims[GB_MAX_DIMS];
	int pad = r - x->ndim;
	for (int i = 0; i < pad; i++)
		dims[i] = 1;
	memcpy(dims + pad, x->dims, sizeof(int64_t) * (size_t)x->ndim);
	return reshape_to(c, x, r, dims, out);
}

static bool bcast_dims(comp *c, int n, const val *const *xs, int *ndim, int64_t *dims)
{
	int r = 0;
	for (int i = 0; i < n; i++)
		if (xs[i]->ndim > r)
			r = xs[i]->ndim;
	for (int k = 0; k < r; k++)
		dims[k] = 1;
	for (int i = 0; i < n; i++)
		for (int k = 0; k < xs[i]->ndim; k++) {
			int64_t d = xs[i]->dims[k], *o = &dims[r - xs[i]->ndim + k];
			if (d != *o && d != 1 && *o != 1)
				return BAD(c, c->pos, "shapes do not broadcast");
			if (d != 1)
				*o = d;
		}
	*ndim = r;
	return true;
}

/* An elementwise operator over n broadcast operands. */
static bool ew(comp *c, const char *op, const char *tag, int n, const val *const *xs, vkind kind, val *out)
{
	int r = 0;
	int64_t dims[GB_MAX_DIMS];
	if (n < 1 || n > INT32_MAX / 2 || !bcast_dims(c, n, xs, &r, dims))
		return c->err->msg[0] ? false : BAD(c, c->pos, "too many operands");
	val *lifted = calloc((size_t)n, sizeof *lifted);
	const val **ins = calloc((size_t)n, sizeof *ins);
	bool ok = lifted && ins;
	int done = 0;
	for (; ok && done < n; done++) {
		ok = lift_rank(c, xs[done], r, &lifted[done]);
		ins[done] = &lifted[done];
	}
	if (!lifted || !ins)
		nomem(c);
	ok = ok && emit(c, op, tag, n, ins, 0, NULL, kind, r, dims, out);
	for (int i = 0; lifted && i < done; i++)
		val_drop(&lifted[i]);
	free(lifted);
	free(ins);
	return ok;
}

static bool ew2(comp *c, const char *op, const char *tag, const val *a, const val *b, vkind kind, val *out)
{
	const val *xs[2] = {a, b};
	return ew(c, op, tag, 2, xs, kind, out);
}

/* Slice along one program axis: positions start, start+1, ... (count). */
static bool slice_axis(comp *c, const val *x, int axis, int64_t start, int64_t count, val *out)
{
	int64_t st = start, en = start + count, ax = axis + 1;
	val sv, ev, av;
	if (!ints1(c, "starts", 1, &st, &sv))
		return false;
	if (!ints1(c, "ends", 1, &en, &ev)) {
		val_drop(&sv);
		return false;
	}
	if (!ints1(c, "axes", 1, &ax, &av)) {
		val_drop(&sv);
		val_drop(&ev);
		return false;
	}
	int64_t dims[GB_MAX_DIMS];
	memcpy(dims, x->dims, sizeof dims);
	dims[axis] = count;
	const val *ins[4] = {x, &sv, &ev, &av};
	bool ok = emit(c, "Slice", "slice", 4, ins, 14, NULL, x->kind, x->ndim, dims, out);
	val_drop(&sv);
	val_drop(&ev);
	val_drop(&av);
	return ok;
}

static bool concat_axis(comp *c, int n, const val *const *xs, int axis, val *out)
{
	bool any_batched = false;
	if (n < 1)
		return BAD(c, c->pos, "nothing to concatenate");
	for (int i = 0; i < n; i++)
		any_batched |= !is_const(xs[i]);
	int64_t dims[GB_MAX_DIMS];
	memcpy(dims, xs[0]->dims, sizeof dims);
	dims[axis] = 0;
	for (int i = 0; i < n; i++)
		dims[axis] += xs[i]->dims[axis];
	val *ex = calloc((size_t)n, sizeof *ex);
	const val **ins = calloc((size_t)n, sizeof *ins);
	bool ok = ex && ins;
	if (!ok)
		nomem(c);
	int done = 0;
	for (; ok && done < n; done++) {
		ok = any_batched ? expand_batch(c, xs[done], &ex[done]) : (ex[done] = val_ref(xs[done]), true);
		ins[done] = &ex[done];
	}
	attrs as = {.n = 0};
	attr_int(&as, "axis", axis + 1);
	ok = ok && emit(c, "Concat", "concat", n, ins, 0, &as, xs[0]->kind, xs[0]->ndim, dims, out);
	for (int i = 0; ex && i < done; i++)
		val_drop(&ex[i]);
	free(ex);
	free(ins);
	return ok;
}

/* ---- constants in C: stacking, gathering, scattering ------------------------------------ */

/* out = x's elements at flat positions idx[0..n) under shape (ndim, dims). */
static bool const_gather(comp *c, const val *x, const int64_t *idx, int ndim, const int64_t *dims, val *out)
{
	if (!const_new(c, x->kind, ndim, dims, out))
		return false;
	size_t es = gb_dtype_size(dtype_of(x->kind));
	const unsigned char *src = x->c->t->data;
	unsigned char *dst = out->c->t->data;
	int64_t n = gb_lang_numel(ndim, dims);
	for (int64_t i = 0; i < n; i++)
		memcpy(dst + (size_t)i * es, src + (size_t)idx[i] * es, es);
	return true;
}

/* Stacks constants of one kind and shape along a new leading axis. */
static bool const_stack(comp *c, const val *items, int64_t n, val *out)
{
	int64_t dims[GB_MAX_DIMS];
	dims[0] = n;
	memcpy(dims + 1, items[0].dims, sizeof(int64_t) * (size_t)items[0].ndim);
	if (!const_new(c, items[0].kind, items[0].ndim + 1, dims, out))
		return false;
	size_t bytes = (size_t)vnumel(&items[0]) * gb_dtype_size(dtype_of(items[0].kind));
	for (int64_t i = 0; i < n; i++)
		memcpy((unsigned char *)out->c->t->data + (size_t)i * bytes, items[i].c->t->data, bytes);
	return true;
}

/* ---- the two expansions: max, min, compare-exchange ---------------------------------------- */

static bool relu_of(comp *c, const val *x, val *out)
{
	return emit1(c, "Relu", "relu", x, NULL, V_F32, out);
}

/* max(a, b): Max, or a + relu(b - a); min(a, b): Min, or a - relu(a - b). */
static bool maxmin_f32(comp *c, bool is_max, const val *a, const val *b, val *out)
{
	const char *tag = is_max ? "max" : "min";
	if (c->native)
		return ew2(c, is_max ? "Max" : "Min", tag, a, b, V_F32, out);
	val d, r;
	if (!ew2(c, "Sub", "diff", is_max ? b : a, is_max ? a : b, V_F32, &d))
		return false;
	bool ok = relu_of(c, &d, &r);
	val_drop(&d);
	ok = ok && ew2(c, is_max ? "Add" : "Sub", tag, a, &r, V_F32, out);
	val_drop(&r);
	return ok;
}

static bool maxmin2(comp *c, bool is_max, const val *a, const val *b, val *out)
{
	if (a->kind == V_BOOL)
		return ew2(c, is_max ? "Or" : "And", is_max ? "or" : "and", a, b, V_BOOL, out);
	return maxmin_f32(c, is_max, a, b, out);
}

/* (lo, hi) = (min(a, b), max(a, b)); the ReLU form shares d = relu(b - a):
 * hi = a + d, lo = b - d. */
static bool cmpx(comp *c, const val *a, const val *b, val *lo, val *hi)
{
	if (c->native || a->kind == V_BOOL) {
		if (!maxmin2(c, false, a, b, lo))
			return false;
		if (!maxmin2(c, true, a, b, hi)) {
			val_drop(lo);
			return false;
		}
		return true;
	}
	val d, r;
	if (!ew2(c, "Sub", "diff", b, a, V_F32, &d))
		return false;
	bool ok = relu_of(c, &d, &r);
	val_drop(&d);
	if (!ok)
		return false;
	ok = ew2(c, "Sub", "lo", b, &r, V_F32, lo);
	if (ok && !ew2(c, "Add", "hi", a, &r, V_F32, hi)) {
		val_drop(lo);
		ok = false;
	}
	val_drop(&r);
	return ok;
}

/* Comparators (i, j), i < j, of a sorting network on n wires: odd-even
 * transposition for n <= 8, Batcher's odd-even merge sort beyond (for n not
 * a power of two, the comparators that touch wires >= n are left out: those
 * wires would hold +inf and never move). *pairs is malloc'ed. */
static int sorting_network(int n, int (**pairs)[2])
{
	int cap = 16, count = 0;
	int (*ps)[2] = malloc(sizeof *ps * (size_t)cap);
	if (!ps)
		return -1;
#define ADD_PAIR(I, J)                                                    \
	do {                                                                  \
		if (count == cap) {                                               \
			int(*grown)[2] = realloc(ps, sizeof *ps * (size_t)(cap *= 2)); \
			if (!grown) {                                                 \
				free(ps);                                                 \
				return -1;                                                \
			}                                                             \
			ps = grown;                                                   \
		}                                                                 \
		ps[count][0] = (I);                                               \
		ps[count][1] = (J);                                               \
		count++;                                                          \
	} while (0)
	if (n <= 8) {
		for (int round = 0; round < n; round++)
			for (int i = round % 2; i + 1 < n; i += 2)
				ADD_PAIR(i, i + 1);
	} else {
		for (int p = 1; p < n; p <<= 1)
			for (int k = p; k >= 1; k >>= 1)
				for (int j = k % p; j + k < n; j += 2 * k)
					for (int i = 0; i < k && i + j + k < n; i++)
						if ((i + j) / (2 * p) == (i + j + k) / (2 * p))
							ADD_PAIR(i + j, i + j + k);
	}
#undef ADD_PAIR
	*pairs = ps;
	return count;
}

/* Sorts the values xs[0..n) in place (ascending) with compare-exchanges. */
static bool sort_values(comp *c, val *xs, int n)
{
	int (*pairs)[2] = NULL;
	int np = sorting_network(n, &pairs);
	if (np < 0)
		return nomem(c);
	bool ok = true;
	for (int k = 0; ok && k < np; k++) {
		val lo, hi;
		val *a = &xs[pairs[k][0]], *b = &xs[pairs[k][1]];
		ok = cmpx(c, a, b, &lo, &hi);
		if (ok) {
			val_drop(a);
			val_drop(b);
			*a = lo;
			*b = hi;
		}
	}
	free(pairs);
	return ok;
}

/* Largest (smallest) element along a program axis by a balanced tree of
 * pairwise max (min); the axis is removed. */
static bool reduce_tree(comp *c, bool is_max, const val *x, int axis, val *out)
{
	val cur = val_ref(x);
	int64_t len = x->dims[axis];
	bool ok = true;
	while (ok && len > 1) {
		int64_t h = len / 2;
		val a, b, m;
		ok = slice_axis(c, &cur, axis, 0, h, &a);
		if (ok && !slice_axis(c, &cur, axis, h, h, &b)) {
			val_drop(&a);
			ok = false;
		}
		if (!ok)
			break;
		ok = maxmin2(c, is_max, &a, &b, &m);
		val_drop(&a);
		val_drop(&b);
		if (ok && len % 2) {
			val rest, joined;
			ok = slice_axis(c, &cur, axis, 2 * h, 1, &rest);
			const val *parts[2] = {&m, &rest};
			ok = ok && concat_axis(c, 2, parts, axis, &joined);
			if (ok) {
				val_drop(&rest);
				val_drop(&m);
				m = joined;
			}
		}
		val_drop(&cur);
		if (!ok)
			return false;
		cur = m;
		len = h + len % 2;
	}
	if (!ok) {
		val_drop(&cur);
		return false;
	}
	int64_t dims[GB_MAX_DIMS];
	int nd = 0;
	for (int k = 0; k < x->ndim; k++)
		if (k != axis)
			dims[nd++] = x->dims[k];
	ok = reshape_to(c, &cur, nd, dims, out);
	val_drop(&cur);
	return ok;
}

/* ---- regions: indexing, slicing and element assignment ----------------------------------- */

typedef gb_lang_region region;

/* Subscripts of base (eval_common.c does the slice arithmetic). */
static bool make_region(comp *c, const val *base, const gb_ast_subscript *subs, int n_subs, region *r,
                        gb_ast_pos pos)
{
	if (base->kind == V_INT)
		return BAD(c, pos, "an integer cannot be indexed");
	return gb_lang_region_make(&c->env, base->ndim, base->dims, subs, n_subs, r, pos);
}

/* x as [N, numel] (batched x of rank >= 2 is flattened once and cached). */
static bool flat_of(comp *c, const val *x, val *out)
{
	int64_t n = vnumel(x);
	if (x->c || x->ndim == 1) {
		if (x->c)
			return const_reshape(c, x, 1, &n, out);
		*out = val_ref(x);
		return true;
	}
	if (x->v < c->cap_flat && c->flat[x->v] >= 0) {
		memset(out, 0, sizeof *out);
		out->kind = x->kind;
		out->ndim = 1;
		out->dims[0] = n;
		out->v = c->flat[x->v];
		return true;
	}
	bool ok;
	if (x->ndim == 0) {
		ok = reshape_to(c, x, 1, &n, out);
	} else {
		attrs as = {.n = 0};
		attr_int(&as, "axis", 1);
		const val *ins[1] = {x};
		ok = emit(c, "Flatten", "flat", 1, ins, 0, &as, x->kind, 1, &n, out);
	}
	if (!ok)
		return false;
	if (x->v >= c->cap_flat) {
		int cap = c->cap_flat ? c->cap_flat : 64;
		while (cap <= x->v)
			cap *= 2;
		int *grown = realloc(c->flat, sizeof *grown * (size_t)cap);
		if (!grown) {
			val_drop(out);
			return nomem(c);
		}
		for (int i = c->cap_flat; i < cap; i++)
			grown[i] = -1;
		c->flat = grown;
		c->cap_flat = cap;
	}
	c->flat[x->v] = out->v;
	return true;
}

/* Gather(x, idx, axis=1): idx has the result's shape (ndim, dims), 0-d for a scalar. */
static bool gather_axis1(comp *c, const val *x, const int64_t *idx, int ndim, const int64_t *dims, val *out)
{
	val iv;
	if (!ints_val(c, "indices", ndim, dims, idx, &iv))
		return false;
	int64_t od[GB_MAX_DIMS];
	memcpy(od, dims, sizeof(int64_t) * (size_t)ndim);
	memcpy(od + ndim, x->dims + 1, sizeof(int64_t) * (size_t)(x->ndim - 1));
	attrs as = {.n = 0};
	attr_int(&as, "axis", 1);
	const val *ins[2] = {x, &iv};
	bool ok = emit(c, "Gather", "gather", 2, ins, 2, &as, x->kind, ndim + x->ndim - 1, od, out);
	val_drop(&iv);
	return ok;
}

/* x[region]. */
static bool index_region(comp *c, const val *x, const region *r, val *out)
{
	int64_t m;
	int64_t *off = gb_lang_region_offsets(x->ndim, x->dims, r, &m);
	if (!off)
		return nomem(c);
	bool ok;
	bool identity = m == vnumel(x);
	for (int k = 0; identity && k < x->ndim; k++)
		identity = !r->index[k] && r->step[k] == 1;
	bool first_only = x->ndim >= 1;
	for (int k = 1; first_only && k < x->ndim; k++)
		first_only = !r->index[k] && r->step[k] == 1 && r->count[k] == x->dims[k];
	if (identity) {
		*out = val_ref(x);
		ok = true;
	} else if (x->c) {
		ok = const_gather(c, x, off, r->ndim, r->dims, out);
	} else if (first_only) {
		int64_t *idx = malloc(sizeof(int64_t) * (size_t)r->count[0]);
		ok = idx != NULL;
		for (int64_t i = 0; ok && i < r->count[0]; i++)
			idx[i] = r->start[0] + i * r->step[0];
		ok = ok ? gather_axis1(c, x, idx, r->index[0] ? 0 : 1, &r->count[0], out) : nomem(c);
		free(idx);
	} else {
		val flat;
		ok = flat_of(c, x, &flat) && (gather_axis1(c, &flat, off, r->ndim, r->dims, out) || (val_drop(&flat), false));
		if (ok)
			val_drop(&flat);
	}
	free(off);
	return ok;
}

/* base[region] = v: a new value for base (functional update). */
static bool assign_region(comp *c, val *base, const region *r, const val *v, gb_ast_pos pos)
{
	int64_t cnt, m = vnumel(base), nv = vnumel(v);
	int64_t *off = gb_lang_region_offsets(base->ndim, base->dims, r, &cnt);
	int64_t *voff = off ? gb_lang_bcast_offsets(v->ndim, v->dims, r->ndim, r->dims, cnt) : NULL;
	int64_t *idx = malloc(sizeof(int64_t) * (size_t)m);
	ubuf *undef = NULL;
	bool ok = off && voff && idx;
	if (ok && base->undef) {
		undef = malloc(sizeof *undef + (size_t)m);
		ok = undef != NULL;
		if (ok) {
			undef->refs = 1;
			memcpy(undef->u, base->undef->u, (size_t)m);
			for (int64_t i = 0; i < cnt; i++)
				undef->u[off[i]] = 0;
		}
	}
	if (!ok) {
		free(off);
		free(voff);
		free(idx);
		free(undef);
		return nomem(c);
	}
	/* Is anything of the old value still needed? */
	bool old_needed = false;
	for (int64_t p = 0; p < m; p++)
		idx[p] = 0;
	for (int64_t i = 0; i < cnt; i++)
		idx[off[i]] = -1;
	for (int64_t p = 0; p < m && !old_needed; p++)
		old_needed = idx[p] == 0 && !(undef && undef->u[p]);
	val result;
	memset(&result, 0, sizeof result);
	if (!old_needed) {
		/* only v: result[off[i]] = v[voff[i]]; still undefined elements read v[0] */
		for (int64_t p = 0; p < m; p++)
			idx[p] = 0;
		for (int64_t i = 0; i < cnt; i++)
			idx[off[i]] = voff[i];
		bool same = nv == m;
		for (int64_t p = 0; same && p < m; p++)
			same = idx[p] == p;
		val flat;
		if (same)
			ok = reshape_to(c, v, base->ndim, base->dims, &result);
		else if (v->c)
			ok = const_gather(c, v, idx, base->ndim, base->dims, &result);
		else if ((ok = flat_of(c, v, &flat))) {
			ok = gather_axis1(c, &flat, idx, base->ndim, base->dims, &result);
			val_drop(&flat);
		}
	} else {
		for (int64_t p = 0; p < m; p++)
			idx[p] = p;
		for (int64_t i = 0; i < cnt; i++)
			idx[off[i]] = m + voff[i];
		val fo, fv, cat;
		int64_t total = m + nv;
		if (base->c && v->c) {
			val both[2];
			ok = const_reshape(c, base, 1, &m, &both[0]);
			if (ok && !const_reshape(c, v, 1, &nv, &both[1])) {
				val_drop(&both[0]);
				ok = false;
			}
			if (ok) {
				ok = const_new(c, base->kind, 1, &total, &cat);
				size_t es = gb_dtype_size(dtype_of(base->kind));
				if (ok) {
					memcpy(cat.c->t->data, both[0].c->t->data, (size_t)m * es);
					memcpy((unsigned char *)cat.c->t->data + (size_t)m * es, both[1].c->t->data, (size_t)nv * es);
					ok = const_gather(c, &cat, idx, base->ndim, base->dims, &result);
					val_drop(&cat);
				}
				val_drop(&both[0]);
				val_drop(&both[1]);
			}
		} else if ((ok = flat_of(c, base, &fo))) {
			if ((ok = flat_of(c, v, &fv))) {
				const val *parts[2] = {&fo, &fv};
				ok = concat_axis(c, 2, parts, 0, &cat);
				if (ok) {
					ok = gather_axis1(c, &cat, idx, base->ndim, base->dims, &result);
					val_drop(&cat);
				}
				val_drop(&fv);
			}
			val_drop(&fo);
		}
	}
	free(off);
	free(voff);
	free(idx);
	if (!ok) {
		free(undef);
		return false;
	}
	if (undef) {
		bool any = false;
		for (int64_t p = 0; p < m && !any; p++)
			any = undef->u[p];
		if (!any) {
			free(undef);
			undef = NULL;
		}
	}
	val_drop(base);
	*base = result;
	base->undef = undef;
	(void)pos;
	return true;
}

/* ---- linear algebra, convolution, pooling ----------------------------------------------------- */

/* NumPy's matmul: 1-D operands are promoted (a row, a column) and the
 * promoted axis dropped; batch axes broadcast. */
static bool matmul(comp *c, const val *a, const val *b, val *out)
{
	if (a->ndim < 1 || b->ndim < 1)
		return BAD(c, c->pos, "matmul needs arrays of rank 1 or more");
	int64_t K = a->dims[a->ndim - 1];
	int64_t rd[GB_MAX_DIMS];
	int rn = 0;
	if (!is_const(a) && b->c && b->ndim <= 2) {
		/* [N, ..., K] @ [K, P] or @ [K]: ONNX's MatMul does the rest */
		if (b->dims[0] != K)
			return BAD(c, c->pos, "matmul: the inner sizes differ");
		for (int k = 0; k + 1 < a->ndim; k++)
			rd[rn++] = a->dims[k];
		if (b->ndim == 2)
			rd[rn++] = b->dims[1];
		const val *ins[2] = {a, b};
		return emit(c, "MatMul", "matmul", 2, ins, 0, NULL, V_F32, rn, rd, out);
	}
	/* Promote 1-D operands, align batched ones, multiply, drop the promoted axes. */
	val pa, pb, la, lb, prod;
	int64_t ad[GB_MAX_DIMS], bd[GB_MAX_DIMS];
	int an = a->ndim, bn = b->ndim;
	if (an == 1) {
		ad[0] = 1;
		ad[1] = K;
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
	}
	if (bd[bn - 2] != K)
		return BAD(c, c->pos, "matmul: the inner sizes differ");
	int r = an > bn ? an : bn;
	int64_t pd[GB_MAX_DIMS];
	int nb = r - 2;
	for (int k = 0; k < nb; k++) {
		int ka = an - 2 - nb + k, kb = bn - 2 - nb + k;
		int64_t da = ka >= 0 ? ad[ka] : 1, db = kb >= 0 ? bd[kb] : 1;
		if (da != db && da != 1 && db != 1)
			return BAD(c, c->pos, "matmul: the batch axes do not broadcast");
		pd[k] = da == 1 ? db : da;
	}
	pd[nb] = ad[an - 2];
	pd[nb + 1] = bd[bn - 1];
	for (int k = 0; k < nb; k++)
		rd[rn++] = pd[k];
	if (a->ndim > 1)
		rd[rn++] = pd[nb];
	if (b->ndim > 1)
		rd[rn++] = pd[nb + 1];
	if (!reshape_to(c, a, an, ad, &pa))
		return false;
	if (!reshape_to(c, b, bn, bd, &pb)) {
		val_drop(&pa);
		return false;
	}
	bool ok = lift_rank(c, &pa, r, &la);
	if (ok && !lift_rank(c, &pb, r, &lb)) {
		val_drop(&la);
		ok = false;
	}
	val_drop(&pa);
	val_drop(&pb);
	if (!ok)
		return false;
	const val *ins[2] = {&la, &lb};
	ok = emit(c, "MatMul", "matmul", 2, ins, 0, NULL, V_F32, r, pd, &prod);
	val_drop(&la);
	val_drop(&lb);
	if (!ok)
		return false;
	ok = reshape_to(c, &prod, rn, rd, out);
	val_drop(&prod);
	return ok;
}

/* A constant 2-D matrix transposed (in C). */
static bool const_transpose2(comp *c, const val *w, val *out)
{
	int64_t d[2] = {w->dims[1], w->dims[0]};
	if (!const_new(c, V_F32, 2, d, out))
		return false;
	const float *src = w->c->t->data;
	float *dst = out->c->t->data;
	for (int64_t i = 0; i < d[0]; i++)
		for (int64_t j = 0; j < d[1]; j++)
			dst[i * d[1] + j] = src[j * d[0] + i];
	if (w->c->name) {
		char buf[256];
		snprintf(buf, sizeof buf, "%s_t", w->c->name);
		out->c->name = gb_arena_strdup(&c->m->arena, buf);
	}
	return true;
}

static bool transpose_perm(comp *c, const val *x, const int64_t *perm, val *out)
{
	int64_t p[GB_MAX_DIMS], dims[GB_MAX_DIMS];
	p[0] = 0;
	for (int k = 0; k < x->ndim; k++) {
		p[k + 1] = perm[k] + 1;
		dims[k] = x->dims[perm[k]];
	}
	attrs as = {.n = 0};
	attr_ints(&as, "perm", x->ndim + 1, p);
	const val *ins[1] = {x};
	return emit(c, "Transpose", "transpose", 1, ins, 0, &as, x->kind, x->ndim, dims, out);
}

/* dense(x, W, b) = x @ transpose(W) + b: Gemm(transB=1) for a vector x. */
static bool dense(comp *c, const val *x, const val *w, const val *bias, val *out)
{
	if ((x->ndim != 1 && x->ndim != 2) || w->ndim != 2 || w->dims[1] != x->dims[x->ndim - 1])
		return BAD(c, c->pos, "dense: the input and the weight do not fit");
	if (bias && (bias->ndim != 1 || bias->dims[0] != w->dims[0]))
		return BAD(c, c->pos, "dense: the bias does not fit");
	val prod;
	bool ok;
	if (x->ndim == 1 && w->c) {
		int64_t n = w->dims[0];
		attrs as = {.n = 0};
		attr_int(&as, "transB", 1);
		bool with_bias = bias && bias->c;
		const val *ins[3] = {x, w, with_bias ? bias : NULL};
		if (!emit(c, "Gemm", "gemm", with_bias ? 3 : 2, ins, 6, &as, V_F32, 1, &n, &prod))
			return false;
		if (!bias || with_bias) {
			*out = prod;
			return true;
		}
	} else {
		val wt;
		if (w->c) {
			ok = const_transpose2(c, w, &wt);
		} else {
			int64_t perm[2] = {1, 0};
			ok = transpose_perm(c, w, perm, &wt);
		}
		if (!ok)
			return false;
		ok = matmul(c, x, &wt, &prod);
		val_drop(&wt);
		if (!ok)
			return false;
		if (!bias) {
			*out = prod;
			return true;
		}
	}
	ok = ew2(c, "Add", "add", &prod, bias, V_F32, out);
	val_drop(&prod);
	return ok;
}

static bool conv2d(comp *c, const val *x, const val *k, const val *bias, const int64_t *stride, const int64_t *pad,
                   const int64_t *dil, int64_t groups, val *out)
{
	if (x->ndim != 3 || k->ndim != 4 || groups < 1 || x->dims[0] % groups || k->dims[0] % groups ||
	    k->dims[1] != x->dims[0] / groups || (bias && (bias->ndim != 1 || bias->dims[0] != k->dims[0])))
		return BAD(c, c->pos, "conv2d: shapes do not fit");
	if (!k->c)
		return fail_at(c, c->pos, GB_STATUS_UNSUPPORTED,
		               "conv2d: the kernel depends on the inputs; a network's Conv needs a constant kernel");
	int64_t H = x->dims[1], W = x->dims[2], KH = k->dims[2], KW = k->dims[3];
	int64_t eh = H + 2 * pad[0] - dil[0] * (KH - 1) - 1, ew_ = W + 2 * pad[1] - dil[1] * (KW - 1) - 1;
	if (eh < 0 || ew_ < 0)
		return BAD(c, c->pos, "conv2d: the kernel does not fit in the image");
	int64_t od[3] = {k->dims[0], eh / stride[0] + 1, ew_ / stride[1] + 1};
	int64_t pads[4] = {pad[0], pad[1], pad[0], pad[1]}, ks[2] = {KH, KW};
	attrs as = {.n = 0};
	attr_ints(&as, "kernel_shape", 2, ks);
	attr_ints(&as, "strides", 2, stride);
	attr_ints(&as, "pads", 4, pads);
	attr_ints(&as, "dilations", 2, dil);
	attr_int(&as, "group", groups);
	bool with_bias = bias && bias->c;
	const val *ins[3] = {x, k, with_bias ? bias : NULL};
	val y;
	if (!emit(c, "Conv", "conv", with_bias ? 3 : 2, ins, 6, &as, V_F32, 3, od, &y))
		return false;
	if (!bias || with_bias) {
		*out = y;
		return true;
	}
	int64_t bd[3] = {bias->dims[0], 1, 1};
	val b3;
	bool ok = reshape_to(c, bias, 3, bd, &b3) && ew2(c, "Add", "add", &y, &b3, V_F32, out);
	if (ok)
		val_drop(&b3);
	val_drop(&y);
	return ok;
}

static bool pool2d(comp *c, bool is_max, const val *x, const int64_t *size, const int64_t *stride, const int64_t *pad,
                   val *out)
{
	if (x->ndim != 3 || pad[0] >= size[0] || pad[1] >= size[1] || x->dims[1] + 2 * pad[0] < size[0] ||
	    x->dims[2] + 2 * pad[1] < size[1])
		return BAD(c, c->pos, "pooling: shapes do not fit");
	int64_t C = x->dims[0], H = x->dims[1], W = x->dims[2];
	int64_t OH = (H + 2 * pad[0] - size[0]) / stride[0] + 1, OW = (W + 2 * pad[1] - size[1]) / stride[1] + 1;
	int64_t od[3] = {C, OH, OW};
	int64_t pads[4] = {pad[0], pad[1], pad[0], pad[1]};
	if (!is_max || c->native) {
		attrs as = {.n = 0};
		attr_ints(&as, "kernel_shape", 2, size);
		attr_ints(&as, "strides", 2, stride);
		attr_ints(&as, "pads", 4, pads);
		if (!is_max)
			attr_int(&as, "count_include_pad", 0);
		const val *ins[1] = {x};
		return emit(c, is_max ? "MaxPool" : "AveragePool", is_max ? "maxpool" : "avgpool", 1, ins, 0, &as, V_F32, 3,
		            od, out);
	}
	/* ReLU expansion: edge padding, one strided Slice per window offset, a
	 * balanced tree of pairwise max. */
	val xp;
	bool ok = true;
	if (pad[0] || pad[1]) {
		int64_t pv[8] = {0, 0, pad[0], pad[1], 0, 0, pad[0], pad[1]};
		val pvv;
		if (!ints1(c, "pads", 8, pv, &pvv))
			return false;
		attrs as = {.n = 0};
		attr_str(&as, "mode", "edge");
		int64_t pd[3] = {C, H + 2 * pad[0], W + 2 * pad[1]};
		const val *ins[2] = {x, &pvv};
		ok = emit(c, "Pad", "pad", 2, ins, 2, &as, V_F32, 3, pd, &xp);
		val_drop(&pvv);
		if (!ok)
			return false;
	} else {
		xp = val_ref(x);
	}
	int64_t n = size[0] * size[1];
	val *win = calloc((size_t)n, sizeof *win);
	if (!win) {
		val_drop(&xp);
		return nomem(c);
	}
	int64_t made = 0;
	for (int64_t p = 0; ok && p < size[0]; p++)
		for (int64_t q = 0; ok && q < size[1]; q++) {
			int64_t st[2] = {p, q}, en[2] = {p + (OH - 1) * stride[0] + 1, q + (OW - 1) * stride[1] + 1};
			int64_t ax[2] = {2, 3};
			val sv, ev, av, tv;
			ok = ints1(c, "starts", 2, st, &sv);
			ok = ok && ints1(c, "ends", 2, en, &ev);
			ok = ok && ints1(c, "axes", 2, ax, &av);
			ok = ok && ints1(c, "steps", 2, stride, &tv);
			if (ok) {
				const val *ins[5] = {&xp, &sv, &ev, &av, &tv};
				ok = emit(c, "Slice", "window", 5, ins, 30, NULL, V_F32, 3, od, &win[made]);
				made += ok;
				val_drop(&sv);
				val_drop(&ev);
				val_drop(&av);
				val_drop(&tv);
			}
		}
	val_drop(&xp);
	/* balanced tree over the windows */
	int64_t len = made;
	while (ok && len > 1) {
		int64_t h = len / 2;
		for (int64_t i = 0; ok && i < h; i++) {
			val mx;
			ok = maxmin_f32(c, true, &win[i], &win[i + h], &mx);
			if (ok) {
				val_drop(&win[i]);
				val_drop(&win[i + h]);
				win[i] = mx;
			}
		}
		if (len % 2) {
			win[h] = win[2 * h];
			memset(&win[2 * h], 0, sizeof win[0]);
		}
		len = h + len % 2;
	}
	if (ok)
		*out = win[0];
	else
		val_drop(&win[0]);
	for (int64_t i = 1; i < made; i++)
		val_drop(&win[i]);
	free(win);
	return ok;
}

/* ---- expressions --------------------------------------------------------------------------- */

static bool eval(comp *c, const gb_ast_expr *e, val *out);

static bool eval_int(comp *c, const gb_ast_expr *e, int64_t *out)
{
	*out = 0;
	val v;
	if (!eval(c, e, &v))
		return false;
	if (v.kind != V_INT) {
		val_drop(&v);
		return BAD(c, e->pos, "expected a compile-time integer");
	}
	*out = v.ival;
	return true;
}

static bool eval_f32(comp *c, const gb_ast_expr *e, val *out, const char *what)
{
	if (!eval(c, e, out))
		return false;
	if (!as_array(c, out) || out->kind != V_F32) {
		val_drop(out);
		return c->err->msg[0] ? false : BAD(c, e->pos, "%s must be f32", what);
	}
	return true;
}

static bool eval_array(comp *c, const gb_ast_expr *e, val *out)
{
	if (!eval(c, e, out))
		return false;
	if (!as_array(c, out)) {
		val_drop(out);
		return false;
	}
	return true;
}

/* An int, or a constant 1-D list of integers. */
static bool eval_ints(comp *c, const gb_ast_expr *e, int64_t *xs, int max, int *n)
{
	val v;
	if (!eval(c, e, &v))
		return false;
	if (v.kind == V_INT) {
		xs[0] = v.ival;
		*n = 1;
		return true;
	}
	bool ok = v.kind == V_F32 && v.c && v.ndim == 1 && v.dims[0] <= max;
	for (int64_t i = 0; ok && i < v.dims[0]; i++) {
		float f = ((const float *)v.c->t->data)[i];
		ok = f == floorf(f) && fabsf(f) < 16777216.0f;
		xs[i] = (int64_t)f;
	}
	if (ok)
		*n = (int)v.dims[0];
	val_drop(&v);
	if (!ok)
		return BAD(c, e->pos, "expected a list of at most %d integers", max);
	return true;
}

/* What eval_common.c calls back (gb_lang_env). */
static bool env_fail(void *self, gb_ast_pos pos, const char *msg)
{
	return BAD(self, pos, "%s", msg);
}

static bool env_eval_int(void *self, const gb_ast_expr *e, int64_t *out)
{
	return eval_int(self, e, out);
}

static bool env_eval_ints(void *self, const gb_ast_expr *e, int64_t *xs, int max, int *n)
{
	return eval_ints(self, e, xs, max, n);
}

static bool eval_scalar(comp *c, const gb_ast_expr *e, float *out)
{
	val v;
	if (!eval_f32(c, e, &v, "the argument"))
		return false;
	bool ok = v.ndim == 0 && v.c;
	if (ok)
		*out = *(const float *)v.c->t->data;
	val_drop(&v);
	if (!ok)
		return BAD(c, e->pos, "expected a constant scalar");
	return true;
}

static bool const_f32(comp *c, float x, val *out)
{
	return scalar_f32(c, x, out);
}

static bool eval_binary(comp *c, const gb_ast_expr *e, val *out)
{
	gb_ast_op op = e->u.binary.op;
	val a, b;
	memset(&b, 0, sizeof b);
	if (!eval(c, e->u.binary.lhs, &a))
		return false;
	if (!eval(c, e->u.binary.rhs, &b)) {
		val_drop(&a);
		return false;
	}
	c->pos = e->pos;
	bool ok = true;
	if (a.kind == V_INT && b.kind == V_INT && op != GB_AST_DIV && op != GB_AST_MATMUL &&
	    !(op >= GB_AST_LT && op <= GB_AST_NE) && op != GB_AST_AND && op != GB_AST_OR) {
		int64_t r = 0;
		if (!gb_lang_int_arith(op, a.ival, b.ival, &r))
			return BAD(c, e->pos, "integer '%s' fails (overflow or division by zero)", gb_ast_op_str(op));
		*out = int_val(r);
		return true;
	}
	if (a.kind == V_INT && b.kind == V_INT && op == GB_AST_DIV)
		return const_f32(c, (float)((double)a.ival / (double)b.ival), out);
	if (!as_array(c, &a) || !as_array(c, &b)) {
		val_drop(&a);
		val_drop(&b);
		return false;
	}
	bool bools = a.kind == V_BOOL;
	if (a.kind != b.kind) {
		ok = BAD(c, e->pos, "'%s' needs operands of one element type", gb_ast_op_str(op));
	} else if (bools && op != GB_AST_EQ && op != GB_AST_NE && op != GB_AST_AND && op != GB_AST_OR) {
		ok = BAD(c, e->pos, "'%s' does not take bool operands", gb_ast_op_str(op));
	} else {
		switch (op) {
		case GB_AST_ADD: ok = ew2(c, "Add", "add", &a, &b, V_F32, out); break;
		case GB_AST_SUB: ok = ew2(c, "Sub", "sub", &a, &b, V_F32, out); break;
		case GB_AST_MUL: ok = ew2(c, "Mul", "mul", &a, &b, V_F32, out); break;
		case GB_AST_DIV: ok = ew2(c, "Div", "div", &a, &b, V_F32, out); break;
		case GB_AST_LT: ok = ew2(c, "Less", "lt", &a, &b, V_BOOL, out); break;
		case GB_AST_LE: ok = ew2(c, "LessOrEqual", "le", &a, &b, V_BOOL, out); break;
		case GB_AST_GT: ok = ew2(c, "Greater", "gt", &a, &b, V_BOOL, out); break;
		case GB_AST_GE: ok = ew2(c, "GreaterOrEqual", "ge", &a, &b, V_BOOL, out); break;
		case GB_AST_EQ: ok = ew2(c, "Equal", "eq", &a, &b, V_BOOL, out); break;
		case GB_AST_NE: {
			val eq;
			ok = ew2(c, "Equal", "eq", &a, &b, V_BOOL, &eq) && emit1(c, "Not", "ne", &eq, NULL, V_BOOL, out);
			if (ok)
				val_drop(&eq);
			break;
		}
		case GB_AST_AND: ok = maxmin2(c, false, &a, &b, out); break;
		case GB_AST_OR: ok = maxmin2(c, true, &a, &b, out); break;
		case GB_AST_MATMUL: ok = matmul(c, &a, &b, out); break;
		default: ok = BAD(c, e->pos, "'%s' takes integers", gb_ast_op_str(op));
		}
	}
	val_drop(&a);
	val_drop(&b);
	return ok;
}

/* Evaluates items into a new array of values (ints converted to f32). */
static bool eval_list(comp *c, const gb_ast_expr *const *xs, int n, val **out)
{
	val *vs = calloc((size_t)(n ? n : 1), sizeof *vs);
	if (!vs)
		return nomem(c);
	for (int i = 0; i < n; i++)
		if (!eval_array(c, xs[i], &vs[i])) {
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

/* Stacks values (same kind and shape) along a new leading axis: Unsqueeze
 * each, then Concat. */
static bool stack(comp *c, val *items, int64_t n, val *out)
{
	if (n < 1 || items[0].ndim >= GB_MAX_DIMS)
		return BAD(c, c->pos, "cannot stack these values");
	bool all_const = true;
	for (int64_t i = 0; i < n; i++) {
		if (items[i].kind != items[0].kind || items[i].ndim != items[0].ndim ||
		    memcmp(items[i].dims, items[0].dims, sizeof(int64_t) * (size_t)items[0].ndim) != 0)
			return BAD(c, c->pos, "array items differ in type or shape");
		all_const &= is_const(&items[i]);
	}
	if (all_const)
		return const_stack(c, items, n, out);
	if (n > INT32_MAX / 2)
		return BAD(c, c->pos, "too many items");
	int64_t one = 1, d1[GB_MAX_DIMS];
	d1[0] = 1;
	memcpy(d1 + 1, items[0].dims, sizeof(int64_t) * (size_t)items[0].ndim);
	val axes;
	if (!ints1(c, "axes", 1, &one, &axes))
		return false;
	val *parts = calloc((size_t)n, sizeof *parts);
	const val **ins = calloc((size_t)n, sizeof *ins);
	bool ok = parts && ins;
	if (!ok)
		nomem(c);
	int64_t done = 0;
	for (; ok && done < n; done++) {
		if (items[done].c) {
			ok = const_reshape(c, &items[done], items[0].ndim + 1, d1, &parts[done]);
		} else {
			const val *uin[2] = {&items[done], &axes};
			ok = emit(c, "Unsqueeze", "unsqueeze", 2, uin, 2, NULL, items[0].kind, items[0].ndim + 1, d1, &parts[done]);
		}
		ins[done] = &parts[done];
	}
	ok = ok && concat_axis(c, (int)n, ins, 0, out);
	for (int64_t i = 0; parts && i < done; i++)
		val_drop(&parts[i]);
	free(parts);
	free(ins);
	val_drop(&axes);
	return ok;
}

/* sum / mean / max / min / argmax over all axes (axis < 0) or one. */
static bool reduction(comp *c, gb_prim_id id, const val *x, int axis, val *out)
{
	int64_t dims[GB_MAX_DIMS], axes[GB_MAX_DIMS];
	int nd = 0, na = 0;
	for (int k = 0; k < x->ndim; k++) {
		if (axis < 0 || k == axis)
			axes[na++] = k + 1;
		else
			dims[nd++] = x->dims[k];
	}
	if (id == GB_PRIM_ARGMAX) {
		val flat, am;
		int64_t n = vnumel(x);
		bool ok = axis < 0 ? reshape_to(c, x, 1, &n, &flat) : (flat = val_ref(x), true);
		if (!ok)
			return false;
		attrs as = {.n = 0};
		attr_int(&as, "axis", axis < 0 ? 1 : axis + 1);
		attr_int(&as, "keepdims", 0);
		attr_int(&as, "select_last_index", 0);
		const val *ins[1] = {&flat};
		ok = emit(c, "ArgMax", "argmax", 1, ins, 0, &as, V_I64, nd, dims, &am);
		val_drop(&flat);
		if (!ok)
			return false;
		attrs cs = {.n = 0};
		attr_int(&cs, "to", 1); /* FLOAT */
		ok = emit1(c, "Cast", "float", &am, &cs, V_F32, out);
		val_drop(&am);
		return ok;
	}
	if (x->ndim == 0) { /* the one element */
		*out = val_ref(x);
		return true;
	}
	if ((id == GB_PRIM_MAX || id == GB_PRIM_MIN) && !c->native) {
		if (axis >= 0)
			return reduce_tree(c, id == GB_PRIM_MAX, x, axis, out);
		val flat;
		int64_t n = vnumel(x);
		if (!reshape_to(c, x, 1, &n, &flat))
			return false;
		bool ok = reduce_tree(c, id == GB_PRIM_MAX, &flat, 0, out);
		val_drop(&flat);
		return ok;
	}
	attrs as = {.n = 0};
	attr_int(&as, "keepdims", 0);
	if (id == GB_PRIM_SUM) { /* opset 13: axes is an input */
		val av;
		if (!ints1(c, "axes", na, axes, &av))
			return false;
		const val *ins[2] = {x, &av};
		bool ok = emit(c, "ReduceSum", "sum", 2, ins, 2, &as, V_F32, nd, dims, out);
		val_drop(&av);
		return ok;
	}
	attr_ints(&as, "axes", na, axes);
	const char *op = id == GB_PRIM_MEAN ? "ReduceMean" : id == GB_PRIM_MAX ? "ReduceMax" : "ReduceMin";
	const char *tag = id == GB_PRIM_MEAN ? "mean" : id == GB_PRIM_MAX ? "max" : "min";
	const val *ins[1] = {x};
	return emit(c, op, tag, 1, ins, 0, &as, V_F32, nd, dims, out);
}

/* sort along the last axis. */
static bool sort_last(comp *c, const val *x, bool descending, val *out)
{
	int64_t n = x->dims[x->ndim - 1];
	if (c->native) {
		val kv, idx;
		if (!ints1(c, "k", 1, &n, &kv))
			return false;
		attrs as = {.n = 0};
		attr_int(&as, "axis", -1);
		attr_int(&as, "largest", descending ? 1 : 0);
		attr_int(&as, "sorted", 1);
		const val *ins[2] = {x, &kv};
		bool ok = emit_n(c, "TopK", "sort", 2, ins, 2, &as, 2, V_F32, x->ndim, x->dims, out);
		val_drop(&kv);
		(void)idx;
		return ok;
	}
	if (n == 1) {
		*out = val_ref(x);
		return true;
	}
	if (n > INT32_MAX / 4)
		return BAD(c, c->pos, "sort: the axis is too long");
	val *xs = calloc((size_t)n, sizeof *xs);
	const val **ins = calloc((size_t)n, sizeof *ins);
	bool ok = xs && ins;
	if (!ok)
		nomem(c);
	for (int64_t i = 0; ok && i < n; i++)
		ok = slice_axis(c, x, x->ndim - 1, i, 1, &xs[i]);
	ok = ok && sort_values(c, xs, (int)n);
	for (int64_t i = 0; ok && i < n; i++)
		ins[i] = &xs[descending ? n - 1 - i : i];
	ok = ok && concat_axis(c, (int)n, ins, x->ndim - 1, out);
	free_list(xs, (int)n);
	free(ins);
	return ok;
}

/* The median of an odd number of broadcast arguments. */
static bool median(comp *c, val *xs, int n, val *out)
{
	if (n == 3) { /* max(min(a, b), min(max(a, b), c)) */
		val lo, hi, m2;
		memset(&hi, 0, sizeof hi);
		memset(&m2, 0, sizeof m2);
		if (!maxmin2(c, false, &xs[0], &xs[1], &lo))
			return false;
		bool ok = maxmin2(c, true, &xs[0], &xs[1], &hi);
		ok = ok && maxmin2(c, false, &hi, &xs[2], &m2);
		ok = ok && maxmin2(c, true, &lo, &m2, out);
		val_drop(&lo);
		val_drop(&hi);
		val_drop(&m2);
		return ok;
	}
	val *ws = calloc((size_t)n, sizeof *ws);
	if (!ws)
		return nomem(c);
	for (int i = 0; i < n; i++)
		ws[i] = val_ref(&xs[i]);
	bool ok = sort_values(c, ws, n);
	if (ok) {
		*out = ws[n / 2];
		memset(&ws[n / 2], 0, sizeof ws[0]);
	}
	free_list(ws, n);
	return ok;
}

static bool eval_prim(comp *c, const gb_ast_expr *e, const gb_prim *p, val *out)
{
	gb_prim_args ba;
	if (!gb_prim_bind(&c->env, e, p, false, &ba))
		return false;
	const gb_ast_expr *const *args = (const gb_ast_expr *const *)e->u.call.args;
	int n_args = e->u.call.n_args;
	gb_ast_pos pos = e->pos;
	val x, y, z;
	memset(&x, 0, sizeof x);
	memset(&y, 0, sizeof y);
	memset(&z, 0, sizeof z);
	bool ok = true;
#define SETPOS() (c->pos = pos)
	switch (p->id) {
	case GB_PRIM_RELU:
	case GB_PRIM_SIGMOID:
	case GB_PRIM_TANH: {
		if (!eval_f32(c, ba.param[0], &y, "the argument"))
			return false;
		SETPOS();
		const char *op = p->id == GB_PRIM_RELU ? "Relu" : p->id == GB_PRIM_SIGMOID ? "Sigmoid" : "Tanh";
		ok = emit1(c, op, p->name, &y, NULL, V_F32, &x);
		break;
	}
	case GB_PRIM_ABS:
		if (!eval_f32(c, ba.param[0], &y, "the argument"))
			return false;
		SETPOS();
		if (c->native) {
			ok = emit1(c, "Abs", "abs", &y, NULL, V_F32, &x);
		} else { /* relu(x) + relu(-x) */
			val neg, r1, r2;
			ok = emit1(c, "Neg", "neg", &y, NULL, V_F32, &neg);
			if (!ok)
				break;
			ok = relu_of(c, &y, &r1);
			if (ok && !relu_of(c, &neg, &r2)) {
				val_drop(&r1);
				ok = false;
			}
			val_drop(&neg);
			if (!ok)
				break;
			ok = ew2(c, "Add", "abs", &r1, &r2, V_F32, &x);
			val_drop(&r1);
			val_drop(&r2);
		}
		break;
	case GB_PRIM_GELU: { /* 0.5 * x * (1 + erf(x / sqrt(2))), in this order */
		if (!eval_f32(c, ba.param[0], &y, "the argument"))
			return false;
		SETPOS();
		val s2, one, half, t1, t2, t3, t4;
		memset(&t1, 0, sizeof t1);
		memset(&t2, 0, sizeof t2);
		memset(&t3, 0, sizeof t3);
		memset(&t4, 0, sizeof t4);
		if (!const_f32(c, 1.41421356237309505f, &s2))
			break;
		if (!const_f32(c, 1.0f, &one)) {
			val_drop(&s2);
			ok = false;
			break;
		}
		if (!const_f32(c, 0.5f, &half)) {
			val_drop(&s2);
			val_drop(&one);
			ok = false;
			break;
		}
		ok = ew2(c, "Div", "scaled", &y, &s2, V_F32, &t1) && emit1(c, "Erf", "erf", &t1, NULL, V_F32, &t2) &&
		     ew2(c, "Add", "erf1", &one, &t2, V_F32, &t3) && ew2(c, "Mul", "half", &half, &y, V_F32, &t4) &&
		     ew2(c, "Mul", "gelu", &t4, &t3, V_F32, &x);
		val_drop(&s2);
		val_drop(&one);
		val_drop(&half);
		val_drop(&t1);
		val_drop(&t2);
		val_drop(&t3);
		val_drop(&t4);
		break;
	}
	case GB_PRIM_FLOAT: {
		if (!eval(c, ba.param[0], &y))
			return false;
		SETPOS();
		if (y.kind != V_BOOL) {
			ok = BAD(c, ba.param[0]->pos, "float converts bool");
			break;
		}
		attrs as = {.n = 0};
		attr_int(&as, "to", 1);
		ok = emit1(c, "Cast", "float", &y, &as, V_F32, &x);
		break;
	}
	case GB_PRIM_CLAMP: {
		float lo, hi;
		if (!eval_scalar(c, ba.param[1], &lo) || !eval_scalar(c, ba.param[2], &hi))
			return false;
		if (!(lo <= hi))
			return BAD(c, pos, "clamp needs lo <= hi");
		if (!eval_f32(c, ba.param[0], &y, "the argument"))
			return false;
		SETPOS();
		val lv, hv;
		if (!const_f32(c, lo, &lv))
			break;
		if (!const_f32(c, hi, &hv)) {
			val_drop(&lv);
			ok = false;
			break;
		}
		if (c->native) {
			const val *ins[3] = {&y, &lv, &hv};
			ok = emit(c, "Clip", "clamp", 3, ins, 6, NULL, V_F32, y.ndim, y.dims, &x);
		} else { /* lo + relu(x - lo) - relu(x - hi) */
			val d1, r1, d2, r2, s;
			memset(&d1, 0, sizeof d1);
			memset(&r1, 0, sizeof r1);
			memset(&d2, 0, sizeof d2);
			memset(&r2, 0, sizeof r2);
			memset(&s, 0, sizeof s);
			ok = ew2(c, "Sub", "above_lo", &y, &lv, V_F32, &d1) && relu_of(c, &d1, &r1) &&
			     ew2(c, "Sub", "above_hi", &y, &hv, V_F32, &d2) && relu_of(c, &d2, &r2) &&
			     ew2(c, "Add", "from_lo", &lv, &r1, V_F32, &s) && ew2(c, "Sub", "clamp", &s, &r2, V_F32, &x);
			val_drop(&d1);
			val_drop(&r1);
			val_drop(&d2);
			val_drop(&r2);
			val_drop(&s);
		}
		val_drop(&lv);
		val_drop(&hv);
		break;
	}
	case GB_PRIM_STEP: {
		if (!eval_f32(c, ba.param[0], &y, "the argument"))
			return false;
		if (ba.param[1])
			ok = eval_f32(c, ba.param[1], &z, "threshold");
		else
			ok = const_f32(c, 0.0f, &z);
		if (!ok)
			break;
		SETPOS();
		if (!ba.kw[0]) {
			if (!c->native) {
				ok = BAD(c, pos,
				         "step without width= has no exact ReLU expansion; give width= (a ramp) or compile with "
				         "--native");
				break;
			}
			val gt;
			attrs as = {.n = 0};
			attr_int(&as, "to", 1);
			ok = ew2(c, "Greater", "gt", &y, &z, V_BOOL, &gt) && emit1(c, "Cast", "step", &gt, &as, V_F32, &x);
			if (ok)
				val_drop(&gt);
			break;
		}
		float width;
		if (!eval_scalar(c, ba.kw[0], &width)) {
			ok = false;
			break;
		}
		if (!(width > 0)) {
			ok = BAD(c, ba.kw[0]->pos, "width must be positive");
			break;
		}
		SETPOS();
		val wv, d, u, lo, hi;
		memset(&d, 0, sizeof d);
		memset(&u, 0, sizeof u);
		memset(&lo, 0, sizeof lo);
		memset(&hi, 0, sizeof hi);
		if (!const_f32(c, width, &wv))
			break;
		ok = ew2(c, "Sub", "shifted", &y, &z, V_F32, &d) && ew2(c, "Div", "ramp", &d, &wv, V_F32, &u);
		val_drop(&wv);
		val_drop(&d);
		if (!ok) {
			val_drop(&u);
			break;
		}
		ok = const_f32(c, 0.0f, &lo) && const_f32(c, 1.0f, &hi);
		if (ok && c->native) {
			const val *ins[3] = {&u, &lo, &hi};
			ok = emit(c, "Clip", "step", 3, ins, 6, NULL, V_F32, u.ndim, u.dims, &x);
		} else if (ok) { /* relu(u) - relu(u - 1) */
			val r1, d1, r2;
			memset(&r1, 0, sizeof r1);
			memset(&d1, 0, sizeof d1);
			memset(&r2, 0, sizeof r2);
			ok = relu_of(c, &u, &r1) && ew2(c, "Sub", "ramp_top", &u, &hi, V_F32, &d1) && relu_of(c, &d1, &r2) &&
			     ew2(c, "Sub", "step", &r1, &r2, V_F32, &x);
			val_drop(&r1);
			val_drop(&d1);
			val_drop(&r2);
		}
		val_drop(&lo);
		val_drop(&hi);
		val_drop(&u);
		break;
	}
	case GB_PRIM_MAX:
	case GB_PRIM_MIN:
		if (n_args >= 2) {
			val *vs = NULL;
			bool is_max = p->id == GB_PRIM_MAX;
			if (!eval_list(c, args, n_args, &vs))
				return false;
			SETPOS();
			for (int i = 0; ok && i < n_args; i++)
				if (vs[i].kind != V_F32)
					ok = BAD(c, args[i]->pos, "an argument must be f32");
			if (ok && c->native) {
				const val **ins = calloc((size_t)n_args, sizeof *ins);
				ok = ins != NULL;
				for (int i = 0; ok && i < n_args; i++)
					ins[i] = &vs[i];
				ok = ok ? ew(c, is_max ? "Max" : "Min", p->name, n_args, ins, V_F32, &x) : nomem(c);
				free(ins);
			} else if (ok) {
				x = val_ref(&vs[0]);
				for (int i = 1; ok && i < n_args; i++) {
					val r;
					ok = maxmin2(c, is_max, &x, &vs[i], &r);
					val_drop(&x);
					x = r;
				}
			}
			free_list(vs, n_args);
			break;
		}
		/* one argument: a reduction, like sum */
		/* fall through */
	case GB_PRIM_SUM:
	case GB_PRIM_MEAN:
	case GB_PRIM_ARGMAX: {
		if (!eval_f32(c, ba.param[0], &y, "the argument"))
			return false;
		int axis = -1;
		int64_t a;
		if (ba.kw[0])
			ok = eval_int(c, ba.kw[0], &a) && gb_lang_axis(&c->env, a, y.ndim, &axis, ba.kw[0]->pos);
		if (ok && p->id == GB_PRIM_ARGMAX && y.ndim == 0)
			ok = BAD(c, ba.param[0]->pos, "argmax needs an array, not a scalar");
		SETPOS();
		ok = ok && reduction(c, p->id, &y, axis, &x);
		break;
	}
	case GB_PRIM_SOFTMAX:
	case GB_PRIM_LOG_SOFTMAX: {
		if (!eval_f32(c, ba.param[0], &y, "the argument"))
			return false;
		int axis = 0;
		int64_t a = -1;
		if (y.ndim == 0)
			ok = BAD(c, ba.param[0]->pos, "%s needs an array, not a scalar", p->name);
		ok = ok && (!ba.kw[0] || eval_int(c, ba.kw[0], &a)) && gb_lang_axis(&c->env, a, y.ndim, &axis, pos);
		SETPOS();
		if (ok) {
			attrs as = {.n = 0};
			attr_int(&as, "axis", axis + 1);
			bool is_log = p->id == GB_PRIM_LOG_SOFTMAX;
			ok = emit1(c, is_log ? "LogSoftmax" : "Softmax", p->name, &y, &as, V_F32, &x);
		}
		break;
	}
	case GB_PRIM_SORT: {
		if (!eval_f32(c, ba.param[0], &y, "the argument"))
			return false;
		bool desc = ba.kw[0] && ba.kw[0]->kind == GB_AST_BOOL_LIT && ba.kw[0]->u.bval;
		if (ba.kw[0] && ba.kw[0]->kind != GB_AST_BOOL_LIT)
			ok = BAD(c, ba.kw[0]->pos, "descending must be True or False");
		if (ok && y.ndim == 0)
			ok = BAD(c, ba.param[0]->pos, "sort needs an array, not a scalar");
		SETPOS();
		ok = ok && sort_last(c, &y, desc, &x);
		break;
	}
	case GB_PRIM_XOR:
	case GB_PRIM_MAJORITY: {
		val *vs = NULL;
		if (!eval_list(c, args, n_args, &vs))
			return false;
		SETPOS();
		for (int i = 1; ok && i < n_args; i++)
			if (vs[i].kind != vs[0].kind)
				ok = BAD(c, args[i]->pos, "%s needs arguments of one element type", p->name);
		if (ok && p->id == GB_PRIM_MAJORITY) {
			ok = n_args % 2 == 1 || BAD(c, pos, "majority takes an odd number of arguments");
			ok = ok && median(c, vs, n_args, &x);
		} else if (ok) {
			x = val_ref(&vs[0]);
			for (int i = 1; ok && i < n_args; i++) {
				val r;
				memset(&r, 0, sizeof r);
				if (vs[0].kind == V_BOOL) {
					ok = ew2(c, "Xor", "xor", &x, &vs[i], V_BOOL, &r);
				} else if (c->native) { /* Abs(Sub(a, b)) */
					val d;
					ok = ew2(c, "Sub", "diff", &x, &vs[i], V_F32, &d) && emit1(c, "Abs", "xor", &d, NULL, V_F32, &r);
					if (ok)
						val_drop(&d);
				} else { /* relu(a - b) + relu(b - a) */
					val d1, d2, r1, r2;
					memset(&d1, 0, sizeof d1);
					memset(&d2, 0, sizeof d2);
					memset(&r1, 0, sizeof r1);
					memset(&r2, 0, sizeof r2);
					ok = ew2(c, "Sub", "diff", &x, &vs[i], V_F32, &d1) && relu_of(c, &d1, &r1) &&
					     ew2(c, "Sub", "diff", &vs[i], &x, V_F32, &d2) && relu_of(c, &d2, &r2) &&
					     ew2(c, "Add", "xor", &r1, &r2, V_F32, &r);
					val_drop(&d1);
					val_drop(&d2);
					val_drop(&r1);
					val_drop(&r2);
				}
				val_drop(&x);
				x = r;
			}
		}
		free_list(vs, n_args);
		break;
	}
	case GB_PRIM_WHERE: {
		val *vs = NULL;
		if (!eval_list(c, (const gb_ast_expr *const *)ba.param, 3, &vs))
			return false;
		SETPOS();
		if (vs[0].kind != V_BOOL)
			ok = BAD(c, ba.param[0]->pos, "the condition of where must be bool");
		else if (vs[1].kind != vs[2].kind)
			ok = BAD(c, pos, "where needs a and b of one element type");
		const val *ins[3] = {&vs[0], &vs[1], &vs[2]};
		ok = ok && ew(c, "Where", "where", 3, ins, vs[1].kind, &x);
		free_list(vs, 3);
		break;
	}
	case GB_PRIM_DENSE: {
		val bias;
		memset(&bias, 0, sizeof bias);
		if (!eval_f32(c, ba.param[0], &y, "the input"))
			return false;
		ok = eval_f32(c, ba.param[1], &z, "the weight") && (!ba.param[2] || eval_f32(c, ba.param[2], &bias, "the bias"));
		SETPOS();
		ok = ok && dense(c, &y, &z, ba.param[2] ? &bias : NULL, &x);
		val_drop(&bias);
		break;
	}
	case GB_PRIM_MATMUL:
		if (!eval_f32(c, ba.param[0], &y, "the first argument"))
			return false;
		ok = eval_f32(c, ba.param[1], &z, "the second argument");
		SETPOS();
		ok = ok && matmul(c, &y, &z, &x);
		break;
	case GB_PRIM_TRANSPOSE: {
		if (!eval_array(c, ba.param[0], &y))
			return false;
		int64_t perm[GB_MAX_DIMS];
		ok = gb_lang_perm(&c->env, ba.param[1], y.ndim, perm);
		SETPOS();
		ok = ok && transpose_perm(c, &y, perm, &x);
		break;
	}
	case GB_PRIM_CONV2D: {
		int64_t stride[2], pad[2], dil[2], groups;
		if (!gb_lang_conv_args(&c->env, &ba, stride, pad, dil, &groups))
			return false;
		if (!eval_f32(c, ba.param[0], &y, "the image"))
			return false;
		val bias;
		memset(&bias, 0, sizeof bias);
		ok = eval_f32(c, ba.param[1], &z, "the kernel") && (!ba.param[2] || eval_f32(c, ba.param[2], &bias, "the bias"));
		SETPOS();
		ok = ok && conv2d(c, &y, &z, ba.param[2] ? &bias : NULL, stride, pad, dil, groups, &x);
		val_drop(&bias);
		break;
	}
	case GB_PRIM_MAXPOOL2D:
	case GB_PRIM_AVGPOOL2D: {
		int64_t size[2], stride[2], pad[2];
		if (!gb_lang_pool_args(&c->env, &ba, size, stride, pad))
			return false;
		if (!eval_f32(c, ba.param[0], &y, "the image"))
			return false;
		SETPOS();
		ok = pool2d(c, p->id == GB_PRIM_MAXPOOL2D, &y, size, stride, pad, &x);
		break;
	}
	case GB_PRIM_FLATTEN: {
		if (!eval_array(c, ba.param[0], &y))
			return false;
		SETPOS();
		int64_t n = vnumel(&y);
		if (y.c || y.ndim == 1) {
			ok = reshape_to(c, &y, 1, &n, &x);
		} else {
			attrs as = {.n = 0};
			attr_int(&as, "axis", 1);
			const val *ins[1] = {&y};
			ok = emit(c, "Flatten", "flatten", 1, ins, 0, &as, y.kind, 1, &n, &x);
		}
		break;
	}
	case GB_PRIM_RESHAPE: {
		int64_t shape[GB_MAX_DIMS];
		int n;
		if (!eval_ints(c, ba.param[1], shape, GB_MAX_DIMS, &n))
			return false;
		if (!eval_array(c, ba.param[0], &y))
			return false;
		SETPOS();
		int64_t total = vnumel(&y), known = 1;
		int infer = -1;
		for (int i = 0; ok && i < n; i++) {
			if (shape[i] == -1 && infer < 0)
				infer = i;
			else if (shape[i] < 1 || !gb_mul_i64(known, shape[i], &known) || known > total)
				ok = BAD(c, ba.param[1]->pos, "cannot reshape %lld elements to this shape", (long long)total);
		}
		if (ok && infer >= 0)
			shape[infer] = total / known;
		if (ok && gb_lang_numel(n, shape) != total)
			ok = BAD(c, ba.param[1]->pos, "cannot reshape %lld elements to this shape", (long long)total);
		ok = ok && reshape_to(c, &y, n, shape, &x);
		break;
	}
	case GB_PRIM_CONCAT: {
		int64_t axis = 0;
		if (ba.kw[0] && !eval_int(c, ba.kw[0], &axis))
			return false;
		val *vs = NULL;
		if (!eval_list(c, args, n_args, &vs))
			return false;
		SETPOS();
		int ax = 0;
		ok = vs[0].ndim > 0 || BAD(c, pos, "concat: axis out of range");
		ok = ok && gb_lang_axis(&c->env, axis, vs[0].ndim, &ax, pos);
		for (int i = 0; ok && i < n_args; i++) {
			ok = vs[i].kind == vs[0].kind && vs[i].ndim == vs[0].ndim;
			for (int k = 0; ok && k < vs[0].ndim; k++)
				ok = k == ax || vs[i].dims[k] == vs[0].dims[k];
			if (!ok)
				BAD(c, pos, "concat: the arrays do not fit together");
		}
		const val **ins = ok ? calloc((size_t)n_args, sizeof *ins) : NULL;
		if (ok && !ins)
			ok = nomem(c);
		for (int i = 0; ok && i < n_args; i++)
			ins[i] = &vs[i];
		ok = ok && concat_axis(c, n_args, ins, ax, &x);
		free(ins);
		free_list(vs, n_args);
		break;
	}
	case GB_PRIM_COUNT: return BAD(c, pos, "%s cannot be compiled", p->name);
	}
#undef SETPOS
	val_drop(&y);
	val_drop(&z);
	if (!ok) {
		val_drop(&x);
		return false;
	}
	*out = x;
	return true;
}

/* ---- bindings ----------------------------------------------------------------------- */

static binding *lookup(comp *c, const char *name)
{
	for (int i = c->n_binds - 1; i >= c->frame; i--)
		if (c->binds[i].name && strcmp(c->binds[i].name, name) == 0)
			return &c->binds[i];
	if (c->level > 0)
		for (int i = 0; i < c->n_binds; i++)
			if (c->binds[i].name && c->binds[i].is_param && strcmp(c->binds[i].name, name) == 0)
				return &c->binds[i];
	return NULL;
}

/* Takes ownership of v. */
static binding *push_binding(comp *c, const char *name, val *v)
{
	if (c->n_binds == c->cap_binds) {
		int cap = c->cap_binds ? c->cap_binds * 2 : 64;
		binding *grown = realloc(c->binds, sizeof *grown * (size_t)cap);
		if (!grown) {
			val_drop(v);
			nomem(c);
			return NULL;
		}
		c->binds = grown;
		c->cap_binds = cap;
	}
	binding *b = &c->binds[c->n_binds++];
	memset(b, 0, sizeof *b);
	b->name = name;
	b->v = *v;
	b->level = c->level;
	memset(v, 0, sizeof *v);
	return b;
}

static void pop_bindings(comp *c, int to)
{
	while (c->n_binds > to)
		val_drop(&c->binds[--c->n_binds].v);
}

/* Names a statement's result after its binding: a batched value made by
 * this statement is renamed ("hidden", "odd_3"); a constant is given the
 * name its initializer will carry. */
static bool name_result(comp *c, val *v)
{
	if (v->kind == V_INT)
		return true;
	char buf[256];
	hint_text(c, buf, sizeof buf);
	if (v->c) {
		if (!v->c->name && !(v->c->name = gb_arena_strdup(&c->m->arena, buf)))
			return nomem(c);
		return true;
	}
	if (v->v < c->first_value || c->m->values[v->v].producer < 0)
		return true;
	const char *name = name_fresh(c, buf);
	if (!name)
		return nomem(c);
	c->m->values[v->v].name = name;
	c->m->nodes[c->m->values[v->v].producer].name = name;
	return true;
}

/* ---- calls, ranges, comprehensions ----------------------------------------------------- */

static bool call_def(comp *c, const gb_ast_expr *call, const gb_ast_stmt *d, val *results, int n_results);

static const gb_ast_stmt *find_def(comp *c, const char *name)
{
	for (int i = 0; i < c->n_defs; i++)
		if (strcmp(c->defs[i]->u.def.name, name) == 0)
			return c->defs[i];
	return NULL;
}

static bool eval_call(comp *c, const gb_ast_expr *e, val *out)
{
	const gb_ast_stmt *d = find_def(c, e->u.call.callee);
	if (d) {
		if (d->u.def.n_returns != 1)
			return BAD(c, e->pos, "def %s returns %d values; take them apart with a tuple assignment", d->u.def.name,
			           d->u.def.n_returns);
		return call_def(c, e, d, out, 1);
	}
	const gb_prim *p = gb_prim_find(e->u.call.callee);
	if (!p)
		return BAD(c, e->pos, "unknown function '%s'", e->u.call.callee);
	return eval_prim(c, e, p, out);
}

static bool eval_comprehension(comp *c, const gb_ast_expr *e, val *out)
{
	int64_t start, step, count;
	if (!gb_lang_range(&c->env, &e->u.comp.range, &start, &step, &count))
		return false;
	if (count < 1)
		return BAD(c, e->u.comp.range.pos, "the comprehension's range is empty");
	if (c->n_loops >= MAX_LOOPS)
		return fail_at(c, e->pos, GB_STATUS_UNSUPPORTED, "loops nest deeper than %d", MAX_LOOPS);
	val *vs = calloc((size_t)count, sizeof *vs);
	if (!vs)
		return nomem(c);
	bool ok = true;
	int64_t done = 0;
	c->n_loops++;
	for (; ok && done < count; done++) {
		int64_t i = start + done * step;
		val iv = int_val(i);
		c->loops[c->n_loops - 1] = i;
		int mark = c->n_binds;
		ok = push_binding(c, e->u.comp.var, &iv) != NULL && eval(c, e->u.comp.body, &vs[done]) &&
		     as_array(c, &vs[done]);
		pop_bindings(c, mark);
	}
	c->n_loops--;
	c->pos = e->pos;
	ok = ok && stack(c, vs, count, out);
	free_list(vs, (int)count);
	return ok;
}

static bool eval_kind(comp *c, const gb_ast_expr *e, val *out);

/* Only names and array literals carry the int-list mark. */
static bool eval(comp *c, const gb_ast_expr *e, val *out)
{
	if (!eval_kind(c, e, out))
		return false;
	if (e->kind != GB_AST_NAME && e->kind != GB_AST_ARRAY)
		out->is_list = false;
	return true;
}

static bool eval_kind(comp *c, const gb_ast_expr *e, val *out)
{
	memset(out, 0, sizeof *out);
	c->pos = e->pos;
	switch (e->kind) {
	case GB_AST_NAME: {
		binding *b = lookup(c, e->u.name);
		if (!b)
			return BAD(c, e->pos, "unknown name '%s'", e->u.name);
		*out = val_ref(&b->v);
		return true;
	}
	case GB_AST_INT: *out = int_val(e->u.ival); return true;
	case GB_AST_FLOAT: return const_f32(c, e->u.fval, out);
	case GB_AST_BOOL_LIT:
		if (!const_new(c, V_BOOL, 0, NULL, out))
			return false;
		*(uint8_t *)out->c->t->data = e->u.bval;
		return true;
	case GB_AST_UNARY: {
		val x;
		if (!eval(c, e->u.unary.operand, &x))
			return false;
		c->pos = e->pos;
		if (x.kind == V_INT && e->u.unary.op == GB_AST_NEG) {
			if (x.ival == INT64_MIN)
				return BAD(c, e->pos, "integer overflow in '-'");
			*out = int_val(-x.ival);
			return true;
		}
		if (!as_array(c, &x))
			return false;
		bool ok;
		if (e->u.unary.op == GB_AST_NOT) {
			if (x.kind == V_BOOL) {
				ok = emit1(c, "Not", "not", &x, NULL, V_BOOL, out);
			} else {
				val one;
				ok = const_f32(c, 1.0f, &one) && ew2(c, "Sub", "not", &one, &x, V_F32, out);
				if (ok)
					val_drop(&one);
			}
		} else {
			ok = x.kind == V_F32 ? emit1(c, "Neg", "neg", &x, NULL, V_F32, out) : BAD(c, e->pos, "'-' takes f32");
		}
		val_drop(&x);
		return ok;
	}
	case GB_AST_BINARY: return eval_binary(c, e, out);
	case GB_AST_CALL: return eval_call(c, e, out);
	case GB_AST_INDEX: {
		val base;
		if (!eval(c, e->u.index.base, &base))
			return false;
		c->pos = e->pos;
		region r;
		bool ok = make_region(c, &base, e->u.index.subs, e->u.index.n_subs, &r, e->pos) &&
		          index_region(c, &base, &r, out);
		if (ok && base.is_list && out->ndim == 0 && out->c) { /* an element of an int list is that int */
			int64_t v = (int64_t)*(const float *)out->c->t->data;
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
			return nomem(c);
		bool ok = true, ints = n <= GB_MAX_DIMS;
		for (int i = 0; ok && i < n; i++) {
			ok = eval(c, e->u.array.items[i], &vs[i]);
			ints = ints && vs[i].kind == V_INT;
			ok = ok && as_array(c, &vs[i]);
		}
		c->pos = e->pos;
		ok = ok && stack(c, vs, n, out);
		free_list(vs, n);
		if (ok)
			out->is_list = ints;
		return ok;
	}
	case GB_AST_COMPREHENSION: return eval_comprehension(c, e, out);
	case GB_AST_WEIGHTS: return BAD(c, e->pos, "weights[...] may only be the whole value of a param");
	}
	return BAD(c, e->pos, "unknown expression");
}

/* ---- def calls ------------------------------------------------------------------------------ */

static bool exec_block(comp *c, const gb_ast_block *blk);

static bool call_def(comp *c, const gb_ast_expr *call, const gb_ast_stmt *d, val *results, int n_results)
{
	int n = d->u.def.n_params;
	if (!gb_lang_def_call_ok(&c->env, call, d, n_results, c->level))
		return false;
	val *args;
	if (n && !eval_list(c, (const gb_ast_expr *const *)call->u.call.args, n, &args))
		return false;
	int saved_frame = c->frame, saved_level = c->level;
	const char *saved_hint = c->hint;
	int saved_first = c->first_value;
	int mark = c->n_binds;
	c->frame = c->n_binds;
	c->level++;
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
			binding *sv = lookup(c, at->dims[k].name);
			if (sv && sv - c->binds >= c->frame) {
				ok = sv->v.kind == V_INT && sv->v.ival == have;
			} else {
				val iv = int_val(have);
				ok = push_binding(c, at->dims[k].name, &iv) != NULL;
				if (!ok)
					break;
			}
		}
		if (!ok) {
			if (!c->err->msg[0])
				BAD(c, call->u.call.args[i]->pos, "def %s: argument '%s' does not have the parameter's type",
				    d->u.def.name, pd->name);
			break;
		}
		ok = push_binding(c, pd->name, &args[i]) != NULL;
	}
	if (n)
		free_list(args, n);
	const gb_ast_block *body = &d->u.def.body;
	const gb_ast_stmt *ret = ok ? gb_lang_def_return(&c->env, d, n_results) : NULL;
	ok = ok && ret;
	for (int i = 0; ok && i < body->n_stmts - 1; i++) {
		gb_ast_block one = {(gb_ast_stmt **)&body->stmts[i], 1, NULL, 0};
		ok = exec_block(c, &one);
	}
	c->hint = d->u.def.name;
	int got = 0;
	for (; ok && got < n_results; got++) {
		ok = eval(c, ret->u.ret.values[got], &results[got]);
		if (!ok)
			break;
		if (results[got].kind == V_INT && d->u.def.returns[got].elem == GB_AST_F32)
			ok = as_array(c, &results[got]);
		if (!ok) {
			got++;
			break;
		}
	}
	if (!ok)
		for (int i = 0; i < got; i++)
			val_drop(&results[i]);
	pop_bindings(c, mark);
	c->frame = saved_frame;
	c->level = saved_level;
	c->hint = saved_hint;
	c->first_value = saved_first;
	return ok;
}

/* ---- statements ----------------------------------------------------------------------------- */

static bool resolve_dims(comp *c, const gb_ast_type *t, int64_t *dims)
{
	for (int k = 0; k < t->ndim; k++) {
		if (!t->dims[k].name) {
			dims[k] = t->dims[k].size;
			continue;
		}
		binding *b = lookup(c, t->dims[k].name);
		if (!b || b->v.kind != V_INT)
			return BAD(c, t->dims[k].pos, "unknown shape variable '%s'", t->dims[k].name);
		dims[k] = b->v.ival;
	}
	return true;
}

/* A declared array: zeros, every element undefined. */
static bool declared(comp *c, const gb_ast_type *ty, val *out)
{
	int64_t dims[GB_MAX_DIMS];
	if (!resolve_dims(c, ty, dims) || !const_new(c, ty->elem == GB_AST_BOOL ? V_BOOL : V_F32, ty->ndim, dims, out))
		return false;
	int64_t m = vnumel(out);
	out->undef = malloc(sizeof *out->undef + (size_t)m);
	if (!out->undef) {
		val_drop(out);
		return nomem(c);
	}
	out->undef->refs = 1;
	memset(out->undef->u, 1, (size_t)m);
	return true;
}

static bool load_weight(comp *c, const gb_ast_stmt *s, val *out)
{
	const gb_ast_expr *e = s->u.decl.value;
	if (!c->weights_stmt)
		return BAD(c, e->pos, "weights[\"%s\"] needs a weights \"FILE.safetensors\" line", e->u.weights_key);
	if (!c->weights) {
		const char *rel = c->weights_stmt->u.weights_path;
		size_t len = strlen(c->dir) + strlen(rel) + 2;
		char *path = malloc(len);
		if (!path)
			return nomem(c);
		if (rel[0] == '/' || !c->dir[0])
			snprintf(path, len, "%s", rel);
		else
			snprintf(path, len, "%s/%s", c->dir, rel);
		gb_error e2 = {0};
		gb_status st = gb_safetensors_load(path, &c->weights, &e2);
		free(path);
		if (st != GB_OK)
			return fail_at(c, c->weights_stmt->pos, st == GB_STATUS_NOMEM ? st : GB_STATUS_BAD_FILE,
			               "cannot read the weights: %s", e2.msg);
	}
	const gb_tensor *t = gb_tensor_map_get(c->weights, e->u.weights_key);
	if (!t)
		return BAD(c, e->pos, "the weights file \"%s\" has no tensor \"%s\"", c->weights_stmt->u.weights_path,
		           e->u.weights_key);
	const gb_ast_type *ty = s->u.decl.type;
	vkind kind = ty->elem == GB_AST_BOOL ? V_BOOL : V_F32;
	int64_t dims[GB_MAX_DIMS];
	if (!resolve_dims(c, ty, dims))
		return false;
	bool same = t->ndim == ty->ndim && t->dtype == dtype_of(kind);
	for (int k = 0; same && k < t->ndim; k++)
		same = t->dims[k] == dims[k];
	char have[128];
	if (!same)
		return BAD(c, e->pos, "tensor \"%s\" is %s %s, the param is %s%s", e->u.weights_key, gb_dtype_name(t->dtype),
		           gb_shape_str(t->ndim, t->dims, have, sizeof have), kind == V_BOOL ? "bool" : "f32",
		           ty->ndim ? "" : " (a scalar)");
	if (!const_new(c, kind, ty->ndim, dims, out))
		return false;
	memcpy(out->c->t->data, t->data, (size_t)vnumel(out) * gb_dtype_size(t->dtype));
	if (kind == V_BOOL) /* any nonzero byte is True */
		for (int64_t i = 0; i < vnumel(out); i++)
			((uint8_t *)out->c->t->data)[i] = ((uint8_t *)out->c->t->data)[i] != 0;
	return true;
}

static bool fit_kind(comp *c, val *v, vkind want, gb_ast_pos pos)
{
	if (v->kind == V_INT && want == V_F32)
		return as_array(c, v);
	if (v->kind != want)
		return BAD(c, pos, "the value's element type is not the declared one");
	return true;
}

static bool assign_target(comp *c, const gb_ast_target *t, val *v, const gb_ast_type *type, gb_ast_pos pos)
{
	binding *b = lookup(c, t->name);
	if (b && b - c->binds < c->frame)
		b = NULL; /* a def never assigns outside its frame */
	c->hint = t->name;
	if (t->n_subs == 0) {
		if (!name_result(c, v))
			return false;
		if (type) {
			vkind want = type->elem == GB_AST_BOOL ? V_BOOL : V_F32;
			if (!fit_kind(c, v, want, pos))
				return false;
			if (b) {
				val_drop(&b->v);
				b->v = *v;
			} else if (!(b = push_binding(c, t->name, v))) {
				return false;
			}
			b->has_type = true;
			b->decl_kind = want;
			memset(v, 0, sizeof *v);
			return true;
		}
		if (b && b->has_type && !fit_kind(c, v, b->decl_kind, pos))
			return false;
		if (b) {
			val_drop(&b->v);
			b->v = *v;
			memset(v, 0, sizeof *v);
			return true;
		}
		return push_binding(c, t->name, v) != NULL;
	}
	if (!b)
		return BAD(c, t->pos, "unknown name '%s'", t->name);
	if (!fit_kind(c, v, b->v.kind == V_INT ? V_F32 : b->v.kind, pos))
		return false;
	region r;
	c->pos = t->pos;
	bool ok = make_region(c, &b->v, t->subs, t->n_subs, &r, t->pos);
	if (ok) {
		/* the value must broadcast to the region exactly */
		int nd = 0;
		int64_t dims[GB_MAX_DIMS];
		const val *pair[1] = {v};
		val probe;
		memset(&probe, 0, sizeof probe);
		probe.ndim = r.ndim;
		memcpy(probe.dims, r.dims, sizeof probe.dims);
		const val *both[2] = {pair[0], &probe};
		ok = bcast_dims(c, 2, both, &nd, dims);
		if (ok && (nd != r.ndim || gb_lang_numel(nd, dims) != gb_lang_numel(r.ndim, r.dims)))
			ok = BAD(c, pos, "the value does not fit the region");
	}
	ok = ok && assign_region(c, &b->v, &r, v, pos) && name_result(c, &b->v);
	val_drop(v);
	return ok;
}

static bool exec_stmt(comp *c, const gb_ast_stmt *s)
{
	c->pos = s->pos;
	c->first_value = c->m->n_values;
	switch (s->kind) {
	case GB_AST_WEIGHTS_FILE: c->weights_stmt = s; return true;
	case GB_AST_DEF:
	case GB_AST_INPUT: return true; /* inputs are bound before the program runs */
	case GB_AST_OUTPUT:
	case GB_AST_PARAM: {
		val v;
		const gb_ast_type *ty = s->u.decl.type;
		c->hint = s->u.decl.name;
		if (s->u.decl.value && s->u.decl.value->kind == GB_AST_WEIGHTS) {
			if (!load_weight(c, s, &v))
				return false;
		} else if (s->u.decl.value) {
			if (!eval(c, s->u.decl.value, &v))
				return false;
			c->hint = s->u.decl.name;
			if (ty && !fit_kind(c, &v, ty->elem == GB_AST_BOOL ? V_BOOL : V_F32, s->u.decl.value->pos)) {
				val_drop(&v);
				return false;
			}
			if (!ty && !as_array(c, &v))
				return false;
		} else if (!declared(c, ty, &v)) {
			return false;
		}
		if (s->kind == GB_AST_PARAM) {
			if (!v.c) {
				val_drop(&v);
				return BAD(c, s->pos, "param '%s' is not a constant", s->u.decl.name);
			}
			if (!v.c->exact && v.c->init < 0 && v.c->refs == 1) {
				v.c->name = s->u.decl.name;
				v.c->exact = true;
			}
		} else if (s->u.decl.value && !name_result(c, &v)) {
			val_drop(&v);
			return false;
		}
		binding *b = push_binding(c, s->u.decl.name, &v);
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
		c->hint = ts[0].name;
		if (!s->u.assign.value) { /* x: T, elements undefined */
			val v;
			if (!s->u.assign.type)
				return BAD(c, s->pos, "a declaration needs a type");
			if (!declared(c, s->u.assign.type, &v))
				return false;
			bool ok = assign_target(c, &ts[0], &v, s->u.assign.type, s->pos);
			val_drop(&v);
			return ok;
		}
		if (nt == 1) {
			val v;
			if (!eval(c, s->u.assign.value, &v))
				return false;
			bool ok = assign_target(c, &ts[0], &v, s->u.assign.type, s->u.assign.value->pos);
			val_drop(&v);
			return ok;
		}
		const gb_ast_expr *call = s->u.assign.value;
		const gb_ast_stmt *d = call->kind == GB_AST_CALL ? find_def(c, call->u.call.callee) : NULL;
		if (!d)
			return BAD(c, call->pos, "%d targets need a call of a def with %d results", nt, nt);
		val *rs = calloc((size_t)nt, sizeof *rs);
		if (!rs)
			return nomem(c);
		bool ok = call_def(c, call, d, rs, nt);
		for (int i = 0; ok && i < nt; i++)
			ok = assign_target(c, &ts[i], &rs[i], NULL, ts[i].pos);
		free_list(rs, nt);
		return ok;
	}
	case GB_AST_FOR: {
		int64_t start, step, count;
		if (!gb_lang_range(&c->env, &s->u.loop.range, &start, &step, &count))
			return false;
		if (count == 0)
			return true;
		if (c->n_loops >= MAX_LOOPS)
			return fail_at(c, s->pos, GB_STATUS_UNSUPPORTED, "loops nest deeper than %d", MAX_LOOPS);
		val iv = int_val(start);
		binding *b = push_binding(c, s->u.loop.var, &iv);
		if (!b)
			return false;
		int at = (int)(b - c->binds);
		bool ok = true;
		c->n_loops++;
		for (int64_t i = 0; ok && i < count; i++) {
			c->binds[at].v.ival = start + i * step;
			c->loops[c->n_loops - 1] = start + i * step;
			ok = exec_block(c, &s->u.loop.body);
		}
		c->n_loops--;
		c->binds[at].name = NULL; /* the loop variable ends with the body */
		return ok;
	}
	case GB_AST_RETURN: return BAD(c, s->pos, "return outside a def");
	}
	return BAD(c, s->pos, "unknown statement");
}

static bool exec_block(comp *c, const gb_ast_block *blk)
{
	for (int i = 0; i < blk->n_stmts; i++)
		if (!exec_stmt(c, blk->stmts[i]))
			return false;
	return true;
}

/* ---- the program ---------------------------------------------------------------------------- */

/* Binds each input to a graph input [N, ...shape] named after it. */
static bool bind_inputs(comp *c, int *in_values, int n_in)
{
	for (int i = 0; i < n_in; i++) {
		const gb_ast_stmt *s = gb_ast_input(c->ast, i);
		const gb_ast_type *ty = s->u.decl.type;
		c->pos = s->pos;
		int64_t dims[GB_MAX_DIMS];
		for (int k = 0; k < ty->ndim; k++)
			dims[k] = ty->dims[k].size;
		vkind kind = ty->elem == GB_AST_BOOL ? V_BOOL : V_F32;
		if (!rank_ok(c, ty->ndim))
			return false;
		int v = new_value(c, s->u.decl.name, kind, ty->ndim, dims, true);
		if (v < 0)
			return nomem(c);
		in_values[i] = v;
		val x;
		memset(&x, 0, sizeof x);
		x.kind = kind;
		x.ndim = ty->ndim;
		memcpy(x.dims, dims, sizeof(int64_t) * (size_t)ty->ndim);
		x.v = v;
		binding *b = push_binding(c, s->u.decl.name, &x);
		if (!b)
			return false;
		b->has_type = true;
		b->decl_kind = kind;
	}
	c->first_input = in_values[0];
	return true;
}

/* Makes each output a graph output named after it: the value that holds
 * its final contents is renamed, or copied by an Identity when it is an
 * input, another output, or a constant (expanded to the batch first). */
static bool bind_outputs(comp *c, int *out_values, int n_out)
{
	int k = 0;
	for (int i = 0; i < c->ast->body.n_stmts; i++) {
		const gb_ast_stmt *s = c->ast->body.stmts[i];
		if (s->kind != GB_AST_OUTPUT)
			continue;
		const char *name = s->u.decl.name;
		c->pos = s->pos;
		c->hint = name;
		c->first_value = c->m->n_values;
		binding *b = lookup(c, name);
		if (!b || b->v.kind == V_INT || k >= n_out)
			return BAD(c, s->pos, "output '%s' has no value", name);
		val v;
		if (!expand_batch(c, &b->v, &v))
			return false;
		const char *reserved = name_find(c, name)->name; /* reserved at the start */
		gb_value *g = &c->m->values[v.v];
		bool taken = false;
		for (int j = 0; j < k; j++)
			taken |= out_values[j] == v.v;
		if (g->producer >= 0 && !taken && strcmp(g->name, name) != 0) {
			g->name = reserved;
			c->m->nodes[g->producer].name = reserved;
			out_values[k++] = v.v;
		} else if (g->producer >= 0 && !taken) {
			out_values[k++] = v.v;
		} else {
			int ov = new_value(c, reserved, v.kind, v.ndim, v.dims, true);
			if (ov < 0 || gb_model_add_node(c->m, reserved, "Identity", "", 1, &v.v, 1, &ov) < 0) {
				val_drop(&v);
				return nomem(c);
			}
			out_values[k++] = ov;
		}
		val_drop(&v);
	}
	return true;
}

static gb_status compile_program(const gb_ast *ast, const char *dir, gb_tensor_map *weights, bool native,
                                 gb_model **out, gb_error *err);

gb_status gb_ast_compile(const gb_ast *ast, const char *dir, bool native, gb_model **out, gb_error *err)
{
	return compile_program(ast, dir, NULL, native, out, err);
}

gb_status gb_ast_compile_weights(const gb_ast *ast, gb_tensor_map *weights, bool native, gb_model **out,
                                 gb_error *err)
{
	return compile_program(ast, NULL, weights, native, out, err);
}

static gb_status compile_program(const gb_ast *ast, const char *dir, gb_tensor_map *weights, bool native,
                                 gb_model **out, gb_error *err)
{
	*out = NULL;
	gb_status st = gb_ast_check(ast, err);
	if (st != GB_OK)
		return st;
	comp c;
	memset(&c, 0, sizeof c);
	c.ast = ast;
	c.file = ast->file;
	c.dir = dir ? dir : "";
	c.weights = weights; /* borrowed when given: not freed below */
	c.native = native;
	c.err = err;
	c.env = (gb_lang_env){&c, env_fail, env_eval_int, env_eval_ints};
	c.batch_n = -1;
	err->msg[0] = '\0';
	int n_in = gb_ast_input_count(ast), n_out = 0;
	for (int i = 0; i < ast->body.n_stmts; i++)
		n_out += ast->body.stmts[i]->kind == GB_AST_OUTPUT;
	int *in_values = calloc((size_t)n_in + 1, sizeof *in_values);
	int *out_values = calloc((size_t)n_out + 1, sizeof *out_values);
	c.defs = calloc((size_t)ast->body.n_stmts + 1, sizeof *c.defs);
	if (!in_values || !out_values || !c.defs) {
		st = gb_fail(err, GB_STATUS_NOMEM, "out of memory");
		goto done;
	}
	if (n_in == 0) {
		st = gb_fail(err, GB_STATUS_BAD_FILE,
		             "%s: the program has no input; a network needs one to carry the batch (compile a program "
		             "with at least one input)",
		             ast->file);
		goto done;
	}
	if ((st = gb_model_new_empty(ast->file, &c.m, err)) != GB_OK)
		goto done;
	c.m->opset = 13;
	c.m->ir_version = 8;
	c.m->producer_name = "glassbox compile";
	c.m->graph_name = native ? "gbx_native" : "gbx";
	for (int i = 0; i < ast->body.n_stmts; i++) {
		const gb_ast_stmt *s = ast->body.stmts[i];
		if (s->kind == GB_AST_DEF)
			c.defs[c.n_defs++] = s;
		/* the program's own names are reserved for its inputs, outputs and params */
		if ((s->kind == GB_AST_INPUT || s->kind == GB_AST_OUTPUT || s->kind == GB_AST_PARAM) &&
		    !name_add(&c, s->u.decl.name)) {
			st = gb_fail(err, GB_STATUS_NOMEM, "out of memory");
			goto done;
		}
	}
	if (!bind_inputs(&c, in_values, n_in) || !exec_block(&c, &ast->body) || !bind_outputs(&c, out_values, n_out)) {
		st = err->status != GB_OK ? err->status : GB_STATUS_FAILURE;
		goto done;
	}
	if ((st = gb_model_set_io(c.m, n_in, in_values, n_out, out_values, err)) != GB_OK)
		goto done;
	if ((st = gb_model_prepare(c.m, err)) != GB_OK) {
		char msg[GB_ERRMSG_MAX];
		snprintf(msg, sizeof msg, "%s", err->msg);
		st = gb_fail(err, st, "%s: the compiled network does not run here: %s", ast->file, msg);
		goto done;
	}
	*out = c.m;
	c.m = NULL;
done:
	pop_bindings(&c, 0);
	free(c.binds);
	free(c.defs);
	free(c.names);
	free(c.flat);
	for (int i = 0; i < c.n_i64; i++) {
		val tmp;
		memset(&tmp, 0, sizeof tmp);
		tmp.c = c.i64_cache[i];
		val_drop(&tmp);
	}
	free(c.i64_cache);
	if (!weights)
		gb_tensor_map_free(c.weights);
	gb_model_free(c.m);
	free(in_values);
	free(out_values);
	return st;
}
