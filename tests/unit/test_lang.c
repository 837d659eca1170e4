/*
 * test_lang.c — the .gbx language front end (src/lang): lexer, parser,
 * canonical printer.
 *
 *   golden       tests/fixtures/lang/NAME.gbx prints as NAME.expected, and
 *                parses to the tree in NAME.ast where that file exists
 *                (GB_LANG_UPDATE_GOLDEN=1 rewrites them; review the diff)
 *   examples     every .gbx file in examples/ is already in canonical layout
 *   round trip   parse(print(t)) == t and print is idempotent, over all
 *                fixtures, examples and the programs in docs/language.md
 *   errors       one test per class of syntax error, asserting the whole
 *                "FILE:LINE:COL: expected X, found Y" message
 *   limits       hostile nesting and long chains fail cleanly
 *
 * Run from the repository root (paths are relative to it).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"

#define FIXTURES "tests/fixtures/lang"

/* ---- helpers ---------------------------------------------------------------------- */

static char *read_text(const char *path, size_t *len)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	gb_error err = {0};
	if (gb_file_read(path, (size_t)1 << 26, &buf, &n, &err) != GB_OK)
		return NULL;
	char *text = realloc(buf, n + 1);
	if (!text) {
		free(buf);
		return NULL;
	}
	text[n] = '\0';
	if (len)
		*len = n;
	return text;
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "wb");
	cr_assert_not_null(fp, "cannot write %s", path);
	fputs(text, fp);
	fclose(fp);
}

static gb_ast *parse_ok(const char *src, const char *label)
{
	gb_error err = {0};
	gb_ast *ast = NULL;
	gb_status st = gb_ast_parse(src, strlen(src), label, &ast, &err);
	cr_assert_eq(st, GB_OK, "%s does not parse: %s", label, err.msg);
	cr_assert_not_null(ast);
	return ast;
}

static char *print_ok(const gb_ast *ast)
{
	gb_error err = {0};
	char *text = NULL;
	size_t len = 0;
	cr_assert_eq(gb_ast_print(ast, &text, &len, &err), GB_OK, "%s", err.msg);
	cr_assert_eq(strlen(text), len);
	return text;
}

/* Canonical text of src (caller frees). */
static char *canonical(const char *src, const char *label)
{
	gb_ast *ast = parse_ok(src, label);
	char *text = print_ok(ast);
	gb_ast_free(ast);
	return text;
}

/* parse ∘ print is the identity on trees; print ∘ parse is idempotent. */
static void check_round_trip(const char *src, const char *label)
{
	gb_ast *ast = parse_ok(src, label);
	char *text = print_ok(ast);
	gb_ast *again = parse_ok(text, label);
	cr_assert(gb_ast_equal(ast, again), "%s: parse(print(t)) != t; printed:\n%s", label, text);
	char *text2 = print_ok(again);
	cr_assert_str_eq(text, text2, "%s: printing is not idempotent", label);
	free(text);
	free(text2);
	gb_ast_free(ast);
	gb_ast_free(again);
}

static char *dump_ok(const gb_ast *ast)
{
	gb_error err = {0};
	char *out = NULL;
	cr_assert_eq(gb_ast_dump(ast, &out, &err), GB_OK, "%s", err.msg);
	return out;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Names of dir's files ending in suffix, sorted; *n receives the count. */
static char **list_files(const char *dir, const char *suffix, int *n)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "cannot open %s (run the tests from the repository root)", dir);
	char **names = NULL;
	int count = 0;
	struct dirent *ent;
	while ((ent = readdir(d))) {
		if (!has_suffix(ent->d_name, suffix))
			continue;
		names = realloc(names, sizeof *names * (size_t)(count + 1));
		cr_assert_not_null(names);
		names[count++] = strdup(ent->d_name);
	}
	closedir(d);
	for (int i = 0; i < count; i++) /* insertion sort: deterministic order */
		for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	*n = count;
	return names;
}

static void free_list(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- golden files -------------------------------------------------------------------- */

Test(lang_golden, fixtures_print_canonically)
{
	bool update = getenv("GB_LANG_UPDATE_GOLDEN") != NULL;
	int n;
	char **names = list_files(FIXTURES, ".gbx", &n);
	cr_assert_geq(n, 8, "expected the golden fixtures in " FIXTURES);
	for (int i = 0; i < n; i++) {
		char path[512], expected_path[512], ast_path[512];
		snprintf(path, sizeof path, FIXTURES "/%s", names[i]);
		snprintf(expected_path, sizeof expected_path, FIXTURES "/%.*s.expected", (int)strlen(names[i]) - 4,
		         names[i]);
		snprintf(ast_path, sizeof ast_path, FIXTURES "/%.*s.ast", (int)strlen(names[i]) - 4, names[i]);
		char *src = read_text(path, NULL);
		cr_assert_not_null(src, "cannot read %s", path);
		gb_ast *ast = parse_ok(src, path);
		char *printed = print_ok(ast);
		if (update)
			write_text(expected_path, printed);
		char *expected = read_text(expected_path, NULL);
		cr_assert_not_null(expected, "missing golden file %s", expected_path);
		cr_expect_str_eq(printed, expected, "%s does not print as %s; got:\n%s", path, expected_path, printed);
		char *dump = dump_ok(ast);
		char *expected_dump = read_text(ast_path, NULL);
		if (expected_dump) {
			if (update)
				write_text(ast_path, dump);
			else
				cr_expect_str_eq(dump, expected_dump, "%s does not parse to %s; got:\n%s", path, ast_path, dump);
		}
		/* The golden output is itself canonical. */
		char *again = canonical(expected, expected_path);
		cr_expect_str_eq(again, expected, "%s is not a fixed point of the printer", expected_path);
		free(again);
		free(expected_dump);
		free(dump);
		free(expected);
		free(printed);
		free(src);
		gb_ast_free(ast);
	}
	free_list(names, n);
}

Test(lang_golden, issue_examples_parse_as_written)
{
	/* The two programs of the language's issue text, verbatim. */
	const char *max3 = "# decompiled from max3.onnx — exact on box [-1,1]^3 (certified)\n"
	                   "input x: f32[3]\n"
	                   "output y: f32[1]\n"
	                   "y[0] = max(x[0], x[1], x[2])\n";
	char *text = canonical(max3, "max3.gbx");
	cr_assert_str_eq(text, max3); /* already canonical */
	free(text);
	const char *conv =
		"input img: f32[1, 6, 6]\n"
		"param K: f32[3, 1, 3, 3] = weights[\"K\"]        # tensors live in a side-car .safetensors\n"
		"fmap = relu(conv2d(img, K, bias=kb, stride=1))  # 48 dense units = 3 filters x 4x4 positions\n"
		"output logits = dense(flatten(fmap), W2, b2)\n";
	gb_ast *ast = parse_ok(conv, "conv.gbx");
	cr_assert_eq(ast->body.n_stmts, 4);
	const gb_ast_stmt *param = ast->body.stmts[1];
	cr_assert_eq(param->kind, GB_AST_PARAM);
	cr_assert_str_eq(param->u.decl.name, "K");
	cr_assert_eq(param->u.decl.type->ndim, 4);
	cr_assert_eq(param->u.decl.value->kind, GB_AST_WEIGHTS);
	cr_assert_str_eq(param->u.decl.value->u.weights_key, "K");
	cr_assert_str_eq(param->trailing, " tensors live in a side-car .safetensors");
	const gb_ast_expr *conv_call = ast->body.stmts[2]->u.assign.value->u.call.args[0];
	cr_assert_str_eq(conv_call->u.call.callee, "conv2d");
	cr_assert_eq(conv_call->u.call.n_args, 2);
	cr_assert_eq(conv_call->u.call.n_kwargs, 2);
	cr_assert_str_eq(conv_call->u.call.kwargs[0].name, "bias");
	cr_assert_str_eq(conv_call->u.call.kwargs[1].name, "stride");
	cr_assert_eq(ast->body.stmts[3]->kind, GB_AST_OUTPUT);
	cr_assert_null(ast->body.stmts[3]->u.decl.type);
	gb_ast_free(ast);
}

/* ---- examples and the language document -------------------------------------------------- */

Test(lang_examples, canonical_and_round_trip)
{
	const char *required[] = {"max3.gbx", "sort3.gbx", "parity.gbx", "adder2.gbx", "smallconv.gbx"};
	int n;
	char **names = list_files("examples", ".gbx", &n);
	for (size_t r = 0; r < sizeof required / sizeof required[0]; r++) {
		bool found = false;
		for (int i = 0; i < n; i++)
			found |= strcmp(names[i], required[r]) == 0;
		cr_expect(found, "examples/%s is missing", required[r]);
	}
	for (int i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof path, "examples/%s", names[i]);
		char *src = read_text(path, NULL);
		cr_assert_not_null(src, "cannot read %s", path);
		char *text = canonical(src, path);
		cr_expect_str_eq(text, src, "%s is not in canonical layout; canonical form:\n%s", path, text);
		check_round_trip(src, path);
		free(text);
		free(src);
	}
	free_list(names, n);
}

Test(lang_examples, fixtures_round_trip)
{
	int n;
	char **names = list_files(FIXTURES, ".gbx", &n);
	for (int i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof path, FIXTURES "/%s", names[i]);
		char *src = read_text(path, NULL);
		cr_assert_not_null(src);
		check_round_trip(src, path);
		free(src);
	}
	free_list(names, n);
}

/* Every untagged ``` block of docs/language.md is a program (or a piece of
 * one) and must parse; tagged blocks (ebnf, text) are not programs. */
Test(lang_examples, language_doc_programs_parse)
{
	char *doc = read_text("docs/language.md", NULL);
	cr_assert_not_null(doc, "cannot read docs/language.md");
	int blocks = 0;
	char *p = doc;
	while ((p = strstr(p, "```"))) {
		char *line_end = strchr(p, '\n');
		cr_assert_not_null(line_end);
		bool tagged = line_end != p + 3;
		char *body = line_end + 1;
		char *close = strstr(body, "\n```");
		cr_assert_not_null(close, "unterminated code block in docs/language.md");
		if (!tagged) {
			char label[64];
			snprintf(label, sizeof label, "language.md block %d", blocks + 1);
			char saved = close[1];
			close[1] = '\0';
			check_round_trip(body, label);
			close[1] = saved;
			blocks++;
		}
		p = strchr(close + 1, '\n');
		if (!p)
			break;
	}
	cr_assert_geq(blocks, 8, "expected the document's example programs, found %d", blocks);
	free(doc);
}

/* ---- tree structure ------------------------------------------------------------------- */

Test(lang_tree, positions)
{
	gb_ast *ast = parse_ok("input x: f32[3]\n"
	                       "for i in range(2):\n"
	                       "    y = x[i] + 1.5  # c\n",
	                       "pos.gbx");
	const gb_ast_stmt *loop = ast->body.stmts[1];
	cr_assert_eq(loop->pos.line, 2);
	cr_assert_eq(loop->pos.col, 1);
	cr_assert_eq(loop->u.loop.var_pos.col, 5);
	const gb_ast_stmt *assign = loop->u.loop.body.stmts[0];
	cr_assert_eq(assign->pos.line, 3);
	cr_assert_eq(assign->pos.col, 5);
	const gb_ast_expr *sum = assign->u.assign.value;
	cr_assert_eq(sum->kind, GB_AST_BINARY);
	cr_assert_eq(sum->pos.col, 14); /* a binary operation stands at its operator */
	cr_assert_eq(sum->u.binary.lhs->pos.col, 9);
	cr_assert_eq(sum->u.binary.lhs->u.index.subs[0].pos.col, 11);
	cr_assert_eq(sum->u.binary.rhs->pos.col, 16);
	cr_assert_float_eq(sum->u.binary.rhs->u.fval, 1.5f, 0.0f);
	gb_ast_free(ast);

	/* Columns count characters, not bytes. */
	ast = parse_ok("weights \"\xc3\xa9t\xc3\xa9.safetensors\"  # \xe2\x80\x94\ninput x: f32\n", "utf8.gbx");
	cr_assert_str_eq(ast->body.stmts[0]->u.weights_path, "\xc3\xa9t\xc3\xa9.safetensors");
	gb_ast_free(ast);
	gb_error err = {0};
	gb_ast *bad = NULL;
	const char *src = "x = \"\xc3\xa9\" $\n";
	cr_assert_eq(gb_ast_parse(src, strlen(src), "utf8.gbx", &bad, &err), GB_STATUS_BAD_FILE);
	cr_assert_str_eq(err.msg, "utf8.gbx:1:9: expected a name, number, string, operator or bracket, found '$'");
}

Test(lang_tree, equality_sees_structure_not_layout)
{
	gb_ast *a = parse_ok("y = (a - b) - c  # x\n", "a");
	gb_ast *b = parse_ok("y=a-b-c # x\n", "b");
	gb_ast *c = parse_ok("y = a - (b - c)  # x\n", "c");
	gb_ast *d = parse_ok("y = a - b - c  # other\n", "d");
	gb_ast *e = parse_ok("\n# lead\ny = a - b - c  # x\n", "e");
	gb_ast *f = parse_ok("y = a - b - 1  # x\n", "f");
	gb_ast *g = parse_ok("y = a - b - 1.0  # x\n", "g");
	cr_assert(gb_ast_equal(a, b));
	cr_assert_not(gb_ast_equal(a, c));
	cr_assert_not(gb_ast_equal(a, d));
	cr_assert_not(gb_ast_equal(a, e));
	cr_assert_not(gb_ast_equal(f, g)); /* an int is not a float */
	gb_ast_free(a);
	gb_ast_free(b);
	gb_ast_free(c);
	gb_ast_free(d);
	gb_ast_free(e);
	gb_ast_free(f);
	gb_ast_free(g);
}

Test(lang_tree, line_endings_tabs_and_missing_final_newline)
{
	char *crlf = canonical("input x: f32[2]\r\nfor i in range(2):\r\n    y = x[i]\t+\t1\r\n\r\n# end", "crlf.gbx");
	cr_assert_str_eq(crlf, "input x: f32[2]\nfor i in range(2):\n    y = x[i] + 1\n\n# end\n");
	free(crlf);
	char *empty = canonical("", "empty.gbx");
	cr_assert_str_eq(empty, "");
	free(empty);
	char *blank = canonical("\n\n   \n\t\n", "blank.gbx");
	cr_assert_str_eq(blank, "");
	free(blank);
}

Test(lang_tree, trailing_comment_alignment)
{
	char *text = canonical("a = 1 # one\n"
	                       "bcd = 22   # two\n"
	                       "e = 3\n"
	                       "f = 4 # alone\n"
	                       "\n"
	                       "gg = 5 # after blank\n"
	                       "h = 6 # joined\n",
	                       "align.gbx");
	cr_assert_str_eq(text, "a = 1     # one\n"
	                       "bcd = 22  # two\n"
	                       "e = 3\n"
	                       "f = 4  # alone\n"
	                       "\n"
	                       "gg = 5  # after blank\n"
	                       "h = 6   # joined\n");
	free(text);
}

Test(lang_tree, float_format_shortest_exact)
{
	struct {
		float v;
		const char *text;
	} cases[] = {
		{0.0f, "0.0"},        {1.0f, "1.0"},         {10.0f, "10.0"},        {0.1f, "0.1"},
		{1.5f, "1.5"},        {100.0f, "100.0"},     {1e-4f, "0.0001"},      {1e-5f, "1e-05"},
		{2.5e-7f, "2.5e-07"}, {1e15f, "1000000000000000.0"},      {1e16f, "1e+16"},       {123456.79f, "123456.79"},
		{3.4028235e38f, "3.4028235e+38"},          {1e-45f, "1e-45"},       {0.33333334f, "0.33333334"},
		{16777216.0f, "16777216.0"},               {-2.5f, "-2.5"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[32];
		gb_lang_format_float(cases[i].v, buf);
		cr_expect_str_eq(buf, cases[i].text, "format(%.9g)", (double)cases[i].v);
	}
	/* Every finite float reads back exactly, over a spread of bit patterns. */
	uint32_t bits = 12345u;
	for (int i = 0; i < 200000; i++) {
		bits = bits * 1664525u + 1013904223u;
		float v;
		memcpy(&v, &bits, sizeof v);
		if (!isfinite(v))
			continue;
		char buf[32];
		gb_lang_format_float(v, buf);
		cr_assert(strchr(buf, '.') || strchr(buf, 'e'), "%s lexes as an integer", buf);
		float back = strtof(buf, NULL);
		cr_assert(memcmp(&back, &v, sizeof v) == 0, "%s does not read back as %a", buf, (double)v);
	}
}

Test(lang_tree, parse_file_reports_path)
{
	gb_error err = {0};
	gb_ast *ast = NULL;
	cr_assert_eq(gb_ast_parse_file("tests/fixtures/lang/no-such-file.gbx", &ast, &err), GB_STATUS_BAD_FILE);
	cr_assert_null(ast);
	cr_assert(strstr(err.msg, "tests/fixtures/lang/no-such-file.gbx") != NULL, "%s", err.msg);
	cr_assert_eq(gb_ast_parse_file("examples/max3.gbx", &ast, &err), GB_OK, "%s", err.msg);
	cr_assert_str_eq(ast->file, "examples/max3.gbx");
	gb_ast_free(ast);
	gb_ast_free(NULL);
}

/* ---- syntax errors: one per class, whole message asserted ------------------------------------ */

static void expect_error(const char *src, const char *message)
{
	gb_error err = {0};
	gb_ast *ast = (gb_ast *)1;
	gb_status st = gb_ast_parse(src, strlen(src), "t.gbx", &ast, &err);
	cr_assert_eq(st, GB_STATUS_BAD_FILE, "expected a syntax error for:\n%s", src);
	cr_assert_null(ast);
	cr_assert_str_eq(err.msg, message);
}

#define SYNTAX_ERROR(name, src, message)                                                                       \
	Test(lang_errors, name)                                                                                    \
	{                                                                                                          \
		expect_error(src, message);                                                                            \
	}

/* lexical */
SYNTAX_ERROR(unexpected_character, "x = 1 $ 2\n",
             "t.gbx:1:7: expected a name, number, string, operator or bracket, found '$'")
SYNTAX_ERROR(lone_bang, "x = a ! b\n", "t.gbx:1:7: expected '!=', found '!'")
SYNTAX_ERROR(control_byte, "x = 1\x07\n",
             "t.gbx:1:6: expected a name, number, string, operator or bracket, found byte 0x07")
SYNTAX_ERROR(lone_carriage_return, "x = 1\ry = 2\n",
             "t.gbx:1:6: expected a name, number, string, operator or bracket, found byte 0x0D")
SYNTAX_ERROR(unterminated_string, "weights \"net.safetensors\n",
             "t.gbx:1:25: expected '\"' to close the string, found end of line")
SYNTAX_ERROR(unterminated_string_crlf, "weights \"net\r\n", "t.gbx:1:13: expected '\"' to close the string, found end of line")
SYNTAX_ERROR(bad_escape, "weights \"a\\nb\"\n", "t.gbx:1:12: expected '\"' or '\\' after '\\' in a string, found 'n'")
SYNTAX_ERROR(control_in_comment, "x = 1  # bell\x07\n",
             "t.gbx:1:14: expected a printable character in the comment, found byte 0x07")
SYNTAX_ERROR(integer_too_large, "x = 9223372036854775808\n",
             "t.gbx:1:5: expected an integer at most 9223372036854775807, found 9223372036854775808")
SYNTAX_ERROR(float_out_of_range, "x = 1e39\n", "t.gbx:1:5: expected a number within float32 range, found 1e39")
SYNTAX_ERROR(tab_indentation, "for i in range(2):\n\ty = 1\n", "t.gbx:2:1: expected spaces for indentation, found a tab")
SYNTAX_ERROR(inconsistent_dedent, "for i in range(2):\n    y = 1\n  z = 2\n",
             "t.gbx:3:3: expected indentation of 0 spaces (as an enclosing block), found 2 spaces")
SYNTAX_ERROR(unexpected_indent, "x = 1\n    y = 2\n", "t.gbx:2:5: expected a statement at the block's indentation, found an unexpected indent")
SYNTAX_ERROR(missing_block, "for i in range(2):\ny = 1\n", "t.gbx:2:1: expected an indented block, found name 'y'")
SYNTAX_ERROR(block_at_end_of_file, "for i in range(2):\n", "t.gbx:2:1: expected an indented block, found end of file")

/* brackets */
SYNTAX_ERROR(unclosed_call, "y = f(1, 2\n", "t.gbx:2:1: expected ',' or ')', found end of file")
SYNTAX_ERROR(mismatched_bracket, "y = [1, 2)\n", "t.gbx:1:10: expected ',' or ']', found ')'")
SYNTAX_ERROR(stray_closing_bracket, "y = 1)\n", "t.gbx:1:6: expected end of line, found ')'")
SYNTAX_ERROR(empty_list, "y = []\n", "t.gbx:1:6: expected an expression, found ']'")
SYNTAX_ERROR(unclosed_subscript, "y = x[1:2\nz = 1\n", "t.gbx:2:1: expected ',' or ']', found name 'z'")

/* expressions */
SYNTAX_ERROR(missing_expression, "y =\n", "t.gbx:1:4: expected an expression, found end of line")
SYNTAX_ERROR(missing_operand, "y = a * \n", "t.gbx:1:9: expected an expression, found end of line")
SYNTAX_ERROR(chained_comparison, "y = a < b < c\n",
             "t.gbx:1:11: expected one comparison (they do not chain: write a < b and b < c), found '<'")
SYNTAX_ERROR(positional_after_keyword, "y = f(a=1, 2)\n",
             "t.gbx:1:12: expected a keyword argument (positional arguments come first), found number 2")
SYNTAX_ERROR(duplicate_keyword, "y = f(x, axis=1, axis=2)\n",
             "t.gbx:1:18: expected each keyword argument once, found name 'axis'")
SYNTAX_ERROR(call_of_non_name, "y = x[0](1)\n", "t.gbx:1:9: expected end of line, found '('")
SYNTAX_ERROR(call_of_parenthesised_name, "y = (f)(1)\n", "t.gbx:1:8: expected end of line, found '('")
SYNTAX_ERROR(call_of_call, "y = f(1)(2)\n", "t.gbx:1:9: expected end of line, found '('")
SYNTAX_ERROR(weights_without_key, "param W: f32 = weights[0]\n",
             "t.gbx:1:24: expected a tensor name string (weights[\"name\"]), found number 0")
SYNTAX_ERROR(range_arguments, "for i in range(0, 4, 1, 2):\n    y = 1\n",
             "t.gbx:1:23: expected ')' (range takes at most 3 arguments), found ','")
SYNTAX_ERROR(for_without_range, "for i in x:\n    y = 1\n", "t.gbx:1:10: expected 'range', found name 'x'")
SYNTAX_ERROR(comprehension_without_range, "y = [i for i in 3]\n", "t.gbx:1:17: expected 'range', found number 3")
SYNTAX_ERROR(keyword_as_name, "in = 3\n", "t.gbx:1:1: expected a statement, found 'in'")

/* statements */
SYNTAX_ERROR(expression_statement, "f(x)\n", "t.gbx:1:2: expected '=', found '('")
SYNTAX_ERROR(tuple_annotation, "a, b: f32 = f(x)\n", "t.gbx:1:5: expected ',' or '=', found ':'")
SYNTAX_ERROR(double_subscript_target, "y[0][1] = 2\n", "t.gbx:1:5: expected '=', found '['")
SYNTAX_ERROR(input_without_type, "input x\n", "t.gbx:1:8: expected ':' and a type, found end of line")
SYNTAX_ERROR(output_without_type_or_value, "output y\n", "t.gbx:1:9: expected ':' or '=', found end of line")
SYNTAX_ERROR(param_without_value, "param W: f32[2]\n",
             "t.gbx:1:16: expected '=' and the parameter's value, found end of line")
SYNTAX_ERROR(weights_without_path, "weights net\n", "t.gbx:1:9: expected the weights file name as a string, found name 'net'")
SYNTAX_ERROR(declaration_in_block, "for i in range(2):\n    input x: f32\n",
             "t.gbx:2:5: expected a statement that may stand in a block (declarations and def only at top level), "
             "found 'input'")
SYNTAX_ERROR(def_in_block, "def f(a: f32) -> f32:\n    def g(b: f32) -> f32:\n        return b\n    return a\n",
             "t.gbx:2:5: expected a statement that may stand in a block (declarations and def only at top level), "
             "found 'def'")
SYNTAX_ERROR(return_outside_def, "return 1\n", "t.gbx:1:1: expected a statement (return only ends a def's body), found 'return'")
SYNTAX_ERROR(return_in_loop, "def f(a: f32) -> f32:\n    for i in range(2):\n        return a\n    return a\n",
             "t.gbx:3:9: expected a statement (return only ends a def's body), found 'return'")
SYNTAX_ERROR(return_not_last, "def f(a: f32) -> f32:\n    return a\n    b = a\n",
             "t.gbx:3:5: expected the end of the def after its return statement, found name 'b'")
SYNTAX_ERROR(def_without_return, "def f(a: f32) -> f32:\n    b = a\nx = 1\n",
             "t.gbx:3:1: expected 'return' as the last statement of def f, found end of block")
SYNTAX_ERROR(def_without_arrow, "def f(a: f32):\n    return a\n", "t.gbx:1:14: expected '->' and the return type, found ':'")
SYNTAX_ERROR(def_parameter_without_type, "def f(a) -> f32:\n    return a\n",
             "t.gbx:1:8: expected ':' and the parameter's type, found ')'")
SYNTAX_ERROR(one_line_block, "for i in range(2): y = 1\n", "t.gbx:1:20: expected end of line, found name 'y'")

/* types */
SYNTAX_ERROR(unknown_type, "input x: float[3]\n", "t.gbx:1:10: expected a type (f32 or bool), found name 'float'")
SYNTAX_ERROR(zero_dimension, "input x: f32[0]\n", "t.gbx:1:14: expected a positive dimension, found number 0")
SYNTAX_ERROR(shape_variable_outside_def, "input x: f32[n]\n",
             "t.gbx:1:14: expected a dimension (a positive integer), found name 'n'")
SYNTAX_ERROR(too_many_dimensions, "input x: f32[1, 1, 1, 1, 1, 1, 1, 1, 1]\n",
             "t.gbx:1:38: expected at most 8 dimensions, found number 1")
SYNTAX_ERROR(empty_shape, "input x: f32[]\n", "t.gbx:1:14: expected a dimension (a positive integer), found ']'")

/* ---- limits: hostile input fails cleanly -------------------------------------------------- */

static char *repeat(const char *head, const char *unit, int n, const char *tail)
{
	size_t len = strlen(head) + strlen(unit) * (size_t)n + strlen(tail) + 1;
	char *s = malloc(len);
	cr_assert_not_null(s);
	strcpy(s, head);
	char *p = s + strlen(head);
	for (int i = 0; i < n; i++) {
		memcpy(p, unit, strlen(unit));
		p += strlen(unit);
	}
	strcpy(p, tail);
	return s;
}

Test(lang_limits, deep_brackets)
{
	char *open = repeat("y = ", "(", 100000, "");
	gb_error err = {0};
	gb_ast *ast = NULL;
	cr_assert_eq(gb_ast_parse(open, strlen(open), "t.gbx", &ast, &err), GB_STATUS_BAD_FILE);
	cr_assert_str_eq(err.msg, "t.gbx:1:105: expected at most 100 nested brackets, operators or blocks, found '('");
	free(open);
	char *minus = repeat("y = ", "-", 100000, "x\n");
	cr_assert_eq(gb_ast_parse(minus, strlen(minus), "t.gbx", &ast, &err), GB_STATUS_BAD_FILE);
	cr_assert(strstr(err.msg, "expected at most 100 nested") != NULL, "%s", err.msg);
	free(minus);
	char *nots = repeat("y = ", "not ", 100000, "x\n");
	cr_assert_eq(gb_ast_parse(nots, strlen(nots), "t.gbx", &ast, &err), GB_STATUS_BAD_FILE);
	free(nots);
	char *lists = repeat("y = ", "[", 100000, "");
	cr_assert_eq(gb_ast_parse(lists, strlen(lists), "t.gbx", &ast, &err), GB_STATUS_BAD_FILE);
	free(lists);
	/* 50 levels are fine */
	char *ok = repeat("y = ", "(", 50, "x");
	char *closed = repeat(ok, ")", 50, "\n");
	check_round_trip(closed, "nested.gbx");
	free(ok);
	free(closed);
}

Test(lang_limits, deep_blocks)
{
	/* 101 nested loops: the lexer refuses the indentation first. */
	size_t cap = 1 << 20, len = 0;
	char *src = malloc(cap);
	cr_assert_not_null(src);
	for (int level = 0; level <= 101; level++) {
		len += (size_t)sprintf(src + len, "%*sfor i%d in range(1):\n", 4 * level, "", level);
	}
	sprintf(src + len, "%*sy = 1\n", 4 * 102, "");
	gb_error err = {0};
	gb_ast *ast = NULL;
	cr_assert_eq(gb_ast_parse(src, strlen(src), "t.gbx", &ast, &err), GB_STATUS_BAD_FILE);
	cr_assert_str_eq(err.msg, "t.gbx:102:405: expected at most 100 indentation levels, found level 101");
	free(src);
}

Test(lang_limits, long_operator_chains)
{
	/* A sum of 999 terms is one tree 999 deep: accepted and printed back. */
	char *ok = repeat("y = x", " + x", 998, "\n");
	check_round_trip(ok, "sum999.gbx");
	free(ok);
	char *deep = repeat("y = x", " + x", 1000, "\n");
	gb_error err = {0};
	gb_ast *ast = NULL;
	cr_assert_eq(gb_ast_parse(deep, strlen(deep), "t.gbx", &ast, &err), GB_STATUS_BAD_FILE);
	cr_assert_str_eq(err.msg,
	                 "t.gbx:1:4003: expected an expression at most 1000 operations deep (split it with names), found '+'");
	free(deep);
	/* Many statements and wide lists are not limited. */
	char *many = repeat("", "y = [1, 2, 3]\n", 20000, "");
	check_round_trip(many, "many.gbx");
	free(many);
	char *wide = repeat("y = [0", ", 1", 100000, "]\n");
	check_round_trip(wide, "wide.gbx");
	free(wide);
}

Test(lang_limits, nul_bytes_and_truncation)
{
	const char src[] = "input x: f32[3]\noutput y = relu(x)\n";
	gb_error err = {0};
	gb_ast *ast = NULL;
	char with_nul[sizeof src];
	memcpy(with_nul, src, sizeof src);
	with_nul[10] = '\0';
	cr_assert_eq(gb_ast_parse(with_nul, sizeof src - 1, "t.gbx", &ast, &err), GB_STATUS_BAD_FILE);
	cr_assert_str_eq(err.msg, "t.gbx:1:11: expected a name, number, string, operator or bracket, found byte 0x00");
	/* Every prefix of a valid program either parses or fails with a message. */
	for (size_t n = 0; n < sizeof src - 1; n++) {
		err.msg[0] = '\0';
		gb_status st = gb_ast_parse(src, n, "t.gbx", &ast, &err);
		if (st == GB_OK) {
			gb_ast_free(ast);
		} else {
			cr_assert_eq(st, GB_STATUS_BAD_FILE);
			cr_assert(strncmp(err.msg, "t.gbx:", 6) == 0, "%s", err.msg);
		}
	}
}

/* ---- static checks -------------------------------------------------------------------- */

static void expect_valid(const char *src, const char *label)
{
	gb_ast *ast = parse_ok(src, label);
	gb_error err = {0};
	cr_assert_eq(gb_ast_check(ast, &err), GB_OK, "%s: %s", label, err.msg);
	gb_ast_free(ast);
}

Test(lang_check, examples_and_valid_programs)
{
	const char *dirs[] = {"examples", FIXTURES "/valid"};
	int total = 0;
	for (int d = 0; d < 2; d++) {
		int n;
		char **names = list_files(dirs[d], ".gbx", &n);
		for (int i = 0; i < n; i++) {
			char path[512];
			snprintf(path, sizeof path, "%s/%s", dirs[d], names[i]);
			char *src = read_text(path, NULL);
			cr_assert_not_null(src);
			expect_valid(src, path);
			char *text = canonical(src, path);
			cr_expect_str_eq(text, src, "%s is not in canonical layout", path);
			free(text);
			free(src);
			total++;
		}
		free_list(names, n);
	}
	cr_assert_geq(total, 10);
}

Test(lang_check, primitive_table)
{
	for (int i = 0; i < GB_PRIM_COUNT; i++) {
		const gb_prim *p = gb_prim_get((gb_prim_id)i);
		cr_assert_not_null(p);
		cr_assert_eq((int)p->id, i);
		cr_assert_eq(gb_prim_find(p->name), p);
		cr_assert_geq(p->n_required, 1);
	}
	cr_assert_null(gb_prim_find("frobnicate"));
	cr_assert_null(gb_prim_get(GB_PRIM_COUNT));
	/* Every primitive is documented in docs/language.md as a call "name(". */
	char *doc = read_text("docs/language.md", NULL);
	cr_assert_not_null(doc);
	for (int i = 0; i < GB_PRIM_COUNT; i++) {
		char call[64];
		snprintf(call, sizeof call, "`%s(", gb_prim_get((gb_prim_id)i)->name);
		cr_expect(strstr(doc, call) != NULL, "docs/language.md does not document %s", call + 1);
	}
	free(doc);
}

Test(lang_check, def_calls_are_memoised)
{
	/* 40 defs, each calling the previous one twice: 2^40 inlined calls,
	 * checked once per def thanks to the memo. */
	size_t cap = 1 << 16, len = 0;
	char *src = malloc(cap);
	cr_assert_not_null(src);
	len += (size_t)sprintf(src + len, "def g0(a: f32[n]) -> f32[n]:\n    return relu(a)\n");
	for (int i = 1; i < 40; i++)
		len += (size_t)sprintf(src + len, "def g%d(a: f32[n]) -> f32[n]:\n    return g%d(a) + g%d(-a)\n", i, i - 1,
		                       i - 1);
	sprintf(src + len, "input x: f32[3]\noutput y = g39(x)\n");
	expect_valid(src, "memo.gbx");
	free(src);
}

Test(lang_check, long_chains_and_big_loops)
{
	char *chain = repeat("input x: f32[3]\noutput y = x", " + x", 998, "\n");
	expect_valid(chain, "chain.gbx");
	free(chain);
	expect_valid("input x: f32[1000]\noutput y: f32[1000]\nfor i in range(1000):\n    y[i] = x[999 - i]\n",
	             "loop.gbx");
	gb_ast *ast = parse_ok("y = 0\nfor i in range(1000):\n    for j in range(1000):\n        y = y + 1\n", "big.gbx");
	gb_error err = {0};
	cr_assert_eq(gb_ast_check(ast, &err), GB_STATUS_BAD_FILE);
	cr_assert_str_eq(err.msg, "big.gbx:4:9: the program unrolls to more than 1000000 statements and array items");
	gb_ast_free(ast);
}

static void expect_check_error(const char *src, const char *message)
{
	gb_ast *ast = parse_ok(src, "t.gbx");
	gb_error err = {0};
	cr_assert_eq(gb_ast_check(ast, &err), GB_STATUS_BAD_FILE, "expected a check error for:\n%s", src);
	cr_assert_str_eq(err.msg, message);
	gb_ast_free(ast);
}

#define CHECK_ERROR(name, src, message)                                                                        \
	Test(lang_check_errors, name)                                                                              \
	{                                                                                                          \
		expect_check_error(src, message);                                                                      \
	}

/* names and scopes */
CHECK_ERROR(unknown_name, "input x: f32[3]\noutput y = relu(z)\n", "t.gbx:2:17: unknown name 'z'")
CHECK_ERROR(unknown_function, "input x: f32[3]\noutput y = frob(x)\n", "t.gbx:2:12: unknown function 'frob'")
CHECK_ERROR(assign_to_input, "input x: f32[3]\nx = 1\n", "t.gbx:2:1: cannot assign to input 'x'")
CHECK_ERROR(assign_to_loop_variable, "for i in range(3):\n    i = 2\n", "t.gbx:2:5: cannot assign to loop variable 'i'")
CHECK_ERROR(duplicate_declaration, "input x: f32[3]\ninput x: f32[3]\n", "t.gbx:2:7: 'x' is already bound (input at 1:7)")
CHECK_ERROR(predefined_name, "input x: f32\nmax = x\n", "t.gbx:2:1: 'max' is a predefined name and cannot be bound")
CHECK_ERROR(def_sees_no_inputs, "input x: f32[3]\ndef f(a: f32) -> f32:\n    return a + x[0]\noutput y = f(1.0)\n",
            "t.gbx:3:16: 'x' is not visible in a def (a def sees its parameters and the params)")
CHECK_ERROR(def_calls_only_earlier_defs,
            "def f(a: f32) -> f32:\n    return g(a)\ndef g(a: f32) -> f32:\n    return a\noutput y = f(1.0)\n",
            "t.gbx:2:12: def g is not visible here (a def calls only defs above it)")
CHECK_ERROR(loop_variable_ends_with_loop, "for i in range(2):\n    y = i\nz = i\n", "t.gbx:3:5: unknown name 'i'")

/* calls */
CHECK_ERROR(too_many_arguments, "input x: f32[3]\noutput y = relu(x, x)\n",
            "t.gbx:2:12: relu takes at most 1 positional argument, got 2")
CHECK_ERROR(missing_argument, "input img: f32[1, 6, 6]\noutput y = conv2d(img)\n",
            "t.gbx:2:12: conv2d is missing its argument 'kernel'")
CHECK_ERROR(unknown_keyword,
            "weights \"w.safetensors\"\ninput img: f32[1, 6, 6]\nparam K: f32[2, 1, 3, 3] = weights[\"K\"]\n"
            "output y = conv2d(img, K, strides=1)\n",
            "t.gbx:4:27: conv2d has no parameter 'strides'")
CHECK_ERROR(argument_twice, "input x: f32[3]\noutput y = step(x, 0.5, threshold=1.0)\n",
            "t.gbx:2:25: step got 'threshold' twice")
CHECK_ERROR(def_arity, "def f(a: f32) -> f32:\n    return a\noutput y = f(1.0, 2.0)\n",
            "t.gbx:3:12: def f takes 1 argument, got 2")
CHECK_ERROR(majority_of_even_count, "input x: f32[4]\noutput y = majority(x[0], x[1], x[2], x[3])\n",
            "t.gbx:2:12: majority takes an odd number of arguments, got 4")
CHECK_ERROR(clamp_bounds_constant, "input x: f32[3]\noutput y = clamp(x, x[0], 1.0)\n",
            "t.gbx:2:21: lo must be a constant scalar (a number or a scalar param), not f32")
CHECK_ERROR(clamp_bounds_order, "input x: f32[3]\noutput y = clamp(x, 1.0, -1.0)\n",
            "t.gbx:2:12: clamp needs lo <= hi, not 1 > -1")
CHECK_ERROR(step_width_positive, "input x: f32[3]\noutput y = step(x, 0.5, width=0.0)\n",
            "t.gbx:2:31: width must be positive, not 0")

/* types and shapes */
CHECK_ERROR(broadcast_mismatch, "input x: f32[3]\ninput z: f32[2]\noutput y = x + z\n",
            "t.gbx:3:14: +: shapes f32[3] and f32[2] do not broadcast")
CHECK_ERROR(dense_mismatch, "input x: f32[3]\nparam W: f32[2, 4] = [[1, 2, 3, 4], [5, 6, 7, 8]]\noutput y = dense(x, W)\n",
            "t.gbx:3:21: dense: the weight f32[2, 4] does not take 3 inputs (f32[3])")
CHECK_ERROR(matmul_mismatch, "input x: f32[3]\nparam W: f32[2, 4] = [[1, 2, 3, 4], [5, 6, 7, 8]]\noutput y = W @ x\n",
            "t.gbx:3:14: matmul of f32[2, 4] and f32[3]: inner sizes 4 and 3 differ")
CHECK_ERROR(conv_channels,
            "weights \"w.safetensors\"\ninput img: f32[2, 6, 6]\nparam K: f32[2, 1, 3, 3] = weights[\"K\"]\n"
            "output y = conv2d(img, K)\n",
            "t.gbx:4:24: conv2d: the kernel f32[2, 1, 3, 3] takes 1 channels per group, the image f32[2, 6, 6] has 2")
CHECK_ERROR(pool_padding, "input x: f32[1, 5, 5]\noutput y = maxpool2d(x, 2, padding=2)\n",
            "t.gbx:2:36: maxpool2d: padding 2 must be smaller than the window 2")
CHECK_ERROR(reshape_count, "input x: f32[4]\noutput y = reshape(x, [3, -1])\n",
            "t.gbx:2:23: cannot reshape f32[4] (4 elements) to this shape")
CHECK_ERROR(concat_mismatch, "input x: f32[3]\ninput z: f32[2, 3]\noutput y = concat(x, z)\n",
            "t.gbx:3:22: concat along axis 0: f32[2, 3] does not fit f32[3]")
CHECK_ERROR(where_condition, "input x: f32[4]\noutput y = where(x, x, x)\n",
            "t.gbx:2:18: the condition of where must be bool, not f32[4]")
CHECK_ERROR(log_softmax_of_scalar, "input x: f32\noutput y = log_softmax(x)\n",
            "t.gbx:2:24: log_softmax needs an array, not a scalar")
CHECK_ERROR(log_softmax_axis, "input x: f32[2, 3]\noutput y = log_softmax(x, axis=2)\n",
            "t.gbx:2:32: axis 2 is out of range for rank 2")
CHECK_ERROR(float_of_f32, "input x: f32[3]\noutput y = float(x)\n", "t.gbx:2:18: float converts bool, not f32[3]")
CHECK_ERROR(ordering_bools, "input x: f32[3]\noutput y = (x < 1) < (x > 2)\n",
            "t.gbx:2:20: '<' compares f32 with f32, not bool[3] with bool[3]")
CHECK_ERROR(logic_mixed_types, "input x: f32[3]\noutput y = (x < 1) and x\n",
            "t.gbx:2:20: 'and' needs operands of one element type, not bool[3] and f32[3]")
CHECK_ERROR(annotation_mismatch, "input x: f32[3]\nh: f32[2] = x\n", "t.gbx:2:1: 'h' is f32[2], not f32[3]")
CHECK_ERROR(param_shape, "param W: f32[2] = [1, 2, 3]\n", "t.gbx:1:19: param 'W' is declared f32[2] but its value is f32[3]")
CHECK_ERROR(param_not_constant, "input x: f32\nparam t: f32 = x\n",
            "t.gbx:2:16: a param's value is a constant: numbers, lists of numbers or weights[\"name\"]")
CHECK_ERROR(ragged_array, "y = [[1, 2], [3]]\n", "t.gbx:1:14: array item 1 has shape f32[1] but the first has f32[2]")
CHECK_ERROR(array_too_large, "input x: f32[65536, 65536, 2]\n", "t.gbx:1:10: f32[65536, 65536, 2] has more than 4294967296 elements")

/* integers, indices, definedness */
CHECK_ERROR(index_out_of_range, "input x: f32[3]\noutput y = x[3]\n", "t.gbx:2:14: index 3 is out of range for axis 0 of size 3")
CHECK_ERROR(too_many_subscripts, "input x: f32[3]\noutput y = x[0, 1]\n", "t.gbx:2:12: 2 subscripts for f32[3], which has 1 axis")
CHECK_ERROR(index_not_integer, "input x: f32[3]\noutput y = x[1.5]\n", "t.gbx:2:14: an index must be a compile-time integer, not f32")
CHECK_ERROR(empty_slice, "input x: f32[3]\noutput y = x[2:1]\n",
            "t.gbx:2:14: the slice selects nothing from an axis of size 3 (there are no empty arrays)")
CHECK_ERROR(empty_comprehension, "input x: f32[4]\noutput y = [x[i] for i in range(0)]\n",
            "t.gbx:2:27: the range is empty (there are no empty arrays)")
CHECK_ERROR(integer_division_of_f32, "input x: f32[4]\noutput y = x // 2\n",
            "t.gbx:2:12: an operand of '//' must be a compile-time integer, not f32[4]")
CHECK_ERROR(division_by_zero, "n = 3 // 0\n", "t.gbx:1:7: integer division by zero")
CHECK_ERROR(integer_overflow, "n = 9223372036854775807 + 1\n", "t.gbx:1:25: integer overflow in '+'")
CHECK_ERROR(range_too_long, "for i in range(100000000):\n    y = 1\n",
            "t.gbx:1:10: range of 100000000 values: the program would unroll to more than 1000000 statements")
CHECK_ERROR(output_not_defined, "input x: f32[3]\noutput y: f32[3]\ny[0] = x[0]\ny[2] = x[1]\n",
            "t.gbx:2:8: output 'y' is not fully defined by the end of the program")
CHECK_ERROR(read_before_defined, "input x: f32[3]\noutput y: f32[3]\ny[0] = x[0]\nz = y[1]\n",
            "t.gbx:4:5: output 'y' is read before these elements are defined")
CHECK_ERROR(declared_local_read, "h: f32[2]\nz = h + 1\n", "t.gbx:2:5: variable 'h' is read before all its elements are defined")
CHECK_ERROR(region_shape, "input x: f32[3]\noutput y: f32[2, 3]\ny[0] = x[0:2]\n",
            "t.gbx:3:8: a value of shape f32[2] does not fit the region f32[3] of 'y'")

/* defs and tuples */
CHECK_ERROR(def_shape_variable_mismatch,
            "def dot(v: f32[n], w: f32[n]) -> f32:\n    return sum(v * w)\ninput x: f32[3]\ninput z: f32[4]\n"
            "output y = dot(x, z)\n",
            "t.gbx:5:19: def dot: argument 'w' is f32[4], the parameter is f32[n]")
CHECK_ERROR(def_return_type, "def f(v: f32[n]) -> f32[n]:\n    return sum(v)\ninput x: f32[3]\noutput y = f(x)\n",
            "t.gbx:2:12: def f returns f32 where its type says f32[3]")
CHECK_ERROR(tuple_as_value, "def pair(a: f32, b: f32) -> (f32, f32):\n    return a, b\noutput y = pair(1.0, 2.0)\n",
            "t.gbx:3:12: the value is a def's 2 results; take them apart with an assignment")
CHECK_ERROR(tuple_count, "def pair(a: f32, b: f32) -> (f32, f32):\n    return a, b\na, b, c = pair(1.0, 2.0)\n",
            "t.gbx:3:11: 3 names need a def call with 3 results, not 2 results")
CHECK_ERROR(def_duplicate_parameter, "def f(a: f32, a: f32) -> f32:\n    return a\n",
            "t.gbx:1:15: def f has two parameters named 'a'")
CHECK_ERROR(def_unbound_result_dim, "def f(a: f32) -> f32[m]:\n    return a\n",
            "t.gbx:1:22: shape variable 'm' does not occur in the parameters")

/* weights */
CHECK_ERROR(weights_without_file, "param K: f32[2] = weights[\"K\"]\n",
            "t.gbx:1:19: weights[\"K\"] needs a weights \"FILE\" line above it")
CHECK_ERROR(second_weights_file, "weights \"a.safetensors\"\nweights \"b.safetensors\"\n",
            "t.gbx:2:1: a second weights line (the first is at 1:1)")
CHECK_ERROR(weights_inside_expression, "weights \"a.safetensors\"\nparam K: f32[2] = [weights[\"K\"], 1.0]\n",
            "t.gbx:2:19: a param's value is a constant: numbers, lists of numbers or weights[\"name\"]")
