/*
 * tl_preload.h - libtimerleak.so's core, as the hooks see it.
 *
 * The hook files (hooks_*.c) hold only interposers: each forwards to the
 * real function and reports what happened through the calls below. The
 * rules every hook keeps:
 *
 *   - The real call's result and errno reach the caller untouched.
 *   - Nothing here allocates with malloc, uses stdio or takes a lock the
 *     service could hold; every call below is async-signal-safe, because
 *     timer_settime() and close() may be called from a signal handler.
 *   - A hook entered while its thread is already inside the recorder (a
 *     signal handler that interrupted it) still records the event, without
 *     a stack: the unwinder is not reentrant.
 */
#ifndef TL_PRELOAD_H
#define TL_PRELOAD_H

#include "clock.h"
#include "ring.h"
#include "tl_trace.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define TL_EXPORT __attribute__((visibility("default")))
#define TL_TLS    __attribute__((tls_model("initial-exec")))

#define TL_MAX_DEPTH 256

/* Settings, read once from the environment (config.c). */
struct tl__config {
	char output[4096];      /* TIMERLEAK_OUTPUT template: %p pid, %e exe name, %t time;
				   made absolute at start-up */
	int unwinder;           /* TIMERLEAK_UNWIND: enum tl__unwinder */
	unsigned depth;         /* TIMERLEAK_DEPTH: frames per stack, 1..256 (32) */
	int snapshot_signal;    /* TIMERLEAK_SNAPSHOT_SIGNAL: 0 for none (SIGUSR2) */
	bool follow_fork;       /* TIMERLEAK_FOLLOW: fork, exec, fork,exec (default) or none */
	bool follow_exec;
	unsigned ring_kb;       /* TIMERLEAK_RING_KB: per-thread ring size (1024) */
	unsigned flush_ms;      /* TIMERLEAK_FLUSH_MS: at most this long between chunks (200) */
	unsigned time_shift;    /* TIMERLEAK_TIME_SHIFT: trace time resolution 2^n ns (12: ~4 us) */
	bool clock_monotonic;   /* TIMERLEAK_CLOCK=monotonic: never the TSC (default tsc) */
	bool quiet;             /* TIMERLEAK_QUIET=1: no messages on stderr */
	bool announce;          /* TIMERLEAK_ANNOUNCE=0: not where the trace goes (1) */
};

enum tl__unwinder {
	TL_UNWIND_LIBUNWIND = 0,
	TL_UNWIND_FP = 1,
	TL_UNWIND_NONE = 2,
};

extern struct tl__config tl__cfg;

/* Per-thread state, in initial-exec TLS so that reaching it never calls
 * __tls_get_addr, which may allocate (and so is not async-signal-safe). */
struct tl__tls {
	struct tl__ring *ring;
	uint32_t tid;
	int depth;              /* > 0 while inside the recorder */
	uintptr_t stack_lo, stack_hi; /* this thread's stack, for the frame-pointer walker */
	bool ring_failed;       /* no ring could be had: count drops without retrying */
	uint8_t lost_reason;    /* then: TL_DROP_NOMEM or TL_DROP_TOO_MANY_THREADS */
};

extern __thread struct tl__tls tl__self TL_TLS;

/* Recording is on: initialised, not inert, not finished. */
extern _Atomic int tl__recording;

/* Make sure the core is initialised (hooks may run before the
 * constructor, from another library's constructor). */
void tl__init(void);


/* One hook's passage through the recorder. */
struct tl__pass {
	int64_t time;     /* when the hook was entered: the event's time */
	int saved_errno;  /* errno as the real call left it; set by the hook */
	bool nested;      /* entered from a signal handler that interrupted the recorder */
};

/* @return false when nothing should be recorded; otherwise the caller
 * calls tl__leave() when done. */
static inline bool tl__enter(struct tl__pass *p)
{
	if (__builtin_expect(!atomic_load_explicit(&tl__recording, memory_order_relaxed), 0))
		return false;
	p->nested = tl__self.depth++ > 0;
	p->time = tl__now();
	return true;
}

/* Restore errno as the real call left it, saved in p->saved_errno. */
void tl__leave(struct tl__pass *p);

/* Capture the caller's stack, leaf first, skipping the recorder's frames
 * and the hook's own. @return frames written (0 when nested). */
unsigned tl__capture(struct tl__pass *p, uint64_t *frames);

/* Record one event of type TL_REC_* (or TL__R_*) at p->time. Frames are
 * copied. */
void tl__record(struct tl__pass *p, uint8_t type, const struct tl_event *ev,
		const uint64_t *frames, unsigned nframes);

/* A fresh timer id for a kernel timer (timerfd, POSIX). Ids of libgotimer
 * timers come from gt_timer_id() through tl__gt_id(). */
uint64_t tl__kernel_id(void);
uint64_t tl__gt_id(uint64_t gt_timer_id);

/* The bytes of the glibc malloc block ptr points to, or 0 if it does not
 * point to one (heapsize.c). For a callback timer's argument. */
uint64_t tl__heap_block_size(const void *ptr);
void tl__heapsize_init(void);

/* ---------------------------------------------------------------------------
 * Tables of kernel timers (fdtab.c, ptab.c). All lock-free and
 * async-signal-safe.
 */

/* Map what the tables need up front (start-up). */
void tl__fd_prepare(void);
void tl__ptimer_prepare(void);
/* A timerfd was created on fd with timer id. @return false when it cannot
 * be tracked (no memory for its page; its descriptor beyond 2^20): the
 * caller records nothing of it and counts it (tl__untracked). */
bool tl__fd_created(int fd, uint64_t id, int clockid);
/* The timer id and clock of fd, or 0 if fd is not a tracked timerfd.
 * The cheap filter every fd hook runs first. */
uint64_t tl__fd_lookup(int fd, int *clockid);
/* fd is about to be closed (or replaced by dup2). @return the id of a
 * timer whose last descriptor this was (record free after the real call
 * succeeds), else 0. */
uint64_t tl__fd_forget(int fd);
/* newfd now refers to the same timerfd as oldfd. */
void tl__fd_dup(int oldfd, int newfd);
/* Whether any timerfd was ever tracked: the filter before the filter. */
bool tl__fd_any(void);
/* The highest fd ever tracked, for close_range. */
int tl__fd_max(void);

/* @return false when it cannot be tracked, as tl__fd_created. */
bool tl__ptimer_created(uintptr_t key, uint64_t id, int clockid);
/* Count a kernel timer the recorder cannot follow: the trace says so
 * (dropped, reason untracked) and the report doubts what it could hide. */
void tl__untracked(void);
uint64_t tl__ptimer_lookup(uintptr_t key, int *clockid);
uint64_t tl__ptimer_forget(uintptr_t key);

/* ---------------------------------------------------------------------------
 * Process events (core.c, recorder.c).
 */

/* An object is about to be unloaded: have the writer describe every
 * loaded object now, and wait (briefly) until it has. */
void tl__modules_sync(struct tl__pass *p);
/* The trace descriptor, which close/dup2 hooks must not let the service
 * close or replace; -1 if none. */
int tl__trace_fd(void);
/* The recorder's own descriptors (the trace, libunwind's pipe), which the
 * service's close calls skip (fdguard.c). */
bool tl__fd_guarded(int fd);
/* close_range around the guarded descriptors. */
int tl__fdguard_close_range(unsigned first, unsigned last, int flags);
/* The pipe2() hook: a pipe libunwind's own code opens (caller is the
 * return address) is moved high and guarded by tl__fdguard_pipe2(). */
bool tl__fdguard_from_unwinder(const void *caller);
int tl__fdguard_pipe2(int fds[2], int flags);

/* The program's sigaction() and signal() calls, through the table of who
 * handles each fatal signal (fatal.c). Same results as libc's. */
int tl__fatal_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
sighandler_t tl__fatal_signal(int sig, sighandler_t handler);
/* Move the trace descriptor out of the way of newfd (dup2 onto it). */
void tl__trace_fd_evade(int newfd);
/* End the trace synchronously, before exec or _exit, which run no
 * destructors. Nothing in a vfork child, which shares its parent's
 * memory (and trace). */
void tl__flush_before_exec(void);
void tl__finish_before_exit(void);
/* exec failed: the trace goes on. */
void tl__exec_failed(void);
/* Around a call that changes the credentials of every thread (setuid()
 * and the like) or needs the process to have one thread (unshare() of a
 * user namespace): the writer thread writes what is there and ends, and
 * a new one starts after the call (recorder.c). Not async-signal-safe.
 * @return whether it was parked, for tl__recorder_unpark(). */
bool tl__recorder_park(void);
void tl__recorder_unpark(bool parked);

#endif /* TL_PRELOAD_H */
