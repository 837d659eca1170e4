/*
 * internal.h — what the C and NumPy emitters share (private to src/emit):
 * the text buffer, symbolic sizes, and the plan — the model analysed once
 * into identifiers, shapes and the list of nodes to translate.
 *
 * Sizes. Every dimension is static except the batch axis, so each size the
 * emitted code needs is a monomial c·n^p of the batch size n (p = 0 for a
 * static size; p = 2 for, say, the element count of an [n, n] value). The
 * plan runs the model with the engine at batch sizes 2 and 3 and fits every
 * integer it needs — dims, a Slice's start, a convolution's geometry — to
 * such a monomial; a size that does not fit (a Concat along the batch with a
 * constant, n + 1) is refused.
 */
#ifndef GB_EMIT_INTERNAL_H
#define GB_EMIT_INTERNAL_H

#include <stdarg.h>
#include <string.h>

#include "../exec/ops.h"
#include "emit.h"

/* ---- text ----------------------------------------------------------------- */

typedef struct em_buf {
	char *s;
	size_t len, cap;
	int oom;
} em_buf;

void em_printf(em_buf *b, const char *fmt, ...) GB_PRINTF(2, 3);
void em_puts(em_buf *b, const char *s);

/* ---- sizes ---------------------------------------------------------------- */

#define EM_RUNS 2

typedef struct em_mono {
	int64_t c; /* coefficient */
	int p;     /* power of the batch size n */
} em_mono;

static inline em_mono em_const(int64_t c)
{
	return (em_mono){c, 0};
}

static inline int em_mono_eq(em_mono a, em_mono b)
{
	return a.c == b.c && (a.p == b.p || a.c == 0);
}

/* a·b; false on overflow. */
int em_mono_mul(em_mono a, em_mono b, em_mono *out);
/* "12", "n", "(3 * n)", "(2 * n * n)": valid C and Python. buf of 64 bytes. */
const char *em_mono_str(em_mono a, char *buf);

/* ---- the plan --------------------------------------------------------------- */

typedef struct em_val {
	const char *id;                        /* identifier in the emitted code */
	gb_dtype dtype;
	int ndim;                              /* -1: not computed (dead) */
	em_mono dims[GB_MAX_DIMS];
	int64_t run_dims[EM_RUNS][GB_MAX_DIMS];
	int is_static;                         /* independent of the inputs: folded */
	const gb_tensor *run_data[EM_RUNS];    /* static: its value in each run (owned copies) */
	int live;                              /* read on the way to an output by an emitted node */
	int emitted;                           /* written by an emitted node */
	int const_used;                        /* static and read as data by an emitted node */
	int alias;                             /* shares the storage of this value, or -1 */
	int last_use;                          /* position in order of the last emitted reader */
} em_val;

typedef struct em_plan {
	gb_model *m;
	const char *lang;                      /* "C" or "NumPy", for messages */
	int n_runs;                            /* 1 without a batch axis, else 2 */
	int64_t batch[EM_RUNS];
	int batched;
	em_val *v;                             /* [m->n_values] */
	int n_order;
	int *order;                            /* emitted nodes, in graph order */
	char **ids;                            /* owned identifier strings */
	int n_ids;
	gb_tensor **owned;                     /* static data copies */
	int n_owned;
} em_plan;

/* Analyses the model for one emitter: runs it, folds constants, checks that
 * every node left is one the emitter handles (ops outside supported() fail
 * with "emit: op X (node N) is not supported by the LANG emitter"), names
 * values. reserved lists extra identifiers to avoid (NULL-terminated). */
gb_status em_plan_build(em_plan *p, gb_model *m, const char *lang, const char *const *reserved, gb_error *err);
void em_plan_free(em_plan *p);

/* A new unique identifier made from name (owned by the plan); NULL on OOM. */
const char *em_make_id(em_plan *p, const char *name, const char *const *extra);

/* Value of input k of node, NULL when absent. */
const em_val *em_in(const em_plan *p, const gb_node *node, int k);
int em_in_index(const gb_node *node, int k);
const em_val *em_out(const em_plan *p, const gb_node *node, int k);

/* Fits one integer per run to a monomial; false when it does not fit. */
int em_fit(const em_plan *p, const int64_t *per_run, em_mono *out);
/* em_fit, or GB_STATUS_UNSUPPORTED naming the node: "WHAT depends on the
 * batch size in a way the emitter cannot express". */
gb_status em_fit_node(const em_plan *p, const gb_node *node, const int64_t *per_run, em_mono *out, const char *what,
                      gb_error *err);
/* The product of v's dims over [lo, hi), fitted ("a size" in the message). */
gb_status em_span(const em_plan *p, const gb_node *node, const em_val *v, int lo, int hi, em_mono *out, gb_error *err);

/* Number of elements and C-order strides as monomials. */
em_mono em_numel(const em_val *v);
void em_strides(const em_val *v, em_mono *strides);
int64_t em_run_numel(const em_val *v, int r);

/* A static int64 (or int32) operand as int64 values in run r; NULL with
 * *n = -1 when absent. The array is owned by the plan. */
const int64_t *em_static_ints(em_plan *p, const gb_node *node, int k, int r, int64_t *n, gb_error *err);

/* "emit: op X (node N) in FILE: message" with GB_STATUS_UNSUPPORTED. */
gb_status em_unsupported(gb_error *err, const em_plan *p, const gb_node *node, const char *fmt, ...) GB_PRINTF(4, 5);

/* The element of a static value's run-0 data as a double / int64. */
double em_elem_f(const gb_tensor *t, int64_t i);
int64_t em_elem_i(const gb_tensor *t, int64_t i);

/* A float32 literal that reads back exactly: "0.5f", "-3.0f", "1e-05f",
 * INFINITY, NAN (C); Python form with py = 1: "np.float32(0.5)". buf of 48 bytes. */
const char *em_float_lit(float f, int py, char *buf);

/* "[n, 3, 4]": v's dims as monomials, into buf of size bytes. */
void em_shape_str(const em_val *v, char *buf, size_t size);

/* The checks both emitters make before writing code. em_check_func_name:
 * the function name is an identifier (lang names it in the message: "a C
 * identifier"). em_check_broadcast: no opset < 7 legacy broadcasting. */
gb_status em_check_func_name(const char *fname, const char *lang, gb_error *err);
gb_status em_check_broadcast(const em_plan *p, const gb_node *node, gb_error *err);

/* The ONNX type a Cast (attribute to) or CastLike (y's dtype) converts to:
 * 1 float, 7 int64, 9 bool. */
int64_t em_cast_to(const gb_node *node, const em_val *y);

/* The expression of an order comparison (Greater, Less, GreaterOrEqual,
 * LessOrEqual) in $0 and $1, the same in C and NumPy; NULL for other ops
 * and for bool operands. */
const char *em_compare_template(const char *op, gb_dtype dt);

static inline int em_is_op(const gb_node *node, const char *name)
{
	return strcmp(node->op_type, name) == 0;
}

/* Node attributes with defaults (the engine's prepare validated them). */
int64_t em_attr_int(const gb_node *node, const char *name, int64_t def);
float em_attr_float(const gb_node *node, const char *name, float def);
const char *em_attr_string(const gb_node *node, const char *name, const char *def);
/* n = -1 when absent. */
const int64_t *em_attr_ints(const gb_node *node, const char *name, int64_t *n);

/* Geometry of sliding-window ops (Conv, MaxPool, AveragePool), 3-D with
 * leading spatial dims of size 1 for lower ranks: the input's spatial dims
 * from the runs, the output's from the runs, kernel/stride/dilation and the
 * leading padding the node implies (auto_pad resolved as the engine does). */
typedef struct em_window {
	int k; /* spatial dims: 1..3 */
	int64_t in[3], out[3], kernel[3], stride[3], dilation[3], pad_begin[3], pad_end[3];
} em_window;

gb_status em_window_of(em_plan *p, const gb_node *node, const int64_t *kernel_dims, em_window *w, gb_error *err);

/* Reduction axes of a Reduce* node as a mask over the input's rank (0 for
 * noop_with_empty_axes with no axes); *noop = 1 for that identity case. */
gb_status em_reduce_axes(em_plan *p, const gb_node *node, int *mask, int *noop, gb_error *err);

/* The per-axis read plan of Transpose, Slice, Expand and Pad (the engine's
 * axis map): output index i of axis a reads input index
 * start + step·(i - before) when 0 <= i - before < count, else the fill
 * rule (Pad) applies; stride is the input stride of the axis read. */
typedef enum em_fill { EM_FILL_CONSTANT, EM_FILL_EDGE, EM_FILL_REFLECT, EM_FILL_WRAP } em_fill;

typedef struct em_axis_map {
	int ndim;
	em_mono before[GB_MAX_DIMS], count[GB_MAX_DIMS], start[GB_MAX_DIMS], step[GB_MAX_DIMS], stride[GB_MAX_DIMS];
	em_fill fill;
	int has_fill;   /* Pad */
	double value;   /* Pad's constant */
} em_axis_map;

gb_status em_axis_map_of(em_plan *p, const gb_node *node, em_axis_map *map, gb_error *err);

#endif /* GB_EMIT_INTERNAL_H */
