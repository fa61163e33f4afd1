/*
 * runtime_afterfunc.c - callback timers (gt_after_func): when a run
 * happens, what Stop and Reset return and do to runs, the callback pool
 * (never the timer thread), and freeing a timer whose run is in progress.
 *
 * Callback timers behave the same in both modes; every case still runs in
 * both, since the modes share the code paths that fire and free timers.
 */
#include "gt_test_util.h"
#include "tl_test.h"

#include <errno.h>
#include <stdatomic.h>

/* ---------------------------------------------------------------------------
 * Callback timers. A run reports its start time on ran; when block is set
 * it waits there first, so a test can hold a run in progress.
 */

struct cb {
	gt_chan *ran;	  /* one value per finished run: its start time */
	gt_chan *started; /* one value per started run, if set */
	gt_chan *block;	  /* the run waits for a value here, if set */
	_Atomic(gt_timer *) self;
	_Atomic int runs;
	int reset_until; /* the run resets its own timer until runs reaches this */
	_Atomic int reset_true;
	bool free_self; /* the run frees its own timer */
};

static void cb_fn(void *arg)
{
	struct cb *c = arg;
	int64_t now = gt_now();
	int n = atomic_fetch_add(&c->runs, 1) + 1;
	gt_timer *self = atomic_load(&c->self);

	if (c->started)
		gt_chan_send(c->started, now);
	if (c->block)
		gt_chan_recv(c->block, NULL);
	if (n < c->reset_until && self && gt_timer_reset(self, 5 * MS))
		atomic_fetch_add(&c->reset_true, 1);
	if (c->free_self && self)
		gt_timer_free(self);
	gt_chan_send(c->ran, now);
}

static bool cb_init(struct cb *c, bool with_started, bool with_block)
{
	*c = (struct cb){.ran = gt_chan_new(64)};
	if (with_started)
		c->started = gt_chan_new(64);
	if (with_block)
		c->block = gt_chan_new(64);
	return c->ran && (!with_started || c->started) && (!with_block || c->block);
}

static void cb_destroy(struct cb *c)
{
	gt_chan_release(c->ran);
	gt_chan_release(c->started);
	gt_chan_release(c->block);
}

/* A try given up (TRY_ON_TIME) leaves a run free to come later, so its cb
 * must outlive the try: each try takes the next of these. */
static struct cb *cb_slot(void)
{
	static struct cb slots[8];
	static int next;

	return &slots[next++ % 8];
}

TEST(afterfunc_runs_once_after_duration)
{
	struct cb c;
	int64_t t0 = gt_now(), at = 0;
	gt_timer *t;

	REQUIRE(cb_init(&c, false, false));
	t = gt_after_func(30 * MS, cb_fn, &c);
	REQUIRE(t != NULL);
	CHECK(gt_timer_chan(t) == NULL);
	CHECK(!gt_timer_has_value(t));
	REQUIRE(recv_within(c.ran, &at, LATE) == 0);
	CHECK_RANGE(at, t0 + 30 * MS, gt_now());
	CHECK(stays_quiet(c.ran));
	CHECK_EQ(atomic_load(&c.runs), 1);
	CHECK(!gt_timer_stop(t));
	gt_timer_free(t);
	cb_destroy(&c);
}

TEST(afterfunc_null_fn)
{
	errno = 0;
	CHECK(gt_after_func(MS, NULL, NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
}

static bool try_afterfunc_stop_before_run(void)
{
	int64_t t0 = gt_now();
	struct cb *c = cb_slot();
	gt_timer *t;
	bool stopped;

	if (!cb_init(c, false, false))
		return false;
	t = gt_after_func(20 * MS, cb_fn, c);
	if (!t)
		return false;
	stopped = gt_timer_stop(t);
	if (!still_before(t0, 20 * MS)) {
		gt_timer_free(t);
		return false; /* c stays: a run may still come */
	}
	CHECK(stopped);
	CHECK(!gt_timer_stop(t));
	CHECK(stays_quiet(c->ran));
	CHECK_EQ(atomic_load(&c->runs), 0);
	gt_timer_free(t);
	cb_destroy(c);
	return true;
}

TEST(afterfunc_stop_before_run)
{
	TRY_ON_TIME(try_afterfunc_stop_before_run());
}

/* Reset of a pending callback timer reschedules its one run. */
TEST(afterfunc_reset_pending)
{
	struct cb c;
	int64_t r0, at = 0;
	gt_timer *t;

	REQUIRE(cb_init(&c, false, false));
	t = gt_after_func(GT_HOUR, cb_fn, &c);
	REQUIRE(t != NULL);
	r0 = gt_now();
	CHECK(gt_timer_reset(t, 30 * MS));
	REQUIRE(recv_within(c.ran, &at, LATE) == 0);
	CHECK_RANGE(at, r0 + 30 * MS, gt_now());
	CHECK(stays_quiet(c.ran));
	CHECK_EQ(atomic_load(&c.runs), 1);
	gt_timer_free(t);
	cb_destroy(&c);
}

/* Reset after the run, or after a Stop, schedules another run. */
TEST(afterfunc_reset_after_run_or_stop)
{
	struct cb c;
	int64_t r0, at = 0;
	gt_timer *t;

	REQUIRE(cb_init(&c, false, false));
	t = gt_after_func(5 * MS, cb_fn, &c);
	REQUIRE(t != NULL);
	REQUIRE(recv_within(c.ran, NULL, LATE) == 0);
	r0 = gt_now();
	CHECK(!gt_timer_reset(t, 20 * MS));
	REQUIRE(recv_within(c.ran, &at, LATE) == 0);
	CHECK_RANGE(at, r0 + 20 * MS, gt_now());

	CHECK(!gt_timer_reset(t, GT_HOUR));
	CHECK(gt_timer_stop(t));
	r0 = gt_now();
	CHECK(!gt_timer_reset(t, 20 * MS));
	REQUIRE(recv_within(c.ran, &at, LATE) == 0);
	CHECK_RANGE(at, r0 + 20 * MS, gt_now());
	CHECK(stays_quiet(c.ran));
	CHECK_EQ(atomic_load(&c.runs), 3);
	gt_timer_free(t);
	cb_destroy(&c);
}

/* While the callback runs: Stop returns false without waiting for it, and
 * Reset schedules another run. */
TEST(afterfunc_stop_and_reset_while_running)
{
	struct cb c;
	gt_timer *t;

	REQUIRE(cb_init(&c, true, true));
	t = gt_after_func(0, cb_fn, &c);
	REQUIRE(t != NULL);
	REQUIRE(recv_within(c.started, NULL, LATE) == 0);
	CHECK(!gt_timer_stop(t));
	CHECK(!gt_timer_reset(t, 10 * MS));
	CHECK_EQ(gt_chan_len(c.ran), 0); /* still held in the first run */
	CHECK_EQ(gt_chan_send(c.block, 1), 0);
	CHECK_EQ(gt_chan_send(c.block, 1), 0);
	CHECK_EQ(recv_within(c.ran, NULL, LATE), 0);
	CHECK_EQ(recv_within(c.ran, NULL, LATE), 0);
	CHECK(stays_quiet(c.ran));
	CHECK_EQ(atomic_load(&c.runs), 2);
	gt_timer_free(t);
	cb_destroy(&c);
}

/*
 * "Never on the runtime's timer thread, so a slow callback delays no other
 * timer." The thread is pinned while it creates both timers so that they
 * share one shard, and so one timer thread; the callback then holds its
 * run while the channel timer must still fire, and a second callback must
 * still run.
 */
TEST(afterfunc_slow_callback_delays_nothing)
{
	struct cb slow, quick;
	gt_timer *ts, *tq, *t;
	int64_t t0, v = 0;
	cpu_set_t saved;

	REQUIRE(cb_init(&slow, true, true));
	REQUIRE(cb_init(&quick, false, false));
	REQUIRE(pin_here(&saved) == 0);
	t0 = gt_now();
	ts = gt_after_func(0, cb_fn, &slow);
	tq = gt_after_func(40 * MS, cb_fn, &quick);
	t = gt_timer_new(60 * MS);
	unpin(&saved);
	REQUIRE(ts && tq && t);
	REQUIRE(recv_within(slow.started, NULL, LATE) == 0);
	CHECK_EQ(recv_within(gt_timer_chan(t), &v, LATE), 0);
	CHECK_RANGE(v, t0 + 60 * MS, gt_now());
	CHECK_EQ(recv_within(quick.ran, &v, LATE), 0);
	CHECK_RANGE(v, t0 + 40 * MS, gt_now());
	CHECK_EQ(gt_chan_len(slow.ran), 0); /* the slow run is still going */
	CHECK_EQ(gt_chan_send(slow.block, 1), 0);
	CHECK_EQ(recv_within(slow.ran, NULL, LATE), 0);
	gt_timer_free(ts);
	gt_timer_free(tq);
	gt_timer_free(t);
	cb_destroy(&slow);
	cb_destroy(&quick);
}

/* A callback may call the runtime: Reset its own timer (Go's periodic
 * AfterFunc pattern), or free it. Reset from the run finds it inactive. */
TEST(afterfunc_resets_itself)
{
	struct cb c;
	gt_timer *t;

	REQUIRE(cb_init(&c, false, false));
	c.reset_until = 5;
	t = gt_after_func(20 * MS, cb_fn, &c);
	REQUIRE(t != NULL);
	atomic_store(&c.self, t);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(recv_within(c.ran, NULL, LATE), 0);
	CHECK(stays_quiet(c.ran));
	CHECK_EQ(atomic_load(&c.runs), 5);
	CHECK_EQ(atomic_load(&c.reset_true), 0);
	gt_timer_free(t);
	cb_destroy(&c);
}

TEST(afterfunc_frees_itself)
{
	uint64_t base = live_objects();
	struct cb c;
	gt_timer *t;

	REQUIRE(cb_init(&c, false, false));
	c.free_self = true;
	t = gt_after_func(20 * MS, cb_fn, &c);
	REQUIRE(t != NULL);
	atomic_store(&c.self, t);
	CHECK_EQ(recv_within(c.ran, NULL, LATE), 0);
	CHECK(WAIT_UNTIL(live_objects() == base, LATE));
	cb_destroy(&c);
}

/* ---------------------------------------------------------------------------
 * Freeing.
 */

static bool try_free_active(void)
{
	gt_stats s0 = stats_now();
	int64_t t0 = gt_now();
	struct cb *c = cb_slot();
	gt_timer *t, *f;

	if (!cb_init(c, false, false))
		return false;
	t = gt_timer_new(30 * MS);
	f = gt_after_func(30 * MS, cb_fn, c);
	if (!t || !f)
		return false;
	gt_timer_free(t);
	gt_timer_free(f);
	if (!still_before(t0, 30 * MS))
		return false; /* c stays: a run may still come */
	CHECK_EQ(pending_timers(), s0.pending);
	CHECK(stays_quiet(c->ran));
	CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
	CHECK_EQ(live_bytes(), s0.live_bytes);
	cb_destroy(c);
	return true;
}

TEST(timer_free_active_never_fires)
{
	TRY_ON_TIME(try_free_active());
	gt_timer_free(NULL);
}

/*
 * "A second free is detected while the runtime still holds the timer
 * (errno EINVAL)." A running callback holds its timer, so the memory is
 * still there for the second free to look at; the run then ends normally
 * and the object goes.
 */
TEST(timer_double_free_detected)
{
	uint64_t base = live_objects();
	struct cb c;
	gt_timer *t;

	REQUIRE(cb_init(&c, true, true));
	t = gt_after_func(0, cb_fn, &c);
	REQUIRE(t != NULL);
	REQUIRE(recv_within(c.started, NULL, LATE) == 0);
	gt_timer_free(t);
	errno = 0;
	gt_timer_free(t);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(live_objects(), base + 1);
	CHECK_EQ(gt_chan_send(c.block, 1), 0);
	CHECK_EQ(recv_within(c.ran, NULL, LATE), 0);
	CHECK(WAIT_UNTIL(live_objects() == base, LATE));
	cb_destroy(&c);
}

/*
 * Go runs each AfterFunc callback on a goroutine of its own: runs that
 * block must not keep the others from starting ("a slow callback delays
 * no other timer"). These timers all expire together, and each run waits
 * for a value that is sent only once every run has started. There are
 * more of them than the two threads per CPU the pool starts freely, so
 * the rest start only as the pool notices runs waiting (docs/runtime.md);
 * it must grow by what they need, not by a thread each of its 256.
 */
TEST(afterfunc_many_slow_callbacks_all_start)
{
	static struct cb c; /* runs that never started may come after a failure */
	int n = 2 * (int)stats_now().shards + 8, started = 0;
	gt_timer **t = calloc((size_t)n, sizeof(*t));

	REQUIRE(t && cb_init(&c, true, true));
	for (int i = 0; i < n; i++) {
		t[i] = gt_after_func(5 * MS, cb_fn, &c);
		REQUIRE(t[i] != NULL);
	}
	while (started < n && recv_within(c.started, NULL, LATE) == 0)
		started++;
	CHECK_EQ(started, n);
	CHECK_RANGE(stats_now().callback_threads, n, 2 * n);
	for (int i = 0; i < n; i++)
		CHECK_EQ(gt_chan_send(c.block, 1), 0);
	for (int i = 0; i < started; i++)
		CHECK_EQ(recv_within(c.ran, NULL, LATE), 0);
	CHECK_EQ(atomic_load(&c.runs), n);
	for (int i = 0; i < n; i++)
		gt_timer_free(t[i]);
	free(t);
	if (started < n)
		return; /* runs still blocked use c */
	cb_destroy(&c);
}

TEST_MAIN()
