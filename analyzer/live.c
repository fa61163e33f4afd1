/*
 * live.c - see live.h.
 */
#include "live.h"
#include "analysis.h"
#include "detect.h"
#include "feed.h"
#include "http.h"
#include "metrics.h"
#include "pprof_out.h"
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Delta profiles (?seconds=N): each site's creations, once a second of
 * the trace's time, for the last DELTA_MAX seconds. */
#define DELTA_MAX 60

struct mark {
	int64_t time;        /* the trace's time it was taken at; 0: none */
	size_t nsites;
	uint64_t *counts;    /* created, alloc_bytes: two per site */
};

struct tl__live {
	char *path;
	struct mark marks[DELTA_MAX + 1];
	size_t next_mark;
	struct tl__http *http;
	struct tl_trace_reader *r; /* NULL until the trace has its header */
	struct tl__sym *sym;
	struct tl__analysis *a;
	struct tl__feed feed;
	struct tl_trace_reader_stats st;
	struct tl__report rep;
	int err;                   /* what stopped the reading, 0 if nothing */
};

struct tl__live *tl__live_open(const char *path, const char *addr, const struct tl__sym_opts *so,
			       char *why, size_t whysize)
{
	struct tl__live *l = calloc(1, sizeof(*l));

	if (!l || !(l->path = strdup(path)) || !(l->sym = tl__sym_new(so)) ||
	    !(l->a = tl__an_new())) {
		snprintf(why, whysize, "out of memory");
		tl__live_close(l);
		return NULL;
	}
	if (!(l->http = tl__http_listen(addr, why, whysize))) {
		tl__live_close(l);
		return NULL;
	}
	l->rep = (struct tl__report){.path = l->path, .a = l->a, .sym = l->sym, .st = &l->st,
				     .max_frames = 6};
	return l;
}

void tl__live_close(struct tl__live *l)
{
	if (!l)
		return;
	tl__http_close(l->http);
	tl_trace_reader_close(l->r);
	tl__feed_free(&l->feed);
	for (size_t i = 0; i <= DELTA_MAX; i++)
		free(l->marks[i].counts);
	tl__an_free(l->a);
	tl__sym_free(l->sym);
	free(l->path);
	free(l);
}

int tl__live_fd(const struct tl__live *l)
{
	return tl__http_fd(l->http);
}

int tl__live_port(const struct tl__live *l)
{
	return tl__http_port(l->http);
}

/* A mark a second of the trace's time (skipped when out of memory: a
 * delta then reaches back further). */
static void mark(struct tl__live *l)
{
	const struct tl__analysis *a = l->a;
	struct mark *prev = &l->marks[(l->next_mark + DELTA_MAX) % (DELTA_MAX + 1)];
	struct mark *m = &l->marks[l->next_mark];
	uint64_t *c;

	if (!a->nsites || (prev->time && a->last_time - prev->time < 1000000000))
		return;
	if (!(c = realloc(m->counts, 2 * a->nsites * sizeof(*c))))
		return;
	for (size_t i = 0; i < a->nsites; i++) {
		c[2 * i] = a->sites[i].created;
		c[2 * i + 1] = a->sites[i].alloc_bytes;
	}
	*m = (struct mark){a->last_time, a->nsites, c};
	l->next_mark = (l->next_mark + 1) % (DELTA_MAX + 1);
}

/* The newest mark at least seconds before the last record: what a delta
 * profile subtracts (NULL: none that old, so from the recording's start). */
static const struct mark *mark_before(const struct tl__live *l, long seconds)
{
	const struct mark *best = NULL;
	int64_t until = l->a->last_time - (int64_t)seconds * 1000000000;

	for (size_t i = 0; i <= DELTA_MAX; i++) {
		const struct mark *m = &l->marks[i];

		if (m->time && m->time <= until && (!best || m->time > best->time))
			best = m;
	}
	return best;
}

/* What was read so far, judged: a copy of the analysis finished (the
 * end being the last record read) and its findings, as the report makes
 * them. */
struct judged {
	struct tl__analysis *a;
	struct tl__finding *findings;
	struct tl__report rep;
};

static int judge(struct tl__live *l, struct judged *j)
{
	struct tl__detect_opts o;
	ssize_t n;

	tl__detect_defaults(&o);
	*j = (struct judged){.a = tl__an_copy(l->a)};
	if (!j->a)
		return -1;
	tl__an_finish(j->a, &l->st);
	j->rep = l->rep;
	j->rep.a = j->a;
	if ((n = tl__detect(j->a, &o, tl__report_leaf_name, &j->rep, &j->findings)) < 0)
		return -1;
	j->rep.findings = j->findings;
	j->rep.nfindings = (size_t)n;
	return 0;
}

static void unjudge(struct judged *j)
{
	free(j->findings);
	tl__an_free(j->a);
}

/* The profile timerleak-report --pprof writes, of what was read so far;
 * with base, its alloc values are what was created since base (Go's delta
 * profiles: ?seconds=N), its inuse values what is in use now. */
static int profile(const struct judged *j, const struct mark *base, FILE *out)
{
	char buf[65536];
	ssize_t n;
	int fd;

	for (size_t i = 0; base && i < base->nsites && i < j->a->nsites; i++) {
		struct tl__an_site *s = &j->a->sites[i];

		s->created -= base->counts[2 * i] < s->created ? base->counts[2 * i] : s->created;
		s->alloc_bytes -= base->counts[2 * i + 1] < s->alloc_bytes ? base->counts[2 * i + 1]
									   : s->alloc_bytes;
	}
	if ((fd = memfd_create("timerleak-profile", MFD_CLOEXEC)) < 0)
		return 503;
	if (tl__pprof_out_write(&j->rep, fd) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return 503;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, out);
	close(fd);
	return n == 0 ? 200 : 503;
}

static int request(void *ctx, const char *path, const char *query, FILE *out, const char **type)
{
	static const char *const paths[] = {"/metrics", "/debug/pprof/timers", "/report",
					    "/report.json"};
	struct tl__live *l = ctx;
	struct judged j;
	size_t which = 0;
	long seconds = 0;
	int status = 200;

	while (which < 4 && strcmp(path, paths[which]) != 0)
		which++;
	if (strcmp(path, "/") == 0) {
		fprintf(out, "timerleak: %s\n\n"
			     "/metrics              Prometheus metrics\n"
			     "/debug/pprof/timers  the timers in use now, as a Go heap profile\n"
			     "/report, /report.json the report of what was recorded so far\n",
			l->path);
		return 200;
	}
	if (which == 4) {
		fprintf(out, "not found: %s (see /)\n", path);
		return 404;
	}
	if (which == 1 && strncmp(query, "seconds=", 8) == 0) {
		char *end;

		seconds = strtol(query + 8, &end, 10);
		if (*end || end == query + 8 || seconds < 1 || seconds > DELTA_MAX) {
			fprintf(out, "seconds: 1 to %d, not %s\n", DELTA_MAX, query + 8);
			return 400;
		}
	} else if (query[0] && which != 0) {
		fprintf(out, "%s takes %s: %s\n", path,
			which == 1 ? "seconds=N only" : "no parameters", query);
		return 400;
	}
	if (which != 0 && !l->st.records) {
		fprintf(out, "nothing recorded yet\n");
		return 503;
	}
	if (judge(l, &j) != 0) {
		unjudge(&j);
		fprintf(out, "out of memory\n");
		return 503;
	}
	switch (which) {
	case 0:
		*type = "text/plain; version=0.0.4; charset=utf-8";
		status = tl__metrics_write(&j.rep, out, TL_METRICS_SITES) == 0 ? 200 : 503;
		break;
	case 1:
		*type = "application/octet-stream";
		status = profile(&j, seconds ? mark_before(l, seconds) : NULL, out);
		break;
	case 2:
		tl__report_text(&j.rep, out);
		break;
	default:
		*type = "application/json";
		tl__report_json(&j.rep, out);
		break;
	}
	unjudge(&j);
	return status;
}

/* What has been written since the last step. */
static int read_on(struct tl__live *l)
{
	struct tl_record rec;
	int got, err;

	if (!l->r) {
		l->r = tl_trace_reader_open(l->path, &err);
		/* no file yet, or not its whole header: later */
		if (!l->r)
			return err == TL_TRACE_E_NOT_TRACE || err == TL_TRACE_E_NEWER_VERSION ||
					       err == TL_TRACE_E_BAD_HEADER
				       ? err
				       : 0;
		tl_trace_reader_follow(l->r);
	}
	while ((got = tl_trace_reader_next(l->r, &rec)) == 1)
		if ((got = tl__feed_one(&l->feed, &rec, l->a, l->sym)) != 0)
			break;
	tl_trace_reader_stats(l->r, &l->st);
	mark(l);
	/* Symbols as of the last record: the modules loaded by then. */
	l->a->end_time = l->a->last_time > l->a->proc.start ? l->a->last_time : l->a->proc.start;
	return got < 0 ? got : 0;
}

uint64_t tl__live_records(const struct tl__live *l)
{
	return l->st.records;
}

int tl__live_step(struct tl__live *l)
{
	if (!l->err)
		l->err = read_on(l);
	while (tl__http_serve(l->http, request, l))
		;
	return l->err;
}
