/*
 * exec.c — sessions: the forward pass over the graph in file order, the
 * activation cache (captures), interventions, and the reverse-mode pass.
 *
 * Memory: every value computed in a forward pass lives in the session's
 * forward arena until the next forward (so captures, gb_session_value and
 * backward can read it); gradients live in a second arena reset by each
 * backward. Weights are read in place from the model.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

typedef struct hook {
	int value;
	int is_capture;
	gb_tensor_map *cache;         /* capture */
	gb_intervention kind;         /* intervention */
	int64_t *units;
	int n_units;
	float amount;
	gb_tensor *source;
} hook;

struct gb_exec {
	const gb_model *m;
	gb_arena fwd;        /* values of the current forward pass */
	gb_arena bwd;        /* gradients of the current backward pass */
	gb_tensor *vals;     /* [n_values]; data NULL until computed */
	gb_tensor *grads;    /* [n_values]; data NULL until a gradient reaches it */
	gb_tensor *pre;      /* [n_values]; a value as its node wrote it, before interventions
	                      * changed it (data NULL when none did): the node's own backward
	                      * must see its real output, consumers see the changed one */
	unsigned char *want; /* [n_values]; gradient wanted (float, on a path from the outputs) */
	gb_tensor **inputs;  /* [n_inputs] caller's inputs (owned copies) */
	int n_hooks;
	hook *hooks;
	int in_backward;     /* gb_scratch then draws on the gradient arena */
	int forward_done;
	int backward_done;
	int alloc_failed;
};

struct gb_session {
	gb_exec x;
};

/* ---- op helpers --------------------------------------------------------------- */

const gb_model *gb_exec_model(const gb_exec *x)
{
	return x->m;
}

const gb_tensor *gb_in(gb_exec *x, const gb_node *node, int k)
{
	if (k < 0 || k >= node->n_inputs || node->inputs[k] < 0)
		return NULL;
	const gb_tensor *t = &x->vals[node->inputs[k]];
	return t->data ? t : NULL;
}

void *gb_scratch(gb_exec *x, size_t bytes)
{
	return gb_arena_alloc(x->in_backward ? &x->bwd : &x->fwd, bytes);
}

gb_tensor *gb_out(gb_exec *x, const gb_node *node, int k, gb_dtype dtype, int ndim, const int64_t *dims,
                  gb_error *err)
{
	GB_ASSERT(k >= 0 && k < node->n_outputs);
	size_t bytes;
	if (!gb_shape_bytes(dtype, ndim, dims, &bytes))
		return gb_node_error(err, x->m, node, GB_STATUS_BAD_FILE, "output %d of shape %s is too large", k,
		                     gb_shape_str(ndim, dims, (char[128]){0}, 128)),
		       NULL;
	void *data = gb_arena_alloc(&x->fwd, bytes ? bytes : 1);
	if (!data)
		return gb_node_error(err, x->m, node, GB_STATUS_NOMEM, "cannot allocate %zu bytes for output %d", bytes,
		                     k),
		       NULL;
	static gb_tensor unbound; /* never written through: only reachable for omitted outputs */
	gb_tensor *t = node->outputs[k] >= 0 ? &x->vals[node->outputs[k]] : &unbound;
	if (t == &unbound) {
		t = gb_arena_alloc(&x->fwd, sizeof *t);
		if (!t)
			return gb_node_error(err, x->m, node, GB_STATUS_NOMEM, "out of memory"), NULL;
	}
	t->dtype = dtype;
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		t->dims[i] = dims[i];
	t->data = data;
	return t;
}

const gb_tensor *gb_gout(gb_exec *x, const gb_node *node, int k)
{
	if (k < 0 || k >= node->n_outputs || node->outputs[k] < 0)
		return NULL;
	const gb_tensor *g = &x->grads[node->outputs[k]];
	return g->data ? g : NULL;
}

/* The gradient buffer of value v, created zeroed on first use. */
static gb_tensor *grad_of(gb_exec *x, int v)
{
	gb_tensor *g = &x->grads[v];
	if (g->data)
		return g;
	const gb_tensor *val = &x->vals[v];
	size_t bytes;
	if (!gb_shape_bytes(GB_DTYPE_F32, val->ndim, val->dims, &bytes)) {
		x->alloc_failed = 1;
		return NULL;
	}
	void *data = gb_arena_alloc(&x->bwd, bytes ? bytes : 1);
	if (!data) {
		x->alloc_failed = 1;
		return NULL;
	}
	memset(data, 0, bytes);
	*g = *val;
	g->dtype = GB_DTYPE_F32;
	g->data = data;
	return g;
}

gb_tensor *gb_gin(gb_exec *x, const gb_node *node, int k)
{
	if (k < 0 || k >= node->n_inputs || node->inputs[k] < 0 || !x->want[node->inputs[k]])
		return NULL;
	return grad_of(x, node->inputs[k]);
}

gb_status gb_dtype_unsupported(gb_exec *x, const gb_node *node, const gb_tensor *t, gb_error *err)
{
	return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s on %s tensors is not supported (node %s) in %s", node->op_type,
	               gb_dtype_name(t->dtype), node->name, x->m->label);
}

/* ---- sessions ------------------------------------------------------------------- */

gb_status gb_session_new(const gb_model *m, gb_session **out, gb_error *err)
{
	*out = NULL;
	gb_session *s = calloc(1, sizeof *s);
	if (!s)
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	gb_exec *x = &s->x;
	x->m = m;
	gb_arena_init(&x->fwd, (size_t)1 << 20);
	gb_arena_init(&x->bwd, (size_t)1 << 20);
	size_t nv = (size_t)(m->n_values ? m->n_values : 1);
	x->vals = calloc(nv, sizeof *x->vals);
	x->grads = calloc(nv, sizeof *x->grads);
	x->pre = calloc(nv, sizeof *x->pre);
	x->want = calloc(nv, 1);
	x->inputs = calloc((size_t)(m->n_inputs ? m->n_inputs : 1), sizeof *x->inputs);
	if (!x->vals || !x->grads || !x->pre || !x->want || !x->inputs) {
		gb_session_free(s);
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	}
	*out = s;
	return GB_OK;
}

static void hook_release(hook *h)
{
	free(h->units);
	gb_tensor_free(h->source);
}

void gb_session_clear_hooks(gb_session *s)
{
	for (int i = 0; i < s->x.n_hooks; i++)
		hook_release(&s->x.hooks[i]);
	free(s->x.hooks);
	s->x.hooks = NULL;
	s->x.n_hooks = 0;
}

void gb_session_free(gb_session *s)
{
	if (!s)
		return;
	gb_exec *x = &s->x;
	gb_session_clear_hooks(s);
	if (x->inputs)
		for (int i = 0; i < x->m->n_inputs; i++)
			gb_tensor_free(x->inputs[i]);
	free(x->inputs);
	free(x->vals);
	free(x->grads);
	free(x->pre);
	free(x->want);
	gb_arena_release(&x->fwd);
	gb_arena_release(&x->bwd);
	free(s);
}

gb_status gb_session_set_input(gb_session *s, int i, const gb_tensor *t, gb_error *err)
{
	const gb_model *m = s->x.m;
	if (i < 0 || i >= m->n_inputs)
		return gb_fail(err, GB_STATUS_USAGE, "%s: the model has %d inputs, not %d", m->label, m->n_inputs, i + 1);
	const gb_value *v = &m->values[m->inputs[i]];
	char want[160], got[160];
	gb_shape_str(v->ndim, v->dims, want, sizeof want);
	gb_shape_str(t->ndim, t->dims, got, sizeof got);
	if (t->dtype != v->dtype)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: input '%s' wants %s data, got %s", m->label, v->name,
		               gb_dtype_name(v->dtype), gb_dtype_name(t->dtype));
	int fits = v->ndim < 0 || v->ndim == t->ndim;
	for (int d = 0; fits && v->ndim >= 0 && d < v->ndim; d++)
		if (v->dims[d] >= 0 && v->dims[d] != t->dims[d])
			fits = 0;
	if (!fits)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: input '%s' wants shape %s, got %s", m->label, v->name, want,
		               got);
	gb_tensor *copy;
	gb_status st = gb_tensor_clone(t, &copy, err);
	if (st != GB_OK)
		return st;
	gb_tensor_free(s->x.inputs[i]);
	s->x.inputs[i] = copy;
	return GB_OK;
}

static int resolve_value(const gb_model *m, const char *name)
{
	int v = gb_model_find_value(m, name);
	if (v >= 0)
		return v;
	int n = gb_model_find_node(m, name);
	if (n >= 0 && m->nodes[n].n_outputs > 0)
		return m->nodes[n].outputs[0];
	return -1;
}

const char *gb_session_resolve(const gb_session *s, const char *name)
{
	int v = resolve_value(s->x.m, name);
	return v < 0 ? NULL : s->x.m->values[v].name;
}

static gb_status add_hook(gb_session *s, const hook *h, gb_error *err)
{
	hook *hooks = realloc(s->x.hooks, (size_t)(s->x.n_hooks + 1) * sizeof *hooks);
	if (!hooks)
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	s->x.hooks = hooks;
	s->x.hooks[s->x.n_hooks++] = *h;
	return GB_OK;
}

static gb_status hook_target(gb_session *s, const char *name, int *v, gb_error *err)
{
	const gb_model *m = s->x.m;
	*v = resolve_value(m, name);
	if (*v < 0)
		return gb_fail(err, GB_STATUS_USAGE, "%s: no node or value named '%s'", m->label, name);
	if (m->values[*v].init)
		return gb_fail(err, GB_STATUS_USAGE, "%s: '%s' is a weight, not an activation", m->label, name);
	return GB_OK;
}

gb_status gb_session_capture(gb_session *s, const char *name, gb_tensor_map *cache, gb_error *err)
{
	hook h = {0};
	gb_status st = hook_target(s, name, &h.value, err);
	if (st != GB_OK)
		return st;
	h.is_capture = 1;
	h.cache = cache;
	return add_hook(s, &h, err);
}

gb_status gb_session_intervene(gb_session *s, const char *name, gb_intervention kind, const int64_t *units,
                               int n_units, float value, const gb_tensor *source, gb_error *err)
{
	hook h = {0};
	gb_status st = hook_target(s, name, &h.value, err);
	if (st != GB_OK)
		return st;
	if (kind < GB_INTERVENE_ZERO || kind > GB_INTERVENE_PATCH || n_units < 0 || (n_units > 0 && !units))
		return gb_fail(err, GB_STATUS_USAGE, "bad intervention arguments");
	if (kind == GB_INTERVENE_PATCH) {
		if (!source)
			return gb_fail(err, GB_STATUS_USAGE, "a patch intervention on '%s' needs a source tensor", name);
		if (source->dtype != GB_DTYPE_F32)
			return gb_fail(err, GB_STATUS_USAGE, "a patch source for '%s' must be float32", name);
		st = gb_tensor_clone(source, &h.source, err);
		if (st != GB_OK)
			return st;
	}
	h.kind = kind;
	h.amount = value;
	h.n_units = n_units;
	if (n_units > 0) {
		h.units = malloc((size_t)n_units * sizeof *h.units);
		if (!h.units) {
			gb_tensor_free(h.source);
			return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
		}
		memcpy(h.units, units, (size_t)n_units * sizeof *h.units);
	}
	st = add_hook(s, &h, err);
	if (st != GB_OK)
		hook_release(&h);
	return st;
}

/* Layout of a value for unit-wise interventions: outer (batch) × units × inner. */
typedef struct unit_layout {
	int64_t outer, units, inner;
} unit_layout;

static unit_layout layout_of(const gb_tensor *t)
{
	unit_layout l = {1, 1, 1};
	if (t->ndim == 1) {
		l.units = t->dims[0];
	} else if (t->ndim >= 2) {
		l.outer = t->dims[0];
		l.units = t->dims[1];
		for (int d = 2; d < t->ndim; d++)
			l.inner *= t->dims[d];
	}
	return l;
}

/* Checks a hook's units and patch source against the value it acts on. */
static gb_status check_hook(const gb_exec *x, const hook *h, const gb_tensor *t, gb_error *err)
{
	const char *name = x->m->values[h->value].name;
	if (t->dtype != GB_DTYPE_F32)
		return gb_fail(err, GB_STATUS_USAGE, "cannot intervene on '%s': it is %s, not float32", name,
		               gb_dtype_name(t->dtype));
	unit_layout l = layout_of(t);
	for (int i = 0; i < h->n_units; i++)
		if (h->units[i] < 0 || h->units[i] >= l.units)
			return gb_fail(err, GB_STATUS_USAGE, "unit %lld of '%s' is out of range: it has %lld units (axis 1)",
			               (long long)h->units[i], name, (long long)l.units);
	if (h->kind == GB_INTERVENE_PATCH) {
		int64_t n = gb_tensor_numel(t), ns = gb_tensor_numel(h->source);
		int same = h->source->ndim == t->ndim, per_item = h->source->ndim == t->ndim - 1 && t->ndim >= 2;
		for (int d = 0; same && d < t->ndim; d++)
			same = h->source->dims[d] == t->dims[d];
		for (int d = 0; per_item && d < h->source->ndim; d++)
			per_item = h->source->dims[d] == t->dims[d + 1];
		if (!same && !per_item) {
			char a[160], b[160];
			return gb_fail(err, GB_STATUS_USAGE, "patch source for '%s' has shape %s, the value has %s", name,
			               gb_shape_str(h->source->ndim, h->source->dims, a, sizeof a),
			               gb_shape_str(t->ndim, t->dims, b, sizeof b));
		}
		(void)n;
		(void)ns;
	}
	return GB_OK;
}

/* Applies fn to every element index of the hook's units. */
static void apply_intervention(const hook *h, gb_tensor *t)
{
	unit_layout l = layout_of(t);
	float *data = t->data;
	const float *src = h->source ? h->source->data : NULL;
	int64_t src_period = h->source ? gb_tensor_numel(h->source) : 0;
	int64_t n_units = h->n_units ? h->n_units : l.units;
	for (int64_t o = 0; o < l.outer; o++) {
		for (int64_t ui = 0; ui < n_units; ui++) {
			int64_t u = h->n_units ? h->units[ui] : ui;
			int64_t base = (o * l.units + u) * l.inner;
			for (int64_t i = 0; i < l.inner; i++) {
				int64_t at = base + i;
				switch (h->kind) {
				case GB_INTERVENE_ZERO: data[at] = 0.0f; break;
				case GB_INTERVENE_SCALE: data[at] *= h->amount; break;
				case GB_INTERVENE_SET: data[at] = h->amount; break;
				case GB_INTERVENE_PATCH: data[at] = src[at % src_period]; break;
				}
			}
		}
	}
}

/* The transpose of apply_intervention's Jacobian, applied to a gradient. */
static void apply_intervention_grad(const hook *h, gb_tensor *g)
{
	unit_layout l = layout_of(g);
	float *data = g->data;
	int64_t n_units = h->n_units ? h->n_units : l.units;
	for (int64_t o = 0; o < l.outer; o++)
		for (int64_t ui = 0; ui < n_units; ui++) {
			int64_t u = h->n_units ? h->units[ui] : ui;
			float *row = data + (o * l.units + u) * l.inner;
			for (int64_t i = 0; i < l.inner; i++)
				row[i] = h->kind == GB_INTERVENE_SCALE ? row[i] * h->amount : 0.0f;
		}
}

static gb_status run_hooks(gb_exec *x, int v, gb_error *err)
{
	for (int i = 0; i < x->n_hooks; i++) {
		hook *h = &x->hooks[i];
		if (h->value != v)
			continue;
		if (h->is_capture) {
			gb_status st = gb_tensor_map_put(h->cache, x->m->values[v].name, &x->vals[v], err);
			if (st != GB_OK)
				return st;
			continue;
		}
		gb_status st = check_hook(x, h, &x->vals[v], err);
		if (st != GB_OK)
			return st;
		if (!x->pre[v].data) {
			size_t bytes = (size_t)gb_tensor_numel(&x->vals[v]) * sizeof(float);
			void *copy = gb_arena_alloc(&x->fwd, bytes ? bytes : 1);
			if (!copy)
				return gb_fail(err, GB_STATUS_NOMEM, "out of memory for an intervention on '%s'",
				               x->m->values[v].name);
			memcpy(copy, x->vals[v].data, bytes);
			x->pre[v] = x->vals[v];
			x->pre[v].data = copy;
		}
		apply_intervention(h, &x->vals[v]);
	}
	return GB_OK;
}

gb_status gb_session_forward(gb_session *s, gb_error *err)
{
	gb_exec *x = &s->x;
	const gb_model *m = x->m;
	x->forward_done = 0;
	x->backward_done = 0;
	for (int i = 0; i < m->n_inputs; i++)
		if (!x->inputs[i])
			return gb_fail(err, GB_STATUS_USAGE, "%s: input '%s' was not set", m->label,
			               m->values[m->inputs[i]].name);
	gb_arena_reset(&x->fwd);
	memset(x->vals, 0, (size_t)m->n_values * sizeof *x->vals);
	memset(x->pre, 0, (size_t)m->n_values * sizeof *x->pre);
	for (int v = 0; v < m->n_values; v++)
		if (m->values[v].init)
			x->vals[v] = *m->values[v].init;
	for (int i = 0; i < m->n_inputs; i++) {
		x->vals[m->inputs[i]] = *x->inputs[i];
		gb_status st = run_hooks(x, m->inputs[i], err);
		if (st != GB_OK)
			return st;
	}
	for (int n = 0; n < m->n_nodes; n++) {
		const gb_node *node = &m->nodes[n];
		gb_status st = node->op->forward(x, node, err);
		if (st != GB_OK)
			return st;
		for (int k = 0; k < node->n_outputs; k++) {
			int v = node->outputs[k];
			if (v < 0)
				continue;
			GB_ASSERT(x->vals[v].data != NULL); /* an op must write every bound output */
			st = run_hooks(x, v, err);
			if (st != GB_OK)
				return st;
		}
	}
	x->forward_done = 1;
	return GB_OK;
}

const gb_tensor *gb_session_output(const gb_session *s, int i)
{
	if (!s->x.forward_done || i < 0 || i >= s->x.m->n_outputs)
		return NULL;
	return &s->x.vals[s->x.m->outputs[i]];
}

const gb_tensor *gb_session_value(const gb_session *s, const char *name)
{
	int v = resolve_value(s->x.m, name);
	if (!s->x.forward_done || v < 0 || !s->x.vals[v].data)
		return NULL;
	return &s->x.vals[v];
}

/* ---- backward ---------------------------------------------------------------- */

static int is_float(gb_dtype dt)
{
	return dt == GB_DTYPE_F32;
}

/* want[v]: v is a float value with a path to a seeded output. */
static void mark_wanted(gb_exec *x, const unsigned char *seeded)
{
	const gb_model *m = x->m;
	memset(x->want, 0, (size_t)m->n_values);
	for (int v = 0; v < m->n_values; v++)
		x->want[v] = seeded[v];
	for (int n = m->n_nodes - 1; n >= 0; n--) {
		const gb_node *node = &m->nodes[n];
		int reaches = 0;
		for (int k = 0; k < node->n_outputs; k++)
			if (node->outputs[k] >= 0 && x->want[node->outputs[k]])
				reaches = 1;
		if (!reaches || !node->op->backward)
			continue;
		for (int k = 0; k < node->n_inputs; k++) {
			int v = node->inputs[k];
			if (v >= 0 && x->vals[v].data && is_float(x->vals[v].dtype))
				x->want[v] = 1;
		}
	}
}

/* Exchanges the node's intervened outputs with their pre-intervention copies. */
static void swap_pre(gb_exec *x, const gb_node *node)
{
	for (int k = 0; k < node->n_outputs; k++) {
		int v = node->outputs[k];
		if (v < 0 || !x->pre[v].data)
			continue;
		gb_tensor t = x->vals[v];
		x->vals[v] = x->pre[v];
		x->pre[v] = t;
	}
}

gb_status gb_session_backward(gb_session *s, const gb_tensor *const *cotangents, gb_error *err)
{
	gb_exec *x = &s->x;
	const gb_model *m = x->m;
	if (!x->forward_done)
		return gb_fail(err, GB_STATUS_USAGE, "%s: backward needs a forward pass first", m->label);
	gb_arena_reset(&x->bwd);
	memset(x->grads, 0, (size_t)m->n_values * sizeof *x->grads);
	x->alloc_failed = 0;
	x->backward_done = 0;

	unsigned char *seeded = calloc((size_t)(m->n_values ? m->n_values : 1), 1);
	if (!seeded)
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	gb_status st = GB_OK;
	for (int i = 0; i < m->n_outputs; i++) {
		int v = m->outputs[i];
		const gb_tensor *y = &x->vals[v];
		const gb_tensor *seed = cotangents ? cotangents[i] : NULL;
		if (!cotangents && i != 0)
			continue;
		if (cotangents && !seed)
			continue;
		if (!is_float(y->dtype)) {
			st = gb_fail(err, GB_STATUS_USAGE, "%s: output '%s' is %s and has no gradient", m->label,
			             m->values[v].name, gb_dtype_name(y->dtype));
			goto done;
		}
		if (seed) {
			int same = seed->ndim == y->ndim && seed->dtype == GB_DTYPE_F32;
			for (int d = 0; same && d < y->ndim; d++)
				same = seed->dims[d] == y->dims[d];
			if (!same) {
				char a[160], b[160];
				st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: cotangent for output '%s' is %s %s, the output is float32 %s",
				             m->label, m->values[v].name, gb_dtype_name(seed->dtype),
				             gb_shape_str(seed->ndim, seed->dims, a, sizeof a), gb_shape_str(y->ndim, y->dims, b, sizeof b));
				goto done;
			}
		}
		seeded[v] = 1;
	}
	mark_wanted(x, seeded);
	for (int i = 0; i < m->n_outputs; i++) {
		int v = m->outputs[i];
		if (!seeded[v])
			continue;
		gb_tensor *g = grad_of(x, v);
		if (!g) {
			st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory for gradients", m->label);
			goto done;
		}
		int64_t n = gb_tensor_numel(g);
		float *gd = g->data;
		const float *sd = cotangents ? cotangents[i]->data : NULL;
		for (int64_t j = 0; j < n; j++)
			gd[j] += sd ? sd[j] : 1.0f;
	}
	for (int n = m->n_nodes - 1; n >= 0; n--) {
		const gb_node *node = &m->nodes[n];
		int reached = 0;
		for (int k = 0; k < node->n_outputs; k++) {
			int v = node->outputs[k];
			if (v < 0 || !x->grads[v].data)
				continue;
			reached = 1;
			/* Interventions on this output are part of the function: pull the
			 * gradient back through them, last applied first. */
			for (int h = x->n_hooks - 1; h >= 0; h--)
				if (!x->hooks[h].is_capture && x->hooks[h].value == v)
					apply_intervention_grad(&x->hooks[h], &x->grads[v]);
		}
		if (!reached)
			continue;
		if (!node->op->backward) {
			for (int k = 0; k < node->n_outputs; k++) {
				int v = node->outputs[k];
				if (v >= 0 && x->grads[v].data && is_float(x->vals[v].dtype)) {
					st = gb_node_error(err, m, node, GB_STATUS_UNSUPPORTED, "no gradient is defined for this op");
					goto done;
				}
			}
			continue;
		}
		/* The op differentiates what it computed: show it its own outputs as
		 * it wrote them, not as interventions changed them. */
		swap_pre(x, node);
		x->in_backward = 1;
		st = node->op->backward(x, node, err);
		x->in_backward = 0;
		swap_pre(x, node);
		if (st != GB_OK)
			goto done;
		if (x->alloc_failed) {
			st = gb_node_error(err, m, node, GB_STATUS_NOMEM, "out of memory for gradients");
			goto done;
		}
	}
	/* Interventions on graph inputs act before any node reads them. */
	for (int i = 0; i < m->n_inputs; i++) {
		int v = m->inputs[i];
		for (int h = x->n_hooks - 1; h >= 0; h--)
			if (!x->hooks[h].is_capture && x->hooks[h].value == v && x->grads[v].data)
				apply_intervention_grad(&x->hooks[h], &x->grads[v]);
	}
	x->backward_done = 1;
done:
	free(seeded);
	return st;
}

const gb_tensor *gb_session_grad(const gb_session *s, const char *name)
{
	int v = resolve_value(s->x.m, name);
	if (!s->x.backward_done || v < 0 || !s->x.grads[v].data)
		return NULL;
	return &s->x.grads[v];
}

const gb_tensor *gb_session_input_grad(const gb_session *s, int i)
{
	if (!s->x.backward_done || i < 0 || i >= s->x.m->n_inputs)
		return NULL;
	const gb_tensor *g = &s->x.grads[s->x.m->inputs[i]];
	return g->data ? g : NULL;
}
