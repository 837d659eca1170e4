/*
 * test_arch.c — architecture specs: the parser (good and bad specs, error
 * positions), graphs built from them (shapes, Flatten insertion, padding,
 * dropout masks and activation outputs), PyTorch-style initialisation,
 * samples that do not fit, and the ONNX round trip of a built network.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "testutil.h"
#include "train/train.h"

static gb_arch parse_ok(const char *spec)
{
	gb_arch a;
	gb_error err = {0};
	gb_status st = gb_arch_parse(spec, &a, &err);
	cr_assert_eq(st, GB_OK, "%s: %s", spec, err.msg);
	return a;
}

static void parse_bad(const char *spec, const char *needle)
{
	gb_arch a;
	gb_error err = {0};
	cr_assert_eq(gb_arch_parse(spec, &a, &err), GB_STATUS_USAGE, "'%s' should not parse", spec);
	cr_assert(strstr(err.msg, needle) != NULL, "'%s': message '%s' lacks '%s'", spec, err.msg, needle);
}

Test(arch, parses_mlp_specs)
{
	gb_arch a = parse_ok("784-256-256-10");
	cr_assert_eq(a.in_features, 784);
	cr_assert_eq(a.n_layers, 5);
	gb_layer_kind kinds[] = {GB_LAYER_DENSE, GB_LAYER_RELU, GB_LAYER_DENSE, GB_LAYER_RELU, GB_LAYER_DENSE};
	int64_t units[] = {256, 0, 256, 0, 10};
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(a.layers[i].kind, kinds[i]);
		cr_assert_eq(a.layers[i].units, units[i]);
	}
	a = parse_ok("2-1");
	cr_assert_eq(a.in_features, 2);
	cr_assert_eq(a.n_layers, 1);
	cr_assert_eq(a.layers[0].kind, GB_LAYER_DENSE);
	cr_assert_eq(a.layers[0].units, 1);
}

Test(arch, parses_layer_specs)
{
	gb_arch a = parse_ok("conv8k3-relu-pool2-conv16k3-relu-pool2-dense10");
	cr_assert_eq(a.in_features, 0);
	cr_assert_eq(a.n_layers, 7);
	cr_assert_eq(a.layers[0].kind, GB_LAYER_CONV);
	cr_assert_eq(a.layers[0].units, 8);
	cr_assert_eq(a.layers[0].kernel, 3);
	cr_assert_eq(a.layers[0].valid, 0);
	cr_assert_eq(a.layers[1].kind, GB_LAYER_RELU);
	cr_assert_eq(a.layers[2].kind, GB_LAYER_POOL);
	cr_assert_eq(a.layers[2].kernel, 2);
	cr_assert_eq(a.layers[2].pos, 14);
	cr_assert_eq(a.layers[6].kind, GB_LAYER_DENSE);
	cr_assert_eq(a.layers[6].units, 10);
	a = parse_ok("conv4k5v-tanh-flatten-dense32-sigmoid-dense2");
	cr_assert_eq(a.layers[0].valid, 1);
	cr_assert_eq(a.layers[0].kernel, 5);
	cr_assert_eq(a.layers[1].kind, GB_LAYER_TANH);
	cr_assert_eq(a.layers[2].kind, GB_LAYER_FLATTEN);
	cr_assert_eq(a.layers[4].kind, GB_LAYER_SIGMOID);
}

Test(arch, rejects_bad_specs_naming_the_position)
{
	parse_bad("", "empty");
	parse_bad("784", "an input and an output width");
	parse_bad("784-abc-10", "'abc' at position 5");
	parse_bad("784--10", "empty layer at position 5");
	parse_bad("784-10-", "empty layer at position 8");
	parse_bad("-784-10", "empty layer at position 1");
	parse_bad("784-0", "'0' at position 5");
	parse_bad("99999999999-10", "position 1");
	parse_bad("784-relu-10", "'relu' at position 5");
	parse_bad("conv8-relu-dense10", "'conv8' at position 1");
	parse_bad("conv8k0-dense10", "'conv8k0' at position 1");
	parse_bad("conv8k3x-dense10", "'conv8k3x' at position 1");
	parse_bad("conv8k3-relu-pool-dense10", "'pool' at position 14");
	parse_bad("dense0", "'dense0' at position 1");
	parse_bad("conv8k3-foo-dense10", "'foo' at position 9");
	parse_bad("conv8k3-12-dense10", "'12' at position 9");
	parse_bad("relu-pool2", "no dense or conv layer");
}

static gb_model *build(const char *spec, int ndim, const int64_t *dims, const gb_arch_options *o)
{
	gb_arch a = parse_ok(spec);
	gb_model *m = NULL;
	gb_error err = {0};
	gb_status st = gb_arch_build(&a, ndim, dims, o, &m, &err);
	cr_assert_eq(st, GB_OK, "%s: %s", spec, err.msg);
	return m;
}

static void build_bad(const char *spec, int ndim, const int64_t *dims, const char *needle)
{
	gb_arch a = parse_ok(spec);
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_arch_build(&a, ndim, dims, NULL, &m, &err), GB_STATUS_BAD_FILE, "%s should not fit", spec);
	cr_assert_null(m);
	cr_assert(strstr(err.msg, needle) != NULL, "message '%s' lacks '%s'", err.msg, needle);
}

/* Runs m on a [n, sample...] batch of ones; returns the output (caller frees). */
static gb_tensor *run_ones(const gb_model *m, int ndim, const int64_t *sample, int64_t n)
{
	int64_t dims[GB_MAX_DIMS] = {n};
	for (int d = 0; d < ndim; d++)
		dims[d + 1] = sample[d];
	gb_tensor *x = tu_random(ndim + 1, dims, 0.0f, 1.0f, 3);
	gb_tensor *y[1] = {0};
	gb_error err = {0};
	const gb_tensor *ins[1] = {x};
	cr_assert_eq(tu_run(m, 1, ins, NULL, y, &err), GB_OK, "%s", err.msg);
	gb_tensor_free(x);
	return y[0];
}

static const gb_tensor *param(const gb_model *m, const char *name)
{
	for (int i = 0; i < gb_model_n_params(m); i++)
		if (strcmp(gb_model_param_name(m, i), name) == 0)
			return gb_model_param(m, i);
	cr_assert_fail("no parameter %s", name);
	return NULL;
}

Test(arch, mlp_flattens_images_and_runs)
{
	int64_t img[3] = {1, 28, 28};
	gb_model *m = build("784-256-256-10", 3, img, NULL);
	cr_assert_eq(gb_model_opset(m), 17);
	cr_assert_eq(gb_model_n_inputs(m), 1);
	cr_assert_eq(gb_model_n_outputs(m), 1);
	cr_assert_str_eq(gb_model_node_op(m, 0), "Flatten");
	cr_assert_str_eq(gb_model_node_op(m, 1), "Gemm");
	cr_assert_str_eq(gb_model_node_name(m, 1), "fc1");
	cr_assert_str_eq(gb_model_node_op(m, 2), "Relu");
	cr_assert_eq(gb_model_n_nodes(m), 6);
	const gb_tensor *w = param(m, "fc1.weight");
	cr_assert_eq(w->dims[0], 256);
	cr_assert_eq(w->dims[1], 784);
	cr_assert_eq(gb_model_param_count(m), 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
	gb_tensor *y = run_ones(m, 3, img, 5);
	cr_assert_eq(y->ndim, 2);
	cr_assert_eq(y->dims[0], 5);
	cr_assert_eq(y->dims[1], 10);
	gb_tensor_free(y);
	gb_model_free(m);

	int64_t flat[1] = {784};
	m = build("784-10", 1, flat, NULL);
	cr_assert_eq(gb_model_n_nodes(m), 1); /* no Flatten for flat samples */
	gb_model_free(m);
}

Test(arch, cnn_shapes_same_and_valid_padding)
{
	int64_t img[3] = {1, 28, 28};
	gb_model *m = build("conv8k3-relu-pool2-conv16k3-relu-pool2-dense10", 3, img, NULL);
	const gb_tensor *w = param(m, "conv1.weight");
	cr_assert_eq(w->ndim, 4);
	cr_assert_eq(w->dims[0], 8);
	cr_assert_eq(w->dims[1], 1);
	cr_assert_eq(w->dims[2], 3);
	w = param(m, "conv2.weight");
	cr_assert_eq(w->dims[0], 16);
	cr_assert_eq(w->dims[1], 8);
	w = param(m, "fc1.weight");
	cr_assert_eq(w->dims[1], 16 * 7 * 7); /* same padding keeps 28, pools halve twice */
	gb_tensor *y = run_ones(m, 3, img, 2);
	cr_assert_eq(y->dims[0], 2);
	cr_assert_eq(y->dims[1], 10);
	gb_tensor_free(y);
	gb_model_free(m);

	int64_t small[3] = {2, 8, 8};
	m = build("conv4k5v-relu-dense3", 3, small, NULL);
	cr_assert_eq(param(m, "fc1.weight")->dims[1], 4 * 4 * 4); /* 8 - 5 + 1 = 4 */
	gb_model_free(m);

	/* An even kernel with 'same' padding keeps the size too. */
	int64_t odd[3] = {1, 5, 5};
	m = build("conv2k4-dense1", 3, odd, NULL);
	cr_assert_eq(param(m, "fc1.weight")->dims[1], 2 * 5 * 5);
	gb_tensor *y2 = run_ones(m, 3, odd, 3);
	cr_assert_eq(y2->dims[1], 1);
	gb_tensor_free(y2);
	gb_model_free(m);
}

Test(arch, samples_that_do_not_fit)
{
	int64_t flat[1] = {784}, img[3] = {1, 28, 28}, two[1] = {2}, tiny[3] = {1, 3, 3}, hw[2] = {28, 28};
	build_bad("100-10", 3, img, "takes 100 input values");
	build_bad("3-1", 1, two, "[2]");
	build_bad("conv8k3-dense10", 1, flat, "needs [C,H,W] samples");
	build_bad("conv8k3-dense10", 2, hw, "position 1");
	build_bad("dense4-pool2-dense2", 3, img, "position 8");
	build_bad("conv2k5v-dense1", 3, tiny, "larger than its input");
	build_bad("pool4-dense1", 3, tiny, "larger than its input");
}

Test(arch, pytorch_default_initialisation)
{
	int64_t flat[1] = {400};
	gb_arch_options o = {.seed = 7};
	gb_model *m = build("400-300-10", 1, flat, &o);
	const char *names[] = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
	double bounds[] = {1 / sqrt(400.0), 1 / sqrt(400.0), 1 / sqrt(300.0), 1 / sqrt(300.0)};
	for (int k = 0; k < 4; k++) {
		const gb_tensor *t = param(m, names[k]);
		const float *d = t->data;
		int64_t n = gb_tensor_numel(t);
		double mx = 0, sum = 0, sq = 0;
		for (int64_t i = 0; i < n; i++) {
			cr_assert_leq(fabs(d[i]), bounds[k] * (1 + 1e-6));
			mx = fmax(mx, fabs(d[i]));
			sum += d[i];
			sq += (double)d[i] * d[i];
		}
		if (n > 1000) {
			/* U(-b, b): mean 0, variance b^2 / 3 */
			cr_assert_gt(mx, 0.99 * bounds[k]);
			cr_assert_lt(fabs(sum / n), 0.02 * bounds[k] * 10);
			cr_assert_lt(fabs(sq / n / (bounds[k] * bounds[k] / 3) - 1), 0.05);
		}
	}
	/* Same seed, same weights; another seed, others. */
	gb_model *same = build("400-300-10", 1, flat, &o);
	gb_arch_options o2 = {.seed = 8};
	gb_model *other = build("400-300-10", 1, flat, &o2);
	const gb_tensor *a = param(m, "fc1.weight"), *b = param(same, "fc1.weight"), *c = param(other, "fc1.weight");
	cr_assert_eq(memcmp(a->data, b->data, (size_t)gb_tensor_numel(a) * 4), 0);
	cr_assert_neq(memcmp(a->data, c->data, (size_t)gb_tensor_numel(a) * 4), 0);
	gb_model_free(m);
	gb_model_free(same);
	gb_model_free(other);
}

Test(arch, training_graph_masks_and_activation_outputs)
{
	int64_t flat[1] = {20};
	gb_arch_options o = {.seed = 1, .dropout = 1, .act_outputs = 1};
	gb_model *m = build("20-16-8-3", 1, flat, &o);
	cr_assert_eq(gb_model_n_inputs(m), 3);
	cr_assert_eq(gb_model_n_outputs(m), 3);
	gb_value_info info;
	gb_model_input(m, 1, &info);
	cr_assert_str_eq(info.name, "dropout_mask1");
	cr_assert_eq(info.dims[1], 16);
	gb_model_output(m, 1, &info);
	cr_assert_str_eq(info.name, "relu1");
	gb_model_output(m, 2, &info);
	cr_assert_str_eq(info.name, "relu2");
	gb_model_output(m, 0, &info);
	cr_assert_str_eq(info.name, "fc3");

	/* A CNN's hidden activations are images; the activation after the last
	 * layer is the output, not a hidden one. */
	int64_t img[3] = {1, 6, 6};
	gb_model *c = build("conv2k3-relu-pool2-dense4-sigmoid", 3, img, &o);
	cr_assert_eq(gb_model_n_inputs(c), 2);
	cr_assert_eq(gb_model_n_outputs(c), 2);
	gb_model_input(c, 1, &info);
	cr_assert_eq(info.ndim, 4);
	cr_assert_eq(info.dims[1], 2);
	cr_assert_eq(info.dims[2], 6);

	/* Weights move from a training graph to the plain one by name. */
	gb_arch_options plain_o = {.seed = 99};
	gb_model *plain = build("20-16-8-3", 1, flat, &plain_o);
	gb_error err = {0};
	cr_assert_eq(gb_model_copy_params(plain, m, &err), GB_OK, "%s", err.msg);
	const gb_tensor *a = param(plain, "fc2.weight"), *b = param(m, "fc2.weight");
	cr_assert_eq(memcmp(a->data, b->data, (size_t)gb_tensor_numel(a) * 4), 0);
	cr_assert_eq(gb_model_copy_params(plain, c, &err), GB_STATUS_USAGE);
	gb_model_free(m);
	gb_model_free(c);
	gb_model_free(plain);
}

Test(arch, exports_and_reloads_bit_for_bit)
{
	int64_t img[3] = {1, 12, 12};
	gb_arch_options o = {.seed = 3};
	gb_model *m = build("conv4k3-relu-pool2-conv6k3v-tanh-dense5", 3, img, &o);
	char path[] = "/tmp/gb_arch_XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	gb_error err = {0};
	cr_assert_eq(gb_model_save(m, path, &err), GB_OK, "%s", err.msg);
	gb_model *back = NULL;
	cr_assert_eq(gb_model_load(path, &back, &err), GB_OK, "%s", err.msg);
	unlink(path);
	cr_assert_eq(gb_model_opset(back), 17);
	gb_tensor *y1 = run_ones(m, 3, img, 3), *y2 = run_ones(back, 3, img, 3);
	cr_assert_eq(gb_tensor_numel(y1), 15);
	cr_assert_eq(memcmp(y1->data, y2->data, 15 * sizeof(float)), 0);
	gb_tensor_free(y1);
	gb_tensor_free(y2);
	gb_model_free(back);
	gb_model_free(m);
}
