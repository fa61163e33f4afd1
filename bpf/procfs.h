/*
 * procfs.h - what timerleak-record learns of its target from /proc: the
 * process, its loaded objects, its threads' names, the kernel timers it
 * had open when the recording began, and words of its memory.
 *
 * Everything here reads files of /proc/PID; nothing touches the target.
 * Not thread-safe: the recorder's one thread uses it.
 */
#ifndef TL_RECORD_PROCFS_H
#define TL_RECORD_PROCFS_H

#include "tl_trace.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct tlr_proc {
	pid_t pid, ppid;
	char exe[4096];      /* /proc/PID/exe */
	char comm[32];
	char **argv;         /* /proc/PID/cmdline, malloc'ed */
	uint32_t argc;
	int64_t started;     /* CLOCK_MONOTONIC ns when it started (0: unknown) */
	bool kernel_thread;
	int gotimer_mode;    /* TL_MODE_SYNC if its environment set GOTIMER_CHAN=sync */
	char godebug[256];   /* GODEBUG from its environment ("" if unset; cut at 255) */
};

/*
 * tlr_proc_read - the process pid as /proc describes it. @return 0, or a
 * negative errno: -ESRCH (no such process), -EACCES.
 */
int tlr_proc_read(pid_t pid, struct tlr_proc *p);
void tlr_proc_close(struct tlr_proc *p);

/* The loaded ELF objects, kept current from /proc/PID/maps. */
struct tlr_modules;

struct tlr_modules *tlr_modules_new(pid_t pid, const char *exe);
void tlr_modules_free(struct tlr_modules *m);

/*
 * tlr_modules_scan - read /proc/PID/maps again and write a module record
 * for each object not seen before and an unload record for each gone.
 * @return how many changed (0: none), a trace error, or -ESRCH once the
 * process is gone.
 */
int tlr_modules_scan(struct tlr_modules *m, struct tl_trace_writer *w, int64_t time);

/* tlr_modules_again - the next scan writes every object still loaded
 * again, under its id, as well as what changed: for a new trace file,
 * which says everything again. */
void tlr_modules_again(struct tlr_modules *m);

/*
 * tlr_modules_find - the loaded object whose file name starts with prefix
 * ("libgotimer.so"): its path as the process sees it, and the range of
 * its executable code. @return the path (valid until the next scan), or
 * NULL when none is loaded.
 */
const char *tlr_modules_find(struct tlr_modules *m, const char *prefix, uint64_t *lo,
			     uint64_t *hi);

/* Each loaded object as of the last scan: its path, as the process sees
 * it, and its load bias. */
void tlr_modules_each(const struct tlr_modules *m,
		      void (*cb)(void *ctx, const char *path, uint64_t bias), void *ctx);

/* The main heap (brk area) as of the last scan. */
void tlr_modules_heap(const struct tlr_modules *m, uint64_t *lo, uint64_t *hi);

/* Each timerfd open in pid: its descriptor, clock, and how it is armed
 * (value: ns until it expires, 0 when disarmed; interval). @return the
 * number seen, or a negative errno. */
int tlr_scan_timerfds(pid_t pid,
		      void (*cb)(void *ctx, int fd, int clockid, int64_t value, int64_t interval),
		      void *ctx);

/* Each POSIX timer of pid (/proc/PID/timers): its kernel id, clock and
 * sigev_notify. @return the number seen, or a negative errno. */
int tlr_scan_posix_timers(pid_t pid, void (*cb)(void *ctx, int id, int clockid, int notify),
			  void *ctx);

/* A thread's name (/proc/PID/task/TID/comm), "" if it cannot be read. */
void tlr_thread_name(pid_t pid, pid_t tid, char *buf, size_t size);

/* Whether a path from /proc/PID/maps is the process's main executable. */
bool tlr_same_file(const char *a, const char *b);

#endif /* TL_RECORD_PROCFS_H */
