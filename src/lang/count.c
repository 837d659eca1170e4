/*
 * count.c — how big a program is, as written (lang.h, gb_ast_count): the
 * measure the decompiler reports as program_ops and the zoo compares
 * against the ground truth.
 */
#include <string.h>

#include "lang.h"

static bool is_number(const gb_ast_expr *e)
{
	while (e->kind == GB_AST_UNARY && e->u.unary.op == GB_AST_NEG)
		e = e->u.unary.operand;
	return e->kind == GB_AST_INT || e->kind == GB_AST_FLOAT;
}

static void count_expr(const gb_ast_expr *e, gb_ast_counts *c)
{
	switch (e->kind) {
	case GB_AST_UNARY:
		if (!is_number(e)) {
			c->ops++;
			if (e->u.unary.op == GB_AST_NOT)
				c->logic[0]++;
		}
		count_expr(e->u.unary.operand, c);
		return;
	case GB_AST_BINARY:
		c->ops++;
		if (e->u.binary.op == GB_AST_AND)
			c->logic[1]++;
		else if (e->u.binary.op == GB_AST_OR)
			c->logic[2]++;
		count_expr(e->u.binary.lhs, c);
		count_expr(e->u.binary.rhs, c);
		return;
	case GB_AST_CALL: {
		c->ops++;
		const gb_prim *p = gb_prim_find(e->u.call.callee);
		if (p)
			c->prims[p->id]++;
		else
			c->def_calls++;
		for (int k = 0; k < e->u.call.n_args; k++)
			count_expr(e->u.call.args[k], c);
		for (int k = 0; k < e->u.call.n_kwargs; k++)
			count_expr(e->u.call.kwargs[k].value, c);
		return;
	}
	case GB_AST_INDEX: /* subscripts are compile-time integers, not operations */
		count_expr(e->u.index.base, c);
		return;
	case GB_AST_ARRAY:
		for (int k = 0; k < e->u.array.n_items; k++)
			count_expr(e->u.array.items[k], c);
		return;
	case GB_AST_COMPREHENSION:
		count_expr(e->u.comp.body, c);
		return;
	default:
		return;
	}
}

static void count_block(const gb_ast_block *b, gb_ast_counts *c)
{
	for (int i = 0; i < b->n_stmts; i++) {
		const gb_ast_stmt *s = b->stmts[i];
		switch (s->kind) {
		case GB_AST_OUTPUT:
			if (s->u.decl.value)
				count_expr(s->u.decl.value, c);
			break;
		case GB_AST_ASSIGN:
			if (s->u.assign.value)
				count_expr(s->u.assign.value, c);
			break;
		case GB_AST_FOR:
			count_block(&s->u.loop.body, c);
			break;
		case GB_AST_DEF:
			c->defs++;
			count_block(&s->u.def.body, c);
			break;
		case GB_AST_RETURN:
			for (int k = 0; k < s->u.ret.n_values; k++)
				count_expr(s->u.ret.values[k], c);
			break;
		default: /* declarations, params (constants), the weights line */
			break;
		}
	}
}

void gb_ast_count(const gb_ast *ast, gb_ast_counts *counts)
{
	memset(counts, 0, sizeof *counts);
	count_block(&ast->body, counts);
}
