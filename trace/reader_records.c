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
		d->err = tl__get_varint(&d->c, &v);
	return d->err ? 0 : v;
}

static inline uint32_t get_u32(struct tl__dec *d)
{
	uint32_t v = 0;

	if (!d->err)
		d->err = tl__get_varint32(&d->c, &v);
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
	uint64_t q = get_u64(d);

	d->time += (uint64_t)tl__unzigzag(q) << d->shift;
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
	d->err = tl__get_span(&d->c, TL_TRACE_MAX_STRING, &p, &n);
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
	if (!d->err && p->argc > tl__cur_left(&d->c))
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
		d->err = tl__get_span(&d->c, TL_MAX_BUILD_ID, &id, &m->build_id_len);
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

static void dec_event(struct tl__dec *d, struct tl_record *rec)
{
	struct tl_event *e = &rec->ev;

	/* Field by field: a struct assignment becomes a rep stos, slow for 48
	 * bytes at tens of millions of records a second. */
	e->kind = 0;
	e->stack = 0;
	e->duration = 0;
	e->period = 0;
	e->size = 0;
	e->aux = 0;
	e->flags = 0;
	rec->time = get_dt(d);
	rec->tid = d->tid;
	d->id += (uint64_t)get_s64(d);
	e->id = d->id;
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

	d->err = tl__get_span(&d->c, TL_TRACE_MAX_CHUNK, &body, &n);
	if (d->err)
		return 0;
	if (rec->type < TL_REC_SIGNAL || rec->type > TL_REC_EXISTING) {
		d->unknown++;
		return 0;
	}
	outer = d->c;
	d->c = (struct tl__cur){body, body + n};
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
	d->c = outer;
	return 1;
}

/* ---------------------------------------------------------------------------
 * One record
 */

void tl__dec_start(struct tl__dec *d, uint8_t *p, size_t n, int64_t base)
{
	d->c.p = p;
	d->c.end = p + n;
	d->time = (uint64_t)base;
	d->id = 0;
	d->tid = 0;
}

int tl__dec_record(struct tl__dec *d, struct tl_record *rec)
{
	int type = *d->c.p++;

	d->err = 0;
	if (tl_rec_is_event(type)) { /* nearly every record: no memset */
		rec->type = type;
		dec_event(d, rec);
		return d->err ? d->err : 1;
	}
	if (type == TL_REC_THREAD_SWITCH) { /* next in number, and not returned */
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
