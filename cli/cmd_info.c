/*
 * cmd_info.c — glassbox info: what a model takes, gives and contains.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct op_tally {
	const char *op;
	int count;
} op_tally;

/* Op types in order of first appearance with their counts; returns how many. */
static int tally_ops(const gb_model *m, op_tally *tally, int cap)
{
	int n = 0;
	for (int i = 0; i < gb_model_n_nodes(m); i++) {
		const char *op = gb_model_node_op(m, i);
		int j = 0;
		while (j < n && strcmp(tally[j].op, op) != 0)
			j++;
		if (j == n) {
			if (n == cap)
				continue;
			tally[n].op = op;
			tally[n].count = 0;
			n++;
		}
		tally[j].count++;
	}
	return n;
}

static cJSON *json_value(const gb_value_info *info)
{
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "name", info->name);
	cJSON_AddStringToObject(v, "dtype", gb_dtype_name(info->dtype));
	cJSON *shape = cJSON_AddArrayToObject(v, "shape");
	for (int d = 0; d < info->ndim; d++)
		cJSON_AddItemToArray(shape, info->dims[d] < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)info->dims[d]));
	return v;
}

static int print_json(const char *path, const gb_model *m, int with_nodes)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "model", path);
	cJSON_AddNumberToObject(root, "opset", (double)gb_model_opset(m));
	cJSON *inputs = cJSON_AddArrayToObject(root, "inputs");
	cJSON *outputs = cJSON_AddArrayToObject(root, "outputs");
	gb_value_info info;
	for (int i = 0; i < gb_model_n_inputs(m); i++) {
		gb_model_input(m, i, &info);
		cJSON_AddItemToArray(inputs, json_value(&info));
	}
	for (int i = 0; i < gb_model_n_outputs(m); i++) {
		gb_model_output(m, i, &info);
		cJSON_AddItemToArray(outputs, json_value(&info));
	}
	op_tally tally[256];
	int n_ops = tally_ops(m, tally, 256);
	cJSON *ops = cJSON_AddObjectToObject(root, "ops");
	for (int i = 0; i < n_ops; i++)
		cJSON_AddNumberToObject(ops, tally[i].op, tally[i].count);
	cJSON_AddNumberToObject(root, "nodes", gb_model_n_nodes(m));
	cJSON_AddNumberToObject(root, "parameters", (double)gb_model_param_count(m));
	if (with_nodes) {
		cJSON *nodes = cJSON_AddArrayToObject(root, "node_list");
		for (int i = 0; i < gb_model_n_nodes(m); i++) {
			cJSON *node = cJSON_CreateObject();
			cJSON_AddStringToObject(node, "name", gb_model_node_name(m, i));
			cJSON_AddStringToObject(node, "op", gb_model_node_op(m, i));
			cJSON *outs = cJSON_AddArrayToObject(node, "outputs");
			for (int k = 0; gb_model_node_output(m, i, k); k++)
				cJSON_AddItemToArray(outs, cJSON_CreateString(gb_model_node_output(m, i, k)));
			cJSON_AddItemToArray(nodes, node);
		}
	}
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text) {
		fprintf(stderr, "glassbox: out of memory\n");
		return EXIT_FAIL;
	}
	puts(text);
	free(text);
	return EXIT_OK;
}

static void print_value(const char *kind, const gb_value_info *info)
{
	char shape[256];
	gb_shape_str(info->ndim, info->dims, shape, sizeof shape);
	printf("  %-7s %-24s %-8s %s\n", kind, info->name, gb_dtype_name(info->dtype), info->ndim < 0 ? "[unknown rank]" : shape);
}

int cmd_info(int argc, char **argv)
{
	const char *path = NULL;
	int with_nodes = 0, json = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--nodes") == 0)
			with_nodes = 1;
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage("info", "unknown option '%s'", argv[i]);
		else if (path)
			return cli_usage("info", "takes one model, got '%s' and '%s'", path, argv[i]);
		else
			path = argv[i];
	}
	if (!path)
		return cli_usage("info", "needs a model file");
	gb_model *m = NULL;
	int rc = cli_load_model(path, &m);
	if (rc)
		return rc;
	if (json) {
		rc = print_json(path, m, with_nodes);
		gb_model_free(m);
		return rc;
	}
	printf("%s: ONNX opset %lld, %d nodes, %lld parameters\n", path, (long long)gb_model_opset(m),
	       gb_model_n_nodes(m), (long long)gb_model_param_count(m));
	gb_value_info info;
	for (int i = 0; i < gb_model_n_inputs(m); i++) {
		gb_model_input(m, i, &info);
		print_value("input", &info);
	}
	for (int i = 0; i < gb_model_n_outputs(m); i++) {
		gb_model_output(m, i, &info);
		print_value("output", &info);
	}
	op_tally tally[256];
	int n_ops = tally_ops(m, tally, 256);
	printf("  ops     ");
	for (int i = 0; i < n_ops; i++)
		printf("%s%d %s", i ? ", " : "", tally[i].count, tally[i].op);
	printf("\n");
	if (with_nodes) {
		printf("  nodes:\n");
		for (int i = 0; i < gb_model_n_nodes(m); i++) {
			printf("  %4d  %-28s %-20s ->", i, gb_model_node_name(m, i), gb_model_node_op(m, i));
			for (int k = 0; gb_model_node_output(m, i, k); k++)
				printf(" %s", gb_model_node_output(m, i, k));
			printf("\n");
		}
	}
	gb_model_free(m);
	return EXIT_OK;
}

int cmd_ops(int argc, char **argv)
{
	if (argc > 1)
		return cli_usage("ops", "takes no arguments");
	for (int i = 0; i < gb_op_count(); i++)
		printf("%s\n", gb_op_name(i));
	return EXIT_OK;
}
