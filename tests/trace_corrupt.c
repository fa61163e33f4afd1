/*
 * trace_corrupt.c - the reader on damaged, cut, foreign and newer input:
 * never a crash, never a garbage record; a damaged chunk is skipped and the
 * next one read; a cut file reads up to its last whole chunk.
 */
#include "trace_test_util.h"
#include "trace_workload.h"

#include <errno.h>
#include <pthread.h>

/* ---------------------------------------------------------------------------
 * A reference trace, and where its chunks are
 */

#define MAX_CHUNKS 64
#define MAX_RECS 4096

struct ref {
	struct tt_buf b;
	size_t nchunks;
	size_t off[MAX_CHUNKS + 1];  /* chunk starts, then the file's end */
	long nrecs;
	int chunk_of[MAX_RECS];      /* the chunk each record came from */
	int64_t times[MAX_RECS];     /* with types: a fingerprint of each record */
	int types[MAX_RECS];
};

static void ref_index(struct ref *r)
{
	struct tl_trace_reader *rd;
	struct tl_trace_reader_stats st;
	struct tl_record rec;
	size_t off = TL_TRACE_FILE_HEADER;
	int err;

	r->nchunks = 0;
	while (off < r->b.len) {
		struct tl__chunk_header h;

		if (tl__chunk_header_get(r->b.p + off, &h) != 0 || r->nchunks == MAX_CHUNKS)
			abort();
		r->off[r->nchunks++] = off;
		off += TL__CHUNK_HEADER + h.compressed_size;
	}
	r->off[r->nchunks] = off;
	rd = tl_trace_reader_open_mem(r->b.p, r->b.len, &err);
	if (!rd)
		abort();
	r->nrecs = 0;
	while (tl_trace_reader_next(rd, &rec) == 1 && r->nrecs < MAX_RECS) {
		/* chunks counts the chunks finished before this record's. */
		tl_trace_reader_stats(rd, &st);
		r->chunk_of[r->nrecs] = (int)st.chunks;
		r->times[r->nrecs] = rec.time;
		r->types[r->nrecs++] = rec.type;
	}
	tl_trace_reader_close(rd);
}

/* The small trace: every record type, 4 chunks. */
static void ref_small(struct ref *r, unsigned shift)
{
	struct tl_trace_writer_opts o = {.time_shift = shift};
	int fd = tt_memfd(), err;
	struct tl_trace_writer *w = tl_trace_writer_new(fd, &o, &err);

	if (!w || tl_workload_small(w) != 0)
		abort();
	tl_trace_writer_free(w);
	r->b = tt_slurp(fd);
	close(fd);
	ref_index(r);
}

/* A workload trace of about n events in chunks of about bytes. */
static void ref_workload(struct ref *r, uint64_t n, size_t bytes)
{
	struct tl_workload_opts wo = {.seed = 5, .events = n, .chunk_bytes = bytes};
	int fd = tt_memfd(), err;
	struct tl_trace_writer *w = tl_trace_writer_new(fd, NULL, &err);

	if (!w || tl_workload_write(w, &wo) != 0)
		abort();
	tl_trace_writer_free(w);
	r->b = tt_slurp(fd);
	close(fd);
	ref_index(r);
}

/*
 * Read p and check it yields the reference's records, less those of chunk
 * `skipped` (-1: none). @return false (and a failure) otherwise.
 */
static bool reads_as(const struct ref *r, const uint8_t *p, size_t n, int skipped,
		     struct tl_trace_reader_stats *st)
{
	struct tl_trace_reader *rd;
	struct tl_record rec;
	long i = 0;
	int err, k;
	bool ok = true;

	rd = tl_trace_reader_open_mem(p, n, &err);
	if (!rd) {
		TL_FAIL_("open: %s", tl_trace_strerror(err));
		return false;
	}
	while ((k = tl_trace_reader_next(rd, &rec)) == 1) {
		while (i < r->nrecs && r->chunk_of[i] == skipped)
			i++;
		if (i >= r->nrecs || rec.type != r->types[i] || rec.time != r->times[i]) {
			ok = false;
			break;
		}
		i++;
	}
	while (i < r->nrecs && r->chunk_of[i] == skipped)
		i++;
	tl_trace_reader_stats(rd, st);
	tl_trace_reader_close(rd);
	return ok && k == 0 && i == r->nrecs;
}

/* ---------------------------------------------------------------------------
 * Bit flips
 */

/* Every bit of every chunk header: the chunk is skipped, the others read. */
TEST(bitflip_chunk_headers)
{
	struct ref r;
	struct tl_trace_reader_stats st;

	ref_small(&r, 0);
	REQUIRE(r.nchunks >= 3);
	for (size_t c = 0; c < r.nchunks; c++) {
		for (size_t bit = 0; bit < TL__CHUNK_HEADER * 8; bit++) {
			uint8_t *p = &r.b.p[r.off[c] + bit / 8];

			*p ^= (uint8_t)(1u << (bit % 8));
			if (!reads_as(&r, r.b.p, r.b.len, (int)c, &st))
				TL_FAIL_("chunk %zu, header bit %zu: records differ", c, bit);
			CHECK_EQ(st.bad_chunks, 1);
			CHECK_EQ(st.chunks, r.nchunks - 1);
			CHECK_EQ(st.first_error, TL_TRACE_E_BAD_CHUNK);
			CHECK_EQ(st.first_error_offset, r.off[c]);
			CHECK_EQ(st.skipped_bytes, r.off[c + 1] - r.off[c]);
			CHECK_EQ(st.clean_end, c != r.nchunks - 1);
			*p ^= (uint8_t)(1u << (bit % 8));
		}
	}
	tt_free(&r.b);
}

/* Every bit of every payload byte: zstd's checksum (or its framing) catches
 * it and the chunk is skipped whole, or the flip changed nothing zstd reads
 * (an unused bit of its frame header) and the chunk reads intact. Never a
 * changed record. */
TEST(bitflip_payloads)
{
	struct ref r;
	struct tl_trace_reader_stats st;
	long intact = 0, skipped = 0;

	ref_small(&r, 10);
	for (size_t c = 0; c < r.nchunks; c++) {
		for (size_t at = r.off[c] + TL__CHUNK_HEADER; at < r.off[c + 1]; at++) {
			for (int bit = 0; bit < 8; bit++) {
				r.b.p[at] ^= (uint8_t)(1u << bit);
				if (reads_as(&r, r.b.p, r.b.len, (int)c, &st) && st.bad_chunks == 1) {
					CHECK(st.first_error == TL_TRACE_E_BAD_PAYLOAD);
					skipped++;
				} else if (reads_as(&r, r.b.p, r.b.len, -1, &st) &&
					   st.bad_chunks == 0) {
					intact++;
				} else {
					TL_FAIL_("chunk %zu, byte %zu, bit %d: records differ", c,
						 at, bit);
				}
				r.b.p[at] ^= (uint8_t)(1u << bit);
			}
		}
	}
	printf("payload flips: %ld skipped the chunk, %ld changed nothing\n", skipped, intact);
	CHECK(skipped > 100 * intact);
	tt_free(&r.b);
}

/* Random flips in a larger trace, several at once, in several chunks: no
 * crash, no invented record, and every undamaged chunk is read. */
TEST(bitflip_random_many)
{
	struct ref r;
	uint64_t s = 77;

	ref_workload(&r, 3000, 2048);
	REQUIRE(r.nchunks >= 8);
	for (int round = 0; round < 300; round++) {
		struct tt_buf c = {0};
		struct tl_trace_reader_stats st;
		bool hit[MAX_CHUNKS] = {false};
		size_t nhit = 0, undamaged_recs = 0;
		long n;
		int err;

		tt_put(&c, r.b.p, r.b.len);
		for (int k = 0; k < 3; k++) {
			size_t at, ch;

			s = s * 6364136223846793005ull + 1442695040888963407ull;
			at = TL_TRACE_FILE_HEADER + (s >> 20) % (r.b.len - TL_TRACE_FILE_HEADER);
			c.p[at] ^= (uint8_t)(1u << ((s >> 8) % 8));
			for (ch = 0; r.off[ch + 1] <= at; ch++)
				;
			nhit += !hit[ch];
			hit[ch] = true;
		}
		for (long i = 0; i < r.nrecs; i++)
			undamaged_recs += !hit[r.chunk_of[i]];
		n = tt_read_all(c.p, c.len, &st, NULL, 0, &err);
		CHECK(n >= (long)undamaged_recs && n <= r.nrecs);
		CHECK(st.bad_chunks <= nhit);
		CHECK(st.chunks >= r.nchunks - nhit);
		tt_free(&c);
	}
	tt_free(&r.b);
}

/* ---------------------------------------------------------------------------
 * Truncation
 */

static size_t whole_chunks_in(const struct ref *r, size_t len)
{
	size_t n = 0;

	while (n < r->nchunks && r->off[n + 1] <= len)
		n++;
	return n;
}

static long records_in_chunks(const struct ref *r, size_t chunks)
{
	long n = 0;

	while (n < r->nrecs && (size_t)r->chunk_of[n] < chunks)
		n++;
	return n;
}

/* Cut at every byte: the header refuses a cut inside it, and past it the
 * reader returns exactly the records of the whole chunks, flagged
 * truncated unless the file is whole. From memory and from a descriptor. */
TEST(truncation_every_offset)
{
	struct ref r;

	ref_small(&r, 0);
	for (size_t len = 0; len <= r.b.len; len++) {
		struct tl_trace_reader_stats st;
		size_t chunks = whole_chunks_in(&r, len);
		long n;
		int err;

		n = tt_read_all(r.b.p, len, &st, NULL, 0, &err);
		if (len < TL_TRACE_FILE_HEADER) {
			CHECK_EQ(n, -1);
			CHECK_EQ(err, TL_TRACE_E_SHORT_HEADER);
			continue;
		}
		CHECK_EQ(n, records_in_chunks(&r, chunks));
		CHECK_EQ(st.chunks, chunks);
		CHECK_EQ(st.bad_chunks, 0);
		CHECK_EQ(st.truncated, len != r.b.len);
		CHECK_EQ(st.clean_end, len == r.b.len);
		CHECK_EQ(st.file_bytes, len);
		CHECK_EQ(st.skipped_bytes, len - (chunks ? r.off[chunks] : TL_TRACE_FILE_HEADER));
	}
	for (size_t len = 0; len <= r.b.len; len++) {
		int fd = tt_memfd(), err;
		struct tl_trace_reader *rd;
		struct tl_trace_reader_stats st;
		struct tl_record rec;
		long n = 0;

		REQUIRE(write(fd, r.b.p, len) == (ssize_t)len);
		lseek(fd, 0, SEEK_SET);
		rd = tl_trace_reader_open_fd(fd, &err);
		if (len < TL_TRACE_FILE_HEADER) {
			CHECK(!rd);
			close(fd);
			continue;
		}
		REQUIRE(rd);
		while (tl_trace_reader_next(rd, &rec) == 1)
			n++;
		tl_trace_reader_stats(rd, &st);
		tl_trace_reader_close(rd);
		close(fd); /* the reader does not own it */
		CHECK_EQ(n, records_in_chunks(&r, whole_chunks_in(&r, len)));
		CHECK_EQ(st.truncated, len != r.b.len);
	}
	tt_free(&r.b);
}

/* ---------------------------------------------------------------------------
 * Not a trace, newer, damaged file header
 */

TEST(file_headers)
{
	struct tt_buf b = {0};
	struct tl_trace_info info;
	int err;

	tt_file_header(&b, TL_TRACE_MAJOR + 1, 7, 0);
	CHECK(!tl_trace_reader_open_mem(b.p, b.len, &err));
	CHECK_EQ(err, TL_TRACE_E_NEWER_VERSION);
	CHECK_EQ(tl_trace_header_parse(b.p, b.len, &info), TL_TRACE_E_NEWER_VERSION);
	CHECK_EQ(info.major, TL_TRACE_MAJOR + 1);
	CHECK_EQ(info.minor, 7);
	tt_free(&b);

	tt_file_header(&b, 0xffff, 0, 0);
	CHECK_EQ(tl_trace_header_parse(b.p, b.len, &info), TL_TRACE_E_NEWER_VERSION);
	tt_free(&b);

	tt_file_header(&b, 0, 0, 0);
	CHECK(!tl_trace_reader_open_mem(b.p, b.len, &err));
	CHECK_EQ(err, TL_TRACE_E_BAD_HEADER);
	tt_free(&b);

	tt_file_header(&b, 1, 0, 21);
	CHECK_EQ(tl_trace_header_parse(b.p, b.len, &info), TL_TRACE_E_BAD_HEADER);
	tt_free(&b);

	/* A newer minor of our major, with reserved bytes set: read. */
	tt_file_header(&b, TL_TRACE_MAJOR, 9, 20);
	b.p[13] = b.p[14] = b.p[15] = 0xff;
	CHECK_EQ(tl_trace_header_parse(b.p, b.len, &info), 0);
	CHECK_EQ(info.minor, 9);
	CHECK_EQ(info.time_shift, 20);
	tt_free(&b);

	CHECK_EQ(tl_trace_header_parse("", 0, &info), TL_TRACE_E_SHORT_HEADER);
	CHECK_EQ(tl_trace_header_parse("\x89TLK", 4, &info), TL_TRACE_E_SHORT_HEADER);
	CHECK_EQ(tl_trace_header_parse("hello world, this is text\n", 26, &info),
		 TL_TRACE_E_NOT_TRACE);
	CHECK_EQ(tl_trace_header_parse("\x7f" "ELF\2\1\1\0\0\0\0\0\0\0\0\0", 16, &info),
		 TL_TRACE_E_NOT_TRACE);
	/* Mangled by a text-mode transfer: CR-LF became LF. */
	CHECK_EQ(tl_trace_header_parse("\x89TLK\n\x1a\n\1\0\0\0\0\0\0\0\0", 16, &info),
		 TL_TRACE_E_NOT_TRACE);
	CHECK_EQ(tl_trace_header_parse("x", 1, &info), TL_TRACE_E_NOT_TRACE);
	CHECK(!tl_trace_reader_open_mem(NULL, 0, &err));
	CHECK_EQ(err, TL_TRACE_E_SHORT_HEADER);
	CHECK(!tl_trace_reader_open_mem(NULL, 5, &err));
	CHECK_EQ(err, TL_TRACE_E_INVAL);
	CHECK(!tl_trace_reader_open_fd(-1, &err));
	CHECK_EQ(err, TL_TRACE_E_INVAL);
}

/* A file header and nothing else, and chunks without an end: truncated. */
TEST(no_end_record)
{
	struct tt_buf b = {0};
	struct tl_trace_reader_stats st;
	uint8_t thread[] = {TL_REC_THREAD, 5, 1, 'a'};
	int err;

	tt_file_header(&b, 1, 0, 0);
	CHECK_EQ(tt_read_all(b.p, b.len, &st, NULL, 0, &err), 0);
	CHECK(st.truncated);
	CHECK(!st.clean_end);
	tt_chunk(&b, thread, sizeof(thread), 0, 0);
	CHECK_EQ(tt_read_all(b.p, b.len, &st, NULL, 0, &err), 1);
	CHECK(st.truncated);
	CHECK_EQ(st.chunks, 1);
	tt_free(&b);
}

/* ---------------------------------------------------------------------------
 * Hand-made chunks: extension records, bad records, bad frames
 */

/* A file of: chunk 0 = a thread record; chunk 1 = payload; chunk 2 = an
 * end record. @return the records read; *st the stats. */
static long read_with_payload(const void *payload, size_t n, unsigned minor,
			      struct tl_trace_reader_stats *st, int *types)
{
	uint8_t thread[] = {TL_REC_THREAD, 5, 1, 'a'};
	uint8_t end[] = {TL_REC_END, 0, 0, 0};
	struct tt_buf b = {0};
	int err;
	long r;

	tt_file_header(&b, 1, minor, 0);
	tt_chunk(&b, thread, sizeof(thread), 0, 0);
	tt_chunk(&b, payload, n, 1, 0);
	tt_chunk(&b, end, sizeof(end), 2, 0);
	r = tt_read_all(b.p, b.len, st, types, 16, &err);
	tt_free(&b);
	return r;
}

TEST(extension_records_skipped)
{
	/* thread, ext 0x4f (5 bytes), ext 0xff (empty), free event */
	uint8_t p[] = {TL_REC_THREAD, 6, 0, 0x4f, 5, 1, 2, 3, 4, 5,
		       0xff, 0, TL_REC_FREE, 2, 2};
	struct tl_trace_reader_stats st;
	int types[16];

	CHECK_EQ(read_with_payload(p, sizeof(p), 3, &st, types), 4);
	CHECK_EQ(types[1], TL_REC_THREAD);
	CHECK_EQ(types[2], TL_REC_FREE);
	CHECK_EQ(types[3], TL_REC_END);
	CHECK_EQ(st.unknown_records, 2);
	CHECK_EQ(st.bad_chunks, 0);
	CHECK_EQ(st.minor, 3);
	CHECK(st.clean_end);
}

/* The extension records this reader knows: fields after the ones it knows
 * (a later minor version's) are skipped; a body too short for its fields,
 * or a signal number out of range, is a bad record. */
TEST(known_extension_records)
{
	/* signal 15 with two more bytes, recorder 200 (varint c8 01), free */
	uint8_t good[] = {TL_REC_SIGNAL, 3, 15, 7, 7, TL_REC_RECORDER, 2, 0xc8, 0x01,
			  TL_REC_FREE, 2, 2};
	uint8_t empty[] = {TL_REC_SIGNAL, 0, TL_REC_FREE, 2, 2};
	uint8_t zero[] = {TL_REC_SIGNAL, 1, 0, TL_REC_FREE, 2, 2};
	uint8_t big[] = {TL_REC_SIGNAL, 1, 65, TL_REC_FREE, 2, 2};
	struct tl_trace_reader_stats st;
	int types[16];

	CHECK_EQ(read_with_payload(good, sizeof(good), 1, &st, types), 5);
	CHECK_EQ(types[1], TL_REC_SIGNAL);
	CHECK_EQ(types[2], TL_REC_RECORDER);
	CHECK_EQ(types[3], TL_REC_FREE);
	CHECK_EQ(st.unknown_records, 0);
	CHECK_EQ(st.bad_chunks, 0);
	CHECK_EQ(read_with_payload(empty, sizeof(empty), 1, &st, types), 2);
	CHECK_EQ(st.bad_chunks, 1);
	CHECK_EQ(read_with_payload(zero, sizeof(zero), 1, &st, types), 2);
	CHECK_EQ(st.bad_chunks, 1);
	CHECK_EQ(read_with_payload(big, sizeof(big), 1, &st, types), 2);
	CHECK_EQ(st.bad_chunks, 1);
	/* The damaged chunk's bytes are counted, not "0 bytes". */
	CHECK(st.skipped_bytes > 32);
}

/* Two traces in one file (cat a.tlk b.tlk): the first is read, and what
 * follows its end record is left unread and counted, not merged in. A
 * chunk that continues the sequence after an end (an exec that failed) is
 * read. */
TEST(data_after_end)
{
	uint8_t thread[] = {TL_REC_THREAD, 5, 1, 'a'};
	uint8_t end[] = {TL_REC_END, 0, 0, 0};
	struct tl_trace_reader_stats st;
	struct tt_buf b = {0};
	size_t first;
	int types[16], err;

	tt_file_header(&b, 1, 1, 0);
	tt_chunk(&b, thread, sizeof(thread), 0, 0);
	tt_chunk(&b, end, sizeof(end), 1, 0);
	tt_chunk(&b, thread, sizeof(thread), 2, 0); /* resumed after a failed exec */
	tt_chunk(&b, end, sizeof(end), 3, 0);
	first = b.len;
	tt_file_header(&b, 1, 1, 0);
	tt_chunk(&b, thread, sizeof(thread), 0, 0);
	tt_chunk(&b, end, sizeof(end), 1, 0);
	CHECK_EQ(tt_read_all(b.p, b.len, &st, types, 16, &err), 4);
	CHECK(st.clean_end);
	CHECK(!st.truncated);
	CHECK_EQ(st.bad_chunks, 0);
	CHECK_EQ(st.trailing_offset, first);
	CHECK_EQ(st.trailing_bytes, b.len - first);
	/* A few stray bytes after the end: the same, not a truncated tail. */
	b.len = first + 5;
	CHECK_EQ(tt_read_all(b.p, b.len, &st, types, 16, &err), 4);
	CHECK(st.clean_end);
	CHECK(!st.truncated);
	CHECK_EQ(st.trailing_bytes, 5);
	tt_free(&b);
}

/* Each payload holds one good thread record, then a bad one: the good one is
 * returned, the chunk counted bad, and the next chunk read. */
TEST(bad_records)
{
	static const struct {
		const char *what;
		uint8_t p[24];
		size_t n;
		int err;
	} cases[] = {
		{"unknown core type 0x08", {0x08, 0}, 2, TL_TRACE_E_BAD_RECORD},
		{"type 0", {0x00}, 1, TL_TRACE_E_BAD_RECORD},
		{"type 0x3f", {0x3f, 1}, 2, TL_TRACE_E_BAD_RECORD},
		{"varint past the payload", {TL_REC_THREAD, 0x80}, 2, TL_TRACE_E_BAD_RECORD},
		{"11-byte varint", {TL_REC_SNAPSHOT, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				    0x80, 0x80, 0x80, 0x01}, 13, TL_TRACE_E_BAD_RECORD},
		{"10th varint byte above 1", {TL_REC_SNAPSHOT, 0, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0x02}, 12,
		 TL_TRACE_E_BAD_RECORD},
		{"string past the payload", {TL_REC_THREAD, 1, 9, 'a', 'b'}, 5,
		 TL_TRACE_E_BAD_RECORD},
		{"string above 1 MiB", {TL_REC_THREAD, 1, 0x81, 0x80, 0x40}, 5, TL_TRACE_E_TOO_BIG},
		{"tid above 32 bits", {TL_REC_THREAD_SWITCH, 0x80, 0x80, 0x80, 0x80, 0x10}, 6,
		 TL_TRACE_E_BAD_RECORD},
		{"stack id 0", {TL_REC_STACK, 0, 0}, 3, TL_TRACE_E_BAD_RECORD},
		{"257 frames", {TL_REC_STACK, 1, 0x81, 0x02, 0}, 5, TL_TRACE_E_TOO_BIG},
		{"frames past the payload", {TL_REC_STACK, 1, 3, 1, 2}, 5, TL_TRACE_E_BAD_RECORD},
		{"65 segments", {TL_REC_MODULE, 0, 1, 0, 0, 0, 65}, 7, TL_TRACE_E_TOO_BIG},
		{"65-byte build id", {TL_REC_MODULE, 0, 1, 0, 65}, 5, TL_TRACE_E_TOO_BIG},
		{"argc past the payload", {TL_REC_PROCESS, 1, 1, 0, 0, 0, 0x80, 0x80, 0x04}, 9,
		 TL_TRACE_E_BAD_RECORD},
		{"mode above 31 bits", {TL_REC_RUNTIME, 0, 0x80, 0x80, 0x80, 0x80, 0x08, 0, 0}, 9,
		 TL_TRACE_E_BAD_RECORD},
		{"extension past the payload", {0x41, 9, 1}, 3, TL_TRACE_E_BAD_RECORD},
		{"create cut short", {TL_REC_CREATE, 0, 2, 1, 1}, 5, TL_TRACE_E_BAD_RECORD},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t p[64] = {TL_REC_THREAD, 7, 1, 'b'};
		struct tl_trace_reader_stats st;
		int types[16];
		long n;

		memcpy(p + 4, cases[i].p, cases[i].n);
		n = read_with_payload(p, 4 + cases[i].n, 0, &st, types);
		if (n != 3 || st.bad_chunks != 1 || st.first_error != cases[i].err ||
		    !st.clean_end || st.chunks != 2)
			TL_FAIL_("%s: %ld records, %llu bad chunks, error %d, clean %d",
				 cases[i].what, n, (unsigned long long)st.bad_chunks,
				 st.first_error, st.clean_end);
		CHECK_EQ(types[1], TL_REC_THREAD);
		CHECK_EQ(types[2], TL_REC_END);
	}
}

/* Chunk headers that check but cannot be right, and payloads that are not
 * one checksummed zstd frame of raw_size bytes. */
TEST(bad_frames)
{
	uint8_t thread[] = {TL_REC_THREAD, 5, 1, 'a'};
	uint8_t end[] = {TL_REC_END, 0, 0, 0};
	struct tl_trace_reader_stats st;
	int err;

	for (int c = 0; c < 6; c++) {
		struct tt_buf b = {0}, bad = {0};
		struct tl__chunk_header h;
		uint8_t raw[TL__CHUNK_HEADER];
		size_t k;

		tt_file_header(&b, 1, 0, 0);
		tt_chunk(&bad, thread, sizeof(thread), 1, 0);
		tl__chunk_header_get(bad.p, &h);
		switch (c) {
		case 0: /* raw_size above 16 MiB */
			h.raw_size = TL_TRACE_MAX_CHUNK + 1;
			break;
		case 1: /* an unknown compression */
			h.compression = 2;
			break;
		case 2: /* raw_size that the frame does not have */
			h.raw_size = 5;
			break;
		case 3: /* no content checksum */
			k = ZSTD_compress(bad.p + TL__CHUNK_HEADER, bad.cap - TL__CHUNK_HEADER,
					  thread, sizeof(thread), 1);
			h.compressed_size = (uint32_t)k;
			bad.len = TL__CHUNK_HEADER + k;
			break;
		case 4: { /* two frames */
			struct tt_buf frame = {0};

			tt_put(&frame, bad.p + TL__CHUNK_HEADER, h.compressed_size);
			tt_put(&bad, frame.p, frame.len);
			tt_free(&frame);
			h.compressed_size *= 2;
			break;
		}
		case 5: /* compressed_size 0 */
			h.compressed_size = 0;
			break;
		}
		tl__chunk_header_put(raw, &h);
		memcpy(bad.p, raw, sizeof(raw));
		tt_chunk(&b, thread, sizeof(thread), 0, 0);
		tt_put(&b, bad.p, bad.len);
		tt_chunk(&b, end, sizeof(end), 2, 0);
		CHECK_EQ(tt_read_all(b.p, b.len, &st, NULL, 0, &err), 2);
		CHECK_EQ(st.bad_chunks, 1);
		CHECK_EQ(st.chunks, 2);
		CHECK(st.clean_end);
		CHECK(st.first_error == (c <= 1 || c == 5 ? TL_TRACE_E_BAD_CHUNK
							  : TL_TRACE_E_BAD_PAYLOAD));
		tt_free(&b);
		tt_free(&bad);
	}
}

/* ---------------------------------------------------------------------------
 * Garbage between chunks, over a pipe
 */

struct feeder {
	int fd;
	const struct tt_buf *b;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;

	for (size_t off = 0; off < f->b->len;) {
		ssize_t k = write(f->fd, f->b->p + off, f->b->len - off);

		if (k <= 0)
			break;
		off += (size_t)k;
	}
	close(f->fd);
	return NULL;
}

/* 1 MiB of garbage, fake chunk magics included, between two chunks: one
 * bad stretch, skipped, and every record read; from memory and through a
 * pipe, where the scan crosses many reads. */
TEST(garbage_between_chunks)
{
	struct ref r;
	struct tt_buf b = {0};
	uint64_t s = 1;
	size_t g = 1u << 20;

	ref_workload(&r, 2000, 2048);
	REQUIRE(r.nchunks >= 4);
	tt_put(&b, r.b.p, r.off[2]);
	for (size_t i = 0; i < g; i += 8) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		tt_put(&b, i % 4096 == 0 ? (const void *)"TLCKTLCK" : (const void *)&s, 8);
	}
	tt_put(&b, r.b.p + r.off[2], r.b.len - r.off[2]);
	for (int mode = 0; mode < 2; mode++) {
		struct tl_trace_reader_stats st;
		struct tl_trace_reader *rd;
		struct tl_record rec;
		long n = 0;
		int err, p[2];
		pthread_t t;
		struct feeder f;

		if (mode == 0) {
			rd = tl_trace_reader_open_mem(b.p, b.len, &err);
		} else {
			REQUIRE(pipe(p) == 0);
			f = (struct feeder){p[1], &b};
			pthread_create(&t, NULL, feed, &f);
			rd = tl_trace_reader_open_fd(p[0], &err);
		}
		REQUIRE(rd);
		while (tl_trace_reader_next(rd, &rec) == 1)
			n++;
		tl_trace_reader_stats(rd, &st);
		tl_trace_reader_close(rd);
		if (mode == 1) {
			pthread_join(t, NULL);
			close(p[0]);
		}
		CHECK_EQ(n, r.nrecs);
		CHECK_EQ(st.bad_chunks, 1);
		CHECK_EQ(st.skipped_bytes, g);
		CHECK_EQ(st.first_error_offset, r.off[2]);
		CHECK_EQ(st.chunks, r.nchunks);
		CHECK(st.clean_end);
		CHECK_EQ(st.file_bytes, b.len);
	}
	tt_free(&b);
	tt_free(&r.b);
}

/* A damaged chunk header with a valid one right behind its first byte (a
 * writer that restarted mid-chunk): found by the byte-wise scan. */
TEST(resync_finds_overlapping_header)
{
	struct ref r;
	struct tt_buf b = {0};
	struct tl_trace_reader_stats st;
	int err;

	ref_small(&r, 0);
	tt_put(&b, r.b.p, r.off[1]);
	tt_put(&b, "TLC", 3); /* a header cut after 3 bytes */
	tt_put(&b, r.b.p + r.off[1], r.b.len - r.off[1]);
	CHECK_EQ(tt_read_all(b.p, b.len, &st, NULL, 0, &err), r.nrecs);
	CHECK_EQ(st.bad_chunks, 1);
	CHECK_EQ(st.skipped_bytes, 3);
	tt_free(&b);
	tt_free(&r.b);
}

TEST_MAIN()
