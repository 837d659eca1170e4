/*
 * disguise.h — function-preserving rewrites that hide a ReLU network's
 * structure (library-internal; the CLI's 'glassbox disguise' uses it).
 *
 * The input is a chain of dense layers — Gemm (transA 0, transB 0 or 1,
 * optional bias; alpha and beta are folded in) or MatMul with an optional
 * Add of a bias — with a Relu after every layer but the last (a Relu after
 * the last one is kept). Each hidden ReLU layer is rewritten, in this order:
 *
 *   split      `strength` times a unit is copied and its outgoing weights are
 *              shared between the two copies (fractions in [0.25, 0.75]
 *              that sum to one): relu(z)·v = relu(z)·αv + relu(z)·(1−α)v;
 *   rescale    every unit's incoming weights and bias are multiplied by a
 *              factor s in [1/3, 3] and its outgoing weights by 1/s
 *              (relu(s·z) = s·relu(z) for s > 0);
 *   pairs      `strength` cancelling pairs: two units with the same random
 *              incoming weights and bias, outgoing weights v and −v;
 *   dead       `strength` units with random incoming weights whose bias is
 *              set below minus the interval-arithmetic upper bound of their
 *              pre-activation over the input box, so they are never active
 *              there; their outgoing weights are random and nonzero;
 *   permute    the layer's units are shuffled.
 *
 * A hidden layer of H units thus ends with H + 4·strength units. With
 * noise > 0, every weight and bias then gets independent N(0, noise²) noise
 * (the function changes, on purpose). The same input and options give the
 * same model, bit for bit.
 */
#ifndef GB_DISGUISE_H
#define GB_DISGUISE_H

#include "graph.h"

#define GB_DISGUISE_MAX_LAYERS 256 /* dense layers in one chain */
#define GB_DISGUISE_MAX_STRENGTH 100000

typedef struct gb_disguise_options {
	uint64_t seed;
	int64_t strength;      /* splits, cancelling pairs and dead units per hidden layer, >= 0 */
	double noise;          /* standard deviation of the weight noise; 0 for none */
	double box_lo, box_hi; /* every input feature lies in [box_lo, box_hi] */
} gb_disguise_options;

/* What was done, for the caller to report. */
typedef struct gb_disguise_summary {
	int n_layers;                                  /* dense layers */
	int64_t width_before[GB_DISGUISE_MAX_LAYERS];  /* output units of each dense layer */
	int64_t width_after[GB_DISGUISE_MAX_LAYERS];
} gb_disguise_summary;

/* Builds the disguised network of src in a new model (caller frees with
 * gb_model_free). The result has the same input and output (names, types,
 * shapes), opset and IR version as src, and one Gemm (transB 1, bias) per
 * dense layer with Relu between them; its weights are named layerK.weight
 * and layerK.bias. It is not prepared for execution: gb_model_save takes it
 * as is, a session needs gb_model_prepare first. summary may be NULL.
 *
 * Errors: GB_STATUS_UNSUPPORTED, with a message naming the model file and
 * the node, for any graph that is not such a chain (another op, a branch, a
 * weight that is not an initializer, more than one input or output, no
 * hidden layer); GB_STATUS_BAD_FILE when the layers' shapes do not fit;
 * GB_STATUS_USAGE for bad options; GB_STATUS_NOMEM. */
gb_status gb_disguise(const gb_model *src, const gb_disguise_options *opt, gb_model **out,
                      gb_disguise_summary *summary, gb_error *err);

#endif /* GB_DISGUISE_H */
