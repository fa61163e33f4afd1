/*
 * http.h - the smallest HTTP server that serves timerleak's endpoints to
 * Prometheus, `go tool pprof` and curl: HTTP/1.0 and 1.1 GET and HEAD, one
 * request per connection (Connection: close), one connection at a time,
 * on the caller's thread, between the caller's other work.
 *
 * A client is never trusted: a request line longer than 8 KiB, one that
 * does not arrive within 2 s, or a client gone mid-response costs that
 * connection, never the process (writes use MSG_NOSIGNAL).
 */
#ifndef TL_ANALYZER_HTTP_H
#define TL_ANALYZER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct tl__http;

/*
 * tl__http_listen - listen on addr, "HOST:PORT" (an IPv4 address or
 * "localhost"; port 0 picks one). @return the server, or NULL with why
 * ("127.0.0.1:6061: address already in use").
 */
struct tl__http *tl__http_listen(const char *addr, char *why, size_t whysize);
void tl__http_close(struct tl__http *h);

/* The descriptor to poll for a connection (POLLIN), and the port bound. */
int tl__http_fd(const struct tl__http *h);
int tl__http_port(const struct tl__http *h);

/*
 * A request's handler: path ("/metrics") and query ("seconds=30", "" if
 * none), the body written to out. @return the status (200, 400, 404);
 * *type the Content-Type of a 200 ("text/plain; version=0.0.4").
 */
typedef int (*tl__http_handler)(void *ctx, const char *path, const char *query, FILE *out,
				const char **type);

/* Take the waiting connections, read what their clients sent, answer the
 * requests that are whole, send what the clients take. Never blocks.
 * @return 1 if a request was answered, 0 if none was. */
int tl__http_serve(struct tl__http *h, tl__http_handler fn, void *ctx);

/* Whether connections are open: a response being sent, a request being
 * read. The caller then calls tl__http_serve() again soon (within a few
 * ms), not only when tl__http_fd() is readable. */
bool tl__http_busy(const struct tl__http *h);

#endif /* TL_ANALYZER_HTTP_H */
