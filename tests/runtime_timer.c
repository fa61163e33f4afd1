/*
 * runtime_timer.c - one-shot timers and after: when they fire, what Stop
 * and Reset return, and what each mode leaves in the channel (gotimer.h,
 * "Timers"; docs/runtime.md, "Channel modes"). Callback timers are in
 * runtime_afterfunc.c.
 *
 * Every case runs in both modes. Where Go 1.22 and Go 1.23 differ, the case
 * branches on gt_mode() and checks that mode's documented answer, so both
 * runs test something.
 */
#include "gt_test_util.h"
#include "tl_test.h"

#include <errno.h>

/* Wait until t has fired and its value sits unreceived in its channel. */
static bool fired_unreceived(gt_timer *t)
{
	return WAIT_UNTIL(gt_timer_has_value(t), LATE);
}

/* ---------------------------------------------------------------------------
 * When a timer fires.
 */

static void check_fires_after(gt_duration d)
{
	int64_t t0 = gt_now(), v = 0;
	gt_timer *t = gt_timer_new(d);

	REQUIRE(t != NULL);
	REQUIRE(recv_within(gt_timer_chan(t), &v, LATE + d) == 0);
	/* The value is the fire time: never before the deadline. */
	CHECK_RANGE(v, t0 + d, gt_now());
	CHECK(!gt_timer_has_value(t));
	gt_timer_free(t);
}

TEST(timer_fires_after_duration)
{
	check_fires_after(1 * MS);
	check_fires_after(20 * MS);
	check_fires_after(50 * MS);
}

TEST(after_fires_after_duration)
{
	int64_t t0 = gt_now(), v = 0;
	gt_chan *c = gt_after(30 * MS);

	REQUIRE(c != NULL);
	REQUIRE(recv_within(c, &v, LATE) == 0);
	CHECK_RANGE(v, t0 + 30 * MS, gt_now());
	/* One-shot: nothing more arrives. */
	CHECK(stays_quiet(c));
	gt_chan_release(c);
}

TEST(zero_and_negative_durations_fire_at_once)
{
	const gt_duration ds[] = {0, -1, -GT_SECOND, INT64_MIN};

	for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		int64_t t0 = gt_now(), v = 0;
		gt_timer *t = gt_timer_new(ds[i]);
		gt_chan *a = gt_after(ds[i]);

		REQUIRE(t && a);
		CHECK_EQ(recv_within(gt_timer_chan(t), &v, LATE), 0);
		CHECK_RANGE(v, t0, gt_now());
		CHECK_EQ(recv_within(a, &v, LATE), 0);
		CHECK_RANGE(v, t0, gt_now());
		gt_timer_free(t);
		gt_chan_release(a);
	}
}

/* A deadline past the end of time saturates instead of wrapping into the
 * past. */
TEST(huge_duration_does_not_overflow)
{
	gt_timer *t = gt_timer_new(INT64_MAX);
	gt_chan *a = gt_after(INT64_MAX - 1);

	REQUIRE(t && a);
	CHECK(stays_quiet(gt_timer_chan(t)));
	CHECK(stays_quiet(a));
	CHECK(gt_timer_stop(t));
	CHECK(gt_timer_reset(t, INT64_MAX) == false);
	CHECK(stays_quiet(gt_timer_chan(t)));
	gt_timer_free(t);
	gt_chan_release(a);
}

/* ---------------------------------------------------------------------------
 * Stop.
 */

static bool try_stop_active(void)
{
	int64_t t0 = gt_now();
	gt_timer *t = gt_timer_new(30 * MS);
	bool stopped;

	if (!t)
		return false;
	stopped = gt_timer_stop(t);
	if (!still_before(t0, 30 * MS)) {
		gt_timer_free(t);
		return false;
	}
	CHECK(stopped);
	CHECK(!gt_timer_stop(t));
	/* Stopped before its deadline: it never fires. */
	CHECK(stays_quiet(gt_timer_chan(t)));
	CHECK(!gt_timer_has_value(t));
	CHECK(!gt_timer_stop(t));
	gt_timer_free(t);
	return true;
}

TEST(timer_stop_active)
{
	TRY_ON_TIME(try_stop_active());
}

TEST(timer_stop_after_receive)
{
	gt_timer *t = gt_timer_new(5 * MS);

	REQUIRE(t != NULL);
	CHECK_EQ(recv_within(gt_timer_chan(t), NULL, LATE), 0);
	CHECK(!gt_timer_stop(t));
	CHECK(!gt_timer_stop(t));
	gt_timer_free(t);
}

/* Go 1.22 leaves the value; Go 1.23 discards it and reports a stop. */
TEST(timer_stop_fired_unreceived)
{
	int64_t t0 = gt_now(), v = 0;
	gt_timer *t = gt_timer_new(5 * MS);

	REQUIRE(t != NULL);
	REQUIRE(fired_unreceived(t));
	if (sync_mode()) {
		CHECK(gt_timer_stop(t));
		CHECK(!gt_timer_has_value(t));
		CHECK(!gt_chan_try_recv(gt_timer_chan(t), &v));
		CHECK(stays_quiet(gt_timer_chan(t)));
	} else {
		CHECK(!gt_timer_stop(t));
		CHECK(gt_timer_has_value(t));
		CHECK(gt_chan_try_recv(gt_timer_chan(t), &v));
		CHECK_RANGE(v, t0 + 5 * MS, gt_now());
	}
	CHECK(!gt_timer_stop(t));
	gt_timer_free(t);
}

/* ---------------------------------------------------------------------------
 * Reset.
 */

TEST(timer_reset_active)
{
	gt_timer *t = gt_timer_new(GT_HOUR);
	int64_t r0, v = 0;

	REQUIRE(t != NULL);
	r0 = gt_now();
	CHECK(gt_timer_reset(t, 30 * MS));
	REQUIRE(recv_within(gt_timer_chan(t), &v, LATE) == 0);
	CHECK_RANGE(v, r0 + 30 * MS, gt_now());
	gt_timer_free(t);
}

/* A Reset moves the deadline later too: the first deadline is forgotten. */
static bool try_reset_postpones(void)
{
	int64_t t0 = gt_now(), r0, v = 0;
	gt_timer *t = gt_timer_new(40 * MS);
	bool active;

	if (!t)
		return false;
	r0 = gt_now();
	active = gt_timer_reset(t, 150 * MS);
	if (!still_before(t0, 40 * MS)) {
		gt_timer_free(t);
		return false;
	}
	CHECK(active);
	CHECK_EQ(recv_within(gt_timer_chan(t), &v, LATE), 0);
	CHECK_RANGE(v, r0 + 150 * MS, gt_now());
	CHECK(stays_quiet(gt_timer_chan(t)));
	gt_timer_free(t);
	return true;
}

TEST(timer_reset_postpones)
{
	TRY_ON_TIME(try_reset_postpones());
}

TEST(timer_reset_stopped_and_received)
{
	gt_timer *t = gt_timer_new(GT_HOUR);
	int64_t r0, v = 0;

	REQUIRE(t != NULL);
	CHECK(gt_timer_stop(t));
	/* Stopped: not active, but Reset schedules it again. */
	r0 = gt_now();
	CHECK(!gt_timer_reset(t, 20 * MS));
	REQUIRE(recv_within(gt_timer_chan(t), &v, LATE) == 0);
	CHECK_RANGE(v, r0 + 20 * MS, gt_now());
	/* Fired and received: not active either. */
	r0 = gt_now();
	CHECK(!gt_timer_reset(t, 20 * MS));
	REQUIRE(recv_within(gt_timer_chan(t), &v, LATE) == 0);
	CHECK_RANGE(v, r0 + 20 * MS, gt_now());
	gt_timer_free(t);
}

TEST(timer_reset_to_now_fires_at_once)
{
	gt_timer *t = gt_timer_new(GT_HOUR);
	int64_t r0, v = 0;

	REQUIRE(t != NULL);
	r0 = gt_now();
	CHECK(gt_timer_reset(t, -5 * MS));
	REQUIRE(recv_within(gt_timer_chan(t), &v, LATE) == 0);
	CHECK_RANGE(v, r0, gt_now());
	gt_timer_free(t);
}

/*
 * The seed experiment: a timer fired, nobody received, then Reset(d). Go
 * 1.22 delivers the old value at once ("stale value") and the new one
 * after d; Go 1.23 delivers only the new one. The receive right after the
 * Reset must come before the new deadline: in async mode a new value that
 * finds the stale one still there is dropped.
 */
static bool try_reset_fired_unreceived(void)
{
	int64_t t0 = gt_now(), r0, v = 0, first = 0;
	gt_timer *t = gt_timer_new(5 * MS);
	bool active, got;
	gt_chan *c;

	if (!t || !fired_unreceived(t))
		return false;
	c = gt_timer_chan(t);
	r0 = gt_now();
	active = gt_timer_reset(t, 40 * MS);
	got = gt_chan_try_recv(c, &first);
	if (!still_before(r0, 40 * MS)) {
		gt_timer_free(t);
		return false;
	}
	if (sync_mode()) {
		CHECK(active);
		CHECK(!got);
	} else {
		CHECK(!active);
		CHECK(got);
		CHECK_RANGE(first, t0 + 5 * MS, r0); /* stale: fired before the Reset */
	}
	CHECK_EQ(recv_within(c, &v, LATE), 0);
	CHECK_RANGE(v, r0 + 40 * MS, gt_now());
	CHECK(stays_quiet(c));
	gt_timer_free(t);
	return true;
}

TEST(timer_reset_fired_unreceived)
{
	TRY_ON_TIME(try_reset_fired_unreceived());
}

/*
 * Go's documented idiom before 1.23, correct in both modes: after it, the
 * next value is the new one. Tried with the timer fired and unreceived,
 * active, and stopped.
 */
static void stop_drain_reset(gt_timer *t, gt_duration d)
{
	if (!gt_timer_stop(t))
		gt_chan_try_recv(gt_timer_chan(t), NULL);
	gt_timer_reset(t, d);
}

TEST(timer_stop_drain_reset_idiom)
{
	gt_timer *t = gt_timer_new(2 * MS);
	int64_t r0, v = 0;

	REQUIRE(t != NULL);
	for (int i = 0; i < 10; i++) {
		REQUIRE(fired_unreceived(t));
		r0 = gt_now();
		stop_drain_reset(t, 10 * MS);
		REQUIRE(recv_within(gt_timer_chan(t), &v, LATE) == 0);
		CHECK_RANGE(v, r0 + 10 * MS, gt_now());
		stop_drain_reset(t, 2 * MS);
	}
	/* Active, then stopped. */
	r0 = gt_now();
	stop_drain_reset(t, 20 * MS);
	REQUIRE(recv_within(gt_timer_chan(t), &v, LATE) == 0);
	CHECK_RANGE(v, r0 + 20 * MS, gt_now());
	gt_timer_reset(t, GT_HOUR);
	gt_timer_stop(t);
	r0 = gt_now();
	stop_drain_reset(t, 20 * MS);
	REQUIRE(recv_within(gt_timer_chan(t), &v, LATE) == 0);
	CHECK_RANGE(v, r0 + 20 * MS, gt_now());
	gt_timer_free(t);
}

TEST(timer_has_value)
{
	gt_timer *t = gt_timer_new(5 * MS);

	REQUIRE(t != NULL);
	REQUIRE(fired_unreceived(t));
	CHECK(gt_chan_try_recv(gt_timer_chan(t), NULL));
	CHECK(!gt_timer_has_value(t));
	gt_timer_reset(t, GT_HOUR);
	CHECK(!gt_timer_has_value(t));
	CHECK(!gt_timer_has_value(NULL));
	gt_timer_free(t);
}

/* ---------------------------------------------------------------------------
 * after: what releasing the channel does, per mode.
 */

TEST(after_release_unfired_per_mode)
{
	gt_stats s0 = stats_now(), s1;
	gt_chan *c = gt_after(GT_HOUR);
	size_t size;

	REQUIRE(c != NULL);
	size = gt_object_size(c);
	CHECK_EQ(pending_timers(), s0.pending + 1);
	gt_chan_release(c);
	s1 = stats_now();
	if (sync_mode()) {
		/* Go 1.23: removed at once. */
		CHECK_EQ(s1.pending, s0.pending);
		CHECK_EQ(s1.pending_bytes, s0.pending_bytes);
		CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
		CHECK_EQ(live_bytes(), s0.live_bytes);
	} else {
		/* Go 1.22: it stays, holding its memory, until it fires. */
		CHECK_EQ(s1.pending, s0.pending + 1);
		CHECK_EQ(s1.pending_bytes, s0.pending_bytes + size);
		CHECK_EQ(s1.live_objects, s0.live_objects + 1);
		CHECK_EQ(s1.live_bytes, s0.live_bytes + size);
	}
}

TEST(after_release_async_reclaimed_when_it_fires)
{
	gt_stats s0 = stats_now();
	int64_t t0 = gt_now();
	gt_chan *c = gt_after(40 * MS);
	uint64_t held;

	REQUIRE(c != NULL);
	gt_chan_release(c);
	held = live_objects();
	if (!sync_mode() && still_before(t0, 40 * MS))
		CHECK_EQ(held, s0.live_objects + 1);
	CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
	if (!sync_mode())
		CHECK(gt_now() - t0 >= 40 * MS); /* not before it fired */
	CHECK_EQ(pending_timers(), s0.pending);
	CHECK_EQ(live_bytes(), s0.live_bytes);
}

TEST(after_release_after_receive_reclaims)
{
	gt_stats s0 = stats_now();
	gt_chan *c = gt_after(5 * MS);

	REQUIRE(c != NULL);
	CHECK_EQ(recv_within(c, NULL, LATE), 0);
	gt_chan_release(c);
	CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
	CHECK_EQ(live_bytes(), s0.live_bytes);
	CHECK_EQ(pending_timers(), s0.pending);
}

/* ---------------------------------------------------------------------------
 * Misuse.
 */

TEST(timer_null_handling)
{
	errno = 0;
	CHECK(!gt_timer_stop(NULL));
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(!gt_timer_reset(NULL, MS));
	CHECK_EQ(errno, EINVAL);
	CHECK(gt_timer_chan(NULL) == NULL);
	CHECK(!gt_timer_has_value(NULL));
	gt_timer_free(NULL);
	gt_chan_release(NULL);
}

#define CHECK_EINVAL(call)                                                                         \
	do {                                                                                       \
		errno = 0;                                                                         \
		call;                                                                              \
		CHECK_EQ(errno, EINVAL);                                                           \
	} while (0)

/* A handle of the wrong kind is refused and leaves its object alone. */
TEST(timer_wrong_handle_kind)
{
	gt_timer *t = gt_timer_new(GT_HOUR);
	gt_ticker *tk = gt_ticker_new(GT_HOUR);
	gt_chan *plain = gt_chan_new(1);
	gt_chan *after = gt_after(GT_HOUR);
	uint64_t pending;

	REQUIRE(t && tk && plain && after);
	pending = pending_timers();
	CHECK_EINVAL(CHECK(!gt_timer_stop((gt_timer *)tk)));
	CHECK_EINVAL(CHECK(!gt_timer_reset((gt_timer *)tk, MS)));
	CHECK_EINVAL(gt_timer_free((gt_timer *)tk));
	CHECK(gt_timer_chan((gt_timer *)tk) == NULL);
	CHECK(!gt_timer_has_value((gt_timer *)tk));
	CHECK_EINVAL(gt_ticker_stop((gt_ticker *)t));
	CHECK_EINVAL(gt_ticker_reset((gt_ticker *)t, MS));
	CHECK_EINVAL(gt_ticker_free((gt_ticker *)t));
	CHECK(gt_ticker_chan((gt_ticker *)t) == NULL);
	CHECK_EINVAL(CHECK(!gt_timer_stop((gt_timer *)plain)));
	CHECK_EINVAL(CHECK(!gt_timer_stop((gt_timer *)after)));
	CHECK_EINVAL(gt_timer_free((gt_timer *)after));
	CHECK_EQ(pending_timers(), pending);
	/* Nothing above touched them. */
	CHECK(gt_timer_stop(t));
	CHECK(stays_quiet(gt_ticker_chan(tk)));
	gt_timer_free(t);
	gt_ticker_free(tk);
	gt_chan_release(plain);
	gt_chan_release(after);
}

TEST_MAIN()
