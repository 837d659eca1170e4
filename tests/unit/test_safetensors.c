/*
 * test_safetensors.c — safetensors load/save: round trips for every dtype
 * and shape kind, a file built by hand from the specification
 * (tests/fixtures/safetensors, made by make_safetensors_fixtures.py), files
 * glassbox wrote checked by an independent Python reader, one test per class
 * of bad input, atomic saves.
 *
 * Run from the repository root (fixture paths are relative to it).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "io/reader.h"

#define FIXTURES "tests/fixtures/safetensors/"

/* ---- helpers --------------------------------------------------------------- */

#include "tmpdir.h"

TestSuite(safetensors, .init = make_tmpdir, .fini = remove_tmpdir);

/* A safetensors image: u64 LE header length, the header text as given, then
 * n data bytes. Returns its length. */
static size_t build_st(uint8_t *buf, size_t cap, const char *header, const void *data, size_t n)
{
	size_t len = strlen(header);
	cr_assert_leq(8 + len + n, cap);
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)((uint64_t)len >> (8 * i));
	memcpy(buf + 8, header, len);
	if (n)
		memcpy(buf + 8 + len, data, n);
	return 8 + len + n;
}

static void assert_names_file(const gb_error *err, const char *path)
{
	cr_assert_eq(strncmp(err->msg, path, strlen(path)), 0, "message does not start with %s: %s", path, err->msg);
}

/* Loads image through a file and through the buffer parser; expects status
 * want and a message containing needle. */
static void expect_bad(const char *name, const void *image, size_t n, gb_status want, const char *needle)
{
	char path[256];
	tmp_path(path, sizeof path, name);
	write_file(path, image, n);
	gb_error err = {0};
	gb_tensor_map *map = (gb_tensor_map *)1;
	gb_status st = gb_safetensors_load(path, &map, &err);
	cr_assert_eq(st, want, "%s: load gave %s, want %s: %s", name, gb_status_name(st), gb_status_name(want), err.msg);
	cr_assert_null(map);
	assert_names_file(&err, path);
	if (needle)
		cr_assert(strstr(err.msg, needle), "%s: message lacks '%s': %s", name, needle, err.msg);

	gb_error err2 = {0};
	map = (gb_tensor_map *)1;
	st = gb_safetensors_parse(image, n, path, &map, &err2);
	cr_assert_eq(st, want, "%s: parse gave %s: %s", name, gb_status_name(st), err2.msg);
	cr_assert_null(map);
	assert_names_file(&err2, path);
	if (needle)
		cr_assert(strstr(err2.msg, needle), "%s: parse message lacks '%s': %s", name, needle, err2.msg);
}

static void expect_bad_header(const char *name, const char *header, const void *data, size_t n, gb_status want,
                              const char *needle)
{
	uint8_t buf[2048];
	size_t len = build_st(buf, sizeof buf, header, data, n);
	expect_bad(name, buf, len, want, needle);
}

static gb_tensor_map *load_ok(const char *path)
{
	gb_error err = {0};
	gb_tensor_map *map = NULL;
	gb_status st = gb_safetensors_load(path, &map, &err);
	cr_assert_eq(st, GB_OK, "%s: %s", path, err.msg);
	cr_assert_not_null(map);
	return map;
}

static void assert_shape(const gb_tensor *t, gb_dtype dtype, int ndim, const int64_t *dims)
{
	cr_assert_not_null(t);
	cr_assert_eq(t->dtype, dtype, "dtype %s, want %s", gb_dtype_name(t->dtype), gb_dtype_name(dtype));
	cr_assert_eq(t->ndim, ndim);
	for (int i = 0; i < ndim; i++)
		cr_assert_eq(t->dims[i], dims[i]);
}

static size_t tensor_bytes(const gb_tensor *t)
{
	size_t bytes = 0;
	cr_assert(gb_shape_bytes(t->dtype, t->ndim, t->dims, &bytes));
	return bytes;
}

static gb_tensor *patterned(gb_dtype dtype, int ndim, const int64_t *dims)
{
	gb_tensor *t = NULL;
	cr_assert_eq(gb_tensor_new(dtype, ndim, dims, &t, NULL), GB_OK);
	int64_t n = gb_tensor_numel(t);
	for (int64_t k = 0; k < n; k++) {
		switch (dtype) {
		case GB_DTYPE_F32: ((float *)t->data)[k] = (float)k * 0.75f - 3.125f; break;
		case GB_DTYPE_F64: ((double *)t->data)[k] = (double)k / 7.0 - 1e10; break;
		case GB_DTYPE_I64: ((int64_t *)t->data)[k] = (k - 3) * 1000000000007LL; break;
		case GB_DTYPE_I32: ((int32_t *)t->data)[k] = (int32_t)(k * 65537 - 100000); break;
		case GB_DTYPE_U8: ((uint8_t *)t->data)[k] = (uint8_t)(k * 37 + 200); break;
		case GB_DTYPE_BOOL: ((uint8_t *)t->data)[k] = (uint8_t)(k % 3 == 1); break;
		default: cr_assert_fail("bad dtype");
		}
	}
	return t;
}

/* ---- round trips ------------------------------------------------------------ */

/* Every dtype in three shapes: a scalar, [0] and [2, 3, 4]; names in an
 * order that is not alphabetical, to see that map order is kept. */
static gb_tensor_map *every_dtype_map(void)
{
	gb_tensor_map *map = NULL;
	cr_assert_eq(gb_tensor_map_new(&map, NULL), GB_OK);
	static const struct {
		int ndim;
		int64_t dims[3];
	} shapes[] = {{3, {2, 3, 4}}, {0, {0}}, {1, {0}}};
	for (int dt = GB_DTYPE_COUNT - 1; dt >= 0; dt--) {
		for (int s = 0; s < 3; s++) {
			char name[64];
			snprintf(name, sizeof name, "%s/%s.%d", s == 1 ? "z" : "a", gb_dtype_name((gb_dtype)dt), s);
			gb_tensor *t = patterned((gb_dtype)dt, shapes[s].ndim, shapes[s].dims);
			cr_assert_eq(gb_tensor_map_put(map, name, t, NULL), GB_OK);
			gb_tensor_free(t);
		}
	}
	return map;
}

static void assert_maps_equal(const gb_tensor_map *a, const gb_tensor_map *b)
{
	cr_assert_eq(gb_tensor_map_count(a), gb_tensor_map_count(b));
	for (int i = 0; i < gb_tensor_map_count(a); i++) {
		cr_assert_str_eq(gb_tensor_map_name(a, i), gb_tensor_map_name(b, i));
		const gb_tensor *x = gb_tensor_map_at(a, i), *y = gb_tensor_map_at(b, i);
		assert_shape(y, x->dtype, x->ndim, x->dims);
		cr_assert_eq(memcmp(x->data, y->data, tensor_bytes(x)), 0, "%s: data differs", gb_tensor_map_name(a, i));
	}
}

Test(safetensors, round_trip_every_dtype_and_shape)
{
	gb_tensor_map *map = every_dtype_map();
	char path[256];
	tmp_path(path, sizeof path, "rt.safetensors");
	gb_error err = {0};
	cr_assert_eq(gb_safetensors_save(path, map, &err), GB_OK, "%s", err.msg);

	/* Header length a multiple of 8, the header a JSON object. */
	FILE *fp = fopen(path, "rb");
	cr_assert_not_null(fp);
	uint8_t head[9];
	cr_assert_eq(fread(head, 1, 9, fp), 9u);
	fclose(fp);
	uint64_t header_len = 0;
	for (int i = 7; i >= 0; i--)
		header_len = header_len << 8 | head[i];
	cr_assert_eq(header_len % 8, 0);
	cr_assert_eq(head[8], '{');

	gb_tensor_map *back = load_ok(path);
	assert_maps_equal(map, back);
	cr_assert_eq(tmpdir_count(), 1);

	/* The buffer parser gives the same. */
	uint8_t *buf;
	size_t len;
	cr_assert_eq(gb_file_read(path, 1 << 20, &buf, &len, NULL), GB_OK);
	gb_tensor_map *parsed = NULL;
	cr_assert_eq(gb_safetensors_parse(buf, len, path, &parsed, &err), GB_OK, "%s", err.msg);
	assert_maps_equal(map, parsed);
	free(buf);
	gb_tensor_map_free(parsed);
	gb_tensor_map_free(back);
	gb_tensor_map_free(map);
}

Test(safetensors, round_trip_empty_map)
{
	gb_tensor_map *map = NULL;
	cr_assert_eq(gb_tensor_map_new(&map, NULL), GB_OK);
	char path[256];
	tmp_path(path, sizeof path, "empty.safetensors");
	cr_assert_eq(gb_safetensors_save(path, map, NULL), GB_OK);
	gb_tensor_map *back = load_ok(path);
	cr_assert_eq(gb_tensor_map_count(back), 0);
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_size, 16); /* 8 + "{}" padded to 8 */
	gb_tensor_map_free(back);
	gb_tensor_map_free(map);
}

/* ---- a file built by hand from the specification ------------------------- */

Test(safetensors, hand_built_fixture)
{
	gb_tensor_map *map = load_ok(FIXTURES "all_dtypes.safetensors");
	/* File order, that is by offset; __metadata__ is not a tensor. */
	static const char *const order[] = {"f32", "f64", "i64", "i32", "u8", "bool", "scalar", "empty"};
	cr_assert_eq(gb_tensor_map_count(map), 8);
	for (int i = 0; i < 8; i++)
		cr_assert_str_eq(gb_tensor_map_name(map, i), order[i]);

	const gb_tensor *t = gb_tensor_map_get(map, "f32");
	assert_shape(t, GB_DTYPE_F32, 3, (int64_t[]){2, 3, 4});
	for (int k = 0; k < 24; k++)
		cr_assert_eq(((float *)t->data)[k], (float)k * 0.5f - 1.0f);
	t = gb_tensor_map_get(map, "f64");
	assert_shape(t, GB_DTYPE_F64, 1, (int64_t[]){5});
	for (int k = 0; k < 5; k++)
		cr_assert_eq(((double *)t->data)[k], (double)k / 3.0);
	t = gb_tensor_map_get(map, "i64");
	assert_shape(t, GB_DTYPE_I64, 1, (int64_t[]){3});
	cr_assert_eq(memcmp(t->data, ((int64_t[]){-(1LL << 62), 1LL << 40, -1}), 24), 0);
	t = gb_tensor_map_get(map, "i32");
	assert_shape(t, GB_DTYPE_I32, 2, (int64_t[]){2, 2});
	cr_assert_eq(memcmp(t->data, ((int32_t[]){INT32_MIN, INT32_MAX, 7, -7}), 16), 0);
	t = gb_tensor_map_get(map, "u8");
	assert_shape(t, GB_DTYPE_U8, 1, (int64_t[]){3});
	cr_assert_eq(memcmp(t->data, ((uint8_t[]){0, 128, 255}), 3), 0);
	t = gb_tensor_map_get(map, "bool");
	assert_shape(t, GB_DTYPE_BOOL, 1, (int64_t[]){4});
	cr_assert_eq(memcmp(t->data, ((uint8_t[]){1, 0, 0, 1}), 4), 0);
	t = gb_tensor_map_get(map, "scalar");
	assert_shape(t, GB_DTYPE_F32, 0, NULL);
	cr_assert_eq(((float *)t->data)[0], 2.5f);
	t = gb_tensor_map_get(map, "empty");
	assert_shape(t, GB_DTYPE_F32, 2, (int64_t[]){0, 3});
	gb_tensor_map_free(map);
}

Test(safetensors, hand_built_unsupported_dtype)
{
	gb_error err = {0};
	gb_tensor_map *map = NULL;
	const char *path = FIXTURES "f16.safetensors";
	cr_assert_eq(gb_safetensors_load(path, &map, &err), GB_STATUS_UNSUPPORTED, "%s", err.msg);
	cr_assert_null(map);
	assert_names_file(&err, path);
	cr_assert(strstr(err.msg, "tensor 'half': dtype F16 is not supported"), "%s", err.msg);
}

/* ---- files glassbox wrote, read by an independent reader -------------------- */

static const char check_py[] =
	"import json, struct, sys\n"
	"import numpy as np\n"
	"raw = open(sys.argv[1], 'rb').read()\n"
	"(n,) = struct.unpack('<Q', raw[:8])\n"
	"assert n % 8 == 0, n\n"
	"header = json.loads(raw[8:8 + n].decode('utf-8'))\n"
	"data = raw[8 + n:]\n"
	"types = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8', 'I32': '<i4', 'U8': '|u1', 'BOOL': '|b1'}\n"
	"spans = sorted(tuple(e['data_offsets']) for e in header.values())\n"
	"pos = 0\n"
	"for b, e in spans:\n"
	"    assert b == pos, (b, pos)\n"
	"    pos = e\n"
	"assert pos == len(data), (pos, len(data))\n"
	"names = list(header)\n"
	"assert len(names) == 18, names\n"
	"for name, e in header.items():\n"
	"    b, end = e['data_offsets']\n"
	"    a = np.frombuffer(data[b:end], dtype=types[e['dtype']]).reshape(e['shape'])\n"
	"    k = np.arange(a.size)\n"
	"    want = {'F32': (k.astype(np.float32) * np.float32(0.75) - np.float32(3.125)),\n"
	"            'F64': k / 7.0 - 1e10, 'I64': (k - 3) * 1000000000007,\n"
	"            'I32': (k * 65537 - 100000).astype(np.int32), 'U8': ((k * 37 + 200) % 256).astype(np.uint8),\n"
	"            'BOOL': k % 3 == 1}[e['dtype']].astype(a.dtype).reshape(a.shape)\n"
	"    assert np.array_equal(a, want), (name, a, want)\n"
	"    assert name.endswith('.%d' % {3: 0, 0: 1, 1: 2}[a.ndim]), (name, a.shape)\n";

Test(safetensors, independent_reader_reads_what_glassbox_writes)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("/usr/bin/python3 is not installed");
	if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0)
		cr_skip_test("numpy is not installed for /usr/bin/python3");
	gb_tensor_map *map = every_dtype_map();
	char path[256], script[256], cmd[640];
	tmp_path(path, sizeof path, "out.safetensors");
	gb_error err = {0};
	cr_assert_eq(gb_safetensors_save(path, map, &err), GB_OK, "%s", err.msg);
	write_file(tmp_path(script, sizeof script, "check.py"), check_py, strlen(check_py));
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", script, path);
	cr_assert_eq(system(cmd), 0, "the Python reader disagrees with what glassbox wrote (see stderr)");
	gb_tensor_map_free(map);
}

/* ---- bad input: one test per class ------------------------------------------ */

static const float six[6] = {0, 1, 2, 3, 4, 5};
#define ENTRY(name, dtype, shape, b, e) "\"" name "\": {\"dtype\": \"" dtype "\", \"shape\": " shape ", \"data_offsets\": [" #b ", " #e "]}"

Test(safetensors, truncated_length)
{
	expect_bad("empty.st", "", 0, GB_STATUS_BAD_FILE, "truncated");
	expect_bad("five.st", "\x10\0\0\0\0", 5, GB_STATUS_BAD_FILE, "truncated");
}

Test(safetensors, header_length_past_end)
{
	uint8_t buf[256];
	size_t n = build_st(buf, sizeof buf, "{" ENTRY("w", "F32", "[6]", 0, 24) "}", six, 24);
	buf[0] = 0xff; /* header length + 255 - its low byte */
	expect_bad("len1.st", buf, n, GB_STATUS_BAD_FILE, "runs past the end");
	memset(buf, 0xff, 8);
	expect_bad("len2.st", buf, n, GB_STATUS_BAD_FILE, "header length 18446744073709551615 runs past the end");
	/* The file cut inside the header. */
	n = build_st(buf, sizeof buf, "{" ENTRY("w", "F32", "[6]", 0, 24) "}", six, 24);
	expect_bad("cut.st", buf, 30, GB_STATUS_BAD_FILE, "runs past the end");
}

Test(safetensors, header_length_over_limit)
{
	/* A sparse file of 100 MB + 16 bytes whose header claims 100 MB + 1:
	 * within the file, over the format's limit, refused before reading it. */
	char path[256];
	tmp_path(path, sizeof path, "big.st");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	uint64_t len = 100000001;
	uint8_t head[8];
	for (int i = 0; i < 8; i++)
		head[i] = (uint8_t)(len >> (8 * i));
	cr_assert_eq(write(fd, head, 8), 8);
	cr_assert_eq(ftruncate(fd, 100000016), 0);
	close(fd);
	gb_error err = {0};
	gb_tensor_map *map = NULL;
	cr_assert_eq(gb_safetensors_load(path, &map, &err), GB_STATUS_BAD_FILE);
	assert_names_file(&err, path);
	cr_assert(strstr(err.msg, "over the limit"), "%s", err.msg);
}

Test(safetensors, not_json)
{
	expect_bad_header("text.st", "this is not json", six, 24, GB_STATUS_BAD_FILE, "not valid JSON");
	expect_bad_header("half.st", "{\"w\": {\"dtype\": \"F32\", ", six, 24, GB_STATUS_BAD_FILE, "not valid JSON");
	expect_bad_header("nothing.st", "", NULL, 0, GB_STATUS_BAD_FILE, "not valid JSON");
	expect_bad_header("array.st", "[1, 2]", NULL, 0, GB_STATUS_BAD_FILE, "not a JSON object");
	expect_bad_header("trailing.st", "{} {}", NULL, 0, GB_STATUS_BAD_FILE, "bytes after its JSON value");
	expect_bad_header("garbage.st", "{}  x", NULL, 0, GB_STATUS_BAD_FILE, "bytes after its JSON value");
	uint8_t buf[64];
	size_t n = build_st(buf, sizeof buf, "{}\x01     ", NULL, 0);
	expect_bad("ctl.st", buf, n, GB_STATUS_BAD_FILE, "control byte 0x01");
	n = build_st(buf, sizeof buf, "{}xxxxxx", NULL, 0);
	buf[10] = '\0'; /* a NUL inside the header */
	expect_bad("nul.st", buf, n, GB_STATUS_BAD_FILE, "control byte 0x00");
}

Test(safetensors, offsets_out_of_bounds)
{
	expect_bad_header("oob.st", "{" ENTRY("w", "F32", "[6]", 0, 1000) "}", six, 24, GB_STATUS_BAD_FILE,
	                  "tensor 'w': data_offsets [0, 1000) do not lie within the data section of 24 bytes");
	expect_bad_header("rev.st", "{" ENTRY("w", "F32", "[0]", 16, 8) "}", six, 24, GB_STATUS_BAD_FILE,
	                  "do not lie within");
	expect_bad_header("far.st", "{" ENTRY("w", "F32", "[1]", 9007199254740000, 9007199254740004) "}", six, 24,
	                  GB_STATUS_BAD_FILE, "do not lie within");
}

Test(safetensors, offsets_overlap)
{
	expect_bad_header("overlap.st", "{" ENTRY("a", "F32", "[4]", 0, 16) ", " ENTRY("b", "F32", "[4]", 8, 24) "}",
	                  six, 24, GB_STATUS_BAD_FILE, "tensors 'a' and 'b' overlap");
	expect_bad_header("same.st", "{" ENTRY("a", "F32", "[6]", 0, 24) ", " ENTRY("b", "F32", "[6]", 0, 24) "}", six,
	                  24, GB_STATUS_BAD_FILE, "overlap");
}

Test(safetensors, holes_and_trailing_data)
{
	expect_bad_header("hole.st", "{" ENTRY("a", "F32", "[2]", 0, 8) ", " ENTRY("b", "F32", "[2]", 16, 24) "}", six,
	                  24, GB_STATUS_BAD_FILE, "bytes [8, 16) of the data section belong to no tensor");
	expect_bad_header("tail.st", "{" ENTRY("a", "F32", "[4]", 0, 16) "}", six, 24, GB_STATUS_BAD_FILE,
	                  "the data section holds 24 bytes, the tensors in the header cover only 16");
	expect_bad_header("none.st", "{}", six, 24, GB_STATUS_BAD_FILE, "cover only 0");
}

Test(safetensors, size_does_not_match_shape)
{
	expect_bad_header("short.st", "{" ENTRY("w", "F32", "[2, 3]", 0, 20) "}", six, 20, GB_STATUS_BAD_FILE,
	                  "tensor 'w': shape [2, 3] of float32 needs 24 bytes, its data_offsets span 20");
	expect_bad_header("long.st", "{" ENTRY("w", "I32", "[5]", 0, 24) "}", six, 24, GB_STATUS_BAD_FILE,
	                  "needs 20 bytes, its data_offsets span 24");
}

Test(safetensors, dims_product_overflows)
{
	expect_bad_header("ovf.st", "{" ENTRY("w", "F32", "[4503599627370496, 4503599627370496]", 0, 24) "}", six, 24,
	                  GB_STATUS_BAD_FILE, "too large");
	expect_bad_header("ovf2.st", "{" ENTRY("w", "U8", "[1099511627776, 1099511627776]", 0, 24) "}", six, 24,
	                  GB_STATUS_BAD_FILE, "too large");
}

Test(safetensors, declared_size_beyond_memory)
{
	/* 2^52 bytes, offsets that claim them: refused before any allocation. */
	expect_bad_header("huge.st", "{" ENTRY("w", "F32", "[1048576, 1048576, 1024]", 0, 4503599627370496) "}", six,
	                  24, GB_STATUS_BAD_FILE, "do not lie within the data section of 24 bytes");
	expect_bad_header("huge2.st", "{" ENTRY("w", "F32", "[1048576, 1048576, 1024]", 0, 24) "}", six, 24,
	                  GB_STATUS_BAD_FILE, "needs 4503599627370496 bytes, its data_offsets span 24");
}

Test(safetensors, bad_numbers)
{
	static const char *const shapes[] = {"[-1]", "[1.5]", "[\"6\"]", "[9007199254740993000]", "[null]", "[1e400]"};
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		char header[256], name[32];
		snprintf(header, sizeof header, "{\"w\": {\"dtype\": \"F32\", \"shape\": %s, \"data_offsets\": [0, 24]}}",
		         shapes[i]);
		snprintf(name, sizeof name, "num%zu.st", i);
		expect_bad_header(name, header, six, 24, GB_STATUS_BAD_FILE, "dimension 0 is not an integer");
	}
	static const char *const offsets[] = {"[0]", "[0, 24, 48]", "[0, -24]", "[0.5, 24]", "7", "[\"0\", 24]", "[]"};
	for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
		char header[256], name[32];
		snprintf(header, sizeof header, "{\"w\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": %s}}",
		         offsets[i]);
		snprintf(name, sizeof name, "off%zu.st", i);
		expect_bad_header(name, header, six, 24, GB_STATUS_BAD_FILE, "data_offsets is not a pair of integers");
	}
}

Test(safetensors, unsupported_dtypes)
{
	static const char *const dtypes[] = {"F16", "BF16", "I8", "I16", "U16", "U32", "U64", "F8_E4M3", "f32", ""};
	for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
		char header[256], name[32], want[96];
		snprintf(header, sizeof header, "{\"w\": {\"dtype\": \"%s\", \"shape\": [6], \"data_offsets\": [0, 24]}}",
		         dtypes[i]);
		snprintf(name, sizeof name, "dt%zu.st", i);
		snprintf(want, sizeof want, "tensor 'w': dtype %s is not supported", dtypes[i]);
		expect_bad_header(name, header, six, 24, GB_STATUS_UNSUPPORTED, want);
	}
}

Test(safetensors, too_many_dims)
{
	expect_bad_header("rank9.st", "{" ENTRY("w", "F32", "[1, 1, 1, 1, 1, 1, 1, 1, 1]", 0, 4) "}", six, 4,
	                  GB_STATUS_UNSUPPORTED, "9 dimensions");
}

Test(safetensors, malformed_entries)
{
	static const struct {
		const char *header, *needle;
	} cases[] = {
		{"{\"w\": [1, 2]}", "tensor 'w': entry is not a JSON object"},
		{"{\"w\": {\"dtype\": \"F32\", \"shape\": [6]}}", "key 'data_offsets' is missing"},
		{"{\"w\": {\"shape\": [6], \"data_offsets\": [0, 24]}}", "key 'dtype' is missing"},
		{"{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 24]}}", "key 'shape' is missing"},
		{"{\"w\": {\"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [0, 24], \"order\": \"big\"}}",
		 "unexpected key 'order'"},
		{"{\"w\": {\"dtype\": \"F32\", \"dtype\": \"F32\", \"shape\": [6], \"data_offsets\": [0, 24]}}",
		 "key 'dtype' appears twice"},
		{"{\"w\": {\"dtype\": 1, \"shape\": [6], \"data_offsets\": [0, 24]}}", "dtype is not a string"},
		{"{\"w\": {\"dtype\": \"F32\", \"shape\": 6, \"data_offsets\": [0, 24]}}", "shape is not a JSON array"},
		{"{" ENTRY("w", "F32", "[6]", 0, 24) ", " ENTRY("w", "F32", "[0]", 24, 24) "}", "tensor 'w' appears twice"},
		{"{\"__metadata__\": 3, " ENTRY("w", "F32", "[6]", 0, 24) "}", "__metadata__ is not a JSON object"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[32];
		snprintf(name, sizeof name, "entry%zu.st", i);
		expect_bad_header(name, cases[i].header, six, 24, GB_STATUS_BAD_FILE, cases[i].needle);
	}
}

Test(safetensors, invalid_bool_byte)
{
	uint8_t bools[4] = {0, 1, 7, 1};
	expect_bad_header("bool.st", "{" ENTRY("b", "BOOL", "[4]", 0, 4) "}", bools, 4, GB_STATUS_BAD_FILE,
	                  "tensor 'b': bool element 2 is 7");
}

Test(safetensors, metadata_ignored_and_padding_accepted)
{
	uint8_t buf[512];
	size_t n = build_st(buf, sizeof buf,
	                    "{\"__metadata__\": {\"a\": \"b\"},\n " ENTRY("w", "F32", "[2, 3]", 0, 24) ", " ENTRY(
	                        "e", "I64", "[0]", 24, 24) "}\t\r\n     ",
	                    six, 24);
	gb_error err = {0};
	gb_tensor_map *map = NULL;
	cr_assert_eq(gb_safetensors_parse(buf, n, "mem", &map, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_tensor_map_count(map), 2);
	cr_assert_null(gb_tensor_map_get(map, "__metadata__"));
	const gb_tensor *w = gb_tensor_map_get(map, "w");
	assert_shape(w, GB_DTYPE_F32, 2, (int64_t[]){2, 3});
	cr_assert_eq(memcmp(w->data, six, 24), 0);
	assert_shape(gb_tensor_map_get(map, "e"), GB_DTYPE_I64, 1, (int64_t[]){0});
	gb_tensor_map_free(map);
}

Test(safetensors, not_a_file)
{
	char path[256];
	gb_error err = {0};
	gb_tensor_map *map = NULL;
	tmp_path(path, sizeof path, "missing.st");
	cr_assert_eq(gb_safetensors_load(path, &map, &err), GB_STATUS_BAD_FILE);
	assert_names_file(&err, path);
	cr_assert_eq(gb_safetensors_load(tmpdir, &map, &err), GB_STATUS_BAD_FILE);
	assert_names_file(&err, tmpdir);
	cr_assert_null(map);
}

/* ---- saving ------------------------------------------------------------------ */

Test(safetensors, save_into_missing_directory_leaves_nothing)
{
	gb_tensor_map *map = every_dtype_map();
	char path[256];
	tmp_path(path, sizeof path, "no/such/dir/x.safetensors");
	gb_error err = {0};
	cr_assert_eq(gb_safetensors_save(path, map, &err), GB_STATUS_IO);
	assert_names_file(&err, path);
	cr_assert_eq(tmpdir_count(), 0);
	gb_tensor_map_free(map);
}

Test(safetensors, failed_rename_removes_temp_file)
{
	gb_tensor_map *map = every_dtype_map();
	char path[256];
	tmp_path(path, sizeof path, "target.safetensors");
	cr_assert_eq(mkdir(path, 0700), 0);
	gb_error err = {0};
	cr_assert_eq(gb_safetensors_save(path, map, &err), GB_STATUS_IO);
	assert_names_file(&err, path);
	cr_assert_eq(tmpdir_count(), 1, "a temporary file was left behind");
	gb_tensor_map_free(map);
}

Test(safetensors, save_refuses_metadata_name)
{
	gb_tensor_map *map = NULL;
	cr_assert_eq(gb_tensor_map_new(&map, NULL), GB_OK);
	gb_tensor *t = patterned(GB_DTYPE_F32, 1, (int64_t[]){2});
	cr_assert_eq(gb_tensor_map_put(map, "__metadata__", t, NULL), GB_OK);
	char path[256];
	tmp_path(path, sizeof path, "meta.safetensors");
	gb_error err = {0};
	cr_assert_eq(gb_safetensors_save(path, map, &err), GB_STATUS_USAGE);
	assert_names_file(&err, path);
	cr_assert_eq(tmpdir_count(), 0);
	gb_tensor_free(t);
	gb_tensor_map_free(map);
}

Test(safetensors, names_are_escaped)
{
	gb_tensor_map *map = NULL;
	cr_assert_eq(gb_tensor_map_new(&map, NULL), GB_OK);
	gb_tensor *t = patterned(GB_DTYPE_I32, 1, (int64_t[]){3});
	const char *name = "layer \"1\"\\weight\n\xc3\xa9";
	cr_assert_eq(gb_tensor_map_put(map, name, t, NULL), GB_OK);
	char path[256];
	tmp_path(path, sizeof path, "names.safetensors");
	cr_assert_eq(gb_safetensors_save(path, map, NULL), GB_OK);
	gb_tensor_map *back = load_ok(path);
	assert_maps_equal(map, back);
	gb_tensor_free(t);
	gb_tensor_map_free(back);
	gb_tensor_map_free(map);
}
