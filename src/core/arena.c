/*
 * arena.c — bump allocator over a chain of blocks (see core.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define GB_ARENA_ALIGN 64

struct gb_arena_block {
	gb_arena_block *prev;
	size_t size; /* usable bytes after the header */
	size_t used;
	/* data follows, aligned to GB_ARENA_ALIGN */
};

static size_t header_size(void)
{
	return (sizeof(gb_arena_block) + GB_ARENA_ALIGN - 1) & ~(size_t)(GB_ARENA_ALIGN - 1);
}

static unsigned char *block_data(gb_arena_block *b)
{
	return (unsigned char *)b + header_size();
}

void gb_arena_init(gb_arena *a, size_t min_block)
{
	a->head = NULL;
	a->min_block = min_block ? min_block : (size_t)1 << 20;
	a->used_total = 0;
}

static gb_arena_block *block_new(size_t size)
{
	size_t total;
	if (!gb_add_size(header_size(), size, &total))
		return NULL;
	gb_arena_block *b = aligned_alloc(GB_ARENA_ALIGN, (total + GB_ARENA_ALIGN - 1) & ~(size_t)(GB_ARENA_ALIGN - 1));
	if (!b)
		return NULL;
	b->prev = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

void *gb_arena_alloc(gb_arena *a, size_t bytes)
{
	size_t rounded;
	if (!gb_add_size(bytes, GB_ARENA_ALIGN - 1, &rounded))
		return NULL;
	rounded &= ~(size_t)(GB_ARENA_ALIGN - 1);
	if (rounded == 0)
		rounded = GB_ARENA_ALIGN;
	gb_arena_block *b = a->head;
	if (!b || b->size - b->used < rounded) {
		size_t size = a->min_block;
		if (b && b->size > size / 2 && b->size <= SIZE_MAX / 2)
			size = b->size * 2; /* grow geometrically */
		if (size < rounded)
			size = rounded;
		gb_arena_block *nb = block_new(size);
		if (!nb)
			return NULL;
		nb->prev = b;
		a->head = nb;
		b = nb;
	}
	void *p = block_data(b) + b->used;
	b->used += rounded;
	a->used_total += rounded;
	return p;
}

void *gb_arena_calloc(gb_arena *a, size_t count, size_t size)
{
	size_t bytes;
	if (!gb_mul_size(count, size, &bytes))
		return NULL;
	void *p = gb_arena_alloc(a, bytes);
	if (p)
		memset(p, 0, bytes);
	return p;
}

char *gb_arena_strdup(gb_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = gb_arena_alloc(a, n);
	if (copy)
		memcpy(copy, s, n);
	return copy;
}

void gb_arena_reset(gb_arena *a)
{
	/* Keep one block big enough for everything used last time, so the next
	 * pass of the same size needs no new allocation. */
	size_t want = a->used_total;
	gb_arena_block *keep = NULL;
	for (gb_arena_block *b = a->head; b;) {
		gb_arena_block *prev = b->prev;
		if (!keep || b->size > keep->size) {
			if (keep)
				free(keep);
			keep = b;
		} else {
			free(b);
		}
		b = prev;
	}
	if (keep && keep->size < want) {
		free(keep);
		keep = block_new(want);
	}
	if (keep) {
		keep->prev = NULL;
		keep->used = 0;
	}
	a->head = keep;
	a->used_total = 0;
}

void gb_arena_release(gb_arena *a)
{
	for (gb_arena_block *b = a->head; b;) {
		gb_arena_block *prev = b->prev;
		free(b);
		b = prev;
	}
	a->head = NULL;
	a->used_total = 0;
}
