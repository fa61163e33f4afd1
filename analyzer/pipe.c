/*
 * pipe.c - see pipe.h.
 *
 * A ring of NBATCH batches between two threads. The counts of batches
 * published and released are atomics, so neither side takes the lock
 * while the other keeps up; a side that finds nothing to do spins a
 * little, then sleeps on the condition variable after saying so in its
 * *_waits flag, which the other side checks after each change (both
 * sequentially consistent: a wake-up cannot be lost).
 */
#include "pipe.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define BATCH  1024 /* records: 96 KiB, small enough to stay in cache */
#define NBATCH 4
#define SPINS  2000

struct batch {
	uint32_t n;
	struct tl_record rec[BATCH];
};

struct tl__pipe {
	struct tl_trace_reader *r;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	_Atomic uint64_t published; /* batches filled by the reader thread */
	_Atomic uint64_t released;  /* batches the consumer is done with */
	_Atomic bool done;          /* no batch after the published ones */
	_Atomic bool stop;          /* the consumer gave up */
	_Atomic bool reader_waits, consumer_waits;
	_Atomic uint64_t file_bytes;
	int end; /* the reader's last result (0 or an error); set before done */

	/* The consumer's own: */
	uint64_t cur; /* number of the batch it reads */
	uint32_t pos;
	bool holding; /* cur is published and not yet released */

	struct batch b[NBATCH];
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void wake(struct tl__pipe *p, _Atomic bool *waits)
{
	if (atomic_load(waits)) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
}

/* Wait until ready(p, arg) holds, or p->stop. */
static void wait_for(struct tl__pipe *p, _Atomic bool *waits,
		     bool (*ready)(struct tl__pipe *, uint64_t), uint64_t arg)
{
	for (int i = 0; i < SPINS; i++) {
		if (ready(p, arg) || atomic_load(&p->stop))
			return;
		cpu_relax();
	}
	pthread_mutex_lock(&p->lock);
	atomic_store(waits, true);
	while (!ready(p, arg) && !atomic_load(&p->stop))
		pthread_cond_wait(&p->cond, &p->lock);
	atomic_store(waits, false);
	pthread_mutex_unlock(&p->lock);
}

/* The reader may fill batch k: the consumer released k - NBATCH. */
static bool slot_free(struct tl__pipe *p, uint64_t k)
{
	return k - atomic_load(&p->released) < NBATCH;
}

/* Everything published is released: nothing points into the reader. */
static bool all_released(struct tl__pipe *p, uint64_t k)
{
	return atomic_load(&p->released) >= k;
}

static bool batch_ready(struct tl__pipe *p, uint64_t k)
{
	return atomic_load(&p->published) > k || atomic_load(&p->done);
}

static void *run(void *arg)
{
	struct tl__pipe *p = arg;
	struct tl_trace_reader_stats st;
	int got = 1;

	for (uint64_t k = 0; got > 0; k++) {
		struct batch *b = &p->b[k % NBATCH];
		bool meta = false;

		wait_for(p, &p->reader_waits, slot_free, k);
		if (atomic_load(&p->stop))
			break;
		b->n = 0;
		while (b->n < BATCH && (got = tl_trace_reader_next(p->r, &b->rec[b->n])) > 0)
			if (!tl_rec_is_event(b->rec[b->n++].type)) {
				meta = true;
				break;
			}
		tl_trace_reader_stats(p->r, &st);
		atomic_store(&p->file_bytes, st.file_bytes);
		if (got <= 0)
			p->end = got;
		if (b->n)
			atomic_store(&p->published, k + 1);
		if (got <= 0)
			atomic_store(&p->done, true);
		wake(p, &p->consumer_waits);
		if (meta)
			wait_for(p, &p->reader_waits, all_released, k + 1);
	}
	atomic_store(&p->done, true);
	wake(p, &p->consumer_waits);
	return NULL;
}

struct tl__pipe *tl__pipe_start(struct tl_trace_reader *r)
{
	struct tl__pipe *p = calloc(1, sizeof(*p));
	sigset_t all, old;
	int err;

	if (!p)
		return NULL;
	p->r = r;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the main thread */
	err = pthread_create(&p->thread, NULL, run, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		free(p);
		errno = err;
		return NULL;
	}
	return p;
}

int tl__pipe_next(struct tl__pipe *p, const struct tl_record **rec)
{
	if (p->holding) {
		struct batch *b = &p->b[p->cur % NBATCH];

		if (p->pos < b->n) {
			*rec = &b->rec[p->pos++];
			return 1;
		}
		p->holding = false;
		atomic_store(&p->released, ++p->cur);
		wake(p, &p->reader_waits);
	}
	wait_for(p, &p->consumer_waits, batch_ready, p->cur);
	if (atomic_load(&p->published) <= p->cur)
		return p->end; /* done, and every batch read */
	p->holding = true;
	p->pos = 1;
	*rec = &p->b[p->cur % NBATCH].rec[0];
	return 1;
}

const struct tl_record *tl__pipe_peek(const struct tl__pipe *p, uint32_t k)
{
	const struct batch *b = &p->b[p->cur % NBATCH];

	return p->holding && p->pos - 1 + k < b->n ? &b->rec[p->pos - 1 + k] : NULL;
}

uint64_t tl__pipe_file_bytes(const struct tl__pipe *p)
{
	return atomic_load(&((struct tl__pipe *)p)->file_bytes);
}

void tl__pipe_stop(struct tl__pipe *p)
{
	if (!p)
		return;
	atomic_store(&p->stop, true);
	pthread_mutex_lock(&p->lock);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
