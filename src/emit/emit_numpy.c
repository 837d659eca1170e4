/*
 * emit_numpy.c — the NumPy emitter: a model as one Python module that needs
 * only NumPy (and the standard library's base64 and math).
 *
 * Layout of the output: a docstring documenting the function, the weights
 * and folded constants as module-level arrays (base64 of their
 * little-endian bytes, so they are exact), the helpers the graph needs, and
 * the function: one statement (or a few) per node, named after the graph's
 * values. Arrays are never modified in place, so reshaping ops are views.
 *
 * Arithmetic is float32 throughout, as in the engine: float32 operands and
 * np.float32 constants keep NumPy in float32; reductions, softmax sums and
 * normalisation statistics accumulate in float64 as the engine does. erf,
 * which NumPy lacks, is math.erf per element (double, then rounded).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { P_ERF, P_SIGMOID, P_SOFTPLUS, P_CLIP, P_DIV_I, P_REMAP, P_CONV, P_POOL, P_SOFTMAX, P_LAYERNORM,
       P_BATCHNORM, P_TOPK, P_CAST_I, P_COUNT };

static const char *const helper_src[P_COUNT] = {
	[P_ERF] = "def gbx_erf(x):\n"
	          "    x = np.asarray(x, dtype=np.float32)\n"
	          "    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(np.float32).reshape(x.shape)\n",
	[P_SIGMOID] = "def gbx_sigmoid(x):\n"
	              "    e = np.exp(np.where(x >= 0, -x, x))\n"
	              "    return np.where(x >= 0, np.float32(1) / (np.float32(1) + e), e / (np.float32(1) + e))\n",
	[P_SOFTPLUS] = "def gbx_softplus(x):\n"
	               "    return np.where(x > 0, x + np.log1p(np.exp(-x)), np.log1p(np.exp(x)))\n",
	[P_CLIP] = "def gbx_clip(x, lo, hi):\n"
	           "    \"\"\"max then min: NaN stays NaN, lo > hi gives hi (the ONNX rule).\"\"\"\n"
	           "    lo = np.asarray(lo, dtype=x.dtype).reshape(())\n"
	           "    hi = np.asarray(hi, dtype=x.dtype).reshape(())\n"
	           "    v = np.where(x < lo, lo, x)\n"
	           "    return np.where(v > hi, hi, v)\n",
	[P_DIV_I] = "def gbx_div_i64(a, b):\n"
	            "    \"\"\"Integer division truncating toward zero.\"\"\"\n"
	            "    if np.any(b == 0):\n"
	            "        raise ZeroDivisionError('integer division by zero')\n"
	            "    q = np.abs(a) // np.abs(b)\n"
	            "    return np.where((a < 0) != (b < 0), -q, q)\n",
	[P_REMAP] = "def gbx_remap(x, dims, before, count, start, step, stride, fill, value):\n"
	            "    \"\"\"Output index i on axis a reads input index start + step * (i - before)\n"
	            "    when 0 <= i - before < count (input stride stride[a]); outside, fill 0 writes\n"
	            "    value, 1 repeats the edge, 2 reflects, 3 wraps. Serves Slice, Expand, Pad.\"\"\"\n"
	            "    flat = np.ascontiguousarray(x).reshape(-1)\n"
	            "    off = np.zeros(dims, dtype=np.int64)\n"
	            "    outside = np.zeros(dims, dtype=bool)\n"
	            "    for a in range(len(dims)):\n"
	            "        j = np.arange(dims[a], dtype=np.int64) - before[a]\n"
	            "        c = count[a]\n"
	            "        bad = (j < 0) | (j >= c)\n"
	            "        if fill == 1:\n"
	            "            j = np.clip(j, 0, c - 1)\n"
	            "        elif fill == 2:\n"
	            "            if c == 1:\n"
	            "                j = np.where(bad, 0, j)\n"
	            "            else:\n"
	            "                period = 2 * (c - 1)\n"
	            "                k = np.mod(j, period)\n"
	            "                j = np.where(bad, np.where(k < c, k, period - k), j)\n"
	            "        elif fill == 3:\n"
	            "            j = np.mod(j, c) if c > 0 else j\n"
	            "        shape = [1] * len(dims)\n"
	            "        shape[a] = dims[a]\n"
	            "        if fill == 0:\n"
	            "            outside = outside | bad.reshape(shape)\n"
	            "            j = np.where(bad, 0, j)\n"
	            "        off = off + ((start[a] + step[a] * j) * stride[a]).reshape(shape)\n"
	            "    if flat.size == 0:\n"
	            "        return np.full(dims, value, dtype=x.dtype)\n"
	            "    y = flat[np.where(outside, 0, off)]\n"
	            "    return np.where(outside, np.asarray(value, dtype=x.dtype), y).astype(x.dtype)\n",
	[P_CONV] = "def gbx_conv(x, w, b, strides, pads, dilations, group, out):\n"
	           "    \"\"\"Convolution (N, C, *in) * (M, C/group, *k) -> (N, M, *out); pads are the\n"
	           "    leading pads; the trailing ones follow from out.\"\"\"\n"
	           "    N, C = x.shape[:2]\n"
	           "    M, Cg = w.shape[:2]\n"
	           "    D = x.ndim - 2\n"
	           "    ks = w.shape[2:]\n"
	           "    need = [(out[i] - 1) * strides[i] + (ks[i] - 1) * dilations[i] + 1 for i in range(D)]\n"
	           "    widths = [(0, 0), (0, 0)] + [(pads[i], max(0, need[i] - pads[i] - x.shape[2 + i])) for i in range(D)]\n"
	           "    xp = np.pad(x, widths)\n"
	           "    y = np.zeros((N, M) + tuple(out), dtype=np.float32)\n"
	           "    Mg = M // group\n"
	           "    for g in range(group):\n"
	           "        xg = xp[:, g * Cg:(g + 1) * Cg]\n"
	           "        wg = w[g * Mg:(g + 1) * Mg]\n"
	           "        acc = np.zeros((N, Mg) + tuple(out), dtype=np.float32)\n"
	           "        for tap in np.ndindex(*ks):\n"
	           "            sl = tuple(slice(tap[i] * dilations[i], tap[i] * dilations[i] + (out[i] - 1) * strides[i] + 1,\n"
	           "                             strides[i]) for i in range(D))\n"
	           "            patch = xg[(slice(None), slice(None)) + sl]\n"
	           "            acc += np.einsum('nc...,mc->nm...', patch, wg[(slice(None), slice(None)) + tap])\n"
	           "        y[:, g * Mg:(g + 1) * Mg] = acc\n"
	           "    if b is not None:\n"
	           "        y += b.reshape((1, M) + (1,) * D)\n"
	           "    return y\n",
	[P_POOL] = "def gbx_pool(x, kernel, strides, pads, pads_end, dilations, out, is_max, count_include_pad):\n"
	           "    \"\"\"Max or average pooling of (N, C, *in) -> (N, C, *out). Average divides by the\n"
	           "    taps inside the input, or inside the padded input (count_include_pad).\"\"\"\n"
	           "    D = x.ndim - 2\n"
	           "    need = [(out[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 for i in range(D)]\n"
	           "    extra = [max(0, need[i] - pads[i] - x.shape[2 + i]) for i in range(D)]\n"
	           "    widths = [(0, 0), (0, 0)] + [(pads[i], extra[i]) for i in range(D)]\n"
	           "    xp = np.pad(x, widths, constant_values=-np.inf if is_max else 0)\n"
	           "    inside = np.pad(np.ones(x.shape[2:], dtype=np.float64), widths[2:])\n"
	           "    padded = np.zeros(inside.shape)\n"
	           "    padded[tuple(slice(0, pads[i] + x.shape[2 + i] + pads_end[i]) for i in range(D))] = 1\n"
	           "    count = inside if not count_include_pad else padded\n"
	           "    best = np.full(x.shape[:2] + tuple(out), -np.inf, dtype=np.float32)\n"
	           "    total = np.zeros(x.shape[:2] + tuple(out), dtype=np.float64)\n"
	           "    n_taps = np.zeros(tuple(out), dtype=np.float64)\n"
	           "    for tap in np.ndindex(*kernel):\n"
	           "        sl = tuple(slice(tap[i] * dilations[i], tap[i] * dilations[i] + (out[i] - 1) * strides[i] + 1,\n"
	           "                         strides[i]) for i in range(D))\n"
	           "        v = xp[(slice(None), slice(None)) + sl]\n"
	           "        ok = inside[sl] > 0\n"
	           "        best = np.where(ok & ((v > best) | (np.isnan(v) & ~np.isnan(best))), v, best)\n"
	           "        total += np.where(ok, v, 0).astype(np.float64)\n"
	           "        n_taps += count[sl]\n"
	           "    if is_max:\n"
	           "        return best\n"
	           "    return (total / n_taps).astype(np.float32)\n",
	[P_SOFTMAX] = "def gbx_softmax(x, outer, L, inner, is_log):\n"
	              "    \"\"\"Softmax or log-softmax over L of x seen as (outer, L, inner); the maximum\n"
	              "    subtracted before exp, the sum of exponentials in float64.\"\"\"\n"
	              "    v = x.reshape(outer, L, inner)\n"
	              "    mx = np.max(v, axis=1, keepdims=True, initial=-np.inf)\n"
	              "    e = np.exp(v - mx)\n"
	              "    s = np.sum(e, axis=1, keepdims=True, dtype=np.float64)\n"
	              "    if is_log:\n"
	              "        y = (v - mx) - np.log(s).astype(np.float32)\n"
	              "    else:\n"
	              "        y = e * (1.0 / s).astype(np.float32)\n"
	              "    return y.reshape(x.shape)\n",
	[P_LAYERNORM] = "def gbx_layernorm(x, scale, bias, outer, inner, eps):\n"
	                "    \"\"\"Normalises x seen as (outer, inner) by row: statistics in float64.\n"
	                "    Returns y, the means and 1 / sqrt(var + eps) per row.\"\"\"\n"
	                "    v = x.reshape(outer, inner)\n"
	                "    d = v.astype(np.float64)\n"
	                "    mu = d.mean(axis=1) if inner else np.zeros(outer)\n"
	                "    var = (d * d).mean(axis=1) - mu * mu if inner else np.zeros(outer)\n"
	                "    r = 1.0 / np.sqrt(np.maximum(var, 0.0) + float(eps))\n"
	                "    mu32 = mu.astype(np.float32)[:, None]\n"
	                "    r32 = r.astype(np.float32)[:, None]\n"
	                "    y = (v - mu32) * r32\n"
	                "    if scale is not None:\n"
	                "        y = y * scale.reshape(1, -1)\n"
	                "    if bias is not None:\n"
	                "        y = y + bias.reshape(1, -1)\n"
	                "    return y.reshape(x.shape), mu.astype(np.float32), r.astype(np.float32)\n",
	[P_BATCHNORM] = "def gbx_batchnorm(x, scale, bias, mean, var, C, eps):\n"
	                "    \"\"\"y = x * a + b per channel, a = scale / sqrt(var + eps), b = bias - mean * a.\"\"\"\n"
	                "    a = scale.astype(np.float64) / np.sqrt(var.astype(np.float64) + float(eps))\n"
	                "    b = bias.astype(np.float64) - mean.astype(np.float64) * a\n"
	                "    v = x.reshape(x.shape[0], C, -1)\n"
	                "    y = v * a.astype(np.float32)[None, :, None] + b.astype(np.float32)[None, :, None]\n"
	                "    return y.reshape(x.shape)\n",
	[P_TOPK] = "def gbx_topk(x, k, axis, largest):\n"
	           "    \"\"\"The k largest (or smallest) along axis, best first; ties keep the lower index;\n"
	           "    a NaN ranks above every number.\"\"\"\n"
	           "    v = np.moveaxis(x, axis, -1)\n"
	           "    nan = np.isnan(v) if v.dtype.kind == 'f' else np.zeros(v.shape, dtype=bool)\n"
	           "    key = np.where(nan, 0, v)\n"
	           "    order = np.lexsort((-key, ~nan) if largest else (key, nan), axis=-1)\n"
	           "    idx = order[..., :k].astype(np.int64)\n"
	           "    vals = np.take_along_axis(v, idx, axis=-1)\n"
	           "    return np.moveaxis(vals, -1, axis), np.moveaxis(idx, -1, axis)\n",
	[P_CAST_I] = "def gbx_cast_i64(x):\n"
	             "    \"\"\"float32 to int64 by truncation; NaN and values past int64 are errors.\"\"\"\n"
	             "    if not np.all((x >= -9223372036854775808.0) & (x < 9223372036854775808.0)):\n"
	             "        raise ValueError('cast to int64: NaN or out of range')\n"
	             "    return np.trunc(x).astype(np.int64)\n",
};

typedef struct pygen {
	em_plan *p;
	gb_error *err;
	em_buf consts, body;
	int used[P_COUNT];
} pygen;

#define MONO(m) em_mono_str((m), (char[64]){0})

static const char *np_dtype(gb_dtype dt)
{
	return dt == GB_DTYPE_F32 ? "np.float32" : dt == GB_DTYPE_I64 ? "np.int64" : "np.bool_";
}

/* "(a, b, c)" with a trailing comma for one element. */
static void mono_tuple(em_buf *b, int n, const em_mono *v)
{
	em_puts(b, "(");
	for (int i = 0; i < n; i++)
		em_printf(b, "%s%s", i ? ", " : "", MONO(v[i]));
	em_puts(b, n == 1 ? ",)" : ")");
}

static void int_tuple(em_buf *b, int n, const int64_t *v)
{
	em_puts(b, "(");
	for (int i = 0; i < n; i++)
		em_printf(b, "%s%lld", i ? ", " : "", (long long)v[i]);
	em_puts(b, n == 1 ? ",)" : ")");
}

static const char *id_of(const em_val *v)
{
	return v ? v->id : "None";
}

/* ==== elementwise ==================================================================== */

static const char *template_of(pygen *g, const gb_node *node, gb_dtype dt, char *tmp, size_t size)
{
	const char *op = node->op_type;
	int f = dt == GB_DTYPE_F32, i64 = dt == GB_DTYPE_I64, b8 = dt == GB_DTYPE_BOOL;
	char a[48], c[48];
	if (!strcmp(op, "Add"))
		return f || i64 ? "$0 + $1" : NULL;
	if (!strcmp(op, "Sub"))
		return f || i64 ? "$0 - $1" : NULL;
	if (!strcmp(op, "Mul"))
		return f || i64 ? "$0 * $1" : NULL;
	if (!strcmp(op, "Div")) {
		if (i64)
			g->used[P_DIV_I] = 1;
		return f ? "$0 / $1" : i64 ? "gbx_div_i64($0, $1)" : NULL;
	}
	if (!strcmp(op, "Pow")) {
		const em_val *e = em_in(g->p, node, 1);
		return !f ? NULL : e->dtype == GB_DTYPE_I64 ? "np.power($0, $1.astype(np.float32))"
		                   : e->dtype == GB_DTYPE_F32 ? "np.power($0, $1)" : NULL;
	}
	if (!strcmp(op, "PRelu"))
		return f ? "np.where($0 < 0, $1 * $0, $0)" : NULL;
	if (!strcmp(op, "Equal"))
		return "$0 == $1";
	if (em_compare_template(op, GB_DTYPE_F32)) /* an order comparison */
		return em_compare_template(op, dt);
	if (!strcmp(op, "And"))
		return b8 ? "np.logical_and($0, $1)" : NULL;
	if (!strcmp(op, "Or"))
		return b8 ? "np.logical_or($0, $1)" : NULL;
	if (!strcmp(op, "Xor"))
		return b8 ? "np.logical_xor($0, $1)" : NULL;
	if (!strcmp(op, "Not"))
		return b8 ? "np.logical_not($0)" : NULL;
	if (!strcmp(op, "Where"))
		return "np.where($0, $1, $2)";
	if (!strcmp(op, "Sum") || !strcmp(op, "Mean") || !strcmp(op, "Max") || !strcmp(op, "Min")) {
		int n = node->n_inputs;
		if (n > 10 || (!f && !i64) || (!f && !strcmp(op, "Mean")))
			return NULL;
		size_t len = 0;
		tmp[0] = '\0';
		if (!strcmp(op, "Max") || !strcmp(op, "Min")) {
			const char *fn = !strcmp(op, "Max") ? "np.maximum" : "np.minimum";
			for (int k = 1; k < n; k++)
				len += (size_t)snprintf(tmp + len, size - len, "%s(", fn);
			len += (size_t)snprintf(tmp + len, size - len, "$0");
			for (int k = 1; k < n; k++)
				len += (size_t)snprintf(tmp + len, size - len, ", $%d)", k);
			if (n == 1)
				snprintf(tmp + len, size - len, " * 1");
			return tmp;
		}
		int mean = !strcmp(op, "Mean");
		len += (size_t)snprintf(tmp + len, size - len, mean ? "($0" : "$0");
		for (int k = 1; k < n; k++)
			len += (size_t)snprintf(tmp + len, size - len, " + $%d", k);
		if (mean)
			snprintf(tmp + len, size - len, ") / %s", em_float_lit((float)n, 1, a));
		return tmp;
	}
	if (!strcmp(op, "Clip")) {
		const em_val *lo = em_in(g->p, node, 1), *hi = em_in(g->p, node, 2);
		int from_inputs = gb_opset_at_least(g->p->m, 11);
		g->used[P_CLIP] = 1;
		if (f) {
			float flo = from_inputs ? -INFINITY : em_attr_float(node, "min", -3.402823466e+38f);
			float fhi = from_inputs ? INFINITY : em_attr_float(node, "max", 3.402823466e+38f);
			snprintf(tmp, size, "gbx_clip($0, %s, %s)", lo ? "$1" : em_float_lit(flo, 1, a),
			         hi ? "$2" : em_float_lit(fhi, 1, c));
		} else if (i64) {
			snprintf(tmp, size, "gbx_clip($0, %s, %s)", lo ? "$1" : "np.iinfo(np.int64).min",
			         hi ? "$2" : "np.iinfo(np.int64).max");
		} else {
			return NULL;
		}
		return tmp;
	}
	if (!strcmp(op, "Neg"))
		return f || i64 ? "np.negative($0)" : NULL;
	if (!strcmp(op, "Abs"))
		return f || i64 ? "np.abs($0)" : NULL;
	if (!f)
		return NULL;
	if (!strcmp(op, "Sqrt"))
		return "np.sqrt($0)";
	if (!strcmp(op, "Exp"))
		return "np.exp($0)";
	if (!strcmp(op, "Log"))
		return "np.log($0)";
	if (!strcmp(op, "Tanh"))
		return "np.tanh($0)";
	if (!strcmp(op, "Erf")) {
		g->used[P_ERF] = 1;
		return "gbx_erf($0)";
	}
	if (!strcmp(op, "Relu"))
		return "np.where($0 < 0, np.float32(0), $0)";
	if (!strcmp(op, "Sigmoid")) {
		g->used[P_SIGMOID] = 1;
		return "gbx_sigmoid($0)";
	}
	if (!strcmp(op, "Softplus")) {
		g->used[P_SOFTPLUS] = 1;
		return "gbx_softplus($0)";
	}
	if (!strcmp(op, "LeakyRelu")) {
		snprintf(tmp, size, "np.where($0 < 0, %s * $0, $0)", em_float_lit(em_attr_float(node, "alpha", 0.01f), 1, a));
		return tmp;
	}
	if (!strcmp(op, "Elu")) {
		snprintf(tmp, size, "np.where($0 < 0, %s * np.expm1($0), $0)",
		         em_float_lit(em_attr_float(node, "alpha", 1.0f), 1, a));
		return tmp;
	}
	if (!strcmp(op, "Selu")) {
		em_float_lit(em_attr_float(node, "alpha", 1.67326319217681884765625f), 1, a);
		em_float_lit(em_attr_float(node, "gamma", 1.05070102214813232421875f), 1, c);
		snprintf(tmp, size, "np.where($0 > 0, %s * $0, %s * %s * np.expm1($0))", c, c, a);
		return tmp;
	}
	if (!strcmp(op, "Gelu")) {
		if (!strcmp(em_attr_string(node, "approximate", "none"), "tanh"))
			return "np.float32(0.5) * $0 * (np.float32(1) + np.tanh(np.float32(0.797884583) * ($0 + "
			       "np.float32(0.044715) * $0 * $0 * $0)))";
		g->used[P_ERF] = 1;
		return "np.float32(0.5) * $0 * (np.float32(1) + gbx_erf($0 * np.float32(0.707106769)))";
	}
	return NULL;
}

static void expand(em_buf *b, const char *tmpl, const gb_node *node, const em_plan *p)
{
	for (const char *c = tmpl; *c; c++) {
		if (c[0] == '$' && c[1] >= '0' && c[1] <= '9') {
			em_puts(b, id_of(em_in(p, node, c[1] - '0')));
			c++;
		} else {
			em_printf(b, "%c", *c);
		}
	}
}

static gb_status emit_elementwise(pygen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x0 = em_in(p, node, 0), *y = em_out(p, node, 0);
	char tmp[600];
	const char *tmpl;
	if (em_is_op(node, "Cast") || em_is_op(node, "CastLike")) {
		int64_t to = em_cast_to(node, y);
		if (to == 7 && x0->dtype == GB_DTYPE_F32)
			g->used[P_CAST_I] = 1;
		tmpl = to == 1 ? "$0.astype(np.float32)" : to == 7 && x0->dtype == GB_DTYPE_F32 ? "gbx_cast_i64($0)"
		       : to == 7                                                               ? "$0.astype(np.int64)"
		       : to == 9                                                               ? "($0 != 0)"
		                                                                               : NULL;
		if (!tmpl)
			return em_unsupported(g->err, p, node, "cast from %s to ONNX type %lld is not supported by the NumPy "
			                                       "emitter", gb_dtype_name(x0->dtype), (long long)to);
	} else {
		gb_dtype dt = em_is_op(node, "Where") ? em_in(p, node, 1)->dtype : x0->dtype;
		tmpl = template_of(g, node, dt, tmp, sizeof tmp);
		if (!tmpl)
			return em_unsupported(g->err, p, node, "%s on %s is not supported by the NumPy emitter", node->op_type,
			                      gb_dtype_name(dt));
	}
	gb_status st = em_check_broadcast(p, node, g->err);
	if (st != GB_OK)
		return st;
	em_printf(&g->body, "        %s = ", y->id);
	expand(&g->body, tmpl, node, p);
	em_puts(&g->body, "\n");
	return GB_OK;
}

/* ==== the other ops ===================================================================== */

static gb_status fit_span(pygen *g, const gb_node *node, const em_val *v, int lo, int hi, em_mono *out)
{
	return em_span(g->p, node, v, lo, hi, out, g->err);
}

static gb_status emit_window(pygen *g, const gb_node *node, int is_conv)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0), *y = em_out(p, node, 0);
	int64_t kd[3];
	if (is_conv) {
		const em_val *w = em_in(p, node, 1);
		if (w->ndim != x->ndim)
			return em_unsupported(g->err, p, node, "unexpected weight shape");
		for (int i = 0; i < w->ndim - 2 && i < 3; i++)
			kd[i] = w->dims[2 + i].c;
	} else {
		int64_t n_k;
		const int64_t *k = em_attr_ints(node, "kernel_shape", &n_k);
		if (!k || n_k != x->ndim - 2 || n_k > 3)
			return em_unsupported(g->err, p, node, "kernel_shape does not match the input");
		memcpy(kd, k, (size_t)n_k * sizeof *k);
		if (em_is_op(node, "MaxPool") && node->n_outputs > 1 && node->outputs[1] >= 0 && p->v[node->outputs[1]].live)
			return em_unsupported(g->err, p, node, "the Indices output is not supported by the emitters");
	}
	em_window w;
	gb_status st = em_window_of(p, node, kd, &w, g->err);
	if (st != GB_OK)
		return st;
	int off = 3 - w.k;
	em_buf *b = &g->body;
	if (is_conv) {
		g->used[P_CONV] = 1;
		em_printf(b, "        %s = gbx_conv(%s, %s, %s, ", y->id, x->id, em_in(p, node, 1)->id, id_of(em_in(p, node, 2)));
	} else {
		g->used[P_POOL] = 1;
		em_printf(b, "        %s = gbx_pool(%s, ", y->id, x->id);
		int_tuple(b, w.k, w.kernel + off);
		em_puts(b, ", ");
	}
	int_tuple(b, w.k, w.stride + off);
	em_puts(b, ", ");
	int_tuple(b, w.k, w.pad_begin + off);
	em_puts(b, ", ");
	if (!is_conv) {
		int_tuple(b, w.k, w.pad_end + off);
		em_puts(b, ", ");
	}
	int_tuple(b, w.k, w.dilation + off);
	if (is_conv)
		em_printf(b, ", %lld, ", (long long)em_attr_int(node, "group", 1));
	else
		em_puts(b, ", ");
	int_tuple(b, w.k, w.out + off);
	if (!is_conv)
		em_printf(b, ", %s, %s", em_is_op(node, "MaxPool") ? "True" : "False",
		          em_attr_int(node, "count_include_pad", 0) ? "True" : "False");
	em_puts(b, ")\n");
	return GB_OK;
}

static gb_status emit_reduce(pygen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0), *y = em_out(p, node, 0);
	int mask[GB_MAX_DIMS], noop = 0;
	int kind;
	if (em_is_op(node, "GlobalAveragePool") || em_is_op(node, "GlobalMaxPool")) {
		for (int d = 0; d < x->ndim; d++)
			mask[d] = d >= 2;
		kind = em_is_op(node, "GlobalMaxPool") ? 2 : 1;
	} else {
		gb_status st = em_reduce_axes(p, node, mask, &noop, g->err);
		if (st != GB_OK)
			return st;
		kind = em_is_op(node, "ReduceSum") ? 0 : em_is_op(node, "ReduceMean") ? 1 : em_is_op(node, "ReduceMax") ? 2 : 3;
	}
	if (x->dtype != GB_DTYPE_F32 && !(x->dtype == GB_DTYPE_I64 && kind != 1))
		return em_unsupported(g->err, p, node, "%s on %s is not supported by the emitters", node->op_type,
		                      gb_dtype_name(x->dtype));
	em_buf *b = &g->body;
	if (noop) {
		em_printf(b, "        %s = %s\n", y->id, x->id);
		return GB_OK;
	}
	int axes[GB_MAX_DIMS], n_axes = 0;
	for (int d = 0; d < x->ndim; d++)
		if (mask[d])
			axes[n_axes++] = d;
	char ax[128] = "(";
	for (int i = 0; i < n_axes; i++) {
		size_t len = strlen(ax);
		snprintf(ax + len, sizeof ax - len, "%s%d", i ? ", " : "", axes[i]);
	}
	strcat(ax, n_axes == 1 ? ",)" : ")");
	int f = x->dtype == GB_DTYPE_F32;
	if (kind == 0 || kind == 1)
		em_printf(b, "        %s = np.%s(%s, axis=%s, dtype=%s)", y->id, kind ? "mean" : "sum", x->id, ax,
		          f ? "np.float64" : "np.int64");
	else
		em_printf(b, "        %s = np.%s(%s, axis=%s, initial=%s)", y->id, kind == 2 ? "max" : "min", x->id, ax,
		          f ? (kind == 2 ? "-np.inf" : "np.inf")
		            : (kind == 2 ? "np.iinfo(np.int64).min" : "np.iinfo(np.int64).max"));
	em_printf(b, ".astype(%s).reshape(", np_dtype(y->dtype));
	mono_tuple(b, y->ndim, y->dims);
	em_puts(b, ")\n");
	return GB_OK;
}

static gb_status emit_node(pygen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const char *op = node->op_type;
	const em_val *x = em_in(p, node, 0), *y = em_out(p, node, 0);
	em_buf *b = &g->body;
	gb_status st;
	if (!strcmp(op, "Identity") || !strcmp(op, "Dropout") || !strcmp(op, "Flatten") || !strcmp(op, "Reshape") ||
	    !strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze")) {
		for (int k = 1; k < node->n_outputs; k++)
			if (node->outputs[k] >= 0 && p->v[node->outputs[k]].live)
				return em_unsupported(g->err, p, node, "output %d is not supported by the emitters", k);
		em_printf(b, "        %s = %s.reshape(", y->id, x->id);
		mono_tuple(b, y->ndim, y->dims);
		em_puts(b, ")\n");
		return GB_OK;
	}
	if (!strcmp(op, "Transpose")) {
		int64_t n_perm;
		const int64_t *perm = em_attr_ints(node, "perm", &n_perm);
		int64_t rev[GB_MAX_DIMS];
		for (int a = 0; a < x->ndim; a++)
			rev[a] = x->ndim - 1 - a;
		em_printf(b, "        %s = np.transpose(%s, ", y->id, x->id);
		int_tuple(b, x->ndim, n_perm >= 0 ? perm : rev);
		em_puts(b, ")\n");
		return GB_OK;
	}
	if (!strcmp(op, "Slice") || !strcmp(op, "Expand") || !strcmp(op, "Pad")) {
		em_axis_map map;
		if ((st = em_axis_map_of(p, node, &map, g->err)) != GB_OK)
			return st;
		g->used[P_REMAP] = 1;
		char lit[48];
		em_printf(b, "        %s = gbx_remap(%s, ", y->id, x->id);
		mono_tuple(b, y->ndim, y->dims);
		const em_mono *parts[5] = {map.before, map.count, map.start, map.step, map.stride};
		for (int q = 0; q < 5; q++) {
			em_puts(b, ", ");
			mono_tuple(b, map.ndim, parts[q]);
		}
		if (y->dtype == GB_DTYPE_F32)
			em_float_lit((float)map.value, 1, lit);
		else
			snprintf(lit, sizeof lit, "%lld", (long long)map.value);
		em_printf(b, ", %d, %s)\n", (int)map.fill, lit);
		return GB_OK;
	}
	if (!strcmp(op, "Concat")) {
		int axis = gb_axis(em_attr_int(node, "axis", 0), y->ndim);
		if (axis < 0)
			return em_unsupported(g->err, p, node, "bad axis");
		em_printf(b, "        %s = np.concatenate([", y->id);
		int first = 1;
		for (int k = 0; k < node->n_inputs; k++)
			if (em_in(p, node, k)) {
				em_printf(b, "%s%s", first ? "" : ", ", em_in(p, node, k)->id);
				first = 0;
			}
		em_printf(b, "], axis=%d)\n", axis);
		return GB_OK;
	}
	if (!strcmp(op, "Split")) {
		int axis = gb_axis(em_attr_int(node, "axis", 0), x->ndim);
		if (axis < 0)
			return em_unsupported(g->err, p, node, "bad axis");
		int64_t at[EM_RUNS] = {0};
		for (int k = 0; k < node->n_outputs; k++) {
			const em_val *yk = em_out(p, node, k);
			if (!yk)
				continue;
			int64_t end[EM_RUNS];
			em_mono lo, hi;
			for (int r = 0; r < p->n_runs; r++)
				end[r] = at[r] + yk->run_dims[r][axis];
			if (!em_fit(p, at, &lo) || !em_fit(p, end, &hi))
				return em_unsupported(g->err, p, node, "split sizes depend on the batch size");
			em_printf(b, "        %s = np.take(%s, np.arange(%s, %s), axis=%d)\n", yk->id, x->id, MONO(lo), MONO(hi),
			          axis);
			memcpy(at, end, sizeof at);
		}
		return GB_OK;
	}
	if (!strcmp(op, "Gather")) {
		int axis = gb_axis(em_attr_int(node, "axis", 0), x->ndim);
		if (axis < 0)
			return em_unsupported(g->err, p, node, "bad axis");
		em_printf(b, "        %s = np.take(%s, %s, axis=%d)\n", y->id, x->id, em_in(p, node, 1)->id, axis);
		return GB_OK;
	}
	if (!strcmp(op, "MatMul")) {
		if (x->dtype != GB_DTYPE_F32)
			return em_unsupported(g->err, p, node, "MatMul on %s is not supported by the emitters",
			                      gb_dtype_name(x->dtype));
		em_printf(b, "        %s = np.matmul(%s, %s)\n", y->id, x->id, em_in(p, node, 1)->id);
		return GB_OK;
	}
	if (!strcmp(op, "Gemm")) {
		const em_val *w = em_in(p, node, 1), *c = em_in(p, node, 2);
		if (x->ndim != 2 || w->ndim != 2)
			return em_unsupported(g->err, p, node, "Gemm needs 2-D operands");
		char al[48], be[48];
		float alpha = em_attr_float(node, "alpha", 1.0f), beta = em_attr_float(node, "beta", 1.0f);
		em_printf(b, "        %s = ", y->id);
		if (alpha != 1.0f)
			em_printf(b, "%s * ", em_float_lit(alpha, 1, al));
		em_printf(b, "np.matmul(%s%s, %s%s)", x->id, em_attr_int(node, "transA", 0) ? ".T" : "", w->id,
		          em_attr_int(node, "transB", 0) ? ".T" : "");
		if (c && beta == 1.0f)
			em_printf(b, " + %s", c->id);
		else if (c)
			em_printf(b, " + %s * %s", em_float_lit(beta, 1, be), c->id);
		em_puts(b, "\n");
		return GB_OK;
	}
	if (!strcmp(op, "Conv"))
		return emit_window(g, node, 1);
	if (!strcmp(op, "MaxPool") || !strcmp(op, "AveragePool")) {
		if (x->dtype != GB_DTYPE_F32)
			return em_unsupported(g->err, p, node, "pooling %s", gb_dtype_name(x->dtype));
		return emit_window(g, node, 0);
	}
	if (!strncmp(op, "Reduce", 6) || !strcmp(op, "GlobalAveragePool") || !strcmp(op, "GlobalMaxPool"))
		return emit_reduce(g, node);
	if (!strcmp(op, "ArgMax")) {
		int axis = gb_axis(em_attr_int(node, "axis", 0), x->ndim);
		if (axis < 0 || (x->dtype != GB_DTYPE_F32 && x->dtype != GB_DTYPE_I64))
			return em_unsupported(g->err, p, node, "ArgMax on %s", gb_dtype_name(x->dtype));
		if (em_attr_int(node, "select_last_index", 0))
			em_printf(b, "        %s = (%s - 1 - np.argmax(np.flip(%s, axis=%d), axis=%d)).astype(np.int64).reshape(",
			          y->id, MONO(x->dims[axis]), x->id, axis, axis);
		else
			em_printf(b, "        %s = np.argmax(%s, axis=%d).astype(np.int64).reshape(", y->id, x->id, axis);
		mono_tuple(b, y->ndim, y->dims);
		em_puts(b, ")\n");
		return GB_OK;
	}
	if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) {
		int legacy = !gb_opset_at_least(p->m, 13);
		int axis = gb_axis(em_attr_int(node, "axis", legacy ? 1 : -1), x->ndim);
		if (axis < 0)
			return em_unsupported(g->err, p, node, "bad axis");
		em_mono outer, L, inner = em_const(1);
		if ((st = fit_span(g, node, x, 0, axis, &outer)) != GB_OK ||
		    (st = fit_span(g, node, x, axis, legacy ? x->ndim : axis + 1, &L)) != GB_OK ||
		    (!legacy && (st = fit_span(g, node, x, axis + 1, x->ndim, &inner)) != GB_OK))
			return st;
		g->used[P_SOFTMAX] = 1;
		em_printf(b, "        %s = gbx_softmax(%s, %s, %s, %s, %s)\n", y->id, x->id, MONO(outer), MONO(L), MONO(inner),
		          em_is_op(node, "LogSoftmax") ? "True" : "False");
		return GB_OK;
	}
	if (!strcmp(op, "LayerNormalization")) {
		int axis = gb_axis(em_attr_int(node, "axis", -1), x->ndim);
		if (axis < 0)
			return em_unsupported(g->err, p, node, "bad axis");
		em_mono outer, inner;
		if ((st = fit_span(g, node, x, 0, axis, &outer)) != GB_OK || (st = fit_span(g, node, x, axis, x->ndim, &inner)) != GB_OK)
			return st;
		for (int k = 1; k <= 2; k++) {
			const em_val *s = em_in(p, node, k);
			em_mono n = s ? em_numel(s) : em_const(1);
			if (s && !em_mono_eq(n, em_const(1)) && !em_mono_eq(n, inner))
				return em_unsupported(g->err, p, node, "Scale or B broadcast along the outer dims is not supported "
				                                       "by the emitters");
		}
		g->used[P_LAYERNORM] = 1;
		const em_val *m1 = em_out(p, node, 1), *m2 = em_out(p, node, 2);
		char eps[48];
		em_printf(b, "        %s, gbx_mean, gbx_inv = gbx_layernorm(%s, %s, %s, %s, %s, %s)\n", y->id, x->id,
		          id_of(em_in(p, node, 1)), id_of(em_in(p, node, 2)), MONO(outer), MONO(inner),
		          em_float_lit(em_attr_float(node, "epsilon", 1e-5f), 1, eps));
		for (int k = 0; k < 2; k++) {
			const em_val *s = k ? m2 : m1;
			if (!s)
				continue;
			em_printf(b, "        %s = %s.reshape(", s->id, k ? "gbx_inv" : "gbx_mean");
			mono_tuple(b, s->ndim, s->dims);
			em_puts(b, ")\n");
		}
		return GB_OK;
	}
	if (!strcmp(op, "BatchNormalization")) {
		em_mono C = x->dims[1], inner;
		if ((st = fit_span(g, node, x, 2, x->ndim, &inner)) != GB_OK)
			return st;
		if (em_attr_int(node, "spatial", 1) == 0 && !gb_opset_at_least(p->m, 9))
			em_mono_mul(C, inner, &C);
		g->used[P_BATCHNORM] = 1;
		char eps[48];
		em_printf(b, "        %s = gbx_batchnorm(%s, %s, %s, %s, %s, %s, %s)\n", y->id, x->id, em_in(p, node, 1)->id,
		          em_in(p, node, 2)->id, em_in(p, node, 3)->id, em_in(p, node, 4)->id, MONO(C),
		          em_float_lit(em_attr_float(node, "epsilon", 1e-5f), 1, eps));
		return GB_OK;
	}
	if (!strcmp(op, "TopK")) {
		int axis = gb_axis(em_attr_int(node, "axis", -1), x->ndim);
		if (axis < 0 || (x->dtype != GB_DTYPE_F32 && x->dtype != GB_DTYPE_I64))
			return em_unsupported(g->err, p, node, "TopK on %s", gb_dtype_name(x->dtype));
		const em_val *vals = em_out(p, node, 0), *idx = em_out(p, node, 1);
		em_mono K = vals ? vals->dims[axis] : idx->dims[axis];
		g->used[P_TOPK] = 1;
		em_printf(b, "        %s, %s = gbx_topk(%s, %s, %d, %s)\n", vals ? vals->id : "_", idx ? idx->id : "_", x->id,
		          MONO(K), axis, em_attr_int(node, "largest", 1) ? "True" : "False");
		return GB_OK;
	}
	return emit_elementwise(g, node);
}

/* ==== the module ====================================================================================== */

static void emit_const(pygen *g, const em_val *v, const char *id)
{
	const gb_tensor *t = v->run_data[0];
	int64_t n = gb_tensor_numel(t);
	size_t es = gb_dtype_size(v->dtype);
	/* Little-endian bytes of the emitted dtype (float32, int64, bool). */
	size_t bytes = (size_t)n * es;
	unsigned char *raw = malloc(bytes ? bytes : 1);
	if (!raw) {
		g->consts.oom = 1;
		return;
	}
	for (int64_t i = 0; i < n; i++) {
		uint64_t bits = 0;
		if (v->dtype == GB_DTYPE_F32) {
			float f = t->dtype == GB_DTYPE_F32 ? ((const float *)t->data)[i] : (float)em_elem_f(t, i);
			uint32_t u;
			memcpy(&u, &f, 4);
			bits = u;
		} else {
			bits = (uint64_t)em_elem_i(t, i);
		}
		for (size_t k = 0; k < es; k++)
			raw[(size_t)i * es + k] = (unsigned char)(bits >> (8 * k));
	}
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	em_printf(&g->consts, "%s = gbx_array(%s, \"", id,
	          v->dtype == GB_DTYPE_F32 ? "'<f4'" : v->dtype == GB_DTYPE_I64 ? "'<i8'" : "'|b1'");
	size_t col = 0;
	for (size_t i = 0; i < bytes; i += 3) {
		uint32_t w = (uint32_t)raw[i] << 16 | (i + 1 < bytes ? (uint32_t)raw[i + 1] << 8 : 0) |
		             (i + 2 < bytes ? raw[i + 2] : 0);
		char q[5] = {b64[w >> 18 & 63], b64[w >> 12 & 63], i + 1 < bytes ? b64[w >> 6 & 63] : '=',
		             i + 2 < bytes ? b64[w & 63] : '=', 0};
		em_puts(&g->consts, q);
		col += 4;
		if (col >= 96 && i + 3 < bytes) {
			em_puts(&g->consts, "\"\n    \"");
			col = 0;
		}
	}
	free(raw);
	int64_t dims[GB_MAX_DIMS];
	for (int d = 0; d < t->ndim; d++)
		dims[d] = t->dims[d];
	em_puts(&g->consts, "\", ");
	int_tuple(&g->consts, t->ndim, dims);
	em_puts(&g->consts, ")\n");
}

static void describe(em_buf *b, const em_val *v, const char *role, const char *name)
{
	char shape[256];
	em_shape_str(v, shape, sizeof shape);
	em_printf(b, "    %-12s %s %s %s '%s'\n", v->id, gb_dtype_name(v->dtype), shape, role, name);
}

gb_status gb_emit_numpy(gb_model *m, const char *func_name, char **text, gb_error *err)
{
	em_plan plan;
	*text = NULL;
	const char *fname = func_name ? func_name : "model";
	gb_status st = em_check_func_name(fname, "Python", err);
	if (st != GB_OK)
		return st;
	const char *extra[] = {fname, "gbx_array", NULL};
	st = em_plan_build(&plan, m, "NumPy", extra, err);
	if (st != GB_OK)
		return st;
	pygen g = {.p = &plan, .err = err};
	em_buf out = {0};
	const char *label = m->label ? m->label : "model";
	for (int v = 0; v < m->n_values; v++)
		if (plan.v[v].const_used)
			emit_const(&g, &plan.v[v], plan.v[v].id);
	for (int i = 0; i < plan.n_order && st == GB_OK; i++) {
		const gb_node *node = &m->nodes[plan.order[i]];
		em_printf(&g.body, "        # %s: %s(", node->name, node->op_type);
		for (int k = 0; k < node->n_inputs; k++)
			em_printf(&g.body, "%s%s", k ? ", " : "", node->inputs[k] >= 0 ? plan.v[node->inputs[k]].id : "-");
		em_puts(&g.body, ") -> ");
		for (int k = 0, first = 1; k < node->n_outputs; k++) {
			const em_val *y = em_out(&plan, node, k);
			if (!y)
				continue;
			em_printf(&g.body, "%s%s [", first ? "" : ", ", y->id);
			for (int d = 0; d < y->ndim; d++)
				em_printf(&g.body, "%s%s", d ? ", " : "", MONO(y->dims[d]));
			em_puts(&g.body, "]");
			first = 0;
		}
		em_puts(&g.body, "\n");
		st = emit_node(&g, node);
	}
	if (st != GB_OK)
		goto fail;

	em_printf(&out, "\"\"\"%s — generated by 'glassbox emit --numpy' from %s (opset %lld).\n\n", fname, label,
	          (long long)m->opset);
	em_printf(&out, "%s(", fname);
	for (int i = 0; i < m->n_inputs; i++)
		em_printf(&out, "%s%s", i ? ", " : "", plan.v[m->inputs[i]].id);
	em_printf(&out, ") returns %s", m->n_outputs == 1 ? "" : "(");
	for (int i = 0; i < m->n_outputs; i++)
		em_printf(&out, "%s%s", i ? ", " : "", plan.v[m->outputs[i]].id);
	em_printf(&out, "%s\n\n", m->n_outputs == 1 ? "" : ")");
	for (int i = 0; i < m->n_inputs; i++)
		describe(&out, &plan.v[m->inputs[i]], "input", m->values[m->inputs[i]].name);
	for (int i = 0; i < m->n_outputs; i++)
		describe(&out, &plan.v[m->outputs[i]], "output", m->values[m->outputs[i]].name);
	em_printf(&out, "\n%s\nArrays are NumPy arrays (float32, int64, bool); computation is float32.\n\"\"\"\n",
	          plan.batched ? "n is the batch size: the leading axis of the inputs."
	                       : "Every shape of this model is static.");
	em_puts(&out, "import base64\nimport math\n\nimport numpy as np\n\n\n"
	              "def gbx_array(dtype, data, shape):\n"
	              "    return np.frombuffer(base64.b64decode(data), dtype=dtype).astype(dtype[1:]).reshape(shape)\n\n\n");
	if (g.consts.len)
		em_printf(&out, "%s\n\n", g.consts.s);
	for (int h = 0; h < P_COUNT; h++)
		if (g.used[h])
			em_printf(&out, "%s\n\n", helper_src[h]);
	em_printf(&out, "def %s(", fname);
	for (int i = 0; i < m->n_inputs; i++)
		em_printf(&out, "%s%s", i ? ", " : "", plan.v[m->inputs[i]].id);
	em_puts(&out, "):\n");
	int have_n = 0;
	for (int i = 0; i < m->n_inputs; i++) {
		const em_val *v = &plan.v[m->inputs[i]];
		em_printf(&out, "    %s = np.asarray(%s, dtype=%s)\n", v->id, v->id, np_dtype(v->dtype));
	}
	for (int i = 0; i < m->n_inputs && plan.batched; i++) {
		const gb_value *gv = &m->values[m->inputs[i]];
		const em_val *v = &plan.v[m->inputs[i]];
		if (gv->ndim > 0 && gv->dims[0] < 0) {
			if (!have_n)
				em_printf(&out, "    n = %s.shape[0]\n", v->id);
			have_n = 1;
		}
	}
	for (int i = 0; i < m->n_inputs; i++) {
		const em_val *v = &plan.v[m->inputs[i]];
		em_printf(&out, "    if %s.shape != ", v->id);
		mono_tuple(&out, v->ndim, v->dims);
		em_printf(&out, ":\n        raise ValueError('%s: expected shape %%s, got %%s' %% (", v->id);
		mono_tuple(&out, v->ndim, v->dims);
		em_printf(&out, ", %s.shape))\n", v->id);
	}
	em_puts(&out, "    with np.errstate(all='ignore'):\n");
	em_puts(&out, g.body.s ? g.body.s : "");
	if (!g.body.len)
		em_puts(&out, "        pass\n");
	em_puts(&out, "    return ");
	for (int i = 0; i < m->n_outputs; i++) {
		const em_val *v = &plan.v[m->outputs[i]];
		em_printf(&out, "%snp.ascontiguousarray(%s, dtype=%s).reshape(", i ? ", " : "", v->id, np_dtype(v->dtype));
		mono_tuple(&out, v->ndim, v->dims);
		em_puts(&out, ")");
	}
	em_puts(&out, "\n");
	if (out.oom || g.body.oom || g.consts.oom) {
		st = gb_fail(err, GB_STATUS_NOMEM, "emit: out of memory");
		goto fail;
	}
	*text = out.s;
	out.s = NULL;
fail:
	free(out.s);
	free(g.body.s);
	free(g.consts.s);
	em_plan_free(&plan);
	return st;
}
