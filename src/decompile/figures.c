/*
 * figures.c — what the first-layer units of an image model look at
 * (decompile.h, gb_dc_unit_figures): each unit's input weights drawn as a
 * PNG of the image's shape, positive weights red, negative blue, zero
 * white, scaled by the unit's largest |weight|. PNG encoding is stb's
 * (stb_image_write, Debian's libstb).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image_write.h>

#include "decompile.h"

/* The input as an image: H x W (one channel), or false. */
static bool image_shape(const gb_pwl *p, int64_t *h, int64_t *w)
{
	if (p->n_inputs != 1)
		return false;
	const gb_pwl_io *io = &p->inputs[0];
	if (io->ndim == 2 || (io->ndim == 3 && io->dims[0] == 1)) {
		*h = io->dims[io->ndim - 2];
		*w = io->dims[io->ndim - 1];
		return true;
	}
	int64_t s = (int64_t)llround(sqrt((double)p->n_in));
	if (io->ndim == 1 && s >= 4 && s * s == p->n_in) {
		*h = *w = s;
		return true;
	}
	return false;
}

gb_status gb_dc_unit_figures(const gb_pwl *p, const char *dir, int64_t **units, int64_t *n_units, gb_error *err)
{
	*units = NULL;
	*n_units = 0;
	int64_t h, w;
	if (!image_shape(p, &h, &w))
		return GB_OK;
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) /* the folder itself, as -o makes its file */
		return gb_fail(err, GB_STATUS_IO, "%s: cannot make the figures folder: %s", dir, strerror(errno));
	int *depth = malloc((size_t)(p->n_units + 1) * sizeof *depth);
	unsigned char *rgb = malloc((size_t)(h * w * 3));
	int64_t *list = malloc((size_t)(p->n_units + 1) * sizeof *list);
	gb_status st = GB_OK;
	if (!depth || !rgb || !list) {
		st = gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
		goto done;
	}
	gb_pwl_depths(p, depth);
	int64_t k = 0;
	for (int64_t u = 0; u < p->n_units; u++) {
		if (depth[u] != 1)
			continue;
		const gb_row *r = &p->units[u];
		double big = 0;
		for (int t = 0; t < r->n; t++)
			big = fmax(big, fabs(r->w[t]));
		memset(rgb, 255, (size_t)(h * w * 3));
		for (int t = 0; t < r->n && big > 0; t++) {
			double v = r->w[t] / big; /* in [-1, 1] */
			unsigned char fade = (unsigned char)lround(255.0 * (1.0 - fabs(v)));
			unsigned char *px = rgb + 3 * r->idx[t];
			px[0] = v > 0 ? 255 : fade; /* red for +, blue for -, white for 0 */
			px[1] = fade;
			px[2] = v < 0 ? 255 : fade;
		}
		char path[4096];
		snprintf(path, sizeof path, "%s/unit%03lld.png", dir, (long long)k);
		/* stb writes the file directly; a temporary name then a rename keeps it atomic */
		char tmp[4200];
		snprintf(tmp, sizeof tmp, "%s.tmp", path);
		if (!stbi_write_png(tmp, (int)w, (int)h, 3, rgb, (int)(w * 3)) || rename(tmp, path) != 0) {
			remove(tmp);
			st = gb_fail(err, GB_STATUS_IO, "%s: cannot write the figure", path);
			goto done;
		}
		list[k++] = u;
	}
	*units = list;
	*n_units = k;
	list = NULL;
done:
	free(depth);
	free(rgb);
	free(list);
	return st;
}

gb_status gb_dc_top_examples(const gb_pwl *p, const gb_tensor *data, const int64_t *units, int64_t n_units, int k,
                             int64_t **top, gb_error *err)
{
	int64_t n = data->ndim > 0 ? data->dims[0] : 0;
	*top = malloc((size_t)(n_units * k + 1) * sizeof **top);
	double *best = malloc((size_t)(k + 1) * sizeof *best);
	if (!*top || !best) {
		free(*top);
		free(best);
		*top = NULL;
		return gb_fail(err, GB_STATUS_NOMEM, "decompile: out of memory");
	}
	const float *x = data->data;
	for (int64_t i = 0; i < n_units; i++) {
		const gb_row *r = &p->units[units[i]];
		int64_t *t = *top + i * k;
		for (int q = 0; q < k; q++) {
			t[q] = -1;
			best[q] = -INFINITY;
		}
		for (int64_t e = 0; e < n; e++) {
			double z = r->b;
			for (int j = 0; j < r->n; j++)
				z += r->w[j] * x[e * p->n_in + r->idx[j]];
			if (!(z > best[k - 1]))
				continue;
			int q = k - 1; /* insertion into the sorted top k */
			for (; q > 0 && z > best[q - 1]; q--) {
				best[q] = best[q - 1];
				t[q] = t[q - 1];
			}
			best[q] = z;
			t[q] = e;
		}
	}
	free(best);
	return GB_OK;
}
