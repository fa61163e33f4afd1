/*
 * runtime_stress.c - many threads at once, and many timers at once.
 *
 * Besides not crashing or hanging, every case checks what the contract
 * promises under concurrency: a value is never received before the
 * deadline it belongs to (in sync mode even without the Stop-drain idiom),
 * nor after a Stop that reported the timer stopped; what a callback
 * timer's Stop or Reset returns fixes how many times it runs; channels
 * lose, duplicate and reorder nothing; every counter of held memory
 * returns to its baseline.
 *
 * tests/CMakeLists.txt also builds this file against ThreadSanitizer and
 * AddressSanitizer copies of the runtime, with GT_STRESS_SCALE dividing
 * the counts to keep their run time reasonable.
 */
#include "gt_test_util.h"
#include "tl_test.h"

#include <stdatomic.h>

#ifndef GT_STRESS_SCALE
#define GT_STRESS_SCALE 1 /* divides the iteration counts */
#endif

#define SCALED(n) ((n) / GT_STRESS_SCALE)

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static gt_duration rand_duration(uint64_t *rnd, gt_duration max)
{
	return (gt_duration)(xorshift(rnd) % (uint64_t)(max + 1));
}

/* A stress thread that has not finished by then is stuck: a deadlock or a
 * lost wake-up. */
#define STUCK (60 * GT_SECOND)

/* Start n threads running fn(args[i]), then join them. @return 0, or -1
 * if one could not start or is stuck. */
static int run_threads(int n, void *(*fn)(void *), void *args, size_t argsize)
{
	pthread_t th[16];

	if (n > 16)
		return -1;
	for (int i = 0; i < n; i++) {
		if (spawn(&th[i], fn, (char *)args + (size_t)i * argsize) != 0)
			return -1;
	}
	for (int i = 0; i < n; i++) {
		if (join_within(th[i], STUCK) != 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * Threads that each own a set of timers and do random things to them.
 */

enum { OWNED = 8 };

struct owner {
	uint64_t rnd;
	int iters;
	int early; /* values received before their deadline */
	int received;
	gt_timer *t[OWNED];
	int64_t lb[OWNED]; /* no value may be earlier than this */
};

static void owner_schedule(struct owner *o, int i, gt_duration d)
{
	int64_t before = gt_now();

	if (!o->t[i]) {
		o->t[i] = gt_timer_new(d);
	} else if (sync_mode() && (xorshift(&o->rnd) & 1)) {
		gt_timer_reset(o->t[i], d); /* Go 1.23: no drain needed */
	} else {
		if (!gt_timer_stop(o->t[i]))
			gt_chan_try_recv(gt_timer_chan(o->t[i]), NULL);
		gt_timer_reset(o->t[i], d);
	}
	o->lb[i] = before + d;
}

static void owner_receive(struct owner *o, int i)
{
	int64_t v;

	if (o->t[i] && gt_chan_try_recv(gt_timer_chan(o->t[i]), &v)) {
		o->received++;
		if (v < o->lb[i])
			o->early++;
	}
}

static void owner_after(struct owner *o)
{
	int64_t before = gt_now(), v;
	gt_duration d = rand_duration(&o->rnd, 2 * MS);
	gt_chan *c = gt_after(d);

	if (!c)
		return;
	if (xorshift(&o->rnd) & 1) {
		if (gt_chan_try_recv(c, &v) && v < before + d)
			o->early++;
	}
	gt_chan_release(c);
}

static void *owner_main(void *arg)
{
	struct owner *o = arg;

	for (int n = 0; n < o->iters; n++) {
		int i = (int)(xorshift(&o->rnd) % OWNED);

		switch (xorshift(&o->rnd) % 6) {
		case 0:
		case 1:
			owner_schedule(o, i, rand_duration(&o->rnd, 3 * MS));
			break;
		case 2:
			if (o->t[i])
				gt_timer_stop(o->t[i]);
			break;
		case 3:
			owner_receive(o, i);
			break;
		case 4:
			gt_timer_free(o->t[i]);
			o->t[i] = NULL;
			break;
		default:
			owner_after(o);
			break;
		}
	}
	/* One fire each thread surely sees, whatever the load did to the
	 * timers above (most are reset again before they can fire). */
	{
		int64_t before = gt_now(), v = 0;
		gt_timer *last = gt_timer_new(MS);

		if (last && gt_chan_recv(gt_timer_chan(last), &v)) {
			o->received++;
			if (v < before + MS)
				o->early++;
		}
		gt_timer_free(last);
	}
	for (int i = 0; i < OWNED; i++)
		gt_timer_free(o->t[i]);
	return NULL;
}

TEST(stress_threads_create_stop_reset)
{
	enum { NTH = 8 };
	struct owner o[NTH] = {{0}};
	gt_stats s0 = stats_now(), s;
	int early = 0, received = 0;

	for (int i = 0; i < NTH; i++) {
		o[i].rnd = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		o[i].iters = SCALED(100000);
	}
	REQUIRE(run_threads(NTH, owner_main, o, sizeof(o[0])) == 0);
	for (int i = 0; i < NTH; i++) {
		early += o[i].early;
		received += o[i].received;
	}
	CHECK_EQ(early, 0);
	CHECK(received >= NTH);
	/* Async after-timers fire within 2 ms and then go. */
	CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
	s = stats_now();
	CHECK_EQ(s.live_bytes, s0.live_bytes);
	CHECK_EQ(s.pending, s0.pending);
	CHECK_EQ(s.heap_entries, s0.heap_entries);
	CHECK_EQ(s.pending_bytes, s0.pending_bytes);
}

/* ---------------------------------------------------------------------------
 * Threads fighting over one timer.
 */

struct fighter {
	gt_timer *t;
	uint64_t rnd;
	int iters;
};

static void *fighter_main(void *arg)
{
	struct fighter *f = arg;

	for (int n = 0; n < f->iters; n++) {
		switch (xorshift(&f->rnd) % 4) {
		case 0:
			gt_timer_stop(f->t);
			break;
		case 1:
			gt_timer_reset(f->t, rand_duration(&f->rnd, 500 * GT_MICROSECOND));
			break;
		case 2:
			gt_chan_try_recv(gt_timer_chan(f->t), NULL);
			break;
		default:
			gt_timer_has_value(f->t);
			break;
		}
	}
	return NULL;
}

TEST(stress_threads_share_one_timer)
{
	enum { NTH = 6 };
	struct fighter f[NTH];
	gt_stats s0 = stats_now();
	gt_timer *t = gt_timer_new(MS);
	int64_t r0, v = 0;

	REQUIRE(t != NULL);
	for (int i = 0; i < NTH; i++)
		f[i] = (struct fighter){t, 0x2545f4914f6cdd1dull * (uint64_t)(i + 3),
					SCALED(50000)};
	REQUIRE(run_threads(NTH, fighter_main, f, sizeof(f[0])) == 0);
	/* Whatever state the fight left it in, the idiom brings it back. */
	r0 = gt_now();
	if (!gt_timer_stop(t))
		gt_chan_try_recv(gt_timer_chan(t), NULL);
	gt_timer_reset(t, 10 * MS);
	CHECK_EQ(recv_within(gt_timer_chan(t), &v, LATE), 0);
	CHECK_RANGE(v, r0 + 10 * MS, gt_now());
	gt_timer_free(t);
	CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
	CHECK_EQ(pending_timers(), s0.pending);
}

/* ---------------------------------------------------------------------------
 * Callback timers stopped or reset while they fire. What Stop and Reset
 * return says exactly how many runs there will be: a Stop that returns
 * true leaves none, false one; a Reset that returns true moves the one
 * pending run, false (it had fired) adds a second.
 */

struct racer {
	uint64_t rnd;
	int n;
	_Atomic int *runs; /* runs[i] counts the runs of timer i */
	int *want;	   /* runs timer i must make, from what Stop or Reset returned */
	gt_timer **reset;  /* timers reset, freed once their runs are done */
	int expected;	   /* runs that must happen */
};

static void count_run(void *arg)
{
	atomic_fetch_add((_Atomic int *)arg, 1);
}

static void *racer_main(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < r->n; i++) {
		gt_timer *t = gt_after_func(rand_duration(&r->rnd, MS), count_run, &r->runs[i]);

		if (!t)
			continue;
		if (xorshift(&r->rnd) % 4 == 0)
			gt_sleep(rand_duration(&r->rnd, MS));
		if (xorshift(&r->rnd) & 1) {
			r->want[i] = gt_timer_stop(t) ? 0 : 1;
			gt_timer_free(t);
		} else {
			/* Freeing would stop the new run: free at the end. */
			r->want[i] = gt_timer_reset(t, rand_duration(&r->rnd, MS)) ? 1 : 2;
			r->reset[i] = t;
		}
		r->expected += r->want[i];
	}
	return NULL;
}

static int total_runs(struct racer *r, int nth)
{
	int sum = 0;

	for (int k = 0; k < nth; k++) {
		for (int i = 0; i < r[k].n; i++)
			sum += atomic_load(&r[k].runs[i]);
	}
	return sum;
}

TEST(stress_callback_stop_reset_race_fire)
{
	enum { NTH = 4 };
	struct racer r[NTH];
	gt_stats s0 = stats_now();
	int expected = 0, wrong = 0;

	for (int k = 0; k < NTH; k++) {
		size_t n = (size_t)SCALED(4000);

		r[k] = (struct racer){.rnd = 77 + (uint64_t)k, .n = (int)n};
		r[k].runs = calloc(n, sizeof(*r[k].runs));
		r[k].want = calloc(n, sizeof(*r[k].want));
		r[k].reset = calloc(n, sizeof(*r[k].reset));
		REQUIRE(r[k].runs && r[k].want && r[k].reset);
	}
	REQUIRE(run_threads(NTH, racer_main, r, sizeof(r[0])) == 0);
	for (int k = 0; k < NTH; k++)
		expected += r[k].expected;
	CHECK(WAIT_UNTIL(stats_now().callbacks_run == s0.callbacks_run + (uint64_t)expected,
			 5 * LATE));
	/* A run too many would come within a millisecond or two. */
	gt_sleep(20 * MS);
	CHECK_EQ(total_runs(r, NTH), expected);
	for (int k = 0; k < NTH; k++) {
		for (int i = 0; i < r[k].n; i++) {
			wrong += atomic_load(&r[k].runs[i]) != r[k].want[i];
			gt_timer_free(r[k].reset[i]);
		}
		free(r[k].runs);
		free(r[k].want);
		free(r[k].reset);
	}
	CHECK_EQ(wrong, 0);
	CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
}

/* ---------------------------------------------------------------------------
 * Stop while another thread waits to receive. A round resets the timer to
 * a random few microseconds, lets it maybe fire, and stops it. A value
 * belongs to the round its fire time falls in, and may be received only if
 * that round's Stop returned false: true means the timer had not fired
 * (async) or that its value was discarded (sync), and a receiver woken by
 * the fire must not get it.
 */

struct catcher {
	gt_chan *c;
	_Atomic bool stop;
	int64_t *got;
	int n, max;
};

static void *catcher_main(void *arg)
{
	struct catcher *k = arg;

	while (!atomic_load(&k->stop)) {
		int64_t v;

		if (gt_select(&k->c, 1, &v, NULL, 10 * MS) == 0 && k->n < k->max)
			k->got[k->n++] = v;
	}
	return NULL;
}

/* The round whose start is the last at or before v. */
static int round_of(const int64_t *start, int rounds, int64_t v)
{
	int lo = 0, hi = rounds - 1;

	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (start[mid] <= v)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static void spin_for(gt_duration d)
{
	int64_t until = gt_now() + d;

	while (gt_now() < until)
		;
}

TEST(stress_stop_with_waiting_receiver)
{
	int rounds = SCALED(20000), stopped = 0, wrong = 0;
	int64_t *start = calloc((size_t)rounds, sizeof(*start));
	bool *was_active = calloc((size_t)rounds, sizeof(*was_active));
	gt_timer *t = gt_timer_new(GT_HOUR);
	struct catcher k = {.max = rounds};
	uint64_t rnd = 99;
	pthread_t th;

	k.got = calloc((size_t)rounds, sizeof(*k.got));
	REQUIRE(start && was_active && t && k.got);
	k.c = gt_timer_chan(t);
	gt_timer_stop(t);
	REQUIRE(spawn(&th, catcher_main, &k) == 0);
	for (int i = 0; i < rounds; i++) {
		start[i] = gt_now();
		gt_timer_reset(t, rand_duration(&rnd, 50 * GT_MICROSECOND));
		spin_for(rand_duration(&rnd, 100 * GT_MICROSECOND));
		was_active[i] = gt_timer_stop(t);
		stopped += was_active[i];
	}
	atomic_store(&k.stop, true);
	REQUIRE(join_within(th, STUCK) == 0);
	for (int i = 0; i < k.n; i++) {
		int r = round_of(start, rounds, k.got[i]);

		if (k.got[i] < start[0] || was_active[r])
			wrong++;
	}
	CHECK_EQ(wrong, 0);
	/* Both outcomes happened, or the case tested little. */
	CHECK(stopped > 0 && stopped < rounds);
	CHECK(k.n > 0);
	gt_timer_free(t);
	free(start);
	free(was_active);
	free(k.got);
}

/* ---------------------------------------------------------------------------
 * Channels: fan-in through select, and many senders and receivers on one
 * channel.
 */

enum { FAN = 6 };

struct fan_sender {
	gt_chan *c;
	int id, n;
};

static void *fan_sender_main(void *arg)
{
	struct fan_sender *s = arg;

	for (int i = 0; i < s->n; i++)
		gt_chan_send(s->c, (int64_t)s->id << 32 | i);
	gt_chan_close(s->c);
	return NULL;
}

/* Receive until every channel is closed; each sender's values must come
 * in order, each once. @return values received out of order. */
static int fan_in(gt_chan **set, int n_per_sender, int *got)
{
	int next[FAN] = {0}, open = FAN, bad = 0;

	while (open > 0) {
		int64_t v = 0;
		bool ok = false;
		int i = gt_select(set, FAN, &v, &ok, 5 * LATE);

		if (i < 0)
			return bad + 1000000; /* stuck: a value or a close was lost */
		if (!ok) {
			set[i] = NULL; /* closed: never ready again, like a nil channel */
			open--;
			continue;
		}
		if ((v >> 32) != i || (v & 0xffffffff) != next[i])
			bad++;
		next[i]++;
		(*got)++;
	}
	for (int i = 0; i < FAN; i++)
		bad += next[i] != n_per_sender;
	return bad;
}

TEST(stress_select_fan_in)
{
	struct fan_sender s[FAN];
	gt_chan *set[FAN], *chans[FAN];
	pthread_t th[FAN];
	int got = 0, n = SCALED(20000);

	for (int i = 0; i < FAN; i++) {
		chans[i] = set[i] = gt_chan_new((size_t)(i % 3) * 4); /* 0, 4 or 8 */
		REQUIRE(set[i] != NULL);
		s[i] = (struct fan_sender){set[i], i, n};
		REQUIRE(spawn(&th[i], fan_sender_main, &s[i]) == 0);
	}
	CHECK_EQ(fan_in(set, n, &got), 0);
	CHECK_EQ(got, FAN * n);
	for (int i = 0; i < FAN; i++)
		REQUIRE(join_within(th[i], STUCK) == 0);
	for (int i = 0; i < FAN; i++)
		gt_chan_release(chans[i]);
}

struct mpmc {
	gt_chan *c;
	int n; /* values per sender */
	int id;
	int64_t sum; /* of what this thread received */
	int count;
};

static void *mpmc_sender(void *arg)
{
	struct mpmc *m = arg;

	for (int i = 1; i <= m->n; i++)
		gt_chan_send(m->c, (int64_t)m->id * 1000003 + i);
	return NULL;
}

static void *mpmc_receiver(void *arg)
{
	struct mpmc *m = arg;
	int64_t v;

	while (gt_chan_recv(m->c, &v)) {
		m->sum += v;
		m->count++;
	}
	return NULL;
}

static void mpmc_run(size_t cap)
{
	enum { NS = 4, NR = 4 };
	struct mpmc snd[NS], rcv[NR];
	pthread_t ts[NS], tr[NR];
	gt_chan *c = gt_chan_new(cap);
	int64_t want = 0, sum = 0;
	int n = SCALED(8000), count = 0;

	REQUIRE(c != NULL);
	for (int i = 0; i < NR; i++) {
		rcv[i] = (struct mpmc){.c = c};
		REQUIRE(spawn(&tr[i], mpmc_receiver, &rcv[i]) == 0);
	}
	for (int i = 0; i < NS; i++) {
		snd[i] = (struct mpmc){.c = c, .n = n, .id = i};
		REQUIRE(spawn(&ts[i], mpmc_sender, &snd[i]) == 0);
		for (int k = 1; k <= n; k++)
			want += (int64_t)i * 1000003 + k;
	}
	for (int i = 0; i < NS; i++)
		REQUIRE(join_within(ts[i], STUCK) == 0);
	CHECK_EQ(gt_chan_close(c), 0);
	for (int i = 0; i < NR; i++) {
		REQUIRE(join_within(tr[i], STUCK) == 0);
		sum += rcv[i].sum;
		count += rcv[i].count;
	}
	CHECK_EQ(count, NS * n);
	CHECK_EQ(sum, want);
	gt_chan_release(c);
}

TEST(stress_chan_many_senders_receivers)
{
	mpmc_run(0);
	mpmc_run(1);
	mpmc_run(16);
}

/* ---------------------------------------------------------------------------
 * Many timers.
 */

/* Every one of n timers with random deadlines fires, none early. */
TEST(stress_many_timers_fire)
{
	int n = SCALED(100000);
	gt_timer **t = calloc((size_t)n, sizeof(*t));
	int64_t *lb = calloc((size_t)n, sizeof(*lb));
	gt_stats s0 = stats_now();
	uint64_t rnd = 12345;
	int early = 0, missing = 0;

	REQUIRE(t && lb);
	for (int i = 0; i < n; i++) {
		gt_duration d = rand_duration(&rnd, 100 * MS);

		lb[i] = gt_now() + d;
		t[i] = gt_timer_new(d);
		REQUIRE(t[i] != NULL);
	}
	CHECK(WAIT_UNTIL(stats_now().fired >= s0.fired + (uint64_t)n, 5 * LATE));
	for (int i = 0; i < n; i++) {
		int64_t v;

		if (!gt_chan_try_recv(gt_timer_chan(t[i]), &v))
			missing++;
		else if (v < lb[i])
			early++;
		gt_timer_free(t[i]);
	}
	CHECK_EQ(missing, 0);
	CHECK_EQ(early, 0);
	CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
	free(t);
	free(lb);
}

/*
 * One million pending timers: created, counted, half stopped and revived,
 * all freed. Bounded to well under 20 s even in a debug build (measured:
 * about 1 s in RelWithDebInfo on the CI machine).
 */
TEST(stress_one_million_pending)
{
	int n = SCALED(1000000);
	gt_timer **t = calloc((size_t)n, sizeof(*t));
	gt_stats s0 = stats_now(), s;
	int64_t t0 = gt_now();

	REQUIRE(t != NULL);
	for (int i = 0; i < n; i++) {
		t[i] = gt_timer_new(GT_HOUR + i);
		REQUIRE(t[i] != NULL);
	}
	s = stats_now();
	CHECK_EQ(s.pending, s0.pending + (uint64_t)n);
	CHECK_EQ(s.created, s0.created + (uint64_t)n);
	CHECK_EQ(s.live_objects, s0.live_objects + (uint64_t)n);
	CHECK(s.pending_bytes - s0.pending_bytes >= (uint64_t)n * 64);
	for (int i = 0; i < n; i += 2)
		CHECK(gt_timer_stop(t[i]));
	CHECK_EQ(pending_timers(), s0.pending + (uint64_t)(n / 2));
	for (int i = 0; i < n; i += 4)
		CHECK(!gt_timer_reset(t[i], GT_HOUR));
	CHECK_EQ(pending_timers(), s0.pending + (uint64_t)(n / 2 + n / 4));
	for (int i = 0; i < n; i++)
		gt_timer_free(t[i]);
	s = stats_now();
	CHECK_EQ(s.pending, s0.pending);
	CHECK_EQ(s.heap_entries, s0.heap_entries);
	CHECK_EQ(s.live_objects, s0.live_objects);
	CHECK_EQ(s.live_bytes, s0.live_bytes);
	fprintf(stderr, "%d timers: %.2f s\n", n, (double)(gt_now() - t0) / GT_SECOND);
	free(t);
}

/*
 * The seed experiment, "time.After in a loop": each round selects on a
 * ready channel and a fresh after(1h), then drops the after-channel. Go
 * 1.22 (async) keeps every abandoned timer until it fires; Go 1.23 (sync)
 * keeps none.
 */
TEST(stress_after_in_loop_retention)
{
	int n = SCALED(100000);
	gt_chan *in = gt_chan_new(1);
	gt_stats s0 = stats_now(), s;
	size_t size = 0;

	REQUIRE(in != NULL);
	for (int i = 0; i < n; i++) {
		gt_chan *set[2] = {in, gt_after(GT_HOUR)};

		REQUIRE(set[1] != NULL);
		size = gt_object_size(set[1]);
		gt_chan_send(in, i);
		CHECK_EQ(gt_select(set, 2, NULL, NULL, -1), 0);
		gt_chan_release(set[1]);
	}
	s = stats_now();
	if (sync_mode()) {
		CHECK_EQ(s.pending, s0.pending);
		CHECK_EQ(s.pending_bytes, s0.pending_bytes);
		CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
	} else {
		CHECK_EQ(s.pending, s0.pending + (uint64_t)n);
		CHECK_EQ(s.live_objects, s0.live_objects + (uint64_t)n);
		CHECK_RANGE(s.live_bytes - s0.live_bytes, (uint64_t)n, (uint64_t)n * size);
	}
	gt_chan_release(in);
}

TEST_MAIN()
