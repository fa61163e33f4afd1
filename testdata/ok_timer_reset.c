/*
 * ok_timer_reset.c - the correct look-alike of leak_after_loop.c: one timer
 * for the whole loop, re-armed with the Stop-drain-Reset idiom.
 *
 * The same client and consumer, but the consumer creates one
 * gt_timer_new() before its loop and calls the seed's resetTimer (Stop; if
 * that found the timer expired, drain its channel; Reset) before each
 * select. One timer exists at any time and no stale value can be received,
 * in either mode. The profiler must not report the gt_timer_new() in
 * consumer() as churn, nor the gt_timer_reset() in reset_timer() as a
 * reset without drain.
 *
 * Usage: ok_timer_reset [-n COUNT] [-t TIMEOUT_MS]
 * Prints one line, e.g.:
 *   mode=async messages=100000 timeouts=0 timers_created=1 resets=100001 drained=0
 *   pending_timers=0 pending_bytes=0
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
	long resets;
	long drained;
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
 * The seed's resetTimer: Go <= 1.22 allows Reset only on a stopped or
 * expired timer whose channel is empty. Stop returning false means the
 * timer fired (or was stopped) and a value may wait in the channel.
 */
static TD_SITE void reset_timer(gt_timer *t, gt_duration d)
{
	if (!gt_timer_stop(t) && gt_chan_try_recv(gt_timer_chan(t), NULL))
		cstats.drained++;
	gt_timer_reset(t, d);
	cstats.resets++;
}

static TD_SITE int wait_message(gt_timer *t, gt_chan *in, int64_t *v, bool *ok)
{
	int i;

	reset_timer(t, env.timeout);
	i = gt_select((gt_chan *[]){in, gt_timer_chan(t)}, 2, v, ok, -1);
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
	gt_timer *t;
	int64_t v;
	bool ok;

	t = gt_timer_new(env.timeout);
	if (!t)
		td_die(errno, "gt_timer_new");
	for (;;) {
		if (wait_message(t, in, &v, &ok) == 1) {
			cstats.timeouts++;
			continue;
		}
		if (!ok)
			break;
		handle_message(v);
	}
	gt_timer_free(t);
	return NULL;
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
	printf("mode=%s messages=%ld timeouts=%ld timers_created=1 resets=%ld drained=%ld "
	       "pending_timers=%llu pending_bytes=%llu\n",
	       gt_mode_name(gt_mode()), cstats.messages, cstats.timeouts, cstats.resets,
	       cstats.drained, (unsigned long long)st.pending,
	       (unsigned long long)st.pending_bytes);
	return 0;
}
