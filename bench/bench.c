/*
 * bench.c — glassbox's throughput against the machine's practical peak.
 *
 * In one process, with OpenBLAS's thread count:
 *
 *   1. cblas_sgemm on the MLP's largest product (10000x784 times 784x512,
 *      weights transposed as Gemm's transB=1 reads them) and on a square
 *      2048^3 product: the rate a float32 matmul reaches here;
 *   2. glassbox forward, and forward+backward, on
 *        mlp: Gemm 784->512, Relu, Gemm 512->512, Relu, Gemm 512->10, batch 10000
 *        cnn: Conv 1->16 5x5, Relu, MaxPool 2, Conv 16->32 5x5, Relu, MaxPool 2,
 *             Flatten, Gemm 512->10, 28x28 input, batch 256
 *      built in memory with the graph builders, random weights;
 *   3. each glassbox rate as a fraction of the sgemm rate;
 *   4. train: training throughput on MNIST (data/mnist/train.npz, from
 *      `make data`; skipped with a note when absent) — one epoch of the
 *      784-256-256-256-256-10 MLP at batch 128, Adam lr 1e-3, cross-entropy,
 *      through the library's training API (gb_arch_build, gb_train_model),
 *      in samples per second, median of several epochs after a warm-up
 *      epoch; the test accuracy after the warm-up epoch is printed as a
 *      sanity check.
 *
 * The MLP's output is also checked against a direct cblas_sgemm computation,
 * so a fast wrong answer fails the benchmark rather than passing for speed
 * (the networks' numerics are tested in full by tests/e2e/fixtures.c).
 *
 * GFLOP/s counts useful flops only: 2*M*N*K per matrix product and
 * 2*B*OC*OH*OW*IC*KH*KW per convolution, nothing for bias, activation or
 * pooling. Backward counts twice the forward products (the gradient of both
 * operands of every product, the network input included), so forward+backward
 * counts three times the forward. Each figure is the median of several timed
 * repeats after warm-up runs.
 *
 * Output: human-readable lines, and machine-readable ones that bench/run
 * parses:  bench NAME gflops=G ms=T  (and  bench threads n=N,
 * bench train_mnist samples_s=S ms=T test_acc=A).
 * Exits 1 if a glassbox model fails to build or run (printed), 0 otherwise.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glassbox.h"
#include "exec/ops.h"
#include "train/train.h"

#define MAX_REPEATS 15

/* The training benchmark: one warm-up epoch, then this many timed epochs. */
#define TRAIN_EPOCHS 7
#define TRAIN_ARCH "784-256-256-256-256-10"
#define TRAIN_BATCH 128
#define MNIST_TRAIN "data/mnist/train.npz"
#define MNIST_TEST "data/mnist/test.npz"

/* ---- timing --------------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Runs fn warmup times untimed, then times it repeats times (stopping early
 * once min_repeats are done and budget_s has passed); returns the median
 * seconds per call, or a negative number if fn failed. */
static double median_time(int (*fn)(void *), void *arg, int warmup, int min_repeats, int repeats, double budget_s)
{
	double t[MAX_REPEATS];
	int n = 0;
	for (int i = 0; i < warmup; i++)
		if (!fn(arg))
			return -1.0;
	double start = now_s();
	while (n < repeats && n < MAX_REPEATS) {
		double t0 = now_s();
		if (!fn(arg))
			return -1.0;
		t[n++] = now_s() - t0;
		if (n >= min_repeats && now_s() - start > budget_s)
			break;
	}
	qsort(t, (size_t)n, sizeof t[0], cmp_double);
	return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static void report(const char *name, const char *what, double flops, double seconds)
{
	double gflops = flops / seconds * 1e-9;
	printf("  %-34s %9.2f ms  %8.1f GFLOP/s\n", what, seconds * 1e3, gflops);
	printf("bench %s gflops=%.3f ms=%.4f\n", name, gflops, seconds * 1e3);
}

/* ---- random data ------------------------------------------------------------------- */

static uint64_t rng_state = 0x853c49e6748fea9bULL;

/* Uniform in [-1, 1) (xorshift64*). */
static float uniform(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (float)((double)((x * 2685821657736338717ULL) >> 11) / 4503599627370496.0 - 1.0);
}

static void fill(float *p, int64_t n, float scale)
{
	for (int64_t i = 0; i < n; i++)
		p[i] = scale * uniform();
}

/* ---- sgemm ---------------------------------------------------------------------- */

typedef struct gemm_case {
	int M, N, K;
	int trans_b;
	float *a, *b, *c; /* a: (M, K); b: (N, K) when trans_b, else (K, N); c: (M, N) */
} gemm_case;

static int run_sgemm(void *arg)
{
	gemm_case *g = arg;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, g->trans_b ? CblasTrans : CblasNoTrans, g->M, g->N, g->K, 1.0f, g->a,
	            g->K, g->b, g->trans_b ? g->K : g->N, 0.0f, g->c, g->N);
	return 1;
}

/* Returns the GFLOP/s rate, or a negative number when memory runs out. */
static double bench_sgemm(const char *name, const char *what, int M, int N, int K, int trans_b)
{
	gemm_case g = {M, N, K, trans_b, NULL, NULL, NULL};
	g.a = malloc((size_t)M * (size_t)K * sizeof(float));
	g.b = malloc((size_t)K * (size_t)N * sizeof(float));
	g.c = malloc((size_t)M * (size_t)N * sizeof(float));
	double rate = -1.0;
	if (g.a && g.b && g.c) {
		fill(g.a, (int64_t)M * K, 1.0f);
		fill(g.b, (int64_t)K * N, 1.0f);
		double flops = 2.0 * M * N * K;
		double t = median_time(run_sgemm, &g, 2, 5, MAX_REPEATS, 3.0);
		report(name, what, flops, t);
		rate = flops / t * 1e-9;
	} else {
		printf("  %s: out of memory\n", what);
	}
	free(g.a);
	free(g.b);
	free(g.c);
	return rate;
}

/* ---- building models in memory --------------------------------------------------------- */

typedef struct builder {
	gb_model *m;
	int n_nodes;
	int last; /* value index of the latest output */
	gb_error *err;
	gb_status st;
} builder;

/* A float32 weight of this shape, uniform in [-scale, scale). */
static int add_weight(builder *b, const char *name, int ndim, const int64_t *dims, float scale)
{
	if (b->st != GB_OK)
		return -1;
	gb_tensor *t = NULL;
	int v = gb_model_add_value(b->m, name, GB_DTYPE_F32, ndim, dims);
	if (v < 0 || (b->st = gb_tensor_new(GB_DTYPE_F32, ndim, dims, &t, b->err)) != GB_OK) {
		if (b->st == GB_OK)
			b->st = GB_STATUS_NOMEM;
		return -1;
	}
	fill(t->data, gb_tensor_numel(t), scale);
	b->st = gb_model_set_init(b->m, v, t, b->err);
	gb_tensor_free(t);
	return v;
}

/* Appends a node reading ins (value indices) and writing a new value; it
 * becomes b->last. */
static void add_node(builder *b, const char *op, int n_in, const int *ins, const gb_attr *attrs, int n_attrs)
{
	if (b->st != GB_OK)
		return;
	char name[32];
	snprintf(name, sizeof name, "%s_%d", op, b->n_nodes);
	int out = gb_model_add_value(b->m, name, GB_DTYPE_F32, -1, NULL);
	int node = out < 0 ? -1 : gb_model_add_node(b->m, name, op, "", n_in, ins, 1, &out);
	if (node < 0) {
		b->st = GB_STATUS_NOMEM;
		return;
	}
	b->n_nodes++;
	for (int a = 0; a < n_attrs && b->st == GB_OK; a++)
		b->st = gb_node_add_attr(b->m, &b->m->nodes[node], &attrs[a], b->err);
	b->last = out;
}

/* Gemm(last, W (out, in), bias (out)) with transB = 1, as torch exports Linear. */
static void add_linear(builder *b, const char *name, int64_t in, int64_t out)
{
	char wname[64], bname[64];
	snprintf(wname, sizeof wname, "%s.weight", name);
	snprintf(bname, sizeof bname, "%s.bias", name);
	int64_t wdims[2] = {out, in}, bdims[1] = {out};
	float scale = 1.0f / (float)in; /* keeps activations of order one */
	int ins[3] = {b->last, add_weight(b, wname, 2, wdims, scale * 16.0f), add_weight(b, bname, 1, bdims, 0.1f)};
	gb_attr trans_b = {.name = "transB", .type = GB_ATTR_INT, .i = 1};
	add_node(b, "Gemm", 3, ins, &trans_b, 1);
}

static void add_conv(builder *b, const char *name, int64_t in_c, int64_t out_c, int64_t k)
{
	char wname[64], bname[64];
	snprintf(wname, sizeof wname, "%s.weight", name);
	snprintf(bname, sizeof bname, "%s.bias", name);
	int64_t wdims[4] = {out_c, in_c, k, k}, bdims[1] = {out_c};
	int64_t kernel[2] = {k, k};
	int ins[3] = {b->last, add_weight(b, wname, 4, wdims, 1.0f / (float)(in_c * k)),
	              add_weight(b, bname, 1, bdims, 0.1f)};
	gb_attr kernel_shape = {.name = "kernel_shape", .type = GB_ATTR_INTS, .n = 2, .ints = kernel};
	add_node(b, "Conv", 3, ins, &kernel_shape, 1);
}

static void add_unary(builder *b, const char *op)
{
	int in = b->last;
	add_node(b, op, 1, &in, NULL, 0);
}

static void add_maxpool2(builder *b)
{
	int64_t two[2] = {2, 2};
	gb_attr attrs[2] = {
	    {.name = "kernel_shape", .type = GB_ATTR_INTS, .n = 2, .ints = two},
	    {.name = "strides", .type = GB_ATTR_INTS, .n = 2, .ints = two},
	};
	int in = b->last;
	add_node(b, "MaxPool", 1, &in, attrs, 2);
}

/* Starts a model with one float32 input of shape (-1, dims...). */
static void builder_start(builder *b, const char *label, int ndim, const int64_t *dims, gb_error *err)
{
	memset(b, 0, sizeof *b);
	b->err = err;
	b->st = gb_model_new_empty(label, &b->m, err);
	if (b->st != GB_OK)
		return;
	b->m->opset = 13;
	b->last = gb_model_add_value(b->m, "x", GB_DTYPE_F32, ndim, dims);
	if (b->last < 0)
		b->st = GB_STATUS_NOMEM;
}

static gb_model *builder_finish(builder *b, int input)
{
	if (b->st == GB_OK)
		b->st = gb_model_set_io(b->m, 1, &input, 1, &b->last, b->err);
	if (b->st == GB_OK)
		b->st = gb_model_prepare(b->m, b->err);
	if (b->st != GB_OK) {
		if (!b->err->msg[0])
			snprintf(b->err->msg, sizeof b->err->msg, "%s", gb_status_name(b->st));
		gb_model_free(b->m);
		return NULL;
	}
	return b->m;
}

static gb_model *build_mlp(gb_error *err)
{
	builder b;
	int64_t dims[2] = {-1, 784};
	builder_start(&b, "bench-mlp", 2, dims, err);
	int input = b.last;
	add_linear(&b, "fc1", 784, 512);
	add_unary(&b, "Relu");
	add_linear(&b, "fc2", 512, 512);
	add_unary(&b, "Relu");
	add_linear(&b, "fc3", 512, 10);
	return builder_finish(&b, input);
}

static gb_model *build_cnn(gb_error *err)
{
	builder b;
	int64_t dims[4] = {-1, 1, 28, 28};
	builder_start(&b, "bench-cnn", 4, dims, err);
	int input = b.last;
	add_conv(&b, "conv1", 1, 16, 5); /* (B, 16, 24, 24) */
	add_unary(&b, "Relu");
	add_maxpool2(&b);                 /* (B, 16, 12, 12) */
	add_conv(&b, "conv2", 16, 32, 5); /* (B, 32, 8, 8) */
	add_unary(&b, "Relu");
	add_maxpool2(&b);                 /* (B, 32, 4, 4) */
	add_unary(&b, "Flatten");         /* (B, 512) */
	add_linear(&b, "fc", 512, 10);
	return builder_finish(&b, input);
}

/* ---- checking the MLP's output ------------------------------------------------------ */

/* The MLP's output computed directly with cblas_sgemm, so that a fast but
 * wrong kernel cannot pass for a result. Returns the largest
 * |got - want| / (1 + |want|), or a negative number when memory runs out. */
static double check_mlp(const gb_model *m, const gb_tensor *x, const gb_tensor *y)
{
	static const char *layers[3] = {"fc1", "fc2", "fc3"};
	int64_t B = x->dims[0];
	const float *in = x->data;
	float *buf[2] = {malloc((size_t)B * 512 * sizeof(float)), malloc((size_t)B * 512 * sizeof(float))};
	double worst = -1.0;
	if (!buf[0] || !buf[1])
		goto done;
	for (int l = 0; l < 3; l++) {
		char wname[32], bname[32];
		snprintf(wname, sizeof wname, "%s.weight", layers[l]);
		snprintf(bname, sizeof bname, "%s.bias", layers[l]);
		const gb_tensor *w = m->values[gb_model_find_value(m, wname)].init; /* (N, K) */
		const gb_tensor *b = m->values[gb_model_find_value(m, bname)].init; /* (N) */
		int N = (int)w->dims[0], K = (int)w->dims[1];
		float *out = buf[l % 2]; /* (B, N) */
		const float *bias = b->data;
		for (int64_t i = 0; i < B; i++)
			memcpy(out + i * N, bias, (size_t)N * sizeof(float));
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, N, K, 1.0f, in, K, w->data, K, 1.0f, out, N);
		if (l < 2)
			for (int64_t i = 0; i < B * N; i++)
				out[i] = out[i] > 0.0f ? out[i] : 0.0f;
		in = out;
	}
	worst = 0.0;
	const float *got = y->data;
	for (int64_t i = 0; i < B * 10; i++) {
		double err = fabs((double)got[i] - (double)in[i]) / (1.0 + fabs((double)in[i]));
		if (!(err <= worst)) /* catches NaN */
			worst = err;
	}
done:
	free(buf[0]);
	free(buf[1]);
	return worst;
}

/* ---- glassbox runs ------------------------------------------------------------------- */

typedef struct net_case {
	gb_session *s;
	gb_tensor *seed; /* cotangent of the output */
	gb_error err;
	int failed;
} net_case;

static int run_forward(void *arg)
{
	net_case *c = arg;
	if (gb_session_forward(c->s, &c->err) != GB_OK)
		return c->failed = 1, 0;
	return 1;
}

static int run_train(void *arg)
{
	net_case *c = arg;
	const gb_tensor *seeds[1] = {c->seed};
	if (gb_session_forward(c->s, &c->err) != GB_OK || gb_session_backward(c->s, seeds, &c->err) != GB_OK)
		return c->failed = 1, 0;
	return 1;
}

/* Benchmarks forward and forward+backward; fills rates[0..1] (GFLOP/s).
 * Returns 0 and prints why on failure. */
static int bench_net(const char *name, gb_model *(*build)(gb_error *), int ndim, const int64_t *in_dims,
                     int64_t out_features, double fwd_flops,
                     double (*check)(const gb_model *, const gb_tensor *, const gb_tensor *), double rates[2])
{
	gb_error err = {0};
	net_case c = {0};
	gb_tensor *x = NULL;
	int ok = 0;
	char fwd_name[64], train_name[64];
	int64_t out_dims[2] = {in_dims[0], out_features};

	gb_model *m = build(&err);
	if (!m)
		goto fail;
	if (gb_tensor_new(GB_DTYPE_F32, ndim, in_dims, &x, &err) != GB_OK ||
	    gb_tensor_new(GB_DTYPE_F32, 2, out_dims, &c.seed, &err) != GB_OK)
		goto fail;
	fill(x->data, gb_tensor_numel(x), 1.0f);
	fill(c.seed->data, gb_tensor_numel(c.seed), 1.0f);
	if (gb_session_new(m, &c.s, &err) != GB_OK || gb_session_set_input(c.s, 0, x, &err) != GB_OK)
		goto fail;

	snprintf(fwd_name, sizeof fwd_name, "%s_forward", name);
	snprintf(train_name, sizeof train_name, "%s_train", name);
	double t = median_time(run_forward, &c, 2, 5, MAX_REPEATS, 4.0);
	if (t < 0)
		goto run_fail;
	report(fwd_name, "forward", fwd_flops, t);
	rates[0] = fwd_flops / t * 1e-9;
	t = median_time(run_train, &c, 1, 5, MAX_REPEATS, 6.0);
	if (t < 0)
		goto run_fail;
	report(train_name, "forward+backward", 3.0 * fwd_flops, t);
	rates[1] = 3.0 * fwd_flops / t * 1e-9;
	if (check) {
		/* The last run did a forward pass on x: its output is current. */
		double worst = check(m, x, gb_session_output(c.s, 0));
		printf("  %-34s max |err|/(1+|want|) = %.2g\n", "output vs direct cblas_sgemm", worst);
		if (!(worst >= 0.0 && worst <= 1e-4)) {
			snprintf(err.msg, sizeof err.msg, "output differs from the cblas_sgemm reference (%.3g)", worst);
			goto fail;
		}
	}
	ok = 1;
	goto done;

run_fail:
	err = c.err;
fail:
	printf("  %s failed: %s\n", name, err.msg[0] ? err.msg : "unknown error");
	printf("bench %s error\n", name);
done:
	gb_session_free(c.s);
	gb_tensor_free(c.seed);
	gb_tensor_free(x);
	gb_model_free(m);
	return ok;
}

/* ---- training on MNIST ------------------------------------------------------------- */

/* Loads x and y of an .npz written by `glassbox data mnist`. Returns 0 when
 * the file is absent (*missing set) or unreadable (printed). */
static int load_mnist(const char *path, gb_tensor_map **map, gb_train_data *d, int *missing)
{
	gb_error err = {0};
	*map = NULL;
	*missing = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		*missing = 1;
		return 0;
	}
	fclose(f);
	if (gb_npz_load(path, map, &err) != GB_OK) {
		printf("  %s: %s\n", path, err.msg);
		return 0;
	}
	d->x = gb_tensor_map_get(*map, "x");
	d->y = gb_tensor_map_get(*map, "y");
	d->label = path;
	if (!d->x || !d->y) {
		printf("  %s: needs arrays x and y\n", path);
		return 0;
	}
	return 1;
}

/* One MNIST epoch of the 784-256-256-256-256-10 MLP at batch 128 with Adam
 * (lr 1e-3) and cross-entropy, through the library's training API
 * (gb_arch_build + gb_train_model), as `glassbox train` runs it: a fresh
 * network trains one warm-up epoch, after which its test accuracy is
 * measured; then TRAIN_EPOCHS more epochs (no test set, so nothing but
 * training) are timed one by one from the trainer's per-epoch wall time and
 * the median reported. Returns 0 on failure (printed), 1 otherwise,
 * including when the data is missing (skipped with a note). */
static int bench_train_mnist(void)
{
	gb_error err = {0};
	gb_tensor_map *train_map = NULL, *test_map = NULL;
	gb_train_data train = {0}, test = {0};
	gb_model *m = NULL;
	gb_train_epoch warm[1], hist[TRAIN_EPOCHS];
	int ok = 0, missing = 0, test_missing = 0;

	if (!load_mnist(MNIST_TRAIN, &train_map, &train, &missing)) {
		if (missing) {
			printf("  skipped: %s not found (run `make data` first)\n", MNIST_TRAIN);
			printf("bench train_mnist skipped\n");
			ok = 1;
		} else {
			printf("bench train_mnist error\n");
		}
		goto done;
	}
	int have_test = load_mnist(MNIST_TEST, &test_map, &test, &test_missing);
	if (!have_test && !test_missing)
		goto fail_quiet;

	gb_arch a;
	gb_arch_options o = {.seed = 1};
	gb_train_config c;
	gb_train_config_default(&c);
	c.batch = TRAIN_BATCH;
	c.optim = GB_OPTIM_ADAM;
	c.lr = 1e-3;
	c.loss = GB_LOSS_CE;
	c.epochs = 1;
	if (gb_arch_parse(TRAIN_ARCH, &a, &err) != GB_OK ||
	    gb_arch_build(&a, train.x->ndim - 1, train.x->dims + 1, &o, &m, &err) != GB_OK ||
	    gb_train_model(m, &train, have_test ? &test : NULL, &c, warm, NULL, NULL, &err) != GB_OK)
		goto fail;
	c.epochs = TRAIN_EPOCHS;
	if (gb_train_model(m, &train, NULL, &c, hist, NULL, NULL, &err) != GB_OK)
		goto fail;

	double t[TRAIN_EPOCHS];
	for (int i = 0; i < TRAIN_EPOCHS; i++)
		t[i] = hist[i].seconds;
	qsort(t, TRAIN_EPOCHS, sizeof t[0], cmp_double);
	double sec = t[TRAIN_EPOCHS / 2], n = (double)train.x->dims[0];
	printf("  warm-up epoch %.2f s, train accuracy %.2f%%", warm[0].seconds, 100.0 * warm[0].train_acc);
	if (have_test)
		printf(", test accuracy after it %.2f%% (%lld digits)", 100.0 * warm[0].test_acc,
		       (long long)test.x->dims[0]);
	printf("\n  timed epochs (s):");
	for (int i = 0; i < TRAIN_EPOCHS; i++)
		printf(" %.3f", hist[i].seconds);
	printf("\n  %-34s %9.2f ms  %8.0f samples/s  (fastest epoch %.2f ms)\n", "epoch (median)", sec * 1e3, n / sec,
	       t[0] * 1e3);
	printf("bench train_mnist samples_s=%.1f ms=%.4f min_ms=%.4f", n / sec, sec * 1e3, t[0] * 1e3);
	if (have_test)
		printf(" test_acc=%.4f", warm[0].test_acc);
	printf("\n");
	ok = 1;
	goto done;

fail:
	printf("  train failed: %s\n", err.msg[0] ? err.msg : "unknown error");
fail_quiet:
	printf("bench train_mnist error\n");
done:
	gb_model_free(m);
	gb_tensor_map_free(train_map);
	gb_tensor_map_free(test_map);
	return ok;
}

/* With no arguments everything runs; otherwise only the parts named
 * (sgemm, mlp, cnn, train), e.g. to profile one network. */
static int wanted(int argc, char **argv, const char *part)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], part) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int threads = openblas_get_num_threads();
	int failed = 0;
	printf("glassbox %s benchmark, %d thread%s (OpenBLAS's count; glassbox's kernels call OpenBLAS)\n", GB_VERSION,
	       threads, threads == 1 ? "" : "s");
	printf("bench threads n=%d\n", threads);

	const int B_MLP = 10000, B_CNN = 256;
	double sgemm_mlp = 0, sgemm_square = 0;
	if (wanted(argc, argv, "sgemm")) {
		printf("\nOpenBLAS cblas_sgemm\n");
		sgemm_mlp = bench_sgemm("sgemm_mlp", "10000x784 . (512x784)^T", B_MLP, 512, 784, 1);
		sgemm_square = bench_sgemm("sgemm_square", "2048x2048 . 2048x2048", 2048, 2048, 2048, 0);
	}

	/* MLP 784-512-512-10: 2*B*(784*512 + 512*512 + 512*10) per forward. */
	double mlp_flops = 2.0 * B_MLP * (784.0 * 512 + 512.0 * 512 + 512.0 * 10);
	/* CNN: conv1 16x24x24 outputs of 1x5x5, conv2 32x8x8 outputs of 16x5x5, fc 512->10. */
	double cnn_flops = 2.0 * B_CNN * (16.0 * 24 * 24 * 25 + 32.0 * 8 * 8 * 16 * 25 + 512.0 * 10);
	double mlp[2] = {0}, cnn[2] = {0};
	int64_t mlp_in[2] = {B_MLP, 784}, cnn_in[4] = {B_CNN, 1, 28, 28};

	if (wanted(argc, argv, "mlp")) {
		printf("\nglassbox mlp 784-512-512-10 (Gemm+Relu), batch %d\n", B_MLP);
		failed |= !bench_net("mlp", build_mlp, 2, mlp_in, 10, mlp_flops, check_mlp, mlp);
	}
	if (wanted(argc, argv, "cnn")) {
		printf("\nglassbox cnn conv5x5(16)-relu-pool-conv5x5(32)-relu-pool-gemm(10), 28x28, batch %d\n", B_CNN);
		failed |= !bench_net("cnn", build_cnn, 4, cnn_in, 10, cnn_flops, NULL, cnn);
	}

	if (wanted(argc, argv, "train")) {
		printf("\nglassbox train: MNIST MLP %s, batch %d, Adam lr 1e-3, cross-entropy, %s (one epoch = one pass "
		       "in shuffled order); median of %d epochs after a warm-up epoch\n",
		       TRAIN_ARCH, TRAIN_BATCH, MNIST_TRAIN, TRAIN_EPOCHS);
		failed |= !bench_train_mnist();
	}

	const char *names[4] = {"mlp_forward", "mlp_train", "cnn_forward", "cnn_train"};
	double rates[4] = {mlp[0], mlp[1], cnn[0], cnn[1]};
	if (sgemm_mlp > 0 && sgemm_square > 0 && (rates[0] > 0 || rates[2] > 0))
		printf("\nfraction of the sgemm rate (MLP shape / square)\n");
	for (int i = 0; i < 4; i++) {
		if (rates[i] <= 0 || sgemm_mlp <= 0 || sgemm_square <= 0)
			continue;
		printf("  %-34s %6.2f / %6.2f\n", names[i], rates[i] / sgemm_mlp, rates[i] / sgemm_square);
		printf("bench %s_vs_sgemm ratio=%.4f square=%.4f\n", names[i], rates[i] / sgemm_mlp, rates[i] / sgemm_square);
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
