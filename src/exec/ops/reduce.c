/*
 * reduce.c — op family table (being filled in).
 */
#include "../ops.h"

const gb_op_def gb_ops_reduce[] = {
	{0},
};
