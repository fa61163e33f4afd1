/*
 * ptab.c - which timer_t values are POSIX timers being recorded.
 *
 * An open-addressing hash table of 2^17 slots, mapped on first use: far
 * more than a process can hold (each POSIX timer counts against
 * RLIMIT_SIGPENDING, a few ten thousands by default). A slot's key is
 * published last, with release, after its value; deletion leaves a
 * tombstone that a later insert reuses. Lock-free and async-signal-safe,
 * like everything a hook calls.
 *
 * The table (3 MiB of address space, touched only where used) is mapped at
 * start-up, so that a program that lowers its address-space limit later
 * still has it; if it cannot be had then or at the first timer, timers go
 * untracked, and the caller counts them.
 */
#include "core.h"

#include <sys/mman.h>

#define SLOTS (1u << 17)
#define EMPTY 0ull
#define TOMB  1ull
#define BUSY  2ull
#define KEY(k) ((uint64_t)(k) + 3) /* never EMPTY, TOMB or BUSY */

struct pslot {
	_Atomic uint64_t key;
	uint64_t id;
	int clockid; /* CPU-time clocks are negative: kept whole */
	int pad_;
};

static _Atomic(struct pslot *) table;

static struct pslot *get_table(bool create)
{
	struct pslot *t = atomic_load_explicit(&table, memory_order_acquire), *none = NULL;

	if (t || !create)
		return t;
	t = mmap(NULL, SLOTS * sizeof(*t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	if (!atomic_compare_exchange_strong(&table, &none, t)) {
		munmap(t, SLOTS * sizeof(*t));
		t = none;
	}
	return t;
}

static uint32_t hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k & (SLOTS - 1);
}

void tl__ptimer_prepare(void)
{
	get_table(true);
}

bool tl__ptimer_created(uintptr_t key, uint64_t id, int clockid)
{
	struct pslot *t = get_table(true);
	uint32_t h = hash(KEY(key));

	if (!t)
		return false;
	for (uint32_t i = 0; i < SLOTS; i++) {
		struct pslot *s = &t[(h + i) & (SLOTS - 1)];
		uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);

		if ((k == EMPTY || k == TOMB) && atomic_compare_exchange_strong(&s->key, &k, BUSY)) {
			s->id = id;
			s->clockid = clockid;
			atomic_store_explicit(&s->key, KEY(key), memory_order_release);
			return true;
		}
	}
	return false;
}

static struct pslot *find(uintptr_t key)
{
	struct pslot *t = get_table(false);
	uint32_t h = hash(KEY(key));

	if (!t)
		return NULL;
	for (uint32_t i = 0; i < SLOTS; i++) {
		struct pslot *s = &t[(h + i) & (SLOTS - 1)];
		uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);

		if (k == KEY(key))
			return s;
		if (k == EMPTY)
			return NULL;
	}
	return NULL;
}

uint64_t tl__ptimer_lookup(uintptr_t key, int *clockid)
{
	struct pslot *s = find(key);

	if (!s)
		return 0;
	if (clockid)
		*clockid = s->clockid;
	return s->id;
}

uint64_t tl__ptimer_forget(uintptr_t key)
{
	struct pslot *s = find(key);
	uint64_t id, k = KEY(key);

	if (!s)
		return 0;
	id = s->id;
	/* Only one of two racing deletes gets the timer. */
	return atomic_compare_exchange_strong(&s->key, &k, TOMB) ? id : 0;
}
