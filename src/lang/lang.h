/*
 * lang.h — the program language's library-internal interface: parse a .gbx
 * source into a tree (ast.h), print a tree in the one canonical layout, and
 * check a tree's names, calls and shapes. docs/language.md defines the
 * language; this header says how to call the code.
 *
 * Messages. Every error about a source names the place as
 * "FILE:LINE:COL: " followed by one line. Syntax errors read
 * "FILE:LINE:COL: expected X, found Y"; all of them return
 * GB_STATUS_BAD_FILE. No input makes the parser crash or recurse without
 * bound: brackets, unary operators and blocks nest at most
 * GB_LANG_MAX_NESTING deep and expression trees are at most
 * GB_LANG_MAX_DEPTH high.
 */
#ifndef GB_LANG_H
#define GB_LANG_H

#include "ast.h"

#define GB_LANG_MAX_NESTING 100   /* brackets, unary operators and blocks, combined */
#define GB_LANG_MAX_DEPTH 1000    /* height of an expression tree (long a + b + ... chains) */
#define GB_LANG_MAX_INDENT 100    /* indentation levels */
#define GB_LANG_MAX_FILE_BYTES ((size_t)8 << 20) /* programs are text for people; big tensors go in the side-car */

/* ---- parsing (lexer.c, parser.c) --------------------------------------------- */

/* Parses src[0..len) (no NUL terminator needed; NUL bytes are an error).
 * file labels positions in messages. On success *out is a new tree the
 * caller releases with gb_ast_free; on failure *out is NULL, the status is
 * GB_STATUS_BAD_FILE (or GB_STATUS_NOMEM) and err holds the message. */
gb_status gb_ast_parse(const char *src, size_t len, const char *file, gb_ast **out, gb_error *err);

/* Reads and parses a file (at most GB_LANG_MAX_FILE_BYTES); path is the
 * label in messages. */
gb_status gb_ast_parse_file(const char *path, gb_ast **out, gb_error *err);

/* ---- printing (printer.c) ------------------------------------------------------ */

/* The canonical text of a tree: 4-space indentation, one statement per line,
 * single spaces around binary operators and after commas, the fewest
 * parentheses that keep the tree, floats in their shortest exact form,
 * comments and (single) blank lines where the tree has them. Parsing the
 * result gives back an equal tree (gb_ast_equal), and printing that tree
 * gives back the same text.
 *
 * *text is malloc'ed, NUL-terminated, owned by the caller; *len (may be
 * NULL) receives its length. Fails only with GB_STATUS_NOMEM. */
gb_status gb_ast_print(const gb_ast *ast, char **text, size_t *len, gb_error *err);

/* One expression in canonical form, same ownership. */
gb_status gb_ast_print_expr(const gb_ast_expr *e, char **text, gb_error *err);

/* ---- primitives (check.c) ------------------------------------------------------
 *
 * The vocabulary of docs/language.md §10 with its call signatures, so that
 * every later stage (checker, interpreter, compiler, emitters) dispatches on
 * one table. A call binds positional arguments to params[] in order (the
 * extra ones to "*more" when variadic), then keywords to params[] or
 * kwonly[]; the first n_required params must be given. */

typedef enum gb_prim_id {
	GB_PRIM_RELU = 0,
	GB_PRIM_ABS,
	GB_PRIM_SIGMOID,
	GB_PRIM_TANH,
	GB_PRIM_GELU,
	GB_PRIM_CLAMP,
	GB_PRIM_STEP,
	GB_PRIM_FLOAT,
	GB_PRIM_MAX,
	GB_PRIM_MIN,
	GB_PRIM_SORT,
	GB_PRIM_ARGMAX,
	GB_PRIM_XOR,
	GB_PRIM_MAJORITY,
	GB_PRIM_WHERE,
	GB_PRIM_DENSE,
	GB_PRIM_MATMUL,
	GB_PRIM_TRANSPOSE,
	GB_PRIM_SUM,
	GB_PRIM_MEAN,
	GB_PRIM_SOFTMAX,
	GB_PRIM_LOG_SOFTMAX,
	GB_PRIM_CONV2D,
	GB_PRIM_MAXPOOL2D,
	GB_PRIM_AVGPOOL2D,
	GB_PRIM_FLATTEN,
	GB_PRIM_RESHAPE,
	GB_PRIM_CONCAT,
	GB_PRIM_COUNT
} gb_prim_id;

#define GB_PRIM_MAX_PARAMS 8

typedef struct gb_prim {
	gb_prim_id id;
	const char *name;
	const char *params[GB_PRIM_MAX_PARAMS]; /* positional-or-keyword, NULL-terminated */
	int n_required;                         /* leading params that must be given */
	bool variadic;                          /* more positional arguments after params[] */
	const char *kwonly[4];                  /* keyword-only, NULL-terminated */
} gb_prim;

/* The primitive called name, or NULL. */
const gb_prim *gb_prim_find(const char *name);
const gb_prim *gb_prim_get(gb_prim_id id);

/* ---- static checks (check.c) --------------------------------------------------------
 *
 * Checks a parsed program against docs/language.md without running it:
 * every name is declared before use and in scope; calls name a primitive or
 * an earlier def with the right arguments and keywords; every expression's
 * type and shape follows §4–§10 (broadcasting, matmul and convolution shapes,
 * indices in range, reshape counts, ...); integers, loop bounds and keyword
 * arguments are compile-time constants; every element of an output is
 * defined by the end, and no element is read before it is defined; params
 * have the shapes they declare; at most one weights line, and one whenever
 * weights["..."] is used. Loops are unrolled and each def body is checked
 * once per distinct argument signature (a def never called is not checked).
 * The unrolling budget counts statement executions and array items.
 * Side-car tensors are not opened here.
 *
 * Errors: GB_STATUS_BAD_FILE, "FILE:LINE:COL: <what is wrong>", pointing at
 * the offending name, operator or argument. Programs that unroll to more
 * than GB_LANG_MAX_UNROLLED statement executions, or nest def calls deeper
 * than GB_LANG_MAX_CALL_DEPTH, are refused with a message saying so. */

#define GB_LANG_MAX_UNROLLED 1000000
#define GB_LANG_MAX_CALL_DEPTH 64
#define GB_LANG_MAX_ELEMENTS ((int64_t)1 << 32) /* elements in one array */

gb_status gb_ast_check(const gb_ast *ast, gb_error *err);

/* ---- running (interp.c) ---------------------------------------------------------------
 *
 * Runs a program on a batch (docs/language.md §1): inputs[i] is the i-th
 * declared input with a leading batch axis, [N, ...declared shape], float32
 * for f32 inputs and bool for bool ones; every input has the same N >= 1.
 * The program is checked first (gb_ast_check), then evaluated once for the
 * whole batch (each operator loops over the batch; constant values are
 * kept once). dir is the directory that a `weights "FILE"` line is relative
 * to ("" or NULL: the current one); the side-car file is opened when the
 * first weights["key"] param is reached.
 *
 * Results go to outputs: every declared output, in declaration order, as
 * [N, ...shape] (float32, or bool for bool outputs). captures names
 * top-level bindings (lets, params, inputs, outputs) whose final values go
 * to captured (may be NULL when n_captures is 0) in the same layout.
 *
 * Errors: "FILE:LINE:COL: MESSAGE" with GB_STATUS_BAD_FILE for anything
 * the program or its files cause (a syntax or static error from the
 * checker, a missing side-car file or tensor, a tensor of the wrong dtype or
 * shape, an input of the wrong shape); GB_STATUS_USAGE for a wrong number of
 * inputs or an unknown capture; GB_STATUS_NOMEM. */
gb_status gb_ast_run(const gb_ast *ast, const char *dir, const gb_tensor *const *inputs, int n_inputs,
                     gb_tensor_map *outputs, const char *const *captures, int n_captures, gb_tensor_map *captured,
                     gb_error *err);

/* The same without captures, with the side-car tensors given in memory
 * (weights, borrowed; may be NULL when the program has no weights line):
 * the weights line's file is then not opened. For a program about to be
 * written next to its side-car, run before either file exists. */
gb_status gb_ast_run_weights(const gb_ast *ast, gb_tensor_map *weights, const gb_tensor *const *inputs,
                             int n_inputs, gb_tensor_map *outputs, gb_error *err);

/* ---- size (count.c) ------------------------------------------------------------------
 *
 * Operations as written: every primitive or def call, every operator
 * (`-` applied to a number is the number, not an operation) counts one;
 * subscripts, names, literals and declarations count nothing; a loop or
 * def body counts once however often it runs. Params are constants and do
 * not count. */
typedef struct gb_ast_counts {
	int64_t ops;
	int64_t prims[GB_PRIM_COUNT]; /* calls of each primitive */
	int64_t logic[3];             /* not, and, or */
	int64_t def_calls, defs;
} gb_ast_counts;

void gb_ast_count(const gb_ast *ast, gb_ast_counts *counts);
/* ---- compiling (compile.c) ---------------------------------------------------------------
 *
 * Compiles a program into a network (docs/language.md §11): loops are
 * unrolled, defs inlined and compile-time values folded, as gb_ast_run
 * evaluates them. The model's inputs and outputs are the program's, in
 * declaration order and under their names, each with a leading dynamic
 * batch axis (dim -1, dim_param "N"), float32 for f32 and bool for bool;
 * params that a node reads are initializers under their names, and other
 * constants (computed from params and literals alone) are folded into
 * initializers too. Opset 13. Without native, piecewise-linear primitives
 * use their ReLU expansion (§10: no Max, Min, Abs, Clip, MaxPool, TopK,
 * ReduceMax or ReduceMin nodes); with native, ONNX's own operators.
 * Indexing, slicing and element assignment are exact selections (Gather
 * with constant indices, Concat), never masks.
 *
 * dir is what a `weights "FILE"` line is relative to, as for gb_ast_run.
 * The program is checked first (gb_ast_check). On success *out is a new,
 * prepared model (sessions can run it; gb_model_save writes it) that the
 * caller frees with gb_model_free; on failure *out is NULL.
 *
 * Errors: "FILE:LINE:COL: MESSAGE" with GB_STATUS_BAD_FILE for anything the
 * program or its files cause (static errors, a missing side-car, `step`
 * without width= in ReLU mode, a program without inputs);
 * GB_STATUS_UNSUPPORTED for what a network cannot express here (a conv2d
 * kernel that depends on the inputs, an array that with the batch axis has
 * more than GB_MAX_DIMS axes, an operator the engine lacks); NOMEM. */
gb_status gb_ast_compile(const gb_ast *ast, const char *dir, bool native, gb_model **out, gb_error *err);
/* The same with the side-car tensors given in memory (weights, borrowed;
 * may be NULL when the program has no weights line): the weights line's
 * file is then not opened (as for gb_ast_run_weights). */
gb_status gb_ast_compile_weights(const gb_ast *ast, gb_tensor_map *weights, bool native, gb_model **out,
                                 gb_error *err);

/* The program's inputs: how many, and the index-th input statement
 * (u.decl.name, u.decl.type), or NULL. */
int gb_ast_input_count(const gb_ast *ast);
const gb_ast_stmt *gb_ast_input(const gb_ast *ast, int index);

/* Shortest decimal text that reads back (strtof) as exactly v, always with a
 * '.' or an exponent so it lexes as a float ("1.0", "0.1", "1e-07").
 * v must be finite. Writes at most 32 bytes including the NUL. */
void gb_lang_format_float(float v, char buf[32]);

#endif /* GB_LANG_H */
