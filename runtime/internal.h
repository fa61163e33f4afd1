/*
 * internal.h - libgotimer's private structures and functions.
 *
 * Names: gt_ is public (gotimer.h), gt__ is internal and hidden, statics
 * carry no prefix. Every field that threads share names what protects it.
 * docs/runtime.md explains the state machine and the locking in prose.
 */
#ifndef GT_INTERNAL_H
#define GT_INTERNAL_H

#include "gotimer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define GT_HIDDEN __attribute__((visibility("hidden")))

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---------------------------------------------------------------------------
 * futex.c: a 4-byte lock and the waiter that blocked operations sleep on.
 *
 * A pthread mutex is 40 bytes and a condition variable 48; every timer
 * carries a channel, so channels use these instead to stay small.
 */

struct gt__lock {
	_Atomic uint32_t v; /* 0 free, 1 held, 2 held and someone sleeps on it */
};

GT_HIDDEN void gt__lock_acquire_slow(struct gt__lock *l);
GT_HIDDEN void gt__lock_wake(struct gt__lock *l);

/* Uncontended, one atomic each way, inline: this is most lock use. */
static inline void gt__lock_acquire(struct gt__lock *l)
{
	uint32_t c = 0;

	if (__builtin_expect(atomic_compare_exchange_strong_explicit(&l->v, &c, 1,
								     memory_order_acquire,
								     memory_order_relaxed),
			     1))
		return;
	gt__lock_acquire_slow(l);
}

static inline void gt__lock_release(struct gt__lock *l)
{
	if (__builtin_expect(atomic_exchange_explicit(&l->v, 0, memory_order_release) == 2, 0))
		gt__lock_wake(l);
}

/* Sleep while *word == val, until deadline (CLOCK_MONOTONIC ns, INT64_MAX
 * for ever) or a gt__futex_wake(). Spurious returns happen. */
GT_HIDDEN void gt__futex_wait_until(_Atomic uint32_t *word, uint32_t val, int64_t deadline);
GT_HIDDEN void gt__futex_wake(_Atomic uint32_t *word);

/*
 * One thread blocked in a channel operation or a select. It is linked into
 * the wait queue of each channel it waits on (one gt__waitnode per
 * channel); whoever makes one of them ready claims it. It lives on the
 * blocked thread's stack.
 */
enum {
	GT_W_SPINNING = 0, /* checking state in a loop: no futex wake needed */
	GT_W_SLEEPING = 1, /* in futex_wait: a claim must wake it */
	GT_W_WOKEN = 2,    /* claimed: recheck the channels */
};

struct gt__waiter {
	_Atomic uint32_t state; /* written by the waiter and, under a channel lock, by claimers */
};

struct gt__waitnode {
	struct gt__waitnode *next, *prev; /* protected by the channel lock */
	struct gt__waiter *w;
	int linked; /* in the channel's queue; protected by the channel lock */
};

/* Wait until claimed or until deadline (CLOCK_MONOTONIC ns, INT64_MAX for
 * ever). @return 0 when claimed, -ETIMEDOUT otherwise. */
GT_HIDDEN int gt__waiter_wait(struct gt__waiter *w, int64_t deadline);
/* Claim w; the caller holds the lock of a channel w waits on. */
GT_HIDDEN void gt__waiter_claim(struct gt__waiter *w);

/* ---------------------------------------------------------------------------
 * chan.c: channels.
 */

#define GT_CHAN_MAGIC  0x6774636eu /* "gtcn" */
#define GT_TIMER_MAGIC 0x6774746du /* "gttm" */
#define GT_DEAD_MAGIC  0xdeadbeefu /* written just before free(), so a second free is caught
				      while the memory is not reused */

enum {
	GT_CH_TIMER = 1u << 0, /* embedded in a gt_timer; values come only from fires */
};

struct gt_chan {
	uint32_t magic;
	uint16_t flags;        /* GT_CH_*, fixed at creation: read without the lock */
	uint16_t closed;       /* under lock */
	struct gt__lock lock;  /* protects everything below but refs */
	uint32_t cap;          /* capacity as created; storage holds max(cap, 1) values */
	uint32_t len;          /* values buffered */
	uint32_t head;         /* index of the oldest value */
	_Atomic uint32_t refs; /* plain channels only: gt_chan_release() frees at 0 */
	uint32_t pad_;
	int64_t *buf;          /* &inline_val when storage is one value */
	int64_t inline_val;
	uint64_t sent, recvd;  /* unbuffered channels: a sender waits until recvd reaches its
				  ticket, which is how "the receiver took it" is seen */
	struct gt__waitnode *recvq, *sendq;
};

/* Initialise an embedded timer channel (capacity 1). */
GT_HIDDEN void gt__chan_init_timer(struct gt_chan *c);
/* Put v in a timer channel if it has room; the caller holds c->lock.
 * @return whether it fit. */
GT_HIDDEN bool gt__chan_offer_locked(struct gt_chan *c, int64_t v);
/* Discard a buffered value; the caller holds c->lock. @return whether one
 * was there. */
GT_HIDDEN bool gt__chan_drain_locked(struct gt_chan *c);
/* Receive under c->lock: @return 1 with *v taken, 0 if closed and empty
 * (*v = 0), -1 if nothing is there yet. */
GT_HIDDEN int gt__chan_take_locked(struct gt_chan *c, int64_t *v);
/* After a take returned r, with no lock held: tell a recorder (hook) that a
 * timer's value was received. */
GT_HIDDEN void gt__chan_report_received(struct gt_chan *c, int r, int64_t v);
GT_HIDDEN void gt__queue_add(struct gt__waitnode **q, struct gt__waitnode *n);
GT_HIDDEN void gt__queue_del(struct gt__waitnode **q, struct gt__waitnode *n);
/* gt_select() without the trip through the dynamic linker. */
GT_HIDDEN int gt__select(struct gt_chan *const *chans, size_t n, int64_t *v, bool *ok,
			 gt_duration timeout);

/* ---------------------------------------------------------------------------
 * timer.c: the timer object.
 *
 * State transitions (every one under the shard lock of the timer):
 *
 *   operation       IDLE            WAITING               DELETED
 *   start/reset     -> WAITING      -> WAITING (moved)    -> WAITING (revived in place)
 *   stop            -               -> DELETED (lazy)     -
 *   fire (one-shot) -               -> IDLE (popped)      (popped: -> IDLE, not fired)
 *   fire (ticker)   -               -> WAITING (next)     (popped: -> IDLE, not fired)
 *   free, release   -               -> IDLE (removed)     -> IDLE (removed)
 *   sweep           -               -                     -> IDLE (removed)
 *
 * "-" means the operation finds nothing to do in that state.
 */
enum gt__state {
	GT_IDLE = 0,    /* not in a heap: new, fired, or stopped and removed */
	GT_WAITING = 1, /* in a heap and will fire at when */
	GT_DELETED = 2, /* stopped, still in a heap until reached or swept */
};

enum {
	GT_T_FREED = 1u << 0, /* the caller's handle is gone (free, or after-channel release) */
	GT_T_SENT = 1u << 1,  /* a fire put a value in the channel since the last discard;
				 it may have been received since (then the flag is stale,
				 which only costs a look) */
};

#define GT_HIDX_NONE UINT32_MAX

struct gt_timer {
	/* Under the shard lock: */
	int64_t when;     /* deadline, CLOCK_MONOTONIC ns */
	int64_t period;   /* ticker period, 0 for one-shot timers */
	/* Fixed at creation, except where noted: */
	uint32_t magic;   /* at offset 16: glibc's free() overwrites the first 16 bytes */
	uint8_t kind;     /* enum gt_kind */
	uint8_t state;    /* enum gt__state; under the shard lock */
	uint8_t shard;    /* index of the heap that holds it */
	uint8_t flags;    /* GT_T_*; under the shard lock */
	_Atomic uint32_t refs; /* caller's handle + heap membership + queued callbacks */
	uint32_t hidx;    /* index in the heap, GT_HIDX_NONE when IDLE; under the shard lock */
	uint64_t seq;     /* creation order: equal deadlines fire in creation order */
	void (*fn)(void *arg);
	void *arg;
	struct gt_chan ch; /* channel timers only: a callback timer is allocated without it */
};

/* The ticker handle is the same object; the distinct type keeps the
 * caller honest. */
#define gt__ticker_timer(tk) ((struct gt_timer *)(tk))

GT_HIDDEN const void *gt__timer_handle(const struct gt_timer *t);
GT_HIDDEN size_t gt__timer_alloc_size(const struct gt_timer *t);
GT_HIDDEN void gt__timer_unref(struct gt_timer *t);
/* gt_chan_release() of an after-channel. */
GT_HIDDEN void gt__after_release(struct gt_timer *t);

/* ---------------------------------------------------------------------------
 * shard.c and heap.c: per-CPU heaps and their timer threads.
 */

struct gt__heap_entry {
	int64_t when; /* t->when, or earlier: a Reset to a later deadline only
			 updates t->when, and the entry is fixed when it reaches
			 the top (Go's "modified later"). Sifting reads one array. */
	struct gt_timer *t;
};

struct gt__shard {
	struct gt__lock mu;   /* protects everything below but wake, and the timers in
				 this heap */
	_Atomic uint32_t wake; /* the timer thread sleeps on it; an add bumps it */
	struct gt__heap_entry *heap;
	uint32_t len, cap;
	uint32_t ndeleted;    /* DELETED entries in heap */
	uint32_t index;
	int64_t sleep_until;  /* when the timer thread will look again: INT64_MIN while it
				 runs (it rereads the heap before sleeping), so an add only
				 signals when its deadline is earlier than this */
	bool thread_running;
	/* Counters, under mu, summed by gt_stats_read(). */
	uint64_t created, fired, stopped, resets, dropped_sends;
	uint64_t heap_bytes;  /* gt__timer_alloc_size() of every timer in heap */
} __attribute__((aligned(64)));

#define GT_MAX_SHARDS 64

struct gt__runtime {
	enum gt_mode mode;
	uint32_t nshards;
	bool spin;                     /* waiters spin: the process can use two CPUs or more */
	struct gt__shard shards[GT_MAX_SHARDS];
	_Atomic uint64_t seq;          /* next timer seq */
	_Atomic uint64_t live_objects; /* timer objects allocated and not freed */
	_Atomic uint64_t live_bytes;
	_Atomic uint64_t callbacks_run;
	_Atomic uint32_t callback_threads;
};

extern struct gt__runtime gt__rt GT_HIDDEN;

/* One-time initialisation; cheap after the first call. */
GT_HIDDEN void gt__init(void);

GT_HIDDEN struct gt__shard *gt__shard_pick(void);
static inline struct gt__shard *gt__shard_of(const struct gt_timer *t)
{
	return &gt__rt.shards[t->shard];
}
/* Add an IDLE timer to its heap, or move a WAITING/DELETED one, so that it
 * fires at when. The caller holds s->mu. @return 0 or -ENOMEM. */
GT_HIDDEN int gt__shard_schedule_locked(struct gt__shard *s, struct gt_timer *t, int64_t when);
/* WAITING -> DELETED. The caller holds s->mu. @return whether it was WAITING. */
GT_HIDDEN bool gt__shard_stop_locked(struct gt__shard *s, struct gt_timer *t);
/* Take t out of the heap now, whatever its state. The caller holds s->mu.
 * @return the state it was in; unless GT_IDLE, the caller drops the heap's
 * reference after unlocking. */
GT_HIDDEN int gt__shard_remove_locked(struct gt__shard *s, struct gt_timer *t);
GT_HIDDEN void gt__shards_atfork_prepare(void);
GT_HIDDEN void gt__shards_atfork_parent(void);
GT_HIDDEN void gt__shards_atfork_child(void);

/* heap.c: a 4-ary min-heap ordered by (when, seq). */
GT_HIDDEN int gt__heap_push(struct gt__shard *s, struct gt_timer *t);
GT_HIDDEN void gt__heap_remove(struct gt__shard *s, uint32_t i);
GT_HIDDEN void gt__heap_fix(struct gt__shard *s, uint32_t i);
GT_HIDDEN void gt__heap_init_order(struct gt__shard *s);

/* worker.c: the callback pool. Takes over one reference to t. */
GT_HIDDEN void gt__worker_dispatch(struct gt_timer *t);
GT_HIDDEN void gt__worker_atfork_prepare(void);
GT_HIDDEN void gt__worker_atfork_parent(void);
GT_HIDDEN void gt__worker_atfork_child(void);

/* Start a thread with every signal blocked, so it never runs a handler
 * of the service. @return 0 or a positive error number. */
GT_HIDDEN int gt__thread_start(pthread_t *th, void *(*fn)(void *), void *arg, const char *name);

GT_HIDDEN void gt__sleep(gt_duration d);

#include <time.h>
/* gt_now() without the trip through the dynamic linker. */
static inline int64_t gt__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* now + d, saturating: a deadline past the end of time never fires. */
static inline int64_t gt__deadline(gt_duration d)
{
	int64_t now = gt__now();

	if (d <= 0)
		return now;
	if (d > INT64_MAX - now)
		return INT64_MAX;
	return now + d;
}

#endif /* GT_INTERNAL_H */
