/*
 * core.c - libtimerleak.so's start-up, per-thread rings, and the recording
 * path every hook goes through.
 *
 * The recording path (tl__enter, tl__capture, tl__record, tl__leave) is
 * async-signal-safe and takes no lock: it reads initial-exec TLS, the
 * clock (vDSO), and reserves ring space by compare-and-swap. A thread gets
 * its ring at its first event, by mmap (a system call, but no lock).
 */
#include "core.h"
#include "real.h"

#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__thread struct tl__tls tl__self TL_TLS;
uintptr_t tl__self_text_lo, tl__self_text_hi;
int64_t tl__start_mono, tl__start_wall;
pid_t tl__pid;
_Atomic int tl__recording;
struct tl__registry tl__reg;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;
static _Atomic uint64_t next_kernel_id;
static _Atomic uint64_t snapshot_seq;

/* How long a thread whose ring is full waits for the writer before it
 * drops the event: 50 ms without the writer giving any space back, and
 * 500 ms at most. With many more busy threads than CPUs the writer gets
 * only its share of a CPU — 32 busy threads on 2 CPUs can keep it off
 * for tens of milliseconds — and then frees space steadily; a writer that
 * makes no progress costs the service at most 50 ms per event. */
#define FULL_WAIT_NS  50000000
#define FULL_LIMIT_NS 500000000

pid_t tl__gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t here = (uintptr_t)data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && here >= lo &&
		    here < lo + ph->p_memsz) {
			tl__self_text_lo = lo;
			tl__self_text_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

static void mark_start(void)
{
	struct timespec wall;

	tl__pid = getpid();
	tl__start_mono = tl__now();
	clock_gettime(CLOCK_REALTIME, &wall);
	tl__start_wall = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec;
}

void tl__leave(struct tl__pass *p)
{
	tl__self.depth--;
	errno = p->saved_errno;
}

/* ---------------------------------------------------------------------------
 * Rings
 */

static struct tl__ring *ring_new(void)
{
	uint64_t size = (uint64_t)tl__cfg.ring_kb * 1024;
	uint64_t pow2 = 4096;
	size_t header = 4096; /* the struct, on a page of its own */
	char *mem;

	while (pow2 < size)
		pow2 <<= 1;
	mem = mmap(NULL, header + pow2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (mem == MAP_FAILED)
		return NULL;
	tl__ring_init((struct tl__ring *)mem, mem + header, pow2);
	return (struct tl__ring *)mem;
}

/* A ring whose thread has gone and whose events the writer has taken. */
static struct tl__ring *ring_reuse(void)
{
	uint32_t n = atomic_load_explicit(&tl__reg.nrings, memory_order_acquire);

	for (uint32_t i = 0; i < n; i++) {
		struct tl__ring *r = atomic_load_explicit(&tl__reg.rings[i], memory_order_acquire);
		int free_state = TL__RING_FREE;

		if (r && atomic_compare_exchange_strong(&r->state, &free_state, TL__RING_OWNED))
			return r;
	}
	return NULL;
}

static struct tl__ring *ring_register(struct tl__ring *r)
{
	uint32_t i = atomic_fetch_add(&tl__reg.nrings, 1);

	if (i >= TL_MAX_RINGS) {
		atomic_fetch_sub(&tl__reg.nrings, 1);
		return NULL;
	}
	atomic_store_explicit(&r->state, TL__RING_OWNED, memory_order_relaxed);
	atomic_store_explicit(&tl__reg.rings[i], r, memory_order_release);
	return r;
}

static struct tl__ring *ring_self(void)
{
	struct tl__ring *r = tl__self.ring;

	if (__builtin_expect(r != NULL, 1) || tl__self.ring_failed)
		return r;
	tl__self.tid = (uint32_t)tl__gettid();
	r = ring_reuse();
	if (!r) {
		struct tl__ring *fresh = ring_new();

		r = fresh ? ring_register(fresh) : NULL;
		if (!r) {
			tl__self.ring_failed = true;
			tl__self.lost_reason = fresh ? TL_DROP_TOO_MANY_THREADS : TL_DROP_NOMEM;
			return NULL;
		}
	}
	atomic_store_explicit(&r->tid, tl__self.tid, memory_order_relaxed);
	/* The thread's name, asked by the thread itself: no file for the
	 * writer to open (which could take a number the service is about to
	 * get). A name set later is not seen. */
	if (prctl(PR_GET_NAME, r->name) != 0)
		r->name[0] = 0;
	atomic_fetch_add_explicit(&r->gen, 1, memory_order_release);
	tl__self.ring = r;
	/* Thread exit hands the ring back (keys below 32 need no malloc). */
	pthread_setspecific(thread_key, r);
	return r;
}

static void thread_exit(void *arg)
{
	struct tl__ring *r = arg;

	atomic_store_explicit(&r->state, TL__RING_ORPHANED, memory_order_release);
	tl__self.ring = NULL;
	/* Events from destructors that run later are lost, and counted. */
	tl__self.ring_failed = true;
	tl__self.lost_reason = TL_DROP_TOO_MANY_THREADS;
	tl__recorder_poke();
}

/* Full: let the writer catch up for a moment, unless this is a signal
 * handler that interrupted its own thread's record, which nobody can
 * drain past. */
static struct tl__rrec *reserve_waiting(struct tl__ring *r, uint32_t len, uint8_t type,
					bool nested)
{
	struct tl__rrec *rec = tl__ring_reserve(r, len, type);
	int64_t now, until, limit;

	if (rec || nested)
		return rec;
	/* Sleep until the writer gives space back (not sched_yield: with more
	 * busy threads than CPUs, yielding threads keep the writer waiting
	 * for a CPU). */
	now = tl__now();
	until = now + FULL_WAIT_NS;
	limit = now + FULL_LIMIT_NS;
	do {
		uint32_t seq = tl__recorder_space_seq();

		rec = tl__ring_reserve(r, len, type);
		if (rec)
			break;
		tl__recorder_poke();
		tl__recorder_wait_space(seq, 1000000);
		rec = tl__ring_reserve(r, len, type);
		now = tl__now();
		if (tl__recorder_space_seq() != seq && now + FULL_WAIT_NS < limit)
			until = now + FULL_WAIT_NS; /* the writer is getting on */
	} while (!rec && now < until);
	return rec;
}

void tl__record(struct tl__pass *p, uint8_t type, const struct tl_event *ev,
		const uint64_t *frames, unsigned n)
{
	struct tl__ring *r = ring_self();
	uint32_t len = (uint32_t)(sizeof(struct tl__rrec) + n * sizeof(uint64_t));
	struct tl__rrec *rec;
	uint64_t used;

	if (!r) {
		atomic_fetch_add(tl__self.lost_reason == TL_DROP_NOMEM ? &tl__reg.lost_nomem
								    : &tl__reg.lost_threads,
				 1);
		return;
	}
	rec = reserve_waiting(r, len, type, p->nested);
	if (!rec) {
		atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
		return;
	}
	rec->time = p->time;
	rec->ev = *ev;
	rec->nframes = (uint16_t)n;
	tl__ring_copy64(rec->frames, frames, n);
	tl__ring_commit(rec);
	/* Wake the writer once per half ring, not per event. */
	used = tl__ring_used(r);
	if (used >= r->size / 2 && used - len < r->size / 2)
		tl__recorder_poke();
}

/* ---------------------------------------------------------------------------
 * Stacks and ids
 */

/* __builtin_return_address(1) reads the hook's frame, which this library
 * built with frame pointers: safe here, whatever the service was built
 * with. */
#pragma GCC diagnostic ignored "-Wframe-address"

__attribute__((noinline)) unsigned tl__capture(struct tl__pass *p, uint64_t *frames)
{
	unsigned n = 0;

	if (p->nested) {
		/* The unwinders are not reentrant: only the hook's caller. */
		frames[0] = (uint64_t)(uintptr_t)__builtin_return_address(1);
		return 1;
	}
	switch (tl__cfg.unwinder) {
	case TL_UNWIND_LIBUNWIND:
		n = tl__unwind_libunwind(frames, tl__cfg.depth);
		if (n == 0) { /* the fork gate: the hook's caller at least */
			frames[0] = (uint64_t)(uintptr_t)__builtin_return_address(1);
			n = 1;
		}
		break;
	case TL_UNWIND_FP:
		n = tl__unwind_fp(frames, tl__cfg.depth, tl__self.stack_lo, tl__self.stack_hi);
		break;
	default:
		frames[0] = (uint64_t)(uintptr_t)__builtin_return_address(1);
		n = 1;
		break;
	}
	return n;
}

void tl__untracked(void)
{
	atomic_fetch_add_explicit(&tl__reg.untracked, 1, memory_order_relaxed);
}

/* Ids (tl_id_make()): kernel timers numbered here, rising; libgotimer's
 * by the runtime's own rising timer ids, above those of every earlier load
 * of the runtime. */
uint64_t tl__kernel_id(void)
{
	return tl_id_make(TL_ID_KERNEL,
			  atomic_fetch_add_explicit(&next_kernel_id, 1, memory_order_relaxed));
}

uint64_t tl__gt_id(uint64_t gt_timer_id)
{
	uint64_t gen = atomic_load_explicit(&tl__gt_generation, memory_order_relaxed);

	return tl_id_make(TL_ID_RUNTIME, ((gen > 0 ? gen - 1 : 0) << 40) | gt_timer_id);
}

/* ---------------------------------------------------------------------------
 * Snapshots, fork, exit
 */

static void snapshot_handler(int sig)
{
	struct tl__pass p;
	struct tl_event ev = {0};

	(void)sig;
	if (!tl__enter(&p))
		return;
	ev.id = atomic_fetch_add(&snapshot_seq, 1) + 1;
	tl__record(&p, TL__R_SNAPSHOT, &ev, NULL, 0);
	tl__leave(&p);
	tl__recorder_poke();
}

/* Only if the service has not claimed the signal: its handler wins. */
static void snapshot_install(void)
{
	struct sigaction old, sa;

	if (!tl__cfg.snapshot_signal || sigaction(tl__cfg.snapshot_signal, NULL, &old) != 0)
		return;
	if (old.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = snapshot_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(tl__cfg.snapshot_signal, &sa, NULL);
}

/*
 * The child of a fork has one thread and copies of every ring, full of the
 * parent's events, which are the parent's to write. It starts over with
 * fresh rings and a writer of its own, or stops recording.
 */
static void atfork_prepare(void)
{
	tl__unwind_fork_prepare();
}

static void atfork_parent(void)
{
	tl__unwind_fork_done();
}

static void atfork_child(void)
{
	uint32_t n = atomic_load(&tl__reg.nrings);

	tl__unwind_fork_done();
	if (!atomic_load(&tl__recording))
		return;
	for (uint32_t i = 0; i < n; i++) {
		struct tl__ring *r = atomic_load(&tl__reg.rings[i]);

		if (r)
			munmap(r, 4096 + r->size);
		atomic_store(&tl__reg.rings[i], NULL);
	}
	atomic_store(&tl__reg.nrings, 0);
	tl__self.ring = NULL;
	tl__self.ring_failed = false;
	tl__self.lost_reason = 0;
	tl__self.tid = 0;
	mark_start();
	tl__recorder_forget();
	if (!tl__cfg.follow_fork || tl__recorder_start(false) != 0)
		atomic_store(&tl__recording, 0);
}

static void fini(void)
{
	if (atomic_exchange(&tl__recording, 0))
		tl__recorder_finish(5000, false);
}

/* Take ourselves out of LD_PRELOAD so exec'd programs run untraced. */
static void unpreload(void)
{
	const char *v = getenv("LD_PRELOAD");
	char buf[4096], *out = buf, *save = NULL, *tok;
	char copy[4096];

	if (!v || strlen(v) >= sizeof(copy))
		return;
	strcpy(copy, v);
	buf[0] = 0;
	for (tok = strtok_r(copy, " :", &save); tok; tok = strtok_r(NULL, " :", &save)) {
		if (strstr(tok, "libtimerleak"))
			continue;
		out += snprintf(out, sizeof(buf) - (size_t)(out - buf), "%s%s", out == buf ? "" : ":",
				tok);
	}
	if (buf[0])
		setenv("LD_PRELOAD", buf, 1);
	else
		unsetenv("LD_PRELOAD");
}

static void init_once_fn(void)
{
	const char *parent = getenv("TIMERLEAK_PARENT");
	char pid[32];

	mark_start();
	dl_iterate_phdr(find_self, (void *)(uintptr_t)find_self);
	tl__config_load();
	tl__real_libc_init();
	tl__heapsize_init();
	tl__fd_prepare();
	tl__ptimer_prepare();
	if (getauxval(AT_SECURE)) {
		/* setuid or similar: an inherited environment must not make a
		 * privileged program write files for its caller. */
		return;
	}
	if (!tl__cfg.follow_exec)
		unpreload();
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("TIMERLEAK_PARENT", pid, 1);
	if (tl__cfg.unwinder == TL_UNWIND_LIBUNWIND)
		tl__unwind_init();
	if (tl__cfg.unwinder == TL_UNWIND_FP)
		tl__thread_bounds_self();
	if (pthread_key_create(&thread_key, thread_exit) != 0)
		return;
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	/* The first traced process makes its file at once; a program that
	 * another traced program exec'd makes one only if it records. */
	if (tl__recorder_start(parent == NULL) != 0)
		return;
	atomic_store(&tl__recording, 1);
	atexit(fini);
	snapshot_install();
	tl__fatal_install();
}

void tl__init(void)
{
	pthread_once(&init_once, init_once_fn);
}

__attribute__((constructor)) static void constructor(void)
{
	tl__init();
}
