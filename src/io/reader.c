/*
 * reader.c — the bounded byte reader (see reader.h).
 */
#include <string.h>

#include "core/core.h"
#include "io/reader.h"

gb_status gb_reader_take(gb_reader *r, size_t n, const char *what, const uint8_t **out, gb_error *err)
{
	if (n > r->left)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: truncated: %s needs %zu bytes, %zu left", r->label, what, n,
		               r->left);
	*out = r->p;
	r->p += n;
	r->left -= n;
	return GB_OK;
}

bool gb_reader_peek(const gb_reader *r, size_t n, const uint8_t **out)
{
	if (n > r->left)
		return false;
	*out = r->p;
	return true;
}

/* Assembles n little-endian bytes into an integer; the byte order of the
 * host does not matter. */
static gb_status take_le(gb_reader *r, size_t n, const char *what, uint64_t *out, gb_error *err)
{
	const uint8_t *b;
	gb_status st = gb_reader_take(r, n, what, &b, err);
	if (st != GB_OK)
		return st;
	uint64_t v = 0;
	for (size_t i = n; i-- > 0;)
		v = (v << 8) | b[i];
	*out = v;
	return GB_OK;
}

gb_status gb_reader_u16le(gb_reader *r, const char *what, uint16_t *out, gb_error *err)
{
	uint64_t v;
	gb_status st = take_le(r, 2, what, &v, err);
	if (st == GB_OK)
		*out = (uint16_t)v;
	return st;
}

gb_status gb_reader_u32le(gb_reader *r, const char *what, uint32_t *out, gb_error *err)
{
	uint64_t v;
	gb_status st = take_le(r, 4, what, &v, err);
	if (st == GB_OK)
		*out = (uint32_t)v;
	return st;
}

gb_status gb_reader_u64le(gb_reader *r, const char *what, uint64_t *out, gb_error *err)
{
	return take_le(r, 8, what, out, err);
}

const char *gb_reader_quote(const char *s, size_t n, char *buf, size_t size)
{
	if (size == 0)
		return buf;
	size_t k = 0;
	for (size_t i = 0; i < n && i < 40 && k + 4 < size; i++)
		buf[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (n > 40 && k + 4 < size) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = '\0';
	return buf;
}
