/*
 * io.h — file formats that build or serialise models: ONNX import/export
 * (protobuf decoding by protoc-c code generated at build time from
 * /usr/include/onnx/onnx.proto) and the TensorProto reader the conformance
 * tests use. .npy and safetensors are public API (glassbox.h).
 */
#ifndef GB_IO_H
#define GB_IO_H

#include "../graph/graph.h"

/* Upper bound on any file glassbox reads whole (models, .npy, .pb). */
#define GB_MAX_FILE_BYTES ((size_t)1 << 34) /* 16 GiB */

/* Decodes an ONNX ModelProto into a graph of raw nodes (op_type strings and
 * verbatim attributes); op semantics are checked later by the executor's
 * gb_model_prepare. label names the source in messages. Rejects
 * external-data initializers, non-float tensor payload mismatches, sizes past
 * the buffer and other malformed input with GB_STATUS_BAD_FILE. */
gb_status gb_onnx_import(const void *buf, size_t len, const char *label, gb_model **out, gb_error *err);

/* Encodes the graph as an ONNX ModelProto and writes it atomically. */
gb_status gb_onnx_export(const gb_model *m, const char *path, gb_error *err);

/* Reads a serialized TensorProto (.pb) into a new tensor. */
gb_status gb_tensor_proto_load(const char *path, gb_tensor **out, gb_error *err);

#endif /* GB_IO_H */
