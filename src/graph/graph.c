/*
 * graph.c — building and querying the graph IR (see graph.h), and the
 * public gb_model_* getters.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

gb_status gb_model_new_empty(const char *label, gb_model **out, gb_error *err)
{
	gb_model *m = calloc(1, sizeof *m);
	if (!m)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", label);
	gb_arena_init(&m->arena, (size_t)1 << 16);
	m->label = gb_arena_strdup(&m->arena, label ? label : "<model>");
	m->graph_name = "";
	m->producer_name = "";
	if (!m->label) {
		gb_model_free(m);
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	}
	*out = m;
	return GB_OK;
}

void gb_model_free(gb_model *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n_nodes; i++) {
		free(m->nodes[i].inputs);
		free(m->nodes[i].outputs);
		free(m->nodes[i].attrs);
	}
	free(m->nodes);
	free(m->values);
	free(m->inputs);
	free(m->outputs);
	free(m->params);
	gb_arena_release(&m->arena);
	free(m);
}

static int grow(void **array, int *cap, int need, size_t elem)
{
	if (need <= *cap)
		return 1;
	int n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *p = realloc(*array, (size_t)n * elem);
	if (!p)
		return 0;
	*array = p;
	*cap = n;
	return 1;
}

int gb_model_find_value(const gb_model *m, const char *name)
{
	/* Linear scan: models have at most thousands of values and lookups happen
	 * at load time and in the CLI, not in the forward pass. */
	for (int i = 0; i < m->n_values; i++)
		if (strcmp(m->values[i].name, name) == 0)
			return i;
	return -1;
}

int gb_model_add_value(gb_model *m, const char *name, gb_dtype dtype, int ndim, const int64_t *dims)
{
	if (ndim > GB_MAX_DIMS)
		return -1;
	if (!grow((void **)&m->values, &m->cap_values, m->n_values + 1, sizeof *m->values))
		return -1;
	gb_value *v = &m->values[m->n_values];
	memset(v, 0, sizeof *v);
	v->name = gb_arena_strdup(&m->arena, name);
	if (!v->name)
		return -1;
	v->dtype = dtype;
	v->ndim = ndim;
	for (int i = 0; i < ndim && dims; i++)
		v->dims[i] = dims[i];
	v->producer = -1;
	return m->n_values++;
}

int gb_model_add_node(gb_model *m, const char *name, const char *op_type, const char *domain, int n_inputs,
                      const int *inputs, int n_outputs, const int *outputs)
{
	if (!grow((void **)&m->nodes, &m->cap_nodes, m->n_nodes + 1, sizeof *m->nodes))
		return -1;
	gb_node *node = &m->nodes[m->n_nodes];
	memset(node, 0, sizeof *node);
	node->name = gb_arena_strdup(&m->arena, name);
	node->op_type = gb_arena_strdup(&m->arena, op_type);
	node->domain = gb_arena_strdup(&m->arena, domain ? domain : "");
	node->inputs = malloc((size_t)(n_inputs ? n_inputs : 1) * sizeof(int));
	node->outputs = malloc((size_t)(n_outputs ? n_outputs : 1) * sizeof(int));
	if (!node->name || !node->op_type || !node->domain || !node->inputs || !node->outputs) {
		free(node->inputs);
		free(node->outputs);
		return -1;
	}
	node->n_inputs = n_inputs;
	node->n_outputs = n_outputs;
	if (n_inputs)
		memcpy(node->inputs, inputs, (size_t)n_inputs * sizeof(int));
	if (n_outputs)
		memcpy(node->outputs, outputs, (size_t)n_outputs * sizeof(int));
	for (int k = 0; k < n_outputs; k++)
		if (outputs[k] >= 0)
			m->values[outputs[k]].producer = m->n_nodes;
	return m->n_nodes++;
}

gb_status gb_node_add_attr(gb_model *m, gb_node *node, const gb_attr *attr, gb_error *err)
{
	gb_attr *attrs = realloc(node->attrs, (size_t)(node->n_attrs + 1) * sizeof *attrs);
	if (!attrs)
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	node->attrs = attrs;
	gb_attr a = *attr;
	a.name = gb_arena_strdup(&m->arena, attr->name);
	if (!a.name)
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	if (attr->s) {
		char *s = gb_arena_alloc(&m->arena, attr->s_len + 1);
		if (!s)
			return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
		memcpy(s, attr->s, attr->s_len);
		s[attr->s_len] = '\0';
		a.s = s;
	}
	if (attr->type == GB_ATTR_FLOATS && attr->n > 0) {
		a.floats = gb_arena_alloc(&m->arena, (size_t)attr->n * sizeof(float));
		if (!a.floats)
			return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
		memcpy(a.floats, attr->floats, (size_t)attr->n * sizeof(float));
	}
	if (attr->type == GB_ATTR_INTS && attr->n > 0) {
		a.ints = gb_arena_alloc(&m->arena, (size_t)attr->n * sizeof(int64_t));
		if (!a.ints)
			return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
		memcpy(a.ints, attr->ints, (size_t)attr->n * sizeof(int64_t));
	}
	if (attr->type == GB_ATTR_STRINGS && attr->n > 0) {
		a.strings = gb_arena_alloc(&m->arena, (size_t)attr->n * sizeof(char *));
		if (!a.strings)
			return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
		for (int64_t i = 0; i < attr->n; i++) {
			a.strings[i] = gb_arena_strdup(&m->arena, attr->strings[i]);
			if (!a.strings[i])
				return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
		}
	}
	if (attr->t) {
		size_t bytes = 0;
		gb_shape_bytes(attr->t->dtype, attr->t->ndim, attr->t->dims, &bytes);
		gb_tensor *t = gb_arena_alloc(&m->arena, sizeof *t);
		void *data = gb_arena_alloc(&m->arena, bytes ? bytes : 1);
		if (!t || !data)
			return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
		*t = *attr->t;
		t->data = data;
		if (bytes)
			memcpy(data, attr->t->data, bytes);
		a.t = t;
	}
	node->attrs[node->n_attrs++] = a;
	return GB_OK;
}

static int *copy_ints(const int *src, int n)
{
	int *dst = malloc((size_t)(n ? n : 1) * sizeof(int));
	if (dst && n)
		memcpy(dst, src, (size_t)n * sizeof(int));
	return dst;
}

gb_status gb_model_set_io(gb_model *m, int n_inputs, const int *inputs, int n_outputs, const int *outputs,
                          gb_error *err)
{
	int *in = copy_ints(inputs, n_inputs);
	int *out = copy_ints(outputs, n_outputs);
	if (!in || !out) {
		free(in);
		free(out);
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	}
	free(m->inputs);
	free(m->outputs);
	m->inputs = in;
	m->outputs = out;
	m->n_inputs = n_inputs;
	m->n_outputs = n_outputs;
	for (int i = 0; i < n_inputs; i++)
		m->values[inputs[i]].is_input = 1;
	for (int i = 0; i < n_outputs; i++)
		m->values[outputs[i]].is_output = 1;
	return GB_OK;
}

gb_status gb_model_set_init(gb_model *m, int v, const gb_tensor *t, gb_error *err)
{
	size_t bytes;
	if (!gb_shape_bytes(t->dtype, t->ndim, t->dims, &bytes))
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: initializer '%s' is too large", m->label, m->values[v].name);
	gb_tensor *copy = gb_arena_alloc(&m->arena, sizeof *copy);
	void *data = gb_arena_alloc(&m->arena, bytes ? bytes : 1);
	int *params = realloc(m->params, (size_t)(m->n_params + 1) * sizeof(int));
	if (params)
		m->params = params;
	if (!copy || !data || !params)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory for initializer '%s'", m->label,
		               m->values[v].name);
	*copy = *t;
	copy->data = data;
	if (bytes)
		memcpy(data, t->data, bytes);
	gb_value *val = &m->values[v];
	val->init = copy;
	val->dtype = t->dtype;
	val->ndim = t->ndim;
	for (int i = 0; i < t->ndim; i++)
		val->dims[i] = t->dims[i];
	m->params[m->n_params++] = v;
	return GB_OK;
}

const gb_attr *gb_node_attr(const gb_node *node, const char *name)
{
	for (int i = 0; i < node->n_attrs; i++)
		if (strcmp(node->attrs[i].name, name) == 0)
			return &node->attrs[i];
	return NULL;
}

gb_status gb_node_error(gb_error *err, const gb_model *m, const gb_node *node, gb_status status, const char *fmt,
                        ...)
{
	if (!err)
		return status;
	char what[GB_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(err->msg, sizeof err->msg, "%s: node '%s' (%s): %s", m->label, node->name, node->op_type, what);
	err->status = status;
	return status;
}

static gb_status attr_type_error(const gb_model *m, const gb_node *node, const gb_attr *a, const char *want,
                                 gb_error *err)
{
	return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "attribute '%s' should be %s", a->name, want);
}

gb_status gb_attr_int(const gb_model *m, const gb_node *node, const char *name, int64_t def, int64_t *out,
                      gb_error *err)
{
	const gb_attr *a = gb_node_attr(node, name);
	if (!a) {
		*out = def;
		return GB_OK;
	}
	if (a->type != GB_ATTR_INT)
		return attr_type_error(m, node, a, "an int", err);
	*out = a->i;
	return GB_OK;
}

gb_status gb_attr_float(const gb_model *m, const gb_node *node, const char *name, float def, float *out,
                        gb_error *err)
{
	const gb_attr *a = gb_node_attr(node, name);
	if (!a) {
		*out = def;
		return GB_OK;
	}
	if (a->type != GB_ATTR_FLOAT)
		return attr_type_error(m, node, a, "a float", err);
	*out = a->f;
	return GB_OK;
}

gb_status gb_attr_ints(const gb_model *m, const gb_node *node, const char *name, const int64_t **out,
                       int64_t *n, gb_error *err)
{
	const gb_attr *a = gb_node_attr(node, name);
	*out = NULL;
	*n = -1;
	if (!a)
		return GB_OK;
	if (a->type != GB_ATTR_INTS)
		return attr_type_error(m, node, a, "a list of ints", err);
	*out = a->ints;
	*n = a->n;
	return GB_OK;
}

gb_status gb_attr_floats(const gb_model *m, const gb_node *node, const char *name, const float **out,
                         int64_t *n, gb_error *err)
{
	const gb_attr *a = gb_node_attr(node, name);
	*out = NULL;
	*n = -1;
	if (!a)
		return GB_OK;
	if (a->type != GB_ATTR_FLOATS)
		return attr_type_error(m, node, a, "a list of floats", err);
	*out = a->floats;
	*n = a->n;
	return GB_OK;
}

gb_status gb_attr_string(const gb_model *m, const gb_node *node, const char *name, const char *def,
                         const char **out, gb_error *err)
{
	const gb_attr *a = gb_node_attr(node, name);
	if (!a) {
		*out = def;
		return GB_OK;
	}
	if (a->type != GB_ATTR_STRING)
		return attr_type_error(m, node, a, "a string", err);
	*out = a->s;
	return GB_OK;
}

gb_status gb_model_check_order(const gb_model *m, gb_error *err)
{
	unsigned char *ready = calloc((size_t)(m->n_values ? m->n_values : 1), 1);
	if (!ready)
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	for (int v = 0; v < m->n_values; v++)
		ready[v] = m->values[v].is_input || m->values[v].init != NULL;
	gb_status st = GB_OK;
	for (int i = 0; i < m->n_nodes && st == GB_OK; i++) {
		const gb_node *node = &m->nodes[i];
		for (int k = 0; k < node->n_inputs; k++) {
			int v = node->inputs[k];
			if (v >= 0 && !ready[v]) {
				st = gb_node_error(err, m, node, GB_STATUS_BAD_FILE,
				                   "input '%s' is not produced by an earlier node, a graph input or an initializer",
				                   m->values[v].name);
				break;
			}
		}
		for (int k = 0; k < node->n_outputs && st == GB_OK; k++) {
			int v = node->outputs[k];
			if (v < 0)
				continue;
			if (ready[v])
				st = gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "output '%s' is written twice",
				                   m->values[v].name);
			ready[v] = 1;
		}
	}
	for (int i = 0; i < m->n_outputs && st == GB_OK; i++)
		if (!ready[m->outputs[i]])
			st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: graph output '%s' is never computed", m->label,
			             m->values[m->outputs[i]].name);
	free(ready);
	return st;
}

/* ---- public getters ------------------------------------------------------ */

static void value_info(const gb_model *m, int v, gb_value_info *info)
{
	const gb_value *val = &m->values[v];
	info->name = val->name;
	info->dtype = val->dtype;
	info->ndim = val->ndim;
	info->dims = val->dims;
}

int gb_model_n_inputs(const gb_model *m) { return m->n_inputs; }
int gb_model_n_outputs(const gb_model *m) { return m->n_outputs; }

void gb_model_input(const gb_model *m, int i, gb_value_info *info)
{
	GB_ASSERT(i >= 0 && i < m->n_inputs);
	value_info(m, m->inputs[i], info);
}

void gb_model_output(const gb_model *m, int i, gb_value_info *info)
{
	GB_ASSERT(i >= 0 && i < m->n_outputs);
	value_info(m, m->outputs[i], info);
}

int gb_model_find_input(const gb_model *m, const char *name)
{
	for (int i = 0; i < m->n_inputs; i++)
		if (strcmp(m->values[m->inputs[i]].name, name) == 0)
			return i;
	return -1;
}

int gb_model_n_nodes(const gb_model *m) { return m->n_nodes; }

const char *gb_model_node_name(const gb_model *m, int i)
{
	return (i >= 0 && i < m->n_nodes) ? m->nodes[i].name : NULL;
}

const char *gb_model_node_op(const gb_model *m, int i)
{
	return (i >= 0 && i < m->n_nodes) ? m->nodes[i].op_type : NULL;
}

const char *gb_model_node_output(const gb_model *m, int i, int k)
{
	if (i < 0 || i >= m->n_nodes || k < 0 || k >= m->nodes[i].n_outputs || m->nodes[i].outputs[k] < 0)
		return NULL;
	return m->values[m->nodes[i].outputs[k]].name;
}

int gb_model_find_node(const gb_model *m, const char *name)
{
	for (int i = 0; i < m->n_nodes; i++)
		if (strcmp(m->nodes[i].name, name) == 0)
			return i;
	return -1;
}

int64_t gb_model_param_count(const gb_model *m)
{
	int64_t total = 0;
	for (int i = 0; i < m->n_params; i++) {
		const gb_tensor *t = m->values[m->params[i]].init;
		if (t->dtype == GB_DTYPE_F32 || t->dtype == GB_DTYPE_F64)
			total += gb_tensor_numel(t);
	}
	return total;
}

int64_t gb_model_opset(const gb_model *m) { return m->opset; }
int gb_model_n_params(const gb_model *m) { return m->n_params; }

const char *gb_model_param_name(const gb_model *m, int i)
{
	return (i >= 0 && i < m->n_params) ? m->values[m->params[i]].name : NULL;
}

const gb_tensor *gb_model_param(const gb_model *m, int i)
{
	return (i >= 0 && i < m->n_params) ? m->values[m->params[i]].init : NULL;
}
