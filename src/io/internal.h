/*
 * internal.h — declarations private to src/io: the bridge between ONNX
 * TensorProto messages (protoc-c generated from onnx.proto) and gb_tensor,
 * shared by the model importer, the exporter and the .pb reader.
 * Nothing outside src/io includes this file.
 */
#ifndef GB_IO_INTERNAL_H
#define GB_IO_INTERNAL_H

#include "io.h"
#include "onnx.pb-c.h"

/* ONNX TensorProto.DataType → gb_dtype; false for element types glassbox
 * does not handle. */
bool gb_onnx_dtype(int32_t elem_type, gb_dtype *out);
/* gb_dtype → ONNX TensorProto.DataType. */
int32_t gb_onnx_elem_type(gb_dtype dtype);
/* "float16", "string", … or "unknown"; for messages. */
const char *gb_onnx_type_name(int32_t elem_type);

/* Decodes tp into *t (dtype, rank, dims, data) after checking everything a
 * file can get wrong: element type (GB_STATUS_UNSUPPORTED), external data,
 * negative or overflowing dims and a payload that does not hold exactly the
 * number of elements the dims declare (GB_STATUS_BAD_FILE). t->data points
 * either into tp (raw_data or a typed field with the same layout) or into
 * memory from scratch, so it is valid while both are. Messages read
 * "LABEL: WHAT …" (e.g. "model.onnx: initializer 'fc.weight' …"). */
gb_status gb_tensor_proto_view(const Onnx__TensorProto *tp, gb_arena *scratch, const char *label, const char *what,
                               gb_tensor *t, gb_error *err);

/* Fills tp (already initialised with ONNX__TENSOR_PROTO__INIT) to describe
 * t with its data as raw_data. Nothing is copied: tp points at t's dims and
 * data (and at name), so it is valid while they are. name may be NULL. */
void gb_tensor_proto_fill(Onnx__TensorProto *tp, const gb_tensor *t, const char *name);

#endif /* GB_IO_INTERNAL_H */
