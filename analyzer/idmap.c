/*
 * idmap.c - see idmap.h.
 */
#include "idmap.h"

#include <stdlib.h>

static size_t slot_of(uint64_t id, size_t cap)
{
	id ^= id >> 31;
	id *= 0x9e3779b97f4a7c15ull;
	return (size_t)(id >> 20) & (cap - 1);
}

uint32_t tl_idmap_get(const struct tl_idmap *m, uint64_t id)
{
	if (!m->cap)
		return UINT32_MAX;
	for (size_t i = slot_of(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == id)
			return m->vals[i];
		if (!m->keys[i])
			return UINT32_MAX;
	}
}

static void insert(uint64_t *keys, uint32_t *vals, size_t cap, uint64_t id, uint32_t val)
{
	size_t i = slot_of(id, cap);

	while (keys[i])
		i = (i + 1) & (cap - 1);
	keys[i] = id;
	vals[i] = val;
}

static int grow(struct tl_idmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	uint64_t *keys = calloc(ncap, sizeof(*keys));
	uint32_t *vals = malloc(ncap * sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			insert(keys, vals, ncap, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = ncap;
	return 0;
}

int tl_idmap_put(struct tl_idmap *m, uint64_t id, uint32_t val)
{
	if ((m->count + 1) * 2 > m->cap && grow(m) != 0)
		return -1;
	insert(m->keys, m->vals, m->cap, id, val);
	m->count++;
	return 0;
}

bool tl_idmap_del(struct tl_idmap *m, uint64_t id)
{
	size_t i, j, mask = m->cap - 1;

	if (!m->cap)
		return false;
	for (i = slot_of(id, m->cap); m->keys[i] != id; i = (i + 1) & mask)
		if (!m->keys[i])
			return false;
	/* Shift back every later entry of the run that may move into the gap. */
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		size_t home = slot_of(m->keys[j], m->cap);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = 0;
	m->count--;
	return true;
}

void tl_idmap_free(struct tl_idmap *m)
{
	free(m->keys);
	free(m->vals);
	*m = (struct tl_idmap){0};
}
