/*
 * model.c — loading and saving models: decode the file (io/onnx), then bind
 * every node to its op (prepare.c).
 */
#include <stdlib.h>
#include <string.h>

#include "../io/io.h"
#include "ops.h"

gb_status gb_model_load_buffer(const void *buf, size_t len, const char *label, gb_model **out, gb_error *err)
{
	*out = NULL;
	gb_model *m;
	gb_status st = gb_onnx_import(buf, len, label, &m, err);
	if (st != GB_OK)
		return st;
	st = gb_model_prepare(m, err);
	if (st != GB_OK) {
		gb_model_free(m);
		return st;
	}
	*out = m;
	return GB_OK;
}

gb_status gb_model_load(const char *path, gb_model **out, gb_error *err)
{
	*out = NULL;
	uint8_t *buf;
	size_t len;
	gb_status st = gb_file_read(path, GB_MAX_FILE_BYTES, &buf, &len, err);
	if (st != GB_OK)
		return st;
	st = gb_model_load_buffer(buf, len, path, out, err);
	free(buf);
	return st;
}

gb_status gb_model_save(const gb_model *m, const char *path, gb_error *err)
{
	return gb_onnx_export(m, path, err);
}
