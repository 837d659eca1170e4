/*
 * ops.h — how an op family plugs into the executor.
 *
 * Each family file in src/exec/ops/ defines one table, e.g.
 *
 *     const gb_op_def gb_ops_linalg[] = {
 *         {"Gemm", 2, 3, 1, 1, gemm_prepare, gemm_forward, gemm_backward},
 *         {0}
 *     };
 *
 * and registry.c lists the tables. An op's three functions:
 *
 *  prepare(m, node, err)  — once at load: read node->attrs (gb_attr_* in
 *      graph.h), validate them, store a typed params struct in node->params
 *      (allocate it from m->arena). Opset-dependent semantics read m->opset.
 *      Bad attributes: GB_STATUS_BAD_FILE via gb_node_error. Attribute values
 *      glassbox does not handle: GB_STATUS_UNSUPPORTED, never a wrong answer.
 *      May be NULL when the op has no attributes.
 *
 *  forward(x, node, err) — read inputs with gb_in (dtype and shape known only
 *      now: the batch is dynamic), allocate each output with gb_out and fill
 *      it completely. Unsupported input dtypes: GB_STATUS_UNSUPPORTED naming
 *      the op and dtype. Shape mismatches between inputs: GB_STATUS_BAD_FILE
 *      via gb_node_error (the file described an impossible graph, or the data
 *      does not fit it).
 *
 *  backward(x, node, err) — given gb_gout(k) (gradient of output k, NULL when
 *      none reached it: treat as zero), ADD the vector-Jacobian product into
 *      gb_gin(k) for every input k whose gradient is wanted (gb_gin returns
 *      NULL when it is not: an integer input, an omitted one). Always
 *      accumulate (+=): a value read by several nodes sums their
 *      contributions. NULL for ops whose outputs are never float (Shape,
 *      ArgMax, Equal, …); the executor refuses a float output without it.
 *
 * Inputs, outputs and saved forward values stay valid through backward.
 */
#ifndef GB_EXEC_OPS_H
#define GB_EXEC_OPS_H

#include "../graph/graph.h"

typedef struct gb_exec gb_exec;

struct gb_op_def {
	const char *name; /* ONNX op_type */
	int min_inputs, max_inputs;
	int min_outputs, max_outputs;
	gb_status (*prepare)(gb_model *m, gb_node *node, gb_error *err);
	gb_status (*forward)(gb_exec *x, const gb_node *node, gb_error *err);
	gb_status (*backward)(gb_exec *x, const gb_node *node, gb_error *err);
};

/* Binds each node to its op (node->op), runs the ops' prepare functions and
 * checks the node order. Run once on every graph before a session uses it:
 * gb_model_load does; code that builds graphs in memory calls it itself. */
gb_status gb_model_prepare(gb_model *m, gb_error *err);

/* Op table lookup by ONNX op_type; NULL when glassbox does not have it. */
const gb_op_def *gb_op_find(const char *op_type);

/* ---- helpers for op implementations ------------------------------------------ */

const gb_model *gb_exec_model(const gb_exec *x);

/* Input k of node, or NULL when the optional input is omitted (or k is past
 * the inputs given). */
const gb_tensor *gb_in(gb_exec *x, const gb_node *node, int k);

/* Allocates output k (uninitialised) with this dtype and shape. Returns NULL
 * with err set when the size overflows or memory runs out. An output the
 * node does not bind (omitted optional output) still gets a buffer. */
gb_tensor *gb_out(gb_exec *x, const gb_node *node, int k, gb_dtype dtype, int ndim, const int64_t *dims,
                  gb_error *err);

/* Scratch memory valid until the end of this pass; NULL on overflow/OOM. */
void *gb_scratch(gb_exec *x, size_t bytes);

/* Gradient of output k, same shape as the output; NULL = zero. */
const gb_tensor *gb_gout(gb_exec *x, const gb_node *node, int k);

/* Gradient accumulator of input k (float32, same shape as the input, zero on
 * first use); NULL when no gradient is wanted for that input. On allocation
 * failure it also returns NULL and the executor reports the failure after
 * the op returns. */
gb_tensor *gb_gin(gb_exec *x, const gb_node *node, int k);

/* Number of elements; the executor guarantees it fits. */
static inline int64_t gb_numel(const gb_tensor *t)
{
	return gb_tensor_numel(t);
}

/* Normalises an axis in [-rank, rank) to [0, rank); -1 when out of range. */
static inline int gb_axis(int64_t axis, int rank)
{
	if (axis < -rank || axis >= rank)
		return -1;
	return (int)(axis < 0 ? axis + rank : axis);
}

/* The default-domain opset an op applies. Graphs built in memory carry
 * opset 0 and get the newest semantics. */
static inline int64_t gb_opset_of(const gb_model *m)
{
	return m->opset > 0 ? m->opset : INT64_MAX;
}

static inline int gb_opset_at_least(const gb_model *m, int64_t version)
{
	return gb_opset_of(m) >= version;
}

/* Whether output k of the node is bound to a value (optional outputs may not be). */
static inline int gb_output_bound(const gb_node *node, int k)
{
	return k < node->n_outputs && node->outputs[k] >= 0;
}

/* The status to return after gb_out gave NULL: it recorded the cause in err;
 * without an err slot the cause is memory. */
static inline gb_status gb_out_failed(const gb_error *err)
{
	return err ? err->status : GB_STATUS_NOMEM;
}

static inline gb_status gb_node_nomem(gb_exec *x, const gb_node *node, gb_error *err)
{
	return gb_node_error(err, gb_exec_model(x), node, GB_STATUS_NOMEM, "out of memory");
}

/* "Add on int32 tensors is not supported (node N) in FILE" */
gb_status gb_dtype_unsupported(gb_exec *x, const gb_node *node, const gb_tensor *t, gb_error *err);

/* ---- family tables (registry.c) ----------------------------------------------- */

extern const gb_op_def gb_ops_elementwise[];
extern const gb_op_def gb_ops_linalg[];
extern const gb_op_def gb_ops_conv[];
extern const gb_op_def gb_ops_pool[];
extern const gb_op_def gb_ops_norm[];
extern const gb_op_def gb_ops_reduce[];
extern const gb_op_def gb_ops_shape[];

#endif /* GB_EXEC_OPS_H */
