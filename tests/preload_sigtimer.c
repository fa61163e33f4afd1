/*
 * preload_sigtimer.c - timer calls from a signal handler, interrupting a
 * thread that is itself recording timer events in a tight loop, for the
 * recorder's tests (tests/preload_robust.sh).
 *
 * A periodic POSIX timer (the ticker) sends SIGRTMIN to the main thread
 * every PERIOD microseconds. Its handler re-arms another POSIX timer (the
 * target, SIGEV_NONE) with timer_settime() every time, and every 16th
 * time also creates a timerfd and closes it. Meanwhile the main thread
 * does N timerfd operations (timerfd_create, timerfd_settime, close), so
 * the handler lands inside the recorder again and again. At the end the
 * ticker is disarmed, and both POSIX timers are deleted.
 *
 * Expected, exactly: posix create 2, arm 1 + handler_arms, stop 1,
 * free 2; timerfd create, arm and free loop_ops each, plus create and
 * free handler_timerfds each.
 *
 * Usage: preload_sigtimer [-n N] [-p PERIOD_US]
 * Prints one line, e.g.:
 *   loop_ops=20000 handler_arms=3120 handler_timerfds=195 signals=3120
 */
#include "td.h"

#include <signal.h>
#include <stdatomic.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static timer_t target;
static volatile sig_atomic_t handler_arms, handler_timerfds, handler_failures, signals;

static TD_SITE void handler_timerfd(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (fd < 0) {
		handler_failures++;
		return;
	}
	handler_timerfds++;
	if (close(fd))
		handler_failures++;
}

static void on_tick(int sig)
{
	struct itimerspec its = {.it_value = {3600, 0}};
	int saved = errno;

	(void)sig;
	signals++;
	if (timer_settime(target, 0, &its, NULL) == 0)
		handler_arms++;
	else
		handler_failures++;
	if (signals % 16 == 0)
		handler_timerfd();
	errno = saved;
}

static TD_SITE timer_t make_posix(struct sigevent *sev)
{
	timer_t t;

	if (timer_create(CLOCK_MONOTONIC, sev, &t))
		td_die(errno, "timer_create");
	return t;
}

static TD_SITE void loop_timerfd(void)
{
	struct itimerspec its = {.it_value = {3600, 0}};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (fd < 0)
		td_die(errno, "timerfd_create");
	if (timerfd_settime(fd, 0, &its, NULL))
		td_die(errno, "timerfd_settime");
	if (close(fd))
		td_die(errno, "close");
}

int main(int argc, char **argv)
{
	struct sigevent none = {.sigev_notify = SIGEV_NONE};
	struct sigevent sig = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
	struct sigaction sa = {.sa_handler = on_tick, .sa_flags = SA_RESTART};
	struct itimerspec off = {{0, 0}, {0, 0}}, period;
	long n = 20000, period_us = 50;
	sigset_t block;
	timer_t ticker;
	int opt;

	while ((opt = getopt(argc, argv, "n:p:")) != -1) {
		if (opt == 'n')
			n = td_number(optarg, 'n', 0, 100000000);
		else if (opt == 'p')
			period_us = td_number(optarg, 'p', 1, 1000000);
		else {
			fprintf(stderr, "usage: %s [-n N] [-p PERIOD_US]\n", argv[0]);
			return 2;
		}
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL))
		td_die(errno, "sigaction");
	target = make_posix(&none);
	ticker = make_posix(&sig);
	period.it_value = period.it_interval = td_timespec(period_us * 1000);
	if (timer_settime(ticker, 0, &period, NULL))
		td_die(errno, "timer_settime");

	for (long i = 0; i < n; i++)
		loop_timerfd();

	/* No signal after this point: the counts are final. */
	sigemptyset(&block);
	sigaddset(&block, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &block, NULL);
	if (timer_settime(ticker, 0, &off, NULL))
		td_die(errno, "timer_settime");
	if (timer_delete(ticker) || timer_delete(target))
		td_die(errno, "timer_delete");
	printf("loop_ops=%ld handler_arms=%d handler_timerfds=%d handler_failures=%d signals=%d\n",
	       n, (int)handler_arms, (int)handler_timerfds, (int)handler_failures, (int)signals);
	return 0;
}
