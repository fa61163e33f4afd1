/*
 * bench_trace_size - bytes per event of the trace format, for several
 * workloads (tests/trace_workload.c), time resolutions and zstd levels.
 * The format's target is at most 1.5 bytes per event after compression
 * (docs/trace-format.md, "Size").
 *
 *   bench_trace_size [EVENTS [SEED]]      (defaults: 1000000, 1)
 *
 * Workloads:
 *  - loop: one thread in a create/stop/free loop at one site (the spec's
 *    example), timestamps with jitter;
 *  - mixed-1: a busy service's mix (request timeouts, tickers, fired
 *    one-shots, resets, timerfds, after-churn; ~70,000 events/s, events of
 *    concurrent requests interleaved) on one thread;
 *  - mixed-8: the same on 8 threads, as merged from per-thread rings.
 * "raw" is the record bytes before compression, "file" the bytes of the
 * whole file (file and chunk headers included), both per event.
 */
#include "tl_trace.h"
#include "trace_workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct result {
	struct tl_trace_writer_stats st;
	double seconds;
};

static int run(const struct tl_workload_opts *wo, unsigned shift, int level, struct result *res)
{
	struct tl_trace_writer_opts o = {.time_shift = shift, .zstd_level = level};
	struct tl_trace_writer *w;
	struct timespec a, b;
	int fd = memfd_create("bench-trace", MFD_CLOEXEC), err;

	if (fd < 0)
		return TL_TRACE_E_IO;
	w = tl_trace_writer_new(fd, &o, &err);
	if (!w) {
		close(fd);
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	err = tl_workload_write(w, wo);
	clock_gettime(CLOCK_MONOTONIC, &b);
	tl_trace_writer_stats(w, &res->st);
	res->seconds = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	tl_trace_writer_free(w);
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int profile;
		unsigned threads;
	} loads[] = {
		{"loop", TL_WORKLOAD_LOOP, 1},
		{"mixed-1", TL_WORKLOAD_MIXED, 1},
		{"mixed-8", TL_WORKLOAD_MIXED, 8},
	};
	static const unsigned shifts[] = {0, 6, 10};
	static const int levels[] = {3, 19};
	uint64_t events = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;

	printf("%-8s %5s %4s %8s %6s %11s %12s %13s %9s\n", "workload", "shift", "zstd", "events",
	       "chunks", "raw B/event", "file B/event", "raw KiB/chunk", "Mevent/s");
	for (size_t l = 0; l < sizeof(loads) / sizeof(loads[0]); l++) {
		for (size_t i = 0; i < sizeof(shifts) / sizeof(shifts[0]); i++) {
			for (size_t j = 0; j < sizeof(levels) / sizeof(levels[0]); j++) {
				struct tl_workload_opts wo = {.profile = loads[l].profile,
							      .seed = seed,
							      .events = events,
							      .threads = loads[l].threads};
				struct result r;
				int err = run(&wo, shifts[i], levels[j], &r);
				double n = (double)r.st.events;

				if (err) {
					fprintf(stderr, "bench_trace_size: %s\n",
						tl_trace_strerror(err));
					return 1;
				}
				printf("%-8s %5u %4d %8llu %6llu %11.2f %12.3f %13.1f %9.2f\n",
				       loads[l].name, shifts[i], levels[j],
				       (unsigned long long)r.st.events,
				       (unsigned long long)r.st.chunks, (double)r.st.raw_bytes / n,
				       (double)r.st.file_bytes / n,
				       (double)r.st.raw_bytes / 1024.0 / (double)r.st.chunks,
				       n / r.seconds / 1e6);
			}
		}
	}
	return 0;
}
