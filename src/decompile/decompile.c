/*
 * decompile.c — the decompiler's pipeline and its summary (decompile.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../core/rng.h"
#include "../core/strbuf.h"
#include "../lang/lang.h"
#include "boolfn.h"
#include "decompile.h"

#define INLINE_MAX 64          /* weights with at most this many elements are written in the program */
#define LIFT_MAX_UNITS 512     /* larger DAGs go straight to layers */
#define CANON_TOL 1e-6

/* ---- domains ------------------------------------------------------------------------ */

gb_status gb_domain_parse(const char *text, gb_domain *d, gb_error *err)
{
	memset(d, 0, sizeof *d);
	if (strcmp(text, "bool") == 0) {
		d->kind = GB_DOMAIN_BOOL;
		d->lo = 0;
		d->hi = 1;
		return GB_OK;
	}
	if (strcmp(text, "data") == 0) {
		d->kind = GB_DOMAIN_DATA;
		return GB_OK;
	}
	if (strncmp(text, "box:", 4) == 0) {
		char *end;
		errno = 0;
		d->lo = strtod(text + 4, &end);
		if (end != text + 4 && *end == ',' && !errno) {
			const char *second = end + 1;
			d->hi = strtod(second, &end);
			if (end != second && !*end && !errno && isfinite(d->lo) && isfinite(d->hi) && d->lo <= d->hi) {
				d->kind = GB_DOMAIN_BOX;
				return GB_OK;
			}
		}
	}
	return gb_fail(err, GB_STATUS_USAGE, "the domain is box:LO,HI (LO <= HI), bool or data, not '%s'", text);
}

void gb_domain_str(const gb_domain *d, char *buf, size_t size)
{
	if (d->kind == GB_DOMAIN_BOOL)
		snprintf(buf, size, "bool");
	else if (d->kind == GB_DOMAIN_DATA)
		snprintf(buf, size, "data");
	else
		snprintf(buf, size, "box:%g,%g", d->lo, d->hi);
}

/* Per-feature bounds of the domain. */
static gb_status domain_box(const gb_pwl *p, const gb_domain *d, double *lo, double *hi, gb_error *err)
{
	if (d->kind != GB_DOMAIN_DATA) {
		for (int64_t j = 0; j < p->n_in; j++) {
			lo[j] = d->lo;
			hi[j] = d->hi;
		}
		return GB_OK;
	}
	const gb_tensor *x = d->data;
	if (!x)
		return gb_fail(err, GB_STATUS_USAGE, "the domain 'data' needs data points (--data X.npy)");
	int64_t n = x->ndim > 0 ? x->dims[0] : 0;
	if (x->dtype != GB_DTYPE_F32 || n < 1 || p->n_inputs != 1 || gb_tensor_numel(x) != n * p->n_in)
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "the data is %s with %lld elements per example; the network takes one float32 input of %lld",
		               gb_dtype_name(x->dtype), (long long)(n ? gb_tensor_numel(x) / n : 0), (long long)p->n_in);
	const float *v = x->data;
	for (int64_t j = 0; j < p->n_in; j++) {
		lo[j] = INFINITY;
		hi[j] = -INFINITY;
	}
	for (int64_t i = 0; i < n; i++)
		for (int64_t j = 0; j < p->n_in; j++) {
			double a = v[i * p->n_in + j];
			if (!isfinite(a))
				return gb_fail(err, GB_STATUS_BAD_FILE, "the data holds a NaN or infinity (example %lld, feature %lld)",
				               (long long)i, (long long)j);
			lo[j] = fmin(lo[j], a);
			hi[j] = fmax(hi[j], a);
		}
	return GB_OK;
}

/* ---- behaviour: whole outputs that are one primitive of the whole input --------------- */

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Whether the single output is one primitive of the whole single 1-D
 * input on 2000 points of the domain — sort(x) (ascending or descending)
 * when it has as many elements, max(x) or min(x) when it has one — each
 * element within budget (or 1e-6 of the values' scale, if larger): then
 * that is the program (the check that follows measures it on every point
 * like any other). sort_only: try sort alone. */
static gb_status match_whole(const gb_pwl *p, const gb_decompile_options *opt, const double *lo, const double *hi,
                             double budget, bool sort_only, char **body, gb_error *err)
{
	*body = NULL;
	int64_t n = p->n_in, m = p->n_out;
	if (p->n_inputs != 1 || p->n_outputs != 1 || p->inputs[0].ndim != 1 || p->outputs[0].ndim > 1 ||
	    p->outputs[0].softmax || n < 2 ||
	    n > 4096 || !(m == n || (m == 1 && !sort_only)))
		return GB_OK;
	int64_t pts = 2000;
	float *x = malloc((size_t)(pts * n) * sizeof *x), *srt = malloc((size_t)n * sizeof *srt);
	double *y = malloc((size_t)(pts * m) * sizeof *y);
	gb_status st = GB_OK;
	if (!x || !y || !srt) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	gb_rng rng;
	gb_rng_seed(&rng, opt->seed, 0x736f7274ULL);
	for (int64_t i = 0; i < pts * n; i++) {
		int64_t j = i % n;
		x[i] = opt->domain.kind == GB_DOMAIN_BOOL ? (float)(gb_rng_next(&rng) >> 63)
		                                           : (float)(lo[j] + (hi[j] - lo[j]) * gb_rng_uniform(&rng));
	}
	if ((st = gb_pwl_eval(p, pts, x, y, NULL, false, err)) != GB_OK)
		goto done;
	bool up = true, down = true; /* sort ascending / descending, or (m == 1) max / min */
	for (int64_t i = 0; i < pts && (up || down); i++) {
		memcpy(srt, x + i * n, (size_t)n * sizeof *srt);
		qsort(srt, (size_t)n, sizeof *srt, cmp_float);
		for (int64_t j = 0; j < m; j++) {
			double a = m == 1 ? srt[n - 1] : srt[j], b = m == 1 ? srt[0] : srt[n - 1 - j];
			up = up && fabs(y[i * m + j] - a) <= fmax(budget, 1e-6 * fmax(1.0, fabs(a)));
			down = down && fabs(y[i * m + j] - b) <= fmax(budget, 1e-6 * fmax(1.0, fabs(b)));
		}
	}
	if (up || down) {
		char in[64], out[64], type[64];
		gb_dc_identifier(p->inputs[0].name, "x", in, sizeof in);
		gb_dc_identifier(p->outputs[0].name, "y", out, sizeof out);
		if (strcmp(in, out) == 0)
			snprintf(out, sizeof out, m == 1 ? (up ? "largest" : "smallest") : "sorted");
		if (p->outputs[0].ndim == 0)
			snprintf(type, sizeof type, "f32");
		else
			snprintf(type, sizeof type, "f32[%lld]", (long long)m);
		gb_strbuf b = {0};
		gb_strbuf_printf(&b, "input %s: f32[%lld]\noutput %s: %s\n\n", in, (long long)n, out, type);
		if (m > 1)
			gb_strbuf_printf(&b, "%s = sort(%s%s)\n", out, in, up ? "" : ", descending=True");
		else
			gb_strbuf_printf(&b, "%s%s = %s(%s)\n", out, p->outputs[0].ndim ? "[0]" : "", up ? "max" : "min", in);
		if (b.oom)
			st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		*body = b.data;
	}
done:
	free(x);
	free(y);
	free(srt);
	return st;
}

int64_t gb_dc_argmax(const double *y, int64_t k)
{
	int64_t best = 0;
	for (int64_t j = 1; j < k; j++)
		if (y[j] > y[best])
			best = j;
	return best;
}

/* ---- Boolean domains: truth tables ----------------------------------------------------- */

/* On a Boolean domain of at most GB_BOOL_MAX_VARS inputs whose outputs are
 * all within budget of 0 or 1 at every input: the outputs' truth tables
 * written as formulas (boolfn.c). Judged by argmax agreement, a classifier's
 * single output vector becomes the one-hot code of the class it picks. *body stays NULL when the domain or the
 * outputs do not fit, or the formulas would be too long. */
static gb_status match_boolean(const gb_pwl *p, const gb_decompile_options *opt, double budget, char **body,
                               gb_error *err)
{
	*body = NULL;
	int64_t n = p->n_in, rows = (int64_t)1 << (n < 62 ? n : 62);
	if (opt->domain.kind != GB_DOMAIN_BOOL || n < 1 || n > GB_BOOL_MAX_VARS || p->n_out > 64 ||
	    (double)rows * (double)(p->n_units + p->n_out + 1) > 4e8)
		return GB_OK;
	float *x = malloc((size_t)(rows * n) * sizeof *x);
	double *y = malloc((size_t)(rows * p->n_out) * sizeof *y);
	uint8_t *tables = malloc((size_t)(rows * p->n_out));
	char(*vars)[80] = calloc((size_t)n, sizeof *vars), (*outs)[80] = calloc((size_t)p->n_out, sizeof *outs);
	const char **var_names = calloc((size_t)n, sizeof *var_names), **out_names = calloc((size_t)p->n_out, sizeof *out_names);
	const uint8_t **tabs = calloc((size_t)p->n_out, sizeof *tabs);
	gb_strbuf b = {0};
	char *lines = NULL;
	gb_status st = GB_OK;
	if (!x || !y || !tables || !vars || !outs || !var_names || !out_names || !tabs) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	for (int64_t v = 0; v < rows; v++)
		for (int64_t j = 0; j < n; j++)
			x[v * n + j] = (float)((v >> j) & 1); /* boolfn's order: bit j of v is variable j */
	if ((st = gb_pwl_eval(p, rows, x, y, NULL, false, err)) != GB_OK)
		goto done;
	bool classes = opt->agreement > 0 && p->n_outputs == 1 && p->outputs[0].ndim == 1 && p->n_out >= 2;
	for (int i = 0; i < p->n_outputs && !classes; i++)
		if (p->outputs[i].softmax)
			goto done; /* probabilities are not a Boolean function of the inputs */
	for (int64_t o = 0; o < p->n_out && !classes; o++)
		for (int64_t v = 0; v < rows; v++) {
			double a = y[v * p->n_out + o];
			int bit = a > 0.5;
			if (!(fabs(a - bit) <= budget))
				goto done; /* not a Boolean function (within the budget) */
			tables[o * rows + v] = (uint8_t)bit;
		}
	/* a classifier judged by its argmax: the one-hot code of the class it
	 * picks (the first of equal scores, as argmax does), one formula per class */
	for (int64_t v = 0; v < rows && classes; v++) {
		int64_t best = gb_dc_argmax(y + v * p->n_out, p->n_out);
		for (int64_t o = 0; o < p->n_out; o++)
			tables[o * rows + v] = (uint8_t)(o == best);
	}
	/* names: input elements and output elements as the program writes them */
	char in[64][64], out[64][64];
	gb_dc_io_names(p, in, out);
	for (int i = 0; i < p->n_inputs; i++)
		for (int64_t e = 0; e < p->inputs[i].size; e++)
			gb_dc_element_name(in[i], p->inputs[i].ndim, p->inputs[i].dims, e, vars[p->inputs[i].offset + e], 80);
	for (int i = 0; i < p->n_outputs; i++)
		for (int64_t e = 0; e < p->outputs[i].size; e++)
			gb_dc_element_name(out[i], p->outputs[i].ndim, p->outputs[i].dims, e, outs[p->outputs[i].offset + e], 80);
	for (int64_t j = 0; j < n; j++)
		var_names[j] = vars[j];
	for (int64_t o = 0; o < p->n_out; o++) {
		out_names[o] = outs[o];
		tabs[o] = tables + o * rows;
	}
	int64_t ops = 0;
	gb_error e2 = {0};
	gb_status bs;
	if (classes && p->n_out == 2) { /* two classes: the label, and the scores as its one-hot code */
		char *f = NULL;
		bs = gb_bool_formula(tabs[1], (int)n, var_names, NULL, 0, &f, &ops, &e2);
		if (bs == GB_OK) {
			gb_strbuf lb = {0};
			const char *label = strcmp(out[0], "label") == 0 ? "predicted" : "label";
			gb_strbuf_printf(&lb, "%s = %s\n%s = [not %s, %s]\n", label, f, out[0], label, label);
			lines = lb.data;
			if (lb.oom)
				bs = GB_STATUS_NOMEM;
		}
		free(f);
	} else {
		bs = gb_bool_program(tabs, (int)p->n_out, (int)n, var_names, out_names, &lines, &ops, &e2);
	}
	if (bs == GB_STATUS_NOMEM) {
		st = gb_fail(err, bs, "%s", e2.msg);
		goto done;
	}
	if (bs != GB_OK) /* too long as formulas: the other forms take over */
		goto done;
	gb_dc_declare_io(&b, p, in, out, true);
	gb_strbuf_printf(&b, "\n%s", lines);
	if (b.oom)
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	else
		*body = b.data, b.data = NULL;
done:
	free(b.data);
	free(lines);
	free(x);
	free(y);
	free(tables);
	free(vars);
	free(outs);
	free(var_names);
	free(out_names);
	free(tabs);
	return st;
}

/* ---- the pipeline -------------------------------------------------------------------- */

void gb_decompile_result_free(gb_decompile_result *r)
{
	free(r->program);
	gb_tensor_map_free(r->weights);
	gb_dc_modules_free(r->modules, r->n_modules);
	memset(r, 0, sizeof *r);
}

/* Parses text as the program; label names it in messages. */
static gb_status parse_program(const char *text, gb_ast **ast, gb_error *err)
{
	gb_error e2 = {0};
	gb_status st = gb_ast_parse(text, strlen(text), "(decompiled program)", ast, &e2);
	if (st == GB_OK)
		st = gb_ast_check(*ast, &e2);
	if (st != GB_OK)
		return gb_fail(err, st == GB_STATUS_NOMEM ? st : GB_STATUS_FAILURE,
		               "decompile: the program written does not check (a glassbox bug): %s", e2.msg);
	return GB_OK;
}

/* The operations text writes (gb_ast_count). */
static gb_status program_ops(const char *text, int64_t *ops, gb_error *err)
{
	gb_ast *ast = NULL;
	gb_ast_counts cnt = {0};
	gb_status st = parse_program(text, &ast, err);
	if (st == GB_OK)
		gb_ast_count(ast, &cnt);
	gb_ast_free(ast);
	*ops = cnt.ops;
	return st;
}

/* msg without a leading "LABEL: " (the header names the file once). */
static const char *past_label(const char *msg, const char *label)
{
	size_t n = strlen(label);
	return strncmp(msg, label, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ' ? msg + n + 2 : msg;
}

/* The modules of a program that matching wrote (no weights): the program
 * compiled and lowered, then its connected parts, in place of the
 * network's (whose compressed DAG may still join what the program keeps
 * apart). */
static gb_status program_modules(const char *text, gb_decompile_result *r, gb_error *err)
{
	gb_ast *ast = NULL;
	gb_model *net = NULL;
	gb_pwl *q = NULL;
	gb_dc_module *mods = NULL;
	int n_mods = 0;
	gb_status st = parse_program(text, &ast, err);
	if (st == GB_OK)
		st = gb_ast_compile_weights(ast, NULL, false, &net, err);
	if (st == GB_OK)
		st = gb_pwl_lower(net, &q, err);
	if (st == GB_OK)
		st = gb_dc_modules(q, &mods, &n_mods, err);
	if (st == GB_OK) {
		gb_dc_modules_free(r->modules, r->n_modules);
		r->modules = mods;
		r->n_modules = n_mods;
	}
	gb_pwl_free(q);
	gb_model_free(net);
	gb_ast_free(ast);
	return st;
}

/* When the ReLU DAG written as layers takes far more parameters than the
 * network (a convolutional network: every position of every feature map a
 * unit of its own), the network's own layers instead, if they can be
 * written; *body and r->weights are replaced then. */
static gb_status network_if_smaller(gb_model *m, gb_decompile_result *r, const char *wfile, char **body, char *why,
                                    size_t why_size, gb_error *err)
{
	gb_tensor_map *w = NULL;
	char *text = NULL;
	int64_t params = 0;
	gb_error e2 = {0};
	gb_status st = gb_tensor_map_new(&w, err);
	if (st != GB_OK)
		return st;
	gb_status ws = gb_dc_write_network(m, INLINE_MAX, &text, w, wfile, &params, &e2);
	if (ws == GB_STATUS_NOMEM) {
		st = gb_fail(err, ws, "%s", e2.msg);
	} else if (ws == GB_OK && params < r->program_params) {
		snprintf(why, why_size, "its ReLU form written out takes %lld parameters, the network %lld",
		         (long long)r->program_params, (long long)r->network_params);
		free(*body);
		*body = text;
		text = NULL;
		gb_tensor_map_free(r->weights);
		r->weights = w;
		w = NULL;
		r->program_params = params;
		r->form = "network";
	}
	free(text);
	gb_tensor_map_free(w);
	return st;
}

static void put_error(gb_strbuf *b, double v)
{
	if (v == 0)
		gb_strbuf_put(b, "0");
	else
		gb_strbuf_printf(b, "%.3g", v);
}

gb_status gb_decompile(gb_model *m, const gb_decompile_options *opt, gb_decompile_result *r, gb_error *err)
{
	memset(r, 0, sizeof *r);
	gb_pwl *p = NULL;
	gb_lift lf = {0};
	gb_ast *ast = NULL, *final = NULL;
	char *body = NULL, *reserve = NULL;
	double *lo = NULL, *hi = NULL;
	gb_strbuf text = {0};
	gb_status st = gb_tensor_map_new(&r->weights, err);
	if (st != GB_OK)
		return st;
	if (!(opt->tolerance >= 0) || opt->samples < 1) {
		st = gb_fail(err, GB_STATUS_USAGE, "decompile: the tolerance must be >= 0 and the samples >= 1");
		goto done;
	}
	r->network_params = gb_model_param_count(m);
	const char *wfile = opt->weights_file ? opt->weights_file : "weights.safetensors";
	char why_network[sizeof err->msg] = ""; /* why the program is the network's own layers */
	if ((st = gb_pwl_lower(m, &p, err)) != GB_OK) {
		/* not piecewise linear (or not readable as a DAG): the network's own
		 * layers, checked like any program, else the reason it was refused */
		gb_error e2 = {0};
		if (st != GB_STATUS_UNSUPPORTED)
			goto done;
		snprintf(why_network, sizeof why_network, "%s", past_label(err->msg, m->label));
		gb_status ns = gb_pwl_lower_io(m, &p, &e2);
		if (ns == GB_OK)
			ns = gb_dc_write_network(m, INLINE_MAX, &body, r->weights, wfile, &r->program_params, &e2);
		if (ns != GB_OK) {
			st = gb_fail(err, ns == GB_STATUS_NOMEM ? ns : st, "%s: %s; nor can it be written as its own layers: %s",
			             m->label, why_network, past_label(e2.msg, m->label));
			goto done;
		}
		memset(err, 0, sizeof *err);
		st = GB_OK;
		r->form = "network";
		goto check;
	}
	r->network_units = p->n_units;
	lo = malloc((size_t)(p->n_in ? p->n_in : 1) * sizeof *lo);
	hi = malloc((size_t)(p->n_in ? p->n_in : 1) * sizeof *hi);
	if (!lo || !hi) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	if ((st = domain_box(p, &opt->domain, lo, hi, err)) != GB_OK)
		goto done;
	if ((st = gb_pwl_canonicalize(p, lo, hi, CANON_TOL, &r->canon, err)) != GB_OK)
		goto done;
	/* matches on the DAG before anything is pruned: Boolean tables, exact
	 * sorts, and (kept in reserve for when no exact formulas come) one
	 * primitive of the whole input within the tolerance */
	if ((st = match_boolean(p, opt, opt->tolerance, &body, err)) != GB_OK) /* every input checked afterwards */
		goto done;
	if (!body && (st = match_whole(p, opt, lo, hi, 0, true, &body, err)) != GB_OK)
		goto done;
	bool onehot = false; /* a classifier of one-hot codes: its class's formula (exact on the data) */
	if (!body) {
		if ((st = gb_dc_match_onehot(p, opt, &body, err)) != GB_OK)
			goto done;
		onehot = body != NULL;
	}
	if (!body && (st = match_whole(p, opt, lo, hi, 0.5 * opt->tolerance, false, &reserve, err)) != GB_OK)
		goto done;
	if (!body && !reserve && (st = gb_dc_match_outputs(p, opt, lo, hi, 0.5 * opt->tolerance, &reserve, err)) != GB_OK)
		goto done;
	int64_t reserve_ops = 0; /* what the reserve costs, to compare with exact formulas */
	if (reserve && (st = program_ops(reserve, &reserve_ops, err)) != GB_OK)
		goto done;
	if (!opt->no_compress && !body) {
		float *x = NULL, *ref = NULL;
		int64_t n = 0;
		const char *method;
		st = gb_dc_points(p, opt, opt->seed, &x, &n, &method, err);
		if (st == GB_OK)
			st = gb_dc_network_outputs(m, p, x, n, &ref, err);
		if (st == GB_OK) {
			/* half the tolerance: the check that follows uses fresh points */
			gb_compress_options co = {.x = x, .n = n, .ref = ref, .budget = 0.5 * opt->tolerance,
			                          .agreement = opt->agreement};
			st = gb_pwl_compress(&p, lo, hi, &co, &r->compress, err);
		}
		free(x);
		free(ref);
		if (st != GB_OK)
			goto done;
	}
	if ((st = gb_dc_modules(p, &r->modules, &r->n_modules, err)) != GB_OK)
		goto done;

	/* formulas when the DAG reads as formulas, else layers */
	int64_t budget = opt->formula_budget > 0 ? opt->formula_budget : 4096;
	bool formulas = false;
	if (body) {
		r->form = "formulas";
	} else if (p->n_units <= LIFT_MAX_UNITS && p->n_out <= 256) {
		gb_error e2 = {0};
		gb_status ls = gb_lift_run(&lf, p, budget, CANON_TOL * 10, &e2);
		if (ls == GB_STATUS_NOMEM) {
			st = gb_fail(err, ls, "%s", e2.msg);
			goto done;
		}
		formulas = ls == GB_OK;
	}
	bool matched = false; /* the body is the reserve: primitives matched within the tolerance */
	if (!body && !formulas && reserve) { /* no exact formulas: primitives within the tolerance */
		body = reserve;
		reserve = NULL;
		r->form = "formulas";
		matched = true;
	}
	if (!body && formulas) {
		st = gb_dc_write_formulas(p, &lf, r->modules, r->n_modules, &body, r->maps, &r->n_maps, err);
		r->form = "formulas";
		r->lift_counts[0] = lf.counts.max;
		r->lift_counts[1] = lf.counts.min;
		r->lift_counts[2] = lf.counts.abs;
		r->lift_counts[3] = lf.counts.relu;
		r->lift_counts[4] = lf.counts.clamp;
		r->lift_counts[5] = lf.counts.step;
		int64_t ops = 0;
		if (st == GB_OK)
			st = program_ops(body, &ops, err);
		if (st == GB_OK && reserve && ops > reserve_ops) {
			/* primitives matched within the tolerance read better than exact
			 * formulas of more operations */
			free(body);
			body = reserve;
			reserve = NULL;
			r->n_maps = 0;
			matched = true;
		} else if (st == GB_OK && ops > 64 && ops > 8 * (p->n_units + p->n_out)) {
			/* formulas far longer than the network itself: layers read better */
			free(body);
			body = NULL;
			r->n_maps = 0;
			memset(r->lift_counts, 0, sizeof r->lift_counts);
		}
	}
	if (st != GB_OK)
		goto done;
	if (body) {
		/* formulas, or a whole-output match */
		if (matched || onehot)
			st = program_modules(body, r, err);
	} else {
		int64_t ops, *fig_units = NULL, n_figs = 0, *top = NULL;
		if (opt->figures_dir)
			st = gb_dc_unit_figures(p, opt->figures_dir, &fig_units, &n_figs, err);
		const gb_tensor *d = opt->domain.data;
		if (st == GB_OK && n_figs > 0 && d && d->dtype == GB_DTYPE_F32 && gb_tensor_numel(d) == d->dims[0] * p->n_in)
			st = gb_dc_top_examples(p, d, fig_units, n_figs, 3, &top, err);
		gb_dc_figures figs = {fig_units, n_figs, opt->figures_ref ? opt->figures_ref : opt->figures_dir, top, 3};
		if (st == GB_OK)
			st = gb_dc_write_layers(p, INLINE_MAX, &body, r->weights, wfile, &r->program_params, &ops, &r->conv,
			                        &figs, r->modules, r->n_modules, err);
		free(fig_units);
		free(top);
		r->figures = n_figs;
		r->form = "layers";
		if (st == GB_OK && r->program_params > 2 * r->network_params)
			st = network_if_smaller(m, r, wfile, &body, why_network, sizeof why_network, err);
	}
	if (st != GB_OK)
		goto done;
check:
	if ((st = parse_program(body, &ast, err)) != GB_OK)
		goto done;
	if ((st = gb_dc_verify(m, p, ast, r->weights, opt, &r->fidelity, err)) != GB_OK)
		goto done;
	r->faithful = opt->agreement > 0 ? r->fidelity.argmax_agreement >= opt->agreement
	                                 : r->fidelity.max_abs_error <= opt->tolerance;
	/* on a box, a proof over the whole box where it can be had; a point it
	 * finds where the two differ by more than the tolerance refutes the check */
	if (r->faithful && (st = gb_dc_certify(m, ast, r->weights, opt, &r->fidelity, err)) != GB_OK)
		goto done;
	r->faithful = r->faithful && !r->fidelity.counterexample;

	/* the header states what was checked; then the canonical layout */
	char dom[64];
	gb_domain_str(&opt->domain, dom, sizeof dom);
	const char *label = opt->label ? opt->label : "the network";
	const char *base = strrchr(label, '/') ? strrchr(label, '/') + 1 : label;
	gb_strbuf_printf(&text, "# decompiled from %s by glassbox %s\n", base, GB_VERSION);
	if (opt->note)
		gb_strbuf_printf(&text, "# %s\n", opt->note);
	const char *which = strcmp(r->fidelity.method, "exhaustive") == 0 ? "(all)" : "checked";
	if (opt->agreement > 0) {
		gb_strbuf_printf(&text,
		                 "# %s on %s: the argmax of the output agrees with the network's on %.2f%% of %lld %s points "
		                 "(required %.2f%%); max |program - network| = ",
		                 r->faithful ? "faithful" : "NOT FAITHFUL", dom, 100.0 * r->fidelity.argmax_agreement,
		                 (long long)r->fidelity.samples, which, 100.0 * opt->agreement);
		put_error(&text, r->fidelity.max_abs_error);
		gb_strbuf_put(&text, "\n");
	} else if (strcmp(r->fidelity.method, "certified") == 0) {
		gb_strbuf_printf(&text, "# faithful on %s: |program - network| <= %.2g everywhere on the box in exact arithmetic "
		                 "(certified by bound propagation over %lld boxes; float32 rounding adds at most %.2g); "
		                 "max over %lld checked points ", dom, r->fidelity.certified_bound,
		                 (long long)r->fidelity.certified_boxes, r->fidelity.certified_rounding,
		                 (long long)r->fidelity.samples);
		put_error(&text, r->fidelity.max_abs_error);
		gb_strbuf_printf(&text, " (tolerance %g)\n", opt->tolerance);
	} else {
		gb_strbuf_printf(&text, "# %s on %s: max |program - network| = ", r->faithful ? "faithful" : "NOT FAITHFUL",
		                 dom);
		put_error(&text, r->fidelity.max_abs_error);
		gb_strbuf_printf(&text, " over %lld %s points (tolerance %g)\n", (long long)r->fidelity.samples, which,
		                 opt->tolerance);
	}
	if (r->fidelity.counterexample) {
		gb_strbuf_put(&text, "# bound propagation found a point the check missed: |program - network| = ");
		put_error(&text, r->fidelity.counterexample_error);
		gb_strbuf_put(&text, " at (");
		for (int64_t j = 0; j < r->fidelity.counterexample_n; j++)
			gb_strbuf_printf(&text, "%s%.9g", j ? ", " : "", r->fidelity.counterexample_x[j]);
		gb_strbuf_put(&text, ")\n");
	}
	if (why_network[0] && r->network_units == 0)
		gb_strbuf_printf(&text, "# the network: %lld parameters, written as its own layers: %s\n",
		                 (long long)r->network_params, why_network);
	else
		gb_strbuf_printf(&text,
		                 "# the network: %lld ReLU units, %lld parameters; canonical on the domain: %lld units\n",
		                 (long long)r->network_units, (long long)r->network_params, (long long)r->canon.units_after);
	if (why_network[0] && r->network_units > 0)
		gb_strbuf_printf(&text, "# written as its own layers: %s\n", why_network);
	if (!opt->no_compress && !r->compress.skipped && r->compress.terms_before > 0 &&
	    (r->compress.terms_pruned > 0 || r->compress.bits < 24))
		gb_strbuf_printf(&text, "# compressed within the criterion: %lld of %lld weights kept, %lld units, %d-bit weights\n",
		                 (long long)r->compress.terms_after, (long long)r->compress.terms_before,
		                 (long long)r->compress.units_after, r->compress.bits);
	gb_strbuf_put(&text, body);
	if (text.oom) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	if ((st = parse_program(text.data, &final, err)) != GB_OK)
		goto done;
	if ((st = gb_ast_print(final, &r->program, NULL, err)) != GB_OK)
		goto done;
	gb_ast_count(final, &r->counts);
	r->program_ops = r->counts.ops;
	gb_dc_modules_mark_defs(r->modules, r->n_modules, final);
done:
	free(lo);
	free(hi);
	free(body);
	free(reserve);
	free(text.data);
	gb_ast_free(ast);
	gb_ast_free(final);
	gb_lift_free(&lf);
	gb_pwl_free(p);
	if (st != GB_OK)
		gb_decompile_result_free(r);
	return st;
}

/* ---- summary ------------------------------------------------------------------------------ */

gb_status gb_decompile_summary_json(const gb_decompile_result *r, const gb_decompile_options *opt, char **json,
                                    gb_error *err)
{
	cJSON *root = cJSON_CreateObject();
	char dom[64];
	gb_domain_str(&opt->domain, dom, sizeof dom);
	cJSON_AddStringToObject(root, "model", opt->label ? opt->label : "");
	cJSON_AddStringToObject(root, "domain", dom);
	cJSON_AddBoolToObject(root, "faithful", r->faithful);
	cJSON_AddStringToObject(root, "form", r->form ? r->form : "");
	cJSON *fid = cJSON_AddObjectToObject(root, "fidelity");
	cJSON_AddStringToObject(fid, "method", r->fidelity.method ? r->fidelity.method : "");
	cJSON_AddNumberToObject(fid, "samples", (double)r->fidelity.samples);
	cJSON_AddNumberToObject(fid, "max_abs_error", r->fidelity.max_abs_error);
	cJSON_AddNumberToObject(fid, "mean_abs_error", r->fidelity.mean_abs_error);
	cJSON_AddNumberToObject(fid, "argmax_agreement", r->fidelity.argmax_agreement);
	cJSON_AddNumberToObject(fid, "tolerance", opt->tolerance);
	cJSON_AddStringToObject(fid, "criterion", opt->agreement > 0 ? "argmax_agreement" : "max_abs_error");
	if (opt->agreement > 0)
		cJSON_AddNumberToObject(fid, "required_agreement", opt->agreement);
	if (r->fidelity.certify_tried) {
		const gb_fidelity *f = &r->fidelity;
		bool proven = strcmp(f->method, "certified") == 0;
		cJSON_AddBoolToObject(fid, "certified", proven);
		if (proven) {
			cJSON_AddNumberToObject(fid, "certified_bound", f->certified_bound);
			cJSON_AddNumberToObject(fid, "certified_rounding", f->certified_rounding);
		} else {
			cJSON_AddStringToObject(fid, "certified_reason", f->certify_reason ? f->certify_reason : "");
		}
		if (f->certified_boxes > 0)
			cJSON_AddNumberToObject(fid, "certified_boxes", (double)f->certified_boxes);
		if (f->counterexample) {
			cJSON *ce = cJSON_AddObjectToObject(fid, "counterexample");
			cJSON *xs = cJSON_AddArrayToObject(ce, "x");
			for (int64_t j = 0; j < f->counterexample_n; j++)
				cJSON_AddItemToArray(xs, cJSON_CreateNumber(f->counterexample_x[j]));
			cJSON_AddNumberToObject(ce, "error", f->counterexample_error);
		}
	}
	cJSON *size = cJSON_AddObjectToObject(root, "size");
	cJSON_AddNumberToObject(size, "network_params", (double)r->network_params);
	cJSON_AddNumberToObject(size, "network_units", (double)r->network_units);
	cJSON_AddNumberToObject(size, "program_params", (double)r->program_params);
	cJSON_AddNumberToObject(size, "program_ops", (double)r->program_ops);
	cJSON *prims = cJSON_AddObjectToObject(root, "primitives");
	for (int id = 0; id < GB_PRIM_COUNT; id++)
		if (r->counts.prims[id])
			cJSON_AddNumberToObject(prims, gb_prim_get((gb_prim_id)id)->name, (double)r->counts.prims[id]);
	static const char *const logic[3] = {"not", "and", "or"};
	for (int k = 0; k < 3; k++)
		if (r->counts.logic[k])
			cJSON_AddNumberToObject(prims, logic[k], (double)r->counts.logic[k]);
	cJSON *canon = cJSON_AddObjectToObject(root, "canonical");
	cJSON_AddNumberToObject(canon, "units_before", (double)r->canon.units_before);
	cJSON_AddNumberToObject(canon, "units_after", (double)r->canon.units_after);
	cJSON_AddNumberToObject(canon, "dead", (double)r->canon.dead);
	cJSON_AddNumberToObject(canon, "linear", (double)r->canon.linear);
	cJSON_AddNumberToObject(canon, "merged", (double)r->canon.merged);
	cJSON_AddNumberToObject(canon, "paired", (double)r->canon.paired);
	cJSON_AddNumberToObject(canon, "negligible_terms", (double)r->canon.negligible);
	if (opt->retrain) {
		cJSON *rt = cJSON_AddObjectToObject(root, "retrain");
		cJSON_AddStringToObject(rt, "network", opt->retrained_model ? opt->retrained_model : "");
		cJSON_AddNumberToObject(rt, "test_accuracy_before", opt->retrain->acc_before);
		cJSON_AddNumberToObject(rt, "test_accuracy_after", opt->retrain->acc_after);
		cJSON_AddNumberToObject(rt, "weights_before", (double)opt->retrain->weights_before);
		cJSON_AddNumberToObject(rt, "weights_after", (double)opt->retrain->weights_after);
	}
	cJSON *comp = cJSON_AddObjectToObject(root, "compression");
	cJSON_AddBoolToObject(comp, "applied", !opt->no_compress && !r->compress.skipped);
	if (r->compress.too_large)
		cJSON_AddStringToObject(comp, "skipped", "too large to judge candidates (over 4e9 multiply-adds each)");
	cJSON_AddNumberToObject(comp, "weights_before", (double)r->compress.terms_before);
	cJSON_AddNumberToObject(comp, "weights_after", (double)r->compress.terms_after);
	cJSON_AddNumberToObject(comp, "units_after", (double)r->compress.units_after);
	cJSON_AddNumberToObject(comp, "bits", r->compress.bits);
	cJSON_AddBoolToObject(comp, "spectral_split", r->compress.split);
	cJSON_AddBoolToObject(comp, "snapped", r->compress.snapped);
	cJSON *structure = cJSON_AddObjectToObject(root, "structure");
	cJSON *mods = cJSON_AddArrayToObject(structure, "modules");
	for (int i = 0; i < r->n_modules; i++) {
		const gb_dc_module *md = &r->modules[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", md->name);
		cJSON *ins = cJSON_AddArrayToObject(o, "inputs");
		for (int64_t k = 0; k < md->n_inputs; k++)
			cJSON_AddItemToArray(ins, cJSON_CreateNumber((double)md->inputs[k]));
		cJSON *outs = cJSON_AddArrayToObject(o, "outputs");
		for (int64_t k = 0; k < md->n_outputs; k++)
			cJSON_AddItemToArray(outs, cJSON_CreateNumber((double)md->outputs[k]));
		cJSON_AddNumberToObject(o, "units", (double)md->n_units);
		cJSON_AddBoolToObject(o, "def", md->def);
		cJSON_AddItemToArray(mods, o);
	}
	cJSON *convs = cJSON_AddArrayToObject(structure, "conv");
	if (r->conv.filters > 0) {
		const gb_dc_conv *c = &r->conv;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "filters", (double)c->filters);
		cJSON_AddItemToObject(o, "kernel", cJSON_CreateIntArray((const int[]){(int)c->kernel[0], (int)c->kernel[1]}, 2));
		cJSON_AddItemToObject(o, "stride", cJSON_CreateIntArray((const int[]){(int)c->stride[0], (int)c->stride[1]}, 2));
		cJSON_AddItemToObject(o, "padding",
		                      cJSON_CreateIntArray((const int[]){(int)c->padding[0], (int)c->padding[1]}, 2));
		cJSON_AddItemToObject(o, "input", cJSON_CreateIntArray((const int[]){(int)c->input[0], (int)c->input[1],
		                                                                     (int)c->input[2]}, 3));
		cJSON_AddItemToArray(convs, o);
	}
	cJSON *maps = cJSON_AddArrayToObject(structure, "maps");
	for (int i = 0; i < r->n_maps; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "function", r->maps[i].function);
		cJSON_AddNumberToObject(o, "count", (double)r->maps[i].count);
		cJSON_AddNumberToObject(o, "width", (double)r->maps[i].width);
		cJSON_AddNumberToObject(o, "step", (double)r->maps[i].step);
		cJSON_AddItemToArray(maps, o);
	}
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	*json = text;
	return GB_OK;
}
