/*
 * feed.h - records into the symbolizer's module map and the analysis, in
 * trace order: what the report, and the server that follows a trace, do
 * with each record.
 *
 * One call site, one finding: the compiler may split one call on one
 * source line into several call instructions (unrolled loops, duplicated
 * tails), whose stacks differ by address only. Each stack is symbolized
 * as it arrives; one whose every frame has the function, file and line of
 * an earlier stack's is made an alias of it (tl__an_stack_alias). Frames
 * that cannot be symbolized keep their address, so they never merge.
 */
#ifndef TL_ANALYZER_FEED_H
#define TL_ANALYZER_FEED_H

#include "analysis.h"
#include "idmap.h"
#include "symbolize.h"

struct tl__feed {
	struct tl__idmap first; /* signature hash -> the first stack id with it */
	uint64_t *check;       /* a second hash per entry, against collisions */
	size_t ncheck, capcheck;
	int64_t time;          /* of the last timed record: for the module map */
};

/* One record. @return 0 or TL_TRACE_E_NOMEM. */
int tl__feed_one(struct tl__feed *st, const struct tl_record *rec, struct tl__analysis *a,
		 struct tl__sym *sym);
void tl__feed_free(struct tl__feed *st);

#endif /* TL_ANALYZER_FEED_H */
