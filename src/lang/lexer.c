/*
 * lexer.c — splits .gbx source text into tokens (internal.h describes the
 * token stream). Python's rules for lines and blocks: a logical line ends at
 * a line break outside brackets, leading spaces open (INDENT) and close
 * (DEDENT) blocks, blank and comment-only lines do neither. Indentation is
 * spaces only. Comments are kept as tokens so that the printer can put them
 * back.
 *
 * The lexer reads src[0..len) and never past it; any byte it does not
 * expect is an error "FILE:LINE:COL: expected X, found Y", never a crash.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct lexer {
	const char *src;
	size_t len;
	size_t i;       /* next byte */
	int line, col;  /* position of src[i] */
	const char *file;
	gb_pool *pool; /* texts */
	gb_error *err;

	gb_tok *toks;
	int n_toks, cap_toks;

	int indent[GB_LANG_MAX_INDENT + 1]; /* widths of the open blocks; indent[0] = 0 */
	int n_indent;
	int depth;          /* open brackets */
	bool at_line_start; /* outside brackets, before the first token of a line */
	bool blank_pending; /* a blank line since the last line with tokens */
	bool blank_next;    /* the next token starts a line that follows a blank line */
	bool seen_line;     /* a non-blank line has been seen (blank lines at the top do not count) */
	const char *trailing;   /* comment at the end of the current line */
	gb_ast_pos trailing_pos;
	gb_ast_pos code_end;    /* where the current line's code ends (for NEWLINE) */
} lexer;

/* ---- small helpers ------------------------------------------------------------- */

static const struct {
	const char *word;
	gb_tok_kind kind;
} keywords[] = {
	{"input", GB_TOK_INPUT}, {"output", GB_TOK_OUTPUT}, {"param", GB_TOK_PARAM}, {"weights", GB_TOK_WEIGHTS},
	{"def", GB_TOK_DEF},     {"return", GB_TOK_RETURN}, {"for", GB_TOK_FOR},     {"in", GB_TOK_IN},
	{"and", GB_TOK_AND},     {"or", GB_TOK_OR},         {"not", GB_TOK_NOT},     {"True", GB_TOK_TRUE},
	{"False", GB_TOK_FALSE},
};

const char *gb_tok_kind_str(gb_tok_kind kind)
{
	switch (kind) {
	case GB_TOK_EOF: return "end of file";
	case GB_TOK_NEWLINE: return "end of line";
	case GB_TOK_INDENT: return "an indented block";
	case GB_TOK_DEDENT: return "end of block";
	case GB_TOK_COMMENT_LINE:
	case GB_TOK_COMMENT_INNER: return "a comment";
	case GB_TOK_NAME: return "a name";
	case GB_TOK_INT: return "an integer";
	case GB_TOK_FLOAT: return "a number";
	case GB_TOK_STRING: return "a string";
	case GB_TOK_INPUT: return "'input'";
	case GB_TOK_OUTPUT: return "'output'";
	case GB_TOK_PARAM: return "'param'";
	case GB_TOK_WEIGHTS: return "'weights'";
	case GB_TOK_DEF: return "'def'";
	case GB_TOK_RETURN: return "'return'";
	case GB_TOK_FOR: return "'for'";
	case GB_TOK_IN: return "'in'";
	case GB_TOK_AND: return "'and'";
	case GB_TOK_OR: return "'or'";
	case GB_TOK_NOT: return "'not'";
	case GB_TOK_TRUE: return "'True'";
	case GB_TOK_FALSE: return "'False'";
	case GB_TOK_LPAREN: return "'('";
	case GB_TOK_RPAREN: return "')'";
	case GB_TOK_LBRACKET: return "'['";
	case GB_TOK_RBRACKET: return "']'";
	case GB_TOK_COMMA: return "','";
	case GB_TOK_COLON: return "':'";
	case GB_TOK_ASSIGN: return "'='";
	case GB_TOK_ARROW: return "'->'";
	case GB_TOK_PLUS: return "'+'";
	case GB_TOK_MINUS: return "'-'";
	case GB_TOK_STAR: return "'*'";
	case GB_TOK_SLASH: return "'/'";
	case GB_TOK_SLASHSLASH: return "'//'";
	case GB_TOK_PERCENT: return "'%'";
	case GB_TOK_AT: return "'@'";
	case GB_TOK_LT: return "'<'";
	case GB_TOK_LE: return "'<='";
	case GB_TOK_GT: return "'>'";
	case GB_TOK_GE: return "'>='";
	case GB_TOK_EQ: return "'=='";
	case GB_TOK_NE: return "'!='";
	case GB_TOK_COUNT: break;
	}
	return "a token";
}

/* How the character at s[0..n) reads in "found ..." messages: "'$'" for
 * printable ASCII, "byte 0x07" otherwise. */
static void describe_char(const char *s, size_t n, char *buf, size_t size)
{
	if (n == 0) {
		snprintf(buf, size, "end of file");
		return;
	}
	unsigned char c = (unsigned char)s[0];
	if (c == '\n' || (c == '\r' && n > 1 && s[1] == '\n'))
		snprintf(buf, size, "end of line");
	else if (c == '\t')
		snprintf(buf, size, "a tab");
	else if (c == '\'')
		snprintf(buf, size, "\"'\"");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(buf, size, "'%c'", c);
	else
		snprintf(buf, size, "byte 0x%02X", c);
}

/* Source text quoted for a message, cut at 40 bytes. */
static void quote_source(const char *src, size_t off, size_t len, char *buf, size_t size)
{
	const size_t limit = 40;
	if (len > limit)
		snprintf(buf, size, "%.*s...", (int)limit, src + off);
	else
		snprintf(buf, size, "%.*s", (int)len, src + off);
}

void gb_tok_describe(const gb_tok *t, const char *src, char *buf, size_t size)
{
	char q[64];
	switch (t->kind) {
	case GB_TOK_NAME:
		quote_source(src, t->src_off, t->src_len, q, sizeof q);
		snprintf(buf, size, "name '%s'", q);
		return;
	case GB_TOK_INT:
	case GB_TOK_FLOAT:
		quote_source(src, t->src_off, t->src_len, q, sizeof q);
		snprintf(buf, size, "number %s", q);
		return;
	case GB_TOK_STRING:
		quote_source(src, t->src_off, t->src_len, q, sizeof q);
		snprintf(buf, size, "string %s", q);
		return;
	case GB_TOK_INDENT: snprintf(buf, size, "an unexpected indent"); return;
	default: snprintf(buf, size, "%s", gb_tok_kind_str(t->kind)); return;
	}
}

static gb_status lex_error(lexer *lx, int line, int col, const char *expected, const char *found)
{
	return gb_fail(lx->err, GB_STATUS_BAD_FILE, "%s:%d:%d: expected %s, found %s", lx->file, line, col, expected,
	               found);
}

static gb_status lex_error_here(lexer *lx, const char *expected)
{
	char found[32];
	describe_char(lx->src + lx->i, lx->len - lx->i, found, sizeof found);
	return lex_error(lx, lx->line, lx->col, expected, found);
}

static gb_status lex_nomem(lexer *lx)
{
	return gb_fail(lx->err, GB_STATUS_NOMEM, "%s: out of memory while reading the program", lx->file);
}

static bool is_newline_at(const lexer *lx, size_t j)
{
	return j < lx->len && (lx->src[j] == '\n' || (lx->src[j] == '\r' && j + 1 < lx->len && lx->src[j + 1] == '\n'));
}

/* Moves past n bytes on the current line (no line breaks among them). A
 * column counts characters: UTF-8 continuation bytes do not advance it. */
static void skip_bytes(lexer *lx, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (((unsigned char)lx->src[lx->i] & 0xC0) != 0x80)
			lx->col++;
		lx->i++;
	}
}

/* Moves past a line break ("\n" or "\r\n") at lx->i. */
static void skip_newline(lexer *lx)
{
	lx->i += lx->src[lx->i] == '\r' ? 2 : 1;
	lx->line++;
	lx->col = 1;
}

static gb_tok *push_tok(lexer *lx, gb_tok_kind kind, gb_ast_pos pos, size_t off, size_t len)
{
	if (lx->n_toks == lx->cap_toks) {
		int cap = lx->cap_toks ? lx->cap_toks + lx->cap_toks / 2 : 256;
		if (lx->cap_toks > INT32_MAX / 4)
			return NULL;
		gb_tok *grown = realloc(lx->toks, sizeof(gb_tok) * (size_t)cap);
		if (!grown)
			return NULL;
		lx->toks = grown;
		lx->cap_toks = cap;
	}
	gb_tok *t = &lx->toks[lx->n_toks++];
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->pos = pos;
	t->src_off = (uint32_t)off; /* the source is at most GB_LANG_MAX_FILE_BYTES */
	t->src_len = (uint32_t)len;
	if (kind != GB_TOK_INDENT && kind != GB_TOK_DEDENT && kind != GB_TOK_NEWLINE && kind != GB_TOK_EOF) {
		t->blank_before = lx->blank_next;
		lx->blank_next = false;
	}
	return t;
}

void *gb_pool_alloc(gb_pool *pool, size_t size)
{
	size_t rounded;
	if (!gb_add_size(size, 7, &rounded))
		return NULL;
	rounded &= ~(size_t)7;
	if (rounded == 0)
		rounded = 8;
	if (rounded > 1024) { /* big ones straight from the arena */
		void *mem = gb_arena_alloc(pool->arena, rounded);
		if (mem)
			memset(mem, 0, rounded);
		return mem;
	}
	if (pool->left < rounded) {
		const size_t chunk = (size_t)32 << 10;
		pool->cur = gb_arena_alloc(pool->arena, chunk);
		if (!pool->cur) {
			pool->left = 0;
			return NULL;
		}
		pool->left = chunk;
	}
	void *mem = pool->cur;
	pool->cur += rounded;
	pool->left -= rounded;
	memset(mem, 0, rounded);
	return mem;
}

char *gb_pool_strndup(gb_pool *pool, const char *s, size_t n)
{
	size_t total;
	if (!gb_add_size(n, 1, &total))
		return NULL;
	char *copy = gb_pool_alloc(pool, total);
	if (copy)
		memcpy(copy, s, n); /* the NUL is already there */
	return copy;
}

/* ---- comments, numbers, names, strings ---------------------------------------- */

/* Reads a comment starting at '#' up to the end of the line (not included).
 * *text receives what follows '#', trailing blanks removed. Control
 * characters other than tab are refused (they would not survive printing). */
static gb_status lex_comment(lexer *lx, const char **text)
{
	skip_bytes(lx, 1); /* '#' */
	size_t start = lx->i;
	while (lx->i < lx->len && !is_newline_at(lx, lx->i)) {
		unsigned char c = (unsigned char)lx->src[lx->i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return lex_error_here(lx, "a printable character in the comment");
		skip_bytes(lx, 1);
	}
	size_t end = lx->i;
	while (end > start && (lx->src[end - 1] == ' ' || lx->src[end - 1] == '\t'))
		end--;
	*text = gb_pool_strndup(lx->pool, lx->src + start, end - start);
	return *text ? GB_OK : lex_nomem(lx);
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(int c)
{
	return is_name_start(c) || is_digit(c);
}

/* 12  1.5  1.  .5  1e-3  2.5E+4 */
static gb_status lex_number(lexer *lx)
{
	const char *s = lx->src;
	size_t start = lx->i, j = lx->i;
	gb_ast_pos pos = {lx->line, lx->col};
	bool is_float = false;
	while (j < lx->len && is_digit(s[j]))
		j++;
	if (j < lx->len && s[j] == '.') {
		is_float = true;
		j++;
		while (j < lx->len && is_digit(s[j]))
			j++;
	}
	if (j < lx->len && (s[j] == 'e' || s[j] == 'E')) {
		size_t k = j + 1;
		if (k < lx->len && (s[k] == '+' || s[k] == '-'))
			k++;
		if (k < lx->len && is_digit(s[k])) {
			is_float = true;
			j = k;
			while (j < lx->len && is_digit(s[j]))
				j++;
		}
	}
	size_t n = j - start;
	char found[64];
	quote_source(s, start, n, found, sizeof found);
	gb_tok *t = push_tok(lx, is_float ? GB_TOK_FLOAT : GB_TOK_INT, pos, start, n);
	if (!t)
		return lex_nomem(lx);
	if (is_float) {
		char text[64]; /* strtof needs a terminated copy; long literals go to the heap */
		char *copy = n < sizeof text ? text : malloc(n + 1);
		if (!copy)
			return lex_nomem(lx);
		memcpy(copy, s + start, n);
		copy[n] = '\0';
		float v = strtof(copy, NULL);
		if (copy != text)
			free(copy);
		if (!isfinite(v))
			return lex_error(lx, pos.line, pos.col, "a number within float32 range", found);
		t->fval = v;
	} else {
		int64_t v = 0;
		for (size_t k = start; k < j; k++) {
			int d = s[k] - '0';
			if (v > (INT64_MAX - d) / 10)
				return lex_error(lx, pos.line, pos.col, "an integer at most 9223372036854775807", found);
			v = v * 10 + d;
		}
		t->ival = v;
	}
	skip_bytes(lx, n);
	return GB_OK;
}

static gb_status lex_name(lexer *lx)
{
	size_t start = lx->i, j = lx->i;
	gb_ast_pos pos = {lx->line, lx->col};
	while (j < lx->len && is_name_char(lx->src[j]))
		j++;
	size_t n = j - start;
	gb_tok_kind kind = GB_TOK_NAME;
	for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
		if (strlen(keywords[k].word) == n && memcmp(keywords[k].word, lx->src + start, n) == 0) {
			kind = keywords[k].kind;
			break;
		}
	}
	gb_tok *t = push_tok(lx, kind, pos, start, n);
	if (!t)
		return lex_nomem(lx);
	if (kind == GB_TOK_NAME) {
		t->text = gb_pool_strndup(lx->pool, lx->src + start, n);
		if (!t->text)
			return lex_nomem(lx);
	}
	skip_bytes(lx, n);
	return GB_OK;
}

/* "..." on one line; the escapes are \" and \\ only. */
static gb_status lex_string(lexer *lx)
{
	size_t start = lx->i;
	gb_ast_pos pos = {lx->line, lx->col};
	/* The decoded text is no longer than the source up to the closing quote
	 * (or the end of the line, where the loop below reports the error). */
	size_t end = start + 1;
	while (end < lx->len && lx->src[end] != '"' && lx->src[end] != '\n')
		end += lx->src[end] == '\\' && end + 1 < lx->len ? 2 : 1;
	skip_bytes(lx, 1);
	char *out = gb_pool_alloc(lx->pool, end - start);
	if (!out)
		return lex_nomem(lx);
	size_t n = 0;
	for (;;) {
		if (lx->i >= lx->len || is_newline_at(lx, lx->i))
			return lex_error_here(lx, "'\"' to close the string");
		unsigned char c = (unsigned char)lx->src[lx->i];
		if (c == '"')
			break;
		if (c == '\\') {
			char next = lx->i + 1 < lx->len ? lx->src[lx->i + 1] : '\0';
			if (next != '"' && next != '\\') {
				skip_bytes(lx, 1);
				return lex_error_here(lx, "'\"' or '\\' after '\\' in a string");
			}
			out[n++] = next;
			skip_bytes(lx, 2);
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return lex_error_here(lx, "a printable character in the string");
		out[n++] = (char)c;
		skip_bytes(lx, 1);
	}
	skip_bytes(lx, 1); /* closing quote */
	out[n] = '\0';
	gb_tok *t = push_tok(lx, GB_TOK_STRING, pos, start, lx->i - start);
	if (!t)
		return lex_nomem(lx);
	t->text = out;
	return GB_OK;
}

static gb_status lex_punct(lexer *lx)
{
	static const struct {
		const char *text;
		gb_tok_kind kind;
	} puncts[] = {
		{"->", GB_TOK_ARROW}, {"//", GB_TOK_SLASHSLASH}, {"<=", GB_TOK_LE},      {">=", GB_TOK_GE},
		{"==", GB_TOK_EQ},    {"!=", GB_TOK_NE},         {"(", GB_TOK_LPAREN},   {")", GB_TOK_RPAREN},
		{"[", GB_TOK_LBRACKET}, {"]", GB_TOK_RBRACKET},  {",", GB_TOK_COMMA},    {":", GB_TOK_COLON},
		{"=", GB_TOK_ASSIGN}, {"+", GB_TOK_PLUS},        {"-", GB_TOK_MINUS},    {"*", GB_TOK_STAR},
		{"/", GB_TOK_SLASH},  {"%", GB_TOK_PERCENT},     {"@", GB_TOK_AT},       {"<", GB_TOK_LT},
		{">", GB_TOK_GT},
	};
	for (size_t k = 0; k < sizeof puncts / sizeof puncts[0]; k++) {
		size_t n = strlen(puncts[k].text);
		if (lx->len - lx->i >= n && memcmp(lx->src + lx->i, puncts[k].text, n) == 0) {
			gb_ast_pos pos = {lx->line, lx->col};
			if (!push_tok(lx, puncts[k].kind, pos, lx->i, n))
				return lex_nomem(lx);
			gb_tok_kind kind = puncts[k].kind;
			if (kind == GB_TOK_LPAREN || kind == GB_TOK_LBRACKET)
				lx->depth++;
			else if ((kind == GB_TOK_RPAREN || kind == GB_TOK_RBRACKET) && lx->depth > 0)
				lx->depth--;
			skip_bytes(lx, n);
			return GB_OK;
		}
	}
	if (lx->src[lx->i] == '!')
		return lex_error_here(lx, "'!='");
	return lex_error_here(lx, "a name, number, string, operator or bracket");
}

/* ---- lines and indentation ------------------------------------------------------- */

/* At the start of a line outside brackets: skips blank and comment-only
 * lines, and measures the indentation of the next line with tokens,
 * emitting INDENT or DEDENTs. Returns with lx->i at that line's first token
 * (or at the end of the source). */
static gb_status lex_line_start(lexer *lx)
{
	for (;;) {
		size_t j = lx->i;
		int width = 0;
		bool tab = false;
		while (j < lx->len && (lx->src[j] == ' ' || lx->src[j] == '\t')) {
			if (lx->src[j] == '\t' && !tab) {
				tab = true;
				width = (int)(j - lx->i); /* column of the first tab, for the message */
			}
			j++;
		}
		if (j >= lx->len) {
			skip_bytes(lx, j - lx->i);
			return GB_OK;
		}
		if (is_newline_at(lx, j)) { /* blank line */
			skip_bytes(lx, j - lx->i);
			skip_newline(lx);
			if (lx->seen_line)
				lx->blank_pending = true;
			continue;
		}
		if (lx->src[j] == '#') { /* comment-only line: no effect on blocks */
			skip_bytes(lx, j - lx->i);
			gb_ast_pos pos = {lx->line, lx->col};
			size_t off = lx->i;
			lx->blank_next = lx->blank_pending;
			lx->blank_pending = false;
			lx->seen_line = true;
			const char *text;
			gb_status st = lex_comment(lx, &text);
			if (st != GB_OK)
				return st;
			gb_tok *t = push_tok(lx, GB_TOK_COMMENT_LINE, pos, off, lx->i - off);
			if (!t)
				return lex_nomem(lx);
			t->text = text;
			if (lx->i < lx->len)
				skip_newline(lx);
			continue;
		}
		if (tab) {
			skip_bytes(lx, (size_t)width);
			return lex_error_here(lx, "spaces for indentation");
		}
		if (j - lx->i > (size_t)INT32_MAX / 2) {
			skip_bytes(lx, j - lx->i);
			return lex_error(lx, lx->line, lx->col, "a shorter indentation", "thousands of spaces");
		}
		width = (int)(j - lx->i);
		skip_bytes(lx, j - lx->i);
		gb_ast_pos pos = {lx->line, lx->col};
		int top = lx->indent[lx->n_indent - 1];
		if (width > top) {
			if (lx->n_indent > GB_LANG_MAX_INDENT) {
				char found[64];
				snprintf(found, sizeof found, "level %d", lx->n_indent);
				return lex_error(lx, pos.line, pos.col, "at most 100 indentation levels", found);
			}
			lx->indent[lx->n_indent++] = width;
			if (!push_tok(lx, GB_TOK_INDENT, pos, lx->i, 0))
				return lex_nomem(lx);
		} else {
			while (width < lx->indent[lx->n_indent - 1]) {
				lx->n_indent--;
				if (!push_tok(lx, GB_TOK_DEDENT, pos, lx->i, 0))
					return lex_nomem(lx);
			}
			if (width != lx->indent[lx->n_indent - 1]) {
				char expected[96], found[48];
				snprintf(expected, sizeof expected, "indentation of %d spaces (as an enclosing block)",
				         lx->indent[lx->n_indent - 1]);
				snprintf(found, sizeof found, "%d spaces", width);
				return lex_error(lx, pos.line, pos.col, expected, found);
			}
		}
		lx->blank_next = lx->blank_pending;
		lx->blank_pending = false;
		lx->seen_line = true;
		lx->at_line_start = false;
		return GB_OK;
	}
}

static gb_status emit_newline(lexer *lx)
{
	gb_ast_pos pos = lx->trailing ? lx->trailing_pos : (gb_ast_pos){lx->line, lx->col};
	gb_tok *t = push_tok(lx, GB_TOK_NEWLINE, pos, lx->i, 0);
	if (!t)
		return lex_nomem(lx);
	t->text = lx->trailing;
	lx->trailing = NULL;
	lx->at_line_start = true;
	return GB_OK;
}

static gb_status lex_all(lexer *lx);

gb_status gb_lang_lex(const char *src, size_t len, const char *file, gb_pool *strings, gb_tok **toks, int *n_toks,
                      gb_error *err)
{
	*toks = NULL;
	*n_toks = 0;
	if (len > GB_LANG_MAX_FILE_BYTES)
		return gb_fail(err, GB_STATUS_BAD_FILE, "%s: %zu bytes, more than a program may hold (%zu)", file, len,
		               GB_LANG_MAX_FILE_BYTES);
	lexer lx = {.src = src, .len = len, .line = 1, .col = 1, .file = file, .pool = strings, .err = err};
	lx.n_indent = 1;
	lx.at_line_start = true;
	gb_status st = lex_all(&lx);
	if (st != GB_OK) {
		free(lx.toks);
		return st;
	}
	*toks = lx.toks;
	*n_toks = lx.n_toks;
	return GB_OK;
}

/* The token loop (see the top of the file). */
static gb_status lex_all(lexer *lx)
{
	gb_status st;
	for (;;) {
		if (lx->at_line_start && lx->depth == 0) {
			if ((st = lex_line_start(lx)) != GB_OK)
				return st;
			if (lx->i >= lx->len)
				break;
		}
		if (lx->i >= lx->len)
			break;
		char c = lx->src[lx->i];
		if (c == ' ' || c == '\t') {
			skip_bytes(lx, 1);
		} else if (is_newline_at(lx, lx->i)) {
			if (lx->depth == 0 && (st = emit_newline(lx)) != GB_OK)
				return st;
			skip_newline(lx);
		} else if (c == '#') {
			gb_ast_pos pos = {lx->line, lx->col};
			size_t off = lx->i;
			const char *text;
			if ((st = lex_comment(lx, &text)) != GB_OK)
				return st;
			if (lx->depth == 0) {
				lx->trailing = text;
				lx->trailing_pos = pos;
			} else {
				gb_tok *t = push_tok(lx, GB_TOK_COMMENT_INNER, pos, off, lx->i - off);
				if (!t)
					return lex_nomem(lx);
				t->text = text;
			}
		} else if (is_digit(c) || (c == '.' && lx->i + 1 < lx->len && is_digit(lx->src[lx->i + 1]))) {
			if ((st = lex_number(lx)) != GB_OK)
				return st;
		} else if (is_name_start(c)) {
			if ((st = lex_name(lx)) != GB_OK)
				return st;
		} else if (c == '"') {
			if ((st = lex_string(lx)) != GB_OK)
				return st;
		} else {
			if ((st = lex_punct(lx)) != GB_OK)
				return st;
		}
	}
	/* End of source: close the last line (unless a bracket is still open,
	 * which the parser reports) and every open block. */
	if (!lx->at_line_start && lx->depth == 0 && (st = emit_newline(lx)) != GB_OK)
		return st;
	gb_ast_pos end = {lx->line, lx->col};
	while (lx->n_indent > 1) {
		lx->n_indent--;
		if (!push_tok(lx, GB_TOK_DEDENT, end, lx->i, 0))
			return lex_nomem(lx);
	}
	if (!push_tok(lx, GB_TOK_EOF, end, lx->i, 0))
		return lex_nomem(lx);
	return GB_OK;
}
