/*
 * conv_find.h — recognising a convolution hidden in a dense layer
 * (library-internal).
 *
 * A conv2d (docs/language.md §10.6, dilation 1, groups 1) over an input
 * x f32[C, H, W] lowered to a dense layer has one row per output (o, i, j):
 * row (o, i, j) holds kernel[o] placed with its top-left corner at
 * (i*sh - ph, j*sw - pw), cut by the image border, and zeros elsewhere; its
 * bias is bias[o]. gb_conv_find undoes that: given the dense rows in any
 * order, it recovers the filters, the geometry and which row is which
 * output, and checks that the convolution reproduces every entry.
 *
 * How: the row with the largest support box is an uncut copy of one
 * filter; where its copies sit gives the candidate geometries (kernel size,
 * stride, padding and where the support lies inside the kernel), the
 * fewest parameters (filters x kernel size) first, then the smallest
 * kernel, padding and stride. For each
 * candidate, every output of that filter is predicted and looked up among
 * the rows (by support box, then content and bias); the largest row left
 * over starts the next filter (its place inside the kernel tried in turn),
 * until every row is used. The first candidate that explains every row
 * wins; the kernels are then the mean of all their copies and the whole
 * matrix is checked against the convolution.
 *
 * Limits (each gives false, never a wrong answer): every filter must have
 * an output position where its whole support (its nonzero part) lies
 * inside the image; the kernel is at most the image size per axis and the
 * padding smaller than the kernel; every filter is used at two or more
 * positions (a layer with one output per filter is an ordinary dense
 * layer); entries whose magnitude is near the tolerance may make copies
 * look different; the search is bounded (a few hundred thousand
 * geometries, 2e8 compared entries) and gives up past that. Of several
 * convolutions that give the same matrix (a kernel with zero border rows
 * can sometimes be written smaller), the first in the order above is
 * returned. Outputs with only part of the kernel visible are found when
 * the filter also has a whole copy somewhere; a kernel that never fits
 * whole may come back as more filters over fewer positions (still exact).
 */
#ifndef GB_DECOMPILE_CONV_FIND_H
#define GB_DECOMPILE_CONV_FIND_H

#include <stdbool.h>
#include <stdint.h>

typedef struct gb_conv_found {
	int64_t filters, channels;          /* O and C */
	int64_t kh, kw, stride_h, stride_w; /* dilation 1, groups 1 */
	int64_t pad_h, pad_w;               /* zeros on both sides of each axis */
	int64_t out_h, out_w;
	float *kernel;    /* (filters, C, kh, kw), malloc'ed */
	float *bias;      /* (filters), malloc'ed */
	int64_t *unit;    /* (filters, out_h, out_w): the row of W that computes output (o, i, j) */
	double max_error; /* largest |W - conv| over every entry of W and every bias */
} gb_conv_found;

/* W: rows x (C*H*Wd) row-major, a dense layer over the flattened input
 * [C, H, Wd]; b: its rows biases. Returns true and fills *out (caller frees
 * with gb_conv_found_free) when the layer is exactly a conv2d with some
 * stride and padding whose outputs are the rows in some order: every entry
 * within tol * max|W| of the convolution and every bias within
 * tol * max(max|W|, max|b|) of its filter's. Returns false otherwise
 * (also for all-zero rows, bad sizes, or when memory runs out), leaving
 * *out untouched. */
bool gb_conv_find(const double *W, const double *b, int64_t rows, int64_t C, int64_t H, int64_t Wd, double tol,
                  gb_conv_found *out);

/* Frees what gb_conv_find allocated and zeroes *f; accepts NULL. */
void gb_conv_found_free(gb_conv_found *f);

#endif /* GB_DECOMPILE_CONV_FIND_H */
