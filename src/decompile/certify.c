/*
 * certify.c — a proven bound on max |A - B| over a box for two ReLU DAGs
 * (certify.h), by branch and bound with symbolic affine bounds.
 *
 * First, units that are (nearly) positive multiples of an earlier unit of
 * the same DAG are merged into it, within a twentieth of the target per
 * DAG, and what that can change is added to every bound (merge_duplicates).
 *
 * A sub-problem is a sub-box of the inputs cut by half-spaces (from units
 * split on, each known to be >= 0 or <= 0 there), with every unit whose
 * sign is known (proven on it or an ancestor, or split on) marked.
 * Bounding one (bound_node):
 *
 *   every unit of A, then of B, gets a lower and an upper affine function
 *   of the inputs (forms) that hold on the sub-problem: its pre-activation's
 *   forms combine its sources' (a positive weight takes the source's lower
 *   form into the lower form, a negative one its upper form). A unit whose
 *   pre-activation is >= 0 on the sub-problem is its pre-activation, one
 *   <= 0 is 0, and one of either sign, in [l, u], is bounded by the
 *   triangle relaxation: relu(z) <= u (z - l) / (u - l), relu(z) >= z when
 *   u > -l, else >= 0. The signs come from the forms' extremes over the
 *   sub-box, tightened by the cuts through a Lagrangian dual whose
 *   multipliers a small simplex finds (dual_max; any multipliers are
 *   sound). A unit of either sign by a hair (min(u, -l) times its reach
 *   below a thousandth of the target) keeps one form, the hair an allowance.
 *   then A_o - B_o lies between (lower A_o) - (upper B_o) and (upper A_o) -
 *   (lower B_o), affine functions whose extremes bound |A_o - B_o| there.
 *
 * Where every unit's sign is known, both DAGs are affine there, and so is
 * the difference: its bound is its true maximum. So the worst sub-problem
 * is split on a unit of unknown sign, the one with the largest relaxation
 * gap times reach, preferring units whose pre-activation is (nearly) one
 * affine function, whose cuts are then (nearly) exact: a rewrite that used
 * the same hyperplane in both DAGs, like max(a, b) = a + relu(b - a) = b +
 * relu(a - b), closes at once. With every sign known it is split along the
 * input that moves the difference most. The largest difference met at
 * sub-box corners and centres is kept as a witness (a lower bound): once
 * the bound is within 1e-6 of it, the maximum is found; once it exceeds the
 * target, the target cannot be proven.
 *
 * Floating point: forms and bounds are computed in doubles and every step
 * carries an allowance for its rounding (Higham's gamma_K times the
 * magnitudes summed), added to every bound, so the results hold for the
 * DAGs in exact arithmetic.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "certify.h"

#define DEFAULT_BOXES 2000
#define DEFAULT_WORK 1e8

enum { FREE = 0, ACTIVE = 1, INACTIVE = 2 };        /* a unit's sign on a sub-problem */
enum { K_ZERO = 0, K_EXACT = 1, K_RELAXED = 2 };    /* a unit's forms: 0, one affine function, two */

/* Higham's gamma_m for doubles, generously rounded up. */
static double gam(double m)
{
	return 1.01 * (m + 1) * 0x1p-53;
}

/* ---- forms: F[0] + sum_j F[1 + j] x_j --------------------------------------------------- */

static double form_max(const double *F, const double *lo, const double *hi, int64_t n)
{
	double s = F[0];
	for (int64_t j = 0; j < n; j++)
		s += F[1 + j] > 0 ? F[1 + j] * hi[j] : F[1 + j] * lo[j];
	return s;
}

static double form_min(const double *F, const double *lo, const double *hi, int64_t n)
{
	double s = F[0];
	for (int64_t j = 0; j < n; j++)
		s += F[1 + j] > 0 ? F[1 + j] * lo[j] : F[1 + j] * hi[j];
	return s;
}

/* The corner of the box where F is largest. */
static void form_argmax(const double *F, const double *lo, const double *hi, int64_t n, double *x)
{
	for (int64_t j = 0; j < n; j++)
		x[j] = F[1 + j] > 0 ? hi[j] : lo[j];
}

/* |F[0]| + sum |F[1 + j]| X_j: what F's value is made of, at most, on the root box. */
static double form_mag(const double *F, const double *X, int64_t n)
{
	double s = fabs(F[0]);
	for (int64_t j = 0; j < n; j++)
		s += fabs(F[1 + j]) * X[j];
	return s;
}

static void form_axpy(double *F, double w, const double *G, int64_t n)
{
	for (int64_t j = 0; j <= n; j++)
		F[j] += w * G[j];
}

/* ---- sub-problems ------------------------------------------------------------------------ */

/* One allocation: the struct, then doubles (out, lo, hi, split_cut, cuts),
 * then the unit signs. A cut is (e, g[0..n]): g(x) <= e on the sub-problem. */
typedef struct node {
	double bound;   /* max over outputs of out */
	double *out;    /* n_out: each output's bound */
	double *lo, *hi;
	double *split_cut; /* the two cuts splitting on the unit makes: z >= 0 (-upper z <= e), z <= 0 */
	int split_dag;     /* -1: split the box along split_dim */
	int64_t split_unit, split_dim;
	bool final;        /* nothing left to split */
	int n_cuts;
	double *cuts;      /* n_cuts * (n + 2) */
	uint8_t *sign;     /* units of A, then of B */
} node;

typedef struct dag_ws {
	const gb_pwl *p;
	double *L, *U;   /* n_units forms each (stride n + 1): lower and upper of every unit's value */
	double *eL, *eU; /* their rounding allowances */
	double *mL, *mU; /* their magnitudes (form_mag) */
	double *reach;   /* how much a unit's value can move the outputs: sum over paths of |weights| */
	uint8_t *kind;
} dag_ws;

typedef struct cert {
	int64_t n, n_out, stride, units; /* units: of A and B together */
	const double *root_lo, *root_hi;
	double *X;       /* max(|lo_j|, |hi_j|) on the root box */
	dag_ws d[2];                         /* the DAGs searched (duplicates merged) */
	const gb_pwl *orig[2];               /* the DAGs given */
	double *zl, *zu, *fa, *fb, *ga, *gb; /* forms being built */
	double *dual, *mu, *ray;             /* the dual's form, multipliers, and a ray proving emptiness */
	double *binv, *xb, *y, *dir, *cb;    /* the simplex: basis inverse (n x n), basic values, prices, column,
	                                      * basic costs */
	int64_t *basis;
	uint8_t *inbasis;
	bool empty;                          /* the dual proved the sub-problem empty */
	double *pts;                         /* witness candidates: 3 points of n */
	float *ptf;
	double *ya, *yb;                     /* the DAGs at them */
	double absorb; /* a unit of either sign whose range times reach is below this is absorbed */
	int64_t work;
	double witness;
	int64_t witness_output;
	float *witness_x;
} cert;

static size_t node_doubles(const cert *c, int n_cuts)
{
	return (size_t)(c->n_out + 2 * c->n + (int64_t)(n_cuts + 2) * (c->n + 2));
}

static node *node_new(const cert *c, int n_cuts)
{
	size_t nd = node_doubles(c, n_cuts);
	node *x = malloc(sizeof *x + nd * sizeof(double) + (size_t)c->units + 1);
	if (!x)
		return NULL;
	memset(x, 0, sizeof *x);
	double *d = (double *)(x + 1);
	x->out = d;
	x->lo = d + c->n_out;
	x->hi = x->lo + c->n;
	x->split_cut = x->hi + c->n;
	x->cuts = x->split_cut + 2 * (c->n + 2);
	x->n_cuts = n_cuts;
	x->sign = (uint8_t *)(d + nd);
	x->split_dag = -1;
	return x;
}

/* A child of parent: its box, cuts and signs, with room for extra cuts. */
static node *node_child(const cert *c, const node *parent, int extra)
{
	node *x = node_new(c, parent->n_cuts + extra);
	if (!x)
		return NULL;
	memcpy(x->out, parent->out, (size_t)c->n_out * sizeof(double));
	memcpy(x->lo, parent->lo, (size_t)c->n * sizeof(double));
	memcpy(x->hi, parent->hi, (size_t)c->n * sizeof(double));
	memcpy(x->cuts, parent->cuts, (size_t)(parent->n_cuts * (c->n + 2)) * sizeof(double));
	memcpy(x->sign, parent->sign, (size_t)c->units);
	return x;
}

/* ---- the dual: max of a form over the cut sub-box ----------------------------------------- */

/*
 * For cuts g_i(x) <= e_i and any mu >= 0, on the sub-problem
 *   F(x) <= F(x) - sum_i mu_i (g_i(x) - e_i) <= max over the box of that,
 * which is D_0 + sum_j max(D_j lo_j, D_j hi_j) + sum_i mu_i e_i with
 * D = F - sum_i mu_i g_i. The best mu solves the dual of the linear program
 * max F over the sub-problem; in standard form, with D_j = p_j - q_j:
 *   min  sum_i (e_i - g_i0) mu_i + sum_j (hi_j p_j - lo_j q_j)
 *   s.t. sum_i g_ij mu_i + p_j - q_j = F_j  (j = 1..n),  mu, p, q >= 0,
 * n rows with an evident first basis (p_j = F_j, or q_j = -F_j). A revised
 * simplex with Bland's rule solves it; rounding can leave its mu short of
 * the best, never the bound unsound: the bound is evaluated afresh from mu.
 * An unbounded program means an empty sub-problem, and its ray r >= 0
 * proves it where min over the box of sum_i r_i (g_i(x) - e_i) > 0.
 */

static const double *cut_at(const cert *c, const node *nd, int64_t i)
{
	return nd->cuts + i * (c->n + 2);
}

static double lp_cost(const cert *c, const node *nd, int64_t v)
{
	int64_t k = nd->n_cuts, n = c->n;
	if (v < k)
		return cut_at(c, nd, v)[0] - cut_at(c, nd, v)[1];
	if (v < k + n)
		return nd->hi[v - k];
	return -nd->lo[v - k - n];
}

/* mu for max of sign * F over the sub-problem (c->mu); false when the
 * program is unbounded, with its ray in c->ray. Columns: mu_i's is cut i's
 * coefficients, p_j's the unit vector e_j, q_j's -e_j. */
static bool lp_solve(cert *c, const node *nd, const double *F, double sign)
{
	int64_t n = c->n, k = nd->n_cuts, nv = k + 2 * n;
	double *B = c->binv, *xb = c->xb, *y = c->y, *dir = c->dir, *cb = c->cb;
	int64_t *basis = c->basis;
	memset(B, 0, (size_t)(n * n) * sizeof *B);
	memset(c->inbasis, 0, (size_t)nv);
	for (int64_t j = 0; j < n; j++) {
		double rhs = sign * F[1 + j];
		basis[j] = rhs >= 0 ? k + j : k + n + j;
		B[j * n + j] = rhs >= 0 ? 1 : -1;
		xb[j] = fabs(rhs);
		cb[j] = lp_cost(c, nd, basis[j]);
		c->inbasis[basis[j]] = 1;
	}
	int64_t iters = 0, enter = -1;
	bool bounded = true;
	for (; iters < 2 * nv + 20; iters++) {
		for (int64_t r = 0; r < n; r++)
			y[r] = 0;
		for (int64_t j = 0; j < n; j++)
			if (cb[j] != 0)
				for (int64_t r = 0; r < n; r++)
					y[r] += cb[j] * B[j * n + r];
		/* entering: the first with a negative reduced cost (Bland's rule) */
		enter = -1;
		for (int64_t v = 0; v < nv && enter < 0; v++) {
			if (c->inbasis[v])
				continue;
			double cost = lp_cost(c, nd, v), yc, size;
			if (v < k) {
				const double *g = cut_at(c, nd, v) + 2;
				yc = 0;
				size = fabs(cost);
				for (int64_t r = 0; r < n; r++) {
					yc += y[r] * g[r];
					size += fabs(y[r] * g[r]);
				}
			} else {
				yc = v < k + n ? y[v - k] : -y[v - k - n];
				size = fabs(cost) + fabs(yc);
			}
			if (cost - yc < -1e-12 * size)
				enter = v;
		}
		if (enter < 0)
			break;
		/* its column in the basis: B^-1 times the column */
		double big = 0;
		if (enter < k) {
			const double *g = cut_at(c, nd, enter) + 2;
			for (int64_t r = 0; r < n; r++) {
				dir[r] = 0;
				for (int64_t j = 0; j < n; j++)
					dir[r] += B[r * n + j] * g[j];
			}
		} else {
			int64_t j = enter < k + n ? enter - k : enter - k - n;
			double s = enter < k + n ? 1 : -1;
			for (int64_t r = 0; r < n; r++)
				dir[r] = s * B[r * n + j];
		}
		for (int64_t r = 0; r < n; r++)
			big = fmax(big, fabs(dir[r]));
		int64_t leave = -1;
		double best = INFINITY;
		for (int64_t r = 0; r < n; r++) {
			if (dir[r] <= 1e-12 * big)
				continue;
			double t = fmax(xb[r], 0) / dir[r];
			if (t < best || (t == best && basis[r] < basis[leave])) {
				best = t;
				leave = r;
			}
		}
		if (leave < 0) {
			bounded = false;
			break;
		}
		double piv = dir[leave];
		for (int64_t j = 0; j < n; j++)
			B[leave * n + j] /= piv;
		xb[leave] = fmax(xb[leave], 0) / piv;
		for (int64_t r = 0; r < n; r++) {
			if (r == leave || dir[r] == 0)
				continue;
			for (int64_t j = 0; j < n; j++)
				B[r * n + j] -= dir[r] * B[leave * n + j];
			xb[r] -= dir[r] * xb[leave];
		}
		c->inbasis[basis[leave]] = 0;
		c->inbasis[enter] = 1;
		basis[leave] = enter;
		cb[leave] = lp_cost(c, nd, enter);
	}
	c->work += (iters + 1) * (k * n + 3 * n * n + 2 * n);
	for (int64_t i = 0; i < k; i++)
		c->mu[i] = 0;
	for (int64_t r = 0; r < n; r++)
		if (basis[r] < k)
			c->mu[basis[r]] = fmax(xb[r], 0);
	if (!bounded) { /* the entering variable grows without end, the basic ones move by -dir */
		for (int64_t i = 0; i < k; i++)
			c->ray[i] = i == enter ? 1 : 0;
		for (int64_t r = 0; r < n; r++)
			if (basis[r] < k)
				c->ray[basis[r]] = fmax(-dir[r], 0);
	}
	return bounded;
}

/* Whether sum_i r_i (g_i(x) - e_i) > 0 all over the box (r = c->ray): the
 * cuts leave nothing of it. */
static bool ray_proves_empty(cert *c, const node *nd)
{
	int64_t n = c->n, s = c->stride;
	double *R = c->dual, m = 0;
	memset(R, 0, (size_t)s * sizeof *R);
	for (int64_t i = 0; i < nd->n_cuts; i++) {
		if (c->ray[i] == 0)
			continue;
		const double *cut = cut_at(c, nd, i);
		form_axpy(R, c->ray[i], cut + 1, n);
		R[0] -= c->ray[i] * cut[0];
		m += c->ray[i] * (form_mag(cut + 1, c->X, n) + fabs(cut[0]));
	}
	return form_min(R, nd->lo, nd->hi, n) - 2 * gam((double)(n + nd->n_cuts + 4)) * m > 0;
}

/* An upper bound of sign * F over the sub-box cut by nd's half-spaces (mag:
 * F's magnitude), including the dual's own rounding (F's allowance is the
 * caller's); -INFINITY with c->empty set when the cuts leave nothing. */
static double dual_max(cert *c, const node *nd, const double *F, double sign, double mag)
{
	int64_t n = c->n;
	if (!lp_solve(c, nd, F, sign) && ray_proves_empty(c, nd)) {
		c->empty = true;
		return -INFINITY;
	}
	double *D = c->dual, m = mag, v = 0;
	for (int64_t j = 0; j <= n; j++)
		D[j] = sign * F[j];
	for (int64_t i = 0; i < nd->n_cuts; i++) {
		if (c->mu[i] == 0)
			continue;
		const double *cut = cut_at(c, nd, i);
		form_axpy(D, -c->mu[i], cut + 1, n);
		v += c->mu[i] * cut[0];
		m += c->mu[i] * (form_mag(cut + 1, c->X, n) + fabs(cut[0]));
	}
	return form_max(D, nd->lo, nd->hi, n) + v + 2 * gam((double)(n + nd->n_cuts + 4)) * m;
}

/* ---- bounding a sub-problem ------------------------------------------------------------- */

/* The lower (lo) and upper (up) forms of row r from its sources' forms in
 * w, their allowances and a bound on their magnitudes; true when they are
 * one form (every source exact), which is then in both (the allowances may
 * still differ). */
static bool row_forms(cert *c, const dag_ws *w, const gb_row *r, double *lo, double *up, double *elo, double *eup,
                      double *mag)
{
	int64_t n = c->n, s = c->stride;
	bool exact = true;
	for (int k = 0; k < r->n && exact; k++)
		exact = r->idx[k] < n || w->kind[r->idx[k] - n] != K_RELAXED;
	memset(lo, 0, (size_t)s * sizeof *lo);
	memset(up, 0, (size_t)s * sizeof *up);
	lo[0] = up[0] = r->b;
	double el = 0, eu = 0, m = fabs(r->b);
	int64_t terms = 0;
	for (int k = 0; k < r->n; k++) {
		int64_t j = r->idx[k];
		double wk = r->w[k];
		if (j < n) {
			lo[1 + j] += wk;
			up[1 + j] += wk;
			m += fabs(wk) * c->X[j];
			continue;
		}
		int64_t v = j - n;
		if (w->kind[v] == K_ZERO)
			continue;
		const double *lf = w->L + v * s, *uf = w->kind[v] == K_EXACT ? lf : w->U + v * s;
		double elv = w->eL[v], euv = w->eU[v];
		terms++;
		if (wk > 0) {
			el += wk * elv;
			eu += wk * euv;
		} else {
			el -= wk * euv;
			eu -= wk * elv;
		}
		if (exact) {
			form_axpy(lo, wk, lf, n);
		} else {
			form_axpy(lo, wk, wk > 0 ? lf : uf, n);
			form_axpy(up, wk, wk > 0 ? uf : lf, n);
		}
		m += fabs(wk) * fmax(w->mL[v], w->mU[v]);
	}
	if (exact)
		memcpy(up, lo, (size_t)s * sizeof *lo);
	double g = gam((double)(r->n + 1)) * m; /* each coefficient is a sum of at most r->n + 1 terms */
	*elo = el + g;
	*eup = eu + g;
	*mag = m;
	c->work += (terms + 1) * s * (exact ? 1 : 2);
	return exact;
}

/* Lower and upper bounds of the forms lo, up on the sub-problem: the box's
 * extremes, tightened by the dual where there are cuts. */
static double lower_bound(cert *c, const node *nd, const double *F, double mag, double allowance)
{
	double v = form_min(F, nd->lo, nd->hi, c->n) - gam((double)(c->n + 2)) * mag;
	if (nd->n_cuts > 0)
		v = fmax(v, -dual_max(c, nd, F, -1, mag));
	return v - allowance;
}

static double upper_bound(cert *c, const node *nd, const double *F, double mag, double allowance)
{
	double v = form_max(F, nd->lo, nd->hi, c->n) + gam((double)(c->n + 2)) * mag;
	if (nd->n_cuts > 0)
		v = fmin(v, dual_max(c, nd, F, 1, mag));
	return v + allowance;
}

/* The midpoint of [lo, hi], a float32 value when one lies strictly inside;
 * false when the interval is too narrow to split. */
static bool box_mid(double lo, double hi, double *mid)
{
	double m = 0.5 * (lo + hi);
	float f = (float)m;
	if ((double)f > lo && (double)f < hi)
		m = f;
	*mid = m;
	return m > lo && m < hi;
}

/* v as a float32 value in [lo, hi] (v is in it). */
static float inward(double v, double lo, double hi)
{
	float f = (float)v;
	if ((double)f < lo)
		f = nextafterf(f, INFINITY);
	if ((double)f > hi)
		f = nextafterf(f, -INFINITY);
	return f;
}

/* |A - B| at three points of the sub-box (the corners where the worst
 * output's difference forms are extreme, and the centre): the witness. */
static gb_status try_points(cert *c, const node *nd, gb_error *err)
{
	int64_t n = c->n, n_out = c->n_out;
	for (int64_t j = 0; j < n; j++)
		c->pts[2 * n + j] = 0.5 * (nd->lo[j] + nd->hi[j]);
	for (int64_t i = 0; i < 3 * n; i++)
		c->ptf[i] = inward(c->pts[i], c->root_lo[i % n], c->root_hi[i % n]);
	gb_status st = gb_pwl_eval(c->orig[0], 3, c->ptf, c->ya, NULL, false, err);
	if (st == GB_OK)
		st = gb_pwl_eval(c->orig[1], 3, c->ptf, c->yb, NULL, false, err);
	if (st != GB_OK)
		return st;
	for (int i = 0; i < 3; i++)
		for (int64_t o = 0; o < n_out; o++) {
			double diff = fabs(c->ya[i * n_out + o] - c->yb[i * n_out + o]);
			if (diff > c->witness) {
				c->witness = diff;
				c->witness_output = o;
				memcpy(c->witness_x, c->ptf + i * n, (size_t)n * sizeof *c->witness_x);
			}
		}
	c->work += 3 * (c->d[0].p->n_units + c->d[1].p->n_units) * 8;
	return GB_OK;
}

/* Bounds nd: its units' signs where they are proven, out (never above what
 * it held), bound, and what to split it on. *empty: a cut misses its box. */
static gb_status bound_node(cert *c, node *nd, bool *empty, gb_error *err)
{
	int64_t n = c->n, s = c->stride;
	*empty = false;
	c->empty = false;
	for (int i = 0; i < nd->n_cuts; i++) {
		const double *cut = nd->cuts + i * (n + 2);
		double m = form_mag(cut + 1, c->X, n);
		if (form_min(cut + 1, nd->lo, nd->hi, n) - gam((double)(n + 2)) * m > cut[0]) {
			*empty = true;
			return GB_OK;
		}
	}
	nd->split_dag = -1;
	nd->final = false;
	double best = -1;
	for (int d = 0; d < 2; d++) {
		dag_ws *w = &c->d[d];
		int64_t base = d ? c->d[0].p->n_units : 0;
		for (int64_t u = 0; u < w->p->n_units; u++) {
			double el, eu, m;
			bool exact = row_forms(c, w, &w->p->units[u], c->zl, c->zu, &el, &eu, &m);
			uint8_t *sg = &nd->sign[base + u];
			double l = 0, h = 0;
			if (*sg == FREE) {
				l = form_min(c->zl, nd->lo, nd->hi, n) - gam((double)(n + 2)) * m - el;
				h = form_max(c->zu, nd->lo, nd->hi, n) + gam((double)(n + 2)) * m + eu;
				if (l < 0 && h > 0 && nd->n_cuts > 0) {
					l = lower_bound(c, nd, c->zl, m, el);
					if (l < 0)
						h = upper_bound(c, nd, c->zu, m, eu);
				}
				if (c->empty) {
					*empty = true;
					return GB_OK;
				}
				if (l >= 0)
					*sg = ACTIVE;
				else if (h <= 0)
					*sg = INACTIVE;
			}
			double *L = w->L + u * s, *U = w->U + u * s;
			if (*sg == INACTIVE) {
				w->kind[u] = K_ZERO;
				continue;
			}
			if (*sg == ACTIVE) {
				memcpy(L, c->zl, (size_t)s * sizeof *L);
				memcpy(U, c->zu, (size_t)s * sizeof *U);
				w->kind[u] = exact ? K_EXACT : K_RELAXED;
				w->eL[u] = el;
				w->eU[u] = eu;
				w->mL[u] = w->mU[u] = m;
				continue;
			}
			if (exact && (fmin(h, -l) <= 1e-12 * (1 + m) || fmin(h, -l) * w->reach[u] <= c->absorb)) {
				/* of either sign by a hair (a hyperplane a cut has, up to rounding,
				 * or one that moves the outputs by less than a thousandth of the
				 * target): still one form, the hair an allowance; relu(z) is in
				 * [0, h], or, as z + relu(-z), in [z, z - l] */
				bool zero = h <= -l;
				if (zero)
					memset(L, 0, (size_t)s * sizeof *L);
				else
					memcpy(L, c->zl, (size_t)s * sizeof *L);
				w->kind[u] = K_EXACT;
				w->eL[u] = zero ? 0 : el;
				w->eU[u] = zero ? h : eu - l;
				w->mL[u] = w->mU[u] = zero ? 0 : m;
				continue;
			}
			/* either sign: the triangle relaxation; relu(z) <= lam (z - l) on [l, h],
			 * and a rounded lam misses it by at most gamma_2 h */
			double lam = h / (h - l);
			for (int64_t j = 1; j <= n; j++)
				U[j] = lam * c->zu[j];
			U[0] = lam * (c->zu[0] - l);
			w->eU[u] = lam * eu + gam(4) * (h + lam * (m + fabs(l)));
			w->mU[u] = lam * (m + fabs(l));
			if (h > -l) {
				memcpy(L, c->zl, (size_t)s * sizeof *L);
				w->eL[u] = el;
				w->mL[u] = m;
			} else {
				memset(L, 0, (size_t)s * sizeof *L);
				w->eL[u] = w->mL[u] = 0;
			}
			w->kind[u] = K_RELAXED;
			/* split on the largest gap (times reach), preferring units whose
			 * pre-activation is one affine function, or nearly (within a hundredth
			 * of its gap): their cuts are (nearly) exact */
			double gap = h * -l / (h - l), spread = 0;
			if (!exact) {
				for (int64_t j = 0; j <= n; j++)
					c->fa[j] = c->zu[j] - c->zl[j];
				spread = form_max(c->fa, nd->lo, nd->hi, n) + el + eu;
			}
			double score = gap * w->reach[u] + (spread <= 0.01 * gap ? 1e300 : 0) * (gap > 0);
			if (score > best) {
				best = score;
				nd->split_dag = d;
				nd->split_unit = u;
				double *on = nd->split_cut, *off = on + n + 2;
				on[0] = eu;
				off[0] = el;
				for (int64_t j = 0; j <= n; j++) {
					on[1 + j] = -c->zu[j];
					off[1 + j] = c->zl[j];
				}
			}
		}
	}
	/* the outputs' differences: (upper A - lower B) into zl, (lower A - upper B) into zu */
	double worst = -1;
	memcpy(c->pts, nd->lo, (size_t)n * sizeof *c->pts);
	memcpy(c->pts + n, nd->hi, (size_t)n * sizeof *c->pts);
	int64_t n_out = c->n_out;
	for (int64_t o = 0; o < n_out; o++) {
		double ela, eua, ma, elb, eub, mb;
		row_forms(c, &c->d[0], &c->d[0].p->outs[o], c->fa, c->ga, &ela, &eua, &ma);
		row_forms(c, &c->d[1], &c->d[1].p->outs[o], c->fb, c->gb, &elb, &eub, &mb);
		for (int64_t j = 0; j <= n; j++) {
			c->zl[j] = c->ga[j] - c->fb[j];
			c->zu[j] = c->fa[j] - c->gb[j];
		}
		double m = ma + mb;
		double ub = upper_bound(c, nd, c->zl, m, eua + elb + gam(2) * m);
		double lb = lower_bound(c, nd, c->zu, m, ela + eub + gam(2) * m);
		nd->out[o] = fmin(nd->out[o], fmax(0, fmax(ub, -lb)));
		if (nd->out[o] > worst) {
			worst = nd->out[o];
			form_argmax(c->zl, nd->lo, nd->hi, n, c->pts);
			for (int64_t j = 0; j <= n; j++)
				c->fa[j] = -c->zu[j];
			form_argmax(c->fa, nd->lo, nd->hi, n, c->pts + n);
			/* the input that moves the difference most, for a box split */
			double top = -1, mid;
			nd->split_dim = -1;
			for (int64_t j = 0; j < n; j++) {
				double infl = (fabs(c->zl[1 + j]) + fabs(c->zu[1 + j])) * (nd->hi[j] - nd->lo[j]);
				if (infl > top && box_mid(nd->lo[j], nd->hi[j], &mid)) {
					top = infl;
					nd->split_dim = j;
				}
			}
		}
	}
	if (c->empty) {
		*empty = true;
		return GB_OK;
	}
	nd->bound = fmax(worst, 0);
	nd->final = nd->split_dag < 0 && nd->split_dim < 0;
	return try_points(c, nd, err);
}

/* ---- merging duplicate units ------------------------------------------------------------- */

/*
 * A unit u whose pre-activation is (nearly) a positive multiple a of an
 * earlier unit v's (same sources, z_u ~ a z_v; a network's split units and
 * cancelling pairs are such) is merged into v: its readers read a h_v
 * instead. That changes a reader r's pre-activation by at most
 * |w_ru| delta + rounding, delta = max over the box of |z_u - a z_v| <=
 * |b_u - a b_v| + sum_k |w_uk - a w_vk| M_k (M_k: the interval bound of
 * |source k|), and the outputs by at most reach_r times that (relu is
 * 1-Lipschitz). Merges are made while their sum stays within budget; the sum
 * is added to every bound. Identical rows with opposite output weights
 * merge at no cost and vanish.
 */

/* reach[u]: sum over paths from unit u to the outputs of |weight| products. */
static void dag_reach(const gb_pwl *p, double *reach)
{
	for (int64_t u = 0; u < p->n_units; u++)
		reach[u] = 0;
	for (int64_t o = 0; o < p->n_out; o++)
		for (int k = 0; k < p->outs[o].n; k++)
			if (p->outs[o].idx[k] >= p->n_in)
				reach[p->outs[o].idx[k] - p->n_in] += fabs(p->outs[o].w[k]);
	for (int64_t v = p->n_units - 1; v >= 0; v--)
		for (int k = 0; k < p->units[v].n; k++)
			if (p->units[v].idx[k] >= p->n_in)
				reach[p->units[v].idx[k] - p->n_in] += fabs(p->units[v].w[k]) * reach[v];
}

/* a with row u ~ a row v (a > 0, same sources), and the bound delta; false when none. */
static bool proportional(const gb_row *ru, const gb_row *rv, const double *M, double *a, double *delta)
{
	if (ru->n != rv->n || ru->n == 0 || memcmp(ru->idx, rv->idx, (size_t)ru->n * sizeof *ru->idx) != 0)
		return false;
	int big = 0;
	for (int k = 1; k < ru->n; k++)
		if (fabs(rv->w[k]) > fabs(rv->w[big]))
			big = k;
	*a = ru->w[big] / rv->w[big];
	if (!(*a > 0) || !isfinite(*a))
		return false;
	double d = fabs(ru->b - *a * rv->b), size = fabs(ru->b) + *a * fabs(rv->b);
	for (int k = 0; k < ru->n; k++) {
		d += fabs(ru->w[k] - *a * rv->w[k]) * M[ru->idx[k]];
		size += (fabs(ru->w[k]) + *a * fabs(rv->w[k])) * M[ru->idx[k]];
	}
	*delta = d + gam((double)(2 * ru->n + 4)) * size;
	return true;
}

/* Moves row r's term on source ju onto source jv, times a. */
static void move_term(gb_row *r, int ju, int jv, double a, bool *ok)
{
	double wu = gb_row_take(r, ju);
	if (wu == 0)
		return;
	*ok = *ok && gb_row_push(r, jv, a * wu);
	gb_row_compact(r);
}

/* *out: p with duplicate units merged within budget; *allowance: what that
 * can change any output by. */
static gb_status merge_duplicates(const gb_pwl *p, const double *lo, const double *hi, double budget, gb_pwl **out,
                                  double *allowance, gb_error *err)
{
	*allowance = 0;
	gb_status st = gb_pwl_clone(p, out, err);
	if (st != GB_OK)
		return st;
	gb_pwl *q = *out;
	int64_t width = q->n_in + q->n_units;
	double *M = malloc((size_t)(width ? width : 1) * sizeof *M);
	double *zlo = malloc((size_t)(q->n_units ? q->n_units : 1) * sizeof *zlo);
	double *zhi = malloc((size_t)(q->n_units ? q->n_units : 1) * sizeof *zhi);
	double *reach = malloc((size_t)(q->n_units ? q->n_units : 1) * sizeof *reach);
	bool ok = M && zlo && zhi && reach;
	if (ok) {
		/* interval bounds, widened for their own rounding */
		gb_pwl_bounds(q, lo, hi, zlo, zhi, NULL, NULL);
		for (int64_t j = 0; j < q->n_in; j++)
			M[j] = fmax(fabs(lo[j]), fabs(hi[j]));
		for (int64_t u = 0; u < q->n_units; u++)
			M[q->n_in + u] = fmax(zhi[u] + 1e-12 * (fabs(zlo[u]) + fabs(zhi[u])), 0) * (1 + 1e-9);
	}
	for (int64_t u = q->n_units - 1; ok && u > 0; u--) {
		gb_row *ru = &q->units[u];
		int64_t best = -1;
		double best_a = 0, best_d = INFINITY;
		for (int64_t v = 0; v < u; v++) {
			double a, d;
			if (proportional(ru, &q->units[v], M, &a, &d) && d < best_d) {
				best = v;
				best_a = a;
				best_d = d;
			}
		}
		if (best < 0)
			continue;
		dag_reach(q, reach);
		int ju = (int)(q->n_in + u), jv = (int)(q->n_in + best);
		/* what moving the readers' terms can change the outputs by; the new
		 * coefficient w_v + a w_u rounds by at most gamma_3 (|w_v| + |a w_u|) */
		double cost = 0;
		for (int64_t r = u + 1; r < q->n_units; r++) {
			double wu = gb_row_coef(&q->units[r], ju), wv = gb_row_coef(&q->units[r], jv);
			cost += reach[r] * (fabs(wu) * best_d + gam(3) * (fabs(wv) + fabs(best_a * wu)) * M[jv]);
		}
		for (int64_t o = 0; o < q->n_out; o++) {
			double wu = gb_row_coef(&q->outs[o], ju), wv = gb_row_coef(&q->outs[o], jv);
			cost += fabs(wu) * best_d + gam(3) * (fabs(wv) + fabs(best_a * wu)) * M[jv];
		}
		if (*allowance + cost > budget)
			continue;
		for (int64_t r = u + 1; r < q->n_units; r++)
			move_term(&q->units[r], ju, jv, best_a, &ok);
		for (int64_t o = 0; o < q->n_out; o++)
			move_term(&q->outs[o], ju, jv, best_a, &ok);
		*allowance += cost;
		/* u has no readers left: its row goes too (a unit of no sources is 0 and stays so) */
		ru->n = 0;
		ru->b = 0;
		M[ju] = 0;
	}
	free(M);
	free(zlo);
	free(zhi);
	free(reach);
	if (!ok) {
		gb_pwl_free(q);
		*out = NULL;
		return gb_fail(err, GB_STATUS_NOMEM, "certify: out of memory");
	}
	return GB_OK;
}

/* ---- the queue: a max-heap on bound ------------------------------------------------------- */

static void heap_push(node **heap, int64_t *count, node *x)
{
	int64_t i = (*count)++;
	while (i > 0 && heap[(i - 1) / 2]->bound < x->bound) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = x;
}

static node *heap_pop(node **heap, int64_t *count)
{
	node *top = heap[0], *last = heap[--*count];
	int64_t i = 0;
	for (;;) {
		int64_t k = 2 * i + 1;
		if (k >= *count)
			break;
		if (k + 1 < *count && heap[k + 1]->bound > heap[k]->bound)
			k++;
		if (heap[k]->bound <= last->bound)
			break;
		heap[i] = heap[k];
		i = k;
	}
	if (*count > 0)
		heap[i] = last;
	return top;
}

/* ---- branch and bound --------------------------------------------------------------------- */

static bool ws_alloc(dag_ws *w, const gb_pwl *p, int64_t stride)
{
	size_t units = (size_t)(p->n_units ? p->n_units : 1);
	w->p = p;
	w->L = malloc(units * (size_t)stride * sizeof *w->L);
	w->U = malloc(units * (size_t)stride * sizeof *w->U);
	w->eL = malloc(units * 5 * sizeof *w->eL);
	w->kind = calloc(units, 1);
	if (!w->L || !w->U || !w->eL || !w->kind)
		return false;
	w->eU = w->eL + units;
	w->mL = w->eU + units;
	w->mU = w->mL + units;
	w->reach = w->mU + units;
	dag_reach(p, w->reach);
	return true;
}

static void ws_free(dag_ws *w)
{
	free(w->L);
	free(w->U);
	free(w->eL);
	free(w->kind);
}

/* The two children of nd (split on its unit, or its box); NULL where none. */
static gb_status branch(cert *c, const node *nd, node **kids, gb_error *err)
{
	int64_t n = c->n;
	kids[0] = kids[1] = NULL;
	for (int side = 0; side < 2; side++) {
		node *k = node_child(c, nd, nd->split_dag >= 0 ? 1 : 0);
		if (!k)
			return gb_fail(err, GB_STATUS_NOMEM, "certify: out of memory");
		kids[side] = k;
		if (nd->split_dag >= 0) {
			/* side 0: z >= 0 there, side 1: z <= 0 */
			memcpy(k->cuts + nd->n_cuts * (n + 2), nd->split_cut + side * (n + 2), (size_t)(n + 2) * sizeof(double));
			int64_t base = nd->split_dag ? c->d[0].p->n_units : 0;
			k->sign[base + nd->split_unit] = side == 0 ? ACTIVE : INACTIVE;
		} else {
			double mid;
			box_mid(nd->lo[nd->split_dim], nd->hi[nd->split_dim], &mid);
			if (side == 0)
				k->hi[nd->split_dim] = mid;
			else
				k->lo[nd->split_dim] = mid;
		}
	}
	return GB_OK;
}

gb_status gb_pwl_certify(const gb_pwl *a, const gb_pwl *b, const double *lo, const double *hi,
                         const gb_certify_options *o, gb_certify_result *res, double *per_output, float *witness_x,
                         gb_error *err)
{
	memset(res, 0, sizeof *res);
	if (a->n_in != b->n_in || a->n_out != b->n_out)
		return gb_fail(err, GB_STATUS_USAGE, "certify: the two DAGs read %lld and %lld inputs and give %lld and %lld outputs",
		               (long long)a->n_in, (long long)b->n_in, (long long)a->n_out, (long long)b->n_out);
	for (int64_t j = 0; j < a->n_in; j++)
		if (!(lo[j] <= hi[j]) || !isfinite(lo[j]) || !isfinite(hi[j]))
			return gb_fail(err, GB_STATUS_USAGE, "certify: input %lld's interval [%g, %g] is not a finite interval",
			               (long long)j, lo[j], hi[j]);
	double target = o->target;
	double aim = o->aim > 0 && o->aim <= target ? o->aim : target;
	int64_t max_boxes = o->max_boxes > 0 ? o->max_boxes : DEFAULT_BOXES;
	double max_work = o->max_work > 0 ? (double)o->max_work : DEFAULT_WORK;

	/* the search runs on the DAGs with duplicates merged (a tenth of the
	 * target for it), the witness on the DAGs given */
	cert c = {0};
	gb_pwl *ma = NULL, *mb = NULL;
	double alpha_a = 0, alpha_b = 0;
	node **heap = NULL;
	int64_t heap_count = 0;
	gb_status st = merge_duplicates(a, lo, hi, 0.05 * target, &ma, &alpha_a, err);
	if (st == GB_OK)
		st = merge_duplicates(b, lo, hi, 0.05 * target, &mb, &alpha_b, err);
	if (st != GB_OK)
		goto done;
	double alpha = (alpha_a + alpha_b) * (1 + 1e-9);
	double goal = target - alpha, near = aim - alpha > 0 ? aim - alpha : goal;
	c.n = a->n_in;
	c.n_out = a->n_out;
	c.stride = c.n + 1;
	c.units = a->n_units + b->n_units;
	c.orig[0] = a;
	c.orig[1] = b;
	c.root_lo = lo;
	c.root_hi = hi;
	c.witness_output = -1;
	c.absorb = 1e-3 * target;
	int64_t s = c.stride;
	size_t sn = (size_t)(c.n ? c.n : 1);
	heap = malloc((size_t)(max_boxes + 2) * sizeof *heap);
	c.X = malloc(sn * sizeof *c.X);
	c.zl = malloc((size_t)(6 * s) * sizeof *c.zl);
	c.dual = malloc((size_t)s * sizeof *c.dual);
	/* a sub-problem has fewer cuts than there are boxes */
	c.mu = malloc((size_t)(2 * (max_boxes + 1)) * sizeof *c.mu);
	c.binv = malloc((sn * sn + 4 * sn) * sizeof *c.binv);
	c.basis = malloc(sn * sizeof *c.basis);
	c.inbasis = malloc((size_t)(max_boxes + 1) + 2 * sn);
	c.pts = malloc(3 * sn * sizeof *c.pts);
	c.ptf = malloc(3 * sn * sizeof *c.ptf);
	c.witness_x = calloc(sn, sizeof *c.witness_x);
	c.ya = malloc((size_t)(3 * (c.n_out ? c.n_out : 1)) * sizeof *c.ya);
	c.yb = malloc((size_t)(3 * (c.n_out ? c.n_out : 1)) * sizeof *c.yb);
	if (!heap || !c.X || !c.zl || !c.dual || !c.mu || !c.binv || !c.basis || !c.inbasis || !c.pts || !c.ptf || !c.witness_x || !c.ya || !c.yb ||
	    !ws_alloc(&c.d[0], ma, s) || !ws_alloc(&c.d[1], mb, s)) {
		st = gb_fail(err, GB_STATUS_NOMEM, "certify: out of memory");
		goto done;
	}
	c.zu = c.zl + s;
	c.ray = c.mu + max_boxes + 1;
	c.xb = c.binv + sn * sn;
	c.y = c.xb + sn;
	c.dir = c.y + sn;
	c.cb = c.dir + sn;
	c.fa = c.zu + s;
	c.ga = c.fa + s;
	c.fb = c.ga + s;
	c.gb = c.fb + s;
	for (int64_t j = 0; j < c.n; j++) {
		c.X[j] = fmax(fabs(lo[j]), fabs(hi[j]));
		c.witness_x[j] = inward(lo[j], lo[j], hi[j]);
	}

	node *root = node_new(&c, 0);
	if (!root) {
		st = gb_fail(err, GB_STATUS_NOMEM, "certify: out of memory");
		goto done;
	}
	memcpy(root->lo, lo, (size_t)c.n * sizeof *lo);
	memcpy(root->hi, hi, (size_t)c.n * sizeof *hi);
	for (int64_t q = 0; q < c.n_out; q++)
		root->out[q] = INFINITY;
	memset(root->sign, FREE, (size_t)c.units);
	bool empty;
	if ((st = bound_node(&c, root, &empty, err)) != GB_OK) {
		free(root);
		goto done;
	}
	res->boxes = 1;
	heap_push(heap, &heap_count, root);
	while (heap_count > 0) {
		node *top = heap[0];
		if (c.witness > target || top->bound <= near || top->bound + alpha - c.witness <= 1e-6 * top->bound ||
		    top->final)
			break;
		if (res->boxes + 2 > max_boxes || (double)c.work > max_work)
			break;
		top = heap_pop(heap, &heap_count);
		node *kids[2];
		st = branch(&c, top, kids, err);
		if (top->split_dag >= 0)
			res->unit_splits++;
		else
			res->box_splits++;
		for (int side = 0; side < 2 && st == GB_OK; side++) {
			st = bound_node(&c, kids[side], &empty, err);
			res->boxes++;
			if (st == GB_OK && !empty) {
				heap_push(heap, &heap_count, kids[side]);
				kids[side] = NULL;
			}
		}
		free(kids[0]);
		free(kids[1]);
		free(top);
		if (st != GB_OK)
			goto done;
	}
	res->bound = (heap_count > 0 ? heap[0]->bound : 0) + alpha;
	for (int64_t q = 0; per_output && q < c.n_out; q++) {
		per_output[q] = 0;
		for (int64_t i = 0; i < heap_count; i++)
			per_output[q] = fmax(per_output[q], heap[i]->out[q]);
		per_output[q] += alpha;
	}
	res->certified = res->bound <= target;
	res->reason = res->certified ? NULL : c.witness > target ? "counterexample" : "budget";
	res->witness = c.witness;
	res->witness_output = c.witness_output;
	res->work = c.work;
	if (witness_x)
		memcpy(witness_x, c.witness_x, (size_t)c.n * sizeof *witness_x);
done:
	for (int64_t i = 0; heap && i < heap_count; i++)
		free(heap[i]);
	free(heap);
	free(c.X);
	free(c.zl);
	free(c.dual);
	free(c.mu);
	free(c.binv);
	free(c.basis);
	free(c.inbasis);
	free(c.pts);
	free(c.ptf);
	free(c.witness_x);
	free(c.ya);
	free(c.yb);
	ws_free(&c.d[0]);
	ws_free(&c.d[1]);
	gb_pwl_free(ma);
	gb_pwl_free(mb);
	return st;
}

/* ---- float32 rounding ------------------------------------------------------------------------ */

/* Higham's gamma_K for float32 (infinite when K u reaches 1/2). */
static double gam32(double k)
{
	double ku = k * 0x1p-24;
	return ku < 0.5 ? ku / (1 - ku) : INFINITY;
}

/* The rounding of row r: what its sources' errors carry through, plus the
 * row's own. M, e: the sources' largest magnitudes and errors. Of the K
 * nonzero terms (the bias one of them), the K - 1 additions round the sum
 * by at most gamma_{K-1} times the terms' magnitudes, and every product
 * by a weight other than a power of two by u times its own (Higham 3.1 and
 * 3.4, applied term by term; a fused multiply-add rounds less). */
static double row_rounding(const gb_row *r, const double *M, const double *e)
{
	double carried = 0, size = fabs(r->b), products = 0;
	int terms = r->b != 0;
	for (int k = 0; k < r->n; k++) {
		double w = fabs(r->w[k]), t = w * (M[r->idx[k]] + e[r->idx[k]]);
		int ex;
		carried += w * e[r->idx[k]];
		if (t == 0)
			continue;
		terms++;
		size += t;
		if (frexp(w, &ex) != 0.5)
			products += t;
	}
	return carried + gam32(terms > 1 ? terms - 1 : 0) * size + 1.01 * 0x1p-24 * products;
}

void gb_pwl_rounding_f32(const gb_pwl *p, const double *lo, const double *hi, double *per_output)
{
	int64_t width = p->n_in + p->n_units;
	double *M = malloc((size_t)(width ? width : 1) * sizeof *M);
	double *e = calloc((size_t)(width ? width : 1), sizeof *e);
	double *ulo = malloc((size_t)(p->n_units ? p->n_units : 1) * sizeof *ulo);
	double *uhi = malloc((size_t)(p->n_units ? p->n_units : 1) * sizeof *uhi);
	if (!M || !e || !ulo || !uhi) {
		for (int64_t o = 0; o < p->n_out; o++)
			per_output[o] = INFINITY;
		goto done;
	}
	gb_pwl_bounds(p, lo, hi, ulo, uhi, NULL, NULL);
	for (int64_t j = 0; j < p->n_in; j++)
		M[j] = fmax(fabs(lo[j]), fabs(hi[j]));
	for (int64_t u = 0; u < p->n_units; u++) {
		/* relu is 1-Lipschitz and relu(z) lies in [0, max(hi, 0)]; a unit
		 * whose computed pre-activation stays below 0 is exactly 0 */
		double ez = row_rounding(&p->units[u], M, e);
		bool dead = uhi[u] + ez < 0;
		M[p->n_in + u] = dead ? 0 : fmax(uhi[u], 0);
		e[p->n_in + u] = dead ? 0 : ez;
	}
	for (int64_t o = 0; o < p->n_out; o++)
		per_output[o] = row_rounding(&p->outs[o], M, e);
done:
	free(M);
	free(e);
	free(ulo);
	free(uhi);
}
