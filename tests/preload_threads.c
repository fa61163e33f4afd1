/*
 * preload_threads.c - many threads making timers as fast as they can, for
 * the recorder's tests (tests/preload_robust.sh): exact counts under
 * contention, small rings, a full disk, kill -9.
 *
 * THREADS threads each run OPS operations. An operation is one whole
 * timer life, of one of three kinds in turn:
 *
 *   op_gotimer  gt_timer_new, gt_timer_stop, gt_timer_free
 *               (create, stop, release, free: the stopped timer is
 *               reclaimed by the free, on the calling thread)
 *   op_timerfd  timerfd_create, timerfd_settime, close   (create, arm, free)
 *   op_posix    timer_create, timer_settime, timer_delete (create, arm, free)
 *
 * Every event of an operation is made by the calling thread before the
 * operation returns, so the counts printed are exactly what a complete
 * trace holds. With -l the threads go on until the process is killed (or
 * for 60 s; -L: for SECONDS; SIGUSR1 ends either early, with the counts
 * printed), printing "running" once every thread has done OPS operations.
 *
 * Usage: preload_threads [-t THREADS] [-n OPS] [-l | -L SECONDS]
 * Prints one line, e.g.:
 *   threads=32 ops=10000 gt_created=106688 gt_stopped=106688 gt_freed=106688
 *   timerfd_created=106656 timerfd_closed=106656 posix_created=106656
 *   posix_deleted=106656 events=1066880
 */
#include "td.h"

#include <gotimer.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256

static atomic_bool stop; /* SIGUSR1: the loop ends */

static struct env {
	int threads;
	long ops;
	bool loop;
	long loop_s; /* how long -l goes on */
} env = {
	.threads = 32,
	.ops = 10000,
	.loop_s = 60,
};

static _Atomic long gt_created, gt_stopped, gt_freed;
static _Atomic long timerfd_created, timerfd_closed;
static _Atomic long posix_created, posix_deleted;
static _Atomic int warmed_up; /* threads done with their first OPS */

static TD_SITE void op_gotimer(void)
{
	gt_timer *t = gt_timer_new(GT_HOUR);

	if (!t)
		td_die(errno, "gt_timer_new");
	atomic_fetch_add_explicit(&gt_created, 1, memory_order_relaxed);
	if (gt_timer_stop(t))
		atomic_fetch_add_explicit(&gt_stopped, 1, memory_order_relaxed);
	gt_timer_free(t);
	atomic_fetch_add_explicit(&gt_freed, 1, memory_order_relaxed);
}

static TD_SITE void op_timerfd(void)
{
	struct itimerspec its = {.it_value = {3600, 0}};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (fd < 0)
		td_die(errno, "timerfd_create");
	atomic_fetch_add_explicit(&timerfd_created, 1, memory_order_relaxed);
	if (timerfd_settime(fd, 0, &its, NULL))
		td_die(errno, "timerfd_settime");
	if (close(fd))
		td_die(errno, "close");
	atomic_fetch_add_explicit(&timerfd_closed, 1, memory_order_relaxed);
}

static TD_SITE void op_posix(void)
{
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	struct itimerspec its = {.it_value = {3600, 0}};
	timer_t t;

	if (timer_create(CLOCK_MONOTONIC, &sev, &t))
		td_die(errno, "timer_create");
	atomic_fetch_add_explicit(&posix_created, 1, memory_order_relaxed);
	if (timer_settime(t, 0, &its, NULL))
		td_die(errno, "timer_settime");
	if (timer_delete(t))
		td_die(errno, "timer_delete");
	atomic_fetch_add_explicit(&posix_deleted, 1, memory_order_relaxed);
}

static void *worker(void *arg)
{
	long first = (long)(intptr_t)arg;
	int64_t until = td_now() + env.loop_s * 1000 * TD_MS;

	for (long i = 0; i < env.ops || env.loop; i++) {
		switch ((first + i) % 3) {
		case 0:
			op_gotimer();
			break;
		case 1:
			op_timerfd();
			break;
		default:
			op_posix();
			break;
		}
		if (i + 1 == env.ops && atomic_fetch_add(&warmed_up, 1) + 1 == env.threads) {
			printf("running\n");
			fflush(stdout);
		}
		if (env.loop && (i & 1023) == 0 && (td_now() > until || atomic_load(&stop)))
			break;
	}
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
	atomic_store(&stop, true);
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "t:n:lL:")) != -1) {
		switch (opt) {
		case 't':
			env.threads = (int)td_number(optarg, 't', 1, MAX_THREADS);
			break;
		case 'n':
			env.ops = td_number(optarg, 'n', 0, 100000000);
			break;
		case 'l':
			env.loop = true;
			break;
		case 'L':
			env.loop = true;
			env.loop_s = td_number(optarg, 'L', 1, 3600);
			break;
		default:
			fprintf(stderr, "usage: %s [-t THREADS] [-n OPS] [-l | -L SECONDS]\n", argv[0]);
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	long events;
	int err;

	parse_args(argc, argv);
	signal(SIGUSR1, on_usr1);
	for (int i = 0; i < env.threads; i++) {
		err = pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
		if (err)
			td_die(err, "pthread_create");
	}
	for (int i = 0; i < env.threads; i++)
		pthread_join(th[i], NULL);
	events = 4 * atomic_load(&gt_created) + 3 * atomic_load(&timerfd_created) +
		 3 * atomic_load(&posix_created);
	printf("threads=%d ops=%ld gt_created=%ld gt_stopped=%ld gt_freed=%ld "
	       "timerfd_created=%ld timerfd_closed=%ld posix_created=%ld posix_deleted=%ld "
	       "events=%ld\n",
	       env.threads, env.ops, atomic_load(&gt_created), atomic_load(&gt_stopped),
	       atomic_load(&gt_freed), atomic_load(&timerfd_created), atomic_load(&timerfd_closed),
	       atomic_load(&posix_created), atomic_load(&posix_deleted), events);
	return 0;
}
