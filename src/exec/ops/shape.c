/*
 * shape.c — op family table (being filled in).
 */
#include "../ops.h"

const gb_op_def gb_ops_shape[] = {
	{0},
};
