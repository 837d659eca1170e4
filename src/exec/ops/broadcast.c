/*
 * broadcast.c — broadcast shapes and the merged row walk (see broadcast.h).
 */
#include "broadcast.h"

#include "core/core.h"

bool gb_bcast_fold(int *ndim, int64_t *dims, int b_ndim, const int64_t *b_dims)
{
	int n = *ndim > b_ndim ? *ndim : b_ndim;
	int64_t out[GB_MAX_DIMS];
	GB_ASSERT(n <= GB_MAX_DIMS);
	for (int d = 0; d < n; d++) {
		int da = d - (n - *ndim), db = d - (n - b_ndim);
		int64_t a = da >= 0 ? dims[da] : 1;
		int64_t b = db >= 0 ? b_dims[db] : 1;
		if (a == b || b == 1)
			out[d] = a;
		else if (a == 1)
			out[d] = b;
		else
			return false;
	}
	for (int d = 0; d < n; d++)
		dims[d] = out[d];
	*ndim = n;
	return true;
}

void gb_bcast_plan(gb_bcast *p, int ndim, const int64_t *dims, int n, const int *in_ndim,
                   const int64_t *const *in_dims)
{
	GB_ASSERT(n >= 1 && n <= GB_BCAST_MAX_IN && ndim >= 0 && ndim <= GB_MAX_DIMS);
	p->n_in = n;
	p->rank = 0;
	for (int d = 0; d < ndim; d++) {
		if (dims[d] == 0) { /* empty output: nothing to walk */
			p->rank = 1;
			p->shape[0] = 0;
			for (int k = 0; k < n; k++)
				p->stride[k][0] = 0;
			p->inner = 0;
			p->rows = 0;
			return;
		}
	}

	/* Per-input element strides along each output axis, right to left:
	 * 0 where the input has no such axis or has size 1 there. */
	int64_t stride[GB_BCAST_MAX_IN][GB_MAX_DIMS];
	for (int k = 0; k < n; k++) {
		GB_ASSERT(in_ndim[k] <= ndim);
		int64_t run = 1;
		for (int d = ndim - 1; d >= 0; d--) {
			int id = d - (ndim - in_ndim[k]);
			int64_t size = id >= 0 ? in_dims[k][id] : 1;
			GB_ASSERT(size == dims[d] || size == 1);
			stride[k][d] = size == 1 ? 0 : run;
			run *= size;
		}
	}

	/* Drop size-1 axes; merge an axis into the previous one when every input
	 * steps through both as through one axis (outer stride = inner stride ×
	 * inner size, which includes "both 0"). */
	for (int d = 0; d < ndim; d++) {
		if (dims[d] == 1)
			continue;
		int merge = p->rank > 0;
		for (int k = 0; merge && k < n; k++)
			merge = p->stride[k][p->rank - 1] == stride[k][d] * dims[d];
		if (merge) {
			p->shape[p->rank - 1] *= dims[d];
			for (int k = 0; k < n; k++)
				p->stride[k][p->rank - 1] = stride[k][d];
		} else {
			p->shape[p->rank] = dims[d];
			for (int k = 0; k < n; k++)
				p->stride[k][p->rank] = stride[k][d];
			p->rank++;
		}
	}
	if (p->rank == 0) { /* one element */
		p->rank = 1;
		p->shape[0] = 1;
		for (int k = 0; k < n; k++)
			p->stride[k][0] = 0;
	}
	p->inner = p->shape[p->rank - 1];
	p->rows = 1;
	for (int d = 0; d < p->rank - 1; d++)
		p->rows *= p->shape[d];
	for (int k = 0; k < n; k++)
		GB_ASSERT(p->stride[k][p->rank - 1] == 0 || p->stride[k][p->rank - 1] == 1);
}
