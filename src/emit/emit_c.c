/*
 * emit_c.c — the C emitter: a model as one self-contained C11 file.
 *
 * Layout of the output: a comment documenting the function, the includes
 * (<math.h>, <stdint.h>, <stdlib.h>, <string.h>), the weights and folded
 * constants as static const arrays (floats printed with enough digits to
 * read back exactly), the helpers the graph needs (only those), and the
 * function: one block per node, named after the graph's values.
 *
 * Scratch: every intermediate value is a malloc'ed buffer, freed right after
 * its last reader; reshaping ops (Reshape, Flatten, Squeeze, Unsqueeze,
 * Identity, Dropout) share their input's buffer. The function returns 0, 1
 * when malloc fails, 2 when a Gather index or an integer divisor read from
 * the inputs is out of range (the outputs are then incomplete).
 *
 * Arithmetic follows the engine's kernels: float32 elementwise math with
 * the same formulas and libm functions, double accumulators where the
 * engine keeps them (reductions, softmax sums, normalisation statistics),
 * float accumulation in products (the engine's sgemm).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ==== helpers the generated code may include =================================== */

enum {
	H_ALLOC, H_OFFSET, H_BCAST, H_SIGMOID, H_SOFTPLUS, H_GELU_TANH, H_MAXF, H_MINF, H_MAXI, H_MINI, H_CLIPF,
	H_CLIPI, H_MATMUL, H_GEMM, H_CONV, H_POOL, H_REDUCE_F, H_REDUCE_I, H_ARGMAX_F, H_ARGMAX_I, H_SOFTMAX,
	H_LAYERNORM, H_BATCHNORM, H_REMAP, H_GATHER, H_COPY_ROWS, H_TOPK_F, H_TOPK_I, H_DIV_I, H_COUNT
};

/* The insertion step shared by gbx_topk_f32 and gbx_topk_i64: v goes to position at. */
#define TOPK_INSERT \
	"\t\t\t\tif (at >= K)\n" \
	"\t\t\t\t\tcontinue;\n" \
	"\t\t\t\tfor (int64_t q = (have < K ? have : K - 1); q > at; q--) {\n" \
	"\t\t\t\t\tvr[q * inner] = vr[(q - 1) * inner];\n" \
	"\t\t\t\t\tir[q * inner] = ir[(q - 1) * inner];\n" \
	"\t\t\t\t}\n" \
	"\t\t\t\tvr[at * inner] = v;\n" \
	"\t\t\t\tir[at * inner] = l;\n" \
	"\t\t\t\tif (have < K)\n" \
	"\t\t\t\t\thave++;\n" \
	"\t\t\t}\n" \
	"\t\t}\n" \
	"}\n"

static const char *const helper_src[H_COUNT] = {
	[H_ALLOC] = "/* count elements of size bytes each; NULL when it does not fit or malloc fails. */\n"
	            "static void *gbx_alloc(int64_t count, size_t size)\n"
	            "{\n"
	            "\tif (count < 0 || (uint64_t)count > SIZE_MAX / size)\n"
	            "\t\treturn NULL;\n"
	            "\treturn malloc(count ? (size_t)count * size : 1);\n"
	            "}\n",
	[H_OFFSET] = "/* Offset of flat index i of a [dims] walk in a tensor with these strides. */\n"
	             "static int64_t gbx_offset(int64_t i, int ndim, const int64_t *dims, const int64_t *strides)\n"
	             "{\n"
	             "\tint64_t off = 0;\n"
	             "\tfor (int a = ndim - 1; a >= 0; a--) {\n"
	             "\t\toff += (i % dims[a]) * strides[a];\n"
	             "\t\ti /= dims[a];\n"
	             "\t}\n"
	             "\treturn off;\n"
	             "}\n",
	[H_BCAST] = "",
	[H_SIGMOID] = "static float gbx_sigmoid(float u)\n"
	              "{\n"
	              "\tif (u >= 0.0f)\n"
	              "\t\treturn 1.0f / (1.0f + expf(-u));\n"
	              "\tfloat e = expf(u);\n"
	              "\treturn e / (1.0f + e);\n"
	              "}\n",
	[H_SOFTPLUS] = "/* log(1 + e^u) without overflow. */\n"
	               "static float gbx_softplus(float u)\n"
	               "{\n"
	               "\treturn u > 0.0f ? u + log1pf(expf(-u)) : log1pf(expf(u));\n"
	               "}\n",
	[H_GELU_TANH] = "static float gbx_gelu_tanh(float u)\n"
	                "{\n"
	                "\treturn 0.5f * u * (1.0f + tanhf(0.79788456080286535588f * (u + 0.044715f * u * u * u)));\n"
	                "}\n",
	[H_MAXF] = "/* max and min that propagate NaN, like numpy. */\n"
	           "static float gbx_maxf(float u, float v)\n"
	           "{\n"
	           "\treturn (u > v || u != u) ? u : v;\n"
	           "}\n",
	[H_MINF] = "static float gbx_minf(float u, float v)\n"
	           "{\n"
	           "\treturn (u < v || u != u) ? u : v;\n"
	           "}\n",
	[H_MAXI] = "static int64_t gbx_maxi(int64_t u, int64_t v)\n"
	           "{\n"
	           "\treturn u > v ? u : v;\n"
	           "}\n",
	[H_MINI] = "static int64_t gbx_mini(int64_t u, int64_t v)\n"
	           "{\n"
	           "\treturn u < v ? u : v;\n"
	           "}\n",
	[H_CLIPF] = "/* max then min: NaN stays NaN, lo > hi gives hi (the ONNX rule). */\n"
	            "static float gbx_clipf(float u, float lo, float hi)\n"
	            "{\n"
	            "\tfloat v = u < lo ? lo : u;\n"
	            "\treturn v > hi ? hi : v;\n"
	            "}\n",
	[H_CLIPI] = "static int64_t gbx_clipi(int64_t u, int64_t lo, int64_t hi)\n"
	            "{\n"
	            "\tint64_t v = u < lo ? lo : u;\n"
	            "\treturn v > hi ? hi : v;\n"
	            "}\n",
	[H_DIV_I] = "/* Integer division truncating toward zero; INT64_MIN / -1 wraps. */\n"
	            "static int64_t gbx_div_i64(int64_t u, int64_t v)\n"
	            "{\n"
	            "\treturn v == -1 ? (int64_t)(0 - (uint64_t)u) : u / v;\n"
	            "}\n",
	[H_MATMUL] = "/* y (M, N) = a (M, K) · b (K, N) */\n"
	             "static void gbx_matmul(const float *a, const float *b, float *y, int64_t M, int64_t K, int64_t N)\n"
	             "{\n"
	             "\tfor (int64_t i = 0; i < M; i++) {\n"
	             "\t\tfloat *yr = y + i * N;\n"
	             "\t\tfor (int64_t j = 0; j < N; j++)\n"
	             "\t\t\tyr[j] = 0.0f;\n"
	             "\t\tfor (int64_t k = 0; k < K; k++) {\n"
	             "\t\t\tconst float aik = a[i * K + k], *br = b + k * N;\n"
	             "\t\t\tfor (int64_t j = 0; j < N; j++)\n"
	             "\t\t\t\tyr[j] += aik * br[j];\n"
	             "\t\t}\n"
	             "\t}\n"
	             "}\n",
	[H_GEMM] = "/* y (M, N) = alpha · op(a) · op(b) + beta · c, op = transpose when ta / tb;\n"
	           " * c (may be NULL) is read at i * csm + j * csn (0 strides broadcast). */\n"
	           "static void gbx_gemm(const float *a, const float *b, const float *c, float *y, int64_t M, int64_t K,\n"
	           "                     int64_t N, int ta, int tb, float alpha, float beta, int64_t csm, int64_t csn)\n"
	           "{\n"
	           "\tfor (int64_t i = 0; i < M; i++)\n"
	           "\t\tfor (int64_t j = 0; j < N; j++) {\n"
	           "\t\t\tfloat acc = 0.0f;\n"
	           "\t\t\tfor (int64_t k = 0; k < K; k++)\n"
	           "\t\t\t\tacc += (ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);\n"
	           "\t\t\ty[i * N + j] = alpha * acc + (c ? beta * c[i * csm + j * csn] : 0.0f);\n"
	           "\t\t}\n"
	           "}\n",
	[H_CONV] = "/* 3-D convolution (lower ranks have leading spatial dims of size 1).\n"
	           " * x (N, C, in[0..2]), w (M, C/group, k[0..2]), b (M) or NULL, y (N, M, out[0..2]);\n"
	           " * g holds in[3] k[3] out[3] stride[3] pad_begin[3] dilation[3]. */\n"
	           "static void gbx_conv(const float *x, const float *w, const float *b, float *y, int64_t N, int64_t C,\n"
	           "                     int64_t M, int64_t group, const int64_t *g)\n"
	           "{\n"
	           "\tconst int64_t *in = g, *k = g + 3, *out = g + 6, *s = g + 9, *pb = g + 12, *d = g + 15;\n"
	           "\tint64_t Cg = C / group, Mg = M / group, IN = in[0] * in[1] * in[2], O = out[0] * out[1] * out[2];\n"
	           "\tint64_t KK = k[0] * k[1] * k[2];\n"
	           "\tfor (int64_t nb = 0; nb < N; nb++)\n"
	           "\t\tfor (int64_t m = 0; m < M; m++) {\n"
	           "\t\t\tint64_t gr = m / Mg;\n"
	           "\t\t\tfloat *yp = y + (nb * M + m) * O;\n"
	           "\t\t\tfor (int64_t o0 = 0; o0 < out[0]; o0++)\n"
	           "\t\t\t\tfor (int64_t o1 = 0; o1 < out[1]; o1++)\n"
	           "\t\t\t\t\tfor (int64_t o2 = 0; o2 < out[2]; o2++) {\n"
	           "\t\t\t\t\t\tfloat acc = 0.0f;\n"
	           "\t\t\t\t\t\tfor (int64_t c = 0; c < Cg; c++) {\n"
	           "\t\t\t\t\t\t\tconst float *xp = x + (nb * C + gr * Cg + c) * IN;\n"
	           "\t\t\t\t\t\t\tconst float *wp = w + (m * Cg + c) * KK;\n"
	           "\t\t\t\t\t\t\tfor (int64_t k0 = 0; k0 < k[0]; k0++) {\n"
	           "\t\t\t\t\t\t\t\tint64_t i0 = o0 * s[0] - pb[0] + k0 * d[0];\n"
	           "\t\t\t\t\t\t\t\tif (i0 < 0 || i0 >= in[0])\n"
	           "\t\t\t\t\t\t\t\t\tcontinue;\n"
	           "\t\t\t\t\t\t\t\tfor (int64_t k1 = 0; k1 < k[1]; k1++) {\n"
	           "\t\t\t\t\t\t\t\t\tint64_t i1 = o1 * s[1] - pb[1] + k1 * d[1];\n"
	           "\t\t\t\t\t\t\t\t\tif (i1 < 0 || i1 >= in[1])\n"
	           "\t\t\t\t\t\t\t\t\t\tcontinue;\n"
	           "\t\t\t\t\t\t\t\t\tfor (int64_t k2 = 0; k2 < k[2]; k2++) {\n"
	           "\t\t\t\t\t\t\t\t\t\tint64_t i2 = o2 * s[2] - pb[2] + k2 * d[2];\n"
	           "\t\t\t\t\t\t\t\t\t\tif (i2 < 0 || i2 >= in[2])\n"
	           "\t\t\t\t\t\t\t\t\t\t\tcontinue;\n"
	           "\t\t\t\t\t\t\t\t\t\tacc += wp[(k0 * k[1] + k1) * k[2] + k2] * xp[(i0 * in[1] + i1) * in[2] + i2];\n"
	           "\t\t\t\t\t\t\t\t\t}\n"
	           "\t\t\t\t\t\t\t\t}\n"
	           "\t\t\t\t\t\t\t}\n"
	           "\t\t\t\t\t\t}\n"
	           "\t\t\t\t\t\typ[(o0 * out[1] + o1) * out[2] + o2] = acc + (b ? b[m] : 0.0f);\n"
	           "\t\t\t\t\t}\n"
	           "\t\t}\n"
	           "}\n",
	[H_POOL] = "/* 3-D max or average pooling over planes (N·C) of in[0..2] -> out[0..2];\n"
	           " * g holds in[3] k[3] out[3] stride[3] pad_begin[3] dilation[3] pad_end[3].\n"
	           " * Max: the first maximum in window order (NaN wins). Average: divided by the\n"
	           " * taps inside the input, or inside the padded input (count_include_pad). */\n"
	           "static void gbx_pool(const float *x, float *y, int64_t planes, const int64_t *g, int is_max,\n"
	           "                     int count_include_pad)\n"
	           "{\n"
	           "\tconst int64_t *in = g, *k = g + 3, *out = g + 6, *s = g + 9, *pb = g + 12, *d = g + 15, *pe = g + 18;\n"
	           "\tint64_t IN = in[0] * in[1] * in[2], O = out[0] * out[1] * out[2];\n"
	           "\tfor (int64_t p = 0; p < planes; p++)\n"
	           "\t\tfor (int64_t o0 = 0; o0 < out[0]; o0++)\n"
	           "\t\t\tfor (int64_t o1 = 0; o1 < out[1]; o1++)\n"
	           "\t\t\t\tfor (int64_t o2 = 0; o2 < out[2]; o2++) {\n"
	           "\t\t\t\t\tconst int64_t o[3] = {o0, o1, o2};\n"
	           "\t\t\t\t\tint64_t lo[3], hi[3], padded = 1;\n"
	           "\t\t\t\t\tfor (int a = 0; a < 3; a++) {\n"
	           "\t\t\t\t\t\tint64_t start = o[a] * s[a] - pb[a];\n"
	           "\t\t\t\t\t\tint64_t l = start >= 0 ? 0 : (-start + d[a] - 1) / d[a];\n"
	           "\t\t\t\t\t\tint64_t h = start <= in[a] - 1 ? (in[a] - 1 - start) / d[a] + 1 : 0;\n"
	           "\t\t\t\t\t\tint64_t ph = (in[a] + pe[a] - start + d[a] - 1) / d[a];\n"
	           "\t\t\t\t\t\tlo[a] = l;\n"
	           "\t\t\t\t\t\thi[a] = h < k[a] ? h : k[a];\n"
	           "\t\t\t\t\t\tpadded *= ph < k[a] ? ph : k[a];\n"
	           "\t\t\t\t\t}\n"
	           "\t\t\t\t\tconst float *xp = x + p * IN;\n"
	           "\t\t\t\t\tfloat best = -INFINITY;\n"
	           "\t\t\t\t\tdouble sum = 0.0;\n"
	           "\t\t\t\t\tint64_t count = 0;\n"
	           "\t\t\t\t\tfor (int64_t t0 = lo[0]; t0 < hi[0]; t0++)\n"
	           "\t\t\t\t\t\tfor (int64_t t1 = lo[1]; t1 < hi[1]; t1++)\n"
	           "\t\t\t\t\t\t\tfor (int64_t t2 = lo[2]; t2 < hi[2]; t2++) {\n"
	           "\t\t\t\t\t\t\t\tint64_t i0 = o0 * s[0] - pb[0] + t0 * d[0], i1 = o1 * s[1] - pb[1] + t1 * d[1];\n"
	           "\t\t\t\t\t\t\t\tint64_t i2 = o2 * s[2] - pb[2] + t2 * d[2];\n"
	           "\t\t\t\t\t\t\t\tfloat v = xp[(i0 * in[1] + i1) * in[2] + i2];\n"
	           "\t\t\t\t\t\t\t\tif (v > best || (v != v && best == best))\n"
	           "\t\t\t\t\t\t\t\t\tbest = v;\n"
	           "\t\t\t\t\t\t\t\tsum += v;\n"
	           "\t\t\t\t\t\t\t\tcount++;\n"
	           "\t\t\t\t\t\t\t}\n"
	           "\t\t\t\t\tif (!count_include_pad)\n"
	           "\t\t\t\t\t\tpadded = count;\n"
	           "\t\t\t\t\ty[p * O + (o0 * out[1] + o1) * out[2] + o2] =\n"
	           "\t\t\t\t\t\tis_max ? best : (float)(sum / (double)padded);\n"
	           "\t\t\t\t}\n"
	           "}\n",
	[H_REDUCE_F] = "/* y[o] = sum / mean / max / min (kind 0..3) over the reduced dims rd (input\n"
	               " * strides rs) of the elements at kept position o (kept dims kd, strides ks).\n"
	               " * Sums in double; max/min take the first extreme in memory order (NaN wins). */\n"
	               "static void gbx_reduce_f32(const float *x, float *y, int nk, const int64_t *kd, const int64_t *ks,\n"
	               "                           int nr, const int64_t *rd, const int64_t *rs, int kind)\n"
	               "{\n"
	               "\tint64_t n_out = 1, n_red = 1;\n"
	               "\tfor (int a = 0; a < nk; a++)\n"
	               "\t\tn_out *= kd[a];\n"
	               "\tfor (int a = 0; a < nr; a++)\n"
	               "\t\tn_red *= rd[a];\n"
	               "\tfor (int64_t o = 0; o < n_out; o++) {\n"
	               "\t\tconst float *xo = x + gbx_offset(o, nk, kd, ks);\n"
	               "\t\tdouble sum = 0.0;\n"
	               "\t\tfloat ext = kind == 2 ? -INFINITY : INFINITY;\n"
	               "\t\tfor (int64_t r = 0; r < n_red; r++) {\n"
	               "\t\t\tfloat v = xo[gbx_offset(r, nr, rd, rs)];\n"
	               "\t\t\tsum += v;\n"
	               "\t\t\tif (kind == 2 ? (v > ext || (v != v && ext == ext)) : (v < ext || (v != v && ext == ext)))\n"
	               "\t\t\t\text = v;\n"
	               "\t\t}\n"
	               "\t\ty[o] = kind == 0 ? (float)sum : kind == 1 ? (float)(sum / (double)n_red) : ext;\n"
	               "\t}\n"
	               "}\n",
	[H_REDUCE_I] = "/* int64 sum (wrapping) / max / min (kind 0, 2, 3), laid out as gbx_reduce_f32. */\n"
	               "static void gbx_reduce_i64(const int64_t *x, int64_t *y, int nk, const int64_t *kd, const int64_t *ks,\n"
	               "                           int nr, const int64_t *rd, const int64_t *rs, int kind)\n"
	               "{\n"
	               "\tint64_t n_out = 1, n_red = 1;\n"
	               "\tfor (int a = 0; a < nk; a++)\n"
	               "\t\tn_out *= kd[a];\n"
	               "\tfor (int a = 0; a < nr; a++)\n"
	               "\t\tn_red *= rd[a];\n"
	               "\tfor (int64_t o = 0; o < n_out; o++) {\n"
	               "\t\tconst int64_t *xo = x + gbx_offset(o, nk, kd, ks);\n"
	               "\t\tuint64_t sum = 0;\n"
	               "\t\tint64_t ext = kind == 2 ? INT64_MIN : INT64_MAX;\n"
	               "\t\tfor (int64_t r = 0; r < n_red; r++) {\n"
	               "\t\t\tint64_t v = xo[gbx_offset(r, nr, rd, rs)];\n"
	               "\t\t\tsum += (uint64_t)v;\n"
	               "\t\t\tif (kind == 2 ? v > ext : v < ext)\n"
	               "\t\t\t\text = v;\n"
	               "\t\t}\n"
	               "\t\ty[o] = kind == 0 ? (int64_t)sum : ext;\n"
	               "\t}\n"
	               "}\n",
	[H_ARGMAX_F] = "/* Index along L of the maximum (or minimum) of x (outer, L, inner); the first\n"
	               " * one, or the last with select_last; a NaN counts as the extreme. */\n"
	               "static void gbx_argmax_f32(const float *x, int64_t *y, int64_t outer, int64_t L, int64_t inner,\n"
	               "                           int select_last, int is_min)\n"
	               "{\n"
	               "\tfor (int64_t o = 0; o < outer; o++)\n"
	               "\t\tfor (int64_t i = 0; i < inner; i++) {\n"
	               "\t\t\tconst float *xr = x + o * L * inner + i;\n"
	               "\t\t\tfloat best = xr[0];\n"
	               "\t\t\tint64_t at = 0;\n"
	               "\t\t\tfor (int64_t l = 1; l < L; l++) {\n"
	               "\t\t\t\tfloat v = xr[l * inner];\n"
	               "\t\t\t\tint better = is_min ? v < best : v > best;\n"
	               "\t\t\t\tint tie = v == best;\n"
	               "\t\t\t\tif (select_last ? (better || tie || v != v) : (better || (v != v && best == best))) {\n"
	               "\t\t\t\t\tbest = v;\n"
	               "\t\t\t\t\tat = l;\n"
	               "\t\t\t\t}\n"
	               "\t\t\t}\n"
	               "\t\t\ty[o * inner + i] = at;\n"
	               "\t\t}\n"
	               "}\n",
	[H_ARGMAX_I] = "static void gbx_argmax_i64(const int64_t *x, int64_t *y, int64_t outer, int64_t L, int64_t inner,\n"
	               "                           int select_last, int is_min)\n"
	               "{\n"
	               "\tfor (int64_t o = 0; o < outer; o++)\n"
	               "\t\tfor (int64_t i = 0; i < inner; i++) {\n"
	               "\t\t\tconst int64_t *xr = x + o * L * inner + i;\n"
	               "\t\t\tint64_t best = xr[0], at = 0;\n"
	               "\t\t\tfor (int64_t l = 1; l < L; l++) {\n"
	               "\t\t\t\tint64_t v = xr[l * inner];\n"
	               "\t\t\t\tif (is_min ? (select_last ? v <= best : v < best) : (select_last ? v >= best : v > best)) {\n"
	               "\t\t\t\t\tbest = v;\n"
	               "\t\t\t\t\tat = l;\n"
	               "\t\t\t\t}\n"
	               "\t\t\t}\n"
	               "\t\t\ty[o * inner + i] = at;\n"
	               "\t\t}\n"
	               "}\n",
	[H_SOFTMAX] = "/* Softmax or log-softmax of x (outer, L, inner) over L: the maximum subtracted\n"
	              " * before exp, the sum of exponentials in double. */\n"
	              "static void gbx_softmax(const float *x, float *y, int64_t outer, int64_t L, int64_t inner, int is_log)\n"
	              "{\n"
	              "\tfor (int64_t o = 0; o < outer; o++)\n"
	              "\t\tfor (int64_t i = 0; i < inner; i++) {\n"
	              "\t\t\tconst float *xr = x + o * L * inner + i;\n"
	              "\t\t\tfloat *yr = y + o * L * inner + i;\n"
	              "\t\t\tfloat mx = -INFINITY;\n"
	              "\t\t\tfor (int64_t l = 0; l < L; l++)\n"
	              "\t\t\t\tmx = xr[l * inner] > mx ? xr[l * inner] : mx;\n"
	              "\t\t\tdouble sum = 0.0;\n"
	              "\t\t\tif (is_log) {\n"
	              "\t\t\t\tfor (int64_t l = 0; l < L; l++)\n"
	              "\t\t\t\t\tsum += expf(xr[l * inner] - mx);\n"
	              "\t\t\t\tfloat logsum = (float)log(sum);\n"
	              "\t\t\t\tfor (int64_t l = 0; l < L; l++)\n"
	              "\t\t\t\t\tyr[l * inner] = (xr[l * inner] - mx) - logsum;\n"
	              "\t\t\t} else {\n"
	              "\t\t\t\tfor (int64_t l = 0; l < L; l++) {\n"
	              "\t\t\t\t\tyr[l * inner] = expf(xr[l * inner] - mx);\n"
	              "\t\t\t\t\tsum += yr[l * inner];\n"
	              "\t\t\t\t}\n"
	              "\t\t\t\tfloat inv = (float)(1.0 / sum);\n"
	              "\t\t\t\tfor (int64_t l = 0; l < L; l++)\n"
	              "\t\t\t\t\tyr[l * inner] *= inv;\n"
	              "\t\t\t}\n"
	              "\t\t}\n"
	              "}\n",
	[H_LAYERNORM] = "/* Layer normalisation of the rows of x (outer, inner): mean and variance in\n"
	                " * double, y = (x - mean) / sqrt(var + eps) * scale + bias, scale and bias read\n"
	                " * with element strides ss and bs (1, or 0 for one value); mean and inv_std\n"
	                " * (per row) may be NULL. */\n"
	                "static void gbx_layernorm(const float *x, const float *scale, int64_t ss, const float *bias,\n"
	                "                          int64_t bs, float *y, float *mean, float *inv_std, int64_t outer,\n"
	                "                          int64_t inner, float eps)\n"
	                "{\n"
	                "\tfor (int64_t o = 0; o < outer; o++) {\n"
	                "\t\tconst float *xr = x + o * inner;\n"
	                "\t\tfloat *yr = y + o * inner;\n"
	                "\t\tdouble s0 = 0.0, s1 = 0.0, q0 = 0.0, q1 = 0.0;\n"
	                "\t\tint64_t j = 0;\n"
	                "\t\tfor (; j + 2 <= inner; j += 2) {\n"
	                "\t\t\tdouble a = xr[j], b = xr[j + 1];\n"
	                "\t\t\ts0 += a;\n"
	                "\t\t\ts1 += b;\n"
	                "\t\t\tq0 += a * a;\n"
	                "\t\t\tq1 += b * b;\n"
	                "\t\t}\n"
	                "\t\tfor (; j < inner; j++) {\n"
	                "\t\t\ts0 += xr[j];\n"
	                "\t\t\tq0 += (double)xr[j] * xr[j];\n"
	                "\t\t}\n"
	                "\t\tdouble mu = inner ? (s0 + s1) / (double)inner : 0.0;\n"
	                "\t\tdouble var = inner ? (q0 + q1) / (double)inner - mu * mu : 0.0;\n"
	                "\t\tdouble r = 1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)eps);\n"
	                "\t\tif (mean)\n"
	                "\t\t\tmean[o] = (float)mu;\n"
	                "\t\tif (inv_std)\n"
	                "\t\t\tinv_std[o] = (float)r;\n"
	                "\t\tconst float fmu = (float)mu, fr = (float)r;\n"
	                "\t\tfor (j = 0; j < inner; j++)\n"
	                "\t\t\tyr[j] = (xr[j] - fmu) * fr * (scale ? scale[j * ss] : 1.0f) + (bias ? bias[j * bs] : 0.0f);\n"
	                "\t}\n"
	                "}\n",
	[H_BATCHNORM] = "/* Batch normalisation with running statistics: x (N, C, inner),\n"
	                " * y = x * a + b with a = scale / sqrt(var + eps), b = bias - mean * a per channel. */\n"
	                "static void gbx_batchnorm(const float *x, const float *scale, const float *bias, const float *mean,\n"
	                "                          const float *var, float *y, int64_t N, int64_t C, int64_t inner, float eps)\n"
	                "{\n"
	                "\tfor (int64_t c = 0; c < C; c++) {\n"
	                "\t\tdouble a = (double)scale[c] / sqrt((double)var[c] + (double)eps);\n"
	                "\t\tconst float fa = (float)a, fb = (float)((double)bias[c] - (double)mean[c] * a);\n"
	                "\t\tfor (int64_t nb = 0; nb < N; nb++) {\n"
	                "\t\t\tconst float *xr = x + (nb * C + c) * inner;\n"
	                "\t\t\tfloat *yr = y + (nb * C + c) * inner;\n"
	                "\t\t\tfor (int64_t i = 0; i < inner; i++)\n"
	                "\t\t\t\tyr[i] = xr[i] * fa + fb;\n"
	                "\t\t}\n"
	                "\t}\n"
	                "}\n",
	[H_REMAP] = "/* Moves elements of size es: output index i on axis a reads input index\n"
	            " * start + step * (i - before) when 0 <= i - before < count (input stride\n"
	            " * stride[a]); outside that, fill mode 0 writes *value, 1 repeats the edge,\n"
	            " * 2 reflects, 3 wraps around. Serves Transpose, Slice, Expand and Pad. */\n"
	            "static void gbx_remap(const void *x, void *y, size_t es, int ndim, const int64_t *dims,\n"
	            "                      const int64_t *before, const int64_t *count, const int64_t *start,\n"
	            "                      const int64_t *step, const int64_t *stride, int fill, const void *value)\n"
	            "{\n"
	            "\tint64_t total = 1, idx[8] = {0};\n"
	            "\tfor (int a = 0; a < ndim; a++)\n"
	            "\t\ttotal *= dims[a];\n"
	            "\tfor (int64_t o = 0; o < total; o++) {\n"
	            "\t\tint64_t off = 0;\n"
	            "\t\tint outside = 0;\n"
	            "\t\tfor (int a = 0; a < ndim; a++) {\n"
	            "\t\t\tint64_t j = idx[a] - before[a], n = count[a];\n"
	            "\t\t\tif (j < 0 || j >= n) {\n"
	            "\t\t\t\tif (fill == 1) {\n"
	            "\t\t\t\t\tj = j < 0 ? 0 : n - 1;\n"
	            "\t\t\t\t} else if (fill == 2) {\n"
	            "\t\t\t\t\tint64_t period = 2 * (n - 1);\n"
	            "\t\t\t\t\tif (n == 1) {\n"
	            "\t\t\t\t\t\tj = 0;\n"
	            "\t\t\t\t\t} else {\n"
	            "\t\t\t\t\t\tint64_t k = j % period;\n"
	            "\t\t\t\t\t\tif (k < 0)\n"
	            "\t\t\t\t\t\t\tk += period;\n"
	            "\t\t\t\t\t\tj = k < n ? k : period - k;\n"
	            "\t\t\t\t\t}\n"
	            "\t\t\t\t} else if (fill == 3) {\n"
	            "\t\t\t\t\tj %= n;\n"
	            "\t\t\t\t\tif (j < 0)\n"
	            "\t\t\t\t\t\tj += n;\n"
	            "\t\t\t\t} else {\n"
	            "\t\t\t\t\toutside = 1;\n"
	            "\t\t\t\t}\n"
	            "\t\t\t}\n"
	            "\t\t\toff += (start[a] + step[a] * j) * stride[a];\n"
	            "\t\t}\n"
	            "\t\tmemcpy((char *)y + (size_t)o * es, outside ? value : (const char *)x + (size_t)off * es, es);\n"
	            "\t\tfor (int a = ndim - 1; a >= 0 && ++idx[a] == dims[a]; a--)\n"
	            "\t\t\tidx[a] = 0;\n"
	            "\t}\n"
	            "}\n",
	[H_GATHER] = "/* y (outer, n_idx, inner) = x (outer, L, inner) at the indices along L\n"
	             " * (negative ones count from the end); -1 when one is out of range. */\n"
	             "static int gbx_gather(const void *x, const int64_t *idx, void *y, size_t es, int64_t outer, int64_t L,\n"
	             "                      int64_t n_idx, int64_t inner)\n"
	             "{\n"
	             "\tfor (int64_t q = 0; q < n_idx; q++)\n"
	             "\t\tif (idx[q] < -L || idx[q] >= L)\n"
	             "\t\t\treturn -1;\n"
	             "\tsize_t row = (size_t)inner * es;\n"
	             "\tfor (int64_t o = 0; o < outer; o++)\n"
	             "\t\tfor (int64_t q = 0; q < n_idx; q++) {\n"
	             "\t\t\tint64_t at = idx[q] < 0 ? idx[q] + L : idx[q];\n"
	             "\t\t\tif (row)\n"
	             "\t\t\t\tmemcpy((char *)y + (size_t)(o * n_idx + q) * row, (const char *)x + (size_t)(o * L + at) * row, row);\n"
	             "\t\t}\n"
	             "\treturn 0;\n"
	             "}\n",
	[H_COPY_ROWS] = "/* rows rows of width elements (size es) from src (row pitch sp) to dst (pitch dp). */\n"
	                "static void gbx_copy_rows(void *dst, int64_t dp, const void *src, int64_t sp, int64_t rows,\n"
	                "                          int64_t width, size_t es)\n"
	                "{\n"
	                "\tif (width == 0)\n"
	                "\t\treturn;\n"
	                "\tfor (int64_t r = 0; r < rows; r++)\n"
	                "\t\tmemcpy((char *)dst + (size_t)(r * dp) * es, (const char *)src + (size_t)(r * sp) * es,\n"
	                "\t\t       (size_t)width * es);\n"
	                "}\n",
	[H_TOPK_F] = "/* The K largest (or smallest) of x (outer, L, inner) along L, best first;\n"
	             " * equal values keep their order (the lower index first). */\n"
	             "static void gbx_topk_f32(const float *x, float *vals, int64_t *idx, int64_t outer, int64_t L,\n"
	             "                         int64_t inner, int64_t K, int largest)\n"
	             "{\n"
	             "\tfor (int64_t o = 0; o < outer; o++)\n"
	             "\t\tfor (int64_t i = 0; i < inner; i++) {\n"
	             "\t\t\tconst float *xr = x + o * L * inner + i;\n"
	             "\t\t\tfloat *vr = vals + o * K * inner + i;\n"
	             "\t\t\tint64_t *ir = idx + o * K * inner + i, have = 0;\n"
	             "\t\t\tfor (int64_t l = 0; l < L; l++) {\n"
	             "\t\t\t\tfloat v = xr[l * inner];\n"
	             "\t\t\t\tint64_t at = have;\n"
	             "\t\t\t\twhile (at > 0) {\n"
	             "\t\t\t\t\tfloat w = vr[(at - 1) * inner];\n"
	             "\t\t\t\t\tint before = largest ? (v > w || (v != v && w == w)) : (v < w || (w != w && v == v));\n"
	             "\t\t\t\t\tif (!before)\n"
	             "\t\t\t\t\t\tbreak;\n"
	             "\t\t\t\t\tat--;\n"
	             "\t\t\t\t}\n"
	             TOPK_INSERT,
	[H_TOPK_I] = "static void gbx_topk_i64(const int64_t *x, int64_t *vals, int64_t *idx, int64_t outer, int64_t L,\n"
	             "                         int64_t inner, int64_t K, int largest)\n"
	             "{\n"
	             "\tfor (int64_t o = 0; o < outer; o++)\n"
	             "\t\tfor (int64_t i = 0; i < inner; i++) {\n"
	             "\t\t\tconst int64_t *xr = x + o * L * inner + i;\n"
	             "\t\t\tint64_t *vr = vals + o * K * inner + i;\n"
	             "\t\t\tint64_t *ir = idx + o * K * inner + i, have = 0;\n"
	             "\t\t\tfor (int64_t l = 0; l < L; l++) {\n"
	             "\t\t\t\tint64_t v = xr[l * inner], at = have;\n"
	             "\t\t\t\twhile (at > 0 && (largest ? v > vr[(at - 1) * inner] : v < vr[(at - 1) * inner]))\n"
	             "\t\t\t\t\tat--;\n"
	             TOPK_INSERT,
};

/* ==== generator state ============================================================= */

typedef struct cgen {
	em_plan *p;
	gb_error *err;
	em_buf consts, body;
	int used[H_COUNT];
} cgen;

static const char *ctype(gb_dtype dt)
{
	return dt == GB_DTYPE_F32 ? "float" : dt == GB_DTYPE_I64 ? "int64_t" : "unsigned char";
}

static void use(cgen *g, int h)
{
	g->used[h] = 1;
	if (h == H_REDUCE_F || h == H_REDUCE_I)
		g->used[H_OFFSET] = 1;
}

#define MONO(m) em_mono_str((m), (char[64]){0})

/* "{a, b, c}" of monomials, or "{0}" for none. */
static void mono_list(em_buf *b, int n, const em_mono *v)
{
	em_puts(b, "{");
	for (int i = 0; i < n; i++)
		em_printf(b, "%s%s", i ? ", " : "", MONO(v[i]));
	em_puts(b, n ? "}" : "0}");
}

/* Fits per-run integers or fails with a message naming the node. */
static gb_status fit(cgen *g, const gb_node *node, const int64_t *per_run, em_mono *out, const char *what)
{
	return em_fit_node(g->p, node, per_run, out, what, g->err);
}

/* Product of a value's run dims over [lo, hi), fitted. */
static gb_status span(cgen *g, const gb_node *node, const em_val *v, int lo, int hi, em_mono *out)
{
	return em_span(g->p, node, v, lo, hi, out, g->err);
}

/* Identifier of output k, allocating its buffer unless it is a graph output. */
static const char *out_buf(cgen *g, const gb_node *node, int k)
{
	const em_val *y = em_out(g->p, node, k);
	if (!g->p->m->values[node->outputs[k]].is_output) {
		use(g, H_ALLOC);
		em_printf(&g->body, "\tif (!(%s = gbx_alloc(%s, sizeof(%s))))\n\t\tgoto fail;\n", y->id, MONO(em_numel(y)),
		          ctype(y->dtype));
	}
	return y->id;
}

/* ==== elementwise ops ===================================================================== */

/* Index expression of operand x inside a loop over y's elements (flat i). */
static void operand_index(cgen *g, const em_val *y, const em_val *x, int slot, char *out, size_t size)
{
	int R = y->ndim, off = R - x->ndim;
	em_mono xn = em_numel(x), yn = em_numel(y);
	if (em_mono_eq(xn, em_const(1))) {
		snprintf(out, size, "0");
		return;
	}
	/* Axes where x matches y (others must be 1 in x): one contiguous range [a, b)? */
	int match[GB_MAX_DIMS], a = -1, b = -1, contiguous = 1;
	for (int d = 0; d < R; d++) {
		int xd = d - off;
		em_mono xs = xd >= 0 ? x->dims[xd] : em_const(1);
		match[d] = em_mono_eq(xs, y->dims[d]) && !em_mono_eq(xs, em_const(1));
		if (match[d]) {
			if (a < 0)
				a = d;
			else if (b >= 0)
				contiguous = 0;
		} else if (a >= 0 && b < 0) {
			b = d;
		}
	}
	if (a >= 0 && b < 0)
		b = R;
	if (em_mono_eq(xn, yn)) {
		snprintf(out, size, "i");
		return;
	}
	if (contiguous && a >= 0) {
		em_mono inner = em_const(1), block = em_const(1);
		for (int d = b; d < R; d++)
			em_mono_mul(inner, y->dims[d], &inner);
		for (int d = a; d < b; d++)
			em_mono_mul(block, y->dims[d], &block);
		char in_s[64], bl_s[64];
		em_mono_str(inner, in_s);
		em_mono_str(block, bl_s);
		if (a == 0 && em_mono_eq(inner, em_const(1)))
			snprintf(out, size, "i");
		else if (a == 0)
			snprintf(out, size, "i / %s", in_s);
		else if (em_mono_eq(inner, em_const(1)))
			snprintf(out, size, "i %% %s", bl_s);
		else
			snprintf(out, size, "(i / %s) %% %s", in_s, bl_s);
		return;
	}
	/* General broadcast: dims and strides arrays declared in the node's block. */
	em_mono xs[GB_MAX_DIMS], st[GB_MAX_DIMS];
	em_strides(x, xs);
	for (int d = 0; d < R; d++)
		st[d] = d - off >= 0 && match[d] ? xs[d - off] : em_const(0);
	use(g, H_OFFSET);
	em_printf(&g->body, "\t\tconst int64_t gbx_d%d[] = ", slot);
	mono_list(&g->body, R, y->dims);
	em_printf(&g->body, ", gbx_s%d[] = ", slot);
	mono_list(&g->body, R, st);
	em_puts(&g->body, ";\n");
	snprintf(out, size, "gbx_offset(i, %d, gbx_d%d, gbx_s%d)", R, slot, slot);
}

/* Replaces $0..$9 in tmpl by the operands. */
static void expand(em_buf *b, const char *tmpl, char ops[][160])
{
	for (const char *c = tmpl; *c; c++) {
		if (c[0] == '$' && c[1] >= '0' && c[1] <= '9') {
			em_puts(b, ops[c[1] - '0']);
			c++;
		} else {
			em_printf(b, "%c", *c);
		}
	}
}

/* The C expression of an elementwise node in terms of $0.. (operands), or
 * NULL with err set. *guard receives a condition that makes the call fail
 * (integer division by zero), or NULL. */
static const char *elementwise_template(cgen *g, const gb_node *node, gb_dtype dt, char *tmp, size_t size,
                                        const char **guard)
{
	const char *op = node->op_type;
	int f = dt == GB_DTYPE_F32, i64 = dt == GB_DTYPE_I64, b8 = dt == GB_DTYPE_BOOL;
	char a[48], c[48];
	*guard = NULL;
	if (!strcmp(op, "Add"))
		return f ? "$0 + $1" : i64 ? "(int64_t)((uint64_t)$0 + (uint64_t)$1)" : NULL;
	if (!strcmp(op, "Sub"))
		return f ? "$0 - $1" : i64 ? "(int64_t)((uint64_t)$0 - (uint64_t)$1)" : NULL;
	if (!strcmp(op, "Mul"))
		return f ? "$0 * $1" : i64 ? "(int64_t)((uint64_t)$0 * (uint64_t)$1)" : NULL;
	if (!strcmp(op, "Div")) {
		if (i64) {
			use(g, H_DIV_I);
			*guard = "$1 == 0";
			return "gbx_div_i64($0, $1)";
		}
		return f ? "$0 / $1" : NULL;
	}
	if (!strcmp(op, "Pow")) {
		const em_val *e = em_in(g->p, node, 1);
		return !f ? NULL : e->dtype == GB_DTYPE_I64 ? "powf($0, (float)$1)" : e->dtype == GB_DTYPE_F32 ? "powf($0, $1)" : NULL;
	}
	if (!strcmp(op, "PRelu"))
		return f ? "$0 < 0.0f ? $1 * $0 : $0" : NULL;
	if (!strcmp(op, "Equal"))
		return b8 ? "($0 != 0) == ($1 != 0)" : "$0 == $1";
	if (em_compare_template(op, GB_DTYPE_F32)) /* an order comparison */
		return em_compare_template(op, dt);
	if (!strcmp(op, "And"))
		return b8 ? "$0 && $1" : NULL;
	if (!strcmp(op, "Or"))
		return b8 ? "$0 || $1" : NULL;
	if (!strcmp(op, "Xor"))
		return b8 ? "($0 != 0) != ($1 != 0)" : NULL;
	if (!strcmp(op, "Not"))
		return b8 ? "!$0" : NULL;
	if (!strcmp(op, "Where"))
		return "$0 ? $1 : $2";
	if (!strcmp(op, "Sum") || !strcmp(op, "Mean") || !strcmp(op, "Max") || !strcmp(op, "Min")) {
		int n = node->n_inputs;
		if (n > 10 || (!f && !i64) || (!f && !strcmp(op, "Mean")))
			return NULL;
		size_t len = 0;
		tmp[0] = '\0';
		int is_max = !strcmp(op, "Max"), is_min = !strcmp(op, "Min");
		if (is_max || is_min) {
			const char *fn = is_max ? (f ? "gbx_maxf" : "gbx_maxi") : (f ? "gbx_minf" : "gbx_mini");
			use(g, is_max ? (f ? H_MAXF : H_MAXI) : (f ? H_MINF : H_MINI));
			for (int k = 1; k < n; k++)
				len += (size_t)snprintf(tmp + len, size - len, "%s(", fn);
			len += (size_t)snprintf(tmp + len, size - len, "$0");
			for (int k = 1; k < n; k++)
				len += (size_t)snprintf(tmp + len, size - len, ", $%d)", k);
			return tmp;
		}
		int mean = !strcmp(op, "Mean");
		if (mean && n > 1)
			len += (size_t)snprintf(tmp + len, size - len, "(");
		for (int k = 0; k < n; k++) {
			if (i64 && k > 0)
				len += (size_t)snprintf(tmp + len, size - len, "(int64_t)((uint64_t)");
		}
		len += (size_t)snprintf(tmp + len, size - len, "$0");
		for (int k = 1; k < n; k++)
			len += (size_t)snprintf(tmp + len, size - len, i64 ? " + (uint64_t)$%d)" : " + $%d", k);
		if (mean && n > 1)
			snprintf(tmp + len, size - len, ") / %s", em_float_lit((float)n, 0, a));
		return tmp;
	}
	if (!strcmp(op, "Clip")) {
		/* bounds: operands $1 and $2 when given, else the attributes or infinities */
		const em_val *lo = em_in(g->p, node, 1), *hi = em_in(g->p, node, 2);
		int from_inputs = gb_opset_at_least(g->p->m, 11);
		if (!f && !i64)
			return NULL;
		char los[48], his[48];
		if (f) {
			float flo = from_inputs ? -INFINITY : em_attr_float(node, "min", -3.402823466e+38f);
			float fhi = from_inputs ? INFINITY : em_attr_float(node, "max", 3.402823466e+38f);
			snprintf(los, sizeof los, "%s", lo ? "$1" : em_float_lit(flo, 0, a));
			snprintf(his, sizeof his, "%s", hi ? "$2" : em_float_lit(fhi, 0, c));
			use(g, H_CLIPF);
			snprintf(tmp, size, "gbx_clipf($0, %s, %s)", los, his);
		} else {
			use(g, H_CLIPI);
			snprintf(tmp, size, "gbx_clipi($0, %s, %s)", lo ? "$1" : "INT64_MIN", hi ? "$2" : "INT64_MAX");
		}
		return tmp;
	}
	if (!strcmp(op, "Neg"))
		return f ? "-$0" : i64 ? "(int64_t)(0 - (uint64_t)$0)" : NULL;
	if (!strcmp(op, "Abs"))
		return f ? "fabsf($0)" : i64 ? "($0 < 0 ? (int64_t)(0 - (uint64_t)$0) : $0)" : NULL;
	if (!f && !em_is_op(node, "Cast"))
		return NULL;
	if (!strcmp(op, "Sqrt"))
		return "sqrtf($0)";
	if (!strcmp(op, "Exp"))
		return "expf($0)";
	if (!strcmp(op, "Log"))
		return "logf($0)";
	if (!strcmp(op, "Erf"))
		return "erff($0)";
	if (!strcmp(op, "Tanh"))
		return "tanhf($0)";
	if (!strcmp(op, "Relu"))
		return "$0 < 0.0f ? 0.0f : $0";
	if (!strcmp(op, "Sigmoid")) {
		use(g, H_SIGMOID);
		return "gbx_sigmoid($0)";
	}
	if (!strcmp(op, "Softplus")) {
		use(g, H_SOFTPLUS);
		return "gbx_softplus($0)";
	}
	if (!strcmp(op, "LeakyRelu")) {
		snprintf(tmp, size, "$0 < 0.0f ? %s * $0 : $0", em_float_lit(em_attr_float(node, "alpha", 0.01f), 0, a));
		return tmp;
	}
	if (!strcmp(op, "Elu")) {
		snprintf(tmp, size, "$0 < 0.0f ? %s * expm1f($0) : $0", em_float_lit(em_attr_float(node, "alpha", 1.0f), 0, a));
		return tmp;
	}
	if (!strcmp(op, "Selu")) {
		em_float_lit(em_attr_float(node, "alpha", 1.67326319217681884765625f), 0, a);
		em_float_lit(em_attr_float(node, "gamma", 1.05070102214813232421875f), 0, c);
		snprintf(tmp, size, "$0 > 0.0f ? %s * $0 : %s * %s * expm1f($0)", c, c, a);
		return tmp;
	}
	if (!strcmp(op, "Gelu")) {
		const char *approx = em_attr_string(node, "approximate", "none");
		if (!strcmp(approx, "tanh")) {
			use(g, H_GELU_TANH);
			return "gbx_gelu_tanh($0)";
		}
		return "0.5f * $0 * (1.0f + erff($0 * 0.70710678118654752440f))";
	}
	return NULL;
}

static gb_status emit_elementwise(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *y = em_out(p, node, 0), *x0 = em_in(p, node, 0);
	char tmp[600];
	const char *guard = NULL, *tmpl;
	if (em_is_op(node, "Cast") || em_is_op(node, "CastLike")) {
		/* ONNX TensorProto types: 1 float, 7 int64, 9 bool */
		int64_t to = em_cast_to(node, y);
		gb_dtype from = x0->dtype;
		if (to == 1)
			tmpl = from == GB_DTYPE_F32 ? "$0" : "(float)$0";
		else if (to == 7 && from == GB_DTYPE_F32) {
			/* truncation toward zero; NaN and values past int64 fail as in the engine */
			tmpl = "(int64_t)$0";
			guard = "!($0 >= -9223372036854775808.0f && $0 < 9223372036854775808.0f)";
		} else if (to == 7)
			tmpl = "(int64_t)$0";
		else if (to == 9)
			tmpl = "$0 != 0";
		else
			tmpl = NULL;
		if (!tmpl)
			return em_unsupported(g->err, p, node, "cast from %s to ONNX type %lld is not supported by the C emitter",
			                      gb_dtype_name(from), (long long)to);
	} else {
		gb_dtype dt = em_is_op(node, "Where") ? em_in(p, node, 1)->dtype : x0->dtype;
		tmpl = elementwise_template(g, node, dt, tmp, sizeof tmp, &guard);
		if (!tmpl)
			return em_unsupported(g->err, p, node, "%s on %s is not supported by the C emitter", node->op_type,
			                      gb_dtype_name(dt));
	}
	gb_status st = em_check_broadcast(p, node, g->err);
	if (st != GB_OK)
		return st;
	const char *yid = out_buf(g, node, 0);
	char ops[10][160];
	em_puts(&g->body, "\t{\n");
	for (int k = 0; k < node->n_inputs && k < 10; k++) {
		const em_val *x = em_in(p, node, k);
		char ref[4] = {'$', (char)('0' + k), 0};
		if (!x || (!strstr(tmpl, ref) && !(guard && strstr(guard, ref)))) {
			snprintf(ops[k], sizeof ops[k], "0");
			continue;
		}
		char idx[120];
		operand_index(g, y, x, k, idx, sizeof idx);
		snprintf(ops[k], sizeof ops[k], "%s[%s]", x->id, idx);
	}
	em_printf(&g->body, "\t\tfor (int64_t i = 0; i < %s; i++)", MONO(em_numel(y)));
	if (guard) {
		em_puts(&g->body, " {\n\t\t\tif (");
		expand(&g->body, guard, ops);
		em_puts(&g->body, ") {\n\t\t\t\tstatus = 2;\n\t\t\t\tgoto fail;\n\t\t\t}\n\t\t\t");
	} else {
		em_puts(&g->body, "\n\t\t\t");
	}
	em_printf(&g->body, "%s[i] = ", yid);
	expand(&g->body, tmpl, ops);
	em_puts(&g->body, guard ? ";\n\t\t}\n\t}\n" : ";\n\t}\n");
	return GB_OK;
}

/* ==== data movement =========================================================================== */

static gb_status emit_alias(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0), *y = em_out(p, node, 0);
	for (int k = 1; k < node->n_outputs; k++)
		if (node->outputs[k] >= 0 && p->v[node->outputs[k]].live)
			return em_unsupported(g->err, p, node, "output %d is not supported by the emitters", k);
	if (y->alias >= 0) {
		em_printf(&g->body, "\t%s = %s;\n", y->id, x->id);
		return GB_OK;
	}
	const char *yid = out_buf(g, node, 0);
	em_printf(&g->body, "\tmemcpy(%s, %s, sizeof(%s) * (size_t)%s);\n", yid, x->id, ctype(y->dtype),
	          MONO(em_numel(y)));
	return GB_OK;
}

static gb_status emit_remap(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	em_axis_map map;
	gb_status st = em_axis_map_of(p, node, &map, g->err);
	if (st != GB_OK)
		return st;
	const em_val *x = em_in(p, node, 0), *y = em_out(p, node, 0);
	const char *yid = out_buf(g, node, 0);
	use(g, H_REMAP);
	em_buf *b = &g->body;
	em_puts(b, "\t{\n\t\tconst int64_t gbx_dims[] = ");
	mono_list(b, y->ndim, y->dims);
	em_puts(b, ", gbx_before[] = ");
	mono_list(b, map.ndim, map.before);
	em_puts(b, ",\n\t\t              gbx_count[] = ");
	mono_list(b, map.ndim, map.count);
	em_puts(b, ", gbx_start[] = ");
	mono_list(b, map.ndim, map.start);
	em_puts(b, ",\n\t\t              gbx_step[] = ");
	mono_list(b, map.ndim, map.step);
	em_puts(b, ", gbx_stride[] = ");
	mono_list(b, map.ndim, map.stride);
	em_puts(b, ";\n");
	char lit[48];
	if (y->dtype == GB_DTYPE_F32)
		em_printf(b, "\t\tconst float gbx_value = %s;\n", em_float_lit((float)map.value, 0, lit));
	else
		em_printf(b, "\t\tconst %s gbx_value = %lld;\n", ctype(y->dtype), (long long)map.value);
	em_printf(b, "\t\tgbx_remap(%s, %s, sizeof(%s), %d, gbx_dims, gbx_before, gbx_count, gbx_start, gbx_step, "
	             "gbx_stride, %d, &gbx_value);\n\t}\n",
	          x->id, yid, ctype(y->dtype), y->ndim, (int)map.fill);
	return GB_OK;
}

static gb_status emit_concat(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *y = em_out(p, node, 0);
	int axis = gb_axis(em_attr_int(node, "axis", 0), y->ndim);
	if (axis < 0)
		return em_unsupported(g->err, p, node, "bad axis");
	const char *yid = out_buf(g, node, 0);
	use(g, H_COPY_ROWS);
	em_mono outer, total;
	gb_status st = span(g, node, y, 0, axis, &outer);
	if (st == GB_OK)
		st = span(g, node, y, axis, y->ndim, &total);
	int64_t at[EM_RUNS] = {0};
	for (int k = 0; k < node->n_inputs && st == GB_OK; k++) {
		const em_val *x = em_in(p, node, k);
		if (!x)
			continue;
		em_mono blk, off;
		if ((st = span(g, node, x, axis, x->ndim, &blk)) != GB_OK || (st = fit(g, node, at, &off, "an offset")) != GB_OK)
			break;
		em_printf(&g->body, "\tgbx_copy_rows(%s + %s, %s, %s, %s, %s, %s, sizeof(%s));\n", yid, MONO(off),
		          MONO(total), x->id, MONO(blk), MONO(outer), MONO(blk), ctype(y->dtype));
		for (int r = 0; r < p->n_runs; r++) {
			int64_t b = 1;
			for (int d = axis; d < x->ndim; d++)
				b *= x->run_dims[r][d];
			at[r] += b;
		}
	}
	return st;
}

static gb_status emit_split(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0);
	int axis = gb_axis(em_attr_int(node, "axis", 0), x->ndim);
	if (axis < 0)
		return em_unsupported(g->err, p, node, "bad axis");
	use(g, H_COPY_ROWS);
	em_mono outer, total;
	gb_status st = span(g, node, x, 0, axis, &outer);
	if (st == GB_OK)
		st = span(g, node, x, axis, x->ndim, &total);
	int64_t at[EM_RUNS] = {0};
	for (int k = 0; k < node->n_outputs && st == GB_OK; k++) {
		const em_val *y = em_out(p, node, k);
		if (!y)
			continue;
		em_mono blk, off;
		if ((st = span(g, node, y, axis, y->ndim, &blk)) != GB_OK || (st = fit(g, node, at, &off, "an offset")) != GB_OK)
			break;
		const char *yid = out_buf(g, node, k);
		em_printf(&g->body, "\tgbx_copy_rows(%s, %s, %s + %s, %s, %s, %s, sizeof(%s));\n", yid, MONO(blk), x->id,
		          MONO(off), MONO(total), MONO(outer), MONO(blk), ctype(y->dtype));
		for (int r = 0; r < p->n_runs; r++) {
			int64_t b = 1;
			for (int d = axis; d < y->ndim; d++)
				b *= y->run_dims[r][d];
			at[r] += b;
		}
	}
	return st;
}

static gb_status emit_gather(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0), *idx = em_in(p, node, 1), *y = em_out(p, node, 0);
	int axis = gb_axis(em_attr_int(node, "axis", 0), x->ndim);
	if (axis < 0)
		return em_unsupported(g->err, p, node, "bad axis");
	if (idx->dtype != GB_DTYPE_I64)
		return em_unsupported(g->err, p, node, "indices of type %s are not supported by the C emitter",
		                      gb_dtype_name(idx->dtype));
	em_mono outer, inner;
	gb_status st = span(g, node, x, 0, axis, &outer);
	if (st == GB_OK)
		st = span(g, node, x, axis + 1, x->ndim, &inner);
	if (st != GB_OK)
		return st;
	const char *yid = out_buf(g, node, 0);
	use(g, H_GATHER);
	em_printf(&g->body, "\tif (gbx_gather(%s, %s, %s, sizeof(%s), %s, %s, %s, %s) != 0) {\n\t\tstatus = 2;\n\t\tgoto fail;\n\t}\n",
	          x->id, idx->id, yid, ctype(y->dtype), MONO(outer), MONO(x->dims[axis]), MONO(em_numel(idx)),
	          MONO(inner));
	return GB_OK;
}

/* ==== linear algebra ================================================================================ */

static gb_status emit_matmul(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *a = em_in(p, node, 0), *b = em_in(p, node, 1), *y = em_out(p, node, 0);
	if (a->dtype != GB_DTYPE_F32 || b->dtype != GB_DTYPE_F32)
		return em_unsupported(g->err, p, node, "MatMul on %s is not supported by the emitters", gb_dtype_name(a->dtype));
	if (a->ndim < 1 || b->ndim < 1)
		return em_unsupported(g->err, p, node, "scalar operands");
	em_mono M = a->ndim >= 2 ? a->dims[a->ndim - 2] : em_const(1), K = a->dims[a->ndim - 1];
	em_mono N = b->ndim >= 2 ? b->dims[b->ndim - 1] : em_const(1);
	/* Batch shapes: a's, b's and y's leading dims. */
	em_val ab = {0}, bb = {0}, yb = {0};
	ab.ndim = a->ndim > 2 ? a->ndim - 2 : 0;
	bb.ndim = b->ndim > 2 ? b->ndim - 2 : 0;
	yb.ndim = ab.ndim > bb.ndim ? ab.ndim : bb.ndim;
	memcpy(ab.dims, a->dims, sizeof(em_mono) * (size_t)ab.ndim);
	memcpy(bb.dims, b->dims, sizeof(em_mono) * (size_t)bb.ndim);
	memcpy(yb.dims, y->dims, sizeof(em_mono) * (size_t)yb.ndim);
	const char *yid = out_buf(g, node, 0);
	use(g, H_MATMUL);
	em_mono MK, KN, MN;
	em_mono_mul(M, K, &MK);
	em_mono_mul(K, N, &KN);
	em_mono_mul(M, N, &MN);
	em_puts(&g->body, "\t{\n");
	char ia[120], ib[120];
	operand_index(g, &yb, &ab, 0, ia, sizeof ia);
	operand_index(g, &yb, &bb, 1, ib, sizeof ib);
	em_printf(&g->body, "\t\tfor (int64_t i = 0; i < %s; i++)\n", MONO(em_numel(&yb)));
	em_printf(&g->body, "\t\t\tgbx_matmul(%s + (%s) * %s, %s + (%s) * %s, %s + i * %s, %s, %s, %s);\n\t}\n", a->id, ia,
	          MONO(MK), b->id, ib, MONO(KN), yid, MONO(MN), MONO(M), MONO(K), MONO(N));
	return GB_OK;
}

static gb_status emit_gemm(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *a = em_in(p, node, 0), *b = em_in(p, node, 1), *c = em_in(p, node, 2), *y = em_out(p, node, 0);
	if (a->ndim != 2 || b->ndim != 2 || a->dtype != GB_DTYPE_F32)
		return em_unsupported(g->err, p, node, "Gemm needs 2-D float32 operands");
	int ta = (int)em_attr_int(node, "transA", 0), tb = (int)em_attr_int(node, "transB", 0);
	em_mono M = y->dims[0], N = y->dims[1], K = ta ? a->dims[0] : a->dims[1];
	char al[48], be[48];
	em_float_lit(em_attr_float(node, "alpha", 1.0f), 0, al);
	em_float_lit(em_attr_float(node, "beta", 1.0f), 0, be);
	em_mono csm = em_const(0), csn = em_const(0);
	if (c) {
		em_mono cm = c->ndim >= 2 ? c->dims[c->ndim - 2] : em_const(1);
		em_mono cn = c->ndim >= 1 ? c->dims[c->ndim - 1] : em_const(1);
		csn = em_mono_eq(cn, em_const(1)) ? em_const(0) : em_const(1);
		csm = em_mono_eq(cm, em_const(1)) ? em_const(0) : cn;
	}
	const char *yid = out_buf(g, node, 0);
	use(g, H_GEMM);
	em_printf(&g->body, "\tgbx_gemm(%s, %s, %s, %s, %s, %s, %s, %d, %d, %s, %s, %s, %s);\n", a->id, b->id,
	          c ? c->id : "NULL", yid, MONO(M), MONO(K), MONO(N), ta, tb, al, be, MONO(csm), MONO(csn));
	return GB_OK;
}

/* ==== convolution and pooling ============================================================================ */

static void window_list(em_buf *b, const em_window *w, int with_end)
{
	const int64_t *parts[7] = {w->in, w->kernel, w->out, w->stride, w->pad_begin, w->dilation, w->pad_end};
	em_puts(b, "{");
	for (int q = 0; q < (with_end ? 7 : 6); q++)
		for (int a = 0; a < 3; a++)
			em_printf(b, "%s%lld", q || a ? ", " : "", (long long)parts[q][a]);
	em_puts(b, "}");
}

static gb_status emit_conv(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0), *w = em_in(p, node, 1), *bias = em_in(p, node, 2), *y = em_out(p, node, 0);
	if (w->ndim != x->ndim || w->dims[0].p || w->dims[1].p)
		return em_unsupported(g->err, p, node, "unexpected weight shape");
	int64_t kd[3];
	for (int i = 0; i < w->ndim - 2 && i < 3; i++)
		kd[i] = w->dims[2 + i].c;
	em_window win;
	gb_status st = em_window_of(p, node, kd, &win, g->err);
	if (st != GB_OK)
		return st;
	const char *yid = out_buf(g, node, 0);
	use(g, H_CONV);
	em_puts(&g->body, "\t{\n\t\tconst int64_t gbx_geom[] = ");
	window_list(&g->body, &win, 0);
	em_printf(&g->body, ";\n\t\tgbx_conv(%s, %s, %s, %s, %s, %s, %s, %lld, gbx_geom);\n\t}\n", x->id, w->id,
	          bias ? bias->id : "NULL", yid, MONO(x->dims[0]), MONO(x->dims[1]), MONO(y->dims[1]),
	          (long long)em_attr_int(node, "group", 1));
	return GB_OK;
}

static gb_status emit_pool(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0);
	int is_max = em_is_op(node, "MaxPool");
	if (is_max && node->n_outputs > 1 && node->outputs[1] >= 0 && p->v[node->outputs[1]].live)
		return em_unsupported(g->err, p, node, "the Indices output is not supported by the emitters");
	if (x->dtype != GB_DTYPE_F32)
		return em_unsupported(g->err, p, node, "pooling %s", gb_dtype_name(x->dtype));
	int64_t n_k;
	const int64_t *k = em_attr_ints(node, "kernel_shape", &n_k);
	if (!k || n_k != x->ndim - 2)
		return em_unsupported(g->err, p, node, "kernel_shape does not match the input");
	em_window win;
	gb_status st = em_window_of(p, node, k, &win, g->err);
	if (st != GB_OK)
		return st;
	em_mono planes;
	em_mono_mul(x->dims[0], x->dims[1], &planes);
	const char *yid = out_buf(g, node, 0);
	use(g, H_POOL);
	em_puts(&g->body, "\t{\n\t\tconst int64_t gbx_geom[] = ");
	window_list(&g->body, &win, 1);
	em_printf(&g->body, ";\n\t\tgbx_pool(%s, %s, %s, gbx_geom, %d, %d);\n\t}\n", x->id, yid, MONO(planes), is_max,
	          (int)em_attr_int(node, "count_include_pad", 0));
	return GB_OK;
}

/* ==== reductions and normalisations ============================================================================ */

static gb_status emit_reduce_mask(cgen *g, const gb_node *node, const int *mask, int kind)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0), *y = em_out(p, node, 0);
	if (x->dtype != GB_DTYPE_F32 && !(x->dtype == GB_DTYPE_I64 && kind != 1))
		return em_unsupported(g->err, p, node, "%s on %s is not supported by the emitters", node->op_type,
		                      gb_dtype_name(x->dtype));
	em_mono st[GB_MAX_DIMS], kd[GB_MAX_DIMS], ks[GB_MAX_DIMS], rd[GB_MAX_DIMS], rs[GB_MAX_DIMS];
	em_strides(x, st);
	int nk = 0, nr = 0;
	for (int d = 0; d < x->ndim; d++) {
		if (mask[d]) {
			rd[nr] = x->dims[d];
			rs[nr++] = st[d];
		} else {
			kd[nk] = x->dims[d];
			ks[nk++] = st[d];
		}
	}
	const char *yid = out_buf(g, node, 0);
	int f = x->dtype == GB_DTYPE_F32;
	use(g, f ? H_REDUCE_F : H_REDUCE_I);
	em_buf *b = &g->body;
	em_puts(b, "\t{\n\t\tconst int64_t gbx_kd[] = ");
	mono_list(b, nk, kd);
	em_puts(b, ", gbx_ks[] = ");
	mono_list(b, nk, ks);
	em_puts(b, ", gbx_rd[] = ");
	mono_list(b, nr, rd);
	em_puts(b, ", gbx_rs[] = ");
	mono_list(b, nr, rs);
	em_printf(b, ";\n\t\tgbx_reduce_%s(%s, %s, %d, gbx_kd, gbx_ks, %d, gbx_rd, gbx_rs, %d);\n\t}\n", f ? "f32" : "i64",
	          x->id, yid, nk, nr, kind);
	(void)y;
	return GB_OK;
}

static gb_status emit_reduce(cgen *g, const gb_node *node)
{
	int mask[GB_MAX_DIMS], noop;
	const em_val *x = em_in(g->p, node, 0);
	if (em_is_op(node, "GlobalAveragePool") || em_is_op(node, "GlobalMaxPool")) {
		for (int d = 0; d < x->ndim; d++)
			mask[d] = d >= 2;
		return emit_reduce_mask(g, node, mask, em_is_op(node, "GlobalMaxPool") ? 2 : 1);
	}
	gb_status st = em_reduce_axes(g->p, node, mask, &noop, g->err);
	if (st != GB_OK)
		return st;
	int kind = em_is_op(node, "ReduceSum") ? 0 : em_is_op(node, "ReduceMean") ? 1 : em_is_op(node, "ReduceMax") ? 2 : 3;
	if (noop) {
		const em_val *y = em_out(g->p, node, 0);
		const char *yid = out_buf(g, node, 0);
		em_printf(&g->body, "\tmemcpy(%s, %s, sizeof(%s) * (size_t)%s);\n", yid, x->id, ctype(y->dtype),
		          MONO(em_numel(y)));
		return GB_OK;
	}
	return emit_reduce_mask(g, node, mask, kind);
}

/* (outer, L, inner) around axis of value x. */
static gb_status around_axis(cgen *g, const gb_node *node, const em_val *x, int axis, em_mono *outer, em_mono *L,
                             em_mono *inner)
{
	gb_status st = span(g, node, x, 0, axis, outer);
	if (st == GB_OK)
		st = span(g, node, x, axis, axis + 1, L);
	if (st == GB_OK)
		st = span(g, node, x, axis + 1, x->ndim, inner);
	return st;
}

static gb_status emit_argmax(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0);
	int axis = gb_axis(em_attr_int(node, "axis", 0), x->ndim);
	if (axis < 0)
		return em_unsupported(g->err, p, node, "bad axis");
	if (x->dtype != GB_DTYPE_F32 && x->dtype != GB_DTYPE_I64)
		return em_unsupported(g->err, p, node, "ArgMax on %s", gb_dtype_name(x->dtype));
	em_mono outer, L, inner;
	gb_status st = around_axis(g, node, x, axis, &outer, &L, &inner);
	if (st != GB_OK)
		return st;
	const char *yid = out_buf(g, node, 0);
	int f = x->dtype == GB_DTYPE_F32;
	use(g, f ? H_ARGMAX_F : H_ARGMAX_I);
	em_printf(&g->body, "\tgbx_argmax_%s(%s, %s, %s, %s, %s, %d, %d);\n", f ? "f32" : "i64", x->id, yid, MONO(outer),
	          MONO(L), MONO(inner), (int)em_attr_int(node, "select_last_index", 0), em_is_op(node, "ArgMin"));
	return GB_OK;
}

static gb_status emit_softmax(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0);
	int legacy = !gb_opset_at_least(p->m, 13);
	int axis = gb_axis(em_attr_int(node, "axis", legacy ? 1 : -1), x->ndim);
	if (axis < 0 && x->ndim > 0)
		return em_unsupported(g->err, p, node, "bad axis");
	em_mono outer, L, inner;
	gb_status st;
	if (legacy) {
		st = span(g, node, x, 0, axis, &outer);
		if (st == GB_OK)
			st = span(g, node, x, axis, x->ndim, &L);
		inner = em_const(1);
	} else {
		st = around_axis(g, node, x, axis, &outer, &L, &inner);
	}
	if (st != GB_OK)
		return st;
	const char *yid = out_buf(g, node, 0);
	use(g, H_SOFTMAX);
	em_printf(&g->body, "\tgbx_softmax(%s, %s, %s, %s, %s, %d);\n", x->id, yid, MONO(outer), MONO(L), MONO(inner),
	          em_is_op(node, "LogSoftmax"));
	return GB_OK;
}

/* Element stride of LayerNormalization's Scale or B over a row of inner
 * elements: 1 when it has the normalised shape, 0 for one value; -1 otherwise. */
static int row_stride(const em_val *s, em_mono inner)
{
	em_mono n = em_numel(s);
	if (em_mono_eq(n, em_const(1)))
		return 0;
	return em_mono_eq(n, inner) ? 1 : -1;
}

static gb_status emit_layernorm(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0), *s = em_in(p, node, 1), *b = em_in(p, node, 2);
	int axis = gb_axis(em_attr_int(node, "axis", -1), x->ndim);
	if (axis < 0)
		return em_unsupported(g->err, p, node, "bad axis");
	em_mono outer, inner;
	gb_status st = span(g, node, x, 0, axis, &outer);
	if (st == GB_OK)
		st = span(g, node, x, axis, x->ndim, &inner);
	if (st != GB_OK)
		return st;
	int ss = s ? row_stride(s, inner) : 0, bs = b ? row_stride(b, inner) : 0;
	if (ss < 0 || bs < 0)
		return em_unsupported(g->err, p, node, "Scale or B broadcast along the outer dims is not supported by the "
		                                       "emitters");
	const char *yid = out_buf(g, node, 0);
	const char *mid = em_out(p, node, 1) ? out_buf(g, node, 1) : "NULL";
	const char *iid = em_out(p, node, 2) ? out_buf(g, node, 2) : "NULL";
	char eps[48];
	use(g, H_LAYERNORM);
	em_printf(&g->body, "\tgbx_layernorm(%s, %s, %d, %s, %d, %s, %s, %s, %s, %s, %s);\n", x->id, s ? s->id : "NULL", ss,
	          b ? b->id : "NULL", bs, yid, mid, iid, MONO(outer), MONO(inner),
	          em_float_lit(em_attr_float(node, "epsilon", 1e-5f), 0, eps));
	return GB_OK;
}

static gb_status emit_batchnorm(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0);
	if (x->ndim < 2)
		return em_unsupported(g->err, p, node, "rank %d", x->ndim);
	em_mono C = x->dims[1], inner;
	gb_status st = span(g, node, x, 2, x->ndim, &inner);
	if (st != GB_OK)
		return st;
	if (em_attr_int(node, "spatial", 1) == 0 && !gb_opset_at_least(p->m, 9)) {
		em_mono_mul(C, inner, &C);
		inner = em_const(1);
	}
	const char *yid = out_buf(g, node, 0);
	char eps[48];
	use(g, H_BATCHNORM);
	em_printf(&g->body, "\tgbx_batchnorm(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s);\n", x->id, em_in(p, node, 1)->id,
	          em_in(p, node, 2)->id, em_in(p, node, 3)->id, em_in(p, node, 4)->id, yid, MONO(x->dims[0]), MONO(C),
	          MONO(inner), em_float_lit(em_attr_float(node, "epsilon", 1e-5f), 0, eps));
	return GB_OK;
}

static gb_status emit_topk(cgen *g, const gb_node *node)
{
	em_plan *p = g->p;
	const em_val *x = em_in(p, node, 0), *vals = em_out(p, node, 0);
	int axis = gb_axis(em_attr_int(node, "axis", -1), x->ndim);
	if (axis < 0)
		return em_unsupported(g->err, p, node, "bad axis");
	if (x->dtype != GB_DTYPE_F32 && x->dtype != GB_DTYPE_I64)
		return em_unsupported(g->err, p, node, "TopK on %s", gb_dtype_name(x->dtype));
	em_mono outer, L, inner;
	gb_status st = around_axis(g, node, x, axis, &outer, &L, &inner);
	if (st != GB_OK)
		return st;
	const char *vid = vals ? out_buf(g, node, 0) : NULL;
	const char *iid = em_out(p, node, 1) ? out_buf(g, node, 1) : NULL;
	em_mono K = vals ? vals->dims[axis] : em_out(p, node, 1)->dims[axis];
	int f = x->dtype == GB_DTYPE_F32;
	use(g, f ? H_TOPK_F : H_TOPK_I);
	use(g, H_ALLOC);
	/* Both outputs are always computed; an unbound one goes to scratch. */
	em_mono total;
	em_mono_mul(outer, K, &total);
	em_mono_mul(total, inner, &total);
	em_puts(&g->body, "\t{\n");
	if (!vid)
		em_printf(&g->body, "\t\t%s *gbx_vals = gbx_alloc(%s, sizeof(%s));\n", ctype(x->dtype), MONO(total),
		          ctype(x->dtype));
	if (!iid)
		em_printf(&g->body, "\t\tint64_t *gbx_idx = gbx_alloc(%s, sizeof(int64_t));\n", MONO(total));
	if (!vid || !iid)
		em_printf(&g->body, "\t\tif (!%s || !%s) {\n\t\t\tfree(%s);\n\t\t\tfree(%s);\n\t\t\tgoto fail;\n\t\t}\n",
		          vid ? vid : "gbx_vals", iid ? iid : "gbx_idx", vid ? "NULL" : "gbx_vals", iid ? "NULL" : "gbx_idx");
	em_printf(&g->body, "\t\tgbx_topk_%s(%s, %s, %s, %s, %s, %s, %s, %d);\n", f ? "f32" : "i64", x->id,
	          vid ? vid : "gbx_vals", iid ? iid : "gbx_idx", MONO(outer), MONO(L), MONO(inner), MONO(K),
	          (int)em_attr_int(node, "largest", 1));
	if (!vid)
		em_puts(&g->body, "\t\tfree(gbx_vals);\n");
	if (!iid)
		em_puts(&g->body, "\t\tfree(gbx_idx);\n");
	em_puts(&g->body, "\t}\n");
	return GB_OK;
}

/* ==== nodes ================================================================================================ */

static gb_status emit_node(cgen *g, const gb_node *node)
{
	const char *op = node->op_type;
	if (!strcmp(op, "Identity") || !strcmp(op, "Dropout") || !strcmp(op, "Flatten") || !strcmp(op, "Reshape") ||
	    !strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze"))
		return emit_alias(g, node);
	if (!strcmp(op, "Transpose") || !strcmp(op, "Slice") || !strcmp(op, "Expand") || !strcmp(op, "Pad"))
		return emit_remap(g, node);
	if (!strcmp(op, "Concat"))
		return emit_concat(g, node);
	if (!strcmp(op, "Split"))
		return emit_split(g, node);
	if (!strcmp(op, "Gather"))
		return emit_gather(g, node);
	if (!strcmp(op, "MatMul"))
		return emit_matmul(g, node);
	if (!strcmp(op, "Gemm"))
		return emit_gemm(g, node);
	if (!strcmp(op, "Conv"))
		return emit_conv(g, node);
	if (!strcmp(op, "MaxPool") || !strcmp(op, "AveragePool"))
		return emit_pool(g, node);
	if (!strncmp(op, "Reduce", 6) || !strcmp(op, "GlobalAveragePool") || !strcmp(op, "GlobalMaxPool"))
		return emit_reduce(g, node);
	if (!strcmp(op, "ArgMax") || !strcmp(op, "ArgMin"))
		return emit_argmax(g, node);
	if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax"))
		return emit_softmax(g, node);
	if (!strcmp(op, "LayerNormalization"))
		return emit_layernorm(g, node);
	if (!strcmp(op, "BatchNormalization"))
		return emit_batchnorm(g, node);
	if (!strcmp(op, "TopK"))
		return emit_topk(g, node);
	return emit_elementwise(g, node);
}

/* ==== constants ============================================================================================= */

static void emit_const(cgen *g, const em_val *v, const char *id)
{
	const gb_tensor *t = v->run_data[0];
	int64_t n = gb_tensor_numel(t);
	char shape[160];
	int64_t dims[GB_MAX_DIMS];
	for (int d = 0; d < t->ndim; d++)
		dims[d] = t->dims[d];
	gb_shape_str(t->ndim, dims, shape, sizeof shape);
	em_printf(&g->consts, "static const %s %s[%lld] = { /* %s */", ctype(v->dtype), id, (long long)(n ? n : 1), shape);
	char lit[48];
	for (int64_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			em_puts(&g->consts, "\n\t");
		else
			em_puts(&g->consts, " ");
		if (v->dtype == GB_DTYPE_F32) {
			em_printf(&g->consts, "%s,", em_float_lit(((const float *)t->data)[i], 0, lit));
		} else {
			int64_t x = em_elem_i(t, i);
			if (x == INT64_MIN)
				em_puts(&g->consts, "INT64_MIN,");
			else
				em_printf(&g->consts, "%lld,", (long long)x);
		}
	}
	em_puts(&g->consts, n ? "\n};\n" : "0};\n");
}

/* Whether text contains word as a whole identifier. */
static int mentions(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *t = text ? strstr(text, word) : NULL; t; t = strstr(t + 1, word)) {
		char before = t > text ? t[-1] : ' ', after = t[n];
		int idb = (before >= 'a' && before <= 'z') || (before >= 'A' && before <= 'Z') || (before >= '0' && before <= '9') || before == '_';
		int ida = (after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z') || (after >= '0' && after <= '9') || after == '_';
		if (!idb && !ida)
			return 1;
	}
	return 0;
}

/* The function a helper defines (the first "gbx_" after its "static "). */
static const char *helper_name(int h, char *buf)
{
	const char *src = helper_src[h], *at = strncmp(src, "static ", 7) == 0 ? src : strstr(src, "\nstatic ");
	buf[0] = '\0';
	if (at && (at = strstr(at, "gbx_")) != NULL)
		snprintf(buf, 40, "%.*s", (int)strcspn(at, "("), at);
	return buf;
}

/* ==== the file ================================================================================================ */

static void describe(em_buf *b, const em_val *v, const char *role, const char *name)
{
	char shape[256];
	em_shape_str(v, shape, sizeof shape);
	em_printf(b, " *   %-12s %s %s %s ('%s')\n", v->id, ctype(v->dtype), shape, role, name);
}

gb_status gb_emit_c(gb_model *m, const char *func_name, char **text, gb_error *err)
{
	em_plan plan;
	*text = NULL;
	const char *fname = func_name ? func_name : "model";
	gb_status st = em_check_func_name(fname, "C", err);
	if (st != GB_OK)
		return st;
	const char *extra[] = {fname, NULL};
	st = em_plan_build(&plan, m, "C", extra, err);
	if (st != GB_OK)
		return st;
	cgen g = {.p = &plan, .err = err};
	em_buf head = {0}, helpers = {0}, decl = {0}, out = {0}, pre = {0};
	const char *label = m->label ? m->label : "model";

	for (int v = 0; v < m->n_values; v++)
		if (plan.v[v].const_used && !m->values[v].is_output)
			emit_const(&g, &plan.v[v], plan.v[v].id);
	for (int i = 0; i < plan.n_order && st == GB_OK; i++) {
		const gb_node *node = &m->nodes[plan.order[i]];
		em_printf(&g.body, "\t/* %s: %s(", node->name, node->op_type);
		for (int k = 0; k < node->n_inputs; k++)
			em_printf(&g.body, "%s%s", k ? ", " : "", node->inputs[k] >= 0 ? plan.v[node->inputs[k]].id : "-");
		em_puts(&g.body, ") -> ");
		for (int k = 0; k < node->n_outputs; k++) {
			const em_val *y = em_out(&plan, node, k);
			if (!y)
				continue;
			em_printf(&g.body, "%s%s [", k ? ", " : "", y->id);
			for (int d = 0; d < y->ndim; d++)
				em_printf(&g.body, "%s%s", d ? ", " : "", MONO(y->dims[d]));
			em_puts(&g.body, "]");
		}
		em_puts(&g.body, " */\n");
		st = emit_node(&g, node);
		/* Free the buffers whose last reader this was (and unread outputs). */
		for (int v = 0; v < m->n_values; v++) {
			const em_val *ev = &plan.v[v];
			if (!ev->id || ev->alias >= 0 || ev->is_static || m->values[v].is_input || m->values[v].is_output ||
			    plan.v[v].ndim < 0)
				continue;
			int producer = m->values[v].producer;
			int mine = 0;
			for (int k = 0; k < node->n_outputs; k++)
				mine |= node->outputs[k] == v;
			if (ev->last_use == i || (mine && ev->last_use < 0)) {
				(void)producer;
				em_printf(&g.body, "\tfree(%s);\n\t%s = NULL;\n", ev->id, ev->id);
			}
		}
	}
	/* Outputs that are folded constants are copied from a constant array. */
	for (int i = 0; i < m->n_outputs && st == GB_OK; i++) {
		int v = m->outputs[i];
		em_val *ev = &plan.v[v];
		if (!ev->is_static)
			continue;
		char name[128];
		snprintf(name, sizeof name, "%s_value", ev->id);
		const char *cid = em_make_id(&plan, name, extra);
		if (!cid) {
			st = gb_fail(err, GB_STATUS_NOMEM, "emit: out of memory");
			break;
		}
		emit_const(&g, ev, cid);
		em_printf(&g.body, "	/* output %s is a constant */\n\tmemcpy(%s, %s, sizeof(%s) * (size_t)%s);\n", ev->id,
		          ev->id, cid, ctype(ev->dtype), MONO(em_numel(ev)));
	}
	if (st != GB_OK)
		goto fail;

	/* Header comment with the signature. */
	em_printf(&head, "/*\n * %s — generated by 'glassbox emit --c' from %s (opset %lld).\n *\n", fname, label,
	          (long long)m->opset);
	em_printf(&head, " * int %s(int64_t n", fname);
	for (int i = 0; i < m->n_inputs; i++) {
		const em_val *v = &plan.v[m->inputs[i]];
		em_printf(&head, ", const %s *%s", ctype(v->dtype), v->id);
	}
	for (int i = 0; i < m->n_outputs; i++) {
		const em_val *v = &plan.v[m->outputs[i]];
		em_printf(&head, ", %s *%s", ctype(v->dtype), v->id);
	}
	em_puts(&head, ");\n *\n");
	if (plan.batched)
		em_puts(&head, " *   n            the batch size: the leading axis of every array marked n below\n");
	else
		em_puts(&head, " *   n            unused: every shape of this model is static\n");
	for (int i = 0; i < m->n_inputs; i++)
		describe(&head, &plan.v[m->inputs[i]], "input", m->values[m->inputs[i]].name);
	for (int i = 0; i < m->n_outputs; i++)
		describe(&head, &plan.v[m->outputs[i]], "output", m->values[m->outputs[i]].name);
	em_puts(&head, " *\n * Arrays are dense and C-ordered (row-major); bool is one unsigned char (0 or 1).\n"
	               " * The caller allocates the outputs. Scratch memory is malloc'ed and freed inside\n"
	               " * the call; the function is reentrant. Returns 0 on success, 1 when malloc fails,\n"
	               " * 2 when an index or an integer divisor read from the inputs is out of range.\n"
	               " * Build: cc -std=c11 -c FILE.c; link with -lm.\n */\n"
	               "#include <math.h>\n#include <stdint.h>\n#include <stdlib.h>\n#include <string.h>\n\n");
	/* Helpers: those the code calls, and those they call. */
	char name[40];
	for (int h = 0; h < H_COUNT; h++)
		g.used[h] = helper_src[h][0] && (mentions(g.body.s, helper_name(h, name)) || mentions(pre.s, helper_name(h, name)));
	for (int h = 0; h < H_COUNT; h++)
		for (int k = 0; k < H_COUNT; k++)
			if (g.used[k] && helper_src[h][0] && k != h && mentions(helper_src[k], helper_name(h, name)))
				g.used[h] = 1;
	for (int h = 0; h < H_COUNT; h++)
		if (g.used[h])
			em_printf(&helpers, "%s\n", helper_src[h]);

	/* Declarations of the intermediate buffers. */
	for (int v = 0; v < m->n_values; v++) {
		const em_val *ev = &plan.v[v];
		if (!ev->id || ev->is_static || m->values[v].is_input || m->values[v].is_output || ev->ndim < 0)
			continue;
		if (ev->alias >= 0)
			em_printf(&decl, "\tconst %s *%s = NULL;\n", ctype(ev->dtype), ev->id);
		else
			em_printf(&decl, "\t%s *%s = NULL;\n", ctype(ev->dtype), ev->id);
	}

	em_puts(&out, head.s ? head.s : "");
	if (g.consts.len)
		em_printf(&out, "/* ---- weights and constants ---- */\n\n%s\n", g.consts.s);
	if (helpers.len)
		em_printf(&out, "/* ---- helpers ---- */\n\n%s", helpers.s);
	em_printf(&out, "int %s(int64_t n", fname);
	for (int i = 0; i < m->n_inputs; i++) {
		const em_val *v = &plan.v[m->inputs[i]];
		em_printf(&out, ", const %s *%s", ctype(v->dtype), v->id);
	}
	for (int i = 0; i < m->n_outputs; i++) {
		const em_val *v = &plan.v[m->outputs[i]];
		em_printf(&out, ", %s *%s", ctype(v->dtype), v->id);
	}
	em_puts(&out, ")\n{\n\tint status = 1;\n");
	em_puts(&out, decl.s ? decl.s : "");
	if (!plan.batched)
		em_puts(&out, "\t(void)n;\n");
	/* Inputs the code never reads (comments aside) are marked unused. */
	char *code = gb_strdup(g.body.s ? g.body.s : "");
	for (char *c = code ? strstr(code, "/*") : NULL; c; c = strstr(c, "/*")) {
		char *end = strstr(c + 2, "*/");
		size_t len = end ? (size_t)(end + 2 - c) : strlen(c);
		memset(c, ' ', len);
	}
	for (int i = 0; i < m->n_inputs; i++)
		if (!code || !mentions(code, plan.v[m->inputs[i]].id))
			em_printf(&out, "\t(void)%s; /* not needed for the outputs */\n", plan.v[m->inputs[i]].id);
	free(code);
	em_puts(&out, "\n");
	em_puts(&out, pre.s ? pre.s : "");
	em_puts(&out, g.body.s ? g.body.s : "");
	int jumps = (pre.s && strstr(pre.s, "goto fail")) || (g.body.s && strstr(g.body.s, "goto fail"));
	em_puts(&out, jumps ? "\tstatus = 0;\nfail:\n" : "\tstatus = 0;\n");
	int frees = 0;
	for (int v = 0; v < m->n_values; v++) {
		const em_val *ev = &plan.v[v];
		if (!ev->id || ev->is_static || ev->alias >= 0 || m->values[v].is_input || m->values[v].is_output || ev->ndim < 0)
			continue;
		em_printf(&out, "\tfree(%s);\n", ev->id);
		frees++;
	}
	em_puts(&out, "\treturn status;\n}\n");
	(void)frees;
	if (out.oom || pre.oom || g.body.oom || g.consts.oom || head.oom || helpers.oom || decl.oom) {
		st = gb_fail(err, GB_STATUS_NOMEM, "emit: out of memory");
		goto fail;
	}
	*text = out.s;
	out.s = NULL;
fail:
	free(out.s);
	free(head.s);
	free(helpers.s);
	free(decl.s);
	free(pre.s);
	free(g.body.s);
	free(g.consts.s);
	em_plan_free(&plan);
	return st;
}
