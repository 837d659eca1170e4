/*
 * conformance.c — runs ONNX's own backend test cases through glassbox.
 *
 *   conformance [-v] DIR [FILTER...]
 *
 * DIR holds {node,pytorch-converted,pytorch-operator,simple}/<case>/ with
 * model.onnx and test_data_set_N/{input_K.pb,output_K.pb}. A case whose
 * graph uses an op outside glassbox's op table is skipped ("op not
 * claimed"); Constant nodes count as claimed (the importer turns them into
 * weights). Every other case is loaded and run on each of its data sets and
 * every output is compared with the expected one: same dtype and shape,
 * values within |got - want| <= 1e-7 + 1e-3 * |want| (ONNX's own backend
 * tolerance; NaN matches NaN), integers and bools exactly.
 *
 * Verdicts: passed; "unsupported (clear error)" when loading or running
 * stops with GB_STATUS_UNSUPPORTED (an attribute value or dtype glassbox
 * declines: never a wrong answer); failed for anything else — a wrong
 * answer, another error, a crash or a timeout. Each case runs in a child
 * process, so a crash fails that case only.
 *
 * Prints "FAIL case: reason" / "UNSUPPORTED case: message" per non-passing
 * case (-v: "PASS case" too), then a summary line starting with
 * "conformance:". FILTERs keep only cases whose name contains one of them.
 * Exits 1 when any case failed, 2 on usage errors.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/ops.h"
#include "io/io.h"
#include "onnx.pb-c.h"

#include "cases.h"

#define CASE_TIMEOUT_S 120

static const char *const suites[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};

typedef enum verdict { PASS = 'P', FAIL = 'F', UNSUPPORTED = 'U' } verdict;

typedef struct result {
	verdict v;
	char msg[1536];
} result;

static verdict set(result *r, verdict v, const char *fmt, ...) GB_PRINTF(3, 4);

static verdict set(result *r, verdict v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
	r->v = v;
	return v;
}

/* An error status becomes UNSUPPORTED (clear refusal) or FAIL. */
static verdict from_error(result *r, const char *what, const gb_error *err)
{
	return set(r, err->status == GB_STATUS_UNSUPPORTED ? UNSUPPORTED : FAIL, "%s: %s", what, err->msg);
}

/* ---- op claims ---------------------------------------------------------------- */

/* 1 when every node of the model is one glassbox claims; 0 otherwise (with
 * the first unclaimed op in *op); -1 when the file does not decode. */
static int claimed(const char *path, char *op, size_t size)
{
	uint8_t *buf;
	size_t len;
	gb_error err = {0};
	if (gb_file_read(path, GB_MAX_FILE_BYTES, &buf, &len, &err) != GB_OK)
		return -1;
	Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
	free(buf);
	if (!mp || !mp->graph) {
		if (mp)
			onnx__model_proto__free_unpacked(mp, NULL);
		return -1;
	}
	int all = 1;
	for (size_t i = 0; all && i < mp->graph->n_node; i++) {
		const Onnx__NodeProto *np = mp->graph->node[i];
		const char *domain = np->domain ? np->domain : "";
		const char *type = np->op_type ? np->op_type : "";
		int default_domain = !domain[0] || strcmp(domain, "ai.onnx") == 0;
		if (default_domain && (strcmp(type, "Constant") == 0 || gb_op_find(type)))
			continue;
		snprintf(op, size, "%s%s%s", domain, domain[0] ? ":" : "", type);
		all = 0;
	}
	onnx__model_proto__free_unpacked(mp, NULL);
	return all;
}

/* ---- comparing -------------------------------------------------------------------- */

static verdict compare(result *r, const char *name, const gb_tensor *got, const gb_tensor *want)
{
	char a[160], b[160];
	if (got->dtype != want->dtype)
		return set(r, FAIL, "output '%s' is %s, expected %s", name, gb_dtype_name(got->dtype),
		           gb_dtype_name(want->dtype));
	if (!case_same_shape(got, want))
		return set(r, FAIL, "output '%s' has shape %s, expected %s", name, gb_shape_str(got->ndim, got->dims, a, sizeof a),
		           gb_shape_str(want->ndim, want->dims, b, sizeof b));
	int64_t n = gb_tensor_numel(want), first, bad = case_count_differing(got, want, 1, &first);
	if (bad)
		return set(r, FAIL, "output '%s': %lld of %lld elements differ; first at flat index %lld: got %.9g, want %.9g",
		           name, (long long)bad, (long long)n, (long long)first, case_element(got, first), case_element(want, first));
	return PASS;
}

/* ---- running a case ------------------------------------------------------------------ */

static int count_files(const char *dir, const char *prefix)
{
	int n = 0;
	char path[4096];
	for (;; n++) {
		snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, n);
		if (!case_exists(path))
			return n;
	}
}

static verdict run_data_set(result *r, const gb_model *m, gb_session *s, const char *dir)
{
	gb_error err = {0};
	char path[4096];
	int n_in = count_files(dir, "input"), n_out = count_files(dir, "output");
	const char *set_name = strrchr(dir, '/') + 1;
	if (n_in != gb_model_n_inputs(m) || n_out != gb_model_n_outputs(m))
		return set(r, FAIL, "%s has %d inputs and %d outputs, the model declares %d and %d", set_name, n_in, n_out,
		           gb_model_n_inputs(m), gb_model_n_outputs(m));
	for (int k = 0; k < n_in; k++) {
		gb_tensor *x;
		snprintf(path, sizeof path, "%s/input_%d.pb", dir, k);
		if (gb_tensor_proto_load(path, &x, &err) != GB_OK)
			return from_error(r, "reading input", &err);
		gb_status st = gb_session_set_input(s, k, x, &err);
		gb_tensor_free(x);
		if (st != GB_OK)
			return from_error(r, "set_input", &err);
	}
	if (gb_session_forward(s, &err) != GB_OK)
		return from_error(r, set_name, &err);
	for (int k = 0; k < n_out; k++) {
		gb_tensor *want;
		gb_value_info info;
		gb_model_output(m, k, &info);
		snprintf(path, sizeof path, "%s/output_%d.pb", dir, k);
		if (gb_tensor_proto_load(path, &want, &err) != GB_OK)
			return from_error(r, "reading expected output", &err);
		const gb_tensor *got = gb_session_output(s, k);
		verdict v = got ? compare(r, info.name, got, want)
		                : set(r, FAIL, "%s: output '%s' was not computed", set_name, info.name);
		gb_tensor_free(want);
		if (v != PASS)
			return v;
	}
	return PASS;
}

static verdict run_case(result *r, const char *case_dir)
{
	gb_error err = {0};
	gb_model *m = NULL;
	gb_session *s = NULL;
	char path[4096];
	snprintf(path, sizeof path, "%s/model.onnx", case_dir);
	if (gb_model_load(path, &m, &err) != GB_OK)
		return from_error(r, "load", &err);
	if (gb_session_new(m, &s, &err) != GB_OK) {
		gb_model_free(m);
		return from_error(r, "session", &err);
	}
	struct dirent **sets;
	int n = scandir(case_dir, &sets, case_is_data_set, alphasort);
	verdict v = n > 0 ? PASS : set(r, FAIL, "no test_data_set_* directories");
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", case_dir, sets[i]->d_name);
		if (v == PASS)
			v = run_data_set(r, m, s, path);
		free(sets[i]);
	}
	if (n >= 0)
		free(sets);
	gb_session_free(s);
	gb_model_free(m);
	return v;
}

/* Runs the case in a child process: a crash or a hang fails this case only. */
static verdict run_isolated(result *r, const char *case_dir)
{
	int fds[2];
	if (pipe(fds) != 0)
		return set(r, FAIL, "pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return set(r, FAIL, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		alarm(CASE_TIMEOUT_S);
		result mine = {PASS, ""};
		run_case(&mine, case_dir);
		char line[sizeof mine.msg + 1];
		int n = snprintf(line, sizeof line, "%c%s", (char)mine.v, mine.msg);
		if (write(fds[1], line, (size_t)n) < 0)
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	char buf[sizeof r->msg + 1];
	size_t got = 0;
	ssize_t k;
	while ((k = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)k;
	buf[got] = '\0';
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		return set(r, FAIL, sig == SIGALRM ? "timed out after %d s" : "crashed (signal %d: %s)",
		           sig == SIGALRM ? CASE_TIMEOUT_S : sig, sig == SIGALRM ? "" : strsignal(sig));
	}
	if (got == 0 || (buf[0] != PASS && buf[0] != FAIL && buf[0] != UNSUPPORTED))
		return set(r, FAIL, "the case exited (status %d) without a verdict", WEXITSTATUS(status));
	return set(r, (verdict)buf[0], "%s", buf + 1);
}

/* ---- main ------------------------------------------------------------------------------ */

static int is_case(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

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
	int n_claimed = 0, passed = 0, failed = 0, unsupported = 0, skipped = 0, suites_found = 0;
	for (size_t si = 0; si < sizeof suites / sizeof suites[0]; si++) {
		char suite[4096];
		snprintf(suite, sizeof suite, "%s/%s", root, suites[si]);
		struct dirent **cases;
		int n = scandir(suite, &cases, is_case, alphasort);
		if (n < 0)
			continue;
		suites_found++;
		for (int i = 0; i < n; i++) {
			char name[512], dir[4608], model[4700], op[256] = "";
			snprintf(name, sizeof name, "%s/%s", suites[si], cases[i]->d_name);
			snprintf(dir, sizeof dir, "%s/%s", suite, cases[i]->d_name);
			snprintf(model, sizeof model, "%s/model.onnx", dir);
			free(cases[i]);
			int wanted = argi >= argc;
			for (int f = argi; f < argc && !wanted; f++)
				wanted = strstr(name, argv[f]) != NULL;
			if (!wanted || !case_exists(model))
				continue;
			int c = claimed(model, op, sizeof op);
			if (c == 0) {
				skipped++;
				continue;
			}
			n_claimed++;
			result r = {FAIL, ""};
			if (c < 0)
				set(&r, FAIL, "model.onnx does not decode as an ONNX model");
			else
				run_isolated(&r, dir);
			if (r.v == PASS) {
				passed++;
				if (verbose)
					printf("PASS %s\n", name);
			} else if (r.v == UNSUPPORTED) {
				unsupported++;
				printf("UNSUPPORTED %s: %s\n", name, r.msg);
			} else {
				failed++;
				printf("FAIL %s: %s\n", name, r.msg);
			}
			fflush(stdout);
		}
		free(cases);
	}
	if (suites_found == 0) {
		fprintf(stderr, "conformance: no test suites under %s\n", root);
		return 2;
	}
	printf("conformance: %d cases with claimed ops, %d passed, %d failed, %d unsupported (clear error); %d skipped "
	       "(op not claimed)\n",
	       n_claimed, passed, failed, unsupported, skipped);
	return failed ? 1 : 0;
}
