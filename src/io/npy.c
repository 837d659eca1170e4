/*
 * npy.c — NumPy .npy files, format versions 1.0, 2.0 and 3.0.
 *
 * A .npy file is
 *
 *     "\x93NUMPY" major minor   6 + 2 bytes
 *     header length             u16 LE (1.0) or u32 LE (2.0, 3.0)
 *     header                    a Python dict literal, e.g.
 *                               {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *                               padded with spaces and ended by '\n' so the
 *                               data starts on a 64-byte boundary
 *     data                      numel * itemsize raw bytes, no trailer
 *
 * 3.0 differs from 2.0 only in allowing UTF-8 in the header, which matters
 * for structured dtypes (unsupported here) and nowhere else.
 *
 * The header parser accepts exactly what Python's literal_eval would accept
 * for the three keys numpy writes (either quote style, any whitespace,
 * trailing commas, Python 2's "3L" integers) and nothing else: unknown or
 * repeated keys, "(5)" for a 1-tuple, signs, escapes are all BAD_FILE.
 *
 * gb_npy_load streams: it reads the preamble and header, checks that the
 * declared data size equals what the file holds, and only then allocates
 * the tensor and reads the data straight into it, so a header claiming
 * 10^18 elements fails before any allocation. gb_npy_parse does the same
 * over a buffer (for the fuzz target).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "io/reader.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c copies little-endian data without swapping; port it before building on a big-endian host"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* Longest preamble: magic, version, u32 header length. */
#define NPY_PREAMBLE_MAX 12
/* numpy's own reader refuses headers over 10000 bytes by default; a header
 * for eight dims needs under 300. */
#define NPY_MAX_HEADER ((size_t)1 << 16)
#define NPY_ALIGN 64
#define NPY_SUPPORTED "<f4 <f8 <i8 <i4 |u1 |b1"

/* What the header says, before any check of its meaning. */
typedef struct npy_header {
	const char *descr; /* points into the header text; not NUL-terminated */
	size_t descr_len;
	bool structured; /* descr was a list: a structured dtype */
	bool fortran_order;
	int ndim; /* may exceed GB_MAX_DIMS; only the first GB_MAX_DIMS dims are kept */
	int64_t dims[GB_MAX_DIMS];
} npy_header;

/* The supported descr strings and their dtypes. */
static const struct {
	const char *descr;
	gb_dtype dtype;
} npy_dtypes[] = {
	{"<f4", GB_DTYPE_F32}, {"<f8", GB_DTYPE_F64}, {"<i8", GB_DTYPE_I64},
	{"<i4", GB_DTYPE_I32}, {"|u1", GB_DTYPE_U8},  {"|b1", GB_DTYPE_BOOL},
};

/* ---- preamble ---------------------------------------------------------------- */

/* Reads magic, version and header length. */
static gb_status npy_read_preamble(gb_reader *r, uint32_t *header_len, gb_error *err)
{
	const uint8_t *bytes;
	size_t have = r->left < NPY_MAGIC_LEN ? r->left : NPY_MAGIC_LEN;
	gb_reader_peek(r, have, &bytes);
	if (memcmp(bytes, NPY_MAGIC, have) != 0)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: not a .npy file (it does not start with \\x93NUMPY)",
		               r->label);
	gb_status st = gb_reader_take(r, NPY_MAGIC_LEN, "the magic string", &bytes, err);
	if (st == GB_OK)
		st = gb_reader_take(r, 2, "the format version", &bytes, err);
	if (st != GB_OK)
		return st;
	unsigned major = bytes[0], minor = bytes[1];
	if (major < 1 || major > 3 || minor != 0)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: .npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)",
		               r->label, major, minor);
	if (major == 1) {
		uint16_t len16;
		st = gb_reader_u16le(r, "the header length", &len16, err);
		*header_len = len16;
	} else {
		st = gb_reader_u32le(r, "the header length", header_len, err);
	}
	return st;
}

/* The header must fit in what follows the preamble (avail bytes). */
static gb_status npy_check_header_len(const char *label, uint32_t header_len, size_t avail, gb_error *err)
{
	if (header_len > avail)
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "%s: header length %u runs past the end of the file (%zu bytes follow the preamble)", label,
		               header_len, avail);
	if (header_len > NPY_MAX_HEADER)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: header length %u is over the limit of %zu bytes", label,
		               header_len, NPY_MAX_HEADER);
	return GB_OK;
}

/* ---- header dict ------------------------------------------------------------- */

typedef struct dict_parser {
	const char *s;
	size_t n, pos;
	const char *label;
	gb_error *err;
} dict_parser;

static gb_status syntax_error(dict_parser *p, const char *expected)
{
	char near[64];
	const char *at = p->s + p->pos;
	return gb_fail(p->err, GB_STATUS_BAD_FILE, "%s: malformed header: expected %s at byte %zu, found '%s'", p->label,
	               expected, p->pos, p->pos < p->n ? gb_reader_quote(at, p->n - p->pos, near, sizeof near) : "end of header");
}

static void skip_space(dict_parser *p)
{
	while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
	                         p->s[p->pos] == '\r'))
		p->pos++;
}

/* Consumes c (after optional whitespace) if it is next. */
static bool eat(dict_parser *p, char c)
{
	skip_space(p);
	if (p->pos < p->n && p->s[p->pos] == c) {
		p->pos++;
		return true;
	}
	return false;
}

static bool peek_is(dict_parser *p, char c)
{
	skip_space(p);
	return p->pos < p->n && p->s[p->pos] == c;
}

/* A Python string literal in ' or " without escapes (numpy never writes
 * any; a backslash is refused rather than misread). */
static gb_status parse_string(dict_parser *p, const char **str, size_t *len)
{
	skip_space(p);
	if (p->pos >= p->n || (p->s[p->pos] != '\'' && p->s[p->pos] != '"'))
		return syntax_error(p, "a quoted string");
	char quote = p->s[p->pos];
	size_t start = p->pos + 1;
	for (size_t i = start; i < p->n; i++) {
		if (p->s[i] == quote) {
			*str = p->s + start;
			*len = i - start;
			p->pos = i + 1;
			return GB_OK;
		}
		if (p->s[i] == '\\' || p->s[i] == '\n') {
			p->pos = i;
			return syntax_error(p, "a string without escapes or line breaks");
		}
	}
	p->pos = p->n;
	return syntax_error(p, "the end of a string");
}

static bool is_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Consumes the keyword word if it is next as a whole word. */
static bool eat_word(dict_parser *p, const char *word)
{
	skip_space(p);
	size_t len = strlen(word);
	if (p->n - p->pos < len || memcmp(p->s + p->pos, word, len) != 0)
		return false;
	if (p->pos + len < p->n && is_ident_char(p->s[p->pos + len]))
		return false;
	p->pos += len;
	return true;
}

/* A non-negative decimal integer as Python writes it (no sign, no leading
 * zeros, no underscores), optionally with Python 2's long suffix 'L'. */
static gb_status parse_dim(dict_parser *p, int64_t *out)
{
	skip_space(p);
	size_t start = p->pos;
	int64_t v = 0;
	while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
		int digit = p->s[p->pos] - '0';
		if (v > (INT64_MAX - digit) / 10) {
			p->pos = start;
			return gb_fail(p->err, GB_STATUS_BAD_FILE, "%s: header: dimension at byte %zu is larger than %lld",
			               p->label, start, (long long)INT64_MAX);
		}
		v = v * 10 + digit;
		p->pos++;
	}
	if (p->pos == start)
		return syntax_error(p, "a non-negative integer dimension");
	if (p->s[start] == '0' && p->pos - start > 1) {
		p->pos = start;
		return syntax_error(p, "an integer without leading zeros");
	}
	if (p->pos < p->n && p->s[p->pos] == 'L')
		p->pos++;
	if (p->pos < p->n && is_ident_char(p->s[p->pos]))
		return syntax_error(p, "',' or ')' after a dimension");
	*out = v;
	return GB_OK;
}

/* A tuple of dims: "()", "(5,)", "(2, 3)", "(2, 3,)". "(5)" is the integer
 * 5 in Python, not a tuple, and is refused. */
static gb_status parse_shape(dict_parser *p, npy_header *h)
{
	if (!eat(p, '('))
		return syntax_error(p, "'(' starting the shape tuple");
	h->ndim = 0;
	bool comma = false;
	while (!eat(p, ')')) {
		int64_t dim = 0;
		gb_status st = parse_dim(p, &dim);
		if (st != GB_OK)
			return st;
		if (h->ndim < GB_MAX_DIMS)
			h->dims[h->ndim] = dim;
		if (h->ndim == 64)
			return gb_fail(p->err, GB_STATUS_UNSUPPORTED, "%s: shape has more than 64 dimensions", p->label);
		h->ndim++;
		comma = eat(p, ',');
		if (!comma && !peek_is(p, ')'))
			return syntax_error(p, "',' or ')' in the shape tuple");
	}
	if (h->ndim == 1 && !comma)
		return gb_fail(p->err, GB_STATUS_BAD_FILE, "%s: malformed header: shape '(N)' is not a tuple (numpy writes '(N,)')",
		               p->label);
	return GB_OK;
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

/* Parses the header dict's syntax into h; meaning is checked later. */
static gb_status npy_parse_dict(const char *text, size_t len, const char *label, npy_header *h, gb_error *err)
{
	dict_parser p = {.s = text, .n = len, .pos = 0, .label = label, .err = err};
	memset(h, 0, sizeof *h);
	unsigned seen = 0;
	gb_status st;
	if (!eat(&p, '{'))
		return syntax_error(&p, "'{' starting the header dict");
	while (!eat(&p, '}')) {
		const char *key;
		size_t key_len;
		size_t key_pos = p.pos;
		if ((st = parse_string(&p, &key, &key_len)) != GB_OK)
			return st;
		if (!eat(&p, ':'))
			return syntax_error(&p, "':' after a key");
		unsigned which;
		if (key_len == 5 && memcmp(key, "descr", 5) == 0)
			which = KEY_DESCR;
		else if (key_len == 13 && memcmp(key, "fortran_order", 13) == 0)
			which = KEY_FORTRAN;
		else if (key_len == 5 && memcmp(key, "shape", 5) == 0)
			which = KEY_SHAPE;
		else {
			char shown[64];
			return gb_fail(err, GB_STATUS_BAD_FILE, "%s: malformed header: unexpected key '%s' at byte %zu", label,
			               gb_reader_quote(key, key_len, shown, sizeof shown), key_pos);
		}
		if (seen & which)
			return gb_fail(err, GB_STATUS_BAD_FILE, "%s: malformed header: key '%.*s' appears twice", label,
			               (int)key_len, key);
		seen |= which;
		if (which == KEY_DESCR) {
			if (peek_is(&p, '[')) {
				/* A list of fields; we stop here, so its syntax is not checked. */
				h->structured = true;
				return GB_OK;
			}
			st = parse_string(&p, &h->descr, &h->descr_len);
		} else if (which == KEY_FORTRAN) {
			if (eat_word(&p, "True"))
				h->fortran_order = true;
			else if (eat_word(&p, "False"))
				h->fortran_order = false;
			else
				st = syntax_error(&p, "True or False for 'fortran_order'");
		} else {
			st = parse_shape(&p, h);
		}
		if (st != GB_OK)
			return st;
		if (!eat(&p, ',') && !peek_is(&p, '}'))
			return syntax_error(&p, "',' or '}' after a value");
	}
	skip_space(&p);
	if (p.pos != p.n)
		return syntax_error(&p, "only spaces after the header dict");
	const char *missing = !(seen & KEY_DESCR) ? "descr" : !(seen & KEY_FORTRAN) ? "fortran_order" : !(seen & KEY_SHAPE) ? "shape" : NULL;
	if (missing)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: malformed header: key '%s' is missing", label, missing);
	return GB_OK;
}

/* Checks what the header means and how much data it declares. */
static gb_status npy_check_header(const char *label, const npy_header *h, size_t data_avail, gb_dtype *dtype,
                                  size_t *data_bytes, gb_error *err)
{
	char shown[64], shape[160];
	if (h->structured)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: structured dtypes are not supported (glassbox reads %s)", label,
		               NPY_SUPPORTED);
	int found = -1;
	for (size_t i = 0; i < sizeof npy_dtypes / sizeof npy_dtypes[0]; i++)
		if (strlen(npy_dtypes[i].descr) == h->descr_len && memcmp(npy_dtypes[i].descr, h->descr, h->descr_len) == 0)
			found = (int)i;
	if (found < 0) {
		bool big = h->descr_len > 0 && h->descr[0] == '>';
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: %sdtype '%s' is not supported (glassbox reads %s)", label,
		               big ? "big-endian " : "", gb_reader_quote(h->descr, h->descr_len, shown, sizeof shown), NPY_SUPPORTED);
	}
	*dtype = npy_dtypes[found].dtype;
	if (h->fortran_order)
		return gb_fail(err, GB_STATUS_UNSUPPORTED,
		               "%s: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)", label);
	if (h->ndim > GB_MAX_DIMS)
		return gb_fail(err, GB_STATUS_UNSUPPORTED, "%s: array has %d dimensions, more than the %d glassbox supports",
		               label, h->ndim, GB_MAX_DIMS);
	gb_shape_str(h->ndim, h->dims, shape, sizeof shape);
	int64_t numel;
	gb_error inner = {0};
	if (!gb_shape_bytes(*dtype, h->ndim, h->dims, data_bytes) || gb_shape_numel(h->ndim, h->dims, &numel, &inner))
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: shape %s of %s is too large to address", label, shape,
		               gb_dtype_name(*dtype));
	if (*data_bytes != data_avail)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: header (shape %s of %s) declares %zu bytes of data, the file holds %zu",
		               label, shape, gb_dtype_name(*dtype), *data_bytes, data_avail);
	return GB_OK;
}

/* A bool element is one byte, 0 or 1; anything else would be read as true
 * by numpy but is not a value glassbox's bool tensors may hold. */
static gb_status npy_check_bools(const char *label, const gb_tensor *t, size_t bytes, gb_error *err)
{
	if (t->dtype != GB_DTYPE_BOOL)
		return GB_OK;
	const uint8_t *b = t->data;
	for (size_t i = 0; i < bytes; i++)
		if (b[i] > 1)
			return gb_fail(err, GB_STATUS_BAD_FILE, "%s: bool element %zu is %u, not 0 or 1", label, i, b[i]);
	return GB_OK;
}

/* ---- load ------------------------------------------------------------------ */

gb_status gb_npy_parse(const void *buf, size_t len, const char *label, gb_tensor **out, gb_error *err)
{
	*out = NULL;
	gb_reader r;
	gb_reader_init(&r, buf, len, label);
	uint32_t header_len;
	npy_header h;
	gb_dtype dtype;
	size_t bytes;
	const uint8_t *header, *data;
	gb_status st = npy_read_preamble(&r, &header_len, err);
	if (st == GB_OK)
		st = npy_check_header_len(label, header_len, r.left, err);
	if (st == GB_OK)
		st = gb_reader_take(&r, header_len, "the header", &header, err);
	if (st == GB_OK)
		st = npy_parse_dict((const char *)header, header_len, label, &h, err);
	if (st == GB_OK)
		st = npy_check_header(label, &h, r.left, &dtype, &bytes, err);
	if (st == GB_OK)
		st = gb_reader_take(&r, bytes, "the data", &data, err);
	if (st != GB_OK)
		return st;
	gb_tensor *t;
	if (gb_tensor_new(dtype, h.ndim, h.dims, &t, NULL) != GB_OK)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: cannot allocate %zu bytes for the data", label, bytes);
	if (bytes)
		memcpy(t->data, data, bytes);
	st = npy_check_bools(label, t, bytes, err);
	if (st != GB_OK) {
		gb_tensor_free(t);
		return st;
	}
	*out = t;
	return GB_OK;
}

/* Reads exactly n bytes or fails with a message naming the file. */
static gb_status read_exact(FILE *fp, void *dst, size_t n, const char *path, const char *what, gb_error *err)
{
	if (n == 0 || fread(dst, 1, n, fp) == n)
		return GB_OK;
	if (ferror(fp))
		return gb_fail(err, GB_STATUS_IO, "%s: cannot read %s: %s", path, what, strerror(errno));
	return gb_fail(err, GB_STATUS_IO, "%s: cannot read %s: the file ended early (did it change while being read?)",
	               path, what);
}

gb_status gb_npy_load(const char *path, gb_tensor **out, gb_error *err)
{
	*out = NULL;
	gb_status st;
	gb_tensor *t = NULL;
	char *header = NULL;
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
	size_t file_size = (size_t)sb.st_size;

	uint8_t preamble[NPY_PREAMBLE_MAX];
	size_t preamble_read = file_size < sizeof preamble ? file_size : sizeof preamble;
	if ((st = read_exact(fp, preamble, preamble_read, path, "the preamble", err)) != GB_OK)
		goto fail;
	gb_reader r;
	gb_reader_init(&r, preamble, preamble_read, path);
	uint32_t header_len;
	if ((st = npy_read_preamble(&r, &header_len, err)) != GB_OK)
		goto fail;
	size_t header_start = preamble_read - r.left;
	if ((st = npy_check_header_len(path, header_len, file_size - header_start, err)) != GB_OK)
		goto fail;

	header = malloc(header_len ? header_len : 1);
	if (!header) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: cannot allocate %u bytes for the header", path, header_len);
		goto fail;
	}
	if (fseek(fp, (long)header_start, SEEK_SET) != 0) {
		st = gb_fail(err, GB_STATUS_IO, "%s: cannot seek: %s", path, strerror(errno));
		goto fail;
	}
	if ((st = read_exact(fp, header, header_len, path, "the header", err)) != GB_OK)
		goto fail;
	npy_header h;
	gb_dtype dtype;
	size_t bytes;
	if ((st = npy_parse_dict(header, header_len, path, &h, err)) != GB_OK)
		goto fail;
	if ((st = npy_check_header(path, &h, file_size - header_start - header_len, &dtype, &bytes, err)) != GB_OK)
		goto fail;

	/* The size is now known to match the file: allocating it is safe. */
	if (gb_tensor_new(dtype, h.ndim, h.dims, &t, NULL) != GB_OK) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: cannot allocate %zu bytes for the data", path, bytes);
		goto fail;
	}
	if ((st = read_exact(fp, t->data, bytes, path, "the data", err)) != GB_OK)
		goto fail;
	if ((st = npy_check_bools(path, t, bytes, err)) != GB_OK)
		goto fail;
	free(header);
	fclose(fp);
	*out = t;
	return GB_OK;

fail:
	gb_tensor_free(t);
	free(header);
	fclose(fp);
	return st;
}

/* ---- save ------------------------------------------------------------------ */

gb_status gb_npy_save(const char *path, const gb_tensor *t, gb_error *err)
{
	const char *descr = NULL;
	for (size_t i = 0; i < sizeof npy_dtypes / sizeof npy_dtypes[0]; i++)
		if (npy_dtypes[i].dtype == t->dtype)
			descr = npy_dtypes[i].descr;
	if (!descr)
		return gb_fail(err, GB_STATUS_USAGE, "%s: cannot save a tensor of invalid dtype %d", path, (int)t->dtype);
	size_t bytes;
	if (!gb_shape_bytes(t->dtype, t->ndim, t->dims, &bytes))
		return gb_fail(err, GB_STATUS_USAGE, "%s: cannot save a tensor of rank %d with an invalid shape", path, t->ndim);
	if (bytes > 0 && !t->data)
		return gb_fail(err, GB_STATUS_USAGE, "%s: tensor has no data", path);

	/* The dict exactly as numpy writes it (keys sorted, repr of the shape
	 * tuple, a trailing ", "), then spaces and '\n' up to a multiple of 64. */
	char dict[64 + GB_MAX_DIMS * 24];
	size_t len = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
	for (int i = 0; i < t->ndim; i++)
		len += (size_t)snprintf(dict + len, sizeof dict - len, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
	len += (size_t)snprintf(dict + len, sizeof dict - len, "%s), }", t->ndim == 1 ? "," : "");
	GB_ASSERT(len < sizeof dict);
	size_t pad = (NPY_ALIGN - (10 + len + 1) % NPY_ALIGN) % NPY_ALIGN;
	size_t header_len = len + pad + 1;
	GB_ASSERT(header_len <= 65535); /* so version 1.0 always suffices */

	uint8_t preamble[10];
	memcpy(preamble, NPY_MAGIC, NPY_MAGIC_LEN);
	preamble[6] = 1;
	preamble[7] = 0;
	preamble[8] = (uint8_t)(header_len & 0xff);
	preamble[9] = (uint8_t)(header_len >> 8);
	char spaces[NPY_ALIGN];
	memset(spaces, ' ', sizeof spaces);

	gb_atomic_file f;
	gb_status st = gb_atomic_open(&f, path, err);
	if (st != GB_OK)
		return st;
	bool ok = fwrite(preamble, 1, sizeof preamble, f.fp) == sizeof preamble && fwrite(dict, 1, len, f.fp) == len &&
	          fwrite(spaces, 1, pad, f.fp) == pad && fputc('\n', f.fp) == '\n' &&
	          (bytes == 0 || fwrite(t->data, 1, bytes, f.fp) == bytes);
	if (!ok) {
		int e = errno;
		gb_atomic_abort(&f);
		return gb_fail(err, GB_STATUS_IO, "%s: write failed: %s", path, strerror(e));
	}
	return gb_atomic_commit(&f, err);
}
