/*
 * write.c — the decompiled program's text (decompile.h): formulas from
 * lifted expressions, or layers of dense ReLU blocks when the network does
 * not read as formulas. Either way, independent modules can each become a
 * def with its own inputs and outputs, called from the top level.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/strbuf.h"
#include "../lang/lang.h"
#include "conv_find.h"
#include "decompile.h"

/* ---- names ------------------------------------------------------------------------ */

static const char *const reserved[] = {"input", "output", "param", "weights", "def", "return", "for", "in",
                                       "and", "or", "not", "True", "False", "f32", "bool", "range", NULL};

static bool is_reserved(const char *s)
{
	for (int i = 0; reserved[i]; i++)
		if (strcmp(reserved[i], s) == 0)
			return true;
	return gb_prim_find(s) != NULL;
}

void gb_dc_identifier(const char *name, const char *fallback, char *out, size_t size)
{
	size_t n = 0;
	for (const char *s = name ? name : ""; *s && n + 2 < size; s++) {
		char c = *s;
		out[n++] = (char)(isalnum((unsigned char)c) || c == '_' ? c : '_');
	}
	out[n] = '\0';
	/* names a tool made up ("onnx::Flatten_0", "8"): the plain fallback reads better */
	if (n == 0 || (name && (strstr(name, "::") || isdigit((unsigned char)name[0]))))
		snprintf(out, size, "%s", fallback);
	else if (isdigit((unsigned char)out[0]) || is_reserved(out)) {
		char tmp[256];
		snprintf(tmp, sizeof tmp, "%s_%s", fallback, out);
		snprintf(out, size, "%s", tmp);
	}
}

void gb_dc_io_names(const gb_pwl *p, char (*in)[64], char (*out)[64])
{
	for (int i = 0; i < p->n_inputs + p->n_outputs; i++) {
		bool is_in = i < p->n_inputs;
		char *dst = is_in ? in[i] : out[i - p->n_inputs];
		const char *name = is_in ? p->inputs[i].name : p->outputs[i - p->n_inputs].name;
		gb_dc_identifier(name, is_in ? "x" : "y", dst, 64);
		for (int k = 0; k < i; k++) {
			const char *prev = k < p->n_inputs ? in[k] : out[k - p->n_inputs];
			if (strcmp(prev, dst) == 0) {
				char tmp[80];
				snprintf(tmp, sizeof tmp, "%s_%d", dst, i);
				snprintf(dst, 64, "%s", tmp);
				k = -1;
			}
		}
	}
}

static void put_type(gb_strbuf *b, int ndim, const int64_t *dims)
{
	gb_strbuf_put(b, "f32");
	for (int a = 0; a < ndim; a++)
		gb_strbuf_printf(b, "%s%lld", a ? ", " : "[", (long long)dims[a]);
	if (ndim)
		gb_strbuf_put(b, "]");
}

static void put_float(gb_strbuf *b, double v)
{
	char num[32];
	float f = (float)v;
	if (f == 0.0f)
		f = 0.0f; /* no "-0.0" */
	if (f < 0) {
		gb_strbuf_put(b, "-");
		f = -f;
	}
	gb_lang_format_float(f, num);
	gb_strbuf_put(b, num);
}

/* name[i, j, ...] for element e of a tensor of that shape. */
static void put_element(gb_strbuf *b, const char *name, int ndim, const int64_t *dims, int64_t e)
{
	gb_strbuf_put(b, name);
	if (ndim == 0)
		return;
	int64_t coord[GB_MAX_DIMS];
	for (int a = ndim - 1; a >= 0; a--) {
		coord[a] = e % dims[a];
		e /= dims[a];
	}
	for (int a = 0; a < ndim; a++)
		gb_strbuf_printf(b, "%s%lld", a ? ", " : "[", (long long)coord[a]);
	gb_strbuf_put(b, "]");
}

void gb_dc_element_name(const char *name, int ndim, const int64_t *dims, int64_t e, char *out, size_t size)
{
	gb_strbuf b = {0};
	put_element(&b, name, ndim, dims, e);
	snprintf(out, size, "%s", b.data && !b.oom ? b.data : "?");
	free(b.data);
}

void gb_dc_declare_io(gb_strbuf *b, const gb_pwl *p, char (*in)[64], char (*out)[64], bool outputs_typed)
{
	for (int i = 0; i < p->n_inputs; i++) {
		gb_strbuf_printf(b, "input %s: ", in[i]);
		put_type(b, p->inputs[i].ndim, p->inputs[i].dims);
		gb_strbuf_put(b, "\n");
	}
	for (int i = 0; outputs_typed && i < p->n_outputs; i++) {
		gb_strbuf_printf(b, "output %s: ", out[i]);
		put_type(b, p->outputs[i].ndim, p->outputs[i].dims);
		gb_strbuf_put(b, "\n");
	}
}

/* ---- formulas ------------------------------------------------------------------------ */

typedef struct fctx {
	const gb_pwl *p;
	const gb_lift *lf;
	char (*in)[64];
	char **names;         /* by node id: the let-name of a shared node, or NULL */
	const char *cell_var; /* writing a map's cell: inputs as cell_var[j - base], no names */
	int64_t base;
	const char *const *input_text; /* writing a module's def: input j as input_text[j] */
} fctx;

static void put_ex(gb_strbuf *b, const fctx *f, const gb_ex *e, bool top);

static void put_input(gb_strbuf *b, const fctx *f, int64_t j)
{
	if (f->input_text && f->input_text[j]) {
		gb_strbuf_put(b, f->input_text[j]);
		return;
	}
	if (f->cell_var) {
		gb_strbuf_printf(b, "%s[%lld]", f->cell_var, (long long)(j - f->base));
		return;
	}
	for (int i = 0; i < f->p->n_inputs; i++) {
		const gb_pwl_io *io = &f->p->inputs[i];
		if (j >= io->offset && j < io->offset + io->size) {
			put_element(b, f->in[i], io->ndim, io->dims, j - io->offset);
			return;
		}
	}
}

static void put_call(gb_strbuf *b, const fctx *f, const char *fn, const gb_ex *e)
{
	gb_strbuf_printf(b, "%s(", fn);
	for (int k = 0; k < e->n_args; k++) {
		if (k)
			gb_strbuf_put(b, ", ");
		put_ex(b, f, e->args[k], false);
	}
}

static void put_ex(gb_strbuf *b, const fctx *f, const gb_ex *e, bool top)
{
	if (!top && !f->cell_var && f->names[e->id]) {
		gb_strbuf_put(b, f->names[e->id]);
		return;
	}
	switch (e->kind) {
	case GB_EX_INPUT:
		put_input(b, f, e->input);
		return;
	case GB_EX_LIN: {
		/* a sum is an argument of a call or a whole right-hand side:
		 * no parentheses are ever needed around it */
		for (int k = 0; k < e->n_args; k++) {
			double c = e->c[k];
			if (k == 0) {
				if (c == -1.0)
					gb_strbuf_put(b, "-");
				else if (c != 1.0) {
					put_float(b, c);
					gb_strbuf_put(b, " * ");
				}
			} else {
				gb_strbuf_put(b, c < 0 ? " - " : " + ");
				if (fabs(c) != 1.0) {
					put_float(b, fabs(c));
					gb_strbuf_put(b, " * ");
				}
			}
			put_ex(b, f, e->args[k], false);
		}
		if (e->n_args == 0)
			put_float(b, e->b);
		else if (e->b != 0.0) {
			gb_strbuf_put(b, e->b < 0 ? " - " : " + ");
			put_float(b, fabs(e->b));
		}
		return;
	}
	case GB_EX_RELU: put_call(b, f, "relu", e); break;
	case GB_EX_ABS: put_call(b, f, "abs", e); break;
	case GB_EX_MAX: put_call(b, f, "max", e); break;
	case GB_EX_MIN: put_call(b, f, "min", e); break;
	case GB_EX_CLAMP:
		put_call(b, f, "clamp", e);
		gb_strbuf_put(b, ", ");
		put_float(b, e->lo);
		gb_strbuf_put(b, ", ");
		put_float(b, e->hi);
		break;
	case GB_EX_STEP:
		put_call(b, f, "step", e);
		gb_strbuf_put(b, ", ");
		put_float(b, e->lo);
		gb_strbuf_put(b, ", width=");
		put_float(b, e->hi - e->lo);
		break;
	}
	gb_strbuf_put(b, ")");
}

static const char *kind_word(gb_ex_kind k)
{
	switch (k) {
	case GB_EX_MAX: return "largest";
	case GB_EX_MIN: return "smallest";
	case GB_EX_ABS: return "distance";
	case GB_EX_RELU: return "active";
	case GB_EX_CLAMP: return "clamped";
	case GB_EX_STEP: return "steps";
	default: return "part";
	}
}

static void collect(const gb_ex *e, const gb_ex **by_id, unsigned char *seen)
{
	if (seen[e->id])
		return;
	seen[e->id] = 1;
	by_id[e->id] = e;
	for (int k = 0; k < e->n_args; k++)
		collect(e->args[k], by_id, seen);
}

/* ---- maps: one cell over chunks of the input ------------------------------------------ */

static void input_range(const gb_ex *e, int64_t *lo, int64_t *hi)
{
	if (e->kind == GB_EX_INPUT) {
		*lo = e->input < *lo ? e->input : *lo;
		*hi = e->input > *hi ? e->input : *hi;
	}
	for (int k = 0; k < e->n_args; k++)
		input_range(e->args[k], lo, hi);
}

static void count_uses(const gb_ex *e, int64_t *uses)
{
	if (uses[e->id]++ > 0)
		return;
	for (int k = 0; k < e->n_args; k++)
		count_uses(e->args[k], uses);
}

/* Finds outputs that apply one formula to evenly spaced chunks of the one
 * 1-D input: output tensor i (1-D, k >= 2 elements) with element t equal to
 * cell(x[b + s t : b + s t + w]). Writes the def and the comprehension;
 * marks the outputs covered. */
static gb_status find_maps(gb_strbuf *defs, gb_strbuf *lines, const fctx *f, char (*out)[64], bool *covered,
                           gb_dc_map *maps, int *n_maps)
{
	const gb_pwl *p = f->p;
	*n_maps = 0;
	if (p->n_inputs != 1 || p->inputs[0].ndim != 1)
		return GB_OK;
	for (int i = 0; i < p->n_outputs && *n_maps < GB_DC_MAX_MAPS; i++) {
		const gb_pwl_io *io = &p->outputs[i];
		int64_t k = io->size;
		if (io->ndim != 1 || k < 2 || io->softmax)
			continue;
		char *first = NULL;
		int64_t base0 = 0, step = 0, width = 0;
		bool same = true;
		for (int64_t t = 0; t < k && same; t++) {
			const gb_ex *e = f->lf->outs[io->offset + t];
			int64_t lo = INT64_MAX, hi = -1;
			input_range(e, &lo, &hi);
			if (hi < 0 || e->kind == GB_EX_INPUT) {
				same = false;
				break;
			}
			fctx cf = *f;
			cf.cell_var = "v";
			cf.base = lo;
			gb_strbuf tb = {0};
			put_ex(&tb, &cf, e, true);
			if (tb.oom) {
				free(tb.data);
				free(first);
				return GB_STATUS_NOMEM;
			}
			if (t == 0) {
				first = tb.data;
				base0 = lo;
				width = hi - lo + 1;
			} else {
				if (t == 1)
					step = lo - base0;
				same = strcmp(first, tb.data) == 0 && hi - lo + 1 == width && lo == base0 + t * step && step >= 1;
				free(tb.data);
			}
		}
		if (same && first) {
			gb_dc_map *mp = &maps[*n_maps];
			snprintf(mp->function, sizeof mp->function, "cell%d", *n_maps + 1);
			if (*n_maps == 0)
				snprintf(mp->function, sizeof mp->function, "cell");
			mp->count = k;
			mp->width = width;
			mp->step = step;
			mp->output = i;
			gb_strbuf_printf(defs, "\ndef %s(v: f32[%lld]) -> f32:\n    return %s\n", mp->function, (long long)width,
			                 first);
			char start[64];
			if (base0 == 0 && step == 1)
				snprintf(start, sizeof start, "i");
			else if (base0 == 0)
				snprintf(start, sizeof start, "%lld * i", (long long)step);
			else if (step == 1)
				snprintf(start, sizeof start, "%lld + i", (long long)base0);
			else
				snprintf(start, sizeof start, "%lld + %lld * i", (long long)base0, (long long)step);
			gb_strbuf_printf(lines, "%s = [%s(%s[%s:%s + %lld]) for i in range(%lld)]\n", out[i], mp->function,
			                 f->in[0], start, start, (long long)width, (long long)k);
			for (int64_t t = 0; t < k; t++)
				covered[io->offset + t] = true;
			(*n_maps)++;
		}
		free(first);
	}
	return GB_OK;
}

/* ---- modules: one def per independent part -------------------------------------------- */

/* Which of the n tensors holds flat element j (-1: none). */
static int io_of(const gb_pwl_io *ios, int n, int64_t j)
{
	for (int i = 0; i < n; i++)
		if (j >= ios[i].offset && j < ios[i].offset + ios[i].size)
			return i;
	return -1;
}

/* Whether v[0 .. k) steps evenly, by *step >= 1 (1 when k < 2). */
static bool progression(const int64_t *v, int64_t k, int64_t *step)
{
	*step = k >= 2 ? v[1] - v[0] : 1;
	if (*step < 1)
		return false;
	for (int64_t t = 2; t < k; t++)
		if (v[t] - v[t - 1] != *step)
			return false;
	return true;
}

/* name[a:b] or name[a:b:s]: count elements of a 1-D tensor from first on, step apart. */
static void put_slice(gb_strbuf *b, const char *name, int64_t first, int64_t count, int64_t step)
{
	gb_strbuf_printf(b, "%s[%lld:%lld", name, (long long)first, (long long)(first + (count - 1) * step + 1));
	if (step != 1)
		gb_strbuf_printf(b, ":%lld", (long long)step);
	gb_strbuf_put(b, "]");
}

/* A module's def returns one result per run of its outputs that one
 * target takes (a whole output, a slice of a 1-D one, or one element):
 * its outputs first .. first + count - 1 (positions in the module's
 * outputs, flat order), a value of shape dims (ndim 0: a scalar). */
typedef struct mod_result {
	int ndim;
	int64_t dims[GB_MAX_DIMS];
	int64_t first, count;
} mod_result;

/* How a module's def is declared and called: "def NAME(params) -> rtype"
 * and "targets = NAME(args)"; from names its inputs for the comment above
 * the def ("x[0:3]", "x[3], x[5]"). */
typedef struct mod_face {
	gb_strbuf params, args, from, rtype, targets;
	mod_result *res;
	int n_res;
	char (*local)[96]; /* by position in the module's inputs: how the def's body reads it */
} mod_face;

static void face_free(mod_face *fc)
{
	free(fc->params.data);
	free(fc->args.data);
	free(fc->from.data);
	free(fc->rtype.data);
	free(fc->targets.data);
	free(fc->res);
	free(fc->local);
}

/* Both the call's argument and the comment get text. */
static void put_arg(mod_face *fc, const char *text)
{
	gb_strbuf_put(&fc->args, text);
	gb_strbuf_put(&fc->from, text);
}

static void put_arg_element(mod_face *fc, const char *name, const gb_pwl_io *io, int64_t j)
{
	put_element(&fc->args, name, io->ndim, io->dims, j - io->offset);
	put_element(&fc->from, name, io->ndim, io->dims, j - io->offset);
}

/* The def's parameters: one per input tensor the module reads, named v
 * (v_NAME when it reads several): the whole tensor, one element (a
 * scalar), a slice of a 1-D tensor, or the elements gathered in a list.
 * flat: one vector v of all the module's inputs (what dense layers read). */
static void face_params(mod_face *fc, const gb_pwl *p, char (*in)[64], const gb_dc_module *md, bool flat)
{
	const int64_t *v = md->inputs;
	int groups = 0;
	for (int64_t k = 0; k < md->n_inputs; k++)
		groups += k == 0 || io_of(p->inputs, p->n_inputs, v[k]) != io_of(p->inputs, p->n_inputs, v[k - 1]);
	if (flat && groups > 1) {
		gb_strbuf_printf(&fc->params, "v: f32[%lld]", (long long)md->n_inputs);
		gb_strbuf_put(&fc->args, "[");
		for (int64_t k = 0; k < md->n_inputs; k++) {
			int i = io_of(p->inputs, p->n_inputs, v[k]);
			if (k)
				put_arg(fc, ", ");
			put_arg_element(fc, in[i], &p->inputs[i], v[k]);
			snprintf(fc->local[k], sizeof fc->local[k], "v[%lld]", (long long)k);
		}
		gb_strbuf_put(&fc->args, "]");
		return;
	}
	for (int64_t k0 = 0, k1; k0 < md->n_inputs; k0 = k1) {
		int i = io_of(p->inputs, p->n_inputs, v[k0]);
		for (k1 = k0 + 1; k1 < md->n_inputs && io_of(p->inputs, p->n_inputs, v[k1]) == i; k1++)
			;
		const gb_pwl_io *io = &p->inputs[i];
		int64_t count = k1 - k0, step;
		bool run = progression(v + k0, count, &step);
		char name[80];
		if (groups == 1)
			snprintf(name, sizeof name, "v");
		else
			snprintf(name, sizeof name, "v_%s", in[i]);
		if (k0 > 0) {
			gb_strbuf_put(&fc->params, ", ");
			put_arg(fc, ", ");
		}
		gb_strbuf_printf(&fc->params, "%s: ", name);
		if (count == io->size && (!flat || io->ndim == 1)) { /* the whole tensor */
			put_type(&fc->params, io->ndim, io->dims);
			put_arg(fc, in[i]);
			for (int64_t k = k0; k < k1; k++)
				gb_dc_element_name(name, io->ndim, io->dims, v[k] - io->offset, fc->local[k], sizeof fc->local[k]);
			continue;
		}
		if (count == 1 && !flat) {
			gb_strbuf_put(&fc->params, "f32");
			put_arg_element(fc, in[i], io, v[k0]);
			snprintf(fc->local[k0], sizeof fc->local[k0], "%s", name);
			continue;
		}
		gb_strbuf_printf(&fc->params, "f32[%lld]", (long long)count);
		if (count == io->size && io->ndim >= 2) {
			gb_strbuf_printf(&fc->args, "flatten(%s)", in[i]);
			gb_strbuf_put(&fc->from, in[i]);
		} else if (io->ndim == 1 && run) {
			put_slice(&fc->args, in[i], v[k0] - io->offset, count, step);
			put_slice(&fc->from, in[i], v[k0] - io->offset, count, step);
		} else {
			gb_strbuf_put(&fc->args, "[");
			for (int64_t k = k0; k < k1; k++) {
				if (k > k0)
					put_arg(fc, ", ");
				put_arg_element(fc, in[i], io, v[k]);
			}
			gb_strbuf_put(&fc->args, "]");
		}
		for (int64_t k = k0; k < k1; k++)
			snprintf(fc->local[k], sizeof fc->local[k], "%s[%lld]", name, (long long)(k - k0));
	}
}

/* The def's results and where they go: per output tensor the module
 * writes, the whole tensor, one element, or a slice of a 1-D tensor; else
 * one result per element. A softmax output's targets are its logits. */
static void face_results(mod_face *fc, const gb_pwl *p, char (*out)[64], const gb_dc_module *md)
{
	const int64_t *o = md->outputs;
	for (int64_t k0 = 0, k1; k0 < md->n_outputs; k0 = k1) {
		int i = io_of(p->outputs, p->n_outputs, o[k0]);
		for (k1 = k0 + 1; k1 < md->n_outputs && io_of(p->outputs, p->n_outputs, o[k1]) == i; k1++)
			;
		const gb_pwl_io *io = &p->outputs[i];
		char base[80];
		snprintf(base, sizeof base, io->softmax ? "%s_logits" : "%s", out[i]);
		int64_t count = k1 - k0, step;
		bool run = progression(o + k0, count, &step);
		bool whole = count == io->size, slice = !whole && count > 1 && io->ndim == 1 && run;
		for (int64_t k = k0; k < k1; k++) {
			if (fc->n_res > 0)
				gb_strbuf_put(&fc->targets, ", ");
			mod_result *r = &fc->res[fc->n_res++];
			r->first = k;
			r->count = 1;
			r->ndim = 0;
			if (whole || slice) {
				r->count = count;
				r->ndim = whole ? io->ndim : 1;
				memcpy(r->dims, whole ? io->dims : &count, (size_t)r->ndim * sizeof *r->dims);
				if (whole)
					gb_strbuf_put(&fc->targets, base);
				else
					put_slice(&fc->targets, base, o[k0] - io->offset, count, step);
				break;
			}
			put_element(&fc->targets, base, io->ndim, io->dims, o[k] - io->offset);
		}
	}
	if (fc->n_res > 1)
		gb_strbuf_put(&fc->rtype, "(");
	for (int r = 0; r < fc->n_res; r++) {
		if (r)
			gb_strbuf_put(&fc->rtype, ", ");
		put_type(&fc->rtype, fc->res[r].ndim, fc->res[r].dims);
	}
	if (fc->n_res > 1)
		gb_strbuf_put(&fc->rtype, ")");
}

/* How module md's def is declared and called (false: out of memory). */
static bool face_build(mod_face *fc, const gb_pwl *p, char (*in)[64], char (*out)[64], const gb_dc_module *md,
                       bool flat)
{
	memset(fc, 0, sizeof *fc);
	fc->local = calloc((size_t)(md->n_inputs ? md->n_inputs : 1), sizeof *fc->local);
	fc->res = calloc((size_t)(md->n_outputs ? md->n_outputs : 1), sizeof *fc->res);
	if (!fc->local || !fc->res)
		return false;
	face_params(fc, p, in, md, flat);
	face_results(fc, p, out, md);
	return !(fc->params.oom || fc->args.oom || fc->from.oom || fc->rtype.oom || fc->targets.oom);
}

/* "\n# NAME: FROM -> TARGETS\ndef NAME(PARAMS) -> RTYPE:\n" */
static void put_def_head(gb_strbuf *b, const gb_dc_module *md, const mod_face *fc)
{
	gb_strbuf_printf(b, "\n# %s: %s -> %s\ndef %s(%s) -> %s:\n", md->name, fc->from.data ? fc->from.data : "nothing",
	                 fc->targets.data, md->name, fc->params.data ? fc->params.data : "", fc->rtype.data);
}

/* "TARGETS = NAME(ARGS)\n" */
static void put_def_call(gb_strbuf *b, const gb_dc_module *md, const mod_face *fc)
{
	gb_strbuf_printf(b, "%s = %s(%s)\n", fc->targets.data, md->name, fc->args.data ? fc->args.data : "");
}

/* Whether a def is worth writing for md: it reads something, and does
 * more than pass one input (scaled) to one output. */
static bool def_worthy(const gb_dc_module *md)
{
	return md->n_inputs >= 1 && (md->n_units > 0 || md->n_inputs >= 2 || md->n_outputs >= 2);
}

/* Which modules become defs (is_def): none unless there are two or more
 * and a def makes the program read better — one of them, worth a def,
 * has two outputs or more or inner structure (inner: shared names in
 * formulas, hidden units in layers), or two read two inputs or more.
 * eligible: modules a def may compute (not those a map writes). */
static bool plan_defs(const gb_dc_module *mods, int n_mods, const bool *eligible, const bool *inner, bool *is_def)
{
	bool worth = false;
	int wide = 0;
	for (int m = 0; m < n_mods; m++) {
		is_def[m] = false;
		if (!eligible[m] || !def_worthy(&mods[m]))
			continue;
		worth = worth || mods[m].n_outputs >= 2 || inner[m];
		wide += mods[m].n_inputs >= 2;
	}
	if (n_mods < 2 || !(worth || wide >= 2))
		return false;
	for (int m = 0; m < n_mods; m++)
		is_def[m] = eligible[m] && def_worthy(&mods[m]);
	return true;
}

/* value nested in shape dims (ndim 0: one item), items from *next on */
static void put_nested(gb_strbuf *b, int ndim, const int64_t *dims, char *const *items, int64_t *next)
{
	if (ndim == 0) {
		gb_strbuf_put(b, items[(*next)++]);
		return;
	}
	gb_strbuf_put(b, "[");
	for (int64_t t = 0; t < dims[0]; t++) {
		if (t)
			gb_strbuf_put(b, ", ");
		put_nested(b, ndim - 1, dims + 1, items, next);
	}
	gb_strbuf_put(b, "]");
}

/* Whether the formulas of module m read only its own inputs (stamp: the
 * nodes already seen for m hold m + 1). */
static bool reads_own(const gb_ex *e, const int *mod_of_in, int m, int *stamp)
{
	if (stamp[e->id] == m + 1)
		return true;
	stamp[e->id] = m + 1;
	if (e->kind == GB_EX_INPUT && mod_of_in[e->input] != m)
		return false;
	for (int k = 0; k < e->n_args; k++)
		if (!reads_own(e->args[k], mod_of_in, m, stamp))
			return false;
	return true;
}

static bool is_shared(const gb_ex *e, const int64_t *uses)
{
	return e && uses[e->id] >= 2 && e->kind != GB_EX_INPUT && e->kind != GB_EX_LIN;
}

/* Which modules the formulas write as defs (is_def; false: none): the
 * modules a map does not touch, by plan_defs, when every module's
 * formulas read only its own inputs. uses is scratch. */
static gb_status plan_formula_defs(const fctx *f, const gb_dc_module *mods, int n_mods, const bool *covered,
                                   const gb_ex *const *by_id, int64_t *uses, bool *is_def, bool *modular)
{
	const gb_pwl *p = f->p;
	int64_t n = f->lf->n_nodes;
	*modular = false;
	if (!mods || n_mods < 2)
		return GB_OK;
	int *mod_of_in = malloc((size_t)(p->n_in ? p->n_in : 1) * sizeof *mod_of_in);
	int *stamp = calloc((size_t)(n ? n : 1), sizeof *stamp);
	bool *eligible = calloc((size_t)n_mods, sizeof *eligible), *inner = calloc((size_t)n_mods, sizeof *inner);
	bool own = true;
	if (!mod_of_in || !stamp || !eligible || !inner) {
		free(mod_of_in);
		free(stamp);
		free(eligible);
		free(inner);
		return GB_STATUS_NOMEM;
	}
	for (int64_t j = 0; j < p->n_in; j++)
		mod_of_in[j] = -1;
	for (int m = 0; m < n_mods; m++)
		for (int64_t k = 0; k < mods[m].n_inputs; k++)
			mod_of_in[mods[m].inputs[k]] = m;
	for (int m = 0; m < n_mods && own; m++) {
		eligible[m] = true;
		memset(uses, 0, (size_t)(n ? n : 1) * sizeof *uses);
		for (int64_t k = 0; k < mods[m].n_outputs; k++) {
			const gb_ex *e = f->lf->outs[mods[m].outputs[k]];
			eligible[m] = eligible[m] && !covered[mods[m].outputs[k]];
			own = own && reads_own(e, mod_of_in, m, stamp);
			count_uses(e, uses);
		}
		for (int64_t id = 0; id < n && !inner[m]; id++)
			inner[m] = is_shared(by_id[id], uses);
	}
	if (own)
		*modular = plan_defs(mods, n_mods, eligible, inner, is_def);
	memset(uses, 0, (size_t)(n ? n : 1) * sizeof *uses);
	free(mod_of_in);
	free(stamp);
	free(eligible);
	free(inner);
	return GB_OK;
}

/* A local name for what becomes output element text ("y[1]" -> "y_1"),
 * distinct from the def's parameters and shared names. */
static void local_name(const char *text, char *const *names, int64_t n, char *out, size_t size)
{
	size_t len = 0;
	for (const char *c = text; *c && len + 5 < size; c++)
		if (*c == '[' || *c == ',')
			out[len++] = '_';
		else if (*c != ']' && *c != ' ')
			out[len++] = *c;
	out[len] = '\0';
	bool clash = strcmp(out, "v") == 0 || strncmp(out, "v_", 2) == 0;
	for (int64_t id = 0; id < n && !clash; id++)
		clash = names[id] && strcmp(names[id], out) == 0;
	if (clash)
		snprintf(out + len, size - len, "_out");
}

/* Module md as a def (into defs: a comment naming what it reads and
 * writes, the def) and its call (into call). Shared parts of its formulas
 * are named inside it; results longer than a line are named first. */
static gb_status formula_def(const fctx *f, const gb_dc_module *md, char (*out)[64], const gb_ex *const *by_id,
                             int64_t *uses, int64_t *counter, const char **input_text, gb_strbuf *defs,
                             gb_strbuf *call)
{
	const gb_pwl *p = f->p;
	int64_t n = f->lf->n_nodes;
	mod_face fc;
	gb_strbuf body = {0};
	char **items = calloc((size_t)(md->n_outputs ? md->n_outputs : 1), sizeof *items);
	gb_status st = GB_OK;
	bool ok = face_build(&fc, p, f->in, out, md, false) && items;
	for (int64_t k = 0; ok && k < md->n_inputs; k++)
		input_text[md->inputs[k]] = fc.local[k];
	fctx mf = *f;
	mf.input_text = input_text;
	memset(uses, 0, (size_t)(n ? n : 1) * sizeof *uses);
	for (int64_t k = 0; ok && k < md->n_outputs; k++)
		count_uses(f->lf->outs[md->outputs[k]], uses);
	for (int64_t id = 0; ok && id < n; id++) {
		const gb_ex *e = by_id[id];
		if (!is_shared(e, uses))
			continue;
		char name[64];
		snprintf(name, sizeof name, "%s%lld", kind_word(e->kind), (long long)++counter[e->kind]);
		ok = (f->names[id] = gb_strdup(name)) != NULL;
		gb_strbuf_printf(&body, "    %s = ", name);
		put_ex(&body, &mf, e, true);
		gb_strbuf_put(&body, "\n");
	}
	size_t width = 0;
	for (int64_t k = 0; ok && k < md->n_outputs; k++) {
		gb_strbuf tb = {0};
		put_ex(&tb, &mf, f->lf->outs[md->outputs[k]], false);
		items[k] = tb.data;
		ok = !tb.oom && tb.data;
		width += ok ? strlen(tb.data) + 2 : 0;
	}
	if (ok && md->n_outputs >= 2 && width > 72) /* too long for one return line */
		for (int64_t k = 0; ok && k < md->n_outputs; k++) {
			int64_t o = md->outputs[k];
			int i = io_of(p->outputs, p->n_outputs, o);
			char elem[128], local[140];
			gb_dc_element_name(out[i], p->outputs[i].ndim, p->outputs[i].dims, o - p->outputs[i].offset, elem,
			                   sizeof elem);
			local_name(elem, f->names, n, local, sizeof local);
			gb_strbuf_printf(&body, "    %s = %s\n", local, items[k]);
			free(items[k]);
			ok = (items[k] = gb_strdup(local)) != NULL;
		}
	if (ok) {
		put_def_head(defs, md, &fc);
		if (body.data)
			gb_strbuf_put(defs, body.data);
		gb_strbuf_put(defs, "    return ");
		for (int r = 0; r < fc.n_res; r++) {
			int64_t next = fc.res[r].first;
			if (r)
				gb_strbuf_put(defs, ", ");
			put_nested(defs, fc.res[r].ndim, fc.res[r].dims, items, &next);
		}
		gb_strbuf_put(defs, "\n");
		put_def_call(call, md, &fc);
	}
	if (!ok || body.oom)
		st = GB_STATUS_NOMEM;
	/* its names and inputs belong to the def alone */
	for (int64_t id = 0; id < n; id++)
		if (is_shared(by_id[id], uses)) {
			free(f->names[id]);
			f->names[id] = NULL;
		}
	for (int64_t k = 0; k < md->n_inputs; k++)
		input_text[md->inputs[k]] = NULL;
	for (int64_t k = 0; items && k < md->n_outputs; k++)
		free(items[k]);
	free(items);
	free(body.data);
	face_free(&fc);
	return st;
}

/* output element e of tensor io as "TARGET[...] = FORMULA\n" */
static void put_output_line(gb_strbuf *b, const fctx *f, const gb_pwl_io *io, const char *target, int64_t e)
{
	put_element(b, target, io->ndim, io->dims, e);
	gb_strbuf_put(b, " = ");
	put_ex(b, f, f->lf->outs[io->offset + e], false);
	gb_strbuf_put(b, "\n");
}

gb_status gb_dc_write_formulas(const gb_pwl *p, const gb_lift *lf, const gb_dc_module *mods, int n_mods, char **text,
                               gb_dc_map *maps, int *n_maps, gb_error *err)
{
	char in[64][64], out[64][64];
	gb_dc_io_names(p, in, out);
	gb_strbuf b = {0};
	int64_t n = lf->n_nodes;
	const gb_ex **by_id = calloc((size_t)(n ? n : 1), sizeof *by_id);
	unsigned char *seen = calloc((size_t)(n ? n : 1), 1);
	char **names = calloc((size_t)(n ? n : 1), sizeof *names);
	bool *covered = NULL, *is_def = NULL, modular = false;
	int64_t *uses = NULL;
	const char **input_text = NULL;
	char **calls = NULL; /* by module: its def's call */
	gb_status st = GB_OK;
	if (!by_id || !seen || !names) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	for (int64_t o = 0; o < p->n_out; o++)
		collect(lf->outs[o], by_id, seen);
	gb_dc_declare_io(&b, p, in, out, true);
	fctx f = {p, lf, in, names, NULL, 0, NULL};
	gb_strbuf defs = {0}, map_lines = {0};
	covered = calloc((size_t)(p->n_out ? p->n_out : 1), sizeof *covered);
	uses = calloc((size_t)(n ? n : 1), sizeof *uses);
	is_def = calloc((size_t)(n_mods > 0 ? n_mods : 1), sizeof *is_def);
	calls = calloc((size_t)(n_mods > 0 ? n_mods : 1), sizeof *calls);
	input_text = calloc((size_t)(p->n_in ? p->n_in : 1), sizeof *input_text);
	if (!covered || !uses || !is_def || !calls || !input_text ||
	    find_maps(&defs, &map_lines, &f, out, covered, maps, n_maps) != GB_OK || defs.oom || map_lines.oom ||
	    plan_formula_defs(&f, mods, n_mods, covered, by_id, uses, is_def, &modular) != GB_OK) {
		free(defs.data);
		free(map_lines.data);
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	/* shared names count 1, 2, ... through the defs and then the top level */
	int64_t counter[8] = {0};
	for (int m = 0; modular && m < n_mods && st == GB_OK; m++) {
		if (!is_def[m])
			continue;
		gb_strbuf call = {0};
		st = formula_def(&f, &mods[m], out, by_id, uses, counter, input_text, &defs, &call);
		calls[m] = call.data;
		if (st == GB_OK && (call.oom || !call.data))
			st = GB_STATUS_NOMEM;
	}
	if (st != GB_OK) {
		free(defs.data);
		free(map_lines.data);
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	if (defs.data)
		gb_strbuf_put(&b, defs.data);
	free(defs.data);
	memset(uses, 0, (size_t)(n ? n : 1) * sizeof *uses);
	for (int m = 0; modular && m < n_mods; m++)
		for (int64_t k = 0; is_def[m] && k < mods[m].n_outputs; k++)
			covered[mods[m].outputs[k]] = true; /* its def writes it */
	for (int64_t o = 0; o < p->n_out; o++)
		if (!covered[o])
			count_uses(lf->outs[o], uses);
	/* shared nonlinear parts get names, in creation order (arguments first) */
	bool any = false;
	for (int64_t id = 0; id < n; id++) {
		const gb_ex *e = by_id[id];
		if (!e || uses[id] < 2 || e->kind == GB_EX_INPUT || e->kind == GB_EX_LIN)
			continue;
		char name[64];
		snprintf(name, sizeof name, "%s%lld", kind_word(e->kind), (long long)++counter[e->kind]);
		names[id] = gb_strdup(name);
		if (!names[id]) {
			free(map_lines.data);
			st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
			goto done;
		}
		if (!any)
			gb_strbuf_put(&b, "\n");
		any = true;
		gb_strbuf_printf(&b, "%s = ", name);
		put_ex(&b, &f, e, true);
		gb_strbuf_put(&b, "\n");
	}
	gb_strbuf_put(&b, "\n");
	if (map_lines.data)
		gb_strbuf_put(&b, map_lines.data);
	free(map_lines.data);
	if (!modular) {
		for (int i = 0; i < p->n_outputs; i++) {
			const gb_pwl_io *io = &p->outputs[i];
			char target[80];
			snprintf(target, sizeof target, io->softmax ? "%s_logits" : "%s", out[i]);
			if (io->softmax)
				gb_strbuf_printf(&b, "%s: f32[%lld]\n", target, (long long)io->size);
			for (int64_t e = 0; e < io->size; e++)
				if (!covered[io->offset + e])
					put_output_line(&b, &f, io, target, e);
			if (io->softmax)
				gb_strbuf_printf(&b, "%s = %s(%s)\n", out[i], gb_pwl_softmax_prim(io->softmax), target);
		}
	} else { /* module by module: a def's call, or the module's own lines */
		for (int i = 0; i < p->n_outputs; i++)
			if (p->outputs[i].softmax)
				gb_strbuf_printf(&b, "%s_logits: f32[%lld]\n", out[i], (long long)p->outputs[i].size);
		for (int m = 0; m < n_mods; m++) {
			if (is_def[m]) {
				gb_strbuf_put(&b, calls[m]);
				continue;
			}
			for (int64_t k = 0; k < mods[m].n_outputs; k++) {
				int64_t o = mods[m].outputs[k];
				if (covered[o])
					continue;
				const gb_pwl_io *io = &p->outputs[io_of(p->outputs, p->n_outputs, o)];
				char target[80];
				snprintf(target, sizeof target, io->softmax ? "%s_logits" : "%s", out[io - p->outputs]);
				put_output_line(&b, &f, io, target, o - io->offset);
			}
		}
		for (int i = 0; i < p->n_outputs; i++)
			if (p->outputs[i].softmax)
				gb_strbuf_printf(&b, "%s = %s(%s_logits)\n", out[i], gb_pwl_softmax_prim(p->outputs[i].softmax), out[i]);
	}
	if (b.oom)
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
done:
	for (int64_t id = 0; names && id < n; id++)
		free(names[id]);
	for (int m = 0; calls && m < n_mods; m++)
		free(calls[m]);
	free(calls);
	free(names);
	free(by_id);
	free(seen);
	free(covered);
	free(uses);
	free(is_def);
	free(input_text);
	if (st != GB_OK) {
		free(b.data);
		return st;
	}
	*text = b.data;
	return GB_OK;
}

/* ---- layers --------------------------------------------------------------------------- */

/* A block of sources: an input tensor, or the units of one depth. */
typedef struct block {
	char name[80];
	int64_t n;
	int64_t *members; /* source indices, in order */
} block;

typedef struct lctx {
	const gb_pwl *p;
	gb_strbuf *b;
	gb_tensor_map *weights;
	int64_t inline_max; /* weights with at most this many elements are written inline */
	int64_t params;     /* nonzero weights and biases written */
	int64_t ops;
	const char *prefix; /* before every param name: "" or, in a module's def, "module1_" */
	gb_error *err;
	gb_status st;
} lctx;

void gb_dc_put_param(gb_dc_params *w, const char *name, const float *data, int ndim, const int64_t *dims)
{
	int64_t n = 1;
	for (int a = 0; a < ndim; a++)
		n *= dims[a];
	for (int64_t i = 0; i < n; i++)
		w->params += data[i] != 0.0f;
	gb_strbuf_printf(w->b, "param %s: ", name);
	put_type(w->b, ndim, dims);
	if (n <= w->inline_max) {
		gb_strbuf_put(w->b, " = ");
		for (int64_t i = 0; i < n; i++) {
			int64_t inner = 1;
			for (int a = ndim - 1; a >= 0; a--) {
				inner *= dims[a];
				if (i % inner == 0)
					gb_strbuf_put(w->b, "[");
			}
			put_float(w->b, data[i]);
			inner = 1;
			for (int a = ndim - 1; a >= 0; a--) {
				inner *= dims[a];
				if ((i + 1) % inner == 0)
					gb_strbuf_put(w->b, "]");
			}
			if (i + 1 < n)
				gb_strbuf_put(w->b, ", ");
		}
		gb_strbuf_put(w->b, "\n");
		return;
	}
	gb_strbuf_printf(w->b, " = weights[\"%s\"]\n", name);
	gb_tensor t = {.dtype = GB_DTYPE_F32, .ndim = ndim, .data = (void *)data};
	memcpy(t.dims, dims, (size_t)ndim * sizeof *dims);
	if (w->st == GB_OK)
		w->st = gb_tensor_map_put(w->weights, name, &t, w->err);
}

/* param NAME: f32[r, c] = (inline literal | weights["NAME"]) */
static void put_param(lctx *L, const char *name, const float *data, int ndim, const int64_t *dims)
{
	gb_dc_params w = {L->b, L->weights, L->inline_max, 0, L->err, L->st};
	gb_dc_put_param(&w, name, data, ndim, dims);
	L->params += w.params;
	L->st = w.st;
}

/* Comment lines naming each first-layer unit's figure (its position in
 * the layer's block: where_pos). remap: the figures' units as p's (NULL:
 * the same; -1: not in p). */
static void put_figures(gb_strbuf *b, const gb_pwl *p, const gb_dc_figures *figs, const int64_t *remap,
                        const char *tag, const int64_t *where_pos)
{
	int64_t shown = 0;
	for (int64_t k = 0; figs && k < figs->n; k++)
		shown += !remap || remap[figs->units[k]] >= 0;
	if (shown == 0)
		return;
	gb_strbuf_printf(b, "# what each unit of %s looks at (its input weights; red +, blue -):\n", tag);
	for (int64_t k = 0; k < figs->n; k++) {
		int64_t u = remap ? remap[figs->units[k]] : figs->units[k];
		if (u < 0)
			continue;
		gb_strbuf_printf(b, "#   %s[%lld]: %s/unit%03lld.png", tag, (long long)where_pos[p->n_in + u], figs->ref,
		                 (long long)k);
		for (int q = 0; figs->top && q < figs->k && figs->top[k * figs->k + q] >= 0; q++)
			gb_strbuf_printf(b, "%s%lld", q ? ", " : "; strongest on data examples ",
			                 (long long)figs->top[k * figs->k + q]);
		gb_strbuf_put(b, "\n");
	}
}

/* param TAG_SUFFIX: f32[n] holding the rows' biases; its name to name. */
static bool put_bias(lctx *L, const char *tag, const char *suffix, const gb_row *const *rows, int64_t n, char *name,
                     size_t size)
{
	float *bias = malloc((size_t)(n ? n : 1) * sizeof *bias);
	if (!bias) {
		L->st = gb_fail(L->err, GB_STATUS_NOMEM, "decompile: out of memory");
		return false;
	}
	for (int64_t r = 0; r < n; r++)
		bias[r] = (float)rows[r]->b;
	snprintf(name, size, "%s%s_%s", L->prefix, tag, suffix);
	put_param(L, name, bias, 1, &n);
	free(bias);
	return true;
}

/* Writes the pre-activation of `rows` (n rows) as a sum of dense blocks:
 * returns the expression text in *expr (caller frees). */
static char *dense_sum(lctx *L, const char *tag, const gb_row *const *rows, int64_t n, const block *blocks,
                       int n_blocks, const int64_t *where_block, const int64_t *where_pos)
{
	gb_strbuf e = {0};
	bool first = true, bias_done = false;
	bool any_bias = false;
	for (int64_t r = 0; r < n; r++)
		any_bias = any_bias || rows[r]->b != 0.0;
	for (int k = 0; k < n_blocks; k++) {
		bool used = false;
		for (int64_t r = 0; r < n && !used; r++)
			for (int t = 0; t < rows[r]->n && !used; t++)
				used = where_block[rows[r]->idx[t]] == k;
		if (!used)
			continue;
		float *w = calloc((size_t)(n * blocks[k].n), sizeof *w);
		if (!w) {
			L->st = gb_fail(L->err, GB_STATUS_NOMEM, "decompile: out of memory");
			free(e.data);
			return NULL;
		}
		for (int64_t r = 0; r < n; r++)
			for (int t = 0; t < rows[r]->n; t++)
				if (where_block[rows[r]->idx[t]] == k)
					w[r * blocks[k].n + where_pos[rows[r]->idx[t]]] = (float)rows[r]->w[t];
		char wname[200];
		snprintf(wname, sizeof wname, "%s%s_from_%s", L->prefix, tag, blocks[k].name);
		int64_t dims[2] = {n, blocks[k].n};
		put_param(L, wname, w, 2, dims);
		free(w);
		gb_strbuf_printf(&e, "%sdense(%s, %s", first ? "" : " + ", blocks[k].name, wname);
		L->ops += 1 + !first;
		if (any_bias && !bias_done) {
			char bname[200];
			if (!put_bias(L, tag, "bias", rows, n, bname, sizeof bname)) {
				free(e.data);
				return NULL;
			}
			gb_strbuf_printf(&e, ", %s", bname);
			bias_done = true;
		}
		gb_strbuf_put(&e, ")");
		first = false;
	}
	if (first) { /* reads nothing: a constant */
		char bname[200];
		if (!put_bias(L, tag, "constant", rows, n, bname, sizeof bname))
			return NULL;
		gb_strbuf_put(&e, bname);
	}
	if (e.oom) {
		L->st = gb_fail(L->err, GB_STATUS_NOMEM, "decompile: out of memory");
		free(e.data);
		return NULL;
	}
	return e.data;
}

/* Whether the first layer is a convolution over the (single) input seen
 * as an image: its shape when it has three axes (two: one channel), else
 * C x S x S for C = 1..4 when the features make such a square. The DAG's
 * rows are in double; tol is relative to the largest weight. */
static bool first_layer_conv(const gb_pwl *p, const int *depth, gb_conv_found *found, int64_t img[3])
{
	if (p->n_inputs != 1)
		return false;
	int64_t rows = 0;
	for (int64_t u = 0; u < p->n_units; u++)
		rows += depth[u] == 1;
	int64_t n = p->n_in;
	if (rows < 2 || rows * n > ((int64_t)1 << 26))
		return false;
	double *W = calloc((size_t)(rows * n), sizeof *W), *b = malloc((size_t)rows * sizeof *b);
	bool ok = W && b;
	int64_t r = 0;
	for (int64_t u = 0; ok && u < p->n_units; u++) {
		if (depth[u] != 1)
			continue;
		const gb_row *row = &p->units[u];
		for (int k = 0; k < row->n; k++)
			W[r * n + row->idx[k]] = row->w[k];
		b[r++] = row->b;
	}
	int64_t shapes[8][3], n_shapes = 0;
	const gb_pwl_io *io = &p->inputs[0];
	if (io->ndim == 3)
		memcpy(shapes[n_shapes++], io->dims, sizeof shapes[0]);
	else if (io->ndim == 2)
		shapes[n_shapes][0] = 1, shapes[n_shapes][1] = io->dims[0], shapes[n_shapes++][2] = io->dims[1];
	else
		for (int64_t c = 1; c <= 4; c++) {
			if (n % c)
				continue;
			int64_t side = (int64_t)llround(sqrt((double)(n / c)));
			if (side >= 3 && side * side * c == n)
				shapes[n_shapes][0] = c, shapes[n_shapes][1] = side, shapes[n_shapes++][2] = side;
		}
	bool hit = false;
	for (int64_t i = 0; ok && !hit && i < n_shapes; i++)
		if (gb_conv_find(W, b, rows, shapes[i][0], shapes[i][1], shapes[i][2], 1e-6, found)) {
			hit = true;
			memcpy(img, shapes[i], sizeof shapes[i]);
		}
	free(W);
	free(b);
	return hit;
}

/* The layers of q: its params into L->b (names after L->prefix), the lines
 * computing its blocks into body, and each output tensor's pre-activation
 * (a sum of dense blocks) into pre[i] (malloc'ed). q's tensors are named
 * in[] and out[]. conv_ok: the first layer may be read as conv2d (then
 * *conv describes it). Figures' units are remap[u] in q (remap NULL: the
 * same). Failures go to L->st. */
static void layers_core(lctx *L, const gb_pwl *q, char (*in)[64], char (*out)[64], bool conv_ok, gb_dc_conv *conv,
                        const gb_dc_figures *figs, const int64_t *remap, gb_strbuf *body, char **pre)
{
	gb_conv_found cf = {0};
	int64_t img[3] = {0};
	bool is_conv = false;
	int64_t width = q->n_in + q->n_units;
	int *depth = calloc((size_t)(q->n_units ? q->n_units : 1), sizeof *depth);
	int64_t *where_block = malloc((size_t)(width ? width : 1) * sizeof *where_block);
	int64_t *where_pos = malloc((size_t)(width ? width : 1) * sizeof *where_pos);
	block *blocks = NULL;
	const gb_row **rows = malloc((size_t)(q->n_units + q->n_out + 1) * sizeof *rows);
	int n_blocks = 0, max_depth = 0;
	if (!depth || !where_block || !where_pos || !rows) {
		L->st = gb_fail(L->err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	gb_pwl_depths(q, depth);
	for (int64_t u = 0; u < q->n_units; u++)
		max_depth = depth[u] > max_depth ? depth[u] : max_depth;
	blocks = calloc((size_t)(q->n_inputs + max_depth), sizeof *blocks);
	if (!blocks) {
		L->st = gb_fail(L->err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	for (int i = 0; i < q->n_inputs; i++, n_blocks++) {
		block *bk = &blocks[n_blocks];
		const gb_pwl_io *io = &q->inputs[i];
		if (io->ndim == 1)
			snprintf(bk->name, sizeof bk->name, "%s", in[i]);
		else
			snprintf(bk->name, sizeof bk->name, "%s_flat", in[i]);
		bk->n = io->size;
		for (int64_t e = 0; e < io->size; e++) {
			where_block[io->offset + e] = n_blocks;
			where_pos[io->offset + e] = e;
		}
	}
	is_conv = conv_ok && first_layer_conv(q, depth, &cf, img);
	for (int d = 1; d <= max_depth; d++, n_blocks++) {
		block *bk = &blocks[n_blocks];
		if (max_depth == 1)
			snprintf(bk->name, sizeof bk->name, "hidden");
		else
			snprintf(bk->name, sizeof bk->name, "layer%d", d);
		for (int64_t u = 0; u < q->n_units; u++)
			if (depth[u] == d) {
				where_block[q->n_in + u] = n_blocks;
				where_pos[q->n_in + u] = bk->n++;
			}
	}
	if (is_conv) { /* layer 1 is read as flatten(conv2d(...)): (o, i, j) order */
		int64_t *unit_of_row = malloc((size_t)(q->n_units + 1) * sizeof *unit_of_row), r = 0;
		if (!unit_of_row) {
			L->st = gb_fail(L->err, GB_STATUS_NOMEM, "decompile: out of memory");
			goto done;
		}
		for (int64_t u = 0; u < q->n_units; u++)
			if (depth[u] == 1)
				unit_of_row[r++] = u;
		int64_t positions = cf.filters * cf.out_h * cf.out_w;
		for (int64_t k = 0; k < positions; k++)
			where_pos[q->n_in + unit_of_row[cf.unit[k]]] = k;
		free(unit_of_row);
		*conv = (gb_dc_conv){cf.filters, {cf.kh, cf.kw}, {cf.stride_h, cf.stride_w}, {cf.pad_h, cf.pad_w},
		                     {img[0], img[1], img[2]}};
	}
	for (int i = 0; i < q->n_inputs; i++)
		if (q->inputs[i].ndim != 1 && !is_conv) {
			if (q->inputs[i].ndim == 0)
				gb_strbuf_printf(body, "%s = reshape(%s, [1])\n", blocks[i].name, in[i]);
			else
				gb_strbuf_printf(body, "%s = flatten(%s)\n", blocks[i].name, in[i]);
			L->ops++;
		}
	if (is_conv) {
		const char *tag = blocks[q->n_inputs].name;
		char image[96], kname[96], bname[96];
		if (q->inputs[0].ndim == 3) {
			snprintf(image, sizeof image, "%s", in[0]);
		} else {
			snprintf(image, sizeof image, "%s_image", in[0]);
			gb_strbuf_printf(body, "%s = reshape(%s, [%lld, %lld, %lld])\n", image, in[0], (long long)img[0],
			                 (long long)img[1], (long long)img[2]);
			L->ops++;
		}
		snprintf(kname, sizeof kname, "%s%s_kernel", L->prefix, tag);
		snprintf(bname, sizeof bname, "%s%s_bias", L->prefix, tag);
		int64_t kd[4] = {cf.filters, img[0], cf.kh, cf.kw};
		put_param(L, kname, cf.kernel, 4, kd);
		put_param(L, bname, cf.bias, 1, &cf.filters);
		put_figures(body, q, figs, remap, tag, where_pos);
		gb_strbuf_printf(body,
		                 "%s_maps = relu(conv2d(%s, %s, bias=%s, stride=[%lld, %lld], padding=[%lld, %lld]))"
		                 "  # %lld dense units = %lld filters x %lldx%lld positions\n",
		                 tag, image, kname, bname, (long long)cf.stride_h, (long long)cf.stride_w,
		                 (long long)cf.pad_h, (long long)cf.pad_w, (long long)(cf.filters * cf.out_h * cf.out_w),
		                 (long long)cf.filters, (long long)cf.out_h, (long long)cf.out_w);
		gb_strbuf_printf(body, "%s = flatten(%s_maps)\n", tag, tag);
		L->ops += 3;
	}
	for (int d = is_conv ? 2 : 1; d <= max_depth && L->st == GB_OK; d++) {
		int64_t n = 0;
		for (int64_t u = 0; u < q->n_units; u++)
			if (depth[u] == d)
				rows[n++] = &q->units[u];
		char tag[80];
		snprintf(tag, sizeof tag, "%s", blocks[q->n_inputs + d - 1].name);
		char *sum = dense_sum(L, tag, rows, n, blocks, n_blocks, where_block, where_pos);
		if (!sum)
			break;
		if (d == 1)
			put_figures(body, q, figs, remap, tag, where_pos);
		gb_strbuf_printf(body, "%s = relu(%s)  # %lld units\n", tag, sum, (long long)n);
		L->ops++;
		free(sum);
	}
	for (int i = 0; i < q->n_outputs && L->st == GB_OK; i++) {
		const gb_pwl_io *io = &q->outputs[i];
		for (int64_t e = 0; e < io->size; e++)
			rows[e] = &q->outs[io->offset + e];
		pre[i] = dense_sum(L, out[i], rows, io->size, blocks, n_blocks, where_block, where_pos);
		if (!pre[i])
			break;
	}
	if (body->oom && L->st == GB_OK)
		L->st = gb_fail(L->err, GB_STATUS_NOMEM, "decompile: out of memory");
done:
	gb_conv_found_free(&cf);
	free(depth);
	free(where_block);
	free(where_pos);
	free(blocks);
	free(rows);
}

/* Whether p's first layer reads as a convolution (then the network is
 * written whole, as conv2d, rather than module by module). */
static bool layer_one_is_conv(const gb_pwl *p)
{
	gb_conv_found cf = {0};
	int64_t img[3];
	int *depth = calloc((size_t)(p->n_units ? p->n_units : 1), sizeof *depth);
	if (!depth)
		return false;
	gb_pwl_depths(p, depth);
	bool hit = first_layer_conv(p, depth, &cf, img);
	gb_conv_found_free(&cf);
	free(depth);
	return hit;
}

/* Module md of p as a DAG of its own (*out): input "v" (its inputs, in
 * order), the units its outputs read (remap[u]: unit u's number there, or
 * -1), output out_name (its outputs, in order). GB_STATUS_FAILURE when md
 * reads an input outside it (gb_dc_modules would not say so). */
static gb_status module_dag(const gb_pwl *p, const gb_dc_module *md, const char *out_name, int64_t *remap,
                            gb_pwl **out)
{
	int64_t width = p->n_in + p->n_units;
	int64_t *src = malloc((size_t)(width ? width : 1) * sizeof *src);
	unsigned char *needed = calloc((size_t)(width ? width : 1), 1);
	gb_pwl *q = calloc(1, sizeof *q);
	gb_row row = {0};
	gb_status st = GB_OK;
	*out = NULL;
	if (!src || !needed || !q)
		goto nomem;
	q->inputs = calloc(1, sizeof *q->inputs);
	q->outputs = calloc(1, sizeof *q->outputs);
	q->outs = calloc((size_t)md->n_outputs, sizeof *q->outs);
	if (!q->inputs || !q->outputs || !q->outs)
		goto nomem;
	q->n_inputs = q->n_outputs = 1;
	q->inputs[0] = (gb_pwl_io){.name = gb_strdup("v"), .ndim = 1, .dims = {md->n_inputs}, .size = md->n_inputs};
	q->outputs[0] = (gb_pwl_io){.name = gb_strdup(out_name), .ndim = 1, .dims = {md->n_outputs},
	                            .size = md->n_outputs};
	q->n_in = md->n_inputs;
	q->n_out = md->n_outputs;
	if (!q->inputs[0].name || !q->outputs[0].name)
		goto nomem;
	/* the units its outputs read, directly or through other units */
	for (int64_t k = 0; k < md->n_outputs; k++) {
		const gb_row *r = &p->outs[md->outputs[k]];
		for (int t = 0; t < r->n; t++)
			needed[r->idx[t]] = 1;
	}
	for (int64_t u = p->n_units - 1; u >= 0; u--)
		for (int t = 0; needed[p->n_in + u] && t < p->units[u].n; t++)
			needed[p->units[u].idx[t]] = 1;
	for (int64_t j = 0; j < width; j++)
		src[j] = -1;
	for (int64_t k = 0; k < md->n_inputs; k++)
		src[md->inputs[k]] = k;
	for (int64_t j = 0; j < p->n_in; j++)
		if (needed[j] && src[j] < 0) {
			st = GB_STATUS_FAILURE;
			goto done;
		}
	/* rows renumbered: inputs and units keep their order, so rows stay sorted */
	for (int64_t u = 0; u < p->n_units; u++) {
		remap[u] = -1;
		if (!needed[p->n_in + u])
			continue;
		if (!gb_row_copy(&row, &p->units[u]))
			goto nomem;
		for (int t = 0; t < row.n; t++)
			row.idx[t] = (int)src[row.idx[t]];
		src[p->n_in + u] = gb_pwl_add_unit(q, &row);
		if (src[p->n_in + u] < 0)
			goto nomem;
		remap[u] = src[p->n_in + u] - q->n_in;
	}
	for (int64_t k = 0; k < md->n_outputs; k++) {
		if (!gb_row_copy(&q->outs[k], &p->outs[md->outputs[k]]))
			goto nomem;
		for (int t = 0; t < q->outs[k].n; t++)
			q->outs[k].idx[t] = (int)src[q->outs[k].idx[t]];
	}
	*out = q;
	q = NULL;
	goto done;
nomem:
	st = GB_STATUS_NOMEM;
done:
	gb_row_free(&row);
	free(src);
	free(needed);
	gb_pwl_free(q);
	return st;
}

/* text with indent before every line */
static void put_indented(gb_strbuf *b, const char *text, const char *indent)
{
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
		gb_strbuf_put(b, indent);
		gb_strbuf_put_n(b, line, n);
		line += n;
	}
}

/* Module md as a def of dense layers (into defs, its params into L->b,
 * named after the module) and its call (into call). */
static void layers_def(lctx *L, const gb_pwl *p, char (*in)[64], char (*out)[64], const gb_dc_module *md,
                       const gb_dc_figures *figs, gb_strbuf *defs, gb_strbuf *call)
{
	mod_face fc;
	gb_pwl *q = NULL;
	int64_t *remap = malloc((size_t)(p->n_units ? p->n_units : 1) * sizeof *remap);
	gb_strbuf body = {0};
	char *pre = NULL;
	gb_status st = face_build(&fc, p, in, out, md, true) && remap ? GB_OK : GB_STATUS_NOMEM;
	if (st == GB_OK) {
		int first = io_of(p->outputs, p->n_outputs, md->outputs[0]);
		int last = io_of(p->outputs, p->n_outputs, md->outputs[md->n_outputs - 1]);
		st = module_dag(p, md, first == last ? out[first] : "out", remap, &q);
	}
	if (st == GB_STATUS_FAILURE) {
		L->st = gb_fail(L->err, st, "decompile: %s reads inputs outside it (a glassbox bug)", md->name);
		goto done;
	}
	if (st != GB_OK) {
		L->st = gb_fail(L->err, st, "decompile: out of memory");
		goto done;
	}
	char qin[64][64], qout[64][64], prefix[48];
	gb_dc_io_names(q, qin, qout);
	snprintf(prefix, sizeof prefix, "%s_", md->name);
	gb_dc_conv none;
	L->prefix = prefix;
	layers_core(L, q, qin, qout, false, &none, figs, remap, &body, &pre);
	L->prefix = "";
	if (L->st != GB_OK)
		goto done;
	put_def_head(defs, md, &fc);
	put_indented(defs, body.data, "    ");
	const mod_result *r0 = &fc.res[0];
	if (fc.n_res == 1 && r0->count == md->n_outputs) { /* one result: the whole vector */
		if (r0->ndim == 1)
			gb_strbuf_printf(defs, "    return %s\n", pre);
		else if (r0->ndim == 0)
			gb_strbuf_printf(defs, "    return (%s)[0]\n", pre);
		else {
			gb_strbuf_printf(defs, "    return reshape(%s, ", pre);
			for (int a = 0; a < r0->ndim; a++)
				gb_strbuf_printf(defs, "%s%lld", a ? ", " : "[", (long long)r0->dims[a]);
			gb_strbuf_put(defs, "])\n");
			L->ops++;
		}
	} else { /* the vector, then its parts */
		gb_strbuf_printf(defs, "    %s = %s\n    return ", qout[0], pre);
		for (int r = 0; r < fc.n_res; r++) {
			const mod_result *res = &fc.res[r];
			if (r)
				gb_strbuf_put(defs, ", ");
			if (res->ndim == 0) {
				gb_strbuf_printf(defs, "%s[%lld]", qout[0], (long long)res->first);
				continue;
			}
			if (res->ndim > 1)
				gb_strbuf_put(defs, "reshape(");
			put_slice(defs, qout[0], res->first, res->count, 1);
			if (res->ndim > 1) {
				for (int a = 0; a < res->ndim; a++)
					gb_strbuf_printf(defs, "%s%lld", a ? ", [" : ", [", (long long)res->dims[a]);
				gb_strbuf_put(defs, "])");
				L->ops++;
			}
		}
		gb_strbuf_put(defs, "\n");
	}
	put_def_call(call, md, &fc);
	L->ops++;
	if (body.oom || defs->oom || call->oom)
		L->st = gb_fail(L->err, GB_STATUS_NOMEM, "decompile: out of memory");
done:
	free(pre);
	free(body.data);
	free(remap);
	gb_pwl_free(q);
	face_free(&fc);
}

/* b + sum w * input: a row that reads inputs only, as a formula. */
static void put_affine(gb_strbuf *b, const gb_pwl *p, char (*in)[64], const gb_row *row)
{
	for (int k = 0; k < row->n; k++) {
		double c = row->w[k];
		if (k == 0 && c == -1.0)
			gb_strbuf_put(b, "-");
		else if (k > 0)
			gb_strbuf_put(b, c < 0 ? " - " : " + ");
		if (fabs(c) != 1.0) {
			put_float(b, k == 0 ? c : fabs(c));
			gb_strbuf_put(b, " * ");
		}
		int i = io_of(p->inputs, p->n_inputs, row->idx[k]);
		put_element(b, in[i], p->inputs[i].ndim, p->inputs[i].dims, row->idx[k] - p->inputs[i].offset);
	}
	if (row->n == 0)
		put_float(b, row->b);
	else if (row->b != 0.0) {
		gb_strbuf_put(b, row->b < 0 ? " - " : " + ");
		put_float(b, fabs(row->b));
	}
}

/* Which modules the layers write as defs (is_def; false: none): by
 * plan_defs, inner structure being hidden units; never when a module
 * computes something from no input, or the first layer is a convolution. */
static bool plan_layer_defs(const gb_pwl *p, const gb_dc_module *mods, int n_mods, bool *is_def)
{
	if (!mods || n_mods < 2)
		return false;
	bool *eligible = malloc((size_t)n_mods * sizeof *eligible), *inner = malloc((size_t)n_mods * sizeof *inner);
	bool modular = eligible && inner;
	for (int m = 0; modular && m < n_mods; m++) {
		eligible[m] = true;
		inner[m] = mods[m].n_units > 0;
		modular = mods[m].n_inputs > 0 || mods[m].n_units == 0;
	}
	modular = modular && plan_defs(mods, n_mods, eligible, inner, is_def) && !layer_one_is_conv(p);
	free(eligible);
	free(inner);
	return modular;
}

gb_status gb_dc_write_layers(const gb_pwl *p, int64_t inline_max, char **text, gb_tensor_map *weights,
                             const char *weights_file, int64_t *params, int64_t *ops, gb_dc_conv *conv,
                             const gb_dc_figures *figs, const gb_dc_module *mods, int n_mods, gb_error *err)
{
	memset(conv, 0, sizeof *conv);
	char in[64][64], out[64][64];
	gb_dc_io_names(p, in, out);
	gb_strbuf b = {0}, body = {0}, defs = {0};
	lctx L = {.p = p, .b = &b, .weights = weights, .inline_max = inline_max, .prefix = "", .err = err};
	bool *is_def = calloc((size_t)(n_mods > 0 ? n_mods : 1), sizeof *is_def);
	char **pre = calloc((size_t)(p->n_outputs ? p->n_outputs : 1), sizeof *pre);
	if (!is_def || !pre) {
		L.st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	bool modular = plan_layer_defs(p, mods, n_mods, is_def);
	if (weights_file)
		gb_strbuf_printf(&b, "weights \"%s\"\n", weights_file);
	gb_dc_declare_io(&b, p, in, out, modular);
	if (modular) { /* module by module: a def's call, or the module's own lines */
		for (int i = 0; i < p->n_outputs; i++)
			if (p->outputs[i].softmax)
				gb_strbuf_printf(&body, "%s_logits: f32[%lld]\n", out[i], (long long)p->outputs[i].size);
		for (int m = 0; m < n_mods && L.st == GB_OK; m++) {
			if (is_def[m]) {
				layers_def(&L, p, in, out, &mods[m], figs, &defs, &body);
				continue;
			}
			for (int64_t k = 0; k < mods[m].n_outputs; k++) {
				int64_t o = mods[m].outputs[k];
				int i = io_of(p->outputs, p->n_outputs, o);
				char target[80];
				snprintf(target, sizeof target, p->outputs[i].softmax ? "%s_logits" : "%s", out[i]);
				put_element(&body, target, p->outputs[i].ndim, p->outputs[i].dims, o - p->outputs[i].offset);
				gb_strbuf_put(&body, " = ");
				put_affine(&body, p, in, &p->outs[o]);
				gb_strbuf_put(&body, "\n");
			}
		}
		for (int i = 0; i < p->n_outputs; i++)
			if (p->outputs[i].softmax) {
				gb_strbuf_printf(&body, "%s = %s(%s_logits)\n", out[i], gb_pwl_softmax_prim(p->outputs[i].softmax), out[i]);
				L.ops++;
			}
	} else {
		layers_core(&L, p, in, out, true, conv, figs, NULL, &body, pre);
		for (int i = 0; i < p->n_outputs && L.st == GB_OK; i++) {
			const gb_pwl_io *io = &p->outputs[i];
			gb_strbuf_printf(&body, "output %s = ", out[i]);
			if (io->ndim == 1 && io->softmax) {
				gb_strbuf_printf(&body, "%s(%s)\n", gb_pwl_softmax_prim(io->softmax), pre[i]);
				L.ops++;
			} else if (io->ndim == 1) {
				gb_strbuf_printf(&body, "%s\n", pre[i]);
			} else if (io->ndim == 0) {
				gb_strbuf_printf(&body, "(%s)[0]\n", pre[i]);
			} else {
				gb_strbuf_printf(&body, "reshape(%s, ", pre[i]);
				for (int a = 0; a < io->ndim; a++)
					gb_strbuf_printf(&body, "%s%lld", a ? ", " : "[", (long long)io->dims[a]);
				gb_strbuf_put(&body, "])\n");
				L.ops++;
			}
		}
	}
	if (L.st == GB_OK) {
		if (defs.data)
			gb_strbuf_put(&b, defs.data);
		gb_strbuf_put(&b, "\n");
		if (body.data)
			gb_strbuf_put(&b, body.data);
		if (b.oom || body.oom || defs.oom)
			L.st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	}
done:
	for (int i = 0; pre && i < p->n_outputs; i++)
		free(pre[i]);
	free(pre);
	free(is_def);
	free(body.data);
	free(defs.data);
	if (L.st != GB_OK) {
		free(b.data);
		return L.st;
	}
	*text = b.data;
	*params = L.params;
	*ops = L.ops;
	return GB_OK;
}
