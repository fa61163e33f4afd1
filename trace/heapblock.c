/*
 * heapblock.c - how many bytes of heap a pointer holds, if it points to a
 * block of glibc's malloc: a callback timer's create records it in aux,
 * what the callback's argument pins (docs/trace-format.md). The recorder
 * in the process and the one attached from outside read the process's
 * memory differently; both ask this one function, through peek.
 *
 * Without tracking every malloc, the block's own header is the only
 * record of its size. A pointer that is not a malloc block (a stack or
 * static address, an offset into a block) must give 0, never a fault and
 * rarely a wrong size, so the header is checked before it is believed:
 *
 *   - the pointer is 16-byte aligned, the size plausible and a multiple
 *     of 16;
 *   - a block of the main arena lies inside the brk heap, and the block
 *     after it says its predecessor is in use;
 *   - a block of a thread arena lies inside its 64 MiB-aligned heap, whose
 *     header gives that heap's size; the next block's flag is checked too;
 *   - an mmap'ed block starts on a page and spans whole pages.
 */
#include "tl_trace.h"

#define PREV_INUSE     1u
#define IS_MMAPPED     2u
#define NON_MAIN_ARENA 4u
#define SIZE_BITS      7u
#define HEAP_MAX       ((uint64_t)64 << 20) /* glibc's HEAP_MAX_SIZE on 64-bit */
#define MAX_BLOCK      ((uint64_t)1 << 40)
#define PAGE           4096u

static uint64_t mmapped_size(const struct tl_heap *h, uint64_t p, uint64_t csize)
{
	uint64_t prev;

	if (!h->peek(h->ctx, p - 16, &prev))
		return 0;
	if (((p - 16 - prev) & (PAGE - 1)) || ((prev + csize) % PAGE))
		return 0;
	return csize - 16;
}

static bool in_thread_heap(const struct tl_heap *h, uint64_t p, uint64_t csize)
{
	uint64_t heap = p & ~(HEAP_MAX - 1), arena, size;

	/* struct heap_info: ar_ptr, prev, size, ... */
	if (!h->peek(h->ctx, heap, &arena) || !arena || !h->peek(h->ctx, heap + 16, &size))
		return false;
	return size <= HEAP_MAX && p - heap + csize <= size + 16;
}

uint64_t tl_heap_block_size(const struct tl_heap *h, uint64_t p)
{
	uint64_t word, csize, next;

	if (!p || (p & 15) || !h->peek(h->ctx, p - 8, &word))
		return 0;
	csize = word & ~(uint64_t)SIZE_BITS;
	if (csize < 32 || csize >= MAX_BLOCK || (csize & 15))
		return 0;
	if (word & IS_MMAPPED)
		return mmapped_size(h, p, csize);
	if (word & NON_MAIN_ARENA) {
		if (!in_thread_heap(h, p, csize))
			return 0;
	} else if (p < h->brk_lo || p - 16 + csize > h->brk_hi) {
		return 0;
	}
	/* The next block's header records that this one is in use. */
	if (!h->peek(h->ctx, p - 8 + csize, &next) || !(next & PREV_INUSE) ||
	    (next & ~(uint64_t)SIZE_BITS) < 16)
		return 0;
	return csize - 8;
}
