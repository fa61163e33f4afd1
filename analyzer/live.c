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

#include <errno.h>
#include <stdbool.h>
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

/* A trace followed: one recorded process. */
struct source {
	char *path;
	char *next;                /* tl__live_rotate: the file it goes on in */
	struct mark marks[DELTA_MAX + 1];
	size_t next_mark;
	struct tl_trace_reader *r; /* NULL until the trace has its header */
	bool rotated;              /* reading a file that goes on from another */
	bool opening;              /* and its opening records */
	bool told;                 /* its error was returned by tl__live_step */
	struct tl__sym *sym;
	struct tl__analysis *a;
	struct tl__feed feed;
	struct tl_trace_reader_stats st, before; /* before: of the files it went on from */
	struct tl__report rep;
	int err;                   /* what stopped the reading, 0 if nothing */
};

struct tl__live {
	struct tl__http *http;
	struct tl__sym_opts so;
	struct source **src;
	size_t nsrc, cap;
};

static void source_free(struct source *s)
{
	if (!s)
		return;
	tl_trace_reader_close(s->r);
	tl__feed_free(&s->feed);
	for (size_t i = 0; i <= DELTA_MAX; i++)
		free(s->marks[i].counts);
	tl__an_free(s->a);
	tl__sym_free(s->sym);
	free(s->path);
	free(s->next);
	free(s);
}

struct tl__live *tl__live_open(const char *addr, const struct tl__sym_opts *so, char *why,
			       size_t whysize)
{
	struct tl__live *l = calloc(1, sizeof(*l));

	if (!l) {
		snprintf(why, whysize, "out of memory");
		return NULL;
	}
	l->so = *so;
	if (!(l->http = tl__http_listen(addr, why, whysize))) {
		tl__live_close(l);
		return NULL;
	}
	return l;
}

int tl__live_add(struct tl__live *l, const char *path)
{
	struct source *s = calloc(1, sizeof(*s));
	struct source **grown;

	if (!s || !(s->path = strdup(path)) || !(s->sym = tl__sym_new(&l->so)) ||
	    !(s->a = tl__an_new()))
		goto nomem;
	if (l->nsrc == l->cap) {
		if (!(grown = realloc(l->src, (l->cap * 2 + 4) * sizeof(*grown))))
			goto nomem;
		l->src = grown;
		l->cap = l->cap * 2 + 4;
	}
	s->rep = (struct tl__report){.path = s->path, .a = s->a, .sym = s->sym, .st = &s->st,
				     .max_frames = 6};
	l->src[l->nsrc++] = s;
	return 0;
nomem:
	source_free(s);
	return -ENOMEM;
}

static struct source *source_of(const struct tl__live *l, const char *path)
{
	for (size_t i = 0; i < l->nsrc; i++)
		if (strcmp(l->src[i]->path, path) == 0)
			return l->src[i];
	return NULL;
}

void tl__live_remove(struct tl__live *l, const char *path)
{
	for (size_t i = 0; i < l->nsrc; i++)
		if (strcmp(l->src[i]->path, path) == 0) {
			source_free(l->src[i]);
			memmove(&l->src[i], &l->src[i + 1], (l->nsrc - i - 1) * sizeof(*l->src));
			l->nsrc--;
			return;
		}
}

int tl__live_rotate(struct tl__live *l, const char *path, const char *next)
{
	struct source *s = source_of(l, path);
	char *p;

	if (!s)
		return -ENOENT;
	if (!(p = strdup(next)))
		return -ENOMEM;
	free(s->next);
	s->next = p;
	return 0;
}

void tl__live_close(struct tl__live *l)
{
	if (!l)
		return;
	tl__http_close(l->http);
	for (size_t i = 0; i < l->nsrc; i++)
		source_free(l->src[i]);
	free(l->src);
	free(l);
}

int tl__live_fd(const struct tl__live *l)
{
	return tl__http_fd(l->http);
}

bool tl__live_busy(const struct tl__live *l)
{
	return tl__http_busy(l->http);
}

int tl__live_port(const struct tl__live *l)
{
	return tl__http_port(l->http);
}

/* A mark a second of the trace's time (skipped when out of memory: a
 * delta then reaches back further). */
static void mark(struct source *l)
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
static const struct mark *mark_before(const struct source *l, long seconds)
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

static int judge(struct source *l, struct judged *j)
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

/* The profile timerleak-report --pprof writes, of what was read so far,
 * of each source judged (one profile, its samples labelled by pid when
 * there are several); with seconds, its alloc values are what was created
 * in the last seconds (Go's delta profiles), its inuse values what is in
 * use now. */
static int profile(struct judged *j, struct source *const *src, size_t n, long seconds,
		   FILE *out)
{
	const struct tl__report *reps[n];
	char buf[65536];
	ssize_t got;
	int fd;

	for (size_t k = 0; k < n; k++) {
		const struct mark *base = seconds ? mark_before(src[k], seconds) : NULL;

		for (size_t i = 0; base && i < base->nsites && i < j[k].a->nsites; i++) {
			struct tl__an_site *s = &j[k].a->sites[i];

			s->created -= base->counts[2 * i] < s->created ? base->counts[2 * i]
								       : s->created;
			s->alloc_bytes -= base->counts[2 * i + 1] < s->alloc_bytes
						  ? base->counts[2 * i + 1]
						  : s->alloc_bytes;
		}
		reps[k] = &j[k].rep;
	}
	if ((fd = memfd_create("timerleak-profile", MFD_CLOEXEC)) < 0)
		return 503;
	if (tl__pprof_out_write_many(reps, n, fd) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return 503;
	}
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)got, out);
	close(fd);
	return got == 0 ? 200 : 503;
}

/* A request's parameters: seconds=N (the profile only) and pid=P; /metrics
 * ignores what it does not know (a scrape config may add parameters). */
struct params {
	long seconds;
	long pid;
};

static int params(const char *path, const char *query, bool profile, bool lax,
		  struct params *p, FILE *out)
{
	char q[256], *save = NULL;

	*p = (struct params){0};
	if (strlen(query) >= sizeof(q)) {
		fprintf(out, "query too long\n");
		return 400;
	}
	snprintf(q, sizeof(q), "%s", query);
	for (char *kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
		char *v = strchr(kv, '='), *end;
		long n;

		if (v)
			*v++ = '\0';
		n = v ? strtol(v, &end, 10) : 0;
		if (profile && strcmp(kv, "seconds") == 0) {
			if (!v || *end || end == v || n < 1 || n > DELTA_MAX) {
				fprintf(out, "seconds: 1 to %d, not %s\n", DELTA_MAX, v ? v : "");
				return 400;
			}
			p->seconds = n;
		} else if (strcmp(kv, "pid") == 0) {
			if (!v || *end || end == v || n < 1) {
				fprintf(out, "pid: a process id, not %s\n", v ? v : "");
				return 400;
			}
			p->pid = n;
		} else if (!lax) {
			fprintf(out, "%s takes %s, not %s\n", path,
				profile ? "seconds=N and pid=P" : "pid=P", kv);
			return 400;
		}
	}
	return 0;
}

/* "/": what is served, and for which traces. */
static void index_page(const struct tl__live *l, FILE *out)
{
	fprintf(out, "timerleak: %zu trace%s\n\n", l->nsrc, l->nsrc == 1 ? "" : "s");
	for (size_t i = 0; i < l->nsrc; i++) {
		const struct tl__analysis *a = l->src[i]->a;

		if (l->src[i]->st.records)
			fprintf(out, "  pid %u  %s  %s\n", a->proc.pid,
				a->proc.exe ? a->proc.exe : "?", l->src[i]->path);
		else
			fprintf(out, "  (nothing read yet)  %s\n", l->src[i]->path);
	}
	fprintf(out, "\n/metrics               Prometheus metrics\n"
		     "/debug/pprof/timers    the timers in use now, as a Go heap profile\n"
		     "                       (?seconds=N: created in the last N s; ?pid=P: one\n"
		     "                       process)\n"
		     "/report, /report.json  the report of what was recorded so far (?pid=P)\n");
}

static int request(void *ctx, const char *path, const char *query, FILE *out, const char **type)
{
	static const char *const paths[] = {"/metrics", "/debug/pprof/timers", "/report",
					    "/report.json"};
	struct tl__live *l = ctx;
	struct source *src[l->nsrc + 1];
	struct judged j[l->nsrc + 1];
	struct params p;
	size_t which = 0, n = 0;
	int status;

	while (which < 4 && strcmp(path, paths[which]) != 0)
		which++;
	if (strcmp(path, "/") == 0) {
		index_page(l, out);
		return 200;
	}
	if (which == 4) {
		fprintf(out, "not found: %s (see /)\n", path);
		return 404;
	}
	if ((status = params(path, query, which == 1, which == 0, &p, out)) != 0)
		return status;
	/* What was read of each trace; a scrape wants every process, the
	 * rest one unless there is only one (or, for the text report and
	 * the profile, all of them one after the other, or merged). */
	for (size_t i = 0; i < l->nsrc; i++)
		if (l->src[i]->st.records && (!p.pid || l->src[i]->a->proc.pid == (uint32_t)p.pid))
			src[n++] = l->src[i];
	if (p.pid && !n) {
		fprintf(out, "no process %ld in what is served (see /)\n", p.pid);
		return 404;
	}
	if (which != 0 && !n) {
		fprintf(out, "nothing recorded yet\n");
		return 503;
	}
	if (which == 3 && n > 1) {
		fprintf(out, "%zu processes: /report.json?pid=P for one (see /)\n", n);
		return 400;
	}
	status = 200;
	for (size_t k = 0; k < n && status == 200; k++)
		if (judge(src[k], &j[k]) != 0) {
			unjudge(&j[k]);
			n = k;
			fprintf(out, "out of memory\n");
			status = 503;
		}
	if (status == 200) {
		const struct tl__report *reps[n + 1];

		for (size_t k = 0; k < n; k++)
			reps[k] = &j[k].rep;
		switch (which) {
		case 0:
			*type = "text/plain; version=0.0.4; charset=utf-8";
			status = tl__metrics_write(reps, n, out, TL_METRICS_SITES) == 0 ? 200 : 503;
			break;
		case 1:
			*type = "application/octet-stream";
			status = profile(j, src, n, p.seconds, out);
			break;
		case 2:
			for (size_t k = 0; k < n; k++) {
				if (k)
					fputc('\n', out);
				tl__report_text(reps[k], out);
			}
			break;
		default:
			*type = "application/json";
			tl__report_json(reps[0], out);
			break;
		}
	}
	for (size_t k = 0; k < n; k++)
		unjudge(&j[k]);
	return status;
}

/* Whether a record of a rotated file says again what the files before it
 * said (the file begins with the process, how it is recorded, its
 * modules, the timers alive, to be a whole trace of its own): read on
 * from those files, it is known already. A module or timer the analysis
 * does not know yet is news, wherever it comes. */
static bool said_before(const struct source *l, const struct tl_record *rec)
{
	switch (rec->type) {
	case TL_REC_PROCESS:
	case TL_REC_RECORDER:
	case TL_REC_ATTACHED:
	case TL_REC_RUNTIME:
		return l->opening;
	case TL_REC_MODULE:
		return tl__sym_has_module(l->sym, rec->module.id);
	case TL_REC_EXISTING:
		return tl__an_knows(l->a, rec->ev.id);
	default:
		return false;
	}
}

/* The counts of the files a source went on from, added to the current
 * file's. */
static void stats_add(struct tl_trace_reader_stats *s, const struct tl_trace_reader_stats *b)
{
	s->chunks += b->chunks;
	s->bad_chunks += b->bad_chunks;
	s->skipped_bytes += b->skipped_bytes;
	s->records += b->records;
	s->unknown_records += b->unknown_records;
	s->file_bytes += b->file_bytes;
	if (!s->first_error) {
		s->first_error = b->first_error;
		s->first_error_offset = b->first_error_offset;
	}
}

/* What has been written since the last step; at the end of a file that
 * was rotated, on into the next one. */
static int read_on(struct source *l)
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
	while ((got = tl_trace_reader_next(l->r, &rec)) == 1) {
		/* The end of a file that goes on in another is no end. */
		if (rec.type == TL_REC_END && l->next)
			continue;
		if (l->rotated) {
			if (tl_rec_is_event(rec.type))
				l->opening = false; /* the file's own part begins */
			if (said_before(l, &rec))
				continue;
		}
		if ((got = tl__feed_one(&l->feed, &rec, l->a, l->sym)) != 0)
			break;
	}
	tl_trace_reader_stats(l->r, &l->st);
	stats_add(&l->st, &l->before);
	mark(l);
	/* Symbols as of the last record: the modules loaded by then. */
	l->a->end_time = l->a->last_time > l->a->proc.start ? l->a->last_time : l->a->proc.start;
	if (got == 0 && l->next && l->st.clean_end) {
		/* read to its end record: on in the next file */
		l->before = l->st;
		tl_trace_reader_close(l->r);
		l->r = NULL;
		free(l->path);
		l->path = l->next;
		l->next = NULL;
		l->rep.path = l->path;
		l->rotated = l->opening = true;
		return read_on(l);
	}
	return got < 0 ? got : 0;
}

uint64_t tl__live_records(const struct tl__live *l, const char *path)
{
	const struct source *s = source_of(l, path);

	return s ? s->st.records : 0;
}

size_t tl__live_count(const struct tl__live *l)
{
	return l->nsrc;
}

int tl__live_step(struct tl__live *l, const char **path)
{
	int err = 0;

	for (size_t i = 0; i < l->nsrc; i++) {
		struct source *s = l->src[i];

		if (!s->err)
			s->err = read_on(s);
		if (s->err && !s->told && !err) {
			s->told = true;
			err = s->err;
			if (path)
				*path = s->path;
		}
	}
	/* One turn for the clients: a busy client gets no more (each answer
	 * judges every analysis), the recording its turn back. */
	tl__http_serve(l->http, request, l);
	return err;
}
