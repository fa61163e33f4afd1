/*
 * recorder_int.h - the writer thread's helpers (recorder.c, modules.c,
 * stacks.c, output.c). Everything here runs on the writer thread only,
 * except where a comment says otherwise.
 */
#ifndef TL_RECORDER_INT_H
#define TL_RECORDER_INT_H

#include "core.h"

/* modules.c: write records for objects loaded or unloaded since the last
 * scan. @return 0 or a trace error. */
int tl__modules_scan(struct tl_trace_writer *w, int64_t time);
/* Whether objects were loaded or unloaded since the last scan (the
 * loader's own counters; cheap). */
bool tl__modules_stale(void);
void tl__modules_forget(void);

/* stacks.c */
uint32_t tl__stack_id(struct tl_trace_writer *w, const uint64_t *frames, uint32_t n);
void tl__stacks_forget(void);

/* output.c: the trace file. */
struct tl__output {
	int fd;
	dev_t dev;
	ino_t ino;
	char path[4096];
};

/* Create the file from the output template, safely (O_EXCL, O_NOFOLLOW,
 * mode 0600), and move its descriptor high, out of the service's way.
 * first: the first traced process, which says where its trace goes (a
 * name that had to change is always said). @return 0 or -errno (message
 * printed unless quiet). */
int tl__output_open(struct tl__output *o, bool first);
/* Whether o->fd is still our file (a service that closed every
 * descriptor may have reused the number). */
bool tl__output_intact(const struct tl__output *o);
void tl__output_close(struct tl__output *o);

#endif /* TL_RECORDER_INT_H */
