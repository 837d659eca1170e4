/*
 * structure.c — independent parts of a DAG (decompile.h, gb_dc_modules):
 * the connected components of the graph whose nodes are the input
 * features, the units and the outputs, with an edge wherever a row reads a
 * source. Each component that reaches an output is a module: the program
 * can compute it on its own from its own inputs. write.c makes modules
 * functions; gb_dc_modules_mark_defs reads back which ones it did.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decompile.h"

static int64_t find(int64_t *parent, int64_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

static void join(int64_t *parent, int64_t a, int64_t b)
{
	a = find(parent, a);
	b = find(parent, b);
	if (a != b)
		parent[a > b ? a : b] = a < b ? a : b; /* the smallest index leads: a stable order */
}

void gb_dc_modules_free(gb_dc_module *mods, int n)
{
	for (int i = 0; mods && i < n; i++) {
		free(mods[i].inputs);
		free(mods[i].outputs);
	}
	free(mods);
}

gb_status gb_dc_modules(const gb_pwl *p, gb_dc_module **out, int *n_out, gb_error *err)
{
	int64_t n = p->n_in + p->n_units + p->n_out;
	int64_t *parent = malloc((size_t)(n ? n : 1) * sizeof *parent);
	int64_t *slot = malloc((size_t)(n ? n : 1) * sizeof *slot);
	gb_dc_module *mods = NULL;
	int n_mods = 0;
	*out = NULL;
	*n_out = 0;
	if (!parent || !slot)
		goto nomem;
	for (int64_t i = 0; i < n; i++) {
		parent[i] = i;
		slot[i] = -1;
	}
	for (int64_t r = 0; r < p->n_units + p->n_out; r++) {
		const gb_row *row = r < p->n_units ? &p->units[r] : &p->outs[r - p->n_units];
		for (int k = 0; k < row->n; k++)
			join(parent, p->n_in + r, row->idx[k]);
	}
	/* one module per component that holds an output, in output order */
	for (int64_t o = 0; o < p->n_out; o++) {
		int64_t root = find(parent, p->n_in + p->n_units + o);
		if (slot[root] >= 0)
			continue;
		gb_dc_module *grown = realloc(mods, (size_t)(n_mods + 1) * sizeof *mods);
		if (!grown)
			goto nomem;
		mods = grown;
		memset(&mods[n_mods], 0, sizeof *mods);
		slot[root] = n_mods++;
	}
	for (int pass = 0; pass < 2; pass++) { /* count, then fill */
		for (int m = 0; m < n_mods; m++)
			if (pass == 1) {
				mods[m].inputs = malloc((size_t)(mods[m].n_inputs ? mods[m].n_inputs : 1) * sizeof(int64_t));
				mods[m].outputs = malloc((size_t)(mods[m].n_outputs ? mods[m].n_outputs : 1) * sizeof(int64_t));
				if (!mods[m].inputs || !mods[m].outputs)
					goto nomem;
				mods[m].n_inputs = mods[m].n_outputs = 0;
			}
		for (int64_t j = 0; j < p->n_in; j++) {
			int64_t s = slot[find(parent, j)];
			if (s < 0)
				continue;
			if (pass == 1)
				mods[s].inputs[mods[s].n_inputs] = j;
			mods[s].n_inputs++;
		}
		for (int64_t o = 0; o < p->n_out; o++) {
			int64_t s = slot[find(parent, p->n_in + p->n_units + o)];
			if (pass == 1)
				mods[s].outputs[mods[s].n_outputs] = o;
			mods[s].n_outputs++;
		}
	}
	for (int64_t u = 0; u < p->n_units; u++) {
		int64_t s = slot[find(parent, p->n_in + u)];
		if (s >= 0)
			mods[s].n_units++;
	}
	/* names a def can take: not one of the program's inputs or outputs */
	char in_names[64][64], out_names[64][64];
	bool named = p->n_inputs <= 64 && p->n_outputs <= 64; /* as many as the writers name */
	if (named)
		gb_dc_io_names(p, in_names, out_names);
	for (int m = 0; m < n_mods; m++) {
		snprintf(mods[m].name, sizeof mods[m].name, "module%d", m + 1);
		for (int i = 0; named && i < p->n_inputs + p->n_outputs; i++)
			if (strcmp(mods[m].name, i < p->n_inputs ? in_names[i] : out_names[i - p->n_inputs]) == 0) {
				snprintf(mods[m].name, sizeof mods[m].name, "module%d_part", m + 1);
				break;
			}
	}
	free(parent);
	free(slot);
	*out = mods;
	*n_out = n_mods;
	return GB_OK;
nomem:
	free(parent);
	free(slot);
	gb_dc_modules_free(mods, n_mods);
	return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
}

void gb_dc_modules_mark_defs(gb_dc_module *mods, int n, const gb_ast *program)
{
	for (int m = 0; m < n; m++) {
		mods[m].def = false;
		for (int i = 0; program && i < program->body.n_stmts; i++) {
			const gb_ast_stmt *s = program->body.stmts[i];
			if (s->kind == GB_AST_DEF && strcmp(s->u.def.name, mods[m].name) == 0)
				mods[m].def = true;
		}
	}
}
