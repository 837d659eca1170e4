/*
 * pwl.h — the decompiler's working form of a network: a piecewise-linear
 * DAG of ReLU units (library-internal).
 *
 * Every network the decompiler reads (Gemm, MatMul, Conv, pooling, shape
 * operators, Relu and the other piecewise-linear activations) computes, for
 * one example, a function of this form:
 *
 *   source j      the flattened inputs x_0 .. x_{n_in-1}, then the units
 *   unit u        h_u = relu(b_u + sum_k w_k * source_{idx_k}),
 *                 reading inputs and units before u only
 *   output o      y_o = b_o + sum_k w_k * source_{idx_k}
 *
 * Lowering (lower.c) folds every linear operator into these affine rows,
 * so what is left are the ReLU units and how they combine; canonicalising
 * (canon.c) then removes what the function does not need. Coefficients are
 * doubles: folding happens in exact-ish arithmetic and float32 rounding
 * comes back only where a program is written out.
 *
 * Memory: a gb_pwl owns its rows (malloc'ed); gb_pwl_free releases all.
 */
#ifndef GB_DECOMPILE_PWL_H
#define GB_DECOMPILE_PWL_H

#include "../graph/graph.h"

/* An affine form b + sum_k w[k] * source[idx[k]]; idx strictly increasing
 * after gb_row_sort, no zero coefficients after gb_row_compact. */
typedef struct gb_row {
	int n, cap;
	int *idx;
	double *w;
	double b;
} gb_row;

/* What the network applies to an output's rows (gb_pwl_io.softmax): nothing,
 * Softmax or LogSoftmax over the (1-D) output; nonzero means the rows hold
 * logits rather than the output itself. */
enum { GB_PWL_PLAIN = 0, GB_PWL_SOFTMAX = 1, GB_PWL_LOG_SOFTMAX = 2 };

/* The language's primitive for a nonzero softmax kind. */
static inline const char *gb_pwl_softmax_prim(int kind)
{
	return kind == GB_PWL_LOG_SOFTMAX ? "log_softmax" : "softmax";
}

/* One declared tensor of the network (an input or an output). */
typedef struct gb_pwl_io {
	char *name;
	int ndim;             /* per example: without the batch axis */
	int64_t dims[GB_MAX_DIMS];
	int64_t offset, size; /* its elements in the flat source / output space */
	int softmax;          /* outputs: GB_PWL_SOFTMAX or GB_PWL_LOG_SOFTMAX when the
	                       * network applies it over this (1-D) output to the rows,
	                       * which hold the logits; GB_PWL_PLAIN otherwise */
} gb_pwl_io;

typedef struct gb_pwl {
	int n_inputs;
	gb_pwl_io *inputs;
	int n_outputs;
	gb_pwl_io *outputs;
	int64_t n_in;  /* flat input features */
	int64_t n_out; /* flat outputs */
	int64_t n_units, cap_units;
	gb_row *units; /* pre-activations, in an order where a unit reads only earlier ones */
	gb_row *outs;  /* n_out rows */
} gb_pwl;

/* ---- rows ----------------------------------------------------------------------- */

void gb_row_free(gb_row *r);
/* Appends w * source j (no merging). False on out of memory. */
bool gb_row_push(gb_row *r, int j, double w);
/* dst = copy of src. */
bool gb_row_copy(gb_row *dst, const gb_row *src);
/* Sorts by source index, merges repeats, drops zero coefficients. */
void gb_row_compact(gb_row *r);
/* dst += scale * src (dst compacted afterwards). */
bool gb_row_axpy(gb_row *dst, double scale, const gb_row *src);
/* The coefficient of source j (0 when absent); rows must be compacted. */
double gb_row_coef(const gb_row *r, int j);
/* Removes source j's term; returns its coefficient. */
double gb_row_take(gb_row *r, int j);
void gb_row_scale(gb_row *r, double s);

/* ---- the DAG ---------------------------------------------------------------------- */

void gb_pwl_free(gb_pwl *p);
/* Appends a unit with pre-activation row (moved in: *row is reset). Returns
 * its source index (n_in + unit), or -1 on out of memory. */
int64_t gb_pwl_add_unit(gb_pwl *p, gb_row *row);
/* Deep copy. */
gb_status gb_pwl_clone(const gb_pwl *p, gb_pwl **out, gb_error *err);

/* Evaluates n examples x (n, n_in) row-major into y (n, n_out), in double
 * precision (units rounded to float32 after each ReLU when f32 is set, as
 * the float32 network would hold them). h may be NULL; otherwise it receives
 * the unit values (n, n_units). */
gb_status gb_pwl_eval(const gb_pwl *p, int64_t n, const float *x, double *y, double *h, bool f32, gb_error *err);

/* Interval bounds of every pre-activation (lo/hi, n_units each) and output
 * (olo/ohi, n_out each; may be NULL) when input j lies in [in_lo[j], in_hi[j]]. */
void gb_pwl_bounds(const gb_pwl *p, const double *in_lo, const double *in_hi, double *lo, double *hi, double *olo,
                   double *ohi);

/* Depth of every unit: 1 + the largest depth among the units it reads. */
void gb_pwl_depths(const gb_pwl *p, int *depth);

/* ---- lowering (lower.c) ------------------------------------------------------------ */

/* Lowers a prepared model to its DAG. Every input and output must be
 * float32 with a leading batch axis; every operator on the path from the
 * inputs to the outputs must be linear in the inputs (Gemm, MatMul, Conv,
 * Add, Sub, Mul or Div by a constant, pooling by averages, batch norm,
 * shape and selection operators, ...) or piecewise linear (Relu, LeakyRelu,
 * PRelu, Abs, Max, Min, Clip, MaxPool); a Softmax or LogSoftmax over a
 * 1-D output that nothing else reads is kept as the output's `softmax` kind
 * (the rows are its logits). Anything else is refused with
 * GB_STATUS_UNSUPPORTED "FILE: node 'NAME' (OP): ..." saying why. */
gb_status gb_pwl_lower(gb_model *m, gb_pwl **out, gb_error *err);
/* Only the inputs' and outputs' layout (no units; every output row empty):
 * for a network whose operators are not all piecewise linear, to check a
 * program against it (verify.c) all the same. */
gb_status gb_pwl_lower_io(gb_model *m, gb_pwl **out, gb_error *err);

/* ---- as a chain of dense layers (chain.c) --------------------------------------------- */

/* The DAG as an ONNX-style model: one float32 input [N, n_in] (the
 * features of all inputs, flattened and concatenated; named after the
 * input when there is one), Gemm (transB 1) + Relu per depth, a final Gemm
 * to one output [N, n_out]; weights named layerK.weight / layerK.bias.
 * Values a later layer reads pass through: a unit's as relu(h) = h, an
 * input's as relu(x) - relu(-x). The same function in exact arithmetic;
 * float32 weights. Prepared (a session can run it at once). */
gb_status gb_pwl_to_chain(const gb_pwl *p, gb_model **out, gb_error *err);

/* ---- canonical form (canon.c) ------------------------------------------------------- */

typedef struct gb_canon_stats {
	int64_t units_before, units_after;
	int64_t dead, linear, merged, unused, paired;
	int64_t negligible; /* terms dropped as float32 rounding residue */
} gb_canon_stats;

/* Rewrites p in place into its canonical form for inputs in the box
 * [in_lo, in_hi] (per feature): units never active on the box are removed,
 * units always active become linear, every unit's row is scaled so its
 * largest |coefficient| is 1 (the factor moves to its readers), units with
 * the same row (relative tolerance rel_tol) merge, a unit reading -z next
 * to one reading z becomes linear in it (relu(-z) = relu(z) - z), units
 * nothing reads are dropped, and terms that contribute at most rel_tol of
 * their row's bound on the box (the float32 rounding residue of rescaled
 * weights) are dropped; repeated until nothing changes. Exact up to rel_tol
 * on the merges and dropped terms. */
gb_status gb_pwl_canonicalize(gb_pwl *p, const double *in_lo, const double *in_hi, double rel_tol,
                              gb_canon_stats *stats, gb_error *err);

#endif /* GB_DECOMPILE_PWL_H */
