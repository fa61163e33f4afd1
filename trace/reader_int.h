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
	struct tl__cur c;  /* the rest of the payload */
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

/* Start decoding the n-byte payload p of a chunk with base_time base. */
void tl__dec_start(struct tl__dec *d, uint8_t *p, size_t n, int64_t base);

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
