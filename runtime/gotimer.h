/*
 * gotimer.h - Go-style timers, tickers and channels for C (libgotimer).
 *
 * The API follows Go's package time and Go channels closely, so that a C
 * service gets Go's semantics and the profiler has one well-defined runtime
 * to explain. docs/runtime.md holds the state machine and the rules in full.
 *
 * Conventions:
 *   - Durations and times are int64 nanoseconds. Times are CLOCK_MONOTONIC
 *     (gt_now()). A timer channel delivers the time the timer fired.
 *   - Functions returning int return 0 (or an index) on success and a
 *     negative errno on failure; strerror(-err) describes it.
 *   - Functions returning a pointer return NULL and set errno on failure.
 *   - Functions returning void or bool that detect misuse (NULL, a handle of
 *     the wrong type, a handle already freed while the runtime still holds
 *     it) do nothing and set errno to EINVAL.
 *   - Every function is thread-safe. None may be called from a signal
 *     handler except gt_now().
 *   - Channel mode: fixed at first use from the environment variable
 *     GOTIMER_CHAN=async|sync (default async); see gt_mode().
 */
#ifndef GOTIMER_H
#define GOTIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GOTIMER_VERSION_MAJOR 1
#define GOTIMER_VERSION_MINOR 0

#define GT_API __attribute__((visibility("default")))

/* A duration or a CLOCK_MONOTONIC time, in nanoseconds. */
typedef int64_t gt_duration;

#define GT_NANOSECOND  ((gt_duration)1)
#define GT_MICROSECOND ((gt_duration)1000)
#define GT_MILLISECOND ((gt_duration)1000000)
#define GT_SECOND      ((gt_duration)1000000000)
#define GT_MINUTE      (60 * GT_SECOND)
#define GT_HOUR        (60 * GT_MINUTE)

/* The largest capacity gt_chan_new() accepts. A "negative" capacity cast
 * to size_t lands far above it and is refused. */
#define GT_CHAN_MAX_CAP ((size_t)1 << 30)

typedef struct gt_chan gt_chan;
typedef struct gt_timer gt_timer;
typedef struct gt_ticker gt_ticker;

/* ---------------------------------------------------------------------------
 * Channel mode
 */

enum gt_mode {
	/* Go <= 1.22: timer channels have a one-value buffer; Stop and Reset
	 * do not drain it; a timer stays in the runtime, holding its memory,
	 * until it fires or is stopped, even after an after-channel is
	 * released. */
	GT_MODE_ASYNC = 0,
	/* Go >= 1.23: no value prepared before a Stop or Reset is received
	 * after it; releasing an after-channel whose timer has not fired
	 * removes the timer at once. Timer channels report len and cap 0. */
	GT_MODE_SYNC = 1,
};

/*
 * gt_mode - the channel mode of this process.
 *
 * Read once, at the first call into the library, from GOTIMER_CHAN
 * ("async" or "sync"; anything else means async and is reported once on
 * stderr). Never changes afterwards.
 */
GT_API enum gt_mode gt_mode(void);

/* gt_mode_name - "async" or "sync". Static storage. */
GT_API const char *gt_mode_name(enum gt_mode mode);

/* ---------------------------------------------------------------------------
 * Channels of int64 values
 */

/*
 * gt_chan_new - make(chan int64, capacity).
 *
 * Capacity 0 makes an unbuffered channel: a send waits until a receiver
 * takes the value. The caller owns one reference; drop it with
 * gt_chan_release().
 *
 * @return the channel, or NULL with errno EINVAL (capacity above
 *         GT_CHAN_MAX_CAP) or ENOMEM.
 */
GT_API gt_chan *gt_chan_new(size_t capacity);

/*
 * gt_chan_send - send v, waiting while the channel is full (or, unbuffered,
 * until a receiver takes it).
 *
 * @return 0; -EPIPE if the channel is closed (also when it is closed while
 *         the send waits, and then the value is not delivered); -EINVAL for
 *         NULL or a timer's channel.
 */
GT_API int gt_chan_send(gt_chan *c, int64_t v);

/*
 * gt_chan_recv - receive a value, waiting until one is available.
 *
 * @return true with *v set; false once the channel is closed and empty
 *         (*v is set to 0), or for NULL (errno EINVAL). v may be NULL.
 */
GT_API bool gt_chan_recv(gt_chan *c, int64_t *v);

/*
 * gt_chan_try_recv - receive a value if one is available now; never waits.
 *
 * @return true with *v set; false if nothing is available, the channel is
 *         closed and empty, or c is NULL. v may be NULL.
 */
GT_API bool gt_chan_try_recv(gt_chan *c, int64_t *v);

/*
 * gt_chan_close - close(c): later sends fail with -EPIPE, receivers drain
 * what is buffered and then get false.
 *
 * @return 0; -EINVAL for NULL or a timer's or ticker's channel; -EPIPE if
 *         already closed.
 */
GT_API int gt_chan_close(gt_chan *c);

/* gt_chan_len, gt_chan_cap - len(c), cap(c). A timer channel reports 0 and 0
 * in sync mode, as Go 1.23 does. NULL gives 0. */
GT_API size_t gt_chan_len(const gt_chan *c);
GT_API size_t gt_chan_cap(const gt_chan *c);

/*
 * gt_chan_release - drop the caller's reference to a channel.
 *
 * The channel is freed when the last reference goes. Releasing the channel
 * returned by gt_after() also releases its timer: in sync mode a timer that
 * has not fired is removed at once; in async mode it stays in the runtime
 * until it fires, as in Go <= 1.22. A channel borrowed from
 * gt_timer_chan() or gt_ticker_chan() belongs to its timer and is not
 * released (errno EINVAL). NULL is accepted and ignored.
 */
GT_API void gt_chan_release(gt_chan *c);

/*
 * gt_select - receive from whichever of n channels is ready first.
 *
 * NULL entries are never ready, like nil channels in a Go select. When
 * several are ready one is chosen at random.
 *
 * @timeout: 0 polls, a negative value waits forever.
 * @return the index received from, with *v set (may be NULL) and *ok (may
 *         be NULL) false if that channel was closed and empty;
 *         -ETIMEDOUT when the timeout passes first (or, for 0, nothing is
 *         ready); -EINVAL if chans is NULL with n > 0, or if n is 0 or every
 *         entry is NULL and the timeout is forever (otherwise such a select
 *         sleeps for the timeout); -ENOMEM if n > 16 and the wait list
 *         cannot be allocated.
 */
GT_API int gt_select(gt_chan *const *chans, size_t n, int64_t *v, bool *ok, gt_duration timeout);

/* ---------------------------------------------------------------------------
 * Timers
 */

/*
 * gt_timer_new - time.NewTimer(d): a one-shot timer that sends the fire time
 * on its channel (capacity 1) after d. d <= 0 fires at once.
 *
 * @return the timer, owned by the caller (gt_timer_free()), or NULL with
 *         errno ENOMEM.
 */
GT_API gt_timer *gt_timer_new(gt_duration d);

/* gt_timer_chan - t.C, borrowed from t (valid until gt_timer_free()); NULL
 * for callback timers and for NULL. */
GT_API gt_chan *gt_timer_chan(const gt_timer *t);

/*
 * gt_timer_stop - t.Stop().
 *
 * @return true if this call stopped the timer before it fired; false if it
 *         had already fired or been stopped. In sync mode a fired value not
 *         yet received is discarded and counts as stopped (true), as in
 *         Go 1.23. For a callback timer, false also means the callback has
 *         started or finished; Stop does not wait for it.
 */
GT_API bool gt_timer_stop(gt_timer *t);

/*
 * gt_timer_reset - t.Reset(d): make the timer fire after d from now.
 *
 * Async mode does not drain the channel: a value sent before the reset is
 * still received after it ("stale value"). Sync mode discards it. For a
 * callback timer, Reset reschedules a pending run, or schedules another
 * run if the callback already ran or the timer was stopped.
 *
 * @return true if the timer was active (would have fired); false otherwise.
 */
GT_API bool gt_timer_reset(gt_timer *t, gt_duration d);

/*
 * gt_timer_free - stop the timer if active and drop the caller's handle.
 *
 * C has no garbage collector, so this is where a Go timer would become
 * unreachable. Memory is returned once the runtime has let go of the timer
 * too (a stopped timer is removed from its heap lazily). A running callback
 * finishes normally. NULL is accepted; a second free is detected while the
 * runtime still holds the timer (errno EINVAL).
 */
GT_API void gt_timer_free(gt_timer *t);

/*
 * gt_after - time.After(d): the channel of a new one-shot timer.
 *
 * The caller owns one reference to the channel and must drop it with
 * gt_chan_release(). See gt_chan_release() for what that does to a timer
 * that has not fired, in each mode.
 *
 * @return the channel, or NULL with errno ENOMEM.
 */
GT_API gt_chan *gt_after(gt_duration d);

/*
 * gt_after_func - time.AfterFunc(d, fn): call fn(arg) after d on a
 * callback thread (never on the runtime's timer thread, so a slow callback
 * delays no other timer).
 *
 * @return the timer (gt_timer_chan() gives NULL), owned by the caller, or
 *         NULL with errno EINVAL (fn NULL) or ENOMEM.
 */
GT_API gt_timer *gt_after_func(gt_duration d, void (*fn)(void *arg), void *arg);

/* ---------------------------------------------------------------------------
 * Tickers
 */

/*
 * gt_ticker_new - time.NewTicker(period): sends the time on its channel
 * (capacity 1) every period; ticks a slow reader misses are dropped.
 *
 * @return the ticker, owned by the caller (gt_ticker_free()), or NULL with
 *         errno EINVAL (period <= 0) or ENOMEM.
 */
GT_API gt_ticker *gt_ticker_new(gt_duration period);

/* gt_ticker_chan - t.C, borrowed from t; NULL for NULL. */
GT_API gt_chan *gt_ticker_chan(const gt_ticker *t);

/* gt_ticker_stop - t.Stop(): no more ticks are sent. In sync mode a tick
 * not yet received is discarded too. */
GT_API void gt_ticker_stop(gt_ticker *t);

/* gt_ticker_reset - t.Reset(period): stop, then tick every period from now.
 * period <= 0 is refused (errno EINVAL; the ticker is unchanged). */
GT_API void gt_ticker_reset(gt_ticker *t, gt_duration period);

/* gt_ticker_free - stop and drop the caller's handle. NULL is accepted. */
GT_API void gt_ticker_free(gt_ticker *t);

/* ---------------------------------------------------------------------------
 * Time
 */

/* gt_sleep - time.Sleep(d); d <= 0 returns at once. Restarts after
 * signals. */
GT_API void gt_sleep(gt_duration d);

/* gt_now - CLOCK_MONOTONIC in nanoseconds. Async-signal-safe. */
GT_API int64_t gt_now(void);

/* ---------------------------------------------------------------------------
 * Statistics
 */

struct gt_stats {
	uint64_t pending;        /* timers and tickers that will fire unless stopped */
	uint64_t heap_entries;   /* heap slots in use, counting stopped timers not yet swept */
	uint64_t live_objects;   /* timer objects allocated and not yet freed */
	uint64_t live_bytes;     /* bytes of those objects, as gt_object_size() counts them */
	uint64_t pending_bytes;  /* bytes held by the runtime's heaps: objects in a heap,
				    active or stopped-but-not-swept */
	uint64_t created;        /* timers, after-timers, callback timers, tickers */
	uint64_t fired;          /* fires, ticks included (dropped ticks too) */
	uint64_t stopped;        /* stops that found the timer active */
	uint64_t resets;         /* resets of any timer or ticker */
	uint64_t dropped_sends;  /* fires whose value did not fit in the channel */
	uint64_t callbacks_run;  /* callback invocations completed */
	uint32_t shards;         /* heaps (one per CPU, at most 64) */
	uint32_t callback_threads; /* threads in the callback pool */
};
typedef struct gt_stats gt_stats;

/*
 * gt_stats_read - a snapshot of the counters. Each counter is exact; the
 * set is not one atomic snapshot while other threads run.
 */
GT_API void gt_stats_read(gt_stats *s);

/*
 * gt_object_size - bytes one timer object holds in the runtime: the
 * timer, its channel and its heap slot. A callback's argument is the
 * caller's and is not counted. Handle as returned by the creating call
 * (gt_timer *, gt_ticker *, or the gt_chan * of gt_after()).
 *
 * @return the size, or 0 for NULL or a handle that is not a timer.
 */
GT_API size_t gt_object_size(const void *handle);

/*
 * gt_timer_id - a number naming the timer behind handle, unique among the
 * timers this load of the library has created and never reused (handles,
 * being pointers, are). Lock-free; may be called from the hooks.
 *
 * @return the id (>= 1), or 0 for NULL or a handle that is not a timer.
 */
GT_API uint64_t gt_timer_id(const void *handle);

/*
 * gt_timer_has_value - whether a fired value sits unreceived in the
 * channel of t, in either mode (sync mode hides it from gt_chan_len()).
 * Used by profilers to tell a reset-without-drain from a correct reset.
 * Never waits; false for callback timers and NULL.
 */
GT_API bool gt_timer_has_value(const gt_timer *t);
GT_API bool gt_ticker_has_value(const gt_ticker *t);

/* ---------------------------------------------------------------------------
 * Observability hooks
 *
 * The runtime calls these exported, empty functions at events no public
 * call reveals. They are called through the dynamic linker (the library is
 * built without -Bsymbolic), so a library loaded with LD_PRELOAD that
 * defines the same symbol sees every call, and a uprobe can attach to them.
 * An interposer may call gt_timer_id() and gt_object_size() from a hook,
 * and no other function of libgotimer: a hook may run with the runtime's
 * locks held (see each hook).
 *
 * handle is what the creating call returned: a gt_timer *, a gt_ticker *,
 * or, for gt_after(), its gt_chan *. kind is an enum gt_kind. id is
 * gt_timer_id(handle), passed so that a hook never needs to call back into
 * the library (nor find it first: a service may reach libgotimer through
 * dlsym() pointers that bypass a preloaded library's interposers).
 */

enum gt_kind {
	GT_KIND_TIMER = 1,     /* gt_timer_new */
	GT_KIND_AFTER = 2,     /* gt_after */
	GT_KIND_AFTERFUNC = 3, /* gt_after_func */
	GT_KIND_TICKER = 4,    /* gt_ticker_new */
};

/*
 * gt_hook_created - a timer, after-timer, callback timer or ticker was
 * made: called by the creating call before the timer can fire, on the
 * creating thread, no runtime lock held. duration: ns until it fires (a
 * ticker's period); bytes: gt_object_size(handle); arg: gt_after_func()'s
 * argument, else NULL.
 */
GT_API void gt_hook_created(const void *handle, int kind, uint64_t id, int64_t duration,
			    size_t bytes, const void *arg);

/* gt_hook_reset's flags. */
#define GT_RESET_WAS_ACTIVE 1 /* the timer would have fired */
#define GT_RESET_PENDING    2 /* a fired value waited unreceived in its channel */

/*
 * gt_hook_stopped - gt_timer_stop() or gt_ticker_stop() found the timer
 * active (was_active) or not. gt_hook_reset - gt_timer_reset() or
 * gt_ticker_reset() set it to fire in duration ns (flags: GT_RESET_*).
 * Both on the calling thread, once the call has done its work, no runtime
 * lock held; not called for a handle already freed.
 */
GT_API void gt_hook_stopped(const void *handle, int kind, uint64_t id, bool was_active);
GT_API void gt_hook_reset(const void *handle, int kind, uint64_t id, int64_t duration,
			  int flags);

/*
 * gt_hook_released - the caller gave up its handle: gt_timer_free(),
 * gt_ticker_free(), or gt_chan_release() of a gt_after() channel. The
 * timer may live on (an after-timer in async mode, until it fires). On the
 * calling thread, no runtime lock held, before any gt_hook_reclaimed() of
 * the same timer.
 */
GT_API void gt_hook_released(const void *handle, int kind, uint64_t id);

/*
 * gt_hook_fired - a timer fired (a tick of a ticker included). Called on
 * the timer thread with the timer's shard locked, before the value is
 * sent or the callback queued. value is the fire time sent (0 for callback
 * timers). delivered says whether the value went into the channel (false
 * when the channel already held one: a dropped tick).
 */
GT_API void gt_hook_fired(const void *handle, int kind, uint64_t id, int64_t value,
			  bool delivered);

/*
 * gt_hook_received - a value was received from a timer's or ticker's
 * channel, by gt_chan_recv, gt_chan_try_recv or gt_select. Called on the
 * receiving thread after the channel is unlocked.
 */
GT_API void gt_hook_received(const void *handle, int kind, uint64_t id, int64_t value);

/*
 * gt_hook_reclaimed - the runtime is about to free a timer object (called
 * just before free(), so the address cannot be reused and seen created
 * again first). For gt_after() timers this is the only sign of the end of
 * their life. Called on whichever thread dropped the last reference, with
 * no runtime lock held.
 */
GT_API void gt_hook_reclaimed(const void *handle, int kind, uint64_t id, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* GOTIMER_H */
