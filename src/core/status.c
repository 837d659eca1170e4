/*
 * status.c — status names, error messages and the assertion handler.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

const char *gb_status_name(gb_status status)
{
	switch (status) {
	case GB_OK: return "ok";
	case GB_STATUS_FAILURE: return "failure";
	case GB_STATUS_USAGE: return "usage";
	case GB_STATUS_BAD_FILE: return "bad file";
	case GB_STATUS_UNSUPPORTED: return "unsupported";
	case GB_STATUS_NOMEM: return "out of memory";
	case GB_STATUS_IO: return "i/o error";
	}
	return "unknown status";
}

gb_status gb_fail(gb_error *err, gb_status status, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		err->status = status;
	}
	return status;
}

void gb_error_prefix(gb_error *err, const char *prefix)
{
	if (!err || !prefix)
		return;
	char old[GB_ERRMSG_MAX];
	memcpy(old, err->msg, sizeof old);
	snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
}

_Noreturn void gb_assert_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "glassbox: internal error at %s:%d: assertion '%s' failed\n", file, line, expr);
	abort();
}

char *gb_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = malloc(n);
	if (copy)
		memcpy(copy, s, n);
	return copy;
}
