/*
 * analysis.h - a trace's timers rebuilt in one streaming pass.
 *
 * tl__an_feed() takes the records of a trace in file order and keeps:
 *   - every live timer (created, not yet freed), keyed by its trace id;
 *   - per creation site (creation stack and kind), what its timers did:
 *     counts, live and pending timers now and at their peak, bytes,
 *     timer-seconds, and a coarse series of live timers over time;
 *   - per reset site, the resets made while a fired value waited;
 *   - the process, the runtime mode, drops, snapshots, the trace's end.
 *
 * Memory is bounded by live timers, sites and unique stacks, never by the
 * trace's length: a freed timer is folded into its site and forgotten.
 *
 * Events may come slightly out of order (docs/trace-format.md): an event of
 * an id not yet created, above every id created so far, opens a timer that
 * its create fills in later; an event of an older unknown id is late (its
 * timer already freed) or its create was lost, and is counted, not used.
 */
#ifndef TL_ANALYSIS_H
#define TL_ANALYSIS_H

#include "tl_trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TL_AN_SERIES 128 /* points per site's live-timer series */

/* Live timers of one site over time: TL_AN_SERIES buckets of step ns from
 * t0; each holds the most timers live at once in it. When time runs past
 * the last bucket, pairs merge and the step doubles. */
struct tl__an_series {
	int64_t t0, step;
	uint32_t n;
	uint32_t max[TL_AN_SERIES];
};

/*
 * What a site left at the end, judged against the window the trace saw
 * (docs/detectors.md, "Growth, not the end"). The measure depends on the
 * kind: running tickers; open timerfds and allocated POSIX timers; for
 * libgotimer timers and callback timers, those done but never freed.
 */
/* The shortest window that has a start-up: in a shorter one a set made
 * once cannot be told from one that grows (both were made moments before
 * the end), and every timer a site keeps counts as growth. */
#define TL_AN_STARTUP_MIN_WINDOW 1000000000LL /* ns */

struct tl__an_growth {
	bool measured;      /* the kind has such a measure */
	uint64_t retained;  /* still there at the end, and older than in_flight ones */
	uint64_t in_flight; /* still there, but younger than the longest life of one of the
			       site's timers that ended: it may yet end as they did */
	uint64_t level;     /* live timers of the site at the end of start-up */
	uint64_t grew;      /* retained - level, when positive */
	uint64_t recent;    /* retained ones created in the window's last tenth */
	int64_t first, last; /* creation of the first and last retained */
};

/* A site's live timers at one moment. */
struct tl__an_inuse {
	uint64_t count, bytes;
	int64_t mean_age; /* ns, of those timers at that moment */
};

/* A creation site: one creation stack, one kind. */
struct tl__an_site {
	uint32_t stack; /* creation stack id, 0 when unknown */
	uint32_t kind;  /* enum tl_kind, 0 when unknown */

	uint64_t created, freed, released, fired, dropped_ticks;
	uint64_t before;           /* timers made before the recording, here since first seen */
	uint64_t alloc_bytes;      /* bytes of every timer created (pprof's alloc_space) */
	uint64_t stopped;          /* stops that found the timer active */
	uint64_t resets, resets_pending; /* resets; those with a value waiting */
	uint64_t abandoned;        /* released while still pending (before firing) */
	uint64_t fired_released;   /* fires of timers whose handle was already released */
	uint64_t armed_periodic;   /* kernel timers armed with an interval */

	uint64_t live, peak_live;  /* timers created and not freed (a late one, whose events came
				      before its create, not until its create) */
	__int128 live_created_sum; /* their creation times, summed: their mean age */
	struct tl__an_inuse at;     /* live at the moment tl__an_at() asked for (the end by
				      default): what pprof's inuse is */
	int64_t peak_live_time;
	uint64_t pending, peak_pending; /* of those, waiting to fire (in the runtime or kernel) */
	int64_t peak_pending_time;
	uint64_t live_bytes, peak_bytes; /* bytes held by live timers (and callback arguments) */
	int64_t peak_bytes_time;
	uint64_t pending_bytes, peak_pending_bytes;

	double timer_seconds;      /* integral of live timers over time */
	int64_t last_change;       /* time of the last change of live */
	int64_t first_created, last_created;
	double sum_duration;       /* of creates and resets with a duration, in ns */
	uint64_t n_duration;
	uint64_t arg_bytes_max;    /* largest callback argument */
	uint64_t callback;         /* Go's AfterFunc: the code of the function it was given
				      (the first seen; 0: not known) */
	int64_t longest_life;      /* of its timers that ended: freed, or (tickers) stopped */

	/* At the end (tl__an_finish): */
	uint64_t end_live, end_pending, end_periodic, end_unreleased, end_released_pending;
	uint64_t end_inactive_unreleased; /* handle held, timer done: never freed */
	struct tl__an_growth growth;

	struct tl__an_series series;
};

/* Resets made while a fired value waited unreceived, by reset site. */
struct tl__an_reset_site {
	uint32_t stack;  /* the reset's stack */
	uint32_t site;   /* index of the timer's creation site */
	uint64_t resets, pending;
	int64_t first, last;
};

/* Moments worth a mark on a timeline: a reset while a value waited. Kept
 * up to TL_AN_INSTANTS; later ones are only counted. */
#define TL_AN_INSTANTS 10000

struct tl__an_instant {
	int64_t time;
	uint32_t site;  /* the timer's creation site */
	uint32_t stack; /* the call's stack */
};

struct tl__an_process {
	uint32_t pid, ppid;
	char *exe, *hostname, *unwinder, *cmdline;
	uint64_t wall_ns;
	int64_t start;   /* mono_ns of the process record */
	uint32_t depth, flags;
};

struct tl__an_stack {
	uint32_t n;
	uint64_t *frames;
};

/* A snapshot record, and the timers live at it. */
struct tl__an_snapshot {
	int64_t time;
	uint64_t live;
};

struct tl__analysis {
	struct tl__an_process proc;
	bool have_process;
	int mode;             /* TL_MODE_ASYNC/SYNC, 0 when no runtime record */
	char *runtime;        /* "libgotimer", or NULL */
	int64_t first_time, last_time, end_time;
	/* The window the verdicts judge (docs/detectors.md): from when the
	 * recording began to its end. Start-up is the first quarter of the
	 * process's life up to the end (from the window's start, unless the
	 * recorder attached later): startup_end == window_start when that
	 * life is shorter than TL_AN_STARTUP_MIN_WINDOW, or (startup_before)
	 * when its start-up ended before the window began. */
	int64_t window_start, startup_end;
	bool startup_before;
	bool clean_end;
	bool attached;        /* recorded from outside, attached to a process already running */
	int64_t proc_started; /* then, when the process started (0: unknown) */
	int end_signal;       /* the fatal signal the traced process died of, 0 if none */
	uint32_t flush_ms;    /* the recorder's flush interval, 0 when unknown */
	uint64_t live;        /* timers live now (at the end, after tl__an_finish) */
	uint64_t events, events_by_type[0x20];
	uint64_t created_by_kind[TL_KIND_MAX + 1];
	uint64_t dropped, dropped_by_reason[TL_DROP_MAX + 1];
	uint64_t orphans;     /* events of ids never created (late, or their create lost) */
	uint64_t preexisting; /* timers first seen by a later event: created before the trace */

	struct tl__an_site *sites;
	size_t nsites, capsites;
	struct tl__an_reset_site *resets;
	size_t nresets, capresets;
	struct tl__an_stack *stacks; /* in order of arrival; tl__an_stack() finds one by id */
	size_t nstacks, capstacks;
	struct tl__an_snapshot *snapshots;
	size_t nsnapshots;
	struct tl__an_instant *instants;
	size_t ninstants;
	uint64_t instants_skipped;

	struct tl__an_private *priv;
};

/* @return a fresh analysis, or NULL when out of memory. */
struct tl__analysis *tl__an_new(void);
/* NULL is fine. */
void tl__an_free(struct tl__analysis *a);

/*
 * tl__an_copy - a copy of a, to finish (and detect in) while a is fed
 * on: what a live server does at each request. Its cost is a's state
 * (live timers, sites, stacks), not the trace read so far. @return the
 * copy, or NULL when out of memory.
 */
struct tl__analysis *tl__an_copy(const struct tl__analysis *a);

/* Feed one record. @return 0, or TL_TRACE_E_NOMEM (the analysis is then
 * incomplete but consistent). */
int tl__an_feed(struct tl__analysis *a, const struct tl_record *r);

/* Warm the cache for a record tl__an_feed() will get soon (about 8 records
 * ahead): the slot where its timer's lookup starts, the access each event
 * waits on longest. It changes nothing. */
void tl__an_prefetch(const struct tl__analysis *a, const struct tl_record *r);

/* The end of the stream: fold live timers into their sites' end counts
 * and close the integrals at the trace's last time. */
void tl__an_finish(struct tl__analysis *a, const struct tl_trace_reader_stats *st);

/* Seconds from the start of the process to t. */
double tl__an_secs(const struct tl__analysis *a, int64_t t);
/*
 * t - t0 as the trace format defines arithmetic on times: modulo 2^64, so
 * a damaged or foreign clock gives a wrong number, never undefined behaviour.
 */
static inline int64_t tl__an_since(int64_t t, int64_t t0)
{
	return (int64_t)((uint64_t)t - (uint64_t)t0);
}
/* The traced span in seconds. */
double tl__an_duration(const struct tl__analysis *a);

/* A stack by id, or NULL if never defined. */
const struct tl__an_stack *tl__an_stack(const struct tl__analysis *a, uint32_t id);

/* tl__an_knows - whether timer id is alive in the analysis (created or
 * existing, not yet freed). */
bool tl__an_knows(const struct tl__analysis *a, uint64_t id);

/*
 * tl__an_stack_alias - stack is the same call site as same_as (the same
 * functions, files and lines, at other addresses: the compiler split one
 * call into several): timers created and reset there count at same_as's
 * site from now on. Call when the stack record arrives, before its events.
 * @return 0 or TL_TRACE_E_NOMEM.
 */
int tl__an_stack_alias(struct tl__analysis *a, uint32_t stack, uint32_t same_as);

/*
 * tl__an_at - the moment each site's at is taken (pprof's inuse at T): at
 * the first event at or after at (ns from the process's start); INT64_MAX
 * (the default): at the end. Call before feeding.
 */
void tl__an_at(struct tl__analysis *a, int64_t at);
/* The same at the n-th snapshot record (from 1). If the trace has fewer,
 * at stays empty; tl__an_at_missed() then says so. */
void tl__an_at_snapshot(struct tl__analysis *a, uint64_t n);
/* Whether the moment registered was never reached (a snapshot the trace
 * does not have). */
bool tl__an_at_missed(const struct tl__analysis *a);
/* The moment the sites' at was taken, once it was. */
int64_t tl__an_at_time(const struct tl__analysis *a);

#endif /* TL_ANALYSIS_H */
