/*
 * npz.c — NumPy .npz files: a zip archive of .npy members, one per array,
 * named NAME.npy (np.savez stores them, np.savez_compressed deflates them).
 * The zip container is libzip's; each member is parsed by gb_npy_parse.
 *
 * Loading is defensive about the container, because a zip's central
 * directory declares sizes that the data need not honour:
 *
 *  - the archive is opened with ZIP_CHECKCONS (local and central headers
 *    must agree) and every member must be named NAME.npy, NAME unique;
 *  - only stored and deflated members are read (numpy writes nothing else),
 *    and no encrypted ones;
 *  - a member's declared sizes are checked before any allocation: its
 *    compressed size fits in the archive; a stored member's size is exactly
 *    that, a deflated one's at most NPZ_DEFLATE_RATIO times it (deflate's
 *    ceiling is about 1032:1); and no member exceeds GB_MAX_FILE_BYTES. A
 *    size no compressor could produce from the bytes present is a lie, so a
 *    zip bomb fails here;
 *  - exactly the declared size is then read, and one more read must report
 *    end of data with a good CRC, so a member that inflates to more (or to
 *    less, or to other bytes) than declared is refused without ever being
 *    buffered past its declared size.
 *
 * Saving writes each tensor as a .npy member (the header exactly as numpy
 * and gb_npy_save write it; the data is handed to libzip without a copy),
 * stored uncompressed like np.savez, with every timestamp set to
 * 1980-01-01 00:00 so that the same tensors always give the same bytes.
 * libzip writes the archive to a temporary name next to the target, which
 * is then renamed into place: a failed save leaves nothing at path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zip.h>

#include "core/core.h"
#include "io/io.h"
#include "io/reader.h"

#define NPZ_SUFFIX ".npy"
#define NPZ_SUFFIX_LEN 4
/* Deflate cannot expand by more than about 1032:1 (258-byte matches coded
 * in 2 bits); the slack covers the end-of-stream overhead of tiny members. */
#define NPZ_DEFLATE_RATIO 1032
#define NPZ_DEFLATE_SLACK 1024
#define NPY_ALIGN 64

/* ---- errors ------------------------------------------------------------------ */

/* Status for a libzip error code: memory is NOMEM, everything a file can do
 * wrong (not a zip, inconsistent, CRC, truncated, unreadable) is BAD_FILE,
 * a failed write is IO. */
static gb_status zip_status(int code, bool writing)
{
	if (code == ZIP_ER_MEMORY)
		return GB_STATUS_NOMEM;
	if (writing)
		return GB_STATUS_IO;
	return GB_STATUS_BAD_FILE;
}

static gb_status fail_zip_error(gb_error *err, zip_error_t *ze, bool writing, const char *fmt_path, const char *what)
{
	return gb_fail(err, zip_status(zip_error_code_zip(ze), writing), "%s: %s: %s", fmt_path, what,
	               zip_error_strerror(ze));
}

/* ---- load -------------------------------------------------------------------- */

/* Checks one member's directory entry: name, method, encryption and the
 * declared size. On success *size is the number of bytes to read and name
 * is the array name (the member name without ".npy"), in a buffer of
 * name_size bytes. */
static gb_status npz_check_member(const char *path, uint64_t archive_size, const zip_stat_t *sb, char *name,
                                  size_t name_size, gb_error *err)
{
	char shown[64];
	const zip_uint64_t need = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
	if ((sb->valid & need) != need)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: member %llu: the zip directory does not give its name and sizes",
		               path, (unsigned long long)sb->index);
	const char *member = sb->name;
	size_t len = strlen(member);
	gb_reader_quote(member, len, shown, sizeof shown);
	if (len < NPZ_SUFFIX_LEN || strcmp(member + len - NPZ_SUFFIX_LEN, NPZ_SUFFIX) != 0)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: member '%s' is not a .npy file (an .npz holds only NAME.npy members)",
		               path, shown);
	GB_ASSERT(len - NPZ_SUFFIX_LEN < name_size);
	memcpy(name, member, len - NPZ_SUFFIX_LEN);
	name[len - NPZ_SUFFIX_LEN] = '\0';

	if (sb->comp_size > archive_size)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: member '%s' declares %llu compressed bytes in a %llu-byte archive",
		               path, shown, (unsigned long long)sb->comp_size, (unsigned long long)archive_size);
	if ((sb->valid & ZIP_STAT_ENCRYPTION_METHOD) && sb->encryption_method != ZIP_EM_NONE)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: member '%s' is encrypted", path, shown);
	if (sb->comp_method == ZIP_CM_STORE) {
		if (sb->size != sb->comp_size)
			return gb_fail(err, GB_STATUS_BAD_FILE,
			               "%s: member '%s' is stored uncompressed but declares %llu bytes in %llu", path, shown,
			               (unsigned long long)sb->size, (unsigned long long)sb->comp_size);
	} else if (sb->comp_method == ZIP_CM_DEFLATE) {
		if (sb->comp_size > UINT64_MAX / NPZ_DEFLATE_RATIO ||
		    sb->size > sb->comp_size * NPZ_DEFLATE_RATIO + NPZ_DEFLATE_SLACK)
			return gb_fail(err, GB_STATUS_BAD_FILE,
			               "%s: member '%s' declares %llu bytes from %llu compressed, more than deflate can produce",
			               path, shown, (unsigned long long)sb->size, (unsigned long long)sb->comp_size);
	} else {
		return gb_fail(err, GB_STATUS_UNSUPPORTED,
		               "%s: member '%s' uses zip compression method %d (glassbox reads stored and deflated members)",
		               path, shown, (int)sb->comp_method);
	}
	if (sb->size > GB_MAX_FILE_BYTES)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: member '%s' declares %llu bytes, more than the limit of %zu", path,
		               shown, (unsigned long long)sb->size, GB_MAX_FILE_BYTES);
	return GB_OK;
}

/* Reads member index (declared size size) into a new buffer, checking that
 * it holds exactly that many bytes and that its CRC is good. */
static gb_status npz_read_member(zip_t *za, zip_uint64_t index, size_t size, const char *label, uint8_t **out,
                                 gb_error *err)
{
	*out = NULL;
	gb_status st;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: cannot allocate %zu bytes", label, size);
	zip_file_t *zf = zip_fopen_index(za, index, 0);
	if (!zf) {
		st = fail_zip_error(err, zip_get_error(za), false, label, "cannot open");
		goto fail;
	}
	zip_int64_t got = size ? zip_fread(zf, buf, size) : 0;
	uint8_t extra;
	zip_int64_t more = got == (zip_int64_t)size ? zip_fread(zf, &extra, 1) : 0;
	if (got < 0 || more < 0) {
		st = fail_zip_error(err, zip_file_get_error(zf), false, label, "corrupt data");
		goto fail;
	}
	if (got != (zip_int64_t)size || more != 0) {
		st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: corrupt data: it holds %s bytes than the %zu its zip entry declares",
		             label, got != (zip_int64_t)size ? "fewer" : "more", size);
		goto fail;
	}
	zip_fclose(zf);
	*out = buf;
	return GB_OK;

fail:
	if (zf)
		zip_fclose(zf);
	free(buf);
	return st;
}

gb_status gb_npz_load(const char *path, gb_tensor_map **out, gb_error *err)
{
	*out = NULL;
	gb_status st;
	gb_tensor_map *map = NULL;
	uint8_t *buf = NULL;
	gb_tensor *t = NULL;
	char *label = NULL;
	char *name = NULL;

	struct stat archive;
	if (stat(path, &archive) != 0)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: cannot open: %s", path, strerror(errno));
	if (!S_ISREG(archive.st_mode))
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: not a regular file", path);
	int code = 0;
	zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
	if (!za) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, code);
		if (code == ZIP_ER_NOZIP)
			st = gb_fail(err, GB_STATUS_BAD_FILE,
			             "%s: not an .npz file (not a zip archive, or its zip directory is corrupt)", path);
		else if (code == ZIP_ER_EXISTS) /* what ZIP_CHECKCONS reports for a name used twice */
			st = gb_fail(err, GB_STATUS_BAD_FILE, "%s: two members have the same name", path);
		else
			st = fail_zip_error(err, &ze, false, path, "cannot open");
		zip_error_fini(&ze);
		return st;
	}
	if ((st = gb_tensor_map_new(&map, err)) != GB_OK)
		goto fail;
	zip_int64_t count = zip_get_num_entries(za, 0);
	size_t path_len = strlen(path);
	for (zip_int64_t i = 0; i < count; i++) {
		zip_stat_t sb;
		zip_stat_init(&sb);
		if (zip_stat_index(za, (zip_uint64_t)i, 0, &sb) != 0) {
			st = fail_zip_error(err, zip_get_error(za), false, path, "cannot read the zip directory");
			goto fail;
		}
		size_t member_len = sb.valid & ZIP_STAT_NAME ? strlen(sb.name) : 0;
		size_t label_size = path_len + 64 + 16;
		free(label);
		free(name);
		label = malloc(label_size);
		name = malloc(member_len + 1);
		if (!label || !name) {
			st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", path);
			goto fail;
		}
		if ((st = npz_check_member(path, (uint64_t)archive.st_size, &sb, name, member_len + 1, err)) != GB_OK)
			goto fail;
		char shown[64];
		snprintf(label, label_size, "%s: member '%s'", path, gb_reader_quote(sb.name, member_len, shown, sizeof shown));
		if (gb_tensor_map_get(map, name)) {
			st = gb_fail(err, GB_STATUS_BAD_FILE, "%s appears twice", label);
			goto fail;
		}
		if ((st = npz_read_member(za, (zip_uint64_t)i, (size_t)sb.size, label, &buf, err)) != GB_OK)
			goto fail;
		if ((st = gb_npy_parse(buf, (size_t)sb.size, label, &t, err)) != GB_OK)
			goto fail;
		free(buf);
		buf = NULL;
		if ((st = gb_tensor_map_put(map, name, t, err)) != GB_OK)
			goto fail;
		gb_tensor_free(t);
		t = NULL;
	}
	free(label);
	free(name);
	zip_discard(za);
	*out = map;
	return GB_OK;

fail:
	gb_tensor_free(t);
	free(buf);
	free(label);
	free(name);
	gb_tensor_map_free(map);
	zip_discard(za);
	return st;
}

/* ---- save -------------------------------------------------------------------- */

/* The .npy header for t, exactly as numpy (and gb_npy_save) writes it:
 * version 1.0, the dict with sorted keys and the shape's repr, padded with
 * spaces and a '\n' so the data starts on a 64-byte boundary. Returns its
 * length, or 0 for a dtype .npy cannot hold. */
static size_t npy_header(const gb_tensor *t, char *buf, size_t size)
{
	static const char *const descr[GB_DTYPE_COUNT] = {
		[GB_DTYPE_F32] = "<f4", [GB_DTYPE_F64] = "<f8", [GB_DTYPE_I64] = "<i8",
		[GB_DTYPE_I32] = "<i4", [GB_DTYPE_U8] = "|u1",  [GB_DTYPE_BOOL] = "|b1",
	};
	if ((unsigned)t->dtype >= GB_DTYPE_COUNT || !descr[t->dtype])
		return 0;
	const size_t pre = 10; /* magic, version, u16 header length */
	size_t len = pre;
	len += (size_t)snprintf(buf + len, size - len, "{'descr': '%s', 'fortran_order': False, 'shape': (",
	                        descr[t->dtype]);
	for (int i = 0; i < t->ndim; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
	len += (size_t)snprintf(buf + len, size - len, "%s), }", t->ndim == 1 ? "," : "");
	size_t pad = (NPY_ALIGN - (len + 1) % NPY_ALIGN) % NPY_ALIGN;
	GB_ASSERT(len + pad + 1 <= size);
	memset(buf + len, ' ', pad);
	len += pad;
	buf[len++] = '\n';
	size_t header_len = len - pre;
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (char)(header_len & 0xff);
	buf[9] = (char)(header_len >> 8);
	return len;
}

/* The DOS timestamp 1980-01-01 00:00 as the time_t libzip converts back with
 * localtime(), so the archive's bytes do not depend on the time zone. */
static time_t npz_fixed_mtime(void)
{
	struct tm tm = {0};
	tm.tm_year = 80;
	tm.tm_mday = 1;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/* An empty .npz (np.savez with no arrays) is just the end-of-central-
 * directory record; libzip deletes rather than writes an empty archive. */
static gb_status npz_save_empty(const char *path, gb_error *err)
{
	static const uint8_t eocd[22] = {'P', 'K', 5, 6};
	gb_atomic_file f;
	gb_status st = gb_atomic_open(&f, path, err);
	if (st != GB_OK)
		return st;
	if (fwrite(eocd, 1, sizeof eocd, f.fp) != sizeof eocd) {
		int e = errno;
		gb_atomic_abort(&f);
		return gb_fail(err, GB_STATUS_IO, "%s: write failed: %s", path, strerror(e));
	}
	return gb_atomic_commit(&f, err);
}

gb_status gb_npz_save(const char *path, const gb_tensor_map *map, gb_error *err)
{
	int count = gb_tensor_map_count(map);
	/* Check every tensor before touching the file system. */
	for (int i = 0; i < count; i++) {
		const gb_tensor *t = gb_tensor_map_at(map, i);
		size_t bytes;
		if ((unsigned)t->dtype >= GB_DTYPE_COUNT)
			return gb_fail(err, GB_STATUS_USAGE, "%s: tensor '%s' has invalid dtype %d", path,
			               gb_tensor_map_name(map, i), (int)t->dtype);
		if (t->ndim < 0 || t->ndim > GB_MAX_DIMS || !gb_shape_bytes(t->dtype, t->ndim, t->dims, &bytes))
			return gb_fail(err, GB_STATUS_USAGE, "%s: tensor '%s' has an invalid shape", path,
			               gb_tensor_map_name(map, i));
		if (bytes > 0 && !t->data)
			return gb_fail(err, GB_STATUS_USAGE, "%s: tensor '%s' has no data", path, gb_tensor_map_name(map, i));
	}
	if (count == 0)
		return npz_save_empty(path, err);

	gb_status st;
	zip_t *za = NULL;
	char *headers = NULL; /* count headers of NPY_HEADER_MAX bytes */
	char *member = NULL;
	enum { NPY_HEADER_MAX = 10 + 64 + GB_MAX_DIMS * 24 + NPY_ALIGN };

	/* A fresh temporary name next to path (mkstemp); libzip then replaces
	 * that file with the archive, and we rename it onto path. */
	gb_atomic_file f;
	if ((st = gb_atomic_open(&f, path, err)) != GB_OK)
		return st;
	fclose(f.fp);
	f.fp = NULL;

	headers = malloc((size_t)count * NPY_HEADER_MAX);
	if (!headers) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", path);
		goto fail;
	}
	int code = 0;
	za = zip_open(f.tmp_path, ZIP_TRUNCATE, &code);
	if (!za) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, code);
		st = fail_zip_error(err, &ze, true, path, "cannot create");
		zip_error_fini(&ze);
		goto fail;
	}
	time_t mtime = npz_fixed_mtime();
	for (int i = 0; i < count; i++) {
		const char *name = gb_tensor_map_name(map, i);
		const gb_tensor *t = gb_tensor_map_at(map, i);
		size_t bytes;
		gb_shape_bytes(t->dtype, t->ndim, t->dims, &bytes);
		char *header = headers + (size_t)i * NPY_HEADER_MAX;
		size_t header_len = npy_header(t, header, NPY_HEADER_MAX);
		GB_ASSERT(header_len > 0);
		zip_buffer_fragment_t frag[2] = {{(zip_uint8_t *)header, header_len}, {t->data, bytes}};
		zip_error_t ze;
		zip_error_init(&ze);
		zip_source_t *src = zip_source_buffer_fragment_create(frag, bytes ? 2 : 1, 0, &ze);
		if (!src) {
			st = fail_zip_error(err, &ze, true, path, "cannot add a member");
			zip_error_fini(&ze);
			goto fail;
		}
		zip_error_fini(&ze);
		free(member);
		member = malloc(strlen(name) + NPZ_SUFFIX_LEN + 1);
		if (!member) {
			zip_source_free(src);
			st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory", path);
			goto fail;
		}
		sprintf(member, "%s%s", name, NPZ_SUFFIX);
		zip_int64_t index = zip_file_add(za, member, src, ZIP_FL_ENC_UTF_8);
		if (index < 0) {
			zip_source_free(src);
			st = fail_zip_error(err, zip_get_error(za), true, path, "cannot add a member");
			goto fail;
		}
		if (zip_set_file_compression(za, (zip_uint64_t)index, ZIP_CM_STORE, 0) != 0 ||
		    zip_file_set_mtime(za, (zip_uint64_t)index, mtime, 0) != 0) {
			st = fail_zip_error(err, zip_get_error(za), true, path, "cannot add a member");
			goto fail;
		}
	}
	if (zip_close(za) != 0) {
		st = fail_zip_error(err, zip_get_error(za), true, path, "write failed");
		goto fail;
	}
	za = NULL;
	if (rename(f.tmp_path, path) != 0) {
		st = gb_fail(err, GB_STATUS_IO, "%s: cannot rename into place: %s", path, strerror(errno));
		goto fail;
	}
	free(f.tmp_path);
	free(headers);
	free(member);
	return GB_OK;

fail:
	if (za)
		zip_discard(za);
	unlink(f.tmp_path);
	free(f.tmp_path);
	free(headers);
	free(member);
	return st;
}
