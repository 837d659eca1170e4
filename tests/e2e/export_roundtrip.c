/*
 * export_roundtrip.c — exports models with glassbox's ONNX writer and checks
 * that reading them back gives the same graph.
 *
 *   export_roundtrip OUTDIR INPUT...
 *
 * INPUT is a model file or a directory: a conformance root (its
 * {node,pytorch-converted,pytorch-operator,simple}/<case>/model.onnx), or a
 * directory of cases, or one case directory. Every model the importer reads
 * (gb_onnx_import: all the ONNX glassbox represents, whatever its ops) is
 * written to OUTDIR/<n>_<case>.onnx, re-imported and compared exactly with
 * the original import (model_equal.h). OUTDIR/manifest.tsv lists
 * "opset<TAB>ir_version<TAB>written<TAB>original" per model for
 * onnx_checker.sh, which runs the ONNX checker on what glassbox wrote.
 *
 * Prints one line per failure or unsupported model and a summary line starting with
 * "export_roundtrip:"; exits 1 when a model failed to export, re-import or
 * compare (or when a model in an INPUT could not be read at all, other than
 * as valid ONNX that glassbox does not support).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io.h"
#include "model_equal.h"

typedef struct run {
	const char *outdir;
	FILE *manifest;
	int exported, failed, unsupported;
} run;

static void one_model(run *r, const char *path, const char *tag)
{
	gb_error err = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	gb_model *a = NULL, *b = NULL;
	char out[4096], why[512];
	if (gb_file_read(path, GB_MAX_FILE_BYTES, &buf, &len, &err) != GB_OK) {
		printf("FAIL %s: %s\n", path, err.msg);
		r->failed++;
		return;
	}
	gb_status st = gb_onnx_import(buf, len, path, &a, &err);
	free(buf);
	if (st == GB_STATUS_UNSUPPORTED) {
		printf("UNSUPPORTED %s\n", err.msg);
		r->unsupported++;
		return;
	}
	if (st != GB_OK) {
		printf("FAIL %s: import: %s\n", path, err.msg);
		r->failed++;
		return;
	}
	snprintf(out, sizeof out, "%s/%04d_%s.onnx", r->outdir, r->exported + r->failed, tag);
	if ((st = gb_onnx_export(a, out, &err)) == GB_STATUS_UNSUPPORTED) {
		printf("UNSUPPORTED %s\n", err.msg);
		r->unsupported++;
	} else if (st != GB_OK) {
		printf("FAIL %s: export: %s\n", path, err.msg);
		r->failed++;
	} else if (gb_file_read(out, GB_MAX_FILE_BYTES, &buf, &len, &err) != GB_OK ||
	           (st = gb_onnx_import(buf, len, out, &b, &err), free(buf), st) != GB_OK) {
		printf("FAIL %s: re-import of %s: %s\n", path, out, err.msg);
		r->failed++;
	} else if (me_diff(a, b, why, sizeof why)) {
		printf("FAIL %s: round trip changed the model: %s\n", path, why);
		r->failed++;
	} else {
		fprintf(r->manifest, "%lld\t%lld\t%s\t%s\n", (long long)a->opset, (long long)a->ir_version, out, path);
		r->exported++;
	}
	gb_model_free(a);
	gb_model_free(b);
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int no_dots(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* A case directory holds model.onnx; anything else is searched one level
 * down at a time (conformance root → suites → cases). */
static void walk(run *r, const char *path, const char *tag, int depth)
{
	char model[4096];
	snprintf(model, sizeof model, "%s/model.onnx", path);
	if (!is_dir(path)) {
		one_model(r, path, tag);
		return;
	}
	struct stat st;
	if (stat(model, &st) == 0) {
		one_model(r, model, tag);
		return;
	}
	if (depth >= 2)
		return;
	struct dirent **list;
	int n = scandir(path, &list, no_dots, alphasort);
	for (int i = 0; i < n; i++) {
		char sub[4096];
		snprintf(sub, sizeof sub, "%s/%s", path, list[i]->d_name);
		if (is_dir(sub))
			walk(r, sub, list[i]->d_name, depth + 1);
		free(list[i]);
	}
	if (n >= 0)
		free(list);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s OUTDIR INPUT...\n", argv[0]);
		return 2;
	}
	run r = {.outdir = argv[1]};
	char manifest[4096];
	snprintf(manifest, sizeof manifest, "%s/manifest.tsv", argv[1]);
	r.manifest = fopen(manifest, "w");
	if (!r.manifest) {
		perror(manifest);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *base = strrchr(argv[i], '/');
		walk(&r, argv[i], base && base[1] ? base + 1 : argv[i], 0);
	}
	if (fclose(r.manifest) != 0) {
		perror(manifest);
		return 2;
	}
	printf("export_roundtrip: %d models exported and re-imported identically, %d failed, %d not importable or "
	       "exportable (valid ONNX glassbox does not support)\n",
	       r.exported, r.failed, r.unsupported);
	return r.failed || r.exported == 0 ? 1 : 0;
}
