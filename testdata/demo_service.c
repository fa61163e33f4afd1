/*
 * demo_service.c - a small API service with a realistic mix of timers:
 * the README's demo. Three leaks hide among plenty of correct timer use.
 *
 * Threads and what their timers do:
 *   listener      queues requests at a steady rate, and an event for each.
 *   workers       handle_request(): a 2 s deadline timer per request,
 *                 stopped and freed when it is served (correct); a
 *                 slow-request logger callback, stopped when served
 *                 (correct); every 4th request streams, and
 *                 stream_progress() starts a progress ticker that is never
 *                 stopped (LEAK: never-stopped ticker); every 8th opens a
 *                 connection whose keepalive timerfd is closed with it
 *                 (correct).
 *   events        consume_events(): select on the event queue and a fresh
 *                 1-minute gt_after() per event (LEAK in async mode:
 *                 after-in-loop, each abandoned timer kept for a minute).
 *   session       session_loop(): a 20 ms keepalive reset on every message
 *                 without draining it, while some messages take longer
 *                 than that to handle (BUG: reset without drain, a stale
 *                 timeout).
 *   housekeeping  one process-wide ticker for the service's lifetime, and
 *                 an idle timer re-armed with Stop-drain-Reset (correct).
 *
 * Usage: demo_service [-t SECONDS] [-w WORKERS] [-r REQUESTS_PER_SECOND]
 * Prints one line of what it did, e.g.:
 *   mode=async seconds=3 requests=1500 streams=375 connections=188 events=1500
 *   session_messages=90 stale_timeouts=31 housekeeping_ticks=30
 */
#include "td.h"

#include <gotimer.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MAX_WORKERS 32

static struct {
	long seconds, workers, rate;
} env = {3, 4, 500};

static gt_chan *requests, *events, *session_msgs, *quit;
static atomic_long served, streams, connections, consumed, session_messages, stale_timeouts,
	housekeeping_ticks;

/* ---------------------------------------------------------------------------
 * Workers
 */

static void log_slow(void *arg)
{
	(void)arg; /* a real service would log the request here */
}

/* LEAK: the progress ticker outlives the request; nothing stops it. */
static TD_SITE void stream_progress(int64_t id)
{
	gt_ticker *progress = gt_ticker_new(100 * TD_MS);

	if (!progress)
		td_die(errno, "gt_ticker_new");
	(void)id;
	atomic_fetch_add(&streams, 1);
}

static _Thread_local int conn_fd = -1;

static TD_SITE void conn_open(void)
{
	struct itimerspec keepalive = {{1, 0}, {1, 0}};

	if (conn_fd >= 0)
		close(conn_fd); /* the previous connection ends */
	conn_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (conn_fd < 0)
		td_die(errno, "timerfd_create");
	timerfd_settime(conn_fd, 0, &keepalive, NULL);
	atomic_fetch_add(&connections, 1);
}

static TD_SITE void handle_request(int64_t id)
{
	gt_timer *deadline = gt_timer_new(2 * GT_SECOND);
	gt_timer *slow = gt_after_func(500 * TD_MS, log_slow, NULL);

	if (!deadline || !slow)
		td_die(errno, "timer");
	if (id % 8 == 0)
		conn_open();
	if (id % 4 == 0)
		stream_progress(id);
	td_sleep((1 + id % 3) * TD_MS); /* the work */
	gt_timer_stop(slow);
	gt_timer_free(slow);
	gt_timer_stop(deadline);
	gt_timer_free(deadline);
	atomic_fetch_add(&served, 1);
}

static void *worker(void *arg)
{
	int64_t id;

	(void)arg;
	while (gt_chan_recv(requests, &id))
		handle_request(id);
	if (conn_fd >= 0)
		close(conn_fd);
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Events: after-in-loop
 */

static TD_SITE bool next_event(int64_t *ev)
{
	gt_chan *timeout = gt_after(GT_MINUTE); /* LEAK: one per event, abandoned */
	gt_chan *cs[2] = {events, timeout};
	bool ok = false;
	int i = gt_select(cs, 2, ev, &ok, -1);

	gt_chan_release(timeout);
	return i == 0 && ok;
}

static void *consume_events(void *arg)
{
	int64_t ev;

	(void)arg;
	while (next_event(&ev))
		atomic_fetch_add(&consumed, 1);
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Session: reset without drain
 */

static TD_SITE void keepalive_reset(gt_timer *keepalive)
{
	gt_timer_reset(keepalive, 20 * TD_MS); /* BUG: no drain first */
}

static void *session_loop(void *arg)
{
	gt_timer *keepalive = gt_timer_new(20 * TD_MS);
	int64_t msg;

	(void)arg;
	for (;;) {
		gt_chan *cs[2] = {session_msgs, gt_timer_chan(keepalive)};
		int64_t start = td_now();
		bool ok;
		int i;

		keepalive_reset(keepalive);
		i = gt_select(cs, 2, &msg, &ok, -1);
		if (i == 0 && !ok)
			break;
		if (i == 1 && td_now() - start < 20 * TD_MS)
			atomic_fetch_add(&stale_timeouts, 1); /* "timed out" too early */
		if (i == 0) {
			atomic_fetch_add(&session_messages, 1);
			td_sleep((msg % 3 == 0 ? 30 : 5) * TD_MS); /* some take longer */
		}
	}
	gt_timer_free(keepalive);
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Housekeeping: a long-lived ticker, and Stop-drain-Reset done right
 */

static TD_SITE gt_ticker *housekeeping_ticker(void)
{
	return gt_ticker_new(100 * TD_MS);
}

static void *housekeeping(void *arg)
{
	gt_ticker *tick = housekeeping_ticker();
	gt_timer *idle = gt_timer_new(GT_SECOND);

	(void)arg;
	for (;;) {
		gt_chan *cs[3] = {gt_ticker_chan(tick), gt_timer_chan(idle), quit};
		int i = gt_select(cs, 3, NULL, NULL, -1);

		if (i == 2)
			break;
		if (i == 0)
			atomic_fetch_add(&housekeeping_ticks, 1);
		if (!gt_timer_stop(idle))
			gt_chan_try_recv(gt_timer_chan(idle), NULL);
		gt_timer_reset(idle, GT_SECOND);
	}
	gt_timer_free(idle);
	return tick; /* runs as long as the service does */
}

/* ---------------------------------------------------------------------------
 * The listener and main
 */

static void listen_requests(void)
{
	int64_t end = td_now() + env.seconds * GT_SECOND, gap = GT_SECOND / env.rate;

	for (int64_t id = 0; td_now() < end; id++) {
		gt_chan_send(requests, id);
		gt_chan_send(events, id);
		if (id % 10 == 0)
			gt_chan_send(session_msgs, id / 10);
		td_sleep(gap);
	}
}

static void parse(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "t:w:r:")) != -1) {
		if (c == 't')
			env.seconds = td_number(optarg, 't', 1, 3600);
		else if (c == 'w')
			env.workers = td_number(optarg, 'w', 1, MAX_WORKERS);
		else if (c == 'r')
			env.rate = td_number(optarg, 'r', 1, 100000);
		else
			td_die(0, "usage: %s [-t SECONDS] [-w WORKERS] [-r REQUESTS_PER_SECOND]", argv[0]);
	}
}

int main(int argc, char **argv)
{
	pthread_t w[MAX_WORKERS], ev, sess, hk;
	void *tick;

	parse(argc, argv);
	requests = gt_chan_new(256);
	events = gt_chan_new(256);
	session_msgs = gt_chan_new(16);
	quit = gt_chan_new(0);
	for (long i = 0; i < env.workers; i++)
		pthread_create(&w[i], NULL, worker, NULL);
	pthread_create(&ev, NULL, consume_events, NULL);
	pthread_create(&sess, NULL, session_loop, NULL);
	pthread_create(&hk, NULL, housekeeping, NULL);
	listen_requests();
	gt_chan_close(requests);
	gt_chan_close(events);
	gt_chan_close(session_msgs);
	gt_chan_close(quit);
	for (long i = 0; i < env.workers; i++)
		pthread_join(w[i], NULL);
	pthread_join(ev, NULL);
	pthread_join(sess, NULL);
	pthread_join(hk, &tick);
	printf("mode=%s seconds=%ld requests=%ld streams=%ld connections=%ld events=%ld "
	       "session_messages=%ld stale_timeouts=%ld housekeeping_ticks=%ld\n",
	       gt_mode_name(gt_mode()), env.seconds, atomic_load(&served), atomic_load(&streams),
	       atomic_load(&connections), atomic_load(&consumed), atomic_load(&session_messages),
	       atomic_load(&stale_timeouts), atomic_load(&housekeeping_ticks));
	return 0;
}
