/*
 * report_json.c - the report for machines (--json), schema
 * "timerleak-report/1", documented in docs/report-json.md. Fields are
 * added within a schema version, never renamed or removed.
 */
#include "report.h"

#include <inttypes.h>
#include <string.h>

#define FRAMES_MAX 64

static void jkey(FILE *out, const char *key, bool *first)
{
	if (!*first)
		fputc(',', out);
	*first = false;
	tl__report_json_str(out, key);
	fputc(':', out);
}

static void jint(FILE *out, const char *key, uint64_t v, bool *first)
{
	jkey(out, key, first);
	fprintf(out, "%" PRIu64, v);
}

static void jnum(FILE *out, const char *key, double v, bool *first)
{
	jkey(out, key, first);
	fprintf(out, "%.6g", v);
}

static void jtext(FILE *out, const char *key, const char *v, bool *first)
{
	jkey(out, key, first);
	if (v)
		tl__report_json_str(out, v);
	else
		fputs("null", out);
}

static void frames(const struct tl__report *r, uint32_t stack, FILE *out)
{
	struct tl__frame f[FRAMES_MAX];
	int n = tl__report_frames(r, stack, f, FRAMES_MAX);

	fputc('[', out);
	for (int i = 0; i < n; i++) {
		bool first = true;
		char addr[32];

		fputs(i ? ",{" : "{", out);
		jtext(out, "function", f[i].function, &first);
		jtext(out, "file", f[i].file, &first);
		jint(out, "line", (uint64_t)f[i].line, &first);
		jtext(out, "module", f[i].module, &first);
		snprintf(addr, sizeof(addr), "0x%" PRIx64, f[i].address);
		jtext(out, "address", addr, &first);
		jkey(out, "inlined", &first);
		fputs(f[i].inlined ? "true" : "false", out);
		fputc('}', out);
	}
	fputc(']', out);
}

static void process(const struct tl__report *r, FILE *out, bool *first)
{
	const struct tl__analysis *a = r->a;
	bool f = true;

	jkey(out, "process", first);
	fputc('{', out);
	if (a->have_process) {
		jint(out, "pid", a->proc.pid, &f);
		jtext(out, "exe", a->proc.exe, &f);
		jtext(out, "command", a->proc.cmdline, &f);
		jtext(out, "hostname", a->proc.hostname, &f);
		jint(out, "start_unix_ns", a->proc.wall_ns, &f);
		jtext(out, "unwinder", a->proc.unwinder, &f);
	}
	jnum(out, "duration_s", tl__an_duration(a), &f);
	jtext(out, "runtime", a->runtime, &f);
	jtext(out, "mode", a->mode == TL_MODE_SYNC ? "sync" : a->mode == TL_MODE_ASYNC ? "async" : NULL,
	      &f);
	fputc('}', out);
}

/* "SIGTERM", or NULL for 0. */
static const char *signal_name(int sig, char *buf, size_t size)
{
	const char *abbrev = sig ? sigabbrev_np(sig) : NULL;

	if (!sig)
		return NULL;
	if (abbrev)
		snprintf(buf, size, "SIG%s", abbrev);
	else
		snprintf(buf, size, "%d", sig);
	return buf;
}

static void trace(const struct tl__report *r, FILE *out, bool *first)
{
	const struct tl__analysis *a = r->a;
	bool f = true, g = true, w = true;
	uint64_t live = 0, live_bytes = 0;
	char sig[32];

	for (size_t i = 0; i < a->nsites; i++) {
		live += a->sites[i].live;
		live_bytes += a->sites[i].live_bytes;
	}
	jkey(out, "trace", first);
	fputc('{', out);
	jtext(out, "path", r->path, &f);
	jkey(out, "complete", &f);
	fputs(a->clean_end ? "true" : "false", out);
	jint(out, "bad_chunks", r->st->bad_chunks, &f);
	jint(out, "events", a->events, &f);
	jint(out, "dropped", a->dropped, &f);
	jint(out, "dropped_ring_full", a->dropped_by_reason[TL_DROP_RING_FULL], &f);
	jint(out, "dropped_write_failed", a->dropped_by_reason[TL_DROP_WRITE_FAILED], &f);
	jint(out, "dropped_too_many_threads", a->dropped_by_reason[TL_DROP_TOO_MANY_THREADS], &f);
	jint(out, "dropped_out_of_memory", a->dropped_by_reason[TL_DROP_NOMEM], &f);
	jint(out, "dropped_untracked", a->dropped_by_reason[TL_DROP_UNTRACKED], &f);
	jtext(out, "ended_by_signal", signal_name(a->end_signal, sig, sizeof(sig)), &f);
	jint(out, "flush_ms", a->flush_ms, &f);
	jint(out, "unread_bytes", r->st->trailing_bytes, &f);
	jkey(out, "attached", &f);
	if (a->attached) {
		bool g3 = true;

		fputc('{', out);
		jnum(out, "process_started_s",
		     a->proc_started ? tl__an_secs(a, a->proc_started) : 0, &g3);
		fputc('}', out);
	} else {
		fputs("null", out);
	}
	jint(out, "live_end", live, &f);
	jint(out, "live_bytes_end", live_bytes, &f);
	jkey(out, "window", &f);
	fputc('{', out);
	jnum(out, "start_s", tl__an_secs(a, a->window_start), &w);
	jnum(out, "startup_end_s", tl__an_secs(a, a->startup_end), &w);
	jnum(out, "end_s", tl__an_secs(a, a->end_time), &w);
	fputc('}', out);
	jkey(out, "snapshots", &f);
	fputc('[', out);
	for (size_t i = 0; i < a->nsnapshots; i++) {
		bool g2 = true;

		fputs(i ? ",{" : "{", out);
		jnum(out, "time_s", tl__an_secs(a, a->snapshots[i].time), &g2);
		jint(out, "live", a->snapshots[i].live, &g2);
		fputc('}', out);
	}
	fputc(']', out);
	jint(out, "timers_before_trace", a->preexisting, &f);
	jint(out, "orphan_events", a->orphans, &f);
	jkey(out, "created_by_kind", &f);
	fputc('{', out);
	for (int k = 1; k <= TL_KIND_MAX; k++)
		if (a->created_by_kind[k])
			jint(out, tl_kind_name(k), a->created_by_kind[k], &g);
	fputs("}}", out);
}

static void stats(const struct tl__report *r, const struct tl__an_site *s, FILE *out)
{
	const struct tl__analysis *a = r->a;
	double sp = (double)tl__an_since(s->last_created, s->first_created) / 1e9;
	bool f = true;

	fputc('{', out);
	jint(out, "created", s->created, &f);
	jint(out, "freed", s->freed, &f);
	jint(out, "released", s->released, &f);
	jint(out, "fired", s->fired, &f);
	jint(out, "stopped", s->stopped, &f);
	jint(out, "resets", s->resets, &f);
	jint(out, "resets_pending", s->resets_pending, &f);
	jint(out, "abandoned", s->abandoned, &f);
	jint(out, "dropped_ticks", s->dropped_ticks, &f);
	jint(out, "live_end", s->end_live, &f);
	jint(out, "pending_end", s->end_pending, &f);
	jint(out, "periodic_end", s->end_periodic, &f);
	jint(out, "bytes_end", s->live_bytes, &f);
	jint(out, "peak_live", s->peak_live, &f);
	jnum(out, "peak_live_time_s", tl__an_secs(a, s->peak_live_time), &f);
	jint(out, "peak_bytes", s->peak_bytes, &f);
	jint(out, "peak_pending", s->peak_pending, &f);
	jint(out, "peak_pending_bytes", s->peak_pending_bytes, &f);
	jint(out, "arg_bytes_max", s->arg_bytes_max, &f);
	jnum(out, "timer_seconds", s->timer_seconds, &f);
	jnum(out, "rate_per_s", sp > 0 ? (double)s->created / sp : 0, &f);
	jnum(out, "mean_duration_s", s->n_duration ? s->sum_duration / (double)s->n_duration / 1e9 : 0,
	     &f);
	jnum(out, "first_created_s", tl__an_secs(a, s->first_created), &f);
	jnum(out, "last_created_s", tl__an_secs(a, s->last_created), &f);
	if (s->growth.measured) {
		jint(out, "retained_end", s->growth.retained, &f);
		jint(out, "in_flight_end", s->growth.in_flight, &f);
		jint(out, "startup_level", s->growth.level, &f);
		jint(out, "grew", s->growth.grew, &f);
		jint(out, "grew_last_tenth", s->growth.recent, &f);
		jnum(out, "longest_life_s", (double)s->longest_life / 1e9, &f);
	}
	fputc('}', out);
}

static void finding(const struct tl__report *r, const struct tl__finding *fd, FILE *out)
{
	const struct tl__an_site *s = &r->a->sites[fd->site];
	struct tl__frame cb;
	bool f = true;

	fputc('{', out);
	jtext(out, "pattern", fd->pattern, &f);
	jtext(out, "title", fd->title, &f);
	jtext(out, "severity", tl__severity_name(fd->severity), &f);
	jkey(out, "uncertain", &f);
	fputs(fd->uncertain ? "true" : "false", out);
	jtext(out, "kind", tl_kind_name((int)s->kind), &f);
	jint(out, "count", fd->count, &f);
	jtext(out, "what", fd->what, &f);
	jtext(out, "detail", fd->detail, &f);
	jtext(out, "window", fd->window[0] ? fd->window : NULL, &f);
	jtext(out, "fix", fd->fix, &f);
	jkey(out, "site", &f);
	frames(r, s->stack, out);
	jint(out, "site_made_before", s->before, &f);
	jkey(out, "callback", &f);
	if (tl__report_callback(r, s, &cb)) {
		bool first = true;

		fputc('{', out);
		jtext(out, "function", cb.function, &first);
		jtext(out, "file", cb.file, &first);
		jint(out, "line", (uint64_t)cb.line, &first);
		fputc('}', out);
	} else {
		fputs("null", out);
	}
	jkey(out, "call_site", &f);
	if (fd->call_stack)
		frames(r, fd->call_stack, out);
	else
		fputs("null", out);
	jkey(out, "stats", &f);
	stats(r, s, out);
	fputc('}', out);
}

int tl__report_json(const struct tl__report *r, FILE *out)
{
	size_t sev[3] = {0, 0, 0};
	bool first = true, f = true;

	for (size_t i = 0; i < r->nfindings; i++)
		sev[r->findings[i].severity]++;
	fputc('{', out);
	jtext(out, "schema", "timerleak-report/1", &first);
	process(r, out, &first);
	trace(r, out, &first);
	jkey(out, "summary", &first);
	fputc('{', out);
	jint(out, "leak", sev[TL_SEV_LEAK], &f);
	jint(out, "warning", sev[TL_SEV_WARNING], &f);
	jint(out, "note", sev[TL_SEV_NOTE], &f);
	fputc('}', out);
	jkey(out, "findings", &first);
	fputc('[', out);
	for (size_t i = 0; i < r->nfindings; i++) {
		if (i)
			fputc(',', out);
		finding(r, &r->findings[i], out);
	}
	fputc(']', out);
	jkey(out, "suppressed", &first);
	fputc('[', out);
	for (size_t i = 0; i < r->nsuppressed; i++) {
		bool g = true;

		fputs(i ? ",{" : "{", out);
		jtext(out, "pattern", r->suppressed[i].pattern, &g);
		jtext(out, "severity", tl__severity_name(r->suppressed[i].severity), &g);
		jint(out, "count", r->suppressed[i].count, &g);
		jint(out, "rule_line", (uint64_t)r->suppressed[i].suppressed_by, &g);
		jkey(out, "site", &g);
		frames(r, r->a->sites[r->suppressed[i].site].stack, out);
		fputc('}', out);
	}
	fputs("]}\n", out);
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
