/*
 * decompile.h — the decompiler: a trained network in, a faithful readable
 * program out, with its faithfulness measured (library-internal; the CLI's
 * `glassbox decompile` drives it).
 *
 * Stages, one file each:
 *   lower.c   the network as a ReLU DAG (pwl.h): linear operators folded
 *   canon.c   its canonical form on the domain (dead, linear, duplicate and
 *             paired units removed; scales normalised)
 *   lift.c    formulas over max/min/abs/relu/clamp/step (lift.h)
 *   write.c   the program text: formulas, or dense layers when the network
 *             does not read as formulas
 *   verify.c  the program run (by the interpreter) against the network (by
 *             the engine) on the domain: exhaustive, or sampled; on a box,
 *             then proven where it can be (certify.c, certify.h)
 *   decompile.c  the pipeline and its summary
 */
#ifndef GB_DECOMPILE_H
#define GB_DECOMPILE_H

#include "../core/strbuf.h"
#include "../lang/lang.h"
#include "lift.h"
#include "pwl.h"

typedef enum gb_domain_kind {
	GB_DOMAIN_BOX = 0, /* every input feature in [lo, hi] */
	GB_DOMAIN_BOOL,    /* every input feature 0 or 1 */
	GB_DOMAIN_DATA     /* the points of `data`, within its per-feature range */
} gb_domain_kind;

typedef struct gb_domain {
	gb_domain_kind kind;
	double lo, hi;         /* BOX */
	const gb_tensor *data; /* DATA: [N, ...input shape] (borrowed); also extra checks for the others */
} gb_domain;

/* Parses "box:LO,HI", "bool" or "data". */
gb_status gb_domain_parse(const char *text, gb_domain *d, gb_error *err);
/* Writes the domain as "box:-1,1", "bool", "data". */
void gb_domain_str(const gb_domain *d, char *buf, size_t size);

/* What compress.c judges candidates by, on n points. */
typedef struct gb_compress_options {
	const float *x;   /* [n, n_in] */
	int64_t n;
	const float *ref; /* the network's outputs there, [n, n_out] */
	double budget;    /* largest |DAG - network| allowed (when agreement is 0) */
	double agreement; /* > 0: the fraction of points where output 0's argmax must agree */
} gb_compress_options;

typedef struct gb_compress_stats {
	int64_t terms_before, terms_after, terms_pruned;
	int64_t units_before, units_after;
	int bits;     /* significant bits the weights were rounded to (24: not rounded) */
	double merge_tol; /* the looser canonical tolerance kept (0: none) */
	bool split;       /* a spectral cut made two independent modules */
	bool snapped;     /* weights took the most frequent value near them */
	bool skipped; /* nothing was tried: the DAG itself misses the criterion, or too_large */
	bool too_large; /* judging candidates would cost more than about 4e9 multiply-adds each */
} gb_compress_stats;

/* compress.c: prunes and rounds *p (replaced) while the criterion holds;
 * lo/hi are the domain's box for the canonical form kept after each step. */
gb_status gb_pwl_compress(gb_pwl **p, const double *lo, const double *hi, const gb_compress_options *o,
                          gb_compress_stats *stats, gb_error *err);

typedef struct gb_decompile_options {
	gb_domain domain;
	double tolerance;     /* largest |program - network| allowed (default 1e-4) */
	int64_t samples;      /* random points for a sampled check (default 10000) */
	uint64_t seed;
	const char *label;    /* the model file, for messages and the header */
	const char *weights_file; /* side-car name the program's weights line names (the file goes
	                           * next to the program); NULL: "weights.safetensors". Weights of
	                           * more than 64 elements go there, the others are inline */
	int64_t formula_budget; /* nodes before formulas give way to layers (default 4096) */
	bool no_compress;     /* keep every weight as the network has it */
	double agreement;     /* > 0: faithful means output 0's argmax agrees on this fraction of
	                       * the points (a classifier's criterion) instead of the tolerance */
	const char *note;     /* a line for the program's header (without '#'), or NULL */
	const char *figures_dir; /* layers form, image input: draw first-layer units here, or NULL */
	const char *figures_ref; /* how the program's comments name that folder */
	const struct gb_retrain_result *retrain; /* reported in the summary when set */
	const char *retrained_model;             /* the retrained network's file, for the summary */
} gb_decompile_options;

/* An independent part: the flat input features and outputs of one
 * connected component of the DAG (both ascending). The writers make it a
 * def of its name when that reads better (docs/decompiler.md); def says
 * whether the final program has one. */
typedef struct gb_dc_module {
	char name[32]; /* "module1", ... (distinct from the network's input and output names) */
	int64_t *inputs, *outputs;
	int64_t n_inputs, n_outputs, n_units;
	bool def;
} gb_dc_module;

/* A cell applied to evenly spaced chunks of the input (a map). */
#define GB_DC_MAX_MAPS 16
typedef struct gb_dc_map {
	char function[32];
	int64_t count, width, step;
	int output; /* the output tensor it computes */
} gb_dc_map;

/* A convolution found in a dense layer. */
typedef struct gb_dc_conv {
	int64_t filters; /* 0: none */
	int64_t kernel[2], stride[2], padding[2];
	int64_t input[3]; /* C, H, W the input was read as */
} gb_dc_conv;

#define GB_DC_CERTIFY_MAX_INPUTS 16 /* input features a proof is tried for, at most */

typedef struct gb_fidelity {
	const char *method;   /* "exhaustive", "sampled" or "certified" (sampled, and proven on the whole box) */
	int64_t samples;
	double max_abs_error, mean_abs_error; /* over the points checked */
	double argmax_agreement;
	double tolerance;
	/* box domains: the proof (gb_dc_certify) */
	bool certify_tried;
	const char *certify_reason; /* why it is not certified: "too_large", "softmax", "no_roundtrip",
	                             * "not_piecewise_linear" (written as the network's own layers),
	                             * "budget", "counterexample" */
	double certified_bound;     /* proven max |program - network| on the box, in exact arithmetic */
	double certified_rounding;  /* a worst-case bound of what float32 evaluation adds to it */
	int64_t certified_boxes;    /* sub-problems the proof bounded */
	bool counterexample;        /* a point where program and network differ by more than the tolerance */
	float counterexample_x[GB_DC_CERTIFY_MAX_INPUTS];
	int64_t counterexample_n;
	double counterexample_error; /* |program - network| there, both run as for the check */
} gb_fidelity;

typedef struct gb_decompile_result {
	char *program;           /* the program text (malloc'ed) */
	gb_tensor_map *weights;  /* side-car tensors (empty when all are inline) */
	bool faithful;
	gb_fidelity fidelity;
	const char *form;        /* "formulas" or "layers" */
	int64_t network_params, network_units;
	int64_t program_params, program_ops;
	gb_ast_counts counts;
	gb_canon_stats canon;
	int64_t lift_counts[6];  /* max, min, abs, relu, clamp, step nodes in the formulas */
	gb_compress_stats compress;
	gb_dc_module *modules;   /* independent parts of the canonical DAG */
	int n_modules;
	gb_dc_map maps[GB_DC_MAX_MAPS];
	int n_maps;
	gb_dc_conv conv;
	int64_t figures; /* unit figures drawn */
} gb_decompile_result;

void gb_decompile_result_free(gb_decompile_result *r);

/* Runs the pipeline on a prepared model. A program that is not within the
 * tolerance is still returned, with faithful = false and the measured
 * errors: the caller must say so (the CLI exits 1). Errors: those of
 * lowering (GB_STATUS_UNSUPPORTED for operators it cannot read), bad
 * options or data (GB_STATUS_USAGE / GB_STATUS_BAD_FILE), GB_STATUS_NOMEM. */
gb_status gb_decompile(gb_model *m, const gb_decompile_options *opt, gb_decompile_result *r, gb_error *err);

/* The summary JSON (the keys docs/decompiler.md lists); malloc'ed text. */
gb_status gb_decompile_summary_json(const gb_decompile_result *r, const gb_decompile_options *opt, char **json,
                                    gb_error *err);

/* ---- retraining (retrain.c) ------------------------------------------------------------- */

typedef struct gb_retrain_options {
	const gb_tensor *train_x, *train_y; /* [N, ...input shape] float32; class labels [N] */
	const gb_tensor *test_x, *test_y;
	const char *train_label, *test_label; /* for messages */
	double keep; /* the fraction of the weights to keep, in (0, 1] */
	int rounds;  /* pruning steps, each followed by fine-tuning */
	int epochs;  /* fine-tuning epochs per step */
	uint64_t seed;
} gb_retrain_options;

typedef struct gb_retrain_result {
	double acc_before, acc_after;        /* test accuracy of the network given and of the retrained one */
	int64_t weights_before, weights_after; /* nonzero weights of the chain before and after pruning */
} gb_retrain_result;

/* A pruned, fine-tuned version of the classifier m (which must lower to a
 * ReLU DAG): a copy of m, weights on features always 0 in the training
 * data zeroed, every weight matrix pruned by magnitude to keep^(r/rounds) of its weights in round r and
 * fine-tuned after each round with pruned weights held at zero. *out is
 * new (prepared; caller frees). */
gb_status gb_dc_retrain(gb_model *m, const gb_retrain_options *o, gb_model **out, gb_retrain_result *res,
                        gb_error *err);

/* ---- stages -------------------------------------------------------------------------- */

/* structure.c: the modules of p, in the order of their first output. */
gb_status gb_dc_modules(const gb_pwl *p, gb_dc_module **mods, int *n_mods, gb_error *err);
void gb_dc_modules_free(gb_dc_module *mods, int n);
/* structure.c: sets each module's def flag: whether program defines a
 * function of the module's name at top level. */
void gb_dc_modules_mark_defs(gb_dc_module *mods, int n, const gb_ast *program);


/* A program identifier from a tensor name ("input.1" -> "input_1"; names
 * that are keywords or primitives get fallback_ in front). */
void gb_dc_identifier(const char *name, const char *fallback, char *out, size_t size);

/* write.c: the formulas of lf as a program (declarations and assignments);
 * outputs that apply one formula to evenly spaced chunks of a 1-D input
 * are written as a def called in a comprehension (maps[], at most
 * GB_DC_MAX_MAPS, *n_maps of them). With the modules of p (mods may be
 * NULL), independent parts are written as one def each, named after the
 * module, when that reads better (docs/decompiler.md). */
gb_status gb_dc_write_formulas(const gb_pwl *p, const gb_lift *lf, const gb_dc_module *mods, int n_mods, char **text,
                               gb_dc_map *maps, int *n_maps, gb_error *err);

/* write.c: names for the network's inputs and outputs as identifiers,
 * distinct from each other (at most 64 of each). */
void gb_dc_io_names(const gb_pwl *p, char (*in)[64], char (*out)[64]);
/* write.c: "input NAME: f32[...]" lines, and typed output lines when
 * outputs_typed. */
void gb_dc_declare_io(gb_strbuf *b, const gb_pwl *p, char (*in)[64], char (*out)[64], bool outputs_typed);

/* write.c: how the program writes element e of a tensor: "x[2]", "img[0, 1, 3]", "x". */
void gb_dc_element_name(const char *name, int ndim, const int64_t *dims, int64_t e, char *out, size_t size);

/* write.c: the DAG as layers of dense ReLU blocks (units grouped by depth).
 * Weights with at most inline_max elements are written inline, the others
 * go to `weights` under their param names and the program reads them from
 * weights_file (required then). params: nonzero weights and biases
 * written; ops: operations written. When the first layer is a convolution
 * over the input seen as an image (conv_find.c: every unit a shifted copy
 * of a kernel), it is written as conv2d and described in *conv (filters 0
 * otherwise). Otherwise, with the modules of p (mods may be NULL),
 * independent parts are written as one def each, like the formulas. */
/* Figures of first-layer units for the layers' comments: figure k shows
 * unit units[k] and is written ref/unit%03d.png. */
typedef struct gb_dc_figures {
	const int64_t *units;
	int64_t n;
	const char *ref;
	const int64_t *top; /* n * k data example indices, strongest first; NULL: none */
	int k;
} gb_dc_figures;

/* write.c: a param line, `param NAME: f32[...] = literal` for at most
 * inline_max elements, else `= weights["NAME"]` with the tensor put into
 * weights (copied); params counts the nonzero elements written; st keeps
 * the first failure (err says why). */
typedef struct gb_dc_params {
	gb_strbuf *b;
	gb_tensor_map *weights;
	int64_t inline_max;
	int64_t params;
	gb_error *err;
	gb_status st;
} gb_dc_params;
void gb_dc_put_param(gb_dc_params *w, const char *name, const float *data, int ndim, const int64_t *dims);

/* netwrite.c: the network written node by node as its own layers (dense,
 * conv2d, pools, activations, softmax), its weights exact; params as for
 * gb_dc_put_param. GB_STATUS_UNSUPPORTED (naming the node) for an operator
 * or an attribute it does not write. */
gb_status gb_dc_write_network(gb_model *m, int64_t inline_max, char **text, gb_tensor_map *weights,
                              const char *weights_file, int64_t *params, gb_error *err);

gb_status gb_dc_write_layers(const gb_pwl *p, int64_t inline_max, char **text, gb_tensor_map *weights,
                             const char *weights_file, int64_t *params, int64_t *ops, gb_dc_conv *conv,
                             const gb_dc_figures *figs, const gb_dc_module *mods, int n_mods, gb_error *err);

/* figures.c: for a model whose one input is an image (H x W, 1 x H x W, or a
 * square number of features), one PNG per first-layer unit (its input
 * weights; red positive, blue negative) in dir as unit000.png, ...;
 * *units (malloc'ed) lists the units drawn, in order. Nothing is written
 * for other inputs (*n_units 0). */
gb_status gb_dc_unit_figures(const gb_pwl *p, const char *dir, int64_t **units, int64_t *n_units, gb_error *err);
/* figures.c: for each of the first-layer units listed, the k data examples
 * (rows of data, [N, n_in] float32) that drive its pre-activation highest,
 * strongest first (*top malloc'ed, n_units * k; -1 pads when N < k). */
gb_status gb_dc_top_examples(const gb_pwl *p, const gb_tensor *data, const int64_t *units, int64_t n_units, int k,
                             int64_t **top, gb_error *err);

/* verify.c: the domain's points for a check (*x malloc'ed, [n, n_in]);
 * seed picks the random ones; method: "exhaustive" or "sampled". */
gb_status gb_dc_points(const gb_pwl *p, const gb_decompile_options *opt, uint64_t seed, float **x, int64_t *n,
                       const char **method, gb_error *err);
/* verify.c: the network's outputs on the points (*y malloc'ed, [n, n_out]). */
gb_status gb_dc_network_outputs(gb_model *m, const gb_pwl *p, const float *x, int64_t n, float **y, gb_error *err);
/* decompile.c: the index of the largest of y[0..k), the first of equal
 * ones (as ONNX ArgMax picks). */
int64_t gb_dc_argmax(const double *y, int64_t k);
/* match.c: every output element matched on its own, on the domain's points
 * (lo/hi: the box), to a Boolean formula of the 0/1 input features or the
 * max or min of some real ones, each within budget; *body (malloc'ed) is
 * the program when every element matches, else NULL. */
gb_status gb_dc_match_outputs(const gb_pwl *p, const gb_decompile_options *opt, const double *lo, const double *hi,
                              double budget, char **body, gb_error *err);
/* match.c: a classifier (judged by agreement) on a data domain whose
 * features are consecutive one-hot codes (one or two), whose class is
 * (a*i + b*j + c) mod classes of the codes' indices i, j on every data
 * point: that formula summed over the code pairs, and the scores as the
 * class's one-hot code. *body NULL when it does not fit. */
gb_status gb_dc_match_onehot(const gb_pwl *p, const gb_decompile_options *opt, char **body, gb_error *err);
/* verify.c: runs program (parsed and checked) and network on the domain's
 * points (a fresh draw: seed + 1) and measures the differences. */
gb_status gb_dc_verify(gb_model *m, const gb_pwl *p, const gb_ast *program, gb_tensor_map *weights,
                       const gb_decompile_options *opt, gb_fidelity *fid, gb_error *err);
/* verify.c: on a box domain, after a sampled check within the tolerance
 * (not under --agreement): the program, compiled back to a network and
 * lowered, against the network's own DAG by gb_pwl_certify (certify.h),
 * when the network has at most GB_DC_CERTIFY_MAX_INPUTS input features and
 * the two DAGs at most 512 units. Proven within the tolerance (in exact
 * arithmetic; certified_rounding bounds what float32 adds): fid->method
 * becomes "certified", with certified_bound and certified_boxes. Otherwise
 * certify_reason says why; a point where the two differ by more than the
 * tolerance, confirmed by running program and network there, sets
 * fid->counterexample and counts among the points checked (raising
 * max_abs_error): the program is then not faithful. Errors:
 * GB_STATUS_NOMEM (a program that does not compile back is a reason, not an
 * error). */
gb_status gb_dc_certify(gb_model *m, const gb_ast *program, gb_tensor_map *weights, const gb_decompile_options *opt,
                        gb_fidelity *fid, gb_error *err);

#endif /* GB_DECOMPILE_H */
