/*
 * prim_table.h — the primitive table shared by test_compile.c and
 * test_backends.c (header-only, static; include after <criterion/criterion.h>):
 * one row per primitive and operator of docs/language.md §10, each a small
 * program and the batches it is run on, and the comparison every backend's
 * outputs go through.
 *
 *   primitives[]   the rows (name, program, which batches, tolerances, the
 *                  operator each compiled graph must use, whether ReLU mode
 *                  refuses the program)
 *   make_inputs    a batch for a program: random reals with edge rows
 *                  (zeros, ties, negative, large values), every {0,1} vector
 *                  (G_BITS), inf/NaN/-0 rows (G_SPECIAL); deterministic, so
 *                  every test sees the same batches
 *   interpret      the interpreter's outputs on a batch: the reference
 *   same_output    one backend's output against the interpreter's: same
 *                  dtype and shape, bool and int64 equal, float32 within
 *                  the row's tolerance (0: exact; NaN matches NaN)
 *   engine_agrees  a compiled network run by the engine, every output compared
 */
#ifndef GB_TEST_PRIM_TABLE_H
#define GB_TEST_PRIM_TABLE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "lang/lang.h"

/* ---- inputs ------------------------------------------------------------------------- */

typedef enum gen {
	G_REAL = 1,    /* edge rows, then random reals in [-3, 3) */
	G_BITS = 2,    /* every {0,1} vector over all input elements (<= 12 of them) */
	G_SPECIAL = 4  /* G_REAL plus rows of inf, -inf, NaN and -0.0 */
} gen;

static uint64_t rng_state;

static double uniform01(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* Value of element j (counted over all inputs) in batch row r. */
static float real_value(gen g, int64_t r, int64_t j)
{
	static const float large[] = {1e6f, -3e5f, 7.5e5f, -1e6f, 2.5e5f};
	static const float small[] = {-1.0f, 0.0f, 1.0f, 2.0f, 1.0f, -1.0f, 0.0f};
	static const float special[] = {INFINITY, -INFINITY, NAN, -0.0f, 1.0f, -2.0f};
	switch (r) {
	case 0: return 0.0f;
	case 1: return 1.5f; /* every element equal: ties */
	case 2: return -2.25f;
	case 3: return large[j % 5];
	case 4: return small[j % 7];
	default: break;
	}
	if (g & G_SPECIAL && r < 11)
		return special[(j + r) % 6];
	return (float)(uniform01() * 6.0 - 3.0);
}

#define REAL_ROWS 24

/* The batch for a program's inputs: *ins (n of them, caller frees). */
static int64_t make_inputs(const gb_ast *ast, gen g, gb_tensor ***ins, int *n)
{
	*n = gb_ast_input_count(ast);
	int64_t total = 0;
	for (int i = 0; i < *n; i++) {
		const gb_ast_type *ty = gb_ast_input(ast, i)->u.decl.type;
		int64_t m = 1;
		for (int k = 0; k < ty->ndim; k++)
			m *= ty->dims[k].size;
		total += m;
	}
	int64_t N = REAL_ROWS;
	if (g == G_BITS) {
		cr_assert_leq(total, 12, "too many input elements for an exhaustive {0,1} run");
		N = (int64_t)1 << total;
	}
	*ins = calloc((size_t)(*n > 0 ? *n : 1), sizeof **ins);
	rng_state = 0x9E3779B97F4A7C15ULL;
	int64_t j0 = 0;
	for (int i = 0; i < *n; i++) {
		const gb_ast_type *ty = gb_ast_input(ast, i)->u.decl.type;
		int64_t dims[GB_MAX_DIMS], m = 1;
		dims[0] = N;
		for (int k = 0; k < ty->ndim; k++) {
			dims[k + 1] = ty->dims[k].size;
			m *= ty->dims[k].size;
		}
		gb_error err = {0};
		bool is_bool = ty->elem == GB_AST_BOOL;
		cr_assert_eq(gb_tensor_new(is_bool ? GB_DTYPE_BOOL : GB_DTYPE_F32, ty->ndim + 1, dims, &(*ins)[i], &err), GB_OK);
		for (int64_t r = 0; r < N; r++)
			for (int64_t e = 0; e < m; e++) {
				int64_t j = j0 + e;
				float v = g == G_BITS ? (float)((r >> j) & 1) : real_value(g, r, j);
				if (is_bool)
					((uint8_t *)(*ins)[i]->data)[r * m + e] = g == G_BITS ? v != 0 : uniform01() < 0.5;
				else
					((float *)(*ins)[i]->data)[r * m + e] = v;
			}
		j0 += m;
	}
	return N;
}

static void free_inputs(gb_tensor **ins, int n)
{
	for (int i = 0; i < n; i++)
		gb_tensor_free(ins[i]);
	free(ins);
}

/* ---- the table: one row per primitive and operator of §10 ----------------------------------------------------------------------------- */

typedef struct row {
	const char *name;
	const char *src;
	unsigned gens;         /* gen flags: which batches to run */
	float relu_tol;        /* 0: exact */
	float native_tol;
	const char *native_op; /* an operator the native graph must use, or NULL */
	const char *relu_op;   /* one the ReLU graph must use, or NULL */
	bool relu_refused;     /* ReLU mode refuses the program */
} row;

#define ULPS 4e-6f /* a few float32 ulps (2^-23 = 1.2e-7) of the operands' magnitude, for deep formulas */
#define SUMS 1e-5f /* reductions in another order */

static const row primitives[] = {
	{"arithmetic", "input a: f32[2, 3]\ninput b: f32[3]\noutput y = (a + b) * a - b / (b * b + 1.0)\noutput z = -a\n",
	 G_REAL | G_SPECIAL, 0, 0, "Div", "Div", false},
	{"relu", "input x: f32[5]\noutput y = relu(x)\n", G_REAL | G_SPECIAL, 0, 0, "Relu", "Relu", false},
	{"abs", "input x: f32[5]\noutput y = abs(x)\n", G_REAL, 0, 0, "Abs", "Relu", false},
	{"sigmoid", "input x: f32[5]\noutput y = sigmoid(x)\n", G_REAL, 1e-6f, 1e-6f, "Sigmoid", "Sigmoid", false},
	{"tanh", "input x: f32[5]\noutput y = tanh(x)\n", G_REAL, 1e-6f, 1e-6f, "Tanh", "Tanh", false},
	{"gelu", "input x: f32[5]\noutput y = gelu(x)\n", G_REAL, 1e-6f, 1e-6f, "Erf", "Erf", false},
	{"clamp", "input x: f32[5]\noutput y = clamp(x, -0.5, 2.0)\n", G_REAL, ULPS, 0, "Clip", "Relu", false},
	{"step with width", "input x: f32[5]\ninput t: f32\noutput y = step(x, t, width=0.5)\n", G_REAL, ULPS, 0, "Clip",
	 "Relu", false},
	{"step", "input x: f32[5]\ninput t: f32\noutput y = step(x, t)\noutput z = step(x)\n", G_REAL, 0, 0, "Greater",
	 NULL, true},
	{"float", "input x: f32[4]\noutput y = float(x > 0.5)\n", G_REAL, 0, 0, "Cast", "Cast", false},
	{"max", "input a: f32[3]\ninput b: f32[3]\ninput c: f32\noutput y = max(a, b, c)\noutput z = max(c, a)\n", G_REAL,
	 ULPS, 0, "Max", "Relu", false},
	{"min", "input a: f32[3]\ninput b: f32[2, 3]\ninput c: f32\noutput y = min(a, b, c)\noutput z = min(c, 0.5)\n",
	 G_REAL, ULPS, 0, "Min", "Relu", false},
	{"max over an axis",
	 "input x: f32[3, 5]\noutput y = max(x, axis=1)\noutput z = max(x)\noutput w = max(x, axis=-2)\noutput s = max(x[0, 0])\n",
	 G_REAL, ULPS, 0, "ReduceMax", "Relu", false},
	{"min over an axis", "input x: f32[3, 5]\noutput y = min(x, axis=1)\noutput z = min(x)\noutput w = min(x, axis=0)\n",
	 G_REAL, ULPS, 0, "ReduceMin", "Relu", false},
	{"sort", "input x: f32[2, 5]\noutput y = sort(x)\noutput z = sort(x, descending=True)\n", G_REAL, ULPS, 0, "TopK",
	 "Relu", false},
	{"sort 9 (Batcher)", "input x: f32[9]\noutput y = sort(x)\n", G_REAL, ULPS, 0, "TopK", "Relu", false},
	{"sort 12 (Batcher)", "input x: f32[12]\noutput y = sort(x, descending=True)\n", G_REAL, ULPS, 0, "TopK", "Relu",
	 false},
	{"argmax", "input x: f32[2, 4]\noutput y = argmax(x)\noutput z = argmax(x, axis=1)\noutput w = argmax(x, axis=0)\n",
	 G_REAL, 0, 0, "ArgMax", "ArgMax", false},
	{"and or not on f32", "input a: f32[3]\ninput b: f32[3]\noutput y = (a and b) + (a or b) * 2.0\noutput z = not a\n",
	 G_REAL | G_BITS, ULPS, 0, "Min", "Relu", false},
	{"xor on f32", "input a: f32[3]\ninput b: f32[3]\ninput c: f32\noutput y = xor(a, b, c)\noutput z = xor(a, b)\n",
	 G_REAL | G_BITS, ULPS, 0, "Abs", "Relu", false},
	{"majority of 3 on f32", "input a: f32[2]\ninput b: f32[2]\ninput c: f32[2]\noutput y = majority(a, b, c)\n",
	 G_REAL | G_BITS, ULPS, 0, "Max", "Relu", false},
	{"majority of 5 on f32",
	 "input a: f32\ninput b: f32\ninput c: f32\ninput d: f32\ninput e: f32\noutput y = majority(a, b, c, d, e)\n",
	 G_REAL | G_BITS, ULPS, 0, "Max", "Relu", false},
	{"logic on bool",
	 "input p: bool[3]\ninput q: bool[3]\noutput y = (p and q) or not p\noutput z = xor(p, q, p)\n"
	 "output m = majority(p, q, p and q)\noutput m5 = majority(p, q, not p, not q, p)\noutput ne = p != q\n"
	 "output eq = p == q\n",
	 G_BITS | G_REAL, 0, 0, "Xor", "And", false},
	{"comparisons",
	 "input a: f32[4]\ninput b: f32[4]\noutput lt = a < b\noutput le = a <= b\noutput gt = a > b\noutput ge = a >= b\n"
	 "output eq = a == b\noutput ne = a != b\n",
	 G_REAL | G_SPECIAL, 0, 0, "LessOrEqual", "GreaterOrEqual", false},
	{"where", "input a: f32[4]\ninput b: f32[2, 4]\ninput c: f32\noutput y = where(a < b, a, c)\n", G_REAL | G_SPECIAL,
	 0, 0, "Where", "Where", false},
	{"dense",
	 "input x: f32[4]\ninput xs: f32[2, 4]\nparam W: f32[3, 4] = [[1, -2, 0.5, 0], [0.25, 1, -1, 2], [3, 0, 1, -0.5]]\n"
	 "param b: f32[3] = [0.5, -1, 2]\noutput y = dense(x, W, b)\noutput z = dense(x, W)\noutput ys = dense(xs, W, b)\n"
	 "output yb = dense(x, W, x[:3])\n",
	 G_REAL, SUMS, SUMS, "Gemm", "Gemm", false},
	{"matmul",
	 "input a: f32[3]\ninput b: f32[3, 2]\ninput m: f32[2, 3]\ninput t: f32[2, 2, 3]\n"
	 "param P: f32[2, 3] = [[1, 2, 3], [-1, 0.5, 0]]\noutput y = a @ b\noutput z = m @ a\noutput w = a @ a\n"
	 "output v = b @ m\noutput u = P @ a\noutput s = a @ transpose(P)\noutput r = matmul(t, b)\noutput q = t @ a\n"
	 "output p = m @ t[0, 0]\noutput o = P @ b\n",
	 G_REAL, SUMS, SUMS, "MatMul", "MatMul", false},
	{"transpose", "input x: f32[2, 3, 4]\noutput y = transpose(x)\noutput z = transpose(x, [1, 0, 2])\n",
	 G_REAL | G_SPECIAL, 0, 0, "Transpose", "Transpose", false},
	{"sum and mean",
	 "input x: f32[3, 4]\noutput s = sum(x)\noutput t = sum(x, axis=1)\noutput m = mean(x)\noutput n = mean(x, axis=0)\n"
	 "output k = sum(x[0, 0])\n",
	 G_REAL, SUMS, SUMS, "ReduceSum", "ReduceMean", false},
	{"softmax", "input x: f32[3, 4]\noutput y = softmax(x)\noutput z = softmax(x, axis=0)\n", G_REAL, 1e-6f, 1e-6f,
	 "Softmax", "Softmax", false},
	{"log_softmax", "input x: f32[3, 4]\noutput y = log_softmax(x)\noutput z = log_softmax(x, axis=0)\n", G_REAL, 1e-6f,
	 1e-6f, "LogSoftmax", "LogSoftmax", false},
	{"conv2d",
	 "input img: f32[2, 5, 5]\n"
	 "param K: f32[4, 1, 3, 3] = [[[[-1.0, 0.0, 1.0], [-0.5, 0.5, -1.0], [0.0, 1.0, -0.5]]], [[[0.5, -1.0, 0.0], "
	 "[1.0, -0.5, 0.5], [-1.0, 0.0, 1.0]]], [[[-0.5, 0.5, -1.0], [0.0, 1.0, -0.5], [0.5, -1.0, 0.0]]], [[[1.0, -0.5, "
	 "0.5], [-1.0, 0.0, 1.0], [-0.5, 0.5, -1.0]]]]\n"
	 "param kb: f32[4] = [0.5, -0.5, 1.0, 0.0]\n"
	 "output y = conv2d(img, K, bias=kb, stride=2, padding=1, groups=2)\n"
	 "output z = conv2d(img[:1], K, dilation=2, padding=[1, 2])\n"
	 "output w = conv2d(img[:1], K, bias=img[1, 0, :4], stride=[1, 2])\n",
	 G_REAL, SUMS, SUMS, "Conv", "Conv", false},
	{"maxpool2d",
	 "input x: f32[2, 5, 5]\noutput y = maxpool2d(x, 2)\noutput z = maxpool2d(x, 3, stride=2, padding=1)\n"
	 "output w = maxpool2d(x, [2, 3], stride=[1, 2], padding=[1, 0])\n",
	 G_REAL, ULPS, 0, "MaxPool", "Relu", false},
	{"avgpool2d", "input x: f32[2, 5, 5]\noutput y = avgpool2d(x, 3, stride=2, padding=1)\noutput z = avgpool2d(x, 2)\n",
	 G_REAL, SUMS, SUMS, "AveragePool", "AveragePool", false},
	{"flatten reshape concat",
	 "input x: f32[2, 3]\ninput v: f32[3]\ninput s: f32\nparam P: f32[2, 2] = [[1, 2], [3, 4]]\n"
	 "output f = flatten(x)\noutput g = flatten(s)\noutput r = reshape(x, [3, -1])\n"
	 "output c = concat(x, reshape(v, [1, 3]), axis=0)\noutput d = concat(x, x, axis=-1)\n"
	 "output e = concat(x, P, axis=1)\n",
	 G_REAL | G_SPECIAL, 0, 0, "Concat", "Flatten", false},
	{"stacking", "input x: f32[2, 3]\ninput v: f32[3]\noutput s = [x[0], v, v * 2.0, [1, 2, 3]]\n"
	             "output c = [x[i % 2, 2 - i] for i in range(3)]\noutput k = [1.5, x[1, 1]]\n",
	 G_REAL | G_SPECIAL, 0, 0, "Unsqueeze", "Unsqueeze", false},
};

#define N_PRIMITIVES ((int)(sizeof primitives / sizeof primitives[0]))

/* ---- comparing ----------------------------------------------------------------------------- */

static bool close_enough(float a, float b, float tol, float scale)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	if (a == b)
		return true;
	return tol > 0 && fabsf(a - b) <= tol * (scale + fabsf(b));
}

/* The magnitude of each example's operands, for the ReLU formulas' rounding:
 * scale[r] is the largest finite |x| over the f32 inputs of batch row r
 * (malloc'ed, caller frees). */
static float *batch_scale(gb_tensor **ins, int n_in, int64_t N)
{
	float *scale = calloc((size_t)N, sizeof *scale);
	cr_assert_not_null(scale);
	for (int i = 0; i < n_in; i++) {
		if (ins[i]->dtype != GB_DTYPE_F32)
			continue;
		int64_t per = gb_tensor_numel(ins[i]) / N;
		for (int64_t r = 0; r < N; r++)
			for (int64_t e = 0; e < per; e++) {
				float v = fabsf(((const float *)ins[i]->data)[r * per + e]);
				if (isfinite(v) && v > scale[r])
					scale[r] = v;
			}
	}
	return scale;
}

/* The interpreter's outputs on ins (caller frees). */
static gb_tensor_map *interpret(const gb_ast *ast, gb_tensor **ins, int n_in, const char *label)
{
	gb_error err = {0};
	gb_tensor_map *want = NULL;
	cr_assert_eq(gb_tensor_map_new(&want, &err), GB_OK);
	cr_assert_eq(gb_ast_run(ast, NULL, (const gb_tensor *const *)ins, n_in, want, NULL, 0, NULL, &err), GB_OK,
	             "%s: the interpreter: %s", label, err.msg);
	return want;
}

/* Compares output name of a backend (got) with the interpreter's (want);
 * float32 elements of batch row r agree within tol of 1 + scale[r]. Reports
 * the first few differences with cr_expect; returns whether all agree. */
static bool same_output(const gb_tensor *got, const gb_tensor *want, const float *scale, int64_t N, float tol,
                        const char *label, const char *name)
{
	if (got->dtype != want->dtype) {
		cr_expect_eq(got->dtype, want->dtype, "%s: output %s has dtype %s, wanted %s", label, name,
		             gb_dtype_name(got->dtype), gb_dtype_name(want->dtype));
		return false;
	}
	bool same_shape = got->ndim == want->ndim;
	for (int k = 0; same_shape && k < want->ndim; k++)
		same_shape = got->dims[k] == want->dims[k];
	if (!same_shape) {
		char a[128], b[128];
		cr_expect(same_shape, "%s: output %s has shape %s, wanted %s", label, name,
		          gb_shape_str(got->ndim, got->dims, a, sizeof a), gb_shape_str(want->ndim, want->dims, b, sizeof b));
		return false;
	}
	int64_t n = gb_tensor_numel(want), per = n / N;
	int bad = 0;
	for (int64_t i = 0; i < n && bad < 3; i++) {
		bool ok;
		if (want->dtype == GB_DTYPE_BOOL) {
			ok = ((const uint8_t *)got->data)[i] == ((const uint8_t *)want->data)[i];
			if (!ok)
				cr_expect(ok, "%s: bool output %s differs at %lld", label, name, (long long)i);
		} else if (want->dtype == GB_DTYPE_I64) {
			int64_t a = ((const int64_t *)got->data)[i], b = ((const int64_t *)want->data)[i];
			ok = a == b;
			if (!ok)
				cr_expect(ok, "%s: output %s[%lld] is %lld, the interpreter says %lld (batch row %lld)", label, name,
				          (long long)(i % per), (long long)a, (long long)b, (long long)(i / per));
		} else {
			cr_assert_eq(want->dtype, GB_DTYPE_F32, "%s: output %s: unexpected dtype %s", label, name,
			             gb_dtype_name(want->dtype));
			float a = ((const float *)got->data)[i], b = ((const float *)want->data)[i];
			ok = close_enough(a, b, tol, 1.0f + scale[i / per]);
			if (!ok)
				cr_expect(ok, "%s: output %s[%lld] is %.9g, the interpreter says %.9g (batch row %lld)", label, name,
				          (long long)(i % per), a, b, (long long)(i / per));
		}
		bad += !ok;
	}
	return bad == 0;
}

/* Runs the network m with the engine on ins and compares every output with
 * want (the interpreter's); returns whether all agree. */
static bool engine_agrees(const gb_ast *ast, const gb_model *m, gb_tensor **ins, int n_in, const gb_tensor_map *want,
                          const float *scale, int64_t N, float tol, const char *label)
{
	gb_error err = {0};
	gb_session *s = NULL;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_model_n_inputs(m), n_in, "%s", label);
	bool agree = true;
	for (int i = 0; i < n_in; i++) {
		gb_value_info info;
		gb_model_input(m, i, &info);
		cr_expect_str_eq(info.name, gb_ast_input(ast, i)->u.decl.name, "%s: input %d", label, i);
		agree &= strcmp(info.name, gb_ast_input(ast, i)->u.decl.name) == 0;
		cr_assert_eq(gb_session_set_input(s, i, ins[i], &err), GB_OK, "%s: %s", label, err.msg);
	}
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s: %s", label, err.msg);
	cr_assert_eq(gb_model_n_outputs(m), gb_tensor_map_count(want), "%s", label);
	for (int o = 0; o < gb_tensor_map_count(want); o++) {
		const gb_tensor *h = gb_session_output(s, o);
		gb_value_info info;
		gb_model_output(m, o, &info);
		cr_expect_str_eq(info.name, gb_tensor_map_name(want, o), "%s: output %d", label, o);
		agree &= strcmp(info.name, gb_tensor_map_name(want, o)) == 0;
		cr_assert_not_null(h);
		agree &= same_output(h, gb_tensor_map_at(want, o), scale, N, tol, label, info.name);
	}
	gb_session_free(s);
	return agree;
}

#endif /* GB_TEST_PRIM_TABLE_H */
