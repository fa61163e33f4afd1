/*
 * malloc_trace - the malloc twin of gen_trace's service, for heaptrack to
 * record: scripts/bench-report measures heaptrack_print on that recording
 * beside timerleak-report on gen_trace's trace.
 *
 *   malloc_trace [--events N] [--seed S]
 *
 * N events (default 50,000,000; an event is a malloc or a free, as
 * heaptrack counts them) with 10,000 blocks live at any time, allocated at
 * 1,000 call sites: each site is its own path through a binary tree of
 * calls ten deep, so every site has a distinct stack of some fifteen
 * frames (main, the loop, ten levels, malloc), like the creation stacks of
 * gen_trace's 1,000 sites. Popular sites first, as gen_trace picks them.
 * Each step frees a random live block and allocates its replacement (64 to
 * 1,024 bytes, by site); the blocks left at the end are freed and counted.
 * The same seed makes the same calls.
 *
 * Prints "malloc_trace events=N".
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define LIVE   10000
#define SITES  1000
#define LEVELS 10 /* 2^10 paths >= SITES */

static uint64_t state;

/* splitmix64, as gen_trace. */
static uint64_t rnd(void)
{
	uint64_t z = (state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void *left(unsigned site, unsigned level);
static void *right(unsigned site, unsigned level);

/* Bit `level` of the site picks the branch; the empty asm after each call
 * keeps it a call (no sibling call), so each level leaves a frame. */
static inline void *descend(unsigned site, unsigned level)
{
	void *p;

	if (level == LEVELS)
		p = malloc(64u << (site % 5));
	else if (site >> level & 1)
		p = right(site, level + 1);
	else
		p = left(site, level + 1);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

__attribute__((noinline)) static void *left(unsigned site, unsigned level)
{
	return descend(site, level);
}

__attribute__((noinline)) static void *right(unsigned site, unsigned level)
{
	return descend(site, level);
}

static unsigned pick_site(void)
{
	double u = (double)(rnd() >> 11) * 0x1p-53;

	return (unsigned)(SITES * u * u);
}

__attribute__((noinline)) static uint64_t churn(uint64_t events)
{
	static void *live[LIVE];
	uint64_t n = 0;

	for (unsigned i = 0; i < LIVE; i++, n++)
		live[i] = descend(pick_site(), 0);
	while (n + LIVE < events) {
		unsigned k = (unsigned)(rnd() % LIVE);

		free(live[k]);
		live[k] = descend(pick_site(), 0);
		n += 2;
	}
	for (unsigned i = 0; i < LIVE; i++, n++)
		free(live[i]);
	return n;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"events", required_argument, NULL, 'n'},
					     {"seed", required_argument, NULL, 's'},
					     {NULL, 0, NULL, 0}};
	uint64_t events = 50000000;
	int c;

	state = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			events = strtoull(optarg, NULL, 10);
		else if (c == 's')
			state = strtoull(optarg, NULL, 10);
		else
			return 2;
	}
	printf("malloc_trace events=%llu\n", (unsigned long long)churn(events));
	return 0;
}
