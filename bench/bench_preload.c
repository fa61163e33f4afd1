/*
 * bench_preload.c - the workload that scripts/bench-preload runs bare,
 * under libtimerleak.so (frame pointers and libunwind) and under
 * heaptrack, to measure what recording costs per event.
 *
 * Every thread first recurses through noinline functions to a fixed depth
 * (--depth frames of this program, counted from the thread's entry to the
 * recorded call; the C library adds its thread-start frames below), so the
 * unwinders walk a stack of a service's depth. There each thread makes
 * --warmup iterations of one loop, then waits until all threads are
 * there, and makes --iters more, timed:
 *
 *   gt       gt_timer_new(1h), gt_timer_stop, gt_timer_free: 4 events per
 *            iteration under the recorder (create, stop, release, and free
 *            when libgotimer reclaims the timer, possibly on another
 *            thread and later);
 *   malloc   malloc(64), free: 2 events per iteration under heaptrack;
 *   timerfd  timerfd_create, timerfd_settime(1h), close: 3 events per
 *            iteration (create, arm, free) through the libc hooks.
 *   posix    timer_create(CLOCK_MONOTONIC, SIGEV_NONE), timer_settime(1h),
 *            timer_delete: 3 events per iteration.
 *
 * --pace N makes a loop's timed part N iterations a second per thread (in
 * batches of 100, sleeping to the schedule) instead of flat out. --stop
 * stops the whole process (SIGSTOP) once every thread is at the start line:
 * a recorder attaches to it there, from outside, and continues it
 * (scripts/bench-record).
 *
 * or, for --work mixed and mixed-malloc, runs the service of
 * bench_preload_mixed.c for --seconds (no warm-up).
 *
 * main reads CLOCK_MONOTONIC and getrusage(RUSAGE_SELF) when every thread
 * is at the start line and again after the last one is joined: the wall
 * time of the parallel section, and the CPU time of the whole process over
 * it, the recorder's writer thread and libgotimer's timer thread included.
 * Each thread also times its own part. Output is one line of key=value
 * pairs:
 *
 *   bench_preload work=gt threads=2 depth=12 iters=250000 ops=2000000
 *   warmup_ops=40004 wall_ns=... cpu_ns=... thread_wall_ns_max=...
 *   thread_cpu_ns_sum=...
 *
 * ops counts the recordable calls made while timed (the events a recorder
 * should see), warmup_ops those made before. scripts/bench-preload takes
 * warmup_ops from the events the trace holds and divides by the rest.
 *
 * Usage: bench_preload [--work gt|malloc|timerfd|posix|mixed|mixed-malloc]
 *                      [--threads N] [--iters N] [--warmup N] [--depth N]
 *                      [--seconds S] [--rate R] [--seed N] [--pace N] [--stop]
 */
#include "bench_preload.h"

#include <gotimer.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct bp_env bp_env = {
	.work = BP_GT,
	.threads = 1,
	.iters = 250000,
	.warmup = 5000,
	.depth = 12,
	.seconds = 3,
	.rate = 2500,
	.seed = 1,
};

/* Two barriers: every thread is ready, main reads its clocks, all go. */
static pthread_barrier_t ready, go;

void bp_die(int err, const char *what)
{
	fprintf(stderr, "bench_preload: %s: %s\n", what, strerror(err));
	exit(1);
}

void bp_start(void)
{
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&go);
}

BP_SITE int bp_descend(struct bp_thread *t, int left)
{
	int r = 0;

	if (left <= 0) {
		t->leaf(t);
		return 0;
	}
	r = bp_descend(t, left - 1);
	/* Work after the call: neither a sibling call nor tail recursion that
	 * the compiler could turn into a loop, so every level keeps a frame. */
	__asm__ volatile("" : "+r"(r));
	return r + 1;
}

/* ---------------------------------------------------------------------------
 * The loops. Each is the leaf: the recorded calls are made from its frame.
 */

/* The timed phase begins: wait for every thread, then read the clocks. */
static void phase_start(struct bp_thread *t)
{
	bp_start();
	t->wall_ns = bp_clock(CLOCK_MONOTONIC);
	t->cpu_ns = bp_clock(CLOCK_THREAD_CPUTIME_ID);
}

/* With --pace, the timed iteration i is due at start + i / pace seconds:
 * every 100th sleeps until then. */
static void pace(const struct bp_thread *t, long i)
{
	int64_t due;
	struct timespec ts;

	if (!bp_env.pace || i % 100)
		return;
	due = t->wall_ns + i * (1000000000 / bp_env.pace);
	ts = (struct timespec){due / 1000000000, due % 1000000000};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void phase_end(struct bp_thread *t, unsigned events_per_iter)
{
	t->wall_ns = bp_clock(CLOCK_MONOTONIC) - t->wall_ns;
	t->cpu_ns = bp_clock(CLOCK_THREAD_CPUTIME_ID) - t->cpu_ns;
	t->ops = events_per_iter * (uint64_t)bp_env.iters;
	t->warmup_ops = events_per_iter * (uint64_t)bp_env.warmup;
}

/*
 * Each loop runs twice from the same frame: --warmup iterations before the
 * start line, then --iters timed ones. The warm-up takes what a recorder
 * pays once out of the timed part: its ring's first page faults, the
 * unwinder's caches, and heaptrack's interpreter, which reads every
 * module's symbols before it drains its pipe, stalling the program for
 * some 0.4 s at its first few thousand events.
 */
static BP_SITE void leaf_gt(struct bp_thread *t)
{
	for (int timed = 0; timed < 2; timed++) {
		long n = timed ? bp_env.iters : bp_env.warmup;

		if (timed)
			phase_start(t);
		for (long i = 0; i < n; i++) {
			gt_timer *tm;

			if (timed)
				pace(t, i);
			if (!(tm = gt_timer_new(GT_HOUR)))
				bp_die(errno, "gt_timer_new");
			gt_timer_stop(tm);
			gt_timer_free(tm);
		}
	}
	phase_end(t, 4);
}

static BP_SITE void leaf_malloc(struct bp_thread *t)
{
	for (int timed = 0; timed < 2; timed++) {
		long n = timed ? bp_env.iters : bp_env.warmup;

		if (timed)
			phase_start(t);
		for (long i = 0; i < n; i++) {
			void *p = malloc(64);

			if (!p)
				bp_die(ENOMEM, "malloc");
			bp_use(p);
			free(p);
		}
	}
	phase_end(t, 2);
}

static BP_SITE void leaf_timerfd(struct bp_thread *t)
{
	struct itimerspec its = {.it_value = {.tv_sec = 3600}};

	for (int timed = 0; timed < 2; timed++) {
		long n = timed ? bp_env.iters : bp_env.warmup;

		if (timed)
			phase_start(t);
		for (long i = 0; i < n; i++) {
			int fd;

			if (timed)
				pace(t, i);
			if ((fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) < 0)
				bp_die(errno, "timerfd_create");
			if (timerfd_settime(fd, 0, &its, NULL) != 0)
				bp_die(errno, "timerfd_settime");
			close(fd);
		}
	}
	phase_end(t, 3);
}

static BP_SITE void leaf_posix(struct bp_thread *t)
{
	struct itimerspec its = {.it_value = {.tv_sec = 3600}};
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};

	for (int timed = 0; timed < 2; timed++) {
		long n = timed ? bp_env.iters : bp_env.warmup;

		if (timed)
			phase_start(t);
		for (long i = 0; i < n; i++) {
			timer_t id;

			if (timed)
				pace(t, i);
			if (timer_create(CLOCK_MONOTONIC, &sev, &id) != 0)
				bp_die(errno, "timer_create");
			if (timer_settime(id, 0, &its, NULL) != 0)
				bp_die(errno, "timer_settime");
			timer_delete(id);
		}
	}
	phase_end(t, 3);
}

/* ---------------------------------------------------------------------------
 * main
 */

static void *thread_main(void *arg)
{
	struct bp_thread *t = arg;

	/* The thread's entry, this frame, and the leaf's are 3 of the depth:
	 * bp_descend(t, k) stacks k + 1 frames of its own. */
	bp_descend(t, t->depth - 3);
	return NULL;
}

static const char *const work_names[] = {
	[BP_GT] = "gt",
	[BP_MALLOC] = "malloc",
	[BP_TIMERFD] = "timerfd",
	[BP_POSIX] = "posix",
	[BP_MIXED] = "mixed",
	[BP_MIXED_MALLOC] = "mixed-malloc",
};

static void __attribute__((noreturn)) usage(int code)
{
	fprintf(code ? stderr : stdout,
		"Usage: bench_preload [--work gt|malloc|timerfd|posix|mixed|mixed-malloc]\n"
		"                     [--threads N] [--iters N] [--warmup N] [--depth N]\n"
		"                     [--seconds S] [--rate R] [--seed N] [--pace N] [--stop]\n");
	exit(code);
}

static long number(const char *arg, const char *opt, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "bench_preload: %s wants a number from %ld to %ld, not \"%s\"\n",
			opt, min, max, arg);
		exit(2);
	}
	return v;
}

static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{"work", required_argument, NULL, 'w'},
		{"threads", required_argument, NULL, 't'},
		{"iters", required_argument, NULL, 'n'},
		{"depth", required_argument, NULL, 'd'},
		{"seconds", required_argument, NULL, 's'},
		{"rate", required_argument, NULL, 'r'},
		{"seed", required_argument, NULL, 'S'},
		{"warmup", required_argument, NULL, 'W'},
		{"pace", required_argument, NULL, 'p'},
		{"stop", no_argument, NULL, 'x'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'w': {
			size_t i;

			for (i = 0; i < sizeof(work_names) / sizeof(work_names[0]); i++) {
				if (strcmp(optarg, work_names[i]) == 0)
					break;
			}
			if (i == sizeof(work_names) / sizeof(work_names[0]))
				usage(2);
			bp_env.work = (enum bp_work)i;
			break;
		}
		case 't':
			bp_env.threads = (int)number(optarg, "--threads", 1, BP_MAX_THREADS - 8);
			break;
		case 'n':
			bp_env.iters = number(optarg, "--iters", 1, 1000000000);
			break;
		case 'W':
			bp_env.warmup = number(optarg, "--warmup", 0, 1000000000);
			break;
		case 'd':
			bp_env.depth = (int)number(optarg, "--depth", 3, 200);
			break;
		case 's':
			bp_env.seconds = (double)number(optarg, "--seconds", 1, 3600);
			break;
		case 'r':
			bp_env.rate = (int)number(optarg, "--rate", 1, 1000000);
			break;
		case 'S':
			bp_env.seed = (uint64_t)number(optarg, "--seed", 0, 1L << 62);
			break;
		case 'p':
			bp_env.pace = number(optarg, "--pace", 1, 100000000);
			break;
		case 'x':
			bp_env.stop = 1;
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
}

static int64_t rusage_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* Recordable calls made by main before the threads start. */
static uint64_t main_ops;

/* The threads of this run in ts[]; @return how many. */
static int setup(struct bp_thread *ts)
{
	static void (*const leaves[])(struct bp_thread *) = {
		[BP_GT] = leaf_gt,
		[BP_MALLOC] = leaf_malloc,
		[BP_TIMERFD] = leaf_timerfd,
		[BP_POSIX] = leaf_posix,
	};

	if (bp_env.work == BP_MIXED || bp_env.work == BP_MIXED_MALLOC)
		return bp_mixed_setup(ts, BP_MAX_THREADS);
	if (bp_env.work == BP_GT) {
		/* Start libgotimer's threads now, not in the first timed call:
		 * 4 events more in the trace, out of millions. */
		gt_timer *t = gt_timer_new(GT_HOUR);

		gt_timer_stop(t);
		gt_timer_free(t);
		main_ops = 4;
	}
	for (int i = 0; i < bp_env.threads; i++) {
		ts[i].index = i;
		ts[i].depth = bp_env.depth;
		ts[i].leaf = leaves[bp_env.work];
	}
	return bp_env.threads;
}

int main(int argc, char **argv)
{
	static struct bp_thread ts[BP_MAX_THREADS];
	int64_t w0, c0, wall, cpu, twall_max = 0, tcpu_sum = 0;
	uint64_t ops = 0, warmup_ops;
	int n, err;

	parse(argc, argv);
	n = setup(ts);
	warmup_ops = main_ops;
	pthread_barrier_init(&ready, NULL, (unsigned)n + 1);
	pthread_barrier_init(&go, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		err = pthread_create(&ts[i].th, NULL, thread_main, &ts[i]);
		if (err)
			bp_die(err, "pthread_create");
	}
	pthread_barrier_wait(&ready);
	if (bp_env.stop)
		raise(SIGSTOP);
	w0 = bp_clock(CLOCK_MONOTONIC);
	c0 = rusage_ns();
	pthread_barrier_wait(&go);
	for (int i = 0; i < n; i++)
		pthread_join(ts[i].th, NULL);
	wall = bp_clock(CLOCK_MONOTONIC) - w0;
	cpu = rusage_ns() - c0;
	if (bp_env.work == BP_MIXED || bp_env.work == BP_MIXED_MALLOC)
		bp_mixed_teardown();
	for (int i = 0; i < n; i++) {
		ops += ts[i].ops;
		warmup_ops += ts[i].warmup_ops;
		tcpu_sum += ts[i].cpu_ns;
		if (ts[i].wall_ns > twall_max)
			twall_max = ts[i].wall_ns;
	}
	printf("bench_preload work=%s threads=%d depth=%d iters=%ld ops=%llu warmup_ops=%llu "
	       "wall_ns=%lld cpu_ns=%lld thread_wall_ns_max=%lld thread_cpu_ns_sum=%lld\n",
	       work_names[bp_env.work], bp_env.threads, bp_env.depth,
	       bp_env.work == BP_MIXED || bp_env.work == BP_MIXED_MALLOC ? 0 : bp_env.iters,
	       (unsigned long long)ops, (unsigned long long)warmup_ops, (long long)wall,
	       (long long)cpu, (long long)twall_max, (long long)tcpu_sum);
	return 0;
}
