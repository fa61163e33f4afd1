/*
 * events.h - timerleak-report --events: every record of a trace as one line
 * of text, for people and for grep.
 *
 * The lines are stable output (tests/trace_cli/ holds examples): a time in
 * seconds relative to the process record's mono_ns ("-" for records without
 * a time: thread and stack), the thread for events, the record name, then
 * key=value fields. Strings are quoted, with '"', '\\' and bytes outside
 * printable ASCII escaped as \" \\ \xNN.
 */
#ifndef TL_REPORT_EVENTS_H
#define TL_REPORT_EVENTS_H

#include "tl_trace.h"

#include <stdio.h>

/*
 * tl__events_print - print each record r returns to out, then one summary
 * line of the reader's stats ("summary chunks=... end=clean|truncated").
 *
 * @return 0 when the trace was read to its end (clean, truncated or with
 *         damaged chunks skipped: see tl_trace_reader_stats()), or the
 *         negative TL_TRACE_E_* error that stopped reading (no summary line
 *         is printed then).
 */
int tl__events_print(struct tl_trace_reader *r, FILE *out);

#endif /* TL_REPORT_EVENTS_H */
