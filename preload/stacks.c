/*
 * stacks.c - unique stacks, each written once (writer thread only).
 *
 * An open-addressing hash table from frame sequences to stack ids, the
 * frames kept in one growing arena. Deduplication happens here, on the
 * writer thread, so the service's threads share nothing when they record:
 * they copy their frames into their own ring and move on. Memory grows
 * with the number of distinct stacks, which is bounded by the program's
 * call sites, not by how long it runs.
 */
#include "core.h"
#include "recorder_int.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	uint64_t hash;
	uint64_t off;  /* into arena */
	uint32_t n;
	uint32_t id;   /* 0: empty */
};

static struct entry *table;
static size_t cap, count;
static uint64_t *arena;
static size_t arena_len, arena_cap;
static uint32_t next_id = 1;

static uint64_t hash_frames(const uint64_t *f, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;

	for (uint32_t i = 0; i < n; i++) {
		h ^= f[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h | 1;
}

static bool grow_table(void)
{
	size_t ncap = cap ? cap * 2 : 4096;
	struct entry *n = calloc(ncap, sizeof(*n));

	if (!n)
		return false;
	for (size_t i = 0; i < cap; i++) {
		size_t j = table[i].hash & (ncap - 1);

		if (!table[i].id)
			continue;
		while (n[j].id)
			j = (j + 1) & (ncap - 1);
		n[j] = table[i];
	}
	free(table);
	table = n;
	cap = ncap;
	return true;
}

static bool store_frames(const uint64_t *f, uint32_t n, uint64_t *off)
{
	if (arena_len + n > arena_cap) {
		size_t ncap = arena_cap ? arena_cap * 2 : 65536;
		uint64_t *a;

		while (ncap < arena_len + n)
			ncap *= 2;
		a = realloc(arena, ncap * sizeof(*a));
		if (!a)
			return false;
		arena = a;
		arena_cap = ncap;
	}
	memcpy(arena + arena_len, f, n * sizeof(*f));
	*off = arena_len;
	arena_len += n;
	return true;
}

/*
 * tl__stack_id - the id of this frame sequence, writing its stack record
 * first if it is new. @return the id, or 0 when memory ran out (the event
 * goes out without a stack).
 */
uint32_t tl__stack_id(struct tl_trace_writer *w, const uint64_t *f, uint32_t n)
{
	uint64_t h = hash_frames(f, n);
	size_t i;

	if (n == 0)
		return 0;
	if ((count + 1) * 4 > cap * 3 && !grow_table())
		return 0;
	for (i = h & (cap - 1); table[i].id; i = (i + 1) & (cap - 1)) {
		if (table[i].hash == h && table[i].n == n &&
		    memcmp(arena + table[i].off, f, n * sizeof(*f)) == 0)
			return table[i].id;
	}
	if (!store_frames(f, n, &table[i].off))
		return 0;
	table[i].hash = h;
	table[i].n = n;
	table[i].id = next_id++;
	count++;
	if (tl_trace_writer_stack(w, table[i].id, f, n) != 0)
		return 0;
	return table[i].id;
}

/* A new trace starts with no stacks written. */
void tl__stacks_forget(void)
{
	table = NULL; /* possibly mid-update in the parent's copy: leak it */
	arena = NULL;
	cap = count = arena_len = arena_cap = 0;
	next_id = 1;
}
