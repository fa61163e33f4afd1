/*
 * writer_int.h - the writer's state, shared by writer.c (records) and
 * writer_io.c (chunks, the file, the full disk). Not installed. Its
 * functions are tl__tw_ ("trace writer"), as the recorder's, in preload/,
 * are tl__recorder_.
 */
#ifndef TL_TRACE_WRITER_INT_H
#define TL_TRACE_WRITER_INT_H

#include "internal.h"

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_initStaticCCtx, for prealloc_bytes */
#include <zstd.h>

/*
 * Writer states and what each operation does in them:
 *
 *           record          flush: ok / write fails      end
 *   OPEN    buffered        OPEN / FAILED                end record, flush; if that write
 *                                                        fails, final chunk; -> ENDED
 *   FAILED  discarded, an   FAILED, same error           final chunk into the reserved
 *           event counted                                space -> ENDED
 *           lost (dropped
 *           records kept)
 *   ENDED   E_INVAL         E_INVAL                      E_INVAL
 *
 * OPEN: the normal state; the file ends at its last whole chunk, with
 * reserve bytes allocated past it.
 * FAILED: a chunk could not be written; the file was cut back to its last
 * whole chunk and only the final chunk will still be written.
 * ENDED: the end record is written, or could not be; the writer only
 * answers stats.
 */
enum tl__wstate {
	TL__W_OPEN,
	TL__W_FAILED,
	TL__W_ENDED,
};

/* A dropped record that is not (yet) in the file: kept for the final chunk
 * in case its chunk is lost, so that no loss goes unreported. */
struct tl__drop {
	int64_t time;
	uint32_t tid;
	int reason;
	uint64_t count;
};

/* Enough for one entry per thread of a handful of threads; past it the
 * entries are merged per reason (tid 0), which at most TL_DROP_MAX reasons
 * keeps small. The bound keeps the final chunk far below the reservation. */
#define TL__MAX_DROPS 8

/* Everything is owned by the one thread that uses the writer. */
struct tl_trace_writer {
	int fd;
	enum tl__wstate state;
	int failed;            /* the error that moved the writer to FAILED */
	unsigned shift;        /* time_shift */
	uint32_t reserve;      /* bytes kept allocated past the end of the file */
	bool seekable;         /* fd is a file: it can be cut back and reserved in */
	int64_t start;         /* file offset of the file header */
	ZSTD_CCtx *cctx;       /* reused for every chunk: creating one costs ~1 MiB */
	void *cctx_mem;        /* with prealloc_bytes, cctx lives here (static) */
	ZSTD_CCtx *cctx_big;   /* then, made on demand for a chunk above prealloc_bytes */
	int level;

	/* The current chunk, one buffer per stream, and the decoding state a
	 * reader will have at its end (docs/trace-format.md, "Chunk payload").
	 * The current thread is ctx.tid[0]. */
	struct tl__buf s[TL__STREAMS];
	struct tl__buf chunk;  /* the payload, streams put together to compress */
	bool has_base;         /* a timed record set base_time */
	int64_t base_time;
	uint64_t cur_time;     /* base_time + the dt written so far, shifted */
	uint64_t cur_id;
	struct tl__ctx ctx;
	uint64_t chunk_events;
	int enc_err;           /* the first error while encoding the current record */
	bool enc_full;         /* an event found no room left in the chunk: flush first */

	struct tl__buf out;    /* chunk header and compressed payload */
	uint32_t seq;          /* of the next chunk */

	struct tl__drop drops[TL__MAX_DROPS]; /* dropped records not yet in the file */
	unsigned ndrops;
	int end_signal;        /* written with the end record, 0 for none */

	struct tl_trace_writer_stats st;
};

/* Forget the current chunk and start the next one's decoding state. */
void tl__tw_chunk_reset(struct tl_trace_writer *w);

/* @return the payload bytes of the current chunk so far: its streams and
 * the directory in front of them. */
size_t tl__tw_chunk_len(const struct tl_trace_writer *w);

/* At least tl__tw_chunk_len(), cheaper: the streams and the largest
 * directory. For the checks against TL_TRACE_MAX_CHUNK on every record. */
static inline size_t tl__tw_chunk_bound(const struct tl_trace_writer *w)
{
	size_t n = 1 + TL__STREAMS * TL__VARINT_MAX;

	for (int k = 0; k < TL__STREAMS; k++)
		n += w->s[k].len;
	return n;
}

/*
 * tl__tw_write_chunk - compress and write the current chunk, then (unless
 * final) reserve w->reserve bytes past it. On success the chunk is counted
 * and reset, and the pending drops are known to be in the file.
 * @return 0; TL_TRACE_E_NOMEM or _COMPRESS (the chunk stays); _DISK_FULL or
 *         _IO: the file is cut back, the chunk's events are lost and the
 *         writer is FAILED.
 */
int tl__tw_write_chunk(struct tl_trace_writer *w, bool final);

/* Set a compression context up as every chunk wants it. @return 0 or -1. */
int tl__tw_cctx_setup(ZSTD_CCtx *c, int level);

/* tl__tw_write_header - write the file header and reserve past it.
 * @return 0, TL_TRACE_E_IO or _DISK_FULL (the file is cut back to start). */
int tl__tw_write_header(struct tl_trace_writer *w);

/* Give back the space reserved past the end of the file (after the end). */
/* Reserve the space past the end again (after tl_trace_writer_resume).
 * @return 0 or an error. */
int tl__tw_reserve_again(struct tl_trace_writer *w);
void tl__tw_release(struct tl_trace_writer *w);

#endif /* TL_TRACE_WRITER_INT_H */
