/*
 * leak_afterfunc.c - afterfunc retention: a slow-request inspector per
 * request, a callback timer that captures the whole request for 5 s.
 *
 * The seed's "memory tripled in one deployment" postmortem in C. A
 * listener reads COUNT requests, each with a 4 KB payload, and queues
 * them; WORKERS threads serve them. handle_request() first arms the
 * inspector, gt_after_func(5 s, log_slow, req), which holds the request
 * until it runs, then serves the request (microseconds) and drops its own
 * reference. The request lives on, pinned by the inspector, long after it
 * was served: COUNT x 4 KB at the end, in both modes.
 *
 * The request owns its inspector's handle, and whichever of the handler
 * and the callback lets go of the request last frees both: the callback
 * may run before gt_after_func() has returned the handle.
 *
 * The profiler must report the gt_after_func() in inspect_request() as
 * afterfunc retention. Correct look-alike: ok_afterfunc.c.
 *
 * Usage: leak_afterfunc [-n COUNT] [-w WORKERS] [-d DELAY_MS]
 * Prints one line, e.g.:
 *   mode=async requests=1000 inspectors=1000 inspectors_run=0 pending_timers=1000
 *   retained_requests=1000 retained_bytes=4136000
 */
#include "td.h"

#include <gotimer.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#define MAX_WORKERS   64
#define PAYLOAD_BYTES 4096

static struct env {
	long count;
	int workers;
	gt_duration slow_after;
} env = {
	.count = 1000,
	.workers = 4,
	.slow_after = 5 * GT_SECOND,
};

/* Allocated by the listener; shared by the handler and the inspector. */
struct request {
	_Atomic int refs;    /* the handler's and the inspector's */
	gt_timer *inspector; /* set by the handler before it drops its reference */
	int64_t id;
	int64_t arrived;
	size_t len;
	char payload[PAYLOAD_BYTES];
};

static _Atomic long inspectors;
static _Atomic long inspectors_run;
static _Atomic long live_requests;
static _Atomic long served;
static _Atomic uint32_t logged;

static struct request *request_read(int64_t id)
{
	struct request *req = malloc(sizeof(*req));

	if (!req)
		td_die(ENOMEM, "request_read");
	atomic_init(&req->refs, 1);
	req->inspector = NULL;
	req->id = id;
	req->arrived = gt_now();
	req->len = sizeof(req->payload);
	memset(req->payload, 'a' + (int)(id % 26), req->len);
	atomic_fetch_add_explicit(&live_requests, 1, memory_order_relaxed);
	return req;
}

static void request_put(struct request *req)
{
	if (atomic_fetch_sub_explicit(&req->refs, 1, memory_order_acq_rel) != 1)
		return;
	gt_timer_free(req->inspector);
	atomic_fetch_sub_explicit(&live_requests, 1, memory_order_relaxed);
	free(req);
}

static uint32_t checksum(const char *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

/* The seed's closure: log the request, payload and all, after slow_after.
 * The log is a checksum here, so the output stays one line. */
static void log_slow(void *arg)
{
	struct request *req = arg;

	atomic_fetch_xor_explicit(&logged, checksum(req->payload, req->len), memory_order_relaxed);
	atomic_fetch_add_explicit(&inspectors_run, 1, memory_order_relaxed);
	request_put(req);
}

static TD_SITE void inspect_request(struct request *req)
{
	atomic_fetch_add_explicit(&req->refs, 1, memory_order_relaxed);
	req->inspector = gt_after_func(env.slow_after, log_slow, req);
	if (!req->inspector)
		td_die(errno, "gt_after_func");
	atomic_fetch_add_explicit(&inspectors, 1, memory_order_relaxed);
}

static TD_SITE void handle_request(struct request *req)
{
	inspect_request(req);
	if (checksum(req->payload, req->len) == 0)
		fprintf(stderr, "request %lld: zero checksum\n", (long long)req->id);
	atomic_fetch_add_explicit(&served, 1, memory_order_relaxed);
	request_put(req);
}

static void *worker(void *arg)
{
	gt_chan *queue = arg;
	int64_t v;

	while (gt_chan_recv(queue, &v))
		handle_request((struct request *)(intptr_t)v);
	return NULL;
}

static void listen_requests(gt_chan *queue)
{
	int err;

	for (long i = 0; i < env.count; i++) {
		err = gt_chan_send(queue, (int64_t)(intptr_t)request_read(i));
		if (err)
			td_die(-err, "gt_chan_send");
	}
	gt_chan_close(queue);
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:w:d:")) != -1) {
		switch (opt) {
		case 'n':
			env.count = td_number(optarg, 'n', 0, 10000000);
			break;
		case 'w':
			env.workers = (int)td_number(optarg, 'w', 1, MAX_WORKERS);
			break;
		case 'd':
			env.slow_after = td_number(optarg, 'd', 0, 3600 * 1000L) * GT_MILLISECOND;
			break;
		default:
			fprintf(stderr, "usage: %s [-n COUNT] [-w WORKERS] [-d DELAY_MS]\n",
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
	long live;
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

	gt_stats_read(&st);
	live = atomic_load(&live_requests);
	printf("mode=%s requests=%ld inspectors=%ld inspectors_run=%ld pending_timers=%llu "
	       "retained_requests=%ld retained_bytes=%zu\n",
	       gt_mode_name(gt_mode()), atomic_load(&served), atomic_load(&inspectors),
	       atomic_load(&inspectors_run), (unsigned long long)st.pending, live,
	       (size_t)live * sizeof(struct request));
	return 0;
}
