/*
 * writer_io.c - the writer's side of the file: compressing a chunk, writing
 * it whole, and keeping the file well formed when the disk fills up.
 *
 * The file always ends at a whole chunk, with `reserve` bytes allocated past
 * that end (fallocate with FALLOC_FL_KEEP_SIZE: the space is the file's but
 * its size does not change, so a reader never sees it). When a chunk cannot
 * be written, the file is cut back to its last whole chunk, which frees what
 * the chunk took, and the reservation is made again; the final chunk (the
 * dropped counts and the end record) then goes into that space. The cost is
 * `reserve` bytes of disk per trace while it is written, given back at the
 * end.
 *
 * Where fallocate is unsupported (EOPNOTSUPP) or meaningless (a pipe), there
 * is no reservation: the final chunk is then written if the disk has room.
 */
#include "writer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* write() until all n bytes are out. @return 0 or the errno of the failure. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (k == 0)
			return EIO; /* write() returns 0 only for n == 0; never loop on it */
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int error_of(int e)
{
	return e == ENOSPC || e == EDQUOT ? TL_TRACE_E_DISK_FULL : TL_TRACE_E_IO;
}

/* Reserve past the end of the file. @return 0, or ENOSPC / EDQUOT when there
 * is no room; other failures mean fallocate cannot be had here and are
 * ignored (the reservation is then best effort, as the header says). */
static int reserve(struct tl_trace_writer *w)
{
	off_t end = (off_t)(w->start + (int64_t)w->st.file_bytes);

	if (!w->seekable || w->reserve == 0)
		return 0;
	while (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, end, w->reserve) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == ENOSPC || errno == EDQUOT)
			return errno;
		return 0;
	}
	return 0;
}

/* Cut the file back to its last whole chunk and reserve again (the cut
 * freed the reservation together with the partial chunk). errno is kept:
 * the caller reports the write's errno, not ours. */
static void cut_back(struct tl_trace_writer *w)
{
	off_t end = (off_t)(w->start + (int64_t)w->st.file_bytes);
	int saved = errno;

	if (w->seekable) {
		while (ftruncate(w->fd, end) != 0 && errno == EINTR)
			;
		lseek(w->fd, end, SEEK_SET);
		reserve(w);
	}
	errno = saved;
}

int tl__tw_reserve_again(struct tl_trace_writer *w)
{
	return reserve(w);
}

void tl__tw_release(struct tl_trace_writer *w)
{
	off_t end = (off_t)(w->start + (int64_t)w->st.file_bytes);
	int saved = errno;

	if (w->seekable && w->reserve)
		fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, end, w->reserve);
	errno = saved;
}

int tl__tw_write_header(struct tl_trace_writer *w)
{
	uint8_t h[TL_TRACE_FILE_HEADER] = {0};
	int e;

	for (size_t i = 0; i < sizeof(tl__file_magic); i++)
		h[i] = tl__file_magic[i];
	tl__put_le16(h + 8, TL_TRACE_MAJOR);
	tl__put_le16(h + 10, TL_TRACE_MINOR);
	h[12] = (uint8_t)w->shift;
	e = write_all(w->fd, h, sizeof(h));
	if (e == 0) {
		w->st.file_bytes = sizeof(h);
		e = reserve(w);
		if (e == 0)
			return 0;
		w->st.file_bytes = 0;
	}
	errno = e;
	cut_back(w);
	return error_of(e);
}

void tl__tw_chunk_reset(struct tl_trace_writer *w)
{
	for (int k = 0; k < TL__STREAMS; k++)
		w->s[k].len = 0;
	w->has_base = false;
	w->base_time = 0;
	w->cur_time = 0;
	w->cur_id = 0;
	tl__ctx_reset(&w->ctx);
	w->chunk_events = 0;
}

/* The directory in front of the streams: their count, then each one's
 * length. */
static size_t directory_len(const struct tl_trace_writer *w)
{
	size_t n = tl__varint_len(TL__STREAMS);

	for (int k = 0; k < TL__STREAMS; k++)
		n += tl__varint_len(w->s[k].len);
	return n;
}

size_t tl__tw_chunk_len(const struct tl_trace_writer *w)
{
	size_t n = 0;

	for (int k = 0; k < TL__STREAMS; k++)
		n += w->s[k].len;
	return n ? n + directory_len(w) : 0;
}

/* Put the payload together in w->chunk: the directory, then the streams. */
static int assemble(struct tl_trace_writer *w)
{
	uint8_t *p;

	w->chunk.len = 0;
	if (tl__buf_reserve(&w->chunk, tl__tw_chunk_len(w)) != 0)
		return TL_TRACE_E_NOMEM;
	p = w->chunk.p;
	p += tl__varint_put(p, TL__STREAMS);
	for (int k = 0; k < TL__STREAMS; k++)
		p += tl__varint_put(p, w->s[k].len);
	for (int k = 0; k < TL__STREAMS; k++) {
		if (w->s[k].len)
			memcpy(p, w->s[k].p, w->s[k].len);
		p += w->s[k].len;
	}
	w->chunk.len = (size_t)(p - w->chunk.p);
	return 0;
}

int tl__tw_cctx_setup(ZSTD_CCtx *c, int level)
{
	return ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
			       ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)) ||
			       ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1)) ||
			       ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_stableInBuffer, 1)) ||
			       ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_stableOutBuffer, 1))
		       ? -1
		       : 0;
}

#define BLOCK_MIN 1024 /* bytes: a block ends after a stream only past this */

/*
 * Compress w->chunk into one zstd frame at out, ending a block after the
 * directory and the ops and after each later stream: a block has its own
 * entropy tables, so each stream's literals and sequences are coded with
 * statistics of their own (on the mixed service that is 10% smaller than
 * one block for all), while matches still reach back across streams. The
 * buffers are stable (zstd reads and writes them in place, no copies).
 * A block costs its header and tables (tens of bytes): a block ends only
 * after BLOCK_MIN bytes, and the streams of a small chunk share one.
 * @return the frame's size, or 0 when zstd failed (a frame is never empty).
 */
static size_t compress_streams(struct tl_trace_writer *w, ZSTD_CCtx *c, uint8_t *out, size_t cap)
{
	ZSTD_outBuffer ob = {out, cap, 0};
	ZSTD_inBuffer ib = {w->chunk.p, 0, 0};
	size_t end = directory_len(w), r;

	ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
	if (ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(c, w->chunk.len)))
		return 0;
	for (int k = 0; k < TL__STREAMS; k++) {
		ZSTD_EndDirective how = k == TL__STREAMS - 1 ? ZSTD_e_end : ZSTD_e_flush;

		end += w->s[k].len;
		if (how == ZSTD_e_flush && end - ib.pos < BLOCK_MIN)
			continue;
		ib.size = end;
		do
			r = ZSTD_compressStream2(c, &ob, &ib, how);
		while (r != 0 && !ZSTD_isError(r) && ob.pos < ob.size);
		if (r != 0) /* an error, or no room left in out */
			return 0;
	}
	return ob.pos;
}

/* Fill w->out with the chunk header and the compressed chunk. A chunk too
 * big for the workspace made up front (prealloc_bytes) gets a context of
 * its own, if memory allows. */
static int compress(struct tl_trace_writer *w)
{
	struct tl__chunk_header h;
	size_t bound, n;

	if (assemble(w) != 0)
		return TL_TRACE_E_NOMEM;
	bound = ZSTD_compressBound(w->chunk.len);
	w->out.len = 0;
	if (tl__buf_reserve(&w->out, TL__CHUNK_HEADER + bound) != 0)
		return TL_TRACE_E_NOMEM;
	n = compress_streams(w, w->cctx, w->out.p + TL__CHUNK_HEADER, bound);
	if (n == 0 && w->cctx_mem) {
		if (!w->cctx_big && (w->cctx_big = ZSTD_createCCtx()) != NULL &&
		    tl__tw_cctx_setup(w->cctx_big, w->level) != 0) {
			ZSTD_freeCCtx(w->cctx_big);
			w->cctx_big = NULL;
		}
		if (!w->cctx_big)
			return TL_TRACE_E_NOMEM;
		n = compress_streams(w, w->cctx_big, w->out.p + TL__CHUNK_HEADER, bound);
	}
	if (n == 0)
		return TL_TRACE_E_COMPRESS;
	h = (struct tl__chunk_header){
		.compressed_size = (uint32_t)n,
		.raw_size = (uint32_t)w->chunk.len,
		.seq = w->seq,
		/* A chunk without timed records has no use for its base;
		 * the running time keeps the field meaningful anyway. */
		.base_time = w->has_base ? w->base_time : (int64_t)w->cur_time,
		.compression = TL__COMPRESSION_ZSTD,
	};
	tl__chunk_header_put(w->out.p, &h);
	w->out.len = TL__CHUNK_HEADER + n;
	return 0;
}

/* The chunk could not be written: it is lost, and so is every later one
 * but the final. */
static int fail(struct tl_trace_writer *w, int err)
{
	w->st.lost_events += w->chunk_events;
	if (w->state == TL__W_OPEN) {
		w->state = TL__W_FAILED;
		w->failed = err;
		w->st.failed = err;
	}
	tl__tw_chunk_reset(w);
	return err;
}

int tl__tw_write_chunk(struct tl_trace_writer *w, bool final)
{
	int err, e;

	if (tl__tw_chunk_len(w) == 0)
		return 0;
	err = compress(w);
	if (err)
		return err;
	e = write_all(w->fd, w->out.p, w->out.len);
	if (e == 0) {
		w->st.file_bytes += w->out.len;
		/* A chunk after which the final chunk would have no room is
		 * taken back: the file must stay able to end well. */
		e = final ? 0 : reserve(w);
		if (e != 0)
			w->st.file_bytes -= w->out.len;
	}
	if (e != 0) {
		errno = e;
		cut_back(w);
		return fail(w, error_of(e));
	}
	w->st.chunks++;
	w->st.raw_bytes += w->chunk.len;
	w->seq++;
	w->ndrops = 0;
	tl__tw_chunk_reset(w);
	return 0;
}
