/*
 * boolfn.h — Boolean functions given as truth tables, written back as short
 * formulas of the glassbox language (library-internal; the decompiler uses
 * it on Boolean domains).
 *
 * A function of n <= GB_BOOL_MAX_VARS variables is a table of 2^n bytes:
 * table[v] is 0 or 1, and bit j of v (v >> j & 1) is variable j.
 *
 * Formulas use the language's Boolean operations on f32 values in {0, 1}
 * (docs/language.md §7.3, §10.3): `a and b`, `a or b`, `not a`,
 * `xor(a, b, ...)` (parity of all), `majority(a, b, c, ...)` (an odd number
 * >= 3 of arguments), and the constants 0.0 and 1.0. They are written with
 * the language's precedence (or < and < not < calls); the products of a sum
 * of products are parenthesised for the reader, `(a and b) or (not c and d)`.
 *
 * How a formula is found, first match wins at every level:
 *   - the function is restricted to the variables it depends on (only
 *     those appear in its formula);
 *   - a constant, a literal, a given signal or its negation;
 *   - the parity of the variables (`xor`, possibly under `not`), a
 *     symmetric threshold of literals: all (`and`), any (`or`), most
 *     (`majority`), or "at least t of k", written as a majority padded
 *     with constants (at least 2 of 4 is `majority(a, b, c, d, 1.0)`), or
 *     the negation of one of these;
 *   - a literal factor: f = l and g, f = l or g, f = xor(l, g);
 * otherwise the cheapest of:
 *   - f = G(rest, s) through a signal s (G's formula names s);
 *   - f = xor(g1, g2, ...) over disjoint variables (components of the
 *     algebraic normal form);
 *   - f = G(free, s(bound)), a simple disjoint (Ashenhurst) decomposition
 *     on the largest bound set found (every set up to 10 variables, sets of
 *     3 and 2 variables above); s is written inline, e.g.
 *     majority(a[1], b[1], a[0] and b[0]); repeated, this finds carry
 *     chains (the carry out of two 10-bit numbers is 10 nested majorities);
 *   - a minimal-ish sum of products (prime implicants by Quine–McCluskey and
 *     a greedy cover up to 10 variables, greedy cube expansion above), the
 *     same for the complement written as a product of sums or under `not`,
 *     and either one split into disjoint-variable parts, each written anew.
 * Every formula is evaluated on all 2^n inputs before it is returned; it
 * computes exactly the table.
 *
 * Limits: a sum of products of more than GB_BOOL_MAX_TERMS products is
 * refused (GB_STATUS_UNSUPPORTED, "the formula would need more than N
 * products"), so a caller keeps a dense form for such functions (typical
 * for random functions of more than about 10 variables, or counts modulo
 * 3). The search is bounded (calls, and table reads for decompositions),
 * so a formula is found or refused in well under a second for n = 20;
 * parity and threshold functions are recognised directly (milliseconds).
 *
 * Operation counts are those of the language (gb_ast_count): every `and`,
 * `or`, `not`, `xor(...)` and `majority(...)` written counts one, so
 * `a and b and c` counts 2 and xor of any number of arguments counts 1.
 */
#ifndef GB_DECOMPILE_BOOLFN_H
#define GB_DECOMPILE_BOOLFN_H

#include <stdint.h>

#include "../core/core.h"

#define GB_BOOL_MAX_VARS 20
#define GB_BOOL_MAX_TERMS 256 /* products in one sum of products */

/* A named Boolean function of the same n variables that a formula may use
 * as if it were a variable (e.g. a carry written on an earlier line).
 * table: 2^n bytes, 0 or 1, borrowed. */
typedef struct gb_bool_signal {
	const char *name;
	const uint8_t *table;
} gb_bool_signal;

/* Writes a short formula for table (n variables) in the language.
 * Variable j is written var_names[j] (e.g. "x[3]"; NULL: "x[j]"), signal k
 * as signals[k].name (signals may be NULL when n_signals is 0).
 * On success *text is the formula (malloc'ed, NUL-terminated, owned by the
 * caller) and *ops (may be NULL) its operation count.
 * Errors: GB_STATUS_USAGE for n outside [0, GB_BOOL_MAX_VARS], a table
 * entry other than 0 or 1, a missing name; GB_STATUS_UNSUPPORTED when the
 * formula would be too long (see Limits above); GB_STATUS_NOMEM. */
gb_status gb_bool_formula(const uint8_t *table, int n, const char *const *var_names, const gb_bool_signal *signals,
                          int n_signals, char **text, int64_t *ops, gb_error *err);

/* Several functions of the same n variables at once, as the lines of a
 * program body: first the shared intermediate signals, in dependency
 * order, then one "OUT_NAME = formula" line per output, in order:
 *
 *     carry = a[0] and b[0]
 *     total[0] = xor(a[0], b[0])
 *     total[1] = xor(a[1], b[1], carry)
 *     total[2] = majority(a[1], b[1], carry)
 *
 * Each output is written as by gb_bool_formula, with the earlier outputs
 * as signals; then every subformula that occurs more than once (in the
 * outputs or the signals' own definitions) is named, the largest first.
 * A named subformula that feeds both an xor and a majority is a carry and
 * is called "carry" (several: "carry1", "carry2", ... from the innermost),
 * any other "t1", "t2", ...; a name already used by a variable or an
 * output (compared up to its first '[') gets a '_' appended.
 * *body is malloc'ed and owned by the caller; *ops (may be NULL) is the
 * operation count of all lines together. Errors as for gb_bool_formula
 * (out_names[k] is required). */
gb_status gb_bool_program(const uint8_t *const *tables, int n_out, int n, const char *const *var_names,
                          const char *const *out_names, char **body, int64_t *ops, gb_error *err);

#endif /* GB_DECOMPILE_BOOLFN_H */
