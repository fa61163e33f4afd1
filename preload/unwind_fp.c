/*
 * unwind_fp.c - stacks by following frame pointers.
 *
 * About ten times cheaper than libunwind, and correct only for code built
 * with -fno-omit-frame-pointer (where it is not, the chain ends early or
 * names wrong callers). Every frame pointer is checked against the
 * thread's stack bounds before it is read, so a broken chain cannot make
 * the recorder fault; on a thread whose bounds are unknown only the
 * recorder's own frames, which are known good, are followed, giving the
 * hook's caller alone.
 */
#include "core.h"

/* On a thread of unknown stack, follow at most this many frames: the
 * recorder's own, which it built with frame pointers, and one more. */
#define OWN 4

__attribute__((noinline)) unsigned tl__unwind_fp(uint64_t *frames, unsigned max, uintptr_t lo,
						 uintptr_t hi)
{
	uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
	unsigned seen = 0, n = 0;
	bool known = hi != 0;

	if (!known) {
		lo = fp;
		hi = UINTPTR_MAX;
	}
	if (lo > fp)
		lo = fp;
	while (n < max && seen++ < max + OWN) {
		const uintptr_t *f = (const uintptr_t *)fp;
		uintptr_t next, ret;

		if (fp < lo || fp > hi - 2 * sizeof(uintptr_t) || (fp & (sizeof(uintptr_t) - 1)))
			break;
		next = f[0];
		ret = f[1];
		if (!ret)
			break;
		if (!tl__in_self(ret)) {
			frames[n++] = ret;
			if (!known)
				break; /* the first frame beyond our own: the hook's caller */
		}
		if (next <= fp)
			break; /* stacks grow down: a caller's frame is above */
		fp = next;
	}
	return n;
}
