/*
 * recorder.c - the recorder's writer thread: rings -> trace chunks -> file.
 *
 * One thread, signals blocked, wakes every flush_ms/4 or when poked (a
 * ring passed half full, a snapshot, exit). Each round it merges the
 * published records of every ring in time order (each ring is already in
 * order), turns them into trace records — deduplicating stacks and
 * rescanning modules on the way — and gives the space back. A chunk is
 * written when it reaches 256 KiB or flush_ms after the last, so a live
 * service's file is never more than flush_ms behind, and a kill -9 loses
 * at most that much.
 *
 * The writer may malloc, use stdio and take locks: it is never on a path
 * the service waits for, except the bounded waits at exit and exec.
 */
#include "real.h"
#include "recorder_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Raw bytes per chunk: compressing one takes about a millisecond, during
 * which no ring is drained. */
#define CHUNK_BYTES (256u << 10)

enum request {
	REQ_NONE = 0,
	REQ_SYNC = 1,   /* end the trace and write everything (before exec) */
	REQ_FINISH = 2, /* the same, then stop (exit) */
	REQ_PARK = 3,   /* write what is there, then let the thread end (tl__recorder_park) */
};

struct ringstate {
	uint64_t cursor; /* next record to read */
	uint64_t gen;    /* owner generation announced with a thread record */
	uint32_t tid;
};

static struct {
	bool running;
	bool eager;       /* create the file at start, not at the first event */
	bool opened, broken;
	uint32_t process_flags;
	struct tl__output out;
	struct tl_trace_writer *w;
	uint64_t dropped, discarded;
	uint64_t unappended;    /* events the trace writer had no memory for, not yet counted */
	int64_t last_flush;
	struct ringstate rs[TL_MAX_RINGS];
	_Atomic uint32_t poke;
	_Atomic int sleeping;
	_Atomic int request;
	_Atomic uint32_t done;
	_Atomic uint32_t scans; /* module markers processed: dlclose waits on it */
	_Atomic int resume;     /* an exec failed after the trace was ended for it */
	_Atomic uint32_t space; /* bumped when space is given back and someone waits */
	_Atomic int space_waiters;
	bool ended;             /* the trace has its end record (before an exec) */
	_Atomic int end_signal; /* the fatal signal the trace ends with, 0 if none */
	pid_t tid;              /* the writer thread's */
	pthread_t thread;       /* joinable: tl__recorder_park() waits for it to be gone */
	pthread_mutex_t fd_lock; /* held while writing, and while the descriptor moves */
} W = {.out.fd = -1, .fd_lock = PTHREAD_MUTEX_INITIALIZER};

/* The trace descriptor, for the close and dup2 hooks on any thread. */
static _Atomic int trace_fd = -1;

static bool forked_child; /* this process is a child traced after fork */

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

void tl__recorder_poke(void)
{
	if (!atomic_exchange_explicit(&W.poke, 1, memory_order_acq_rel) &&
	    atomic_load_explicit(&W.sleeping, memory_order_acquire))
		futex(&W.poke, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static void wait_poke(int64_t ns)
{
	struct timespec ts = {ns / 1000000000, ns % 1000000000};

	atomic_store(&W.sleeping, 1);
	if (!atomic_exchange(&W.poke, 0))
		futex(&W.poke, FUTEX_WAIT_PRIVATE, 0, &ts);
	atomic_store(&W.sleeping, 0);
	atomic_store(&W.poke, 0);
}

uint32_t tl__recorder_space_seq(void)
{
	return atomic_load_explicit(&W.space, memory_order_acquire);
}

void tl__recorder_wait_space(uint32_t seq, int64_t ns)
{
	struct timespec ts = {ns / 1000000000, ns % 1000000000};

	atomic_fetch_add(&W.space_waiters, 1);
	futex(&W.space, FUTEX_WAIT_PRIVATE, seq, &ts);
	atomic_fetch_sub(&W.space_waiters, 1);
}

int tl__trace_fd(void)
{
	return atomic_load_explicit(&trace_fd, memory_order_relaxed);
}

/* ---------------------------------------------------------------------------
 * Opening the trace
 */

static void read_file(const char *path, char *buf, size_t size, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	if (fd >= 0)
		tl__libc.close(fd);
	*len = n > 0 ? (size_t)n : 0;
	buf[*len] = 0;
}

static int write_process(void)
{
	static char cmdline[65536], exe[4096], host[256];
	const char *argv[1024];
	struct tl_process p = {0};
	size_t len;
	ssize_t n;

	read_file("/proc/self/cmdline", cmdline, sizeof(cmdline), &len);
	for (size_t i = 0; i < len && p.argc < 1024; i += strlen(cmdline + i) + 1)
		argv[p.argc++] = cmdline + i;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = 0;
	host[sizeof(host) - 1] = 0;
	p.mono_ns = (uint64_t)tl__start_mono;
	p.wall_ns = (uint64_t)tl__start_wall;
	p.pid = (uint32_t)getpid();
	p.ppid = (uint32_t)getppid();
	p.exe = exe;
	p.argv = argv;
	p.hostname = host;
	p.unwinder = tl__cfg.unwinder == TL_UNWIND_FP ? "fp"
		     : tl__cfg.unwinder == TL_UNWIND_NONE ? "none"
							: "libunwind";
	p.depth = tl__cfg.depth;
	p.flags = W.process_flags;
	return tl_trace_writer_process(W.w, &p);
}

/* Stop recording: the file cannot be had. Rings keep being drained. */
static void give_up(void)
{
	atomic_store(&tl__recording, 0);
	W.broken = true;
}

static void flush(void);

static void open_trace(void)
{
	/* Memory for two chunks' worth, taken now: a service that runs out
	 * of memory later (a lowered RLIMIT_AS) still gets its trace. */
	struct tl_trace_writer_opts o = {.time_shift = tl__cfg.time_shift,
					 .prealloc_bytes = 2 * CHUNK_BYTES};
	int err;

	W.opened = true;
	if (tl__output_open(&W.out, W.eager) != 0) {
		give_up();
		return;
	}
	atomic_store(&trace_fd, W.out.fd);
	W.w = tl_trace_writer_new(W.out.fd, &o, &err);
	if (!W.w || write_process() != 0 || tl_trace_writer_recorder(W.w, tl__cfg.flush_ms) != 0 ||
	    tl__modules_scan(W.w, tl__now()) != 0) {
		if (!tl__cfg.quiet)
			fprintf(stderr, "timerleak: cannot start %s: %s; not recording\n",
				W.out.path, tl_trace_strerror(W.w ? TL_TRACE_E_NOMEM : err));
		give_up();
		return;
	}
	/* The process and module records in a chunk of their own, first:
	 * whatever happens to later chunks (a full disk), the trace says
	 * what was traced. */
	flush();
}

/* ---------------------------------------------------------------------------
 * One round: merge the rings
 */

static void announce_thread(uint32_t i, struct tl__ring *r)
{
	char name[17];

	W.rs[i].gen = atomic_load_explicit(&r->gen, memory_order_acquire);
	W.rs[i].tid = atomic_load_explicit(&r->tid, memory_order_relaxed);
	tl__ring_copy(name, r->name, sizeof(name));
	name[16] = 0;
	tl_trace_writer_thread(W.w, W.rs[i].tid, name);
}

static void emit(struct tl__rrec *rec, uint32_t tid, bool *flush_now)
{
	struct tl_event ev = rec->ev;
	int err;

	switch (rec->type) {
	case TL__R_SNAPSHOT:
		tl_trace_writer_snapshot(W.w, rec->time, ev.id);
		*flush_now = true;
		break;
	case TL__R_MODULES:
		tl__modules_scan(W.w, rec->time);
		break; /* acknowledged in round_merge, written or not */
	case TL__R_RUNTIME:
		tl_trace_writer_runtime(W.w, rec->time, (int)ev.flags, "libgotimer", "1.0");
		break;
	default:
		if (!tl_rec_is_event(rec->type))
			break;
		if (rec->nframes) {
			uint64_t frames[TL_MAX_DEPTH];
			unsigned n = rec->nframes < TL_MAX_DEPTH ? rec->nframes : TL_MAX_DEPTH;

			tl__ring_copy64(frames, rec->frames, n);
			ev.stack = tl__stack_id(W.w, frames, n);
		}
		/* Not appended for want of memory, or (were an id to break the
		 * rules, which core.c's ids keep) refused: counted here. After a
		 * write failure the trace writer counts what it cannot write. */
		err = tl_trace_writer_event(W.w, rec->type, rec->time, tid, &ev);
		if (err == TL_TRACE_E_NOMEM || err == TL_TRACE_E_INVAL)
			W.unappended++;
		/* A chunk at a time: within what was allocated for it. */
		if (tl_trace_writer_pending(W.w) >= CHUNK_BYTES)
			flush();
		break;
	}
}

/* The published head of ring i, pads skipped; NULL if none. */
static struct tl__rrec *head(uint32_t i, struct tl__ring *r)
{
	struct tl__rrec *rec;

	while ((rec = tl__ring_peek(r, W.rs[i].cursor)) && rec->type == TL__R_PAD)
		W.rs[i].cursor += rec->size;
	return rec;
}

struct merge {
	uint32_t idx[TL_MAX_RINGS];
	int64_t time[TL_MAX_RINGS];
	uint32_t n;
};

static void merge_push(struct merge *m, uint32_t ring, int64_t t)
{
	uint32_t i = m->n++;

	while (i > 0 && m->time[(i - 1) / 2] > t) {
		m->idx[i] = m->idx[(i - 1) / 2];
		m->time[i] = m->time[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	m->idx[i] = ring;
	m->time[i] = t;
}

static uint32_t merge_pop(struct merge *m)
{
	uint32_t top = m->idx[0], i = 0, ring = m->idx[--m->n];
	int64_t t = m->time[m->n];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= m->n)
			break;
		if (c + 1 < m->n && m->time[c + 1] < m->time[c])
			c++;
		if (m->time[c] >= t)
			break;
		m->idx[i] = m->idx[c];
		m->time[i] = m->time[c];
		i = c;
	}
	m->idx[i] = ring;
	m->time[i] = t;
	return top;
}

/* Take what the ring-less counters and the rings lost since last time. */
static void account_drops(uint32_t n, int64_t now)
{
	uint64_t nomem = atomic_exchange(&tl__reg.lost_nomem, 0);
	uint64_t threads = atomic_exchange(&tl__reg.lost_threads, 0);
	uint64_t untracked = atomic_exchange(&tl__reg.untracked, 0);

	if (nomem)
		tl_trace_writer_dropped(W.w, now, 0, nomem, TL_DROP_NOMEM);
	if (threads)
		tl_trace_writer_dropped(W.w, now, 0, threads, TL_DROP_TOO_MANY_THREADS);
	if (untracked)
		tl_trace_writer_dropped(W.w, now, 0, untracked, TL_DROP_UNTRACKED);
	if (W.unappended)
		tl_trace_writer_dropped(W.w, now, 0, W.unappended, TL_DROP_NOMEM);
	W.dropped += nomem + threads + untracked + W.unappended;
	W.unappended = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct tl__ring *r = atomic_load_explicit(&tl__reg.rings[i], memory_order_acquire);
		uint64_t d = r ? atomic_exchange(&r->dropped, 0) : 0;

		if (d) {
			tl_trace_writer_dropped(W.w, now, atomic_load(&r->tid), d, TL_DROP_RING_FULL);
			W.dropped += d;
		}
	}
}

static bool any_ready(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct tl__ring *r = atomic_load_explicit(&tl__reg.rings[i], memory_order_acquire);

		if (r && head(i, r))
			return true;
	}
	return false;
}

/* Give back consumed space; a drained ring of an exited thread is free. */
static void release_rings(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct tl__ring *r = atomic_load_explicit(&tl__reg.rings[i], memory_order_acquire);
		int orphaned = TL__RING_ORPHANED;

		if (!r)
			continue;
		tl__ring_release(r, W.rs[i].cursor);
		if (W.rs[i].cursor == atomic_load(&r->head) &&
		    atomic_compare_exchange_strong(&r->state, &orphaned, TL__RING_FREE))
			W.rs[i].gen = 0;
	}
	if (atomic_load(&W.space_waiters)) {
		atomic_fetch_add(&W.space, 1);
		futex(&W.space, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL);
	}
}

static void release_rings(uint32_t n);

/* Records merged between two givings-back of ring space: a round over
 * many full rings takes longer than a waiting thread should. */
#define RELEASE_EVERY 4096

static bool round_merge(uint32_t n)
{
	static struct merge m;
	bool flush_now = false;
	unsigned since_release = 0;

	m.n = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct tl__ring *r = atomic_load_explicit(&tl__reg.rings[i], memory_order_acquire);
		struct tl__rrec *rec = r ? head(i, r) : NULL;

		if (!rec)
			continue;
		if (W.w && W.rs[i].gen != atomic_load(&r->gen))
			announce_thread(i, r);
		merge_push(&m, i, rec->time);
	}
	while (m.n > 0) {
		uint32_t i = merge_pop(&m);
		struct tl__ring *r = atomic_load_explicit(&tl__reg.rings[i], memory_order_relaxed);
		struct tl__rrec *rec = head(i, r);

		if (W.w && !W.broken)
			emit(rec, W.rs[i].tid, &flush_now);
		else if (tl_rec_is_event(rec->type))
			W.discarded++;
		if (rec->type == TL__R_MODULES) {
			atomic_fetch_add(&W.scans, 1);
			futex(&W.scans, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL);
		}
		W.rs[i].cursor += rec->size;
		rec = head(i, r);
		if (rec)
			merge_push(&m, i, rec->time);
		if (++since_release == RELEASE_EVERY) {
			release_rings(n);
			if (W.w && tl_trace_writer_pending(W.w) >= CHUNK_BYTES)
				flush(); /* a chunk at a time, never one huge one */
			since_release = 0;
		}
	}
	return flush_now;
}

static void flush(void)
{
	int err;

	if (!W.w || W.broken || tl_trace_writer_pending(W.w) == 0)
		return;
	if (!tl__output_intact(&W.out)) {
		if (!tl__cfg.quiet)
			fprintf(stderr, "timerleak: %s: the program closed the trace; recording stops\n",
				W.out.path);
		give_up();
		return;
	}
	pthread_mutex_lock(&W.fd_lock);
	err = tl_trace_writer_flush(W.w);
	pthread_mutex_unlock(&W.fd_lock);
	W.last_flush = tl__now();
	if (err && !tl__cfg.quiet)
		fprintf(stderr, "timerleak: %s: %s; later events are counted, not written\n",
			W.out.path, tl_trace_strerror(err));
}

static void round_all(void)
{
	uint32_t n = atomic_load_explicit(&tl__reg.nrings, memory_order_acquire);
	int64_t now = tl__now();
	bool flush_now;

	if (W.ended && atomic_exchange(&W.resume, 0)) {
		tl_trace_writer_resume(W.w);
		W.ended = false;
	}

	if (n > TL_MAX_RINGS)
		n = TL_MAX_RINGS;
	tl__clock_tick();
	if (!W.opened && (W.eager || any_ready(n)))
		open_trace();
	if (W.w && !W.broken && tl__modules_stale())
		tl__modules_scan(W.w, now); /* a dlopen since the last round */
	flush_now = round_merge(n);
	if (W.w && !W.broken)
		account_drops(n, now);
	release_rings(n);
	if (flush_now || (W.w && (tl_trace_writer_pending(W.w) >= CHUNK_BYTES ||
				  now - W.last_flush >= (int64_t)tl__cfg.flush_ms * 1000000)))
		flush();
}

/* The end of the trace: what was lost to the file, then the totals. */
static void end_trace(void)
{
	struct tl_trace_writer_stats st;
	int64_t now = tl__now();

	if (!W.w || W.broken)
		return;
	flush();
	tl_trace_writer_stats(W.w, &st);
	if (st.lost_events || W.discarded)
		tl_trace_writer_dropped(W.w, now, 0, st.lost_events + W.discarded,
					TL_DROP_WRITE_FAILED);
	if (atomic_load(&W.end_signal))
		tl_trace_writer_end_signal(W.w, atomic_load(&W.end_signal));
	/* events: what the file holds; dropped: every event lost, to a full
	 * ring, a failed write or a broken file. Together: all that was made. */
	pthread_mutex_lock(&W.fd_lock);
	tl_trace_writer_end(W.w, now, st.events - st.lost_events,
			    W.dropped + st.lost_events + W.discarded);
	pthread_mutex_unlock(&W.fd_lock);
}

/* Some ring is over a quarter full: go round again without sleeping. */
static bool behind(void)
{
	uint32_t n = atomic_load_explicit(&tl__reg.nrings, memory_order_acquire);

	for (uint32_t i = 0; i < n && i < TL_MAX_RINGS; i++) {
		struct tl__ring *r = atomic_load_explicit(&tl__reg.rings[i], memory_order_acquire);

		if (r && tl__ring_used(r) > r->size / 4)
			return true;
	}
	return false;
}

static void *writer_thread(void *arg)
{
	(void)arg;
	W.tid = tl__gettid();
	/* Named by itself: no file to open in /proc. */
	prctl(PR_SET_NAME, "timerleak");
	/* Start-up work that need not hold the service's start back. */
	tl__clock_init();
	/* More weight than a service thread, where the service may grant it:
	 * a writer starved of CPU makes every thread wait for ring space. */
	setpriority(PRIO_PROCESS, (id_t)W.tid, -5);
	for (;;) {
		int req = atomic_load(&W.request);

		round_all();
		if (req == REQ_PARK) {
			flush();
			atomic_store(&W.request, REQ_NONE);
			break; /* tl__recorder_park() joins the thread */
		}
		if (req != REQ_NONE) {
			end_trace();
			W.ended = true;
			if (req == REQ_FINISH) {
				atomic_store(&trace_fd, -1);
				tl__output_close(&W.out);
			}
			/* Only a parked writer is joined (tl__recorder_park). */
			if (req == REQ_FINISH)
				pthread_detach(pthread_self());
			atomic_store(&W.request, REQ_NONE);
			atomic_fetch_add(&W.done, 1);
			futex(&W.done, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL);
			if (req == REQ_FINISH)
				break;
		}
		if (!behind())
			wait_poke((int64_t)tl__cfg.flush_ms * 250000);
	}
	return NULL;
}

static int start_thread(void)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = tl__real_thread_create(&W.thread, writer_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	W.running = true;
	return 0;
}

int tl__recorder_start(bool eager)
{
	W.eager = eager;
	W.process_flags = eager ? 0 : forked_child ? TL_PROCESS_FORKED : TL_PROCESS_EXECED;
	/* The first traced process has its file, and its description, on
	 * disk before it runs: a process that dies at once still leaves a
	 * trace saying so. */
	if (eager) {
		open_trace();
		if (W.broken)
			return -EIO;
	}
	return start_thread();
}

/*
 * Credentials are per thread in Linux, and glibc makes setuid() and the
 * like apply to every thread of the process by having each thread make the
 * call: a writer thread whose capabilities differ from the caller's (who
 * kept its own with PR_SET_KEEPCAPS, as setpriv does) fails where the
 * caller succeeds, and glibc aborts the process. And unshare() of a user
 * namespace needs a process of one thread. So around such calls the
 * writer thread is gone: it writes what is there and ends, and a new one,
 * started afterwards, has the caller's credentials.
 */
bool tl__recorder_park(void)
{
	if (!W.running || tl__in_vfork_child() || tl__gettid() == W.tid ||
	    !atomic_load(&tl__recording))
		return false;
	atomic_store(&W.request, REQ_PARK);
	tl__recorder_poke();
	pthread_join(W.thread, NULL);
	W.running = false;
	return true;
}

void tl__recorder_unpark(bool parked)
{
	if (parked && start_thread() != 0)
		give_up(); /* no writer: nothing more can be written */
}

/* Whether anything was ever recorded: a ring, or a count of losses. A
 * process that recorded nothing and has no file (a child exec'd by a
 * traced program, which makes its file at its first event) has nothing to
 * end, and its exit need not wait for the writer. */
static bool nothing_recorded(void)
{
	return !W.eager && atomic_load(&tl__reg.nrings) == 0 &&
	       !atomic_load(&tl__reg.lost_nomem) && !atomic_load(&tl__reg.lost_threads) &&
	       !atomic_load(&tl__reg.untracked);
}

void tl__recorder_finish(int timeout_ms, bool before_exec)
{
	uint32_t seen = atomic_load(&W.done);
	int64_t until = tl__now() + (int64_t)timeout_ms * 1000000;

	if (!W.running || nothing_recorded())
		return;
	atomic_store(&W.request, before_exec ? REQ_SYNC : REQ_FINISH);
	tl__recorder_poke();
	while (atomic_load(&W.done) == seen) {
		int64_t left = until - tl__now();
		struct timespec ts = {left / 1000000000, left % 1000000000};

		if (left <= 0)
			break;
		futex(&W.done, FUTEX_WAIT_PRIVATE, seen, &ts);
	}
}

/*
 * A fatal signal is ending the process (fatal.c): the trace ends with it.
 * Async-signal-safe. Nothing to wait for in a vfork child, in a process
 * that does not record, or on the writer thread itself.
 */
void tl__recorder_finish_signal(int sig, int timeout_ms)
{
	if (tl__in_vfork_child() || !W.running || tl__gettid() == W.tid ||
	    !atomic_exchange(&tl__recording, 0))
		return;
	atomic_store(&W.end_signal, sig);
	tl__recorder_finish(timeout_ms, false);
}

void tl__flush_before_exec(void)
{
	if (atomic_load(&tl__recording) && !tl__in_vfork_child())
		tl__recorder_finish(5000, true);
}

void tl__exec_failed(void)
{
	if (!tl__in_vfork_child())
		atomic_store(&W.resume, 1); /* the writer resumes at its next round */
}

void tl__finish_before_exit(void)
{
	if (!tl__in_vfork_child() && atomic_exchange(&tl__recording, 0))
		tl__recorder_finish(2000, false);
}

void tl__recorder_forget(void)
{
	/* The parent's writer state may be mid-update: leak it, start clean. */
	if (W.out.fd >= 0)
		tl__libc.close(W.out.fd);
	memset(&W, 0, sizeof(W));
	W.out.fd = -1;
	pthread_mutex_init(&W.fd_lock, NULL);
	atomic_store(&trace_fd, -1);
	forked_child = true;
	tl__modules_forget();
	tl__stacks_forget();
}

void tl__modules_sync(struct tl__pass *p)
{
	struct tl_event ev = {0};
	uint32_t seen = atomic_load(&W.scans);
	int64_t until = p->time + 200000000;

	if (!W.running || p->nested)
		return;
	tl__record(p, TL__R_MODULES, &ev, NULL, 0);
	tl__recorder_poke();
	while (atomic_load(&W.scans) == seen) {
		int64_t left = until - tl__now();
		struct timespec ts = {left / 1000000000, left % 1000000000};

		if (left <= 0)
			break;
		futex(&W.scans, FUTEX_WAIT_PRIVATE, seen, &ts);
	}
}

/*
 * The service is about to dup2 onto the trace's descriptor number: move
 * the trace elsewhere first. The lock waits out a write in progress, so no
 * chunk lands in what the service puts at the old number.
 */
void tl__trace_fd_evade(int newfd)
{
	int fd = atomic_load(&trace_fd), moved;

	if (fd < 0 || fd != newfd)
		return;
	moved = tl__libc.fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
	if (moved < 0)
		return;
	pthread_mutex_lock(&W.fd_lock);
	if (W.w)
		tl_trace_writer_set_fd(W.w, moved);
	W.out.fd = moved;
	atomic_store(&trace_fd, moved);
	pthread_mutex_unlock(&W.fd_lock);
	tl__libc.close(fd);
}
