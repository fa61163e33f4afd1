/*
 * suppress.h - suppressions (--suppress FILE): findings a team has looked
 * at and accepted, kept out of the report and of --fail-on, so that the
 * CI gate stays on for everything else. valgrind's idea, in one line per
 * rule (docs/suppressions.md):
 *
 *   # the housekeeping ticker runs for the life of the process
 *   never-stopped-ticker  fun:housekeeping_*
 *   *                     src:vendor/legacy.c:120
 *
 * A rule is a pattern (a finding's stable name, or *) and a place: fun:NAME
 * (a function anywhere in the finding's stacks; * and ? match as in shell
 * globs), src:FILE:LINE (a frame at that line of a file whose path ends
 * with FILE) or src:FILE (any line of it).
 */
#ifndef TL_SUPPRESS_H
#define TL_SUPPRESS_H

#include "report.h"

struct tl__suppress;

/*
 * tl__suppress_load - read a suppressions file.
 * @return the rules, or NULL with a message in err (the file cannot be
 *         read, or FILE:LINE does not parse: "what is wrong, and what a
 *         rule looks like").
 */
struct tl__suppress *tl__suppress_load(const char *path, char *err, size_t errlen);
/* NULL is fine. */
void tl__suppress_free(struct tl__suppress *s);

/* The rule (its line in the file) that suppresses finding f, or 0. */
int tl__suppress_match(const struct tl__suppress *s, const struct tl__report *r,
		      const struct tl__finding *f);

/* Split findings f[0..*n) in place: the ones the rules match move, with
 * suppressed_by set, to a malloc'ed array at *out (*nout of them; free()
 * it), the others stay in f, in order. s NULL moves none. @return 0 or -1
 * when out of memory (f then partly split: the caller gives up). */
int tl__suppress_split(const struct tl__suppress *s, const struct tl__report *r,
		      struct tl__finding *f, size_t *n, struct tl__finding **out, size_t *nout);

#endif /* TL_SUPPRESS_H */
