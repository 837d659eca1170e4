/*
 * emit.h — emitters: a model's graph turned into standalone source code
 * that computes the same function with no glassbox at run time.
 *
 *   gb_emit_c      one self-contained C11 file (the C standard library and
 *                  <math.h> only): the weights as static const arrays and one
 *                  function taking the batch size, the inputs and the outputs
 *   gb_emit_numpy  one Python module (NumPy only): the weights embedded
 *                  exactly (base64 of little-endian bytes) and one function
 *                  taking the inputs and returning the outputs
 *
 * Both work from the graph IR, so they serve ONNX models and compiled
 * programs alike. Every shape must be static except the leading (batch) axis
 * of the inputs; the shapes of every value are found by running the model
 * with the engine on zero inputs (two batch sizes when the model has a batch
 * axis), which also folds shape arithmetic (Shape → Gather → Concat →
 * Reshape) and any other subgraph that does not depend on the inputs into
 * constants. An op the emitter does not handle, an attribute value it does
 * not handle, or a shape it cannot express gives GB_STATUS_UNSUPPORTED with
 * a message naming the op and the node — never code that computes something
 * else.
 */
#ifndef GB_EMIT_H
#define GB_EMIT_H

#include "../graph/graph.h"

/* Writes the C source into *text (malloc'ed, NUL-terminated, caller frees).
 * func_name names the function (a C identifier; NULL gives "model"). The
 * model must be prepared (gb_model_load does it). The comment at the top of
 * the file documents the function's signature: parameter names, shapes,
 * dtypes, the batch axis and the return codes. */
gb_status gb_emit_c(gb_model *m, const char *func_name, char **text, gb_error *err);

/* The same as a Python module; func_name names the Python function. */
gb_status gb_emit_numpy(gb_model *m, const char *func_name, char **text, gb_error *err);

/* Whether the emitters translate op_type (nodes that fold into constants may
 * use any op the engine runs). */
int gb_emit_op_supported(const char *op_type);

#endif /* GB_EMIT_H */
