/*
 * test_parallel.c — gb_parallel_for: every index runs exactly once, in
 * contiguous ranges of at least the grain, serially when nested, and a
 * forked child can still run loops; and the ops that use it (Relu, MaxPool)
 * on tensors large enough to be split, against naive references.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include <math.h>

#include "core/core.h"
#include "testutil.h"

typedef struct count_ctx {
	_Atomic int *hits;   /* (n) times each index ran */
	_Atomic int calls;   /* ranges handed out */
	_Atomic int64_t min_len;
	_Atomic int parts_seen[64]; /* ranges per part id */
	_Atomic int bad_part;       /* part ids out of range or repeated */
	int nested;          /* run a nested loop inside each range */
	_Atomic int nested_ok;
} count_ctx;

static void inner(void *arg, int64_t lo, int64_t hi, int part)
{
	(void)part;
	int64_t *sum = arg;
	for (int64_t i = lo; i < hi; i++)
		*sum += i;
}

static void count(void *arg, int64_t lo, int64_t hi, int part)
{
	count_ctx *c = arg;
	c->calls++;
	if (part < 0 || part >= gb_parallel_threads() || c->parts_seen[part]++ != 0)
		c->bad_part++;
	int64_t len = hi - lo, cur = c->min_len;
	while (len < cur && !atomic_compare_exchange_weak(&c->min_len, &cur, len))
		;
	for (int64_t i = lo; i < hi; i++)
		c->hits[i]++;
	if (c->nested) {
		int64_t sum = 0; /* a nested loop runs serially in this thread: no race on sum */
		gb_parallel_for(1000, 1, inner, &sum);
		if (sum == 999 * 1000 / 2)
			c->nested_ok++;
	}
}

static void check_once(int64_t n, int64_t grain, int nested)
{
	_Atomic int *hits = calloc((size_t)(n > 0 ? n : 1), sizeof *hits);
	cr_assert_not_null(hits);
	count_ctx c = {.hits = hits, .min_len = INT64_MAX, .nested = nested};
	gb_parallel_for(n, grain, count, &c);
	for (int64_t i = 0; i < n; i++)
		cr_assert_eq(hits[i], 1, "n %lld grain %lld: index %lld ran %d times", (long long)n, (long long)grain,
		             (long long)i, (int)hits[i]);
	int threads = gb_parallel_threads();
	cr_assert_geq(threads, 1);
	if (n > 0) {
		cr_assert_geq(c.calls, 1);
		cr_assert_leq(c.calls, threads);
		if (n < 2 * grain)
			cr_assert_eq(c.calls, 1, "n %lld < 2 * grain %lld must run serially", (long long)n, (long long)grain);
		else if (threads > 1)
			cr_assert_geq(c.calls, 2, "n %lld grain %lld ran in one range with %d threads", (long long)n,
			              (long long)grain, threads);
		if (c.calls > 1)
			cr_assert_geq(c.min_len, grain);
	} else {
		cr_assert_eq(c.calls, 0);
	}
	if (nested)
		cr_assert_eq(c.nested_ok, c.calls);
	cr_assert_eq(c.bad_part, 0, "a part id was out of range or given twice");
	free(hits);
}

Test(parallel, every_index_once)
{
	int64_t sizes[] = {0, 1, 2, 3, 7, 64, 1000, 100003};
	int64_t grains[] = {1, 2, 5, 1000, 1 << 20};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		for (size_t j = 0; j < sizeof grains / sizeof grains[0]; j++)
			check_once(sizes[i], grains[j], 0);
}

Test(parallel, repeated_and_nested)
{
	for (int r = 0; r < 200; r++)
		check_once(4096 + r, 16, r % 2);
}

Test(parallel, child_after_fork)
{
	check_once(10000, 1, 0); /* the pool is running in this process */
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		_Atomic int hits[5000] = {0};
		count_ctx c = {.hits = hits, .min_len = INT64_MAX};
		gb_parallel_for(5000, 1, count, &c);
		for (int i = 0; i < 5000; i++)
			if (hits[i] != 1)
				_exit(1);
		_exit(0);
	}
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forked child's loop failed");
}

/* ---- ops on split ranges ---------------------------------------------------- */

/* Runs op on x forward, then backward with seed; copies of Y and dX. */
static void run_op(const char *op, gb_tensor *x, const gb_attr *attrs, int n_attrs, const float *seed,
                   gb_tensor **y, gb_tensor **gx)
{
	gb_error err = {0};
	const gb_tensor *ins[1] = {x};
	gb_model *m = tu_single(op, 1, ins, NULL, 1, attrs, n_attrs, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_session *s = NULL;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	const gb_tensor *out = gb_session_output(s, 0);
	cr_assert_eq(gb_tensor_clone(out, y, &err), GB_OK);
	gb_tensor *sd = tu_tensor(GB_DTYPE_F32, out->ndim, out->dims, seed);
	const gb_tensor *seeds[1] = {sd};
	cr_assert_eq(gb_session_backward(s, seeds, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_tensor_clone(gb_session_input_grad(s, 0), gx, &err), GB_OK);
	gb_tensor_free(sd);
	gb_session_free(s);
	gb_model_free(m);
}

Test(parallel, relu_large)
{
	int64_t dims[2] = {300, 1001}; /* several ranges, an odd split */
	gb_tensor *x = tu_random(2, dims, -1.0f, 1.0f, 7);
	gb_tensor *seed = tu_random(2, dims, -1.0f, 1.0f, 8);
	gb_tensor *y = NULL, *gx = NULL;
	run_op("Relu", x, NULL, 0, seed->data, &y, &gx);
	const float *xd = x->data, *sd = seed->data, *yd = y->data, *gd = gx->data;
	for (int64_t i = 0; i < dims[0] * dims[1]; i++) {
		cr_assert_eq(yd[i], xd[i] < 0.0f ? 0.0f : xd[i], "y[%lld]", (long long)i);
		cr_assert_eq(gd[i], xd[i] > 0.0f ? sd[i] : 0.0f, "gx[%lld]", (long long)i);
	}
	gb_tensor_free(x);
	gb_tensor_free(seed);
	gb_tensor_free(y);
	gb_tensor_free(gx);
}

/* MaxPool with kernel k, stride s, no padding, on (N, C, H, W) against the
 * definition: the first maximum in row-major window order, a NaN winning;
 * the gradient goes to it. */
static void check_maxpool(int64_t k, int64_t st)
{
	const int64_t N = 8, C = 64, H = 24, W = 23;
	int64_t dims[4] = {N, C, H, W};
	gb_tensor *x = tu_random(4, dims, -1.0f, 1.0f, 11);
	float *xd = x->data;
	for (int64_t i = 0; i < N * C * H * W; i += 97)
		xd[i] = 0.5f; /* ties */
	xd[5 * H * W + 30] = NAN; /* NaN planes in different ranges */
	xd[400 * H * W + 3] = NAN;
	int64_t kernel[2] = {k, k}, strides[2] = {st, st};
	gb_attr attrs[2] = {{.name = "kernel_shape", .type = GB_ATTR_INTS, .n = 2, .ints = kernel},
	                    {.name = "strides", .type = GB_ATTR_INTS, .n = 2, .ints = strides}};
	const int64_t OH = (H - k) / st + 1, OW = (W - k) / st + 1;
	int64_t odims[4] = {N, C, OH, OW};
	gb_tensor *seed = tu_random(4, odims, -1.0f, 1.0f, 12);
	gb_tensor *y = NULL, *gx = NULL;
	run_op("MaxPool", x, attrs, 2, seed->data, &y, &gx);
	float *want_gx = calloc((size_t)(N * C * H * W), sizeof *want_gx);
	cr_assert_not_null(want_gx);
	const float *yd = y->data, *sd = seed->data;
	for (int64_t p = 0; p < N * C; p++)
		for (int64_t oh = 0; oh < OH; oh++)
			for (int64_t ow = 0; ow < OW; ow++) {
				int64_t at = -1;
				float best = 0.0f;
				for (int64_t i = 0; i < k; i++)
					for (int64_t j = 0; j < k; j++) {
						int64_t pos = p * H * W + (oh * st + i) * W + ow * st + j;
						float v = xd[pos];
						if (at < 0 || v > best || (isnan(v) && !isnan(best))) {
							best = v;
							at = pos;
						}
					}
				int64_t o = (p * OH + oh) * OW + ow;
				cr_assert(isnan(best) ? isnan(yd[o]) : yd[o] == best, "k %lld: y[%lld] = %g, want %g",
				          (long long)k, (long long)o, yd[o], best);
				want_gx[at] += sd[o];
			}
	cr_assert_eq(tu_close(gx->data, want_gx, N * C * H * W, 1e-6, 1e-6), 0, "k %lld: gradient", (long long)k);
	free(want_gx);
	gb_tensor_free(x);
	gb_tensor_free(seed);
	gb_tensor_free(y);
	gb_tensor_free(gx);
}

Test(parallel, maxpool_large)
{
	check_maxpool(2, 2); /* the 2x2 fast path */
	check_maxpool(3, 2); /* the general one */
}
