/*
 * tl_pprof.h - a profile.proto writer (github.com/google/pprof/proto/
 * profile.proto), gzip-compressed, as `go tool pprof` reads it.
 *
 * The caller adds mappings, functions and locations (each returning its id,
 * from 1), then samples that reference locations; tl_pprof_write() encodes
 * the whole profile. The string table's entry 0 is the empty string, ids
 * start at 1, and every reference is checked to resolve before anything
 * is written. Output is deterministic: the same calls give the same bytes
 * (the gzip header carries no time and no name).
 *
 * Not thread-safe; one profile per builder.
 */
#ifndef TL_PPROF_H
#define TL_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tl_pprof;

struct tl_pprof_value_type {
	const char *type, *unit; /* e.g. "inuse_space", "bytes" */
};

/*
 * tl_pprof_new - a profile whose samples carry one value per sample type,
 * in this order. @return the builder, or NULL when out of memory.
 */
struct tl_pprof *tl_pprof_new(const struct tl_pprof_value_type *types, size_t ntypes);
void tl_pprof_free(struct tl_pprof *p);

/* Profile-wide fields. */
void tl_pprof_set_period(struct tl_pprof *p, const char *type, const char *unit, int64_t period);
void tl_pprof_set_time(struct tl_pprof *p, int64_t time_nanos, int64_t duration_nanos);
/* The sample type pprof shows by default (one of the types). */
void tl_pprof_set_default(struct tl_pprof *p, const char *type);
/* @return 0 or -1 when out of memory. */
int tl_pprof_add_comment(struct tl_pprof *p, const char *comment);

/*
 * tl_pprof_mapping - an object in the profiled address space. Flagged as
 * fully symbolized (functions, files, lines, inlined frames) when
 * symbolized is true, so pprof never tries to symbolize it again.
 * @return its id (>= 1), or 0 when out of memory.
 */
uint64_t tl_pprof_mapping(struct tl_pprof *p, uint64_t start, uint64_t limit, uint64_t offset,
			  const char *file, const char *build_id, bool symbolized);

/* @return the id of the function with these names and file (the same id
 * for the same arguments), or 0 when out of memory. */
uint64_t tl_pprof_function(struct tl_pprof *p, const char *name, const char *file,
			   int64_t start_line);

struct tl_pprof_line {
	uint64_t function; /* id from tl_pprof_function */
	int64_t line;
};

/*
 * tl_pprof_location - an address and its source lines, innermost inlined
 * call first (pprof's order). The same mapping and address give the same
 * id. @return the id, or 0 when out of memory or a reference is unknown.
 */
uint64_t tl_pprof_location(struct tl_pprof *p, uint64_t mapping, uint64_t address,
			   const struct tl_pprof_line *lines, size_t nlines);

struct tl_pprof_label {
	const char *key;
	const char *str; /* a string label, or NULL for a numeric one */
	int64_t num;
	const char *unit; /* numeric labels: e.g. "seconds", or NULL */
};

/*
 * tl_pprof_sample - values (one per sample type) at a stack of location
 * ids, leaf first. @return 0, or -1 when out of memory or a location is
 * unknown.
 */
int tl_pprof_sample(struct tl_pprof *p, const uint64_t *locations, size_t nlocations,
		    const int64_t *values, const struct tl_pprof_label *labels, size_t nlabels);

/*
 * tl_pprof_write - encode the profile, gzip it, write it to path (created
 * or truncated, mode 0644). @return 0, or a negative errno.
 */
int tl_pprof_write(struct tl_pprof *p, const char *path);

/* The same to an open descriptor, which is not closed. */
int tl_pprof_write_fd(struct tl_pprof *p, int fd);

/* The encoded profile, uncompressed, for tests: a malloc'ed buffer.
 * @return 0 or -ENOMEM. */
int tl_pprof_encode(struct tl_pprof *p, uint8_t **out, size_t *len);

#endif /* TL_PPROF_H */
