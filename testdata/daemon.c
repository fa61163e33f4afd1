/*
 * daemon.c - a daemon stopped by SIGTERM, built twice: as leak_daemon, a
 * never-stopped ticker (every request arms a progress ticker and never
 * stops it), and as ok_daemon (-DDAEMON_OK), its healthy look-alike, where
 * the ticker ends with its request.
 *
 * At start-up it opens a pool of POOL connections, each with an idle
 * timerfd (pool_conn_open(), armed every second, closed when the process
 * ends), and starts WORKERS threads, each with a heartbeat ticker for life
 * (worker_heartbeat()). Then a listener hands requests to the workers,
 * one every INTERVAL ms, until SIGTERM (its default action) ends the
 * process; each request arms a progress ticker (request_progress()).
 * leak_daemon forgets it: the ticker keeps ticking, one more per request,
 * for the life of the process. ok_daemon stops and frees it when done.
 *
 * At the SIGTERM both hold the same lifetime timers (the heartbeats and the
 * pool's timerfds, as at every stop of such a daemon) and a request or two
 * may be in flight: the profiler must tell the two apart by what grew while
 * they ran. It must report the gt_ticker_new() in request_progress() of
 * leak_daemon as a never-stopped ticker (a leak, even though the process
 * was killed), and no leak in ok_daemon; the heartbeats and the pool's
 * timerfds are notes at most in both.
 *
 * Usage: leak_daemon|ok_daemon [-w WORKERS] [-p POOL] [-i INTERVAL_MS]
 * Prints "ready pid=PID workers=W pool=P" once it serves requests.
 */
#include "td.h"

#include <gotimer.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/timerfd.h>

#define MAX_WORKERS 32
#define MAX_POOL    64
#define STEPS       4 /* work steps per request, STEP_NS each */
#define STEP_NS     (1 * GT_MILLISECOND)

static struct env {
	int workers, pool;
	gt_duration interval;
} env = {.workers = 4, .pool = 4, .interval = 2 * GT_MILLISECOND};

static int pool_fds[MAX_POOL];
static _Atomic long served;

/* A pooled connection's idle timer, armed for as long as it is open. */
static TD_SITE int pool_conn_open(void)
{
	struct itimerspec its = {.it_value = {1, 0}, .it_interval = {1, 0}};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		td_die(errno, "timerfd_create");
	if (timerfd_settime(fd, 0, &its, NULL))
		td_die(errno, "timerfd_settime");
	return fd;
}

static TD_SITE gt_ticker *worker_heartbeat(void)
{
	gt_ticker *t = gt_ticker_new(50 * GT_MILLISECOND);

	if (!t)
		td_die(errno, "gt_ticker_new");
	return t;
}

static TD_SITE gt_ticker *request_progress(void)
{
	gt_ticker *t = gt_ticker_new(20 * GT_MILLISECOND);

	if (!t)
		td_die(errno, "gt_ticker_new");
	return t;
}

/* One request: STEPS slices of work, reporting progress when the ticker
 * has ticked; in ok_daemon the ticker ends with the request. */
static TD_SITE void handle_request(int64_t id)
{
	gt_ticker *progress = request_progress();

	(void)id;
	for (int step = 0; step < STEPS; step++) {
		gt_sleep(STEP_NS);
		gt_chan_try_recv(gt_ticker_chan(progress), NULL);
	}
#ifdef DAEMON_OK
	gt_ticker_stop(progress);
	gt_ticker_free(progress);
#else
	/* The leak: no gt_ticker_stop(progress), no gt_ticker_free(progress). */
#endif
	atomic_fetch_add_explicit(&served, 1, memory_order_relaxed);
}

static void *worker(void *arg)
{
	gt_chan *queue = arg;
	gt_ticker *heartbeat = worker_heartbeat();
	int64_t id;

	while (gt_chan_recv(queue, &id)) {
		gt_chan_try_recv(gt_ticker_chan(heartbeat), NULL);
		handle_request(id);
	}
	return NULL;
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "w:p:i:")) != -1) {
		switch (opt) {
		case 'w':
			env.workers = (int)td_number(optarg, 'w', 1, MAX_WORKERS);
			break;
		case 'p':
			env.pool = (int)td_number(optarg, 'p', 1, MAX_POOL);
			break;
		case 'i':
			env.interval = td_number(optarg, 'i', 1, 60000) * GT_MILLISECOND;
			break;
		default:
			fprintf(stderr, "usage: %s [-w WORKERS] [-p POOL] [-i INTERVAL_MS]\n",
				argv[0]);
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	pthread_t th;
	gt_chan *queue;
	int err;

	parse_args(argc, argv);
	for (int i = 0; i < env.pool; i++)
		pool_fds[i] = pool_conn_open();
	queue = gt_chan_new(16);
	if (!queue)
		td_die(errno, "gt_chan_new");
	for (int i = 0; i < env.workers; i++) {
		err = pthread_create(&th, NULL, worker, queue);
		if (err)
			td_die(err, "pthread_create");
	}
	printf("ready pid=%d workers=%d pool=%d\n", (int)getpid(), env.workers, env.pool);
	fflush(stdout);
	/* The listener: a request per interval, until SIGTERM. */
	for (int64_t id = 0;; id++) {
		err = gt_chan_send(queue, id);
		if (err)
			td_die(-err, "gt_chan_send");
		gt_sleep(env.interval);
	}
}
