/*
 * unwind_libunwind.c - stacks through libunwind's DWARF unwinder.
 *
 * unw_backtrace() follows the call frame information, so it works in code
 * built without frame pointers. With a per-thread cache it is safe in
 * signal handlers and needs no lock; the first unwind through a module is
 * slow (it parses the module's tables), later ones hit the cache.
 */
#define UNW_LOCAL_ONLY
#include "core.h"

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
	n = unw_backtrace(ips, (int)(max + OWN));
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

void tl__unwind_warm_up(void)
{
	void *ips[4];

	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	/* The first call parses libunwind's own and libc's tables: do it here,
	 * not in a hook that may run in a signal handler. */
	unw_backtrace(ips, 4);
}
