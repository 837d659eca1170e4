/*
 * test_onnx.c — ONNX import and export (src/io): real conformance models,
 * exact round trips (every conformance model), hostile files built here with
 * the protoc-c structs (bad dims, overflow, external data, unknown names,
 * unsupported types, truncation, random bytes, bit flips), and the
 * TensorProto (.pb) reader.
 *
 * Paths are relative to the repository root, where the suite runs.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../e2e/model_equal.h"
#include "io/io.h"
#include "onnx.pb-c.h"
#include "testutil.h"

#define CASES "../shared/onnx-backend-tests"

/* ---- helpers ------------------------------------------------------------------------ */

static gb_status import_path(const char *path, gb_model **m, gb_error *err)
{
	uint8_t *buf;
	size_t len;
	*m = NULL;
	gb_status st = gb_file_read(path, GB_MAX_FILE_BYTES, &buf, &len, err);
	if (st != GB_OK)
		return st;
	st = gb_onnx_import(buf, len, path, m, err);
	free(buf);
	return st;
}

static gb_model *import_ok(const char *path)
{
	gb_error err = {0};
	gb_model *m;
	gb_status st = import_path(path, &m, &err);
	cr_assert_eq(st, GB_OK, "%s: %s", path, err.msg);
	return m;
}

static const gb_attr *attr_of(const gb_model *m, int node, const char *name)
{
	cr_assert(node >= 0 && node < m->n_nodes);
	const gb_attr *a = gb_node_attr(&m->nodes[node], name);
	cr_assert_not_null(a, "attribute %s missing", name);
	return a;
}

static void assert_dims(const gb_value *v, int ndim, const int64_t *dims)
{
	cr_assert_eq(v->ndim, ndim, "value %s: rank %d, want %d", v->name, v->ndim, ndim);
	for (int i = 0; i < ndim; i++)
		cr_assert_eq(v->dims[i], dims[i], "value %s: dim %d is %lld, want %lld", v->name, i, (long long)v->dims[i],
		             (long long)dims[i]);
}

static const gb_value *value_named(const gb_model *m, const char *name)
{
	int v = gb_model_find_value(m, name);
	cr_assert_geq(v, 0, "value %s missing", name);
	return &m->values[v];
}

/* A fresh empty directory under /tmp (caller removes it with rmtree). */
static char *temp_dir(void)
{
	char *dir = strdup("/tmp/gb_test_onnx_XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

static void rmtree(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Export to a temporary file and import the result. */
static gb_model *round_trip(const gb_model *a)
{
	gb_error err = {0};
	char *dir = temp_dir();
	char path[256];
	snprintf(path, sizeof path, "%s/m.onnx", dir);
	cr_assert_eq(gb_onnx_export(a, path, &err), GB_OK, "export: %s", err.msg);
	gb_model *b = import_ok(path);
	rmtree(dir);
	return b;
}

static void assert_same(const gb_model *a, const gb_model *b)
{
	char why[512];
	cr_assert_eq(me_diff(a, b, why, sizeof why), 0, "round trip of %s: %s", a->label, why);
}

/* ---- models built with the generated structs --------------------------------------------
 * y = Add(x, W): x float [batch, 3] (dim_param "batch"), W float [3] = {1, 2,
 * 3} in float_data, y float [batch, 3]. Tests break one field and pack. An
 * optional second node (n2, Relu) and value_info entry are wired in but
 * unused until a test sets the counts. */

typedef struct mb {
	Onnx__ModelProto model;
	Onnx__OperatorSetIdProto opset, *opsets[1];
	Onnx__GraphProto graph;
	Onnx__ValueInfoProto vin, vout, vinfo, *ins[2], *outs[1], *infos[1];
	Onnx__TypeProto tin, tout, tinfo;
	Onnx__TypeProto__Tensor ttin, ttout, ttinfo;
	Onnx__TensorShapeProto sin, sout, sinfo;
	Onnx__TensorShapeProto__Dimension din[2], dout[2], dinfo[2], *dinp[2], *doutp[2], *dinfop[2];
	Onnx__TensorProto w, *inits[1];
	int64_t w_dims[2];
	float w_data[3];
	int32_t w_ints[3];
	Onnx__NodeProto node, n2, *nodes[2];
	char *node_in[2], *node_out[1], *n2_in[1], *n2_out[1];
	Onnx__AttributeProto attr, attr2, *attrs[2];
	Onnx__GraphProto subgraph;
	int64_t ints[3];
	float floats[2];
} mb;

static void tensor_type(Onnx__TypeProto *t, Onnx__TypeProto__Tensor *tt, Onnx__TensorShapeProto *s,
                        Onnx__TensorShapeProto__Dimension *d, Onnx__TensorShapeProto__Dimension **dp)
{
	onnx__type_proto__init(t);
	onnx__type_proto__tensor__init(tt);
	onnx__tensor_shape_proto__init(s);
	t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	t->tensor_type = tt;
	tt->has_elem_type = 1;
	tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	tt->shape = s;
	s->n_dim = 2;
	s->dim = dp;
	for (int i = 0; i < 2; i++) {
		onnx__tensor_shape_proto__dimension__init(&d[i]);
		dp[i] = &d[i];
	}
	d[0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
	d[0].dim_param = "batch";
	d[1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
	d[1].dim_value = 3;
}

static mb *mb_new(void)
{
	mb *b = calloc(1, sizeof *b);
	cr_assert_not_null(b);
	onnx__model_proto__init(&b->model);
	b->model.has_ir_version = 1;
	b->model.ir_version = 7;
	b->model.producer_name = "test";
	onnx__operator_set_id_proto__init(&b->opset);
	b->opset.domain = "";
	b->opset.has_version = 1;
	b->opset.version = 13;
	b->opsets[0] = &b->opset;
	b->model.n_opset_import = 1;
	b->model.opset_import = b->opsets;
	b->model.graph = &b->graph;

	onnx__graph_proto__init(&b->graph);
	b->graph.name = "built";
	onnx__value_info_proto__init(&b->vin);
	b->vin.name = "x";
	b->vin.type = &b->tin;
	tensor_type(&b->tin, &b->ttin, &b->sin, b->din, b->dinp);
	onnx__value_info_proto__init(&b->vout);
	b->vout.name = "y";
	b->vout.type = &b->tout;
	tensor_type(&b->tout, &b->ttout, &b->sout, b->dout, b->doutp);
	onnx__value_info_proto__init(&b->vinfo);
	b->vinfo.name = "t";
	b->vinfo.type = &b->tinfo;
	tensor_type(&b->tinfo, &b->ttinfo, &b->sinfo, b->dinfo, b->dinfop);
	b->ins[0] = &b->vin;
	b->ins[1] = &b->vin; /* replaced by tests that need a second input */
	b->outs[0] = &b->vout;
	b->infos[0] = &b->vinfo;
	b->graph.n_input = 1;
	b->graph.input = b->ins;
	b->graph.n_output = 1;
	b->graph.output = b->outs;
	b->graph.value_info = b->infos;

	onnx__tensor_proto__init(&b->w);
	b->w.name = "W";
	b->w.has_data_type = 1;
	b->w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	b->w_dims[0] = 3;
	b->w.n_dims = 1;
	b->w.dims = b->w_dims;
	b->w_data[0] = 1, b->w_data[1] = 2, b->w_data[2] = 3;
	b->w.n_float_data = 3;
	b->w.float_data = b->w_data;
	b->inits[0] = &b->w;
	b->graph.n_initializer = 1;
	b->graph.initializer = b->inits;

	onnx__node_proto__init(&b->node);
	b->node.name = "add";
	b->node.op_type = "Add";
	b->node_in[0] = "x";
	b->node_in[1] = "W";
	b->node_out[0] = "y";
	b->node.n_input = 2;
	b->node.input = b->node_in;
	b->node.n_output = 1;
	b->node.output = b->node_out;
	b->node.attribute = b->attrs;
	onnx__node_proto__init(&b->n2);
	b->n2.name = "relu";
	b->n2.op_type = "Relu";
	b->n2_in[0] = "t";
	b->n2_out[0] = "y";
	b->n2.n_input = 1;
	b->n2.input = b->n2_in;
	b->n2.n_output = 1;
	b->n2.output = b->n2_out;
	b->nodes[0] = &b->node;
	b->nodes[1] = &b->n2;
	b->graph.n_node = 1;
	b->graph.node = b->nodes;

	onnx__attribute_proto__init(&b->attr);
	onnx__attribute_proto__init(&b->attr2);
	b->attrs[0] = &b->attr;
	b->attrs[1] = &b->attr2;
	onnx__graph_proto__init(&b->subgraph);
	return b;
}

/* Two nodes: t = Add(x, W); y = Relu(t). */
static void mb_two_nodes(mb *b)
{
	b->node_out[0] = "t";
	b->graph.n_node = 2;
}

static gb_status mb_import(mb *b, gb_model **m, gb_error *err)
{
	size_t len = onnx__model_proto__get_packed_size(&b->model);
	uint8_t *buf = malloc(len ? len : 1);
	cr_assert_not_null(buf);
	onnx__model_proto__pack(&b->model, buf);
	gb_status st = gb_onnx_import(buf, len, "built.onnx", m, err);
	free(buf);
	return st;
}

/* Imports b expecting failure with status and message parts. */
static void mb_expect(mb *b, gb_status want, const char *part1, const char *part2)
{
	gb_error err = {0};
	gb_model *m = (gb_model *)&err; /* must be reset to NULL */
	gb_status st = mb_import(b, &m, &err);
	cr_assert_eq(st, want, "status %s (%s), want %s", gb_status_name(st), err.msg, gb_status_name(want));
	cr_assert_null(m);
	cr_assert(strstr(err.msg, "built.onnx") != NULL, "message does not name the file: %s", err.msg);
	cr_assert(!part1 || strstr(err.msg, part1), "message lacks '%s': %s", part1, err.msg);
	cr_assert(!part2 || strstr(err.msg, part2), "message lacks '%s': %s", part2, err.msg);
	free(b);
}

static gb_model *mb_ok(mb *b)
{
	gb_error err = {0};
	gb_model *m = NULL;
	gb_status st = mb_import(b, &m, &err);
	cr_assert_eq(st, GB_OK, "%s", err.msg);
	free(b);
	return m;
}

/* ---- built models: what import keeps ------------------------------------------------------- */

Test(onnx_built, baseline)
{
	gb_model *m = mb_ok(mb_new());
	cr_assert_eq(m->opset, 13);
	cr_assert_eq(m->ir_version, 7);
	cr_assert_str_eq(m->producer_name, "test");
	cr_assert_str_eq(m->graph_name, "built");
	cr_assert_eq(gb_model_n_inputs(m), 1);
	cr_assert_eq(gb_model_n_outputs(m), 1);
	gb_value_info info;
	gb_model_input(m, 0, &info);
	cr_assert_str_eq(info.name, "x");
	cr_assert_eq(info.dtype, GB_DTYPE_F32);
	const gb_value *x = value_named(m, "x");
	assert_dims(x, 2, (int64_t[]){-1, 3});
	cr_assert_str_eq(x->dim_param[0], "batch");
	cr_assert_null(x->dim_param[1]);
	cr_assert_eq(gb_model_n_params(m), 1);
	cr_assert_str_eq(gb_model_param_name(m, 0), "W");
	const gb_tensor *w = gb_model_param(m, 0);
	cr_assert_eq(w->dtype, GB_DTYPE_F32);
	cr_assert_eq(((const float *)w->data)[2], 3.0f);
	cr_assert_eq(m->n_nodes, 1);
	cr_assert_str_eq(m->nodes[0].name, "add");
	cr_assert_str_eq(m->nodes[0].op_type, "Add");
	cr_assert_str_eq(m->nodes[0].domain, "");
	cr_assert_eq(m->nodes[0].inputs[1], gb_model_find_value(m, "W"));
	cr_assert_eq(value_named(m, "y")->producer, 0);
	gb_model *r = round_trip(m);
	assert_same(m, r);
	gb_model_free(r);
	gb_model_free(m);
}

Test(onnx_built, dims_claim_more_data_than_present)
{
	mb *b = mb_new();
	b->w_dims[0] = 4; /* 4 floats declared, 3 present */
	mb_expect(b, GB_STATUS_BAD_FILE, "initializer 'W'", "declares 4 elements");
}

Test(onnx_built, raw_data_shorter_than_dims)
{
	mb *b = mb_new();
	b->w.n_float_data = 0;
	b->w.has_raw_data = 1;
	b->w.raw_data.data = (uint8_t *)b->w_data;
	b->w.raw_data.len = 10; /* 2.5 floats */
	mb_expect(b, GB_STATUS_BAD_FILE, "initializer 'W'", "raw_data holds 10 bytes");
}

Test(onnx_built, dims_whose_product_overflows)
{
	mb *b = mb_new();
	b->w.n_dims = 2;
	b->w_dims[0] = (int64_t)1 << 40;
	b->w_dims[1] = (int64_t)1 << 40;
	mb_expect(b, GB_STATUS_BAD_FILE, "initializer 'W'", "more elements than can be addressed");
}

Test(onnx_built, dims_near_int64_max)
{
	mb *b = mb_new();
	b->w.n_dims = 2;
	b->w_dims[0] = INT64_MAX;
	b->w_dims[1] = 2;
	mb_expect(b, GB_STATUS_BAD_FILE, "initializer 'W'", NULL);
}

Test(onnx_built, negative_dim)
{
	mb *b = mb_new();
	b->w_dims[0] = -3;
	mb_expect(b, GB_STATUS_BAD_FILE, "initializer 'W'", "negative");
}

Test(onnx_built, rank_above_limit)
{
	mb *b = mb_new();
	int64_t dims[9] = {1, 1, 1, 1, 1, 1, 1, 1, 3};
	b->w.n_dims = 9;
	b->w.dims = dims;
	mb_expect(b, GB_STATUS_UNSUPPORTED, "initializer 'W'", "rank 9");
}

Test(onnx_built, external_data)
{
	mb *b = mb_new();
	b->w.n_float_data = 0;
	b->w.has_data_location = 1;
	b->w.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	mb_expect(b, GB_STATUS_BAD_FILE, "initializer 'W' uses external data", "does not load");
}

Test(onnx_built, unknown_input_name)
{
	mb *b = mb_new();
	b->node_in[1] = "nope";
	mb_expect(b, GB_STATUS_BAD_FILE, "node 'add' (Add) reads 'nope'", NULL);
}

Test(onnx_built, float16_graph_input)
{
	mb *b = mb_new();
	b->ttin.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
	mb_expect(b, GB_STATUS_UNSUPPORTED, "graph input 'x'", "float16");
}

Test(onnx_built, string_graph_output)
{
	mb *b = mb_new();
	b->ttout.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__STRING;
	mb_expect(b, GB_STATUS_UNSUPPORTED, "graph output 'y'", "string");
}

Test(onnx_built, float16_initializer)
{
	mb *b = mb_new();
	b->w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
	mb_expect(b, GB_STATUS_UNSUPPORTED, "initializer 'W'", "float16");
}

Test(onnx_built, sequence_graph_input)
{
	mb *b = mb_new();
	Onnx__TypeProto__Sequence seq;
	onnx__type_proto__sequence__init(&seq);
	seq.elem_type = &b->tout;
	b->tin.value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
	b->tin.sequence_type = &seq;
	mb_expect(b, GB_STATUS_UNSUPPORTED, "graph input 'x' is a sequence", NULL);
}

Test(onnx_built, untyped_graph_input)
{
	mb *b = mb_new();
	b->vin.type = NULL;
	mb_expect(b, GB_STATUS_BAD_FILE, "graph input 'x' has no type", NULL);
}

Test(onnx_built, missing_opset)
{
	mb *b = mb_new();
	b->model.n_opset_import = 0;
	mb_expect(b, GB_STATUS_BAD_FILE, "opset", NULL);
}

Test(onnx_built, only_another_domain_opset)
{
	mb *b = mb_new();
	b->opset.domain = "ai.onnx.ml";
	mb_expect(b, GB_STATUS_BAD_FILE, "default ONNX domain", NULL);
}

Test(onnx_built, ai_onnx_is_the_default_domain)
{
	mb *b = mb_new();
	b->opset.domain = "ai.onnx";
	b->opset.version = 11;
	b->node.domain = "ai.onnx";
	gb_model *m = mb_ok(b);
	cr_assert_eq(m->opset, 11);
	cr_assert_str_eq(m->nodes[0].domain, "");
	gb_model_free(m);
}

Test(onnx_built, no_graph)
{
	mb *b = mb_new();
	b->model.graph = NULL;
	mb_expect(b, GB_STATUS_BAD_FILE, "no graph", NULL);
}

Test(onnx_built, graph_attribute_is_unsupported)
{
	mb *b = mb_new();
	b->attr.name = "body";
	b->attr.has_type = 1;
	b->attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
	b->attr.g = &b->subgraph;
	b->node.n_attribute = 1;
	mb_expect(b, GB_STATUS_UNSUPPORTED, "node 'add' (Add)", "attribute 'body' is a graph");
}

Test(onnx_built, sparse_tensor_attribute_is_unsupported)
{
	mb *b = mb_new();
	Onnx__SparseTensorProto sp;
	onnx__sparse_tensor_proto__init(&sp);
	b->attr.name = "sp";
	b->attr.has_type = 1;
	b->attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
	b->attr.sparse_tensor = &sp;
	b->node.n_attribute = 1;
	mb_expect(b, GB_STATUS_UNSUPPORTED, "node 'add' (Add)", "attribute 'sp' is a sparse tensor");
}

Test(onnx_built, attribute_types_inferred_in_old_files)
{
	mb *b = mb_new();
	/* No `type` field, as written before AttributeProto.type existed. */
	b->attr.name = "axis";
	b->attr.has_i = 1;
	b->attr.i = -2;
	b->attr2.name = "scales";
	b->floats[0] = 0.5f, b->floats[1] = 4.0f;
	b->attr2.n_floats = 2;
	b->attr2.floats = b->floats;
	b->node.n_attribute = 2;
	gb_model *m = mb_ok(b);
	const gb_attr *axis = attr_of(m, 0, "axis");
	cr_assert_eq(axis->type, GB_ATTR_INT);
	cr_assert_eq(axis->i, -2);
	const gb_attr *scales = attr_of(m, 0, "scales");
	cr_assert_eq(scales->type, GB_ATTR_FLOATS);
	cr_assert_eq(scales->n, 2);
	cr_assert_eq(scales->floats[1], 4.0f);
	/* Export writes the type; the round trip keeps the values. */
	gb_model *r = round_trip(m);
	assert_same(m, r);
	gb_model_free(r);
	gb_model_free(m);
}

Test(onnx_built, attribute_kinds_round_trip)
{
	mb *b = mb_new();
	ProtobufCBinaryData strs[2] = {{3, (uint8_t *)"abc"}, {0, NULL}};
	Onnx__TensorProto t;
	onnx__tensor_proto__init(&t);
	int64_t tdims[1] = {2};
	int64_t tvals[2] = {-7, INT64_MAX};
	t.has_data_type = 1;
	t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	t.n_dims = 1;
	t.dims = tdims;
	t.n_int64_data = 2;
	t.int64_data = tvals;
	b->attr.name = "strs";
	b->attr.has_type = 1;
	b->attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
	b->attr.n_strings = 2;
	b->attr.strings = strs;
	b->attr2.name = "value";
	b->attr2.has_type = 1;
	b->attr2.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
	b->attr2.t = &t;
	b->node.n_attribute = 2;
	gb_model *m = mb_ok(b);
	const gb_attr *s = attr_of(m, 0, "strs");
	cr_assert_eq(s->type, GB_ATTR_STRINGS);
	cr_assert_eq(s->n, 2);
	cr_assert_str_eq(s->strings[0], "abc");
	cr_assert_str_eq(s->strings[1], "");
	const gb_attr *v = attr_of(m, 0, "value");
	cr_assert_eq(v->type, GB_ATTR_TENSOR);
	cr_assert_eq(v->t->dtype, GB_DTYPE_I64);
	cr_assert_eq(((const int64_t *)v->t->data)[1], INT64_MAX);
	gb_model *r = round_trip(m);
	assert_same(m, r);
	gb_model_free(r);
	gb_model_free(m);
}

Test(onnx_built, empty_string_attribute_is_not_null)
{
	mb *b = mb_new();
	b->attr.name = "mode";
	b->attr.has_type = 1;
	b->attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
	b->attr.has_s = 1;
	b->node.n_attribute = 1;
	gb_model *m = mb_ok(b);
	const gb_attr *a = attr_of(m, 0, "mode");
	cr_assert_not_null(a->s);
	cr_assert_eq(a->s_len, 0);
	gb_model_free(m);
}

Test(onnx_built, attribute_without_value)
{
	mb *b = mb_new();
	b->attr.name = "ghost";
	b->node.n_attribute = 1;
	mb_expect(b, GB_STATUS_BAD_FILE, "attribute 'ghost' has no type and no value", NULL);
}

Test(onnx_built, duplicate_attribute)
{
	mb *b = mb_new();
	b->attr.name = "axis";
	b->attr.has_i = 1;
	b->attr2.name = "axis";
	b->attr2.has_i = 1;
	b->node.n_attribute = 2;
	mb_expect(b, GB_STATUS_BAD_FILE, "attribute 'axis' appears twice", NULL);
}

Test(onnx_built, uint8_and_bool_in_int32_data)
{
	mb *b = mb_new();
	b->w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
	b->w.n_float_data = 0;
	b->w_ints[0] = 1, b->w_ints[1] = 255, b->w_ints[2] = 7;
	b->w.n_int32_data = 3;
	b->w.int32_data = b->w_ints;
	gb_model *m = mb_ok(b);
	const gb_tensor *w = gb_model_param(m, 0);
	cr_assert_eq(w->dtype, GB_DTYPE_U8);
	cr_assert_eq(((const uint8_t *)w->data)[1], 255);
	gb_model_free(m);

	b = mb_new();
	b->w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
	b->w.n_float_data = 0;
	b->w_ints[0] = 0, b->w_ints[1] = 2, b->w_ints[2] = 1;
	b->w.n_int32_data = 3;
	b->w.int32_data = b->w_ints;
	m = mb_ok(b);
	w = gb_model_param(m, 0);
	cr_assert_eq(w->dtype, GB_DTYPE_BOOL);
	cr_assert_eq(((const uint8_t *)w->data)[0], 0);
	cr_assert_eq(((const uint8_t *)w->data)[1], 1); /* non-zero is true, stored as 1 */
	gb_model_free(m);

	b = mb_new();
	b->w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
	b->w.n_float_data = 0;
	b->w_ints[0] = 300;
	b->w.n_int32_data = 3;
	b->w.int32_data = b->w_ints;
	mb_expect(b, GB_STATUS_BAD_FILE, "initializer 'W'", "outside uint8");
}

Test(onnx_built, typed_field_must_match_dtype)
{
	mb *b = mb_new();
	b->w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64; /* but the payload is in float_data */
	mb_expect(b, GB_STATUS_BAD_FILE, "initializer 'W'", "int64_data holds 0");
}

Test(onnx_built, initializers_listed_as_inputs_are_weights)
{
	mb *b = mb_new();
	Onnx__ValueInfoProto vw;
	onnx__value_info_proto__init(&vw);
	vw.name = "W";
	vw.type = &b->tout;
	b->ins[1] = &vw;
	b->graph.n_input = 2;
	gb_model *m = mb_ok(b);
	cr_assert_eq(gb_model_n_inputs(m), 1);
	cr_assert_eq(gb_model_n_params(m), 1);
	const gb_value *w = value_named(m, "W");
	cr_assert_not_null(w->init);
	cr_assert_eq(w->is_input, 0);
	assert_dims(w, 1, (int64_t[]){3});
	gb_model_free(m);
}

Test(onnx_built, duplicate_initializer)
{
	mb *b = mb_new();
	Onnx__TensorProto *two[2] = {&b->w, &b->w};
	b->graph.n_initializer = 2;
	b->graph.initializer = two;
	mb_expect(b, GB_STATUS_BAD_FILE, "initializer 'W' appears twice", NULL);
}

Test(onnx_built, constant_nodes_become_initializers)
{
	static const char *const kinds[] = {"value_float", "value_ints", "value"};
	for (int k = 0; k < 3; k++) {
		mb *b = mb_new();
		Onnx__TensorProto t;
		onnx__tensor_proto__init(&t);
		int64_t tdims[2] = {1, 2};
		double tvals[2] = {0.25, -8};
		b->node.name = "";
		b->node.op_type = "Constant";
		b->node.n_input = 0;
		b->attr.name = (char *)kinds[k];
		b->attr.has_type = 1;
		if (k == 0) {
			b->attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
			b->attr.has_f = 1;
			b->attr.f = 1.5f;
		} else if (k == 1) {
			b->attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
			b->ints[0] = 4, b->ints[1] = -5, b->ints[2] = 6;
			b->attr.n_ints = 3;
			b->attr.ints = b->ints;
		} else {
			b->attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
			t.has_data_type = 1;
			t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
			t.n_dims = 2;
			t.dims = tdims;
			t.n_double_data = 2;
			t.double_data = tvals;
			b->attr.t = &t;
		}
		b->node.n_attribute = 1;
		gb_model *m = mb_ok(b);
		cr_assert_eq(m->n_nodes, 0);
		cr_assert_eq(gb_model_n_params(m), 2);
		const gb_value *y = value_named(m, "y");
		cr_assert_not_null(y->init);
		cr_assert_null(y->dim_param[0]);
		if (k == 0) {
			cr_assert_eq(y->init->dtype, GB_DTYPE_F32);
			cr_assert_eq(y->init->ndim, 0);
			cr_assert_eq(((const float *)y->init->data)[0], 1.5f);
		} else if (k == 1) {
			cr_assert_eq(y->init->dtype, GB_DTYPE_I64);
			assert_dims(y, 1, (int64_t[]){3});
			cr_assert_eq(((const int64_t *)y->init->data)[1], -5);
		} else {
			cr_assert_eq(y->init->dtype, GB_DTYPE_F64);
			assert_dims(y, 2, (int64_t[]){1, 2});
			cr_assert_eq(((const double *)y->init->data)[1], -8.0);
		}
		gb_model *r = round_trip(m);
		assert_same(m, r);
		gb_model_free(r);
		gb_model_free(m);
	}
}

Test(onnx_built, string_constant_is_unsupported)
{
	mb *b = mb_new();
	b->node.op_type = "Constant";
	b->node.n_input = 0;
	b->attr.name = "value_string";
	b->attr.has_type = 1;
	b->attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
	b->attr.has_s = 1;
	b->node.n_attribute = 1;
	mb_expect(b, GB_STATUS_UNSUPPORTED, "node 'add' (Constant)", "value_string");
}

Test(onnx_built, constant_without_value)
{
	mb *b = mb_new();
	b->node.op_type = "Constant";
	b->node.n_input = 0;
	mb_expect(b, GB_STATUS_BAD_FILE, "(Constant) has no value attribute", NULL);
}

Test(onnx_built, generated_node_names_are_unique)
{
	mb *b = mb_new();
	mb_two_nodes(b);
	b->node.name = NULL; /* unnamed */
	b->n2.name = "Add_0"; /* takes the name the first would get */
	gb_model *m = mb_ok(b);
	cr_assert_str_eq(m->nodes[1].name, "Add_0");
	cr_assert_str_neq(m->nodes[0].name, "Add_0");
	cr_assert(strncmp(m->nodes[0].name, "Add_0", 5) == 0, "%s", m->nodes[0].name);
	gb_model_free(m);

	b = mb_new();
	mb_two_nodes(b);
	b->node.name = "same";
	b->n2.name = "same";
	m = mb_ok(b);
	cr_assert_str_eq(m->nodes[0].name, "same");
	cr_assert_str_neq(m->nodes[1].name, "same");
	cr_assert_eq(gb_model_find_node(m, m->nodes[1].name), 1);
	gb_model_free(m);
}

Test(onnx_built, value_info_and_symbolic_dims_round_trip)
{
	mb *b = mb_new();
	mb_two_nodes(b);
	b->graph.n_value_info = 1;
	b->ttinfo.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE; /* declared intermediate */
	b->dinfo[0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE__NOT_SET; /* unnamed dynamic dim */
	b->dout[1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
	b->dout[1].dim_param = "features";
	gb_model *m = mb_ok(b);
	const gb_value *t = value_named(m, "t");
	cr_assert_eq(t->dtype, GB_DTYPE_F64);
	assert_dims(t, 2, (int64_t[]){-1, 3});
	cr_assert_null(t->dim_param[0]);
	const gb_value *y = value_named(m, "y");
	assert_dims(y, 2, (int64_t[]){-1, -1});
	cr_assert_str_eq(y->dim_param[1], "features");
	gb_model *r = round_trip(m);
	assert_same(m, r);
	cr_assert_null(value_named(r, "t")->dim_param[0]);
	gb_model_free(r);
	gb_model_free(m);
}

Test(onnx_built, omitted_optional_input_and_output)
{
	mb *b = mb_new();
	char *outs[2] = {"y", ""};
	b->node_in[1] = "";
	b->node.n_output = 2;
	b->node.output = outs;
	gb_model *m = mb_ok(b);
	cr_assert_eq(m->nodes[0].n_inputs, 2);
	cr_assert_eq(m->nodes[0].inputs[1], -1);
	cr_assert_eq(m->nodes[0].n_outputs, 2);
	cr_assert_eq(m->nodes[0].outputs[1], -1);
	gb_model *r = round_trip(m);
	assert_same(m, r);
	gb_model_free(r);
	gb_model_free(m);
}

Test(onnx_built, value_written_twice)
{
	mb *b = mb_new();
	b->node_out[0] = "x";
	mb_expect(b, GB_STATUS_BAD_FILE, "writes 'x', which is already a graph input", NULL);
	b = mb_new();
	mb_two_nodes(b);
	b->node_out[0] = "y";
	b->n2_in[0] = "x";
	mb_expect(b, GB_STATUS_BAD_FILE, "writes 'y', which is already written by another node", NULL);
}

Test(onnx_built, output_never_computed)
{
	mb *b = mb_new();
	b->vout.name = "zzz";
	mb_expect(b, GB_STATUS_BAD_FILE, "graph output 'zzz'", NULL);
}

Test(onnx_built, node_without_op_type)
{
	mb *b = mb_new();
	b->node.op_type = "";
	mb_expect(b, GB_STATUS_BAD_FILE, "node 'add' has no op_type", NULL);
}

/* ---- hostile bytes --------------------------------------------------------------------------- */

static void expect_bad_bytes(const void *buf, size_t len, const char *label)
{
	gb_error err = {0};
	gb_model *m = NULL;
	gb_status st = gb_onnx_import(buf, len, label, &m, &err);
	cr_assert(st == GB_STATUS_BAD_FILE || st == GB_STATUS_UNSUPPORTED, "len %zu: status %s (%s)", len,
	          gb_status_name(st), err.msg);
	cr_assert_null(m);
	cr_assert(strstr(err.msg, label) != NULL, "message does not name the file: %s", err.msg);
}

Test(onnx_bad, empty_file)
{
	gb_error err = {0};
	gb_model *m = NULL;
	cr_assert_eq(gb_onnx_import("", 0, "empty.onnx", &m, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "empty.onnx: empty file") != NULL, "%s", err.msg);
	cr_assert_null(m);
}

Test(onnx_bad, random_bytes)
{
	uint64_t state = 42;
	uint8_t buf[512];
	for (int trial = 0; trial < 300; trial++) {
		size_t len = 1 + (size_t)(tu_uniform(&state) * (sizeof buf - 1));
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)(tu_uniform(&state) * 256);
		expect_bad_bytes(buf, len, "random.onnx");
	}
	gb_error err = {0};
	gb_model *m = NULL;
	cr_assert_eq(gb_onnx_import("\xff\xff\xff\xff", 4, "junk.onnx", &m, &err), GB_STATUS_BAD_FILE);
	cr_assert_str_eq(err.msg, "junk.onnx: not a valid ONNX model (protobuf decoding failed)");
}

Test(onnx_bad, every_truncation_of_a_real_model)
{
	uint8_t *buf;
	size_t len;
	gb_error err = {0};
	cr_assert_eq(gb_file_read(CASES "/pytorch-converted/test_Conv2d/model.onnx", GB_MAX_FILE_BYTES, &buf, &len, &err),
	             GB_OK, "%s", err.msg);
	for (size_t n = 0; n < len; n++)
		expect_bad_bytes(buf, n, "cut.onnx");
	free(buf);
}

/* Flipping bytes of a valid model must never crash; whatever imports must
 * still export and import again. */
Test(onnx_bad, byte_flips_of_a_real_model)
{
	uint8_t *buf;
	size_t len;
	gb_error err = {0};
	cr_assert_eq(gb_file_read(CASES "/node/test_conv_with_strides_padding/model.onnx", GB_MAX_FILE_BYTES, &buf, &len,
	                          &err),
	             GB_OK, "%s", err.msg);
	char *dir = temp_dir();
	char out[256];
	snprintf(out, sizeof out, "%s/m.onnx", dir);
	int accepted = 0;
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			buf[i] ^= (uint8_t)(1u << bit);
			gb_model *m = NULL;
			gb_status st = gb_onnx_import(buf, len, "flip.onnx", &m, &err);
			if (st == GB_OK) {
				accepted++;
				st = gb_onnx_export(m, out, &err);
				cr_assert(st == GB_OK || st == GB_STATUS_UNSUPPORTED, "%s", err.msg);
				if (st == GB_OK) {
					gb_model *r = import_ok(out);
					assert_same(m, r);
					gb_model_free(r);
				}
				gb_model_free(m);
			} else {
				cr_assert(strstr(err.msg, "flip.onnx") != NULL, "%s", err.msg);
				cr_assert_null(m);
			}
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	cr_assert_gt(accepted, 0); /* e.g. flips inside names still decode */
	free(buf);
	rmtree(dir);
}

/* Appends field `field` (length-delimited) holding payload[0..n) to out. */
static size_t put_len_field(uint8_t *out, int field, const uint8_t *payload, size_t n)
{
	size_t k = 0;
	out[k++] = (uint8_t)(field << 3 | 2);
	for (size_t v = n; ; v >>= 7) {
		out[k++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		if (v < 0x80)
			break;
	}
	memmove(out + k, payload, n);
	return k + n;
}

/* Graphs inside attributes inside nodes inside graphs, `levels` deep:
 * protoc-c's decoder would recurse once per message and overflow the stack. */
static uint8_t *nested_model(int levels, size_t *len)
{
	size_t cap = (size_t)levels * 16 + 64;
	uint8_t *a = calloc(cap, 1), *b = calloc(cap, 1);
	size_t n = 0;
	for (int i = 0; i < levels; i++) {
		n = put_len_field(b, 6, a, n); /* AttributeProto.g */
		n = put_len_field(a, 5, b, n); /* NodeProto.attribute */
		n = put_len_field(b, 1, a, n); /* GraphProto.node */
		memcpy(a, b, n);
	}
	n = put_len_field(b, 7, a, n); /* ModelProto.graph */
	free(a);
	*len = n;
	return b;
}

Test(onnx_bad, deep_nesting_is_refused_before_decoding)
{
	size_t len;
	uint8_t *buf = nested_model(60000, &len);
	gb_error err = {0};
	gb_model *m = NULL;
	cr_assert_eq(gb_onnx_import(buf, len, "deep.onnx", &m, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "deep.onnx: messages nested more than 100 deep"), "%s", err.msg);
	free(buf);
	/* Shallow nesting decodes; the graph attribute is then unsupported. */
	buf = nested_model(3, &len);
	cr_assert_eq(gb_onnx_import(buf, len, "shallow.onnx", &m, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "shallow.onnx: model declares no opset"), "%s", err.msg);
	free(buf);
}

/* ---- real conformance models ------------------------------------------------------------------- */

Test(onnx_real, conv_with_strides_padding)
{
	gb_model *m = import_ok(CASES "/node/test_conv_with_strides_padding/model.onnx");
	cr_assert_eq(m->opset, 22);
	cr_assert_eq(m->ir_version, 10);
	cr_assert_str_eq(m->producer_name, "backend-test");
	cr_assert_eq(gb_model_n_inputs(m), 2);
	gb_value_info info;
	gb_model_input(m, 1, &info);
	cr_assert_str_eq(info.name, "W");
	cr_assert_eq(info.ndim, 4);
	assert_dims(value_named(m, "x"), 4, (int64_t[]){1, 1, 7, 5});
	assert_dims(value_named(m, "y"), 4, (int64_t[]){1, 1, 4, 3});
	cr_assert_eq(m->n_nodes, 1);
	cr_assert_str_eq(m->nodes[0].name, "Conv_0"); /* the file leaves it unnamed */
	cr_assert_str_eq(m->nodes[0].op_type, "Conv");
	const gb_attr *pads = attr_of(m, 0, "pads");
	cr_assert_eq(pads->type, GB_ATTR_INTS);
	cr_assert_eq(pads->n, 4);
	cr_assert_eq(pads->ints[3], 1);
	const gb_attr *strides = attr_of(m, 0, "strides");
	cr_assert_eq(strides->n, 2);
	cr_assert_eq(strides->ints[0], 2);
	gb_model_free(m);
}

Test(onnx_real, pytorch_conv2d_with_weights_listed_as_inputs)
{
	gb_model *m = import_ok(CASES "/pytorch-converted/test_Conv2d/model.onnx");
	cr_assert_eq(m->ir_version, 3);
	cr_assert_eq(m->opset, 6);
	cr_assert_eq(gb_model_n_inputs(m), 1);
	gb_value_info info;
	gb_model_input(m, 0, &info);
	cr_assert_str_eq(info.name, "0");
	cr_assert_eq(gb_model_n_params(m), 2);
	cr_assert_eq(gb_model_param_count(m), 4 * 3 * 3 * 2 + 4);
	const gb_tensor *w = gb_model_param(m, 0);
	cr_assert_eq(w->ndim, 4);
	cr_assert_eq(w->dims[0], 4);
	cr_assert_eq(w->dims[3], 2);
	cr_assert_eq(((const float *)w->data)[0], -0.1429409235715866f);
	cr_assert_eq(((const float *)w->data)[2], -0.0018995553255081177f);
	const gb_attr *group = attr_of(m, 0, "group");
	cr_assert_eq(group->type, GB_ATTR_INT);
	cr_assert_eq(group->i, 1);
	gb_model *r = round_trip(m);
	assert_same(m, r);
	gb_model_free(r);
	gb_model_free(m);
}

Test(onnx_real, tensor_and_string_attributes)
{
	gb_model *m = import_ok(CASES "/node/test_constantofshape_float_ones/model.onnx");
	const gb_attr *v = attr_of(m, 0, "value");
	cr_assert_eq(v->type, GB_ATTR_TENSOR);
	cr_assert_eq(v->t->dtype, GB_DTYPE_F32);
	cr_assert_eq(v->t->ndim, 1);
	cr_assert_eq(((const float *)v->t->data)[0], 1.0f);
	cr_assert_eq(value_named(m, "x")->dtype, GB_DTYPE_I64);
	gb_model_free(m);

	m = import_ok(CASES "/node/test_averagepool_2d_same_upper/model.onnx");
	const gb_attr *pad = attr_of(m, 0, "auto_pad");
	cr_assert_eq(pad->type, GB_ATTR_STRING);
	cr_assert_eq(pad->s_len, 10);
	cr_assert_str_eq(pad->s, "SAME_UPPER");
	gb_model_free(m);
}

Test(onnx_real, omitted_optional_inputs)
{
	gb_model *m = import_ok(CASES "/node/test_clip_default_inbounds/model.onnx");
	cr_assert_eq(m->nodes[0].n_inputs, 3);
	cr_assert_geq(m->nodes[0].inputs[0], 0);
	cr_assert_eq(m->nodes[0].inputs[1], -1);
	cr_assert_eq(m->nodes[0].inputs[2], -1);
	gb_model_free(m);
}

Test(onnx_real, constant_node_becomes_an_initializer)
{
	gb_model *m = import_ok(CASES "/node/test_constant/model.onnx");
	cr_assert_eq(m->n_nodes, 0);
	cr_assert_eq(gb_model_n_outputs(m), 1);
	const gb_value *v = value_named(m, "values");
	cr_assert_not_null(v->init);
	cr_assert(v->is_output);
	gb_model_free(m);
}

Test(onnx_real, unsupported_models_say_why)
{
	gb_error err = {0};
	gb_model *m;
	const char *path = CASES "/node/test_max_float16/model.onnx";
	cr_assert_eq(import_path(path, &m, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, path) && strstr(err.msg, "float16"), "%s", err.msg);
	path = CASES "/node/test_split_to_sequence_1/model.onnx";
	cr_assert_eq(import_path(path, &m, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, path) && strstr(err.msg, "sequence"), "%s", err.msg);
}

/* ---- round trips of every conformance model ----------------------------------------------------- */

Test(onnx_roundtrip, every_conformance_model, .timeout = 300)
{
	static const char *const suites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
	char *dir = temp_dir();
	char out[256];
	snprintf(out, sizeof out, "%s/m.onnx", dir);
	int same = 0, unsupported = 0;
	for (int s = 0; s < 4; s++) {
		char suite[512];
		snprintf(suite, sizeof suite, CASES "/%s", suites[s]);
		DIR *d = opendir(suite);
		cr_assert_not_null(d, "%s missing", suite);
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char path[1024];
			snprintf(path, sizeof path, "%s/%s/model.onnx", suite, e->d_name);
			gb_error err = {0};
			gb_model *a, *b;
			gb_status st = import_path(path, &a, &err);
			if (st == GB_STATUS_UNSUPPORTED) {
				unsupported++;
				continue;
			}
			cr_assert_eq(st, GB_OK, "%s", err.msg);
			st = gb_onnx_export(a, out, &err);
			if (st == GB_STATUS_UNSUPPORTED) { /* nodes from another domain */
				cr_assert(strstr(err.msg, "domain"), "%s", err.msg);
				unsupported++;
				gb_model_free(a);
				continue;
			}
			cr_assert_eq(st, GB_OK, "%s", err.msg);
			cr_assert_eq(import_path(out, &b, &err), GB_OK, "%s: %s", path, err.msg);
			char why[512];
			cr_assert_eq(me_diff(a, b, why, sizeof why), 0, "%s: %s", path, why);
			/* A second round trip writes the same bytes. */
			uint8_t *first, *second;
			size_t n1, n2;
			cr_assert_eq(gb_file_read(out, GB_MAX_FILE_BYTES, &first, &n1, &err), GB_OK);
			cr_assert_eq(gb_onnx_export(b, out, &err), GB_OK);
			cr_assert_eq(gb_file_read(out, GB_MAX_FILE_BYTES, &second, &n2, &err), GB_OK);
			cr_assert(n1 == n2 && memcmp(first, second, n1) == 0, "%s: export is not stable", path);
			free(first);
			free(second);
			gb_model_free(a);
			gb_model_free(b);
			same++;
		}
		closedir(d);
	}
	cr_assert_gt(same, 600, "only %d models round-tripped (%d unsupported)", same, unsupported);
	cr_assert_lt(unsupported, 120);
	rmtree(dir);
}

/* ---- export ---------------------------------------------------------------------------------- */

Test(onnx_export, built_in_memory_gets_defaults)
{
	gb_error err = {0};
	gb_model *m;
	cr_assert_eq(gb_model_new_empty("mem", &m, &err), GB_OK);
	int x = gb_model_add_value(m, "x", GB_DTYPE_F32, 2, (int64_t[]){-1, 4});
	int y = gb_model_add_value(m, "y", GB_DTYPE_F32, 2, (int64_t[]){-1, 4});
	int w = gb_model_add_value(m, "w", GB_DTYPE_F32, 0, NULL);
	gb_tensor *wt = tu_tensor(GB_DTYPE_F32, 1, (int64_t[]){4}, (float[]){1, -2, 3.5f, -0.0f});
	cr_assert_eq(gb_model_set_init(m, w, wt, &err), GB_OK);
	gb_tensor_free(wt);
	int n = gb_model_add_node(m, "mul", "Mul", "", 2, (int[]){x, w}, 1, &y);
	cr_assert_geq(n, 0);
	gb_attr a = {.name = "note", .type = GB_ATTR_STRING, .s = "hi", .s_len = 2};
	cr_assert_eq(gb_node_add_attr(m, &m->nodes[n], &a, &err), GB_OK);
	cr_assert_eq(gb_model_set_io(m, 1, &x, 1, &y, &err), GB_OK);

	gb_model *r = round_trip(m);
	cr_assert_eq(r->opset, 17);
	cr_assert_eq(r->ir_version, 8);
	cr_assert_str_eq(r->producer_name, "glassbox");
	cr_assert_null(value_named(r, "x")->dim_param[0]);
	assert_dims(value_named(r, "x"), 2, (int64_t[]){-1, 4});
	const gb_tensor *rw = gb_model_param(r, 0);
	cr_assert_eq(memcmp(rw->data, gb_model_param(m, 0)->data, 16), 0); /* -0.0f kept bit for bit */
	m->opset = 17;
	assert_same(m, r);
	gb_model_free(r);
	gb_model_free(m);
}

Test(onnx_export, write_failure_leaves_nothing)
{
	gb_model *m = import_ok(CASES "/node/test_conv_with_strides_padding/model.onnx");
	gb_error err = {0};
	cr_assert_eq(gb_onnx_export(m, "/nonexistent-dir/m.onnx", &err), GB_STATUS_IO);
	cr_assert(strstr(err.msg, "/nonexistent-dir/m.onnx") != NULL, "%s", err.msg);

	char *dir = temp_dir();
	char path[256];
	snprintf(path, sizeof path, "%s/m.onnx", dir);
	cr_assert_eq(gb_onnx_export(m, path, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_onnx_export(m, path, &err), GB_OK, "%s", err.msg); /* replaces */
	cr_assert_eq(count_entries(dir), 1); /* no temporary files left */
	rmtree(dir);
	gb_model_free(m);
}

Test(onnx_export, other_domains_are_refused)
{
	mb *b = mb_new();
	b->node.domain = "com.example";
	gb_model *m = mb_ok(b);
	char *dir = temp_dir();
	char path[256];
	snprintf(path, sizeof path, "%s/m.onnx", dir);
	gb_error err = {0};
	cr_assert_eq(gb_onnx_export(m, path, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, "com.example") && strstr(err.msg, path), "%s", err.msg);
	cr_assert_eq(count_entries(dir), 0);
	rmtree(dir);
	gb_model_free(m);
}

Test(onnx_export, old_ir_lists_weights_as_inputs)
{
	gb_model *m = import_ok(CASES "/pytorch-converted/test_Conv2d/model.onnx");
	char *dir = temp_dir();
	char path[256];
	snprintf(path, sizeof path, "%s/m.onnx", dir);
	gb_error err = {0};
	cr_assert_eq(gb_onnx_export(m, path, &err), GB_OK, "%s", err.msg);
	uint8_t *buf;
	size_t len;
	cr_assert_eq(gb_file_read(path, GB_MAX_FILE_BYTES, &buf, &len, &err), GB_OK);
	Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
	cr_assert_not_null(mp);
	cr_assert_eq(mp->ir_version, 3);
	cr_assert_eq(mp->graph->n_input, 3); /* IR < 4 requires initializers among the inputs */
	cr_assert_eq(mp->graph->n_initializer, 2);
	cr_assert(mp->graph->initializer[0]->has_raw_data);
	onnx__model_proto__free_unpacked(mp, NULL);
	free(buf);
	rmtree(dir);
	gb_model_free(m);
}

/* ---- TensorProto files ---------------------------------------------------------------------------- */

static char *write_tensor_proto(const Onnx__TensorProto *tp, char **dir_out)
{
	char *dir = temp_dir();
	char *path = malloc(256);
	snprintf(path, 256, "%s/t.pb", dir);
	size_t len = onnx__tensor_proto__get_packed_size(tp);
	uint8_t *buf = malloc(len ? len : 1);
	onnx__tensor_proto__pack(tp, buf);
	FILE *fp = fopen(path, "wb");
	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(buf, 1, len, fp), len);
	fclose(fp);
	free(buf);
	*dir_out = dir;
	return path;
}

Test(tensor_proto, conformance_input)
{
	gb_error err = {0};
	gb_tensor *t = NULL;
	cr_assert_eq(gb_tensor_proto_load(CASES "/node/test_conv_with_strides_padding/test_data_set_0/input_0.pb", &t,
	                                  &err),
	             GB_OK, "%s", err.msg);
	cr_assert_eq(t->dtype, GB_DTYPE_F32);
	cr_assert_eq(t->ndim, 4);
	cr_assert_eq(t->dims[2], 7);
	cr_assert_eq(t->dims[3], 5);
	cr_assert_eq(((float *)t->data)[2], 2.0f);
	cr_assert_eq(((float *)t->data)[34], 34.0f);
	gb_tensor_free(t);
}

Test(tensor_proto, unsupported_dtype_names_the_file)
{
	gb_error err = {0};
	gb_tensor *t = NULL;
	const char *path = CASES "/node/test_max_float16/test_data_set_0/input_0.pb";
	cr_assert_eq(gb_tensor_proto_load(path, &t, &err), GB_STATUS_UNSUPPORTED);
	cr_assert(strstr(err.msg, path) && strstr(err.msg, "float16"), "%s", err.msg);
	cr_assert_null(t);
}

Test(tensor_proto, bad_files)
{
	gb_error err = {0};
	gb_tensor *t = NULL;
	cr_assert_eq(gb_tensor_proto_load("/nonexistent/t.pb", &t, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "/nonexistent/t.pb"), "%s", err.msg);

	Onnx__TensorProto tp;
	onnx__tensor_proto__init(&tp);
	int64_t dims[2] = {2, 3};
	int64_t vals[5] = {1, 2, 3, 4, 5};
	tp.has_data_type = 1;
	tp.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	tp.n_dims = 2;
	tp.dims = dims;
	tp.n_int64_data = 5; /* one short */
	tp.int64_data = vals;
	char *dir, *path = write_tensor_proto(&tp, &dir);
	cr_assert_eq(gb_tensor_proto_load(path, &t, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, path) && strstr(err.msg, "declares 6 elements"), "%s", err.msg);
	FILE *fp = fopen(path, "wb");
	fputs("\xff\xff\xff", fp);
	fclose(fp);
	cr_assert_eq(gb_tensor_proto_load(path, &t, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "protobuf decoding failed"), "%s", err.msg);
	free(path);
	rmtree(dir);
}

Test(tensor_proto, typed_and_raw_payloads)
{
	gb_error err = {0};
	gb_tensor *t = NULL;
	Onnx__TensorProto tp;
	onnx__tensor_proto__init(&tp);
	int64_t dims[1] = {3};
	uint8_t bools[3] = {0, 5, 1};
	tp.has_data_type = 1;
	tp.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
	tp.n_dims = 1;
	tp.dims = dims;
	tp.has_raw_data = 1;
	tp.raw_data.len = 3;
	tp.raw_data.data = bools;
	char *dir, *path = write_tensor_proto(&tp, &dir);
	cr_assert_eq(gb_tensor_proto_load(path, &t, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(t->dtype, GB_DTYPE_BOOL);
	cr_assert_eq(((uint8_t *)t->data)[1], 1);
	gb_tensor_free(t);
	free(path);
	rmtree(dir);

	/* A scalar (no dims) in int32_data. */
	onnx__tensor_proto__init(&tp);
	int32_t one = -9;
	tp.has_data_type = 1;
	tp.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
	tp.n_int32_data = 1;
	tp.int32_data = &one;
	path = write_tensor_proto(&tp, &dir);
	cr_assert_eq(gb_tensor_proto_load(path, &t, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(t->ndim, 0);
	cr_assert_eq(((int32_t *)t->data)[0], -9);
	gb_tensor_free(t);
	free(path);
	rmtree(dir);
}
