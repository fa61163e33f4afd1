/*
 * fatal.c - ending the trace when a signal ends the process.
 *
 * A process killed by a signal runs no exit handler: SIGTERM with its
 * default action, a crash (SIGSEGV, SIGABRT), a broken pipe would take with
 * them every event recorded since the last chunk — all of them, for a crash
 * in the first flush interval. So for each signal whose default action ends
 * the process, where the program leaves that default in place, the recorder
 * puts a handler of its own: it has the writer end the trace (a signal
 * record, the end record), waits for it, briefly, then restores the default
 * action and raises the signal again, so the process ends exactly as it
 * would have — same signal, same core dump, same exit status.
 *
 * The program stays in charge of its signals:
 *
 *   what the program sets        what is installed    the program sees
 *   SIG_DFL (or nothing)         ours (DFL mode)      SIG_DFL, its flags
 *   a handler                    its handler          its handler
 *   a handler with SA_RESETHAND  ours (ONESHOT mode)  its handler
 *   SIG_IGN                      SIG_IGN              SIG_IGN
 *
 * A handler the program installs runs as it always would; when it gives up
 * and restores the default to raise the signal again (what crash handlers
 * do), that SIG_DFL puts the recorder's handler back, which ends the trace
 * before the process dies. A one-shot handler (SA_RESETHAND) is emulated:
 * the kernel would reset the action to the default on delivery, which would
 * leave no handler to end the trace, so ours runs instead, takes the
 * default's place, and calls the program's. sigaction() and signal() are
 * interposed (hooks_signal.c) to keep this table; what glibc changes with
 * its internal calls (sigset(), system()) is found out by asking the kernel
 * whether our handler is still installed.
 *
 * The handler is async-signal-safe: atomics, futex waits and signal system
 * calls; the writer thread does the work. The wait is bounded (FINISH_MS):
 * a thread that crashed holding a lock the writer needs (malloc's) cannot
 * hold the process's death back for longer.
 */
#include "core.h"
#include "real.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FINISH_MS 2000

enum mode {
	MODE_NONE = 0,    /* not ours: the kernel has what the program set */
	MODE_DFL = 1,     /* ours, standing for SIG_DFL */
	MODE_ONESHOT = 2, /* ours, standing for a handler with SA_RESETHAND */
};

struct watch {
	_Atomic int mode;
	struct sigaction prog; /* what the program set, while ours */
};

/* Signals whose default action ends the process, and which a program may
 * receive: not SIGKILL or SIGSTOP, and not the real-time ones, which glibc
 * and the program use for their own purposes. */
static const int fatal_signals[] = {
	SIGHUP,  SIGINT,  SIGQUIT, SIGILL,  SIGTRAP,   SIGABRT, SIGBUS,  SIGFPE,
	SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM,   SIGTERM, SIGSTKFLT, SIGXCPU,
	SIGXFSZ, SIGVTALRM, SIGPROF, SIGPWR, SIGSYS,
};

static struct watch watch[NSIG];
static bool watched[NSIG];
static _Atomic int table_lock;

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

static void on_signal(int sig, siginfo_t *si, void *uc);

/* The table is changed with every signal blocked, so that a handler that
 * calls sigaction() cannot meet a lock its own thread holds. */
TL_EARLY static void lock(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
	while (atomic_exchange_explicit(&table_lock, 1, memory_order_acquire))
		;
}

TL_EARLY static void unlock(const sigset_t *old)
{
	atomic_store_explicit(&table_lock, 0, memory_order_release);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

TL_EARLY static bool is_ours(const struct sigaction *sa)
{
	return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_signal;
}

/* Our handler in the kernel, with the program's flags and mask where it
 * gave them (a one-shot handler's), never SA_RESETHAND. */
TL_EARLY static int install(int sig, const struct sigaction *like, struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (like) {
		sa.sa_flags |= like->sa_flags & (SA_RESTART | SA_NODEFER | SA_ONSTACK);
		sa.sa_mask = like->sa_mask;
	}
	return real_sigaction(sig, &sa, old);
}

/* One system call per signal where the program left the default (nearly
 * always): ours goes in, and the old action comes back out. */
void tl__fatal_install(void)
{
	sigset_t old;

	real_sigaction = tl__libc.sigaction;
	if (!real_sigaction)
		return;
	lock(&old);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		int sig = fatal_signals[i];
		struct sigaction cur;

		if (sig == tl__cfg.snapshot_signal)
			continue; /* the snapshot's own, or the program's */
		watched[sig] = true;
		if (install(sig, NULL, &cur) != 0)
			continue;
		if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL) {
			watch[sig].prog = cur;
			atomic_store(&watch[sig].mode, MODE_DFL);
		} else {
			real_sigaction(sig, &cur, NULL); /* the program's: put it back */
		}
	}
	unlock(&old);
}

/* ---------------------------------------------------------------------------
 * The handler
 */

static bool is_fault(int sig, const siginfo_t *si)
{
	/* Raised by the CPU, not sent: returning runs the instruction again,
	 * which faults again, now with the default action. */
	return si && si->si_code > 0 &&
	       (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
		sig == SIGTRAP || sig == SIGSYS);
}

static void die_as_default(int sig, const siginfo_t *si)
{
	struct sigaction dfl;
	sigset_t set;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	real_sigaction(sig, &dfl, NULL);
	atomic_store(&watch[sig].mode, MODE_NONE);
	if (is_fault(sig, si))
		return;
	syscall(SYS_tgkill, getpid(), tl__gettid(), sig);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	if (sig > 0 && sig < NSIG && atomic_load(&watch[sig].mode) == MODE_ONESHOT) {
		/* The program's one-shot handler: from now on the default. */
		struct sigaction prog = watch[sig].prog;

		watch[sig].prog.sa_handler = SIG_DFL;
		watch[sig].prog.sa_flags = 0;
		sigemptyset(&watch[sig].prog.sa_mask);
		atomic_store(&watch[sig].mode, MODE_DFL);
		errno = saved;
		if (prog.sa_flags & SA_SIGINFO)
			prog.sa_sigaction(sig, si, uc);
		else if (prog.sa_handler != SIG_DFL && prog.sa_handler != SIG_IGN)
			prog.sa_handler(sig);
		return;
	}
	tl__recorder_finish_signal(sig, FINISH_MS);
	die_as_default(sig, si);
	errno = saved;
}

/* ---------------------------------------------------------------------------
 * The program's calls
 */

TL_EARLY int tl__fatal_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction kernel, prev;
	sigset_t mask;
	bool ours;
	int r = 0;

	if (sig <= 0 || sig >= NSIG || !watched[sig] || !real_sigaction)
		return tl__libc.sigaction(sig, act, old);
	lock(&mask);
	/* Ours only if the kernel agrees: glibc's own calls go around us. */
	if (real_sigaction(sig, NULL, &kernel) != 0) {
		r = -1;
		goto out;
	}
	ours = atomic_load(&watch[sig].mode) != MODE_NONE && is_ours(&kernel);
	if (!ours)
		atomic_store(&watch[sig].mode, MODE_NONE);
	prev = ours ? watch[sig].prog : kernel;
	if (act) {
		bool dfl = !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
		bool ign = !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_IGN;
		int mode = dfl ? MODE_DFL : !ign && (act->sa_flags & SA_RESETHAND) ? MODE_ONESHOT
										    : MODE_NONE;

		if (mode == MODE_NONE)
			r = real_sigaction(sig, act, NULL);
		else
			r = install(sig, mode == MODE_ONESHOT ? act : NULL, NULL);
		if (r == 0) {
			watch[sig].prog = *act;
			atomic_store(&watch[sig].mode, mode);
		}
	}
	if (r == 0 && old)
		*old = prev;
out:
	unlock(&mask);
	return r;
}

TL_EARLY sighandler_t tl__fatal_signal(int sig, sighandler_t handler)
{
	struct sigaction act, old;

	if (sig <= 0 || sig >= NSIG || !watched[sig] || !real_sigaction)
		return tl__libc.signal(sig, handler);
	/* glibc's signal(): BSD semantics. */
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	act.sa_flags = SA_RESTART;
	if (tl__fatal_sigaction(sig, &act, &old) != 0)
		return SIG_ERR;
	return (old.sa_flags & SA_SIGINFO) ? (sighandler_t)(void *)old.sa_sigaction : old.sa_handler;
}
