/*
 * preload_plugin.c - a plugin linked with libgotimer, which a program
 * that is not dlopens, uses and dlcloses, again and again
 * (preload_dlopen.c, for tests/preload_robust.sh).
 *
 * plugin_run(n) makes n timers, each created, stopped and freed (create,
 * stop, release, free), and one 1 ms gt_after() whose value it receives
 * before releasing the channel (create, fire, drain, release, free):
 * every event made before plugin_run() returns.
 */
#include <gotimer.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define PLUGIN_API __attribute__((visibility("default")))

PLUGIN_API long plugin_run(long n);

static __attribute__((noinline)) gt_timer *plugin_timer(void)
{
	gt_timer *t = gt_timer_new(GT_HOUR);

	__asm__ volatile("" ::: "memory"); /* keep this frame: no tail call */
	return t;
}

static __attribute__((noinline)) gt_chan *plugin_after(void)
{
	gt_chan *c = gt_after(GT_MILLISECOND);

	__asm__ volatile("" ::: "memory");
	return c;
}

/* @return the timers made, or -1 with errno set. */
PLUGIN_API long plugin_run(long n)
{
	gt_chan *c;

	for (long i = 0; i < n; i++) {
		gt_timer *t = plugin_timer();

		if (!t)
			return -1;
		gt_timer_stop(t);
		gt_timer_free(t);
	}
	c = plugin_after();
	if (!c)
		return -1;
	if (!gt_chan_recv(c, NULL)) {
		errno = EIO;
		return -1;
	}
	gt_chan_release(c);
	return n + 1;
}
