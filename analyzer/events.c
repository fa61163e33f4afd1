/*
 * events.c - the --events printer (see events.h for the line format).
 */
#include "events.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

/* What the printer remembers between records. */
struct printer {
	FILE *out;
	bool has_origin;  /* a process record was seen */
	int64_t origin;   /* its mono_ns: times are printed relative to it */
};

/* ---------------------------------------------------------------------------
 * Fields
 */

/* Seconds with nanoseconds, relative to the process record; absolute (from
 * the clock's zero) before one is seen, which only happens when the first
 * chunk was damaged. */
static void print_time(struct printer *p, const struct tl_record *rec)
{
	uint64_t t = (uint64_t)rec->time - (uint64_t)(p->has_origin ? p->origin : 0);
	const char *sign = "";

	if ((int64_t)t < 0) {
		sign = "-";
		t = 0 - t;
	}
	fprintf(p->out, "%s%" PRIu64 ".%09" PRIu64, sign, t / 1000000000u, t % 1000000000u);
}

static void print_str(FILE *out, const char *key, const char *s)
{
	fprintf(out, " %s=\"", key);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c < 0x20 || *c >= 0x7f)
			fprintf(out, "\\x%02x", *c);
		else
			fputc(*c, out);
	}
	fputc('"', out);
}

/* A name from the trace library, or the number where the value is one this
 * version has no name for (a later minor version's). */
static void print_name(FILE *out, const char *key, const char *name, long long value)
{
	if (strcmp(name, "unknown") == 0)
		fprintf(out, " %s=%lld", key, value);
	else
		fprintf(out, " %s=%s", key, name);
}

struct flag_name {
	uint32_t bit;
	const char *name;
};

/* Flags as names joined by '|', unknown bits in hex, "0" for none. */
static void print_flags(FILE *out, uint32_t flags, const struct flag_name *names)
{
	const char *sep = "";

	fputs(" flags=", out);
	if (!flags) {
		fputc('0', out);
		return;
	}
	for (; names && names->name; names++) {
		if (flags & names->bit) {
			fprintf(out, "%s%s", sep, names->name);
			flags &= ~names->bit;
			sep = "|";
		}
	}
	if (flags)
		fprintf(out, "%s0x%" PRIx32, sep, flags);
}

static const struct flag_name arm_flags[] = {
	{TL_ARM_ABSOLUTE, "absolute"}, {TL_ARM_WAS_ACTIVE, "was-active"}, {0, NULL}};
static const struct flag_name stop_flags[] = {
	{TL_STOP_WAS_ACTIVE, "active"}, {TL_STOP_UNKNOWN, "unknown"}, {0, NULL}};
static const struct flag_name reset_flags[] = {{TL_RESET_WAS_ACTIVE, "active"},
					       {TL_RESET_PENDING, "pending"},
					       {TL_RESET_UNKNOWN, "unknown"},
					       {0, NULL}};
static const struct flag_name fire_flags[] = {{TL_FIRE_DELIVERED, "delivered"}, {0, NULL}};
static const struct flag_name process_flags[] = {
	{TL_PROCESS_FORKED, "forked"},
	{TL_PROCESS_EXECED, "execed"},
	{TL_PROCESS_ATTACHED, "attached"},
	{0, NULL}};

/* ---------------------------------------------------------------------------
 * Records
 */

static void print_process(struct printer *p, const struct tl_process *pr)
{
	FILE *out = p->out;

	fprintf(out, " pid=%" PRIu32 " ppid=%" PRIu32 " wall_ns=%" PRIu64 " mono_ns=%" PRIu64,
		pr->pid, pr->ppid, pr->wall_ns, pr->mono_ns);
	print_str(out, "exe", pr->exe);
	fprintf(out, " argc=%" PRIu32, pr->argc);
	for (uint32_t i = 0; i < pr->argc; i++) {
		char key[32];

		snprintf(key, sizeof(key), "argv[%" PRIu32 "]", i);
		print_str(out, key, pr->argv[i]);
	}
	print_str(out, "hostname", pr->hostname);
	print_str(out, "unwinder", pr->unwinder);
	fprintf(out, " depth=%" PRIu32, pr->depth);
	print_flags(out, pr->flags, process_flags);
}

static void print_module(FILE *out, const struct tl_module *m)
{
	fprintf(out, " id=%" PRIu32 " bias=0x%" PRIx64 " build_id=", m->id, m->bias);
	if (!m->build_id_len)
		fputc('-', out);
	for (uint32_t i = 0; i < m->build_id_len; i++)
		fprintf(out, "%02x", m->build_id[i]);
	print_str(out, "path", m->path);
	fprintf(out, " nseg=%" PRIu32, m->nseg);
	for (uint32_t i = 0; i < m->nseg; i++) {
		const struct tl_segment *s = &m->segs[i];

		fprintf(out, "%s%c%c%c@0x%" PRIx64 "+0x%" PRIx64 ":0x%" PRIx64, i ? "," : " segs=",
			s->flags & 4 ? 'r' : '-', s->flags & 2 ? 'w' : '-', s->flags & 1 ? 'x' : '-',
			s->vaddr, s->memsz, s->offset);
	}
}

static void print_stack(FILE *out, uint32_t id, uint32_t n, const uint64_t *frames)
{
	fprintf(out, " id=%" PRIu32 " n=%" PRIu32, id, n);
	for (uint32_t i = 0; i < n; i++)
		fprintf(out, "%s0x%" PRIx64, i ? "," : " frames=", frames[i]);
}

static void print_event(FILE *out, int type, const struct tl_event *e)
{
	fprintf(out, " id=%" PRIu64, e->id);
	switch (type) {
	case TL_REC_CREATE:
		print_name(out, "kind", tl_kind_name((int)e->kind), e->kind);
		fprintf(out,
			" stack=%" PRIu32 " duration=%" PRId64 " period=%" PRId64 " size=%" PRIu64
			" aux=%" PRIu64,
			e->stack, e->duration, e->period, e->size, e->aux);
		break;
	case TL_REC_ARM:
		fprintf(out, " value=%" PRId64 " interval=%" PRId64, e->duration, e->period);
		print_flags(out, e->flags, arm_flags);
		break;
	case TL_REC_STOP:
		print_flags(out, e->flags, stop_flags);
		break;
	case TL_REC_RESET:
		fprintf(out, " stack=%" PRIu32 " duration=%" PRId64 " period=%" PRId64, e->stack,
			e->duration, e->period);
		print_flags(out, e->flags, reset_flags);
		break;
	case TL_REC_FIRE:
		print_flags(out, e->flags, fire_flags);
		break;
	}
}

/* The fields after the record's name. */
static void print_fields(struct printer *p, const struct tl_record *rec)
{
	FILE *out = p->out;

	switch (rec->type) {
	case TL_REC_PROCESS:
		print_process(p, &rec->process);
		break;
	case TL_REC_THREAD:
		fprintf(out, " tid=%" PRIu32, rec->thread.tid);
		print_str(out, "name", rec->thread.name);
		break;
	case TL_REC_MODULE:
		print_module(out, &rec->module);
		break;
	case TL_REC_MODULE_UNLOAD:
		fprintf(out, " id=%" PRIu32, rec->module_unload.id);
		break;
	case TL_REC_STACK:
		print_stack(out, rec->stack.id, rec->stack.n, rec->stack.frames);
		break;
	case TL_REC_RUNTIME:
		print_name(out, "mode", tl_mode_name(rec->runtime.mode), rec->runtime.mode);
		print_str(out, "name", rec->runtime.name);
		print_str(out, "version", rec->runtime.version);
		break;
	case TL_REC_DROPPED:
		fprintf(out, " tid=%" PRIu32 " count=%" PRIu64, rec->dropped.tid,
			rec->dropped.count);
		print_name(out, "reason", tl_drop_reason_name(rec->dropped.reason),
			   rec->dropped.reason);
		break;
	case TL_REC_SNAPSHOT:
		fprintf(out, " seq=%" PRIu64, rec->snapshot.seq);
		break;
	case TL_REC_END:
		fprintf(out, " events=%" PRIu64 " dropped=%" PRIu64, rec->end.events,
			rec->end.dropped);
		break;
	case TL_REC_SIGNAL: {
		const char *abbrev = sigabbrev_np(rec->signal.signo);

		fprintf(out, " signo=%d", rec->signal.signo);
		if (abbrev)
			fprintf(out, " name=SIG%s", abbrev);
		break;
	}
	case TL_REC_RECORDER:
		fprintf(out, " flush_ms=%" PRIu32, rec->recorder.flush_ms);
		break;
	case TL_REC_ATTACHED: {
		struct tl_record at = {.time = rec->attached.started};

		fputs(" started=", out);
		print_time(p, &at);
		break;
	}
	case TL_REC_EXISTING:
		fprintf(out, " id=%" PRIu64, rec->ev.id);
		print_event(out, TL_REC_CREATE, &rec->ev);
		break;
	default:
		print_event(out, rec->type, &rec->ev);
		break;
	}
}

static void print_record(struct printer *p, const struct tl_record *rec)
{
	bool timed = rec->type != TL_REC_THREAD && rec->type != TL_REC_STACK &&
		     rec->type != TL_REC_SIGNAL && rec->type != TL_REC_RECORDER &&
		     rec->type != TL_REC_ATTACHED;

	if (rec->type == TL_REC_PROCESS && !p->has_origin) {
		p->has_origin = true;
		p->origin = rec->time;
	}
	if (timed)
		print_time(p, rec);
	else
		fputc('-', p->out);
	if (tl_rec_is_event(rec->type))
		fprintf(p->out, " tid=%" PRIu32, rec->tid);
	fprintf(p->out, " %s", tl_rec_name(rec->type));
	print_fields(p, rec);
	fputc('\n', p->out);
}

static void print_summary(FILE *out, const struct tl_trace_reader_stats *s)
{
	fprintf(out,
		"summary version=%u.%u time_shift=%u chunks=%" PRIu64 " bad_chunks=%" PRIu64
		" skipped_bytes=%" PRIu64 " records=%" PRIu64 " unknown_records=%" PRIu64
		" bytes=%" PRIu64 " end=%s\n",
		s->major, s->minor, s->time_shift, s->chunks, s->bad_chunks, s->skipped_bytes,
		s->records, s->unknown_records, s->file_bytes, s->truncated ? "truncated" : "clean");
	if (s->trailing_bytes)
		fprintf(out, "unread offset=%" PRIu64 " bytes=%" PRIu64
			" (not part of this trace: after its end record)\n",
			s->trailing_offset, s->trailing_bytes);
}

int tl__events_print(struct tl_trace_reader *r, FILE *out)
{
	struct printer p = {.out = out};
	struct tl_trace_reader_stats st;
	struct tl_record rec;
	int n;

	while ((n = tl_trace_reader_next(r, &rec)) == 1)
		print_record(&p, &rec);
	if (n < 0)
		return n;
	tl_trace_reader_stats(r, &st);
	print_summary(out, &st);
	return 0;
}
