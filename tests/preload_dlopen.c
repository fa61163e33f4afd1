/*
 * preload_dlopen.c - libgotimer loaded and unloaded mid-run, by a program
 * that is not linked with it, for the recorder's tests
 * (tests/preload_robust.sh).
 *
 *   plugin PATH   ROUNDS times: dlopen the plugin PATH (preload_plugin.c,
 *                 linked with libgotimer), call plugin_run(N), dlclose it,
 *                 and check whether libgotimer is still mapped; SLEEP ms
 *                 between rounds.
 *   dlsym PATH    dlopen libgotimer itself (PATH, e.g. libgotimer.so.1)
 *                 and use it through dlsym'd pointers, which no preloaded
 *                 interposer sees: N timers created, stopped and freed,
 *                 and one gt_after() received and released.
 *
 * libgotimer's threads outlive a dlclose of it, in code and data that are
 * gone: one still running (a timer thread just back from delivering a
 * fire) crashes at once, and a sleeping one crashes when woken, which the
 * next load does if it maps the library at the same address (private
 * futexes are keyed by address). That is the runtime's to fix, not what
 * these tests are about: so before each dlclose the program waits until
 * every thread of libgotimer ("gt-*") sleeps, and after it reserves the
 * range libgotimer occupied (PROT_NONE), so that every load lands at a
 * new address. -R does neither, to show the crash.
 *
 * Usage: preload_dlopen plugin|dlsym PATH [-r ROUNDS] [-n N] [-s SLEEP_MS] [-R]
 * Prints one line, e.g.:
 *   mode=plugin rounds=5 timers_per_round=11 timers=55 unloaded=5
 */
#include "td.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <sys/mman.h>

#include <gotimer.h>

static bool mapped(const char *what)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	bool found = false;

	if (!f)
		td_die(errno, "/proc/self/maps");
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, what) != NULL;
	fclose(f);
	return found;
}

/* The lowest start and highest end of the mappings of what. */
static bool mapped_range(const char *what, uintptr_t *lo, uintptr_t *hi)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	unsigned long a, b;

	if (!f)
		td_die(errno, "/proc/self/maps");
	*lo = UINTPTR_MAX;
	*hi = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, what) || sscanf(line, "%lx-%lx", &a, &b) != 2)
			continue;
		if (a < *lo)
			*lo = a;
		if (b > *hi)
			*hi = b;
	}
	fclose(f);
	return *hi > *lo;
}

/* Wait (at most 2 s) until every thread named gt-* is asleep, twice in a
 * row 10 ms apart. */
static void settle_runtime_threads(void)
{
	int64_t give_up = td_now() + 2000 * TD_MS;
	int calm = 0;

	while (calm < 2 && td_now() < give_up) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *de;
		bool busy = false;

		if (!d)
			td_die(errno, "/proc/self/task");
		while ((de = readdir(d))) {
			char path[300], stat[512], *p;
			FILE *f;

			snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
			f = fopen(path, "r");
			if (!f)
				continue;
			if (fgets(stat, sizeof(stat), f) && strstr(stat, "(gt-") &&
			    (p = strrchr(stat, ')')) && p[1] == ' ' && p[2] != 'S')
				busy = true;
			fclose(f);
		}
		closedir(d);
		calm = busy ? 0 : calm + 1;
		td_sleep(10 * TD_MS);
	}
}

static void *must_sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (!p)
		td_die(0, "dlsym %s: %s", name, dlerror());
	return p;
}

static int plugin(const char *path, long rounds, long n, long sleep_ms, bool reserve)
{
	long made = 0, unloaded = 0, per = -1;
	uintptr_t lo, hi;

	for (long r = 0; r < rounds; r++) {
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		long (*run)(long);
		bool had;

		if (!h)
			td_die(0, "dlopen %s: %s", path, dlerror());
		*(void **)&run = must_sym(h, "plugin_run");
		per = run(n);
		if (per < 0)
			td_die(errno, "plugin_run");
		made += per;
		had = mapped_range("libgotimer", &lo, &hi);
		if (reserve)
			settle_runtime_threads();
		if (dlclose(h))
			td_die(0, "dlclose: %s", dlerror());
		unloaded += !mapped("libgotimer");
		if (reserve && had && !mapped("libgotimer") &&
		    mmap((void *)lo, hi - lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		    MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED)
			td_die(errno, "reserving %#lx-%#lx", (unsigned long)lo, (unsigned long)hi);
		td_sleep(sleep_ms * TD_MS);
	}
	printf("mode=plugin rounds=%ld timers_per_round=%ld timers=%ld unloaded=%ld\n", rounds,
	       per, made, unloaded);
	return 0;
}

static int direct(const char *path, long n)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	gt_timer *(*timer_new)(gt_duration);
	bool (*timer_stop)(gt_timer *);
	void (*timer_free)(gt_timer *);
	gt_chan *(*after)(gt_duration);
	bool (*chan_recv)(gt_chan *, int64_t *);
	void (*chan_release)(gt_chan *);
	void (*stats_read)(gt_stats *);
	int64_t give_up;
	gt_stats st;
	gt_chan *c;

	if (!h)
		td_die(0, "dlopen %s: %s", path, dlerror());
	*(void **)&timer_new = must_sym(h, "gt_timer_new");
	*(void **)&timer_stop = must_sym(h, "gt_timer_stop");
	*(void **)&timer_free = must_sym(h, "gt_timer_free");
	*(void **)&after = must_sym(h, "gt_after");
	*(void **)&chan_recv = must_sym(h, "gt_chan_recv");
	*(void **)&chan_release = must_sym(h, "gt_chan_release");
	*(void **)&stats_read = must_sym(h, "gt_stats_read");
	for (long i = 0; i < n; i++) {
		gt_timer *t = timer_new(GT_HOUR);

		if (!t)
			td_die(errno, "gt_timer_new");
		timer_stop(t);
		timer_free(t);
	}
	c = after(GT_MILLISECOND);
	if (!c || !chan_recv(c, NULL))
		td_die(errno, "gt_after");
	chan_release(c);
	/* The after-timer's last reference may be its timer thread's, which
	 * drops it just after delivering the value: the runtime reclaims the
	 * timer there, a moment later. Exit only once it has, or the reclaim
	 * would come after the trace's end. */
	give_up = td_now() + 5000 * TD_MS;
	do {
		stats_read(&st);
	} while (st.live_objects && td_now() < give_up && (td_sleep(TD_MS), true));
	printf("mode=dlsym timers=%ld afters=1 fires=1 drains=1 live_objects=%llu\n", n,
	       (unsigned long long)st.live_objects);
	return 0;
}

int main(int argc, char **argv)
{
	long rounds = 5, n = 10, sleep_ms = 0;
	bool reserve = true;
	int opt;

	if (argc < 3)
		goto usage;
	optind = 3;
	while ((opt = getopt(argc, argv, "r:n:s:R")) != -1) {
		if (opt == 'R')
			reserve = false;
		else if (opt == 'r')
			rounds = td_number(optarg, 'r', 1, 10000);
		else if (opt == 'n')
			n = td_number(optarg, 'n', 0, 1000000);
		else if (opt == 's')
			sleep_ms = td_number(optarg, 's', 0, 10000);
		else
			goto usage;
	}
	if (strcmp(argv[1], "plugin") == 0)
		return plugin(argv[2], rounds, n, sleep_ms, reserve);
	if (strcmp(argv[1], "dlsym") == 0)
		return direct(argv[2], n);
usage:
	fprintf(stderr, "usage: %s plugin|dlsym PATH [-r ROUNDS] [-n N] [-s SLEEP_MS] [-R]\n",
		argv[0]);
	return 2;
}
