/*
 * gen_trace.h - what the two halves of gen_trace share: gen_trace.c (the
 * objects, the stacks, the events, the heap of steps to come, main) and
 * gen_trace_acts.c (the service's activities, each a small state machine).
 * bench/gen_trace.c's opening comment describes the trace.
 */
#ifndef GEN_TRACE_H
#define GEN_TRACE_H

#include "tl_trace.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define US  1000LL
#define MS  1000000LL
#define SEC 1000000000LL
#define T0  (3600LL * SEC) /* the service's start: the machine up for an hour */

#define MAX_THREADS 256
#define MAX_MODULES 64
#define MAX_DEPTH   20
/* ---------------------------------------------------------------------------
 * Activities and their sites
 */

enum act { REQ, ONESHOT, CHURN, CONN, TICK, TFD, POSIX, AFN, NACT };

struct act_def {
	uint32_t kind;
	uint64_t size; /* bytes the timer holds, as the shim reports them */
	double rate;   /* arrivals per second */
	unsigned nsites;
	double mean_life; /* long-lived ones: seconds, for the initial population */
};

/* The activities: rates, sites, sizes (gen_trace_acts.c). */
extern const struct act_def acts[NACT];

#define NSITES		1000
#define RESETS_PER_CONN 2
#define NSTACKS		(NSITES + RESETS_PER_CONN * 80)

/* What a site does, drawn once from the seed. */
struct site {
	uint8_t act;
	bool leaky;	   /* one in eight of its timers is never stopped or closed */
	bool buggy_reset;  /* reset sites: resets with a value pending, now and then */
	int64_t dur;	   /* timeout, period or first expiry, ns */
	int64_t interval;  /* timerfd: periodic interval, 0 for one-shot */
	uint64_t aux;	   /* posix: clock | sigev_notify << 8; afterfunc: argument bytes */
	uint32_t stack_id; /* 0 until written */
};

/* ---------------------------------------------------------------------------
 * The simulation
 */

/* One activity in flight; each has at most one step scheduled. */
struct timer {
	uint64_t id;
	int64_t born, end, next; /* end: when a long-lived one stops; next: a tick's grid */
	uint32_t tid;
	uint16_t site;
	uint8_t act, step;
	uint32_t left; /* periodic timerfd: expiries still to come */
	bool initial;  /* of the population the trace starts with */
};

struct due {
	int64_t at;
	uint32_t slot;
};

struct sim {
	struct tl_trace_writer *w;
	uint64_t seed, s; /* the seed; the PRNG state */
	uint64_t target;  /* events to write */
	int64_t now, last_flush, next_snapshot;
	unsigned nthreads;
	uint32_t tids[MAX_THREADS + 2]; /* [0] main, [1] the runtime's timer thread */
	uint64_t events, snapshots;
	uint64_t next_rt, next_kernel; /* id counters: even and odd ids */
	struct site sites[NSTACKS];
	uint32_t nstacks;
	double cum_rate[NACT];

	struct timer *timers;
	uint32_t *free_slots;
	size_t ntimers, cap, nfree;
	struct due *heap;
	size_t nheap;

	int64_t live, live_max; /* timers created and not freed */
	double live_area;	/* integral of live over trace time, timer-ns */
	int64_t live_since;
	int err;
};

/* splitmix64: small, fast, and the same sequence everywhere. */
static inline uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t rnd(struct sim *m)
{
	return mix(m->s += 0x9e3779b97f4a7c15ull);
}

static inline double unif(struct sim *m)
{
	return (double)(rnd(m) >> 11) * 0x1p-53;
}

/* An exponential delay of mean ns, at least 1 ns. */
static inline int64_t expo(struct sim *m, double mean)
{
	int64_t d = (int64_t)(-mean * log1p(-unif(m)));

	return d > 0 ? d : 1;
}

static inline int64_t between(struct sim *m, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd(m) % (uint64_t)(hi - lo + 1));
}

/* Runtime timers fire on the runtime's timer thread. */
#define RT_TID (m->tids[1])

/* gen_trace.c: stacks, events and the heap of steps to come. */
uint64_t gen__site_hash(const struct sim *m, unsigned i, unsigned salt);
uint32_t gen__stack_of(struct sim *m, unsigned i);
void gen__write_ev(struct sim *m, int type, uint32_t tid, const struct tl_event *e);
void gen__simple(struct sim *m, int type, uint32_t tid, const struct timer *t, uint32_t flags);
/* Create t's timer (a create event at site t->site, a new id). */
void gen__create(struct sim *m, struct timer *t, int64_t dur, int64_t period);
/* The timer is freed (a free event); with a release before it. */
void gen__gone(struct sim *m, struct timer *t, uint32_t tid);
void gen__release_free(struct sim *m, struct timer *t, uint32_t tid);
/* Step `step` of t comes due after delay; or t has no step to come. */
void gen__later(struct sim *m, struct timer *t, int step, int64_t delay);
void gen__done(struct sim *m, struct timer *t);

/* gen_trace_acts.c: what site i (number j of activity a's) does, and the
 * step t->step of t's activity, now. */
void gen__site_init(struct sim *m, unsigned i, enum act a, unsigned j);
void gen__step(struct sim *m, struct timer *t);

#endif /* GEN_TRACE_H */
