/*
 * clock.c - see clock.h.
 */
#include "clock.h"
#include "core.h"
#include "real.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tl__clock tl__clk;

/* The writer thread's own. */
static struct {
	bool usable;      /* the TSC may be used here */
	uint64_t tsc_a;   /* the first measurement: the rate is taken from it */
	int64_t ns_a;
	int64_t next;     /* CLOCK_MONOTONIC of the next measurement */
} cal;

/*
 * The rate's error is about the jitter of one measurement (well under a
 * microsecond) over the baseline since the first one; a converted time
 * drifts by that error times the time since its base. So a new base is
 * taken once as much time has passed since the last as the baseline had
 * then: 10, 20, 40 ms... up to every second. The drift then stays about
 * the jitter of one measurement.
 */
#define FIRST_AFTER_NS 10000000   /* 10 ms of baseline before the first rate */
#define REBASE_MAX_NS  1000000000 /* then a new base at least every second */

/* Whether text holds word as a whole word. */
static bool has_word(const char *text, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = text; (p = strstr(p, word)) != NULL; p += len) {
		bool start = p == text || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n';
		char end = p[len];

		if (start && (end == ' ' || end == '\n' || end == '\0'))
			return true;
	}
	return false;
}

/* Whether a small text file's first max bytes hold each of words[]
 * (NULL-terminated) as a whole word. One open, one read. */
static bool file_has(const char *path, const char *const *words, size_t max)
{
	char buf[16384];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, max < sizeof(buf) - 1 ? max : sizeof(buf) - 1);
	tl__libc.close(fd); /* not our own close() hook */
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (; *words; words++)
		if (!has_word(buf, *words))
			return false;
	return true;
}

void tl__clock_init(void)
{
	cal.usable = false;
#if defined(__x86_64__)
	if (tl__cfg.clock_monotonic)
		return;
	static const char *const tsc[] = {"tsc", NULL};
	static const char *const flags[] = {"constant_tsc", "nonstop_tsc", NULL};

	/* The first CPU's flags line is within the first few KB. */
	cal.usable = file_has("/sys/devices/system/clocksource/clocksource0/current_clocksource",
			      tsc, 64) &&
		     file_has("/proc/cpuinfo", flags, 8192);
#endif
}

#if defined(__x86_64__)
/* A TSC read and CLOCK_MONOTONIC at the same moment: the TSC between two
 * clock reads, retried when they are far apart (preempted between). */
static void sample(uint64_t *tsc, int64_t *ns)
{
	int64_t best = INT64_MAX;

	for (int i = 0; i < 4; i++) {
		int64_t a = tl__clock_gettime();
		uint64_t t = __rdtsc();
		int64_t b = tl__clock_gettime();

		if (b - a < best) {
			best = b - a;
			*tsc = t;
			*ns = a + (b - a) / 2;
		}
		if (best < 2000)
			break;
	}
}

static void publish(uint64_t mult, uint64_t tsc0, int64_t ns0)
{
	uint32_t s = atomic_load_explicit(&tl__clk.seq, memory_order_relaxed);

	/* Release stores, not a fence (see tl__now()): a reader that sees any
	 * new field sees the odd seq too. */
	atomic_store_explicit(&tl__clk.seq, s + 1, memory_order_relaxed);
	atomic_store_explicit(&tl__clk.tsc0, tsc0, memory_order_release);
	atomic_store_explicit(&tl__clk.ns0, ns0, memory_order_release);
	atomic_store_explicit(&tl__clk.mult, mult, memory_order_release);
	atomic_store_explicit(&tl__clk.seq, s + 2, memory_order_release);
}
#endif

void tl__clock_tick(void)
{
#if defined(__x86_64__)
	uint64_t tsc;
	int64_t ns, now;

	if (!cal.usable)
		return;
	now = tl__clock_gettime();
	if (!cal.ns_a) {
		sample(&cal.tsc_a, &cal.ns_a);
		cal.next = cal.ns_a + FIRST_AFTER_NS;
		return;
	}
	if (now < cal.next)
		return;
	sample(&tsc, &ns);
	if (tsc <= cal.tsc_a || ns <= cal.ns_a) {
		/* The TSC went back (a migration the kernel missed?): stop. */
		cal.usable = false;
		publish(0, 0, 0);
		return;
	}
	publish((uint64_t)(((unsigned __int128)(ns - cal.ns_a) << 32) / (tsc - cal.tsc_a)), tsc,
		ns);
	cal.next = ns + (ns - cal.ns_a < REBASE_MAX_NS ? ns - cal.ns_a : REBASE_MAX_NS);
#endif
}

bool tl__clock_uses_tsc(void)
{
	return atomic_load_explicit(&tl__clk.mult, memory_order_relaxed) != 0;
}
