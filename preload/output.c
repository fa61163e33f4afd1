/*
 * output.c - the trace file: created safely and kept out of the service's
 * way.
 *
 * The file is created with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600: an
 * existing file or a symlink planted at the path is never written through.
 * Its descriptor is moved to a high number, close-on-exec, and the close
 * and dup2 hooks refuse to let the service close or replace it (a daemon
 * closing "every descriptor" would otherwise make our writes land in a
 * file of its own that reused the number). Before every chunk the writer
 * checks the descriptor still is our file.
 */
#include "real.h"
#include "recorder_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void exe_name(char *out, size_t size)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	const char *base;

	if (n <= 0) {
		snprintf(out, size, "unknown");
		return;
	}
	buf[n] = 0;
	base = strrchr(buf, '/');
	snprintf(out, size, "%.200s", base ? base + 1 : buf);
}

/* A descriptor number near the top of the limit: services count up from
 * 3, and select() users stay below 1024 when they can. */
static int move_high(int fd)
{
	struct rlimit rl;
	long want = 1000;
	int hi;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur - 64 < want)
		want = (long)rl.rlim_cur - 64;
	if (want <= fd)
		return fd;
	hi = tl__libc.fcntl(fd, F_DUPFD_CLOEXEC, (int)want);
	if (hi < 0)
		return fd;
	tl__libc.close(fd);
	return hi;
}

/* "x.tlk" -> "x.K.tlk" (or "x" -> "x.K"), replacing an earlier number. */
static int numbered(char *path, size_t size, int k)
{
	char base[4096];
	size_t n = strlen(path);
	const char *ext = n > 4 && strcmp(path + n - 4, ".tlk") == 0 ? ".tlk" : "";
	char *dot;

	snprintf(base, sizeof(base), "%.*s", (int)(n - strlen(ext)), path);
	if (k > 2 && (dot = strrchr(base, '.')))
		*dot = 0; /* the previous try's number */
	return snprintf(path, size, "%s.%d%s", base, k, ext) < (int)size ? 0 : -1;
}

int tl__output_open(struct tl__output *o, bool first)
{
	char exe[256], wanted[sizeof(o->path)];
	struct stat st;
	int fd;

	exe_name(exe, sizeof(exe));
	if (tl__config_output_path(o->path, sizeof(o->path), (int)getpid(), exe,
				   (long)time(NULL)) != 0) {
		if (!tl__cfg.quiet)
			fprintf(stderr, "timerleak: TIMERLEAK_OUTPUT is too long; not recording\n");
		return -ENAMETOOLONG;
	}
	memcpy(wanted, o->path, sizeof(wanted));
	fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	/* A program that execs itself keeps its pid and name: its new image
	 * gets NAME.2.tlk and so on, never the old file. */
	for (int k = 2; fd < 0 && errno == EEXIST && k < 100; k++) {
		if (numbered(o->path, sizeof(o->path), k) != 0)
			break;
		fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		int err = errno;

		if (!tl__cfg.quiet)
			fprintf(stderr, "timerleak: cannot create %s: %s; not recording\n", o->path,
				strerror(err));
		return -err;
	}
	fd = move_high(fd);
	if (fstat(fd, &st) != 0) {
		tl__libc.close(fd);
		return -EIO;
	}
	/* Whoever reads the trace must find it: where it goes is said once,
	 * by the first process, and a name that had to change always is. */
	if (!tl__cfg.quiet && strcmp(wanted, o->path) != 0)
		fprintf(stderr,
			"timerleak: WARNING: %s already exists (or is a symlink); this trace "
			"(pid %d) goes to %s instead\n",
			wanted, (int)getpid(), o->path);
	else if (!tl__cfg.quiet && first && tl__cfg.announce)
		fprintf(stderr, "timerleak: recording pid %d to %s\n", (int)getpid(), o->path);
	o->fd = fd;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	return 0;
}

bool tl__output_intact(const struct tl__output *o)
{
	struct stat st;

	return o->fd >= 0 && fstat(o->fd, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino;
}

void tl__output_close(struct tl__output *o)
{
	if (o->fd >= 0)
		tl__libc.close(o->fd);
	o->fd = -1;
}
