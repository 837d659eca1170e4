/*
 * fuzz_lang.c — libFuzzer target for the .gbx parser (src/lang).
 *
 * Any input must either be rejected with a "FILE:LINE:COL: ..." message or
 * parse into a tree that survives the printer's round trip:
 *   parse(print(t)) == t            (structurally, positions ignored)
 *   print(parse(print(t))) == print(t)
 * and the static checker accepts the tree or rejects it with such a message.
 * A violation aborts, which libFuzzer reports as a crash.
 *
 *   make fuzz && ./build-fuzz/fuzz_lang -max_total_time=60 [corpus_dir]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gb_error err = {0};
	gb_ast *ast = NULL;
	gb_status st = gb_ast_parse((const char *)data, size, "fuzz.gbx", &ast, &err);
	if (st != GB_OK) {
		/* Rejections name the place: "fuzz.gbx:LINE:COL: expected ..., found ..." or a size limit. */
		if (st != GB_STATUS_BAD_FILE || strncmp(err.msg, "fuzz.gbx:", 9) != 0 || strchr(err.msg, '\n'))
			abort();
		return 0;
	}
	char *text = NULL, *again = NULL;
	size_t len = 0;
	if (gb_ast_print(ast, &text, &len, &err) != GB_OK)
		abort();
	gb_ast *reparsed = NULL;
	if (gb_ast_parse(text, len, "printed.gbx", &reparsed, &err) != GB_OK) {
		fprintf(stderr, "printed program does not parse: %s\n---\n%s---\n", err.msg, text);
		abort();
	}
	if (!gb_ast_equal(ast, reparsed)) {
		fprintf(stderr, "parse(print(t)) != t\n---\n%s---\n", text);
		abort();
	}
	if (gb_ast_print(reparsed, &again, NULL, &err) != GB_OK || strcmp(text, again) != 0) {
		fprintf(stderr, "print is not idempotent\n---\n%s---\n%s---\n", text, again ? again : "");
		abort();
	}
	gb_status checked = gb_ast_check(ast, &err);
	if (checked != GB_OK && (checked != GB_STATUS_BAD_FILE || strncmp(err.msg, "fuzz.gbx:", 9) != 0)) {
		fprintf(stderr, "checker failed without a place: %s\n", err.msg);
		abort();
	}
	free(text);
	free(again);
	gb_ast_free(reparsed);
	gb_ast_free(ast);
	return 0;
}
