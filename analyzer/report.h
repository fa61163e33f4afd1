/*
 * report.h - what the report writers share: the analysis, its findings,
 * the symbolizer, and how a stack or a series becomes text.
 */
#ifndef TL_REPORT_H
#define TL_REPORT_H

#include "analysis.h"
#include "detect.h"
#include "symbolize.h"

#include <stdio.h>

struct tl__report {
	const char *path;                     /* the trace file */
	const struct tl__analysis *a;
	const struct tl__finding *findings;
	size_t nfindings;
	struct tl__sym *sym;
	const struct tl_trace_reader_stats *st;
	unsigned max_frames;                  /* source frames shown per stack */
	const struct tl__finding *suppressed;  /* findings --suppress rules matched */
	size_t nsuppressed;
	const char *suppress_path;            /* the --suppress file, or NULL */
};

/* The source frames of stack id, inlined calls expanded, leaf first, at
 * most max. @return how many (0: unknown stack). */
int tl__report_frames(const struct tl__report *r, uint32_t stack, struct tl__frame *out, int max);

/* The function of a stack's first frame, for fix lines (tl__leaf_namer). */
/* The function a site's Go AfterFunc timers run (its code's frame), or
 * 0 frames when not known. @return 1 or 0. */
int tl__report_callback(const struct tl__report *r, const struct tl__an_site *s,
			struct tl__frame *out);

const char *tl__report_leaf_name(void *report, uint32_t stack);

/* A sparkline of a site's live timers over the trace, width cells. */
void tl__report_sparkline(const struct tl__an_series *s, char *out, size_t size, int width);

/* A path as people want to read it: relative to the working directory
 * when under it. */
const char *tl__report_short_path(const char *path);

/* s as a JSON string (RFC 8259), quotes included. Paths and command lines
 * are bytes, not always UTF-8: each byte that is not part of a valid UTF-8
 * sequence is written as U+FFFD, so the document is always valid UTF-8.
 * NULL writes "". */
void tl__report_json_str(FILE *out, const char *s);

/* The writers. @return 0, or -1 if out could not be written. */
int tl__report_text(const struct tl__report *r, FILE *out);
int tl__report_json(const struct tl__report *r, FILE *out);

#endif /* TL_REPORT_H */
