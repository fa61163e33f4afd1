/*
 * heapsize.c - how many bytes of heap a pointer holds, if it points to a
 * block of glibc's malloc: the size of what a callback timer's argument
 * pins (a Go AfterFunc closure's captured request, in C terms).
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
 *
 * Memory inside the brk heap is mapped and read directly; anything else is
 * read with process_vm_readv on this process, which fails with EFAULT
 * where a load would fault. No lock, no malloc: safe in a hook.
 */
#include "core.h"

#include <errno.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

#define PREV_INUSE     1u
#define IS_MMAPPED     2u
#define NON_MAIN_ARENA 4u
#define SIZE_BITS      7u
#define HEAP_MAX       ((uintptr_t)64 << 20) /* glibc's HEAP_MAX_SIZE on 64-bit */
#define MAX_BLOCK      ((uint64_t)1 << 40)

static uintptr_t brk_lo;
static _Atomic int vm_read_broken; /* seccomp or similar forbids it */

void tl__heapsize_init(void)
{
	brk_lo = (uintptr_t)sbrk(0);
}

/* Read a word at addr, safely. */
static bool peek(uintptr_t addr, uint64_t *out)
{
	uintptr_t top = (uintptr_t)sbrk(0);
	struct iovec local = {out, sizeof(*out)}, remote = {(void *)addr, sizeof(*out)};

	if (addr >= brk_lo && addr + sizeof(*out) <= top) {
		*out = *(const uint64_t *)addr;
		return true;
	}
	if (atomic_load_explicit(&vm_read_broken, memory_order_relaxed))
		return false;
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)sizeof(*out))
		return true;
	if (errno == ENOSYS || errno == EPERM)
		atomic_store_explicit(&vm_read_broken, 1, memory_order_relaxed);
	return false;
}

static uint64_t mmapped_size(uintptr_t p, uint64_t csize)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t prev;

	if (!peek(p - 16, &prev))
		return 0;
	if (((p - 16 - prev) & (uintptr_t)(page - 1)) || ((prev + csize) % (uint64_t)page))
		return 0;
	return csize - 16;
}

static bool in_thread_heap(uintptr_t p, uint64_t csize)
{
	uintptr_t heap = p & ~(HEAP_MAX - 1);
	uint64_t arena, size;

	/* struct heap_info: ar_ptr, prev, size, ... */
	if (!peek(heap, &arena) || !arena || !peek(heap + 16, &size))
		return false;
	return size <= HEAP_MAX && p - heap + csize <= size + 16;
}

uint64_t tl__heap_block_size(const void *ptr)
{
	uintptr_t p = (uintptr_t)ptr;
	uint64_t word, csize, next;

	if (!p || (p & 15) || !peek(p - 8, &word))
		return 0;
	csize = word & ~(uint64_t)SIZE_BITS;
	if (csize < 32 || csize >= MAX_BLOCK || (csize & 15))
		return 0;
	if (word & IS_MMAPPED)
		return mmapped_size(p, csize);
	if (word & NON_MAIN_ARENA) {
		if (!in_thread_heap(p, csize))
			return 0;
	} else if (p < brk_lo || p - 16 + csize > (uintptr_t)sbrk(0)) {
		return 0;
	}
	/* The next block's header records that this one is in use. */
	if (!peek(p - 8 + csize, &next) || !(next & PREV_INUSE) || (next & ~(uint64_t)SIZE_BITS) < 16)
		return 0;
	return csize - 8;
}
