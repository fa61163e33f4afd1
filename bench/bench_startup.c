/*
 * bench_startup.c - how long a command takes to start and end, N times
 * over: the workload of scripts/bench-startup, which runs it bare, under
 * libtimerleak.so and under heaptrack's preload library.
 *
 * Usage: bench_startup N CMD [ARGS...]
 * Runs CMD N times one after the other (posix_spawnp, then waitpid), with
 * this program's environment, and prints
 *   bench_startup runs=N total_ns=T per_run_ns=T/N failures=F
 * where failures counts runs that did not exit 0.
 */
#include <errno.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n, failures = 0;
	int64_t t0, t;
	char *end;

	if (argc < 3 || (n = strtol(argv[1], &end, 10)) < 1 || *end) {
		fprintf(stderr, "usage: bench_startup N CMD [ARGS...]\n");
		return 2;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int st, err = posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ);

		if (err) {
			fprintf(stderr, "bench_startup: %s: %s\n", argv[2], strerror(err));
			return 1;
		}
		if (waitpid(pid, &st, 0) != pid) {
			fprintf(stderr, "bench_startup: waitpid: %s\n", strerror(errno));
			return 1;
		}
		failures += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	t = now_ns() - t0;
	printf("bench_startup runs=%ld total_ns=%lld per_run_ns=%lld failures=%ld\n", n,
	       (long long)t, (long long)(t / n), failures);
	return 0;
}
