/*
 * gen_trace - a synthetic trace of a busy service, written through the real
 * trace writer, for the throughput benchmark of timerleak-report
 * (scripts/bench-report).
 *
 *   gen_trace [--events N] [--seed S] [--threads T] OUTPUT.tlk
 *
 * N events (default 50,000,000), T worker threads (default 16), the same
 * file for the same seed on the same machine. The service makes some
 * 100,000 timer events a second, so the default trace spans about eight
 * minutes of its life; about 10,000 of its timers are live at any moment,
 * created at 1,000 call sites (gen_trace_acts.c):
 *
 *   activity           kind       per s  events   lives          sites
 *   request timeout    timer     14,000  4        ~5 ms (stopped)  400
 *   one-shot received  after      3,000  5        1-20 ms          120
 *   after in a select  after        120  4        30 or 60 s        60
 *     (released unfired, as time.After's loser; 10% win instead)
 *   connection idle    timer         67  4+resets ~30 s            80
 *     (reset every ~200 ms from two reset sites each; 4 of the 160
 *      reset sites sometimes reset with a fired value pending)
 *   ticker             ticker        50  3+2/tick ~20 s            60
 *     (100 ms to 5 s periods; 2% of ticks dropped; 2 sites leak some)
 *   timerfd            timerfd      500  4+       10-100 ms         80
 *     (armed, read, re-armed or closed; 30% of the sites periodic, every
 *      50 ms, and stopped; 1 site leaks some)
 *   POSIX timer        posix        200  4        0.1-2 s           40
 *   callback timer     afterfunc  2,500  4        50 ms-1 s        160
 *
 * Arrivals are Poisson; each activity is a small state machine whose next
 * step a heap releases in time order, so events of concurrent activities
 * interleave across threads as they would in the shim's merged rings.
 * Long-lived activities (connections, tickers, select loops) start with
 * their steady-state population, created over the trace's first second,
 * so that a short trace holds as many live timers as a long one.
 *
 * The metadata is real: the module records describe the objects loaded in
 * this process (dl_iterate_phdr: paths, build-ids, PT_LOAD segments), and
 * every stack frame lies in their executable segments — the leaf and
 * middle frames in this executable, some in a shared library, the bottom
 * two in libc — so the analyzer's symbolizer opens real files. Only the
 * load biases are fixed, not the ones ASLR chose, so that the file is the
 * same from run to run. Runtime timers get even ids and kernel timers odd
 * ones, as the shim numbers them; time_shift is 10, the recorder's default,
 * and chunks are flushed as the shim does (past 1 MiB or every 200 ms).
 *
 * The event mix that results: about 20% create, 20% free, 19% release,
 * 14% stop, 10% fire, 10% reset, 6% drain, 1% arm; a thread switch before
 * most events; 4.5 bytes per event in the file.
 *
 * This file holds the objects, the stacks, the events and the heap of
 * steps to come; gen_trace_acts.c the activities; gen_trace.h what they
 * share. Prints one line of key=value numbers ("gen_trace events=...
 * bytes=... bytes_per_event=...").
 */
#include "gen_trace.h"
#include "tl_trace.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <link.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Where stack frames come from: [lo, hi) of an executable segment, at the
 * address the trace says it was loaded. */
struct text {
	uint64_t lo, hi;
};

static struct {
	struct tl_module mods[MAX_MODULES];
	struct tl_segment segs[MAX_MODULES][TL_MAX_SEGMENTS];
	char *paths[MAX_MODULES];
	unsigned n;
	struct text exe, lib, libc;
} objs;

/* ---------------------------------------------------------------------------
 * Modules: the objects this process has loaded
 */

/* Remember the executable segment of the executable, of libc, and of the
 * first other library, for stack frames. */
static void note_text(struct tl_module *m, const char *path)
{
	struct text *t = NULL;

	if (!path[0])
		t = &objs.exe;
	else if (strstr(path, "/libc.so"))
		t = &objs.libc;
	else if (!objs.lib.hi && !strstr(path, "/ld-linux") && path[0] == '/')
		t = &objs.lib;
	for (uint32_t k = 0; t && k < m->nseg; k++) {
		if (m->segs[k].flags & PF_X) {
			t->lo = m->bias + m->segs[k].vaddr;
			t->hi = t->lo + m->segs[k].memsz;
			return;
		}
	}
}

/* One object: the shim's module record, at a fixed bias (see the top). */
static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
	unsigned i = objs.n;
	struct tl_module *m = &objs.mods[i];
	const char *path = info->dlpi_name ? info->dlpi_name : "";

	(void)size, (void)data;
	if (i == MAX_MODULES)
		return 1;
	for (int k = 0; k < info->dlpi_phnum && m->nseg < TL_MAX_SEGMENTS; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];

		if (ph->p_type == PT_LOAD)
			objs.segs[i][m->nseg++] = (struct tl_segment){ph->p_vaddr, ph->p_memsz,
								      ph->p_offset, ph->p_flags};
	}
	objs.paths[i] = strdup(path);
	m->id = i + 1;
	m->bias = i == 0 ? 0x555555554000ull : 0x7f0000000000ull + (uint64_t)i * (1ull << 32);
	m->build_id_len = tl_build_id_of_loaded(info, &m->build_id);
	m->path = objs.paths[i] ? objs.paths[i] : "";
	m->segs = objs.segs[i];
	note_text(m, m->path);
	objs.n++;
	return 0;
}

/* ---------------------------------------------------------------------------
 * Sites and stacks
 */

uint64_t gen__site_hash(const struct sim *m, unsigned i, unsigned salt)
{
	return mix(m->seed * 0x9e3779b97f4a7c15ull + i * 0x632be59bd9b4e019ull + salt);
}

static void sites_init(struct sim *m)
{
	unsigned i = 0;
	double cum = 0;

	for (int a = 0; a < NACT; a++) {
		for (unsigned j = 0; j < acts[a].nsites; j++)
			gen__site_init(m, i++, (enum act)a, j);
		cum += acts[a].rate;
		m->cum_rate[a] = cum;
	}
	/* The connections' reset sites; every 40th resets with a value
	 * pending now and then. */
	for (unsigned r = 0; r < NSTACKS - NSITES; r++)
		m->sites[NSITES + r] = (struct site){.act = CONN, .buggy_reset = r % 40 == 3};
}

/* A frame in t, at an offset drawn from h. */
static uint64_t frame_in(const struct text *t, uint64_t h)
{
	return t->hi > t->lo ? t->lo + h % (t->hi - t->lo) : 0x1000 + h % 0x100000;
}

/*
 * The frames of site i, leaf first: frames of its own (a handler and what
 * it calls), three of a request loop shared by an eighth of the sites, for
 * some three in a shared library (a framework calling back), and libc's
 * two thread-start frames at the bottom, which every stack shares. A reset
 * site shares the frames below its leaf with its connection's creation.
 */
static uint32_t site_frames(const struct sim *m, unsigned i, uint64_t *f)
{
	unsigned base = i < NSITES ? i
				   : acts[REQ].nsites + acts[ONESHOT].nsites + acts[CHURN].nsites +
					     (i - NSITES) / RESETS_PER_CONN;
	uint64_t h = gen__site_hash(m, base, 2);
	uint32_t depth = 10 + (uint32_t)(h % 11), own = depth - 5 - (h % 10 < 4 ? 3 : 0), n = 0;

	for (uint32_t k = 0; k < own; k++)
		f[n++] = frame_in(&objs.exe, gen__site_hash(m, k ? base : i, 100 + k));
	if (h % 10 < 4)
		for (uint32_t k = 0; k < 3; k++)
			f[n++] = frame_in(&objs.lib, gen__site_hash(m, base % 16, 200 + k));
	for (uint32_t k = 0; k < 3; k++)
		f[n++] = frame_in(&objs.exe, gen__site_hash(m, base % 8, 300 + k));
	f[n++] = frame_in(&objs.libc, mix(401));
	f[n++] = frame_in(&objs.libc, mix(402));
	return n;
}

/* The stack id of site i, written before its first use, as the shim does. */
uint32_t gen__stack_of(struct sim *m, unsigned i)
{
	struct site *s = &m->sites[i];
	uint64_t f[MAX_DEPTH];
	uint32_t n;

	if (s->stack_id)
		return s->stack_id;
	s->stack_id = ++m->nstacks;
	n = site_frames(m, i, f);
	if (!m->err)
		m->err = tl_trace_writer_stack(m->w, s->stack_id, f, n);
	return s->stack_id;
}

/* ---------------------------------------------------------------------------
 * Events, timers and the heap
 */

void gen__write_ev(struct sim *m, int type, uint32_t tid, const struct tl_event *e)
{
	int err = tl_trace_writer_event(m->w, type, m->now, tid, e);

	if (err && !m->err)
		m->err = err;
	m->events++;
}

void gen__simple(struct sim *m, int type, uint32_t tid, const struct timer *t, uint32_t flags)
{
	struct tl_event e = {.id = t->id, .flags = flags};

	gen__write_ev(m, type, tid, &e);
}

static void live_add(struct sim *m, int delta)
{
	m->live_area += (double)m->live * (double)(m->now - m->live_since);
	m->live_since = m->now;
	m->live += delta;
	if (m->live > m->live_max)
		m->live_max = m->live;
}

void gen__create(struct sim *m, struct timer *t, int64_t dur, int64_t period)
{
	const struct site *s = &m->sites[t->site];
	const struct act_def *a = &acts[t->act];
	struct tl_event e = {
		.kind = a->kind, .duration = dur, .period = period, .size = a->size, .aux = s->aux};

	t->id = tl_kind_id_stream((int)a->kind) == TL_ID_KERNEL
			? tl_id_make(TL_ID_KERNEL, ++m->next_kernel)
			: tl_id_make(TL_ID_RUNTIME, ++m->next_rt);
	t->born = m->now;
	e.id = t->id;
	e.stack = gen__stack_of(m, t->site);
	gen__write_ev(m, TL_REC_CREATE, t->tid, &e);
	live_add(m, +1);
}

void gen__gone(struct sim *m, struct timer *t, uint32_t tid)
{
	gen__simple(m, TL_REC_FREE, tid, t, 0);
	live_add(m, -1);
}

void gen__release_free(struct sim *m, struct timer *t, uint32_t tid)
{
	gen__simple(m, TL_REC_RELEASE, tid, t, 0);
	gen__gone(m, t, tid);
}

static void heap_swap(struct sim *m, size_t i, size_t j)
{
	struct due x = m->heap[i];

	m->heap[i] = m->heap[j];
	m->heap[j] = x;
}

/* Step `step` of t comes due after delay. */
void gen__later(struct sim *m, struct timer *t, int step, int64_t delay)
{
	size_t i = m->nheap++;

	t->step = (uint8_t)step;
	m->heap[i] = (struct due){m->now + delay, (uint32_t)(t - m->timers)};
	while (i > 0 && m->heap[(i - 1) / 2].at > m->heap[i].at) {
		heap_swap(m, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct due heap_pop(struct sim *m)
{
	struct due top = m->heap[0];
	size_t i = 0;

	m->heap[0] = m->heap[--m->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;

		if (l < m->nheap && m->heap[l].at < m->heap[min].at)
			min = l;
		if (r < m->nheap && m->heap[r].at < m->heap[min].at)
			min = r;
		if (min == i)
			return top;
		heap_swap(m, i, min);
		i = min;
	}
}

/* A slot for a new activity (the heap grows with the slots: one due each). */
static struct timer *timer_new(struct sim *m, enum act a, unsigned site, uint32_t tid)
{
	struct timer *t;

	if (!m->nfree && m->ntimers == m->cap) {
		size_t ncap = m->cap ? 2 * m->cap : 16384;
		struct timer *nt = realloc(m->timers, ncap * sizeof(*nt));
		uint32_t *nf = nt ? realloc(m->free_slots, ncap * sizeof(*nf)) : NULL;
		struct due *nh = nf ? realloc(m->heap, ncap * sizeof(*nh)) : NULL;

		if (!nh) {
			fprintf(stderr, "gen_trace: out of memory\n");
			exit(1);
		}
		m->timers = nt, m->free_slots = nf, m->heap = nh, m->cap = ncap;
	}
	t = &m->timers[m->nfree ? m->free_slots[--m->nfree] : m->ntimers++];
	*t = (struct timer){.site = (uint16_t)site, .act = (uint8_t)a, .tid = tid};
	return t;
}

void gen__done(struct sim *m, struct timer *t)
{
	m->free_slots[m->nfree++] = (uint32_t)(t - m->timers);
}

/* ---------------------------------------------------------------------------
 * Arrivals and the trace
 */

/* A site of activity a: popular ones first (density falls as 1/sqrt). */
static unsigned pick_site(struct sim *m, enum act a)
{
	unsigned first = 0;
	double u = unif(m);

	for (int i = 0; i < (int)a; i++)
		first += acts[i].nsites;
	return first + (unsigned)(acts[a].nsites * u * u);
}

static void arrive(struct sim *m, enum act a)
{
	uint32_t tid = m->tids[2 + rnd(m) % m->nthreads];

	gen__step(m, timer_new(m, a, pick_site(m, a), tid));
}

static enum act pick_act(struct sim *m)
{
	double r = unif(m) * m->cum_rate[NACT - 1];
	int a = 0;

	while (a < NACT - 1 && r >= m->cum_rate[a])
		a++;
	return (enum act)a;
}

/* The long-lived activities' steady state, created over the first second. */
static void populate(struct sim *m)
{
	for (int a = 0; a < NACT; a++) {
		unsigned n = (unsigned)(acts[a].rate * acts[a].mean_life);

		for (unsigned i = 0; i < n; i++) {
			uint32_t tid = m->tids[2 + rnd(m) % m->nthreads];
			struct timer *t = timer_new(m, (enum act)a, pick_site(m, (enum act)a), tid);

			t->initial = true;
			gen__later(m, t, 0, between(m, 1, 1 * SEC));
		}
	}
}

static int metadata(struct sim *m, const char *exe)
{
	const char *argv[] = {exe, "--listen", ":8080", "--workers", "16"};
	struct tl_process p = {.pid = 31337,
			       .ppid = 1,
			       .wall_ns = 1700000000ull * SEC,
			       .mono_ns = (uint64_t)m->now,
			       .exe = exe,
			       .argc = 5,
			       .argv = argv,
			       .hostname = "bench-host",
			       .unwinder = "fp",
			       .depth = 64};
	char name[24];
	int err = tl_trace_writer_process(m->w, &p);

	m->tids[0] = 31337;
	m->tids[1] = 31338;
	err = err ? err : tl_trace_writer_thread(m->w, m->tids[0], "service");
	err = err ? err : tl_trace_writer_thread(m->w, m->tids[1], "gt-timer");
	for (unsigned i = 0; i < m->nthreads && !err; i++) {
		m->tids[2 + i] = 31340 + i;
		snprintf(name, sizeof(name), "worker-%u", i);
		err = tl_trace_writer_thread(m->w, m->tids[2 + i], name);
	}
	for (unsigned i = 0; i < objs.n && !err; i++)
		err = tl_trace_writer_module(m->w, m->now, &objs.mods[i]);
	return err ? err
		   : tl_trace_writer_runtime(m->w, m->now, TL_MODE_ASYNC, "libgotimer", "1.0");
}

/* Flush as the shim does; a snapshot was asked for every 100 s. */
static void housekeeping(struct sim *m)
{
	if (m->now >= m->next_snapshot) {
		if (!m->err)
			m->err = tl_trace_writer_snapshot(m->w, m->now, ++m->snapshots);
		m->next_snapshot += 100 * SEC;
	}
	if (tl_trace_writer_pending(m->w) < (1u << 20) && m->now - m->last_flush < 200 * MS)
		return;
	if (!m->err)
		m->err = tl_trace_writer_flush(m->w);
	m->last_flush = m->now;
}

static void run(struct sim *m)
{
	double rate = m->cum_rate[NACT - 1] / (double)SEC;
	int64_t arrival = m->now + expo(m, 1 / rate);

	populate(m);
	while (m->events < m->target && !m->err) {
		if (m->nheap && m->heap[0].at <= arrival) {
			struct due d = heap_pop(m);

			m->now = d.at;
			gen__step(m, &m->timers[d.slot]);
		} else {
			m->now = arrival;
			arrive(m, pick_act(m));
			arrival = m->now + expo(m, 1 / rate);
		}
		housekeeping(m);
	}
	live_add(m, 0);
	if (!m->err)
		m->err = tl_trace_writer_end(m->w, m->now, m->events, 0);
}

/* ---------------------------------------------------------------------------
 * main
 */

static struct env {
	uint64_t events;
	uint64_t seed;
	unsigned threads;
	const char *out;
} env = {.events = 50000000, .seed = 1, .threads = 16};

static const char usage[] = "Usage: gen_trace [--events N] [--seed S] [--threads T] OUTPUT.tlk\n";

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {{"events", required_argument, NULL, 'n'},
					     {"seed", required_argument, NULL, 's'},
					     {"threads", required_argument, NULL, 't'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			env.events = strtoull(optarg, NULL, 10);
		else if (c == 's')
			env.seed = strtoull(optarg, NULL, 10);
		else if (c == 't')
			env.threads = (unsigned)strtoul(optarg, NULL, 10);
		else
			return c == 'h' ? 0 : 2;
	}
	if (optind != argc - 1 || env.events == 0 || env.threads == 0 || env.threads > MAX_THREADS)
		return 2;
	env.out = argv[optind];
	return -1;
}

static double secs_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static void print_result(const struct sim *m, const struct tl_trace_writer_stats *st, double secs)
{
	double span = (double)(m->now - T0) / 1e9;

	printf("gen_trace events=%llu bytes=%llu bytes_per_event=%.3f raw_bytes_per_event=%.3f "
	       "chunks=%llu trace_seconds=%.1f events_per_trace_second=%.0f live_mean=%.0f "
	       "live_max=%lld live_end=%lld stacks=%u modules=%u threads=%u seed=%llu "
	       "gen_seconds=%.1f\n",
	       (unsigned long long)st->events, (unsigned long long)st->file_bytes,
	       (double)st->file_bytes / (double)st->events,
	       (double)st->raw_bytes / (double)st->events, (unsigned long long)st->chunks, span,
	       (double)st->events / span, m->live_area / (double)(m->now - T0),
	       (long long)m->live_max, (long long)m->live, m->nstacks, objs.n, m->nthreads,
	       (unsigned long long)m->seed, secs);
}

int main(int argc, char **argv)
{
	static struct sim m; /* large: sites and stacks */
	struct tl_trace_writer_opts wo = {.time_shift = 10};
	struct tl_trace_writer_stats st;
	char exe[PATH_MAX];
	struct timespec t0;
	ssize_t n;
	int fd = -1, err, ret = 1;

	if ((ret = parse_args(argc, argv)) >= 0) {
		fputs(usage, ret ? stderr : stdout);
		return ret;
	}
	ret = 1;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	dl_iterate_phdr(visit, NULL);
	m = (struct sim){.seed = env.seed,
			 .s = env.seed,
			 .target = env.events,
			 .now = T0,
			 .last_flush = T0,
			 .next_snapshot = T0 + 100 * SEC,
			 .nthreads = env.threads,
			 .live_since = T0};
	sites_init(&m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = open(env.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "gen_trace: cannot create %s: %s\n", env.out, strerror(errno));
		goto cleanup;
	}
	m.w = tl_trace_writer_new(fd, &wo, &err);
	if (!m.w || (err = metadata(&m, exe)) != 0) {
		fprintf(stderr, "gen_trace: %s: %s\n", env.out, tl_trace_strerror(err));
		goto cleanup;
	}
	run(&m);
	if (m.err) {
		fprintf(stderr, "gen_trace: failed to write %s: %s\n", env.out,
			tl_trace_strerror(m.err));
		goto cleanup;
	}
	tl_trace_writer_stats(m.w, &st);
	print_result(&m, &st, secs_since(&t0));
	ret = 0;
cleanup:
	tl_trace_writer_free(m.w);
	if (fd >= 0)
		close(fd);
	for (unsigned i = 0; i < objs.n; i++)
		free(objs.paths[i]);
	return ret;
}
