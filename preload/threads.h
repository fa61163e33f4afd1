/*
 * threads.h - starting threads through the recorder (threads.c).
 */
#ifndef TL_THREADS_H
#define TL_THREADS_H

struct tl__thread_start {
	void *(*fn)(void *);
	void *arg;
};

/* The start routine the pthread_create hook substitutes; arg is a
 * malloc'ed struct tl__thread_start, freed here. */
void *tl__thread_trampoline(void *arg);

#endif /* TL_THREADS_H */
