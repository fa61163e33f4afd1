/*
 * report_text.c - the report for people: a summary of the trace, then the
 * findings, most severe first, each with its creation site, its numbers,
 * how it grew, and a fix.
 */
#include "report.h"
#include "units.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#define FRAMES_SHOWN 6

static const char *kind_list(const struct tl__analysis *a, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = 0;
	for (int k = 1; k <= TL_KIND_MAX; k++) {
		char n[32];

		if (!a->created_by_kind[k])
			continue;
		o += (size_t)snprintf(buf + o, o < size ? size - o : 0, "%s%s %s", o ? ", " : "",
				      tl__fmt_count(n, sizeof(n), a->created_by_kind[k]),
				      tl_kind_name(k));
		if (o >= size)
			break;
	}
	return buf[0] ? buf : "none";
}

/* Every reason events were lost, so that the parts add up to the whole. */
static void lost(const struct tl__analysis *a, FILE *out)
{
	static const char *const why[TL_DROP_MAX + 1] = {
		[TL_DROP_RING_FULL] = "ring full",
		[TL_DROP_WRITE_FAILED] = "unwritable",
		[TL_DROP_TOO_MANY_THREADS] = "too many threads",
		[TL_DROP_NOMEM] = "out of memory",
		[TL_DROP_UNTRACKED] = "kernel timers untracked",
	};
	uint64_t known = 0;
	char b[32];
	bool first = true;

	fprintf(out, "  lost      %s events dropped (", tl__fmt_count(b, sizeof(b), a->dropped));
	for (int k = 1; k <= TL_DROP_MAX; k++) {
		if (!a->dropped_by_reason[k])
			continue;
		fprintf(out, "%s%s %s", first ? "" : ", ",
			tl__fmt_count(b, sizeof(b), a->dropped_by_reason[k]), why[k]);
		known += a->dropped_by_reason[k];
		first = false;
	}
	if (known < a->dropped)
		fprintf(out, "%s%s for reasons this reader does not know", first ? "" : ", ",
			tl__fmt_count(b, sizeof(b), a->dropped - known));
	fprintf(out, "); findings marked (uncertain) may be off\n");
}

/* How the trace ended: cleanly (nothing to say), by a fatal signal the
 * recorder caught (normal for a daemon), or cut short. */
static void ended(const struct tl__report *r, FILE *out)
{
	const struct tl__analysis *a = r->a;
	const char *abbrev = a->end_signal ? sigabbrev_np(a->end_signal) : NULL;
	char ms[32];

	if (a->clean_end && a->end_signal && a->attached)
		fprintf(out, "  ended     by SIG%s (seen from outside: nothing was cut short)\n",
			abbrev ? abbrev : "?");
	else if (a->clean_end && a->end_signal)
		fprintf(out, "  ended     by SIG%s (the recorder wrote its events out on the way)\n",
			abbrev ? abbrev : "?");
	else if (!a->clean_end)
		fprintf(out,
			"  ended     without an end record (killed without warning, or still being "
			"recorded): its last %s may be missing\n",
			a->flush_ms ? tl__fmt_ns(ms, sizeof(ms), (double)a->flush_ms * 1e6)
				    : "moments");
	if (r->st->bad_chunks)
		fprintf(out, "  trace     damaged chunks skipped (see the warning)\n");
}

/* The snapshots taken (the snapshot signal), for --at snapshot:N. */
static void snapshots(const struct tl__analysis *a, FILE *out)
{
	char b[32];

	if (!a->nsnapshots)
		return;
	fprintf(out, "  snapshots");
	for (size_t i = 0; i < a->nsnapshots && i < 8; i++)
		fprintf(out, "%s %zu at %.2f s (%s live)", i ? "," : "", i + 1,
			tl__an_secs(a, a->snapshots[i].time),
			tl__fmt_count(b, sizeof(b), a->snapshots[i].live));
	if (a->nsnapshots > 8)
		fprintf(out, ", and %zu more (--json lists them all)", a->nsnapshots - 8);
	fprintf(out, "\n");
}

/* "attached  at 12:03:07 to pid 4242, running for 83.2 s by then; timers
 * created before are counted from their first event" */
static void attached(const struct tl__analysis *a, FILE *out)
{
	time_t wall = (time_t)(a->proc.wall_ns / 1000000000u);
	char when[32] = "", b[32];
	struct tm tm;

	if (wall && localtime_r(&wall, &tm))
		strftime(when, sizeof(when), "at %H:%M:%S ", &tm);
	fprintf(out, "  attached  %sto pid %u", when, a->proc.pid);
	if (a->proc_started && tl__an_since(a->proc.start, a->proc_started) > 0)
		fprintf(out, ", running for %s by then",
			tl__fmt_ns(b, sizeof(b),
				   (double)tl__an_since(a->proc.start, a->proc_started)));
	fprintf(out, "; timers created before are counted from their first event\n");
}

static void summary(const struct tl__report *r, FILE *out)
{
	const struct tl__analysis *a = r->a;
	char b1[32], b2[32], kinds[256];
	size_t sev[3] = {0, 0, 0};
	uint64_t created = 0;

	for (size_t i = 0; i < r->nfindings; i++)
		sev[r->findings[i].severity]++;
	for (int k = 0; k <= TL_KIND_MAX; k++)
		created += a->created_by_kind[k];
	fprintf(out, "timerleak report: %s", tl__report_short_path(r->path));
	if (a->have_process)
		fprintf(out, " — %s (pid %u) on %s", tl__report_short_path(a->proc.exe),
			a->proc.pid, a->proc.hostname);
	fprintf(out, "\n");
	if (a->have_process && a->proc.cmdline && a->proc.cmdline[0])
		fprintf(out, "  command   %s\n", a->proc.cmdline);
	fprintf(out, "  traced    %s, %s events",
		tl__fmt_ns(b1, sizeof(b1), tl__an_duration(a) * 1e9),
		tl__fmt_count(b2, sizeof(b2), a->events));
	if (a->runtime && strncmp(a->runtime, "go1.", 4) == 0)
		fprintf(out, ", %s with %s timer channels", a->runtime,
			a->mode == TL_MODE_SYNC ? "synchronous" : "asynchronous");
	else if (a->runtime)
		fprintf(out, ", %s in %s mode", a->runtime,
			a->mode == TL_MODE_SYNC ? "sync (Go >= 1.23)" : "async (Go <= 1.22)");
	if (a->have_process)
		fprintf(out, ", stacks by %s", a->proc.unwinder);
	fprintf(out, "\n");
	if (a->attached)
		attached(a, out);
	fprintf(out, "  timers    %s created: %s\n", tl__fmt_count(b1, sizeof(b1), created),
		kind_list(a, kinds, sizeof(kinds)));
	if (a->dropped)
		lost(a, out);
	ended(r, out);
	if (a->preexisting || a->orphans)
		fprintf(out, "  unknown   %" PRIu64 " timers created before the trace, %" PRIu64
			     " events of timers never seen created\n",
			a->preexisting, a->orphans);
	snapshots(a, out);
	fprintf(out, "  findings  %zu leak%s, %zu warning%s, %zu note%s", sev[TL_SEV_LEAK],
		sev[TL_SEV_LEAK] == 1 ? "" : "s", sev[TL_SEV_WARNING],
		sev[TL_SEV_WARNING] == 1 ? "" : "s", sev[TL_SEV_NOTE], sev[TL_SEV_NOTE] == 1 ? "" : "s");
	if (r->suppress_path)
		fprintf(out, "; %zu suppressed by %s", r->nsuppressed,
			tl__report_short_path(r->suppress_path));
	fprintf(out, "\n");
}

/* libc's thread and process start: in every stack, telling nothing. */
static bool plumbing(const struct tl__frame *f)
{
	static const char *names[] = {"start_thread", "__clone3", "__clone", "clone",
				      "__libc_start_call_main", "__libc_start_main_impl",
				      "__libc_start_main", "_start"};

	for (size_t i = 0; f->function && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(f->function, names[i]) == 0)
			return true;
	return false;
}

static void stack(const struct tl__report *r, uint32_t id, const char *label, FILE *out)
{
	struct tl__frame f[FRAMES_SHOWN + 4];
	int n = tl__report_frames(r, id, f, FRAMES_SHOWN + 4);

	while (n > 1 && plumbing(&f[n - 1]))
		n--;
	if (n > FRAMES_SHOWN)
		n = FRAMES_SHOWN;

	fprintf(out, "    %s\n", label);
	if (n == 0)
		fprintf(out, "      (stack unknown)\n");
	for (int i = 0; i < n; i++) {
		fprintf(out, "      %-22s ", f[i].function ? f[i].function : "??");
		if (f[i].file)
			fprintf(out, "%s:%d", tl__report_short_path(f[i].file), f[i].line);
		else
			fprintf(out, "%s+0x%" PRIx64,
				f[i].module ? tl__report_short_path(f[i].module) : "?", f[i].offset);
		fprintf(out, "%s\n", f[i].inlined ? " (inlined)" : "");
	}
}

static void numbers(const struct tl__report *r, const struct tl__an_site *s, FILE *out)
{
	const struct tl__analysis *a = r->a;
	char b1[32], b2[32], b3[32];
	double sp = (double)tl__an_since(s->last_created, s->first_created) / 1e9;

	fprintf(out, "    created %s", tl__fmt_count(b1, sizeof(b1), s->created));
	/* A rate only over a span that can carry one: four timers made in
	 * the same millisecond are "within 0.2 ms", not "at 20000/s". */
	if (s->created > 2 && sp >= 0.01)
		fprintf(out, " at %.3g/s", (double)s->created / sp);
	else if (s->created > 1)
		fprintf(out, " within %s", tl__fmt_ns(b3, sizeof(b3), sp * 1e9));
	fprintf(out, ", peak %s live at %.2f s (%s), %.1f timer-seconds",
		tl__fmt_count(b2, sizeof(b2), s->peak_live), tl__an_secs(a, s->peak_live_time),
		tl__fmt_bytes(b3, sizeof(b3), s->peak_bytes), s->timer_seconds);
	/* A site of timers from before the trace only made none in it. */
	if (s->created)
		fprintf(out, ", first %.2f s, last %.2f s", tl__an_secs(a, s->first_created),
			tl__an_secs(a, s->last_created));
	fputc('\n', out);
}

static void finding(const struct tl__report *r, size_t i, FILE *out)
{
	const struct tl__finding *f = &r->findings[i];
	const struct tl__an_site *s = &r->a->sites[f->site];
	static const char *sev[] = {"note", "WARNING", "LEAK"};
	char spark[256], n[32];
	struct tl__frame cb;

	fprintf(out, "\n[%zu] %s  %s: %s %s%s\n", i + 1, sev[f->severity], f->title,
		tl__fmt_count(n, sizeof(n), f->count), f->what, f->uncertain ? " (uncertain)" : "");
	if (f->call_stack)
		stack(r, f->call_stack, "at", out);
	if (s->stack && !s->created && s->before) /* made before the recording: where first used */
		stack(r, s->stack, f->call_stack ? "timer first seen at" : "first seen at", out);
	else
		stack(r, s->stack, f->call_stack ? "timer created at" : "created at", out);
	if (tl__report_callback(r, s, &cb))
		fprintf(out, "    calls\n      %-22s %s:%d\n", cb.function, cb.file ? cb.file : "??",
			cb.line);
	fprintf(out, "    %s\n", f->detail);
	if (f->window[0])
		fprintf(out, "    %s\n", f->window);
	numbers(r, s, out);
	tl__report_sparkline(&s->series, spark, sizeof(spark), 60);
	fprintf(out, "    live |%s| %.2f s\n", spark, tl__an_duration(r->a));
	fprintf(out, "    fix: %s\n", f->fix);
}

/* What --suppress left out: one line each, so nobody wonders. */
static void suppressed(const struct tl__report *r, FILE *out)
{
	static const char *sev[] = {"note", "warning", "leak"};

	if (r->nsuppressed)
		fprintf(out, "\nSuppressed (%s):\n", tl__report_short_path(r->suppress_path));
	for (size_t i = 0; i < r->nsuppressed; i++) {
		const struct tl__finding *f = &r->suppressed[i];
		struct tl__frame fr;
		int n = tl__report_frames(r, r->a->sites[f->site].stack, &fr, 1);

		fprintf(out, "  %s %s (%" PRIu64 ") at %s, by the rule on line %d\n",
			sev[f->severity], f->pattern, f->count,
			n && fr.function ? fr.function : "??", f->suppressed_by);
	}
}

int tl__report_text(const struct tl__report *r, FILE *out)
{
	summary(r, out);
	if (r->nfindings == 0)
		fprintf(out, "\nNo timer leaks found.\n");
	for (size_t i = 0; i < r->nfindings; i++)
		finding(r, i, out);
	suppressed(r, out);
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
