/*
 * idmap.h - trace timer id -> index, open addressing.
 *
 * Linear probing with backward-shift deletion: timers come and go at
 * millions per second and tombstones would slow every lookup down over a
 * long trace. Sized to stay under half full. Any 64-bit key, 0 included.
 */
#ifndef TL_IDMAP_H
#define TL_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tl__idmap_slot {
	uint64_t key; /* 0: empty; key 0 itself lives in zero_val */
	uint32_t val;
};

struct tl__idmap {
	struct tl__idmap_slot *slots; /* key and value side by side: one cache miss */
	size_t cap, count;
	bool has_zero;
	uint32_t zero_val;
};

/* @return the value of id, or UINT32_MAX. */
uint32_t tl__idmap_get(const struct tl__idmap *m, uint64_t id);
/* Bring the slot where id's lookup starts into the cache. */
void tl__idmap_prefetch(const struct tl__idmap *m, uint64_t id);
/* @return 0, or -1 when out of memory. id must not be present. */
int tl__idmap_put(struct tl__idmap *m, uint64_t id, uint32_t val);
/* @return whether id was there. */
bool tl__idmap_del(struct tl__idmap *m, uint64_t id);
void tl__idmap_free(struct tl__idmap *m);

#endif /* TL_IDMAP_H */
