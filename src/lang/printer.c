/*
 * printer.c — the one canonical layout of a program (lang.h states the
 * rules). The printer never consults the source text, only the tree, so two
 * sources with equal trees print the same; and it writes nothing the parser
 * would read differently, so parse ∘ print is the identity on trees.
 *
 * Trailing comments on consecutive lines are aligned (see print_block).
 *
 * Parentheses: each expression has a precedence level; a child is wrapped
 * exactly when the parser would otherwise attach it differently: a left
 * operand of lower precedence, a right operand of lower or equal precedence
 * (every binary operator is left-associative), either operand of a
 * comparison when it is itself a comparison (they do not chain).
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../core/strbuf.h"
#include "internal.h"

typedef gb_strbuf sbuf;

static void put_n(sbuf *b, const char *s, size_t n)
{
	gb_strbuf_put_n(b, s, n);
}

static void put(sbuf *b, const char *s)
{
	gb_strbuf_put(b, s);
}

static void put_indent(sbuf *b, int level)
{
	for (int i = 0; i < level; i++)
		put_n(b, "    ", 4);
}

static void put_i64(sbuf *b, int64_t v)
{
	char num[32];
	snprintf(num, sizeof num, "%lld", (long long)v);
	put(b, num);
}

/* ---- floats --------------------------------------------------------------------- */

void gb_lang_format_float(float v, char buf[32])
{
	GB_ASSERT(isfinite(v));
	char *out = buf;
	if (signbit(v)) {
		*out++ = '-';
		v = -v;
	}
	if (v == 0.0f) {
		strcpy(out, "0.0");
		return;
	}
	/* Fewest significant digits that read back as v. */
	char sci[32];
	int prec = 1;
	for (; prec <= 9; prec++) {
		snprintf(sci, sizeof sci, "%.*e", prec - 1, (double)v);
		if (strtof(sci, NULL) == v)
			break;
	}
	/* sci is "d.ddde±XX": collect the digits and the exponent. */
	char digits[16];
	int n = 0;
	const char *s = sci;
	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9')
			digits[n++] = *s;
	digits[n] = '\0';
	int exp10 = atoi(s + 1);
	while (n > 1 && digits[n - 1] == '0')
		digits[--n] = '\0';
	if (exp10 >= -4 && exp10 < 16) { /* positional, as Python's repr */
		char *o = out;
		if (exp10 < 0) {
			*o++ = '0';
			*o++ = '.';
			for (int k = 0; k < -exp10 - 1; k++)
				*o++ = '0';
			for (int k = 0; k < n; k++)
				*o++ = digits[k];
		} else {
			for (int k = 0; k <= exp10; k++)
				*o++ = k < n ? digits[k] : '0';
			*o++ = '.';
			if (n > exp10 + 1)
				for (int k = exp10 + 1; k < n; k++)
					*o++ = digits[k];
			else
				*o++ = '0';
		}
		*o = '\0';
	} else {
		char *o = out;
		*o++ = digits[0];
		if (n > 1) {
			*o++ = '.';
			for (int k = 1; k < n; k++)
				*o++ = digits[k];
		}
		snprintf(o, 16, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
	}
}

/* ---- expressions ------------------------------------------------------------------- */

enum {
	PREC_OR = 1,
	PREC_AND,
	PREC_NOT,
	PREC_CMP,
	PREC_ADD,
	PREC_MUL,
	PREC_UNARY,
	PREC_POSTFIX
};

static int op_prec(gb_ast_op op)
{
	switch (op) {
	case GB_AST_OR: return PREC_OR;
	case GB_AST_AND: return PREC_AND;
	case GB_AST_NOT: return PREC_NOT;
	case GB_AST_LT:
	case GB_AST_LE:
	case GB_AST_GT:
	case GB_AST_GE:
	case GB_AST_EQ:
	case GB_AST_NE: return PREC_CMP;
	case GB_AST_ADD:
	case GB_AST_SUB: return PREC_ADD;
	case GB_AST_MUL:
	case GB_AST_DIV:
	case GB_AST_FLOORDIV:
	case GB_AST_MOD:
	case GB_AST_MATMUL: return PREC_MUL;
	case GB_AST_NEG: return PREC_UNARY;
	case GB_AST_OP_COUNT: break;
	}
	return PREC_POSTFIX;
}

static int expr_prec(const gb_ast_expr *e)
{
	if (e->kind == GB_AST_BINARY)
		return op_prec(e->u.binary.op);
	if (e->kind == GB_AST_UNARY)
		return op_prec(e->u.unary.op);
	return PREC_POSTFIX;
}

static void print_expr(sbuf *b, const gb_ast_expr *e);

static void print_wrapped(sbuf *b, const gb_ast_expr *e, bool parens)
{
	if (parens)
		put(b, "(");
	print_expr(b, e);
	if (parens)
		put(b, ")");
}

static void print_string(sbuf *b, const char *s)
{
	put(b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			put(b, "\\");
		put_n(b, s, 1);
	}
	put(b, "\"");
}

static void print_range(sbuf *b, const gb_ast_range *r)
{
	put(b, "range(");
	if (r->start) {
		print_expr(b, r->start);
		put(b, ", ");
	}
	print_expr(b, r->stop);
	if (r->step) {
		put(b, ", ");
		print_expr(b, r->step);
	}
	put(b, ")");
}

static void print_subscripts(sbuf *b, const gb_ast_subscript *subs, int n)
{
	put(b, "[");
	for (int i = 0; i < n; i++) {
		const gb_ast_subscript *s = &subs[i];
		if (i)
			put(b, ", ");
		if (!s->is_slice) {
			print_expr(b, s->index);
			continue;
		}
		if (s->start)
			print_expr(b, s->start);
		put(b, ":");
		if (s->stop)
			print_expr(b, s->stop);
		if (s->step) {
			put(b, ":");
			print_expr(b, s->step);
		}
	}
	put(b, "]");
}

static void print_expr(sbuf *b, const gb_ast_expr *e)
{
	char num[32];
	switch (e->kind) {
	case GB_AST_NAME: put(b, e->u.name); return;
	case GB_AST_INT: put_i64(b, e->u.ival); return;
	case GB_AST_FLOAT:
		gb_lang_format_float(e->u.fval, num);
		put(b, num);
		return;
	case GB_AST_BOOL_LIT: put(b, e->u.bval ? "True" : "False"); return;
	case GB_AST_UNARY: {
		const gb_ast_expr *x = e->u.unary.operand;
		int prec = op_prec(e->u.unary.op);
		put(b, e->u.unary.op == GB_AST_NOT ? "not " : "-");
		print_wrapped(b, x, expr_prec(x) < prec);
		return;
	}
	case GB_AST_BINARY: {
		int prec = op_prec(e->u.binary.op);
		const gb_ast_expr *l = e->u.binary.lhs, *r = e->u.binary.rhs;
		int lp = expr_prec(l), rp = expr_prec(r);
		print_wrapped(b, l, lp < prec || (prec == PREC_CMP && lp == PREC_CMP));
		put(b, " ");
		put(b, gb_ast_op_str(e->u.binary.op));
		put(b, " ");
		print_wrapped(b, r, rp <= prec);
		return;
	}
	case GB_AST_CALL:
		put(b, e->u.call.callee);
		put(b, "(");
		for (int i = 0; i < e->u.call.n_args; i++) {
			if (i)
				put(b, ", ");
			print_expr(b, e->u.call.args[i]);
		}
		for (int i = 0; i < e->u.call.n_kwargs; i++) {
			if (i || e->u.call.n_args)
				put(b, ", ");
			put(b, e->u.call.kwargs[i].name);
			put(b, "=");
			print_expr(b, e->u.call.kwargs[i].value);
		}
		put(b, ")");
		return;
	case GB_AST_INDEX:
		print_wrapped(b, e->u.index.base, expr_prec(e->u.index.base) < PREC_POSTFIX);
		print_subscripts(b, e->u.index.subs, e->u.index.n_subs);
		return;
	case GB_AST_ARRAY:
		put(b, "[");
		for (int i = 0; i < e->u.array.n_items; i++) {
			if (i)
				put(b, ", ");
			print_expr(b, e->u.array.items[i]);
		}
		put(b, "]");
		return;
	case GB_AST_COMPREHENSION:
		put(b, "[");
		print_expr(b, e->u.comp.body);
		put(b, " for ");
		put(b, e->u.comp.var);
		put(b, " in ");
		print_range(b, &e->u.comp.range);
		put(b, "]");
		return;
	case GB_AST_WEIGHTS:
		put(b, "weights[");
		print_string(b, e->u.weights_key);
		put(b, "]");
		return;
	}
}

/* ---- statements -------------------------------------------------------------------- */

static void print_type(sbuf *b, const gb_ast_type *t)
{
	put(b, t->elem == GB_AST_BOOL ? "bool" : "f32");
	if (t->ndim == 0)
		return;
	put(b, "[");
	for (int i = 0; i < t->ndim; i++) {
		if (i)
			put(b, ", ");
		if (t->dims[i].name)
			put(b, t->dims[i].name);
		else
			put_i64(b, t->dims[i].size);
	}
	put(b, "]");
}

static void print_comment_lines(sbuf *b, const gb_ast_comment *cs, int n, int level)
{
	for (int i = 0; i < n; i++) {
		if (cs[i].blank_before)
			put(b, "\n");
		put_indent(b, level);
		put(b, "#");
		put(b, cs[i].text);
		put(b, "\n");
	}
}

/* Ends a line: pad spaces (at least two) and the trailing comment, if any. */
static void print_line_end(sbuf *b, const gb_ast_stmt *s, int pad)
{
	if (s->trailing) {
		for (int i = 0; i < pad; i++)
			put(b, " ");
		put(b, "#");
		put(b, s->trailing);
	}
	put(b, "\n");
}

static void print_block(sbuf *b, const gb_ast_block *blk, int level);

/* The statement's code on its (first) line, without indentation, comments
 * or line break. A compound statement's header ends with ':'. */
static void print_code(sbuf *b, const gb_ast_stmt *s)
{
	switch (s->kind) {
	case GB_AST_WEIGHTS_FILE:
		put(b, "weights ");
		print_string(b, s->u.weights_path);
		break;
	case GB_AST_INPUT:
	case GB_AST_OUTPUT:
	case GB_AST_PARAM:
		put(b, s->kind == GB_AST_INPUT ? "input " : s->kind == GB_AST_OUTPUT ? "output " : "param ");
		put(b, s->u.decl.name);
		if (s->u.decl.type) {
			put(b, ": ");
			print_type(b, s->u.decl.type);
		}
		if (s->u.decl.value) {
			put(b, " = ");
			print_expr(b, s->u.decl.value);
		}
		break;
	case GB_AST_ASSIGN:
		for (int i = 0; i < s->u.assign.n_targets; i++) {
			const gb_ast_target *t = &s->u.assign.targets[i];
			if (i)
				put(b, ", ");
			put(b, t->name);
			if (t->n_subs)
				print_subscripts(b, t->subs, t->n_subs);
		}
		if (s->u.assign.type) {
			put(b, ": ");
			print_type(b, s->u.assign.type);
		}
		if (s->u.assign.value) {
			put(b, " = ");
			print_expr(b, s->u.assign.value);
		}
		break;
	case GB_AST_FOR:
		put(b, "for ");
		put(b, s->u.loop.var);
		put(b, " in ");
		print_range(b, &s->u.loop.range);
		put(b, ":");
		break;
	case GB_AST_DEF:
		put(b, "def ");
		put(b, s->u.def.name);
		put(b, "(");
		for (int i = 0; i < s->u.def.n_params; i++) {
			if (i)
				put(b, ", ");
			put(b, s->u.def.params[i].name);
			put(b, ": ");
			print_type(b, &s->u.def.params[i].type);
		}
		put(b, ") -> ");
		if (s->u.def.n_returns > 1)
			put(b, "(");
		for (int i = 0; i < s->u.def.n_returns; i++) {
			if (i)
				put(b, ", ");
			print_type(b, &s->u.def.returns[i]);
		}
		if (s->u.def.n_returns > 1)
			put(b, ")");
		put(b, ":");
		break;
	case GB_AST_RETURN:
		put(b, "return ");
		for (int i = 0; i < s->u.ret.n_values; i++) {
			if (i)
				put(b, ", ");
			print_expr(b, s->u.ret.values[i]);
		}
		break;
	}
}

/* Characters (not bytes) in s[0..n): UTF-8 can occur in strings. */
static size_t count_chars(const char *s, size_t n)
{
	size_t chars = 0;
	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char)s[i] & 0xC0) != 0x80;
	return chars;
}

static size_t code_width(const gb_ast_stmt *s, bool *oom)
{
	sbuf scratch = {0};
	print_code(&scratch, s);
	size_t w = count_chars(scratch.data ? scratch.data : "", scratch.len);
	*oom |= scratch.oom;
	free(scratch.data);
	return w;
}

/* A run of consecutive one-line statements that all carry a trailing
 * comment, with no comment line or blank line between them, has its
 * comments aligned two columns after the longest statement (gofmt's rule).
 * Statements longer than ALIGN_MAX characters take no part in the alignment
 * (their comment follows after two spaces), which bounds the padding. */
#define ALIGN_MAX 80

static bool simple_stmt(const gb_ast_stmt *s)
{
	return s->kind != GB_AST_FOR && s->kind != GB_AST_DEF;
}

static void print_block(sbuf *b, const gb_ast_block *blk, int level)
{
	int run_end = 0;      /* statements before this index have their alignment decided */
	size_t run_width = 0; /* code width the current run aligns to */
	for (int i = 0; i < blk->n_stmts; i++) {
		const gb_ast_stmt *s = blk->stmts[i];
		if (i >= run_end) {
			run_end = i + 1;
			run_width = 0;
			if (s->trailing && simple_stmt(s)) {
				size_t w = code_width(s, &b->oom);
				run_width = w <= ALIGN_MAX ? w : 0;
				while (run_end < blk->n_stmts) {
					const gb_ast_stmt *next = blk->stmts[run_end];
					if (!next->trailing || !simple_stmt(next) || next->n_leading || next->blank_before)
						break;
					w = code_width(next, &b->oom);
					if (w <= ALIGN_MAX && w > run_width)
						run_width = w;
					run_end++;
				}
			}
		}
		print_comment_lines(b, s->leading, s->n_leading, level);
		if (s->blank_before)
			put(b, "\n");
		put_indent(b, level);
		size_t start = b->len;
		print_code(b, s);
		size_t w = b->oom ? 0 : count_chars(b->data + start, b->len - start);
		int pad = 2;
		if (simple_stmt(s) && run_width > w)
			pad += (int)(run_width - w);
		print_line_end(b, s, pad);
		if (s->kind == GB_AST_FOR)
			print_block(b, &s->u.loop.body, level + 1);
		else if (s->kind == GB_AST_DEF)
			print_block(b, &s->u.def.body, level + 1);
	}
	print_comment_lines(b, blk->end_comments, blk->n_end_comments, level);
}

/* ---- entry points ---------------------------------------------------------------- */

static gb_status finish(sbuf *b, char **text, size_t *len, gb_error *err)
{
	if (!b->oom && !b->data)
		put_n(b, "", 0);
	if (b->oom) {
		free(b->data);
		*text = NULL;
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory while printing a program");
	}
	*text = b->data;
	if (len)
		*len = b->len;
	return GB_OK;
}

gb_status gb_ast_print(const gb_ast *ast, char **text, size_t *len, gb_error *err)
{
	sbuf b = {0};
	print_block(&b, &ast->body, 0);
	return finish(&b, text, len, err);
}

gb_status gb_ast_print_expr(const gb_ast_expr *e, char **text, gb_error *err)
{
	sbuf b = {0};
	print_expr(&b, e);
	return finish(&b, text, NULL, err);
}
