/*
 * http.c - see http.h.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_MAX 8192
#define REQUEST_MS 2000

struct tl__http {
	int fd;
	int port;
};

struct tl__http *tl__http_listen(const char *addr, char *why, size_t whysize)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char host[64];
	const char *colon = strrchr(addr, ':');
	struct tl__http *h;
	socklen_t len = sizeof(sa);
	char *end;
	long port;
	int one = 1;

	if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
		snprintf(why, whysize, "%s: not HOST:PORT", addr);
		return NULL;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535) {
		snprintf(why, whysize, "%s: not a port: %s", addr, colon + 1);
		return NULL;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa.sin_addr) != 1) {
		snprintf(why, whysize, "%s: not an IPv4 address: %s", addr, host);
		return NULL;
	}
	sa.sin_port = htons((uint16_t)port);
	if (!(h = calloc(1, sizeof(*h)))) {
		snprintf(why, whysize, "out of memory");
		return NULL;
	}
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(h->fd, 16) ||
	    getsockname(h->fd, (struct sockaddr *)&sa, &len)) {
		snprintf(why, whysize, "%s: %s", addr, strerror(errno));
		tl__http_close(h);
		return NULL;
	}
	h->port = ntohs(sa.sin_port);
	return h;
}

void tl__http_close(struct tl__http *h)
{
	if (!h)
		return;
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}

int tl__http_fd(const struct tl__http *h)
{
	return h->fd;
}

int tl__http_port(const struct tl__http *h)
{
	return h->port;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The request's head, up to its blank line, within the deadline.
 * @return its length, or -1. */
static ssize_t read_head(int fd, char *buf, size_t size)
{
	long long until = now_ms() + REQUEST_MS;
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = {fd, POLLIN, 0};
		long long left = until - now_ms();
		ssize_t k;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		k = recv(fd, buf + n, size - 1 - n, 0);
		if (k <= 0) {
			if (k < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			return -1;
		}
		n += (size_t)k;
		buf[n] = 0;
		/* memmem: a client may send NUL bytes */
		if (memmem(buf, n, "\r\n\r\n", 4) || memmem(buf, n, "\n\n", 2))
			return (ssize_t)n;
	}
	return -1;
}

/* All of buf to the client, which may be gone (then the rest is dropped). */
static void send_all(int fd, const char *buf, size_t n)
{
	long long until = now_ms() + 10 * REQUEST_MS;

	while (n > 0) {
		struct pollfd p = {fd, POLLOUT, 0};
		ssize_t k;

		if (now_ms() > until || poll(&p, 1, REQUEST_MS) <= 0)
			return;
		k = send(fd, buf, n, MSG_NOSIGNAL);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return;
		buf += k;
		n -= (size_t)k;
	}
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static void respond(int fd, int status, const char *type, const char *body, size_t n, bool head)
{
	char hdr[256];
	int k = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, reason(status), type, n);

	send_all(fd, hdr, (size_t)k);
	if (!head)
		send_all(fd, body, n);
}

static void answer(int fd, tl__http_handler fn, void *ctx)
{
	char req[REQUEST_MAX], method[8], target[REQUEST_MAX], *query, *body = NULL;
	const char *type = "text/plain; charset=utf-8";
	size_t n = 0;
	FILE *out;
	int status;

	if (read_head(fd, req, sizeof(req)) < 0)
		return; /* nothing whole came: nothing to answer */
	if (sscanf(req, "%7s %8191s", method, target) != 2) {
		respond(fd, 400, type, "bad request\n", 12, false);
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		respond(fd, 405, type, "only GET and HEAD\n", 18, false);
		return;
	}
	query = strchr(target, '?');
	if (query)
		*query++ = 0;
	if (!(out = open_memstream(&body, &n))) {
		respond(fd, 503, type, "out of memory\n", 14, false);
		return;
	}
	status = fn(ctx, target, query ? query : "", out, &type);
	if (fclose(out) != 0) {
		free(body);
		respond(fd, 503, "text/plain; charset=utf-8", "out of memory\n", 14, false);
		return;
	}
	if (status != 200)
		type = "text/plain; charset=utf-8";
	respond(fd, status, type, body, n, strcmp(method, "HEAD") == 0);
	free(body);
}

int tl__http_serve(struct tl__http *h, tl__http_handler fn, void *ctx)
{
	int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c < 0)
		return 0;
	answer(c, fn, ctx);
	shutdown(c, SHUT_WR);
	close(c);
	return 1;
}
