/*
 * write.c — the decompiled program's text (decompile.h): formulas from
 * lifted expressions, or layers of dense ReLU blocks when the network does
 * not read as formulas.
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
} fctx;

static void put_ex(gb_strbuf *b, const fctx *f, const gb_ex *e, bool top);

static void put_input(gb_strbuf *b, const fctx *f, int64_t j)
{
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

gb_status gb_dc_write_formulas(const gb_pwl *p, const gb_lift *lf, char **text, gb_dc_map *maps, int *n_maps,
                               gb_error *err)
{
	char in[64][64], out[64][64];
	gb_dc_io_names(p, in, out);
	gb_strbuf b = {0};
	int64_t n = lf->n_nodes;
	const gb_ex **by_id = calloc((size_t)(n ? n : 1), sizeof *by_id);
	unsigned char *seen = calloc((size_t)(n ? n : 1), 1);
	char **names = calloc((size_t)(n ? n : 1), sizeof *names);
	bool *covered = NULL;
	int64_t *uses = NULL;
	gb_status st = GB_OK;
	if (!by_id || !seen || !names) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	for (int64_t o = 0; o < p->n_out; o++)
		collect(lf->outs[o], by_id, seen);
	gb_dc_declare_io(&b, p, in, out, true);
	fctx f = {p, lf, in, names, NULL, 0};
	gb_strbuf defs = {0}, map_lines = {0};
	covered = calloc((size_t)(p->n_out ? p->n_out : 1), sizeof *covered);
	uses = calloc((size_t)(n ? n : 1), sizeof *uses);
	if (!covered || !uses || find_maps(&defs, &map_lines, &f, out, covered, maps, n_maps) != GB_OK ||
	    defs.oom || map_lines.oom) {
		free(defs.data);
		free(map_lines.data);
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	if (defs.data)
		gb_strbuf_put(&b, defs.data);
	free(defs.data);
	for (int64_t o = 0; o < p->n_out; o++)
		if (!covered[o])
			count_uses(lf->outs[o], uses);
	/* shared nonlinear parts get names, in creation order (arguments first) */
	int64_t counter[8] = {0};
	bool any = false;
	for (int64_t id = 0; id < n; id++) {
		const gb_ex *e = by_id[id];
		if (!e || uses[id] < 2 || e->kind == GB_EX_INPUT || e->kind == GB_EX_LIN)
			continue;
		char name[64];
		snprintf(name, sizeof name, "%s%lld", kind_word(e->kind), (long long)++counter[e->kind]);
		names[id] = gb_strdup(name);
		if (!names[id]) {
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
	for (int i = 0; i < p->n_outputs; i++) {
		const gb_pwl_io *io = &p->outputs[i];
		char target[80];
		snprintf(target, sizeof target, io->softmax ? "%s_logits" : "%s", out[i]);
		if (io->softmax)
			gb_strbuf_printf(&b, "%s: f32[%lld]\n", target, (long long)io->size);
		for (int64_t e = 0; e < io->size; e++) {
			if (covered[io->offset + e])
				continue;
			put_element(&b, target, io->ndim, io->dims, e);
			gb_strbuf_put(&b, " = ");
			put_ex(&b, &f, lf->outs[io->offset + e], false);
			gb_strbuf_put(&b, "\n");
		}
		if (io->softmax)
			gb_strbuf_printf(&b, "%s = %s(%s)\n", out[i], gb_pwl_softmax_prim(io->softmax), target);
	}
	if (b.oom)
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
done:
	for (int64_t id = 0; names && id < n; id++)
		free(names[id]);
	free(names);
	free(by_id);
	free(seen);
	free(covered);
	free(uses);
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
	gb_error *err;
	gb_status st;
} lctx;

/* param NAME: f32[r, c] = (inline literal | weights["NAME"]) */
static void put_param(lctx *L, const char *name, const float *data, int ndim, const int64_t *dims)
{
	int64_t n = 1;
	for (int a = 0; a < ndim; a++)
		n *= dims[a];
	for (int64_t i = 0; i < n; i++)
		L->params += data[i] != 0.0f;
	gb_strbuf_printf(L->b, "param %s: ", name);
	put_type(L->b, ndim, dims);
	if (n <= L->inline_max) {
		gb_strbuf_put(L->b, " = ");
		for (int64_t i = 0; i < n; i++) {
			int64_t inner = 1;
			for (int a = ndim - 1; a >= 0; a--) {
				inner *= dims[a];
				if (i % inner == 0)
					gb_strbuf_put(L->b, "[");
			}
			put_float(L->b, data[i]);
			inner = 1;
			int closed = 0;
			for (int a = ndim - 1; a >= 0; a--) {
				inner *= dims[a];
				if ((i + 1) % inner == 0) {
					gb_strbuf_put(L->b, "]");
					closed++;
				}
			}
			if (i + 1 < n)
				gb_strbuf_put(L->b, ", ");
			(void)closed;
		}
		gb_strbuf_put(L->b, "\n");
		return;
	}
	gb_strbuf_printf(L->b, " = weights[\"%s\"]\n", name);
	gb_tensor t = {.dtype = GB_DTYPE_F32, .ndim = ndim, .data = (void *)data};
	memcpy(t.dims, dims, (size_t)ndim * sizeof *dims);
	if (L->st == GB_OK)
		L->st = gb_tensor_map_put(L->weights, name, &t, L->err);
}

/* Comment lines naming each first-layer unit's figure (its position in
 * the layer's block: where_pos). */
static void put_figures(gb_strbuf *b, const gb_pwl *p, const gb_dc_figures *figs, const char *tag,
                        const int64_t *where_pos)
{
	if (!figs || figs->n == 0)
		return;
	gb_strbuf_printf(b, "# what each unit of %s looks at (its input weights; red +, blue -):\n", tag);
	for (int64_t k = 0; k < figs->n; k++) {
		gb_strbuf_printf(b, "#   %s[%lld]: %s/unit%03lld.png", tag, (long long)where_pos[p->n_in + figs->units[k]],
		                 figs->ref, (long long)k);
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
	snprintf(name, size, "%s_%s", tag, suffix);
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
		snprintf(wname, sizeof wname, "%s_from_%s", tag, blocks[k].name);
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

gb_status gb_dc_write_layers(const gb_pwl *p, int64_t inline_max, char **text, gb_tensor_map *weights,
                             const char *weights_file, int64_t *params, int64_t *ops, gb_dc_conv *conv,
                             const gb_dc_figures *figs, gb_error *err)
{
	gb_conv_found cf = {0};
	int64_t img[3] = {0};
	bool is_conv = false;
	memset(conv, 0, sizeof *conv);
	char in[64][64], out[64][64];
	gb_dc_io_names(p, in, out);
	int64_t width = p->n_in + p->n_units;
	int *depth = calloc((size_t)(p->n_units ? p->n_units : 1), sizeof *depth);
	int64_t *where_block = malloc((size_t)(width ? width : 1) * sizeof *where_block);
	int64_t *where_pos = malloc((size_t)(width ? width : 1) * sizeof *where_pos);
	block *blocks = NULL;
	const gb_row **rows = malloc((size_t)(p->n_units + p->n_out + 1) * sizeof *rows);
	gb_strbuf b = {0}, body = {0};
	lctx L = {.p = p, .b = &b, .weights = weights, .inline_max = inline_max, .err = err};
	int n_blocks = 0, max_depth = 0;
	if (!depth || !where_block || !where_pos || !rows) {
		L.st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	gb_pwl_depths(p, depth);
	for (int64_t u = 0; u < p->n_units; u++)
		max_depth = depth[u] > max_depth ? depth[u] : max_depth;
	blocks = calloc((size_t)(p->n_inputs + max_depth), sizeof *blocks);
	if (!blocks) {
		L.st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	for (int i = 0; i < p->n_inputs; i++, n_blocks++) {
		block *bk = &blocks[n_blocks];
		const gb_pwl_io *io = &p->inputs[i];
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
	is_conv = first_layer_conv(p, depth, &cf, img);
	for (int d = 1; d <= max_depth; d++, n_blocks++) {
		block *bk = &blocks[n_blocks];
		if (max_depth == 1)
			snprintf(bk->name, sizeof bk->name, "hidden");
		else
			snprintf(bk->name, sizeof bk->name, "layer%d", d);
		for (int64_t u = 0; u < p->n_units; u++)
			if (depth[u] == d) {
				where_block[p->n_in + u] = n_blocks;
				where_pos[p->n_in + u] = bk->n++;
			}
	}
	if (is_conv) { /* layer 1 is read as flatten(conv2d(...)): (o, i, j) order */
		int64_t *unit_of_row = malloc((size_t)(p->n_units + 1) * sizeof *unit_of_row), r = 0;
		if (!unit_of_row) {
			L.st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
			goto done;
		}
		for (int64_t u = 0; u < p->n_units; u++)
			if (depth[u] == 1)
				unit_of_row[r++] = u;
		int64_t positions = cf.filters * cf.out_h * cf.out_w;
		for (int64_t k = 0; k < positions; k++)
			where_pos[p->n_in + unit_of_row[cf.unit[k]]] = k;
		free(unit_of_row);
		*conv = (gb_dc_conv){cf.filters, {cf.kh, cf.kw}, {cf.stride_h, cf.stride_w}, {cf.pad_h, cf.pad_w},
		                     {img[0], img[1], img[2]}};
	}
	if (weights_file)
		gb_strbuf_printf(&b, "weights \"%s\"\n", weights_file);
	gb_dc_declare_io(&b, p, in, out, false);
	for (int i = 0; i < p->n_inputs; i++)
		if (p->inputs[i].ndim != 1 && !is_conv) {
			if (p->inputs[i].ndim == 0)
				gb_strbuf_printf(&body, "%s = reshape(%s, [1])\n", blocks[i].name, in[i]);
			else
				gb_strbuf_printf(&body, "%s = flatten(%s)\n", blocks[i].name, in[i]);
			L.ops++;
		}
	if (is_conv) {
		const char *tag = blocks[p->n_inputs].name;
		char image[96], kname[96], bname[96];
		if (p->inputs[0].ndim == 3) {
			snprintf(image, sizeof image, "%s", in[0]);
		} else {
			snprintf(image, sizeof image, "%s_image", in[0]);
			gb_strbuf_printf(&body, "%s = reshape(%s, [%lld, %lld, %lld])\n", image, in[0], (long long)img[0],
			                 (long long)img[1], (long long)img[2]);
			L.ops++;
		}
		snprintf(kname, sizeof kname, "%s_kernel", tag);
		snprintf(bname, sizeof bname, "%s_bias", tag);
		int64_t kd[4] = {cf.filters, img[0], cf.kh, cf.kw};
		put_param(&L, kname, cf.kernel, 4, kd);
		put_param(&L, bname, cf.bias, 1, &cf.filters);
		put_figures(&body, p, figs, tag, where_pos);
		gb_strbuf_printf(&body,
		                 "%s_maps = relu(conv2d(%s, %s, bias=%s, stride=[%lld, %lld], padding=[%lld, %lld]))"
		                 "  # %lld dense units = %lld filters x %lldx%lld positions\n",
		                 tag, image, kname, bname, (long long)cf.stride_h, (long long)cf.stride_w,
		                 (long long)cf.pad_h, (long long)cf.pad_w, (long long)(cf.filters * cf.out_h * cf.out_w),
		                 (long long)cf.filters, (long long)cf.out_h, (long long)cf.out_w);
		gb_strbuf_printf(&body, "%s = flatten(%s_maps)\n", tag, tag);
		L.ops += 3;
	}
	for (int d = is_conv ? 2 : 1; d <= max_depth && L.st == GB_OK; d++) {
		int64_t n = 0;
		for (int64_t u = 0; u < p->n_units; u++)
			if (depth[u] == d)
				rows[n++] = &p->units[u];
		char tag[80];
		snprintf(tag, sizeof tag, "%s", blocks[p->n_inputs + d - 1].name);
		char *pre = dense_sum(&L, tag, rows, n, blocks, n_blocks, where_block, where_pos);
		if (!pre)
			break;
		if (d == 1)
			put_figures(&body, p, figs, tag, where_pos);
		gb_strbuf_printf(&body, "%s = relu(%s)  # %lld units\n", tag, pre, (long long)n);
		L.ops++;
		free(pre);
	}
	for (int i = 0; i < p->n_outputs && L.st == GB_OK; i++) {
		const gb_pwl_io *io = &p->outputs[i];
		for (int64_t e = 0; e < io->size; e++)
			rows[e] = &p->outs[io->offset + e];
		char *pre = dense_sum(&L, out[i], rows, io->size, blocks, n_blocks, where_block, where_pos);
		if (!pre)
			break;
		gb_strbuf_printf(&body, "output %s = ", out[i]);
		if (io->ndim == 1 && io->softmax) {
			gb_strbuf_printf(&body, "%s(%s)\n", gb_pwl_softmax_prim(io->softmax), pre);
			L.ops++;
		} else if (io->ndim == 1) {
			gb_strbuf_printf(&body, "%s\n", pre);
		} else if (io->ndim == 0) {
			gb_strbuf_printf(&body, "(%s)[0]\n", pre);
		} else {
			gb_strbuf_printf(&body, "reshape(%s, ", pre);
			for (int a = 0; a < io->ndim; a++)
				gb_strbuf_printf(&body, "%s%lld", a ? ", " : "[", (long long)io->dims[a]);
			gb_strbuf_put(&body, "])\n");
			L.ops++;
		}
		free(pre);
	}
	if (L.st == GB_OK) {
		gb_strbuf_put(&b, "\n");
		if (body.data)
			gb_strbuf_put(&b, body.data);
		if (b.oom || body.oom)
			L.st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	}
done:
	gb_conv_found_free(&cf);
	free(depth);
	free(where_block);
	free(where_pos);
	free(blocks);
	free(rows);
	free(body.data);
	if (L.st != GB_OK) {
		free(b.data);
		return L.st;
	}
	*text = b.data;
	*params = L.params;
	*ops = L.ops;
	return GB_OK;
}
