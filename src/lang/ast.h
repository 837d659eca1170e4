/*
 * ast.h — the syntax tree of a .gbx program (docs/language.md is the
 * language's definition; this header is its data structure).
 *
 * Shape of the tree:
 *
 *   gb_ast            a whole file: a block of top-level statements
 *   gb_ast_block      statements plus the comment lines that close the block
 *   gb_ast_stmt       weights "f" | input | output | param | assignment |
 *                     for | def | return; each carries its comments
 *   gb_ast_expr       names, literals, operators, calls, subscripts, array
 *                     literals, comprehensions, weights["key"]
 *   gb_ast_type       f32 / bool with an optional static shape
 *
 * Every node has a source position (1-based line and column; columns count
 * characters, so a UTF-8 sequence counts once). Positions are not part of a
 * tree's meaning: gb_ast_equal ignores them, and the printer's round-trip
 * guarantee (parse ∘ print is the identity) holds up to positions.
 *
 * Comments belong to the tree so that printing keeps them: every statement
 * has its leading comment lines and the comment on its own (header) line;
 * comment lines after the last statement of a block stay with the block.
 * A flag on statements and comment lines records that at least one blank
 * line came before them (runs of blank lines collapse to one).
 *
 * Memory: every node, string and array lives in the gb_ast's arena and is
 * released at once by gb_ast_free. Nodes are never shared between parents.
 * Arrays are (pointer, count) pairs; count 0 comes with a NULL pointer.
 */
#ifndef GB_LANG_AST_H
#define GB_LANG_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/core.h"

typedef struct gb_ast_pos {
	int line; /* 1-based */
	int col;  /* 1-based, in characters */
} gb_ast_pos;

/* ---- types ------------------------------------------------------------------ */

typedef enum gb_ast_elem {
	GB_AST_F32 = 0,
	GB_AST_BOOL
} gb_ast_elem;

/* One dimension of a declared shape: a positive size, or (only inside a
 * def: parameter, return and local types) a shape variable bound at each
 * call. */
typedef struct gb_ast_dim {
	int64_t size;     /* > 0 when name is NULL */
	const char *name; /* shape variable, or NULL */
	gb_ast_pos pos;
} gb_ast_dim;

/* f32 / bool scalar (ndim 0, written without brackets) or array. */
typedef struct gb_ast_type {
	gb_ast_elem elem;
	int ndim; /* 0 .. GB_MAX_DIMS */
	gb_ast_dim *dims;
	gb_ast_pos pos;
} gb_ast_type;

/* ---- expressions ---------------------------------------------------------- */

typedef enum gb_ast_expr_kind {
	GB_AST_NAME = 0,   /* x */
	GB_AST_INT,        /* 3 */
	GB_AST_FLOAT,      /* 0.5  1e-3  2.0 */
	GB_AST_BOOL_LIT,   /* True False */
	GB_AST_UNARY,      /* -x  not x */
	GB_AST_BINARY,     /* a + b  a < b  a and b  a @ b ... */
	GB_AST_CALL,       /* f(a, b, key=v) */
	GB_AST_INDEX,      /* x[i, 1:3, :] */
	GB_AST_ARRAY,      /* [a, b, c] */
	GB_AST_COMPREHENSION, /* [e for i in range(n)] */
	GB_AST_WEIGHTS     /* weights["key"] */
} gb_ast_expr_kind;

typedef enum gb_ast_op {
	/* unary */
	GB_AST_NEG = 0, /* -a */
	GB_AST_NOT,     /* not a */
	/* binary, grouped by precedence (lowest first) */
	GB_AST_OR,
	GB_AST_AND,
	GB_AST_LT,
	GB_AST_LE,
	GB_AST_GT,
	GB_AST_GE,
	GB_AST_EQ,
	GB_AST_NE,
	GB_AST_ADD,
	GB_AST_SUB,
	GB_AST_MUL,
	GB_AST_DIV,
	GB_AST_FLOORDIV, /* // integers only */
	GB_AST_MOD,      /* %  integers only */
	GB_AST_MATMUL,   /* @ */
	GB_AST_OP_COUNT
} gb_ast_op;

typedef struct gb_ast_expr gb_ast_expr;

/* range(stop) | range(start, stop) | range(start, stop, step); start and
 * step are NULL when not written. */
typedef struct gb_ast_range {
	gb_ast_expr *start;
	gb_ast_expr *stop;
	gb_ast_expr *step;
	gb_ast_pos pos;
} gb_ast_range;

typedef struct gb_ast_kwarg {
	const char *name;
	gb_ast_expr *value;
	gb_ast_pos pos;
} gb_ast_kwarg;

/* One item between the brackets of a subscript: an index (x[i]) or a slice
 * (x[start:stop:step], each part optional and NULL when omitted). */
typedef struct gb_ast_subscript {
	bool is_slice;
	gb_ast_expr *index; /* !is_slice */
	gb_ast_expr *start, *stop, *step; /* is_slice */
	gb_ast_pos pos;
} gb_ast_subscript;

struct gb_ast_expr {
	gb_ast_expr_kind kind;
	gb_ast_pos pos;
	int depth; /* height of this subtree (a leaf is 1); bounded by GB_LANG_MAX_DEPTH */
	union {
		const char *name; /* NAME */
		int64_t ival;     /* INT (>= 0; a minus sign is a NEG node) */
		float fval;       /* FLOAT (finite, >= 0) */
		bool bval;        /* BOOL_LIT */
		struct {
			gb_ast_op op; /* NEG or NOT */
			gb_ast_expr *operand;
		} unary;
		struct {
			gb_ast_op op;
			gb_ast_expr *lhs, *rhs;
		} binary;
		struct {
			const char *callee; /* functions are called by name */
			gb_ast_expr **args;
			int n_args;
			gb_ast_kwarg *kwargs; /* after the positional ones, names distinct */
			int n_kwargs;
		} call;
		struct {
			gb_ast_expr *base;
			gb_ast_subscript *subs;
			int n_subs; /* >= 1 */
		} index;
		struct {
			gb_ast_expr **items;
			int n_items; /* >= 1 */
		} array;
		struct {
			gb_ast_expr *body;
			const char *var;
			gb_ast_range range;
		} comp;
		const char *weights_key; /* WEIGHTS */
	} u;
};

/* ---- statements --------------------------------------------------------------- */

typedef struct gb_ast_comment {
	const char *text; /* what follows '#', trailing blanks removed */
	gb_ast_pos pos;
	bool blank_before;
} gb_ast_comment;

typedef struct gb_ast_stmt gb_ast_stmt;

typedef struct gb_ast_block {
	gb_ast_stmt **stmts;
	int n_stmts;
	gb_ast_comment *end_comments; /* comment lines after the last statement */
	int n_end_comments;
} gb_ast_block;

typedef enum gb_ast_stmt_kind {
	GB_AST_WEIGHTS_FILE = 0, /* weights "file.safetensors" */
	GB_AST_INPUT,            /* input x: f32[3] */
	GB_AST_OUTPUT,           /* output y: f32[1]   output y = e   output y: T = e */
	GB_AST_PARAM,            /* param W: f32[2, 3] = e */
	GB_AST_ASSIGN,           /* x = e   x: T = e   y[0] = e   a, b = e   x: T */
	GB_AST_FOR,              /* for i in range(...): block */
	GB_AST_DEF,              /* def f(a: T, ...) -> T: block */
	GB_AST_RETURN            /* return e, ... */
} gb_ast_stmt_kind;

/* An assignment target: a name, optionally with one subscript group
 * (y[0] = ..., h[i, :] = ...). */
typedef struct gb_ast_target {
	const char *name;
	gb_ast_subscript *subs;
	int n_subs; /* 0: the whole name */
	gb_ast_pos pos;
} gb_ast_target;

typedef struct gb_ast_param_decl {
	const char *name;
	gb_ast_type type;
	gb_ast_pos pos;
} gb_ast_param_decl;

struct gb_ast_stmt {
	gb_ast_stmt_kind kind;
	gb_ast_pos pos;
	gb_ast_comment *leading; /* comment lines before the statement */
	int n_leading;
	const char *trailing; /* comment on the statement's (header) line, or NULL */
	bool blank_before;
	union {
		const char *weights_path; /* WEIGHTS_FILE */
		struct {
			const char *name;
			gb_ast_pos name_pos;
			gb_ast_type *type;  /* NULL only for "output y = e" */
			gb_ast_expr *value; /* NULL for input, and for "output y: T" */
		} decl; /* INPUT, OUTPUT, PARAM */
		struct {
			gb_ast_target *targets;
			int n_targets;      /* >= 1; several only for tuple results */
			gb_ast_type *type;  /* "x: T = e" (one plain-name target), else NULL */
			gb_ast_expr *value; /* NULL for "x: T" (declared, filled in by element) */
		} assign;
		struct {
			const char *var;
			gb_ast_pos var_pos;
			gb_ast_range range;
			gb_ast_block body;
		} loop;
		struct {
			const char *name;
			gb_ast_pos name_pos;
			gb_ast_param_decl *params;
			int n_params;
			gb_ast_type *returns; /* one type, or several for a tuple */
			int n_returns;        /* >= 1 */
			gb_ast_block body;    /* ends with its only return statement */
		} def;
		struct {
			gb_ast_expr **values;
			int n_values; /* >= 1 */
		} ret;
	} u;
};

typedef struct gb_ast {
	const char *file; /* label used in messages (arena copy) */
	gb_ast_block body;
	gb_arena arena; /* owns everything above */
} gb_ast;

/* ---- tree utilities (ast.c) ---------------------------------------------------- */

/* Releases the tree and everything in it; accepts NULL. */
void gb_ast_free(gb_ast *ast);

/* Structural equality ignoring source positions (and depths): same
 * statements, expressions, literal values (floats compared bit for bit),
 * names, comments and blank-line flags. */
bool gb_ast_equal(const gb_ast *a, const gb_ast *b);
bool gb_ast_expr_equal(const gb_ast_expr *a, const gb_ast_expr *b);

/* A fully parenthesised, position-free rendering of the tree, one statement
 * per line, for tests and debugging (the format is not a stable interface).
 * *out is malloc'ed and owned by the caller. */
gb_status gb_ast_dump(const gb_ast *ast, char **out, gb_error *err);

/* The operator's source spelling ("+", "and", "@", ...). */
const char *gb_ast_op_str(gb_ast_op op);

#endif /* GB_LANG_AST_H */
