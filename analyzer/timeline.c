/*
 * timeline.c - see timeline.h. The format is the Trace Event Format's JSON
 * object form: "traceEvents" with counter ("C"), instant ("i") and
 * metadata ("M") events, times in microseconds from the process's start.
 */
#include "timeline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "handle_request leak_ticker.c:64 (ticker)" */
static void site_name(const struct tl__report *r, uint32_t site, char *buf, size_t size)
{
	const struct tl__an_site *s = &r->a->sites[site];
	struct tl__frame f[1];

	if (tl__report_frames(r, s->stack, f, 1) == 1 && f[0].function) {
		const char *file = f[0].file ? strrchr(f[0].file, '/') : NULL;

		snprintf(buf, size, "%s %s:%d (%s)", f[0].function,
			 file ? file + 1 : f[0].file ? f[0].file : "?", f[0].line,
			 tl_kind_name((int)s->kind));
	} else {
		snprintf(buf, size, "site %u (%s)", site, tl_kind_name((int)s->kind));
	}
}

static double us(const struct tl__analysis *a, int64_t t)
{
	return (double)tl__an_since(t, a->proc.start) / 1e3;
}

static void counter(const struct tl__report *r, uint32_t site, FILE *out)
{
	const struct tl__an_series *s = &r->a->sites[site].series;
	char name[256];

	site_name(r, site, name, sizeof(name));
	for (uint32_t b = 0; b < s->n; b++) {
		fprintf(out, ",\n{\"ph\":\"C\",\"pid\":%u,\"ts\":%.3f,\"name\":", r->a->proc.pid,
			us(r->a, (int64_t)((uint64_t)s->t0 + (uint64_t)b * (uint64_t)s->step)));
		tl__report_json_str(out, name);
		fprintf(out, ",\"args\":{\"live\":%" PRIu32 "}}", s->max[b]);
	}
	/* Each point is its bucket's peak; the last says what is left. */
	fprintf(out, ",\n{\"ph\":\"C\",\"pid\":%u,\"ts\":%.3f,\"name\":", r->a->proc.pid,
		us(r->a, r->a->end_time));
	tl__report_json_str(out, name);
	fprintf(out, ",\"args\":{\"live\":%" PRIu64 "}}", r->a->sites[site].end_live);
}

/* Sites with findings first, then by peak live, up to TL_TIMELINE_SITES. */
static size_t pick_sites(const struct tl__report *r, uint32_t *out)
{
	const struct tl__analysis *a = r->a;
	size_t n = 0;

	for (size_t i = 0; i < r->nfindings && n < TL_TIMELINE_SITES; i++) {
		bool dup = false;

		for (size_t k = 0; k < n; k++)
			dup |= out[k] == r->findings[i].site;
		if (!dup)
			out[n++] = r->findings[i].site;
	}
	while (n < TL_TIMELINE_SITES) {
		uint64_t best = 0;
		int64_t pick = -1;

		for (uint32_t i = 0; i < a->nsites; i++) {
			bool used = false;

			for (size_t k = 0; k < n; k++)
				used |= out[k] == i;
			if (!used && a->sites[i].peak_live > best) {
				best = a->sites[i].peak_live;
				pick = i;
			}
		}
		if (pick < 0)
			break;
		out[n++] = (uint32_t)pick;
	}
	return n;
}

static void instants(const struct tl__report *r, FILE *out)
{
	const struct tl__analysis *a = r->a;

	for (size_t i = 0; i < a->ninstants; i++) {
		const struct tl__an_instant *in = &a->instants[i];
		char name[256];

		site_name(r, in->site, name, sizeof(name));
		fprintf(out, ",\n{\"ph\":\"i\",\"s\":\"p\",\"pid\":%u,\"tid\":0,\"ts\":%.3f,"
			     "\"name\":\"reset without drain\",\"args\":{\"timer\":",
			a->proc.pid, us(a, in->time));
		tl__report_json_str(out, name);
		fputs("}}", out);
	}
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct tl__finding *f = &r->findings[i];

		fprintf(out, ",\n{\"ph\":\"i\",\"s\":\"g\",\"pid\":%u,\"tid\":0,\"ts\":%.3f,\"name\":",
			a->proc.pid, us(a, a->sites[f->site].last_created));
		tl__report_json_str(out, f->title);
		fputs(",\"args\":{\"severity\":", out);
		tl__report_json_str(out, tl__severity_name(f->severity));
		fputs(",\"detail\":", out);
		tl__report_json_str(out, f->detail);
		fputs(",\"fix\":", out);
		tl__report_json_str(out, f->fix);
		fputs("}}", out);
	}
}

int tl__timeline_write(const struct tl__report *r, int fd)
{
	uint32_t sites[TL_TIMELINE_SITES];
	size_t n = pick_sites(r, sites);
	int dup_fd = dup(fd);
	FILE *out = dup_fd >= 0 ? fdopen(dup_fd, "w") : NULL;
	char title[512];
	int err = 0;

	if (!out) {
		err = -errno;
		if (dup_fd >= 0)
			close(dup_fd);
		return err;
	}
	snprintf(title, sizeof(title), "%s (pid %u)", r->a->proc.exe ? r->a->proc.exe : "?",
		 r->a->proc.pid);
	fprintf(out, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n"
		     "{\"ph\":\"M\",\"pid\":%u,\"name\":\"process_name\",\"args\":{\"name\":",
		r->a->proc.pid);
	tl__report_json_str(out, title);
	fputs("}}", out);
	for (size_t i = 0; i < n; i++)
		counter(r, sites[i], out);
	instants(r, out);
	fputs("\n]}\n", out);
	/* The write's own errno (a full disk), not a generic EIO. */
	errno = 0;
	if (fflush(out) != 0 || ferror(out))
		err = errno ? -errno : -EIO;
	if (fclose(out) != 0 && !err)
		err = errno ? -errno : -EIO;
	return err;
}
