/*
 * detect.c - the detectors of docs/detectors.md. Each looks at one site at
 * a time and its end state; none needs the events again.
 */
#include "detect.h"
#include "grow.h"
#include "units.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_kernel(uint32_t kind);

struct ctx {
	const struct tl__analysis *a;
	const struct tl__detect_opts *o;
	tl__leaf_namer namer;
	void *nctx;
	struct tl__finding *f;
	size_t n, cap;
	bool oom;
};

void tl__detect_defaults(struct tl__detect_opts *o)
{
	*o = (struct tl__detect_opts){
		.min_count = 3,
		.churn_min = 100,
		.abandon_ratio = 0.9,
		.retained_min = 100,
		.callback_min = 20,
		.callback_bytes = 1u << 20,
	};
}

const char *tl__severity_name(int severity)
{
	switch (severity) {
	case TL_SEV_LEAK:
		return "leak";
	case TL_SEV_WARNING:
		return "warning";
	default:
		return "note";
	}
}

static struct tl__finding *add(struct ctx *c, const char *pattern, const char *title, int sev,
			      uint32_t site, uint64_t count, const char *what)
{
	struct tl__finding *f;

	if (!(f = tl__grow(c->f, &c->cap, c->n + 1, sizeof(*f), 16))) {
		c->oom = true;
		return NULL;
	}
	c->f = f;
	f = &c->f[c->n++];
	memset(f, 0, sizeof(*f));
	*f = (struct tl__finding){.pattern = pattern, .title = title, .severity = sev,
				 .site = site, .count = count, .what = what};
	/* Lost events could hide a stop or a free behind any count this small;
	 * a kernel timer that could not be tracked, behind any of its kind. */
	f->uncertain = (c->a->dropped > 0 && count <= c->a->dropped) ||
		       (c->a->dropped_by_reason[TL_DROP_UNTRACKED] > 0 &&
			is_kernel(c->a->sites[site].kind));
	return f;
}

/* ---------------------------------------------------------------------------
 * What was left at the end, judged by growth (docs/detectors.md)
 */

enum { END_NONE = -1 };

/* The severity of what site s left at the end: a leak when it grew past
 * start-up by min_count or more, a note when it only held what start-up
 * made (or grew by less), none when nothing old enough is left. */
static int end_verdict(const struct ctx *c, const struct tl__an_site *s)
{
	const struct tl__an_growth *g = &s->growth;

	if (!g->measured || !g->retained)
		return END_NONE;
	return g->grew >= c->o->min_count ? TL_SEV_LEAK : TL_SEV_NOTE;
}

/* Append to f->window, which stays terminated however long it gets. */
static void __attribute__((format(printf, 2, 3))) window_add(struct tl__finding *f,
							      const char *fmt, ...)
{
	size_t o = strlen(f->window);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->window + o, sizeof(f->window) - o, fmt, ap);
	va_end(ap);
}

/* The line that says what the verdict saw: "over the 3.02 s recorded:
 * grew by 266 after start-up (its first 755 ms), 118/s, still growing at
 * the end". */
static void end_window(const struct ctx *c, const struct tl__an_site *s, struct tl__finding *f)
{
	const struct tl__analysis *a = c->a;
	const struct tl__an_growth *g = &s->growth;
	int64_t from = tl__an_since(g->first, a->startup_end) > 0 ? g->first : a->startup_end;
	double span = (double)tl__an_since(g->last, from) / 1e9;
	bool startup = a->startup_end != a->window_start;
	char w[32], st[32], n1[32], n2[32];

	tl__fmt_ns(w, sizeof(w), (double)tl__an_since(a->end_time, a->window_start));
	tl__fmt_ns(st, sizeof(st), (double)tl__an_since(a->startup_end, a->window_start));
	if (f->severity == TL_SEV_LEAK) {
		if (startup)
			window_add(f, "over the %s recorded: grew by %s after start-up (its first %s)",
				   w, tl__fmt_count(n1, sizeof(n1), g->grew), st);
		else
			window_add(f, "over the %s recorded (%s): grew by %s", w,
				   a->startup_before ? "its start-up was before the recording"
						     : "too short to have a start-up",
				   tl__fmt_count(n1, sizeof(n1), g->grew));
		/* The rate over the time it grew in, when that can carry one. */
		if (span >= 0.01)
			window_add(f, ", %.3g/s", (double)g->grew / span);
		if (g->recent)
			window_add(f, ", still growing at the end");
		else
			window_add(f, ", none since %.2f s", tl__an_secs(a, g->last));
	} else if (!startup) {
		window_add(f, "%s kept over the %s recorded (%s)",
			   tl__fmt_count(n1, sizeof(n1), g->retained), w,
			   a->startup_before ? "its start-up was before the recording"
					     : "too short to have a start-up");
	} else if (g->last <= a->startup_end) {
		window_add(f, "created in start-up (by %.2f s), constant over the %s recorded",
			   tl__an_secs(a, g->last), w);
	} else {
		window_add(f, "held at about %s over the %s recorded (grew by %s after start-up)",
			   tl__fmt_count(n1, sizeof(n1), g->retained), w,
			   tl__fmt_count(n2, sizeof(n2), g->grew));
	}
	if (g->in_flight)
		window_add(f, "; %s more too young to judge (the site ends its own within %s)",
			   tl__fmt_count(n1, sizeof(n1), g->in_flight),
			   tl__fmt_ns(n2, sizeof(n2), (double)s->longest_life));
}

/* The creating function, for fix lines: "handle_request", or a generic
 * phrase when the stack cannot be named. */
static const char *who(struct ctx *c, uint32_t stack)
{
	const char *name = c->namer && stack ? c->namer(c->nctx, stack) : NULL;

	return name ? name : "the function that creates it";
}

static double span(const struct tl__an_site *s)
{
	return (double)tl__an_since(s->last_created, s->first_created) / 1e9;
}

static double rate(const struct tl__an_site *s)
{
	double sp = span(s);

	return sp > 0 ? (double)s->created / sp : 0;
}

static double mean_duration(const struct tl__an_site *s)
{
	return s->n_duration ? s->sum_duration / (double)s->n_duration : 0;
}

/* ---------------------------------------------------------------------------
 * The detectors
 */

/* The kind's facts, from trace/'s table. */
static bool is_ticker(uint32_t kind)
{
	return tl_kind_info((int)kind)->periodic;
}

static bool is_kernel(uint32_t kind)
{
	return tl_kind_info((int)kind)->source == TL_SOURCE_KERNEL;
}

static bool is_oneshot_chan(uint32_t kind)
{
	const struct tl_kind_info *k = tl_kind_info((int)kind);

	return k->channel && !k->periodic;
}

static bool is_callback(uint32_t kind)
{
	return tl_kind_info((int)kind)->callback;
}

static bool is_go(uint32_t kind)
{
	return tl_kind_info((int)kind)->source == TL_SOURCE_GO;
}

/* What Go 1.23 changes for a Go program recorded with asynchronous timer
 * channels (Go <= 1.22, or asynctimerchan=1): the seeds' "does 1.23 fix
 * my leak", per site. */
static const char *go123(const struct ctx *c, const char *what)
{
	return c->a->mode == TL_MODE_SYNC ? "" : what;
}

static void never_stopped_ticker(struct ctx *c, uint32_t i, const struct tl__an_site *s)
{
	int sev = end_verdict(c, s);
	uint64_t n = s->growth.retained;
	/* Go 1.23's synchronous channels: a Ticker nothing refers to is
	 * collected unstopped, unseen; those still "ticking" may be gone */
	bool go_sync = is_go(s->kind) && c->a->mode == TL_MODE_SYNC;
	char b[32], b2[32];
	struct tl__finding *f;

	if (!is_ticker(s->kind) || sev == END_NONE)
		return;
	f = add(c, "never-stopped-ticker",
		sev == TL_SEV_LEAK ? "never-stopped ticker" : "long-lived ticker",
		sev == TL_SEV_LEAK && go_sync ? TL_SEV_WARNING : sev, i, n,
		n == 1 ? "ticker still running at the end" : "tickers still running at the end");
	if (!f)
		return;
	snprintf(f->detail, sizeof(f->detail),
		 "%" PRIu64 " of %" PRIu64 " created still ticking at the end, %" PRIu64
		 " stopped; %s held, every %s",
		 s->end_periodic, s->created, s->stopped,
		 tl__fmt_bytes(b, sizeof(b), s->live_bytes),
		 tl__fmt_ns(b2, sizeof(b2), mean_duration(s)));
	end_window(c, s, f);
	if (sev == TL_SEV_LEAK && go_sync)
		snprintf(f->fix, sizeof(f->fix),
			 "stop the ticker before %s returns: defer t.Stop() (with synchronous timer "
			 "channels, Go 1.23+, a Ticker nothing refers to is collected unstopped, "
			 "unseen by the recorder: these may be churn, not retention)",
			 who(c, s->stack));
	else if (sev == TL_SEV_LEAK && is_go(s->kind))
		snprintf(f->fix, sizeof(f->fix),
			 "stop the ticker before %s returns: defer t.Stop()%s", who(c, s->stack),
			 go123(c, " (on Go 1.23+, with synchronous timer channels, a Ticker nothing "
				  "refers to is collected unstopped: churn, not retention; upgrading "
				  "from 1.22 fixes the memory, not the missing Stop)"));
	else if (sev == TL_SEV_LEAK)
		snprintf(f->fix, sizeof(f->fix),
			 "stop the ticker before %s returns: gt_ticker_stop() or gt_ticker_free() "
			 "(Go: defer t.Stop())",
			 who(c, s->stack));
	else
		snprintf(f->fix, sizeof(f->fix),
			 "nothing, if it is meant to run as long as the process does");
}

static void after_in_loop(struct ctx *c, uint32_t i, const struct tl__an_site *s)
{
	const struct tl__analysis *a = c->a;
	char b1[32], b2[32], n1[32], n2[32];
	struct tl__finding *f;
	/* Go 1.23's synchronous channels: the runtime holds a channel timer
	 * only while a goroutine waits on it, and the collector takes an
	 * abandoned one at once, unseen: what looks pending is not held. */
	bool go_sync = a->mode == TL_MODE_SYNC && tl_kind_info((int)s->kind)->source == TL_SOURCE_GO;
	bool leak = s->peak_pending >= c->o->retained_min && !go_sync;

	if (!is_oneshot_chan(s->kind) || s->created < c->o->churn_min ||
	    (double)s->abandoned < c->o->abandon_ratio * (double)s->created)
		return;
	f = add(c, "after-in-loop", leak ? "after-in-loop" : "after-in-loop churn",
		leak ? TL_SEV_LEAK : TL_SEV_WARNING, i, leak ? s->peak_pending : s->abandoned,
		leak ? "timers retained at once" : "timers abandoned before firing");
	if (!f)
		return;
	snprintf(f->detail, sizeof(f->detail),
		 "%s created (%.0f/s), %.0f%% abandoned before firing; up to %s pending at once "
		 "holding %s, each for %s (%s mode%s)",
		 tl__fmt_count(n1, sizeof(n1), s->created), rate(s),
		 100.0 * (double)s->abandoned / (double)s->created,
		 tl__fmt_count(n2, sizeof(n2), s->peak_pending),
		 tl__fmt_bytes(b1, sizeof(b1), s->peak_pending_bytes),
		 tl__fmt_ns(b2, sizeof(b2), mean_duration(s)),
		 a->mode == TL_MODE_SYNC ? "sync" : a->mode == TL_MODE_ASYNC ? "async" : "unknown",
		 leak ? ": abandoned timers stay until they fire" : ": abandoned timers go at once");
	if (is_go(s->kind))
		snprintf(f->fix, sizeof(f->fix),
			 "in %s, create one timer before the loop (t := time.NewTimer(d); defer "
			 "t.Stop()) and %s each turn instead of a new %s per turn%s",
			 who(c, s->stack),
			 a->mode == TL_MODE_SYNC ? "t.Reset(d) it (no drain needed on Go 1.23+)"
						 : "Stop-drain-Reset it (if !t.Stop() { <-t.C }; "
						   "t.Reset(d))",
			 s->kind == TL_KIND_GO_AFTER ? "time.After" : "time.NewTimer",
			 go123(c, "; on Go 1.23+ (synchronous timer channels) this is churn, not "
				  "retention: upgrading from 1.22 fixes the leak"));
	else if (a->mode == TL_MODE_SYNC)
		snprintf(f->fix, sizeof(f->fix),
			 "in %s, create one timer before the loop and Reset it each turn instead of "
			 "a new %s per turn; in sync mode Reset needs no drain (Go 1.23+: "
			 "time.NewTimer + Reset, not time.After)",
			 who(c, s->stack), s->kind == TL_KIND_AFTER ? "gt_after()" : "timer");
	else
		snprintf(f->fix, sizeof(f->fix),
			 "in %s, create one timer before the loop and Stop-drain-Reset it each turn "
			 "instead of a new %s per turn (Go: time.NewTimer + Reset, not time.After)",
			 who(c, s->stack), s->kind == TL_KIND_AFTER ? "gt_after()" : "timer");
}

static void reset_without_drain(struct ctx *c, const struct tl__an_reset_site *r)
{
	const struct tl__an_site *s = &c->a->sites[r->site];
	bool async = c->a->mode != TL_MODE_SYNC;
	struct tl__finding *f;

	f = add(c, "reset-without-drain", "reset without drain",
		async ? TL_SEV_WARNING : TL_SEV_NOTE, r->site, r->pending,
		r->pending == 1 ? "reset while a fired value waited"
				: "resets while a fired value waited");
	if (!f)
		return;
	f->call_stack = r->stack;
	snprintf(f->detail, sizeof(f->detail),
		 "%" PRIu64 " resets here found a fired value waiting in the channel (of the "
		 "timers' %" PRIu64 " resets); %s",
		 r->pending, s->resets,
		 async ? "it is received after the reset, as if the new timeout had expired"
		       : "sync mode discards it, but async semantics (Go <= 1.22) would deliver it");
	if (is_go(s->kind))
		snprintf(f->fix, sizeof(f->fix),
			 "in %s, %s", who(c, r->stack),
			 async ? "drain before Reset: if !t.Stop() { <-t.C }; t.Reset(d) (on Go 1.23+, "
				 "with synchronous timer channels, Reset discards the stale value)"
			       : "nothing on Go 1.23+, where Reset discards the stale value; built "
				 "with Go <= 1.22 or asynctimerchan=1, drain first: if !t.Stop() { <-t.C }");
	else if (async)
		snprintf(f->fix, sizeof(f->fix),
			 "in %s, drain before Reset: if (!gt_timer_stop(t)) "
			 "gt_chan_try_recv(gt_timer_chan(t), NULL); (Go <= 1.22: if !t.Stop() { <-t.C })",
			 who(c, r->stack));
	else
		snprintf(f->fix, sizeof(f->fix),
			 "nothing in sync mode (Go 1.23+), where Reset discards the stale value; if "
			 "%s must also run in async mode (Go <= 1.22), drain before Reset there",
			 who(c, r->stack));
}

static void unclosed_kernel(struct ctx *c, uint32_t i, const struct tl__an_site *s)
{
	int sev = end_verdict(c, s);
	bool fd = tl_kind_info((int)s->kind)->descriptor, leak = sev == TL_SEV_LEAK;
	uint64_t n = s->growth.retained;
	char b[32];
	struct tl__finding *f;

	if (!is_kernel(s->kind) || sev == END_NONE)
		return;
	f = add(c, fd ? "unclosed-timerfd" : "undeleted-posix-timer",
		fd ? (leak ? "unclosed timerfd" : "long-lived timerfd")
		   : (leak ? "undeleted POSIX timer" : "long-lived POSIX timer"),
		sev, i, n,
		fd ? (n == 1 ? "timerfd still open at the end" : "timerfds still open at the end")
		   : (n == 1 ? "POSIX timer never deleted" : "POSIX timers never deleted"));
	if (!f)
		return;
	snprintf(f->detail, sizeof(f->detail),
		 "%" PRIu64 " of %" PRIu64 " created still %s at the end (%" PRIu64
		 " still armed, %" PRIu64 " periodic); about %s of kernel memory",
		 s->end_live, s->created, fd ? "open" : "allocated", s->end_pending,
		 s->end_periodic, tl__fmt_bytes(b, sizeof(b), s->live_bytes));
	end_window(c, s, f);
	if (!leak)
		snprintf(f->fix, sizeof(f->fix),
			 "nothing, if it is meant to live as long as the process");
	else if (fd)
		snprintf(f->fix, sizeof(f->fix),
			 "close() the timerfd when what %s opened it for ends", who(c, s->stack));
	else
		snprintf(f->fix, sizeof(f->fix),
			 "timer_delete() the timer when the work %s started ends", who(c, s->stack));
}

/*
 * Go's AfterFunc: the recorder sees the timer, not what its closure
 * captures, so the verdict is by growth: callbacks still waiting at the
 * end, more of them than after start-up, each pinning its closure and
 * whatever that refers to until it runs.
 */
static void go_callback_retention(struct ctx *c, uint32_t i, const struct tl__an_site *s)
{
	uint64_t n = s->growth.retained;
	char b1[32], b2[32];
	struct tl__finding *f;

	if (end_verdict(c, s) != TL_SEV_LEAK || s->peak_pending < c->o->callback_min)
		return;
	f = add(c, "callback-retention", "callback timers retaining memory", TL_SEV_LEAK, i, n,
		n == 1 ? "callback still waiting at the end" : "callbacks still waiting at the end");
	if (!f)
		return;
	snprintf(f->detail, sizeof(f->detail),
		 "%" PRIu64 " of %" PRIu64 " created still waiting at the end, up to %" PRIu64
		 " at once, each for %s, each pinning its closure and all it refers to (the timers "
		 "alone: %s)",
		 s->end_pending, s->created, s->peak_pending,
		 tl__fmt_ns(b1, sizeof(b1), mean_duration(s)),
		 tl__fmt_bytes(b2, sizeof(b2), s->peak_pending_bytes));
	end_window(c, s, f);
	snprintf(f->fix, sizeof(f->fix),
		 "in %s, capture only what the callback needs (an id, not the request), and stop "
		 "the timer when the work is done (defer t.Stop()); this holds on every Go version",
		 who(c, s->stack));
}

static void callback_retention(struct ctx *c, uint32_t i, const struct tl__an_site *s)
{
	char b1[32], b2[32], b3[32];
	struct tl__finding *f;

	if (is_callback(s->kind) && is_go(s->kind)) {
		go_callback_retention(c, i, s);
		return;
	}
	if (!is_callback(s->kind) || s->peak_pending < c->o->callback_min ||
	    s->peak_pending_bytes < c->o->callback_bytes)
		return;
	f = add(c, "callback-retention", "callback timers retaining memory", TL_SEV_LEAK, i,
		s->peak_pending, "callbacks pending at once");
	if (!f)
		return;
	snprintf(f->detail, sizeof(f->detail),
		 "up to %" PRIu64 " pending at once holding %s (arguments up to %s each), each for "
		 "%s; %.0f timer-seconds; %" PRIu64 " of %" PRIu64 " still pending at the end",
		 s->peak_pending, tl__fmt_bytes(b1, sizeof(b1), s->peak_pending_bytes),
		 tl__fmt_bytes(b2, sizeof(b2), s->arg_bytes_max),
		 tl__fmt_ns(b3, sizeof(b3), mean_duration(s)), s->timer_seconds, s->end_pending,
		 s->created);
	snprintf(f->fix, sizeof(f->fix),
		 "in %s, pass the callback only what it needs (an id, a summary), or stop the "
		 "timer when the work is done (gt_timer_stop; Go: defer t.Stop())",
		 who(c, s->stack));
}

static void never_freed(struct ctx *c, uint32_t i, const struct tl__an_site *s)
{
	int sev = end_verdict(c, s);
	uint64_t n = s->growth.retained;
	char b[32];
	struct tl__finding *f;

	/* A set of timers kept for reuse is how timers are meant to be
	 * used: only growth is reported. */
	if (!tl_kind_info((int)s->kind)->caller_frees || is_ticker(s->kind) || sev != TL_SEV_LEAK)
		return;
	f = add(c, "timer-not-freed", "timer never freed", sev, i, n,
		n == 1 ? "timer done but never freed" : "timers done but never freed");
	if (!f)
		return;
	snprintf(f->detail, sizeof(f->detail),
		 "%" PRIu64 " of %" PRIu64 " created had fired or been stopped and were still "
		 "allocated at the end (%s)",
		 s->end_inactive_unreleased, s->created,
		 tl__fmt_bytes(b, sizeof(b), s->live_bytes));
	end_window(c, s, f);
	snprintf(f->fix, sizeof(f->fix), "gt_timer_free() the timer once %s is done with it",
		 who(c, s->stack));
}

static void dropped_ticks(struct ctx *c, uint32_t i, const struct tl__an_site *s)
{
	struct tl__finding *f;

	if (!is_ticker(s->kind) || s->fired < 100 || s->dropped_ticks * 2 < s->fired ||
	    end_verdict(c, s) == TL_SEV_LEAK)
		return;
	f = add(c, "dropped-ticks", "ticks dropped", TL_SEV_NOTE, i, s->dropped_ticks,
		"ticks dropped by a slow reader");
	if (!f)
		return;
	snprintf(f->detail, sizeof(f->detail),
		 "%" PRIu64 " of %" PRIu64 " ticks found the channel still full and were dropped",
		 s->dropped_ticks, s->fired);
	snprintf(f->fix, sizeof(f->fix),
		 "read the ticker's channel as often as it ticks, or tick less often");
}

/* ---------------------------------------------------------------------------
 * Ordering and entry point
 */

static uint64_t weight(const struct tl__analysis *a, const struct tl__finding *f)
{
	const struct tl__an_site *s = &a->sites[f->site];

	return s->peak_bytes > s->live_bytes ? s->peak_bytes : s->live_bytes;
}

static const struct tl__analysis *sort_a;

static int by_severity(const void *x, const void *y)
{
	const struct tl__finding *f = x, *g = y;
	uint64_t wf, wg;

	if (f->severity != g->severity)
		return g->severity - f->severity;
	wf = weight(sort_a, f);
	wg = weight(sort_a, g);
	if (wf != wg)
		return wg > wf ? 1 : -1;
	if (f->count != g->count)
		return g->count > f->count ? 1 : -1;
	return strcmp(f->pattern, g->pattern);
}

ssize_t tl__detect(const struct tl__analysis *a, const struct tl__detect_opts *o,
		  tl__leaf_namer namer, void *nctx, struct tl__finding **out)
{
	struct ctx c = {a, o, namer, nctx, NULL, 0, 0, false};

	for (uint32_t i = 0; i < a->nsites; i++) {
		const struct tl__an_site *s = &a->sites[i];

		if (!s->stack && !s->kind)
			continue; /* timers created before the trace: no site to blame */
		never_stopped_ticker(&c, i, s);
		after_in_loop(&c, i, s);
		unclosed_kernel(&c, i, s);
		callback_retention(&c, i, s);
		never_freed(&c, i, s);
		dropped_ticks(&c, i, s);
	}
	for (size_t i = 0; i < a->nresets; i++)
		reset_without_drain(&c, &a->resets[i]);
	if (c.oom) {
		free(c.f);
		return -1;
	}
	sort_a = a;
	if (c.n > 1)
		qsort(c.f, c.n, sizeof(*c.f), by_severity);
	*out = c.f;
	return (ssize_t)c.n;
}
