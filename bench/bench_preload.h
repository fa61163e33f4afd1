/*
 * bench_preload.h - what the two files of bench_preload share: the
 * settings, the threads and their clocks, and the recursion that puts
 * every recorded call at a known stack depth.
 */
#ifndef BENCH_PRELOAD_H
#define BENCH_PRELOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define BP_MAX_THREADS 64

/*
 * A function that must keep its frame: never inlined, never cloned (so a
 * profile names it as written), and its calls are never tail calls (the
 * build adds -fno-optimize-sibling-calls).
 */
#ifdef __clang__
#define BP_SITE __attribute__((noinline))
#else
#define BP_SITE __attribute__((noinline, noclone))
#endif

enum bp_work {
	BP_GT,		 /* gt_timer_new(1h), gt_timer_stop, gt_timer_free */
	BP_MALLOC,	 /* malloc(64), free */
	BP_TIMERFD,	 /* timerfd_create, timerfd_settime(1h), close */
	BP_POSIX,	 /* timer_create, timer_settime(1h), timer_delete */
	BP_MIXED,	 /* bench_preload_mixed.c: a service's timers */
	BP_MIXED_MALLOC, /* the same service's allocations instead */
};

struct bp_env {
	enum bp_work work;
	int threads;	/* loops: threads; mixed: request workers */
	long iters;	/* loops: timed iterations per thread */
	long warmup;	/* loops: iterations per thread before the timed ones */
	int depth;	/* frames of this program from a thread's entry to the call */
	double seconds; /* mixed: how long to run */
	int rate;	/* mixed: requests per second per worker */
	uint64_t seed;
	long pace;	/* loops: iterations per second per thread, 0: flat out */
	int stop;	/* stop (SIGSTOP) at the start line until continued */
};

extern struct bp_env bp_env;

/* One thread of a run. Filled by the harness (index, depth, leaf) and by
 * the thread itself (the rest), read by main after the join. */
struct bp_thread {
	int index;
	int depth;			   /* frames to stack up before leaf() */
	void (*leaf)(struct bp_thread *t); /* waits at bp_start(), then works */
	pthread_t th;
	int64_t wall_ns;     /* this thread's work, CLOCK_MONOTONIC */
	int64_t cpu_ns;	     /* the same, CLOCK_THREAD_CPUTIME_ID */
	uint64_t ops;	     /* recordable calls made while timed (events expected) */
	uint64_t warmup_ops; /* and before */
	void *ctx;	     /* mixed: role-specific state */
};

static inline int64_t bp_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* splitmix64: small, fast, the same sequence everywhere. */
static inline uint64_t bp_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Keep p alive as far as the compiler can tell, so that a malloc/free
 * pair is not removed (GCC drops an unused pair). */
static inline void bp_use(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

void __attribute__((noreturn)) bp_die(int err, const char *what);

/* Every worker's leaf calls this first: it returns when all threads are
 * ready and main has read its clocks. */
void bp_start(void);

/* Stack up depth frames of this program, then call leaf(t). */
int bp_descend(struct bp_thread *t, int left);

/* bench_preload_mixed.c: set up the threads of the mixed workload in ts[]
 * (returns how many), and tear down what they share after the join. */
int bp_mixed_setup(struct bp_thread *ts, int max);
void bp_mixed_teardown(void);

#endif /* BENCH_PRELOAD_H */
