/*
 * td.h - the few helpers the testdata programs share: fatal errors, option
 * values, clocks, and what malloc and the kernel hold.
 *
 * Header-only, so that each program is one .c file plus this one and a
 * test can build any of them alone. Nothing here creates a timer: every
 * creating call stays in the program, in a function of its own, so that
 * the profiler reports a site that reads like a service's.
 */
#ifndef TD_H
#define TD_H

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TD_MS 1000000LL /* nanoseconds */

/*
 * A function the profiler's tests find by name in a stack: the request
 * handlers and the functions holding a creating call. Never inlined, so
 * it keeps its frame, and never cloned, so that its symbol is its name
 * (GCC would otherwise emit handle_request.constprop.0).
 */
#ifdef __clang__
#define TD_SITE __attribute__((noinline))
#else
#define TD_SITE __attribute__((noinline, noclone))
#endif

/* Print "program: message[: strerror(err)]" and exit 1. err 0 adds no
 * reason. */
static inline void __attribute__((noreturn, format(printf, 2, 3)))
td_die(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	exit(1);
}

/* The value of option opt, a whole number in [min, max], or exit 2. */
static inline long td_number(const char *arg, char opt, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "%s: -%c wants a number from %ld to %ld, not \"%s\"\n",
			program_invocation_short_name, opt, min, max, arg);
		exit(2);
	}
	return v;
}

/* CLOCK_MONOTONIC in nanoseconds, for the programs that use libc timers
 * only (the others use gt_now(), the runtime's clock). */
static inline int64_t td_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline struct timespec td_timespec(int64_t ns)
{
	return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
}

static inline void td_sleep(int64_t ns)
{
	struct timespec ts = td_timespec(ns);

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Bytes malloc has handed out and not taken back, in every arena:
 * uordblks counts the small chunks, hblkhd the blocks malloc mmapped on
 * their own, which is where a large array (a timer heap of 100,000
 * entries) lives. Either alone misses part of what a program holds.
 */
static inline int64_t td_heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (int64_t)(mi.uordblks + mi.hblkhd);
}

/*
 * Open descriptors of this process whose /proc/self/fd link reads target
 * (e.g. "anon_inode:[timerfd]"): what the kernel holds, counted apart from
 * what the program believes it opened. @return the count, or -1.
 */
static inline int td_count_fds(const char *target)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char link[128];
	ssize_t len;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		len = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = '\0';
		n += strcmp(link, target) == 0;
	}
	closedir(d);
	return n;
}

#endif /* TD_H */
