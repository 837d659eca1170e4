/*
 * cmd_data.c — glassbox data: datasets as .npz files (x and y).
 *
 *   glassbox data tasks                         list the algorithmic tasks
 *   glassbox data task SPEC --n N [--seed S] -o FILE.npz
 *   glassbox data mnist --from DIR -o OUTDIR [--seed S]
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "train/tasks.h"

/* Parses a plain decimal integer in [lo, hi]; 0 on success. */
static int parse_count(const char *text, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	if (!text || !*text || (text[0] < '0' || text[0] > '9'))
		return -1;
	long long v = strtoll(text, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_seed(const char *text, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!text || !*text || text[0] < '0' || text[0] > '9')
		return -1;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int data_tasks(int argc, char **argv)
{
	if (argc > 1)
		return cli_usage("data", "'data tasks' takes no arguments");
	printf("algorithmic tasks (glassbox data task SPEC --n N -o FILE.npz):\n");
	for (int i = 0; i < gb_task_family_count(); i++) {
		const gb_task_family *f = gb_task_family_at(i);
		printf("  %-11s %s\n  %-11s (%s)\n", f->pattern, f->summary, "", f->range);
	}
	return EXIT_OK;
}

static int data_task(int argc, char **argv)
{
	const char *spec = NULL, *out = NULL;
	long long n = -1;
	uint64_t seed = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--n") == 0) {
			if (parse_count(val, 1, INT64_MAX, &n) != 0)
				return cli_usage("data", "--n needs a positive number of samples");
			i++;
		} else if (strcmp(a, "--seed") == 0) {
			if (parse_seed(val, &seed) != 0)
				return cli_usage("data", "--seed needs a non-negative integer");
			i++;
		} else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			if (!val)
				return cli_usage("data", "%s needs a file name", a);
			out = val;
			i++;
		} else if (a[0] == '-' && a[1]) {
			return cli_usage("data", "unknown option '%s'", a);
		} else if (spec) {
			return cli_usage("data", "'data task' takes one task spec");
		} else {
			spec = a;
		}
	}
	if (!spec)
		return cli_usage("data", "'data task' needs a task spec such as parity-8 ('glassbox data tasks' lists them)");
	if (n < 0)
		return cli_usage("data", "'data task' needs --n N, the number of samples");
	if (!out)
		return cli_usage("data", "'data task' needs -o FILE.npz");

	gb_error err = {0};
	gb_task_info info;
	if (gb_task_describe(spec, &info, &err) != GB_OK)
		return cli_usage("data", "%s", err.msg);
	gb_tensor *x = NULL, *y = NULL;
	gb_tensor_map *map = NULL;
	gb_status st = gb_task_generate(spec, n, seed, &x, &y, &err);
	if (st == GB_OK)
		st = gb_tensor_map_new(&map, &err);
	if (st == GB_OK)
		st = gb_tensor_map_put(map, "x", x, &err);
	if (st == GB_OK)
		st = gb_tensor_map_put(map, "y", y, &err);
	if (st == GB_OK)
		st = gb_npz_save(out, map, &err);
	int rc = EXIT_OK;
	if (st != GB_OK) {
		rc = cli_fail(&err);
	} else {
		char xs[128], ys[128];
		printf("%s: %s, %lld samples%s: x %s %s, y %s %s (%s)\n", out, info.spec, (long long)x->dims[0],
		       info.n_exhaustive && x->dims[0] == info.n_exhaustive ? " (every input once)" : "",
		       gb_dtype_name(x->dtype), gb_shape_str(x->ndim, x->dims, xs, sizeof xs), gb_dtype_name(y->dtype),
		       gb_shape_str(y->ndim, y->dims, ys, sizeof ys),
		       info.n_classes ? "class labels" : "regression targets");
	}
	gb_tensor_map_free(map);
	gb_tensor_free(x);
	gb_tensor_free(y);
	return rc;
}

static int data_mnist(int argc, char **argv)
{
	const char *from = NULL, *out = NULL;
	uint64_t seed = GB_MNIST_SEED;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--from") == 0) {
			if (!val)
				return cli_usage("data", "--from needs the directory holding 0.json … 9.json");
			from = val;
			i++;
		} else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			if (!val)
				return cli_usage("data", "%s needs a directory", a);
			out = val;
			i++;
		} else if (strcmp(a, "--seed") == 0) {
			if (parse_seed(val, &seed) != 0)
				return cli_usage("data", "--seed needs a non-negative integer");
			i++;
		} else {
			return cli_usage("data", "'data mnist' does not take '%s'", a);
		}
	}
	if (!from || !out)
		return cli_usage("data", "'data mnist' needs --from DIR and -o OUTDIR");
	if (mkdir(out, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "glassbox: %s: cannot create directory: %s\n", out, strerror(errno));
		return EXIT_FAIL;
	}
	gb_error err = {0};
	if (gb_mnist_convert(from, out, seed, GB_MNIST_TRAIN, GB_MNIST_TEST, &err) != GB_OK)
		return cli_fail(&err);
	printf("%s/train.npz: %d digits, %s/test.npz: %d digits (x float32 [N,1,28,28], y int64 [N]; seed %llu)\n", out,
	       GB_MNIST_TRAIN, out, GB_MNIST_TEST, (unsigned long long)seed);
	return EXIT_OK;
}

int cmd_data(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("data", "needs a subcommand: tasks, task or mnist");
	if (strcmp(argv[1], "tasks") == 0)
		return data_tasks(argc - 1, argv + 1);
	if (strcmp(argv[1], "task") == 0)
		return data_task(argc - 1, argv + 1);
	if (strcmp(argv[1], "mnist") == 0)
		return data_mnist(argc - 1, argv + 1);
	return cli_usage("data", "unknown subcommand '%s' (tasks, task, mnist)", argv[1]);
}
