/*
 * eval_common.c — the evaluation helpers the checker, the interpreter and
 * the compiler share (internal.h declares them): subscripts to regions,
 * range(...) counts, broadcast and region offsets, binding a call's
 * arguments to a primitive's parameters, axis normalisation and the
 * preconditions of a def call.
 *
 * None of them knows how a caller represents values (abstract types in
 * check.c, tensors in interp.c, graph values in compile.c): they work on
 * shapes and int64s, evaluate compile-time ints through the caller's
 * gb_lang_env, and report through it too, so each caller's messages and
 * statuses are exactly its own.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool gb_lang_fail(const gb_lang_env *env, gb_ast_pos pos, const char *fmt, ...)
{
	char msg[GB_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return env->fail(env->self, pos, msg);
}

int64_t gb_lang_numel(int ndim, const int64_t *dims)
{
	int64_t n = 1;
	for (int i = 0; i < ndim; i++)
		n *= dims[i];
	return n;
}

/* ---- regions: indexing and slicing -------------------------------------------------------- */

/* Clamps a slice bound into [lo, hi] the way Python's slice.indices() does. */
static int64_t slice_bound(int64_t b, int64_t n, int64_t lo, int64_t hi)
{
	if (b < 0) {
		b += n;
		if (b < lo)
			b = lo;
	} else if (b > hi) {
		b = hi;
	}
	return b;
}

bool gb_lang_region_make(const gb_lang_env *env, int ndim, const int64_t *dims, const gb_ast_subscript *subs,
                         int n_subs, gb_lang_region *r, gb_ast_pos pos)
{
	if (n_subs > ndim)
		return gb_lang_fail(env, pos, "too many subscripts for an array of rank %d", ndim);
	r->ndim = 0;
	for (int k = 0; k < ndim; k++) {
		int64_t n = dims[k];
		r->index[k] = false;
		if (k >= n_subs) {
			r->start[k] = 0;
			r->step[k] = 1;
			r->count[k] = n;
			r->dims[r->ndim++] = n;
			continue;
		}
		const gb_ast_subscript *s = &subs[k];
		if (!s->is_slice) {
			int64_t i;
			if (!env->eval_int(env->self, s->index, &i))
				return false;
			if (i < 0)
				i += n;
			if (i < 0 || i >= n)
				return gb_lang_fail(env, s->pos, "index out of range for axis %d of size %lld", k, (long long)n);
			r->start[k] = i;
			r->step[k] = 1;
			r->count[k] = 1;
			r->index[k] = true;
			continue;
		}
		int64_t step = 1, start = 0, stop = 0;
		if (s->step && !env->eval_int(env->self, s->step, &step))
			return false;
		if (step == 0)
			return gb_lang_fail(env, s->pos, "slice step must not be 0");
		int64_t lo = step < 0 ? -1 : 0, hi = step < 0 ? n - 1 : n;
		if ((s->start && !env->eval_int(env->self, s->start, &start)) ||
		    (s->stop && !env->eval_int(env->self, s->stop, &stop)))
			return false;
		start = s->start ? slice_bound(start, n, lo, hi) : step < 0 ? hi : lo;
		stop = s->stop ? slice_bound(stop, n, lo, hi) : step < 0 ? lo : hi;
		int64_t count = 0;
		if (step > 0 && stop > start)
			count = (stop - start - 1) / step + 1;
		else if (step < 0 && start > stop)
			count = (start - stop - 1) / (-step) + 1;
		if (count < 1)
			return gb_lang_fail(env, s->pos, "the slice selects nothing");
		r->start[k] = start;
		r->step[k] = step;
		r->count[k] = count;
		r->dims[r->ndim++] = count;
	}
	return true;
}

int64_t *gb_lang_region_offsets(int ndim, const int64_t *dims, const gb_lang_region *r, int64_t *count)
{
	int64_t stride[GB_MAX_DIMS], s = 1, m = 1, cur = 0;
	for (int k = ndim - 1; k >= 0; k--) {
		stride[k] = s;
		s *= dims[k];
		m *= r->count[k];
		cur += r->start[k] * stride[k];
	}
	int64_t *off = malloc(sizeof(int64_t) * (size_t)m);
	if (!off)
		return NULL;
	int64_t idx[GB_MAX_DIMS] = {0};
	for (int64_t i = 0; i < m; i++) {
		off[i] = cur;
		for (int k = ndim - 1; k >= 0; k--) {
			cur += r->step[k] * stride[k];
			if (++idx[k] < r->count[k])
				break;
			cur -= r->step[k] * stride[k] * idx[k];
			idx[k] = 0;
		}
	}
	*count = m;
	return off;
}

int64_t *gb_lang_bcast_offsets(int ndim, const int64_t *dims, int ondim, const int64_t *odims, int64_t count)
{
	int64_t *off = malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
	if (!off)
		return NULL;
	int64_t stride[GB_MAX_DIMS] = {0};
	int64_t s = 1;
	for (int k = ndim - 1; k >= 0; k--) {
		int ok = ondim - ndim + k;
		stride[ok] = dims[k] == 1 ? 0 : s;
		s *= dims[k];
	}
	int64_t idx[GB_MAX_DIMS] = {0};
	int64_t cur = 0;
	for (int64_t i = 0; i < count; i++) {
		off[i] = cur;
		for (int k = ondim - 1; k >= 0; k--) {
			cur += stride[k];
			if (++idx[k] < odims[k])
				break;
			cur -= stride[k] * idx[k];
			idx[k] = 0;
		}
	}
	return off;
}

/* ---- ints: ranges, pairs, axes -------------------------------------------------------------- */

bool gb_lang_range(const gb_lang_env *env, const gb_ast_range *r, int64_t *start, int64_t *step, int64_t *count)
{
	int64_t stop = 0;
	*start = 0;
	*step = 1;
	if (r->start && !env->eval_int(env->self, r->start, start))
		return false;
	if (!env->eval_int(env->self, r->stop, &stop))
		return false;
	if (r->step && !env->eval_int(env->self, r->step, step))
		return false;
	if (*step == 0)
		return gb_lang_fail(env, r->pos, "range step must not be 0");
	*count = 0;
	/* unsigned arithmetic: the bounds may span all of int64 */
	if (*step > 0 && stop > *start)
		*count = (int64_t)(((uint64_t)stop - (uint64_t)*start - 1) / (uint64_t)*step + 1);
	else if (*step < 0 && *start > stop)
		*count = (int64_t)(((uint64_t)*start - (uint64_t)stop - 1) / (uint64_t)(-*step) + 1);
	if (*count > GB_LANG_MAX_UNROLLED)
		return gb_lang_fail(env, r->pos, "the range has more than %d values", GB_LANG_MAX_UNROLLED);
	return true;
}

/* An int or a list [a, b] of ints (def when e is NULL); each at least lo. */
static bool pair_arg(const gb_lang_env *env, const gb_ast_expr *e, int64_t def, int64_t lo, int64_t out[2])
{
	if (!e) {
		out[0] = out[1] = def;
		return true;
	}
	int n;
	int64_t xs[GB_MAX_DIMS];
	if (!env->eval_ints(env->self, e, xs, 2, &n))
		return false;
	out[0] = xs[0];
	out[1] = n == 2 ? xs[1] : xs[0];
	if (out[0] < lo || out[1] < lo)
		return gb_lang_fail(env, e->pos, "must be at least %lld", (long long)lo);
	return true;
}

bool gb_lang_int_arith(gb_ast_op op, int64_t x, int64_t y, int64_t *out)
{
	switch (op) {
	case GB_AST_ADD: return !__builtin_add_overflow(x, y, out);
	case GB_AST_SUB: return !__builtin_sub_overflow(x, y, out);
	case GB_AST_MUL: return !__builtin_mul_overflow(x, y, out);
	case GB_AST_FLOORDIV:
	case GB_AST_MOD: {
		if (y == 0 || (x == INT64_MIN && y == -1))
			return false;
		int64_t q = x / y, r = x % y;
		if (r != 0 && ((r < 0) != (y < 0))) { /* floor, as Python */
			q -= 1;
			r += y;
		}
		*out = op == GB_AST_FLOORDIV ? q : r;
		return true;
	}
	default: return false;
	}
}

bool gb_lang_perm(const gb_lang_env *env, const gb_ast_expr *e, int rank, int64_t perm[GB_MAX_DIMS])
{
	if (!e) {
		for (int i = 0; i < rank; i++)
			perm[i] = rank - 1 - i;
		return true;
	}
	int n;
	if (!env->eval_ints(env->self, e, perm, GB_MAX_DIMS, &n))
		return false;
	if (n != rank)
		return gb_lang_fail(env, e->pos, "perm must be a list of %d integers", rank);
	bool seen[GB_MAX_DIMS] = {false};
	for (int i = 0; i < n; i++) {
		if (perm[i] < 0 || perm[i] >= n || seen[perm[i]])
			return gb_lang_fail(env, e->pos, "perm must be a permutation of 0..%d", n - 1);
		seen[perm[i]] = true;
	}
	return true;
}

bool gb_lang_axis(const gb_lang_env *env, int64_t axis, int rank, int *out, gb_ast_pos pos)
{
	if (axis < -rank || axis >= rank)
		return gb_lang_fail(env, pos, "axis %lld is out of range for rank %d", (long long)axis, rank);
	*out = (int)(axis < 0 ? axis + rank : axis);
	return true;
}

/* ---- calls ------------------------------------------------------------------------------------ */

bool gb_prim_bind(const gb_lang_env *env, const gb_ast_expr *e, const gb_prim *p, bool strict, gb_prim_args *ba)
{
	memset(ba, 0, sizeof *ba);
	int n_params = 0;
	while (n_params < GB_PRIM_MAX_PARAMS && p->params[n_params])
		n_params++;
	int n = e->u.call.n_args;
	if (strict && n > n_params && !p->variadic)
		return gb_lang_fail(env, e->pos, "%s takes at most %d positional argument%s, got %d", p->name, n_params,
		                    n_params == 1 ? "" : "s", n);
	for (int i = 0; i < n && i < n_params; i++)
		ba->param[i] = e->u.call.args[i];
	if (n > n_params) {
		ba->more = (const gb_ast_expr **)e->u.call.args + n_params;
		ba->n_more = n - n_params;
	}
	for (int k = 0; k < e->u.call.n_kwargs; k++) {
		const gb_ast_kwarg *kw = &e->u.call.kwargs[k];
		bool found = false;
		for (int i = 0; i < n_params && !found; i++)
			if (strcmp(p->params[i], kw->name) == 0) {
				if (strict && ba->param[i])
					return gb_lang_fail(env, kw->pos, "%s got '%s' twice", p->name, kw->name);
				if (strict && ba->n_more)
					return gb_lang_fail(env, kw->pos,
					                    "%s: '%s' cannot be given by keyword after extra positional arguments",
					                    p->name, kw->name);
				ba->param[i] = kw->value;
				found = true;
			}
		for (int i = 0; i < 4 && p->kwonly[i] && !found; i++)
			if (strcmp(p->kwonly[i], kw->name) == 0) {
				ba->kw[i] = kw->value;
				found = true;
			}
		if (!found)
			return gb_lang_fail(env, kw->pos, "%s has no parameter '%s'", p->name, kw->name);
	}
	for (int i = 0; i < p->n_required; i++)
		if (!ba->param[i])
			return gb_lang_fail(env, e->pos, "%s is missing its argument '%s'", p->name, p->params[i]);
	return true;
}

bool gb_lang_conv_args(const gb_lang_env *env, const gb_prim_args *ba, int64_t stride[2], int64_t pad[2],
                       int64_t dil[2], int64_t *groups)
{
	*groups = 1;
	return pair_arg(env, ba->param[3], 1, 1, stride) && pair_arg(env, ba->param[4], 0, 0, pad) &&
	       pair_arg(env, ba->param[5], 1, 1, dil) &&
	       (!ba->param[6] || env->eval_int(env->self, ba->param[6], groups));
}

bool gb_lang_pool_args(const gb_lang_env *env, const gb_prim_args *ba, int64_t size[2], int64_t stride[2],
                       int64_t pad[2])
{
	if (!pair_arg(env, ba->param[1], 1, 1, size) || !pair_arg(env, ba->param[2], 1, 1, stride) ||
	    !pair_arg(env, ba->param[3], 0, 0, pad))
		return false;
	if (!ba->param[2]) {
		stride[0] = size[0];
		stride[1] = size[1];
	}
	return true;
}

bool gb_lang_def_call_ok(const gb_lang_env *env, const gb_ast_expr *call, const gb_ast_stmt *d, int n_results,
                         int level)
{
	int n = d->u.def.n_params;
	if (call->u.call.n_args != n || call->u.call.n_kwargs)
		return gb_lang_fail(env, call->pos, "def %s takes %d positional arguments", d->u.def.name, n);
	if (d->u.def.n_returns != n_results)
		return gb_lang_fail(env, call->pos, "def %s returns %d values, %d are taken", d->u.def.name,
		                    d->u.def.n_returns, n_results);
	if (level >= GB_LANG_MAX_CALL_DEPTH)
		return gb_lang_fail(env, call->pos, "def calls nest deeper than %d", GB_LANG_MAX_CALL_DEPTH);
	return true;
}

const gb_ast_stmt *gb_lang_def_return(const gb_lang_env *env, const gb_ast_stmt *d, int n_results)
{
	const gb_ast_block *body = &d->u.def.body;
	const gb_ast_stmt *ret = body->n_stmts ? body->stmts[body->n_stmts - 1] : NULL;
	if (!ret || ret->kind != GB_AST_RETURN || ret->u.ret.n_values != n_results) {
		gb_lang_fail(env, d->pos, "def %s does not end with a return of %d values", d->u.def.name, n_results);
		return NULL;
	}
	return ret;
}
