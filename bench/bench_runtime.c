/*
 * bench_runtime.c - libgotimer on the work that bench/go/timer_bench_test.go
 * gives Go 1.19's time package, so that scripts/bench-runtime can print each
 * pair and its ratio. Both files describe the same work in the same words:
 *
 * Timer operations (run for --benchtime, the iteration count scaled the way
 * Go's testing package scales b.N; one op is):
 *
 *   TimerNewStop    NewTimer(1h), then Stop. The timer is then garbage; C
 *                   has no collector, so this side also frees the handle.
 *   TimerReset      Reset(1h) of one timer that is always active.
 *   TimerStopReset  Stop, then Reset(1h), of one timer.
 *
 * Fixed work (N = 100,000, one op is one timer or one message; Go's testing
 * package runs b.N=1 first, and so does this side):
 *
 *   PendingTimers          create N pending gt_timer_new(1h) timers and keep
 *                          them; report the malloc growth per timer
 *                          (B/timer: mallinfo2 uordblks + hblkhd), the
 *                          runtime's own count (pending-B/timer, from
 *                          gt_stats) and gt_object_size() (object-B).
 *   ConsumerAfter          the seed's after-in-loop consumer: a producer sends
 *                          N tokens on an unbuffered channel; the consumer
 *                          selects on {in, gt_after(1h), done} and releases
 *                          the after-channel. ns/op is ns per message;
 *                          retained-B is the malloc growth over the run and
 *                          pending-B the growth of gt_stats pending_bytes.
 *                          One untimed message goes first, so the consumer
 *                          is in its loop.
 *   ConsumerStopDrainReset the same producer; the consumer owns one timer and
 *                          calls the seed's resetTimer (Stop, drain,
 *                          Reset(1h)) before each select on {in, t.C, done}.
 *
 * Go switches goroutines on its own threads; here the producer, the consumer
 * and the timer thread are kernel threads. The mode is GOTIMER_CHAN's.
 *
 * Output is Go's benchmark format, one line per result, so one parser reads
 * both sides:
 *
 *   BenchmarkTimerReset	 20000000	        45.10 ns/op
 *
 * Usage: bench_runtime [--group timer|fixed|all] [--filter NAME] [--count N]
 *                      [--benchtime S]
 * --filter runs only the benchmarks whose name contains NAME (for perf).
 * Run the fixed group in a fresh process each time, as the Go side does: the
 * timers the after-in-loop consumer abandons in async mode stay for an hour.
 */
#include <gotimer.h>

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXED_N 100000

static struct env {
	bool timer_group;
	bool fixed_group;
	const char *filter; /* run only benchmarks whose name contains this, for profiling */
	int count;
	gt_duration benchtime;
} env = {
	.timer_group = true,
	.fixed_group = true,
	.filter = NULL,
	.count = 1,
	.benchtime = GT_SECOND,
};

static void die(const char *what)
{
	fprintf(stderr, "bench_runtime: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Bytes malloc has handed out and not taken back, in every arena: small
 * objects (uordblks) and the mmapped blocks a large heap array lives in
 * (hblkhd). */
static int64_t malloc_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (int64_t)(mi.uordblks + mi.hblkhd);
}

static int64_t pending_bytes(void)
{
	gt_stats st;

	gt_stats_read(&st);
	return (int64_t)st.pending_bytes;
}

/* ---------------------------------------------------------------------------
 * Timer operations.
 */

static void new_stop(long n)
{
	for (long i = 0; i < n; i++) {
		gt_timer *t = gt_timer_new(GT_HOUR);

		if (!t)
			die("gt_timer_new");
		gt_timer_stop(t);
		gt_timer_free(t);
	}
}

static void reset(long n)
{
	gt_timer *t = gt_timer_new(GT_HOUR);

	if (!t)
		die("gt_timer_new");
	for (long i = 0; i < n; i++)
		gt_timer_reset(t, GT_HOUR);
	gt_timer_free(t);
}

static void stop_reset(long n)
{
	gt_timer *t = gt_timer_new(GT_HOUR);

	if (!t)
		die("gt_timer_new");
	for (long i = 0; i < n; i++) {
		gt_timer_stop(t);
		gt_timer_reset(t, GT_HOUR);
	}
	gt_timer_free(t);
}

static int64_t time_n(void (*fn)(long), long n)
{
	int64_t start = gt_now();

	fn(n);
	return gt_now() - start;
}

/* Go 1.19's predictN: aim 20% past the goal, grow at most 100x and at
 * least by one, and never past 1e9. */
static long predict_n(int64_t goal, long prev_n, int64_t prev_ns)
{
	int64_t n;

	if (prev_ns <= 0)
		prev_ns = 1;
	n = goal * prev_n / prev_ns;
	n += n / 5;
	if (n > 100 * (int64_t)prev_n)
		n = 100 * (int64_t)prev_n;
	if (n < prev_n + 1)
		n = prev_n + 1;
	if (n > 1000000000)
		n = 1000000000;
	return (long)n;
}

/* Run fn with a growing count until one run lasts benchtime, as Go's
 * B.launch does, and print the last run. */
static bool selected(const char *name)
{
	return !env.filter || strstr(name, env.filter);
}

static void bench_op(const char *name, void (*fn)(long))
{
	long n = 1;
	int64_t ns;

	if (!selected(name))
		return;
	ns = time_n(fn, n);
	while (ns < env.benchtime && n < 1000000000) {
		n = predict_n(env.benchtime, n, ns);
		ns = time_n(fn, n);
	}
	printf("Benchmark%s\t%10ld\t%12.2f ns/op\n", name, n, (double)ns / (double)n);
	fflush(stdout);
}

/* ---------------------------------------------------------------------------
 * Fixed work.
 */

struct fixed_result {
	int64_t ns;
	double metric[3];
};

static void pending_timers(long n, struct fixed_result *r)
{
	/* Allocated before the first measurement, so it is not counted. */
	gt_timer **ts = calloc((size_t)n, sizeof(*ts));
	int64_t before, before_pending, start;

	if (!ts)
		die("calloc");
	before = malloc_in_use();
	before_pending = pending_bytes();
	start = gt_now();
	for (long i = 0; i < n; i++) {
		ts[i] = gt_timer_new(GT_HOUR);
		if (!ts[i])
			die("gt_timer_new");
	}
	r->ns = gt_now() - start;
	r->metric[0] = (double)(malloc_in_use() - before) / (double)n;
	r->metric[1] = (double)(pending_bytes() - before_pending) / (double)n;
	r->metric[2] = (double)gt_object_size(ts[0]);
	for (long i = 0; i < n; i++)
		gt_timer_free(ts[i]);
	free(ts);
}

struct consumer {
	gt_chan *in;
	gt_chan *done;
};

static void *after_consumer(void *arg)
{
	struct consumer *c = arg;

	for (;;) {
		gt_chan *after = gt_after(GT_HOUR);
		gt_chan *cs[] = {c->in, after, c->done};
		int i;

		if (!after)
			die("gt_after");
		i = gt_select(cs, 3, NULL, NULL, -1);
		gt_chan_release(after);
		if (i == 2)
			return NULL;
	}
}

/* The seed's resetTimer: the only correct Reset in async mode. */
static void reset_timer(gt_timer *t, gt_duration d)
{
	if (!gt_timer_stop(t))
		gt_chan_try_recv(gt_timer_chan(t), NULL);
	gt_timer_reset(t, d);
}

static void *stop_drain_reset_consumer(void *arg)
{
	struct consumer *c = arg;
	gt_timer *t = gt_timer_new(GT_HOUR);
	gt_chan *cs[] = {c->in, gt_timer_chan(t), c->done};

	if (!t)
		die("gt_timer_new");
	for (;;) {
		reset_timer(t, GT_HOUR);
		if (gt_select(cs, 3, NULL, NULL, -1) == 2)
			break;
	}
	gt_timer_free(t);
	return NULL;
}

/* Time n sends to a consumer thread and measure what the run retains. */
static void run_consumer(void *(*fn)(void *), long n, struct fixed_result *r)
{
	struct consumer c = {gt_chan_new(0), gt_chan_new(0)};
	int64_t before, before_pending, start;
	pthread_t th;
	int err;

	if (!c.in || !c.done)
		die("gt_chan_new");
	err = pthread_create(&th, NULL, fn, &c);
	if (err) {
		errno = err;
		die("pthread_create");
	}
	/* One untimed message first, so that the consumer has set up its
	 * loop (and its timer) before the first measurement. */
	if (gt_chan_send(c.in, 1) < 0)
		die("gt_chan_send");
	before = malloc_in_use();
	before_pending = pending_bytes();
	start = gt_now();
	for (long i = 0; i < n; i++) {
		if (gt_chan_send(c.in, 1) < 0)
			die("gt_chan_send");
	}
	r->ns = gt_now() - start;
	r->metric[0] = (double)(malloc_in_use() - before);
	r->metric[1] = (double)(pending_bytes() - before_pending);
	gt_chan_close(c.done);
	pthread_join(th, NULL);
	gt_chan_release(c.in);
	gt_chan_release(c.done);
}

static void consumer_after(long n, struct fixed_result *r)
{
	run_consumer(after_consumer, n, r);
}

static void consumer_stop_drain_reset(long n, struct fixed_result *r)
{
	run_consumer(stop_drain_reset_consumer, n, r);
}

/* Run once with n = 1, as Go's testing package does before any b.N, then
 * with FIXED_N, and print the second run with its metrics. */
static void bench_fixed(const char *name, void (*fn)(long, struct fixed_result *),
			const char *const units[3])
{
	struct fixed_result r = {0};

	if (!selected(name))
		return;
	fn(1, &r);
	memset(&r, 0, sizeof(r));
	fn(FIXED_N, &r);
	printf("Benchmark%s\t%10d\t%12.2f ns/op", name, FIXED_N, (double)r.ns / FIXED_N);
	for (int i = 0; i < 3; i++) {
		if (units[i])
			printf("\t%12.1f %s", r.metric[i], units[i]);
	}
	printf("\n");
	fflush(stdout);
}

static void run_timer_group(void)
{
	bench_op("TimerNewStop", new_stop);
	bench_op("TimerReset", reset);
	bench_op("TimerStopReset", stop_reset);
}

static void run_fixed_group(void)
{
	static const char *const pending_units[3] = {"B/timer", "pending-B/timer", "object-B"};
	static const char *const consumer_units[3] = {"retained-B", "pending-B", NULL};

	bench_fixed("PendingTimers", pending_timers, pending_units);
	bench_fixed("ConsumerAfter", consumer_after, consumer_units);
	bench_fixed("ConsumerStopDrainReset", consumer_stop_drain_reset, consumer_units);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_runtime [--group timer|fixed|all] [--filter NAME] "
		   "[--count N] [--benchtime SECONDS]\n");
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{"group", required_argument, NULL, 'g'},
		{"filter", required_argument, NULL, 'f'},
		{"count", required_argument, NULL, 'c'},
		{"benchtime", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int o;

	while ((o = getopt_long(argc, argv, "g:f:c:t:h", opts, NULL)) != -1) {
		switch (o) {
		case 'g':
			env.timer_group = !strcmp(optarg, "timer") || !strcmp(optarg, "all");
			env.fixed_group = !strcmp(optarg, "fixed") || !strcmp(optarg, "all");
			if (!env.timer_group && !env.fixed_group)
				goto bad;
			break;
		case 'f':
			env.filter = optarg;
			break;
		case 'c':
			env.count = atoi(optarg);
			if (env.count < 1)
				goto bad;
			break;
		case 't':
			env.benchtime = (gt_duration)(atof(optarg) * GT_SECOND);
			if (env.benchtime <= 0)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind == argc)
		return 0;
bad:
	usage(stderr);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	if (parse_args(argc, argv) < 0)
		return 2;
	/* Header lines in the "key: value" form of Go's, which the parser
	 * skips: the library and the mode this run measures. */
	printf("lib: libgotimer %d.%d\nmode: %s\n", GOTIMER_VERSION_MAJOR, GOTIMER_VERSION_MINOR,
	       gt_mode_name(gt_mode()));
	for (int i = 0; i < env.count; i++) {
		if (env.timer_group)
			run_timer_group();
		if (env.fixed_group)
			run_fixed_group();
	}
	return 0;
}
