/*
 * bench_preload_mixed.c - a small service's timers, for the bytes per
 * event of a realistic trace (the format's target: 1.5 B/event), and the
 * same service's allocations, for heaptrack's.
 *
 * --threads request workers and two ticker threads run for --seconds.
 * Each worker serves requests arriving at random (Poisson, --rate a second;
 * a worker that falls behind catches up without sleeping):
 *
 *   - four handlers, at different depths, each a call site of its own;
 *   - every request has a 2 s deadline timer, stopped and freed when the
 *     request completes after 5-30 us of work (create, stop, release, free);
 *   - one request in five also waits on gt_after(100 ms) in a select that
 *     its reply wins; the after-channel is released, abandoned: in async
 *     mode the timer fires 100 ms later (create, release, fire, free);
 *   - after each request the worker stops its 2 ms watchdog, drains it if
 *     it fired (a gap of over 2 ms: about one request in 150), and resets
 *     it (stop, drain, reset);
 *   - each connection (20-220 requests) has an idle-timeout timerfd,
 *     re-armed by every request and closed with the connection (create,
 *     arm per request, free);
 *   - one request in 32 arms a POSIX timer and deletes it (create, arm,
 *     free).
 *
 * The ticker threads tick every 1 ms and 10 ms and read each tick (fire,
 * drain). At the default rate (2500 requests a second on 4 workers) that
 * is some 80,000 events a second, interleaved across six threads.
 *
 * mixed-malloc keeps the threads, the pacing and the call sites, and makes
 * at each point the allocation a service would make there instead: a
 * request object where the deadline timer is created, freed with it; the
 * abandoned after-timer is a block freed 100 ms later; the watchdog reset
 * frees a context and allocates a new one; a connection allocates its
 * state and each request a reply header; a tick allocates a message that
 * its reader frees. That is about as many events per request as the timer
 * mix (6.4 against 7.9), so the two traces are comparable per event.
 */
#include "bench_preload.h"

#include <gotimer.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define US 1000LL
#define MS 1000000LL

#define AFTER_EVERY 5  /* one request in 5 waits on an abandoned gt_after */
#define POSIX_EVERY 32 /* one request in 32 arms a POSIX timer */
#define WATCHDOG    (2 * MS)
#define ABANDON_MAX 4096 /* mixed-malloc: blocks waiting for their "fire" */
#define TICKERS	    2

struct abandoned {
	void *p;
	int64_t due;
};

/* One worker's state; only its thread touches it. */
struct worker {
	uint64_t seed;
	uint64_t ops;
	bool malloc_mode;
	gt_chan *reply; /* capacity 1: the reply that wins each select */
	gt_timer *watchdog;
	void *watchdog_ctx;		 /* mixed-malloc: the watchdog's stand-in */
	int conn_fd;			 /* the connection's idle timerfd, -1 between connections */
	void *conn;			 /* mixed-malloc: the connection's state */
	int conn_left;			 /* requests until the connection closes */
	struct abandoned q[ABANDON_MAX]; /* mixed-malloc: FIFO of after-blocks */
	unsigned q_head, q_tail;
};

static struct worker workers[BP_MAX_THREADS];
static int64_t deadline; /* CLOCK_MONOTONIC: when every thread stops; set before start */

static uint64_t below(uint64_t *seed, uint64_t n)
{
	return bp_rand(seed) % n;
}

static void spin(int64_t ns)
{
	int64_t until = bp_clock(CLOCK_MONOTONIC) + ns;

	while (bp_clock(CLOCK_MONOTONIC) < until)
		;
}

/* ---------------------------------------------------------------------------
 * Timers
 */

static BP_SITE void after_abandoned(struct worker *w)
{
	gt_chan *after = gt_after(100 * MS);
	gt_chan *cs[2] = {w->reply, after};

	if (!after)
		bp_die(errno, "gt_after");
	gt_chan_send(w->reply, 1);
	gt_select(cs, 2, NULL, NULL, -1); /* the reply is there: it wins */
	gt_chan_release(after);
	w->ops += 4;
}

static BP_SITE void after_abandoned_malloc(struct worker *w)
{
	void *p = malloc(224);

	if (!p)
		bp_die(ENOMEM, "malloc");
	if (w->q_tail - w->q_head == ABANDON_MAX) {
		free(p); /* the queue is full: not abandoned after all */
	} else {
		w->q[w->q_tail % ABANDON_MAX] =
			(struct abandoned){p, bp_clock(CLOCK_MONOTONIC) + 100 * MS};
		w->q_tail++;
	}
	w->ops += 2;
}

/* mixed-malloc: free the after-blocks whose 100 ms have passed. */
static void reap(struct worker *w, int64_t now)
{
	while (w->q_head != w->q_tail && w->q[w->q_head % ABANDON_MAX].due <= now) {
		free(w->q[w->q_head % ABANDON_MAX].p);
		w->q_head++;
	}
}

/* The work of one request under its deadline. */
static BP_SITE void request(struct worker *w, gt_duration timeout)
{
	int64_t work = 5 * US + (int64_t)below(&w->seed, 25 * US);

	if (w->malloc_mode) {
		void *req = malloc(192);

		if (!req)
			bp_die(ENOMEM, "malloc");
		bp_use(req);
		if (below(&w->seed, AFTER_EVERY) == 0)
			after_abandoned_malloc(w);
		spin(work);
		free(req);
		w->ops += 2;
		return;
	}
	gt_timer *t = gt_timer_new(timeout);

	if (!t)
		bp_die(errno, "gt_timer_new");
	if (below(&w->seed, AFTER_EVERY) == 0)
		after_abandoned(w);
	spin(work);
	gt_timer_stop(t);
	gt_timer_free(t);
	w->ops += 4;
}

/* Four handlers, each its own site and depth. */
static BP_SITE void handle_get(struct worker *w)
{
	request(w, 2 * GT_SECOND);
}

static BP_SITE void validate_put(struct worker *w)
{
	request(w, 2 * GT_SECOND);
}

static BP_SITE void handle_put(struct worker *w)
{
	validate_put(w);
}

static BP_SITE void scan_page(struct worker *w, int pages)
{
	if (pages > 0)
		scan_page(w, pages - 1);
	else
		request(w, 2 * GT_SECOND);
	__asm__ volatile("" ::: "memory");
}

static BP_SITE void handle_list(struct worker *w)
{
	scan_page(w, 3);
}

static BP_SITE void handle_auth(struct worker *w)
{
	request(w, 500 * GT_MILLISECOND);
}

static BP_SITE void watchdog_kick(struct worker *w)
{
	if (w->malloc_mode) {
		free(w->watchdog_ctx);
		w->watchdog_ctx = malloc(96);
		w->ops += 2;
		return;
	}
	if (!gt_timer_stop(w->watchdog)) {
		/* It fired during a long gap: drain before the reset. */
		if (gt_chan_try_recv(gt_timer_chan(w->watchdog), NULL))
			w->ops++;
	}
	gt_timer_reset(w->watchdog, WATCHDOG);
	w->ops += 2;
}

static BP_SITE void conn_open(struct worker *w)
{
	w->conn_left = 20 + (int)below(&w->seed, 200);
	w->ops++;
	if (w->malloc_mode) {
		w->conn = malloc(512);
		return;
	}
	w->conn_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->conn_fd < 0)
		bp_die(errno, "timerfd_create");
}

static BP_SITE void conn_close(struct worker *w)
{
	w->ops++;
	if (w->malloc_mode) {
		free(w->conn);
		w->conn = NULL;
		return;
	}
	close(w->conn_fd);
	w->conn_fd = -1;
}

/* Every request re-arms the connection's 30 s idle timeout. */
static BP_SITE void conn_touch(struct worker *w)
{
	struct itimerspec idle = {.it_value = {.tv_sec = 30}};

	if (w->malloc_mode) {
		void *header = malloc(64 + below(&w->seed, 512));

		bp_use(header);
		free(header);
		w->ops += 2;
	} else {
		if (timerfd_settime(w->conn_fd, 0, &idle, NULL) != 0)
			bp_die(errno, "timerfd_settime");
		w->ops++;
	}
	if (--w->conn_left == 0)
		conn_close(w);
}

static BP_SITE void posix_deadline(struct worker *w)
{
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	struct itimerspec its = {.it_value = {.tv_sec = 1}};
	timer_t id;

	if (w->malloc_mode) {
		void *p = malloc(384);

		bp_use(p);
		free(p);
		w->ops += 2;
		return;
	}
	if (timer_create(CLOCK_MONOTONIC, &sev, &id) != 0)
		bp_die(errno, "timer_create");
	timer_settime(id, 0, &its, NULL);
	timer_delete(id);
	w->ops += 3;
}

static BP_SITE void serve_one(struct worker *w)
{
	static void (*const handlers[])(struct worker *) = {handle_get, handle_put, handle_list,
							    handle_auth};

	if (!w->conn_left)
		conn_open(w);
	handlers[below(&w->seed, 4)](w);
	watchdog_kick(w);
	conn_touch(w);
	if (below(&w->seed, POSIX_EVERY) == 0)
		posix_deadline(w);
}

/* ---------------------------------------------------------------------------
 * Threads
 */

static BP_SITE void leaf_worker(struct bp_thread *t)
{
	struct worker *w = t->ctx;
	double mean = 1e9 / bp_env.rate;
	int64_t w0, c0, next, now;

	bp_start();
	w0 = next = bp_clock(CLOCK_MONOTONIC);
	c0 = bp_clock(CLOCK_THREAD_CPUTIME_ID);
	while ((now = bp_clock(CLOCK_MONOTONIC)) < deadline) {
		if (w->malloc_mode)
			reap(w, now);
		serve_one(w);
		/* Exponential gaps: -ln(U) * mean, U in (0, 1]. */
		next += (int64_t)(-log((double)(bp_rand(&w->seed) >> 11 | 1) / 9007199254740992.0) *
				  mean);
		now = bp_clock(CLOCK_MONOTONIC);
		if (next > now) {
			struct timespec ts = {(next - now) / 1000000000, (next - now) % 1000000000};

			while (nanosleep(&ts, &ts) && errno == EINTR)
				;
		} else if (now - next > 10 * MS) {
			next = now; /* far behind (a loaded machine): do not burst */
		}
	}
	t->wall_ns = bp_clock(CLOCK_MONOTONIC) - w0;
	t->cpu_ns = bp_clock(CLOCK_THREAD_CPUTIME_ID) - c0;
	t->ops = w->ops;
}

static BP_SITE void leaf_ticker(struct bp_thread *t)
{
	gt_duration period = t->index % 2 ? 10 * MS : 1 * MS;
	bool malloc_mode = bp_env.work == BP_MIXED_MALLOC;
	gt_ticker *tk = NULL;
	int64_t w0, c0;

	bp_start();
	w0 = bp_clock(CLOCK_MONOTONIC);
	c0 = bp_clock(CLOCK_THREAD_CPUTIME_ID);
	if (!malloc_mode && !(tk = gt_ticker_new(period)))
		bp_die(errno, "gt_ticker_new");
	while (bp_clock(CLOCK_MONOTONIC) < deadline) {
		if (malloc_mode) {
			struct timespec ts = {0, period};
			void *msg;

			nanosleep(&ts, NULL);
			msg = malloc(32);
			bp_use(msg);
			free(msg);
		} else {
			gt_chan_recv(gt_ticker_chan(tk), NULL);
		}
		t->ops += 2;
	}
	if (tk) {
		gt_ticker_stop(tk);
		gt_ticker_free(tk);
		t->ops += 4; /* create, stop, release, free */
	}
	t->wall_ns = bp_clock(CLOCK_MONOTONIC) - w0;
	t->cpu_ns = bp_clock(CLOCK_THREAD_CPUTIME_ID) - c0;
}

int bp_mixed_setup(struct bp_thread *ts, int max)
{
	int n = bp_env.threads;
	bool malloc_mode = bp_env.work == BP_MIXED_MALLOC;

	if (n + TICKERS > max)
		n = max - TICKERS;
	for (int i = 0; i < n; i++) {
		struct worker *w = &workers[i];

		w->seed = bp_env.seed * 1000 + (uint64_t)i;
		w->malloc_mode = malloc_mode;
		w->conn_fd = -1;
		if (malloc_mode) {
			w->watchdog_ctx = malloc(96);
		} else {
			w->reply = gt_chan_new(1);
			w->watchdog = gt_timer_new(WATCHDOG);
			if (!w->reply || !w->watchdog)
				bp_die(errno, "gt_chan_new");
			w->ops += 1;
		}
		ts[i] = (struct bp_thread){
			.index = i, .depth = bp_env.depth - 2, .leaf = leaf_worker, .ctx = w};
	}
	for (int i = 0; i < TICKERS; i++)
		ts[n + i] =
			(struct bp_thread){.index = i, .depth = bp_env.depth, .leaf = leaf_ticker};
	/* The threads start within microseconds of this. */
	deadline = bp_clock(CLOCK_MONOTONIC) + (int64_t)(bp_env.seconds * 1e9);
	return n + TICKERS;
}

void bp_mixed_teardown(void)
{
	for (int i = 0; i < bp_env.threads && i < BP_MAX_THREADS; i++) {
		struct worker *w = &workers[i];

		if (w->malloc_mode) {
			reap(w, INT64_MAX);
			free(w->watchdog_ctx);
			free(w->conn);
			continue;
		}
		if (w->conn_fd >= 0)
			close(w->conn_fd);
		gt_timer_free(w->watchdog);
		gt_chan_release(w->reply);
	}
}
