/*
 * cmd_zoo.c — glassbox zoo: builds the network zoo (networks with known
 * answers: planted programs, compiled and disguised, and networks trained
 * on algorithmic tasks and MNIST) and scores the decompiler on it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "core/core.h"
#include "zoo/zoo.h"

const char cmd_zoo_usage[] =
	"usage: glassbox zoo build DIR [--quick] [--programs ZOO] [--mnist MNIST] [-q]\n"
	"       glassbox zoo score DIR [--json FILE] [--markdown FILE] [-q]\n"
	"\n"
	"build writes one folder per case into DIR: model.onnx, X.npy (inputs on the\n"
	"case's domain), T.npy (the true outputs) and expect.json (the ground-truth\n"
	"program, its program_ops and primitives, and the structure a decompiler\n"
	"should recover). Planted cases are the programs of ZOO/planted compiled,\n"
	"written as dense Gemm+Relu chains and disguised (strengths 0, 2, 5, and 2\n"
	"with noise 1e-4); each is checked against its program before and after\n"
	"disguise, and the build stops (exit 1) if one does not match. Trained cases\n"
	"are networks trained on parity-4, majority-5, add-2, max-3, sort-3,\n"
	"modadd-5 and pair at widths 8 and 16 and seeds 1 and 2 (--quick: width 8,\n"
	"seed 1), whose ground truth is ZOO/tasks/TASK.gbx, plus a 4x256 MLP and a\n"
	"small CNN on MNIST (skipped with --quick or without MNIST). The same\n"
	"command gives the same bytes.\n"
	"\n"
	"score decompiles every case of DIR on its domain, re-runs each program it\n"
	"wrote against the network, and prints a table: faithful, max error,\n"
	"program_ops against the ground truth's, primitives, modules, conv and map\n"
	"recovered, time. It exits 0 whatever the decompiler recovers, 1 if a\n"
	"program reported faithful is not, 3 if DIR holds no cases.\n"
	"\n"
	"  --quick          fewer trained cases and no MNIST (for tests)\n"
	"  --programs ZOO   the folder with planted/ and tasks/ (default: zoo/ of the\n"
	"                   checkout: ./zoo, else the one beside the tool's build folder)\n"
	"  --mnist MNIST    the folder with train.npz and test.npz (default: data/mnist,\n"
	"                   found the same way; 'make data' fetches it)\n"
	"  --json FILE      the rows as JSON\n"
	"  --markdown FILE  the table as Markdown (for docs/zoo.md)\n"
	"  -q, --quiet      no progress on stderr\n";

static int quiet;

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The checkout's folder `rel` (e.g. "zoo"): ./rel when it exists, else
 * rel beside the folder that holds the tool (build/glassbox -> ./rel of the
 * checkout). Returns a malloc'ed path or NULL. */
static char *find_checkout_dir(const char *rel, const char *probe)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", rel, probe);
	if (is_dir(rel) && access(path, F_OK) == 0)
		return gb_strdup(rel);
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	for (int up = 0; up < 2; up++) { /* drop the tool's name, then its folder */
		char *slash = strrchr(exe, '/');
		if (!slash)
			return NULL;
		*slash = '\0';
	}
	snprintf(path, sizeof path, "%s/%s/%s", exe, rel, probe);
	if (access(path, F_OK) != 0)
		return NULL;
	snprintf(path, sizeof path, "%s/%s", exe, rel);
	return gb_strdup(path);
}

static void on_progress(void *ctx, const char *name, const char *what)
{
	(void)ctx;
	if (!quiet)
		fprintf(stderr, "zoo build: %s (%s)\n", name, what);
}

static int zoo_build(int argc, char **argv)
{
	const char *dir = NULL, *programs = NULL, *mnist = NULL;
	bool quick = false;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--quick") == 0)
			quick = true;
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			quiet = 1;
		else if (strcmp(a, "--programs") == 0 || strcmp(a, "--mnist") == 0) {
			if (i + 1 >= argc)
				return cli_usage("zoo", "%s needs a value", a);
			if (strcmp(a, "--programs") == 0)
				programs = argv[++i];
			else
				mnist = argv[++i];
		} else if (a[0] == '-')
			return cli_usage("zoo", "unknown option '%s' for build", a);
		else if (dir)
			return cli_usage("zoo", "unexpected argument '%s'", a);
		else
			dir = a;
	}
	if (!dir)
		return cli_usage("zoo", "build needs the folder to write (glassbox zoo build DIR)");
	char *found_programs = NULL, *found_mnist = NULL;
	if (!programs) {
		found_programs = find_checkout_dir("zoo", "planted");
		if (!found_programs) {
			fprintf(stderr, "glassbox: no zoo/planted folder of ground-truth programs here or beside the tool; "
			                "give --programs ZOO\n");
			return EXIT_BADFILE;
		}
		programs = found_programs;
	}
	if (!quick && !mnist) {
		found_mnist = find_checkout_dir("data/mnist", "train.npz");
		mnist = found_mnist;
		if (!mnist)
			fprintf(stderr, "glassbox: note: no data/mnist/train.npz ('make data' fetches it): the MNIST cases "
			                "are left out\n");
	} else if (quick && !quiet) {
		fprintf(stderr, "zoo build: --quick: one width and seed per task, no MNIST cases\n");
	}
	gb_zoo_build_options o = {
		.programs = programs, .mnist = mnist, .quick = quick, .progress = on_progress, .ctx = NULL};
	gb_error err = {0};
	int n = 0;
	gb_status st = gb_zoo_build(dir, &o, &n, &err);
	free(found_programs);
	free(found_mnist);
	if (st != GB_OK)
		return cli_fail(&err);
	printf("%s: %d cases\n", dir, n);
	return EXIT_OK;
}

static int write_file(const char *path, const char *text)
{
	gb_error err = {0};
	if (gb_file_write_text(path, text, &err) != GB_OK)
		return cli_fail(&err);
	return EXIT_OK;
}

static int zoo_score(int argc, char **argv)
{
	const char *dir = NULL, *json_path = NULL, *md_path = NULL;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			quiet = 1;
		else if (strcmp(a, "--json") == 0 || strcmp(a, "--markdown") == 0) {
			if (i + 1 >= argc)
				return cli_usage("zoo", "%s needs a value", a);
			if (strcmp(a, "--json") == 0)
				json_path = argv[++i];
			else
				md_path = argv[++i];
		} else if (a[0] == '-')
			return cli_usage("zoo", "unknown option '%s' for score", a);
		else if (dir)
			return cli_usage("zoo", "unexpected argument '%s'", a);
		else
			dir = a;
	}
	if (!dir)
		return cli_usage("zoo", "score needs the zoo's folder (glassbox zoo score DIR)");
	gb_error err = {0};
	char **names = NULL;
	int n = 0;
	if (gb_zoo_list(dir, &names, &n, &err) != GB_OK)
		return cli_fail(&err);
	if (n == 0) {
		fprintf(stderr, "glassbox: %s: no zoo cases (no CASE/expect.json); run 'glassbox zoo build %s' first\n", dir,
		        dir);
		return EXIT_BADFILE;
	}
	gb_zoo_row *rows = calloc((size_t)n, sizeof *rows);
	char *table = NULL, *md = NULL, *json = NULL;
	int rc = EXIT_OK, false_faithful = 0, bad_roundtrips = 0;
	if (!rows) {
		fprintf(stderr, "glassbox: out of memory\n");
		rc = EXIT_FAIL;
		goto done;
	}
	for (int i = 0; i < n; i++) {
		if (gb_zoo_score_case(dir, names[i], &rows[i], &err) != GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
		const gb_zoo_row *r = &rows[i];
		false_faithful += r->false_faithful;
		bad_roundtrips += r->ran && !r->roundtrip_ok;
		if (quiet)
			continue;
		if (r->ran)
			fprintf(stderr, "[%d/%d] %s: %s (max error %.2g), %s, %lld ops, %.2fs\n", i + 1, n, r->name,
			        r->false_faithful ? "FALSELY faithful" : r->faithful ? "faithful" : "not faithful", r->max_error,
			        r->form, (long long)r->ops, r->seconds);
		else
			fprintf(stderr, "[%d/%d] %s: not decompiled: %s\n", i + 1, n, r->name, r->error);
	}
	if (gb_zoo_table(rows, n, false, &table, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	fputs(table, stdout);
	if (md_path && (gb_zoo_table(rows, n, true, &md, &err) != GB_OK || (rc = write_file(md_path, md)) != EXIT_OK)) {
		if (rc == EXIT_OK)
			rc = cli_fail(&err);
		goto done;
	}
	if (json_path) {
		if (gb_zoo_rows_json(rows, n, &json, &err) != GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
		size_t len = strlen(json);
		char *with_nl = realloc(json, len + 2);
		if (with_nl) {
			json = with_nl;
			memcpy(json + len, "\n", 2);
		}
		if ((rc = write_file(json_path, json)) != EXIT_OK)
			goto done;
	}
	if (bad_roundtrips) {
		fprintf(stderr,
		        "glassbox: %d program(s) compiled back into networks differ from the network beyond the tolerance "
		        "on X (roundtrip_ok false in --json)\n",
		        bad_roundtrips);
		rc = EXIT_FAIL;
	}
	if (false_faithful) {
		fprintf(stderr,
		        "glassbox: %d case(s) reported faithful whose program differs from the network beyond the "
		        "tolerance on X (column faithful: FALSE)\n",
		        false_faithful);
		rc = EXIT_FAIL;
	}
done:
	free(table);
	free(md);
	free(json);
	free(rows);
	gb_zoo_names_free(names, n);
	return rc;
}

int cmd_zoo(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("zoo", "give a subcommand: build or score");
	if (strcmp(argv[1], "build") == 0)
		return zoo_build(argc, argv);
	if (strcmp(argv[1], "score") == 0)
		return zoo_score(argc, argv);
	return cli_usage("zoo", "unknown subcommand '%s' (build or score)", argv[1]);
}
