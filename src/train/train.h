/*
 * train.h — the training module: architecture specs turned into graphs
 * (arch.c), losses (loss.c), optimisers (optim.c), interpretability
 * regularisers (regularize.c), the training loop (trainer.c) and the
 * training log and plot writers (log.c).
 *
 * Gradients come only from the executor's checked backward pass
 * (gb_session_backward): the trainer computes the loss and its gradient with
 * respect to the network's output, seeds backward with it and reads the
 * weights' gradients back. Parameters are updated in place in the model's
 * float32 initializers.
 *
 * Like the rest of the library nothing here prints: progress goes to a
 * caller-supplied callback, errors into gb_error.
 */
#ifndef GB_TRAIN_H
#define GB_TRAIN_H

#include <stdint.h>

#include "glassbox.h"
#include "../core/rng.h"

/* ---- architecture specs (arch.c) ---------------------------------------------
 *
 * Two forms.
 *
 * MLP form: widths joined by '-', e.g. "784-256-256-10". The first number is
 * the input width (a sample must hold that many values; a sample of another
 * shape with that many values, e.g. [1,28,28], is flattened first), each
 * further number a dense layer (Gemm, weights [out, in] as PyTorch's Linear)
 * with a ReLU after every layer but the last. "2-1" is a linear model.
 *
 * Layer form: layers joined by '-', applied in order to a sample of the
 * data's shape, e.g. "conv8k3-relu-pool2-conv16k3-relu-pool2-dense10":
 *   conv<C>k<K>     convolution to C channels with a KxK kernel, stride 1,
 *                   'same' padding (output as large as the input; for even K
 *                   the extra row/column of padding goes at the end);
 *   conv<C>k<K>v    the same with 'valid' padding (no padding);
 *                   both need [C,H,W] samples
 *   pool<K>         max pooling, KxK window, stride K (a remainder is dropped)
 *   dense<N>        dense layer to N units (flattens a [C,H,W] input first)
 *   relu, tanh, sigmoid   elementwise activations
 *   flatten         explicit flatten to [C*H*W]
 * Every layer is written out: a ReLU is not implied in this form.
 *
 * Hidden activations are the outputs of activation layers that come before
 * the last dense/conv layer (in the MLP form: every ReLU); they are what
 * --l1-act penalises and where --dropout masks act.
 */

#define GB_ARCH_MAX_LAYERS 64

typedef enum gb_layer_kind {
	GB_LAYER_DENSE,
	GB_LAYER_CONV,
	GB_LAYER_POOL,
	GB_LAYER_RELU,
	GB_LAYER_TANH,
	GB_LAYER_SIGMOID,
	GB_LAYER_FLATTEN
} gb_layer_kind;

typedef struct gb_layer {
	gb_layer_kind kind;
	int64_t units; /* dense: outputs; conv: output channels */
	int kernel;    /* conv, pool: window size */
	int valid;     /* conv: 1 = 'valid' padding, 0 = 'same' */
	int pos;       /* 1-based character position of the layer in the spec */
} gb_layer;

typedef struct gb_arch {
	char spec[160];      /* the spec as given (truncated), for messages */
	int64_t in_features; /* MLP form: the input width; 0 in the layer form */
	int n_layers;
	gb_layer layers[GB_ARCH_MAX_LAYERS];
} gb_arch;

/* Parses a spec. A spec that does not parse gives GB_STATUS_USAGE with a
 * message naming the spec, the offending token and its position. */
gb_status gb_arch_parse(const char *spec, gb_arch *out, gb_error *err);

typedef struct gb_arch_options {
	uint64_t seed;   /* weight initialisation */
	int dropout;     /* training graph: a mask input after every hidden activation */
	int act_outputs; /* training graph: every hidden activation also a graph output */
} gb_arch_options;

/* Builds the network for samples of shape sample_dims (without the batch
 * axis): graph input "input" [N, sample...], output 0 the last layer's
 * output. Node names fc1, conv1, relu1, pool1, flatten1, …; weights
 * "fc1.weight" [out, in] and "fc1.bias" [out], "conv1.weight" [OC, IC, K, K]
 * and "conv1.bias" [OC]. opset 17.
 *
 * Initialisation is PyTorch's default for Linear and Conv2d: weights
 * kaiming_uniform(a = sqrt(5)) and biases uniform with the same bound, which
 * both come to U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = inputs of a
 * dense unit or IC*K*K for a convolution. Values are drawn from the seeded
 * generator below, layer by layer, the weight row-major then the bias.
 *
 * With options->dropout, hidden activation k is multiplied by an extra graph
 * input "dropout_mask<k>" of its shape (inputs 1, 2, …); with
 * options->act_outputs, hidden activation k is also graph output k (outputs
 * 1, 2, …). The plain build (both 0) is the inference graph.
 *
 * Samples that do not fit the spec (an MLP's input width, a convolution on
 * non-image samples, a window larger than the image) give GB_STATUS_BAD_FILE
 * naming the layer, its position and the shapes. The caller owns *out. */
gb_status gb_arch_build(const gb_arch *a, int sample_ndim, const int64_t *sample_dims, const gb_arch_options *o,
                        gb_model **out, gb_error *err);

/* Copies every float32 initializer of dst from the initializer of the same
 * name in src (same shape required: GB_STATUS_USAGE otherwise). Used to move
 * trained weights from a training graph into the inference graph. */
gb_status gb_model_copy_params(gb_model *dst, const gb_model *src, gb_error *err);

/* ---- configuration ---------------------------------------------------------- */

typedef enum gb_loss_kind {
	GB_LOSS_CE, /* cross-entropy on logits, int class labels */
	GB_LOSS_MSE /* mean squared error, float targets (or int labels as one-hot) */
} gb_loss_kind;

typedef enum gb_optim_kind {
	GB_OPTIM_SGD,
	GB_OPTIM_ADAM
} gb_optim_kind;

typedef struct gb_train_config {
	int epochs;
	int64_t batch;
	gb_optim_kind optim;
	double lr;
	double momentum;     /* SGD */
	double weight_decay; /* L2 added to the gradient, as PyTorch's SGD and Adam do */
	double beta1, beta2, eps; /* Adam */
	uint64_t seed;
	gb_loss_kind loss;
	/* Regularisers (0 = off); see regularize.c for the exact penalties. */
	double l1;          /* lambda * sum |w| over dense and conv weights */
	double l1_act;      /* lambda * mean over the batch of sum |h| over hidden activations */
	double group_lasso; /* lambda * sum over hidden units of ||incoming weights||_2 */
	int modular_k;      /* groups per hidden layer */
	double modular;     /* lambda * sum |w| over weights between different groups */
	int modular_io;     /* the input features and outputs are split into groups too */
	double dropout;     /* probability of zeroing a hidden activation while training */
	int keep_zeros;     /* weights that are exactly zero at the start stay zero (fine-tuning
	                     * a pruned network: its sparsity pattern is kept) */
} gb_train_config;

/* Defaults: 10 epochs, batch 64, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8 as
 * PyTorch), SGD momentum 0.9 when chosen, no weight decay, seed 1,
 * cross-entropy, every regulariser off. */
void gb_train_config_default(gb_train_config *c);

/* ---- losses (loss.c) ---------------------------------------------------------
 * Both take a batch of B outputs of K values each, return the summed loss of
 * the B samples (double), write d(loss)/d(output) * scale into grad (B*K;
 * NULL to skip) and add the number of correctly predicted samples to
 * *correct. */

/* Cross-entropy of softmax(logits) against labels in [0, K): per sample
 * logsumexp(z) - z[label], computed stably (max subtracted); gradient
 * softmax(z) - onehot(label). Correct = the first maximal logit is the label. */
double gb_loss_ce(const float *logits, const int64_t *labels, int64_t B, int64_t K, float *grad, float scale,
                  int64_t *correct);
/* Squared error: per sample sum_k (y - t)^2 / K (so the batch mean equals
 * PyTorch's MSELoss), gradient 2 (y - t) / K. Correct = every |y - t| < 0.5
 * (exact after rounding when targets are integers, e.g. 0/1 bits). */
double gb_loss_mse(const float *out, const float *target, int64_t B, int64_t K, float *grad, float scale,
                   int64_t *correct);

/* ---- optimisers (optim.c) ---------------------------------------------------- */

typedef struct gb_optim gb_optim;

/* State for n parameter tensors of sizes[i] elements (zeroed moments). */
gb_status gb_optim_new(const gb_train_config *c, int n, const int64_t *sizes, gb_optim **out, gb_error *err);
void gb_optim_free(gb_optim *o);
/* One update of every parameter w[i] from its gradient g[i] (NULL = zero).
 * SGD (PyTorch, dampening 0): g += wd*w; v = momentum*v + g (v = g on the
 * first step); w -= lr*v. Adam (PyTorch): g += wd*w; m = b1*m + (1-b1)*g;
 * v = b2*v + (1-b2)*g^2; w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps). */
void gb_optim_step(gb_optim *o, float *const *w, const float *const *g);

/* ---- regularisers (regularize.c) --------------------------------------------- */

typedef struct gb_reg gb_reg;

/* Finds the model's dense (Gemm) and conv layers and checks that the
 * configured penalties apply (e.g. --modular needs two consecutive hidden
 * layers, K no larger than a layer): GB_STATUS_USAGE otherwise. */
gb_status gb_reg_new(const gb_model *m, const gb_train_config *c, gb_reg **out, gb_error *err);
void gb_reg_free(gb_reg *r);
/* True when some weight penalty (l1, group lasso, modular) is on. */
int gb_reg_active(const gb_reg *r);
/* Adds the penalties' (sub)gradients to grads, indexed like the model's
 * initializers (gb_model_param order); entries may be NULL for tensors no
 * penalty touches. Returns the penalty's value. */
double gb_reg_apply(const gb_reg *r, const gb_model *m, float *const *grads);

/* Measures, over the weights of dense and conv layers (biases excluded). */
/* Fraction of weights with |w| <= tol. */
double gb_reg_sparsity(const gb_model *m, double tol);
/* Share of the absolute weight mass that connects units of different
 * groups, over the weights the modular penalty with K groups (and io as
 * modular_io) acts on; -1 when it acts on none. */
double gb_reg_cross_group(const gb_model *m, int k, int io);

/* ---- the training loop (trainer.c) -------------------------------------------- */

/* A data set: x float32 [N, sample...]; y class labels [N] (int64, int32 or
 * uint8) or float32 targets [N, ...]. label names it in messages. */
typedef struct gb_train_data {
	const gb_tensor *x;
	const gb_tensor *y;
	const char *label;
} gb_train_data;

typedef struct gb_train_epoch {
	int epoch; /* 1-based */
	double train_loss, train_acc; /* running means over the epoch (parameters moving) */
	double test_loss, test_acc;   /* after the epoch; NaN without a test set */
	double seconds;               /* wall time of the epoch, evaluation included */
} gb_train_epoch;

typedef struct gb_train_progress {
	int epoch, epochs;     /* epoch is 1-based */
	int64_t step, steps;   /* steps done in this epoch, steps per epoch */
	int64_t samples_done;  /* over the whole run */
	int64_t samples_total; /* epochs * N */
	double loss, acc;      /* running means over this epoch */
	double seconds;        /* since training began */
	const gb_train_epoch *finished; /* set at the end of an epoch (after evaluation) */
} gb_train_progress;

/* Called after every step and once more at the end of every epoch. */
typedef void (*gb_train_progress_fn)(void *ctx, const gb_train_progress *p);

/* Trains m in place. m's input 0 takes x; every further input is a dropout
 * mask (filled with 0 or 1/(1-p) per element while training, 1 when
 * evaluating); output 0 is the prediction and every further output a hidden
 * activation penalised by l1_act. Mini-batches of c->batch samples (the last
 * one may be smaller) in an order shuffled every epoch from c->seed.
 *
 * Checks before training (nothing is changed on failure): the data (shapes,
 * dtypes, NaN or infinity in x or float targets, labels out of range for the
 * output's width) → GB_STATUS_BAD_FILE naming data->label and the problem;
 * the config → GB_STATUS_USAGE. test may be NULL; hist (c->epochs entries)
 * may be NULL; progress may be NULL.
 *
 * The same model, data, config and OpenBLAS thread count give the same
 * weights, bit for bit. */
gb_status gb_train_model(gb_model *m, const gb_train_data *train, const gb_train_data *test,
                         const gb_train_config *c, gb_train_epoch *hist, gb_train_progress_fn progress, void *ctx,
                         gb_error *err);

/* Evaluates m (masks at 1) on data: mean loss and accuracy. */
gb_status gb_train_evaluate(const gb_model *m, const gb_train_data *data, gb_loss_kind loss, double *mean_loss,
                            double *acc, gb_error *err);

/* The whole recipe: parses spec, builds the training graph for data's
 * sample shape, trains it and returns the inference graph (no dropout, no
 * extra outputs) holding the trained weights; the caller owns *out. A spec
 * that does not parse: GB_STATUS_USAGE; other errors as gb_train_model. */
gb_status gb_train_spec(const char *spec, const gb_train_data *train, const gb_train_data *test,
                        const gb_train_config *c, gb_train_epoch *hist, gb_train_progress_fn progress, void *ctx,
                        gb_model **out, gb_error *err);

/* ---- log and plot (log.c) ------------------------------------------------------ */

/* CSV: a header "epoch,train_loss,train_acc,test_loss,test_acc,seconds" and
 * one row per epoch (test columns empty without a test set). Atomic. */
gb_status gb_train_log_csv(const char *path, const gb_train_epoch *hist, int n, gb_error *err);
/* SVG: two panels, loss and accuracy against epoch, train and test curves.
 * title is printed above (may be NULL). Atomic. */
gb_status gb_train_plot_svg(const char *path, const gb_train_epoch *hist, int n, const char *title,
                            gb_error *err);

#endif /* GB_TRAIN_H */
