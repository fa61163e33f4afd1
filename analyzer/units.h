/*
 * units.h - numbers for people: bytes, durations, counts.
 */
#ifndef TL_UNITS_H
#define TL_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "152 B", "14.8 KB", "4.2 MB" (powers of 1024). @return buf. */
char *tl__fmt_bytes(char *buf, size_t size, uint64_t bytes);
/* "250 ns", "1.5 µs", "20 ms", "1.5 s", "5 min", "1 h". @return buf. */
char *tl__fmt_ns(char *buf, size_t size, double ns);
/* "100,000". @return buf. */
char *tl__fmt_count(char *buf, size_t size, uint64_t n);

#endif /* TL_UNITS_H */
