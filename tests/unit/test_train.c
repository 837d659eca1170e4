/*
 * test_train.c — the training engine: losses, optimiser steps against hand
 * computation, XOR to near-zero loss, a linear model to the least-squares
 * solution, bit-for-bit reproducibility, the regularisers' measured effects,
 * bad data refused before anything changes, the training log and plot.
 * Gradients are checked only through the engine (its backward is checked by
 * finite differences in the op tests).
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "testutil.h"
#include "train/train.h"

/* ---- helpers ------------------------------------------------------------------ */

static gb_tensor *labels_tensor(int64_t n, const int64_t *v)
{
	int64_t dims[1] = {n};
	return tu_tensor(GB_DTYPE_I64, 1, dims, v);
}

static const gb_tensor *param(const gb_model *m, const char *name)
{
	for (int i = 0; i < gb_model_n_params(m); i++)
		if (strcmp(gb_model_param_name(m, i), name) == 0)
			return gb_model_param(m, i);
	cr_assert_fail("no parameter %s", name);
	return NULL;
}

static gb_model *train_spec(const char *spec, const gb_tensor *x, const gb_tensor *y, const gb_train_config *c,
                            gb_train_epoch *hist)
{
	gb_train_data d = {x, y, "train"};
	gb_model *m = NULL;
	gb_error err = {0};
	gb_status st = gb_train_spec(spec, &d, NULL, c, hist, NULL, NULL, &m, &err);
	cr_assert_eq(st, GB_OK, "%s", err.msg);
	return m;
}

static char *temp_path(void)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/gb_train_XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	return path;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	cr_assert_not_null(fp);
	fseek(fp, 0, SEEK_END);
	*len = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	uint8_t *buf = malloc(*len + 1);
	cr_assert_eq(fread(buf, 1, *len, fp), *len);
	buf[*len] = 0;
	fclose(fp);
	return buf;
}

/* A classification task: 12 inputs in [-1, 1], the class is decided by the
 * first 3 (sign of x0 + x1 - x2); the other 9 are noise. */
static void noisy_task(int64_t n, uint64_t seed, gb_tensor **x, gb_tensor **y)
{
	int64_t dims[2] = {n, 12};
	*x = tu_random(2, dims, -1.0f, 1.0f, seed);
	int64_t *lab = malloc((size_t)n * sizeof *lab);
	const float *xd = (*x)->data;
	for (int64_t i = 0; i < n; i++)
		lab[i] = xd[i * 12] + xd[i * 12 + 1] - xd[i * 12 + 2] > 0;
	*y = labels_tensor(n, lab);
	free(lab);
}

/* ---- losses ----------------------------------------------------------------------- */

Test(loss, cross_entropy_value_gradient_and_stability)
{
	/* logits (1, 2, 3), label 2: loss = log(e + e^2 + e^3) - 3 */
	float z[6] = {1, 2, 3, 1000, 0, -1000}, g[6];
	int64_t lab[2] = {2, 0}, correct = 0;
	double loss = gb_loss_ce(z, lab, 2, 3, g, 0.5f, &correct);
	double l0 = log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0;
	cr_assert_float_eq(loss, l0 + 0.0, 1e-9); /* sample 2: logit 1000 wins, loss ~0 */
	cr_assert_eq(correct, 2);
	double s = exp(1.0) + exp(2.0) + exp(3.0);
	cr_assert_float_eq(g[0], 0.5 * exp(1.0) / s, 1e-7);
	cr_assert_float_eq(g[2], 0.5 * (exp(3.0) / s - 1.0), 1e-7);
	cr_assert_float_eq(g[3], 0.0, 1e-7);
	cr_assert_float_eq(g[4], 0.0, 1e-7);
	for (int i = 0; i < 6; i++)
		cr_assert(isfinite(g[i]));
	/* ties: the first maximal logit is the prediction */
	float tie[2] = {1, 1};
	int64_t l1[1] = {1};
	correct = 0;
	gb_loss_ce(tie, l1, 1, 2, NULL, 1, &correct);
	cr_assert_eq(correct, 0);
}

Test(loss, mse_value_gradient_and_accuracy)
{
	float y[4] = {1.0f, 0.2f, 3.0f, 4.0f}, t[4] = {0.0f, 0.0f, 3.0f, 4.4f}, g[4];
	int64_t correct = 0;
	double loss = gb_loss_mse(y, t, 2, 2, g, 1.0f, &correct);
	cr_assert_float_eq(loss, (1.0 + 0.04) / 2 + 0.16 / 2, 1e-6);
	cr_assert_float_eq(g[0], 2.0 * 1.0 / 2, 1e-6);
	cr_assert_float_eq(g[3], 2.0 * -0.4 / 2, 1e-6);
	cr_assert_eq(correct, 1); /* sample 0 is off by 1 in its first value */
}

/* ---- optimisers: hand-computed steps on one parameter ----------------------------- */

Test(optim, sgd_momentum_weight_decay_by_hand)
{
	gb_train_config c;
	gb_train_config_default(&c);
	c.optim = GB_OPTIM_SGD;
	c.lr = 0.1;
	c.momentum = 0.9;
	c.weight_decay = 0.01;
	int64_t size = 1;
	gb_optim *o = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_optim_new(&c, 1, &size, &o, &err), GB_OK);
	float w = 1.0f, g = 0.5f;
	float *ws[1] = {&w};
	const float *gs[1] = {&g};
	gb_optim_step(o, ws, gs);
	/* d = 0.5 + 0.01 * 1 = 0.51; v = 0.51; w = 1 - 0.051 */
	cr_assert_float_eq(w, 0.949f, 1e-6);
	gb_optim_step(o, ws, gs);
	/* d = 0.5 + 0.00949; v = 0.9 * 0.51 + 0.50949 = 0.96849; w = 0.949 - 0.096849 */
	cr_assert_float_eq(w, 0.852151f, 1e-6);
	cr_assert_float_eq(w, 0.852150977f, 1e-9); /* torch.optim.SGD gives 0.852150977 */
	gb_optim_free(o);
}

Test(optim, adam_by_hand)
{
	gb_train_config c;
	gb_train_config_default(&c);
	c.lr = 0.1;
	int64_t size = 1;
	gb_optim *o = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_optim_new(&c, 1, &size, &o, &err), GB_OK);
	float w = 1.0f, g = 0.5f;
	float *ws[1] = {&w};
	const float *gs[1] = {&g};
	/* t=1: m = 0.05, v = 0.00025; m/(1-b1) = 0.5, sqrt(v/(1-b2)) = 0.5: step = lr */
	gb_optim_step(o, ws, gs);
	cr_assert_float_eq(w, 0.900000036f, 1e-9); /* torch.optim.Adam gives 0.900000036 */
	/* t=2: m = 0.095, v = 0.00049975; the same ratios: another lr */
	gb_optim_step(o, ws, gs);
	cr_assert_float_eq(w, 0.800000012f, 1e-9); /* torch: 0.800000012 */
	/* t=3, gradient -1: m = 0.0855 - 0.1 = -0.0145, v = 0.000499250 + 0.001 */
	g = -1.0f;
	gb_optim_step(o, ws, gs);
	double m3 = 0.9 * 0.095 + 0.1 * -1.0, v3 = 0.999 * 0.00049975 + 0.001 * 1.0;
	double expect = 0.8 - 0.1 / (1 - pow(0.9, 3)) * m3 / (sqrt(v3) / sqrt(1 - pow(0.999, 3)) + 1e-8);
	cr_assert_float_eq(w, expect, 1e-6);
	cr_assert_float_eq(w, 0.807564974f, 1e-9); /* torch: 0.807564974 */
	gb_optim_free(o);
}

/* y = w * x with one weight, built by hand: the trainer on any graph. */
static gb_model *one_weight_model(float w0)
{
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_model_new_empty("oneweight", &m, &err), GB_OK);
	int64_t io_dims[2] = {-1, 1}, wd[1] = {1};
	int x = gb_model_add_value(m, "x", GB_DTYPE_F32, 2, io_dims);
	int w = gb_model_add_value(m, "w", GB_DTYPE_F32, 1, wd);
	int y = gb_model_add_value(m, "y", GB_DTYPE_F32, 2, io_dims);
	gb_tensor *wt = tu_tensor(GB_DTYPE_F32, 1, wd, &w0);
	cr_assert_eq(gb_model_set_init(m, w, wt, &err), GB_OK);
	gb_tensor_free(wt);
	int ins[2] = {x, w};
	cr_assert_geq(gb_model_add_node(m, "mul", "Mul", "", 2, ins, 1, &y), 0);
	cr_assert_eq(gb_model_set_io(m, 1, &x, 1, &y, &err), GB_OK);
	cr_assert_eq(gb_model_prepare(m, &err), GB_OK, "%s", err.msg);
	return m;
}

Test(optim, trainer_step_on_one_parameter_by_hand)
{
	/* Loss = mean over x in {1, 2} of (w x - 0)^2 = 2.5 w^2; gradient 5 w. */
	int64_t dims[2] = {2, 1};
	gb_tensor *x = tu_tensor(GB_DTYPE_F32, 2, dims, (float[]){1, 2});
	gb_tensor *t = tu_tensor(GB_DTYPE_F32, 2, dims, (float[]){0, 0});
	gb_train_data d = {x, t, "hand"};
	gb_train_config c;
	gb_train_config_default(&c);
	c.epochs = 1;
	c.batch = 2;
	c.loss = GB_LOSS_MSE;
	gb_error err = {0};

	c.optim = GB_OPTIM_SGD;
	c.lr = 0.01;
	gb_model *m = one_weight_model(1.0f);
	cr_assert_eq(gb_train_model(m, &d, NULL, &c, NULL, NULL, NULL, &err), GB_OK, "%s", err.msg);
	cr_assert_float_eq(((float *)param(m, "w")->data)[0], 1.0f - 0.01f * 5.0f, 1e-7);
	gb_model_free(m);

	/* Two SGD steps with momentum: w1 = 1 - 0.05 = 0.95, g1 = 4.75,
	 * v = 0.9 * 5 + 4.75 = 9.25, w2 = 0.95 - 0.0925 */
	c.epochs = 2;
	m = one_weight_model(1.0f);
	cr_assert_eq(gb_train_model(m, &d, NULL, &c, NULL, NULL, NULL, &err), GB_OK, "%s", err.msg);
	cr_assert_float_eq(((float *)param(m, "w")->data)[0], 0.8575f, 1e-6);
	gb_model_free(m);

	/* Adam's first step moves by lr whatever the gradient's size. */
	c.epochs = 1;
	c.optim = GB_OPTIM_ADAM;
	c.lr = 0.01;
	m = one_weight_model(1.0f);
	cr_assert_eq(gb_train_model(m, &d, NULL, &c, NULL, NULL, NULL, &err), GB_OK, "%s", err.msg);
	cr_assert_float_eq(((float *)param(m, "w")->data)[0], 0.99f, 1e-6);
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(t);
}

/* ---- convergence ------------------------------------------------------------------- */

Test(train, xor_to_near_zero_loss)
{
	int64_t dims[2] = {4, 2};
	gb_tensor *x = tu_tensor(GB_DTYPE_F32, 2, dims, (float[]){0, 0, 0, 1, 1, 0, 1, 1});
	gb_tensor *y = labels_tensor(4, (int64_t[]){0, 1, 1, 0});
	gb_train_config c;
	gb_train_config_default(&c);
	c.epochs = 400;
	c.batch = 4;
	c.lr = 0.03;
	gb_train_epoch *hist = calloc((size_t)c.epochs, sizeof *hist);
	gb_model *m = train_spec("2-8-2", x, y, &c, hist);
	cr_assert_lt(hist[c.epochs - 1].train_loss, 0.01, "final loss %g", hist[c.epochs - 1].train_loss);
	cr_assert_lt(hist[c.epochs - 1].train_loss, hist[0].train_loss);
	gb_train_data d = {x, y, "xor"};
	double loss, acc;
	gb_error err = {0};
	cr_assert_eq(gb_train_evaluate(m, &d, GB_LOSS_CE, &loss, &acc, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(acc, 1.0);
	cr_assert_lt(loss, 0.01);
	free(hist);
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

/* Solves the 3x3 system A z = b by Gaussian elimination with pivoting. */
static void solve3(double a[3][3], double b[3], double z[3])
{
	for (int col = 0; col < 3; col++) {
		int piv = col;
		for (int r = col + 1; r < 3; r++)
			if (fabs(a[r][col]) > fabs(a[piv][col]))
				piv = r;
		for (int k = 0; k < 3; k++) {
			double tmp = a[col][k];
			a[col][k] = a[piv][k];
			a[piv][k] = tmp;
		}
		double tmp = b[col];
		b[col] = b[piv];
		b[piv] = tmp;
		for (int r = col + 1; r < 3; r++) {
			double f = a[r][col] / a[col][col];
			for (int k = col; k < 3; k++)
				a[r][k] -= f * a[col][k];
			b[r] -= f * b[col];
		}
	}
	for (int r = 2; r >= 0; r--) {
		double s = b[r];
		for (int k = r + 1; k < 3; k++)
			s -= a[r][k] * z[k];
		z[r] = s / a[r][r];
	}
}

Test(train, linear_model_reaches_least_squares)
{
	/* y = 1.5 x0 - 2 x1 + 0.3 + noise; the fit is the normal equations'. */
	const int64_t n = 64;
	int64_t xd[2] = {n, 2}, yd[2] = {n, 1}, nd[2] = {n, 1};
	gb_tensor *x = tu_random(2, xd, -1.0f, 1.0f, 11);
	gb_tensor *noise = tu_random(2, nd, -0.2f, 0.2f, 12);
	gb_tensor *y = tu_tensor(GB_DTYPE_F32, 2, yd, NULL);
	float *xv = x->data, *yv = y->data, *nv = noise->data;
	for (int64_t i = 0; i < n; i++)
		yv[i] = 1.5f * xv[2 * i] - 2.0f * xv[2 * i + 1] + 0.3f + nv[i];
	/* Normal equations on [x0, x1, 1]. */
	double ata[3][3] = {{0}}, aty[3] = {0}, z[3];
	for (int64_t i = 0; i < n; i++) {
		double row[3] = {xv[2 * i], xv[2 * i + 1], 1.0};
		for (int r = 0; r < 3; r++) {
			for (int k = 0; k < 3; k++)
				ata[r][k] += row[r] * row[k];
			aty[r] += row[r] * yv[i];
		}
	}
	solve3(ata, aty, z);

	gb_train_config c;
	gb_train_config_default(&c);
	c.loss = GB_LOSS_MSE;
	c.optim = GB_OPTIM_SGD;
	c.lr = 0.2;
	c.momentum = 0.5;
	c.batch = n; /* full batch: plain gradient descent on the convex loss */
	c.epochs = 500;
	gb_model *m = train_spec("2-1", x, y, &c, NULL);
	const float *w = param(m, "fc1.weight")->data, *b = param(m, "fc1.bias")->data;
	cr_assert_float_eq(w[0], z[0], 1e-4, "w0 %g vs %g", w[0], z[0]);
	cr_assert_float_eq(w[1], z[1], 1e-4, "w1 %g vs %g", w[1], z[1]);
	cr_assert_float_eq(b[0], z[2], 1e-4, "b %g vs %g", b[0], z[2]);
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(y);
	gb_tensor_free(noise);
}

Test(train, cnn_learns_and_test_set_is_evaluated)
{
	/* 6x6 images: a bright vertical bar (class 1) or horizontal bar (class 0)
	 * at a random place, on noise. */
	const int64_t n = 96;
	int64_t xd[4] = {n, 1, 6, 6};
	gb_tensor *x = tu_random(4, xd, 0.0f, 0.3f, 21);
	int64_t lab[96];
	uint64_t state = 5;
	float *xv = x->data;
	for (int64_t i = 0; i < n; i++) {
		lab[i] = i % 2;
		int at = (int)(tu_uniform(&state) * 6);
		for (int k = 0; k < 6; k++)
			xv[i * 36 + (lab[i] ? k * 6 + at : at * 6 + k)] += 1.0f;
	}
	gb_tensor *y = labels_tensor(n, lab);
	gb_train_data tr = {x, y, "bars"}, te = {x, y, "bars-test"};
	gb_train_config c;
	gb_train_config_default(&c);
	c.epochs = 10;
	c.batch = 16;
	c.lr = 0.02;
	gb_train_epoch hist[10];
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_train_spec("conv4k3-relu-pool2-dense2", &tr, &te, &c, hist, NULL, NULL, &m, &err), GB_OK, "%s",
	             err.msg);
	cr_assert(isfinite(hist[9].test_acc));
	cr_assert_geq(hist[9].test_acc, 0.95, "test accuracy %g", hist[9].test_acc);
	cr_assert_lt(hist[9].test_loss, hist[0].train_loss);
	cr_assert_gt(hist[9].seconds, 0.0);
	cr_assert_eq(hist[9].epoch, 10);
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

/* ---- reproducibility ------------------------------------------------------------------ */

static uint8_t *train_and_save(const char *spec, const gb_tensor *x, const gb_tensor *y, const gb_train_config *c,
                               size_t *len)
{
	gb_model *m = train_spec(spec, x, y, c, NULL);
	char *path = temp_path();
	gb_error err = {0};
	cr_assert_eq(gb_model_save(m, path, &err), GB_OK, "%s", err.msg);
	uint8_t *bytes = read_all(path, len);
	unlink(path);
	gb_model_free(m);
	return bytes;
}

Test(train, same_seed_same_bytes)
{
	gb_tensor *x, *y;
	noisy_task(100, 1, &x, &y);
	gb_train_config c;
	gb_train_config_default(&c);
	c.epochs = 3;
	c.batch = 16;
	c.dropout = 0.2; /* every random stream in play: init, shuffle, masks */
	c.l1_act = 1e-3;
	c.l1 = 1e-4;
	size_t n1, n2, n3;
	uint8_t *a = train_and_save("12-16-8-2", x, y, &c, &n1);
	uint8_t *b = train_and_save("12-16-8-2", x, y, &c, &n2);
	c.seed = 2;
	uint8_t *d = train_and_save("12-16-8-2", x, y, &c, &n3);
	cr_assert_eq(n1, n2);
	cr_assert_eq(memcmp(a, b, n1), 0, "same seed, different bytes");
	cr_assert(n1 != n3 || memcmp(a, d, n1) != 0, "another seed gave the same model");
	free(a);
	free(b);
	free(d);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

/* ---- the engine's part: weights' gradients only ---------------------------------------- */

Test(train, input_gradients_can_be_skipped)
{
	int64_t img[3] = {1, 4, 4}, xd[4] = {3, 1, 4, 4};
	gb_arch a;
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_arch_parse("16-5-2", &a, &err), GB_OK);
	gb_arch_options o = {.seed = 4};
	cr_assert_eq(gb_arch_build(&a, 3, img, &o, &m, &err), GB_OK, "%s", err.msg);
	gb_tensor *x = tu_random(4, xd, -1, 1, 9);
	gb_session *s1, *s2;
	cr_assert_eq(gb_session_new(m, &s1, &err), GB_OK);
	cr_assert_eq(gb_session_new(m, &s2, &err), GB_OK);
	gb_session_want_input_grads(s2, 0);
	gb_session *both[2] = {s1, s2};
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(gb_session_set_input(both[i], 0, x, &err), GB_OK);
		cr_assert_eq(gb_session_forward(both[i], &err), GB_OK);
		cr_assert_eq(gb_session_backward(both[i], NULL, &err), GB_OK, "%s", err.msg);
	}
	cr_assert_not_null(gb_session_input_grad(s1, 0));
	cr_assert_null(gb_session_input_grad(s2, 0));
	cr_assert_null(gb_session_grad(s2, "flatten1")); /* depends on the input alone */
	const char *names[] = {"fc1.weight", "fc1.bias", "fc2.weight", "relu1"};
	for (int k = 0; k < 4; k++) {
		const gb_tensor *g1 = gb_session_grad(s1, names[k]), *g2 = gb_session_grad(s2, names[k]);
		cr_assert_not_null(g2, "%s", names[k]);
		cr_assert_eq(memcmp(g1->data, g2->data, (size_t)gb_tensor_numel(g1) * 4), 0, "%s", names[k]);
	}
	gb_session_free(s1);
	gb_session_free(s2);
	gb_tensor_free(x);
	gb_model_free(m);
}

/* ---- regularisers ------------------------------------------------------------------------- */

static gb_train_config reg_config(void)
{
	gb_train_config c;
	gb_train_config_default(&c);
	c.optim = GB_OPTIM_SGD;
	c.lr = 0.05;
	c.epochs = 30;
	c.batch = 32;
	return c;
}

Test(regularize, l1_raises_weight_sparsity)
{
	gb_tensor *x, *y;
	noisy_task(256, 3, &x, &y);
	gb_train_config c = reg_config();
	gb_model *plain = train_spec("12-16-2", x, y, &c, NULL);
	c.l1 = 0.01;
	gb_model *sparse = train_spec("12-16-2", x, y, &c, NULL);
	double s0 = gb_reg_sparsity(plain, 1e-2), s1 = gb_reg_sparsity(sparse, 1e-2);
	cr_assert_gt(s1, s0 + 0.3, "sparsity %g with L1, %g without", s1, s0);
	/* Still solves the task. */
	gb_train_data d = {x, y, "task"};
	double loss, acc;
	gb_error err = {0};
	cr_assert_eq(gb_train_evaluate(sparse, &d, GB_LOSS_CE, &loss, &acc, &err), GB_OK);
	cr_assert_gt(acc, 0.9, "accuracy %g", acc);
	gb_model_free(plain);
	gb_model_free(sparse);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

/* Rows of a weight matrix whose L2 norm is below tol. */
static int dead_rows(const gb_tensor *w, double tol)
{
	int dead = 0;
	const float *d = w->data;
	for (int64_t j = 0; j < w->dims[0]; j++) {
		double sq = 0;
		for (int64_t i = 0; i < w->dims[1]; i++)
			sq += (double)d[j * w->dims[1] + i] * d[j * w->dims[1] + i];
		dead += sqrt(sq) < tol;
	}
	return dead;
}

Test(regularize, group_lasso_removes_whole_units)
{
	gb_tensor *x, *y;
	noisy_task(256, 4, &x, &y);
	gb_train_config c = reg_config();
	gb_model *plain = train_spec("12-16-2", x, y, &c, NULL);
	c.group_lasso = 0.02;
	gb_model *grouped = train_spec("12-16-2", x, y, &c, NULL);
	int d0 = dead_rows(param(plain, "fc1.weight"), 0.05), d1 = dead_rows(param(grouped, "fc1.weight"), 0.05);
	cr_assert_geq(d1, d0 + 4, "%d dead units with group lasso, %d without", d1, d0);
	gb_model_free(plain);
	gb_model_free(grouped);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

Test(regularize, modular_penalty_lowers_cross_group_mass)
{
	gb_tensor *x, *y;
	noisy_task(256, 5, &x, &y);
	gb_train_config c = reg_config();
	gb_model *plain = train_spec("12-16-16-2", x, y, &c, NULL);
	c.modular_k = 2;
	c.modular = 0.02;
	gb_model *mod = train_spec("12-16-16-2", x, y, &c, NULL);
	double m0 = gb_reg_cross_group(plain, 2, 0), m1 = gb_reg_cross_group(mod, 2, 0);
	cr_assert_geq(m0, 0.0);
	cr_assert_lt(m1, 0.5 * m0, "cross-group share %g with the penalty, %g without", m1, m0);
	/* Only hidden-to-hidden weights count: a one-hidden-layer net has none. */
	gb_arch a;
	gb_model *shallow = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_arch_parse("12-4-2", &a, &err), GB_OK);
	cr_assert_eq(gb_arch_build(&a, 1, x->dims + 1, NULL, &shallow, &err), GB_OK);
	cr_assert_eq(gb_reg_cross_group(shallow, 2, 0), -1.0);
	cr_assert_geq(gb_reg_cross_group(shallow, 2, 1), 0.0); /* with io: input and output layers */
	gb_model_free(shallow);
	gb_model_free(plain);
	gb_model_free(mod);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

/* Two unrelated tasks side by side: y0 = [x0 + x1 > 0], y1 = [x2 - x3 > 0]. */
static void side_by_side(int64_t n, gb_tensor **x, gb_tensor **y)
{
	int64_t xd[2] = {n, 4}, yd[2] = {n, 2};
	*x = tu_random(2, xd, -1.0f, 1.0f, 13);
	*y = tu_tensor(GB_DTYPE_F32, 2, yd, NULL);
	const float *xv = (*x)->data;
	float *yv = (*y)->data;
	for (int64_t i = 0; i < n; i++) {
		yv[2 * i] = xv[4 * i] + xv[4 * i + 1] > 0;
		yv[2 * i + 1] = xv[4 * i + 2] - xv[4 * i + 3] > 0;
	}
}

Test(regularize, modular_io_splits_side_by_side_tasks)
{
	gb_tensor *x, *y;
	side_by_side(512, &x, &y);
	gb_train_config c = reg_config();
	c.loss = GB_LOSS_MSE;
	c.optim = GB_OPTIM_ADAM;
	c.lr = 0.01;
	gb_model *plain = train_spec("4-16-16-2", x, y, &c, NULL);
	c.modular_k = 2;
	c.modular = 0.003;
	c.modular_io = 1;
	gb_model *mod = train_spec("4-16-16-2", x, y, &c, NULL);
	double m0 = gb_reg_cross_group(plain, 2, 1), m1 = gb_reg_cross_group(mod, 2, 1);
	cr_assert_lt(m1, 0.2 * m0, "cross-group share %g with the penalty, %g without", m1, m0);
	/* The penalised weights include the first layer's: inputs 0-1 feed
	 * units 0-7 only. */
	const gb_tensor *w = param(mod, "fc1.weight");
	const float *wd = w->data;
	double into_a = 0, cross = 0;
	for (int j = 0; j < 16; j++)
		for (int i = 0; i < 4; i++)
			*((j < 8) == (i < 2) ? &into_a : &cross) += fabs(wd[j * 4 + i]);
	cr_assert_lt(cross, 0.05 * into_a, "first layer: cross %g, within %g", cross, into_a);
	gb_train_data d = {x, y, "pair"};
	double loss, acc;
	gb_error err = {0};
	cr_assert_eq(gb_train_evaluate(mod, &d, GB_LOSS_MSE, &loss, &acc, &err), GB_OK);
	cr_assert_gt(acc, 0.9, "both outputs right for %g of the samples", acc);
	gb_model_free(plain);
	gb_model_free(mod);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

Test(regularize, modular_needs_hidden_pairs_and_groups)
{
	gb_tensor *x, *y;
	noisy_task(16, 6, &x, &y);
	gb_train_data d = {x, y, "task"};
	gb_train_config c = reg_config();
	c.modular_k = 2;
	c.modular = 0.01;
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_train_spec("12-16-2", &d, NULL, &c, NULL, NULL, NULL, &m, &err), GB_STATUS_USAGE);
	cr_assert(strstr(err.msg, "two consecutive hidden layers") != NULL, "%s", err.msg);
	c.modular_k = 5;
	cr_assert_eq(gb_train_spec("12-16-4-2", &d, NULL, &c, NULL, NULL, NULL, &m, &err), GB_STATUS_USAGE);
	cr_assert(strstr(err.msg, "cannot form 5 groups") != NULL, "%s", err.msg);
	c.modular_k = 0;
	c.modular = 0;
	c.group_lasso = 0.1;
	cr_assert_eq(gb_train_spec("12-2", &d, NULL, &c, NULL, NULL, NULL, &m, &err), GB_STATUS_USAGE);
	cr_assert_null(m);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

/* Mean |h| of a hidden activation over the data. */
static double mean_abs_activation(const gb_model *m, const gb_tensor *x, const char *name)
{
	gb_session *s;
	gb_error err = {0};
	cr_assert_eq(gb_session_new(m, &s, &err), GB_OK);
	cr_assert_eq(gb_session_set_input(s, 0, x, &err), GB_OK);
	cr_assert_eq(gb_session_forward(s, &err), GB_OK);
	const gb_tensor *h = gb_session_value(s, name);
	cr_assert_not_null(h);
	double sum = 0;
	const float *d = h->data;
	for (int64_t i = 0; i < gb_tensor_numel(h); i++)
		sum += fabs(d[i]);
	sum /= (double)gb_tensor_numel(h);
	gb_session_free(s);
	return sum;
}

Test(regularize, l1_on_activations_makes_them_sparse)
{
	gb_tensor *x, *y;
	noisy_task(256, 7, &x, &y);
	gb_train_config c = reg_config();
	gb_model *plain = train_spec("12-16-16-2", x, y, &c, NULL);
	c.l1_act = 0.01;
	gb_model *sparse = train_spec("12-16-16-2", x, y, &c, NULL);
	gb_train_data d = {x, y, "task"};
	double loss, acc;
	gb_error err = {0};
	cr_assert_eq(gb_train_evaluate(sparse, &d, GB_LOSS_CE, &loss, &acc, &err), GB_OK);
	cr_assert_gt(acc, 0.9, "accuracy %g with L1 on activations", acc);
	/* The exported graph has no extra outputs. */
	cr_assert_eq(gb_model_n_outputs(sparse), 1);
	for (int k = 0; k < 2; k++) {
		const char *name = k ? "relu2" : "relu1";
		double a0 = mean_abs_activation(plain, x, name), a1 = mean_abs_activation(sparse, x, name);
		cr_assert_lt(a1, 0.5 * a0, "%s: mean |h| %g with L1, %g without", name, a1, a0);
	}
	gb_model_free(plain);
	gb_model_free(sparse);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

Test(regularize, dropout_trains_and_leaves_no_trace_in_the_export)
{
	gb_tensor *x, *y;
	noisy_task(256, 8, &x, &y);
	gb_train_config c = reg_config();
	gb_model *plain = train_spec("12-32-2", x, y, &c, NULL);
	c.dropout = 0.5;
	gb_train_epoch hist[30];
	gb_model *dropped = train_spec("12-32-2", x, y, &c, hist);
	cr_assert_eq(gb_model_n_inputs(dropped), 1);
	cr_assert_eq(gb_model_n_nodes(dropped), 3); /* Gemm, Relu, Gemm */
	gb_train_data d = {x, y, "task"};
	double loss, acc, loss0, acc0;
	gb_error err = {0};
	cr_assert_eq(gb_train_evaluate(dropped, &d, GB_LOSS_CE, &loss, &acc, &err), GB_OK);
	cr_assert_eq(gb_train_evaluate(plain, &d, GB_LOSS_CE, &loss0, &acc0, &err), GB_OK);
	cr_assert_gt(acc, 0.85, "accuracy %g with dropout", acc);
	/* Masks were in play: the loss while training (units dropped) exceeds
	 * the loss of the final weights evaluated without dropout, and the
	 * weights differ from those trained without it. */
	cr_assert_gt(hist[29].train_loss, loss);
	cr_assert_neq(memcmp(param(plain, "fc1.weight")->data, param(dropped, "fc1.weight")->data, 12 * 32 * 4), 0);
	gb_model_free(plain);
	gb_model_free(dropped);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

/* ---- bad input: refused before anything changes --------------------------------------------- */

static void expect_refused(const char *spec, const gb_tensor *x, const gb_tensor *y, gb_loss_kind loss,
                           gb_status status, const char *needle)
{
	gb_train_data d = {x, y, "bad.npz"};
	gb_train_config c;
	gb_train_config_default(&c);
	c.epochs = 1;
	c.loss = loss;
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_train_spec(spec, &d, NULL, &c, NULL, NULL, NULL, &m, &err), status, "%s: %s", spec, err.msg);
	cr_assert_null(m);
	cr_assert(strstr(err.msg, needle) != NULL, "message '%s' lacks '%s'", err.msg, needle);
}

Test(train, refuses_bad_data)
{
	int64_t xd[2] = {4, 3};
	gb_tensor *x = tu_random(2, xd, 0, 1, 1);
	gb_tensor *y = labels_tensor(4, (int64_t[]){0, 1, 2, 1});
	gb_tensor *y_big = labels_tensor(4, (int64_t[]){0, 1, 3, 1});
	gb_tensor *y_neg = labels_tensor(4, (int64_t[]){0, -1, 0, 1});
	gb_tensor *y_short = labels_tensor(3, (int64_t[]){0, 1, 2});
	expect_refused("3-8-3", x, y_big, GB_LOSS_CE, GB_STATUS_BAD_FILE, "label 3 of sample 2 is out of range");
	expect_refused("3-8-3", x, y_neg, GB_LOSS_CE, GB_STATUS_BAD_FILE, "label -1 of sample 1");
	expect_refused("3-8-3", x, y_short, GB_LOSS_CE, GB_STATUS_BAD_FILE, "y has 3 rows");
	expect_refused("4-8-3", x, y, GB_LOSS_CE, GB_STATUS_BAD_FILE, "bad.npz: architecture spec '4-8-3' takes 4");
	expect_refused("3-8-x", x, y, GB_LOSS_CE, GB_STATUS_USAGE, "'x' at position 5");
	((float *)x->data)[7] = NAN;
	expect_refused("3-8-3", x, y, GB_LOSS_CE, GB_STATUS_BAD_FILE, "NaN at sample 2");
	((float *)x->data)[7] = INFINITY;
	expect_refused("3-8-3", x, y, GB_LOSS_CE, GB_STATUS_BAD_FILE, "infinity");
	((float *)x->data)[7] = 0.5f;
	/* float targets for cross-entropy; targets of the wrong width for MSE */
	int64_t td[2] = {4, 2};
	gb_tensor *t = tu_random(2, td, 0, 1, 2);
	expect_refused("3-8-3", x, t, GB_LOSS_CE, GB_STATUS_BAD_FILE, "integer class labels");
	expect_refused("3-8-3", x, t, GB_LOSS_MSE, GB_STATUS_BAD_FILE, "2 values per sample");
	/* cross-entropy on an image output */
	int64_t imd[4] = {4, 1, 4, 4};
	gb_tensor *im = tu_random(4, imd, 0, 1, 3);
	expect_refused("conv2k3", im, y, GB_LOSS_CE, GB_STATUS_USAGE, "[N, classes]");
	gb_tensor_free(im);
	gb_tensor_free(t);
	gb_tensor_free(x);
	gb_tensor_free(y);
	gb_tensor_free(y_big);
	gb_tensor_free(y_neg);
	gb_tensor_free(y_short);
}

Test(train, bad_test_set_leaves_the_model_untouched)
{
	gb_tensor *x, *y;
	noisy_task(32, 9, &x, &y);
	gb_tensor *yt = labels_tensor(32, NULL);
	((int64_t *)yt->data)[31] = 7;
	gb_arch a;
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_arch_parse("12-4-2", &a, &err), GB_OK);
	gb_arch_options o = {.seed = 1};
	cr_assert_eq(gb_arch_build(&a, 1, x->dims + 1, &o, &m, &err), GB_OK);
	float before[48];
	memcpy(before, param(m, "fc1.weight")->data, sizeof before);
	gb_train_data tr = {x, y, "train.npz"}, te = {x, yt, "test.npz"};
	gb_train_config c;
	gb_train_config_default(&c);
	cr_assert_eq(gb_train_model(m, &tr, &te, &c, NULL, NULL, NULL, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "test.npz: label 7 of sample 31") != NULL, "%s", err.msg);
	cr_assert_eq(memcmp(before, param(m, "fc1.weight")->data, sizeof before), 0);
	/* A bad config is a usage error. */
	c.lr = -1;
	cr_assert_eq(gb_train_model(m, &tr, NULL, &c, NULL, NULL, NULL, &err), GB_STATUS_USAGE);
	c.lr = 1e-3;
	c.dropout = 1.0;
	cr_assert_eq(gb_train_model(m, &tr, NULL, &c, NULL, NULL, NULL, &err), GB_STATUS_USAGE);
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(y);
	gb_tensor_free(yt);
}

Test(train, divergence_is_reported)
{
	gb_tensor *x, *y;
	noisy_task(64, 10, &x, &y);
	float *xv = x->data;
	for (int i = 0; i < 64 * 12; i++)
		xv[i] *= 1e18f;
	gb_train_data d = {x, y, "huge"};
	gb_train_config c;
	gb_train_config_default(&c);
	c.optim = GB_OPTIM_SGD;
	c.lr = 10;
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_train_spec("12-8-2", &d, NULL, &c, NULL, NULL, NULL, &m, &err), GB_STATUS_FAILURE);
	cr_assert(strstr(err.msg, "diverged") != NULL, "%s", err.msg);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

/* ---- progress, log and plot ---------------------------------------------------------------------- */

typedef struct progress_log {
	int calls, epochs_finished;
	int64_t last_samples;
	int monotone;
} progress_log;

static void on_progress(void *ctx, const gb_train_progress *p)
{
	progress_log *l = ctx;
	l->calls++;
	if (p->samples_done < l->last_samples)
		l->monotone = 0;
	l->last_samples = p->samples_done;
	if (p->finished)
		l->epochs_finished++;
}

Test(train, progress_csv_and_svg)
{
	gb_tensor *x, *y;
	noisy_task(50, 11, &x, &y);
	gb_train_data d = {x, y, "task"};
	gb_train_config c;
	gb_train_config_default(&c);
	c.epochs = 3;
	c.batch = 16; /* 4 steps, the last of 2 samples */
	gb_train_epoch hist[3];
	progress_log log = {.monotone = 1};
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_train_spec("12-4-2", &d, &d, &c, hist, on_progress, &log, &m, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(log.calls, 3 * 4 + 3);
	cr_assert_eq(log.epochs_finished, 3);
	cr_assert_eq(log.last_samples, 150);
	cr_assert(log.monotone);

	char *path = temp_path();
	cr_assert_eq(gb_train_log_csv(path, hist, 3, &err), GB_OK, "%s", err.msg);
	size_t len;
	char *csv = (char *)read_all(path, &len);
	cr_assert(strncmp(csv, "epoch,train_loss,train_acc,test_loss,test_acc,seconds\n1,", 56) == 0, "%s", csv);
	int lines = 0;
	for (char *p = csv; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 4);
	free(csv);

	/* Without a test set the test columns are empty. */
	hist[0].test_loss = hist[0].test_acc = NAN;
	cr_assert_eq(gb_train_log_csv(path, hist, 1, &err), GB_OK);
	csv = (char *)read_all(path, &len);
	cr_assert(strstr(csv, ",,") != NULL, "%s", csv);
	free(csv);

	cr_assert_eq(gb_train_plot_svg(path, hist, 3, "12-4-2 <task>", &err), GB_OK, "%s", err.msg);
	char *svg = (char *)read_all(path, &len);
	cr_assert(strncmp(svg, "<svg xmlns=", 11) == 0);
	cr_assert(strstr(svg, "</svg>\n") != NULL);
	cr_assert(strstr(svg, "&lt;task&gt;") != NULL);
	int polylines = 0;
	for (char *p = svg; (p = strstr(p, "<polyline")); p++)
		polylines++;
	cr_assert_eq(polylines, 4, "train and test, loss and accuracy");
	free(svg);
	unlink(path);
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(y);
}

Test(train, keep_zeros_holds_pruned_weights_at_zero)
{
	int64_t dims[2] = {4, 2};
	gb_tensor *x = tu_tensor(GB_DTYPE_F32, 2, dims, (float[]){0, 0, 0, 1, 1, 0, 1, 1});
	gb_tensor *y = labels_tensor(4, (int64_t[]){0, 1, 1, 0});
	gb_train_config c;
	gb_train_config_default(&c);
	c.epochs = 5;
	c.batch = 4;
	gb_model *m = train_spec("2-8-2", x, y, &c, NULL);
	/* zero every other entry of every weight matrix, then train on */
	int64_t zeroed = 0;
	for (int i = 0; i < m->n_params; i++) {
		gb_tensor *t = m->values[m->params[i]].init;
		if (t->ndim != 2)
			continue;
		for (int64_t k = 0; k < gb_tensor_numel(t); k += 2, zeroed++)
			((float *)t->data)[k] = 0.0f;
	}
	cr_assert_gt(zeroed, 0);
	float before[64];
	const gb_tensor *w0 = NULL;
	for (int i = 0; i < m->n_params && !w0; i++)
		if (m->values[m->params[i]].init->ndim == 2)
			w0 = m->values[m->params[i]].init;
	memcpy(before, w0->data, (size_t)gb_tensor_numel(w0) * sizeof(float));
	c.keep_zeros = 1;
	c.epochs = 20;
	gb_train_data d = {x, y, "xor"};
	gb_error err = {0};
	cr_assert_eq(gb_train_model(m, &d, NULL, &c, NULL, NULL, NULL, &err), GB_OK, "%s", err.msg);
	int64_t moved = 0;
	for (int i = 0; i < m->n_params; i++) {
		const gb_tensor *t = m->values[m->params[i]].init;
		if (t->ndim != 2)
			continue;
		for (int64_t k = 0; k < gb_tensor_numel(t); k += 2)
			cr_expect_eq(((const float *)t->data)[k], 0.0f, "a pruned weight moved");
	}
	for (int64_t k = 1; k < gb_tensor_numel(w0); k += 2)
		moved += ((const float *)w0->data)[k] != before[k];
	cr_expect_gt(moved, 0, "the other weights train");
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(y);
}
