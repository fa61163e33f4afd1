/*
 * real.c - finding the functions behind the hooks (see real.h).
 */
#include "real.h"

#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

struct tl__real_libc tl__libc;
_Atomic(struct tl__real_gotimer *) tl__gt;
_Atomic uint64_t tl__gt_generation;

static _Atomic int libc_ready;

#define NEXT(field, name) (*(void **)&tl__libc.field = dlsym(RTLD_NEXT, name))
#define NEXTV(field, name, ver) (*(void **)&tl__libc.field = dlvsym(RTLD_NEXT, name, ver))

/* Each symbol version of the POSIX timer calls leads to its own code: the
 * GLIBC_2.2.5 ones convert the old timer_t ABI. Look each up by version,
 * preferring the current default when an older name is missing. */
TL_EARLY static void resolve_posix_timers(void)
{
	NEXTV(timer_create[0], "timer_create", "GLIBC_2.34");
	NEXTV(timer_settime[0], "timer_settime", "GLIBC_2.34");
	NEXTV(timer_delete[0], "timer_delete", "GLIBC_2.34");
	if (!tl__libc.timer_create[0]) {
		/* glibc before 2.34 keeps them in librt, version GLIBC_2.3.3. */
		NEXTV(timer_create[0], "timer_create", "GLIBC_2.3.3");
		NEXTV(timer_settime[0], "timer_settime", "GLIBC_2.3.3");
		NEXTV(timer_delete[0], "timer_delete", "GLIBC_2.3.3");
	}
	NEXTV(timer_create[1], "timer_create", "GLIBC_2.2.5");
	NEXTV(timer_settime[1], "timer_settime", "GLIBC_2.2.5");
	NEXTV(timer_delete[1], "timer_delete", "GLIBC_2.2.5");
}

TL_EARLY void tl__real_libc_init(void)
{
	if (atomic_load_explicit(&libc_ready, memory_order_acquire))
		return;
	NEXT(timerfd_create, "timerfd_create");
	NEXT(timerfd_settime, "timerfd_settime");
	NEXT(close, "close");
	NEXT(close_range, "close_range");
	NEXT(closefrom, "closefrom");
	NEXT(dup, "dup");
	NEXT(dup2, "dup2");
	NEXT(dup3, "dup3");
	NEXT(fcntl, "fcntl");
	NEXT(fcntl64, "fcntl64");
	NEXT(dlopen, "dlopen");
	NEXT(dlclose, "dlclose");
	NEXT(dlsym, "dlsym");
	NEXT(pthread_create, "pthread_create");
	NEXT(execve, "execve");
	NEXT(execv, "execv");
	NEXT(execvp, "execvp");
	NEXT(execvpe, "execvpe");
	NEXT(fexecve, "fexecve");
	NEXT(sigaction, "sigaction");
	NEXT(signal, "signal");
	NEXT(pipe2, "pipe2");
	NEXT(setuid, "setuid");
	NEXT(setgid, "setgid");
	NEXT(seteuid, "seteuid");
	NEXT(setegid, "setegid");
	NEXT(setreuid, "setreuid");
	NEXT(setregid, "setregid");
	NEXT(setresuid, "setresuid");
	NEXT(setresgid, "setresgid");
	NEXT(setgroups, "setgroups");
	NEXT(unshare, "unshare");
	NEXT(setns, "setns");
	NEXT(exit_, "_exit");
	NEXT(Exit_, "_Exit");
	resolve_posix_timers();
	atomic_store_explicit(&libc_ready, 1, memory_order_release);
}

int tl__real_thread_create(pthread_t *th, void *(*fn)(void *), void *arg)
{
	int (*first)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

	*(void **)&first = dlsym(RTLD_DEFAULT, "pthread_create");
	if (!first || first == tl__pthread_create_hook)
		first = tl__libc.pthread_create;
	return first(th, NULL, fn, arg);
}

/* ---------------------------------------------------------------------------
 * libgotimer
 */

static bool resolve_gotimer(struct tl__real_gotimer *g, void *handle)
{
	void *(*sym)(void *, const char *) = tl__libc.dlsym ? tl__libc.dlsym : dlsym;

#define GT(field, name) (*(void **)&g->field = sym(handle, name))
	GT(timer_new, "gt_timer_new");
	GT(timer_stop, "gt_timer_stop");
	GT(timer_reset, "gt_timer_reset");
	GT(timer_free, "gt_timer_free");
	GT(after, "gt_after");
	GT(after_func, "gt_after_func");
	GT(ticker_new, "gt_ticker_new");
	GT(ticker_stop, "gt_ticker_stop");
	GT(ticker_reset, "gt_ticker_reset");
	GT(ticker_free, "gt_ticker_free");
	GT(chan_release, "gt_chan_release");
	GT(timer_id, "gt_timer_id");
	GT(object_size, "gt_object_size");
	GT(timer_has_value, "gt_timer_has_value");
	GT(ticker_has_value, "gt_ticker_has_value");
	GT(mode, "gt_mode");
#undef GT
	dlerror(); /* a failed lookup must not show in the service's dlerror() */
	return g->timer_new && g->timer_stop && g->timer_reset && g->timer_free && g->after &&
	       g->after_func && g->ticker_new && g->ticker_stop && g->ticker_reset &&
	       g->ticker_free && g->chan_release && g->timer_id && g->object_size &&
	       g->timer_has_value && g->ticker_has_value && g->mode;
}

/*
 * Tables are never freed: a hook on another thread may still hold the old
 * one. One is made per load of libgotimer, so a process that loads it a
 * thousand times leaks a thousand small tables. They come from a static
 * pool, so no malloc runs inside a hook.
 */
#define TABLES 64
static struct tl__real_gotimer tables[TABLES];
static _Atomic unsigned ntables;

static void install(void *handle)
{
	unsigned i = atomic_fetch_add(&ntables, 1);
	struct tl__real_gotimer *g, *none = NULL;

	if (i >= TABLES)
		return; /* reloaded too often: later loads go unrecorded */
	g = &tables[i];
	if (!resolve_gotimer(g, handle))
		return;
	if (atomic_compare_exchange_strong(&tl__gt, &none, g))
		atomic_fetch_add(&tl__gt_generation, 1);
}

/*
 * The last resort: libgotimer loaded RTLD_LOCAL and called before our
 * dlopen hook saw it (from a constructor of the library that dlopen
 * loads). Ask each loaded object, skipping this one, which defines the
 * same names.
 */
static int find_in_object(struct dl_phdr_info *info, size_t size, void *data)
{
	void *(*sym)(void *, const char *) = tl__libc.dlsym ? tl__libc.dlsym : dlsym;
	void *self = data, *h, *fn;

	(void)size;
	if (!info->dlpi_name || !info->dlpi_name[0])
		return 0;
	/* The real dlopen and dlclose: this library's own are hooks. */
	h = tl__libc.dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return 0;
	fn = sym(h, "gt_timer_new");
	if (fn && fn != self)
		install(h);
	tl__libc.dlclose(h); /* balances the RTLD_NOLOAD reference */
	dlerror();
	return atomic_load(&tl__gt) != NULL;
}

struct tl__real_gotimer *tl__real_gotimer(void)
{
	struct tl__real_gotimer *g = atomic_load_explicit(&tl__gt, memory_order_acquire);
	void *(*sym)(void *, const char *) = tl__libc.dlsym ? tl__libc.dlsym : dlsym;

	if (g)
		return g;
	tl__real_libc_init();
	sym = tl__libc.dlsym;
	if (sym(RTLD_NEXT, "gt_timer_new"))
		install(RTLD_NEXT);
	else if (tl__libc.dlopen && tl__libc.dlclose)
		dl_iterate_phdr(find_in_object, sym(RTLD_DEFAULT, "gt_timer_new"));
	dlerror();
	return atomic_load_explicit(&tl__gt, memory_order_acquire);
}

void tl__real_gotimer_from(void *handle)
{
	void *(*sym)(void *, const char *) = tl__libc.dlsym ? tl__libc.dlsym : dlsym;

	if (atomic_load_explicit(&tl__gt, memory_order_acquire))
		return;
	if (handle && sym(handle, "gt_timer_new"))
		install(handle);
}

void tl__real_gotimer_check(void)
{
	struct tl__real_gotimer *g = atomic_load_explicit(&tl__gt, memory_order_acquire);
	Dl_info info;

	if (g && !dladdr((void *)g->timer_new, &info)) {
		atomic_compare_exchange_strong(&tl__gt, &g, NULL);
	}
}
