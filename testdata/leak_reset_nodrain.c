/*
 * leak_reset_nodrain.c - reset without drain: a watchdog timer reset at the
 * top of the loop while its expired value still waits in the channel.
 *
 * The seed's "should not happen" consumer in C. The consumer owns one
 * 10 ms watchdog timer and calls gt_timer_reset() before each select on
 * {in, watchdog}; handling a message takes 20 ms, so by the next reset the
 * watchdog has fired and its value sits unreceived in the channel. In
 * async mode (Go <= 1.22) the reset leaves that value there, and the next
 * select may take it as a timeout at once, with a message waiting: the
 * seed's panic, counted here as a stale timeout. In sync mode (Go >= 1.23)
 * the reset discards it and no stale timeout happens; the resets with a
 * value pending are the same in both modes.
 *
 * The profiler must report the gt_timer_reset() in rearm_watchdog() as a
 * reset without drain. Correct look-alike: ok_reset_drain.c.
 *
 * Usage: leak_reset_nodrain [-n COUNT] [-t TIMEOUT_MS] [-w WORK_MS]
 * Prints one line, e.g.:
 *   mode=async messages=50 resets=74 resets_with_value_pending=50 timeouts=24
 *   stale_timeouts=24
 */
#include "td.h"

#include <gotimer.h>

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

static struct env {
	long count;
	gt_duration timeout;
	gt_duration work;
} env = {
	.count = 50,
	.timeout = 10 * GT_MILLISECOND,
	.work = 20 * GT_MILLISECOND,
};

/* Written only by the consumer thread; read by main after joining it. */
static struct consumer_stats {
	long messages;
	long resets;
	long resets_pending;
	long timeouts;
	long stale_timeouts;
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

/* The seed's timer.Reset(timeout) at the top of the loop, with no Stop
 * and no drain. The value check only feeds the printed counts. */
static TD_SITE void rearm_watchdog(gt_timer *watchdog)
{
	if (gt_timer_has_value(watchdog))
		cstats.resets_pending++;
	gt_timer_reset(watchdog, env.timeout);
	cstats.resets++;
}

static TD_SITE gt_timer *watchdog_open(void)
{
	gt_timer *t;

	t = gt_timer_new(env.timeout);
	if (!t)
		td_die(errno, "gt_timer_new");
	return t;
}

/* "do stuff", which takes longer than the watchdog's timeout. */
static TD_SITE void handle_message(int64_t v)
{
	(void)v;
	cstats.messages++;
	gt_sleep(env.work);
}

/*
 * A timeout can only be genuine once the timeout has passed since the
 * reset; one received earlier is the value fired before the reset.
 */
static void on_timeout(int64_t armed_at)
{
	cstats.timeouts++;
	if (gt_now() - armed_at < env.timeout)
		cstats.stale_timeouts++;
}

static void *consumer(void *arg)
{
	gt_chan *in = arg;
	gt_timer *watchdog = watchdog_open();
	int64_t armed_at, v;
	bool ok;
	int i;

	for (;;) {
		armed_at = gt_now();
		rearm_watchdog(watchdog);
		i = gt_select((gt_chan *[]){in, gt_timer_chan(watchdog)}, 2, &v, &ok, -1);
		if (i < 0)
			td_die(-i, "gt_select");
		if (i == 1) {
			on_timeout(armed_at);
			continue;
		}
		if (!ok)
			break;
		handle_message(v);
	}
	gt_timer_free(watchdog);
	return NULL;
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:t:w:")) != -1) {
		switch (opt) {
		case 'n':
			env.count = td_number(optarg, 'n', 0, 10000000);
			break;
		case 't':
			env.timeout = td_number(optarg, 't', 1, 3600 * 1000L) * GT_MILLISECOND;
			break;
		case 'w':
			env.work = td_number(optarg, 'w', 0, 3600 * 1000L) * GT_MILLISECOND;
			break;
		default:
			fprintf(stderr, "usage: %s [-n COUNT] [-t TIMEOUT_MS] [-w WORK_MS]\n",
				argv[0]);
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	pthread_t client_th, consumer_th;
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

	printf("mode=%s messages=%ld resets=%ld resets_with_value_pending=%ld timeouts=%ld "
	       "stale_timeouts=%ld\n",
	       gt_mode_name(gt_mode()), cstats.messages, cstats.resets, cstats.resets_pending,
	       cstats.timeouts, cstats.stale_timeouts);
	return 0;
}
