/*
 * heapsize.c - the heap block a callback timer's argument points to, read
 * in this process (tl_heap_block_size() does the checking, in trace/).
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

static uintptr_t brk_lo;
static _Atomic int vm_read_broken; /* seccomp or similar forbids it */

void tl__heapsize_init(void)
{
	brk_lo = (uintptr_t)sbrk(0);
}

/* Read a word at addr, safely. */
static bool peek(void *ctx, uint64_t addr, uint64_t *out)
{
	uintptr_t top = (uintptr_t)sbrk(0);
	struct iovec local = {out, sizeof(*out)}, remote = {(void *)(uintptr_t)addr, sizeof(*out)};

	(void)ctx;
	if (addr >= brk_lo && addr + sizeof(*out) <= top) {
		*out = *(const uint64_t *)(uintptr_t)addr;
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

uint64_t tl__heap_block_size(const void *ptr)
{
	struct tl_heap h = {peek, NULL, brk_lo, (uintptr_t)sbrk(0)};

	return tl_heap_block_size(&h, (uintptr_t)ptr);
}
