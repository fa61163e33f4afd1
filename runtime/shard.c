/*
 * shard.c - per-CPU timer heaps and the thread that fires each one.
 *
 * A timer joins the heap of the CPU its creator runs on and stays in that
 * shard for life, so threads on different CPUs rarely share a lock (Go
 * keeps a heap per P since 1.14 for the same reason). Each shard has one
 * timer thread, started with its first timer, that sleeps until the
 * earliest deadline. It collects due timers under the shard lock, sends
 * their values there (a send to a timer channel never blocks), and leaves
 * callbacks and the freeing of objects for after it unlocks.
 *
 * Stop is lazy: it marks the timer DELETED and leaves it in place, so the
 * Stop-drain-Reset idiom revives the same heap slot with no removal and no
 * insertion. A deleted timer leaves the heap when it reaches the top, or in
 * a sweep once deleted timers are more than a quarter of the heap; the
 * memory they pin is bounded by that quarter. Free and the release of an
 * after-channel remove at once, since nothing can revive those timers.
 */
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>

/* Timers fired per lock hold: bounds the time a service thread waits for
 * the shard lock behind a burst of expiries. */
#define FIRE_BATCH 64

/* Sweep only heaps with more deleted entries than this, so a small heap
 * is not rebuilt over and over. */
#define SWEEP_MIN 64

struct gt__shard *gt__shard_pick(void)
{
	int cpu = sched_getcpu(); /* a memory read with rseq: glibc 2.35 and later */

	if (cpu < 0)
		cpu = 0;
	return &gt__rt.shards[(uint32_t)cpu % gt__rt.nshards];
}

static void *shard_thread(void *arg);

static void ensure_thread_locked(struct gt__shard *s)
{
	char name[16];
	pthread_t th;

	if (s->thread_running)
		return;
	snprintf(name, sizeof(name), "gt-timer-%u", s->index);
	if (gt__thread_start(&th, shard_thread, s, name) == 0) {
		s->thread_running = true;
		s->sleep_until = INT64_MIN;
	}
	/* On failure the next schedule on this shard tries again. */
}

static void leave_heap_locked(struct gt__shard *s, struct gt_timer *t)
{
	if (t->state == GT_DELETED)
		s->ndeleted--;
	gt__heap_remove(s, t->hidx);
	t->state = GT_IDLE;
	s->heap_bytes -= gt__timer_alloc_size(t);
}

int gt__shard_schedule_locked(struct gt__shard *s, struct gt_timer *t, int64_t when)
{
	t->when = when;
	switch (t->state) {
	case GT_IDLE:
		if (gt__heap_push(s, t) < 0)
			return -ENOMEM;
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed); /* the heap's */
		s->heap_bytes += gt__timer_alloc_size(t);
		break;
	case GT_DELETED:
		s->ndeleted--;
		/* fall through */
	case GT_WAITING:
		/* A later deadline leaves the entry where it is, its when a lower
		 * bound; the timer thread moves it when it reaches the top. A
		 * Reset that pushes a timeout out, the common case, costs no
		 * sifting. */
		if (when < s->heap[t->hidx].when)
			gt__heap_fix(s, t->hidx);
		break;
	}
	t->state = GT_WAITING;
	ensure_thread_locked(s);
	if (when < s->sleep_until) {
		s->sleep_until = INT64_MIN; /* one wake is enough until it sleeps again */
		atomic_fetch_add_explicit(&s->wake, 1, memory_order_relaxed);
		gt__futex_wake(&s->wake);
	}
	return 0;
}

/*
 * Rebuild the heap without its deleted timers. A deleted timer always
 * still has its caller's handle (free and release remove at once, and an
 * after-timer cannot be stopped), so dropping the heap's reference here
 * never frees the object under the lock.
 */
static void sweep_locked(struct gt__shard *s)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < s->len; i++) {
		struct gt_timer *t = s->heap[i].t;
		if (t->state == GT_DELETED) {
			t->state = GT_IDLE;
			t->hidx = GT_HIDX_NONE;
			s->heap_bytes -= gt__timer_alloc_size(t);
			atomic_fetch_sub_explicit(&t->refs, 1, memory_order_release);
			continue;
		}
		s->heap[j] = s->heap[i];
		s->heap[j++].when = t->when; /* drop the lower bounds while at it */
	}
	s->len = j;
	s->ndeleted = 0;
	gt__heap_init_order(s);
}

bool gt__shard_stop_locked(struct gt__shard *s, struct gt_timer *t)
{
	if (t->state != GT_WAITING)
		return false;
	t->state = GT_DELETED;
	s->ndeleted++;
	s->stopped++;
	if (s->ndeleted > SWEEP_MIN && s->ndeleted > s->len / 4)
		sweep_locked(s);
	return true;
}

int gt__shard_remove_locked(struct gt__shard *s, struct gt_timer *t)
{
	int was = t->state;

	if (was == GT_IDLE)
		return GT_IDLE;
	if (was == GT_WAITING)
		s->stopped++;
	leave_heap_locked(s, t);
	return was;
}

/* ---------------------------------------------------------------------------
 * The timer thread.
 */

enum deferred_action {
	DEFER_UNREF,    /* drop the heap's reference */
	DEFER_CALLBACK, /* hand the heap's reference to a callback run */
};

struct deferred {
	struct gt_timer *t[FIRE_BATCH];
	uint8_t action[FIRE_BATCH];
	int n;
};

static void defer(struct deferred *d, struct gt_timer *t, enum deferred_action a)
{
	d->t[d->n] = t;
	d->action[d->n++] = (uint8_t)a;
}

/* The next tick after now, guarded against overflow: a period so long that
 * it overflows means the ticker never ticks again. */
static int64_t next_tick(int64_t when, int64_t period, int64_t now)
{
	int64_t n = 1 + (now - when) / period;

	if (n > (INT64_MAX - when) / period)
		return INT64_MAX;
	return when + n * period;
}

static void fire_chan_locked(struct gt__shard *s, struct gt_timer *t, int64_t now,
			     struct deferred *d)
{
	bool delivered;

	if (t->period > 0) {
		t->when = next_tick(t->when, t->period, now);
		gt__heap_fix(s, t->hidx);
	} else {
		leave_heap_locked(s, t);
		defer(d, t, DEFER_UNREF);
	}
	gt__lock_acquire(&t->ch.lock);
	delivered = t->ch.len == 0;
	/* The hook runs before the value is visible, so a recorder never
	 * sees it received before it was fired. */
	gt_hook_fired(gt__timer_handle(t), t->kind, t->seq + 1, now, delivered);
	if (delivered) {
		gt__chan_offer_locked(&t->ch, now);
		t->flags |= GT_T_SENT;
	}
	else
		s->dropped_sends++;
	gt__lock_release(&t->ch.lock);
}

static void fire_locked(struct gt__shard *s, struct gt_timer *t, int64_t now, struct deferred *d)
{
	s->fired++;
	if (t->kind != GT_KIND_AFTERFUNC) {
		fire_chan_locked(s, t, now, d);
		return;
	}
	leave_heap_locked(s, t);
	gt_hook_fired(t, t->kind, t->seq + 1, 0, true);
	defer(d, t, DEFER_CALLBACK);
}

static void run_due_locked(struct gt__shard *s, struct deferred *d)
{
	int64_t now = gt__now();

	while (s->len > 0 && s->heap[0].when <= now && d->n < FIRE_BATCH) {
		struct gt_timer *t = s->heap[0].t;

		if (t->state == GT_DELETED) {
			leave_heap_locked(s, t);
			defer(d, t, DEFER_UNREF);
			continue;
		}
		if (t->when > s->heap[0].when) {
			gt__heap_fix(s, 0); /* reset to later: not due yet, move it down */
			continue;
		}
		fire_locked(s, t, now, d);
	}
}

static void run_deferred(struct deferred *d)
{
	for (int i = 0; i < d->n; i++) {
		if (d->action[i] == DEFER_CALLBACK)
			gt__worker_dispatch(d->t[i]);
		else
			gt__timer_unref(d->t[i]);
	}
	d->n = 0;
}

/* Sleep until the earliest deadline, or until an add of an earlier one
 * bumps s->wake (it reads sleep_until under the lock, so none is missed:
 * the value of wake is taken before the lock is released). */
static void sleep_locked(struct gt__shard *s)
{
	int64_t next = s->len > 0 ? s->heap[0].when : INT64_MAX;
	uint32_t seq = atomic_load_explicit(&s->wake, memory_order_relaxed);

	s->sleep_until = next;
	gt__lock_release(&s->mu);
	gt__futex_wait_until(&s->wake, seq, next);
	gt__lock_acquire(&s->mu);
	s->sleep_until = INT64_MIN;
}

static void *shard_thread(void *arg)
{
	struct gt__shard *s = arg;
	struct deferred d = {.n = 0};

	gt__lock_acquire(&s->mu);
	for (;;) {
		run_due_locked(s, &d);
		if (d.n > 0) {
			gt__lock_release(&s->mu);
			run_deferred(&d);
			gt__lock_acquire(&s->mu);
			continue;
		}
		sleep_locked(s);
	}
	return NULL;
}

/* ---------------------------------------------------------------------------
 * fork: the child gets the heaps but none of the threads. Holding every
 * shard lock across fork() keeps the heaps consistent; the child starts a
 * timer thread again at its next schedule on a shard.
 */

void gt__shards_atfork_prepare(void)
{
	for (uint32_t i = 0; i < gt__rt.nshards; i++)
		gt__lock_acquire(&gt__rt.shards[i].mu);
}

void gt__shards_atfork_parent(void)
{
	for (uint32_t i = gt__rt.nshards; i-- > 0;)
		gt__lock_release(&gt__rt.shards[i].mu);
}

void gt__shards_atfork_child(void)
{
	for (uint32_t i = gt__rt.nshards; i-- > 0;) {
		struct gt__shard *s = &gt__rt.shards[i];

		s->thread_running = false;
		s->sleep_until = INT64_MIN;
		atomic_store_explicit(&s->mu.v, 0, memory_order_relaxed);
	}
}
