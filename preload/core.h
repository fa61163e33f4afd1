/*
 * core.h - what the recorder's own files share; the hooks use only
 * tl_preload.h.
 */
#ifndef TL_CORE_H
#define TL_CORE_H

#include "tl_preload.h"

#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

/* config.c */
void tl__config_load(void);
int tl__config_output_path(char *out, size_t size, int pid, const char *exe, long now);

/* ---------------------------------------------------------------------------
 * The ring registry (core.c). Rings are never unmapped while the process
 * runs: a ring whose thread exited is drained, then given to a new thread.
 * Slots fill from 0; a slot's pointer is published before the count
 * includes it.
 */
#define TL_MAX_RINGS 4096

struct tl__registry {
	struct tl__ring *_Atomic rings[TL_MAX_RINGS];
	_Atomic uint32_t nrings;
	/* Events lost outside any ring (no ring could be had), by reason,
	 * and kernel timers that could not be tracked; taken by the writer. */
	_Atomic uint64_t lost_nomem, lost_threads, untracked;
};

extern struct tl__registry tl__reg;

pid_t tl__gettid(void);

/* When recording began in this process (start-up, or the fork of a
 * child): the process record's time, before any event. */
extern int64_t tl__start_mono;
extern int64_t tl__start_wall;

/* This process's pid, as of start-up or the last fork: a caller whose
 * getpid() differs is a vfork child, sharing this process's memory. */
extern pid_t tl__pid;
static inline bool tl__in_vfork_child(void)
{
	return getpid() != tl__pid;
}

/* ---------------------------------------------------------------------------
 * The writer thread (recorder.c).
 */

/* Start the writer for this process. eager: create the trace file now
 * (the first traced process); otherwise at the first event (a child after
 * fork or exec, which may never make one). @return 0 or -errno. */
int tl__recorder_start(bool eager);
/* Ask the writer to look at the rings now (a ring is half full, or a
 * snapshot was requested). Async-signal-safe. */
void tl__recorder_poke(void);
/* Waiting for ring space: the count of space releases, and a sleep until
 * it passes seq (at most ns). Async-signal-safe. */
uint32_t tl__recorder_space_seq(void);
void tl__recorder_wait_space(uint32_t seq, int64_t ns);
/* Drain every ring, end the trace and close it; waits up to timeout_ms.
 * Called at exit and before exec. */
void tl__recorder_finish(int timeout_ms, bool before_exec);
/* In a child after fork: forget the parent's writer (its thread is gone). */
void tl__recorder_forget(void);
/* A fatal signal ends the process: end the trace with it, waiting up to
 * timeout_ms. Async-signal-safe. */
void tl__recorder_finish_signal(int sig, int timeout_ms);

/* Fatal signals (fatal.c): the recorder's handler where the program keeps
 * the default action. */
void tl__fatal_install(void);

/* Stack capture (unwind_*.c) behind one small interface. Both drop the
 * leading frames that lie in this library (tl__self_text), however the
 * compiler arranged its calls, so frame 0 is the service's call site. */
unsigned tl__unwind_libunwind(uint64_t *frames, unsigned max);
unsigned tl__unwind_fp(uint64_t *frames, unsigned max, uintptr_t lo, uintptr_t hi);
/* Set libunwind up (start-up). */
void tl__unwind_init(void);
void tl__unwind_fork_prepare(void);
void tl__unwind_fork_done(void);

/* This library's code, [lo, hi). */
extern uintptr_t tl__self_text_lo, tl__self_text_hi;
static inline bool tl__in_self(uint64_t ip)
{
	return ip >= tl__self_text_lo && ip < tl__self_text_hi;
}

/* Learn where the unwinder's code is (the object holding unwinder_fn), so
 * that the pipe2() hook knows its pipe (fdguard.c, tl_preload.h). */
void tl__fdguard_init(const void *unwinder_fn);

/* Thread stacks, for the frame-pointer walker (threads.c). */
void tl__thread_bounds_self(void);

#endif /* TL_CORE_H */
