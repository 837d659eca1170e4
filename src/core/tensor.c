/*
 * tensor.c — dtype facts, shape arithmetic, owned tensors and tensor maps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

size_t gb_dtype_size(gb_dtype dtype)
{
	switch (dtype) {
	case GB_DTYPE_F32: return 4;
	case GB_DTYPE_F64: return 8;
	case GB_DTYPE_I64: return 8;
	case GB_DTYPE_I32: return 4;
	case GB_DTYPE_U8: return 1;
	case GB_DTYPE_BOOL: return 1;
	case GB_DTYPE_COUNT: break;
	}
	return 0;
}

const char *gb_dtype_name(gb_dtype dtype)
{
	switch (dtype) {
	case GB_DTYPE_F32: return "float32";
	case GB_DTYPE_F64: return "float64";
	case GB_DTYPE_I64: return "int64";
	case GB_DTYPE_I32: return "int32";
	case GB_DTYPE_U8: return "uint8";
	case GB_DTYPE_BOOL: return "bool";
	case GB_DTYPE_COUNT: break;
	}
	return "invalid";
}

int64_t gb_tensor_numel(const gb_tensor *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->ndim; i++)
		n *= t->dims[i];
	return n;
}

gb_status gb_shape_numel(int ndim, const int64_t *dims, int64_t *numel, gb_error *err)
{
	if (ndim < 0 || ndim > GB_MAX_DIMS)
		return gb_fail(err, GB_STATUS_BAD_FILE, "rank %d is outside 0..%d", ndim, GB_MAX_DIMS);
	int64_t n = 1;
	for (int i = 0; i < ndim; i++) {
		if (dims[i] < 0)
			return gb_fail(err, GB_STATUS_BAD_FILE, "dimension %d is negative (%lld)", i, (long long)dims[i]);
		if (!gb_mul_i64(n, dims[i], &n) || n > INT64_MAX / 8)
			return gb_fail(err, GB_STATUS_BAD_FILE, "shape %s has more elements than can be addressed",
			               gb_shape_str(ndim, dims, (char[128]){0}, 128));
	}
	*numel = n;
	return GB_OK;
}

bool gb_shape_bytes(gb_dtype dtype, int ndim, const int64_t *dims, size_t *bytes)
{
	size_t n = gb_dtype_size(dtype);
	if (n == 0 || ndim < 0 || ndim > GB_MAX_DIMS)
		return false;
	for (int i = 0; i < ndim; i++) {
		if (dims[i] < 0 || (uint64_t)dims[i] > SIZE_MAX || !gb_mul_size(n, (size_t)dims[i], &n))
			return false;
	}
	*bytes = n;
	return true;
}

char *gb_shape_str(int ndim, const int64_t *dims, char *buf, size_t size)
{
	size_t off = 0;
	if (size == 0)
		return buf;
	buf[0] = '\0';
	off += (size_t)snprintf(buf, size, "[");
	for (int i = 0; i < ndim && off < size; i++) {
		if (dims[i] < 0)
			off += (size_t)snprintf(buf + off, size - off, "%s?", i ? ", " : "");
		else
			off += (size_t)snprintf(buf + off, size - off, "%s%lld", i ? ", " : "", (long long)dims[i]);
	}
	if (off < size)
		snprintf(buf + off, size - off, "]");
	return buf;
}

/* The struct and its data in one allocation; data aligned to 64 bytes. */
#define TENSOR_HEADER ((sizeof(gb_tensor) + 63) & ~(size_t)63)

gb_status gb_tensor_new(gb_dtype dtype, int ndim, const int64_t *dims, gb_tensor **out, gb_error *err)
{
	*out = NULL;
	if (ndim < 0 || ndim > GB_MAX_DIMS)
		return gb_fail(err, GB_STATUS_USAGE, "tensor rank %d is outside 0..%d", ndim, GB_MAX_DIMS);
	if (gb_dtype_size(dtype) == 0)
		return gb_fail(err, GB_STATUS_USAGE, "invalid dtype %d", (int)dtype);
	for (int i = 0; i < ndim; i++)
		if (dims[i] < 0)
			return gb_fail(err, GB_STATUS_USAGE, "tensor dimension %d is negative", i);
	size_t bytes, total;
	if (!gb_shape_bytes(dtype, ndim, dims, &bytes) || !gb_add_size(bytes, TENSOR_HEADER + 63, &total))
		return gb_fail(err, GB_STATUS_NOMEM, "tensor of shape %s is too large",
		               gb_shape_str(ndim, dims, (char[128]){0}, 128));
	total &= ~(size_t)63;
	gb_tensor *t = aligned_alloc(64, total);
	if (!t)
		return gb_fail(err, GB_STATUS_NOMEM, "cannot allocate %zu bytes for a tensor", bytes);
	memset(t, 0, total);
	t->dtype = dtype;
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		t->dims[i] = dims[i];
	t->data = (unsigned char *)t + TENSOR_HEADER;
	*out = t;
	return GB_OK;
}

gb_status gb_tensor_clone(const gb_tensor *src, gb_tensor **out, gb_error *err)
{
	gb_status st = gb_tensor_new(src->dtype, src->ndim, src->dims, out, err);
	if (st != GB_OK)
		return st;
	size_t bytes = 0;
	gb_shape_bytes(src->dtype, src->ndim, src->dims, &bytes);
	if (bytes)
		memcpy((*out)->data, src->data, bytes);
	return GB_OK;
}

void gb_tensor_free(gb_tensor *t)
{
	free(t);
}

/* ---- tensor maps ------------------------------------------------------------ */

struct gb_tensor_map {
	int count, cap;
	char **names;
	gb_tensor **tensors;
};

gb_status gb_tensor_map_new(gb_tensor_map **out, gb_error *err)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	return GB_OK;
}

void gb_tensor_map_free(gb_tensor_map *map)
{
	if (!map)
		return;
	for (int i = 0; i < map->count; i++) {
		free(map->names[i]);
		gb_tensor_free(map->tensors[i]);
	}
	free(map->names);
	free(map->tensors);
	free(map);
}

static int map_find(const gb_tensor_map *map, const char *name)
{
	for (int i = 0; i < map->count; i++)
		if (strcmp(map->names[i], name) == 0)
			return i;
	return -1;
}

gb_status gb_tensor_map_put(gb_tensor_map *map, const char *name, const gb_tensor *t, gb_error *err)
{
	gb_tensor *copy;
	gb_status st = gb_tensor_clone(t, &copy, err);
	if (st != GB_OK)
		return st;
	int i = map_find(map, name);
	if (i >= 0) {
		gb_tensor_free(map->tensors[i]);
		map->tensors[i] = copy;
		return GB_OK;
	}
	if (map->count == map->cap) {
		int cap = map->cap ? map->cap * 2 : 8;
		char **names = realloc(map->names, (size_t)cap * sizeof *names);
		if (names)
			map->names = names;
		gb_tensor **tensors = realloc(map->tensors, (size_t)cap * sizeof *tensors);
		if (tensors)
			map->tensors = tensors;
		if (!names || !tensors) {
			gb_tensor_free(copy);
			return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
		}
		map->cap = cap;
	}
	char *name_copy = gb_strdup(name);
	if (!name_copy) {
		gb_tensor_free(copy);
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory");
	}
	map->names[map->count] = name_copy;
	map->tensors[map->count] = copy;
	map->count++;
	return GB_OK;
}

const gb_tensor *gb_tensor_map_get(const gb_tensor_map *map, const char *name)
{
	int i = map_find(map, name);
	return i < 0 ? NULL : map->tensors[i];
}

int gb_tensor_map_count(const gb_tensor_map *map)
{
	return map->count;
}

const char *gb_tensor_map_name(const gb_tensor_map *map, int i)
{
	return (i >= 0 && i < map->count) ? map->names[i] : NULL;
}

const gb_tensor *gb_tensor_map_at(const gb_tensor_map *map, int i)
{
	return (i >= 0 && i < map->count) ? map->tensors[i] : NULL;
}
