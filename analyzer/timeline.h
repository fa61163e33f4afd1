/*
 * timeline.h - timerleak-report --timeline: Chrome trace-event JSON that
 * Perfetto (ui.perfetto.dev) and chrome://tracing open: a counter of live
 * timers per site over time, and a mark for each reset without drain and
 * for each finding.
 */
#ifndef TL_TIMELINE_H
#define TL_TIMELINE_H

#include "report.h"

/* How many sites get a counter: those with findings, then the largest. */
#define TL_TIMELINE_SITES 20

/* Write the timeline to fd, which is not closed. @return 0, or a negative
 * errno when it could not be written. */
int tl__timeline_write(const struct tl__report *r, int fd);

#endif /* TL_TIMELINE_H */
