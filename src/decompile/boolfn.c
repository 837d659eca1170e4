/*
 * boolfn.c — truth tables written as and/or/not/xor/majority formulas
 * (boolfn.h says what is tried, in which order, and the limits).
 *
 * Tables are packed 64 entries a word: bit v of the table is entry v, and
 * a table of m < 6 variables is one word whose bits from 2^m up are zero.
 * The search works on "columns": a table over m columns, where column j
 * stands for a formula cols[j] — an input variable, a signal, or (after a
 * disjoint decomposition) a whole subformula. Formulas are trees of
 * bf_node kept in one pool per call; losing candidates stay in the pool
 * until the call ends. Whatever is returned has been evaluated on every
 * input and compared with the table first.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/strbuf.h"
#include "boolfn.h"

#define BF_QM_VARS 10          /* Quine–McCluskey up to this many variables; greedy cubes above */
#define BF_FULL_SEARCH_VARS 10 /* every bound set is tried for a disjoint decomposition */
#define BF_MAX_WORK (1 << 27)  /* table reads and words for disjoint decompositions, per function */
#define BF_MAX_CALLS 2000      /* synthesis calls before only the cheap forms are tried */
#define BF_MAX_NESTING 90      /* brackets and `not`s nested in one formula (the parser allows 100) */
#define BF_MAX_HEIGHT 900      /* height of a formula's tree (the parser allows 1000) */
#define BF_NONE (-2)           /* "not of this form" (-1 is failure) */

typedef enum bf_kind { BF_CONST0 = 0, BF_CONST1, BF_VAR, BF_SIG, BF_NOT, BF_AND, BF_OR, BF_XOR, BF_MAJ } bf_kind;

typedef struct bf_node {
	bf_kind kind;
	int var;      /* BF_VAR: the variable; BF_SIG: the signal */
	int n, kid0;  /* children: kids[kid0 .. kid0 + n) */
	int minvar;   /* smallest variable below, for argument order (signals after variables) */
	int64_t cost; /* operations as written */
	uint64_t h;   /* structural hash */
} bf_node;

/* A signal usable as a column: its table over the current columns. */
typedef struct bf_sig {
	uint64_t *t;
	int node;
} bf_sig;

typedef struct bf_cube {
	uint32_t val, care; /* the product of literal j (positive when val bit j is set) for j in care */
} bf_cube;

typedef struct bf_ctx {
	bf_node *nodes;
	int n_nodes, cap_nodes;
	int *kids;
	int n_kids, cap_kids;
	int64_t calls, work; /* synthesis calls; table reads by chart() */
	gb_status st; /* first failure (allocation) */
	gb_error *err;
	bool too_big; /* a sum of products needed more than GB_BOOL_MAX_TERMS products */
	/* evaluation: n input variables, signal k's table over them */
	int n;
	uint64_t **sig_tabs;
	int n_sigs, cap_sigs;
} bf_ctx;

static const uint64_t bf_lo[6] = {0x5555555555555555ULL, 0x3333333333333333ULL, 0x0F0F0F0F0F0F0F0FULL,
                                  0x00FF00FF00FF00FFULL, 0x0000FFFF0000FFFFULL, 0x00000000FFFFFFFFULL};

static void *bf_alloc(bf_ctx *c, size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size);
	if (!p && c->st == GB_OK)
		c->st = gb_fail(c->err, GB_STATUS_NOMEM, "boolfn: out of memory");
	return p;
}

static int popc(uint32_t x)
{
	return __builtin_popcount(x);
}

static uint32_t full_mask(int m)
{
	return (uint32_t)((1ULL << m) - 1);
}

/* ---- truth tables ------------------------------------------------------------------ */

static size_t tt_words(int m)
{
	return m <= 6 ? 1 : (size_t)1 << (m - 6);
}

static uint64_t tt_valid(int m)
{
	return m >= 6 ? ~0ULL : (1ULL << (1u << m)) - 1;
}

static uint64_t *tt_new(bf_ctx *c, int m)
{
	return bf_alloc(c, tt_words(m), sizeof(uint64_t));
}

static int tt_get(const uint64_t *t, uint32_t v)
{
	return (int)(t[v >> 6] >> (v & 63) & 1);
}

static void tt_set(uint64_t *t, uint32_t v)
{
	t[v >> 6] |= 1ULL << (v & 63);
}

static bool tt_equal(const uint64_t *a, const uint64_t *b, int m)
{
	return memcmp(a, b, tt_words(m) * sizeof *a) == 0;
}

static bool tt_is_compl(const uint64_t *a, const uint64_t *b, int m)
{
	uint64_t valid = tt_valid(m);
	for (size_t i = 0; i < tt_words(m); i++)
		if ((a[i] ^ b[i]) != valid)
			return false;
	return true;
}

static void tt_not(uint64_t *dst, const uint64_t *src, int m)
{
	uint64_t valid = tt_valid(m);
	for (size_t i = 0; i < tt_words(m); i++)
		dst[i] = ~src[i] & valid;
}

/* How the two cofactors of variable j compare (f0: bit j clear, f1: set). */
enum {
	R_F0_ZERO = 1,
	R_F0_ONE = 2,
	R_F1_ZERO = 4,
	R_F1_ONE = 8,
	R_EQ = 16,    /* f does not depend on j */
	R_COMPL = 32, /* f1 = not f0 */
	R_LE = 64,    /* f0 <= f1: f is increasing in j */
	R_GE = 128
};

static unsigned rel_step(uint64_t lo, uint64_t hi, uint64_t valid)
{
	unsigned r = 255;
	if (lo)
		r &= ~(unsigned)R_F0_ZERO;
	if (~lo & valid)
		r &= ~(unsigned)R_F0_ONE;
	if (hi)
		r &= ~(unsigned)R_F1_ZERO;
	if (~hi & valid)
		r &= ~(unsigned)R_F1_ONE;
	if (lo ^ hi)
		r &= ~(unsigned)R_EQ;
	if (~(lo ^ hi) & valid)
		r &= ~(unsigned)R_COMPL;
	if (lo & ~hi)
		r &= ~(unsigned)R_LE;
	if (hi & ~lo)
		r &= ~(unsigned)R_GE;
	return r;
}

static unsigned tt_relation(const uint64_t *t, int m, int j)
{
	unsigned r = 255;
	size_t nw = tt_words(m);
	if (j < 6) {
		uint64_t valid = bf_lo[j] & tt_valid(m);
		unsigned sh = 1u << j;
		for (size_t i = 0; i < nw && r; i++)
			r &= rel_step(t[i] & valid, (t[i] >> sh) & valid, valid);
	} else {
		size_t stride = (size_t)1 << (j - 6);
		for (size_t i = 0; i < nw && r; i++)
			if (!(i & stride))
				r &= rel_step(t[i], t[i + stride], ~0ULL);
	}
	return r;
}

static uint32_t tt_support(const uint64_t *t, int m)
{
	uint32_t s = 0;
	for (int j = 0; j < m; j++)
		if (!(tt_relation(t, m, j) & R_EQ))
			s |= 1u << j;
	return s;
}

/* t with the variables outside keep fixed to their bits in base, as a
 * table over the variables of keep (in order), into r (popcount(keep)
 * variables). */
static void tt_project_into(uint64_t *r, const uint64_t *t, int m, uint32_t keep, uint32_t base)
{
	int k = popc(keep);
	memset(r, 0, tt_words(k) * sizeof *r);
	uint32_t v = 0;
	for (uint32_t u = 0; u < (1u << k); u++) {
		if (tt_get(t, v | base))
			tt_set(r, u);
		v = (v - keep) & keep;
	}
	(void)m;
}

static uint64_t *tt_project(bf_ctx *c, const uint64_t *t, int m, uint32_t keep, uint32_t base)
{
	uint64_t *r = tt_new(c, popc(keep));
	if (r)
		tt_project_into(r, t, m, keep, base);
	return r;
}

/* f(v) xor f(v ^ d), a new table. */
static uint64_t *tt_flip_diff(bf_ctx *c, const uint64_t *f, int m, uint32_t d)
{
	size_t nw = tt_words(m);
	uint64_t *r = tt_new(c, m);
	if (!r)
		return NULL;
	memcpy(r, f, nw * sizeof *r);
	for (int j = 0; j < m; j++) {
		if (!(d >> j & 1))
			continue;
		if (j < 6) {
			unsigned sh = 1u << j;
			for (size_t i = 0; i < nw; i++)
				r[i] = (r[i] & bf_lo[j]) << sh | (r[i] >> sh & bf_lo[j]);
		} else {
			size_t stride = (size_t)1 << (j - 6);
			for (size_t i = 0; i < nw; i++)
				if (!(i & stride)) {
					uint64_t swap = r[i];
					r[i] = r[i + stride];
					r[i + stride] = swap;
				}
		}
	}
	for (size_t i = 0; i < nw; i++)
		r[i] ^= f[i];
	return r;
}

/* Whether t is 0 at every v whose bits in B are those of zv. */
static bool tt_zero_where(const uint64_t *t, int m, uint32_t B, uint32_t zv)
{
	uint64_t low = ~0ULL; /* positions p < 64 with (p & B) == (zv & B) on the low 6 bits */
	for (int j = 0; j < 6; j++)
		if (B >> j & 1)
			low &= zv >> j & 1 ? ~bf_lo[j] : bf_lo[j];
	size_t B_hi = B >> 6, z_hi = zv >> 6;
	for (size_t i = 0; i < tt_words(m); i++)
		if ((i & B_hi) == z_hi && (t[i] & low))
			return false;
	return true;
}

/* Table over k + 1 variables: lo where the last one is 0, hi where it is 1
 * (lo, hi over k). */
static uint64_t *tt_join(bf_ctx *c, const uint64_t *lo, const uint64_t *hi, int k)
{
	uint64_t *r = tt_new(c, k + 1);
	if (!r)
		return NULL;
	if (k + 1 <= 6) {
		r[0] = lo[0] | hi[0] << (1u << k);
	} else {
		size_t nw = tt_words(k);
		memcpy(r, lo, nw * sizeof *r);
		memcpy(r + nw, hi, nw * sizeof *r);
	}
	return r;
}

/* t (k variables) as a table over k + 1 that ignores the new last one. */
static uint64_t *tt_extend(bf_ctx *c, const uint64_t *t, int k)
{
	return tt_join(c, t, t, k);
}

/* The algebraic normal form (Möbius transform); its own inverse. */
static void tt_mobius(uint64_t *t, int m)
{
	size_t nw = tt_words(m);
	for (int j = 0; j < m && j < 6; j++)
		for (size_t i = 0; i < nw; i++)
			t[i] ^= (t[i] & bf_lo[j]) << (1u << j);
	for (int j = 6; j < m; j++) {
		size_t stride = (size_t)1 << (j - 6);
		for (size_t i = 0; i < nw; i++)
			if (!(i & stride))
				t[i + stride] ^= t[i];
	}
}

/* ---- formula nodes ------------------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
	return h;
}

static const bf_node *node_at(const bf_ctx *c, int id)
{
	return &c->nodes[id];
}

static int kid(const bf_ctx *c, int id, int k)
{
	return c->kids[c->nodes[id].kid0 + k];
}

static int node_add(bf_ctx *c, bf_kind kind, int var, const int *kids, int n)
{
	if (c->st != GB_OK)
		return -1;
	if (c->n_nodes == c->cap_nodes) {
		int cap = c->cap_nodes ? 2 * c->cap_nodes : 256;
		bf_node *grown = realloc(c->nodes, (size_t)cap * sizeof *grown);
		if (!grown) {
			c->st = gb_fail(c->err, GB_STATUS_NOMEM, "boolfn: out of memory");
			return -1;
		}
		c->nodes = grown;
		c->cap_nodes = cap;
	}
	if (c->n_kids + n > c->cap_kids) {
		int cap = c->cap_kids ? 2 * c->cap_kids : 1024;
		while (cap < c->n_kids + n)
			cap *= 2;
		int *grown = realloc(c->kids, (size_t)cap * sizeof *grown);
		if (!grown) {
			c->st = gb_fail(c->err, GB_STATUS_NOMEM, "boolfn: out of memory");
			return -1;
		}
		c->kids = grown;
		c->cap_kids = cap;
	}
	bf_node *x = &c->nodes[c->n_nodes];
	x->kind = kind;
	x->var = var;
	x->n = n;
	x->kid0 = c->n_kids;
	x->cost = 0;
	x->minvar = kind == BF_VAR ? var : kind == BF_SIG ? GB_BOOL_MAX_VARS + var : INT32_MAX / 2;
	x->h = mix(mix(0x51ED27A3ULL, (uint64_t)kind), (uint64_t)(int64_t)var);
	for (int k = 0; k < n; k++) {
		const bf_node *y = &c->nodes[kids[k]];
		c->kids[c->n_kids++] = kids[k];
		x->cost += y->cost;
		if (y->minvar < x->minvar)
			x->minvar = y->minvar;
		x->h = mix(x->h, y->h);
	}
	if (kind == BF_NOT || kind == BF_XOR || kind == BF_MAJ)
		x->cost += 1;
	else if (kind == BF_AND || kind == BF_OR)
		x->cost += n - 1;
	return c->n_nodes++;
}

static int mk_leaf(bf_ctx *c, bf_kind kind, int var)
{
	return node_add(c, kind, var, NULL, 0);
}

static int mk_const(bf_ctx *c, int bit)
{
	return mk_leaf(c, bit ? BF_CONST1 : BF_CONST0, 0);
}

static int mk_not(bf_ctx *c, int a)
{
	if (a < 0)
		return -1;
	const bf_node *x = node_at(c, a);
	if (x->kind == BF_NOT)
		return kid(c, a, 0);
	if (x->kind == BF_CONST0 || x->kind == BF_CONST1)
		return mk_const(c, x->kind == BF_CONST0);
	return node_add(c, BF_NOT, 0, &a, 1);
}

/* Argument order: literals by variable, then signals, then composite
 * formulas (by first variable), constants last. */
static int arg_class(const bf_ctx *c, int id)
{
	const bf_node *x = node_at(c, id);
	if (x->kind == BF_NOT)
		x = node_at(c, kid(c, id, 0));
	switch (x->kind) {
	case BF_VAR:
		return 0;
	case BF_SIG:
		return 1;
	case BF_CONST0:
	case BF_CONST1:
		return 3;
	default:
		return 2;
	}
}

static bool arg_before(const bf_ctx *c, int a, int b)
{
	int ca = arg_class(c, a), cb = arg_class(c, b);
	if (ca != cb)
		return ca < cb;
	const bf_node *x = node_at(c, a), *y = node_at(c, b);
	if (x->minvar != y->minvar)
		return x->minvar < y->minvar;
	if (x->cost != y->cost)
		return x->cost < y->cost;
	if (x->kind != y->kind)
		return x->kind < y->kind;
	if (x->h != y->h)
		return x->h < y->h;
	return false;
}

/* and/or/xor/majority of args (any of them -1: -1). Nested and/or/xor are
 * flattened, `not` is pulled out of xor, constants fold (majority keeps
 * them: they are its padding). */
static int mk_nary(bf_ctx *c, bf_kind kind, const int *args, int n)
{
	int total = 0;
	for (int k = 0; k < n; k++) {
		if (args[k] < 0)
			return -1;
		const bf_node *x = node_at(c, args[k]);
		total += kind != BF_MAJ && x->kind == kind ? x->n : 1;
	}
	int *list = bf_alloc(c, (size_t)total + 1, sizeof *list);
	if (!list)
		return -1;
	int count = 0, parity = 0, result = -1;
	for (int k = 0; k < n; k++) {
		int a = args[k];
		if (kind == BF_XOR && node_at(c, a)->kind == BF_NOT) {
			parity ^= 1;
			a = kid(c, a, 0);
		}
		const bf_node *x = node_at(c, a);
		if (kind != BF_MAJ && x->kind == kind) {
			for (int i = 0; i < x->n; i++)
				list[count++] = kid(c, a, i);
			continue;
		}
		if (kind != BF_MAJ && (x->kind == BF_CONST0 || x->kind == BF_CONST1)) {
			int bit = x->kind == BF_CONST1;
			if (kind == BF_XOR) {
				parity ^= bit;
				continue;
			}
			if ((kind == BF_AND) == (bit == 1))
				continue; /* the neutral element */
			result = mk_const(c, bit);
			goto done;
		}
		list[count++] = a;
	}
	if (count == 0) {
		result = mk_const(c, kind == BF_AND ? 1 : parity);
		goto done;
	}
	for (int i = 1; i < count; i++) /* insertion sort: lists are short */
		for (int j = i; j > 0 && arg_before(c, list[j], list[j - 1]); j--) {
			int swap = list[j];
			list[j] = list[j - 1];
			list[j - 1] = swap;
		}
	result = count == 1 && kind != BF_MAJ ? list[0] : node_add(c, kind, 0, list, count);
	if (parity)
		result = mk_not(c, result);
done:
	free(list);
	return result;
}

static int mk2(bf_ctx *c, bf_kind kind, int a, int b)
{
	int args[2] = {a, b};
	return mk_nary(c, kind, args, 2);
}

static int64_t cost_of(const bf_ctx *c, int id)
{
	return node_at(c, id)->cost;
}

/* Keeps the cheaper of *best and cand (ties: *best). */
static void consider(const bf_ctx *c, int *best, int cand)
{
	if (cand >= 0 && (*best < 0 || cost_of(c, cand) < cost_of(c, *best)))
		*best = cand;
}

static bool node_same(const bf_ctx *c, int a, int b)
{
	if (a == b)
		return true;
	const bf_node *x = node_at(c, a), *y = node_at(c, b);
	if (x->h != y->h || x->kind != y->kind || x->var != y->var || x->n != y->n)
		return false;
	for (int k = 0; k < x->n; k++)
		if (!node_same(c, kid(c, a, k), kid(c, b, k)))
			return false;
	return true;
}

/* ---- signals ------------------------------------------------------------------------- */

static void sigs_free(bf_sig *s, int n)
{
	for (int i = 0; i < n; i++)
		free(s[i].t);
	free(s);
}

/* The signals that depend only on the columns in keep, as tables over
 * those columns (and, with extend, one more ignored last column). */
static bool sigs_restrict(bf_ctx *c, const bf_sig *sigs, int n, int m, uint32_t keep, bool extend, bf_sig **out,
                          int *n_out)
{
	*out = NULL;
	*n_out = 0;
	if (n == 0)
		return true;
	bf_sig *r = bf_alloc(c, (size_t)n, sizeof *r);
	if (!r)
		return false;
	int count = 0;
	for (int i = 0; i < n; i++) {
		if (tt_support(sigs[i].t, m) & ~keep)
			continue;
		uint64_t *t = tt_project(c, sigs[i].t, m, keep, 0);
		if (t && extend) {
			uint64_t *e = tt_extend(c, t, popc(keep));
			free(t);
			t = e;
		}
		if (!t) {
			sigs_free(r, count);
			return false;
		}
		r[count].t = t;
		r[count].node = sigs[i].node;
		count++;
	}
	*out = r;
	*n_out = count;
	return true;
}

/* ---- synthesis ------------------------------------------------------------------------- */

static int synth(bf_ctx *c, const uint64_t *f, int m, const int *cols, const bf_sig *sigs, int n_sigs);

/* synth of g, a table over the columns in keep (of the current m). */
static int synth_cols(bf_ctx *c, const uint64_t *g, int m, const int *cols, const bf_sig *sigs, int n_sigs,
                      uint32_t keep)
{
	int sub_cols[GB_BOOL_MAX_VARS + 1];
	int k = 0;
	for (int j = 0; j < m; j++)
		if (keep >> j & 1)
			sub_cols[k++] = cols[j];
	bf_sig *sub = NULL;
	int n_sub = 0;
	if (!sigs_restrict(c, sigs, n_sigs, m, keep, false, &sub, &n_sub))
		return -1;
	int r = synth(c, g, k, sub_cols, sub, n_sub);
	sigs_free(sub, n_sub);
	return r;
}

/* synth of f with the columns outside keep fixed to base. */
static int synth_sub(bf_ctx *c, const uint64_t *f, int m, const int *cols, const bf_sig *sigs, int n_sigs,
                     uint32_t keep, uint32_t base)
{
	uint64_t *g = tt_project(c, f, m, keep, base);
	if (!g)
		return -1;
	int r = synth_cols(c, g, m, cols, sigs, n_sigs, keep);
	free(g);
	return r;
}

/* f = c0 xor parity(all columns); all m columns are in f's support. */
static int synth_affine(bf_ctx *c, const uint64_t *f, int m, const int *cols)
{
	const uint64_t parity6 = 0x6996966996696996ULL; /* bit v: parity of v, v < 64 */
	int c0 = tt_get(f, 0);
	for (size_t i = 0; i < tt_words(m); i++) {
		uint64_t want = parity6 ^ (__builtin_parityll(i) ? ~0ULL : 0);
		if (c0)
			want = ~want;
		if (f[i] != (want & tt_valid(m)))
			return BF_NONE;
	}
	int r = mk_nary(c, BF_XOR, cols, m);
	return c0 ? mk_not(c, r) : r;
}

/* At least t of the k literals, as and / or / majority (padded with
 * constants when t is not half). */
static int mk_threshold(bf_ctx *c, const int *lits, int k, int t)
{
	if (t == 1)
		return mk_nary(c, BF_OR, lits, k);
	if (t == k)
		return mk_nary(c, BF_AND, lits, k);
	/* majority of k + p arguments (k + p odd) is 1 when count + ones >= (k + p + 1) / 2 */
	int ones = 2 * t <= k ? k + 1 - 2 * t : 0;
	int zeros = 2 * t > k ? 2 * t - k - 1 : 0;
	int args[3 * GB_BOOL_MAX_VARS + 2];
	int n = 0;
	for (int j = 0; j < k; j++)
		args[n++] = lits[j];
	for (int p = 0; p < ones; p++)
		args[n++] = mk_const(c, 1);
	for (int p = 0; p < zeros; p++)
		args[n++] = mk_const(c, 0);
	return mk_nary(c, BF_MAJ, args, n);
}

/* f = [at least t of the literals are 1]; all m columns are in f's support. */
static int synth_threshold(bf_ctx *c, const uint64_t *f, int m, const int *cols)
{
	uint32_t flip = 0;
	for (int j = 0; j < m; j++) {
		unsigned rel = tt_relation(f, m, j);
		if (rel & R_LE)
			continue;
		if (!(rel & R_GE))
			return BF_NONE; /* not unate */
		flip |= 1u << j;
	}
	int val[GB_BOOL_MAX_VARS + 1];
	for (int k = 0; k <= m; k++)
		val[k] = -1;
	for (uint32_t v = 0; v < (1u << m); v++) {
		int cnt = popc(v ^ flip), b = tt_get(f, v);
		if (val[cnt] < 0)
			val[cnt] = b;
		else if (val[cnt] != b)
			return BF_NONE;
	}
	int t = 0;
	while (t <= m && val[t] == 0)
		t++;
	if (t == 0 || t > m)
		return BF_NONE;
	for (int k = t; k <= m; k++)
		if (val[k] != 1)
			return BF_NONE;
	int lits[GB_BOOL_MAX_VARS], neg[GB_BOOL_MAX_VARS];
	for (int j = 0; j < m; j++) {
		lits[j] = flip >> j & 1 ? mk_not(c, cols[j]) : cols[j];
		neg[j] = mk_not(c, lits[j]);
	}
	/* not f = [count < t] = [at least m - t + 1 of the negated literals] */
	int best = mk_threshold(c, lits, m, t);
	consider(c, &best, mk_not(c, mk_threshold(c, neg, m, m - t + 1)));
	return best;
}

static uint32_t pdep32(uint32_t x, uint32_t mask)
{
	uint32_t r = 0;
	for (uint32_t bit = 1; mask; bit <<= 1, mask &= mask - 1)
		if (x & bit)
			r |= mask & (~mask + 1);
	return r;
}

/* Sorts a column into at most two classes: 0 for the first seen (kept in
 * a), 1 for the second (b); 3 for a third. */
static int classify(uint64_t col, uint64_t *a, uint64_t *b, int *distinct)
{
	if (*distinct >= 1 && col == *a)
		return 0;
	if (*distinct >= 2 && col == *b)
		return 1;
	if (*distinct == 2)
		return 3;
	*(*distinct == 0 ? a : b) = col;
	return (*distinct)++;
}

/* The columns of f's decomposition chart for the bound set B: for each
 * assignment z of B, the function of the free variables. Returns the
 * number of distinct columns, 3 meaning "more than 2", -1 on failure; for
 * 2 or fewer, cls[z] is 0 for the class of z = 0 and 1 for the other,
 * whose columns go to col_a and col_b (tables over the free variables,
 * caller-allocated). A sample of 64 rows is tried first: most bound sets
 * fail there. */
static int chart(bf_ctx *c, const uint64_t *f, int m, uint32_t B, uint8_t *cls, uint64_t *col_a, uint64_t *col_b)
{
	uint32_t F = full_mask(m) & ~B;
	int k = popc(B), mf = m - k;
	int rows = mf <= 6 ? 1 << mf : 64;
	uint32_t sample[64];
	for (int i = 0; i < rows; i++)
		sample[i] = pdep32(mf <= 6 ? (uint32_t)i : ((uint32_t)i * 0x9E3779B1u) >> (32 - mf), F);
	uint64_t pa = 0, pb = 0;
	int distinct = 0;
	uint32_t zv = 0;
	for (uint32_t z = 0; z < (1u << k); z++, zv = (zv - B) & B) {
		uint64_t col = 0;
		for (int i = 0; i < rows; i++)
			col |= (uint64_t)tt_get(f, zv | sample[i]) << i;
		int cl = classify(col, &pa, &pb, &distinct);
		if (cl == 3) {
			c->work += (int64_t)rows << k;
			return 3;
		}
		cls[z] = (uint8_t)cl;
	}
	c->work += (int64_t)rows << k;
	if (mf <= 6) { /* the sample was every row */
		col_a[0] = pa;
		col_b[0] = pb;
		return distinct;
	}
	/* exact: cofactor z equals cofactor z' iff f(v) = f(v ^ d), d = z ^ z'
	 * spread over B, wherever v's B bits are z */
	uint64_t **diff = bf_alloc(c, (size_t)1 << k, sizeof *diff); /* diff[d]: f ^ f(v ^ d), made on demand */
	if (!diff)
		return -1;
	int zb = -1, result = 1;
	for (uint32_t z = 1; z < (1u << k) && result != 3; z++) {
		int against[2] = {0, zb};
		cls[z] = 2;
		for (int cl = 0; cl < 2 && cls[z] == 2; cl++) {
			if (against[cl] < 0)
				continue;
			uint32_t d = z ^ (uint32_t)against[cl];
			if (!diff[d] && !(diff[d] = tt_flip_diff(c, f, m, pdep32(d, B)))) {
				result = -1;
				goto done;
			}
			if (tt_zero_where(diff[d], m, B, pdep32((uint32_t)against[cl], B)))
				cls[z] = (uint8_t)cl;
		}
		if (cls[z] == 2 && zb < 0) {
			zb = (int)z;
			cls[z] = 1;
			result = 2;
		} else if (cls[z] == 2) {
			result = 3;
		}
	}
	cls[0] = 0;
	if (result <= 2) {
		tt_project_into(col_a, f, m, F, 0);
		if (zb >= 0)
			tt_project_into(col_b, f, m, F, pdep32((uint32_t)zb, B));
	}
done:
	for (uint32_t d = 0; d < (1u << k); d++)
		free(diff[d]);
	free(diff);
	c->work += (int64_t)tt_words(m) << k;
	return result;
}

/* f = G(free columns, s), s a formula over the bound columns B given as
 * s_node: G's table is col_a where s is 0 and col_b where it is 1. */
static int synth_through(bf_ctx *c, int m, const int *cols, const bf_sig *sigs, int n_sigs, uint32_t B,
                         const uint64_t *col_a, const uint64_t *col_b, int s_node)
{
	uint32_t F = full_mask(m) & ~B;
	int mf = popc(F);
	int gcols[GB_BOOL_MAX_VARS + 1];
	int k = 0;
	for (int j = 0; j < m; j++)
		if (F >> j & 1)
			gcols[k++] = cols[j];
	gcols[k] = s_node;
	uint64_t *g = tt_join(c, col_a, col_b, mf);
	bf_sig *gs = NULL;
	int n_gs = 0, r = -1;
	if (g && sigs_restrict(c, sigs, n_sigs, m, F, true, &gs, &n_gs))
		r = synth(c, g, mf + 1, gcols, gs, n_gs);
	free(g);
	sigs_free(gs, n_gs);
	return r;
}

/* f = G(rest, s) for a given signal s over at least two of f's columns. */
static int synth_signal(bf_ctx *c, const uint64_t *f, int m, const int *cols, const bf_sig *sigs, int n_sigs,
                        int which)
{
	const bf_sig *s = &sigs[which];
	uint32_t B = tt_support(s->t, m);
	int k = popc(B);
	if (k < 2 || k >= m)
		return BF_NONE;
	int mf = m - k, r = BF_NONE;
	uint8_t *cls = bf_alloc(c, (size_t)1 << k, 1);
	uint64_t *col_a = tt_new(c, mf), *col_b = tt_new(c, mf);
	uint64_t *st = tt_project(c, s->t, m, B, 0);
	if (!cls || !col_a || !col_b || !st) {
		r = -1;
		goto done;
	}
	if (chart(c, f, m, B, cls, col_a, col_b) != 2)
		goto done;
	bool same = true, opposite = true;
	for (uint32_t z = 0; z < (1u << k); z++) {
		if (cls[z] != tt_get(st, z))
			same = false;
		else
			opposite = false;
	}
	if (same)
		r = synth_through(c, m, cols, sigs, n_sigs, B, col_a, col_b, s->node);
	else if (opposite)
		r = synth_through(c, m, cols, sigs, n_sigs, B, col_b, col_a, s->node);
done:
	free(cls);
	free(col_a);
	free(col_b);
	free(st);
	return r;
}

/* f = xor of functions of disjoint columns: the connected components of
 * the monomials of f's algebraic normal form. */
static int synth_xor_split(bf_ctx *c, const uint64_t *f, int m, const int *cols, const bf_sig *sigs, int n_sigs)
{
	uint64_t *anf = tt_new(c, m);
	if (!anf)
		return -1;
	memcpy(anf, f, tt_words(m) * sizeof *anf);
	tt_mobius(anf, m);
	int parent[GB_BOOL_MAX_VARS], n_comps = m;
	for (int j = 0; j < m; j++)
		parent[j] = j;
	for (uint32_t v = 1; v < (1u << m) && n_comps > 1; v++) {
		if (!tt_get(anf, v))
			continue;
		int a = __builtin_ctz(v);
		while (parent[a] != a)
			a = parent[a];
		for (int j = a + 1; j < m; j++) {
			if (!(v >> j & 1))
				continue;
			int b = j;
			while (parent[b] != b)
				b = parent[b];
			if (b != a) {
				if (b < a) {
					int swap = a;
					a = b;
					b = swap;
				}
				parent[b] = a;
				n_comps--;
			}
		}
	}
	uint32_t comp[GB_BOOL_MAX_VARS] = {0}; /* comp[root]: the columns of its component */
	for (int j = 0; j < m; j++) {
		int a = j;
		while (parent[a] != a)
			a = parent[a];
		comp[a] |= 1u << j;
	}
	int r = BF_NONE;
	if (n_comps == 1)
		goto done;
	int parts[GB_BOOL_MAX_VARS], n_parts = 0;
	for (int j = 0; j < m && r != -1; j++) {
		uint32_t C = comp[j];
		if (!C)
			continue;
		int k = popc(C);
		uint64_t *g = tt_new(c, k);
		if (!g) {
			r = -1;
			break;
		}
		/* the monomials inside C, renumbered over C's columns */
		uint32_t sub = 0;
		for (uint32_t u = 0; u < (1u << k); u++, sub = (sub - C) & C)
			if (u && tt_get(anf, sub))
				tt_set(g, u);
		tt_mobius(g, k);
		parts[n_parts] = synth_cols(c, g, m, cols, sigs, n_sigs, C);
		free(g);
		if (parts[n_parts] < 0)
			r = -1;
		n_parts++;
	}
	if (r != -1) {
		r = mk_nary(c, BF_XOR, parts, n_parts);
		if (tt_get(anf, 0))
			r = mk_not(c, r);
	}
done:
	free(anf);
	return r;
}

/* f = G(free, s(bound)) for the largest bound set that gives a chart of
 * two distinct columns (a simple disjoint decomposition); s is written
 * inline. */
static int synth_disjoint(bf_ctx *c, const uint64_t *f, int m, const int *cols, const bf_sig *sigs, int n_sigs)
{
	if (m < 4)
		return BF_NONE;
	int kmax = m <= BF_FULL_SEARCH_VARS ? m - 2 : 3;
	uint8_t *cls = bf_alloc(c, (size_t)1 << kmax, 1);
	uint64_t *col_a = tt_new(c, m), *col_b = tt_new(c, m);
	int r = -1;
	if (!cls || !col_a || !col_b)
		goto done;
	r = BF_NONE;
	for (int k = kmax; k >= 2 && r == BF_NONE; k--) {
		for (uint32_t B = 0; B < (1u << m) && c->work < BF_MAX_WORK; B++) {
			if (popc(B) != k)
				continue;
			int d = chart(c, f, m, B, cls, col_a, col_b);
			if (d < 0) {
				r = -1;
				break;
			}
			if (d != 2)
				continue;
			uint64_t *s = tt_new(c, k);
			if (!s) {
				r = -1;
				break;
			}
			for (uint32_t z = 0; z < (1u << k); z++)
				if (cls[z])
					tt_set(s, z);
			int s_node = synth_cols(c, s, m, cols, sigs, n_sigs, B);
			free(s);
			if (s_node < 0) {
				r = -1;
				break;
			}
			if (node_at(c, s_node)->kind == BF_NOT) /* keep the `not` in G, where it may vanish */
				r = synth_through(c, m, cols, sigs, n_sigs, B, col_b, col_a, kid(c, s_node, 0));
			else
				r = synth_through(c, m, cols, sigs, n_sigs, B, col_a, col_b, s_node);
			break;
		}
	}
done:
	free(cls);
	free(col_a);
	free(col_b);
	return r;
}

/* ---- sums of products ------------------------------------------------------------------ */

/* Prime implicants (Quine–McCluskey over the 3^m cubes) and a cover:
 * essential primes, then greedily the prime covering most, then
 * redundant ones dropped. */
static int sop_qm(bf_ctx *c, const uint64_t *f, int m, bf_cube **out)
{
	int n3 = 1;
	for (int j = 0; j < m; j++)
		n3 *= 3;
	uint32_t full = full_mask(m), n_min = 1u << m;
	uint8_t *imp = bf_alloc(c, (size_t)n3, 1);
	bf_cube *primes = NULL, *chosen = NULL;
	int *mult = bf_alloc(c, n_min, sizeof *mult), *last = bf_alloc(c, n_min, sizeof *last);
	uint8_t *picked = NULL;
	int n_primes = 0, cap_primes = 64, n_chosen = 0, result = -1;
	primes = bf_alloc(c, (size_t)cap_primes, sizeof *primes);
	if (!imp || !mult || !last || !primes)
		goto done;
	int p3[GB_BOOL_MAX_VARS + 1];
	p3[0] = 1;
	for (int j = 0; j < m; j++)
		p3[j + 1] = p3[j] * 3;
	for (int t = 0; t < n3; t++) {
		int x = t, dash = -1;
		uint32_t val = 0;
		for (int j = 0; j < m; j++, x /= 3) {
			int d = x % 3;
			if (d == 2 && dash < 0)
				dash = j;
			else if (d == 1)
				val |= 1u << j;
		}
		imp[t] = dash < 0 ? (uint8_t)tt_get(f, val) : (uint8_t)(imp[t - 2 * p3[dash]] && imp[t - p3[dash]]);
	}
	for (int t = 0; t < n3; t++) {
		if (!imp[t])
			continue;
		int x = t;
		bool prime = true;
		bf_cube cube = {0, 0};
		for (int j = 0; j < m; j++, x /= 3) {
			int d = x % 3;
			if (d == 2)
				continue;
			cube.care |= 1u << j;
			if (d == 1)
				cube.val |= 1u << j;
			if (imp[t + (2 - d) * p3[j]])
				prime = false;
		}
		if (!prime)
			continue;
		if (n_primes == cap_primes) {
			cap_primes *= 2;
			bf_cube *grown = realloc(primes, (size_t)cap_primes * sizeof *grown);
			if (!grown) {
				c->st = gb_fail(c->err, GB_STATUS_NOMEM, "boolfn: out of memory");
				goto done;
			}
			primes = grown;
		}
		primes[n_primes++] = cube;
	}
	picked = bf_alloc(c, (size_t)n_primes, 1);
	chosen = bf_alloc(c, (size_t)GB_BOOL_MAX_TERMS + 1, sizeof *chosen);
	if (!picked || !chosen)
		goto done;
	/* mult[v]: primes covering minterm v (then: chosen ones covering it) */
	for (int p = 0; p < n_primes; p++) {
		uint32_t free_vars = full & ~primes[p].care, sub = 0;
		do {
			uint32_t v = primes[p].val | sub;
			mult[v]++;
			last[v] = p;
			sub = (sub - free_vars) & free_vars;
		} while (sub);
	}
	for (uint32_t v = 0; v < n_min; v++)
		if (tt_get(f, v) && mult[v] == 1)
			picked[last[v]] = 1;
	memset(mult, 0, n_min * sizeof *mult);
	for (int p = 0; p < n_primes; p++) {
		if (!picked[p])
			continue;
		uint32_t free_vars = full & ~primes[p].care, sub = 0;
		do {
			mult[primes[p].val | sub]++;
			sub = (sub - free_vars) & free_vars;
		} while (sub);
	}
	for (;;) {
		int best = -1, best_new = 0;
		for (int p = 0; p < n_primes; p++) {
			if (picked[p])
				continue;
			uint32_t free_vars = full & ~primes[p].care, sub = 0;
			int fresh = 0;
			do {
				fresh += mult[primes[p].val | sub] == 0;
				sub = (sub - free_vars) & free_vars;
			} while (sub);
			if (fresh > best_new ||
			    (fresh == best_new && fresh > 0 && popc(primes[p].care) < popc(primes[best].care))) {
				best = p;
				best_new = fresh;
			}
		}
		if (best < 0)
			break;
		picked[best] = 1;
		uint32_t free_vars = full & ~primes[best].care, sub = 0;
		do {
			mult[primes[best].val | sub]++;
			sub = (sub - free_vars) & free_vars;
		} while (sub);
	}
	/* drop primes whose minterms are all covered twice */
	for (int p = n_primes - 1; p >= 0; p--) {
		if (!picked[p])
			continue;
		uint32_t free_vars = full & ~primes[p].care, sub = 0;
		bool redundant = true;
		do {
			if (mult[primes[p].val | sub] < 2)
				redundant = false;
			sub = (sub - free_vars) & free_vars;
		} while (sub);
		if (!redundant)
			continue;
		picked[p] = 0;
		sub = 0;
		do {
			mult[primes[p].val | sub]--;
			sub = (sub - free_vars) & free_vars;
		} while (sub);
	}
	for (int p = 0; p < n_primes; p++) {
		if (!picked[p])
			continue;
		if (n_chosen == GB_BOOL_MAX_TERMS) {
			c->too_big = true;
			goto done;
		}
		chosen[n_chosen++] = primes[p];
	}
	*out = chosen;
	chosen = NULL;
	result = n_chosen;
done:
	free(imp);
	free(primes);
	free(chosen);
	free(mult);
	free(last);
	free(picked);
	return result;
}

static bool cube_inside(const uint64_t *f, uint32_t val, uint32_t care, uint32_t full)
{
	uint32_t free_vars = full & ~care, sub = 0;
	do {
		if (!tt_get(f, (val & care) | sub))
			return false;
		sub = (sub - free_vars) & free_vars;
	} while (sub);
	return true;
}

/* Greedy cover for many variables: each minterm not yet covered grows into
 * a prime by dropping literals while the cube stays inside the on-set. */
static int sop_greedy(bf_ctx *c, const uint64_t *f, int m, bf_cube **out)
{
	uint32_t full = full_mask(m);
	uint64_t *covered = tt_new(c, m);
	bf_cube *cubes = bf_alloc(c, (size_t)GB_BOOL_MAX_TERMS + 1, sizeof *cubes);
	int n = 0, result = -1;
	if (!covered || !cubes)
		goto done;
	for (size_t w = 0; w < tt_words(m); w++) {
		uint64_t todo;
		while ((todo = f[w] & ~covered[w]) != 0) {
			uint32_t v = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(todo));
			bf_cube cube = {v, full};
			for (int j = 0; j < m; j++) {
				uint32_t care = cube.care & ~(1u << j);
				if (cube_inside(f, cube.val, care, full)) {
					cube.care = care;
					cube.val &= care;
				}
			}
			if (n == GB_BOOL_MAX_TERMS) {
				c->too_big = true;
				goto done;
			}
			cubes[n++] = cube;
			uint32_t free_vars = full & ~cube.care, sub = 0;
			do {
				tt_set(covered, cube.val | sub);
				sub = (sub - free_vars) & free_vars;
			} while (sub);
		}
	}
	*out = cubes;
	cubes = NULL;
	result = n;
done:
	free(covered);
	free(cubes);
	return result;
}

/* A cover of f's on-set by at most GB_BOOL_MAX_TERMS cubes: their number,
 * or -1 (too many: c->too_big; or out of memory). */
static int sop_cover(bf_ctx *c, const uint64_t *f, int m, bf_cube **out)
{
	*out = NULL;
	return m <= BF_QM_VARS ? sop_qm(c, f, m, out) : sop_greedy(c, f, m, out);
}

/* outer = BF_OR: the sum of the products; outer = BF_AND: the product of
 * the sums of the negated literals (the cubes then cover not f). */
static int sop_tree(bf_ctx *c, const bf_cube *cubes, int n, int m, const int *cols, bf_kind outer)
{
	bf_kind inner = outer == BF_OR ? BF_AND : BF_OR;
	int *terms = bf_alloc(c, (size_t)n, sizeof *terms);
	if (!terms)
		return -1;
	for (int i = 0; i < n; i++) {
		int lits[GB_BOOL_MAX_VARS], k = 0;
		for (int j = 0; j < m; j++) {
			if (!(cubes[i].care >> j & 1))
				continue;
			bool positive = (cubes[i].val >> j & 1) == (outer == BF_OR);
			lits[k++] = positive ? cols[j] : mk_not(c, cols[j]);
		}
		terms[i] = mk_nary(c, inner, lits, k);
	}
	int r = mk_nary(c, outer, terms, n);
	free(terms);
	return r;
}

/* The cubes split into groups over disjoint columns, each group written
 * anew: f = g1 or g2 or ... (outer BF_OR), or f = not h1 and not h2 and
 * ... (outer BF_AND, the cubes covering not f). BF_NONE for one group. */
static int sop_split(bf_ctx *c, const bf_cube *cubes, int n, int m, const int *cols, const bf_sig *sigs,
                     int n_sigs, bf_kind outer)
{
	uint32_t group[GB_BOOL_MAX_TERMS];
	for (int i = 0; i < n; i++)
		group[i] = cubes[i].care;
	bool merged = true;
	while (merged) {
		merged = false;
		for (int i = 0; i < n; i++)
			for (int k = 0; k < n; k++)
				if ((group[i] & group[k]) && group[i] != group[k]) {
					group[i] = group[k] = group[i] | group[k];
					merged = true;
				}
	}
	if (group[0] == full_mask(m) || n < 2)
		return BF_NONE;
	int parts[GB_BOOL_MAX_VARS], n_parts = 0;
	uint32_t done_mask = 0;
	uint32_t full = full_mask(m);
	for (int i = 0; i < n; i++) {
		uint32_t C = group[i];
		if (C & done_mask)
			continue;
		done_mask |= C;
		uint64_t *g = tt_new(c, m);
		if (!g)
			return -1;
		for (int k = 0; k < n; k++) {
			if (group[k] != C)
				continue;
			uint32_t free_vars = full & ~cubes[k].care, sub = 0;
			do {
				tt_set(g, cubes[k].val | sub);
				sub = (sub - free_vars) & free_vars;
			} while (sub);
		}
		if (outer == BF_AND)
			tt_not(g, g, m);
		parts[n_parts] = synth_sub(c, g, m, cols, sigs, n_sigs, C, 0);
		free(g);
		if (parts[n_parts] < 0)
			return -1;
		n_parts++;
	}
	return mk_nary(c, outer, parts, n_parts);
}

static void synth_sop(bf_ctx *c, const uint64_t *f, int m, const int *cols, const bf_sig *sigs, int n_sigs,
                      bool cheap, int *best)
{
	uint64_t *nf = tt_new(c, m);
	if (!nf)
		return;
	tt_not(nf, f, m);
	bf_cube *on = NULL, *off = NULL;
	int n_on = sop_cover(c, f, m, &on);
	if (n_on >= 0) {
		consider(c, best, sop_tree(c, on, n_on, m, cols, BF_OR));
		if (!cheap)
			consider(c, best, sop_split(c, on, n_on, m, cols, sigs, n_sigs, BF_OR));
	}
	int n_off = c->st == GB_OK ? sop_cover(c, nf, m, &off) : -1;
	if (n_off >= 0) {
		consider(c, best, sop_tree(c, off, n_off, m, cols, BF_AND));
		consider(c, best, mk_not(c, sop_tree(c, off, n_off, m, cols, BF_OR)));
		if (!cheap) {
			consider(c, best, sop_split(c, off, n_off, m, cols, sigs, n_sigs, BF_AND));
			consider(c, best, mk_not(c, sop_split(c, off, n_off, m, cols, sigs, n_sigs, BF_OR)));
		}
	}
	free(on);
	free(off);
	free(nf);
}

/* The cheapest formula found for f over the m columns, or -1 (out of
 * memory: c->st; or only sums of products too long: c->too_big). */
static int synth(bf_ctx *c, const uint64_t *f, int m, const int *cols, const bf_sig *sigs, int n_sigs)
{
	if (c->st != GB_OK)
		return -1;
	c->calls++;
	uint32_t full = full_mask(m), supp = tt_support(f, m);
	if (supp != full)
		return synth_sub(c, f, m, cols, sigs, n_sigs, supp, 0);
	if (m == 0)
		return mk_const(c, tt_get(f, 0));
	if (m == 1)
		return tt_get(f, 1) ? cols[0] : mk_not(c, cols[0]);
	for (int i = 0; i < n_sigs; i++) {
		if (tt_equal(sigs[i].t, f, m))
			return sigs[i].node;
		if (tt_is_compl(sigs[i].t, f, m))
			return mk_not(c, sigs[i].node);
	}
	int r = synth_affine(c, f, m, cols);
	if (r == BF_NONE)
		r = synth_threshold(c, f, m, cols);
	if (r != BF_NONE)
		return r;
	/* a literal factor: f = x and f1, not x and f0, x or f0, not x or f1, xor(x, f0) */
	for (int j = 0; j < m; j++) {
		unsigned rel = tt_relation(f, m, j);
		uint32_t keep = full & ~(1u << j), one = 1u << j;
		int x = cols[j];
		if (rel & R_F0_ZERO)
			return mk2(c, BF_AND, x, synth_sub(c, f, m, cols, sigs, n_sigs, keep, one));
		if (rel & R_F1_ZERO)
			return mk2(c, BF_AND, mk_not(c, x), synth_sub(c, f, m, cols, sigs, n_sigs, keep, 0));
		if (rel & R_F1_ONE)
			return mk2(c, BF_OR, x, synth_sub(c, f, m, cols, sigs, n_sigs, keep, 0));
		if (rel & R_F0_ONE)
			return mk2(c, BF_OR, mk_not(c, x), synth_sub(c, f, m, cols, sigs, n_sigs, keep, one));
		if (rel & R_COMPL)
			return mk2(c, BF_XOR, x, synth_sub(c, f, m, cols, sigs, n_sigs, keep, 0));
	}
	int best = -1;
	bool cheap = c->calls > BF_MAX_CALLS;
	if (!cheap) {
		for (int i = 0; i < n_sigs && c->st == GB_OK; i++)
			consider(c, &best, synth_signal(c, f, m, cols, sigs, n_sigs, i));
		if (c->st == GB_OK)
			consider(c, &best, synth_xor_split(c, f, m, cols, sigs, n_sigs));
		if (c->st == GB_OK)
			consider(c, &best, synth_disjoint(c, f, m, cols, sigs, n_sigs));
	}
	if (c->st == GB_OK)
		synth_sop(c, f, m, cols, sigs, n_sigs, cheap, &best);
	return c->st == GB_OK ? best : -1;
}

/* ---- evaluation (the check before anything is returned) ---------------------------------- */

/* The table of node id over the c->n input variables (caller frees). */
static uint64_t *eval_node(bf_ctx *c, int id)
{
	const bf_node x = *node_at(c, id);
	int n = c->n;
	size_t nw = tt_words(n);
	uint64_t valid = tt_valid(n);
	uint64_t *r = tt_new(c, n);
	if (!r)
		return NULL;
	switch (x.kind) {
	case BF_CONST0:
		break;
	case BF_CONST1:
		for (size_t i = 0; i < nw; i++)
			r[i] = valid;
		break;
	case BF_VAR:
		for (size_t i = 0; i < nw; i++)
			r[i] = (x.var < 6 ? ~bf_lo[x.var] : (i >> (x.var - 6) & 1) ? ~0ULL : 0) & valid;
		break;
	case BF_SIG:
		memcpy(r, c->sig_tabs[x.var], nw * sizeof *r);
		break;
	case BF_NOT:
	case BF_AND:
	case BF_OR:
	case BF_XOR: {
		if (x.kind == BF_AND)
			for (size_t i = 0; i < nw; i++)
				r[i] = valid;
		for (int k = 0; k < x.n; k++) {
			uint64_t *a = eval_node(c, c->kids[x.kid0 + k]);
			if (!a) {
				free(r);
				return NULL;
			}
			for (size_t i = 0; i < nw; i++) {
				if (x.kind == BF_NOT)
					r[i] = ~a[i] & valid;
				else if (x.kind == BF_AND)
					r[i] &= a[i];
				else if (x.kind == BF_OR)
					r[i] |= a[i];
				else
					r[i] ^= a[i];
			}
			free(a);
		}
		break;
	}
	case BF_MAJ: {
		/* bit-sliced counters, then count >= (n + 1) / 2 */
		uint64_t *cnt = bf_alloc(c, nw * 7, sizeof *cnt);
		if (!cnt) {
			free(r);
			return NULL;
		}
		for (int k = 0; k < x.n; k++) {
			uint64_t *a = eval_node(c, c->kids[x.kid0 + k]);
			if (!a) {
				free(cnt);
				free(r);
				return NULL;
			}
			for (size_t i = 0; i < nw; i++) {
				uint64_t carry = a[i];
				for (int b = 0; b < 7 && carry; b++) {
					uint64_t next = cnt[b * nw + i] & carry;
					cnt[b * nw + i] ^= carry;
					carry = next;
				}
			}
			free(a);
		}
		int h = (x.n + 1) / 2;
		for (size_t i = 0; i < nw; i++) {
			uint64_t gt = 0, eq = ~0ULL;
			for (int b = 6; b >= 0; b--) {
				uint64_t bit = cnt[b * nw + i];
				if (h >> b & 1) {
					eq &= bit;
				} else {
					gt |= eq & bit;
					eq &= ~bit;
				}
			}
			r[i] = (gt | eq) & valid;
		}
		free(cnt);
		break;
	}
	}
	return r;
}

/* ---- printing --------------------------------------------------------------------------- */

typedef struct bf_printer {
	const bf_ctx *c;
	const char *const *var_names; /* NULL: x[j] */
	const char *const *sig_names;
	gb_strbuf out;
	int depth, max_depth;
} bf_printer;

static void print_node(bf_printer *p, int id);

static void print_kid(bf_printer *p, int id, bool parens)
{
	if (parens) {
		p->depth++;
		gb_strbuf_put(&p->out, "(");
	}
	print_node(p, id);
	if (parens) {
		gb_strbuf_put(&p->out, ")");
		p->depth--;
	}
}

static void print_node(bf_printer *p, int id)
{
	const bf_ctx *c = p->c;
	const bf_node *x = node_at(c, id);
	p->depth++; /* every node counts, a bit more than the parser does */
	if (p->depth > p->max_depth)
		p->max_depth = p->depth;
	switch (x->kind) {
	case BF_CONST0:
		gb_strbuf_put(&p->out, "0.0");
		break;
	case BF_CONST1:
		gb_strbuf_put(&p->out, "1.0");
		break;
	case BF_VAR:
		if (p->var_names)
			gb_strbuf_put(&p->out, p->var_names[x->var]);
		else
			gb_strbuf_printf(&p->out, "x[%d]", x->var);
		break;
	case BF_SIG:
		gb_strbuf_put(&p->out, p->sig_names[x->var]);
		break;
	case BF_NOT: {
		int a = kid(c, id, 0);
		bf_kind k = node_at(c, a)->kind;
		gb_strbuf_put(&p->out, "not ");
		print_kid(p, a, k == BF_AND || k == BF_OR);
		break;
	}
	case BF_AND:
	case BF_OR:
		for (int k = 0; k < x->n; k++) {
			int a = kid(c, id, k);
			bf_kind ak = node_at(c, a)->kind;
			if (k)
				gb_strbuf_put(&p->out, x->kind == BF_AND ? " and " : " or ");
			/* `or` inside `and` needs them; `and` inside `or` gets them for the reader */
			print_kid(p, a, ak == BF_AND || ak == BF_OR);
		}
		break;
	case BF_XOR:
	case BF_MAJ:
		gb_strbuf_put(&p->out, x->kind == BF_XOR ? "xor(" : "majority(");
		for (int k = 0; k < x->n; k++) {
			if (k)
				gb_strbuf_put(&p->out, ", ");
			print_node(p, kid(c, id, k));
		}
		gb_strbuf_put(&p->out, ")");
		break;
	}
	p->depth--;
}

/* Height of the parse tree (and/or chains are left-nested binary nodes). */
static int64_t node_height(const bf_ctx *c, int id)
{
	const bf_node *x = node_at(c, id);
	int64_t h = 0;
	for (int k = 0; k < x->n; k++) {
		int64_t kh = node_height(c, kid(c, id, k));
		if (kh > h)
			h = kh;
	}
	if (x->kind == BF_AND || x->kind == BF_OR)
		return h + x->n - 1;
	return x->n ? h + 1 : 0;
}

/* Appends the formula of id to p->out; GB_STATUS_UNSUPPORTED when it nests
 * deeper than the parser accepts. */
static gb_status print_formula(bf_printer *p, int id, gb_error *err)
{
	p->depth = p->max_depth = 0;
	print_node(p, id);
	if (p->out.oom)
		return gb_fail(err, GB_STATUS_NOMEM, "boolfn: out of memory");
	if (p->max_depth > BF_MAX_NESTING || node_height(p->c, id) > BF_MAX_HEIGHT)
		return gb_fail(err, GB_STATUS_UNSUPPORTED,
		               "boolfn: the formula would nest deeper than the language allows; keep the table");
	return GB_OK;
}

/* ---- the calls ---------------------------------------------------------------------------- */

static void ctx_free(bf_ctx *c)
{
	free(c->nodes);
	free(c->kids);
	for (int i = 0; i < c->n_sigs; i++)
		free(c->sig_tabs[i]);
	free(c->sig_tabs);
}

/* Registers a signal's table (taken over) and returns its leaf, or -1. */
static int ctx_signal(bf_ctx *c, uint64_t *t)
{
	if (c->n_sigs == c->cap_sigs) {
		int cap = c->cap_sigs ? 2 * c->cap_sigs : 16;
		uint64_t **grown = realloc(c->sig_tabs, (size_t)cap * sizeof *grown);
		if (!grown) {
			free(t);
			if (c->st == GB_OK)
				c->st = gb_fail(c->err, GB_STATUS_NOMEM, "boolfn: out of memory");
			return -1;
		}
		c->sig_tabs = grown;
		c->cap_sigs = cap;
	}
	c->sig_tabs[c->n_sigs] = t;
	int leaf = mk_leaf(c, BF_SIG, c->n_sigs);
	c->n_sigs++;
	return leaf;
}

/* Packs a byte table; GB_STATUS_USAGE for entries other than 0 and 1. */
static gb_status pack_table(bf_ctx *c, const uint8_t *table, int n, const char *what, uint64_t **out)
{
	*out = NULL;
	if (!table)
		return gb_fail(c->err, GB_STATUS_USAGE, "boolfn: %s: no table", what);
	uint64_t *t = tt_new(c, n);
	if (!t)
		return c->st;
	for (uint32_t v = 0; v < (1u << n); v++) {
		if (table[v] > 1) {
			free(t);
			return gb_fail(c->err, GB_STATUS_USAGE, "boolfn: %s: entry %u is %u, not 0 or 1", what, v,
			               (unsigned)table[v]);
		}
		if (table[v])
			tt_set(t, v);
	}
	*out = t;
	return GB_OK;
}

static gb_status check_n(int n, const char *const *var_names, gb_error *err)
{
	if (n < 0 || n > GB_BOOL_MAX_VARS)
		return gb_fail(err, GB_STATUS_USAGE, "boolfn: %d variables; at most %d are supported", n,
		               GB_BOOL_MAX_VARS);
	for (int j = 0; var_names && j < n; j++)
		if (!var_names[j])
			return gb_fail(err, GB_STATUS_USAGE, "boolfn: variable %d has no name", j);
	return GB_OK;
}

/* Input columns 0..n-1 as variable leaves. */
static bool var_cols(bf_ctx *c, int n, int *cols)
{
	for (int j = 0; j < n; j++)
		if ((cols[j] = mk_leaf(c, BF_VAR, j)) < 0)
			return false;
	return true;
}

static gb_status unsupported(bf_ctx *c, const char *what)
{
	if (c->st != GB_OK)
		return c->st;
	return gb_fail(c->err, GB_STATUS_UNSUPPORTED,
	               "boolfn: %s: the formula would need more than %d products (or-ed terms); keep the table", what,
	               GB_BOOL_MAX_TERMS);
}

gb_status gb_bool_formula(const uint8_t *table, int n, const char *const *var_names, const gb_bool_signal *signals,
                          int n_signals, char **text, int64_t *ops, gb_error *err)
{
	*text = NULL;
	if (ops)
		*ops = 0;
	bf_ctx c = {.err = err, .n = n};
	bf_sig *sigs = NULL;
	uint64_t *f = NULL, *got = NULL;
	const char **sig_names = NULL;
	bf_printer p = {.c = &c, .var_names = var_names};
	gb_status st = check_n(n, var_names, err);
	if (st != GB_OK)
		return st;
	if (n_signals < 0 || (n_signals > 0 && !signals))
		return gb_fail(err, GB_STATUS_USAGE, "boolfn: bad signal list");
	if ((st = pack_table(&c, table, n, "the function", &f)) != GB_OK)
		goto fail;
	sigs = bf_alloc(&c, (size_t)n_signals, sizeof *sigs);
	sig_names = bf_alloc(&c, (size_t)n_signals, sizeof *sig_names);
	if (!sigs || !sig_names)
		goto fail_st;
	for (int k = 0; k < n_signals; k++) {
		if (!signals[k].name) {
			st = gb_fail(err, GB_STATUS_USAGE, "boolfn: signal %d has no name", k);
			goto fail;
		}
		sig_names[k] = signals[k].name;
		uint64_t *t = NULL;
		if ((st = pack_table(&c, signals[k].table, n, signals[k].name, &t)) != GB_OK)
			goto fail;
		sigs[k].t = t; /* shared with c.sig_tabs, which frees it */
		if ((sigs[k].node = ctx_signal(&c, t)) < 0)
			goto fail_st;
	}
	int cols[GB_BOOL_MAX_VARS];
	if (!var_cols(&c, n, cols))
		goto fail_st;
	int root = synth(&c, f, n, cols, sigs, n_signals);
	if (root < 0) {
		st = unsupported(&c, "the function");
		goto fail;
	}
	got = eval_node(&c, root);
	if (!got)
		goto fail_st;
	if (!tt_equal(got, f, n)) {
		st = gb_fail(err, GB_STATUS_FAILURE, "boolfn: internal error: the formula does not compute the table");
		goto fail;
	}
	p.sig_names = sig_names;
	if ((st = print_formula(&p, root, err)) != GB_OK)
		goto fail;
	*text = p.out.data ? p.out.data : gb_strdup("");
	p.out.data = NULL;
	if (!*text)
		st = gb_fail(err, GB_STATUS_NOMEM, "boolfn: out of memory");
	else if (ops)
		*ops = cost_of(&c, root);
	goto done;
fail_st:
	st = c.st != GB_OK ? c.st : gb_fail(err, GB_STATUS_NOMEM, "boolfn: out of memory");
fail:
done:
	free(p.out.data);
	free(got);
	free(f);
	free(sigs);
	free(sig_names);
	ctx_free(&c);
	return st;
}

/* ---- programs: shared subformulas named --------------------------------------------------- */

typedef struct bf_occ {
	uint64_t h;
	int id, order;
} bf_occ;

static int occ_cmp(const void *a, const void *b)
{
	const bf_occ *x = a, *y = b;
	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->order - y->order;
}

typedef struct bf_occs {
	bf_occ *v;
	int n, cap;
} bf_occs;

static bool occ_collect(bf_ctx *c, int id, bf_occs *o)
{
	const bf_node *x = node_at(c, id);
	if (x->n == 0)
		return true;
	/* a negated leaf is not worth a name */
	if (!(x->kind == BF_NOT && node_at(c, kid(c, id, 0))->n == 0)) {
		if (o->n == o->cap) {
			int cap = o->cap ? 2 * o->cap : 256;
			bf_occ *grown = realloc(o->v, (size_t)cap * sizeof *grown);
			if (!grown) {
				c->st = gb_fail(c->err, GB_STATUS_NOMEM, "boolfn: out of memory");
				return false;
			}
			o->v = grown;
			o->cap = cap;
		}
		o->v[o->n] = (bf_occ){x->h, id, o->n};
		o->n++;
	}
	for (int k = 0; k < x->n; k++)
		if (!occ_collect(c, kid(c, id, k), o))
			return false;
	return true;
}

/* id with every subtree equal to target replaced by leaf. */
static int subst(bf_ctx *c, int id, int target, int leaf)
{
	if (node_same(c, id, target))
		return leaf;
	const bf_node *x = node_at(c, id);
	int n = x->n;
	if (n == 0)
		return id;
	int *args = bf_alloc(c, (size_t)n, sizeof *args);
	if (!args)
		return -1;
	bool changed = false;
	for (int k = 0; k < n; k++) {
		int a = kid(c, id, k);
		args[k] = subst(c, a, target, leaf);
		changed |= args[k] != a;
	}
	bf_kind kind = node_at(c, id)->kind;
	int r = !changed ? id : kind == BF_NOT ? mk_not(c, args[0]) : mk_nary(c, kind, args, n);
	free(args);
	return r;
}

/* The same below id only (id itself is kept). */
static int subst_below(bf_ctx *c, int id, int target, int leaf)
{
	const bf_node *x = node_at(c, id);
	int n = x->n;
	bf_kind kind = x->kind;
	if (n == 0)
		return id;
	int *args = bf_alloc(c, (size_t)n, sizeof *args);
	if (!args)
		return -1;
	bool changed = false;
	for (int k = 0; k < n; k++) {
		int a = kid(c, id, k);
		args[k] = subst(c, a, target, leaf);
		changed |= args[k] != a;
	}
	int r = !changed ? id : kind == BF_NOT ? mk_not(c, args[0]) : mk_nary(c, kind, args, n);
	free(args);
	return r;
}

static void sig_uses(const bf_ctx *c, int id, uint8_t *in_xor, uint8_t *in_maj, uint8_t *deps)
{
	const bf_node *x = node_at(c, id);
	if (x->kind == BF_SIG)
		deps[x->var] = 1;
	for (int k = 0; k < x->n; k++) {
		int a = kid(c, id, k);
		const bf_node *y = node_at(c, a);
		if (y->kind == BF_NOT)
			y = node_at(c, kid(c, a, 0));
		if (y->kind == BF_SIG && x->kind == BF_XOR)
			in_xor[y->var] = 1;
		if (y->kind == BF_SIG && x->kind == BF_MAJ)
			in_maj[y->var] = 1;
		sig_uses(c, a, in_xor, in_maj, deps);
	}
}

static bool name_taken(const char *name, const char *const *names, int n)
{
	size_t len = strlen(name);
	for (int k = 0; names && k < n; k++) {
		size_t base = strcspn(names[k], "[");
		if (base == len && strncmp(names[k], name, len) == 0)
			return true;
	}
	return false;
}

gb_status gb_bool_program(const uint8_t *const *tables, int n_out, int n, const char *const *var_names,
                          const char *const *out_names, char **body, int64_t *ops, gb_error *err)
{
	*body = NULL;
	if (ops)
		*ops = 0;
	bf_ctx c = {.err = err, .n = n};
	gb_status st = check_n(n, var_names, err);
	if (st != GB_OK)
		return st;
	if (n_out < 1 || !tables || !out_names)
		return gb_fail(err, GB_STATUS_USAGE, "boolfn: a program needs at least one output, with a table and a name");
	for (int k = 0; k < n_out; k++)
		if (!out_names[k])
			return gb_fail(err, GB_STATUS_USAGE, "boolfn: output %d has no name", k);
	int *roots = NULL, *order = NULL;
	bf_sig *sigs = NULL;
	bf_occs occs = {0};
	char **names = NULL;
	uint8_t *in_xor = NULL, *in_maj = NULL, *deps = NULL, *emitted = NULL;
	uint64_t *got = NULL;
	bf_printer p = {.c = &c, .var_names = var_names};
	int64_t total_ops = 0;
	int n_lines = 0;

	/* every output first becomes a signal (index k), usable by the later ones */
	sigs = bf_alloc(&c, (size_t)n_out, sizeof *sigs);
	if (!sigs)
		goto fail_st;
	for (int k = 0; k < n_out; k++) {
		uint64_t *t = NULL;
		if ((st = pack_table(&c, tables[k], n, out_names[k], &t)) != GB_OK)
			goto fail;
		sigs[k].t = t;
		if ((sigs[k].node = ctx_signal(&c, t)) < 0)
			goto fail_st;
	}
	int cols[GB_BOOL_MAX_VARS];
	if (!var_cols(&c, n, cols))
		goto fail_st;
	/* roots: the outputs' formulas, then the named subformulas' definitions */
	int cap_roots = n_out + 16, n_roots = n_out;
	roots = bf_alloc(&c, (size_t)cap_roots, sizeof *roots);
	if (!roots)
		goto fail_st;
	for (int k = 0; k < n_out; k++) {
		c.calls = c.work = 0;
		roots[k] = synth(&c, sigs[k].t, n, cols, sigs, k);
		if (roots[k] < 0) {
			st = unsupported(&c, out_names[k]);
			goto fail;
		}
	}

	/* name the largest subformula that occurs twice, until none does */
	for (;;) {
		occs.n = 0;
		for (int r = 0; r < n_roots; r++) {
			/* a definition's own root is not an occurrence */
			const bf_node *x = node_at(&c, roots[r]);
			if (r < n_out && !occ_collect(&c, roots[r], &occs))
				goto fail_st;
			for (int k = 0; r >= n_out && k < x->n; k++)
				if (!occ_collect(&c, kid(&c, roots[r], k), &occs))
					goto fail_st;
		}
		if (occs.n > 1)
			qsort(occs.v, (size_t)occs.n, sizeof *occs.v, occ_cmp);
		int best = -1, best_order = 0;
		for (int i = 0; i < occs.n;) {
			int j = i, same = 0;
			while (j < occs.n && occs.v[j].h == occs.v[i].h) {
				same += node_same(&c, occs.v[j].id, occs.v[i].id);
				j++;
			}
			int id = occs.v[i].id;
			if (same >= 2 &&
			    (best < 0 || cost_of(&c, id) > cost_of(&c, best) ||
			     (cost_of(&c, id) == cost_of(&c, best) && occs.v[i].order < best_order))) {
				best = id;
				best_order = occs.v[i].order;
			}
			i = j;
		}
		if (best < 0)
			break;
		uint64_t *t = eval_node(&c, best);
		if (!t)
			goto fail_st;
		int leaf = ctx_signal(&c, t);
		if (leaf < 0)
			goto fail_st;
		for (int r = 0; r < n_roots; r++) {
			int replaced = r < n_out ? subst(&c, roots[r], best, leaf) : subst_below(&c, roots[r], best, leaf);
			if (replaced < 0)
				goto fail_st;
			roots[r] = replaced;
		}
		if (n_roots == cap_roots) {
			cap_roots *= 2;
			int *grown = realloc(roots, (size_t)cap_roots * sizeof *grown);
			if (!grown)
				goto fail_st;
			roots = grown;
		}
		roots[n_roots++] = best; /* signal n_out + (n_roots - n_out - 1) */
	}

	/* order: a named subformula as soon as what it uses is written, outputs in order */
	int n_named = n_roots - n_out, n_sig = c.n_sigs;
	GB_ASSERT(n_sig == n_out + n_named);
	in_xor = bf_alloc(&c, (size_t)n_sig, 1);
	in_maj = bf_alloc(&c, (size_t)n_sig, 1);
	deps = bf_alloc(&c, (size_t)n_sig * (size_t)n_sig, 1);
	emitted = bf_alloc(&c, (size_t)n_sig, 1);
	order = bf_alloc(&c, (size_t)n_sig, sizeof *order);
	names = bf_alloc(&c, (size_t)n_sig, sizeof *names);
	if (!in_xor || !in_maj || !deps || !emitted || !order || !names)
		goto fail_st;
	/* line s defines signal s: outputs are 0..n_out-1, named ones n_out.. */
	for (int s = 0; s < n_sig; s++)
		sig_uses(&c, roots[s], in_xor, in_maj, deps + (size_t)s * (size_t)n_sig);
	int next_out = 0;
	while (n_lines < n_sig) {
		int pick = -1;
		/* the named ones: latest found (innermost) first */
		for (int s = n_sig - 1; s >= n_out && pick < 0; s--) {
			if (emitted[s])
				continue;
			bool ready = true;
			for (int d = 0; d < n_sig; d++)
				if (deps[(size_t)s * (size_t)n_sig + (size_t)d] && !emitted[d])
					ready = false;
			if (ready)
				pick = s;
		}
		if (pick < 0) {
			pick = next_out++;
			for (int d = 0; d < n_sig; d++)
				if (deps[(size_t)pick * (size_t)n_sig + (size_t)d] && !emitted[d]) {
					st = gb_fail(err, GB_STATUS_FAILURE, "boolfn: internal error: %s uses a later line",
					             out_names[pick]);
					goto fail;
				}
		}
		emitted[pick] = 1;
		order[n_lines++] = pick;
	}
	int n_carry = 0, carry_no = 0, temp_no = 0;
	for (int s = n_out; s < n_sig; s++)
		n_carry += in_xor[s] && in_maj[s];
	for (int i = 0; i < n_sig; i++) {
		int s = order[i];
		if (s < n_out) {
			names[s] = gb_strdup(out_names[s]);
		} else {
			char name[64];
			bool carry = in_xor[s] && in_maj[s];
			if (carry && n_carry == 1)
				snprintf(name, sizeof name, "carry");
			else if (carry)
				snprintf(name, sizeof name, "carry%d", ++carry_no);
			else
				snprintf(name, sizeof name, "t%d", ++temp_no);
			while (name_taken(name, var_names, var_names ? n : 0) || name_taken(name, out_names, n_out)) {
				size_t len = strlen(name);
				if (len + 2 > sizeof name)
					break;
				name[len] = '_';
				name[len + 1] = '\0';
			}
			names[s] = gb_strdup(name);
		}
		if (!names[s])
			goto fail_st;
	}

	/* check every line, then write them */
	for (int i = 0; i < n_sig; i++) {
		int s = order[i];
		got = eval_node(&c, roots[s]);
		if (!got)
			goto fail_st;
		if (!tt_equal(got, c.sig_tabs[s], n)) {
			st = gb_fail(err, GB_STATUS_FAILURE, "boolfn: internal error: the line for %s does not compute it",
			             names[s]);
			goto fail;
		}
		free(got);
		got = NULL;
	}
	p.sig_names = (const char *const *)names;
	for (int i = 0; i < n_sig; i++) {
		int s = order[i];
		gb_strbuf_put(&p.out, names[s]);
		gb_strbuf_put(&p.out, " = ");
		if ((st = print_formula(&p, roots[s], err)) != GB_OK)
			goto fail;
		gb_strbuf_put(&p.out, "\n");
		total_ops += cost_of(&c, roots[s]);
	}
	if (p.out.oom)
		goto fail_st;
	*body = p.out.data;
	p.out.data = NULL;
	if (ops)
		*ops = total_ops;
	st = GB_OK;
	goto done;
fail_st:
	st = c.st != GB_OK ? c.st : gb_fail(err, GB_STATUS_NOMEM, "boolfn: out of memory");
fail:
done:
	free(p.out.data);
	free(got);
	free(roots);
	free(order);
	free(sigs);
	free(occs.v);
	if (names)
		for (int s = 0; s < c.n_sigs; s++)
			free(names[s]);
	free(names);
	free(in_xor);
	free(in_maj);
	free(deps);
	free(emitted);
	ctx_free(&c);
	return st;
}
