/*
 * trace_workload.c - the traces of trace_workload.h.
 *
 * The workload is a small discrete-event simulation, not random records:
 * what makes a trace compress well or badly is its regularity (a few call
 * sites, the same stacks, ids that grow by one) and its noise (timestamps
 * whose low bits are jitter, concurrent requests whose events interleave
 * across threads), and both are modelled. Activities arrive at random
 * (about 25,000 a second, some 70,000 events a second: a busy service);
 * each writes its first event at once and schedules the rest, which a heap
 * releases in time order, interleaved with everything else in flight.
 */
#include "trace_workload.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define US 1000LL
#define MS 1000000LL
#define BASE_MONO (1000LL * 1000000000LL) /* a machine up for 1000 s */
#define ARRIVAL_GAP (40 * US)             /* mean time between activities */
#define LOOP_GAP (5 * US)                 /* loop profile: between iterations */

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n)
{
	return rnd(s) % n;
}

/* ---------------------------------------------------------------------------
 * The simulated service
 */

enum { SITES = 8, TICKERS = 4, LONG_TIMERS = 4, MAX_THREADS = 64, MAX_PENDING = 1 << 14 };

/* An event scheduled for later. */
struct pending {
	int64_t at;
	uint32_t tid;
	int type;
	bool ticker; /* a tick: schedules the next one */
	struct tl_event e;
};

struct sim {
	struct tl_trace_writer *w;
	const struct tl_workload_opts *o;
	uint64_t s;               /* PRNG state */
	int64_t now;              /* trace time, ns */
	int64_t last_flush;
	uint32_t tids[MAX_THREADS];
	uint64_t next_id;         /* timer ids: trace-unique, from 1 */
	uint64_t events;
	bool stack_written[SITES + 1];
	uint64_t long_timers[LONG_TIMERS];
	uint64_t snapshots;
	struct pending heap[MAX_PENDING]; /* min-heap on at */
	size_t npending;
	int err;
};

/* A delay of about d ns: d/2 to 3d/2, every low bit random, as the gaps
 * between real clock_gettime readings are. */
static int64_t jitter(struct sim *m, int64_t d)
{
	return d / 2 + (int64_t)below(&m->s, (uint64_t)d + 1);
}

static void schedule(struct sim *m, const struct pending *p)
{
	size_t i = m->npending;

	if (i == MAX_PENDING)
		return; /* cannot happen at these rates; dropping is harmless */
	m->heap[m->npending++] = *p;
	while (i > 0 && m->heap[(i - 1) / 2].at > m->heap[i].at) {
		struct pending t = m->heap[i];

		m->heap[i] = m->heap[(i - 1) / 2];
		m->heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static struct pending unschedule(struct sim *m)
{
	struct pending top = m->heap[0];
	size_t i = 0;

	m->heap[0] = m->heap[--m->npending];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;
		struct pending t;

		if (l < m->npending && m->heap[l].at < m->heap[min].at)
			min = l;
		if (r < m->npending && m->heap[r].at < m->heap[min].at)
			min = r;
		if (min == i)
			return top;
		t = m->heap[i];
		m->heap[i] = m->heap[min];
		m->heap[min] = t;
		i = min;
	}
}

/* Site stacks: 8 to 20 frames in two modules, the same for every call. */
static uint32_t site_stack(struct sim *m, uint32_t site)
{
	uint64_t f[20];
	uint32_t n = 8 + site % 13;

	if (m->stack_written[site])
		return site;
	for (uint32_t i = 0; i < n; i++)
		f[i] = (i < 3 ? 0x7f3a12000000ull : 0x555555554000ull) + 0x1000 * (site + 1) +
		       0x37 * i + (i * i * 0x141);
	m->stack_written[site] = true;
	if (!m->err)
		m->err = tl_trace_writer_stack(m->w, site, f, n);
	return site;
}

static void write_event(struct sim *m, int type, uint32_t tid, const struct tl_event *e)
{
	int err = tl_trace_writer_event(m->w, type, m->now, tid, e);

	if (err && !m->err)
		m->err = err;
	m->events++;
}

/* Schedule an event of timer id after delay. */
static void later(struct sim *m, int64_t delay, uint32_t tid, int type, uint64_t id,
		  uint32_t flags)
{
	struct pending p = {.at = m->now + delay, .tid = tid, .type = type,
			    .e = {.id = id, .flags = flags}};

	schedule(m, &p);
}

static uint64_t create(struct sim *m, uint32_t tid, uint32_t kind, uint32_t site, int64_t dur,
		       int64_t period, uint64_t size)
{
	struct tl_event e = {.id = tl_id_make(tl_kind_id_stream((int)kind), m->next_id++),
			     .kind = kind, .duration = dur, .period = period,
			     .size = size, .stack = site_stack(m, site)};

	write_event(m, TL_REC_CREATE, tid, &e);
	return e.id;
}

/* ---------------------------------------------------------------------------
 * Activities
 */

/* A request with a timeout that is stopped when the reply comes. */
static void request_timeout(struct sim *m, uint32_t tid)
{
	uint64_t id = create(m, tid, TL_KIND_TIMER, 1 + below(&m->s, 2), 5000 * MS, 0, 208);
	int64_t reply = jitter(m, 2 * MS);

	later(m, reply, tid, TL_REC_STOP, id, TL_STOP_WAS_ACTIVE);
	later(m, reply + jitter(m, 1 * US), tid, TL_REC_FREE, id, 0);
}

/* A short one-shot that fires and is received. */
static void oneshot_fires(struct sim *m, uint32_t tid)
{
	uint64_t id = create(m, tid, TL_KIND_AFTER, 3, 2 * MS, 0, 208);
	int64_t fire = 2 * MS + jitter(m, 50 * US), recv = fire + jitter(m, 10 * US);

	later(m, fire, tid, TL_REC_FIRE, id, TL_FIRE_DELIVERED);
	later(m, recv, tid, TL_REC_DRAIN, id, 0);
	later(m, recv + jitter(m, 1 * US), tid, TL_REC_RELEASE, id, 0);
	later(m, recv + jitter(m, 3 * US), tid, TL_REC_FREE, id, 0);
}

/* Reset of a long-lived timer (an idle timeout), sometimes with a stale
 * value waiting in its channel. */
static void reset_long(struct sim *m, uint32_t tid)
{
	struct tl_event e = {.id = m->long_timers[below(&m->s, LONG_TIMERS)],
			     .stack = site_stack(m, 4),
			     .duration = 30000 * MS,
			     .flags = TL_RESET_WAS_ACTIVE};

	if (below(&m->s, 10) == 0)
		e.flags |= TL_RESET_PENDING;
	write_event(m, TL_REC_RESET, tid, &e);
}

static void timerfd_cycle(struct sim *m, uint32_t tid)
{
	uint64_t id = create(m, tid, TL_KIND_TIMERFD, 5, 0, 0, 0);
	struct pending arm = {.at = m->now + jitter(m, 2 * US), .tid = tid, .type = TL_REC_ARM,
			      .e = {.id = id, .duration = 50 * MS}};
	int64_t fire = 50 * MS + jitter(m, 100 * US);

	schedule(m, &arm);
	later(m, fire, tid, TL_REC_FIRE, id, TL_FIRE_DELIVERED);
	later(m, fire + jitter(m, 4 * US), tid, TL_REC_FREE, id, 0);
}

/* time.After in a select loop: created, abandoned, never stopped. */
static void after_churn(struct sim *m, uint32_t tid)
{
	uint64_t id = create(m, tid, TL_KIND_AFTER, 6 + below(&m->s, 2), 60000 * MS, 0, 208);

	later(m, jitter(m, 5 * US), tid, TL_REC_RELEASE, id, 0);
}

/* The loop profile: one thread creates a timeout, does a few microseconds
 * of work, stops and frees it, and goes round again. */
static void loop_iteration(struct sim *m)
{
	uint32_t tid = m->tids[0];
	uint64_t id = create(m, tid, TL_KIND_TIMER, 1, 1000 * MS, 0, 208);
	int64_t work = jitter(m, 2 * US);

	later(m, work, tid, TL_REC_STOP, id, TL_STOP_WAS_ACTIVE);
	later(m, work + jitter(m, 200), tid, TL_REC_FREE, id, 0);
}

/* One arriving activity, weighted as a busy service's mix, on one of the
 * threads (a request stays on its thread). */
static void activity(struct sim *m)
{
	uint64_t r = below(&m->s, 100);
	uint32_t tid = m->tids[below(&m->s, m->o->threads)];

	if (m->o->profile == TL_WORKLOAD_LOOP)
		loop_iteration(m);
	else if (r < 40)
		request_timeout(m, tid);
	else if (r < 55)
		oneshot_fires(m, tid);
	else if (r < 70)
		reset_long(m, tid);
	else if (r < 75)
		timerfd_cycle(m, tid);
	else
		after_churn(m, tid);
}

/* A scheduled event comes due. A tick is received a little later (or
 * dropped when the reader is slow) and the next tick is scheduled. */
static void due(struct sim *m, const struct pending *p)
{
	write_event(m, p->type, p->tid, &p->e);
	if (p->ticker) {
		struct pending next = *p;

		next.at = m->now + 10 * MS - 500 * US + jitter(m, 500 * US);
		next.e.flags = below(&m->s, 50) ? TL_FIRE_DELIVERED : 0;
		schedule(m, &next);
		if (p->e.flags & TL_FIRE_DELIVERED)
			later(m, jitter(m, 20 * US), p->tid, TL_REC_DRAIN, p->e.id, 0);
	}
}

/* ---------------------------------------------------------------------------
 * The trace
 */

static void metadata(struct sim *m)
{
	static const char *const argv[] = {"/usr/bin/frontend", "--port", "8080"};
	struct tl_process p = {.pid = 4242, .ppid = 1, .wall_ns = 1700000000ull * 1000000000ull,
			       .mono_ns = (uint64_t)m->now, .exe = "/usr/bin/frontend",
			       .argc = 3, .argv = argv, .hostname = "web-1",
			       .unwinder = "libunwind", .depth = 64};
	static const uint8_t bid[20] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6,
					7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct tl_segment segs[2] = {{0, 0x5000, 0, 5}, {0x6000, 0x2000, 0x6000, 6}};
	struct tl_module mods[2] = {
		{1, 0x555555554000ull, bid, 20, "", 2, segs},
		{2, 0x7f3a12000000ull, bid, 20, "/usr/lib/x86_64-linux-gnu/libgotimer.so.1", 2,
		 segs},
	};
	char name[16];

	m->err = tl_trace_writer_process(m->w, &p);
	for (unsigned i = 0; i < m->o->threads && !m->err; i++) {
		m->tids[i] = 4242 + i;
		snprintf(name, sizeof(name), i ? "worker-%u" : "frontend", i);
		m->err = tl_trace_writer_thread(m->w, m->tids[i], name);
	}
	for (int i = 0; i < 2 && !m->err; i++)
		m->err = tl_trace_writer_module(m->w, m->now, &mods[i]);
	if (!m->err)
		m->err = tl_trace_writer_runtime(m->w, m->now, TL_MODE_ASYNC, "libgotimer", "1.0");
}

/* The long-lived timers: tickers (whose ticks schedule themselves) and
 * timers that get Reset. */
static void long_lived(struct sim *m)
{
	for (int i = 0; i < TICKERS; i++) {
		struct pending tick = {.tid = m->tids[i % m->o->threads], .type = TL_REC_FIRE,
				       .ticker = true};

		tick.e.id = create(m, tick.tid, TL_KIND_TICKER, 8, 10 * MS, 10 * MS, 232);
		tick.e.flags = TL_FIRE_DELIVERED;
		tick.at = m->now + 10 * MS + jitter(m, 100 * US);
		schedule(m, &tick);
	}
	for (int i = 0; i < LONG_TIMERS; i++)
		m->long_timers[i] = create(m, m->tids[0], TL_KIND_TIMER, 4, 30000 * MS, 0, 208);
}

/* Flush as the shim does: past chunk_bytes, or flush_ms after the last. */
static void maybe_flush(struct sim *m)
{
	size_t bytes = m->o->chunk_bytes ? m->o->chunk_bytes : (1u << 20);
	int64_t ms = m->o->flush_ms ? m->o->flush_ms : 200;

	if (tl_trace_writer_pending(m->w) < bytes && m->now - m->last_flush < ms * MS)
		return;
	if (!m->err)
		m->err = tl_trace_writer_flush(m->w);
	m->last_flush = m->now;
	/* A ring overflowed now and then, and someone asked for a snapshot:
	 * both are part of a real trace. */
	if (below(&m->s, 8) == 0 && !m->err)
		m->err = tl_trace_writer_dropped(m->w, m->now, m->tids[0], 1 + below(&m->s, 50),
						 TL_DROP_RING_FULL);
	if (below(&m->s, 16) == 0 && !m->err)
		m->err = tl_trace_writer_snapshot(m->w, m->now, ++m->snapshots);
}

int tl_workload_write(struct tl_trace_writer *w, const struct tl_workload_opts *o)
{
	static struct sim m; /* the heap is big for a stack; one user at a time */
	struct tl_workload_opts opts = *o;
	int64_t arrival, gap;

	if (opts.threads == 0)
		opts.threads = 8;
	if (opts.threads > MAX_THREADS)
		opts.threads = MAX_THREADS;
	memset(&m, 0, sizeof(m));
	m = (struct sim){.w = w, .o = &opts, .s = o->seed, .now = BASE_MONO, .next_id = 1};
	m.last_flush = m.now;
	if (opts.profile == TL_WORKLOAD_LOOP)
		opts.threads = 1;
	metadata(&m);
	if (opts.profile != TL_WORKLOAD_LOOP)
		long_lived(&m);
	gap = opts.profile == TL_WORKLOAD_LOOP ? LOOP_GAP : ARRIVAL_GAP;
	arrival = m.now + jitter(&m, gap);
	while (m.events < o->events && !m.err) {
		if (m.npending && m.heap[0].at <= arrival) {
			struct pending p = unschedule(&m);

			m.now = p.at;
			due(&m, &p);
		} else {
			m.now = arrival;
			activity(&m);
			arrival = m.now + jitter(&m, gap);
		}
		maybe_flush(&m);
	}
	if (!m.err)
		m.err = tl_trace_writer_end(w, m.now, m.events, 0);
	return m.err;
}

/* ---------------------------------------------------------------------------
 * The small trace
 */

static int small_meta(struct tl_trace_writer *w, int64_t t0)
{
	static const char *const argv[] = {"demo", "--leak", "quote\"d \\ tab\t"};
	static const uint8_t bid[4] = {0xab, 0xcd, 0xef, 0x01};
	static const uint64_t frames[3] = {0x401000, 0x401234, 0x7f0000001000};
	struct tl_process p = {100, 1, 1700000000000000000ull, (uint64_t)t0, "/usr/bin/demo",
			       3, argv, "host", "fp", 32, TL_PROCESS_FORKED};
	struct tl_segment segs[2] = {{0, 0x1000, 0, 5}, {0x2000, 0x800, 0x1000, 6}};
	struct tl_module mod = {1, 0x400000, bid, 4, "", 2, segs};
	struct tl_module lib = {2, 0x7f0000000000ull, NULL, 0, "/lib/libx.so", 1, segs};
	int err = 0;

	err = err ? err : tl_trace_writer_process(w, &p);
	err = err ? err : tl_trace_writer_thread(w, 100, "main");
	err = err ? err : tl_trace_writer_thread(w, 101, "worker");
	err = err ? err : tl_trace_writer_module(w, t0 + 1000, &mod);
	err = err ? err : tl_trace_writer_module(w, t0 + 2000, &lib);
	err = err ? err : tl_trace_writer_stack(w, 1, frames, 3);
	err = err ? err : tl_trace_writer_stack(w, 2, frames + 1, 2);
	err = err ? err : tl_trace_writer_runtime(w, t0 + 3000, TL_MODE_SYNC, "libgotimer", "1.0");
	err = err ? err : tl_trace_writer_flush(w);
	return err;
}

int tl_workload_small(struct tl_trace_writer *w)
{
	const int64_t t0 = 5000000000; /* 5 s after boot */
	const int64_t s = 1000000000;
	struct {
		int type;
		int64_t dt;
		uint32_t tid;
		struct tl_event e;
	} evs[] = {
		{TL_REC_CREATE, 10000, 100, {4, TL_KIND_TICKER, 1, s, s, 152, 0, 0}},
		{TL_REC_CREATE, 20000, 100, {2, TL_KIND_AFTER, 2, 5 * s, 0, 208, 0, 0}},
		{TL_REC_CREATE, 30000, 101, {3, TL_KIND_TIMERFD, 1, 0, 0, 0, 1, 0}},
		{TL_REC_ARM, 40000, 101, {3, 0, 0, 250000000, 0, 0, 0, TL_ARM_ABSOLUTE}},
		{TL_REC_FIRE, s, 100, {4, 0, 0, 0, 0, 0, 0, TL_FIRE_DELIVERED}},
		{TL_REC_DRAIN, s + 5000, 100, {4, 0, 0, 0, 0, 0, 0, 0}},
		{TL_REC_RESET, s + 9000, 100, {2, 0, 2, -3, 0, 0, 0,
					      TL_RESET_WAS_ACTIVE | TL_RESET_PENDING}},
		{TL_REC_STOP, 2 * s, 100, {4, 0, 0, 0, 0, 0, 0, TL_STOP_UNKNOWN}},
		{TL_REC_RELEASE, 2 * s + 1, 100, {2, 0, 0, 0, 0, 0, 0, 0}},
		{TL_REC_FREE, 2 * s + 2, 101, {3, 0, 0, 0, 0, 0, 0, 0}},
	};
	int err = small_meta(w, t0);

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]) && !err; i++) {
		err = tl_trace_writer_event(w, evs[i].type, t0 + evs[i].dt, evs[i].tid, &evs[i].e);
		if (!err && i == 4)
			err = tl_trace_writer_flush(w);
	}
	err = err ? err : tl_trace_writer_snapshot(w, t0 + 2 * s + 10, 1);
	err = err ? err : tl_trace_writer_module_unload(w, t0 + 2 * s + 20, 2);
	err = err ? err : tl_trace_writer_dropped(w, t0 + 2 * s + 30, 101, 7, TL_DROP_RING_FULL);
	err = err ? err : tl_trace_writer_flush(w);
	err = err ? err : tl_trace_writer_end(w, t0 + 3 * s, 10, 7);
	return err;
}
