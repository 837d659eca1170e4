/*
 * parser.c — recursive-descent parser from tokens (lexer.c) to the tree in
 * ast.h. The grammar it implements is the one in docs/language.md; each
 * parse_* function names the rule it reads.
 *
 * Errors: the first one stops the parse with
 * "FILE:LINE:COL: expected X, found Y" (GB_STATUS_BAD_FILE). Functions
 * return NULL / false after recording it; nothing needs freeing because
 * every node lives in the tree's arena, released as a whole on failure.
 *
 * Bounds against hostile input: recursion goes through parse_expr (every
 * bracket level), unary operators and blocks, and each of those counts
 * against GB_LANG_MAX_NESTING; operator chains are loops, but the trees they
 * build are checked against GB_LANG_MAX_DEPTH so that every later recursive
 * walk (printer, checker, interpreter) stays shallow too.
 *
 * Comments: comment lines before a statement become its leading comments;
 * comments inside its brackets are appended to them; the comment on its last
 * line is its trailing comment. Comment lines before a dedent stay with the
 * block they close when indented at least as far as its statements.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct vec {
	char *data;
	int n, cap;
} vec;

typedef struct parser {
	const char *src;
	const char *file;
	gb_tok *toks;
	int n_toks;
	int cur; /* index of the current token (never a COMMENT_INNER) */
	gb_pool *pool; /* the tree's memory */
	gb_error *err;
	int nesting;     /* current recursion level, bounded by GB_LANG_MAX_NESTING */
	int block_level; /* 0 at top level */
	int def_level;   /* block_level of the enclosing def's body, 0 when outside a def */
	vec inner;       /* comments met inside brackets of the current statement */
	bool failed;
	gb_status status; /* of the first failure */
} parser;

static void *nomem(parser *p)
{
	if (!p->failed) {
		p->failed = true;
		p->status = GB_STATUS_NOMEM;
		gb_fail(p->err, GB_STATUS_NOMEM, "%s: out of memory while parsing", p->file);
	}
	return NULL;
}

/* ---- vectors in the tree's memory ------------------------------------------------ */

static bool vec_push(parser *p, vec *v, const void *item, size_t elem)
{
	if (v->n == v->cap) {
		if (v->cap > INT32_MAX / 4)
			goto nomem;
		int cap = v->cap ? v->cap * 2 : 2;
		char *grown = gb_pool_alloc(p->pool, elem * (size_t)cap);
		if (!grown)
			goto nomem;
		if (v->n)
			memcpy(grown, v->data, elem * (size_t)v->n);
		v->data = grown;
		v->cap = cap;
	}
	memcpy(v->data + elem * (size_t)v->n, item, elem);
	v->n++;
	return true;
nomem:
	nomem(p);
	return false;
}

static bool push_ptr(parser *p, vec *v, void *ptr)
{
	return vec_push(p, v, &ptr, sizeof ptr);
}

static void *new_zeroed(parser *p, size_t size)
{
	void *mem = gb_pool_alloc(p->pool, size);
	return mem ? mem : nomem(p);
}

/* ---- tokens ---------------------------------------------------------------------- */

static const gb_tok *peek(const parser *p)
{
	return &p->toks[p->cur];
}

static gb_tok_kind peek_kind(const parser *p)
{
	return p->toks[p->cur].kind;
}

/* Kind of the token after the current one (comments inside brackets skipped). */
static gb_tok_kind peek_next_kind(const parser *p)
{
	int k = p->cur;
	if (p->toks[k].kind == GB_TOK_EOF)
		return GB_TOK_EOF;
	k++;
	while (p->toks[k].kind == GB_TOK_COMMENT_INNER)
		k++;
	return p->toks[k].kind;
}

/* Moves to the next token, collecting comments found inside brackets. */
static bool advance(parser *p)
{
	if (p->toks[p->cur].kind == GB_TOK_EOF)
		return true;
	p->cur++;
	while (p->toks[p->cur].kind == GB_TOK_COMMENT_INNER) {
		const gb_tok *t = &p->toks[p->cur];
		gb_ast_comment c = {.text = t->text, .pos = t->pos, .blank_before = false};
		if (!vec_push(p, &p->inner, &c, sizeof c))
			return false;
		p->cur++;
	}
	return true;
}

static void *fail_at(parser *p, const gb_tok *t, const char *expected)
{
	if (!p->failed) {
		char found[128];
		gb_tok_describe(t, p->src, found, sizeof found);
		gb_fail(p->err, GB_STATUS_BAD_FILE, "%s:%d:%d: expected %s, found %s", p->file, t->pos.line, t->pos.col,
		        expected, found);
		p->failed = true;
		p->status = GB_STATUS_BAD_FILE;
	}
	return NULL;
}

static void *fail(parser *p, const char *expected)
{
	return fail_at(p, peek(p), expected);
}

static bool fail_b(parser *p, const char *expected)
{
	fail(p, expected);
	return false;
}

/* Consumes a token of the given kind or fails with "expected <what>". */
static const gb_tok *expect(parser *p, gb_tok_kind kind, const char *what)
{
	const gb_tok *t = peek(p);
	if (t->kind != kind)
		return fail(p, what ? what : gb_tok_kind_str(kind));
	if (!advance(p))
		return NULL;
	return t;
}

static bool enter(parser *p)
{
	if (p->nesting >= GB_LANG_MAX_NESTING) {
		char expected[64];
		snprintf(expected, sizeof expected, "at most %d nested brackets, operators or blocks",
		         GB_LANG_MAX_NESTING);
		fail(p, expected);
		return false;
	}
	p->nesting++;
	return true;
}

static void leave(parser *p)
{
	p->nesting--;
}

/* ---- expressions ------------------------------------------------------------------ */

static gb_ast_expr *parse_expr(parser *p);

static gb_ast_expr *new_expr(parser *p, gb_ast_expr_kind kind, gb_ast_pos pos)
{
	gb_ast_expr *e = new_zeroed(p, sizeof *e);
	if (e) {
		e->kind = kind;
		e->pos = pos;
		e->depth = 1;
	}
	return e;
}

/* Records the height of e from its children; fails past GB_LANG_MAX_DEPTH. */
static gb_ast_expr *set_depth(parser *p, gb_ast_expr *e, int child_depth, const gb_tok *at)
{
	if (child_depth >= GB_LANG_MAX_DEPTH) {
		char expected[96];
		snprintf(expected, sizeof expected, "an expression at most %d operations deep (split it with names)",
		         GB_LANG_MAX_DEPTH);
		return fail_at(p, at, expected);
	}
	e->depth = child_depth + 1;
	return e;
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

/* range '(' expr [',' expr [',' expr]] ')' */
static bool parse_range(parser *p, gb_ast_range *r)
{
	const gb_tok *t = peek(p);
	if (t->kind != GB_TOK_NAME || strcmp(t->text, "range") != 0) {
		fail(p, "'range'");
		return false;
	}
	r->pos = t->pos;
	if (!advance(p) || !expect(p, GB_TOK_LPAREN, NULL))
		return false;
	gb_ast_expr *args[3] = {NULL, NULL, NULL};
	int n = 0;
	for (;;) {
		if (!(args[n++] = parse_expr(p)))
			return false;
		if (n == 3 || peek_kind(p) != GB_TOK_COMMA)
			break;
		if (!advance(p))
			return false;
	}
	if (!expect(p, GB_TOK_RPAREN, n == 3 ? "')' (range takes at most 3 arguments)" : "',' or ')'"))
		return false;
	r->start = n >= 2 ? args[0] : NULL;
	r->stop = n >= 2 ? args[1] : args[0];
	r->step = n == 3 ? args[2] : NULL;
	return true;
}

static int range_depth(const gb_ast_range *r)
{
	int d = r->stop->depth;
	if (r->start)
		d = max_int(d, r->start->depth);
	if (r->step)
		d = max_int(d, r->step->depth);
	return d;
}

/* '[' expr {',' expr} [','] ']'  |  '[' expr 'for' NAME 'in' range ']' */
static gb_ast_expr *parse_list(parser *p)
{
	const gb_tok *open = peek(p);
	if (!advance(p))
		return NULL;
	gb_ast_expr *first = parse_expr(p);
	if (!first)
		return NULL;
	if (peek_kind(p) == GB_TOK_FOR) {
		gb_ast_expr *e = new_expr(p, GB_AST_COMPREHENSION, open->pos);
		if (!e || !advance(p))
			return NULL;
		const gb_tok *var = expect(p, GB_TOK_NAME, "a loop variable name");
		if (!var || !expect(p, GB_TOK_IN, NULL) || !parse_range(p, &e->u.comp.range))
			return NULL;
		if (!expect(p, GB_TOK_RBRACKET, NULL))
			return NULL;
		e->u.comp.body = first;
		e->u.comp.var = var->text;
		return set_depth(p, e, max_int(first->depth, range_depth(&e->u.comp.range)), open);
	}
	vec items = {0};
	if (!push_ptr(p, &items, first))
		return NULL;
	int depth = first->depth;
	while (peek_kind(p) == GB_TOK_COMMA) {
		if (!advance(p))
			return NULL;
		if (peek_kind(p) == GB_TOK_RBRACKET)
			break;
		gb_ast_expr *item = parse_expr(p);
		if (!item || !push_ptr(p, &items, item))
			return NULL;
		depth = max_int(depth, item->depth);
	}
	if (!expect(p, GB_TOK_RBRACKET, "',' or ']'"))
		return NULL;
	gb_ast_expr *e = new_expr(p, GB_AST_ARRAY, open->pos);
	if (!e)
		return NULL;
	e->u.array.items = (gb_ast_expr **)items.data;
	e->u.array.n_items = items.n;
	return set_depth(p, e, depth, open);
}

/* '(' [arg {',' arg} [',']] ')'   arg := expr | NAME '=' expr */
static gb_ast_expr *parse_call(parser *p, gb_ast_expr *callee)
{
	const gb_tok *open = peek(p);
	if (!advance(p))
		return NULL;
	vec args = {0}, kwargs = {0};
	int depth = 0;
	while (peek_kind(p) != GB_TOK_RPAREN) {
		if (peek_kind(p) == GB_TOK_NAME && peek_next_kind(p) == GB_TOK_ASSIGN) {
			const gb_tok *key = peek(p);
			for (int k = 0; k < kwargs.n; k++) {
				const gb_ast_kwarg *prev = (const gb_ast_kwarg *)kwargs.data + k;
				if (strcmp(prev->name, key->text) == 0)
					return fail(p, "each keyword argument once");
			}
			if (!advance(p) || !advance(p))
				return NULL;
			gb_ast_kwarg kw = {.name = key->text, .pos = key->pos, .value = parse_expr(p)};
			if (!kw.value || !vec_push(p, &kwargs, &kw, sizeof kw))
				return NULL;
			depth = max_int(depth, kw.value->depth);
		} else {
			if (kwargs.n > 0)
				return fail(p, "a keyword argument (positional arguments come first)");
			gb_ast_expr *arg = parse_expr(p);
			if (!arg || !push_ptr(p, &args, arg))
				return NULL;
			depth = max_int(depth, arg->depth);
		}
		if (peek_kind(p) != GB_TOK_COMMA)
			break;
		if (!advance(p))
			return NULL;
	}
	if (!expect(p, GB_TOK_RPAREN, "',' or ')'"))
		return NULL;
	gb_ast_expr *e = new_expr(p, GB_AST_CALL, callee->pos);
	if (!e)
		return NULL;
	e->u.call.callee = callee->u.name;
	e->u.call.args = (gb_ast_expr **)args.data;
	e->u.call.n_args = args.n;
	e->u.call.kwargs = (gb_ast_kwarg *)kwargs.data;
	e->u.call.n_kwargs = kwargs.n;
	return set_depth(p, e, depth, open);
}

static bool ends_slice_part(gb_tok_kind k)
{
	return k == GB_TOK_COMMA || k == GB_TOK_RBRACKET || k == GB_TOK_COLON;
}

/* sub := expr | [expr] ':' [expr] [':' [expr]] */
static bool parse_subscript(parser *p, gb_ast_subscript *s, int *depth)
{
	memset(s, 0, sizeof *s);
	s->pos = peek(p)->pos;
	gb_ast_expr *first = NULL;
	if (peek_kind(p) != GB_TOK_COLON) {
		if (!(first = parse_expr(p)))
			return false;
		*depth = max_int(*depth, first->depth);
		if (peek_kind(p) != GB_TOK_COLON) {
			s->index = first;
			return true;
		}
	}
	s->is_slice = true;
	s->start = first;
	if (!advance(p)) /* ':' */
		return false;
	if (!ends_slice_part(peek_kind(p))) {
		if (!(s->stop = parse_expr(p)))
			return false;
		*depth = max_int(*depth, s->stop->depth);
	}
	if (peek_kind(p) == GB_TOK_COLON) {
		if (!advance(p))
			return false;
		if (!ends_slice_part(peek_kind(p))) {
			if (!(s->step = parse_expr(p)))
				return false;
			*depth = max_int(*depth, s->step->depth);
		}
	}
	return true;
}

/* '[' sub {',' sub} ']' */
static bool parse_subscripts(parser *p, gb_ast_subscript **subs, int *n_subs, int *depth)
{
	if (!advance(p)) /* '[' */
		return false;
	vec v = {0};
	for (;;) {
		gb_ast_subscript s;
		if (!parse_subscript(p, &s, depth) || !vec_push(p, &v, &s, sizeof s))
			return false;
		if (peek_kind(p) != GB_TOK_COMMA)
			break;
		if (!advance(p))
			return false;
	}
	if (!expect(p, GB_TOK_RBRACKET, "',' or ']'"))
		return false;
	*subs = (gb_ast_subscript *)v.data;
	*n_subs = v.n;
	return true;
}

/* atom := NAME | INT | FLOAT | True | False | '(' expr ')' | list | weights '[' STRING ']' */
static gb_ast_expr *parse_atom(parser *p)
{
	const gb_tok *t = peek(p);
	gb_ast_expr *e = NULL;
	switch (t->kind) {
	case GB_TOK_NAME:
		if ((e = new_expr(p, GB_AST_NAME, t->pos)))
			e->u.name = t->text;
		break;
	case GB_TOK_INT:
		if ((e = new_expr(p, GB_AST_INT, t->pos)))
			e->u.ival = t->ival;
		break;
	case GB_TOK_FLOAT:
		if ((e = new_expr(p, GB_AST_FLOAT, t->pos)))
			e->u.fval = t->fval;
		break;
	case GB_TOK_TRUE:
	case GB_TOK_FALSE:
		if ((e = new_expr(p, GB_AST_BOOL_LIT, t->pos)))
			e->u.bval = t->kind == GB_TOK_TRUE;
		break;
	case GB_TOK_LPAREN: {
		if (!advance(p))
			return NULL;
		gb_ast_expr *inner = parse_expr(p);
		if (!inner || !expect(p, GB_TOK_RPAREN, NULL))
			return NULL;
		return inner;
	}
	case GB_TOK_LBRACKET: return parse_list(p);
	case GB_TOK_WEIGHTS: {
		if (!advance(p) || !expect(p, GB_TOK_LBRACKET, "'[' after 'weights'"))
			return NULL;
		const gb_tok *key = expect(p, GB_TOK_STRING, "a tensor name string (weights[\"name\"])");
		if (!key || !expect(p, GB_TOK_RBRACKET, NULL))
			return NULL;
		if ((e = new_expr(p, GB_AST_WEIGHTS, t->pos)))
			e->u.weights_key = key->text;
		return e;
	}
	default: return fail(p, "an expression");
	}
	if (!e || !advance(p))
		return NULL;
	return e;
}

/* postfix := (NAME '(' args ')' | atom) { '[' subs ']' }   (a call only right after a name) */
static gb_ast_expr *parse_postfix(parser *p)
{
	bool callable = peek_kind(p) == GB_TOK_NAME; /* not "(f)(x)" */
	gb_ast_expr *e = parse_atom(p);
	while (e) {
		if (peek_kind(p) == GB_TOK_LPAREN && callable) {
			callable = false;
			e = parse_call(p, e);
		} else if (peek_kind(p) == GB_TOK_LBRACKET) {
			callable = false;
			const gb_tok *open = peek(p);
			gb_ast_expr *ix = new_expr(p, GB_AST_INDEX, e->pos);
			if (!ix)
				return NULL;
			int depth = e->depth;
			ix->u.index.base = e;
			if (!parse_subscripts(p, &ix->u.index.subs, &ix->u.index.n_subs, &depth))
				return NULL;
			e = set_depth(p, ix, depth, open);
		} else {
			break;
		}
	}
	return e;
}

/* unary := '-' unary | postfix */
static gb_ast_expr *parse_unary(parser *p)
{
	if (peek_kind(p) != GB_TOK_MINUS)
		return parse_postfix(p);
	const gb_tok *t = peek(p);
	if (!enter(p) || !advance(p))
		return NULL;
	gb_ast_expr *operand = parse_unary(p);
	leave(p);
	if (!operand)
		return NULL;
	gb_ast_expr *e = new_expr(p, GB_AST_UNARY, t->pos);
	if (!e)
		return NULL;
	e->u.unary.op = GB_AST_NEG;
	e->u.unary.operand = operand;
	return set_depth(p, e, operand->depth, t);
}

static gb_ast_expr *new_binary(parser *p, gb_ast_op op, gb_ast_expr *lhs, gb_ast_expr *rhs, const gb_tok *at)
{
	gb_ast_expr *e = new_expr(p, GB_AST_BINARY, at->pos);
	if (!e)
		return NULL;
	e->u.binary.op = op;
	e->u.binary.lhs = lhs;
	e->u.binary.rhs = rhs;
	return set_depth(p, e, max_int(lhs->depth, rhs->depth), at);
}

static bool mul_op(gb_tok_kind k, gb_ast_op *op)
{
	switch (k) {
	case GB_TOK_STAR: *op = GB_AST_MUL; return true;
	case GB_TOK_SLASH: *op = GB_AST_DIV; return true;
	case GB_TOK_SLASHSLASH: *op = GB_AST_FLOORDIV; return true;
	case GB_TOK_PERCENT: *op = GB_AST_MOD; return true;
	case GB_TOK_AT: *op = GB_AST_MATMUL; return true;
	default: return false;
	}
}

static bool add_op(gb_tok_kind k, gb_ast_op *op)
{
	switch (k) {
	case GB_TOK_PLUS: *op = GB_AST_ADD; return true;
	case GB_TOK_MINUS: *op = GB_AST_SUB; return true;
	default: return false;
	}
}

static bool cmp_op(gb_tok_kind k, gb_ast_op *op)
{
	switch (k) {
	case GB_TOK_LT: *op = GB_AST_LT; return true;
	case GB_TOK_LE: *op = GB_AST_LE; return true;
	case GB_TOK_GT: *op = GB_AST_GT; return true;
	case GB_TOK_GE: *op = GB_AST_GE; return true;
	case GB_TOK_EQ: *op = GB_AST_EQ; return true;
	case GB_TOK_NE: *op = GB_AST_NE; return true;
	default: return false;
	}
}

/* mul := unary {('*' | '/' | '//' | '%' | '@') unary} */
static gb_ast_expr *parse_mul(parser *p)
{
	gb_ast_expr *e = parse_unary(p);
	gb_ast_op op;
	while (e && mul_op(peek_kind(p), &op)) {
		const gb_tok *t = peek(p);
		if (!advance(p))
			return NULL;
		gb_ast_expr *rhs = parse_unary(p);
		e = rhs ? new_binary(p, op, e, rhs, t) : NULL;
	}
	return e;
}

/* add := mul {('+' | '-') mul} */
static gb_ast_expr *parse_add(parser *p)
{
	gb_ast_expr *e = parse_mul(p);
	gb_ast_op op;
	while (e && add_op(peek_kind(p), &op)) {
		const gb_tok *t = peek(p);
		if (!advance(p))
			return NULL;
		gb_ast_expr *rhs = parse_mul(p);
		e = rhs ? new_binary(p, op, e, rhs, t) : NULL;
	}
	return e;
}

/* cmp := add [cmpop add]   (comparisons do not chain) */
static gb_ast_expr *parse_cmp(parser *p)
{
	gb_ast_expr *e = parse_add(p);
	gb_ast_op op;
	if (!e || !cmp_op(peek_kind(p), &op))
		return e;
	const gb_tok *t = peek(p);
	if (!advance(p))
		return NULL;
	gb_ast_expr *rhs = parse_add(p);
	if (!rhs || !(e = new_binary(p, op, e, rhs, t)))
		return NULL;
	if (cmp_op(peek_kind(p), &op))
		return fail(p, "one comparison (they do not chain: write a < b and b < c)");
	return e;
}

/* not := 'not' not | cmp */
static gb_ast_expr *parse_not(parser *p)
{
	if (peek_kind(p) != GB_TOK_NOT)
		return parse_cmp(p);
	const gb_tok *t = peek(p);
	if (!enter(p) || !advance(p))
		return NULL;
	gb_ast_expr *operand = parse_not(p);
	leave(p);
	if (!operand)
		return NULL;
	gb_ast_expr *e = new_expr(p, GB_AST_UNARY, t->pos);
	if (!e)
		return NULL;
	e->u.unary.op = GB_AST_NOT;
	e->u.unary.operand = operand;
	return set_depth(p, e, operand->depth, t);
}

/* and := not {'and' not} */
static gb_ast_expr *parse_and(parser *p)
{
	gb_ast_expr *e = parse_not(p);
	while (e && peek_kind(p) == GB_TOK_AND) {
		const gb_tok *t = peek(p);
		if (!advance(p))
			return NULL;
		gb_ast_expr *rhs = parse_not(p);
		e = rhs ? new_binary(p, GB_AST_AND, e, rhs, t) : NULL;
	}
	return e;
}

/* expr := and {'or' and} */
static gb_ast_expr *parse_expr(parser *p)
{
	if (!enter(p))
		return NULL;
	gb_ast_expr *e = parse_and(p);
	while (e && peek_kind(p) == GB_TOK_OR) {
		const gb_tok *t = peek(p);
		if (!advance(p)) {
			e = NULL;
			break;
		}
		gb_ast_expr *rhs = parse_and(p);
		e = rhs ? new_binary(p, GB_AST_OR, e, rhs, t) : NULL;
	}
	leave(p);
	return e;
}

/* ---- types ---------------------------------------------------------------------- */

/* type := ('f32' | 'bool') ['[' dim {',' dim} ']']   dim := INT | NAME (in a def) */
static bool parse_type(parser *p, gb_ast_type *ty, bool allow_names)
{
	memset(ty, 0, sizeof *ty);
	const gb_tok *t = peek(p);
	if (t->kind == GB_TOK_NAME && strcmp(t->text, "f32") == 0)
		ty->elem = GB_AST_F32;
	else if (t->kind == GB_TOK_NAME && strcmp(t->text, "bool") == 0)
		ty->elem = GB_AST_BOOL;
	else
		return fail_b(p, "a type (f32 or bool)");
	ty->pos = t->pos;
	if (!advance(p))
		return false;
	if (peek_kind(p) != GB_TOK_LBRACKET)
		return true;
	if (!advance(p))
		return false;
	vec dims = {0};
	for (;;) {
		const gb_tok *d = peek(p);
		gb_ast_dim dim = {.pos = d->pos};
		if (d->kind == GB_TOK_INT) {
			if (d->ival <= 0)
				return fail_b(p, "a positive dimension");
			dim.size = d->ival;
		} else if (d->kind == GB_TOK_NAME && allow_names) {
			dim.name = d->text;
		} else {
			return fail_b(p, allow_names ? "a dimension (a positive integer or a name)"
			                             : "a dimension (a positive integer)");
		}
		if (dims.n == GB_MAX_DIMS)
			return fail_b(p, "at most 8 dimensions");
		if (!advance(p) || !vec_push(p, &dims, &dim, sizeof dim))
			return false;
		if (peek_kind(p) != GB_TOK_COMMA)
			break;
		if (!advance(p))
			return false;
	}
	if (!expect(p, GB_TOK_RBRACKET, "',' or ']'"))
		return false;
	ty->dims = (gb_ast_dim *)dims.data;
	ty->ndim = dims.n;
	return true;
}

static gb_ast_type *parse_type_new(parser *p, bool allow_names)
{
	gb_ast_type *ty = new_zeroed(p, sizeof *ty);
	if (!ty || !parse_type(p, ty, allow_names))
		return NULL;
	return ty;
}

/* ---- statements ---------------------------------------------------------------- */

static bool parse_stmts(parser *p, gb_ast_block *blk, int indent_col, vec *pending, gb_ast_pos *end_pos);

/* NEWLINE, keeping the line's trailing comment. */
static bool parse_line_end(parser *p, gb_ast_stmt *s)
{
	const gb_tok *t = peek(p);
	if (t->kind != GB_TOK_NEWLINE)
		return fail_b(p, "end of line");
	s->trailing = t->text;
	return advance(p);
}

/* Leading comments: the comment lines before the statement, then the
 * comments inside its brackets. Empties both lists. */
static bool take_leading(parser *p, gb_ast_stmt *s, vec *pending)
{
	int n = pending->n + p->inner.n;
	if (n > 0) {
		gb_ast_comment *all = gb_pool_alloc(p->pool, sizeof *all * (size_t)n);
		if (!all)
			{
			nomem(p);
			return false;
		}
		if (pending->n)
			memcpy(all, pending->data, sizeof *all * (size_t)pending->n);
		if (p->inner.n)
			memcpy(all + pending->n, p->inner.data, sizeof *all * (size_t)p->inner.n);
		s->leading = all;
		s->n_leading = n;
	}
	pending->n = 0;
	p->inner.n = 0;
	return true;
}

/* An indented block after a compound statement's header line. Comment lines
 * between the header and the block arrive in pending (they lead the block's
 * first statement); comments left after the block stay in pending. */
static bool parse_block(parser *p, gb_ast_block *blk, vec *pending, gb_ast_pos *end_pos)
{
	while (peek_kind(p) == GB_TOK_COMMENT_LINE) {
		const gb_tok *t = peek(p);
		gb_ast_comment c = {.text = t->text, .pos = t->pos, .blank_before = pending->n > 0 && t->blank_before};
		if (!vec_push(p, pending, &c, sizeof c) || !advance(p))
			return false;
	}
	const gb_tok *indent = peek(p);
	if (indent->kind != GB_TOK_INDENT)
		return fail_b(p, "an indented block");
	if (!enter(p))
		return false;
	if (!advance(p))
		return false;
	p->block_level++;
	bool ok = parse_stmts(p, blk, indent->pos.col, pending, end_pos);
	p->block_level--;
	leave(p);
	return ok;
}

/* target := NAME ['[' subs ']'] */
static bool parse_target(parser *p, gb_ast_target *tg)
{
	memset(tg, 0, sizeof *tg);
	const gb_tok *name = expect(p, GB_TOK_NAME, "a name to assign");
	if (!name)
		return false;
	tg->name = name->text;
	tg->pos = name->pos;
	if (peek_kind(p) == GB_TOK_LBRACKET) {
		int depth = 0;
		if (!parse_subscripts(p, &tg->subs, &tg->n_subs, &depth))
			return false;
	}
	return true;
}

/* assign := target {',' target} [':' type] '=' expr NEWLINE  |  NAME ':' type NEWLINE */
static bool parse_assign(parser *p, gb_ast_stmt *s)
{
	s->kind = GB_AST_ASSIGN;
	vec targets = {0};
	for (;;) {
		gb_ast_target tg;
		if (!parse_target(p, &tg) || !vec_push(p, &targets, &tg, sizeof tg))
			return false;
		if (peek_kind(p) != GB_TOK_COMMA)
			break;
		if (!advance(p))
			return false;
	}
	s->u.assign.targets = (gb_ast_target *)targets.data;
	s->u.assign.n_targets = targets.n;
	if (peek_kind(p) == GB_TOK_COLON && targets.n == 1 && s->u.assign.targets[0].n_subs == 0) {
		/* inside a def, local types may use the def's shape variables */
		if (!advance(p) || !(s->u.assign.type = parse_type_new(p, p->def_level > 0)))
			return false;
		if (peek_kind(p) == GB_TOK_NEWLINE) /* "h: f32[4]": declared, filled in later */
			return parse_line_end(p, s);
	}
	if (!expect(p, GB_TOK_ASSIGN, targets.n > 1 ? "',' or '='" : "'='"))
		return false;
	if (!(s->u.assign.value = parse_expr(p)))
		return false;
	return parse_line_end(p, s);
}

/* def := 'def' NAME '(' [NAME ':' type {',' NAME ':' type} [',']] ')'
 *        '->' (type | '(' type {',' type} [','] ')') ':' NEWLINE block */
static bool parse_def(parser *p, gb_ast_stmt *s, vec *pending)
{
	s->kind = GB_AST_DEF;
	if (!advance(p))
		return false;
	const gb_tok *name = expect(p, GB_TOK_NAME, "a function name");
	if (!name || !expect(p, GB_TOK_LPAREN, NULL))
		return false;
	s->u.def.name = name->text;
	s->u.def.name_pos = name->pos;
	vec params = {0};
	while (peek_kind(p) != GB_TOK_RPAREN) {
		gb_ast_param_decl pd;
		memset(&pd, 0, sizeof pd);
		const gb_tok *pn = expect(p, GB_TOK_NAME, "a parameter name or ')'");
		if (!pn || !expect(p, GB_TOK_COLON, "':' and the parameter's type"))
			return false;
		pd.name = pn->text;
		pd.pos = pn->pos;
		if (!parse_type(p, &pd.type, true) || !vec_push(p, &params, &pd, sizeof pd))
			return false;
		if (peek_kind(p) != GB_TOK_COMMA)
			break;
		if (!advance(p))
			return false;
	}
	if (!expect(p, GB_TOK_RPAREN, "',' or ')'"))
		return false;
	s->u.def.params = (gb_ast_param_decl *)params.data;
	s->u.def.n_params = params.n;
	if (!expect(p, GB_TOK_ARROW, "'->' and the return type"))
		return false;
	vec rets = {0};
	if (peek_kind(p) == GB_TOK_LPAREN) {
		if (!advance(p))
			return false;
		for (;;) {
			gb_ast_type ty;
			if (!parse_type(p, &ty, true) || !vec_push(p, &rets, &ty, sizeof ty))
				return false;
			if (peek_kind(p) != GB_TOK_COMMA)
				break;
			if (!advance(p))
				return false;
			if (peek_kind(p) == GB_TOK_RPAREN)
				break;
		}
		if (!expect(p, GB_TOK_RPAREN, "',' or ')'"))
			return false;
	} else {
		gb_ast_type ty;
		if (!parse_type(p, &ty, true) || !vec_push(p, &rets, &ty, sizeof ty))
			return false;
	}
	s->u.def.returns = (gb_ast_type *)rets.data;
	s->u.def.n_returns = rets.n;
	if (!expect(p, GB_TOK_COLON, "':' after the return type"))
		return false;
	if (!parse_line_end(p, s) || !take_leading(p, s, pending))
		return false;
	gb_ast_pos end;
	p->def_level = p->block_level + 1;
	bool ok = parse_block(p, &s->u.def.body, pending, &end);
	p->def_level = 0;
	if (!ok)
		return false;
	const gb_ast_block *body = &s->u.def.body;
	if (body->n_stmts == 0 || body->stmts[body->n_stmts - 1]->kind != GB_AST_RETURN) {
		gb_tok at = {.kind = GB_TOK_DEDENT, .pos = end};
		char expected[160];
		snprintf(expected, sizeof expected, "'return' as the last statement of def %.100s", s->u.def.name);
		fail_at(p, &at, expected);
		return false;
	}
	return true;
}

/* for := 'for' NAME 'in' range ':' NEWLINE block */
static bool parse_for(parser *p, gb_ast_stmt *s, vec *pending)
{
	s->kind = GB_AST_FOR;
	if (!advance(p))
		return false;
	const gb_tok *var = expect(p, GB_TOK_NAME, "a loop variable name");
	if (!var || !expect(p, GB_TOK_IN, NULL) || !parse_range(p, &s->u.loop.range))
		return false;
	s->u.loop.var = var->text;
	s->u.loop.var_pos = var->pos;
	if (!expect(p, GB_TOK_COLON, "':' after range(...)"))
		return false;
	if (!parse_line_end(p, s) || !take_leading(p, s, pending))
		return false;
	gb_ast_pos end;
	return parse_block(p, &s->u.loop.body, pending, &end);
}

/* decl := 'input' NAME ':' type
 *       | 'output' NAME (':' type ['=' expr] | '=' expr)
 *       | 'param' NAME ':' type '=' expr */
static bool parse_decl(parser *p, gb_ast_stmt *s)
{
	gb_tok_kind kw = peek_kind(p);
	s->kind = kw == GB_TOK_INPUT ? GB_AST_INPUT : kw == GB_TOK_OUTPUT ? GB_AST_OUTPUT : GB_AST_PARAM;
	if (!advance(p))
		return false;
	const gb_tok *name = expect(p, GB_TOK_NAME, "a name to declare");
	if (!name)
		return false;
	s->u.decl.name = name->text;
	s->u.decl.name_pos = name->pos;
	if (kw == GB_TOK_OUTPUT && peek_kind(p) != GB_TOK_COLON) {
		if (!expect(p, GB_TOK_ASSIGN, "':' or '='"))
			return false;
	} else {
		if (!expect(p, GB_TOK_COLON, "':' and a type"))
			return false;
		if (!(s->u.decl.type = parse_type_new(p, false)))
			return false;
		if (kw == GB_TOK_INPUT || (kw == GB_TOK_OUTPUT && peek_kind(p) != GB_TOK_ASSIGN))
			return parse_line_end(p, s);
		if (!expect(p, GB_TOK_ASSIGN, kw == GB_TOK_PARAM ? "'=' and the parameter's value" : "'='"))
			return false;
	}
	if (!(s->u.decl.value = parse_expr(p)))
		return false;
	return parse_line_end(p, s);
}

static gb_ast_stmt *parse_stmt(parser *p, vec *pending)
{
	const gb_tok *t = peek(p);
	gb_ast_stmt *s = new_zeroed(p, sizeof *s);
	if (!s)
		return NULL;
	s->pos = t->pos;
	s->blank_before = t->blank_before;
	p->inner.n = 0;
	bool ok;
	switch (t->kind) {
	case GB_TOK_WEIGHTS:
	case GB_TOK_INPUT:
	case GB_TOK_OUTPUT:
	case GB_TOK_PARAM:
	case GB_TOK_DEF:
		if (p->block_level > 0)
			return fail(p, "a statement that may stand in a block (declarations and def only at top level)");
		if (t->kind == GB_TOK_DEF)
			return parse_def(p, s, pending) ? s : NULL;
		if (t->kind == GB_TOK_WEIGHTS) {
			s->kind = GB_AST_WEIGHTS_FILE;
			if (!advance(p))
				return NULL;
			const gb_tok *path = expect(p, GB_TOK_STRING, "the weights file name as a string");
			if (!path)
				return NULL;
			s->u.weights_path = path->text;
			ok = parse_line_end(p, s);
		} else {
			ok = parse_decl(p, s);
		}
		break;
	case GB_TOK_FOR: return parse_for(p, s, pending) ? s : NULL;
	case GB_TOK_RETURN: {
		if (p->def_level == 0 || p->block_level != p->def_level)
			return fail(p, "a statement (return only ends a def's body)");
		s->kind = GB_AST_RETURN;
		if (!advance(p))
			return NULL;
		vec values = {0};
		for (;;) {
			gb_ast_expr *v = parse_expr(p);
			if (!v || !push_ptr(p, &values, v))
				return NULL;
			if (peek_kind(p) != GB_TOK_COMMA)
				break;
			if (!advance(p))
				return NULL;
		}
		s->u.ret.values = (gb_ast_expr **)values.data;
		s->u.ret.n_values = values.n;
		ok = parse_line_end(p, s);
		break;
	}
	case GB_TOK_NAME: ok = parse_assign(p, s); break;
	default: return fail(p, "a statement");
	}
	if (!ok || !take_leading(p, s, pending))
		return NULL;
	return s;
}

/* Statements of one block up to its DEDENT (or the end of the file at top
 * level, indent_col == 1). pending holds comment lines collected but not
 * yet placed; on return it holds those that belong after the block. */
static bool parse_stmts(parser *p, gb_ast_block *blk, int indent_col, vec *pending, gb_ast_pos *end_pos)
{
	vec stmts = {0};
	bool first = pending->n == 0; /* the block's first line has no blank line before it */
	bool after_return = false;
	for (;;) {
		while (peek_kind(p) == GB_TOK_COMMENT_LINE) {
			const gb_tok *t = peek(p);
			gb_ast_comment c = {.text = t->text, .pos = t->pos, .blank_before = !first && t->blank_before};
			first = false;
			if (!vec_push(p, pending, &c, sizeof c) || !advance(p))
				return false;
		}
		const gb_tok *t = peek(p);
		bool top = p->block_level == 0;
		if ((top && t->kind == GB_TOK_EOF) || (!top && t->kind == GB_TOK_DEDENT)) {
			/* Comment lines indented like the block's statements close it;
			 * the rest lead whatever follows. */
			gb_ast_comment *cs = (gb_ast_comment *)pending->data;
			int keep = 0;
			while (keep < pending->n && cs[keep].pos.col >= indent_col)
				keep++;
			if (keep > 0) {
				gb_ast_comment *end = gb_pool_alloc(p->pool, sizeof *end * (size_t)keep);
				if (!end)
					{
			nomem(p);
			return false;
		}
				memcpy(end, cs, sizeof *end * (size_t)keep);
				memmove(cs, cs + keep, sizeof *cs * (size_t)(pending->n - keep));
				pending->n -= keep;
				blk->end_comments = end;
				blk->n_end_comments = keep;
			}
			*end_pos = t->pos;
			if (!top && !advance(p))
				return false;
			break;
		}
		if (t->kind == GB_TOK_INDENT)
			return fail_b(p, "a statement at the block's indentation");
		if (after_return)
			return fail_b(p, "the end of the def after its return statement");
		if (t->kind == GB_TOK_EOF) /* unreachable: DEDENTs precede EOF */
			return fail_b(p, "end of block");
		gb_ast_stmt *s = parse_stmt(p, pending);
		if (!s)
			return false;
		if (first)
			s->blank_before = false;
		first = false;
		if (!push_ptr(p, &stmts, s))
			return false;
		after_return = s->kind == GB_AST_RETURN;
	}
	blk->stmts = (gb_ast_stmt **)stmts.data;
	blk->n_stmts = stmts.n;
	return true;
}

/* ---- entry points ---------------------------------------------------------------- */

gb_status gb_ast_parse(const char *src, size_t len, const char *file, gb_ast **out, gb_error *err)
{
	*out = NULL;
	if (!file)
		file = "<program>";
	gb_ast *ast = calloc(1, sizeof *ast);
	if (!ast)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory while parsing", file);
	gb_arena_init(&ast->arena, (size_t)64 << 10);
	gb_pool pool = {.arena = &ast->arena};
	parser p = {.src = src, .pool = &pool, .err = err};
	gb_status st;
	ast->file = p.file = gb_arena_strdup(&ast->arena, file);
	if (!ast->file) {
		st = gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory while parsing", file);
		goto fail;
	}
	if ((st = gb_lang_lex(src, len, ast->file, &pool, &p.toks, &p.n_toks, err)) != GB_OK)
		goto fail;
	/* COMMENT_INNER never comes first: it only occurs inside brackets. */
	vec pending = {0};
	gb_ast_pos end;
	if (!parse_stmts(&p, &ast->body, 1, &pending, &end)) {
		st = p.status != GB_OK ? p.status : GB_STATUS_BAD_FILE;
		goto fail;
	}
	free(p.toks); /* the tree keeps no token */
	*out = ast;
	return GB_OK;
fail:
	free(p.toks);
	gb_ast_free(ast);
	return st;
}

gb_status gb_ast_parse_file(const char *path, gb_ast **out, gb_error *err)
{
	*out = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	gb_status st = gb_file_read(path, GB_LANG_MAX_FILE_BYTES, &buf, &len, err);
	if (st != GB_OK)
		return st;
	st = gb_ast_parse((const char *)buf, len, path, out, err);
	free(buf);
	return st;
}
