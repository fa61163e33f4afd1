/*
 * preload_closeall.c - a service that closes every descriptor it did not
 * open itself, three ways, as daemons do, for the recorder's tests
 * (tests/preload_robust.sh). The trace must survive each, the timerfds
 * closed on the way must be seen freed, and the files the service opens
 * afterwards, on the lowest numbers, must be the service's alone.
 *
 *   1. a timerfd and a POSIX timer, both armed; close_range(3, ~0U, 0)
 *   2. a timerfd; closefrom(3)
 *   3. a timerfd; close() of every number from 3 to 1023
 *   4. the service opens its files: an input holding "0123456789" and an
 *      output; a new thread and the main thread each make a timerfd;
 *      the service reads its input, writes "hello\n" to its output, and
 *      checks both
 *   5. the POSIX timer is deleted; exit
 *
 * Usage: preload_closeall DIR      (DIR holds the service's files)
 * Prints one line, e.g.:
 *   timerfds=5 timerfds_closed=5 posix_timers=1 in_fd=3 out_fd=4
 *   input="0123456789" output="hello\n" files_intact=1
 */
#include "td.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

static int timerfds, closed;

static TD_SITE int service_timerfd(void)
{
	struct itimerspec its = {.it_value = {3600, 0}};
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);

	if (fd < 0)
		td_die(errno, "timerfd_create");
	if (timerfd_settime(fd, 0, &its, NULL))
		td_die(errno, "timerfd_settime");
	timerfds++;
	return fd;
}

static TD_SITE timer_t service_posix(void)
{
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	struct itimerspec its = {.it_value = {3600, 0}};
	timer_t t;

	if (timer_create(CLOCK_MONOTONIC, &sev, &t) || timer_settime(t, 0, &its, NULL))
		td_die(errno, "timer_create");
	return t;
}

static void *thread_timerfd(void *arg)
{
	(void)arg;
	if (close(service_timerfd()))
		td_die(errno, "close");
	return NULL;
}

/* Read all of a file (at most size bytes) from its current offset.
 * @return the bytes read. */
static size_t read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size && (n = read(fd, buf + len, size - len)) > 0)
		len += (size_t)n;
	return len;
}

/* Print key="bytes", with \n and \xNN escapes (a NUL is \x00). */
static void show(const char *key, const char *s, size_t len)
{
	printf(" %s=\"", key);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			printf("\\n");
		else if (s[i] >= 32 && s[i] < 127 && s[i] != '"' && s[i] != '\\')
			putchar(s[i]);
		else
			printf("\\x%02x", (unsigned char)s[i]);
	}
	putchar('"');
}

static bool same(const char *s, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(s, want, len) == 0;
}

int main(int argc, char **argv)
{
	char in_path[4096], out_path[4096], input[64], output[64];
	size_t in_len, out_len;
	int fd, in, out;
	pthread_t th;
	timer_t posix;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	snprintf(in_path, sizeof(in_path), "%s/input", argv[1]);
	snprintf(out_path, sizeof(out_path), "%s/output", argv[1]);
	fd = open(in_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10 || close(fd))
		td_die(errno, "%s", in_path);

	/* 1 */
	service_timerfd();
	posix = service_posix();
	if (close_range(3, ~0U, 0))
		td_die(errno, "close_range");
	closed++;

	/* 2 */
	service_timerfd();
	closefrom(3);
	closed++;

	/* 3 */
	service_timerfd();
	for (int i = 3; i < 1024; i++)
		close(i);
	closed++;

	/* 4 */
	in = open(in_path, O_RDONLY);
	out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in < 0 || out < 0)
		td_die(errno, "opening the service's files");
	if (pthread_create(&th, NULL, thread_timerfd, NULL) || pthread_join(th, NULL))
		td_die(0, "pthread");
	closed++;
	if (close(service_timerfd()))
		td_die(errno, "close");
	closed++;
	in_len = read_all(in, input, sizeof(input));
	if (write(out, "hello\n", 6) != 6 || close(out))
		td_die(errno, "%s", out_path);
	out = open(out_path, O_RDONLY);
	if (out < 0)
		td_die(errno, "%s", out_path);
	out_len = read_all(out, output, sizeof(output));

	/* 5 */
	if (timer_delete(posix))
		td_die(errno, "timer_delete");

	printf("timerfds=%d timerfds_closed=%d posix_timers=1 in_fd=%d out_fd=%d", timerfds, closed,
	       in, out);
	show("input", input, in_len);
	show("output", output, out_len);
	printf(" files_intact=%d\n",
	       same(input, in_len, "0123456789") && same(output, out_len, "hello\n"));
	return 0;
}
