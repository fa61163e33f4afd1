/*
 * unwind_libunwind.c - stacks through libunwind's DWARF unwinder.
 *
 * unw_backtrace() follows the call frame information, so it works in code
 * built without frame pointers. With a per-thread cache it is safe in
 * signal handlers and needs no lock; the first unwind through a module is
 * slow (it parses the module's tables), later ones hit the cache.
 *
 * In a program built with ThreadSanitizer, unw_backtrace() is not used:
 * its frame cache is freed by a thread-specific-data destructor that
 * takes a mutex, and TSan's pthread_mutex_lock crashes once TSan has
 * finished the exiting thread, which it may have done by then. The step
 * loop (unw_init_local, unw_step) uses no such cache; it is slower, which
 * a TSan build is anyway.
 */
#define UNW_LOCAL_ONLY
#include "core.h"

#include <dlfcn.h>
#include <libunwind.h>
#include <sched.h>

/* Room for the recorder's own frames above the service's. */
#define OWN 8

/*
 * fork() while another thread is inside libunwind would give the child a
 * libunwind lock held for ever. Around fork the gate closes: unwinds that
 * start meanwhile take only the hook's caller, and fork waits for those
 * in progress (tl__unwind_fork_prepare).
 */
static _Atomic int gate_closed, unwinding;

static bool step_only; /* set once at start-up: ThreadSanitizer is in the process */

static int step_backtrace(void **ips, int max)
{
	unw_context_t ctx;
	unw_cursor_t cur;
	int n = 0;

	if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
		return 0;
	while (n < max && unw_step(&cur) > 0) {
		unw_word_t ip;

		if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || ip == 0)
			break;
		ips[n++] = (void *)ip;
	}
	return n;
}

unsigned tl__unwind_libunwind(uint64_t *frames, unsigned max)
{
	void *ips[TL_MAX_DEPTH + OWN];
	int n, i;
	unsigned out = 0;

	atomic_fetch_add(&unwinding, 1);
	if (atomic_load(&gate_closed)) {
		atomic_fetch_sub(&unwinding, 1);
		return 0;
	}
	n = step_only ? step_backtrace(ips, (int)(max + OWN)) : unw_backtrace(ips, (int)(max + OWN));
	atomic_fetch_sub(&unwinding, 1);
	/* The recorder's frames: on top, and, under a signal handler that
	 * interrupted the recorder, in the middle too. */
	for (i = 0; i < n && out < max; i++)
		if (!tl__in_self((uint64_t)(uintptr_t)ips[i]))
			frames[out++] = (uint64_t)(uintptr_t)ips[i];
	return out;
}

void tl__unwind_fork_prepare(void)
{
	int64_t until = tl__now() + 200000000;

	atomic_store(&gate_closed, 1);
	while (atomic_load(&unwinding) > 0 && tl__now() < until)
		sched_yield();
}

void tl__unwind_fork_done(void)
{
	atomic_store(&unwinding, 0); /* in the child, threads mid-unwind are gone */
	atomic_store(&gate_closed, 0);
}

/*
 * Set libunwind up: its global state (its memory-check pipe included),
 * here, before any hook can unwind. Each thread's first unwind then makes
 * the thread's own frame cache (256 KiB, touched as it is filled): so no
 * unwind is made here to "warm up", which would make one for a thread
 * that never records.
 */
void tl__unwind_init(void)
{
	step_only = dlsym(RTLD_DEFAULT, "__tsan_init") != NULL;
	tl__fdguard_init((const void *)unw_backtrace);
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}
