/*
 * glassbox.h — the public API of libglassbox.
 *
 * glassbox loads trained neural networks (ONNX), runs them exactly, and
 * differentiates them; later stages turn them into readable programs.
 *
 * Conventions (read these once, they hold for every function below):
 *
 *  - Status. Functions that can fail return gb_status. GB_OK is 0. On failure
 *    the optional gb_error *err (may be NULL) receives a one-line message that
 *    names the file or object and the problem. No function prints, exits, or
 *    keeps a message in a global: everything is reentrant and thread-safe as
 *    long as two threads do not use the same handle at once.
 *
 *  - Ownership. A function whose name ends in _new, _load or _open returns an
 *    object the caller owns and releases with the matching _free; every _free
 *    accepts NULL. Pointers returned by getters are borrowed: the comment on
 *    each says how long they stay valid. Inputs passed as const pointers are
 *    read during the call only (copied if kept) unless the comment says
 *    otherwise.
 *
 *  - Tensors are dense and C-ordered (row-major). Shapes use int64_t. A
 *    dimension of -1 in a declared shape (gb_value_info) means "dynamic",
 *    typically the batch dimension.
 */
#ifndef GLASSBOX_H
#define GLASSBOX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GB_VERSION "0.1.0"

/* ------------------------------------------------------------------------ */
/* Status and errors                                                        */
/* ------------------------------------------------------------------------ */

typedef enum gb_status {
	GB_OK = 0,
	GB_STATUS_FAILURE = 1,     /* internal failure or failed computation */
	GB_STATUS_USAGE = 2,       /* the caller passed arguments that make no sense */
	GB_STATUS_BAD_FILE = 3,    /* a file is missing, corrupt, hostile or does not fit */
	GB_STATUS_UNSUPPORTED = 4, /* valid input that glassbox does not handle (op, dtype) */
	GB_STATUS_NOMEM = 5,       /* an allocation failed */
	GB_STATUS_IO = 6           /* reading or writing a file failed (errno text included) */
} gb_status;

#define GB_ERRMSG_MAX 1024

/* Caller-provided error slot. msg is always NUL-terminated; empty when no
 * error has been recorded. Zero-initialise it: gb_error err = {0}; */
typedef struct gb_error {
	gb_status status;
	char msg[GB_ERRMSG_MAX];
} gb_error;

/* A short constant name for a status ("bad file", …). Never NULL. */
const char *gb_status_name(gb_status status);

/* ------------------------------------------------------------------------ */
/* Tensors                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum gb_dtype {
	GB_DTYPE_F32 = 0,
	GB_DTYPE_F64,
	GB_DTYPE_I64,
	GB_DTYPE_I32,
	GB_DTYPE_U8,
	GB_DTYPE_BOOL, /* one byte per element, 0 or 1 */
	GB_DTYPE_COUNT
} gb_dtype;

#define GB_MAX_DIMS 8

/* A dense C-ordered tensor. A tensor made by gb_tensor_new owns its data
 * (one allocation holds both the struct and the data). A tensor obtained
 * from a getter is borrowed; do not free it. A tensor with ndim == 0 is a
 * scalar holding one element. */
typedef struct gb_tensor {
	gb_dtype dtype;
	int ndim;
	int64_t dims[GB_MAX_DIMS];
	void *data;
} gb_tensor;

/* Size in bytes of one element; 0 for an invalid dtype. */
size_t gb_dtype_size(gb_dtype dtype);
/* "float32", "int64", …; "invalid" for an invalid dtype. */
const char *gb_dtype_name(gb_dtype dtype);

/* Number of elements (product of dims; 1 for a scalar). The dims of a tensor
 * that came from glassbox never overflow; for hand-made ones use
 * gb_shape_numel. */
int64_t gb_tensor_numel(const gb_tensor *t);

/* Checked product of dims: on overflow past INT64_MAX/elem or a negative dim,
 * returns GB_STATUS_BAD_FILE (the usual source of such shapes is a file). */
gb_status gb_shape_numel(int ndim, const int64_t *dims, int64_t *numel, gb_error *err);

/* New zero-filled tensor; caller frees with gb_tensor_free. Fails with
 * GB_STATUS_USAGE on ndim outside [0, GB_MAX_DIMS] or a negative dim,
 * GB_STATUS_NOMEM when the size overflows or allocation fails. */
gb_status gb_tensor_new(gb_dtype dtype, int ndim, const int64_t *dims, gb_tensor **out, gb_error *err);
/* Deep copy. */
gb_status gb_tensor_clone(const gb_tensor *src, gb_tensor **out, gb_error *err);
void gb_tensor_free(gb_tensor *t);
/* Writes "[2, 3, 4]" into buf (always NUL-terminated); returns buf. */
char *gb_shape_str(int ndim, const int64_t *dims, char *buf, size_t size);

/* ------------------------------------------------------------------------ */
/* Tensor maps: named tensors (activation caches, safetensors files)        */
/* ------------------------------------------------------------------------ */

typedef struct gb_tensor_map gb_tensor_map;

gb_status gb_tensor_map_new(gb_tensor_map **out, gb_error *err);
void gb_tensor_map_free(gb_tensor_map *map);
/* Stores a deep copy of t under name, replacing any tensor of that name. */
gb_status gb_tensor_map_put(gb_tensor_map *map, const char *name, const gb_tensor *t, gb_error *err);
/* Borrowed; valid until the entry is replaced or the map freed. NULL if absent. */
const gb_tensor *gb_tensor_map_get(const gb_tensor_map *map, const char *name);
int gb_tensor_map_count(const gb_tensor_map *map);
/* Entries in insertion order; borrowed like gb_tensor_map_get. */
const char *gb_tensor_map_name(const gb_tensor_map *map, int i);
const gb_tensor *gb_tensor_map_at(const gb_tensor_map *map, int i);

/* ------------------------------------------------------------------------ */
/* Data files                                                               */
/* ------------------------------------------------------------------------ */

/* NumPy .npy (format 1.0–3.0), C order, dtypes <f4 <f8 <i8 <i4 |u1 |b1.
 * Anything else (Fortran order, big-endian, object arrays, …) is a
 * GB_STATUS_UNSUPPORTED or GB_STATUS_BAD_FILE error naming the file. */
gb_status gb_npy_load(const char *path, gb_tensor **out, gb_error *err);
/* Writes atomically: a temporary file renamed into place, so a failed save
 * never leaves a partial file at path. */
gb_status gb_npy_save(const char *path, const gb_tensor *t, gb_error *err);

/* safetensors (F32 F64 I64 I32 U8 BOOL); offsets and sizes bounds-checked. */
gb_status gb_safetensors_load(const char *path, gb_tensor_map **out, gb_error *err);
gb_status gb_safetensors_save(const char *path, const gb_tensor_map *map, gb_error *err);

/* NumPy .npz (np.savez / np.savez_compressed): a zip archive whose members
 * are .npy files named NAME.npy. Load returns a new map (caller frees) with
 * one tensor per member, in archive order, named without the ".npy" suffix;
 * members may be stored or deflated. Anything that is not such an archive —
 * not a zip, a member that is not NAME.npy, a corrupt or oversized member, a
 * duplicate name — is GB_STATUS_BAD_FILE naming the file and the member;
 * .npy content glassbox does not read is GB_STATUS_UNSUPPORTED as for
 * gb_npy_load. Member sizes are checked before anything is allocated. */
gb_status gb_npz_load(const char *path, gb_tensor_map **out, gb_error *err);
/* Writes every tensor of map as NAME.npy, stored uncompressed like
 * np.savez, with fixed timestamps so equal maps give equal bytes. Writes
 * atomically (temporary file renamed into place). */
gb_status gb_npz_save(const char *path, const gb_tensor_map *map, gb_error *err);

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct gb_model gb_model;

/* Declared type and shape of a graph input, output or value. Borrowed from
 * the model; valid until gb_model_free. dims[i] == -1 means dynamic. */
typedef struct gb_value_info {
	const char *name;
	gb_dtype dtype;
	int ndim; /* -1 when the rank is unknown */
	const int64_t *dims;
} gb_value_info;

/* Loads an ONNX model. Every op is checked against glassbox's op table:
 * an op outside it gives GB_STATUS_UNSUPPORTED with
 * "unsupported op X (node NAME) in FILE". */
gb_status gb_model_load(const char *path, gb_model **out, gb_error *err);
/* The same from memory; label names the source in messages. */
gb_status gb_model_load_buffer(const void *buf, size_t len, const char *label, gb_model **out, gb_error *err);
/* Writes the model as ONNX (atomically). Loading the result gives back the
 * same graph, attributes and weights bit for bit. */
gb_status gb_model_save(const gb_model *model, const char *path, gb_error *err);
void gb_model_free(gb_model *model);

int gb_model_n_inputs(const gb_model *model);  /* graph inputs that are not weights */
int gb_model_n_outputs(const gb_model *model);
void gb_model_input(const gb_model *model, int i, gb_value_info *info);
void gb_model_output(const gb_model *model, int i, gb_value_info *info);
/* Index of the input or output with that name, or -1. */
int gb_model_find_input(const gb_model *model, const char *name);
int gb_model_n_nodes(const gb_model *model);
/* Borrowed strings, valid until gb_model_free. */
const char *gb_model_node_name(const gb_model *model, int i);
const char *gb_model_node_op(const gb_model *model, int i);
/* Name of output k of node i, or NULL when k is out of range. */
const char *gb_model_node_output(const gb_model *model, int i, int k);
/* Node index by name, or -1. */
int gb_model_find_node(const gb_model *model, const char *name);
/* Total number of elements in floating-point initializers (the weights). */
int64_t gb_model_param_count(const gb_model *model);
int64_t gb_model_opset(const gb_model *model);
/* Weights: the named initializers (borrowed, valid until gb_model_free). */
int gb_model_n_params(const gb_model *model);
const char *gb_model_param_name(const gb_model *model, int i);
const gb_tensor *gb_model_param(const gb_model *model, int i);

/* ------------------------------------------------------------------------ */
/* Sessions: forward, activation cache, interventions, backward             */
/* ------------------------------------------------------------------------ */

typedef struct gb_session gb_session;

/* A session runs one model; several sessions may share a model (the model
 * must outlive them). */
gb_status gb_session_new(const gb_model *model, gb_session **out, gb_error *err);
void gb_session_free(gb_session *s);

/* Copies x in as input i. Its dtype and rank must match the declaration and
 * every non-dynamic dim must match: otherwise GB_STATUS_BAD_FILE with a
 * message naming the input, the expected and the given shape. */
gb_status gb_session_set_input(gb_session *s, int i, const gb_tensor *x, gb_error *err);

/* Runs the graph. All values are kept until the next forward, so any of them
 * can be read with gb_session_value and backward can follow. */
gb_status gb_session_forward(gb_session *s, gb_error *err);

/* Borrowed; valid until the next gb_session_forward or gb_session_free.
 * NULL before a forward pass or for an unknown index/name. */
const gb_tensor *gb_session_output(const gb_session *s, int i);
/* Any value by name: a graph value name, or a node name (its first output). */
const gb_tensor *gb_session_value(const gb_session *s, const char *name);

/* Resolves a user-facing name (value name, or node name meaning that node's
 * first output) to the value's canonical name; NULL if unknown. Borrowed
 * from the model. */
const char *gb_session_resolve(const gb_session *s, const char *name);

/* Activation cache: after each forward pass, a copy of the named value is
 * stored in cache under the canonical value name. The cache is borrowed and
 * must outlive the session or a gb_session_clear_hooks call. */
gb_status gb_session_capture(gb_session *s, const char *name, gb_tensor_map *cache, gb_error *err);

typedef enum gb_intervention {
	GB_INTERVENE_ZERO = 0, /* unit := 0 */
	GB_INTERVENE_SCALE,    /* unit := value * unit */
	GB_INTERVENE_SET,      /* unit := value */
	GB_INTERVENE_PATCH     /* unit := source[same position]; source from another run's cache */
} gb_intervention;

/* Changes chosen units of a value during every forward pass, right after the
 * node that produces it, before any consumer reads it. A unit is an index
 * along axis 1 (the feature or channel axis) and covers every batch element
 * and every position of the remaining axes; units == NULL with n_units == 0
 * means all units. For PATCH, source has the value's full shape (or the same
 * shape without the batch dimension, then it is applied to every batch
 * element); it is copied. Backward treats the change as part of the
 * function: zeroed, set and patched units pass no gradient, scaled ones pass
 * it scaled. Several interventions on one value apply in the order added.
 * Units out of range give GB_STATUS_USAGE at forward time. */
gb_status gb_session_intervene(gb_session *s, const char *name, gb_intervention kind, const int64_t *units,
                               int n_units, float value, const gb_tensor *source, gb_error *err);
/* Removes all captures and interventions. */
void gb_session_clear_hooks(gb_session *s);

/* Reverse-mode pass after a forward pass. cotangents[i] is the gradient
 * seed for output i (same shape as that output) or NULL for zero; cotangents
 * itself may be NULL for "all zero but output 0 = ones". Gradients are then
 * available for the inputs, every float intermediate value and every float
 * weight. */
gb_status gb_session_backward(gb_session *s, const gb_tensor *const *cotangents, gb_error *err);
/* d(sum(seed ⊙ outputs)) / d(value), same shape as the value; NULL when no
 * gradient reaches it (or it is not a float value). Borrowed; valid until
 * the next forward or backward. name as for gb_session_value, or a weight. */
const gb_tensor *gb_session_grad(const gb_session *s, const char *name);
const gb_tensor *gb_session_input_grad(const gb_session *s, int i);
/* Whether backward computes gradients for the graph inputs and the values
 * that depend on them alone (default: yes). Training needs only the weights'
 * gradients and turns this off to skip that work; gb_session_input_grad then
 * returns NULL. */
void gb_session_want_input_grads(gb_session *s, int enabled);

/* ------------------------------------------------------------------------ */
/* Ops                                                                      */
/* ------------------------------------------------------------------------ */

/* Number of ONNX ops glassbox executes and differentiates, and their names
 * (static strings). */
int gb_op_count(void);
const char *gb_op_name(int i);

#ifdef __cplusplus
}
#endif

#endif /* GLASSBOX_H */
