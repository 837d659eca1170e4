/*
 * onnx_import.c — ONNX ModelProto → glassbox graph IR.
 *
 * protoc-c's generated decoder (build/gen/onnx.pb-c.c) turns the bytes into
 * structs; this file checks what a file can get wrong and builds the graph
 * with the graph.h builders:
 *
 *   values   initializers (weights; Constant nodes become initializers too),
 *            graph inputs that are not initializers, graph outputs,
 *            value_info entries, node outputs — one gb_value per name
 *   nodes    op_type, domain and attributes kept verbatim (op semantics are
 *            checked later by the executor's prepare), unique names
 *
 * Every message names the file (label). Malformed input is
 * GB_STATUS_BAD_FILE; valid ONNX that glassbox does not handle (float16
 * tensors, sequence types, graph attributes, …) is GB_STATUS_UNSUPPORTED.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- name tables --------------------------------------------------------------
 * Open addressing, sized once for every name the file can define, so lookups
 * stay O(1) on graphs with many thousands of values (gb_model_find_value is a
 * linear scan). Keys are borrowed and must outlive the table. */

typedef struct name_table {
	size_t cap; /* power of two, more than twice the number of keys */
	const char **keys;
	int *vals;
} name_table;

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static bool table_init(name_table *t, gb_arena *a, size_t n)
{
	size_t cap = 16;
	while (cap / 2 <= n) {
		if (cap > SIZE_MAX / 4)
			return false;
		cap *= 2;
	}
	t->cap = cap;
	t->keys = gb_arena_calloc(a, cap, sizeof *t->keys);
	t->vals = gb_arena_calloc(a, cap, sizeof *t->vals);
	return t->keys && t->vals;
}

/* The value stored under key, or -1. */
static int table_get(const name_table *t, const char *key)
{
	for (size_t i = hash_name(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (!t->keys[i])
			return -1;
		if (strcmp(t->keys[i], key) == 0)
			return t->vals[i];
	}
}

/* Inserts key (absent; the table was sized for it). */
static void table_put(name_table *t, const char *key, int val)
{
	size_t i = hash_name(key) & (t->cap - 1);
	while (t->keys[i])
		i = (i + 1) & (t->cap - 1);
	t->keys[i] = key;
	t->vals[i] = val;
}

/* ---- importer state ---------------------------------------------------------------- */

enum { WRITTEN_INIT = 1, WRITTEN_INPUT, WRITTEN_NODE };

typedef struct importer {
	const char *label;
	gb_model *m;
	gb_arena scratch;       /* everything temporary; released at the end */
	name_table values;      /* value name → index in m->values */
	name_table node_names;  /* node name → node position in the file */
	unsigned char *written; /* per value: 0 or which WRITTEN_* defines it */
	gb_error *err;
} importer;

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

static gb_status nomem(importer *im)
{
	return gb_fail(im->err, GB_STATUS_NOMEM, "%s: out of memory", im->label);
}

/* Adds a value and indexes it; -1 on out-of-memory. */
static int add_value(importer *im, const char *name, gb_dtype dtype, int ndim, const int64_t *dims)
{
	int v = gb_model_add_value(im->m, name, dtype, ndim, dims);
	if (v >= 0)
		table_put(&im->values, im->m->values[v].name, v);
	return v;
}

/* ---- declared types (ValueInfoProto) ---------------------------------------------- */

typedef struct decl {
	gb_dtype dtype;
	int ndim; /* -1: rank unknown */
	int64_t dims[GB_MAX_DIMS];
	const char *dim_param[GB_MAX_DIMS]; /* borrowed from the proto */
} decl;

static const char *type_kind(Onnx__TypeProto__ValueCase c)
{
	switch (c) {
	case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: return "a sequence";
	case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: return "a map";
	case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: return "an optional";
	case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE: return "a sparse tensor";
	default: return "a non-tensor type";
	}
}

/* Reads the tensor type of a graph input/output or value_info entry (role
 * says which, for messages). err may be NULL: value_info is advisory and an
 * entry glassbox cannot read is simply ignored. */
static gb_status read_decl(const importer *im, const Onnx__ValueInfoProto *vi, const char *role, decl *d,
                           gb_error *err)
{
	const char *name = str_or_empty(vi->name);
	const Onnx__TypeProto *tp = vi->type;
	if (!tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: %s '%s' has no type", im->label, role, name);
	if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: %s '%s' is %s; glassbox handles only tensors", im->label,
		               role, name, type_kind(tp->value_case));
	const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
	if (!tt || !tt->has_elem_type || tt->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: %s '%s' has no element type", im->label, role, name);
	if (!gb_onnx_dtype(tt->elem_type, &d->dtype))
		return gb_fail(err, GB_STATUS_UNSUPPORTED,
		               "%s: %s '%s' has element type %s (%d), which glassbox does not support (float32, float64, "
		               "int64, int32, uint8, bool)",
		               im->label, role, name, gb_onnx_type_name(tt->elem_type), (int)tt->elem_type);
	memset(d->dim_param, 0, sizeof d->dim_param);
	if (!tt->shape) {
		d->ndim = -1;
		return GB_OK;
	}
	if (tt->shape->n_dim > GB_MAX_DIMS)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: %s '%s' has rank %zu; glassbox supports at most %d dimensions",
		               im->label, role, name, tt->shape->n_dim, GB_MAX_DIMS);
	d->ndim = (int)tt->shape->n_dim;
	for (int i = 0; i < d->ndim; i++) {
		const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[i];
		d->dims[i] = -1;
		if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
			if (dim->dim_value < 0)
				return gb_fail(err, GB_STATUS_BAD_FILE, "%s: %s '%s' has negative dimension %lld at axis %d",
				               im->label, role, name, (long long)dim->dim_value, i);
			d->dims[i] = dim->dim_value;
		} else if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param &&
		           dim->dim_param[0]) {
			d->dim_param[i] = dim->dim_param;
		}
	}
	return GB_OK;
}

/* Adds a value with a declared type, keeping the symbolic dim names. */
static int add_declared(importer *im, const char *name, const decl *d)
{
	int v = add_value(im, name, d->dtype, d->ndim, d->dims);
	if (v < 0)
		return -1;
	for (int i = 0; i < d->ndim; i++) {
		if (!d->dim_param[i])
			continue;
		const char *p = gb_arena_strdup(&im->m->arena, d->dim_param[i]);
		if (!p)
			return -1;
		im->m->values[v].dim_param[i] = p;
	}
	return v;
}

/* ---- graph inputs, initializers, outputs, value_info ------------------------------------ */

static gb_status import_initializers(importer *im, const Onnx__GraphProto *g)
{
	for (size_t i = 0; i < g->n_initializer; i++) {
		const Onnx__TensorProto *tp = g->initializer[i];
		const char *name = str_or_empty(tp->name);
		if (!name[0])
			return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: initializer %zu has no name", im->label, i);
		if (table_get(&im->values, name) >= 0)
			return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: initializer '%s' appears twice", im->label, name);
		char what[300];
		snprintf(what, sizeof what, "initializer '%s'", name);
		gb_tensor t;
		gb_status st = gb_tensor_proto_view(tp, &im->scratch, im->label, what, &t, im->err);
		if (st != GB_OK)
			return st;
		int v = add_value(im, name, t.dtype, t.ndim, t.dims);
		if (v < 0)
			return nomem(im);
		st = gb_model_set_init(im->m, v, &t, im->err);
		if (st != GB_OK)
			return st;
		im->written[v] = WRITTEN_INIT;
	}
	return GB_OK;
}

/* Graph inputs that are not initializers (old exporters list weights as
 * inputs too; those stay weights). */
static gb_status import_inputs(importer *im, const Onnx__GraphProto *g, int **inputs, int *n_inputs)
{
	*n_inputs = 0;
	*inputs = gb_arena_calloc(&im->scratch, g->n_input + 1, sizeof **inputs);
	if (!*inputs)
		return nomem(im);
	for (size_t i = 0; i < g->n_input; i++) {
		const char *name = str_or_empty(g->input[i]->name);
		if (!name[0])
			return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: graph input %zu has no name", im->label, i);
		int v = table_get(&im->values, name);
		if (v >= 0 && im->m->values[v].init)
			continue;
		if (v >= 0)
			return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: graph input '%s' is listed twice", im->label, name);
		decl d;
		gb_status st = read_decl(im, g->input[i], "graph input", &d, im->err);
		if (st != GB_OK)
			return st;
		v = add_declared(im, name, &d);
		if (v < 0)
			return nomem(im);
		im->written[v] = WRITTEN_INPUT;
		(*inputs)[(*n_inputs)++] = v;
	}
	return GB_OK;
}

static gb_status import_outputs(importer *im, const Onnx__GraphProto *g, int **outputs)
{
	*outputs = gb_arena_calloc(&im->scratch, g->n_output + 1, sizeof **outputs);
	if (!*outputs)
		return nomem(im);
	for (size_t i = 0; i < g->n_output; i++) {
		const char *name = str_or_empty(g->output[i]->name);
		if (!name[0])
			return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: graph output %zu has no name", im->label, i);
		decl d;
		gb_status st = read_decl(im, g->output[i], "graph output", &d, im->err);
		if (st != GB_OK)
			return st;
		int v = table_get(&im->values, name);
		for (size_t j = 0; v >= 0 && j < i; j++)
			if ((*outputs)[j] == v)
				return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: graph output '%s' is listed twice", im->label,
				               name);
		if (v < 0)
			v = add_declared(im, name, &d);
		if (v < 0)
			return nomem(im);
		(*outputs)[i] = v;
	}
	return GB_OK;
}

static gb_status import_value_info(importer *im, const Onnx__GraphProto *g)
{
	for (size_t i = 0; i < g->n_value_info; i++) {
		const char *name = str_or_empty(g->value_info[i]->name);
		decl d;
		if (!name[0] || table_get(&im->values, name) >= 0 ||
		    read_decl(im, g->value_info[i], "value_info entry", &d, NULL) != GB_OK)
			continue;
		if (add_declared(im, name, &d) < 0)
			return nomem(im);
	}
	return GB_OK;
}

/* ---- node names -------------------------------------------------------------------------- */

/* Gives every node a unique name: nodes without one (or repeating an earlier
 * node's) get "<op_type or name>_<position>", suffixed until unique. */
static gb_status name_nodes(importer *im, const Onnx__GraphProto *g, const char ***names)
{
	*names = gb_arena_calloc(&im->scratch, g->n_node + 1, sizeof **names);
	if (!*names || !table_init(&im->node_names, &im->scratch, 2 * g->n_node))
		return nomem(im);
	for (size_t i = 0; i < g->n_node; i++) {
		const char *name = str_or_empty(g->node[i]->name);
		if (name[0] && table_get(&im->node_names, name) < 0)
			table_put(&im->node_names, name, (int)i);
	}
	for (size_t i = 0; i < g->n_node; i++) {
		const char *name = str_or_empty(g->node[i]->name);
		if (name[0] && table_get(&im->node_names, name) == (int)i) {
			(*names)[i] = name;
			continue;
		}
		const char *base = name[0] ? name : str_or_empty(g->node[i]->op_type);
		size_t size = strlen(base) + 48;
		char *gen = gb_arena_alloc(&im->scratch, size);
		if (!gen)
			return nomem(im);
		snprintf(gen, size, "%s_%zu", base, i);
		for (unsigned k = 2; table_get(&im->node_names, gen) >= 0; k++)
			snprintf(gen, size, "%s_%zu_%u", base, i, k);
		table_put(&im->node_names, gen, (int)i);
		(*names)[i] = gen;
	}
	return GB_OK;
}

/* ---- attributes ---------------------------------------------------------------------------- */

static const char *attr_type_name(int type)
{
	switch (type) {
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return "a float";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return "an int";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return "a string";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return "a tensor";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return "a graph";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return "a sparse tensor";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return "a type";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return "a list of floats";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return "a list of ints";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return "a list of strings";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return "a list of tensors";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return "a list of graphs";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS: return "a list of sparse tensors";
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: return "a list of types";
	default: return "of unknown type";
	}
}

/* The attribute's type; files written before AttributeProto.type existed
 * leave it unset, and then the field that is present says. 0 when nothing
 * is present. */
static int attr_type(const Onnx__AttributeProto *a)
{
	if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
		return (int)a->type;
	if (a->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
	if (a->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
	if (a->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
	if (a->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
	if (a->g) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
	if (a->sparse_tensor) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
	if (a->tp) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO;
	if (a->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
	if (a->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
	if (a->n_strings) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
	if (a->n_tensors) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS;
	if (a->n_graphs) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
	if (a->n_sparse_tensors) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS;
	if (a->n_type_protos) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS;
	return 0;
}

/* Decodes attribute a of node (name, op) into *out; payloads point into the
 * proto or the scratch arena (gb_node_add_attr copies them). */
static gb_status read_attr(importer *im, const char *node, const char *op, const Onnx__AttributeProto *a,
                           gb_attr *out)
{
	memset(out, 0, sizeof *out);
	out->name = str_or_empty(a->name);
	if (!out->name[0])
		return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (%s): an attribute has no name", im->label, node,
		               op);
	int type = attr_type(a);
	switch (type) {
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
		out->type = GB_ATTR_FLOAT;
		out->f = a->f;
		return GB_OK;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
		out->type = GB_ATTR_INT;
		out->i = a->i;
		return GB_OK;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
		out->type = GB_ATTR_STRING;
		out->s = a->s.data ? (const char *)a->s.data : "";
		out->s_len = a->s.data ? a->s.len : 0;
		return GB_OK;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
		if (!a->t)
			return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (%s): tensor attribute '%s' holds no tensor",
			               im->label, node, op, out->name);
		gb_tensor *t = gb_arena_alloc(&im->scratch, sizeof *t);
		if (!t)
			return nomem(im);
		char what[600];
		snprintf(what, sizeof what, "node '%s' (%s): attribute '%s'", node, op, out->name);
		gb_status st = gb_tensor_proto_view(a->t, &im->scratch, im->label, what, t, im->err);
		if (st != GB_OK)
			return st;
		out->type = GB_ATTR_TENSOR;
		out->t = t;
		return GB_OK;
	}
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
		out->type = GB_ATTR_FLOATS;
		out->n = (int64_t)a->n_floats;
		out->floats = a->floats;
		return GB_OK;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
		out->type = GB_ATTR_INTS;
		out->n = (int64_t)a->n_ints;
		out->ints = a->ints;
		return GB_OK;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: {
		/* The IR keeps list entries as NUL-terminated strings. */
		const char **strings = gb_arena_calloc(&im->scratch, a->n_strings + 1, sizeof *strings);
		if (!strings)
			return nomem(im);
		for (size_t k = 0; k < a->n_strings; k++) {
			char *s = gb_arena_alloc(&im->scratch, a->strings[k].len + 1);
			if (!s)
				return nomem(im);
			if (a->strings[k].len)
				memcpy(s, a->strings[k].data, a->strings[k].len);
			s[a->strings[k].len] = '\0';
			strings[k] = s;
		}
		out->type = GB_ATTR_STRINGS;
		out->n = (int64_t)a->n_strings;
		out->strings = strings;
		return GB_OK;
	}
	case 0:
		return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (%s): attribute '%s' has no type and no value",
		               im->label, node, op, out->name);
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR:
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO:
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS:
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS:
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS:
		return gb_fail(im->err, GB_STATUS_UNSUPPORTED,
		               "%s: node '%s' (%s): attribute '%s' is %s, which glassbox does not support", im->label, node,
		               op, out->name, attr_type_name(type));
	default:
		return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (%s): attribute '%s' has unknown type %d",
		               im->label, node, op, out->name, type);
	}
}

/* ---- Constant nodes → initializers -------------------------------------------------------- */

/* Decodes the one value attribute of a Constant node into *t (data in the
 * proto or the scratch arena). */
static gb_status constant_tensor(importer *im, const Onnx__NodeProto *np, const char *node, gb_tensor *t)
{
	int found = 0;
	for (size_t k = 0; k < np->n_attribute; k++) {
		gb_attr a;
		const char *an = str_or_empty(np->attribute[k]->name);
		if (strcmp(an, "sparse_value") == 0 || strcmp(an, "value_string") == 0 || strcmp(an, "value_strings") == 0)
			return gb_fail(im->err, GB_STATUS_UNSUPPORTED,
			               "%s: node '%s' (Constant): attribute '%s' (a sparse or string constant) is not supported "
			               "by glassbox",
			               im->label, node, an);
		gb_status st = read_attr(im, node, "Constant", np->attribute[k], &a);
		if (st != GB_OK)
			return st;
		gb_attr_type want;
		const char *want_desc;
		memset(t, 0, sizeof *t);
		if (strcmp(a.name, "value") == 0) {
			want = GB_ATTR_TENSOR, want_desc = "a tensor";
			if (a.type == want)
				*t = *a.t;
		} else if (strcmp(a.name, "value_float") == 0) {
			want = GB_ATTR_FLOAT, want_desc = "a float";
			float *f = gb_arena_alloc(&im->scratch, sizeof *f);
			if (!f)
				return nomem(im);
			*f = a.f;
			*t = (gb_tensor){.dtype = GB_DTYPE_F32, .ndim = 0, .data = f};
		} else if (strcmp(a.name, "value_int") == 0) {
			want = GB_ATTR_INT, want_desc = "an int";
			int64_t *i = gb_arena_alloc(&im->scratch, sizeof *i);
			if (!i)
				return nomem(im);
			*i = a.i;
			*t = (gb_tensor){.dtype = GB_DTYPE_I64, .ndim = 0, .data = i};
		} else if (strcmp(a.name, "value_floats") == 0) {
			want = GB_ATTR_FLOATS, want_desc = "a list of floats";
			*t = (gb_tensor){.dtype = GB_DTYPE_F32, .ndim = 1, .dims = {a.n}, .data = a.floats};
		} else if (strcmp(a.name, "value_ints") == 0) {
			want = GB_ATTR_INTS, want_desc = "a list of ints";
			*t = (gb_tensor){.dtype = GB_DTYPE_I64, .ndim = 1, .dims = {a.n}, .data = a.ints};
		} else {
			return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (Constant): unknown attribute '%s'", im->label,
			               node, a.name);
		}
		if (a.type != want)
			return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (Constant): attribute '%s' should be %s",
			               im->label, node, a.name, want_desc);
		if (found++)
			return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (Constant) has more than one value attribute",
			               im->label, node);
	}
	if (!found)
		return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (Constant) has no value attribute", im->label,
		               node);
	return GB_OK;
}

static gb_status import_constant(importer *im, const Onnx__NodeProto *np, const char *node)
{
	if (np->n_input != 0 || np->n_output != 1 || !np->output[0] || !np->output[0][0])
		return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (Constant) must have no inputs and one output",
		               im->label, node);
	gb_tensor t;
	gb_status st = constant_tensor(im, np, node, &t);
	if (st != GB_OK)
		return st;
	int v = table_get(&im->values, np->output[0]);
	GB_ASSERT(v >= 0); /* node outputs were added before */
	st = gb_model_set_init(im->m, v, &t, im->err);
	memset(im->m->values[v].dim_param, 0, sizeof im->m->values[v].dim_param);
	return st;
}

/* ---- nodes ------------------------------------------------------------------------------------ */

static bool is_default_domain(const char *domain)
{
	return !domain || !domain[0] || strcmp(domain, "ai.onnx") == 0;
}

/* First pass: every node output becomes a value, so that inputs can be
 * resolved by name (order is checked later, by gb_model_check_order). */
static gb_status import_node_outputs(importer *im, const Onnx__GraphProto *g, const char *const *names)
{
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *np = g->node[i];
		for (size_t k = 0; k < np->n_output; k++) {
			const char *name = str_or_empty(np->output[k]);
			if (!name[0])
				continue;
			int v = table_get(&im->values, name);
			if (v >= 0 && im->written[v])
				return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (%s) writes '%s', which is already %s",
				               im->label, names[i], str_or_empty(np->op_type), name,
				               im->written[v] == WRITTEN_INIT    ? "an initializer"
				               : im->written[v] == WRITTEN_INPUT ? "a graph input"
				                                                 : "written by another node");
			if (v < 0)
				v = add_value(im, name, GB_DTYPE_F32, -1, NULL);
			if (v < 0)
				return nomem(im);
			im->written[v] = WRITTEN_NODE;
		}
	}
	return GB_OK;
}

static gb_status import_node(importer *im, const Onnx__NodeProto *np, const char *node)
{
	const char *op = str_or_empty(np->op_type);
	if (!op[0])
		return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' has no op_type", im->label, node);
	if (is_default_domain(np->domain) && strcmp(op, "Constant") == 0)
		return import_constant(im, np, node);
	if (np->n_input > INT_MAX || np->n_output > INT_MAX)
		return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (%s) has too many inputs or outputs", im->label,
		               node, op);
	int *ins = gb_arena_calloc(&im->scratch, np->n_input + 1, sizeof *ins);
	int *outs = gb_arena_calloc(&im->scratch, np->n_output + 1, sizeof *outs);
	if (!ins || !outs)
		return nomem(im);
	for (size_t k = 0; k < np->n_input; k++) {
		const char *name = str_or_empty(np->input[k]);
		ins[k] = name[0] ? table_get(&im->values, name) : -1; /* "" = omitted optional input */
		if (name[0] && ins[k] < 0)
			return gb_fail(im->err, GB_STATUS_BAD_FILE,
			               "%s: node '%s' (%s) reads '%s', which is not a graph input, an initializer or the output "
			               "of any node",
			               im->label, node, op, name);
	}
	for (size_t k = 0; k < np->n_output; k++) {
		const char *name = str_or_empty(np->output[k]);
		outs[k] = name[0] ? table_get(&im->values, name) : -1;
	}
	for (size_t a = 0; a < np->n_attribute; a++)
		for (size_t b = 0; b < a; b++)
			if (strcmp(str_or_empty(np->attribute[a]->name), str_or_empty(np->attribute[b]->name)) == 0)
				return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: node '%s' (%s): attribute '%s' appears twice",
				               im->label, node, op, str_or_empty(np->attribute[a]->name));
	/* "ai.onnx" is another name for the default domain; the IR uses "". */
	const char *domain = is_default_domain(np->domain) ? "" : np->domain;
	int n = gb_model_add_node(im->m, node, op, domain, (int)np->n_input, ins, (int)np->n_output, outs);
	if (n < 0)
		return nomem(im);
	for (size_t k = 0; k < np->n_attribute; k++) {
		gb_attr a;
		gb_status st = read_attr(im, node, op, np->attribute[k], &a);
		if (st == GB_OK)
			st = gb_node_add_attr(im->m, &im->m->nodes[n], &a, im->err);
		if (st != GB_OK)
			return st;
	}
	return GB_OK;
}

/* ---- nesting guard ---------------------------------------------------------------------------
 * protoc-c's decoder recurses once per nested message and has no depth
 * limit, so a small hostile file (graphs inside attributes inside graphs,
 * 60 000 deep, fits in 700 KB) overflows the stack. Before decoding, this
 * walks the wire format guided by the generated descriptors — decoding
 * nothing, only measuring how deep message fields nest — and the file is
 * refused past MAX_NESTING (real models nest a handful of levels per
 * control-flow subgraph; Python's protobuf stops at 100 too). */

#define MAX_NESTING 100

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return false;
		uint8_t byte = *(*p)++;
		x |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* 1: nesting within bounds; 0: malformed wire format; -1: too deep. */
static int check_nesting(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end, int depth)
{
	if (depth > MAX_NESTING)
		return -1;
	while (p < end) {
		uint64_t key, n;
		if (!read_varint(&p, end, &key))
			return 0;
		switch (key & 7) {
		case 0: /* varint */
			if (!read_varint(&p, end, &n))
				return 0;
			break;
		case 1: /* 64-bit */
			if (end - p < 8)
				return 0;
			p += 8;
			break;
		case 5: /* 32-bit */
			if (end - p < 4)
				return 0;
			p += 4;
			break;
		case 2: { /* length-delimited: bytes, string, packed scalars or a message */
			if (!read_varint(&p, end, &n) || n > (uint64_t)(end - p))
				return 0;
			const ProtobufCFieldDescriptor *f =
			    (key >> 3) <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3)) : NULL;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
				int r = check_nesting(f->descriptor, p, p + n, depth + 1);
				if (r != 1)
					return r;
			}
			p += n;
			break;
		}
		default: /* groups (unused by ONNX) and invalid wire types */
			return 0;
		}
	}
	return 1;
}

/* ---- the model --------------------------------------------------------------------------------- */

/* Upper bound on the number of names the graph can define. */
static bool count_names(const Onnx__GraphProto *g, size_t *n)
{
	size_t total = g->n_initializer;
	bool ok = gb_add_size(total, g->n_input, &total) && gb_add_size(total, g->n_output, &total) &&
	          gb_add_size(total, g->n_value_info, &total);
	for (size_t i = 0; ok && i < g->n_node; i++)
		ok = gb_add_size(total, g->node[i]->n_output, &total);
	*n = total;
	return ok && total < (size_t)INT_MAX / 2;
}

static gb_status import_model(importer *im, const Onnx__ModelProto *mp)
{
	const char *label = im->label;
	int64_t opset = -1;
	for (size_t i = 0; i < mp->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *os = mp->opset_import[i];
		if (is_default_domain(os->domain) && opset < 0)
			opset = os->has_version ? os->version : -1;
	}
	if (opset <= 0)
		return gb_fail(im->err, GB_STATUS_BAD_FILE,
		               "%s: model declares no opset version for the default ONNX domain (opset_import)", label);
	const Onnx__GraphProto *g = mp->graph;
	if (!g)
		return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: ONNX model has no graph", label);
	if (g->n_sparse_initializer)
		return gb_fail(im->err, GB_STATUS_UNSUPPORTED,
		               "%s: sparse initializer '%s' is not supported by glassbox", label,
		               g->sparse_initializer[0]->values ? str_or_empty(g->sparse_initializer[0]->values->name) : "");

	gb_status st = gb_model_new_empty(label, &im->m, im->err);
	if (st != GB_OK)
		return st;
	gb_model *m = im->m;
	m->opset = opset;
	m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
	m->producer_name = gb_arena_strdup(&m->arena, str_or_empty(mp->producer_name));
	m->graph_name = gb_arena_strdup(&m->arena, str_or_empty(g->name));
	if (!m->producer_name || !m->graph_name)
		return nomem(im);

	size_t n_names;
	if (!count_names(g, &n_names))
		return gb_fail(im->err, GB_STATUS_BAD_FILE, "%s: graph defines too many values", label);
	im->written = gb_arena_calloc(&im->scratch, n_names + 1, 1);
	if (!im->written || !table_init(&im->values, &im->scratch, n_names))
		return nomem(im);

	int *inputs, *outputs, n_inputs;
	const char **names;
	if ((st = import_initializers(im, g)) != GB_OK || (st = import_inputs(im, g, &inputs, &n_inputs)) != GB_OK ||
	    (st = import_outputs(im, g, &outputs)) != GB_OK || (st = import_value_info(im, g)) != GB_OK ||
	    (st = name_nodes(im, g, &names)) != GB_OK || (st = import_node_outputs(im, g, names)) != GB_OK)
		return st;
	for (size_t i = 0; i < g->n_node; i++)
		if ((st = import_node(im, g->node[i], names[i])) != GB_OK)
			return st;
	for (size_t i = 0; i < g->n_output; i++)
		if (!im->written[outputs[i]])
			return gb_fail(im->err, GB_STATUS_BAD_FILE,
			               "%s: graph output '%s' is not a graph input, an initializer or the output of any node",
			               label, m->values[outputs[i]].name);
	return gb_model_set_io(m, n_inputs, inputs, (int)g->n_output, outputs, im->err);
}

gb_status gb_onnx_import(const void *buf, size_t len, const char *label, gb_model **out, gb_error *err)
{
	*out = NULL;
	if (!label)
		label = "<memory>";
	if (len == 0)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: empty file, not an ONNX model", label);
	if (!buf)
		return gb_fail(err, GB_STATUS_USAGE, "%s: no buffer given", label);
	int nesting = check_nesting(&onnx__model_proto__descriptor, buf, (const uint8_t *)buf + len, 0);
	if (nesting < 0)
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "%s: messages nested more than %d deep; not decoding a file built to exhaust the stack", label,
		               MAX_NESTING);
	Onnx__ModelProto *mp = nesting ? onnx__model_proto__unpack(NULL, len, buf) : NULL;
	if (!mp)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: not a valid ONNX model (protobuf decoding failed)", label);
	importer im = {.label = label, .err = err};
	gb_arena_init(&im.scratch, (size_t)1 << 16);
	gb_status st = import_model(&im, mp);
	onnx__model_proto__free_unpacked(mp, NULL);
	gb_arena_release(&im.scratch);
	if (st != GB_OK) {
		gb_model_free(im.m);
		return st;
	}
	*out = im.m;
	return GB_OK;
}
