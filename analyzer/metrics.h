/*
 * metrics.h - the analysis as it stands, in Prometheus's text exposition
 * format (version 0.0.4): what a scrape of /metrics gets.
 *
 * Per creation site, for the sites with the most live timers (at most
 * max_sites; the rest summed under site="(other)", so a series count is
 * bounded whatever the service does): timerleak_live_timers and
 * timerleak_live_timer_bytes (gauges), timerleak_created_timers_total
 * (counter), labels pid, exe, kind, site ("function file:line" of the
 * creating call). The report's findings (r->findings), counted by pattern
 * and severity: timerleak_findings. For the trace: timerleak_events_total
 * and timerleak_dropped_events_total (counters), labels pid and exe;
 * timerleak_targets, how many processes. docs/metrics.md is the
 * reference.
 */
#ifndef TL_ANALYZER_METRICS_H
#define TL_ANALYZER_METRICS_H

#include "report.h"

#include <stdio.h>

#define TL_METRICS_SITES 50

/* The metrics of the n processes r[] (each its own pid and exe labels).
 * @return 0, or -1 when out of memory. */
int tl__metrics_write(const struct tl__report *const *r, size_t n, FILE *out, size_t max_sites);

#endif /* TL_ANALYZER_METRICS_H */
