/*
 * reader.c - the streaming reader: the input (a descriptor or a memory
 * buffer), chunk framing, decompression, and resynchronization after
 * damage. reader_records.c decodes the records of a chunk.
 *
 * Memory: the input buffer holds at most one chunk (header and compressed
 * payload) plus what one read() brought past it, and the raw buffer one
 * decompressed payload; both keep the size of the largest chunk met, at
 * most about 16 MiB each. A memory buffer is read in place.
 *
 * What goes wrong, and what the reader does:
 *  - a chunk header that fails its check: the chunk is counted bad and the
 *    reader scans forward, byte by byte, for the next "TLCK" whose header
 *    checks (resync());
 *  - a payload that is not one zstd frame with a checksum, of raw_size
 *    bytes: the header checked, so its size is trusted and the reader skips
 *    the chunk whole;
 *  - a record that does not parse: the records before it were returned; the
 *    rest of the chunk is skipped and the chunk counted bad;
 *  - a header or payload that extends past the end of the file: the
 *    truncated tail; the stream ends. Unless the reader follows a trace
 *    still being written (tl_trace_reader_follow()): then it is the chunk
 *    being written, and the reader waits at its start for the rest.
 */
#include "reader_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

/* Reads ask for at least this much, so that small chunks cost one read()
 * for many, not two each. */
#define READ_MIN (256u << 10)

struct tl_trace_reader {
	int fd;              /* -1 for a memory buffer */
	bool own_fd;         /* opened by tl_trace_reader_open(): closed on close */

	/* Input: data[pos, len) is read but not consumed; data[0] is at file
	 * offset base. For a descriptor, data is buf; for memory, the caller's. */
	const uint8_t *data;
	uint8_t *buf;
	size_t cap, len, pos;
	uint64_t base;
	bool eof;            /* no more bytes than data[0, len) */

	ZSTD_DCtx *dctx;
	uint8_t *raw;        /* the current chunk's payload, decompressed */
	size_t raw_cap;
	bool in_chunk;       /* records are being returned from raw */
	uint64_t chunk_off;  /* file offset of the current chunk */
	size_t chunk_total;  /* its bytes in the file, header included */
	uint32_t next_seq;   /* seq of the chunk that would continue the trace */
	bool done;           /* the end of the file was met */
	bool follow;         /* the file grows: at its end, wait for more */
	int fatal;           /* the error that stopped reading, returned again */
	struct tl__dec dec;

	struct tl_trace_reader_stats st;
};

/* ---------------------------------------------------------------------------
 * Input
 */

static size_t avail(const struct tl_trace_reader *r)
{
	return r->len - r->pos;
}

static uint64_t offset(const struct tl_trace_reader *r)
{
	return r->base + r->pos;
}

static void skip(struct tl_trace_reader *r, size_t n)
{
	r->pos += n;
	r->st.skipped_bytes += n;
}

static int grow(uint8_t **p, size_t *cap, size_t n)
{
	uint8_t *q;

	if (n <= *cap)
		return 0;
	q = realloc(*p, n);
	if (!q)
		return TL_TRACE_E_NOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/*
 * fill - make n bytes available at pos, if the file has them: the unread
 * bytes move to the front of the buffer, then read() appends until there are
 * n (or the file ends, which the caller sees in avail()).
 * @return 0, TL_TRACE_E_IO (errno set) or _NOMEM.
 */
static int fill(struct tl_trace_reader *r, size_t n)
{
	if (avail(r) >= n || r->eof)
		return 0;
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, avail(r));
		r->base += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	if (grow(&r->buf, &r->cap, n > READ_MIN ? n : READ_MIN) != 0)
		return TL_TRACE_E_NOMEM;
	r->data = r->buf;
	while (r->len < n) {
		ssize_t k = read(r->fd, r->buf + r->len, r->cap - r->len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return TL_TRACE_E_IO;
		}
		if (k == 0) {
			r->eof = true;
			break;
		}
		r->len += (size_t)k;
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * Chunks
 */

static void chunk_error(struct tl_trace_reader *r, int err, uint64_t off)
{
	r->st.bad_chunks++;
	if (!r->st.first_error) {
		r->st.first_error = err;
		r->st.first_error_offset = off;
	}
}

/* Following a trace being written: the chunk at pos is not all there
 * yet. Nothing is consumed; the next call reads on from here. */
#define AGAIN 2

/* The file ends inside a chunk: what is left is the truncated tail (or,
 * following, the chunk still being written). */
static int tail(struct tl_trace_reader *r)
{
	if (r->follow)
		return AGAIN;
	r->st.truncated = true;
	skip(r, avail(r));
	return 0;
}

/*
 * resync - scan forward from the byte after pos for a chunk header that
 * checks. A false "TLCK" inside compressed data passes the 32-bit check
 * with odds of 2^-32; if one did, its chunk would fail to decompress and be
 * skipped in turn.
 * @return 1 with pos on the header; 0 at the end of the file, every byte
 *         skipped; or a fatal error.
 */
static int resync(struct tl_trace_reader *r)
{
	struct tl__chunk_header h;

	skip(r, 1);
	for (;;) {
		const uint8_t *q;
		int err = fill(r, TL__CHUNK_HEADER);

		if (err)
			return err;
		if (avail(r) < TL__CHUNK_HEADER)
			return tail(r);
		q = memmem(r->data + r->pos, avail(r), tl__chunk_magic, sizeof(tl__chunk_magic));
		if (!q) {
			/* Keep 3 bytes: a magic may straddle the end of what
			 * was read. */
			skip(r, avail(r) - (sizeof(tl__chunk_magic) - 1));
			continue;
		}
		skip(r, (size_t)(q - (r->data + r->pos)));
		if (avail(r) < TL__CHUNK_HEADER)
			continue; /* fill() reads the rest of it, or finds the end */
		if (tl__chunk_header_get(r->data + r->pos, &h) == 0)
			return 1;
		skip(r, 1);
	}
}

/* Decompress a payload into raw, refusing anything but one zstd frame with
 * a content checksum and exactly raw_size bytes of content. */
static int decompress(struct tl_trace_reader *r, const uint8_t *src,
		      const struct tl__chunk_header *h)
{
	size_t csize = h->compressed_size, n;

	/* The frame header's descriptor byte holds the checksum flag (bit 2);
	 * a frame without it would go unchecked. */
	if (csize < 5 || tl__get_le32(src) != ZSTD_MAGICNUMBER || !(src[4] & 0x04))
		return TL_TRACE_E_BAD_PAYLOAD;
	if (ZSTD_getFrameContentSize(src, csize) != h->raw_size ||
	    ZSTD_findFrameCompressedSize(src, csize) != csize)
		return TL_TRACE_E_BAD_PAYLOAD;
	if (grow(&r->raw, &r->raw_cap, h->raw_size ? h->raw_size : 1) != 0)
		return TL_TRACE_E_NOMEM;
	n = ZSTD_decompressDCtx(r->dctx, r->raw, h->raw_size, src, csize);
	if (ZSTD_isError(n) || n != h->raw_size)
		return TL_TRACE_E_BAD_PAYLOAD;
	return 0;
}

/*
 * After the end record, only a chunk that continues the sequence belongs to
 * the trace (a process whose exec failed resumes its trace after its end).
 * Anything else — the header of another trace appended to this one, or
 * bytes that are not a chunk — is not read, and not taken for damage.
 * @return true when reading stops here.
 */
static bool after_end(struct tl_trace_reader *r)
{
	struct tl__chunk_header h;

	if (!r->st.clean_end)
		return false;
	if (avail(r) >= TL__CHUNK_HEADER && tl__chunk_header_get(r->data + r->pos, &h) == 0 &&
	    h.seq == r->next_seq)
		return false;
	r->st.trailing_offset = offset(r);
	for (;;) {
		r->st.trailing_bytes += avail(r);
		r->pos = r->len;
		if (r->eof || fill(r, READ_MIN) != 0 || avail(r) == 0)
			return true;
	}
}

/*
 * load_chunk - find, check and decompress the next chunk.
 * @return 1 when a chunk is ready to decode; 0 at the end of the file;
 *         AGAIN (following) when the next chunk is not all written yet; or
 *         a fatal error.
 */
static int load_chunk(struct tl_trace_reader *r)
{
	struct tl__chunk_header h;
	size_t total;
	int err;

	for (;;) {
		if ((err = fill(r, TL__CHUNK_HEADER)) != 0)
			return err;
		if (avail(r) == 0)
			return r->follow && !r->st.clean_end ? AGAIN : 0;
		if (after_end(r))
			return 0;
		if (avail(r) < TL__CHUNK_HEADER)
			return tail(r);
		err = tl__chunk_header_get(r->data + r->pos, &h);
		if (err) {
			chunk_error(r, err, offset(r));
			if ((err = resync(r)) <= 0)
				return err;
			continue;
		}
		total = TL__CHUNK_HEADER + (size_t)h.compressed_size;
		if ((err = fill(r, total)) != 0)
			return err;
		if (avail(r) < total)
			return tail(r);
		r->chunk_off = offset(r);
		r->chunk_total = total;
		r->next_seq = h.seq + 1;
		err = decompress(r, r->data + r->pos + TL__CHUNK_HEADER, &h);
		if (err == TL_TRACE_E_NOMEM)
			return err;
		if (err) {
			chunk_error(r, err, r->chunk_off);
			skip(r, total);
			continue;
		}
		r->pos += total;
		err = tl__dec_start(&r->dec, r->raw, h.raw_size, h.base_time);
		if (err) {
			chunk_error(r, err, r->chunk_off);
			r->st.skipped_bytes += total;
			continue;
		}
		r->in_chunk = true;
		return 1;
	}
}

/* ---------------------------------------------------------------------------
 * Records
 */

/* @return 1 with a record; 0 when the chunk is over (whole, or bad from
 * here on); or a fatal error. */
static int next_in_chunk(struct tl_trace_reader *r, struct tl_record *rec)
{
	while (tl__dec_more(&r->dec)) {
		int n = tl__dec_record(&r->dec, rec);

		if (n == 1) {
			r->st.records++;
			if (rec->type == TL_REC_END)
				r->st.clean_end = true;
			return 1;
		}
		if (n == 0)
			continue;
		r->in_chunk = false;
		if (n == TL_TRACE_E_NOMEM)
			return n;
		/* The records before the bad one were read; the chunk is
		 * counted damaged, with all its bytes. */
		chunk_error(r, n, r->chunk_off);
		r->st.skipped_bytes += r->chunk_total;
		return 0;
	}
	r->in_chunk = false;
	if (tl__dec_finish(&r->dec) != 0) {
		/* Every record read, yet bytes left in a stream: the chunk was
		 * not written as it says. Its records were returned; it is
		 * counted damaged, with all its bytes, as a chunk that breaks
		 * off. */
		chunk_error(r, TL_TRACE_E_BAD_RECORD, r->chunk_off);
		r->st.skipped_bytes += r->chunk_total;
		return 0;
	}
	r->st.chunks++;
	return 0;
}

int tl_trace_reader_next(struct tl_trace_reader *r, struct tl_record *rec)
{
	int n;

	if (!r || !rec)
		return TL_TRACE_E_INVAL;
	if (r->fatal)
		return r->fatal;
	for (;;) {
		if (r->in_chunk) {
			n = next_in_chunk(r, rec);
			if (n == 0)
				continue;
			if (n < 0)
				r->fatal = n;
			return n;
		}
		if (r->done)
			return 0;
		if (r->follow)
			r->eof = false; /* what was the end may have grown */
		n = load_chunk(r);
		if (n < 0) {
			r->fatal = n;
			return n;
		}
		if (n == AGAIN)
			return 0;
		if (n == 0) {
			/* A trace without its end record was cut short. */
			r->done = true;
			if (!r->st.clean_end)
				r->st.truncated = true;
			return 0;
		}
	}
}

void tl_trace_reader_follow(struct tl_trace_reader *r)
{
	if (r && r->fd >= 0)
		r->follow = true;
}

/* ---------------------------------------------------------------------------
 * Opening and closing
 */

static struct tl_trace_reader *reader_alloc(int fd, const void *buf, size_t len)
{
	struct tl_trace_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fd = fd;
	r->data = buf;
	r->len = len;
	r->eof = fd < 0;
	r->dctx = ZSTD_createDCtx();
	if (!r->dctx) {
		free(r);
		return NULL;
	}
	return r;
}

/* Read and check the file header; on failure free r. */
static struct tl_trace_reader *reader_start(struct tl_trace_reader *r, int *err)
{
	struct tl_trace_info info;
	int e;

	if (!r) {
		e = TL_TRACE_E_NOMEM;
		goto fail;
	}
	e = fill(r, TL_TRACE_FILE_HEADER);
	if (!e)
		e = tl_trace_header_parse(r->data + r->pos, avail(r), &info);
	if (e)
		goto fail;
	r->pos += TL_TRACE_FILE_HEADER;
	r->st.major = info.major;
	r->st.minor = info.minor;
	r->st.time_shift = info.time_shift;
	r->dec.shift = info.time_shift;
	r->dec.streams = info.major >= 2;
	if (err)
		*err = 0;
	return r;
fail:
	if (err)
		*err = e;
	tl_trace_reader_close(r);
	return NULL;
}

struct tl_trace_reader *tl_trace_reader_open_mem(const void *buf, size_t len, int *err)
{
	if (!buf && len) {
		if (err)
			*err = TL_TRACE_E_INVAL;
		return NULL;
	}
	return reader_start(reader_alloc(-1, buf, len), err);
}

struct tl_trace_reader *tl_trace_reader_open_fd(int fd, int *err)
{
	if (fd < 0) {
		if (err)
			*err = TL_TRACE_E_INVAL;
		return NULL;
	}
	return reader_start(reader_alloc(fd, NULL, 0), err);
}

struct tl_trace_reader *tl_trace_reader_open(const char *path, int *err)
{
	struct tl_trace_reader *r;
	int fd, e;

	if (!path) {
		if (err)
			*err = TL_TRACE_E_INVAL;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (err)
			*err = TL_TRACE_E_IO;
		return NULL;
	}
	r = reader_alloc(fd, NULL, 0);
	if (!r) {
		close(fd);
		if (err)
			*err = TL_TRACE_E_NOMEM;
		return NULL;
	}
	r->own_fd = true;
	r = reader_start(r, &e);
	if (err)
		*err = e;
	return r;
}

void tl_trace_reader_stats(const struct tl_trace_reader *r, struct tl_trace_reader_stats *s)
{
	if (!s)
		return;
	if (!r) {
		memset(s, 0, sizeof(*s));
		return;
	}
	*s = r->st;
	s->unknown_records = r->dec.unknown;
	s->file_bytes = offset(r);
}

void tl_trace_reader_close(struct tl_trace_reader *r)
{
	int saved = errno;

	if (!r)
		return;
	if (r->own_fd)
		close(r->fd);
	ZSTD_freeDCtx(r->dctx);
	tl__dec_free(&r->dec);
	free(r->buf);
	free(r->raw);
	free(r);
	errno = saved;
}
