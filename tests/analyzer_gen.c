/*
 * analyzer_gen - synthetic traces for timerleak-report's tests
 * (tests/analyzer_test.py), written through the trace writer, and seeds
 * for the analysis fuzzer (tests/analyzer_fuzz.c).
 *
 *   analyzer_gen SCENARIO FILE [ARG]   a trace of one scenario below
 *   analyzer_gen fuzzseed TRACE OUT    a recorded trace's records as the
 *                                      fuzzer's operations (analyzer_ops.h)
 *
 * Each scenario puts timers at a few creation sites (stack ids 1, 2, ...),
 * each site with the numbers a detector's threshold turns on, so that the
 * test can say which findings docs/detectors.md wants, with which count
 * and severity. Sites are named by stack id: frame 0 of stack N is
 * SITE_PC(N), in a module whose file does not exist (the report shows
 * module+offset). Everything is fixed: the report's text is stable.
 *
 * Exit 0, or 1 with a message.
 */
#include "analyzer_ops.h"
#include "tl_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS 1000000LL
#define S  1000000000LL

#define EXE	   "/nonexistent/analyzer-test/service"
#define BIAS	   0x555555554000ull
#define SITE_PC(n) (BIAS + 0x1000 + 0x100 * (uint64_t)(n))
#define TID	   4242
#define STARTUP	   (1 * S)

struct gen {
	struct tl_trace_writer *w;
	int64_t now;  /* advances 1 ms per event unless a scenario says */
	uint64_t events;
	int err;
};

static void check(struct gen *g, int err)
{
	if (err && !g->err)
		g->err = err;
}

/* The metadata every scenario starts with; mode 0 writes no runtime
 * record (a process without a Go-style runtime, or an unknown mode). */
static void begin(struct gen *g, int mode, uint32_t flags)
{
	static const char *const argv[] = {EXE, "--port", "8080"};
	static const uint8_t bid[20] = {0xa1, 0x7e, 0x57, 0x00, 1, 2, 3, 4, 5, 6,
					7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct tl_process p = {.pid = TID, .ppid = 1, .wall_ns = 1700000000ull * 1000000000ull,
			       .mono_ns = (uint64_t)g->now, .exe = EXE, .argc = 3, .argv = argv,
			       .hostname = "ci", .unwinder = "fp", .depth = 32, .flags = flags};
	struct tl_segment seg = {0, 0x10000, 0, 5};
	struct tl_module m = {1, BIAS, bid, sizeof(bid), "", 1, &seg};

	check(g, tl_trace_writer_process(g->w, &p));
	check(g, tl_trace_writer_thread(g->w, TID, "main"));
	check(g, tl_trace_writer_module(g->w, g->now, &m));
	if (mode)
		check(g, tl_trace_writer_runtime(g->w, g->now, mode, "libgotimer", "1.0"));
	/* A second of start-up before the scenario's timers: what a site
	 * creates from then on, and keeps, grew after start-up (the window's
	 * first quarter), as a leak does (docs/detectors.md). */
	g->now += STARTUP;
}

/* Stack n: its site's pc, then two callers shared by every site. */
static void stack(struct gen *g, uint32_t n)
{
	uint64_t f[3] = {SITE_PC(n), BIAS + 0x3010, BIAS + 0x3120};

	check(g, tl_trace_writer_stack(g->w, n, f, 3));
}

static void event(struct gen *g, int type, const struct tl_event *e)
{
	g->now += MS;
	g->events++;
	check(g, tl_trace_writer_event(g->w, type, g->now, TID, e));
}

static void create(struct gen *g, uint64_t id, uint32_t kind, uint32_t stk, int64_t dur,
		   int64_t period, uint64_t size)
{
	struct tl_event e = {.id = id, .kind = kind, .stack = stk, .duration = dur,
			     .period = period, .size = size};

	event(g, TL_REC_CREATE, &e);
}

static void simple(struct gen *g, int type, uint64_t id, uint32_t flags)
{
	struct tl_event e = {.id = id, .flags = flags};

	event(g, type, &e);
}

static void arm(struct gen *g, uint64_t id, int64_t value, int64_t interval)
{
	struct tl_event e = {.id = id, .duration = value, .period = interval};

	event(g, TL_REC_ARM, &e);
}

static void reset(struct gen *g, uint64_t id, uint32_t stk, int64_t dur, uint32_t flags)
{
	struct tl_event e = {.id = id, .stack = stk, .duration = dur, .flags = flags};

	event(g, TL_REC_RESET, &e);
}

static void end(struct gen *g, uint64_t dropped)
{
	g->now += MS;
	check(g, tl_trace_writer_end(g->w, g->now, g->events, dropped));
}

/* Ids as the shim makes them: libgotimer timers even, kernel timers odd. */
static uint64_t next_gt = 2, next_k = 1;

static uint64_t gt_id(void)
{
	uint64_t id = next_gt;

	next_gt += 2;
	return id;
}

static uint64_t k_id(void)
{
	uint64_t id = next_k;

	next_k += 2;
	return id;
}

/* ---------------------------------------------------------------------------
 * Scenarios
 */

/*
 * drops [N]: five sites that leak, and N events lost (6/10 of them to a
 * full ring, the rest to a failed write). A finding whose count is at most
 * N is uncertain: stack 1, 5 tickers; stack 2, 10 POSIX timers (the
 * boundary at N = 10). Not: stack 3, 11 POSIX timers; stack 4, 200
 * timerfds; stack 5, 150 after-timers abandoned, retained (async).
 */
static void drops(struct gen *g, uint64_t lost)
{
	begin(g, TL_MODE_ASYNC, 0);
	for (uint32_t s = 1; s <= 5; s++)
		stack(g, s);
	for (int i = 0; i < 5; i++)
		create(g, gt_id(), TL_KIND_TICKER, 1, 10 * MS, 10 * MS, 152);
	for (int i = 0; i < 21; i++) {
		uint64_t id = k_id();

		create(g, id, TL_KIND_POSIX, i < 10 ? 2 : 3, 0, 0, 384);
		arm(g, id, 5 * S, 0);
		simple(g, TL_REC_STOP, id, TL_STOP_WAS_ACTIVE);
	}
	if (lost) {
		uint64_t ring = lost * 6 / 10;

		if (ring)
			check(g, tl_trace_writer_dropped(g->w, g->now, TID, ring, TL_DROP_RING_FULL));
		if (lost - ring)
			check(g, tl_trace_writer_dropped(g->w, g->now, 0, lost - ring,
							 TL_DROP_WRITE_FAILED));
		check(g, tl_trace_writer_flush(g->w));
	}
	for (int i = 0; i < 200; i++) {
		uint64_t id = k_id();

		create(g, id, TL_KIND_TIMERFD, 4, 0, 0, 512);
		arm(g, id, 1 * S, 1 * S);
	}
	for (int i = 0; i < 150; i++) {
		uint64_t id = gt_id();

		create(g, id, TL_KIND_AFTER, 5, 3600 * S, 0, 152);
		simple(g, TL_REC_RELEASE, id, 0);
	}
	end(g, lost);
}

/*
 * not_freed: libgotimer timers done (fired or stopped) and never freed.
 * Stack 1, 3 timers fired and drained; stack 2, 2 of them (below
 * --min-count); stack 3, 3 callback timers that ran; stack 4, 3 timers
 * stopped, released and freed (correct); stack 5, 4 timers stopped and
 * kept.
 */
static void not_freed(struct gen *g)
{
	begin(g, TL_MODE_SYNC, 0);
	for (uint32_t s = 1; s <= 5; s++)
		stack(g, s);
	for (int i = 0; i < 5; i++) {
		uint64_t id = gt_id();

		create(g, id, TL_KIND_TIMER, i < 3 ? 1 : 2, 5 * MS, 0, 152);
		simple(g, TL_REC_FIRE, id, TL_FIRE_DELIVERED);
		simple(g, TL_REC_DRAIN, id, 0);
	}
	for (int i = 0; i < 3; i++) {
		uint64_t id = gt_id();

		create(g, id, TL_KIND_AFTERFUNC, 3, 5 * MS, 0, 72);
		simple(g, TL_REC_FIRE, id, TL_FIRE_DELIVERED);
	}
	for (int i = 0; i < 7; i++) {
		uint64_t id = gt_id();

		create(g, id, TL_KIND_TIMER, i < 3 ? 4 : 5, 5 * S, 0, 152);
		simple(g, TL_REC_STOP, id, TL_STOP_WAS_ACTIVE);
		if (i < 3) {
			simple(g, TL_REC_RELEASE, id, 0);
			simple(g, TL_REC_FREE, id, 0);
		}
	}
	end(g, 0);
}

/* A ticker that ticks n times, dropping the first `dropped` ticks, then
 * (if stop) is stopped, released and freed. */
static void ticker(struct gen *g, uint32_t stk, int n, int dropped, int stop)
{
	uint64_t id = gt_id();

	create(g, id, TL_KIND_TICKER, stk, 10 * MS, 10 * MS, 152);
	for (int i = 0; i < n; i++) {
		simple(g, TL_REC_FIRE, id, i < dropped ? 0 : TL_FIRE_DELIVERED);
		if (i >= dropped)
			simple(g, TL_REC_DRAIN, id, 0);
	}
	if (!stop)
		return;
	simple(g, TL_REC_STOP, id, TL_STOP_UNKNOWN);
	simple(g, TL_REC_RELEASE, id, 0);
	simple(g, TL_REC_FREE, id, 0);
}

/*
 * ticks: slow ticker readers. Stack 1, 200 ticks of which 150 dropped,
 * then stopped (a note); stack 2, three tickers never stopped that drop
 * 60 of 100 ticks each (the never-stopped leak only); stack 3, 99 of 200
 * dropped, and stack 4, 99 of 99 (neither); stack 5, 50 of 100 (a note:
 * the boundary).
 */
static void ticks(struct gen *g)
{
	begin(g, TL_MODE_ASYNC, 0);
	for (uint32_t s = 1; s <= 5; s++)
		stack(g, s);
	ticker(g, 1, 200, 150, 1);
	for (int i = 0; i < 3; i++)
		ticker(g, 2, 100, 60, 0);
	ticker(g, 3, 200, 99, 1);
	ticker(g, 4, 99, 99, 1);
	ticker(g, 5, 100, 50, 1);
	end(g, 0);
}

/*
 * resets MODE (none, async, sync): resets while a fired value waited.
 * Timer A (stack 1) is reset at stack 2 three times with a value waiting
 * and five times without, and at stack 3 once with one; timer B (stack 4)
 * at stack 2 twice with one: three findings, (2, A) 3, (3, A) 1, (2, B) 2.
 * Timer C (stack 5) is reset 10 times, always Stop-drained first: none.
 */
static void resets(struct gen *g, const char *mode)
{
	int m = strcmp(mode, "async") == 0 ? TL_MODE_ASYNC : strcmp(mode, "sync") == 0 ? TL_MODE_SYNC : 0;
	uint64_t a = gt_id(), b = gt_id(), c = gt_id();

	begin(g, m, 0);
	for (uint32_t s = 1; s <= 5; s++)
		stack(g, s);
	create(g, a, TL_KIND_TIMER, 1, 10 * MS, 0, 152);
	create(g, b, TL_KIND_TIMER, 4, 10 * MS, 0, 152);
	create(g, c, TL_KIND_TIMER, 5, 10 * MS, 0, 152);
	for (int i = 0; i < 8; i++) {
		simple(g, TL_REC_FIRE, a, TL_FIRE_DELIVERED);
		if (i >= 3)
			simple(g, TL_REC_DRAIN, a, 0);
		reset(g, a, 2, 10 * MS, i < 3 ? TL_RESET_PENDING : 0);
	}
	simple(g, TL_REC_FIRE, a, TL_FIRE_DELIVERED);
	reset(g, a, 3, 10 * MS, TL_RESET_PENDING);
	for (int i = 0; i < 2; i++) {
		simple(g, TL_REC_FIRE, b, TL_FIRE_DELIVERED);
		reset(g, b, 2, 10 * MS, TL_RESET_PENDING);
	}
	for (int i = 0; i < 10; i++) {
		simple(g, TL_REC_FIRE, c, TL_FIRE_DELIVERED);
		simple(g, TL_REC_STOP, c, 0);
		simple(g, TL_REC_DRAIN, c, 0);
		reset(g, c, 2, 10 * MS, 0);
	}
	for (uint64_t id = a; id <= c; id += 2) {
		simple(g, TL_REC_STOP, id, TL_STOP_WAS_ACTIVE);
		simple(g, TL_REC_RELEASE, id, 0);
		simple(g, TL_REC_FREE, id, 0);
	}
	end(g, 0);
}

/* n one-shot channel timers of kind at stack stk: `abandoned` of them
 * released while pending, the others fired, drained and released. With
 * keep 0 an abandoned timer is freed at once (sync mode); else it stays
 * pending (async mode), at most keep at once: before a create that would
 * make one more, the oldest fires at last and goes. */
static void oneshots(struct gen *g, uint32_t kind, uint32_t stk, int n, int abandoned, int keep)
{
	uint64_t ids[128];
	int held = 0;

	for (int i = 0; i < n; i++) {
		uint64_t id;

		if (keep && held == keep) {
			simple(g, TL_REC_FIRE, ids[0], TL_FIRE_DELIVERED);
			simple(g, TL_REC_FREE, ids[0], 0);
			memmove(ids, ids + 1, (size_t)--held * sizeof(ids[0]));
		}
		id = gt_id();
		create(g, id, kind, stk, 3600 * S, 0, 152);
		if (i >= abandoned) {
			simple(g, TL_REC_FIRE, id, TL_FIRE_DELIVERED);
			simple(g, TL_REC_DRAIN, id, 0);
			simple(g, TL_REC_RELEASE, id, 0);
			simple(g, TL_REC_FREE, id, 0);
			continue;
		}
		simple(g, TL_REC_RELEASE, id, 0);
		if (keep)
			ids[held++] = id;
		else
			simple(g, TL_REC_FREE, id, 0);
	}
}

/*
 * churn: the after-in-loop thresholds (at least 100 created, at least 90%
 * abandoned; retained when at least 100 pending at once). Stack 1, 90 of
 * 100 abandoned, none kept (churn); stack 2, 89 of 100 (none); stack 3,
 * 99 of 99 (none); stack 4, 100 of 100 timers kept pending (retained);
 * stack 5, 120 of 120 with at most 99 pending at once (churn).
 */
static void churn(struct gen *g)
{
	begin(g, TL_MODE_ASYNC, 0);
	for (uint32_t s = 1; s <= 5; s++)
		stack(g, s);
	oneshots(g, TL_KIND_AFTER, 1, 100, 90, 0);
	oneshots(g, TL_KIND_AFTER, 2, 100, 89, 0);
	oneshots(g, TL_KIND_AFTER, 3, 99, 99, 0);
	oneshots(g, TL_KIND_TIMER, 4, 100, 100, 100);
	oneshots(g, TL_KIND_AFTER, 5, 120, 120, 99);
	end(g, 0);
}

/*
 * unknown: a child after fork, with timers it inherited. Two timerfds
 * (ids 1001, 1003) are armed and fire but were created before the trace;
 * timerfd 5 (stack 1) is created, closed, and then an event of it comes
 * late, as does one of id 3, never seen: two orphan events. Three
 * timerfds at stack 2 stay open: the one leak.
 */
static void unknown(struct gen *g)
{
	begin(g, 0, TL_PROCESS_FORKED);
	stack(g, 1);
	stack(g, 2);
	arm(g, 1001, 1 * S, 1 * S);
	arm(g, 1003, 1 * S, 0);
	simple(g, TL_REC_FIRE, 1001, TL_FIRE_DELIVERED);
	create(g, 5, TL_KIND_TIMERFD, 1, 0, 0, 512);
	simple(g, TL_REC_FREE, 5, 0);
	simple(g, TL_REC_STOP, 5, 0);
	simple(g, TL_REC_FIRE, 3, TL_FIRE_DELIVERED);
	for (uint64_t id = 7; id <= 11; id += 2)
		create(g, id, TL_KIND_TIMERFD, 2, 0, 0, 512);
	end(g, 0);
}

/*
 * forever: three timerfds (stack 1) armed to expire in about 292 years
 * (INT64_MAX ns, what an "arm it for ever" caller gets), and one (stack 2)
 * armed for 2^62 ns: all four are still armed at the end.
 */
static void forever(struct gen *g)
{
	begin(g, 0, 0);
	stack(g, 1);
	stack(g, 2);
	g->now += 10 * S;
	for (int i = 0; i < 4; i++) {
		uint64_t id = k_id();

		create(g, id, TL_KIND_TIMERFD, i < 3 ? 1 : 2, 0, 0, 512);
		arm(g, id, i < 3 ? INT64_MAX : (int64_t)1 << 62, 0);
	}
	end(g, 0);
}

/* n callback timers at stack stk, each 72 B and an argument of arg bytes,
 * pending together, then all fired and freed (if done). */
static void callbacks(struct gen *g, uint32_t stk, int n, uint64_t arg, int done)
{
	uint64_t first = next_gt;

	for (int i = 0; i < n; i++) {
		struct tl_event e = {.id = gt_id(), .kind = TL_KIND_AFTERFUNC, .stack = stk,
				     .duration = 5 * S, .size = 72, .aux = arg};

		event(g, TL_REC_CREATE, &e);
	}
	for (int i = 0; done && i < n; i++) {
		simple(g, TL_REC_FIRE, first + 2 * (uint64_t)i, TL_FIRE_DELIVERED);
		simple(g, TL_REC_RELEASE, first + 2 * (uint64_t)i, 0);
		simple(g, TL_REC_FREE, first + 2 * (uint64_t)i, 0);
	}
}

/*
 * callbacks: the callback-retention thresholds (at least 20 pending at
 * once, holding at least 1 MiB together). Stack 1, 20 callbacks of 52,358
 * B arguments: 20 x 52,430 = 1,048,600 B (a leak, still pending at the
 * end); stack 2, 20 of 52,356 B: 1,048,560 B (none); stack 3, 19 of 1 MiB
 * (none); stack 4, 1,000 with no argument, 72 KB (none); stack 5, 40 of
 * 64 KiB, all run by the end (a leak: retention is about the peak).
 */
static void callback_sites(struct gen *g)
{
	begin(g, TL_MODE_ASYNC, 0);
	for (uint32_t s = 1; s <= 5; s++)
		stack(g, s);
	callbacks(g, 1, 20, 52358, 0);
	callbacks(g, 2, 20, 52356, 1);
	callbacks(g, 3, 19, 1 << 20, 1);
	callbacks(g, 4, 1000, 0, 1);
	callbacks(g, 5, 40, 64 << 10, 1);
	end(g, 0);
}

/*
 * id_rules: the writer keeps the id rules (docs/trace-format.md, "Timer
 * ids"): it refuses a create with id 0, a kernel timer with an even id and
 * a runtime timer with an odd one, and writes none of them. Then three
 * timerfds, ids 1, 3 and 5 (stack 1), stay open: one leak of 3.
 */
static void id_rules(struct gen *g)
{
	static const struct tl_event bad[] = {
		{.id = 0, .kind = TL_KIND_TIMERFD},
		{.id = 2, .kind = TL_KIND_TIMERFD},
		{.id = 3, .kind = TL_KIND_TICKER},
	};

	begin(g, 0, 0);
	stack(g, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tl_trace_writer_event(g->w, TL_REC_CREATE, g->now, TID, &bad[i]) !=
		    TL_TRACE_E_INVAL) {
			fprintf(stderr, "analyzer_gen: id_rules: the writer took a create with id %"
					PRIu64 " of kind %s\n",
				bad[i].id, tl_kind_name((int)bad[i].kind));
			check(g, TL_TRACE_E_INVAL);
		}
	for (uint64_t n = 0; n < 3; n++) {
		create(g, tl_id_make(TL_ID_KERNEL, n), TL_KIND_TIMERFD, 1, 0, 0, 512);
		arm(g, tl_id_make(TL_ID_KERNEL, n), 1 * S, 1 * S);
	}
	end(g, 0);
}

/*
 * late_create: what the shim writes when a callback timer fires and is
 * freed on other threads before the call that created it has returned: the
 * fire and the free of id 4 come before its create, and after the create of
 * id 6 (a higher id). Then ids 8 and 10 are created and freed in order, and
 * a stop arrives for id 8 after its free. Id 10's fire (on the timer
 * thread) is written after its free but happened before it. Expected: four
 * callback timers created and freed at stack 1, all four fired, one orphan
 * event (the stop), no timer from before the trace, and no finding.
 */
static void late_create(struct gen *g)
{
	begin(g, TL_MODE_SYNC, 0);
	stack(g, 1);
	create(g, 6, TL_KIND_AFTERFUNC, 1, 1 * MS, 0, 72);
	simple(g, TL_REC_FIRE, 4, TL_FIRE_DELIVERED);
	simple(g, TL_REC_FREE, 4, 0);
	create(g, 4, TL_KIND_AFTERFUNC, 1, 1 * MS, 0, 72);
	simple(g, TL_REC_FIRE, 6, TL_FIRE_DELIVERED);
	simple(g, TL_REC_FREE, 6, 0);
	create(g, 8, TL_KIND_AFTERFUNC, 1, 1 * MS, 0, 72);
	simple(g, TL_REC_FIRE, 8, TL_FIRE_DELIVERED);
	simple(g, TL_REC_FREE, 8, 0);
	simple(g, TL_REC_STOP, 8, 0);
	create(g, 10, TL_KIND_AFTERFUNC, 1, 1 * MS, 0, 72);
	simple(g, TL_REC_FREE, 10, 0);
	g->events++;
	check(g, tl_trace_writer_event(g->w, TL_REC_FIRE, g->now - MS / 2, TID + 1,
				       &(struct tl_event){.id = 10, .flags = TL_FIRE_DELIVERED}));
	end(g, 0);
}

/*
 * far_start: a process record whose mono_ns is past 2^63 (a damaged or
 * foreign clock), then the ordinary events of three unclosed timerfds
 * (stack 1). Whatever the report makes of the times, it must not crash.
 */
static void far_start(struct gen *g)
{
	static const char *const argv[] = {EXE};
	struct tl_process p = {.pid = TID, .ppid = 1, .mono_ns = (1ull << 63) + 1000, .exe = EXE,
			       .argc = 1, .argv = argv, .hostname = "ci", .unwinder = "fp",
			       .depth = 32};

	check(g, tl_trace_writer_process(g->w, &p));
	stack(g, 1);
	for (int i = 0; i < 3; i++)
		create(g, k_id(), TL_KIND_TIMERFD, 1, 0, 0, 512);
	end(g, 0);
}

/*
 * lost: losses of every reason, 1 to 5 events each (15 in all, 5 of them
 * kernel timers the recorder could not follow), beside three sites that
 * grow: stack 1, 20 timerfds left open; stack 2, 20 POSIX timers never
 * deleted; stack 3, 20 tickers never stopped. The untracked timers make
 * both kernel findings uncertain whatever their count; the ticker's is
 * certain (20 is above the 15 lost).
 */
/*
 * attached: what an attached recorder writes. The process (pid 4242) had
 * run for 90 s when the recording began. At attach: 4 timerfds open (existing, no stack, periodic)
 * and nothing else. A ticker made before, first seen at its stop (stack
 * 3, existing). A timer first seen at a fire (existing, no stack), then
 * reset 4 times at stack 2 with a value waiting: stack 2 becomes its site.
 * Then a site (stack 1) opens 30 timerfds it never closes: a leak.
 * Expected: the attached line, 6 timers from before the trace, one leak of
 * 30 at stack 1, a reset-without-drain warning of 4 whose site and call are
 * stack 2, and no finding of the 4 found open (they had no part in the
 * growth).
 */
static void attached(struct gen *g)
{
	struct tl_event ex = {.kind = TL_KIND_TIMERFD, .duration = 1 * S, .period = 1 * S};

	begin(g, TL_MODE_ASYNC, TL_PROCESS_ATTACHED);
	check(g, tl_trace_writer_attached(g->w, g->now - STARTUP - 90 * S));
	for (uint32_t s = 1; s <= 3; s++)
		stack(g, s);
	for (int i = 0; i < 4; i++) {
		ex.id = k_id();
		check(g, tl_trace_writer_existing(g->w, g->now - STARTUP, &ex));
	}
	ex = (struct tl_event){.id = gt_id(), .kind = TL_KIND_TIMER, .size = 152};
	check(g, tl_trace_writer_existing(g->w, g->now - STARTUP, &ex));
	simple(g, TL_REC_FIRE, ex.id, TL_FIRE_DELIVERED);
	for (int i = 0; i < 4; i++)
		reset(g, ex.id, 2, 10 * MS, TL_RESET_PENDING);
	for (int i = 0; i < 30; i++) {
		uint64_t id = k_id();

		create(g, id, TL_KIND_TIMERFD, 1, 0, 0, 512);
		arm(g, id, 1 * S, 1 * S);
		g->now += 50 * MS;
	}
	ex = (struct tl_event){.id = gt_id(), .kind = TL_KIND_TICKER, .stack = 3,
			       .duration = 100 * MS, .period = 100 * MS, .size = 152};
	check(g, tl_trace_writer_existing(g->w, g->now, &ex));
	simple(g, TL_REC_STOP, ex.id, TL_STOP_WAS_ACTIVE);
	end(g, 0);
}

/* no_events: what a recorder has written before the first timer event:
 * its process, thread and module records, no end. */
static void no_events(struct gen *g)
{
	begin(g, TL_MODE_ASYNC, 0);
	check(g, tl_trace_writer_flush(g->w));
}

/*
 * go MODE (async, sync): a Go program's timers, as timerleak-record writes
 * them (no release, no free: live while pending), under Go 1.22's
 * asynchronous channels or 1.23's synchronous ones. Stack 1: 20 tickers
 * never stopped, one every 50 ms; stack 2: 150 time.After abandoned, still
 * pending at the end; stack 3: 30 AfterFuncs still waiting, one every
 * 50 ms; stack 4: 200 time.After that each fired; stack 5: 150 NewTimers
 * each stopped.
 */
static void go_timers(struct gen *g, const char *mode)
{
	bool sync = strcmp(mode, "sync") == 0;

	begin(g, 0, 0);
	check(g, tl_trace_writer_runtime(g->w, g->now, sync ? TL_MODE_SYNC : TL_MODE_ASYNC, "go",
					 sync ? "go1.23.4" : "go1.22.5"));
	for (uint32_t s = 1; s <= 5; s++)
		stack(g, s);
	for (int i = 0; i < 30; i++) {
		if (i < 20)
			create(g, gt_id(), TL_KIND_GO_TICKER, 1, 10 * MS, 10 * MS, 208);
		create(g, gt_id(), TL_KIND_GO_AFTERFUNC, 3, 3600 * S, 0, 80);
		g->now += 50 * MS;
	}
	for (int i = 0; i < 150; i++)
		create(g, gt_id(), TL_KIND_GO_AFTER, 2, 3600 * S, 0, 208);
	for (int i = 0; i < 200; i++) {
		uint64_t id = gt_id();

		create(g, id, TL_KIND_GO_AFTER, 4, 10 * MS, 0, 208);
		simple(g, TL_REC_FIRE, id, TL_FIRE_DELIVERED);
	}
	for (int i = 0; i < 150; i++) {
		uint64_t id = gt_id();

		create(g, id, TL_KIND_GO_TIMER, 5, 3600 * S, 0, 208);
		simple(g, TL_REC_STOP, id, TL_STOP_WAS_ACTIVE);
	}
	end(g, 0);
}

/*
 * go_site: a Go program's stack, for the symbolizer: the executable is the
 * Go binary given (spec "BINARY:PC,PC,..."), loaded at its link-time
 * addresses with no build-id recorded; 30 timerfds opened over 1.5 s at
 * that stack and never closed, after a second of start-up. Expected: one
 * unclosed-timerfd leak whose frames name the Go functions at their lines.
 */
static void go_site(struct gen *g, const char *spec)
{
	char exe[4096];
	const char *colon = strrchr(spec, ':'), *p;
	uint64_t frames[16];
	uint32_t n = 0;

	if (!colon || (size_t)(colon - spec) >= sizeof(exe)) {
		fprintf(stderr, "analyzer_gen go_site: BINARY:PC,PC,... wanted\n");
		exit(1);
	}
	memcpy(exe, spec, (size_t)(colon - spec));
	exe[colon - spec] = '\0';
	for (p = colon + 1; *p && n < 16; p += strcspn(p, ","), p += *p == ',')
		frames[n++] = strtoull(p, NULL, 16);
	{
		const char *argv[] = {exe};
		struct tl_process pr = {.pid = TID, .ppid = 1,
					.wall_ns = 1700000000ull * 1000000000ull,
					.mono_ns = (uint64_t)g->now, .exe = exe, .argc = 1, .argv = argv,
					.hostname = "ci", .unwinder = "bpf", .depth = 32};
		struct tl_segment seg = {0x400000, 0x4000000, 0, 5};
		struct tl_module m = {1, 0, NULL, 0, "", 1, &seg};

		check(g, tl_trace_writer_process(g->w, &pr));
		check(g, tl_trace_writer_thread(g->w, TID, "main"));
		check(g, tl_trace_writer_module(g->w, g->now, &m));
	}
	g->now += STARTUP;
	check(g, tl_trace_writer_stack(g->w, 1, frames, n));
	for (int i = 0; i < 30; i++) {
		uint64_t id = k_id();

		create(g, id, TL_KIND_TIMERFD, 1, 0, 0, 512);
		arm(g, id, 1 * S, 1 * S);
		g->now += 50 * MS;
	}
	end(g, 0);
}

static void lost(struct gen *g)
{
	begin(g, TL_MODE_ASYNC, 0);
	for (uint32_t s = 1; s <= 3; s++)
		stack(g, s);
	for (int reason = TL_DROP_RING_FULL; reason <= TL_DROP_MAX; reason++)
		check(g, tl_trace_writer_dropped(g->w, g->now, reason == TL_DROP_RING_FULL ? TID : 0,
						 (uint64_t)reason, reason));
	for (int i = 0; i < 20; i++) {
		create(g, k_id(), TL_KIND_TIMERFD, 1, 0, 0, 512);
		create(g, k_id(), TL_KIND_POSIX, 2, 0, 0, 384);
		create(g, gt_id(), TL_KIND_TICKER, 3, 10 * MS, 10 * MS, 152);
	}
	end(g, 15);
}

/*
 * snapshots: the snapshot signal twice, with 10 then 30 tickers live, then
 * 10 more: the report lists both, with their live counts.
 */
static void snapshots(struct gen *g)
{
	begin(g, TL_MODE_ASYNC, 0);
	stack(g, 1);
	for (int i = 0; i < 40; i++) {
		if (i == 10 || i == 30)
			check(g, tl_trace_writer_snapshot(g->w, g->now, i == 10 ? 1 : 2));
		create(g, gt_id(), TL_KIND_TICKER, 1, 10 * MS, 10 * MS, 152);
	}
	end(g, 0);
}

/*
 * sparse_stack ID: one stack, numbered ID (the format numbers stacks
 * "from 1", not densely), where three timerfds are created and left open:
 * one leak of 3.
 */
static void sparse_stack(struct gen *g, uint32_t id)
{
	uint64_t f[3] = {SITE_PC(1), BIAS + 0x3010, BIAS + 0x3120};

	begin(g, 0, 0);
	check(g, tl_trace_writer_stack(g->w, id, f, 3));
	for (int i = 0; i < 3; i++)
		create(g, k_id(), TL_KIND_TIMERFD, id, 0, 0, 512);
	end(g, 0);
}

/* ---------------------------------------------------------------------------
 * fuzzseed: a trace's records as operations (analyzer_ops.h)
 */

#define SEED_MAX_RECORDS 3000

struct seed {
	uint8_t *buf;
	size_t len, cap;
	int64_t now;
	uint64_t id;
};

static int put(struct seed *s, const uint8_t *p, size_t n)
{
	if (s->len + n > s->cap) {
		size_t ncap = (s->cap ? s->cap * 2 : 4096) + n;
		uint8_t *b = realloc(s->buf, ncap);

		if (!b)
			return -1;
		s->buf = b;
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

static int op(struct seed *s, int code)
{
	uint8_t b = (uint8_t)code;

	return put(s, &b, 1);
}

static int var(struct seed *s, uint64_t v)
{
	uint8_t b[10];

	return put(s, b, an_put_var(b, v));
}

static int svar(struct seed *s, int64_t v)
{
	uint8_t b[10];

	return put(s, b, an_put_svar(b, v));
}

static int dt(struct seed *s, int64_t time)
{
	int64_t d = (int64_t)((uint64_t)time - (uint64_t)s->now);

	s->now = time;
	return svar(s, d);
}

static int seed_event(struct seed *s, const struct tl_record *r)
{
	const struct tl_event *e = &r->ev;
	int err = op(s, AN_OP_CREATE + (r->type - TL_REC_CREATE)) || dt(s, r->time) ||
		  svar(s, (int64_t)(e->id - s->id)) || var(s, r->tid);

	s->id = e->id;
	switch (r->type) {
	case TL_REC_CREATE:
		return err || var(s, e->kind) || var(s, e->stack) || svar(s, e->duration) ||
		       svar(s, e->period) || var(s, e->size) || var(s, e->aux);
	case TL_REC_ARM:
		return err || svar(s, e->duration) || svar(s, e->period) || var(s, e->flags);
	case TL_REC_RESET:
		return err || var(s, e->stack) || svar(s, e->duration) || svar(s, e->period) ||
		       var(s, e->flags);
	case TL_REC_STOP:
	case TL_REC_FIRE:
		return err || var(s, e->flags);
	default:
		return err;
	}
}

static int seed_record(struct seed *s, const struct tl_record *r)
{
	if (tl_rec_is_event(r->type))
		return seed_event(s, r);
	switch (r->type) {
	case TL_REC_STACK: {
		int err = op(s, AN_OP_STACK) || var(s, r->stack.id) || var(s, r->stack.n);

		for (uint32_t i = 0; i < r->stack.n && !err; i++)
			err = var(s, r->stack.frames[i]);
		return err;
	}
	case TL_REC_DROPPED:
		return op(s, AN_OP_DROPPED) || dt(s, r->time) || var(s, r->dropped.tid) ||
		       var(s, r->dropped.count) || var(s, (uint64_t)r->dropped.reason);
	case TL_REC_SNAPSHOT:
		return op(s, AN_OP_SNAPSHOT) || dt(s, r->time) || var(s, r->snapshot.seq);
	case TL_REC_RUNTIME:
		return op(s, AN_OP_RUNTIME) || dt(s, r->time) || var(s, (uint64_t)r->runtime.mode) ||
		       var(s, strcmp(r->runtime.name, "libgotimer") ? 2 : 0);
	case TL_REC_END:
		return op(s, AN_OP_FLUSH) || op(s, AN_OP_END) || dt(s, r->time) ||
		       var(s, r->end.events) || var(s, r->end.dropped);
	default:
		return 0; /* process, threads and modules: the mode byte's, or none */
	}
}

/* The mode byte says: a process record, the trace's runtime mode, its
 * time_shift; every other record follows as an operation. A record the
 * shim flushed after is followed by a flush, now and then, so that seeds
 * have several chunks. */
static int fuzzseed(const char *in, const char *out)
{
	struct seed s = {.now = AN_T0};
	struct tl_trace_reader *r;
	struct tl_trace_reader_stats st;
	struct tl_record rec;
	uint64_t n = 0;
	int err = 0, got, mode = 0;
	FILE *f;

	r = tl_trace_reader_open(in, &err);
	if (!r) {
		fprintf(stderr, "analyzer_gen: %s: %s\n", in, tl_trace_strerror(err));
		return 1;
	}
	tl_trace_reader_stats(r, &st);
	err = op(&s, 0) || op(&s, 0); /* the mode byte, set below, and the options */
	while (!err && n < SEED_MAX_RECORDS && (got = tl_trace_reader_next(r, &rec)) > 0) {
		if (rec.type == TL_REC_PROCESS)
			mode |= AN_MODE_PROCESS;
		else if (rec.type == TL_REC_RUNTIME && !AN_MODE_RUNTIME(mode))
			mode |= (rec.runtime.mode & 3) << 2;
		else
			err = seed_record(&s, &rec);
		if (!err && ++n % 500 == 0)
			err = op(&s, AN_OP_FLUSH);
	}
	tl_trace_reader_close(r);
	if (err || !s.buf) {
		fprintf(stderr, "analyzer_gen: %s: out of memory\n", in);
		return 1;
	}
	s.buf[0] = (uint8_t)(mode | (st.time_shift > 15 ? 15 : st.time_shift) << 4);
	f = fopen(out, "wb");
	if (!f || fwrite(s.buf, 1, s.len, f) != s.len || fclose(f) != 0) {
		fprintf(stderr, "analyzer_gen: %s: %s\n", out, strerror(errno));
		return 1;
	}
	free(s.buf);
	return 0;
}

/* ---------------------------------------------------------------------------
 * main
 */

static int usage(void)
{
	fputs("usage: analyzer_gen drops FILE [LOST]\n"
	      "       analyzer_gen not_freed|ticks|churn|callbacks|unknown|forever|id_rules|\n"
	      "                    far_start|late_create|lost|snapshots|attached FILE\n"
	      "       analyzer_gen resets FILE none|async|sync\n"
	      "       analyzer_gen sparse_stack FILE ID\n"
	      "       analyzer_gen no_events FILE\n"
	      "       analyzer_gen go FILE async|sync\n"
	      "       analyzer_gen go_site FILE BINARY:PC,PC,...\n"
	      "       analyzer_gen fuzzseed TRACE OUT\n",
	      stderr);
	return 1;
}

int main(int argc, char **argv)
{
	const char *arg = argc > 3 ? argv[3] : NULL;
	struct gen g = {.now = AN_T0};
	int fd, err;

	if (argc < 3 || argc > 4)
		return usage();
	if (strcmp(argv[1], "fuzzseed") == 0)
		return arg ? fuzzseed(argv[2], arg) : usage();
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "analyzer_gen: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	g.w = tl_trace_writer_new(fd, NULL, &err);
	if (!g.w) {
		fprintf(stderr, "analyzer_gen: %s: %s\n", argv[2], tl_trace_strerror(err));
		return 1;
	}
	if (strcmp(argv[1], "drops") == 0)
		drops(&g, arg ? strtoull(arg, NULL, 10) : 10);
	else if (strcmp(argv[1], "not_freed") == 0 && !arg)
		not_freed(&g);
	else if (strcmp(argv[1], "ticks") == 0 && !arg)
		ticks(&g);
	else if (strcmp(argv[1], "resets") == 0 && arg)
		resets(&g, arg);
	else if (strcmp(argv[1], "churn") == 0 && !arg)
		churn(&g);
	else if (strcmp(argv[1], "unknown") == 0 && !arg)
		unknown(&g);
	else if (strcmp(argv[1], "forever") == 0 && !arg)
		forever(&g);
	else if (strcmp(argv[1], "callbacks") == 0 && !arg)
		callback_sites(&g);
	else if (strcmp(argv[1], "sparse_stack") == 0 && arg)
		sparse_stack(&g, (uint32_t)strtoul(arg, NULL, 10));
	else if (strcmp(argv[1], "far_start") == 0 && !arg)
		far_start(&g);
	else if (strcmp(argv[1], "id_rules") == 0 && !arg)
		id_rules(&g);
	else if (strcmp(argv[1], "late_create") == 0 && !arg)
		late_create(&g);
	else if (strcmp(argv[1], "lost") == 0 && !arg)
		lost(&g);
	else if (strcmp(argv[1], "attached") == 0 && !arg)
		attached(&g);
	else if (strcmp(argv[1], "snapshots") == 0 && !arg)
		snapshots(&g);
	else if (strcmp(argv[1], "no_events") == 0 && !arg)
		no_events(&g);
	else if (strcmp(argv[1], "go") == 0 && arg)
		go_timers(&g, arg);
	else if (strcmp(argv[1], "go_site") == 0 && arg)
		go_site(&g, arg);
	else
		g.err = -1;
	tl_trace_writer_free(g.w);
	close(fd);
	if (g.err == -1)
		return usage();
	if (g.err) {
		fprintf(stderr, "analyzer_gen: %s: %s\n", argv[2], tl_trace_strerror(g.err));
		return 1;
	}
	return 0;
}
