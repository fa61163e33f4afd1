/*
 * config.c - the settings, from the environment (README, "Configuration";
 * timerleak(1)).
 *
 * Read once in the constructor. Each setting takes exact values only: a
 * value that is not one of them gets one message on stderr, naming what it
 * takes, and the default, so a typo is noticed without stopping the
 * service. An empty value is the default.
 */
#include "core.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tl__config tl__cfg;

static void warn(const char *var, const char *value, const char *takes, const char *dflt)
{
	if (!tl__cfg.quiet)
		fprintf(stderr, "timerleak: %s=%s: not %s; using %s\n", var, value, takes, dflt);
}

/* A whole number in [lo, hi], digits only. */
static unsigned number(const char *var, unsigned dflt, unsigned lo, unsigned hi)
{
	const char *v = getenv(var);
	char takes[64], d[16];
	unsigned long n = 0;

	if (!v || !*v)
		return dflt;
	for (const char *p = v; *p && n <= hi; p++)
		n = *p >= '0' && *p <= '9' ? n * 10 + (unsigned long)(*p - '0') : (unsigned long)hi + 1;
	if (n < lo || n > hi || strlen(v) > 10) {
		snprintf(takes, sizeof(takes), "a number from %u to %u", lo, hi);
		snprintf(d, sizeof(d), "%u", dflt);
		warn(var, v, takes, d);
		return dflt;
	}
	return (unsigned)n;
}

/* One of names[] (NULL-terminated); @return its index, or dflt. */
static int choice(const char *var, const char *const *names, int dflt, const char *takes)
{
	const char *v = getenv(var);

	if (!v || !*v)
		return dflt;
	for (int i = 0; names[i]; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	warn(var, v, takes, names[dflt]);
	return dflt;
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"PROF", SIGPROF},
	{"WINCH", SIGWINCH}, {"URG", SIGURG}, {"PWR", SIGPWR},
};

static int snapshot_signal(void)
{
	const char *v = getenv("TIMERLEAK_SNAPSHOT_SIGNAL");
	const char *name = v;
	char *end;
	long n;

	if (!v || !*v)
		return SIGUSR2;
	if (strcmp(v, "none") == 0 || strcmp(v, "0") == 0)
		return 0;
	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcmp(name, signals[i].name) == 0)
			return signals[i].sig;
	}
	n = strtol(v, &end, 10);
	if (v[0] >= '0' && v[0] <= '9' && !*end && n > 0 && n < NSIG && n != SIGKILL &&
	    n != SIGSTOP)
		return (int)n;
	warn("TIMERLEAK_SNAPSHOT_SIGNAL", v,
	     "a signal (USR1, USR2, PROF, WINCH, URG, PWR, a number) or none", "USR2");
	return SIGUSR2;
}

/* TIMERLEAK_FOLLOW: fork, exec, fork,exec (either order) or none. */
static void follow(void)
{
	const char *v = getenv("TIMERLEAK_FOLLOW");

	tl__cfg.follow_fork = tl__cfg.follow_exec = true;
	if (!v || !*v || strcmp(v, "fork,exec") == 0 || strcmp(v, "exec,fork") == 0)
		return;
	if (strcmp(v, "fork") == 0)
		tl__cfg.follow_exec = false;
	else if (strcmp(v, "exec") == 0)
		tl__cfg.follow_fork = false;
	else if (strcmp(v, "none") == 0)
		tl__cfg.follow_fork = tl__cfg.follow_exec = false;
	else
		warn("TIMERLEAK_FOLLOW", v, "fork, exec, fork,exec or none", "fork,exec");
}

/*
 * The output template, made absolute against the working directory at
 * start-up: a daemon that chdir("/")s later, or a child that changes
 * directory before its first timer, still writes where it was started.
 */
static void output(void)
{
	const char *v = getenv("TIMERLEAK_OUTPUT");
	char cwd[1024];
	size_t n = 0, size = sizeof(tl__cfg.output);

	if (!v || !*v)
		v = "timerleak.%e.%p.tlk";
	if (v[0] != '/' && getcwd(cwd, sizeof(cwd))) {
		/* The directory's own % signs are not the template's. */
		for (const char *p = cwd; *p && n + 2 < size; p++) {
			if (*p == '%')
				tl__cfg.output[n++] = '%';
			tl__cfg.output[n++] = *p;
		}
		if (n > 1 && n + 1 < size)
			tl__cfg.output[n++] = '/';
	}
	if ((size_t)snprintf(tl__cfg.output + n, size - n, "%s", v) >= size - n)
		snprintf(tl__cfg.output, size, "%s", v); /* too long: as given */
}

void tl__config_load(void)
{
	static const char *const bools[] = {"0", "1", NULL};
	static const char *const unwinders[] = {"libunwind", "fp", "none", NULL};
	static const char *const clocks[] = {"tsc", "monotonic", NULL};

	tl__cfg.quiet = false;
	tl__cfg.quiet = choice("TIMERLEAK_QUIET", bools, 0, "0 or 1");
	tl__cfg.announce = choice("TIMERLEAK_ANNOUNCE", bools, 1, "0 or 1");
	output();
	tl__cfg.unwinder = choice("TIMERLEAK_UNWIND", unwinders, TL_UNWIND_LIBUNWIND,
				  "libunwind, fp or none");
	tl__cfg.depth = number("TIMERLEAK_DEPTH", 32, 1, TL_MAX_DEPTH);
	tl__cfg.snapshot_signal = snapshot_signal();
	follow();
	tl__cfg.ring_kb = number("TIMERLEAK_RING_KB", 1024, 16, 1 << 20);
	tl__cfg.flush_ms = number("TIMERLEAK_FLUSH_MS", 200, 1, 60000);
	tl__cfg.time_shift = number("TIMERLEAK_TIME_SHIFT", 12, 0, 20);
	tl__cfg.clock_monotonic = choice("TIMERLEAK_CLOCK", clocks, 0, "tsc or monotonic") == 1;
}

/*
 * Expand the output template: %p pid, %e executable name, %t seconds since
 * the epoch, %% a percent sign. @return 0, or -1 if it does not fit.
 */
int tl__config_output_path(char *out, size_t size, int pid, const char *exe, long now)
{
	size_t n = 0;

	for (const char *p = tl__cfg.output; *p; p++) {
		int w;

		if (p[0] != '%' || !p[1]) {
			w = snprintf(out + n, size - n, "%c", *p);
		} else {
			p++;
			if (*p == 'p')
				w = snprintf(out + n, size - n, "%d", pid);
			else if (*p == 'e')
				w = snprintf(out + n, size - n, "%s", exe);
			else if (*p == 't')
				w = snprintf(out + n, size - n, "%ld", now);
			else
				w = snprintf(out + n, size - n, "%c", *p);
		}
		if (w < 0 || (size_t)w >= size - n)
			return -1;
		n += (size_t)w;
	}
	return 0;
}
