/*
 * tensor_proto.c — ONNX TensorProto <-> gb_tensor: the element-type table,
 * the checked decoder the importer uses for initializers and tensor
 * attributes, the encoder the exporter uses, and gb_tensor_proto_load, the
 * reader for the serialized tensors (.pb) of ONNX's conformance tests.
 *
 * Payloads are little-endian in the file and glassbox runs on little-endian
 * machines, so raw_data is used as is.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "glassbox reads ONNX raw_data as little-endian and needs a little-endian machine"
#endif

/* ---- element types ------------------------------------------------------- */

bool gb_onnx_dtype(int32_t elem_type, gb_dtype *out)
{
	switch (elem_type) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: *out = GB_DTYPE_F32; return true;
	case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: *out = GB_DTYPE_F64; return true;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: *out = GB_DTYPE_I64; return true;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: *out = GB_DTYPE_I32; return true;
	case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: *out = GB_DTYPE_U8; return true;
	case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: *out = GB_DTYPE_BOOL; return true;
	default: return false;
	}
}

int32_t gb_onnx_elem_type(gb_dtype dtype)
{
	switch (dtype) {
	case GB_DTYPE_F32: return ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	case GB_DTYPE_F64: return ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
	case GB_DTYPE_I64: return ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	case GB_DTYPE_I32: return ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
	case GB_DTYPE_U8: return ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
	case GB_DTYPE_BOOL: return ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
	case GB_DTYPE_COUNT: break;
	}
	GB_ASSERT(!"invalid dtype");
	return 0;
}

const char *gb_onnx_type_name(int32_t elem_type)
{
	/* Indexed by TensorProto.DataType, including the types newer ONNX
	 * releases added after the onnx.proto glassbox is built against. */
	static const char *const names[] = {
	    "undefined", "float32",  "uint8",         "int8",           "uint16",         "int16",
	    "int32",     "int64",    "string",        "bool",           "float16",        "float64",
	    "uint32",    "uint64",   "complex64",     "complex128",     "bfloat16",       "float8e4m3fn",
	    "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "uint4", "int4", "float4e2m1",
	};
	if (elem_type >= 0 && elem_type < (int32_t)(sizeof names / sizeof names[0]))
		return names[elem_type];
	return "unknown";
}

/* ---- decoding -------------------------------------------------------------- */

/* Checks that a payload of `have` elements matches the `want` the dims declare. */
static gb_status check_count(const char *label, const char *what, const gb_tensor *t, int64_t want, size_t have,
                             const char *field, gb_error *err)
{
	if ((uint64_t)want == (uint64_t)have)
		return GB_OK;
	char shape[160];
	return gb_fail(err, GB_STATUS_BAD_FILE, "%s: %s declares %lld elements (shape %s) but its %s holds %zu", label,
	               what, (long long)want, gb_shape_str(t->ndim, t->dims, shape, sizeof shape), field, have);
}

gb_status gb_tensor_proto_view(const Onnx__TensorProto *tp, gb_arena *scratch, const char *label, const char *what,
                               gb_tensor *t, gb_error *err)
{
	static unsigned char empty[8]; /* data of tensors with no elements (never written) */
	memset(t, 0, sizeof *t);
	if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: %s uses external data, which glassbox does not load", label,
		               what);
	int32_t elem_type = tp->has_data_type ? tp->data_type : 0;
	if (!gb_onnx_dtype(elem_type, &t->dtype))
		return gb_fail(err, GB_STATUS_UNSUPPORTED,
		               "%s: %s has element type %s (%d), which glassbox does not support (float32, float64, "
		               "int64, int32, uint8, bool)",
		               label, what, gb_onnx_type_name(elem_type), (int)elem_type);
	if (tp->segment)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: %s is split into segments, which glassbox does not support",
		               label, what);
	if (tp->n_dims > GB_MAX_DIMS)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: %s has rank %zu; glassbox supports at most %d dimensions",
		               label, what, tp->n_dims, GB_MAX_DIMS);
	t->ndim = (int)tp->n_dims;
	for (int i = 0; i < t->ndim; i++)
		t->dims[i] = tp->dims[i];
	int64_t numel;
	if (gb_shape_numel(t->ndim, t->dims, &numel, err) != GB_OK) {
		char prefix[512];
		snprintf(prefix, sizeof prefix, "%s: %s", label, what);
		gb_error_prefix(err, prefix);
		return GB_STATUS_BAD_FILE;
	}
	size_t elem = gb_dtype_size(t->dtype);
	t->data = empty;

	if (tp->has_raw_data) {
		size_t len = tp->raw_data.len;
		if (len % elem != 0 || (uint64_t)(len / elem) != (uint64_t)numel) {
			char shape[160];
			return gb_fail(err, GB_STATUS_BAD_FILE,
			               "%s: %s declares %lld elements of %s (shape %s) but its raw_data holds %zu bytes", label,
			               what, (long long)numel, gb_dtype_name(t->dtype),
			               gb_shape_str(t->ndim, t->dims, shape, sizeof shape), len);
		}
		if (numel == 0)
			return GB_OK;
		if (t->dtype != GB_DTYPE_BOOL) {
			t->data = tp->raw_data.data;
			return GB_OK;
		}
		/* Bools are one byte, 0 or 1 in glassbox: normalise other non-zero bytes. */
		unsigned char *b = gb_arena_alloc(scratch, len);
		if (!b)
			return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory for %s", label, what);
		for (size_t i = 0; i < len; i++)
			b[i] = tp->raw_data.data[i] != 0;
		t->data = b;
		return GB_OK;
	}

	gb_status st;
	switch (t->dtype) {
	case GB_DTYPE_F32:
		st = check_count(label, what, t, numel, tp->n_float_data, "float_data", err);
		if (st == GB_OK && numel)
			t->data = tp->float_data;
		return st;
	case GB_DTYPE_F64:
		st = check_count(label, what, t, numel, tp->n_double_data, "double_data", err);
		if (st == GB_OK && numel)
			t->data = tp->double_data;
		return st;
	case GB_DTYPE_I64:
		st = check_count(label, what, t, numel, tp->n_int64_data, "int64_data", err);
		if (st == GB_OK && numel)
			t->data = tp->int64_data;
		return st;
	case GB_DTYPE_I32:
		st = check_count(label, what, t, numel, tp->n_int32_data, "int32_data", err);
		if (st == GB_OK && numel)
			t->data = tp->int32_data;
		return st;
	case GB_DTYPE_U8:
	case GB_DTYPE_BOOL: {
		/* Both travel one element per int32 in int32_data. */
		st = check_count(label, what, t, numel, tp->n_int32_data, "int32_data", err);
		if (st != GB_OK || numel == 0)
			return st;
		unsigned char *b = gb_arena_alloc(scratch, (size_t)numel);
		if (!b)
			return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory for %s", label, what);
		for (size_t i = 0; i < (size_t)numel; i++) {
			int32_t v = tp->int32_data[i];
			if (t->dtype == GB_DTYPE_BOOL) {
				b[i] = v != 0;
			} else if (v < 0 || v > 255) {
				return gb_fail(err, GB_STATUS_BAD_FILE, "%s: %s holds %d at element %zu, outside uint8", label,
				               what, (int)v, i);
			} else {
				b[i] = (unsigned char)v;
			}
		}
		t->data = b;
		return GB_OK;
	}
	case GB_DTYPE_COUNT: break;
	}
	GB_ASSERT(!"unreachable dtype");
	return GB_STATUS_FAILURE;
}

/* ---- encoding -------------------------------------------------------------- */

void gb_tensor_proto_fill(Onnx__TensorProto *tp, const gb_tensor *t, const char *name)
{
	size_t bytes = 0;
	bool sized = gb_shape_bytes(t->dtype, t->ndim, t->dims, &bytes);
	GB_ASSERT(sized); /* tensors inside a model always have a valid size */
	/* The generated structs are not const-correct; the packer only reads. */
	tp->n_dims = (size_t)t->ndim;
	tp->dims = (int64_t *)t->dims;
	tp->has_data_type = 1;
	tp->data_type = gb_onnx_elem_type(t->dtype);
	tp->name = (char *)name;
	tp->has_raw_data = 1;
	tp->raw_data.len = bytes;
	tp->raw_data.data = bytes ? (uint8_t *)t->data : NULL;
}

/* ---- .pb files ------------------------------------------------------------------ */

gb_status gb_tensor_proto_load(const char *path, gb_tensor **out, gb_error *err)
{
	*out = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	Onnx__TensorProto *tp = NULL;
	gb_arena scratch;
	gb_arena_init(&scratch, 4096);
	gb_status st = gb_file_read(path, GB_MAX_FILE_BYTES, &buf, &len, err);
	if (st != GB_OK)
		goto fail;
	tp = onnx__tensor_proto__unpack(NULL, len, buf);
	if (!tp) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: not a valid ONNX TensorProto (protobuf decoding failed)", path);
		goto fail;
	}
	char what[300];
	if (tp->name && tp->name[0])
		snprintf(what, sizeof what, "tensor '%s'", tp->name);
	else
		snprintf(what, sizeof what, "tensor");
	gb_tensor view;
	st = gb_tensor_proto_view(tp, &scratch, path, what, &view, err);
	if (st != GB_OK)
		goto fail;
	st = gb_tensor_new(view.dtype, view.ndim, view.dims, out, err);
	if (st != GB_OK) {
		gb_error_prefix(err, path);
		goto fail;
	}
	size_t bytes = 0;
	gb_shape_bytes(view.dtype, view.ndim, view.dims, &bytes);
	if (bytes)
		memcpy((*out)->data, view.data, bytes);
fail:
	if (tp)
		onnx__tensor_proto__free_unpacked(tp, NULL);
	free(buf);
	gb_arena_release(&scratch);
	return st;
}
