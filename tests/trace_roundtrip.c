/*
 * trace_roundtrip.c - what the writer writes, the reader reads back: every
 * record type with edge values, at time_shift 0 and 10, in one chunk and in
 * many, through memory, files and pipes; the writer's checks and stats.
 */
#include "trace_test_util.h"
#include "trace_workload.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>

/* ---------------------------------------------------------------------------
 * The records: every type, with the values at the edges of each field.
 */

#define NREC 40

static char long_str[TL_TRACE_MAX_STRING + 1];
static char binary_str[256];
static uint64_t frames_max[TL_TRACE_MAX_FRAMES];
static uint64_t frames_one[1] = {UINT64_MAX};
static uint8_t build_id_max[TL_MAX_BUILD_ID];
static struct tl_segment segs_max[TL_MAX_SEGMENTS];
static const char *argv3[3];

static void init_values(void)
{
	memset(long_str, 'x', TL_TRACE_MAX_STRING);
	long_str[TL_TRACE_MAX_STRING] = '\0';
	for (int i = 0; i < 255; i++)
		binary_str[i] = (char)(i + 1); /* every byte but NUL */
	for (int i = 0; i < TL_TRACE_MAX_FRAMES; i++) {
		/* Deltas of every size and sign, 0 and UINT64_MAX included. */
		uint64_t v = (uint64_t)i * 0x9e3779b97f4a7c15ull;

		frames_max[i] = i == 0 ? 0 : i == 1 ? UINT64_MAX : i % 3 ? v : v >> (i % 64);
	}
	for (int i = 0; i < TL_MAX_BUILD_ID; i++)
		build_id_max[i] = (uint8_t)(0xff - i);
	for (int i = 0; i < TL_MAX_SEGMENTS; i++)
		segs_max[i] = (struct tl_segment){i ? (uint64_t)i << 40 : UINT64_MAX,
						  UINT64_MAX - (uint64_t)i, (uint64_t)i * 4096,
						  i ? (uint32_t)i : UINT32_MAX};
	argv3[0] = "";
	argv3[1] = binary_str;
	argv3[2] = "last arg";
}

/* The records, as the reader should return them (fields an event type does
 * not carry stay 0). */
static int edge_records(struct tl_record *r)
{
	int n = 0;

#define REC(t, tm) (r[n] = (struct tl_record){.type = (t), .time = (tm)}, &r[n++])
	struct tl_record *p;

	p = REC(TL_REC_PROCESS, 0);
	p->process = (struct tl_process){UINT32_MAX, 0, UINT64_MAX, 0, "", 0, NULL, long_str,
					 "fp", 256, 3};
	p = REC(TL_REC_PROCESS, 0);
	p->process = (struct tl_process){1, UINT32_MAX, 0, UINT64_MAX, binary_str, 3, argv3,
					 "", "", 0, 0};
	p = REC(TL_REC_THREAD, 0);
	p->thread.name = "";
	p->tid = 0;
	p = REC(TL_REC_THREAD, 0);
	p->thread.tid = UINT32_MAX;
	p->thread.name = "worker-7";
	p = REC(TL_REC_MODULE, INT64_MIN);
	p->module = (struct tl_module){UINT32_MAX, UINT64_MAX, build_id_max, TL_MAX_BUILD_ID,
				       long_str, TL_MAX_SEGMENTS, segs_max};
	p = REC(TL_REC_MODULE, INT64_MAX);
	p->module = (struct tl_module){0, 0, NULL, 0, "", 0, NULL};
	p = REC(TL_REC_MODULE_UNLOAD, 0);
	p = REC(TL_REC_STACK, 0);
	p->stack.id = 1;
	p->stack.n = TL_TRACE_MAX_FRAMES;
	p->stack.frames = frames_max;
	p = REC(TL_REC_STACK, 0);
	p->stack.id = UINT32_MAX;
	p = REC(TL_REC_STACK, 0);
	p->stack.id = 2;
	p->stack.n = 1;
	p->stack.frames = frames_one;
	p = REC(TL_REC_RUNTIME, -1);
	p->runtime.mode = INT32_MAX;
	p->runtime.name = "libgotimer";
	p->runtime.version = "";

	/* Events: ids that jump, wrap and repeat; every field's extremes;
	 * thread switches to 0 and back; times that go backwards and wrap. */
	p = REC(TL_REC_CREATE, 1000);
	p->tid = 7;
	p->ev = (struct tl_event){UINT64_MAX, UINT32_MAX, UINT32_MAX, INT64_MIN, INT64_MIN,
				  UINT64_MAX, UINT64_MAX, 0};
	p = REC(TL_REC_CREATE, 999);
	p->tid = 7;
	p->ev = (struct tl_event){2, TL_KIND_TICKER, 0, INT64_MAX, INT64_MAX, 0, 0, 0};
	p = REC(TL_REC_CREATE, 5000);
	p->tid = 0;
	p->ev = (struct tl_event){1, TL_KIND_POSIX, 1, -1, -1, 208, 0x1ff, 0};
	p = REC(TL_REC_ARM, INT64_MAX);
	p->tid = UINT32_MAX;
	p->ev = (struct tl_event){.id = 1, .duration = INT64_MIN, .period = INT64_MAX,
				  .flags = UINT32_MAX};
	p = REC(TL_REC_ARM, INT64_MIN);
	p->tid = UINT32_MAX;
	p->ev = (struct tl_event){.id = 1, .duration = 0, .period = 0, .flags = 0};
	p = REC(TL_REC_STOP, 0);
	p->tid = 1;
	p->ev = (struct tl_event){.id = INT64_MAX, .flags = TL_STOP_WAS_ACTIVE};
	p = REC(TL_REC_RESET, 12345678901234);
	p->tid = 1;
	p->ev = (struct tl_event){.id = (uint64_t)INT64_MAX + 1, .stack = 9, .duration = -5,
				  .period = 1, .flags = 7};
	p = REC(TL_REC_FIRE, 12345678901235);
	p->tid = 2;
	p->ev = (struct tl_event){.id = 3, .flags = TL_FIRE_DELIVERED};
	p = REC(TL_REC_DRAIN, 12345678901235);
	p->tid = 2;
	p->ev.id = 3;
	p = REC(TL_REC_RELEASE, -12345678901235);
	p->tid = 1;
	p->ev.id = 2;
	p = REC(TL_REC_FREE, 1);
	p->tid = 1;
	p->ev.id = 0;
	p = REC(TL_REC_DROPPED, 2);
	p->dropped.tid = UINT32_MAX;
	p->dropped.count = UINT64_MAX;
	p->dropped.reason = TL_DROP_NOMEM;
	p->tid = UINT32_MAX;
	p = REC(TL_REC_DROPPED, 3);
	p->dropped.reason = TL_DROP_RING_FULL;
	p = REC(TL_REC_SNAPSHOT, 4);
	p->snapshot.seq = UINT64_MAX;
	p = REC(TL_REC_END, 5);
	p->end.events = UINT64_MAX;
	p->end.dropped = 0;
#undef REC
	return n;
}

/* ---------------------------------------------------------------------------
 * Writing and reading them
 */

/* Write recs to a fresh trace, flushing after every `every` records (0:
 * never, the end flushes). @return the file. */
static struct tt_buf write_recs(const struct tl_record *recs, int n, unsigned shift, int every)
{
	struct tl_trace_writer_opts o = {.time_shift = shift};
	int fd = tt_memfd(), err;
	struct tl_trace_writer *w = tl_trace_writer_new(fd, &o, &err);
	struct tt_buf b;

	if (!w)
		abort();
	for (int i = 0; i < n; i++) {
		err = tt_write_rec(w, &recs[i]);
		if (err)
			fprintf(stderr, "record %d (%s): %s\n", i, tl_rec_name(recs[i].type),
				tl_trace_strerror(err));
		CHECK_EQ(err, 0);
		if (every && (i + 1) % every == 0 && recs[i].type != TL_REC_END)
			CHECK_EQ(tl_trace_writer_flush(w), 0);
	}
	tl_trace_writer_free(w);
	b = tt_slurp(fd);
	close(fd);
	return b;
}

/* Read b and compare with recs. @return records matched. */
static int check_recs(const struct tt_buf *b, const struct tl_record *recs, int n, unsigned shift)
{
	struct tl_trace_reader_stats st;
	struct tl_trace_reader *r;
	struct tl_record rec;
	int err, i = 0, k;

	r = tl_trace_reader_open_mem(b->p, b->len, &err);
	if (!r) {
		CHECK_EQ(err, 0);
		return 0;
	}
	while ((k = tl_trace_reader_next(r, &rec)) == 1 && i < n) {
		if (!tt_rec_eq(&rec, &recs[i], shift))
			TL_FAIL_("record %d (%s, read as %s) differs", i, tl_rec_name(recs[i].type),
				 tl_rec_name(rec.type));
		i++;
	}
	CHECK_EQ(k, 0);
	CHECK_EQ(i, n);
	tl_trace_reader_stats(r, &st);
	CHECK_EQ(st.records, n);
	CHECK_EQ(st.bad_chunks, 0);
	CHECK_EQ(st.skipped_bytes, 0);
	CHECK(st.clean_end);
	CHECK(!st.truncated);
	CHECK_EQ(st.time_shift, shift);
	CHECK_EQ(st.major, TL_TRACE_MAJOR);
	CHECK_EQ(st.file_bytes, b->len);
	tl_trace_reader_close(r);
	return i;
}

static void roundtrip(unsigned shift, int every)
{
	static struct tl_record recs[NREC];
	int n;
	struct tt_buf b;

	init_values();
	n = edge_records(recs);
	b = write_recs(recs, n, shift, every);
	check_recs(&b, recs, n, shift);
	tt_free(&b);
}

TEST(every_record_shift0)
{
	roundtrip(0, 0);
}

TEST(every_record_shift10)
{
	roundtrip(10, 0);
}

/* One record per chunk: the decoding state (time, id, thread) must be
 * reset, and re-established, at every chunk. */
TEST(every_record_one_per_chunk)
{
	roundtrip(0, 1);
	roundtrip(10, 1);
	roundtrip(20, 3);
}

/* ---------------------------------------------------------------------------
 * Time rounding
 */

/* Random walks of times at every shift: each time reads back within half a
 * unit, and times in order stay in order. */
TEST(time_rounding)
{
	uint64_t s = 12345;

	for (unsigned shift = 0; shift <= TL_TRACE_MAX_SHIFT; shift += 5) {
		struct tl_trace_writer_opts o = {.time_shift = shift};
		int fd = tt_memfd(), err;
		struct tl_trace_writer *w = tl_trace_writer_new(fd, &o, &err);
		static int64_t times[20000];
		struct tl_trace_reader *r;
		struct tl_record rec;
		int64_t t = 1000000007, prev = INT64_MIN;
		struct tt_buf b;
		int i = 0;

		REQUIRE(w);
		for (int k = 0; k < 20000; k++) {
			struct tl_event e = {.id = (uint64_t)k};

			s = s * 6364136223846793005ull + 1442695040888963407ull;
			t += (int64_t)(s >> 44); /* 0 .. 1 ms, every bit noisy */
			times[k] = t;
			CHECK_EQ(tl_trace_writer_event(w, TL_REC_FIRE, t, 1, &e), 0);
			if (k % 3000 == 2999)
				CHECK_EQ(tl_trace_writer_flush(w), 0);
		}
		CHECK_EQ(tl_trace_writer_end(w, t, 20000, 0), 0);
		tl_trace_writer_free(w);
		b = tt_slurp(fd);
		close(fd);
		r = tl_trace_reader_open_mem(b.p, b.len, &err);
		REQUIRE(r);
		while (tl_trace_reader_next(r, &rec) == 1 && rec.type == TL_REC_FIRE) {
			if (!tt_time_ok(rec.time, times[i], shift))
				TL_FAIL_("shift %u, event %d: %lld read as %lld", shift, i,
					 (long long)times[i], (long long)rec.time);
			CHECK(rec.time >= prev);
			prev = rec.time;
			i++;
		}
		CHECK_EQ(i, 20000);
		tl_trace_reader_close(r);
		tt_free(&b);
	}
}

/* ---------------------------------------------------------------------------
 * Many chunks, stats
 */

TEST(many_chunks_and_stats)
{
	struct tl_workload_opts wo = {.seed = 3, .events = 200000, .chunk_bytes = 16384};
	struct tl_trace_writer_stats ws;
	struct tl_trace_reader_stats rs;
	int fd = tt_memfd(), err, open_err;
	struct tl_trace_writer *w = tl_trace_writer_new(fd, NULL, &err);
	struct tt_buf b;
	long n;

	REQUIRE(w);
	CHECK_EQ(tl_workload_write(w, &wo), 0);
	tl_trace_writer_stats(w, &ws);
	tl_trace_writer_free(w);
	b = tt_slurp(fd);
	close(fd);
	CHECK_RANGE(ws.events, 200000, 200010);
	CHECK_EQ(ws.lost_events, 0);
	CHECK_EQ(ws.failed, 0);
	CHECK_EQ(ws.file_bytes, b.len);
	CHECK(ws.chunks > 50);
	n = tt_read_all(b.p, b.len, &rs, NULL, 0, &open_err);
	CHECK(n > (long)ws.events);
	CHECK_EQ(rs.chunks, ws.chunks);
	CHECK_EQ(rs.records, n);
	CHECK_EQ(rs.bad_chunks, 0);
	CHECK(rs.clean_end);
	CHECK(!rs.truncated);
	CHECK_EQ(rs.file_bytes, b.len);
	tt_free(&b);
}

/* A trace followed while it is written: its bytes appended a piece at a
 * time (cut anywhere, inside headers and payloads), read after each piece.
 * Every record comes once, in order; nothing is counted damaged or cut
 * short on the way; the end record ends it. */
TEST(follow_growing_file)
{
	struct tl_workload_opts wo = {.seed = 5, .events = 20000, .chunk_bytes = 4096};
	struct tl_trace_reader_stats rs;
	struct tl_trace_reader *r = NULL;
	int fd = tt_memfd(), out = tt_memfd(), in, err, open_err;
	struct tl_trace_writer *w = tl_trace_writer_new(fd, NULL, &err);
	struct tl_record rec;
	struct tt_buf b;
	char path[64];
	long want, got = 0, waits = 0;
	size_t at = 0;

	REQUIRE(w);
	CHECK_EQ(tl_workload_write(w, &wo), 0);
	tl_trace_writer_free(w);
	b = tt_slurp(fd);
	close(fd);
	want = tt_read_all(b.p, b.len, &rs, NULL, 0, &open_err);
	REQUIRE(want > 20000);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", out);
	in = open(path, O_RDONLY);
	REQUIRE(in >= 0);
	while (at < b.len) {
		size_t n = b.len - at < 331 ? b.len - at : 331; /* a prime: cuts anywhere */

		REQUIRE(write(out, b.p + at, n) == (ssize_t)n);
		at += n;
		if (!r) { /* the file header is in the first piece */
			r = tl_trace_reader_open_fd(in, &err);
			REQUIRE(r);
			tl_trace_reader_follow(r);
		}
		while ((err = tl_trace_reader_next(r, &rec)) == 1)
			got++;
		CHECK_EQ(err, 0);
		waits++;
		tl_trace_reader_stats(r, &rs);
		CHECK(!rs.truncated);
		CHECK_EQ(rs.bad_chunks, 0);
		CHECK_EQ(rs.clean_end, at == b.len);
	}
	CHECK_EQ(got, want);
	CHECK(waits > 100);
	tl_trace_reader_stats(r, &rs);
	CHECK(rs.clean_end);
	CHECK_EQ(rs.skipped_bytes, 0);
	CHECK_EQ(tl_trace_reader_next(r, &rec), 0);
	tl_trace_reader_close(r);
	close(in);
	close(out);
	tt_free(&b);
}

/* A record that would take the chunk past 16 MiB flushes it first; a
 * record bigger than a chunk is refused. */
TEST(chunk_limit)
{
	int fd = tt_memfd(), err;
	struct tl_trace_writer *w = tl_trace_writer_new(fd, NULL, &err);
	struct tl_trace_writer_stats ws;
	struct tl_process p = {.argc = 17};
	const char *argv[17];
	struct tl_trace_reader_stats rs;
	struct tt_buf b;

	REQUIRE(w);
	init_values();
	for (int i = 0; i < 40; i++)
		CHECK_EQ(tl_trace_writer_thread(w, (uint32_t)i, long_str), 0);
	CHECK(tl_trace_writer_pending(w) <= TL_TRACE_MAX_CHUNK);
	for (int i = 0; i < 17; i++)
		argv[i] = long_str;
	p.argv = argv;
	CHECK_EQ(tl_trace_writer_process(w, &p), TL_TRACE_E_TOO_BIG);
	CHECK_EQ(tl_trace_writer_end(w, 0, 0, 0), 0);
	tl_trace_writer_stats(w, &ws);
	tl_trace_writer_free(w);
	CHECK_EQ(ws.chunks, 3);
	b = tt_slurp(fd);
	close(fd);
	CHECK_EQ(tt_read_all(b.p, b.len, &rs, NULL, 0, &err), 41);
	CHECK_EQ(rs.chunks, 3);
	CHECK(rs.clean_end);
	tt_free(&b);
}

/* ---------------------------------------------------------------------------
 * Descriptors: files, pipes, a moved descriptor
 */

/* The writer writes into a pipe (no seeking, no reservation) from a child;
 * the reader reads the other end (no seeking either). */
TEST(pipe_both_ends)
{
	int p[2], err, status;
	struct tl_trace_reader *r;
	struct tl_trace_reader_stats st;
	struct tl_record rec;
	long n = 0;
	pid_t pid;

	REQUIRE(pipe(p) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct tl_workload_opts wo = {.seed = 9, .events = 50000, .chunk_bytes = 4096};
		struct tl_trace_writer *w;

		close(p[0]);
		w = tl_trace_writer_new(p[1], NULL, &err);
		_exit(!w || tl_workload_write(w, &wo) != 0);
	}
	close(p[1]);
	r = tl_trace_reader_open_fd(p[0], &err);
	REQUIRE(r);
	while (tl_trace_reader_next(r, &rec) == 1)
		n++;
	tl_trace_reader_stats(r, &st);
	tl_trace_reader_close(r);
	close(p[0]);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(n > 50000);
	CHECK(st.chunks > 10);
	CHECK(st.clean_end);
	CHECK(!st.truncated);
	CHECK_EQ(st.bad_chunks, 0);
}

/* open(path), and a writer whose descriptor moves mid-trace. */
TEST(file_and_set_fd)
{
	char path[] = "/tmp/trace-test-XXXXXX";
	int fd = mkstemp(path), fd2, err;
	struct tl_trace_writer *w;
	struct tl_trace_reader *r;
	struct tl_trace_reader_stats st;
	struct tl_record rec;
	struct tl_event e = {.id = 1};
	int n = 0;

	REQUIRE(fd >= 0);
	w = tl_trace_writer_new(fd, NULL, &err);
	REQUIRE(w);
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_FIRE, 10, 1, &e), 0);
	CHECK_EQ(tl_trace_writer_flush(w), 0);
	fd2 = dup(fd);
	close(fd);
	CHECK_EQ(tl_trace_writer_set_fd(w, fd2), 0);
	CHECK_EQ(tl_trace_writer_set_fd(w, -1), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_FIRE, 20, 1, &e), 0);
	CHECK_EQ(tl_trace_writer_end(w, 30, 2, 0), 0);
	tl_trace_writer_free(w);
	close(fd2);

	r = tl_trace_reader_open(path, &err);
	REQUIRE(r);
	while (tl_trace_reader_next(r, &rec) == 1)
		n++;
	tl_trace_reader_stats(r, &st);
	tl_trace_reader_close(r);
	unlink(path);
	CHECK_EQ(n, 3);
	CHECK_EQ(st.chunks, 2);
	CHECK(st.clean_end);

	errno = 0;
	CHECK(!tl_trace_reader_open("/nonexistent/trace.tlk", &err));
	CHECK_EQ(err, TL_TRACE_E_IO);
	CHECK_EQ(errno, ENOENT);
}

/* ---------------------------------------------------------------------------
 * The writer's checks
 */

TEST(writer_refuses_bad_arguments)
{
	struct tl_trace_writer_opts bad_shift = {.time_shift = 21}, bad_level = {.zstd_level = 99};
	int fd = tt_memfd(), err;
	struct tl_trace_writer *w;
	struct tl_event e = {0};
	uint64_t f[TL_TRACE_MAX_FRAMES + 1] = {0};
	struct tl_module m = {.nseg = TL_MAX_SEGMENTS + 1, .segs = segs_max};
	struct tl_module m2 = {.build_id_len = TL_MAX_BUILD_ID + 1, .build_id = build_id_max};
	struct tl_trace_writer_stats ws;
	struct tl_process p = {.argc = 1};

	init_values();
	CHECK(!tl_trace_writer_new(fd, &bad_shift, &err));
	CHECK_EQ(err, TL_TRACE_E_INVAL);
	CHECK(!tl_trace_writer_new(fd, &bad_level, &err));
	CHECK_EQ(err, TL_TRACE_E_INVAL);
	CHECK(!tl_trace_writer_new(-1, NULL, &err));
	CHECK_EQ(err, TL_TRACE_E_INVAL);
	w = tl_trace_writer_new(fd, NULL, &err);
	REQUIRE(w);
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_DROPPED, 0, 0, &e), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_CREATE, 0, 0, NULL), TL_TRACE_E_INVAL);
	/* The id rules: no id 0, runtime kinds even, kernel kinds odd. */
	e = (struct tl_event){.id = 0, .kind = TL_KIND_TIMERFD};
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_CREATE, 0, 0, &e), TL_TRACE_E_INVAL);
	e = (struct tl_event){.id = 4, .kind = TL_KIND_TIMERFD};
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_CREATE, 0, 0, &e), TL_TRACE_E_INVAL);
	e = (struct tl_event){.id = 5, .kind = TL_KIND_AFTER};
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_CREATE, 0, 0, &e), TL_TRACE_E_INVAL);
	e = (struct tl_event){.id = 5, .kind = TL_KIND_GO_TICKER};
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_CREATE, 0, 0, &e), TL_TRACE_E_INVAL);
	e = (struct tl_event){0};
	CHECK_EQ(tl_trace_writer_stack(w, 0, f, 1), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_stack(w, 1, f, TL_TRACE_MAX_FRAMES + 1), TL_TRACE_E_TOO_BIG);
	CHECK_EQ(tl_trace_writer_module(w, 0, &m), TL_TRACE_E_TOO_BIG);
	CHECK_EQ(tl_trace_writer_module(w, 0, &m2), TL_TRACE_E_TOO_BIG);
	CHECK_EQ(tl_trace_writer_process(w, &p), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_thread(w, 1, long_str), 0); /* exactly the limit */
	CHECK_EQ(tl_trace_writer_dropped(w, 0, 0, 1, 0), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_dropped(w, 0, 0, 1, TL_DROP_MAX + 1), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_end_signal(w, 0), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_end_signal(w, 65), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_runtime(w, 0, -1, "x", "y"), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_end(w, 0, 0, 0), 0);
	CHECK_EQ(tl_trace_writer_end(w, 0, 0, 0), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_FIRE, 0, 0, &e), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_flush(w), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_thread(w, 1, "late"), TL_TRACE_E_INVAL);
	tl_trace_writer_stats(w, &ws);
	CHECK_EQ(ws.events, 0); /* refused calls are not events */
	tl_trace_writer_free(w);
	tl_trace_writer_free(NULL);
	close(fd);
}

/* A string one byte over the limit is refused, and leaves the chunk as it
 * was: the next record still lands. */
TEST(writer_string_limit)
{
	static char over[TL_TRACE_MAX_STRING + 2];
	int fd = tt_memfd(), err;
	struct tl_trace_writer *w = tl_trace_writer_new(fd, NULL, &err);
	size_t before;
	struct tt_buf b;

	REQUIRE(w);
	memset(over, 'y', TL_TRACE_MAX_STRING + 1);
	CHECK_EQ(tl_trace_writer_thread(w, 1, "a"), 0);
	before = tl_trace_writer_pending(w);
	CHECK_EQ(tl_trace_writer_thread(w, 2, over), TL_TRACE_E_TOO_BIG);
	CHECK_EQ(tl_trace_writer_pending(w), before);
	CHECK_EQ(tl_trace_writer_runtime(w, 5, TL_MODE_ASYNC, over, "v"), TL_TRACE_E_TOO_BIG);
	CHECK_EQ(tl_trace_writer_thread(w, 3, "b"), 0);
	CHECK_EQ(tl_trace_writer_end(w, 9, 0, 0), 0);
	tl_trace_writer_free(w);
	b = tt_slurp(fd);
	close(fd);
	CHECK_EQ(tt_read_all(b.p, b.len, NULL, NULL, 0, &err), 3);
	tt_free(&b);
}

/* The recorder's settings, and the signal a trace ends with: read back in
 * place, the signal right before the end record, and the dropped count of
 * the new reason kept. */
TEST(signal_and_recorder)
{
	struct tl_trace_writer *w;
	struct tl_record recs[8];
	int fd = tt_memfd(), err, n;

	w = tl_trace_writer_new(fd, NULL, &err);
	CHECK(w != NULL);
	CHECK_EQ(tl_trace_writer_recorder(w, 200), 0);
	CHECK_EQ(tl_trace_writer_dropped(w, 5, 0, 3, TL_DROP_UNTRACKED), 0);
	CHECK_EQ(tl_trace_writer_end_signal(w, 15), 0);
	CHECK_EQ(tl_trace_writer_end(w, 10, 0, 3), 0);
	tl_trace_writer_free(w);
	n = tt_records_of(fd, recs, 8);
	CHECK_EQ(n, 4);
	CHECK_EQ(recs[0].type, TL_REC_RECORDER);
	CHECK_EQ(recs[0].recorder.flush_ms, 200);
	CHECK_EQ(recs[1].type, TL_REC_DROPPED);
	CHECK_EQ(recs[1].dropped.reason, TL_DROP_UNTRACKED);
	CHECK_EQ(recs[1].dropped.count, 3);
	CHECK_EQ(recs[2].type, TL_REC_SIGNAL);
	CHECK_EQ(recs[2].signal.signo, 15);
	CHECK_EQ(recs[3].type, TL_REC_END);
	close(fd);
}

/* An attached recorder's records: when the process started, and a timer
 * made before the recording, between events whose ids and times still
 * decode as deltas from each other (extension records leave them alone). */
TEST(attached_and_existing)
{
	struct tl_event create = {.id = tl_id_make(TL_ID_KERNEL, 7), .kind = TL_KIND_TIMERFD};
	struct tl_event before = {.id = tl_id_make(TL_ID_RUNTIME, 3), .kind = TL_KIND_TICKER,
				  .stack = 2, .duration = 5000, .period = 5000, .size = 152,
				  .aux = 9};
	struct tl_event free_ev = {.id = create.id}, bad = before;
	struct tl_trace_writer *w;
	struct tl_record recs[8];
	int fd = tt_memfd(), err, n;

	w = tl_trace_writer_new(fd, NULL, &err);
	CHECK(w != NULL);
	CHECK_EQ(tl_trace_writer_attached(w, -123456789), 0);
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_CREATE, 1000, 1, &create), 0);
	CHECK_EQ(tl_trace_writer_existing(w, 1500, &before), 0);
	bad.id = 5; /* odd: a kernel id for a ticker */
	CHECK_EQ(tl_trace_writer_existing(w, 1500, &bad), TL_TRACE_E_INVAL);
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_FREE, 2000, 1, &free_ev), 0);
	CHECK_EQ(tl_trace_writer_end(w, 3000, 2, 0), 0);
	tl_trace_writer_free(w);
	n = tt_records_of(fd, recs, 8);
	CHECK_EQ(n, 5);
	CHECK_EQ(recs[0].type, TL_REC_ATTACHED);
	CHECK_EQ(recs[0].attached.started, -123456789);
	CHECK_EQ(recs[1].type, TL_REC_CREATE);
	CHECK_EQ(recs[2].type, TL_REC_EXISTING);
	CHECK_EQ(recs[2].time, 1500);
	CHECK_EQ(recs[2].ev.id, before.id);
	CHECK_EQ(recs[2].ev.kind, TL_KIND_TICKER);
	CHECK_EQ(recs[2].ev.stack, 2);
	CHECK_EQ(recs[2].ev.duration, 5000);
	CHECK_EQ(recs[2].ev.period, 5000);
	CHECK_EQ(recs[2].ev.size, 152);
	CHECK_EQ(recs[2].ev.aux, 9);
	CHECK_EQ(recs[3].type, TL_REC_FREE);
	CHECK_EQ(recs[3].ev.id, create.id);
	CHECK_EQ(recs[3].time, 2000);
	CHECK_EQ(recs[4].type, TL_REC_END);
	close(fd);
}

/* With prealloc_bytes, chunks within it and a chunk far beyond it (which
 * gets a compressor of its own) are all written and read back. */
TEST(prealloc)
{
	struct tl_trace_writer_opts o = {.prealloc_bytes = 4096};
	struct tl_trace_writer *w;
	struct tl_trace_reader_stats st;
	struct tl_event e = {.id = 1, .kind = TL_KIND_TIMER, .stack = 0};
	struct tt_buf b;
	int fd = tt_memfd(), err, types[4];
	long n;

	w = tl_trace_writer_new(fd, &o, &err);
	CHECK(w != NULL);
	for (int chunk = 0; chunk < 3; chunk++) {
		int events = chunk == 2 ? 100000 : 100;

		for (int i = 0; i < events; i++) {
			e.id = tl_id_make(TL_ID_RUNTIME, (uint64_t)(chunk * 1000000 + i + 1));
			CHECK_EQ(tl_trace_writer_event(w, TL_REC_CREATE, i * 1000, 1, &e), 0);
		}
		CHECK_EQ(tl_trace_writer_flush(w), 0);
	}
	CHECK_EQ(tl_trace_writer_end(w, 0, 100200, 0), 0);
	tl_trace_writer_free(w);
	lseek(fd, 0, SEEK_SET);
	b = tt_slurp(fd);
	n = tt_read_all(b.p, b.len, &st, types, 4, &err);
	CHECK_EQ(n, 100201);
	CHECK_EQ(st.chunks, 4);
	CHECK(st.clean_end);
	tt_free(&b);
	close(fd);
}

/* With prealloc_bytes, a chunk of up to that many bytes allocates
 * nothing, whichever stream holds them: here fires at a 1 ns time unit,
 * mostly times (as the shim, which flushes at half its prealloc). */
TEST(prealloc_any_stream)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* the sanitizers' allocators do not keep mallinfo2's counts */
#else
	struct tl_trace_writer_opts o = {.prealloc_bytes = 512 << 10, .time_shift = 0};
	struct tl_event e = {.id = tl_id_make(TL_ID_RUNTIME, 1)};
	struct tl_trace_writer *w;
	struct mallinfo2 before, after;
	int fd = tt_memfd(), err;
	uint64_t x = 88172645463325252ull;
	int64_t t = 0;

	w = tl_trace_writer_new(fd, &o, &err);
	REQUIRE(w);
	CHECK_EQ(tl_trace_writer_event(w, TL_REC_CREATE, 0, 1, &e), 0);
	before = mallinfo2();
	while (tl_trace_writer_pending(w) < (256u << 10)) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		t += 1 + (int64_t)(x % 100000000);
		CHECK_EQ(tl_trace_writer_event(w, TL_REC_FIRE, t, 1, &e), 0);
	}
	after = mallinfo2();
	CHECK_EQ(after.uordblks + after.hblkhd, before.uordblks + before.hblkhd);
	tl_trace_writer_free(w);
	close(fd);
#endif
}

/* The kind table and the id helpers: what every stage relies on. */
TEST(kinds_and_ids)
{
	int runtime = 0, kernel = 0;

	for (int k = 1; k <= TL_KIND_MAX; k++) {
		const struct tl_kind_info *i = tl_kind_info(k);

		CHECK(i->source != TL_SOURCE_UNKNOWN);
		CHECK(!(i->channel && i->callback));
		CHECK(!i->descriptor || i->source == TL_SOURCE_KERNEL);
		runtime += tl_kind_is_runtime(k);
		kernel += tl_kind_id_stream(k) == TL_ID_KERNEL;
		CHECK_EQ(tl_kind_is_runtime(k), tl_kind_id_stream(k) == TL_ID_RUNTIME);
	}
	CHECK_EQ(runtime, 9);
	CHECK_EQ(kernel, 2);
	CHECK(tl_kind_info(TL_KIND_TICKER)->periodic && tl_kind_info(TL_KIND_GO_TICKER)->periodic);
	CHECK(tl_kind_info(TL_KIND_AFTERFUNC)->callback && tl_kind_info(TL_KIND_GO_AFTERFUNC)->callback);
	CHECK(tl_kind_info(TL_KIND_TIMER)->caller_frees && !tl_kind_info(TL_KIND_GO_TIMER)->caller_frees);
	CHECK(tl_kind_info(TL_KIND_TIMERFD)->descriptor && !tl_kind_info(TL_KIND_POSIX)->descriptor);
	CHECK_STR(tl_kind_info(0)->name, "unknown");
	CHECK_STR(tl_kind_info(-5)->name, "unknown");
	CHECK_EQ(tl_kind_info(TL_KIND_MAX + 1)->source, TL_SOURCE_UNKNOWN);
	CHECK_EQ(tl_id_make(TL_ID_KERNEL, 0), 1);
	CHECK_EQ(tl_id_make(TL_ID_RUNTIME, 7), 14);
	CHECK_EQ(tl_id_stream(15), TL_ID_KERNEL);
	CHECK(tl_id_fits(1, TL_KIND_TIMERFD) && !tl_id_fits(2, TL_KIND_POSIX));
	CHECK(tl_id_fits(2, TL_KIND_GO_SLEEP) && !tl_id_fits(0, TL_KIND_TIMER));
	CHECK(tl_id_fits(3, 200) && !tl_id_fits(0, 200));
}

TEST(names)
{
	CHECK_STR(tl_rec_name(TL_REC_CREATE), "create");
	CHECK_STR(tl_rec_name(TL_REC_MODULE_UNLOAD), "module-unload");
	CHECK_STR(tl_rec_name(TL_REC_END), "end");
	CHECK_STR(tl_rec_name(0), "unknown");
	CHECK_STR(tl_rec_name(0x08), "unknown");
	CHECK_STR(tl_rec_name(TL_REC_SIGNAL), "signal");
	CHECK_STR(tl_rec_name(TL_REC_RECORDER), "recorder");
	CHECK_STR(tl_rec_name(TL_REC_ATTACHED), "attached");
	CHECK_STR(tl_rec_name(TL_REC_EXISTING), "existing");
	CHECK_STR(tl_rec_name(0x44), "unknown");
	CHECK_STR(tl_rec_name(-1), "unknown");
	CHECK_STR(tl_kind_name(TL_KIND_TICKER), "ticker");
	CHECK_STR(tl_kind_name(TL_KIND_GO_SLEEP), "go-sleep");
	CHECK_STR(tl_kind_name(0), "unknown");
	CHECK_STR(tl_kind_name(TL_KIND_MAX + 1), "unknown");
	CHECK_STR(tl_drop_reason_name(TL_DROP_WRITE_FAILED), "write-failed");
	CHECK_STR(tl_drop_reason_name(TL_DROP_UNTRACKED), "untracked");
	CHECK_STR(tl_drop_reason_name(9), "unknown");
	CHECK_STR(tl_mode_name(TL_MODE_SYNC), "sync");
	CHECK_STR(tl_mode_name(0), "unknown");
	CHECK_STR(tl_trace_strerror(0), "success");
	CHECK_STR(tl_trace_strerror(-999), "unknown trace error");
	for (int e = -1; e >= TL_TRACE_E_BAD_PAYLOAD; e--)
		CHECK(strcmp(tl_trace_strerror(e), "unknown trace error") != 0);
	CHECK(tl_trace_is_error(TL_TRACE_E_IO));
	CHECK(!tl_trace_is_error(0));
	CHECK(!tl_trace_is_error(1));
}

/* A note: header, name padded to 4, descriptor padded to 4, at p. */
static size_t put_note(uint8_t *p, uint32_t type, const char *name, const uint8_t *desc,
		       uint32_t desc_len)
{
	uint32_t h[3] = {(uint32_t)strlen(name) + 1, desc_len, type};
	size_t n = (h[0] + 3) & ~3u;

	memcpy(p, h, sizeof(h));
	memset(p + 12, 0, n + ((desc_len + 3) & ~3u));
	memcpy(p + 12, name, h[0]);
	memcpy(p + 12 + n, desc, desc_len);
	return 12 + n + ((desc_len + 3) & ~3u);
}

TEST(build_id_in_notes)
{
	static const uint8_t id[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
	uint8_t buf[256] = {0};
	const uint8_t *got;
	size_t n;

	/* Behind another note, at an odd address (a buffer read from a file). */
	n = 1 + put_note(buf + 1, 1, "GNU", (const uint8_t *)"abcd", 4);
	n += put_note(buf + n, 3 /* NT_GNU_BUILD_ID */, "GNU", id, sizeof(id));
	CHECK_EQ(tl_build_id_in_notes(buf + 1, n - 1, &got), 20);
	CHECK(got && memcmp(got, id, sizeof(id)) == 0);
	/* Cut inside the descriptor: not there. */
	CHECK_EQ(tl_build_id_in_notes(buf + 1, n - 5, &got), 0);
	CHECK(got == NULL);
	/* A name or descriptor size far past the end: no reading there. */
	{
		uint32_t h[3] = {0xfffffff0u, 20, 3};

		memcpy(buf, h, sizeof(h));
		CHECK_EQ(tl_build_id_in_notes(buf, 64, &got), 0);
		h[0] = 4;
		h[1] = 0xfffffff0u;
		memcpy(buf, h, sizeof(h));
		CHECK_EQ(tl_build_id_in_notes(buf, 64, &got), 0);
	}
	CHECK_EQ(tl_build_id_in_notes(buf, 5, &got), 0);
}

TEST_MAIN()
