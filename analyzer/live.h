/*
 * live.h - traces followed while their recorders write them, and their
 * metrics served over HTTP (metrics.h, http.h): what `timerleak serve`
 * runs (timerleak-report --serve), and `timerleak-record --serve` beside
 * its recording, on its own traces (one per recorded process).
 *
 * The caller's loop calls tl__live_step() between its other work, with
 * tl__live_fd() among what it polls; everything happens on the caller's
 * thread.
 */
#ifndef TL_ANALYZER_LIVE_H
#define TL_ANALYZER_LIVE_H

#include "symbolize.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tl__live;

/*
 * tl__live_open - listen on addr ("HOST:PORT"); traces are added with
 * tl__live_add(). @return the server, or NULL with why.
 */
struct tl__live *tl__live_open(const char *addr, const struct tl__sym_opts *so, char *why,
			       size_t whysize);
void tl__live_close(struct tl__live *l);

/*
 * tl__live_add - follow the trace at path (which may not exist yet) and
 * serve it beside the others: one recorded process each. @return 0 or
 * -ENOMEM.
 */
int tl__live_add(struct tl__live *l, const char *path);

/* tl__live_remove - stop following path and serving it: its process's
 * series end. */
void tl__live_remove(struct tl__live *l, const char *path);

/*
 * tl__live_rotate - the trace at path goes on in next: once path is read
 * to its end record, next is read on, into the same analysis, its
 * opening records (the process, modules, timers alive, which it says
 * again to be a whole trace of its own) skipped. The source is then
 * known by next. @return 0, -ENOENT (no such trace) or -ENOMEM.
 */
int tl__live_rotate(struct tl__live *l, const char *path, const char *next);

/* The descriptor to poll (POLLIN: a client waits), and the port bound.
 * While tl__live_busy(), clients are being read or answered: the caller
 * calls tl__live_step() again within a few milliseconds. */
int tl__live_fd(const struct tl__live *l);
bool tl__live_busy(const struct tl__live *l);
int tl__live_port(const struct tl__live *l);

/* Records read so far of the trace at path; how many traces are served. */
uint64_t tl__live_records(const struct tl__live *l, const char *path);
size_t tl__live_count(const struct tl__live *l);

/*
 * tl__live_step - read what has been written since, then answer the
 * clients waiting. @return 0, or a trace error that stopped the reading
 * of one trace (*path: which; each is returned once; the requests are
 * still answered, from what was read).
 */
int tl__live_step(struct tl__live *l, const char **path);

#endif /* TL_ANALYZER_LIVE_H */
