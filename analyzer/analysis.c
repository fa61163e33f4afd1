/*
 * analysis.c - see analysis.h. Records in, site aggregates out.
 *
 * Per timer, only what its site's counters need later: its site, kind,
 * bytes, and whether it is pending, periodic, released. Each event updates
 * the timer and the site's counters at once; a free folds the timer away.
 */
#include "analysis.h"
#include "grow.h"
#include "idmap.h"

#include <stdlib.h>
#include <string.h>

enum {
	T_PENDING = 1u << 0,     /* waiting to fire (in the runtime or the kernel) */
	T_PERIODIC = 1u << 1,    /* a ticker, or a kernel timer armed with an interval */
	T_RELEASED = 1u << 2,    /* the caller gave up its handle */
	T_PROVISIONAL = 1u << 3, /* seen before its create: site unknown so far */
	T_LIVE = 1u << 4,        /* the slot holds a timer (not on the free list) */
	T_LATE = 1u << 5,        /* provisional, and its id is below one created already */
	T_FREED = 1u << 6,       /* provisional, and freed: waiting for its create */
	T_BEFORE = 1u << 7,      /* made before the recording began (an existing record) */
};

struct an_timer {
	uint64_t id;
	uint64_t bytes;
	int64_t created;
	int64_t deadline; /* a kernel one-shot's expiry: pending until then */
	uint32_t site;
	uint8_t kind;
	uint8_t flags;
	uint16_t late_events; /* events counted as orphans while T_LATE */
};

struct tl__an_private {
	struct tl__idmap ids;
	struct an_timer *timers;
	uint32_t *free_slots;
	size_t ntimers, captimers, nfree;
	struct tl__idmap sites_by_key; /* (stack << 8 | kind) + 1 -> site */
	struct tl__idmap stacks_by_id; /* stack id -> index into a->stacks (ids are sparse) */
	struct tl__idmap aliases;      /* stack id -> the stack id of the same call site */
	uint64_t max_id[2];           /* highest id created, by stream (tl_id_stream()) */
	int64_t at;                   /* tl__an_at: when to take the sites' at */
	uint64_t at_snapshot;         /* or at this snapshot (0: by time) */
	int64_t at_time;              /* when it was taken */
	bool at_done;
	/* The last frees, by id (direct-mapped): a recorder's threads hand
	 * their events over separately, so an event of a timer's last moments
	 * (a fire on the timer thread) can be written just after its free. */
	struct {
		uint64_t id;
		int64_t time;
		uint32_t site;
	} freed[1024];
};

/* The kind's facts (trace/'s table; a kind above INT_MAX is unknown too). */
static const struct tl_kind_info *kind_of(uint32_t kind)
{
	return tl_kind_info((int)kind);
}

struct tl__analysis *tl__an_new(void)
{
	struct tl__analysis *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->priv = calloc(1, sizeof(*a->priv));
	if (!a->priv) {
		free(a);
		return NULL;
	}
	a->priv->at = INT64_MAX;
	a->first_time = INT64_MAX;
	return a;
}

void tl__an_free(struct tl__analysis *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nstacks; i++)
		free(a->stacks[i].frames);
	free(a->stacks);
	free(a->sites);
	free(a->resets);
	free(a->snapshots);
	free(a->instants);
	free(a->proc.exe);
	free(a->proc.hostname);
	free(a->proc.unwinder);
	free(a->proc.cmdline);
	free(a->runtime);
	tl__idmap_free(&a->priv->ids);
	tl__idmap_free(&a->priv->sites_by_key);
	tl__idmap_free(&a->priv->stacks_by_id);
	tl__idmap_free(&a->priv->aliases);
	free(a->priv->timers);
	free(a->priv->free_slots);
	free(a->priv);
	free(a);
}

/* n elements of size bytes at *p, copied into new memory that *p then
 * points to (NULL when there are none, or no memory). @return false when
 * out of memory. */
static bool dup_array(void *p, size_t n, size_t size)
{
	void **pp = p, *q = NULL;
	bool some = *pp && n;

	if (some && (q = malloc(n * size)) != NULL)
		memcpy(q, *pp, n * size);
	*pp = q;
	return q || !some;
}

static bool dup_str(char **s)
{
	return !*s || (*s = strdup(*s)) != NULL;
}

static bool dup_idmap(struct tl__idmap *m)
{
	return dup_array(&m->slots, m->cap, sizeof(*m->slots));
}

struct tl__analysis *tl__an_copy(const struct tl__analysis *a)
{
	struct tl__analysis *c = malloc(sizeof(*c));
	struct tl__an_private *p = malloc(sizeof(*p));
	int fails = 0;
	bool ok;

	if (!c || !p) {
		free(c);
		free(p);
		return NULL;
	}
	*c = *a;
	*p = *a->priv;
	c->priv = p;
	c->capsites = c->nsites;
	c->capresets = c->nresets;
	c->capstacks = c->nstacks;
	p->captimers = p->ntimers;
	/* Every pointer is then the copy's own, or NULL: tl__an_free() frees
	 * the copy whatever failed. */
	fails += !dup_str(&c->proc.exe) + !dup_str(&c->proc.hostname) +
		 !dup_str(&c->proc.unwinder) + !dup_str(&c->proc.cmdline) + !dup_str(&c->runtime);
	fails += !dup_array(&c->sites, c->nsites, sizeof(*c->sites));
	fails += !dup_array(&c->resets, c->nresets, sizeof(*c->resets));
	fails += !dup_array(&c->snapshots, c->nsnapshots, sizeof(*c->snapshots));
	fails += !dup_array(&c->instants, c->instants ? TL_AN_INSTANTS : 0, sizeof(*c->instants));
	fails += !dup_idmap(&p->ids) + !dup_idmap(&p->sites_by_key) +
		 !dup_idmap(&p->stacks_by_id) + !dup_idmap(&p->aliases);
	fails += !dup_array(&p->timers, p->ntimers, sizeof(*p->timers));
	/* free_slots may hold up to captimers: the copy's capacity is ntimers */
	fails += !dup_array(&p->free_slots, p->ntimers, sizeof(*p->free_slots));
	if (!dup_array(&c->stacks, c->nstacks, sizeof(*c->stacks))) {
		c->nstacks = 0;
		fails++;
	}
	for (size_t i = 0; i < c->nstacks; i++) /* their frames, each its own */
		fails += !dup_array(&c->stacks[i].frames, c->stacks[i].n, sizeof(uint64_t));
	ok = fails == 0;
	if (!ok) {
		tl__an_free(c);
		return NULL;
	}
	return c;
}

double tl__an_secs(const struct tl__analysis *a, int64_t t)
{
	return (double)tl__an_since(t, a->proc.start) / 1e9;
}

double tl__an_duration(const struct tl__analysis *a)
{
	return a->have_process && a->end_time > a->proc.start ? tl__an_secs(a, a->end_time) : 0;
}

const struct tl__an_stack *tl__an_stack(const struct tl__analysis *a, uint32_t id)
{
	uint32_t i = tl__idmap_get(&a->priv->stacks_by_id, id);

	return i == UINT32_MAX ? NULL : &a->stacks[i];
}

int tl__an_stack_alias(struct tl__analysis *a, uint32_t stack, uint32_t same_as)
{
	if (stack == same_as || tl__idmap_get(&a->priv->aliases, stack) != UINT32_MAX)
		return 0;
	return tl__idmap_put(&a->priv->aliases, stack, same_as) ? TL_TRACE_E_NOMEM : 0;
}

/* The stack that stands for stack's call site. */
static uint32_t canonical(const struct tl__analysis *a, uint32_t stack)
{
	uint32_t same = a->priv->aliases.count ? tl__idmap_get(&a->priv->aliases, stack)
					       : UINT32_MAX;

	return same == UINT32_MAX ? stack : same;
}

void tl__an_at(struct tl__analysis *a, int64_t at)
{
	a->priv->at = at;
}

void tl__an_at_snapshot(struct tl__analysis *a, uint64_t n)
{
	tl__an_at(a, INT64_MAX);
	a->priv->at_snapshot = n;
}

bool tl__an_at_missed(const struct tl__analysis *a)
{
	return a->priv->at_snapshot && a->nsnapshots < a->priv->at_snapshot;
}

int64_t tl__an_at_time(const struct tl__analysis *a)
{
	return a->priv->at_time;
}

/* ---------------------------------------------------------------------------
 * Sites and their series
 */

static int64_t series_step0 = 1000000; /* 1 ms */

static void series_put(struct tl__an_series *s, int64_t t, uint32_t before, uint32_t after)
{
	int64_t b;

	int64_t since = tl__an_since(t, s->t0);

	if (since < 0)
		since = 0;
	while ((b = since / s->step) >= TL_AN_SERIES) {
		/* Halve the resolution: each pair of buckets becomes one. */
		for (uint32_t i = 0; i < TL_AN_SERIES / 2; i++) {
			uint32_t x = s->max[2 * i], y = s->max[2 * i + 1];

			s->max[i] = x > y ? x : y;
		}
		s->n = (s->n + 1) / 2;
		memset(s->max + TL_AN_SERIES / 2, 0, sizeof(s->max) / 2);
		s->step *= 2;
	}
	/* Buckets since the last change held the value before this one. */
	while (s->n <= (uint32_t)b)
		s->max[s->n++] = before;
	if (after > s->max[b])
		s->max[b] = after;
}

static uint32_t site_of(struct tl__analysis *a, uint32_t stack, uint32_t kind)
{
	uint64_t key = ((uint64_t)stack << 8 | kind) + 1;
	uint32_t i = tl__idmap_get(&a->priv->sites_by_key, key);
	struct tl__an_site *s;

	if (i != UINT32_MAX)
		return i;
	if (!(s = tl__grow(a->sites, &a->capsites, a->nsites + 1, sizeof(*s), 64)))
		return UINT32_MAX;
	a->sites = s;
	if (tl__idmap_put(&a->priv->sites_by_key, key, (uint32_t)a->nsites) != 0)
		return UINT32_MAX;
	s = &a->sites[a->nsites];
	memset(s, 0, sizeof(*s));
	s->stack = stack;
	s->kind = kind;
	s->series.t0 = a->proc.start;
	s->series.step = series_step0;
	return (uint32_t)a->nsites++;
}

/* Live count of site s changes by delta at time t. */
/* A timer of site s came to be (delta +1) or went (-1) at time t: its
 * bytes and creation time join or leave the site's live ones. */
static void site_live(struct tl__analysis *a, struct tl__an_site *s, int64_t t, int delta,
		      uint64_t bytes, int64_t created)
{
	uint64_t before = s->live;

	if (delta > 0)
		a->live++;
	else
		a->live -= a->live > 0 && s->live > 0;

	if (t > s->last_change) {
		if (s->last_change)
			s->timer_seconds +=
				(double)s->live * (double)tl__an_since(t, s->last_change) / 1e9;
		s->last_change = t;
	}
	if (delta > 0) {
		s->live++;
		s->live_bytes += bytes;
		s->live_created_sum += created;
	} else if (s->live > 0) {
		s->live--;
		s->live_bytes -= bytes < s->live_bytes ? bytes : s->live_bytes;
		s->live_created_sum = s->live ? s->live_created_sum - created : 0;
	}
	if (s->live > s->peak_live) {
		s->peak_live = s->live;
		s->peak_live_time = t;
	}
	if (s->live_bytes > s->peak_bytes) {
		s->peak_bytes = s->live_bytes;
		s->peak_bytes_time = t;
	}
	series_put(&s->series, t, (uint32_t)before, (uint32_t)s->live);
}

/* A Go timer is live while the runtime holds it: while pending. Go has
 * no free to record; a timer that fired or was stopped is the garbage
 * collector's, and it goes when the program lets it go. */
static bool go_live(const struct an_timer *t)
{
	return tl_kind_info(t->kind)->source == TL_SOURCE_GO;
}

static void take_live(struct tl__analysis *a, int64_t time);

static void set_pending(struct tl__analysis *a, struct tl__an_site *s, struct an_timer *t, bool on,
			int64_t time)
{
	if (on == !!(t->flags & T_PENDING))
		return;
	if (go_live(t))
		site_live(a, s, time, on ? +1 : -1, t->bytes, t->created);
	if (on) {
		t->flags |= T_PENDING;
		s->pending++;
		s->pending_bytes += t->bytes;
		if (s->pending > s->peak_pending) {
			s->peak_pending = s->pending;
			s->peak_pending_time = time;
		}
		if (s->pending_bytes > s->peak_pending_bytes)
			s->peak_pending_bytes = s->pending_bytes;
	} else {
		t->flags &= (uint8_t)~T_PENDING;
		s->pending -= s->pending > 0;
		s->pending_bytes -= t->bytes < s->pending_bytes ? t->bytes : s->pending_bytes;
	}
}

/* ---------------------------------------------------------------------------
 * Timers
 */

static struct an_timer *timer_get(struct tl__analysis *a, uint64_t id)
{
	uint32_t i = tl__idmap_get(&a->priv->ids, id);

	return i == UINT32_MAX ? NULL : &a->priv->timers[i];
}

bool tl__an_knows(const struct tl__analysis *a, uint64_t id)
{
	return tl__idmap_get(&a->priv->ids, id) != UINT32_MAX;
}

static struct an_timer *timer_new(struct tl__analysis *a, uint64_t id)
{
	struct tl__an_private *p = a->priv;
	uint32_t i;

	if (p->nfree) {
		i = p->free_slots[--p->nfree];
	} else {
		if (p->ntimers == p->captimers) {
			/* Two arrays of one capacity: the second grows to the first's. */
			size_t cap = p->captimers, fcap = p->captimers;
			struct an_timer *n =
				tl__grow(p->timers, &cap, p->ntimers + 1, sizeof(*n), 1024);
			uint32_t *f;

			if (!n)
				return NULL;
			p->timers = n;
			if (!(f = tl__grow(p->free_slots, &fcap, cap, sizeof(*f), cap)))
				return NULL;
			p->free_slots = f;
			p->captimers = cap;
		}
		i = (uint32_t)p->ntimers++;
	}
	if (tl__idmap_put(&p->ids, id, i) != 0) {
		p->free_slots[p->nfree++] = i;
		return NULL;
	}
	memset(&p->timers[i], 0, sizeof(p->timers[i]));
	p->timers[i].id = id;
	p->timers[i].flags = T_LIVE;
	return &p->timers[i];
}

/* Where the free of timer id is remembered: both id streams spread over
 * all of freed[] (1024 slots). */
static size_t freed_slot(uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 54);
}

static void timer_drop(struct tl__analysis *a, struct an_timer *t, int64_t time)
{
	struct tl__an_private *p = a->priv;
	size_t slot = freed_slot(t->id);

	p->freed[slot].id = t->id;
	p->freed[slot].time = time;
	p->freed[slot].site = t->site;

	tl__idmap_del(&p->ids, t->id);
	t->flags = 0;
	p->free_slots[p->nfree++] = (uint32_t)(t - p->timers);
}

/*
 * A timer first seen by an event other than its create: created before the
 * trace, or its create is still to come. The shim stamps a create when the
 * call is entered but can only record it once the call has returned, with
 * the timer's id; by then a callback timer may have fired and been freed on
 * other threads, and the writer may have written those events already. So
 * an id below one already created (T_LATE) may yet be created: its events
 * count as orphans (after its free, or its create lost) until it is.
 */
/* Whether the timer counts among its site's live ones: a late one is not
 * (yet) a timer, only events waiting for their create. */
static bool counted(const struct an_timer *t)
{
	return !(t->flags & T_LATE);
}

static struct an_timer *provisional(struct tl__analysis *a, uint64_t id, int64_t time)
{
	struct an_timer *t;
	uint32_t site;

	site = site_of(a, 0, 0);
	if (site == UINT32_MAX || !(t = timer_new(a, id)))
		return NULL;
	t->site = site;
	t->flags |= T_PROVISIONAL;
	if (id <= a->priv->max_id[tl_id_stream(id)])
		t->flags |= T_LATE;
	t->created = time;
	if (counted(t))
		site_live(a, &a->sites[site], time, +1, 0, time);
	return t;
}

static void note_duration(struct tl__an_site *s, int64_t d)
{
	if (d <= 0)
		return;
	s->sum_duration += (double)d;
	s->n_duration++;
}

/* A provisional timer's create arrived: take it out of the unknown site. */
static void adopt(struct tl__analysis *a, struct an_timer *t, int64_t time)
{
	struct tl__an_site *u = &a->sites[t->site];

	set_pending(a, u, t, false, time);
	if (t->flags & T_FREED)
		u->freed--; /* the free moves to the timer's own site */
	else if (counted(t))
		site_live(a, u, time, -1, t->bytes, t->created);
	a->orphans -= t->late_events;
	t->late_events = 0;
	t->flags &= (uint8_t)~(T_PROVISIONAL | T_LATE);
}

/* A timer of site s ended its life at time: the longest such life is how
 * long the site's timers may be in flight (tl__an_growth). */
static void ended(struct tl__an_site *s, const struct an_timer *t, int64_t time)
{
	int64_t life = tl__an_since(time, t->created);

	if (!(t->flags & (T_PROVISIONAL | T_BEFORE)) && life > s->longest_life)
		s->longest_life = life;
}

static void on_free(struct tl__analysis *a, struct tl__an_site *s, struct an_timer *t,
		    int64_t time)
{
	if (t->flags & T_FREED)
		return; /* twice */
	s->freed++;
	ended(s, t, time);
	set_pending(a, s, t, false, time);
	if (counted(t) && !go_live(t))
		site_live(a, s, time, -1, t->bytes, t->created);
	if (t->flags & T_PROVISIONAL)
		t->flags |= T_FREED; /* kept: its create may still come */
	else
		timer_drop(a, t, time);
}

/* Timer t, as event e says it was made, at site si from time on. */
static struct tl__an_site *place(struct tl__analysis *a, struct an_timer *t, uint32_t si,
				 const struct tl_event *e, int64_t time)
{
	t->site = si;
	t->kind = (uint8_t)e->kind;
	/* a callback timer's aux: its argument's bytes; Go's: the code the
	 * callback runs (trace-format.md) */
	t->bytes = e->size + (kind_of(e->kind)->callback && !go_live(t) ? e->aux : 0);
	t->created = time;
	return &a->sites[si];
}

static int on_create(struct tl__analysis *a, const struct tl_record *r)
{
	const struct tl_event *e = &r->ev;
	uint32_t si = site_of(a, canonical(a, e->stack), e->kind);
	struct an_timer *t = timer_get(a, e->id);
	struct tl__an_site *s;

	if (si == UINT32_MAX)
		return TL_TRACE_E_NOMEM;
	if (t && !(t->flags & T_PROVISIONAL)) {
		a->orphans++; /* a second create of one id */
		return 0;
	}
	if (t)
		adopt(a, t, r->time);
	else if (!(t = timer_new(a, e->id)))
		return TL_TRACE_E_NOMEM;
	s = place(a, t, si, e, r->time);
	if (kind_of(e->kind)->callback && go_live(t) && !s->callback)
		s->callback = e->aux;
	else if (kind_of(e->kind)->callback && !go_live(t) && e->aux > s->arg_bytes_max)
		s->arg_bytes_max = e->aux;
	s->alloc_bytes += t->bytes;
	if (!s->created++)
		s->first_created = r->time;
	s->last_created = r->time;
	note_duration(s, e->duration);
	if (!go_live(t))
		site_live(a, s, r->time, +1, t->bytes, t->created);
	if (tl_kind_is_runtime((int)e->kind)) {
		if (kind_of(e->kind)->periodic)
			t->flags |= T_PERIODIC;
		set_pending(a, s, t, true, r->time);
	}
	if (e->kind <= TL_KIND_MAX)
		a->created_by_kind[e->kind]++;
	if (e->id > a->priv->max_id[tl_id_stream(e->id)])
		a->priv->max_id[tl_id_stream(e->id)] = e->id;
	if (t->flags & T_FREED) { /* its free came first (see provisional()) */
		t->flags &= (uint8_t)~T_FREED;
		on_free(a, s, t, r->time);
	}
	return 0;
}

/* A kernel one-shot armed earlier has expired by now: no longer pending. */
static void expire(struct tl__analysis *a, struct tl__an_site *s, struct an_timer *t, int64_t time)
{
	if (t->deadline && !(t->flags & T_PERIODIC) && time >= t->deadline) {
		set_pending(a, s, t, false, time);
		t->deadline = 0;
	}
}

static void on_arm(struct tl__analysis *a, struct tl__an_site *s, struct an_timer *t, const struct tl_record *r)
{
	bool periodic = r->ev.period > 0;

	if (periodic && !(t->flags & T_PERIODIC))
		s->armed_periodic++;
	t->flags = periodic ? t->flags | T_PERIODIC : t->flags & (uint8_t)~T_PERIODIC;
	if (periodic)
		t->deadline = INT64_MAX;
	else if (__builtin_add_overflow(r->time, r->ev.duration > 0 ? r->ev.duration : 0,
					&t->deadline))
		t->deadline = INT64_MAX; /* armed "for ever": pending to the end */
	note_duration(s, r->ev.duration);
	set_pending(a, s, t, true, r->time);
}

static void on_stop(struct tl__analysis *a, struct tl__an_site *s, struct an_timer *t, const struct tl_record *r)
{
	uint32_t f = r->ev.flags;

	if ((f & TL_STOP_WAS_ACTIVE) || ((f & TL_STOP_UNKNOWN) && (t->flags & T_PENDING)))
		s->stopped++;
	if (kind_of(t->kind)->periodic && (t->flags & T_PENDING))
		ended(s, t, r->time); /* a ticker's running life */
	set_pending(a, s, t, false, r->time);
	t->deadline = 0;
	if (!kind_of(t->kind)->periodic)
		t->flags &= (uint8_t)~T_PERIODIC;
}

static int instant(struct tl__analysis *a, int64_t time, uint32_t site, uint32_t stack)
{
	if (a->ninstants == TL_AN_INSTANTS) {
		a->instants_skipped++;
		return 0;
	}
	if (!a->instants) {
		a->instants = malloc(TL_AN_INSTANTS * sizeof(*a->instants));
		if (!a->instants)
			return TL_TRACE_E_NOMEM;
	}
	a->instants[a->ninstants++] = (struct tl__an_instant){time, site, stack};
	return 0;
}

static int on_reset(struct tl__analysis *a, struct an_timer *t, const struct tl_record *r)
{
	struct tl__an_site *s = &a->sites[t->site];
	struct tl__an_reset_site *rs = NULL;
	uint32_t stack = canonical(a, r->ev.stack);

	s->resets++;
	note_duration(s, r->ev.duration);
	if (r->ev.period > 0)
		t->flags |= T_PERIODIC;
	set_pending(a, s, t, true, r->time);
	if (!(r->ev.flags & TL_RESET_PENDING))
		return 0;
	s->resets_pending++;
	for (size_t i = 0; i < a->nresets && !rs; i++)
		if (a->resets[i].stack == stack && a->resets[i].site == t->site)
			rs = &a->resets[i];
	if (!rs) {
		struct tl__an_reset_site *n =
			tl__grow(a->resets, &a->capresets, a->nresets + 1, sizeof(*n), 16);

		if (!n)
			return TL_TRACE_E_NOMEM;
		a->resets = n;
		rs = &a->resets[a->nresets++];
		*rs = (struct tl__an_reset_site){stack, t->site, 0, 0, r->time, r->time};
	}
	rs->pending++;
	rs->last = r->time;
	return instant(a, r->time, t->site, stack);
}

static void on_fire(struct tl__analysis *a, struct tl__an_site *s, struct an_timer *t, const struct tl_record *r)
{
	s->fired++;
	if (!(r->ev.flags & TL_FIRE_DELIVERED))
		s->dropped_ticks++;
	if (t->flags & T_RELEASED)
		s->fired_released++;
	if (!(t->flags & T_PERIODIC))
		set_pending(a, s, t, false, r->time);
}

static void on_release(struct tl__an_site *s, struct an_timer *t)
{
	if (t->flags & T_RELEASED)
		return;
	t->flags |= T_RELEASED;
	s->released++;
	if ((t->flags & T_PENDING) && !(t->flags & T_PERIODIC))
		s->abandoned++;
}

/*
 * A timer from before the recording, first seen where no stack was taken
 * (a fire, a stop): the first stack it is seen with is where it is used,
 * and becomes its site from then on.
 */
static int rehome(struct tl__analysis *a, struct an_timer *t, uint32_t stack, int64_t time)
{
	uint32_t si = site_of(a, canonical(a, stack), t->kind);
	bool pending = t->flags & T_PENDING;

	if (si == UINT32_MAX)
		return TL_TRACE_E_NOMEM;
	if (si == t->site)
		return 0;
	set_pending(a, &a->sites[t->site], t, false, time);
	if (!go_live(t))
		site_live(a, &a->sites[t->site], time, -1, t->bytes, t->created);
	a->sites[t->site].before--;
	t->site = si;
	a->sites[si].before++;
	if (!go_live(t))
		site_live(a, &a->sites[si], time, +1, t->bytes, t->created);
	if (pending)
		set_pending(a, &a->sites[si], t, true, time);
	return 0;
}

/* An event of a timer already freed that happened before its free,
 * written late: counted at its site, no orphan. @return true if so. */
static bool before_free(struct tl__analysis *a, const struct tl_record *r)
{
	struct tl__an_private *p = a->priv;
	size_t slot = freed_slot(r->ev.id);
	struct tl__an_site *s;

	if (!r->ev.id || p->freed[slot].id != r->ev.id || r->time > p->freed[slot].time)
		return false;
	s = &a->sites[p->freed[slot].site];
	if (r->type == TL_REC_FIRE) {
		s->fired++;
		s->dropped_ticks += !(r->ev.flags & TL_FIRE_DELIVERED);
	}
	return true;
}

static int on_event(struct tl__analysis *a, const struct tl_record *r)
{
	struct an_timer *t;
	struct tl__an_site *s;

	if (r->type == TL_REC_CREATE)
		return on_create(a, r);
	t = timer_get(a, r->ev.id);
	if (!t && before_free(a, r))
		return 0;
	if (!t && !(t = provisional(a, r->ev.id, r->time)))
		return TL_TRACE_E_NOMEM;
	if (t->flags & T_LATE) {
		a->orphans++;
		t->late_events += t->late_events < UINT16_MAX;
	}
	if ((t->flags & T_BEFORE) && r->ev.stack && !a->sites[t->site].stack) {
		int err = rehome(a, t, r->ev.stack, r->time);

		if (err)
			return err;
	}
	s = &a->sites[t->site];
	expire(a, s, t, r->time);
	switch (r->type) {
	case TL_REC_ARM:
		on_arm(a, s, t, r);
		break;
	case TL_REC_STOP:
		on_stop(a, s, t, r);
		break;
	case TL_REC_RESET:
		return on_reset(a, t, r);
	case TL_REC_FIRE:
		on_fire(a, s, t, r);
		break;
	case TL_REC_RELEASE:
		on_release(s, t);
		break;
	case TL_REC_FREE:
		on_free(a, s, t, r->time);
		break;
	default: /* drain: nothing to count beyond the event */
		break;
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * Metadata
 */


static char *join_argv(const struct tl_process *p)
{
	size_t len = 1;
	char *s;

	for (uint32_t i = 0; i < p->argc; i++)
		len += strlen(p->argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = 0;
	for (uint32_t i = 0; i < p->argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, p->argv[i]);
	}
	return s;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static int on_process(struct tl__analysis *a, const struct tl_record *r)
{
	const struct tl_process *p = &r->process;

	if (a->have_process)
		return 0; /* a trace has one; a second is a writer's bug, ignored */
	a->have_process = true;
	a->proc.pid = p->pid;
	a->proc.ppid = p->ppid;
	a->proc.wall_ns = p->wall_ns;
	a->proc.start = (int64_t)p->mono_ns;
	a->proc.depth = p->depth;
	a->proc.flags = p->flags;
	a->attached |= (p->flags & TL_PROCESS_ATTACHED) != 0;
	a->proc.exe = dup_or_empty(p->exe);
	a->proc.hostname = dup_or_empty(p->hostname);
	a->proc.unwinder = dup_or_empty(p->unwinder);
	a->proc.cmdline = join_argv(p);
	for (size_t i = 0; i < a->nsites; i++)
		a->sites[i].series.t0 = a->proc.start;
	return a->proc.exe && a->proc.hostname && a->proc.unwinder && a->proc.cmdline
		       ? 0
		       : TL_TRACE_E_NOMEM;
}

static int on_stack(struct tl__analysis *a, const struct tl_record *r)
{
	uint32_t i = tl__idmap_get(&a->priv->stacks_by_id, r->stack.id);
	uint64_t *f = malloc((r->stack.n ? r->stack.n : 1) * sizeof(*f));
	struct tl__an_stack *n;

	if (!f)
		return TL_TRACE_E_NOMEM;
	memcpy(f, r->stack.frames, r->stack.n * sizeof(*f));
	if (i != UINT32_MAX) { /* written again (a writer's bug): the last one counts */
		free(a->stacks[i].frames);
		a->stacks[i] = (struct tl__an_stack){r->stack.n, f};
		return 0;
	}
	if ((n = tl__grow(a->stacks, &a->capstacks, a->nstacks + 1, sizeof(*n), 256)) != NULL)
		a->stacks = n;
	if (!n || tl__idmap_put(&a->priv->stacks_by_id, r->stack.id, (uint32_t)a->nstacks) != 0) {
		free(f);
		return TL_TRACE_E_NOMEM;
	}
	a->stacks[a->nstacks++] = (struct tl__an_stack){r->stack.n, f};
	return 0;
}

/*
 * A timer made before the recording began (an attached recorder's), first
 * seen at r->time: live from then on at its site (the stack where it was
 * first seen in use), counted among the timers from before the trace, and
 * never judged by growth, which it took no part in.
 */
static int on_existing(struct tl__analysis *a, const struct tl_record *r)
{
	const struct tl_event *e = &r->ev;
	uint32_t si = site_of(a, canonical(a, e->stack), e->kind);
	struct an_timer *t;
	struct tl__an_site *s;

	if (si == UINT32_MAX)
		return TL_TRACE_E_NOMEM;
	if (timer_get(a, e->id)) {
		a->orphans++; /* seen already: the record came too late to say anything */
		return 0;
	}
	if (!(t = timer_new(a, e->id)))
		return TL_TRACE_E_NOMEM;
	s = place(a, t, si, e, r->time);
	t->flags |= T_BEFORE;
	a->preexisting++;
	s->before++;
	if (!go_live(t))
		site_live(a, s, r->time, +1, t->bytes, t->created);
	if (e->id > a->priv->max_id[tl_id_stream(e->id)])
		a->priv->max_id[tl_id_stream(e->id)] = e->id;
	if (tl_kind_is_runtime((int)e->kind)) {
		if (kind_of(e->kind)->periodic)
			t->flags |= T_PERIODIC;
		set_pending(a, s, t, true, r->time);
	} else if (e->duration > 0 || e->period > 0) {
		/* A kernel timer armed when it was found: as if armed now. */
		struct tl_record arm = {.type = TL_REC_ARM, .time = r->time,
					.ev = {.id = e->id, .duration = e->duration,
					       .period = e->period}};

		on_arm(a, s, t, &arm);
	}
	return 0;
}

static int on_meta(struct tl__analysis *a, const struct tl_record *r)
{
	switch (r->type) {
	case TL_REC_PROCESS:
		return on_process(a, r);
	case TL_REC_STACK:
		return on_stack(a, r);
	case TL_REC_RUNTIME:
		a->mode = r->runtime.mode;
		free(a->runtime);
		/* Go's runtime is known by its version ("go1.19.8") */
		a->runtime = strdup(r->runtime.name && strcmp(r->runtime.name, "go") == 0 &&
						    r->runtime.version && r->runtime.version[0]
					    ? r->runtime.version
				    : r->runtime.name ? r->runtime.name : "");
		return a->runtime ? 0 : TL_TRACE_E_NOMEM;
	case TL_REC_DROPPED:
		a->dropped += r->dropped.count;
		if (r->dropped.reason > 0 && r->dropped.reason <= TL_DROP_MAX)
			a->dropped_by_reason[r->dropped.reason] += r->dropped.count;
		return 0;
	case TL_REC_SIGNAL:
		a->end_signal = r->signal.signo;
		return 0;
	case TL_REC_RECORDER:
		a->flush_ms = r->recorder.flush_ms;
		return 0;
	case TL_REC_ATTACHED:
		a->attached = true;
		a->proc_started = r->attached.started;
		return 0;
	case TL_REC_EXISTING:
		return on_existing(a, r);
	case TL_REC_SNAPSHOT: {
		struct tl__an_snapshot *n = realloc(a->snapshots, (a->nsnapshots + 1) * sizeof(*n));

		if (!n)
			return TL_TRACE_E_NOMEM;
		a->snapshots = n;
		a->snapshots[a->nsnapshots++] = (struct tl__an_snapshot){r->time, a->live};
		if (!a->priv->at_done && a->priv->at_snapshot == a->nsnapshots)
			take_live(a, r->time);
		return 0;
	}
	case TL_REC_END:
		a->end_time = r->time;
		a->clean_end = true;
		return 0;
	default:
		return 0; /* modules and threads are the symbolizer's and the reports' */
	}
}

/* ---------------------------------------------------------------------------
 * The stream
 */

static void take_live(struct tl__analysis *a, int64_t time)
{
	struct tl__an_private *p = a->priv;

	p->at_done = true;
	p->at_time = time;
	for (size_t i = 0; i < a->nsites; i++) {
		struct tl__an_site *s = &a->sites[i];
		__int128 age = s->live ? (__int128)time - s->live_created_sum / s->live : 0;

		s->at = (struct tl__an_inuse){
			.count = s->live,
			.bytes = s->live_bytes,
			.mean_age = age < 0 ? 0 : age > INT64_MAX ? INT64_MAX : (int64_t)age,
		};
	}
}

int tl__an_feed(struct tl__analysis *a, const struct tl_record *r)
{
	if (!tl_rec_is_event(r->type))
		return on_meta(a, r);
	if (!a->priv->at_done && a->priv->at != INT64_MAX &&
	    tl__an_since(r->time, a->proc.start) >= a->priv->at)
		take_live(a, (int64_t)((uint64_t)a->proc.start + (uint64_t)a->priv->at));
	a->events++;
	a->events_by_type[r->type & 0x1f]++;
	if (r->time < a->first_time)
		a->first_time = r->time;
	if (r->time > a->last_time)
		a->last_time = r->time;
	return on_event(a, r);
}

void tl__an_prefetch(const struct tl__analysis *a, const struct tl_record *r)
{
	if (tl_rec_is_event(r->type))
		tl__idmap_prefetch(&a->priv->ids, r->ev.id);
}

/* Which measure of what is left at the end a kind has (tl__an_growth). */
enum end_measure { END_NONE, END_RUNNING, END_OPEN, END_UNFREED, END_PENDING };

static enum end_measure end_measure(uint32_t kind)
{
	const struct tl_kind_info *k = kind_of(kind);

	if (k->periodic)
		return END_RUNNING;
	if (k->source == TL_SOURCE_KERNEL)
		return END_OPEN;
	if (k->caller_frees)
		return END_UNFREED;
	/* Go's callback timers: what a pending one pins is out of sight (the
	 * closure's captures), so they are judged by how many wait. */
	if (k->source == TL_SOURCE_GO && k->callback)
		return END_PENDING;
	return END_NONE;
}

/* A timer left at the end, in its site's growth (tl__an_growth). */
static void retain(const struct tl__analysis *a, struct tl__an_site *s, const struct an_timer *t)
{
	struct tl__an_growth *g = &s->growth;
	int64_t age = tl__an_since(a->end_time, t->created);
	int64_t tenth = tl__an_since(a->end_time, a->window_start) / 10;

	if (s->longest_life > 0 && age < s->longest_life) {
		g->in_flight++;
		return;
	}
	if (!g->retained++ || t->created < g->first)
		g->first = t->created;
	if (g->retained == 1 || t->created > g->last)
		g->last = t->created;
	g->recent += age <= tenth;
}

static void finish_timer(struct tl__analysis *a, struct an_timer *t)
{
	struct tl__an_site *s = &a->sites[t->site];
	bool pending = t->flags & T_PENDING, released = t->flags & T_RELEASED;
	bool periodic = pending && (t->flags & T_PERIODIC), inactive = !released && !pending;

	if (t->flags & T_LATE)
		return; /* never created: its events were orphans */
	a->preexisting += !!(t->flags & T_PROVISIONAL);
	if (t->flags & T_FREED)
		return; /* created before the trace, freed in it */

	if (pending && t->deadline && !(t->flags & T_PERIODIC) && t->deadline <= a->end_time)
		pending = false; /* a kernel one-shot that expired silently */
	if (go_live(t) && !(t->flags & T_PENDING))
		return; /* the garbage collector's: not live (go_live) */
	s->end_live++;
	s->end_pending += pending;
	s->end_periodic += periodic;
	s->end_unreleased += !released;
	s->end_released_pending += released && pending;
	s->end_inactive_unreleased += inactive;
	if (t->flags & (T_PROVISIONAL | T_BEFORE))
		return; /* no site to judge, or no part in the growth */
	/* Go has no handle to give up: a one-shot channel timer still waiting
	 * at the end, never fired nor stopped, is one nobody waits for. */
	if (go_live(t) && pending && kind_of(t->kind)->channel && !kind_of(t->kind)->periodic)
		s->abandoned++;
	switch (end_measure(s->kind)) {
	case END_RUNNING:
		if (periodic)
			retain(a, s, t);
		break;
	case END_OPEN:
		retain(a, s, t);
		break;
	case END_UNFREED:
		if (inactive)
			retain(a, s, t);
		break;
	case END_PENDING:
		if (pending)
			retain(a, s, t);
		break;
	default:
		break;
	}
}

/* The most timers a site had live in the bucket of its series that holds t. */
static uint64_t series_at(const struct tl__an_series *s, int64_t t)
{
	int64_t since = tl__an_since(t, s->t0);
	uint64_t b = since > 0 && s->step > 0 ? (uint64_t)(since / s->step) : 0;

	if (s->n == 0)
		return 0;
	return s->max[b < s->n ? b : s->n - 1];
}

void tl__an_finish(struct tl__analysis *a, const struct tl_trace_reader_stats *st)
{
	struct tl__an_private *p = a->priv;
	int64_t span, life_start;

	(void)st;
	if (!a->clean_end || a->end_time < a->last_time)
		a->end_time = a->last_time;
	if (!a->have_process)
		a->proc.start = a->first_time == INT64_MAX ? 0 : a->first_time;
	/* Nothing timed yet (a trace followed from its first records): the
	 * window is empty, at the recording's start. */
	if (tl__an_since(a->end_time, a->proc.start) < 0)
		a->end_time = a->proc.start;
	/* The window: from when recording began (or the first record) to the
	 * end; start-up is its first quarter, if it is long enough to have
	 * one. */
	a->window_start = a->proc.start;
	if (a->first_time != INT64_MAX && tl__an_since(a->first_time, a->window_start) < 0)
		a->window_start = a->first_time; /* records before the recording began: garbage */
	if (tl__an_since(a->end_time, a->window_start) < 0)
		a->window_start = a->end_time;
	/* Start-up is the first quarter of the process's life as far as the
	 * trace sees it: from when it started (an attached recorder says
	 * when; it began before the window) to the end. What of it falls
	 * before the window (an attach long after start-up) is no part of
	 * the window's. */
	life_start = a->window_start;
	if (a->attached && a->proc_started && tl__an_since(a->window_start, a->proc_started) > 0)
		life_start = a->proc_started;
	span = tl__an_since(a->end_time, life_start);
	a->startup_end = span >= TL_AN_STARTUP_MIN_WINDOW ? life_start + span / 4 : a->window_start;
	if (tl__an_since(a->startup_end, a->window_start) <= 0) {
		a->startup_before = span >= TL_AN_STARTUP_MIN_WINDOW;
		a->startup_end = a->window_start;
	}
	if (!p->at_done && !p->at_snapshot)
		take_live(a, a->end_time);
	for (size_t i = 0; i < p->ntimers; i++) {
		struct an_timer *t = &p->timers[i];

		if (t->flags & T_LIVE)
			finish_timer(a, t);
	}
	for (size_t i = 0; i < a->nsites; i++) {
		struct tl__an_site *s = &a->sites[i];
		struct tl__an_growth *g = &s->growth;

		/* Close the integral and carry the series up to the end. */
		if (s->last_change && a->end_time > s->last_change)
			s->timer_seconds += (double)s->live *
					    (double)tl__an_since(a->end_time, s->last_change) / 1e9;
		s->last_change = a->end_time;
		series_put(&s->series, a->end_time, (uint32_t)s->live, (uint32_t)s->live);
		/* Growth: what is left beyond what start-up had. */
		g->measured = end_measure(s->kind) != END_NONE;
		g->level = a->startup_end == a->window_start ? 0
							      : series_at(&s->series, a->startup_end);
		g->grew = g->retained > g->level ? g->retained - g->level : 0;
	}
}
