/*
 * trace_workload.h - deterministic traces for tests, fuzz seeds and the
 * size benchmark: a small trace with every record type and fixed values,
 * and a realistic mixed workload of a service's timers.
 */
#ifndef TL_TRACE_WORKLOAD_H
#define TL_TRACE_WORKLOAD_H

#include "tl_trace.h"

#include <stdint.h>

enum tl_workload_profile {
	TL_WORKLOAD_MIXED = 0, /* a busy service: the mix below, on 8 threads */
	TL_WORKLOAD_LOOP = 1,  /* one thread in a create/stop/free loop at one site */
};

struct tl_workload_opts {
	int profile;          /* enum tl_workload_profile */
	uint64_t seed;
	uint64_t events;      /* events to write (about: whole activities) */
	unsigned threads;     /* threads making events, 1..64 (0: 8) */
	size_t chunk_bytes;   /* flush past this many raw bytes (0: 1 MiB, as the shim) */
	unsigned flush_ms;    /* or this long after the last flush, in trace time (0: 200) */
};

/*
 * tl_workload_write - a service's timers, as the shim would record them:
 * process, threads, modules and runtime records, then a mix of activities
 * at a few call sites, with timestamps that have the jitter of real ones:
 *  - request timeouts: create a timer, stop it (active) at the reply, free it;
 *  - tickers that tick every 10 ms (fire delivered, then a drain, or a
 *    dropped tick when the reader is slow);
 *  - one-shot timers that fire: create, fire, drain, release, free;
 *  - Reset of long-lived timers, sometimes with a value pending;
 *  - timerfds: create, arm, fire, free;
 *  - after-in-loop churn: create, release, never stopped;
 * plus snapshots and ring-full drops now and then, and the end record.
 * The loop profile is the format spec's example instead: a request timeout
 * created, stopped and freed by one thread, over and over.
 * Stacks are written before their first use. Flushes as the shim does.
 * @return 0 or the first writer error.
 */
int tl_workload_write(struct tl_trace_writer *w, const struct tl_workload_opts *o);

/*
 * tl_workload_small - a small trace with every record type and fixed
 * values, in chunks of a few records each (stable output for CLI tests):
 * process, threads, modules, module-unload, stacks, runtime, every event
 * type, a dropped record, a snapshot, and the end.
 * @return 0 or the first writer error.
 */
int tl_workload_small(struct tl_trace_writer *w);

#endif /* TL_TRACE_WORKLOAD_H */
