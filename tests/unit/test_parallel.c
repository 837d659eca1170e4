/*
 * test_parallel.c — gb_parallel_for: every index runs exactly once, in
 * contiguous ranges of at least the grain, serially when nested, and a
 * forked child can still run loops; and the ops that use it (Relu, MaxPool, Conv)
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
	_Atomic int running[64]; /* ranges running per part id */
	_Atomic int bad_part;    /* part ids out of range or shared by ranges running at once */
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
	if (part < 0 || part >= gb_parallel_threads() || c->running[part]++ != 0)
		c->bad_part++;
	int64_t len = hi - lo, cur = c->min_len;
	while (len < cur && !atomic_compare_exchange_weak(&c->min_len, &cur, len))
		;
	for (int64_t i = lo; i < hi; i++)
		c->hits[i]++;
	if (part >= 0 && part < 64)
		c->running[part]--;
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
	cr_assert_eq(c.bad_part, 0, "a part id was out of range or shared by ranges running at once");
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
	/* Tiny jobs back to back: workers often wake after their job is done. */
	for (int r = 0; r < 5000; r++)
		check_once(2 + r % 3, 1, 0);
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

/* Conv 2-D, 3x3, pad 1, on a batch whose chunks split into several
 * per-image ranges (im2col, scatter, col2im, bias gradient), against the
 * definition in double. */
Test(parallel, conv_large)
{
	const int64_t N = 16, C = 3, M = 8, H = 20, W = 19, K = 3;
	int64_t xdims[4] = {N, C, H, W}, wdims[4] = {M, C, K, K}, bdims[1] = {M}, ydims[4] = {N, M, H, W};
	gb_tensor *x = tu_random(4, xdims, -1.0f, 1.0f, 21), *w = tu_random(4, wdims, -1.0f, 1.0f, 22);
	gb_tensor *b = tu_random(1, bdims, -1.0f, 1.0f, 23), *r = tu_random(4, ydims, -1.0f, 1.0f, 24);
	int64_t kernel[2] = {K, K}, pads[4] = {1, 1, 1, 1};
	gb_attr attrs[2] = {{.name = "kernel_shape", .type = GB_ATTR_INTS, .n = 2, .ints = kernel},
	                    {.name = "pads", .type = GB_ATTR_INTS, .n = 4, .ints = pads}};
	gb_error err = {0};
	const gb_tensor *ins[3] = {x, w, b};
	gb_model *m = tu_single("Conv", 3, ins, NULL, 1, attrs, 2, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_session *s = NULL;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_set_inputs(s, 3, ins, NULL, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	const gb_tensor *seeds[1] = {r};
	cr_assert_eq(gb_session_backward(s, seeds, &err), GB_OK, "%s", err.msg);
	const float *xd = x->data, *wd = w->data, *bd = b->data, *rd = r->data;
	const float *y = gb_session_output(s, 0)->data;
	const float *gx = gb_session_input_grad(s, 0)->data, *gw = gb_session_input_grad(s, 1)->data;
	const float *gb = gb_session_input_grad(s, 2)->data;
	double *want_gx = calloc((size_t)(N * C * H * W), sizeof *want_gx);
	double *want_gw = calloc((size_t)(M * C * K * K), sizeof *want_gw), want_gb[8] = {0};
	cr_assert(want_gx && want_gw);
	for (int64_t n = 0; n < N; n++)
		for (int64_t mo = 0; mo < M; mo++)
			for (int64_t oh = 0; oh < H; oh++)
				for (int64_t ow = 0; ow < W; ow++) {
					const int64_t o = ((n * M + mo) * H + oh) * W + ow;
					double acc = bd[mo];
					for (int64_t c = 0; c < C; c++)
						for (int64_t i = 0; i < K; i++)
							for (int64_t j = 0; j < K; j++) {
								const int64_t ih = oh + i - 1, iw = ow + j - 1;
								if (ih < 0 || ih >= H || iw < 0 || iw >= W)
									continue;
								const int64_t xi = ((n * C + c) * H + ih) * W + iw, wi = ((mo * C + c) * K + i) * K + j;
								acc += (double)wd[wi] * xd[xi];
								want_gx[xi] += (double)wd[wi] * rd[o];
								want_gw[wi] += (double)xd[xi] * rd[o];
							}
					cr_assert(fabs(y[o] - acc) <= 1e-4 * (1.0 + fabs(acc)), "y[%lld] = %g, want %g", (long long)o, y[o],
					          acc);
					want_gb[mo] += rd[o];
				}
	for (int64_t i = 0; i < N * C * H * W; i++)
		cr_assert(fabs(gx[i] - want_gx[i]) <= 1e-4 * (1.0 + fabs(want_gx[i])), "gx[%lld]", (long long)i);
	for (int64_t i = 0; i < M * C * K * K; i++)
		cr_assert(fabs(gw[i] - want_gw[i]) <= 1e-3 * (1.0 + fabs(want_gw[i])), "gw[%lld] = %g, want %g",
		          (long long)i, gw[i], want_gw[i]);
	for (int64_t i = 0; i < M; i++)
		cr_assert(fabs(gb[i] - want_gb[i]) <= 1e-3 * (1.0 + fabs(want_gb[i])), "gb[%lld]", (long long)i);
	free(want_gx);
	free(want_gw);
	gb_session_free(s);
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(w);
	gb_tensor_free(b);
	gb_tensor_free(r);
}
