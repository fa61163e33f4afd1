/*
 * detect.c - the detectors of docs/detectors.md. Each looks at one site at
 * a time and its end state; none needs the events again.
 */
#include "detect.h"
#include "grow.h"
#include "units.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctx {
	const struct tl_analysis *a;
	const struct tl_detect_opts *o;
	tl_leaf_namer namer;
	void *nctx;
	struct tl_finding *f;
	size_t n, cap;
	bool oom;
};

void tl_detect_defaults(struct tl_detect_opts *o)
{
	*o = (struct tl_detect_opts){
		.min_count = 3,
		.churn_min = 100,
		.abandon_ratio = 0.9,
		.retained_min = 100,
		.callback_min = 20,
		.callback_bytes = 1u << 20,
	};
}

const char *tl_severity_name(int severity)
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

static struct tl_finding *add(struct ctx *c, const char *pattern, const char *title, int sev,
			      uint32_t site, uint64_t count, const char *what)
{
	struct tl_finding *f;

	if (!(f = tl_grow(c->f, &c->cap, c->n + 1, sizeof(*f), 16))) {
		c->oom = true;
		return NULL;
	}
	c->f = f;
	f = &c->f[c->n++];
	memset(f, 0, sizeof(*f));
	*f = (struct tl_finding){pattern, title, sev, false, site, 0, count, what, "", ""};
	/* Lost events could hide a stop or a free behind any count this small. */
	f->uncertain = c->a->dropped > 0 && count <= c->a->dropped;
	return f;
}

/* The creating function, for fix lines: "handle_request", or a generic
 * phrase when the stack cannot be named. */
static const char *who(struct ctx *c, uint32_t stack)
{
	const char *name = c->namer && stack ? c->namer(c->nctx, stack) : NULL;

	return name ? name : "the function that creates it";
}

static double span(const struct tl_an_site *s)
{
	return (double)tl_an_since(s->last_created, s->first_created) / 1e9;
}

static double rate(const struct tl_an_site *s)
{
	double sp = span(s);

	return sp > 0 ? (double)s->created / sp : 0;
}

static double mean_duration(const struct tl_an_site *s)
{
	return s->n_duration ? s->sum_duration / (double)s->n_duration : 0;
}

/* ---------------------------------------------------------------------------
 * The detectors
 */

static bool is_ticker(uint32_t kind)
{
	return kind == TL_KIND_TICKER || kind == TL_KIND_GO_TICKER;
}

static bool is_kernel(uint32_t kind)
{
	return kind == TL_KIND_TIMERFD || kind == TL_KIND_POSIX;
}

static bool is_oneshot_chan(uint32_t kind)
{
	return kind == TL_KIND_AFTER || kind == TL_KIND_TIMER || kind == TL_KIND_GO_AFTER ||
	       kind == TL_KIND_GO_TIMER;
}

static bool is_callback(uint32_t kind)
{
	return kind == TL_KIND_AFTERFUNC || kind == TL_KIND_GO_AFTERFUNC;
}

static void never_stopped_ticker(struct ctx *c, uint32_t i, const struct tl_an_site *s)
{
	char b[32], b2[32];
	struct tl_finding *f;
	bool leak = s->end_periodic >= c->o->min_count;

	if (!is_ticker(s->kind) || !s->end_periodic)
		return;
	f = add(c, "never-stopped-ticker", leak ? "never-stopped ticker" : "long-lived ticker",
		leak ? TL_SEV_LEAK : TL_SEV_NOTE, i, s->end_periodic,
		"tickers still running at the end");
	if (!f)
		return;
	snprintf(f->detail, sizeof(f->detail),
		 "%" PRIu64 " of %" PRIu64 " created still ticking at the end, %" PRIu64
		 " stopped; %s held, every %s",
		 s->end_periodic, s->created, s->stopped,
		 tl_fmt_bytes(b, sizeof(b), s->live_bytes), tl_fmt_ns(b2, sizeof(b2), mean_duration(s)));
	if (leak)
		snprintf(f->fix, sizeof(f->fix),
			 "stop the ticker before %s returns: gt_ticker_stop() or gt_ticker_free() "
			 "(Go: defer t.Stop())",
			 who(c, s->stack));
	else
		snprintf(f->fix, sizeof(f->fix),
			 "nothing, if it is meant to run as long as the process does");
}

static void after_in_loop(struct ctx *c, uint32_t i, const struct tl_an_site *s)
{
	const struct tl_analysis *a = c->a;
	char b1[32], b2[32], n1[32], n2[32];
	struct tl_finding *f;
	bool leak = s->peak_pending >= c->o->retained_min;

	if (!is_oneshot_chan(s->kind) || s->created < c->o->churn_min ||
	    (double)s->abandoned < c->o->abandon_ratio * (double)s->created)
		return;
	f = add(c, "after-in-loop", leak ? "after-in-loop: timers retained" : "after-in-loop churn",
		leak ? TL_SEV_LEAK : TL_SEV_WARNING, i, leak ? s->peak_pending : s->abandoned,
		leak ? "timers retained at once" : "timers abandoned before firing");
	if (!f)
		return;
	snprintf(f->detail, sizeof(f->detail),
		 "%s created (%.0f/s), %.0f%% abandoned before firing; up to %s pending at once "
		 "holding %s, each for %s (%s mode%s)",
		 tl_fmt_count(n1, sizeof(n1), s->created), rate(s),
		 100.0 * (double)s->abandoned / (double)s->created,
		 tl_fmt_count(n2, sizeof(n2), s->peak_pending),
		 tl_fmt_bytes(b1, sizeof(b1), s->peak_pending_bytes),
		 tl_fmt_ns(b2, sizeof(b2), mean_duration(s)),
		 a->mode == TL_MODE_SYNC ? "sync" : a->mode == TL_MODE_ASYNC ? "async" : "unknown",
		 leak ? ": abandoned timers stay until they fire" : ": abandoned timers go at once");
	snprintf(f->fix, sizeof(f->fix),
		 "in %s, create one timer before the loop and Stop-drain-Reset it each turn "
		 "instead of a new %s per turn (Go: time.NewTimer + Reset, not time.After)",
		 who(c, s->stack), s->kind == TL_KIND_AFTER ? "gt_after()" : "timer");
}

static void reset_without_drain(struct ctx *c, const struct tl_an_reset_site *r)
{
	const struct tl_an_site *s = &c->a->sites[r->site];
	bool async = c->a->mode != TL_MODE_SYNC;
	struct tl_finding *f;

	f = add(c, "reset-without-drain", "reset without drain",
		async ? TL_SEV_WARNING : TL_SEV_NOTE, r->site, r->pending,
		"resets while a fired value waited");
	if (!f)
		return;
	f->call_stack = r->stack;
	snprintf(f->detail, sizeof(f->detail),
		 "%" PRIu64 " resets here found a fired value waiting in the channel (of the "
		 "timers' %" PRIu64 " resets); %s",
		 r->pending, s->resets,
		 async ? "it is received after the reset, as if the new timeout had expired"
		       : "sync mode discards it, but async semantics (Go <= 1.22) would deliver it");
	snprintf(f->fix, sizeof(f->fix),
		 "in %s, drain before Reset: if (!gt_timer_stop(t)) gt_chan_try_recv(gt_timer_chan(t), "
		 "NULL); (Go <= 1.22: if !t.Stop() { <-t.C })",
		 who(c, r->stack));
}

static void unclosed_kernel(struct ctx *c, uint32_t i, const struct tl_an_site *s)
{
	bool fd = s->kind == TL_KIND_TIMERFD, leak = s->end_live >= c->o->min_count;
	char b[32];
	struct tl_finding *f;

	if (!is_kernel(s->kind) || !s->end_live)
		return;
	f = add(c, fd ? "unclosed-timerfd" : "undeleted-posix-timer",
		fd ? (leak ? "unclosed timerfd" : "long-lived timerfd")
		   : (leak ? "undeleted POSIX timer" : "long-lived POSIX timer"),
		leak ? TL_SEV_LEAK : TL_SEV_NOTE, i, s->end_live,
		fd ? "timerfds still open at the end" : "POSIX timers never deleted");
	if (!f)
		return;
	snprintf(f->detail, sizeof(f->detail),
		 "%" PRIu64 " of %" PRIu64 " created still %s at the end (%" PRIu64
		 " still armed, %" PRIu64 " periodic); about %s of kernel memory",
		 s->end_live, s->created, fd ? "open" : "allocated", s->end_pending,
		 s->end_periodic, tl_fmt_bytes(b, sizeof(b), s->live_bytes));
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

static void callback_retention(struct ctx *c, uint32_t i, const struct tl_an_site *s)
{
	char b1[32], b2[32], b3[32];
	struct tl_finding *f;

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
		 s->peak_pending, tl_fmt_bytes(b1, sizeof(b1), s->peak_pending_bytes),
		 tl_fmt_bytes(b2, sizeof(b2), s->arg_bytes_max),
		 tl_fmt_ns(b3, sizeof(b3), mean_duration(s)), s->timer_seconds, s->end_pending,
		 s->created);
	snprintf(f->fix, sizeof(f->fix),
		 "in %s, pass the callback only what it needs (an id, a summary), or stop the "
		 "timer when the work is done (gt_timer_stop; Go: defer t.Stop())",
		 who(c, s->stack));
}

static void never_freed(struct ctx *c, uint32_t i, const struct tl_an_site *s)
{
	char b[32];
	struct tl_finding *f;

	if ((s->kind != TL_KIND_TIMER && s->kind != TL_KIND_AFTERFUNC) ||
	    s->end_inactive_unreleased < c->o->min_count)
		return;
	f = add(c, "timer-not-freed", "timer never freed", TL_SEV_LEAK, i,
		s->end_inactive_unreleased, "timers done but never freed");
	if (!f)
		return;
	snprintf(f->detail, sizeof(f->detail),
		 "%" PRIu64 " of %" PRIu64 " created had fired or been stopped and were still "
		 "allocated at the end (%s)",
		 s->end_inactive_unreleased, s->created, tl_fmt_bytes(b, sizeof(b), s->live_bytes));
	snprintf(f->fix, sizeof(f->fix), "gt_timer_free() the timer once %s is done with it",
		 who(c, s->stack));
}

static void dropped_ticks(struct ctx *c, uint32_t i, const struct tl_an_site *s)
{
	struct tl_finding *f;

	if (!is_ticker(s->kind) || s->fired < 100 || s->dropped_ticks * 2 < s->fired ||
	    s->end_periodic >= c->o->min_count)
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

static uint64_t weight(const struct tl_analysis *a, const struct tl_finding *f)
{
	const struct tl_an_site *s = &a->sites[f->site];

	return s->peak_bytes > s->live_bytes ? s->peak_bytes : s->live_bytes;
}

static const struct tl_analysis *sort_a;

static int by_severity(const void *x, const void *y)
{
	const struct tl_finding *f = x, *g = y;
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

ssize_t tl_detect(const struct tl_analysis *a, const struct tl_detect_opts *o,
		  tl_leaf_namer namer, void *nctx, struct tl_finding **out)
{
	struct ctx c = {a, o, namer, nctx, NULL, 0, 0, false};

	for (uint32_t i = 0; i < a->nsites; i++) {
		const struct tl_an_site *s = &a->sites[i];

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
