/*
 * hooks_gotimer.c - libgotimer's public calls and its observability hooks.
 *
 * Each public call is forwarded to libgotimer and reported: create (with
 * the caller's stack), stop, reset (with its stack, and whether a fired
 * value waited unreceived in the channel), release. Fires, receives and
 * frees come from the runtime's hooks, which run on whichever thread did
 * them, some with runtime locks held: those only record, and never
 * resolve anything.
 */
#include "real.h"
#include "tl_preload.h"

#include <errno.h>

#define HOOK TL_EXPORT

/* The table, or NULL with errno ENOSYS: libgotimer cannot be found, which
 * a program that calls it cannot see happen. */
static struct tl__real_gotimer *real(void)
{
	struct tl__real_gotimer *g = tl__real_gotimer();

	if (!g)
		errno = ENOSYS;
	return g;
}

/* The first time a call has gone through a given libgotimer, its mode,
 * read now because libgotimer reads its environment at first use. */
static void runtime_seen(struct tl__pass *p, struct tl__real_gotimer *g)
{
	static _Atomic(struct tl__real_gotimer *) announced;
	struct tl_event ev = {0};

	if (atomic_load_explicit(&announced, memory_order_relaxed) == g ||
	    atomic_exchange(&announced, g) == g)
		return;
	ev.flags = g->mode() == GT_MODE_SYNC ? TL_MODE_SYNC : TL_MODE_ASYNC;
	tl__record(p, TL__R_RUNTIME, &ev, NULL, 0);
}

static uint64_t id_of(struct tl__real_gotimer *g, const void *handle)
{
	uint64_t id = handle ? g->timer_id(handle) : 0;

	return id ? tl__gt_id(id) : 0;
}

/* Report a creation; frames were captured before the real call. */
static void created(struct tl__pass *p, struct tl__real_gotimer *g, const void *handle,
		    int kind, gt_duration d, gt_duration period, uint64_t aux,
		    const uint64_t *frames, unsigned n)
{
	struct tl_event ev = {0};

	runtime_seen(p, g);
	ev.id = id_of(g, handle);
	if (!ev.id)
		return;
	ev.kind = (uint32_t)kind;
	ev.duration = d;
	ev.period = period;
	ev.size = g->object_size(handle);
	ev.aux = aux;
	tl__record(p, TL_REC_CREATE, &ev, frames, n);
}

static void simple(struct tl__pass *p, uint8_t type, uint64_t id, uint32_t flags)
{
	struct tl_event ev = {.id = id, .flags = flags};

	if (id)
		tl__record(p, type, &ev, NULL, 0);
}

/* The body shared by the four creating calls. */
#define CREATE(kind, call, d, period, aux)                                                            \
	struct tl__real_gotimer *g = real();                                                       \
	uint64_t frames[TL_MAX_DEPTH];                                                             \
	struct tl__pass p;                                                                         \
	unsigned n;                                                                                \
	if (!g)                                                                                    \
		return NULL;                                                                       \
	if (!tl__enter(&p))                                                                        \
		return g->call;                                                                    \
	n = tl__capture(&p, frames);                                                               \
	void *h = g->call;                                                                         \
	p.saved_errno = errno;                                                                     \
	if (h)                                                                                     \
		created(&p, g, h, kind, d, period, aux, frames, n);                                \
	tl__leave(&p);                                                                             \
	return h

HOOK gt_timer *gt_timer_new(gt_duration d)
{
	CREATE(TL_KIND_TIMER, timer_new(d), d, 0, 0);
}

HOOK gt_chan *gt_after(gt_duration d)
{
	CREATE(TL_KIND_AFTER, after(d), d, 0, 0);
}

HOOK gt_ticker *gt_ticker_new(gt_duration period)
{
	CREATE(TL_KIND_TICKER, ticker_new(period), period, period, 0);
}

/* What the callback's argument pins, measured before the call: the
 * callback may run, and free it, before gt_after_func() returns. */
HOOK gt_timer *gt_after_func(gt_duration d, void (*fn)(void *), void *arg)
{
	uint64_t arg_bytes = tl__heap_block_size(arg);

	CREATE(TL_KIND_AFTERFUNC, after_func(d, fn, arg), d, 0, arg_bytes);
}

HOOK bool gt_timer_stop(gt_timer *t)
{
	struct tl__real_gotimer *g = real();
	struct tl__pass p;
	bool r;

	if (!g)
		return false;
	if (!tl__enter(&p))
		return g->timer_stop(t);
	r = g->timer_stop(t);
	p.saved_errno = errno;
	simple(&p, TL_REC_STOP, id_of(g, t), r ? TL_STOP_WAS_ACTIVE : 0);
	tl__leave(&p);
	return r;
}

HOOK void gt_ticker_stop(gt_ticker *t)
{
	struct tl__real_gotimer *g = real();
	struct tl__pass p;

	if (!g)
		return;
	if (!tl__enter(&p)) {
		g->ticker_stop(t);
		return;
	}
	g->ticker_stop(t);
	p.saved_errno = errno;
	simple(&p, TL_REC_STOP, id_of(g, t), TL_STOP_UNKNOWN);
	tl__leave(&p);
}

/* A reset, with its own stack: the site of a reset-without-drain. */
static void reset_seen(struct tl__pass *p, uint64_t id, gt_duration d, gt_duration period,
		       uint32_t flags, const uint64_t *frames, unsigned n)
{
	struct tl_event ev = {.id = id, .duration = d, .period = period, .flags = flags};

	if (id)
		tl__record(p, TL_REC_RESET, &ev, frames, n);
}

HOOK bool gt_timer_reset(gt_timer *t, gt_duration d)
{
	struct tl__real_gotimer *g = real();
	uint64_t frames[TL_MAX_DEPTH];
	struct tl__pass p;
	bool r, pending;
	unsigned n;

	if (!g)
		return false;
	if (!tl__enter(&p))
		return g->timer_reset(t, d);
	n = tl__capture(&p, frames);
	pending = g->timer_has_value(t);
	r = g->timer_reset(t, d);
	p.saved_errno = errno;
	reset_seen(&p, id_of(g, t), d, 0,
		   (r ? TL_RESET_WAS_ACTIVE : 0) | (pending ? TL_RESET_PENDING : 0), frames, n);
	tl__leave(&p);
	return r;
}

HOOK void gt_ticker_reset(gt_ticker *t, gt_duration period)
{
	struct tl__real_gotimer *g = real();
	uint64_t frames[TL_MAX_DEPTH];
	struct tl__pass p;
	bool pending;
	unsigned n;

	if (!g)
		return;
	if (!tl__enter(&p)) {
		g->ticker_reset(t, period);
		return;
	}
	n = tl__capture(&p, frames);
	pending = g->ticker_has_value(t);
	g->ticker_reset(t, period);
	p.saved_errno = errno;
	reset_seen(&p, id_of(g, t), period, period,
		   TL_RESET_UNKNOWN | (pending ? TL_RESET_PENDING : 0), frames, n);
	tl__leave(&p);
}

/* The caller gives up a handle. Recorded before the real call: the handle
 * may be gone after it, and the runtime may free the timer inside it
 * (its reclaim hook then records the free), which must follow the
 * release in the trace. */
#define RELEASE(call, handle)                                                                      \
	struct tl__real_gotimer *g = real();                                                       \
	struct tl__pass p;                                                                         \
	if (!g)                                                                                    \
		return;                                                                            \
	if (!tl__enter(&p)) {                                                                      \
		g->call;                                                                           \
		return;                                                                            \
	}                                                                                          \
	simple(&p, TL_REC_RELEASE, id_of(g, handle), 0);                                           \
	g->call;                                                                                   \
	p.saved_errno = errno;                                                                     \
	tl__leave(&p)

HOOK void gt_timer_free(gt_timer *t)
{
	RELEASE(timer_free(t), t);
}

HOOK void gt_ticker_free(gt_ticker *t)
{
	RELEASE(ticker_free(t), t);
}

/* Plain channels are released too, and are no timer: id_of() gives 0 and
 * nothing is recorded. */
HOOK void gt_chan_release(gt_chan *c)
{
	RELEASE(chan_release(c), c);
}

/* ---------------------------------------------------------------------------
 * The runtime's hooks. They run inside libgotimer, some with its locks
 * held, and are passed the timer's id: they record, and call nothing.
 * So they also see timers of a libgotimer the service reached through
 * dlsym() pointers, whose public calls no preloaded library sees.
 */

HOOK void gt_hook_fired(const void *handle, int kind, uint64_t id, int64_t value, bool delivered)
{
	struct tl__pass p;

	(void)handle, (void)kind, (void)value;
	if (!tl__enter(&p))
		return;
	p.saved_errno = errno;
	simple(&p, TL_REC_FIRE, tl__gt_id(id), delivered ? TL_FIRE_DELIVERED : 0);
	tl__leave(&p);
}

HOOK void gt_hook_received(const void *handle, int kind, uint64_t id, int64_t value)
{
	struct tl__pass p;

	(void)handle, (void)kind, (void)value;
	if (!tl__enter(&p))
		return;
	p.saved_errno = errno;
	simple(&p, TL_REC_DRAIN, tl__gt_id(id), 0);
	tl__leave(&p);
}

HOOK void gt_hook_reclaimed(const void *handle, int kind, uint64_t id, size_t bytes)
{
	struct tl__pass p;

	(void)handle, (void)kind, (void)bytes;
	if (!tl__enter(&p))
		return;
	p.saved_errno = errno;
	simple(&p, TL_REC_FREE, tl__gt_id(id), 0);
	tl__leave(&p);
}
