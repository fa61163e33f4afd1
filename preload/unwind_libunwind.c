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

/* Room for the recorder's own frames above the service's. */
#define OWN 8

unsigned tl__unwind_libunwind(uint64_t *frames, unsigned max)
{
	void *ips[TL_MAX_DEPTH + OWN];
	int n = unw_backtrace(ips, (int)(max + OWN)), i = 0;
	unsigned out = 0;

	while (i < n && tl__in_self((uint64_t)(uintptr_t)ips[i]))
		i++;
	for (; i < n && out < max; i++)
		frames[out++] = (uint64_t)(uintptr_t)ips[i];
	return out;
}

void tl__unwind_warm_up(void)
{
	void *ips[4];

	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	/* The first call parses libunwind's own and libc's tables: do it here,
	 * not in a hook that may run in a signal handler. */
	unw_backtrace(ips, 4);
}
