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
#define REQUEST_MS 2000   /* a request's head must come within this */
#define RESPONSE_MS 20000 /* and its response be taken within this */
#define CONNS 16          /* connections served at once; more wait in the backlog */

/* A connection: reading its request's head, then sending its response,
 * a piece at each turn, never waiting on the client. */
struct conn {
	int fd;                /* -1: a free slot */
	long long deadline;    /* ms: the client is dropped past it */
	size_t n;              /* head bytes read */
	char *out;             /* the response, NULL while reading */
	size_t outlen, sent;
	char req[REQUEST_MAX];
};

struct tl__http {
	int fd;
	int port;
	struct conn c[CONNS];
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
	for (int i = 0; i < CONNS; i++)
		h->c[i].fd = -1;
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

static void drop(struct conn *c)
{
	if (c->fd >= 0) {
		char junk[4096];

		shutdown(c->fd, SHUT_WR);
		/* Unread bytes at close make the kernel reset the connection,
		 * which can cut off the response the client has not read yet:
		 * take what it sent beyond its request first. */
		for (int i = 0; i < 16 && recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
			;
		close(c->fd);
	}
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->n = c->outlen = c->sent = 0;
}

void tl__http_close(struct tl__http *h)
{
	if (!h)
		return;
	for (int i = 0; i < CONNS; i++)
		drop(&h->c[i]);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}

bool tl__http_busy(const struct tl__http *h)
{
	for (int i = 0; i < CONNS; i++)
		if (h->c[i].fd >= 0)
			return true;
	return false;
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

/* The response, whole, in c->out: it is sent as the client takes it. */
static void respond(struct conn *c, int status, const char *type, const char *body, size_t n,
		    bool head)
{
	char hdr[256];
	int k = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, reason(status), type, n);
	size_t len = (size_t)k + (head ? 0 : n);

	if (!(c->out = malloc(len ? len : 1))) {
		drop(c); /* out of memory: nothing can be said */
		return;
	}
	memcpy(c->out, hdr, (size_t)k);
	if (!head)
		memcpy(c->out + k, body, n);
	c->outlen = len;
	c->sent = 0;
	c->deadline = now_ms() + RESPONSE_MS;
}

static void answer(struct conn *c, tl__http_handler fn, void *ctx)
{
	char method[8], target[REQUEST_MAX], *query, *body = NULL;
	const char *type = "text/plain; charset=utf-8";
	size_t n = 0;
	FILE *out;
	int status;

	if (sscanf(c->req, "%7s %8191s", method, target) != 2) {
		respond(c, 400, type, "bad request\n", 12, false);
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		respond(c, 405, type, "only GET and HEAD\n", 18, false);
		return;
	}
	query = strchr(target, '?');
	if (query)
		*query++ = 0;
	if (!(out = open_memstream(&body, &n))) {
		respond(c, 503, type, "out of memory\n", 14, false);
		return;
	}
	status = fn(ctx, target, query ? query : "", out, &type);
	if (fclose(out) != 0) {
		free(body);
		respond(c, 503, "text/plain; charset=utf-8", "out of memory\n", 14, false);
		return;
	}
	if (status != 200)
		type = "text/plain; charset=utf-8";
	respond(c, status, type, body, n, strcmp(method, "HEAD") == 0);
	free(body);
}

/* What the client sent since; the answer once its head is whole.
 * @return true when a request was answered. */
static bool read_more(struct conn *c, tl__http_handler fn, void *ctx)
{
	for (;;) {
		ssize_t k = recv(c->fd, c->req + c->n, sizeof(c->req) - 1 - c->n, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false; /* more later */
		if (k <= 0) {
			drop(c); /* gone, or a failed read: nothing whole came */
			return false;
		}
		c->n += (size_t)k;
		c->req[c->n] = 0;
		/* memmem: a client may send NUL bytes */
		if (memmem(c->req, c->n, "\r\n\r\n", 4) || memmem(c->req, c->n, "\n\n", 2)) {
			answer(c, fn, ctx);
			return true;
		}
		if (c->n + 1 >= sizeof(c->req)) {
			drop(c); /* a head longer than any request of ours */
			return false;
		}
	}
}

/* As much of the response as the client takes now; the connection closed
 * once all is sent, or the client gone (the rest is dropped). */
static void send_more(struct conn *c)
{
	while (c->sent < c->outlen) {
		ssize_t k = send(c->fd, c->out + c->sent, c->outlen - c->sent, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (k <= 0)
			break;
		c->sent += (size_t)k;
	}
	drop(c);
}

int tl__http_serve(struct tl__http *h, tl__http_handler fn, void *ctx)
{
	long long now = now_ms();
	int answered = 0;

	/* New connections, while there are free slots. */
	for (int i = 0; i < CONNS; i++) {
		struct conn *c = &h->c[i];

		if (c->fd >= 0)
			continue;
		c->fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c->fd < 0)
			break;
		c->deadline = now + REQUEST_MS;
	}
	for (int i = 0; i < CONNS; i++) {
		struct conn *c = &h->c[i];

		if (c->fd < 0)
			continue;
		if (now > c->deadline) {
			drop(c); /* too slow: its turn is over */
			continue;
		}
		if (!c->out)
			answered += read_more(c, fn, ctx);
		if (c->fd >= 0 && c->out)
			send_more(c);
	}
	return answered > 0;
}
