/*
 * internal.h — declarations private to src/lang: the token stream the lexer
 * hands to the parser, and small helpers shared by the module's files.
 * Nothing outside src/lang includes this header.
 */
#ifndef GB_LANG_INTERNAL_H
#define GB_LANG_INTERNAL_H

#include "lang.h"

/* ---- tokens ---------------------------------------------------------------------
 *
 * The lexer works like Python's tokenizer: NEWLINE ends a logical line,
 * INDENT and DEDENT bracket a block, and line breaks inside (), [] do not
 * end the line. Comments do not vanish, because the printer keeps them:
 *
 *   COMMENT_LINE   a line holding only a comment (outside brackets); it does
 *                  not open or close a block; col is where the '#' stands.
 *   COMMENT_INNER  a comment inside brackets (the parser moves it in front
 *                  of the statement).
 *   a comment at the end of a line outside brackets rides on that line's
 *                  NEWLINE token (text; the NEWLINE stands where the comment
 *                  starts).
 *
 * blank_before is set on the first token of a line (and on COMMENT_LINE)
 * when at least one blank line precedes it. */

typedef enum gb_tok_kind {
	GB_TOK_EOF = 0,
	GB_TOK_NEWLINE,
	GB_TOK_INDENT,
	GB_TOK_DEDENT,
	GB_TOK_COMMENT_LINE,
	GB_TOK_COMMENT_INNER,
	GB_TOK_NAME,
	GB_TOK_INT,
	GB_TOK_FLOAT,
	GB_TOK_STRING,
	/* keywords */
	GB_TOK_INPUT,
	GB_TOK_OUTPUT,
	GB_TOK_PARAM,
	GB_TOK_WEIGHTS,
	GB_TOK_DEF,
	GB_TOK_RETURN,
	GB_TOK_FOR,
	GB_TOK_IN,
	GB_TOK_AND,
	GB_TOK_OR,
	GB_TOK_NOT,
	GB_TOK_TRUE,
	GB_TOK_FALSE,
	/* punctuation */
	GB_TOK_LPAREN,
	GB_TOK_RPAREN,
	GB_TOK_LBRACKET,
	GB_TOK_RBRACKET,
	GB_TOK_COMMA,
	GB_TOK_COLON,
	GB_TOK_ASSIGN,   /* = */
	GB_TOK_ARROW,    /* -> */
	GB_TOK_PLUS,
	GB_TOK_MINUS,
	GB_TOK_STAR,
	GB_TOK_SLASH,
	GB_TOK_SLASHSLASH,
	GB_TOK_PERCENT,
	GB_TOK_AT,
	GB_TOK_LT,
	GB_TOK_LE,
	GB_TOK_GT,
	GB_TOK_GE,
	GB_TOK_EQ,
	GB_TOK_NE,
	GB_TOK_COUNT
} gb_tok_kind;

typedef struct gb_tok { /* kept small: a program has millions of them at most */
	uint8_t kind;      /* gb_tok_kind */
	bool blank_before;
	uint32_t src_off, src_len; /* the token's bytes in the source (for messages) */
	gb_ast_pos pos;
	const char *text;  /* NAME: the name; STRING: the decoded contents;
	                      COMMENT_*: what follows '#'; NEWLINE: the line's
	                      trailing comment or NULL */
	union {
		int64_t ival; /* INT */
		float fval;   /* FLOAT */
	};
} gb_tok;

/* ---- small allocations --------------------------------------------------------------
 * The arena aligns every allocation to 64 bytes; a tree is mostly small
 * nodes and short names, so they are carved 8-byte aligned out of larger
 * arena blocks. */
typedef struct gb_pool {
	gb_arena *arena;
	char *cur;
	size_t left;
} gb_pool;

/* Zeroed memory, 8-byte aligned; NULL on overflow or out of memory. */
void *gb_pool_alloc(gb_pool *pool, size_t size);
/* s[0..n) and a NUL. */
char *gb_pool_strndup(gb_pool *pool, const char *s, size_t n);

/* Splits src into tokens. *toks is malloc'ed (the caller frees it after
 * parsing; NULL on failure); the texts tokens point to (names, strings,
 * comments) go to strings, which must live as long as the tree. The last
 * token is EOF. Errors: GB_STATUS_BAD_FILE "FILE:LINE:COL: expected X,
 * found Y". */
gb_status gb_lang_lex(const char *src, size_t len, const char *file, gb_pool *strings, gb_tok **toks,
                      int *n_toks, gb_error *err);

/* How a token reads in "found ..." messages: "name 'x'", "number 1.5",
 * "'('", "end of line", ... Long token texts are shortened. */
void gb_tok_describe(const gb_tok *t, const char *src, char *buf, size_t size);

/* Spelling of a token kind in "expected ..." messages ("'('", "a name"). */
const char *gb_tok_kind_str(gb_tok_kind kind);

/* ---- evaluation helpers shared by check.c, interp.c and compile.c (eval_common.c) ----
 *
 * What does not depend on how a file represents its values: subscripts to
 * regions, range(...) counts, broadcast offsets, binding a call's arguments
 * to a primitive's parameters, axis normalisation, def-call preconditions.
 * Each caller hands in a gb_lang_env: its own error reporting (so messages,
 * statuses and the checker's first-error-wins rule stay its own) and, where
 * a helper evaluates subscripts or bounds, its compile-time int evaluator. */

typedef struct gb_lang_env {
	void *self;
	/* Reports msg at pos as the caller does ("FILE:LINE:COL: msg"); returns false. */
	bool (*fail)(void *self, gb_ast_pos pos, const char *msg);
	/* Evaluates e to a compile-time int (reporting on failure); NULL where unused. */
	bool (*eval_int)(void *self, const gb_ast_expr *e, int64_t *out);
	/* An int or a constant list of at most max ints; NULL where unused. */
	bool (*eval_ints)(void *self, const gb_ast_expr *e, int64_t *xs, int max, int *n);
} gb_lang_env;

/* Formats a message and hands it to env->fail; returns false. */
bool gb_lang_fail(const gb_lang_env *env, gb_ast_pos pos, const char *fmt, ...) GB_PRINTF(3, 4);

/* Product of dims[0..ndim) (the callers' shapes are bounded by the checker). */
int64_t gb_lang_numel(int ndim, const int64_t *dims);

/* The elements a subscript selects, per axis of the base array. */
typedef struct gb_lang_region {
	int ndim;                    /* axes kept */
	int64_t dims[GB_MAX_DIMS];   /* their sizes */
	int64_t start[GB_MAX_DIMS];  /* per base axis */
	int64_t step[GB_MAX_DIMS];
	int64_t count[GB_MAX_DIMS];
	bool index[GB_MAX_DIMS];     /* the axis is indexed (removed) */
} gb_lang_region;

/* Subscripts subs[0..n_subs) of an array of shape (ndim, dims): indices
 * and slices normalised as Python's slice.indices() does. Needs
 * env->eval_int. Fails at pos when there are too many subscripts, at a
 * subscript when it is out of range or selects nothing. */
bool gb_lang_region_make(const gb_lang_env *env, int ndim, const int64_t *dims, const gb_ast_subscript *subs,
                         int n_subs, gb_lang_region *r, gb_ast_pos pos);

/* Flat offsets into an array of shape (ndim, dims) for every element of
 * the region, row-major; *count gets their number. Caller frees; NULL when
 * out of memory. */
int64_t *gb_lang_region_offsets(int ndim, const int64_t *dims, const gb_lang_region *r, int64_t *count);

/* Offsets into an array of shape (ndim, dims) for every element of the
 * broadcast shape (ondim, odims), count of them, row-major. Caller frees;
 * NULL when out of memory. */
int64_t *gb_lang_bcast_offsets(int ndim, const int64_t *dims, int ondim, const int64_t *odims, int64_t count);

/* range(start, stop, step): its start, step and number of values (at most
 * GB_LANG_MAX_UNROLLED). Needs env->eval_int. */
bool gb_lang_range(const gb_lang_env *env, const gb_ast_range *r, int64_t *start, int64_t *step, int64_t *count);

/* x op y for the int operators + - * // % (floor division and modulo as
 * Python's); false on overflow, division by zero or another operator. */
bool gb_lang_int_arith(gb_ast_op op, int64_t x, int64_t y, int64_t *out);

/* transpose's perm argument e for an array of this rank (reversed axes when
 * e is NULL): a permutation of 0..rank-1. Needs env->eval_ints. */
bool gb_lang_perm(const gb_lang_env *env, const gb_ast_expr *e, int rank, int64_t perm[GB_MAX_DIMS]);

/* axis in [-rank, rank) -> [0, rank). */
bool gb_lang_axis(const gb_lang_env *env, int64_t axis, int rank, int *out, gb_ast_pos pos);

/* A primitive call's arguments by parameter. */
typedef struct gb_prim_args {
	const gb_ast_expr *param[GB_PRIM_MAX_PARAMS]; /* by position in prim->params, NULL when absent */
	const gb_ast_expr *kw[4];                     /* by position in prim->kwonly */
	const gb_ast_expr **more;                     /* variadic extras */
	int n_more;
} gb_prim_args;

/* Binds call e's positional and keyword arguments to p's parameters; fails
 * on an unknown keyword or a missing required argument. strict (the
 * checker) also rejects extra positional arguments to a non-variadic
 * primitive, a parameter given twice, and keywords after variadic extras. */
bool gb_prim_bind(const gb_lang_env *env, const gb_ast_expr *e, const gb_prim *p, bool strict, gb_prim_args *ba);

/* conv2d's stride, padding, dilation (an int or [h, w] each) and groups,
 * with their defaults. Needs env->eval_int and env->eval_ints. */
bool gb_lang_conv_args(const gb_lang_env *env, const gb_prim_args *ba, int64_t stride[2], int64_t pad[2],
                       int64_t dil[2], int64_t *groups);

/* maxpool2d / avgpool2d's size, stride (the size when not given) and
 * padding. Needs env->eval_ints. */
bool gb_lang_pool_args(const gb_lang_env *env, const gb_prim_args *ba, int64_t size[2], int64_t stride[2],
                       int64_t pad[2]);

/* A call of def d taking n_results values: arity, result count and the
 * call depth (level, the caller's def nesting) are right. */
bool gb_lang_def_call_ok(const gb_lang_env *env, const gb_ast_expr *call, const gb_ast_stmt *d, int n_results,
                         int level);

/* d's body ends with a return of n_results values: that statement, or NULL
 * after reporting at d. */
const gb_ast_stmt *gb_lang_def_return(const gb_lang_env *env, const gb_ast_stmt *d, int n_results);

#endif /* GB_LANG_INTERNAL_H */
