/*
 * collect.c - the BPF side's events as trace records (collect.h).
 *
 * Trace ids are given here, in the order timers are first seen (the id
 * rules, docs/trace-format.md): a kernel timer's at its create, or when it
 * was found open at the start; a runtime timer's at its created hook, or
 * at its first event if it was made before the recording began. The maps
 * below follow a descriptor, a kernel POSIX timer id, or a runtime's own
 * timer id to the trace id, and a timerfd's descriptors to how many it
 * has left (it lives until the last is closed).
 */
#include "collect.h"
#include "gosym.h"
#include "procfs.h"
#include "record.h"
#include "unwind.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* libgotimer's hooks, in the order of gotimer.h. */
enum {
	GT_CREATED = TLR_PROBE,
	GT_STOPPED,
	GT_RESET,
	GT_RELEASED,
	GT_FIRED,
	GT_RECEIVED,
	GT_RECLAIMED,
};

static const struct tlr_probe gotimer[] = {
	{"gt_hook_created", GT_CREATED | TLR_COOKIE_STACK | TLR_COOKIE_HEAP},
	{"gt_hook_stopped", GT_STOPPED},
	{"gt_hook_reset", GT_RESET | TLR_COOKIE_STACK},
	{"gt_hook_released", GT_RELEASED},
	{"gt_hook_fired", GT_FIRED},
	{"gt_hook_received", GT_RECEIVED},
	{"gt_hook_reclaimed", GT_RECLAIMED},
};

const struct tlr_probe *tlr_gotimer_probes(size_t *n)
{
	*n = sizeof(gotimer) / sizeof(gotimer[0]);
	return gotimer;
}

/*
 * Go's runtime timers. Go 1.19 to 1.22: a timer enters the runtime's heap
 * at addtimer (NewTimer, After, AfterFunc, NewTicker), is changed at
 * modtimer (Reset, Ticker.Reset, every time.Sleep, a goroutine's first
 * too), stopped at deltimer and run at runOneTimer, a tick at a time.
 * The timer is an argument: AX, but BX for runOneTimer(pp, t, now).
 */
enum {
	GO_ADD = TLR_PROBE + 0x10,
	GO_MOD,
	GO_DEL,
	GO_RUN,
	GO_MODIFY, /* 1.23: a Reset, a Sleep, or, called from time.newTimer, a create */
};

#define GO_TIMER_IN(reg) (TLR_COOKIE_GO_ABI | TLR_COOKIE_GO_TIMER | TLR_COOKIE_T(reg, 0))

static const struct tlr_probe go119[] = {
	{"runtime.addtimer", GO_ADD | GO_TIMER_IN(0) | TLR_COOKIE_STACK},
	{"runtime.modtimer", GO_MOD | GO_TIMER_IN(0) | TLR_COOKIE_STACK},
	{"runtime.deltimer", GO_DEL | GO_TIMER_IN(0)},
	{"runtime.runOneTimer", GO_RUN | GO_TIMER_IN(1)},
};

/*
 * Go 1.23 on: time.newTimer makes every timer and calls (*timer).modify
 * (AX t, BX when, CX period, DI f, SI:R8 arg), which Reset and Sleep call
 * too, with f nil; stop is Stop, unlockAndRun a fire (or a channel
 * timer's lazy run on receive). A channel timer with synchronous channels
 * is in the heap only while a goroutine waits on it, and is collected
 * unseen when abandoned.
 */
static const struct tlr_probe go123[] = {
	{"runtime.(*timer).modify",
	 GO_MODIFY | GO_TIMER_IN(0) | TLR_COOKIE_GO_FREG | TLR_COOKIE_STACK},
	{"runtime.(*timer).stop", GO_DEL | GO_TIMER_IN(0)},
	{"runtime.(*timer).unlockAndRun", GO_RUN | GO_TIMER_IN(0)},
};

/* runtime.timer from Go 1.14 to 1.22: pp, when, period, f, arg (an
 * interface: its data word at 40), seq, nextwhen, status (u32). A
 * time.Timer is its channel and the runtime timer: 80 bytes as allocated;
 * the channel of one time.Time, 96 + 24: 128. */
static const struct tlr_go_layout layouts[] = {
	{19, 22, go119, sizeof(go119) / sizeof(go119[0]), 8, 16, 24, 40, 64, 72, false, 80, 80, 128},
	/* 1.23, 1.24: mu, astate, state, isChan, isFake, blocked, when at 16,
	 * period, f, arg, seq, ts, sendLock, isSending: 88 bytes; a Timer is
	 * its channel, a flag, and the runtime timer at 16: 112 allocated;
	 * the channel gained a timer pointer: 128 still. */
	{23, 24, go123, sizeof(go123) / sizeof(go123[0]), 16, 24, 32, 48, 9, 56, true, 112, 96, 128},
	/* 1.25 on: a rand word at 16 moves when and all after it by 8 */
	{25, 27, go123, sizeof(go123) / sizeof(go123[0]), 24, 32, 40, 56, 9, 64, true, 112, 96, 128},
};

const struct tlr_go_layout *tlr_go_layout(int minor)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (minor >= layouts[i].first && minor <= layouts[i].last)
			return &layouts[i];
	return NULL;
}

/* ---------------------------------------------------------------------------
 * A map of 64-bit keys to 64-bit values (open addressing; key 0 unused)
 */

struct map {
	uint64_t *keys, *vals;
	size_t cap, n;
};

static size_t slot(const struct map *m, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (m->cap - 1);

	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* Key 0 marks an empty slot: never stored, never found (a key that comes
 * from the target, such as a runtime's timer id, may be 0). */
static uint64_t map_get(const struct map *m, uint64_t key)
{
	return m->cap && key ? m->vals[slot(m, key)] : 0;
}

static int map_put(struct map *m, uint64_t key, uint64_t val)
{
	size_t i;

	if (!key)
		return 0;
	if ((m->n + 1) * 2 > m->cap) {
		struct map g = {calloc(m->cap ? m->cap * 2 : 1024, 8),
				calloc(m->cap ? m->cap * 2 : 1024, 8), m->cap ? m->cap * 2 : 1024, 0};

		if (!g.keys || !g.vals) {
			free(g.keys);
			free(g.vals);
			return TL_TRACE_E_NOMEM;
		}
		for (size_t j = 0; j < m->cap; j++)
			if (m->keys[j])
				map_put(&g, m->keys[j], m->vals[j]);
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	i = slot(m, key);
	m->n += !m->keys[i];
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

/* Remove key, moving later entries of its run back into the gap. */
static void map_del(struct map *m, uint64_t key)
{
	size_t i, j;

	if (!m->cap || !m->keys[i = slot(m, key)])
		return;
	m->keys[i] = m->vals[i] = 0;
	m->n--;
	for (j = (i + 1) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1)) {
		uint64_t k = m->keys[j], v = m->vals[j];

		m->keys[j] = m->vals[j] = 0;
		m->n--;
		map_put(m, k, v);
	}
}

static void map_free(struct map *m)
{
	free(m->keys);
	free(m->vals);
}

/* ---------------------------------------------------------------------------
 * The collector
 */

struct tlr_collector {
	struct tlr_collect_opts o;
	struct map fd_id;      /* descriptor + 1 -> trace id of its timerfd */
	struct map refs;       /* timerfd trace id -> descriptors left */
	struct map posix;      /* kernel POSIX timer id + 1 -> trace id */
	struct map clocks;     /* kernel timer trace id -> its clock + 1 */
	struct map runtime;    /* runtime's timer id -> trace id */
	struct map gofunc;     /* a Go timer's address -> its callback's code */
	struct map golast;     /* tid -> the last Go create or reset it made (go_repeat) */
	struct map stacks;     /* hash of frames -> stack id */
	struct map threads;    /* tid -> 1 once named */
	uint64_t next_kernel, next_runtime;
	uint32_t next_stack;
	uint64_t rt_lo, rt_hi;
	struct tlr_go go;
	struct tlr_collect_stats st;
};

struct tlr_collector *tlr_collect_new(const struct tlr_collect_opts *o)
{
	struct tlr_collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->o = *o;
	c->next_runtime = 1;
	c->next_stack = 1;
	return c;
}

void tlr_collect_free(struct tlr_collector *c)
{
	if (!c)
		return;
	map_free(&c->fd_id);
	map_free(&c->refs);
	map_free(&c->posix);
	map_free(&c->clocks);
	map_free(&c->runtime);
	map_free(&c->gofunc);
	map_free(&c->golast);
	map_free(&c->stacks);
	map_free(&c->threads);
	free(c);
}

void tlr_collect_runtime(struct tlr_collector *c, uint64_t lo, uint64_t hi)
{
	c->rt_lo = lo;
	c->rt_hi = hi;
}

void tlr_collect_go(struct tlr_collector *c, const struct tlr_go *go)
{
	c->go = *go;
}

static void map_clear(struct map *m)
{
	map_free(m);
	*m = (struct map){0};
}

static int by_id(const void *x, const void *y)
{
	const uint64_t *a = x, *b = y;

	return a[0] < b[0] ? -1 : a[0] > b[0];
}

int tlr_collect_rotate(struct tlr_collector *c, struct tl_trace_writer *w, int64_t time)
{
	size_t n = 0, cap = c->refs.n + c->posix.n;
	uint64_t (*t)[2] = cap ? calloc(cap, sizeof(*t)) : NULL; /* id, kind */
	int err = 0;

	if (cap && !t)
		return TL_TRACE_E_NOMEM;
	c->o.w = w;
	map_clear(&c->stacks);
	map_clear(&c->threads);
	for (size_t i = 0; i < c->refs.cap && n < cap; i++)
		if (c->refs.keys[i])
			t[n][0] = c->refs.keys[i], t[n++][1] = TL_KIND_TIMERFD;
	for (size_t i = 0; i < c->posix.cap && n < cap; i++)
		if (c->posix.keys[i])
			t[n][0] = c->posix.vals[i], t[n++][1] = TL_KIND_POSIX;
	/* Ids rise in the order a trace first sees them. */
	qsort(t, n, sizeof(*t), by_id);
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t clock = map_get(&c->clocks, t[i][0]);
		struct tl_event ev = {.id = t[i][0], .kind = (int)t[i][1],
				      .size = t[i][1] == TL_KIND_POSIX ? TL_POSIX_BYTES
								      : TL_TIMERFD_BYTES,
				      .aux = clock ? clock - 1 : 0};

		err = tl_trace_writer_existing(w, time, &ev);
	}
	free(t);
	return err;
}

void tlr_collect_stats(const struct tlr_collector *c, struct tlr_collect_stats *st)
{
	*st = c->st;
}

static uint64_t kernel_id(struct tlr_collector *c)
{
	return tl_id_make(TL_ID_KERNEL, c->next_kernel++);
}

static uint64_t runtime_id(struct tlr_collector *c)
{
	return tl_id_make(TL_ID_RUNTIME, c->next_runtime++);
}

/* The stack's id, its record written the first time. Stacks are told
 * apart by a 64-bit hash of their frames: two that collide share an id,
 * which a 2^-64 chance per pair makes a risk worth not storing them. */
static int stack_id(struct tlr_collector *c, const uint64_t *f, uint32_t n, uint32_t *id)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	int err;

	*id = 0;
	if (n == 0)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ f[i]) * 0x100000001b3ull;
	h |= 1; /* never the empty key */
	if ((*id = (uint32_t)map_get(&c->stacks, h)) != 0)
		return 0;
	*id = c->next_stack++;
	err = tl_trace_writer_stack(c->o.w, *id, f, n);
	return err ? err : map_put(&c->stacks, h, *id);
}

/* The Go function a return address is in, by the binary's table. */
static bool go_func_at(const struct tlr_collector *c, uint64_t ret, struct tlr_gosym_pc *pc)
{
	return c->go.sym && ret > c->go.bias && tlr_gosym_pc(c->go.sym, ret - 1 - c->go.bias, pc);
}

static bool go_std(const char *func)
{
	return strncmp(func, "runtime.", 8) == 0 || strncmp(func, "time.", 5) == 0;
}

/* A frame of Go's runtime or time package: not where the service called. */
static bool go_runtime_frame(const struct tlr_collector *c, uint64_t ret)
{
	struct tlr_gosym_pc pc;

	return go_func_at(c, ret, &pc) && go_std(pc.func);
}

/* The stack an event carries, in the trace: the runtime's own frames
 * left out at the top, a slice unwound. */
static int event_stack(struct tlr_collector *c, const struct tlr_event *e, size_t size,
		       uint32_t *id)
{
	uint64_t frames[TLR_MAX_FRAMES];
	uint32_t n = 0, skip = 0;

	if (e->how == TLR_STACK_FP && size >= sizeof(*e)) {
		n = e->nframes < TLR_MAX_FRAMES ? e->nframes : TLR_MAX_FRAMES;
		while (skip < n && e->frames[skip] >= c->rt_lo && e->frames[skip] < c->rt_hi)
			skip++;
		while (skip < n && go_runtime_frame(c, e->frames[skip]))
			skip++;
		memcpy(frames, e->frames + skip, (n - skip) * sizeof(*frames));
		n -= skip;
	} else if (e->how == TLR_STACK_SLICE && size >= sizeof(*e) + sizeof(struct tlr_slice)) {
		const struct tlr_slice *s = (const void *)(e + 1);

		n = tlr_unwind(c->o.unwinder, (pid_t)e->tid, s,
			       e->nstack <= TLR_STACK_COPY ? e->nstack : 0, frames, TLR_MAX_FRAMES);
	}
	return stack_id(c, frames, n, id);
}

/* A thread's record, the first time it makes an event. */
static int name_thread(struct tlr_collector *c, uint32_t tid)
{
	char name[32];
	int err;

	if (map_get(&c->threads, tid))
		return 0;
	tlr_thread_name(c->o.pid, (pid_t)tid, name, sizeof(name));
	err = tl_trace_writer_thread(c->o.w, tid, name);
	return err ? err : map_put(&c->threads, tid, 1);
}

static int emit(struct tlr_collector *c, int type, const struct tlr_event *e,
		const struct tl_event *ev)
{
	int err = name_thread(c, e->tid);

	if (err)
		return err;
	c->st.events++;
	c->st.timers += type == TL_REC_CREATE;
	return tl_trace_writer_event(c->o.w, type, (int64_t)e->time, e->tid, ev);
}

/* ---------------------------------------------------------------------------
 * Kernel timers
 */

/* ns until an expiry given on clockid, relative or absolute. */
static int64_t relative(const struct tlr_collector *c, int clockid, bool abs, int64_t value,
			int64_t now)
{
	if (!abs)
		return value;
	if (clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM)
		return value - (now + c->o.realtime_offset);
	if (clockid == CLOCK_BOOTTIME || clockid == CLOCK_BOOTTIME_ALARM)
		return value - (now + c->o.boottime_offset);
	return value - now;
}

/* An arm (or, with a zero value, a stop) of kernel timer id. */
static int settime(struct tlr_collector *c, const struct tlr_event *e, uint64_t id, int clockid)
{
	bool abs = e->a[3] & 1; /* TFD_TIMER_ABSTIME, TIMER_ABSTIME */
	struct tl_event ev = {.id = id};

	if (e->a[1] == 0) {
		ev.flags = e->a[4] == 1 ? TL_STOP_WAS_ACTIVE : e->a[4] == 0 ? 0 : TL_STOP_UNKNOWN;
		return emit(c, TL_REC_STOP, e, &ev);
	}
	ev.duration = relative(c, clockid, abs, (int64_t)e->a[1], (int64_t)e->time);
	ev.period = (int64_t)e->a[2];
	ev.flags = (abs ? TL_ARM_ABSOLUTE : 0) | (e->a[4] == 1 ? TL_ARM_WAS_ACTIVE : 0);
	return emit(c, TL_REC_ARM, e, &ev);
}

/* One more descriptor of the timerfd id at fd. */
static int fd_add(struct tlr_collector *c, uint64_t fd, uint64_t id)
{
	int err = map_put(&c->fd_id, fd + 1, id);

	return err ? err : map_put(&c->refs, id, map_get(&c->refs, id) + 1);
}

/* Descriptor fd closed: the timerfd is freed with its last one. */
static int fd_close(struct tlr_collector *c, const struct tlr_event *e, uint64_t fd)
{
	uint64_t id = map_get(&c->fd_id, fd + 1), left;
	struct tl_event ev = {.id = id};

	if (!id) {
		c->st.unknown++;
		return 0;
	}
	map_del(&c->fd_id, fd + 1);
	left = map_get(&c->refs, id);
	if (left > 1)
		return map_put(&c->refs, id, left - 1);
	map_del(&c->refs, id);
	map_del(&c->clocks, id);
	return emit(c, TL_REC_FREE, e, &ev);
}

/* A kernel timer's clock, for arms with an absolute time. */
static int clock_of(const struct tlr_collector *c, uint64_t id)
{
	uint64_t v = map_get(&c->clocks, id);

	return v ? (int)v - 1 : CLOCK_MONOTONIC;
}

static int on_kernel(struct tlr_collector *c, const struct tlr_event *e, size_t size)
{
	struct tl_event ev = {0};
	uint64_t id;
	int err;

	switch (e->type) {
	case TLR_TFD_CREATE:
		ev = (struct tl_event){.id = kernel_id(c), .kind = TL_KIND_TIMERFD,
				       .size = TL_TIMERFD_BYTES, .aux = e->a[1]};
		if ((err = event_stack(c, e, size, &ev.stack)) || (err = fd_add(c, e->a[0], ev.id)) ||
		    (err = map_put(&c->clocks, ev.id, (e->a[1] & 0xff) + 1)))
			return err;
		return emit(c, TL_REC_CREATE, e, &ev);
	case TLR_TFD_SETTIME:
		if (!(id = map_get(&c->fd_id, e->a[0] + 1)))
			break;
		return settime(c, e, id, clock_of(c, id));
	case TLR_FD_CLOSE:
		return fd_close(c, e, e->a[0]);
	case TLR_FD_DUP:
		if ((id = map_get(&c->fd_id, e->a[0] + 1)))
			return fd_add(c, e->a[1], id);
		break;
	case TLR_CLOSE_RANGE:
		for (size_t i = 0; i < c->fd_id.cap; i++) {
			uint64_t fd = c->fd_id.keys[i] - 1;

			if (c->fd_id.keys[i] && fd >= e->a[0] && fd <= e->a[1]) {
				if ((err = fd_close(c, e, fd)) != 0)
					return err;
				i = (size_t)-1; /* the map moved entries: start over */
			}
		}
		return 0;
	case TLR_PT_CREATE: {
		int notify = (int)(int32_t)e->a[2], signo = (int)e->a[3];

		/* glibc makes SIGEV_THREAD a SIGEV_THREAD_ID to its helper
		 * thread, on its internal signal: what the caller asked for was
		 * SIGEV_THREAD. */
		if (notify == 4 && signo == 32)
			notify = 2;
		if (notify < 0)
			notify = 0; /* no sigevent: SIGEV_SIGNAL */
		ev = (struct tl_event){.id = kernel_id(c), .kind = TL_KIND_POSIX,
				       .size = TL_POSIX_BYTES,
				       .aux = (e->a[1] & 0xff) | ((uint64_t)(notify & 0xff) << 8)};
		if ((err = event_stack(c, e, size, &ev.stack)) ||
		    (err = map_put(&c->posix, e->a[0] + 1, ev.id)) ||
		    (err = map_put(&c->clocks, ev.id, (e->a[1] & 0xff) + 1)))
			return err;
		return emit(c, TL_REC_CREATE, e, &ev);
	}
	case TLR_PT_SETTIME:
		if (!(id = map_get(&c->posix, e->a[0] + 1)))
			break;
		return settime(c, e, id, clock_of(c, id));
	case TLR_PT_DELETE:
		if (!(id = map_get(&c->posix, e->a[0] + 1)))
			break;
		map_del(&c->posix, e->a[0] + 1);
		map_del(&c->clocks, id);
		ev.id = id;
		return emit(c, TL_REC_FREE, e, &ev);
	}
	c->st.unknown++;
	return 0;
}

int tlr_collect_timerfd(struct tlr_collector *c, int64_t time, int fd, int clockid,
			int64_t value, int64_t interval)
{
	struct tl_event ev = {.id = kernel_id(c), .kind = TL_KIND_TIMERFD, .duration = value,
			      .period = interval, .size = TL_TIMERFD_BYTES,
			      .aux = (uint64_t)clockid};
	int err = tl_trace_writer_existing(c->o.w, time, &ev);

	c->st.timers++;
	err = err ? err : fd_add(c, (uint64_t)fd, ev.id);
	return err ? err : map_put(&c->clocks, ev.id, (uint64_t)(clockid & 0xff) + 1);
}

int tlr_collect_posix(struct tlr_collector *c, int64_t time, int id, int clockid, int notify)
{
	struct tl_event ev = {.id = kernel_id(c), .kind = TL_KIND_POSIX, .size = TL_POSIX_BYTES,
			      .aux = (uint64_t)(clockid & 0xff) | ((uint64_t)(notify & 0xff) << 8)};
	int err = tl_trace_writer_existing(c->o.w, time, &ev);

	c->st.timers++;
	err = err ? err : map_put(&c->posix, (uint64_t)id + 1, ev.id);
	return err ? err : map_put(&c->clocks, ev.id, (uint64_t)(clockid & 0xff) + 1);
}

/* ---------------------------------------------------------------------------
 * libgotimer, through its hooks: a[0] handle, a[1] kind, a[2] the runtime's
 * timer id, then the hook's own arguments.
 */

/* What the callback's argument pins: the malloc block it points to, from
 * the headers the BPF side read when the timer was made (the block may be
 * gone by now, or the whole process). */
static bool peek(void *ctx, uint64_t addr, uint64_t *out)
{
	const struct tlr_event *e = ctx;
	uint64_t p = e->a[5], size = e->mem[1] & ~7ull, h = p & ~(TLR_HEAP_MAX - 1);
	const uint64_t at[5] = {p - 16, p - 8, p - 8 + size, h, h + 16};

	for (int i = 0; i < 5; i++) {
		if (addr == at[i]) {
			*out = e->mem[i];
			return true;
		}
	}
	return false;
}

static uint64_t arg_bytes(struct tlr_collector *c, const struct tlr_event *e)
{
	struct tl_heap h = {peek, (void *)e, 0, UINT64_MAX};
	uint64_t hi;

	if (!e->a[5])
		return 0;
	/* The main heap only grows: its start as last seen, no end. */
	tlr_modules_heap(c->o.mods, &h.brk_lo, &hi);
	return tl_heap_block_size(&h, e->a[5]);
}

/* The trace id of the runtime's timer rid, first seen now if it was made
 * before the recording began (an existing record says so). */
static int runtime_timer(struct tlr_collector *c, const struct tlr_event *e, size_t size,
			 uint64_t *id)
{
	struct tl_event ev;
	int kind = (int)(uint32_t)e->a[1], err;

	if ((*id = map_get(&c->runtime, e->a[2])) != 0)
		return 0;
	ev = (struct tl_event){.id = runtime_id(c), .kind = (uint32_t)kind};
	if ((err = event_stack(c, e, size, &ev.stack)) ||
	    (err = tl_trace_writer_existing(c->o.w, (int64_t)e->time, &ev)) ||
	    (err = map_put(&c->runtime, e->a[2], ev.id)))
		return err;
	c->st.timers++;
	*id = ev.id;
	return 0;
}

static int on_gotimer(struct tlr_collector *c, const struct tlr_event *e, size_t size)
{
	int kind = (int)(uint32_t)e->a[1], type = 0, err;
	bool ticker = kind == TL_KIND_TICKER;
	struct tl_event ev = {0};

	if (kind < TL_KIND_TIMER || kind > TL_KIND_TICKER) {
		c->st.unknown++;
		return 0;
	}
	if (e->type == GT_CREATED) {
		ev = (struct tl_event){.id = runtime_id(c), .kind = (uint32_t)kind,
				       .duration = (int64_t)e->a[3],
				       .period = ticker ? (int64_t)e->a[3] : 0, .size = e->a[4],
				       .aux = kind == TL_KIND_AFTERFUNC ? arg_bytes(c, e) : 0};
		if ((err = event_stack(c, e, size, &ev.stack)) ||
		    (err = map_put(&c->runtime, e->a[2], ev.id)))
			return err;
		return emit(c, TL_REC_CREATE, e, &ev);
	}
	if ((err = runtime_timer(c, e, size, &ev.id)) != 0)
		return err;
	switch (e->type) {
	case GT_STOPPED:
		type = TL_REC_STOP;
		ev.flags = (e->a[3] & 1) ? TL_STOP_WAS_ACTIVE : 0;
		break;
	case GT_RESET:
		type = TL_REC_RESET;
		ev.duration = (int64_t)e->a[3];
		ev.period = ticker ? ev.duration : 0;
		ev.flags = ((e->a[4] & 1) ? TL_RESET_WAS_ACTIVE : 0) |
			   ((e->a[4] & 2) ? TL_RESET_PENDING : 0);
		if ((err = event_stack(c, e, size, &ev.stack)) != 0)
			return err;
		break;
	case GT_RELEASED:
		type = TL_REC_RELEASE;
		break;
	case GT_FIRED:
		type = TL_REC_FIRE;
		ev.flags = (e->a[4] & 1) ? TL_FIRE_DELIVERED : 0;
		break;
	case GT_RECEIVED:
		type = TL_REC_DRAIN;
		break;
	case GT_RECLAIMED:
		type = TL_REC_FREE;
		map_del(&c->runtime, e->a[2]);
		break;
	default:
		c->st.unknown++;
		return 0;
	}
	return emit(c, type, e, &ev);
}

/* ---------------------------------------------------------------------------
 * Go's timers
 */

/* The Go timer's kind, by its callback and period; a Timer made by
 * time.After is told by time.After among the calls that made it: inlined
 * into the caller (as Go builds it), or a frame of its own (-l). */
static int go_kind(const struct tlr_collector *c, const struct tlr_event *e, size_t size,
		   int64_t period)
{
	uint64_t f = e->mem[TLR_GO_FUNC];
	struct tlr_gosym_pc pc[8];
	uint32_t n;

	if (f == c->go.ready)
		return TL_KIND_GO_SLEEP;
	if (f == c->go.go_func)
		return TL_KIND_GO_AFTERFUNC;
	if (period > 0)
		return TL_KIND_GO_TICKER;
	if (e->how != TLR_STACK_FP || size < sizeof(*e))
		return TL_KIND_GO_TIMER;
	n = e->nframes < TLR_MAX_FRAMES ? e->nframes : TLR_MAX_FRAMES;
	for (uint32_t i = 0; i < n && e->frames[i] > c->go.bias; i++) {
		int k = tlr_gosym_frames(c->go.sym, e->frames[i] - 1 - c->go.bias, pc, 8);

		for (int j = 0; j < k; j++)
			if (strcmp(pc[j].func, "time.After") == 0)
				return TL_KIND_GO_AFTER;
		if (k == 0 || !go_std(pc[k - 1].func))
			break; /* the service's own frame: the call was made here */
	}
	return TL_KIND_GO_TIMER;
}

static uint64_t go_bytes(const struct tlr_collector *c, int kind)
{
	const struct tlr_go_layout *l = c->go.layout;

	if (kind == TL_KIND_GO_SLEEP)
		return l->sleep_bytes;
	return l->timer_bytes + (kind == TL_KIND_GO_AFTERFUNC ? 0 : l->chan_bytes);
}

/* Whether the timer would have fired: armed, not stopped or run. */
static bool go_active(const struct tlr_collector *c, const struct tlr_event *e)
{
	uint32_t st = (uint32_t)e->mem[TLR_GO_STATE];

	if (c->go.layout->when_is_active)
		return e->mem[TLR_GO_WHEN] != 0;
	return st == 1 || st == 7 || st == 8; /* waiting, modified earlier or later */
}

/*
 * The trace id of the Go timer at t, if one is followed there with the
 * same callback. One with another callback is gone: its memory was
 * collected and reused (a goroutine's Sleep timer where a Timer was), and
 * its free is written. @return the id, 0 if none, or a trace error (< 0)
 * in *err.
 */
/* The timer followed at t is gone (its memory collected and reused):
 * its free, and t forgotten. @return 0 or a trace error. */
static int go_forget(struct tlr_collector *c, const struct tlr_event *e, uint64_t t)
{
	struct tl_event ev = {.id = map_get(&c->runtime, t)};

	if (!ev.id)
		return 0;
	map_del(&c->runtime, t);
	map_del(&c->gofunc, t);
	return emit(c, TL_REC_FREE, e, &ev);
}

static uint64_t go_known(struct tlr_collector *c, const struct tlr_event *e, uint64_t t,
			 int *err)
{
	uint64_t id = map_get(&c->runtime, t);

	*err = 0;
	if (!id || map_get(&c->gofunc, t) == e->mem[TLR_GO_FUNC])
		return id;
	*err = go_forget(c, e, t);
	return 0;
}

static int go_follow(struct tlr_collector *c, uint64_t t, uint64_t id, uint64_t f)
{
	int err = map_put(&c->runtime, t, id);

	return err ? err : map_put(&c->gofunc, t, f);
}

/* The trace id of the Go timer at t: one first seen now was made before
 * the recording (an existing record). */
static int go_timer_id(struct tlr_collector *c, const struct tlr_event *e, size_t size,
		       uint64_t t, uint64_t *id)
{
	struct tl_event ev;
	int kind, err;

	if ((*id = go_known(c, e, t, &err)) != 0 || err)
		return err;
	kind = go_kind(c, e, size, (int64_t)e->mem[TLR_GO_PERIOD]);
	ev = (struct tl_event){.id = runtime_id(c), .kind = (uint32_t)kind,
			       .size = go_bytes(c, kind)};
	if ((err = event_stack(c, e, size, &ev.stack)) ||
	    (err = tl_trace_writer_existing(c->o.w, (int64_t)e->time, &ev)) ||
	    (err = go_follow(c, t, ev.id, e->mem[TLR_GO_FUNC])))
		return err;
	c->st.timers++;
	*id = ev.id;
	return 0;
}

/* A timer made at t. One seen at that address before is gone: the
 * collector freed it, and gave its memory to this one. */
static int go_create(struct tlr_collector *c, const struct tlr_event *e, size_t size,
		     uint64_t t, int64_t when, int64_t period)
{
	int kind = go_kind(c, e, size, period), err = go_forget(c, e, t);
	struct tl_event ev;

	if (err)
		return err;
	ev = (struct tl_event){.id = runtime_id(c), .kind = (uint32_t)kind,
			       .duration = when - (int64_t)e->time, .period = period,
			       .size = go_bytes(c, kind),
			       /* AfterFunc: the code of the function it was given */
			       .aux = kind == TL_KIND_GO_AFTERFUNC ? e->mem[TLR_GO_MORE] : 0};
	if ((err = event_stack(c, e, size, &ev.stack)) ||
	    (err = go_follow(c, t, ev.id, e->mem[TLR_GO_FUNC])))
		return err;
	return emit(c, TL_REC_CREATE, e, &ev);
}

/* Go 1.23's modify called by time.newTimer: a timer being made. */
static bool go_making(const struct tlr_collector *c, const struct tlr_event *e)
{
	struct tlr_gosym_pc caller;

	return e->type == GO_MODIFY && e->how == TLR_STACK_FP && e->nframes > 0 &&
	       go_func_at(c, e->frames[0], &caller) && strcmp(caller.func, "time.newTimer") == 0;
}

/*
 * The probe is on the jump of the function's stack check: where the stack
 * must grow first, the function is entered again after morestack, and the
 * probe hit twice for one call. A create or reset the same thread made
 * just before, of the same timer for the same time, is that: left out.
 * @return true for a repeat.
 */
static bool go_repeat(struct tlr_collector *c, const struct tlr_event *e, uint64_t t,
		      uint64_t when)
{
	uint64_t h = ((t * 0x9e3779b97f4a7c15ull) ^ when ^ ((uint64_t)e->type << 56)) | 1;

	if (map_get(&c->golast, (uint64_t)e->tid + 1) == h)
		return true;
	map_put(&c->golast, (uint64_t)e->tid + 1, h);
	return false;
}

static int on_go(struct tlr_collector *c, const struct tlr_event *e, size_t size)
{
	const struct tlr_go_layout *l = c->go.layout;
	/* the timer: runOneTimer(pp, t, now) before 1.23, the receiver after */
	uint64_t t = e->a[e->type == GO_RUN && l && l->first < 23 ? 1 : 0], when;
	bool send = e->mem[TLR_GO_FUNC] == c->go.send_time;
	struct tl_event ev = {0};
	int type, err;

	if (!l)
		return 0;
	switch (e->type) {
	case GO_ADD:
		when = e->mem[TLR_GO_WHEN];
		if (go_repeat(c, e, t, when))
			return 0;
		return go_create(c, e, size, t, (int64_t)when, (int64_t)e->mem[TLR_GO_PERIOD]);
	case GO_MOD: /* (t, when, period, f, arg, seq) */
	case GO_MODIFY:
		if (go_repeat(c, e, t, e->a[1]))
			return 0;
		if (go_making(c, e))
			return go_create(c, e, size, t, (int64_t)e->a[1], (int64_t)e->a[2]);
		/* A goroutine's first Sleep makes its timer */
		if (e->mem[TLR_GO_FUNC] == c->go.ready && !go_known(c, e, t, &err))
			return err ? err : go_create(c, e, size, t, (int64_t)e->a[1], 0);
		type = TL_REC_RESET;
		ev.duration = (int64_t)e->a[1] - (int64_t)e->time;
		ev.period = (int64_t)e->a[2] > 0 ? (int64_t)e->a[2] : 0;
		ev.flags = (go_active(c, e) ? TL_RESET_WAS_ACTIVE : 0) |
			   (send && ev.period == 0 && e->mem[TLR_GO_MORE] ? TL_RESET_PENDING : 0);
		if ((err = event_stack(c, e, size, &ev.stack)) != 0)
			return err;
		break;
	case GO_DEL:
		type = TL_REC_STOP;
		ev.flags = go_active(c, e) ? TL_STOP_WAS_ACTIVE : 0;
		break;
	case GO_RUN:
		/* sendTime drops a value the channel has no room for */
		type = TL_REC_FIRE;
		ev.flags = send && e->mem[TLR_GO_MORE] ? 0 : TL_FIRE_DELIVERED;
		break;
	default:
		c->st.unknown++;
		return 0;
	}
	if ((err = go_timer_id(c, e, size, t, &ev.id)) != 0)
		return err;
	return emit(c, type, e, &ev);
}

int tlr_collect_event(struct tlr_collector *c, const void *data, size_t size)
{
	const struct tlr_event *e = data;

	if (size < TLR_EVENT_HEAD)
		return 0;
	if (e->type == TLR_EXIT) {
		c->st.exited = true;
		c->st.exit_code = (int)e->a[0];
		return 1;
	}
	if (e->type == TLR_EXEC) {
		c->st.execed = true;
		return 1;
	}
	if (e->type >= GT_CREATED && e->type <= GT_RECLAIMED)
		return on_gotimer(c, e, size);
	if (e->type >= GO_ADD && e->type <= GO_MODIFY)
		return on_go(c, e, size);
	return on_kernel(c, e, size);
}
