/*
 * timer.c - timers, after, callback timers and tickers: the public calls.
 *
 * Rules for callers (what Go documents, in C terms):
 *   - A timer is used through its handle until gt_timer_free() or
 *     gt_ticker_free(); an after-timer through its channel until
 *     gt_chan_release(). Nothing may use a handle after that.
 *   - In async mode, a Reset of a timer whose channel may hold a value must
 *     follow Stop and a drain, or the old value is received after the
 *     Reset. Sync mode discards it.
 *
 * Object life: a reference for the caller's handle, one while the timer is
 * in a heap, and one per queued or running callback. The last one frees
 * the object, after gt_hook_reclaimed(). Public calls never call other
 * public calls: a library interposing them sees each service call once.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

const void *gt__timer_handle(const struct gt_timer *t)
{
	return t->kind == GT_KIND_AFTER ? (const void *)&t->ch : (const void *)t;
}

static bool has_chan(const struct gt_timer *t)
{
	return t->kind != GT_KIND_AFTERFUNC;
}

/* What the object occupies: itself and, while heaped, a heap entry. */
size_t gt__timer_alloc_size(const struct gt_timer *t)
{
	size_t obj = has_chan(t) ? sizeof(*t) : offsetof(struct gt_timer, ch);

	return obj + sizeof(struct gt__heap_entry);
}

static struct gt_timer *timer_alloc(uint8_t kind, struct gt__shard *s)
{
	size_t size = kind == GT_KIND_AFTERFUNC ? offsetof(struct gt_timer, ch)
						: sizeof(struct gt_timer);
	struct gt_timer *t = malloc(size);

	if (!t)
		return NULL;
	t->when = 0;
	t->period = 0;
	t->magic = GT_TIMER_MAGIC;
	t->kind = kind;
	t->state = GT_IDLE;
	t->shard = (uint8_t)s->index;
	t->flags = 0;
	atomic_init(&t->refs, 1);
	t->hidx = GT_HIDX_NONE;
	t->seq = atomic_fetch_add_explicit(&gt__rt.seq, 1, memory_order_relaxed);
	t->fn = NULL;
	t->arg = NULL;
	if (kind != GT_KIND_AFTERFUNC)
		gt__chan_init_timer(&t->ch);
	atomic_fetch_add_explicit(&gt__rt.live_objects, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&gt__rt.live_bytes, gt__timer_alloc_size(t),
				  memory_order_relaxed);
	return t;
}

static void timer_destroy(struct gt_timer *t)
{
	atomic_fetch_sub_explicit(&gt__rt.live_objects, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&gt__rt.live_bytes, gt__timer_alloc_size(t),
				  memory_order_relaxed);
	t->magic = GT_DEAD_MAGIC;
	free(t);
}

void gt__timer_unref(struct gt_timer *t)
{
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* Before free(): the address cannot be handed out again, and seen
	 * created, before the reclaim is seen. */
	gt_hook_reclaimed(gt__timer_handle(t), t->kind, t->seq + 1, gt__timer_alloc_size(t));
	timer_destroy(t);
}

/* Create and schedule. period 0 makes a one-shot timer. */
static struct gt_timer *timer_start(uint8_t kind, gt_duration d, gt_duration period,
				    void (*fn)(void *), void *arg)
{
	struct gt__shard *s;
	struct gt_timer *t;
	int err;

	gt__init();
	s = gt__shard_pick();
	t = timer_alloc(kind, s);
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->period = period;
	t->fn = fn;
	t->arg = arg;
	/* Before it is scheduled: a fire cannot come first. */
	gt_hook_created(gt__timer_handle(t), t->kind, t->seq + 1, d, gt__timer_alloc_size(t), arg);
	gt__lock_acquire(&s->mu);
	err = gt__shard_schedule_locked(s, t, gt__deadline(d));
	if (err == 0)
		s->created++;
	gt__lock_release(&s->mu);
	if (err) {
		/* Never seen by anyone but the hooks. */
		gt_hook_reclaimed(gt__timer_handle(t), t->kind, t->seq + 1,
				  gt__timer_alloc_size(t));
		timer_destroy(t);
		errno = -err;
		return NULL;
	}
	return t;
}

/* The timer behind a handle of the expected kinds, or NULL with EINVAL. A
 * freed handle is caught while its memory is not reused. */
static struct gt_timer *timer_of(const void *h, unsigned kinds)
{
	struct gt_timer *t = (struct gt_timer *)h;

	if (!t || t->magic != GT_TIMER_MAGIC || !(kinds & (1u << t->kind))) {
		errno = EINVAL;
		return NULL;
	}
	return t;
}

#define K(kind) (1u << (kind))
#define TIMER_KINDS (K(GT_KIND_TIMER) | K(GT_KIND_AFTERFUNC))

/* Lock t's shard; fail with EINVAL once the caller's handle is gone. */
static struct gt__shard *lock_live(struct gt_timer *t)
{
	struct gt__shard *s = gt__shard_of(t);

	gt__lock_acquire(&s->mu);
	if (t->flags & GT_T_FREED) {
		gt__lock_release(&s->mu);
		errno = EINVAL;
		return NULL;
	}
	return s;
}

/* Sync mode: discard a value sent before this Stop or Reset. The caller
 * holds the shard lock, so no fire can slip a value in meanwhile; and
 * without GT_T_SENT no fire has put one there since the last discard, so
 * the channel lock is taken only when a value may be waiting. */
static bool discard_stale_locked(struct gt_timer *t)
{
	bool had;

	if (gt__rt.mode != GT_MODE_SYNC || !(t->flags & GT_T_SENT))
		return false;
	gt__lock_acquire(&t->ch.lock);
	had = gt__chan_drain_locked(&t->ch);
	gt__lock_release(&t->ch.lock);
	t->flags &= (uint8_t)~GT_T_SENT;
	return had;
}

static bool stop(struct gt_timer *t)
{
	struct gt__shard *s = lock_live(t);
	bool pending;

	if (!s)
		return false;
	pending = gt__shard_stop_locked(s, t);
	pending |= discard_stale_locked(t);
	gt__lock_release(&s->mu);
	gt_hook_stopped(gt__timer_handle(t), t->kind, t->seq + 1, pending);
	return pending;
}

static bool reset(struct gt_timer *t, gt_duration d, gt_duration period)
{
	struct gt__shard *s = lock_live(t);
	bool pending;
	int err, flags = 0;

	if (!s)
		return false;
	s->resets++;
	pending = t->state == GT_WAITING;
	/* A value the last fire left unreceived (what async mode delivers
	 * after the reset, as if the new timeout had expired), for the hook. */
	if (t->kind != GT_KIND_AFTERFUNC) {
		gt__lock_acquire(&t->ch.lock);
		flags = t->ch.len > 0 ? GT_RESET_PENDING : 0;
		gt__lock_release(&t->ch.lock);
	}
	pending |= discard_stale_locked(t);
	if (period > 0)
		t->period = period;
	err = gt__shard_schedule_locked(s, t, gt__deadline(d));
	gt__lock_release(&s->mu);
	if (err)
		errno = -err;
	gt_hook_reset(gt__timer_handle(t), t->kind, t->seq + 1, d,
		      flags | (pending ? GT_RESET_WAS_ACTIVE : 0));
	return pending;
}

/* Drop the caller's handle: remove the timer from its heap at once unless
 * keep_waiting (an async after-timer lives on until it fires). */
static void release_handle(struct gt_timer *t, bool keep_waiting)
{
	struct gt__shard *s = lock_live(t);
	int was = GT_IDLE;

	if (!s)
		return;
	t->flags |= GT_T_FREED;
	if (!(keep_waiting && t->state == GT_WAITING))
		was = gt__shard_remove_locked(s, t);
	gt__lock_release(&s->mu);
	gt_hook_released(gt__timer_handle(t), t->kind, t->seq + 1);
	if (was != GT_IDLE)
		gt__timer_unref(t); /* the heap's */
	gt__timer_unref(t);
}

void gt__after_release(struct gt_timer *t)
{
	release_handle(t, gt__rt.mode == GT_MODE_ASYNC);
}

gt_timer *gt_timer_new(gt_duration d)
{
	return timer_start(GT_KIND_TIMER, d, 0, NULL, NULL);
}

gt_chan *gt_timer_chan(const gt_timer *t)
{
	struct gt_timer *tt = timer_of(t, TIMER_KINDS);

	return tt && tt->kind == GT_KIND_TIMER ? &tt->ch : NULL;
}

bool gt_timer_stop(gt_timer *t)
{
	t = timer_of(t, TIMER_KINDS);
	return t ? stop(t) : false;
}

bool gt_timer_reset(gt_timer *t, gt_duration d)
{
	t = timer_of(t, TIMER_KINDS);
	return t ? reset(t, d, 0) : false;
}

void gt_timer_free(gt_timer *t)
{
	if (!t)
		return;
	t = timer_of(t, TIMER_KINDS);
	if (t)
		release_handle(t, false);
}

gt_chan *gt_after(gt_duration d)
{
	struct gt_timer *t = timer_start(GT_KIND_AFTER, d, 0, NULL, NULL);

	return t ? &t->ch : NULL;
}

gt_timer *gt_after_func(gt_duration d, void (*fn)(void *arg), void *arg)
{
	if (!fn) {
		errno = EINVAL;
		return NULL;
	}
	return timer_start(GT_KIND_AFTERFUNC, d, 0, fn, arg);
}

gt_ticker *gt_ticker_new(gt_duration period)
{
	if (period <= 0) {
		errno = EINVAL;
		return NULL;
	}
	return (gt_ticker *)timer_start(GT_KIND_TICKER, period, period, NULL, NULL);
}

gt_chan *gt_ticker_chan(const gt_ticker *tk)
{
	struct gt_timer *t = timer_of(tk, K(GT_KIND_TICKER));

	return t ? &t->ch : NULL;
}

void gt_ticker_stop(gt_ticker *tk)
{
	struct gt_timer *t = timer_of(tk, K(GT_KIND_TICKER));

	if (t)
		stop(t);
}

void gt_ticker_reset(gt_ticker *tk, gt_duration period)
{
	struct gt_timer *t = timer_of(tk, K(GT_KIND_TICKER));

	if (!t)
		return;
	if (period <= 0) {
		errno = EINVAL;
		return;
	}
	reset(t, period, period);
}

void gt_ticker_free(gt_ticker *tk)
{
	struct gt_timer *t;

	if (!tk)
		return;
	t = timer_of(tk, K(GT_KIND_TICKER));
	if (t)
		release_handle(t, false);
}

static bool has_value(struct gt_timer *t)
{
	bool v;

	gt__lock_acquire(&t->ch.lock);
	v = t->ch.len > 0;
	gt__lock_release(&t->ch.lock);
	return v;
}

bool gt_timer_has_value(const gt_timer *t)
{
	struct gt_timer *tt = timer_of(t, K(GT_KIND_TIMER));

	return tt ? has_value(tt) : false;
}

bool gt_ticker_has_value(const gt_ticker *tk)
{
	struct gt_timer *t = timer_of(tk, K(GT_KIND_TICKER));

	return t ? has_value(t) : false;
}

/* The timer behind any handle (timer, ticker, after-channel), or NULL. A
 * timer has its magic at offset 16; a channel's len sits there and never
 * reaches that value. */
static const struct gt_timer *any_timer(const void *handle)
{
	const struct gt_timer *t = handle;
	const struct gt_chan *c = handle;

	if (!handle)
		return NULL;
	if (t->magic == GT_TIMER_MAGIC)
		return t;
	if (c->magic == GT_CHAN_MAGIC && (c->flags & GT_CH_TIMER))
		return container_of(c, struct gt_timer, ch);
	return NULL;
}

size_t gt_object_size(const void *handle)
{
	const struct gt_timer *t = any_timer(handle);

	return t ? gt__timer_alloc_size(t) : 0;
}

uint64_t gt_timer_id(const void *handle)
{
	const struct gt_timer *t = any_timer(handle);

	return t ? t->seq + 1 : 0;
}
