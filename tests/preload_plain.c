/*
 * preload_plain.c - a program that never loads libgotimer, for the
 * recorder's tests (tests/preload_robust.sh).
 *
 *   none    makes no timer at all: some work, a thread, a pipe, and
 *           nothing the recorder records.
 *   timers  makes N timerfds and N POSIX timers, each armed and then
 *           closed or deleted, from plain_timerfd() and plain_posix().
 *
 * Either way it reports whether libgotimer was ever mapped into it
 * (gotimer_mapped=0 is the point: the recorder must not load it).
 *
 * Usage: preload_plain none|timers [-n N]
 * Prints one line, e.g.:
 *   mode=timers timerfds=100 posix_timers=100 gotimer_mapped=0
 */
#include "td.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static TD_SITE void plain_timerfd(void)
{
	struct itimerspec its = {.it_value = {0, 500000000}};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (fd < 0)
		td_die(errno, "timerfd_create");
	if (timerfd_settime(fd, 0, &its, NULL))
		td_die(errno, "timerfd_settime");
	if (close(fd))
		td_die(errno, "close");
}

static TD_SITE void plain_posix(void)
{
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	struct itimerspec its = {.it_value = {0, 500000000}};
	timer_t t;

	if (timer_create(CLOCK_MONOTONIC, &sev, &t))
		td_die(errno, "timer_create");
	if (timer_settime(t, 0, &its, NULL))
		td_die(errno, "timer_settime");
	if (timer_delete(t))
		td_die(errno, "timer_delete");
}

static void *spin(void *arg)
{
	volatile unsigned long *sum = arg;

	for (unsigned long i = 0; i < 1000000; i++)
		*sum += i;
	return NULL;
}

/* Whether any mapping of this process is libgotimer. */
static bool gotimer_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	bool found = false;

	if (!f)
		td_die(errno, "/proc/self/maps");
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, "libgotimer") != NULL;
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	unsigned long sum = 0;
	long n = 100;
	int opt, p[2];
	pthread_t th;

	optind = 2;
	while (argc > 1 && (opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			goto usage;
		n = td_number(optarg, 'n', 0, 10000000);
	}
	if (strcmp(mode, "none") == 0) {
		if (pthread_create(&th, NULL, spin, &sum) || pthread_join(th, NULL))
			td_die(0, "pthread");
		if (pipe(p))
			td_die(errno, "pipe");
		close(p[0]);
		close(p[1]);
		printf("mode=none timerfds=0 posix_timers=0 gotimer_mapped=%d\n", gotimer_mapped());
		return 0;
	}
	if (strcmp(mode, "timers") == 0) {
		for (long i = 0; i < n; i++) {
			plain_timerfd();
			plain_posix();
		}
		printf("mode=timers timerfds=%ld posix_timers=%ld gotimer_mapped=%d\n", n, n,
		       gotimer_mapped());
		return 0;
	}
usage:
	fprintf(stderr, "usage: %s none|timers [-n N]\n", argv[0]);
	return 2;
}
