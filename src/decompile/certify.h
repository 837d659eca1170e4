/*
 * certify.h — a proven bound on how far two ReLU DAGs (pwl.h) are apart on
 * a box (library-internal; certify.c).
 *
 * gb_pwl_certify bounds max over the box of |A_o(x) - B_o(x)| for every
 * output o, in exact arithmetic on the DAGs' coefficients, by branch and
 * bound: every sub-problem (a sub-box, cut by the half-spaces of the units
 * split on) gets symbolic affine bounds on every unit and on the output
 * differences, and the worst sub-problem is split until the bound is low
 * enough, a point shows it cannot be, or the budget is spent. The budget
 * counts sub-problems and multiply-adds, never time: the same DAGs give the
 * same answer on every machine. gb_pwl_rounding_f32 bounds what float32
 * evaluation adds on top. docs/decompiler.md ("Certified bounds") has the
 * mathematics.
 */
#ifndef GB_DECOMPILE_CERTIFY_H
#define GB_DECOMPILE_CERTIFY_H

#include "pwl.h"

typedef struct gb_certify_options {
	double target;     /* to prove: max |A - B| <= target on the box */
	double aim;        /* refine until the bound is <= aim (<= target; otherwise target) */
	int64_t max_boxes; /* sub-problems bounded at most (<= 0: 2000) */
	int64_t max_work;  /* multiply-adds, about, at most (<= 0: 1e8) */
} gb_certify_options;

typedef struct gb_certify_result {
	bool certified;     /* bound <= target */
	const char *reason; /* NULL when certified; "budget" (spent before the bound reached the target) or
	                     * "counterexample" (a point where |A - B| > target: witness) */
	double bound;       /* an upper bound of max_o max_box |A_o - B_o|, sound whether certified or not */
	double witness;     /* the largest |A_o(x) - B_o(x)| met at a point x (witness_x): a lower bound */
	int64_t witness_output;
	int64_t boxes;      /* sub-problems bounded */
	int64_t unit_splits, box_splits;
	int64_t work;       /* multiply-adds spent, about */
} gb_certify_result;

/* Bounds |A - B| on the box [lo, hi] (n_in values each; lo <= hi). A and
 * B read the same n_in inputs and give the same n_out outputs (a usage
 * error otherwise). per_output (n_out, may be NULL) receives each output's
 * bound; witness_x (n_in floats, may be NULL) the point of res->witness, a
 * float32 point of the box. Errors: GB_STATUS_USAGE, GB_STATUS_NOMEM. */
gb_status gb_pwl_certify(const gb_pwl *a, const gb_pwl *b, const double *lo, const double *hi,
                         const gb_certify_options *o, gb_certify_result *res, double *per_output, float *witness_x,
                         gb_error *err);

/* An upper bound, per output (n_out values), of |p evaluated in float32 -
 * p in exact arithmetic| for float32 inputs in the box: every row taken as
 * a float32 dot product (in any order of summation, fused or not) of float32
 * coefficients with the sources rounded before it, as a chain of dense
 * layers computes it. Higham's bound: a sum of K products rounds by at most
 * gamma_K = K u / (1 - K u) (u = 2^-24) times the sum of their magnitudes,
 * and the errors of the sources carry through the row's |weights|. */
void gb_pwl_rounding_f32(const gb_pwl *p, const double *lo, const double *hi, double *per_output);

#endif /* GB_DECOMPILE_CERTIFY_H */
