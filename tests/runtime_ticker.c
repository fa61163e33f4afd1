/*
 * runtime_ticker.c - tickers: period, dropped ticks, Stop and Reset per
 * mode (gotimer.h, "Tickers").
 *
 * Tick k of a ticker started (or reset) at t0 with period P is due at
 * t0 + k*P or later, and its value is the time it fired: that is the exact
 * lower bound every case checks. Upper bounds are LATE.
 */
#include "gt_test_util.h"
#include "tl_test.h"

#include <errno.h>

/* Wait until a tick sits unreceived in the channel of tk. */
static bool tick_waiting(gt_ticker *tk)
{
	return WAIT_UNTIL(gt_ticker_has_value(tk), LATE);
}

TEST(ticker_invalid_period)
{
	const gt_duration bad[] = {0, -1, -GT_SECOND, INT64_MIN};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CHECK(gt_ticker_new(bad[i]) == NULL);
		CHECK_EQ(errno, EINVAL);
	}
}

TEST(ticker_ticks_every_period)
{
	const gt_duration p = 20 * MS;
	int64_t t0 = gt_now(), prev = 0, v = 0;
	gt_ticker *tk = gt_ticker_new(p);

	REQUIRE(tk != NULL);
	for (int k = 1; k <= 5; k++) {
		REQUIRE(recv_within(gt_ticker_chan(tk), &v, LATE) == 0);
		CHECK_RANGE(v, t0 + k * p, gt_now());
		CHECK(v > prev);
		prev = v;
	}
	gt_ticker_free(tk);
}

/*
 * A reader that does not keep up misses ticks: the channel holds one tick
 * (the oldest not received) and later ones are dropped, not queued.
 */
TEST(ticker_drops_ticks_for_slow_reader)
{
	const gt_duration p = 10 * MS;
	gt_stats s0 = stats_now();
	int64_t t0 = gt_now(), seen, v1 = 0, v2 = 0;
	gt_ticker *tk = gt_ticker_new(p);
	gt_chan *c;

	REQUIRE(tk != NULL);
	c = gt_ticker_chan(tk);
	REQUIRE(WAIT_UNTIL(stats_now().dropped_sends >= s0.dropped_sends + 3, 5 * LATE));
	seen = gt_now();
	CHECK(gt_ticker_has_value(tk));
	CHECK_EQ(gt_chan_len(c), sync_mode() ? 0 : 1);
	CHECK(gt_chan_try_recv(c, &v1));
	/* The first tick waited while three later ones were dropped. */
	CHECK_RANGE(v1, t0 + p, seen);
	REQUIRE(recv_within(c, &v2, LATE) == 0);
	CHECK_RANGE(v2, t0 + 5 * p, gt_now());
	CHECK(stats_now().fired >= s0.fired + 5);
	gt_ticker_free(tk);
}

TEST(ticker_stop_ends_ticks)
{
	gt_ticker *tk = gt_ticker_new(10 * MS);
	gt_chan *c;

	REQUIRE(tk != NULL);
	c = gt_ticker_chan(tk);
	REQUIRE(recv_within(c, NULL, LATE) == 0);
	gt_ticker_stop(tk);
	/* A tick may have come between the receive and the Stop; only async
	 * mode keeps it. */
	if (sync_mode())
		CHECK(!gt_ticker_has_value(tk));
	else
		gt_chan_try_recv(c, NULL);
	CHECK(stays_quiet(c));
	gt_ticker_stop(tk);
	gt_ticker_free(tk);
}

TEST(ticker_stop_discards_tick_in_sync_only)
{
	int64_t t0 = gt_now(), v = 0;
	gt_ticker *tk = gt_ticker_new(5 * MS);
	gt_chan *c;

	REQUIRE(tk != NULL);
	c = gt_ticker_chan(tk);
	REQUIRE(tick_waiting(tk));
	gt_ticker_stop(tk);
	if (sync_mode()) {
		CHECK(!gt_ticker_has_value(tk));
		CHECK(!gt_chan_try_recv(c, &v));
	} else {
		CHECK(gt_ticker_has_value(tk));
		CHECK(gt_chan_try_recv(c, &v));
		CHECK_RANGE(v, t0 + 5 * MS, gt_now());
	}
	CHECK(stays_quiet(c));
	gt_ticker_free(tk);
}

TEST(ticker_reset_changes_period)
{
	const gt_duration p = 20 * MS;
	gt_ticker *tk = gt_ticker_new(GT_HOUR);
	int64_t r0, v = 0;

	REQUIRE(tk != NULL);
	r0 = gt_now();
	gt_ticker_reset(tk, p);
	for (int k = 1; k <= 3; k++) {
		REQUIRE(recv_within(gt_ticker_chan(tk), &v, LATE) == 0);
		CHECK_RANGE(v, r0 + k * p, gt_now());
	}
	/* And back to a long period: no tick for a while. */
	gt_ticker_reset(tk, GT_HOUR);
	gt_chan_try_recv(gt_ticker_chan(tk), NULL); /* async may hold one */
	CHECK(stays_quiet(gt_ticker_chan(tk)));
	gt_ticker_free(tk);
}

/* Reset with a tick waiting: a stale tick in async mode, none in sync. */
TEST(ticker_reset_with_tick_waiting)
{
	int64_t t0 = gt_now(), r0, v = 0;
	gt_ticker *tk = gt_ticker_new(5 * MS);
	gt_chan *c;

	REQUIRE(tk != NULL);
	c = gt_ticker_chan(tk);
	REQUIRE(tick_waiting(tk));
	r0 = gt_now();
	gt_ticker_reset(tk, 40 * MS);
	if (sync_mode()) {
		bool got = gt_chan_try_recv(c, &v);

		if (still_before(r0, 40 * MS))
			CHECK(!got);
	} else {
		CHECK(gt_chan_try_recv(c, &v));
		CHECK_RANGE(v, t0 + 5 * MS, r0);
	}
	REQUIRE(recv_within(c, &v, LATE) == 0);
	CHECK_RANGE(v, r0 + 40 * MS, gt_now());
	gt_ticker_free(tk);
}

TEST(ticker_reset_after_stop_restarts)
{
	gt_ticker *tk = gt_ticker_new(GT_HOUR);
	int64_t r0, v = 0;

	REQUIRE(tk != NULL);
	gt_ticker_stop(tk);
	r0 = gt_now();
	gt_ticker_reset(tk, 20 * MS);
	for (int k = 1; k <= 2; k++) {
		REQUIRE(recv_within(gt_ticker_chan(tk), &v, LATE) == 0);
		CHECK_RANGE(v, r0 + k * 20 * MS, gt_now());
	}
	gt_ticker_free(tk);
}

/* "period <= 0 is refused (errno EINVAL; the ticker is unchanged)": it
 * neither stops nor restarts, so its next tick stays on the old schedule. */
TEST(ticker_reset_invalid_period)
{
	int64_t t0 = gt_now(), v = 0;
	gt_ticker *tk = gt_ticker_new(40 * MS);
	uint64_t pending;

	REQUIRE(tk != NULL);
	pending = pending_timers();
	errno = 0;
	gt_ticker_reset(tk, 0);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	gt_ticker_reset(tk, -GT_SECOND);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(pending_timers(), pending);
	REQUIRE(recv_within(gt_ticker_chan(tk), &v, LATE) == 0);
	CHECK_RANGE(v, t0 + 40 * MS, gt_now());
	REQUIRE(recv_within(gt_ticker_chan(tk), &v, LATE) == 0);
	CHECK_RANGE(v, t0 + 80 * MS, gt_now());
	gt_ticker_free(tk);
}

TEST(ticker_huge_period_does_not_overflow)
{
	gt_ticker *tk = gt_ticker_new(INT64_MAX);

	REQUIRE(tk != NULL);
	CHECK(stays_quiet(gt_ticker_chan(tk)));
	gt_ticker_reset(tk, INT64_MAX - 1);
	CHECK(stays_quiet(gt_ticker_chan(tk)));
	gt_ticker_free(tk);
}

TEST(ticker_free_reclaims)
{
	gt_stats s0 = stats_now();
	gt_ticker *tk = gt_ticker_new(5 * MS);

	REQUIRE(tk != NULL);
	CHECK_EQ(pending_timers(), s0.pending + 1);
	CHECK_EQ(live_objects(), s0.live_objects + 1);
	REQUIRE(recv_within(gt_ticker_chan(tk), NULL, LATE) == 0);
	REQUIRE(tick_waiting(tk));
	gt_ticker_free(tk);
	CHECK_EQ(pending_timers(), s0.pending);
	CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
	CHECK_EQ(live_bytes(), s0.live_bytes);
}

TEST(ticker_has_value)
{
	gt_ticker *tk = gt_ticker_new(GT_HOUR);

	REQUIRE(tk != NULL);
	CHECK(!gt_ticker_has_value(tk));
	gt_ticker_reset(tk, 10 * MS);
	REQUIRE(tick_waiting(tk));
	gt_ticker_stop(tk);
	gt_chan_try_recv(gt_ticker_chan(tk), NULL);
	CHECK(!gt_ticker_has_value(tk));
	gt_ticker_free(tk);
}

TEST(ticker_null_handling)
{
	CHECK(gt_ticker_chan(NULL) == NULL);
	CHECK(!gt_ticker_has_value(NULL));
	errno = 0;
	gt_ticker_stop(NULL);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	gt_ticker_reset(NULL, MS);
	CHECK_EQ(errno, EINVAL);
	gt_ticker_free(NULL);
}

TEST_MAIN()
