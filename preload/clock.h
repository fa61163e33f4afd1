/*
 * clock.h - CLOCK_MONOTONIC for event times, from the TSC where that is safe.
 *
 * Every event is stamped on entry to its hook. clock_gettime() through the
 * vDSO costs about 28 ns on the machines here (virtual machines), rdtsc
 * about 12: a fifth of what recording an event costs the calling thread.
 * So where the kernel itself trusts the TSC (its clocksource is "tsc" and
 * the CPU has constant_tsc and nonstop_tsc), the writer thread measures
 * TSC ticks against CLOCK_MONOTONIC and publishes a base and a rate under
 * a sequence count, and tl__now() turns a TSC read into nanoseconds with
 * them. Until the first rate (10 ms in), on other machines and with
 * TIMERLEAK_CLOCK=monotonic, tl__now() is clock_gettime().
 *
 * Error: the rate is measured over the whole run so far, and a new base is
 * taken as often as keeps the drift since the last one about the jitter of
 * one measurement (clock.c): a converted time is within about a
 * microsecond of CLOCK_MONOTONIC, and times taken across a new base may
 * step back by about that much. Both are at the trace's resolution
 * (2^time_shift ns, 4.096 us by default) or below.
 *
 * Reading is lock-free and async-signal-safe; only the writer thread
 * writes.
 */
#ifndef TL_CLOCK_H
#define TL_CLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

struct tl__clock {
	_Atomic uint32_t seq;  /* odd while the writer changes the rest */
	_Atomic uint64_t mult; /* ns per tick, 32.32 fixed point; 0: not in use */
	_Atomic uint64_t tsc0; /* the base: a TSC read ... */
	_Atomic int64_t ns0;   /* ... and CLOCK_MONOTONIC at that moment */
};

extern struct tl__clock tl__clk;

static inline int64_t tl__clock_gettime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CLOCK_MONOTONIC ns. */
static inline int64_t tl__now(void)
{
#if defined(__x86_64__)
	/* A seqlock read. The fields are read with acquire loads (plain loads
	 * on x86, as cheap as relaxed ones) rather than relaxed loads and an
	 * acquire fence, which ThreadSanitizer cannot follow: either way the
	 * second read of seq cannot come before them. */
	uint32_t s = atomic_load_explicit(&tl__clk.seq, memory_order_acquire);
	uint64_t mult = atomic_load_explicit(&tl__clk.mult, memory_order_acquire);

	if (mult && !(s & 1)) {
		int64_t d = (int64_t)(__rdtsc() -
				      atomic_load_explicit(&tl__clk.tsc0, memory_order_acquire));
		int64_t ns = atomic_load_explicit(&tl__clk.ns0, memory_order_acquire) +
			     (int64_t)(((__int128)d * (__int128)mult) >> 32);

		if (atomic_load_explicit(&tl__clk.seq, memory_order_relaxed) == s)
			return ns;
	}
#endif
	return tl__clock_gettime();
}

/* Decide whether the TSC may be used (reads /proc, /sys and the
 * environment: call from the initialisation, after tl__real_libc_init(),
 * not from a hook). */
void tl__clock_init(void);

/* The writer thread, each round: measure and publish when due. */
void tl__clock_tick(void);

/* Whether tl__now() reads the TSC now (for the tests and the trace). */
bool tl__clock_uses_tsc(void);

#endif /* TL_CLOCK_H */
