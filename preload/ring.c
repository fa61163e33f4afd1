/*
 * ring.c - the per-thread ring (see ring.h for the protocol).
 */
#include "ring.h"

#include <string.h>

void tl__ring_init(struct tl__ring *r, char *data, uint64_t size)
{
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail_seen, 0, memory_order_relaxed);
	atomic_store_explicit(&r->dropped, 0, memory_order_relaxed);
	r->size = size;
	r->data = data;
}

static struct tl__rrec *at(struct tl__ring *r, uint64_t pos)
{
	return (struct tl__rrec *)(r->data + (pos & (r->size - 1)));
}

struct tl__rrec *tl__ring_reserve(struct tl__ring *r, uint32_t len, uint8_t type)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t pad, tail;
	struct tl__rrec *rec;

	for (;;) {
		uint64_t off = h & (r->size - 1);

		pad = off + len > r->size ? r->size - off : 0;
		tail = atomic_load_explicit(&r->tail_seen, memory_order_relaxed);
		if (h + pad + len - tail > r->size) {
			tail = atomic_load_explicit(&r->tail, memory_order_acquire);
			atomic_store_explicit(&r->tail_seen, tail, memory_order_relaxed);
			if (h + pad + len - tail > r->size)
				return NULL;
		}
		if (atomic_compare_exchange_weak_explicit(&r->head, &h, h + pad + len,
							  memory_order_relaxed,
							  memory_order_relaxed))
			break;
	}
	if (pad) {
		rec = at(r, h);
		rec->size = (uint32_t)pad;
		rec->type = TL__R_PAD;
		tl__ring_commit(rec);
	}
	rec = at(r, h + pad);
	rec->size = len;
	rec->type = type;
	rec->nframes = 0;
	return rec;
}

struct tl__rrec *tl__ring_peek(struct tl__ring *r, uint64_t cursor)
{
	struct tl__rrec *rec = at(r, cursor);

	/*
	 * Not head (the producers' line): space not yet reserved, or reserved
	 * and not yet written, is zero, so its ready flag is clear. Only when
	 * a whole ring has been read and none of it given back does the
	 * cursor meet consumed records again; then head is there too, and
	 * tail (this thread's own) says so.
	 */
	if (cursor - atomic_load_explicit(&r->tail, memory_order_relaxed) >= r->size)
		return NULL;
	if (!atomic_load_explicit(&rec->ready, memory_order_acquire))
		return NULL;
	return rec;
}

void tl__ring_release(struct tl__ring *r, uint64_t cursor)
{
	uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t n = cursor - pos, off = pos & (r->size - 1);

	/*
	 * Zero the space, not only the ready flags: the next lap's records
	 * start at other offsets, and a reserved record whose producer has
	 * not yet written it must read as not ready wherever it starts.
	 */
	if (off + n <= r->size) {
		tl__ring_zero(r->data + off, n);
	} else {
		tl__ring_zero(r->data + off, r->size - off);
		tl__ring_zero(r->data, n - (r->size - off));
	}
	/* Release: the zeroes are visible before the space is reused. */
	atomic_store_explicit(&r->tail, cursor, memory_order_release);
}
