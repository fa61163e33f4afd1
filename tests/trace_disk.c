/*
 * trace_disk.c - the writer on a full disk: a tiny tmpfs fills up, and the
 * trace must stay well formed (whole chunks only), end with dropped
 * (write-failed) and end records in the space reserved for them, and count
 * every lost event.
 *
 * Mounting needs root (CAP_SYS_ADMIN); without it each case says so and
 * exits 77, which ctest reports as skipped.
 */
#include "trace_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>

#define SKIP 77

struct tiny {
	char dir[64];
	char path[128];
};

/* Mount a tmpfs of size bytes on a fresh directory, or skip the case. */
static void tiny_mount(struct tiny *t, const char *size)
{
	char opts[64];

	snprintf(t->dir, sizeof(t->dir), "/tmp/tl-trace-disk-XXXXXX");
	if (!mkdtemp(t->dir)) {
		TL_FAIL_("mkdtemp: %s", strerror(errno));
		exit(1);
	}
	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (mount("tmpfs", t->dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
		printf("skipped: cannot mount a %s tmpfs on %s: %s (the full-disk tests need "
		       "root)\n",
		       size, t->dir, strerror(errno));
		rmdir(t->dir);
		exit(SKIP);
	}
	snprintf(t->path, sizeof(t->path), "%s/trace.tlk", t->dir);
}

static void tiny_umount(struct tiny *t)
{
	unlink(t->path);
	if (umount2(t->dir, MNT_DETACH) != 0)
		TL_FAIL_("umount %s: %s", t->dir, strerror(errno));
	rmdir(t->dir);
}

static int open_trace(const struct tiny *t)
{
	return open(t->path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* An event whose bytes barely compress: random ids, times and sizes. */
static int noisy_event(struct tl_trace_writer *w, uint64_t *s, int64_t *t)
{
	struct tl_event e;

	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	*t += (int64_t)(*s >> 40);
	e = (struct tl_event){.id = tl_id_make(TL_ID_RUNTIME, *s | 1), .kind = TL_KIND_TIMER, .stack = (uint32_t)(*s >> 7),
			      .duration = (int64_t)(*s >> 3), .size = *s >> 17};
	return tl_trace_writer_event(w, TL_REC_CREATE, *t, (uint32_t)(*s >> 60), &e);
}

/* What the file says, read back. */
struct outcome {
	struct tl_trace_reader_stats st;
	uint64_t events;          /* event records */
	uint64_t dropped[5];      /* dropped counts by reason */
	struct tl_record end;     /* the end record, type 0 if none */
};

static void read_back(const char *path, struct outcome *o)
{
	struct tl_trace_reader *r;
	struct tl_record rec;
	int err;

	memset(o, 0, sizeof(*o));
	r = tl_trace_reader_open(path, &err);
	if (!r) {
		TL_FAIL_("%s: %s", path, tl_trace_strerror(err));
		return;
	}
	while (tl_trace_reader_next(r, &rec) == 1) {
		if (tl_rec_is_event(rec.type))
			o->events++;
		else if (rec.type == TL_REC_DROPPED && rec.dropped.reason <= 4)
			o->dropped[rec.dropped.reason] += rec.dropped.count;
		else if (rec.type == TL_REC_END)
			o->end = rec;
	}
	tl_trace_reader_stats(r, &o->st);
	tl_trace_reader_close(r);
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The common case: flushes fail at some point; the caller carries on
 * (events counted lost), then writes its dropped record and the end. */
TEST(disk_full_then_end)
{
	struct tiny t;
	struct tl_trace_writer_stats ws;
	struct tl_trace_writer *w;
	struct outcome o;
	uint64_t s = 42;
	int64_t now = 1000;
	int fd, err, flush_err = 0, ring_drops = 0;

	tiny_mount(&t, "64k");
	fd = open_trace(&t);
	REQUIRE(fd >= 0);
	w = tl_trace_writer_new(fd, NULL, &err);
	REQUIRE(w);
	for (int i = 0; i < 200000 && !flush_err; i++) {
		noisy_event(w, &s, &now);
		if (i % 100 == 99) {
			/* A ring overflow now and then, as the shim reports. */
			CHECK_EQ(tl_trace_writer_dropped(w, now, 7, 3, TL_DROP_RING_FULL), 0);
			ring_drops += 3;
			flush_err = tl_trace_writer_flush(w);
		}
	}
	CHECK_EQ(flush_err, TL_TRACE_E_DISK_FULL);
	CHECK_EQ(tl_trace_writer_pending(w), 0);
	/* Writing has failed: events are refused, counted, and lost. */
	for (int i = 0; i < 10; i++)
		CHECK_EQ(noisy_event(w, &s, &now), TL_TRACE_E_DISK_FULL);
	CHECK_EQ(tl_trace_writer_flush(w), TL_TRACE_E_DISK_FULL);
	CHECK_EQ(tl_trace_writer_dropped(w, now, 8, 5, TL_DROP_RING_FULL), 0);
	ring_drops += 5;
	CHECK_EQ(tl_trace_writer_pending(w), 0);
	tl_trace_writer_stats(w, &ws);
	CHECK_EQ(ws.failed, TL_TRACE_E_DISK_FULL);
	CHECK(ws.lost_events >= 10);
	CHECK(ws.chunks > 0);
	CHECK_EQ(file_size(t.path), (off_t)ws.file_bytes);

	/* The caller's part: the loss, then the end, as the shim does. */
	CHECK_EQ(tl_trace_writer_dropped(w, now, 0, ws.lost_events, TL_DROP_WRITE_FAILED), 0);
	CHECK_EQ(tl_trace_writer_end(w, now, ws.events, ws.lost_events + (uint64_t)ring_drops), 0);
	tl_trace_writer_stats(w, &ws);
	tl_trace_writer_free(w);
	close(fd);

	read_back(t.path, &o);
	CHECK_EQ(o.st.bad_chunks, 0);
	CHECK_EQ(o.st.skipped_bytes, 0);
	CHECK(o.st.clean_end);
	CHECK(!o.st.truncated);
	CHECK_EQ(o.events + ws.lost_events, ws.events);
	CHECK_EQ(o.dropped[TL_DROP_WRITE_FAILED], ws.lost_events);
	/* Ring drops in the lost chunk and after it reached the final chunk:
	 * none went unreported. */
	CHECK_EQ(o.dropped[TL_DROP_RING_FULL], ring_drops);
	CHECK_EQ(o.end.type, TL_REC_END);
	CHECK_EQ(o.end.end.events, ws.events);
	CHECK_EQ(file_size(t.path), (off_t)ws.file_bytes);
	printf("disk full after %llu chunks: %llu of %llu events lost; file %llu bytes\n",
	       (unsigned long long)ws.chunks - 1, (unsigned long long)ws.lost_events,
	       (unsigned long long)ws.events, (unsigned long long)ws.file_bytes);
	tiny_umount(&t);
}

/* The end's own chunk is the one that does not fit: the writer reports its
 * events itself, in the final chunk. */
TEST(disk_full_at_end)
{
	struct tiny t;
	struct tl_trace_writer_stats ws;
	struct tl_trace_writer *w;
	struct outcome o;
	uint64_t s = 7;
	int64_t now = 1000;
	int fd, err;

	tiny_mount(&t, "64k");
	fd = open_trace(&t);
	REQUIRE(fd >= 0);
	w = tl_trace_writer_new(fd, NULL, &err);
	REQUIRE(w);
	for (int i = 0; i < 4000; i++) /* about 100 KB of noise: more than the disk */
		CHECK_EQ(noisy_event(w, &s, &now), 0);
	CHECK_EQ(tl_trace_writer_end(w, now, 4000, 0), 0);
	tl_trace_writer_stats(w, &ws);
	tl_trace_writer_free(w);
	close(fd);
	CHECK_EQ(ws.lost_events, 4000);
	CHECK_EQ(ws.failed, TL_TRACE_E_DISK_FULL);

	read_back(t.path, &o);
	CHECK_EQ(o.st.bad_chunks, 0);
	CHECK(o.st.clean_end);
	CHECK_EQ(o.events, 0);
	CHECK_EQ(o.dropped[TL_DROP_WRITE_FAILED], 4000);
	CHECK_EQ(o.end.end.events, 4000);
	CHECK_EQ(o.end.end.dropped, 4000);
	tiny_umount(&t);
}

/* No room for the header and its reservation: the writer refuses to start
 * and leaves no half-made file behind. */
TEST(disk_full_at_start)
{
	struct tiny t;
	char filler[160];
	int fd, ffd, err;
	static char page[4096];
	struct tl_trace_writer *w;

	tiny_mount(&t, "64k");
	snprintf(filler, sizeof(filler), "%s/filler", t.dir);
	ffd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	REQUIRE(ffd >= 0);
	while (write(ffd, page, sizeof(page)) > 0)
		;
	fd = open_trace(&t);
	REQUIRE(fd >= 0);
	w = tl_trace_writer_new(fd, NULL, &err);
	CHECK(!w);
	CHECK_EQ(err, TL_TRACE_E_DISK_FULL);
	CHECK_EQ(file_size(t.path), 0);
	tl_trace_writer_free(w);
	close(fd);
	close(ffd);
	unlink(filler);
	tiny_umount(&t);
}

/* Each flush that succeeds leaves the reservation in place: a trace of
 * small chunks grows to fill the disk, and still ends well, the final chunk
 * landing where nothing else would fit. */
TEST(disk_full_reserve_holds)
{
	struct tiny t;
	struct tl_trace_writer_stats ws;
	struct tl_trace_writer *w;
	struct outcome o;
	uint64_t s = 3;
	int64_t now = 1000;
	int fd, err, i;

	tiny_mount(&t, "32k");
	fd = open_trace(&t);
	REQUIRE(fd >= 0);
	w = tl_trace_writer_new(fd, NULL, &err);
	REQUIRE(w);
	for (i = 0; i < 100000; i++) {
		noisy_event(w, &s, &now);
		if (i % 10 == 9 && tl_trace_writer_flush(w) != 0)
			break;
	}
	CHECK(i < 100000);
	tl_trace_writer_stats(w, &ws);
	/* Nothing else fits now, not even one page. */
	{
		char filler[160];
		static char page[4096];
		int ffd;

		snprintf(filler, sizeof(filler), "%s/filler", t.dir);
		ffd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		while (ffd >= 0 && write(ffd, page, sizeof(page)) > 0)
			;
		if (ffd >= 0)
			close(ffd);
	}
	CHECK_EQ(tl_trace_writer_dropped(w, now, 0, ws.lost_events, TL_DROP_WRITE_FAILED), 0);
	CHECK_EQ(tl_trace_writer_end(w, now, ws.events, ws.lost_events), 0);
	tl_trace_writer_free(w);
	close(fd);
	read_back(t.path, &o);
	CHECK(o.st.clean_end);
	CHECK_EQ(o.st.bad_chunks, 0);
	CHECK_EQ(o.events + ws.lost_events, ws.events);
	CHECK_EQ(o.dropped[TL_DROP_WRITE_FAILED], ws.lost_events);
	tiny_umount(&t);
}

TEST_MAIN()
