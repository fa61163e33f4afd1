/*
 * preload_ends.c - how services end and where they live, for the
 * recorder's tests (tests/preload_robust.sh). Each mode first makes N
 * timerfds and N POSIX timers that stay open (open_timers()), then:
 *
 *   segv          dereferences NULL (SIGSEGV, default action)
 *   abort         calls abort() (SIGABRT)
 *   term          prints "ready" and waits for a SIGTERM (default action)
 *   term_handler  the same with a handler of its own, which prints
 *                 handled=1, restores the default and raises the signal
 *                 again, as crash handlers do
 *   segv_oneshot  a SIGSEGV handler installed with SA_RESETHAND, which
 *                 prints handled=1 and returns: the fault comes again and
 *                 kills the process
 *   dispositions  no timers; prints what sigaction() and signal() say
 *                 about SIGTERM, SIGINT and SIGSEGV before and after it
 *                 sets them, which must read the same with the recorder
 *   daemon        forks; the child leaves the session, chdir("/")s, sends
 *                 its standard error to /dev/null, makes its timers and
 *                 closes them, and exits; the parent waits for it and
 *                 prints its pid
 *   rlimit_posix  makes a POSIX timer and deletes it, lowers its
 *                 address-space limit to what it uses now (no mapping can
 *                 be added), then makes N timerfds and N POSIX timers and
 *                 closes and deletes every one
 *   rlimit_fd     the same, with a timerfd first
 *   unshare       makes N timers, then unshare(CLONE_NEWUSER), which only a
 *                 process of one thread may do, then N more timers; prints
 *                 unshare=0 or the error
 *   highfd        the same as rlimit_fd, but first takes every descriptor up to 4,100,
 *                 so that its N timerfds lie beyond the first 4,096 (prints
 *                 skip=1 where the descriptor limit cannot be raised)
 *
 * Usage: preload_ends MODE [-n N]
 */
#include "td.h"

#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define MAX_N 4096

static int n = 50;
static int fds[MAX_N];
static timer_t timers[MAX_N];

static TD_SITE int open_timerfd(void)
{
	struct itimerspec its = {.it_value = {3600, 0}};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (fd < 0)
		td_die(errno, "timerfd_create");
	if (timerfd_settime(fd, 0, &its, NULL))
		td_die(errno, "timerfd_settime");
	return fd;
}

static TD_SITE timer_t open_posix(void)
{
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	struct itimerspec its = {.it_value = {3600, 0}};
	timer_t t;

	if (timer_create(CLOCK_MONOTONIC, &sev, &t))
		td_die(errno, "timer_create");
	if (timer_settime(t, 0, &its, NULL))
		td_die(errno, "timer_settime");
	return t;
}

static void open_timers(void)
{
	for (int i = 0; i < n; i++) {
		fds[i] = open_timerfd();
		timers[i] = open_posix();
	}
}

static void close_timers(void)
{
	for (int i = 0; i < n; i++) {
		if (close(fds[i]))
			td_die(errno, "close");
		if (timer_delete(timers[i]))
			td_die(errno, "timer_delete");
	}
}

static void say(const char *s)
{
	ssize_t r = write(STDOUT_FILENO, s, strlen(s));

	(void)r;
}

static void term_handler(int sig)
{
	say("handled=1\n");
	signal(sig, SIG_DFL);
	raise(sig);
}

static void oneshot_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	say("handled=1\n");
}

static const char *name(void (*h)(int))
{
	return h == SIG_DFL ? "dfl" : h == SIG_IGN ? "ign" : h == term_handler ? "mine" : "other";
}

static void dispositions(void)
{
	struct sigaction sa, old;
	void (*prev)(int);

	sigaction(SIGTERM, NULL, &old);
	printf("term=%s term_flags=%d ", name(old.sa_handler), old.sa_flags & ~0x04000000 /* SA_RESTORER, the kernel's */);
	prev = signal(SIGINT, term_handler);
	printf("int_before=%s ", name(prev));
	prev = signal(SIGINT, SIG_DFL);
	printf("int_set=%s ", name(prev));
	sigaction(SIGINT, NULL, &old);
	printf("int_after=%s ", name(old.sa_handler));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = term_handler;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGSEGV, &sa, &old);
	printf("segv_before=%s ", name(old.sa_handler));
	sigaction(SIGSEGV, NULL, &old);
	printf("segv_set=%s segv_resethand=%d ", name(old.sa_handler),
	       !!(old.sa_flags & SA_RESETHAND));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGPIPE, NULL, &old);
	printf("pipe=%s\n", name(old.sa_handler));
}

static void daemon_child(void)
{
	int null = open("/dev/null", O_RDWR);

	if (setsid() < 0 || chdir("/") != 0 || null < 0 || dup2(null, STDERR_FILENO) < 0)
		_exit(3);
	open_timers();
	close_timers();
	exit(0);
}

static void run_daemon(void)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		td_die(errno, "fork");
	if (pid == 0)
		daemon_child();
	if (waitpid(pid, &st, 0) != pid)
		td_die(errno, "waitpid");
	printf("child=%d child_status=%d\n", (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) : 128);
}

/* The address space in use now, from /proc/self/statm (pages). */
static long vm_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0;

	if (!f || fscanf(f, "%ld", &pages) != 1)
		td_die(errno, "/proc/self/statm");
	fclose(f);
	return pages * sysconf(_SC_PAGESIZE);
}

static void limit_memory(void)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = (rlim_t)vm_bytes();
	if (setrlimit(RLIMIT_AS, &rl))
		td_die(errno, "setrlimit");
}

/* One timer before the limit, so that what a thread's first timer needs
 * (the recorder's ring) is in place, but not what the other kind does. */
static void first_timer(bool fd)
{
	if (fd && close(open_timerfd()))
		td_die(errno, "close");
	if (!fd && timer_delete(open_posix()))
		td_die(errno, "timer_delete");
}

static void run_rlimit(bool fd_first, bool high)
{
	struct rlimit rl;

	first_timer(fd_first);
	if (high) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (getrlimit(RLIMIT_NOFILE, &rl) || (rl.rlim_max != RLIM_INFINITY &&
						      rl.rlim_max < 4200)) {
			printf("skip=1\n");
			return;
		}
		rl.rlim_cur = 4200;
		if (null < 0 || setrlimit(RLIMIT_NOFILE, &rl))
			td_die(errno, "setrlimit");
		while (fcntl(null, F_DUPFD_CLOEXEC, 0) < 4100)
			;
	}
	limit_memory();
	open_timers();
	close_timers();
	printf("timerfds=%d posix_timers=%d first_fd=%d\n", n + fd_first, n + !fd_first,
	       fds[0]);
}

static void run_unshare(void)
{
	int r;

	open_timers();
	close_timers();
	r = unshare(CLONE_NEWUSER);
	printf("unshare=%s\n", r == 0 ? "0" : strerrorname_np(errno));
	open_timers();
	close_timers();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	struct sigaction sa;
	int opt;

	optind = 2;
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n') {
			fprintf(stderr, "usage: preload_ends MODE [-n N]\n");
			return 2;
		}
		n = (int)td_number(optarg, 'n', 1, MAX_N);
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	if (strcmp(mode, "dispositions") == 0) {
		dispositions();
		return 0;
	}
	if (strcmp(mode, "unshare") == 0) {
		run_unshare();
		return 0;
	}
	if (strcmp(mode, "daemon") == 0) {
		run_daemon();
		return 0;
	}
	if (strcmp(mode, "rlimit_posix") == 0 || strcmp(mode, "rlimit_fd") == 0 ||
	    strcmp(mode, "highfd") == 0) {
		run_rlimit(strcmp(mode, "rlimit_posix") != 0, mode[0] == 'h');
		return 0;
	}
	open_timers();
	printf("timers=%d\n", 2 * n);
	if (strcmp(mode, "segv") == 0) {
		*(volatile int *)(uintptr_t)argc = 0;
	} else if (strcmp(mode, "abort") == 0) {
		abort();
	} else if (strcmp(mode, "term") == 0 || strcmp(mode, "term_handler") == 0) {
		if (mode[4])
			signal(SIGTERM, term_handler);
		say("ready\n");
		for (;;)
			pause();
	} else if (strcmp(mode, "segv_oneshot") == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = oneshot_handler;
		sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
		sigaction(SIGSEGV, &sa, NULL);
		*(volatile int *)(uintptr_t)argc = 0;
	}
	fprintf(stderr, "preload_ends: unknown mode %s\n", mode);
	return 2;
}
