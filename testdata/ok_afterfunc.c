/*
 * ok_afterfunc.c - the correct look-alike of leak_afterfunc.c: the same
 * slow-request inspector, with each of the three fixes on a third of the
 * requests, each at its own call site.
 *
 *   inspect_until_done()  captures the request for 5 s, but the handler
 *                         stops the inspector when the request is served
 *                         (Go: defer t.Stop()), so it pins nothing once
 *                         the request is done.
 *   inspect_summary()     runs after 5 s but captures a summary of about
 *                         50 bytes (id, length, checksum), the seed's fix;
 *                         these are still pending when the process exits.
 *   inspect_briefly()     captures the request for 2 ms only.
 *
 * Same listener, workers and 4 KB requests as the leak. Every capture owns
 * its inspector's handle; whichever of the handler and the callback lets
 * go of it last frees both, since the callback may run before
 * gt_after_func() has returned the handle. Before printing, the program
 * waits (at most 2 s) for the 2 ms inspectors to have run, so the counts
 * do not depend on scheduling. The profiler must report none of the three
 * sites.
 *
 * Usage: ok_afterfunc [-n COUNT] [-w WORKERS]
 * Prints one line, e.g.:
 *   mode=async requests=999 until_done=333 stopped=333 summary=333 brief=333
 *   inspectors_run=333 pending_timers=333 retained_captures=333 retained_bytes=15984
 */
#include "td.h"

#include <gotimer.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#define MAX_WORKERS   64
#define PAYLOAD_BYTES 4096
#define SLOW_AFTER    (5 * GT_SECOND)
#define BRIEF_AFTER   (2 * GT_MILLISECOND)

static struct env {
	long count;
	int workers;
} env = {
	.count = 999,
	.workers = 4,
};

/* What an inspector's callback holds. First in every captured struct, so
 * the callback's argument is the start of the allocation. */
struct capture {
	_Atomic int refs;    /* the handler's and the inspector's */
	gt_timer *inspector; /* set by the handler before it drops its reference */
	size_t size;	     /* of the whole allocation, for the retained count */
};

struct request {
	struct capture cap;
	int64_t id;
	size_t len;
	char payload[PAYLOAD_BYTES];
};

struct summary {
	struct capture cap;
	int64_t id;
	size_t len;
	uint32_t checksum;
};

static _Atomic long served, until_done, stopped, summaries, brief, inspectors_run;
static _Atomic long live_captures, live_bytes;
static _Atomic uint32_t logged;

static void *capture_new(size_t size)
{
	struct capture *c = malloc(size);

	if (!c)
		td_die(ENOMEM, "capture_new");
	atomic_init(&c->refs, 1);
	c->inspector = NULL;
	c->size = size;
	atomic_fetch_add_explicit(&live_captures, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&live_bytes, (long)size, memory_order_relaxed);
	return c;
}

static void capture_put(struct capture *c)
{
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	gt_timer_free(c->inspector);
	atomic_fetch_sub_explicit(&live_captures, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&live_bytes, (long)c->size, memory_order_relaxed);
	free(c);
}

static uint32_t checksum(const char *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static struct request *request_read(int64_t id)
{
	struct request *req = capture_new(sizeof(*req));

	req->id = id;
	req->len = sizeof(req->payload);
	memset(req->payload, 'a' + (int)(id % 26), req->len);
	return req;
}

static void log_slow(void *arg)
{
	struct request *req = arg;

	atomic_fetch_xor_explicit(&logged, checksum(req->payload, req->len), memory_order_relaxed);
	atomic_fetch_add_explicit(&inspectors_run, 1, memory_order_relaxed);
	capture_put(&req->cap);
}

static void log_summary(void *arg)
{
	struct summary *s = arg;

	atomic_fetch_xor_explicit(&logged, s->checksum, memory_order_relaxed);
	atomic_fetch_add_explicit(&inspectors_run, 1, memory_order_relaxed);
	capture_put(&s->cap);
}

/*
 * The inspector's reference is taken before it is armed, since it may run
 * at once. Each fix calls gt_after_func() itself, so that each is a call
 * site of its own in the profile.
 */
static void inspector_ref(struct capture *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static void check_armed(const gt_timer *t)
{
	if (!t)
		td_die(errno, "gt_after_func");
}

/* Fix 1: keep the handle and stop the inspector once the request is
 * served. */
static TD_SITE void inspect_until_done(struct request *req)
{
	inspector_ref(&req->cap);
	req->cap.inspector = gt_after_func(SLOW_AFTER, log_slow, req);
	check_armed(req->cap.inspector);
	atomic_fetch_add_explicit(&until_done, 1, memory_order_relaxed);
}

/* A stop that wins means the callback will never run, so the handler
 * drops the callback's reference for it. */
static void inspect_done(struct request *req)
{
	if (gt_timer_stop(req->cap.inspector)) {
		atomic_fetch_add_explicit(&stopped, 1, memory_order_relaxed);
		capture_put(&req->cap);
	}
}

/* Fix 2: the seed's "capture only the needed fields". */
static TD_SITE void inspect_summary(const struct request *req)
{
	struct summary *s = capture_new(sizeof(*s));

	s->id = req->id;
	s->len = req->len;
	s->checksum = checksum(req->payload, req->len);
	inspector_ref(&s->cap);
	s->cap.inspector = gt_after_func(SLOW_AFTER, log_summary, s);
	check_armed(s->cap.inspector);
	capture_put(&s->cap);
	atomic_fetch_add_explicit(&summaries, 1, memory_order_relaxed);
}

/* Fix 3: the whole request, but only for 2 ms. */
static TD_SITE void inspect_briefly(struct request *req)
{
	inspector_ref(&req->cap);
	req->cap.inspector = gt_after_func(BRIEF_AFTER, log_slow, req);
	check_armed(req->cap.inspector);
	atomic_fetch_add_explicit(&brief, 1, memory_order_relaxed);
}

static TD_SITE void handle_request(struct request *req)
{
	int fix = (int)(req->id % 3);

	if (fix == 0)
		inspect_until_done(req);
	else if (fix == 1)
		inspect_summary(req);
	else
		inspect_briefly(req);
	if (checksum(req->payload, req->len) == 0)
		fprintf(stderr, "request %lld: zero checksum\n", (long long)req->id);
	if (fix == 0)
		inspect_done(req);
	atomic_fetch_add_explicit(&served, 1, memory_order_relaxed);
	capture_put(&req->cap);
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

static void wait_brief_inspectors(void)
{
	int64_t until = gt_now() + 2 * GT_SECOND;

	while (atomic_load(&inspectors_run) < atomic_load(&brief) && gt_now() < until)
		gt_sleep(GT_MILLISECOND);
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:w:")) != -1) {
		switch (opt) {
		case 'n':
			env.count = td_number(optarg, 'n', 0, 10000000);
			break;
		case 'w':
			env.workers = (int)td_number(optarg, 'w', 1, MAX_WORKERS);
			break;
		default:
			fprintf(stderr, "usage: %s [-n COUNT] [-w WORKERS]\n", argv[0]);
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
	wait_brief_inspectors();

	gt_stats_read(&st);
	printf("mode=%s requests=%ld until_done=%ld stopped=%ld summary=%ld brief=%ld "
	       "inspectors_run=%ld pending_timers=%llu retained_captures=%ld retained_bytes=%ld\n",
	       gt_mode_name(gt_mode()), atomic_load(&served), atomic_load(&until_done),
	       atomic_load(&stopped), atomic_load(&summaries), atomic_load(&brief),
	       atomic_load(&inspectors_run), (unsigned long long)st.pending,
	       atomic_load(&live_captures), atomic_load(&live_bytes));
	return 0;
}
