/*
 * cli.h — shared pieces of the glassbox command-line tool: the command
 * table, exit codes, error printing and small argument parsers. Only cli/
 * prints, exits or reads argv.
 */
#ifndef GB_CLI_H
#define GB_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "glassbox.h"

/* Documented exit codes. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,  /* the command failed (computation, writing output, out of memory) */
	EXIT_USAGE = 2, /* bad command line */
	EXIT_BADFILE = 3 /* an input file is missing, corrupt, unsupported or does not fit */
};

typedef struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *summary;
	const char *usage; /* full help text */
} cli_command;

extern const cli_command cli_commands[];
const cli_command *cli_find(const char *name);

/* Prints "glassbox: MESSAGE" to stderr and returns the exit code for status. */
int cli_fail(const gb_error *err);
/* The same with "FILE: " before the message (for errors about a data file
 * detected by a function that only knows the model). */
int cli_fail_file(const char *file, const gb_error *err);
/* Prints "glassbox CMD: MESSAGE" plus a hint to run 'glassbox help CMD'; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_exit_code(gb_status status);

/* True when argv has -h or --help. */
int cli_wants_help(int argc, char **argv);
int cli_print_help(const char *name);

/* Parses "3,5,7-9" into a malloc'ed list (caller frees); "all" gives n = 0
 * and *units = NULL. Returns 0 on success, -1 on syntax error. */
int cli_parse_units(const char *text, int64_t **units, int *n);

/* Loads the model and prints nothing; on failure prints the error and returns
 * the exit code (non-zero). */
int cli_load_model(const char *path, gb_model **model);

/* Reads the npy inputs given as "FILE" (first input) or "NAME=FILE" into the
 * session. Returns 0 or an exit code (error printed). */
int cli_set_inputs(gb_session *s, const gb_model *m, int n_specs, char **specs);

/* Interventions given on the command line (--ablate/--scale/--set/--patch),
 * shared by run and grad. cli_hook_arg returns 1 when argv[*i] is one of
 * them (consuming its value), 0 when it is not, or -1 (usage error printed)
 * when its value is malformed. */
typedef struct cli_hooks {
	int n;
	struct cli_hook {
		const char *flag;
		char *node;
		gb_intervention kind;
		int64_t *units;
		int n_units;
		float amount;
		const char *file; /* --patch */
	} items[64];
} cli_hooks;

int cli_hook_arg(const char *cmd, int argc, char **argv, int *i, cli_hooks *hooks);
/* Installs the hooks on the session; returns 0 or an exit code (error printed). */
int cli_hooks_apply(const cli_hooks *hooks, gb_session *s);
void cli_hooks_free(cli_hooks *hooks);

#endif /* GB_CLI_H */
