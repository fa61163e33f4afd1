/*
 * internal.h - what the trace library's source files share: byte-level
 * encoding (varints, zigzag, little-endian fields, FNV-1a), the chunk header
 * and a growable buffer. Not installed; nothing outside trace/ includes it.
 *
 * Every decoder here is bounded: it reads through a cursor that knows where
 * its bytes end, and fails rather than read past that end.
 */
#ifndef TL_TRACE_INTERNAL_H
#define TL_TRACE_INTERNAL_H

#include "tl_trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TL__CHUNK_HEADER 32
#define TL__COMPRESSION_ZSTD 1
#define TL__VARINT_MAX 10 /* bytes of a 64-bit LEB128 value */
#define TL__ZSTD_LEVEL_DEFAULT 3
#define TL__RESERVE_DEFAULT 4096

extern const uint8_t tl__file_magic[8];
extern const uint8_t tl__chunk_magic[4];

/* ---------------------------------------------------------------------------
 * Fixed-width little-endian fields. Byte by byte, so that neither the host's
 * byte order nor the alignment of p matters.
 */
static inline void tl__put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void tl__put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void tl__put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t tl__get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t tl__get_le32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline uint64_t tl__get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ---------------------------------------------------------------------------
 * Zigzag: small magnitudes of either sign become small unsigned numbers.
 * Computed on uint64_t, where shifts and overflow are defined for every
 * input, INT64_MIN included.
 */
static inline uint64_t tl__zigzag(int64_t v)
{
	uint64_t u = (uint64_t)v;

	return (u << 1) ^ (0 - (u >> 63));
}

static inline int64_t tl__unzigzag(uint64_t u)
{
	/* The conversion of a value above INT64_MAX to int64_t is
	 * implementation-defined in C11; gcc and clang define it as
	 * two's complement, which is what the format means. */
	return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

/* tl__varint_put - write v as LEB128 at p (room for TL__VARINT_MAX bytes).
 * @return the bytes written, 1..10. */
size_t tl__varint_put(uint8_t *p, uint64_t v);

/* @return the bytes tl__varint_put() would write for v. */
size_t tl__varint_len(uint64_t v);

/* ---------------------------------------------------------------------------
 * Decoding cursor: [p, end). Every getter advances p only on success.
 */
struct tl__cur {
	uint8_t *p;
	uint8_t *end;
};

static inline size_t tl__cur_left(const struct tl__cur *c)
{
	return (size_t)(c->end - c->p);
}

/* tl__get_varint - decode one LEB128 value (tl__get_varint_slow: any length).
 * @return 0, or TL_TRACE_E_BAD_RECORD when the bytes end inside the value,
 *         it runs past 10 bytes, or its 10th byte carries bits past 64. */
int tl__get_varint_slow(struct tl__cur *c, uint64_t *v);

/* The one- and two-byte values that most fields of an event are, decoded
 * inline: @return whether *v was one (a reader spends most of its time
 * here); the rest go out of line. */
static inline bool tl__varint_short(struct tl__cur *c, uint64_t *v)
{
	const uint8_t *p = c->p;

	if (c->end - p < 2)
		return false;
	if (p[0] < 0x80) {
		*v = p[0];
		c->p += 1;
		return true;
	}
	if (p[1] < 0x80) {
		*v = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
		c->p += 2;
		return true;
	}
	return false;
}

static inline int tl__get_varint(struct tl__cur *c, uint64_t *v)
{
	return tl__varint_short(c, v) ? 0 : tl__get_varint_slow(c, v);
}

/* The same, refusing values above UINT32_MAX (fields the format allows 64
 * bits but the record model keeps in 32). */
int tl__get_varint32_slow(struct tl__cur *c, uint32_t *v);

static inline int tl__get_varint32(struct tl__cur *c, uint32_t *v)
{
	uint64_t u;

	if (!tl__varint_short(c, &u))
		return tl__get_varint32_slow(c, v);
	*v = (uint32_t)u; /* at most 14 bits */
	return 0;
}

static inline int tl__get_svarint(struct tl__cur *c, int64_t *v)
{
	uint64_t u;
	int err = tl__get_varint(c, &u);

	if (err == 0)
		*v = tl__unzigzag(u);
	return err;
}

/* tl__get_span - a varint length, then that many bytes, which must be
 * there and number at most max. *p points at them, in place.
 * @return 0, TL_TRACE_E_BAD_RECORD, or TL_TRACE_E_TOO_BIG (above max). */
int tl__get_span(struct tl__cur *c, uint32_t max, uint8_t **p, uint32_t *len);

/* FNV-1a, 32 bits, of n bytes: the chunk header's check. */
uint32_t tl__fnv1a32(const void *p, size_t n);

/* ---------------------------------------------------------------------------
 * The stream layout of a 2.x chunk payload (docs/trace-format.md, "Chunk
 * payload"): one record's bytes are spread over five streams, so that zstd
 * models each kind of value on its own, and an event's type, which of the
 * timers in flight it is about, and whether time moved, share one byte.
 */
enum tl__stream {
	TL__S_OPS,     /* one byte per record: an event's op, or the record type */
	TL__S_TIME,    /* dt fields */
	TL__S_ID,      /* id deltas of events whose op says "explicit" */
	TL__S_THREAD,  /* thread-switch records' bodies */
	TL__S_FIELDS,  /* every other field */
	TL__STREAMS,
};

#define TL__OP_EVENT   0x80 /* an event: type - 0x10 in bits 0-2 */
#define TL__OP_DT_ZERO 0x40 /* the event's dt is 0: no time field */
#define TL__OP_ID_SHIFT 3   /* bits 3-5: how the id is given (TL__ID_*) */
#define TL__RECENT 4        /* ids a thread used last, per thread */
#define TL__ID_NEXT 4       /* 4: the next runtime id, 5: the next kernel id */
#define TL__ID_DELTA 6      /* a delta from the previous event's id, in TL__S_ID */
#define TL__ID_SUCC 7       /* the id that fired after the last fire's id, last time */
#define TL__SUCC 4096       /* fired ids a chunk keeps the successor of */
#define TL__THREADS 16      /* threads a chunk keeps ids for */
#define TL__MAX_STREAMS 64  /* in a directory: more is damage */
#define TL__SITES 64        /* stacks a chunk keeps the last create's and reset's fields of */

/*
 * The fields the last create (or reset) at one stack gave, so that the
 * next one there, which nearly always gives the same, says so in a bit
 * (docs/trace-format.md, "Events"). A table entry is the site of stack
 * stack % TL__SITES; another stack there replaces it. For the arm table's
 * one entry, duration and period are the value and interval.
 */
struct tl__site {
	bool set;
	uint32_t stack;
	uint32_t kind;
	int64_t duration, period;
	uint64_t size, aux;
};

/*
 * What a 2.x chunk remembers beyond time and id, updated alike by the
 * writer and the reader: the threads met in the chunk, most recent first
 * (the current thread is entry 0), each with the ids its events named
 * last, most recent first; and the next new id of each id stream (the
 * highest met in the chunk + 2).
 */
struct tl__ctx {
	unsigned n;
	uint32_t tid[TL__THREADS];
	uint64_t recent[TL__THREADS][TL__RECENT];
	uint64_t next[2];
	struct tl__site create[TL__SITES], reset[TL__SITES], arm;
	/* Fires: the last fired id (0: none yet), and for each slot
	 * (id >> 1) % TL__SUCC, an id that fired and the id that fired
	 * next: tickers fire in the same order every period. A slot is
	 * valid in the chunk whose number (gen) it holds, so that starting
	 * a chunk need not clear 96 KiB. */
	uint64_t last_fire;
	uint32_t gen;
	struct {
		uint32_t gen;
		uint64_t id, next;
	} succ[TL__SUCC];
};

static inline void tl__ctx_reset(struct tl__ctx *x)
{
	x->n = 1;
	x->tid[0] = 0;
	for (int j = 0; j < TL__RECENT; j++)
		x->recent[0][j] = 0;
	x->next[0] = 2;
	x->next[1] = 1;
	memset(x->create, 0, sizeof(x->create));
	memset(x->reset, 0, sizeof(x->reset));
	x->arm.set = false;
	x->last_fire = 0;
	if (++x->gen == 0) { /* after 2^32 chunks: make every slot stale */
		memset(x->succ, 0, sizeof(x->succ));
		x->gen = 1;
	}
}

/* @return the id that fired after the last fired one when that one last
 * fired in the chunk, or 0 for none. */
static inline uint64_t tl__ctx_succ(const struct tl__ctx *x)
{
	unsigned k = (unsigned)(x->last_fire >> 1) % TL__SUCC;

	return x->last_fire && x->succ[k].gen == x->gen && x->succ[k].id == x->last_fire
		       ? x->succ[k].next
		       : 0;
}

/* What an explicit id delta is from: the previous event's id (prev), or
 * for a fire the last fired id: fires that miss the successor are mostly
 * of timers made around the one that fired last. */
static inline uint64_t tl__id_base(const struct tl__ctx *x, int type, uint64_t prev)
{
	return type == TL_REC_FIRE && x->last_fire ? x->last_fire : prev;
}

/* A fire of id: it is the successor of the last fired id. */
static inline void tl__ctx_fired(struct tl__ctx *x, uint64_t id)
{
	if (x->last_fire) {
		unsigned k = (unsigned)(x->last_fire >> 1) % TL__SUCC;

		x->succ[k].gen = x->gen;
		x->succ[k].id = x->last_fire;
		x->succ[k].next = id;
	}
	x->last_fire = id;
}

/* The slot a create's or reset's fields are kept in, by its stack; an
 * arm's: the last arm's. Writer and reader both pick it here. */
static inline struct tl__site *tl__ctx_site(struct tl__ctx *x, int type, uint32_t stack)
{
	if (type == TL_REC_ARM)
		return &x->arm;
	return type == TL_REC_CREATE ? &x->create[stack % TL__SITES] : &x->reset[stack % TL__SITES];
}

/* Whether e's fields of a create (all), reset (duration and period) or
 * arm (the same two) are what s holds. */
static inline bool tl__site_same(const struct tl__site *s, int type, const struct tl_event *e)
{
	if (!s->set || s->duration != e->duration || s->period != e->period)
		return false;
	if (type == TL_REC_ARM)
		return true;
	if (s->stack != e->stack)
		return false;
	return type != TL_REC_CREATE ||
	       (s->kind == e->kind && s->size == e->size && s->aux == e->aux);
}

static inline void tl__site_set(struct tl__site *s, const struct tl_event *e)
{
	*s = (struct tl__site){true, e->stack, e->kind, e->duration, e->period, e->size, e->aux};
}

/* @return the entry of thread tid, or -1. */
static inline int tl__ctx_find_thread(const struct tl__ctx *x, uint32_t tid)
{
	for (unsigned k = 0; k < x->n; k++)
		if (x->tid[k] == tid)
			return (int)k;
	return -1;
}

/* Make entry k (< n) the current thread: it moves to the front. */
static inline void tl__ctx_to_front(struct tl__ctx *x, unsigned k)
{
	uint32_t tid = x->tid[k];
	uint64_t ids[TL__RECENT];

	memcpy(ids, x->recent[k], sizeof(ids));
	memmove(&x->tid[1], &x->tid[0], k * sizeof(x->tid[0]));
	memmove(&x->recent[1], &x->recent[0], k * sizeof(x->recent[0]));
	x->tid[0] = tid;
	memcpy(x->recent[0], ids, sizeof(ids));
}

/* A thread new to the chunk becomes the current one; past TL__THREADS the
 * least recent is forgotten. */
static inline void tl__ctx_new_thread(struct tl__ctx *x, uint32_t tid)
{
	if (x->n < TL__THREADS)
		x->n++;
	memmove(&x->tid[1], &x->tid[0], (x->n - 1) * sizeof(x->tid[0]));
	memmove(&x->recent[1], &x->recent[0], (x->n - 1) * sizeof(x->recent[0]));
	x->tid[0] = tid;
	memset(x->recent[0], 0, sizeof(x->recent[0]));
}

/* The current thread's event named id: it becomes its most recent, and
 * the next new id of its stream moves past it. */
static inline void tl__ctx_use_id(struct tl__ctx *x, uint64_t id)
{
	uint64_t *r = x->recent[0];
	int j;

	for (j = 0; j < TL__RECENT - 1 && r[j] != id; j++)
		;
	for (; j > 0; j--)
		r[j] = r[j - 1];
	r[0] = id;
	if (id >= x->next[id & 1])
		x->next[id & 1] = id + 2;
}

/* ---------------------------------------------------------------------------
 * Chunk header (docs/trace-format.md, "Chunk header").
 */
struct tl__chunk_header {
	uint32_t compressed_size;
	uint32_t raw_size;
	uint32_t seq;
	int64_t base_time;
	uint32_t compression;
};

/* Encode h into 32 bytes, magic and check included. */
void tl__chunk_header_put(uint8_t *out, const struct tl__chunk_header *h);

/* tl__chunk_header_get - decode and check 32 bytes.
 * @return 0; TL_TRACE_E_BAD_CHUNK when the magic or check does not match,
 *         the compression is unknown, raw_size is above TL_TRACE_MAX_CHUNK,
 *         or compressed_size is 0 or above zstd's bound for raw_size. */
int tl__chunk_header_get(const uint8_t *in, struct tl__chunk_header *h);

/* ---------------------------------------------------------------------------
 * Growable byte buffer, for the writer's chunk and output.
 */
struct tl__buf {
	uint8_t *p;
	size_t len, cap;
};

/* tl__buf_reserve - make room for more bytes past len.
 * @return 0 or TL_TRACE_E_NOMEM (the buffer is unchanged). */
int tl__buf_reserve(struct tl__buf *b, size_t more);

void tl__buf_free(struct tl__buf *b);

#endif /* TL_TRACE_INTERNAL_H */
