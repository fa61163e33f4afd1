/*
 * leak_after_loop.c - after-in-loop churn: a consumer that waits for each
 * message with a fresh one-hour gt_after() timeout.
 *
 * The seed's Go 1.22 consumer, in C. A client thread sends COUNT messages
 * on an unbuffered channel and closes it; the consumer thread selects on
 * {in, gt_after(1 hour)} and releases the after-channel as soon as the
 * select returns. In async mode every released timer stays in the runtime
 * until it fires, an hour later, so the process ends holding one timer per
 * message (about 15 MB for 100,000). In sync mode the release removes the
 * timer at once: the same site churns, but retains nothing.
 *
 * The profiler must report the gt_after() call in wait_message() as
 * after-in-loop churn. Correct look-alike: ok_timer_reset.c.
 *
 * Usage: leak_after_loop [-n COUNT] [-t TIMEOUT_MS]
 * Prints one line, e.g.:
 *   mode=async messages=100000 timeouts=0 afters_created=100001 pending_timers=100001
 *   pending_bytes=15200152
 */
#include "td.h"

#include <gotimer.h>

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

static struct env {
	long count;
	gt_duration timeout;
} env = {
	.count = 100000,
	.timeout = GT_HOUR,
};

/* Written only by the consumer thread; read by main after joining it. */
static struct consumer_stats {
	long messages;
	long timeouts;
	long afters;
	int64_t checksum;
} cstats;

static void *client(void *arg)
{
	gt_chan *in = arg;
	int err;

	for (long i = 0; i < env.count; i++) {
		err = gt_chan_send(in, i);
		if (err)
			td_die(-err, "client: gt_chan_send");
	}
	gt_chan_close(in);
	return NULL;
}

/*
 * The seed's select: the next message, or a warning after the timeout.
 * The after-channel is released at once, which is all C can do to drop a
 * Go timer; in async mode it does not free the timer.
 */
static TD_SITE int wait_message(gt_chan *in, int64_t *v, bool *ok)
{
	gt_chan *timeout;
	int i;

	timeout = gt_after(env.timeout);
	if (!timeout)
		td_die(errno, "gt_after");
	cstats.afters++;
	i = gt_select((gt_chan *[]){in, timeout}, 2, v, ok, -1);
	gt_chan_release(timeout);
	if (i < 0)
		td_die(-i, "gt_select");
	return i;
}

static TD_SITE void handle_message(int64_t v)
{
	cstats.messages++;
	cstats.checksum += v;
}

static void *consumer(void *arg)
{
	gt_chan *in = arg;
	int64_t v;
	bool ok;

	for (;;) {
		if (wait_message(in, &v, &ok) == 1) {
			cstats.timeouts++;
			continue;
		}
		if (!ok)
			return NULL;
		handle_message(v);
	}
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		switch (opt) {
		case 'n':
			env.count = td_number(optarg, 'n', 0, 100000000);
			break;
		case 't':
			env.timeout = td_number(optarg, 't', 1, 24 * 3600 * 1000L) * GT_MILLISECOND;
			break;
		default:
			fprintf(stderr, "usage: %s [-n COUNT] [-t TIMEOUT_MS]\n", argv[0]);
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	pthread_t client_th, consumer_th;
	gt_stats st;
	gt_chan *in;
	int err;

	parse_args(argc, argv);
	in = gt_chan_new(0);
	if (!in)
		td_die(errno, "gt_chan_new");
	err = pthread_create(&consumer_th, NULL, consumer, in);
	if (!err)
		err = pthread_create(&client_th, NULL, client, in);
	if (err)
		td_die(err, "pthread_create");
	pthread_join(client_th, NULL);
	pthread_join(consumer_th, NULL);
	gt_chan_release(in);

	gt_stats_read(&st);
	printf("mode=%s messages=%ld timeouts=%ld afters_created=%ld pending_timers=%llu "
	       "pending_bytes=%llu\n",
	       gt_mode_name(gt_mode()), cstats.messages, cstats.timeouts, cstats.afters,
	       (unsigned long long)st.pending, (unsigned long long)st.pending_bytes);
	return 0;
}
