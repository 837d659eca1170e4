/*
 * score.c — runs the decompiler over a zoo and measures what it recovered
 * (zoo.h, gb_zoo_score_case), and writes the table.
 *
 * Per case: the decompiler's own verdict (faithful, max error), then an
 * independent re-check — the program it wrote, parsed again and run by the
 * interpreter on X, against the network run by the engine — so that a
 * program reported faithful but not is caught. What counts as recovered:
 *
 *   primitives  every primitive the ground-truth program calls, other than
 *               the shape ones (flatten, reshape, concat, transpose), is
 *               called in the decompiled one — by name, or by one of the
 *               identities the language defines (docs/language.md §7.3,
 *               §10): `and` is `min` and `or` is `max` on f32; `xor(a, b)`
 *               is `abs(a - b)`; `majority` is a median network of `min`
 *               and `max` (both needed); `clamp(x, lo, hi)` is
 *               `lo + (hi - lo) * step(x, lo, width=hi - lo)` and back; a
 *               `sort` stands for the `min` and `max` of a sorting network.
 *               The JSON rows count the matches by name alone too.
 *   modules     as many modules (connected parts) as the ground truth has
 *   conv        a conv2d call, when the ground truth has a convolution
 *   map         a loop, a comprehension or a def called more than once,
 *               when the ground truth maps a cell over chunks
 *   size        program_ops at most twice the ground truth's
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../core/core.h"
#include "../core/strbuf.h"
#include "../decompile/decompile.h"
#include "zoo.h"

#define PATH_MAX_LEN 4096
#define EXPECT_MAX_BYTES ((size_t)8 << 20)

/* ---- listing ---------------------------------------------------------------------------- */

typedef struct listed {
	char *name;
	int trained;
} listed;

static int listed_cmp(const void *a, const void *b)
{
	const listed *x = a, *y = b;
	if (x->trained != y->trained)
		return x->trained - y->trained;
	return strcmp(x->name, y->name);
}

/* Reads and parses dir/name/expect.json; NULL with err set on failure. */
static cJSON *read_expect(const char *dir, const char *name, gb_error *err)
{
	char path[PATH_MAX_LEN];
	if (snprintf(path, sizeof path, "%s/%s/expect.json", dir, name) >= (int)sizeof path) {
		gb_fail(err, GB_STATUS_USAGE, "zoo: the path %s/%s is too long", dir, name);
		return NULL;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	if (gb_file_read(path, EXPECT_MAX_BYTES, &buf, &len, err) != GB_OK)
		return NULL;
	cJSON *j = cJSON_ParseWithLength((const char *)buf, len);
	free(buf);
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		gb_fail(err, GB_STATUS_BAD_FILE, "%s: not a JSON object", path);
		return NULL;
	}
	return j;
}

gb_status gb_zoo_list(const char *dir, char ***names, int *n, gb_error *err)
{
	*names = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: cannot read the folder: %s", dir, strerror(errno));
	listed *items = NULL;
	int count = 0, cap = 0;
	gb_status st = GB_OK;
	struct dirent *e;
	while (st == GB_OK && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[PATH_MAX_LEN];
		if (snprintf(path, sizeof path, "%s/%s/expect.json", dir, e->d_name) >= (int)sizeof path)
			continue;
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		fclose(f);
		gb_error e2 = {0};
		cJSON *j = read_expect(dir, e->d_name, &e2);
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
		int trained = cJSON_IsString(kind) && strcmp(kind->valuestring, "trained") == 0;
		cJSON_Delete(j);
		if (count == cap) {
			cap = cap ? 2 * cap : 64;
			listed *grown = realloc(items, (size_t)cap * sizeof *items);
			if (!grown) {
				st = gb_fail(err, GB_STATUS_NOMEM, "zoo: out of memory");
				break;
			}
			items = grown;
		}
		if (!(items[count].name = gb_strdup(e->d_name))) {
			st = gb_fail(err, GB_STATUS_NOMEM, "zoo: out of memory");
			break;
		}
		items[count++].trained = trained;
	}
	closedir(d);
	if (st == GB_OK && count > 0) {
		qsort(items, (size_t)count, sizeof *items, listed_cmp);
		*names = malloc((size_t)count * sizeof **names);
		if (!*names)
			st = gb_fail(err, GB_STATUS_NOMEM, "zoo: out of memory");
	}
	for (int i = 0; i < count; i++) {
		if (st == GB_OK)
			(*names)[i] = items[i].name;
		else
			free(items[i].name);
	}
	free(items);
	if (st == GB_OK)
		*n = count;
	return st;
}

void gb_zoo_names_free(char **names, int n)
{
	if (!names)
		return;
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- recovery measures --------------------------------------------------------------------- */

/* Calls of primitive (or not/and/or) name in c. */
static int64_t calls_of(const gb_ast_counts *c, const char *name)
{
	static const char *const logic[3] = {"not", "and", "or"};
	for (int k = 0; k < 3; k++)
		if (strcmp(name, logic[k]) == 0)
			return c->logic[k];
	const gb_prim *p = gb_prim_find(name);
	return p ? c->prims[p->id] : 0;
}

/* Primitives that only move values around: not expected to be recovered. */
static bool is_shape_primitive(const char *name)
{
	return strcmp(name, "flatten") == 0 || strcmp(name, "reshape") == 0 || strcmp(name, "concat") == 0 ||
	       strcmp(name, "transpose") == 0;
}

/* The expected primitive name is called in c, by name or (identities)
 * up to the identities of the top comment. */
static bool primitive_found(const gb_ast_counts *c, const char *name, bool identities)
{
	if (calls_of(c, name) > 0)
		return true;
	if (!identities)
		return false;
	bool max = calls_of(c, "max") > 0 || calls_of(c, "or") > 0 || calls_of(c, "sort") > 0;
	bool min = calls_of(c, "min") > 0 || calls_of(c, "and") > 0 || calls_of(c, "sort") > 0;
	if (strcmp(name, "max") == 0 || strcmp(name, "or") == 0)
		return max;
	if (strcmp(name, "min") == 0 || strcmp(name, "and") == 0)
		return min;
	if (strcmp(name, "majority") == 0)
		return min && max;
	if (strcmp(name, "xor") == 0)
		return calls_of(c, "abs") > 0;
	if (strcmp(name, "clamp") == 0)
		return calls_of(c, "step") > 0;
	if (strcmp(name, "step") == 0)
		return calls_of(c, "clamp") > 0;
	return false;
}

static bool expr_has_comprehension(const gb_ast_expr *e)
{
	if (!e)
		return false;
	switch (e->kind) {
	case GB_AST_COMPREHENSION:
		return true;
	case GB_AST_UNARY:
		return expr_has_comprehension(e->u.unary.operand);
	case GB_AST_BINARY:
		return expr_has_comprehension(e->u.binary.lhs) || expr_has_comprehension(e->u.binary.rhs);
	case GB_AST_CALL:
		for (int i = 0; i < e->u.call.n_args; i++)
			if (expr_has_comprehension(e->u.call.args[i]))
				return true;
		for (int i = 0; i < e->u.call.n_kwargs; i++)
			if (expr_has_comprehension(e->u.call.kwargs[i].value))
				return true;
		return false;
	case GB_AST_INDEX:
		return expr_has_comprehension(e->u.index.base);
	case GB_AST_ARRAY:
		for (int i = 0; i < e->u.array.n_items; i++)
			if (expr_has_comprehension(e->u.array.items[i]))
				return true;
		return false;
	default:
		return false;
	}
}

/* A loop or a comprehension anywhere in the block. */
static bool block_maps(const gb_ast_block *b)
{
	for (int i = 0; i < b->n_stmts; i++) {
		const gb_ast_stmt *s = b->stmts[i];
		switch (s->kind) {
		case GB_AST_FOR:
			return true;
		case GB_AST_DEF:
			if (block_maps(&s->u.def.body))
				return true;
			break;
		case GB_AST_OUTPUT:
		case GB_AST_PARAM:
			if (expr_has_comprehension(s->u.decl.value))
				return true;
			break;
		case GB_AST_ASSIGN:
			if (expr_has_comprehension(s->u.assign.value))
				return true;
			break;
		case GB_AST_RETURN:
			for (int k = 0; k < s->u.ret.n_values; k++)
				if (expr_has_comprehension(s->u.ret.values[k]))
					return true;
			break;
		default:
			break;
		}
	}
	return false;
}

/* ---- one case -------------------------------------------------------------------------------- */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The first output of m on x (x viewed in m's input shape), cloned. */
static gb_status network_run(const gb_model *m, const gb_tensor *x, gb_tensor **y, gb_error *err)
{
	gb_value_info info;
	gb_model_input(m, 0, &info);
	gb_tensor xv = {.dtype = x->dtype, .ndim = info.ndim, .data = x->data};
	int64_t per = 1;
	for (int i = 1; i < info.ndim; i++) {
		xv.dims[i] = info.dims[i];
		per *= info.dims[i];
	}
	xv.dims[0] = x->dims[0];
	if (info.ndim < 1 || per * x->dims[0] != gb_tensor_numel(x))
		return gb_fail(err, GB_STATUS_BAD_FILE, "X.npy does not fit the network's input");
	gb_session *s = NULL;
	gb_status st = gb_session_new(m, &s, err);
	if (st == GB_OK)
		st = gb_session_set_input(s, 0, &xv, err);
	if (st == GB_OK)
		st = gb_session_forward(s, err);
	if (st == GB_OK)
		st = gb_tensor_clone(gb_session_output(s, 0), y, err);
	gb_session_free(s);
	return st;
}

/* a against b, n values in rows rows: the largest |difference| (NaN counts
 * as infinite) and the fraction of rows whose argmax agree. */
static void compare(const float *a, const float *b, int64_t rows, int64_t n, double *max_err, double *agreement)
{
	double worst = 0;
	for (int64_t i = 0; i < n; i++) {
		double e = fabs((double)a[i] - (double)b[i]);
		if (!(e <= worst))
			worst = e;
	}
	*max_err = worst;
	int64_t k = rows ? n / rows : 0, agree = 0;
	for (int64_t r = 0; r < rows; r++) {
		int64_t ia = 0, ib = 0;
		for (int64_t j = 1; j < k; j++) {
			ia = a[r * k + j] > a[r * k + ia] ? j : ia;
			ib = b[r * k + j] > b[r * k + ib] ? j : ib;
		}
		agree += ia == ib;
	}
	*agreement = rows ? (double)agree / (double)rows : 1.0;
}

/* The program text run on x against the network's outputs y: max |difference|. */
static gb_status recheck(const char *program, gb_tensor_map *weights, const gb_tensor *x, const gb_tensor *y,
                         double *max_err, double *agreement, bool *maps, gb_error *err)
{
	gb_ast *ast = NULL;
	gb_tensor_map *outs = NULL;
	gb_status st = gb_ast_parse(program, strlen(program), "(decompiled program)", &ast, err);
	if (st != GB_OK)
		return st;
	*maps = block_maps(&ast->body);
	const gb_ast_stmt *in = gb_ast_input(ast, 0);
	if (gb_ast_input_count(ast) != 1 || !in || !in->u.decl.type) {
		st = gb_fail(err, GB_STATUS_FAILURE, "the decompiled program does not have one input");
		goto done;
	}
	const gb_ast_type *ty = in->u.decl.type;
	gb_tensor xv = {.dtype = x->dtype, .ndim = ty->ndim + 1, .data = x->data};
	xv.dims[0] = x->dims[0];
	int64_t per = 1;
	for (int i = 0; i < ty->ndim; i++) {
		xv.dims[i + 1] = ty->dims[i].size;
		per *= ty->dims[i].size;
	}
	if (per * x->dims[0] != gb_tensor_numel(x)) {
		st = gb_fail(err, GB_STATUS_FAILURE, "the decompiled program's input does not fit X");
		goto done;
	}
	const gb_tensor *inputs[1] = {&xv};
	if ((st = gb_tensor_map_new(&outs, err)) != GB_OK ||
	    (st = gb_ast_run_weights(ast, weights, inputs, 1, outs, err)) != GB_OK)
		goto done;
	const gb_tensor *p = gb_tensor_map_at(outs, 0);
	if (!p || p->dtype != GB_DTYPE_F32 || gb_tensor_numel(p) != gb_tensor_numel(y) || y->dtype != GB_DTYPE_F32) {
		st = gb_fail(err, GB_STATUS_FAILURE, "the decompiled program's output does not match the network's");
		goto done;
	}
	compare(p->data, y->data, x->dims[0], gb_tensor_numel(y), max_err, agreement);
done:
	gb_tensor_map_free(outs);
	gb_ast_free(ast);
	return st;
}

/* The program compiled back into a network (ReLU expansions, its side-car
 * tensors given in memory) and run on x against the network's y. */
static gb_status roundtrip(const char *program, gb_tensor_map *weights, const gb_tensor *x, const gb_tensor *y,
                           double *max_err, double *agreement, gb_error *err)
{
	gb_ast *ast = NULL;
	gb_model *net = NULL;
	gb_tensor *z = NULL;
	gb_status st = gb_ast_parse(program, strlen(program), "(decompiled program)", &ast, err);
	if (st == GB_OK)
		st = gb_ast_compile_weights(ast, gb_tensor_map_count(weights) > 0 ? weights : NULL, false, &net, err);
	if (st == GB_OK)
		st = network_run(net, x, &z, err);
	if (st == GB_OK && (z->dtype != GB_DTYPE_F32 || gb_tensor_numel(z) != gb_tensor_numel(y)))
		st = gb_fail(err, GB_STATUS_FAILURE, "round trip: the compiled program's output does not fit the network's");
	if (st == GB_OK)
		compare(z->data, y->data, x->dims[0], gb_tensor_numel(y), max_err, agreement);
	gb_tensor_free(z);
	gb_model_free(net);
	gb_ast_free(ast);
	return st;
}

/* On a box domain a network is farthest from its task where the data are
 * sparse (near the corners): the largest |network - truth| on the very
 * points the decompiler judges and checks with (gb_dc_points: uniform
 * points, corners, points at the first layer's kinks; its two draws),
 * the truth being the ground-truth program run by the interpreter. */
static gb_status box_distance(gb_model *m, const char *program, const gb_domain *d, double *worst, gb_error *err)
{
	gb_pwl *p = NULL;
	gb_status st = gb_pwl_lower(m, &p, err);
	*worst = 0;
	gb_decompile_options opt = {.domain = *d, .samples = 10000};
	opt.domain.data = NULL;
	for (uint64_t seed = 0; seed < 2 && st == GB_OK; seed++) {
		float *pts = NULL;
		int64_t n = 0;
		const char *method;
		gb_tensor *x = NULL, *y = NULL;
		st = gb_dc_points(p, &opt, seed, &pts, &n, &method, err);
		if (st == GB_OK)
			st = gb_tensor_new(GB_DTYPE_F32, 2, (int64_t[]){n, p->n_in}, &x, err);
		if (st == GB_OK)
			memcpy(x->data, pts, (size_t)(n * p->n_in) * sizeof *pts);
		double far = 0, agreement;
		bool maps;
		if (st == GB_OK)
			st = network_run(m, x, &y, err);
		if (st == GB_OK)
			st = recheck(program, NULL, x, y, &far, &agreement, &maps, err);
		*worst = fmax(*worst, far);
		gb_tensor_free(y);
		gb_tensor_free(x);
		free(pts);
	}
	gb_pwl_free(p);
	return st;
}

static const char *json_string(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

gb_status gb_zoo_score_case(const char *dir, const char *name, gb_zoo_row *row, gb_error *err)
{
	memset(row, 0, sizeof *row);
	snprintf(row->name, sizeof row->name, "%s", name);
	row->truth_ops = -1;
	row->modules_expected = -1;
	char path[PATH_MAX_LEN], xpath[PATH_MAX_LEN];
	gb_model *m = NULL;
	gb_tensor *x = NULL, *y = NULL;
	gb_decompile_result r = {0};
	gb_status st = GB_OK;
	cJSON *ex = read_expect(dir, name, err);
	if (!ex)
		return err->status ? err->status : GB_STATUS_BAD_FILE;

	const char *kind = json_string(ex, "kind"), *domain = json_string(ex, "domain");
	if (!kind || !domain) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s/%s/expect.json: no \"kind\" or \"domain\"", dir, name);
		goto done;
	}
	snprintf(row->kind, sizeof row->kind, "%s", kind);
	snprintf(row->domain, sizeof row->domain, "%s", domain);
	const cJSON *ops = cJSON_GetObjectItemCaseSensitive(ex, "program_ops");
	if (cJSON_IsNumber(ops))
		row->truth_ops = (int64_t)ops->valuedouble;
	const cJSON *structure = cJSON_GetObjectItemCaseSensitive(ex, "structure");
	const cJSON *mods = cJSON_GetObjectItemCaseSensitive(structure, "modules");
	if (cJSON_IsNumber(mods))
		row->modules_expected = mods->valueint;
	row->conv_expected = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(structure, "conv")) > 0;
	row->map_expected = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(structure, "maps")) > 0;
	const cJSON *noise = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ex, "disguise"), "noise");
	row->tolerance = cJSON_IsNumber(noise) && noise->valuedouble > 0 ? 1e-3 : 1e-4;
	/* a noisy network is max_error away from its program (on X; over a
	 * box it is measured again below): the tolerance lets the program be
	 * that far (2.5 times: compression judges at half) */
	const cJSON *merr = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ex, "disguise"), "max_error");
	if (cJSON_IsNumber(noise) && noise->valuedouble > 0 && cJSON_IsNumber(merr))
		row->tolerance = fmax(row->tolerance, 2.5 * merr->valuedouble);

	snprintf(path, sizeof path, "%s/%s/model.onnx", dir, name);
	snprintf(xpath, sizeof xpath, "%s/%s/X.npy", dir, name);
	if ((st = gb_model_load(path, &m, err)) != GB_OK || (st = gb_npy_load(xpath, &x, err)) != GB_OK)
		goto done;
	if (x->dtype != GB_DTYPE_F32 || x->ndim < 1 || x->dims[0] < 1) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: expected float32 [N, ...] points", xpath);
		goto done;
	}
	const char *truth = json_string(ex, "program");
	gb_domain box;
	gb_error e4 = {0};
	double far = 0;
	if (cJSON_IsNumber(noise) && noise->valuedouble > 0 && truth && gb_domain_parse(domain, &box, &e4) == GB_OK &&
	    box.kind == GB_DOMAIN_BOX && box_distance(m, truth, &box, &far, &e4) == GB_OK)
		row->tolerance = fmax(row->tolerance, 2.5 * far);
	if (strcmp(kind, "trained") == 0) {
		/* a trained network approximates its task: the program may be as far
		 * from the network as the network is from the task's true outputs,
		 * so that the task's formula can be what comes back: 8 times the
		 * distance on X (X samples the domain, whose sup can be ~3 times
		 * larger, and matching judges at half the tolerance), and on a box
		 * at least 2.5 times the distance measured over the box itself */
		char tpath[PATH_MAX_LEN];
		snprintf(tpath, sizeof tpath, "%s/%s/T.npy", dir, name);
		gb_tensor *t = NULL, *yn = NULL;
		gb_error e3 = {0};
		if (gb_npy_load(tpath, &t, &e3) == GB_OK && network_run(m, x, &yn, &e3) == GB_OK && t->dtype == GB_DTYPE_F32 &&
		    gb_tensor_numel(t) == gb_tensor_numel(yn) && yn->dtype == GB_DTYPE_F32) {
			double worst = 0;
			for (int64_t i = 0; i < gb_tensor_numel(t); i++)
				worst = fmax(worst, fabs((double)((const float *)t->data)[i] - ((const float *)yn->data)[i]));
			if (worst < 0.2 && truth && gb_domain_parse(domain, &box, &e3) == GB_OK && box.kind == GB_DOMAIN_BOX &&
			    box_distance(m, truth, &box, &far, &e3) == GB_OK && far < 0.2)
				row->tolerance = fmax(row->tolerance, 2.5 * far); /* the box's own distance (judged at half) */
			if (worst < 0.2)
				row->tolerance = fmax(row->tolerance, 8.0 * worst);
		} else if (row->truth_ops < 0 && yn && yn->dtype == GB_DTYPE_F32) {
			/* no ground truth (MNIST): faithful to float32 rounding, 1e-4 of the largest output */
			double big = 0;
			for (int64_t i = 0; i < gb_tensor_numel(yn); i++)
				big = fmax(big, fabs(((const float *)yn->data)[i]));
			row->tolerance = fmax(row->tolerance, 1e-4 * big);
		} else if (t && (t->dtype == GB_DTYPE_I64 || t->dtype == GB_DTYPE_I32 || t->dtype == GB_DTYPE_U8) &&
		           (strcmp(domain, "bool") == 0 || strcmp(domain, "data") == 0)) {
			/* a classifier on every input of a finite domain (the Boolean cube, or
			 * X when X is the domain): its class, everywhere */
			row->agreement = 1.0;
		}
		gb_tensor_free(t);
		gb_tensor_free(yn);
	}
	gb_decompile_options opt = {.tolerance = row->tolerance, .samples = 10000, .label = path,
	                            .agreement = row->agreement,
	                            .no_compress = row->truth_ops < 0}; /* MNIST: the exact program; its compression is measured in docs/decompiler.md */
	if ((st = gb_domain_parse(domain, &opt.domain, err)) != GB_OK) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s/%s/expect.json: %s", dir, name, err->msg);
		goto done;
	}
	opt.domain.data = x;

	double t0 = now_seconds();
	gb_error derr = {0};
	gb_status ds = gb_decompile(m, &opt, &r, &derr);
	row->seconds = now_seconds() - t0;
	if (ds == GB_STATUS_NOMEM) {
		st = gb_fail(err, ds, "%s", derr.msg);
		goto done;
	}
	if (ds != GB_OK) {
		snprintf(row->error, sizeof row->error, "%s", derr.msg);
		goto done;
	}
	row->ran = true;
	row->form = r.form;
	row->faithful = r.faithful;
	row->max_error = r.fidelity.max_abs_error;
	snprintf(row->method, sizeof row->method, "%s", r.fidelity.method ? r.fidelity.method : "");
	row->ops = r.program_ops;
	row->modules = r.n_modules;
	row->conv_found = r.counts.prims[GB_PRIM_CONV2D] > 0;
	row->map_found = r.counts.defs > 0 && r.counts.def_calls > 1;

	/* the re-check, independent of the decompiler's own */
	bool loops = false;
	gb_error e2 = {0};
	gb_status rs = network_run(m, x, &y, &e2);
	if (rs == GB_OK)
		rs = recheck(r.program, r.weights, x, y, &row->recheck_error, &row->recheck_agreement, &loops, &e2);
	if (rs == GB_STATUS_NOMEM) {
		st = gb_fail(err, rs, "%s", e2.msg);
		goto done;
	}
	if (rs != GB_OK) {
		row->recheck_error = INFINITY;
		snprintf(row->error, sizeof row->error, "re-check: %s", e2.msg);
	}
	row->map_found = row->map_found || loops;
	if (rs == GB_OK) {
		rs = roundtrip(r.program, r.weights, x, y, &row->roundtrip_error, &row->roundtrip_agreement, &e2);
		if (rs == GB_STATUS_NOMEM) {
			st = gb_fail(err, rs, "%s", e2.msg);
			goto done;
		}
		if (rs != GB_OK) {
			row->roundtrip_error = INFINITY;
			snprintf(row->error, sizeof row->error, "round trip: %s", e2.msg);
		}
		row->roundtrip_ok = row->agreement > 0 ? row->roundtrip_agreement >= row->agreement
		                                       : row->roundtrip_error <= row->tolerance;
	}
	row->false_faithful = row->faithful && (row->agreement > 0 ? !(row->recheck_agreement >= row->agreement)
	                                                           : !(row->recheck_error <= row->tolerance));

	/* primitives */
	gb_strbuf missing = {0};
	const cJSON *prim;
	cJSON_ArrayForEach(prim, cJSON_GetObjectItemCaseSensitive(ex, "primitives"))
	{
		if (is_shape_primitive(prim->string))
			continue;
		row->prims_expected++;
		row->prims_by_name += primitive_found(&r.counts, prim->string, false);
		if (primitive_found(&r.counts, prim->string, true))
			row->prims_found++;
		else
			gb_strbuf_printf(&missing, "%s%s", missing.len ? "," : "", prim->string);
	}
	snprintf(row->prims_missing, sizeof row->prims_missing, "%s", missing.data ? missing.data : "");
	free(missing.data);

	row->recovered = row->truth_ops >= 0 && row->faithful && !row->false_faithful &&
	                 row->prims_found == row->prims_expected &&
	                 (row->modules_expected < 0 || row->modules == row->modules_expected) &&
	                 (!row->conv_expected || row->conv_found) && (!row->map_expected || row->map_found) &&
	                 row->ops <= 2 * row->truth_ops;
done:
	cJSON_Delete(ex);
	gb_decompile_result_free(&r);
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(y);
	return st;
}

/* ---- the table --------------------------------------------------------------------------------- */

#define N_COLUMNS 11

static const char *const column_names[N_COLUMNS] = {"case",   "kind",    "faithful", "max error", "ops (truth)",
                                                     "ratio", "primitives", "modules", "conv/map", "recovered",
                                                     "time"};

static void cell_text(const gb_zoo_row *r, int c, char *buf, size_t size)
{
	switch (c) {
	case 0:
		snprintf(buf, size, "%s", r->name);
		break;
	case 1:
		snprintf(buf, size, "%s", r->kind);
		break;
	case 2:
		snprintf(buf, size, "%s", !r->ran ? "error" : r->false_faithful ? "FALSE" : r->faithful ? "yes" : "no");
		break;
	case 3:
		if (r->ran)
			snprintf(buf, size, "%.2g", r->max_error);
		else
			snprintf(buf, size, "-");
		break;
	case 4:
		if (!r->ran)
			snprintf(buf, size, "-");
		else if (r->truth_ops >= 0)
			snprintf(buf, size, "%lld (%lld)", (long long)r->ops, (long long)r->truth_ops);
		else
			snprintf(buf, size, "%lld (-)", (long long)r->ops);
		break;
	case 5:
		if (r->ran && r->truth_ops > 0)
			snprintf(buf, size, "%.2f", (double)r->ops / (double)r->truth_ops);
		else
			snprintf(buf, size, "-");
		break;
	case 6:
		if (!r->ran || r->prims_expected == 0)
			snprintf(buf, size, "-");
		else if (r->prims_found == r->prims_expected)
			snprintf(buf, size, "%d/%d", r->prims_found, r->prims_expected);
		else
			snprintf(buf, size, "%d/%d (no %s)", r->prims_found, r->prims_expected, r->prims_missing);
		break;
	case 7:
		if (!r->ran || r->modules_expected < 0)
			snprintf(buf, size, "-");
		else
			snprintf(buf, size, "%s %d/%d", r->modules == r->modules_expected ? "yes" : "no", r->modules,
			         r->modules_expected);
		break;
	case 8:
		if (!r->conv_expected && !r->map_expected)
			snprintf(buf, size, "-");
		else if (!r->ran)
			snprintf(buf, size, "no");
		else
			snprintf(buf, size, "%s%s%s", r->conv_expected ? (r->conv_found ? "conv yes" : "conv no") : "",
			         r->conv_expected && r->map_expected ? ", " : "",
			         r->map_expected ? (r->map_found ? "map yes" : "map no") : "");
		break;
	case 9:
		snprintf(buf, size, "%s", r->truth_ops < 0 ? "-" : r->recovered ? "yes" : "no");
		break;
	default:
		snprintf(buf, size, "%.2fs", r->seconds);
		break;
	}
}

gb_status gb_zoo_table(const gb_zoo_row *rows, int n, bool markdown, char **text, gb_error *err)
{
	gb_strbuf b = {0};
	char cell[GB_ZOO_TEXT + 64];
	int width[N_COLUMNS];
	for (int c = 0; c < N_COLUMNS; c++) {
		width[c] = (int)strlen(column_names[c]);
		for (int i = 0; i < n; i++) {
			cell_text(&rows[i], c, cell, sizeof cell);
			if ((int)strlen(cell) > width[c])
				width[c] = (int)strlen(cell);
		}
	}
	for (int c = 0; c < N_COLUMNS; c++) {
		if (markdown)
			gb_strbuf_printf(&b, "| %s ", column_names[c]);
		else
			gb_strbuf_printf(&b, "%-*s  ", width[c], column_names[c]);
	}
	if (markdown) {
		gb_strbuf_put(&b, "|\n");
		for (int c = 0; c < N_COLUMNS; c++)
			gb_strbuf_put(&b, "|---");
		gb_strbuf_put(&b, "|\n");
	} else {
		gb_strbuf_put(&b, "\n");
	}
	int with_truth = 0, recovered = 0, faithful = 0, errors = 0, roundtrips = 0, certified = 0, exhaustive = 0;
	for (int i = 0; i < n; i++) {
		for (int c = 0; c < N_COLUMNS; c++) {
			cell_text(&rows[i], c, cell, sizeof cell);
			if (markdown)
				gb_strbuf_printf(&b, "| %s ", cell);
			else
				gb_strbuf_printf(&b, "%-*s  ", width[c], cell);
		}
		gb_strbuf_put(&b, markdown ? "|\n" : "\n");
		with_truth += rows[i].truth_ops >= 0;
		recovered += rows[i].recovered;
		roundtrips += rows[i].ran && rows[i].roundtrip_ok;
		faithful += rows[i].ran && rows[i].faithful && !rows[i].false_faithful;
		certified += rows[i].ran && rows[i].faithful && strcmp(rows[i].method, "certified") == 0;
		exhaustive += rows[i].ran && rows[i].faithful && strcmp(rows[i].method, "exhaustive") == 0;
		errors += !rows[i].ran;
	}
	gb_strbuf_printf(&b,
	                 "\n%d cases: %d faithful (%d checked on every input, %d certified over the whole box), %d of the "
	                 "%d with a ground-truth program recovered, %d programs compiled back agree with their network",
	                 n, faithful, exhaustive, certified, recovered, with_truth, roundtrips);
	if (errors)
		gb_strbuf_printf(&b, ", %d not decompiled", errors);
	gb_strbuf_put(&b, "\n");
	for (int i = 0; i < n; i++)
		if (rows[i].error[0])
			gb_strbuf_printf(&b, "%s%s: %s\n", markdown ? "- " : "", rows[i].name, rows[i].error);
	if (b.oom) {
		free(b.data);
		return gb_fail(err, GB_STATUS_NOMEM, "zoo: out of memory");
	}
	*text = b.data;
	return GB_OK;
}

gb_status gb_zoo_rows_json(const gb_zoo_row *rows, int n, char **text, gb_error *err)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		const gb_zoo_row *r = &rows[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "case", r->name);
		cJSON_AddStringToObject(o, "kind", r->kind);
		cJSON_AddStringToObject(o, "domain", r->domain);
		cJSON_AddBoolToObject(o, "decompiled", r->ran);
		if (r->error[0])
			cJSON_AddStringToObject(o, "error", r->error);
		if (r->ran) {
			cJSON_AddStringToObject(o, "form", r->form ? r->form : "");
			cJSON_AddStringToObject(o, "method", r->method);
			cJSON_AddBoolToObject(o, "faithful", r->faithful);
			cJSON_AddNumberToObject(o, "max_error", r->max_error);
			cJSON_AddNumberToObject(o, "tolerance", r->tolerance);
			if (isfinite(r->recheck_error))
				cJSON_AddNumberToObject(o, "recheck_error", r->recheck_error);
			else
				cJSON_AddNullToObject(o, "recheck_error");
			cJSON_AddBoolToObject(o, "false_faithful", r->false_faithful);
			cJSON_AddBoolToObject(o, "roundtrip_ok", r->roundtrip_ok);
			if (isfinite(r->roundtrip_error))
				cJSON_AddNumberToObject(o, "roundtrip_error", r->roundtrip_error);
			else
				cJSON_AddNullToObject(o, "roundtrip_error");
			cJSON_AddNumberToObject(o, "program_ops", (double)r->ops);
			cJSON_AddNumberToObject(o, "primitives_expected", r->prims_expected);
			cJSON_AddNumberToObject(o, "primitives_found", r->prims_found);
			cJSON_AddNumberToObject(o, "primitives_found_by_name", r->prims_by_name);
			cJSON_AddNumberToObject(o, "modules", r->modules);
		}
		if (r->truth_ops >= 0)
			cJSON_AddNumberToObject(o, "truth_ops", (double)r->truth_ops);
		else
			cJSON_AddNullToObject(o, "truth_ops");
		if (r->modules_expected >= 0)
			cJSON_AddNumberToObject(o, "modules_expected", r->modules_expected);
		if (r->conv_expected)
			cJSON_AddBoolToObject(o, "conv_found", r->conv_found);
		if (r->map_expected)
			cJSON_AddBoolToObject(o, "map_found", r->map_found);
		cJSON_AddBoolToObject(o, "recovered", r->recovered);
		cJSON_AddNumberToObject(o, "seconds", r->seconds);
		cJSON_AddItemToArray(a, o);
	}
	char *s = cJSON_Print(a);
	cJSON_Delete(a);
	if (!s)
		return gb_fail(err, GB_STATUS_NOMEM, "zoo: out of memory");
	*text = s;
	return GB_OK;
}
