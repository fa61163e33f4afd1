/*
 * mode.c - start-up: the channel mode, the shards, fork handling, and the
 * clock.
 */
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>

struct gt__runtime gt__rt;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static enum gt_mode mode_from_env(void)
{
	const char *v = getenv("GOTIMER_CHAN");

	if (!v || !*v || strcmp(v, "async") == 0)
		return GT_MODE_ASYNC;
	if (strcmp(v, "sync") == 0)
		return GT_MODE_SYNC;
	fprintf(stderr, "gotimer: GOTIMER_CHAN=%s is neither async nor sync; using async\n", v);
	return GT_MODE_ASYNC;
}

static void atfork_prepare(void)
{
	gt__worker_atfork_prepare();
	gt__shards_atfork_prepare();
}

static void atfork_parent(void)
{
	gt__shards_atfork_parent();
	gt__worker_atfork_parent();
}

static void atfork_child(void)
{
	gt__shards_atfork_child();
	gt__worker_atfork_child();
}

static void init_once_fn(void)
{
	int n = get_nprocs();
	cpu_set_t cpus;

	gt__rt.mode = mode_from_env();
	gt__rt.spin = sched_getaffinity(0, sizeof(cpus), &cpus) != 0 || CPU_COUNT(&cpus) > 1;
	gt__rt.nshards = n < 1 ? 1 : n > GT_MAX_SHARDS ? GT_MAX_SHARDS : (uint32_t)n;
	for (uint32_t i = 0; i < gt__rt.nshards; i++) {
		struct gt__shard *s = &gt__rt.shards[i];

		s->index = i;
		s->sleep_until = INT64_MIN;
	}
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

void gt__init(void)
{
	pthread_once(&init_once, init_once_fn);
}

enum gt_mode gt_mode(void)
{
	gt__init();
	return gt__rt.mode;
}

const char *gt_mode_name(enum gt_mode mode)
{
	return mode == GT_MODE_SYNC ? "sync" : "async";
}

int64_t gt_now(void)
{
	return gt__now();
}

void gt__sleep(gt_duration d)
{
	int64_t until = gt__deadline(d);
	struct timespec ts = {until / 1000000000, until % 1000000000};
	int saved = errno;

	if (d <= 0)
		return;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
	errno = saved;
}

int gt__thread_start(pthread_t *th, void *(*fn)(void *), void *arg, const char *name)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int err;

	/* The new thread inherits the mask: block everything so no handler of
	 * the service ever runs on a runtime thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(th, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err == 0)
		pthread_setname_np(*th, name);
	return err;
}

void gt_sleep(gt_duration d)
{
	gt__sleep(d);
}
