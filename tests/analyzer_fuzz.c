/*
 * analyzer_fuzz.c - libFuzzer target for timerleak-report's analysis: bytes
 * in, a trace, then everything the report does with one: the streaming
 * analysis (tl__an_feed, tl__an_finish, with a live-timer callback at a
 * moment the input picks), the detectors, the text and JSON reports, the
 * --events listing, the pprof profile and the timeline, all written to
 * /dev/null except the JSON, which must parse.
 *
 * The input is a whole trace file or, mostly, operations that the trace
 * writer turns into records (tests/analyzer_ops.h): the latter reach the
 * analysis with every order of creates, frees, resets, unknown ids, huge
 * counts and backward times. The symbolizer is on but knows no module (a
 * trace's module records would make it open files named by the input), so
 * every frame is an unknown address.
 *
 * Built by clang with -fsanitize=fuzzer,address,undefined from the
 * analyzer's and the trace library's sources (tests/analyzer.cmake).
 */
#include "analysis.h"
#include "analyzer_ops.h"
#include "detect.h"
#include "events.h"
#include "pprof_out.h"
#include "report.h"
#include "symbolize.h"
#include "timeline.h"
#include "tl_trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

/* ---------------------------------------------------------------------------
 * A JSON checker: RFC 8259's grammar, so that a number printed as "nan" or
 * a string left open fails the run. Not a parser: it only says yes or no.
 */

struct js {
	const char *p, *end;
	int depth;
};

static void js_ws(struct js *j)
{
	while (j->p < j->end && strchr(" \t\r\n", *j->p) && *j->p)
		j->p++;
}

static int js_lit(struct js *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int js_string(struct js *j)
{
	if (j->p >= j->end || *j->p++ != '"')
		return -1;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p++;

		if (c < 0x20)
			return -1;
		if (c != '\\')
			continue;
		if (j->p >= j->end)
			return -1;
		c = (unsigned char)*j->p++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, j->p++)
				if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
					return -1;
		} else if (!strchr("\"\\/bfnrt", c) || !c) {
			return -1;
		}
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	return 0;
}

static int js_digits(struct js *j)
{
	const char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s ? 0 : -1;
}

static int js_number(struct js *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (js_digits(j))
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (js_digits(j))
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (js_digits(j))
			return -1;
	}
	return 0;
}

static int js_value(struct js *j);

static int js_members(struct js *j, char close, int keyed)
{
	j->p++;
	js_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		js_ws(j);
		if (keyed) {
			if (js_string(j))
				return -1;
			js_ws(j);
			if (js_lit(j, ":"))
				return -1;
		}
		if (js_value(j))
			return -1;
		js_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		return js_lit(j, close == '}' ? "}" : "]");
	}
}

static int js_value(struct js *j)
{
	int r;

	js_ws(j);
	if (j->p >= j->end || ++j->depth > 64)
		return -1;
	switch (*j->p) {
	case '{':
		r = js_members(j, '}', 1);
		break;
	case '[':
		r = js_members(j, ']', 0);
		break;
	case '"':
		r = js_string(j);
		break;
	case 't':
		r = js_lit(j, "true");
		break;
	case 'f':
		r = js_lit(j, "false");
		break;
	case 'n':
		r = js_lit(j, "null");
		break;
	default:
		r = js_number(j);
		break;
	}
	j->depth--;
	return r;
}

static void check_json(const char *buf, size_t len)
{
	struct js j = {buf, buf + len, 0};

	if (js_value(&j) == 0) {
		js_ws(&j);
		if (j.p == j.end)
			return;
	}
	fprintf(stderr, "analyzer_fuzz: invalid JSON report at byte %zu of %zu:\n%.*s\n",
		(size_t)(j.p - buf), len, (int)len, buf);
	abort();
}

/* ---------------------------------------------------------------------------
 * The analysis, as timerleak-report's run_report() does it
 */

/* Analyse the trace at p, as timerleak-report would with the options the
 * knobs pick: when --pprof's live timers are taken, and --min-count. */
/* A copy finished ends as the original finished. */
static void same_end(const struct tl__analysis *a, const struct tl__analysis *b)
{
	if (a->nsites != b->nsites || a->preexisting != b->preexisting || a->live != b->live)
		abort();
	for (size_t i = 0; i < a->nsites; i++) {
		const struct tl__an_site *x = &a->sites[i], *y = &b->sites[i];

		if (x->end_live != y->end_live || x->end_pending != y->end_pending ||
		    x->abandoned != y->abandoned || x->growth.retained != y->growth.retained ||
		    x->growth.grew != y->growth.grew || x->timer_seconds != y->timer_seconds ||
		    x->at.count != y->at.count)
			abort();
	}
}

/* What a live server does at a request: copy, finish the copy, judge it,
 * drop it. */
static void judge_copy(const struct tl__analysis *a, const struct tl__detect_opts *o)
{
	struct tl_trace_reader_stats st = {0};
	struct tl__analysis *c = tl__an_copy(a);
	struct tl__finding *f = NULL;

	if (!c)
		return;
	tl__an_finish(c, &st);
	if (tl__detect(c, o, NULL, NULL, &f) >= 0)
		free(f);
	tl__an_free(c);
}

static void analyse(const uint8_t *p, size_t n, uint8_t knobs)
{
	struct tl__sym_opts so = {0};
	struct tl_trace_reader_stats st;
	struct tl_trace_reader *r;
	struct tl__sym *sym = NULL;
	struct tl__analysis *a = NULL, *copy;
	struct tl__finding *findings = NULL;
	struct tl__detect_opts o;
	uint64_t nrec = 0;
	struct tl__report rep;
	struct tl_record rec;
	char *json = NULL;
	size_t json_len = 0;
	FILE *mem;
	ssize_t nf;
	int err, got;

	r = tl_trace_reader_open_mem(p, n, &err);
	if (!r)
		return;
	tl__detect_defaults(&o);
	sym = tl__sym_new(&so);
	a = tl__an_new();
	if (!sym || !a)
		goto out;
	switch (knobs & 3) {
	case 0: /* the end */
		tl__an_at(a, INT64_MAX);
		break;
	case 1:
		tl__an_at_snapshot(a, 1 + (knobs >> 2 & 3));
		break;
	default: /* a few ms in */
		tl__an_at(a, (int64_t)(knobs >> 2) * 1000000);
		break;
	}
	while ((got = tl_trace_reader_next(r, &rec)) > 0) {
		if (rec.type == TL_REC_PROCESS)
			tl__sym_set_exe(sym, rec.process.exe);
		if (tl__an_feed(a, &rec) != 0)
			break;
		/* A live server's request: a copy finished and judged, while
		 * the analysis is fed on. */
		if ((++nrec & 255) == 0)
			judge_copy(a, &o);
	}
	tl_trace_reader_stats(r, &st);
	if (got < 0 || st.records == 0)
		goto out;
	copy = tl__an_copy(a);
	tl__an_finish(a, &st);
	if (copy) { /* a copy finishes as the original does */
		tl__an_finish(copy, &st);
		same_end(a, copy);
		tl__an_free(copy);
	}
	/* At the end, pprof's inuse is what the reports say is live. */
	for (size_t i = 0; (knobs & 3) == 0 && i < a->nsites; i++)
		if (a->sites[i].at.count != a->sites[i].end_live ||
		    a->sites[i].at.bytes != a->sites[i].live_bytes) {
			fprintf(stderr, "site %zu (kind %u): inuse %" PRIu64 " timers, %" PRIu64
				" B; live at the end %" PRIu64 ", %" PRIu64 " B\n", i,
				a->sites[i].kind, a->sites[i].at.count, a->sites[i].at.bytes,
				a->sites[i].end_live, a->sites[i].live_bytes);
			abort();
		}
	tl__detect_defaults(&o);
	o.min_count = knobs >> 6 ? knobs >> 6 : 3;
	rep = (struct tl__report){
		.path = "fuzz.tlk", .a = a, .sym = sym, .st = &st, .max_frames = 6};
	nf = tl__detect(a, &o, tl__report_leaf_name, &rep, &findings);
	if (nf < 0)
		goto out;
	for (ssize_t i = 0; i < nf; i++)
		if (findings[i].site >= a->nsites || findings[i].severity < TL_SEV_NOTE ||
		    findings[i].severity > TL_SEV_LEAK || (i && findings[i].severity >
							    findings[i - 1].severity))
			abort(); /* a finding out of range, or out of order */
	rep.findings = findings;
	rep.nfindings = (size_t)nf;
	tl__report_text(&rep, devnull);
	mem = open_memstream(&json, &json_len);
	if (mem) {
		tl__report_json(&rep, mem);
		fclose(mem);
		check_json(json, json_len);
	}
	if (!tl__an_at_missed(a))
		tl__pprof_out_write(&rep, fileno(devnull));
	tl__timeline_write(&rep, fileno(devnull));
out:
	free(json);
	free(findings);
	tl__an_free(a);
	tl__sym_free(sym);
	tl_trace_reader_close(r);
	/* The --events listing of the same bytes. */
	r = tl_trace_reader_open_mem(p, n, &err);
	if (r)
		tl__events_print(r, devnull);
	tl_trace_reader_close(r);
}

/* ---------------------------------------------------------------------------
 * Operations to records (analyzer_ops.h)
 */

static void op_event(struct tl_trace_writer *w, struct an_in *in, int type, int64_t *now,
		     uint64_t *id)
{
	struct tl_event e = {0};
	uint32_t tid;

	*now = (int64_t)((uint64_t)*now + (uint64_t)an_svar(in));
	*id += (uint64_t)an_svar(in);
	tid = (uint32_t)an_var(in);
	e.id = *id;
	switch (type) {
	case TL_REC_CREATE:
		e.kind = (uint32_t)an_var(in);
		e.stack = (uint32_t)an_var(in);
		e.duration = an_svar(in);
		e.period = an_svar(in);
		e.size = an_var(in);
		e.aux = an_var(in);
		break;
	case TL_REC_ARM:
		e.duration = an_svar(in);
		e.period = an_svar(in);
		e.flags = (uint32_t)an_var(in);
		break;
	case TL_REC_RESET:
		e.stack = (uint32_t)an_var(in);
		e.duration = an_svar(in);
		e.period = an_svar(in);
		e.flags = (uint32_t)an_var(in);
		break;
	case TL_REC_STOP:
	case TL_REC_FIRE:
		e.flags = (uint32_t)an_var(in);
		break;
	default:
		break;
	}
	tl_trace_writer_event(w, type, *now, tid, &e);
}

static void op_stack(struct tl_trace_writer *w, struct an_in *in)
{
	static uint64_t frames[TL_TRACE_MAX_FRAMES + 8];
	uint32_t id = (uint32_t)an_var(in);
	uint64_t n = an_var(in);

	if (n > TL_TRACE_MAX_FRAMES + 8)
		n = TL_TRACE_MAX_FRAMES + 8;
	for (uint64_t i = 0; i < n; i++)
		frames[i] = an_var(in);
	tl_trace_writer_stack(w, id, frames, (uint32_t)n);
}

static void op_meta(struct tl_trace_writer *w, struct an_in *in, int op, int64_t *now)
{
	static const char *const argv[] = {"/fuzz/service", "-x"};
	struct tl_process p = {.pid = 7, .ppid = 1, .exe = "/fuzz/service", .argc = 2,
			       .argv = argv, .hostname = "fuzz", .unwinder = "fp", .depth = 32};
	static const char *const names[] = {"libgotimer", "", "other"};
	uint64_t v, v2;
	int64_t dt;

	switch (op) {
	case AN_OP_DROPPED:
		*now = (int64_t)((uint64_t)*now + (uint64_t)an_svar(in));
		v = an_var(in);
		v2 = an_var(in);
		tl_trace_writer_dropped(w, *now, (uint32_t)v, v2, 1 + (int)(an_var(in) % 4));
		break;
	case AN_OP_SNAPSHOT:
		*now = (int64_t)((uint64_t)*now + (uint64_t)an_svar(in));
		tl_trace_writer_snapshot(w, *now, an_var(in));
		break;
	case AN_OP_RUNTIME:
		*now = (int64_t)((uint64_t)*now + (uint64_t)an_svar(in));
		v = an_var(in);
		tl_trace_writer_runtime(w, *now, (int)(v & 0x7fffffff), names[an_var(in) % 3], "1.0");
		break;
	case AN_OP_PROCESS:
		p.pid = (uint32_t)an_var(in);
		p.flags = (uint32_t)an_var(in);
		dt = an_svar(in);
		p.mono_ns = (uint64_t)*now + (uint64_t)dt;
		tl_trace_writer_process(w, &p);
		break;
	case AN_OP_FLUSH:
		tl_trace_writer_flush(w);
		break;
	case AN_OP_END:
		*now = (int64_t)((uint64_t)*now + (uint64_t)an_svar(in));
		v = an_var(in);
		tl_trace_writer_end(w, *now, v, an_var(in));
		break;
	default:
		break;
	}
}

/* Write the operations through the trace writer into a memfd. @return the
 * trace's bytes (mapped: munmap them), or NULL. */
static uint8_t *write_ops(const uint8_t *data, size_t size, size_t *len)
{
	static int fd = -1;
	struct tl_trace_writer_opts wo = {.time_shift = AN_MODE_SHIFT(data[0]), .reserve_bytes = 1};
	struct an_in in = {data + 2, data + size};
	struct tl_trace_writer *w;
	int64_t now = AN_T0;
	uint64_t id = 0;
	off_t end;
	void *p;
	int err;

	if (fd < 0)
		fd = memfd_create("analyzer_fuzz", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		return NULL;
	w = tl_trace_writer_new(fd, &wo, &err);
	if (!w)
		return NULL;
	if (data[0] & AN_MODE_PROCESS) {
		static const char *const argv[] = {"/fuzz/service", "-x"};
		struct tl_process p = {.pid = 7, .ppid = 1, .mono_ns = (uint64_t)now,
				       .exe = "/fuzz/service", .argc = 2, .argv = argv,
				       .hostname = "fuzz", .unwinder = "fp", .depth = 32};

		tl_trace_writer_process(w, &p);
	}
	if (AN_MODE_RUNTIME(data[0]))
		tl_trace_writer_runtime(w, now, AN_MODE_RUNTIME(data[0]), "libgotimer", "1.0");
	while (an_more(&in)) {
		int op = an_byte(&in) % AN_OP_COUNT;

		if (op <= AN_OP_FREE)
			op_event(w, &in, TL_REC_CREATE + op, &now, &id);
		else if (op == AN_OP_STACK)
			op_stack(w, &in);
		else
			op_meta(w, &in, op, &now);
	}
	tl_trace_writer_flush(w);
	tl_trace_writer_free(w);
	end = lseek(fd, 0, SEEK_END);
	if (end <= 0)
		return NULL;
	p = mmap(NULL, (size_t)end, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	*len = (size_t)end;
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *trace;
	size_t len;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (size < 2)
		return 0;
	if (data[0] & AN_MODE_FILE) {
		analyse(data + 2, size - 2, data[1]);
		return 0;
	}
	trace = write_ops(data, size, &len);
	if (trace) {
		analyse(trace, len, data[1]);
		munmap(trace, len);
	}
	return 0;
}
