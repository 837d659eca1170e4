/*
 * parallel.c — gb_parallel_for: a range split over a small pool of worker
 * threads, for the loops around the BLAS calls (im2col, pooling,
 * activations) that would otherwise leave all but one core idle.
 *
 * The pool is started on first use with one thread fewer than
 * gb_parallel_threads() (the caller takes part too) and lives until the
 * process ends. One job runs at a time: a call made while another is in
 * flight (from a second thread, or from inside a job) runs serially in the
 * caller, so calls nest and race safely. Workers sleep on a condition
 * variable between jobs.
 *
 * A job is cut into a few contiguous chunks per thread, which the threads
 * claim from an atomic counter: on a busy machine, where a worker may wake
 * late, the caller simply runs more of the chunks itself. A worker joins a
 * job (active++) and reads it under the lock; the caller returns once every
 * chunk is claimed and no worker is active, so a worker that wakes after
 * that finds no chunk left and never touches the caller's ctx; the next job
 * waits for it to leave before it resets the counter.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "core.h"

#define GB_PARALLEL_MAX 16
#define GB_CHUNKS_PER_THREAD 4

static struct {
	pthread_mutex_t busy; /* held by the caller running a job */
	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t wake, done;
	int started;          /* under busy: the workers were started */
	int n_workers;        /* started */
	uint64_t generation;  /* bumped per job */
	gb_range_fn fn;
	void *ctx;
	int64_t n, n_chunks;
	_Atomic int64_t next; /* the next chunk to claim */
	int active;           /* workers inside the current job */
} pool = {
	.busy = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

static _Atomic long online_cores; /* 0 until first read */

/* Claims and runs chunks of the current job until none is left. */
static void run_chunks(gb_range_fn fn, void *ctx, int64_t n, int64_t n_chunks, int part)
{
	const int64_t base = n / n_chunks, extra = n % n_chunks;
	for (;;) {
		int64_t c = atomic_fetch_add(&pool.next, 1);
		if (c >= n_chunks)
			return;
		int64_t lo = base * c + (c < extra ? c : extra);
		fn(ctx, lo, lo + base + (c < extra ? 1 : 0), part);
	}
}

static void *worker_main(void *arg)
{
	const int part = (int)(intptr_t)arg; /* 1 .. n_workers (the caller is part 0) */
	uint64_t seen = 0;
	for (;;) {
		pthread_mutex_lock(&pool.lock);
		while (pool.generation == seen)
			pthread_cond_wait(&pool.wake, &pool.lock);
		seen = pool.generation;
		gb_range_fn fn = pool.fn;
		void *ctx = pool.ctx;
		int64_t n = pool.n, n_chunks = pool.n_chunks;
		pool.active++;
		pthread_mutex_unlock(&pool.lock);
		run_chunks(fn, ctx, n, n_chunks, part);
		pthread_mutex_lock(&pool.lock);
		if (--pool.active == 0)
			pthread_cond_signal(&pool.done);
		pthread_mutex_unlock(&pool.lock);
	}
	return NULL;
}

int gb_parallel_threads(void)
{
	int t = openblas_get_num_threads();
	long cores = online_cores;
	if (cores == 0) /* sysconf reads a file: once */
		online_cores = cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores > 0 && t > cores)
		t = (int)cores;
	if (t > GB_PARALLEL_MAX)
		t = GB_PARALLEL_MAX;
	return t > 1 ? t : 1;
}

/* A forked child has none of the workers (and perhaps a job's locks
 * held): it starts afresh. */
static void pool_after_fork(void)
{
	pthread_mutex_init(&pool.busy, NULL);
	pthread_mutex_init(&pool.lock, NULL);
	pthread_cond_init(&pool.wake, NULL);
	pthread_cond_init(&pool.done, NULL);
	pool.started = 0;
	pool.n_workers = 0;
	pool.active = 0;
}

static void pool_start(void)
{
	pool.started = 1;
	if (pthread_atfork(NULL, NULL, pool_after_fork) != 0)
		return;
	int want = gb_parallel_threads() - 1;
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < want; i++) {
		pthread_t t;
		if (pthread_create(&t, &attr, worker_main, (void *)(intptr_t)(pool.n_workers + 1)) != 0)
			break;
		pool.n_workers++;
	}
	pthread_attr_destroy(&attr);
}

void gb_parallel_for(int64_t n, int64_t grain, gb_range_fn fn, void *ctx)
{
	if (n <= 0)
		return;
	if (grain < 1)
		grain = 1;
	int64_t n_chunks = n / grain;
	int threads = gb_parallel_threads();
	if (n_chunks > (int64_t)threads * GB_CHUNKS_PER_THREAD)
		n_chunks = (int64_t)threads * GB_CHUNKS_PER_THREAD;
	if (threads < 2 || n_chunks < 2 || pthread_mutex_trylock(&pool.busy) != 0) {
		fn(ctx, 0, n, 0);
		return;
	}
	if (!pool.started)
		pool_start();
	if (pool.n_workers == 0) {
		pthread_mutex_unlock(&pool.busy);
		fn(ctx, 0, n, 0);
		return;
	}
	pthread_mutex_lock(&pool.lock);
	while (pool.active > 0) /* a worker that woke late for the last job is leaving it */
		pthread_cond_wait(&pool.done, &pool.lock);
	pool.fn = fn;
	pool.ctx = ctx;
	pool.n = n;
	pool.n_chunks = n_chunks;
	atomic_store(&pool.next, 0);
	pool.generation++;
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	run_chunks(fn, ctx, n, n_chunks, 0);
	pthread_mutex_lock(&pool.lock);
	while (pool.active > 0)
		pthread_cond_wait(&pool.done, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
	pthread_mutex_unlock(&pool.busy);
}
