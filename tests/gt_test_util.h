/*
 * gt_test_util.h - helpers shared by the libgotimer tests (tests/runtime_*.c).
 *
 * Timing rules every test follows: lower bounds are exact (a timer never
 * fires early, so a fire time is compared with the time taken before the
 * call that scheduled it); upper bounds are generous (LATE), because the CI
 * machine has two cores and runs two tests at once. A wait that no channel
 * can express (a counter returning to its baseline) polls with a bound.
 */
#ifndef GT_TEST_UTIL_H
#define GT_TEST_UTIL_H

#include "gotimer.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define MS GT_MILLISECOND

/* How late an event may be before a test calls it lost. */
#define LATE (2 * GT_SECOND)

/* How long a negative check ("nothing arrives") waits. */
#define QUIET (100 * MS)

/* Evaluate cond every millisecond until it holds or timeout passes.
 * @return whether it held. */
#define WAIT_UNTIL(cond, timeout)                                                                  \
	({                                                                                         \
		int64_t until_ = gt_now() + (timeout);                                             \
		bool held_;                                                                        \
		while (!(held_ = (cond)) && gt_now() < until_)                                     \
			gt_sleep(MS);                                                              \
		held_;                                                                             \
	})

/*
 * Some checks need a timer still pending: Stop must return true, say. A
 * timer never fires early, so if the deadline t0 + d is still ahead after
 * the check, the check was sound. If it is not, the thread was held up for
 * d or longer (a loaded machine) and the try proves nothing: the case
 * tries again, and fails after five such tries in a row.
 */
static inline bool still_before(int64_t t0, gt_duration d)
{
	return gt_now() < t0 + d;
}

#define TRY_ON_TIME(try_call)                                                                      \
	do {                                                                                       \
		int tries_ = 0;                                                                    \
		while (!(try_call) && ++tries_ < 5)                                                \
			;                                                                          \
		CHECK(tries_ < 5);                                                                 \
	} while (0)

static inline gt_stats stats_now(void)
{
	gt_stats s;

	gt_stats_read(&s);
	return s;
}

static inline uint64_t live_objects(void)
{
	return stats_now().live_objects;
}

static inline uint64_t live_bytes(void)
{
	return stats_now().live_bytes;
}

static inline uint64_t pending_timers(void)
{
	return stats_now().pending;
}

/* Receive from c, waiting at most timeout. @return 0 with *v set, or
 * -ETIMEDOUT; a closed channel gives -EPIPE. */
static inline int recv_within(gt_chan *c, int64_t *v, gt_duration timeout)
{
	bool ok = false;
	int r = gt_select(&c, 1, v, &ok, timeout);

	if (r < 0)
		return r;
	return ok ? 0 : -EPIPE;
}

/* Whether nothing arrives on c for QUIET. */
static inline bool stays_quiet(gt_chan *c)
{
	return gt_select(&c, 1, NULL, NULL, QUIET) == -ETIMEDOUT;
}

static inline bool sync_mode(void)
{
	return gt_mode() == GT_MODE_SYNC;
}

/*
 * Keep the calling thread on the CPU it runs on, so every timer it creates
 * until unpin() joins one shard (a timer joins the heap of its creator's
 * CPU). Tests of ordering and of the timer thread need one shard.
 */
static inline int pin_here(cpu_set_t *saved)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	if (cpu < 0 || pthread_getaffinity_np(pthread_self(), sizeof(*saved), saved) != 0)
		return -1;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0 ? 0 : -1;
}

static inline void unpin(const cpu_set_t *saved)
{
	pthread_setaffinity_np(pthread_self(), sizeof(*saved), saved);
}

/* Start fn(arg) on a new thread. @return 0 or a positive error number. */
static inline int spawn(pthread_t *th, void *(*fn)(void *), void *arg)
{
	return pthread_create(th, NULL, fn, arg);
}

/*
 * Join th, waiting at most timeout, so that a runtime that loses a wake-up
 * fails the case instead of hanging it. @return 0, or -1 if th is still
 * running: it is then left behind, with whatever it uses, and the case
 * must not free that.
 */
static inline int join_within(pthread_t th, gt_duration timeout)
{
	struct timespec ts;
	int64_t ns;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns = ts.tv_nsec + timeout % GT_SECOND;
	ts.tv_sec += timeout / GT_SECOND + ns / GT_SECOND;
	ts.tv_nsec = ns % GT_SECOND;
	return pthread_timedjoin_np(th, NULL, &ts) == 0 ? 0 : -1;
}

#endif /* GT_TEST_UTIL_H */
