/*
 * seed_reset.c - the seed's Reset experiments, each printed as one line.
 *
 *   stale      t = NewTimer(10 ms); sleep 20 ms; Reset(10 ms); <-t.C. The
 *              seed measured 0 ms on Go 1.22 (the value fired before the
 *              Reset is still in the channel) and 10 ms on Go 1.23. A
 *              second receive, bounded at 30 ms, shows the value the
 *              Reset itself produces arriving 10 ms later in async mode.
 *   fixed      the same with the seed's resetTimer (Stop; on false drain;
 *              Reset): 10 ms in both modes.
 *   afterfunc  a callback timer of 10 ms reset after 5 ms (before expiry:
 *              the pending run moves, one run in all) and after 15 ms
 *              (after expiry: Reset schedules another run, two in all).
 *              The seed drew the delay at random; here both cases run.
 *              Callback timers have no channel, so both modes agree.
 *
 * The mode is GOTIMER_CHAN's. Times are milliseconds from the Reset (stale,
 * fixed) or from the timer's creation (afterfunc).
 *
 * Usage: seed_reset [stale|fixed|afterfunc|all]   (default all)
 * Prints one line per experiment, e.g.:
 *   mode=async experiment=stale value_pending_at_reset=true first_recv_ms=0.0
 *   second_recv_ms=10.1
 */
#include "td.h"

#include <gotimer.h>

#include <stdatomic.h>
#include <stdbool.h>

#define TIMEOUT	 (10 * GT_MILLISECOND)
#define MAX_RUNS 4

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static const char *yes_no(bool b)
{
	return b ? "true" : "false";
}

/* Receive from c within the bound. @return the time it arrived, or -1. */
static int64_t recv_within(gt_chan *c, gt_duration bound)
{
	return gt_select(&c, 1, NULL, NULL, bound) == 0 ? gt_now() : -1;
}

/* "none" when nothing arrived within the bound. */
static void print_recv(const char *name, int64_t at, int64_t since)
{
	if (at < 0)
		printf(" %s=none", name);
	else
		printf(" %s=%.1f", name, ms(at - since));
}

/*
 * The seed's NewTimer(10 ms) and Sleep(20 ms). The experiments are about a
 * timer whose value has been sent, so on a loaded machine, where the timer
 * thread may not have run within those 20 ms, it waits (up to 1 s) for the
 * send too; gt_timer_has_value() sees it in both modes.
 */
static gt_timer *expired_timer(void)
{
	gt_timer *t = gt_timer_new(TIMEOUT);
	int64_t give_up;

	if (!t)
		td_die(errno, "gt_timer_new");
	gt_sleep(2 * TIMEOUT);
	give_up = gt_now() + GT_SECOND;
	while (!gt_timer_has_value(t) && gt_now() < give_up)
		gt_sleep(GT_MILLISECOND);
	return t;
}

static void stale(void)
{
	gt_timer *t = expired_timer();
	bool pending = gt_timer_has_value(t);
	int64_t start = gt_now(), first, second;

	gt_timer_reset(t, TIMEOUT);
	first = recv_within(gt_timer_chan(t), 30 * TIMEOUT);
	second = recv_within(gt_timer_chan(t), 3 * TIMEOUT);
	printf("mode=%s experiment=stale value_pending_at_reset=%s", gt_mode_name(gt_mode()),
	       yes_no(pending));
	print_recv("first_recv_ms", first, start);
	print_recv("second_recv_ms", second, start);
	putchar('\n');
	gt_timer_free(t);
}

static void fixed(void)
{
	gt_timer *t = expired_timer();
	int64_t start = gt_now(), first, second;
	bool stopped, drained = false;

	stopped = gt_timer_stop(t);
	if (!stopped)
		drained = gt_chan_try_recv(gt_timer_chan(t), NULL);
	gt_timer_reset(t, TIMEOUT);
	first = recv_within(gt_timer_chan(t), 30 * TIMEOUT);
	second = recv_within(gt_timer_chan(t), 3 * TIMEOUT);
	printf("mode=%s experiment=fixed stop_returned=%s drained=%s", gt_mode_name(gt_mode()),
	       yes_no(stopped), yes_no(drained));
	print_recv("first_recv_ms", first, start);
	print_recv("second_recv_ms", second, start);
	putchar('\n');
	gt_timer_free(t);
}

/* The seed's work(): note when it ran. Written by the callback thread,
 * read by main once the callbacks are done. */
struct runs {
	int64_t start;
	_Atomic int n;
	_Atomic int64_t at[MAX_RUNS];
};

static void work(void *arg)
{
	struct runs *r = arg;
	int i = atomic_fetch_add(&r->n, 1);

	if (i < MAX_RUNS)
		atomic_store(&r->at[i], gt_now() - r->start);
}

static void afterfunc_case(const char *name, gt_duration reset_after)
{
	struct runs r = {.start = gt_now()};
	int64_t reset_at;
	gt_timer *t;
	bool active;
	int n;

	t = gt_after_func(TIMEOUT, work, &r);
	if (!t)
		td_die(errno, "gt_after_func");
	gt_sleep(reset_after);
	reset_at = gt_now() - r.start;
	active = gt_timer_reset(t, TIMEOUT);
	gt_sleep(5 * TIMEOUT);
	gt_timer_free(t);

	n = atomic_load(&r.n);
	printf("mode=%s experiment=%s reset_at_ms=%.1f reset_returned=%s runs=%d runs_at_ms=",
	       gt_mode_name(gt_mode()), name, ms(reset_at), yes_no(active), n);
	for (int i = 0; i < n && i < MAX_RUNS; i++)
		printf("%s%.1f", i ? "," : "", ms(atomic_load(&r.at[i])));
	putchar('\n');
}

static void afterfunc(void)
{
	afterfunc_case("afterfunc_reset_before_expiry", TIMEOUT / 2);
	afterfunc_case("afterfunc_reset_after_expiry", TIMEOUT * 3 / 2);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	bool all = strcmp(what, "all") == 0;

	if (argc > 2 || !(all || !strcmp(what, "stale") || !strcmp(what, "fixed") ||
			  !strcmp(what, "afterfunc"))) {
		fprintf(stderr, "usage: %s [stale|fixed|afterfunc|all]\n", argv[0]);
		return 2;
	}
	if (all || !strcmp(what, "stale"))
		stale();
	if (all || !strcmp(what, "fixed"))
		fixed();
	if (all || !strcmp(what, "afterfunc"))
		afterfunc();
	return 0;
}
