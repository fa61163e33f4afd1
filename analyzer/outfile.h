/*
 * outfile.h - the report's output files (--pprof, --timeline): written
 * whole or not at all, and never over the trace they come from.
 *
 * Each is written to a temporary file in the same directory, which is
 * renamed over the name asked for once complete: a failure (a full disk)
 * leaves no partial file, and an existing file of that name is kept until
 * the new one is whole. A symlink is followed (the link stays); what is
 * not a regular file (/dev/stdout, a FIFO) is written in place.
 */
#ifndef TL_OUTFILE_H
#define TL_OUTFILE_H

#include <stdbool.h>
#include <sys/stat.h>

struct tl__outfile {
	char *path; /* the name asked for */
	char *tmp;  /* the temporary file beside it; NULL when written in place */
	int fd;     /* open on tmp, -1 when none */
};

/* Create the temporary file for path (mode 0666 less the umask, as a
 * plain create would give). @return 0 or a negative errno. */
int tl__outfile_open(struct tl__outfile *o, const char *path);

/* Put the written file in place of path. The descriptor must not be used
 * afterwards (it is closed here). @return 0, or a negative errno, the
 * temporary file then removed. */
int tl__outfile_commit(struct tl__outfile *o);

/* Give up: close and remove the temporary file. Fine to call twice, or
 * after tl__outfile_commit(). */
void tl__outfile_abort(struct tl__outfile *o);

/* Whether path names the file st describes (the same device and inode:
 * through a link, a symlink or another spelling). */
bool tl__outfile_is(const char *path, const struct stat *st);

#endif /* TL_OUTFILE_H */
