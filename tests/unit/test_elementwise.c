/*
 * test_elementwise.c — the elementwise ops (src/exec/ops/elementwise.c) and
 * the broadcast walk (broadcast.c): forward values against naive references
 * (a per-element unravel of numpy's broadcasting, computed here without the
 * library's walk), int64 and bool paths, opset-dependent semantics,
 * gradients by finite differences, PyTorch's conventions at kinks and ties,
 * and the error statuses.
 */
#include <criterion/criterion.h>
#include <float.h>

#include "core/core.h"
#include "exec/ops/broadcast.h"
#include "graph/graph.h"
#include "testutil.h"

#define F32 GB_DTYPE_F32
#define I64 GB_DTYPE_I64
#define BOOL GB_DTYPE_BOOL

/* ---- helpers ------------------------------------------------------------------ */

/* tu_single with an opset: a one-node model whose inputs are in0..inK
 * (graph inputs, or initializers where consts[k]) and output out0. */
static gb_model *build(int64_t opset, const char *op, int n_in, const gb_tensor *const *ins, const int *consts,
                       const gb_attr *attrs, int n_attrs, gb_error *err)
{
	gb_model *m = NULL;
	if (gb_model_new_empty("test.onnx", &m, err) != GB_OK)
		return NULL;
	m->opset = opset;
	int in_ids[8], graph_in[8], n_graph_in = 0;
	for (int k = 0; k < n_in; k++) {
		if (!ins[k]) {
			in_ids[k] = -1;
			continue;
		}
		char name[32];
		snprintf(name, sizeof name, "in%d", k);
		in_ids[k] = gb_model_add_value(m, name, ins[k]->dtype, ins[k]->ndim, ins[k]->dims);
		if (consts && consts[k]) {
			if (gb_model_set_init(m, in_ids[k], ins[k], err) != GB_OK)
				goto fail;
		} else {
			graph_in[n_graph_in++] = in_ids[k];
		}
	}
	int out_id = gb_model_add_value(m, "out0", F32, -1, NULL);
	int node = gb_model_add_node(m, "node", op, "", n_in, in_ids, 1, &out_id);
	for (int a = 0; a < n_attrs; a++)
		if (gb_node_add_attr(m, &m->nodes[node], &attrs[a], err) != GB_OK)
			goto fail;
	if (gb_model_set_io(m, n_graph_in, graph_in, 1, &out_id, err) != GB_OK)
		goto fail;
	if (gb_model_prepare(m, err) != GB_OK)
		goto fail;
	return m;
fail:
	gb_model_free(m);
	return NULL;
}

/* Builds, runs forward and frees the model; *out (caller frees) on success. */
static gb_status run_op(int64_t opset, const char *op, int n_in, const gb_tensor *const *ins, const gb_attr *attrs,
                        int n_attrs, gb_tensor **out, gb_error *err)
{
	*out = NULL;
	gb_model *m = build(opset, op, n_in, ins, NULL, attrs, n_attrs, err);
	if (!m)
		return err->status;
	gb_status st = tu_run(m, n_in, ins, NULL, out, err);
	gb_model_free(m);
	return st;
}

static gb_tensor *run_ok(const char *op, int n_in, const gb_tensor *const *ins, const gb_attr *attrs, int n_attrs)
{
	gb_error err = {0};
	gb_tensor *y = NULL;
	gb_status st = run_op(0, op, n_in, ins, attrs, n_attrs, &y, &err);
	cr_assert_eq(st, GB_OK, "%s: %s", op, err.msg);
	return y;
}

static int gradcheck(int64_t opset, const char *op, int n_in, gb_tensor *const *ins, const int *consts,
                     const gb_attr *attrs, int n_attrs)
{
	gb_error err = {0};
	gb_model *m = build(opset, op, n_in, (const gb_tensor *const *)ins, consts, attrs, n_attrs, &err);
	cr_assert_not_null(m, "%s: %s", op, err.msg);
	int bad = tu_gradcheck(m, n_in, ins, consts, 1e-3, 2e-3, 2e-3);
	gb_model_free(m);
	return bad;
}

static gb_attr attr_f(const char *name, float f)
{
	gb_attr a = {0};
	a.name = name;
	a.type = GB_ATTR_FLOAT;
	a.f = f;
	return a;
}

static gb_attr attr_i(const char *name, int64_t i)
{
	gb_attr a = {0};
	a.name = name;
	a.type = GB_ATTR_INT;
	a.i = i;
	return a;
}

static gb_attr attr_s(const char *name, const char *s)
{
	gb_attr a = {0};
	a.name = name;
	a.type = GB_ATTR_STRING;
	a.s = s;
	a.s_len = strlen(s);
	return a;
}

/* Moves every element at least `margin` away from `point` (kinks, ties). */
static void keep_away(gb_tensor *t, float point, float margin)
{
	float *d = t->data;
	for (int64_t i = 0; i < gb_tensor_numel(t); i++)
		if (fabsf(d[i] - point) < margin)
			d[i] = d[i] < point ? point - margin : point + margin;
}

/* Naive numpy broadcasting, independent of broadcast.c. */
typedef struct shape {
	int ndim;
	int64_t dims[GB_MAX_DIMS];
} shape;

static int naive_broadcast(int n, const shape *s, shape *out)
{
	out->ndim = 0;
	for (int k = 0; k < n; k++)
		if (s[k].ndim > out->ndim)
			out->ndim = s[k].ndim;
	for (int d = 0; d < out->ndim; d++) {
		int64_t size = 1;
		for (int k = 0; k < n; k++) {
			int id = d - (out->ndim - s[k].ndim);
			int64_t v = id >= 0 ? s[k].dims[id] : 1;
			if (v == 1)
				continue;
			if (size != 1 && size != v)
				return 0;
			size = v;
		}
		out->dims[d] = size;
	}
	return 1;
}

/* Offset into a tensor of shape s of the element feeding output element `lin`
 * of shape out: unravel, then drop/clamp broadcast axes. */
static int64_t naive_offset(const shape *out, int64_t lin, const shape *s)
{
	int64_t idx[GB_MAX_DIMS];
	for (int d = out->ndim - 1; d >= 0; d--) {
		idx[d] = lin % out->dims[d];
		lin /= out->dims[d];
	}
	int64_t off = 0;
	for (int k = 0; k < s->ndim; k++) {
		int64_t i = idx[out->ndim - s->ndim + k];
		off = off * s->dims[k] + (s->dims[k] == 1 ? 0 : i);
	}
	return off;
}

static int64_t shape_numel(const shape *s)
{
	int64_t n = 1;
	for (int d = 0; d < s->ndim; d++)
		n *= s->dims[d];
	return n;
}

static void assert_shape(const gb_tensor *y, const shape *want)
{
	cr_assert_eq(y->ndim, want->ndim, "rank %d, want %d", y->ndim, want->ndim);
	for (int d = 0; d < want->ndim; d++)
		cr_assert_eq(y->dims[d], want->dims[d], "dim %d is %lld, want %lld", d, (long long)y->dims[d],
		             (long long)want->dims[d]);
}

/* ---- binary float ops against the naive reference --------------------------------- */

typedef float (*ref2_fn)(float a, float b);
static float r_add(float a, float b) { return a + b; }
static float r_sub(float a, float b) { return a - b; }
static float r_mul(float a, float b) { return a * b; }
static float r_div(float a, float b) { return a / b; }
static float r_pow(float a, float b) { return (float)pow((double)a, (double)b); }
static float r_max(float a, float b) { return a > b ? a : b; }
static float r_min(float a, float b) { return a < b ? a : b; }

static const shape shape_pairs[][2] = {
	{{3, {2, 3, 4}}, {2, {3, 1}}},
	{{3, {2, 3, 4}}, {1, {1}}},
	{{3, {2, 3, 4}}, {0, {0}}},
	{{0, {0}}, {2, {2, 3}}},
	{{2, {3, 1}}, {3, {2, 1, 4}}},
	{{2, {3, 4}}, {2, {3, 4}}},
	{{2, {4, 5}}, {1, {5}}},
	{{4, {2, 3, 4, 5}}, {3, {3, 1, 1}}},
	{{2, {1, 4}}, {2, {3, 1}}},
	{{2, {64, 512}}, {1, {512}}},
	{{2, {64, 512}}, {2, {64, 1}}},
	{{2, {0, 3}}, {1, {3}}},
	{{1, {3}}, {2, {0, 1}}},
};
#define N_PAIRS ((int)(sizeof shape_pairs / sizeof shape_pairs[0]))

static void check_binary(const char *op, ref2_fn ref, float lo_a, float hi_a, float lo_b, float hi_b, double rtol)
{
	for (int c = 0; c < N_PAIRS; c++) {
		const shape *sa = &shape_pairs[c][0], *sb = &shape_pairs[c][1];
		for (int swap = 0; swap < 2; swap++) {
			const shape *s0 = swap ? sb : sa, *s1 = swap ? sa : sb;
			gb_tensor *a = tu_random(s0->ndim, s0->dims, lo_a, hi_a, 11u + (uint64_t)c);
			gb_tensor *b = tu_random(s1->ndim, s1->dims, lo_b, hi_b, 97u + (uint64_t)c);
			const gb_tensor *ins[2] = {a, b};
			gb_tensor *y = run_ok(op, 2, ins, NULL, 0);
			shape both[2] = {*s0, *s1}, out;
			cr_assert(naive_broadcast(2, both, &out));
			assert_shape(y, &out);
			int64_t n = shape_numel(&out);
			float *want = malloc((size_t)(n ? n : 1) * sizeof *want);
			for (int64_t i = 0; i < n; i++)
				want[i] = ref(((float *)a->data)[naive_offset(&out, i, s0)],
				              ((float *)b->data)[naive_offset(&out, i, s1)]);
			cr_assert_eq(tu_close(y->data, want, n, 0.0, rtol), 0, "%s, shape pair %d%s", op, c,
			             swap ? " swapped" : "");
			free(want);
			gb_tensor_free(a);
			gb_tensor_free(b);
			gb_tensor_free(y);
		}
	}
}

Test(elementwise, add_sub_mul_div_broadcast)
{
	check_binary("Add", r_add, -2, 2, -2, 2, 0.0);
	check_binary("Sub", r_sub, -2, 2, -2, 2, 0.0);
	check_binary("Mul", r_mul, -2, 2, -2, 2, 0.0);
	check_binary("Div", r_div, -2, 2, 0.5f, 2, 0.0);
}

Test(elementwise, pow_max_min_broadcast)
{
	check_binary("Pow", r_pow, 0.1f, 3, -2, 2, 2e-7);
	check_binary("Max", r_max, -2, 2, -2, 2, 0.0);
	check_binary("Min", r_min, -2, 2, -2, 2, 0.0);
}

Test(elementwise, pow_negative_base_and_int_exponent)
{
	int64_t d3[1] = {3};
	gb_tensor *a = tu_tensor(F32, 1, d3, (float[]){-2.0f, 0.5f, 3.0f});
	gb_tensor *e = tu_tensor(F32, 1, d3, (float[]){3.0f, -1.0f, 0.5f});
	gb_tensor *ei = tu_tensor(I64, 1, d3, (int64_t[]){3, -1, 2});
	const gb_tensor *in_f[2] = {a, e}, *in_i[2] = {a, ei};
	gb_tensor *y = run_ok("Pow", 2, in_f, NULL, 0);
	cr_assert_eq(tu_close(y->data, (float[]){-8.0f, 2.0f, sqrtf(3.0f)}, 3, 0, 1e-7), 0);
	gb_tensor_free(y);
	y = run_ok("Pow", 2, in_i, NULL, 0);
	cr_assert_eq(y->dtype, F32);
	cr_assert_eq(tu_close(y->data, (float[]){-8.0f, 2.0f, 9.0f}, 3, 0, 0), 0);
	gb_tensor_free(y);
	/* Other exponent or base types are declined, not mistaken for malformed. */
	gb_tensor *i32 = tu_tensor(GB_DTYPE_I32, 1, d3, (int32_t[]){1, 2, 3});
	const gb_tensor *in_i32[2] = {a, i32}, *in_ib[2] = {ei, a};
	gb_error err = {0};
	cr_assert_eq(run_op(0, "Pow", 2, in_i32, NULL, 0, &y, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "int32") != NULL, "%s", err.msg);
	cr_assert_eq(run_op(0, "Pow", 2, in_ib, NULL, 0, &y, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "int64") != NULL, "%s", err.msg);
	gb_tensor_free(i32);
	((int64_t *)ei->data)[0] = (1 << 24) + 1;
	cr_assert_eq(run_op(0, "Pow", 2, in_i, NULL, 0, &y, &err), GB_STATUS_UNSUPPORTED);
	gb_tensor_free(a);
	gb_tensor_free(e);
	gb_tensor_free(ei);
}

Test(elementwise, variadic_sum_mean_max_min)
{
	int64_t d23[2] = {2, 3}, d3[1] = {3}, d21[2] = {2, 1};
	gb_tensor *a = tu_random(2, d23, -2, 2, 1), *b = tu_random(1, d3, -2, 2, 2), *c = tu_random(2, d21, -2, 2, 3);
	const gb_tensor *ins[3] = {a, b, c};
	const char *ops[4] = {"Sum", "Mean", "Max", "Min"};
	for (int o = 0; o < 4; o++) {
		gb_tensor *y = run_ok(ops[o], 3, ins, NULL, 0);
		assert_shape(y, &(shape){2, {2, 3}});
		float want[6];
		for (int i = 0; i < 2; i++)
			for (int j = 0; j < 3; j++) {
				float u = ((float *)a->data)[i * 3 + j], v = ((float *)b->data)[j], w = ((float *)c->data)[i];
				float r;
				switch (o) {
				case 0: r = u + v + w; break;
				case 1: r = (u + v + w) / 3.0f; break;
				case 2: r = fmaxf(fmaxf(u, v), w); break;
				default: r = fminf(fminf(u, v), w); break;
				}
				want[i * 3 + j] = r;
			}
		cr_assert_eq(tu_close(y->data, want, 6, 0, 1e-7), 0, "%s", ops[o]);
		gb_tensor_free(y);
	}
	/* One input: a copy. */
	for (int o = 0; o < 4; o++) {
		gb_tensor *y = run_ok(ops[o], 1, ins, NULL, 0);
		cr_assert_eq(tu_close(y->data, a->data, 6, 0, 0), 0, "%s of one input", ops[o]);
		gb_tensor_free(y);
	}
	gb_tensor_free(a);
	gb_tensor_free(b);
	gb_tensor_free(c);
}

Test(elementwise, max_min_propagate_nan)
{
	int64_t d2[1] = {2};
	gb_tensor *a = tu_tensor(F32, 1, d2, (float[]){NAN, 1.0f});
	gb_tensor *b = tu_tensor(F32, 1, d2, (float[]){0.0f, NAN});
	const gb_tensor *ins[2] = {a, b};
	gb_tensor *y = run_ok("Max", 2, ins, NULL, 0);
	cr_assert(isnan(((float *)y->data)[0]) && isnan(((float *)y->data)[1]));
	gb_tensor_free(y);
	y = run_ok("Min", 2, ins, NULL, 0);
	cr_assert(isnan(((float *)y->data)[0]) && isnan(((float *)y->data)[1]));
	gb_tensor_free(y);
	gb_tensor_free(a);
	gb_tensor_free(b);
}

/* ---- int64 and bool ------------------------------------------------------------------ */

Test(elementwise, int64_arithmetic)
{
	int64_t d23[2] = {2, 3}, d3[1] = {3};
	gb_tensor *a = tu_tensor(I64, 2, d23, (int64_t[]){7, -7, INT64_MIN, -7, 9, 5});
	gb_tensor *b = tu_tensor(I64, 1, d3, (int64_t[]){2, -2, -1});
	const gb_tensor *ins[2] = {a, b};
	struct {
		const char *op;
		int64_t want[6];
	} cases[] = {
		{"Add", {9, -9, INT64_MAX, -5, 7, 4}},
		{"Sub", {5, -5, INT64_MIN + 1, -9, 11, 6}},
		{"Mul", {14, 14, INT64_MIN, -14, -18, -5}},
		{"Div", {3, 3, INT64_MIN, -3, -4, -5}}, /* truncation toward zero; MIN / -1 wraps */
		{"Max", {7, -2, -1, 2, 9, 5}},
		{"Min", {2, -7, INT64_MIN, -7, -2, -1}},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		gb_tensor *y = run_ok(cases[c].op, 2, ins, NULL, 0);
		cr_assert_eq(y->dtype, I64, "%s", cases[c].op);
		assert_shape(y, &(shape){2, {2, 3}});
		for (int i = 0; i < 6; i++)
			cr_assert_eq(((int64_t *)y->data)[i], cases[c].want[i], "%s[%d] = %lld, want %lld", cases[c].op, i,
			             (long long)((int64_t *)y->data)[i], (long long)cases[c].want[i]);
		gb_tensor_free(y);
	}
	const gb_tensor *three[3] = {a, b, b};
	gb_tensor *y = run_ok("Sum", 3, three, NULL, 0);
	int64_t want_sum[6] = {11, -11, INT64_MAX - 1, -3, 5, 3}; /* MIN - 2 wraps */
	for (int i = 0; i < 6; i++)
		cr_assert_eq(((int64_t *)y->data)[i], want_sum[i], "Sum[%d]", i);
	gb_tensor_free(y);
	const gb_tensor *one[1] = {a};
	y = run_ok("Neg", 1, one, NULL, 0);
	int64_t want_neg[6] = {-7, 7, INT64_MIN, 7, -9, -5};
	cr_assert_eq(memcmp(y->data, want_neg, sizeof want_neg), 0);
	gb_tensor_free(y);
	y = run_ok("Abs", 1, one, NULL, 0);
	int64_t want_abs[6] = {7, 7, INT64_MIN, 7, 9, 5};
	cr_assert_eq(memcmp(y->data, want_abs, sizeof want_abs), 0);
	gb_tensor_free(y);
	gb_tensor_free(a);
	gb_tensor_free(b);
}

Test(elementwise, int64_division_by_zero_fails)
{
	int64_t d2[1] = {2};
	gb_tensor *a = tu_tensor(I64, 1, d2, (int64_t[]){1, 2});
	gb_tensor *b = tu_tensor(I64, 1, d2, (int64_t[]){1, 0});
	const gb_tensor *ins[2] = {a, b};
	gb_error err = {0};
	gb_tensor *y;
	cr_assert_eq(run_op(0, "Div", 2, ins, NULL, 0, &y, &err), GB_STATUS_FAILURE);
	cr_assert(strstr(err.msg, "division by zero") != NULL, "%s", err.msg);
	gb_tensor_free(a);
	gb_tensor_free(b);
}

Test(elementwise, comparisons_give_bool)
{
	int64_t d23[2] = {2, 3}, d3[1] = {3};
	/* Values on a coarse grid so that Equal sees ties. */
	gb_tensor *a = tu_tensor(F32, 2, d23, (float[]){1, 2, 3, 3, 2, 1});
	gb_tensor *b = tu_tensor(F32, 1, d3, (float[]){2, 2, 2});
	gb_tensor *ai = tu_tensor(I64, 2, d23, (int64_t[]){1, 2, 3, 3, 2, 1});
	gb_tensor *bi = tu_tensor(I64, 1, d3, (int64_t[]){2, 2, 2});
	const gb_tensor *inf[2] = {a, b}, *ini[2] = {ai, bi};
	const char *ops[3] = {"Equal", "Greater", "Less"};
	uint8_t want[3][6] = {{0, 1, 0, 0, 1, 0}, {0, 0, 1, 1, 0, 0}, {1, 0, 0, 0, 0, 1}};
	for (int o = 0; o < 3; o++)
		for (int t = 0; t < 2; t++) {
			gb_tensor *y = run_ok(ops[o], 2, t ? ini : inf, NULL, 0);
			cr_assert_eq(y->dtype, BOOL, "%s", ops[o]);
			assert_shape(y, &(shape){2, {2, 3}});
			cr_assert_eq(memcmp(y->data, want[o], 6), 0, "%s on %s", ops[o], t ? "int64" : "float32");
			gb_tensor_free(y);
		}
	int64_t d4[1] = {4};
	gb_tensor *p = tu_tensor(BOOL, 1, d4, (uint8_t[]){0, 0, 1, 1});
	gb_tensor *q = tu_tensor(BOOL, 1, d4, (uint8_t[]){0, 1, 0, 1});
	const gb_tensor *inb[2] = {p, q};
	gb_tensor *y = run_ok("Equal", 2, inb, NULL, 0);
	cr_assert_eq(memcmp(y->data, (uint8_t[]){1, 0, 0, 1}, 4), 0);
	gb_tensor_free(y);
	/* NaN equals nothing. */
	((float *)a->data)[1] = NAN;
	y = run_ok("Equal", 2, inf, NULL, 0);
	cr_assert_eq(((uint8_t *)y->data)[1], 0);
	gb_tensor_free(y);
	gb_tensor_free(a);
	gb_tensor_free(b);
	gb_tensor_free(ai);
	gb_tensor_free(bi);
	gb_tensor_free(p);
	gb_tensor_free(q);
}

Test(elementwise, or_equal_comparisons_give_bool)
{
	int64_t d23[2] = {2, 3}, d3[1] = {3};
	gb_tensor *a = tu_tensor(F32, 2, d23, (float[]){1, 2, 3, 3, NAN, 1});
	gb_tensor *b = tu_tensor(F32, 1, d3, (float[]){2, 2, 2});
	gb_tensor *ai = tu_tensor(I64, 2, d23, (int64_t[]){1, 2, 3, 3, 0, 1});
	gb_tensor *bi = tu_tensor(I64, 1, d3, (int64_t[]){2, 2, 2});
	const gb_tensor *inf[2] = {a, b}, *ini[2] = {ai, bi};
	const char *ops[2] = {"GreaterOrEqual", "LessOrEqual"};
	/* NaN compares false both ways; the int64 tensor holds 0 there. */
	uint8_t want[2][2][6] = {{{0, 1, 1, 1, 0, 0}, {0, 1, 1, 1, 0, 0}}, {{1, 1, 0, 0, 0, 1}, {1, 1, 0, 0, 1, 1}}};
	for (int o = 0; o < 2; o++)
		for (int t = 0; t < 2; t++) {
			gb_tensor *y = run_ok(ops[o], 2, t ? ini : inf, NULL, 0);
			cr_assert_eq(y->dtype, BOOL, "%s", ops[o]);
			assert_shape(y, &(shape){2, {2, 3}});
			cr_assert_eq(memcmp(y->data, want[o][t], 6), 0, "%s on %s", ops[o], t ? "int64" : "float32");
			gb_tensor_free(y);
		}
	gb_tensor_free(a);
	gb_tensor_free(b);
	gb_tensor_free(ai);
	gb_tensor_free(bi);
}

Test(elementwise, logical_ops_on_bool)
{
	int64_t d21[2] = {2, 1}, d12[2] = {1, 2};
	gb_tensor *p = tu_tensor(BOOL, 2, d21, (uint8_t[]){0, 1});
	gb_tensor *q = tu_tensor(BOOL, 2, d12, (uint8_t[]){0, 1});
	const gb_tensor *ins[2] = {p, q};
	/* (2,1) against (1,2): the whole truth table, row p, column q. */
	struct {
		const char *op;
		uint8_t want[4];
	} cases[] = {{"And", {0, 0, 0, 1}}, {"Or", {0, 1, 1, 1}}, {"Xor", {0, 1, 1, 0}}};
	for (int c = 0; c < 3; c++) {
		gb_tensor *y = run_ok(cases[c].op, 2, ins, NULL, 0);
		cr_assert_eq(y->dtype, BOOL);
		assert_shape(y, &(shape){2, {2, 2}});
		cr_assert_eq(memcmp(y->data, cases[c].want, 4), 0, "%s", cases[c].op);
		gb_tensor_free(y);
	}
	gb_tensor *y = run_ok("Not", 1, ins, NULL, 0);
	cr_assert_eq(y->dtype, BOOL);
	assert_shape(y, &(shape){2, {2, 1}});
	cr_assert_eq(memcmp(y->data, (uint8_t[]){1, 0}, 2), 0);
	gb_tensor_free(y);
	/* Opset 1: And broadcasts only with broadcast=1. */
	gb_error err = {0};
	int64_t d4[1] = {4}, d1[1] = {1};
	gb_tensor *r = tu_tensor(BOOL, 1, d4, (uint8_t[]){0, 1, 1, 0}), *one = tu_tensor(BOOL, 1, d1, (uint8_t[]){1});
	const gb_tensor *legacy[2] = {r, one};
	cr_assert_eq(run_op(1, "Or", 2, legacy, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	gb_attr bc = attr_i("broadcast", 1);
	cr_assert_eq(run_op(1, "And", 2, legacy, &bc, 1, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(memcmp(y->data, (uint8_t[]){0, 1, 1, 0}, 4), 0);
	gb_tensor_free(y);
	gb_tensor_free(p);
	gb_tensor_free(q);
	gb_tensor_free(r);
	gb_tensor_free(one);
}

/* Cast of n values of dtype `from` to ONNX type `to`; *out caller-freed. */
static gb_status cast_run(gb_dtype from, int64_t n, const void *vals, int64_t to, gb_tensor **out, gb_error *err)
{
	int64_t dims[1] = {n};
	gb_tensor *t = tu_tensor(from, 1, dims, vals);
	const gb_tensor *ins[1] = {t};
	gb_attr a = attr_i("to", to);
	gb_status st = run_op(13, "Cast", 1, ins, &a, 1, out, err);
	gb_tensor_free(t);
	return st;
}

Test(elementwise, cast_between_float_int64_bool)
{
	enum { ONNX_FLOAT = 1, ONNX_INT64 = 7, ONNX_BOOL = 9, ONNX_DOUBLE = 11 };
	const float f[6] = {-2.7f, -0.0f, 0.5f, 2.7f, NAN, 3e9f};
	const int64_t i[4] = {-3, 0, 1, (int64_t)1 << 40};
	const uint8_t b[2] = {0, 1};
	gb_error err = {0};
	gb_tensor *y;
	/* float32 -> *: truncation toward zero; NaN is true as a bool. */
	cr_assert_eq(cast_run(F32, 4, f, ONNX_INT64, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(y->dtype, I64);
	cr_assert_eq(memcmp(y->data, (int64_t[]){-2, 0, 0, 2}, 4 * sizeof(int64_t)), 0);
	gb_tensor_free(y);
	int64_t big[1] = {0};
	cr_assert_eq(cast_run(F32, 1, f + 5, ONNX_INT64, &y, &err), GB_OK, "%s", err.msg);
	memcpy(big, y->data, sizeof big);
	cr_assert_eq(big[0], 3000000000LL);
	gb_tensor_free(y);
	cr_assert_eq(cast_run(F32, 5, f, ONNX_BOOL, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(y->dtype, BOOL);
	cr_assert_eq(memcmp(y->data, (uint8_t[]){1, 0, 1, 1, 1}, 5), 0);
	gb_tensor_free(y);
	cr_assert_eq(cast_run(F32, 6, f, ONNX_FLOAT, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(memcmp(y->data, f, sizeof f), 0); /* bit for bit: -0 and NaN too */
	gb_tensor_free(y);
	/* int64 -> *. */
	cr_assert_eq(cast_run(I64, 4, i, ONNX_FLOAT, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(y->dtype, F32);
	cr_assert_eq(tu_close(y->data, (float[]){-3, 0, 1, 1099511627776.0f}, 4, 0, 0), 0);
	gb_tensor_free(y);
	cr_assert_eq(cast_run(I64, 4, i, ONNX_BOOL, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(memcmp(y->data, (uint8_t[]){1, 0, 1, 1}, 4), 0);
	gb_tensor_free(y);
	cr_assert_eq(cast_run(I64, 4, i, ONNX_INT64, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(memcmp(y->data, i, sizeof i), 0);
	gb_tensor_free(y);
	/* bool -> *. */
	cr_assert_eq(cast_run(BOOL, 2, b, ONNX_FLOAT, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(y->data, (float[]){0, 1}, 2, 0, 0), 0);
	gb_tensor_free(y);
	cr_assert_eq(cast_run(BOOL, 2, b, ONNX_INT64, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(memcmp(y->data, (int64_t[]){0, 1}, 2 * sizeof(int64_t)), 0);
	gb_tensor_free(y);
	cr_assert_eq(cast_run(BOOL, 2, b, ONNX_BOOL, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(memcmp(y->data, b, 2), 0);
	gb_tensor_free(y);
	/* Cast-1 names the type. */
	int64_t d2[1] = {2};
	gb_tensor *t = tu_tensor(F32, 1, d2, (float[]){-1.5f, 7.9f});
	const gb_tensor *ins[2] = {t, NULL};
	gb_attr named = attr_s("to", "INT64");
	cr_assert_eq(run_op(1, "Cast", 1, ins, &named, 1, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(memcmp(y->data, (int64_t[]){-1, 7}, 2 * sizeof(int64_t)), 0);
	gb_tensor_free(y);
	/* CastLike takes the dtype of its second input. */
	gb_tensor *like = tu_tensor(BOOL, 1, d2, (uint8_t[]){0, 0});
	ins[1] = like;
	cr_assert_eq(run_op(15, "CastLike", 2, ins, NULL, 0, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(y->dtype, BOOL);
	cr_assert_eq(memcmp(y->data, (uint8_t[]){1, 1}, 2), 0);
	gb_tensor_free(y);
	gb_tensor_free(like);
	/* Refusals: a NaN or out-of-range value to int64, other target types,
	 * other source dtypes; malformed `to`. */
	cr_assert_eq(cast_run(F32, 5, f, ONNX_INT64, &y, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "element 4 is nan") != NULL, "%s", err.msg);
	float huge[1] = {1e19f};
	cr_assert_eq(cast_run(F32, 1, huge, ONNX_INT64, &y, &err), GB_STATUS_UNSUPPORTED);
	cr_assert_eq(cast_run(F32, 2, f, ONNX_DOUBLE, &y, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "DOUBLE") != NULL && strstr(err.msg, "Cast") != NULL, "%s", err.msg);
	cr_assert_eq(cast_run(F32, 2, f, 6, &y, &err), GB_STATUS_UNSUPPORTED); /* INT32 */
	cr_assert_eq(cast_run(F32, 2, f, 99, &y, &err), GB_STATUS_BAD_FILE);
	cr_assert_eq(cast_run(F32, 2, f, 0, &y, &err), GB_STATUS_BAD_FILE);
	cr_assert_eq(cast_run(GB_DTYPE_F64, 1, (double[]){1.0}, ONNX_FLOAT, &y, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "float64") != NULL, "%s", err.msg);
	cr_assert_eq(cast_run(GB_DTYPE_I32, 1, (int32_t[]){1}, ONNX_FLOAT, &y, &err), GB_STATUS_UNSUPPORTED);
	cr_assert_eq(run_op(13, "Cast", 1, ins, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "'to'") != NULL, "%s", err.msg);
	named = attr_s("to", "FLOAT32");
	cr_assert_eq(run_op(1, "Cast", 1, ins, &named, 1, &y, &err), GB_STATUS_BAD_FILE);
	gb_tensor *like64 = tu_tensor(GB_DTYPE_F64, 1, d2, (double[]){0, 0});
	ins[1] = like64;
	cr_assert_eq(run_op(15, "CastLike", 2, ins, NULL, 0, &y, &err), GB_STATUS_UNSUPPORTED);
	gb_tensor_free(like64);
	gb_tensor_free(t);
}

Test(elementwise, where_broadcasts_three_ways)
{
	int64_t d21[2] = {2, 1}, d13[2] = {1, 3};
	gb_tensor *c = tu_tensor(BOOL, 2, d21, (uint8_t[]){1, 0});
	gb_tensor *a = tu_tensor(F32, 2, d13, (float[]){1, 2, 3});
	gb_tensor *b = tu_tensor(F32, 0, NULL, (float[]){-5});
	const gb_tensor *ins[3] = {c, a, b};
	gb_tensor *y = run_ok("Where", 3, ins, NULL, 0);
	assert_shape(y, &(shape){2, {2, 3}});
	cr_assert_eq(tu_close(y->data, (float[]){1, 2, 3, -5, -5, -5}, 6, 0, 0), 0);
	gb_tensor_free(y);
	gb_tensor *ai = tu_tensor(I64, 2, d13, (int64_t[]){1, 2, 3});
	gb_tensor *bi = tu_tensor(I64, 2, d21, (int64_t[]){10, 20});
	const gb_tensor *insi[3] = {c, ai, bi};
	y = run_ok("Where", 3, insi, NULL, 0);
	cr_assert_eq(y->dtype, I64);
	cr_assert_eq(memcmp(y->data, (int64_t[]){1, 2, 3, 20, 20, 20}, 6 * sizeof(int64_t)), 0);
	gb_tensor_free(y);
	gb_tensor_free(c);
	gb_tensor_free(a);
	gb_tensor_free(b);
	gb_tensor_free(ai);
	gb_tensor_free(bi);
}

/* ---- unary ops ------------------------------------------------------------------------ */

typedef double (*ref1_fn)(double x);
static double r_sqrt(double x) { return sqrt(x); }
static double r_neg(double x) { return -x; }
static double r_abs(double x) { return fabs(x); }
static double r_exp(double x) { return exp(x); }
static double r_log(double x) { return log(x); }
static double r_erf(double x) { return erf(x); }
static double r_relu(double x) { return x > 0 ? x : 0; }
static double r_leaky(double x) { return x < 0 ? (double)0.01f * x : x; }
static double r_leaky2(double x) { return x < 0 ? (double)0.2f * x : x; }
static double r_elu(double x) { return x < 0 ? exp(x) - 1 : x; }
static double r_elu2(double x) { return x < 0 ? (double)0.5f * (exp(x) - 1) : x; }
static double r_selu(double x)
{
	double alpha = 1.67326319217681884765625, gamma = 1.05070102214813232421875;
	return x > 0 ? gamma * x : gamma * alpha * (exp(x) - 1);
}
static double r_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double r_tanh(double x) { return tanh(x); }
static double r_softplus(double x) { return x > 30 ? x : log1p(exp(x)); }
static double r_gelu(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double r_gelu_tanh(double x)
{
	return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
}

typedef struct unary_case {
	const char *op;
	ref1_fn ref;
	float lo, hi;
	int n_attrs;
	gb_attr attrs[2];
} unary_case;

static unary_case unary_cases(int i)
{
	unary_case cases[] = {
		{"Sqrt", r_sqrt, 0.01f, 9, 0, {{0}}},
		{"Neg", r_neg, -3, 3, 0, {{0}}},
		{"Abs", r_abs, -3, 3, 0, {{0}}},
		{"Exp", r_exp, -10, 10, 0, {{0}}},
		{"Log", r_log, 0.01f, 100, 0, {{0}}},
		{"Erf", r_erf, -3, 3, 0, {{0}}},
		{"Relu", r_relu, -3, 3, 0, {{0}}},
		{"LeakyRelu", r_leaky, -3, 3, 0, {{0}}},
		{"LeakyRelu", r_leaky2, -3, 3, 1, {attr_f("alpha", 0.2f)}},
		{"Elu", r_elu, -5, 3, 0, {{0}}},
		{"Elu", r_elu2, -5, 3, 1, {attr_f("alpha", 0.5f)}},
		{"Selu", r_selu, -5, 3, 0, {{0}}},
		{"Sigmoid", r_sigmoid, -30, 30, 0, {{0}}},
		{"Tanh", r_tanh, -6, 6, 0, {{0}}},
		{"Softplus", r_softplus, -40, 40, 0, {{0}}},
		{"Gelu", r_gelu, -5, 5, 0, {{0}}},
		{"Gelu", r_gelu, -5, 5, 1, {attr_s("approximate", "none")}},
		{"Gelu", r_gelu_tanh, -5, 5, 1, {attr_s("approximate", "tanh")}},
	};
	if (i < 0 || i >= (int)(sizeof cases / sizeof cases[0]))
		return (unary_case){0};
	return cases[i];
}

Test(elementwise, unary_forward)
{
	int64_t dims[3] = {3, 5, 7};
	for (int c = 0; unary_cases(c).op; c++) {
		unary_case uc = unary_cases(c);
		gb_tensor *t = tu_random(3, dims, uc.lo, uc.hi, 5u + (uint64_t)c);
		const gb_tensor *ins[1] = {t};
		gb_tensor *y = run_ok(uc.op, 1, ins, uc.attrs, uc.n_attrs);
		assert_shape(y, &(shape){3, {3, 5, 7}});
		float want[105];
		for (int i = 0; i < 105; i++)
			want[i] = (float)uc.ref((double)((float *)t->data)[i]);
		cr_assert_eq(tu_close(y->data, want, 105, 1e-6, 4e-6), 0, "%s (case %d)", uc.op, c);
		gb_tensor_free(t);
		gb_tensor_free(y);
	}
}

Test(elementwise, unary_extremes_are_stable)
{
	int64_t d4[1] = {4};
	gb_tensor *t = tu_tensor(F32, 1, d4, (float[]){-200.0f, -90.0f, 90.0f, 200.0f});
	const gb_tensor *ins[1] = {t};
	gb_tensor *y = run_ok("Sigmoid", 1, ins, NULL, 0);
	cr_assert_eq(tu_close(y->data, (float[]){0.0f, 0.0f, 1.0f, 1.0f}, 4, 1e-30, 0), 0);
	gb_tensor_free(y);
	y = run_ok("Softplus", 1, ins, NULL, 0);
	cr_assert_eq(tu_close(y->data, (float[]){0.0f, 0.0f, 90.0f, 200.0f}, 4, 1e-30, 0), 0);
	gb_tensor_free(y);
	gb_tensor_free(t);
}

/* ---- PRelu, Clip ----------------------------------------------------------------------- */

Test(elementwise, prelu_slope_broadcasts_to_x)
{
	int64_t dx[3] = {2, 3, 4}, ds[2] = {3, 1};
	gb_tensor *x = tu_random(3, dx, -2, 2, 7), *s = tu_random(2, ds, 0.1f, 0.5f, 8);
	const gb_tensor *ins[2] = {x, s};
	gb_tensor *y = run_ok("PRelu", 2, ins, NULL, 0);
	assert_shape(y, &(shape){3, {2, 3, 4}});
	for (int i = 0; i < 24; i++) {
		float u = ((float *)x->data)[i], slope = ((float *)s->data)[(i / 4) % 3];
		cr_assert_eq(((float *)y->data)[i], u < 0 ? slope * u : u);
	}
	gb_tensor_free(y);
	/* Before opset 7 a 1-D slope of length C is per channel (axis 1); from
	 * opset 7 it is numpy broadcasting (aligned on the last axis). */
	int64_t d234[3] = {2, 3, 4}, d3c[1] = {3}, d4c[1] = {4};
	gb_tensor *xc = tu_random(3, d234, -2, 2, 9), *sc = tu_tensor(F32, 1, d3c, (float[]){0.1f, 0.2f, 0.3f});
	gb_tensor *s4 = tu_tensor(F32, 1, d4c, (float[]){0.1f, 0.2f, 0.3f, 0.4f});
	const gb_tensor *per_channel[2] = {xc, sc}, *last_axis[2] = {xc, s4};
	gb_error err6 = {0};
	cr_assert_eq(run_op(6, "PRelu", 2, per_channel, NULL, 0, &y, &err6), GB_OK, "%s", err6.msg);
	for (int i = 0; i < 24; i++) {
		float u = ((float *)xc->data)[i], slope = ((float *)sc->data)[(i / 4) % 3];
		cr_assert_eq(((float *)y->data)[i], u < 0 ? slope * u : u);
	}
	gb_tensor_free(y);
	cr_assert_eq(run_op(7, "PRelu", 2, per_channel, NULL, 0, &y, &err6), GB_STATUS_BAD_FILE);
	cr_assert_eq(run_op(7, "PRelu", 2, last_axis, NULL, 0, &y, &err6), GB_OK, "%s", err6.msg);
	for (int i = 0; i < 24; i++) {
		float u = ((float *)xc->data)[i], slope = ((float *)s4->data)[i % 4];
		cr_assert_eq(((float *)y->data)[i], u < 0 ? slope * u : u);
	}
	gb_tensor_free(y);
	gb_tensor_free(xc);
	gb_tensor_free(sc);
	gb_tensor_free(s4);
	/* The slope may not enlarge X. */
	int64_t d3[1] = {3}, d23[2] = {2, 3};
	gb_tensor *x3 = tu_random(1, d3, -1, 1, 1), *s23 = tu_random(2, d23, 0, 1, 2);
	const gb_tensor *bad[2] = {x3, s23};
	gb_error err = {0};
	cr_assert_eq(run_op(0, "PRelu", 2, bad, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	gb_tensor_free(x);
	gb_tensor_free(s);
	gb_tensor_free(x3);
	gb_tensor_free(s23);
}

Test(elementwise, clip_opset11_inputs_and_opset6_attributes)
{
	int64_t d5[1] = {5};
	gb_tensor *x = tu_tensor(F32, 1, d5, (float[]){-3, -1, 0, 1, INFINITY});
	gb_tensor *lo = tu_tensor(F32, 0, NULL, (float[]){-1.5f});
	gb_tensor *hi = tu_tensor(F32, 0, NULL, (float[]){0.5f});
	gb_error err = {0};
	gb_tensor *y;
	const gb_tensor *both[3] = {x, lo, hi}, *only_max[3] = {x, NULL, hi}, *none[1] = {x};
	cr_assert_eq(run_op(13, "Clip", 3, both, NULL, 0, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(y->data, (float[]){-1.5f, -1, 0, 0.5f, 0.5f}, 5, 0, 0), 0);
	gb_tensor_free(y);
	cr_assert_eq(run_op(13, "Clip", 3, only_max, NULL, 0, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(y->data, (float[]){-3, -1, 0, 0.5f, 0.5f}, 5, 0, 0), 0);
	gb_tensor_free(y);
	cr_assert_eq(run_op(13, "Clip", 1, none, NULL, 0, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(y->data, x->data, 4, 0, 0), 0);
	cr_assert(isinf(((float *)y->data)[4]));
	gb_tensor_free(y);
	/* min > max: everything becomes max. */
	const gb_tensor *swapped[3] = {x, hi, lo};
	cr_assert_eq(run_op(13, "Clip", 3, swapped, NULL, 0, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(y->data, (float[]){-1.5f, -1.5f, -1.5f, -1.5f, -1.5f}, 5, 0, 0), 0);
	gb_tensor_free(y);
	/* Opset 6: attributes, defaulting to the finite float range. */
	gb_attr attrs[2] = {attr_f("min", -0.5f), attr_f("max", 2.0f)};
	cr_assert_eq(run_op(6, "Clip", 1, none, attrs, 2, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(y->data, (float[]){-0.5f, -0.5f, 0, 1, 2}, 5, 0, 0), 0);
	gb_tensor_free(y);
	cr_assert_eq(run_op(6, "Clip", 1, none, attrs + 1, 1, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(y->data, (float[]){-3, -1, 0, 1, 2}, 5, 0, 0), 0);
	gb_tensor_free(y);
	cr_assert_eq(run_op(6, "Clip", 1, none, NULL, 0, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(((float *)y->data)[4], FLT_MAX);
	gb_tensor_free(y);
	/* Attributes at opset 11+ and inputs before 11 are malformed; bounds are scalars. */
	cr_assert_eq(run_op(11, "Clip", 1, none, attrs, 2, &y, &err), GB_STATUS_BAD_FILE);
	cr_assert_eq(run_op(6, "Clip", 3, both, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	int64_t d2[1] = {2};
	gb_tensor *lo2 = tu_tensor(F32, 1, d2, (float[]){0, 1});
	const gb_tensor *vec[2] = {x, lo2};
	cr_assert_eq(run_op(11, "Clip", 2, vec, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "scalar") != NULL, "%s", err.msg);
	/* int64 (opset 12+). */
	gb_tensor *xi = tu_tensor(I64, 1, d5, (int64_t[]){-3, -1, 0, 1, 7});
	gb_tensor *hii = tu_tensor(I64, 1, (int64_t[]){1}, (int64_t[]){1});
	const gb_tensor *ints[3] = {xi, NULL, hii};
	cr_assert_eq(run_op(13, "Clip", 3, ints, NULL, 0, &y, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(memcmp(y->data, (int64_t[]){-3, -1, 0, 1, 1}, 5 * sizeof(int64_t)), 0);
	gb_tensor_free(y);
	gb_tensor_free(x);
	gb_tensor_free(lo);
	gb_tensor_free(hi);
	gb_tensor_free(lo2);
	gb_tensor_free(xi);
	gb_tensor_free(hii);
}

/* ---- legacy broadcast (opset < 7) --------------------------------------------------------- */

Test(elementwise, legacy_broadcast_with_axis)
{
	int64_t da[3] = {2, 3, 4}, db[1] = {3}, db4[1] = {4};
	gb_tensor *a = tu_random(3, da, -1, 1, 1), *b = tu_random(1, db, -1, 1, 2), *b4 = tu_random(1, db4, -1, 1, 3);
	gb_error err = {0};
	gb_tensor *y;
	gb_attr attrs[2] = {attr_i("broadcast", 1), attr_i("axis", 1)};
	const gb_tensor *ins[2] = {a, b}, *ins4[2] = {a, b4};
	cr_assert_eq(run_op(6, "Add", 2, ins, attrs, 2, &y, &err), GB_OK, "%s", err.msg);
	for (int i = 0; i < 24; i++)
		cr_assert_eq(((float *)y->data)[i], ((float *)a->data)[i] + ((float *)b->data)[(i / 4) % 3]);
	gb_tensor_free(y);
	/* Without axis: suffix matching, like numpy. */
	cr_assert_eq(run_op(6, "Mul", 2, ins4, attrs, 1, &y, &err), GB_OK, "%s", err.msg);
	for (int i = 0; i < 24; i++)
		cr_assert_eq(((float *)y->data)[i], ((float *)a->data)[i] * ((float *)b4->data)[i % 4]);
	gb_tensor_free(y);
	/* broadcast=0 (the default) demands equal shapes. */
	cr_assert_eq(run_op(6, "Add", 2, ins4, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	/* The axis must place B inside A. */
	gb_attr far[2] = {attr_i("broadcast", 1), attr_i("axis", 2)};
	cr_assert_eq(run_op(6, "Add", 2, ins, far, 2, &y, &err), GB_STATUS_BAD_FILE);
	gb_tensor_free(a);
	gb_tensor_free(b);
	gb_tensor_free(b4);
}

/* ---- errors ------------------------------------------------------------------------------ */

Test(elementwise, unsupported_dtypes)
{
	int64_t d2[1] = {2};
	gb_tensor *i32 = tu_tensor(GB_DTYPE_I32, 1, d2, (int32_t[]){1, 2});
	gb_tensor *i64 = tu_tensor(I64, 1, d2, (int64_t[]){1, 2});
	gb_tensor *b8 = tu_tensor(BOOL, 1, d2, (uint8_t[]){1, 0});
	gb_tensor *f64 = tu_tensor(GB_DTYPE_F64, 1, d2, (double[]){1, 2});
	struct {
		const char *op;
		int n;
		const gb_tensor *ins[3];
	} cases[] = {
		{"Add", 2, {i32, i32}},    {"Mul", 2, {f64, f64}},     {"Relu", 1, {i64}},   {"Exp", 1, {i64}},
		{"Sqrt", 1, {f64}},        {"Mean", 2, {i64, i64}},    {"Sum", 2, {b8, b8}}, {"Greater", 2, {b8, b8}},
		{"Pow", 2, {i64, i64}},    {"Where", 3, {b8, i32, i32}}, {"Clip", 1, {b8}},  {"Neg", 1, {i32}},
		{"PRelu", 2, {i64, i64}},  {"Max", 2, {b8, b8}},     {"And", 2, {i64, i64}}, {"Or", 2, {f64, f64}},
		{"Xor", 2, {i32, i32}},    {"Not", 1, {i64}},          {"GreaterOrEqual", 2, {b8, b8}},
		{"LessOrEqual", 2, {i32, i32}},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		gb_error err = {0};
		gb_tensor *y;
		cr_assert_eq(run_op(0, cases[c].op, cases[c].n, cases[c].ins, NULL, 0, &y, &err), GB_STATUS_UNSUPPORTED,
		             "%s: %s", cases[c].op, err.msg);
		cr_assert(strstr(err.msg, cases[c].op) != NULL && strstr(err.msg, "node") != NULL, "%s", err.msg);
	}
	gb_tensor_free(i32);
	gb_tensor_free(i64);
	gb_tensor_free(b8);
	gb_tensor_free(f64);
}

Test(elementwise, malformed_inputs)
{
	int64_t d23[2] = {2, 3}, d4[1] = {4}, d3[1] = {3};
	gb_tensor *a = tu_random(2, d23, -1, 1, 1), *b = tu_random(1, d4, -1, 1, 2), *c3 = tu_random(1, d3, -1, 1, 3);
	gb_tensor *i3 = tu_tensor(I64, 1, d3, (int64_t[]){1, 2, 3});
	gb_tensor *cond = tu_tensor(BOOL, 1, d4, (uint8_t[]){1, 0, 1, 0});
	gb_error err = {0};
	gb_tensor *y;
	const gb_tensor *mismatch[2] = {a, b};
	cr_assert_eq(run_op(0, "Add", 2, mismatch, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "[2, 3]") && strstr(err.msg, "[4]") && strstr(err.msg, "test.onnx"), "%s", err.msg);
	const gb_tensor *three[3] = {a, c3, b};
	cr_assert_eq(run_op(0, "Sum", 3, three, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	const gb_tensor *w[3] = {cond, a, a};
	cr_assert_eq(run_op(0, "Where", 3, w, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	const gb_tensor *wf[3] = {c3, c3, c3};
	cr_assert_eq(run_op(0, "Where", 3, wf, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "bool") != NULL, "%s", err.msg);
	const gb_tensor *mixed[2] = {c3, i3};
	cr_assert_eq(run_op(0, "Sub", 2, mixed, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	cr_assert_eq(run_op(0, "Max", 2, mixed, NULL, 0, &y, &err), GB_STATUS_BAD_FILE);
	gb_attr fast = attr_s("approximate", "fast");
	const gb_tensor *one[1] = {a};
	cr_assert_eq(run_op(0, "Gelu", 1, one, &fast, 1, &y, &err), GB_STATUS_BAD_FILE);
	gb_attr alpha_int = attr_i("alpha", 1);
	cr_assert_eq(run_op(0, "LeakyRelu", 1, one, &alpha_int, 1, &y, &err), GB_STATUS_BAD_FILE);
	gb_tensor_free(a);
	gb_tensor_free(b);
	gb_tensor_free(c3);
	gb_tensor_free(i3);
	gb_tensor_free(cond);
}

/* ---- the broadcast walk ----------------------------------------------------------------------- */

static void plan2(gb_bcast *p, int na, const int64_t *da, int nb, const int64_t *db)
{
	shape s[2] = {{na, {0}}, {nb, {0}}}, out;
	memcpy(s[0].dims, da, (size_t)na * sizeof *da);
	memcpy(s[1].dims, db, (size_t)nb * sizeof *db);
	cr_assert(naive_broadcast(2, s, &out));
	int nd[2] = {na, nb};
	const int64_t *dd[2] = {da, db};
	gb_bcast_plan(p, out.ndim, out.dims, 2, nd, dd);
}

Test(elementwise, walk_merges_into_tight_rows)
{
	gb_bcast p;
	plan2(&p, 2, (int64_t[]){10000, 512}, 2, (int64_t[]){10000, 512}); /* same shape: one row */
	cr_assert(p.rank == 1 && p.rows == 1 && p.inner == 10000 * 512);
	cr_assert(gb_bcast_inner_stride(&p, 0) == 1 && gb_bcast_inner_stride(&p, 1) == 1);
	plan2(&p, 2, (int64_t[]){10000, 512}, 0, (int64_t[]){0}); /* scalar: one row, constant */
	cr_assert(p.rank == 1 && p.inner == 10000 * 512 && gb_bcast_inner_stride(&p, 1) == 0);
	plan2(&p, 2, (int64_t[]){10000, 512}, 1, (int64_t[]){512}); /* bias row */
	cr_assert(p.rank == 2 && p.rows == 10000 && p.inner == 512);
	cr_assert(gb_bcast_inner_stride(&p, 1) == 1 && p.stride[1][0] == 0 && p.stride[0][0] == 512);
	plan2(&p, 2, (int64_t[]){10000, 512}, 2, (int64_t[]){10000, 1}); /* per-row scale */
	cr_assert(p.rank == 2 && p.inner == 512 && gb_bcast_inner_stride(&p, 1) == 0 && p.stride[1][0] == 1);
	plan2(&p, 4, (int64_t[]){8, 16, 5, 5}, 3, (int64_t[]){16, 1, 1}); /* channel bias */
	cr_assert(p.rank == 3 && p.rows == 128 && p.inner == 25 && gb_bcast_inner_stride(&p, 1) == 0);
	plan2(&p, 3, (int64_t[]){1, 10000, 1}, 2, (int64_t[]){1, 512}); /* outer product, size-1 axes dropped */
	cr_assert(p.rank == 2 && p.rows == 10000 && p.inner == 512);
	cr_assert(gb_bcast_inner_stride(&p, 0) == 0 && gb_bcast_inner_stride(&p, 1) == 1);
	plan2(&p, 2, (int64_t[]){0, 512}, 1, (int64_t[]){512}); /* empty */
	cr_assert(p.rows == 0);
	int nd = 4;
	int64_t dims[GB_MAX_DIMS] = {2, 3, 1, 4};
	cr_assert_not(gb_bcast_fold(&nd, dims, 2, (int64_t[]){5, 3}));
	cr_assert(nd == 4 && dims[2] == 1); /* unchanged on failure */
	cr_assert(gb_bcast_fold(&nd, dims, 2, (int64_t[]){7, 4}));
	cr_assert(nd == 4 && dims[2] == 7);
}

/* ---- gradients ---------------------------------------------------------------------------------- */

Test(elementwise, gradcheck_unary)
{
	int64_t dims[2] = {3, 4};
	for (int c = 0; unary_cases(c).op; c++) {
		unary_case uc = unary_cases(c);
		float lo = uc.lo < -4 ? -4 : uc.lo, hi = uc.hi > 4 ? 4 : uc.hi;
		if (strcmp(uc.op, "Log") == 0 || strcmp(uc.op, "Sqrt") == 0)
			lo = 0.3f;
		gb_tensor *t = tu_random(2, dims, lo, hi, 40u + (uint64_t)c);
		keep_away(t, 0.0f, strcmp(uc.op, "Log") == 0 || strcmp(uc.op, "Sqrt") == 0 ? 0.0f : 0.05f);
		gb_tensor *ins[1] = {t};
		cr_assert_eq(gradcheck(0, uc.op, 1, ins, NULL, uc.attrs, uc.n_attrs), 0, "%s (case %d)", uc.op, c);
		gb_tensor_free(t);
	}
}

static const char *const binary_grad_ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};

Test(elementwise, gradcheck_binary_broadcast_both_inputs)
{
	static const shape pairs[][2] = {
		{{3, {2, 3, 4}}, {2, {3, 1}}}, {{2, {2, 3}}, {0, {0}}}, {{1, {3}}, {2, {2, 3}}},
		{{2, {2, 3}}, {2, {2, 3}}},    {{2, {3, 1}}, {2, {1, 4}}},
	};
	for (size_t o = 0; o < sizeof binary_grad_ops / sizeof binary_grad_ops[0]; o++) {
		const char *op = binary_grad_ops[o];
		for (size_t c = 0; c < sizeof pairs / sizeof pairs[0]; c++) {
			for (int as_const = 0; as_const < 2; as_const++) {
				const shape *sa = &pairs[c][0], *sb = &pairs[c][1];
				int positive = strcmp(op, "Pow") == 0 || strcmp(op, "Div") == 0;
				gb_tensor *a = tu_random(sa->ndim, sa->dims, positive ? 0.5f : -2, 2, 3u + c);
				gb_tensor *b = tu_random(sb->ndim, sb->dims, positive ? 0.5f : -2, 2, 9u + c);
				if (strcmp(op, "Max") == 0 || strcmp(op, "Min") == 0) {
					/* a on a grid of 0.1, b offset by 0.05: no near-ties. */
					for (int64_t i = 0; i < gb_tensor_numel(a); i++)
						((float *)a->data)[i] = roundf(((float *)a->data)[i] * 10) / 10;
					for (int64_t i = 0; i < gb_tensor_numel(b); i++)
						((float *)b->data)[i] = roundf(((float *)b->data)[i] * 10) / 10 + 0.05f;
				}
				gb_tensor *ins[2] = {a, b};
				int consts[2] = {0, as_const};
				cr_assert_eq(gradcheck(0, op, 2, ins, consts, NULL, 0), 0, "%s, pair %zu%s", op, c,
				             as_const ? " (b a weight)" : "");
				gb_tensor_free(a);
				gb_tensor_free(b);
			}
		}
	}
}

Test(elementwise, gradcheck_pow_negative_base_exponent_only_base)
{
	/* Negative base with integral exponent: the base has a gradient; the
	 * exponent's is defined as 0 there (checked directly below). */
	int64_t d3[1] = {3};
	gb_tensor *a = tu_tensor(F32, 1, d3, (float[]){-1.5f, -0.7f, 2.0f});
	gb_tensor *e = tu_tensor(F32, 1, d3, (float[]){3.0f, 2.0f, 0.0f});
	gb_error err = {0};
	const gb_tensor *ins[2] = {a, e};
	gb_model *m = build(0, "Pow", 2, ins, NULL, NULL, 0, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_session *s;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(tu_set_inputs(s, 2, ins, NULL, &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK);
	cr_assert_eq(gb_session_backward(s, NULL, &err), GB_OK, "%s", err.msg);
	const float *ga = gb_session_grad(s, "in0")->data, *ge = gb_session_grad(s, "in1")->data;
	cr_assert_eq(tu_close(ga, (float[]){3 * 2.25f, 2 * -0.7f, 0.0f}, 3, 1e-6, 1e-6), 0);
	cr_assert_eq(tu_close(ge, (float[]){0.0f, 0.0f, logf(2.0f)}, 3, 1e-6, 1e-6), 0);
	gb_session_free(s);
	gb_model_free(m);
	gb_tensor_free(a);
	gb_tensor_free(e);
}

Test(elementwise, gradcheck_variadic)
{
	int64_t d23[2] = {2, 3}, d3[1] = {3}, d21[2] = {2, 1};
	const char *ops[4] = {"Sum", "Mean", "Max", "Min"};
	for (int o = 0; o < 4; o++) {
		gb_tensor *a = tu_random(2, d23, -2, 2, 1), *b = tu_random(1, d3, -2, 2, 2), *c = tu_random(2, d21, -2, 2, 3);
		/* Three disjoint grids (offsets 0, 0.03, 0.06 on a 0.1 grid): no near-ties. */
		gb_tensor *all[3] = {a, b, c};
		for (int k = 0; k < 3; k++)
			for (int64_t i = 0; i < gb_tensor_numel(all[k]); i++)
				((float *)all[k]->data)[i] = roundf(((float *)all[k]->data)[i] * 10) / 10 + 0.03f * (float)k;
		cr_assert_eq(gradcheck(0, ops[o], 3, all, NULL, NULL, 0), 0, "%s", ops[o]);
		int consts[3] = {0, 1, 0};
		cr_assert_eq(gradcheck(0, ops[o], 3, all, consts, NULL, 0), 0, "%s with a weight", ops[o]);
		cr_assert_eq(gradcheck(0, ops[o], 1, all, NULL, NULL, 0), 0, "%s of one input", ops[o]);
		gb_tensor_free(a);
		gb_tensor_free(b);
		gb_tensor_free(c);
	}
}

Test(elementwise, gradcheck_where_prelu_clip)
{
	int64_t d21[2] = {2, 1}, d13[2] = {1, 3}, d234[3] = {2, 3, 4}, d31[2] = {3, 1};
	gb_tensor *cond = tu_tensor(BOOL, 2, d21, (uint8_t[]){1, 0});
	gb_tensor *a = tu_random(2, d13, -1, 1, 1), *b = tu_random(0, NULL, -1, 1, 2);
	gb_tensor *where_in[3] = {cond, a, b};
	cr_assert_eq(gradcheck(0, "Where", 3, where_in, NULL, NULL, 0), 0);
	gb_tensor *cond31 = tu_tensor(BOOL, 2, d31, (uint8_t[]){0, 1, 1});
	gb_tensor *big = tu_random(3, d234, -1, 1, 3), *row = tu_random(1, (int64_t[]){4}, -1, 1, 6);
	gb_tensor *where_in2[3] = {cond31, big, row};
	cr_assert_eq(gradcheck(0, "Where", 3, where_in2, NULL, NULL, 0), 0);

	gb_tensor *x = tu_random(3, d234, -2, 2, 4), *slope = tu_random(2, d31, 0.1f, 0.5f, 5);
	keep_away(x, 0.0f, 0.05f);
	gb_tensor *prelu_in[2] = {x, slope};
	cr_assert_eq(gradcheck(0, "PRelu", 2, prelu_in, NULL, NULL, 0), 0);
	gb_tensor *channel_slope = tu_random(1, (int64_t[]){3}, 0.1f, 0.5f, 7);
	gb_tensor *prelu6_in[2] = {x, channel_slope};
	cr_assert_eq(gradcheck(6, "PRelu", 2, prelu6_in, NULL, NULL, 0), 0, "opset 6 per-channel slope");
	gb_tensor_free(channel_slope);

	gb_tensor *lo = tu_tensor(F32, 0, NULL, (float[]){-0.5f}), *hi = tu_tensor(F32, 0, NULL, (float[]){0.7f});
	keep_away(x, -0.5f, 0.05f);
	keep_away(x, 0.7f, 0.05f);
	gb_tensor *clip_in[3] = {x, lo, hi};
	cr_assert_eq(gradcheck(13, "Clip", 3, clip_in, NULL, NULL, 0), 0);
	int consts[3] = {0, 1, 1};
	cr_assert_eq(gradcheck(13, "Clip", 3, clip_in, consts, NULL, 0), 0);
	gb_attr attrs[2] = {attr_f("min", -0.5f), attr_f("max", 0.7f)};
	cr_assert_eq(gradcheck(6, "Clip", 1, clip_in, NULL, attrs, 2), 0);
	gb_tensor_free(cond);
	gb_tensor_free(a);
	gb_tensor_free(b);
	gb_tensor_free(big);
	gb_tensor_free(cond31);
	gb_tensor_free(row);
	gb_tensor_free(x);
	gb_tensor_free(slope);
	gb_tensor_free(lo);
	gb_tensor_free(hi);
}

/* ---- conventions at kinks and ties, accumulation -------------------------------------------------- */

/* Forward + backward with output seed 1; returns a copy of d out / d in<k>. */
static float *grad_of_input(int64_t opset, const char *op, int n_in, const gb_tensor *const *ins,
                            const gb_attr *attrs, int n_attrs, int k)
{
	gb_error err = {0};
	gb_model *m = build(opset, op, n_in, ins, NULL, attrs, n_attrs, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_session *s;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(tu_set_inputs(s, n_in, ins, NULL, &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_backward(s, NULL, &err), GB_OK, "%s", err.msg);
	char name[16];
	snprintf(name, sizeof name, "in%d", k);
	const gb_tensor *g = gb_session_grad(s, name);
	cr_assert_not_null(g);
	float *copy = malloc((size_t)gb_tensor_numel(g) * sizeof *copy);
	memcpy(copy, g->data, (size_t)gb_tensor_numel(g) * sizeof *copy);
	gb_session_free(s);
	gb_model_free(m);
	return copy;
}

/* x -> Cast(to=mid) -> Cast(to=FLOAT) -> y, x float32 (3). */
static gb_model *cast_chain(int64_t mid, gb_error *err)
{
	gb_model *m = NULL;
	if (gb_model_new_empty("cast.onnx", &m, err) != GB_OK)
		return NULL;
	int64_t d3[1] = {3};
	int v = gb_model_add_value(m, "x", F32, 1, d3);
	int h = gb_model_add_value(m, "h", F32, -1, NULL);
	int y = gb_model_add_value(m, "y", F32, 1, d3);
	int n0 = gb_model_add_node(m, "to_mid", "Cast", "", 1, &v, 1, &h);
	int n1 = gb_model_add_node(m, "to_float", "Cast", "", 1, &h, 1, &y);
	gb_attr a_mid = attr_i("to", mid), a_float = attr_i("to", 1);
	if (gb_node_add_attr(m, &m->nodes[n0], &a_mid, err) != GB_OK ||
	    gb_node_add_attr(m, &m->nodes[n1], &a_float, err) != GB_OK ||
	    gb_model_set_io(m, 1, &v, 1, &y, err) != GB_OK || gb_model_prepare(m, err) != GB_OK) {
		gb_model_free(m);
		return NULL;
	}
	return m;
}

Test(elementwise, gradcheck_cast)
{
	/* float32 -> float32 passes the gradient through (checked by finite
	 * differences); through int64 or bool it is zero, and so are the finite
	 * differences away from integers and from 0. */
	int64_t d3[1] = {3};
	gb_tensor *x = tu_tensor(F32, 1, d3, (float[]){0.4f, -1.3f, 2.6f});
	gb_tensor *ins[1] = {x};
	gb_attr a = attr_i("to", 1);
	cr_assert_eq(gradcheck(13, "Cast", 1, ins, NULL, &a, 1), 0);
	const int64_t mids[3] = {1, 7, 9};
	for (int k = 0; k < 3; k++) {
		gb_error err = {0};
		gb_model *m = cast_chain(mids[k], &err);
		cr_assert_not_null(m, "%s", err.msg);
		cr_assert_eq(tu_gradcheck(m, 1, ins, NULL, 1e-3, 1e-6, 1e-3), 0, "through type %lld", (long long)mids[k]);
		gb_session *s;
		cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
		cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK);
		cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
		cr_assert_eq(gb_session_backward(s, NULL, &err), GB_OK, "%s", err.msg);
		const gb_tensor *g = gb_session_input_grad(s, 0);
		float want = mids[k] == 1 ? 1.0f : 0.0f;
		for (int i = 0; i < 3; i++)
			cr_assert(!g || ((float *)g->data)[i] == want, "type %lld [%d]", (long long)mids[k], i);
		cr_assert(g || want == 0.0f);
		gb_session_free(s);
		gb_model_free(m);
	}
	gb_tensor_free(x);
}

Test(elementwise, kinks_follow_pytorch)
{
	int64_t d3[1] = {3};
	gb_tensor *x = tu_tensor(F32, 1, d3, (float[]){-1.0f, 0.0f, 2.0f});
	const gb_tensor *one[1] = {x};
	float *g = grad_of_input(0, "Relu", 1, one, NULL, 0, 0);
	cr_assert_eq(tu_close(g, (float[]){0, 0, 1}, 3, 0, 0), 0, "relu'(0) = 0");
	free(g);
	g = grad_of_input(0, "Abs", 1, one, NULL, 0, 0);
	cr_assert_eq(tu_close(g, (float[]){-1, 0, 1}, 3, 0, 0), 0, "abs'(0) = 0");
	free(g);
	gb_attr alpha = attr_f("alpha", 0.25f);
	g = grad_of_input(0, "LeakyRelu", 1, one, &alpha, 1, 0);
	cr_assert_eq(tu_close(g, (float[]){0.25f, 0.25f, 1}, 3, 0, 0), 0, "leaky_relu'(0) = alpha");
	free(g);
	g = grad_of_input(0, "Elu", 1, one, &alpha, 1, 0);
	cr_assert_eq(tu_close(g, (float[]){0.25f * expf(-1), 0.25f, 1}, 3, 1e-7, 1e-6), 0, "elu'(0) = alpha");
	free(g);
	/* Clip: the boundary passes the gradient to x. */
	gb_tensor *c = tu_tensor(F32, 1, d3, (float[]){-1.0f, 0.5f, 2.0f});
	gb_tensor *lo = tu_tensor(F32, 0, NULL, (float[]){-1.0f}), *hi = tu_tensor(F32, 0, NULL, (float[]){1.0f});
	const gb_tensor *clip_in[3] = {c, lo, hi};
	g = grad_of_input(13, "Clip", 3, clip_in, NULL, 0, 0);
	cr_assert_eq(tu_close(g, (float[]){1, 1, 0}, 3, 0, 0), 0, "clip passes at min <= x <= max");
	free(g);
	g = grad_of_input(13, "Clip", 3, clip_in, NULL, 0, 2);
	cr_assert_eq(g[0], 1.0f, "the max bound gets the clipped element");
	free(g);
	g = grad_of_input(13, "Clip", 3, clip_in, NULL, 0, 1);
	cr_assert_eq(g[0], 0.0f, "x == min: the gradient went to x");
	free(g);
	gb_tensor_free(x);
	gb_tensor_free(c);
	gb_tensor_free(lo);
	gb_tensor_free(hi);
}

Test(elementwise, max_min_split_ties_equally)
{
	int64_t d2[1] = {2};
	gb_tensor *a = tu_tensor(F32, 1, d2, (float[]){2.0f, 1.0f});
	gb_tensor *b = tu_tensor(F32, 1, d2, (float[]){2.0f, 3.0f});
	gb_tensor *c = tu_tensor(F32, 0, NULL, (float[]){2.0f});
	const gb_tensor *ins[3] = {a, b, c};
	/* Element 0: all three attain 2 → 1/3 each; element 1: b alone. c is
	 * broadcast, so it sums its shares over both elements. */
	float *ga = grad_of_input(0, "Max", 3, ins, NULL, 0, 0);
	float *gb = grad_of_input(0, "Max", 3, ins, NULL, 0, 1);
	float *gc = grad_of_input(0, "Max", 3, ins, NULL, 0, 2);
	cr_assert_eq(tu_close(ga, (float[]){1.0f / 3, 0}, 2, 1e-7, 0), 0);
	cr_assert_eq(tu_close(gb, (float[]){1.0f / 3, 1}, 2, 1e-7, 0), 0);
	cr_assert_eq(tu_close(gc, (float[]){1.0f / 3}, 1, 1e-7, 0), 0);
	free(ga);
	free(gb);
	free(gc);
	const gb_tensor *two[2] = {a, b};
	ga = grad_of_input(0, "Min", 2, two, NULL, 0, 0);
	gb = grad_of_input(0, "Min", 2, two, NULL, 0, 1);
	cr_assert_eq(tu_close(ga, (float[]){0.5f, 1}, 2, 0, 0), 0);
	cr_assert_eq(tu_close(gb, (float[]){0.5f, 0}, 2, 0, 0), 0);
	free(ga);
	free(gb);
	gb_tensor_free(a);
	gb_tensor_free(b);
	gb_tensor_free(c);
}

Test(elementwise, backward_accumulates_into_shared_input)
{
	/* y = x * x with both operands the same value: dy/dx = 2x, which only
	 * comes out when each operand's contribution is added. */
	gb_error err = {0};
	gb_model *m = NULL;
	cr_assert_eq(gb_model_new_empty("square.onnx", &m, &err), GB_OK);
	int64_t d3[1] = {3};
	int v = gb_model_add_value(m, "x", F32, 1, d3);
	int y = gb_model_add_value(m, "y", F32, 1, d3);
	int ins[2] = {v, v};
	gb_model_add_node(m, "sq", "Mul", "", 2, ins, 1, &y);
	cr_assert_eq(gb_model_set_io(m, 1, &v, 1, &y, &err), GB_OK);
	cr_assert_eq(gb_model_prepare(m, &err), GB_OK, "%s", err.msg);
	gb_tensor *x = tu_tensor(F32, 1, d3, (float[]){1.5f, -2.0f, 0.25f});
	gb_session *s;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK);
	cr_assert_eq(gb_session_backward(s, NULL, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(tu_close(gb_session_input_grad(s, 0)->data, (float[]){3.0f, -4.0f, 0.5f}, 3, 0, 0), 0);
	gb_session_free(s);
	gb_model_free(m);
	gb_tensor_free(x);
}
