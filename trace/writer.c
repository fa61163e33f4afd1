/*
 * writer.c - encoding records into the current chunk (docs/trace-format.md,
 * "Records"). writer_io.c turns chunks into file bytes.
 *
 * Each record is encoded straight into the chunk's streams (one buffer
 * each). Encoding helpers record the first error in w->enc_err and then do
 * nothing, so an encoder reads as the record's layout; append() checks the
 * error once, and undoes the record (bytes and decoding state) when it
 * failed or when the chunk would pass TL_TRACE_MAX_CHUNK, in which case it
 * flushes and encodes the record again at the start of a fresh chunk. An
 * event changes more state than that (the chunk's threads and recent ids),
 * so it makes sure of its room first and then cannot fail.
 */
#include "writer_int.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------
 * Encoding helpers
 */

/* @return room for n bytes at the end of stream k, or NULL (error noted). */
static uint8_t *room(struct tl_trace_writer *w, int k, size_t n)
{
	int err;

	if (w->enc_err)
		return NULL;
	err = tl__buf_reserve(&w->s[k], n);
	if (err) {
		w->enc_err = err;
		return NULL;
	}
	return w->s[k].p + w->s[k].len;
}

static void put_u8(struct tl_trace_writer *w, int k, uint8_t b)
{
	uint8_t *p = room(w, k, 1);

	if (p) {
		*p = b;
		w->s[k].len++;
	}
}

static void put_varint(struct tl_trace_writer *w, int k, uint64_t v)
{
	uint8_t *p = room(w, k, TL__VARINT_MAX);

	if (p)
		w->s[k].len += tl__varint_put(p, v);
}

static void put_svarint(struct tl_trace_writer *w, int k, int64_t v)
{
	put_varint(w, k, tl__zigzag(v));
}

/* The same where room was made already (events): no check. */
static inline void emit_varint(struct tl__buf *b, uint64_t v)
{
	b->len += tl__varint_put(b->p + b->len, v);
}

/* Fields of records go to the fields stream, their type to the ops. */
static void put_type(struct tl_trace_writer *w, uint8_t type)
{
	put_u8(w, TL__S_OPS, type);
}

static void put_field(struct tl_trace_writer *w, uint64_t v)
{
	put_varint(w, TL__S_FIELDS, v);
}

static void put_sfield(struct tl_trace_writer *w, int64_t v)
{
	put_svarint(w, TL__S_FIELDS, v);
}

static void put_bytes(struct tl_trace_writer *w, const void *s, size_t n, size_t max)
{
	uint8_t *p;

	if (n > max) {
		if (!w->enc_err)
			w->enc_err = TL_TRACE_E_TOO_BIG;
		return;
	}
	p = room(w, TL__S_FIELDS, TL__VARINT_MAX + n);
	if (p) {
		size_t k = tl__varint_put(p, n);

		if (n)
			memcpy(p + k, s, n);
		w->s[TL__S_FIELDS].len += k + n;
	}
}

static void put_str(struct tl_trace_writer *w, const char *s)
{
	if (!s)
		s = "";
	put_bytes(w, s, strlen(s), TL_TRACE_MAX_STRING);
}

/*
 * A time as a dt field. The reader computes a record's time as base_time
 * plus the sum of the chunk's dt fields, each shifted left by time_shift.
 * The writer keeps that same sum (cur_time) and writes, for a record at time
 * t, q = round((t - cur_time) / 2^shift), rounding to nearest with halves
 * up: floor((t - cur_time) / 2^shift), plus 1 when bit shift-1 of the
 * difference is set. It then adds exactly q << shift to cur_time. So every
 * record reads back within (-2^(shift-1), +2^(shift-1)] ns of its true time
 * (up to half a unit late, less than half a unit early), rounding errors
 * never add up along a chunk, and times that were in order stay in order.
 * The first timed record of a chunk sets base_time to its exact time.
 *
 * Arithmetic is on uint64_t (wrapping, as the reader's), so any int64_t time
 * round-trips exactly at shift 0; >> on a negative int64_t is arithmetic
 * with gcc and clang, which the rounding relies on.
 */
static int64_t dt_of(struct tl_trace_writer *w, int64_t t)
{
	int64_t d, q;

	if (!w->has_base) {
		w->has_base = true;
		w->base_time = t;
		w->cur_time = (uint64_t)t;
	}
	d = (int64_t)((uint64_t)t - w->cur_time);
	q = w->shift ? (d >> w->shift) + ((d >> (w->shift - 1)) & 1) : d;
	w->cur_time += (uint64_t)q << w->shift;
	return q;
}

static void put_dt(struct tl_trace_writer *w, int64_t t)
{
	put_svarint(w, TL__S_TIME, dt_of(w, t));
}

/* ---------------------------------------------------------------------------
 * Appending a record
 */

/* What a record other than an event changes, to undo it. */
struct mark {
	size_t len[TL__STREAMS];
	bool has_base;
	int64_t base_time;
	uint64_t cur_time;
};

static void mark_save(const struct tl_trace_writer *w, struct mark *m)
{
	for (int k = 0; k < TL__STREAMS; k++)
		m->len[k] = w->s[k].len;
	m->has_base = w->has_base;
	m->base_time = w->base_time;
	m->cur_time = w->cur_time;
}

static void mark_restore(struct tl_trace_writer *w, const struct mark *m)
{
	for (int k = 0; k < TL__STREAMS; k++)
		w->s[k].len = m->len[k];
	w->has_base = m->has_base;
	w->base_time = m->base_time;
	w->cur_time = m->cur_time;
}

static size_t mark_len(const struct mark *m)
{
	size_t n = 0;

	for (int k = 0; k < TL__STREAMS; k++)
		n += m->len[k];
	return n;
}

/* The most bytes an event takes in each stream (an op and a thread
 * switch's; a time; an id delta; a thread; a create's six fields), and in
 * all. */
#define EV_OPS    2
#define EV_TIME   TL__VARINT_MAX
#define EV_ID     TL__VARINT_MAX
#define EV_THREAD (2 * TL__VARINT_MAX)
#define EV_FIELDS (6 * TL__VARINT_MAX)
#define EVENT_MAX (EV_OPS + EV_TIME + EV_ID + EV_THREAD + EV_FIELDS)

typedef void encode_fn(struct tl_trace_writer *w, const void *arg);

/* Encode one record into the current chunk (see the top of the file).
 * @return 0 or an error; the record is then not in the chunk. */
static int append(struct tl_trace_writer *w, encode_fn *encode, const void *arg)
{
	struct mark m;
	int err;

	if (w->state != TL__W_OPEN)
		return w->state == TL__W_FAILED ? w->failed : TL_TRACE_E_INVAL;
	for (int tries = 0;; tries++) {
		size_t len;

		mark_save(w, &m);
		w->enc_err = 0;
		w->enc_full = false;
		encode(w, arg);
		len = tl__tw_chunk_bound(w);
		if (!w->enc_err && !w->enc_full && len <= TL_TRACE_MAX_CHUNK)
			return 0;
		err = w->enc_err;
		if (!err && (len - mark_len(&m) > TL_TRACE_MAX_CHUNK || tries > 0))
			err = TL_TRACE_E_TOO_BIG; /* the record alone is too big */
		mark_restore(w, &m);
		w->enc_err = 0;
		w->enc_full = false;
		if (err)
			return err;
		err = tl__tw_write_chunk(w, false);
		if (err)
			return err;
	}
}

/* An event that could not be appended is still an event: it is counted,
 * and counted lost, so that the totals the caller writes stay true. */
static int append_event(struct tl_trace_writer *w, encode_fn *encode, const void *arg)
{
	int err = append(w, encode, arg);

	w->st.events++;
	if (err)
		w->st.lost_events++;
	else
		w->chunk_events++;
	return err;
}

/* ---------------------------------------------------------------------------
 * Metadata records
 */

static void encode_process(struct tl_trace_writer *w, const void *arg)
{
	const struct tl_process *p = arg;

	put_type(w, TL_REC_PROCESS);
	put_field(w, p->pid);
	put_field(w, p->ppid);
	put_field(w, p->wall_ns);
	put_field(w, p->mono_ns);
	put_str(w, p->exe);
	put_field(w, p->argc);
	for (uint32_t i = 0; i < p->argc; i++)
		put_str(w, p->argv[i]);
	put_str(w, p->hostname);
	put_str(w, p->unwinder);
	put_field(w, p->depth);
	put_field(w, p->flags);
}

int tl_trace_writer_process(struct tl_trace_writer *w, const struct tl_process *p)
{
	if (!w || !p || (p->argc && !p->argv))
		return TL_TRACE_E_INVAL;
	return append(w, encode_process, p);
}

struct thread_arg {
	uint32_t tid;
	const char *name;
};

static void encode_thread(struct tl_trace_writer *w, const void *arg)
{
	const struct thread_arg *a = arg;

	put_type(w, TL_REC_THREAD);
	put_field(w, a->tid);
	put_str(w, a->name);
}

int tl_trace_writer_thread(struct tl_trace_writer *w, uint32_t tid, const char *name)
{
	struct thread_arg a = {tid, name};

	if (!w)
		return TL_TRACE_E_INVAL;
	return append(w, encode_thread, &a);
}

struct module_arg {
	int64_t time;
	const struct tl_module *m;
};

static void encode_module(struct tl_trace_writer *w, const void *arg)
{
	const struct module_arg *a = arg;
	const struct tl_module *m = a->m;

	put_type(w, TL_REC_MODULE);
	put_dt(w, a->time);
	put_field(w, m->id);
	put_field(w, m->bias);
	put_bytes(w, m->build_id, m->build_id_len, TL_MAX_BUILD_ID);
	put_str(w, m->path);
	put_field(w, m->nseg);
	for (uint32_t i = 0; i < m->nseg; i++) {
		put_field(w, m->segs[i].vaddr);
		put_field(w, m->segs[i].memsz);
		put_field(w, m->segs[i].offset);
		put_field(w, m->segs[i].flags);
	}
}

int tl_trace_writer_module(struct tl_trace_writer *w, int64_t time, const struct tl_module *m)
{
	struct module_arg a = {time, m};

	if (!w || !m || (m->nseg && !m->segs) || (m->build_id_len && !m->build_id))
		return TL_TRACE_E_INVAL;
	if (m->nseg > TL_MAX_SEGMENTS || m->build_id_len > TL_MAX_BUILD_ID)
		return TL_TRACE_E_TOO_BIG;
	return append(w, encode_module, &a);
}

struct unload_arg {
	int64_t time;
	uint32_t id;
};

static void encode_module_unload(struct tl_trace_writer *w, const void *arg)
{
	const struct unload_arg *a = arg;

	put_type(w, TL_REC_MODULE_UNLOAD);
	put_dt(w, a->time);
	put_field(w, a->id);
}

int tl_trace_writer_module_unload(struct tl_trace_writer *w, int64_t time, uint32_t id)
{
	struct unload_arg a = {time, id};

	if (!w)
		return TL_TRACE_E_INVAL;
	return append(w, encode_module_unload, &a);
}

struct runtime_arg {
	int64_t time;
	int mode;
	const char *name, *version;
};

static void encode_runtime(struct tl_trace_writer *w, const void *arg)
{
	const struct runtime_arg *a = arg;

	put_type(w, TL_REC_RUNTIME);
	put_dt(w, a->time);
	put_field(w, (uint64_t)a->mode);
	put_str(w, a->name);
	put_str(w, a->version);
}

int tl_trace_writer_runtime(struct tl_trace_writer *w, int64_t time, int mode, const char *name,
			    const char *version)
{
	struct runtime_arg a = {time, mode, name, version};

	if (!w || mode < 0)
		return TL_TRACE_E_INVAL;
	return append(w, encode_runtime, &a);
}

struct stack_arg {
	uint32_t id, n;
	const uint64_t *frames;
};

/* Frames after the first are deltas from the previous one: the frames of
 * one stack are usually within a few MiB of each other. */
static void encode_stack(struct tl_trace_writer *w, const void *arg)
{
	const struct stack_arg *a = arg;

	put_type(w, TL_REC_STACK);
	put_field(w, a->id);
	put_field(w, a->n);
	if (a->n == 0)
		return;
	put_field(w, a->frames[0]);
	for (uint32_t i = 1; i < a->n; i++)
		put_sfield(w, (int64_t)(a->frames[i] - a->frames[i - 1]));
}

int tl_trace_writer_stack(struct tl_trace_writer *w, uint32_t id, const uint64_t *frames,
			  uint32_t n)
{
	struct stack_arg a = {id, n, frames};

	if (!w || id == 0 || (n && !frames))
		return TL_TRACE_E_INVAL;
	if (n > TL_TRACE_MAX_FRAMES)
		return TL_TRACE_E_TOO_BIG;
	return append(w, encode_stack, &a);
}

/* ---------------------------------------------------------------------------
 * Events
 */

struct event_arg {
	int type;
	int64_t time;
	uint32_t tid;
	const struct tl_event *e;
};

/* A create's, reset's or arm's fields that repeat those of the last one
 * at its stack (an arm: the last arm) are a bit: the "same" bit, bit 0 of
 * the field before them (the stack; an arm's flags). */
static void encode_event_fields(struct tl_trace_writer *w, int type, const struct tl_event *e)
{
	struct tl__buf *f = &w->s[TL__S_FIELDS];
	struct tl__site *s;
	bool same;

	switch (type) {
	case TL_REC_CREATE:
		s = tl__ctx_site(&w->ctx, type, e->stack);
		same = tl__site_same(s, type, e);
		emit_varint(f, (uint64_t)e->stack << 1 | same);
		if (same)
			break;
		tl__site_set(s, e);
		emit_varint(f, e->kind);
		emit_varint(f, tl__zigzag(e->duration));
		emit_varint(f, (uint64_t)e->period);
		emit_varint(f, e->size);
		emit_varint(f, e->aux);
		break;
	case TL_REC_ARM:
	case TL_REC_RESET:
		s = tl__ctx_site(&w->ctx, type, e->stack);
		same = tl__site_same(s, type, e);
		emit_varint(f, (uint64_t)(type == TL_REC_ARM ? e->flags : e->stack) << 1 | same);
		if (!same) {
			tl__site_set(s, e);
			emit_varint(f, tl__zigzag(e->duration));
			emit_varint(f, (uint64_t)e->period);
		}
		if (type == TL_REC_RESET)
			emit_varint(f, e->flags);
		break;
	case TL_REC_STOP:
	case TL_REC_FIRE:
		emit_varint(f, e->flags);
		break;
	default: /* drain, release, free: nothing more */
		break;
	}
}

/* A thread-switch: the thread's entry among the chunk's threads, plus 1,
 * or 0 and its tid for a thread new to the chunk. */
static void encode_thread_switch(struct tl_trace_writer *w, uint32_t tid)
{
	struct tl__buf *t = &w->s[TL__S_THREAD];
	int k = tl__ctx_find_thread(&w->ctx, tid);

	w->s[TL__S_OPS].p[w->s[TL__S_OPS].len++] = TL_REC_THREAD_SWITCH;
	if (k < 0) {
		emit_varint(t, 0);
		emit_varint(t, tid);
		tl__ctx_new_thread(&w->ctx, tid);
	} else {
		emit_varint(t, (uint64_t)k + 1);
		tl__ctx_to_front(&w->ctx, (unsigned)k);
	}
}

/* How the event's id is given: one of the current thread's recent ids, the
 * next new id of a stream, the successor of the last fire, or a delta
 * (docs/trace-format.md, "Events"). */
static unsigned id_sel(struct tl_trace_writer *w, int type, uint64_t id)
{
	const uint64_t *r = w->ctx.recent[0];

	for (unsigned j = 0; j < TL__RECENT; j++)
		if (r[j] == id)
			return j;
	if (id == w->ctx.next[id & 1])
		return TL__ID_NEXT + (unsigned)(id & 1);
	if (id && id == tl__ctx_succ(&w->ctx))
		return TL__ID_SUCC;
	emit_varint(&w->s[TL__S_ID], tl__zigzag((int64_t)(id - tl__id_base(&w->ctx, type, w->cur_id))));
	return TL__ID_DELTA;
}

/* Room for the largest event in every stream, or NULL with the error
 * noted; enc_full when the chunk has no room left for it. */
static bool event_room(struct tl_trace_writer *w)
{
	static const size_t most[TL__STREAMS] = {
		[TL__S_OPS] = EV_OPS,   [TL__S_TIME] = EV_TIME,     [TL__S_ID] = EV_ID,
		[TL__S_THREAD] = EV_THREAD, [TL__S_FIELDS] = EV_FIELDS,
	};

	for (int k = 0; k < TL__STREAMS; k++)
		if (most[k] > w->s[k].cap - w->s[k].len && !room(w, k, most[k]))
			return false;
	if (tl__tw_chunk_bound(w) + EVENT_MAX > TL_TRACE_MAX_CHUNK) {
		w->enc_full = true;
		return false;
	}
	return true;
}

static void encode_event(struct tl_trace_writer *w, const void *arg)
{
	const struct event_arg *a = arg;
	struct tl__buf *ops = &w->s[TL__S_OPS];
	uint8_t op = (uint8_t)(TL__OP_EVENT | (a->type - TL_REC_CREATE));
	int64_t q;

	if (!event_room(w))
		return;
	if (a->tid != w->ctx.tid[0])
		encode_thread_switch(w, a->tid);
	q = dt_of(w, a->time);
	if (q == 0)
		op |= TL__OP_DT_ZERO;
	else
		emit_varint(&w->s[TL__S_TIME], tl__zigzag(q) - 1);
	op |= (uint8_t)(id_sel(w, a->type, a->e->id) << TL__OP_ID_SHIFT);
	ops->p[ops->len++] = op;
	w->cur_id = a->e->id;
	tl__ctx_use_id(&w->ctx, a->e->id);
	if (a->type == TL_REC_FIRE)
		tl__ctx_fired(&w->ctx, a->e->id);
	encode_event_fields(w, a->type, a->e);
}

int tl_trace_writer_event(struct tl_trace_writer *w, int type, int64_t time, uint32_t tid,
			  const struct tl_event *e)
{
	struct event_arg a = {type, time, tid, e};

	if (!w || !e || !tl_rec_is_event(type) || w->state == TL__W_ENDED)
		return TL_TRACE_E_INVAL;
	/* The id rules are the readers' to rely on: a writer may not break them. */
	if (type == TL_REC_CREATE && !tl_id_fits(e->id, (int)e->kind))
		return TL_TRACE_E_INVAL;
	return append_event(w, encode_event, &a);
}

/* ---------------------------------------------------------------------------
 * Accounting records
 */

static void encode_dropped(struct tl_trace_writer *w, const void *arg)
{
	const struct tl__drop *d = arg;

	put_type(w, TL_REC_DROPPED);
	put_dt(w, d->time);
	put_field(w, d->tid);
	put_field(w, d->count);
	put_field(w, (uint64_t)d->reason);
}

/* Merge the pending drops into one per reason, of no particular thread. */
static void drops_collapse(struct tl_trace_writer *w)
{
	unsigned n = 0;

	for (unsigned i = 0; i < w->ndrops; i++) {
		struct tl__drop d = w->drops[i];
		unsigned j;

		for (j = 0; j < n && w->drops[j].reason != d.reason; j++)
			;
		if (j == n) {
			d.tid = 0;
			w->drops[n++] = d;
		} else {
			w->drops[j].count += d.count;
			if (d.time > w->drops[j].time)
				w->drops[j].time = d.time;
		}
	}
	w->ndrops = n;
}

static void drops_add(struct tl_trace_writer *w, const struct tl__drop *d)
{
	for (unsigned i = 0; i < w->ndrops; i++) {
		struct tl__drop *p = &w->drops[i];

		if (p->tid == d->tid && p->reason == d->reason) {
			p->count += d->count;
			p->time = d->time;
			return;
		}
	}
	if (w->ndrops == TL__MAX_DROPS)
		drops_collapse(w); /* at most TL_DROP_MAX reasons: leaves room */
	w->drops[w->ndrops++] = *d;
}

int tl_trace_writer_dropped(struct tl_trace_writer *w, int64_t time, uint32_t tid,
			    uint64_t count, int reason)
{
	struct tl__drop d = {time, tid, reason, count};
	int err = 0;

	if (!w || w->state == TL__W_ENDED || reason < TL_DROP_RING_FULL || reason > TL_DROP_MAX)
		return TL_TRACE_E_INVAL;
	if (w->state == TL__W_OPEN)
		err = append(w, encode_dropped, &d);
	/* Until its chunk is in the file, the loss is also kept here: if the
	 * chunk is lost, the final chunk still reports it. */
	drops_add(w, &d);
	return w->state == TL__W_FAILED ? 0 : err;
}

struct snapshot_arg {
	int64_t time;
	uint64_t seq;
};

static void encode_snapshot(struct tl_trace_writer *w, const void *arg)
{
	const struct snapshot_arg *a = arg;

	put_type(w, TL_REC_SNAPSHOT);
	put_dt(w, a->time);
	put_field(w, a->seq);
}

int tl_trace_writer_snapshot(struct tl_trace_writer *w, int64_t time, uint64_t seq)
{
	struct snapshot_arg a = {time, seq};

	if (!w)
		return TL_TRACE_E_INVAL;
	return append(w, encode_snapshot, &a);
}

/*
 * An extension record of varint fields: type, the body's length, the body.
 * Its fields never touch the chunk's decoding state (time, id, thread), so
 * a reader that skips it stays in step.
 */
static void put_extension(struct tl_trace_writer *w, uint8_t type, const uint64_t *f, unsigned n)
{
	size_t len = 0;

	for (unsigned i = 0; i < n; i++)
		len += tl__varint_len(f[i]);
	put_type(w, type);
	put_field(w, len);
	for (unsigned i = 0; i < n; i++)
		put_field(w, f[i]);
}

static void encode_recorder(struct tl_trace_writer *w, const void *arg)
{
	uint64_t f[1] = {*(const uint32_t *)arg};

	put_extension(w, TL_REC_RECORDER, f, 1);
}

int tl_trace_writer_recorder(struct tl_trace_writer *w, uint32_t flush_ms)
{
	if (!w || w->state == TL__W_ENDED)
		return TL_TRACE_E_INVAL;
	return append(w, encode_recorder, &flush_ms);
}

static void encode_attached(struct tl_trace_writer *w, const void *arg)
{
	uint64_t f[1] = {tl__zigzag(*(const int64_t *)arg)};

	put_extension(w, TL_REC_ATTACHED, f, 1);
}

int tl_trace_writer_attached(struct tl_trace_writer *w, int64_t started)
{
	if (!w || w->state == TL__W_ENDED)
		return TL_TRACE_E_INVAL;
	return append(w, encode_attached, &started);
}

struct existing_arg {
	int64_t time;
	const struct tl_event *e;
};

/* Absolute values, as every extension record's: the chunk's id and time
 * stay where the events left them. */
static void encode_existing(struct tl_trace_writer *w, const void *arg)
{
	const struct existing_arg *a = arg;
	uint64_t f[8] = {tl__zigzag(a->time), a->e->id, a->e->kind, a->e->stack,
			 tl__zigzag(a->e->duration), (uint64_t)a->e->period, a->e->size, a->e->aux};

	put_extension(w, TL_REC_EXISTING, f, 8);
}

int tl_trace_writer_existing(struct tl_trace_writer *w, int64_t time, const struct tl_event *e)
{
	struct existing_arg a = {time, e};

	if (!w || !e || w->state == TL__W_ENDED || !tl_id_fits(e->id, (int)e->kind))
		return TL_TRACE_E_INVAL;
	return append(w, encode_existing, &a);
}

int tl_trace_writer_end_signal(struct tl_trace_writer *w, int signo)
{
	if (!w || w->state == TL__W_ENDED || signo < 1 || signo > 64)
		return TL_TRACE_E_INVAL;
	w->end_signal = signo;
	return 0;
}

struct end_arg {
	int64_t time;
	uint64_t events, dropped;
};

/* The end record, after the signal that ended the process, if one did. */
static void encode_end(struct tl_trace_writer *w, const void *arg)
{
	const struct end_arg *a = arg;

	if (w->end_signal) {
		uint64_t f[1] = {(uint64_t)w->end_signal};

		put_extension(w, TL_REC_SIGNAL, f, 1);
	}
	put_type(w, TL_REC_END);
	put_dt(w, a->time);
	put_field(w, a->events);
	put_field(w, a->dropped);
}

/* The final chunk, written whatever the state: the drops not in the file,
 * then the end record. Small, so that it fits the reserved space. */
static int write_final(struct tl_trace_writer *w, const struct end_arg *a)
{
	tl__tw_chunk_reset(w);
	w->enc_err = 0;
	for (unsigned i = 0; i < w->ndrops; i++)
		encode_dropped(w, &w->drops[i]);
	encode_end(w, a);
	if (w->enc_err)
		return w->enc_err;
	return tl__tw_write_chunk(w, true);
}

int tl_trace_writer_end(struct tl_trace_writer *w, int64_t time, uint64_t events,
			uint64_t dropped)
{
	struct end_arg a = {time, events, dropped};
	uint64_t lost_before;
	int err;

	if (!w || w->state == TL__W_ENDED)
		return TL_TRACE_E_INVAL;
	if (w->state == TL__W_OPEN) {
		struct mark m;

		lost_before = w->st.lost_events;
		mark_save(w, &m);
		err = append(w, encode_end, &a);
		if (!err)
			err = tl__tw_write_chunk(w, true);
		if (w->state == TL__W_OPEN && err) {
			/* Out of memory, or zstd failed: nothing was written
			 * and the end record is taken out again, so the
			 * caller may simply call again. */
			if (w->s[TL__S_OPS].len > m.len[TL__S_OPS])
				mark_restore(w, &m);
			return err;
		}
		if (w->state == TL__W_FAILED) {
			/* The end's own chunk was lost: report its events,
			 * which the caller could not know of. */
			struct tl__drop d = {time, 0, TL_DROP_WRITE_FAILED,
					     w->st.lost_events - lost_before};

			if (d.count)
				drops_add(w, &d);
			a.dropped += d.count;
		}
	}
	err = w->state == TL__W_FAILED ? write_final(w, &a) : 0;
	w->state = TL__W_ENDED;
	tl__tw_release(w);
	return err;
}

int tl_trace_writer_resume(struct tl_trace_writer *w)
{
	if (!w || w->state != TL__W_ENDED || w->failed)
		return TL_TRACE_E_INVAL;
	w->state = TL__W_OPEN;
	return tl__tw_reserve_again(w);
}

/* ---------------------------------------------------------------------------
 * The writer object
 */

int tl_trace_writer_flush(struct tl_trace_writer *w)
{
	if (!w || w->state == TL__W_ENDED)
		return TL_TRACE_E_INVAL;
	if (w->state == TL__W_FAILED)
		return w->failed;
	return tl__tw_write_chunk(w, false);
}

static int writer_init(struct tl_trace_writer *w, int fd, const struct tl_trace_writer_opts *o)
{
	int level = o->zstd_level ? o->zstd_level : TL__ZSTD_LEVEL_DEFAULT;
	off_t start;

	if (fd < 0 || o->time_shift > TL_TRACE_MAX_SHIFT || level < ZSTD_minCLevel() ||
	    level > ZSTD_maxCLevel())
		return TL_TRACE_E_INVAL;
	w->fd = fd;
	w->shift = o->time_shift;
	tl__ctx_reset(&w->ctx);
	w->reserve = o->reserve_bytes ? o->reserve_bytes : TL__RESERVE_DEFAULT;
	/* With O_APPEND every write goes to the end, whatever the offset
	 * says: the trace starts there. */
	start = lseek(fd, 0, (fcntl(fd, F_GETFL) & O_APPEND) ? SEEK_END : SEEK_CUR);
	w->seekable = start >= 0;
	w->start = start >= 0 ? start : 0;
	w->level = level;
	if (o->prealloc_bytes) {
		/* With stable buffers (tl__tw_cctx_setup) streaming needs no
		 * more workspace than a one-shot compression. */
		size_t ws = ZSTD_estimateCCtxSize_usingCParams(
			ZSTD_getCParams(level, o->prealloc_bytes, 0));

		/* The streams' shares of a chunk vary with the workload (a
		 * chunk of fires at a fine time unit is mostly times): any one
		 * may need the whole chunk, so each gets room for it. Pages
		 * untouched cost address space, not memory. */
		for (int k = 0; k < TL__STREAMS; k++)
			if (tl__buf_reserve(&w->s[k], o->prealloc_bytes) != 0)
				return TL_TRACE_E_NOMEM;
		if (tl__buf_reserve(&w->chunk, o->prealloc_bytes) != 0 ||
		    tl__buf_reserve(&w->out, TL__CHUNK_HEADER +
						     ZSTD_compressBound(o->prealloc_bytes)) != 0 ||
		    !(w->cctx_mem = malloc(ws)))
			return TL_TRACE_E_NOMEM;
		w->cctx = ZSTD_initStaticCCtx(w->cctx_mem, ws);
	} else {
		w->cctx = ZSTD_createCCtx();
	}
	if (!w->cctx)
		return TL_TRACE_E_NOMEM;
	if (tl__tw_cctx_setup(w->cctx, level) != 0)
		return TL_TRACE_E_COMPRESS;
	return tl__tw_write_header(w);
}

struct tl_trace_writer *tl_trace_writer_new(int fd, const struct tl_trace_writer_opts *opts,
					    int *err)
{
	struct tl_trace_writer_opts o = opts ? *opts : (struct tl_trace_writer_opts){0};
	struct tl_trace_writer *w = calloc(1, sizeof(*w));
	int e;

	if (!w) {
		if (err)
			*err = TL_TRACE_E_NOMEM;
		return NULL;
	}
	e = writer_init(w, fd, &o);
	if (e) {
		tl_trace_writer_free(w);
		if (err)
			*err = e;
		return NULL;
	}
	if (err)
		*err = 0;
	return w;
}

int tl_trace_writer_set_fd(struct tl_trace_writer *w, int fd)
{
	if (!w || fd < 0)
		return TL_TRACE_E_INVAL;
	w->fd = fd;
	return 0;
}

size_t tl_trace_writer_pending(const struct tl_trace_writer *w)
{
	return w ? tl__tw_chunk_len(w) : 0;
}

void tl_trace_writer_stats(const struct tl_trace_writer *w, struct tl_trace_writer_stats *s)
{
	if (w && s)
		*s = w->st;
	else if (s)
		memset(s, 0, sizeof(*s));
}

void tl_trace_writer_free(struct tl_trace_writer *w)
{
	if (!w)
		return;
	if (!w->cctx_mem)
		ZSTD_freeCCtx(w->cctx);
	free(w->cctx_mem);
	ZSTD_freeCCtx(w->cctx_big);
	for (int k = 0; k < TL__STREAMS; k++)
		tl__buf_free(&w->s[k]);
	tl__buf_free(&w->chunk);
	tl__buf_free(&w->out);
	free(w);
}
