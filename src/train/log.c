/*
 * log.c — the training log as CSV and the learning curves as a small
 * hand-written SVG (two panels: loss, accuracy; train solid, test dashed).
 * Both files are written atomically.
 */
#include <math.h>
#include <stdio.h>

#include "../core/core.h"
#include "train.h"

/* Prints a number for CSV, or nothing for NaN (no test set). */
static void csv_number(FILE *fp, double v)
{
	if (isfinite(v))
		fprintf(fp, "%.9g", v);
}

gb_status gb_train_log_csv(const char *path, const gb_train_epoch *hist, int n, gb_error *err)
{
	gb_atomic_file f;
	gb_status st = gb_atomic_open(&f, path, err);
	if (st != GB_OK)
		return st;
	fputs("epoch,train_loss,train_acc,test_loss,test_acc,seconds\n", f.fp);
	for (int i = 0; i < n; i++) {
		const gb_train_epoch *e = &hist[i];
		fprintf(f.fp, "%d,", e->epoch);
		csv_number(f.fp, e->train_loss);
		fputc(',', f.fp);
		csv_number(f.fp, e->train_acc);
		fputc(',', f.fp);
		csv_number(f.fp, e->test_loss);
		fputc(',', f.fp);
		csv_number(f.fp, e->test_acc);
		fprintf(f.fp, ",%.3f\n", e->seconds);
	}
	return gb_atomic_commit(&f, err);
}

/* ---- SVG ------------------------------------------------------------------------ */

#define PANEL_W 420.0
#define PANEL_H 260.0
#define MARGIN_L 60.0
#define MARGIN_T 40.0
#define GAP 70.0

typedef struct panel {
	double x0, y0;         /* top-left corner of the plot area */
	double xmin, xmax;     /* epochs */
	double ymin, ymax;
	int log_y;
} panel;

static double px(const panel *p, double x)
{
	double span = p->xmax - p->xmin;
	return p->x0 + (span > 0 ? (x - p->xmin) / span : 0.5) * PANEL_W;
}

static double py(const panel *p, double y)
{
	double v = p->log_y ? log10(y) : y;
	double lo = p->log_y ? log10(p->ymin) : p->ymin, hi = p->log_y ? log10(p->ymax) : p->ymax;
	double span = hi - lo;
	return p->y0 + PANEL_H - (span > 0 ? (v - lo) / span : 0.5) * PANEL_H;
}

static double field(const gb_train_epoch *e, int which)
{
	switch (which) {
	case 0: return e->train_loss;
	case 1: return e->test_loss;
	case 2: return e->train_acc;
	default: return e->test_acc;
	}
}

/* Draws one curve as a polyline (points at non-finite values skipped). */
static void curve(FILE *fp, const panel *p, const gb_train_epoch *hist, int n, int which, const char *color,
                  int dashed)
{
	int any = 0;
	for (int i = 0; i < n; i++) {
		double v = field(&hist[i], which);
		if (!isfinite(v) || (p->log_y && v <= 0))
			continue;
		if (!any)
			fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color,
			        dashed ? " stroke-dasharray=\"6 4\"" : "");
		fprintf(fp, "%s%.2f,%.2f", any ? " " : "", px(p, hist[i].epoch), py(p, v));
		any = 1;
	}
	if (any)
		fputs("\"/>\n", fp);
	/* Single epochs get a dot so that they are visible. */
	for (int i = 0; n == 1 && i < n; i++) {
		double v = field(&hist[i], which);
		if (isfinite(v) && (!p->log_y || v > 0))
			fprintf(fp, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", px(p, hist[i].epoch), py(p, v),
			        color);
	}
}

static void draw_panel(FILE *fp, const panel *p, const char *title, const gb_train_epoch *hist, int n, int first)
{
	fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" stroke=\"#888\"/>\n", p->x0,
	        p->y0, PANEL_W, PANEL_H);
	fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-weight=\"bold\">%s</text>\n",
	        p->x0 + PANEL_W / 2, p->y0 - 10, title);
	/* y ticks: 5 levels */
	for (int i = 0; i <= 4; i++) {
		double f = i / 4.0, v;
		if (p->log_y)
			v = pow(10.0, log10(p->ymin) + f * (log10(p->ymax) - log10(p->ymin)));
		else
			v = p->ymin + f * (p->ymax - p->ymin);
		double y = py(p, v);
		fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", p->x0, y,
		        p->x0 + PANEL_W, y);
		fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%.3g</text>\n", p->x0 - 5,
		        y + 4, v);
	}
	/* x ticks: every epoch, or about 10 of them */
	int every = n > 10 ? (n + 9) / 10 : 1;
	for (int i = 0; i < n; i += every) {
		double x = px(p, hist[i].epoch);
		fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">%d</text>\n", x,
		        p->y0 + PANEL_H + 15, hist[i].epoch);
	}
	fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">epoch</text>\n",
	        p->x0 + PANEL_W / 2, p->y0 + PANEL_H + 32);
	curve(fp, p, hist, n, first, "#1f77b4", 0);
	curve(fp, p, hist, n, first + 1, "#d62728", 1);
}

/* Range of the finite (and, for log scales, positive) values of two fields. */
static void range(const gb_train_epoch *hist, int n, int a, int b, int positive, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (int i = 0; i < n; i++)
		for (int w = a; w <= b; w++) {
			double v = field(&hist[i], w);
			if (!isfinite(v) || (positive && v <= 0))
				continue;
			if (v < *lo)
				*lo = v;
			if (v > *hi)
				*hi = v;
		}
	if (!isfinite(*lo)) {
		*lo = positive ? 0.1 : 0.0;
		*hi = 1.0;
	}
}

static void escape(FILE *fp, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '&': fputs("&amp;", fp); break;
		case '"': fputs("&quot;", fp); break;
		default: fputc(*s, fp);
		}
	}
}

gb_status gb_train_plot_svg(const char *path, const gb_train_epoch *hist, int n, const char *title, gb_error *err)
{
	gb_atomic_file f;
	gb_status st = gb_atomic_open(&f, path, err);
	if (st != GB_OK)
		return st;
	FILE *fp = f.fp;
	double width = MARGIN_L + 2 * PANEL_W + GAP + 20, height = MARGIN_T + PANEL_H + 90;
	fprintf(fp,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	        "font-family=\"sans-serif\" font-size=\"13\">\n",
	        width, height, width, height);
	fprintf(fp, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n");
	if (title) {
		fprintf(fp, "<text x=\"%.1f\" y=\"18\" text-anchor=\"middle\">", width / 2);
		escape(fp, title);
		fputs("</text>\n", fp);
	}
	double xmin = n ? hist[0].epoch : 0, xmax = n ? hist[n - 1].epoch : 1;
	panel loss = {.x0 = MARGIN_L, .y0 = MARGIN_T + 10, .xmin = xmin, .xmax = xmax, .log_y = 1};
	range(hist, n, 0, 1, 1, &loss.ymin, &loss.ymax);
	if (loss.ymax <= loss.ymin)
		loss.ymax = loss.ymin * 10.0;
	panel acc = {.x0 = MARGIN_L + PANEL_W + GAP, .y0 = MARGIN_T + 10, .xmin = xmin, .xmax = xmax};
	range(hist, n, 2, 3, 0, &acc.ymin, &acc.ymax);
	acc.ymin = floor(acc.ymin * 10.0) / 10.0;
	acc.ymax = acc.ymax > 0.99 || acc.ymax <= acc.ymin ? 1.0 : ceil(acc.ymax * 10.0) / 10.0;
	if (acc.ymax <= acc.ymin)
		acc.ymin = acc.ymax - 0.1;
	draw_panel(fp, &loss, "loss (log scale)", hist, n, 0);
	draw_panel(fp, &acc, "accuracy", hist, n, 2);
	/* legend */
	double ly = height - 18;
	fprintf(fp,
	        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
	        "<text x=\"%.1f\" y=\"%.1f\">train</text>\n",
	        MARGIN_L, ly, MARGIN_L + 30, ly, MARGIN_L + 36, ly + 4);
	fprintf(fp,
	        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"2\" "
	        "stroke-dasharray=\"6 4\"/><text x=\"%.1f\" y=\"%.1f\">test</text>\n",
	        MARGIN_L + 100, ly, MARGIN_L + 130, ly, MARGIN_L + 136, ly + 4);
	fputs("</svg>\n", fp);
	return gb_atomic_commit(&f, err);
}
