/*
 * futex.c - the channel lock and the waiter.
 *
 * The lock is the classic three-state futex mutex: an uncontended
 * acquire and release are one atomic each and no system call.
 *
 * A waiter spins briefly before it sleeps. A channel handoff between two
 * running threads then costs a cache-line transfer instead of two system
 * calls and two context switches, which is most of what keeps a thread
 * handoff within reach of a goroutine switch. The spin is bounded in time
 * (SPIN_NS), so a long wait costs that much CPU once, and it yields, so a
 * waker that needs this CPU gets it.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SPIN_NS 20000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static long futex(_Atomic uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, FUTEX_BITSET_MATCH_ANY);
}

void gt__lock_acquire_slow(struct gt__lock *l)
{
	uint32_t c = atomic_load_explicit(&l->v, memory_order_relaxed);
	int saved;

	for (int i = 0; i < 100 && c != 0; i++) {
		cpu_relax();
		c = atomic_load_explicit(&l->v, memory_order_relaxed);
		if (c == 0 && atomic_compare_exchange_weak_explicit(&l->v, &c, 1,
								    memory_order_acquire,
								    memory_order_relaxed))
			return;
	}
	/* Mark the lock contended; whoever releases it then wakes one sleeper. */
	saved = errno;
	if (c != 2)
		c = atomic_exchange_explicit(&l->v, 2, memory_order_acquire);
	while (c != 0) {
		futex(&l->v, FUTEX_WAIT_PRIVATE, 2, NULL);
		c = atomic_exchange_explicit(&l->v, 2, memory_order_acquire);
	}
	errno = saved;
}

void gt__lock_wake(struct gt__lock *l)
{
	futex(&l->v, FUTEX_WAKE_PRIVATE, 1, NULL);
}

void gt__futex_wait_until(_Atomic uint32_t *word, uint32_t val, int64_t deadline)
{
	struct timespec ts = {deadline / 1000000000, deadline % 1000000000};
	int saved = errno;

	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
	futex(word, FUTEX_WAIT_BITSET_PRIVATE, val, deadline == INT64_MAX ? NULL : &ts);
	errno = saved;
}

void gt__futex_wake(_Atomic uint32_t *word)
{
	futex(word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/*
 * A claim sets WOKEN. If the waiter had gone to sleep, it needs a futex
 * wake; that wake may reach the address after the waiter returned and its
 * stack was reused, which only causes a spurious wake-up of a later futex
 * wait at the same address, and every wait here loops on its condition.
 */
void gt__waiter_claim(struct gt__waiter *w)
{
	if (atomic_exchange_explicit(&w->state, GT_W_WOKEN, memory_order_release) ==
	    GT_W_SLEEPING)
		futex(&w->state, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static bool woken(struct gt__waiter *w)
{
	return atomic_load_explicit(&w->state, memory_order_acquire) == GT_W_WOKEN;
}

/*
 * Spin, then yield, for up to SPIN_NS. The first microsecond is pure
 * spinning, for a waker running on another CPU. After that each round
 * yields: if the waker is waiting for this very CPU (more runnable threads
 * than CPUs, or both pinned to one), sched_yield hands it over at once,
 * where a pure spin would burn the whole time slice it needs.
 */
static bool spin(struct gt__waiter *w, int64_t deadline)
{
	if (!gt__rt.spin)
		return woken(w); /* one CPU: whoever will wake us needs it */
	int64_t start = gt__now();
	int64_t until = start + SPIN_NS < deadline ? start + SPIN_NS : deadline;
	int64_t yield_after = start + 1000;

	for (;;) {
		for (int i = 0; i < 32; i++) {
			if (woken(w))
				return true;
			cpu_relax();
		}
		int64_t now = gt__now();
		if (now >= until)
			return woken(w);
		if (now >= yield_after)
			sched_yield();
	}
}

static int sleep_until(struct gt__waiter *w, int64_t deadline)
{
	for (;;) {
		struct timespec ts, *tsp = NULL;

		if (deadline != INT64_MAX) {
			ts.tv_sec = deadline / 1000000000;
			ts.tv_nsec = deadline % 1000000000;
			tsp = &ts;
		}
		/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
		long r = futex(&w->state, FUTEX_WAIT_BITSET_PRIVATE, GT_W_SLEEPING, tsp);
		if (woken(w))
			return 0;
		if (r == -1 && errno == ETIMEDOUT)
			return -ETIMEDOUT;
		if (deadline != INT64_MAX && gt__now() >= deadline)
			return -ETIMEDOUT;
	}
}

int gt__waiter_wait(struct gt__waiter *w, int64_t deadline)
{
	uint32_t expect = GT_W_SPINNING;
	int saved = errno; /* the service's errno is not ours to change */
	int r = 0;

	if (spin(w, deadline))
		return 0;
	if (atomic_compare_exchange_strong_explicit(&w->state, &expect, GT_W_SLEEPING,
						    memory_order_acquire, memory_order_acquire))
		r = sleep_until(w, deadline);
	errno = saved;
	return r;
}
