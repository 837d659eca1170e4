/*
 * tasks.c — algorithmic datasets generated in C: parity, majority, binary
 * addition, max/min/sort of reals, modular addition, two tasks side by side
 * and a translation-invariant image task. tasks.h describes each family and
 * the guarantees (exhaustive enumeration, determinism by seed).
 *
 * A sample is made in two steps. Tasks whose inputs form a finite set
 * (bits, one-hot codes, pattern positions) first pick a code in
 * [0, n_inputs): its index k when enumerating, otherwise a random draw —
 * the low N bits of one draw for the bit tasks (uniform), one draw mod the
 * count for modadd and shapes (bias below count / 2^64). Then a decoder
 * turns the code into x and computes y. Tasks with reals draw each real
 * from the top 24 bits of one draw, u = (r >> 40) / 2^24, x = 2u - 1: every
 * value is an exact float32 in [-1, 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "train/tasks.h"

typedef enum family_id { F_PARITY, F_MAJORITY, F_ADD, F_MAX, F_MIN, F_SORT, F_MODADD, F_PAIR, F_SHAPES } family_id;

static const gb_task_family families[] = {
	[F_PARITY] = {"parity", "parity-N", "N from 1 to 64",
	              "N bits; class 1 when an odd number of them are 1 (exhaustive for n >= 2^N)"},
	[F_MAJORITY] = {"majority", "majority-N", "N odd, from 1 to 63",
	                "N bits; class 1 when more than half of them are 1 (exhaustive for n >= 2^N)"},
	[F_ADD] = {"add", "add-N", "N from 1 to 31",
	           "bits of a then b, least significant first; targets: the N+1 bits of a+b (exhaustive for n >= 4^N)"},
	[F_MAX] = {"max", "max-K", "K from 1 to 1024", "K reals in [-1,1); target: their maximum"},
	[F_MIN] = {"min", "min-K", "K from 1 to 1024", "K reals in [-1,1); target: their minimum"},
	[F_SORT] = {"sort", "sort-K", "K from 1 to 1024", "K reals in [-1,1); targets: the K values in ascending order"},
	[F_MODADD] = {"modadd", "modadd-P", "P from 2 to 1024",
	              "one-hot a then one-hot b; class (a+b) mod P (exhaustive for n >= P^2)"},
	[F_PAIR] = {"pair", "pair", "no parameter",
	            "parity-4 on inputs 0-3 and max-3 on inputs 4-6; targets: [parity, max]"},
	[F_SHAPES] = {"shapes", "shapes-S", "S from 3 to 64",
	              "SxS image with one 3x3 pattern (plus, cross, ring, ell) anywhere; class: the pattern "
	              "(exhaustive for n >= 4(S-2)^2)"},
};

#define N_FAMILIES ((int)(sizeof families / sizeof families[0]))

/* Parameter ranges, in the order of family_id; lo = hi = 0: no parameter. */
static const struct {
	int64_t lo, hi;
} ranges[] = {
	[F_PARITY] = {1, 64}, [F_MAJORITY] = {1, 63}, [F_ADD] = {1, 31},   [F_MAX] = {1, 1024}, [F_MIN] = {1, 1024},
	[F_SORT] = {1, 1024}, [F_MODADD] = {2, 1024}, [F_PAIR] = {0, 0}, [F_SHAPES] = {3, 64},
};

/* The 3x3 patterns of shapes-S, row by row. No one is a translate of
 * another, so (pattern, position) is always recoverable from the image. */
static const uint8_t shape_patterns[4][3][3] = {
	{{0, 1, 0}, {1, 1, 1}, {0, 1, 0}}, /* plus */
	{{1, 0, 1}, {0, 1, 0}, {1, 0, 1}}, /* cross */
	{{1, 1, 1}, {1, 0, 1}, {1, 1, 1}}, /* ring */
	{{1, 0, 0}, {1, 0, 0}, {1, 1, 1}}, /* ell */
};

int gb_task_family_count(void)
{
	return N_FAMILIES;
}

const gb_task_family *gb_task_family_at(int i)
{
	return i >= 0 && i < N_FAMILIES ? &families[i] : NULL;
}

/* ---- specs ------------------------------------------------------------------- */

static gb_status unknown_task(const char *spec, gb_error *err)
{
	char known[512];
	size_t len = 0;
	for (int i = 0; i < N_FAMILIES && len < sizeof known; i++)
		len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", families[i].pattern);
	return gb_fail(err, GB_STATUS_USAGE, "unknown task '%s' (tasks: %s)", spec, known);
}

/* Parses spec into its family and parameter. */
static gb_status parse_spec(const char *spec, family_id *fam, int64_t *param, gb_error *err)
{
	const char *dash = strchr(spec, '-');
	size_t name_len = dash ? (size_t)(dash - spec) : strlen(spec);
	int found = -1;
	for (int i = 0; i < N_FAMILIES; i++)
		if (strlen(families[i].name) == name_len && memcmp(families[i].name, spec, name_len) == 0)
			found = i;
	if (found < 0)
		return unknown_task(spec, err);
	*fam = (family_id)found;
	const gb_task_family *f = &families[found];
	if (ranges[found].hi == 0) {
		if (dash)
			return gb_fail(err, GB_STATUS_USAGE, "task '%s': %s takes no parameter (write '%s')", spec, f->name,
			               f->pattern);
		*param = 0;
		return GB_OK;
	}
	char letter = f->pattern[strlen(f->pattern) - 1];
	if (!dash || dash[1] == '\0')
		return gb_fail(err, GB_STATUS_USAGE, "task '%s': missing %c (write %s, %s)", spec, letter, f->pattern,
		               f->range);
	const char *digits = dash + 1;
	size_t n_digits = strspn(digits, "0123456789");
	if (n_digits == 0 || digits[n_digits] != '\0' || (digits[0] == '0' && n_digits > 1) || n_digits > 9)
		return gb_fail(err, GB_STATUS_USAGE, "task '%s': %c must be a plain decimal number (%s)", spec, letter,
		               f->range);
	int64_t v = strtoll(digits, NULL, 10);
	if (v < ranges[found].lo || v > ranges[found].hi || (found == F_MAJORITY && v % 2 == 0))
		return gb_fail(err, GB_STATUS_USAGE, "task '%s': %c = %lld is out of range (%s%s)", spec, letter, (long long)v,
		               f->range, found == F_MAJORITY && v % 2 == 0 ? "; an even N would allow ties" : "");
	*param = v;
	return GB_OK;
}

gb_status gb_task_describe(const char *spec, gb_task_info *info, gb_error *err)
{
	memset(info, 0, sizeof *info);
	if (!spec)
		return gb_fail(err, GB_STATUS_USAGE, "no task given");
	family_id fam;
	int64_t p;
	gb_status st = parse_spec(spec, &fam, &p, err);
	if (st != GB_OK)
		return st;
	info->family = families[fam].name;
	info->param = p;
	if (p)
		snprintf(info->spec, sizeof info->spec, "%s-%lld", families[fam].name, (long long)p);
	else
		snprintf(info->spec, sizeof info->spec, "%s", families[fam].name);
	info->x_ndim = 1;
	info->y_ndim = 1;
	info->y_dtype = GB_DTYPE_F32;
	switch (fam) {
	case F_PARITY:
	case F_MAJORITY:
		info->x_dims[0] = p;
		info->y_ndim = 0;
		info->y_dtype = GB_DTYPE_I64;
		info->n_classes = 2;
		info->n_exhaustive = p <= 62 ? (int64_t)1 << p : 0;
		break;
	case F_ADD:
		info->x_dims[0] = 2 * p;
		info->y_dims[0] = p + 1;
		info->n_exhaustive = (int64_t)1 << (2 * p);
		break;
	case F_MAX:
	case F_MIN:
		info->x_dims[0] = p;
		info->y_dims[0] = 1;
		break;
	case F_SORT:
		info->x_dims[0] = p;
		info->y_dims[0] = p;
		break;
	case F_MODADD:
		info->x_dims[0] = 2 * p;
		info->y_ndim = 0;
		info->y_dtype = GB_DTYPE_I64;
		info->n_classes = p;
		info->n_exhaustive = p * p;
		break;
	case F_PAIR:
		info->x_dims[0] = 7;
		info->y_dims[0] = 2;
		break;
	case F_SHAPES:
		info->x_ndim = 3;
		info->x_dims[0] = 1;
		info->x_dims[1] = p;
		info->x_dims[2] = p;
		info->y_ndim = 0;
		info->y_dtype = GB_DTYPE_I64;
		info->n_classes = 4;
		info->n_exhaustive = 4 * (p - 2) * (p - 2);
		break;
	}
	return GB_OK;
}

/* ---- generation -------------------------------------------------------------- */

/* A real in [-1, 1) from the top 24 bits of one draw (exact in float32). */
static float draw_real(uint64_t *rng)
{
	return (float)((double)(gb_data_rand(rng) >> 40) * 0x1.0p-23 - 1.0);
}

static int compare_floats(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Writes sample code's x (D floats) and y (one label or the targets). */
static void decode(family_id fam, int64_t p, uint64_t code, float *x, int64_t *label, float *target)
{
	switch (fam) {
	case F_PARITY:
	case F_MAJORITY: {
		int ones = 0;
		for (int64_t i = 0; i < p; i++) {
			int bit = (int)((code >> i) & 1);
			x[i] = (float)bit;
			ones += bit;
		}
		*label = fam == F_PARITY ? ones % 2 : ones > p / 2;
		break;
	}
	case F_ADD: {
		uint64_t mask = ((uint64_t)1 << p) - 1;
		uint64_t a = code & mask, b = (code >> p) & mask, sum = a + b;
		for (int64_t i = 0; i < p; i++) {
			x[i] = (float)((a >> i) & 1);
			x[p + i] = (float)((b >> i) & 1);
		}
		for (int64_t i = 0; i <= p; i++)
			target[i] = (float)((sum >> i) & 1);
		break;
	}
	case F_MODADD: {
		int64_t a = (int64_t)(code / (uint64_t)p), b = (int64_t)(code % (uint64_t)p);
		memset(x, 0, (size_t)(2 * p) * sizeof *x);
		x[a] = 1;
		x[p + b] = 1;
		*label = (a + b) % p;
		break;
	}
	case F_SHAPES: {
		uint64_t span = (uint64_t)(p - 2);
		int pattern = (int)(code / (span * span));
		int64_t row = (int64_t)((code / span) % span), col = (int64_t)(code % span);
		memset(x, 0, (size_t)(p * p) * sizeof *x);
		for (int r = 0; r < 3; r++)
			for (int c = 0; c < 3; c++)
				x[(row + r) * p + col + c] = shape_patterns[pattern][r][c];
		*label = pattern;
		break;
	}
	default: GB_ASSERT(!"decode: not a finite task");
	}
}

/* Samples with reals: draws x and computes the targets. */
static void draw_real_sample(family_id fam, int64_t p, uint64_t *rng, float *x, float *target)
{
	if (fam == F_PAIR) {
		uint64_t bits = gb_data_rand(rng);
		int ones = 0;
		for (int i = 0; i < 4; i++) {
			x[i] = (float)((bits >> i) & 1);
			ones += (int)((bits >> i) & 1);
		}
		float best = -2;
		for (int i = 4; i < 7; i++) {
			x[i] = draw_real(rng);
			best = x[i] > best ? x[i] : best;
		}
		target[0] = (float)(ones % 2);
		target[1] = best;
		return;
	}
	for (int64_t i = 0; i < p; i++)
		x[i] = draw_real(rng);
	if (fam == F_SORT) {
		memcpy(target, x, (size_t)p * sizeof *x);
		qsort(target, (size_t)p, sizeof *target, compare_floats);
		return;
	}
	float best = x[0];
	for (int64_t i = 1; i < p; i++)
		best = fam == F_MAX ? (x[i] > best ? x[i] : best) : (x[i] < best ? x[i] : best);
	target[0] = best;
}

gb_status gb_task_generate(const char *spec, int64_t n, uint64_t seed, gb_tensor **x, gb_tensor **y,
                           gb_error *err)
{
	*x = NULL;
	*y = NULL;
	gb_task_info info;
	gb_status st = gb_task_describe(spec, &info, err);
	if (st != GB_OK)
		return st;
	if (n < 1)
		return gb_fail(err, GB_STATUS_USAGE, "task '%s': the number of samples must be at least 1, not %lld", spec,
		               (long long)n);
	bool exhaustive = info.n_exhaustive > 0 && n >= info.n_exhaustive;
	if (exhaustive)
		n = info.n_exhaustive;

	int64_t x_dims[1 + GB_TASK_MAX_DIMS] = {n}, y_dims[2] = {n, info.y_dims[0]};
	memcpy(x_dims + 1, info.x_dims, (size_t)info.x_ndim * sizeof *x_dims);
	gb_tensor *tx = NULL, *ty = NULL;
	if (gb_tensor_new(GB_DTYPE_F32, 1 + info.x_ndim, x_dims, &tx, NULL) != GB_OK ||
	    gb_tensor_new(info.y_dtype, 1 + info.y_ndim, y_dims, &ty, NULL) != GB_OK) {
		gb_tensor_free(tx);
		return gb_fail(err, GB_STATUS_NOMEM, "task '%s': cannot allocate %lld samples", spec, (long long)n);
	}
	family_id fam;
	int64_t p;
	parse_spec(info.spec, &fam, &p, NULL);
	int64_t D = gb_tensor_numel(tx) / n;
	int64_t T = info.y_ndim ? info.y_dims[0] : 1;
	float *xs = tx->data;
	uint64_t rng = seed;
	bool finite = fam == F_PARITY || fam == F_MAJORITY || fam == F_ADD || fam == F_MODADD || fam == F_SHAPES;
	for (int64_t i = 0; i < n; i++) {
		float *xi = xs + i * D;
		int64_t *label = info.y_dtype == GB_DTYPE_I64 ? (int64_t *)ty->data + i : NULL;
		float *target = info.y_dtype == GB_DTYPE_F32 ? (float *)ty->data + i * T : NULL;
		if (!finite) {
			draw_real_sample(fam, p, &rng, xi, target);
			continue;
		}
		uint64_t code;
		if (exhaustive)
			code = (uint64_t)i;
		else if (fam == F_MODADD || fam == F_SHAPES)
			code = gb_data_rand(&rng) % (uint64_t)info.n_exhaustive;
		else {
			int bits = (int)info.x_dims[0]; /* N for parity and majority, 2N for add */
			code = gb_data_rand(&rng) & (bits == 64 ? ~(uint64_t)0 : ((uint64_t)1 << bits) - 1);
		}
		int64_t unused_label;
		decode(fam, p, code, xi, label ? label : &unused_label, target);
	}
	*x = tx;
	*y = ty;
	return GB_OK;
}
