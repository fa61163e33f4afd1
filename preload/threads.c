/*
 * threads.c - each thread's stack bounds, for the frame-pointer walker.
 *
 * Threads created after the library loaded start through
 * tl__thread_trampoline (the pthread_create hook), which records their
 * bounds before the thread's own code runs; the main thread's are taken
 * at start-up. pthread_getattr_np may allocate, so it is never called from
 * a hook.
 */
#include "core.h"
#include "threads.h"

#include <pthread.h>
#include <stdlib.h>

void tl__thread_bounds_self(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
		tl__self.stack_lo = (uintptr_t)addr;
		tl__self.stack_hi = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&attr);
}

void *tl__thread_trampoline(void *arg)
{
	struct tl__thread_start start = *(struct tl__thread_start *)arg;

	free(arg);
	if (tl__cfg.unwinder == TL_UNWIND_FP)
		tl__thread_bounds_self();
	return start.fn(start.arg);
}
