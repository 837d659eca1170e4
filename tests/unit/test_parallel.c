/*
 * test_parallel.c — gb_parallel_for: every index runs exactly once, in
 * contiguous ranges of at least the grain, serially when nested, and a
 * forked child can still run loops.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"

typedef struct count_ctx {
	_Atomic int *hits;   /* (n) times each index ran */
	_Atomic int calls;   /* ranges handed out */
	_Atomic int64_t min_len;
	int nested;          /* run a nested loop inside each range */
	_Atomic int nested_ok;
} count_ctx;

static void inner(void *arg, int64_t lo, int64_t hi)
{
	int64_t *sum = arg;
	for (int64_t i = lo; i < hi; i++)
		*sum += i;
}

static void count(void *arg, int64_t lo, int64_t hi)
{
	count_ctx *c = arg;
	c->calls++;
	int64_t len = hi - lo, cur = c->min_len;
	while (len < cur && !atomic_compare_exchange_weak(&c->min_len, &cur, len))
		;
	for (int64_t i = lo; i < hi; i++)
		c->hits[i]++;
	if (c->nested) {
		int64_t sum = 0; /* a nested loop runs serially in this thread: no race on sum */
		gb_parallel_for(1000, 1, inner, &sum);
		if (sum == 999 * 1000 / 2)
			c->nested_ok++;
	}
}

static void check_once(int64_t n, int64_t grain, int nested)
{
	_Atomic int *hits = calloc((size_t)(n > 0 ? n : 1), sizeof *hits);
	cr_assert_not_null(hits);
	count_ctx c = {.hits = hits, .min_len = INT64_MAX, .nested = nested};
	gb_parallel_for(n, grain, count, &c);
	for (int64_t i = 0; i < n; i++)
		cr_assert_eq(hits[i], 1, "n %lld grain %lld: index %lld ran %d times", (long long)n, (long long)grain,
		             (long long)i, (int)hits[i]);
	int threads = gb_parallel_threads();
	cr_assert_geq(threads, 1);
	if (n > 0) {
		cr_assert_geq(c.calls, 1);
		cr_assert_leq(c.calls, threads);
		if (n < 2 * grain)
			cr_assert_eq(c.calls, 1, "n %lld < 2 * grain %lld must run serially", (long long)n, (long long)grain);
		else if (threads > 1)
			cr_assert_geq(c.calls, 2, "n %lld grain %lld ran in one range with %d threads", (long long)n,
			              (long long)grain, threads);
		if (c.calls > 1)
			cr_assert_geq(c.min_len, grain);
	} else {
		cr_assert_eq(c.calls, 0);
	}
	if (nested)
		cr_assert_eq(c.nested_ok, c.calls);
	free(hits);
}

Test(parallel, every_index_once)
{
	int64_t sizes[] = {0, 1, 2, 3, 7, 64, 1000, 100003};
	int64_t grains[] = {1, 2, 5, 1000, 1 << 20};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		for (size_t j = 0; j < sizeof grains / sizeof grains[0]; j++)
			check_once(sizes[i], grains[j], 0);
}

Test(parallel, repeated_and_nested)
{
	for (int r = 0; r < 200; r++)
		check_once(4096 + r, 16, r % 2);
}

Test(parallel, child_after_fork)
{
	check_once(10000, 1, 0); /* the pool is running in this process */
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		_Atomic int hits[5000] = {0};
		count_ctx c = {.hits = hits, .min_len = INT64_MAX};
		gb_parallel_for(5000, 1, count, &c);
		for (int i = 0; i < 5000; i++)
			if (hits[i] != 1)
				_exit(1);
		_exit(0);
	}
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forked child's loop failed");
}
