/*
 * test_shape.c — the data-movement ops (src/exec/ops/shape.c): forward
 * against hand-computed results for every op and attribute form, old
 * opsets included; backward by finite differences; malformed shapes and
 * hostile sizes refused with GB_STATUS_BAD_FILE naming the node.
 *
 * Expected values for the multi-axis cases (slice with negative steps, pad
 * modes) were computed with numpy and written out here.
 */
#include <criterion/criterion.h>
#include <limits.h>

#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------- */

/* tu_single with the model's opset set before prepare (tu_single leaves it
 * 0, which the ops read as the newest opset). With tee set, an Identity
 * node also reads input 0 into an extra graph output, so input 0's gradient
 * has two contributions and an op that overwrites instead of accumulating
 * shows. */
static gb_model *build(int64_t opset, const char *op, int n_in, const gb_tensor *const *ins, const int *consts,
                       int n_out, const gb_attr *attrs, int n_attrs, int tee, gb_error *err)
{
	gb_model *m = NULL;
	if (gb_model_new_empty("test", &m, err) != GB_OK)
		return NULL;
	m->opset = opset;
	int in_ids[16], out_ids[16], graph_in[16], n_graph_in = 0;
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
	for (int k = 0; k < n_out; k++) {
		char name[32];
		snprintf(name, sizeof name, "out%d", k);
		out_ids[k] = gb_model_add_value(m, name, GB_DTYPE_F32, -1, NULL);
	}
	int node = gb_model_add_node(m, "node", op, "", n_in, in_ids, n_out, out_ids);
	for (int a = 0; a < n_attrs; a++)
		if (gb_node_add_attr(m, &m->nodes[node], &attrs[a], err) != GB_OK)
			goto fail;
	if (tee) {
		out_ids[n_out] = gb_model_add_value(m, "tee", GB_DTYPE_F32, -1, NULL);
		gb_model_add_node(m, "tee", "Identity", "", 1, &in_ids[0], 1, &out_ids[n_out]);
	}
	if (gb_model_set_io(m, n_graph_in, graph_in, n_out + (tee != 0), out_ids, err) != GB_OK)
		goto fail;
	if (gb_model_prepare(m, err) != GB_OK)
		goto fail;
	return m;
fail:
	gb_model_free(m);
	return NULL;
}

static gb_model *single_at(int64_t opset, const char *op, int n_in, const gb_tensor *const *ins, const int *consts,
                           int n_out, const gb_attr *attrs, int n_attrs, gb_error *err)
{
	return build(opset, op, n_in, ins, consts, n_out, attrs, n_attrs, 0, err);
}

/* Builds and runs a one-node model; outs[k] are copies the caller frees.
 * Returns the status of building or running, with the message in err. */
static gb_status run_op(int64_t opset, const char *op, int n_in, gb_tensor *const *ins, const int *consts, int n_out,
                        const gb_attr *attrs, int n_attrs, gb_tensor **outs, gb_error *err)
{
	*err = (gb_error){0};
	gb_model *m = single_at(opset, op, n_in, (const gb_tensor *const *)ins, consts, n_out, attrs, n_attrs, err);
	if (!m)
		return err->status;
	gb_status st = tu_run(m, n_in, (const gb_tensor *const *)ins, consts, outs, err);
	gb_model_free(m);
	return st;
}

/* Gradient check of a one-node model at an opset, and of the same node
 * with input 0 also read by a second node (accumulation). */
static int grad_ok(int64_t opset, const char *op, int n_in, gb_tensor *const *ins, const int *consts, int n_out,
                   const gb_attr *attrs, int n_attrs)
{
	int bad = 0;
	for (int tee = 0; tee < 2; tee++) {
		gb_error err = {0};
		gb_model *m = build(opset, op, n_in, (const gb_tensor *const *)ins, consts, n_out, attrs, n_attrs, tee, &err);
		cr_assert_not_null(m, "%s", err.msg);
		bad += tu_gradcheck(m, n_in, ins, consts, 1e-3, 1e-3, 1e-3);
		gb_model_free(m);
	}
	return bad == 0;
}

static void free_all(gb_tensor **t, int n)
{
	for (int i = 0; i < n; i++)
		gb_tensor_free(t[i]);
}

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define NDIMS(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define FLOATS(...) ((const float[]){__VA_ARGS__})
#define INTS(...) ((const int64_t[]){__VA_ARGS__})

/* float32 tensor holding 0, 1, 2, … */
static gb_tensor *iota(int ndim, const int64_t *dims)
{
	gb_tensor *t = tu_tensor(GB_DTYPE_F32, ndim, dims, NULL);
	for (int64_t i = 0; i < gb_tensor_numel(t); i++)
		((float *)t->data)[i] = (float)i;
	return t;
}

/* 1-D int64 tensor. */
static gb_tensor *ivec(int n, const int64_t *v)
{
	return tu_tensor(GB_DTYPE_I64, 1, (int64_t[]){n}, v);
}

#define IVEC(...) ivec(NDIMS(__VA_ARGS__), INTS(__VA_ARGS__))

static gb_attr a_int(const char *name, int64_t v)
{
	return (gb_attr){.name = name, .type = GB_ATTR_INT, .i = v};
}

static gb_attr a_float(const char *name, float v)
{
	return (gb_attr){.name = name, .type = GB_ATTR_FLOAT, .f = v};
}

static gb_attr a_ints(const char *name, int n, const int64_t *v)
{
	return (gb_attr){.name = name, .type = GB_ATTR_INTS, .n = n, .ints = (int64_t *)v};
}

#define A_INTS(name, ...) a_ints(name, NDIMS(__VA_ARGS__), INTS(__VA_ARGS__))

static gb_attr a_str(const char *name, const char *s)
{
	return (gb_attr){.name = name, .type = GB_ATTR_STRING, .s = s, .s_len = strlen(s)};
}

static void expect_shape(const gb_tensor *t, gb_dtype dtype, int ndim, const int64_t *dims)
{
	cr_assert_not_null(t);
	cr_assert_eq(t->dtype, dtype, "dtype %s, want %s", gb_dtype_name(t->dtype), gb_dtype_name(dtype));
	char got[128], want[128];
	gb_shape_str(t->ndim, t->dims, got, sizeof got);
	gb_shape_str(ndim, dims, want, sizeof want);
	cr_assert_str_eq(got, want);
	cr_assert_eq(t->ndim, ndim);
}

static void expect_f(const gb_tensor *t, int ndim, const int64_t *dims, const float *want)
{
	expect_shape(t, GB_DTYPE_F32, ndim, dims);
	for (int64_t i = 0; i < gb_tensor_numel(t); i++)
		cr_assert_eq(((const float *)t->data)[i], want[i], "element %lld: got %g want %g", (long long)i,
		             (double)((const float *)t->data)[i], (double)want[i]);
}

static void expect_i(const gb_tensor *t, int ndim, const int64_t *dims, const int64_t *want)
{
	expect_shape(t, GB_DTYPE_I64, ndim, dims);
	for (int64_t i = 0; i < gb_tensor_numel(t); i++)
		cr_assert_eq(((const int64_t *)t->data)[i], want[i], "element %lld: got %lld want %lld", (long long)i,
		             (long long)((const int64_t *)t->data)[i], (long long)want[i]);
}

#define EXPECT_F(t, dims, ...) expect_f((t), (int)(sizeof(dims) / sizeof(int64_t)), (dims), FLOATS(__VA_ARGS__))

/* A failure with status st whose message names the node. */
static void expect_fail(gb_status got, const gb_error *err, gb_status st)
{
	cr_assert_eq(got, st, "status %s (%s), want %s", gb_status_name(got), err->msg, gb_status_name(st));
	cr_assert(strstr(err->msg, "node") != NULL, "message does not name the node: %s", err->msg);
}

/* ---- Identity and Dropout ------------------------------------------------------ */

Test(shape, identity_copies_every_dtype)
{
	gb_error err = {0};
	gb_tensor *f = iota(2, DIMS(2, 3)), *out[1] = {0};
	cr_assert_eq(run_op(13, "Identity", 1, &f, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 3), 0, 1, 2, 3, 4, 5);
	gb_tensor_free(out[0]);

	gb_tensor *b = tu_tensor(GB_DTYPE_BOOL, 1, DIMS(3), (const unsigned char[]){1, 0, 1});
	cr_assert_eq(run_op(13, "Identity", 1, &b, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_BOOL, 1, DIMS(3));
	cr_assert_eq(memcmp(out[0]->data, b->data, 3), 0);
	gb_tensor_free(out[0]);

	gb_tensor *d = tu_tensor(GB_DTYPE_F64, 1, DIMS(2), NULL);
	cr_assert_eq(run_op(13, "Identity", 1, &d, NULL, 1, NULL, 0, out, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "float64") != NULL, "%s", err.msg);
	cr_assert(grad_ok(13, "Identity", 1, &f, NULL, 1, NULL, 0));
	gb_tensor_free(f);
	gb_tensor_free(b);
	gb_tensor_free(d);
}

Test(shape, dropout_inference_with_mask)
{
	gb_error err = {0};
	gb_tensor *ins[3] = {iota(2, DIMS(2, 2)), tu_tensor(GB_DTYPE_F32, 0, NULL, FLOATS(0.3f)), NULL};
	gb_tensor *out[2] = {0};
	cr_assert_eq(run_op(13, "Dropout", 2, ins, NULL, 2, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 2), 0, 1, 2, 3);
	expect_shape(out[1], GB_DTYPE_BOOL, 2, DIMS(2, 2));
	for (int i = 0; i < 4; i++)
		cr_assert_eq(((unsigned char *)out[1]->data)[i], 1);
	free_all(out, 2);

	/* training_mode false runs; true is refused, never silently ignored */
	ins[2] = tu_tensor(GB_DTYPE_BOOL, 0, NULL, (const unsigned char[]){0});
	cr_assert_eq(run_op(13, "Dropout", 3, ins, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 2), 0, 1, 2, 3);
	gb_tensor_free(out[0]);
	*(unsigned char *)ins[2]->data = 1;
	expect_fail(run_op(13, "Dropout", 3, ins, NULL, 1, NULL, 0, out, &err), &err, GB_STATUS_UNSUPPORTED);

	cr_assert(grad_ok(13, "Dropout", 2, ins, NULL, 2, NULL, 0));
	free_all(ins, 3);
}

Test(shape, dropout_old_opsets)
{
	gb_error err = {0};
	gb_tensor *x = iota(1, DIMS(3)), *out[2] = {0};
	gb_attr ratio = a_float("ratio", 0.2f);
	/* opset 9: the mask has the input's type */
	cr_assert_eq(run_op(9, "Dropout", 1, &x, NULL, 2, &ratio, 1, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3), 0, 1, 2);
	EXPECT_F(out[1], DIMS(3), 1, 1, 1);
	free_all(out, 2);
	/* opset 11: a bool mask */
	cr_assert_eq(run_op(11, "Dropout", 1, &x, NULL, 2, &ratio, 1, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[1], GB_DTYPE_BOOL, 1, DIMS(3));
	free_all(out, 2);
	/* opset 6 without is_test ran in training mode */
	expect_fail(run_op(6, "Dropout", 1, &x, NULL, 1, NULL, 0, out, &err), &err, GB_STATUS_UNSUPPORTED);
	gb_attr is_test = a_int("is_test", 1);
	cr_assert_eq(run_op(6, "Dropout", 1, &x, NULL, 1, &is_test, 1, out, &err), GB_OK, "%s", err.msg);
	gb_tensor_free(out[0]);
	cr_assert(grad_ok(9, "Dropout", 1, &x, NULL, 2, &ratio, 1));
	gb_tensor_free(x);
}

/* ---- Flatten ------------------------------------------------------------------------ */

Test(shape, flatten_axes)
{
	gb_error err = {0};
	gb_tensor *x = iota(3, DIMS(2, 3, 4)), *out[1] = {0};
	struct {
		int64_t axis;
		int64_t d0, d1;
	} cases[] = {{1, 2, 12}, {0, 1, 24}, {3, 24, 1}, {2, 6, 4}, {-1, 6, 4}, {-3, 1, 24}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		gb_attr axis = a_int("axis", cases[i].axis);
		cr_assert_eq(run_op(13, "Flatten", 1, &x, NULL, 1, &axis, 1, out, &err), GB_OK, "%s", err.msg);
		expect_shape(out[0], GB_DTYPE_F32, 2, DIMS(cases[i].d0, cases[i].d1));
		cr_assert_eq(memcmp(out[0]->data, x->data, 24 * sizeof(float)), 0);
		gb_tensor_free(out[0]);
	}
	/* default axis 1 */
	cr_assert_eq(run_op(9, "Flatten", 1, &x, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 2, DIMS(2, 12));
	gb_tensor_free(out[0]);
	gb_attr bad = a_int("axis", 4);
	expect_fail(run_op(13, "Flatten", 1, &x, NULL, 1, &bad, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_attr axis = a_int("axis", 2);
	cr_assert(grad_ok(13, "Flatten", 1, &x, NULL, 1, &axis, 1));
	gb_tensor_free(x);
}

/* ---- Reshape ------------------------------------------------------------------------ */

Test(shape, reshape_infers_and_copies)
{
	gb_error err = {0};
	int consts[2] = {0, 1};
	gb_tensor *ins[2] = {iota(3, DIMS(2, 3, 2)), IVEC(4, -1)}, *out[1] = {0};
	cr_assert_eq(run_op(13, "Reshape", 2, ins, consts, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(4, 3), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
	gb_tensor_free(out[0]);
	gb_tensor_free(ins[1]);

	/* 0 copies the input dim */
	ins[1] = IVEC(0, -1);
	cr_assert_eq(run_op(13, "Reshape", 2, ins, consts, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 2, DIMS(2, 6));
	gb_tensor_free(out[0]);
	cr_assert(grad_ok(13, "Reshape", 2, ins, consts, 1, NULL, 0));
	gb_tensor_free(ins[1]);

	/* int64 data and a shape computed at run time (not an initializer) */
	ins[1] = IVEC(-1);
	gb_tensor *shape_data = tu_tensor(GB_DTYPE_I64, 2, DIMS(2, 2), INTS(5, 6, 7, 8));
	gb_tensor *ins2[2] = {shape_data, ins[1]};
	cr_assert_eq(run_op(13, "Reshape", 2, ins2, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_i(out[0], 1, DIMS(4), INTS(5, 6, 7, 8));
	gb_tensor_free(out[0]);
	gb_tensor_free(shape_data);
	free_all(ins, 2);
}

Test(shape, reshape_allowzero)
{
	gb_error err = {0};
	int consts[2] = {0, 1};
	/* test_reshape_allowzero_reordered: (0,3,4) -> [3,4,0] */
	gb_tensor *ins[2] = {tu_tensor(GB_DTYPE_F32, 3, DIMS(0, 3, 4), NULL), IVEC(3, 4, 0)}, *out[1] = {0};
	gb_attr allowzero = a_int("allowzero", 1);
	cr_assert_eq(run_op(14, "Reshape", 2, ins, consts, 1, &allowzero, 1, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 3, DIMS(3, 4, 0));
	gb_tensor_free(out[0]);
	/* without allowzero the 0 would copy dim 2 (4): 48 elements from 0 */
	expect_fail(run_op(14, "Reshape", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	free_all(ins, 2);
}

Test(shape, reshape_old_attribute_form)
{
	gb_error err = {0};
	gb_tensor *x = iota(2, DIMS(2, 3)), *out[1] = {0};
	gb_attr shape = A_INTS("shape", 3, -1);
	cr_assert_eq(run_op(4, "Reshape", 1, &x, NULL, 1, &shape, 1, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3, 2), 0, 1, 2, 3, 4, 5);
	gb_tensor_free(out[0]);
	gb_tensor_free(x);
}

Test(shape, reshape_refuses_bad_shapes)
{
	gb_error err = {0};
	int consts[2] = {0, 1};
	gb_tensor *x = iota(2, DIMS(2, 3)), *out[1] = {0};
	const int64_t bad[][3] = {
		{4, 2, 1},                 /* 8 elements, not 6 */
		{-1, -1, 1},               /* two -1 */
		{0, 0, 0},                 /* third 0 copies past the input's rank */
		{4, -1, 1},                /* 6 not divisible by 4 */
		{-2, 3, 1},                /* negative */
		{1LL << 20, 1LL << 20, 1}, /* huge, wrong count */
		{INT64_MAX, 2, 1},         /* product overflows */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		gb_tensor *ins[2] = {x, ivec(3, bad[i])};
		err = (gb_error){0};
		expect_fail(run_op(13, "Reshape", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
		gb_tensor_free(ins[1]);
	}
	gb_tensor *ins[2] = {x, IVEC(4, 2)};
	run_op(13, "Reshape", 2, ins, consts, 1, NULL, 0, out, &err);
	cr_assert(strstr(err.msg, "node 'node' (Reshape)") && strstr(err.msg, "[2, 3]") && strstr(err.msg, "[4, 2]"),
	          "%s", err.msg);
	gb_tensor_free(ins[1]);
	/* a shape of rank 9 */
	ins[1] = IVEC(1, 1, 1, 1, 1, 1, 1, 2, 3);
	expect_fail(run_op(13, "Reshape", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_UNSUPPORTED);
	gb_tensor_free(ins[1]);
	/* a float shape */
	ins[1] = tu_tensor(GB_DTYPE_F32, 1, DIMS(2), FLOATS(3, 2));
	expect_fail(run_op(13, "Reshape", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	gb_tensor_free(x);
}

/* ---- Squeeze and Unsqueeze ------------------------------------------------------------ */

Test(shape, squeeze_forms)
{
	gb_error err = {0};
	int consts[2] = {0, 1};
	gb_tensor *ins[2] = {iota(4, DIMS(1, 3, 1, 2)), IVEC(0, -2)}, *out[1] = {0};
	cr_assert_eq(run_op(13, "Squeeze", 2, ins, consts, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3, 2), 0, 1, 2, 3, 4, 5);
	gb_tensor_free(out[0]);
	cr_assert(grad_ok(13, "Squeeze", 2, ins, consts, 1, NULL, 0));
	gb_tensor_free(ins[1]);
	/* no axes: every 1 goes */
	cr_assert_eq(run_op(13, "Squeeze", 1, ins, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 2, DIMS(3, 2));
	gb_tensor_free(out[0]);
	/* opset 11: attribute */
	gb_attr axes = A_INTS("axes", 2);
	cr_assert_eq(run_op(11, "Squeeze", 1, ins, NULL, 1, &axes, 1, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 3, DIMS(1, 3, 2));
	gb_tensor_free(out[0]);
	/* the attribute is wrong from opset 13, the input before it */
	expect_fail(run_op(13, "Squeeze", 1, ins, NULL, 1, &axes, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	ins[1] = IVEC(0);
	expect_fail(run_op(11, "Squeeze", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	/* axis 1 has size 3 */
	ins[1] = IVEC(1);
	expect_fail(run_op(13, "Squeeze", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	ins[1] = IVEC(4);
	expect_fail(run_op(13, "Squeeze", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	free_all(ins, 2);
}

Test(shape, unsqueeze_forms)
{
	gb_error err = {0};
	int consts[2] = {0, 1};
	gb_tensor *ins[2] = {iota(2, DIMS(3, 2)), IVEC(-1, 0)}, *out[1] = {0};
	cr_assert_eq(run_op(13, "Unsqueeze", 2, ins, consts, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(1, 3, 2, 1), 0, 1, 2, 3, 4, 5);
	gb_tensor_free(out[0]);
	cr_assert(grad_ok(13, "Unsqueeze", 2, ins, consts, 1, NULL, 0));
	gb_tensor_free(ins[1]);
	/* test_unsqueeze_unsorted_axes: (3,4,5) with [5,4,2] -> (3,4,1,5,1,1) */
	gb_tensor *x = iota(3, DIMS(3, 4, 5));
	gb_tensor *ins3[2] = {x, IVEC(5, 4, 2)};
	cr_assert_eq(run_op(13, "Unsqueeze", 2, ins3, consts, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 6, DIMS(3, 4, 1, 5, 1, 1));
	gb_tensor_free(out[0]);
	gb_tensor_free(ins3[1]);
	gb_tensor_free(x);
	/* opset 11: attribute, required */
	gb_attr axes = A_INTS("axes", 1);
	cr_assert_eq(run_op(11, "Unsqueeze", 1, ins, NULL, 1, &axes, 1, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 3, DIMS(3, 1, 2));
	gb_tensor_free(out[0]);
	expect_fail(run_op(11, "Unsqueeze", 1, ins, NULL, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	expect_fail(run_op(13, "Unsqueeze", 1, ins, NULL, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	/* repeated axis, axis out of range, rank past the maximum */
	ins[1] = IVEC(1, 1);
	expect_fail(run_op(13, "Unsqueeze", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	ins[1] = IVEC(3);
	expect_fail(run_op(13, "Unsqueeze", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	ins[1] = IVEC(0, 1, 2, 3, 4, 5, 6);
	expect_fail(run_op(13, "Unsqueeze", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_UNSUPPORTED);
	free_all(ins, 2);
}

/* ---- Transpose ---------------------------------------------------------------------------- */

Test(shape, transpose_perm_and_default)
{
	gb_error err = {0};
	gb_tensor *x = iota(3, DIMS(2, 3, 4)), *out[1] = {0};
	gb_attr perm = A_INTS("perm", 1, 2, 0);
	cr_assert_eq(run_op(13, "Transpose", 1, &x, NULL, 1, &perm, 1, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3, 4, 2), 0, 12, 1, 13, 2, 14, 3, 15, 4, 16, 5, 17, 6, 18, 7, 19, 8, 20, 9, 21, 10, 22,
	         11, 23);
	gb_tensor_free(out[0]);
	/* default: reverse, y[k][j][i] = x[i][j][k] */
	cr_assert_eq(run_op(13, "Transpose", 1, &x, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 3, DIMS(4, 3, 2));
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 4; k++)
				cr_assert_eq(((float *)out[0]->data)[(k * 3 + j) * 2 + i], (float)((i * 3 + j) * 4 + k));
	gb_tensor_free(out[0]);
	cr_assert(grad_ok(13, "Transpose", 1, &x, NULL, 1, &perm, 1));
	gb_attr dup = A_INTS("perm", 0, 0, 1), shorter = A_INTS("perm", 1, 0), neg = A_INTS("perm", -1, 0, 1);
	expect_fail(run_op(13, "Transpose", 1, &x, NULL, 1, &dup, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	expect_fail(run_op(13, "Transpose", 1, &x, NULL, 1, &shorter, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	expect_fail(run_op(13, "Transpose", 1, &x, NULL, 1, &neg, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(x);

	/* bool and int64 data move the same way */
	gb_tensor *b = tu_tensor(GB_DTYPE_BOOL, 2, DIMS(2, 2), (const unsigned char[]){1, 0, 0, 0});
	gb_tensor *ii = tu_tensor(GB_DTYPE_I64, 2, DIMS(2, 2), INTS(1, 2, 3, 4));
	cr_assert_eq(run_op(13, "Transpose", 1, &b, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(memcmp(out[0]->data, (const unsigned char[]){1, 0, 0, 0}, 4), 0);
	gb_tensor_free(out[0]);
	cr_assert_eq(run_op(13, "Transpose", 1, &ii, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_i(out[0], 2, DIMS(2, 2), INTS(1, 3, 2, 4));
	gb_tensor_free(out[0]);
	gb_tensor_free(b);
	gb_tensor_free(ii);
}

/* ---- Slice ------------------------------------------------------------------------------ */

static gb_status slice13(gb_tensor *x, gb_tensor *starts, gb_tensor *ends, gb_tensor *axes, gb_tensor *steps,
                         gb_tensor **out, gb_error *err)
{
	gb_tensor *ins[5] = {x, starts, ends, axes, steps};
	int consts[5] = {0, 1, 1, 1, 1};
	int n = steps ? 5 : axes ? 4 : 3;
	gb_status st = run_op(13, "Slice", n, ins, consts, 1, NULL, 0, out, err);
	for (int k = 1; k < 5; k++)
		gb_tensor_free(ins[k]);
	return st;
}

Test(shape, slice_inputs_form)
{
	gb_error err = {0};
	gb_tensor *x = iota(2, DIMS(2, 4)), *out[1] = {0};
	/* the spec's example 1: starts [1,0], ends [2,3], steps [1,2] -> [[5,7]] on 1..8 */
	cr_assert_eq(slice13(x, IVEC(1, 0), IVEC(2, 3), IVEC(0, 1), IVEC(1, 2), out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(1, 2), 4, 6);
	gb_tensor_free(out[0]);
	/* example 2: starts [0,1], ends [-1,1000] -> [[2,3,4]] */
	cr_assert_eq(slice13(x, IVEC(0, 1), IVEC(-1, 1000), NULL, NULL, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(1, 3), 1, 2, 3);
	gb_tensor_free(out[0]);
	/* negative axis, start out of bounds -> empty axis */
	cr_assert_eq(slice13(x, IVEC(1000), IVEC(1000), IVEC(-1), NULL, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 2, DIMS(2, 0));
	gb_tensor_free(out[0]);
	/* INT64_MAX / INT64_MIN ends: reverse a whole axis */
	cr_assert_eq(slice13(x, IVEC(-1), IVEC(INT64_MIN), IVEC(1), IVEC(-1), out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 4), 3, 2, 1, 0, 7, 6, 5, 4);
	gb_tensor_free(out[0]);
	cr_assert_eq(slice13(x, IVEC(INT64_MIN), IVEC(INT64_MAX), IVEC(1), IVEC(3), out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 2), 0, 3, 4, 7);
	gb_tensor_free(out[0]);
	gb_tensor_free(x);
}

Test(shape, slice_negative_steps_and_clamping)
{
	gb_error err = {0};
	gb_tensor *x = iota(3, DIMS(2, 3, 4)), *out[1] = {0};
	/* numpy x[::-1, 2:0:-1, -1:-5:-2] */
	cr_assert_eq(slice13(x, IVEC(-1, 2, -1), IVEC(INT64_MIN, 0, -5), IVEC(0, 1, 2), IVEC(-1, -1, -2), out, &err),
	             GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 2, 2), 23, 21, 19, 17, 11, 9, 7, 5);
	gb_tensor_free(out[0]);
	/* the spec's clamping with a negative step: start 10 -> dim-1 = 3,
	 * end -1 + 4 = 3 -> nothing; end -10 -> clamped to -1 -> everything */
	cr_assert_eq(slice13(x, IVEC(10), IVEC(-1), IVEC(2), IVEC(-1), out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 3, DIMS(2, 3, 0));
	gb_tensor_free(out[0]);
	cr_assert_eq(slice13(x, IVEC(10), IVEC(-10), IVEC(2), IVEC(-1), out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 3, DIMS(2, 3, 4));
	cr_assert_eq(((float *)out[0]->data)[0], 3.0f);
	cr_assert_eq(((float *)out[0]->data)[3], 0.0f);
	gb_tensor_free(out[0]);
	/* a huge step takes only the first element */
	cr_assert_eq(slice13(x, IVEC(1), IVEC(INT64_MAX), IVEC(2), IVEC(INT64_MAX), out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 3, DIMS(2, 3, 1));
	cr_assert_eq(((float *)out[0]->data)[1], 5.0f);
	gb_tensor_free(out[0]);
	cr_assert_eq(slice13(x, IVEC(3), IVEC(INT64_MIN), IVEC(2), IVEC(INT64_MIN), out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 3, DIMS(2, 3, 1));
	cr_assert_eq(((float *)out[0]->data)[1], 7.0f);
	gb_tensor_free(out[0]);
	/* int32 starts and ends */
	gb_tensor *s32 = tu_tensor(GB_DTYPE_I32, 1, DIMS(1), (const int32_t[]){1});
	gb_tensor *e32 = tu_tensor(GB_DTYPE_I32, 1, DIMS(1), (const int32_t[]){2});
	cr_assert_eq(slice13(x, s32, e32, NULL, NULL, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_F32, 3, DIMS(1, 3, 4));
	cr_assert_eq(((float *)out[0]->data)[0], 12.0f);
	gb_tensor_free(out[0]);
	gb_tensor_free(x);
}

Test(shape, slice_refuses_bad_operands)
{
	gb_error err = {0};
	gb_tensor *x = iota(2, DIMS(2, 4)), *out[1] = {0};
	expect_fail(slice13(x, IVEC(0), IVEC(1), IVEC(0), IVEC(0), out, &err), &err, GB_STATUS_BAD_FILE); /* step 0 */
	expect_fail(slice13(x, IVEC(0, 0), IVEC(1), NULL, NULL, out, &err), &err, GB_STATUS_BAD_FILE);
	expect_fail(slice13(x, IVEC(0, 0), IVEC(1, 1), IVEC(1, -1), NULL, out, &err), &err, GB_STATUS_BAD_FILE);
	expect_fail(slice13(x, IVEC(0), IVEC(1), IVEC(2), NULL, out, &err), &err, GB_STATUS_BAD_FILE);
	expect_fail(slice13(x, IVEC(0, 0, 0), IVEC(1, 1, 1), NULL, NULL, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(x);
}

Test(shape, slice_old_attribute_form)
{
	gb_error err = {0};
	gb_tensor *x = iota(2, DIMS(2, 4)), *out[1] = {0};
	gb_attr attrs[3] = {A_INTS("starts", 1, -3), A_INTS("ends", 2, 1000), A_INTS("axes", 0, 1)};
	cr_assert_eq(run_op(9, "Slice", 1, &x, NULL, 1, attrs, 3, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(1, 3), 5, 6, 7);
	gb_tensor_free(out[0]);
	/* no axes: the first len(starts) axes */
	cr_assert_eq(run_op(9, "Slice", 1, &x, NULL, 1, attrs, 2, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(1, 3), 5, 6, 7);
	gb_tensor_free(out[0]);
	/* the attributes are wrong from opset 10 */
	expect_fail(run_op(10, "Slice", 1, &x, NULL, 1, attrs, 3, out, &err), &err, GB_STATUS_BAD_FILE);
	cr_assert(grad_ok(9, "Slice", 1, &x, NULL, 1, attrs, 3));
	gb_tensor_free(x);
}

Test(shape, slice_gradient)
{
	gb_tensor *ins[5] = {tu_random(3, DIMS(3, 4, 5), -1, 1, 1), IVEC(-1, 1, 0), IVEC(INT64_MIN, 4, 5),
	                     IVEC(0, 1, 2), IVEC(-2, 2, 2)};
	int consts[5] = {0, 1, 1, 1, 1};
	cr_assert(grad_ok(13, "Slice", 5, ins, consts, 1, NULL, 0));
	free_all(ins, 5);
}

/* ---- Concat ------------------------------------------------------------------------------ */

Test(shape, concat_axes)
{
	gb_error err = {0};
	gb_tensor *ins[3] = {iota(2, DIMS(2, 1)), iota(2, DIMS(2, 3)), iota(2, DIMS(2, 2))}, *out[1] = {0};
	gb_attr axis = a_int("axis", -1);
	cr_assert_eq(run_op(13, "Concat", 3, ins, NULL, 1, &axis, 1, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 6), 0, 0, 1, 2, 0, 1, 1, 3, 4, 5, 2, 3);
	gb_tensor_free(out[0]);
	cr_assert(grad_ok(13, "Concat", 3, ins, NULL, 1, &axis, 1));
	/* mismatched other axis */
	gb_attr axis0 = a_int("axis", 0);
	expect_fail(run_op(13, "Concat", 3, ins, NULL, 1, &axis0, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	/* axis is required */
	expect_fail(run_op(13, "Concat", 3, ins, NULL, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	free_all(ins, 3);

	/* int64 shape vectors, as Shape -> Concat -> Reshape chains build them */
	gb_tensor *iv[2] = {IVEC(2, 3), IVEC(-1)};
	cr_assert_eq(run_op(13, "Concat", 2, iv, NULL, 1, &axis0, 1, out, &err), GB_OK, "%s", err.msg);
	expect_i(out[0], 1, DIMS(3), INTS(2, 3, -1));
	gb_tensor_free(out[0]);
	/* dtypes must agree */
	gb_tensor *mixed[2] = {iv[0], iota(1, DIMS(2))};
	expect_fail(run_op(13, "Concat", 2, mixed, NULL, 1, &axis0, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(mixed[1]);
	free_all(iv, 2);
}

/* ---- Split ------------------------------------------------------------------------------- */

Test(shape, split_sizes_input_and_attribute)
{
	gb_error err = {0};
	int consts[2] = {0, 1};
	gb_tensor *ins[2] = {iota(2, DIMS(2, 3)), IVEC(2, 1)}, *out[2] = {0};
	gb_attr axis = a_int("axis", 1);
	cr_assert_eq(run_op(13, "Split", 2, ins, consts, 2, &axis, 1, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 2), 0, 1, 3, 4);
	EXPECT_F(out[1], DIMS(2, 1), 2, 5);
	free_all(out, 2);
	cr_assert(grad_ok(13, "Split", 2, ins, consts, 2, &axis, 1));
	/* opset 11: the sizes are an attribute */
	gb_attr attrs[2] = {axis, A_INTS("split", 1, 2)};
	cr_assert_eq(run_op(11, "Split", 1, ins, NULL, 2, attrs, 2, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 1), 0, 3);
	EXPECT_F(out[1], DIMS(2, 2), 1, 2, 4, 5);
	free_all(out, 2);
	cr_assert(grad_ok(11, "Split", 1, ins, NULL, 2, attrs, 2));
	expect_fail(run_op(13, "Split", 1, ins, NULL, 2, attrs, 2, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	/* sizes that do not add up, or a wrong count */
	ins[1] = IVEC(2, 2);
	expect_fail(run_op(13, "Split", 2, ins, consts, 2, &axis, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	ins[1] = IVEC(1, 1, 1);
	expect_fail(run_op(13, "Split", 2, ins, consts, 2, &axis, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	free_all(ins, 2);
}

Test(shape, split_equal_and_uneven)
{
	gb_error err = {0};
	gb_tensor *x = iota(1, DIMS(7)), *out[4] = {0};
	/* opset 18 num_outputs: test_split_1d_uneven_split_opset18, 7 -> 2,2,2,1 */
	gb_attr num = a_int("num_outputs", 4);
	cr_assert_eq(run_op(18, "Split", 1, &x, NULL, 4, &num, 1, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2), 0, 1);
	EXPECT_F(out[1], DIMS(2), 2, 3);
	EXPECT_F(out[2], DIMS(2), 4, 5);
	EXPECT_F(out[3], DIMS(1), 6);
	free_all(out, 4);
	cr_assert(grad_ok(18, "Split", 1, &x, NULL, 4, &num, 1));
	/* num_outputs must match the outputs */
	expect_fail(run_op(18, "Split", 1, &x, NULL, 3, &num, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	/* before 18, no sizes means equal parts, which 7 cannot make */
	expect_fail(run_op(13, "Split", 1, &x, NULL, 2, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(x);
	x = iota(2, DIMS(2, 6));
	gb_attr axis = a_int("axis", -1);
	cr_assert_eq(run_op(13, "Split", 1, &x, NULL, 3, &axis, 1, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 2), 0, 1, 6, 7);
	EXPECT_F(out[1], DIMS(2, 2), 2, 3, 8, 9);
	EXPECT_F(out[2], DIMS(2, 2), 4, 5, 10, 11);
	free_all(out, 3);
	gb_tensor_free(x);
	/* zero-size splits: test_split_zero_size_splits */
	gb_tensor *ins[2] = {tu_tensor(GB_DTYPE_F32, 1, DIMS(0), NULL), IVEC(0, 0, 0)};
	int consts[2] = {0, 1};
	cr_assert_eq(run_op(18, "Split", 2, ins, consts, 3, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	for (int k = 0; k < 3; k++)
		expect_shape(out[k], GB_DTYPE_F32, 1, DIMS(0));
	free_all(out, 3);
	free_all(ins, 2);
}

/* ---- Gather -------------------------------------------------------------------------------- */

Test(shape, gather_axes_and_index_types)
{
	gb_error err = {0};
	int consts[2] = {0, 1};
	gb_tensor *ins[2] = {iota(2, DIMS(3, 2)), tu_tensor(GB_DTYPE_I64, 2, DIMS(2, 2), INTS(0, 1, -1, 1))};
	gb_tensor *out[1] = {0};
	cr_assert_eq(run_op(13, "Gather", 2, ins, consts, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 2, 2), 0, 1, 2, 3, 4, 5, 2, 3);
	gb_tensor_free(out[0]);
	/* repeated indices: backward must add both copies */
	cr_assert(grad_ok(13, "Gather", 2, ins, consts, 1, NULL, 0));
	gb_tensor_free(ins[1]);
	/* axis 1 with int32 indices */
	ins[1] = tu_tensor(GB_DTYPE_I32, 1, DIMS(3), (const int32_t[]){1, 0, 1});
	gb_attr axis = a_int("axis", 1);
	cr_assert_eq(run_op(13, "Gather", 2, ins, consts, 1, &axis, 1, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3, 3), 1, 0, 1, 3, 2, 3, 5, 4, 5);
	gb_tensor_free(out[0]);
	cr_assert(grad_ok(13, "Gather", 2, ins, consts, 1, &axis, 1));
	gb_tensor_free(ins[1]);
	/* a scalar index drops the axis: x[:, -1] */
	ins[1] = tu_tensor(GB_DTYPE_I64, 0, NULL, INTS(-1));
	cr_assert_eq(run_op(13, "Gather", 2, ins, consts, 1, &axis, 1, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3), 1, 3, 5);
	gb_tensor_free(out[0]);
	gb_tensor_free(ins[1]);
	/* out of range, and a float index */
	ins[1] = IVEC(3);
	expect_fail(run_op(13, "Gather", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	ins[1] = IVEC(-4);
	expect_fail(run_op(13, "Gather", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	ins[1] = tu_tensor(GB_DTYPE_F32, 1, DIMS(1), FLOATS(0));
	expect_fail(run_op(13, "Gather", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	free_all(ins, 2);

	/* int64 data: picking a dim out of a shape vector */
	gb_tensor *shp[2] = {IVEC(7, 8, 9), tu_tensor(GB_DTYPE_I64, 0, NULL, INTS(1))};
	cr_assert_eq(run_op(13, "Gather", 2, shp, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_i(out[0], 0, NULL, INTS(8));
	gb_tensor_free(out[0]);
	free_all(shp, 2);
}

/* ---- Shape ----------------------------------------------------------------------------------- */

Test(shape, shape_start_end)
{
	gb_error err = {0};
	gb_tensor *x = tu_tensor(GB_DTYPE_F32, 3, DIMS(3, 4, 5), NULL), *out[1] = {0};
	cr_assert_eq(run_op(13, "Shape", 1, &x, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_i(out[0], 1, DIMS(3), INTS(3, 4, 5));
	gb_tensor_free(out[0]);
	struct {
		int64_t start, end;
		int has_start, has_end;
		int n;
		int64_t want[3];
	} cases[] = {
		{1, 0, 1, 0, 2, {4, 5}}, {0, 1, 0, 1, 1, {3}},  {0, -1, 0, 1, 2, {3, 4}}, {-1, 0, 1, 0, 1, {5}},
		{2, 1, 1, 1, 0, {0}},    {-10, 0, 1, 0, 3, {3, 4, 5}}, {1, 10, 1, 1, 2, {4, 5}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		gb_attr attrs[2];
		int n = 0;
		if (cases[i].has_start)
			attrs[n++] = a_int("start", cases[i].start);
		if (cases[i].has_end)
			attrs[n++] = a_int("end", cases[i].end);
		cr_assert_eq(run_op(15, "Shape", 1, &x, NULL, 1, attrs, n, out, &err), GB_OK, "%s", err.msg);
		expect_i(out[0], 1, DIMS(cases[i].n), cases[i].want);
		gb_tensor_free(out[0]);
	}
	gb_attr start = a_int("start", 1);
	expect_fail(run_op(14, "Shape", 1, &x, NULL, 1, &start, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(x);
	/* any dtype: only the dims are read */
	gb_tensor *d = tu_tensor(GB_DTYPE_F64, 2, DIMS(2, 1), NULL);
	cr_assert_eq(run_op(13, "Shape", 1, &d, NULL, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_i(out[0], 1, DIMS(2), INTS(2, 1));
	gb_tensor_free(out[0]);
	gb_tensor_free(d);
}

/* ---- Expand ----------------------------------------------------------------------------------- */

Test(shape, expand_bidirectional)
{
	gb_error err = {0};
	int consts[2] = {0, 1};
	gb_tensor *ins[2] = {iota(2, DIMS(3, 1)), IVEC(2, 1, 4)}, *out[1] = {0};
	cr_assert_eq(run_op(13, "Expand", 2, ins, consts, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 3, 4), 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2);
	gb_tensor_free(out[0]);
	/* gradient sums over the broadcast axes */
	cr_assert(grad_ok(13, "Expand", 2, ins, consts, 1, NULL, 0));
	gb_tensor_free(ins[1]);
	/* a shape of lower rank and 1s where the input is larger keep the input's dims */
	ins[1] = IVEC(1);
	cr_assert_eq(run_op(13, "Expand", 2, ins, consts, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3, 1), 0, 1, 2);
	gb_tensor_free(out[0]);
	gb_tensor_free(ins[1]);
	ins[1] = IVEC(2);
	cr_assert_eq(run_op(13, "Expand", 2, ins, consts, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3, 2), 0, 0, 1, 1, 2, 2);
	gb_tensor_free(out[0]);
	gb_tensor_free(ins[1]);
	/* 3 does not broadcast against 2 */
	ins[1] = IVEC(2, 1);
	expect_fail(run_op(13, "Expand", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	/* hostile: sizes that overflow fail cleanly */
	ins[1] = IVEC(1LL << 31, 1LL << 31, 1LL << 31, 1, 1);
	expect_fail(run_op(13, "Expand", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins[1]);
	ins[1] = IVEC(-1, 1);
	expect_fail(run_op(13, "Expand", 2, ins, consts, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	free_all(ins, 2);
}

/* ---- Pad --------------------------------------------------------------------------------------- */

/* Pad at opset 19 with pads (and optionally the constant) as initializers. */
static gb_status pad19(const char *mode, gb_tensor *x, gb_tensor *pads, gb_tensor *value, gb_tensor *axes,
                       gb_tensor **out, gb_error *err)
{
	gb_tensor *ins[4] = {x, pads, value, axes};
	int consts[4] = {0, 1, 1, 1};
	gb_attr attr = a_str("mode", mode);
	gb_status st = run_op(19, "Pad", axes ? 4 : value ? 3 : 2, ins, consts, 1, &attr, 1, out, err);
	gb_tensor_free(pads);
	gb_tensor_free(value);
	gb_tensor_free(axes);
	return st;
}

Test(shape, pad_modes)
{
	gb_error err = {0};
	gb_tensor *x = iota(2, DIMS(2, 3)), *out[1] = {0};
	/* pads [b0, b1, e0, e1] = [1, 2, 0, 1]; expectations from numpy.pad */
	cr_assert_eq(pad19("constant", x, IVEC(1, 2, 0, 1), tu_tensor(GB_DTYPE_F32, 0, NULL, FLOATS(9)), NULL, out, &err),
	             GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3, 6), 9, 9, 9, 9, 9, 9, 9, 9, 0, 1, 2, 9, 9, 9, 3, 4, 5, 9);
	gb_tensor_free(out[0]);
	cr_assert_eq(pad19("reflect", x, IVEC(1, 2, 0, 1), NULL, NULL, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3, 6), 5, 4, 3, 4, 5, 4, 2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4);
	gb_tensor_free(out[0]);
	cr_assert_eq(pad19("edge", x, IVEC(1, 2, 0, 1), NULL, NULL, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3, 6), 0, 0, 0, 1, 2, 2, 0, 0, 0, 1, 2, 2, 3, 3, 3, 4, 5, 5);
	gb_tensor_free(out[0]);
	cr_assert_eq(pad19("wrap", x, IVEC(1, 2, 0, 1), NULL, NULL, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(3, 6), 4, 5, 3, 4, 5, 3, 1, 2, 0, 1, 2, 0, 4, 5, 3, 4, 5, 3);
	gb_tensor_free(out[0]);
	/* reflect further than the axis is long: numpy reflects again */
	cr_assert_eq(pad19("reflect", x, IVEC(0, 4, 0, 3), NULL, NULL, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 10), 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 3, 4, 5, 4, 3, 4, 5, 4, 3, 4);
	gb_tensor_free(out[0]);
	/* default constant 0 */
	cr_assert_eq(pad19("constant", x, IVEC(0, 1, 0, 0), NULL, NULL, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 4), 0, 0, 1, 2, 0, 3, 4, 5);
	gb_tensor_free(out[0]);
	gb_tensor_free(x);
}

Test(shape, pad_negative_pads_crop)
{
	gb_error err = {0};
	gb_tensor *x = iota(2, DIMS(2, 4)), *out[1] = {0};
	/* crop one column at the front, pad one with 7 at the back */
	cr_assert_eq(pad19("constant", x, IVEC(0, -1, 0, 1), tu_tensor(GB_DTYPE_F32, 0, NULL, FLOATS(7)), NULL, out, &err),
	             GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 4), 1, 2, 3, 7, 5, 6, 7, 7);
	gb_tensor_free(out[0]);
	/* crop, then reflect what is left: [1,2,3] -> reflect 1 at the back */
	cr_assert_eq(pad19("reflect", x, IVEC(0, -1, 0, 1), NULL, NULL, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 4), 1, 2, 3, 2, 5, 6, 7, 6);
	gb_tensor_free(out[0]);
	/* cropping more than the axis holds; overflowing pads; reflecting an empty axis */
	expect_fail(pad19("constant", x, IVEC(0, -3, 0, -2), NULL, NULL, out, &err), &err, GB_STATUS_BAD_FILE);
	expect_fail(pad19("constant", x, IVEC(0, INT64_MAX, 0, 1), NULL, NULL, out, &err), &err, GB_STATUS_BAD_FILE);
	expect_fail(pad19("constant", x, IVEC(1LL << 40, 1LL << 40, 0, 0), NULL, NULL, out, &err), &err,
	            GB_STATUS_BAD_FILE);
	expect_fail(pad19("edge", x, IVEC(0, -4, 0, 1), NULL, NULL, out, &err), &err, GB_STATUS_BAD_FILE);
	expect_fail(pad19("constant", x, IVEC(0, 1), NULL, NULL, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(x);
}

Test(shape, pad_axes_input)
{
	gb_error err = {0};
	gb_tensor *x = iota(2, DIMS(2, 2)), *out[1] = {0};
	/* test_constant_pad_negative_axes: pads only for axis -1 */
	cr_assert_eq(pad19("constant", x, IVEC(1, 2), tu_tensor(GB_DTYPE_F32, 0, NULL, FLOATS(-1)), IVEC(-1), out, &err),
	             GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(2, 5), -1, 0, 1, -1, -1, -1, 2, 3, -1, -1);
	gb_tensor_free(out[0]);
	expect_fail(pad19("constant", x, IVEC(1, 2, 0, 0), NULL, IVEC(1, 1), out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(x);
}

Test(shape, pad_opset_forms)
{
	gb_error err = {0};
	gb_tensor *x = iota(1, DIMS(3)), *out[1] = {0};
	/* opset 2: pads and value are attributes */
	gb_attr attrs[3] = {A_INTS("pads", 1, 2), a_float("value", 1.5f), a_str("mode", "constant")};
	cr_assert_eq(run_op(2, "Pad", 1, &x, NULL, 1, attrs, 3, out, &err), GB_OK, "%s", err.msg);
	EXPECT_F(out[0], DIMS(6), 1.5f, 0, 1, 2, 1.5f, 1.5f);
	gb_tensor_free(out[0]);
	cr_assert(grad_ok(2, "Pad", 1, &x, NULL, 1, attrs, 3));
	expect_fail(run_op(11, "Pad", 1, &x, NULL, 1, attrs, 3, out, &err), &err, GB_STATUS_BAD_FILE);
	/* wrap exists from opset 19; an unknown mode is a bad file */
	gb_tensor *ins[2] = {x, IVEC(1, 1)};
	int consts[2] = {0, 1};
	gb_attr wrap = a_str("mode", "wrap"), odd = a_str("mode", "mirror");
	expect_fail(run_op(18, "Pad", 2, ins, consts, 1, &wrap, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	expect_fail(run_op(19, "Pad", 2, ins, consts, 1, &odd, 1, out, &err), &err, GB_STATUS_BAD_FILE);
	/* opset 11 constant_value of the wrong dtype */
	gb_tensor *ins3[3] = {x, ins[1], IVEC(1)};
	expect_fail(run_op(11, "Pad", 3, ins3, (int[]){0, 1, 1}, 1, NULL, 0, out, &err), &err, GB_STATUS_BAD_FILE);
	gb_tensor_free(ins3[2]);
	/* int64 and bool data pad with their own constants */
	gb_tensor *iv[3] = {IVEC(4, 5), ins[1], tu_tensor(GB_DTYPE_I64, 0, NULL, INTS(-7))};
	cr_assert_eq(run_op(11, "Pad", 3, iv, (int[]){0, 1, 1}, 1, NULL, 0, out, &err), GB_OK, "%s", err.msg);
	expect_i(out[0], 1, DIMS(4), INTS(-7, 4, 5, -7));
	gb_tensor_free(out[0]);
	gb_tensor_free(iv[0]);
	gb_tensor_free(iv[2]);
	gb_tensor *bv[2] = {tu_tensor(GB_DTYPE_BOOL, 1, DIMS(1), (const unsigned char[]){1}), ins[1]};
	gb_attr edge = a_str("mode", "edge");
	cr_assert_eq(run_op(11, "Pad", 2, bv, consts, 1, &edge, 1, out, &err), GB_OK, "%s", err.msg);
	expect_shape(out[0], GB_DTYPE_BOOL, 1, DIMS(3));
	cr_assert_eq(memcmp(out[0]->data, (const unsigned char[]){1, 1, 1}, 3), 0);
	gb_tensor_free(out[0]);
	gb_tensor_free(bv[0]);
	gb_tensor_free(ins[1]);
	gb_tensor_free(x);
}

Test(shape, pad_gradients)
{
	const char *modes[] = {"constant", "reflect", "edge", "wrap"};
	for (int i = 0; i < 4; i++) {
		/* pads past the axis length exercise repeated reflection / wrapping */
		gb_tensor *ins[2] = {tu_random(2, DIMS(3, 4), -1, 1, 7), IVEC(2, -1, 1, 5)};
		int consts[2] = {0, 1};
		gb_attr mode = a_str("mode", modes[i]);
		cr_assert(grad_ok(19, "Pad", 2, ins, consts, 1, &mode, 1), "mode %s", modes[i]);
		free_all(ins, 2);
	}
	/* the constant as a float graph input gets the sum over the border */
	gb_tensor *ins[3] = {tu_random(2, DIMS(2, 3), -1, 1, 3), IVEC(1, 0, 1, 2),
	                     tu_tensor(GB_DTYPE_F32, 0, NULL, FLOATS(0.5f))};
	int consts[3] = {0, 1, 0};
	cr_assert(grad_ok(13, "Pad", 3, ins, consts, 1, NULL, 0));
	free_all(ins, 3);
}
