/*
 * cmd_train.c — glassbox train: trains a network described by an
 * architecture spec on a .npz data set or a generated task, and writes it
 * as ONNX, with an optional CSV log and SVG plot of the learning curves.
 * Progress goes to stderr: a live line on a terminal, one line per epoch
 * otherwise.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "train/tasks.h"
#include "train/train.h"

/* The help text (glassbox help train). */
const char cmd_train_usage[] =
	"usage: glassbox train (--data TRAIN.npz | --task NAME) --arch SPEC -o MODEL.onnx\n"
	"                      [--test TEST.npz] [--epochs N] [--batch B] [--optim sgd|adam]\n"
	"                      [--lr X] [--momentum M] [--weight-decay W] [--seed S] [--loss ce|mse]\n"
	"                      [--l1 L] [--l1-act L] [--group-lasso L] [--modular K:L [--modular-io]]\n"
	"                      [--dropout P]\n"
	"                      [--log LOG.csv] [--plot CURVES.svg] [--samples N] [--test-samples N] [-q]\n"
	"\n"
	"Data: a .npz with x (float32 [N, ...]) and y (int class labels [N], or\n"
	"float32 targets [N, K]), or a generated task (--task parity-8; see\n"
	"'glassbox data tasks'): --samples (default 8192, or the whole finite domain\n"
	"when smaller) to train on and an independent draw of --test-samples\n"
	"(default 2048, 0 for none) to test on.\n"
	"\n"
	"SPEC: widths '784-256-256-10' (dense layers, ReLU between them; a [1,28,28]\n"
	"sample is flattened), or layers 'conv8k3-relu-pool2-conv16k3-relu-pool2-dense10':\n"
	"convCkK (C channels, KxK kernel, stride 1, 'same' padding; convCkKv: 'valid'),\n"
	"poolK (max, KxK, stride K), denseN, relu, tanh, sigmoid, flatten.\n"
	"\n"
	"  --epochs N        passes over the data (default 10)\n"
	"  --batch B         mini-batch size (default 64), shuffled every epoch\n"
	"  --optim           adam (default; betas 0.9/0.999, eps 1e-8) or sgd\n"
	"  --lr X            learning rate (default 1e-3 for adam, 0.01 for sgd)\n"
	"  --momentum M      sgd momentum (default 0.9)\n"
	"  --weight-decay W  L2 weight decay added to the gradient (default 0)\n"
	"  --seed S          initialisation, shuffling and dropout (default 1)\n"
	"  --loss            ce (cross-entropy on logits) or mse; default: ce for\n"
	"                    class labels, mse for float targets\n"
	"  --l1 L            L * sum |w| over dense and conv weights (sparse connections)\n"
	"  --l1-act L        L * mean over samples of sum |h| over hidden activations\n"
	"  --group-lasso L   L * sum over hidden units of the L2 norm of their incoming weights\n"
	"  --modular K:L     split each hidden layer's units into K contiguous groups;\n"
	"                    L * sum |w| over weights between hidden units of different groups\n"
	"  --modular-io      split the input features and the outputs into K contiguous\n"
	"                    groups too (for inputs and outputs that come in K blocks)\n"
	"  --dropout P       drop hidden activations with probability P while training\n"
	"                    (default 0; the written model has no dropout)\n"
	"  --log LOG.csv     epoch, train_loss, train_acc, test_loss, test_acc, seconds\n"
	"  --plot FILE.svg   loss and accuracy curves\n"
	"  -q, --quiet       no progress on stderr\n"
	"\n"
	"The same seed, data and OPENBLAS_NUM_THREADS give the same model bytes.\n"
	"A spec that does not parse, data that does not fit it, labels out of range\n"
	"or NaN in the data: exit 3 and nothing written.\n";

#define DEFAULT_TASK_SAMPLES 8192
#define DEFAULT_TASK_TEST 2048

typedef struct progress_state {
	int tty, quiet;
	int has_test;
	double last_draw; /* seconds (training clock) of the last live line */
	int live_shown;   /* a live line is on screen and must be cleared */
} progress_state;

static void format_eta(double seconds, char *buf, size_t size)
{
	if (!isfinite(seconds) || seconds < 0)
		seconds = 0;
	long s = (long)(seconds + 0.5);
	if (s >= 3600)
		snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
	else
		snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

static void on_progress(void *ctx, const gb_train_progress *p)
{
	progress_state *ps = ctx;
	if (ps->quiet)
		return;
	double rate = p->seconds > 0 ? (double)p->samples_done / p->seconds : 0.0;
	if (p->finished) {
		const gb_train_epoch *e = p->finished;
		if (ps->live_shown)
			fputs("\r\033[K", stderr);
		ps->live_shown = 0;
		fprintf(stderr, "epoch %*d/%d  loss %.4f  acc %6.2f%%", p->epochs >= 100 ? 3 : 2, e->epoch, p->epochs,
		        e->train_loss, 100.0 * e->train_acc);
		if (ps->has_test)
			fprintf(stderr, "  test loss %.4f  test acc %6.2f%%", e->test_loss, 100.0 * e->test_acc);
		fprintf(stderr, "  %.0f samples/s  %.1fs\n", rate, e->seconds);
		fflush(stderr);
		return;
	}
	if (!ps->tty || (p->seconds - ps->last_draw < 0.1 && p->step != p->steps))
		return;
	ps->last_draw = p->seconds;
	char eta[32];
	format_eta(rate > 0 ? (double)(p->samples_total - p->samples_done) / rate : 0, eta, sizeof eta);
	int width = 20, filled = (int)((double)width * (double)p->step / (double)p->steps);
	char bar[32];
	for (int i = 0; i < width; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[width] = '\0';
	fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %3d%%  loss %.4f  acc %6.2f%%  %.0f samples/s  ETA %s", p->epoch,
	        p->epochs, bar, (int)(100.0 * (double)p->step / (double)p->steps), p->loss, 100.0 * p->acc, rate, eta);
	fflush(stderr);
	ps->live_shown = 1;
}

/* ---- options ------------------------------------------------------------------------ */

static int parse_double(const char *flag, const char *text, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (end == text || *end || errno || !isfinite(v) || v < lo || v > hi)
		return cli_usage("train", "%s wants a number from %g to %g, not '%s'", flag, lo, hi, text);
	*out = v;
	return EXIT_OK;
}

static int parse_int(const char *flag, const char *text, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (end == text || *end || errno || v < lo || v > hi)
		return cli_usage("train", "%s wants a whole number from %lld to %lld, not '%s'", flag, lo, hi, text);
	*out = v;
	return EXIT_OK;
}

typedef struct train_args {
	const char *data, *task, *test, *arch, *output, *log, *plot;
	long long samples, test_samples;
	int loss_given, lr_given, quiet;
	gb_train_config c;
} train_args;

static int parse_args(int argc, char **argv, train_args *a)
{
	gb_train_config_default(&a->c);
	a->test_samples = -1; /* not given */
	for (int i = 1; i < argc; i++) {
		const char *flag = argv[i];
		if (strcmp(flag, "--quiet") == 0 || strcmp(flag, "-q") == 0) {
			a->quiet = 1;
			continue;
		}
		if (strcmp(flag, "--modular-io") == 0) {
			a->c.modular_io = 1;
			continue;
		}
		if (flag[0] != '-')
			return cli_usage("train", "unexpected argument '%s'", flag);
		if (i + 1 >= argc)
			return cli_usage("train", "%s needs a value", flag);
		const char *v = argv[++i];
		long long n = 0;
		double x = 0;
		int rc = EXIT_OK;
		if (strcmp(flag, "--data") == 0)
			a->data = v;
		else if (strcmp(flag, "--task") == 0)
			a->task = v;
		else if (strcmp(flag, "--test") == 0)
			a->test = v;
		else if (strcmp(flag, "--arch") == 0)
			a->arch = v;
		else if (strcmp(flag, "-o") == 0 || strcmp(flag, "--output") == 0)
			a->output = v;
		else if (strcmp(flag, "--log") == 0)
			a->log = v;
		else if (strcmp(flag, "--plot") == 0)
			a->plot = v;
		else if (strcmp(flag, "--epochs") == 0) {
			if ((rc = parse_int(flag, v, 0, 1000000, &n)) == EXIT_OK)
				a->c.epochs = (int)n;
		} else if (strcmp(flag, "--batch") == 0) {
			if ((rc = parse_int(flag, v, 1, 1 << 24, &n)) == EXIT_OK)
				a->c.batch = n;
		} else if (strcmp(flag, "--seed") == 0) {
			if ((rc = parse_int(flag, v, 0, INT64_MAX, &n)) == EXIT_OK)
				a->c.seed = (uint64_t)n;
		} else if (strcmp(flag, "--samples") == 0) {
			rc = parse_int(flag, v, 1, 1LL << 32, &a->samples);
		} else if (strcmp(flag, "--test-samples") == 0) {
			rc = parse_int(flag, v, 0, 1LL << 32, &a->test_samples);
		} else if (strcmp(flag, "--lr") == 0) {
			if ((rc = parse_double(flag, v, 1e-12, 1e6, &a->c.lr)) == EXIT_OK)
				a->lr_given = 1;
		} else if (strcmp(flag, "--momentum") == 0) {
			rc = parse_double(flag, v, 0, 0.999999, &a->c.momentum);
		} else if (strcmp(flag, "--weight-decay") == 0) {
			rc = parse_double(flag, v, 0, 1e6, &a->c.weight_decay);
		} else if (strcmp(flag, "--l1") == 0) {
			rc = parse_double(flag, v, 0, 1e6, &a->c.l1);
		} else if (strcmp(flag, "--l1-act") == 0) {
			rc = parse_double(flag, v, 0, 1e6, &a->c.l1_act);
		} else if (strcmp(flag, "--group-lasso") == 0) {
			rc = parse_double(flag, v, 0, 1e6, &a->c.group_lasso);
		} else if (strcmp(flag, "--dropout") == 0) {
			rc = parse_double(flag, v, 0, 0.99, &a->c.dropout);
		} else if (strcmp(flag, "--modular") == 0) {
			const char *colon = strchr(v, ':');
			char kbuf[32];
			if (!colon || colon == v || (size_t)(colon - v) >= sizeof kbuf)
				return cli_usage("train", "--modular wants K:LAMBDA (e.g. 2:0.001), not '%s'", v);
			memcpy(kbuf, v, (size_t)(colon - v));
			kbuf[colon - v] = '\0';
			if ((rc = parse_int("--modular K", kbuf, 2, 1 << 20, &n)) == EXIT_OK &&
			    (rc = parse_double("--modular LAMBDA", colon + 1, 0, 1e6, &x)) == EXIT_OK) {
				a->c.modular_k = (int)n;
				a->c.modular = x;
			}
		} else if (strcmp(flag, "--optim") == 0) {
			if (strcmp(v, "sgd") == 0)
				a->c.optim = GB_OPTIM_SGD;
			else if (strcmp(v, "adam") == 0)
				a->c.optim = GB_OPTIM_ADAM;
			else
				return cli_usage("train", "--optim is sgd or adam, not '%s'", v);
		} else if (strcmp(flag, "--loss") == 0) {
			a->loss_given = 1;
			if (strcmp(v, "ce") == 0)
				a->c.loss = GB_LOSS_CE;
			else if (strcmp(v, "mse") == 0)
				a->c.loss = GB_LOSS_MSE;
			else
				return cli_usage("train", "--loss is ce or mse, not '%s'", v);
		} else {
			return cli_usage("train", "unknown option '%s'", flag);
		}
		if (rc != EXIT_OK)
			return rc;
	}
	if (!a->data == !a->task)
		return cli_usage("train", "needs exactly one of --data TRAIN.npz and --task NAME");
	if (!a->arch)
		return cli_usage("train", "needs --arch SPEC (e.g. 784-256-10 or conv8k3-relu-pool2-dense10)");
	if (!a->output)
		return cli_usage("train", "needs -o MODEL.onnx");
	if (a->task && a->test)
		return cli_usage("train", "--test takes a .npz file; a --task makes its own test set (see --test-samples)");
	if (a->data && (a->samples || a->test_samples >= 0))
		return cli_usage("train", "--samples and --test-samples go with --task");
	if (a->c.modular_io && a->c.modular_k == 0)
		return cli_usage("train", "--modular-io goes with --modular K:LAMBDA");
	if (!a->lr_given)
		a->c.lr = a->c.optim == GB_OPTIM_SGD ? 0.01 : 1e-3;
	return EXIT_OK;
}

/* ---- data ------------------------------------------------------------------------------ */

/* Loads x and y from a .npz file into clones the caller frees. */
static int load_npz(const char *path, gb_tensor **x, gb_tensor **y)
{
	gb_error err = {0};
	gb_tensor_map *map = NULL;
	*x = *y = NULL;
	if (gb_npz_load(path, &map, &err) != GB_OK)
		return cli_fail(&err);
	const gb_tensor *tx = gb_tensor_map_get(map, "x"), *ty = gb_tensor_map_get(map, "y");
	int rc = EXIT_OK;
	if (!tx || !ty) {
		fprintf(stderr, "glassbox: %s: needs arrays 'x' (inputs) and 'y' (labels or targets); it has no '%s'\n",
		        path, tx ? "y" : "x");
		rc = EXIT_BADFILE;
	} else if (gb_tensor_clone(tx, x, &err) != GB_OK || gb_tensor_clone(ty, y, &err) != GB_OK) {
		rc = cli_fail(&err);
	}
	gb_tensor_map_free(map);
	return rc;
}

/* Generates a task's training set (--samples, default 8192, or the whole
 * domain when it is finite and smaller) and its test set: an independent
 * draw of --test-samples (default 2048; 0 for none) from another stream of
 * the seed. For a finite domain enumerated whole the test set measures fit,
 * not generalisation. */
static int make_task(const train_args *a, gb_tensor **x, gb_tensor **y, gb_tensor **tx, gb_tensor **ty)
{
	gb_error err = {0};
	gb_task_info info;
	if (gb_task_describe(a->task, &info, &err) != GB_OK)
		return cli_fail(&err);
	int64_t n = a->samples ? a->samples : DEFAULT_TASK_SAMPLES;
	if (!a->samples && info.n_exhaustive > 0 && info.n_exhaustive < n)
		n = info.n_exhaustive;
	int64_t nt = a->test_samples >= 0 ? a->test_samples : DEFAULT_TASK_TEST;
	if (gb_task_generate(a->task, n, a->c.seed, x, y, &err) != GB_OK)
		return cli_fail(&err);
	/* An independent draw: another stream of the same seed. */
	uint64_t test_seed = a->c.seed ^ 0x7E57DA7A5EEDULL;
	if (nt > 0 && gb_task_generate(a->task, nt, test_seed, tx, ty, &err) != GB_OK)
		return cli_fail(&err);
	return EXIT_OK;
}

/* ---- the command --------------------------------------------------------------------------- */

int cmd_train(int argc, char **argv)
{
	train_args a = {0};
	gb_tensor *x = NULL, *y = NULL, *tx = NULL, *ty = NULL;
	gb_model *m = NULL;
	gb_train_epoch *hist = NULL;
	gb_error err = {0};
	int rc = parse_args(argc, argv, &a);
	if (rc != EXIT_OK)
		return rc;
	/* The spec first: a typo should not wait for the data to load. */
	gb_arch arch;
	if (gb_arch_parse(a.arch, &arch, &err) != GB_OK) {
		fprintf(stderr, "glassbox: %s\n", err.msg);
		return EXIT_BADFILE;
	}
	if (a.data) {
		if ((rc = load_npz(a.data, &x, &y)) != EXIT_OK)
			goto done;
		if (a.test && (rc = load_npz(a.test, &tx, &ty)) != EXIT_OK)
			goto done;
	} else if ((rc = make_task(&a, &x, &y, &tx, &ty)) != EXIT_OK) {
		goto done;
	}
	/* Without --loss: cross-entropy for class labels, MSE for float targets. */
	if (!a.loss_given)
		a.c.loss = y->dtype == GB_DTYPE_F32 ? GB_LOSS_MSE : GB_LOSS_CE;
	if (a.c.epochs > 0 && !(hist = calloc((size_t)a.c.epochs, sizeof *hist))) {
		fprintf(stderr, "glassbox: out of memory\n");
		rc = EXIT_FAIL;
		goto done;
	}
	const char *train_label = a.data ? a.data : a.task;
	char test_label[64];
	snprintf(test_label, sizeof test_label, "%s (test draw)", a.task ? a.task : "");
	gb_train_data train = {x, y, train_label}, test = {tx, ty, a.test ? a.test : test_label};
	progress_state ps = {.tty = isatty(fileno(stderr)), .quiet = a.quiet, .has_test = tx != NULL};
	gb_status st = gb_train_spec(a.arch, &train, tx ? &test : NULL, &a.c, hist, on_progress, &ps, &m, &err);
	if (ps.live_shown)
		fputs("\n", stderr);
	if (st != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	if (gb_model_save(m, a.output, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	if (a.log && gb_train_log_csv(a.log, hist, a.c.epochs, &err) != GB_OK) {
		rc = cli_fail(&err);
		goto done;
	}
	if (a.plot) {
		char title[256];
		snprintf(title, sizeof title, "%s on %s", a.arch, train_label);
		if (gb_train_plot_svg(a.plot, hist, a.c.epochs, title, &err) != GB_OK) {
			rc = cli_fail(&err);
			goto done;
		}
	}
	printf("%s: %s, %lld parameters, %d epochs", a.output, a.arch, (long long)gb_model_param_count(m), a.c.epochs);
	if (a.c.epochs > 0) {
		const gb_train_epoch *e = &hist[a.c.epochs - 1];
		printf(", train loss %.4f acc %.2f%%", e->train_loss, 100.0 * e->train_acc);
		if (tx)
			printf(", test loss %.4f acc %.2f%%", e->test_loss, 100.0 * e->test_acc);
	}
	printf("\n");
	if (a.c.l1 > 0 || a.c.group_lasso > 0 || a.c.modular > 0) {
		printf("%s: %.1f%% of weights have |w| <= 1e-3", a.output, 100.0 * gb_reg_sparsity(m, 1e-3));
		if (a.c.modular_k > 0)
			printf(", cross-group share of |w| %.4f (%d groups)", gb_reg_cross_group(m, a.c.modular_k, a.c.modular_io),
			       a.c.modular_k);
		printf("\n");
	}
done:
	free(hist);
	gb_model_free(m);
	gb_tensor_free(x);
	gb_tensor_free(y);
	gb_tensor_free(tx);
	gb_tensor_free(ty);
	return rc;
}
