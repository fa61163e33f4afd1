/*
 * seed_after_loop.c - the seed's memory experiment: what the after-in-loop
 * consumer retains after 100,000 messages, and what the Stop-drain-Reset
 * consumer retains after the same.
 *
 * The seed (Go 1.22) measured 20379 KB for the first and 0 KB for the
 * second; Go 1.23 measured 0 KB for both. Here, in the mode GOTIMER_CHAN
 * selects:
 *
 *   after  the consumer selects on {in, gt_after(1 hour), done} and
 *          releases the after-channel once the select returns.
 *   reset  the consumer owns one gt_timer_new(1 hour), re-armed before each
 *          select on {in, timer, done} by the seed's resetTimer (Stop; on
 *          false drain; Reset).
 *
 * main plays the seed's client: it sends COUNT messages on an unbuffered
 * channel, then closes done (the seed's cancel()) and joins the consumer.
 * Retention is the growth from before the consumer starts to after it
 * ends, measured two independent ways:
 *
 *   runtime  libgotimer's own accounting (gt_stats_read): bytes held by
 *            its timer heaps (pending_bytes) and by timer objects not yet
 *            freed (live_bytes), and the timers still pending.
 *   heap     what glibc malloc holds (mallinfo2: uordblks + hblkhd).
 *
 * C frees at once what Go's runtime.GC() would collect, so no collection
 * is needed before measuring. The consumer runs COUNT + 1 selects (the
 * last one sees done), so an async after consumer leaves COUNT + 1 timers
 * behind. KB are 1024 bytes, as in the seed.
 *
 * Usage: seed_after_loop [-n COUNT] [after|reset]
 * Prints one line, e.g.:
 *   mode=async consumer=after messages=100000 pending_timers=100001 live_timers=100001
 *   retained_runtime_kb=14844 live_runtime_kb=14844 retained_heap_kb=16282 elapsed_ms=90
 */
#include "td.h"

#include <gotimer.h>

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#define TIMEOUT GT_HOUR

static struct env {
	long count;
	bool reset;
} env = {
	.count = 100000,
	.reset = false,
};

struct consumer {
	gt_chan *in;
	gt_chan *done;
	long messages; /* written by the consumer thread, read after joining it */
};

static int select_or_die(gt_chan *const *chans, size_t n)
{
	int i = gt_select(chans, n, NULL, NULL, -1);

	if (i < 0)
		td_die(-i, "gt_select");
	return i;
}

/* The seed's first consumer: select on a fresh time.After every time. */
static void *consume_after(void *arg)
{
	struct consumer *c = arg;
	gt_chan *timeout;
	int i;

	do {
		timeout = gt_after(TIMEOUT);
		if (!timeout)
			td_die(errno, "gt_after");
		i = select_or_die((gt_chan *[]){c->in, timeout, c->done}, 3);
		gt_chan_release(timeout);
		c->messages += i == 0;
	} while (i != 2);
	return NULL;
}

/* The seed's resetTimer: Stop, drain if Stop found the timer expired,
 * then Reset; valid in Go <= 1.22 and Go >= 1.23 alike. */
static void reset_timer(gt_timer *t, gt_duration d)
{
	if (!gt_timer_stop(t))
		gt_chan_try_recv(gt_timer_chan(t), NULL);
	gt_timer_reset(t, d);
}

/* The seed's fixed consumer: one timer for the whole loop. */
static void *consume_reset(void *arg)
{
	struct consumer *c = arg;
	gt_timer *t;
	int i;

	t = gt_timer_new(TIMEOUT);
	if (!t)
		td_die(errno, "gt_timer_new");
	do {
		reset_timer(t, TIMEOUT);
		i = select_or_die((gt_chan *[]){c->in, gt_timer_chan(t), c->done}, 3);
		c->messages += i == 0;
	} while (i != 2);
	gt_timer_free(t);
	return NULL;
}

struct snapshot {
	gt_stats st;
	int64_t heap;
};

static void snap(struct snapshot *s)
{
	gt_stats_read(&s->st);
	s->heap = td_heap_in_use();
}

/* Bytes to KB, rounded to nearest, the same way on both sides of zero. */
static long long kb(int64_t bytes)
{
	return (bytes >= 0 ? bytes + 512 : bytes - 512) / 1024;
}

static void print_growth(const struct snapshot *a, const struct snapshot *b, long messages,
			 int64_t elapsed)
{
	printf("mode=%s consumer=%s messages=%ld pending_timers=%lld live_timers=%lld "
	       "retained_runtime_kb=%lld live_runtime_kb=%lld retained_heap_kb=%lld "
	       "elapsed_ms=%lld\n",
	       gt_mode_name(gt_mode()), env.reset ? "reset" : "after", messages,
	       (long long)(b->st.pending - a->st.pending),
	       (long long)(b->st.live_objects - a->st.live_objects),
	       kb((int64_t)(b->st.pending_bytes - a->st.pending_bytes)),
	       kb((int64_t)(b->st.live_bytes - a->st.live_bytes)), kb(b->heap - a->heap),
	       (long long)(elapsed / GT_MILLISECOND));
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			goto usage;
		env.count = td_number(optarg, 'n', 0, 100000000);
	}
	if (optind == argc)
		return;
	if (optind + 1 == argc && strcmp(argv[optind], "after") == 0)
		return;
	if (optind + 1 == argc && strcmp(argv[optind], "reset") == 0) {
		env.reset = true;
		return;
	}
usage:
	fprintf(stderr, "usage: %s [-n COUNT] [after|reset]\n", argv[0]);
	exit(2);
}

int main(int argc, char **argv)
{
	struct consumer c = {0};
	struct snapshot before, after;
	pthread_t th;
	int64_t start;
	int err;

	parse_args(argc, argv);
	c.in = gt_chan_new(0);
	c.done = gt_chan_new(0);
	if (!c.in || !c.done)
		td_die(errno, "gt_chan_new");

	snap(&before);
	start = gt_now();
	err = pthread_create(&th, NULL, env.reset ? consume_reset : consume_after, &c);
	if (err)
		td_die(err, "pthread_create");
	for (long i = 0; i < env.count; i++) {
		err = gt_chan_send(c.in, i);
		if (err)
			td_die(-err, "gt_chan_send");
	}
	gt_chan_close(c.done);
	pthread_join(th, NULL);
	snap(&after);

	print_growth(&before, &after, c.messages, gt_now() - start);
	gt_chan_release(c.in);
	gt_chan_release(c.done);
	return 0;
}
