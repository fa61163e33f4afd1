/*
 * pprof_prog.c - the small programs tests/pprof_test.py runs under the
 * recorder, besides testdata/: each subcommand does one thing whose
 * profile, report or exit the test knows in advance.
 *
 *   objsize            print gt_object_size() of each libgotimer kind:
 *                      "timer=N after=N afterfunc=N ticker=N"
 *   grow S A B C       S steady timers (kept), then three phases of A, B
 *                      and C leaked tickers each, with as many timers
 *                      created and freed; a snapshot signal (SIGUSR2,
 *                      raised here, so exactly between two phases) after
 *                      the first and the second phase. Needs the recorder.
 *   exit CODE N        leak N tickers, then exit(CODE)
 *   signal SIG         leak a ticker, wait for the recorder to flush, then
 *                      die of signal SIG
 *   stdin              a leaked timer per line read from stdin; echoes
 *                      "got LINE" for each, then "lines=N"
 *   spawn N PROG ARG...  leak a ticker, then run PROG N times one after
 *                      the other (fork and exec), printing "child pid=P";
 *                      exits 0 if every child did
 *   preloaded          print "preloaded=PATH" of the libtimerleak.so
 *                      mapped in this process (or "preloaded=none")
 *   sigign             print "sigign=MASK", the signals this process
 *                      started with ignored (SigIgn of /proc/self/status)
 *   inline N           N tickers created through a function inlined into
 *                      its caller: inline_site() called by inline_helper()
 *                      (always inlined) in inline_outer()
 *   split N            N tickers from one source line that holds two calls
 *                      of gt_ticker_new(), in split_outer(): one line, two
 *                      return addresses, two stacks
 *   term MS            a service: leak a ticker every 10 ms until SIGTERM,
 *                      then shut down for MS ms and exit 0, printing
 *                      "ready pid=P" at the start and "stopped tickers=N"
 *
 * Every creating call sits in a function of its own (TD_SITE), as in
 * testdata/, so each is a site the tests find by name.
 */
#include "td.h"

#include <gotimer.h>

#include <signal.h>
#include <sys/wait.h>

/* Each site's duration differs from the others', so that no two creating
 * functions compile to the same code, which the compiler could fold into
 * one (GCC's -fipa-icf): each must keep its own name in a stack. */
static TD_SITE gt_timer *steady_timer(void)
{
	return gt_timer_new(GT_HOUR + 4);
}

static TD_SITE gt_ticker *grow_ticker(void)
{
	return gt_ticker_new(GT_HOUR);
}

static TD_SITE void churn_timer(void)
{
	gt_timer *t = gt_timer_new(GT_HOUR);

	if (!t)
		td_die(errno, "gt_timer_new");
	gt_timer_stop(t);
	gt_timer_free(t);
}

static TD_SITE gt_ticker *exit_ticker(void)
{
	return gt_ticker_new(GT_HOUR + 1);
}

static TD_SITE gt_chan *line_timer(void)
{
	return gt_after(GT_HOUR + 3);
}

static TD_SITE gt_ticker *spawn_ticker(void)
{
	return gt_ticker_new(GT_HOUR + 2);
}

static TD_SITE gt_ticker *serve_ticker(void)
{
	return gt_ticker_new(GT_HOUR + 5);
}

static void must(const void *p, const char *what)
{
	if (!p)
		td_die(errno, "%s", what);
}

static TD_SITE gt_ticker *inline_site(void)
{
	return gt_ticker_new(GT_HOUR + 6);
}

static inline __attribute__((always_inline)) void inline_helper(long n)
{
	for (long i = 0; i < n; i++)
		must(inline_site(), "gt_ticker_new");
}

static TD_SITE void inline_outer(long n)
{
	inline_helper(n);
	printf("inline=%ld\n", n);
}

/* One line, two calls: the compiler makes each its own call instruction. */
static TD_SITE void split_outer(long n)
{
	for (long i = 0; i < n; i++)
		must(i % 2 ? gt_ticker_new(GT_HOUR + 7) : gt_ticker_new(GT_HOUR + 8), "gt_ticker_new");
	printf("split=%ld\n", n);
}

static void noop(void *arg)
{
	(void)arg;
}

static int cmd_objsize(void)
{
	gt_timer *t = gt_timer_new(GT_HOUR);
	gt_chan *a = gt_after(GT_HOUR);
	gt_timer *f = gt_after_func(GT_HOUR, noop, NULL);
	gt_ticker *k = gt_ticker_new(GT_HOUR);

	must(t, "gt_timer_new");
	must(a, "gt_after");
	must(f, "gt_after_func");
	must(k, "gt_ticker_new");
	printf("timer=%zu after=%zu afterfunc=%zu ticker=%zu\n", gt_object_size(t),
	       gt_object_size(a), gt_object_size(f), gt_object_size(k));
	return 0;
}

static int cmd_grow(char **argv)
{
	struct sigaction old;
	long steady = td_number(argv[0], 's', 0, 100000);
	long phase[3];
	long grown = 0;

	for (int i = 0; i < 3; i++)
		phase[i] = td_number(argv[1 + i], 'n', 0, 100000);
	/* Without the recorder, SIGUSR2 would end the program. */
	if (sigaction(SIGUSR2, NULL, &old) != 0 || old.sa_handler == SIG_DFL ||
	    old.sa_handler == SIG_IGN)
		td_die(0, "grow: no SIGUSR2 handler (run it under libtimerleak.so)");
	for (long i = 0; i < steady; i++)
		must(steady_timer(), "gt_timer_new");
	for (int p = 0; p < 3; p++) {
		for (long i = 0; i < phase[p]; i++) {
			must(grow_ticker(), "gt_ticker_new");
			churn_timer();
		}
		grown += phase[p];
		printf("phase=%d grown=%ld\n", p + 1, grown);
		if (p < 2)
			raise(SIGUSR2); /* snapshot p + 1 */
	}
	printf("steady=%ld grown=%ld churned=%ld snapshots=2\n", steady, grown, grown);
	return 0;
}

static int cmd_exit(char **argv)
{
	long code = td_number(argv[0], 'c', 0, 255), n = td_number(argv[1], 'n', 0, 100000);

	for (long i = 0; i < n; i++)
		must(exit_ticker(), "gt_ticker_new");
	printf("tickers=%ld exit=%ld\n", n, code);
	fflush(stdout);
	exit((int)code);
}

static int cmd_signal(char **argv)
{
	int sig = (int)td_number(argv[0], 's', 1, 31);

	must(exit_ticker(), "gt_ticker_new");
	printf("signal=%d\n", sig);
	fflush(stdout);
	td_sleep(400 * TD_MS); /* the recorder writes a chunk at least every 200 ms */
	signal(sig, SIG_DFL);
	raise(sig);
	return 1;
}

static int cmd_stdin(void)
{
	char line[4096];
	long n = 0;

	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		must(line_timer(), "gt_after");
		printf("got %s\n", line);
		n++;
	}
	printf("lines=%ld\n", n);
	return 0;
}

static int cmd_spawn(char **argv)
{
	long n = td_number(argv[0], 'n', 1, 100);
	int failed = 0;

	must(spawn_ticker(), "gt_ticker_new");
	for (long i = 0; i < n; i++) {
		int status;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid < 0)
			td_die(errno, "fork");
		if (pid == 0) {
			execv(argv[1], argv + 1);
			fprintf(stderr, "pprof_prog: exec %s: %s\n", argv[1], strerror(errno));
			_exit(127);
		}
		printf("child pid=%d\n", (int)pid);
		if (waitpid(pid, &status, 0) != pid)
			td_die(errno, "waitpid");
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	printf("children=%ld failed=%d\n", n, failed);
	return failed;
}

static int cmd_preloaded(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096], *path = NULL;

	if (!f)
		td_die(errno, "/proc/self/maps");
	while (!path && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		line[strcspn(line, "\n")] = 0;
		if (p && strstr(p, "libtimerleak.so"))
			path = p;
	}
	printf("preloaded=%s\n", path ? path : "none");
	fclose(f);
	return 0;
}

static int cmd_sigign(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];

	if (!f)
		td_die(errno, "/proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "SigIgn:", 7) == 0)
			printf("sigign=%s", line + 7 + strspn(line + 7, " \t"));
	fclose(f);
	return 0;
}

static volatile sig_atomic_t terminated;

static void on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

static int cmd_term(char **argv)
{
	long ms = td_number(argv[0], 'm', 0, 60000), n = 0;
	struct sigaction sa = {.sa_handler = on_term};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0)
		td_die(errno, "sigaction");
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);
	while (!terminated) {
		must(serve_ticker(), "gt_ticker_new");
		n++;
		td_sleep(10 * TD_MS);
	}
	td_sleep(ms * TD_MS); /* a graceful shutdown takes a while */
	printf("stopped tickers=%ld\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (strcmp(cmd, "objsize") == 0 && argc == 2)
		return cmd_objsize();
	if (strcmp(cmd, "grow") == 0 && argc == 6)
		return cmd_grow(argv + 2);
	if (strcmp(cmd, "exit") == 0 && argc == 4)
		return cmd_exit(argv + 2);
	if (strcmp(cmd, "signal") == 0 && argc == 3)
		return cmd_signal(argv + 2);
	if (strcmp(cmd, "stdin") == 0 && argc == 2)
		return cmd_stdin();
	if (strcmp(cmd, "spawn") == 0 && argc >= 4)
		return cmd_spawn(argv + 2);
	if (strcmp(cmd, "preloaded") == 0 && argc == 2)
		return cmd_preloaded();
	if (strcmp(cmd, "inline") == 0 && argc == 3) {
		inline_outer(td_number(argv[2], 'n', 0, 100000));
		return 0;
	}
	if (strcmp(cmd, "split") == 0 && argc == 3) {
		split_outer(td_number(argv[2], 'n', 0, 100000));
		return 0;
	}
	if (strcmp(cmd, "sigign") == 0 && argc == 2)
		return cmd_sigign();
	if (strcmp(cmd, "term") == 0 && argc == 3)
		return cmd_term(argv + 2);
	fprintf(stderr, "usage: pprof_prog objsize | grow S A B C | exit CODE N | signal SIG | "
			"stdin | spawn N PROG [ARG...] | preloaded | inline N | split N | sigign | "
			"term MS\n");
	return 2;
}
