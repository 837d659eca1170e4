/*
 * model_equal.h — exact comparison of two graphs (header-only, static),
 * shared by the ONNX round-trip checks (tests/unit/test_onnx.c and
 * tests/e2e/export_roundtrip.c):
 *
 *   me_diff(a, b, why, size)  0 when b is a faithful copy of a: same opset,
 *       IR version, inputs, outputs, weights (bit for bit), declared dtype,
 *       shape and symbolic dim names of every value, nodes with the same
 *       names, ops, domains, inputs, outputs and attributes (floats compared
 *       bit for bit). Otherwise 1, with the first difference in why.
 *
 * A value of a that b lacks is accepted only when it carries nothing:
 * declared float32 with unknown rank, no weight, no reader, no writer (an
 * unused value_info entry, which export does not keep).
 */
#ifndef GB_MODEL_EQUAL_H
#define GB_MODEL_EQUAL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "graph/graph.h"

static int me_fail(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return 1;
}

static const char *me_name(const gb_model *m, int v)
{
	return v >= 0 ? m->values[v].name : "";
}

static int me_tensor_diff(const gb_tensor *a, const gb_tensor *b)
{
	if (a->dtype != b->dtype || a->ndim != b->ndim)
		return 1;
	for (int i = 0; i < a->ndim; i++)
		if (a->dims[i] != b->dims[i])
			return 1;
	size_t bytes = 0;
	gb_shape_bytes(a->dtype, a->ndim, a->dims, &bytes);
	return bytes && memcmp(a->data, b->data, bytes) != 0;
}

static int me_used(const gb_model *m, int v)
{
	for (int i = 0; i < m->n_nodes; i++) {
		for (int k = 0; k < m->nodes[i].n_inputs; k++)
			if (m->nodes[i].inputs[k] == v)
				return 1;
		for (int k = 0; k < m->nodes[i].n_outputs; k++)
			if (m->nodes[i].outputs[k] == v)
				return 1;
	}
	return 0;
}

static int me_value_diff(const gb_model *a, const gb_value *va, const gb_model *b, const gb_value *vb, char *why,
                         size_t size)
{
	if (va->dtype != vb->dtype || va->ndim != vb->ndim)
		return me_fail(why, size, "value '%s': dtype/rank %s/%d vs %s/%d", va->name, gb_dtype_name(va->dtype),
		               va->ndim, gb_dtype_name(vb->dtype), vb->ndim);
	for (int i = 0; i < va->ndim; i++) {
		const char *pa = va->dim_param[i], *pb = vb->dim_param[i];
		if (va->dims[i] != vb->dims[i] || (!pa) != (!pb) || (pa && strcmp(pa, pb) != 0))
			return me_fail(why, size, "value '%s': dim %d differs (%lld '%s' vs %lld '%s')", va->name, i,
			               (long long)va->dims[i], pa ? pa : "", (long long)vb->dims[i], pb ? pb : "");
	}
	if ((!va->init) != (!vb->init) || (va->init && me_tensor_diff(va->init, vb->init)))
		return me_fail(why, size, "value '%s': weight differs", va->name);
	if (va->is_input != vb->is_input || va->is_output != vb->is_output)
		return me_fail(why, size, "value '%s': input/output flags differ", va->name);
	const char *pa = va->producer >= 0 ? a->nodes[va->producer].name : "";
	const char *pb = vb->producer >= 0 ? b->nodes[vb->producer].name : "";
	if (strcmp(pa, pb) != 0)
		return me_fail(why, size, "value '%s': producer '%s' vs '%s'", va->name, pa, pb);
	return 0;
}

static int me_attr_diff(const gb_attr *x, const gb_attr *y)
{
	if (strcmp(x->name, y->name) != 0 || x->type != y->type)
		return 1;
	switch (x->type) {
	case GB_ATTR_FLOAT: return memcmp(&x->f, &y->f, sizeof x->f) != 0;
	case GB_ATTR_INT: return x->i != y->i;
	case GB_ATTR_STRING: return x->s_len != y->s_len || memcmp(x->s, y->s, x->s_len) != 0;
	case GB_ATTR_TENSOR: return me_tensor_diff(x->t, y->t);
	case GB_ATTR_FLOATS: return x->n != y->n || (x->n && memcmp(x->floats, y->floats, (size_t)x->n * 4) != 0);
	case GB_ATTR_INTS: return x->n != y->n || (x->n && memcmp(x->ints, y->ints, (size_t)x->n * 8) != 0);
	case GB_ATTR_STRINGS:
		if (x->n != y->n)
			return 1;
		for (int64_t k = 0; k < x->n; k++)
			if (strcmp(x->strings[k], y->strings[k]) != 0)
				return 1;
		return 0;
	}
	return 1;
}

static int me_diff(const gb_model *a, const gb_model *b, char *why, size_t size)
{
	if (a->opset != b->opset || (a->ir_version && a->ir_version != b->ir_version))
		return me_fail(why, size, "opset/ir %lld/%lld vs %lld/%lld", (long long)a->opset, (long long)a->ir_version,
		               (long long)b->opset, (long long)b->ir_version);
	if (a->graph_name[0] && strcmp(a->graph_name, b->graph_name) != 0)
		return me_fail(why, size, "graph name '%s' vs '%s'", a->graph_name, b->graph_name);
	if (a->producer_name[0] && strcmp(a->producer_name, b->producer_name) != 0)
		return me_fail(why, size, "producer '%s' vs '%s'", a->producer_name, b->producer_name);
	if (a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs || a->n_params != b->n_params ||
	    a->n_nodes != b->n_nodes)
		return me_fail(why, size, "counts (inputs %d/%d, outputs %d/%d, weights %d/%d, nodes %d/%d)", a->n_inputs,
		               b->n_inputs, a->n_outputs, b->n_outputs, a->n_params, b->n_params, a->n_nodes, b->n_nodes);
	for (int i = 0; i < a->n_inputs; i++)
		if (strcmp(me_name(a, a->inputs[i]), me_name(b, b->inputs[i])) != 0)
			return me_fail(why, size, "input %d differs", i);
	for (int i = 0; i < a->n_outputs; i++)
		if (strcmp(me_name(a, a->outputs[i]), me_name(b, b->outputs[i])) != 0)
			return me_fail(why, size, "output %d differs", i);
	for (int i = 0; i < a->n_params; i++)
		if (strcmp(me_name(a, a->params[i]), me_name(b, b->params[i])) != 0)
			return me_fail(why, size, "weight %d differs", i);
	for (int v = 0; v < a->n_values; v++) {
		const gb_value *va = &a->values[v];
		int w = gb_model_find_value(b, va->name);
		if (w < 0) {
			if (va->dtype == GB_DTYPE_F32 && va->ndim < 0 && !va->init && !va->is_input && !va->is_output &&
			    !me_used(a, v))
				continue;
			return me_fail(why, size, "value '%s' is missing", va->name);
		}
		if (me_value_diff(a, va, b, &b->values[w], why, size))
			return 1;
	}
	for (int w = 0; w < b->n_values; w++)
		if (gb_model_find_value(a, b->values[w].name) < 0)
			return me_fail(why, size, "value '%s' appeared", b->values[w].name);
	for (int i = 0; i < a->n_nodes; i++) {
		const gb_node *x = &a->nodes[i], *y = &b->nodes[i];
		if (strcmp(x->name, y->name) != 0 || strcmp(x->op_type, y->op_type) != 0 || strcmp(x->domain, y->domain) != 0)
			return me_fail(why, size, "node %d: '%s' (%s) vs '%s' (%s)", i, x->name, x->op_type, y->name, y->op_type);
		if (x->n_inputs != y->n_inputs || x->n_outputs != y->n_outputs || x->n_attrs != y->n_attrs)
			return me_fail(why, size, "node '%s': input/output/attribute counts differ", x->name);
		for (int k = 0; k < x->n_inputs; k++)
			if (strcmp(me_name(a, x->inputs[k]), me_name(b, y->inputs[k])) != 0)
				return me_fail(why, size, "node '%s': input %d differs", x->name, k);
		for (int k = 0; k < x->n_outputs; k++)
			if (strcmp(me_name(a, x->outputs[k]), me_name(b, y->outputs[k])) != 0)
				return me_fail(why, size, "node '%s': output %d differs", x->name, k);
		for (int k = 0; k < x->n_attrs; k++)
			if (me_attr_diff(&x->attrs[k], &y->attrs[k]))
				return me_fail(why, size, "node '%s': attribute '%s' differs", x->name, x->attrs[k].name);
	}
	return 0;
}

#endif /* GB_MODEL_EQUAL_H */
