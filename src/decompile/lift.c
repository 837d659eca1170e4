/*
 * lift.c — expressions over max, min, abs, relu, clamp and step from the
 * canonical ReLU DAG (lift.h says which identities and why they are exact).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lift.h"

typedef struct lift_memo {
	gb_row row;
	gb_ex *ex;
	uint64_t key;
} lift_memo;

typedef struct lift_ctx {
	gb_lift *lf;
	double tol;
	gb_error *err;
	gb_status st; /* first failure */
} lift_ctx;

static bool failed(lift_ctx *x)
{
	return x->st != GB_OK;
}

static void fail_budget(lift_ctx *x)
{
	if (x->st == GB_OK)
		x->st = gb_fail(x->err, GB_STATUS_UNSUPPORTED,
		                "decompile: the formulas would exceed %lld nodes; the network is written as layers instead",
		                (long long)x->lf->budget);
}

static void fail_nomem(lift_ctx *x)
{
	if (x->st == GB_OK)
		x->st = gb_fail(x->err, GB_STATUS_NOMEM, "decompile: out of memory");
}

/* Coefficients are written as float32: round them, and snap values within
 * rounding distance of a multiple of 1/4 onto it. */
static double tidy(double v)
{
	double q = nearbyint(v * 4.0) / 4.0;
	if (fabs(v - q) <= 1e-6 * fmax(1.0, fabs(v)))
		v = q;
	v = (double)(float)v;
	return v == 0.0 ? 0.0 : v; /* no negative zero */
}

/* ---- hash-consing ------------------------------------------------------------------ */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
	return h;
}

static uint64_t dbits(double d)
{
	uint64_t u;
	if (d == 0.0)
		d = 0.0; /* -0 and +0 alike */
	memcpy(&u, &d, sizeof u);
	return u;
}

static uint64_t ex_hash(const gb_ex *e)
{
	uint64_t h = mix((uint64_t)e->kind, (uint64_t)e->input);
	h = mix(h, dbits(e->b));
	h = mix(h, dbits(e->lo));
	h = mix(h, dbits(e->hi));
	for (int k = 0; k < e->n_args; k++) {
		h = mix(h, (uint64_t)e->args[k]->id);
		if (e->c)
			h = mix(h, dbits(e->c[k]));
	}
	return h;
}

static bool ex_same(const gb_ex *a, const gb_ex *b)
{
	if (a->kind != b->kind || a->input != b->input || a->b != b->b || a->lo != b->lo || a->hi != b->hi ||
	    a->n_args != b->n_args || (!a->c) != (!b->c))
		return false;
	for (int k = 0; k < a->n_args; k++)
		if (a->args[k] != b->args[k] || (a->c && a->c[k] != b->c[k]))
			return false;
	return true;
}

static bool table_grow(gb_lift *lf)
{
	int64_t size = lf->table_size ? 2 * lf->table_size : 1024;
	gb_ex **t = calloc((size_t)size, sizeof *t);
	if (!t)
		return false;
	for (int64_t i = 0; i < lf->table_size; i++) {
		gb_ex *e = lf->table[i];
		if (!e)
			continue;
		int64_t j = (int64_t)(e->hash & (uint64_t)(size - 1));
		while (t[j])
			j = (j + 1) & (size - 1);
		t[j] = e;
	}
	free(lf->table);
	lf->table = t;
	lf->table_size = size;
	return true;
}

/* The node equal to proto, made if new (proto's arrays are copied). */
static gb_ex *intern(lift_ctx *x, const gb_ex *proto)
{
	gb_lift *lf = x->lf;
	if (failed(x))
		return NULL;
	uint64_t h = ex_hash(proto);
	if (2 * (lf->n_nodes + 1) > lf->table_size && !table_grow(lf)) {
		fail_nomem(x);
		return NULL;
	}
	int64_t j = (int64_t)(h & (uint64_t)(lf->table_size - 1));
	for (; lf->table[j]; j = (j + 1) & (lf->table_size - 1))
		if (lf->table[j]->hash == h && ex_same(lf->table[j], proto))
			return lf->table[j];
	if (lf->n_nodes >= lf->budget) {
		fail_budget(x);
		return NULL;
	}
	gb_ex *e = gb_arena_calloc(&lf->arena, 1, sizeof *e);
	if (!e) {
		fail_nomem(x);
		return NULL;
	}
	*e = *proto;
	e->hash = h;
	e->id = lf->n_nodes++;
	e->uses = 0;
	if (proto->n_args) {
		e->args = gb_arena_alloc(&lf->arena, (size_t)proto->n_args * sizeof *e->args);
		if (!e->args) {
			fail_nomem(x);
			return NULL;
		}
		memcpy(e->args, proto->args, (size_t)proto->n_args * sizeof *e->args);
		if (proto->c) {
			e->c = gb_arena_alloc(&lf->arena, (size_t)proto->n_args * sizeof *e->c);
			if (!e->c) {
				fail_nomem(x);
				return NULL;
			}
			memcpy(e->c, proto->c, (size_t)proto->n_args * sizeof *e->c);
		}
	}
	lf->table[j] = e;
	return e;
}

/* ---- linear combinations ------------------------------------------------------------ */

typedef struct lin {
	double b;
	int n, cap;
	gb_ex **args;
	double *c;
} lin;

static void lin_free(lin *l)
{
	free(l->args);
	free(l->c);
	memset(l, 0, sizeof *l);
}

/* l += coef * e, flattening LIN nodes. */
static void lin_add(lift_ctx *x, lin *l, gb_ex *e, double coef)
{
	if (failed(x) || !e || coef == 0.0)
		return;
	if (e->kind == GB_EX_LIN) {
		l->b += coef * e->b;
		for (int k = 0; k < e->n_args; k++)
			lin_add(x, l, e->args[k], coef * e->c[k]);
		return;
	}
	for (int k = 0; k < l->n; k++)
		if (l->args[k] == e) {
			l->c[k] += coef;
			return;
		}
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 8;
		gb_ex **a = realloc(l->args, (size_t)cap * sizeof *a);
		if (a)
			l->args = a;
		double *c = realloc(l->c, (size_t)cap * sizeof *c);
		if (c)
			l->c = c;
		if (!a || !c) {
			fail_nomem(x);
			return;
		}
		l->cap = cap;
	}
	l->args[l->n] = e;
	l->c[l->n] = coef;
	l->n++;
}

/* The order of terms and arguments: inputs by feature index, then the
 * other nodes in creation order. */
static bool before(const gb_ex *x, const gb_ex *y)
{
	bool xi = x->kind == GB_EX_INPUT, yi = y->kind == GB_EX_INPUT;
	if (xi != yi)
		return xi;
	return xi ? x->input < y->input : x->id < y->id;
}

static int by_id(const void *a, const void *b)
{
	const gb_ex *x = *(gb_ex *const *)a, *y = *(gb_ex *const *)b;
	return before(y, x) - before(x, y);
}

/* The node for l (l is consumed): a bare argument when l is 1 * it. */
static gb_ex *lin_make(lift_ctx *x, lin *l)
{
	gb_ex proto = {.kind = GB_EX_LIN, .input = -1};
	gb_ex *out = NULL;
	if (failed(x))
		goto done;
	/* sort by id, keeping coefficients with their args */
	for (int i = 1; i < l->n; i++)
		for (int k = i; k > 0 && before(l->args[k], l->args[k - 1]); k--) {
			gb_ex *ta = l->args[k];
			l->args[k] = l->args[k - 1];
			l->args[k - 1] = ta;
			double tc = l->c[k];
			l->c[k] = l->c[k - 1];
			l->c[k - 1] = tc;
		}
	int keep = 0;
	for (int k = 0; k < l->n; k++) {
		double c = tidy(l->c[k]);
		if (c == 0.0)
			continue;
		l->args[keep] = l->args[k];
		l->c[keep++] = c;
	}
	l->n = keep;
	proto.b = tidy(l->b);
	if (l->n == 1 && l->c[0] == 1.0 && proto.b == 0.0) {
		out = l->args[0];
		goto done;
	}
	proto.n_args = l->n;
	proto.args = l->args;
	proto.c = l->c;
	out = intern(x, &proto);
done:
	lin_free(l);
	return out;
}

static bool is_const(const gb_ex *e, double *v)
{
	if (e->kind != GB_EX_LIN || e->n_args != 0)
		return false;
	*v = e->b;
	return true;
}

/* Terms of e as a linear form: LIN terms, or 1 * e. */
static int lin_terms(const gb_ex *e)
{
	if (e->kind == GB_EX_LIN)
		return e->n_args + (e->b != 0.0);
	return 1;
}

/* ---- smart constructors ------------------------------------------------------------- */

static gb_ex *mk_unary(lift_ctx *x, gb_ex_kind kind, gb_ex *a, double lo, double hi)
{
	if (failed(x) || !a)
		return NULL;
	gb_ex *args[1] = {a};
	gb_ex proto = {.kind = kind, .input = -1, .args = args, .n_args = 1, .lo = lo, .hi = hi};
	return intern(x, &proto);
}

/* |d| with d scaled so its largest coefficient is +1; returns s * |d'|. */
static gb_ex *mk_abs(lift_ctx *x, gb_ex *d)
{
	if (failed(x) || !d)
		return NULL;
	double v;
	if (is_const(d, &v)) {
		lin k = {.b = fabs(v)};
		return lin_make(x, &k);
	}
	double s = 1.0;
	if (d->kind == GB_EX_LIN && d->n_args > 0) {
		s = 0;
		int arg = 0;
		for (int k = 0; k < d->n_args; k++)
			if (fabs(d->c[k]) > s) {
				s = fabs(d->c[k]);
				arg = k;
			}
		if (d->c[arg] < 0)
			s = -s;
	}
	lin n = {0};
	lin_add(x, &n, d, 1.0 / s);
	gb_ex *a = mk_unary(x, GB_EX_ABS, lin_make(x, &n), 0, 0);
	lin r = {0};
	lin_add(x, &r, a, fabs(s));
	return lin_make(x, &r);
}

static gb_ex *mk_maxmin(lift_ctx *x, gb_ex_kind kind, gb_ex *const *in, int n_in);

/* Whether the linear form d is >= 0 everywhere, by a proof that needs no
 * domain: c |u| - c u and c |u| + c u are >= 0 for c > 0 (such a pair of
 * terms is taken out first); relu, abs and step are >= 0; what is left must
 * be nonnegative multiples of those and a bias >= 0. */
static bool provably_nonneg(lift_ctx *x, const lin *d)
{
	lin r = {0};
	for (int k = 0; k < d->n; k++)
		lin_add(x, &r, d->args[k], d->c[k]);
	r.b = d->b;
	for (int k = 0; k < r.n && !failed(x); k++) {
		const gb_ex *a = r.args[k];
		double c = r.c[k];
		if (a->kind != GB_EX_ABS || !(c > 0))
			continue;
		/* u's terms, scaled by c, in r with one common sign? */
		const gb_ex *u = a->args[0];
		int un = u->kind == GB_EX_LIN ? u->n_args : 1;
		double ub = u->kind == GB_EX_LIN ? u->b : 0.0;
		for (int sign = -1; sign <= 1; sign += 2) {
			bool all = fabs(r.b - sign * c * ub) <= 1e-9 * fmax(1.0, fabs(r.b)) || ub == 0.0;
			for (int t = 0; t < un && all; t++) {
				const gb_ex *ut = u->kind == GB_EX_LIN ? u->args[t] : u;
				double uc = u->kind == GB_EX_LIN ? u->c[t] : 1.0;
				bool found = false;
				for (int q = 0; q < r.n && !found; q++)
					found = r.args[q] == ut && fabs(r.c[q] - sign * c * uc) <= 1e-9 * fabs(c * uc);
				all = found;
			}
			if (!all)
				continue;
			for (int t = 0; t < un; t++) {
				const gb_ex *ut = u->kind == GB_EX_LIN ? u->args[t] : u;
				double uc = u->kind == GB_EX_LIN ? u->c[t] : 1.0;
				for (int q = 0; q < r.n; q++)
					if (r.args[q] == ut)
						r.c[q] -= sign * c * uc;
			}
			r.b -= sign * c * ub;
			r.c[k] = 0; /* c |u| + sign c u >= 0: the pair is done */
			break;
		}
	}
	bool ok = !failed(x) && r.b >= -1e-12;
	for (int k = 0; k < r.n && ok; k++) {
		double c = r.c[k];
		if (fabs(c) <= 1e-12)
			continue;
		gb_ex_kind kd = r.args[k]->kind;
		ok = c > 0 && (kd == GB_EX_RELU || kd == GB_EX_ABS || kd == GB_EX_STEP ||
		               (kd == GB_EX_CLAMP && r.args[k]->lo >= 0));
	}
	lin_free(&r);
	return ok;
}

/* max or min of two expressions. */
static gb_ex *mk_pair(lift_ctx *x, gb_ex_kind kind, gb_ex *a, gb_ex *b)
{
	gb_ex *in[2] = {a, b};
	return mk_maxmin(x, kind, in, 2);
}

/* relu(z) with z scaled to largest |coefficient| 1: s * relu(z / s). */
static gb_ex *mk_relu(lift_ctx *x, gb_ex *z)
{
	if (failed(x) || !z)
		return NULL;
	double s = 0;
	if (z->kind == GB_EX_LIN)
		for (int k = 0; k < z->n_args; k++)
			s = fmax(s, fabs(z->c[k]));
	if (!(s > 0) || s == 1.0)
		return mk_unary(x, GB_EX_RELU, z, 0, 0);
	lin n = {0};
	lin_add(x, &n, z, 1.0 / s);
	lin r = {0};
	lin_add(x, &r, mk_unary(x, GB_EX_RELU, lin_make(x, &n), 0, 0), s);
	return lin_make(x, &r);
}

/* The part every argument shares: terms with the same coefficient in all
 * of them, and the bias when it is the same in all. max(A + t, B + t) =
 * max(A, B) + t. Returns whether there is such a part (in *common). */
static bool common_part(lift_ctx *x, gb_ex *const *args, int n, lin *common)
{
	memset(common, 0, sizeof *common);
	const gb_ex *a0 = args[0];
	if (a0->kind != GB_EX_LIN)
		return false;
	bool same_b = true;
	for (int i = 1; i < n; i++)
		same_b = same_b && args[i]->kind == GB_EX_LIN && args[i]->b == a0->b;
	if (same_b)
		common->b = a0->b;
	for (int k = 0; k < a0->n_args; k++) {
		bool all = true;
		for (int i = 1; i < n && all; i++) {
			const gb_ex *ai = args[i];
			bool found = false;
			for (int t = 0; ai->kind == GB_EX_LIN && t < ai->n_args && !found; t++)
				found = ai->args[t] == a0->args[k] && ai->c[t] == a0->c[k];
			all = found;
		}
		if (all)
			lin_add(x, common, a0->args[k], a0->c[k]);
	}
	return common->n > 0 || common->b != 0.0;
}

static gb_ex *mk_maxmin(lift_ctx *x, gb_ex_kind kind, gb_ex *const *in, int n_in)
{
	if (failed(x))
		return NULL;
	if (n_in >= 2) { /* take out what all arguments share */
		bool all = true;
		for (int i = 0; i < n_in; i++)
			all = all && in[i];
		lin common = {0};
		if (all && common_part(x, in, n_in, &common)) {
			gb_ex **rest = malloc((size_t)n_in * sizeof *rest);
			if (!rest) {
				lin_free(&common);
				fail_nomem(x);
				return NULL;
			}
			for (int i = 0; i < n_in; i++) {
				lin r = {0};
				lin_add(x, &r, in[i], 1.0);
				for (int k = 0; k < common.n; k++)
					lin_add(x, &r, common.args[k], -common.c[k]);
				r.b -= common.b;
				rest[i] = lin_make(x, &r);
			}
			gb_ex *inner = mk_maxmin(x, kind, rest, n_in);
			free(rest);
			lin out = {0};
			lin_add(x, &out, inner, 1.0);
			for (int k = 0; k < common.n; k++)
				lin_add(x, &out, common.args[k], common.c[k]);
			out.b += common.b;
			lin_free(&common);
			return lin_make(x, &out);
		}
		lin_free(&common);
	}
	gb_ex **args = malloc((size_t)(n_in + 64) * sizeof *args);
	int n = 0, cap = n_in + 64;
	if (!args) {
		fail_nomem(x);
		return NULL;
	}
	gb_ex *out = NULL;
	for (int i = 0; i < n_in; i++) {
		if (!in[i])
			goto done;
		bool flat = in[i]->kind == kind;
		int m = flat ? in[i]->n_args : 1;
		for (int k = 0; k < m; k++) {
			gb_ex *e = flat ? in[i]->args[k] : in[i];
			bool dup = false;
			for (int j = 0; j < n && !dup; j++)
				dup = args[j] == e;
			if (dup)
				continue;
			if (n == cap) {
				cap *= 2;
				gb_ex **t = realloc(args, (size_t)cap * sizeof *t);
				if (!t) {
					fail_nomem(x);
					goto done;
				}
				args = t;
			}
			args[n++] = e;
		}
	}
	/* absorption: min(a, max(a, b)) = a and max(a, min(a, b)) = a */
	gb_ex_kind dual = kind == GB_EX_MAX ? GB_EX_MIN : GB_EX_MAX;
	for (int i = 0; i < n; i++) {
		if (args[i]->kind != dual)
			continue;
		bool absorbed = false;
		for (int k = 0; k < args[i]->n_args && !absorbed; k++)
			for (int j = 0; j < n && !absorbed; j++)
				absorbed = j != i && args[j] == args[i]->args[k];
		if (absorbed) {
			args[i--] = args[--n];
		}
	}
	/* dominated arguments: max(a, b) = b when b - a >= 0 provably (and
	 * min likewise), e.g. max(z, x + z, z + |x|) = z + |x| */
	for (int i = 0; i < n && !failed(x); i++)
		for (int j = 0; j < n; j++) {
			if (j == i)
				continue;
			lin d = {0};
			lin_add(x, &d, args[j], kind == GB_EX_MAX ? 1.0 : -1.0);
			lin_add(x, &d, args[i], kind == GB_EX_MAX ? -1.0 : 1.0);
			bool dominated = !failed(x) && provably_nonneg(x, &d);
			lin_free(&d);
			if (dominated) {
				args[i--] = args[--n];
				break;
			}
		}
	if (n == 1) {
		out = args[0];
		goto done;
	}
	if (n == 2) {
		double v, lo, hi;
		gb_ex *a = args[0], *b = args[1];
		/* max(z, 0) = relu(z) */
		if (kind == GB_EX_MAX && ((is_const(a, &v) && v == 0.0) || (is_const(b, &v) && v == 0.0))) {
			out = mk_relu(x, is_const(a, &v) ? b : a);
			goto done;
		}
		/* min(max(z, lo), hi) = clamp(z, lo, hi) (either order of arguments) */
		gb_ex *inner = NULL;
		double bound = 0;
		gb_ex_kind other = kind == GB_EX_MIN ? GB_EX_MAX : GB_EX_MIN;
		if (a->kind == other && is_const(b, &bound))
			inner = a;
		else if (b->kind == other && is_const(a, &bound))
			inner = b;
		if (inner && inner->n_args == 2) {
			int ci = is_const(inner->args[0], &v) ? 0 : is_const(inner->args[1], &v) ? 1 : -1;
			if (ci >= 0) {
				lo = kind == GB_EX_MIN ? v : bound;
				hi = kind == GB_EX_MIN ? bound : v;
				if (lo <= hi) {
					out = mk_unary(x, GB_EX_CLAMP, inner->args[1 - ci], lo, hi);
					goto done;
				}
			}
		}
		/* max(A - d, A + d) = A + |d| when that is shorter */
		lin A = {0}, d = {0};
		lin_add(x, &A, a, 0.5);
		lin_add(x, &A, b, 0.5);
		lin_add(x, &d, b, 0.5);
		lin_add(x, &d, a, -0.5);
		gb_ex *ea = lin_make(x, &A), *ed = lin_make(x, &d);
		if (failed(x))
			goto done;
		if (lin_terms(ea) + lin_terms(ed) + 1 <= lin_terms(a) + lin_terms(b)) {
			lin r = {0};
			lin_add(x, &r, ea, 1.0);
			lin_add(x, &r, mk_abs(x, ed), kind == GB_EX_MAX ? 1.0 : -1.0);
			out = lin_make(x, &r);
			goto done;
		}
	}
	qsort(args, (size_t)n, sizeof *args, by_id);
	gb_ex proto = {.kind = kind, .input = -1, .args = args, .n_args = n};
	out = intern(x, &proto);
done:
	free(args);
	return out;
}

/* ---- rows into expressions ------------------------------------------------------------- */

static uint64_t row_hash(const gb_row *r)
{
	uint64_t h = mix(dbits(r->b), (uint64_t)r->n);
	for (int k = 0; k < r->n; k++)
		h = mix(mix(h, (uint64_t)r->idx[k]), dbits(r->w[k]));
	return h;
}

static bool row_equal(const gb_row *a, const gb_row *b)
{
	if (a->n != b->n || a->b != b->b)
		return false;
	for (int k = 0; k < a->n; k++)
		if (a->idx[k] != b->idx[k] || a->w[k] != b->w[k])
			return false;
	return true;
}

/* Whether units u and v read the same weights (bias aside), within tol. */
static bool same_direction(const gb_row *u, const gb_row *v, double tol)
{
	if (u->n != v->n || u->n == 0)
		return false;
	for (int k = 0; k < u->n; k++)
		if (u->idx[k] != v->idx[k] || fabs(u->w[k] - v->w[k]) > tol)
			return false;
	return true;
}

static gb_ex *lift_row(lift_ctx *x, const gb_row *row);

static gb_ex *input_node(lift_ctx *x, int64_t j)
{
	gb_ex proto = {.kind = GB_EX_INPUT, .input = j};
	return intern(x, &proto);
}

/* The weights of unit u without its bias, as an expression. */
static gb_ex *direction(lift_ctx *x, const gb_row *u)
{
	gb_row z = {0};
	if (!gb_row_copy(&z, u)) {
		fail_nomem(x);
		return NULL;
	}
	z.b = 0;
	gb_ex *e = lift_row(x, &z);
	gb_row_free(&z);
	return e;
}

static gb_ex *lift_uncached(lift_ctx *x, const gb_row *row)
{
	const gb_pwl *p = x->lf->p;
	int64_t n_in = p->n_in;
	lin out = {0};
	gb_row rest = {0};
	rest.b = row->b;
	bool *used = calloc((size_t)(row->n ? row->n : 1), sizeof *used);
	if (!used) {
		fail_nomem(x);
		return NULL;
	}
	/* clamp and step pairs among the unit terms */
	for (int i = 0; i < row->n && !failed(x); i++) {
		if (row->idx[i] < n_in || used[i])
			continue;
		const gb_row *ui = &p->units[row->idx[i] - n_in];
		for (int k = i + 1; k < row->n; k++) {
			if (used[k])
				continue;
			const gb_row *uk = &p->units[row->idx[k] - n_in];
			double ci = row->w[i], ck = row->w[k];
			if (fabs(ci + ck) > x->tol * fabs(ci) || !same_direction(ui, uk, x->tol) ||
			    fabs(ui->b - uk->b) <= x->tol * fmax(1.0, fabs(ui->b)))
				continue;
			/* c * (relu(z + b1) - relu(z + b2)), b1 > b2 */
			double c = ui->b > uk->b ? ci : ck;
			double b1 = fmax(ui->b, uk->b), b2 = fmin(ui->b, uk->b);
			double lo = tidy(-b1), hi = tidy(-b2), width = hi - lo;
			gb_ex *z = direction(x, ui);
			if (fabs(c * width - 1.0) <= x->tol) {
				lin_add(x, &out, mk_unary(x, GB_EX_STEP, z, lo, hi), 1.0);
			} else {
				lin_add(x, &out, mk_unary(x, GB_EX_CLAMP, z, lo, hi), c);
				out.b += c * b1;
			}
			used[i] = used[k] = true;
			break;
		}
	}
	int64_t latest = -1;
	double latest_c = 0;
	for (int k = 0; k < row->n && !failed(x); k++) {
		if (used[k])
			continue;
		if (!gb_row_push(&rest, row->idx[k], row->w[k]))
			fail_nomem(x);
		if (row->idx[k] >= n_in && row->idx[k] > latest) {
			latest = row->idx[k];
			latest_c = row->w[k];
		}
	}
	free(used);
	if (latest < 0) { /* linear in the inputs */
		for (int k = 0; k < rest.n; k++)
			lin_add(x, &out, input_node(x, rest.idx[k]), rest.w[k]);
		out.b += rest.b;
	} else { /* peel: L + c relu(z) = max(L, L + c z) or min */
		gb_row L = {0}, B = {0};
		if (!gb_row_copy(&L, &rest))
			fail_nomem(x);
		gb_row_take(&L, (int)latest);
		if (!gb_row_copy(&B, &L) || !gb_row_axpy(&B, latest_c, &p->units[latest - n_in]))
			fail_nomem(x);
		gb_ex *el = failed(x) ? NULL : lift_row(x, &L);
		gb_ex *eb = failed(x) ? NULL : lift_row(x, &B);
		lin_add(x, &out, mk_pair(x, latest_c > 0 ? GB_EX_MAX : GB_EX_MIN, el, eb), 1.0);
		gb_row_free(&L);
		gb_row_free(&B);
	}
	gb_row_free(&rest);
	return lin_make(x, &out);
}

static gb_ex *lift_row(lift_ctx *x, const gb_row *row)
{
	gb_lift *lf = x->lf;
	if (failed(x))
		return NULL;
	uint64_t key = row_hash(row);
	for (int64_t i = 0; i < lf->n_memo; i++)
		if (lf->memo[i].key == key && row_equal(&lf->memo[i].row, row))
			return lf->memo[i].ex;
	gb_ex *e = lift_uncached(x, row);
	if (!e)
		return NULL;
	if (lf->n_memo == lf->cap_memo) {
		int64_t cap = lf->cap_memo ? 2 * lf->cap_memo : 64;
		lift_memo *m = realloc(lf->memo, (size_t)cap * sizeof *m);
		if (!m) {
			fail_nomem(x);
			return NULL;
		}
		lf->memo = m;
		lf->cap_memo = cap;
	}
	lift_memo *m = &lf->memo[lf->n_memo];
	memset(m, 0, sizeof *m);
	if (!gb_row_copy(&m->row, row)) {
		gb_row_free(&m->row);
		fail_nomem(x);
		return NULL;
	}
	m->key = key;
	m->ex = e;
	lf->n_memo++;
	return e;
}

/* ---- the whole DAG ------------------------------------------------------------------ */

static void count_uses(gb_lift *lf, gb_ex *e)
{
	if (e->uses++ > 0)
		return;
	switch (e->kind) {
	case GB_EX_MAX: lf->counts.max++; break;
	case GB_EX_MIN: lf->counts.min++; break;
	case GB_EX_ABS: lf->counts.abs++; break;
	case GB_EX_RELU: lf->counts.relu++; break;
	case GB_EX_CLAMP: lf->counts.clamp++; break;
	case GB_EX_STEP: lf->counts.step++; break;
	default: break;
	}
	for (int k = 0; k < e->n_args; k++)
		count_uses(lf, e->args[k]);
}

gb_status gb_lift_run(gb_lift *lf, const gb_pwl *p, int64_t budget, double tol, gb_error *err)
{
	memset(lf, 0, sizeof *lf);
	gb_arena_init(&lf->arena, 1 << 16);
	lf->p = p;
	lf->budget = budget;
	lift_ctx x = {.lf = lf, .tol = tol, .err = err};
	lf->outs = calloc((size_t)(p->n_out ? p->n_out : 1), sizeof *lf->outs);
	if (!lf->outs)
		return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	for (int64_t o = 0; o < p->n_out && !failed(&x); o++)
		lf->outs[o] = lift_row(&x, &p->outs[o]);
	if (failed(&x))
		return x.st;
	for (int64_t o = 0; o < p->n_out; o++)
		count_uses(lf, lf->outs[o]);
	return GB_OK;
}

void gb_lift_free(gb_lift *lf)
{
	for (int64_t i = 0; i < lf->n_memo; i++)
		gb_row_free(&lf->memo[i].row);
	free(lf->memo);
	free(lf->table);
	free(lf->outs);
	gb_arena_release(&lf->arena);
	memset(lf, 0, sizeof *lf);
}

static int64_t size_of(gb_ex *e, unsigned char *seen)
{
	if (seen[e->id])
		return 0;
	seen[e->id] = 1;
	int64_t n = 1 + (e->kind == GB_EX_LIN ? e->n_args : 0);
	for (int k = 0; k < e->n_args; k++)
		n += size_of(e->args[k], seen);
	return n;
}

int64_t gb_lift_size(const gb_lift *lf)
{
	unsigned char *seen = calloc((size_t)(lf->n_nodes ? lf->n_nodes : 1), 1);
	if (!seen)
		return INT64_MAX;
	int64_t n = 0;
	for (int64_t o = 0; o < lf->p->n_out; o++)
		if (lf->outs[o])
			n += size_of(lf->outs[o], seen);
	free(seen);
	return n;
}
