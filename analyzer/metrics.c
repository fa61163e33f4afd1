/*
 * metrics.c - see metrics.h.
 */
#include "metrics.h"
#include "detect.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A label value as the format wants it: backslash, quote and newline
 * escaped. */
static void label(FILE *out, const char *name, const char *v, bool comma)
{
	fprintf(out, "%s%s=\"", comma ? "," : "", name);
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out);
		if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
	fputc('"', out);
}

/* "function file:line" of the creating call, or "?" */
static void site_name(const struct tl__report *r, uint32_t stack, char *buf, size_t size)
{
	struct tl__frame f[1];
	const char *file;

	if (tl__report_frames(r, stack, f, 1) != 1 || !f[0].function) {
		snprintf(buf, size, "%s", stack ? "?" : "(made before the recording)");
		return;
	}
	file = f[0].file ? strrchr(f[0].file, '/') : NULL;
	file = file ? file + 1 : f[0].file;
	if (file)
		snprintf(buf, size, "%s %s:%d", f[0].function, file, f[0].line);
	else
		snprintf(buf, size, "%s", f[0].function);
}

static const struct tl__analysis *sort_a;

static int by_live(const void *x, const void *y)
{
	const struct tl__an_site *a = &sort_a->sites[*(const uint32_t *)x];
	const struct tl__an_site *b = &sort_a->sites[*(const uint32_t *)y];

	if (a->live != b->live)
		return a->live < b->live ? 1 : -1;
	if (a->created != b->created)
		return a->created < b->created ? 1 : -1;
	return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

static void head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct series {
	const char *name;
	uint64_t (*value)(const struct tl__an_site *s);
};

static uint64_t live(const struct tl__an_site *s) { return s->live; }
static uint64_t live_bytes(const struct tl__an_site *s) { return s->live_bytes; }
static uint64_t created(const struct tl__an_site *s) { return s->created; }

/* The serving process's own cost, as Prometheus's client libraries name
 * it: timerleak-record's when it serves, timerleak-report's otherwise. */
static void self_metrics(FILE *out)
{
	struct rusage ru;
	long pages = 0;
	FILE *f;

	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		head(out, "process_cpu_seconds_total", "counter",
		     "CPU time of the recorder or server, user and system, in seconds.");
		fprintf(out, "process_cpu_seconds_total %.3f\n",
			(double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
				(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	if ((f = fopen("/proc/self/statm", "re")) != NULL) {
		if (fscanf(f, "%*d %ld", &pages) == 1) {
			head(out, "process_resident_memory_bytes", "gauge",
			     "Resident memory of the recorder or server, in bytes.");
			fprintf(out, "process_resident_memory_bytes %ld\n",
				pages * sysconf(_SC_PAGESIZE));
		}
		fclose(f);
	}
}

/* The labels every series of a process has. */
struct proc_labels {
	char pid[16];
	const char *exe;
};

static void proc_labels(const struct tl__analysis *a, struct proc_labels *pl)
{
	const char *exe = a->proc.exe ? strrchr(a->proc.exe, '/') : NULL;

	pl->exe = exe ? exe + 1 : a->proc.exe ? a->proc.exe : "";
	snprintf(pl->pid, sizeof(pl->pid), "%" PRIu32, a->proc.pid);
}

static void sample(FILE *out, const char *name, const struct proc_labels *pl)
{
	fprintf(out, "%s{", name);
	label(out, "pid", pl->pid, false);
	label(out, "exe", pl->exe, true);
}

/* One series of each site of r (the max_sites with the most live timers,
 * the rest under "(other)"). */
static int site_series(const struct tl__report *r, const struct series *se, FILE *out,
		       size_t max_sites)
{
	const struct tl__analysis *a = r->a;
	uint32_t *order = a->nsites ? malloc(a->nsites * sizeof(*order)) : NULL;
	struct proc_labels pl;
	uint64_t other = 0;
	size_t n = 0;
	char name[512];

	if (a->nsites && !order)
		return -1;
	proc_labels(a, &pl);
	for (size_t i = 0; i < a->nsites; i++)
		if (a->sites[i].created || a->sites[i].live)
			order[n++] = (uint32_t)i;
	sort_a = a;
	if (n)
		qsort(order, n, sizeof(*order), by_live);
	for (size_t i = 0; i < n; i++) {
		const struct tl__an_site *s = &a->sites[order[i]];

		if (i >= max_sites) {
			other += se->value(s);
			continue;
		}
		site_name(r, s->stack, name, sizeof(name));
		sample(out, se->name, &pl);
		label(out, "kind", tl_kind_name((int)s->kind), true);
		label(out, "site", name, true);
		fprintf(out, "} %" PRIu64 "\n", se->value(s));
	}
	if (n > max_sites) {
		sample(out, se->name, &pl);
		label(out, "kind", "", true);
		label(out, "site", "(other)", true);
		fprintf(out, "} %" PRIu64 "\n", other);
	}
	free(order);
	return 0;
}

static void findings(const struct tl__report *r, FILE *out)
{
	struct proc_labels pl;

	proc_labels(r->a, &pl);
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct tl__finding *f = &r->findings[i];
		size_t same = 0;
		bool first = true;

		for (size_t k = 0; k < r->nfindings; k++)
			if (strcmp(r->findings[k].pattern, f->pattern) == 0 &&
			    r->findings[k].severity == f->severity) {
				first = first && k >= i;
				same++;
			}
		if (!first)
			continue; /* counted with the first of its kind */
		sample(out, "timerleak_findings", &pl);
		label(out, "pattern", f->pattern, true);
		label(out, "severity", tl__severity_name(f->severity), true);
		fprintf(out, "} %zu\n", same);
	}
}

int tl__metrics_write(const struct tl__report *const *r, size_t n, FILE *out, size_t max_sites)
{
	static const struct series series[] = {
		{"timerleak_live_timers", live},
		{"timerleak_live_timer_bytes", live_bytes},
		{"timerleak_created_timers_total", created},
	};
	static const char *const types[] = {"gauge", "gauge", "counter"};
	static const char *const helps[] = {
		"Timers live now (Go's: held by the runtime, pending), by creation site.",
		"Bytes held by the live timers, by creation site.",
		"Timers created since the recording began, by creation site."};
	struct proc_labels pl;

	/* The format wants each metric's samples together: metric by
	 * metric, then process by process. */
	for (size_t k = 0; k < sizeof(series) / sizeof(series[0]); k++) {
		head(out, series[k].name, types[k], helps[k]);
		for (size_t i = 0; i < n; i++)
			if (site_series(r[i], &series[k], out, max_sites) != 0)
				return -1;
	}
	head(out, "timerleak_findings", "gauge",
	     "Findings of the report of what was recorded so far, by pattern and severity.");
	for (size_t i = 0; i < n; i++)
		findings(r[i], out);
	head(out, "timerleak_events_total", "counter", "Timer events recorded.");
	for (size_t i = 0; i < n; i++) {
		proc_labels(r[i]->a, &pl);
		sample(out, "timerleak_events_total", &pl);
		fprintf(out, "} %" PRIu64 "\n", r[i]->a->events);
	}
	head(out, "timerleak_dropped_events_total", "counter",
	     "Timer events the recorder lost (a full buffer, a failed write).");
	for (size_t i = 0; i < n; i++) {
		proc_labels(r[i]->a, &pl);
		sample(out, "timerleak_dropped_events_total", &pl);
		fprintf(out, "} %" PRIu64 "\n", r[i]->a->dropped);
	}
	head(out, "timerleak_targets", "gauge", "Processes whose metrics are served.");
	fprintf(out, "timerleak_targets %zu\n", n);
	self_metrics(out);
	return 0;
}
