/*
 * pipe.h - the trace reader on a thread of its own.
 *
 * Decoding a record and analysing it cost about the same, so the report
 * reads the trace on a second thread and hands the records over in
 * batches: on two CPUs both halves run at once. Records come out in the
 * reader's order, unchanged.
 *
 * Event records are self-contained and are copied into the batches. Any
 * other record (process, module, stack...) points into the reader's
 * buffers, so it ends its batch and the reader thread waits until the
 * consumer has moved past it before it decodes anything more: those are a
 * few thousand in a trace of millions of events.
 */
#ifndef TL_PIPE_H
#define TL_PIPE_H

#include "tl_trace.h"

#include <stdint.h>

struct tl__pipe;

/* Start reading r on a thread. r belongs to the pipe until tl__pipe_stop().
 * @return the pipe, or NULL (errno set) when no thread could be started:
 * the caller then reads r itself. */
struct tl__pipe *tl__pipe_start(struct tl_trace_reader *r);

/* The next record, valid until the next call: as tl_trace_reader_next(),
 * 1 with a record, 0 at the end, or the reader's negative error. */
int tl__pipe_next(struct tl__pipe *p, const struct tl_record **rec);

/* The record k places after the one tl__pipe_next() gave last, if it is
 * in the same batch (to prefetch for it); else NULL. */
const struct tl_record *tl__pipe_peek(const struct tl__pipe *p, uint32_t k);

/* Bytes of the file read so far (for a progress bar; any thread). */
uint64_t tl__pipe_file_bytes(const struct tl__pipe *p);

/* Stop reading (early or at the end), join the thread and free the pipe.
 * NULL is allowed. */
void tl__pipe_stop(struct tl__pipe *p);

#endif /* TL_PIPE_H */
