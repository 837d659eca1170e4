/*
 * onnx_export.c — glassbox graph IR → ONNX ModelProto, written atomically.
 *
 * The message is assembled from protoc-c's generated structs (every struct
 * in a scratch arena, payloads pointing at the model's own names, attribute
 * data and weights: nothing large is copied) and serialised straight into
 * the file by the generated packer.
 *
 * What a round trip keeps: graph inputs, outputs and weights in order, the
 * declared dtype and shape of every value (symbolic dim names included),
 * every node with its name, domain, inputs, outputs and attributes verbatim,
 * weights bit for bit as raw_data, the opset, IR version, producer and graph
 * name. Constant nodes were turned into initializers on import and stay
 * initializers. Values whose type nobody declared (float32, rank unknown:
 * what the importer gives an undeclared node output) get no value_info.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_IR_VERSION 8
#define DEFAULT_OPSET 17

typedef struct exporter {
	const gb_model *m;
	gb_arena arena; /* every generated struct; released after writing */
} exporter;

/* Zeroed scratch memory; NULL on out-of-memory (checked by the callers). */
static void *alloc(exporter *ex, size_t count, size_t size)
{
	return gb_arena_calloc(&ex->arena, count ? count : 1, size);
}

/* The generated structs hold non-const char pointers; the packer only reads. */
static char *str(const char *s)
{
	return (char *)(s ? s : "");
}

/* ---- values --------------------------------------------------------------------- */

static Onnx__ValueInfoProto *value_info(exporter *ex, const gb_value *v)
{
	Onnx__ValueInfoProto *vi = alloc(ex, 1, sizeof *vi);
	Onnx__TypeProto *type = alloc(ex, 1, sizeof *type);
	Onnx__TypeProto__Tensor *tt = alloc(ex, 1, sizeof *tt);
	if (!vi || !type || !tt)
		return NULL;
	onnx__value_info_proto__init(vi);
	onnx__type_proto__init(type);
	onnx__type_proto__tensor__init(tt);
	vi->name = str(v->name);
	vi->type = type;
	type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	type->tensor_type = tt;
	tt->has_elem_type = 1;
	tt->elem_type = gb_onnx_elem_type(v->dtype);
	if (v->ndim < 0)
		return vi; /* rank unknown: no shape at all */
	Onnx__TensorShapeProto *shape = alloc(ex, 1, sizeof *shape);
	Onnx__TensorShapeProto__Dimension **dims = alloc(ex, (size_t)v->ndim, sizeof *dims);
	if (!shape || !dims)
		return NULL;
	onnx__tensor_shape_proto__init(shape);
	shape->n_dim = (size_t)v->ndim;
	shape->dim = dims;
	for (int i = 0; i < v->ndim; i++) {
		Onnx__TensorShapeProto__Dimension *d = alloc(ex, 1, sizeof *d);
		if (!d)
			return NULL;
		onnx__tensor_shape_proto__dimension__init(d);
		if (v->dims[i] >= 0) {
			d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			d->dim_value = v->dims[i];
		} else if (v->dim_param[i]) {
			d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			d->dim_param = str(v->dim_param[i]);
		}
		/* A dynamic dim without a name stays an empty Dimension ("unknown"):
		 * inventing a shared name would claim that such dims are equal. */
		dims[i] = d;
	}
	tt->shape = shape;
	return vi;
}

/* Graph inputs (and, before IR version 4, every initializer as well: those
 * versions require it), outputs, value_info and initializers. */
static gb_status export_values(exporter *ex, Onnx__GraphProto *g, int64_t ir_version)
{
	const gb_model *m = ex->m;
	int list_inits = ir_version < 4;
	g->input = alloc(ex, (size_t)m->n_inputs + (list_inits ? (size_t)m->n_params : 0), sizeof *g->input);
	g->output = alloc(ex, (size_t)m->n_outputs, sizeof *g->output);
	g->value_info = alloc(ex, (size_t)m->n_values, sizeof *g->value_info);
	g->initializer = alloc(ex, (size_t)m->n_params, sizeof *g->initializer);
	if (!g->input || !g->output || !g->value_info || !g->initializer)
		return GB_STATUS_NOMEM;
	for (int i = 0; i < m->n_inputs; i++)
		if (!(g->input[g->n_input++] = value_info(ex, &m->values[m->inputs[i]])))
			return GB_STATUS_NOMEM;
	for (int i = 0; list_inits && i < m->n_params; i++)
		if (!(g->input[g->n_input++] = value_info(ex, &m->values[m->params[i]])))
			return GB_STATUS_NOMEM;
	for (int i = 0; i < m->n_outputs; i++)
		if (!(g->output[g->n_output++] = value_info(ex, &m->values[m->outputs[i]])))
			return GB_STATUS_NOMEM;
	for (int v = 0; v < m->n_values; v++) {
		const gb_value *val = &m->values[v];
		if (val->is_input || val->is_output || val->init || (val->ndim < 0 && val->dtype == GB_DTYPE_F32))
			continue;
		if (!(g->value_info[g->n_value_info++] = value_info(ex, val)))
			return GB_STATUS_NOMEM;
	}
	for (int i = 0; i < m->n_params; i++) {
		const gb_value *val = &m->values[m->params[i]];
		Onnx__TensorProto *tp = alloc(ex, 1, sizeof *tp);
		if (!tp)
			return GB_STATUS_NOMEM;
		onnx__tensor_proto__init(tp);
		gb_tensor_proto_fill(tp, val->init, val->name);
		g->initializer[g->n_initializer++] = tp;
	}
	return GB_OK;
}

/* ---- nodes ---------------------------------------------------------------------- */

static Onnx__AttributeProto *export_attr(exporter *ex, const gb_attr *a)
{
	Onnx__AttributeProto *ap = alloc(ex, 1, sizeof *ap);
	if (!ap)
		return NULL;
	onnx__attribute_proto__init(ap);
	ap->name = str(a->name);
	ap->has_type = 1;
	switch (a->type) {
	case GB_ATTR_FLOAT:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
		ap->has_f = 1;
		ap->f = a->f;
		break;
	case GB_ATTR_INT:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
		ap->has_i = 1;
		ap->i = a->i;
		break;
	case GB_ATTR_STRING:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
		ap->has_s = 1;
		ap->s.data = (uint8_t *)str(a->s);
		ap->s.len = a->s ? a->s_len : 0;
		break;
	case GB_ATTR_TENSOR:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
		if (!(ap->t = alloc(ex, 1, sizeof *ap->t)))
			return NULL;
		onnx__tensor_proto__init(ap->t);
		gb_tensor_proto_fill(ap->t, a->t, NULL);
		break;
	case GB_ATTR_FLOATS:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
		ap->n_floats = (size_t)a->n;
		ap->floats = a->floats;
		break;
	case GB_ATTR_INTS:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
		ap->n_ints = (size_t)a->n;
		ap->ints = a->ints;
		break;
	case GB_ATTR_STRINGS:
		ap->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
		ap->n_strings = (size_t)a->n;
		if (!(ap->strings = alloc(ex, (size_t)a->n, sizeof *ap->strings)))
			return NULL;
		for (int64_t k = 0; k < a->n; k++) {
			ap->strings[k].data = (uint8_t *)str(a->strings[k]);
			ap->strings[k].len = strlen(str(a->strings[k]));
		}
		break;
	}
	return ap;
}

static Onnx__NodeProto *export_node(exporter *ex, const gb_node *node)
{
	const gb_model *m = ex->m;
	Onnx__NodeProto *np = alloc(ex, 1, sizeof *np);
	if (!np)
		return NULL;
	onnx__node_proto__init(np);
	np->name = str(node->name);
	np->op_type = str(node->op_type);
	if (node->domain && node->domain[0] && strcmp(node->domain, "ai.onnx") != 0)
		np->domain = str(node->domain);
	np->input = alloc(ex, (size_t)node->n_inputs, sizeof *np->input);
	np->output = alloc(ex, (size_t)node->n_outputs, sizeof *np->output);
	np->attribute = alloc(ex, (size_t)node->n_attrs, sizeof *np->attribute);
	if (!np->input || !np->output || !np->attribute)
		return NULL;
	/* "" names an omitted optional input or output. */
	for (int k = 0; k < node->n_inputs; k++)
		np->input[k] = str(node->inputs[k] >= 0 ? m->values[node->inputs[k]].name : "");
	for (int k = 0; k < node->n_outputs; k++)
		np->output[k] = str(node->outputs[k] >= 0 ? m->values[node->outputs[k]].name : "");
	np->n_input = (size_t)node->n_inputs;
	np->n_output = (size_t)node->n_outputs;
	for (int k = 0; k < node->n_attrs; k++)
		if (!(np->attribute[np->n_attribute++] = export_attr(ex, &node->attrs[k])))
			return NULL;
	return np;
}

/* ---- writing -------------------------------------------------------------------- */

/* A ProtobufCBuffer that appends to a FILE; write errors surface through
 * ferror at commit time. */
typedef struct file_buffer {
	ProtobufCBuffer base;
	FILE *fp;
} file_buffer;

static void file_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
	file_buffer *fb = (file_buffer *)buffer;
	if (len && !ferror(fb->fp))
		fwrite(data, 1, len, fb->fp);
}

static gb_status build_model(exporter *ex, Onnx__ModelProto *mp)
{
	const gb_model *m = ex->m;
	Onnx__GraphProto *g = alloc(ex, 1, sizeof *g);
	Onnx__OperatorSetIdProto *os = alloc(ex, 1, sizeof *os);
	Onnx__OperatorSetIdProto **oss = alloc(ex, 1, sizeof *oss);
	if (!g || !os || !oss)
		return GB_STATUS_NOMEM;
	onnx__graph_proto__init(g);
	onnx__operator_set_id_proto__init(os);

	mp->has_ir_version = 1;
	mp->ir_version = m->ir_version > 0 ? m->ir_version : DEFAULT_IR_VERSION;
	mp->producer_name = str(m->producer_name && m->producer_name[0] ? m->producer_name : "glassbox");
	os->domain = str("");
	os->has_version = 1;
	os->version = m->opset > 0 ? m->opset : DEFAULT_OPSET;
	oss[0] = os;
	mp->n_opset_import = 1;
	mp->opset_import = oss;
	mp->graph = g;
	/* The ONNX checker insists on a graph name. */
	g->name = str(m->graph_name && m->graph_name[0] ? m->graph_name : "graph");

	gb_status st = export_values(ex, g, mp->ir_version);
	if (st != GB_OK)
		return st;
	if (!(g->node = alloc(ex, (size_t)m->n_nodes, sizeof *g->node)))
		return GB_STATUS_NOMEM;
	for (int i = 0; i < m->n_nodes; i++)
		if (!(g->node[g->n_node++] = export_node(ex, &m->nodes[i])))
			return GB_STATUS_NOMEM;
	return GB_OK;
}

/* The IR keeps only the default domain's opset version, so a node from
 * another domain (which the executor does not run either) cannot be
 * written with a correct opset_import: refuse rather than guess. */
static gb_status check_domains(const gb_model *m, const char *path, gb_error *err)
{
	for (int i = 0; i < m->n_nodes; i++) {
		const gb_node *node = &m->nodes[i];
		if (node->domain && node->domain[0] && strcmp(node->domain, "ai.onnx") != 0)
			return gb_fail(err, GB_STATUS_UNSUPPORTED,
			               "%s: node '%s' (%s) is in domain '%s', whose opset version glassbox does not keep; "
			               "cannot export it",
			               path, node->name, node->op_type, node->domain);
	}
	return GB_OK;
}

gb_status gb_onnx_export(const gb_model *m, const char *path, gb_error *err)
{
	gb_status st = check_domains(m, path, err);
	if (st != GB_OK)
		return st;
	exporter ex = {.m = m};
	gb_arena_init(&ex.arena, (size_t)1 << 16);
	Onnx__ModelProto mp;
	onnx__model_proto__init(&mp);
	st = build_model(&ex, &mp);
	if (st != GB_OK) {
		gb_arena_release(&ex.arena);
		return gb_fail(err, st, "%s: out of memory while encoding the model", path);
	}
	gb_atomic_file f;
	st = gb_atomic_open(&f, path, err);
	if (st == GB_OK) {
		file_buffer fb = {.base = {.append = file_append}, .fp = f.fp};
		onnx__model_proto__pack_to_buffer(&mp, &fb.base);
		st = gb_atomic_commit(&f, err);
	}
	gb_arena_release(&ex.arena);
	return st;
}
