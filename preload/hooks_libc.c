/*
 * hooks_libc.c - timerfds, POSIX timers, and the calls that end or copy a
 * descriptor; plus dlclose, pthread_create and exec, which the recorder
 * needs to see.
 *
 * A timerfd lives until its last descriptor closes, so close, close_range,
 * closefrom, dup, dup2, dup3 and fcntl(F_DUPFD*) are followed. They are
 * among the most frequent calls a service makes: each checks a flag (no
 * timerfd yet) or one table slot before anything else.
 *
 * dlopen is not hooked: glibc resolves a relative name through the
 * RUNPATH of the object that calls dlopen, and a hook in between would
 * make that object this library. New objects are found by the writer,
 * which watches the loader's load count; dlclose is hooked so that an
 * object is described before it goes.
 */
#include "real.h"
#include "threads.h"
#include "tl_preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define HOOK TL_EXPORT

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int64_t ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int64_t clock_ns(int clockid)
{
	struct timespec ts;

	return clock_gettime(clockid, &ts) == 0 ? ns(&ts) : 0;
}

static void created(struct tl__pass *p, uint64_t id, int kind, uint64_t size, uint64_t aux,
		    const uint64_t *frames, unsigned n)
{
	struct tl_event ev = {.id = id, .kind = (uint32_t)kind, .size = size, .aux = aux};

	tl__record(p, TL_REC_CREATE, &ev, frames, n);
}

/* A settime: arm, or stop when the new value is zero. old is the value
 * before the call (the hook asks for it when the caller did not). */
static void settime(struct tl__pass *p, uint64_t id, int clockid, bool abs,
		    const struct itimerspec *nv, const struct itimerspec *old)
{
	bool was_active = old->it_value.tv_sec || old->it_value.tv_nsec;
	struct tl_event ev = {.id = id};

	if (!nv->it_value.tv_sec && !nv->it_value.tv_nsec) {
		ev.flags = was_active ? TL_STOP_WAS_ACTIVE : 0;
		tl__record(p, TL_REC_STOP, &ev, NULL, 0);
		return;
	}
	ev.duration = ns(&nv->it_value) - (abs ? clock_ns(clockid) : 0);
	ev.period = ns(&nv->it_interval);
	ev.flags = (abs ? TL_ARM_ABSOLUTE : 0) | (was_active ? TL_ARM_WAS_ACTIVE : 0);
	tl__record(p, TL_REC_ARM, &ev, NULL, 0);
}

static void freed(struct tl__pass *p, uint64_t id)
{
	struct tl_event ev = {.id = id};

	tl__record(p, TL_REC_FREE, &ev, NULL, 0);
}

/* ---------------------------------------------------------------------------
 * timerfd
 */

HOOK int timerfd_create(int clockid, int flags)
{
	uint64_t frames[TL_MAX_DEPTH];
	struct tl__pass p;
	unsigned n;
	int fd;

	tl__real_libc_init();
	if (!tl__enter(&p))
		return tl__libc.timerfd_create(clockid, flags);
	n = tl__capture(&p, frames);
	fd = tl__libc.timerfd_create(clockid, flags);
	p.saved_errno = errno;
	if (fd >= 0) {
		uint64_t id = tl__kernel_id();

		if (tl__fd_created(fd, id, clockid))
			created(&p, id, TL_KIND_TIMERFD, TL_TIMERFD_BYTES, (uint64_t)clockid, frames,
				n);
		else
			tl__untracked();
	}
	tl__leave(&p);
	return fd;
}

HOOK int timerfd_settime(int fd, int flags, const struct itimerspec *nv, struct itimerspec *old)
{
	struct itimerspec mine;
	struct tl__pass p;
	uint64_t id;
	int clockid, r;

	tl__real_libc_init();
	if (!tl__fd_any() || !(id = tl__fd_lookup(fd, &clockid)) || !nv || !tl__enter(&p))
		return tl__libc.timerfd_settime(fd, flags, nv, old);
	r = tl__libc.timerfd_settime(fd, flags, nv, old ? old : &mine);
	p.saved_errno = errno;
	if (r == 0)
		settime(&p, id, clockid, flags & TFD_TIMER_ABSTIME, nv, old ? old : &mine);
	tl__leave(&p);
	return r;
}

/* ---------------------------------------------------------------------------
 * Descriptors
 */

/* fd is closing (close, or the target of dup2): record the end of the
 * timerfd if this was its last descriptor. */
static void closing(struct tl__pass *p, int fd)
{
	uint64_t id = tl__fd_forget(fd);

	if (id)
		freed(p, id);
}

HOOK int close(int fd)
{
	struct tl__pass p;
	uint64_t id;
	int r;

	tl__real_libc_init();
	if (tl__fd_guarded(fd))
		return 0; /* the recorder's own: not the service's to close */
	if (!tl__fd_any() || !(id = tl__fd_forget(fd)))
		return tl__libc.close(fd);
	r = tl__libc.close(fd);
	if (tl__enter(&p)) {
		p.saved_errno = errno;
		freed(&p, id);
		tl__leave(&p);
	}
	return r;
}

static void forget_range(unsigned first, unsigned last)
{
	int max = tl__fd_max();
	struct tl__pass p;

	if (max < 0 || first > (unsigned)max || !tl__enter(&p))
		return;
	p.saved_errno = errno;
	if (last > (unsigned)max)
		last = (unsigned)max;
	for (unsigned fd = first; fd <= last; fd++)
		closing(&p, (int)fd);
	tl__leave(&p);
}

HOOK int close_range(unsigned first, unsigned last, int flags)
{
	tl__real_libc_init();
	if (first > last || (flags & ~(int)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)))
		return tl__libc.close_range(first, last, flags);
	if (!(flags & CLOSE_RANGE_CLOEXEC) && tl__fd_any())
		forget_range(first, last);
	return tl__fdguard_close_range(first, last, flags);
}

HOOK void closefrom(int lowfd)
{
	int saved = errno;

	tl__real_libc_init();
	if (lowfd < 0)
		lowfd = 0;
	if (tl__fd_any())
		forget_range((unsigned)lowfd, ~0u);
	/* glibc's closefrom is close_range, with a slow path for kernels
	 * without it; the guard's close_range covers the usual case. */
	if (tl__fdguard_close_range((unsigned)lowfd, ~0u, 0) != 0)
		tl__libc.closefrom(lowfd);
	errno = saved;
}

/* Only the pipe libunwind opens for itself is moved out of the way
 * (fdguard.c); every other passes straight through. */
HOOK int pipe2(int fds[2], int flags)
{
	tl__real_libc_init();
	if (__builtin_expect(tl__fdguard_from_unwinder(__builtin_return_address(0)), 0))
		return tl__fdguard_pipe2(fds, flags);
	return tl__libc.pipe2(fds, flags);
}

HOOK int dup(int oldfd)
{
	int fd;

	tl__real_libc_init();
	fd = tl__libc.dup(oldfd);
	if (fd >= 0 && tl__fd_any())
		tl__fd_dup(oldfd, fd);
	return fd;
}

/* dup2 and dup3 close newfd first, which may end a timerfd. */
static int dup_onto(int oldfd, int newfd, int r)
{
	struct tl__pass p;
	int saved = errno;

	if (r < 0 || oldfd == newfd || !tl__fd_any())
		return r;
	if (tl__enter(&p)) {
		p.saved_errno = saved;
		closing(&p, newfd);
		tl__leave(&p);
	}
	tl__fd_dup(oldfd, newfd);
	errno = saved;
	return r;
}

HOOK int dup2(int oldfd, int newfd)
{
	tl__real_libc_init();
	tl__trace_fd_evade(newfd);
	return dup_onto(oldfd, newfd, tl__libc.dup2(oldfd, newfd));
}

HOOK int dup3(int oldfd, int newfd, int flags)
{
	tl__real_libc_init();
	tl__trace_fd_evade(newfd);
	return dup_onto(oldfd, newfd, tl__libc.dup3(oldfd, newfd, flags));
}

/* fcntl's third argument is an int or a pointer; glibc itself reads it as
 * a pointer and passes it on, and so does this. */
static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
	int r = real(fd, cmd, arg);

	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && tl__fd_any()) {
		int saved = errno;

		tl__fd_dup(fd, r);
		errno = saved;
	}
	return r;
}

HOOK int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	tl__real_libc_init();
	return fcntl_common(tl__libc.fcntl, fd, cmd, arg);
}

HOOK int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	tl__real_libc_init();
	return fcntl_common(tl__libc.fcntl64 ? tl__libc.fcntl64 : tl__libc.fcntl, fd, cmd, arg);
}

/* ---------------------------------------------------------------------------
 * POSIX timers. glibc exports timer_create, timer_settime and timer_delete
 * as GLIBC_2.34 (the default), GLIBC_2.3.3 (the same code, the version
 * programs linked before 2.34 ask for) and GLIBC_2.2.5 (an older timer_t
 * ABI). Each version gets its own hook, bound with .symver, forwarding to
 * the same version behind it: abi 0 is the current one, abi 1 the old.
 * Keys carry the ABI so the two kinds of timer_t never meet.
 */

static uintptr_t key(int abi, timer_t t)
{
	return (uintptr_t)t ^ ((uintptr_t)abi << (sizeof(uintptr_t) * 8 - 1));
}

static int posix_create(int abi, clockid_t clockid, struct sigevent *sev, timer_t *timerid)
{
	uint64_t frames[TL_MAX_DEPTH];
	struct tl__pass p;
	unsigned n;
	int r;

	tl__real_libc_init();
	if (!tl__libc.timer_create[abi]) {
		errno = ENOSYS;
		return -1;
	}
	if (!tl__enter(&p))
		return tl__libc.timer_create[abi](clockid, sev, timerid);
	n = tl__capture(&p, frames);
	r = tl__libc.timer_create[abi](clockid, sev, timerid);
	p.saved_errno = errno;
	if (r == 0) {
		uint64_t id = tl__kernel_id();
		int notify = sev ? sev->sigev_notify : SIGEV_SIGNAL;

		if (tl__ptimer_created(key(abi, *timerid), id, clockid))
			created(&p, id, TL_KIND_POSIX, TL_POSIX_BYTES,
				(uint64_t)clockid | ((uint64_t)(notify & 0xff) << 8), frames, n);
		else
			tl__untracked();
	}
	tl__leave(&p);
	return r;
}

static int posix_settime(int abi, timer_t t, int flags, const struct itimerspec *nv,
			 struct itimerspec *old)
{
	struct itimerspec mine;
	struct tl__pass p;
	uint64_t id;
	int clockid, r;

	tl__real_libc_init();
	if (!tl__libc.timer_settime[abi]) {
		errno = ENOSYS;
		return -1;
	}
	if (!nv || !(id = tl__ptimer_lookup(key(abi, t), &clockid)) || !tl__enter(&p))
		return tl__libc.timer_settime[abi](t, flags, nv, old);
	r = tl__libc.timer_settime[abi](t, flags, nv, old ? old : &mine);
	p.saved_errno = errno;
	if (r == 0)
		settime(&p, id, clockid, flags & TIMER_ABSTIME, nv, old ? old : &mine);
	tl__leave(&p);
	return r;
}

static int posix_delete(int abi, timer_t t)
{
	struct tl__pass p;
	uint64_t id;
	int r;

	tl__real_libc_init();
	if (!tl__libc.timer_delete[abi]) {
		errno = ENOSYS;
		return -1;
	}
	/* Forget first: once deleted, the kernel may hand the same id to a
	 * timer another thread creates. */
	id = tl__ptimer_forget(key(abi, t));
	r = tl__libc.timer_delete[abi](t);
	if (id && tl__enter(&p)) {
		p.saved_errno = errno;
		if (r == 0)
			freed(&p, id);
		tl__leave(&p);
	}
	return r;
}

#define POSIX_VERSION(suffix, abi, ver, dflt)                                                     \
	int tl_timer_create_##suffix(clockid_t c, struct sigevent *s, timer_t *t);                 \
	int tl_timer_settime_##suffix(timer_t t, int f, const struct itimerspec *n,                \
				      struct itimerspec *o);                                       \
	int tl_timer_delete_##suffix(timer_t t);                                                   \
	HOOK int tl_timer_create_##suffix(clockid_t c, struct sigevent *s, timer_t *t)            \
	{                                                                                          \
		return posix_create(abi, c, s, t);                                                 \
	}                                                                                          \
	HOOK int tl_timer_settime_##suffix(timer_t t, int f, const struct itimerspec *n,          \
					   struct itimerspec *o)                                   \
	{                                                                                          \
		return posix_settime(abi, t, f, n, o);                                             \
	}                                                                                          \
	HOOK int tl_timer_delete_##suffix(timer_t t)                                               \
	{                                                                                          \
		return posix_delete(abi, t);                                                       \
	}                                                                                          \
	__asm__(".symver tl_timer_create_" #suffix ", timer_create" dflt ver);                    \
	__asm__(".symver tl_timer_settime_" #suffix ", timer_settime" dflt ver);                  \
	__asm__(".symver tl_timer_delete_" #suffix ", timer_delete" dflt ver)

POSIX_VERSION(234, 0, "GLIBC_2.34", "@@");
POSIX_VERSION(233, 0, "GLIBC_2.3.3", "@");
POSIX_VERSION(225, 1, "GLIBC_2.2.5", "@");

/* ---------------------------------------------------------------------------
 * Objects, threads, exec
 */

HOOK int dlclose(void *handle)
{
	struct tl__pass p;
	int r;

	tl__real_libc_init();
	/* Describe what is about to go while it is still mapped. */
	if (tl__enter(&p)) {
		p.saved_errno = errno;
		tl__modules_sync(&p);
		tl__leave(&p);
	}
	r = tl__libc.dlclose(handle);
	if (r == 0) {
		int saved = errno;

		tl__real_gotimer_check();
		/* And the unload, before anything is loaded at the same place. */
		if (tl__enter(&p)) {
			p.saved_errno = saved;
			tl__modules_sync(&p);
			tl__leave(&p);
		}
		errno = saved;
	}
	return r;
}

HOOK int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
			void *arg)
{
	struct tl__thread_start *start;

	tl__real_libc_init();
	if (tl__cfg.unwinder != TL_UNWIND_FP || !(start = malloc(sizeof(*start))))
		return tl__libc.pthread_create(th, attr, fn, arg);
	start->fn = fn;
	start->arg = arg;
	int r = tl__libc.pthread_create(th, attr, tl__thread_trampoline, start);
	if (r != 0)
		free(start);
	return r;
}

/* The hook's own address, which no other library's pthread_create can
 * stand for (real.c). */
extern __typeof__(pthread_create) tl__pthread_create_hook
	__attribute__((alias("pthread_create"), visibility("hidden"), nothrow));

/* ---------------------------------------------------------------------------
 * Credentials and namespaces: calls made with the writer thread out of the
 * way (tl__recorder_park() says why). Each is rare; the real call's result
 * and errno are returned untouched.
 */

#define PARKED(call)                                                                               \
	do {                                                                                       \
		bool parked_;                                                                      \
		int r_, e_;                                                                        \
                                                                                                   \
		tl__real_libc_init();                                                              \
		parked_ = tl__recorder_park();                                                       \
		r_ = tl__libc.call;                                                                \
		e_ = errno;                                                                        \
		tl__recorder_unpark(parked_);                                                        \
		errno = e_;                                                                        \
		return r_;                                                                         \
	} while (0)

HOOK int setuid(uid_t u)
{
	PARKED(setuid(u));
}

HOOK int setgid(gid_t g)
{
	PARKED(setgid(g));
}

HOOK int seteuid(uid_t u)
{
	PARKED(seteuid(u));
}

HOOK int setegid(gid_t g)
{
	PARKED(setegid(g));
}

HOOK int setreuid(uid_t r, uid_t e)
{
	PARKED(setreuid(r, e));
}

HOOK int setregid(gid_t r, gid_t e)
{
	PARKED(setregid(r, e));
}

HOOK int setresuid(uid_t r, uid_t e, uid_t s)
{
	PARKED(setresuid(r, e, s));
}

HOOK int setresgid(gid_t r, gid_t e, gid_t s)
{
	PARKED(setresgid(r, e, s));
}

HOOK int setgroups(size_t n, const gid_t *list)
{
	PARKED(setgroups(n, list));
}

HOOK int unshare(int flags)
{
	PARKED(unshare(flags));
}

HOOK int setns(int fd, int nstype)
{
	PARKED(setns(fd, nstype));
}

/* exec runs no destructors: end the trace first. If exec fails, the trace
 * goes on, after its end record. */
static int exec_returned(int r)
{
	int saved = errno;

	tl__exec_failed();
	errno = saved;
	return r;
}

HOOK int execve(const char *path, char *const argv[], char *const envp[])
{
	tl__real_libc_init();
	tl__flush_before_exec();
	return exec_returned(tl__libc.execve(path, argv, envp));
}

HOOK int execv(const char *path, char *const argv[])
{
	tl__real_libc_init();
	tl__flush_before_exec();
	return exec_returned(tl__libc.execv(path, argv));
}

HOOK int execvp(const char *file, char *const argv[])
{
	tl__real_libc_init();
	tl__flush_before_exec();
	return exec_returned(tl__libc.execvp(file, argv));
}

HOOK int execvpe(const char *file, char *const argv[], char *const envp[])
{
	tl__real_libc_init();
	tl__flush_before_exec();
	return exec_returned(tl__libc.execvpe(file, argv, envp));
}

HOOK int fexecve(int fd, char *const argv[], char *const envp[])
{
	tl__real_libc_init();
	tl__flush_before_exec();
	return exec_returned(tl__libc.fexecve(fd, argv, envp));
}

/* _exit runs no destructors either (exit() runs ours, and calls libc's
 * own _exit directly, not this). */
HOOK void _exit(int status)
{
	tl__real_libc_init();
	tl__finish_before_exit();
	tl__libc.exit_(status);
}

HOOK void _Exit(int status)
{
	tl__real_libc_init();
	tl__finish_before_exit();
	tl__libc.Exit_(status);
}

/* The execl family: collect the arguments, then as execv*. */
#define COLLECT_ARGS(first, ap, argv)                                                              \
	size_t argc_ = 1;                                                                          \
	va_list count_;                                                                            \
	va_copy(count_, ap);                                                                       \
	while (va_arg(count_, char *))                                                             \
		argc_++;                                                                           \
	va_end(count_);                                                                            \
	char *argv[argc_ + 1];                                                                     \
	argv[0] = (char *)(first);                                                                 \
	for (size_t i_ = 1; i_ <= argc_; i_++)                                                     \
		argv[i_] = va_arg(ap, char *)

HOOK int execl(const char *path, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	COLLECT_ARGS(arg, ap, argv);
	va_end(ap);
	return execv(path, argv);
}

HOOK int execlp(const char *file, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	COLLECT_ARGS(arg, ap, argv);
	va_end(ap);
	return execvp(file, argv);
}

HOOK int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	char *const *envp;

	va_start(ap, arg);
	COLLECT_ARGS(arg, ap, argv);
	envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}
