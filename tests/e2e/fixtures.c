/*
 * fixtures.c — agreement with PyTorch on whole networks.
 *
 *   fixtures DIR
 *
 * Every subfolder of DIR holds a model exported by torch.onnx.export and
 * what PyTorch computed for it (tests/fixtures/make_fixtures.py writes them):
 *
 *   model.onnx        input x, output y
 *   x.npy, y.npy      an input batch and PyTorch's output
 *   r.npy, g.npy      a cotangent r and g = d(sum(r * y)) / dx
 *   W.grad.npy        d(sum(r * y)) / dW for the initializer named W
 *
 * For each one this loads the model, runs forward and compares with y,
 * runs backward seeded with r and compares the input gradient with g and
 * every weight gradient given. Tolerances, |got - want| <= rtol*|want| + atol:
 * outputs 1e-4 / 1e-5 (float32 evaluation order differs from PyTorch's by a
 * few ulps per op, amplified a little by deep chains), gradients 1e-3 / 1e-5
 * (backward sums over the batch and the spatial positions).
 *
 * Prints one line per model and a summary; exits 1 when any fixture fails
 * or none is found, 2 on bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "glassbox.h"

#define Y_RTOL 1e-4
#define Y_ATOL 1e-5
#define G_RTOL 1e-3
#define G_ATOL 1e-5

#define GRAD_SUFFIX ".grad.npy"

typedef struct compare {
	double max_err; /* largest |got - want| */
	int64_t n_bad;  /* elements outside the tolerance */
	int64_t first_bad;
	double got_bad, want_bad;
} compare;

/* Compares got with want elementwise; a shape or dtype mismatch is reported
 * in msg and returns 0. */
static int compare_tensors(const gb_tensor *got, const gb_tensor *want, double rtol, double atol, compare *c,
                           char *msg, size_t msg_size)
{
	char got_shape[128], want_shape[128];
	memset(c, 0, sizeof *c);
	c->first_bad = -1;
	if (got->dtype != GB_DTYPE_F32 || want->dtype != GB_DTYPE_F32) {
		snprintf(msg, msg_size, "dtype %s, reference %s (want float32)", gb_dtype_name(got->dtype),
		         gb_dtype_name(want->dtype));
		return 0;
	}
	int same = got->ndim == want->ndim;
	for (int d = 0; same && d < got->ndim; d++)
		same = got->dims[d] == want->dims[d];
	if (!same) {
		snprintf(msg, msg_size, "shape %s, reference %s", gb_shape_str(got->ndim, got->dims, got_shape, 128),
		         gb_shape_str(want->ndim, want->dims, want_shape, 128));
		return 0;
	}
	const float *g = got->data, *w = want->data;
	for (int64_t i = 0; i < gb_tensor_numel(want); i++) {
		double err = fabs((double)g[i] - (double)w[i]);
		if (!(err <= rtol * fabs((double)w[i]) + atol)) { /* NaN fails too */
			if (c->n_bad++ == 0) {
				c->first_bad = i;
				c->got_bad = g[i];
				c->want_bad = w[i];
			}
		}
		if (err > c->max_err || err != err)
			c->max_err = err;
	}
	if (c->n_bad) {
		snprintf(msg, msg_size, "%lld of %lld elements off (max err %.3g; first at %lld: got %.8g want %.8g)",
		         (long long)c->n_bad, (long long)gb_tensor_numel(want), c->max_err, (long long)c->first_bad,
		         c->got_bad, c->want_bad);
		return 0;
	}
	return 1;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && strcmp(s + n - k, suffix) == 0;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of dir that pass keep(dir, name); NULL on
 * failure to read the directory (errno set). Caller frees each and the array. */
static char **list_dir(const char *dir, int (*keep)(const char *dir, const char *name), int *n_out)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char **names = NULL;
	int n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !keep(dir, e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			char **grown = realloc(names, (size_t)cap * sizeof *names);
			if (!grown) {
				perror("fixtures");
				exit(2);
			}
			names = grown;
		}
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			perror("fixtures");
			exit(2);
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, (size_t)n, sizeof *names, cmp_names);
	*n_out = n;
	return names ? names : calloc(1, sizeof *names);
}

static void free_names(char **names, int n)
{
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

static int keep_subdir(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return is_dir(path);
}

static int keep_grad_file(const char *dir, const char *name)
{
	(void)dir;
	return has_suffix(name, GRAD_SUFFIX);
}

/* Runs one fixture folder; prints its PASS/FAIL line; returns 1 on pass. */
static int run_fixture(const char *root, const char *name)
{
	char dir[4096], path[4096], msg[512] = "";
	gb_error err = {0};
	gb_model *model = NULL;
	gb_session *s = NULL;
	gb_tensor *x = NULL, *y = NULL, *r = NULL, *g = NULL, *wg = NULL;
	char **grads = NULL;
	int n_grads = 0, ok = 0;
	double fwd_err = 0.0, grad_err = 0.0;
	compare c;

	snprintf(dir, sizeof dir, "%s/%s", root, name);
#define LOAD_NPY(var, file)                                                                                  \
	do {                                                                                                     \
		snprintf(path, sizeof path, "%s/%s", dir, file);                                                     \
		if (gb_npy_load(path, &var, &err) != GB_OK)                                                          \
			goto fail;                                                                                       \
	} while (0)

	snprintf(path, sizeof path, "%s/model.onnx", dir);
	if (gb_model_load(path, &model, &err) != GB_OK)
		goto fail;
	if (gb_model_n_inputs(model) != 1 || gb_model_n_outputs(model) < 1) {
		snprintf(msg, sizeof msg, "%s: want 1 input and an output, model has %d inputs and %d outputs", path,
		         gb_model_n_inputs(model), gb_model_n_outputs(model));
		goto fail;
	}
	LOAD_NPY(x, "x.npy");
	LOAD_NPY(y, "y.npy");
	LOAD_NPY(r, "r.npy");
	LOAD_NPY(g, "g.npy");

	/* Forward. */
	if (gb_session_new(model, &s, &err) != GB_OK || gb_session_set_input(s, 0, x, &err) != GB_OK ||
	    gb_session_forward(s, &err) != GB_OK)
		goto fail;
	if (!compare_tensors(gb_session_output(s, 0), y, Y_RTOL, Y_ATOL, &c, msg, sizeof msg)) {
		char detail[512];
		snprintf(detail, sizeof detail, "forward: %s", msg);
		memcpy(msg, detail, sizeof msg);
		goto fail;
	}
	fwd_err = c.max_err;

	/* Backward, seeded with r on output 0 (and zero on any other output). */
	const gb_tensor *seeds[16] = {r};
	if (gb_model_n_outputs(model) > 16) {
		snprintf(msg, sizeof msg, "model has %d outputs, more than this checker seeds", gb_model_n_outputs(model));
		goto fail;
	}
	if (gb_session_backward(s, seeds, &err) != GB_OK)
		goto fail;
	const gb_tensor *got_g = gb_session_input_grad(s, 0);
	if (!got_g) {
		snprintf(msg, sizeof msg, "backward: no gradient reached input 0");
		goto fail;
	}
	if (!compare_tensors(got_g, g, G_RTOL, G_ATOL, &c, msg, sizeof msg)) {
		char detail[512];
		snprintf(detail, sizeof detail, "input gradient: %s", msg);
		memcpy(msg, detail, sizeof msg);
		goto fail;
	}
	grad_err = c.max_err;

	/* Weight gradients: W.grad.npy holds d/dW for the initializer named W. */
	grads = list_dir(dir, keep_grad_file, &n_grads);
	if (!grads) {
		snprintf(msg, sizeof msg, "cannot list %s", dir);
		goto fail;
	}
	for (int i = 0; i < n_grads; i++) {
		char weight[1024];
		size_t len = strlen(grads[i]) - strlen(GRAD_SUFFIX);
		if (len >= sizeof weight)
			len = sizeof weight - 1;
		memcpy(weight, grads[i], len);
		weight[len] = '\0';
		gb_tensor_free(wg);
		wg = NULL;
		LOAD_NPY(wg, grads[i]);
		const gb_tensor *got_w = gb_session_grad(s, weight);
		if (!got_w) {
			snprintf(msg, sizeof msg, "backward: no gradient for weight '%s'", weight);
			goto fail;
		}
		if (!compare_tensors(got_w, wg, G_RTOL, G_ATOL, &c, msg, sizeof msg)) {
			char detail[512];
			snprintf(detail, sizeof detail, "gradient of '%s': %.400s", weight, msg);
			memcpy(msg, detail, sizeof msg);
			goto fail;
		}
		if (c.max_err > grad_err)
			grad_err = c.max_err;
	}
	ok = 1;
	printf("PASS %s: forward max err %.2g, grad max err %.2g (input + %d weight%s)\n", name, fwd_err, grad_err,
	       n_grads, n_grads == 1 ? "" : "s");
	goto done;

fail:
	printf("FAIL %s: %s\n", name, msg[0] ? msg : err.msg);
done:
#undef LOAD_NPY
	free_names(grads, n_grads);
	gb_tensor_free(wg);
	gb_tensor_free(g);
	gb_tensor_free(r);
	gb_tensor_free(y);
	gb_tensor_free(x);
	gb_session_free(s);
	gb_model_free(model);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR   (DIR holds one folder per fixture)\n", argv[0]);
		return 2;
	}
	int n = 0, passed = 0;
	char **names = list_dir(argv[1], keep_subdir, &n);
	if (!names) {
		fprintf(stderr, "fixtures: cannot read %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (int i = 0; i < n; i++)
		passed += run_fixture(argv[1], names[i]);
	free_names(names, n);
	printf("fixtures: %d passed, %d failed, %d total\n", passed, n - passed, n);
	if (n == 0)
		fprintf(stderr, "fixtures: no fixture folders in %s\n", argv[1]);
	return n > 0 && passed == n ? 0 : 1;
}
