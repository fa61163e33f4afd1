/*
 * gen_trace_acts.c - the service's activities (the table at the top of
 * gen_trace.c): what each site does, and each activity's steps. A step
 * writes its events and schedules the next one (gen__later) or ends
 * (gen__done).
 */
#include "gen_trace.h"

/* clang-format off */
const struct act_def acts[NACT] = {
	[REQ] = {TL_KIND_TIMER, 208, 14000, 400, 0},
	[ONESHOT] = {TL_KIND_AFTER, 208, 3000, 120, 0},
	[CHURN] = {TL_KIND_AFTER, 208, 120, 60, 45},
	[CONN] = {TL_KIND_TIMER, 208, 67, 80, 30},
	[TICK] = {TL_KIND_TICKER, 232, 50, 60, 20},
	[TFD] = {TL_KIND_TIMERFD, 512, 500, 80, 0},
	[POSIX] = {TL_KIND_POSIX, 384, 200, 40, 0},
	[AFN] = {TL_KIND_AFTERFUNC, 200, 2500, 160, 0},
};

/* clang-format on */

/* What site i (of activity a, number j of that activity's) does. */
void gen__site_init(struct sim *m, unsigned i, enum act a, unsigned j)
{
	static const int64_t timeouts[] = {1 * SEC, 5 * SEC, 10 * SEC, 30 * SEC};
	static const int64_t periods[] = {100 * MS, 250 * MS, 500 * MS, 1 * SEC, 5 * SEC};
	struct site *s = &m->sites[i];
	uint64_t h = gen__site_hash(m, i, 1);

	s->act = (uint8_t)a;
	switch (a) {
	case REQ:
		s->dur = timeouts[h % 4];
		break;
	case ONESHOT:
		s->dur = (1 + (int64_t)(h % 20)) * MS;
		break;
	case CHURN:
		s->dur = h & 1 ? 60 * SEC : 30 * SEC;
		break;
	case CONN:
		s->dur = h & 1 ? 300 * SEC : 120 * SEC;
		break;
	case TICK:
		s->dur = periods[h % 5];
		s->leaky = j == 7 || j == 23; /* a leak takes a less popular site */
		break;
	case TFD:
		s->dur = (10 + (int64_t)(h % 91)) * MS;
		s->interval = (h >> 8) % 10 < 3 ? 50 * MS : 0;
		s->aux = 1; /* CLOCK_MONOTONIC */
		s->leaky = j == 40;
		break;
	case POSIX:
		s->dur = (100 + (int64_t)(h % 1901)) * MS;
		s->aux = 1 | ((h >> 8) & 1 ? 2u : 0u) << 8; /* SIGEV_THREAD or SIGEV_SIGNAL */
		break;
	case AFN:
		s->dur = (50 + (int64_t)(h % 951)) * MS;
		s->aux = j == 5 ? 256 << 10 : 64u << ((h >> 8) % 7); /* one site pins big buffers */
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------------------------------
 * The activities' steps. Runtime timers fire on the runtime's timer thread
 * (tids[1]) and are received, stopped and freed by their own.
 */

static void req_step(struct sim *m, struct timer *t)
{
	int64_t dur = m->sites[t->site].dur, reply;

	switch (t->step) {
	case 0:
		gen__create(m, t, dur, 0);
		reply = unif(m) < 0.01 ? expo(m, 200 * MS) : expo(m, 4 * MS);
		if (reply < dur)
			gen__later(m, t, 1, reply);
		else
			gen__later(m, t, 3, dur + expo(m, 30 * US));
		return;
	case 1: /* the reply came: stop, then free */
		gen__simple(m, TL_REC_STOP, t->tid, t, TL_STOP_WAS_ACTIVE);
		gen__later(m, t, 2, between(m, 300, 2 * US));
		return;
	case 2:
		gen__release_free(m, t, t->tid);
		gen__done(m, t);
		return;
	case 3: /* timed out */
		gen__simple(m, TL_REC_FIRE, RT_TID, t, TL_FIRE_DELIVERED);
		gen__later(m, t, 4, expo(m, 20 * US));
		return;
	default:
		gen__simple(m, TL_REC_DRAIN, t->tid, t, 0);
		gen__later(m, t, 2, between(m, 300, 2 * US));
		return;
	}
}

static void oneshot_step(struct sim *m, struct timer *t)
{
	int64_t dur = m->sites[t->site].dur;

	switch (t->step) {
	case 0:
		gen__create(m, t, dur, 0);
		gen__later(m, t, 1, dur + expo(m, 30 * US));
		return;
	case 1:
		gen__simple(m, TL_REC_FIRE, RT_TID, t, TL_FIRE_DELIVERED);
		gen__later(m, t, 2, expo(m, 15 * US));
		return;
	case 2:
		gen__simple(m, TL_REC_DRAIN, t->tid, t, 0);
		gen__later(m, t, 3, between(m, 500, 3 * US));
		return;
	default:
		gen__release_free(m, t, t->tid);
		gen__done(m, t);
		return;
	}
}

/* time.After in a select: usually another case wins and the timer is
 * abandoned, to fire unseen (async channels) and be reclaimed then. The
 * population the trace starts with has its timers' ages spread evenly:
 * each fires after a part of its site's duration only. */
static void churn_step(struct sim *m, struct timer *t)
{
	int64_t dur = m->sites[t->site].dur;

	if (t->initial)
		dur = between(m, 1 * MS, dur);
	switch (t->step) {
	case 0:
		gen__create(m, t, dur, 0);
		t->initial = false;
		t->end = dur;
		if (unif(m) < 0.1)
			gen__later(m, t, 3, dur + expo(m, 50 * US));
		else
			gen__later(m, t, 1, between(m, 1 * US, 6 * US));
		return;
	case 1:
		gen__simple(m, TL_REC_RELEASE, t->tid, t, 0);
		gen__later(m, t, 2, t->born + t->end + expo(m, 50 * US) - m->now);
		return;
	case 2:
		gen__simple(m, TL_REC_FIRE, RT_TID, t, TL_FIRE_DELIVERED);
		gen__gone(m, t, RT_TID);
		gen__done(m, t);
		return;
	case 3: /* the timeout won */
		gen__simple(m, TL_REC_FIRE, RT_TID, t, TL_FIRE_DELIVERED);
		gen__later(m, t, 4, expo(m, 20 * US));
		return;
	default:
		gen__simple(m, TL_REC_DRAIN, t->tid, t, 0);
		gen__release_free(m, t, t->tid);
		gen__done(m, t);
		return;
	}
}

/* A connection's idle timeout, reset at each request on it. */
static void conn_reset(struct sim *m, struct timer *t)
{
	unsigned j = t->site - (acts[REQ].nsites + acts[ONESHOT].nsites + acts[CHURN].nsites);
	unsigned r = NSITES + j * RESETS_PER_CONN + (unif(m) < 0.7 ? 0 : 1);
	struct tl_event e = {
		.id = t->id, .duration = m->sites[t->site].dur, .flags = TL_RESET_WAS_ACTIVE};

	if (m->sites[r].buggy_reset && unif(m) < 0.2)
		e.flags = TL_RESET_PENDING;
	e.stack = gen__stack_of(m, r);
	gen__write_ev(m, TL_REC_RESET, t->tid, &e);
}

static void conn_step(struct sim *m, struct timer *t)
{
	int64_t next;

	if (t->step == 0) {
		gen__create(m, t, m->sites[t->site].dur, 0);
		t->end = m->now + expo(m, acts[CONN].mean_life * SEC);
	} else if (t->step == 1) {
		conn_reset(m, t);
	} else {
		gen__simple(m, TL_REC_STOP, t->tid, t, TL_STOP_WAS_ACTIVE);
		gen__release_free(m, t, t->tid);
		gen__done(m, t);
		return;
	}
	next = m->now + expo(m, 200 * MS);
	if (next < t->end)
		gen__later(m, t, 1, next - m->now);
	else
		gen__later(m, t, 2, t->end - m->now);
}

static void tick_next(struct sim *m, struct timer *t)
{
	t->next += m->sites[t->site].dur;
	if (t->next >= t->end)
		gen__later(m, t, 3, t->end - m->now);
	else
		gen__later(m, t, 1, t->next + expo(m, 50 * US) - m->now);
}

static void tick_step(struct sim *m, struct timer *t)
{
	const struct site *s = &m->sites[t->site];

	switch (t->step) {
	case 0:
		gen__create(m, t, s->dur, s->dur);
		t->end = s->leaky && unif(m) < 0.125 ? INT64_MAX
						     : m->now + expo(m, acts[TICK].mean_life * SEC);
		t->next = m->now;
		tick_next(m, t);
		return;
	case 1:
		if (unif(m) < 0.02) { /* the reader was slow: the tick is dropped */
			gen__simple(m, TL_REC_FIRE, RT_TID, t, 0);
			tick_next(m, t);
		} else {
			gen__simple(m, TL_REC_FIRE, RT_TID, t, TL_FIRE_DELIVERED);
			gen__later(m, t, 2, expo(m, 20 * US));
		}
		return;
	case 2:
		gen__simple(m, TL_REC_DRAIN, t->tid, t, 0);
		tick_next(m, t);
		return;
	default:
		gen__simple(m, TL_REC_STOP, t->tid, t, TL_STOP_UNKNOWN);
		gen__release_free(m, t, t->tid);
		gen__done(m, t);
		return;
	}
}

static void tfd_arm(struct sim *m, struct timer *t, uint32_t flags)
{
	const struct site *s = &m->sites[t->site];
	struct tl_event e = {
		.id = t->id, .duration = s->dur, .period = s->interval, .flags = flags};

	gen__write_ev(m, TL_REC_ARM, t->tid, &e);
	t->left = s->interval ? 1 + (uint32_t)expo(m, 20) : 0;
	gen__later(m, t, 2, s->dur + expo(m, 40 * US));
}

/* How a kernel timer ends: step 3 disarms it, step 4 closes or deletes it. */
static void kernel_end(struct sim *m, struct timer *t)
{
	if (t->step == 3) {
		gen__simple(m, TL_REC_STOP, t->tid, t, TL_STOP_WAS_ACTIVE);
		gen__later(m, t, 4, between(m, 1 * US, 3 * US));
		return;
	}
	gen__gone(m, t, t->tid);
	gen__done(m, t);
}

/* A timerfd: armed, read when it expires, then re-armed, stopped (a
 * periodic one) or closed. A leaky site forgets one in eight. */
static void tfd_step(struct sim *m, struct timer *t)
{
	const struct site *s = &m->sites[t->site];

	switch (t->step) {
	case 0:
		gen__create(m, t, 0, 0);
		gen__later(m, t, 1, between(m, 1 * US, 4 * US));
		return;
	case 1:
		tfd_arm(m, t, 0);
		return;
	case 2:
		gen__simple(m, TL_REC_FIRE, t->tid, t, TL_FIRE_DELIVERED);
		if (s->interval && --t->left)
			gen__later(m, t, 2, s->interval + expo(m, 40 * US));
		else if (s->interval)
			gen__later(m, t, 3, expo(m, 100 * US));
		else if (unif(m) < 0.3)
			gen__later(m, t, 1, expo(m, 1 * MS));
		else if (s->leaky && unif(m) < 0.125)
			gen__done(m, t);
		else
			gen__later(m, t, 4, between(m, 2 * US, 10 * US));
		return;
	default:
		kernel_end(m, t);
		return;
	}
}

/* A POSIX timer: armed once, then it expires or is disarmed; deleted. */
static void posix_step(struct sim *m, struct timer *t)
{
	int64_t dur = m->sites[t->site].dur;
	struct tl_event e = {.id = t->id, .duration = dur};

	switch (t->step) {
	case 0:
		gen__create(m, t, 0, 0);
		gen__later(m, t, 1, between(m, 1 * US, 4 * US));
		return;
	case 1:
		gen__write_ev(m, TL_REC_ARM, t->tid, &e);
		if (unif(m) < 0.6)
			gen__later(m, t, 2, dur + expo(m, 50 * US));
		else
			gen__later(m, t, 3, between(m, 1 * US, dur));
		return;
	case 2:
		gen__simple(m, TL_REC_FIRE, t->tid, t, TL_FIRE_DELIVERED);
		gen__later(m, t, 4, expo(m, 50 * US));
		return;
	default:
		kernel_end(m, t);
		return;
	}
}

/* A callback timer: the handle is let go at once and the runtime frees the
 * timer after the callback ran; or the work finished first and it is
 * stopped and freed. */
static void afn_step(struct sim *m, struct timer *t)
{
	int64_t dur = m->sites[t->site].dur;

	switch (t->step) {
	case 0:
		gen__create(m, t, dur, 0);
		if (unif(m) < 0.7)
			gen__later(m, t, 1, between(m, 1 * US, 3 * US));
		else
			gen__later(m, t, 3, between(m, 1 * US, dur));
		return;
	case 1:
		gen__simple(m, TL_REC_RELEASE, t->tid, t, 0);
		gen__later(m, t, 2, t->born + dur + expo(m, 30 * US) - m->now);
		return;
	case 2:
		gen__simple(m, TL_REC_FIRE, RT_TID, t, TL_FIRE_DELIVERED);
		gen__gone(m, t, RT_TID);
		gen__done(m, t);
		return;
	default:
		gen__simple(m, TL_REC_STOP, t->tid, t, TL_STOP_WAS_ACTIVE);
		gen__release_free(m, t, t->tid);
		gen__done(m, t);
		return;
	}
}

void gen__step(struct sim *m, struct timer *t)
{
	static void (*const steps[NACT])(struct sim *, struct timer *) = {
		[REQ] = req_step,     [ONESHOT] = oneshot_step, [CHURN] = churn_step,
		[CONN] = conn_step,   [TICK] = tick_step,	[TFD] = tfd_step,
		[POSIX] = posix_step, [AFN] = afn_step,
	};

	steps[t->act](m, t);
}
