/*
 * ast.c — utilities over the syntax tree: release, structural equality
 * (positions ignored, used by the round-trip tests and the fuzz target) and
 * a fully parenthesised dump (used by the golden tests to pin down how the
 * parser groups operators).
 */
#include <stdlib.h>
#include <string.h>

#include "../core/strbuf.h"
#include "lang.h"

void gb_ast_free(gb_ast *ast)
{
	if (!ast)
		return;
	gb_arena_release(&ast->arena);
	free(ast);
}

const char *gb_ast_op_str(gb_ast_op op)
{
	switch (op) {
	case GB_AST_NEG: return "-";
	case GB_AST_NOT: return "not";
	case GB_AST_OR: return "or";
	case GB_AST_AND: return "and";
	case GB_AST_LT: return "<";
	case GB_AST_LE: return "<=";
	case GB_AST_GT: return ">";
	case GB_AST_GE: return ">=";
	case GB_AST_EQ: return "==";
	case GB_AST_NE: return "!=";
	case GB_AST_ADD: return "+";
	case GB_AST_SUB: return "-";
	case GB_AST_MUL: return "*";
	case GB_AST_DIV: return "/";
	case GB_AST_FLOORDIV: return "//";
	case GB_AST_MOD: return "%";
	case GB_AST_MATMUL: return "@";
	case GB_AST_OP_COUNT: break;
	}
	return "?";
}

/* ---- equality ------------------------------------------------------------------ */

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool opt_expr_eq(const gb_ast_expr *a, const gb_ast_expr *b)
{
	if (!a || !b)
		return a == b;
	return gb_ast_expr_equal(a, b);
}

static bool range_eq(const gb_ast_range *a, const gb_ast_range *b)
{
	return opt_expr_eq(a->start, b->start) && opt_expr_eq(a->stop, b->stop) && opt_expr_eq(a->step, b->step);
}

static bool subs_eq(const gb_ast_subscript *a, int na, const gb_ast_subscript *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++) {
		if (a[i].is_slice != b[i].is_slice)
			return false;
		if (!a[i].is_slice && !gb_ast_expr_equal(a[i].index, b[i].index))
			return false;
		if (a[i].is_slice && !(opt_expr_eq(a[i].start, b[i].start) && opt_expr_eq(a[i].stop, b[i].stop) &&
		                       opt_expr_eq(a[i].step, b[i].step)))
			return false;
	}
	return true;
}

bool gb_ast_expr_equal(const gb_ast_expr *a, const gb_ast_expr *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case GB_AST_NAME: return str_eq(a->u.name, b->u.name);
	case GB_AST_INT: return a->u.ival == b->u.ival;
	case GB_AST_FLOAT: return memcmp(&a->u.fval, &b->u.fval, sizeof(float)) == 0;
	case GB_AST_BOOL_LIT: return a->u.bval == b->u.bval;
	case GB_AST_UNARY:
		return a->u.unary.op == b->u.unary.op && gb_ast_expr_equal(a->u.unary.operand, b->u.unary.operand);
	case GB_AST_BINARY:
		return a->u.binary.op == b->u.binary.op && gb_ast_expr_equal(a->u.binary.lhs, b->u.binary.lhs) &&
		       gb_ast_expr_equal(a->u.binary.rhs, b->u.binary.rhs);
	case GB_AST_CALL:
		if (!str_eq(a->u.call.callee, b->u.call.callee) || a->u.call.n_args != b->u.call.n_args ||
		    a->u.call.n_kwargs != b->u.call.n_kwargs)
			return false;
		for (int i = 0; i < a->u.call.n_args; i++)
			if (!gb_ast_expr_equal(a->u.call.args[i], b->u.call.args[i]))
				return false;
		for (int i = 0; i < a->u.call.n_kwargs; i++)
			if (!str_eq(a->u.call.kwargs[i].name, b->u.call.kwargs[i].name) ||
			    !gb_ast_expr_equal(a->u.call.kwargs[i].value, b->u.call.kwargs[i].value))
				return false;
		return true;
	case GB_AST_INDEX:
		return gb_ast_expr_equal(a->u.index.base, b->u.index.base) &&
		       subs_eq(a->u.index.subs, a->u.index.n_subs, b->u.index.subs, b->u.index.n_subs);
	case GB_AST_ARRAY:
		if (a->u.array.n_items != b->u.array.n_items)
			return false;
		for (int i = 0; i < a->u.array.n_items; i++)
			if (!gb_ast_expr_equal(a->u.array.items[i], b->u.array.items[i]))
				return false;
		return true;
	case GB_AST_COMPREHENSION:
		return str_eq(a->u.comp.var, b->u.comp.var) && gb_ast_expr_equal(a->u.comp.body, b->u.comp.body) &&
		       range_eq(&a->u.comp.range, &b->u.comp.range);
	case GB_AST_WEIGHTS: return str_eq(a->u.weights_key, b->u.weights_key);
	}
	return false;
}

static bool type_eq(const gb_ast_type *a, const gb_ast_type *b)
{
	if (!a || !b)
		return a == b;
	if (a->elem != b->elem || a->ndim != b->ndim)
		return false;
	for (int i = 0; i < a->ndim; i++)
		if (a->dims[i].size != b->dims[i].size || !str_eq(a->dims[i].name, b->dims[i].name))
			return false;
	return true;
}

static bool comments_eq(const gb_ast_comment *a, int na, const gb_ast_comment *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (!str_eq(a[i].text, b[i].text) || a[i].blank_before != b[i].blank_before)
			return false;
	return true;
}

static bool block_eq(const gb_ast_block *a, const gb_ast_block *b);

static bool stmt_eq(const gb_ast_stmt *a, const gb_ast_stmt *b)
{
	if (a->kind != b->kind || a->blank_before != b->blank_before || !str_eq(a->trailing, b->trailing) ||
	    !comments_eq(a->leading, a->n_leading, b->leading, b->n_leading))
		return false;
	switch (a->kind) {
	case GB_AST_WEIGHTS_FILE: return str_eq(a->u.weights_path, b->u.weights_path);
	case GB_AST_INPUT:
	case GB_AST_OUTPUT:
	case GB_AST_PARAM:
		return str_eq(a->u.decl.name, b->u.decl.name) && type_eq(a->u.decl.type, b->u.decl.type) &&
		       opt_expr_eq(a->u.decl.value, b->u.decl.value);
	case GB_AST_ASSIGN:
		if (a->u.assign.n_targets != b->u.assign.n_targets || !type_eq(a->u.assign.type, b->u.assign.type) ||
		    !opt_expr_eq(a->u.assign.value, b->u.assign.value))
			return false;
		for (int i = 0; i < a->u.assign.n_targets; i++) {
			const gb_ast_target *x = &a->u.assign.targets[i], *y = &b->u.assign.targets[i];
			if (!str_eq(x->name, y->name) || !subs_eq(x->subs, x->n_subs, y->subs, y->n_subs))
				return false;
		}
		return true;
	case GB_AST_FOR:
		return str_eq(a->u.loop.var, b->u.loop.var) && range_eq(&a->u.loop.range, &b->u.loop.range) &&
		       block_eq(&a->u.loop.body, &b->u.loop.body);
	case GB_AST_DEF:
		if (!str_eq(a->u.def.name, b->u.def.name) || a->u.def.n_params != b->u.def.n_params ||
		    a->u.def.n_returns != b->u.def.n_returns)
			return false;
		for (int i = 0; i < a->u.def.n_params; i++)
			if (!str_eq(a->u.def.params[i].name, b->u.def.params[i].name) ||
			    !type_eq(&a->u.def.params[i].type, &b->u.def.params[i].type))
				return false;
		for (int i = 0; i < a->u.def.n_returns; i++)
			if (!type_eq(&a->u.def.returns[i], &b->u.def.returns[i]))
				return false;
		return block_eq(&a->u.def.body, &b->u.def.body);
	case GB_AST_RETURN:
		if (a->u.ret.n_values != b->u.ret.n_values)
			return false;
		for (int i = 0; i < a->u.ret.n_values; i++)
			if (!gb_ast_expr_equal(a->u.ret.values[i], b->u.ret.values[i]))
				return false;
		return true;
	}
	return false;
}

static bool block_eq(const gb_ast_block *a, const gb_ast_block *b)
{
	if (a->n_stmts != b->n_stmts ||
	    !comments_eq(a->end_comments, a->n_end_comments, b->end_comments, b->n_end_comments))
		return false;
	for (int i = 0; i < a->n_stmts; i++)
		if (!stmt_eq(a->stmts[i], b->stmts[i]))
			return false;
	return true;
}

bool gb_ast_equal(const gb_ast *a, const gb_ast *b)
{
	return block_eq(&a->body, &b->body);
}

/* ---- dump ---------------------------------------------------------------------- */

static void dump_expr(gb_strbuf *b, const gb_ast_expr *e);

static void dump_opt(gb_strbuf *b, const gb_ast_expr *e)
{
	if (e)
		dump_expr(b, e);
	else
		gb_strbuf_printf(b, "_");
}

static void dump_range(gb_strbuf *b, const gb_ast_range *r)
{
	gb_strbuf_printf(b, "(range ");
	dump_opt(b, r->start);
	gb_strbuf_printf(b, " ");
	dump_expr(b, r->stop);
	gb_strbuf_printf(b, " ");
	dump_opt(b, r->step);
	gb_strbuf_printf(b, ")");
}

static void dump_subs(gb_strbuf *b, const gb_ast_subscript *subs, int n)
{
	for (int i = 0; i < n; i++) {
		gb_strbuf_printf(b, " ");
		if (!subs[i].is_slice) {
			dump_expr(b, subs[i].index);
			continue;
		}
		gb_strbuf_printf(b, "(: ");
		dump_opt(b, subs[i].start);
		gb_strbuf_printf(b, " ");
		dump_opt(b, subs[i].stop);
		gb_strbuf_printf(b, " ");
		dump_opt(b, subs[i].step);
		gb_strbuf_printf(b, ")");
	}
}

static void dump_expr(gb_strbuf *b, const gb_ast_expr *e)
{
	char num[32];
	switch (e->kind) {
	case GB_AST_NAME: gb_strbuf_printf(b, "%s", e->u.name); return;
	case GB_AST_INT: gb_strbuf_printf(b, "%lld", (long long)e->u.ival); return;
	case GB_AST_FLOAT:
		gb_lang_format_float(e->u.fval, num);
		gb_strbuf_printf(b, "%s", num);
		return;
	case GB_AST_BOOL_LIT: gb_strbuf_printf(b, "%s", e->u.bval ? "True" : "False"); return;
	case GB_AST_UNARY:
		gb_strbuf_printf(b, "(%s ", e->u.unary.op == GB_AST_NEG ? "neg" : "not");
		dump_expr(b, e->u.unary.operand);
		gb_strbuf_printf(b, ")");
		return;
	case GB_AST_BINARY:
		gb_strbuf_printf(b, "(%s ", gb_ast_op_str(e->u.binary.op));
		dump_expr(b, e->u.binary.lhs);
		gb_strbuf_printf(b, " ");
		dump_expr(b, e->u.binary.rhs);
		gb_strbuf_printf(b, ")");
		return;
	case GB_AST_CALL:
		gb_strbuf_printf(b, "(call %s", e->u.call.callee);
		for (int i = 0; i < e->u.call.n_args; i++) {
			gb_strbuf_printf(b, " ");
			dump_expr(b, e->u.call.args[i]);
		}
		for (int i = 0; i < e->u.call.n_kwargs; i++) {
			gb_strbuf_printf(b, " :%s ", e->u.call.kwargs[i].name);
			dump_expr(b, e->u.call.kwargs[i].value);
		}
		gb_strbuf_printf(b, ")");
		return;
	case GB_AST_INDEX:
		gb_strbuf_printf(b, "(index ");
		dump_expr(b, e->u.index.base);
		dump_subs(b, e->u.index.subs, e->u.index.n_subs);
		gb_strbuf_printf(b, ")");
		return;
	case GB_AST_ARRAY:
		gb_strbuf_printf(b, "(array");
		for (int i = 0; i < e->u.array.n_items; i++) {
			gb_strbuf_printf(b, " ");
			dump_expr(b, e->u.array.items[i]);
		}
		gb_strbuf_printf(b, ")");
		return;
	case GB_AST_COMPREHENSION:
		gb_strbuf_printf(b, "(comp %s ", e->u.comp.var);
		dump_range(b, &e->u.comp.range);
		gb_strbuf_printf(b, " ");
		dump_expr(b, e->u.comp.body);
		gb_strbuf_printf(b, ")");
		return;
	case GB_AST_WEIGHTS: gb_strbuf_printf(b, "(weights \"%s\")", e->u.weights_key); return;
	}
}

static void dump_type(gb_strbuf *b, const gb_ast_type *t)
{
	gb_strbuf_printf(b, "%s", t->elem == GB_AST_BOOL ? "bool" : "f32");
	for (int i = 0; i < t->ndim; i++) {
		if (t->dims[i].name)
			gb_strbuf_printf(b, "%s%s", i ? "," : "[", t->dims[i].name);
		else
			gb_strbuf_printf(b, "%s%lld", i ? "," : "[", (long long)t->dims[i].size);
	}
	if (t->ndim)
		gb_strbuf_printf(b, "]");
}

static void dump_block(gb_strbuf *b, const gb_ast_block *blk, int level);

static void dump_comments(gb_strbuf *b, const char *what, const gb_ast_comment *cs, int n, int level)
{
	for (int i = 0; i < n; i++)
		gb_strbuf_printf(b, "%*s(%s%s \"%s\")\n", 2 * level, "", what, cs[i].blank_before ? " blank" : "", cs[i].text);
}

static void dump_stmt(gb_strbuf *b, const gb_ast_stmt *s, int level)
{
	dump_comments(b, "comment", s->leading, s->n_leading, level);
	gb_strbuf_printf(b, "%*s(", 2 * level, "");
	if (s->blank_before)
		gb_strbuf_printf(b, "blank ");
	switch (s->kind) {
	case GB_AST_WEIGHTS_FILE: gb_strbuf_printf(b, "weights-file \"%s\"", s->u.weights_path); break;
	case GB_AST_INPUT:
	case GB_AST_OUTPUT:
	case GB_AST_PARAM:
		gb_strbuf_printf(b, "%s %s ", s->kind == GB_AST_INPUT ? "input" : s->kind == GB_AST_OUTPUT ? "output" : "param",
		     s->u.decl.name);
		if (s->u.decl.type)
			dump_type(b, s->u.decl.type);
		else
			gb_strbuf_printf(b, "_");
		gb_strbuf_printf(b, " ");
		dump_opt(b, s->u.decl.value);
		break;
	case GB_AST_ASSIGN:
		gb_strbuf_printf(b, "assign (");
		for (int i = 0; i < s->u.assign.n_targets; i++) {
			const gb_ast_target *t = &s->u.assign.targets[i];
			if (i)
				gb_strbuf_printf(b, " ");
			if (t->n_subs) {
				gb_strbuf_printf(b, "(index %s", t->name);
				dump_subs(b, t->subs, t->n_subs);
				gb_strbuf_printf(b, ")");
			} else {
				gb_strbuf_printf(b, "%s", t->name);
			}
		}
		gb_strbuf_printf(b, ") ");
		if (s->u.assign.type) {
			dump_type(b, s->u.assign.type);
			gb_strbuf_printf(b, " ");
		}
		dump_opt(b, s->u.assign.value);
		break;
	case GB_AST_FOR:
		gb_strbuf_printf(b, "for %s ", s->u.loop.var);
		dump_range(b, &s->u.loop.range);
		break;
	case GB_AST_DEF:
		gb_strbuf_printf(b, "def %s (", s->u.def.name);
		for (int i = 0; i < s->u.def.n_params; i++) {
			gb_strbuf_printf(b, "%s%s ", i ? " " : "", s->u.def.params[i].name);
			dump_type(b, &s->u.def.params[i].type);
		}
		gb_strbuf_printf(b, ") (");
		for (int i = 0; i < s->u.def.n_returns; i++) {
			if (i)
				gb_strbuf_printf(b, " ");
			dump_type(b, &s->u.def.returns[i]);
		}
		gb_strbuf_printf(b, ")");
		break;
	case GB_AST_RETURN:
		gb_strbuf_printf(b, "return");
		for (int i = 0; i < s->u.ret.n_values; i++) {
			gb_strbuf_printf(b, " ");
			dump_expr(b, s->u.ret.values[i]);
		}
		break;
	}
	if (s->trailing)
		gb_strbuf_printf(b, " (trailing \"%s\")", s->trailing);
	gb_strbuf_printf(b, ")\n");
	if (s->kind == GB_AST_FOR)
		dump_block(b, &s->u.loop.body, level + 1);
	else if (s->kind == GB_AST_DEF)
		dump_block(b, &s->u.def.body, level + 1);
}

static void dump_block(gb_strbuf *b, const gb_ast_block *blk, int level)
{
	for (int i = 0; i < blk->n_stmts; i++)
		dump_stmt(b, blk->stmts[i], level);
	dump_comments(b, "end-comment", blk->end_comments, blk->n_end_comments, level);
}

gb_status gb_ast_dump(const gb_ast *ast, char **out, gb_error *err)
{
	gb_strbuf b = {0};
	gb_strbuf_printf(&b, "%s", "");
	dump_block(&b, &ast->body, 0);
	if (b.oom) {
		free(b.data);
		*out = NULL;
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory while dumping a program");
	}
	*out = b.data;
	return GB_OK;
}
