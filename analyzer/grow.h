/*
 * grow.h - arrays that grow by doubling, as the analyzer keeps its sites,
 * stacks, findings and modules.
 */
#ifndef TL_GROW_H
#define TL_GROW_H

#include <stdint.h>
#include <stdlib.h>

/*
 * Room for n elements of size bytes in array p of *cap: p itself when it
 * has it, else p reallocated to the next doubling of *cap (first when
 * empty) and *cap updated. @return the array, or NULL when out of memory
 * (p and *cap then unchanged).
 */
static inline void *tl__grow(void *p, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t ncap = *cap ? *cap : first;
	void *q;

	if (n <= *cap)
		return p;
	while (ncap < n) {
		if (ncap > SIZE_MAX / 2)
			return NULL;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / size || !(q = realloc(p, ncap * size)))
		return NULL;
	*cap = ncap;
	return q;
}

#endif /* TL_GROW_H */
