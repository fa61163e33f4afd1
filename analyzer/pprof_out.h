/*
 * pprof_out.h - timerleak-report --pprof: the analysis as a profile that
 * go tool pprof reads like a Go heap profile.
 */
#ifndef TL_PPROF_OUT_H
#define TL_PPROF_OUT_H

#include "report.h"

#include <stddef.h>

/*
 * tl__pprof_out_write - the profile of the report's analysis, findings and
 * symbols, gzip'ed, to fd (not closed): alloc_* from every timer each site
 * created, inuse_* from the sites' live timers at the moment the analysis
 * was asked for (tl__an_at(); the end by default), the same numbers the
 * text and JSON reports give. @return 0 or a negative errno.
 */
int tl__pprof_out_write(const struct tl__report *r, int fd);

/* The same of several processes in one profile, each sample labelled
 * with its process's pid (when nrep > 1). nrep >= 1. */
int tl__pprof_out_write_many(const struct tl__report *const *reps, size_t nrep, int fd);

#endif /* TL_PPROF_OUT_H */
