/*
 * pprof_out.h - timerleak-report --pprof: the analysis as a profile that
 * go tool pprof reads like a Go heap profile.
 */
#ifndef TL_PPROF_OUT_H
#define TL_PPROF_OUT_H

#include "report.h"

struct tl_pprof_out;

/* @return a collector, or NULL when out of memory. */
struct tl_pprof_out *tl_pprof_out_new(void);
void tl_pprof_out_free(struct tl_pprof_out *o);

/* The tl_an_live_cb to register with tl_an_at() or tl_an_at_snapshot():
 * it collects the timers in use at that moment. */
void tl_pprof_out_live(void *ctx, uint32_t site, uint64_t bytes, int64_t created);

/* Write the profile (gzip) to fd, which is not closed. @return 0 or a
 * negative errno. */
int tl_pprof_out_write(const struct tl_pprof_out *o, const struct tl_report *r, int fd);

#endif /* TL_PPROF_OUT_H */
