/*
 * test_interp.c — the .gbx interpreter (src/lang/interp.c, gb_ast_run).
 *
 *   examples     every program in examples/ gives the right answers: max3 is
 *                the max, sort3 sorts, parity on all 2^8 bit vectors, adder2
 *                on all 16 input pairs, smallconv against the NumPy reference
 *                in tests/fixtures/interp (make_interp_fixtures.py)
 *   primitives   one table over the vocabulary of docs/language.md §10: each
 *                row a one-line program on x: f32[6] and an independent C
 *                reference, run on all 64 {0,1}^6 vectors, random reals and
 *                edge rows (zeros, ties, large values) in one batch
 *   weights      a side-car .safetensors file is read relative to the program
 *   errors       syntax and static errors, a missing side-car file or tensor,
 *                a tensor of the wrong shape, an input of the wrong shape:
 *                GB_STATUS_BAD_FILE and a FILE:LINE:COL message
 *
 * Run from the repository root (paths are relative to it).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/lang.h"

/* ---- helpers ---------------------------------------------------------------------- */

static gb_tensor *make(int ndim, const int64_t *dims, const float *data)
{
	gb_tensor *t = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_tensor_new(GB_DTYPE_F32, ndim, dims, &t, &err), GB_OK, "%s", err.msg);
	if (data)
		memcpy(t->data, data, sizeof(float) * (size_t)gb_tensor_numel(t));
	return t;
}

/* Parses and runs src (labelled file) on the inputs; returns the status,
 * the outputs in *outs (caller frees) and the message in err. */
static gb_status run_src(const char *src, const char *file, const char *dir, gb_tensor **ins, int n_in,
                         gb_tensor_map **outs, gb_error *err)
{
	gb_ast *ast = NULL;
	*outs = NULL;
	gb_status st = gb_ast_parse(src, strlen(src), file, &ast, err);
	if (st != GB_OK)
		return st;
	cr_assert_eq(gb_tensor_map_new(outs, err), GB_OK);
	st = gb_ast_run(ast, dir, (const gb_tensor *const *)ins, n_in, *outs, NULL, 0, NULL, err);
	gb_ast_free(ast);
	return st;
}

static gb_tensor_map *run_file(const char *path, gb_tensor **ins, int n_in)
{
	gb_ast *ast = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_ast_parse_file(path, &ast, &err), GB_OK, "%s", err.msg);
	gb_tensor_map *outs = NULL;
	cr_assert_eq(gb_tensor_map_new(&outs, &err), GB_OK);
	gb_status st = gb_ast_run(ast, "examples", (const gb_tensor *const *)ins, n_in, outs, NULL, 0, NULL, &err);
	cr_assert_eq(st, GB_OK, "%s: %s", path, err.msg);
	gb_ast_free(ast);
	return outs;
}

static const float *out_data(const gb_tensor_map *m, const char *name, int ndim, const int64_t *dims)
{
	const gb_tensor *t = gb_tensor_map_get(m, name);
	cr_assert(t, "no output %s", name);
	cr_assert_eq(t->ndim, ndim, "%s: rank %d, want %d", name, t->ndim, ndim);
	for (int k = 0; k < ndim; k++)
		cr_assert_eq(t->dims[k], dims[k], "%s: dim %d is %lld, want %lld", name, k, (long long)t->dims[k],
		             (long long)dims[k]);
	return t->data;
}

/* ---- examples ----------------------------------------------------------------------- */

static float urand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)((*s >> 8) & 0xffff) / 65536.0f * 8.0f - 4.0f;
}

Test(examples, max3_is_the_max)
{
	enum { N = 40 };
	float x[N * 3];
	unsigned seed = 1;
	for (int i = 0; i < N * 3; i++)
		x[i] = urand(&seed);
	x[0] = x[1] = x[2] = 2.5f; /* a three-way tie */
	gb_tensor *in = make(2, (int64_t[]){N, 3}, x);
	gb_tensor_map *outs = run_file("examples/max3.gbx", &in, 1);
	const float *y = out_data(outs, "y", 2, (int64_t[]){N, 1});
	for (int n = 0; n < N; n++)
		cr_assert_eq(y[n], fmaxf(x[3 * n], fmaxf(x[3 * n + 1], x[3 * n + 2])), "item %d", n);
	gb_tensor_map_free(outs);
	gb_tensor_free(in);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

Test(examples, sort3_sorts)
{
	enum { N = 40 };
	float x[N * 3];
	unsigned seed = 2;
	for (int i = 0; i < N * 3; i++)
		x[i] = urand(&seed);
	x[3] = x[5] = -1.0f; /* ties */
	gb_tensor *in = make(2, (int64_t[]){N, 3}, x);
	gb_tensor_map *outs = run_file("examples/sort3.gbx", &in, 1);
	const float *y = out_data(outs, "y", 2, (int64_t[]){N, 3});
	for (int n = 0; n < N; n++) {
		float want[3] = {x[3 * n], x[3 * n + 1], x[3 * n + 2]};
		qsort(want, 3, sizeof(float), cmp_float);
		for (int k = 0; k < 3; k++)
			cr_assert_eq(y[3 * n + k], want[k], "item %d position %d", n, k);
	}
	gb_tensor_map_free(outs);
	gb_tensor_free(in);
}

Test(examples, parity_on_every_byte)
{
	float x[256 * 8];
	for (int n = 0; n < 256; n++)
		for (int k = 0; k < 8; k++)
			x[n * 8 + k] = (float)((n >> k) & 1);
	gb_tensor *in = make(2, (int64_t[]){256, 8}, x);
	gb_tensor_map *outs = run_file("examples/parity.gbx", &in, 1);
	const float *y = out_data(outs, "odd", 1, (int64_t[]){256});
	for (int n = 0; n < 256; n++)
		cr_assert_eq(y[n], (float)(__builtin_popcount((unsigned)n) & 1), "byte %d", n);
	gb_tensor_map_free(outs);
	gb_tensor_free(in);
}

Test(examples, adder2_exhaustive)
{
	float a[16 * 2], b[16 * 2];
	for (int n = 0; n < 16; n++) {
		a[2 * n] = (float)(n & 1);
		a[2 * n + 1] = (float)((n >> 1) & 1);
		b[2 * n] = (float)((n >> 2) & 1);
		b[2 * n + 1] = (float)((n >> 3) & 1);
	}
	gb_tensor *ins[2] = {make(2, (int64_t[]){16, 2}, a), make(2, (int64_t[]){16, 2}, b)};
	gb_tensor_map *outs = run_file("examples/adder2.gbx", ins, 2);
	const float *t = out_data(outs, "total", 2, (int64_t[]){16, 3});
	for (int n = 0; n < 16; n++) {
		int sum = (n & 3) + ((n >> 2) & 3);
		for (int k = 0; k < 3; k++)
			cr_assert_eq(t[3 * n + k], (float)((sum >> k) & 1), "a=%d b=%d bit %d", n & 3, n >> 2, k);
	}
	gb_tensor_map_free(outs);
	gb_tensor_free(ins[0]);
	gb_tensor_free(ins[1]);
}

Test(examples, smallconv_matches_numpy)
{
	gb_tensor *x = NULL, *logits = NULL, *label = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_npy_load("tests/fixtures/interp/smallconv_input.npy", &x, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_npy_load("tests/fixtures/interp/smallconv_logits.npy", &logits, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_npy_load("tests/fixtures/interp/smallconv_label.npy", &label, &err), GB_OK, "%s", err.msg);
	int64_t N = x->dims[0];
	gb_tensor_map *outs = run_file("examples/smallconv.gbx", &x, 1);
	const float *y = out_data(outs, "logits", 2, (int64_t[]){N, 3});
	const float *l = out_data(outs, "label", 1, (int64_t[]){N});
	const float *want = logits->data, *want_l = label->data;
	for (int64_t i = 0; i < N * 3; i++)
		cr_assert_float_eq(y[i], want[i], 1e-5, "logit %lld: %g vs %g", (long long)i, y[i], want[i]);
	for (int64_t n = 0; n < N; n++)
		cr_assert_eq(l[n], want_l[n], "label of item %lld", (long long)n);
	/* The last three images are clean lines: vertical, horizontal, diagonal. */
	cr_assert(l[N - 3] == 0.0f && l[N - 2] == 1.0f && l[N - 1] == 2.0f);
	gb_tensor_map_free(outs);
	gb_tensor_free(x);
	gb_tensor_free(logits);
	gb_tensor_free(label);
}

/* ---- the primitive table ------------------------------------------------------------ */

#define D 6 /* every row's input is x: f32[6] */

typedef struct prim_case {
	const char *name;
	const char *body; /* statements after "input x: f32[6]"; they define output y */
	int n_out;        /* elements of y per item */
	void (*ref)(const float *x, float *y);
	double tol; /* absolute + relative tolerance; 0: exact */
} prim_case;

static float rmax(float a, float b) { return b > a ? b : a; }
static float rmin(float a, float b) { return b < a ? b : a; }

static void r_relu(const float *x, float *y) { for (int i = 0; i < D; i++) y[i] = x[i] > 0 ? x[i] : 0; }
static void r_abs(const float *x, float *y) { for (int i = 0; i < D; i++) y[i] = x[i] < 0 ? -x[i] : x[i]; }
static void r_sigmoid(const float *x, float *y) { for (int i = 0; i < D; i++) y[i] = (float)(1 / (1 + exp(-(double)x[i]))); }
static void r_tanh(const float *x, float *y) { for (int i = 0; i < D; i++) y[i] = (float)tanh(x[i]); }
static void r_gelu(const float *x, float *y) { for (int i = 0; i < D; i++) y[i] = (float)(0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)))); }
static void r_clamp(const float *x, float *y) { for (int i = 0; i < D; i++) y[i] = x[i] < -0.5f ? -0.5f : x[i] > 1.5f ? 1.5f : x[i]; }
static void r_step(const float *x, float *y) { for (int i = 0; i < D; i++) y[i] = x[i] > 0.25f ? 1 : 0; }
static void r_ramp(const float *x, float *y)
{
	for (int i = 0; i < D; i++) {
		float u = (x[i] - 1.0f) / 2.0f;
		y[i] = u < 0 ? 0 : u > 1 ? 1 : u;
	}
}
static void r_max3(const float *x, float *y) { y[0] = rmax(rmax(x[0], x[1]), x[2]); }
static void r_min_b(const float *x, float *y) { for (int i = 0; i < 3; i++) y[i] = rmin(x[i], x[3 + i]); }
static void r_max_all(const float *x, float *y) { y[0] = x[0]; for (int i = 1; i < D; i++) y[0] = rmax(y[0], x[i]); }
static void r_min_axis(const float *x, float *y) { for (int i = 0; i < 2; i++) y[i] = rmin(rmin(x[3 * i], x[3 * i + 1]), x[3 * i + 2]); }
static void r_sort(const float *x, float *y) { memcpy(y, x, sizeof(float) * D); qsort(y, D, sizeof(float), cmp_float); }
static void r_sort_desc(const float *x, float *y) { r_sort(x, y); for (int i = 0; i < D / 2; i++) { float t = y[i]; y[i] = y[D - 1 - i]; y[D - 1 - i] = t; } }
static void r_argmax(const float *x, float *y) { int b = 0; for (int i = 1; i < D; i++) if (x[i] > x[b]) b = i; y[0] = (float)b; }
static void r_argmax_axis(const float *x, float *y)
{
	for (int j = 0; j < 3; j++)
		y[j] = x[3 + j] > x[j] ? 1.0f : 0.0f;
}
static void r_and(const float *x, float *y) { for (int i = 0; i < 3; i++) y[i] = rmin(x[i], x[3 + i]); }
static void r_or(const float *x, float *y) { for (int i = 0; i < 3; i++) y[i] = rmax(x[i], x[3 + i]); }
static void r_not(const float *x, float *y) { for (int i = 0; i < D; i++) y[i] = 1 - x[i]; }
static void r_xor(const float *x, float *y) { for (int i = 0; i < 3; i++) y[i] = fabsf(x[i] - x[3 + i]); }
static void r_xor3(const float *x, float *y) { y[0] = fabsf(fabsf(x[0] - x[1]) - x[2]); }
static void r_median3(const float *x, float *y)
{
	float a = x[0], b = x[1], c = x[2];
	y[0] = rmax(rmin(a, b), rmin(rmax(a, b), c));
}
static void r_median5(const float *x, float *y) { float t[5]; memcpy(t, x, sizeof t); qsort(t, 5, sizeof(float), cmp_float); y[0] = t[2]; }
static void r_bool_logic(const float *x, float *y)
{
	for (int i = 0; i < 3; i++) {
		bool a = x[i] > 0.5f, b = x[3 + i] > 0.5f;
		y[i] = (float)((a && !b) || (a != b));
	}
}
static void r_bool_major(const float *x, float *y) { y[0] = (float)((x[0] > 0) + (x[1] > 0) + (x[2] > 0) >= 2); }
static void r_cmp(const float *x, float *y)
{
	for (int i = 0; i < 3; i++) {
		y[i] = x[i] < x[3 + i];
		y[3 + i] = (x[i] >= 0.5f) + (x[i] == x[3 + i]) + (x[i] != 0.0f);
	}
}
static void r_where(const float *x, float *y) { for (int i = 0; i < D; i++) y[i] = x[i] > 0 ? x[i] : 2 * x[i]; }
static void r_arith(const float *x, float *y)
{
	for (int i = 0; i < 3; i++)
		y[i] = (x[i] + 2.0f * x[3 + i] - 0.5f) / 4.0f - -x[i];
}
static void r_sum(const float *x, float *y) { float s = 0; for (int i = 0; i < D; i++) s += x[i]; y[0] = s; y[1] = s / D; }
static void r_sum_axis(const float *x, float *y) { for (int j = 0; j < 3; j++) y[j] = x[j] + x[3 + j]; }
static void r_softmax(const float *x, float *y)
{
	double m = x[0], s = 0;
	for (int i = 1; i < D; i++) m = x[i] > m ? x[i] : m;
	for (int i = 0; i < D; i++) s += exp(x[i] - m);
	for (int i = 0; i < D; i++) y[i] = (float)(exp(x[i] - m) / s);
}
static void r_log_softmax(const float *x, float *y)
{
	double m = x[0], s = 0;
	for (int i = 1; i < D; i++) m = x[i] > m ? x[i] : m;
	for (int i = 0; i < D; i++) s += exp(x[i] - m);
	for (int i = 0; i < D; i++) y[i] = (float)(x[i] - m - log(s));
}
static const float W[2][6] = {{1, -2, 0.5f, 0, 3, -1}, {0.25f, 0.25f, -0.75f, 2, -3, 1}};
static void r_dense(const float *x, float *y)
{
	for (int o = 0; o < 2; o++) {
		double s = o == 0 ? 0.5 : -1.0;
		for (int i = 0; i < D; i++)
			s += (double)W[o][i] * x[i];
		y[o] = (float)s;
	}
}
static void r_matmul(const float *x, float *y) /* reshape(x,[2,3]) @ transpose(reshape(x,[2,3])) */
{
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++) {
			double s = 0;
			for (int k = 0; k < 3; k++)
				s += (double)x[3 * i + k] * x[3 * j + k];
			y[2 * i + j] = (float)s;
		}
}
static void r_matvec(const float *x, float *y) { for (int i = 0; i < 2; i++) y[i] = x[3 * i] * 1 + x[3 * i + 1] * 2 + x[3 * i + 2] * 3; }
static void r_transpose(const float *x, float *y) { for (int j = 0; j < 3; j++) for (int i = 0; i < 2; i++) y[2 * j + i] = x[3 * i + j]; }
static void r_slices(const float *x, float *y)
{
	for (int i = 0; i < D; i++) y[i] = x[D - 1 - i];
	y[6] = x[1]; y[7] = x[3]; y[8] = x[5]; y[9] = x[5]; y[10] = x[4];
}
static void r_concat(const float *x, float *y) { y[0] = x[0]; y[1] = x[1]; y[2] = x[4]; y[3] = x[5]; y[4] = x[2]; }
static void r_reshape(const float *x, float *y) { y[0] = x[2]; y[1] = x[3]; }
static void r_comp(const float *x, float *y) { for (int i = 0; i < D; i++) y[i] = x[i] * (float)i; }
static void r_def(const float *x, float *y) { for (int j = 0; j < 2; j++) { float s = x[3 * j] + x[3 * j + 1] + x[3 * j + 2]; y[j] = s > 0 ? s : 0; } }
static void r_conv(const float *x, float *y) /* x as [1,2,3]; kernel [[1,-1],[2,0.5]]; padding 1; bias 0.25 */
{
	const float k[2][2] = {{1, -1}, {2, 0.5f}};
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++) {
			float s = 0.25f;
			for (int p = 0; p < 2; p++)
				for (int q = 0; q < 2; q++) {
					int r = i + p - 1, c = j + q - 1;
					if (r >= 0 && r < 2 && c >= 0 && c < 3)
						s += k[p][q] * x[3 * r + c];
				}
			y[4 * i + j] = s;
		}
}
static void r_conv_groups(const float *x, float *y) /* x as [2,1,3], groups 2, kernels [1,2] and [-1,1], stride 2 */
{
	y[0] = x[0] + 2 * x[1];
	y[1] = -x[3] + x[4];
}
static void r_pool(const float *x, float *y) /* x as [1,2,3], size 2, stride 1, padding 1 */
{
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++) {
			float m = -INFINITY, s = 0;
			int cnt = 0;
			for (int p = 0; p < 2; p++)
				for (int q = 0; q < 2; q++) {
					int r = i + p - 1, c = j + q - 1;
					if (r >= 0 && r < 2 && c >= 0 && c < 3) {
						m = rmax(m, x[3 * r + c]);
						s += x[3 * r + c];
						cnt++;
					}
				}
			y[4 * i + j] = m;
			y[12 + 4 * i + j] = s / (float)cnt;
		}
}
static void r_elemset(const float *x, float *y) { y[0] = x[5]; y[1] = 7; y[2] = 7; y[3] = x[0]; }

static const prim_case cases[] = {
	{"relu", "output y = relu(x)", D, r_relu, 0},
	{"abs", "output y = abs(x)", D, r_abs, 0},
	{"sigmoid", "output y = sigmoid(x)", D, r_sigmoid, 1e-6},
	{"tanh", "output y = tanh(x)", D, r_tanh, 1e-6},
	{"gelu", "output y = gelu(x)", D, r_gelu, 1e-6},
	{"clamp", "output y = clamp(x, -0.5, 1.5)", D, r_clamp, 0},
	{"step", "output y = step(x, 0.25)", D, r_step, 0},
	{"step width", "output y = step(x, 1.0, width=2.0)", D, r_ramp, 0},
	{"max variadic", "output y = max(x[0], x[1], x[2])", 1, r_max3, 0},
	{"min broadcast", "output y = min(x[0:3], x[3:])", 3, r_min_b, 0},
	{"max reduce", "output y = max(x)", 1, r_max_all, 0},
	{"min axis", "output y = min(reshape(x, [2, 3]), axis=-1)", 2, r_min_axis, 0},
	{"sort", "output y = sort(x)", D, r_sort, 0},
	{"sort descending", "output y = sort(x, descending=True)", D, r_sort_desc, 0},
	{"argmax", "output y = argmax(x)", 1, r_argmax, 0},
	{"argmax axis", "output y = argmax(reshape(x, [2, 3]), axis=0)", 3, r_argmax_axis, 0},
	{"and f32", "output y = x[0:3] and x[3:6]", 3, r_and, 0},
	{"or f32", "output y = x[0:3] or x[3:6]", 3, r_or, 0},
	{"not f32", "output y = not x", D, r_not, 0},
	{"xor f32", "output y = xor(x[0:3], x[3:6])", 3, r_xor, 0},
	{"xor variadic", "output y = xor(x[0], x[1], x[2])", 1, r_xor3, 0},
	{"majority 3", "output y = majority(x[0], x[1], x[2])", 1, r_median3, 0},
	{"majority 5", "output y = majority(x[0], x[1], x[2], x[3], x[4])", 1, r_median5, 0},
	{"bool logic", "a = x[0:3] > 0.5\nb = x[3:6] > 0.5\noutput y = float((a and not b) or xor(a, b))", 3,
	 r_bool_logic, 0},
	{"bool majority", "output y = float(majority(x[0] > 0.0, x[1] > 0.0, x[2] > 0.0))", 1, r_bool_major, 0},
	{"comparisons",
	 "output y: f32[6]\ny[0:3] = float(x[0:3] < x[3:6])\n"
	 "y[3:6] = float(x[0:3] >= 0.5) + float(x[0:3] == x[3:6]) + float(x[0:3] != 0.0)",
	 D, r_cmp, 0},
	{"where", "output y = where(x > 0.0, x, 2.0 * x)", D, r_where, 0},
	{"arithmetic", "output y = (x[0:3] + 2 * x[3:6] - 0.5) / 4 - -x[0:3]", 3, r_arith, 1e-6},
	{"sum mean", "output y = [sum(x), mean(x)]", 2, r_sum, 1e-5},
	{"sum axis", "output y = sum(reshape(x, [2, 3]), axis=0)", 3, r_sum_axis, 0},
	{"softmax", "output y = softmax(x)", D, r_softmax, 1e-6},
	{"log_softmax", "output y = log_softmax(x)", D, r_log_softmax, 1e-6},
	{"dense",
	 "param W: f32[2, 6] = [[1, -2, 0.5, 0, 3, -1], [0.25, 0.25, -0.75, 2, -3, 1]]\n"
	 "param b: f32[2] = [0.5, -1]\noutput y = dense(x, W, b)",
	 2, r_dense, 1e-5},
	{"matmul", "m = reshape(x, [2, 3])\noutput y = flatten(m @ transpose(m))", 4, r_matmul, 1e-5},
	{"matvec", "output y = matmul(reshape(x, [2, 3]), [1, 2, 3])", 2, r_matvec, 1e-5},
	{"transpose", "output y = flatten(transpose(reshape(x, [2, 3]), [1, 0]))", D, r_transpose, 0},
	{"slices", "output y = concat(x[::-1], x[1::2], x[-1:], x[-2:-3:-1])", 11, r_slices, 0},
	{"concat", "output y = concat(x[0:2], x[4:6], [x[2]], axis=0)", 5, r_concat, 0},
	{"reshape", "output y = reshape(x, [3, -1])[1]", 2, r_reshape, 0},
	{"comprehension", "output y = [x[i] * i for i in range(6)]", D, r_comp, 0},
	{"def and for",
	 "def unit(v: f32[n]) -> f32:\n    total = v[0]\n    for i in range(1, n):\n        total = total + v[i]\n"
	 "    return relu(total)\n"
	 "output y: f32[2]\nfor j in range(2):\n    y[j] = unit(x[3 * j:3 * j + 3])",
	 2, r_def, 1e-6},
	{"conv2d padding",
	 "param k: f32[1, 1, 2, 2] = [[[[1, -1], [2, 0.5]]]]\n"
	 "output y = flatten(conv2d(reshape(x, [1, 2, 3]), k, bias=[0.25], padding=1))",
	 12, r_conv, 1e-6},
	{"conv2d groups stride",
	 "param k: f32[2, 1, 1, 2] = [[[[1, 2]]], [[[-1, 1]]]]\n"
	 "output y = flatten(conv2d(reshape(x, [2, 1, 3]), k, stride=[1, 2], groups=2))",
	 2, r_conv_groups, 1e-6},
	{"pooling",
	 "img = reshape(x, [1, 2, 3])\n"
	 "output y = concat(flatten(maxpool2d(img, 2, stride=1, padding=1)), "
	 "flatten(avgpool2d(img, [2, 2], 1, 1)))",
	 24, r_pool, 1e-6},
	{"element assignment", "output y: f32[4]\ny[1:3] = 7\ny[0] = x[-1]\ny[3] = x[0]", 4, r_elemset, 0},
};

Test(primitives, table)
{
	/* Rows: all of {0,1}^6, then edge rows, then random reals. */
	enum { NB = 64, NE = 4, NR = 60, N = NB + NE + NR };
	static float x[N * D];
	for (int n = 0; n < NB; n++)
		for (int k = 0; k < D; k++)
			x[n * D + k] = (float)((n >> k) & 1);
	float edge[NE][D] = {{0, 0, 0, 0, 0, 0}, {1.5f, 1.5f, 1.5f, 1.5f, 1.5f, 1.5f},
	                     {50, -50, 40, -40, 0.25f, 1.0f}, {-1, 2, -1, 2, 0.5f, -0.5f}};
	memcpy(x + NB * D, edge, sizeof edge);
	unsigned seed = 42;
	for (int i = (NB + NE) * D; i < N * D; i++)
		x[i] = urand(&seed);
	gb_tensor *in = make(2, (int64_t[]){N, D}, x);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		const prim_case *pc = &cases[c];
		char src[1024];
		snprintf(src, sizeof src, "input x: f32[6]\n%s\n", pc->body);
		gb_tensor_map *outs;
		gb_error err = {0};
		gb_status st = run_src(src, pc->name, NULL, &in, 1, &outs, &err);
		cr_assert_eq(st, GB_OK, "%s: %s", pc->name, err.msg);
		const gb_tensor *y = gb_tensor_map_get(outs, "y");
		cr_assert(y && y->dtype == GB_DTYPE_F32 && y->dims[0] == N, "%s: output y", pc->name);
		cr_assert_eq(gb_tensor_numel(y), (int64_t)N * pc->n_out, "%s: %lld elements", pc->name,
		             (long long)gb_tensor_numel(y));
		const float *got = y->data;
		for (int n = 0; n < N; n++) {
			float want[32];
			pc->ref(x + n * D, want);
			for (int k = 0; k < pc->n_out; k++) {
				float g = got[n * pc->n_out + k], w = want[k];
				if (pc->tol == 0)
					cr_assert(g == w || (isnan(g) && isnan(w)), "%s: item %d element %d: %.9g, want %.9g", pc->name,
					          n, k, (double)g, (double)w);
				else
					cr_assert(fabs((double)g - w) <= pc->tol * (1 + fabs((double)w)),
					          "%s: item %d element %d: %.9g, want %.9g", pc->name, n, k, (double)g, (double)w);
			}
		}
		gb_tensor_map_free(outs);
	}
	gb_tensor_free(in);
}

Test(primitives, bool_inputs_and_outputs)
{
	gb_tensor *b = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_tensor_new(GB_DTYPE_BOOL, 2, (int64_t[]){4, 2}, &b, &err), GB_OK);
	uint8_t *d = b->data;
	for (int n = 0; n < 4; n++) {
		d[2 * n] = (uint8_t)(n & 1);
		d[2 * n + 1] = (uint8_t)(n >> 1);
	}
	gb_tensor_map *outs;
	cr_assert_eq(run_src("input b: bool[2]\noutput y = xor(b[0], b[1]) == (b[0] != b[1])\noutput z = b[0] and b[1]\n",
	                     "bool.gbx", NULL, &b, 1, &outs, &err),
	             GB_OK, "%s", err.msg);
	const gb_tensor *y = gb_tensor_map_get(outs, "y"), *z = gb_tensor_map_get(outs, "z");
	cr_assert(y->dtype == GB_DTYPE_BOOL && z->dtype == GB_DTYPE_BOOL);
	for (int n = 0; n < 4; n++) {
		cr_assert_eq(((uint8_t *)y->data)[n], 1);
		cr_assert_eq(((uint8_t *)z->data)[n], n == 3);
	}
	gb_tensor_map_free(outs);
	gb_tensor_free(b);
}

Test(primitives, constant_outputs_repeat_over_the_batch)
{
	gb_tensor *in = make(2, (int64_t[]){3, 2}, (float[]){1, 2, 3, 4, 5, 6});
	gb_tensor_map *outs;
	gb_error err = {0};
	cr_assert_eq(run_src("input x: f32[2]\noutput c = [1, 2] * 0.5\noutput s = x + c\n", "const.gbx", NULL, &in, 1,
	                     &outs, &err),
	             GB_OK, "%s", err.msg);
	const float *c = out_data(outs, "c", 2, (int64_t[]){3, 2}), *s = out_data(outs, "s", 2, (int64_t[]){3, 2});
	for (int n = 0; n < 3; n++) {
		cr_assert(c[2 * n] == 0.5f && c[2 * n + 1] == 1.0f);
		cr_assert(s[2 * n] == (float)(2 * n + 1) + 0.5f && s[2 * n + 1] == (float)(2 * n + 2) + 1.0f);
	}
	gb_tensor_map_free(outs);
	gb_tensor_free(in);
}

/* ---- side-car weights ----------------------------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/gb_interp_XXXXXX");
	cr_assert(mkdtemp(tmpdir));
	gb_tensor_map *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_tensor_map_new(&m, &err), GB_OK);
	gb_tensor *w = make(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, -1, 0, 1});
	gb_tensor *b = make(1, (int64_t[]){2}, (float[]){0.5f, -0.5f});
	cr_assert_eq(gb_tensor_map_put(m, "fc.weight", w, &err), GB_OK);
	cr_assert_eq(gb_tensor_map_put(m, "fc.bias", b, &err), GB_OK);
	char path[128];
	snprintf(path, sizeof path, "%s/w.safetensors", tmpdir);
	cr_assert_eq(gb_safetensors_save(path, m, &err), GB_OK, "%s", err.msg);
	gb_tensor_free(w);
	gb_tensor_free(b);
	gb_tensor_map_free(m);
}

static void remove_tmpdir(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/w.safetensors", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

Test(weights, sidecar_is_read_relative_to_the_program, .init = make_tmpdir, .fini = remove_tmpdir)
{
	gb_tensor *in = make(2, (int64_t[]){2, 3}, (float[]){1, 1, 1, 0, 1, 2});
	gb_tensor_map *outs;
	gb_error err = {0};
	const char *src = "weights \"w.safetensors\"\ninput x: f32[3]\n"
	                  "param W: f32[2, 3] = weights[\"fc.weight\"]\nparam b: f32[2] = weights[\"fc.bias\"]\n"
	                  "output y = dense(x, W, b)\n";
	cr_assert_eq(run_src(src, "mlp.gbx", tmpdir, &in, 1, &outs, &err), GB_OK, "%s", err.msg);
	const float *y = out_data(outs, "y", 2, (int64_t[]){2, 2});
	cr_assert(y[0] == 6.5f && y[1] == -0.5f && y[2] == 8.5f && y[3] == 1.5f, "%g %g %g %g", y[0], y[1], y[2], y[3]);
	gb_tensor_map_free(outs);
	gb_tensor_free(in);
}

/* ---- errors ------------------------------------------------------------------------------ */

static void expect_error(const char *src, const char *dir, gb_tensor *in, const char *prefix, const char *part)
{
	gb_tensor_map *outs = NULL;
	gb_error err = {0};
	gb_status st = run_src(src, "bad.gbx", dir, &in, in ? 1 : 0, &outs, &err);
	cr_assert_eq(st, GB_STATUS_BAD_FILE, "status %d for: %s (%s)", st, src, err.msg);
	cr_assert(strncmp(err.msg, prefix, strlen(prefix)) == 0, "message '%s' does not start with '%s'", err.msg, prefix);
	cr_assert(strstr(err.msg, part), "message '%s' does not say '%s'", err.msg, part);
	gb_tensor_map_free(outs);
}

Test(errors, bad_programs_and_files, .init = make_tmpdir, .fini = remove_tmpdir)
{
	gb_tensor *in = make(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
	expect_error("input x: f32[3]\noutput y = relu(x\n", NULL, in, "bad.gbx:3:1: ", "expected");
	expect_error("input x: f32[3]\noutput y = relu(z)\n", NULL, in, "bad.gbx:2:17: ", "unknown name 'z'");
	expect_error("input x: f32[3]\noutput y = x + [1.0, 2.0]\n", NULL, in, "bad.gbx:2:", "broadcast");
	expect_error("weights \"missing.safetensors\"\ninput x: f32[3]\nparam W: f32[2, 3] = weights[\"fc.weight\"]\n"
	             "output y = dense(x, W)\n",
	             tmpdir, in, "bad.gbx:1:1: ", "cannot read the weights");
	expect_error("weights \"w.safetensors\"\ninput x: f32[3]\nparam W: f32[2, 3] = weights[\"nope\"]\n"
	             "output y = dense(x, W)\n",
	             tmpdir, in, "bad.gbx:3:22: ", "no tensor \"nope\"");
	expect_error("weights \"w.safetensors\"\ninput x: f32[3]\nparam W: f32[3, 2] = weights[\"fc.weight\"]\n"
	             "output y = flatten(W) + x[0]\n",
	             tmpdir, in, "bad.gbx:3:22: ", "float32 [2, 3]");
	/* An input of the wrong shape is found when the program runs. */
	gb_tensor *wrong = make(2, (int64_t[]){3, 2}, (float[]){1, 2, 3, 4, 5, 6});
	expect_error("input x: f32[3]\noutput y = relu(x)\n", NULL, wrong, "bad.gbx:1:1: ", "input 'x' needs float32 [N, 3]");
	gb_tensor_free(wrong);
	gb_tensor_free(in);
}
