/*
 * optim.c — SGD with momentum and Adam, written to match PyTorch's
 * torch.optim.SGD (dampening 0, no Nesterov) and torch.optim.Adam
 * (amsgrad off) step for step. Weight decay is the L2 kind both apply: the
 * decay term is added to the gradient before the moments see it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "train.h"

struct gb_optim {
	gb_optim_kind kind;
	double lr, momentum, wd, beta1, beta2, eps;
	int64_t t;        /* steps taken */
	int n;
	int64_t *sizes;   /* (n) */
	float **m, **v;   /* (n) moment buffers: SGD uses m only */
	float *block;     /* one allocation behind all moment buffers */
};

gb_status gb_optim_new(const gb_train_config *c, int n, const int64_t *sizes, gb_optim **out, gb_error *err)
{
	*out = NULL;
	gb_optim *o = calloc(1, sizeof *o);
	if (!o)
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory for the optimiser");
	o->kind = c->optim;
	o->lr = c->lr;
	o->momentum = c->momentum;
	o->wd = c->weight_decay;
	o->beta1 = c->beta1;
	o->beta2 = c->beta2;
	o->eps = c->eps;
	o->n = n;
	int per = o->kind == GB_OPTIM_ADAM ? 2 : 1;
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		size_t bytes;
		if (sizes[i] < 0 || !gb_mul_size((size_t)sizes[i], sizeof(float) * (size_t)per, &bytes) ||
		    !gb_add_size(total, bytes, &total)) {
			free(o);
			return gb_fail(err, GB_STATUS_NOMEM, "optimiser state too large");
		}
	}
	o->sizes = malloc((size_t)(n ? n : 1) * sizeof *o->sizes);
	o->m = calloc((size_t)(n ? n : 1), sizeof *o->m);
	o->v = calloc((size_t)(n ? n : 1), sizeof *o->v);
	o->block = calloc(total ? total : 1, 1);
	if (!o->sizes || !o->m || !o->v || !o->block) {
		gb_optim_free(o);
		return gb_fail(err, GB_STATUS_NOMEM, "out of memory for the optimiser state (%zu bytes)", total);
	}
	float *p = o->block;
	for (int i = 0; i < n; i++) {
		o->sizes[i] = sizes[i];
		o->m[i] = p;
		p += sizes[i];
		if (per == 2) {
			o->v[i] = p;
			p += sizes[i];
		}
	}
	*out = o;
	return GB_OK;
}

void gb_optim_free(gb_optim *o)
{
	if (!o)
		return;
	free(o->sizes);
	free(o->m);
	free(o->v);
	free(o->block);
	free(o);
}

static void sgd_step(gb_optim *o, float *w, const float *g, float *buf, int64_t n)
{
	const float lr = (float)o->lr, mu = (float)o->momentum, wd = (float)o->wd;
	const int first = o->t == 1;
	for (int64_t i = 0; i < n; i++) {
		float d = (g ? g[i] : 0.0f) + wd * w[i];
		if (mu != 0.0f) {
			buf[i] = first ? d : mu * buf[i] + d;
			d = buf[i];
		}
		w[i] -= lr * d;
	}
}

static void adam_step(gb_optim *o, float *w, const float *g, float *m, float *v, int64_t n)
{
	/* 1 - beta in double then rounded, as PyTorch does (1.0f - 0.9f is not 0.1f) */
	const float b1 = (float)o->beta1, b2 = (float)o->beta2, wd = (float)o->wd, eps = (float)o->eps;
	const float c1 = (float)(1.0 - o->beta1), c2 = (float)(1.0 - o->beta2);
	/* PyTorch: step_size = lr / bc1; denom = sqrt(v) / sqrt(bc2) + eps */
	const double bc1 = 1.0 - pow(o->beta1, (double)o->t), bc2 = 1.0 - pow(o->beta2, (double)o->t);
	const float step = (float)(o->lr / bc1), bc2_sqrt = (float)sqrt(bc2);
	for (int64_t i = 0; i < n; i++) {
		float d = (g ? g[i] : 0.0f) + wd * w[i];
		m[i] = b1 * m[i] + c1 * d;
		v[i] = b2 * v[i] + c2 * d * d;
		w[i] -= step * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
	}
}

void gb_optim_step(gb_optim *o, float *const *w, const float *const *g)
{
	o->t++;
	for (int i = 0; i < o->n; i++) {
		if (o->kind == GB_OPTIM_ADAM)
			adam_step(o, w[i], g[i], o->m[i], o->v[i], o->sizes[i]);
		else
			sgd_step(o, w[i], g[i], o->m[i], o->sizes[i]);
	}
}
