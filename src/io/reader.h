/*
 * reader.h — a bounded reader over a byte buffer, used by the file-format
 * parsers (npy, safetensors) so that every length read from a file is checked
 * against what remains before anything is touched; and the buffer-level entry
 * points of those parsers, which the fuzz targets and tests call directly.
 *
 * A reader never reads past p + left. Each take function either consumes the
 * requested bytes and returns GB_OK, or leaves the reader unchanged and fails
 * with GB_STATUS_BAD_FILE and a message "LABEL: truncated: WHAT needs N bytes,
 * M left" (label is the file name or other source name, borrowed).
 */
#ifndef GB_IO_READER_H
#define GB_IO_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "glassbox.h"

typedef struct gb_reader {
	const uint8_t *p; /* next unread byte */
	size_t left;      /* bytes from p to the end of the buffer */
	const char *label; /* names the source in messages; borrowed */
} gb_reader;

static inline void gb_reader_init(gb_reader *r, const void *buf, size_t len, const char *label)
{
	r->p = (const uint8_t *)buf;
	r->left = len;
	r->label = label;
}

/* Points *out at the next n bytes and consumes them. */
gb_status gb_reader_take(gb_reader *r, size_t n, const char *what, const uint8_t **out, gb_error *err);
/* Points *out at the next n bytes without consuming them; false (and *out
 * untouched) when fewer than n remain. */
bool gb_reader_peek(const gb_reader *r, size_t n, const uint8_t **out);
/* Little-endian unsigned integers. */
gb_status gb_reader_u16le(gb_reader *r, const char *what, uint16_t *out, gb_error *err);
gb_status gb_reader_u32le(gb_reader *r, const char *what, uint32_t *out, gb_error *err);
gb_status gb_reader_u64le(gb_reader *r, const char *what, uint64_t *out, gb_error *err);
/* Copies up to 40 bytes of text taken from a file into buf for a message,
 * showing anything that is not printable ASCII as '?' and a cut as "...";
 * returns buf. */
const char *gb_reader_quote(const char *s, size_t n, char *buf, size_t size);

/* ---- buffer-level parsers --------------------------------------------------
 * The same checks and results as gb_npy_load / gb_safetensors_load (which
 * stream from a file instead), over a whole file already in memory; label
 * names the source in messages. Used by the fuzz targets. */

gb_status gb_npy_parse(const void *buf, size_t len, const char *label, gb_tensor **out, gb_error *err);
gb_status gb_safetensors_parse(const void *buf, size_t len, const char *label, gb_tensor_map **out,
                               gb_error *err);

#endif /* GB_IO_READER_H */
