/*
 * trainer.c — the training loop: mini-batches in a per-epoch shuffled
 * order, forward and backward through one reused session, the loss and its
 * gradient at the output (loss.c), penalties (regularize.c), the optimiser
 * step (optim.c) on the model's own weights, and evaluation on a test set.
 *
 * Per step nothing is allocated here: the batch, label, mask and cotangent
 * buffers are sized once for the largest batch, and tensors handed to the
 * session are views over them whose batch dimension is set per step. The
 * session's arenas are reset per pass, so a steady state allocates only the
 * input copies gb_session_set_input makes.
 *
 * L1 on activations: the training graph exposes every hidden activation h as
 * an extra output; backward is seeded there with d(penalty)/dh =
 * lambda * sign(h) / B, so the penalty's gradient flows through the same
 * checked backward pass as the loss's.
 *
 * Dropout: the training graph multiplies each hidden activation by a mask
 * input; the trainer fills it with 0 (probability p) or 1/(1-p) ("inverted"
 * dropout, as PyTorch), and with 1 when evaluating.
 *
 * Determinism: shuffling, masks and initialisation draw from separate
 * streams of the seeded generator (train.h); nothing depends on time or
 * addresses, so the same inputs and OpenBLAS thread count give the same
 * weights bit for bit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../exec/ops.h"
#include "train.h"

#define EVAL_BATCH 256

void gb_train_config_default(gb_train_config *c)
{
	memset(c, 0, sizeof *c);
	c->epochs = 10;
	c->batch = 64;
	c->optim = GB_OPTIM_ADAM;
	c->lr = 1e-3;
	c->momentum = 0.9;
	c->beta1 = 0.9;
	c->beta2 = 0.999;
	c->eps = 1e-8;
	c->seed = 1;
	c->loss = GB_LOSS_CE;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- checks -------------------------------------------------------------------- */

static int finite_or_zero(double v)
{
	return isfinite(v) && v >= 0.0;
}

static gb_status check_config(const gb_train_config *c, gb_error *err)
{
	if (c->epochs < 0)
		return gb_fail(err, GB_STATUS_USAGE, "epochs must be 0 or more, not %d", c->epochs);
	if (c->batch < 1)
		return gb_fail(err, GB_STATUS_USAGE, "batch size must be at least 1, not %lld", (long long)c->batch);
	if (!(isfinite(c->lr) && c->lr > 0.0))
		return gb_fail(err, GB_STATUS_USAGE, "learning rate must be a positive number, not %g", c->lr);
	if (!(c->momentum >= 0.0 && c->momentum < 1.0))
		return gb_fail(err, GB_STATUS_USAGE, "momentum must be in [0, 1), not %g", c->momentum);
	if (!(c->beta1 >= 0.0 && c->beta1 < 1.0 && c->beta2 >= 0.0 && c->beta2 < 1.0 && c->eps > 0.0))
		return gb_fail(err, GB_STATUS_USAGE, "Adam needs betas in [0, 1) and eps > 0");
	if (c->optim != GB_OPTIM_SGD && c->optim != GB_OPTIM_ADAM)
		return gb_fail(err, GB_STATUS_USAGE, "unknown optimiser %d", (int)c->optim);
	if (c->loss != GB_LOSS_CE && c->loss != GB_LOSS_MSE)
		return gb_fail(err, GB_STATUS_USAGE, "unknown loss %d", (int)c->loss);
	if (!finite_or_zero(c->weight_decay) || !finite_or_zero(c->l1) || !finite_or_zero(c->l1_act) ||
	    !finite_or_zero(c->group_lasso) || !finite_or_zero(c->modular))
		return gb_fail(err, GB_STATUS_USAGE, "weight decay and penalty strengths must be numbers >= 0");
	if (!(c->dropout >= 0.0 && c->dropout < 1.0))
		return gb_fail(err, GB_STATUS_USAGE, "dropout probability must be in [0, 1), not %g", c->dropout);
	return GB_OK;
}

static const char *label_of(const gb_train_data *d)
{
	return d->label ? d->label : "data";
}

/* x float32 [N, sample...] without NaN or infinity; y with N rows. */
static gb_status check_data(const gb_train_data *d, gb_error *err)
{
	const char *name = label_of(d);
	const gb_tensor *x = d->x, *y = d->y;
	if (!x || !y)
		return gb_fail(err, GB_STATUS_USAGE, "%s: needs both inputs (x) and labels or targets (y)", name);
	if (x->dtype != GB_DTYPE_F32)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: inputs x must be float32, not %s", name,
		               gb_dtype_name(x->dtype));
	if (x->ndim < 2)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: inputs x must be [N, ...] with at least 2 axes, not %d", name,
		               x->ndim);
	if (x->dims[0] < 1)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: holds no samples", name);
	if (y->ndim < 1 || y->dims[0] != x->dims[0])
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: x has %lld samples but y has %lld rows", name,
		               (long long)x->dims[0], (long long)(y->ndim < 1 ? 0 : y->dims[0]));
	const float *xd = x->data;
	int64_t n = gb_tensor_numel(x), per = n / x->dims[0];
	for (int64_t i = 0; i < n; i++)
		if (!isfinite(xd[i]))
			return gb_fail(err, GB_STATUS_BAD_FILE, "%s: x holds %s at sample %lld (value %lld of the sample)", name,
			               isnan(xd[i]) ? "NaN" : "infinity", (long long)(i / per), (long long)(i % per));
	return GB_OK;
}

static int label_at(const gb_tensor *y, int64_t i, int64_t *out)
{
	switch (y->dtype) {
	case GB_DTYPE_I64: *out = ((const int64_t *)y->data)[i]; return 1;
	case GB_DTYPE_I32: *out = ((const int32_t *)y->data)[i]; return 1;
	case GB_DTYPE_U8: *out = ((const uint8_t *)y->data)[i]; return 1;
	default: return 0;
	}
}

/* Turns y into int64 labels (CE) or float targets (MSE) for an output of k
 * values per sample; caller frees the buffer set. */
static gb_status prepare_targets(const gb_train_data *d, gb_loss_kind loss, int64_t k, int64_t **labels,
                                 float **targets, gb_error *err)
{
	*labels = NULL;
	*targets = NULL;
	const char *name = label_of(d);
	const gb_tensor *y = d->y;
	int64_t n = y->dims[0], dummy;
	int integer = label_at(y, 0, &dummy);
	if (!integer && y->dtype != GB_DTYPE_F32)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: y must hold int64, int32 or uint8 labels or float32 targets, not %s",
		               name, gb_dtype_name(y->dtype));
	if (loss == GB_LOSS_CE && !integer)
		return gb_fail(err, GB_STATUS_BAD_FILE,
		               "%s: cross-entropy needs integer class labels, y is float32 (use the mse loss for float targets)",
		               name);
	if (integer) {
		if (y->ndim != 1 && !(y->ndim == 2 && y->dims[1] == 1))
			return gb_fail(err, GB_STATUS_BAD_FILE, "%s: class labels y must be [N], got %d axes", name, y->ndim);
		int64_t *lab = malloc((size_t)n * sizeof *lab);
		if (!lab)
			return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory for labels", name);
		for (int64_t i = 0; i < n; i++) {
			label_at(y, i, &lab[i]);
			if (lab[i] < 0 || lab[i] >= k) {
				long long bad = (long long)lab[i];
				free(lab);
				return gb_fail(err, GB_STATUS_BAD_FILE,
				               "%s: label %lld of sample %lld is out of range: the network has %lld outputs "
				               "(classes 0 to %lld)",
				               name, bad, (long long)i, (long long)k, (long long)(k - 1));
			}
		}
		if (loss == GB_LOSS_CE) {
			*labels = lab;
			return GB_OK;
		}
		/* MSE on class labels: one-hot targets. */
		size_t bytes;
		float *t = gb_mul_size((size_t)n, (size_t)k * sizeof *t, &bytes) ? calloc(1, bytes ? bytes : 1) : NULL;
		if (!t) {
			free(lab);
			return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory for one-hot targets", name);
		}
		for (int64_t i = 0; i < n; i++)
			t[i * k + lab[i]] = 1.0f;
		free(lab);
		*targets = t;
		return GB_OK;
	}
	int64_t per = gb_tensor_numel(y) / n;
	if (per != k) {
		char shape[128];
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: targets y have %lld values per sample (shape %s), the network outputs %lld",
		               name, (long long)per, gb_shape_str(y->ndim, y->dims, shape, sizeof shape), (long long)k);
	}
	const float *yd = y->data;
	for (int64_t i = 0; i < n * k; i++)
		if (!isfinite(yd[i]))
			return gb_fail(err, GB_STATUS_BAD_FILE, "%s: targets y hold %s at sample %lld", name,
			               isnan(yd[i]) ? "NaN" : "infinity", (long long)(i / k));
	float *t = malloc((size_t)(n * k) * sizeof *t);
	if (!t)
		return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory for targets", name);
	memcpy(t, yd, (size_t)(n * k) * sizeof *t);
	*targets = t;
	return GB_OK;
}

/* ---- the trainer's state ------------------------------------------------------- */

typedef struct trainer {
	gb_model *m;
	const gb_train_config *c;
	gb_session *s;
	int64_t max_b;          /* largest batch any buffer holds */
	int64_t sample_numel;   /* values per input sample */
	int64_t out_k;          /* values per output sample */
	gb_tensor xb;           /* view: [b, sample...] over xbuf */
	float *xbuf;            /* (max_b, sample_numel) */
	int64_t *lbuf;          /* (max_b) labels, CE */
	float *tbuf;            /* (max_b, out_k) targets, MSE */
	float *gbuf;            /* (max_b, out_k) d(loss)/d(output) */
	int n_masks;
	gb_tensor *masks;       /* (n_masks) views over maskbuf */
	float **maskbuf;        /* (n_masks) each (max_b, mask_numel) */
	int64_t *mask_numel;
	int mask_state;         /* what maskbuf holds: 0 unknown, 1 all ones */
	int n_outs;
	gb_tensor *cot;         /* (n_outs) cotangent views: 0 over gbuf, k over actbuf[k] */
	const gb_tensor **seeds;/* (n_outs) pointers into cot, NULL when not seeded */
	float **actbuf;         /* (n_outs) [0] unused */
	int n_params;
	const char **pnames;    /* (n_params) float initializer names */
	float **pw;             /* (n_params) weight data (the model's) */
	int64_t *psize;
	float **pg;             /* (n_params) gradients handed to the optimiser */
	float **pgcopy;         /* (n_params) writable copies when penalties are on */
	unsigned char **pzero;  /* (n_params) keep_zeros: 1 where the weight started at zero */
	gb_optim *opt;
	gb_reg *reg;
	gb_rng shuffle_rng, mask_rng;
} trainer;

static void trainer_free(trainer *t)
{
	gb_session_free(t->s);
	free(t->xbuf);
	free(t->lbuf);
	free(t->tbuf);
	free(t->gbuf);
	for (int i = 0; t->maskbuf && i < t->n_masks; i++)
		free(t->maskbuf[i]);
	free(t->maskbuf);
	free(t->masks);
	free(t->mask_numel);
	for (int i = 0; t->actbuf && i < t->n_outs; i++)
		free(t->actbuf[i]);
	free(t->actbuf);
	free(t->cot);
	free(t->seeds);
	free(t->pnames);
	free(t->pw);
	free(t->psize);
	free(t->pg);
	for (int i = 0; t->pgcopy && i < t->n_params; i++)
		free(t->pgcopy[i]);
	free(t->pgcopy);
	for (int i = 0; t->pzero && i < t->n_params; i++)
		free(t->pzero[i]);
	free(t->pzero);
	gb_optim_free(t->opt);
	gb_reg_free(t->reg);
	memset(t, 0, sizeof *t);
}

static void *alloc_floats(int64_t rows, int64_t cols)
{
	size_t bytes;
	if (rows < 0 || cols < 0 || !gb_mul_size((size_t)rows, (size_t)cols, &bytes) ||
	    !gb_mul_size(bytes, sizeof(float), &bytes))
		return NULL;
	return malloc(bytes ? bytes : 1);
}

static void fill(float *p, int64_t n, float v)
{
	for (int64_t i = 0; i < n; i++)
		p[i] = v;
}

/* Copies the samples idx[0..b) of d into the batch buffers and sets the
 * session's inputs. */
static gb_status load_batch(trainer *t, const gb_train_data *d, const int64_t *labels, const float *targets,
                            const int64_t *idx, int64_t first, int64_t b, int train_masks, gb_error *err)
{
	const float *x = d->x->data;
	const int64_t per = t->sample_numel, k = t->out_k;
	for (int64_t i = 0; i < b; i++) {
		int64_t row = idx ? idx[first + i] : first + i;
		memcpy(t->xbuf + i * per, x + row * per, (size_t)per * sizeof(float));
		if (labels)
			t->lbuf[i] = labels[row];
		if (targets)
			memcpy(t->tbuf + i * k, targets + row * k, (size_t)k * sizeof(float));
	}
	t->xb.dims[0] = b;
	gb_status st = gb_session_set_input(t->s, 0, &t->xb, err);
	if (st != GB_OK)
		return st;
	const double p = t->c->dropout;
	const float keep = (float)(1.0 / (1.0 - p));
	for (int i = 0; i < t->n_masks; i++) {
		int64_t n = b * t->mask_numel[i];
		float *mb = t->maskbuf[i];
		if (train_masks && p > 0.0) {
			for (int64_t j = 0; j < n; j++)
				mb[j] = gb_rng_uniform(&t->mask_rng) < p ? 0.0f : keep;
		} else if (t->mask_state != 1) {
			fill(mb, t->max_b * t->mask_numel[i], 1.0f);
		}
		t->masks[i].dims[0] = b;
		if ((st = gb_session_set_input(t->s, i + 1, &t->masks[i], err)) != GB_OK)
			return st;
	}
	t->mask_state = train_masks && p > 0.0 ? 0 : 1;
	return GB_OK;
}

/* The loss of the current forward pass over b samples (sum, not mean);
 * with grad, d(mean loss)/d(output) goes into gbuf. */
static gb_status batch_loss(trainer *t, int64_t b, int grad, double *loss, int64_t *correct, gb_error *err)
{
	const gb_tensor *y = gb_session_output(t->s, 0);
	if (!y || y->dtype != GB_DTYPE_F32 || y->ndim < 1 || y->dims[0] != b || gb_tensor_numel(y) != b * t->out_k)
		return gb_fail(err, GB_STATUS_FAILURE, "%s: the output's shape changed with the batch size", t->m->label);
	float *g = grad ? t->gbuf : NULL;
	float scale = 1.0f / (float)b;
	if (t->c->loss == GB_LOSS_CE)
		*loss = gb_loss_ce(y->data, t->lbuf, b, t->out_k, g, scale, correct);
	else
		*loss = gb_loss_mse(y->data, t->tbuf, b, t->out_k, g, scale, correct);
	return GB_OK;
}

/* Sets up the session and buffers for m on data shaped like d. */
static gb_status trainer_init(trainer *t, gb_model *m, const gb_train_data *d, const gb_train_config *c,
                              int64_t max_b, int training, gb_error *err)
{
	memset(t, 0, sizeof *t);
	t->m = m;
	t->c = c;
	t->max_b = max_b;
	const char *name = label_of(d);
	gb_status st;
	if (m->n_inputs < 1 || m->n_outputs < 1)
		return gb_fail(err, GB_STATUS_USAGE, "%s: a trainable model needs an input and an output", m->label);
	/* The data's samples must fit input 0. */
	const gb_value *in = &m->values[m->inputs[0]];
	int fits = in->dtype == GB_DTYPE_F32 && (in->ndim < 0 || in->ndim == d->x->ndim);
	for (int i = 1; fits && in->ndim > 0 && i < in->ndim; i++)
		fits = in->dims[i] < 0 || in->dims[i] == d->x->dims[i];
	if (!fits) {
		char want[128], got[128];
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: samples have shape %s, the network takes %s", name,
		               gb_shape_str(d->x->ndim - 1, d->x->dims + 1, got, sizeof got),
		               in->ndim > 0 ? gb_shape_str(in->ndim - 1, in->dims + 1, want, sizeof want) : "?");
	}
	t->sample_numel = gb_tensor_numel(d->x) / d->x->dims[0];
	t->xbuf = alloc_floats(max_b, t->sample_numel);
	t->lbuf = malloc((size_t)max_b * sizeof *t->lbuf);
	if (!t->xbuf || !t->lbuf)
		goto nomem;
	t->xb = *d->x;
	t->xb.data = t->xbuf;

	/* Masks: inputs 1.. with static per-sample shapes. */
	t->n_masks = m->n_inputs - 1;
	t->masks = calloc((size_t)(t->n_masks + 1), sizeof *t->masks);
	t->maskbuf = calloc((size_t)(t->n_masks + 1), sizeof *t->maskbuf);
	t->mask_numel = calloc((size_t)(t->n_masks + 1), sizeof *t->mask_numel);
	if (!t->masks || !t->maskbuf || !t->mask_numel)
		goto nomem;
	for (int i = 0; i < t->n_masks; i++) {
		const gb_value *v = &m->values[m->inputs[i + 1]];
		int64_t per = 1;
		int ok = v->dtype == GB_DTYPE_F32 && v->ndim >= 1;
		for (int dd = 1; ok && dd < v->ndim; dd++)
			ok = v->dims[dd] >= 0 && gb_mul_i64(per, v->dims[dd], &per);
		if (!ok)
			return gb_fail(err, GB_STATUS_USAGE,
			               "%s: input '%s' is taken for a dropout mask but has no static float32 shape", m->label,
			               v->name);
		t->mask_numel[i] = per;
		t->masks[i].dtype = GB_DTYPE_F32;
		t->masks[i].ndim = v->ndim;
		t->masks[i].dims[0] = max_b;
		for (int dd = 1; dd < v->ndim; dd++)
			t->masks[i].dims[dd] = v->dims[dd];
		if (!(t->maskbuf[i] = alloc_floats(max_b, per)))
			goto nomem;
		t->masks[i].data = t->maskbuf[i];
	}

	if ((st = gb_session_new(m, &t->s, err)) != GB_OK)
		return st;
	if (training)
		gb_session_want_input_grads(t->s, 0);

	/* A forward pass on the first samples gives the output's width and the
	 * activations' shapes. */
	int64_t b0 = d->x->dims[0] < max_b ? d->x->dims[0] : max_b;
	if ((st = load_batch(t, d, NULL, NULL, NULL, 0, b0, 0, err)) != GB_OK ||
	    (st = gb_session_forward(t->s, err)) != GB_OK) {
		gb_error_prefix(err, name);
		return st;
	}
	const gb_tensor *y = gb_session_output(t->s, 0);
	if (y->dtype != GB_DTYPE_F32 || y->ndim < 1 || y->dims[0] != b0)
		return gb_fail(err, GB_STATUS_USAGE, "%s: output 0 must be float32 [N, ...], it is %s with %d axes", m->label,
		               gb_dtype_name(y->dtype), y->ndim);
	t->out_k = gb_tensor_numel(y) / b0;
	if (c->loss == GB_LOSS_CE && y->ndim != 2)
		return gb_fail(err, GB_STATUS_USAGE,
		               "%s: cross-entropy needs an output of class scores [N, classes]; this network's has %d axes",
		               m->label, y->ndim);
	t->tbuf = alloc_floats(max_b, t->out_k);
	t->gbuf = alloc_floats(max_b, t->out_k);
	t->n_outs = m->n_outputs;
	t->cot = calloc((size_t)t->n_outs, sizeof *t->cot);
	t->seeds = calloc((size_t)t->n_outs, sizeof *t->seeds);
	t->actbuf = calloc((size_t)t->n_outs, sizeof *t->actbuf);
	if (!t->tbuf || !t->gbuf || !t->cot || !t->seeds || !t->actbuf)
		goto nomem;
	t->cot[0] = *y;
	t->cot[0].data = t->gbuf;
	t->seeds[0] = &t->cot[0];
	for (int k = 1; k < t->n_outs; k++) {
		const gb_tensor *h = gb_session_output(t->s, k);
		if (h->dtype != GB_DTYPE_F32 || h->ndim < 1 || h->dims[0] != b0)
			return gb_fail(err, GB_STATUS_USAGE, "%s: output %d is taken for a hidden activation but is not float32 [N, ...]",
			               m->label, k);
		t->cot[k] = *h;
		if (c->l1_act > 0.0 && training) {
			if (!(t->actbuf[k] = alloc_floats(max_b, gb_tensor_numel(h) / b0)))
				goto nomem;
			t->cot[k].data = t->actbuf[k];
			t->seeds[k] = &t->cot[k];
		}
	}
	if (!training)
		return GB_OK;

	/* Parameters: every float32 initializer. */
	t->n_params = m->n_params;
	int np = t->n_params ? t->n_params : 1;
	t->pnames = calloc((size_t)np, sizeof *t->pnames);
	t->pw = calloc((size_t)np, sizeof *t->pw);
	t->psize = calloc((size_t)np, sizeof *t->psize);
	t->pg = calloc((size_t)np, sizeof *t->pg);
	t->pgcopy = calloc((size_t)np, sizeof *t->pgcopy);
	if (!t->pnames || !t->pw || !t->psize || !t->pg || !t->pgcopy)
		goto nomem;
	for (int i = 0; i < t->n_params; i++) {
		const gb_value *v = &m->values[m->params[i]];
		t->pnames[i] = v->name;
		if (v->init->dtype != GB_DTYPE_F32)
			continue; /* shapes, indices: not trained (psize 0, pw NULL) */
		t->pw[i] = v->init->data;
		t->psize[i] = gb_tensor_numel(v->init);
	}
	if ((st = gb_reg_new(m, c, &t->reg, err)) != GB_OK)
		return st;
	if (gb_reg_active(t->reg))
		for (int i = 0; i < t->n_params; i++)
			if (t->pw[i] && !(t->pgcopy[i] = alloc_floats(1, t->psize[i])))
				goto nomem;
	if (c->keep_zeros) { /* masked fine-tuning: pruned weights stay pruned */
		if (!(t->pzero = calloc((size_t)np, sizeof *t->pzero)))
			goto nomem;
		for (int i = 0; i < t->n_params; i++) {
			if (!t->pw[i])
				continue;
			if (!(t->pzero[i] = malloc((size_t)t->psize[i])))
				goto nomem;
			for (int64_t k = 0; k < t->psize[i]; k++)
				t->pzero[i][k] = t->pw[i][k] == 0.0f;
		}
	}
	if ((st = gb_optim_new(c, t->n_params, t->psize, &t->opt, err)) != GB_OK)
		return st;
	gb_rng_seed(&t->shuffle_rng, c->seed, 2);
	gb_rng_seed(&t->mask_rng, c->seed, 3);
	return GB_OK;
nomem:
	return gb_fail(err, GB_STATUS_NOMEM, "%s: out of memory for training buffers", m->label);
}

/* Mean loss and accuracy over a whole data set (masks at 1). */
static gb_status evaluate(trainer *t, const gb_train_data *d, const int64_t *labels, const float *targets,
                          double *mean_loss, double *acc, gb_error *err)
{
	int64_t n = d->x->dims[0], correct = 0;
	double total = 0.0;
	for (int64_t first = 0; first < n; first += t->max_b) {
		int64_t b = n - first < t->max_b ? n - first : t->max_b;
		double loss;
		gb_status st = load_batch(t, d, labels, targets, NULL, first, b, 0, err);
		if (st == GB_OK)
			st = gb_session_forward(t->s, err);
		if (st == GB_OK)
			st = batch_loss(t, b, 0, &loss, &correct, err);
		if (st != GB_OK)
			return st;
		total += loss;
	}
	*mean_loss = total / (double)n;
	*acc = (double)correct / (double)n;
	return GB_OK;
}

/* One optimisation step on the batch already loaded. */
static gb_status train_step(trainer *t, int64_t b, double *loss, int64_t *correct, gb_error *err)
{
	gb_status st = gb_session_forward(t->s, err);
	if (st != GB_OK)
		return st;
	if ((st = batch_loss(t, b, 1, loss, correct, err)) != GB_OK)
		return st;
	t->cot[0].dims[0] = b;
	/* L1 on activations: d/dh (lambda/B * sum |h|) = lambda/B * sign(h). */
	const float act_scale = (float)(t->c->l1_act / (double)b);
	for (int k = 1; k < t->n_outs; k++) {
		if (!t->seeds[k])
			continue;
		const gb_tensor *h = gb_session_output(t->s, k);
		const float *hd = h->data;
		float *g = t->actbuf[k];
		int64_t n = gb_tensor_numel(h);
		for (int64_t i = 0; i < n; i++)
			g[i] = act_scale * (float)((hd[i] > 0.0f) - (hd[i] < 0.0f));
		t->cot[k].dims[0] = b;
	}
	if ((st = gb_session_backward(t->s, t->seeds, err)) != GB_OK)
		return st;
	int reg = gb_reg_active(t->reg);
	for (int i = 0; i < t->n_params; i++) {
		t->pg[i] = NULL;
		if (!t->pw[i])
			continue;
		const gb_tensor *g = gb_session_grad(t->s, t->pnames[i]);
		if (reg) {
			if (g)
				memcpy(t->pgcopy[i], g->data, (size_t)t->psize[i] * sizeof(float));
			else
				fill(t->pgcopy[i], t->psize[i], 0.0f);
			t->pg[i] = t->pgcopy[i];
		} else {
			t->pg[i] = g ? g->data : NULL;
		}
	}
	if (reg)
		gb_reg_apply(t->reg, t->m, t->pg);
	gb_optim_step(t->opt, t->pw, (const float *const *)t->pg);
	for (int i = 0; t->pzero && i < t->n_params; i++)
		for (int64_t k = 0; t->pzero[i] && k < t->psize[i]; k++)
			if (t->pzero[i][k])
				t->pw[i][k] = 0.0f;
	return GB_OK;
}

gb_status gb_train_model(gb_model *m, const gb_train_data *train, const gb_train_data *test,
                         const gb_train_config *c, gb_train_epoch *hist, gb_train_progress_fn progress, void *ctx,
                         gb_error *err)
{
	trainer t = {0};
	int64_t *labels = NULL, *test_labels = NULL, *perm = NULL;
	float *targets = NULL, *test_targets = NULL;
	gb_status st;
	if ((st = check_config(c, err)) != GB_OK || (st = check_data(train, err)) != GB_OK ||
	    (test && (st = check_data(test, err)) != GB_OK))
		return st;
	if (test && (test->x->ndim != train->x->ndim ||
	             memcmp(test->x->dims + 1, train->x->dims + 1, (size_t)(train->x->ndim - 1) * sizeof(int64_t)))) {
		char a[128], b[128];
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: samples have shape %s, the training samples %s", label_of(test),
		               gb_shape_str(test->x->ndim - 1, test->x->dims + 1, a, sizeof a),
		               gb_shape_str(train->x->ndim - 1, train->x->dims + 1, b, sizeof b));
	}
	int64_t n = train->x->dims[0];
	int64_t max_b = c->batch > EVAL_BATCH ? c->batch : EVAL_BATCH;
	if ((st = trainer_init(&t, m, train, c, max_b, 1, err)) != GB_OK)
		goto done;
	if ((st = prepare_targets(train, c->loss, t.out_k, &labels, &targets, err)) != GB_OK ||
	    (test && (st = prepare_targets(test, c->loss, t.out_k, &test_labels, &test_targets, err)) != GB_OK))
		goto done;
	if (!(perm = malloc((size_t)n * sizeof *perm))) {
		st = gb_fail(err, GB_STATUS_NOMEM, "out of memory");
		goto done;
	}
	const int64_t steps = (n + c->batch - 1) / c->batch;
	const double start = now_seconds();
	gb_train_progress p = {.epochs = c->epochs, .steps = steps, .samples_total = (int64_t)c->epochs * n};
	for (int epoch = 1; epoch <= c->epochs; epoch++) {
		const double epoch_start = now_seconds();
		/* Fisher-Yates over the identity: a fresh permutation every epoch. */
		for (int64_t i = 0; i < n; i++)
			perm[i] = i;
		for (int64_t i = n - 1; i > 0; i--) {
			int64_t j = gb_rng_below(&t.shuffle_rng, i + 1), tmp = perm[i];
			perm[i] = perm[j];
			perm[j] = tmp;
		}
		double total = 0.0;
		int64_t correct = 0, seen = 0;
		p.epoch = epoch;
		p.finished = NULL;
		for (int64_t step = 0; step < steps; step++) {
			int64_t first = step * c->batch, b = n - first < c->batch ? n - first : c->batch;
			double loss;
			if ((st = load_batch(&t, train, labels, targets, perm, first, b, 1, err)) != GB_OK ||
			    (st = train_step(&t, b, &loss, &correct, err)) != GB_OK)
				goto done;
			if (!isfinite(loss)) {
				st = gb_fail(err, GB_STATUS_FAILURE,
				             "training diverged: the loss is %g at epoch %d, step %lld (try a smaller learning rate)",
				             loss, epoch, (long long)step + 1);
				goto done;
			}
			total += loss;
			seen += b;
			if (progress) {
				p.step = step + 1;
				p.samples_done += b;
				p.loss = total / (double)seen;
				p.acc = (double)correct / (double)seen;
				p.seconds = now_seconds() - start;
				progress(ctx, &p);
			}
		}
		gb_train_epoch e = {.epoch = epoch, .train_loss = total / (double)n, .train_acc = (double)correct / (double)n,
		                    .test_loss = NAN, .test_acc = NAN};
		if (test && (st = evaluate(&t, test, test_labels, test_targets, &e.test_loss, &e.test_acc, err)) != GB_OK)
			goto done;
		e.seconds = now_seconds() - epoch_start;
		if (hist)
			hist[epoch - 1] = e;
		if (progress) {
			p.seconds = now_seconds() - start;
			p.finished = &e;
			progress(ctx, &p);
		}
	}
	st = GB_OK;
done:
	trainer_free(&t);
	free(labels);
	free(targets);
	free(test_labels);
	free(test_targets);
	free(perm);
	return st;
}

gb_status gb_train_evaluate(const gb_model *m, const gb_train_data *data, gb_loss_kind loss, double *mean_loss,
                            double *acc, gb_error *err)
{
	gb_train_config c;
	gb_train_config_default(&c);
	c.loss = loss;
	trainer t = {0};
	int64_t *labels = NULL;
	float *targets = NULL;
	gb_status st = check_data(data, err);
	if (st == GB_OK)
		st = trainer_init(&t, (gb_model *)m, data, &c, EVAL_BATCH, 0, err);
	if (st == GB_OK)
		st = prepare_targets(data, loss, t.out_k, &labels, &targets, err);
	if (st == GB_OK)
		st = evaluate(&t, data, labels, targets, mean_loss, acc, err);
	trainer_free(&t);
	free(labels);
	free(targets);
	return st;
}

gb_status gb_train_spec(const char *spec, const gb_train_data *train, const gb_train_data *test,
                        const gb_train_config *c, gb_train_epoch *hist, gb_train_progress_fn progress, void *ctx,
                        gb_model **out, gb_error *err)
{
	*out = NULL;
	gb_arch a;
	gb_model *net = NULL, *plain = NULL;
	gb_status st;
	if ((st = gb_arch_parse(spec, &a, err)) != GB_OK || (st = check_config(c, err)) != GB_OK ||
	    (st = check_data(train, err)) != GB_OK)
		return st;
	gb_arch_options o = {.seed = c->seed, .dropout = c->dropout > 0.0, .act_outputs = c->l1_act > 0.0};
	if ((st = gb_arch_build(&a, train->x->ndim - 1, train->x->dims + 1, &o, &net, err)) != GB_OK) {
		if (st == GB_STATUS_BAD_FILE)
			gb_error_prefix(err, label_of(train));
		return st;
	}
	if ((st = gb_train_model(net, train, test, c, hist, progress, ctx, err)) != GB_OK)
		goto fail;
	if (!o.dropout && !o.act_outputs) {
		*out = net;
		return GB_OK;
	}
	gb_arch_options plain_options = {.seed = c->seed};
	if ((st = gb_arch_build(&a, train->x->ndim - 1, train->x->dims + 1, &plain_options, &plain, err)) != GB_OK ||
	    (st = gb_model_copy_params(plain, net, err)) != GB_OK)
		goto fail;
	gb_model_free(net);
	*out = plain;
	return GB_OK;
fail:
	gb_model_free(net);
	gb_model_free(plain);
	return st;
}
