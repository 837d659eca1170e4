/*
 * tmpdir.h — a scratch directory per test for the file-format tests
 * (header-only, static; include after <criterion/criterion.h>):
 *
 *   TestSuite(name, .init = make_tmpdir, .fini = remove_tmpdir);
 *   tmp_path(buf, size, "x.npy")   a path inside it
 *   tmpdir_count()                 entries in it (0 after a failed save)
 *   write_file(path, bytes, n)     writes a file, asserting success
 */
#ifndef GB_TEST_TMPDIR_H
#define GB_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static inline void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/gb_test_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

/* Removes tmpdir and everything one level below it (tests make no deeper
 * trees, except empty directories). */
static inline void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	if (!d)
		return;
	struct dirent *ent;
	char path[512];
	while ((ent = readdir(d))) {
		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", tmpdir, ent->d_name);
		if (unlink(path) != 0)
			rmdir(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

static inline const char *tmp_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
	return buf;
}

static inline int tmpdir_count(void)
{
	DIR *d = opendir(tmpdir);
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *ent;
	while ((ent = readdir(d)))
		if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static inline void write_file(const char *path, const void *buf, size_t n)
{
	FILE *fp = fopen(path, "wb");
	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(buf, 1, n, fp), n);
	cr_assert_eq(fclose(fp), 0);
}

#endif /* GB_TEST_TMPDIR_H */
