/*
 * cases.h — what the runners over ONNX's conformance cases share
 * (tests/e2e/conformance.c runs them with the engine, tests/e2e/emit.c
 * through the emitted C and NumPy): the tolerance, finding the
 * test_data_set_N folders, and comparing an output with the expected one.
 * Header-only (static functions): each runner is one program.
 */
#ifndef GB_TESTS_CASES_H
#define GB_TESTS_CASES_H

#include <dirent.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "exec/ops.h"

#define ATOL 1e-7
#define RTOL 1e-3

static inline int case_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* scandir filter for a case's test_data_set_N folders. */
static inline int case_is_data_set(const struct dirent *e)
{
	return strncmp(e->d_name, "test_data_set_", 14) == 0;
}

/* Element i of t as a double (NaN for an unknown dtype). */
static inline double case_element(const gb_tensor *t, int64_t i)
{
	switch (t->dtype) {
	case GB_DTYPE_F32: return ((const float *)t->data)[i];
	case GB_DTYPE_F64: return ((const double *)t->data)[i];
	case GB_DTYPE_I64: return (double)((const int64_t *)t->data)[i];
	case GB_DTYPE_I32: return ((const int32_t *)t->data)[i];
	case GB_DTYPE_U8:
	case GB_DTYPE_BOOL: return ((const uint8_t *)t->data)[i];
	case GB_DTYPE_COUNT: break;
	}
	return NAN;
}

/* Element i of got matches want's (same dtype): within ATOL + RTOL·|want|
 * for float32 (and float64 when f64_close), NaN matching NaN; bit-equal
 * otherwise. */
static inline int case_same_element(const gb_tensor *got, const gb_tensor *want, int64_t i, int f64_close)
{
	if (want->dtype == GB_DTYPE_F32 || (f64_close && want->dtype == GB_DTYPE_F64)) {
		double g = case_element(got, i), w = case_element(want, i);
		return g == w || (isnan(g) && isnan(w)) || fabs(g - w) <= ATOL + RTOL * fabs(w);
	}
	size_t size = gb_dtype_size(want->dtype);
	return memcmp((const char *)got->data + (size_t)i * size, (const char *)want->data + (size_t)i * size, size) == 0;
}

static inline int case_same_shape(const gb_tensor *got, const gb_tensor *want)
{
	int same = got->ndim == want->ndim;
	for (int d = 0; same && d < got->ndim; d++)
		same = got->dims[d] == want->dims[d];
	return same;
}

/* Number of elements that differ, and the first at *first (-1 for none). */
static inline int64_t case_count_differing(const gb_tensor *got, const gb_tensor *want, int f64_close, int64_t *first)
{
	int64_t n = gb_tensor_numel(want), bad = 0;
	*first = -1;
	for (int64_t i = 0; i < n; i++)
		if (!case_same_element(got, want, i, f64_close) && bad++ == 0)
			*first = i;
	return bad;
}

#endif /* GB_TESTS_CASES_H */
