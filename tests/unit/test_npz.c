/*
 * test_npz.c — .npz load/save: files numpy wrote (np.savez and
 * np.savez_compressed, tests/fixtures/npz, made by
 * tests/fixtures/make_npz_fixtures.py), round trips, members byte-equal to
 * gb_npy_save's files, deterministic bytes, files glassbox wrote read back
 * by numpy, atomic saves, and one test per class of bad archive.
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

#include <zip.h>

#include "core/core.h"

#define FIXTURES "tests/fixtures/npz/"

/* ---- helpers --------------------------------------------------------------- */

#include "tmpdir.h"

TestSuite(npz, .init = make_tmpdir, .fini = remove_tmpdir);

static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *buf;
	gb_error err = {0};
	cr_assert_eq(gb_file_read(path, (size_t)1 << 30, &buf, len, &err), GB_OK, "%s", err.msg);
	return buf;
}

/* A tensor whose element k is a dtype-specific function of k. */
static gb_tensor *patterned(gb_dtype dtype, int ndim, const int64_t *dims)
{
	gb_tensor *t;
	cr_assert_eq(gb_tensor_new(dtype, ndim, dims, &t, NULL), GB_OK);
	int64_t n = gb_tensor_numel(t);
	for (int64_t k = 0; k < n; k++) {
		switch (dtype) {
		case GB_DTYPE_F32: ((float *)t->data)[k] = (float)k * 0.75f - 3.125f; break;
		case GB_DTYPE_F64: ((double *)t->data)[k] = (double)k / 7.0 - 1e10; break;
		case GB_DTYPE_I64: ((int64_t *)t->data)[k] = (k - 3) * 1000000000007LL; break;
		case GB_DTYPE_I32: ((int32_t *)t->data)[k] = (int32_t)(k * 65537 - 100000); break;
		case GB_DTYPE_U8: ((uint8_t *)t->data)[k] = (uint8_t)((k * 37 + 200) % 256); break;
		case GB_DTYPE_BOOL: ((uint8_t *)t->data)[k] = k % 3 == 1; break;
		default: cr_assert_fail("bad dtype");
		}
	}
	return t;
}

static void assert_tensor_eq(const gb_tensor *got, const gb_tensor *want, const char *what)
{
	cr_assert_not_null(got, "%s: missing", what);
	cr_assert_eq(got->dtype, want->dtype, "%s: dtype", what);
	cr_assert_eq(got->ndim, want->ndim, "%s: rank", what);
	for (int i = 0; i < want->ndim; i++)
		cr_assert_eq(got->dims[i], want->dims[i], "%s: dim %d", what, i);
	size_t bytes = (size_t)gb_tensor_numel(want) * gb_dtype_size(want->dtype);
	cr_assert(bytes == 0 || memcmp(got->data, want->data, bytes) == 0, "%s: data differs", what);
}

/* The map every test's round trip uses: every dtype, a scalar, empty shapes. */
static gb_tensor_map *every_dtype_map(void)
{
	static const struct {
		const char *name;
		gb_dtype dtype;
		int ndim;
		int64_t dims[3];
	} items[] = {
		{"f4", GB_DTYPE_F32, 3, {2, 3, 4}}, {"f8", GB_DTYPE_F64, 1, {5}},
		{"i8", GB_DTYPE_I64, 1, {6}},       {"i4", GB_DTYPE_I32, 2, {2, 2}},
		{"u1", GB_DTYPE_U8, 1, {7}},        {"b1", GB_DTYPE_BOOL, 2, {3, 2}},
		{"scalar", GB_DTYPE_F32, 0, {0}},   {"empty", GB_DTYPE_F32, 1, {0}},
		{"empty3", GB_DTYPE_I64, 3, {3, 0, 2}},
	};
	gb_tensor_map *map;
	cr_assert_eq(gb_tensor_map_new(&map, NULL), GB_OK);
	for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
		gb_tensor *t = patterned(items[i].dtype, items[i].ndim, items[i].dims);
		cr_assert_eq(gb_tensor_map_put(map, items[i].name, t, NULL), GB_OK);
		gb_tensor_free(t);
	}
	return map;
}

static void assert_names_file(const gb_error *err, const char *path)
{
	cr_assert(strstr(err->msg, path) != NULL, "message does not name %s: %s", path, err->msg);
}

/* ---- files numpy wrote ----------------------------------------------------- */

/* The arrays make_npz_fixtures.py saves, in its order. */
static void check_fixture_arrays(const gb_tensor_map *map)
{
	cr_assert_eq(gb_tensor_map_count(map), 5);
	static const char *const names[] = {"weights", "labels", "mask", "scalar", "zeros"};
	for (int i = 0; i < 5; i++)
		cr_assert_str_eq(gb_tensor_map_name(map, i), names[i], "archive order is kept");

	const gb_tensor *w = gb_tensor_map_get(map, "weights");
	cr_assert_eq(w->dtype, GB_DTYPE_F32);
	cr_assert_eq(w->ndim, 2);
	cr_assert(w->dims[0] == 2 && w->dims[1] == 3);
	for (int k = 0; k < 6; k++)
		cr_assert_eq(((const float *)w->data)[k], (float)k * 0.5f - 1.0f);

	const gb_tensor *l = gb_tensor_map_get(map, "labels");
	cr_assert(l->dtype == GB_DTYPE_I64 && l->ndim == 1 && l->dims[0] == 4);
	const int64_t want_l[4] = {3, -1, (int64_t)1 << 40, 0};
	cr_assert_arr_eq(l->data, want_l, sizeof want_l);

	const gb_tensor *m = gb_tensor_map_get(map, "mask");
	cr_assert(m->dtype == GB_DTYPE_BOOL && m->ndim == 2 && m->dims[0] == 2 && m->dims[1] == 2);
	const uint8_t want_m[4] = {1, 0, 0, 1};
	cr_assert_arr_eq(m->data, want_m, sizeof want_m);

	const gb_tensor *s = gb_tensor_map_get(map, "scalar");
	cr_assert(s->dtype == GB_DTYPE_F64 && s->ndim == 0);
	cr_assert_eq(*(const double *)s->data, 2.25);

	const gb_tensor *z = gb_tensor_map_get(map, "zeros");
	cr_assert(z->dtype == GB_DTYPE_F32 && z->ndim == 1 && z->dims[0] == 1000);
	for (int k = 0; k < 1000; k++)
		cr_assert_eq(((const float *)z->data)[k], 0.0f);
}

Test(npz, numpy_savez)
{
	gb_tensor_map *map;
	gb_error err = {0};
	cr_assert_eq(gb_npz_load(FIXTURES "savez.npz", &map, &err), GB_OK, "%s", err.msg);
	check_fixture_arrays(map);
	gb_tensor_map_free(map);
}

Test(npz, numpy_savez_compressed)
{
	gb_tensor_map *map;
	gb_error err = {0};
	cr_assert_eq(gb_npz_load(FIXTURES "savez_compressed.npz", &map, &err), GB_OK, "%s", err.msg);
	check_fixture_arrays(map);
	gb_tensor_map_free(map);
}

Test(npz, numpy_empty_archive)
{
	gb_tensor_map *map;
	gb_error err = {0};
	cr_assert_eq(gb_npz_load(FIXTURES "empty.npz", &map, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_tensor_map_count(map), 0);
	gb_tensor_map_free(map);
}

/* ---- what glassbox writes -------------------------------------------------- */

Test(npz, round_trip_every_dtype_and_shape)
{
	char path[256];
	tmp_path(path, sizeof path, "all.npz");
	gb_tensor_map *map = every_dtype_map(), *back;
	gb_error err = {0};
	cr_assert_eq(gb_npz_save(path, map, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_npz_load(path, &back, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_tensor_map_count(back), gb_tensor_map_count(map));
	for (int i = 0; i < gb_tensor_map_count(map); i++) {
		cr_assert_str_eq(gb_tensor_map_name(back, i), gb_tensor_map_name(map, i));
		assert_tensor_eq(gb_tensor_map_at(back, i), gb_tensor_map_at(map, i), gb_tensor_map_name(map, i));
	}
	cr_assert_eq(tmpdir_count(), 1, "no temporary file is left behind");
	gb_tensor_map_free(map);
	gb_tensor_map_free(back);
}

/* Each member is stored, byte for byte what gb_npy_save writes. */
Test(npz, members_are_stored_npy_files)
{
	char path[256], npy[256];
	tmp_path(path, sizeof path, "all.npz");
	gb_tensor_map *map = every_dtype_map();
	gb_error err = {0};
	cr_assert_eq(gb_npz_save(path, map, &err), GB_OK, "%s", err.msg);

	int code;
	zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
	cr_assert_not_null(za, "libzip cannot open what glassbox wrote (error %d)", code);
	cr_assert_eq(zip_get_num_entries(za, 0), gb_tensor_map_count(map));
	for (int i = 0; i < gb_tensor_map_count(map); i++) {
		zip_stat_t sb;
		cr_assert_eq(zip_stat_index(za, (zip_uint64_t)i, 0, &sb), 0);
		char want_name[64];
		snprintf(want_name, sizeof want_name, "%s.npy", gb_tensor_map_name(map, i));
		cr_assert_str_eq(sb.name, want_name);
		cr_assert_eq(sb.comp_method, ZIP_CM_STORE);

		tmp_path(npy, sizeof npy, want_name);
		cr_assert_eq(gb_npy_save(npy, gb_tensor_map_at(map, i), &err), GB_OK, "%s", err.msg);
		size_t want_len;
		uint8_t *want = slurp(npy, &want_len);
		cr_assert_eq(sb.size, want_len, "%s: size", want_name);
		uint8_t *got = malloc(want_len + 1);
		zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)i, 0);
		cr_assert_not_null(zf);
		cr_assert_eq(zip_fread(zf, got, want_len + 1), (zip_int64_t)want_len);
		zip_fclose(zf);
		cr_assert_arr_eq(got, want, want_len, "%s differs from gb_npy_save's file", want_name);
		free(got);
		free(want);
		unlink(npy);
	}
	zip_discard(za);
	gb_tensor_map_free(map);
}

/* Equal maps give equal bytes, whatever the time or the time zone. */
Test(npz, deterministic_bytes)
{
	char a[256], b[256];
	tmp_path(a, sizeof a, "a.npz");
	tmp_path(b, sizeof b, "b.npz");
	gb_tensor_map *map = every_dtype_map();
	gb_error err = {0};
	const char *tz = getenv("TZ");
	char *saved_tz = tz ? gb_strdup(tz) : NULL;
	setenv("TZ", "UTC", 1);
	tzset();
	cr_assert_eq(gb_npz_save(a, map, &err), GB_OK, "%s", err.msg);
	setenv("TZ", "Pacific/Kiritimati", 1); /* UTC+14 */
	tzset();
	sleep(1);
	cr_assert_eq(gb_npz_save(b, map, &err), GB_OK, "%s", err.msg);
	if (saved_tz)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved_tz);
	size_t la, lb;
	uint8_t *da = slurp(a, &la), *db = slurp(b, &lb);
	cr_assert_eq(la, lb);
	cr_assert_arr_eq(da, db, la, "two saves of the same map differ");
	free(da);
	free(db);
	gb_tensor_map_free(map);
}

Test(npz, empty_map_round_trip)
{
	char path[256];
	tmp_path(path, sizeof path, "none.npz");
	gb_tensor_map *map, *back;
	cr_assert_eq(gb_tensor_map_new(&map, NULL), GB_OK);
	gb_error err = {0};
	cr_assert_eq(gb_npz_save(path, map, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_npz_load(path, &back, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_tensor_map_count(back), 0);
	size_t len;
	uint8_t *got = slurp(path, &len), *want = slurp(FIXTURES "empty.npz", &len);
	cr_assert_eq(len, 22);
	cr_assert_arr_eq(got, want, len, "an empty archive is numpy's 22 bytes");
	free(got);
	free(want);
	gb_tensor_map_free(map);
	gb_tensor_map_free(back);
}

Test(npz, save_replaces_existing_file)
{
	char path[256];
	tmp_path(path, sizeof path, "x.npz");
	FILE *fp = fopen(path, "wb");
	cr_assert_not_null(fp);
	fputs("old contents, not a zip", fp);
	fclose(fp);
	gb_tensor_map *map = every_dtype_map(), *back;
	gb_error err = {0};
	cr_assert_eq(gb_npz_save(path, map, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_npz_load(path, &back, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_tensor_map_count(back), gb_tensor_map_count(map));
	cr_assert_eq(tmpdir_count(), 1);
	gb_tensor_map_free(map);
	gb_tensor_map_free(back);
}

static const char readback_py[] =
	"import sys\n"
	"import numpy as np\n"
	"z = np.load(sys.argv[1])\n"
	"assert z.files == ['f4', 'f8', 'i8', 'i4', 'u1', 'b1', 'scalar', 'empty', 'empty3'], z.files\n"
	"def check(name, want):\n"
	"    got = z[name]\n"
	"    assert got.dtype == want.dtype, (name, got.dtype, want.dtype)\n"
	"    assert got.shape == want.shape, (name, got.shape, want.shape)\n"
	"    assert np.array_equal(got, want), (name, got, want)\n"
	"k = np.arange(24)\n"
	"check('f4', (k.astype(np.float32) * np.float32(0.75) - np.float32(3.125)).reshape(2, 3, 4))\n"
	"check('f8', (np.arange(5) / 7.0 - 1e10))\n"
	"check('i8', (np.arange(6, dtype=np.int64) - 3) * 1000000000007)\n"
	"check('i4', (np.arange(4, dtype=np.int64) * 65537 - 100000).astype(np.int32).reshape(2, 2))\n"
	"check('u1', ((np.arange(7) * 37 + 200) % 256).astype(np.uint8))\n"
	"check('b1', (np.arange(6) % 3 == 1).reshape(3, 2))\n"
	"check('scalar', np.array(-3.125, dtype=np.float32))\n"
	"check('empty', np.zeros((0,), dtype=np.float32))\n"
	"check('empty3', np.zeros((3, 0, 2), dtype=np.int64))\n"
	"e = np.load(sys.argv[2])\n"
	"assert e.files == [], e.files\n";

Test(npz, numpy_reads_what_glassbox_writes)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("/usr/bin/python3 is not installed");
	if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0)
		cr_skip_test("numpy is not installed for /usr/bin/python3");
	char path[256], empty[256], script[256];
	gb_tensor_map *map = every_dtype_map(), *none;
	cr_assert_eq(gb_tensor_map_new(&none, NULL), GB_OK);
	gb_error err = {0};
	cr_assert_eq(gb_npz_save(tmp_path(path, sizeof path, "all.npz"), map, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(gb_npz_save(tmp_path(empty, sizeof empty, "none.npz"), none, &err), GB_OK, "%s", err.msg);
	FILE *fp = fopen(tmp_path(script, sizeof script, "check.py"), "w");
	cr_assert_not_null(fp);
	fputs(readback_py, fp);
	fclose(fp);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s", script, path, empty);
	cr_assert_eq(system(cmd), 0, "numpy disagrees with what glassbox wrote (see stderr)");
	gb_tensor_map_free(map);
	gb_tensor_map_free(none);
}

Test(npz, save_into_missing_directory_leaves_nothing)
{
	char path[256];
	tmp_path(path, sizeof path, "no/such/dir/x.npz");
	gb_tensor_map *map = every_dtype_map();
	gb_error err = {0};
	cr_assert_eq(gb_npz_save(path, map, &err), GB_STATUS_IO);
	assert_names_file(&err, path);
	cr_assert_eq(tmpdir_count(), 0);
	gb_tensor_map_free(map);
}

Test(npz, failed_rename_removes_temp_file)
{
	char path[256];
	tmp_path(path, sizeof path, "target.npz");
	cr_assert_eq(mkdir(path, 0700), 0);
	gb_tensor_map *map = every_dtype_map();
	gb_error err = {0};
	cr_assert_eq(gb_npz_save(path, map, &err), GB_STATUS_IO);
	assert_names_file(&err, path);
	cr_assert_eq(tmpdir_count(), 1, "a temporary file was left behind");
	gb_tensor_map_free(map);
}

/* ---- bad archives: one test per class --------------------------------------- */

/* Loading FIXTURES name fails with status, and the message names the file
 * and contains each of the given fragments (NULL-terminated). */
static void assert_load_fails(const char *name, gb_status status, ...)
{
	char path[256];
	snprintf(path, sizeof path, FIXTURES "%s", name);
	gb_tensor_map *map = (gb_tensor_map *)1;
	gb_error err = {0};
	gb_status st = gb_npz_load(path, &map, &err);
	cr_assert_eq(st, status, "%s: status %s, want %s (%s)", name, gb_status_name(st), gb_status_name(status), err.msg);
	cr_assert_null(map, "%s: *out is NULL on failure", name);
	assert_names_file(&err, path);
	va_list ap;
	va_start(ap, status);
	const char *frag;
	while ((frag = va_arg(ap, const char *)))
		cr_assert(strstr(err.msg, frag), "%s: message lacks '%s': %s", name, frag, err.msg);
	va_end(ap);
}

Test(npz, missing_file)
{
	assert_load_fails("no_such_file.npz", GB_STATUS_BAD_FILE, (char *)NULL);
}

Test(npz, not_a_zip)
{
	assert_load_fails("not_zip.npz", GB_STATUS_BAD_FILE, "not an .npz", (char *)NULL);
}

Test(npz, truncated_archive)
{
	assert_load_fails("truncated.npz", GB_STATUS_BAD_FILE, (char *)NULL);
}

Test(npz, member_that_is_not_npy)
{
	assert_load_fails("member_txt.npz", GB_STATUS_BAD_FILE, "'notes.txt'", "not a .npy", (char *)NULL);
	assert_load_fails("member_dir.npz", GB_STATUS_BAD_FILE, "'d/'", "not a .npy", (char *)NULL);
}

Test(npz, bad_crc)
{
	assert_load_fails("bad_crc.npz", GB_STATUS_BAD_FILE, "'x.npy'", (char *)NULL);
}

Test(npz, size_bomb_refused_before_reading)
{
	assert_load_fails("bomb.npz", GB_STATUS_BAD_FILE, "'x.npy'", "3000000000", (char *)NULL);
}

Test(npz, compressed_size_past_the_archive)
{
	assert_load_fails("comp_size.npz", GB_STATUS_BAD_FILE, (char *)NULL);
}

Test(npz, member_inflating_past_declared_size)
{
	assert_load_fails("inflates_more.npz", GB_STATUS_BAD_FILE, "'x.npy'", (char *)NULL);
}

Test(npz, stored_member_with_wrong_size)
{
	assert_load_fails("stored_size.npz", GB_STATUS_BAD_FILE, "'x.npy'", (char *)NULL);
}

Test(npz, corrupt_npy_member)
{
	assert_load_fails("bad_npy.npz", GB_STATUS_BAD_FILE, "member 'x.npy'", (char *)NULL);
}

Test(npz, unsupported_npy_member)
{
	assert_load_fails("f2_member.npz", GB_STATUS_UNSUPPORTED, "member 'h.npy'", "<f2", (char *)NULL);
}

Test(npz, duplicate_member)
{
	assert_load_fails("duplicate.npz", GB_STATUS_BAD_FILE, "same name", (char *)NULL);
}
