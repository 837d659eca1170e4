/*
 * lang.h — the program language's library-internal interface: parse a .gbx
 * source into a tree (ast.h), print a tree in the one canonical layout, and
 * check a tree's names, calls and shapes. docs/language.md defines the
 * language; this header says how to call the code.
 *
 * Messages. Every error about a source names the place as
 * "FILE:LINE:COL: " followed by one line. Syntax errors read
 * "FILE:LINE:COL: expected X, found Y"; all of them return
 * GB_STATUS_BAD_FILE. No input makes the parser crash or recurse without
 * bound: brackets, unary operators and blocks nest at most
 * GB_LANG_MAX_NESTING deep and expression trees are at most
 * GB_LANG_MAX_DEPTH high.
 */
#ifndef GB_LANG_H
#define GB_LANG_H

#include "ast.h"

#define GB_LANG_MAX_NESTING 100   /* brackets, unary operators and blocks, combined */
#define GB_LANG_MAX_DEPTH 1000    /* height of an expression tree (long a + b + ... chains) */
#define GB_LANG_MAX_INDENT 100    /* indentation levels */
#define GB_LANG_MAX_FILE_BYTES ((size_t)1 << 28)

/* ---- parsing (lexer.c, parser.c) --------------------------------------------- */

/* Parses src[0..len) (no NUL terminator needed; NUL bytes are an error).
 * file labels positions in messages. On success *out is a new tree the
 * caller releases with gb_ast_free; on failure *out is NULL, the status is
 * GB_STATUS_BAD_FILE (or GB_STATUS_NOMEM) and err holds the message. */
gb_status gb_ast_parse(const char *src, size_t len, const char *file, gb_ast **out, gb_error *err);

/* Reads and parses a file (at most GB_LANG_MAX_FILE_BYTES); path is the
 * label in messages. */
gb_status gb_ast_parse_file(const char *path, gb_ast **out, gb_error *err);

/* ---- printing (printer.c) ------------------------------------------------------ */

/* The canonical text of a tree: 4-space indentation, one statement per line,
 * single spaces around binary operators and after commas, the fewest
 * parentheses that keep the tree, floats in their shortest exact form,
 * comments and (single) blank lines where the tree has them. Parsing the
 * result gives back an equal tree (gb_ast_equal), and printing that tree
 * gives back the same text.
 *
 * *text is malloc'ed, NUL-terminated, owned by the caller; *len (may be
 * NULL) receives its length. Fails only with GB_STATUS_NOMEM. */
gb_status gb_ast_print(const gb_ast *ast, char **text, size_t *len, gb_error *err);

/* One expression in canonical form, same ownership. */
gb_status gb_ast_print_expr(const gb_ast_expr *e, char **text, gb_error *err);

/* Shortest decimal text that reads back (strtof) as exactly v, always with a
 * '.' or an exponent so it lexes as a float ("1.0", "0.1", "1e-07").
 * v must be finite. Writes at most 32 bytes including the NUL. */
void gb_lang_format_float(float v, char buf[32]);

#endif /* GB_LANG_H */
