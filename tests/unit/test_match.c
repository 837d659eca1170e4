/*
 * test_match.c — every output matched on its own (match.c): a Boolean
 * formula of the 0/1 features beside the max of real ones, each output
 * within the budget, and nothing when one output matches nothing.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "decompile/decompile.h"
#include "testutil.h"

/* y[0] = relu(x0 - x1) + relu(x1 - x0) + eps * x2  (xor of the bits x0, x1)
 * y[1] = x2 + relu(x3 - x2) + eps * x0               (max of the reals x2, x3) */
static gb_pwl *side_by_side(double eps)
{
	gb_pwl *p = calloc(1, sizeof *p);
	p->n_inputs = p->n_outputs = 1;
	p->inputs = calloc(1, sizeof *p->inputs);
	p->outputs = calloc(1, sizeof *p->outputs);
	p->inputs[0] = (gb_pwl_io){.name = strdup("x"), .ndim = 1, .dims = {4}, .size = 4};
	p->outputs[0] = (gb_pwl_io){.name = strdup("y"), .ndim = 1, .dims = {2}, .size = 2};
	p->n_in = 4;
	p->n_out = 2;
	p->outs = calloc(2, sizeof *p->outs);
	const int src[3][2] = {{0, 1}, {1, 0}, {3, 2}};
	int64_t u[3];
	for (int k = 0; k < 3; k++) {
		gb_row r = {0};
		gb_row_push(&r, src[k][0], 1.0);
		gb_row_push(&r, src[k][1], -1.0);
		gb_row_compact(&r);
		u[k] = gb_pwl_add_unit(p, &r);
	}
	gb_row_push(&p->outs[0], (int)u[0], 1.0);
	gb_row_push(&p->outs[0], (int)u[1], 1.0);
	gb_row_push(&p->outs[0], 2, eps);
	gb_row_push(&p->outs[1], 2, 1.0);
	gb_row_push(&p->outs[1], (int)u[2], 1.0);
	gb_row_push(&p->outs[1], 0, eps);
	for (int o = 0; o < 2; o++)
		gb_row_compact(&p->outs[o]);
	return p;
}

/* 200 points: x0, x1 in {0, 1}, x2, x3 uniform in [-1, 1] */
static gb_tensor *mixed_data(void)
{
	gb_tensor *x = tu_random(2, (int64_t[]){200, 4}, -1.0f, 1.0f, 3);
	float *v = x->data;
	for (int64_t i = 0; i < 200; i++) {
		v[i * 4 + 0] = (float)(i & 1);
		v[i * 4 + 1] = (float)(i >> 1 & 1);
	}
	return x;
}

static char *match(gb_pwl *p, const gb_tensor *data, gb_domain_kind kind, double budget)
{
	gb_decompile_options opt = {.domain = {.kind = kind, .lo = -1, .hi = 1, .data = data}, .seed = 1};
	double lo[4] = {-1, -1, -1, -1}, hi[4] = {1, 1, 1, 1};
	char *body = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_dc_match_outputs(p, &opt, lo, hi, budget, &body, &err), GB_OK, "%s", err.msg);
	return body;
}

Test(match, a_formula_of_the_bits_beside_the_max_of_the_reals)
{
	gb_pwl *p = side_by_side(1e-3);
	gb_tensor *x = mixed_data();
	char *body = match(p, x, GB_DOMAIN_DATA, 5e-3);
	cr_assert_not_null(body, "both outputs match within 5e-3");
	cr_expect(strstr(body, "y[0] = xor(x[0], x[1])\n") != NULL, "the bits' xor:\n%s", body);
	cr_expect(strstr(body, "y[1] = max(x[2], x[3])\n") != NULL, "the reals' max:\n%s", body);
	cr_expect(strstr(body, "input x: f32[4]") != NULL && strstr(body, "output y: f32[2]") != NULL, "%s", body);
	/* the program runs and is within the budget on the data */
	gb_ast *ast = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_ast_parse(body, strlen(body), "(matched)", &ast, &err), GB_OK, "%s\n%s", err.msg, body);
	gb_tensor_map *outs = NULL;
	cr_assert_eq(gb_tensor_map_new(&outs, &err), GB_OK);
	const gb_tensor *in[1] = {x};
	cr_assert_eq(gb_ast_run_weights(ast, NULL, in, 1, outs, &err), GB_OK, "%s", err.msg);
	const gb_tensor *y = gb_tensor_map_at(outs, 0);
	double ref[400];
	cr_assert_eq(gb_pwl_eval(p, 200, x->data, ref, NULL, false, &err), GB_OK);
	double worst = 0;
	for (int i = 0; i < 400; i++)
		worst = fmax(worst, fabs(ref[i] - ((const float *)y->data)[i]));
	cr_expect_leq(worst, 5e-3, "the matched program is %g from the DAG", worst);
	gb_tensor_map_free(outs);
	gb_ast_free(ast);
	free(body);
	gb_tensor_free(x);
	gb_pwl_free(p);
}

Test(match, nothing_when_an_output_is_outside_the_budget)
{
	gb_pwl *p = side_by_side(0.05); /* the cross terms are now larger than the budget */
	gb_tensor *x = mixed_data();
	char *body = match(p, x, GB_DOMAIN_DATA, 5e-3);
	cr_expect_null(body, "no program:\n%s", body ? body : "");
	free(body);
	gb_tensor_free(x);
	gb_pwl_free(p);
}

Test(match, a_box_has_no_bits)
{
	/* on a box x0 and x1 are reals: y[0] is |x0 - x1|, which is neither a
	 * max nor a min of the inputs, so nothing matches */
	gb_pwl *p = side_by_side(0.0);
	char *body = match(p, NULL, GB_DOMAIN_BOX, 1e-4);
	cr_expect_null(body, "no program on a box:\n%s", body ? body : "");
	free(body);
	gb_pwl_free(p);
}

/* y_k = sum over the one-hot pairs (i, j) with cls(i, j) = k of
 * relu(x_i + x_{n + j} - 1): on one-hot data, 1 for the class, else 0 */
static gb_pwl *pair_classifier(int n, int k_classes, int (*cls)(int, int))
{
	gb_pwl *p = calloc(1, sizeof *p);
	p->n_inputs = p->n_outputs = 1;
	p->inputs = calloc(1, sizeof *p->inputs);
	p->outputs = calloc(1, sizeof *p->outputs);
	p->inputs[0] = (gb_pwl_io){.name = strdup("x"), .ndim = 1, .dims = {2 * n}, .size = 2 * n};
	p->outputs[0] = (gb_pwl_io){.name = strdup("scores"), .ndim = 1, .dims = {k_classes}, .size = k_classes};
	p->n_in = 2 * n;
	p->n_out = k_classes;
	p->outs = calloc((size_t)k_classes, sizeof *p->outs);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			gb_row r = {0};
			r.b = -1.0;
			gb_row_push(&r, i, 1.0);
			gb_row_push(&r, n + j, 1.0);
			gb_row_compact(&r);
			int64_t u = gb_pwl_add_unit(p, &r);
			gb_row_push(&p->outs[cls(i, j)], (int)u, 1.0);
		}
	for (int k = 0; k < k_classes; k++)
		gb_row_compact(&p->outs[k]);
	return p;
}

static int mod_sum(int i, int j) { return (2 * i + j + 1) % 3; }
static int mod_product(int i, int j) { return (i * j) % 3; }

/* every pair of two one-hot codes of n */
static gb_tensor *pairs(int n)
{
	gb_tensor *x = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_tensor_new(GB_DTYPE_F32, 2, (int64_t[]){n * n, 2 * n}, &x, &err), GB_OK);
	float *v = x->data;
	memset(v, 0, (size_t)(n * n * 2 * n) * sizeof *v);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			v[(i * n + j) * 2 * n + i] = 1.0f;
			v[(i * n + j) * 2 * n + n + j] = 1.0f;
		}
	return x;
}

Test(match, modular_addition_of_one_hot_codes)
{
	gb_pwl *p = pair_classifier(3, 3, mod_sum);
	gb_tensor *x = pairs(3);
	gb_decompile_options opt = {.domain = {.kind = GB_DOMAIN_DATA, .data = x}, .agreement = 1.0};
	char *body = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_dc_match_onehot(p, &opt, &body, &err), GB_OK, "%s", err.msg);
	cr_assert_not_null(body, "class = (2i + j + 1) mod 3 is found");
	cr_expect(strstr(body, "label = label + ((2 * i + j + 1) % 3) * (x[i] and x[3 + j])") != NULL, "%s", body);
	cr_expect(strstr(body, "scores = [relu(1.0 - abs(label - k)) for k in range(3)]") != NULL, "%s", body);
	/* the program's scores pick the network's class on every pair */
	gb_ast *ast = NULL;
	cr_assert_eq(gb_ast_parse(body, strlen(body), "(onehot)", &ast, &err), GB_OK, "%s\n%s", err.msg, body);
	gb_tensor_map *outs = NULL;
	cr_assert_eq(gb_tensor_map_new(&outs, &err), GB_OK);
	const gb_tensor *in[1] = {x};
	cr_assert_eq(gb_ast_run_weights(ast, NULL, in, 1, outs, &err), GB_OK, "%s", err.msg);
	const float *s = gb_tensor_map_at(outs, 0)->data;
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			int row = i * 3 + j, best = 0;
			for (int k = 1; k < 3; k++)
				best = s[row * 3 + k] > s[row * 3 + best] ? k : best;
			cr_expect_eq(best, mod_sum(i, j), "pair (%d, %d): class %d, program %d", i, j, mod_sum(i, j), best);
		}
	gb_tensor_map_free(outs);
	gb_ast_free(ast);
	free(body);
	gb_tensor_free(x);
	gb_pwl_free(p);
}

Test(match, a_class_that_is_not_modular_is_left_alone)
{
	gb_pwl *p = pair_classifier(3, 3, mod_product);
	gb_tensor *x = pairs(3);
	gb_decompile_options opt = {.domain = {.kind = GB_DOMAIN_DATA, .data = x}, .agreement = 1.0};
	char *body = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_dc_match_onehot(p, &opt, &body, &err), GB_OK, "%s", err.msg);
	cr_expect_null(body, "i * j mod 3 has no affine form:\n%s", body ? body : "");
	free(body);
	opt.agreement = 0; /* judged by the largest error, the scores are not a class */
	p->outs[0].b = 0;
	cr_assert_eq(gb_dc_match_onehot(p, &opt, &body, &err), GB_OK);
	cr_expect_null(body);
	gb_tensor_free(x);
	gb_pwl_free(p);
}
