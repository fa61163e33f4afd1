/*
 * preload_fork.c - fork and exec under the recorder, for its tests
 * (tests/preload_robust.sh). Each process says what it did; each trace must
 * hold exactly that.
 *
 * An operation is one timerfd life (timerfd_create, timerfd_settime,
 * close: create, arm, free) and one libgotimer timer life (gt_timer_new,
 * gt_timer_stop, gt_timer_free: create, stop, release, free), seven
 * events, all made before the operation returns.
 *
 *   fork        the parent does N operations, forks; the child does N
 *               operations and exit()s; the parent does N more and
 *               waits.
 *   fork_exit   the same, but the child ends with _exit(), as forked
 *               workers (stress-ng's, a pre-forking server's) usually do.
 *   exec        the same, but the child, after its N operations, execs
 *               PROGRAM ARGS... (given after --).
 *   vfork       the parent does N operations, then vfork()s a child that
 *               at once execs PROGRAM ARGS..., then does N more and waits:
 *               the child runs in the parent's memory until its exec.
 *   exec_fail   no fork: N operations, an exec of a path that does not
 *               exist (which fails), N more operations, exit.
 *   ops         no fork: N operations, exit (what exec runs of itself).
 *   forks       THREADS threads do operations without pause while the
 *               main thread forks FORKS children one after another, each
 *               doing N operations and exit()ing: fork while the recorder
 *               is busy on other threads.
 *
 * With -s (fork, fork_exit, exec), the parent waits before it forks until a
 * callback timer has run: the runtime's threads have started by then. A
 * thread still starting when a process forks can leave AddressSanitizer's
 * runtime (GCC 12's) locked in the child, whose threads then never start:
 * the runs under ASan need it.
 *
 * Usage: preload_fork MODE [-n N] [-t THREADS] [-f FORKS] [-s] [-- PROGRAM ARGS...]
 * Each process prints one line: the child's (and each exec'd program's)
 * before the parent's, e.g.:
 *   role=child pid=12 ops=100
 *   role=parent pid=11 ops=200 children=1 child_pids=12 child_status=0
 */
#include "td.h"

#include <gotimer.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_FORKS   64

static struct env {
	const char *mode;
	long n;
	int threads;
	int forks;
	bool settle;
	char **exec_argv;
} env = {
	.n = 100,
	.threads = 4,
	.forks = 10,
};

static _Atomic long ops;

static TD_SITE void fork_timerfd(void)
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

static TD_SITE void fork_gotimer(void)
{
	gt_timer *t = gt_timer_new(GT_HOUR);

	if (!t)
		td_die(errno, "gt_timer_new");
	gt_timer_stop(t);
	gt_timer_free(t);
}

static void operations(long n)
{
	for (long i = 0; i < n; i++) {
		fork_timerfd();
		fork_gotimer();
		atomic_fetch_add_explicit(&ops, 1, memory_order_relaxed);
	}
}

static void ran(void *arg)
{
	atomic_store((_Atomic bool *)arg, true);
}

/* -s: until a callback timer has run, on the runtime's threads. */
static void settle(void)
{
	static _Atomic bool done;
	gt_timer *t = gt_after_func(0, ran, (void *)&done);

	if (!t)
		td_die(errno, "gt_after_func");
	while (!atomic_load(&done))
		td_sleep(TD_MS);
	gt_timer_free(t);
}

static void say(const char *role)
{
	printf("role=%s pid=%d ops=%ld\n", role, (int)getpid(), atomic_load(&ops));
	fflush(stdout);
}

/* The child's life after fork; never returns. */
static void child(bool underscore_exit)
{
	atomic_store(&ops, 0);
	operations(env.n);
	if (env.exec_argv) {
		say("child");
		execv(env.exec_argv[0], env.exec_argv);
		td_die(errno, "execv %s", env.exec_argv[0]);
	}
	say("child");
	if (underscore_exit)
		_exit(0);
	exit(0);
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			td_die(errno, "waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static _Atomic bool stop_threads;

static void *busy(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_threads))
		operations(1);
	return NULL;
}

static int parent_forks(void)
{
	pthread_t th[MAX_THREADS];
	pid_t pids[MAX_FORKS];
	int worst = 0;
	long mine;

	for (int i = 0; i < env.threads; i++)
		if (pthread_create(&th[i], NULL, busy, NULL))
			td_die(0, "pthread_create");
	for (int i = 0; i < env.forks; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			td_die(errno, "fork");
		if (pids[i] == 0)
			child(false);
		td_sleep(5 * TD_MS); /* let the threads run between forks */
		int st = wait_child(pids[i]);
		if (st > worst)
			worst = st;
	}
	atomic_store(&stop_threads, true);
	for (int i = 0; i < env.threads; i++)
		pthread_join(th[i], NULL);
	mine = atomic_load(&ops);
	printf("role=parent pid=%d ops=%ld children=%d child_pids=", (int)getpid(), mine,
	       env.forks);
	for (int i = 0; i < env.forks; i++)
		printf("%s%d", i ? "," : "", (int)pids[i]);
	printf(" child_status=%d\n", worst);
	return 0;
}

static void parse_args(int argc, char **argv)
{
	int opt;

	if (argc < 2)
		goto usage;
	env.mode = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "+n:t:f:s")) != -1) {
		switch (opt) {
		case 'n':
			env.n = td_number(optarg, 'n', 0, 10000000);
			break;
		case 't':
			env.threads = (int)td_number(optarg, 't', 0, MAX_THREADS);
			break;
		case 'f':
			env.forks = (int)td_number(optarg, 'f', 1, MAX_FORKS);
			break;
		case 's':
			env.settle = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind < argc)
		env.exec_argv = argv + optind;
	if ((strcmp(env.mode, "exec") == 0 || strcmp(env.mode, "vfork") == 0) && !env.exec_argv)
		goto usage;
	return;
usage:
	fprintf(stderr,
		"usage: %s fork|fork_exit|exec|vfork|exec_fail|ops|forks [-n N] [-t THREADS] [-f FORKS] "
		"[-s] [-- PROGRAM ARGS...]\n",
		argv[0]);
	exit(2);
}

int main(int argc, char **argv)
{
	char *nowhere[] = {"/nonexistent/timerleak-test", NULL};
	pid_t pid;
	int st;

	parse_args(argc, argv);
	if (strcmp(env.mode, "forks") == 0)
		return parent_forks();
	if (strcmp(env.mode, "ops") == 0) {
		operations(env.n);
		say("single");
		return 0;
	}
	if (strcmp(env.mode, "exec_fail") == 0) {
		operations(env.n);
		execv(nowhere[0], nowhere);
		st = errno;
		operations(env.n);
		printf("role=single pid=%d ops=%ld exec_errno=%d\n", (int)getpid(),
		       atomic_load(&ops), st);
		return 0;
	}
	if (strcmp(env.mode, "vfork") == 0) {
		if (!env.exec_argv)
			td_die(0, "vfork wants a PROGRAM to exec");
		operations(env.n);
		fflush(stdout);
		pid = vfork();
		if (pid < 0)
			td_die(errno, "vfork");
		if (pid == 0) {
			execv(env.exec_argv[0], env.exec_argv);
			_exit(127);
		}
		operations(env.n);
		st = wait_child(pid);
		printf("role=parent pid=%d ops=%ld children=1 child_pids=%d child_status=%d\n",
		       (int)getpid(), atomic_load(&ops), (int)pid, st);
		return 0;
	}
	if (strcmp(env.mode, "fork") && strcmp(env.mode, "fork_exit") && strcmp(env.mode, "exec")) {
		fprintf(stderr, "%s: unknown mode %s\n", argv[0], env.mode);
		return 2;
	}
	if (strcmp(env.mode, "exec") != 0)
		env.exec_argv = NULL;
	operations(env.n);
	if (env.settle)
		settle();
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		td_die(errno, "fork");
	if (pid == 0)
		child(strcmp(env.mode, "fork_exit") == 0);
	operations(env.n);
	st = wait_child(pid);
	printf("role=parent pid=%d ops=%ld children=1 child_pids=%d child_status=%d\n",
	       (int)getpid(), atomic_load(&ops), (int)pid, st);
	return 0;
}
