/*
 * runtime_misc.c - the channel mode, statistics, object sizes and ids,
 * sleep and the clock (gotimer.h: "Channel mode", "Time", "Statistics").
 *
 * Statistics are process-wide; each case compares with a snapshot taken at
 * its start, and ctest runs each case in a process of its own.
 */
#include "gt_test_util.h"
#include "tl_test.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---------------------------------------------------------------------------
 * Mode.
 */

static enum gt_mode mode_wanted(void)
{
	const char *v = getenv("GOTIMER_CHAN");

	return v && strcmp(v, "sync") == 0 ? GT_MODE_SYNC : GT_MODE_ASYNC;
}

/* Also the child of mode_from_environment, run with other variables. */
TEST(mode_matches_environment)
{
	enum gt_mode m = gt_mode();
	const char *v = getenv("GOTIMER_CHAN");

	CHECK_EQ(m, mode_wanted());
	CHECK_STR(gt_mode_name(m), m == GT_MODE_SYNC ? "sync" : "async");
	/* Read once: a later change of the variable changes nothing. */
	setenv("GOTIMER_CHAN", m == GT_MODE_SYNC ? "async" : "sync", 1);
	CHECK_EQ(gt_mode(), m);
	if (v)
		setenv("GOTIMER_CHAN", v, 1);
	else
		unsetenv("GOTIMER_CHAN");
}

TEST(mode_names)
{
	CHECK_STR(gt_mode_name(GT_MODE_ASYNC), "async");
	CHECK_STR(gt_mode_name(GT_MODE_SYNC), "sync");
	CHECK(gt_mode_name(GT_MODE_ASYNC) == gt_mode_name(GT_MODE_ASYNC)); /* static storage */
}

/* Our environment without GOTIMER_CHAN, plus value if not NULL. */
static char **env_with(const char *value, char *buf, size_t len)
{
	size_t n = 0, j = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "GOTIMER_CHAN=", 13) != 0)
			env[j++] = environ[i];
	}
	if (value) {
		snprintf(buf, len, "GOTIMER_CHAN=%s", value);
		env[j++] = buf;
	}
	return env;
}

/* Run this binary's mode_matches_environment with GOTIMER_CHAN=value (or
 * unset), its stderr into err. @return its exit status, or -1. */
static int run_child(const char *value, char *err, size_t errlen)
{
	char *argv[] = {"runtime_misc", "mode_matches_environment", NULL};
	char var[64], **env = env_with(value, var, sizeof(var));
	int fds[2], status = -1;
	ssize_t n, got = 0;
	pid_t pid;

	if (!env || pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		freopen("/dev/null", "w", stdout);
		execve("/proc/self/exe", argv, env);
		_exit(127);
	}
	close(fds[1]);
	while (pid > 0 && (n = read(fds[0], err + got, errlen - 1 - (size_t)got)) > 0)
		got += n;
	err[got] = '\0';
	close(fds[0]);
	free(env);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int count_lines_with(const char *text, const char *word)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, word)) != NULL; p++)
		n++;
	return n;
}

/* Unset, empty and "async" mean async; "sync" means sync; anything else
 * means async and is reported once on stderr. */
TEST(mode_from_environment)
{
	const char *quiet[] = {NULL, "", "async", "sync"};
	char err[4096];

	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		CHECK_EQ(run_child(quiet[i], err, sizeof(err)), 0);
		CHECK_EQ(count_lines_with(err, "GOTIMER_CHAN"), 0);
	}
	CHECK_EQ(run_child("bogus", err, sizeof(err)), 0);
	CHECK_EQ(count_lines_with(err, "bogus"), 1);
	CHECK_EQ(run_child("SYNC", err, sizeof(err)), 0);
	CHECK_EQ(count_lines_with(err, "SYNC"), 1);
}

/* ---------------------------------------------------------------------------
 * Object sizes and ids.
 */

static void noop(void *arg)
{
	(void)arg;
}

TEST(object_size_per_kind)
{
	gt_timer *t = gt_timer_new(GT_HOUR);
	gt_chan *a = gt_after(GT_HOUR);
	gt_timer *f = gt_after_func(GT_HOUR, noop, NULL);
	gt_ticker *tk = gt_ticker_new(GT_HOUR);
	gt_chan *plain = gt_chan_new(4);
	uint64_t zeros[32] = {0};

	REQUIRE(t && a && f && tk && plain);
	CHECK_RANGE(gt_object_size(t), 1, 200);
	CHECK_RANGE(gt_object_size(a), 1, 200);
	CHECK_RANGE(gt_object_size(f), 1, 200);
	CHECK_RANGE(gt_object_size(tk), 1, 200);
	/* A callback timer has no channel. */
	CHECK(gt_object_size(f) < gt_object_size(t));
	CHECK_EQ(gt_object_size(NULL), 0);
	CHECK_EQ(gt_object_size(plain), 0);
	CHECK_EQ(gt_object_size(zeros), 0);
	CHECK_EQ(gt_object_size(gt_timer_chan(t)), gt_object_size(t));
	gt_timer_free(t);
	gt_chan_release(a);
	gt_timer_free(f);
	gt_ticker_free(tk);
	gt_chan_release(plain);
}

TEST(timer_ids_unique_never_reused)
{
	enum { N = 64 };
	uint64_t ids[N + 4];
	int n = 0;
	gt_timer *t = gt_timer_new(GT_HOUR);
	gt_chan *a = gt_after(GT_HOUR);
	gt_timer *f = gt_after_func(GT_HOUR, noop, NULL);
	gt_ticker *tk = gt_ticker_new(GT_HOUR);
	gt_chan *plain = gt_chan_new(1);
	uint64_t zeros[32] = {0};

	REQUIRE(t && a && f && tk && plain);
	ids[n++] = gt_timer_id(t);
	ids[n++] = gt_timer_id(a);
	ids[n++] = gt_timer_id(f);
	ids[n++] = gt_timer_id(tk);
	CHECK_EQ(gt_timer_id(t), ids[0]);
	CHECK_EQ(gt_timer_id(NULL), 0);
	CHECK_EQ(gt_timer_id(plain), 0);
	CHECK_EQ(gt_timer_id(zeros), 0);
	/* Free and create again: the allocator hands the same addresses back,
	 * the ids must differ. */
	for (int i = 0; i < N; i++) {
		gt_timer *x = gt_timer_new(GT_HOUR);

		REQUIRE(x != NULL);
		ids[n++] = gt_timer_id(x);
		gt_timer_free(x);
	}
	for (int i = 0; i < n; i++) {
		CHECK(ids[i] >= 1);
		for (int j = 0; j < i; j++)
			CHECK(ids[i] != ids[j]);
	}
	gt_timer_free(t);
	gt_chan_release(a);
	gt_timer_free(f);
	gt_ticker_free(tk);
	gt_chan_release(plain);
}

/* ---------------------------------------------------------------------------
 * Statistics.
 */

TEST(stats_counters)
{
	gt_stats s0 = stats_now(), s;
	gt_timer *t = gt_timer_new(GT_HOUR), *now, *f;
	size_t size = gt_object_size(t);

	REQUIRE(t != NULL);
	s = stats_now();
	CHECK_EQ(s.created, s0.created + 1);
	CHECK_EQ(s.pending, s0.pending + 1);
	CHECK_EQ(s.heap_entries, s0.heap_entries + 1);
	CHECK_EQ(s.live_objects, s0.live_objects + 1);
	CHECK_RANGE(s.live_bytes - s0.live_bytes, 1, size);
	CHECK_RANGE(s.pending_bytes - s0.pending_bytes, 1, size);
	CHECK_RANGE(s.shards, 1, 64);

	CHECK(gt_timer_stop(t));
	s = stats_now();
	CHECK_EQ(s.stopped, s0.stopped + 1);
	CHECK_EQ(s.pending, s0.pending);
	CHECK(s.heap_entries >= s.pending);
	CHECK(!gt_timer_stop(t));
	CHECK_EQ(stats_now().stopped, s0.stopped + 1); /* only stops that found it active */

	CHECK(!gt_timer_reset(t, GT_HOUR));
	CHECK(gt_timer_reset(t, GT_HOUR));
	s = stats_now();
	CHECK_EQ(s.resets, s0.resets + 2);
	CHECK_EQ(s.pending, s0.pending + 1);

	now = gt_timer_new(0);
	REQUIRE(now != NULL);
	CHECK_EQ(recv_within(gt_timer_chan(now), NULL, LATE), 0);
	CHECK_EQ(stats_now().fired, s0.fired + 1);

	f = gt_after_func(0, noop, NULL);
	REQUIRE(f != NULL);
	CHECK(WAIT_UNTIL(stats_now().callbacks_run == s0.callbacks_run + 1, LATE));
	s = stats_now();
	CHECK_EQ(s.fired, s0.fired + 2);
	CHECK(s.callback_threads >= 1);
	CHECK_EQ(s.created, s0.created + 3);

	gt_timer_free(t);
	gt_timer_free(now);
	gt_timer_free(f);
	CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
	s = stats_now();
	CHECK_EQ(s.live_bytes, s0.live_bytes);
	CHECK_EQ(s.pending, s0.pending);
	CHECK_EQ(s.heap_entries, s0.heap_entries);
	CHECK_EQ(s.pending_bytes, s0.pending_bytes);
	gt_stats_read(NULL);
}

/* Timers of every kind, left in every state, then freed: every counter
 * of what is held returns to where it was. */
TEST(stats_return_to_baseline)
{
	enum { N = 50 };
	gt_stats s0 = stats_now(), s;
	gt_timer *t[N], *f[N];
	gt_ticker *tk[N];
	gt_chan *a[N];

	for (int i = 0; i < N; i++) {
		t[i] = gt_timer_new((i % 3) * 5 * MS);
		f[i] = gt_after_func((i % 2) ? 5 * MS : GT_HOUR, noop, NULL);
		tk[i] = gt_ticker_new(5 * MS);
		a[i] = gt_after((i % 4) * 5 * MS);
		REQUIRE(t[i] && f[i] && tk[i] && a[i]);
		if (i % 5 == 0)
			gt_timer_stop(t[i]);
		if (i % 7 == 0)
			gt_ticker_stop(tk[i]);
	}
	CHECK_EQ(stats_now().created, s0.created + 4 * N);
	CHECK_EQ(recv_within(gt_timer_chan(t[N - 1]), NULL, LATE), 0);
	CHECK_EQ(recv_within(a[N - 1], NULL, LATE), 0);
	for (int i = 0; i < N; i++) {
		gt_timer_free(t[i]);
		gt_timer_free(f[i]);
		gt_ticker_free(tk[i]);
		gt_chan_release(a[i]);
	}
	/* Async after-timers live on until they fire, within 15 ms here. */
	CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
	s = stats_now();
	CHECK_EQ(s.live_bytes, s0.live_bytes);
	CHECK_EQ(s.pending, s0.pending);
	CHECK_EQ(s.heap_entries, s0.heap_entries);
	CHECK_EQ(s.pending_bytes, s0.pending_bytes);
}

/* docs/runtime.md: stopped timers stay in the heap until swept, which
 * happens once they are more than a quarter of it (and more than 64), so
 * the slots they pin stay bounded. */
TEST(stats_stopped_timers_swept)
{
	enum { N = 2000 };
	gt_stats s0 = stats_now(), s;
	gt_timer **t = calloc(N, sizeof(*t));
	cpu_set_t saved;

	REQUIRE(t != NULL);
	REQUIRE(pin_here(&saved) == 0); /* one heap */
	for (int i = 0; i < N; i++) {
		t[i] = gt_timer_new(GT_HOUR);
		REQUIRE(t[i] != NULL);
	}
	unpin(&saved);
	for (int i = 0; i < N; i++)
		CHECK(gt_timer_stop(t[i]));
	s = stats_now();
	CHECK_EQ(s.pending, s0.pending);
	CHECK_RANGE(s.heap_entries - s0.heap_entries, 0, 64 + N / 4);
	/* Revive half: Stop then Reset must not lose or duplicate a slot. */
	for (int i = 0; i < N; i += 2)
		CHECK(!gt_timer_reset(t[i], GT_HOUR));
	s = stats_now();
	CHECK_EQ(s.pending, s0.pending + N / 2);
	CHECK(s.heap_entries >= s.pending);
	for (int i = 0; i < N; i++)
		gt_timer_free(t[i]);
	s = stats_now();
	CHECK_EQ(s.pending, s0.pending);
	CHECK_EQ(s.heap_entries, s0.heap_entries);
	CHECK(WAIT_UNTIL(live_objects() == s0.live_objects, LATE));
	free(t);
}

/* ---------------------------------------------------------------------------
 * fork (docs/runtime.md, "fork"): the child has none of the runtime's
 * threads, and starts them again when it schedules a timer or a callback.
 */

#if defined(__SANITIZE_THREAD__)
#define GT_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GT_TEST_TSAN 1
#endif
#endif

static void send_one(void *arg)
{
	gt_chan_send(arg, 1);
}

/* In the child: a timer fires, on time, and a callback runs. */
static int child_uses_runtime(void)
{
	int64_t t0 = gt_now(), v = 0;
	gt_timer *t = gt_timer_new(10 * MS);
	gt_chan *ran = gt_chan_new(1);
	gt_timer *f = gt_after_func(0, send_one, ran);

	if (!t || !ran || !f)
		return 1;
	if (recv_within(gt_timer_chan(t), &v, LATE) != 0 || v < t0 + 10 * MS)
		return 2;
	if (recv_within(ran, NULL, LATE) != 0)
		return 3;
	return 0;
}

TEST(fork_child_restarts_threads)
{
	gt_stats s0 = stats_now();
	gt_timer *warm, *pending, *t;
	int status = -1;
	pid_t pid;

#ifdef GT_TEST_TSAN
	/* TSan kills a child of a threaded process that starts threads. */
	return;
#endif
	/* Give the parent a timer thread and a callback thread to lose. */
	warm = gt_after_func(0, noop, NULL);
	pending = gt_timer_new(GT_HOUR);
	REQUIRE(warm && pending);
	REQUIRE(WAIT_UNTIL(stats_now().callbacks_run > s0.callbacks_run, LATE));
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0)
		_exit(child_uses_runtime());
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	/* The parent is unharmed. */
	t = gt_timer_new(5 * MS);
	REQUIRE(t != NULL);
	CHECK_EQ(recv_within(gt_timer_chan(t), NULL, LATE), 0);
	gt_timer_free(t);
	gt_timer_free(warm);
	gt_timer_free(pending);
}

/* ---------------------------------------------------------------------------
 * Sleep and the clock.
 */

TEST(sleep_duration)
{
	const gt_duration none[] = {0, -1, -GT_SECOND, INT64_MIN};
	int64_t t0 = gt_now();

	gt_sleep(30 * MS);
	CHECK_RANGE(gt_now() - t0, 30 * MS, LATE);
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		t0 = gt_now();
		gt_sleep(none[i]);
		CHECK_RANGE(gt_now() - t0, 0, LATE);
	}
}

static atomic_int signals_seen;

static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&signals_seen, 1);
}

struct interrupter {
	pthread_t target;
	gt_chan *go;
};

static void *interrupter_main(void *arg)
{
	struct interrupter *in = arg;

	gt_chan_recv(in->go, NULL);
	for (int i = 0; i < 3; i++) {
		gt_sleep(10 * MS);
		pthread_kill(in->target, SIGUSR1);
	}
	return NULL;
}

/* "Restarts after signals": a handler installed without SA_RESTART runs,
 * and the sleep still lasts its full duration. */
TEST(sleep_restarts_after_signals)
{
	struct sigaction sa = {.sa_handler = on_signal}, old;
	struct interrupter in = {pthread_self(), gt_chan_new(1)};
	pthread_t th;
	int64_t t0;

	REQUIRE(in.go != NULL);
	REQUIRE(sigaction(SIGUSR1, &sa, &old) == 0);
	REQUIRE(spawn(&th, interrupter_main, &in) == 0);
	t0 = gt_now();
	gt_chan_send(in.go, 1);
	gt_sleep(80 * MS);
	CHECK(gt_now() - t0 >= 80 * MS);
	REQUIRE(join_within(th, LATE) == 0);
	CHECK(atomic_load(&signals_seen) >= 1);
	sigaction(SIGUSR1, &old, NULL);
	gt_chan_release(in.go);
}

TEST(now_is_the_monotonic_clock)
{
	struct timespec ts;
	int64_t a, b, c, prev = 0;

	a = gt_now();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c = gt_now();
	b = (int64_t)ts.tv_sec * GT_SECOND + ts.tv_nsec;
	CHECK_RANGE(b, a, c);
	for (int i = 0; i < 10000; i++) {
		int64_t n = gt_now();

		CHECK(n >= prev);
		prev = n;
	}
}

TEST_MAIN()
