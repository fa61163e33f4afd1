/*
 * fdguard.c - descriptors the recorder owns, kept out of the service's way.
 *
 * Two kinds: the trace file (writer.c moves it to a high number), and the
 * pipe libunwind opens at its first unwind to check memory before it
 * reads it. libunwind keeps using that pipe's numbers for the life of the
 * process, so they must neither shift the service's own descriptor
 * numbers (the pipe would take 3 and 4, the first a service opens) nor
 * be closed by a service that closes "everything": libunwind would then
 * read from and write into whatever file the service opens next at those
 * numbers. So the first unwind happens while every low number is taken
 * by a placeholder, and the close hooks skip guarded descriptors.
 */
#include "core.h"
#include "real.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define MAX_GUARDED 8

static int guarded[MAX_GUARDED];
static _Atomic int nguarded;

static void guard(int fd)
{
	int i = atomic_load(&nguarded);

	if (i < MAX_GUARDED) {
		guarded[i] = fd;
		atomic_store(&nguarded, i + 1);
	}
}

bool tl__fd_guarded(int fd)
{
	int n = atomic_load_explicit(&nguarded, memory_order_acquire);

	if (fd < 0)
		return false;
	if (fd == tl__trace_fd())
		return true;
	for (int i = 0; i < n; i++)
		if (guarded[i] == fd)
			return true;
	return false;
}

/* The number the recorder's own descriptors go above: near the top of the
 * limit, below 1024 where possible (select() users). 0: too few to try. */
static int high_mark(void)
{
	struct rlimit rl;
	long hi = 1000;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur - 64 < hi)
		hi = (long)rl.rlim_cur - 64;
	return hi > 64 ? (int)hi : 0;
}

/*
 * Run init (libunwind's first unwind) with every free number below the
 * high mark taken, then guard whatever pipe it opened. Costs one dup per
 * free number, once, at start-up.
 */
void tl__fdguard_run_high(void (*init)(void))
{
	int hi = high_mark(), null, *held = NULL, n = 0;

	if (!hi || (null = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
	    !(held = malloc((size_t)hi * sizeof(*held)))) {
		init();
		free(held);
		return;
	}
	for (;;) {
		int fd = tl__libc.fcntl(null, F_DUPFD_CLOEXEC, 0);

		if (fd < 0)
			break;
		if (fd >= hi) {
			tl__libc.close(fd);
			break;
		}
		held[n++] = fd;
	}
	init();
	while (n > 0)
		tl__libc.close(held[--n]);
	tl__libc.close(null);
	free(held);
	for (int fd = hi; fd < hi + 32; fd++) {
		struct stat st;

		if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
			guard(fd);
	}
}

/* close_range over [first, last], stepping around guarded descriptors. */
int tl__fdguard_close_range(unsigned first, unsigned last, int flags)
{
	int n = atomic_load_explicit(&nguarded, memory_order_acquire), ng = 0, r = 0;
	unsigned g[MAX_GUARDED + 1], lo = first;

	for (int i = 0; i < n; i++)
		g[ng++] = (unsigned)guarded[i];
	if (tl__trace_fd() >= 0)
		g[ng++] = (unsigned)tl__trace_fd();
	for (int i = 1; i < ng; i++) /* insertion sort: a handful of numbers */
		for (int k = i; k > 0 && g[k - 1] > g[k]; k--) {
			unsigned t = g[k];

			g[k] = g[k - 1];
			g[k - 1] = t;
		}
	for (int i = 0; i < ng && r == 0; i++) {
		if (g[i] < lo || g[i] > last)
			continue;
		if (g[i] > lo)
			r = tl__libc.close_range(lo, g[i] - 1, flags);
		if (g[i] == last)
			return r;
		lo = g[i] + 1;
	}
	return r == 0 ? tl__libc.close_range(lo, last, flags) : r;
}
