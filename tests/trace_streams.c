/*
 * trace_streams.c - hand-built 2.0 chunk payloads (docs/trace-format.md,
 * "Chunk payload" and "Events"): a stream directory, op bytes, thread
 * lists and "same" bits that break the rules must make the chunk bad
 * (counted, skipped) and never crash the reader; and a chunk whose events
 * come from more threads than the chunk's thread list holds round-trips.
 */
#include "trace_test_util.h"

/* The five streams of one payload, each given as bytes. */
struct streams {
	uint8_t b[TL__STREAMS][48];
	size_t n[TL__STREAMS];
};

static void add(struct streams *s, int k, const uint8_t *p, size_t n)
{
	memcpy(s->b[k] + s->n[k], p, n);
	s->n[k] += n;
}

#define ADD(s, k, ...)                                                                             \
	do {                                                                                       \
		const uint8_t b_[] = {__VA_ARGS__};                                                \
		add(s, k, b_, sizeof(b_));                                                         \
	} while (0)

/* The payload of s: count, lengths, streams. */
static size_t payload_of(const struct streams *s, uint8_t *out)
{
	size_t n = tl__varint_put(out, TL__STREAMS);

	for (int k = 0; k < TL__STREAMS; k++)
		n += tl__varint_put(out + n, s->n[k]);
	for (int k = 0; k < TL__STREAMS; k++) {
		memcpy(out + n, s->b[k], s->n[k]);
		n += s->n[k];
	}
	return n;
}

/* An event's op byte: type, id selector, dt 0. */
static uint8_t op(int type, unsigned sel)
{
	return (uint8_t)(TL__OP_EVENT | TL__OP_DT_ZERO | sel << TL__OP_ID_SHIFT |
			 (unsigned)(type - TL_REC_CREATE));
}

/* A 2.0 file: a chunk with a thread record, then payload p, then a chunk
 * with the end record. @return the records read, *st the stats. */
static long read_2x(const uint8_t *p, size_t n, struct tl_trace_reader_stats *st)
{
	struct streams good = {0}, end = {0};
	uint8_t a[128], e[128];
	struct tt_buf b = {0};
	int err;
	long r;

	ADD(&good, TL__S_OPS, TL_REC_THREAD);
	ADD(&good, TL__S_FIELDS, 5, 1, 'a');
	ADD(&end, TL__S_OPS, TL_REC_END);
	ADD(&end, TL__S_TIME, 0);
	ADD(&end, TL__S_FIELDS, 0, 0);
	tt_file_header(&b, 2, 0, 0);
	tt_chunk(&b, a, payload_of(&good, a), 0, 0);
	tt_chunk(&b, p, n, 1, 0);
	tt_chunk(&b, e, payload_of(&end, e), 2, 0);
	r = tt_read_all(b.p, b.len, st, NULL, 0, &err);
	tt_free(&b);
	return r;
}

/* The middle chunk is bad, and only it, its bytes counted skipped: the
 * others' two records are read. */
static void expect_bad(const char *what, const uint8_t *p, size_t n)
{
	struct tl_trace_reader_stats st;
	long r = read_2x(p, n, &st);

	if (r < 2 || st.bad_chunks != 1 || st.first_error != TL_TRACE_E_BAD_RECORD ||
	    !st.clean_end || st.chunks != 2 || st.skipped_bytes == 0)
		TL_FAIL_("%s: %ld records, %llu bad chunks, error %d, clean %d, %llu bytes skipped",
			 what, r, (unsigned long long)st.bad_chunks, st.first_error, st.clean_end,
			 (unsigned long long)st.skipped_bytes);
}

static void expect_bad_streams(const char *what, const struct streams *s)
{
	uint8_t p[TL__STREAMS * 64];

	expect_bad(what, p, payload_of(s, p));
}

/* The trace w writes to fd, ended at t with events, read back from memory
 * (*b holds its bytes; fd is closed). @return the reader, or NULL. */
static struct tl_trace_reader *ended(struct tl_trace_writer *w, int fd, int64_t t,
				     uint64_t events, struct tt_buf *b)
{
	int err, end = tl_trace_writer_end(w, t, events, 0);

	tl_trace_writer_free(w);
	*b = tt_slurp(fd);
	close(fd);
	return end == 0 ? tl_trace_reader_open_mem(b->p, b->len, &err) : NULL;
}

TEST(bad_directories)
{
	static const struct {
		const char *what;
		uint8_t p[16];
		size_t n;
	} cases[] = {
		{"4 streams", {4, 1, 0, 0, 0, TL_REC_THREAD}, 6},
		{"65 streams", {65, 0, 0, 0, 0, 0}, 6},
		{"count past the payload", {0x80}, 1},
		{"a length past the payload", {5, 1, 0, 0, 0x80}, 5},
		{"lengths short of the payload", {5, 1, 0, 0, 0, 0, TL_REC_THREAD, 0}, 8},
		{"lengths past the payload", {5, 1, 0, 0, 0, 3, TL_REC_THREAD, 0}, 8},
		{"a length above the payload", {5, 0xff, 0x7f, 0, 0, 0, 0}, 7},
		{"lengths that wrap", {5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 1,
				       0, 0, 0, 1}, 16},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_bad(cases[i].what, cases[i].p, cases[i].n);
}

TEST(bad_op_bytes)
{
	struct streams s;

	s = (struct streams){0}; /* an event type as a plain type */
	ADD(&s, TL__S_OPS, TL_REC_FREE);
	ADD(&s, TL__S_TIME, 0);
	ADD(&s, TL__S_ID, 2);
	expect_bad_streams("event type without op", &s);

	s = (struct streams){0};
	ADD(&s, TL__S_OPS, 0x08);
	expect_bad_streams("unknown core type", &s);

	s = (struct streams){0}; /* a successor, but nothing fired yet */
	ADD(&s, TL__S_OPS, op(TL_REC_FIRE, TL__ID_SUCC));
	ADD(&s, TL__S_FIELDS, 1);
	expect_bad_streams("successor without fires", &s);

	s = (struct streams){0}; /* one fire only: no successor known */
	ADD(&s, TL__S_OPS, op(TL_REC_FIRE, TL__ID_NEXT), op(TL_REC_FIRE, TL__ID_SUCC));
	ADD(&s, TL__S_FIELDS, 1, 1);
	expect_bad_streams("successor of a first fire", &s);

	s = (struct streams){0};
	ADD(&s, TL__S_OPS, op(TL_REC_FREE, TL__ID_DELTA));
	expect_bad_streams("delta past the id stream", &s);

	s = (struct streams){0};
	ADD(&s, TL__S_OPS, op(TL_REC_FREE, 0) & ~TL__OP_DT_ZERO);
	expect_bad_streams("dt past the time stream", &s);

	s = (struct streams){0}; /* zigzag(q) - 1 is never 2^64 - 1 */
	ADD(&s, TL__S_OPS, op(TL_REC_FREE, 0) & ~TL__OP_DT_ZERO);
	ADD(&s, TL__S_TIME, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	expect_bad_streams("dt of 2^64 - 1", &s);

	s = (struct streams){0};
	ADD(&s, TL__S_OPS, op(TL_REC_STOP, 0));
	expect_bad_streams("fields past the fields stream", &s);

	s = (struct streams){0};
	ADD(&s, TL__S_OPS, op(TL_REC_FREE, 0));
	ADD(&s, TL__S_ID, 7);
	expect_bad_streams("bytes left in a stream", &s);
}

TEST(bad_same_bits)
{
	struct streams s;

	s = (struct streams){0};
	ADD(&s, TL__S_OPS, op(TL_REC_CREATE, TL__ID_NEXT));
	ADD(&s, TL__S_FIELDS, 1 << 1 | 1);
	expect_bad_streams("create: same, empty site", &s);

	s = (struct streams){0}; /* stack 65 takes stack 1's slot, but is not it */
	ADD(&s, TL__S_OPS, op(TL_REC_CREATE, TL__ID_NEXT), op(TL_REC_CREATE, TL__ID_NEXT));
	ADD(&s, TL__S_FIELDS, 1 << 1, 1, 0, 0, 0, 0, 65 << 1 | 1);
	expect_bad_streams("create: same, another stack's site", &s);

	s = (struct streams){0};
	ADD(&s, TL__S_OPS, op(TL_REC_RESET, 0));
	ADD(&s, TL__S_FIELDS, 3 << 1 | 1, 0);
	expect_bad_streams("reset: same, empty site", &s);

	s = (struct streams){0};
	ADD(&s, TL__S_OPS, op(TL_REC_ARM, 0));
	ADD(&s, TL__S_FIELDS, 1);
	expect_bad_streams("arm: same, no arm before", &s);

	s = (struct streams){0}; /* a stack above 32 bits */
	ADD(&s, TL__S_OPS, op(TL_REC_CREATE, TL__ID_NEXT));
	ADD(&s, TL__S_FIELDS, 0x80, 0x80, 0x80, 0x80, 0x20, 1, 0, 0, 0, 0);
	expect_bad_streams("create: stack above 32 bits", &s);
}

/* 17 threads new to the chunk: the list keeps the last 16, so entry 16
 * (k = 17) does not exist, and k = 16 is the second thread. */
TEST(thread_list_past_16)
{
	struct streams s = {0};
	uint8_t p[TL__STREAMS * 64];
	struct tl_trace_reader *r;
	struct tl_record rec;
	size_t n;
	int err;

	for (uint8_t t = 1; t <= TL__THREADS + 1; t++) {
		ADD(&s, TL__S_OPS, TL_REC_THREAD_SWITCH);
		ADD(&s, TL__S_THREAD, 0, t);
	}
	ADD(&s, TL__S_OPS, TL_REC_THREAD_SWITCH, op(TL_REC_FREE, TL__ID_NEXT));
	ADD(&s, TL__S_THREAD, TL__THREADS + 1);
	expect_bad_streams("thread entry 16", &s);

	s.b[TL__S_THREAD][s.n[TL__S_THREAD] - 1] = TL__THREADS;
	n = payload_of(&s, p);
	{
		struct tt_buf b = {0};

		tt_file_header(&b, 2, 0, 0);
		tt_chunk(&b, p, n, 0, 0);
		r = tl_trace_reader_open_mem(b.p, b.len, &err);
		REQUIRE(r);
		REQUIRE(tl_trace_reader_next(r, &rec) == 1);
		CHECK_EQ(rec.type, TL_REC_FREE);
		CHECK_EQ(rec.tid, 2);
		CHECK_EQ(rec.ev.id, 2);
		tl_trace_reader_close(r);
		tt_free(&b);
	}
}

/* Events of 40 threads in one chunk, each thread's ids reused: threads
 * past the list's 16 come back as new, and every record reads back. */
TEST(roundtrip_40_threads)
{
	enum { THREADS = 40, ROUNDS = 6 };
	int fd = tt_memfd(), err;
	struct tl_trace_writer *w = tl_trace_writer_new(fd, NULL, &err);
	struct tl_trace_reader *r;
	struct tl_record rec;
	struct tt_buf b;
	uint64_t next = 2;
	uint64_t ids[THREADS];
	int64_t t = 1000;

	REQUIRE(w);
	for (int i = 0; i < THREADS; i++) {
		struct tl_event e = {.id = next, .kind = 1, .stack = (uint32_t)(i % 3 + 1),
				     .duration = 1000000};

		ids[i] = next;
		next += 2;
		REQUIRE(tl_trace_writer_event(w, TL_REC_CREATE, t++, (uint32_t)(100 + i), &e) ==
			0);
	}
	for (int k = 0; k < ROUNDS; k++)
		for (int i = 0; i < THREADS; i++) {
			int j = (i * 7 + k * 13) % THREADS;
			struct tl_event e = {.id = ids[j], .flags = 1};

			REQUIRE(tl_trace_writer_event(w, TL_REC_FIRE, t++, (uint32_t)(100 + j),
						      &e) == 0);
		}
	r = ended(w, fd, t, THREADS * (ROUNDS + 1), &b);
	REQUIRE(r);
	for (int i = 0; i < THREADS; i++) {
		REQUIRE(tl_trace_reader_next(r, &rec) == 1);
		CHECK_EQ(rec.type, TL_REC_CREATE);
		CHECK_EQ(rec.tid, 100 + i);
		CHECK_EQ(rec.ev.id, ids[i]);
		CHECK_EQ(rec.ev.stack, i % 3 + 1);
		CHECK_EQ(rec.ev.duration, 1000000);
	}
	for (int k = 0; k < ROUNDS; k++)
		for (int i = 0; i < THREADS; i++) {
			int j = (i * 7 + k * 13) % THREADS;

			REQUIRE(tl_trace_reader_next(r, &rec) == 1);
			CHECK_EQ(rec.type, TL_REC_FIRE);
			CHECK_EQ(rec.tid, 100 + j);
			CHECK_EQ(rec.ev.id, ids[j]);
			CHECK_EQ(rec.ev.flags, 1);
		}
	REQUIRE(tl_trace_reader_next(r, &rec) == 1);
	CHECK_EQ(rec.type, TL_REC_END);
	CHECK_EQ(tl_trace_reader_next(r, &rec), 0);
	{
		struct tl_trace_reader_stats st;

		tl_trace_reader_stats(r, &st);
		CHECK_EQ(st.chunks, 1);
		CHECK_EQ(st.bad_chunks, 0);
	}
	tl_trace_reader_close(r);
	tt_free(&b);
}

/* Creates, resets and arms whose fields now repeat their site's, now
 * differ, at stacks that share a slot (1 and 65): each reads back as
 * written, whichever the writer found the same. */
TEST(roundtrip_sites)
{
	static const struct {
		int type;
		uint32_t stack;
		int64_t duration, period;
		uint64_t size, aux;
		uint32_t kind, flags;
	} evs[] = {
		{TL_REC_CREATE, 1, 2000, 0, 152, 0, 1, 0},
		{TL_REC_CREATE, 1, 2000, 0, 152, 0, 1, 0},
		{TL_REC_CREATE, 65, 2000, 0, 152, 0, 1, 0},
		{TL_REC_CREATE, 1, 2000, 0, 152, 0, 1, 0},
		{TL_REC_CREATE, 1, 2000, 0, 152, 7, 1, 0},
		{TL_REC_CREATE, 1, 2000, 0, 152, 7, 1, 0},
		{TL_REC_CREATE, 1, -5, 9, 152, 7, 4, 0},
		{TL_REC_CREATE, 0, 0, 0, 512, 1, 5, 0},
		{TL_REC_CREATE, 0, 0, 0, 512, 1, 5, 0},
		{TL_REC_ARM, 0, 30000, 0, 0, 0, 0, 2},
		{TL_REC_ARM, 0, 30000, 0, 0, 0, 0, 0},
		{TL_REC_ARM, 0, 30000, 100, 0, 0, 0, 1},
		{TL_REC_RESET, 3, 2000, 0, 0, 0, 0, 1},
		{TL_REC_RESET, 3, 2000, 0, 0, 0, 0, 0},
		{TL_REC_RESET, 67, 2000, 0, 0, 0, 0, 0},
		{TL_REC_RESET, 3, 2000, 0, 0, 0, 0, 5},
		{TL_REC_RESET, 3, 4000, 4000, 0, 0, 0, 5},
	};
	enum { N = sizeof(evs) / sizeof(evs[0]) };
	int fd = tt_memfd(), err;
	struct tl_trace_writer *w = tl_trace_writer_new(fd, NULL, &err);
	struct tl_trace_reader *r;
	struct tl_record rec;
	struct tt_buf b;
	uint64_t id[N], next[2] = {2, 1};

	REQUIRE(w);
	for (int i = 0; i < N; i++) {
		struct tl_event e = {.kind = evs[i].kind, .stack = evs[i].stack,
				     .duration = evs[i].duration, .period = evs[i].period,
				     .size = evs[i].size, .aux = evs[i].aux, .flags = evs[i].flags};
		int k = evs[i].kind == 5 || evs[i].type == TL_REC_ARM;

		if (evs[i].type == TL_REC_CREATE) {
			id[i] = next[k];
			next[k] += 2;
		} else {
			id[i] = k ? 1 : 2; /* the first timer of its stream */
		}
		e.id = id[i];
		REQUIRE(tl_trace_writer_event(w, evs[i].type, 1000 + i, 7, &e) == 0);
	}
	r = ended(w, fd, 2000, N, &b);
	REQUIRE(r);
	for (int i = 0; i < N; i++) {
		REQUIRE(tl_trace_reader_next(r, &rec) == 1);
		CHECK_EQ(rec.type, evs[i].type);
		CHECK_EQ(rec.ev.id, id[i]);
		CHECK_EQ(rec.ev.stack, evs[i].stack);
		CHECK_EQ(rec.ev.duration, evs[i].duration);
		CHECK_EQ(rec.ev.period, evs[i].period);
		CHECK_EQ(rec.ev.flags, evs[i].flags);
		if (evs[i].type == TL_REC_CREATE) {
			CHECK_EQ(rec.ev.kind, evs[i].kind);
			CHECK_EQ(rec.ev.size, evs[i].size);
			CHECK_EQ(rec.ev.aux, evs[i].aux);
		}
	}
	tl_trace_reader_close(r);
	tt_free(&b);
}

TEST_MAIN()
