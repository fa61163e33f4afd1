/*
 * reader_records.c - decoding one record of a chunk payload
 * (docs/trace-format.md, "Records").
 *
 * The getters note the first error in d->err and then return zeros without
 * reading, so a decoder reads as the record's layout and tl__dec_record()
 * checks once. Every length is checked against what is left of the payload
 * before it is used, every count against its limit, and every field the
 * record model keeps in 32 bits against UINT32_MAX.
 */
#include "reader_int.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * Getters
 */

static inline uint64_t get_u64(struct tl__dec *d)
{
	uint64_t v = 0;

	if (!d->err)
		d->err = tl__get_varint(d->fc, &v);
	return d->err ? 0 : v;
}

static inline uint32_t get_u32(struct tl__dec *d)
{
	uint32_t v = 0;

	if (!d->err)
		d->err = tl__get_varint32(d->fc, &v);
	return d->err ? 0 : v;
}

/* An int field of the model (mode, reason): 31 bits. */
static int get_int(struct tl__dec *d)
{
	uint32_t v = get_u32(d);

	if (v > INT32_MAX && !d->err)
		d->err = TL_TRACE_E_BAD_RECORD;
	return d->err ? 0 : (int)v;
}

static inline int64_t get_s64(struct tl__dec *d)
{
	return tl__unzigzag(get_u64(d));
}

/* A dt field: the record's absolute time (wrapping, as the writer's). */
static inline int64_t get_dt(struct tl__dec *d)
{
	uint64_t q = 0;

	if (!d->err)
		d->err = tl__get_varint(d->tc, &q);
	d->time += (uint64_t)tl__unzigzag(d->err ? 0 : q) << d->shift;
	return (int64_t)d->time;
}

/*
 * A str field, NUL-terminated in place: its bytes move one to the left, over
 * the last byte of their length prefix (already read), and the NUL takes the
 * place of their last byte. The payload is the reader's own decompression
 * buffer and is never parsed again, so this costs no allocation and no copy
 * of the chunk; it is why strings stay valid only until the next record.
 */
static const char *get_str(struct tl__dec *d)
{
	uint8_t *p;
	uint32_t n;

	if (d->err)
		return "";
	d->err = tl__get_span(d->fc, TL_TRACE_MAX_STRING, &p, &n);
	if (d->err)
		return "";
	p--;
	memmove(p, p + 1, n);
	p[n] = '\0'; /* for n == 0, over the prefix byte itself */
	return (const char *)p;
}

/* ---------------------------------------------------------------------------
 * Metadata records
 */

static int grow_argv(struct tl__dec *d, size_t n)
{
	const char **a;
	size_t cap = d->argv_cap ? d->argv_cap : 16;

	if (n <= d->argv_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	a = realloc(d->argv, cap * sizeof(*a));
	if (!a)
		return TL_TRACE_E_NOMEM;
	d->argv = a;
	d->argv_cap = cap;
	return 0;
}

static void dec_process(struct tl__dec *d, struct tl_record *rec)
{
	struct tl_process *p = &rec->process;

	p->pid = get_u32(d);
	p->ppid = get_u32(d);
	p->wall_ns = get_u64(d);
	p->mono_ns = get_u64(d);
	p->exe = get_str(d);
	p->argc = get_u32(d);
	/* Each argument takes at least its length byte: a larger count is a
	 * lie, and would make us allocate for it. */
	if (!d->err && p->argc > tl__cur_left(d->fc))
		d->err = TL_TRACE_E_BAD_RECORD;
	if (!d->err)
		d->err = grow_argv(d, p->argc);
	for (uint32_t i = 0; i < p->argc && !d->err; i++)
		d->argv[i] = get_str(d);
	p->argv = d->argv;
	p->hostname = get_str(d);
	p->unwinder = get_str(d);
	p->depth = get_u32(d);
	p->flags = get_u32(d);
	rec->time = (int64_t)p->mono_ns;
}

static void dec_thread(struct tl__dec *d, struct tl_record *rec)
{
	rec->thread.tid = get_u32(d);
	rec->thread.name = get_str(d);
	rec->tid = rec->thread.tid;
}

static void dec_module(struct tl__dec *d, struct tl_record *rec)
{
	struct tl_module *m = &rec->module;
	uint8_t *id = NULL;

	rec->time = get_dt(d);
	m->id = get_u32(d);
	m->bias = get_u64(d);
	if (!d->err)
		d->err = tl__get_span(d->fc, TL_MAX_BUILD_ID, &id, &m->build_id_len);
	m->build_id = id;
	m->path = get_str(d);
	m->nseg = get_u32(d);
	if (!d->err && m->nseg > TL_MAX_SEGMENTS)
		d->err = TL_TRACE_E_TOO_BIG;
	for (uint32_t i = 0; i < m->nseg && !d->err; i++) {
		d->segs[i].vaddr = get_u64(d);
		d->segs[i].memsz = get_u64(d);
		d->segs[i].offset = get_u64(d);
		d->segs[i].flags = get_u32(d);
	}
	m->segs = d->segs;
}

static void dec_stack(struct tl__dec *d, struct tl_record *rec)
{
	uint32_t n;

	rec->stack.id = get_u32(d);
	n = rec->stack.n = get_u32(d);
	if (!d->err && rec->stack.id == 0)
		d->err = TL_TRACE_E_BAD_RECORD; /* 0 means "no stack" */
	if (!d->err && n > TL_TRACE_MAX_FRAMES)
		d->err = TL_TRACE_E_TOO_BIG;
	if (!d->err && n > 0)
		d->frames[0] = get_u64(d);
	for (uint32_t i = 1; i < n && !d->err; i++)
		d->frames[i] = d->frames[i - 1] + (uint64_t)get_s64(d);
	rec->stack.frames = d->frames;
}

static void dec_runtime(struct tl__dec *d, struct tl_record *rec)
{
	rec->time = get_dt(d);
	rec->runtime.mode = get_int(d);
	rec->runtime.name = get_str(d);
	rec->runtime.version = get_str(d);
}

/* ---------------------------------------------------------------------------
 * Events, and the small timed records (module-unload, dropped, snapshot, end)
 */

static void dec_event_fields(struct tl__dec *d, struct tl_record *rec)
{
	struct tl_event *e = &rec->ev;

	switch (rec->type) {
	case TL_REC_CREATE:
		e->kind = get_u32(d);
		e->stack = get_u32(d);
		e->duration = get_s64(d);
		e->period = (int64_t)get_u64(d);
		e->size = get_u64(d);
		e->aux = get_u64(d);
		break;
	case TL_REC_ARM:
		e->duration = get_s64(d);
		e->period = (int64_t)get_u64(d);
		e->flags = get_u32(d);
		break;
	case TL_REC_RESET:
		e->stack = get_u32(d);
		e->duration = get_s64(d);
		e->period = (int64_t)get_u64(d);
		e->flags = get_u32(d);
		break;
	case TL_REC_STOP:
	case TL_REC_FIRE:
		e->flags = get_u32(d);
		break;
	default: /* drain, release, free */
		break;
	}
}

/* A field with the "same" bit in bit 0 (a 2.x create's or reset's stack,
 * an arm's flags): @return the field, *same the bit. */
static uint32_t get_u32_same(struct tl__dec *d, bool *same)
{
	uint64_t u = get_u64(d);

	if (u >> 1 > UINT32_MAX && !d->err)
		d->err = TL_TRACE_E_BAD_RECORD;
	*same = u & 1;
	return d->err ? 0 : (uint32_t)(u >> 1);
}

/* Fields that the bit says are the same as those of the last create (or
 * reset) at the stack, or of the last arm: there must be one. */
static void site_copy(struct tl__dec *d, const struct tl__site *s, struct tl_event *e, int type)
{
	if (d->err)
		return;
	if (!s->set || (type != TL_REC_ARM && s->stack != e->stack)) {
		d->err = TL_TRACE_E_BAD_RECORD;
		return;
	}
	e->duration = s->duration;
	e->period = s->period;
	if (type == TL_REC_CREATE) {
		e->kind = s->kind;
		e->size = s->size;
		e->aux = s->aux;
	}
}

/* A 2.x event's fields: as a 1.x one's but for the "same" bit (see
 * encode_event_fields() in writer.c). */
static void dec_event_fields2(struct tl__dec *d, struct tl_record *rec)
{
	struct tl_event *e = &rec->ev;
	struct tl__site *s;
	bool same;

	switch (rec->type) {
	case TL_REC_CREATE:
		e->stack = get_u32_same(d, &same);
		s = tl__ctx_site(&d->ctx, rec->type, e->stack);
		if (same) {
			site_copy(d, s, e, rec->type);
			break;
		}
		e->kind = get_u32(d);
		e->duration = get_s64(d);
		e->period = (int64_t)get_u64(d);
		e->size = get_u64(d);
		e->aux = get_u64(d);
		tl__site_set(s, e);
		break;
	case TL_REC_ARM:
	case TL_REC_RESET:
		if (rec->type == TL_REC_ARM)
			e->flags = get_u32_same(d, &same);
		else
			e->stack = get_u32_same(d, &same);
		s = tl__ctx_site(&d->ctx, rec->type, e->stack);
		if (same) {
			site_copy(d, s, e, rec->type);
		} else {
			e->duration = get_s64(d);
			e->period = (int64_t)get_u64(d);
			tl__site_set(s, e);
		}
		if (rec->type == TL_REC_RESET)
			e->flags = get_u32(d);
		break;
	default:
		dec_event_fields(d, rec);
		break;
	}
}

static inline void event_clear(struct tl_event *e)
{
	/* Field by field: a struct assignment becomes a rep stos, slow for 48
	 * bytes at tens of millions of records a second. */
	e->kind = 0;
	e->stack = 0;
	e->duration = 0;
	e->period = 0;
	e->size = 0;
	e->aux = 0;
	e->flags = 0;
}

/* A 1.x event: dt, id delta, fields. */
static void dec_event(struct tl__dec *d, struct tl_record *rec)
{
	struct tl_event *e = &rec->ev;

	event_clear(e);
	rec->time = get_dt(d);
	rec->tid = d->tid;
	d->id += (uint64_t)get_s64(d);
	e->id = d->id;
	dec_event_fields(d, rec);
}

/* A 2.x event, from its op byte (docs/trace-format.md, "Events"). */
static void dec_event_op(struct tl__dec *d, struct tl_record *rec, unsigned op)
{
	struct tl_event *e = &rec->ev;
	unsigned sel = (op >> TL__OP_ID_SHIFT) & 7;
	uint64_t u = 0;

	event_clear(e);
	rec->type = TL_REC_CREATE + (int)(op & 7);
	if (!(op & TL__OP_DT_ZERO)) {
		d->err = tl__get_varint(d->tc, &u);
		if (!d->err && u == UINT64_MAX)
			d->err = TL_TRACE_E_BAD_RECORD; /* zigzag(q) - 1 never is */
		if (!d->err)
			d->time += (uint64_t)tl__unzigzag(u + 1) << d->shift;
	}
	rec->time = (int64_t)d->time;
	rec->tid = d->tid;
	if (sel < TL__RECENT) {
		d->id = d->ctx.recent[0][sel];
	} else if (sel < TL__ID_DELTA) {
		d->id = d->ctx.next[sel - TL__ID_NEXT];
	} else if (sel == TL__ID_DELTA) {
		if (!d->err)
			d->err = tl__get_varint(d->ic, &u);
		if (!d->err)
			d->id = tl__id_base(&d->ctx, rec->type, d->id) + (uint64_t)tl__unzigzag(u);
	} else if ((d->id = tl__ctx_succ(&d->ctx)) == 0) {
		d->err = TL_TRACE_E_BAD_RECORD; /* no fire to follow */
	}
	if (d->err)
		return;
	e->id = d->id;
	tl__ctx_use_id(&d->ctx, d->id);
	if (rec->type == TL_REC_FIRE)
		tl__ctx_fired(&d->ctx, d->id);
	dec_event_fields2(d, rec);
}

/* A 2.x thread-switch: 0 and a tid new to the chunk, or 1 + the entry of
 * one met before. */
static int dec_thread_switch(struct tl__dec *d)
{
	uint64_t k;
	uint32_t tid;
	int err = tl__get_varint(d->thc, &k);

	if (err)
		return err;
	if (k == 0) {
		err = tl__get_varint32(d->thc, &tid);
		if (err)
			return err;
		tl__ctx_new_thread(&d->ctx, tid);
	} else if (k <= d->ctx.n) {
		tl__ctx_to_front(&d->ctx, (unsigned)(k - 1));
	} else {
		return TL_TRACE_E_BAD_RECORD;
	}
	d->tid = d->ctx.tid[0];
	return 0;
}

static void dec_small(struct tl__dec *d, struct tl_record *rec)
{
	rec->time = get_dt(d);
	switch (rec->type) {
	case TL_REC_DROPPED:
		rec->dropped.tid = get_u32(d);
		rec->dropped.count = get_u64(d);
		rec->dropped.reason = get_int(d);
		rec->tid = rec->dropped.tid;
		break;
	case TL_REC_SNAPSHOT:
		rec->snapshot.seq = get_u64(d);
		break;
	case TL_REC_END:
		rec->end.events = get_u64(d);
		rec->end.dropped = get_u64(d);
		break;
	case TL_REC_MODULE_UNLOAD:
		rec->module_unload.id = get_u32(d);
		break;
	}
}

/*
 * An extension record: a length and a body. The body of one this reader
 * knows is decoded from its own cursor: later minor versions may add
 * fields at its end, which are skipped, and the chunk's decoding state is
 * never touched. @return 1 for a record to return, 0 for one skipped.
 */
static int dec_extension(struct tl__dec *d, struct tl_record *rec)
{
	struct tl__cur outer;
	uint8_t *body;
	uint32_t n;

	d->err = tl__get_span(d->fc, TL_TRACE_MAX_CHUNK, &body, &n);
	if (d->err)
		return 0;
	if (rec->type < TL_REC_SIGNAL || rec->type > TL_REC_EXISTING) {
		d->unknown++;
		return 0;
	}
	outer = *d->fc;
	*d->fc = (struct tl__cur){body, body + n};
	switch (rec->type) {
	case TL_REC_SIGNAL:
		rec->signal.signo = get_int(d);
		if (!d->err && (rec->signal.signo < 1 || rec->signal.signo > 64))
			d->err = TL_TRACE_E_BAD_RECORD;
		break;
	case TL_REC_RECORDER:
		rec->recorder.flush_ms = get_u32(d);
		break;
	case TL_REC_ATTACHED:
		rec->attached.started = get_s64(d);
		break;
	default: /* TL_REC_EXISTING */
		rec->time = get_s64(d);
		rec->ev.id = get_u64(d);
		rec->ev.kind = get_u32(d);
		rec->ev.stack = get_u32(d);
		rec->ev.duration = get_s64(d);
		rec->ev.period = (int64_t)get_u64(d);
		rec->ev.size = get_u64(d);
		rec->ev.aux = get_u64(d);
		if (!d->err && rec->ev.id == 0)
			d->err = TL_TRACE_E_BAD_RECORD; /* id 0 is no timer */
		break;
	}
	*d->fc = outer;
	return 1;
}

/* ---------------------------------------------------------------------------
 * One record
 */

/* A 2.x payload: the directory (the number of streams, at least
 * TL__STREAMS, then each one's length), then the streams, which must fill
 * the rest exactly. Streams past TL__STREAMS (a later minor version's) are
 * not read. */
static int dec_directory(struct tl__dec *d, uint8_t *p, size_t n)
{
	struct tl__cur c = {p, p + n};
	uint64_t count, len[TL__STREAMS], rest = 0;
	uint8_t *q;

	if (tl__get_varint(&c, &count) != 0 || count < TL__STREAMS || count > TL__MAX_STREAMS)
		return TL_TRACE_E_BAD_RECORD;
	for (uint64_t k = 0; k < count; k++) {
		uint64_t l;

		if (tl__get_varint(&c, &l) != 0 || l > n)
			return TL_TRACE_E_BAD_RECORD;
		if (k < TL__STREAMS)
			len[k] = l;
		rest += l;
	}
	if (rest != tl__cur_left(&c))
		return TL_TRACE_E_BAD_RECORD;
	q = c.p;
	for (int k = 0; k < TL__STREAMS; k++) {
		d->s[k] = (struct tl__cur){q, q + len[k]};
		q += len[k];
	}
	return 0;
}

int tl__dec_start(struct tl__dec *d, uint8_t *p, size_t n, int64_t base)
{
	d->time = (uint64_t)base;
	d->id = 0;
	d->tid = 0;
	if (!d->streams) {
		d->c.p = p;
		d->c.end = p + n;
		d->ops = d->tc = d->ic = d->thc = d->fc = &d->c;
		return 0;
	}
	d->ops = &d->s[TL__S_OPS];
	d->tc = &d->s[TL__S_TIME];
	d->ic = &d->s[TL__S_ID];
	d->thc = &d->s[TL__S_THREAD];
	d->fc = &d->s[TL__S_FIELDS];
	tl__ctx_reset(&d->ctx);
	if (dec_directory(d, p, n) != 0) {
		for (int k = 0; k < TL__STREAMS; k++)
			d->s[k] = (struct tl__cur){p, p};
		return TL_TRACE_E_BAD_RECORD;
	}
	return 0;
}

int tl__dec_finish(const struct tl__dec *d)
{
	if (!d->streams)
		return 0;
	for (int k = 0; k < TL__STREAMS; k++)
		if (tl__cur_left(&d->s[k]))
			return TL_TRACE_E_BAD_RECORD;
	return 0;
}

int tl__dec_record(struct tl__dec *d, struct tl_record *rec)
{
	int type = *d->ops->p++;

	d->err = 0;
	if (d->streams) {
		if (type & TL__OP_EVENT) { /* nearly every record: no memset */
			dec_event_op(d, rec, (unsigned)type);
			return d->err ? d->err : 1;
		}
		if (type == TL_REC_THREAD_SWITCH)
			return dec_thread_switch(d);
		/* An event is only ever an op; a type this high does not fit. */
		if (tl_rec_is_event(type))
			return TL_TRACE_E_BAD_RECORD;
	} else if (tl_rec_is_event(type)) {
		rec->type = type;
		dec_event(d, rec);
		return d->err ? d->err : 1;
	} else if (type == TL_REC_THREAD_SWITCH) { /* next in number, and not returned */
		d->tid = get_u32(d);
		return d->err;
	}
	memset(rec, 0, sizeof(*rec));
	rec->type = type;
	switch (type) {
	case TL_REC_PROCESS:
		dec_process(d, rec);
		break;
	case TL_REC_THREAD:
		dec_thread(d, rec);
		break;
	case TL_REC_MODULE:
		dec_module(d, rec);
		break;
	case TL_REC_STACK:
		dec_stack(d, rec);
		break;
	case TL_REC_RUNTIME:
		dec_runtime(d, rec);
		break;
	case TL_REC_CREATE:
	case TL_REC_ARM:
	case TL_REC_STOP:
	case TL_REC_RESET:
	case TL_REC_FIRE:
	case TL_REC_DRAIN:
	case TL_REC_RELEASE:
	case TL_REC_FREE:
		dec_event(d, rec);
		break;
	case TL_REC_MODULE_UNLOAD:
	case TL_REC_DROPPED:
	case TL_REC_SNAPSHOT:
	case TL_REC_END:
		dec_small(d, rec);
		break;
	default:
		/* Core records carry no length: one this reader does not know
		 * cannot be skipped, and the rest of the chunk is lost. */
		if (type < 0x40)
			return TL_TRACE_E_BAD_RECORD;
		if (!dec_extension(d, rec))
			return d->err;
		break;
	}
	return d->err ? d->err : 1;
}

void tl__dec_free(struct tl__dec *d)
{
	free(d->argv);
	d->argv = NULL;
	d->argv_cap = 0;
}
