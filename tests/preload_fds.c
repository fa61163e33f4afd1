/*
 * preload_fds.c - descriptors that come and go around timerfds, for the
 * recorder's tests (tests/preload_robust.sh). A timerfd lives until its last
 * descriptor closes, and a descriptor number, once closed, belongs to
 * whatever the kernel gives it to next.
 *
 * One thread, so the trace's order is the program's. Timers are numbered
 * in the order they are created (1, 2, ...), and the program prints the
 * events it expects, in order, as a string of c<N> (create), a<N> (arm)
 * and f<N> (free). A POSIX timer (SIGEV_NONE) is created and deleted as a
 * marker where the order of a free matters: it shows the free came after
 * the close that ended the timer, not before.
 *
 *   reuse       close a timerfd, open a file that gets its number, close
 *               that: one free, at the first close.
 *   dup2_onto   dup2 a regular file onto a timerfd's number: the timerfd
 *               is freed there; the later close of that number is not.
 *   dup         dup, close the original, close the copy: the free comes
 *               with the last close.
 *   dupfd       the same with fcntl(F_DUPFD_CLOEXEC).
 *   dup3        dup3 one timerfd onto another: the second is freed, the
 *               first lives on under the second's number.
 *   arm_dup     timerfd_settime through a duplicate arms the timer.
 *   dup2_self   dup2(fd, fd) changes nothing.
 *   ebadf       close of a closed descriptor fails with EBADF, errno
 *               intact, and records nothing.
 *   renumber    a new timerfd on a number an old one had is a new timer.
 *
 * Usage: preload_fds
 * Prints one line, e.g.:
 *   reuse_same_fd=1 ebadf_ok=1 timers=13 expect=c1,f1,c2,f2,...
 */
#include "td.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static int ntimers;
static char expect[1024];

static void note(char what, int timer)
{
	size_t len = strlen(expect);

	snprintf(expect + len, sizeof(expect) - len, "%s%c%d", len ? "," : "", what, timer);
}

static TD_SITE int fds_timerfd(int *n)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);

	if (fd < 0)
		td_die(errno, "timerfd_create");
	*n = ++ntimers;
	note('c', *n);
	return fd;
}

static TD_SITE timer_t fds_marker(int *n)
{
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	timer_t t;

	if (timer_create(CLOCK_MONOTONIC, &sev, &t))
		td_die(errno, "timer_create");
	*n = ++ntimers;
	note('c', *n);
	return t;
}

static void marker_delete(timer_t t, int n)
{
	if (timer_delete(t))
		td_die(errno, "timer_delete");
	note('f', n);
}

static int open_null(void)
{
	int fd = open("/dev/null", O_RDONLY);

	if (fd < 0)
		td_die(errno, "/dev/null");
	return fd;
}

static void must_close(int fd)
{
	if (close(fd))
		td_die(errno, "close %d", fd);
}

int main(void)
{
	struct itimerspec its = {.it_value = {3600, 0}};
	int a, b, c, d, e, f, g, h, i, j, k, m, r, na, nb, nc, nm, ne, ng, nh, ni, nk, nl, nn;
	bool reuse_same, ebadf_ok;
	timer_t t;

	/* reuse */
	a = fds_timerfd(&na);
	must_close(a);
	note('f', na);
	f = open_null();
	reuse_same = f == a;
	must_close(f);

	/* dup2_onto */
	b = fds_timerfd(&nb);
	r = open_null();
	if (dup2(r, b) != b)
		td_die(errno, "dup2");
	note('f', nb);
	must_close(b);
	must_close(r);

	/* dup */
	c = fds_timerfd(&nc);
	d = dup(c);
	if (d < 0)
		td_die(errno, "dup");
	must_close(c);
	t = fds_marker(&nm);
	must_close(d);
	note('f', nc);
	marker_delete(t, nm);

	/* dupfd */
	e = fds_timerfd(&ne);
	f = fcntl(e, F_DUPFD_CLOEXEC, 100);
	if (f < 100)
		td_die(errno, "fcntl F_DUPFD_CLOEXEC");
	must_close(f);
	t = fds_marker(&nm);
	must_close(e);
	note('f', ne);
	marker_delete(t, nm);

	/* dup3 */
	g = fds_timerfd(&ng);
	h = fds_timerfd(&nh);
	if (dup3(g, h, O_CLOEXEC) != h)
		td_die(errno, "dup3");
	note('f', nh);
	must_close(g);
	t = fds_marker(&nm);
	must_close(h);
	note('f', ng);
	marker_delete(t, nm);

	/* arm_dup */
	i = fds_timerfd(&ni);
	j = dup(i);
	if (j < 0 || timerfd_settime(j, 0, &its, NULL))
		td_die(errno, "dup, timerfd_settime");
	note('a', ni);
	must_close(i);
	must_close(j);
	note('f', ni);

	/* dup2_self */
	k = fds_timerfd(&nk);
	if (dup2(k, k) != k)
		td_die(errno, "dup2 self");
	must_close(k);
	note('f', nk);

	/* ebadf */
	errno = 0;
	ebadf_ok = close(k) == -1 && errno == EBADF;

	/* renumber */
	m = fds_timerfd(&nl);
	must_close(m);
	note('f', nl);
	k = fds_timerfd(&nn);
	must_close(k);
	note('f', nn);

	printf("reuse_same_fd=%d renumbered_same_fd=%d ebadf_ok=%d timers=%d expect=%s\n",
	       reuse_same, k == m, ebadf_ok, ntimers, expect);
	return 0;
}
