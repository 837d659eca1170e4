/*
 * test_compile.c — the compiler from .gbx programs to networks
 * (src/lang/compile.c, gb_ast_compile).
 *
 * Every check compiles a program twice (ReLU expansions and --native), runs
 * each network with the engine and compares it with the interpreter
 * (gb_ast_run) on the same batch:
 *
 *   primitives   one table row per primitive and operator of
 *                docs/language.md §10: a small program and the inputs it is
 *                run on — random reals with edge rows (zeros, ties, negative,
 *                large values), every {0,1} vector for the logic primitives,
 *                inf/NaN/-0 rows where the lowering is pure selection.
 *                Tolerance: exact where the row says so (native mode,
 *                Boolean programs, selection), else a few float32 ulps of the
 *                example's magnitude for the ReLU formulas and for sums
 *                whose order differs (§11). The table, its batches and
 *                the comparison live in prim_table.h, which test_backends.c
 *                shares to check the emitted C and NumPy the same way
 *   structure    indexing and slicing (negative steps and indices), element
 *                assignment, defs with tuple results, loops, comprehensions,
 *                broadcasting, constant outputs, bool programs
 *   graphs       ReLU-mode graphs have no Max/Min/Abs/Clip/MaxPool/TopK/
 *                ReduceMax/ReduceMin node; native ones use the operator §10
 *                names; no node reads only initializers (constants are
 *                folded); names come from the program; the examples compile
 *   errors       step without width= in ReLU mode, static errors
 *
 * Run from the repository root (examples/ paths are relative to it).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "graph/graph.h"
#include "lang/lang.h"
#include "prim_table.h"

/* ---- compiling and running ----------------------------------------------------------------- */

static gb_ast *parse(const char *src, const char *file)
{
	gb_ast *ast = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_ast_parse(src, strlen(src), file, &ast, &err), GB_OK, "%s: %s", file, err.msg);
	return ast;
}

static bool graph_has(const gb_model *m, const char *op)
{
	for (int i = 0; i < gb_model_n_nodes(m); i++)
		if (strcmp(gb_model_node_op(m, i), op) == 0)
			return true;
	return false;
}

static const char *const forbidden_in_relu_mode[] = {"Max", "Min", "Abs", "Clip", "MaxPool", "TopK", "ReduceMax",
                                                     "ReduceMin", NULL};

/* Checks that hold for every compiled graph. */
static void check_graph(const gb_model *m, bool native, const char *label)
{
	if (!native)
		for (int k = 0; forbidden_in_relu_mode[k]; k++)
			cr_expect(!graph_has(m, forbidden_in_relu_mode[k]), "%s: the ReLU-mode graph has a %s node", label,
			          forbidden_in_relu_mode[k]);
	/* constants are folded: every node reads at least one computed value */
	for (int i = 0; i < m->n_nodes; i++) {
		const gb_node *nd = &m->nodes[i];
		bool reads_data = false;
		for (int k = 0; k < nd->n_inputs; k++)
			if (nd->inputs[k] >= 0 && !m->values[nd->inputs[k]].init)
				reads_data = true;
		cr_expect(reads_data, "%s: node '%s' (%s) reads only constants; it should have been folded", label, nd->name,
		          nd->op_type);
	}
	/* node names are unique */
	for (int i = 0; i < m->n_nodes; i++)
		for (int j = i + 1; j < m->n_nodes; j++)
			cr_expect(strcmp(m->nodes[i].name, m->nodes[j].name) != 0, "%s: two nodes are named '%s'", label,
			          m->nodes[i].name);
}

static gb_model *compile_ok(const gb_ast *ast, bool native, const char *label)
{
	gb_model *m = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_ast_compile(ast, NULL, native, &m, &err), GB_OK, "%s (%s): %s", label,
	             native ? "native" : "relu", err.msg);
	cr_assert_not_null(m);
	cr_assert_eq(gb_model_opset(m), 13);
	check_graph(m, native, label);
	return m;
}

/* Runs the network and the interpreter on ins and compares every output. */
static void compare(const gb_ast *ast, const gb_model *m, gb_tensor **ins, int n_in, int64_t N, float tol,
                    const char *label)
{
	gb_tensor_map *want = interpret(ast, ins, n_in, label);
	float *scale = batch_scale(ins, n_in, N);
	engine_agrees(ast, m, ins, n_in, want, scale, N, tol, label);
	free(scale);
	gb_tensor_map_free(want);
}

/* ---- the primitives (the table is in prim_table.h) ---------------------------------------- */

static void check_row(const row *r)
{
	gb_ast *ast = parse(r->src, "row.gbx");
	for (int native = 0; native < 2; native++) {
		char label[160];
		snprintf(label, sizeof label, "%s (%s)", r->name, native ? "native" : "relu");
		if (!native && r->relu_refused) {
			gb_model *m = NULL;
			gb_error err = {0};
			cr_expect_eq(gb_ast_compile(ast, NULL, false, &m, &err), GB_STATUS_BAD_FILE, "%s", label);
			cr_expect_null(m);
			cr_expect(strstr(err.msg, "row.gbx:") == err.msg && strstr(err.msg, "width="), "%s: %s", label, err.msg);
			continue;
		}
		gb_model *m = compile_ok(ast, native, label);
		const char *must = native ? r->native_op : r->relu_op;
		if (must)
			cr_expect(graph_has(m, must), "%s: the graph has no %s node", label, must);
		for (unsigned g = 1; g <= G_SPECIAL; g <<= 1) {
			if (!(r->gens & g))
				continue;
			gb_tensor **ins;
			int n_in;
			int64_t N = make_inputs(ast, (gen)g, &ins, &n_in);
			/* Boolean programs agree exactly in every mode (§11) */
			float tol = g == G_BITS ? 0 : native ? r->native_tol : r->relu_tol;
			char glabel[200];
			snprintf(glabel, sizeof glabel, "%s on %s", label,
			         g == G_BITS ? "every {0,1} vector" : g == G_SPECIAL ? "inf/NaN rows" : "reals");
			compare(ast, m, ins, n_in, N, tol, glabel);
			free_inputs(ins, n_in);
		}
		gb_model_free(m);
	}
	gb_ast_free(ast);
}

Test(primitives, table)
{
	for (int i = 0; i < N_PRIMITIVES; i++)
		check_row(&primitives[i]);
}

/* ---- structure ------------------------------------------------------------------------------- */

static const row structure[] = {
	{"indexing and slicing",
	 "input x: f32[4, 5]\noutput a = x[1]\noutput b = x[:, 2]\noutput c = x[::-1, 1:4:2]\noutput d = x[-1, -2]\n"
	 "output e = x[3:0:-2, ::-3]\noutput f = x[1:3]\noutput g = x[:]\noutput h = x[-3:, -1:-6:-1]\n"
	 "output i = x[10:-10:-1, 2:100]\n",
	 G_REAL | G_SPECIAL, 0, 0, "Gather", "Gather", false},
	{"element assignment",
	 "input x: f32[3, 4]\ny = x\ny[1] = x[0] * 2.0\ny[:, 0] = 7.0\ny[::-1, 3] = x[:, 1]\noutput o = y\n"
	 "out: f32[2, 2]\nout[0, 0] = x[0, 0]\nout[1] = x[1, 1:3]\nout[0, 1] = 5.0\noutput p = out\n"
	 "c = [1.0, 2.0, 3.0]\nc[1] = x[2, 2]\noutput q = c\nr = x[0]\nr[::-1] = x[1]\noutput rr = r\n"
	 "output whole: f32[4]\nwhole[1:] = x[2, :3]\nwhole[0] = -1.0\n",
	 G_REAL | G_SPECIAL, 0, 0, "Gather", "Gather", false},
	{"bool element assignment",
	 "input q: bool[3]\nz: bool[3]\nz[0] = q[2]\nz[1:] = q[:2]\noutput zz = z\nw = q\nw[1] = True\noutput ww = w\n",
	 G_BITS | G_REAL, 0, 0, NULL, NULL, false},
	{"defs with tuple results",
	 "input x: f32[4]\ninput y: f32[4]\n"
	 "def stats(a: f32[n], b: f32[n]) -> (f32[n], f32):\n    m = max(a, b)\n    return m, sum(a * b)\n"
	 "def twice(v: f32[n]) -> f32[n]:\n    return v + v\n"
	 "def minmax(a: f32, b: f32) -> (f32, f32):\n    return min(a, b), max(a, b)\n"
	 "hi, dot = stats(x, y)\noutput h = twice(hi)\noutput d = dot\npair: f32[2]\npair[1], pair[0] = minmax(x[0], 1.0)\n"
	 "output p = pair\n",
	 G_REAL, ULPS, SUMS, "Max", "Relu", false},
	{"loops and comprehensions",
	 "input x: f32[6]\nparam W: f32[3, 6] = [[1, 0, 0, -1, 0, 0], [0, 1, -1, 0, 0.5, 0], [0.5, 0.5, 0.5, 0.5, 0, 1]]\n"
	 "param b: f32[3] = [0.0, 0.0, -1.0]\n"
	 "def neuron(v: f32[n], w: f32[n], bias: f32) -> f32:\n    return relu(sum(v * w) + bias)\n"
	 "hidden = [neuron(x, W[j], b[j]) for j in range(3)]\noutput active = hidden > 0.0\n"
	 "output strongest = argmax(hidden)\nacc = x[0]\nfor i in range(1, 6):\n    acc = acc + x[i] * i\n"
	 "output total = acc\nodd = x[0]\nfor i in range(5, 0, -2):\n    odd = xor(odd, x[i])\noutput parity = odd\n",
	 G_REAL, ULPS, SUMS, NULL, NULL, false},
	{"broadcasting",
	 "input a: f32\ninput b: f32[2, 3]\ninput c: f32[3]\noutput y = a * b + c - a\noutput z = where(b > c, a, c)\n"
	 "output w = max(a, c) + min(b, 1.0)\noutput v = c + [[1.0], [2.0]]\n",
	 G_REAL, ULPS, 0, NULL, NULL, false},
	{"constant outputs",
	 "input x: f32[2]\nparam W: f32[2] = [1.0, 2.0]\nparam t: f32 = 0.25\noutput w = W * 2.0 + t\noutput y = x + W\n"
	 "output k = [True, False]\noutput same = x\noutput again = x\n",
	 G_REAL | G_SPECIAL, 0, 0, "Expand", "Expand", false},
};

Test(structure, table)
{
	for (int i = 0; i < (int)(sizeof structure / sizeof structure[0]); i++)
		check_row(&structure[i]);
}

/* ---- graphs -------------------------------------------------------------------------------- */

static gb_model *compile_file(const char *path, bool native)
{
	gb_ast *ast = NULL;
	gb_error err = {0};
	cr_assert_eq(gb_ast_parse_file(path, &ast, &err), GB_OK, "%s", err.msg);
	gb_model *m = compile_ok(ast, native, path);
	gb_ast_free(ast);
	return m;
}

static int find_init(const gb_model *m, const char *name)
{
	for (int i = 0; i < gb_model_n_params(m); i++)
		if (strcmp(gb_model_param_name(m, i), name) == 0)
			return i;
	return -1;
}

Test(graphs, smallconv_folds_constants_and_keeps_names)
{
	for (int native = 0; native < 2; native++) {
		gb_model *m = compile_file("examples/smallconv.gbx", native);
		int k = find_init(m, "K");
		cr_assert_geq(k, 0, "K = reshape([vertical, ...]) should be one initializer");
		const gb_tensor *K = gb_model_param(m, k);
		cr_expect_eq(K->ndim, 4);
		cr_expect_eq(K->dims[0], 3);
		cr_expect_eq(((const float *)K->data)[1], 2.0f); /* vertical[0][1] */
		cr_expect_eq(((const float *)K->data)[9 + 3], 2.0f); /* horizontal[1][0] */
		cr_expect_geq(find_init(m, "W2"), 0);
		cr_expect_geq(find_init(m, "kb"), 0);
		cr_expect_lt(find_init(m, "vertical"), 0, "vertical is folded into K and not read by any node");
		int conv = -1;
		for (int i = 0; i < gb_model_n_nodes(m); i++)
			if (strcmp(gb_model_node_op(m, i), "Conv") == 0)
				conv = i;
		cr_assert_geq(conv, 0);
		cr_expect_str_eq(m->values[m->nodes[conv].inputs[1]].name, "K");
		cr_expect_geq(gb_model_find_node(m, "fmap"), 0, "the relu is named after its binding");
		cr_expect_geq(gb_model_find_node(m, "pooled"), 0);
		cr_expect_eq(graph_has(m, "MaxPool"), native);
		gb_value_info info;
		gb_model_output(m, 0, &info);
		cr_expect_str_eq(info.name, "logits");
		cr_expect_eq(info.ndim, 2);
		cr_expect_eq(info.dims[0], -1);
		cr_expect_str_eq(m->values[m->outputs[0]].dim_param[0], "N");
		gb_model_output(m, 1, &info);
		cr_expect_str_eq(info.name, "label");
		gb_model_input(m, 0, &info);
		cr_expect_str_eq(info.name, "img");
		cr_expect_eq(info.ndim, 4);
		gb_model_free(m);
	}
}

Test(graphs, loop_values_are_named_after_the_loop_variable)
{
	gb_model *m = compile_file("examples/parity.gbx", false);
	cr_expect_geq(gb_model_find_node(m, "odd_3"), 0, "the value of odd after i = 3");
	gb_value_info info;
	gb_model_output(m, 0, &info);
	cr_expect_str_eq(info.name, "odd");
	cr_expect_eq(info.ndim, 1);
	gb_model_free(m);
}

Test(graphs, max3_expands_back_to_relu)
{
	gb_model *m = compile_file("examples/max3.gbx", false);
	int relus = 0;
	for (int i = 0; i < gb_model_n_nodes(m); i++)
		relus += strcmp(gb_model_node_op(m, i), "Relu") == 0;
	cr_expect_eq(relus, 2, "max of three is two a + relu(b - a) steps");
	gb_model_free(m);
	m = compile_file("examples/max3.gbx", true);
	cr_expect(graph_has(m, "Max"));
	cr_expect(!graph_has(m, "Relu"));
	gb_model_free(m);
}

/* Every example, both modes, against the interpreter on its kind of input. */
Test(graphs, examples_match_the_interpreter)
{
	static const struct {
		const char *path;
		gen g;
	} ex[] = {{"examples/max3.gbx", G_REAL},  {"examples/sort3.gbx", G_REAL},     {"examples/parity.gbx", G_BITS},
	          {"examples/adder2.gbx", G_BITS}, {"examples/smallconv.gbx", G_REAL}};
	for (int i = 0; i < 5; i++) {
		gb_ast *ast = NULL;
		gb_error err = {0};
		cr_assert_eq(gb_ast_parse_file(ex[i].path, &ast, &err), GB_OK, "%s", err.msg);
		for (int native = 0; native < 2; native++) {
			gb_model *m = compile_ok(ast, native, ex[i].path);
			gb_tensor **ins;
			int n_in;
			int64_t N = make_inputs(ast, ex[i].g, &ins, &n_in);
			compare(ast, m, ins, n_in, N, ex[i].g == G_BITS ? 0 : native ? SUMS : ULPS, ex[i].path);
			free_inputs(ins, n_in);
			gb_model_free(m);
		}
		gb_ast_free(ast);
	}
}

/* A saved network loads back and computes the same. */
Test(graphs, export_and_reload)
{
	gb_model *m = compile_file("examples/sort3.gbx", false);
	char path[64];
	snprintf(path, sizeof path, "/tmp/gb_compile_%d.onnx", (int)getpid());
	gb_error err = {0};
	cr_assert_eq(gb_model_save(m, path, &err), GB_OK, "%s", err.msg);
	gb_model *back = NULL;
	cr_assert_eq(gb_model_load(path, &back, &err), GB_OK, "%s", err.msg);
	remove(path);
	gb_ast *ast = NULL;
	cr_assert_eq(gb_ast_parse_file("examples/sort3.gbx", &ast, &err), GB_OK);
	gb_tensor **ins;
	int n_in;
	int64_t N = make_inputs(ast, G_REAL, &ins, &n_in);
	compare(ast, back, ins, n_in, N, ULPS, "sort3 reloaded");
	free_inputs(ins, n_in);
	gb_ast_free(ast);
	gb_model_free(back);
	gb_model_free(m);
}

/* ---- errors -------------------------------------------------------------------------------- */

static void expect_error(const char *src, bool native, gb_status want, const char *prefix, const char *text)
{
	gb_ast *ast = parse(src, "bad.gbx");
	gb_model *m = NULL;
	gb_error err = {0};
	gb_status st = gb_ast_compile(ast, NULL, native, &m, &err);
	cr_expect_eq(st, want, "status %d for: %s (%s)", st, src, err.msg);
	cr_expect_null(m);
	cr_expect(strncmp(err.msg, prefix, strlen(prefix)) == 0, "message '%s' should start with '%s'", err.msg, prefix);
	cr_expect(strstr(err.msg, text), "message '%s' should say '%s'", err.msg, text);
	gb_ast_free(ast);
}

Test(errors, programs_that_do_not_compile)
{
	expect_error("input x: f32[3]\noutput y = step(x, 0.5)\n", false, GB_STATUS_BAD_FILE, "bad.gbx:2:12: ",
	             "no exact ReLU expansion");
	expect_error("input x: f32[3]\noutput y = relu(z)\n", true, GB_STATUS_BAD_FILE, "bad.gbx:2:17: ",
	             "unknown name 'z'");
	expect_error("param W: f32[2] = [1.0, 2.0]\noutput y = W\n", false, GB_STATUS_BAD_FILE, "bad.gbx", "no input");
	expect_error("input x: f32[1, 3, 3]\noutput y = conv2d(x, reshape(x, [1, 1, 3, 3]))\n", true,
	             GB_STATUS_UNSUPPORTED, "bad.gbx:2:12: ", "kernel");
	expect_error("weights \"gone.safetensors\"\ninput x: f32[3]\nparam W: f32[2, 3] = weights[\"w\"]\n"
	             "output y = dense(x, W)\n",
	             false, GB_STATUS_BAD_FILE, "bad.gbx:1:1: ", "cannot read the weights");
}
