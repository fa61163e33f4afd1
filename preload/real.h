/*
 * real.h - the functions the hooks replace, as found behind them.
 *
 * libc's are resolved with dlsym(RTLD_NEXT) (dlvsym for the POSIX timer
 * calls, which glibc exports in three versions with two ABIs) when the
 * library initialises, or on first use by a hook that runs earlier.
 * libgotimer's are resolved on first use, and again from the handle of a
 * dlopen() that brings libgotimer in, since a library loaded with
 * RTLD_LOCAL is invisible to RTLD_NEXT.
 */
#ifndef TL_REAL_H
#define TL_REAL_H

#include <gotimer.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <stdint.h>
#include <time.h>

struct itimerspec;
struct sigevent;

/* For what a sanitizer's runtime may call while it starts, before it can
 * run code instrumented for it (ThreadSanitizer installs its signal
 * handlers through the sigaction() hook): the recorder's sanitized builds
 * leave these uninstrumented. */
#define TL_EARLY __attribute__((no_sanitize("thread")))

struct tl__real_libc {
	int (*timerfd_create)(int, int);
	int (*timerfd_settime)(int, int, const struct itimerspec *, struct itimerspec *);
	int (*close)(int);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	void *(*dlopen)(const char *, int); /* used, not hooked: see hooks_libc.c */
	int (*dlclose)(void *);
	void *(*dlsym)(void *, const char *);
	int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execv)(const char *, char *const[]);
	int (*execvp)(const char *, char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	sighandler_t (*signal)(int, sighandler_t);
	int (*pipe2)(int[2], int);
	int (*setuid)(uid_t);
	int (*setgid)(gid_t);
	int (*seteuid)(uid_t);
	int (*setegid)(gid_t);
	int (*setreuid)(uid_t, uid_t);
	int (*setregid)(gid_t, gid_t);
	int (*setresuid)(uid_t, uid_t, uid_t);
	int (*setresgid)(gid_t, gid_t, gid_t);
	int (*setgroups)(size_t, const gid_t *);
	int (*unshare)(int);
	int (*setns)(int, int);
	void (*exit_)(int) __attribute__((noreturn));
	void (*Exit_)(int) __attribute__((noreturn));
	/* POSIX timers, by glibc symbol version: [0] GLIBC_2.34 (and 2.3.3, the
	 * same code), [1] GLIBC_2.2.5, the old ABI. */
	int (*timer_create[2])(clockid_t, struct sigevent *, timer_t *);
	int (*timer_settime[2])(timer_t, int, const struct itimerspec *, struct itimerspec *);
	int (*timer_delete[2])(timer_t);
};

extern struct tl__real_libc tl__libc;

/* Resolve tl__libc (idempotent; cheap after the first call). */
void tl__real_libc_init(void);

/* pthread_create for the recorder's own thread: the first in the process
 * (a sanitizer's, when its runtime is preloaded before this library, so
 * that it knows the thread), or, when that is this library's hook, the one
 * behind it. */
int tl__real_thread_create(pthread_t *th, void *(*fn)(void *), void *arg);
int tl__pthread_create_hook(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

struct tl__real_gotimer {
	gt_timer *(*timer_new)(gt_duration);
	bool (*timer_stop)(gt_timer *);
	bool (*timer_reset)(gt_timer *, gt_duration);
	void (*timer_free)(gt_timer *);
	gt_chan *(*after)(gt_duration);
	gt_timer *(*after_func)(gt_duration, void (*)(void *), void *);
	gt_ticker *(*ticker_new)(gt_duration);
	void (*ticker_stop)(gt_ticker *);
	void (*ticker_reset)(gt_ticker *, gt_duration);
	void (*ticker_free)(gt_ticker *);
	void (*chan_release)(gt_chan *);
	/* Used by the recorder, not interposed: */
	uint64_t (*timer_id)(const void *);
	size_t (*object_size)(const void *);
	bool (*timer_has_value)(const gt_timer *);
	bool (*ticker_has_value)(const gt_ticker *);
	enum gt_mode (*mode)(void);
};

/* The current table, or NULL if libgotimer is not (or no longer) loaded.
 * Replaced, never modified, so a hook that loaded it uses one consistent
 * set. */
extern _Atomic(struct tl__real_gotimer *) tl__gt;

/* The table, resolving it through RTLD_NEXT on first use. */
struct tl__real_gotimer *tl__real_gotimer(void);
/* After dlopen: look for libgotimer in what handle brought in. */
void tl__real_gotimer_from(void *handle);
/* After dlclose: forget libgotimer if it is gone. */
void tl__real_gotimer_check(void);
/* Bumped whenever libgotimer is found anew, so ids of a reloaded library
 * do not collide with the previous load's. */
extern _Atomic uint64_t tl__gt_generation;

#endif /* TL_REAL_H */
