/*
 * safetensors.c — the safetensors format (huggingface/safetensors).
 *
 * A file is
 *
 *     N            u64 LE, the header length
 *     header       N bytes of UTF-8 JSON, possibly padded with spaces:
 *                  {"__metadata__": {"k": "v"},
 *                   "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, …}
 *     data         the rest of the file; data_offsets [begin, end) are
 *                  relative to its start
 *
 * The checks follow the format's reference implementation: the header is at
 * most 100 MB and fits in the file; each tensor's offsets lie in the data
 * section and span exactly numel * itemsize bytes (checked arithmetic); and
 * the tensors, sorted by offset, cover the data section exactly, with no
 * overlap and no hole ("the byte buffer needs to be entirely indexed, and
 * cannot contain holes", which rules out polyglot files). Duplicate names,
 * unknown keys in a tensor entry and non-integer numbers are refused too.
 * "__metadata__" is allowed and ignored. Dtypes other than F32 F64 I64 I32
 * U8 BOOL are GB_STATUS_UNSUPPORTED.
 *
 * JSON numbers go through cJSON's double, so shapes and offsets are limited
 * to 2^53 (a 9 PB file), far beyond anything the size checks let through.
 *
 * gb_safetensors_load streams: it reads the header, validates the whole
 * layout against the file size, then reads one tensor at a time, so nothing
 * is allocated on the header's word alone. gb_safetensors_parse does the
 * same from a buffer (for the fuzz target).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/core.h"
#include "io/reader.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c copies little-endian data without swapping; port it before building on a big-endian host"
#endif

#define ST_MAX_HEADER ((uint64_t)100000000) /* the reference implementation's limit */
#define ST_MAX_INT 9007199254740992.0       /* 2^53: every integer up to it is exact in a double */
#define ST_SUPPORTED "F32 F64 I64 I32 U8 BOOL"

static const struct {
	const char *name;
	gb_dtype dtype;
} st_dtypes[] = {
	{"F32", GB_DTYPE_F32}, {"F64", GB_DTYPE_F64}, {"I64", GB_DTYPE_I64},
	{"I32", GB_DTYPE_I32}, {"U8", GB_DTYPE_U8},   {"BOOL", GB_DTYPE_BOOL},
};

/* One tensor as the header declares it, after validation. */
typedef struct st_entry {
	const char *name; /* borrowed from the cJSON tree */
	gb_dtype dtype;
	int ndim;
	int64_t dims[GB_MAX_DIMS];
	uint64_t begin, end; /* relative to the data section */
	size_t index;        /* position in the header, to keep sorting stable */
} st_entry;

typedef struct st_header {
	cJSON *json;
	st_entry *entries;
	size_t count;
} st_header;

static void st_header_free(st_header *h)
{
	cJSON_Delete(h->json);
	free(h->entries);
	h->json = NULL;
	h->entries = NULL;
	h->count = 0;
}

/* A JSON number holding a non-negative integer no larger than 2^53. */
static bool json_uint(const cJSON *item, uint64_t *out)
{
	if (!cJSON_IsNumber(item))
		return false;
	double d = item->valuedouble;
	if (!(d >= 0 && d <= ST_MAX_INT) || d != (double)(uint64_t)d)
		return false;
	*out = (uint64_t)d;
	return true;
}

/* For messages: the tensor name made printable. */
#define NAME(e) gb_reader_quote((e), strlen(e), (char[64]){0}, 64)

/* ---- header ------------------------------------------------------------------ */

static gb_status st_parse_entry(const char *label, const cJSON *item, uint64_t data_size, st_entry *e, gb_error *err)
{
	const char *name = item->string;
	e->name = name;
	if (!cJSON_IsObject(item))
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensor '%s': entry is not a JSON object", label, NAME(name));
	const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
	for (const cJSON *field = item->child; field; field = field->next) {
		const cJSON **slot = strcmp(field->string, "dtype") == 0          ? &dtype
		                     : strcmp(field->string, "shape") == 0        ? &shape
		                     : strcmp(field->string, "data_offsets") == 0 ? &offsets
		                                                                  : NULL;
		if (!slot)
			return gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensor '%s': unexpected key '%s'", label, NAME(name),
			               NAME(field->string));
		if (*slot)
			return gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensor '%s': key '%s' appears twice", label, NAME(name),
			               field->string);
		*slot = field;
	}
	if (!dtype || !shape || !offsets)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensor '%s': key '%s' is missing", label, NAME(name),
		               !dtype ? "dtype" : !shape ? "shape" : "data_offsets");

	if (!cJSON_IsString(dtype))
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensor '%s': dtype is not a string", label, NAME(name));
	int found = -1;
	for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
		if (strcmp(dtype->valuestring, st_dtypes[i].name) == 0)
			found = (int)i;
	if (found < 0)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: tensor '%s': dtype %s is not supported (glassbox reads %s)",
		               label, NAME(name), NAME(dtype->valuestring), ST_SUPPORTED);
	e->dtype = st_dtypes[found].dtype;

	if (!cJSON_IsArray(shape))
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensor '%s': shape is not a JSON array", label, NAME(name));
	int ndim = cJSON_GetArraySize(shape);
	if (ndim > GB_MAX_DIMS)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: tensor '%s' has %d dimensions, more than the %d glassbox supports",
		               label, NAME(name), ndim, GB_MAX_DIMS);
	e->ndim = 0;
	for (const cJSON *dim = shape->child; dim; dim = dim->next) {
		uint64_t v;
		if (!json_uint(dim, &v))
			return gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensor '%s': dimension %d is not an integer in 0..2^53",
			               label, NAME(name), e->ndim);
		e->dims[e->ndim++] = (int64_t)v;
	}

	if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 || !json_uint(offsets->child, &e->begin) ||
	    !json_uint(offsets->child->next, &e->end))
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensor '%s': data_offsets is not a pair of integers in 0..2^53",
		               label, NAME(name));
	if (e->begin > e->end || e->end > data_size)
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "%s: tensor '%s': data_offsets [%llu, %llu) do not lie within the data section of %llu bytes",
		               label, NAME(name), (unsigned long long)e->begin, (unsigned long long)e->end,
		               (unsigned long long)data_size);

	char shape_text[160];
	gb_shape_str(e->ndim, e->dims, shape_text, sizeof shape_text);
	size_t bytes;
	int64_t numel;
	if (!gb_shape_bytes(e->dtype, e->ndim, e->dims, &bytes) || gb_shape_numel(e->ndim, e->dims, &numel, NULL))
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensor '%s': shape %s of %s is too large to address", label,
		               NAME(name), shape_text, gb_dtype_name(e->dtype));
	if ((uint64_t)bytes != e->end - e->begin)
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "%s: tensor '%s': shape %s of %s needs %zu bytes, its data_offsets span %llu", label,
		               NAME(name), shape_text, gb_dtype_name(e->dtype), bytes,
		               (unsigned long long)(e->end - e->begin));
	return GB_OK;
}

static int compare_by_name(const void *a, const void *b)
{
	return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

static int compare_by_offset(const void *a, const void *b)
{
	const st_entry *x = a, *y = b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Parses and validates the header (text[len] must be '\0') against a data
 * section of data_size bytes. On success h->entries is sorted by offset and
 * tiles [0, data_size) exactly. */
static gb_status st_parse_header(const char *label, const char *text, size_t len, uint64_t data_size, st_header *h,
                                 gb_error *err)
{
	memset(h, 0, sizeof *h);
	gb_status st;
	/* JSON allows no raw control characters but tab, CR and LF; cJSON would
	 * take any of them (NUL included) for whitespace. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
			return gb_fail(err, GB_STATUS_BAD_FILE, "%s: header is not valid JSON (control byte 0x%02x at byte %zu)",
			               label, (unsigned)(unsigned char)text[i], i);
	const char *end = NULL;
	h->json = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!h->json) {
		size_t at = (end && end >= text && end <= text + len) ? (size_t)(end - text) : 0;
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: header is not valid JSON (error near byte %zu of the header)",
		               label, at);
	}
	for (const char *p = end; p < text + len; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: header has bytes after its JSON value (at byte %zu)", label,
			             (size_t)(p - text));
			goto fail;
		}
	}
	if (!cJSON_IsObject(h->json)) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: header is not a JSON object", label);
		goto fail;
	}

	size_t n = 0;
	for (const cJSON *item = h->json->child; item; item = item->next)
		n++;
	h->entries = calloc(n ? n : 1, sizeof *h->entries);
	if (!h->entries) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory for %zu header entries", label, n);
		goto fail;
	}
	for (const cJSON *item = h->json->child; item; item = item->next) {
		if (strcmp(item->string, "__metadata__") == 0) {
			if (!cJSON_IsObject(item)) {
				st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: __metadata__ is not a JSON object", label);
				goto fail;
			}
			continue;
		}
		st_entry *e = &h->entries[h->count];
		e->index = h->count;
		if ((st = st_parse_entry(label, item, data_size, e, err)) != GB_OK)
			goto fail;
		h->count++;
	}

	/* JSON allows repeated keys and cJSON keeps them; which one is meant is
	 * anyone's guess, so they are refused. */
	qsort(h->entries, h->count, sizeof *h->entries, compare_by_name);
	for (size_t i = 1; i < h->count; i++) {
		if (strcmp(h->entries[i - 1].name, h->entries[i].name) == 0) {
			st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensor '%s' appears twice in the header", label,
			             NAME(h->entries[i].name));
			goto fail;
		}
	}

	qsort(h->entries, h->count, sizeof *h->entries, compare_by_offset);
	uint64_t covered = 0;
	for (size_t i = 0; i < h->count; i++) {
		const st_entry *e = &h->entries[i];
		if (e->begin < covered) {
			st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensors '%s' and '%s' overlap (data_offsets %llu < %llu)", label,
			             NAME(h->entries[i - 1].name), NAME(e->name), (unsigned long long)e->begin,
			             (unsigned long long)covered);
			goto fail;
		}
		if (e->begin > covered) {
			st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: bytes [%llu, %llu) of the data section belong to no tensor",
			             label, (unsigned long long)covered, (unsigned long long)e->begin);
			goto fail;
		}
		covered = e->end;
	}
	if (covered != data_size) {
		st = gb_fail(err, GB_STATUS_BAD_FILE,
		             "%s: the data section holds %llu bytes, the tensors in the header cover only %llu", label,
		             (unsigned long long)data_size, (unsigned long long)covered);
		goto fail;
	}
	return GB_OK;

fail:
	st_header_free(h);
	return st;
}

/* The header length must fit in what follows it (avail bytes) and in the
 * format's limit. */
static gb_status st_check_header_len(const char *label, uint64_t header_len, uint64_t avail, gb_error *err)
{
	if (header_len > avail)
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "%s: header length %llu runs past the end of the file (%llu bytes follow it)", label,
		               (unsigned long long)header_len, (unsigned long long)avail);
	if (header_len > ST_MAX_HEADER)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: header length %llu is over the limit of %llu bytes", label,
		               (unsigned long long)header_len, (unsigned long long)ST_MAX_HEADER);
	return GB_OK;
}

/* Checks bool bytes are 0 or 1 and stores a copy of t in map. */
static gb_status st_store(const char *label, gb_tensor_map *map, const st_entry *e, const gb_tensor *t, gb_error *err)
{
	if (t->dtype == GB_DTYPE_BOOL) {
		const uint8_t *b = t->data;
		for (uint64_t i = 0; i < e->end - e->begin; i++)
			if (b[i] > 1)
				return gb_fail(err, GB_STATUS_BAD_FILE, "%s: tensor '%s': bool element %llu is %u, not 0 or 1", label,
				               NAME(e->name), (unsigned long long)i, b[i]);
	}
	if (gb_tensor_map_put(map, e->name, t, NULL) != GB_OK)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory storing tensor '%s' (%llu bytes)", label,
		               NAME(e->name), (unsigned long long)(e->end - e->begin));
	return GB_OK;
}

/* ---- load ------------------------------------------------------------------ */

gb_status gb_safetensors_parse(const void *buf, size_t len, const char *label, gb_tensor_map **out, gb_error *err)
{
	*out = NULL;
	gb_status st;
	gb_tensor_map *map = NULL;
	char *text = NULL;
	st_header h = {0};
	gb_reader r;
	gb_reader_init(&r, buf, len, label);
	uint64_t header_len;
	const uint8_t *header;
	if ((st = gb_reader_u64le(&r, "the header length", &header_len, err)) != GB_OK)
		return st;
	if ((st = st_check_header_len(label, header_len, r.left, err)) != GB_OK)
		return st;
	if ((st = gb_reader_take(&r, (size_t)header_len, "the header", &header, err)) != GB_OK)
		return st;
	/* cJSON gets its own NUL-terminated copy, so no parser path can read
	 * past the header. */
	text = malloc((size_t)header_len + 1);
	if (!text)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: cannot allocate %llu bytes for the header", label,
		               (unsigned long long)header_len);
	memcpy(text, header, (size_t)header_len);
	text[header_len] = '\0';
	if ((st = st_parse_header(label, text, (size_t)header_len, r.left, &h, err)) != GB_OK)
		goto fail;
	if ((st = gb_tensor_map_new(&map, NULL)) != GB_OK) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", label);
		goto fail;
	}
	for (size_t i = 0; i < h.count; i++) {
		const st_entry *e = &h.entries[i];
		gb_tensor view = {.dtype = e->dtype, .ndim = e->ndim, .data = (void *)(r.p + e->begin)};
		memcpy(view.dims, e->dims, sizeof view.dims);
		if ((st = st_store(label, map, e, &view, err)) != GB_OK)
			goto fail;
	}
	st_header_free(&h);
	free(text);
	*out = map;
	return GB_OK;

fail:
	gb_tensor_map_free(map);
	st_header_free(&h);
	free(text);
	return st;
}

static gb_status read_exact(FILE *fp, void *dst, size_t n, const char *path, const char *what, gb_error *err)
{
	if (n == 0 || fread(dst, 1, n, fp) == n)
		return GB_OK;
	if (ferror(fp))
		return gb_fail(err, GB_STATUS_IO, "%s: cannot read %s: %s", path, what, strerror(errno));
	return gb_fail(err, GB_STATUS_IO, "%s: cannot read %s: the file ended early (did it change while being read?)",
	               path, what);
}

gb_status gb_safetensors_load(const char *path, gb_tensor_map **out, gb_error *err)
{
	*out = NULL;
	gb_status st;
	gb_tensor_map *map = NULL;
	gb_tensor *t = NULL;
	char *text = NULL;
	st_header h = {0};
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: cannot open: %s", path, strerror(errno));
	struct stat sb;
	if (fstat(fileno(fp), &sb) != 0) {
		st = gb_fail(err, GB_STATUS_IO, "%s: cannot stat: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: not a regular file", path);
		goto fail;
	}
	uint64_t file_size = (uint64_t)sb.st_size;
	if (file_size < 8) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: truncated: the header length needs 8 bytes, %llu left", path,
		             (unsigned long long)file_size);
		goto fail;
	}
	uint8_t len_bytes[8];
	if ((st = read_exact(fp, len_bytes, 8, path, "the header length", err)) != GB_OK)
		goto fail;
	gb_reader r;
	gb_reader_init(&r, len_bytes, 8, path);
	uint64_t header_len;
	gb_reader_u64le(&r, "the header length", &header_len, NULL);
	if ((st = st_check_header_len(path, header_len, file_size - 8, err)) != GB_OK)
		goto fail;
	text = malloc((size_t)header_len + 1);
	if (!text) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: cannot allocate %llu bytes for the header", path,
		             (unsigned long long)header_len);
		goto fail;
	}
	if ((st = read_exact(fp, text, (size_t)header_len, path, "the header", err)) != GB_OK)
		goto fail;
	text[header_len] = '\0';
	if ((st = st_parse_header(path, text, (size_t)header_len, file_size - 8 - header_len, &h, err)) != GB_OK)
		goto fail;

	/* The entries tile the data section in file order: read them in turn. */
	if (gb_tensor_map_new(&map, NULL) != GB_OK) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", path);
		goto fail;
	}
	for (size_t i = 0; i < h.count; i++) {
		const st_entry *e = &h.entries[i];
		if (gb_tensor_new(e->dtype, e->ndim, e->dims, &t, NULL) != GB_OK) {
			st = gb_fail(err, GB_STATUS_NOMEM, "%s: cannot allocate %llu bytes for tensor '%s'", path,
			             (unsigned long long)(e->end - e->begin), NAME(e->name));
			goto fail;
		}
		char what[96];
		snprintf(what, sizeof what, "tensor '%s'", NAME(e->name));
		if ((st = read_exact(fp, t->data, (size_t)(e->end - e->begin), path, what, err)) != GB_OK)
			goto fail;
		if ((st = st_store(path, map, e, t, err)) != GB_OK)
			goto fail;
		gb_tensor_free(t);
		t = NULL;
	}
	st_header_free(&h);
	free(text);
	fclose(fp);
	*out = map;
	return GB_OK;

fail:
	gb_tensor_free(t);
	gb_tensor_map_free(map);
	st_header_free(&h);
	free(text);
	fclose(fp);
	return st;
}

/* ---- save ------------------------------------------------------------------ */

/* Adds an integer to a JSON array as raw text, so it prints exactly
 * (cJSON's numbers are doubles). */
static bool add_int(cJSON *array, unsigned long long v)
{
	char text[24];
	snprintf(text, sizeof text, "%llu", v);
	cJSON *item = cJSON_CreateRaw(text);
	return item && cJSON_AddItemToArray(array, item);
}

gb_status gb_safetensors_save(const char *path, const gb_tensor_map *map, gb_error *err)
{
	gb_status st;
	char *text = NULL;
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", path);
	int n = gb_tensor_map_count(map);
	uint64_t offset = 0;
	for (int i = 0; i < n; i++) {
		const char *name = gb_tensor_map_name(map, i);
		const gb_tensor *t = gb_tensor_map_at(map, i);
		if (strcmp(name, "__metadata__") == 0) {
			st = gb_fail(err, GB_STATUS_USAGE, "%s: a tensor may not be named __metadata__ in a safetensors file", path);
			goto fail;
		}
		const char *dtype = NULL;
		for (size_t k = 0; k < sizeof st_dtypes / sizeof st_dtypes[0]; k++)
			if (st_dtypes[k].dtype == t->dtype)
				dtype = st_dtypes[k].name;
		size_t bytes;
		if (!dtype || !gb_shape_bytes(t->dtype, t->ndim, t->dims, &bytes)) {
			st = gb_fail(err, GB_STATUS_USAGE, "%s: tensor '%s' has an invalid dtype or shape", path, NAME(name));
			goto fail;
		}
		cJSON *entry = cJSON_CreateObject();
		if (!entry || !cJSON_AddItemToObject(root, name, entry)) {
			cJSON_Delete(entry);
			goto nomem;
		}
		cJSON *shape = cJSON_CreateArray(), *offsets = cJSON_CreateArray();
		bool ok = cJSON_AddStringToObject(entry, "dtype", dtype) != NULL;
		ok = ok && shape && cJSON_AddItemToObject(entry, "shape", shape);
		if (!ok || !offsets || !cJSON_AddItemToObject(entry, "data_offsets", offsets)) {
			if (!ok)
				cJSON_Delete(shape);
			cJSON_Delete(offsets);
			goto nomem;
		}
		for (int d = 0; d < t->ndim && ok; d++)
			ok = add_int(shape, (unsigned long long)t->dims[d]);
		ok = ok && add_int(offsets, offset) && add_int(offsets, offset + bytes);
		if (!ok)
			goto nomem;
		offset += bytes;
	}
	text = cJSON_PrintUnformatted(root);
	if (!text)
		goto nomem;
	size_t len = strlen(text);
	size_t pad = (8 - len % 8) % 8;
	uint64_t header_len = len + pad;
	uint8_t len_bytes[8];
	for (int k = 0; k < 8; k++)
		len_bytes[k] = (uint8_t)(header_len >> (8 * k));

	gb_atomic_file f;
	if ((st = gb_atomic_open(&f, path, err)) != GB_OK)
		goto fail;
	bool ok = fwrite(len_bytes, 1, 8, f.fp) == 8 && fwrite(text, 1, len, f.fp) == len &&
	          fwrite("       ", 1, pad, f.fp) == pad;
	for (int i = 0; i < n && ok; i++) {
		const gb_tensor *t = gb_tensor_map_at(map, i);
		size_t bytes = 0;
		gb_shape_bytes(t->dtype, t->ndim, t->dims, &bytes);
		ok = bytes == 0 || fwrite(t->data, 1, bytes, f.fp) == bytes;
	}
	if (!ok) {
		int e = errno;
		gb_atomic_abort(&f);
		st = gb_fail(err, GB_STATUS_IO, "%s: write failed: %s", path, strerror(e));
		goto fail;
	}
	st = gb_atomic_commit(&f, err);
	cJSON_free(text);
	cJSON_Delete(root);
	return st;

nomem:
	st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory building the header", path);
fail:
	cJSON_free(text);
	cJSON_Delete(root);
	return st;
}
