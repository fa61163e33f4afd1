/*
 * fdguard.c - descriptors the recorder owns, kept out of the service's way.
 *
 * Two kinds: the trace file (recorder.c moves it to a high number), and the
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

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <sys/resource.h>

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

/* libunwind's code, [lo, hi): a pipe2() called from there is its own. */
static uintptr_t unw_lo, unw_hi;

static int find_text(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t base = (uintptr_t)data;

	(void)size;
	if (info->dlpi_addr != base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			unw_lo = info->dlpi_addr + ph->p_vaddr;
			unw_hi = unw_lo + ph->p_memsz;
			return 1;
		}
	}
	return 1;
}

void tl__fdguard_init(const void *unwinder_fn)
{
	Dl_info di;

	if (dladdr(unwinder_fn, &di) && di.dli_fbase)
		dl_iterate_phdr(find_text, di.dli_fbase);
}

bool tl__fdguard_from_unwinder(const void *caller)
{
	uintptr_t c = (uintptr_t)caller;

	return c >= unw_lo && c < unw_hi;
}

/*
 * libunwind's pipe, moved up to the high mark and guarded: five system
 * calls, at its first unwind (and again if it ever reopens the pipe).
 */
int tl__fdguard_pipe2(int fds[2], int flags)
{
	int r = tl__libc.pipe2(fds, flags), hi = high_mark();

	if (r != 0 || !hi)
		return r;
	for (int i = 0; i < 2; i++) {
		int moved = tl__libc.fcntl(fds[i], (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, hi);

		if (moved >= 0) {
			tl__libc.close(fds[i]);
			fds[i] = moved;
		}
		guard(fds[i]);
	}
	return 0;
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
