/*
 * preload_signals.c - the snapshot signal and a service's own handler for
 * it, for the recorder's tests (tests/preload_robust.sh).
 *
 * The program makes timerfds (create, arm, close) in a loop, one every
 * millisecond, prints "ready" once it has made N, and goes on until the
 * file GO exists (at most 20 s); then it makes N more and exits. The test
 * sends its signals between "ready" and GO.
 *
 *   snapshot  the service leaves SIGUSR2 alone: the recorder's snapshot
 *             handler gets it.
 *   main      the service installs its own SIGUSR2 handler first thing in
 *             main(), after the recorder has started.
 *   preinit   the service installs it from .preinit_array, before any
 *             library's constructor, so before the recorder starts.
 *
 * It reports how often its own handler ran, whether the handler in place
 * at the end is its own, and SIGUSR2's disposition as it found it at
 * start (dfl, ign, or other: a handler it did not install).
 *
 * Usage: preload_signals snapshot|main|preinit GO [-n N]
 * Prints "ready", then one line, e.g.:
 *   mode=main ops=200 handler_runs=1 handler_is_ours=1 found=other
 */
#include "td.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

static volatile sig_atomic_t handler_runs;
static const char *found = "unknown";
static bool preinit_installed;

static void on_usr2(int sig)
{
	(void)sig;
	handler_runs++;
}

static const char *disposition(void)
{
	struct sigaction old;

	if (sigaction(SIGUSR2, NULL, &old))
		return "error";
	if (old.sa_handler == SIG_DFL)
		return "dfl";
	if (old.sa_handler == SIG_IGN)
		return "ign";
	return old.sa_handler == on_usr2 ? "ours" : "other";
}

static void install(void)
{
	struct sigaction sa = {.sa_handler = on_usr2, .sa_flags = SA_RESTART};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL))
		td_die(errno, "sigaction");
}

/* Runs before every constructor, the recorder's included. */
static void early(int argc, char **argv, char **envp)
{
	(void)envp;
	found = disposition();
	if (argc > 1 && strcmp(argv[1], "preinit") == 0) {
		install();
		preinit_installed = true;
	}
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit)(int, char **,
									     char **) = early;

static TD_SITE void signals_timerfd(void)
{
	struct itimerspec its = {.it_value = {3600, 0}};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (fd < 0)
		td_die(errno, "timerfd_create");
	if (timerfd_settime(fd, 0, &its, NULL))
		td_die(errno, "timerfd_settime");
	if (close(fd))
		td_die(errno, "close");
}

int main(int argc, char **argv)
{
	const char *mode, *go;
	int64_t give_up;
	struct stat st;
	long n = 100, ops = 0;
	int opt;

	if (argc < 3)
		goto usage;
	mode = argv[1];
	go = argv[2];
	optind = 3;
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			goto usage;
		n = td_number(optarg, 'n', 1, 1000000);
	}
	if (strcmp(mode, "main") == 0)
		install();
	else if (strcmp(mode, "snapshot") && strcmp(mode, "preinit"))
		goto usage;

	for (; ops < n; ops++) {
		signals_timerfd();
		td_sleep(TD_MS);
	}
	printf("ready\n");
	fflush(stdout);
	give_up = td_now() + 20000 * TD_MS;
	while (stat(go, &st) != 0 && td_now() < give_up) {
		signals_timerfd();
		ops++;
		td_sleep(TD_MS);
	}
	for (long i = 0; i < n; i++, ops++)
		signals_timerfd();
	printf("mode=%s ops=%ld handler_runs=%d handler_is_ours=%d found=%s preinit=%d "
	       "timed_out=%d\n",
	       mode, ops, (int)handler_runs, strcmp(disposition(), "ours") == 0, found,
	       preinit_installed, td_now() >= give_up);
	return 0;
usage:
	fprintf(stderr, "usage: %s snapshot|main|preinit GO [-n N]\n", argv[0]);
	return 2;
}
