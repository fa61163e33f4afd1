/*
 * outfile.c - see outfile.h.
 */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Not a regular file (/dev/stdout, a FIFO, /dev/full): written in place,
 * as such a file cannot be replaced by renaming another over it. */
static int open_in_place(struct tl__outfile *o, const char *path)
{
	*o = (struct tl__outfile){.fd = open(path, O_WRONLY | O_CLOEXEC)};
	return o->fd < 0 ? -errno : 0;
}

/* path through its symlinks, also to a target that does not exist yet:
 * the file written is the target, and the link stays a link. A malloc'ed
 * string, or NULL when out of memory. */
static char *follow(const char *path)
{
	char *p = strdup(path);

	for (int hops = 0; p && hops < 40; hops++) {
		char target[4096], *next;
		const char *slash;
		struct stat st;
		ssize_t n;

		if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode) ||
		    (n = readlink(p, target, sizeof(target) - 1)) < 0)
			break;
		target[n] = 0;
		slash = strrchr(p, '/');
		if (target[0] == '/' || !slash)
			next = strdup(target);
		else if (asprintf(&next, "%.*s%s", (int)(slash - p) + 1, p, target) < 0)
			next = NULL;
		free(p);
		p = next;
	}
	return p;
}

int tl__outfile_open(struct tl__outfile *o, const char *given)
{
	char *path = follow(given);
	const char *slash = path ? strrchr(path, '/') : NULL;
	struct stat st;
	mode_t mask;
	int err;

	*o = (struct tl__outfile){.fd = -1};
	if (!path)
		return -ENOMEM;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		err = open_in_place(o, path);
		free(path);
		return err;
	}
	o->path = path;
	if (asprintf(&o->tmp, "%.*s.%s.XXXXXX", slash ? (int)(slash - path) + 1 : 0, path,
		     slash ? slash + 1 : path) < 0) {
		o->tmp = NULL;
		tl__outfile_abort(o);
		return -ENOMEM;
	}
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		err = -errno;
		free(o->tmp);
		o->tmp = NULL;
		tl__outfile_abort(o);
		return err;
	}
	mask = umask(0);
	umask(mask);
	fchmod(o->fd, 0666 & ~mask);
	return 0;
}

int tl__outfile_commit(struct tl__outfile *o)
{
	int err = 0;

	if (o->fd >= 0 && close(o->fd) != 0)
		err = -errno;
	o->fd = -1;
	if (!err && o->tmp && rename(o->tmp, o->path) != 0)
		err = -errno;
	if (err) {
		tl__outfile_abort(o);
		return err;
	}
	free(o->path);
	free(o->tmp);
	*o = (struct tl__outfile){.fd = -1};
	return 0;
}

void tl__outfile_abort(struct tl__outfile *o)
{
	int saved = errno;

	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp)
		unlink(o->tmp);
	free(o->path);
	free(o->tmp);
	*o = (struct tl__outfile){.fd = -1};
	errno = saved;
}

bool tl__outfile_is(const char *path, const struct stat *st)
{
	struct stat p;

	return stat(path, &p) == 0 && p.st_dev == st->st_dev && p.st_ino == st->st_ino;
}
