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
#include <sys/resource.h>
#include <unistd.h>

extern void *__libc_stack_end;

/* The main thread's stack: from where the kernel put argv and the
 * environment (the top of its frames) down by the stack limit. No
 * pthread_getattr_np(), which reads /proc/self/maps for it. */
static bool main_bounds(void)
{
	struct rlimit rl;
	uintptr_t hi = (uintptr_t)__libc_stack_end, size = 8u << 20;

	if (getpid() != tl__gettid() || !hi)
		return false;
	if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < hi)
		size = rl.rlim_cur;
	/* The area above the initial stack pointer holds argv, the
	 * environment and the auxiliary vector, not frames. */
	tl__self.stack_hi = (hi + 4095) & ~(uintptr_t)4095;
	tl__self.stack_lo = hi > size ? hi - size : 0;
	return true;
}

void tl__thread_bounds_self(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	if (main_bounds())
		return;
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
