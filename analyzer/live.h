/*
 * live.h - a trace followed while its recorder writes it, and its metrics
 * served over HTTP (metrics.h, http.h): what `timerleak serve` runs
 * (timerleak-report --serve), and `timerleak-record --serve` beside its
 * recording, on its own trace.
 *
 * The caller's loop calls tl__live_step() between its other work, with
 * tl__live_fd() among what it polls; everything happens on the caller's
 * thread.
 */
#ifndef TL_ANALYZER_LIVE_H
#define TL_ANALYZER_LIVE_H

#include "symbolize.h"

#include <stddef.h>
#include <stdint.h>

struct tl__live;

/*
 * tl__live_open - listen on addr ("HOST:PORT") for the trace at path,
 * which may not exist yet. @return the server, or NULL with why.
 */
struct tl__live *tl__live_open(const char *path, const char *addr, const struct tl__sym_opts *so,
			       char *why, size_t whysize);
void tl__live_close(struct tl__live *l);

/* The descriptor to poll (POLLIN: a client waits), and the port bound. */
int tl__live_fd(const struct tl__live *l);
int tl__live_port(const struct tl__live *l);

/* Records read so far. */
uint64_t tl__live_records(const struct tl__live *l);

/*
 * tl__live_step - read what has been written since, then answer the
 * clients waiting. @return 0, or a trace error that stops the reading
 * (the requests are still answered, from what was read).
 */
int tl__live_step(struct tl__live *l);

#endif /* TL_ANALYZER_LIVE_H */
