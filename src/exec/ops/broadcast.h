/*
 * broadcast.h — numpy-style (ONNX "multidirectional") broadcasting for the
 * elementwise ops.
 *
 * gb_bcast_fold computes the broadcast shape of several inputs. gb_bcast_plan
 * then describes how to walk a dense C-ordered output of that shape: size-1
 * output axes are dropped and neighbouring axes that every input traverses
 * the same way are merged, so that the output becomes `rows` rows of `inner`
 * elements in which each input is either contiguous (inner stride 1) or one
 * constant (inner stride 0). Kernels are tight loops over a row; only the
 * step from row to row (gb_bcast_next) does index arithmetic.
 *
 *   same shape [B, C] + [B, C]       rank 1: one row of B*C, strides 1 and 1
 *   scalar     [B, C] + []           rank 1: one row of B*C, strides 1 and 0
 *   bias       [B, C] + [C]          rank 2: B rows of C,    strides 1 and 1
 *   channel    [B, C, H, W] + [C, 1, 1]  rank 3: B*C rows of H*W, strides 1 and 0
 */
#ifndef GB_EXEC_OPS_BROADCAST_H
#define GB_EXEC_OPS_BROADCAST_H

#include <stdbool.h>
#include <stdint.h>

#include "glassbox.h"

#define GB_BCAST_MAX_IN 3

typedef struct gb_bcast {
	int n_in;
	int rank;                                     /* merged rank, >= 1 */
	int64_t shape[GB_MAX_DIMS];                   /* merged output shape, innermost last */
	int64_t stride[GB_BCAST_MAX_IN][GB_MAX_DIMS]; /* in elements; 0 along broadcast axes */
	int64_t inner;                                /* shape[rank - 1]; 0 when the output is empty */
	int64_t rows;                                 /* product of the other merged dims; 0 when empty */
} gb_bcast;

/* Position of the walk: the row's index along each merged outer axis and the
 * element offset of the row's start in each input. Zero-initialise it. */
typedef struct gb_bcast_walk {
	int64_t idx[GB_MAX_DIMS];
	int64_t off[GB_BCAST_MAX_IN];
} gb_bcast_walk;

/* Folds the shape (b_ndim, b_dims) into the running broadcast shape
 * (*ndim, dims): aligned on the right, each pair of dims must be equal or
 * one of them 1 (the result is the other). Start from the first input's
 * shape. Returns false, leaving the running shape unchanged, when the two do
 * not broadcast. */
bool gb_bcast_fold(int *ndim, int64_t *dims, int b_ndim, const int64_t *b_dims);

/* Builds the walk of an output of shape (ndim, dims) over n inputs
 * (1 <= n <= GB_BCAST_MAX_IN), each of which must broadcast to that shape
 * (checked with GB_ASSERT: callers fold first). */
void gb_bcast_plan(gb_bcast *p, int ndim, const int64_t *dims, int n, const int *in_ndim,
                   const int64_t *const *in_dims);

/* Element stride of input k inside a row: 1 (contiguous) or 0 (constant). */
static inline int64_t gb_bcast_inner_stride(const gb_bcast *p, int k)
{
	return p->stride[k][p->rank - 1];
}

/* Advances the walk to the next row. */
static inline void gb_bcast_next(const gb_bcast *p, gb_bcast_walk *w)
{
	for (int d = p->rank - 2; d >= 0; d--) {
		if (++w->idx[d] < p->shape[d]) {
			for (int k = 0; k < p->n_in; k++)
				w->off[k] += p->stride[k][d];
			return;
		}
		w->idx[d] = 0;
		for (int k = 0; k < p->n_in; k++)
			w->off[k] -= p->stride[k][d] * (p->shape[d] - 1);
	}
}

#endif /* GB_EXEC_OPS_BROADCAST_H */
