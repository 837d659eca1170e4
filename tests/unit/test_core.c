/*
 * test_core.c — arena, tensors, tensor maps, checked sizes, atomic writes.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "core/core.h"
#include "testutil.h"

Test(core, arena_alignment_and_reset)
{
	gb_arena a;
	gb_arena_init(&a, 256);
	for (int i = 1; i < 100; i++) {
		void *p = gb_arena_alloc(&a, (size_t)i * 7);
		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % 64, 0);
		memset(p, 0xAB, (size_t)i * 7);
	}
	size_t used = a.used_total;
	gb_arena_reset(&a);
	cr_assert_eq(a.used_total, 0);
	cr_assert_not_null(a.head);
	cr_assert_geq(((size_t *)a.head)[1], used); /* one block big enough for last time */
	cr_assert_null(gb_arena_alloc(&a, SIZE_MAX - 10));
	gb_arena_release(&a);
}

Test(core, checked_sizes)
{
	size_t out;
	cr_assert(gb_mul_size(1u << 20, 1u << 20, &out));
	cr_assert_not(gb_mul_size(SIZE_MAX / 2, 3, &out));
	cr_assert_not(gb_add_size(SIZE_MAX, 1, &out));
	int64_t huge[3] = {1LL << 40, 1LL << 40, 4};
	cr_assert_not(gb_shape_bytes(GB_DTYPE_F32, 3, huge, &out));
	int64_t neg[2] = {3, -1};
	cr_assert_not(gb_shape_bytes(GB_DTYPE_F32, 2, neg, &out));
	gb_error err = {0};
	int64_t n;
	cr_assert_eq(gb_shape_numel(3, huge, &n, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "more elements") != NULL);
}

Test(core, tensor_new_clone_free)
{
	gb_error err = {0};
	gb_tensor *t = NULL;
	int64_t dims[2] = {3, 4};
	cr_assert_eq(gb_tensor_new(GB_DTYPE_F32, 2, dims, &t, &err), GB_OK);
	cr_assert_eq(gb_tensor_numel(t), 12);
	cr_assert_eq(((float *)t->data)[11], 0.0f);
	((float *)t->data)[5] = 2.5f;
	gb_tensor *c = NULL;
	cr_assert_eq(gb_tensor_clone(t, &c, &err), GB_OK);
	cr_assert_eq(((float *)c->data)[5], 2.5f);
	cr_assert_neq(c->data, t->data);
	gb_tensor_free(t);
	gb_tensor_free(c);
	gb_tensor_free(NULL);
	int64_t bad[1] = {-2};
	cr_assert_eq(gb_tensor_new(GB_DTYPE_F32, 1, bad, &t, &err), GB_STATUS_USAGE);
	cr_assert_null(t);
	int64_t huge[2] = {INT64_MAX / 2, 4};
	cr_assert_eq(gb_tensor_new(GB_DTYPE_F32, 2, huge, &t, &err), GB_STATUS_NOMEM);
}

Test(core, tensor_map)
{
	gb_error err = {0};
	gb_tensor_map *map = NULL;
	cr_assert_eq(gb_tensor_map_new(&map, &err), GB_OK);
	int64_t dims[1] = {2};
	gb_tensor *a = tu_tensor(GB_DTYPE_F32, 1, dims, (float[]){1, 2});
	gb_tensor *b = tu_tensor(GB_DTYPE_F32, 1, dims, (float[]){3, 4});
	cr_assert_eq(gb_tensor_map_put(map, "a", a, &err), GB_OK);
	cr_assert_eq(gb_tensor_map_put(map, "b", b, &err), GB_OK);
	cr_assert_eq(gb_tensor_map_put(map, "a", b, &err), GB_OK); /* replace */
	cr_assert_eq(gb_tensor_map_count(map), 2);
	cr_assert_str_eq(gb_tensor_map_name(map, 0), "a");
	cr_assert_eq(((float *)gb_tensor_map_get(map, "a")->data)[1], 4.0f);
	cr_assert_null(gb_tensor_map_get(map, "zzz"));
	gb_tensor_free(a);
	gb_tensor_free(b);
	gb_tensor_map_free(map);
}

Test(core, atomic_write_commit_and_abort)
{
	char dir[] = "/tmp/gbtestXXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/out.bin", dir);
	gb_error err = {0};
	gb_atomic_file f;
	cr_assert_eq(gb_atomic_open(&f, path, &err), GB_OK);
	fputs("partial", f.fp);
	gb_atomic_abort(&f);
	cr_assert_neq(access(path, F_OK), 0, "aborted write must leave nothing");
	cr_assert_eq(gb_atomic_open(&f, path, &err), GB_OK);
	fputs("whole", f.fp);
	cr_assert_eq(gb_atomic_commit(&f, &err), GB_OK);
	uint8_t *buf;
	size_t len;
	cr_assert_eq(gb_file_read(path, 100, &buf, &len, &err), GB_OK);
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(buf, "whole", 5), 0);
	free(buf);
	cr_assert_eq(gb_file_read(path, 3, &buf, &len, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, path) != NULL);
	unlink(path);
	rmdir(dir);
}
