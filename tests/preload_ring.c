/*
 * preload_ring.c - the per-thread ring (preload/ring.h) between a producer
 * and the consumer, on two threads, under the sanitizers.
 *
 * The producer reserves records of varied sizes (small events and stacks
 * large enough that a few hundred fill the ring), numbers them and
 * commits them; when the ring is full it counts a drop and goes on. The
 * consumer peeks, checks each record's number and contents, and gives the
 * space back only every RELEASE_EVERY records, so the ring is often full of
 * records read and not yet released: the case where the consumer's cursor
 * comes round to records it has already read. Every record is read exactly
 * once, in order: numbers read + drops = numbers made.
 *
 * Usage: preload_ring [RECORDS]   (exit 0: passed)
 */
#include "ring.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define RING_SIZE     (64 * 1024)
#define RELEASE_EVERY 512

static _Alignas(64) char data[RING_SIZE];
static struct tl__ring ring;
static uint64_t nrecords = 2000000;
static _Atomic uint64_t produced_end; /* numbers made, once the producer is done */
static _Atomic int producer_done;
static uint64_t dropped;

static uint32_t frames_of(uint64_t seq)
{
	return (uint32_t)((seq * 2654435761u) >> 7) % 40; /* 0..39 frames */
}

static void *producer(void *arg)
{
	(void)arg;
	for (uint64_t seq = 1; seq <= nrecords; seq++) {
		uint32_t n = frames_of(seq);
		struct tl__rrec *rec =
			tl__ring_reserve(&ring, (uint32_t)(sizeof(*rec) + n * sizeof(uint64_t)),
					 TL_REC_CREATE);

		if (!rec) {
			dropped++;
			continue;
		}
		rec->time = (int64_t)seq;
		rec->ev = (struct tl_event){.id = seq};
		rec->nframes = (uint16_t)n;
		for (uint32_t i = 0; i < n; i++)
			rec->frames[i] = seq ^ i;
		tl__ring_commit(rec);
	}
	atomic_store(&produced_end, nrecords);
	atomic_store(&producer_done, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t cursor = 0, last = 0, got = 0, unreleased = 0;
	pthread_t t;
	int bad = 0;

	if (argc > 1)
		nrecords = strtoull(argv[1], NULL, 10);
	tl__ring_init(&ring, data, RING_SIZE);
	if (pthread_create(&t, NULL, producer, NULL) != 0)
		return 2;
	for (;;) {
		int done = atomic_load(&producer_done);
		struct tl__rrec *rec;

		while ((rec = tl__ring_peek(&ring, cursor)) != NULL) {
			if (rec->type != TL__R_PAD) {
				uint64_t seq = rec->ev.id;

				if (seq <= last || (uint64_t)rec->time != seq ||
				    rec->nframes != frames_of(seq)) {
					fprintf(stderr, "record %llu after %llu: time %lld, %u frames\n",
						(unsigned long long)seq, (unsigned long long)last,
						(long long)rec->time, rec->nframes);
					bad = 1;
					break;
				}
				for (uint32_t i = 0; i < rec->nframes; i++)
					if (rec->frames[i] != (seq ^ i))
						bad = 1;
				last = seq;
				got++;
			}
			cursor += rec->size;
			if (++unreleased == RELEASE_EVERY) {
				tl__ring_release(&ring, cursor);
				unreleased = 0;
			}
		}
		if (bad)
			break;
		if (done && !tl__ring_peek(&ring, cursor))
			break;
		if (unreleased && tl__ring_used(&ring) * 4 > RING_SIZE * 3) {
			tl__ring_release(&ring, cursor); /* let the producer on */
			unreleased = 0;
		}
	}
	pthread_join(t, NULL);
	if (!bad && got + dropped != atomic_load(&produced_end)) {
		fprintf(stderr, "read %llu + dropped %llu != made %llu\n", (unsigned long long)got,
			(unsigned long long)dropped, (unsigned long long)nrecords);
		bad = 1;
	}
	printf("preload_ring: %llu records read, %llu dropped (ring full), %s\n",
	       (unsigned long long)got, (unsigned long long)dropped, bad ? "FAILED" : "ok");
	return bad;
}
