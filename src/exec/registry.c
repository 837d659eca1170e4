/*
 * registry.c — the op table: every ONNX op glassbox executes, gathered
 * from the family tables in ops/.
 */
#include <string.h>

#include "ops.h"

static const gb_op_def *const families[] = {
	gb_ops_elementwise, gb_ops_linalg, gb_ops_conv, gb_ops_pool, gb_ops_norm, gb_ops_reduce, gb_ops_shape,
};

#define N_FAMILIES ((int)(sizeof families / sizeof families[0]))

const gb_op_def *gb_op_find(const char *op_type)
{
	for (int f = 0; f < N_FAMILIES; f++)
		for (const gb_op_def *d = families[f]; d->name; d++)
			if (strcmp(d->name, op_type) == 0)
				return d;
	return NULL;
}

int gb_op_count(void)
{
	int n = 0;
	for (int f = 0; f < N_FAMILIES; f++)
		for (const gb_op_def *d = families[f]; d->name; d++)
			n++;
	return n;
}

const char *gb_op_name(int i)
{
	for (int f = 0; f < N_FAMILIES; f++)
		for (const gb_op_def *d = families[f]; d->name; d++)
			if (i-- == 0)
				return d->name;
	return NULL;
}
