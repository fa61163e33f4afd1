/*
 * encoding.c - the bytes of the format that are not records: varints, the
 * file header, the chunk header and its check (docs/trace-format.md).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <zstd.h>

/* PNG-style: a non-ASCII first byte, then CR-LF and ^Z, which text-mode
 * transfers mangle, so such a copy is refused instead of misread. */
const uint8_t tl__file_magic[8] = {0x89, 'T', 'L', 'K', '\r', '\n', 0x1a, '\n'};
const uint8_t tl__chunk_magic[4] = {'T', 'L', 'C', 'K'};

size_t tl__varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

size_t tl__varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int tl__get_varint_slow(struct tl__cur *c, uint64_t *v)
{
	uint64_t r = 0;
	size_t left = tl__cur_left(c);

	for (size_t i = 0; i < TL__VARINT_MAX && i < left; i++) {
		uint8_t b = c->p[i];

		/* The 10th byte holds bit 63 only: anything more would be
		 * silently cut off, so such a value is refused. */
		if (i == TL__VARINT_MAX - 1 && b > 1)
			return TL_TRACE_E_BAD_RECORD;
		r |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			c->p += i + 1;
			*v = r;
			return 0;
		}
	}
	return TL_TRACE_E_BAD_RECORD;
}

int tl__get_varint32_slow(struct tl__cur *c, uint32_t *v)
{
	struct tl__cur save = *c;
	uint64_t u;
	int err = tl__get_varint(c, &u);

	if (err)
		return err;
	if (u > UINT32_MAX) {
		*c = save;
		return TL_TRACE_E_BAD_RECORD;
	}
	*v = (uint32_t)u;
	return 0;
}

int tl__get_span(struct tl__cur *c, uint32_t max, uint8_t **p, uint32_t *len)
{
	struct tl__cur save = *c;
	uint64_t n;
	int err = tl__get_varint(c, &n);

	if (err)
		return err;
	if (n > max || n > tl__cur_left(c)) {
		*c = save;
		return n > max ? TL_TRACE_E_TOO_BIG : TL_TRACE_E_BAD_RECORD;
	}
	*p = c->p;
	*len = (uint32_t)n;
	c->p += n;
	return 0;
}

uint32_t tl__fnv1a32(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

/* ---------------------------------------------------------------------------
 * File header
 */

int tl_trace_header_parse(const void *buf, size_t len, struct tl_trace_info *info)
{
	const uint8_t *b = buf;
	size_t m = len < sizeof(tl__file_magic) ? len : sizeof(tl__file_magic);

	if (!b && len)
		return TL_TRACE_E_INVAL;
	if (m && memcmp(b, tl__file_magic, m) != 0)
		return TL_TRACE_E_NOT_TRACE;
	if (len < TL_TRACE_FILE_HEADER)
		return TL_TRACE_E_SHORT_HEADER;
	info->major = tl__get_le16(b + 8);
	info->minor = tl__get_le16(b + 10);
	info->time_shift = b[12];
	/* Bytes 13-15 are reserved: written as 0, and ignored here so that a
	 * later minor version may use them. */
	if (info->major > TL_TRACE_MAJOR)
		return TL_TRACE_E_NEWER_VERSION;
	/* No version 0 was ever written: such a header is damaged. */
	if (info->major == 0 || info->time_shift > TL_TRACE_MAX_SHIFT)
		return TL_TRACE_E_BAD_HEADER;
	return 0;
}

/* ---------------------------------------------------------------------------
 * Chunk header
 */

void tl__chunk_header_put(uint8_t *out, const struct tl__chunk_header *h)
{
	memcpy(out, tl__chunk_magic, 4);
	tl__put_le32(out + 4, h->compressed_size);
	tl__put_le32(out + 8, h->raw_size);
	tl__put_le32(out + 12, h->seq);
	tl__put_le64(out + 16, (uint64_t)h->base_time);
	tl__put_le32(out + 24, h->compression);
	tl__put_le32(out + 28, tl__fnv1a32(out, 28));
}

int tl__chunk_header_get(const uint8_t *in, struct tl__chunk_header *h)
{
	if (memcmp(in, tl__chunk_magic, 4) != 0 || tl__get_le32(in + 28) != tl__fnv1a32(in, 28))
		return TL_TRACE_E_BAD_CHUNK;
	h->compressed_size = tl__get_le32(in + 4);
	h->raw_size = tl__get_le32(in + 8);
	h->seq = tl__get_le32(in + 12);
	h->base_time = (int64_t)tl__get_le64(in + 16);
	h->compression = tl__get_le32(in + 24);
	/* A header can pass its check and still be impossible (a writer bug,
	 * or a collision after damage): its sizes bound the memory the reader
	 * allocates, so they are checked before anything is allocated. */
	if (h->compression != TL__COMPRESSION_ZSTD || h->raw_size > TL_TRACE_MAX_CHUNK ||
	    h->compressed_size == 0 || h->compressed_size > ZSTD_compressBound(h->raw_size))
		return TL_TRACE_E_BAD_CHUNK;
	return 0;
}

/* ---------------------------------------------------------------------------
 * Growable buffer
 */

int tl__buf_reserve(struct tl__buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	uint8_t *p;

	if (more <= b->cap - b->len)
		return 0;
	if (more > SIZE_MAX / 2 - b->len)
		return TL_TRACE_E_NOMEM;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return TL_TRACE_E_NOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

void tl__buf_free(struct tl__buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
