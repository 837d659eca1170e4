/*
 * rng.h — the one random number generator every module uses:
 * xoshiro256** (Blackman and Vigna) seeded through splitmix64, so the same
 * seed gives the same stream on every platform.
 */
#ifndef GB_CORE_RNG_H
#define GB_CORE_RNG_H

#include <stdint.h>

typedef struct gb_rng {
	uint64_t s[4];
} gb_rng;

/* splitmix64 (Steele, Lea and Flood, 2014): the state advances by a fixed odd
 * constant and each output is a mix of it. Simple enough to restate in
 * docs/results.md, which the MNIST split relies on. */
static inline uint64_t gb_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* stream separates independent uses of one seed (init, shuffling, dropout). */
static inline void gb_rng_seed(gb_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ULL);
	for (int i = 0; i < 4; i++)
		r->s[i] = gb_splitmix64(&x);
}

static inline uint64_t gb_rng_next(gb_rng *r)
{
	uint64_t *s = r->s;
	uint64_t t = s[1] << 17, x = s[1] * 5;
	uint64_t result = ((x << 7) | (x >> 57)) * 9;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = (s[3] << 45) | (s[3] >> 19);
	return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double gb_rng_uniform(gb_rng *r)
{
	return (double)(gb_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n >= 1 (bias below 2^-20 for n < 2^32). */
static inline int64_t gb_rng_below(gb_rng *r, int64_t n)
{
	int64_t k = (int64_t)(gb_rng_uniform(r) * (double)n);
	return k < n ? k : n - 1;
}

#endif /* GB_CORE_RNG_H */
