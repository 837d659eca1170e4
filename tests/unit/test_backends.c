/*
 * test_backends.c — every primitive on all five backends: the interpreter
 * (gb_ast_run, the reference), the compiled network in ReLU mode and in
 * native mode (run by the engine), and the C and NumPy code emitted from the
 * native network (what 'glassbox emit PROGRAM.gbx' writes).
 *
 * The rows, their batches and the comparison are prim_table.h's, shared with
 * test_compile.c: random reals with edge rows for every row, every {0,1}
 * vector for the logic primitives, inf/NaN/-0 rows where the lowering is pure
 * selection. The emitted code is compared as the native network is: exact
 * where the row says so (and on {0,1} inputs), else the row's native
 * tolerance.
 *
 * The C of every row (function prim_K) and one generated driver are built by
 * one cc -std=c11 -Wall -Wextra -Werror -O1 run (CC_FLAGS overrides); the
 * driver reads every batch from raw files, calls prim_K and writes the
 * outputs. One /usr/bin/python3 process imports every NumPy module and runs
 * it on the same batches (.npy). Prints
 *
 *   backends: N primitives x 5 backends agree (...)
 *
 * Run from the repository root like the other unit tests.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "emit/emit.h"
#include "graph/graph.h"
#include "lang/lang.h"
#include "prim_table.h"
#include "tmpdir.h"

#ifndef CC_FLAGS /* -DCC_FLAGS=... builds the emitted code otherwise (e.g. with sanitizers) */
#define CC_FLAGS "-std=c11 -Wall -Wextra -Werror -O1"
#endif

enum { B_RELU, B_NATIVE, B_C, B_NUMPY, N_COLUMNS }; /* the backends compared with the interpreter */
static const char *const column_name[N_COLUMNS] = {"ReLU network", "native network", "C", "NumPy"};

#define MAX_IO 16

/* One row's emitted function: its parameters' dtypes, in the model's order. */
typedef struct emitted {
	int n_in, n_out;
	gb_dtype in_dt[MAX_IO], out_dt[MAX_IO];
	char out_name[MAX_IO][64];
	bool emitted[N_COLUMNS]; /* [B_C], [B_NUMPY]: the emitter wrote it */
} emitted;

/* One batch of one row, run by every backend. */
typedef struct job {
	int row;
	int64_t N;
	int n_in;
	gb_tensor **ins;
	gb_tensor_map *want; /* the interpreter's outputs */
	float *scale;        /* batch_scale of ins */
	float tol;
	char label[200];
} job;

#define MAX_JOBS (N_PRIMITIVES * 3)

static emitted rows[N_PRIMITIVES];
static job jobs[MAX_JOBS];
static int n_jobs;
static bool agree[N_PRIMITIVES][N_COLUMNS];

TestSuite(backends, .init = make_tmpdir, .fini = remove_tmpdir);

/* ---- helpers ------------------------------------------------------------------------------ */

static int run_cmd(const char *fmt, ...) GB_PRINTF(1, 2);

static int run_cmd(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	cr_assert(len > 0 && (size_t)len < sizeof cmd, "command too long");
	int rc = system(cmd);
	return rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc);
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* The first size-1 bytes of a file (a log, an error), NUL-terminated. */
static const char *slurp(const char *path, char *buf, size_t size)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (f) {
		size_t n = fread(buf, 1, size - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

static void save_text(const char *name, const char *text)
{
	char path[256];
	write_file(tmp_path(path, sizeof path, name), text, strlen(text));
}

static size_t nbytes(const gb_tensor *t)
{
	return (size_t)gb_tensor_numel(t) * gb_dtype_size(t->dtype);
}

static const char *ctype_of(gb_dtype dt)
{
	switch (dt) {
	case GB_DTYPE_F32: return "float";
	case GB_DTYPE_I64: return "int64_t";
	case GB_DTYPE_BOOL: return "unsigned char";
	default: break;
	}
	cr_assert_fail("no C type for dtype %s", gb_dtype_name(dt));
	return NULL;
}

/* ---- the interpreter and the compiled networks, row by row ---------------------------------- */

/* Compiles row k both ways, runs the networks on every batch of the row,
 * emits C and NumPy from the native network and stages the batches (raw
 * and .npy) for them. */
static void prepare_row(int k)
{
	const row *r = &primitives[k];
	gb_error err = {0};
	gb_ast *ast = NULL;
	cr_assert_eq(gb_ast_parse(r->src, strlen(r->src), "row.gbx", &ast, &err), GB_OK, "%s: %s", r->name, err.msg);

	gb_model *net[2] = {NULL, NULL}; /* ReLU, native */
	for (int native = 0; native < 2; native++) {
		gb_status st = gb_ast_compile(ast, NULL, native, &net[native], &err);
		if (!native && r->relu_refused) {
			/* step without width: ReLU mode refuses it, as documented (§11) */
			cr_expect_eq(st, GB_STATUS_BAD_FILE, "%s (relu) should be refused", r->name);
			agree[k][B_RELU] = st == GB_STATUS_BAD_FILE;
			continue;
		}
		cr_assert_eq(st, GB_OK, "%s (%s): %s", r->name, native ? "native" : "relu", err.msg);
		agree[k][native ? B_NATIVE : B_RELU] = true;
	}

	/* exactly what 'glassbox emit PROGRAM.gbx --c/--numpy --name prim_K' writes */
	char fname[32], file[64];
	snprintf(fname, sizeof fname, "prim_%d", k);
	emitted *e = &rows[k];
	for (int lang = B_C; lang <= B_NUMPY; lang++) {
		char *text = NULL;
		gb_status st = lang == B_C ? gb_emit_c(net[1], fname, &text, &err) : gb_emit_numpy(net[1], fname, &text, &err);
		cr_expect_eq(st, GB_OK, "%s: emitting %s: %s", r->name, column_name[lang], err.msg);
		if (st != GB_OK)
			continue;
		snprintf(file, sizeof file, "%s.%s", fname, lang == B_C ? "c" : "py");
		save_text(file, text);
		free(text);
		agree[k][lang] = true;
	}
	e->emitted[B_C] = agree[k][B_C];
	e->emitted[B_NUMPY] = agree[k][B_NUMPY];
	e->n_in = gb_model_n_inputs(net[1]);
	e->n_out = gb_model_n_outputs(net[1]);
	cr_assert(e->n_in <= MAX_IO && e->n_out <= MAX_IO, "%s: too many inputs or outputs", r->name);
	for (int i = 0; i < e->n_in; i++) {
		gb_value_info info;
		gb_model_input(net[1], i, &info);
		e->in_dt[i] = info.dtype;
	}
	for (int o = 0; o < e->n_out; o++) {
		gb_value_info info;
		gb_model_output(net[1], o, &info);
		e->out_dt[o] = info.dtype;
		snprintf(e->out_name[o], sizeof e->out_name[o], "%s", info.name);
	}

	for (unsigned g = 1; g <= G_SPECIAL; g <<= 1) {
		if (!(r->gens & g))
			continue;
		cr_assert_lt(n_jobs, MAX_JOBS);
		job *j = &jobs[n_jobs];
		j->row = k;
		j->N = make_inputs(ast, (gen)g, &j->ins, &j->n_in);
		cr_assert_eq(j->n_in, e->n_in, "%s", r->name);
		snprintf(j->label, sizeof j->label, "%s on %s", r->name,
		         g == G_BITS ? "every {0,1} vector" : g == G_SPECIAL ? "inf/NaN rows" : "reals");
		j->want = interpret(ast, j->ins, j->n_in, j->label);
		cr_assert_eq(gb_tensor_map_count(j->want), e->n_out, "%s", j->label);
		j->scale = batch_scale(j->ins, j->n_in, j->N);
		/* Boolean programs agree exactly everywhere (§11); the emitted code
		 * is the native network's, so it gets the native tolerance */
		j->tol = g == G_BITS ? 0 : r->native_tol;
		char label[240];
		for (int native = 0; native < 2; native++) {
			if (!net[native])
				continue;
			float tol = g == G_BITS ? 0 : native ? r->native_tol : r->relu_tol;
			snprintf(label, sizeof label, "%s (%s)", j->label, column_name[native ? B_NATIVE : B_RELU]);
			agree[k][native ? B_NATIVE : B_RELU] &=
				engine_agrees(ast, net[native], j->ins, j->n_in, j->want, j->scale, j->N, tol, label);
		}
		for (int i = 0; i < j->n_in; i++) {
			char path[256];
			snprintf(file, sizeof file, "job_%d_in_%d.bin", n_jobs, i);
			write_file(tmp_path(path, sizeof path, file), j->ins[i]->data, nbytes(j->ins[i]));
			snprintf(file, sizeof file, "job_%d_in_%d.npy", n_jobs, i);
			cr_assert_eq(gb_npy_save(tmp_path(path, sizeof path, file), j->ins[i], &err), GB_OK, "%s", err.msg);
		}
		n_jobs++;
	}
	gb_model_free(net[0]);
	gb_model_free(net[1]);
	gb_ast_free(ast);
}

/* ---- C -------------------------------------------------------------------------------------- */

/* driver.c: declares every prim_K, and for each job loads job_J_in_I.bin,
 * calls prim_K and writes job_J_out_O.bin (only when it returned 0). */
static void write_driver(void)
{
	char path[256];
	FILE *f = fopen(tmp_path(path, sizeof path, "driver.c"), "w");
	cr_assert_not_null(f);
	fprintf(f, "#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n\n"
	           "static void *load(const char *dir, int job, int i, size_t bytes)\n{\n"
	           "\tchar path[512];\n\tsnprintf(path, sizeof path, \"%%s/job_%%d_in_%%d.bin\", dir, job, i);\n"
	           "\tvoid *p = calloc(bytes ? bytes : 1, 1);\n\tFILE *f = fopen(path, \"rb\");\n"
	           "\tif (!p || !f || fread(p, 1, bytes, f) != bytes)\n\t\texit(3);\n\tfclose(f);\n\treturn p;\n}\n\n"
	           "static void save(const char *dir, int job, int o, const void *p, size_t bytes)\n{\n"
	           "\tchar path[512];\n\tsnprintf(path, sizeof path, \"%%s/job_%%d_out_%%d.bin\", dir, job, o);\n"
	           "\tFILE *f = fopen(path, \"wb\");\n"
	           "\tif (!f || fwrite(p, 1, bytes, f) != bytes || fclose(f) != 0)\n\t\texit(3);\n}\n\n");
	for (int k = 0; k < N_PRIMITIVES; k++) {
		if (!rows[k].emitted[B_C])
			continue;
		fprintf(f, "int prim_%d(int64_t n", k);
		for (int i = 0; i < rows[k].n_in; i++)
			fprintf(f, ", const %s *", ctype_of(rows[k].in_dt[i]));
		for (int o = 0; o < rows[k].n_out; o++)
			fprintf(f, ", %s *", ctype_of(rows[k].out_dt[o]));
		fprintf(f, ");\n");
	}
	fprintf(f, "\nstatic int run(const char *dir, int job)\n{\n\tint rc = -1;\n\tswitch (job) {\n");
	for (int jn = 0; jn < n_jobs; jn++) {
		const job *j = &jobs[jn];
		const emitted *e = &rows[j->row];
		if (!e->emitted[B_C])
			continue;
		fprintf(f, "\tcase %d: {\n", jn);
		for (int i = 0; i < e->n_in; i++)
			fprintf(f, "\t\tvoid *in%d = load(dir, %d, %d, %zu);\n", i, jn, i, nbytes(j->ins[i]));
		for (int o = 0; o < e->n_out; o++) {
			size_t bytes = (size_t)gb_tensor_numel(gb_tensor_map_at(j->want, o)) * gb_dtype_size(e->out_dt[o]);
			fprintf(f, "\t\tvoid *out%d = calloc(%zu, 1);\n", o, bytes ? bytes : 1);
		}
		fprintf(f, "\t\trc = prim_%d(%lld", j->row, (long long)j->N);
		for (int i = 0; i < e->n_in; i++)
			fprintf(f, ", in%d", i);
		for (int o = 0; o < e->n_out; o++)
			fprintf(f, ", out%d", o);
		fprintf(f, ");\n");
		for (int o = 0; o < e->n_out; o++) {
			size_t bytes = (size_t)gb_tensor_numel(gb_tensor_map_at(j->want, o)) * gb_dtype_size(e->out_dt[o]);
			fprintf(f, "\t\tif (rc == 0)\n\t\t\tsave(dir, %d, %d, out%d, %zu);\n\t\tfree(out%d);\n", jn, o, o, bytes,
			        o);
		}
		for (int i = 0; i < e->n_in; i++)
			fprintf(f, "\t\tfree(in%d);\n", i);
		fprintf(f, "\t\tbreak;\n\t}\n");
	}
	fprintf(f, "\t}\n\treturn rc;\n}\n\n"
	           "int main(int argc, char **argv)\n{\n\tif (argc != 2)\n\t\treturn 2;\n\tint failed = 0;\n"
	           "\tfor (int job = 0; job < %d; job++) {\n\t\tint rc = run(argv[1], job);\n\t\tif (rc == -1)\n\t\t\tcontinue;\n"
	           "\t\tif (rc != 0) {\n\t\t\tprintf(\"job %%d: returned %%d\\n\", job, rc);\n\t\t\tfailed = 1;\n\t\t}\n"
	           "\t}\n\treturn failed;\n}\n",
	        n_jobs);
	cr_assert_eq(fclose(f), 0);
}

/* Builds and runs the C; false (with the log in the failure) when either fails. */
static bool run_c(void)
{
	write_driver();
	char sources[4096] = "driver.c";
	for (int k = 0; k < N_PRIMITIVES; k++) {
		if (!rows[k].emitted[B_C])
			continue;
		char item[32];
		snprintf(item, sizeof item, " prim_%d.c", k);
		cr_assert_lt(strlen(sources) + strlen(item), sizeof sources);
		strcat(sources, item);
	}
	char log[256], text[2048];
	tmp_path(log, sizeof log, "cc.log");
	if (run_cmd("cd %s && cc " CC_FLAGS " -o driver %s -lm >cc.log 2>&1", tmpdir, sources) != 0) {
		cr_expect_fail("the emitted C does not build with cc " CC_FLAGS ":\n%s", slurp(log, text, sizeof text));
		return false;
	}
	tmp_path(log, sizeof log, "driver.log");
	if (run_cmd("cd %s && timeout 120 ./driver %s >driver.log 2>&1", tmpdir, tmpdir) != 0)
		cr_expect_fail("the driver of the emitted C failed:\n%s", slurp(log, text, sizeof text));
	return true; /* a job that returned non-zero left no output files: found below */
}

/* ---- NumPy ---------------------------------------------------------------------------------- */

static const char runner_py[] =
	"import importlib.util, os, sys, traceback\n"
	"import numpy as np\n"
	"work = sys.argv[1]\n"
	"mods = {}\n"
	"for line in open(os.path.join(work, 'py_jobs.txt')):\n"
	"    k, j, n_in = line.split()\n"
	"    try:\n"
	"        if k not in mods:\n"
	"            spec = importlib.util.spec_from_file_location('prim_' + k, os.path.join(work, 'prim_%s.py' % k))\n"
	"            mods[k] = importlib.util.module_from_spec(spec)\n"
	"            spec.loader.exec_module(mods[k])\n"
	"        ins = [np.load(os.path.join(work, 'job_%s_in_%d.npy' % (j, i))) for i in range(int(n_in))]\n"
	"        outs = getattr(mods[k], 'prim_' + k)(*ins)\n"
	"        if not isinstance(outs, tuple):\n"
	"            outs = (outs,)\n"
	"        for o, a in enumerate(outs):\n"
	"            np.save(os.path.join(work, 'job_%s_pyout_%d.npy' % (j, o)), np.asarray(a))\n"
	"    except Exception:\n"
	"        with open(os.path.join(work, 'job_%s_pyerr.txt' % j), 'w') as f:\n"
	"            f.write(traceback.format_exc().strip().splitlines()[-1])\n";

static bool run_numpy(void)
{
	char path[256], text[2048];
	FILE *f = fopen(tmp_path(path, sizeof path, "py_jobs.txt"), "w");
	cr_assert_not_null(f);
	for (int jn = 0; jn < n_jobs; jn++)
		if (rows[jobs[jn].row].emitted[B_NUMPY])
			fprintf(f, "%d %d %d\n", jobs[jn].row, jn, jobs[jn].n_in);
	cr_assert_eq(fclose(f), 0);
	save_text("runner.py", runner_py);
	if (run_cmd("cd %s && timeout 300 /usr/bin/python3 runner.py %s >py.log 2>&1", tmpdir, tmpdir) != 0) {
		cr_expect_fail("the NumPy runner failed:\n%s", slurp(tmp_path(path, sizeof path, "py.log"), text, sizeof text));
		return false;
	}
	return true;
}

/* ---- comparing the emitted code's outputs --------------------------------------------------- */

/* The C outputs of job jn (raw, the emitted dtype, the interpreter's shape)
 * and the NumPy ones (.npy), each against the interpreter's. */
static void check_job(int jn, bool c_ran, bool py_ran)
{
	const job *j = &jobs[jn];
	const emitted *e = &rows[j->row];
	char file[64], path[256], label[260], text[512];
	gb_error err = {0};
	for (int lang = B_C; lang <= B_NUMPY; lang++) {
		bool ran = lang == B_C ? c_ran : py_ran;
		if (!e->emitted[lang])
			continue; /* already failed and marked */
		snprintf(label, sizeof label, "%s (%s)", j->label, column_name[lang]);
		if (!ran) {
			agree[j->row][lang] = false;
			continue;
		}
		if (lang == B_NUMPY) {
			snprintf(file, sizeof file, "job_%d_pyerr.txt", jn);
			if (exists(tmp_path(path, sizeof path, file))) {
				cr_expect_fail("%s: %s", label, slurp(path, text, sizeof text));
				agree[j->row][lang] = false;
				continue;
			}
			snprintf(file, sizeof file, "job_%d_pyout_%d.npy", jn, e->n_out);
			cr_expect(!exists(tmp_path(path, sizeof path, file)), "%s: more outputs than the program has", label);
		}
		for (int o = 0; o < e->n_out; o++) {
			const gb_tensor *want = gb_tensor_map_at(j->want, o);
			gb_tensor *got = NULL;
			bool read;
			if (lang == B_C) {
				snprintf(file, sizeof file, "job_%d_out_%d.bin", jn, o);
				cr_assert_eq(gb_tensor_new(e->out_dt[o], want->ndim, want->dims, &got, &err), GB_OK);
				FILE *f = fopen(tmp_path(path, sizeof path, file), "rb");
				read = f && fread(got->data, 1, nbytes(got), f) == nbytes(got);
				if (f)
					fclose(f);
			} else {
				snprintf(file, sizeof file, "job_%d_pyout_%d.npy", jn, o);
				read = gb_npy_load(tmp_path(path, sizeof path, file), &got, &err) == GB_OK;
			}
			if (!read) {
				cr_expect(read, "%s: output %s was not written (the function failed; see the log above)", label,
				          e->out_name[o]);
				agree[j->row][lang] = false;
			} else {
				agree[j->row][lang] &= same_output(got, want, j->scale, j->N, j->tol, label, e->out_name[o]);
			}
			gb_tensor_free(got);
		}
	}
}

/* ---- the test ------------------------------------------------------------------------------- */

Test(backends, every_primitive_agrees_on_all_five)
{
	for (int k = 0; k < N_PRIMITIVES; k++)
		prepare_row(k);
	bool c_ran = run_c();
	bool py_ran = run_numpy();
	for (int jn = 0; jn < n_jobs; jn++)
		check_job(jn, c_ran, py_ran);

	int all = 0, batches = 0;
	for (int k = 0; k < N_PRIMITIVES; k++) {
		bool ok = true;
		for (int c = 0; c < N_COLUMNS; c++)
			ok &= agree[k][c];
		all += ok;
	}
	for (int jn = 0; jn < n_jobs; jn++)
		batches += (int)jobs[jn].N;
	if (all == N_PRIMITIVES) {
		printf("backends: %d primitives x 5 backends agree (interpreter, ReLU network, native network, C, NumPy; "
		       "%d batches, %d examples",
		       N_PRIMITIVES, n_jobs, batches);
		for (int k = 0; k < N_PRIMITIVES; k++)
			if (primitives[k].relu_refused)
				printf("; ReLU mode refuses '%s', as documented", primitives[k].name);
		printf(")\n");
	} else {
		printf("backends: %d of %d primitives agree on all 5 backends; disagreeing:", all, N_PRIMITIVES);
		for (int k = 0; k < N_PRIMITIVES; k++)
			for (int c = 0; c < N_COLUMNS; c++)
				if (!agree[k][c])
					printf(" %s (%s);", primitives[k].name, column_name[c]);
		printf("\n");
	}
	fflush(stdout);
	cr_expect_eq(all, N_PRIMITIVES, "some primitives disagree across the backends (see above)");

	for (int jn = 0; jn < n_jobs; jn++) {
		free_inputs(jobs[jn].ins, jobs[jn].n_in);
		gb_tensor_map_free(jobs[jn].want);
		free(jobs[jn].scale);
	}
}
