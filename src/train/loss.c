/*
 * loss.c — the losses the trainer differentiates itself: cross-entropy on
 * logits (softmax and negative log-likelihood fused, computed stably) and
 * mean squared error. Everything past the network's output is here; every
 * gradient before it comes from the executor's backward pass.
 */
#include <math.h>

#include "train.h"

double gb_loss_ce(const float *logits, const int64_t *labels, int64_t B, int64_t K, float *grad, float scale,
                  int64_t *correct)
{
	double total = 0.0;
	for (int64_t b = 0; b < B; b++) {
		const float *z = logits + b * K; /* (K) */
		int64_t best = 0;
		for (int64_t k = 1; k < K; k++)
			if (z[k] > z[best])
				best = k;
		double zmax = z[best];
		/* log sum exp(z - zmax) >= 0 because the max term is exp(0) = 1 */
		double sum = 0.0;
		for (int64_t k = 0; k < K; k++)
			sum += exp((double)z[k] - zmax);
		double lse = zmax + log(sum);
		int64_t y = labels[b];
		total += lse - (double)z[y];
		*correct += best == y;
		if (grad) {
			float *g = grad + b * K; /* (K) */
			for (int64_t k = 0; k < K; k++)
				g[k] = (float)(exp((double)z[k] - lse) - (k == y ? 1.0 : 0.0)) * scale;
		}
	}
	return total;
}

double gb_loss_mse(const float *out, const float *target, int64_t B, int64_t K, float *grad, float scale,
                   int64_t *correct)
{
	double total = 0.0;
	for (int64_t b = 0; b < B; b++) {
		const float *y = out + b * K, *t = target + b * K; /* (K) */
		double sq = 0.0;
		int ok = 1;
		for (int64_t k = 0; k < K; k++) {
			double d = (double)y[k] - (double)t[k];
			sq += d * d;
			ok &= fabs(d) < 0.5;
			if (grad)
				grad[b * K + k] = (float)(2.0 * d / (double)K) * scale;
		}
		total += sq / (double)K;
		*correct += ok;
	}
	return total;
}
