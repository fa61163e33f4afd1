/*
 * heap.c - the 4-ary min-heap of one shard, ordered by (when, seq).
 *
 * Four children per node, as in Go's runtime since 1.14: the tree is half
 * as deep as a binary heap and a sift-down compares four siblings that
 * sit in one or two cache lines. Each timer stores its index, so removing
 * or moving one is O(log n) without a search. Equal deadlines are ordered
 * by creation sequence so that timers fire in the order they were created.
 *
 * Every function here runs with the shard's mutex held.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

static bool before(const struct gt__heap_entry *a, const struct gt__heap_entry *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	return a->t->seq < b->t->seq;
}

static void put(struct gt__shard *s, uint32_t i, struct gt__heap_entry e)
{
	s->heap[i] = e;
	e.t->hidx = i;
}

static void sift_up(struct gt__shard *s, uint32_t i)
{
	struct gt__heap_entry e = s->heap[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 4;
		if (!before(&e, &s->heap[p]))
			break;
		put(s, i, s->heap[p]);
		i = p;
	}
	put(s, i, e);
}

static void sift_down(struct gt__shard *s, uint32_t i)
{
	struct gt__heap_entry e = s->heap[i];

	for (;;) {
		uint32_t c = 4 * i + 1, best;
		if (c >= s->len)
			break;
		best = c;
		for (uint32_t k = c + 1; k < c + 4 && k < s->len; k++) {
			if (before(&s->heap[k], &s->heap[best]))
				best = k;
		}
		if (!before(&s->heap[best], &e))
			break;
		put(s, i, s->heap[best]);
		i = best;
	}
	put(s, i, e);
}

/* @return 0 or -ENOMEM (the heap is unchanged). */
int gt__heap_push(struct gt__shard *s, struct gt_timer *t)
{
	if (s->len == s->cap) {
		/* Grow by half: 1M timers cost 16 MB of entries and at most one
		 * copy of them per growth step. */
		uint32_t ncap = s->cap ? s->cap + s->cap / 2 : 64;
		struct gt__heap_entry *n;

		if (ncap < s->cap || ncap > UINT32_MAX / 2)
			return -ENOMEM;
		n = realloc(s->heap, (size_t)ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->heap = n;
		s->cap = ncap;
	}
	s->heap[s->len] = (struct gt__heap_entry){t->when, t};
	t->hidx = s->len++;
	sift_up(s, t->hidx);
	return 0;
}

void gt__heap_remove(struct gt__shard *s, uint32_t i)
{
	uint32_t last = --s->len;

	s->heap[i].t->hidx = GT_HIDX_NONE;
	if (i == last)
		return;
	put(s, i, s->heap[last]);
	gt__heap_fix(s, i);
}

/* Restore order after heap[i].t->when changed. */
void gt__heap_fix(struct gt__shard *s, uint32_t i)
{
	s->heap[i].when = s->heap[i].t->when;
	if (i > 0 && before(&s->heap[i], &s->heap[(i - 1) / 4]))
		sift_up(s, i);
	else
		sift_down(s, i);
}

/* Heapify the whole array in O(n), after a sweep compacted it. */
void gt__heap_init_order(struct gt__shard *s)
{
	for (uint32_t i = 0; i < s->len; i++)
		s->heap[i].t->hidx = i;
	if (s->len < 2)
		return;
	for (uint32_t i = (s->len - 2) / 4 + 1; i-- > 0;)
		sift_down(s, i);
}
