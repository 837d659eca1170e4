/*
 * test_tasks.c — the algorithmic task generators: every family's labels
 * checked against an independent computation from x, exhaustive
 * enumeration (each input exactly once), determinism by seed, shapes and
 * dtypes as described, and bad specs.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/tasks.h"

/* ---- helpers --------------------------------------------------------------- */

typedef struct dataset {
	gb_task_info info;
	gb_tensor *x, *y;
	int64_t n, D;
} dataset;

static dataset make(const char *spec, int64_t n, uint64_t seed)
{
	dataset d = {0};
	gb_error err = {0};
	cr_assert_eq(gb_task_describe(spec, &d.info, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_task_generate(spec, n, seed, &d.x, &d.y, &err), GB_OK, "%s", err.msg);
	d.n = d.x->dims[0];
	d.D = gb_tensor_numel(d.x) / d.n;
	/* Shapes and dtypes as described. */
	cr_assert_eq(d.x->dtype, GB_DTYPE_F32);
	cr_assert_eq(d.x->ndim, 1 + d.info.x_ndim);
	for (int i = 0; i < d.info.x_ndim; i++)
		cr_assert_eq(d.x->dims[1 + i], d.info.x_dims[i]);
	cr_assert_eq(d.y->dtype, d.info.y_dtype);
	cr_assert_eq(d.y->ndim, 1 + d.info.y_ndim);
	cr_assert_eq(d.y->dims[0], d.n);
	if (d.info.y_ndim)
		cr_assert_eq(d.y->dims[1], d.info.y_dims[0]);
	return d;
}

static void release(dataset *d)
{
	gb_tensor_free(d->x);
	gb_tensor_free(d->y);
}

static const float *xrow(const dataset *d, int64_t i)
{
	return (const float *)d->x->data + i * d->D;
}

static int64_t label(const dataset *d, int64_t i)
{
	return ((const int64_t *)d->y->data)[i];
}

static const float *targets(const dataset *d, int64_t i)
{
	return (const float *)d->y->data + i * d->info.y_dims[0];
}

/* x[i][j] must be exactly 0 or 1; returns it as an int. */
static int bit(const dataset *d, int64_t i, int64_t j)
{
	float v = xrow(d, i)[j];
	cr_assert(v == 0.0f || v == 1.0f, "x[%lld][%lld] = %g is not a bit", (long long)i, (long long)j, v);
	return (int)v;
}

static void assert_real_inputs(const dataset *d, int64_t from, int64_t to)
{
	for (int64_t i = 0; i < d->n; i++)
		for (int64_t j = from; j < to; j++) {
			float v = xrow(d, i)[j];
			cr_assert(v >= -1.0f && v < 1.0f, "x[%lld][%lld] = %g outside [-1,1)", (long long)i, (long long)j, v);
		}
}

/* ---- boolean tasks ------------------------------------------------------- */

Test(tasks, parity_random_and_exhaustive)
{
	dataset d = make("parity-10", 500, 1);
	cr_assert_eq(d.n, 500);
	int ones_seen[2] = {0, 0};
	for (int64_t i = 0; i < d.n; i++) {
		int sum = 0;
		for (int j = 0; j < 10; j++)
			sum += bit(&d, i, j);
		cr_assert_eq(label(&d, i), sum % 2, "sample %lld", (long long)i);
		ones_seen[sum % 2]++;
	}
	cr_assert(ones_seen[0] > 180 && ones_seen[1] > 180, "both classes are common: %d %d", ones_seen[0], ones_seen[1]);
	release(&d);

	/* n >= 2^N: every input exactly once, in counting order (bit j of i). */
	d = make("parity-5", 1000, 99);
	cr_assert_eq(d.info.n_exhaustive, 32);
	cr_assert_eq(d.n, 32);
	for (int64_t i = 0; i < 32; i++) {
		int sum = 0;
		for (int j = 0; j < 5; j++) {
			cr_assert_eq(bit(&d, i, j), (int)((i >> j) & 1));
			sum += bit(&d, i, j);
		}
		cr_assert_eq(label(&d, i), sum & 1);
	}
	release(&d);
}

Test(tasks, parity_64_bits)
{
	dataset d = make("parity-64", 50, 5);
	cr_assert_eq(d.info.n_exhaustive, 0);
	for (int64_t i = 0; i < d.n; i++) {
		int sum = 0;
		for (int j = 0; j < 64; j++)
			sum += bit(&d, i, j);
		cr_assert_eq(label(&d, i), sum % 2);
	}
	release(&d);
}

Test(tasks, majority)
{
	dataset d = make("majority-7", 300, 2);
	for (int64_t i = 0; i < d.n; i++) {
		int sum = 0;
		for (int j = 0; j < 7; j++)
			sum += bit(&d, i, j);
		cr_assert_eq(label(&d, i), sum >= 4 ? 1 : 0);
	}
	release(&d);
	d = make("majority-3", 8, 0);
	cr_assert_eq(d.n, 8);
	static const int64_t want[8] = {0, 0, 0, 1, 0, 1, 1, 1}; /* 000 100 010 110 001 101 011 111 */
	cr_assert_arr_eq(d.y->data, want, sizeof want);
	release(&d);
}

Test(tasks, binary_addition)
{
	dataset d = make("add-6", 400, 3);
	cr_assert_eq(d.D, 12);
	cr_assert_eq(d.info.y_dims[0], 7);
	for (int64_t i = 0; i < d.n; i++) {
		unsigned a = 0, b = 0, s = 0;
		for (int j = 0; j < 6; j++) {
			a += (unsigned)bit(&d, i, j) << j;
			b += (unsigned)bit(&d, i, 6 + j) << j;
		}
		for (int j = 0; j < 7; j++) {
			float t = targets(&d, i)[j];
			cr_assert(t == 0.0f || t == 1.0f);
			s += (unsigned)t << j;
		}
		cr_assert_eq(s, a + b, "sample %lld: %u + %u gave %u", (long long)i, a, b, s);
	}
	release(&d);

	/* Exhaustive: 4^3 pairs, each once. */
	d = make("add-3", 64, 0);
	cr_assert_eq(d.n, 64);
	int seen[64] = {0};
	for (int64_t i = 0; i < 64; i++) {
		int code = 0;
		for (int j = 0; j < 6; j++)
			code |= bit(&d, i, j) << j;
		seen[code]++;
	}
	for (int c = 0; c < 64; c++)
		cr_assert_eq(seen[c], 1, "input %d appears %d times", c, seen[c]);
	release(&d);
}

Test(tasks, modular_addition)
{
	dataset d = make("modadd-7", 49, 0);
	cr_assert_eq(d.n, 49);
	cr_assert_eq(d.info.n_classes, 7);
	int seen[7][7] = {{0}};
	for (int64_t i = 0; i < d.n; i++) {
		int a = -1, b = -1, hot = 0;
		for (int j = 0; j < 14; j++)
			if (bit(&d, i, j)) {
				hot++;
				if (j < 7)
					a = j;
				else
					b = j - 7;
			}
		cr_assert_eq(hot, 2, "one-hot a and one-hot b");
		cr_assert(a >= 0 && b >= 0);
		cr_assert_eq(label(&d, i), (a + b) % 7);
		seen[a][b]++;
	}
	for (int a = 0; a < 7; a++)
		for (int b = 0; b < 7; b++)
			cr_assert_eq(seen[a][b], 1);
	release(&d);

	d = make("modadd-97", 2000, 11); /* fewer than 97^2: random */
	cr_assert_eq(d.n, 2000);
	for (int64_t i = 0; i < d.n; i++) {
		int a = -1, b = -1;
		for (int j = 0; j < 194; j++)
			if (xrow(&d, i)[j] == 1.0f)
				*(j < 97 ? &a : &b) = j < 97 ? j : j - 97;
		cr_assert_eq(label(&d, i), (a + b) % 97);
	}
	release(&d);
}

/* ---- tasks with reals -------------------------------------------------- */

Test(tasks, max_min_sort)
{
	dataset d = make("max-5", 300, 4);
	assert_real_inputs(&d, 0, 5);
	for (int64_t i = 0; i < d.n; i++) {
		float m = -INFINITY;
		for (int j = 0; j < 5; j++)
			m = fmaxf(m, xrow(&d, i)[j]);
		cr_assert_eq(targets(&d, i)[0], m);
	}
	release(&d);

	d = make("min-4", 300, 4);
	for (int64_t i = 0; i < d.n; i++) {
		float m = INFINITY;
		for (int j = 0; j < 4; j++)
			m = fminf(m, xrow(&d, i)[j]);
		cr_assert_eq(targets(&d, i)[0], m);
	}
	release(&d);

	d = make("sort-6", 300, 4);
	assert_real_inputs(&d, 0, 6);
	for (int64_t i = 0; i < d.n; i++) {
		const float *x = xrow(&d, i), *t = targets(&d, i);
		for (int j = 0; j + 1 < 6; j++)
			cr_assert(t[j] <= t[j + 1], "targets ascend");
		/* Same multiset: each x value occurs in t as often as in x. */
		for (int j = 0; j < 6; j++) {
			int in_x = 0, in_t = 0;
			for (int k = 0; k < 6; k++) {
				in_x += x[k] == x[j];
				in_t += t[k] == x[j];
			}
			cr_assert_eq(in_x, in_t);
		}
	}
	release(&d);
}

Test(tasks, reals_cover_the_interval)
{
	dataset d = make("max-1", 4000, 8);
	float lo = 1, hi = -1;
	double mean = 0;
	for (int64_t i = 0; i < d.n; i++) {
		float v = xrow(&d, i)[0];
		lo = fminf(lo, v);
		hi = fmaxf(hi, v);
		mean += v;
	}
	mean /= (double)d.n;
	cr_assert(lo < -0.99f && hi > 0.99f, "range [%g, %g]", lo, hi);
	cr_assert(fabs(mean) < 0.05, "mean %g", mean);
	release(&d);
}

Test(tasks, pair_of_unrelated_tasks)
{
	dataset d = make("pair", 300, 6);
	cr_assert_eq(d.D, 7);
	cr_assert_eq(d.info.y_dims[0], 2);
	assert_real_inputs(&d, 4, 7);
	for (int64_t i = 0; i < d.n; i++) {
		int sum = 0;
		for (int j = 0; j < 4; j++)
			sum += bit(&d, i, j);
		const float *x = xrow(&d, i);
		cr_assert_eq(targets(&d, i)[0], (float)(sum % 2));
		cr_assert_eq(targets(&d, i)[1], fmaxf(x[4], fmaxf(x[5], x[6])));
	}
	release(&d);
}

/* ---- the image task ----------------------------------------------------- */

/* The patterns, written independently of tasks.c: plus, cross, ring, ell. */
static const char *const patterns[4] = {".#.###.#.", "#.#.#.#.#", "####.####", "#..#..###"};

/* Finds the pattern in image i by its bounding box; returns its class and
 * stores its top-left corner. */
static int find_pattern(const dataset *d, int64_t i, int S, int *row, int *col)
{
	int r0 = S, c0 = S, r1 = -1, c1 = -1, lit = 0;
	for (int r = 0; r < S; r++)
		for (int c = 0; c < S; c++) {
			float v = xrow(d, i)[r * S + c];
			cr_assert(v == 0.0f || v == 1.0f);
			if (v == 1.0f) {
				lit++;
				r0 = r < r0 ? r : r0;
				c0 = c < c0 ? c : c0;
				r1 = r > r1 ? r : r1;
				c1 = c > c1 ? c : c1;
			}
		}
	cr_assert(r1 - r0 == 2 && c1 - c0 == 2, "image %lld: lit pixels span %dx%d, not 3x3", (long long)i, r1 - r0 + 1,
	          c1 - c0 + 1);
	for (int p = 0; p < 4; p++) {
		int match = 1, count = 0;
		for (int k = 0; k < 9; k++) {
			int want = patterns[p][k] == '#';
			count += want;
			match &= (xrow(d, i)[(r0 + k / 3) * S + c0 + k % 3] == 1.0f) == want;
		}
		if (match && count == lit) {
			*row = r0;
			*col = c0;
			return p;
		}
	}
	cr_assert_fail("image %lld holds no known pattern", (long long)i);
	return -1;
}

Test(tasks, shapes_random)
{
	dataset d = make("shapes-16", 400, 12); /* 4 * 14^2 = 784 inputs: drawn at random */
	cr_assert_eq(d.n, 400);
	cr_assert_eq(d.x->ndim, 4);
	cr_assert(d.x->dims[1] == 1 && d.x->dims[2] == 16 && d.x->dims[3] == 16);
	cr_assert_eq(d.info.n_classes, 4);
	int per_class[4] = {0}, corners = 0;
	for (int64_t i = 0; i < d.n; i++) {
		int r, c;
		int p = find_pattern(&d, i, 16, &r, &c);
		cr_assert_eq(label(&d, i), p);
		per_class[p]++;
		corners += r == 0 || r == 13 || c == 0 || c == 13;
	}
	for (int p = 0; p < 4; p++)
		cr_assert(per_class[p] > 60, "class %d drawn %d times of 400", p, per_class[p]);
	cr_assert(corners > 0, "patterns reach the borders");
	release(&d);
}

Test(tasks, shapes_exhaustive)
{
	dataset d = make("shapes-6", 100000, 0);
	cr_assert_eq(d.n, 4 * 16);
	int seen[4][4][4] = {{{0}}};
	for (int64_t i = 0; i < d.n; i++) {
		int r, c;
		int p = find_pattern(&d, i, 6, &r, &c);
		cr_assert_eq(label(&d, i), p);
		seen[p][r][c]++;
	}
	for (int p = 0; p < 4; p++)
		for (int r = 0; r < 4; r++)
			for (int c = 0; c < 4; c++)
				cr_assert_eq(seen[p][r][c], 1);
	release(&d);
}

/* ---- determinism --------------------------------------------------------- */

static int same_bytes(const gb_tensor *a, const gb_tensor *b)
{
	size_t na = (size_t)gb_tensor_numel(a) * gb_dtype_size(a->dtype);
	size_t nb = (size_t)gb_tensor_numel(b) * gb_dtype_size(b->dtype);
	return na == nb && memcmp(a->data, b->data, na) == 0;
}

Test(tasks, deterministic_by_seed)
{
	static const char *const specs[] = {"parity-12", "majority-9", "add-8", "max-4", "min-4",
	                                    "sort-5",    "modadd-31", "pair",  "shapes-10"};
	for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
		dataset a = make(specs[s], 200, 42), b = make(specs[s], 200, 42), c = make(specs[s], 200, 43);
		dataset prefix = make(specs[s], 50, 42);
		cr_assert(same_bytes(a.x, b.x) && same_bytes(a.y, b.y), "%s: same seed, same data", specs[s]);
		cr_assert(!same_bytes(a.x, c.x), "%s: another seed, other data", specs[s]);
		size_t xb = (size_t)(50 * a.D) * sizeof(float);
		size_t yb = (size_t)gb_tensor_numel(prefix.y) * gb_dtype_size(prefix.y->dtype);
		cr_assert(memcmp(prefix.x->data, a.x->data, xb) == 0 && memcmp(prefix.y->data, a.y->data, yb) == 0,
		          "%s: the first 50 of 200 samples are the 50-sample dataset", specs[s]);
		release(&a);
		release(&b);
		release(&c);
		release(&prefix);
	}
}

/* A pinned value, so an accidental change of the generator is noticed
 * (changing it changes every published dataset). */
Test(tasks, generator_is_splitmix64)
{
	uint64_t state = 1234567;
	cr_assert_eq(gb_data_rand(&state), UINT64_C(6457827717110365317));
	cr_assert_eq(gb_data_rand(&state), UINT64_C(3203168211198807973));
	state = 0;
	cr_assert_eq(gb_data_rand(&state), UINT64_C(0xE220A8397B1DCDAF));
}

/* ---- specs ------------------------------------------------------------------- */

Test(tasks, describe)
{
	gb_task_info info;
	cr_assert_eq(gb_task_describe("sort-3", &info, NULL), GB_OK);
	cr_assert_str_eq(info.spec, "sort-3");
	cr_assert_str_eq(info.family, "sort");
	cr_assert(info.y_dtype == GB_DTYPE_F32 && info.y_ndim == 1 && info.y_dims[0] == 3 && info.n_classes == 0);
	cr_assert_eq(gb_task_describe("modadd-13", &info, NULL), GB_OK);
	cr_assert(info.y_dtype == GB_DTYPE_I64 && info.y_ndim == 0 && info.n_classes == 13 && info.x_dims[0] == 26);
	cr_assert_eq(info.n_exhaustive, 169);
	cr_assert_eq(gb_task_describe("pair", &info, NULL), GB_OK);
	cr_assert_eq(info.param, 0);

	cr_assert(gb_task_family_count() >= 9);
	for (int i = 0; i < gb_task_family_count(); i++) {
		const gb_task_family *f = gb_task_family_at(i);
		cr_assert(f && f->name && f->pattern && f->range && f->summary);
	}
	cr_assert_null(gb_task_family_at(gb_task_family_count()));
}

static void assert_bad_spec(const char *spec, const char *fragment)
{
	gb_tensor *x = (gb_tensor *)1, *y = (gb_tensor *)1;
	gb_error err = {0};
	cr_assert_eq(gb_task_generate(spec, 10, 0, &x, &y, &err), GB_STATUS_USAGE, "'%s' accepted", spec);
	cr_assert(x == NULL && y == NULL);
	cr_assert(strstr(err.msg, spec), "message names the spec '%s': %s", spec, err.msg);
	cr_assert(strstr(err.msg, fragment), "'%s': message lacks '%s': %s", spec, fragment, err.msg);
}

Test(tasks, bad_specs)
{
	assert_bad_spec("xor-3", "unknown task");
	assert_bad_spec("", "unknown task");
	assert_bad_spec("parity", "missing N");
	assert_bad_spec("parity-", "missing N");
	assert_bad_spec("parity-x", "decimal");
	assert_bad_spec("parity-08", "decimal");
	assert_bad_spec("parity-8.5", "decimal");
	assert_bad_spec("parity--3", "decimal");
	assert_bad_spec("parity-0", "out of range");
	assert_bad_spec("parity-65", "out of range");
	assert_bad_spec("parity-99999999999999", "decimal");
	assert_bad_spec("majority-4", "ties");
	assert_bad_spec("add-32", "out of range");
	assert_bad_spec("modadd-1", "out of range");
	assert_bad_spec("sort-0", "out of range");
	assert_bad_spec("shapes-2", "out of range");
	assert_bad_spec("pair-3", "no parameter");
	assert_bad_spec("Parity-3", "unknown task");

	gb_tensor *x, *y;
	gb_error err = {0};
	cr_assert_eq(gb_task_generate("parity-3", 0, 0, &x, &y, &err), GB_STATUS_USAGE);
	cr_assert(strstr(err.msg, "at least 1"), "%s", err.msg);
	cr_assert_eq(gb_task_generate("parity-3", -5, 0, &x, &y, &err), GB_STATUS_USAGE);
	cr_assert_eq(gb_task_generate(NULL, 5, 0, &x, &y, &err), GB_STATUS_USAGE);
}

Test(tasks, too_large_is_nomem)
{
	gb_tensor *x, *y;
	gb_error err = {0};
	cr_assert_eq(gb_task_generate("sort-1024", INT64_MAX / 2, 0, &x, &y, &err), GB_STATUS_NOMEM);
	cr_assert(x == NULL && y == NULL);
}
