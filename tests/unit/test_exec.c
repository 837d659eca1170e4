/*
 * test_exec.c — sessions: input checks, the activation cache, the four
 * interventions (and their effect on gradients), gradient accumulation over
 * fan-out, and gradients with respect to intermediates and weights.
 *
 * The graph used throughout:   h = Relu(x);  z = Add(h, h);  y = Mul(z, w)
 * with x: [N, 3] input, w: [3] weight. For x > 0: y = 2·x·w.
 */
#include <criterion/criterion.h>

#include "testutil.h"

static gb_model *chain(void)
{
	gb_error err = {0};
	gb_model *m = NULL;
	cr_assert_eq(gb_model_new_empty("chain", &m, &err), GB_OK);
	int64_t xd[2] = {-1, 3}, wd[1] = {3};
	int x = gb_model_add_value(m, "x", GB_DTYPE_F32, 2, xd);
	int w = gb_model_add_value(m, "w", GB_DTYPE_F32, 1, wd);
	int h = gb_model_add_value(m, "h", GB_DTYPE_F32, -1, NULL);
	int z = gb_model_add_value(m, "z", GB_DTYPE_F32, -1, NULL);
	int y = gb_model_add_value(m, "y", GB_DTYPE_F32, -1, NULL);
	gb_tensor *wt = tu_tensor(GB_DTYPE_F32, 1, wd, (float[]){1.0f, 10.0f, 100.0f});
	cr_assert_eq(gb_model_set_init(m, w, wt, &err), GB_OK);
	gb_tensor_free(wt);
	gb_model_add_node(m, "relu", "Relu", "", 1, (int[]){x}, 1, (int[]){h});
	gb_model_add_node(m, "double", "Add", "", 2, (int[]){h, h}, 1, (int[]){z});
	gb_model_add_node(m, "weigh", "Mul", "", 2, (int[]){z, w}, 1, (int[]){y});
	cr_assert_eq(gb_model_set_io(m, 1, (int[]){x}, 1, (int[]){y}, &err), GB_OK);
	cr_assert_eq(gb_model_prepare(m, &err), GB_OK, "%s", err.msg);
	return m;
}

static gb_tensor *input(void)
{
	int64_t d[2] = {2, 3};
	return tu_tensor(GB_DTYPE_F32, 2, d, (float[]){1, 2, 3, 4, 5, 6});
}

static const float *run(gb_session *s, gb_tensor *x)
{
	gb_error err = {0};
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	return gb_session_output(s, 0)->data;
}

Test(exec, forward_and_value_lookup)
{
	gb_model *m = chain();
	gb_session *s;
	gb_error err = {0};
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_null(gb_session_output(s, 0), "no output before a forward pass");
	gb_tensor *x = input();
	const float *y = run(s, x);
	float want[6] = {2, 40, 600, 8, 100, 1200};
	cr_assert_eq(tu_close(y, want, 6, 0, 1e-6), 0);
	/* Values by value name and by node name (first output). */
	cr_assert_not_null(gb_session_value(s, "z"));
	cr_assert_eq(gb_session_value(s, "double"), gb_session_value(s, "z"));
	cr_assert_str_eq(gb_session_resolve(s, "relu"), "h");
	cr_assert_null(gb_session_value(s, "nope"));
	gb_tensor_free(x);
	gb_session_free(s);
	gb_model_free(m);
}

Test(exec, input_checks)
{
	gb_model *m = chain();
	gb_session *s;
	gb_error err = {0};
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_STATUS_USAGE, "forward without inputs");
	int64_t d[2] = {2, 4};
	gb_tensor *wide = tu_tensor(GB_DTYPE_F32, 2, d, NULL);
	cr_assert_eq(gb_session_set_input(s, 0, wide, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "[?, 3]") && strstr(err.msg, "[2, 4]"), "%s", err.msg);
	gb_tensor *ints = tu_tensor(GB_DTYPE_I64, 2, (int64_t[]){2, 3}, NULL);
	cr_assert_eq(gb_session_set_input(s, 0, ints, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "int64"), "%s", err.msg);
	cr_assert_eq(gb_session_set_input(s, 1, ints, &err), GB_STATUS_USAGE);
	gb_tensor_free(wide);
	gb_tensor_free(ints);
	gb_session_free(s);
	gb_model_free(m);
}

Test(exec, capture_cache_and_patch)
{
	gb_model *m = chain();
	gb_session *s;
	gb_tensor_map *cache;
	gb_error err = {0};
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(gb_tensor_map_new(&cache, &err), GB_OK);
	cr_assert_eq(gb_session_capture(s, "relu", cache, &err), GB_OK);
	cr_assert_eq(gb_session_capture(s, "w", cache, &err), GB_STATUS_USAGE, "weights are not activations");
	cr_assert_eq(gb_session_capture(s, "nope", cache, &err), GB_STATUS_USAGE);
	gb_tensor *x = input();
	run(s, x);
	const gb_tensor *h = gb_tensor_map_get(cache, "h");
	cr_assert_not_null(h);
	cr_assert_eq(h->dims[0], 2);
	cr_assert_eq(((float *)h->data)[5], 6.0f);

	/* Patch unit 1 of h with the cached activations of another input. */
	gb_tensor *x2 = tu_tensor(GB_DTYPE_F32, 2, (int64_t[]){2, 3}, (float[]){7, 8, 9, 10, 11, 12});
	run(s, x2); /* cache now holds h(x2) */
	gb_tensor *source = NULL;
	cr_assert_eq(gb_tensor_clone(gb_tensor_map_get(cache, "h"), &source, &err), GB_OK);
	gb_session_clear_hooks(s);
	cr_assert_eq(gb_session_intervene(s, "h", GB_INTERVENE_PATCH, (int64_t[]){1}, 1, 0, source, &err), GB_OK);
	const float *y = run(s, x);
	float want[6] = {2, 2 * 8 * 10, 600, 8, 2 * 11 * 10, 1200};
	cr_assert_eq(tu_close(y, want, 6, 0, 1e-6), 0);

	/* A per-item source (no batch axis) applies to every batch element. */
	gb_session_clear_hooks(s);
	gb_tensor *item = tu_tensor(GB_DTYPE_F32, 1, (int64_t[]){3}, (float[]){-1, -2, -3});
	cr_assert_eq(gb_session_intervene(s, "relu", GB_INTERVENE_PATCH, NULL, 0, 0, item, &err), GB_OK);
	y = run(s, x);
	float want_item[6] = {-2, -40, -600, -2, -40, -600};
	cr_assert_eq(tu_close(y, want_item, 6, 0, 1e-6), 0);
	/* A source of the wrong shape is refused at forward time. */
	gb_session_clear_hooks(s);
	gb_tensor *wrong = tu_tensor(GB_DTYPE_F32, 1, (int64_t[]){4}, NULL);
	cr_assert_eq(gb_session_intervene(s, "relu", GB_INTERVENE_PATCH, NULL, 0, 0, wrong, &err), GB_OK);
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_STATUS_USAGE);
	cr_assert(strstr(err.msg, "patch source"), "%s", err.msg);

	gb_tensor_free(wrong);
	gb_tensor_free(item);
	gb_tensor_free(source);
	gb_tensor_free(x);
	gb_tensor_free(x2);
	gb_tensor_map_free(cache);
	gb_session_free(s);
	gb_model_free(m);
}

Test(exec, zero_scale_set_and_their_gradients)
{
	gb_model *m = chain();
	gb_session *s;
	gb_error err = {0};
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_intervene(s, "h", GB_INTERVENE_ZERO, (int64_t[]){0}, 1, 0, NULL, &err), GB_OK);
	cr_assert_eq(gb_session_intervene(s, "h", GB_INTERVENE_SCALE, (int64_t[]){1}, 1, 3.0f, NULL, &err), GB_OK);
	cr_assert_eq(gb_session_intervene(s, "z", GB_INTERVENE_SET, (int64_t[]){2}, 1, 0.5f, NULL, &err), GB_OK);
	gb_tensor *x = input();
	const float *y = run(s, x);
	float want[6] = {0, 2 * 3 * 2 * 10, 0.5f * 100, 0, 2 * 3 * 5 * 10, 0.5f * 100};
	cr_assert_eq(tu_close(y, want, 6, 0, 1e-6), 0);

	/* dy/dx: unit 0 zeroed → 0; unit 1 scaled by 3 → 2·3·10; unit 2 set → 0. */
	cr_assert_eq(gb_session_backward(s, NULL, &err), GB_OK, "%s", err.msg);
	const gb_tensor *g = gb_session_input_grad(s, 0);
	cr_assert_not_null(g);
	float want_g[6] = {0, 60, 0, 0, 60, 0};
	cr_assert_eq(tu_close(g->data, want_g, 6, 0, 1e-6), 0);
	/* dy/dw = z (after its intervention). */
	const gb_tensor *gw = gb_session_grad(s, "w");
	cr_assert_not_null(gw);
	float want_w[3] = {0 + 0, 2 * 3 * 2 + 2 * 3 * 5, 0.5f + 0.5f};
	cr_assert_eq(tu_close(gw->data, want_w, 3, 0, 1e-6), 0);

	/* Out-of-range units are refused. */
	gb_session_clear_hooks(s);
	cr_assert_eq(gb_session_intervene(s, "h", GB_INTERVENE_ZERO, (int64_t[]){3}, 1, 0, NULL, &err), GB_OK);
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_STATUS_USAGE);
	cr_assert(strstr(err.msg, "out of range"), "%s", err.msg);
	gb_tensor_free(x);
	gb_session_free(s);
	gb_model_free(m);
}

Test(exec, fan_out_accumulates_and_matches_finite_differences)
{
	gb_model *m = chain();
	gb_session *s;
	gb_error err = {0};
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	gb_tensor *x = input();
	run(s, x);
	cr_assert_eq(gb_session_backward(s, NULL, &err), GB_OK, "%s", err.msg);
	/* h feeds Add twice: dy/dh = 2·w. */
	const gb_tensor *gh = gb_session_grad(s, "relu");
	float want[6] = {2, 20, 200, 2, 20, 200};
	cr_assert_eq(tu_close(gh->data, want, 6, 0, 1e-6), 0);
	gb_session_free(s);
	gb_tensor *ins[1] = {x};
	cr_assert_eq(tu_gradcheck(m, 1, ins, NULL, 1e-3, 1e-3, 1e-3), 0);
	gb_tensor_free(x);
	gb_model_free(m);
}

Test(exec, backward_needs_forward_and_checks_cotangents)
{
	gb_model *m = chain();
	gb_session *s;
	gb_error err = {0};
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_backward(s, NULL, &err), GB_STATUS_USAGE);
	gb_tensor *x = input();
	run(s, x);
	gb_tensor *r = tu_tensor(GB_DTYPE_F32, 2, (int64_t[]){3, 2}, NULL);
	const gb_tensor *seeds[1] = {r};
	cr_assert_eq(gb_session_backward(s, seeds, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "cotangent"), "%s", err.msg);
	gb_tensor_free(r);
	gb_tensor_free(x);
	gb_session_free(s);
	gb_model_free(m);
}

Test(exec, unsupported_op_is_refused_at_prepare)
{
	gb_error err = {0};
	gb_tensor *x = input();
	const gb_tensor *ins[1] = {x};
	gb_model *m = tu_single("Hardmax", 1, ins, NULL, 1, NULL, 0, &err);
	cr_assert_null(m);
	cr_assert_eq(err.status, GB_STATUS_UNSUPPORTED);
	cr_assert_str_eq(err.msg, "unsupported op Hardmax (node node) in test");
	gb_tensor_free(x);
}

/* An op whose backward reads its own output (Sigmoid: y' = y(1 - y)) must see
 * the output as it computed it, not as an intervention changed it. */
Test(exec, backward_sees_the_output_before_interventions)
{
	gb_error err = {0};
	int64_t d[2] = {1, 3};
	gb_tensor *x = tu_tensor(GB_DTYPE_F32, 2, d, (float[]){-1.0f, 0.5f, 2.0f});
	const gb_tensor *ins[1] = {x};
	gb_model *m = tu_single("Sigmoid", 1, ins, NULL, 1, NULL, 0, &err);
	cr_assert_not_null(m, "%s", err.msg);
	gb_session *s;
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_intervene(s, "out0", GB_INTERVENE_SCALE, NULL, 0, 3.0f, NULL, &err), GB_OK);
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_session_backward(s, NULL, &err), GB_OK, "%s", err.msg);
	const float *g = gb_session_input_grad(s, 0)->data;
	const float *y = gb_session_output(s, 0)->data;
	for (int i = 0; i < 3; i++) {
		double sig = 1.0 / (1.0 + exp(-(double)((float *)x->data)[i]));
		cr_assert_float_eq(y[i], 3.0 * sig, 1e-6);
		cr_assert_float_eq(g[i], 3.0 * sig * (1.0 - sig), 1e-6, "unit %d: got %g", i, (double)g[i]);
	}
	gb_session_free(s);
	gb_model_free(m);
	gb_tensor_free(x);
}
