/*
 * emit.c — checks the C and NumPy emitters on ONNX's own backend test cases.
 *
 *   emit [-v] DIR [FILTER...]
 *
 * DIR holds {node,pytorch-converted,pytorch-operator,simple}/<case>/ with
 * model.onnx and test_data_set_N/{input_K.pb,output_K.pb}. Every case that
 * glassbox loads is emitted as C and as NumPy; a case the emitters decline
 * with GB_STATUS_UNSUPPORTED (an op or dtype they do not translate, a shape
 * they cannot express) is skipped. For the others:
 *
 *   C      every case becomes case_K.c (function case_K) plus a generated
 *          driver main.c that reads raw inputs, calls case_K and writes raw
 *          outputs; all are compiled with cc -std=c11 -Wall -Wextra -Werror
 *          -O1 (a case that does not compile fails), then each case runs in
 *          its own process on each of its data sets;
 *   NumPy  every case becomes case_K.py; one /usr/bin/python3 process
 *          imports each module, runs it on the data sets' inputs (.npy) and
 *          saves the outputs (.npy).
 *
 * Outputs are compared with the expected ones as the conformance runner
 * does: same dtype and shape, |got - want| <= 1e-7 + 1e-3·|want| (NaN
 * matches NaN), integers and bools exactly. Prints "FAIL lang case: why"
 * per failure (-v: "SKIP case: why" too), then
 *
 *   emit: C N pass, N fail; numpy N pass, N fail; N skipped (op not emitted)
 *
 * and exits 1 when anything failed, 2 on usage errors.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emit/emit.h"
#include "exec/ops.h"
#include "io/io.h"

#include "cases.h"

#define MAX_CASES 2048
#define MAX_SETS 8
#ifndef CC_FLAGS /* -DCC_FLAGS=... to build the emitted code otherwise (e.g. with sanitizers) */
#define CC_FLAGS "-std=c11 -Wall -Wextra -Werror -O1"
#endif

static const char *const suites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

typedef struct tcase {
	char name[256];
	char dir[4096];
	int n_sets;
	char sets[MAX_SETS][4200];
	int n_in, n_out;
	int c_ok, py_ok; /* emitted */
	int c_fail, py_fail;
} tcase;

static tcase *cases;
static int n_cases;
static char work[256];

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int write_raw(const char *path, const gb_tensor *t)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t bytes = (size_t)gb_tensor_numel(t) * gb_dtype_size(t->dtype);
	int ok = fwrite(t->data, 1, bytes, f) == bytes;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* ---- comparing ----------------------------------------------------------------- */

/* 0 when got matches want; else 1 with the reason in why. */
static int differs(const gb_tensor *got, const gb_tensor *want, char *why, size_t size)
{
	char a[160], b[160];
	if (got->dtype != want->dtype) {
		snprintf(why, size, "dtype %s, expected %s", gb_dtype_name(got->dtype), gb_dtype_name(want->dtype));
		return 1;
	}
	if (!case_same_shape(got, want)) {
		snprintf(why, size, "shape %s, expected %s", gb_shape_str(got->ndim, got->dims, a, sizeof a),
		         gb_shape_str(want->ndim, want->dims, b, sizeof b));
		return 1;
	}
	int64_t n = gb_tensor_numel(want), first, bad = case_count_differing(got, want, 0, &first);
	if (bad)
		snprintf(why, size, "%lld of %lld elements differ; first at %lld: got %.9g, want %.9g", (long long)bad,
		         (long long)n, (long long)first, case_element(got, first), case_element(want, first));
	return bad != 0;
}

/* ---- emitting ------------------------------------------------------------------- */

/* Emits case k in both languages; returns 0 when both declined (skip). */
static int emit_case(tcase *c, int k, int verbose, int *skipped_reason_printed)
{
	char path[4400], fname[32];
	gb_error err = {0};
	gb_model *m = NULL;
	snprintf(path, sizeof path, "%s/model.onnx", c->dir);
	if (gb_model_load(path, &m, &err) != GB_OK) {
		if (verbose)
			printf("SKIP %s: the engine does not load it: %s\n", c->name, err.msg);
		return 0;
	}
	snprintf(fname, sizeof fname, "case_%d", k);
	char *text = NULL;
	gb_error cerr = {0}, perr = {0};
	if (gb_emit_c(m, fname, &text, &cerr) == GB_OK) {
		snprintf(path, sizeof path, "%s/%s.c", work, fname);
		c->c_ok = write_file(path, text) == 0;
		free(text);
	}
	text = NULL;
	if (gb_emit_numpy(m, fname, &text, &perr) == GB_OK) {
		snprintf(path, sizeof path, "%s/%s.py", work, fname);
		c->py_ok = write_file(path, text) == 0;
		free(text);
	}
	c->n_in = gb_model_n_inputs(m);
	c->n_out = gb_model_n_outputs(m);
	gb_model_free(m);
	/* A decline must be a clear UNSUPPORTED; any other emitter error fails. */
	if (!c->c_ok && cerr.status != GB_STATUS_UNSUPPORTED) {
		printf("FAIL C %s: emit: %s\n", c->name, cerr.msg);
		c->c_fail = 1;
	}
	if (!c->py_ok && perr.status != GB_STATUS_UNSUPPORTED) {
		printf("FAIL numpy %s: emit: %s\n", c->name, perr.msg);
		c->py_fail = 1;
	}
	if (!c->c_ok && !c->py_ok && !c->c_fail && !c->py_fail) {
		if (verbose)
			printf("SKIP %s: %s\n", c->name, cerr.msg);
		(void)skipped_reason_printed;
		return 0;
	}
	struct dirent **sets;
	int n = scandir(c->dir, &sets, case_is_data_set, alphasort);
	for (int i = 0; i < n; i++) {
		if (c->n_sets < MAX_SETS)
			snprintf(c->sets[c->n_sets++], sizeof c->sets[0], "%s/%s", c->dir, sets[i]->d_name);
		free(sets[i]);
	}
	if (n >= 0)
		free(sets);
	return 1;
}

/* ---- C ---------------------------------------------------------------------------- */

static const char *ctype_of(gb_dtype dt)
{
	return dt == GB_DTYPE_F32 ? "float" : dt == GB_DTYPE_I64 ? "int64_t" : "unsigned char";
}

/* The driver: main(k, dir) reads dir/in_J.bin, runs case_k, writes dir/out_J.bin. */
static int write_driver(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/main.c", work);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n\n"
	           "static void *load(const char *dir, int j, size_t bytes)\n{\n"
	           "\tchar path[4400];\n\tsnprintf(path, sizeof path, \"%%s/in_%%d.bin\", dir, j);\n"
	           "\tvoid *p = calloc(bytes ? bytes : 1, 1);\n\tFILE *f = fopen(path, \"rb\");\n"
	           "\tif (!p || !f || fread(p, 1, bytes, f) != bytes)\n\t\texit(3);\n\tfclose(f);\n\treturn p;\n}\n\n"
	           "static void save(const char *dir, int j, const void *p, size_t bytes)\n{\n"
	           "\tchar path[4400];\n\tsnprintf(path, sizeof path, \"%%s/out_%%d.bin\", dir, j);\n"
	           "\tFILE *f = fopen(path, \"wb\");\n"
	           "\tif (!f || fwrite(p, 1, bytes, f) != bytes || fclose(f) != 0)\n\t\texit(3);\n}\n\n");
	for (int k = 0; k < n_cases; k++) {
		tcase *c = &cases[k];
		if (!c->c_ok)
			continue;
		fprintf(f, "int case_%d(int64_t n", k);
		char p2[4400];
		gb_error err = {0};
		for (int j = 0; j < c->n_in; j++) {
			gb_tensor *t;
			snprintf(p2, sizeof p2, "%s/input_%d.pb", c->sets[0], j);
			if (gb_tensor_proto_load(p2, &t, &err) != GB_OK)
				return fclose(f), -1;
			fprintf(f, ", const %s *", ctype_of(t->dtype));
			gb_tensor_free(t);
		}
		for (int j = 0; j < c->n_out; j++) {
			gb_tensor *t;
			snprintf(p2, sizeof p2, "%s/output_%d.pb", c->sets[0], j);
			if (gb_tensor_proto_load(p2, &t, &err) != GB_OK)
				return fclose(f), -1;
			fprintf(f, ", %s *", ctype_of(t->dtype));
			gb_tensor_free(t);
		}
		fprintf(f, ");\n");
	}
	fprintf(f, "\nint main(int argc, char **argv)\n{\n\tif (argc != 3)\n\t\treturn 2;\n"
	           "\tint k = atoi(argv[1]);\n\tconst char *dir = argv[2];\n\tint rc = -1;\n\tswitch (k) {\n");
	for (int k = 0; k < n_cases; k++) {
		tcase *c = &cases[k];
		if (!c->c_ok)
			continue;
		char p2[4400];
		gb_error err = {0};
		fprintf(f, "\tcase %d: {\n", k);
		int64_t n = 0;
		for (int j = 0; j < c->n_in; j++) {
			gb_tensor *t;
			snprintf(p2, sizeof p2, "%s/input_%d.pb", c->sets[0], j);
			if (gb_tensor_proto_load(p2, &t, &err) != GB_OK)
				return fclose(f), -1;
			if (j == 0 && t->ndim > 0)
				n = t->dims[0];
			fprintf(f, "\t\t%s *in%d = load(dir, %d, %zu);\n", ctype_of(t->dtype), j, j,
			        (size_t)gb_tensor_numel(t) * gb_dtype_size(t->dtype));
			gb_tensor_free(t);
		}
		size_t out_bytes[64];
		for (int j = 0; j < c->n_out && j < 64; j++) {
			gb_tensor *t;
			snprintf(p2, sizeof p2, "%s/output_%d.pb", c->sets[0], j);
			if (gb_tensor_proto_load(p2, &t, &err) != GB_OK)
				return fclose(f), -1;
			out_bytes[j] = (size_t)gb_tensor_numel(t) * gb_dtype_size(t->dtype);
			fprintf(f, "\t\t%s *out%d = calloc(%zu, 1);\n", ctype_of(t->dtype), j, out_bytes[j] ? out_bytes[j] : 1);
			gb_tensor_free(t);
		}
		fprintf(f, "\t\trc = case_%d(%lld", k, (long long)n);
		for (int j = 0; j < c->n_in; j++)
			fprintf(f, ", in%d", j);
		for (int j = 0; j < c->n_out; j++)
			fprintf(f, ", out%d", j);
		fprintf(f, ");\n");
		for (int j = 0; j < c->n_out && j < 64; j++)
			fprintf(f, "\t\tsave(dir, %d, out%d, %zu);\n\t\tfree(out%d);\n", j, j, out_bytes[j], j);
		for (int j = 0; j < c->n_in; j++)
			fprintf(f, "\t\tfree(in%d);\n", j);
		fprintf(f, "\t\tbreak;\n\t}\n");
	}
	fprintf(f, "\t}\n\treturn rc;\n}\n");
	return fclose(f) == 0 ? 0 : -1;
}

static int run_cmd(const char *fmt, ...) GB_PRINTF(1, 2);

static int run_cmd(const char *fmt, ...)
{
	char cmd[65536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* Compiles every emitted case (two cc processes), marking those that fail. */
static void compile_cases(void)
{
	char list[2][60000];
	list[0][0] = list[1][0] = '\0';
	int half = 0;
	for (int k = 0; k < n_cases; k++) {
		if (!cases[k].c_ok)
			continue;
		char item[32];
		snprintf(item, sizeof item, " case_%d.c", k);
		if (strlen(list[half]) + strlen(item) + 1 < sizeof list[0])
			strcat(list[half], item);
		half ^= 1;
	}
	run_cmd("cd %s && { %s%s%s -c%s >cc0.log 2>&1 & %s%s%s -c%s >cc1.log 2>&1 & wait; }", work,
	        list[0][0] ? "cc " : "true ", list[0][0] ? CC_FLAGS : "", "", list[0], list[1][0] ? "cc " : "true ",
	        list[1][0] ? CC_FLAGS : "", "", list[1]);
	for (int k = 0; k < n_cases; k++) {
		if (!cases[k].c_ok)
			continue;
		char obj[512];
		snprintf(obj, sizeof obj, "%s/case_%d.o", work, k);
		if (!case_exists(obj)) {
			printf("FAIL C %s: the emitted code does not compile (see %s/case_%d.c and %s/cc*.log)\n", cases[k].name,
			       work, k, work);
			cases[k].c_ok = 0;
			cases[k].c_fail = 1;
		}
	}
}

static int load_raw(const char *path, gb_tensor *like, gb_tensor **out)
{
	gb_error err = {0};
	if (gb_tensor_new(like->dtype, like->ndim, like->dims, out, &err) != GB_OK)
		return -1;
	size_t bytes = (size_t)gb_tensor_numel(like) * gb_dtype_size(like->dtype);
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	int ok = fread((*out)->data, 1, bytes, f) == bytes;
	fclose(f);
	return ok ? 0 : -1;
}

/* Stages a data set's inputs in dir as raw (C) and .npy (NumPy) files. */
static int stage_inputs(const tcase *c, const char *set, const char *dir)
{
	gb_error err = {0};
	char path[4400];
	mkdir(dir, 0700);
	for (int j = 0; j < c->n_in; j++) {
		gb_tensor *t;
		snprintf(path, sizeof path, "%s/input_%d.pb", set, j);
		if (gb_tensor_proto_load(path, &t, &err) != GB_OK)
			return -1;
		snprintf(path, sizeof path, "%s/in_%d.bin", dir, j);
		int rc = write_raw(path, t);
		snprintf(path, sizeof path, "%s/in_%d.npy", dir, j);
		if (rc == 0 && gb_npy_save(path, t, &err) != GB_OK)
			rc = -1;
		gb_tensor_free(t);
		if (rc)
			return -1;
	}
	return 0;
}

/* Compares the outputs a run left in dir (raw or .npy) with the expected ones. */
static int check_outputs(const tcase *c, const char *set, const char *dir, int npy, char *why, size_t size)
{
	gb_error err = {0};
	char path[4400];
	for (int j = 0; j < c->n_out; j++) {
		gb_tensor *want = NULL, *got = NULL;
		snprintf(path, sizeof path, "%s/output_%d.pb", set, j);
		if (gb_tensor_proto_load(path, &want, &err) != GB_OK) {
			snprintf(why, size, "reading %s: %s", path, err.msg);
			return 1;
		}
		snprintf(path, sizeof path, "%s/%s_%d.%s", dir, npy ? "pyout" : "out", j, npy ? "npy" : "bin");
		int rc = npy ? (gb_npy_load(path, &got, &err) == GB_OK ? 0 : -1) : load_raw(path, want, &got);
		if (rc != 0) {
			snprintf(why, size, "output %d was not written (%s)", j, npy ? err.msg : "no file");
			gb_tensor_free(want);
			gb_tensor_free(got);
			return 1;
		}
		char d[512];
		int bad = differs(got, want, d, sizeof d);
		if (bad)
			snprintf(why, size, "output %d: %s", j, d);
		gb_tensor_free(want);
		gb_tensor_free(got);
		if (bad)
			return 1;
	}
	return 0;
}

static const char runner_py[] =
	"import importlib.util, os, sys, traceback\n"
	"import numpy as np\n"
	"work = sys.argv[1]\n"
	"for line in open(os.path.join(work, 'py_jobs.txt')):\n"
	"    k, d, n_in = line.split('\\t')\n"
	"    try:\n"
	"        spec = importlib.util.spec_from_file_location('case_' + k, os.path.join(work, 'case_%s.py' % k))\n"
	"        mod = importlib.util.module_from_spec(spec)\n"
	"        spec.loader.exec_module(mod)\n"
	"        ins = [np.load(os.path.join(d, 'in_%d.npy' % j)) for j in range(int(n_in))]\n"
	"        outs = getattr(mod, 'case_' + k)(*ins)\n"
	"        if not isinstance(outs, tuple):\n"
	"            outs = (outs,)\n"
	"        for j, o in enumerate(outs):\n"
	"            np.save(os.path.join(d, 'pyout_%d.npy' % j), np.asarray(o))\n"
	"    except Exception as e:\n"
	"        with open(os.path.join(d, 'pyerr.txt'), 'w') as f:\n"
	"            f.write(traceback.format_exc().strip().splitlines()[-1])\n";

int main(int argc, char **argv)
{
	int verbose = 0, argi = 1;
	if (argi < argc && strcmp(argv[argi], "-v") == 0)
		verbose = 1, argi++;
	if (argi >= argc) {
		fprintf(stderr, "usage: %s [-v] DIR [FILTER...]\n", argv[0]);
		return 2;
	}
	const char *root = argv[argi++];
	cases = calloc(MAX_CASES, sizeof *cases);
	snprintf(work, sizeof work, "/tmp/gb-emit-XXXXXX");
	if (!cases || !mkdtemp(work)) {
		fprintf(stderr, "emit: cannot make a work directory: %s\n", strerror(errno));
		return 2;
	}
	int skipped = 0, suites_found = 0, dummy = 0;
	for (size_t si = 0; si < sizeof suites / sizeof suites[0]; si++) {
		char suite[4096];
		snprintf(suite, sizeof suite, "%s/%s", root, suites[si]);
		struct dirent **list;
		int n = scandir(suite, &list, NULL, alphasort);
		if (n < 0)
			continue;
		suites_found++;
		for (int i = 0; i < n; i++) {
			const char *d = list[i]->d_name;
			char name[512];
			snprintf(name, sizeof name, "%s/%s", suites[si], d);
			int wanted = d[0] != '.' && n_cases < MAX_CASES;
			for (int f = argi; f < argc && wanted; f++)
				wanted = 0;
			for (int f = argi; f < argc && d[0] != '.'; f++)
				wanted |= strstr(name, argv[f]) != NULL;
			if (!wanted) {
				free(list[i]);
				continue;
			}
			tcase *c = &cases[n_cases];
			memset(c, 0, sizeof *c);
			snprintf(c->name, sizeof c->name, "%s", name);
			snprintf(c->dir, sizeof c->dir, "%s/%s", suite, d);
			free(list[i]);
			char model[4200];
			snprintf(model, sizeof model, "%s/model.onnx", c->dir);
			if (!case_exists(model))
				continue;
			if (emit_case(c, n_cases, verbose, &dummy))
				n_cases++;
			else
				skipped++;
		}
		free(list);
	}
	if (suites_found == 0) {
		fprintf(stderr, "emit: no test suites under %s\n", root);
		return 2;
	}
	fflush(stdout);

	/* C: compile, link with the driver, run each data set. */
	compile_cases();
	int have_c = 0;
	for (int k = 0; k < n_cases; k++)
		have_c |= cases[k].c_ok;
	if (have_c) {
		if (write_driver() != 0) {
			fprintf(stderr, "emit: writing the driver failed\n");
			return 1;
		}
		char objs[60000] = "";
		for (int k = 0; k < n_cases; k++)
			if (cases[k].c_ok) {
				char item[32];
				snprintf(item, sizeof item, " case_%d.o", k);
				strcat(objs, item);
			}
		if (run_cmd("cd %s && cc " CC_FLAGS " -o driver main.c%s -lm >link.log 2>&1", work, objs) != 0) {
			printf("FAIL C: linking the driver failed (see %s/link.log)\n", work);
			for (int k = 0; k < n_cases; k++)
				if (cases[k].c_ok)
					cases[k].c_ok = 0, cases[k].c_fail = 1;
		}
	}
	FILE *jobs = NULL;
	char jobs_path[512];
	snprintf(jobs_path, sizeof jobs_path, "%s/py_jobs.txt", work);
	jobs = fopen(jobs_path, "w");
	if (!jobs)
		return 1;
	for (int k = 0; k < n_cases; k++) {
		tcase *c = &cases[k];
		for (int s = 0; s < c->n_sets; s++) {
			char dir[600];
			snprintf(dir, sizeof dir, "%s/run_%d_%d", work, k, s);
			if (stage_inputs(c, c->sets[s], dir) != 0) {
				printf("FAIL %s: cannot stage the inputs of %s\n", c->name, c->sets[s]);
				c->c_fail |= c->c_ok;
				c->py_fail |= c->py_ok;
				c->c_ok = c->py_ok = 0;
				break;
			}
			if (c->py_ok)
				fprintf(jobs, "%d\t%s\t%d\n", k, dir, c->n_in);
			if (!c->c_ok)
				continue;
			int rc = run_cmd("cd %s && timeout 60 ./driver %d %s >%s/c.log 2>&1", work, k, dir, dir);
			char why[1024];
			if (rc != 0) {
				printf("FAIL C %s: the driver exited with %d (%s/c.log)\n", c->name, rc, dir);
				c->c_fail = 1;
				c->c_ok = 0;
			} else if (check_outputs(c, c->sets[s], dir, 0, why, sizeof why)) {
				printf("FAIL C %s: %s\n", c->name, why);
				c->c_fail = 1;
				c->c_ok = 0;
			}
		}
	}
	fclose(jobs);

	/* NumPy: one Python process runs every module. */
	char runner[512];
	snprintf(runner, sizeof runner, "%s/runner.py", work);
	if (write_file(runner, runner_py) != 0 ||
	    run_cmd("timeout 600 /usr/bin/python3 %s %s >%s/py.log 2>&1", runner, work, work) != 0)
		printf("FAIL numpy: the runner failed (see %s/py.log)\n", work);
	for (int k = 0; k < n_cases; k++) {
		tcase *c = &cases[k];
		for (int s = 0; s < c->n_sets && c->py_ok; s++) {
			char dir[600], path[700], why[1024];
			snprintf(dir, sizeof dir, "%s/run_%d_%d", work, k, s);
			snprintf(path, sizeof path, "%s/pyerr.txt", dir);
			if (case_exists(path)) {
				FILE *f = fopen(path, "r");
				char msg[512] = "";
				if (f) {
					if (!fgets(msg, sizeof msg, f))
						msg[0] = '\0';
					fclose(f);
				}
				printf("FAIL numpy %s: %s\n", c->name, msg);
				c->py_fail = 1;
				c->py_ok = 0;
			} else if (check_outputs(c, c->sets[s], dir, 1, why, sizeof why)) {
				printf("FAIL numpy %s: %s\n", c->name, why);
				c->py_fail = 1;
				c->py_ok = 0;
			}
		}
	}

	int c_pass = 0, c_fail = 0, py_pass = 0, py_fail = 0, c_skip = 0, py_skip = 0;
	for (int k = 0; k < n_cases; k++) {
		c_pass += cases[k].c_ok;
		c_fail += cases[k].c_fail;
		py_pass += cases[k].py_ok;
		py_fail += cases[k].py_fail;
		c_skip += !cases[k].c_ok && !cases[k].c_fail;
		py_skip += !cases[k].py_ok && !cases[k].py_fail;
	}
	printf("emit: C %d pass, %d fail; numpy %d pass, %d fail; %d skipped (op not emitted)", c_pass, c_fail, py_pass,
	       py_fail, skipped);
	if (c_skip || py_skip)
		printf(" (+%d C-only, %d numpy-only declines)", c_skip, py_skip);
	printf("\n");
	int failed = c_fail || py_fail;
	if (!failed)
		run_cmd("rm -rf %s", work);
	else
		printf("emit: work files kept in %s\n", work);
	return failed ? 1 : 0;
}
