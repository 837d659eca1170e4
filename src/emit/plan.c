/*
 * plan.c — the analysis both emitters share: the model is run by the engine
 * on zero inputs (at batch sizes 2 and 3 when it has a batch axis) to learn
 * every value's shape and the value of everything that does not depend on
 * the inputs; sizes are fitted to monomials c·n^p of the batch size; values
 * get readable identifiers; the nodes left to translate are listed and
 * checked against the emitter's op list.
 *
 * Also here: the geometry helpers (windows of Conv and pools, reduction
 * axes, the axis maps of Transpose/Slice/Expand/Pad) written once for both
 * emitters, each computed from the concrete shapes of every run and fitted.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ==== text =================================================================== */

static void buf_grow(em_buf *b, size_t need)
{
	if (b->oom || b->len + need + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + need + 1) {
		if (cap > SIZE_MAX / 2) {
			b->oom = 1;
			return;
		}
		cap *= 2;
	}
	char *s = realloc(b->s, cap);
	if (!s) {
		b->oom = 1;
		return;
	}
	b->s = s;
	b->cap = cap;
}

void em_printf(em_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[512];
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	buf_grow(b, (size_t)n);
	if (b->oom)
		return;
	if ((size_t)n < sizeof small) {
		memcpy(b->s + b->len, small, (size_t)n + 1);
	} else {
		va_start(ap, fmt);
		vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void em_puts(em_buf *b, const char *s)
{
	size_t n = strlen(s);
	buf_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

/* ==== sizes ==================================================================== */

int em_mono_mul(em_mono a, em_mono b, em_mono *out)
{
	int64_t c;
	if (!gb_mul_i64(a.c, b.c, &c))
		return 0;
	*out = (em_mono){c, c == 0 ? 0 : a.p + b.p};
	return 1;
}

const char *em_mono_str(em_mono a, char *buf)
{
	if (a.p == 0 || a.c == 0) {
		snprintf(buf, 64, "%lld", (long long)a.c);
		return buf;
	}
	int len = a.c == 1 ? snprintf(buf, 64, "%sn", a.p > 1 ? "(" : "")
	                   : snprintf(buf, 64, "(%lld * n", (long long)a.c);
	for (int i = 1; i < a.p && len < 50; i++)
		len += snprintf(buf + len, (size_t)(64 - len), " * n");
	if (a.c != 1 || a.p > 1)
		snprintf(buf + len, (size_t)(64 - len), ")");
	return buf;
}

int em_fit(const em_plan *p, const int64_t *v, em_mono *out)
{
	if (p->n_runs == 1 || v[0] == v[1]) {
		*out = em_const(v[0]);
		return 1;
	}
	/* v[r] = c · batch[r]^p for p = 1..8 */
	for (int pw = 1; pw <= 8; pw++) {
		int64_t d0 = 1, d1 = 1;
		for (int i = 0; i < pw; i++)
			d0 *= p->batch[0], d1 *= p->batch[1];
		if (v[0] % d0 != 0)
			break;
		int64_t c = v[0] / d0, want;
		if (gb_mul_i64(c, d1, &want) && want == v[1]) {
			*out = (em_mono){c, pw};
			return 1;
		}
	}
	return 0;
}

gb_status em_fit_node(const em_plan *p, const gb_node *node, const int64_t *per_run, em_mono *out, const char *what,
                      gb_error *err)
{
	if (em_fit(p, per_run, out))
		return GB_OK;
	return em_unsupported(err, p, node, "%s depends on the batch size in a way the emitter cannot express", what);
}

gb_status em_span(const em_plan *p, const gb_node *node, const em_val *v, int lo, int hi, em_mono *out, gb_error *err)
{
	int64_t per_run[EM_RUNS];
	for (int r = 0; r < p->n_runs; r++) {
		per_run[r] = 1;
		for (int d = lo; d < hi; d++)
			per_run[r] *= v->run_dims[r][d];
	}
	return em_fit_node(p, node, per_run, out, "a size", err);
}

void em_shape_str(const em_val *v, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "[");
	for (int d = 0; d < v->ndim && len < size; d++) {
		char m[64];
		len += (size_t)snprintf(buf + len, size - len, "%s%s", d ? ", " : "", em_mono_str(v->dims[d], m));
	}
	if (len < size)
		snprintf(buf + len, size - len, "]");
}

em_mono em_numel(const em_val *v)
{
	em_mono n = em_const(1);
	for (int d = 0; d < v->ndim; d++)
		em_mono_mul(n, v->dims[d], &n);
	return n;
}

void em_strides(const em_val *v, em_mono *strides)
{
	em_mono s = em_const(1);
	for (int d = v->ndim - 1; d >= 0; d--) {
		strides[d] = s;
		em_mono_mul(s, v->dims[d], &s);
	}
}

int64_t em_run_numel(const em_val *v, int r)
{
	int64_t n = 1;
	for (int d = 0; d < v->ndim; d++)
		n *= v->run_dims[r][d];
	return n;
}

/* ==== small helpers ================================================================ */

gb_status em_unsupported(gb_error *err, const em_plan *p, const gb_node *node, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return gb_fail(err, GB_STATUS_UNSUPPORTED, "emit: %s (node %s) in %s: %s", node->op_type, node->name,
	               p->m->label ? p->m->label : "model", msg);
}

int em_in_index(const gb_node *node, int k)
{
	return k < node->n_inputs ? node->inputs[k] : -1;
}

const em_val *em_in(const em_plan *p, const gb_node *node, int k)
{
	int v = em_in_index(node, k);
	return v >= 0 ? &p->v[v] : NULL;
}

const em_val *em_out(const em_plan *p, const gb_node *node, int k)
{
	int v = k < node->n_outputs ? node->outputs[k] : -1;
	return v >= 0 ? &p->v[v] : NULL;
}

double em_elem_f(const gb_tensor *t, int64_t i)
{
	switch (t->dtype) {
	case GB_DTYPE_F32: return ((const float *)t->data)[i];
	case GB_DTYPE_F64: return ((const double *)t->data)[i];
	case GB_DTYPE_I64: return (double)((const int64_t *)t->data)[i];
	case GB_DTYPE_I32: return ((const int32_t *)t->data)[i];
	case GB_DTYPE_U8:
	case GB_DTYPE_BOOL: return ((const uint8_t *)t->data)[i];
	case GB_DTYPE_COUNT: break;
	}
	return 0;
}

int64_t em_elem_i(const gb_tensor *t, int64_t i)
{
	switch (t->dtype) {
	case GB_DTYPE_I64: return ((const int64_t *)t->data)[i];
	case GB_DTYPE_I32: return ((const int32_t *)t->data)[i];
	case GB_DTYPE_U8:
	case GB_DTYPE_BOOL: return ((const uint8_t *)t->data)[i];
	default: return (int64_t)em_elem_f(t, i);
	}
}

const char *em_float_lit(float f, int py, char *buf)
{
	if (isnan(f)) {
		snprintf(buf, 48, py ? "np.float32('nan')" : "NAN");
		return buf;
	}
	if (isinf(f)) {
		snprintf(buf, 48, py ? "np.float32('%sinf')" : "%sINFINITY", f < 0 ? "-" : "");
		return buf;
	}
	char num[40];
	snprintf(num, sizeof num, "%.9g", (double)f);
	/* The shortest of %.{6..9}g that reads back as the same float. */
	for (int prec = 6; prec < 9; prec++) {
		char t[40];
		snprintf(t, sizeof t, "%.*g", prec, (double)f);
		if (strtof(t, NULL) == f) {
			memcpy(num, t, sizeof t);
			break;
		}
	}
	if (!strpbrk(num, ".e"))
		strcat(num, ".0");
	snprintf(buf, 48, py ? "np.float32(%s)" : "%sf", num);
	return buf;
}

int64_t em_attr_int(const gb_node *node, const char *name, int64_t def)
{
	const gb_attr *a = gb_node_attr(node, name);
	return a && a->type == GB_ATTR_INT ? a->i : def;
}

float em_attr_float(const gb_node *node, const char *name, float def)
{
	const gb_attr *a = gb_node_attr(node, name);
	return a && a->type == GB_ATTR_FLOAT ? a->f : def;
}

const char *em_attr_string(const gb_node *node, const char *name, const char *def)
{
	const gb_attr *a = gb_node_attr(node, name);
	return a && a->type == GB_ATTR_STRING ? a->s : def;
}

const int64_t *em_attr_ints(const gb_node *node, const char *name, int64_t *n)
{
	const gb_attr *a = gb_node_attr(node, name);
	if (!a || a->type != GB_ATTR_INTS) {
		*n = -1;
		return NULL;
	}
	*n = a->n;
	return a->ints;
}

static int keep_tensor(em_plan *p, gb_tensor *t)
{
	gb_tensor **grown = realloc(p->owned, (size_t)(p->n_owned + 1) * sizeof *grown);
	if (!grown)
		return 0;
	p->owned = grown;
	p->owned[p->n_owned++] = t;
	return 1;
}

const int64_t *em_static_ints(em_plan *p, const gb_node *node, int k, int r, int64_t *n, gb_error *err)
{
	const em_val *v = em_in(p, node, k);
	*n = -1;
	if (!v)
		return NULL;
	const gb_tensor *t = v->run_data[r];
	if (!v->is_static || !t) {
		em_unsupported(err, p, node, "input %d ('%s') is computed from the model's inputs; the emitters need it constant",
		               k, p->m->values[node->inputs[k]].name);
		return NULL;
	}
	if (t->dtype != GB_DTYPE_I64 && t->dtype != GB_DTYPE_I32) {
		em_unsupported(err, p, node, "input %d is %s, not int64", k, gb_dtype_name(t->dtype));
		return NULL;
	}
	int64_t count = gb_tensor_numel(t);
	gb_tensor *c = NULL;
	int64_t dims[1] = {count};
	if (gb_tensor_new(GB_DTYPE_I64, 1, dims, &c, err) != GB_OK)
		return NULL;
	if (!keep_tensor(p, c)) {
		gb_tensor_free(c);
		gb_fail(err, GB_STATUS_NOMEM, "emit: out of memory");
		return NULL;
	}
	int64_t *d = c->data;
	for (int64_t i = 0; i < count; i++)
		d[i] = em_elem_i(t, i);
	*n = count;
	return d;
}

/* ==== identifiers =================================================================== */

static const char *const keywords[] = {
	/* C */
	"auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
	"float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
	"sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool",
	"true", "false", "main", "free", "malloc", "memcpy", "memset", "size_t", "int64_t", "uint64_t", "uint8_t",
	"NULL", "INFINITY", "NAN", "exp", "log", "sqrt", "pow", "erf", "tanh", "fabs", "abs",
	/* Python */
	"and", "as", "assert", "async", "await", "class", "def", "del", "elif", "except", "finally", "from",
	"global", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "try", "with", "yield",
	"None", "True", "False", "np", "math", "base64", "len", "range", "tuple", "list", "slice", "float", "int",
	"object", "print", "type", "min", "max", "sum", "inputs", "outputs",
	/* names the emitted code uses itself */
	"n", "i", "j", "k", "o", "q", "t", "status", "fail", "done", NULL};

static int reserved_name(const char *s, const char *const *extra)
{
	for (int i = 0; keywords[i]; i++)
		if (strcmp(s, keywords[i]) == 0)
			return 1;
	for (int i = 0; extra && extra[i]; i++)
		if (strcmp(s, extra[i]) == 0)
			return 1;
	return strncmp(s, "gbx", 3) == 0 || strncmp(s, "_", 1) == 0;
}

static int id_taken(const em_plan *p, const char *s)
{
	for (int i = 0; i < p->n_ids; i++)
		if (strcmp(p->ids[i], s) == 0)
			return 1;
	return 0;
}

/* A unique identifier for name: [A-Za-z0-9_] kept, other characters
 * become '_', a leading digit or a reserved word gets "v_" in front, and a
 * clash gets a numeric suffix. */
const char *em_make_id(em_plan *p, const char *name, const char *const *extra)
{
	size_t len = strlen(name);
	if (len > 60)
		len = 60;
	char base[80];
	size_t o = 0;
	int last_us = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];
		int ok = isalnum(ch) || ch == '_';
		if (!ok && last_us)
			continue; /* one '_' for a run of odd characters */
		base[o++] = ok && ch < 128 ? (char)ch : '_';
		last_us = base[o - 1] == '_';
	}
	while (o > 0 && base[o - 1] == '_' && o > 1)
		o--;
	base[o] = '\0';
	char cand[96];
	if (o == 0 || isdigit((unsigned char)base[0]) || base[0] == '_' || reserved_name(base, extra))
		snprintf(cand, sizeof cand, "v_%s", base[0] == '_' ? base + 1 : base);
	else
		snprintf(cand, sizeof cand, "%s", base);
	char uniq[112];
	snprintf(uniq, sizeof uniq, "%s", cand);
	for (int k = 2; id_taken(p, uniq) || reserved_name(uniq, extra); k++)
		snprintf(uniq, sizeof uniq, "%s_%d", cand, k);
	char **grown = realloc(p->ids, (size_t)(p->n_ids + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	p->ids = grown;
	char *s = gb_strdup(uniq);
	if (!s)
		return NULL;
	p->ids[p->n_ids++] = s;
	return s;
}

/* ==== running the model ================================================================ */

/* Runs the model once at batch size b (inputs all zero) and records the
 * shapes of every value, and the data of the static ones, as run r. */
static gb_status run_once(em_plan *p, int r, int64_t b, gb_error *err)
{
	gb_model *m = p->m;
	gb_session *s = NULL;
	gb_status st = gb_session_new(m, &s, err);
	if (st != GB_OK)
		return st;
	for (int i = 0; i < m->n_inputs; i++) {
		const gb_value *in = &m->values[m->inputs[i]];
		int64_t dims[GB_MAX_DIMS];
		for (int d = 0; d < in->ndim; d++)
			dims[d] = in->dims[d] < 0 ? b : in->dims[d];
		gb_tensor *x = NULL;
		st = gb_tensor_new(in->dtype, in->ndim, dims, &x, err);
		if (st == GB_OK)
			st = gb_session_set_input(s, i, x, err);
		gb_tensor_free(x);
		if (st != GB_OK)
			goto done;
	}
	if ((st = gb_session_forward(s, err)) != GB_OK) {
		gb_error_prefix(err, "emit: running the model on zero inputs to learn its shapes failed");
		goto done;
	}
	for (int v = 0; v < m->n_values; v++) {
		const gb_value *gv = &m->values[v];
		em_val *ev = &p->v[v];
		const gb_tensor *t = gv->init ? gv->init : gb_session_value(s, gv->name);
		if (!t) {
			ev->ndim = -1;
			continue;
		}
		if (r > 0 && (ev->ndim != t->ndim || ev->dtype != t->dtype)) {
			st = gb_fail(err, GB_STATUS_UNSUPPORTED, "emit: value '%s' in %s changes rank with the batch size",
			             gv->name, m->label);
			goto done;
		}
		ev->ndim = t->ndim;
		ev->dtype = t->dtype;
		memcpy(ev->run_dims[r], t->dims, sizeof t->dims);
		if (ev->is_static) {
			gb_tensor *c = NULL;
			if ((st = gb_tensor_clone(t, &c, err)) != GB_OK)
				goto done;
			if (!keep_tensor(p, c)) {
				gb_tensor_free(c);
				st = gb_fail(err, GB_STATUS_NOMEM, "emit: out of memory");
				goto done;
			}
			ev->run_data[r] = c;
		}
	}
done:
	gb_session_free(s);
	return st;
}

/* ==== the plan =========================================================================== */

/* Whether static value v has different data at the two batch sizes. */
static int varies(const em_plan *p, int v)
{
	const gb_tensor *a = p->v[v].run_data[0], *b = p->v[v].run_data[1];
	if (!a || !b)
		return 0;
	return a->ndim != b->ndim || memcmp(a->dims, b->dims, sizeof a->dims) != 0 ||
	       memcmp(a->data, b->data, (size_t)gb_tensor_numel(a) * gb_dtype_size(a->dtype)) != 0;
}

/* Marks the node that writes static value v as computed (not folded) when
 * v's data varies with the batch size and the node is not Shape. */
static void unfold_varying(em_plan *p, int v)
{
	const gb_model *m = p->m;
	if (v < 0 || !p->v[v].is_static || !varies(p, v))
		return;
	for (int n = 0; n < m->n_nodes; n++) {
		const gb_node *node = &m->nodes[n];
		int writes = 0;
		for (int o = 0; o < node->n_outputs; o++)
			writes |= node->outputs[o] == v;
		if (!writes || strcmp(node->op_type, "Shape") == 0)
			continue;
		for (int o = 0; o < node->n_outputs; o++)
			if (node->outputs[o] >= 0)
				p->v[node->outputs[o]].is_static = 0;
	}
}

/* Ops whose operands past the first set shapes or axes: those must be static. */
static int shape_operand(const gb_node *node, int k)
{
	static const char *const ops[] = {"Reshape", "Expand",     "Slice",     "Squeeze",   "Unsqueeze",
	                                  "Split",   "TopK",       "ReduceSum", "ReduceMean", "ReduceMax",
	                                  "ReduceMin", "Pad",      "Tile",      "ConstantOfShape", NULL};
	if (k == 0)
		return 0;
	for (int i = 0; ops[i]; i++)
		if (strcmp(node->op_type, ops[i]) == 0)
			return !(strcmp(ops[i], "Pad") == 0 && k == 2);
	return 0;
}

static int is_alias_op(const char *op)
{
	return !strcmp(op, "Reshape") || !strcmp(op, "Flatten") || !strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze") ||
	       !strcmp(op, "Identity") || !strcmp(op, "Dropout");
}

void em_plan_free(em_plan *p)
{
	for (int i = 0; i < p->n_owned; i++)
		gb_tensor_free(p->owned[i]);
	free(p->owned);
	for (int i = 0; i < p->n_ids; i++)
		free(p->ids[i]);
	free(p->ids);
	free(p->v);
	free(p->order);
	memset(p, 0, sizeof *p);
}

/* Operands that set shapes must be static: the emitted code has static shapes. */
static gb_status check_shape_operands(const em_plan *p, const gb_node *node, const char *lang, gb_error *err)
{
	for (int k = 1; k < node->n_inputs; k++)
		if (node->inputs[k] >= 0 && shape_operand(node, k) && !p->v[node->inputs[k]].is_static)
			return em_unsupported(err, p, node,
			                      "input %d ('%s') is computed from the model's inputs; the %s emitter needs it "
			                      "constant (static shapes)",
			                      k, p->m->values[node->inputs[k]].name, lang);
	return GB_OK;
}

gb_status em_plan_build(em_plan *p, gb_model *m, const char *lang, const char *const *reserved, gb_error *err)
{
	memset(p, 0, sizeof *p);
	p->m = m;
	p->lang = lang;
	gb_status st = GB_OK;
	const char *label = m->label ? m->label : "model";
	for (int n = 0; n < m->n_nodes; n++)
		if (!m->nodes[n].op) {
			if ((st = gb_model_prepare(m, err)) != GB_OK)
				return st;
			break;
		}
	p->v = calloc((size_t)(m->n_values ? m->n_values : 1), sizeof *p->v);
	p->order = malloc((size_t)(m->n_nodes ? m->n_nodes : 1) * sizeof *p->order);
	if (!p->v || !p->order) {
		st = gb_fail(err, GB_STATUS_NOMEM, "emit: out of memory");
		goto fail;
	}
	for (int v = 0; v < m->n_values; v++) {
		p->v[v].alias = -1;
		p->v[v].last_use = -1;
		p->v[v].is_static = m->values[v].init != NULL;
	}

	/* The batch axis: a dynamic leading dim of an input; no other dim may be dynamic. */
	for (int i = 0; i < m->n_inputs; i++) {
		const gb_value *in = &m->values[m->inputs[i]];
		if (in->ndim < 0) {
			st = gb_fail(err, GB_STATUS_UNSUPPORTED, "emit: input '%s' of %s has an unknown rank", in->name, label);
			goto fail;
		}
		for (int d = 0; d < in->ndim; d++) {
			if (in->dims[d] >= 0)
				continue;
			if (d != 0) {
				st = gb_fail(err, GB_STATUS_UNSUPPORTED,
				             "emit: input '%s' of %s has a dynamic dim %d; the emitters need static shapes except "
				             "the leading (batch) axis",
				             in->name, label, d);
				goto fail;
			}
			p->batched = 1;
		}
	}
	for (int i = 0; i < m->n_outputs; i++)
		if (m->values[m->outputs[i]].is_input) {
			st = gb_fail(err, GB_STATUS_UNSUPPORTED, "emit: output '%s' of %s is also an input",
			             m->values[m->outputs[i]].name, label);
			goto fail;
		}
	p->n_runs = p->batched ? 2 : 1;
	p->batch[0] = 2;
	p->batch[1] = 3;

	/* Static values: weights, Shape's output, and whatever only they feed. */
	for (int n = 0; n < m->n_nodes; n++) {
		const gb_node *node = &m->nodes[n];
		int all = node->n_inputs > 0 || strcmp(node->op_type, "Shape") == 0;
		for (int k = 0; k < node->n_inputs && all; k++)
			if (node->inputs[k] >= 0 && !p->v[node->inputs[k]].is_static)
				all = 0;
		if (strcmp(node->op_type, "Shape") == 0)
			all = 1;
		for (int k = 0; k < node->n_outputs; k++)
			if (node->outputs[k] >= 0)
				p->v[node->outputs[k]].is_static = all;
	}
	/* Operands that set shapes must not depend on the inputs: the runs use zeros. */
	for (int n = 0; n < m->n_nodes; n++)
		if ((st = check_shape_operands(p, &m->nodes[n], lang, err)) != GB_OK)
			goto fail;
	for (int r = 0; r < p->n_runs; r++)
		if ((st = run_once(p, r, p->batch[r], err)) != GB_OK)
			goto fail;

	/* A static value whose data changes with the batch size (a constant
	 * Expanded to the batch: how the compiler broadcasts a param or a literal
	 * against the inputs) is not one constant. When an output or a computed
	 * node reads it as data, its node is computed instead of folded; nodes
	 * are visited backwards so that such a node's own data operands follow.
	 * (Shape's data stays static and is refused below.) */
	if (p->n_runs > 1) {
		for (int i = 0; i < m->n_outputs; i++)
			unfold_varying(p, m->outputs[i]);
		for (int n = m->n_nodes - 1; n >= 0; n--) {
			const gb_node *node = &m->nodes[n];
			if (node->n_outputs < 1 || node->outputs[0] < 0 || p->v[node->outputs[0]].is_static)
				continue;
			for (int k = 0; k < node->n_inputs; k++)
				if (!shape_operand(node, k))
					unfold_varying(p, node->inputs[k]);
		}
	}

	/* Liveness: from the outputs back through the nodes that are not folded. */
	for (int i = 0; i < m->n_outputs; i++)
		p->v[m->outputs[i]].live = 1;
	char *emit_node = calloc((size_t)(m->n_nodes ? m->n_nodes : 1), 1);
	if (!emit_node) {
		st = gb_fail(err, GB_STATUS_NOMEM, "emit: out of memory");
		goto fail;
	}
	for (int n = m->n_nodes - 1; n >= 0; n--) {
		const gb_node *node = &m->nodes[n];
		int live = 0, folded = 1;
		for (int k = 0; k < node->n_outputs; k++)
			if (node->outputs[k] >= 0) {
				live |= p->v[node->outputs[k]].live;
				folded &= p->v[node->outputs[k]].is_static;
			}
		if (!live || folded)
			continue;
		emit_node[n] = 1;
		for (int k = 0; k < node->n_inputs; k++)
			if (node->inputs[k] >= 0) {
				p->v[node->inputs[k]].live = 1;
				if (p->v[node->inputs[k]].is_static && !shape_operand(node, k))
					p->v[node->inputs[k]].const_used = 1;
			}
	}
	for (int n = 0; n < m->n_nodes; n++) {
		if (!emit_node[n])
			continue;
		p->order[p->n_order++] = n;
		for (int k = 0; k < m->nodes[n].n_outputs; k++)
			if (m->nodes[n].outputs[k] >= 0)
				p->v[m->nodes[n].outputs[k]].emitted = 1;
	}
	free(emit_node);
	for (int i = 0; i < m->n_outputs; i++)
		if (p->v[m->outputs[i]].is_static)
			p->v[m->outputs[i]].const_used = 1;

	/* Check each emitted node: supported op, static shape operands. */
	for (int i = 0; i < p->n_order; i++) {
		const gb_node *node = &m->nodes[p->order[i]];
		if (node->domain && node->domain[0] && strcmp(node->domain, "ai.onnx") != 0) {
			st = gb_fail(err, GB_STATUS_UNSUPPORTED, "emit: op %s:%s (node %s) is not supported by the %s emitter",
			             node->domain, node->op_type, node->name, lang);
			goto fail;
		}
		if (!gb_emit_op_supported(node->op_type)) {
			st = gb_fail(err, GB_STATUS_UNSUPPORTED, "emit: op %s (node %s) is not supported by the %s emitter",
			             node->op_type, node->name, lang);
			goto fail;
		}
		if ((st = check_shape_operands(p, node, lang, err)) != GB_OK)
			goto fail;
	}

	/* Shapes as monomials, for every value the code touches. */
	for (int v = 0; v < m->n_values; v++) {
		em_val *ev = &p->v[v];
		if (!ev->live && !ev->const_used && !ev->emitted && !m->values[v].is_input)
			continue;
		if (ev->ndim < 0) {
			st = gb_fail(err, GB_STATUS_FAILURE, "emit: value '%s' in %s was not computed", m->values[v].name, label);
			goto fail;
		}
		for (int d = 0; d < ev->ndim; d++) {
			int64_t per_run[EM_RUNS];
			for (int r = 0; r < p->n_runs; r++)
				per_run[r] = ev->run_dims[r][d];
			if (!em_fit(p, per_run, &ev->dims[d])) {
				st = gb_fail(err, GB_STATUS_UNSUPPORTED,
				             "emit: dim %d of value '%s' in %s is %lld at batch size 2 and %lld at 3, not a "
				             "multiple of a power of the batch size",
				             d, m->values[v].name, label, (long long)per_run[0], (long long)per_run[1]);
				goto fail;
			}
		}
		if (ev->dtype != GB_DTYPE_F32 && ev->dtype != GB_DTYPE_I64 && ev->dtype != GB_DTYPE_BOOL) {
			st = gb_fail(err, GB_STATUS_UNSUPPORTED, "emit: value '%s' in %s is %s; the emitters handle float32, "
			             "int64 and bool", m->values[v].name, label, gb_dtype_name(ev->dtype));
			goto fail;
		}
		if (ev->const_used && p->n_runs > 1) {
			const gb_tensor *a = ev->run_data[0], *b = ev->run_data[1];
			if (a->ndim != b->ndim || memcmp(a->dims, b->dims, sizeof a->dims) != 0 ||
			    memcmp(a->data, b->data, (size_t)gb_tensor_numel(a) * gb_dtype_size(a->dtype)) != 0) {
				st = gb_fail(err, GB_STATUS_UNSUPPORTED,
				             "emit: value '%s' in %s is computed from the batch size and read as data; the "
				             "emitters fold only values that do not depend on it",
				             m->values[v].name, label);
				goto fail;
			}
		}
	}

	/* Aliases (reshaping ops share their input's storage) and last uses. */
	for (int i = 0; i < p->n_order; i++) {
		const gb_node *node = &m->nodes[p->order[i]];
		if (is_alias_op(node->op_type) && node->inputs[0] >= 0 && node->outputs[0] >= 0 &&
		    !m->values[node->outputs[0]].is_output &&
		    !p->v[node->outputs[0]].is_static) {
			int src = node->inputs[0];
			p->v[node->outputs[0]].alias = p->v[src].alias >= 0 ? p->v[src].alias : src;
		}
		for (int k = 0; k < node->n_inputs; k++) {
			int v = node->inputs[k];
			if (v < 0)
				continue;
			int root = p->v[v].alias >= 0 ? p->v[v].alias : v;
			p->v[v].last_use = i;
			p->v[root].last_use = i;
		}
	}
	/* A value aliasing a buffer lives as long as the buffer's last reader. */
	for (int i = p->n_order - 1; i >= 0; i--) {
		const gb_node *node = &m->nodes[p->order[i]];
		for (int k = 0; k < node->n_outputs; k++) {
			int v = node->outputs[k];
			if (v >= 0 && p->v[v].alias >= 0 && p->v[v].last_use > p->v[p->v[v].alias].last_use)
				p->v[p->v[v].alias].last_use = p->v[v].last_use;
		}
	}

	/* Identifiers: inputs, outputs, then values in graph order. */
	for (int pass = 0; pass < 3; pass++)
		for (int v = 0; v < m->n_values; v++) {
			em_val *ev = &p->v[v];
			int want = pass == 0 ? m->values[v].is_input : pass == 1 ? m->values[v].is_output : 1;
			if (ev->id || !want || (!ev->live && !ev->const_used && !ev->emitted && !m->values[v].is_input))
				continue;
			if (!(ev->id = em_make_id(p, m->values[v].name, reserved))) {
				st = gb_fail(err, GB_STATUS_NOMEM, "emit: out of memory");
				goto fail;
			}
		}
	return GB_OK;
fail:
	em_plan_free(p);
	return st;
}

/* ==== geometry ============================================================================== */

/* Fits n_fields integers computed per run; false when one does not fit. */
static int fit_fields(const em_plan *p, int n_fields, int64_t (*per_run)[EM_RUNS], em_mono *out)
{
	for (int i = 0; i < n_fields; i++)
		if (!em_fit(p, per_run[i], &out[i]))
			return 0;
	return 1;
}

gb_status em_window_of(em_plan *p, const gb_node *node, const int64_t *kernel_dims, em_window *w, gb_error *err)
{
	const em_val *x = em_in(p, node, 0), *y = em_out(p, node, 0);
	int D = x->ndim - 2;
	memset(w, 0, sizeof *w);
	if (D < 1 || D > 3)
		return em_unsupported(err, p, node, "%d spatial dims (1 to 3 are handled)", D);
	w->k = D;
	for (int i = 0; i < D; i++)
		if (x->dims[2 + i].p != 0 || y->dims[2 + i].p != 0)
			return em_unsupported(err, p, node, "a spatial dim depends on the batch size");
	int64_t n;
	const int64_t *strides = em_attr_ints(node, "strides", &n);
	if (n >= 0 && n != D)
		strides = NULL;
	const int64_t *dil = em_attr_ints(node, "dilations", &n);
	if (n >= 0 && n != D)
		dil = NULL;
	const int64_t *pads = em_attr_ints(node, "pads", &n);
	if (n >= 0 && n != 2 * D)
		pads = NULL;
	const char *auto_pad = em_attr_string(node, "auto_pad", "NOTSET");
	for (int a = 0; a < 3; a++) {
		int i = a - (3 - D);
		if (i < 0) {
			w->in[a] = w->out[a] = w->kernel[a] = w->stride[a] = w->dilation[a] = 1;
			continue;
		}
		int64_t in = x->dims[2 + i].c, k = kernel_dims[i];
		int64_t s = strides ? strides[i] : 1, d = dil ? dil[i] : 1;
		int64_t pb = pads ? pads[i] : 0, pe = pads ? pads[D + i] : 0;
		int64_t dk = (k - 1) * d + 1;
		int64_t out = y->dims[2 + i].c;
		if (strcmp(auto_pad, "VALID") == 0) {
			pb = pe = 0;
		} else if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
			int64_t total = out > 0 ? (out - 1) * s + dk - in : 0;
			if (total < 0)
				total = 0;
			pb = strcmp(auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
			pe = total - pb;
		}
		w->in[a] = in;
		w->out[a] = out;
		w->kernel[a] = k;
		w->stride[a] = s;
		w->dilation[a] = d;
		w->pad_begin[a] = pb;
		w->pad_end[a] = pe;
	}
	return GB_OK;
}

gb_status em_reduce_axes(em_plan *p, const gb_node *node, int *mask, int *noop, gb_error *err)
{
	const em_val *x = em_in(p, node, 0);
	int64_t n_axes;
	const int64_t *axes = em_attr_ints(node, "axes", &n_axes);
	if (em_in(p, node, 1)) {
		axes = em_static_ints(p, node, 1, 0, &n_axes, err);
		if (!axes)
			return err ? err->status : GB_STATUS_UNSUPPORTED;
	}
	*noop = 0;
	for (int d = 0; d < GB_MAX_DIMS; d++)
		mask[d] = 0;
	if (n_axes <= 0) {
		if (em_attr_int(node, "noop_with_empty_axes", 0)) {
			*noop = 1;
			return GB_OK;
		}
		for (int d = 0; d < x->ndim; d++)
			mask[d] = 1;
		return GB_OK;
	}
	for (int64_t i = 0; i < n_axes; i++) {
		int a = gb_axis(axes[i], x->ndim);
		if (a < 0)
			return em_unsupported(err, p, node, "axis %lld is out of range", (long long)axes[i]);
		mask[a] = 1;
	}
	return GB_OK;
}

/* One run's axis map: the engine's plans for Transpose, Slice, Expand, Pad. */
typedef struct run_map {
	int64_t before[GB_MAX_DIMS], count[GB_MAX_DIMS], start[GB_MAX_DIMS], step[GB_MAX_DIMS], stride[GB_MAX_DIMS];
} run_map;

static gb_status map_run(em_plan *p, const gb_node *node, int r, run_map *rm, em_axis_map *map, gb_error *err)
{
	const em_val *x = em_in(p, node, 0), *y = em_out(p, node, 0);
	const int64_t *in = x->run_dims[r], *out = y->run_dims[r];
	int R = x->ndim;
	int64_t stride[GB_MAX_DIMS];
	int64_t s = 1;
	for (int d = R - 1; d >= 0; d--) {
		stride[d] = s;
		s *= in[d];
	}
	map->ndim = y->ndim;
	const char *op = node->op_type;
	if (strcmp(op, "Transpose") == 0) {
		int64_t n_perm;
		const int64_t *perm = em_attr_ints(node, "perm", &n_perm);
		for (int a = 0; a < R; a++) {
			int src = n_perm >= 0 ? (int)perm[a] : R - 1 - a;
			rm->before[a] = 0;
			rm->count[a] = in[src];
			rm->start[a] = 0;
			rm->step[a] = 1;
			rm->stride[a] = stride[src];
		}
		return GB_OK;
	}
	if (strcmp(op, "Expand") == 0) {
		int Ry = y->ndim;
		for (int a = 0; a < Ry; a++) {
			int j = a - (Ry - R);
			int64_t have = j >= 0 ? in[j] : 1;
			rm->before[a] = 0;
			rm->count[a] = out[a];
			rm->start[a] = 0;
			rm->step[a] = j >= 0 && have == out[a] ? 1 : 0;
			rm->stride[a] = j >= 0 ? stride[j] : 0;
		}
		return GB_OK;
	}
	for (int a = 0; a < R; a++) {
		rm->before[a] = 0;
		rm->count[a] = in[a];
		rm->start[a] = 0;
		rm->step[a] = 1;
		rm->stride[a] = stride[a];
	}
	if (strcmp(op, "Slice") == 0) {
		int64_t n_starts, n_ends, n_axes = -1, n_steps = -1;
		const int64_t *starts, *ends, *axes = NULL, *steps = NULL;
		if (gb_opset_of(p->m) < 10) {
			starts = em_attr_ints(node, "starts", &n_starts);
			ends = em_attr_ints(node, "ends", &n_ends);
			axes = em_attr_ints(node, "axes", &n_axes);
		} else {
			if (!(starts = em_static_ints(p, node, 1, r, &n_starts, err)) ||
			    !(ends = em_static_ints(p, node, 2, r, &n_ends, err)))
				return err ? err->status : GB_STATUS_UNSUPPORTED;
			if (em_in(p, node, 3) && !(axes = em_static_ints(p, node, 3, r, &n_axes, err)))
				return err ? err->status : GB_STATUS_UNSUPPORTED;
			if (em_in(p, node, 4) && !(steps = em_static_ints(p, node, 4, r, &n_steps, err)))
				return err ? err->status : GB_STATUS_UNSUPPORTED;
		}
		for (int i = 0; i < (int)n_starts; i++) {
			int a = axes ? gb_axis(axes[i], R) : i;
			int64_t dim = in[a], step = steps ? steps[i] : 1, st = starts[i], e = ends[i], count;
			if (a < 0 || step == 0)
				return em_unsupported(err, p, node, "bad axes or steps");
			if (st < 0)
				st += dim;
			if (e < 0)
				e += dim;
			if (dim == 0) {
				st = 0;
				count = 0;
			} else if (step > 0) {
				st = st < 0 ? 0 : st > dim ? dim : st;
				e = e < 0 ? 0 : e > dim ? dim : e;
				count = e > st ? 1 + (e - st - 1) / step : 0;
			} else {
				st = st < 0 ? 0 : st > dim - 1 ? dim - 1 : st;
				e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
				uint64_t back = (uint64_t)0 - (uint64_t)step;
				count = st > e ? 1 + (int64_t)((uint64_t)(st - e - 1) / back) : 0;
			}
			rm->count[a] = count;
			rm->start[a] = st;
			rm->step[a] = step;
		}
		return GB_OK;
	}
	if (strcmp(op, "Pad") == 0) {
		const char *mode = em_attr_string(node, "mode", "constant");
		map->has_fill = 1;
		map->fill = !strcmp(mode, "edge") ? EM_FILL_EDGE : !strcmp(mode, "reflect") ? EM_FILL_REFLECT
		            : !strcmp(mode, "wrap")  ? EM_FILL_WRAP
		                                     : EM_FILL_CONSTANT;
		int64_t n_pads, n_axes = -1;
		const int64_t *pads, *axes = NULL;
		map->value = 0;
		if (gb_opset_of(p->m) < 11) {
			pads = em_attr_ints(node, "pads", &n_pads);
			map->value = em_attr_float(node, "value", 0.0f);
		} else {
			if (!(pads = em_static_ints(p, node, 1, r, &n_pads, err)))
				return err ? err->status : GB_STATUS_UNSUPPORTED;
			if (gb_opset_of(p->m) >= 18 && em_in(p, node, 3) &&
			    !(axes = em_static_ints(p, node, 3, r, &n_axes, err)))
				return err ? err->status : GB_STATUS_UNSUPPORTED;
			const em_val *c = em_in(p, node, 2);
			if (c) {
				if (!c->is_static)
					return em_unsupported(err, p, node, "the constant_value is computed from the inputs");
				map->value = em_elem_f(c->run_data[0], 0);
			}
		}
		int64_t n_ax = n_axes >= 0 ? n_axes : R;
		for (int i = 0; i < (int)n_ax; i++) {
			int a = axes ? gb_axis(axes[i], R) : i;
			if (a < 0)
				return em_unsupported(err, p, node, "bad axes");
			int64_t n = in[a], b = pads[i], e = pads[i + n_ax];
			int64_t crop_b = b < 0 ? -b : 0, crop_e = e < 0 ? -e : 0;
			rm->count[a] = n - crop_b - crop_e;
			rm->start[a] = crop_b;
			rm->before[a] = b > 0 ? b : 0;
		}
		return GB_OK;
	}
	return em_unsupported(err, p, node, "no axis map");
}

gb_status em_axis_map_of(em_plan *p, const gb_node *node, em_axis_map *map, gb_error *err)
{
	memset(map, 0, sizeof *map);
	run_map rm[EM_RUNS];
	memset(rm, 0, sizeof rm);
	for (int r = 0; r < p->n_runs; r++) {
		gb_status st = map_run(p, node, r, &rm[r], map, err);
		if (st != GB_OK)
			return st;
	}
	for (int a = 0; a < map->ndim; a++) {
		int64_t f[5][EM_RUNS];
		for (int r = 0; r < p->n_runs; r++) {
			f[0][r] = rm[r].before[a];
			f[1][r] = rm[r].count[a];
			f[2][r] = rm[r].start[a];
			f[3][r] = rm[r].step[a];
			f[4][r] = rm[r].stride[a];
		}
		em_mono out[5];
		if (!fit_fields(p, 5, f, out))
			return em_unsupported(err, p, node, "axis %d's geometry depends on the batch size in a way the emitter "
			                                    "cannot express", a);
		map->before[a] = out[0];
		map->count[a] = out[1];
		map->start[a] = out[2];
		map->step[a] = out[3];
		map->stride[a] = out[4];
	}
	return GB_OK;
}

/* ==== the ops both emitters translate ======================================================= */

static const char *const emitted_ops[] = {
	"Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual",
	"And", "Or", "Xor", "Not", "Sum", "Mean", "Max", "Min", "Where", "Clip", "Sqrt", "Neg", "Abs", "Exp", "Log",
	"Erf", "Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "Tanh", "Softplus", "Gelu", "Cast", "CastLike", "Identity",
	"Dropout", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Slice", "Expand", "Pad", "Concat",
	"Split", "Gather", "Gemm", "MatMul", "Conv", "MaxPool", "AveragePool", "GlobalMaxPool",
	"GlobalAveragePool", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ArgMax", "Softmax",
	"LogSoftmax", "LayerNormalization", "BatchNormalization", "TopK", "Shape", NULL};

int gb_emit_op_supported(const char *op_type)
{
	for (int i = 0; emitted_ops[i]; i++)
		if (strcmp(emitted_ops[i], op_type) == 0)
			return 1;
	return 0;
}

/* ==== checks and tables both emitters use ========================================== */

gb_status em_check_func_name(const char *fname, const char *lang, gb_error *err)
{
	for (const char *c = fname; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' || (c > fname && *c >= '0' && *c <= '9')))
			return gb_fail(err, GB_STATUS_USAGE, "emit: function name '%s' is not a %s identifier", fname, lang);
	if (!fname[0])
		return gb_fail(err, GB_STATUS_USAGE, "emit: empty function name");
	return GB_OK;
}

gb_status em_check_broadcast(const em_plan *p, const gb_node *node, gb_error *err)
{
	static const char *const binary[] = {"Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Equal", "Greater", "Less"};
	if (gb_opset_of(p->m) >= 7)
		return GB_OK;
	for (size_t i = 0; i < sizeof binary / sizeof binary[0]; i++)
		if (em_is_op(node, binary[i]))
			return em_unsupported(err, p, node,
			                      "legacy broadcasting (opset %lld < 7) is not supported by the emitters",
			                      (long long)p->m->opset);
	return GB_OK;
}

int64_t em_cast_to(const gb_node *node, const em_val *y)
{
	if (em_is_op(node, "Cast"))
		return em_attr_int(node, "to", 0);
	return y->dtype == GB_DTYPE_F32 ? 1 : y->dtype == GB_DTYPE_I64 ? 7 : 9;
}

const char *em_compare_template(const char *op, gb_dtype dt)
{
	static const char *const table[][2] = {
		{"Greater", "$0 > $1"}, {"Less", "$0 < $1"}, {"GreaterOrEqual", "$0 >= $1"}, {"LessOrEqual", "$0 <= $1"}};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(op, table[i][0]) == 0)
			return dt == GB_DTYPE_BOOL ? NULL : table[i][1];
	return NULL;
}
