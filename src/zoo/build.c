/*
 * build.c — writes the zoo (zoo.h, gb_zoo_build).
 *
 * Planted cases: every program of the table below (PROGRAMS/planted/
 * NAME.gbx) is compiled with ReLU expansions, lowered to its ReLU DAG,
 * written as a chain of dense Gemm + Relu layers (gb_pwl_to_chain) and
 * disguised four ways: strengths 0, 2 and 5 without noise, and strength 2
 * with noise 1e-4 on every weight (cases NAME-s0, NAME-s2, NAME-s5,
 * NAME-noisy). T is the program's output on X, by the interpreter; the
 * compiled network, the chain and each disguised network (read back from
 * its model.onnx) are run on X by the engine and must agree with T.
 *
 * Trained cases: every task of the table below is trained at two widths
 * (hidden layers of 8 and 16 units, two of them) and two seeds (cases
 * TASK-wW-sS); --quick keeps width 8 and seed 1. X is the task's whole
 * domain when it is finite, else 1,000 draws; T its labels or targets;
 * the ground-truth program (PROGRAMS/tasks/TASK.gbx, the task's readable
 * formula) must reproduce T on X. Without --quick, and given the MNIST
 * folder, a 784-256-256-256-256-10 MLP and a small CNN are trained on the
 * 8,000 training digits (X, T: the first 1,000 test digits; no ground
 * truth program).
 *
 * Everything random is seeded from the case's name, so the same options
 * give the same bytes.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "../core/core.h"
#include "../core/rng.h"
#include "../decompile/pwl.h"
#include "../exec/ops.h"
#include "../graph/disguise.h"
#include "../lang/lang.h"
#include "../train/tasks.h"
#include "../train/train.h"
#include "zoo.h"

#define BOX_POINTS 1000
#define MAX_EXHAUSTIVE_BITS 12
#define PATH_MAX_LEN 4096

/* ---- the cases ------------------------------------------------------------------------ */

typedef struct planted_case {
	const char *name;   /* PROGRAMS/planted/NAME.gbx */
	const char *domain; /* as --domain takes it */
	int modules;        /* independent parts of the function */
	const char *conv;   /* structure.conv: a JSON array */
	const char *maps;   /* structure.maps: a JSON array */
} planted_case;

static const planted_case planted_cases[] = {
	{"max4", "box:-1,1", 1, "[]", "[]"},
	{"min4", "box:-1,1", 1, "[]", "[]"},
	{"abs", "box:-1,1", 1, "[]", "[]"},
	{"clamp", "box:-1,1", 1, "[]", "[]"},
	{"relusum", "box:-1,1", 1, "[]", "[]"},
	{"sort3", "box:-1,1", 1, "[]", "[]"},
	{"sort4", "box:-1,1", 1, "[]", "[]"},
	{"parity4", "bool", 1, "[]", "[]"},
	{"parity6", "bool", 1, "[]", "[]"},
	{"majority3", "bool", 1, "[]", "[]"},
	{"majority5", "bool", 1, "[]", "[]"},
	{"adder2", "bool", 1, "[]", "[]"},
	{"twomod", "box:-1,1", 2, "[]", "[]"},
	{"convdense", "box:0,1", 1,
	 "[{\"input\": [1, 6, 6], \"filters\": 2, \"kernel\": [3, 3], \"stride\": 1, \"padding\": 0}]", "[]"},
	{"map4", "box:-1,1", 4, "[]", "[{\"cell\": \"max(a, b)\", \"chunks\": 4, \"chunk_size\": 2}]"},
};

typedef struct variant {
	const char *suffix;
	int64_t strength;
	double noise;
} variant;

static const variant variants[] = {
	{"s0", 0, 0.0},
	{"s2", 2, 0.0},
	{"s5", 5, 0.0},
	{"noisy", 2, 1e-4},
};

typedef struct task_case {
	const char *task;   /* gb_task spec; PROGRAMS/tasks/TASK.gbx */
	const char *domain;
	int modules;
	int epochs;
	int64_t batch;
	double lr;          /* Adam */
} task_case;

/* Epochs and rates found to fit every task at both widths and seeds (the
 * finite tasks are trained on their whole domain, 16 to 32 samples, hence
 * many epochs; pair at width 8 needs the higher rate). */
static const task_case task_cases[] = {
	{"parity-4", "bool", 1, 400, 16, 1e-2},
	{"majority-5", "bool", 1, 300, 32, 1e-2},
	{"add-2", "bool", 1, 400, 16, 1e-2},
	{"max-3", "box:-1,1", 1, 60, 64, 3e-3},
	{"sort-3", "box:-1,1", 1, 60, 64, 3e-3},
	{"modadd-5", "data", 1, 400, 25, 1e-2},
	{"pair", "data", 2, 60, 64, 1e-2},
};

static const int task_widths[] = {8, 16};
static const uint64_t task_seeds[] = {1, 2};

#define TASK_SAMPLES 8192 /* training samples of the tasks with real inputs */
#define TASK_TEST 2048
#define TASK_X_SEED 20240601ULL

typedef struct mnist_case {
	const char *name;
	const char *arch;
	int epochs;
	const char *conv; /* structure.conv */
} mnist_case;

static const mnist_case mnist_cases[] = {
	{"mnist-mlp", "784-256-256-256-256-10", 20, "[]"},
	{"mnist-cnn", "conv8k5-relu-pool2-conv16k5-relu-pool2-dense10", 10,
	 "[{\"input\": [1, 28, 28], \"filters\": 8, \"kernel\": [5, 5], \"stride\": 1, \"padding\": 2}, "
	 "{\"input\": [8, 14, 14], \"filters\": 16, \"kernel\": [5, 5], \"stride\": 1, \"padding\": 2}]"},
};

#define MNIST_POINTS 1000

/* ---- small helpers ----------------------------------------------------------------------- */

/* FNV-1a: a seed from a case's name, independent of the table's order. */
static uint64_t name_seed(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static gb_status make_dir(const char *path, gb_error *err)
{
	if (mkdir(path, 0777) == 0 || errno == EEXIST) {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return GB_OK;
		return gb_fail(err, GB_STATUS_FAILURE, "%s: exists and is not a folder", path);
	}
	return gb_fail(err, GB_STATUS_FAILURE, "cannot create the folder %s: %s", path, strerror(errno));
}

static gb_status join(char *out, const char *a, const char *b, const char *c, gb_error *err)
{
	int n = c ? snprintf(out, PATH_MAX_LEN, "%s/%s/%s", a, b, c) : snprintf(out, PATH_MAX_LEN, "%s/%s", a, b);
	if (n < 0 || n >= PATH_MAX_LEN)
		return gb_fail(err, GB_STATUS_USAGE, "zoo: the path %s/%s is too long", a, b);
	return GB_OK;
}

/* A view of t's data with another shape of the same element count. */
static gb_tensor view_as(const gb_tensor *t, int ndim, const int64_t *dims)
{
	gb_tensor v = {.dtype = t->dtype, .ndim = ndim, .data = t->data};
	for (int i = 0; i < ndim; i++)
		v.dims[i] = dims[i];
	return v;
}

/* Per-example shape of a model's input or output k (without the batch axis). */
static void io_shape(const gb_model *m, bool input, int k, int *ndim, int64_t *dims, int64_t *numel)
{
	gb_value_info info;
	if (input)
		gb_model_input(m, k, &info);
	else
		gb_model_output(m, k, &info);
	*ndim = info.ndim > 0 ? info.ndim - 1 : 0;
	*numel = 1;
	for (int i = 0; i < *ndim; i++) {
		dims[i] = info.dims[i + 1];
		*numel *= dims[i];
	}
}

/* Runs m on x, a batch in m's input shape (numel per example must fit),
 * and measures max |output - t| over every element; t may be float32 or
 * int64 (labels) with the same element count as the output. */
static gb_status model_error(const gb_model *m, const gb_tensor *x, const gb_tensor *t, double *max_err,
                             const char *what, gb_error *err)
{
	gb_session *s = NULL;
	int ndim;
	int64_t dims[GB_MAX_DIMS + 1], numel;
	io_shape(m, true, 0, &ndim, dims + 1, &numel);
	dims[0] = x->dims[0];
	gb_tensor xv = view_as(x, ndim + 1, dims);
	gb_status st = gb_session_new(m, &s, err);
	if (st == GB_OK)
		st = gb_session_set_input(s, 0, &xv, err);
	if (st == GB_OK)
		st = gb_session_forward(s, err);
	if (st != GB_OK) {
		gb_error_prefix(err, what);
		goto done;
	}
	const gb_tensor *y = gb_session_output(s, 0);
	int64_t n = gb_tensor_numel(y);
	if (y->dtype != GB_DTYPE_F32 || n != gb_tensor_numel(t)) {
		st = gb_fail(err, GB_STATUS_FAILURE, "%s: the output has %lld elements for %lld true ones", what,
		             (long long)n, (long long)gb_tensor_numel(t));
		goto done;
	}
	const float *yv = y->data;
	double worst = 0;
	for (int64_t i = 0; i < n; i++) {
		double truth = t->dtype == GB_DTYPE_I64 ? (double)((const int64_t *)t->data)[i] : ((const float *)t->data)[i];
		double e = fabs((double)yv[i] - truth);
		if (!(e <= worst))
			worst = e; /* NaN propagates as the worst */
	}
	*max_err = worst;
done:
	gb_session_free(s);
	return st;
}

/* Runs the program on x (a batch whose examples have the program's input's
 * element count, viewed in its shape) and returns its first output as
 * [N, out_numel]. */
static gb_status program_run(const gb_ast *ast, const gb_model *compiled, const gb_tensor *x, gb_tensor **out,
                             gb_error *err)
{
	int ndim;
	int64_t dims[GB_MAX_DIMS + 1], numel;
	io_shape(compiled, true, 0, &ndim, dims + 1, &numel);
	dims[0] = x->dims[0];
	gb_tensor xv = view_as(x, ndim + 1, dims);
	const gb_tensor *inputs[1] = {&xv};
	gb_tensor_map *outs = NULL;
	gb_status st = gb_tensor_map_new(&outs, err);
	if (st == GB_OK)
		st = gb_ast_run(ast, NULL, inputs, 1, outs, NULL, 0, NULL, err);
	if (st == GB_OK) {
		const gb_tensor *y = gb_tensor_map_at(outs, 0);
		int64_t n = x->dims[0], per = gb_tensor_numel(y) / (n ? n : 1);
		gb_tensor yv = view_as(y, 2, (int64_t[]){n, per});
		st = gb_tensor_clone(&yv, out, err);
	}
	gb_tensor_map_free(outs);
	return st;
}

/* Points of a domain: [N, n_in] float32. Bool: every vector when n_in <=
 * MAX_EXHAUSTIVE_BITS (row i has bit j of i in column j), else BOX_POINTS
 * random ones; box:LO,HI: BOX_POINTS uniform points. */
static gb_status domain_points(const char *domain, int64_t n_in, uint64_t seed, gb_tensor **out, gb_error *err)
{
	bool boolean = strcmp(domain, "bool") == 0;
	double lo = 0, hi = 1;
	if (!boolean && sscanf(domain, "box:%lf,%lf", &lo, &hi) != 2)
		return gb_fail(err, GB_STATUS_USAGE, "zoo: no points for the domain '%s'", domain);
	bool all = boolean && n_in <= MAX_EXHAUSTIVE_BITS;
	int64_t n = all ? (int64_t)1 << n_in : BOX_POINTS;
	gb_status st = gb_tensor_new(GB_DTYPE_F32, 2, (int64_t[]){n, n_in}, out, err);
	if (st != GB_OK)
		return st;
	float *x = (*out)->data;
	gb_rng rng;
	gb_rng_seed(&rng, seed, 0x706F696E7473ULL); /* "points" */
	for (int64_t i = 0; i < n; i++)
		for (int64_t j = 0; j < n_in; j++) {
			float v;
			if (all)
				v = (float)((i >> j) & 1);
			else if (boolean)
				v = (float)(gb_rng_next(&rng) >> 63);
			else
				v = (float)(lo + (hi - lo) * gb_rng_uniform(&rng));
			x[i * n_in + j] = v;
		}
	return GB_OK;
}

/* The "primitives" object of a program: calls of each primitive and of
 * not/and/or. */
static cJSON *primitives_json(const gb_ast_counts *c)
{
	cJSON *o = cJSON_CreateObject();
	for (int id = 0; id < GB_PRIM_COUNT; id++)
		if (c->prims[id])
			cJSON_AddNumberToObject(o, gb_prim_get((gb_prim_id)id)->name, (double)c->prims[id]);
	static const char *const logic[3] = {"not", "and", "or"};
	for (int k = 0; k < 3; k++)
		if (c->logic[k])
			cJSON_AddNumberToObject(o, logic[k], (double)c->logic[k]);
	return o;
}

/* The common part of expect.json. */
static cJSON *expect_json(const char *name, const char *kind, const char *domain, const char *program,
                          const char *program_file, const gb_ast_counts *counts, int modules, const char *conv,
                          const char *maps)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "case", name);
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "domain", domain);
	if (program) {
		cJSON_AddStringToObject(o, "program", program);
		cJSON_AddStringToObject(o, "program_file", program_file);
		cJSON_AddNumberToObject(o, "program_ops", (double)counts->ops);
		cJSON_AddItemToObject(o, "primitives", primitives_json(counts));
	} else {
		cJSON_AddNullToObject(o, "program");
		cJSON_AddNullToObject(o, "program_file");
		cJSON_AddNullToObject(o, "program_ops");
		cJSON_AddItemToObject(o, "primitives", cJSON_CreateObject());
	}
	cJSON *s = cJSON_AddObjectToObject(o, "structure");
	cJSON_AddNumberToObject(s, "modules", modules);
	cJSON_AddItemToObject(s, "conv", cJSON_Parse(conv));
	cJSON_AddItemToObject(s, "maps", cJSON_Parse(maps));
	return o;
}

/* Writes X, T and expect.json (consumed) into dir/name, and the model when
 * m is given (a trained model; planted ones are written by the caller). */
static gb_status write_case(const char *dir, const char *name, const gb_model *m, const gb_tensor *x,
                            const gb_tensor *t, cJSON *expect, gb_error *err)
{
	char path[PATH_MAX_LEN];
	char *text = NULL;
	gb_status st = join(path, dir, name, NULL, err);
	if (st == GB_OK)
		st = make_dir(path, err);
	if (st == GB_OK && m && (st = join(path, dir, name, "model.onnx", err)) == GB_OK)
		st = gb_model_save(m, path, err);
	if (st == GB_OK && (st = join(path, dir, name, "X.npy", err)) == GB_OK)
		st = gb_npy_save(path, x, err);
	if (st == GB_OK && (st = join(path, dir, name, "T.npy", err)) == GB_OK)
		st = gb_npy_save(path, t, err);
	if (st == GB_OK) {
		text = cJSON_Print(expect);
		if (!text)
			st = gb_fail(err, GB_STATUS_NOMEM, "zoo: out of memory");
	}
	if (st == GB_OK && (st = join(path, dir, name, "expect.json", err)) == GB_OK) {
		size_t len = strlen(text);
		char *with_nl = realloc(text, len + 2);
		if (!with_nl) {
			st = gb_fail(err, GB_STATUS_NOMEM, "zoo: out of memory");
		} else {
			text = with_nl;
			memcpy(text + len, "\n", 2);
			st = gb_file_write_text(path, text, err);
		}
	}
	free(text);
	cJSON_Delete(expect);
	return st;
}

static gb_status load_program(const char *programs, const char *sub, const char *name, gb_ast **ast,
                              char **text, gb_ast_counts *counts, char *file, gb_error *err)
{
	char path[PATH_MAX_LEN];
	snprintf(file, 128, "%s/%s.gbx", sub, name);
	gb_status st = join(path, programs, file, NULL, err);
	if (st == GB_OK)
		st = gb_ast_parse_file(path, ast, err);
	if (st == GB_OK)
		st = gb_ast_check(*ast, err);
	if (st == GB_OK)
		st = gb_ast_print(*ast, text, NULL, err);
	if (st != GB_OK)
		return st;
	gb_ast_count(*ast, counts);
	if (gb_ast_input_count(*ast) != 1)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: a zoo program has exactly one input", path);
	return GB_OK;
}

/* ---- modules of a DAG ------------------------------------------------------------------------ */

static int64_t uf_find(int64_t *parent, int64_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

/* Connected components of the DAG's wiring (inputs, units and outputs as
 * nodes, every term of a row as an edge) that hold an output: the
 * independent parts of a network compiled from a program, whose rows read
 * only what the program reads. */
static gb_status count_modules(const gb_pwl *p, int *modules, gb_error *err)
{
	int64_t n = p->n_in + p->n_units + p->n_out;
	int64_t *parent = malloc((size_t)n * sizeof *parent);
	bool *root = calloc((size_t)n, 1);
	if (!parent || !root) {
		free(parent);
		free(root);
		return gb_fail(err, GB_STATUS_NOMEM, "zoo: out of memory");
	}
	for (int64_t i = 0; i < n; i++)
		parent[i] = i;
	for (int64_t r = 0; r < p->n_units + p->n_out; r++) {
		const gb_row *row = r < p->n_units ? &p->units[r] : &p->outs[r - p->n_units];
		int64_t self = p->n_in + r;
		for (int k = 0; k < row->n; k++) {
			if (row->w[k] == 0)
				continue;
			int64_t a = uf_find(parent, self), b = uf_find(parent, row->idx[k]);
			if (a != b)
				parent[a] = b;
		}
	}
	int count = 0;
	for (int64_t o = 0; o < p->n_out; o++) {
		int64_t r = uf_find(parent, p->n_in + p->n_units + o);
		if (!root[r]) {
			root[r] = true;
			count++;
		}
	}
	free(parent);
	free(root);
	*modules = count;
	return GB_OK;
}

/* ---- planted cases ------------------------------------------------------------------------------ */

static gb_status check_bound(const char *name, const char *what, double e, double bound, gb_error *err)
{
	if (e <= bound)
		return GB_OK;
	return gb_fail(err, GB_STATUS_FAILURE,
	               "zoo: case %s: %s differs from the ground-truth program by up to %g on X (allowed %g): the "
	               "zoo's expectations would not be true",
	               name, what, e, bound);
}

static gb_status build_planted(const char *dir, const gb_zoo_build_options *o, const planted_case *pc, int *count,
                               gb_error *err)
{
	gb_ast *ast = NULL;
	char *text = NULL;
	gb_model *compiled = NULL, *chain = NULL, *disguised = NULL, *loaded = NULL;
	gb_pwl *p = NULL;
	gb_tensor *x = NULL, *t = NULL;
	gb_ast_counts counts;
	char file[128], path[PATH_MAX_LEN], name[96];
	double e;
	if (o->progress)
		o->progress(o->ctx, pc->name, "planted: compile, chain, check");
	gb_status st = load_program(o->programs, "planted", pc->name, &ast, &text, &counts, file, err);
	if (st == GB_OK)
		st = gb_ast_compile(ast, NULL, false, &compiled, err);
	if (st == GB_OK)
		st = gb_pwl_lower(compiled, &p, err);
	if (st == GB_OK)
		st = gb_pwl_to_chain(p, &chain, err);
	if (st != GB_OK)
		goto done;
	int modules = 0;
	if ((st = count_modules(p, &modules, err)) != GB_OK)
		goto done;
	if (modules != pc->modules) {
		st = gb_fail(err, GB_STATUS_FAILURE, "zoo: %s: the table says %d modules, the compiled network has %d",
		             file, pc->modules, modules);
		goto done;
	}
	if ((st = domain_points(pc->domain, p->n_in, name_seed(pc->name), &x, err)) != GB_OK ||
	    (st = program_run(ast, compiled, x, &t, err)) != GB_OK)
		goto done;
	/* the compiled network and its chain, before any disguise */
	if ((st = model_error(compiled, x, t, &e, file, err)) != GB_OK ||
	    (st = check_bound(pc->name, "the compiled network", e, GB_ZOO_EXACT_BOUND, err)) != GB_OK ||
	    (st = model_error(chain, x, t, &e, file, err)) != GB_OK ||
	    (st = check_bound(pc->name, "the chain of dense layers", e, GB_ZOO_EXACT_BOUND, err)) != GB_OK)
		goto done;

	bool boolean = strcmp(pc->domain, "bool") == 0;
	double lo = 0, hi = 1;
	if (!boolean)
		sscanf(pc->domain, "box:%lf,%lf", &lo, &hi);
	for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
		const variant *va = &variants[v];
		snprintf(name, sizeof name, "%s-%s", pc->name, va->suffix);
		if (o->progress)
			o->progress(o->ctx, name, "planted: disguise, check");
		gb_disguise_options dopt = {
			.seed = name_seed(name), .strength = va->strength, .noise = va->noise, .box_lo = lo, .box_hi = hi};
		if ((st = gb_disguise(chain, &dopt, &disguised, NULL, err)) != GB_OK)
			goto done;
		if ((st = join(path, dir, name, NULL, err)) != GB_OK || (st = make_dir(path, err)) != GB_OK ||
		    (st = join(path, dir, name, "model.onnx", err)) != GB_OK ||
		    (st = gb_model_save(disguised, path, err)) != GB_OK || (st = gb_model_load(path, &loaded, err)) != GB_OK ||
		    (st = model_error(loaded, x, t, &e, path, err)) != GB_OK ||
		    (st = check_bound(name, "the disguised network", e,
		                      va->noise > 0 ? GB_ZOO_NOISY_BOUND : GB_ZOO_EXACT_BOUND, err)) != GB_OK)
			goto done;
		gb_model_free(disguised);
		gb_model_free(loaded);
		disguised = loaded = NULL;
		cJSON *ex = expect_json(name, "planted", pc->domain, text, file, &counts, pc->modules, pc->conv, pc->maps);
		cJSON *d = cJSON_AddObjectToObject(ex, "disguise");
		char seed[32];
		snprintf(seed, sizeof seed, "%llu", (unsigned long long)dopt.seed);
		cJSON_AddStringToObject(d, "seed", seed); /* a 64-bit seed does not fit a JSON number exactly */
		cJSON_AddNumberToObject(d, "strength", (double)va->strength);
		cJSON_AddNumberToObject(d, "noise", va->noise);
		char err_text[32];
		snprintf(err_text, sizeof err_text, "%.3g", e);
		cJSON_AddNumberToObject(d, "max_error", strtod(err_text, NULL));
		if ((st = write_case(dir, name, NULL, x, t, ex, err)) != GB_OK)
			goto done;
		(*count)++;
	}
done:
	gb_ast_free(ast);
	free(text);
	gb_model_free(compiled);
	gb_model_free(chain);
	gb_model_free(disguised);
	gb_model_free(loaded);
	gb_pwl_free(p);
	gb_tensor_free(x);
	gb_tensor_free(t);
	return st;
}

/* ---- trained cases -------------------------------------------------------------------------------- */

/* The ground-truth program against the task's labels or targets on X. */
static gb_status check_truth(const char *name, const gb_ast *ast, const gb_model *compiled, const gb_tensor *x,
                             const gb_tensor *t, gb_error *err)
{
	gb_tensor *y = NULL;
	gb_status st = program_run(ast, compiled, x, &y, err);
	if (st != GB_OK)
		return st;
	int64_t n = gb_tensor_numel(y);
	if (n != gb_tensor_numel(t)) {
		gb_tensor_free(y);
		return gb_fail(err, GB_STATUS_FAILURE, "zoo: case %s: the program gives %lld values for %lld true ones", name,
		               (long long)n, (long long)gb_tensor_numel(t));
	}
	double worst = 0;
	const float *yv = y->data;
	for (int64_t i = 0; i < n; i++) {
		double truth = t->dtype == GB_DTYPE_I64 ? (double)((const int64_t *)t->data)[i] : ((const float *)t->data)[i];
		double e = fabs((double)yv[i] - truth);
		if (!(e <= worst))
			worst = e;
	}
	gb_tensor_free(y);
	double bound = t->dtype == GB_DTYPE_I64 ? 0.0 : 1e-6;
	if (worst <= bound)
		return GB_OK;
	return gb_fail(err, GB_STATUS_FAILURE,
	               "zoo: case %s: the ground-truth program differs from the task's labels or targets by up to %g on X "
	               "(allowed %g)",
	               name, worst, bound);
}

static void add_training(cJSON *ex, const char *task, const char *arch, uint64_t seed, int epochs, double acc,
                         double loss)
{
	cJSON_AddStringToObject(ex, "task", task);
	cJSON_AddStringToObject(ex, "arch", arch);
	cJSON_AddNumberToObject(ex, "seed", (double)seed);
	cJSON_AddNumberToObject(ex, "epochs", epochs);
	char buf[32];
	snprintf(buf, sizeof buf, "%.6g", acc);
	cJSON_AddNumberToObject(ex, "test_accuracy", strtod(buf, NULL));
	snprintf(buf, sizeof buf, "%.6g", loss);
	cJSON_AddNumberToObject(ex, "test_loss", strtod(buf, NULL));
}

static gb_status build_task(const char *dir, const gb_zoo_build_options *o, const task_case *tc, int width,
                            uint64_t seed, int *count, gb_error *err)
{
	gb_ast *ast = NULL;
	char *text = NULL;
	gb_model *compiled = NULL, *m = NULL;
	gb_tensor *x = NULL, *y = NULL, *tx = NULL, *ty = NULL, *px = NULL, *pt = NULL;
	gb_ast_counts counts;
	gb_task_info info;
	char file[128], name[96], arch[96];
	snprintf(name, sizeof name, "%s-w%d-s%llu", tc->task, width, (unsigned long long)seed);
	if (o->progress)
		o->progress(o->ctx, name, "training");
	gb_status st = gb_task_describe(tc->task, &info, err);
	if (st == GB_OK)
		st = load_program(o->programs, "tasks", tc->task, &ast, &text, &counts, file, err);
	if (st == GB_OK)
		st = gb_ast_compile(ast, NULL, true, &compiled, err);
	if (st != GB_OK)
		goto done;
	int64_t n_in = 1, n_out = info.n_classes ? info.n_classes : info.y_dims[0];
	for (int i = 0; i < info.x_ndim; i++)
		n_in *= info.x_dims[i];
	snprintf(arch, sizeof arch, "%lld-%d-%d-%lld", (long long)n_in, width, width, (long long)n_out);

	/* the data: a finite domain whole (and as the test set), else draws */
	bool finite = info.n_exhaustive > 0;
	int64_t n_train = finite ? info.n_exhaustive : TASK_SAMPLES;
	if ((st = gb_task_generate(tc->task, n_train, seed, &x, &y, err)) != GB_OK)
		goto done;
	if (finite)
		st = gb_task_generate(tc->task, n_train, seed, &tx, &ty, err);
	else
		st = gb_task_generate(tc->task, TASK_TEST, seed ^ 0x7E57DA7A5EEDULL, &tx, &ty, err);
	if (st == GB_OK)
		st = gb_task_generate(tc->task, finite ? info.n_exhaustive : BOX_POINTS, TASK_X_SEED, &px, &pt, err);
	if (st == GB_OK)
		st = check_truth(name, ast, compiled, px, pt, err);
	if (st != GB_OK)
		goto done;

	gb_train_config c;
	gb_train_config_default(&c);
	c.epochs = tc->epochs;
	c.batch = tc->batch;
	c.lr = tc->lr;
	c.seed = seed;
	c.loss = y->dtype == GB_DTYPE_F32 ? GB_LOSS_MSE : GB_LOSS_CE;
	gb_train_data train = {x, y, tc->task}, test = {tx, ty, tc->task};
	double loss = 0, acc = 0;
	if ((st = gb_train_spec(arch, &train, &test, &c, NULL, NULL, NULL, &m, err)) != GB_OK ||
	    (st = gb_train_evaluate(m, &test, c.loss, &loss, &acc, err)) != GB_OK)
		goto done;
	cJSON *ex = expect_json(name, "trained", tc->domain, text, file, &counts, tc->modules, "[]", "[]");
	add_training(ex, tc->task, arch, seed, tc->epochs, acc, loss);
	if ((st = write_case(dir, name, m, px, pt, ex, err)) != GB_OK)
		goto done;
	(*count)++;
done:
	gb_ast_free(ast);
	free(text);
	gb_model_free(compiled);
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(y);
	gb_tensor_free(tx);
	gb_tensor_free(ty);
	gb_tensor_free(px);
	gb_tensor_free(pt);
	return st;
}

/* x and y of one MNIST .npz, borrowed from *map (the caller frees it). */
static gb_status load_mnist(const char *folder, const char *file, gb_tensor_map **map, const gb_tensor **x,
                            const gb_tensor **y, gb_error *err)
{
	char path[PATH_MAX_LEN];
	gb_status st = join(path, folder, file, NULL, err);
	if (st == GB_OK)
		st = gb_npz_load(path, map, err);
	if (st != GB_OK)
		return st;
	*x = gb_tensor_map_get(*map, "x");
	*y = gb_tensor_map_get(*map, "y");
	if (!*x || !*y || (*x)->ndim < 1 || (*y)->ndim != 1 || (*x)->dims[0] != (*y)->dims[0] ||
	    (*y)->dtype != GB_DTYPE_I64 || (*x)->dtype != GB_DTYPE_F32 || (*x)->dims[0] < MNIST_POINTS)
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "%s: expected x float32 [N, 1, 28, 28] and y int64 [N] with N >= %d (glassbox data mnist)",
		               path, MNIST_POINTS);
	return GB_OK;
}

static gb_status build_mnist(const char *dir, const gb_zoo_build_options *o, int *count, gb_error *err)
{
	gb_tensor_map *train_map = NULL, *test_map = NULL;
	const gb_tensor *x, *y, *tx, *ty;
	gb_tensor *px = NULL, *pt = NULL;
	gb_model *m = NULL;
	gb_status st = load_mnist(o->mnist, "train.npz", &train_map, &x, &y, err);
	if (st == GB_OK)
		st = load_mnist(o->mnist, "test.npz", &test_map, &tx, &ty, err);
	if (st != GB_OK)
		goto done;
	/* X, T: the first MNIST_POINTS test digits */
	int64_t dims[GB_MAX_DIMS];
	memcpy(dims, tx->dims, sizeof dims);
	dims[0] = MNIST_POINTS;
	gb_tensor xv = view_as(tx, tx->ndim, dims), tv = view_as(ty, 1, dims);
	if ((st = gb_tensor_clone(&xv, &px, err)) != GB_OK || (st = gb_tensor_clone(&tv, &pt, err)) != GB_OK)
		goto done;
	for (size_t k = 0; k < sizeof mnist_cases / sizeof mnist_cases[0]; k++) {
		const mnist_case *mc = &mnist_cases[k];
		if (o->progress)
			o->progress(o->ctx, mc->name, "training on MNIST");
		gb_train_config c;
		gb_train_config_default(&c);
		c.epochs = mc->epochs;
		c.batch = 128;
		c.lr = 1e-3;
		c.seed = 1;
		c.loss = GB_LOSS_CE;
		gb_train_data train = {x, y, "MNIST train.npz"}, test = {tx, ty, "MNIST test.npz"};
		double loss = 0, acc = 0;
		if ((st = gb_train_spec(mc->arch, &train, &test, &c, NULL, NULL, NULL, &m, err)) != GB_OK ||
		    (st = gb_train_evaluate(m, &test, c.loss, &loss, &acc, err)) != GB_OK)
			goto done;
		cJSON *ex = expect_json(mc->name, "trained", "data", NULL, NULL, NULL, 1, mc->conv, "[]");
		add_training(ex, "mnist", mc->arch, c.seed, c.epochs, acc, loss);
		if ((st = write_case(dir, mc->name, m, px, pt, ex, err)) != GB_OK)
			goto done;
		gb_model_free(m);
		m = NULL;
		(*count)++;
	}
done:
	gb_tensor_map_free(train_map);
	gb_tensor_map_free(test_map);
	gb_tensor_free(px);
	gb_tensor_free(pt);
	gb_model_free(m);
	return st;
}

/* ---- the build ------------------------------------------------------------------------------------ */

gb_status gb_zoo_build(const char *dir, const gb_zoo_build_options *o, int *n_cases, gb_error *err)
{
	int count = 0;
	if (n_cases)
		*n_cases = 0;
	if (!o->programs)
		return gb_fail(err, GB_STATUS_USAGE, "zoo: no folder of ground-truth programs given");
	gb_status st = make_dir(dir, err);
	for (size_t k = 0; st == GB_OK && k < sizeof planted_cases / sizeof planted_cases[0]; k++)
		st = build_planted(dir, o, &planted_cases[k], &count, err);
	for (size_t k = 0; st == GB_OK && k < sizeof task_cases / sizeof task_cases[0]; k++)
		for (size_t w = 0; st == GB_OK && w < (o->quick ? 1 : sizeof task_widths / sizeof task_widths[0]); w++)
			for (size_t s = 0; st == GB_OK && s < (o->quick ? 1 : sizeof task_seeds / sizeof task_seeds[0]); s++)
				st = build_task(dir, o, &task_cases[k], task_widths[w], task_seeds[s], &count, err);
	if (st == GB_OK && !o->quick && o->mnist)
		st = build_mnist(dir, o, &count, err);
	if (n_cases)
		*n_cases = count;
	return st;
}
