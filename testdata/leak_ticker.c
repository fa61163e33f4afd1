/*
 * leak_ticker.c - never-stopped ticker: every request creates a progress
 * ticker and returns without stopping it.
 *
 * The seed's payment-service postmortem in C. A listener queues COUNT
 * requests; WORKERS threads serve them. handle_request() makes a ticker to
 * report progress while it works in steps, and returns without
 * gt_ticker_stop() or gt_ticker_free(): the ticker keeps ticking into a
 * channel nobody reads, in both modes, for the life of the process. The
 * service then idles for LINGER ms, as a service between bursts would,
 * so the leaked tickers are seen ticking.
 *
 * The profiler must report the gt_ticker_new() in handle_request() as a
 * never-stopped ticker. Correct look-alike: ok_ticker.c.
 *
 * Usage: leak_ticker [-n REQUESTS] [-w WORKERS] [-p PERIOD_MS] [-l LINGER_MS]
 * Prints one line, e.g.:
 *   mode=async requests=200 workers=4 tickers_created=200 tickers_stopped=0
 *   progress_reports=400 pending_timers=200
 */
#include "td.h"

#include <gotimer.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define STEPS	    5 /* work steps per request, STEP_NS each */
#define STEP_NS	    (2 * GT_MILLISECOND)

static struct env {
	long requests;
	int workers;
	gt_duration period;
	gt_duration linger;
} env = {
	.requests = 200,
	.workers = 4,
	.period = 5 * GT_MILLISECOND,
	.linger = 100 * GT_MILLISECOND,
};

static _Atomic long tickers_created;
static _Atomic long progress_reports;
static _Atomic long served;

static void report_progress(int64_t id, int step)
{
	(void)id;
	(void)step;
	atomic_fetch_add_explicit(&progress_reports, 1, memory_order_relaxed);
}

/* The request's work: STEPS slices of sleep standing for I/O, reporting
 * progress whenever the ticker has ticked since the last slice. */
static TD_SITE void handle_request(int64_t id)
{
	gt_ticker *progress;

	progress = gt_ticker_new(env.period);
	if (!progress)
		td_die(errno, "gt_ticker_new");
	atomic_fetch_add_explicit(&tickers_created, 1, memory_order_relaxed);
	for (int step = 0; step < STEPS; step++) {
		gt_sleep(STEP_NS);
		if (gt_chan_try_recv(gt_ticker_chan(progress), NULL))
			report_progress(id, step);
	}
	atomic_fetch_add_explicit(&served, 1, memory_order_relaxed);
	/* The leak: no gt_ticker_stop(progress), no gt_ticker_free(progress). */
}

static void *worker(void *arg)
{
	gt_chan *queue = arg;
	int64_t id;

	while (gt_chan_recv(queue, &id))
		handle_request(id);
	return NULL;
}

static void listen_requests(gt_chan *queue)
{
	int err;

	for (long i = 0; i < env.requests; i++) {
		err = gt_chan_send(queue, i);
		if (err)
			td_die(-err, "gt_chan_send");
	}
	gt_chan_close(queue);
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:w:p:l:")) != -1) {
		switch (opt) {
		case 'n':
			env.requests = td_number(optarg, 'n', 0, 10000000);
			break;
		case 'w':
			env.workers = (int)td_number(optarg, 'w', 1, MAX_WORKERS);
			break;
		case 'p':
			env.period = td_number(optarg, 'p', 1, 3600 * 1000L) * GT_MILLISECOND;
			break;
		case 'l':
			env.linger = td_number(optarg, 'l', 0, 3600 * 1000L) * GT_MILLISECOND;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-n REQUESTS] [-w WORKERS] [-p PERIOD_MS] "
				"[-l LINGER_MS]\n",
				argv[0]);
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_WORKERS];
	gt_chan *queue;
	gt_stats st;
	int err;

	parse_args(argc, argv);
	queue = gt_chan_new(64);
	if (!queue)
		td_die(errno, "gt_chan_new");
	for (int i = 0; i < env.workers; i++) {
		err = pthread_create(&th[i], NULL, worker, queue);
		if (err)
			td_die(err, "pthread_create");
	}
	listen_requests(queue);
	for (int i = 0; i < env.workers; i++)
		pthread_join(th[i], NULL);
	gt_chan_release(queue);
	gt_sleep(env.linger);

	gt_stats_read(&st);
	printf("mode=%s requests=%ld workers=%d tickers_created=%ld tickers_stopped=0 "
	       "progress_reports=%ld pending_timers=%llu\n",
	       gt_mode_name(gt_mode()), atomic_load(&served), env.workers,
	       atomic_load(&tickers_created), atomic_load(&progress_reports),
	       (unsigned long long)st.pending);
	return 0;
}
