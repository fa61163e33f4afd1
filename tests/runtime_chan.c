/*
 * runtime_chan.c - channels and select (gotimer.h, "Channels of int64
 * values" and gt_select()).
 *
 * Plain channels behave the same in both modes; timer channels differ only
 * in what len and cap report, which is checked here per mode. Tests that
 * need a second thread pass it a struct and always join it, so a failing
 * case never leaves a thread behind that touches freed memory.
 */
#include "gt_test_util.h"
#include "tl_test.h"

#include <errno.h>
#include <pthread.h>

/* ---------------------------------------------------------------------------
 * Creation, capacity, FIFO order.
 */

TEST(chan_new_capacity_limits)
{
	gt_chan *c;

	errno = 0;
	CHECK(gt_chan_new(GT_CHAN_MAX_CAP + 1) == NULL);
	CHECK_EQ(errno, EINVAL);
	/* A "negative" capacity, as the header warns. */
	errno = 0;
	CHECK(gt_chan_new((size_t)-1) == NULL);
	CHECK_EQ(errno, EINVAL);

	for (size_t cap = 0; cap <= 3; cap++) {
		c = gt_chan_new(cap);
		REQUIRE(c != NULL);
		CHECK_EQ(gt_chan_cap(c), cap);
		CHECK_EQ(gt_chan_len(c), 0);
		gt_chan_release(c);
	}
}

TEST(chan_buffered_fifo)
{
	gt_chan *c = gt_chan_new(4);
	int64_t v = -1;

	REQUIRE(c != NULL);
	CHECK(!gt_chan_try_recv(c, &v));
	for (int64_t i = 1; i <= 4; i++) {
		CHECK_EQ(gt_chan_send(c, i * 10), 0);
		CHECK_EQ(gt_chan_len(c), i);
	}
	CHECK_EQ(gt_chan_cap(c), 4);
	CHECK(gt_chan_recv(c, &v));
	CHECK_EQ(v, 10);
	CHECK(gt_chan_try_recv(c, &v));
	CHECK_EQ(v, 20);
	/* Wrap around the ring: two more in, then everything out in order. */
	CHECK_EQ(gt_chan_send(c, 50), 0);
	CHECK_EQ(gt_chan_send(c, 60), 0);
	for (int64_t want = 30; want <= 60; want += 10) {
		CHECK(gt_chan_recv(c, &v));
		CHECK_EQ(v, want);
	}
	CHECK_EQ(gt_chan_len(c), 0);
	CHECK(!gt_chan_try_recv(c, NULL));
	/* v may be NULL: the value is taken and dropped. */
	CHECK_EQ(gt_chan_send(c, 70), 0);
	CHECK(gt_chan_recv(c, NULL));
	CHECK_EQ(gt_chan_len(c), 0);
	gt_chan_release(c);
}

/* ---------------------------------------------------------------------------
 * Blocking sends. A helper thread sends one value and then reports on a
 * second channel that its send returned, with the send's result.
 */

struct sender {
	gt_chan *c; /* where to send */
	int64_t v;
	gt_chan *ready; /* told just before the send starts */
	gt_chan *done;	/* receives the send's result once it returns */
	bool idle;	/* run at the lowest priority (SCHED_IDLE) */
	pthread_t th;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct sched_param sp = {0};
	int r;

	if (s->idle)
		pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	gt_chan_send(s->ready, 1);
	r = gt_chan_send(s->c, s->v);
	gt_chan_send(s->done, r);
	return NULL;
}

static int sender_start(struct sender *s, gt_chan *c, int64_t v, bool idle)
{
	*s = (struct sender){.c = c, .v = v, .idle = idle};
	s->ready = gt_chan_new(1);
	s->done = gt_chan_new(1);
	if (!s->ready || !s->done || spawn(&s->th, sender_main, s) != 0)
		return -1;
	/* The send starts right after this; a short pause makes it likely to
	 * be waiting, and every check below holds whether it is or not. */
	if (recv_within(s->ready, NULL, LATE) != 0)
		return -1;
	gt_sleep(20 * MS);
	return 0;
}

/* @return 0, or -1 if the sender is stuck (its channels are then kept). */
static int sender_finish(struct sender *s)
{
	if (join_within(s->th, LATE) != 0)
		return -1;
	gt_chan_release(s->ready);
	gt_chan_release(s->done);
	return 0;
}

TEST(chan_buffered_send_waits_while_full)
{
	gt_chan *c = gt_chan_new(2);
	struct sender s;
	int64_t v, r;

	REQUIRE(c != NULL);
	CHECK_EQ(gt_chan_send(c, 1), 0);
	CHECK_EQ(gt_chan_send(c, 2), 0);
	REQUIRE(sender_start(&s, c, 3, false) == 0);
	/* The channel is full: the third send cannot finish. */
	CHECK(stays_quiet(s.done));
	CHECK_EQ(gt_chan_len(c), 2);
	CHECK(gt_chan_recv(c, &v));
	CHECK_EQ(v, 1);
	CHECK_EQ(recv_within(s.done, &r, LATE), 0);
	CHECK_EQ(r, 0);
	REQUIRE(sender_finish(&s) == 0);
	CHECK(gt_chan_recv(c, &v));
	CHECK_EQ(v, 2);
	CHECK(gt_chan_recv(c, &v));
	CHECK_EQ(v, 3);
	gt_chan_release(c);
}

TEST(chan_unbuffered_send_waits_for_receiver)
{
	gt_chan *c = gt_chan_new(0);
	struct sender s;
	int64_t v = 0, r;

	REQUIRE(c != NULL);
	CHECK_EQ(gt_chan_len(c), 0);
	CHECK_EQ(gt_chan_cap(c), 0);
	CHECK(!gt_chan_try_recv(c, &v));
	REQUIRE(sender_start(&s, c, 42, false) == 0);
	/* Nobody has received: the send must still be waiting. */
	CHECK(stays_quiet(s.done));
	CHECK_EQ(gt_chan_len(c), 0);
	CHECK(gt_chan_recv(c, &v));
	CHECK_EQ(v, 42);
	CHECK_EQ(recv_within(s.done, &r, LATE), 0);
	CHECK_EQ(r, 0);
	REQUIRE(sender_finish(&s) == 0);
	CHECK(!gt_chan_try_recv(c, &v));
	gt_chan_release(c);
}

/* A ping-pong over two unbuffered channels: every value arrives, in order,
 * and each send returns only after its value was taken. */
struct pingpong {
	gt_chan *ping, *pong;
	int n;
};

static void *pong_main(void *arg)
{
	struct pingpong *p = arg;
	int64_t v;

	while (gt_chan_recv(p->ping, &v))
		gt_chan_send(p->pong, v + 1);
	return NULL;
}

TEST(chan_unbuffered_pingpong)
{
	struct pingpong p = {gt_chan_new(0), gt_chan_new(0), 2000};
	pthread_t th;
	int bad = 0;

	REQUIRE(p.ping && p.pong);
	REQUIRE(spawn(&th, pong_main, &p) == 0);
	for (int64_t i = 0; i < p.n; i++) {
		int64_t v = -1;

		if (gt_chan_send(p.ping, i * 2) != 0 || !gt_chan_recv(p.pong, &v) || v != i * 2 + 1)
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(gt_chan_close(p.ping), 0);
	REQUIRE(join_within(th, LATE) == 0);
	gt_chan_release(p.ping);
	gt_chan_release(p.pong);
}

/* ---------------------------------------------------------------------------
 * close.
 */

TEST(chan_close_semantics)
{
	gt_chan *c = gt_chan_new(3);
	int64_t v;

	REQUIRE(c != NULL);
	CHECK_EQ(gt_chan_send(c, 7), 0);
	CHECK_EQ(gt_chan_send(c, 8), 0);
	CHECK_EQ(gt_chan_close(c), 0);
	CHECK_EQ(gt_chan_close(c), -EPIPE);
	CHECK_EQ(gt_chan_send(c, 9), -EPIPE);
	/* What was buffered before the close is still received. */
	CHECK_EQ(gt_chan_len(c), 2);
	CHECK(gt_chan_recv(c, &v));
	CHECK_EQ(v, 7);
	CHECK(gt_chan_try_recv(c, &v));
	CHECK_EQ(v, 8);
	/* Then false, with *v set to 0, at once and for ever. */
	v = 99;
	CHECK(!gt_chan_recv(c, &v));
	CHECK_EQ(v, 0);
	CHECK(!gt_chan_recv(c, NULL));
	CHECK(!gt_chan_try_recv(c, &v));
	CHECK_EQ(gt_chan_len(c), 0);
	CHECK_EQ(gt_chan_cap(c), 3);
	gt_chan_release(c);
}

struct receiver {
	gt_chan *c;
	gt_chan *ready; /* told just before the receive starts */
	bool ok;
	int64_t v;
	pthread_t th;
};

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;

	gt_chan_send(r->ready, 1);
	r->v = 99;
	r->ok = gt_chan_recv(r->c, &r->v);
	return NULL;
}

TEST(chan_close_wakes_waiting_receiver)
{
	struct receiver r = {.c = gt_chan_new(0), .ready = gt_chan_new(1)};

	REQUIRE(r.c && r.ready);
	REQUIRE(spawn(&r.th, receiver_main, &r) == 0);
	CHECK_EQ(recv_within(r.ready, NULL, LATE), 0);
	gt_sleep(20 * MS); /* likely waiting by now; the outcome is the same if not */
	CHECK_EQ(gt_chan_close(r.c), 0);
	REQUIRE(join_within(r.th, LATE) == 0);
	CHECK(!r.ok);
	CHECK_EQ(r.v, 0);
	gt_chan_release(r.c);
	gt_chan_release(r.ready);
}

TEST(chan_close_fails_waiting_buffered_send)
{
	gt_chan *c = gt_chan_new(1);
	struct sender s;
	int64_t v, r = 0;

	REQUIRE(c != NULL);
	CHECK_EQ(gt_chan_send(c, 1), 0);
	REQUIRE(sender_start(&s, c, 2, false) == 0);
	CHECK_EQ(gt_chan_close(c), 0);
	CHECK_EQ(recv_within(s.done, &r, LATE), 0);
	CHECK_EQ(r, -EPIPE);
	REQUIRE(sender_finish(&s) == 0);
	/* The value sent before the close arrives; the refused one does not. */
	CHECK(gt_chan_recv(c, &v));
	CHECK_EQ(v, 1);
	CHECK(!gt_chan_recv(c, &v));
	gt_chan_release(c);
}

/*
 * "-EPIPE if the channel is closed (also when it is closed while the send
 * waits, and then the value is not delivered)". The receive right after
 * the close must not find the waiting sender's value, and the sender must
 * get -EPIPE: a value is either delivered before the close (send returns
 * 0) or refused. The receive races with the sender waking up; to give it
 * the head start a slow sender would give, the sender shares this
 * thread's CPU at idle priority. A correct runtime passes either way.
 */
static int close_during_unbuffered_send(void)
{
	gt_chan *c = gt_chan_new(0);
	struct sender s;
	int64_t v = -1, r = 0;
	cpu_set_t saved;
	bool got = false, pinned = pin_here(&saved) == 0;
	int started = c ? sender_start(&s, c, 5, pinned) : -1, closed = -1;

	if (started == 0) {
		closed = gt_chan_close(c);
		got = gt_chan_try_recv(c, &v);
	}
	if (pinned)
		unpin(&saved);
	/* Idle priority still gets a share of a busy CPU: the sender ends. */
	if (started != 0 || recv_within(s.done, &r, LATE) != 0 || sender_finish(&s) != 0)
		return 1;
	if (closed != 0 || got || r != -EPIPE) {
		fprintf(stderr,
			"close during send: received=%d value=%" PRId64 " send=%" PRId64 "\n", got,
			v, r);
		return 1;
	}
	if (gt_chan_recv(c, &v))
		return 1;
	gt_chan_release(c);
	return 0;
}

TEST(chan_close_fails_waiting_unbuffered_send)
{
	int bad = 0;

	for (int i = 0; i < 5; i++)
		bad += close_during_unbuffered_send() != 0;
	CHECK_EQ(bad, 0);
}

/* ---------------------------------------------------------------------------
 * Misuse and NULL.
 */

TEST(chan_null_handling)
{
	int64_t v = 5;

	CHECK_EQ(gt_chan_send(NULL, 1), -EINVAL);
	errno = 0;
	CHECK(!gt_chan_recv(NULL, &v));
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(v, 0);
	CHECK(!gt_chan_recv(NULL, NULL));
	CHECK(!gt_chan_try_recv(NULL, &v));
	CHECK(!gt_chan_try_recv(NULL, NULL));
	CHECK_EQ(gt_chan_close(NULL), -EINVAL);
	CHECK_EQ(gt_chan_len(NULL), 0);
	CHECK_EQ(gt_chan_cap(NULL), 0);
	gt_chan_release(NULL);
}

TEST(chan_timer_channels_refuse_send_close_release)
{
	gt_timer *t = gt_timer_new(20 * MS);
	gt_ticker *tk = gt_ticker_new(GT_HOUR);
	gt_chan *after = gt_after(GT_HOUR);
	gt_chan *tc, *kc;
	int64_t v;

	REQUIRE(t && tk && after);
	tc = gt_timer_chan(t);
	kc = gt_ticker_chan(tk);
	REQUIRE(tc && kc);
	CHECK_EQ(gt_chan_send(tc, 1), -EINVAL);
	CHECK_EQ(gt_chan_send(kc, 1), -EINVAL);
	CHECK_EQ(gt_chan_send(after, 1), -EINVAL);
	CHECK_EQ(gt_chan_close(tc), -EINVAL);
	CHECK_EQ(gt_chan_close(kc), -EINVAL);
	CHECK_EQ(gt_chan_close(after), -EINVAL);
	/* A borrowed channel is not released, and keeps working. */
	errno = 0;
	gt_chan_release(tc);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	gt_chan_release(kc);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(recv_within(tc, &v, LATE), 0);
	CHECK(gt_timer_chan(t) == tc);
	gt_timer_free(t);
	gt_ticker_free(tk);
	gt_chan_release(after);
}

/* Wait until t has fired (its value sits in the channel). */
static bool timer_fired(gt_timer *t)
{
	return WAIT_UNTIL(gt_timer_has_value(t), LATE);
}

TEST(chan_timer_len_cap_per_mode)
{
	gt_timer *t = gt_timer_new(GT_HOUR);
	gt_chan *c;

	REQUIRE(t != NULL);
	c = gt_timer_chan(t);
	REQUIRE(c != NULL);
	CHECK_EQ(gt_chan_len(c), 0);
	gt_timer_reset(t, 10 * MS);
	REQUIRE(timer_fired(t));
	if (sync_mode()) {
		/* Go 1.23: timer channels look unbuffered. */
		CHECK_EQ(gt_chan_len(c), 0);
		CHECK_EQ(gt_chan_cap(c), 0);
	} else {
		CHECK_EQ(gt_chan_len(c), 1);
		CHECK_EQ(gt_chan_cap(c), 1);
	}
	CHECK(gt_chan_try_recv(c, NULL));
	CHECK_EQ(gt_chan_len(c), 0);
	CHECK_EQ(gt_chan_cap(c), sync_mode() ? 0 : 1);
	gt_timer_free(t);
}

TEST(chan_after_and_ticker_len_cap_per_mode)
{
	gt_chan *after = gt_after(GT_HOUR);
	gt_ticker *tk = gt_ticker_new(GT_HOUR);
	size_t want = sync_mode() ? 0 : 1;

	REQUIRE(after && tk);
	CHECK_EQ(gt_chan_cap(after), want);
	CHECK_EQ(gt_chan_cap(gt_ticker_chan(tk)), want);
	CHECK_EQ(gt_chan_len(after), 0);
	CHECK_EQ(gt_chan_len(gt_ticker_chan(tk)), 0);
	gt_chan_release(after);
	gt_ticker_free(tk);
}

/* ---------------------------------------------------------------------------
 * select.
 */

TEST(select_takes_the_ready_channel)
{
	gt_chan *c[3] = {gt_chan_new(1), gt_chan_new(1), gt_chan_new(1)};
	int64_t v = 0;
	bool ok = false;

	REQUIRE(c[0] && c[1] && c[2]);
	CHECK_EQ(gt_chan_send(c[1], 11), 0);
	CHECK_EQ(gt_select(c, 3, &v, &ok, -1), 1);
	CHECK_EQ(v, 11);
	CHECK(ok);
	CHECK_EQ(gt_chan_len(c[1]), 0);
	/* v and ok may be NULL. */
	CHECK_EQ(gt_chan_send(c[2], 12), 0);
	CHECK_EQ(gt_select(c, 3, NULL, NULL, 0), 2);
	CHECK_EQ(gt_chan_len(c[2]), 0);
	for (int i = 0; i < 3; i++)
		gt_chan_release(c[i]);
}

TEST(select_picks_at_random_among_ready)
{
	gt_chan *c[2] = {gt_chan_new(1), gt_chan_new(1)};
	int hits[2] = {0, 0};
	const int rounds = 400;

	REQUIRE(c[0] && c[1]);
	CHECK_EQ(gt_chan_send(c[0], 0), 0);
	CHECK_EQ(gt_chan_send(c[1], 1), 0);
	for (int i = 0; i < rounds; i++) {
		int64_t v = -1;
		int r = gt_select(c, 2, &v, NULL, 0);

		REQUIRE(r == 0 || r == 1);
		CHECK_EQ(v, r);
		hits[r]++;
		CHECK_EQ(gt_chan_send(c[r], r), 0); /* both ready again */
	}
	/* A fair coin falls below 25% of 400 with probability about 1e-25. */
	CHECK_RANGE(hits[0], rounds / 4, rounds - rounds / 4);
	for (int i = 0; i < 2; i++)
		gt_chan_release(c[i]);
}

TEST(select_timeout_and_poll)
{
	gt_chan *c[2] = {gt_chan_new(1), gt_chan_new(0)};
	int64_t t0, el;

	REQUIRE(c[0] && c[1]);
	t0 = gt_now();
	CHECK_EQ(gt_select(c, 2, NULL, NULL, 0), -ETIMEDOUT);
	CHECK_RANGE(gt_now() - t0, 0, LATE);
	t0 = gt_now();
	CHECK_EQ(gt_select(c, 2, NULL, NULL, 30 * MS), -ETIMEDOUT);
	el = gt_now() - t0;
	CHECK_RANGE(el, 30 * MS, LATE);
	for (int i = 0; i < 2; i++)
		gt_chan_release(c[i]);
}

TEST(select_closed_channel_is_ready)
{
	gt_chan *c[3] = {gt_chan_new(1), gt_chan_new(2), gt_chan_new(0)};
	int64_t v = 7;
	bool ok = true;

	REQUIRE(c[0] && c[1] && c[2]);
	CHECK_EQ(gt_chan_send(c[1], 5), 0);
	CHECK_EQ(gt_chan_close(c[1]), 0);
	/* Buffered values first, then "closed and empty". */
	CHECK_EQ(gt_select(c, 3, &v, &ok, -1), 1);
	CHECK(ok);
	CHECK_EQ(v, 5);
	v = 7;
	CHECK_EQ(gt_select(c, 3, &v, &ok, -1), 1);
	CHECK(!ok);
	CHECK_EQ(v, 0);
	for (int i = 0; i < 3; i++)
		gt_chan_release(c[i]);
}

TEST(select_null_entries_and_bad_arguments)
{
	gt_chan *c = gt_chan_new(1);
	gt_chan *set[3] = {NULL, c, NULL};
	gt_chan *none[2] = {NULL, NULL};
	int64_t t0, v = 0;

	REQUIRE(c != NULL);
	CHECK_EQ(gt_chan_send(c, 3), 0);
	CHECK_EQ(gt_select(set, 3, &v, NULL, -1), 1);
	CHECK_EQ(v, 3);
	CHECK_EQ(gt_select(set, 3, NULL, NULL, 0), -ETIMEDOUT);

	CHECK_EQ(gt_select(NULL, 2, NULL, NULL, 0), -EINVAL);
	CHECK_EQ(gt_select(none, 2, NULL, NULL, -1), -EINVAL);
	CHECK_EQ(gt_select(none, 0, NULL, NULL, -1), -EINVAL);
	CHECK_EQ(gt_select(NULL, 0, NULL, NULL, -1), -EINVAL);
	/* With a finite timeout, a select on nothing sleeps for it. */
	t0 = gt_now();
	CHECK_EQ(gt_select(none, 2, NULL, NULL, 20 * MS), -ETIMEDOUT);
	CHECK_RANGE(gt_now() - t0, 20 * MS, LATE);
	t0 = gt_now();
	CHECK_EQ(gt_select(NULL, 0, NULL, NULL, 20 * MS), -ETIMEDOUT);
	CHECK_RANGE(gt_now() - t0, 20 * MS, LATE);
	CHECK_EQ(gt_select(none, 2, NULL, NULL, 0), -ETIMEDOUT);
	gt_chan_release(c);
}

/* A thread that, once told, sends v on chans[index] or closes it. */
struct poker {
	gt_chan *go;
	gt_chan **chans;
	size_t index;
	int64_t v;
	bool close;
	pthread_t th;
};

static void *poker_main(void *arg)
{
	struct poker *p = arg;

	if (!gt_chan_recv(p->go, NULL))
		return NULL;
	gt_sleep(10 * MS); /* let the select go to sleep first, usually */
	if (p->close)
		gt_chan_close(p->chans[p->index]);
	else
		gt_chan_send(p->chans[p->index], p->v);
	return NULL;
}

/* Select over n fresh channels while a thread pokes one of them. */
static void select_woken_by(size_t n, size_t index, bool close)
{
	gt_chan **c = calloc(n, sizeof(*c));
	struct poker p = {.go = gt_chan_new(1),
			  .chans = c,
			  .index = index,
			  .v = 1000 + (int64_t)index,
			  .close = close};
	int64_t v = -1;
	bool ok = !close;

	REQUIRE(c && p.go);
	for (size_t i = 0; i < n; i++) {
		c[i] = gt_chan_new(i % 2); /* unbuffered and buffered alike */
		REQUIRE(c[i] != NULL);
	}
	REQUIRE(spawn(&p.th, poker_main, &p) == 0);
	gt_chan_send(p.go, 1);
	CHECK_EQ(gt_select(c, n, &v, &ok, LATE), (int)index);
	CHECK_EQ(ok, !close);
	CHECK_EQ(v, close ? 0 : p.v);
	REQUIRE(join_within(p.th, LATE) == 0);
	for (size_t i = 0; i < n; i++)
		gt_chan_release(c[i]);
	gt_chan_release(p.go);
	free(c);
}

TEST(select_woken_by_send)
{
	select_woken_by(3, 1, false);
	select_woken_by(3, 2, false);
}

TEST(select_woken_by_close)
{
	select_woken_by(3, 0, true);
}

/* More than 16 channels: the wait list no longer fits on the stack. */
TEST(select_many_channels)
{
	select_woken_by(17, 16, false);
	select_woken_by(1000, 777, false);
	select_woken_by(1000, 3, true);
}

TEST(select_same_channel_twice)
{
	gt_chan *c = gt_chan_new(1);
	gt_chan *set[2];
	int r;

	REQUIRE(c != NULL);
	set[0] = set[1] = c;
	CHECK_EQ(gt_chan_send(c, 1), 0);
	r = gt_select(set, 2, NULL, NULL, -1);
	CHECK(r == 0 || r == 1);
	CHECK_EQ(gt_select(set, 2, NULL, NULL, 0), -ETIMEDOUT);
	gt_chan_release(c);
}

TEST(select_with_timer_channels)
{
	int64_t t0 = gt_now(), v = 0;
	gt_chan *plain = gt_chan_new(0);
	gt_chan *after = gt_after(30 * MS);
	gt_chan *set[2] = {plain, after};
	gt_chan *never[2];

	REQUIRE(plain && after);
	CHECK_EQ(gt_select(set, 2, &v, NULL, LATE), 1);
	CHECK(gt_now() - t0 >= 30 * MS);
	CHECK_RANGE(v, t0 + 30 * MS, gt_now());
	gt_chan_release(after);

	never[0] = plain;
	never[1] = gt_after(GT_HOUR);
	REQUIRE(never[1] != NULL);
	t0 = gt_now();
	CHECK_EQ(gt_select(never, 2, NULL, NULL, 20 * MS), -ETIMEDOUT);
	CHECK(gt_now() - t0 >= 20 * MS);
	gt_chan_release(never[1]);
	gt_chan_release(plain);
}

TEST_MAIN()
