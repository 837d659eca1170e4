/*
 * file.c — bounded whole-file reads and atomic (temp + rename) writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

gb_status gb_file_read(const char *path, size_t max_bytes, uint8_t **buf, size_t *len, gb_error *err)
{
	*buf = NULL;
	*len = 0;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(fp), &st) != 0) {
		int e = errno;
		fclose(fp);
		return gb_fail(err, GB_STATUS_IO, "%s: cannot stat: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		fclose(fp);
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > (uint64_t)max_bytes) {
		fclose(fp);
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: file is %lld bytes, more than the limit of %zu", path,
		               (long long)st.st_size, max_bytes);
	}
	size_t size = (size_t)st.st_size;
	uint8_t *data = malloc(size ? size : 1);
	if (!data) {
		fclose(fp);
		return gb_fail(err, GB_STATUS_NOMEM, "%s: cannot allocate %zu bytes", path, size);
	}
	size_t got = fread(data, 1, size, fp);
	int read_error = ferror(fp);
	fclose(fp);
	if (got != size || read_error) {
		free(data);
		return gb_fail(err, GB_STATUS_IO, "%s: read %zu of %zu bytes", path, got, size);
	}
	*buf = data;
	*len = size;
	return GB_OK;
}

gb_status gb_atomic_open(gb_atomic_file *f, const char *path, gb_error *err)
{
	f->fp = NULL;
	f->path = path;
	size_t n = strlen(path) + 16;
	f->tmp_path = malloc(n);
	if (!f->tmp_path)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", path);
	snprintf(f->tmp_path, n, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(f->tmp_path);
	if (fd < 0) {
		int e = errno;
		free(f->tmp_path);
		f->tmp_path = NULL;
		return gb_fail(err, GB_STATUS_IO, "%s: cannot create: %s", path, strerror(e));
	}
	/* mkstemp creates mode 0600; give the file the usual permissions. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	f->fp = fdopen(fd, "wb");
	if (!f->fp) {
		int e = errno;
		close(fd);
		unlink(f->tmp_path);
		free(f->tmp_path);
		f->tmp_path = NULL;
		return gb_fail(err, GB_STATUS_IO, "%s: cannot open: %s", path, strerror(e));
	}
	return GB_OK;
}

gb_status gb_atomic_commit(gb_atomic_file *f, gb_error *err)
{
	int failed = ferror(f->fp);
	int e = errno;
	if (fclose(f->fp) != 0 && !failed) {
		failed = 1;
		e = errno;
	}
	f->fp = NULL;
	if (!failed && rename(f->tmp_path, f->path) != 0) {
		failed = 1;
		e = errno;
	}
	if (failed)
		unlink(f->tmp_path);
	free(f->tmp_path);
	f->tmp_path = NULL;
	if (failed)
		return gb_fail(err, GB_STATUS_IO, "%s: write failed: %s", f->path, strerror(e));
	return GB_OK;
}

void gb_atomic_abort(gb_atomic_file *f)
{
	if (f->fp)
		fclose(f->fp);
	if (f->tmp_path) {
		unlink(f->tmp_path);
		free(f->tmp_path);
	}
	f->fp = NULL;
	f->tmp_path = NULL;
}

gb_status gb_file_write_text(const char *path, const char *text, gb_error *err)
{
	gb_atomic_file f;
	gb_status st = gb_atomic_open(&f, path, err);
	if (st != GB_OK)
		return st;
	fputs(text, f.fp);
	return gb_atomic_commit(&f, err);
}
