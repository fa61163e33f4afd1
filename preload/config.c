/*
 * config.c - the settings, from the environment (README, "Configuration").
 *
 * Read once in the constructor. A value that does not parse falls back to
 * the default with one message on stderr, so a typo is noticed without
 * stopping the service.
 */
#include "core.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tl__config tl__cfg;

static void warn(const char *var, const char *value, const char *what)
{
	if (!tl__cfg.quiet)
		fprintf(stderr, "timerleak: %s=%s: %s\n", var, value, what);
}

static unsigned number(const char *var, unsigned dflt, unsigned lo, unsigned hi)
{
	const char *v = getenv(var);
	char *end;
	unsigned long n;

	if (!v || !*v)
		return dflt;
	n = strtoul(v, &end, 10);
	if (*end || n < lo || n > hi) {
		warn(var, v, "out of range; using the default");
		return dflt;
	}
	return (unsigned)n;
}

static int unwinder(void)
{
	const char *v = getenv("TIMERLEAK_UNWIND");

	if (!v || !*v || strcmp(v, "libunwind") == 0)
		return TL_UNWIND_LIBUNWIND;
	if (strcmp(v, "fp") == 0)
		return TL_UNWIND_FP;
	if (strcmp(v, "none") == 0)
		return TL_UNWIND_NONE;
	warn("TIMERLEAK_UNWIND", v, "not libunwind, fp or none; using libunwind");
	return TL_UNWIND_LIBUNWIND;
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
	char *end;
	long n;

	if (!v || !*v)
		return SIGUSR2;
	if (strcmp(v, "none") == 0 || strcmp(v, "0") == 0)
		return 0;
	if (strncmp(v, "SIG", 3) == 0)
		v += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcmp(v, signals[i].name) == 0)
			return signals[i].sig;
	}
	n = strtol(v, &end, 10);
	if (!*end && n > 0 && n < NSIG && n != SIGKILL && n != SIGSTOP)
		return (int)n;
	warn("TIMERLEAK_SNAPSHOT_SIGNAL", v, "not a signal; snapshots are off");
	return 0;
}

void tl__config_load(void)
{
	const char *v;

	tl__cfg.quiet = (v = getenv("TIMERLEAK_QUIET")) && *v && strcmp(v, "0") != 0;
	v = getenv("TIMERLEAK_OUTPUT");
	snprintf(tl__cfg.output, sizeof(tl__cfg.output), "%s",
		 v && *v ? v : "timerleak.%e.%p.tlk");
	tl__cfg.unwinder = unwinder();
	tl__cfg.depth = number("TIMERLEAK_DEPTH", 32, 1, TL_MAX_DEPTH);
	tl__cfg.snapshot_signal = snapshot_signal();
	v = getenv("TIMERLEAK_FOLLOW");
	if (!v)
		v = "fork,exec";
	tl__cfg.follow_fork = strstr(v, "fork") != NULL;
	tl__cfg.follow_exec = strstr(v, "exec") != NULL;
	tl__cfg.ring_kb = number("TIMERLEAK_RING_KB", 1024, 16, 1 << 20);
	tl__cfg.flush_ms = number("TIMERLEAK_FLUSH_MS", 200, 1, 60000);
	tl__cfg.time_shift = number("TIMERLEAK_TIME_SHIFT", 10, 0, 20);
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
