/*
 * trace_test_util.h - helpers for the trace library's tests: traces in
 * memory, hand-built files and chunks, writing a record given as the
 * struct tl_record the reader should return, and comparing records.
 */
#ifndef TL_TRACE_TEST_UTIL_H
#define TL_TRACE_TEST_UTIL_H

#include "internal.h"
#include "tl_test.h"
#include "tl_trace.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

/* ---------------------------------------------------------------------------
 * Byte buffers and files in memory
 */

struct tt_buf {
	uint8_t *p;
	size_t len, cap;
};

static inline void tt_put(struct tt_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void tt_put_varint(struct tt_buf *b, uint64_t v)
{
	uint8_t tmp[TL__VARINT_MAX];

	tt_put(b, tmp, tl__varint_put(tmp, v));
}

static inline void tt_free(struct tt_buf *b)
{
	free(b->p);
	*b = (struct tt_buf){0};
}

/* The whole content of fd, from offset 0. */
static inline struct tt_buf tt_slurp(int fd)
{
	struct tt_buf b = {0};
	struct stat st;

	if (fstat(fd, &st) != 0)
		abort();
	tt_put(&b, NULL, 0);
	b.p = realloc(b.p, (size_t)st.st_size + 1);
	if (!b.p || pread(fd, b.p, (size_t)st.st_size, 0) != st.st_size)
		abort();
	b.len = (size_t)st.st_size;
	b.cap = b.len + 1;
	return b;
}

/* The records of the trace written to fd, up to max, in order; their
 * scalar fields only (the reader that owned their strings is closed).
 * @return how many, or -1 when the trace does not open. */
static inline int tt_records_of(int fd, struct tl_record *out, int max)
{
	struct tt_buf b = tt_slurp(fd);
	struct tl_trace_reader *r;
	int err, n = 0;

	r = tl_trace_reader_open_mem(b.p, b.len, &err);
	if (!r) {
		tt_free(&b);
		return -1;
	}
	while (n < max && tl_trace_reader_next(r, &out[n]) == 1)
		n++;
	tl_trace_reader_close(r);
	tt_free(&b);
	return n;
}

static inline int tt_memfd(void)
{
	int fd = memfd_create("trace-test", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	return fd;
}

static inline void tt_file_header(struct tt_buf *b, unsigned major, unsigned minor,
				  unsigned shift)
{
	uint8_t h[TL_TRACE_FILE_HEADER] = {0};

	memcpy(h, tl__file_magic, 8);
	tl__put_le16(h + 8, (uint16_t)major);
	tl__put_le16(h + 10, (uint16_t)minor);
	h[12] = (uint8_t)shift;
	tt_put(b, h, sizeof(h));
}

/* A chunk with the given payload, compressed as a writer would. */
static inline void tt_chunk(struct tt_buf *b, const void *payload, size_t n, uint32_t seq,
			    int64_t base)
{
	size_t bound = ZSTD_compressBound(n);
	uint8_t *out = malloc(TL__CHUNK_HEADER + bound);
	ZSTD_CCtx *c = ZSTD_createCCtx();
	struct tl__chunk_header h = {.raw_size = (uint32_t)n, .seq = seq, .base_time = base,
				     .compression = TL__COMPRESSION_ZSTD};
	size_t k;

	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	k = ZSTD_compress2(c, out + TL__CHUNK_HEADER, bound, payload, n);
	if (!out || ZSTD_isError(k))
		abort();
	h.compressed_size = (uint32_t)k;
	tl__chunk_header_put(out, &h);
	tt_put(b, out, TL__CHUNK_HEADER + k);
	ZSTD_freeCCtx(c);
	free(out);
}

/* Read a whole trace from memory. @return the records read, or -1 when the
 * open failed (*open_err set) or next() failed. types (if not NULL) gets
 * the first max record types. */
static inline long tt_read_all(const void *p, size_t n, struct tl_trace_reader_stats *st,
			       int *types, size_t max, int *open_err)
{
	struct tl_trace_reader *r = tl_trace_reader_open_mem(p, n, open_err);
	struct tl_record rec;
	long count = 0;
	int k;

	if (!r)
		return -1;
	while ((k = tl_trace_reader_next(r, &rec)) == 1) {
		if (types && (size_t)count < max)
			types[count] = rec.type;
		count++;
	}
	if (st)
		tl_trace_reader_stats(r, st);
	tl_trace_reader_close(r);
	return k < 0 ? -1 : count;
}

/* ---------------------------------------------------------------------------
 * Records as the reader returns them
 */

/* Write r (given as the reader should return it) with the matching call. */
static inline int tt_write_rec(struct tl_trace_writer *w, const struct tl_record *r)
{
	switch (r->type) {
	case TL_REC_PROCESS:
		return tl_trace_writer_process(w, &r->process);
	case TL_REC_THREAD:
		return tl_trace_writer_thread(w, r->thread.tid, r->thread.name);
	case TL_REC_MODULE:
		return tl_trace_writer_module(w, r->time, &r->module);
	case TL_REC_MODULE_UNLOAD:
		return tl_trace_writer_module_unload(w, r->time, r->module_unload.id);
	case TL_REC_STACK:
		return tl_trace_writer_stack(w, r->stack.id, r->stack.frames, r->stack.n);
	case TL_REC_RUNTIME:
		return tl_trace_writer_runtime(w, r->time, r->runtime.mode, r->runtime.name,
					       r->runtime.version);
	case TL_REC_DROPPED:
		return tl_trace_writer_dropped(w, r->time, r->dropped.tid, r->dropped.count,
					       r->dropped.reason);
	case TL_REC_SNAPSHOT:
		return tl_trace_writer_snapshot(w, r->time, r->snapshot.seq);
	case TL_REC_END:
		return tl_trace_writer_end(w, r->time, r->end.events, r->end.dropped);
	default:
		return tl_trace_writer_event(w, r->type, r->time, r->tid, &r->ev);
	}
}

static inline bool tt_time_ok(int64_t got, int64_t want, unsigned shift)
{
	int64_t d = (int64_t)((uint64_t)got - (uint64_t)want);
	int64_t half;

	if (shift == 0)
		return d == 0;
	half = (int64_t)1 << (shift - 1);
	return d > -half && d <= half; /* the writer rounds halves up */
}

static inline bool tt_str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Compare what the reader returned with what was written. @return true if
 * equal (times within the rounding of shift). */
static inline bool tt_rec_eq(const struct tl_record *got, const struct tl_record *want,
			     unsigned shift)
{
	bool untimed = want->type == TL_REC_THREAD || want->type == TL_REC_STACK;

	if (got->type != want->type)
		return false;
	if (want->type == TL_REC_PROCESS) {
		if (got->time != (int64_t)want->process.mono_ns)
			return false;
	} else if (untimed ? got->time != 0 : !tt_time_ok(got->time, want->time, shift)) {
		return false;
	}
	switch (want->type) {
	case TL_REC_PROCESS: {
		const struct tl_process *a = &got->process, *b = &want->process;

		if (a->pid != b->pid || a->ppid != b->ppid || a->wall_ns != b->wall_ns ||
		    a->mono_ns != b->mono_ns || !tt_str_eq(a->exe, b->exe) || a->argc != b->argc ||
		    !tt_str_eq(a->hostname, b->hostname) || !tt_str_eq(a->unwinder, b->unwinder) ||
		    a->depth != b->depth || a->flags != b->flags)
			return false;
		for (uint32_t i = 0; i < a->argc; i++)
			if (!tt_str_eq(a->argv[i], b->argv[i]))
				return false;
		return true;
	}
	case TL_REC_THREAD:
		return got->thread.tid == want->thread.tid && got->tid == want->thread.tid &&
		       tt_str_eq(got->thread.name, want->thread.name);
	case TL_REC_MODULE: {
		const struct tl_module *a = &got->module, *b = &want->module;

		if (a->id != b->id || a->bias != b->bias || a->build_id_len != b->build_id_len ||
		    (a->build_id_len && memcmp(a->build_id, b->build_id, a->build_id_len)) ||
		    !tt_str_eq(a->path, b->path) || a->nseg != b->nseg)
			return false;
		for (uint32_t i = 0; i < a->nseg; i++)
			if (a->segs[i].vaddr != b->segs[i].vaddr ||
			    a->segs[i].memsz != b->segs[i].memsz ||
			    a->segs[i].offset != b->segs[i].offset ||
			    a->segs[i].flags != b->segs[i].flags)
				return false;
		return true;
	}
	case TL_REC_MODULE_UNLOAD:
		return got->module_unload.id == want->module_unload.id;
	case TL_REC_STACK:
		return got->stack.id == want->stack.id && got->stack.n == want->stack.n &&
		       (!got->stack.n || !memcmp(got->stack.frames, want->stack.frames,
						 got->stack.n * sizeof(uint64_t)));
	case TL_REC_RUNTIME:
		return got->runtime.mode == want->runtime.mode &&
		       tt_str_eq(got->runtime.name, want->runtime.name) &&
		       tt_str_eq(got->runtime.version, want->runtime.version);
	case TL_REC_DROPPED:
		return got->dropped.tid == want->dropped.tid &&
		       got->dropped.count == want->dropped.count &&
		       got->dropped.reason == want->dropped.reason;
	case TL_REC_SNAPSHOT:
		return got->snapshot.seq == want->snapshot.seq;
	case TL_REC_END:
		return got->end.events == want->end.events && got->end.dropped == want->end.dropped;
	default: {
		const struct tl_event *a = &got->ev, *b = &want->ev;

		return got->tid == want->tid && a->id == b->id && a->kind == b->kind &&
		       a->stack == b->stack && a->duration == b->duration &&
		       a->period == b->period && a->size == b->size && a->aux == b->aux &&
		       a->flags == b->flags;
	}
	}
}

#endif /* TL_TRACE_TEST_UTIL_H */
