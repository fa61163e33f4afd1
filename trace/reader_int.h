/*
 * reader_int.h - the record decoder, shared by reader.c (file, chunks,
 * resynchronization) and reader_records.c (records). Not installed.
 */
#ifndef TL_TRACE_READER_INT_H
#define TL_TRACE_READER_INT_H

#include "internal.h"

/*
 * The decoding state of one chunk payload, and the storage for the arrays of
 * the record last decoded. Strings need no storage: they are NUL-terminated
 * in place, in the payload (see get_str() in reader_records.c).
 */
struct tl__dec {
	struct tl__cur c;  /* 1.x: the rest of the payload */
	struct tl__cur s[TL__STREAMS]; /* 2.x: the rest of each stream */
	/* Where each kind of value is read from: all &c in a 1.x payload,
	 * each its stream in a 2.x one. */
	struct tl__cur *ops, *tc, *ic, *thc, *fc;
	bool streams;      /* the file is 2.x: chunks are streams */
	struct tl__ctx ctx; /* 2.x: the chunk's threads and recent ids */
	unsigned shift;    /* time_shift of the file */
	uint64_t time;     /* base_time + the dt fields so far, shifted */
	uint64_t id;       /* the last event's timer id */
	uint32_t tid;      /* set by thread-switch records */
	int err;           /* the first error met in the current record */
	uint64_t unknown;  /* extension records skipped, over the whole file */

	const char **argv; /* process record's argv, grown to the largest argc met */
	size_t argv_cap;
	uint64_t frames[TL_TRACE_MAX_FRAMES];
	struct tl_segment segs[TL_MAX_SEGMENTS];
};

/* Start decoding the n-byte payload p of a chunk with base_time base.
 * @return 0, or TL_TRACE_E_BAD_RECORD for a 2.x payload whose stream
 *         directory does not add up to its size. */
int tl__dec_start(struct tl__dec *d, uint8_t *p, size_t n, int64_t base);

/* @return whether records are left in the chunk. */
static inline bool tl__dec_more(const struct tl__dec *d)
{
	return tl__cur_left(d->ops) > 0;
}

/* At the end of a chunk's records: @return 0, or TL_TRACE_E_BAD_RECORD
 * when a 2.x stream has bytes that no record read. */
int tl__dec_finish(const struct tl__dec *d);

/*
 * tl__dec_record - decode the next record (the payload must not be empty).
 * @return 1 with *rec filled; 0 for a record that is consumed but not
 *         returned (thread-switch, extension); TL_TRACE_E_BAD_RECORD or
 *         _TOO_BIG for a record that does not parse (the rest of the chunk
 *         cannot be trusted); TL_TRACE_E_NOMEM.
 */
int tl__dec_record(struct tl__dec *d, struct tl_record *rec);

void tl__dec_free(struct tl__dec *d);

#endif /* TL_TRACE_READER_INT_H */
