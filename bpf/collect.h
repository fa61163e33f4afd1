/*
 * collect.h - the BPF side's events (record.h) as trace records: ids by
 * the id rules, each descriptor and POSIX timer and runtime timer followed
 * to its trace id, stacks written once each, threads named when first
 * seen, and timers made before the recording written as existing ones.
 *
 * The probe points are a table (struct tlr_probe): where the BPF program
 * attaches and what the event means. A runtime to follow is a table and a
 * function that reads its events' arguments.
 *
 * Not thread-safe: the recorder's one thread uses it.
 */
#ifndef TL_RECORD_COLLECT_H
#define TL_RECORD_COLLECT_H

#include "tl_trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tlr_modules;
struct tlr_unwinder;

/* A probe point: the function the uprobe attaches to, the attach cookie
 * (an event type of TLR_PROBE and above, and TLR_COOKIE_* bits). */
struct tlr_probe {
	const char *func;
	uint64_t cookie;
};

/* libgotimer's hooks (gotimer.h, "Observability hooks"). */
const struct tlr_probe *tlr_gotimer_probes(size_t *n);

/*
 * A Go program's timers. The probe points and runtime.timer's layout are
 * its Go version's (tlr_go_probes); the callbacks are the code addresses,
 * in the target, of the functions that tell a timer's kind: time.sendTime
 * (a Timer, After or Ticker), time.goFunc (AfterFunc) and
 * runtime.goroutineReady (Sleep). sym is the binary's .gopclntab, loaded
 * at bias: After and NewTimer are told apart by the calls inlined at the
 * caller, and the runtime's frames left out of stacks by function.
 */
struct tlr_gosym;

struct tlr_go_layout {
	int first, last;       /* the Go 1.x minor versions it is for */
	const struct tlr_probe *probes;
	size_t nprobes;
	/* runtime.timer: where its fields are */
	uint32_t when, period, func, arg, state;
	uint32_t read;         /* bytes from its start that hold them all */
	bool when_is_active;   /* active means when != 0 (Go 1.23 on), not a status */
	/* bytes a timer holds: the runtime timer and what it belongs to, and
	 * a channel of one time.Time */
	uint64_t timer_bytes, sleep_bytes, chan_bytes;
};

/* The layout for Go 1.minor, NULL when this build knows none. */
const struct tlr_go_layout *tlr_go_layout(int minor);

struct tlr_go {
	const struct tlr_go_layout *layout;
	uint64_t send_time, go_func, ready; /* code addresses in the target */
	const struct tlr_gosym *sym;
	uint64_t bias;
};

struct tlr_collect_opts {
	pid_t pid;
	struct tl_trace_writer *w;
	struct tlr_modules *mods;
	struct tlr_unwinder *unwinder;
	/* CLOCK_REALTIME and CLOCK_BOOTTIME less CLOCK_MONOTONIC, for timers
	 * armed with an absolute time on those clocks. */
	int64_t realtime_offset, boottime_offset;
};

struct tlr_collector;

struct tlr_collector *tlr_collect_new(const struct tlr_collect_opts *o);
void tlr_collect_free(struct tlr_collector *c);

/* The code of libgotimer in the target: frames inside it are the
 * runtime's, left out of stacks (they start where the service called). */
void tlr_collect_runtime(struct tlr_collector *c, uint64_t lo, uint64_t hi);

/* The target is a Go program: follow its runtime's timers. */
void tlr_collect_go(struct tlr_collector *c, const struct tlr_go *go);

/* Timers open when the recording began (procfs.h's scans), as existing
 * records. @return 0 or a trace error. */
int tlr_collect_timerfd(struct tlr_collector *c, int64_t time, int fd, int clockid,
			int64_t value, int64_t interval);
int tlr_collect_posix(struct tlr_collector *c, int64_t time, int id, int clockid, int notify);

/*
 * tlr_collect_event - one ring buffer record (size bytes). @return 0, a
 * negative trace error, or 1 when the target has gone (it exited or
 * exec'd another program): the recording is over.
 */
int tlr_collect_event(struct tlr_collector *c, const void *data, size_t size);

/*
 * tlr_collect_rotate - go on in the trace w, a new file (the caller has
 * written its process record and modules): stacks and thread names are
 * written again as they are used; the timerfds and POSIX timers open now
 * are written as existing timers (their creation is in the file before).
 * A libgotimer or Go timer made before is known to the new file by its
 * events, as one made before an attach. @return 0 or a trace error.
 */
int tlr_collect_rotate(struct tlr_collector *c, struct tl_trace_writer *w, int64_t time);

struct tlr_collect_stats {
	uint64_t events;      /* trace events written */
	uint64_t timers;      /* created, and existing */
	uint64_t unknown;     /* events of descriptors or timers not followed */
	bool exited, execed;
	int exit_code;        /* the wait status the process exited with, when exited */
};

void tlr_collect_stats(const struct tlr_collector *c, struct tlr_collect_stats *st);

#endif /* TL_RECORD_COLLECT_H */
