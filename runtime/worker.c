/*
 * worker.c - the threads that run callback timers.
 *
 * Go runs each AfterFunc callback on a goroutine of its own. Here a pool
 * of threads takes queued runs. The pool grows freely up to two threads
 * per CPU; beyond that only when a run has waited more than SLOW_NS for a
 * thread, which is the sign that callbacks are slow rather than many. So a
 * slow callback delays neither the timer thread nor, for long, other
 * callbacks, and a burst of quick callbacks does not make a thread each.
 * When every thread is busy, a monitor thread (started the first time the
 * pool holds back) watches the oldest waiting run and adds a thread once
 * it has waited SLOW_NS. Threads idle for IDLE_EXIT_NS leave, down to one.
 */
#include "internal.h"

#include <stdlib.h>
#include <time.h>

#define MAX_THREADS  256
#define IDLE_EXIT_NS (10 * GT_SECOND)
#define SLOW_NS      (2 * GT_MILLISECOND)

struct task {
	struct task *next;
	struct gt_timer *t;
	int64_t queued_at;
};

static struct {
	pthread_mutex_t mu; /* protects everything here */
	pthread_cond_t cv;  /* idle threads wait on it */
	struct task *head, *tail;
	uint32_t queued;    /* tasks in the list */
	uint32_t idle;      /* threads waiting on cv */
	uint32_t nthreads;
	bool cv_ready;
	bool monitor_running;
	int64_t last_grow;  /* when the monitor last added a thread */
	pthread_cond_t monitor_cv; /* the monitor waits on it for held-back runs */
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void run(struct gt_timer *t)
{
	t->fn(t->arg);
	atomic_fetch_add_explicit(&gt__rt.callbacks_run, 1, memory_order_relaxed);
	gt__timer_unref(t);
}

static void cv_init_locked(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pool.cv, &ca);
	pthread_cond_init(&pool.monitor_cv, &ca);
	pthread_condattr_destroy(&ca);
	pool.cv_ready = true;
}

/* Wait for a task; NULL when this thread should leave. */
static struct task *next_task_locked(void)
{
	while (!pool.head) {
		int64_t until = gt__now() + IDLE_EXIT_NS;
		struct timespec ts = {until / 1000000000, until % 1000000000};
		int r;

		pool.idle++;
		r = pthread_cond_timedwait(&pool.cv, &pool.mu, &ts);
		pool.idle--;
		if (r != 0 && !pool.head && pool.nthreads > 1)
			return NULL;
	}
	struct task *k = pool.head;
	pool.head = k->next;
	if (!pool.head)
		pool.tail = NULL;
	pool.queued--;
	return k;
}

static void grow_locked(void);

static void *worker_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		struct task *k = next_task_locked();
		struct gt_timer *t;

		if (!k)
			break;
		t = k->t;
		if (pool.head)
			grow_locked(); /* the runs behind this one may be waiting on slow ones */
		pthread_mutex_unlock(&pool.mu);
		free(k);
		run(t);
		pthread_mutex_lock(&pool.mu);
	}
	pool.nthreads--;
	atomic_fetch_sub_explicit(&gt__rt.callback_threads, 1, memory_order_relaxed);
	pthread_mutex_unlock(&pool.mu);
	return NULL;
}

static bool start_worker_locked(void)
{
	pthread_t th;

	if (gt__thread_start(&th, worker_thread, NULL, "gt-callback") != 0)
		return false;
	pool.nthreads++;
	atomic_fetch_add_explicit(&gt__rt.callback_threads, 1, memory_order_relaxed);
	return true;
}

/* Runs wait and no thread is idle to take them. */
static bool starved_locked(void)
{
	return pool.head && pool.queued > pool.idle && pool.nthreads < MAX_THREADS;
}

static void *monitor_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool.mu);
	for (;;) {
		int64_t due;
		struct timespec ts;

		while (!starved_locked())
			pthread_cond_wait(&pool.monitor_cv, &pool.mu);
		/* Give each added thread SLOW_NS to take a run before adding
		 * another: it needs this mutex to do so. */
		due = pool.head->queued_at > pool.last_grow ? pool.head->queued_at
							   : pool.last_grow;
		due += SLOW_NS;
		if (gt__now() >= due) {
			if (start_worker_locked())
				pool.last_grow = gt__now();
			else
				pool.last_grow = gt__now() + IDLE_EXIT_NS; /* cannot: back off */
			continue;
		}
		ts = (struct timespec){due / 1000000000, due % 1000000000};
		pthread_cond_timedwait(&pool.monitor_cv, &pool.mu, &ts);
	}
	return NULL;
}

static void grow_locked(void)
{
	uint32_t free_growth = 2 * gt__rt.nshards;
	pthread_t th;

	if (!starved_locked())
		return;
	if (pool.nthreads < free_growth || gt__now() - pool.head->queued_at >= SLOW_NS) {
		start_worker_locked();
		return;
	}
	/* Held back: let the monitor add a thread if the run waits too long. */
	if (!pool.monitor_running &&
	    gt__thread_start(&th, monitor_thread, NULL, "gt-cb-monitor") == 0)
		pool.monitor_running = true;
	pthread_cond_signal(&pool.monitor_cv);
}

void gt__worker_dispatch(struct gt_timer *t)
{
	struct task *k = malloc(sizeof(*k));

	if (!k) {
		run(t); /* out of memory: late is better than never */
		return;
	}
	k->t = t;
	k->next = NULL;
	k->queued_at = gt__now();
	pthread_mutex_lock(&pool.mu);
	if (!pool.cv_ready)
		cv_init_locked();
	if (pool.tail)
		pool.tail->next = k;
	else
		pool.head = k;
	pool.tail = k;
	pool.queued++;
	grow_locked();
	pthread_cond_signal(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
}

void gt__worker_atfork_prepare(void)
{
	pthread_mutex_lock(&pool.mu);
}

void gt__worker_atfork_parent(void)
{
	pthread_mutex_unlock(&pool.mu);
}

/* The child has none of the threads; queued runs start a new one at the
 * next dispatch. */
void gt__worker_atfork_child(void)
{
	pool.idle = 0;
	pool.nthreads = 0;
	pool.monitor_running = false;
	atomic_store_explicit(&gt__rt.callback_threads, 0, memory_order_relaxed);
	if (pool.cv_ready)
		cv_init_locked();
	pthread_mutex_unlock(&pool.mu);
}
