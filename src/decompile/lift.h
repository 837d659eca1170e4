/*
 * lift.h — from the canonical ReLU DAG to expressions over high-level
 * primitives (library-internal).
 *
 * Every output row of a DAG is rewritten, exactly, with three identities:
 *
 *   peel    L + c * relu(z) = max(L, L + c z)   (c > 0)
 *                           = min(L, L + c z)   (c < 0)
 *   clamp   c * (relu(z + b1) - relu(z + b2)) = c * (clamp(z, -b1, -b2) + b1)
 *           for b1 > b2 (two units on the same direction, opposite weights);
 *           a step (clamp of the ramp onto [0, 1]) when c (b1 - b2) = 1
 *   abs     max(A - d, A + d) = A + |d|, min(A - d, A + d) = A - |d|
 *
 * and then tidied: nested max/min flatten, repeated arguments go, max(z, 0)
 * is relu(z), min(max(z, lo), hi) with constant bounds is clamp(z, lo, hi).
 * Expressions are hash-consed (an equal subtree is one node), so the
 * emitter can name what several outputs share.
 *
 * Memory: every node lives in the gb_lift's arena.
 */
#ifndef GB_DECOMPILE_LIFT_H
#define GB_DECOMPILE_LIFT_H

#include "pwl.h"

typedef enum gb_ex_kind {
	GB_EX_INPUT = 0, /* input feature `input` */
	GB_EX_LIN,       /* b + sum c[k] * args[k]; args are never LIN */
	GB_EX_RELU,      /* relu(args[0]) */
	GB_EX_MAX,       /* max(args...) */
	GB_EX_MIN,
	GB_EX_ABS,       /* abs(args[0]) */
	GB_EX_CLAMP,     /* clamp(args[0], lo, hi) */
	GB_EX_STEP       /* step(args[0], lo, width = hi - lo) */
} gb_ex_kind;

typedef struct gb_ex gb_ex;
struct gb_ex {
	gb_ex_kind kind;
	int64_t input;
	double b;
	double *c;
	gb_ex **args;
	int n_args;
	double lo, hi;
	uint64_t hash;
	int64_t id;   /* creation order: args always have smaller ids */
	int64_t uses; /* how many parents (and outputs) refer to it */
};

typedef struct gb_lift {
	gb_arena arena;
	const gb_pwl *p;
	int64_t n_nodes, budget;
	struct lift_memo *memo; /* rows already lifted */
	int64_t n_memo, cap_memo;
	gb_ex **table; /* hash-consing */
	int64_t table_size;
	gb_ex **outs;  /* one expression per output element */
	struct {
		int64_t max, min, abs, relu, clamp, step;
	} counts;
} gb_lift;

/* Lifts every output row of p (canonical form). Gives up with
 * GB_STATUS_UNSUPPORTED when the expressions would exceed `budget` nodes
 * (the DAG is too entangled to read as formulas; the caller then writes it
 * as layers). tol: relative tolerance for matching weights and biases.
 * The caller releases with gb_lift_free (also after a failure). */
gb_status gb_lift_run(gb_lift *lf, const gb_pwl *p, int64_t budget, double tol, gb_error *err);
void gb_lift_free(gb_lift *lf);

/* A LIN node's or any node's size: 1 per node plus 1 per LIN term, shared
 * nodes counted once. */
int64_t gb_lift_size(const gb_lift *lf);

#endif /* GB_DECOMPILE_LIFT_H */
