/*
 * tl_trace.h - the timerleak trace format: writer and streaming reader.
 *
 * docs/trace-format.md specifies the bytes. This library is the only code
 * that produces or parses them; the shim, the eBPF collector and the
 * analyzer all go through it.
 *
 * Errors: functions returning int return 0 (or a count) on success and a
 * negative TL_TRACE_E_* code on failure; tl_trace_strerror() describes a
 * code, tl_trace_is_error() tests one. The numbers are stable: they may be
 * added to, never changed.
 *
 * Thread safety: a writer or a reader is used by one thread at a time.
 */
#ifndef TL_TRACE_H
#define TL_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TL_TRACE_MAJOR 2
#define TL_TRACE_MINOR 0

#define TL_TRACE_MAX_FRAMES  256
#define TL_TRACE_MAX_CHUNK   (16u << 20) /* raw bytes per chunk */
#define TL_TRACE_MAX_STRING  (1u << 20)

/* ---------------------------------------------------------------------------
 * Errors
 */
enum tl_trace_error {
	TL_TRACE_OK = 0,
	TL_TRACE_E_IO = -1,             /* read or write failed; errno has the cause */
	TL_TRACE_E_NOMEM = -2,
	TL_TRACE_E_NOT_TRACE = -3,      /* no trace magic: not a timerleak trace */
	TL_TRACE_E_NEWER_VERSION = -4,  /* major version above TL_TRACE_MAJOR */
	TL_TRACE_E_SHORT_HEADER = -5,   /* file shorter than its header */
	TL_TRACE_E_BAD_RECORD = -6,     /* a record that does not parse (the chunk is skipped) */
	TL_TRACE_E_INVAL = -7,          /* bad argument */
	TL_TRACE_E_TOO_BIG = -8,        /* a chunk, string or stack above the format's limits */
	TL_TRACE_E_COMPRESS = -9,       /* zstd refused to compress */
	TL_TRACE_E_DISK_FULL = -10,     /* write failed with ENOSPC or EDQUOT */
	TL_TRACE_E_BAD_HEADER = -11,    /* a file header with impossible fields (major 0, time_shift > 20) */
	TL_TRACE_E_BAD_CHUNK = -12,     /* a chunk header that fails its check (the chunk is skipped) */
	TL_TRACE_E_BAD_PAYLOAD = -13,   /* a chunk payload that fails to decompress or to match its
					   checksum or size (the chunk is skipped) */
};

/* @return a static, one-line description of err ("trace format version is
 * newer than this reader"). Unknown codes get a generic text; 0 gets
 * "success". Thread-safe. */
const char *tl_trace_strerror(int err);

static inline bool tl_trace_is_error(int r)
{
	return r < 0;
}

/* ---------------------------------------------------------------------------
 * Record model (shared by writer and reader)
 */

enum tl_rec_type {
	TL_REC_PROCESS = 0x01,
	TL_REC_THREAD = 0x02,
	TL_REC_MODULE = 0x03,
	TL_REC_MODULE_UNLOAD = 0x04,
	TL_REC_STACK = 0x05,
	TL_REC_THREAD_SWITCH = 0x06, /* never returned by the reader: it sets rec.tid */
	TL_REC_RUNTIME = 0x07,
	TL_REC_CREATE = 0x10,
	TL_REC_ARM = 0x11,
	TL_REC_STOP = 0x12,
	TL_REC_RESET = 0x13,
	TL_REC_FIRE = 0x14,
	TL_REC_DRAIN = 0x15,
	TL_REC_RELEASE = 0x16,
	TL_REC_FREE = 0x17,
	TL_REC_DROPPED = 0x20,
	TL_REC_SNAPSHOT = 0x21,
	TL_REC_END = 0x22,
	/* Extension records (0x40 and up) this reader knows; since 1.1. */
	TL_REC_SIGNAL = 0x40,   /* the process ends because of a fatal signal */
	TL_REC_RECORDER = 0x41, /* how the recorder was set up */
	TL_REC_ATTACHED = 0x42, /* since 1.2: recorded from outside, a process already running */
	TL_REC_EXISTING = 0x43, /* since 1.2: a timer made before the recording began */
};

static inline bool tl_rec_is_event(int type)
{
	return type >= TL_REC_CREATE && type <= TL_REC_FREE;
}

/* @return "create", "stop", ..., "thread-switch", "end" (the names the
 * format spec uses), or "unknown". Static; thread-safe. */
const char *tl_rec_name(int type);

enum tl_kind {
	TL_KIND_TIMER = 1,
	TL_KIND_AFTER = 2,
	TL_KIND_AFTERFUNC = 3,
	TL_KIND_TICKER = 4,
	TL_KIND_TIMERFD = 5,
	TL_KIND_POSIX = 6,
	TL_KIND_GO_TIMER = 7,
	TL_KIND_GO_AFTER = 8,
	TL_KIND_GO_AFTERFUNC = 9,
	TL_KIND_GO_TICKER = 10,
	TL_KIND_GO_SLEEP = 11,
	TL_KIND_MAX = 11,
};

/* Where timers of a kind come from. */
enum tl_kind_source {
	TL_SOURCE_UNKNOWN = 0,
	TL_SOURCE_GOTIMER = 1, /* libgotimer, the bundled runtime */
	TL_SOURCE_KERNEL = 2,  /* a kernel timer, made through libc */
	TL_SOURCE_GO = 3,      /* the runtime of a Go binary */
};

/*
 * What a kind is: the facts every stage relies on (docs/trace-format.md,
 * "Kinds"), one row per kind, so that a new kind is a new row. A kernel
 * timer is periodic or not by how it was last armed, not by its kind.
 */
struct tl_kind_info {
	const char *name;     /* "timer", ..., "go-sleep"; "unknown" */
	uint8_t source;       /* enum tl_kind_source */
	bool periodic;        /* ticks until stopped: a ticker */
	bool channel;         /* delivers its fires to a channel the caller receives from */
	bool callback;        /* runs a callback; create's aux is its argument's block */
	bool caller_frees;    /* the caller must free it (gt_timer_free()): done and not freed
				 is kept memory */
	bool descriptor;      /* a file descriptor: its free is the last close */
};

/* @return the row of kind; for a kind this reader does not know (a newer
 * writer's), a row named "unknown" with every fact false. Static;
 * thread-safe. */
const struct tl_kind_info *tl_kind_info(int kind);

/* @return "timer", "after", ..., "go-sleep", or "unknown". Static; thread-safe. */
const char *tl_kind_name(int kind);

/* Whether the kind's timers live in a runtime's heap (libgotimer's, Go's)
 * rather than in the kernel. */
static inline bool tl_kind_is_runtime(int kind)
{
	uint8_t s = tl_kind_info(kind)->source;

	return s == TL_SOURCE_GOTIMER || s == TL_SOURCE_GO;
}

/* What a writer puts in a kernel timer's create size: the kernel memory
 * one holds, estimated (docs/detectors.md). */
#define TL_TIMERFD_BYTES 512
#define TL_POSIX_BYTES   384

/* ---------------------------------------------------------------------------
 * Timer ids (docs/trace-format.md, "Timer ids")
 *
 * id = n << 1 | stream: stream 0 for runtime timers, 1 for kernel timers,
 * so the two never meet; n >= 1 for runtime timers, >= 0 for kernel ones
 * (id 0 is no timer). Within a stream a writer gives n in rising order of
 * when it first saw the timer (its create, or, for a timer made before the
 * recording began, its first event). Ids are never reused in a trace.
 */
enum tl_id_stream {
	TL_ID_RUNTIME = 0,
	TL_ID_KERNEL = 1,
};

static inline uint64_t tl_id_make(enum tl_id_stream stream, uint64_t n)
{
	return n << 1 | (uint64_t)stream;
}

static inline enum tl_id_stream tl_id_stream(uint64_t id)
{
	return (enum tl_id_stream)(id & 1);
}

/* The stream of a kind's ids. */
static inline enum tl_id_stream tl_kind_id_stream(int kind)
{
	return tl_kind_info(kind)->source == TL_SOURCE_KERNEL ? TL_ID_KERNEL : TL_ID_RUNTIME;
}

/* Whether a create of kind may carry id: not 0, and in the kind's stream
 * (any stream for a kind this reader does not know). The writer refuses
 * a create that does not. */
static inline bool tl_id_fits(uint64_t id, int kind)
{
	return id != 0 && (tl_kind_info(kind)->source == TL_SOURCE_UNKNOWN ||
			   tl_id_stream(id) == tl_kind_id_stream(kind));
}

/* Event flags, by event (docs/trace-format.md). */
#define TL_ARM_ABSOLUTE     (1u << 0)
#define TL_ARM_WAS_ACTIVE   (1u << 1)
#define TL_STOP_WAS_ACTIVE  (1u << 0)
#define TL_STOP_UNKNOWN     (1u << 1) /* the API does not say whether it was active */
#define TL_RESET_WAS_ACTIVE (1u << 0)
#define TL_RESET_PENDING    (1u << 1) /* a fired value waited unreceived */
#define TL_RESET_UNKNOWN    (1u << 2) /* the API does not say whether it was active */
#define TL_FIRE_DELIVERED   (1u << 0)

enum tl_drop_reason {
	TL_DROP_RING_FULL = 1,
	TL_DROP_WRITE_FAILED = 2,
	TL_DROP_TOO_MANY_THREADS = 3,
	TL_DROP_NOMEM = 4,
	TL_DROP_UNTRACKED = 5, /* since 1.1: a kernel timer that could not be followed */
	TL_DROP_MAX = 5,
};

/* @return "ring-full", "write-failed", "too-many-threads", "out-of-memory",
 * "untracked", or "unknown". Static; thread-safe. */
const char *tl_drop_reason_name(int reason);

#define TL_PROCESS_FORKED   (1u << 0)
#define TL_PROCESS_EXECED   (1u << 1)
#define TL_PROCESS_ATTACHED (1u << 2) /* since 1.2: recorded from outside, attached later */

enum tl_runtime_mode {
	TL_MODE_ASYNC = 1,
	TL_MODE_SYNC = 2,
};

/* @return "async", "sync", or "unknown". Static; thread-safe. */
const char *tl_mode_name(int mode);

/* One timer event: create, arm, stop, reset, fire, drain, release, free.
 * Fields an event type does not carry are 0.
 *
 * period is a varint in the file: a negative period (which no source
 * produces) is written as its 64-bit two's complement pattern and reads
 * back unchanged, so every value round-trips and none is refused. */
struct tl_event {
	uint64_t id;
	uint32_t kind;     /* create */
	uint32_t stack;    /* create, reset: stack id, 0 = none */
	int64_t duration;  /* create, reset: ns until expiry; arm: ns until first expiry */
	int64_t period;    /* create, reset: ticker period; arm: interval */
	uint64_t size;     /* create */
	uint64_t aux;      /* create: kind-specific */
	uint32_t flags;    /* arm, stop, reset, fire */
};

struct tl_process {
	uint32_t pid, ppid;
	uint64_t wall_ns, mono_ns;
	const char *exe;
	uint32_t argc;
	const char *const *argv;
	const char *hostname;
	const char *unwinder;
	uint32_t depth;
	uint32_t flags; /* TL_PROCESS_* */
};

struct tl_segment {
	uint64_t vaddr, memsz, offset;
	uint32_t flags; /* PF_X 1, PF_W 2, PF_R 4 */
};

/* Limits of a module record (docs/trace-format.md): the writer refuses
 * more with TL_TRACE_E_TOO_BIG and the reader treats more as a bad record. */
#define TL_MAX_SEGMENTS 64
#define TL_MAX_BUILD_ID 64

struct dl_phdr_info;

/* The GNU build-id of an object the dynamic loader has mapped (as
 * dl_iterate_phdr() describes it), read from its PT_NOTE segments.
 * @return its length, at most TL_MAX_BUILD_ID, with *out pointing into the
 * mapped note; or 0 and *out NULL when it has none. */
uint32_t tl_build_id_of_loaded(const struct dl_phdr_info *info, const uint8_t **out);
/* The same among the notes at [notes, notes + size) (a PT_NOTE's bytes,
 * read from a file): *out points into them. Bounds-checked, any alignment. */
uint32_t tl_build_id_in_notes(const void *notes, size_t size, const uint8_t **out);

struct tl_module {
	uint32_t id;
	uint64_t bias;
	const uint8_t *build_id;
	uint32_t build_id_len;
	const char *path; /* "" for the main executable */
	uint32_t nseg;
	const struct tl_segment *segs;
};

/*
 * tl_heap_block_size - the bytes of the glibc malloc block that starts at
 * p in some process, 0 when p does not look like one (heapblock.c): what
 * a callback timer's argument pins, its create's aux. peek reads a word of
 * that process's memory, false when it cannot; brk_lo and brk_hi bound its
 * main heap (the brk area). Never faults; thread-safe if peek is.
 */
struct tl_heap {
	bool (*peek)(void *ctx, uint64_t addr, uint64_t *out);
	void *ctx;
	uint64_t brk_lo, brk_hi;
};

uint64_t tl_heap_block_size(const struct tl_heap *h, uint64_t p);

/* ---------------------------------------------------------------------------
 * File header
 */
#define TL_TRACE_FILE_HEADER 16   /* bytes */
#define TL_TRACE_MAX_SHIFT   20

struct tl_trace_info {
	unsigned major, minor, time_shift;
};

/*
 * tl_trace_header_parse - check the first len bytes of a file as a trace
 * file header, without a reader. The open functions below use it; a tool
 * uses it to name the versions when a trace is refused as too new, since
 * an open that fails returns no reader to ask.
 *
 * @return 0 with *info filled;
 *         TL_TRACE_E_NEWER_VERSION with *info filled (major, minor);
 *         TL_TRACE_E_SHORT_HEADER when len < TL_TRACE_FILE_HEADER and the
 *         bytes there are (a prefix of) the trace magic, including len 0;
 *         TL_TRACE_E_NOT_TRACE when the magic does not match;
 *         TL_TRACE_E_BAD_HEADER for major 0 or time_shift above 20;
 *         TL_TRACE_E_INVAL for buf NULL with len > 0.
 * Thread-safe.
 */
int tl_trace_header_parse(const void *buf, size_t len, struct tl_trace_info *info);

/* ---------------------------------------------------------------------------
 * Writer
 *
 * Records are appended to an in-memory chunk; tl_trace_writer_flush()
 * compresses the chunk and writes it. The writer never flushes on its own
 * (the caller decides when, e.g. every few hundred ms or past
 * tl_trace_writer_pending() bytes), except that an append that would pass
 * TL_TRACE_MAX_CHUNK flushes first.
 */
struct tl_trace_writer;

struct tl_trace_writer_opts {
	unsigned time_shift;   /* 0..20: event time resolution 2^time_shift ns; each time
				  reads back within half a unit (rounded to nearest) */
	int zstd_level;        /* 0 means the default (3) */
	uint32_t reserve_bytes; /* space kept allocated past the end of the file so that
				   the final chunk fits on a full disk (0: 4096; the
				   reservation is skipped where fallocate is unsupported) */
	uint32_t prealloc_bytes; /* 0, or allocate up front what chunks of up to this many
				    raw bytes need (buffers, the compressor's workspace),
				    so that writing them allocates nothing: for a
				    recorder in a process that may run out of memory */
};

/*
 * tl_trace_writer_new - start a trace on fd (opened for writing, normally
 * positioned at 0; the trace starts at the current offset, or at the end
 * with O_APPEND, and is cut back no further than that) and write the
 * file header, then reserve opts->reserve_bytes past it.
 *
 * The writer does not close fd. opts may be NULL for the defaults. fd may
 * be a pipe: nothing is then reserved and a failed write cannot be undone.
 * @return the writer, or NULL with *err set: TL_TRACE_E_INVAL (time_shift
 *         above 20, zstd_level out of zstd's range), _NOMEM, _IO (errno
 *         set), _DISK_FULL (no room for the header and the reservation;
 *         the file is truncated back to where it started).
 */
struct tl_trace_writer *tl_trace_writer_new(int fd, const struct tl_trace_writer_opts *opts,
					    int *err);

/*
 * Records. Each appends one record to the current chunk; strings and arrays
 * are copied (NULL strings are written as ""). When the record would take
 * the chunk past TL_TRACE_MAX_CHUNK, the chunk is flushed first.
 *
 * @return 0;
 *         TL_TRACE_E_INVAL for a bad argument (a NULL writer or record, an
 *         event type outside CREATE..FREE, stack id 0, argc > 0 with NULL
 *         argv, an unknown drop reason, a negative runtime mode), or after
 *         tl_trace_writer_end();
 *         TL_TRACE_E_TOO_BIG for a string above TL_TRACE_MAX_STRING, a
 *         build id above TL_MAX_BUILD_ID, more than TL_MAX_SEGMENTS
 *         segments or TL_TRACE_MAX_FRAMES frames, or a record that alone
 *         exceeds TL_TRACE_MAX_CHUNK;
 *         TL_TRACE_E_NOMEM (nothing was appended);
 *         the error of the flush that a full chunk needed, or, once writing
 *         has failed (see tl_trace_writer_flush()), that same error: the
 *         record is discarded and an event is counted in lost_events.
 *         Dropped records are the exception: once writing has failed they
 *         are kept (summed per thread and reason) for the final chunk.
 */
int tl_trace_writer_process(struct tl_trace_writer *w, const struct tl_process *p);
int tl_trace_writer_thread(struct tl_trace_writer *w, uint32_t tid, const char *name);
int tl_trace_writer_module(struct tl_trace_writer *w, int64_t time, const struct tl_module *m);
int tl_trace_writer_module_unload(struct tl_trace_writer *w, int64_t time, uint32_t id);
int tl_trace_writer_runtime(struct tl_trace_writer *w, int64_t time, int mode, const char *name,
			    const char *version);

/*
 * tl_trace_writer_stack - define stack id (ids from 1, each defined once
 * by the caller, who deduplicates). n <= TL_TRACE_MAX_FRAMES; n == 0 is a
 * stack the unwinder could not take.
 */
int tl_trace_writer_stack(struct tl_trace_writer *w, uint32_t id, const uint64_t *frames,
			  uint32_t n);

/*
 * tl_trace_writer_event - append an event of type TL_REC_CREATE..FREE,
 * made by thread tid at time (ns). A thread-switch record is added when tid
 * differs from the previous event's. @return 0; TL_TRACE_E_INVAL for a
 * create whose id breaks the id rules (tl_id_fits()), which is not
 * written; TL_TRACE_E_NOMEM.
 */
int tl_trace_writer_event(struct tl_trace_writer *w, int type, int64_t time, uint32_t tid,
			  const struct tl_event *e);

/*
 * tl_trace_writer_recorder - how the recorder was set up: flush_ms, the
 * longest it keeps events before writing them (what a process killed
 * without warning may lose). Written once, after the process record.
 */
int tl_trace_writer_recorder(struct tl_trace_writer *w, uint32_t flush_ms);

/*
 * tl_trace_writer_attached - the recorder attached to a process already
 * running, which started at started (ns, on the trace's clock: before the
 * process record's mono_ns). Written once, after the process record, whose
 * flags have TL_PROCESS_ATTACHED.
 */
int tl_trace_writer_attached(struct tl_trace_writer *w, int64_t started);

/*
 * tl_trace_writer_existing - a timer made before the recording began, seen
 * first at time: its id (the id rules hold: tl_id_fits()), kind, and what
 * is known of it; e->stack: where it was seen first in use, 0 for none.
 * Written before any event of the timer. @return 0, TL_TRACE_E_INVAL (an
 * id that breaks the rules), TL_TRACE_E_NOMEM.
 */
int tl_trace_writer_existing(struct tl_trace_writer *w, int64_t time, const struct tl_event *e);

/*
 * tl_trace_writer_end_signal - the trace ends because the process received
 * the fatal signal signo (1..64): a signal record goes right before the end
 * record (in the final chunk too, when writing had failed). Call before
 * tl_trace_writer_end(). @return 0 or TL_TRACE_E_INVAL.
 */
int tl_trace_writer_end_signal(struct tl_trace_writer *w, int signo);

/* reason is an enum tl_drop_reason. */
int tl_trace_writer_dropped(struct tl_trace_writer *w, int64_t time, uint32_t tid,
			    uint64_t count, int reason);
int tl_trace_writer_snapshot(struct tl_trace_writer *w, int64_t time, uint64_t seq);

/*
 * tl_trace_writer_end - the clean end, with the caller's totals; flushes,
 * then gives back the space reserved past the end of the file. Nothing can
 * be appended afterwards.
 *
 * Before calling it on a writer whose writing failed, the caller appends a
 * dropped record (reason TL_DROP_WRITE_FAILED) for lost_events (from
 * tl_trace_writer_stats()), as the writer cannot know what else the caller
 * lost. The final chunk — the dropped records not yet in the file, and the
 * end record — goes into the reserved space. If the end's own chunk fails
 * to be written, the writer adds a dropped record for that chunk's events
 * itself, adds them to the end record's dropped total, and writes the
 * final chunk into the reserved space.
 *
 * @return 0 when the end record is in the file; TL_TRACE_E_INVAL after an
 *         earlier end; otherwise the error that kept the final chunk out
 *         (the file then ends at its last whole chunk, still readable, and
 *         reads as truncated).
 */
int tl_trace_writer_end(struct tl_trace_writer *w, int64_t time, uint64_t events,
			uint64_t dropped);
/*
 * tl_trace_writer_resume - go on after tl_trace_writer_end(): the process
 * that ended its trace before an exec is still here because the exec
 * failed. Later records follow the end record; a later end gives the
 * totals of the whole trace, and readers take the last end as the end.
 *
 * @return 0; TL_TRACE_E_INVAL if the trace was not ended or had failed;
 *         TL_TRACE_E_DISK_FULL if the space for a final chunk cannot be
 *         reserved again (writing goes on regardless).
 */
int tl_trace_writer_resume(struct tl_trace_writer *w);

/*
 * tl_trace_writer_flush - compress and write the current chunk, if any.
 *
 * After a chunk is written, reserve_bytes are kept allocated past the end
 * of the file (fallocate with FALLOC_FL_KEEP_SIZE). A chunk after which
 * that reservation fails for lack of space counts as a failed write: the
 * file must always keep room for its final chunk.
 *
 * @return 0; TL_TRACE_E_INVAL after tl_trace_writer_end();
 *         TL_TRACE_E_NOMEM or _COMPRESS: nothing was written, the chunk
 *         stays and a later flush may succeed;
 *         TL_TRACE_E_DISK_FULL or TL_TRACE_E_IO (errno set) when the write
 *         failed: the file is truncated back to its last whole chunk, the
 *         chunk's records are lost (stats.lost_events counts its events)
 *         and later flushes keep failing with the same code except for the
 *         final chunk of tl_trace_writer_end(), which uses the reserved
 *         space.
 */
int tl_trace_writer_flush(struct tl_trace_writer *w);

/* Write to fd from now on (the same file, moved to another descriptor
 * number). @return 0 or TL_TRACE_E_INVAL (w NULL or fd negative). */
int tl_trace_writer_set_fd(struct tl_trace_writer *w, int fd);

/* @return raw bytes waiting in the current chunk (0 once writing failed:
 * nothing more is buffered). */
size_t tl_trace_writer_pending(const struct tl_trace_writer *w);

struct tl_trace_writer_stats {
	uint64_t events;        /* events appended */
	uint64_t lost_events;   /* events in chunks that could not be written */
	uint64_t chunks;        /* chunks written */
	uint64_t raw_bytes;     /* record bytes before compression, in written chunks */
	uint64_t file_bytes;    /* bytes in the file */
	int failed;             /* 0, or the error that stopped writing */
};
/* Fill *s; never fails. */
void tl_trace_writer_stats(const struct tl_trace_writer *w, struct tl_trace_writer_stats *s);

/* Free the writer without flushing or ending the trace. NULL is fine. */
void tl_trace_writer_free(struct tl_trace_writer *w);

/* ---------------------------------------------------------------------------
 * Reader
 *
 * Streams records in file order. Memory: one chunk, plus strings of the
 * record last returned. A damaged chunk is skipped (counted in the stats);
 * a truncated tail ends the stream normally with stats.truncated set.
 */
struct tl_trace_reader;

/*
 * One record. Pointers (strings, frames, segments, build id) point into the
 * reader and stay valid until the next tl_trace_reader_next() call.
 */
struct tl_record {
	int type;        /* enum tl_rec_type */
	int64_t time;    /* absolute ns; for process, its mono_ns; 0 for stack and thread */
	uint32_t tid;    /* events: the thread that made them, 0 if unknown */
	union {
		struct tl_event ev;            /* CREATE..FREE */
		struct tl_process process;
		struct {
			uint32_t tid;
			const char *name;
		} thread;
		struct tl_module module;
		struct {
			uint32_t id;
		} module_unload;
		struct {
			uint32_t id, n;
			const uint64_t *frames;
		} stack;
		struct {
			int mode;
			const char *name, *version;
		} runtime;
		struct {
			uint32_t tid;
			uint64_t count;
			int reason;
		} dropped;
		struct {
			uint64_t seq;
		} snapshot;
		struct {
			uint64_t events, dropped;
		} end;
		struct {
			int signo;
		} signal;
		struct {
			uint32_t flush_ms;
		} recorder;
		struct {
			int64_t started; /* when the process started, on the trace's clock */
		} attached;
		/* existing: in ev (id, kind, stack, duration, period, size, aux),
		 * time: when the recorder first saw it */
	};
};

/*
 * tl_trace_reader_open - open path and check the file header.
 *
 * @return the reader, or NULL with *err: TL_TRACE_E_IO (errno set),
 *         _NOT_TRACE, _NEWER_VERSION, _SHORT_HEADER, _BAD_HEADER, _NOMEM,
 *         _INVAL (path NULL).
 */
struct tl_trace_reader *tl_trace_reader_open(const char *path, int *err);

/* The same on an open descriptor (not closed by the reader; read from its
 * current offset on, with read() only, so a pipe works) or a memory
 * buffer (not copied; must outlive the reader). Same @return cases. */
struct tl_trace_reader *tl_trace_reader_open_fd(int fd, int *err);
struct tl_trace_reader *tl_trace_reader_open_mem(const void *buf, size_t len, int *err);

/*
 * tl_trace_reader_next - the next record.
 *
 * @return 1 with *rec filled; 0 at the end of the trace (clean, or
 *         truncated: see stats); a negative error only for what stops
 *         reading altogether (TL_TRACE_E_IO, _NOMEM). Damaged chunks and
 *         unparsable records are skipped and counted, not returned.
 */
int tl_trace_reader_next(struct tl_trace_reader *r, struct tl_record *rec);

/*
 * tl_trace_reader_follow - read a trace that is still being written (a
 * recorder's, which writes whole chunks): at the end of the file, or in a
 * chunk not all written yet, tl_trace_reader_next() returns 0 and the
 * next call reads on from there once more is written. The trace is over
 * when the end record has been read (stats: clean_end). A descriptor's
 * reader only (a memory buffer does not grow).
 */
void tl_trace_reader_follow(struct tl_trace_reader *r);

struct tl_trace_reader_stats {
	unsigned major, minor, time_shift;
	uint64_t chunks;            /* chunks read whole */
	uint64_t bad_chunks;        /* chunks skipped: bad header, payload or record */
	uint64_t skipped_bytes;     /* bytes of damaged chunks, of garbage between chunks, and
				       of a truncated tail */
	uint64_t records;           /* records returned */
	uint64_t unknown_records;   /* extension records skipped */
	bool truncated;             /* the file ends inside a chunk (or has no end record) */
	bool clean_end;             /* an end record was read */
	uint64_t file_bytes;        /* bytes consumed */
	int first_error;            /* the first chunk-level error met (_BAD_CHUNK,
				       _BAD_PAYLOAD, _BAD_RECORD, _TOO_BIG), 0 if none */
	uint64_t first_error_offset; /* file offset of the chunk it was met in */
	uint64_t trailing_offset;   /* where bytes that are not part of this trace begin
				       after its end record (another trace appended to
				       it), 0 if none; they are not read */
	uint64_t trailing_bytes;    /* how many */
};
/* Fill *s; truncated is final once tl_trace_reader_next() returned 0. */
void tl_trace_reader_stats(const struct tl_trace_reader *r, struct tl_trace_reader_stats *s);

/* Free the reader (and close the file tl_trace_reader_open() opened).
 * NULL is fine. */
void tl_trace_reader_close(struct tl_trace_reader *r);

#ifdef __cplusplus
}
#endif

#endif /* TL_TRACE_H */
