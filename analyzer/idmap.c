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

uint32_t tl__idmap_get(const struct tl__idmap *m, uint64_t id)
{
	if (!id)
		return m->has_zero ? m->zero_val : UINT32_MAX;
	if (!m->cap)
		return UINT32_MAX;
	for (size_t i = slot_of(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == id)
			return m->slots[i].val;
		if (!m->slots[i].key)
			return UINT32_MAX;
	}
}

void tl__idmap_prefetch(const struct tl__idmap *m, uint64_t id)
{
	if (m->cap)
		__builtin_prefetch(&m->slots[slot_of(id, m->cap)]);
}

static void insert(struct tl__idmap_slot *slots, size_t cap, uint64_t id, uint32_t val)
{
	size_t i = slot_of(id, cap);

	while (slots[i].key)
		i = (i + 1) & (cap - 1);
	slots[i] = (struct tl__idmap_slot){id, val};
}

static int grow(struct tl__idmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	struct tl__idmap_slot *slots = calloc(ncap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			insert(slots, ncap, m->slots[i].key, m->slots[i].val);
	free(m->slots);
	m->slots = slots;
	m->cap = ncap;
	return 0;
}

int tl__idmap_put(struct tl__idmap *m, uint64_t id, uint32_t val)
{
	if (!id) {
		m->has_zero = true;
		m->zero_val = val;
		return 0;
	}
	if ((m->count + 1) * 2 > m->cap && grow(m) != 0)
		return -1;
	insert(m->slots, m->cap, id, val);
	m->count++;
	return 0;
}

bool tl__idmap_del(struct tl__idmap *m, uint64_t id)
{
	size_t i, j, mask = m->cap - 1;

	if (!id) {
		bool had = m->has_zero;

		m->has_zero = false;
		return had;
	}
	if (!m->cap)
		return false;
	for (i = slot_of(id, m->cap); m->slots[i].key != id; i = (i + 1) & mask)
		if (!m->slots[i].key)
			return false;
	/* Shift back every later entry of the run that may move into the gap. */
	for (j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = slot_of(m->slots[j].key, m->cap);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = 0;
	m->count--;
	return true;
}

void tl__idmap_free(struct tl__idmap *m)
{
	free(m->slots);
	*m = (struct tl__idmap){0};
}
