/*
 * core.h — library-internal helpers every module uses: error reporting,
 * checked size arithmetic, always-on assertions, the arena allocator and
 * file helpers (whole-file reads with a size bound, atomic writes).
 */
#ifndef GB_CORE_H
#define GB_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "glassbox.h"

/* ---- errors ------------------------------------------------------------- */

#if defined(__GNUC__)
#define GB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GB_PRINTF(f, a)
#endif

/* Records status and a formatted message in err (if non-NULL) and returns
 * status, so callers write: return gb_fail(err, GB_STATUS_BAD_FILE, "%s: …", path); */
gb_status gb_fail(gb_error *err, gb_status status, const char *fmt, ...) GB_PRINTF(3, 4);
/* Prefixes err->msg with "prefix: " (used to add a file name to a message
 * produced deeper down). */
void gb_error_prefix(gb_error *err, const char *prefix);

/* Programmer errors: always on, abort with file:line. Never for bad input. */
#define GB_ASSERT(cond)                                                                                    \
	do {                                                                                                   \
		if (!(cond))                                                                                       \
			gb_assert_fail(__FILE__, __LINE__, #cond);                                                     \
	} while (0)
_Noreturn void gb_assert_fail(const char *file, int line, const char *expr);

/* ---- checked arithmetic --------------------------------------------------- */

/* Return false on overflow (out untouched). */
static inline bool gb_mul_size(size_t a, size_t b, size_t *out)
{
	if (a != 0 && b > SIZE_MAX / a)
		return false;
	*out = a * b;
	return true;
}

static inline bool gb_add_size(size_t a, size_t b, size_t *out)
{
	if (b > SIZE_MAX - a)
		return false;
	*out = a + b;
	return true;
}

static inline bool gb_mul_i64(int64_t a, int64_t b, int64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* Bytes for a tensor of this dtype and shape; false on overflow or negative dims. */
bool gb_shape_bytes(gb_dtype dtype, int ndim, const int64_t *dims, size_t *bytes);

/* Strings duplicated with malloc (NULL on failure). */
char *gb_strdup(const char *s);

/* ---- arena ------------------------------------------------------------------
 * A bump allocator over a chain of blocks. Allocations are 64-byte aligned
 * (cache lines; good for SIMD). gb_arena_reset keeps the largest block and
 * frees the rest, so a steady-state forward pass allocates nothing. */

typedef struct gb_arena_block gb_arena_block;

typedef struct gb_arena {
	gb_arena_block *head; /* current block (newest) */
	size_t min_block;     /* minimum size of a new block */
	size_t used_total;    /* bytes handed out since the last reset */
} gb_arena;

void gb_arena_init(gb_arena *a, size_t min_block);
/* NULL on overflow or out of memory. Memory is not zeroed. */
void *gb_arena_alloc(gb_arena *a, size_t bytes);
void *gb_arena_calloc(gb_arena *a, size_t count, size_t size);
char *gb_arena_strdup(gb_arena *a, const char *s);
/* Frees all but the largest block and makes it empty again. */
void gb_arena_reset(gb_arena *a);
void gb_arena_release(gb_arena *a);

/* ---- files ---------------------------------------------------------------- */

/* Reads a whole file into a malloc'ed buffer (caller frees). Refuses files
 * larger than max_bytes with GB_STATUS_BAD_FILE. Messages name the path. */
gb_status gb_file_read(const char *path, size_t max_bytes, uint8_t **buf, size_t *len, gb_error *err);

/* Atomic writes: open a temporary file next to path, write, then commit
 * (fsync-free rename into place) or abort (unlink). A failed write never
 * leaves a partial file at path. */
typedef struct gb_atomic_file {
	FILE *fp;
	char *tmp_path;
	const char *path;
} gb_atomic_file;

gb_status gb_atomic_open(gb_atomic_file *f, const char *path, gb_error *err);
/* Checks for write errors, closes and renames. Always releases f. */
gb_status gb_atomic_commit(gb_atomic_file *f, gb_error *err);
void gb_atomic_abort(gb_atomic_file *f);
/* Writes a NUL-terminated text to path atomically. */
gb_status gb_file_write_text(const char *path, const char *text, gb_error *err);

/* ---- parallel loops ------------------------------------------------------ */

/* fn(ctx, lo, hi, part) runs the indices [lo, hi) of a range; part, in
 * [0, gb_parallel_threads()), differs between ranges that run at the same
 * time, so fn may use per-part scratch that the caller set up. */
typedef void (*gb_range_fn)(void *ctx, int64_t lo, int64_t hi, int part);

/* Threads a parallel loop may use, the caller's included: OpenBLAS's thread
 * count (OPENBLAS_NUM_THREADS), at most the online cores; at least 1. */
int gb_parallel_threads(void);

/* Runs fn over [0, n) split into contiguous ranges of at least grain
 * indices, one per thread, and returns when all are done. Serial (one
 * fn(ctx, 0, n, 0) in the caller) when n < 2·grain, with one thread, or when
 * called while another parallel loop runs (nested or from another thread).
 * The ranges may run concurrently: fn must only write what its range owns. */
void gb_parallel_for(int64_t n, int64_t grain, gb_range_fn fn, void *ctx);

#endif /* GB_CORE_H */
