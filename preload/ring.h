/*
 * ring.h - per-thread event rings: written by one thread (and by signal
 * handlers interrupting it), read by the writer thread.
 *
 * Each ring is a power-of-two byte buffer of variable-size records, 8-byte
 * aligned. A producer reserves space by compare-and-swap on head — the
 * only other producer of a ring is a signal handler interrupting its own
 * thread, so the CAS rarely retries — writes the record, and publishes it
 * by setting its ready flag (release). The consumer walks from tail while
 * records are ready, and zeroes what it consumed before it gives the space
 * back by advancing tail, so a ready flag in the ring is always fresh.
 *
 * Neither side reads the other's index on its fast path, so the two cache
 * lines do not bounce between CPUs with every event: the consumer trusts
 * the ready flags alone (space not yet written reads as zero), and a
 * producer checks for room against tail_seen, its own older copy of tail,
 * reading tail itself only when that copy says the ring may be full.
 *
 * A record that would cross the end of the buffer is preceded by a pad
 * record that fills the end.
 */
#ifndef TL_RING_H
#define TL_RING_H

#include "tl_trace.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Internal record types, beside the trace's event types (TL_REC_*). */
enum {
	TL__R_PAD = 0xf0,      /* filler up to the end of the buffer */
	TL__R_SNAPSHOT = 0xf1, /* the snapshot signal arrived: ev.id = seq */
	TL__R_MODULES = 0xf2,  /* dlopen/dlclose: rescan the loaded objects */
	TL__R_RUNTIME = 0xf3,  /* libgotimer seen: ev.flags = mode */
};

struct tl__rrec {
	uint32_t size;          /* total bytes, a multiple of 8 */
	uint8_t type;           /* TL_REC_* event or TL__R_* */
	_Atomic uint8_t ready;  /* set last by the producer, zeroed by the consumer */
	uint16_t nframes;       /* frames[] entries */
	int64_t time;           /* CLOCK_MONOTONIC ns */
	struct tl_event ev;
	uint64_t frames[];
};

enum tl__ring_state {
	TL__RING_FREE = 0,     /* no owner; may be taken by a new thread */
	TL__RING_OWNED = 1,    /* a live thread writes it */
	TL__RING_ORPHANED = 2, /* its thread exited; freed once drained */
};

struct tl__ring {
	_Atomic uint64_t head;     /* bytes reserved ever; producers CAS it */
	_Atomic uint64_t tail_seen; /* producers' last look at tail (never ahead of it) */
	char pad0_[48];
	_Atomic uint64_t tail;     /* bytes consumed ever; written by the writer */
	char pad1_[56];
	_Atomic int state;         /* enum tl__ring_state */
	_Atomic uint32_t tid;      /* owner's thread id; set when taken */
	_Atomic uint64_t dropped;  /* events lost to a full ring; the writer takes them */
	_Atomic uint64_t gen;      /* +1 each time a thread takes the ring */
	char name[17];             /* the owner's name (PR_GET_NAME), set when taken */
	uint64_t size;             /* data bytes, a power of two */
	char *data;
};

/* Make r an empty ring over data[size] (size a power of two). */
void tl__ring_init(struct tl__ring *r, char *data, uint64_t size);

/*
 * tl__ring_reserve - space for a record of len bytes (a multiple of 8).
 *
 * Async-signal-safe and lock-free. @return the record, with size and type
 * set and ready clear, or NULL if the ring is full. The caller fills it
 * and calls tl__ring_commit().
 */
struct tl__rrec *tl__ring_reserve(struct tl__ring *r, uint32_t len, uint8_t type);

static inline void tl__ring_commit(struct tl__rrec *rec)
{
	atomic_store_explicit(&rec->ready, 1, memory_order_release);
}

/* Bytes in use (reserved and not yet consumed). */
static inline uint64_t tl__ring_used(struct tl__ring *r)
{
	return atomic_load_explicit(&r->head, memory_order_relaxed) -
	       atomic_load_explicit(&r->tail, memory_order_relaxed);
}

/*
 * Consumer side (the writer thread only). tl__ring_peek returns the record
 * at cursor if it is published, else NULL; the caller moves the cursor past
 * it by rec->size (pads included); tl__ring_release zeroes
 * the records between tail and cursor and frees their space.
 */
struct tl__rrec *tl__ring_peek(struct tl__ring *r, uint64_t cursor);
void tl__ring_release(struct tl__ring *r, uint64_t cursor);

/*
 * Copies into, out of and over ring memory. Plain loops, never libc's
 * memcpy or memset: in a service built with ThreadSanitizer those calls
 * reach its interceptors, which see the accesses but not the atomics that
 * order them (this library is not instrumented), and report races that
 * are not there. The library is built with -fno-tree-loop-distribute-
 * patterns, so the compiler keeps these loops loops.
 */
static inline void tl__ring_copy(void *dst, const void *src, size_t n)
{
	char *d = dst;
	const char *s = src;

	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}

static inline void tl__ring_copy64(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i];
}

/* n a multiple of 8, dst 8-byte aligned, as every record is. */
static inline void tl__ring_zero(void *dst, size_t n)
{
	uint64_t *d = dst;

	for (size_t i = 0; i < n / 8; i++)
		d[i] = 0;
}

#endif /* TL_RING_H */
