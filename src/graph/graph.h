/*
 * graph.h — the graph IR: values (tensors flowing between nodes, including
 * weights), nodes (one ONNX op each, with its attributes kept verbatim for
 * exact export and a typed parameter struct built by the op's prepare
 * function), and the model that owns them.
 *
 * Ownership: everything hanging off a gb_model — names, attribute payloads,
 * weight data, op parameter structs — lives in the model's arena and is
 * released at once by gb_model_free. The node and value arrays themselves
 * are malloc'ed so that passes can grow them.
 */
#ifndef GB_GRAPH_H
#define GB_GRAPH_H

#include "../core/core.h"

/* ---- attributes (ONNX AttributeProto, the subset ops use) ------------------ */

typedef enum gb_attr_type {
	GB_ATTR_FLOAT,
	GB_ATTR_INT,
	GB_ATTR_STRING,
	GB_ATTR_TENSOR,
	GB_ATTR_FLOATS,
	GB_ATTR_INTS,
	GB_ATTR_STRINGS
} gb_attr_type;

typedef struct gb_attr {
	const char *name;
	gb_attr_type type;
	float f;
	int64_t i;
	const char *s;       /* STRING (NUL-terminated; s_len bytes, may hold NULs) */
	size_t s_len;
	gb_tensor *t;        /* TENSOR (arena-owned) */
	int64_t n;           /* count for FLOATS / INTS / STRINGS */
	float *floats;
	int64_t *ints;
	const char **strings;
} gb_attr;

/* ---- values ----------------------------------------------------------------- */

typedef struct gb_value {
	const char *name;
	gb_dtype dtype;
	int ndim;                      /* -1: rank unknown */
	int64_t dims[GB_MAX_DIMS];     /* -1: dynamic */
	const char *dim_param[GB_MAX_DIMS]; /* symbolic dim names ("batch"), or NULL */
	gb_tensor *init;               /* weights and constants: data (arena), else NULL */
	int producer;                  /* index of the node that writes it, or -1 */
	int is_input;                  /* a graph input that is not an initializer */
	int is_output;
} gb_value;

/* ---- nodes ---------------------------------------------------------------- */

typedef struct gb_op_def gb_op_def; /* defined by exec (src/exec/ops.h) */

typedef struct gb_node {
	const char *name;     /* never NULL; made unique on import when missing */
	const char *op_type;  /* ONNX op_type */
	const char *domain;   /* "" for the default ONNX domain */
	int n_inputs;
	int *inputs;          /* value indices; -1 for an omitted optional input */
	int n_outputs;
	int *outputs;
	int n_attrs;
	gb_attr *attrs;
	const gb_op_def *op;  /* resolved by gb_model_prepare */
	void *params;         /* the op's typed parameters (arena), set by its prepare */
} gb_node;

/* ---- the model ---------------------------------------------------------------- */

struct gb_model {
	gb_arena arena;       /* names, attributes, weights, op params */
	const char *label;    /* file name for messages */
	const char *graph_name;
	const char *producer_name;
	int64_t opset;        /* default-domain opset version; 0 for a graph built in
	                       * memory without one: ops then apply their newest
	                       * semantics, and export writes opset 17 (the newest
	                       * Debian's onnx checker knows), so a builder using an
	                       * op whose form changed after 17 sets the opset itself */
	int64_t ir_version;

	int n_values, cap_values;
	gb_value *values;
	int n_nodes, cap_nodes;
	gb_node *nodes;

	int n_inputs;         /* graph inputs that are not initializers, in order */
	int *inputs;
	int n_outputs;
	int *outputs;
	int n_params;         /* initializers, in file order */
	int *params;
};

/* A new empty model; label is copied. */
gb_status gb_model_new_empty(const char *label, gb_model **out, gb_error *err);

/* Adds a value (name copied) and returns its index, or -1 on out-of-memory
 * or a duplicate name. */
int gb_model_add_value(gb_model *m, const char *name, gb_dtype dtype, int ndim, const int64_t *dims);
int gb_model_find_value(const gb_model *m, const char *name);

/* Adds a node; inputs/outputs are value indices (copied). Returns the node
 * index or -1 (out of memory). Sets the producer of each output. */
int gb_model_add_node(gb_model *m, const char *name, const char *op_type, const char *domain, int n_inputs,
                      const int *inputs, int n_outputs, const int *outputs);
/* Appends an attribute to a node: copies name and payload into the arena. */
gb_status gb_node_add_attr(gb_model *m, gb_node *node, const gb_attr *attr, gb_error *err);

/* Registers graph inputs/outputs/initializers (value indices). */
gb_status gb_model_set_io(gb_model *m, int n_inputs, const int *inputs, int n_outputs, const int *outputs,
                          gb_error *err);
/* Makes value v an initializer holding a copy of t (data copied into the arena). */
gb_status gb_model_set_init(gb_model *m, int v, const gb_tensor *t, gb_error *err);

/* Attribute lookup on a node: NULL if absent. */
const gb_attr *gb_node_attr(const gb_node *node, const char *name);

/* Typed attribute readers used by op prepare functions. Each returns GB_OK and
 * writes the default when the attribute is absent, and GB_STATUS_BAD_FILE
 * (message naming the node, the attribute and the model file) when it is
 * present with the wrong type. */
gb_status gb_attr_int(const gb_model *m, const gb_node *node, const char *name, int64_t def, int64_t *out,
                      gb_error *err);
gb_status gb_attr_float(const gb_model *m, const gb_node *node, const char *name, float def, float *out,
                        gb_error *err);
/* out points into the model (borrowed); *n = -1 when absent. */
gb_status gb_attr_ints(const gb_model *m, const gb_node *node, const char *name, const int64_t **out,
                       int64_t *n, gb_error *err);
gb_status gb_attr_floats(const gb_model *m, const gb_node *node, const char *name, const float **out,
                         int64_t *n, gb_error *err);
/* *out = def when absent. */
gb_status gb_attr_string(const gb_model *m, const gb_node *node, const char *name, const char *def,
                         const char **out, gb_error *err);

/* Records "FILE: node 'NAME' (OP): <message>" in err and returns status. */
gb_status gb_node_error(gb_error *err, const gb_model *m, const gb_node *node, gb_status status, const char *fmt,
                        ...) GB_PRINTF(5, 6);

/* Topological check: every node input is produced by an earlier node, is a
 * graph input or an initializer. ONNX requires this order; files that break
 * it are rejected with GB_STATUS_BAD_FILE. */
gb_status gb_model_check_order(const gb_model *m, gb_error *err);

#endif /* GB_GRAPH_H */
