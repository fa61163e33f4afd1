/*
 * ok_timerfd.c - the correct look-alike of leak_timerfd.c: conn_close()
 * closes the keepalive timerfd, and every copy of it.
 *
 * The same workers, connections and keepalives. Each connection also
 * lends its keepalive to the idle reaper through a duplicate descriptor,
 * made four ways in turn (dup, dup2 onto a reserved slot,
 * fcntl(F_DUPFD_CLOEXEC), and dup again, later retired by dup2()ing
 * /dev/null over it, which closes the timer silently), and closes the
 * original and the copy in alternating order: the timer is gone only when
 * its last descriptor is. One housekeeping timerfd, opened at start-up,
 * stays open until exit, as a service's single long-lived timer does;
 * open_timerfds counts it.
 *
 * The profiler must report neither the timerfd_create() in
 * keepalive_open() nor the one in housekeeping_open().
 *
 * Usage: ok_timerfd [-n COUNT] [-w WORKERS] [-r REQUESTS] [-p PERIOD_MS]
 * Prints one line, e.g.:
 *   connections=200 requests=2000 timerfds_created=201 timerfds_closed=200
 *   duplicates=200 keepalives=550 open_timerfds=1
 */
#include "td.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MAX_WORKERS  64
#define TIMERFD_LINK "anon_inode:[timerfd]"

static struct env {
	long count;
	int workers;
	int requests;
	int64_t period;
} env = {
	.count = 200,
	.workers = 4,
	.requests = 10,
	.period = 1 * TD_MS,
};

struct conn {
	long id;
	int sock;      /* the server's end */
	int peer;      /* the client's end, served in the same thread */
	int keepalive; /* timerfd, expiring every env.period */
	int reaper;    /* the idle reaper's duplicate of keepalive */
};

static _Atomic long next_conn;
static _Atomic long served_requests, timerfds_created, timerfds_closed, keepalives, duplicates;
static int devnull = -1;      /* the reaper parks retired copies here */
static int housekeeping = -1; /* the long-lived timerfd, closed by the exit */

static void arm_periodic(int fd, int64_t period)
{
	struct itimerspec its = {.it_interval = td_timespec(period),
				 .it_value = td_timespec(period)};

	if (timerfd_settime(fd, 0, &its, NULL))
		td_die(errno, "timerfd_settime");
}

static TD_SITE int keepalive_open(void)
{
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		td_die(errno, "timerfd_create");
	atomic_fetch_add_explicit(&timerfds_created, 1, memory_order_relaxed);
	arm_periodic(fd, env.period);
	return fd;
}

/* The service's one long-lived timer; the process exit closes it. */
static TD_SITE int housekeeping_open(void)
{
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		td_die(errno, "timerfd_create");
	atomic_fetch_add_explicit(&timerfds_created, 1, memory_order_relaxed);
	arm_periodic(fd, 10 * TD_MS);
	return fd;
}

/* Lend the keepalive to the reaper, one way of duplicating in four. */
static void reaper_attach(struct conn *c)
{
	switch (c->id % 4) {
	case 1:
		/* Reserve a slot, then install the timer in it. */
		c->reaper = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (c->reaper >= 0 && dup2(c->keepalive, c->reaper) < 0)
			td_die(errno, "dup2");
		break;
	case 2:
		c->reaper = fcntl(c->keepalive, F_DUPFD_CLOEXEC, 0);
		break;
	default:
		c->reaper = dup(c->keepalive);
		break;
	}
	if (c->reaper < 0)
		td_die(errno, "duplicating the keepalive");
	atomic_fetch_add_explicit(&duplicates, 1, memory_order_relaxed);
}

/* Case 3 retires the copy by dup2()ing /dev/null over it, which closes
 * the timer's descriptor without a close() of it. */
static void reaper_detach(struct conn *c)
{
	if (c->id % 4 == 3 && dup2(devnull, c->reaper) < 0)
		td_die(errno, "dup2");
	close(c->reaper);
}

static TD_SITE void conn_open(struct conn *c, long id)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		td_die(errno, "socketpair");
	c->id = id;
	c->sock = sv[0];
	c->peer = sv[1];
	c->keepalive = keepalive_open();
	reaper_attach(c);
}

static void exchange(int from, int to, const char *msg, size_t len)
{
	char buf[64];

	if (write(from, msg, len) != (ssize_t)len)
		td_die(errno, "write");
	if (read(to, buf, sizeof(buf)) != (ssize_t)len)
		td_die(errno, "read");
}

/* A keepalive goes out when the timerfd has expired since the last look;
 * a nonblocking read returns the expirations, or EAGAIN if none. The
 * reaper's copy is read: it is the same timer. */
static void maybe_keepalive(struct conn *c)
{
	uint64_t expirations;

	if (read(c->reaper, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	exchange(c->sock, c->peer, "PING", 4);
	atomic_fetch_add_explicit(&keepalives, 1, memory_order_relaxed);
}

static TD_SITE void conn_serve(struct conn *c)
{
	for (int i = 0; i < env.requests; i++) {
		exchange(c->peer, c->sock, "GET /", 5);
		td_sleep(TD_MS / 5);
		exchange(c->sock, c->peer, "200 OK", 6);
		maybe_keepalive(c);
		atomic_fetch_add_explicit(&served_requests, 1, memory_order_relaxed);
	}
}

static TD_SITE void conn_close(struct conn *c)
{
	close(c->sock);
	close(c->peer);
	if ((c->id / 4) % 2) {
		close(c->keepalive);
		reaper_detach(c);
	} else {
		reaper_detach(c);
		close(c->keepalive);
	}
	atomic_fetch_add_explicit(&timerfds_closed, 1, memory_order_relaxed);
}

static void *worker(void *arg)
{
	struct conn c;
	long id;

	(void)arg;
	while ((id = atomic_fetch_add(&next_conn, 1)) < env.count) {
		conn_open(&c, id);
		conn_serve(&c);
		conn_close(&c);
	}
	return NULL;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:w:r:p:")) != -1) {
		switch (opt) {
		case 'n':
			env.count = td_number(optarg, 'n', 0, 1000000);
			break;
		case 'w':
			env.workers = (int)td_number(optarg, 'w', 1, MAX_WORKERS);
			break;
		case 'r':
			env.requests = (int)td_number(optarg, 'r', 0, 1000000);
			break;
		case 'p':
			env.period = td_number(optarg, 'p', 1, 3600 * 1000L) * TD_MS;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-n COUNT] [-w WORKERS] [-r REQUESTS] [-p PERIOD_MS]\n",
				argv[0]);
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_WORKERS];
	int err;

	parse_args(argc, argv);
	raise_fd_limit();
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0)
		td_die(errno, "/dev/null");
	housekeeping = housekeeping_open();
	for (int i = 0; i < env.workers; i++) {
		err = pthread_create(&th[i], NULL, worker, NULL);
		if (err)
			td_die(err, "pthread_create");
	}
	for (int i = 0; i < env.workers; i++)
		pthread_join(th[i], NULL);

	printf("connections=%ld requests=%ld timerfds_created=%ld timerfds_closed=%ld "
	       "duplicates=%ld keepalives=%ld open_timerfds=%d\n",
	       env.count, atomic_load(&served_requests), atomic_load(&timerfds_created),
	       atomic_load(&timerfds_closed), atomic_load(&duplicates), atomic_load(&keepalives),
	       td_count_fds(TIMERFD_LINK));
	return 0;
}
