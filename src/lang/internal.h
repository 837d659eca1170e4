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

#endif /* GB_LANG_INTERNAL_H */
