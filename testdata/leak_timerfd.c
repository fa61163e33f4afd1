/*
 * leak_timerfd.c - unclosed timerfd: every connection opens a periodic
 * keepalive timerfd, and conn_close() closes the socket but not the timer.
 *
 * A miniature connection server on libc only. WORKERS threads take
 * connection numbers from a shared counter until COUNT are served. Each
 * connection is a socketpair (the accepted socket and the client's end);
 * conn_open() also makes a keepalive timerfd armed every PERIOD ms;
 * conn_serve() answers REQUESTS request/reply rounds, sending a keepalive
 * whenever the timerfd has expired; conn_close() closes both sockets and
 * forgets the timerfd. The process ends with COUNT periodic timerfds open,
 * which /proc/self/fd confirms (open_timerfds).
 *
 * The profiler must report the timerfd_create() in keepalive_open() as an
 * unclosed timerfd, and must not mistake the sockets' close() for the
 * timer's. Correct look-alike: ok_timerfd.c.
 *
 * The soft RLIMIT_NOFILE is raised to the hard one, so COUNT can go up to
 * about that many.
 *
 * Usage: leak_timerfd [-n COUNT] [-w WORKERS] [-r REQUESTS] [-p PERIOD_MS]
 * Prints one line, e.g.:
 *   connections=200 requests=2000 timerfds_created=200 timerfds_closed=0
 *   keepalives=540 open_timerfds=200
 */
#include "td.h"

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
};

static _Atomic long next_conn;
static _Atomic long served_requests, timerfds_created, timerfds_closed, keepalives;

static TD_SITE int keepalive_open(void)
{
	struct itimerspec its = {.it_interval = td_timespec(env.period),
				 .it_value = td_timespec(env.period)};
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		td_die(errno, "timerfd_create");
	if (timerfd_settime(fd, 0, &its, NULL))
		td_die(errno, "timerfd_settime");
	atomic_fetch_add_explicit(&timerfds_created, 1, memory_order_relaxed);
	return fd;
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
 * a nonblocking read returns the expirations, or EAGAIN if none. */
static void maybe_keepalive(struct conn *c)
{
	uint64_t expirations;

	if (read(c->keepalive, &expirations, sizeof(expirations)) != sizeof(expirations))
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
	/* The leak: c->keepalive is never closed. */
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
	for (int i = 0; i < env.workers; i++) {
		err = pthread_create(&th[i], NULL, worker, NULL);
		if (err)
			td_die(err, "pthread_create");
	}
	for (int i = 0; i < env.workers; i++)
		pthread_join(th[i], NULL);

	printf("connections=%ld requests=%ld timerfds_created=%ld timerfds_closed=%ld "
	       "keepalives=%ld open_timerfds=%d\n",
	       env.count, atomic_load(&served_requests), atomic_load(&timerfds_created),
	       atomic_load(&timerfds_closed), atomic_load(&keepalives), td_count_fds(TIMERFD_LINK));
	return 0;
}
