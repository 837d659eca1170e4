/*
 * test_boolfn.c — truth tables written as formulas (src/decompile/boolfn.c).
 *
 * Every formula or program body the module writes is parsed and run by the
 * language's interpreter (gb_ast_parse + gb_ast_run) on all 2^n inputs and
 * compared with the table:
 *
 *   forms      parity, majority, and/or/nand/nor, thresholds, constants,
 *              literals: the exact readable text and its operation count
 *   ignored    only the variables a function depends on appear
 *   random     hundreds of seeded random functions of 3..8 variables, and
 *              sparse / structured ones (multiplexers, sums of products)
 *   signals    formulas through a given signal (the adder's carry)
 *   programs   the 2-bit adder's exact body, the 3-bit adder, random
 *              multi-output programs
 *   large      20 variables: parity and thresholds are recognised directly;
 *              a random function is refused (GB_STATUS_UNSUPPORTED)
 *   errors     bad arguments: GB_STATUS_USAGE
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decompile/boolfn.h"
#include "lang/lang.h"

/* ---- helpers ---------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* Names x[0] .. x[n-1] (static storage). */
static const char *const *xnames(void)
{
	static char buf[GB_BOOL_MAX_VARS][8];
	static const char *names[GB_BOOL_MAX_VARS];
	for (int j = 0; j < GB_BOOL_MAX_VARS; j++) {
		snprintf(buf[j], sizeof buf[j], "x[%d]", j);
		names[j] = buf[j];
	}
	return names;
}

static uint8_t *table_new(int n)
{
	uint8_t *t = calloc((size_t)1 << n, 1);
	cr_assert(t);
	return t;
}

/* Runs src whose inputs have widths[i] (their bits, in
 * order, are the variables 0..n-1 of a table) on all 2^n inputs, and
 * returns output `out` (width out_width) as out[v * out_width + k] in {0,1}
 * (anything else fails the test). */
static uint8_t *run_all(const char *src, int n, int n_inputs, const int *widths, const char *out, int out_width)
{
	gb_error err = {0};
	gb_ast *ast = NULL;
	cr_assert_eq(gb_ast_parse(src, strlen(src), "formula.gbx", &ast, &err), GB_OK, "%s\n%s", err.msg, src);
	int64_t N = (int64_t)1 << n;
	gb_tensor *ins[4] = {0};
	int first = 0;
	for (int i = 0; i < n_inputs; i++) {
		int64_t dims[2] = {N, widths[i]};
		cr_assert_eq(gb_tensor_new(GB_DTYPE_F32, 2, dims, &ins[i], &err), GB_OK, "%s", err.msg);
		float *x = ins[i]->data;
		for (int64_t v = 0; v < N; v++)
			for (int j = 0; j < widths[i]; j++)
				x[v * widths[i] + j] = j + first < n ? (float)((v >> (j + first)) & 1) : 0.0f;
		first += widths[i];
	}
	gb_tensor_map *outs = NULL;
	cr_assert_eq(gb_tensor_map_new(&outs, &err), GB_OK);
	gb_status st = gb_ast_run(ast, NULL, (const gb_tensor *const *)ins, n_inputs, outs, NULL, 0, NULL, &err);
	cr_assert_eq(st, GB_OK, "%s\n%s", err.msg, src);
	const gb_tensor *y = gb_tensor_map_get(outs, out);
	cr_assert(y, "no output %s", out);
	int64_t numel = gb_tensor_numel(y);
	cr_assert(numel == N * out_width || numel == out_width, "output %s has %lld elements", out, (long long)numel);
	uint8_t *r = calloc((size_t)(N * out_width), 1);
	cr_assert(r);
	const float *yd = y->data;
	for (int64_t i = 0; i < N * out_width; i++) {
		float val = numel == N * out_width ? yd[i] : yd[i % out_width];
		cr_assert(val == 0.0f || val == 1.0f, "%s: output %g at %lld\n%s", out, (double)val, (long long)i, src);
		r[i] = val == 1.0f;
	}
	gb_tensor_map_free(outs);
	for (int i = 0; i < n_inputs; i++)
		gb_tensor_free(ins[i]);
	gb_ast_free(ast);
	return r;
}

/* The formula for table (x[0..n-1]) checked on the interpreter; returns the
 * text (caller frees) and its ops. */
static char *formula_checked(const uint8_t *table, int n, const gb_bool_signal *sigs, int n_sigs, int64_t *ops)
{
	gb_error err = {0};
	char *text = NULL;
	int64_t count = -1;
	gb_status st = gb_bool_formula(table, n, xnames(), sigs, n_sigs, &text, &count, &err);
	cr_assert_eq(st, GB_OK, "n=%d: %s", n, err.msg);
	cr_assert(text);
	char src[1 << 16];
	int len = snprintf(src, sizeof src, "input x: f32[%d]\n", n > 0 ? n : 1);
	len += snprintf(src + len, sizeof src - (size_t)len, "output y = %s\n", text);
	cr_assert(len < (int)sizeof src, "formula too long for the test buffer");
	int width = n > 0 ? n : 1;
	uint8_t *got = run_all(src, n, 1, &width, "y", 1);
	for (uint32_t v = 0; v < (1u << n); v++)
		cr_assert_eq(got[v], table[v], "n=%d: %s is %d at input %u, want %d", n, text, got[v], v, table[v]);
	free(got);
	gb_ast *ast = NULL;
	cr_assert_eq(gb_ast_parse(src, strlen(src), "f.gbx", &ast, &err), GB_OK);
	gb_ast_counts counts;
	gb_ast_count(ast, &counts);
	cr_assert_eq(counts.ops, count, "%s: the language counts %lld ops, boolfn %lld", text, (long long)counts.ops,
	             (long long)count);
	gb_ast_free(ast);
	if (ops)
		*ops = count;
	return text;
}

static void expect_formula(const uint8_t *table, int n, const char *want, int64_t want_ops)
{
	int64_t ops = 0;
	char *text = formula_checked(table, n, NULL, 0, &ops);
	cr_assert_str_eq(text, want);
	cr_assert_eq(ops, want_ops, "%s: %lld ops, want %lld", text, (long long)ops, (long long)want_ops);
	free(text);
}

static char *xor_text(int n)
{
	static char buf[512];
	int len = snprintf(buf, sizeof buf, "xor(");
	for (int j = 0; j < n; j++)
		len += snprintf(buf + len, sizeof buf - (size_t)len, "%sx[%d]", j ? ", " : "", j);
	snprintf(buf + len, sizeof buf - (size_t)len, ")");
	return buf;
}

static char *call_text(const char *fn, int n, const char *tail)
{
	static char buf[512];
	int len = snprintf(buf, sizeof buf, "%s(", fn);
	for (int j = 0; j < n; j++)
		len += snprintf(buf + len, sizeof buf - (size_t)len, "%sx[%d]", j ? ", " : "", j);
	snprintf(buf + len, sizeof buf - (size_t)len, "%s)", tail);
	return buf;
}

/* ---- forms -------------------------------------------------------------------------- */

Test(forms, parity_2_to_10)
{
	for (int n = 2; n <= 10; n++) {
		uint8_t *t = table_new(n);
		for (uint32_t v = 0; v < (1u << n); v++)
			t[v] = (uint8_t)__builtin_parity(v);
		expect_formula(t, n, call_text("xor", n, ""), 1);
		for (uint32_t v = 0; v < (1u << n); v++)
			t[v] ^= 1;
		char want[600];
		snprintf(want, sizeof want, "not %s", xor_text(n));
		expect_formula(t, n, want, 2);
		free(t);
	}
}

Test(forms, parity_of_a_subset_with_a_negation)
{
	/* x0 xor not x2 xor x3 over 5 variables = not xor(x[0], x[2], x[3]) */
	uint8_t *t = table_new(5);
	for (uint32_t v = 0; v < 32; v++)
		t[v] = (uint8_t)((v & 1) ^ !(v >> 2 & 1) ^ (v >> 3 & 1));
	expect_formula(t, 5, "not xor(x[0], x[2], x[3])", 2);
	free(t);
}

Test(forms, majority_3_5_7)
{
	for (int n = 3; n <= 7; n += 2) {
		uint8_t *t = table_new(n);
		for (uint32_t v = 0; v < (1u << n); v++)
			t[v] = 2 * __builtin_popcount(v) > n;
		expect_formula(t, n, call_text("majority", n, ""), 1);
		free(t);
	}
}

Test(forms, majority_with_negated_inputs)
{
	uint8_t *t = table_new(3);
	for (uint32_t v = 0; v < 8; v++)
		t[v] = ((v & 1) + !(v >> 1 & 1) + (v >> 2 & 1)) >= 2;
	expect_formula(t, 3, "majority(x[0], not x[1], x[2])", 2);
	for (uint32_t v = 0; v < 8; v++)
		t[v] = __builtin_popcount(v) < 2; /* most are 0 */
	expect_formula(t, 3, "not majority(x[0], x[1], x[2])", 2);
	free(t);
}

Test(forms, thresholds_padded)
{
	uint8_t *t = table_new(4);
	for (uint32_t v = 0; v < 16; v++)
		t[v] = __builtin_popcount(v) >= 2;
	expect_formula(t, 4, call_text("majority", 4, ", 1.0"), 1);
	for (uint32_t v = 0; v < 16; v++)
		t[v] = __builtin_popcount(v) >= 3;
	expect_formula(t, 4, call_text("majority", 4, ", 0.0"), 1);
	free(t);
	t = table_new(5);
	for (uint32_t v = 0; v < 32; v++)
		t[v] = __builtin_popcount(v) >= 2;
	expect_formula(t, 5, call_text("majority", 5, ", 1.0, 1.0"), 1);
	free(t);
}

Test(forms, and_or_nand_nor)
{
	uint8_t *t = table_new(3);
	for (uint32_t v = 0; v < 8; v++)
		t[v] = v == 7;
	expect_formula(t, 3, "x[0] and x[1] and x[2]", 2);
	for (uint32_t v = 0; v < 8; v++)
		t[v] = v != 0;
	expect_formula(t, 3, "x[0] or x[1] or x[2]", 2);
	free(t);
	t = table_new(2);
	for (uint32_t v = 0; v < 4; v++)
		t[v] = v != 3;
	expect_formula(t, 2, "not (x[0] and x[1])", 2);
	for (uint32_t v = 0; v < 4; v++)
		t[v] = v == 0;
	expect_formula(t, 2, "not (x[0] or x[1])", 2);
	for (uint32_t v = 0; v < 4; v++)
		t[v] = v == 1; /* x0 and not x1 */
	expect_formula(t, 2, "x[0] and not x[1]", 2);
	free(t);
}

Test(forms, constants_and_literals)
{
	for (int n = 0; n <= 4; n++) {
		uint8_t *t = table_new(n);
		expect_formula(t, n, "0.0", 0);
		memset(t, 1, (size_t)1 << n);
		expect_formula(t, n, "1.0", 0);
		free(t);
	}
	uint8_t *t = table_new(4);
	for (uint32_t v = 0; v < 16; v++)
		t[v] = v >> 2 & 1;
	expect_formula(t, 4, "x[2]", 0);
	for (uint32_t v = 0; v < 16; v++)
		t[v] = !(v >> 1 & 1);
	expect_formula(t, 4, "not x[1]", 1);
	free(t);
}

Test(forms, multiplexer)
{
	/* x0 ? x1 : x2 */
	uint8_t *t = table_new(3);
	for (uint32_t v = 0; v < 8; v++)
		t[v] = (v & 1) ? (v >> 1 & 1) : (v >> 2 & 1);
	int64_t ops = 0;
	char *text = formula_checked(t, 3, NULL, 0, &ops);
	cr_assert_leq(ops, 4, "%s", text);
	free(text);
	free(t);
}

/* ---- ignored variables ---------------------------------------------------------------- */

Test(ignored, only_the_support_appears)
{
	uint64_t seed = 7;
	const uint32_t used = (1u << 1) | (1u << 3) | (1u << 4);
	for (int rep = 0; rep < 40; rep++) {
		uint8_t small[8];
		for (int u = 0; u < 8; u++)
			small[u] = rng_next(&seed) & 1;
		uint8_t *t = table_new(6);
		for (uint32_t v = 0; v < 64; v++)
			t[v] = small[(v >> 1 & 1) | (v >> 3 & 1) << 1 | (v >> 4 & 1) << 2];
		char *text = formula_checked(t, 6, NULL, 0, NULL);
		for (int j = 0; j < 6; j++) {
			char name[8];
			snprintf(name, sizeof name, "x[%d]", j);
			if (!(used >> j & 1))
				cr_assert(!strstr(text, name), "%s mentions %s", text, name);
		}
		free(text);
		free(t);
	}
}

/* ---- random functions ----------------------------------------------------------------- */

Test(random, dense_3_to_8_variables)
{
	uint64_t seed = 12345;
	int64_t total_ops = 0;
	for (int n = 3; n <= 8; n++) {
		for (int rep = 0; rep < 64; rep++) {
			uint8_t *t = table_new(n);
			for (uint32_t v = 0; v < (1u << n); v++)
				t[v] = rng_next(&seed) & 1;
			int64_t ops = 0;
			char *text = formula_checked(t, n, NULL, 0, &ops);
			total_ops += ops;
			free(text);
			free(t);
		}
	}
	cr_assert_gt(total_ops, 0);
}

Test(random, sparse_and_biased)
{
	/* few ones, few zeros: short sums and products */
	uint64_t seed = 99;
	for (int n = 4; n <= 9; n++) {
		for (int rep = 0; rep < 24; rep++) {
			uint8_t *t = table_new(n);
			int bias = rep % 2;
			for (uint32_t v = 0; v < (1u << n); v++)
				t[v] = (uint8_t)((rng_next(&seed) % 8 == 0) ^ bias);
			free(formula_checked(t, n, NULL, 0, NULL));
			free(t);
		}
	}
}

Test(random, structured_compositions)
{
	/* xor / and / or / majority of random small functions of disjoint
	 * variable groups: the decompositions must still compute the table */
	uint64_t seed = 4242;
	for (int rep = 0; rep < 80; rep++) {
		int n = 6 + rep % 5;
		uint8_t *t = table_new(n);
		uint8_t g1[8], g2[8];
		for (int u = 0; u < 8; u++) {
			g1[u] = rng_next(&seed) & 1;
			g2[u] = rng_next(&seed) & 1;
		}
		int op = rep % 4;
		for (uint32_t v = 0; v < (1u << n); v++) {
			int a = g1[v & 7], b = g2[(v >> 3) & 7], rest = v >> 6 & 1;
			int r = op == 0 ? a ^ b : op == 1 ? (a & b) : op == 2 ? (a | b) : (a + b + rest >= 2);
			t[v] = (uint8_t)(r ^ (n > 7 ? (int)(v >> 7 & 1) : 0));
		}
		free(formula_checked(t, n, NULL, 0, NULL));
		free(t);
	}
}

Test(random, sums_of_products_are_short)
{
	/* (x0 and x1) or (x2 and x3) or (x4 and not x5) */
	uint8_t *t = table_new(6);
	for (uint32_t v = 0; v < 64; v++)
		t[v] = ((v & 3) == 3) || ((v >> 2 & 3) == 3) || ((v >> 4 & 3) == 1);
	int64_t ops = 0;
	char *text = formula_checked(t, 6, NULL, 0, &ops);
	cr_assert_str_eq(text, "(x[0] and x[1]) or (x[2] and x[3]) or (x[4] and not x[5])");
	cr_assert_eq(ops, 6);
	free(text);
	free(t);
}

/* ---- signals ---------------------------------------------------------------------------- */

static const char *const adder_vars[4] = {"a[0]", "a[1]", "b[0]", "b[1]"};

/* The 2-bit adder over a[0], a[1], b[0], b[1] (variables 0..3). */
static void adder_tables(uint8_t t[3][16], uint8_t carry[16])
{
	for (uint32_t v = 0; v < 16; v++) {
		uint32_t a = v & 3, b = v >> 2 & 3, s = a + b;
		for (int k = 0; k < 3; k++)
			t[k][v] = s >> k & 1;
		carry[v] = (v & 1) && (v >> 2 & 1);
	}
}

Test(signals, adder_bits_alone)
{
	uint8_t t[3][16], carry[16];
	adder_tables(t, carry);
	gb_error err = {0};
	char *text = NULL;
	int64_t ops = 0;
	cr_assert_eq(gb_bool_formula(t[0], 4, adder_vars, NULL, 0, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(text, "xor(a[0], b[0])");
	free(text);
	cr_assert_eq(gb_bool_formula(t[1], 4, adder_vars, NULL, 0, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(text, "xor(a[1], b[1], a[0] and b[0])");
	cr_assert_eq(ops, 2);
	free(text);
	cr_assert_eq(gb_bool_formula(t[2], 4, adder_vars, NULL, 0, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(text, "majority(a[1], b[1], a[0] and b[0])");
	cr_assert_eq(ops, 2);
	free(text);
}

Test(signals, adder_bits_through_the_carry)
{
	uint8_t t[3][16], carry[16];
	adder_tables(t, carry);
	gb_bool_signal sig = {"carry", carry};
	gb_error err = {0};
	char *text = NULL;
	int64_t ops = 0;
	cr_assert_eq(gb_bool_formula(t[1], 4, adder_vars, &sig, 1, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(text, "xor(a[1], b[1], carry)");
	cr_assert_eq(ops, 1);
	free(text);
	cr_assert_eq(gb_bool_formula(t[2], 4, adder_vars, &sig, 1, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(text, "majority(a[1], b[1], carry)");
	cr_assert_eq(ops, 1);
	free(text);
	/* the signal itself, and its negation */
	cr_assert_eq(gb_bool_formula(carry, 4, adder_vars, &sig, 1, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(text, "carry");
	free(text);
	uint8_t nc[16];
	for (int v = 0; v < 16; v++)
		nc[v] = !carry[v];
	cr_assert_eq(gb_bool_formula(nc, 4, adder_vars, &sig, 1, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(text, "not carry");
	free(text);
}

Test(signals, random_with_a_signal)
{
	/* f = G(x3, x4, s) with s a random function of x0..x2: checked by
	 * running the formula with s given as a second input */
	uint64_t seed = 77;
	for (int rep = 0; rep < 40; rep++) {
		uint8_t s[32], g[8], f[32];
		uint8_t s3[8];
		for (int u = 0; u < 8; u++) {
			s3[u] = rng_next(&seed) & 1;
			g[u] = rng_next(&seed) & 1;
		}
		if (s3[0] == s3[7])
			s3[7] ^= 1; /* s depends on something */
		for (uint32_t v = 0; v < 32; v++) {
			s[v] = s3[v & 7];
			f[v] = g[(v >> 3 & 3) | s[v] << 2];
		}
		gb_bool_signal sig = {"s[0]", s};
		gb_error err = {0};
		char *text = NULL;
		int64_t ops = 0;
		cr_assert_eq(gb_bool_formula(f, 5, xnames(), &sig, 1, &text, &ops, &err), GB_OK, "%s", err.msg);
		/* evaluate: x as 5 bits, s as its own input computed from x */
		char src[4096];
		snprintf(src, sizeof src, "input x: f32[5]\ninput s: f32[1]\noutput y = %s\n", text);
		gb_ast *ast = NULL;
		cr_assert_eq(gb_ast_parse(src, strlen(src), "f.gbx", &ast, &err), GB_OK, "%s", err.msg);
		gb_tensor *ins[2];
		cr_assert_eq(gb_tensor_new(GB_DTYPE_F32, 2, (int64_t[]){32, 5}, &ins[0], &err), GB_OK);
		cr_assert_eq(gb_tensor_new(GB_DTYPE_F32, 2, (int64_t[]){32, 1}, &ins[1], &err), GB_OK);
		for (int v = 0; v < 32; v++) {
			for (int j = 0; j < 5; j++)
				((float *)ins[0]->data)[v * 5 + j] = (float)(v >> j & 1);
			((float *)ins[1]->data)[v] = s[v];
		}
		gb_tensor_map *outs = NULL;
		cr_assert_eq(gb_tensor_map_new(&outs, &err), GB_OK);
		cr_assert_eq(gb_ast_run(ast, NULL, (const gb_tensor *const *)ins, 2, outs, NULL, 0, NULL, &err), GB_OK,
		             "%s\n%s", err.msg, src);
		const gb_tensor *y = gb_tensor_map_get(outs, "y");
		cr_assert(y);
		for (int v = 0; v < 32; v++) {
			float want = f[v], got = gb_tensor_numel(y) == 32 ? ((float *)y->data)[v] : ((float *)y->data)[0];
			cr_assert_eq(got, want, "%s at %d", text, v);
		}
		gb_tensor_map_free(outs);
		gb_tensor_free(ins[0]);
		gb_tensor_free(ins[1]);
		gb_ast_free(ast);
		free(text);
	}
}

/* ---- programs --------------------------------------------------------------------------- */

/* Runs a program body over inputs a, b (widths w each; variable j < w is
 * a[j], else b[j - w]) and checks output `out` against the tables. */
static void check_program(const char *body, int w, const char *header_out, const char *out, int n_out,
                          uint8_t *const *tables)
{
	char src[1 << 15];
	snprintf(src, sizeof src, "input a: f32[%d]\ninput b: f32[%d]\n%s%s", w, w, header_out, body);
	int widths[2] = {w, w};
	int n = 2 * w;
	uint8_t *got = run_all(src, n, 2, widths, out, n_out);
	for (uint32_t v = 0; v < (1u << n); v++)
		for (int k = 0; k < n_out; k++)
			cr_assert_eq(got[v * (uint32_t)n_out + (uint32_t)k], tables[k][v], "%s[%d] at %u:\n%s", out, k, v, src);
	free(got);
}

Test(programs, adder_2_bit)
{
	uint8_t t[3][16], carry[16];
	adder_tables(t, carry);
	const uint8_t *tabs[3] = {t[0], t[1], t[2]};
	const char *outs[3] = {"total[0]", "total[1]", "total[2]"};
	gb_error err = {0};
	char *body = NULL;
	int64_t ops = 0;
	cr_assert_eq(gb_bool_program(tabs, 3, 4, adder_vars, outs, &body, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(body, "carry = a[0] and b[0]\n"
	                       "total[0] = xor(a[0], b[0])\n"
	                       "total[1] = xor(a[1], b[1], carry)\n"
	                       "total[2] = majority(a[1], b[1], carry)\n");
	cr_assert_leq(ops, 6);
	cr_assert_eq(ops, 4);
	check_program(body, 2, "output total: f32[3]\n", "total", 3, (uint8_t *const[]){t[0], t[1], t[2]});
	free(body);
}

Test(programs, adder_3_bit)
{
	enum { W = 3, N = 2 * W, OUTS = W + 1 };
	const char *vars[N] = {"a[0]", "a[1]", "a[2]", "b[0]", "b[1]", "b[2]"};
	const char *outs[OUTS] = {"total[0]", "total[1]", "total[2]", "total[3]"};
	uint8_t *t[OUTS];
	for (int k = 0; k < OUTS; k++) {
		t[k] = table_new(N);
		for (uint32_t v = 0; v < (1u << N); v++)
			t[k][v] = ((v & 7) + (v >> 3 & 7)) >> k & 1;
	}
	gb_error err = {0};
	char *body = NULL;
	int64_t ops = 0;
	cr_assert_eq(gb_bool_program((const uint8_t *const *)t, OUTS, N, vars, outs, &body, &ops, &err), GB_OK, "%s",
	             err.msg);
	cr_assert_str_eq(body, "carry1 = a[0] and b[0]\n"
	                       "carry2 = majority(a[1], b[1], carry1)\n"
	                       "total[0] = xor(a[0], b[0])\n"
	                       "total[1] = xor(a[1], b[1], carry1)\n"
	                       "total[2] = xor(a[2], b[2], carry2)\n"
	                       "total[3] = majority(a[2], b[2], carry2)\n");
	cr_assert_eq(ops, 6);
	check_program(body, W, "output total: f32[4]\n", "total", OUTS, t);
	free(body);
	for (int k = 0; k < OUTS; k++)
		free(t[k]);
}

Test(programs, adder_8_bit)
{
	enum { W = 8, N = 2 * W, OUTS = W + 1 };
	char vb[N][8], ob[OUTS][12];
	const char *vars[N], *outs[OUTS];
	for (int j = 0; j < N; j++) {
		snprintf(vb[j], sizeof vb[j], "%c[%d]", j < W ? 'a' : 'b', j % W);
		vars[j] = vb[j];
	}
	uint8_t *t[OUTS];
	for (int k = 0; k < OUTS; k++) {
		snprintf(ob[k], sizeof ob[k], "total[%d]", k);
		outs[k] = ob[k];
		t[k] = table_new(N);
		for (uint32_t v = 0; v < (1u << N); v++)
			t[k][v] = ((v & 255) + (v >> 8)) >> k & 1;
	}
	gb_error err = {0};
	char *body = NULL;
	int64_t ops = 0;
	cr_assert_eq(gb_bool_program((const uint8_t *const *)t, OUTS, N, vars, outs, &body, &ops, &err), GB_OK, "%s",
	             err.msg);
	/* a ripple-carry adder: one line per carry, one op per line */
	cr_assert_eq(ops, 16, "%s", body);
	cr_assert(strstr(body, "carry7 = majority(a[6], b[6], carry6)\n"), "%s", body);
	cr_assert(strstr(body, "total[8] = majority(a[7], b[7], carry7)\n"), "%s", body);
	check_program(body, W, "output total: f32[9]\n", "total", OUTS, t);
	free(body);
	for (int k = 0; k < OUTS; k++)
		free(t[k]);
}

Test(programs, comparators)
{
	enum { W = 3, N = 2 * W };
	const char *vars[N] = {"a[0]", "a[1]", "a[2]", "b[0]", "b[1]", "b[2]"};
	uint8_t *t[2];
	for (int k = 0; k < 2; k++)
		t[k] = table_new(N);
	for (uint32_t v = 0; v < (1u << N); v++) {
		t[0][v] = (v & 7) > (v >> 3);
		t[1][v] = (v & 7) == (v >> 3);
	}
	gb_error err = {0};
	char *body = NULL;
	int64_t ops = 0;
	cr_assert_eq(gb_bool_program((const uint8_t *const *)t, 2, N, vars, (const char *[]){"y[0]", "y[1]"}, &body, &ops,
	                             &err),
	             GB_OK, "%s", err.msg);
	cr_assert_str_eq(body, "y[0] = majority(a[2], not b[2], majority(a[1], not b[1], a[0] and not b[0]))\n"
	                       "y[1] = not (xor(a[0], b[0]) or xor(a[1], b[1]) or xor(a[2], b[2]))\n");
	cr_assert_eq(ops, 12);
	check_program(body, W, "output y: f32[2]\n", "y", 2, t);
	free(body);
	free(t[0]);
	free(t[1]);
}

Test(programs, random_multi_output)
{
	uint64_t seed = 2024;
	for (int rep = 0; rep < 30; rep++) {
		enum { W = 3, N = 2 * W, OUTS = 3 };
		const char *vars[N] = {"a[0]", "a[1]", "a[2]", "b[0]", "b[1]", "b[2]"};
		const char *outs[OUTS] = {"y[0]", "y[1]", "y[2]"};
		uint8_t *t[OUTS];
		for (int k = 0; k < OUTS; k++) {
			t[k] = table_new(N);
			for (uint32_t v = 0; v < (1u << N); v++) {
				/* mixtures: shared sub-functions, copies, random parts */
				int shared = (v & 1) && (v >> 3 & 1);
				int r = (int)(rng_next(&seed) & 1);
				t[k][v] = (uint8_t)(rep % 3 == 0 ? r : rep % 3 == 1 ? shared ^ (int)(v >> (k + 1) & 1)
				                                                    : (shared | r) & (int)(v >> 5 & 1));
			}
		}
		if (rep % 5 == 4)
			memcpy(t[2], t[0], 1u << N); /* an output equal to an earlier one */
		gb_error err = {0};
		char *body = NULL;
		int64_t ops = 0;
		cr_assert_eq(gb_bool_program((const uint8_t *const *)t, OUTS, N, vars, outs, &body, &ops, &err), GB_OK,
		             "%s", err.msg);
		check_program(body, W, "output y: f32[3]\n", "y", OUTS, t);
		free(body);
		for (int k = 0; k < OUTS; k++)
			free(t[k]);
	}
}

Test(programs, leaves_only)
{
	/* nothing to share: a literal, a constant, a negation, a copy */
	uint8_t t[4][16];
	for (uint32_t v = 0; v < 16; v++) {
		t[0][v] = v & 1;
		t[1][v] = 1;
		t[2][v] = !(v >> 3 & 1);
		t[3][v] = v & 1;
	}
	const uint8_t *tabs[4] = {t[0], t[1], t[2], t[3]};
	const char *outs[4] = {"y[0]", "y[1]", "y[2]", "y[3]"};
	gb_error err = {0};
	char *body = NULL;
	int64_t ops = -1;
	cr_assert_eq(gb_bool_program(tabs, 4, 4, adder_vars, outs, &body, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(body, "y[0] = a[0]\ny[1] = 1.0\ny[2] = not b[1]\ny[3] = a[0]\n");
	cr_assert_eq(ops, 1);
	check_program(body, 2, "output y: f32[4]\n", "y", 4, (uint8_t *const[]){t[0], t[1], t[2], t[3]});
	free(body);
}

Test(programs, names_do_not_collide)
{
	/* inputs called carry and t: the intermediate names step aside */
	uint8_t t[3][16], carry[16];
	adder_tables(t, carry);
	const uint8_t *tabs[3] = {t[0], t[1], t[2]};
	const char *vars[4] = {"carry[0]", "carry[1]", "t[0]", "t[1]"};
	const char *outs[3] = {"y[0]", "y[1]", "y[2]"};
	gb_error err = {0};
	char *body = NULL;
	cr_assert_eq(gb_bool_program(tabs, 3, 4, vars, outs, &body, NULL, &err), GB_OK, "%s", err.msg);
	cr_assert(strstr(body, "carry_ = carry[0] and t[0]\n"), "%s", body);
	free(body);
}

/* ---- large ------------------------------------------------------------------------------- */

static double seconds(void)
{
	return (double)clock() / CLOCKS_PER_SEC;
}

Test(large, parity_and_thresholds_of_20)
{
	enum { N = 20 };
	uint8_t *t = table_new(N);
	gb_error err = {0};
	char *text = NULL;
	int64_t ops = 0;
	double start = seconds();
	for (uint32_t v = 0; v < (1u << N); v++)
		t[v] = (uint8_t)__builtin_parity(v);
	cr_assert_eq(gb_bool_formula(t, N, xnames(), NULL, 0, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(text, xor_text(N));
	cr_assert_eq(ops, 1);
	free(text);
	for (uint32_t v = 0; v < (1u << N); v++)
		t[v] = __builtin_popcount(v & 0x7FFFF) >= 10; /* majority of x[0..18] */
	cr_assert_eq(gb_bool_formula(t, N, xnames(), NULL, 0, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(text, call_text("majority", 19, ""));
	cr_assert_eq(ops, 1);
	free(text);
	for (uint32_t v = 0; v < (1u << N); v++)
		t[v] = v == 0xFFFFF;
	cr_assert_eq(gb_bool_formula(t, N, xnames(), NULL, 0, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(ops, 19);
	free(text);
	for (uint32_t v = 0; v < (1u << N); v++)
		t[v] = __builtin_popcount(v) >= 4;
	cr_assert_eq(gb_bool_formula(t, N, xnames(), NULL, 0, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(ops, 1, "%s", text);
	free(text);
	/* the carry out of two 10-bit numbers: ten nested majorities */
	for (uint32_t v = 0; v < (1u << N); v++)
		t[v] = ((v & 1023) + (v >> 10)) >> 10 & 1;
	cr_assert_eq(gb_bool_formula(t, N, xnames(), NULL, 0, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(ops, 10, "%s", text);
	cr_assert(strncmp(text, "majority(x[9], x[19], majority(x[8], x[18], ", 44) == 0, "%s", text);
	free(text);
	/* generous: the machine is shared and this may run under sanitizers */
	cr_assert_lt(seconds() - start, 20.0);
	free(t);
}

Test(large, random_20_is_refused)
{
	enum { N = 20 };
	uint8_t *t = table_new(N);
	uint64_t seed = 5;
	for (uint32_t v = 0; v < (1u << N); v++)
		t[v] = rng_next(&seed) & 1;
	gb_error err = {0};
	char *text = NULL;
	cr_assert_eq(gb_bool_formula(t, N, xnames(), NULL, 0, &text, NULL, &err), GB_STATUS_UNSUPPORTED);
	cr_assert_null(text);
	cr_assert(strstr(err.msg, "products"), "%s", err.msg);
	free(t);
}

Test(large, structured_16)
{
	/* xor of a 16-bit parity-free AND-OR tree: (x0 and x1) or ... across groups, then xor with x15 */
	enum { N = 16 };
	uint8_t *t = table_new(N);
	for (uint32_t v = 0; v < (1u << N); v++) {
		int any = 0;
		for (int g = 0; g < 5; g++)
			any |= ((v >> (3 * g)) & 7) == 7;
		t[v] = (uint8_t)(any ^ (int)(v >> 15 & 1));
	}
	gb_error err = {0};
	char *text = NULL;
	int64_t ops = 0;
	cr_assert_eq(gb_bool_formula(t, N, xnames(), NULL, 0, &text, &ops, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(ops, 15, "%s", text);
	free(text);
	free(t);
}

/* ---- errors -------------------------------------------------------------------------------- */

Test(errors, bad_arguments)
{
	gb_error err = {0};
	char *text = NULL;
	uint8_t t[4] = {0, 1, 2, 0};
	cr_assert_eq(gb_bool_formula(t, 2, NULL, NULL, 0, &text, NULL, &err), GB_STATUS_USAGE);
	cr_assert(strstr(err.msg, "not 0 or 1"), "%s", err.msg);
	cr_assert_eq(gb_bool_formula(t, 21, NULL, NULL, 0, &text, NULL, &err), GB_STATUS_USAGE);
	cr_assert_eq(gb_bool_formula(t, -1, NULL, NULL, 0, &text, NULL, &err), GB_STATUS_USAGE);
	cr_assert_null(text);
	const uint8_t *tabs[1] = {t};
	cr_assert_eq(gb_bool_program(tabs, 1, 2, NULL, (const char *[]){NULL}, &text, NULL, &err), GB_STATUS_USAGE);
	cr_assert_eq(gb_bool_program(tabs, 0, 2, NULL, NULL, &text, NULL, &err), GB_STATUS_USAGE);
}

Test(errors, default_names)
{
	uint8_t t[4] = {0, 1, 1, 0};
	gb_error err = {0};
	char *text = NULL;
	cr_assert_eq(gb_bool_formula(t, 2, NULL, NULL, 0, &text, NULL, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(text, "xor(x[0], x[1])");
	free(text);
}
