/*
 * ok_posix_timer.c - the correct look-alike of leak_posix_timer.c: every
 * job deletes its watchdog when it ends.
 *
 * The same workers, jobs and deadline watchdogs (SIGEV_THREAD_ID, or
 * SIGEV_NONE with -e none), with timer_delete() once the job is done. One
 * process-wide periodic timer (SIGEV_NONE, an uptime clock), created at
 * start-up, is left for the process exit to delete, as a service's single
 * long-lived timer is; live_posix_timers counts it.
 *
 * The profiler must report neither the timer_create() in
 * watchdog_create() nor the one in uptime_timer_create().
 *
 * Usage: ok_posix_timer [-n COUNT] [-w WORKERS] [-d DEADLINE_MS] [-j JOB_US]
 *                       [-e signal|none]
 * Prints one line, e.g.:
 *   jobs=200 notify=signal timers_created=201 timers_deleted=200 overruns=0
 *   long_lived_timers=1 live_posix_timers=1
 */
#include "td.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64

/* The kernel's name for the target thread; glibc 2.36 only spells it
 * _sigev_un._tid. */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static struct env {
	long count;
	int workers;
	int64_t deadline;
	int64_t work;
	bool signal;
} env = {
	.count = 200,
	.workers = 4,
	.deadline = 1000 * TD_MS,
	.work = TD_MS / 2,
	.signal = true,
};

static _Atomic long next_job;
static _Atomic long jobs_run, timers_created, timers_deleted;
static _Atomic int overruns; /* lock-free, so the signal handler may add to it */

static void on_overrun(int sig)
{
	(void)sig;
	overruns++;
}

static TD_SITE timer_t watchdog_create(void)
{
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	timer_t t;

	if (env.signal) {
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = SIGRTMIN;
		sev.sigev_notify_thread_id = gettid();
	}
	if (timer_create(CLOCK_MONOTONIC, &sev, &t))
		td_die(errno, "timer_create");
	atomic_fetch_add_explicit(&timers_created, 1, memory_order_relaxed);
	return t;
}

/* The service's one long-lived timer, expiring every 10 ms. It notifies
 * nobody: uptime is read from it with timer_gettime() when needed. */
static TD_SITE timer_t uptime_timer_create(void)
{
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	struct itimerspec its = {.it_interval = td_timespec(10 * TD_MS),
				 .it_value = td_timespec(10 * TD_MS)};
	timer_t t;

	if (timer_create(CLOCK_MONOTONIC, &sev, &t))
		td_die(errno, "timer_create");
	if (timer_settime(t, 0, &its, NULL))
		td_die(errno, "timer_settime");
	atomic_fetch_add_explicit(&timers_created, 1, memory_order_relaxed);
	return t;
}

static void watchdog_arm(timer_t t, int64_t ns)
{
	struct itimerspec its = {.it_value = td_timespec(ns)};

	if (timer_settime(t, 0, &its, NULL))
		td_die(errno, "timer_settime");
}

/* Whether a timer is armed. A one-shot timer that has expired is not; a
 * periodic one always is, until deleted. */
static bool armed(timer_t t)
{
	struct itimerspec its;

	if (timer_gettime(t, &its))
		return false;
	return its.it_value.tv_sec || its.it_value.tv_nsec;
}

static TD_SITE void job_work(long id)
{
	(void)id;
	td_sleep(env.work);
}

static TD_SITE void job_run(long id)
{
	timer_t watchdog = watchdog_create();

	watchdog_arm(watchdog, env.deadline);
	job_work(id);
	if (!env.signal && !armed(watchdog))
		overruns++;
	watchdog_arm(watchdog, 0);
	atomic_fetch_add_explicit(&jobs_run, 1, memory_order_relaxed);
	if (timer_delete(watchdog))
		td_die(errno, "timer_delete");
	atomic_fetch_add_explicit(&timers_deleted, 1, memory_order_relaxed);
}

static void *worker(void *arg)
{
	long id;

	(void)arg;
	while ((id = atomic_fetch_add(&next_job, 1)) < env.count)
		job_run(id);
	return NULL;
}

/* The kernel's own list: one "ID:" line per POSIX timer of the process.
 * @return the count, or -1 if the kernel does not provide the file. */
static int count_posix_timers(void)
{
	FILE *f = fopen("/proc/self/timers", "r");
	char line[256];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strncmp(line, "ID:", 3) == 0;
	fclose(f);
	return n;
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:w:d:j:e:")) != -1) {
		switch (opt) {
		case 'n':
			env.count = td_number(optarg, 'n', 0, 1000000);
			break;
		case 'w':
			env.workers = (int)td_number(optarg, 'w', 1, MAX_WORKERS);
			break;
		case 'd':
			env.deadline = td_number(optarg, 'd', 1, 3600 * 1000L) * TD_MS;
			break;
		case 'j':
			env.work = td_number(optarg, 'j', 0, 3600 * 1000000L) * 1000;
			break;
		case 'e':
			if (strcmp(optarg, "signal") && strcmp(optarg, "none"))
				goto usage;
			env.signal = strcmp(optarg, "signal") == 0;
			break;
		default:
			goto usage;
		}
	}
	return;
usage:
	fprintf(stderr,
		"usage: %s [-n COUNT] [-w WORKERS] [-d DEADLINE_MS] [-j JOB_US] [-e signal|none]\n",
		argv[0]);
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_overrun};
	pthread_t th[MAX_WORKERS];
	timer_t uptime;
	int err;

	parse_args(argc, argv);
	uptime = uptime_timer_create();
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGRTMIN, &sa, NULL))
		td_die(errno, "sigaction");
	for (int i = 0; i < env.workers; i++) {
		err = pthread_create(&th[i], NULL, worker, NULL);
		if (err)
			td_die(err, "pthread_create");
	}
	for (int i = 0; i < env.workers; i++)
		pthread_join(th[i], NULL);

	printf("jobs=%ld notify=%s timers_created=%ld timers_deleted=%ld overruns=%d "
	       "long_lived_timers=%d live_posix_timers=%d\n",
	       atomic_load(&jobs_run), env.signal ? "signal" : "none", atomic_load(&timers_created),
	       atomic_load(&timers_deleted), atomic_load(&overruns), armed(uptime),
	       count_posix_timers());
	return 0;
}
