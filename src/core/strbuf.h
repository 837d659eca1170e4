/*
 * strbuf.h — a growable NUL-terminated string for code that writes text
 * (the program printer, the decompiler's emitter).
 *
 * Errors are sticky: after a failed allocation every further call does
 * nothing and oom stays set, so a writer checks once at the end. The
 * caller owns data (free it, or take it over) once done.
 */
#ifndef GB_CORE_STRBUF_H
#define GB_CORE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"

typedef struct gb_strbuf {
	char *data; /* NULL until something is written */
	size_t len, cap;
	bool oom;
} gb_strbuf;

void gb_strbuf_put_n(gb_strbuf *b, const char *s, size_t n);
void gb_strbuf_put(gb_strbuf *b, const char *s);
void gb_strbuf_printf(gb_strbuf *b, const char *fmt, ...) GB_PRINTF(2, 3);

#endif /* GB_CORE_STRBUF_H */
