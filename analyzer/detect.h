/*
 * detect.h - the leak detectors: an analysis in, findings out.
 *
 * docs/detectors.md defines each pattern, its thresholds, and the testdata
 * program that triggers it and the look-alike that must not.
 */
#ifndef TL_DETECT_H
#define TL_DETECT_H

#include "analysis.h"

#include <sys/types.h>

enum tl__severity {
	TL_SEV_NOTE = 0,    /* worth knowing, not wrong */
	TL_SEV_WARNING = 1, /* a bug or a waste, not growing memory */
	TL_SEV_LEAK = 2,    /* timers (and what they hold) kept far beyond their use */
};

struct tl__detect_opts {
	uint64_t min_count;       /* growth after start-up that makes a leak (3) */
	uint64_t churn_min;       /* creations before a site can be churn (100) */
	double abandon_ratio;     /* share abandoned before firing for churn (0.9) */
	uint64_t retained_min;    /* peak pending timers that make churn a leak (100) */
	uint64_t callback_min;    /* pending callbacks at once for retention (20) */
	uint64_t callback_bytes;  /* bytes those hold for retention (1 MiB) */
};

void tl__detect_defaults(struct tl__detect_opts *o);

struct tl__finding {
	const char *pattern;   /* stable name: "never-stopped-ticker", ... */
	const char *title;     /* for people: "never-stopped ticker" */
	int severity;          /* enum tl__severity */
	bool uncertain;        /* dropped events could change this finding */
	uint32_t site;         /* index of the creation site */
	uint32_t call_stack;   /* the offending call's stack where it is not the creation
				  (a reset), else 0 */
	uint64_t count;        /* what the finding counts (see what) */
	const char *what;      /* "tickers still running at the end", ... */
	char detail[320];      /* one line of numbers */
	char window[256];      /* what the verdict is based on: the window it saw, and how
				  the site's timers grew in it ("" when the verdict is not
				  about what was left at the end) */
	char fix[512];         /* one line, in the program's terms */
	int suppressed_by;     /* the line of the --suppress rule that matched it, or 0 */
};

/* Names the function a stack's first frame is in, for the fix lines;
 * NULL when unknown. */
typedef const char *(*tl__leaf_namer)(void *ctx, uint32_t stack);

/*
 * tl__detect - run every detector over a finished analysis.
 *
 * @return the number of findings, most severe first (then by bytes and
 *         count), in a malloc'ed array at *out (free() it); -1 when out of
 *         memory.
 */
ssize_t tl__detect(const struct tl__analysis *a, const struct tl__detect_opts *o,
		  tl__leaf_namer namer, void *ctx, struct tl__finding **out);

const char *tl__severity_name(int severity);

#endif /* TL_DETECT_H */
