/*
 * cmd_show.c — glassbox show: print a .npy file's dtype, shape and values
 * (for looking at inputs, outputs, captures and gradients).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_element(const gb_tensor *t, int64_t i)
{
	switch (t->dtype) {
	case GB_DTYPE_F32: printf("%.6g", (double)((const float *)t->data)[i]); break;
	case GB_DTYPE_F64: printf("%.10g", ((const double *)t->data)[i]); break;
	case GB_DTYPE_I64: printf("%lld", (long long)((const int64_t *)t->data)[i]); break;
	case GB_DTYPE_I32: printf("%d", (int)((const int32_t *)t->data)[i]); break;
	case GB_DTYPE_U8: printf("%u", (unsigned)((const uint8_t *)t->data)[i]); break;
	case GB_DTYPE_BOOL: printf("%s", ((const uint8_t *)t->data)[i] ? "true" : "false"); break;
	case GB_DTYPE_COUNT: break;
	}
}

int cmd_show(int argc, char **argv)
{
	const char *path = NULL;
	long limit = 20;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rows") == 0) {
			char *end;
			errno = 0;
			limit = i + 1 < argc ? strtol(argv[++i], &end, 10) : -1;
			if (limit < 0 || errno || *end)
				return cli_usage("show", "--rows needs a non-negative number");
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage("show", "unknown option '%s'", argv[i]);
		} else if (path) {
			return cli_usage("show", "takes one file");
		} else {
			path = argv[i];
		}
	}
	if (!path)
		return cli_usage("show", "needs a .npy file");
	gb_tensor *t = NULL;
	gb_error err = {0};
	if (gb_npy_load(path, &t, &err) != GB_OK)
		return cli_fail(&err);
	char shape[256];
	printf("%s: %s %s\n", path, gb_dtype_name(t->dtype), gb_shape_str(t->ndim, t->dims, shape, sizeof shape));
	/* One line per row of the first axis (one line for scalars and vectors). */
	int64_t rows = t->ndim >= 2 ? t->dims[0] : 1;
	int64_t per_row = rows ? gb_tensor_numel(t) / (rows ? rows : 1) : 0;
	for (int64_t r = 0; r < rows && r < limit; r++) {
		printf("  ");
		for (int64_t j = 0; j < per_row && j < 16; j++) {
			if (j)
				printf(" ");
			print_element(t, r * per_row + j);
		}
		if (per_row > 16)
			printf(" … (%lld more)", (long long)(per_row - 16));
		printf("\n");
	}
	if (rows > limit)
		printf("  … (%lld more rows)\n", (long long)(rows - limit));
	gb_tensor_free(t);
	return EXIT_OK;
}
