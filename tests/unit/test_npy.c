/*
 * test_npy.c — .npy load/save: round trips for every dtype and shape kind,
 * files numpy wrote (tests/fixtures/npy, made by
 * tests/fixtures/make_npy_fixtures.py), files glassbox wrote read back by
 * numpy, one test per class of bad input, atomic saves; and the bounded
 * reader the parser stands on.
 *
 * Run from the repository root (fixture paths are relative to it).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "io/reader.h"

#define FIXTURES "tests/fixtures/npy/"

/* ---- helpers --------------------------------------------------------------- */

#include "tmpdir.h"

TestSuite(npy, .init = make_tmpdir, .fini = remove_tmpdir);

/* Builds a .npy image: preamble for version major.0, the dict text as given
 * (nothing added), then n data bytes. Returns its length. */
static size_t build_npy(uint8_t *buf, size_t cap, int major, const char *dict, const void *data, size_t n)
{
	size_t len = strlen(dict);
	size_t pre = major == 1 ? 10 : 12;
	cr_assert_leq(pre + len + n, cap);
	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (uint8_t)major;
	buf[7] = 0;
	for (size_t i = 0; i < pre - 8; i++)
		buf[8 + i] = (uint8_t)(len >> (8 * i));
	memcpy(buf + pre, dict, len);
	if (n)
		memcpy(buf + pre + len, data, n);
	return pre + len + n;
}

/* The message names the file first. */
static void assert_names_file(const gb_error *err, const char *path)
{
	cr_assert_eq(strncmp(err->msg, path, strlen(path)), 0, "message does not start with %s: %s", path, err->msg);
}

/* Loads image (through a file and through the buffer parser) and expects
 * status want and a message containing needle. */
static void expect_bad(const char *name, const void *image, size_t n, gb_status want, const char *needle)
{
	char path[256];
	tmp_path(path, sizeof path, name);
	write_file(path, image, n);
	gb_error err = {0};
	gb_tensor *t = (gb_tensor *)1;
	gb_status st = gb_npy_load(path, &t, &err);
	cr_assert_eq(st, want, "%s: load gave %s, want %s: %s", name, gb_status_name(st), gb_status_name(want), err.msg);
	cr_assert_null(t);
	assert_names_file(&err, path);
	if (needle)
		cr_assert(strstr(err.msg, needle), "%s: message lacks '%s': %s", name, needle, err.msg);

	gb_error err2 = {0};
	t = (gb_tensor *)1;
	st = gb_npy_parse(image, n, path, &t, &err2);
	cr_assert_eq(st, want, "%s: parse gave %s: %s", name, gb_status_name(st), err2.msg);
	cr_assert_null(t);
	assert_names_file(&err2, path);
	if (needle)
		cr_assert(strstr(err2.msg, needle), "%s: parse message lacks '%s': %s", name, needle, err2.msg);
}

static void expect_bad_dict(const char *name, const char *dict, const void *data, size_t n, gb_status want,
                            const char *needle)
{
	uint8_t buf[1024];
	size_t len = build_npy(buf, sizeof buf, 1, dict, data, n);
	expect_bad(name, buf, len, want, needle);
}

static gb_tensor *load_ok(const char *path)
{
	gb_error err = {0};
	gb_tensor *t = NULL;
	gb_status st = gb_npy_load(path, &t, &err);
	cr_assert_eq(st, GB_OK, "%s: %s", path, err.msg);
	cr_assert_not_null(t);
	return t;
}

static void assert_shape(const gb_tensor *t, gb_dtype dtype, int ndim, const int64_t *dims)
{
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

/* A tensor with a recognisable value in every element. */
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

static long file_size(const char *path)
{
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	return (long)sb.st_size;
}

/* ---- round trips ------------------------------------------------------------ */

Test(npy, round_trip_every_dtype_and_shape)
{
	static const struct {
		int ndim;
		int64_t dims[3];
	} shapes[] = {{0, {0}}, {1, {0}}, {1, {5}}, {3, {2, 3, 4}}, {3, {3, 0, 2}}};
	for (int dt = 0; dt < GB_DTYPE_COUNT; dt++) {
		for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
			gb_tensor *t = patterned((gb_dtype)dt, shapes[s].ndim, shapes[s].dims);
			char path[256], name[64];
			snprintf(name, sizeof name, "rt_%d_%zu.npy", dt, s);
			tmp_path(path, sizeof path, name);
			gb_error err = {0};
			cr_assert_eq(gb_npy_save(path, t, &err), GB_OK, "%s", err.msg);
			/* numpy's layout: the data starts on a 64-byte boundary. */
			size_t bytes = tensor_bytes(t);
			cr_assert_eq(((size_t)file_size(path) - bytes) % 64, 0);
			gb_tensor *back = load_ok(path);
			assert_shape(back, t->dtype, t->ndim, t->dims);
			cr_assert_eq(memcmp(back->data, t->data, bytes), 0, "%s: data differs", name);
			gb_tensor_free(back);
			gb_tensor_free(t);
		}
	}
	cr_assert_eq(tmpdir_count(), (int)(GB_DTYPE_COUNT * (sizeof shapes / sizeof shapes[0])), "stray files");
}

Test(npy, save_replaces_existing_file)
{
	char path[256];
	tmp_path(path, sizeof path, "x.npy");
	int64_t big[1] = {100}, small[1] = {2};
	gb_tensor *a = patterned(GB_DTYPE_F64, 1, big), *b = patterned(GB_DTYPE_I32, 1, small);
	cr_assert_eq(gb_npy_save(path, a, NULL), GB_OK);
	cr_assert_eq(gb_npy_save(path, b, NULL), GB_OK);
	gb_tensor *back = load_ok(path);
	assert_shape(back, GB_DTYPE_I32, 1, small);
	cr_assert_eq(memcmp(back->data, b->data, 8), 0);
	cr_assert_eq(tmpdir_count(), 1);
	gb_tensor_free(a);
	gb_tensor_free(b);
	gb_tensor_free(back);
}

/* ---- files numpy wrote ----------------------------------------------------- */

Test(npy, numpy_fixtures_every_dtype)
{
	gb_tensor *t = load_ok(FIXTURES "f4_2x3x4.npy");
	assert_shape(t, GB_DTYPE_F32, 3, (int64_t[]){2, 3, 4});
	for (int k = 0; k < 24; k++)
		cr_assert_eq(((float *)t->data)[k], (float)k * 0.25f - 2.0f, "f4[%d]", k);
	gb_tensor_free(t);

	t = load_ok(FIXTURES "f8_5.npy");
	assert_shape(t, GB_DTYPE_F64, 1, (int64_t[]){5});
	for (int k = 0; k < 5; k++)
		cr_assert_eq(((double *)t->data)[k], (double)k / 3.0 - 1.0, "f8[%d]", k);
	gb_tensor_free(t);

	t = load_ok(FIXTURES "i8_2x2.npy");
	assert_shape(t, GB_DTYPE_I64, 2, (int64_t[]){2, 2});
	int64_t i8[4] = {-(1LL << 62), 1, 1LL << 40, -7};
	cr_assert_eq(memcmp(t->data, i8, sizeof i8), 0);
	gb_tensor_free(t);

	t = load_ok(FIXTURES "i4_4.npy");
	assert_shape(t, GB_DTYPE_I32, 1, (int64_t[]){4});
	int32_t i4[4] = {INT32_MIN, INT32_MAX, 0, -5};
	cr_assert_eq(memcmp(t->data, i4, sizeof i4), 0);
	gb_tensor_free(t);

	t = load_ok(FIXTURES "u1_5.npy");
	assert_shape(t, GB_DTYPE_U8, 1, (int64_t[]){5});
	cr_assert_eq(memcmp(t->data, (uint8_t[]){0, 1, 127, 128, 255}, 5), 0);
	gb_tensor_free(t);

	t = load_ok(FIXTURES "b1_2x3.npy");
	assert_shape(t, GB_DTYPE_BOOL, 2, (int64_t[]){2, 3});
	cr_assert_eq(memcmp(t->data, (uint8_t[]){1, 0, 1, 0, 0, 1}, 6), 0);
	gb_tensor_free(t);
}

Test(npy, numpy_fixtures_scalar_and_empty)
{
	gb_tensor *t = load_ok(FIXTURES "f4_scalar.npy");
	cr_assert_eq(t->ndim, 0);
	cr_assert_eq(t->dtype, GB_DTYPE_F32);
	cr_assert_eq(((float *)t->data)[0], 3.5f);
	gb_tensor_free(t);

	t = load_ok(FIXTURES "f4_empty.npy");
	assert_shape(t, GB_DTYPE_F32, 1, (int64_t[]){0});
	gb_tensor_free(t);

	t = load_ok(FIXTURES "i8_3x0x2.npy");
	assert_shape(t, GB_DTYPE_I64, 3, (int64_t[]){3, 0, 2});
	cr_assert_eq(gb_tensor_numel(t), 0);
	gb_tensor_free(t);
}

Test(npy, numpy_fixtures_versions_2_and_3)
{
	const char *files[] = {FIXTURES "v2_f4_2x3.npy", FIXTURES "v3_f4_2x3.npy"};
	for (int f = 0; f < 2; f++) {
		gb_tensor *t = load_ok(files[f]);
		assert_shape(t, GB_DTYPE_F32, 2, (int64_t[]){2, 3});
		for (int k = 0; k < 6; k++)
			cr_assert_eq(((float *)t->data)[k], (float)k);
		gb_tensor_free(t);
	}
}

Test(npy, numpy_fixtures_unsupported)
{
	static const struct {
		const char *file, *needle;
	} cases[] = {
		{FIXTURES "fortran_f4_2x3.npy", "Fortran"},
		{FIXTURES "bigendian_f4_3.npy", "big-endian dtype '>f4'"},
		{FIXTURES "f2_3.npy", "dtype '<f2'"},
		{FIXTURES "structured_2.npy", "structured"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		gb_error err = {0};
		gb_tensor *t = NULL;
		cr_assert_eq(gb_npy_load(cases[i].file, &t, &err), GB_STATUS_UNSUPPORTED, "%s: %s", cases[i].file, err.msg);
		cr_assert_null(t);
		assert_names_file(&err, cases[i].file);
		cr_assert(strstr(err.msg, cases[i].needle), "%s", err.msg);
	}
}

/* ---- files glassbox wrote, read by numpy ------------------------------------ */

static const char readback_py[] =
	"import sys\n"
	"import numpy as np\n"
	"d = sys.argv[1]\n"
	"def check(name, want):\n"
	"    got = np.load(d + '/' + name)\n"
	"    assert got.dtype == want.dtype, (name, got.dtype, want.dtype)\n"
	"    assert got.shape == want.shape, (name, got.shape, want.shape)\n"
	"    assert np.array_equal(got, want), (name, got, want)\n"
	"k = np.arange(24)\n"
	"check('f4.npy', (k.astype(np.float32) * np.float32(0.75) - np.float32(3.125)).reshape(2, 3, 4))\n"
	"check('f8.npy', (np.arange(5) / 7.0 - 1e10))\n"
	"check('i8.npy', (np.arange(6, dtype=np.int64) - 3) * 1000000000007)\n"
	"check('i4.npy', (np.arange(4, dtype=np.int64) * 65537 - 100000).astype(np.int32).reshape(2, 2))\n"
	"check('u1.npy', ((np.arange(7) * 37 + 200) % 256).astype(np.uint8))\n"
	"check('b1.npy', (np.arange(6) % 3 == 1).reshape(3, 2))\n"
	"check('scalar.npy', np.array(-3.125, dtype=np.float32))\n"
	"check('empty.npy', np.zeros((0,), dtype=np.float32))\n"
	"check('empty3.npy', np.zeros((3, 0, 2), dtype=np.int64))\n";

Test(npy, numpy_reads_what_glassbox_writes)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("/usr/bin/python3 is not installed");
	if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0)
		cr_skip_test("numpy is not installed for /usr/bin/python3");
	static const struct {
		const char *name;
		gb_dtype dtype;
		int ndim;
		int64_t dims[3];
	} files[] = {
		{"f4.npy", GB_DTYPE_F32, 3, {2, 3, 4}}, {"f8.npy", GB_DTYPE_F64, 1, {5}},
		{"i8.npy", GB_DTYPE_I64, 1, {6}},       {"i4.npy", GB_DTYPE_I32, 2, {2, 2}},
		{"u1.npy", GB_DTYPE_U8, 1, {7}},        {"b1.npy", GB_DTYPE_BOOL, 2, {3, 2}},
		{"scalar.npy", GB_DTYPE_F32, 0, {0}},   {"empty.npy", GB_DTYPE_F32, 1, {0}},
		{"empty3.npy", GB_DTYPE_I64, 3, {3, 0, 2}},
	};
	char path[256];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		gb_tensor *t = patterned(files[i].dtype, files[i].ndim, files[i].dims);
		gb_error err = {0};
		cr_assert_eq(gb_npy_save(tmp_path(path, sizeof path, files[i].name), t, &err), GB_OK, "%s", err.msg);
		gb_tensor_free(t);
	}
	write_file(tmp_path(path, sizeof path, "check.py"), readback_py, strlen(readback_py));
	char cmd[512];
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/check.py %s", tmpdir, tmpdir);
	cr_assert_eq(system(cmd), 0, "numpy disagrees with what glassbox wrote (see stderr)");
}

/* ---- bad input: one test per class ------------------------------------------ */

static const float six[6] = {0, 1, 2, 3, 4, 5};
#define DICT_F4_2x3 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n"

Test(npy, bad_magic)
{
	uint8_t buf[256];
	size_t n = build_npy(buf, sizeof buf, 1, DICT_F4_2x3, six, 24);
	buf[5] = 'Z';
	expect_bad("magic.npy", buf, n, GB_STATUS_BAD_FILE, "not a .npy file");
	expect_bad("text.npy", "hello", 5, GB_STATUS_BAD_FILE, "not a .npy file");
	expect_bad("empty.npy", "", 0, GB_STATUS_BAD_FILE, NULL);
}

Test(npy, truncated_preamble)
{
	expect_bad("pre8.npy", "\x93NUMPY\x01\x00", 8, GB_STATUS_BAD_FILE, "truncated");
	expect_bad("pre9.npy", "\x93NUMPY\x01\x00\x10", 9, GB_STATUS_BAD_FILE, "truncated");
	expect_bad("pre3.npy", "\x93NU", 3, GB_STATUS_BAD_FILE, "truncated");
	expect_bad("pre11.npy", "\x93NUMPY\x02\x00\x10\x00\x00", 11, GB_STATUS_BAD_FILE, "truncated");
}

Test(npy, truncated_header)
{
	/* The file ends inside the header dict. */
	uint8_t buf[256];
	size_t n = build_npy(buf, sizeof buf, 1, DICT_F4_2x3, six, 24);
	expect_bad("cut.npy", buf, 40, GB_STATUS_BAD_FILE, "runs past the end");
	/* The header length is honest but the dict stops half way. */
	expect_bad_dict("halfdict.npy", "{'descr': '<f4', 'fortran_order': False, ", NULL, 0, GB_STATUS_BAD_FILE,
	                "malformed header");
	(void)n;
}

Test(npy, header_length_past_end)
{
	uint8_t buf[256];
	size_t n = build_npy(buf, sizeof buf, 1, DICT_F4_2x3, six, 24);
	buf[8] = 0xff;
	buf[9] = 0xff; /* 65535 */
	expect_bad("hlen1.npy", buf, n, GB_STATUS_BAD_FILE, "header length 65535 runs past the end");
	n = build_npy(buf, sizeof buf, 2, DICT_F4_2x3, six, 24);
	memset(buf + 8, 0xff, 4); /* 2^32 - 1 */
	expect_bad("hlen2.npy", buf, n, GB_STATUS_BAD_FILE, "header length 4294967295 runs past the end");
}

Test(npy, unsupported_version)
{
	uint8_t buf[256];
	size_t n = build_npy(buf, sizeof buf, 1, DICT_F4_2x3, six, 24);
	buf[6] = 4;
	expect_bad("v4.npy", buf, n, GB_STATUS_UNSUPPORTED, "version 4.0");
	buf[6] = 1;
	buf[7] = 1;
	expect_bad("v11.npy", buf, n, GB_STATUS_UNSUPPORTED, "version 1.1");
	buf[6] = 0;
	buf[7] = 0;
	expect_bad("v0.npy", buf, n, GB_STATUS_UNSUPPORTED, "version 0.0");
}

Test(npy, dims_product_overflows)
{
	expect_bad_dict("ovf.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }",
	                NULL, 0, GB_STATUS_BAD_FILE, "too large");
	expect_bad_dict("ovf2.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }",
	                NULL, 0, GB_STATUS_BAD_FILE, "too large");
	expect_bad_dict("ovf3.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
	                NULL, 0, GB_STATUS_BAD_FILE, "larger than");
}

Test(npy, declared_size_beyond_memory)
{
	/* 2^52 bytes: representable, absurd, and refused before any allocation
	 * (under ASan an attempt to allocate it would abort the test). */
	expect_bad_dict("huge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576, 1024), }",
	                six, 24, GB_STATUS_BAD_FILE, "declares 4503599627370496 bytes of data, the file holds 24");
}

Test(npy, data_shorter_than_declared)
{
	expect_bad_dict("short.npy", DICT_F4_2x3, six, 20, GB_STATUS_BAD_FILE, "declares 24 bytes of data, the file holds 20");
	expect_bad_dict("nodata.npy", DICT_F4_2x3, NULL, 0, GB_STATUS_BAD_FILE, "declares 24 bytes of data, the file holds 0");
}

Test(npy, trailing_bytes)
{
	float seven[7] = {0};
	expect_bad_dict("long.npy", DICT_F4_2x3, seven, 28, GB_STATUS_BAD_FILE, "declares 24 bytes of data, the file holds 28");
	expect_bad_dict("scalar_long.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", seven, 8,
	                GB_STATUS_BAD_FILE, "declares 4 bytes of data, the file holds 8");
}

Test(npy, fortran_order)
{
	expect_bad_dict("fortran.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", six, 24,
	                GB_STATUS_UNSUPPORTED, "Fortran");
}

Test(npy, unsupported_dtypes)
{
	static const char *const descrs[] = {"<f2", "<c8", "<u4", "|i1", "<u1", "=f4", "|O", "<U3", "<M8[s]", ""};
	for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++) {
		char dict[128], want[64], name[32];
		snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (2, 3), }", descrs[i]);
		snprintf(want, sizeof want, "dtype '%s' is not supported", descrs[i]);
		snprintf(name, sizeof name, "dt%zu.npy", i);
		expect_bad_dict(name, dict, six, 24, GB_STATUS_UNSUPPORTED, want);
	}
	expect_bad_dict("be.npy", "{'descr': '>i8', 'fortran_order': False, 'shape': (3,), }", six, 24,
	                GB_STATUS_UNSUPPORTED, "big-endian dtype '>i8'");
	expect_bad_dict("struct.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }", six, 24,
	                GB_STATUS_UNSUPPORTED, "structured");
}

Test(npy, too_many_dims)
{
	expect_bad_dict("rank9.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", six, 4,
	                GB_STATUS_UNSUPPORTED, "9 dimensions");
}

Test(npy, malformed_header_dicts)
{
	static const struct {
		const char *dict, *needle;
	} cases[] = {
		{"", "expected '{'"},
		{"   \n", "expected '{'"},
		{"{'descr': '<f4', 'fortran_order': False}", "key 'shape' is missing"},
		{"{'fortran_order': False, 'shape': (6,)}", "key 'descr' is missing"},
		{"{'descr': '<f4', 'shape': (6,)}", "key 'fortran_order' is missing"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", "unexpected key 'x'"},
		{"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", "appears twice"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", "not a tuple"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}", "non-negative integer"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (6.0,)}", "',' or ')'"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (06,)}", "leading zeros"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (6,,)}", "non-negative integer"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3,)}", "',' or ')'"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': [6]}", "'('"},
		{"{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}", "True or False"},
		{"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (6,)}", "True or False"},
		{"{'descr': '<f4' 'fortran_order': False, 'shape': (6,)}", "',' or '}'"},
		{"{'descr': '<f\\4', 'fortran_order': False, 'shape': (6,)}", "without escapes"},
		{"{'descr': '<f4\", 'fortran_order': False, 'shape': (6,)}", "',' or '}'"},
		{"{'descr': <f4, 'fortran_order': False, 'shape': (6,)}", "quoted string"},
		{"{descr: '<f4', 'fortran_order': False, 'shape': (6,)}", "quoted string"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x", "only spaces"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (6,)}}", "only spaces"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (6,)", "',' or '}'"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (6,", "non-negative integer"},
		{"{'descr': '<f4', 'fortran_order': False, 'shape': (6,)}\0", "only spaces"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[32];
		snprintf(name, sizeof name, "dict%zu.npy", i);
		uint8_t buf[512];
		size_t len = strlen(cases[i].dict);
		if (i == sizeof cases / sizeof cases[0] - 1)
			len++; /* keep the NUL inside the header */
		memcpy(buf, "\x93NUMPY\x01\x00", 8);
		buf[8] = (uint8_t)len;
		buf[9] = 0;
		memcpy(buf + 10, cases[i].dict, len);
		memcpy(buf + 10 + len, six, 24);
		expect_bad(name, buf, 10 + len + 24, GB_STATUS_BAD_FILE, cases[i].needle);
	}
}

Test(npy, invalid_bool_byte)
{
	uint8_t bools[6] = {0, 1, 1, 2, 0, 1};
	expect_bad_dict("bool.npy", "{'descr': '|b1', 'fortran_order': False, 'shape': (6,), }", bools, 6,
	                GB_STATUS_BAD_FILE, "bool element 3 is 2");
}

Test(npy, not_a_file)
{
	char path[256];
	gb_error err = {0};
	gb_tensor *t = NULL;
	tmp_path(path, sizeof path, "missing.npy");
	cr_assert_eq(gb_npy_load(path, &t, &err), GB_STATUS_BAD_FILE);
	assert_names_file(&err, path);
	cr_assert(strstr(err.msg, "No such file"), "%s", err.msg);
	cr_assert_eq(gb_npy_load(tmpdir, &t, &err), GB_STATUS_BAD_FILE);
	assert_names_file(&err, tmpdir);
	cr_assert_null(t);
}

/* Headers as numpy and Python's literal_eval allow them. */
Test(npy, header_whitespace_and_commas)
{
	static const char *const dicts[] = {
		"{'descr':'<f4','fortran_order':False,'shape':(2,3)}",
		"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}\n",
		"{'shape': (2, 3,), 'fortran_order': False, 'descr': '<f4',}",
		"  { 'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }  \r\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
		"{'descr': '<f4',\n 'fortran_order': False,\n 'shape': (2, 3)}                           \n",
	};
	for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
		uint8_t buf[512];
		size_t n = build_npy(buf, sizeof buf, i % 2 ? 3 : 1, dicts[i], six, 24);
		gb_error err = {0};
		gb_tensor *t = NULL;
		cr_assert_eq(gb_npy_parse(buf, n, "mem", &t, &err), GB_OK, "dict %zu: %s", i, err.msg);
		assert_shape(t, GB_DTYPE_F32, 2, (int64_t[]){2, 3});
		cr_assert_eq(memcmp(t->data, six, 24), 0);
		gb_tensor_free(t);
	}
}

/* ---- saving ------------------------------------------------------------------ */

Test(npy, save_into_missing_directory_leaves_nothing)
{
	char path[256];
	tmp_path(path, sizeof path, "no/such/dir/x.npy");
	gb_tensor *t = patterned(GB_DTYPE_F32, 1, (int64_t[]){4});
	gb_error err = {0};
	cr_assert_eq(gb_npy_save(path, t, &err), GB_STATUS_IO);
	assert_names_file(&err, path);
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(tmpdir_count(), 0);
	gb_tensor_free(t);
}

Test(npy, failed_rename_removes_temp_file)
{
	/* The target is a directory: the temporary file is written, the rename
	 * fails, and the temporary must be gone afterwards. */
	char path[256];
	tmp_path(path, sizeof path, "target.npy");
	cr_assert_eq(mkdir(path, 0700), 0);
	gb_tensor *t = patterned(GB_DTYPE_F32, 1, (int64_t[]){4});
	gb_error err = {0};
	cr_assert_eq(gb_npy_save(path, t, &err), GB_STATUS_IO);
	assert_names_file(&err, path);
	cr_assert_eq(tmpdir_count(), 1, "a temporary file was left behind");
	gb_tensor_free(t);
}

Test(npy, save_refuses_invalid_tensors)
{
	char path[256];
	tmp_path(path, sizeof path, "bad.npy");
	gb_error err = {0};
	gb_tensor t = {.dtype = GB_DTYPE_COUNT, .ndim = 1, .dims = {3}, .data = (float[3]){0}};
	cr_assert_eq(gb_npy_save(path, &t, &err), GB_STATUS_USAGE);
	assert_names_file(&err, path);
	t.dtype = GB_DTYPE_F32;
	t.dims[0] = -3;
	cr_assert_eq(gb_npy_save(path, &t, &err), GB_STATUS_USAGE);
	t.dims[0] = 3;
	t.ndim = GB_MAX_DIMS + 1;
	cr_assert_eq(gb_npy_save(path, &t, &err), GB_STATUS_USAGE);
	t.ndim = 1;
	t.data = NULL;
	cr_assert_eq(gb_npy_save(path, &t, &err), GB_STATUS_USAGE);
	cr_assert_eq(tmpdir_count(), 0);
}

/* ---- the bounded reader --------------------------------------------------- */

Test(reader, take_is_bounded_and_little_endian)
{
	const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
	gb_reader r;
	gb_reader_init(&r, bytes, sizeof bytes, "buf.bin");
	uint16_t a;
	uint32_t b;
	uint64_t c;
	gb_error err = {0};
	cr_assert_eq(gb_reader_u16le(&r, "a", &a, &err), GB_OK);
	cr_assert_eq(a, 0x0201);
	cr_assert_eq(gb_reader_u32le(&r, "b", &b, &err), GB_OK);
	cr_assert_eq(b, 0x06050403u);
	cr_assert_eq(r.left, 9u);
	const uint8_t *p = NULL;
	cr_assert(gb_reader_peek(&r, 9, &p));
	cr_assert_eq(p, bytes + 6);
	cr_assert_not(gb_reader_peek(&r, 10, &p));
	cr_assert_eq(gb_reader_u64le(&r, "c", &c, &err), GB_OK);
	cr_assert_eq(c, 0x0e0d0c0b0a090807ull);
	cr_assert_eq(gb_reader_u16le(&r, "the tail", &a, &err), GB_STATUS_BAD_FILE);
	cr_assert_str_eq(err.msg, "buf.bin: truncated: the tail needs 2 bytes, 1 left");
	cr_assert_eq(r.left, 1u, "a failed take must not consume");
	cr_assert_eq(gb_reader_take(&r, SIZE_MAX, "everything", &p, &err), GB_STATUS_BAD_FILE);
	cr_assert_eq(gb_reader_take(&r, 1, "last", &p, &err), GB_OK);
	cr_assert_eq(*p, 0x0f);
	cr_assert_eq(r.left, 0u);
	cr_assert_eq(gb_reader_take(&r, 0, "nothing", &p, &err), GB_OK);
}

Test(reader, quote_for_messages)
{
	char buf[64];
	cr_assert_str_eq(gb_reader_quote("a\x01\xffz", 4, buf, sizeof buf), "a??z");
	char long_text[100];
	memset(long_text, 'x', sizeof long_text);
	gb_reader_quote(long_text, sizeof long_text, buf, sizeof buf);
	cr_assert_eq(strlen(buf), 43u);
	cr_assert_str_eq(buf + 40, "...");
	cr_assert_str_eq(gb_reader_quote("abcdef", 6, buf, 4), "");
}
