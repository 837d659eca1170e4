/*
 * prepare.c — binds every node of a graph to its op in the table, running
 * each op's prepare to check and type its attributes, then checks the node
 * order. Anything outside the table is an error, never a guess.
 */
#include <string.h>

#include "ops.h"

gb_status gb_model_prepare(gb_model *m, gb_error *err)
{
	for (int i = 0; i < m->n_nodes; i++) {
		gb_node *node = &m->nodes[i];
		if (node->domain[0] && strcmp(node->domain, "ai.onnx") != 0)
			return gb_fail(err, GB_STATUS_UNSUPPORTED, "unsupported op %s:%s (node %s) in %s", node->domain,
			               node->op_type, node->name, m->label);
		const gb_op_def *op = gb_op_find(node->op_type);
		if (!op)
			return gb_fail(err, GB_STATUS_UNSUPPORTED, "unsupported op %s (node %s) in %s", node->op_type,
			               node->name, m->label);
		if (node->n_inputs < op->min_inputs || node->n_inputs > op->max_inputs)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "has %d inputs, the op takes %d to %d",
			                     node->n_inputs, op->min_inputs, op->max_inputs);
		if (node->n_outputs < op->min_outputs || node->n_outputs > op->max_outputs)
			return gb_node_error(err, m, node, GB_STATUS_BAD_FILE, "has %d outputs, the op makes %d to %d",
			                     node->n_outputs, op->min_outputs, op->max_outputs);
		node->op = op;
		if (op->prepare) {
			gb_status st = op->prepare(m, node, err);
			if (st != GB_OK)
				return st;
		}
	}
	return gb_model_check_order(m, err);
}

