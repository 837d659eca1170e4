/*
 * zoo.h — the network zoo: networks whose answers are known, for scoring
 * the decompiler (library-internal; `glassbox zoo` drives it).
 *
 * A zoo is a folder with one sub-folder per case:
 *
 *   CASE/model.onnx   the network
 *   CASE/X.npy        inputs on the case's domain, in the network's input
 *                     shape [N, ...]: every input of a Boolean domain (and of
 *                     a one-hot one), else 1,000 points
 *   CASE/T.npy        the true outputs on X: the ground-truth program's
 *                     (planted) or the task's labels and targets (trained)
 *   CASE/expect.json  what a decompiler should recover: "case", "kind"
 *                     ("planted" or "trained"), "domain" (as --domain
 *                     takes it), "program" (the ground-truth program text,
 *                     null when there is none), "program_ops" and
 *                     "primitives" ({name: calls}) of that program,
 *                     "structure" ({"modules": N, "conv": [...], "maps":
 *                     [...]}), and for planted cases "disguise" ({"seed",
 *                     "strength", "noise", "max_error"}: the network against
 *                     the program on X), for trained ones "task", "arch",
 *                     "seed", "test_accuracy", "test_loss".
 *
 * build.c writes a zoo (build.c's top comment lists the cases); score.c
 * runs the decompiler over one and measures what it recovered.
 */
#ifndef GB_ZOO_H
#define GB_ZOO_H

#include <stdbool.h>
#include <stdint.h>

#include "glassbox.h"

/* ---- building (build.c) -------------------------------------------------------------- */

typedef struct gb_zoo_build_options {
	const char *programs; /* the folder with planted/NAME.gbx and tasks/TASK.gbx (the repository's zoo/) */
	const char *mnist;    /* folder with train.npz and test.npz; NULL: no MNIST cases */
	bool quick;           /* one seed and one width per task, no MNIST */
	/* Called before each case (may be NULL): the case's name and what is
	 * being done ("planted", "training", ...). */
	void (*progress)(void *ctx, const char *name, const char *what);
	void *ctx;
} gb_zoo_build_options;

/* Writes every case into dir (created when missing; existing case folders
 * are overwritten). Each planted network is checked against its program on
 * X — the compiled network, its chain of dense layers and every disguised
 * network as read back from model.onnx: within 1e-5 without noise, within
 * GB_ZOO_NOISY_BOUND with it — and each trained case's ground-truth
 * program against the task's labels and targets on X (exactly, up to
 * 1e-6 for real targets). Any mismatch stops the build with
 * GB_STATUS_FAILURE and a message naming the case and the error. The same
 * options give the same bytes (training included, for one OpenBLAS thread
 * count). *n_cases (may be NULL) receives the number written.
 *
 * Errors: GB_STATUS_FAILURE for a folder or file that cannot be written
 * (the message names it and the reason) and for the checks above;
 * GB_STATUS_BAD_FILE for a program or data set that is missing or does not
 * parse; GB_STATUS_NOMEM. */
gb_status gb_zoo_build(const char *dir, const gb_zoo_build_options *o, int *n_cases, gb_error *err);

#define GB_ZOO_EXACT_BOUND 1e-5 /* noise-free planted networks against their programs */
#define GB_ZOO_NOISY_BOUND 0.05 /* noisy ones (noise 1e-4 on every weight) */

/* ---- scoring (score.c) ---------------------------------------------------------------- */

/* The case folders of dir (those with an expect.json): planted first, then
 * trained, each by name. *names is malloc'ed, each name too; free with
 * gb_zoo_names_free. A dir that cannot be read: GB_STATUS_BAD_FILE. */
gb_status gb_zoo_list(const char *dir, char ***names, int *n, gb_error *err);
void gb_zoo_names_free(char **names, int n);

#define GB_ZOO_TEXT 256

typedef struct gb_zoo_row {
	char name[64];
	char kind[16];          /* "planted" or "trained" */
	char domain[32];
	bool ran;               /* the decompiler returned a program (else error says why) */
	char error[GB_ZOO_TEXT];
	const char *form;       /* "formulas" or "layers" (static) */
	bool faithful;          /* as the decompiler reports it */
	char method[16];        /* fidelity.method: "exhaustive", "sampled" or "certified" */
	double max_error;       /* the decompiler's measured max |program - network| */
	double tolerance;
	double agreement;       /* > 0: judged by argmax agreement (classifiers on Boolean domains) */
	double recheck_error;
	double recheck_agreement; /* argmax agreement of the written program with the network on X */
	double roundtrip_error;   /* the program compiled back (ReLU mode) against the network on X */
	double roundtrip_agreement;
	bool roundtrip_ok;        /* within the tolerance (or the agreement) like the program */   /* the written program re-run against the network on X */
	bool false_faithful;    /* reported faithful, but the re-check exceeds the tolerance */
	int64_t ops;            /* program_ops of the decompiled program */
	int64_t truth_ops;      /* of the ground-truth program; -1 when there is none */
	int prims_expected, prims_found; /* shape primitives left out; found up to identities (score.c) */
	int prims_by_name;               /* found under their own name */
	char prims_missing[GB_ZOO_TEXT]; /* expected primitives not found, comma-separated */
	int modules, modules_expected;   /* modules_expected -1: not stated */
	bool conv_expected, conv_found, map_expected, map_found;
	bool recovered;         /* faithful, every primitive and structure found, ops ratio <= 2 */
	double seconds;         /* decompiler wall time */
} gb_zoo_row;

/* Decompiles dir/name/model.onnx on the case's domain (X.npy as the data,
 * and as extra check points on the other domains; tolerance 1e-4, 1e-3
 * for noisy planted networks), re-runs the written program on X against
 * the network, and fills row. A decompiler error is not a failure here: it
 * goes to row->error with ran = false. Errors: GB_STATUS_BAD_FILE for a
 * case folder whose files are missing or malformed; GB_STATUS_NOMEM. */
gb_status gb_zoo_score_case(const char *dir, const char *name, gb_zoo_row *row, gb_error *err);

/* The rows as a table: plain text with aligned columns, or Markdown; a
 * closing line counts the recovered cases. *text is malloc'ed. */
gb_status gb_zoo_table(const gb_zoo_row *rows, int n, bool markdown, char **text, gb_error *err);
/* The rows as a JSON array of objects. *text is malloc'ed. */
gb_status gb_zoo_rows_json(const gb_zoo_row *rows, int n, char **text, gb_error *err);

#endif /* GB_ZOO_H */
